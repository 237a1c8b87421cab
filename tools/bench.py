"""make bench: what the collection costs the Ansible controller, over simulated fleets of miners.

For each fleet size (default 100, 500 and 1000 simulated miners, each on its own loopback address)
the benchmark starts a fleet and runs, at the given forks (default 50):

(a) ``ping``     ansible.builtin.ping: the per-task floor of any module (a Python process per host);
(b) ``debug``    ansible.builtin.debug: the per-task floor of any action plugin (no process);
then for each execution path (``-e whatsminer_execution=auto`` and ``=module``):
(c) ``facts``    whatsminer_facts, every subset;
(d) ``converge`` whatsminer_pools + whatsminer_power on a fleet whose pools and power mode all
                 differ (set through the simulator's control API first, so both modules write);
(e) ``rerun``    the same playbook again: the idempotent run, which must change nothing.

Each measurement records its wall time, milliseconds per host and task, the controller's CPU time
(user + system of ansible-playbook and every process below it), its peak memory (the sum of the
proportional set size, PSS, of the ansible-playbook process tree, sampled while it runs), and from
the simulator's counters the connections and API tokens per miner. Every figure is also given as a
ratio to (a) and (b) of the same fleet in the same run. The results go to ``bench/results/``:
``bench-results.json``, ``bench-results.md`` (the table) and ``bench-chart.png``; the last lines
printed are the verdicts on the targets of issue 6 (see docs/performance.md).

The miners' btminer restart (after a power mode change) is shortened to 0.3 s, so that the figures
show the controller, not the miner; real miners take much longer, which only adds waiting time.

    .venv/bin/python tools/bench.py                 # what make bench runs: 100, 500 and 1000 miners
    .venv/bin/python tools/bench.py --quick         # 10 and 20 miners, about a minute
    .venv/bin/python tools/bench.py --sizes 200 --paths auto --strategies linear,free
    .venv/bin/python tools/bench.py --discovery only  # the discovery row alone (tools/bench_discovery.py)
    .venv/bin/python tools/bench.py --curtail only    # the demand-response row alone (tools/bench_curtail.py)

Then the discovery row (tools/bench_discovery.py): the inventory plugin's scan of a /22 holding 1000
simulated miners and odd devices, against pyasic's scan of the same network in the same run.
Last, the demand-response row (tools/bench_curtail.py): curtailing 1000 simulated miners (40 with
--quick) with the curtail playbook, the per-host power playbook and pyasic's stop_mining, and two
resumes under a ramp limit.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import datetime
import json
import math
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import bench_curtail
import bench_discovery
from fleet import control_request, running_fleet
from staging import BUILD, COLLECTION_ROOT, REPO, STAGED, stage_collection

BENCH_DIR = REPO / "bench"
PLAYBOOKS = BENCH_DIR / "playbooks"
CALLBACK_PLUGINS = BENCH_DIR / "callback_plugins"
DEFAULT_OUTPUT = BENCH_DIR / "results"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"

FULL_SIZES = (100, 500, 1000)
QUICK_SIZES = (10, 20)
DEFAULT_FORKS = (50,)
EXECUTION_PATHS = ("auto", "module")
STRATEGIES = ("linear", "free")

#: btminer restart window of the simulated miners, seconds (the CLI default is 3; real miners take longer).
MINER_RESTART_SECONDS = 0.3
#: How often the memory of the ansible-playbook process tree is sampled, seconds.
PSS_SAMPLE_SECONDS = 0.2
#: Parallel requests to the simulator's control API when making the fleet differ.
CONTROL_API_THREADS = 8

#: The state that the converge playbook (bench/playbooks/converge.yml) wants, and the different
#: state every miner gets first so that both modules must write.
WANTED_POOL_URL = "stratum+tcp://btc.bench.example:3333"
WANTED_POWER_MODE = "normal"
DIFFERING_POWER_MODE = "low"

#: whatsminer_power reads a miner again 0.5 s after a mode change (FIRST_POLL_INTERVAL of _power.py), so
#: the converge run's Power task holds each fork that long at least, whatever the controller does.
POWER_FIRST_POLL_SECONDS = 0.5

#: Targets of issue 6, reported (never asserted).
SPEEDUP_TARGET = 5.0
PER_TASK_TARGET = 2.0
MEMORY_TARGET = 1.0


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One playbook run of the benchmark."""

    name: str
    playbook: str
    tasks: int
    per_path: bool  # run once per execution path (-e whatsminer_execution=...)
    what: str
    make_fleet_differ: bool = False  # reset every miner, then give it other pools and power mode
    expect_changed: bool | None = None  # True: every host-task changed; False: none; None: not checked


