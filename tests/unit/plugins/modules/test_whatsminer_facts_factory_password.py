# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The opt-in factory_password subset of whatsminer_facts: one authentication with the factory password, nothing changed."""

from __future__ import annotations

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_facts
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import PROFILES, connection_args, tokens

FACTORY = {"3.x": "super"}


def factory_of(profile):
    return FACTORY.get(profile, "admin")


@pytest.mark.parametrize("factory", [True, False])
@pytest.mark.parametrize("profile", PROFILES)
def test_audit_tells_whether_the_factory_password_works(start_fleet, run_module, profile, factory):
    password = factory_of(profile) if factory else "farm_1"
    miner = start_fleet(count=1, profiles=profile, password=password, config={"factory_password_gate": True}).miners[0]
    state_before = miner.state
    result = run_module(whatsminer_facts.main, connection_args(miner, gather_subset=["factory_password"]))
    assert not result.failed, result.get("msg")
    audit = result["ansible_facts"]["whatsminer_factory_password"]
    assert audit["accepted"] is factory
    assert audit["account"] == ("super" if profile == "3.x" else "admin")
    assert result["ansible_facts"]["whatsminer_gather_subset"] == ["factory_password"]
    # One token (API 2) or one salt read (API 3); API 3's client reads the salt again after a refused
    # signature, to tell a changed salt from a wrong password.
    assert tokens(miner) == (2 if profile == "3.x" and not factory else 1)
    assert miner.state == state_before  # nothing changed
    assert result["changed"] is False


def test_all_does_not_include_the_audit(fleet, run_module):
    miner = fleet.miners[2]
    before = tokens(miner)
    result = run_module(whatsminer_facts.main, connection_args(miner))
    assert "whatsminer_factory_password" not in result["ansible_facts"]
    assert tokens(miner) == before


def test_audit_next_to_all(start_fleet, run_module):
    miner = start_fleet(count=1, profiles="2024").miners[0]
    result = run_module(whatsminer_facts.main, connection_args(miner, gather_subset=["all", "factory_password"]))
    facts = result["ansible_facts"]
    assert facts["whatsminer_factory_password"]["accepted"] is True
    assert facts["whatsminer_gather_subset"] == ["device", "status", "pools", "boards", "errors", "factory_password"]
    assert facts["whatsminer_device"]["model"]


def test_api2_with_the_write_api_off_is_unknown(start_fleet, run_module):
    miner = start_fleet(count=1, profiles="2024", write_api_enabled=False).miners[0]
    result = run_module(whatsminer_facts.main, connection_args(miner, gather_subset=["factory_password"]))
    assert result["ansible_facts"]["whatsminer_factory_password"]["accepted"] is None
    assert any("write API is switched off" in warning for warning in result.warnings)
