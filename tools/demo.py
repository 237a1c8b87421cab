"""make demo: the collection's main job against a simulated fleet on loopback.

1. copy the collection to build/collections (where ansible-playbook finds it);
2. start a fleet of simulated miners with mixed firmware, each on its own loopback address, and
   write its inventory to build/demo/inventory.yml;
3. make a few miners differ (curtailed, low power, power limited, unreachable), then run the
   facts playbook against every miner and print the fleet table;
4. stop the fleet.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from fleet import running_fleet
from staging import BUILD, COLLECTION_ROOT, stage_collection

DEMO_DIR = BUILD / "demo"
# ansible-playbook's exit status when a host failed but the play ran to its end.
PLAYBOOK_HOST_FAILED = 2


def ansible_environment() -> dict[str, str]:
    """Environment for ansible-playbook: the staged collection, readable output, no fact injection."""
    return dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTION_ROOT),
        ANSIBLE_INJECT_FACT_VARS="false",
        ANSIBLE_CALLBACK_RESULT_FORMAT="yaml",
        ANSIBLE_HOST_KEY_CHECKING="false",
        ANSIBLE_RETRY_FILES_ENABLED="false",
        ANSIBLE_FORKS="25",
    )


# A farm is never uniform: a few miners whose true state differs, set through the simulator's
# control API (not through the miner API), so that the table shows what the facts detect.
VARIED_MINERS = {
    4: {"state": {"mining": False}},
    7: {"state": {"power_mode": "low"}},
    11: {"state": {"power_limit_w": 3000, "error_codes": [600]}},
    13: {"config": {"refuse_connections": True}},
}


def vary_fleet(fleet: dict) -> None:
    """Curtail one miner, put one in low power, limit one, and take one off the network."""
    for index, change in VARIED_MINERS.items():
        if index >= len(fleet["miners"]):
            continue
        name = fleet["miners"][index]["name"]
        request = urllib.request.Request(
            f"{fleet['control_url']}/miners/{name}", data=json.dumps(change).encode(), method="PATCH",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # loopback control API of the simulator
            response.read()
        print(f"    {name}: {json.dumps(change)}", flush=True)


def playbook(name: str, inventory: Path, *extra: str) -> int:
    """Run one of the collection's playbooks against the fleet; return its exit code."""
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), f"hashfarm.whatsminer.{name}", *extra]
    print("\n$ " + " ".join(command), flush=True)
    return subprocess.run(command, env=ansible_environment(), check=False).returncode


def main() -> int:
    """Run the demo."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=24, help="number of simulated miners (default 24)")
    options = parser.parse_args()

    stage_collection()
    print(f"==> starting {options.count} simulated miners (firmware 1.4.x, 2.0.x and 2024) on loopback", flush=True)
    with running_fleet(DEMO_DIR, "--count", str(options.count), "--profiles", "mixed", "--address-mode", "ips") as fleet:
        print(f"    inventory: {DEMO_DIR / 'inventory.yml'}; control API: {fleet.get('control_url')}", flush=True)
        print("==> making the fleet less uniform (true state set directly in the simulator)", flush=True)
        vary_fleet(fleet)
        status = playbook("facts", DEMO_DIR / "inventory.yml")
    print("==> the simulated fleet is stopped", flush=True)
    if status == PLAYBOOK_HOST_FAILED and options.count > max(VARIED_MINERS):
        print("    (one miner refuses connections on purpose: its host failed, the others went on)")
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
