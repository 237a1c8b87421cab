# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Normalizers of _miner_state against the vendor's examples and real devices' replies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _miner_state as state
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.parsing import parse_reply_detailed

CAPTURES = Path(__file__).resolve().parents[3] / "fixtures" / "captures"


def capture(name: str) -> dict:
    """A capture file that is valid JSON."""
    return json.loads((CAPTURES / name).read_text(encoding="utf-8"))


V1 = "asic-rs-v1-real"
DOC = "microbt-api-v2.0.5-pdf"
STATUS = "asic-rs-pr187-status"


# --- converters -------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (3417, 3417), ("3300", 3300), (3593.6, 3594), ("", None), (None, None), ("n/a", None),
    (True, None), ("'42'", 42), (float("nan"), None), ("inf", None),
])
def test_to_int(value, expected):
    assert state.to_int(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("true", True), ("false", False), ("Y", True), ("enable", True), ("disable", False),
    (1, True), (0, False), (True, True), ("", None), ("maybe", None), (None, None),
])
def test_to_bool(value, expected):
    assert state.to_bool(value) is expected


@pytest.mark.parametrize("value, expected", [
    ("c4:08:28:00:a4:19", "C4:08:28:00:A4:19"), ("C4-08-28-00-A4-19", "C4:08:28:00:A4:19"),
    ("c40828 00a419", "C4:08:28:00:A4:19"), ("**:**:**:**:**:**", None), ("", None), (None, None),
])
def test_normalize_mac(value, expected):
    assert state.normalize_mac(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("192:168:2:16", "192.168.2.16"), ("10.0.0.7", "10.0.0.7"), ("10.10.10.**", None), ("", None),
])
def test_normalize_ip(value, expected):
    assert state.normalize_ip(value) == expected


@pytest.mark.parametrize("value, expected", [
    (3600, 3600), ("3300", 3300), ("2147483647", None), (99999, None), ("99999", None), (0, None),
    ("", None), (-1, None), (None, None),
])
def test_power_limit_sentinels(value, expected):
    assert state.power_limit_watts(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("Normal", "normal"), ("low", "low"), ("High", "high"), ("", None), ("turbo", None), (None, None),
])
def test_power_mode_name(value, expected):
    assert state.power_mode_name(value) == expected


def test_api_version_number():
    assert state.api_version_number("whatsminer v1.4.0") == "1.4.0"
    assert state.api_version_number("2.0.5") == "2.0.5"
    assert state.api_version_number(None) is None


# --- device -----------------------------------------------------------------------------------

def test_device_facts_real_v1_device():
    facts = state.device_facts(
        version=capture(f"{V1}/get_version.json"), summary=capture(f"{V1}/summary.json"),
        psu=capture(f"{V1}/get_psu.json"), status=capture(f"{V1}/status.json"), address="10.0.0.5",
    )
    assert facts == {
        "model": None,
        "firmware_version": "20210322.22.REL",
        "api_version": "1.4.0",
        "platform": "ALLWINNER_H3",
        "mac": "C4:08:28:00:A4:19",
        "ip": "10.0.0.5",
        "hostname": None,
        "serial": None,
        "nominal_hashrate_ths": 68.796,
        "psu": {"model": "P21-12-3600-E", "name": "P21", "firmware_version": "102220.009", "hardware_version": None, "serial": None},
    }


def test_device_facts_documented_v2():
    facts = state.device_facts(
        version=capture(f"{DOC}/get_version.json"), summary=capture(f"{DOC}/summary.json"),
        devdetails=capture(f"{DOC}/devdetails.json"), miner_info=capture(f"{DOC}/get_miner_info.json"),
        psu=capture(f"{DOC}/get_psu.json"),
    )
    assert facts["model"] == "M30S+VE40"
    assert facts["firmware_version"] == "20220125.13.Rel"
    assert facts["api_version"] == "2.0.3"
    assert facts["platform"] == "H6OS"
    assert facts["mac"] == "C6:07:20:00:1E:C2"
    assert facts["ip"] == "192.168.2.16"
    assert facts["nominal_hashrate_ths"] == 84.773
    assert facts["psu"] == {
        "model": "P221B", "name": "P221B", "firmware_version": "V01.00.V01.03", "hardware_version": "V01.00", "serial": "A1232B0120100049",
    }


def test_device_firmware_from_quoted_status_when_get_version_missing():
    facts = state.device_facts(status=capture(f"{STATUS}/status_v1_whatsminer-v1.4.0_fw20220919.15.REL.json"))
    assert facts["firmware_version"] == "20220919.15.REL"
    assert facts["model"] is None and facts["mac"] is None and facts["ip"] is None


def test_device_facts_of_nothing_are_all_none():
    facts = state.device_facts()
    psu = facts.pop("psu")
    assert set(facts.values()) == {None}
    assert set(psu.values()) == {None}


# --- status -----------------------------------------------------------------------------------

