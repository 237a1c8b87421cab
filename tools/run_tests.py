"""Run every test of the collection and print one closing summary line.

This is what ``make test`` (and so CI) runs, inside the virtual environment that ``make`` builds
(ansible-core 2.19 on Python 3.11, requirements/dev.txt). The stages, in order:

1. stage: copy the collection (the files git tracks or would track) to
   ``build/collections/ansible_collections/hashfarm/whatsminer``, where ansible-test needs it;
2. sanity: ``ansible-test sanity --python 3.11`` (every sanity test that runs without Docker);
3. units: pytest over ``tests/unit`` (module_utils and modules) and ``tests/simulator``;
4. integration: ``ansible-test integration --python 3.11`` (playbooks against simulated fleets;
   each target runs the in-process path unless the two execution paths are its subject), the
   targets in ``INTEGRATION_SHARDS`` groups at once (``run_integration``);
5. libpass: the crypto and privileged-command tests of the client again, in a second virtual
   environment that has libpass (the maintained fork of passlib) instead of passlib;
6. compat: the newest ansible-core (2.21, ``requirements/compat.txt``) on Python 3.13 with
   libpass: all unit tests, and the ``execution_paths`` integration target (every module through
   both execution paths, results compared) as a smoke run. Where Python 3.13 is missing the stage
   is counted as skipped and says so. With other stages selected it runs alongside them from the
   start, in a child process on its own copy of the staged collection (log: build/compat.log),
   and its result is shown in its place;
7. package: ``ansible-galaxy collection build`` leaves out what users do not need, and the
   tarball installs and its module works against a simulated miner;
8. lint: ansible-lint (production profile, ``.ansible-lint``) over the roles, playbooks, example
   inventory and CI examples, from a third virtual environment (``requirements/lint.txt``).

Each stage counts its results and its time (the summary also shows the wall time of the whole run);
the last line is ``TOTAL: N passed, N failed[, N skipped]``. The venvs of the libpass, compat and
lint stages are built in a background thread while the first stages run.
``--stages`` runs a subset, e.g. ``tools/run_tests.py --stages units`` while developing.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import NamedTuple
from xml.etree import ElementTree

from fleet import running_fleet
from staging import BUILD, COLLECTION_ROOT, REPO, STAGED, stage_collection

VENV_BIN = Path(sys.executable).parent
PYTHON_VERSION = "3.11"
STAGES = ("sanity", "units", "integration", "libpass", "compat", "package", "lint")
# ansible-test pins the pip it bootstraps into each of its virtual environments (2.19: 24.2, 2.21: 25.2).
ANSIBLE_TEST_PIP_VERSION = "24.2"
# The compat stage: the newest ansible-core release on the newest Python it supports.
COMPAT_PYTHON_VERSION = "3.13"
COMPAT_ANSIBLE_TEST_PIP_VERSION = "25.2"
# The integration target of the compat stage's smoke run: every module through both execution paths.
COMPAT_INTEGRATION_TARGETS = ("execution_paths",)
# The libpass stage: the client tests that hash passwords with passlib (crypto) or send privileged commands.
LIBPASS_TESTS = (
    "tests/unit/plugins/module_utils/test_client_crypto.py",
    "tests/unit/plugins/module_utils/test_client_v3_crypto.py",
    "tests/unit/plugins/module_utils/test_client_privileged.py",
    "tests/unit/plugins/module_utils/test_client_lazy_import.py",
)
STANDIN_MARKER = "hashfarm.whatsminer marker"


@dataclasses.dataclass
class StageResult:
    """Counts of one stage."""

    name: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    note: str = ""


def log(message: str) -> None:
    """Print a progress line that stands out from the tools' own output."""
    print(f"\n==> {message}", flush=True)


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None, capture: bool = False) -> subprocess.CompletedProcess:
    """Run a command, streaming its output (and returning it when ``capture`` is set)."""
    print("$ " + " ".join(command), flush=True)
    if not capture:
        return subprocess.run(command, cwd=cwd, env=env, check=False)
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        sys.stdout.write(line)
        lines.append(line)
    process.wait()
    return subprocess.CompletedProcess(command, process.returncode, "".join(lines), "")


def test_environment(venv_bin: Path = VENV_BIN) -> dict[str, str]:
    """Environment of every stage: the stage's venv first on PATH, no injected fact variables."""
    env = dict(os.environ)
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_INJECT_FACT_VARS"] = "false"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONPATH", None)
    return env


