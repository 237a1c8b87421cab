# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""whatsminer_facts against simulated miners of every firmware profile, checked against their true state."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_facts
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import AUTO_PROBE, PROFILES, connection_args, connections, tokens
from whatsminer_sim import Fault  # pylint: disable=import-error
from whatsminer_sim.profiles import MODELS  # pylint: disable=import-error

API_VERSIONS = {"1.4.x": "1.4.0", "2.0.x": "2.0.5", "2024": "2.0.5", "3.x": "3.0.2"}
FIRMWARE = {"1.4.x": "20210322.22.REL", "2.0.x": "20230803.11.REL", "2024": "20240924.14.Rel", "3.x": "20250214.16.1"}


def expected_power_limit(profile, truth):
    """What the facts report as the power limit: 2024 and 3.x firmware say "none" (null); older firmware
    reports the effective limit in summary, the model's factory maximum when no lower one was set."""
    if truth.power_limit_w is not None or profile in ("2024", "3.x"):
        return truth.power_limit_w
    return MODELS[truth.model].max_power_limit_w


def miner_of(fleet, profile):
    """The fleet's miner running ``profile``."""
    return next(miner for miner in fleet.miners if miner.profile == profile)


@pytest.mark.parametrize("profile", PROFILES)
def test_all_facts_match_the_true_state(fleet, run_module, profile):
    miner = miner_of(fleet, profile)
    truth = miner.state
    result = run_module(whatsminer_facts.main, connection_args(miner))
    assert not result.failed, result.get("msg")
    assert result["changed"] is False
    facts = result["ansible_facts"]
    assert facts["whatsminer_gather_subset"] == ["device", "status", "pools", "boards", "errors"]

    device = facts["whatsminer_device"]
    assert device["model"] == truth.model
    assert device["firmware_version"] == FIRMWARE[profile]
    assert device["api_version"] == API_VERSIONS[profile]
    assert device["mac"] == truth.mac.upper()
    assert device["ip"] == miner.host
    assert device["hostname"] == (None if profile == "1.4.x" else truth.hostname)
    assert device["serial"] == (None if profile == "1.4.x" else truth.serial)
    assert device["nominal_hashrate_ths"] > 0
    assert device["psu"]["model"]

    status = facts["whatsminer_status"]
    assert status["mining"] is truth.mining is True
    assert status["power_mode"] == truth.power_mode
    assert status["power_limit_w"] == expected_power_limit(profile, truth)
    assert isinstance(status["power_w"], int) and status["power_w"] > 0
    assert isinstance(status["hashrate_ths"], float) and status["hashrate_ths"] > 0
    assert isinstance(status["uptime_s"], int)
    assert isinstance(status["fan_in_rpm"], int)

    configured = [slot for slot in truth.pools if slot.url]
    assert [(pool["url"], pool["user"]) for pool in facts["whatsminer_pools"]] == [(slot.url, slot.user) for slot in configured]
    assert [pool["slot"] for pool in facts["whatsminer_pools"]] == list(range(1, len(configured) + 1))
    assert all(set(pool) >= {"slot", "url", "user", "status", "priority", "active"} for pool in facts["whatsminer_pools"])

    boards = facts["whatsminer_boards"]
    assert len(boards) == 3
    assert all(board["chips"] > 0 and board["hashrate_ths"] > 0 for board in boards)
    assert round(sum(board["hashrate_ths"] for board in boards), 1) == pytest.approx(status["hashrate_ths"], abs=0.5)
    assert facts["whatsminer_errors"] == []
    assert result.warnings == []


@pytest.mark.parametrize("profile", PROFILES)
def test_a_stopped_miner_is_not_mining(start_fleet, run_module, profile):
    miner = start_fleet(count=1, profiles=profile).miners[0]
    miner.set_state(mining=False)
    status = run_module(whatsminer_facts.main, connection_args(miner, gather_subset=["status"]))["ansible_facts"]["whatsminer_status"]
    assert status["mining"] is False
    assert status["hashrate_ths"] == 0
    assert status["mining_flag"] is (None if profile == "1.4.x" else False)


@pytest.mark.parametrize("profile", PROFILES)
def test_power_settings_and_errors_follow_the_true_state(start_fleet, run_module, profile):
    miner = start_fleet(count=1, profiles=profile).miners[0]
    miner.set_state(power_mode="low", power_limit_w=3000, error_codes=[110, 600])
    facts = run_module(whatsminer_facts.main, connection_args(miner, gather_subset=["status", "errors"]))["ansible_facts"]
    assert facts["whatsminer_status"]["power_mode"] == "low"
    assert facts["whatsminer_status"]["power_limit_w"] == 3000
    assert [error["code"] for error in facts["whatsminer_errors"]] == ["110", "600"]
    if profile != "1.4.x":
        assert all(error["time"] for error in facts["whatsminer_errors"])


