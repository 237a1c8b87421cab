"""make demo: the collection's main job, desired state for a fleet, against a simulated farm on loopback, starting from discovery.

1. copy the collection to build/collections (where ansible-playbook finds it);
2. start 60 simulated miners of mixed firmware (1.4.x, 2.0.x, 2024, 3.x), each on its own loopback
   address (127.0.1.1 to 127.0.1.60) and port 4028 like a real miner, and on the same /24 what else a
   farm network holds: another vendor's cgminer miner, an HTTP-only device, a silent and a resetting
   address;
3. write build/demo/inventory: a discovery configuration (farm.whatsminer.yml, inventory plugin
   hashfarm.whatsminer.whatsminer) for 127.0.1.0/24 with racks as groups of twelve addresses and keyed
   groups by model, firmware and API version, next to the example's group_vars/ (per-rack pools,
   worker names from the host names, a rack in low power mode, a hosted rack with its own pools and a
   power limit, the admin password in the vault);
4. discover the farm (ansible-inventory --graph) and show what it found;
5. run hashfarm.whatsminer.site on the discovered inventory: the miners start the way a fresh farm
   does after the one manual step of the README's quick start (a password other than the factory
   one, the write API switched on; the simulated firmware refuses API 3 writes with a factory
   password, as real firmware does), so it changes pools and power settings;
6. run it again: nothing changes (the demo checks that and says so);
7. take one miner off the network, let one run hot, factory-reset one, and run hashfarm.whatsminer.facts
   with the factory-password audit: the fleet table, and the report files (HTML, CSV, JSON) in
   build/demo/report;
8. stop the fleet.

The output is a summary (changes, failures, the tables); the full output of every command is in
build/demo/logs/, named in the summary.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from fleet import running_fleet
from staging import BUILD, COLLECTION_ROOT, REPO, stage_collection

DEMO_DIR = BUILD / "demo"
LOG_DIR = DEMO_DIR / "logs"
# The simulated farm network: miners from .1, the odd devices from .200 (timeout: the silent one costs it).
NETWORK_PREFIX = "127.0.1"
ODD_DEVICES = {"cgminer": 200, "http": 201, "silent": 202, "reset": 203}
DISCOVERY_TIMEOUT_S = 1
# Lines of a list shown in the summary before "..." (the full list is in the log).
SHOWN = 6
EXAMPLE_INVENTORY = REPO / "examples" / "inventory"
RACK_SIZE = 12
# The example vault (examples/inventory/group_vars/miners/vault.yml) is encrypted with this password
# and holds this admin password, so the simulated miners get it.
EXAMPLE_VAULT_PASSWORD = "example-vault-password"
EXAMPLE_ADMIN_PASSWORD = "Fa7m_ops"
# ansible-playbook's exit status when a host failed but the play ran to its end.
PLAYBOOK_HOST_FAILED = 2

# A farm is never uniform. Set through the simulator's control API (not the miner API) before the
# first run: one miner curtailed by hand earlier (mining is not managed, so it stays off), one in
# high power mode in the low-power rack, one already at its rack's power limit.
BEFORE_SITE = {
    "rack1-m03": {"state": {"mining": False}},
    "rack2-m05": {"state": {"power_mode": "high"}},
    "rack3-m02": {"state": {"power_limit_w": 3300}},
}
# Before the report: a miner that drops off the network, one (a 3.x one, read over API 3) that runs
# hot with an error code, and one (3.x too) that a technician has factory-reset: factory passwords,
# write API off, so the password audit of the report flags it.
BEFORE_REPORT = {
    "rack5-m11": {"config": {"refuse_connections": True}},
    "rack4-m04": {"state": {"env_temp_c": 41.5, "error_codes": [600]}},
    "rack4-m08": {"state": {"v3_passwords": {"super": "super", "user1": "user1", "user2": "user2", "user3": "user3"},
                            "write_api_enabled": False}},
}


def ansible_environment(show_unchanged: bool) -> dict[str, str]:
    """Environment for ansible-playbook: the staged collection, the example vault, readable output.

    Without ``show_unchanged`` only changed and failed hosts are shown (with their diffs).
    """
    return dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTION_ROOT),
        ANSIBLE_VAULT_PASSWORD_FILE=str(DEMO_DIR / "vault-password"),
        ANSIBLE_INJECT_FACT_VARS="false",
        ANSIBLE_CALLBACK_RESULT_FORMAT="yaml",
        ANSIBLE_DISPLAY_OK_HOSTS=str(show_unchanged).lower(),
        ANSIBLE_DISPLAY_SKIPPED_HOSTS=str(show_unchanged).lower(),
        ANSIBLE_HOST_KEY_CHECKING="false",
        ANSIBLE_RETRY_FILES_ENABLED="false",
        ANSIBLE_FORKS="25",
    )


def say(message: str) -> None:
    """A line of the demo's own, set apart from ansible-playbook's output."""
    print(f"==> {message}", flush=True)


def set_miners(fleet: dict, hosts: dict[str, str], changes: dict[str, dict], names: dict[str, str]) -> None:
    """Change simulated miners directly (their true state and settings) through the control API.

    ``changes`` is keyed by rack position (``rack1-m03``: the third miner of rack 1), ``hosts`` maps
    those to simulator names, ``names`` simulator names to the host names discovery gave them.
    """
    for position, change in changes.items():
        name = hosts[position]
        request = urllib.request.Request(
            f"{fleet['control_url']}/miners/{name}", data=json.dumps(change).encode(), method="PATCH",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # loopback control API of the simulator
            response.read()
        print(f"    {names.get(name, name)} ({position}): {json.dumps(change)}", flush=True)


def run_logged(command: list[str], log_name: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``command`` with its whole output in ``build/demo/logs/LOG_NAME.log``; return its status and output (stdout, then stderr)."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_file = LOG_DIR / f"{log_name}.log"
    print(f"\n$ {' '.join(command)}\n    full output: {log_file}", flush=True)
    completed = subprocess.run(command, env=env or ansible_environment(True), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, check=False)
    log_file.write_text(completed.stdout + completed.stderr, encoding="utf-8")
    return completed.returncode, completed.stdout + completed.stderr


def playbook(name: str, log_name: str, *extra: str) -> tuple[int, str]:
    """Run one of the collection's playbooks against the demo inventory (output to a log); return status and output."""
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(DEMO_DIR / "inventory"), f"hashfarm.whatsminer.{name}", *extra]
    return run_logged(command, log_name)