def seed_ansible_test_pip_bootstrap(pip_version: str = ANSIBLE_TEST_PIP_VERSION) -> None:
    """Give ansible-test its pip bootstrap script without downloading it (see the standin's docstring)."""
    cache = Path.home() / ".ansible" / "test" / "cache"
    target = cache / f"get_pip_{pip_version.replace('.', '_')}.py"
    if target.exists() and STANDIN_MARKER not in target.read_text(errors="replace"):
        return  # a real get-pip script is already cached: keep it
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "tools" / "get_pip_from_ensurepip.py", target)


def count_ansible_test(output: str, started_pattern: str, result: StageResult) -> None:
    """Count the tests ansible-test ran and the ones it listed as failed.

    ansible-test ends a failed run with ``FATAL: The N ... test(s) listed below (out of M) failed.``
    followed by one test name per line.
    """
    started = set(re.findall(started_pattern, output))
    failed: set[str] = set()
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if re.match(r"(?:ERROR|FATAL): The \d+ .*test\(s\) listed below \(out of \d+\) failed", line):
            for name in lines[index + 1:]:
                if not re.fullmatch(r"[\w.\-/]+", name.strip()):
                    break
                failed.add(name.strip())
    result.failed = len(failed)
    result.passed = max(len(started - failed), 0)


def run_sanity(result: StageResult) -> None:
    """ansible-test sanity over the staged collection."""
    seed_ansible_test_pip_bootstrap()
    completed = run(
        [str(VENV_BIN / "ansible-test"), "sanity", "--python", PYTHON_VERSION, "--color", "no"],
        cwd=STAGED, env=test_environment(), capture=True,
    )
    count_ansible_test(completed.stdout, r'Running sanity test "([^"]+)"', result)
    if completed.returncode != 0 and result.failed == 0:
        result.failed = 1
        result.note = f"ansible-test sanity exited {completed.returncode}"


def count_junit(report: Path, result: StageResult) -> None:
    """Add the counts of a JUnit XML report to a stage result."""
    root = ElementTree.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    for suite in suites:
        total = int(suite.get("tests", 0))
        failures = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        result.passed += total - failures - skipped
        result.failed += failures
        result.skipped += skipped


