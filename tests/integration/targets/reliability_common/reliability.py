# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared helpers of the reliability targets (fault matrix, secret hygiene, partial fleet and load).

Imported by the Python scripts of the ``reliability_*`` targets (which put this folder on
``sys.path``), and run as a script for one job of its own::

    python reliability.py blackhole --port-file FILE --lifetime SECONDS

starts a loopback listener that never accepts a connection and whose accept queue is full, so
that connecting to it times out: the only way to produce a real connect timeout on loopback
without a firewall (Linux drops the SYN of a connection its full accept queue cannot take).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable
from xml.etree import ElementTree

HTTP_TIMEOUT_S = 10.0
#: Connections that fill the blackhole's accept queue (backlog 0 takes one; the rest keep it busy).
BLACKHOLE_FILLERS = 4


# ---------------------------------------------------------------------------------------------
# The simulator's control API (the test oracle)


class ControlApi:
    """Client of a simulated fleet's control API (``FLEET_CONTROL_URL``): true state, faults, logs."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # nosec: loopback control API of the test fleet
            return json.load(response)

    def miners(self) -> list[dict]:
        """Every miner: name, host, port, profile, model, state, config, counters."""
        return self._request("GET", "/miners")["miners"]

    def miner(self, name: str) -> dict:
        """One miner, as ``miners`` shows it."""
        return self._request("GET", f"/miners/{name}")

    def patch(self, name: str, *, state: dict | None = None, config: dict | None = None, faults: list | None = None) -> dict:
        """Change the true state, the settings or the fault rules of a miner (all or nothing)."""
        body: dict[str, Any] = {}
        if state:
            body["state"] = state
        if config:
            body["config"] = config
        if faults is not None:
            body["faults"] = faults
        return self._request("PATCH", f"/miners/{name}", body)

    def reset(self, name: str) -> dict:
        """Back to the initial state and settings, tokens and command log cleared."""
        return self._request("POST", f"/miners/{name}/reset", {"clear_log": True})

    def log(self, name: str) -> list[dict]:
        """The commands the miner received (names, codes; never parameters)."""
        return self._request("GET", f"/miners/{name}/log")["log"]


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds have passed; return whether it became true."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# Records of the reliability_record callback


def read_records(path: str | Path) -> list[dict]:
    """The JSON lines the ``reliability_record`` callback wrote (an absent file is no records)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def task_results(records: Iterable[dict], task: str | None = None) -> dict[str, dict]:
    """``{host: record}`` of the result records (of one task when ``task`` names it; the last one per host)."""
    return {record["host"]: record for record in records if record["kind"] == "result" and (task is None or record["task"] == task)}


def recaps(records: Iterable[dict]) -> list[dict[str, dict]]:
    """The recap of each playbook run, in order: ``{host: {"ok": n, "changed": n, "failed": n, ...}}``."""
    return [record["hosts"] for record in records if record["kind"] == "recap"]


def warning_texts(result: dict) -> list[str]:
    """The texts of a result's warnings (plain strings, or ansible-core 2.19 warning summaries)."""
    texts = []
    for warning in result.get("warnings") or []:
        if isinstance(warning, dict):
            event = warning.get("event") or {}
            texts.append(str(event.get("msg", warning)))
        else:
            texts.append(str(warning))
    return texts


#: What ansible-core 2.19 puts in ``exception`` of a failed module result that raised nothing.
NO_TRACEBACK = "(traceback unavailable)"


def traceback_in(result: dict) -> str | None:
    """Why a result shows a crash (a traceback, an exception, a module failure), or ``None``.

    A failed task of ansible-core 2.19 always has ``exception``; only its placeholder
    (``NO_TRACEBACK``) means that nothing was raised.
    """
    text = json.dumps(result, default=str)
    if "Traceback (most recent call last)" in text:
        return "a Python traceback"
    if result.get("exception") not in (None, "", NO_TRACEBACK):
        return f"an exception ({str(result['exception'])[:200]})"
    if "module_stderr" in result:
        return "output of a crashed module (module_stderr)"
    message = str(result.get("msg", ""))
    for marker in ("MODULE FAILURE", "Unexpected failure", "Task failed: Action failed", "unhandled exception"):
        if marker in message:
            return f"'{marker}'"
    return None


# ---------------------------------------------------------------------------------------------
# Reporting


