"""Reply shapes of each firmware profile compared key by key with the captures of its generation.

Key order is compared only where the capture's provenance says the order is real: the
vendor PDF examples and the asic-rs PR #187 status replies keep real order, the
asic-rs-v1-real files were key-sorted by their committer (names and types only there).
The PDF abbreviates cgminer STATUS objects; real devices send the full form.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from sim_client import read

from whatsminer_sim import Fleet
from whatsminer_sim.profiles import PROFILES, resolve_profiles

CAPTURES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "fixtures", "captures"))
FULL_STATUS_KEYS = ["STATUS", "When", "Code", "Msg", "Description"]
DAEMON_KEYS = ["STATUS", "When", "Code", "Msg", "Description"]


def capture(relative: str) -> Any:
    """Load a capture file (valid JSON ones only)."""
    with open(os.path.join(CAPTURES, relative), encoding="utf-8") as handle:
        return json.load(handle)


def assert_same_shape(ours: dict[str, Any], real: dict[str, Any], ordered: bool, where: str) -> None:
    """Same field names and JSON types; same order when ``ordered``."""
    if ordered:
        assert list(ours) == list(real), where
    else:
        assert sorted(ours) == sorted(real), where
    for name, value in real.items():
        assert type(ours[name]) is type(value), f"{where}: {name} is {type(ours[name]).__name__}, capture has {type(value).__name__}"


def miner_of(fleet: Fleet, profile: str) -> Any:
    """The fleet's miner with ``profile``."""
    return next(miner for miner in fleet.miners if miner.profile == profile)


# --- 1.4.x against the real v1.4.0 device (key-sorted captures) -------------------------

@pytest.mark.parametrize("command, data_key", [("summary", "SUMMARY"), ("devs", "DEVS"), ("edevs", "DEVS"), ("pools", "POOLS")])
def test_v1_cgminer_replies_match_real_device(fleet3: Fleet, command: str, data_key: str) -> None:
    """summary/devs/pools: same names and types per entry, same entry count, full STATUS."""
    real = capture(f"asic-rs-v1-real/{'devs' if command == 'edevs' else command}.json")
    ours = read(miner_of(fleet3, "1.4.x"), command)
    assert list(ours) == ["STATUS", data_key, "id"]
    assert sorted(ours) == sorted(real)
    assert list(ours["STATUS"][0]) == FULL_STATUS_KEYS
    assert_same_shape(ours["STATUS"][0], real["STATUS"][0], ordered=False, where=f"{command} STATUS")
    assert ours["STATUS"][0]["Description"] == "cgminer 4.9.2"
    assert ours["STATUS"][0]["Code"] == real["STATUS"][0]["Code"]
    assert ours["STATUS"][0]["Msg"] == real["STATUS"][0]["Msg"]
    assert len(ours[data_key]) == len(real[data_key])
    for index, (entry, real_entry) in enumerate(zip(ours[data_key], real[data_key])):
        assert_same_shape(entry, real_entry, ordered=False, where=f"{command}[{index}]")


@pytest.mark.parametrize("command", ["get_psu", "get_version", "status"])
def test_v1_daemon_replies_match_real_device(fleet3: Fleet, command: str) -> None:
    """get_psu/get_version/status: same Msg names and types, Description "whatsminer v1.4.0"."""
    real = capture(f"asic-rs-v1-real/{command}.json")
    ours = read(miner_of(fleet3, "1.4.x"), command)
    assert list(ours) == DAEMON_KEYS
    assert ours["Description"] == real["Description"] == "whatsminer v1.4.0"
    assert_same_shape(ours["Msg"], real["Msg"], ordered=False, where=command)


def test_v1_values_like_real_device(fleet3: Fleet) -> None:
    """Quoted Firmware Version, MAC in summary, version strings, btmineroff "true" while hashing."""
    miner = miner_of(fleet3, "1.4.x")
    summary = read(miner, "summary")["SUMMARY"][0]
    assert summary["Firmware Version"] == "'20210322.22.REL'"
    assert summary["MAC"] == miner.state.mac
    assert summary["Error Code Count"] == 0
    assert read(miner, "get_version")["Msg"] == {"api_ver": "whatsminer v1.4.0", "fw_ver": "20210322.22.REL"}
    status = read(miner, "status")
    real_order = capture("asic-rs-pr187-status/status_v1_whatsminer-v1.4.0_fw20220919.15.REL.json")
    assert list(status["Msg"]) == list(real_order["Msg"])
    assert status["Msg"]["btmineroff"] == "true" and summary["MHS 1m"] > 0


