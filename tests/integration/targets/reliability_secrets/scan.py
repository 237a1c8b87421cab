# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret hygiene: the admin password and every pool password appear in no output of a run.

``runme.sh`` uses this script for each step:

``markers``  writes unique marker passwords (``secrets_vars.yml``) for this run;
``prepare``  resets the fleet, gives every miner the marker admin password (API 3: the ``super``
             account's), makes miner-003 apply pools slowly (so that a verification failure is
             among the outputs) and makes miner-001 (API 2) and miner-004 (API 3) lose the reply
             to the password change (so that the rotation's recovery, which authenticates with
             both passwords again, is among the outputs);
``verify``   checks that the markers really reached the miners (the scan would prove nothing
             otherwise; the rotation at the end leaves every miner on ``marker_new``), then searches every output of the runs for every marker, raw and base64
             encoded: playbook output at -vvvv with --diff, the Ansible log file, every returned
             value (reliability_record), and every message Python processes sent to syslog or the
             journal (syslog_capture/sitecustomize.py). It prints the figures and fails on any hit.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reliability_common"))

# pylint: disable=wrong-import-position
from reliability import Checks, ControlApi, read_records, task_results, warning_texts  # noqa: E402

SLOW_MINER = "miner-003"
SLOW_POOLS_S = 2.0
#: The miners that lose the reply to the password change, and the fault rule of each. API 3 checks a
#: password with the same command as the change: secrets.yml sends six checks before the change (two
#: each in the check-mode rotation, the wrong-password rotation and the rotation itself). When that
#: count changes, verify fails (no lost reply), never silently.
API3_CHECKS_BEFORE_THE_CHANGE = 6
LOST_CHANGE = {
    "miner-001": {"kind": "drop", "commands": ["update_pwd"], "mode": "reset", "remaining": 1},
    "miner-004": {"kind": "drop", "commands": ["set.user.change_passwd"], "mode": "reset", "skip": API3_CHECKS_BEFORE_THE_CHANGE,
                  "remaining": 1},
}
API2_PROFILES = ("1.4.x", "2.0.x", "2024")
ROTATE_TASK = "Rotate the admin password (miner-001 and miner-004 lose the reply to the change, so the module asks which password works)"
AGAIN_TASK = "Rotate again (new_password already works)"
MARKER_NAMES = ("marker_admin", "marker_pool_1", "marker_pool_2", "marker_pool_3", "marker_wrong", "marker_invalid", "marker_new")
#: What Ansible shows for a no_log value it had to hide (eight asterisks, not part of a banner line).
MASK = re.compile(r"(?<!\*)\*{8}(?!\*)")


def write_markers(path: Path) -> None:
    """Unique markers: valid passwords (printable ASCII) that occur nowhere else by chance."""
    markers = {name: f"Mk{name.split('_', 1)[1].title().replace('_', '')}{secrets.token_hex(8)}" for name in MARKER_NAMES}
    markers["marker_invalid"] = f"Mk Invalid {secrets.token_hex(8)}"  # a space: refused by validation
    markers["marker_new"] = f"Nw{secrets.token_hex(3)}"  # a new admin password fits the firmware's 8 characters
    path.write_text(json.dumps(markers, indent=1))  # JSON is YAML


def prepare(api: ControlApi, markers: dict) -> None:
    """Every miner back to its initial state with the marker admin password; miner-003 slow to apply pools; two lose a reply."""
    for miner in api.miners():
        initial = api.reset(miner["name"])
        api.patch(miner["name"], state={"admin_password": markers["marker_admin"],
                                        "v3_passwords": {**initial["state"]["v3_passwords"], "super": markers["marker_admin"]}})
    api.patch(SLOW_MINER, config={"pools_apply_delay_s": SLOW_POOLS_S})
    for name, fault in LOST_CHANGE.items():
        api.patch(name, faults=[fault])


def write_password(miner: dict) -> str:
    """The true password of the miner's write account: API 2 ``admin``, API 3 ``super``."""
    state = miner["state"]
    return state["admin_password"] if miner["profile"] in API2_PROFILES else state["v3_passwords"]["super"]


def forms(marker: str) -> dict[str, bytes]:
    """The forms in which a marker would leak: as it is, its random part alone, and base64 encoded."""
    random_part = marker.rsplit(" ", 1)[-1][-16:]
    return {
        "raw": marker.encode(),
        "random part": random_part.encode(),
        "base64": base64.b64encode(marker.encode()).rstrip(b"="),
    }


