"""The demand-response row of make bench: curtailing a simulated farm with the curtail playbook, the per-host power playbook and pyasic.

A fleet of simulated miners of API 2 firmware (1.4.x, 2.0.x, 2024; pyasic's ``stop_mining`` speaks
API 2) on loopback addresses (port 4028, so pyasic finds them without port options). Each contender
starts from a mining fleet and stops it:

* ``curtail``: ``ansible-playbook hashfarm.whatsminer.curtail -e whatsminer_curtail=true``
  (``whatsminer_fleet_power``, one task, 100 miners at a time);
* ``power``: ``ansible-playbook hashfarm.whatsminer.power -e whatsminer_mining=false`` with one batch
  of every miner and no pause (per-host tasks, ``-f 20``);
* ``pyasic``: ``get_miner`` then ``stop_mining`` for every miner with ``asyncio.gather``, at most
  PYASIC_CONCURRENCY miners at a time, with the fleet's admin password set in pyasic's settings
  (``default_whatsminer_rpc_password``) and its detection timeout (``factory_get_timeout``) raised
  to PYASIC_FACTORY_TIMEOUT_S. Without the bound, pyasic's detection (``get_miner`` probes every
  address over HTTP, HTTPS and two API requests at once, each under a 3 s timeout) times out for
  most miners of a large fleet on 2 cores and returns ``None`` for them, so no stop is sent: that
  is why an unbounded run sent no stop at 1000 miners. A miner pyasic still does not detect is
  counted, and the row says so.

Measured from the simulator's side, the same way for all three: from the first request any miner
received (the start of the work) until every miner had received its stop command, and until the
fleet's true summed draw (``GET /draw``, sampled every 0.1 s) fell below TARGET_SHARE of where it
started; plus the wall time of the whole process. Then two resumes with the curtail playbook at a
ramp limit: one with a fact cache (``jsonfile``), so the resume knows each miner's draw before the
curtailment (the documented setup), and one without, where each miner's increase is estimated by
its power limit (an upper bound). For each: the rise, the rate reached through the middle of the
rise (25 % to 75 %) as a share of the limit (known to two sampling intervals over that window, its
resolution), and the largest excess of the sampled draw over ``limit * (t - the resume task's
first request)`` (0 = never above the limit). The target is met when the rate is 95 % to 100 % of
the limit (the upper end within the resolution) and the excess is 0.

    .venv/bin/python tools/bench_curtail.py [--miners 1000]   # this row alone
    .venv/bin/python tools/bench.py --curtail only            # the same, through make bench's entry point
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from fleet import control_request, running_fleet
from staging import BUILD, COLLECTION_ROOT, REPO, stage_collection

IPS_BASE = "127.22.0.1"
PASSWORD = "admin"
TARGET_SHARE = 0.10
RAMP_KW_PER_MINUTE = 2000.0
STOP_COMMANDS = ("power_off",)
RESUME_COMMANDS = ("power_on",)
CONTROL_THREADS = 16
#: The simulated boot ramp of each miner's draw (short, so the resume's own ramp limit is what shows).
HASHING_RAMP_S = 2.0
CHILD_TIMEOUT_S = 1800
MINERS = 1000
QUICK_MINERS = 40
CONTENDERS = ("curtail", "pyasic", "power")  # the two fast ones back to back, under the same load
PYASIC_CONCURRENCY = 50
PYASIC_FACTORY_TIMEOUT_S = 10
#: The part of the resume's rise whose rate is measured: the middle, where every miner's own boot
#: ramp (HASHING_RAMP_S) has started and none has ended the fleet's rise (at the ends the boot
#: ramps round the curve off whatever the schedule does).
RAMP_WINDOW = (0.25, 0.75)
#: Targets of issue 19.
TARGET_COMMANDED_S = 3.0
RAMP_SHARE_RANGE = (0.95, 1.0)

PYASIC_STOP = r"""
import asyncio, json
from pyasic import get_miner, settings
settings.update("default_whatsminer_rpc_password", PASSWORD)
settings.update("factory_get_timeout", FACTORY_TIMEOUT_S)
async def main():
    gate = asyncio.Semaphore(CONCURRENCY)
    async def one(ip):
        async with gate:
            miner = await get_miner(ip)
            return None if miner is None else await miner.stop_mining()
    results = await asyncio.gather(*[one(ip) for ip in IPS], return_exceptions=True)
    print(json.dumps({"found": sum(result is not None for result in results), "stopped": sum(result is True for result in results),
                      "errors": sorted({repr(result)[:120] for result in results if isinstance(result, BaseException)})}))
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