def test_v1_btmineroff_can_follow_state(fleet3: Fleet) -> None:
    """btmineroff_report "state": "false" while mining, "true" when stopped."""
    miner = miner_of(fleet3, "1.4.x")
    miner.configure(btmineroff_report="state")
    assert read(miner, "status")["Msg"]["btmineroff"] == "false"
    miner.set_state(mining=False)
    assert read(miner, "status")["Msg"]["btmineroff"] == "true"


def test_v1_error_codes_in_summary(fleet3: Fleet) -> None:
    """1.x reports errors as "Error Code Count" + "Error Code N" in summary."""
    miner = miner_of(fleet3, "1.4.x")
    miner.set_state(error_codes=[110, 600])
    summary = read(miner, "summary")["SUMMARY"][0]
    assert summary["Error Code Count"] == 2
    assert (summary["Error Code 0"], summary["Error Code 1"]) == (110, 600)
    keys = list(summary)
    assert keys.index("Error Code 0") == keys.index("Error Code Count") + 1


@pytest.mark.parametrize("command", ["get_miner_info", "get_error_code", "version", "stats"])
def test_v1_unknown_commands(fleet3: Fleet, command: str) -> None:
    """1.4.x has no get_miner_info / get_error_code: 14 "invalid cmd" like the 1.x captures."""
    real = capture("misc-code-index/error_14_invalid_cmd_stats_whatsminer-v1.3.json")
    ours = read(miner_of(fleet3, "1.4.x"), command)
    assert list(ours) == list(real)
    assert (ours["STATUS"], ours["Code"], ours["Msg"], ours["Description"]) == ("E", 14, "invalid cmd", "whatsminer v1.4.0")


# --- 2.0.x and 2024 against the vendor document (real order) ---------------------------

@pytest.mark.parametrize("profile", ["2.0.x", "2024"])
@pytest.mark.parametrize("command, data_key, capture_name", [
    ("summary", "SUMMARY", "summary"), ("edevs", "DEVS", "edevs"), ("devs", "DEVS", "edevs"),
    ("pools", "POOLS", "pools"), ("devdetails", "DEVDETAILS", "devdetails"),
])
def test_v2_cgminer_replies_match_document(fleet3: Fleet, profile: str, command: str, data_key: str, capture_name: str) -> None:
    """Names, types and order per entry as in API V2.0.5; STATUS in the full real form."""
    real = capture(f"microbt-api-v2.0.5-pdf/{capture_name}.json")
    ours = read(miner_of(fleet3, profile), command)
    assert list(ours) == ["STATUS", data_key, "id"]
    assert list(ours["STATUS"][0]) == FULL_STATUS_KEYS
    status, real_status = ours["STATUS"][0], real["STATUS"][0]
    assert status["STATUS"] == real_status["STATUS"] == "S"
    assert status["Msg"].split()[-1] == real_status["Msg"].split()[-1]  # "3 Pool(s)" vs the document's "1 Pool(s)"
    assert status["Description"] == real_status.get("Description", "cgminer 4.9.2")
    real_entries = real[data_key]
    for index, entry in enumerate(ours[data_key]):
        real_entry = real_entries[min(index, len(real_entries) - 1)]  # the document shows one pool
        assert_same_shape(entry, real_entry, ordered=True, where=f"{profile} {command}[{index}]")
    if capture_name in ("edevs", "devdetails"):
        assert len(ours[data_key]) == len(real_entries) == 3


@pytest.mark.parametrize("profile", ["2.0.x", "2024"])
@pytest.mark.parametrize("command", ["get_psu", "get_version"])
def test_v2_daemon_replies_match_document(fleet3: Fleet, profile: str, command: str) -> None:
    """get_psu/get_version: Msg names, types (all strings) and order as documented."""
    real = capture(f"microbt-api-v2.0.5-pdf/{command}.json")
    ours = read(miner_of(fleet3, profile), command)
    assert list(ours) == list(real)
    assert ours["Description"] == ""
    assert_same_shape(ours["Msg"], real["Msg"], ordered=True, where=f"{profile} {command}")


