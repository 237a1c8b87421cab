# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the action plugin tests: simulated miners of every firmware profile."""

from __future__ import annotations

from typing import Iterator

import pytest

from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import FAST_CONFIG, PROFILES, Fleet


@pytest.fixture(name="fleet", scope="module")
def fixture_fleet() -> Iterator[Fleet]:
    """One miner of each firmware profile (1.4.x, 2.0.x, 2024), shared by the tests of a file; reset them before use."""
    fleet = Fleet.start(count=len(PROFILES), profiles=list(PROFILES), seed=11, address_mode="ports", config=FAST_CONFIG, v3_password="admin")
    yield fleet
    fleet.stop()
