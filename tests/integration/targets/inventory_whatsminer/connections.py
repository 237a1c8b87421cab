#!/usr/bin/env python
# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print how many TCP connections the simulated network accepted: every miner (both APIs) and every odd device."""

from __future__ import annotations

import json
import sys
import urllib.request


def get(url: str) -> dict:
    """GET one resource of the control API (loopback)."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def main() -> int:
    """Command line entry point: connections.py CONTROL_URL."""
    control = sys.argv[1]
    miners = sum(miner["counters"]["connections"] + miner["counters"]["v3_connections"] for miner in get(f"{control}/miners")["miners"])
    devices = sum(device["connections"] for device in get(f"{control}/").get("odd_devices", []))
    print(miners + devices)
    return 0


if __name__ == "__main__":
    sys.exit(main())
