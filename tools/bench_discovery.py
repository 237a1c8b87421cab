"""The discovery row of make bench: the inventory plugin's scan against pyasic's, on the same network in the same run.

A /22 of loopback addresses (127.20.0.0/22, 1022 hosts) holds 1000 simulated miners of mixed
firmware (1.4.x, 2.0.x, 2024, 3.x) and the odd devices of a farm network (another vendor's
cgminer miner, an HTTP-only device, a silent and a resetting address). Each scanner runs in a
fresh Python process of its own, one after the other, against the same fleet:

* ``hashfarm``: ``plugins/plugin_utils/_discovery.scan`` (what the inventory plugin runs), timeout 2 s;
* ``pyasic``: ``MinerNetwork.from_subnet("127.20.0.0/22").scan()`` (pyasic 0.79) with its defaults
  (no bound on concurrency), then with its ``network_scan_semaphore`` set to 200 and to 100
  (``pyasic-200``, ``pyasic-100``): without a bound its probes time out against a fleet this size.

For each: wall time of the scan, CPU time (user + system) of the scanning process, its peak
memory (max RSS), the Whatsminers found (in all and per firmware generation), and false positives
(anything reported as a Whatsminer that is not one of the 1000); for hashfarm also when its last
miner was identified (the rest of its wall time is the silent address). pyasic 0.79 identifies no
miner of the simulator's API 3 firmware (3.x) with any setting: their port 4028 answers ``version``
and ``devdetails`` with an error, and pyasic then never asks port 4433. So the comparison that
finds the same miners is against pyasic's fastest run among those that find the most miners (all
750 of the API 2 firmware); pyasic's defaults are reported beside it. Then the hashfarm scan of a
/18 and a /16 of empty loopback space (127.21.0.0/16, nothing listening): it completes without
running out of file handles, in time proportional to the addresses.

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
#: pyasic's runs: its defaults (no bound), then its network_scan_semaphore at 200 and 100.
PYASIC_RUNS = (("pyasic", None), ("pyasic-200", 200), ("pyasic-100", 100))
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
                  "concurrency": result.concurrency, "last_miner_s": result.last_miner_seconds, "congested": result.congested,
                  "unidentified": result.unidentified}))
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


def judge(report: dict[str, Any], profiles: dict[str, str]) -> dict[str, Any]:
    """Found and false positives of one scan against the true miners (``{address: firmware profile}``)."""
    found = set(report["whatsminers"])
    report["found"] = len(found & profiles.keys())
    report["false_positives"] = sorted(found - profiles.keys())
    report["missed"] = len(profiles.keys() - found)
    report["found_by_profile"] = {profile: f"{sum(1 for address, of in profiles.items() if of == profile and address in found)} of "
                                           f"{sum(1 for of in profiles.values() if of == profile)}"
                                  for profile in sorted(set(profiles.values()))}
    return report


def verdicts(results: dict[str, Any]) -> dict[str, bool]:
    """The targets of the row (``targets``) and the comparison with pyasic's defaults (reported, not a target)."""
    ours = results["hashfarm"]
    pyasic_runs = [results[name] for name, _semaphore in PYASIC_RUNS]
    most = max(run["found"] for run in pyasic_runs)
    best = min((run for run in pyasic_runs if run["found"] == most), key=lambda run: run["wall_s"])
    results["pyasic_best"] = next(name for name, _semaphore in PYASIC_RUNS if results[name] is best)
    return {
        "every miner found": ours["found"] == MINERS,
        "no false positives": not ours["false_positives"],
        f"at most {TARGET_WALL_S:g} s": ours["wall_s"] <= TARGET_WALL_S,
        f"faster than pyasic's run that finds the most ({results['pyasic_best']}, {most})": ours["wall_s"] < best["wall_s"],
        "faster than pyasic's defaults": ours["wall_s"] < results["pyasic"]["wall_s"],
    }


#: The verdicts that are the row's targets (the last, against pyasic's defaults that miss most miners, is reported only).
TARGET_COUNT = 4