def test_status_real_v1_device_hashing_despite_btmineroff_true():
    facts = state.status_facts(summary=capture(f"{V1}/summary.json"), status=capture(f"{V1}/status.json"))
    assert facts["mining"] is True
    assert facts["mining_flag"] is None  # btmineroff is not trusted
    assert facts["power_mode"] == "normal"
    assert facts["power_w"] == 3417
    assert facts["power_limit_w"] == 3500
    assert facts["hashrate_ths"] == 67.753
    assert facts["hashrate_5s_ths"] == 70.668
    assert facts["uptime_s"] == 10792
    assert facts["mining_elapsed_s"] == 10154
    assert facts["temperature_c"] == 71.5
    assert facts["fan_in_rpm"] == 6450 and facts["fan_out_rpm"] == 6480
    assert facts["efficiency_j_per_th"] == 50.4
    assert facts["env_temperature_c"] is None


def test_status_documented_summary_with_2024_status():
    facts = state.status_facts(
        summary=capture(f"{DOC}/summary.json"), status=capture(f"{STATUS}/status_v2_fw20240924.14.Rel.json"),
    )
    assert facts["mining"] is True and facts["mining_flag"] is True
    assert facts["power_limit_w"] == 3300  # status.power_limit_set wins over summary's Power Limit
    assert facts["power_mode"] == "normal"
    assert facts["env_temperature_c"] == 32.0
    assert facts["fast_boot"] is False


def test_status_power_mode_falls_back_to_summary_when_status_leaves_it_empty():
    facts = state.status_facts(summary=capture(f"{DOC}/summary.json"), status=capture(f"{STATUS}/status_v2_fw20230803.11.REL.json"))
    assert facts["power_mode"] == "normal"
    assert facts["power_limit_w"] == 3600


def test_status_unset_limit_sentinel_of_v3_firmware_is_none():
    facts = state.status_facts(
        summary=capture(f"{DOC}/summary.json"), status=capture(f"{STATUS}/status_v3device_port4028_fw20250214.16.1.json"),
    )
    assert facts["power_limit_w"] is None


def test_status_low_power_mode_from_status():
    facts = state.status_facts(status=capture("asic-rs-fixtures/status_v2_fw20240624.18.REL.json"))
    assert facts["power_mode"] == "low"
    assert facts["power_limit_w"] == 3600
    assert facts["mining"] is True  # no summary: the 2.x flag decides


@pytest.mark.parametrize("mhs_5s, mineroff, expected", [
    (70_000_000.0, "false", True),
    (0.0, "false", False),  # started but not hashing yet
    (0.0, "true", False),
    (1_500_000.0, "true", True),  # still hashing while stopping: the hashes are real
    (None, "true", False),  # btminer down: the flag decides
    (None, "false", True),
    (None, None, None),
])
def test_is_mining_rule(mhs_5s, mineroff, expected):
    summary = None if mhs_5s is None else {"SUMMARY": [{"MHS 5s": mhs_5s}]}
    status = None if mineroff is None else {"STATUS": "S", "Msg": {"mineroff": mineroff}}
    assert state.is_mining(summary, status) is expected


def test_status_negative_power_is_unknown():
    assert state.status_facts(summary={"SUMMARY": [{"Power": -1}]})["power_w"] is None


# --- pools, boards, errors --------------------------------------------------------------------

def test_pool_facts_real_v1_device():
    pools = state.pool_facts(capture(f"{V1}/pools.json"))
    assert [pool["slot"] for pool in pools] == [1, 2, 3]
    assert pools[0] == {
        "slot": 1, "url": "stratum+tcp://btc.example.pool:3333", "user": "asic-rs.test", "status": "alive",
        "priority": 0, "active": True, "accepted": 2338, "rejected": 0,
    }
    assert [pool["active"] for pool in pools] == [True, False, False]
    assert all("password" not in pool and "passwd" not in pool for pool in pools)


def test_pool_facts_documented_single_pool():
    pools = state.pool_facts(capture(f"{DOC}/pools.json"))
    assert pools == [{
        "slot": 1, "url": "stratum+tcp://btc.ss.poolin.com:443", "user": "microbtinitial", "status": "alive",
        "priority": 0, "active": True, "accepted": 0, "rejected": 0,
    }]


def test_board_facts_real_v1_device():
    boards = state.board_facts(capture(f"{V1}/devs.json"))
    assert [board["slot"] for board in boards] == [0, 1, 2]
    assert boards[0] == {
        "slot": 0, "hashrate_ths": 22.65, "hashrate_5s_ths": 20.053, "temperature_c": 70.0, "chip_temp_max_c": 90.0,
        "chip_temp_avg_c": 83.33, "chips": 105, "frequency_mhz": 650, "status": "alive", "enabled": True,
        "serial": "H5M14S69129A17K10095",
    }


