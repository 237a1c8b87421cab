#!/usr/bin/env python
# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The example inventory's desired state on a simulated fleet (used by the fleet_* targets and make demo).

Writes ``OUT/hosts.yml`` with the example's racks (``rack1-m01`` ...), each host pointing at one
simulated miner in order (``ansible_host``, ``whatsminer_port``, plus ``simulator_name`` and
``whatsminer_profile`` for the tests), and copies the example's ``group_vars/`` and ``host_vars/``
next to it, so that the desired state applied is exactly the example's.

    fleet_inventory.py --control-url http://127.0.0.1:PORT --example examples/inventory --out DIR \
        [--racks 3] [--rack-size 12] [--var whatsminer_execution=module]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import urllib.request
from pathlib import Path


def simulated_miners(control_url: str) -> list[dict]:
    """The fleet's miners in index order, from the simulator's control API."""
    with urllib.request.urlopen(f"{control_url}/miners", timeout=30) as response:  # loopback control API
        miners = json.load(response)["miners"]
    return sorted(miners, key=lambda miner: miner["index"])


def write_inventory(miners: list[dict], example: Path, out: Path, racks: int, rack_size: int, group_vars: dict | None = None) -> list[str]:
    """Write the inventory; return the host names in order."""
    if len(miners) < racks * rack_size:
        raise ValueError(f"{racks} racks of {rack_size} miners need {racks * rack_size} simulated miners, the fleet has {len(miners)}")
    out.mkdir(parents=True, exist_ok=True)
    for folder in ("group_vars", "host_vars"):
        if (out / folder).exists():
            shutil.rmtree(out / folder)
        shutil.copytree(example / folder, out / folder)
    lines = [
        "# Written by tests/integration/targets/fleet_common/fleet_inventory.py: the example inventory's racks,",
        "# each miner at the address of a simulated one.",
        "miners:",
    ]
    if group_vars:
        lines.append("  vars:")
        lines.extend(f"    {key}: {json.dumps(value)}" for key, value in group_vars.items())
    lines.append("  children:")
    names = []
    for rack in range(1, racks + 1):
        lines += [f"    rack{rack}:", "      hosts:"]
        for slot in range(1, rack_size + 1):
            miner = miners[(rack - 1) * rack_size + slot - 1]
            name = f"rack{rack}-m{slot:02d}"
            names.append(name)
            host_vars = {
                "ansible_host": miner["host"],
                "whatsminer_port": miner["port"],
                "whatsminer_profile": miner["profile"],
                "simulator_name": miner["name"],
            }
            if miner.get("v3_port"):  # 3.x: API 3 on its own port (not 4433 in ports mode)
                host_vars["whatsminer_api3_port"] = miner["v3_port"]
            lines.append(f"        {name}: {json.dumps(host_vars)}")
    (out / "hosts.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return names


def main() -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--control-url", required=True)
    parser.add_argument("--example", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--racks", type=int, default=3)
    parser.add_argument("--rack-size", type=int, default=12)
    parser.add_argument("--var", action="append", default=[], help="KEY=VALUE for the group miners (VALUE parsed as JSON when it parses)")
    options = parser.parse_args()
    group_vars = {}
    for item in options.var:
        key, _sep, value = item.partition("=")
        try:
            group_vars[key] = json.loads(value)
        except ValueError:
            group_vars[key] = value
    names = write_inventory(simulated_miners(options.control_url), options.example, options.out, options.racks, options.rack_size, group_vars)
    print(f"{options.out / 'hosts.yml'}: {len(names)} miners ({names[0]} to {names[-1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
