"""Start a simulated fleet in a child process for the demo and the benchmarks.

The fleet runs ``python -m whatsminer_sim fleet`` from ``simulator/``; it writes an Ansible
inventory and a state file (with its control API's address) once it listens, and it exits by
itself when its lifetime ends even if nobody stops it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

from staging import REPO

READY_TIMEOUT_SECONDS = 60


@contextlib.contextmanager
def running_fleet(workdir: Path, *arguments: str, lifetime: int = 900) -> Iterator[dict]:
    """Run a fleet while the ``with`` block runs; yield its state file's content.

    ``arguments`` go to ``whatsminer_sim fleet`` (e.g. ``--count 24 --profiles mixed``). The
    inventory is ``workdir / "inventory.yml"``.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    state_file = workdir / "fleet-state.json"
    state_file.unlink(missing_ok=True)
    env = dict(os.environ, PYTHONPATH=str(REPO / "simulator"))
    command = [
        sys.executable, "-m", "whatsminer_sim", "fleet",
        "--inventory", str(workdir / "inventory.yml"),
        "--state-file", str(state_file),
        "--control-port", "0",
        "--lifetime", str(lifetime),
        *arguments,
    ]
    with open(workdir / "fleet.log", "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not state_file.exists():
            if process.poll() is not None:
                raise RuntimeError(f"the simulated fleet exited with {process.returncode}; see {workdir / 'fleet.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the simulated fleet did not start within {READY_TIMEOUT_SECONDS} s; see {workdir / 'fleet.log'}")
            time.sleep(0.1)
        yield json.loads(state_file.read_text(encoding="utf-8"))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def control_request(fleet: dict, path: str, method: str = "GET", body: Any = None) -> Any:
    """One request to the simulator's control API (loopback); the decoded JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{fleet['control_url']}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:  # loopback control API of the simulator
        return json.loads(response.read())