MEASUREMENTS = (
    Measurement("ping", "ping.yml", 1, False, "(a) ansible.builtin.ping: floor of a module"),
    Measurement("debug", "debug.yml", 1, False, "(b) ansible.builtin.debug: floor of an action plugin"),
    Measurement("facts", "facts.yml", 1, True, "(c) whatsminer_facts, every subset"),
    Measurement("converge", "converge.yml", 2, True, "(d) whatsminer_pools + whatsminer_power, every miner differs", True, True),
    Measurement("rerun", "converge.yml", 2, True, "(e) the same again: idempotent re-run", False, False),
)
BASELINES = ("ping", "debug")


@dataclasses.dataclass
class Result:  # pylint: disable=too-many-instance-attributes
    """The figures of one measurement."""

    size: int
    forks: int
    strategy: str
    path: str  # "auto", "module" or "-" for the baselines (a) and (b)
    measurement: str
    tasks: int
    exit_code: int
    wall_s: float
    cpu_s: float
    main_process_cpu_s: float  # ansible-playbook's own CPU, without its workers and modules (last sample)
    peak_pss_mib: float
    memory_samples: int
    task_seconds: dict[str, float]
    connections_per_host: float
    requests_per_host: float
    tokens_per_host: float
    simulator_cpu_s: float
    others_cores: float  # CPU the rest of the machine used meanwhile (other users' runs), in cores
    hosts_reported: int
    changed: int
    failed: int
    unreachable: int
    converged_miners: int | None
    failures: list[dict]
    ratios: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def host_tasks(self) -> int:
        """Hosts times tasks: how many times a task ran on a host."""
        return self.size * self.tasks

    @property
    def ms_per_host_task(self) -> float:
        """Wall milliseconds per host and task (the whole run, ansible-playbook's start included)."""
        return 1000.0 * self.wall_s / self.host_tasks

    @property
    def cpu_ms_per_host_task(self) -> float:
        """Controller CPU milliseconds per host and task."""
        return 1000.0 * self.cpu_s / self.host_tasks

    @property
    def healthy(self) -> bool:
        """No failure, and the changes the measurement expects."""
        expected = next(item.expect_changed for item in MEASUREMENTS if item.name == self.measurement)
        if self.failed or self.unreachable or self.hosts_reported != self.size:
            return False
        if expected is True:
            return self.changed == self.host_tasks and self.converged_miners == self.size
        if expected is False:
            return self.changed == 0
        return True

    def as_dict(self) -> dict[str, Any]:
        """JSON form, with the derived figures."""
        data = dataclasses.asdict(self)
        data.update(host_tasks=self.host_tasks, ms_per_host_task=round(self.ms_per_host_task, 3),
                    cpu_ms_per_host_task=round(self.cpu_ms_per_host_task, 3), healthy=self.healthy)
        return data


# --- the controller's process tree ------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it (from /proc, read once)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may contain spaces and parentheses.
        parent = int(stat[stat.rfind(")") + 2:].split()[1])
        children.setdefault(parent, []).append(int(entry))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, ()))
    return tree


