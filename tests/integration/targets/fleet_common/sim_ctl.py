#!/usr/bin/env python
# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bulk calls to the simulator's control API for the fleet_* targets (one process, not one task per miner).

    sim_ctl.py URL start FILE        reset each miner named in FILE ({name: {"state": {...}, "config": {...}}}),
                                     clear its command log, then apply its start state and settings
    sim_ctl.py URL patch FILE        apply the changes in FILE (same shape) without a reset
    sim_ctl.py URL snapshot FILE     write every miner (true state, counters) and its command log to FILE
    sim_ctl.py URL connections       print how many connections the fleet's miners have accepted (both APIs)
"""

from __future__ import annotations

import json
import sys
import urllib.request


def call(url: str, method: str = "GET", body: dict | None = None) -> dict:
    """One request to the control API (loopback)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # loopback control API of the simulator
        return json.load(response)


def start(control: str, path: str, reset: bool = True) -> None:
    """Reset the miners named in the file (unless ``reset`` is false), then apply their changes."""
    with open(path, encoding="utf-8") as handle:
        changes = json.load(handle)
    for name, change in changes.items():
        if reset:
            call(f"{control}/miners/{name}/reset", "POST", {"clear_log": True})
        if change:
            call(f"{control}/miners/{name}", "PATCH", change)


def snapshot(control: str, path: str) -> None:
    """Every miner with its command log, keyed by name."""
    miners = {}
    for miner in call(f"{control}/miners")["miners"]:
        miner["log"] = call(f"{control}/miners/{miner['name']}/log")["log"]
        miners[miner["name"]] = miner
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(miners, handle, indent=1, sort_keys=True)


def main() -> int:
    """Command line entry point."""
    control, action = sys.argv[1], sys.argv[2]
    if action == "start":
        start(control, sys.argv[3])
    elif action == "patch":
        start(control, sys.argv[3], reset=False)
    elif action == "snapshot":
        snapshot(control, sys.argv[3])
    elif action == "connections":
        counters = [miner["counters"] for miner in call(f"{control}/miners")["miners"]]
        print(sum(counter["connections"] + counter["v3_connections"] for counter in counters))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
