# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_miner_state_v3: API 3 replies (real captures and the simulator) -> the fact dicts of _miner_state,
identical to the API 2 facts of the same true state except for what API 3 does not report."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _miner_state as api2
from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _miner_state_v3 as api3
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import WhatsminerClient
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api3 import WhatsminerV3Client
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_miner import capture
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import FAST_CONFIG, Fleet

REAL_INFO = json.loads(capture("matroskin-real/get.device.info.json"))
M60_INFO = json.loads(capture("asic-rs-fixtures/v3_get.device.info_M60SVK40.json"))
ERRORS_INFO = json.loads(capture("asic-rs-fixtures/v3_get.device.info_with_errors.json"))
SETTING = json.loads(capture("apidoc-v3-via-matroskin/get.miner.setting.json"))
# No capture of get.miner.status exists; these follow the field lists of reference section 7.3.
STATUS = {
    "code": 0, "when": 1773869570, "desc": "get.miner.status",
    "msg": {
        "summary": {
            "elapsed": 5000, "bootup-time": 5100, "hash-average": 184.244, "hash-1min": 182.194, "hash-15min": 184.652,
            "hash-realtime": 187.841, "freq-avg": 482, "target-freq": 480, "factory-hash": 184.397, "power-5min": 3422,
            "power-realtime": 3417, "power-rate": 18.56, "power-limit": 3800, "environment-temperature": 22.3,
            "board-temperature": [68.56, 71.03, 70.14], "chip-temp-min": 69.68, "chip-temp-avg": 83.1, "chip-temp-max": 90.85,
            "fan-speed-in": 6000, "fan-speed-out": 6030, "up-freq-finish": 1, "Debug": "",
        },
        "pools": [
            {"id": 1, "url": "stratum+tcp://btc.example.pool:3333", "status": "alive", "account": "farm.001",
             "stratum-active": True, "stratum-diff": 65536.0, "reject-rate": 0.0, "last-share-time": 1773869560, "pool-priority": 0},
            {"id": 3, "url": "stratum+tcp://btc3.example.pool:3333", "status": "dead", "account": "farm.001",
             "stratum-active": False, "stratum-diff": 0.0, "reject-rate": 0.0, "last-share-time": 0, "pool-priority": 1},
        ],
        "edevs": [
            {"id": 0, "slot": 0, "hash-average": 60.257, "factory-hash": 61.465, "freq": 475, "effective-chips": 172,
             "chip-temp-min": 69.68, "chip-temp-avg": 81.68, "chip-temp-max": 88.68},
            {"id": 1, "slot": 1, "hash-average": 61.592, "factory-hash": 61.465, "freq": 484, "effective-chips": 172,
             "chip-temp-min": 71.85, "chip-temp-avg": 83.85, "chip-temp-max": 90.85},
        ],
    },
}

#: Facts API 3 does not report (None on API 3 miners), by fact group.
NOT_IN_API3 = {
    "status": {"mineroff_reason"},
    "pools": {"accepted", "rejected"},
    "boards": {"hashrate_5s_ths", "status", "enabled"},
}
#: Facts only API 3 adds: error ``reason`` texts (newer API 2 firmware has them too).
ONLY_IN_API3 = {"errors": {"reason"}}


def test_device_facts_from_real_capture() -> None:
    facts = api3.device_facts(device_info=REAL_INFO, miner_status=STATUS, address="10.10.10.20")
    assert facts == {
        "model": "M50_VH84", "firmware_version": "20250915.16.Rel2", "api_version": "3.0.2", "platform": "H616",
        "mac": None, "ip": "10.10.10.20",  # the capture's mac and ip are redacted with '*'
        "hostname": "WhatsMiner", "serial": "HTM**X**KU*****************A*****", "nominal_hashrate_ths": 184.397,
        "psu": {"model": "P221B", "name": "P221B", "firmware_version": "V02.**.V02.**", "hardware_version": "V00.**",
                "serial": "A****G**********"},
    }
    assert set(facts) == set(api2.device_facts())


def test_device_facts_from_m60_capture() -> None:
    facts = api3.device_facts(device_info=M60_INFO)
    assert (facts["model"], facts["mac"], facts["ip"], facts["serial"]) == (
        "M60S_VK40", "CE:02:01:00:8C:36", "172.16.2.58", "BTM3CS40HD24083100000000000000000")
    assert facts["nominal_hashrate_ths"] is None  # no get.miner.status given
    assert facts["psu"]["serial"] == "1436B2429603097" and facts["psu"]["firmware_version"] == "230224.220429"