def run_pytest(python: str, paths: list[str], report: Path, result: StageResult, venv_bin: Path = VENV_BIN) -> None:
    """Run pytest on the staged collection and count its JUnit report."""
    env = test_environment(venv_bin)
    env["PYTHONPATH"] = os.pathsep.join([str(COLLECTION_ROOT), str(STAGED / "simulator")])
    if report.exists():
        report.unlink()
    completed = run(
        [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2", f"--junitxml={report}", *paths],
        cwd=STAGED, env=env,
    )
    if report.exists():
        count_junit(report, result)
    if completed.returncode not in (0,) and result.failed == 0:
        result.failed = 1
        result.note = "; ".join(filter(None, [result.note, f"pytest exited {completed.returncode}"]))


def run_units(result: StageResult) -> None:
    """Unit tests of module_utils and modules, and the simulator's own tests."""
    result.note = installed_versions(Path(sys.executable), "ansible-core")
    run_pytest(sys.executable, ["tests/unit", "tests/simulator"], BUILD / "units.xml", result)


def run_integration(result: StageResult) -> None:
    """ansible-test integration over the staged collection (targets start simulated fleets).

    The targets mostly wait on simulated miners (restarts, reboots, pauses between batches), so they
    run in ``INTEGRATION_SHARDS`` groups at once, each group by its own ansible-test on its own copy
    of the staged collection (ansible-test keeps its state in the collection's tests/output).
    """
    targets = integration_targets(STAGED)
    groups = split_targets(targets, INTEGRATION_SHARDS)
    if len(groups) < 2:
        run_ansible_test_integration(VENV_BIN, PYTHON_VERSION, [], result)
        return
    print(f"{len(targets)} targets in {len(groups)} groups run at once:", flush=True)
    runs = []
    for number, group in enumerate(groups, 1):
        staged = copy_staged(BUILD / f"integration-{number}-collections")
        log_file = BUILD / f"integration-{number}.log"
        print(f"  group {number}: {' '.join(group)} (log: {log_file})", flush=True)
        runs.append((staged, log_file, start_ansible_test_integration(VENV_BIN, PYTHON_VERSION, group, staged, log_file)))
    counted = []
    for staged, log_file, process in runs:
        process.wait()
        output = log_file.read_text(encoding="utf-8", errors="replace")
        print(output, flush=True)
        counted.append(count_integration(output, process.returncode, staged, result))
    exits = [f"ansible-test integration exited {run.unexplained_exit}" for run in counted if run.unexplained_exit]
    result.note = "; ".join([f"{sum(run.targets for run in counted)} targets in {len(groups)} groups at once, "
                             f"{sum(run.failed_targets for run in counted)} failed", *exits])


class IntegrationCount(NamedTuple):
    """What one ansible-test integration run counted beyond its test cases."""

    targets: int
    failed_targets: int
    #: ansible-test's exit code when it failed with no failed target or task to explain it, else 0.
    unexplained_exit: int


# How many groups of integration targets run at once (run_integration), and the rough wall seconds
# of each target alone on 2 cores, to balance the groups (a target not listed counts as 20 s).
INTEGRATION_SHARDS = int(os.environ.get("WHATSMINER_INTEGRATION_SHARDS", "3"))
TARGET_SECONDS = {
    "fleet_site": 60, "reliability_faults": 70, "fleet_power": 30, "whatsminer_power": 30, "execution_paths": 45,
    "reliability_fleet": 35, "whatsminer_pools": 20, "reliability_secrets": 20, "quick_start": 20, "fleet_curtail": 20,
    "inventory_whatsminer": 20, "fleet_report": 18, "fleet_batches": 16, "whatsminer_firmware": 15,
    "whatsminer_password_reboot": 13, "whatsminer_facts": 9, "whatsminer_settings": 9, "crypto_imports": 4,
}


def integration_targets(staged: Path) -> list[str]:
    """The integration targets ansible-test runs by default (not hidden, disabled or unsupported)."""
    names = []
    for aliases in sorted((staged / "tests" / "integration" / "targets").glob("*/aliases")):
        words = set(aliases.read_text(encoding="utf-8").split())
        if not words & {"hidden", "disabled", "unsupported"}:
            names.append(aliases.parent.name)
    return names


def split_targets(targets: list[str], groups: int) -> list[list[str]]:
    """``targets`` in at most ``groups`` groups of about equal expected time (longest first, to the least loaded)."""
    planned = [[] for index in range(max(1, min(groups, len(targets))))]
    seconds = [0.0] * len(planned)
    for name in sorted(targets, key=lambda target: -TARGET_SECONDS.get(target, 20)):
        least = seconds.index(min(seconds))
        planned[least].append(name)
        seconds[least] += TARGET_SECONDS.get(name, 20)
    return [sorted(names) for names in planned if names]


def copy_staged(root: Path) -> Path:
    """A fresh copy of the staged collection under ``root`` (its own tests/output); returns the collection's path."""
    copy = root / STAGED.relative_to(COLLECTION_ROOT)
    if root.exists():
        shutil.rmtree(root)
    test_output = STAGED / "tests" / "output"
    shutil.copytree(STAGED, copy, symlinks=True, ignore=lambda folder, names: ["output"] if Path(folder) == test_output.parent else [])
    return copy


def integration_command(venv_bin: Path, python_version: str, targets: list[str]) -> list[str]:
    """The ansible-test integration command line for ``targets`` (all when empty)."""
    return [str(venv_bin / "ansible-test"), "integration", "--python", python_version, "--color", "no", "--continue-on-error", *targets]


def start_ansible_test_integration(venv_bin: Path, python_version: str, targets: list[str], staged: Path, log_file: Path) -> subprocess.Popen:
    """Start ``ansible-test integration`` of ``targets`` in ``staged``, its output going to ``log_file``."""
    with open(log_file, "w", encoding="utf-8") as output:
        return subprocess.Popen(  # pylint: disable=consider-using-with
            integration_command(venv_bin, python_version, targets), cwd=staged, env=test_environment(venv_bin),
            stdout=output, stderr=subprocess.STDOUT,
        )


def count_integration(output: str, returncode: int, staged: Path, result: StageResult) -> IntegrationCount:
    """Count one ansible-test integration run's test cases into ``result``; return its target counts.

    Each task of each playbook is a test case (ansible-test's junit callback writes them); a
    target that fails outside a playbook (e.g. its fleet does not start) counts as one failure.
    """
    junit_dir = staged / "tests" / "output" / "junit"
    counts = StageResult("targets")
    count_ansible_test(output, r"Running (\S+) integration test (?:role|script)", counts)
    tasks = StageResult("tasks")
    for report in sorted(junit_dir.glob("*.xml")) if junit_dir.exists() else []:
        count_junit(report, tasks)
    result.passed += tasks.passed
    result.skipped += tasks.skipped
    result.failed += max(tasks.failed, counts.failed)
    unexplained = returncode if returncode != 0 and tasks.failed == 0 and counts.failed == 0 else 0
    result.failed += 1 if unexplained else 0
    return IntegrationCount(counts.passed + counts.failed, counts.failed, unexplained)


def run_ansible_test_integration(venv_bin: Path, python_version: str, targets: list[str], result: StageResult) -> None:
    """``ansible-test integration`` of ``targets`` (all when empty) from ``venv_bin`` in the staged collection, counted into ``result``."""
    junit_dir = STAGED / "tests" / "output" / "junit"
    if junit_dir.exists():
        shutil.rmtree(junit_dir)
    completed = run(integration_command(venv_bin, python_version, targets), cwd=STAGED, env=test_environment(venv_bin), capture=True)
    counted = count_integration(completed.stdout, completed.returncode, STAGED, result)
    notes = [f"{counted.targets} targets, {counted.failed_targets} failed"]
    notes += [f"ansible-test integration exited {counted.unexplained_exit}"] if counted.unexplained_exit else []
    result.note = "; ".join([result.note, *notes] if result.note else notes)


@dataclasses.dataclass(frozen=True)
class VenvSpec:
    """A stage's own virtual environment: ``BUILD / name`` from ``requirements/<requirements_file>`` with ``python``.

    ``no_deps``: install exactly the pinned list (it must be complete).
    """

    name: str
    requirements_file: str
    python: str = sys.executable
    no_deps: bool = False


LIBPASS_VENV = VenvSpec("libpass-venv", "libpass.txt")
LINT_VENV = VenvSpec("lint-venv", "lint.txt")
# Virtual environments being built in the background while earlier stages run (prepare_venvs).
VENV_BUILDS: dict[str, concurrent.futures.Future] = {}


def build_venv(spec: VenvSpec) -> tuple[Path | None, str]:
    """Build (or keep, when its pinned requirements and its Python are unchanged) a stage's venv.

    Returns the venv's path (None when installing failed) and a note; pip's output goes to
    ``BUILD / "<name>.log"`` so that it does not mix with a stage running meanwhile.
    """
    venv = BUILD / spec.name
    requirements = REPO / "requirements" / spec.requirements_file
    stamp = venv / ".requirements"
    wanted = f"# python: {spec.python}\n# no-deps: {spec.no_deps}\n{requirements.read_text()}"
    if stamp.exists() and stamp.read_text() == wanted:
        return venv, ""
    started = time.monotonic()
    if venv.exists():
        shutil.rmtree(venv)
    log_file = BUILD / f"{spec.name}.log"
    options = ["--no-deps"] if spec.no_deps else []
    with open(log_file, "w", encoding="utf-8") as output:
        for command in ([spec.python, "-m", "venv", str(venv)],
                        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", *options, "-r", str(requirements)]):
            output.write("$ " + " ".join(command) + "\n")
            output.flush()
            if subprocess.run(command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT, check=False).returncode != 0:
                return None, f"could not install requirements/{spec.requirements_file} (see {log_file})"
    stamp.write_text(wanted)
    return venv, f"venv built in {time.monotonic() - started:.0f} s"


def prepare_venvs(specs: list[VenvSpec]) -> None:
    """Start building ``specs`` one after the other in a background thread, while the first stages run."""
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="venv")
    for spec in specs:
        VENV_BUILDS[spec.name] = executor.submit(build_venv, spec)
    executor.shutdown(wait=False)


def stage_venv(spec: VenvSpec, result: StageResult) -> Path | None:
    """The stage's venv (waiting for its background build, or building it now); None, with the stage failed, when installing failed."""
    future = VENV_BUILDS.pop(spec.name, None)
    print(f"virtual environment {BUILD / spec.name} (requirements/{spec.requirements_file})", flush=True)
    venv, note = future.result() if future is not None else build_venv(spec)
    if venv is None:
        result.failed = 1
    if note:
        result.note = "; ".join(filter(None, [result.note, note]))
        print(note, flush=True)
    return venv


def compat_venv_spec() -> VenvSpec | None:
    """The compat stage's venv on this machine's Python 3.13, None when there is none."""
    python = find_python(COMPAT_PYTHON_VERSION)
    return None if python is None else VenvSpec("compat-venv", "compat.txt", python=python, no_deps=True)


def installed_versions(python: Path, *distributions: str) -> str:
    """``"name version, ..."`` of the Python and the ``distributions`` installed for ``python``."""
    script = ("import importlib.metadata as m, platform, sys; "
              "print(', '.join(['Python ' + platform.python_version()] + [d + ' ' + m.version(d) for d in sys.argv[1:]]))")
    check = subprocess.run([str(python), "-c", script, *distributions], check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return check.stdout.strip().splitlines()[-1] if check.returncode == 0 else f"cannot read versions: {check.stdout.strip()[-200:]}"


def run_libpass(result: StageResult) -> None:
    """The client's crypto and privileged-command tests again with libpass instead of passlib."""
    venv = stage_venv(LIBPASS_VENV, result)
    if venv is None:
        return
    python = venv / "bin" / "python"
    result.note = "; ".join(filter(None, [installed_versions(python, "libpass"), result.note]))
    run_pytest(str(python), list(LIBPASS_TESTS), BUILD / "libpass.xml", result)


def find_python(version: str) -> str | None:
    """A Python ``version`` interpreter of this machine: pyenv's (newest patch release first), else ``pythonX.Y`` on PATH.

    A pyenv shim on PATH is tried too, but only counts when it runs that version.
    """
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates = sorted(
        pyenv_root.glob(f"versions/{version}.*/bin/python{version}"),
        key=lambda path: [int(part) if part.isdigit() else 0 for part in path.parent.parent.name.split(".")], reverse=True,
    )
    on_path = shutil.which(f"python{version}")
    for candidate in [*map(str, candidates), *([on_path] if on_path else [])]:
        probe = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               check=False, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def run_compat(result: StageResult) -> None:
    """The newest ansible-core on Python 3.13 with libpass: all unit tests and the smoke integration run.

    Where this machine has no Python 3.13 the stage is not run and counts as one skipped test,
    with a note in the summary.
    """
    spec = compat_venv_spec()
    if spec is None:
        result.skipped = 1
        result.note = f"NOT RUN: python{COMPAT_PYTHON_VERSION} missing (pyenv or PATH); ansible-core 2.21 is untested here"
        print(result.note, flush=True)
        return
    venv = stage_venv(spec, result)
    if venv is None:
        return
    result.note = "; ".join(filter(None, [installed_versions(venv / "bin" / "python", "ansible-core", "libpass"), result.note]))
    print(f"compat environment {venv}: {result.note}", flush=True)
    units = StageResult("units")
    run_pytest(str(venv / "bin" / "python"), ["tests/unit", "tests/simulator"], BUILD / "compat-units.xml", units, venv_bin=venv / "bin")
    seed_ansible_test_pip_bootstrap(COMPAT_ANSIBLE_TEST_PIP_VERSION)
    smoke = StageResult("smoke")
    run_ansible_test_integration(venv / "bin", COMPAT_PYTHON_VERSION, list(COMPAT_INTEGRATION_TARGETS), smoke)
    result.passed, result.failed, result.skipped = units.passed + smoke.passed, units.failed + smoke.failed, units.skipped + smoke.skipped
    result.note += (f"; units {units.passed} passed {units.failed} failed{' (' + units.note + ')' if units.note else ''}"
                    f"; smoke {smoke.passed} tasks passed {smoke.failed} failed ({smoke.note})")


def run_package(result: StageResult) -> None:
    """The collection tarball: built by ansible-galaxy, free of what users do not need, installable, working.

    Installs the tarball into a scratch collections path and runs the facts module from there
    against a simulated miner.
    """
    package_dir = BUILD / "package"
    if package_dir.exists():
        shutil.rmtree(package_dir)
    package_dir.mkdir(parents=True)
    env = test_environment()

    def check(name: str, passed: bool, detail: str = "") -> None:
        print(f"    {'ok  ' if passed else 'FAIL'} {name}{': ' + detail if detail and not passed else ''}", flush=True)
        if passed:
            result.passed += 1
        else:
            result.failed += 1

    built = run([str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(package_dir), str(STAGED)], cwd=REPO, env=env)
    tarballs = list(package_dir.glob("hashfarm-whatsminer-*.tar.gz"))
    check("ansible-galaxy collection build", built.returncode == 0 and len(tarballs) == 1)
    if not tarballs:
        return
    with tarfile.open(tarballs[0]) as archive:
        names = archive.getnames()
    unwanted = [name for name in names if name.split("/")[0] in PACKAGE_EXCLUDED_TOP_LEVEL or "__pycache__" in name]
    check("the tarball leaves out tests, simulator and tooling", not unwanted, ", ".join(unwanted[:10]))
    missing = [name for name in PACKAGE_REQUIRED_FILES if name not in names]
    check("the tarball has the modules, module_utils, docs and license", not missing, ", ".join(missing))
    install_root = package_dir / "installed"
    installed = run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(install_root), str(tarballs[0])],
        cwd=package_dir, env=env,
    )
    check("ansible-galaxy collection install", installed.returncode == 0)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(install_root)
    doc = run([str(VENV_BIN / "ansible-doc"), "-t", "module", "hashfarm.whatsminer.whatsminer_facts"], cwd=package_dir, env=env, capture=True)
    check("ansible-doc shows the installed module", doc.returncode == 0 and "gather_subset" in doc.stdout)
    with running_fleet(package_dir / "fleet", "--count", "1", "--profiles", "2024", "--address-mode", "ports", "--base-port", "0", lifetime=120) as fleet:
        miner = fleet["miners"][0]
        adhoc = run(
            [str(VENV_BIN / "ansible"), "localhost", "-m", "hashfarm.whatsminer.whatsminer_facts",
             "-a", f"host={miner['host']} port={miner['port']} gather_subset=device",
             "-e", "ansible_python_interpreter=" + sys.executable],
            cwd=package_dir, env=env, capture=True,
        )
    check("the installed module reads a simulated miner", adhoc.returncode == 0 and miner["model"] in adhoc.stdout, adhoc.stdout[-500:])