def measure(output: Path) -> dict[str, Any]:
    """Run the discovery row; print it; write ``discovery-results.json`` to ``output``; return the results."""
    fleet_args = ("--count", str(MINERS), "--profiles", "mixed,3.x", "--address-mode", "ips", "--ips-base", IPS_BASE,
                  "--odd-devices", ODD_DEVICES, "--idle-timeout", "5")
    results: dict[str, Any] = {"network": NETWORK, "miners": MINERS, "odd_devices": ODD_DEVICES, "load_at_start": os.getloadavg()}
    print(f"==> discovery: {MINERS} simulated miners and 4 odd devices on {NETWORK}; hashfarm's scan, then pyasic's", flush=True)
    with running_fleet(BUILD / "bench-discovery" / "fleet", *fleet_args, lifetime=CHILD_TIMEOUT_S * 3) as fleet:
        profiles = {miner["host"]: miner["profile"] for miner in fleet["miners"]}
        results["hashfarm"] = judge(run_child(HASHFARM_SCAN, NETWORK=NETWORK, TIMEOUT=SCAN_TIMEOUT_S), profiles)
        for name, semaphore in PYASIC_RUNS:
            results[name] = judge(run_child(PYASIC_SCAN, NETWORK=NETWORK, SEMAPHORE=semaphore), profiles)
    results["empty"] = [run_child(HASHFARM_SCAN, NETWORK=network, TIMEOUT=SCAN_TIMEOUT_S) for network in EMPTY_NETWORKS]
    results["load_at_end"] = os.getloadavg()
    results["verdicts"] = verdicts(results)
    output.mkdir(parents=True, exist_ok=True)
    (output / "discovery-results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(table(results), flush=True)
    return results


def table(results: dict[str, Any]) -> str:
    """The row as text."""
    lines = [f"discovery of {results['network']} ({results['miners']} miners + 4 odd devices); "
             f"load average {results['load_at_start'][0]:.1f} before, {results['load_at_end'][0]:.1f} after",
             f"{'scanner':10} {'wall s':>7} {'CPU s':>6} {'peak MiB':>9} {'found':>6} {'false +':>8} {'process wall s':>15}  found per firmware"]
    for name in ("hashfarm", *(name for name, _semaphore in PYASIC_RUNS)):
        row = results[name]
        lines.append(f"{name:10} {row['wall_s']:7.2f} {row['cpu_s']:6.2f} {row['peak_mib']:9.1f} {row['found']:6d} "
                     f"{len(row['false_positives']):8d} {row['process_wall_s']:15.2f}  "
                     + ", ".join(f"{profile} {count}" for profile, count in row["found_by_profile"].items()))
    lines.append(f"hashfarm: last miner identified at {results['hashfarm']['last_miner_s']:.2f} s; "
                 f"{'congested (late replies: addresses without a reply probed once more)' if results['hashfarm']['congested'] else 'not congested'}; "
                 "not identified: "
                 + "; ".join(f"{address} ({reason})" for address, reason in results["hashfarm"]["unidentified"].items()))
    for network, row in zip(EMPTY_NETWORKS, results["empty"]):
        lines.append(f"hashfarm, empty {network}: {row['addresses']} addresses in {row['wall_s']:.2f} s "
                     f"({row['addresses'] / max(row['wall_s'], 1e-9):,.0f} addresses/s), CPU {row['cpu_s']:.2f} s, "
                     f"peak {row['peak_mib']:.0f} MiB, {row['concurrency']} in flight")
    items = list(results["verdicts"].items())
    lines.append("targets: " + "; ".join(f"{name}: {'met' if met else 'NOT MET'}" for name, met in items[:TARGET_COUNT]))
    lines.append("beside them: " + "; ".join(f"{name}: {'yes' if met else 'no'}" for name, met in items[TARGET_COUNT:]))
    return "\n".join(lines)


def main() -> int:
    """Run the row alone."""
    stage_collection()
    results = measure(REPO / "bench" / "results")
    return 0 if targets_met(results) else 1


def targets_met(results: dict[str, Any]) -> bool:
    """Whether the row met its targets."""
    return all(list(results["verdicts"].values())[:TARGET_COUNT])


if __name__ == "__main__":
    sys.exit(main())