def measure_contender(fleet: dict, name: str, command: list[str], env: dict[str, str]) -> dict[str, Any]:
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
    row: dict[str, Any] = {"contender": name, "process_wall_s": round(wall, 2), "miners": len(entries)}
    if name == "pyasic":
        row["pyasic"] = json.loads(output.strip().splitlines()[-1])
    if not times:
        return {**row, "commanded": 0, "all_commanded_s": None, "draw_below_target_s": None, "output": output}
    first = min(times)
    stops = [max((entry["wall"] for entry in log if entry["command"] in STOP_COMMANDS), default=None) for log in entries]
    start_draw = sampler.samples[0][1]
    below = next((at for at, total in sampler.samples if at >= first and total < start_draw * TARGET_SHARE), None)
    return {
        **row,
        "commanded": sum(stop is not None for stop in stops),
        "all_commanded_s": round(max(stop for stop in stops if stop is not None) - first, 2) if all(stops) else None,
        "draw_below_target_s": round(below - first, 2) if below else None,
        "draw_w": {"start": start_draw, "end": sampler.samples[-1][1]},
    }


def measure_ramp(fleet: dict, env: dict[str, str], playbook: list[str], label: str) -> dict[str, Any]:
    """Resume the curtailed fleet at RAMP_KW_PER_MINUTE; the rate it reached and how far the sampled draw ran ahead of the limit."""
    sampler = DrawSampler(fleet)
    sampler.start()
    time.sleep(0.3)
    resume = [*playbook, "-e", "whatsminer_curtail=false", "-e", f"whatsminer_ramp_kw_per_minute={RAMP_KW_PER_MINUTE}", "-e", "whatsminer_deadline_s=1800"]
    started = time.time()
    wall, _output = run_process(resume, env)
    time.sleep(HASHING_RAMP_S + 1.0)
    sampler.done.set()
    sampler.join()
    entries = [entry for log in logs(fleet) for entry in log if entry["wall"] >= started]
    resumes = [entry["wall"] for entry in entries if entry["command"] in RESUME_COMMANDS]
    limit_w_per_s = RAMP_KW_PER_MINUTE * 1000.0 / 60.0
    first = min(entry["wall"] for entry in entries)  # the resume task's first request (its plan reads)
    base = max(total for at, total in sampler.samples if at <= first)
    last = sampler.samples[-1][1]
    excess = max(total - base - limit_w_per_s * (at - first) for at, total in sampler.samples if at >= first)
    low, high = (next((at for at, total in sampler.samples if total >= base + share * (last - base)), None) for share in RAMP_WINDOW)
    rate = (RAMP_WINDOW[1] - RAMP_WINDOW[0]) * (last - base) / (high - low) if low and high and high > low else None
    # Each crossing time is known to one sampling interval: the rate's resolution is two of them over the window.
    times = [at for at, _total in sampler.samples]
    gaps = [later - earlier for earlier, later in zip(times, times[1:]) if low and high and low <= later <= high]
    resolution = 2.0 * max(gaps) / (high - low) if gaps and rate else None
    return {"estimate": label, "process_wall_s": round(wall, 2), "limit_kw_per_minute": RAMP_KW_PER_MINUTE, "resumed": len(resumes),
            "rise_kw": round((last - base) / 1000.0, 1), "achieved_kw_per_minute": round(rate * 60.0 / 1000.0, 1) if rate else None,
            "achieved_share": round(rate / limit_w_per_s, 3) if rate else None,
            "share_resolution": round(resolution, 3) if resolution else None,
            "largest_excess_w": round(max(0.0, excess), 1)}