def pss_kib(pid: int) -> int:
    """Proportional set size of one process in KiB (0 when it has already gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class MemorySampler(threading.Thread):
    """Samples the summed PSS of a process tree until stopped; keeps the peak.

    It also keeps the CPU time of the root process alone (ansible-playbook without its workers) as
    last seen, which tells how much of the controller's CPU the one process that schedules the
    tasks and collects the results uses.
    """

    def __init__(self, root: int) -> None:
        super().__init__(name="pss-sampler", daemon=True)
        self.root = root
        self.peak_kib = 0
        self.samples = 0
        self.root_cpu_s = 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        """Sample every PSS_SAMPLE_SECONDS."""
        while not self._stop_event.is_set():
            total = sum(pss_kib(pid) for pid in process_tree(self.root))
            self.peak_kib = max(self.peak_kib, total)
            self.root_cpu_s = max(self.root_cpu_s, cpu_seconds_of(self.root))
            self.samples += 1
            self._stop_event.wait(PSS_SAMPLE_SECONDS)

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop_event.set()
        self.join()


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU seconds a running process has used so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # Fields 14 and 15 of proc(5) (utime, stime), counted after the ")" of comm from field 3 on.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy since boot, summed over its cores (/proc/stat)."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


# --- the simulator's control API (tools/fleet.py: control_request) -----------------------------


def fleet_miners(fleet: dict) -> dict[str, dict]:
    """Every miner of the fleet (true state, counters), by name."""
    return {miner["name"]: miner for miner in control_request(fleet, "/miners")["miners"]}


def make_fleet_differ(fleet: dict) -> None:
    """Reset every miner, then give it other pools and another power mode than converge.yml wants."""
    def differ(name: str) -> None:
        control_request(fleet, f"/miners/{name}/reset", "POST", {})
        control_request(fleet, f"/miners/{name}", "PATCH", {"state": {
            "pools": [{"url": "stratum+tcp://old.bench.example:3333", "user": f"old.{name}", "password": "x"}],
            "power_mode": DIFFERING_POWER_MODE,
        }})

    with concurrent.futures.ThreadPoolExecutor(CONTROL_API_THREADS) as pool:
        list(pool.map(differ, [miner["name"] for miner in fleet["miners"]]))


def counter_deltas(before: dict[str, dict], after: dict[str, dict]) -> dict[str, int]:
    """Sum over the fleet of how much each traffic counter grew."""
    totals: dict[str, int] = {}
    for name, miner in after.items():
        for counter, value in miner["counters"].items():
            totals[counter] = totals.get(counter, 0) + value - before[name]["counters"].get(counter, 0)
    return totals


def converged(miners: dict[str, dict]) -> int:
    """How many miners truly show the pools and power mode converge.yml wants."""
    return sum(1 for miner in miners.values()
               if miner["state"]["pools"][0]["url"] == WANTED_POOL_URL and miner["state"]["power_mode"] == WANTED_POWER_MODE)


# --- running one measurement --------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """Where and how the measurements of one fleet run."""

    fleet: dict
    workdir: Path
    forks: int
    strategy: str
    timeout_s: float

    @property
    def inventory(self) -> Path:
        """The inventory the simulator wrote."""
        return self.workdir / "inventory.yml"

    def environment(self, summary_file: Path) -> dict[str, str]:
        """ansible-playbook's environment: the staged collection, the quiet callback, no fact injection."""
        return dict(
            os.environ,
            ANSIBLE_COLLECTIONS_PATH=str(COLLECTION_ROOT),
            ANSIBLE_CALLBACK_PLUGINS=str(CALLBACK_PLUGINS),
            ANSIBLE_STDOUT_CALLBACK="bench_summary",
            BENCH_SUMMARY_FILE=str(summary_file),
            ANSIBLE_INJECT_FACT_VARS="false",
            ANSIBLE_FORKS=str(self.forks),
            ANSIBLE_STRATEGY=self.strategy,
            ANSIBLE_HOST_KEY_CHECKING="false",
            ANSIBLE_RETRY_FILES_ENABLED="false",
            ANSIBLE_DEPRECATION_WARNINGS="false",
            ANSIBLE_LOCAL_TEMP=str(self.workdir / "ansible-local-tmp"),
        )