def recap(output: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP counts of each host."""
    return {
        match.group(1): {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(2))}
        for match in re.finditer(r"^(\S+)\s+: (ok=.*)$", output, re.MULTILINE)
    }


def hosts_by_task(output: str, status: str) -> dict[str, list[str]]:
    """The hosts of each task whose result line starts with ``status`` (``changed``, ``fatal``, ``failed``)."""
    found: dict[str, list[str]] = {}
    task = ""
    for line in output.splitlines():
        banner = re.match(r"^TASK \[(?:[^:\]]+ : )?(.+?)\]", line)
        if banner:
            task = banner.group(1)
            continue
        result = re.match(rf"^{status}: \[([^\]]+)\]", line)
        host = result.group(1).split(" -> ")[0] if result else None
        if host and host not in found.get(task, []):
            found.setdefault(task, []).append(host)
    return found


def failure_messages(output: str) -> dict[str, str]:
    """The first line of each failed host's message (the YAML result follows the ``fatal: [host]`` line, indented)."""
    messages: dict[str, str] = {}
    host = None
    for line in output.splitlines():
        failed = re.match(r"^(?:fatal|failed): \[([^\]]+)\]", line)
        if failed:
            host = failed.group(1).split(" -> ")[0]
            inline = re.search(r'"msg": "((?:[^"\\]|\\.)*)"', line)
            if inline:
                messages[host] = inline.group(1)[:160]
            continue
        if host is not None and not line.startswith(" "):
            host = None
        elif host is not None:
            found = re.match(r"^\s{4}msg: (.*)$", line)
            if found:
                messages[host] = found.group(1).strip("'\"").replace("''", "'")[:160]
    return messages


def miners(count: int) -> str:
    """``1 miner``, ``2 miners``."""
    return f"{count} miner" + ("" if count == 1 else "s")


def shortened(names: list[str]) -> str:
    """At most SHOWN names, then how many more."""
    more = len(names) - SHOWN
    return ", ".join(names[:SHOWN]) + (f" and {more} more" if more > 0 else "")


def summarize(output: str) -> None:
    """What a playbook run changed and what failed, per task, and the recap in one line."""
    for task, hosts in hosts_by_task(output, "changed").items():
        print(f"    changed  {task}: {miners(len(hosts))} ({shortened(hosts)})")
    messages = failure_messages(output)
    for task, hosts in {**hosts_by_task(output, "fatal"), **hosts_by_task(output, "failed")}.items():
        print(f"    FAILED   {task}: {miners(len(hosts))}")
        for host in hosts[:SHOWN]:
            print(f"             {host}: {messages.get(host, 'see the log')}")
    counts = recap(output)
    totals = {key: sum(host.get(key, 0) for host in counts.values()) for key in ("ok", "changed", "failed", "unreachable")}
    print(f"    recap: {len(counts)} hosts, " + ", ".join(f"{key}={value}" for key, value in totals.items()))


def debug_block(output: str, task_prefix: str) -> str:
    """The message a debug task printed (the fleet table), without the callback's framing."""
    block = re.search(rf"^TASK \[(?:[^:\]]+ : )?{re.escape(task_prefix)}.*?\n(.*?)(?=^TASK \[|^PLAY RECAP)", output, re.MULTILINE | re.DOTALL)
    if not block:
        return ""
    lines = block.group(1).splitlines()
    text = "\n".join(line[4:] if line.startswith("    ") else line for line in lines if not re.match(r"^(ok|changed): \[|^\s*msg: \|", line))
    return text.strip("\n")


def discovery_config(racks: int) -> str:
    """The demo's discovery configuration: the simulated /24, racks as groups of twelve addresses, a cache."""
    rack_groups = "\n".join(
        f"  rack{rack}: (ansible_host.split('.')[-1] | int - 1) // {RACK_SIZE} == {rack - 1}" for rack in range(1, racks + 1))
    return f"""---
# Discovery of the simulated farm (written by tools/demo.py): every Whatsminer on {NETWORK_PREFIX}.0/24.
plugin: hashfarm.whatsminer.whatsminer
networks:
  - {NETWORK_PREFIX}.0/24
# The group the site playbook applies to; group_vars/miners/ is the example's.
group: miners
hostnames:
  - name: mac
    prefix: wm-
  - ip
# Loopback refuses at once; only the silent address costs this long.
timeout: {DISCOVERY_TIMEOUT_S}
# A rack is a range of twelve addresses (its switch's DHCP range): group_vars/rack2.yml and rack3.yml apply.
groups:
{rack_groups}
keyed_groups:
  - key: whatsminer_model
    prefix: model
  - key: whatsminer_firmware_version[:4]
    prefix: firmware
  - key: whatsminer_api_version
    prefix: api
other_miners_group: other_miners
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: {DEMO_DIR / "inventory-cache"}
cache_timeout: 3600
"""


def write_discovery_inventory(racks: int) -> Path:
    """build/demo/inventory: the discovery configuration and the example's group_vars (racks and the farm)."""
    inventory = DEMO_DIR / "inventory"
    if inventory.exists():
        shutil.rmtree(inventory)
    shutil.copytree(EXAMPLE_INVENTORY / "group_vars", inventory / "group_vars")
    (inventory / "farm.whatsminer.yml").write_text(discovery_config(racks), encoding="utf-8")
    return inventory


def plain(value: object) -> object:
    """A value of ``ansible-inventory --list`` without its ``{"__ansible_unsafe": ...}`` wrapper."""
    return value.get("__ansible_unsafe") if isinstance(value, dict) and "__ansible_unsafe" in value else value


def discover(inventory: Path) -> dict[str, dict]:
    """Scan the farm (no cache), show the groups found; return ``{group: [hosts]}`` and ``"by address": {address: host}``."""
    binary = Path(sys.executable).parent / "ansible-inventory"
    started = time.monotonic()
    status, output = run_logged([str(binary), "-i", str(inventory), "--flush-cache", "--list"], "1-discovery-list")
    seconds = time.monotonic() - started
    if status != 0:
        raise RuntimeError(f"ansible-inventory failed with {status}; see {LOG_DIR / '1-discovery-list.log'}")
    listing, _end = json.JSONDecoder().raw_decode(output[output.index("{"):])
    run_logged([str(binary), "-i", str(inventory), "--graph"], "2-discovery-graph")
    groups: dict = {name: sorted(data.get("hosts", [])) for name, data in listing.items() if isinstance(data, dict) and name != "_meta"}
    print(f"    found {len(groups.get('miners', []))} Whatsminers in {seconds:.1f} s (ansible-inventory included); groups:")
    for name in sorted(groups):
        if groups[name] and name != "by address":
            print(f"    {name:22} {len(groups[name]):3}  {shortened(groups[name])}")
    for line in output.splitlines():
        if "[WARNING]" in line:
            print(f"    {line.strip()}")
    groups["by address"] = {plain(variables.get("ansible_host")): host for host, variables in listing["_meta"]["hostvars"].items()}
    return groups


def main() -> int:
    """Run the demo."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--racks", type=int, default=5, help=f"racks of {RACK_SIZE} simulated miners (default 5: 60 miners)")
    options = parser.parse_args()
    count = options.racks * RACK_SIZE
    started = time.monotonic()

    stage_collection()
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    if LOG_DIR.exists():
        shutil.rmtree(LOG_DIR)
    (DEMO_DIR / "vault-password").write_text(EXAMPLE_VAULT_PASSWORD + "\n", encoding="utf-8")
    odd = ",".join(f"{kind}@{NETWORK_PREFIX}.{last}" for kind, last in ODD_DEVICES.items())
    say(f"starting {count} simulated miners (firmware 1.4.x, 2.0.x, 2024 and 3.x) on {NETWORK_PREFIX}.1 to {NETWORK_PREFIX}.{count}, "
        f"port 4028 (3.x: API 3 on port 4433 too), and on the same network another vendor's miner, an HTTP-only device, "
        f"a silent and a resetting address ({NETWORK_PREFIX}.{min(ODD_DEVICES.values())} and up)")
    say("each miner has had the one manual step a real one needs (README, quick start step 1): a password other than the "
        "factory one (the example vault's) and the write API switched on; like the firmware, the simulated miners refuse "
        "API 3 writes while the factory password is in use")
    fleet_args = ("--count", str(count), "--profiles", "mixed,3.x", "--address-mode", "ips", "--ips-base", f"{NETWORK_PREFIX}.1",
                  "--odd-devices", odd, "--password", EXAMPLE_ADMIN_PASSWORD, "--v3-password", EXAMPLE_ADMIN_PASSWORD, "--factory-password-gate",
                  "--restart-seconds", "2")
    with running_fleet(DEMO_DIR / "fleet", *fleet_args) as fleet:
        inventory = write_discovery_inventory(options.racks)
        simulated = sorted(fleet["miners"], key=lambda miner: miner["host"].split(".")[-1].zfill(3))
        hosts = {f"rack{index // RACK_SIZE + 1}-m{index % RACK_SIZE + 1:02d}": miner["name"] for index, miner in enumerate(simulated)}
        say(f"discovering the farm: {inventory / 'farm.whatsminer.yml'} (inventory plugin hashfarm.whatsminer.whatsminer, "
            f"with the example's group_vars/ next to it)")
        groups = discover(inventory)
        names = {miner["name"]: groups["by address"].get(miner["host"], miner["name"]) for miner in simulated}
        if len(groups.get("miners", [])) != count:
            say(f"discovery found {len(groups.get('miners', []))} miners, not {count}: see {LOG_DIR / '1-discovery-list.log'}")
            return 1
        say("the miners come with the pools of their factory configuration; a few differ in more (set directly in the simulator):")
        set_miners(fleet, hosts, {host: change for host, change in BEFORE_SITE.items() if host in hosts}, names)

        say("applying the desired state to what discovery found (hashfarm.whatsminer.site --diff; the API version came from discovery)")
        status, output = playbook("site", "3-site-first", "--diff")
        summarize(output)
        if status != 0:
            return status
        first = recap(output)
        say(f"first run: {sum(1 for counts in first.values() if counts.get('changed'))} of {len(first)} miners changed")

        say("applying it again: nothing may change")
        status, output = playbook("site", "4-site-second")
        summarize(output)
        second = recap(output)
        changed_hosts = sorted(host for host, counts in second.items() if counts.get("changed"))
        if status != 0 or changed_hosts:
            say(f"the second run changed {', '.join(changed_hosts) or 'nothing'} and exited {status}: not idempotent")
            return 1
        say(f"second run: nothing changed on any of the {len(second)} miners (changed=0)")

        say("one miner drops off the network, one runs hot with an error code, one was factory-reset by a technician:")
        set_miners(fleet, hosts, {host: change for host, change in BEFORE_REPORT.items() if host in hosts}, names)
        say("the fleet report with the factory-password audit (hashfarm.whatsminer.facts -e whatsminer_report_audit_passwords=true)")
        report_dir = DEMO_DIR / "report"
        status, output = playbook("facts", "5-facts", "-e", f"whatsminer_report_dir={report_dir}", "-e", "whatsminer_report_audit_passwords=true")
        summarize(output)
        table = debug_block(output, "Show the fleet")
        print(table if table else f"    (no fleet table in the output; see {LOG_DIR / '5-facts.log'})")
    say("the simulated fleet is stopped")
    print(f"    report: file://{report_dir / 'fleet-report.html'} (also fleet-report.csv and fleet-report.json)")
    print(f"    full logs: {LOG_DIR}")
    print(f"    demo took {time.monotonic() - started:.0f} s")
    if status == PLAYBOOK_HOST_FAILED:
        print("    (the miner that dropped off the network failed its own host on purpose; the others went on)")
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