def run_lint(result: StageResult) -> None:
    """ansible-lint over the staged collection, from its own virtual environment.

    ansible-lint pulls in its own ansible-core; in a venv of its own it cannot move the one the
    other stages test with. Each file ansible-lint examines is a test case: it fails when
    ansible-lint reports a violation in it.
    """
    venv = stage_venv(LINT_VENV, result)
    if venv is None:
        return
    env = test_environment()
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    env["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTION_ROOT)  # the staged collection itself, nothing installed
    env["NO_COLOR"] = "1"
    completed = run([str(venv / "bin" / "ansible-lint"), "--offline", "--nocolor", "-f", "pep8"], cwd=STAGED, env=env, capture=True)
    processed = re.search(r"in (\d+) files processed", completed.stdout)
    failing = {match.group(1) for match in re.finditer(r"^([^\s:]+):\d+(?::\d+)?: ", completed.stdout, re.MULTILINE)}
    if processed:
        result.failed = len(failing)
        result.passed = max(int(processed.group(1)) - len(failing), 0)
    if completed.returncode != 0 and result.failed == 0:
        result.failed = 1
        result.note = f"ansible-lint exited {completed.returncode}"


# Top-level paths of the repository that must not ship in the collection tarball.
PACKAGE_EXCLUDED_TOP_LEVEL = {"tests", "simulator", "tools", "Makefile", "requirements", "build", ".ci", ".venv", ".git"}
PACKAGE_REQUIRED_FILES = (
    "MANIFEST.json", "FILES.json", "README.md", "LICENSE", "meta/runtime.yml",
    "plugins/modules/whatsminer_facts.py", "plugins/module_utils/_protocol/api2.py", "plugins/doc_fragments/connection.py",
)

RUNNERS = {
    "sanity": run_sanity, "units": run_units, "integration": run_integration, "libpass": run_libpass, "compat": run_compat,
    "package": run_package, "lint": run_lint,
}


# Stages that run alongside the others (in a child process, on a copy of the staged collection)
# when more stages are selected: the compat stage mostly waits on simulated miners and networks.
BACKGROUND_STAGES = ("compat",)


@dataclasses.dataclass
class BackgroundStage:
    """A stage running in a child ``run_tests.py`` while the other stages run."""

    name: str
    process: subprocess.Popen
    log_file: Path
    result_file: Path

    def result(self) -> StageResult:
        """Wait for the child, show the end of its log, and return its counts."""
        print(f"{self.name} ran alongside the other stages; its log: {self.log_file}", flush=True)
        self.process.wait()
        # The child's own TOTAL line stays in its log: the run has one closing line, the parent's.
        lines = [line for line in self.log_file.read_text(encoding="utf-8", errors="replace").splitlines() if not line.startswith("TOTAL:")]
        print("\n".join(lines[-12:]), flush=True)
        try:
            return StageResult(**json.loads(self.result_file.read_text(encoding="utf-8"))[0])
        except (OSError, ValueError, IndexError, TypeError) as error:
            return StageResult(self.name, failed=1, note=f"the {self.name} stage left no result ({error}); see {self.log_file}")


def start_background_stage(name: str) -> BackgroundStage:
    """Run stage ``name`` in a child process on its own copy of the staged collection."""
    root = BUILD / f"{name}-collections"
    copy_staged(root)
    log_file, result_file = BUILD / f"{name}.log", BUILD / f"{name}-result.json"
    result_file.unlink(missing_ok=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--stages", name, "--collection-root", str(root), "--result-file", str(result_file)]
    print(f"$ {' '.join(command)} > {log_file}", flush=True)
    with open(log_file, "w", encoding="utf-8") as output:
        process = subprocess.Popen(command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
    return BackgroundStage(name, process, log_file, result_file)


def use_collection_root(root: Path) -> None:
    """Run the stages on the staged collection under ``root`` (a copy made by ``start_background_stage``)."""
    global COLLECTION_ROOT, STAGED  # pylint: disable=global-statement
    STAGED = root / STAGED.relative_to(COLLECTION_ROOT)
    COLLECTION_ROOT = root


def main() -> int:
    """Run the selected stages and print the closing summary."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {', '.join(STAGES)}")
    parser.add_argument("--collection-root", type=Path, help=argparse.SUPPRESS)  # internal: a background stage's staged copy
    parser.add_argument("--result-file", type=Path, help=argparse.SUPPRESS)  # internal: where a background stage leaves its counts
    options = parser.parse_args()
    selected = [name.strip() for name in options.stages.split(",") if name.strip()]
    unknown = sorted(set(selected) - set(STAGES))
    if unknown:
        parser.error(f"unknown stage(s): {', '.join(unknown)}")

    began = time.monotonic()
    BUILD.mkdir(exist_ok=True)
    if options.collection_root:
        use_collection_root(options.collection_root)
    else:
        stage_collection()
    background = {name: start_background_stage(name) for name in selected if name in BACKGROUND_STAGES and len(selected) > 1}
    venvs = {"libpass": [LIBPASS_VENV], "compat": [spec for spec in [compat_venv_spec()] if spec], "lint": [LINT_VENV]}
    prepare_venvs([spec for name in selected if name not in background for spec in venvs.get(name, [])])
    results = []
    for name in selected:
        log(f"stage {name}")
        if name in background:
            results.append(background[name].result())
            continue
        result = StageResult(name)
        started = time.monotonic()
        RUNNERS[name](result)
        result.seconds = time.monotonic() - started
        results.append(result)
    if options.result_file:
        options.result_file.write_text(json.dumps([dataclasses.asdict(result) for result in results]), encoding="utf-8")

    log("summary")
    for result in results:
        note = f"  ({result.note})" if result.note else ""
        alongside = " (alongside)" if result.name in background else ""
        print(f"  {result.name:<12} {result.passed:>5} passed {result.failed:>4} failed {result.skipped:>4} skipped {result.seconds:>7.1f} s{alongside}{note}")
    print(f"  {'wall time':<12} {'':>5}        {'':>4}        {'':>4}         {time.monotonic() - began:>7.1f} s (staging included)", flush=True)
    passed = sum(result.passed for result in results)
    failed = sum(result.failed for result in results)
    skipped = sum(result.skipped for result in results)
    closing = f"TOTAL: {passed} passed, {failed} failed"
    if skipped:
        closing += f", {skipped} skipped"
    print(closing, flush=True)
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