def scan(paths: list[Path], markers: dict) -> tuple[list[str], int, int]:
    """Every hit of every marker form in every file: (hits, files scanned, bytes scanned)."""
    hits = []
    total = 0
    for path in paths:
        data = path.read_bytes()
        total += len(data)
        for name, marker in markers.items():
            for form, needle in forms(marker).items():
                count = data.count(needle)
                if count:
                    hits.append(f"{path.name}: {count} x {name} ({form})")
    return hits, len(paths), total


def verify(api: ControlApi, markers: dict, outputs: list[Path], syslog_capture: Path, path_name: str) -> int:
    """Check that the markers were used, scan the outputs and the syslog capture, print the figures.

    The module path logs each invocation (``AnsibleModule`` masks no_log values there as
    designed); the in-process path sends nothing to syslog.
    """
    checks = Checks(f"secret hygiene, {path_name} path")
    miners = api.miners()
    existing = [path for path in outputs if path.exists()]
    records = [record for path in existing if path.suffix == ".jsonl" and "record" in path.name for record in read_records(path)]
    rotated, again = task_results(records, ROTATE_TASK), task_results(records, AGAIN_TASK)
    for miner in miners:
        state, name = miner["state"], miner["name"]
        checks.check(write_password(miner) == markers["marker_new"], f"{name} was rotated from the marker admin password to marker_new")
        result = rotated.get(name, {}).get("result", {})
        checks.check(bool(result.get("changed")) and not result.get("failed"), f"{name}: the rotation changed the password", str(result.get("msg")))
        lost = any("reply to the password change was lost" in text for text in warning_texts(result))
        checks.check(lost == (name in LOST_CHANGE), f"{name}: the reply to the password change was {'lost' if name in LOST_CHANGE else 'received'}")
        second = again.get(name, {})
        checks.check(second.get("status") == "ok" and not second["result"].get("changed"), f"{name}: the second rotation changed nothing")
        passwords = {slot["password"] for slot in state["pools"]}
        checks.check({markers["marker_pool_1"], markers["marker_pool_2"]} <= passwords,
                     f"{miner['name']} holds the marker pool passwords (the modules did send them)")
        spent = miner["counters"]["tokens_issued" if miner["profile"] in API2_PROFILES else "v3_salt_reads"]
        checks.check(spent > 0, f"{name} issued tokens or salts (the admin password was used)")
    checks.check(len(existing) == len(outputs), "every output exists", ", ".join(str(path) for path in outputs if not path.exists()))
    hits, files, size = scan(existing + ([syslog_capture] if syslog_capture.exists() else []), markers)
    for hit in hits:
        checks.check(False, "no marker in any output", hit)
    masked = sum(len(MASK.findall(path.read_text(errors="replace"))) for path in existing)
    checks.check(masked == 0, "nothing had to be masked (the modules never emitted a secret)", f"{masked} x ********")
    returned = sum(1 for record in records if record["kind"] == "result")
    captured = [json.loads(line) for line in syslog_capture.read_text().splitlines()] if syslog_capture.exists() else []
    invocations = sum(1 for entry in captured if "Invoked with" in entry["message"])
    if path_name == "module":
        checks.check(invocations > 0, "the syslog capture saw the modules' invocation messages")
    print(f"secrets scan ({path_name} path): {files} outputs, {size} bytes scanned, {len(markers)} marker passwords x 3 forms, {len(hits)} hits, "
          f"{masked} masked values; {returned} returned values among them")
    print(f"syslog/journal: /dev/log {'present' if os.path.exists('/dev/log') else 'absent (syslog messages of modules go nowhere on this host)'}; "
          f"{len(captured)} messages captured through the patched syslog/journal ({invocations} module invocations), "
          "scanned above")
    return checks.report()


def main() -> int:
    """Command line: ``markers``, ``prepare``, ``verify``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("markers", "prepare", "verify"))
    parser.add_argument("--vars-file", type=Path, required=True)
    parser.add_argument("--control-url")
    parser.add_argument("--syslog-capture", type=Path)
    parser.add_argument("--path", choices=("auto", "module"), help="the execution path of the run (verify)")
    parser.add_argument("--outputs", nargs="*", type=Path, default=[], help="the files to scan (verify)")
    options = parser.parse_args()
    if options.action == "markers":
        write_markers(options.vars_file)
        return 0
    markers = json.loads(options.vars_file.read_text())
    api = ControlApi(options.control_url)
    if options.action == "prepare":
        prepare(api, markers)
        return 0
    return verify(api, markers, options.outputs, options.syslog_capture, options.path)


if __name__ == "__main__":
    sys.exit(main())