def run_measurement(run: Run, measurement: Measurement, path: str) -> Result:
    """Run one measurement's playbook against the fleet and collect its figures."""
    size = len(run.fleet["miners"])
    label = f"{measurement.name}-{path}-{run.strategy}-f{run.forks}"
    summary_file = run.workdir / f"{label}.summary.json"
    summary_file.unlink(missing_ok=True)
    if measurement.make_fleet_differ:
        make_fleet_differ(run.fleet)
    command = [str(ANSIBLE_PLAYBOOK), "-i", str(run.inventory), str(PLAYBOOKS / measurement.playbook)]
    if measurement.per_path:
        command += ["-e", f"whatsminer_execution={path}"]
    before = fleet_miners(run.fleet)
    simulator_cpu_before = cpu_seconds_of(run.fleet["pid"])
    busy_before = machine_busy_seconds()

    with open(run.workdir / f"{label}.log", "w", encoding="utf-8") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=run.environment(summary_file), stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        sampler = MemorySampler(process.pid)
        sampler.start()
        watchdog = threading.Timer(run.timeout_s, os.killpg, (process.pid, signal.SIGKILL))
        watchdog.start()
        # wait4 returns the resource usage of ansible-playbook and of every descendant it waited for.
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        busy = machine_busy_seconds() - busy_before
        watchdog.cancel()
        sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
    controller_cpu = usage.ru_utime + usage.ru_stime
    simulator_cpu = cpu_seconds_of(run.fleet["pid"]) - simulator_cpu_before

    after = fleet_miners(run.fleet)
    deltas = counter_deltas(before, after)
    summary = json.loads(summary_file.read_text(encoding="utf-8")) if summary_file.exists() else {"tasks": [], "totals": {}, "hosts": 0, "failures": []}
    tasks = summary["tasks"]
    return Result(
        size=size, forks=run.forks, strategy=run.strategy, path=path if measurement.per_path else "-",
        measurement=measurement.name, tasks=measurement.tasks, exit_code=process.returncode,
        wall_s=round(wall, 3), cpu_s=round(controller_cpu, 3), main_process_cpu_s=round(sampler.root_cpu_s, 2),
        peak_pss_mib=round(sampler.peak_kib / 1024, 1), memory_samples=sampler.samples,
        task_seconds={task["name"]: task["seconds"] for task in tasks},
        connections_per_host=round(deltas.get("connections", 0) / size, 2),
        requests_per_host=round(deltas.get("requests", 0) / size, 2),
        tokens_per_host=round(deltas.get("tokens_issued", 0) / size, 2),
        simulator_cpu_s=round(simulator_cpu, 2),
        # What neither ansible-playbook nor the simulator used (the sampler's own share is small).
        others_cores=round(max(0.0, busy - controller_cpu - simulator_cpu) / wall, 2),
        hosts_reported=summary["hosts"],
        changed=sum(task["changed"] for task in tasks),
        failed=sum(task["failed"] for task in tasks),
        unreachable=sum(task["unreachable"] for task in tasks),
        converged_miners=converged(after) if measurement.expect_changed is not None else None,
        failures=summary["failures"],
    )


def measure_fleet(size: int, options: argparse.Namespace, output: Path) -> list[Result]:
    """Start a fleet of ``size`` miners and run every measurement against it."""
    workdir = output / f"fleet-{size}"
    runs_per_fleet = len(options.forks) * len(options.strategies) * (len(BASELINES) + 3 * len(options.paths))
    # Generous bounds: a playbook rarely takes more than 0.2 s per host on 2 cores.
    timeout_s = 300 + 3.0 * size
    lifetime = int(120 + runs_per_fleet * timeout_s)
    arguments = ["--count", str(size), "--profiles", "mixed", "--address-mode", "ips", "--port", str(options.miner_port),
                 "--restart-seconds", str(MINER_RESTART_SECONDS)]
    print(f"==> {size} simulated miners (mixed firmware, one loopback address each)", flush=True)
    results = []
    with running_fleet(workdir, *arguments, lifetime=lifetime) as fleet:
        for forks in options.forks:
            for strategy in options.strategies:
                run = Run(fleet=fleet, workdir=workdir, forks=forks, strategy=strategy, timeout_s=timeout_s)
                for measurement in MEASUREMENTS:
                    for path in options.paths if measurement.per_path else ("-",):
                        result = run_measurement(run, measurement, path)
                        results.append(result)
                        print_progress(result)
    return results


def print_progress(result: Result) -> None:
    """One line per measurement while the benchmark runs."""
    health = "ok" if result.healthy else f"PROBLEM: exit {result.exit_code}, {result.failed} failed, {result.unreachable} unreachable, {result.changed} changed"
    print(f"    {result.size:>5} f{result.forks} {result.strategy:<6} {result.path:<6} {result.measurement:<8} "
          f"{result.wall_s:8.2f} s wall {result.ms_per_host_task:7.2f} ms/host-task {result.cpu_s:8.2f} s CPU "
          f"({result.main_process_cpu_s:.1f} s in ansible-playbook itself) "
          f"{result.peak_pss_mib:8.1f} MiB  others {result.others_cores:.2f} cores  {health}", flush=True)
    for failure in result.failures[:2]:
        print(f"        {failure['host']} / {failure['task']}: {failure['msg'][:300]}", flush=True)


