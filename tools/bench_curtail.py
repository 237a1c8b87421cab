"""The demand-response row of make bench: curtailing a simulated farm with the curtail playbook, the per-host power playbook and pyasic.

A fleet of simulated miners of API 2 firmware (1.4.x, 2.0.x, 2024; pyasic's ``stop_mining`` speaks
API 2) on loopback addresses (port 4028, so pyasic finds them without port options). Each contender
starts from a mining fleet and stops it:

* ``curtail``: ``ansible-playbook hashfarm.whatsminer.curtail -e whatsminer_curtail=true``
  (``whatsminer_fleet_power``, one task, 100 miners at a time);
* ``power``: ``ansible-playbook hashfarm.whatsminer.power -e whatsminer_mining=false`` with one batch
  of every miner and no pause (per-host tasks, ``-f 20``);
* ``pyasic``: ``get_miner`` then ``stop_mining`` on every miner with ``asyncio.gather``.

Measured from the simulator's side, the same way for all three: from the first request any miner
received (the start of the work) until every miner had received its stop command, and until the
fleet's true summed draw (``GET /draw``, sampled every 0.1 s) fell below TARGET_SHARE of where it
started; plus the wall time of the whole process. Then a resume with the curtail playbook at a ramp
limit: the largest rise of the sampled draw over the limit (``ramp_excess_share``: 0 = never faster).

    .venv/bin/python tools/bench_curtail.py [--miners 1000]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench import control_request
from fleet import running_fleet
from staging import BUILD, COLLECTION_ROOT, stage_collection

IPS_BASE = "127.22.0.1"
PASSWORD = "admin"  # pyasic's default for API 2 miners
TARGET_SHARE = 0.10
RAMP_KW_PER_MINUTE = 2000.0
STOP_COMMANDS = ("power_off",)
CONTROL_THREADS = 16
#: The simulated boot ramp of each miner's draw (short, so the resume's own ramp limit is what shows).
HASHING_RAMP_S = 2.0
CHILD_TIMEOUT_S = 1800

PYASIC_STOP = r"""
import asyncio, json
from pyasic import get_miner
async def main():
    miners = await asyncio.gather(*[get_miner(ip) for ip in IPS])
    results = await asyncio.gather(*[miner.stop_mining() for miner in miners if miner is not None], return_exceptions=True)
    print(json.dumps({"found": sum(miner is not None for miner in miners), "stopped": sum(result is True for result in results)}))
asyncio.run(main())
"""


class DrawSampler(threading.Thread):
    """Samples the fleet's true summed draw every 0.1 s until stopped."""

    def __init__(self, fleet: dict) -> None:
        super().__init__(daemon=True)
        self.fleet = fleet
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            draw = control_request(self.fleet, "/draw")
            self.samples.append((draw["time"], draw["total_w"]))
            self.done.wait(0.1)


def reset_mining(fleet: dict) -> None:
    """Every miner reset (mining, logs cleared), its draw ramping up over HASHING_RAMP_S after a resume."""
    def reset(name: str) -> None:
        control_request(fleet, f"/miners/{name}/reset", "POST", {"clear_log": True})
        control_request(fleet, f"/miners/{name}", "PATCH", {"config": {"hashing_ramp_s": HASHING_RAMP_S}})

    with concurrent.futures.ThreadPoolExecutor(CONTROL_THREADS) as pool:
        list(pool.map(reset, [miner["name"] for miner in fleet["miners"]]))


def logs(fleet: dict) -> list[list[dict]]:
    with concurrent.futures.ThreadPoolExecutor(CONTROL_THREADS) as pool:
        return list(pool.map(lambda miner: control_request(fleet, f"/miners/{miner['name']}/log")["log"], fleet["miners"]))


