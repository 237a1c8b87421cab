"""Shared fixtures of the simulator tests: ``simulator/`` on sys.path, fleets that always stop."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Iterator

import pytest

SIMULATOR_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "simulator"))
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
for path in (SIMULATOR_DIR, TESTS_DIR):
    if path not in sys.path:
        sys.path.insert(0, path)

from whatsminer_sim import Fleet  # noqa: E402
from whatsminer_sim.testing import FleetStarter  # noqa: E402


def pytest_configure(config: Any) -> None:
    """pyasic's pydantic models and its passlib calls warn; that noise is not ours."""
    config.addinivalue_line("filterwarnings", "ignore:Support for class-based `config` is deprecated")
    config.addinivalue_line("filterwarnings", "ignore:passing settings to md5_crypt.hash")


#: Short windows so the suite stays fast.
FAST_CONFIG = {"restart_seconds": 0.25, "reboot_seconds": 0.4, "idle_timeout_s": 2.0}


@pytest.fixture(name="start_fleet")
def fixture_start_fleet() -> Iterator[FleetStarter]:
    """Start fleets (fast timings by default) and stop them after the test."""
    with FleetStarter(FAST_CONFIG) as start:
        yield start


@pytest.fixture(name="fleet3")
def fixture_fleet3(start_fleet: Callable[..., Fleet]) -> Fleet:
    """One miner of each profile: 1.4.x, 2.0.x, 2024."""
    return start_fleet(count=3, profiles=["1.4.x", "2.0.x", "2024"], seed=1)