# --- ratios, verdicts, output -------------------------------------------------------------------


def baseline(results: list[Result], result: Result, name: str) -> Result | None:
    """The baseline measurement ``name`` of the same fleet, forks and strategy."""
    return next((item for item in results if item.measurement == name and item.size == result.size
                 and item.forks == result.forks and item.strategy == result.strategy), None)


def add_ratios(results: list[Result]) -> None:
    """Each figure as a ratio to (a) ping and (b) debug of the same fleet, forks and strategy."""
    for result in results:
        for name in BASELINES:
            base = baseline(results, result, name)
            if base is None:
                continue
            result.ratios[f"wall_vs_{name}"] = round(result.ms_per_host_task / base.ms_per_host_task, 2)
            result.ratios[f"cpu_vs_{name}"] = round(result.cpu_ms_per_host_task / base.cpu_ms_per_host_task, 2)
            result.ratios[f"memory_vs_{name}"] = round(result.peak_pss_mib / base.peak_pss_mib, 2)


def find(results: list[Result], size: int, forks: int, strategy: str, path: str, name: str) -> Result | None:
    """One measurement, if it ran."""
    return next((item for item in results if (item.size, item.forks, item.strategy, item.path, item.measurement)
                 == (size, forks, strategy, path, name)), None)


def path_verdicts(results: list[Result], where: tuple[int, int, str], path: str, ping: Result, debug: Result) -> dict[str, dict]:
    """The three targets for one execution path: speed, per-task cost and memory."""
    size = where[0]
    facts, converge = find(results, *where, path, "facts"), find(results, *where, path, "converge")
    judged: dict[str, dict] = {}
    if facts and converge:
        speedup = 3 * ping.wall_s / (facts.wall_s + converge.wall_s)
        cpu_speedup = 3 * ping.cpu_s / (facts.cpu_s + converge.cpu_s)
        judged["speed"] = {"value": round(speedup, 2), "met": speedup >= SPEEDUP_TARGET, "cpu_value": round(cpu_speedup, 2), "text": (
            f"facts + pools + power took {facts.wall_s + converge.wall_s:.1f} s, three ping tasks {3 * ping.wall_s:.1f} s: "
            f"{speedup:.2f}x faster (target >= {SPEEDUP_TARGET:g}x); in controller CPU {cpu_speedup:.2f}x")}
    debug_ms = 1000.0 * debug.task_seconds.get("Debug", debug.wall_s) / size
    task_ratios: dict[str, float] = {}
    cpu_ratios: dict[str, float] = {}
    memory_ratios: dict[str, float] = {}
    for name in ("facts", "converge", "rerun"):
        result = find(results, *where, path, name)
        if result is None:
            continue
        for task, seconds in result.task_seconds.items():
            task_ratios[f"{name}/{task}"] = (1000.0 * seconds / size) / debug_ms
        cpu_ratios[name] = result.cpu_ms_per_host_task / debug.cpu_ms_per_host_task
        memory_ratios[name] = result.peak_pss_mib / ping.peak_pss_mib
    if task_ratios:
        worst = max(task_ratios, key=task_ratios.__getitem__)
        wait_floor_ms = 1000.0 * POWER_FIRST_POLL_SECONDS * math.ceil(size / where[1]) / size
        judged["per-task"] = {"value": round(task_ratios[worst], 2), "met": task_ratios[worst] <= PER_TASK_TARGET, "text": (
            f"per-task cost vs debug ({debug_ms:.2f} ms per host): "
            + ", ".join(f"{task} {ratio:.2f}x" for task, ratio in task_ratios.items())
            + f"; worst {worst} (target <= {PER_TASK_TARGET:g}x each; converge/Power includes >= {wait_floor_ms:.1f} ms per host "
            f"of waiting for the miners' restart); controller CPU per host-task vs debug: "
            + ", ".join(f"{name} {ratio:.2f}x" for name, ratio in cpu_ratios.items()))}
    if memory_ratios:
        worst = max(memory_ratios, key=memory_ratios.__getitem__)
        judged["memory"] = {"value": round(memory_ratios[worst], 2), "met": memory_ratios[worst] <= MEMORY_TARGET, "text": (
            f"peak memory vs ping ({ping.peak_pss_mib:.0f} MiB): "
            + ", ".join(f"{name} {ratio:.2f}x" for name, ratio in memory_ratios.items())
            + f"; worst {worst} (target <= {MEMORY_TARGET:g}x)")}
    return judged


