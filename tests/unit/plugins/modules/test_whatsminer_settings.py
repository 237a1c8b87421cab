# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""whatsminer_settings against simulated miners of every firmware profile, checked against their true state."""

from __future__ import annotations

import contextlib

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _settings
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_facts, whatsminer_settings
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.fake_time import FakeClock
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import PROFILES, connection_args, connections
from whatsminer_sim.profiles import REPORTED_SETTINGS  # pylint: disable=import-error

PASSWORD = "farm_42"
BERLIN = {"timezone": "Europe/Berlin", "timezone_posix": "CET-1CEST,M3.5.0,M10.5.0/3"}


def settings_args(miner, **extra):
    """Module arguments for a simulated miner with the fleet's password and a short wait."""
    return connection_args(miner, **{"password": PASSWORD, "wait_timeout": 10.0, **extra})


def writes_in_log(miner) -> list[str]:
    """The write commands the miner received (API 2 and API 3 names), in order."""
    return [entry.command for entry in miner.log if entry.command.startswith("set") or entry.command.startswith(("enable_", "disable_", "adjust_"))
            or entry.command == "reboot"]


@pytest.fixture(name="one_miner")
def fixture_one_miner(start_fleet):
    """Start one miner of a profile, with the test password (API 3 factory-password gate on)."""

    def start(profile, **options):
        return start_fleet(count=1, profiles=profile, password=PASSWORD, **options).miners[0]

    return start


#: option -> (module value, true-state fields it sets)
CASES = {
    "fast_boot": (True, {"fast_boot": True}),
    "web_pools": (False, {"web_pools": False}),
    "temperature_offset": (-12, {"temp_offset": -12}),
    "fan_poweroff_cool": (True, {"poweroff_cool": True}),
    "fan_zero_speed": (True, {"fan_zero_speed": True}),
    "upfreq_speed": (5, {"upfreq_speed": 5}),
    "led": ("locate", {"led": "manual"}),
}


@pytest.mark.parametrize("option", CASES)
@pytest.mark.parametrize("profile", PROFILES)
def test_each_setting_where_reported_is_idempotent_and_where_not_is_left_alone(one_miner, run_module, profile, option):
    value, truth = CASES[option]
    miner = one_miner(profile)
    before_state = miner.state
    result = run_module(whatsminer_settings.main, settings_args(miner, **{option: value}), diff=True)
    assert not result.failed, result.get("msg")
    if option in REPORTED_SETTINGS[profile]:
        assert result["changed"] is True and result["updated"] == [option] and result["unverified"] == []
        assert result["after"] == {option: value}
        assert result["diff"] == {"before": result["before"], "after": result["after"]}
        for field, expected in truth.items():
            assert getattr(miner.state, field) == expected
        writes = writes_in_log(miner)
        again = run_module(whatsminer_settings.main, settings_args(miner, **{option: value}))
        assert again["changed"] is False and again["commands"] == [] and again["before"] == again["after"] == {option: value}
        assert writes_in_log(miner) == writes
    else:
        assert result["changed"] is False and result["unverified"] == [option] and result["commands"] == []
        assert result["before"] == {option: None}
        assert any("does not report" in warning for warning in result.warnings)
        assert writes_in_log(miner) == []
        for field in truth:
            assert getattr(miner.state, field) == getattr(before_state, field)


@pytest.mark.parametrize("profile", ["1.4.x", "2024"])
def test_unreported_setting_written_only_when_asked(one_miner, run_module, profile):
    """update_unverifiable: always writes what the firmware does not report, on every run, and says so."""
    miner = one_miner(profile)
    args = settings_args(miner, temperature_offset=-7, update_unverifiable="always", **BERLIN)
    for _run in range(2):
        result = run_module(whatsminer_settings.main, args)
        assert result["changed"] is True and result["unverified"] == ["timezone", "temperature_offset"]
        assert [command["command"] for command in result["commands"]] == ["set_zone", "set_temp_offset"]
    state = miner.state
    assert (state.temp_offset, state.timezone, state.zonename) == (-7, BERLIN["timezone_posix"], "Europe/Berlin")


