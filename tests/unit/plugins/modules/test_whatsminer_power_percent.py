# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""whatsminer_power power_percent on every firmware profile, checked against the simulator's true state.

API 3 firmware reports the percentage (get.miner.setting): compared, written, read back. API 2
firmware does not: the module fails before sending anything, or with power_percent_unreadable=send
sends it unverified and reports changed on every run.
"""

from __future__ import annotations

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_power
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import API2_PROFILES, connection_args, tokens

PASSWORD = "farm_42"
PERCENT_WRITES = ("set_power_pct", "set_power_pct_v2", "set.miner.power_percent")


def power_args(miner, **extra):
    return connection_args(miner, **{"password": PASSWORD, "wait_timeout": 10.0, **extra})


def percent_writes(miner) -> list[str]:
    return [entry.command for entry in miner.log if entry.command in PERCENT_WRITES]


@pytest.fixture(name="one_miner")
def fixture_one_miner(start_fleet):
    def start(profile, **options):
        return start_fleet(count=1, profiles=profile, password=PASSWORD, **options).miners[0]
    return start


def test_api3_reads_writes_and_verifies_the_percentage(one_miner, run_module):
    miner = one_miner("3.x")
    predicted = run_module(whatsminer_power.main, power_args(miner, power_percent=40), check_mode=True, diff=True)
    assert predicted["changed"] is True and predicted["verified"] is False
    assert predicted["diff"] == {"before": {"mining": True, "mode": "normal", "power_limit_w": None, "power_percent": 100},
                                 "after": {"mining": True, "mode": "normal", "power_limit_w": None, "power_percent": 40}}
    assert percent_writes(miner) == [] and tokens(miner) == 0 and miner.state.power_pct is None

    result = run_module(whatsminer_power.main, power_args(miner, power_percent=40), diff=True)
    assert not result.failed, result.get("msg")
    assert result["changed"] is True and result["verified"] is True
    assert result["commands"] == [{"command": "set_power_pct", "parameters": {"percent": "40"}}]
    assert result["after"] == predicted["after"] and miner.state.power_pct == 40
    assert percent_writes(miner) == ["set.miner.power_percent"]
    assert result["power_w"]["after"] < result["power_w"]["before"]

    again = run_module(whatsminer_power.main, power_args(miner, power_percent=40))
    assert again["changed"] is False and again["commands"] == [] and again["before"]["power_percent"] == 40
    assert percent_writes(miner) == ["set.miner.power_percent"]

    restored = run_module(whatsminer_power.main, power_args(miner, power_percent=100))
    assert restored["changed"] is True and restored["after"]["power_percent"] == 100 and miner.state.power_pct is None


def test_api3_normal_mode_is_verified_once_applied(one_miner, run_module):
    miner = one_miner("3.x")
    result = run_module(whatsminer_power.main, power_args(miner, power_percent=70, power_percent_mode="normal"))
    assert result["changed"] is True and result["verified"] is True
    assert result["commands"] == [{"command": "set_power_pct_v2", "parameters": {"percent": "70"}}]
    assert miner.state.power_pct == 70 and result["after"]["power_percent"] == 70
    assert "power_percent" not in run_module(whatsminer_power.main, power_args(miner, mining=True))["after"]  # only when managed


@pytest.mark.parametrize("profile", API2_PROFILES)
def test_api2_fails_clearly_and_sends_nothing_by_default(one_miner, run_module, profile):
    miner = one_miner(profile)
    for check_mode in (True, False):
        result = run_module(whatsminer_power.main, power_args(miner, power_percent=50), check_mode=check_mode)
        assert result.failed and "does not report its power percentage" in result["msg"]
        assert "power_percent_unreadable=send" in result["msg"] and "nothing was sent" in result["msg"]
    assert percent_writes(miner) == [] and tokens(miner) == 0 and miner.state.power_pct is None


@pytest.mark.parametrize("profile", API2_PROFILES)
def test_api2_sends_unverified_only_when_asked_and_says_so_every_run(one_miner, run_module, profile):
    miner = one_miner(profile)
    args = power_args(miner, power_percent=50, power_percent_unreadable="send")
    predicted = run_module(whatsminer_power.main, args, check_mode=True)
    assert predicted["changed"] is True and predicted["after"]["power_percent"] == 50 and predicted["before"]["power_percent"] is None
    assert percent_writes(miner) == []
    for run in (1, 2):
        result = run_module(whatsminer_power.main, args)
        assert not result.failed, result.get("msg")
        assert result["changed"] is True and result["verified"] is False
        assert result["before"]["power_percent"] is None and result["after"]["power_percent"] == 50
        assert any("does not report its power percentage" in warning for warning in result.warnings)
        assert miner.state.power_pct == 50 and percent_writes(miner) == ["set_power_pct"] * run


def test_out_of_range_percent_is_refused_before_contact(one_miner, run_module):
    miner = one_miner("3.x")
    for value in (0, 101):
        result = run_module(whatsminer_power.main, power_args(miner, power_percent=value))
        assert result.failed and "power_percent must be between 1 and 100" in result["msg"]
    assert len(miner.log) == 0