def test_error_facts() -> None:
    assert api3.error_facts(ERRORS_INFO) == [
        {"code": "264", "time": "2026-05-23 09:19:10", "reason": "Power xfer error. code: 0xffffffffc0000000"},
        {"code": "265", "time": "2026-05-23 09:19:10", "reason": "Power Unknow error. code: 0xffffffffc0000000"},
        {"code": "266", "time": "2026-05-23 09:19:11", "reason": "Power Unknow error. code: 0xffffffffc0000000"},
        {"code": "267", "time": "2026-05-23 09:19:11", "reason": "Power watch dog protected. code: 0xffffffffc0000000"},
        {"code": "270", "time": "2026-05-23 09:19:11", "reason": "Power input over-voltage warning. code: 0xffffffffc0000000"},
    ]
    assert api3.error_facts(REAL_INFO) == []
    assert api3.error_facts(M60_INFO) is None  # that capture has no error-code section
    assert api3.error_facts(None) is None


def test_status_facts() -> None:
    facts = api3.status_facts(miner_status=STATUS, device_info=REAL_INFO, miner_setting=SETTING)
    assert facts == {
        "mining": True, "mining_flag": True, "mineroff_reason": None, "power_mode": "normal",
        "power_w": 3422, "power_limit_w": None,  # miner.power-limit-set "" = no limit
        "efficiency_j_per_th": 18.6, "hashrate_ths": 184.244, "hashrate_5s_ths": 187.841, "hashrate_1m_ths": 182.194,
        "uptime_s": 5100, "mining_elapsed_s": 5000, "temperature_c": 71.03, "env_temperature_c": 22.3,
        "chip_temp_max_c": 90.85, "fan_in_rpm": 6000, "fan_out_rpm": 6030, "fast_boot": False,
    }
    assert set(facts) == set(api2.status_facts())


def test_power_limit_sources() -> None:
    """power-limit-set decides when the firmware reports it; otherwise the effective limit, as on API 2.0.x."""
    limited = json.loads(json.dumps(REAL_INFO))
    limited["msg"]["miner"]["power-limit-set"] = "3000"
    assert api3.status_facts(miner_status=STATUS, device_info=limited)["power_limit_w"] == 3000
    assert api3.status_facts(miner_status=STATUS, device_info=M60_INFO)["power_limit_w"] == 3800
    for sentinel in ("99999", "2147483647", "0"):
        limited["msg"]["miner"]["power-limit-set"] = sentinel
        assert api3.status_facts(miner_status=STATUS, device_info=limited)["power_limit_w"] is None


@pytest.mark.parametrize("realtime, working, expected", [
    (187.8, "false", True),   # the live hashrate decides while the summary answers
    (0, "true", False),
    (None, "true", True),     # no summary (btminer restarting): the working flag
    (None, "false", False),
    (None, None, None),
])
def test_is_mining(realtime: Any, working: Any, expected: Any) -> None:
    status = None if realtime is None else {"code": 0, "msg": {"summary": {"hash-realtime": realtime}}}
    info = None if working is None else {"code": 0, "msg": {"miner": {"working": working}}}
    assert api3.is_mining(status, info) is expected
    assert api3.status_facts(miner_status=status, device_info=info)["mining"] is expected


def test_pool_and_board_facts() -> None:
    assert api3.pool_facts(STATUS) == [
        {"slot": 1, "url": "stratum+tcp://btc.example.pool:3333", "user": "farm.001", "status": "alive", "priority": 0,
         "active": True, "accepted": None, "rejected": None},
        {"slot": 3, "url": "stratum+tcp://btc3.example.pool:3333", "user": "farm.001", "status": "dead", "priority": 1,
         "active": False, "accepted": None, "rejected": None},
    ]
    boards = api3.board_facts(STATUS, M60_INFO)
    assert boards[1] == {
        "slot": 1, "hashrate_ths": 61.592, "hashrate_5s_ths": None, "temperature_c": 71.03, "chip_temp_max_c": 90.85,
        "chip_temp_avg_c": 83.85, "chips": 172, "frequency_mhz": 484, "status": None, "enabled": None,
        "serial": "BKM3CSE1404812K43675",
    }
    assert api3.pool_facts({"code": 0, "msg": {"pools": []}}) == []
    assert api3.pool_facts(None) == [] and api3.board_facts(None) == []


def test_empty_and_broken_inputs_give_none_not_errors() -> None:
    for broken in (None, {}, {"code": 0, "msg": "ok"}, {"code": 0, "msg": {"summary": "x", "pools": "y", "edevs": [1, "z"]}}):
        assert api3.status_facts(miner_status=broken, device_info=broken, miner_setting=broken)["mining"] is None
        assert api3.device_facts(device_info=broken, miner_status=broken)["model"] is None
        assert api3.pool_facts(broken) == []
        assert api3.board_facts(broken, broken) == []


