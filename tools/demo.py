"""make demo: the collection's main job against a simulated fleet on loopback.

1. copy the collection to build/collections (where ansible-playbook finds it);
2. start a fleet of simulated miners with mixed firmware, each on its own loopback address, and
   write its inventory to build/demo/inventory.yml;
3. run the facts playbook against every miner and print the fleet table;
4. stop the fleet.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from fleet import running_fleet
from staging import BUILD, COLLECTION_ROOT, stage_collection

DEMO_DIR = BUILD / "demo"


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
        status = playbook("facts", DEMO_DIR / "inventory.yml")
    print("==> the simulated fleet is stopped", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
