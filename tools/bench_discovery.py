"""The discovery row of make bench: the inventory plugin's scan against pyasic's, on the same network in the same run.

A /22 of loopback addresses (127.20.0.0/22, 1022 hosts) holds 1000 simulated miners of mixed
firmware (1.4.x, 2.0.x, 2024, 3.x) and the odd devices of a farm network (another vendor's
cgminer miner, an HTTP-only device, a silent and a resetting address). Each scanner runs in a
fresh Python process of its own, one after the other, against the same fleet:

* ``hashfarm``: ``plugins/plugin_utils/_discovery.scan`` (what the inventory plugin runs), timeout 2 s;
* ``pyasic``: ``MinerNetwork.from_subnet("127.20.0.0/22").scan()`` (pyasic 0.79) with its defaults
  (no bound on concurrency), and ``pyasic-100`` with its ``network_scan_semaphore`` set to 100 (without
  a bound, its probes time out against a fleet this size on a loaded machine).

For each: wall time of the scan, CPU time (user + system) of the scanning process, its peak
memory (max RSS), the Whatsminers found, and false positives (anything reported as a Whatsminer
that is not one of the 1000). Then the hashfarm scan of a /18 and a /16 of empty loopback space
(127.21.0.0/16, nothing listening): it completes without running out of file handles, in time
proportional to the addresses.

    .venv/bin/python tools/bench_discovery.py        # this row alone (about a minute)
    .venv/bin/python tools/bench.py --discovery only  # the same, through make bench's entry point
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fleet import running_fleet
from staging import BUILD, COLLECTION_ROOT, REPO, stage_collection

NETWORK = "127.20.0.0/22"
IPS_BASE = "127.20.0.1"
MINERS = 1000
ODD_DEVICES = "cgminer@127.20.3.250,http@127.20.3.251,silent@127.20.3.252,reset@127.20.3.253"
EMPTY_NETWORKS = ("127.21.0.0/18", "127.21.0.0/16")
SCAN_TIMEOUT_S = 2.0
PYASIC_SEMAPHORE = 100
TARGET_WALL_S = 5.0
CHILD_TIMEOUT_S = 600

#: Runs in a child process; prints one JSON line. ``NETWORK`` and ``TIMEOUT`` are filled in.
HASHFARM_SCAN = r"""
import json, resource, time
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils import _addresses, _discovery
addresses = _addresses.parse_addresses([NETWORK], max_addresses=1 << 17)
wall, cpu = time.monotonic(), time.process_time()
result = _discovery.scan(addresses, timeout=TIMEOUT)
wall, cpu = time.monotonic() - wall, time.process_time() - cpu
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "addresses": len(addresses), "whatsminers": [miner.address for miner in result.miners],
                  "others": [other.address for other in result.others], "connections": result.connections,
                  "concurrency": result.concurrency}))
"""

PYASIC_SCAN = r"""
import asyncio, json, resource, time
from pyasic import settings
from pyasic.network import MinerNetwork
if SEMAPHORE:
    settings.update("network_scan_semaphore", SEMAPHORE)
network = MinerNetwork.from_subnet(NETWORK)
wall, cpu = time.monotonic(), time.process_time()
miners = asyncio.run(network.scan())
wall, cpu = time.monotonic() - wall, time.process_time() - cpu
def whatsminer(miner):
    text = (type(miner).__name__ + " " + str(getattr(miner, "make", ""))).lower()
    return "btminer" in text or "whatsminer" in text
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "addresses": len(list(network.hosts)) if hasattr(network, "hosts") else None,
                  "whatsminers": [str(miner.ip) for miner in miners if whatsminer(miner)],
                  "others": [str(miner.ip) for miner in miners if not whatsminer(miner)]}))