def test_board_facts_documented_edevs():
    boards = state.board_facts(capture(f"{DOC}/edevs.json"))
    assert [board["chips"] for board in boards] == [156, 156, 156]
    assert boards[2]["chip_temp_max_c"] == 97.44


def test_errors_from_v1_summary_fields():
    summary = {"SUMMARY": [{"Error Code Count": 2, "Error Code 0": 110, "Error Code 1": 600}]}
    assert state.error_facts(summary=summary) == [{"code": "110"}, {"code": "600"}]
    assert state.error_facts(summary=capture(f"{V1}/summary.json")) == []
    assert state.error_facts(summary=capture(f"{DOC}/summary.json")) is None


@pytest.mark.parametrize("error_code, expected", [
    ([], []),
    (["110", 600], [{"code": "110"}, {"code": "600"}]),
    ([{"329": "2022-01-17 11:28:11"}], [{"code": "329", "time": "2022-01-17 11:28:11"}]),
    ({"329": "2022-01-17 11:28:11"}, [{"code": "329", "time": "2022-01-17 11:28:11"}]),  # repaired list-shaped dict
    ([{"264": "2026-05-23 09:19:10", "reason": "Power xfer error."}],
     [{"code": "264", "time": "2026-05-23 09:19:10", "reason": "Power xfer error."}]),
])
def test_errors_from_get_error_code_shapes(error_code, expected):
    reply = {"STATUS": "S", "Code": 131, "Msg": {"error_code": error_code}}
    assert state.error_facts(error_code=reply) == expected


def test_garbage_replies_never_raise():
    for garbage in (None, {}, {"SUMMARY": "x"}, {"Msg": "text"}, {"POOLS": [1, None, "x"]}, {"DEVS": {"Slot": 1}}):
        state.device_facts(version=garbage, summary=garbage, devdetails=garbage, miner_info=garbage, psu=garbage, status=garbage)
        state.status_facts(summary=garbage, status=garbage)
        state.pool_facts(garbage)
        state.board_facts(garbage)
        state.error_facts(error_code=garbage, summary=garbage)


# --- every API 1.x/2.x capture, through the client's tolerant parser ----------------------------

API_2_CAPTURES = sorted(
    path.relative_to(CAPTURES).as_posix()
    for path in CAPTURES.rglob("*")
    if path.suffix in (".json", ".txt") and path.name != "README.md"
    and not path.name.startswith("v3_") and "v3-via" not in str(path) and "matroskin-real" not in str(path)
    and path.name != "get_token_msg_example.json"  # a bare Msg fragment from the document, not a reply
)


def parsed_capture(name: str) -> dict:
    """A capture file as the client parses it (repairing the quirks of real firmware)."""
    return parse_reply_detailed((CAPTURES / name).read_bytes())[0]


@pytest.mark.parametrize("name", API_2_CAPTURES)
def test_every_capture_normalizes_without_error(name):
    reply = parsed_capture(name)
    device = state.device_facts(version=reply, summary=reply, devdetails=reply, miner_info=reply, psu=reply, status=reply)
    status = state.status_facts(summary=reply, status=reply)
    for value in (*device.values(), *device["psu"].values(), *status.values()):
        assert value is None or isinstance(value, (str, int, float, bool, dict))
    assert isinstance(state.pool_facts(reply), list)
    assert isinstance(state.board_facts(reply), list)
    errors = state.error_facts(error_code=reply, summary=reply)
    assert errors is None or all(isinstance(error["code"], str) for error in errors)


def test_the_documented_invalid_get_error_code_reply():
    reply = parsed_capture(f"{DOC}/get_error_code.invalid-json.txt")
    assert state.error_facts(error_code=reply) == [{"code": "329", "time": "2022-01-17 11:28:11"}]


def test_the_trailing_comma_get_miner_info_fragment():
    reply = parsed_capture("misc-code-index/get_miner_info_trailing_comma_fragment.invalid-json.txt")
    assert state.message(reply) == {"ledstat": "auto"}
    assert state.device_facts(miner_info=reply)["mac"] is None


@pytest.mark.parametrize("name, firmware, mining_flag, power_mode", [
    ("pyasic-tests/status_fw20230911.12.Rel.json", "20230911.12.Rel", True, None),
    (f"{STATUS}/status_fw20230208.18.Rel.json", "20230208.18.Rel", True, "normal"),
    (f"{STATUS}/status_v2_fw20230803.11.REL.json", "20230803.11.REL", True, None),
    (f"{STATUS}/status_v1_whatsminer-v1.4.0_fw20220919.15.REL.json", "20220919.15.REL", None, None),
])
def test_status_replies_of_every_generation(name, firmware, mining_flag, power_mode):
    reply = parsed_capture(name)
    assert state.device_facts(status=reply)["firmware_version"] == firmware
    facts = state.status_facts(status=reply)
    assert facts["mining_flag"] is mining_flag
    assert facts["mining"] is mining_flag  # no summary: only the (trusted) flag can decide
    assert facts["power_mode"] == power_mode