def test_converted_replies_feed_the_api2_logic() -> None:
    """The converted replies are what the pools and power modules read on API 2."""
    assert api3.pools_reply(STATUS)["POOLS"][0] == {
        "POOL": 1, "URL": "stratum+tcp://btc.example.pool:3333", "Status": "alive", "Priority": 0, "User": "farm.001",
        "Stratum Active": True,
    }
    status = api3.status_reply(REAL_INFO, SETTING)
    assert status["Msg"] == {"mineroff": "false", "FirmwareVersion": "20250915.16.Rel2", "power_mode": "normal",
                             "power_limit_set": api3.NO_LIMIT_SETTING, "hash_percent": "", "power_percent": 0}
    assert api2.reports_power_limit_setting(status)
    summary = api3.summary_reply(STATUS, SETTING)
    assert summary["SUMMARY"][0]["MHS av"] == pytest.approx(184_244_000)
    assert api3.summary_reply({"code": 0, "msg": {"pools": []}}) is None


# --- the same true state through both APIs ---------------------------------------------------

def _api2_facts(miner: Any) -> dict[str, Any]:
    client = WhatsminerClient(miner.host, port=miner.port, timeout=2.0)
    replies = client.read_many(["summary", "pools", "devs", "devdetails", "get_version", "get_miner_info", "get_psu", "status", "get_error_code"])
    return {
        "device": api2.device_facts(version=replies["get_version"], summary=replies["summary"], devdetails=replies["devdetails"],
                                    miner_info=replies["get_miner_info"], psu=replies["get_psu"], status=replies["status"],
                                    address=miner.host),
        "status": api2.status_facts(summary=replies["summary"], status=replies["status"]),
        "pools": api2.pool_facts(replies["pools"]),
        "boards": api2.board_facts(replies["devs"]),
        "errors": api2.error_facts(error_code=replies["get_error_code"]),
    }


def _api3_facts(miner: Any) -> dict[str, Any]:
    client = WhatsminerV3Client(miner.host, port=miner.v3_port, timeout=2.0)
    info = client.read("get.device.info")
    status = client.read_status(["summary", "pools", "edevs"])
    setting = client.read("get.miner.setting")
    return {
        "device": api3.device_facts(device_info=info, miner_status=status, address=miner.host),
        "status": api3.status_facts(miner_status=status, device_info=info, miner_setting=setting),
        "pools": api3.pool_facts(status),
        "boards": api3.board_facts(status, info),
        "errors": api3.error_facts(info),
    }


def _without(facts: dict[str, Any], group: str) -> Any:
    value = facts[group]
    hidden = NOT_IN_API3.get(group, set()) | ONLY_IN_API3.get(group, set())
    if group == "device":
        hidden = hidden | {"firmware_version", "api_version"}
    if isinstance(value, list):
        return [{key: item[key] for key in item if key not in hidden} for item in value]
    return {key: value[key] for key in value if key not in hidden and key not in ("uptime_s", "mining_elapsed_s")}


@pytest.mark.parametrize("changes", [
    {},
    {"power_mode": "low", "power_limit_w": 3000, "error_codes": [{"code": 110, "time": "2025-02-01 10:00:00"}]},
    {"mining": False, "led": "manual", "fast_boot": True},
    {"pools": [{"url": "stratum+tcp://only.example:3333", "user": "w.9", "password": "x"}]},
])
def test_same_state_same_facts(changes: dict[str, Any]) -> None:
    """One miner read on API 2 (profile 2024), then switched to 3.x and read on API 3: the same facts."""
    fleet = Fleet.start(count=1, profiles="2024", models=["M60S_VK40"], seed=8, config=FAST_CONFIG)
    try:
        miner = fleet.miners[0]
        if changes:
            miner.set_state(**changes)
        before = _api2_facts(miner)
        miner.set_state(profile="3.x")
        after = _api3_facts(miner)
    finally:
        fleet.stop()
    for group in before:
        assert _without(after, group) == _without(before, group), group
    assert after["device"]["firmware_version"] == "20250214.16.1" and after["device"]["api_version"] == "3.0.2"
    assert abs(after["status"]["uptime_s"] - before["status"]["uptime_s"]) <= 2
    for group, names in NOT_IN_API3.items():
        records = after[group] if isinstance(after[group], list) else [after[group]]
        assert all(record[name] is None for record in records for name in names)
