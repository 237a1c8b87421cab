"""Run every test of the collection and print one closing summary line.

This is what ``make test`` (and so CI) runs, inside the virtual environment that ``make`` builds.
The stages, in order:

1. stage: copy the collection (the files git tracks or would track) to
   ``build/collections/ansible_collections/hashfarm/whatsminer``, where ansible-test needs it;
2. sanity: ``ansible-test sanity --python 3.11`` (every sanity test that runs without Docker);
3. units: pytest over ``tests/unit`` (module_utils and modules) and ``tests/simulator``;
4. integration: ``ansible-test integration --python 3.11`` (playbooks against simulated fleets);
5. libpass: the client's unit tests again, in a second virtual environment that has libpass (the
   maintained fork of passlib) instead of passlib;
6. package: ``ansible-galaxy collection build`` leaves out what users do not need, and the
   tarball installs and its module works against a simulated miner;
7. lint: ansible-lint (production profile, ``.ansible-lint``) over the roles, playbooks, example
   inventory and CI examples, from a third virtual environment (``requirements/lint.txt``).

Each stage counts its results; the last line is ``TOTAL: N passed, N failed[, N skipped]``.
``--stages`` runs a subset, e.g. ``tools/run_tests.py --stages units`` while developing.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from xml.etree import ElementTree

from fleet import running_fleet
from staging import BUILD, COLLECTION_ROOT, REPO, STAGED, stage_collection

VENV_BIN = Path(sys.executable).parent
PYTHON_VERSION = "3.11"
STAGES = ("sanity", "units", "integration", "libpass", "package", "lint")
# ansible-test pins the pip it bootstraps into each of its virtual environments.
ANSIBLE_TEST_PIP_VERSION = "24.2"
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


def test_environment() -> dict[str, str]:
    """Environment of every stage: the venv first on PATH, no injected fact variables."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_INJECT_FACT_VARS"] = "false"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONPATH", None)
    return env


def seed_ansible_test_pip_bootstrap() -> None:
    """Give ansible-test its pip bootstrap script without downloading it (see the standin's docstring)."""
    cache = Path.home() / ".ansible" / "test" / "cache"
    target = cache / f"get_pip_{ANSIBLE_TEST_PIP_VERSION.replace('.', '_')}.py"
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


def run_pytest(python: str, paths: list[str], report: Path, result: StageResult, extra_env: dict[str, str] | None = None) -> None:
    """Run pytest on the staged collection and count its JUnit report."""
    env = test_environment()
    env["PYTHONPATH"] = os.pathsep.join([str(COLLECTION_ROOT), str(STAGED / "simulator")])
    env.update(extra_env or {})
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
        result.note = f"pytest exited {completed.returncode}"


def run_units(result: StageResult) -> None:
    """Unit tests of module_utils and modules, and the simulator's own tests."""
    run_pytest(sys.executable, ["tests/unit", "tests/simulator"], BUILD / "units.xml", result)


def run_integration(result: StageResult) -> None:
    """ansible-test integration over the staged collection (targets start simulated fleets).

    Each task of each playbook is a test case (ansible-test's junit callback writes them); a
    target that fails outside a playbook (e.g. its fleet does not start) counts as one failure.
    """
    junit_dir = STAGED / "tests" / "output" / "junit"
    if junit_dir.exists():
        shutil.rmtree(junit_dir)
    completed = run(
        [str(VENV_BIN / "ansible-test"), "integration", "--python", PYTHON_VERSION, "--color", "no", "--continue-on-error"],
        cwd=STAGED, env=test_environment(), capture=True,
    )
    targets = StageResult("targets")
    count_ansible_test(completed.stdout, r"Running (\S+) integration test (?:role|script)", targets)
    for report in sorted(junit_dir.glob("*.xml")) if junit_dir.exists() else []:
        count_junit(report, result)
    result.failed = max(result.failed, targets.failed)
    result.note = f"{targets.passed + targets.failed} targets, {targets.failed} failed"
    if completed.returncode != 0 and result.failed == 0:
        result.failed = 1
        result.note += f"; ansible-test integration exited {completed.returncode}"


def stage_venv(name: str, requirements_file: str, result: StageResult) -> Path | None:
    """A virtual environment of its own for one stage, rebuilt when its pinned requirements change.

    Returns the venv's path, or None (with the stage marked failed) when installing fails.
    """
    venv = BUILD / name
    requirements = REPO / "requirements" / requirements_file
    stamp = venv / ".requirements"
    if stamp.exists() and stamp.read_text() == requirements.read_text():
        return venv
    if venv.exists():
        shutil.rmtree(venv)
    run([sys.executable, "-m", "venv", str(venv)], cwd=REPO)
    installed = run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(requirements)], cwd=REPO)
    if installed.returncode != 0:
        result.failed, result.note = 1, f"could not install requirements/{requirements_file}"
        return None
    stamp.write_text(requirements.read_text())
    return venv


def run_libpass(result: StageResult) -> None:
    """The client's unit tests again with libpass instead of passlib."""
    venv = stage_venv("libpass-venv", "libpass.txt", result)
    if venv is None:
        return
    python = venv / "bin" / "python"
    check = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('libpass')); import passlib"],
        check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    print(f"libpass version in {venv}: {check.stdout.strip()}")
    run_pytest(str(python), ["tests/unit/plugins/module_utils"], BUILD / "libpass.xml", result)


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
    venv = stage_venv("lint-venv", "lint.txt", result)
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
    "plugins/modules/whatsminer_facts.py", "plugins/module_utils/_client.py", "plugins/doc_fragments/connection.py",
)

RUNNERS = {"sanity": run_sanity, "units": run_units, "integration": run_integration, "libpass": run_libpass, "package": run_package, "lint": run_lint}


def main() -> int:
    """Run the selected stages and print the closing summary."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {', '.join(STAGES)}")
    options = parser.parse_args()
    selected = [name.strip() for name in options.stages.split(",") if name.strip()]
    unknown = sorted(set(selected) - set(STAGES))
    if unknown:
        parser.error(f"unknown stage(s): {', '.join(unknown)}")

    BUILD.mkdir(exist_ok=True)
    stage_collection()
    results = []
    for name in selected:
        log(f"stage {name}")
        result = StageResult(name)
        started = time.monotonic()
        RUNNERS[name](result)
        result.seconds = time.monotonic() - started
        results.append(result)

    log("summary")
    for result in results:
        note = f"  ({result.note})" if result.note else ""
        print(f"  {result.name:<12} {result.passed:>5} passed {result.failed:>4} failed {result.skipped:>4} skipped {result.seconds:>7.1f} s{note}")
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
