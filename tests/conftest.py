# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Figures of the reliability suites, printed once at the end of a pytest run.

A test adds numbers to its suite with the ``figures`` fixture::

    figures.add("hostile input", cases=1, connections=0)

The numbers are summed over the whole run, pytest-xdist workers included (each worker sends its
totals to the controller when it ends), and printed after the test summary, one line per suite:
``figures: hostile input: cases=366, connections=0``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

WORKER_OUTPUT_KEY = "whatsminer_figures"


class Figures:
    """Sums of named numbers per suite."""

    def __init__(self) -> None:
        self.suites: dict[str, dict[str, int]] = {}

    def add(self, suite: str, **numbers: int) -> None:
        """Add ``numbers`` to the totals of ``suite``."""
        totals = self.suites.setdefault(suite, {})
        for name, value in numbers.items():
            totals[name] = totals.get(name, 0) + int(value)

    def merge(self, suites: dict[str, dict[str, int]]) -> None:
        """Add the totals of another process (an xdist worker)."""
        for suite, numbers in suites.items():
            self.add(suite, **numbers)

    def lines(self) -> list[str]:
        """One line per suite, in name order."""
        return [f"figures: {suite}: " + ", ".join(f"{name}={value}" for name, value in numbers.items()) for suite, numbers in sorted(self.suites.items())]


FIGURES_KEY = pytest.StashKey[Figures]()


def pytest_configure(config: pytest.Config) -> None:
    """Every process (controller and workers) keeps its own totals."""
    config.stash[FIGURES_KEY] = Figures()


@pytest.fixture(name="figures", scope="session")
def fixture_figures(pytestconfig: pytest.Config) -> Figures:
    """The totals of this process, printed at the end of the run."""
    return pytestconfig.stash[FIGURES_KEY]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its totals to the controller."""
    worker_output: Any = getattr(session.config, "workeroutput", None)
    if worker_output is not None:
        worker_output[WORKER_OUTPUT_KEY] = json.dumps(session.config.stash[FIGURES_KEY].suites)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """The controller adds the totals of a worker that ended (pytest-xdist hook)."""
    del error
    data = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
    if data:
        node.config.stash[FIGURES_KEY].merge(json.loads(data))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures of every suite that recorded some."""
    for line in terminalreporter.config.stash[FIGURES_KEY].lines():
        terminalreporter.write_line(line)