@pytest.mark.parametrize("profile, pools_only, status_pools_boards", [
    ("2024", 1, 2),  # pools; summary+pools+devs joined, then status
    ("3.x", 1, 3),  # get.miner.status pools; get.miner.status summary+pools+edevs, get.device.info, get.miner.setting
])
def test_subsets_cost_only_their_connections(start_fleet, run_module, profile, pools_only, status_pools_boards):
    miner = start_fleet(count=1, profiles=profile).miners[0]
    before = connections(miner)
    result = run_module(whatsminer_facts.main, connection_args(miner, gather_subset=["pools"]))
    assert set(result["ansible_facts"]) == {"whatsminer_gather_subset", "whatsminer_pools"}
    assert connections(miner) - before == AUTO_PROBE + pools_only
    before = connections(miner)
    result = run_module(whatsminer_facts.main, connection_args(miner, gather_subset=["all", "!device", "!errors"]))
    assert result["ansible_facts"]["whatsminer_gather_subset"] == ["status", "pools", "boards"]
    assert connections(miner) - before == AUTO_PROBE + status_pools_boards
    assert tokens(miner) == 0


def test_bad_subset_fails_before_contacting_the_miner(start_fleet, run_module):
    miner = start_fleet(count=1).miners[0]
    result = run_module(whatsminer_facts.main, connection_args(miner, gather_subset=["pools", "hardware"]))
    assert result.failed
    assert "Bad subset 'hardware'" in result["msg"]
    assert connections(miner) == 0


def test_check_mode_gathers_the_same_facts(fleet, run_module):
    miner = miner_of(fleet, "2024")
    args = connection_args(miner, gather_subset=["device", "pools"])
    assert run_module(whatsminer_facts.main, args, check_mode=True)["ansible_facts"] == run_module(whatsminer_facts.main, args)["ansible_facts"]


def test_unreachable_miner_fails_with_a_clear_message(run_module):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_module(whatsminer_facts.main, {"host": "127.0.0.1", "port": port, "timeout": 1.0, "retries": 0})
    assert result.failed
    assert f"127.0.0.1:{port}" in result["msg"]
    assert "reachable" in result["msg"]
    assert result["miner"]["port"] == port


def test_host_from_environment(fleet, run_module, monkeypatch):
    miner = miner_of(fleet, "2.0.x")
    monkeypatch.setenv("WHATSMINER_HOST", miner.host)
    result = run_module(whatsminer_facts.main, {"port": miner.port, "gather_subset": ["device"]})
    assert result["ansible_facts"]["whatsminer_device"]["model"] == miner.state.model


@pytest.mark.parametrize("args, message", [
    ({"port": 0}, "port must be between 1 and 65535"),
    ({"timeout": 0}, "timeout must be more than 0"),
    ({"retries": -1}, "retries must be between 0 and 10"),
    ({"host": "  "}, "host must not be empty"),
])
def test_bad_connection_options_fail_before_contacting_the_miner(start_fleet, run_module, args, message):
    miner = start_fleet(count=1).miners[0]
    result = run_module(whatsminer_facts.main, {**connection_args(miner), **args})
    assert result.failed
    assert message in result["msg"]
    assert connections(miner) == 0


@pytest.mark.parametrize("profile", PROFILES)
def test_a_miner_without_pools_has_an_empty_pool_list(start_fleet, run_module, profile):
    miner = start_fleet(count=1, profiles=profile).miners[0]
    miner.set_state(pools=[])
    result = run_module(whatsminer_facts.main, connection_args(miner, gather_subset=["pools", "status"]))
    assert result["ansible_facts"]["whatsminer_pools"] == []
    assert result.warnings == []


STABLE_DEVICE_FIELDS = ("model", "firmware_version", "api_version", "mac", "hostname", "serial", "psu")


def stable_facts(facts):
    """The facts that do not move between two reads (live hashrate and temperatures jitter)."""
    status = facts["whatsminer_status"]
    return {
        "device": {name: facts["whatsminer_device"][name] for name in STABLE_DEVICE_FIELDS},
        "status": {name: status[name] for name in ("mining", "power_mode", "power_limit_w")},
        "pools": [(pool["slot"], pool["url"], pool["user"]) for pool in facts["whatsminer_pools"]],
        "boards": [(board["slot"], board["chips"], board["serial"]) for board in facts["whatsminer_boards"]],
        "errors": [error["code"] for error in facts["whatsminer_errors"]],
    }


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("quirk", ["trailing_nul", "trailing_comma", "newline", "missing_comma", "error_code_list", "leading_comma"])
def test_facts_are_the_same_through_every_malformed_json_quirk(start_fleet, run_module, profile, quirk):
    miner = start_fleet(count=1, profiles=profile).miners[0]
    miner.set_state(error_codes=[329])
    baseline = run_module(whatsminer_facts.main, connection_args(miner))
    miner.set_faults([Fault(kind="quirk", quirk=quirk)])
    quirky = run_module(whatsminer_facts.main, connection_args(miner))
    assert not quirky.failed, quirky.get("msg")
    assert quirky.warnings == []
    assert stable_facts(quirky["ansible_facts"]) == stable_facts(baseline["ansible_facts"])
    assert stable_facts(quirky["ansible_facts"])["errors"] == ["329"]


@pytest.mark.parametrize("profile", PROFILES)
def test_truncated_replies_degrade_but_never_crash(start_fleet, run_module, profile):
    miner = start_fleet(count=1, profiles=profile).miners[0]
    miner.set_faults([Fault(kind="quirk", quirk="truncated")])
    result = run_module(whatsminer_facts.main, connection_args(miner))
    assert "Traceback" not in str(result)
    if result.failed:
        assert miner.host in result["msg"]
    else:
        assert set(result["ansible_facts"]["whatsminer_gather_subset"]) == {"device", "status", "pools", "boards", "errors"}