@pytest.mark.parametrize("profile", ["2024", "3.x"])
def test_hostname_reboots_last_and_is_read_back(one_miner, run_module, profile):
    miner = one_miner(profile)
    args = settings_args(miner, hostname="rack1-a01", fast_boot=True)
    check = run_module(whatsminer_settings.main, args, check_mode=True, diff=True)
    assert check["changed"] is True and writes_in_log(miner) == []
    result = run_module(whatsminer_settings.main, args, diff=True)
    assert not result.failed, result.get("msg")
    assert result["updated"] == check["updated"] == ["fast_boot", "hostname"]
    assert result["commands"] == check["commands"]
    assert result["commands"][-1]["command"] == ("set.system.reboot" if profile == "3.x" else "reboot")
    assert result["after"] == check["after"] == {"hostname": "rack1-a01", "fast_boot": True}
    assert result["diff"] == check["diff"]
    assert result["rebooted"] is True and miner.state.hostname == "rack1-a01"
    again = run_module(whatsminer_settings.main, args)
    assert again["changed"] is False and again["commands"] == []


def test_api3_everything_in_one_run_then_nothing(one_miner, run_module):
    miner = one_miner("3.x")
    args = settings_args(
        miner, ntp_servers=["ntp1.farm.example", "ntp2.farm.example"], web_pools=False, temperature_offset=-5,
        fan_poweroff_cool=True, fan_zero_speed=True, upfreq_speed=10, led="locate",
        led_pattern=[{"color": "green", "period": 800, "duration": 400}], **BERLIN,
    )
    check = run_module(whatsminer_settings.main, args, check_mode=True)
    assert writes_in_log(miner) == []
    result = run_module(whatsminer_settings.main, args)
    assert not result.failed, result.get("msg")
    assert result["updated"] == check["updated"] and result["after"] == check["after"] and result["commands"] == check["commands"]
    assert result["unverified"] == [] and result["rebooted"] is False
    state = miner.state
    assert state.ntp_servers == ["ntp1.farm.example", "ntp2.farm.example"]
    assert (state.timezone, state.zonename, state.upfreq_speed, state.led_settings["color"]) == (
        BERLIN["timezone_posix"], "Europe/Berlin", 10, "green")
    again = run_module(whatsminer_settings.main, args)
    assert again["changed"] is False, again["updated"]


def test_api2_refuses_what_it_cannot_set_before_sending(one_miner, run_module):
    miner = one_miner("2024")
    for options in ({"ntp_servers": ["ntp1.farm.example"]}, {"upfreq_speed": 10}):
        result = run_module(whatsminer_settings.main, settings_args(miner, **options))
        assert result.failed and "nothing was sent" in result["msg"]
    assert writes_in_log(miner) == []


def test_refused_value_names_the_miner_and_what_was_sent(one_miner, run_module):
    """A miner refusing the write (write API switched off): the task fails naming the miner, the setting stays."""
    miner = one_miner("3.x")
    miner.set_state(write_api_enabled=False)
    result = run_module(whatsminer_settings.main, settings_args(miner, fan_zero_speed=True))
    assert result.failed and miner.host in result["msg"]
    assert miner.state.fan_zero_speed is False


@pytest.mark.parametrize("options", [
    {},
    {"hostname": "-bad"},
    {"hostname": "a" * 64},
    {"temperature_offset": 5},
    {"temperature_offset": -31},
    {"upfreq_speed": 11},
    {"fast_boot": True, "upfreq_speed": 3},
    {"ntp_servers": ["bad server"]},
    {"ntp_servers": []},
    {"timezone_posix": "UTC0"},
    {"timezone": "Mars/Olympus_Mons"},
    {"led": "locate", "led_pattern": [{"color": "red", "period": 100, "duration": 200}]},
])
def test_bad_input_sends_nothing(start_fleet, run_module, options):
    miner = start_fleet(count=1, profiles="3.x", password=PASSWORD).miners[0]
    result = run_module(whatsminer_settings.main, settings_args(miner, **options))
    assert result.failed
    assert connections(miner) == 0


def test_posix_timezone_from_zoneinfo(tmp_path):
    zone = tmp_path / "Test" / "Zone"
    zone.parent.mkdir()
    zone.write_bytes(b"TZif2" + b"\0" * 40 + b"\nXYZ-3\n")
    assert _settings.posix_timezone("Test/Zone", (str(tmp_path),)) == "XYZ-3"
    assert _settings.posix_timezone("../etc/passwd", (str(tmp_path),)) is None
    assert _settings.posix_timezone("Nope", (str(tmp_path),)) is None


