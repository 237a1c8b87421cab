# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""whatsminer_power against simulated miners of every firmware profile, checked against their true state."""

from __future__ import annotations

import json
import socket
import time

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import WhatsminerClient
from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_power
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import PROFILES, api_port, connection_args, connections, tokens, wire_commands
from whatsminer_sim import wait_for  # pylint: disable=import-error
from whatsminer_sim.profiles import MODELS  # pylint: disable=import-error

PASSWORD = "farm_42"
WRITES = ("power_on", "power_off", "set_low_power", "set_normal_power", "set_high_power", "adjust_power_limit")
WRITES_V3 = ("set.miner.service", "set.miner.power_mode", "set.miner.power_limit")


def power_args(miner, **extra):
    """Module arguments for a simulated miner with the fleet's admin password and a short wait."""
    return connection_args(miner, **{"password": PASSWORD, "wait_timeout": 10.0, **extra})


def sent(result) -> list[str]:
    """The command names of a result."""
    return [entry["command"] for entry in result["commands"]]


def writes_in_log(miner) -> list[str]:
    """The power commands the miner received, in order (API 3 commands on an API 3 miner)."""
    return [entry.command for entry in miner.log if entry.command in WRITES + WRITES_V3]


def true_settings(miner) -> dict:
    """The simulator's true state, in the module's terms (old firmware shows the effective limit)."""
    truth = miner.state
    limit = truth.power_limit_w
    if limit is None and truth.profile not in ("2024", "3.x"):
        limit = MODELS[truth.model].max_power_limit_w
    return {"mining": truth.mining, "mode": truth.power_mode, "power_limit_w": limit}


@pytest.fixture(name="one_miner")
def fixture_one_miner(start_fleet):
    """Start one miner of a profile, with the test admin password."""

    def start(profile, **options):
        return start_fleet(count=1, profiles=profile, password=PASSWORD, **options).miners[0]

    return start