"""


def run_child(code: str, **values: Any) -> dict[str, Any]:
    """Run ``code`` (with ``NAME = value`` lines for ``values`` first) in a fresh interpreter; its JSON line plus the process CPU."""
    prelude = "".join(f"{name} = {value!r}\n" for name, value in values.items())
    env = dict(os.environ, PYTHONPATH=str(COLLECTION_ROOT))
    before = os.times()
    started = time.monotonic()
    completed = subprocess.run([sys.executable, "-c", prelude + code], env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False)
    after = os.times()
    if completed.returncode != 0:
        raise RuntimeError(f"the scan failed ({completed.returncode}): {completed.stderr[-2000:]}")
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    report["process_wall_s"] = time.monotonic() - started
    report["process_cpu_s"] = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return report


def judge(report: dict[str, Any], truth: set[str]) -> dict[str, Any]:
    """Found and false positives of one scan against the true miner addresses."""
    found = set(report["whatsminers"])
    report["found"] = len(found & truth)
    report["false_positives"] = sorted(found - truth)
    report["missed"] = len(truth - found)
    return report


def measure(output: Path) -> dict[str, Any]:
    """Run the discovery row; print it; write ``discovery-results.json`` to ``output``; return the results."""
    fleet_args = ("--count", str(MINERS), "--profiles", "mixed,3.x", "--address-mode", "ips", "--ips-base", IPS_BASE,
                  "--odd-devices", ODD_DEVICES, "--idle-timeout", "5")
    results: dict[str, Any] = {"network": NETWORK, "miners": MINERS, "odd_devices": ODD_DEVICES, "load_at_start": os.getloadavg()}
    print(f"==> discovery: {MINERS} simulated miners and 4 odd devices on {NETWORK}; hashfarm's scan, then pyasic's", flush=True)
    with running_fleet(BUILD / "bench-discovery" / "fleet", *fleet_args, lifetime=CHILD_TIMEOUT_S * 3) as fleet:
        truth = {miner["host"] for miner in fleet["miners"]}
        results["hashfarm"] = judge(run_child(HASHFARM_SCAN, NETWORK=NETWORK, TIMEOUT=SCAN_TIMEOUT_S), truth)
        results["pyasic"] = judge(run_child(PYASIC_SCAN, NETWORK=NETWORK, SEMAPHORE=None), truth)
        results["pyasic-100"] = judge(run_child(PYASIC_SCAN, NETWORK=NETWORK, SEMAPHORE=PYASIC_SEMAPHORE), truth)
    results["empty"] = [run_child(HASHFARM_SCAN, NETWORK=network, TIMEOUT=SCAN_TIMEOUT_S) for network in EMPTY_NETWORKS]
    results["load_at_end"] = os.getloadavg()
    ours, theirs = results["hashfarm"], results["pyasic"]
    results["verdicts"] = {
        "every miner found": ours["found"] == MINERS,
        "no false positives": not ours["false_positives"],
        f"at most {TARGET_WALL_S:g} s": ours["wall_s"] <= TARGET_WALL_S,
        "faster than pyasic": ours["wall_s"] < min(theirs["wall_s"], results["pyasic-100"]["wall_s"]),
    }
    output.mkdir(parents=True, exist_ok=True)
    (output / "discovery-results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(table(results), flush=True)
    return results


def table(results: dict[str, Any]) -> str:
    """The row as text."""
    lines = [f"discovery of {results['network']} ({results['miners']} miners + 4 odd devices); "
             f"load average {results['load_at_start'][0]:.1f} before, {results['load_at_end'][0]:.1f} after",
             f"{'scanner':10} {'wall s':>7} {'CPU s':>6} {'peak MiB':>9} {'found':>6} {'false +':>8} {'process wall s':>15}"]
    for name in ("hashfarm", "pyasic", "pyasic-100"):
        row = results[name]
        lines.append(f"{name:10} {row['wall_s']:7.2f} {row['cpu_s']:6.2f} {row['peak_mib']:9.1f} {row['found']:6d} "
                     f"{len(row['false_positives']):8d} {row['process_wall_s']:15.2f}")
    for network, row in zip(EMPTY_NETWORKS, results["empty"]):
        lines.append(f"hashfarm, empty {network}: {row['addresses']} addresses in {row['wall_s']:.2f} s "
                     f"({row['addresses'] / max(row['wall_s'], 1e-9):,.0f} addresses/s), CPU {row['cpu_s']:.2f} s, "
                     f"peak {row['peak_mib']:.0f} MiB, {row['concurrency']} in flight")
    lines.append("targets: " + "; ".join(f"{name}: {'met' if met else 'NOT MET'}" for name, met in results["verdicts"].items()))
    return "\n".join(lines)


def main() -> int:
    """Run the row alone."""
    stage_collection()
    results = measure(REPO / "bench" / "results")
    return 0 if all(results["verdicts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