def run_process(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run ``command``; its wall time and the end of its output."""
    started = time.monotonic()
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False)
    if completed.returncode not in (0, 2):
        raise RuntimeError(f"{command[:3]} failed ({completed.returncode}): {completed.stdout[-1500:]} {completed.stderr[-1500:]}")
    return time.monotonic() - started, (completed.stdout + completed.stderr)[-300:]


def measure(fleet: dict, name: str, command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Curtail the mining fleet with ``command``; the figures from the simulator's side."""
    reset_mining(fleet)
    sampler = DrawSampler(fleet)
    sampler.start()
    time.sleep(0.3)
    wall, output = run_process(command, env)
    time.sleep(0.5)
    sampler.done.set()
    sampler.join()
    entries = logs(fleet)
    times = [entry["wall"] for log in entries for entry in log]
    if not times:
        return {"contender": name, "process_wall_s": round(wall, 2), "commanded": 0, "output": output}
    first = min(times)
    stops = [max((entry["wall"] for entry in log if entry["command"] in STOP_COMMANDS), default=None) for log in entries]
    start_draw = sampler.samples[0][1]
    below = next((at for at, total in sampler.samples if at >= first and total < start_draw * TARGET_SHARE), None)
    return {
        "contender": name,
        "process_wall_s": round(wall, 2),
        "commanded": sum(stop is not None for stop in stops),
        "all_commanded_s": round(max(stop for stop in stops if stop is not None) - first, 2) if all(stops) else None,
        "draw_below_target_s": round(below - first, 2) if below else None,
        "draw_w": {"start": start_draw, "end": sampler.samples[-1][1]},
    }


def measure_ramp(fleet: dict, env: dict[str, str], playbook: list[str]) -> dict[str, Any]:
    """Resume the curtailed fleet at RAMP_KW_PER_MINUTE; how far the sampled draw ran ahead of the limit."""
    sampler = DrawSampler(fleet)
    sampler.start()
    time.sleep(0.3)
    resume = [*playbook, "-e", "whatsminer_curtail=false", "-e", f"whatsminer_ramp_kw_per_minute={RAMP_KW_PER_MINUTE}", "-e", "whatsminer_deadline_s=1800"]
    wall, _output = run_process(resume, env)
    time.sleep(HASHING_RAMP_S + 1.0)
    sampler.done.set()
    sampler.join()
    (start, base), (_end, last) = sampler.samples[0], sampler.samples[-1]
    excess = max(total - base - RAMP_KW_PER_MINUTE * 1000.0 * (at - start) / 60.0 for at, total in sampler.samples)
    rising = [at for at, total in sampler.samples if total > base + 0.05 * (last - base)]
    reached = next((at for at, total in sampler.samples if total >= base + 0.95 * (last - base)), None)
    achieved = 0.9 * (last - base) / 1000.0 / ((reached - rising[0]) / 60.0) if rising and reached and reached > rising[0] else None
    return {"process_wall_s": round(wall, 2), "limit_kw_per_minute": RAMP_KW_PER_MINUTE, "rise_kw": round((last - base) / 1000.0, 1),
            "achieved_kw_per_minute": round(achieved, 1) if achieved else None,
            "ramp_excess_share": round(max(0.0, excess) / max(1.0, last - base), 4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--miners", type=int, default=1000)
    parser.add_argument("--contenders", default="curtail,power,pyasic")
    options = parser.parse_args()
    stage_collection()
    workdir = BUILD / "bench-curtail"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTION_ROOT), ANSIBLE_INJECT_FACT_VARS="false", ANSIBLE_HOST_KEY_CHECKING="false")
    env.pop("PYTHONPATH", None)
    bin_dir = Path(sys.executable).parent
    fleet_args = ("--count", str(options.miners), "--profiles", "mixed", "--address-mode", "ips", "--ips-base", IPS_BASE,
                  "--password", PASSWORD, "--restart-seconds", "1")
    results = []
    with running_fleet(workdir / "fleet", *fleet_args, lifetime=CHILD_TIMEOUT_S * 3) as fleet:
        inventory = str(workdir / "fleet" / "inventory.yml")
        curtail = [str(bin_dir / "ansible-playbook"), "-i", inventory, "hashfarm.whatsminer.curtail", "-e", f"whatsminer_password={PASSWORD}",
                   "-e", "whatsminer_concurrency=100", "-e", "whatsminer_deadline_s=600"]
        commands = {
            "curtail": [*curtail, "-e", "whatsminer_curtail=true"],
            "power": [str(bin_dir / "ansible-playbook"), "-i", inventory, "hashfarm.whatsminer.power", "-f", "20", "-e", f"whatsminer_password={PASSWORD}",
                      "-e", "whatsminer_mining=false", "-e", "whatsminer_batch_size=100%", "-e", "whatsminer_batch_pause_s=0"],
            "pyasic": [sys.executable, "-c", f"IPS = {[miner['host'] for miner in fleet['miners']]!r}\n" + PYASIC_STOP],
        }
        for name in options.contenders.split(","):
            results.append(measure(fleet, name, commands[name], env))
            print(json.dumps(results[-1]), flush=True)
        if "curtail" in commands:
            reset_mining(fleet)
            run_process(commands["curtail"], env)  # curtailed again before the resume
            ramp = measure_ramp(fleet, env, curtail)
            print(json.dumps({"resume_ramp": ramp}), flush=True)
    (workdir / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