@pytest.mark.parametrize("profile", PROFILES)
def test_facts_settings_subset_uses_the_same_names(one_miner, run_module, profile):
    """whatsminer_facts gather_subset settings: the module's names, null exactly where the firmware does not report."""
    miner = one_miner(profile)
    miner.set_state(hostname="rack2-b07", fast_boot=True, temp_offset=-4)
    result = run_module(whatsminer_facts.main, connection_args(miner, gather_subset=["settings"]))
    assert not result.failed, result.get("msg")
    facts = result["ansible_facts"]["whatsminer_settings"]
    assert sorted(facts) == sorted(_settings.SETTINGS)
    expected = {"hostname": "rack2-b07", "fast_boot": True, "temperature_offset": -4, "led": "auto", "upfreq_speed": 0,
                "web_pools": True, "fan_poweroff_cool": False, "fan_zero_speed": False, "timezone": "Asia/Shanghai"}
    for name, value in expected.items():
        assert facts[name] == (value if name in REPORTED_SETTINGS[profile] else None), name
    assert (facts["timezone_posix"] is not None) == ("timezone" in REPORTED_SETTINGS[profile])
    assert "settings" not in run_module(whatsminer_facts.main, connection_args(miner, gather_subset=["all"]))["ansible_facts"]["whatsminer_gather_subset"]


@pytest.mark.parametrize("profile", ["2.0.x", "2024"])
def test_facts_settings_subset_reuses_the_replies_of_the_other_subsets_on_api2(one_miner, run_module, profile):
    """On API 2 the settings come from get_miner_info and summary: with device and status gathered too, nothing is read twice."""
    miner = one_miner(profile)
    miner.set_state(hostname="rack2-b07", fast_boot=True)
    args = connection_args(miner, api_version="2")
    before = connections(miner)
    without = run_module(whatsminer_facts.main, dict(args, gather_subset=["device", "status"]))
    cost_without = connections(miner) - before
    before = connections(miner)
    both = run_module(whatsminer_facts.main, dict(args, gather_subset=["device", "status", "settings"]))
    assert not without.failed and not both.failed, both.get("msg")
    assert connections(miner) - before == cost_without
    assert both["ansible_facts"]["whatsminer_settings"]["hostname"] == "rack2-b07"
    assert both["ansible_facts"]["whatsminer_settings"]["fast_boot"] is True
    assert both["ansible_facts"]["whatsminer_device"] == without["ansible_facts"]["whatsminer_device"]


@pytest.mark.parametrize("profile, write", [("2024", "enable_btminer_fast_boot"), ("3.x", "set.miner.fastboot")])
def test_lost_reply_is_decided_by_the_read_back(one_miner, run_module, profile, write):
    """The miner took the write but its reply was lost: the read back shows it, so the change is reported, with a warning."""
    miner = one_miner(profile)
    miner.add_fault(kind="drop", mode="close", commands=[write])
    result = run_module(whatsminer_settings.main, settings_args(miner, fast_boot=True))
    assert not result.failed, result.get("msg")
    assert result["changed"] is True and result["after"] == {"fast_boot": True} and miner.state.fast_boot is True
    assert any("was lost" in warning for warning in result.warnings)


class IgnoringMiner:
    """An API 2 miner that accepts every write and keeps showing fast boot off (firmware ignoring the setting)."""

    host, port, api_version, accept_truncated = "192.0.2.7", 4028, 2, False

    def __init__(self):
        self.sent = []

    def protocol_client(self):
        return self

    def time_limit(self, seconds):
        del seconds
        return contextlib.nullcontext()

    def read(self, command):
        if command == "get_miner_info":
            return {"Msg": {"hostname": "WhatsMiner", "ledstat": "auto"}}
        return {"SUMMARY": [{"Btminer Fast Boot": "disable"}]}

    def privileged(self, command, **params):
        self.sent.append(command)
        return {"Code": 131}


def test_a_write_the_miner_does_not_show_fails_changed_after_the_bounded_wait():
    clock = FakeClock()
    miner = IgnoringMiner()
    with pytest.raises(ModuleFailure) as failure:
        _settings.manage_settings(miner, {"fast_boot": True, "wait_timeout": 20.0}, False, False, clock=clock, sleep=clock.sleep)
    assert miner.sent == ["enable_btminer_fast_boot"]
    assert failure.value.details["changed"] is True
    assert "did not show it within wait_timeout (20 s)" in failure.value.message and "192.0.2.7" in failure.value.message
    assert 0 < clock() - 1000.0 <= 20.0