def measure(output: Path, miners: int = MINERS, contenders: tuple[str, ...] = CONTENDERS) -> dict[str, Any]:
    """Run the demand-response row; print it; write ``curtail-results.json`` to ``output``; return the results."""
    workdir = BUILD / "bench-curtail"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTION_ROOT), ANSIBLE_INJECT_FACT_VARS="false", ANSIBLE_HOST_KEY_CHECKING="false")
    env.pop("PYTHONPATH", None)
    fact_cache = workdir / "fact-cache"
    cached_env = dict(env, ANSIBLE_CACHE_PLUGIN="jsonfile", ANSIBLE_CACHE_PLUGIN_CONNECTION=str(fact_cache), ANSIBLE_CACHE_PLUGIN_TIMEOUT="86400")
    bin_dir = Path(sys.executable).parent
    fleet_args = ("--count", str(miners), "--profiles", "mixed", "--address-mode", "ips", "--ips-base", IPS_BASE,
                  "--password", PASSWORD, "--restart-seconds", "1")
    results: dict[str, Any] = {"miners": miners, "load_at_start": os.getloadavg(), "contenders": [], "ramps": []}
    print(f"==> demand response: {miners} simulated API 2 miners; curtail playbook, per-host power playbook, pyasic; then two resume ramps", flush=True)
    with running_fleet(workdir / "fleet", *fleet_args, lifetime=CHILD_TIMEOUT_S * 3) as fleet:
        inventory = str(workdir / "fleet" / "inventory.yml")
        # The API each miner speaks is known, as in an inventory from discovery (whatsminer_api_version):
        # the playbooks skip the per-miner API probe, as a farm's would.
        known_api = ("-e", "whatsminer_api_version=2")
        curtail = [str(bin_dir / "ansible-playbook"), "-i", inventory, "hashfarm.whatsminer.curtail", "-e", f"whatsminer_password={PASSWORD}",
                   "-e", "whatsminer_concurrency=100", "-e", "whatsminer_deadline_s=600", *known_api]
        pyasic = (f"IPS = {[miner['host'] for miner in fleet['miners']]!r}\nPASSWORD = {PASSWORD!r}\nCONCURRENCY = {PYASIC_CONCURRENCY}\n"
                  f"FACTORY_TIMEOUT_S = {PYASIC_FACTORY_TIMEOUT_S}\n")
        commands = {
            "curtail": [*curtail, "-e", "whatsminer_curtail=true"],
            "power": [str(bin_dir / "ansible-playbook"), "-i", inventory, "hashfarm.whatsminer.power", "-f", "20", "-e", f"whatsminer_password={PASSWORD}",
                      "-e", "whatsminer_mining=false", "-e", "whatsminer_batch_size=100%", "-e", "whatsminer_batch_pause_s=0", *known_api],
            "pyasic": [sys.executable, "-c", pyasic + PYASIC_STOP],
        }
        for name in contenders:
            results["contenders"].append(measure_contender(fleet, name, commands[name], env))
            print("    " + json.dumps(results["contenders"][-1]), flush=True)
        if "curtail" in contenders:
            shutil.rmtree(fact_cache, ignore_errors=True)
            reset_mining(fleet)
            run_process(commands["curtail"], cached_env)  # curtailed again, each miner's draw before it kept in the fact cache
            results["ramps"].append(measure_ramp(fleet, cached_env, curtail, "draw before the curtailment (fact cache)"))
            print("    " + json.dumps(results["ramps"][-1]), flush=True)
            run_process(commands["curtail"], env)
            results["ramps"].append(measure_ramp(fleet, env, curtail, "power limit (no fact cache)"))
            print("    " + json.dumps(results["ramps"][-1]), flush=True)
    results["load_at_end"] = os.getloadavg()
    results["verdicts"] = verdicts(results)
    output.mkdir(parents=True, exist_ok=True)
    (output / "curtail-results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(table(results), flush=True)
    return results


def verdicts(results: dict[str, Any]) -> dict[str, bool]:
    """The targets of issue 19 that this run can judge."""
    rows = {row["contender"]: row for row in results["contenders"]}
    judged: dict[str, bool] = {}
    ours = rows.get("curtail")
    if ours:
        judged[f"every miner commanded within {TARGET_COMMANDED_S:g} s"] = (ours["all_commanded_s"] or float("inf")) <= TARGET_COMMANDED_S
        pyasic = rows.get("pyasic")
        if pyasic and pyasic["all_commanded_s"] is not None:
            judged["faster than pyasic"] = (ours["all_commanded_s"] or float("inf")) < pyasic["all_commanded_s"]
    if results["ramps"]:
        ramp = results["ramps"][0]
        low, high = RAMP_SHARE_RANGE
        judged[f"resume at {low:.0%} to {high:.0%} of the ramp limit, never above"] = (
            ramp["achieved_share"] is not None and low <= ramp["achieved_share"] <= high + (ramp["share_resolution"] or 0.0) and ramp["largest_excess_w"] == 0)
    return judged


def table(results: dict[str, Any]) -> str:
    """The row as text."""
    lines = [f"demand response, {results['miners']} simulated miners; load average {results['load_at_start'][0]:.1f} before, "
             f"{results['load_at_end'][0]:.1f} after",
             f"{'contender':10} {'commanded':>10} {'all commanded s':>16} {'draw < 10 % s':>14} {'process wall s':>15}"]
    for row in results["contenders"]:
        all_s = "-" if row["all_commanded_s"] is None else f"{row['all_commanded_s']:.2f}"
        below = "-" if row["draw_below_target_s"] is None else f"{row['draw_below_target_s']:.2f}"
        lines.append(f"{row['contender']:10} {row['commanded']:>4} of {row['miners']:<4} {all_s:>16} {below:>14} {row['process_wall_s']:15.2f}")
        if row["contender"] == "pyasic" and row["pyasic"]["stopped"] < row["miners"]:
            lines.append(f"    pyasic detected {row['pyasic']['found']} of {row['miners']} miners (get_miner returned None for the others: its "
                         f"detection timed out) and stopped {row['pyasic']['stopped']}; errors: {row['pyasic']['errors'] or 'none'}")
    for ramp in results["ramps"]:
        share = "-" if ramp["achieved_share"] is None else f"{ramp['achieved_share']:.1%}"
        lines.append(f"resume at {ramp['limit_kw_per_minute']:g} kW/min, estimate = {ramp['estimate']}: rise {ramp['rise_kw']} kW, "
                     f"reached {ramp['achieved_kw_per_minute']} kW/min ({share} of the limit, measured to +-{ramp['share_resolution'] or 0:.1%}), "
                     f"largest excess over the limit "
                     f"{ramp['largest_excess_w']} W, process {ramp['process_wall_s']} s")
    lines.append("targets: " + "; ".join(f"{name}: {'met' if met else 'NOT MET'}" for name, met in results["verdicts"].items()))
    return "\n".join(lines)


def main() -> int:
    """Run the row alone."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--miners", type=int, default=MINERS)
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results")
    options = parser.parse_args()
    stage_collection()
    results = measure(options.output.resolve(), options.miners, tuple(options.contenders.split(",")))
    return 0 if all(results["verdicts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