CASES = {
    "stop": ({}, {"mining": False}, ["power_off"], {"mining": False}),
    "start": ({"mining": False}, {"mining": True}, ["power_on"], {"mining": True}),
    "low": ({}, {"mode": "low"}, ["set_low_power"], {"mode": "low"}),
    "high": ({"power_mode": "low"}, {"mode": "high"}, ["set_high_power"], {"mode": "high"}),
    "limit": ({}, {"power_limit": 3000}, ["adjust_power_limit"], {"power_limit_w": 3000}),
    "other-limit": ({"power_limit_w": 3000}, {"power_limit": 3200}, ["adjust_power_limit"], {"power_limit_w": 3200}),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("profile", PROFILES)
def test_each_option_alone(one_miner, run_module, profile, case):
    initial, options, commands, expected = CASES[case]
    miner = one_miner(profile)
    miner.set_state(**initial)
    result = run_module(whatsminer_power.main, power_args(miner, **options))
    assert not result.failed, result.get("msg")
    assert result["changed"] is True and result["verified"] is True
    assert sent(result) == commands
    assert writes_in_log(miner) == wire_commands(miner, commands)
    for name, value in expected.items():
        assert result["after"][name] == value
    assert result["after"] == true_settings(miner)
    assert tokens(miner) == 1

    again = run_module(whatsminer_power.main, power_args(miner, **options))
    assert again["changed"] is False and again["commands"] == []
    assert again["before"] == again["after"] == result["after"]
    assert tokens(miner) == 1  # an unchanged run requests no token
    assert writes_in_log(miner) == wire_commands(miner, commands)


@pytest.mark.parametrize("profile", PROFILES)
def test_resume_with_new_settings_in_order_with_one_token(one_miner, run_module, profile):
    miner = one_miner(profile)
    miner.set_state(mining=False)
    options = {"mining": True, "mode": "low", "power_limit": 3000}
    result = run_module(whatsminer_power.main, power_args(miner, **options), diff=True)
    assert sent(result) == ["power_on", "adjust_power_limit", "set_low_power"]
    assert writes_in_log(miner) == wire_commands(miner, sent(result))
    assert result["commands"][1]["parameters"] == {"power_limit": "3000"}
    assert result["after"] == {"mining": True, "mode": "low", "power_limit_w": 3000} == true_settings(miner)
    assert result["diff"] == {"before": result["before"], "after": result["after"]}
    assert result["before"]["mining"] is False
    assert tokens(miner) == 1
    assert miner.btminer_running()
    assert run_module(whatsminer_power.main, power_args(miner, **options))["changed"] is False


@pytest.mark.parametrize("profile", PROFILES)
def test_curtail_applies_settings_first_and_stops_last(one_miner, run_module, profile):
    miner = one_miner(profile)
    options = {"mining": False, "mode": "high", "power_limit": 3200}
    result = run_module(whatsminer_power.main, power_args(miner, **options))
    assert sent(result) == ["adjust_power_limit", "set_high_power", "power_off"]
    assert writes_in_log(miner) == wire_commands(miner, sent(result))
    assert result["after"] == {"mining": False, "mode": "high", "power_limit_w": 3200} == true_settings(miner)
    assert tokens(miner) == 1
    assert run_module(whatsminer_power.main, power_args(miner, **options))["changed"] is False


@pytest.mark.parametrize("profile", PROFILES)
def test_check_mode_predicts_the_exact_commands(one_miner, run_module, profile):
    miner = one_miner(profile)
    miner.set_state(mining=False)
    options = {"mining": True, "mode": "high", "power_limit": 3100}
    truth_before = true_settings(miner)
    predicted = run_module(whatsminer_power.main, power_args(miner, **options), check_mode=True, diff=True)
    assert predicted["changed"] is True and predicted["verified"] is False
    assert tokens(miner) == 0 and miner.counters.privileged_requests == miner.counters.v3_privileged_requests == 0
    assert true_settings(miner) == truth_before
    assert predicted["diff"]["after"] == {"mining": True, "mode": "high", "power_limit_w": 3100}

    applied = run_module(whatsminer_power.main, power_args(miner, **options), diff=True)
    assert applied["commands"] == predicted["commands"]
    assert applied["after"] == predicted["after"] == true_settings(miner)
    assert applied["diff"] == predicted["diff"]

    unchanged = run_module(whatsminer_power.main, power_args(miner, **options), check_mode=True)
    assert unchanged["changed"] is False and unchanged["commands"] == []


def test_removing_a_limit_where_the_firmware_reports_the_setting(one_miner, run_module):
    miner = one_miner("2024")
    miner.set_state(power_limit_w=3000)
    result = run_module(whatsminer_power.main, power_args(miner, power_limit=99999))
    assert result["commands"] == [{"command": "adjust_power_limit", "parameters": {"power_limit": "99999"}}]
    assert result["before"]["power_limit_w"] == 3000
    assert result["after"]["power_limit_w"] is None and miner.state.power_limit_w is None
    assert run_module(whatsminer_power.main, power_args(miner, power_limit=99999))["changed"] is False


@pytest.mark.parametrize("profile", ["1.4.x", "2.0.x"])
def test_removing_a_limit_where_only_the_effective_limit_shows_fails_before_sending(one_miner, run_module, profile):
    miner = one_miner(profile)
    miner.set_state(power_limit_w=3000)
    result = run_module(whatsminer_power.main, power_args(miner, power_limit=99999, mining=False))
    assert result.failed
    assert "only the effective power limit (3000 W now)" in result["msg"]
    assert "Set power_limit to the model's factory maximum" in result["msg"]
    assert tokens(miner) == 0
    assert miner.state.power_limit_w == 3000 and miner.state.mining is True


@pytest.mark.parametrize("profile", ["1.4.x", "2.0.x"])
def test_the_factory_maximum_is_what_old_firmware_shows_without_a_limit(one_miner, run_module, profile):
    miner = one_miner(profile)
    maximum = MODELS[miner.state.model].max_power_limit_w
    result = run_module(whatsminer_power.main, power_args(miner, power_limit=maximum))
    assert result["changed"] is False and result["before"]["power_limit_w"] == maximum
    assert tokens(miner) == 0


@pytest.mark.parametrize("profile", PROFILES)
def test_a_restart_longer_than_wait_timeout_fails_clearly(one_miner, run_module, profile):
    miner = one_miner(profile)
    miner.configure(restart_seconds=2.0)
    result = run_module(whatsminer_power.main, power_args(miner, mode="low", wait_timeout=1.0))
    assert result.failed
    message = result["msg"]
    if profile == "3.x":  # API 3 confirms set.miner.power_mode; API 2 never answers set_low_power
        assert f"{miner.host}:{api_port(miner)} accepted set_low_power (it confirmed the command), but did not show the wanted state" in message
    else:
        assert f"{miner.host}:{api_port(miner)} did not show the wanted state within wait_timeout (1 s) after set_low_power" in message
    assert "Sent: set_low_power." in message
    assert 'Wanted: mode="low"' in message
    assert "while btminer was not answering (restarting)" in message
    assert "raise wait_timeout" in message
    assert result["changed"] is True
    assert result["commands"] == [{"command": "set_low_power", "parameters": {}}]
    assert result["wanted"] == {"mode": "low"}
    wait_for(miner.btminer_running, timeout=5)
    assert miner.state.power_mode == "low"


@pytest.mark.parametrize("profile", ["1.4.x", "2.0.x"])
def test_a_power_limit_the_model_cannot_take_is_refused_by_the_miner(one_miner, run_module, profile):
    miner = one_miner(profile)
    before = true_settings(miner)
    maximum = MODELS[miner.state.model].max_power_limit_w
    result = run_module(whatsminer_power.main, power_args(miner, power_limit=9000))
    assert result.failed
    assert result["msg"].startswith("The miner refused power_limit 9000 W")
    assert f"above the maximum {maximum} W" in result["msg"]
    assert "Nothing was changed." in result["msg"]
    assert result["miner"]["code"] == 132 and result["changed"] is False
    assert true_settings(miner) == before and miner.btminer_running()


# --- issue 14, item 5: a limit above the model's maximum -------------------------------------------

@pytest.mark.parametrize("profile", ["2024", "3.x"])
def test_a_limit_above_the_maximum_the_miner_shows_fails_before_sending(one_miner, run_module, profile):
    """Firmware that reports the limit setting shows the maximum while no limit is set: check mode and the real run both refuse, nothing sent."""
    miner = one_miner(profile)
    maximum = MODELS[miner.state.model].max_power_limit_w
    before = true_settings(miner)
    options = {"mode": "low", "power_limit": maximum + 1000}
    for check_mode in (True, False):
        result = run_module(whatsminer_power.main, power_args(miner, **options), check_mode=check_mode)
        assert result.failed
        assert f"{miner.host}:{api_port(miner)}: power_limit {maximum + 1000} W is above the maximum of {maximum} W this miner shows" in result["msg"]
        assert "nothing was sent" in result["msg"]
        assert not result.get("changed") and result["before"] == before
    assert tokens(miner) == 0 and writes_in_log(miner) == []
    assert true_settings(miner) == before


@pytest.mark.parametrize("profile", ["2.0.x"])
def test_where_the_maximum_is_not_shown_check_mode_says_so_and_a_refused_limit_changes_nothing(one_miner, run_module, profile):
    """Old firmware shows only the effective limit: check mode warns, the real run sends the limit first, so its refusal leaves the mode."""
    miner = one_miner(profile)
    options = {"mode": "low", "power_limit": 9000}
    predicted = run_module(whatsminer_power.main, power_args(miner, **options), check_mode=True)
    assert predicted["changed"] is True and sent(predicted) == ["adjust_power_limit", "set_low_power"]
    assert len(predicted["uncertain"]) == 1 and "whether it accepts the value is known only when it is sent" in predicted["uncertain"][0]
    assert any("check mode cannot know: power_limit 9000 W" in warning for warning in predicted.warnings)

    result = run_module(whatsminer_power.main, power_args(miner, **options))
    assert result.failed and result["changed"] is False
    assert "The miner refused power_limit 9000 W" in result["msg"] and "Nothing was changed." in result["msg"]
    assert writes_in_log(miner) == ["adjust_power_limit"]
    assert miner.state.power_mode == "normal" and miner.btminer_running()


def test_check_mode_within_the_maximum_names_only_the_unknown_minimum(one_miner, run_module):
    miner = one_miner("2024")
    predicted = run_module(whatsminer_power.main, power_args(miner, power_limit=3000), check_mode=True)
    assert predicted["changed"] is True and predicted.warnings == []
    assert predicted["uncertain"] == [
        "power_limit 3000 W: within the maximum this miner shows (3600 W), but the miner does not report the minimum of its model, "
        "so a value below that minimum would be refused only when it is sent"]


# --- issue 14, item 2: a command the miner confirmed but does not show yet is a change --------------

@pytest.mark.parametrize("profile", ["2024", "3.x"])
def test_a_confirmed_command_not_seen_within_wait_timeout_is_changed(one_miner, run_module, profile):
    miner = one_miner(profile, config={"power_apply_delay_s": 2.0})
    result = run_module(whatsminer_power.main, power_args(miner, power_limit=3000, wait_timeout=0.5))
    assert result.failed and result["changed"] is True
    assert (f"{miner.host}:{api_port(miner)} accepted adjust_power_limit (it confirmed the command), but did not show the wanted state "
            "within wait_timeout (0.5 s): the write was accepted but is not seen yet") in result["msg"]
    assert "Run the task again once the miner has applied the change" in result["msg"]
    assert result["last_seen"] == result["before"]  # the miner still showed the old limit
    wait_for(lambda: miner.state.power_limit_w == 3000 and miner.btminer_running(), timeout=5)
    again = run_module(whatsminer_power.main, power_args(miner, power_limit=3000))
    assert not again.failed and again["changed"] is False


# --- issue 14, item 11: firmware variants the references allow ----------------------------------

@pytest.mark.parametrize("profile", PROFILES)
def test_a_mode_change_without_a_visible_restart_converges(one_miner, run_module, profile):
    """The mode btminer shows decides; no restart needs to be seen (btminer has run for an hour here)."""
    miner = one_miner(profile, config={"power_mode_restart": False})
    miner.set_state(btminer_start_time=time.time() - 3600)
    result = run_module(whatsminer_power.main, power_args(miner, mode="low", wait_timeout=3.0))
    assert not result.failed, result.get("msg")
    assert result["changed"] is True and result["verified"] is True and result["after"]["mode"] == "low"
    assert miner.state.power_mode == "low"
    again = run_module(whatsminer_power.main, power_args(miner, mode="low"))
    assert again["changed"] is False and sent(again) == []


def test_an_empty_power_limit_set_falls_back_to_the_summary_limit(one_miner, run_module):
    """2024 firmware that leaves status.power_limit_set empty: summary's Power Limit decides."""
    miner = one_miner("2024", config={"power_limit_set_report": "empty"})
    result = run_module(whatsminer_power.main, power_args(miner, power_limit=3000, wait_timeout=3.0))
    assert not result.failed, result.get("msg")
    assert result["before"]["power_limit_w"] == MODELS[miner.state.model].max_power_limit_w  # the effective limit
    assert result["after"]["power_limit_w"] == 3000 == miner.state.power_limit_w
    again = run_module(whatsminer_power.main, power_args(miner, power_limit=3000))
    assert again["changed"] is False and sent(again) == []
    removal = run_module(whatsminer_power.main, power_args(miner, power_limit=99999))
    assert removal.failed and "only the effective power limit (3000 W now)" in removal["msg"]


def test_a_refusal_after_applied_commands_says_what_was_applied(one_miner, run_module):
    miner = one_miner("2.0.x")
    miner.set_state(mining=False)
    result = run_module(whatsminer_power.main, power_args(miner, mining=True, power_limit=100))
    assert result.failed
    assert "below the minimum" in result["msg"]
    assert "Already applied before this failure: power_on." in result["msg"]
    assert result["changed"] is True and sent(result) == ["power_on"]
    assert miner.state.mining is True


def test_write_api_disabled(one_miner, run_module):
    miner = one_miner("2.0.x", write_api_enabled=False)
    result = run_module(whatsminer_power.main, power_args(miner, mode="low"))
    assert result.failed
    assert "write API is disabled" in result["msg"] and "Miner API Switch" in result["msg"]
    assert miner.state.power_mode == "normal"


def test_wrong_admin_password(one_miner, run_module):
    miner = one_miner("2024")
    result = run_module(whatsminer_power.main, {**power_args(miner, mining=False), "password": "wrong_1"})
    assert result.failed
    assert "password given to the module is wrong" in result["msg"]
    assert miner.state.mining is True


def test_no_admin_password(one_miner, run_module):
    miner = one_miner("2024")
    args = power_args(miner, mining=False)
    del args["password"]
    result = run_module(whatsminer_power.main, args)
    assert result.failed and "no password was given (the password option" in result["msg"]


def test_token_limit(one_miner, run_module):
    miner = one_miner("2024")
    miner.add_fault(kind="code", code=136, commands=["get_token"])
    result = run_module(whatsminer_power.main, power_args(miner, mode="high"))
    assert result.failed
    assert "refuses to issue another API token" in result["msg"] and "32 per IP address" in result["msg"]


def test_unreachable_miner(run_module):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_module(whatsminer_power.main, {"host": "127.0.0.1", "port": port, "timeout": 1.0, "retries": 0, "mining": True})
    assert result.failed
    assert f"127.0.0.1:{port}" in result["msg"] and "reachable" in result["msg"]


@pytest.mark.parametrize("options, message", [
    ({}, "give at least one of mining, mode, power_limit or power_percent"),
    ({"power_limit": 0}, "or 99999 to remove the limit; got 0"),
    ({"power_limit": 100000}, "got 100000"),
    ({"power_limit": -1}, "got -1"),
    ({"mining": True, "wait_timeout": 0}, "wait_timeout must be more than 0"),
    ({"mining": True, "wait_timeout": 7200}, "at most 3600 seconds"),
    ({"mode": "eco"}, "value of mode must be one of: low, normal, high"),
])
def test_invalid_options_fail_before_contacting_the_miner(one_miner, run_module, options, message):
    miner = one_miner("2024")
    args = {**power_args(miner), **options}
    if "wait_timeout" not in options:
        args.pop("wait_timeout")
    result = run_module(whatsminer_power.main, args)
    assert result.failed
    assert message in result["msg"]
    assert connections(miner) == 0


def test_wait_false_returns_the_prediction_without_reading_back(one_miner, run_module):
    miner = one_miner("2.0.x")
    result = run_module(whatsminer_power.main, power_args(miner, mode="high", wait=False))
    assert result["changed"] is True and result["verified"] is False
    assert result["after"]["mode"] == "high"
    assert miner.log[-1].command == "set_high_power"  # nothing read after the command
    wait_for(lambda: miner.btminer_running() and miner.state.power_mode == "high", timeout=5)


def test_a_lost_reply_is_checked_by_reading_back(one_miner, run_module):
    miner = one_miner("2024")
    miner.add_fault(kind="drop", mode="reset", commands=["power_off"], remaining=1)
    result = run_module(whatsminer_power.main, power_args(miner, mining=False))
    assert not result.failed, result.get("msg")
    assert result["verified"] is True and result["after"]["mining"] is False
    assert miner.state.mining is False


def test_a_restart_in_progress_is_waited_out_first(one_miner, run_module):
    miner = one_miner("2.0.x")
    miner.configure(restart_seconds=1.5)
    WhatsminerClient(miner.host, miner.port, password=PASSWORD, timeout=2.0).privileged("restart_btminer")
    assert not miner.btminer_running()
    result = run_module(whatsminer_power.main, power_args(miner, mode="normal", power_limit=3600))
    assert not result.failed, result.get("msg")
    assert result["changed"] is False
    assert result["before"] == {"mining": True, "mode": "normal", "power_limit_w": 3600}


def test_password_from_the_environment(one_miner, run_module, monkeypatch):
    miner = one_miner("1.4.x")
    monkeypatch.setenv("WHATSMINER_PASSWORD", PASSWORD)
    result = run_module(whatsminer_power.main, connection_args(miner, mining=False, wait_timeout=10.0))
    assert not result.failed, result.get("msg")
    assert miner.state.mining is False


def test_the_admin_password_never_appears_in_the_output(start_fleet, run_module):
    marker = "Qx7_zpW9"
    miner = start_fleet(count=1, profiles="2024", password=marker).miners[0]
    outputs = []
    args = connection_args(miner, password=marker, wait_timeout=10.0)
    outputs.append(run_module(whatsminer_power.main, {**args, "mining": False, "mode": "low"}, diff=True))
    outputs.append(run_module(whatsminer_power.main, {**args, "mining": True, "power_limit": 3000}, check_mode=True, diff=True))
    outputs.append(run_module(whatsminer_power.main, {**args, "power_limit": 9999}))  # refused by the miner
    outputs.append(run_module(whatsminer_power.main, {**args, "password": marker + "x", "mode": "high"}))  # wrong password
    miner.configure(restart_seconds=2.0)
    outputs.append(run_module(whatsminer_power.main, {**args, "mode": "normal", "wait_timeout": 0.5}))  # timeout
    assert [output.failed for output in outputs] == [False, False, True, True, True]
    text = json.dumps(outputs)
    assert marker not in text
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in text  # the password was there, masked