def verdicts(results: list[Result], options: argparse.Namespace) -> list[dict]:
    """The targets of issue 6, judged at the largest fleet, the first forks value and linear (if it ran).

    The targets are about the in-process path (``auto``); the other paths are given for comparison.
    """
    strategy = "linear" if "linear" in options.strategies else options.strategies[0]
    where = (max(options.sizes), options.forks[0], strategy)
    ping, debug = find(results, *where, "-", "ping"), find(results, *where, "-", "debug")
    if ping is None or debug is None:
        return []
    judged_path = "auto" if "auto" in options.paths else options.paths[0]
    by_path = {path: path_verdicts(results, where, path, ping, debug) for path in options.paths}
    lines = []
    for target, judged in by_path[judged_path].items():
        others = {path: by_path[path][target]["value"] for path in options.paths if path != judged_path and target in by_path[path]}
        lines.append({"target": target, "path": judged_path, **judged, "other_paths": others,
                      "where": f"{where[0]} miners, forks {where[1]}, {where[2]}"})
    return lines


TABLE_COLUMNS = (
    ("miners", lambda r: str(r.size)),
    ("forks", lambda r: str(r.forks)),
    ("strategy", lambda r: r.strategy),
    ("path", lambda r: r.path),
    ("measurement", lambda r: r.measurement),
    ("wall s", lambda r: f"{r.wall_s:.1f}"),
    ("ms/host-task", lambda r: f"{r.ms_per_host_task:.1f}"),
    ("x ping", lambda r: f"{r.ratios.get('wall_vs_ping', 0):.2f}"),
    ("x debug", lambda r: f"{r.ratios.get('wall_vs_debug', 0):.2f}"),
    ("CPU s", lambda r: f"{r.cpu_s:.1f}"),
    ("CPU x ping", lambda r: f"{r.ratios.get('cpu_vs_ping', 0):.2f}"),
    ("CPU x debug", lambda r: f"{r.ratios.get('cpu_vs_debug', 0):.2f}"),
    ("peak MiB", lambda r: f"{r.peak_pss_mib:.0f}"),
    ("mem x ping", lambda r: f"{r.ratios.get('memory_vs_ping', 0):.2f}"),
    ("mem x debug", lambda r: f"{r.ratios.get('memory_vs_debug', 0):.2f}"),
    ("conn/host", lambda r: f"{r.connections_per_host:g}"),
    ("tokens/host", lambda r: f"{r.tokens_per_host:g}"),
    ("changed", lambda r: str(r.changed)),
    ("ok", lambda r: "yes" if r.healthy else "NO"),
)