def print_table(headers: list[str], rows: Iterable[Iterable[Any]], *, title: str | None = None) -> None:
    """Print rows as a plain-text table with aligned columns."""
    text_rows = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(header)] + [len(row[index]) for row in text_rows]) for index, header in enumerate(headers)]
    if title:
        print(f"\n{title}")
    print("  ".join(header.ljust(width) for header, width in zip(headers, widths)).rstrip())
    print("  ".join("-" * width for width in widths))
    for row in text_rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    sys.stdout.flush()


@dataclass
class Checks:
    """Named checks of a suite: every failure is kept and printed; ``exit_status`` ends the script."""

    suite: str
    passed: int = 0
    failures: list[str] = field(default_factory=list)

    def check(self, condition: bool, name: str, detail: str = "") -> bool:
        """Record one check; return the condition."""
        if condition:
            self.passed += 1
        else:
            self.failures.append(f"{name}: {detail}" if detail else name)
        return condition

    def report(self) -> int:
        """Print the failures and the count, add the suite to the JUnit results; return the exit status (0 when every check passed)."""
        for failure in self.failures:
            print(f"FAILED CHECK [{self.suite}] {failure}")
        print(f"{self.suite}: {self.passed} checks passed, {len(self.failures)} failed")
        sys.stdout.flush()
        self.write_junit(os.environ.get("JUNIT_OUTPUT_DIR"))
        return 1 if self.failures else 0

    def write_junit(self, directory: str | None) -> None:
        """One test case for the suite in ``directory`` (ansible-test's JUnit folder, which ``make test`` counts).

        The reliability plays run without ansible-test's junit callback (their failures are the
        subject of the test, not test failures); their checks are reported here instead.
        """
        if not directory:
            return
        suite = ElementTree.Element("testsuite", name="reliability", tests="1", failures=str(int(bool(self.failures))), errors="0", skipped="0")
        case = ElementTree.SubElement(suite, "testcase", classname="reliability", name=f"{self.suite} ({self.passed + len(self.failures)} checks)")
        if self.failures:
            failure = ElementTree.SubElement(case, "failure", message=f"{len(self.failures)} checks failed")
            failure.text = "\n".join(self.failures)
        slug = re.sub(r"[^a-z0-9]+", "-", self.suite.lower()).strip("-")
        Path(directory).mkdir(parents=True, exist_ok=True)
        ElementTree.ElementTree(suite).write(Path(directory) / f"reliability-{slug}.xml", encoding="unicode")


# ---------------------------------------------------------------------------------------------
# The blackhole listener (connect timeouts on loopback)


@dataclass
class Blackhole:
    """A loopback listener whose full accept queue makes every new connection attempt time out."""

    port: int
    sockets: list[socket.socket]

    def close(self) -> None:
        """Close the listener and its filler connections."""
        for sock in self.sockets:
            sock.close()


def open_blackhole(host: str = "127.0.0.1") -> Blackhole:
    """Listen with a backlog of 0 and fill the accept queue with connections nobody accepts."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((host, 0))
    listener.listen(0)
    sockets = [listener]
    port = listener.getsockname()[1]
    for _filler in range(BLACKHOLE_FILLERS):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        try:
            filler.connect((host, port))
        except BlockingIOError:
            pass
        sockets.append(filler)
    return Blackhole(port, sockets)


def connect_times_out(port: int, timeout: float = 0.5) -> bool:
    """Whether a connection to ``127.0.0.1:port`` times out (the blackhole works on this kernel)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return False
    except TimeoutError:
        return True
    except OSError:
        return False


def serve_blackhole(port_file: Path, lifetime: float) -> int:
    """Open a blackhole, write its port to ``port_file`` once it works, and hold it for ``lifetime`` seconds."""
    blackhole = open_blackhole()
    try:
        if not wait_until(lambda: connect_times_out(blackhole.port), timeout=5.0, interval=0.0):
            print("the blackhole listener accepts connections on this system; connect timeouts cannot be produced", file=sys.stderr)
            return 1
        temporary = port_file.with_suffix(".tmp")
        temporary.write_text(str(blackhole.port))
        os.replace(temporary, port_file)
        deadline = time.monotonic() + lifetime
        while time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    finally:
        blackhole.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: ``blackhole``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    blackhole = commands.add_parser("blackhole", help="hold a listener whose connections time out")
    blackhole.add_argument("--port-file", type=Path, required=True)
    blackhole.add_argument("--lifetime", type=float, default=600.0)
    options = parser.parse_args(argv)
    return serve_blackhole(options.port_file, options.lifetime)


if __name__ == "__main__":
    sys.exit(main())
