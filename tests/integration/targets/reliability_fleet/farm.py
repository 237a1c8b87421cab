# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Partial fleet and load: the checks of reliability_fleet (farm.yml runs the job).

The fleet mixes the API 2 generations (1.4.x, 2.0.x, 2024) and 3.x miners (every fourth one),
which the modules reach over API 3. API 3 has no token: a module run that writes reads the salt
once (``get.device.info`` ``salt``) and signs each write with it, so where an API 2 miner counts
tokens a 3.x miner counts salt reads, and its writes are the API 3 commands (``API3_WRITES``).

Partial fleet (``partial-setup``, ``partial-check PATH``): 100 simulated miners, 10 of them faulty
in 10 different ways (``FAULTY``). The play must complete; the recap must be exactly what each
miner's fault implies (which task fails); the 90 healthy miners must converge (true state) with
exactly one write of each kind and one token (3.x: one salt read) per writing module run; each
faulty miner must fail with its own message (its fault's words and its own address).

Load (``load-setup``, ``load-check PATH RUN``): 200 simulated miners at forks 50, three runs back
to back (pools, power, pools again). After each run every miner holds what was asked, has
received each write exactly once (no lost, no duplicated write), has issued one token (3.x: read
the salt once) per writing module run, and never refused one: each API 2 miner grants only as many
tokens per IP address as the runs need (``tokens_per_ip``), so one token too many would fail the
run with code 136; a 3.x miner answers a write signed with a stale salt or a wrong token with code
-1, so every API 3 write must have been answered with code 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reliability_common"))

# pylint: disable=wrong-import-position
from reliability import Checks, ControlApi, print_table, read_records, recaps, task_results, traceback_in  # noqa: E402

PASSWORD = "farm_1"
PARTIAL_SIZE = 100
LOAD_SIZE = 200
TASKS = ("Read the status", "Pools of the farm", "Power settings of the farm")
WRITES = ("update_pools", "set_low_power", "adjust_power_limit")
#: The API 3 command each of ``WRITES`` becomes on a 3.x miner.
API3_WRITES = {"update_pools": "set.miner.pools", "set_low_power": "set.miner.power_mode", "adjust_power_limit": "set.miner.power_limit"}
API3_PROFILE = "3.x"
#: Load runs: the tags of each run, the writes each miner must have received so far, and the tokens
#: (3.x: salt reads) it must have issued so far.
LOAD_RUNS = (
    ("pools", {"update_pools": 1}, 1),
    ("power", {"update_pools": 1, "set_low_power": 1, "adjust_power_limit": 1}, 2),
    ("pools", {"update_pools": 1, "set_low_power": 1, "adjust_power_limit": 1}, 2),
)
TOKEN_LIMIT_CODE = 136


@dataclass(frozen=True)
class Faulty:
    """A faulty miner: how it is broken, the task that must fail, and the words of its message."""

    miner: str
    fault: str
    failing_task: str
    words: str
    config: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)
    faults: tuple = ()


FAULTY = (
    Faulty("miner-005", "refuses connections", TASKS[0], "cannot connect (Connection refused)", config={"refuse_connections": True}),
    Faulty("miner-015", "replies too late", TASKS[0], "no reply within 2 s", faults=({"kind": "delay", "seconds": 3, "commands": ["read"]},)),
    Faulty("miner-025", "sends garbage", TASKS[0], "answered none of the commands", faults=({"kind": "garbage", "commands": ["read"]},)),
    Faulty("miner-035", "resets mid-reply", TASKS[0], "connection broke", faults=({"kind": "drop", "mode": "reset", "commands": ["read"]},)),
    Faulty("miner-045", "write API switched off", TASKS[1], "write API is disabled", state={"write_api_enabled": False}),
    Faulty("miner-055", "another admin password", TASKS[1], "password given to the module is wrong", state={"admin_password": "other_1"}),
    Faulty("miner-065", "token limit reached", TASKS[1], "32 per IP address", faults=({"kind": "code", "code": 136, "commands": ["get_token"]},)),
    Faulty("miner-075", "refuses update_pools", TASKS[1], "code 132", faults=({"kind": "code", "code": 132, "commands": ["update_pools"]},)),
    Faulty("miner-085", "restarts longer than wait_timeout", TASKS[2], "did not show the wanted state within wait_timeout (5 s)",
           config={"restart_seconds": 30}),
    Faulty("miner-095", "does not know set_low_power", TASKS[2], "Already applied before this failure: adjust_power_limit",
           faults=({"kind": "code", "code": 14, "commands": ["set_low_power"]},)),
)


def desired(name: str) -> dict:
    """What farm.yml asks of a miner, in the terms of the true state."""
    user = f"farm.{name}"
    return {
        "pools": [["stratum+tcp://farm.example.com:3333", user], ["stratum+tcp://farm-backup.example.com:443", user]],
        "power_mode": "low",
        "power_limit_w": 3000,
    }