def table_rows(results: list[Result], options: argparse.Namespace) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the results table; the forks and strategy columns only when they vary."""
    hidden = set()
    if len(options.forks) == 1:
        hidden.add("forks")
    if len(options.strategies) == 1:
        hidden.add("strategy")
    columns = [(title, cell) for title, cell in TABLE_COLUMNS if title not in hidden]
    return [title for title, _cell in columns], [[cell(result) for _title, cell in columns] for result in results]


def markdown_table(results: list[Result], options: argparse.Namespace) -> str:
    """The results as a Markdown table."""
    header, rows = table_rows(results, options)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " if i < 5 else " ---: " for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def text_table(results: list[Result], options: argparse.Namespace) -> str:
    """The results as an aligned plain-text table."""
    header, rows = table_rows(results, options)
    widths = [max(len(text) for text in column) for column in zip(header, *rows)]
    return "\n".join("  ".join(text.rjust(width) for text, width in zip(row, widths)) for row in [header, *rows]) + "\n"


def draw_chart(results: list[Result], options: argparse.Namespace, chart_file: Path) -> bool:
    """PNG chart: ms per host-task, CPU ms per host-task and peak memory against fleet size."""
    try:
        import matplotlib  # pylint: disable=import-outside-toplevel
        matplotlib.use("Agg")
        from matplotlib import pyplot  # pylint: disable=import-outside-toplevel
    except ImportError:
        print("    (matplotlib is not installed: no chart; make bench installs requirements/bench.txt)", flush=True)
        return False
    forks, strategy = options.forks[0], options.strategies[0]
    panels: tuple[tuple[str, Callable[[Result], float]], ...] = (
        ("wall ms per host and task", lambda r: r.ms_per_host_task),
        ("controller CPU ms per host and task", lambda r: r.cpu_ms_per_host_task),
        ("peak memory, MiB (PSS of the process tree)", lambda r: r.peak_pss_mib),
    )
    figure, axes = pyplot.subplots(1, len(panels), figsize=(17, 6))
    series = [("-", name) for name in BASELINES] + [(path, name) for path in options.paths for name in ("facts", "converge", "rerun")]
    for axis, (title, value) in zip(axes, panels):
        for execution_path, name in series:
            points = sorted((r.size, value(r)) for r in results
                            if r.path == execution_path and r.measurement == name and r.forks == forks and r.strategy == strategy)
            if not points:
                continue
            if execution_path == "-":
                style = {"linestyle": "--", "color": "black" if name == "ping" else "grey", "label": name}
            else:
                style = {"linestyle": "-" if execution_path == "auto" else ":", "marker": "o", "label": f"{name} ({execution_path})"}
            axis.plot([x for x, _y in points], [y for _x, y in points], **style)
        axis.set_title(title)
        axis.set_xlabel("simulated miners")
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize="small", frameon=False)
    figure.suptitle(f"hashfarm.whatsminer controller cost, forks {forks}, strategy {strategy}, {os.cpu_count()} cores")
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    figure.savefig(chart_file, dpi=100)
    pyplot.close(figure)
    return True


def machine_description() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    except OSError:
        pass
    version = subprocess.run([str(ANSIBLE_PLAYBOOK), "--version"], check=False, capture_output=True, text=True).stdout.splitlines()
    return {"cores": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "ansible": version[0] if version else "", "kernel": platform.release()}


def action_plugins_present() -> list[str]:
    """The collection's action plugins named like its modules (the in-process execution path)."""
    folder = STAGED / "plugins" / "action"
    return sorted(path.stem for path in folder.glob("whatsminer_*.py")) if folder.is_dir() else []


# --- entry point --------------------------------------------------------------------------------


def comma_list(kind: Callable[[str], Any], allowed: tuple | None = None) -> Callable[[str], list]:
    """argparse type: a comma-separated list of ``kind`` (limited to ``allowed``)."""
    def parse(text: str) -> list:
        values = [kind(item.strip()) for item in text.split(",") if item.strip()]
        if not values or (allowed and any(value not in allowed for value in values)):
            raise argparse.ArgumentTypeError(f"expected a comma list{' of ' + ', '.join(allowed) if allowed else ''}, got {text!r}")
        return values
    return parse