@pytest.mark.parametrize("profile", ["2.0.x", "2024"])
def test_v2_get_miner_info(fleet3: Fleet, profile: str) -> None:
    """The documented fields in order, then hostname, minersn, powersn of newer firmware."""
    real = capture("microbt-api-v2.0.5-pdf/get_miner_info.json")
    miner = miner_of(fleet3, profile)
    msg = read(miner, "get_miner_info", info="ip,mac")["Msg"]
    documented = list(real["Msg"])
    assert list(msg)[: len(documented)] == documented
    assert list(msg)[len(documented):] == ["hostname", "minersn", "powersn"]
    assert all(isinstance(value, str) for value in msg.values())
    state = miner.state
    assert (msg["mac"], msg["hostname"], msg["minersn"], msg["powersn"], msg["ledstat"]) == (state.mac, state.hostname, state.serial, state.psu_serial, "auto")


@pytest.mark.parametrize("profile, real_file", [
    ("2.0.x", "asic-rs-pr187-status/status_v2_fw20230803.11.REL.json"),
    ("2024", "asic-rs-pr187-status/status_v2_fw20240924.14.Rel.json"),
    ("2024", "asic-rs-fixtures/status_v2_fw20240624.18.REL.json"),
])
def test_v2_status_matches_real_devices(fleet3: Fleet, profile: str, real_file: str) -> None:
    """status: names, string types and real order per generation."""
    real = capture(real_file)
    ours = read(miner_of(fleet3, profile), "status")
    assert list(ours) == list(real)
    assert_same_shape(ours["Msg"], real["Msg"], ordered=True, where=f"{profile} status")


def test_v2_status_values(fleet3: Fleet) -> None:
    """2.0.x: empty power_mode/hash_percent; 2024: filled power_mode, power_limit_set sentinel."""
    v2, v2024 = miner_of(fleet3, "2.0.x"), miner_of(fleet3, "2024")
    msg = read(v2, "status")["Msg"]
    assert (msg["mineroff"], msg["FirmwareVersion"], msg["power_mode"], msg["hash_percent"]) == ("false", "20230803.11.REL", "", "")
    msg = read(v2024, "status")["Msg"]
    assert (msg["FirmwareVersion"], msg["power_mode"], msg["power_limit_set"], msg["hash_percent"]) == ("20240924.14.Rel", "normal", "2147483647", "0")
    v2024.set_state(power_mode="low", power_limit_w=3000)
    msg = read(v2024, "status")["Msg"]
    assert (msg["power_mode"], msg["power_limit_set"]) == ("low", "3000")
    v2024.set_state(power_limit_w=None)
    v2024.configure(no_power_limit_report="99999")
    assert read(v2024, "status")["Msg"]["power_limit_set"] == "99999"


def test_v2_get_error_code_is_valid_json(fleet3: Fleet) -> None:
    """Default get_error_code: {"error_code":[{"<code>":"<datetime>"}]} (valid JSON)."""
    miner = miner_of(fleet3, "2.0.x")
    assert read(miner, "get_error_code")["Msg"] == {"error_code": []}
    miner.set_state(error_codes=[{"code": 329, "time": "2022-01-17 11:28:11"}, {"code": 110, "time": "2022-01-18 01:02:03"}])
    reply = read(miner, "get_error_code")
    assert list(reply) == DAEMON_KEYS
    assert reply["Msg"] == {"error_code": [{"329": "2022-01-17 11:28:11"}, {"110": "2022-01-18 01:02:03"}]}
    assert "Error Code Count" not in read(miner, "summary")["SUMMARY"][0]


def test_v2_get_token_matches_capture_shape(fleet3: Fleet) -> None:
    """get_token Msg has the documented keys in order."""
    real = capture("microbt-api-v2.0.5-pdf/get_token_msg_example.json")
    assert list(read(miner_of(fleet3, "2024"), "get_token")["Msg"]) == list(real)


def test_profile_resolution() -> None:
    """mixed cycles through the three API 2 generations; names are checked; only 3.x has API 3."""
    assert resolve_profiles("mixed", 4) == ["1.4.x", "2.0.x", "2024", "1.4.x"]
    assert resolve_profiles("1.4.x,2024", 3) == ["1.4.x", "2024", "1.4.x"]
    assert resolve_profiles(["2.0.x"], 2) == ["2.0.x", "2.0.x"]
    assert resolve_profiles(["mixed", "3.x"], 4) == ["1.4.x", "2.0.x", "2024", "3.x"]
    assert resolve_profiles("mixed,3.x", 5) == ["1.4.x", "2.0.x", "2024", "3.x", "1.4.x"]
    with pytest.raises(ValueError):
        resolve_profiles("4.x", 1)
    assert set(PROFILES) == {"1.4.x", "2.0.x", "2024", "3.x"}
    assert {name for name, profile in PROFILES.items() if profile.v3_port is not None} == {"3.x"}
    assert PROFILES["3.x"].v3_port == 4433