def truth(miner: dict) -> dict:
    """The part of the true state farm.yml manages."""
    state = miner["state"]
    return {"pools": [[slot["url"], slot["user"]] for slot in state["pools"] if slot["url"]],
            "power_mode": state["power_mode"], "power_limit_w": state["power_limit_w"]}


def expected_recap(faulty: Faulty | None) -> dict:
    """The recap of a miner: healthy (facts ok, pools and power changed), or failed at its fault's task."""
    failed_at = TASKS.index(faulty.failing_task) if faulty else len(TASKS)
    return {"ok": failed_at, "changed": max(failed_at - 1, 0), "failed": int(faulty is not None), "unreachable": 0, "skipped": 0,
            "rescued": 0, "ignored": 0}


def is_api3(miner: dict) -> bool:
    """Whether the modules reach this miner over API 3 (firmware 3.x)."""
    return miner["profile"] == API3_PROFILE


def authentications(miner: dict) -> int:
    """What the miner counts per writing module run: tokens issued (API 2) or salt reads (API 3)."""
    return miner["counters"]["v3_salt_reads" if is_api3(miner) else "tokens_issued"]


def reset(api: ControlApi, names: list[str], **config: object) -> dict[str, int]:
    """Reset miners (state, settings, log; the fleet's passwords), apply ``config``; their token (3.x: salt read) counters now."""
    tokens = {}
    for name in names:
        api.reset(name)
        if config:
            api.patch(name, config=config)
        tokens[name] = authentications(api.miner(name))
    return tokens


def command_counts(api: ControlApi, miner: dict) -> Counter:
    """How often the miner received each write of ``WRITES`` (counted under its API 2 name, on 3.x
    its API 3 command), and each error code its API 2 answers (``code 136``) and its API 3 writes
    (``write code -1``) carried."""
    counts: Counter = Counter()
    api3_names = {api3: write for write, api3 in API3_WRITES.items()} if is_api3(miner) else {}
    for entry in api.log(miner["name"]):
        if api3_names and entry["api"] == 3:
            if entry["command"] in api3_names:
                counts[api3_names[entry["command"]]] += 1
                if entry["code"] != 0:
                    counts[f"write code {entry['code']}"] += 1
            continue
        counts[entry["command"]] += 1
        if entry["code"] is not None:
            counts[f"code {entry['code']}"] += 1
    return counts


def refused_authentications(counts: Counter) -> int:
    """Writes refused for their authentication: code 136 (API 2 token limit) or any API 3 write not answered with code 0."""
    return counts[f"code {TOKEN_LIMIT_CODE}"] + sum(value for key, value in counts.items() if key.startswith("write code "))


# ---------------------------------------------------------------------------------------------
# partial fleet


def partial_setup(api: ControlApi, workdir: Path) -> None:
    """Reset the first 100 miners and break 10 of them."""
    names = [f"miner-{index:03d}" for index in range(1, PARTIAL_SIZE + 1)]
    tokens = reset(api, names)
    for faulty in FAULTY:
        api.patch(faulty.miner, state=faulty.state or None, config=faulty.config or None, faults=list(faulty.faults) if faulty.faults else None)
    (workdir / "partial-tokens.json").write_text(json.dumps(tokens))
    print(f"partial fleet: {PARTIAL_SIZE} miners, {len(FAULTY)} faulty: " + ", ".join(f"{faulty.miner} {faulty.fault}" for faulty in FAULTY))


def partial_check(api: ControlApi, workdir: Path, path: str) -> int:
    """The recap, the convergence of the healthy miners and the messages of the faulty ones."""
    checks = Checks(f"partial fleet, {path} path")
    records = read_records(workdir / f"partial-{path}.jsonl")
    runs = recaps(records)
    checks.check(len(runs) == 1, "the play completed (one recap)", f"{len(runs)} recaps")
    recap = runs[-1] if runs else {}
    faulty_by_name = {faulty.miner: faulty for faulty in FAULTY}
    tokens_before = json.loads((workdir / "partial-tokens.json").read_text())
    miners = {miner["name"]: miner for miner in api.miners() if miner["name"] in tokens_before}
    totals: Counter = Counter()
    for name, miner in sorted(miners.items()):
        faulty = faulty_by_name.get(name)
        got = recap.get(name, {})
        checks.check(got == expected_recap(faulty), f"{name}: recap", f"expected {expected_recap(faulty)}, got {got}")
        totals.update({key: value for key, value in got.items() if value})
        if faulty is None:
            checks.check(truth(miner) == desired(name), f"{name}: converged", f"true state {truth(miner)}")
            counts = command_counts(api, miner)
            checks.check(all(counts[write] == 1 for write in WRITES), f"{name}: each write once", str({write: counts[write] for write in WRITES}))
            tokens = authentications(miner) - tokens_before[name]
            checks.check(tokens == 2, f"{name}: one {'salt read' if is_api3(miner) else 'token'} per writing module run", f"{tokens}")
            checks.check(refused_authentications(counts) == 0, f"{name}: no write refused for its authentication", str(counts))
            continue
        result = task_results(records, faulty.failing_task).get(name)
        checks.check(result is not None and result["status"] == "failed", f"{name}: {faulty.failing_task} failed")
        message = str(result["result"].get("msg", "")) if result else ""
        checks.check(faulty.words in message, f"{name}: its own message", f"expected {faulty.words!r} in {message[:300]!r}")
        checks.check(f"{miner['host']}:{miner['port']}" in message, f"{name}: the message names its miner", message[:200])
        checks.check(traceback_in(result["result"] if result else {}) is None, f"{name}: no traceback")
    print(f"partial fleet ({path} path): recap of {len(recap)} hosts: "
          + ", ".join(f"{key}={totals[key]}" for key in ("ok", "changed", "failed", "unreachable", "skipped")))
    print_table(["miner", "fault", "failed task", "message"], [
        [faulty.miner, faulty.fault, faulty.failing_task,
         str((task_results(records, faulty.failing_task).get(faulty.miner) or {}).get("result", {}).get("msg", ""))[:110]]
        for faulty in FAULTY
    ])
    return checks.report()