def parse_options(arguments: list[str] | None = None) -> argparse.Namespace:
    """Command line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=comma_list(int), default=list(FULL_SIZES), help="fleet sizes (default 100,500,1000)")
    parser.add_argument("--forks", type=comma_list(int), default=list(DEFAULT_FORKS), help="Ansible forks (default 50)")
    parser.add_argument("--paths", type=comma_list(str, EXECUTION_PATHS), default=list(EXECUTION_PATHS),
                        help="values of whatsminer_execution (default auto,module)")
    parser.add_argument("--strategies", type=comma_list(str, STRATEGIES), default=["linear"],
                        help="Ansible strategies (default linear; linear,free adds rows)")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: sizes {','.join(map(str, QUICK_SIZES))} (about a minute)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="results folder (default bench/results/)")
    parser.add_argument("--discovery", choices=("yes", "no", "only"), default="yes",
                        help="the discovery row (tools/bench_discovery.py: the inventory plugin's scan vs pyasic's): yes (default), no, only")
    parser.add_argument("--curtail", choices=("yes", "no", "only"), default="yes",
                        help="the demand-response row (tools/bench_curtail.py: curtail playbook vs per-host power playbook vs pyasic, "
                             "resume ramps): yes (default), no, only")
    parser.add_argument("--curtail-miners", type=int, default=None,
                        help=f"miners of the demand-response row (default {bench_curtail.MINERS}; {bench_curtail.QUICK_MINERS} with --quick)")
    parser.add_argument("--miner-port", type=int, default=4028,
                        help="port of every simulated miner (default 4028; 0 = a free port each, when another fleet uses 4028)")
    options = parser.parse_args(arguments)
    if options.quick:
        options.sizes = list(QUICK_SIZES)
    if options.curtail_miners is None:
        options.curtail_miners = bench_curtail.QUICK_MINERS if options.quick else bench_curtail.MINERS
    if any(size < 1 for size in options.sizes) or any(forks < 1 for forks in options.forks) or options.curtail_miners < 1:
        parser.error("sizes, forks and --curtail-miners must be positive")
    return options


def main() -> int:
    """Run the benchmark; print the table and the verdicts; write JSON, Markdown and PNG."""
    options = parse_options()
    output = options.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    stage_collection()
    plugins = action_plugins_present()
    print(f"==> build folder {BUILD}; results in {output}", flush=True)
    if not plugins:
        print("    note: the collection has no action plugins yet, so whatsminer_execution=auto runs the plain module too", flush=True)
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_description(), "load_at_start": os.getloadavg(),
        "options": {"sizes": options.sizes, "forks": options.forks, "paths": options.paths, "strategies": options.strategies,
                    "quick": options.quick},
        "action_plugins": plugins, "miner_restart_seconds": MINER_RESTART_SECONDS, "pss_sample_seconds": PSS_SAMPLE_SECONDS,
    }
    if options.discovery == "only":
        return 0 if bench_discovery.targets_met(bench_discovery.measure(output)) else 1
    if options.curtail == "only":
        return 0 if all(bench_curtail.measure(output, options.curtail_miners)["verdicts"].values()) else 1
    results: list[Result] = []
    for size in options.sizes:
        results += measure_fleet(size, options, output)
    add_ratios(results)
    judged = verdicts(results, options)
    measured_s = sum(result.wall_s for result in results)
    meta.update(load_at_end=os.getloadavg(), duration_s=round(time.monotonic() - started, 1),
                others_cores_mean=round(sum(result.others_cores * result.wall_s for result in results) / measured_s, 2))

    (output / "bench-results.json").write_text(json.dumps(
        {"meta": meta, "results": [result.as_dict() for result in results], "verdicts": judged}, indent=1), encoding="utf-8")
    (output / "bench-results.md").write_text(markdown_table(results, options), encoding="utf-8")
    charted = draw_chart(results, options, output / "bench-chart.png")

    print("\n" + text_table(results, options), flush=True)
    print("ms/host-task: wall time of the whole ansible-playbook run / (miners x tasks); CPU: user+sys of ansible-playbook "
          "and its children; peak: summed PSS of its process tree; x ping / x debug: ratio to (a) / (b) of the same fleet.")
    print(f"Machine: {meta['machine']['cores']} cores, {meta['machine']['cpu']}; load average {meta['load_at_start'][0]:.2f} before the run; "
          f"other processes used {meta['others_cores_mean']:.2f} cores on average while measuring; the run took {meta['duration_s'] / 60:.1f} minutes.")
    print(f"Written: {output / 'bench-results.json'}, {output / 'bench-results.md'}" + (f", {output / 'bench-chart.png'}" if charted else ""))
    if judged:
        print(f"\nTargets of issue 6 ({judged[0]['where']}, whatsminer_execution={judged[0]['path']}):")
        for line in judged:
            others = "".join(f" [{path}: {value:g}x]" for path, value in line["other_paths"].items())
            print(f"  {line['target']}: {'met' if line['met'] else 'NOT MET'}: {line['text']}{others}")
    if options.discovery == "yes":
        print(flush=True)
        bench_discovery.measure(output)
    if options.curtail == "yes":
        print(flush=True)
        bench_curtail.measure(output, options.curtail_miners)
    unhealthy = [result for result in results if not result.healthy]
    if unhealthy:
        print(f"\n{len(unhealthy)} measurement(s) did not run cleanly; see the logs in {output}/fleet-*/", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
