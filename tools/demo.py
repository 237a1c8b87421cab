"""make demo: the collection's main job, desired state for a fleet, against a simulated farm on loopback.

1. copy the collection to build/collections (where ansible-playbook finds it);
2. start 60 simulated miners of mixed firmware (1.4.x, 2.0.x, 2024, 3.x), each on its own loopback
   address and port 4028 like a real miner;
3. write build/demo/inventory: the desired state of examples/inventory (its group_vars/ and
   host_vars/: per-rack pools, worker names from the host names, a rack in low power mode, a
   hosted rack with its own pools and a power limit, the admin password in the vault) for five
   racks of twelve miners, each host at the address of a simulated miner;
4. run hashfarm.whatsminer.site: the miners start the way a fresh farm does, so it changes pools
   and power settings and shows the diffs;
5. run it again: nothing changes (the demo checks that and says so);
6. take one miner off the network, let one run hot, and run hashfarm.whatsminer.facts: the fleet
   table, and the report files (HTML, CSV, JSON) in build/demo/report;
7. stop the fleet.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from fleet import running_fleet
from staging import BUILD, COLLECTION_ROOT, REPO, stage_collection

sys.path.insert(0, str(REPO / "tests" / "integration" / "targets" / "fleet_common"))
from fleet_inventory import write_inventory  # noqa: E402  pylint: disable=wrong-import-position

DEMO_DIR = BUILD / "demo"
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
# hot with an error code.
BEFORE_REPORT = {
    "rack5-m11": {"config": {"refuse_connections": True}},
    "rack4-m04": {"state": {"env_temp_c": 41.5, "error_codes": [600]}},
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


def set_miners(fleet: dict, hosts: dict[str, str], changes: dict[str, dict]) -> None:
    """Change simulated miners directly (their true state and settings) through the control API."""
    for host, change in changes.items():
        name = hosts[host]
        request = urllib.request.Request(
            f"{fleet['control_url']}/miners/{name}", data=json.dumps(change).encode(), method="PATCH",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # loopback control API of the simulator
            response.read()
        print(f"    {host}: {json.dumps(change)}", flush=True)


def playbook(name: str, *extra: str, show_unchanged: bool = False) -> tuple[int, str]:
    """Run one of the collection's playbooks against the demo inventory, showing its output; return status and output."""
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(DEMO_DIR / "inventory"), f"hashfarm.whatsminer.{name}", *extra]
    print("\n$ " + " ".join(command), flush=True)
    with subprocess.Popen(command, env=ansible_environment(show_unchanged), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        lines = []
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            lines.append(line)
    return process.returncode, "".join(lines)


def recap(output: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP counts of each host."""
    return {
        match.group(1): {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(2))}
        for match in re.finditer(r"^(\S+)\s+: (ok=.*)$", output, re.MULTILINE)
    }


def changed_by_task(output: str) -> dict[str, int]:
    """How many miners each task changed."""
    counts: dict[str, int] = {}
    task = ""
    for line in output.splitlines():
        banner = re.match(r"^TASK \[(?:[^:\]]+ : )?(.+?)\]", line)
        if banner:
            task = banner.group(1)
        elif line.startswith("changed: ["):
            counts[task] = counts.get(task, 0) + 1
    return counts


def main() -> int:
    """Run the demo."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--racks", type=int, default=5, help=f"racks of {RACK_SIZE} simulated miners (default 5: 60 miners)")
    options = parser.parse_args()
    count = options.racks * RACK_SIZE
    started = time.monotonic()

    stage_collection()
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    (DEMO_DIR / "vault-password").write_text(EXAMPLE_VAULT_PASSWORD + "\n", encoding="utf-8")
    say(f"starting {count} simulated miners (firmware 1.4.x, 2.0.x, 2024 and 3.x), each on its own loopback address (127.0.1.1, ...) "
        "and port 4028 (3.x: API 3 on port 4433 too)")
    fleet_args = ("--count", str(count), "--profiles", "mixed,3.x", "--address-mode", "ips", "--password", EXAMPLE_ADMIN_PASSWORD,
                  "--v3-password", EXAMPLE_ADMIN_PASSWORD, "--restart-seconds", "2")
    with running_fleet(DEMO_DIR / "fleet", *fleet_args) as fleet:
        names = write_inventory(fleet["miners"], EXAMPLE_INVENTORY, DEMO_DIR / "inventory", options.racks, RACK_SIZE)
        hosts = {host: miner["name"] for host, miner in zip(names, fleet["miners"])}
        say(f"inventory: {DEMO_DIR / 'inventory'} (the desired state of examples/inventory, {options.racks} racks at the simulated addresses)")
        say("the miners come with the pools of their factory configuration; a few differ in more (set directly in the simulator):")
        set_miners(fleet, hosts, {host: change for host, change in BEFORE_SITE.items() if host in hosts})

        say("applying the desired state (hashfarm.whatsminer.site --diff): each miner gets only the changes it needs")
        status, output = playbook("site", "--diff")
        if status != 0:
            return status
        first = recap(output)
        print()
        say(f"first run: {sum(1 for counts in first.values() if counts.get('changed'))} of {len(first)} miners changed; "
            + ", ".join(f"{task}: {number} miners" for task, number in changed_by_task(output).items()))

        say("applying it again: nothing may change")
        status, output = playbook("site")
        second = recap(output)
        changed_hosts = sorted(host for host, counts in second.items() if counts.get("changed"))
        if status != 0 or changed_hosts:
            say(f"the second run changed {', '.join(changed_hosts) or 'nothing'} and exited {status}: not idempotent")
            return 1
        print()
        say(f"second run: nothing changed on any of the {len(second)} miners (changed=0)")

        say("one miner drops off the network and one runs hot with an error code:")
        set_miners(fleet, hosts, {host: change for host, change in BEFORE_REPORT.items() if host in hosts})
        say("the fleet report (hashfarm.whatsminer.facts)")
        report_dir = DEMO_DIR / "report"
        status, _output = playbook("facts", "-e", f"whatsminer_report_dir={report_dir}", show_unchanged=True)
    say("the simulated fleet is stopped")
    print(f"    report: file://{report_dir / 'fleet-report.html'} (also fleet-report.csv and fleet-report.json)")
    print(f"    demo took {time.monotonic() - started:.0f} s")
    if status == PLAYBOOK_HOST_FAILED:
        print("    (the miner that dropped off the network failed its own host on purpose; the others went on)")
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