# ---------------------------------------------------------------------------------------------
# load


def load_setup(api: ControlApi, workdir: Path) -> None:
    """Reset all 200 miners; each grants only the tokens the three runs need."""
    names = [f"miner-{index:03d}" for index in range(1, LOAD_SIZE + 1)]
    tokens = reset(api, names, tokens_per_ip=LOAD_RUNS[-1][2])
    (workdir / "load-tokens.json").write_text(json.dumps(tokens))


def load_check(api: ControlApi, workdir: Path, path: str, run: int) -> int:
    """After load run ``run`` (1-based): recap, convergence, writes, tokens."""
    tags, writes, tokens_expected = LOAD_RUNS[run - 1]
    checks = Checks(f"load, {path} path, run {run} ({tags})")
    records = read_records(workdir / f"load-{path}-{run}.jsonl")
    recap = (recaps(records) or [{}])[-1]
    tokens_before = json.loads((workdir / "load-tokens.json").read_text())
    changed = sum(1 for counts in recap.values() if counts["changed"])
    failed = sum(1 for counts in recap.values() if counts["failed"])
    expect_changed = LOAD_SIZE if run < 3 else 0
    checks.check(len(recap) == LOAD_SIZE and failed == 0, "every miner ok", f"{len(recap)} hosts, {failed} failed")
    checks.check(changed == expect_changed, "changed exactly where a write was needed", f"{changed} changed, {expect_changed} expected")
    token_counts = []
    salt_counts = []
    refused = 0
    write_total = Counter()
    for miner in api.miners():
        name = miner["name"]
        counts = command_counts(api, miner)
        tokens = authentications(miner) - tokens_before[name]
        (salt_counts if is_api3(miner) else token_counts).append(tokens)
        write_total.update({write: counts[write] for write in WRITES})
        refused += refused_authentications(counts)
        checks.check({write: counts[write] for write in WRITES} == {write: writes.get(write, 0) for write in WRITES},
                     f"{name}: no lost or duplicated write", str(counts))
        what = "salt reads" if is_api3(miner) else "tokens"
        checks.check(tokens == tokens_expected, f"{name}: one token (3.x: salt read) per writing module run", f"{tokens} {what} after run {run}")
        checks.check(refused_authentications(counts) == 0, f"{name}: no token refused (API 2: the per-IP limit, code 136; API 3: code -1)",
                     str(counts))
        expected_state = desired(name) if run >= 2 else {**truth(miner), "pools": desired(name)["pools"]}
        checks.check(truth(miner) == expected_state, f"{name}: converged", str(truth(miner)))
    print(f"load ({path} path) run {run} --tags {tags}: {len(recap)} miners ({len(salt_counts)} on API 3), {changed} changed, {failed} failed; "
          + "writes so far: " + ", ".join(f"{write}={write_total[write]}" for write in WRITES)
          + f"; tokens per API 2 miner so far: max {max(token_counts)}, limit {LOAD_RUNS[-1][2]} per IP;"
          + f" salt reads per 3.x miner so far: max {max(salt_counts)}; refused (136 / API 3 write not 0): {refused}")
    return checks.report()


def main() -> int:
    """Command line: ``partial-setup``, ``partial-check PATH``, ``load-setup``, ``load-check PATH RUN``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("partial-setup", "partial-check", "load-setup", "load-check", "load-tags"))
    parser.add_argument("path", nargs="?", choices=("auto", "module"))
    parser.add_argument("run", nargs="?", type=int)
    parser.add_argument("--control-url")
    parser.add_argument("--workdir", type=Path)
    options = parser.parse_args()
    if options.action == "load-tags":
        print(" ".join(tags for tags, _writes, _tokens in LOAD_RUNS))
        return 0
    api = ControlApi(options.control_url)
    if options.action == "partial-setup":
        partial_setup(api, options.workdir)
        return 0
    if options.action == "partial-check":
        return partial_check(api, options.workdir, options.path)
    if options.action == "load-setup":
        load_setup(api, options.workdir)
        return 0
    return load_check(api, options.workdir, options.path, options.run)


if __name__ == "__main__":
    sys.exit(main())
