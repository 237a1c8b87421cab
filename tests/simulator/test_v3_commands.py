"""The ``3.x`` profile: every API 3 command, its effect on the true state, reply shapes compared
with the captures key by key, and the reduced port-4028 API answering from the same state."""

from __future__ import annotations

import inspect
import json
import os
import socket
import urllib.request
from typing import Any, Callable

import pytest
from sim_client import PrivilegedClient, read
from sim_client_v3 import WriterV3, get, request

from whatsminer_sim import Fleet, wait_for
from whatsminer_sim.profiles import PROFILES, WRITE_COMMANDS

CAPTURES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "fixtures", "captures"))
REAL_DEVICE_INFO = "matroskin-real/get.device.info.json"          # real key order
M60_DEVICE_INFO = "asic-rs-fixtures/v3_get.device.info_M60SVK40.json"  # keys sorted by the committer
ERRORS_DEVICE_INFO = "asic-rs-fixtures/v3_get.device.info_with_errors.json"


def capture(relative: str) -> Any:
    """A JSON capture."""
    with open(os.path.join(CAPTURES, relative), encoding="utf-8") as handle:
        return json.load(handle)


def assert_same_shape(ours: Any, real: Any, where: str, ordered: bool = True) -> None:
    """Same keys (in order when ``ordered``) and JSON types, recursively for objects."""
    assert type(ours) is type(real), f"{where}: {type(ours).__name__} vs capture {type(real).__name__}"
    if isinstance(real, dict):
        assert (list(ours) if ordered else sorted(ours)) == (list(real) if ordered else sorted(real)), where
        for key, value in real.items():
            assert_same_shape(ours[key], value, f"{where}.{key}", ordered)


@pytest.fixture(name="v3_miner")
def fixture_v3_miner(start_fleet: Callable[..., Fleet]) -> Any:
    """One 3.x miner (M60S_VK40, like the asic-rs capture)."""
    return start_fleet(profiles="3.x", seed=11).miners[0]


# --- shapes against captures -------------------------------------------------------------------

def test_device_info_matches_real_capture(v3_miner: Any) -> None:
    """get.device.info: envelope, sections and their keys in real order, JSON types (matroskin-real)."""
    real = capture(REAL_DEVICE_INFO)
    ours = get(v3_miner, "get.device.info")
    assert list(ours) == list(real)
    assert_same_shape(ours["msg"], real["msg"], "get.device.info")


def test_device_info_covers_m60_capture(v3_miner: Any) -> None:
    """Every key of the (key-sorted) M60S capture is there with its type; the values of the model match."""
    real = capture(M60_DEVICE_INFO)["msg"]
    ours = get(v3_miner, "get.device.info")["msg"]
    for section, fields in real.items():
        if isinstance(fields, dict):
            for name, value in fields.items():
                assert type(ours[section][name]) is type(value), f"{section}.{name}"
    assert ours["miner"]["type"] == real["miner"]["type"] == "M60S_VK40"
    assert ours["miner"]["hash-board"] == real["miner"]["hash-board"] == "K40"
    assert ours["system"]["platform"] == real["system"]["platform"]
    assert ours["system"]["control-board-version"] == real["system"]["control-board-version"]
    assert ours["system"]["api"] == real["system"]["api"] == "3.0.2"
    assert ours["power"]["model"] == real["power"]["model"]


def test_device_info_error_codes_like_capture(v3_miner: Any) -> None:
    """error-code entries are {"<code>": "<datetime>", "reason": "..."} as in the capture with errors."""
    real = capture(ERRORS_DEVICE_INFO)["msg"]["error-code"]
    v3_miner.set_state(error_codes=[{"code": 110, "time": "2026-05-23 09:19:10"}, {"code": 264, "time": "2026-05-23 09:19:11"}])
    ours = get(v3_miner, "get.device.info", "error-code")["msg"]
    assert list(ours) == ["error-code"]
    assert [list(entry) for entry in ours["error-code"]] == [[str(code), "reason"] for code in (110, 264)]
    assert_same_shape(ours["error-code"][0], {"110": real[0]["264"], "reason": real[0]["reason"]}, "error-code")
    assert ours["error-code"][0] == {"110": "2026-05-23 09:19:10", "reason": "Fanin detect speed error"}


def test_miner_setting_matches_vendor_example(v3_miner: Any) -> None:
    """get.miner.setting: keys, order and types of the vendor example."""
    real = capture("apidoc-v3-via-matroskin/get.miner.setting.json")
    ours = get(v3_miner, "get.miner.setting")
    assert list(ours) == list(real)
    assert_same_shape(ours["msg"], real["msg"], "get.miner.setting")
    assert ours["msg"]["power-mode"] == "normal" and ours["msg"]["power-limit"] == 3800


def test_system_setting_matches_real_capture(v3_miner: Any) -> None:
    """get.system.setting: keys, order and types of the real capture."""
    real = capture("matroskin-real/get.system.setting.json")
    ours = get(v3_miner, "get.system.setting")
    assert list(ours) == list(real)
    assert_same_shape(ours["msg"], real["msg"], "get.system.setting")


@pytest.mark.parametrize("command, param, real_file", [
    ("set.miner.fastboot", "enable", "apidoc-v3-via-matroskin/set.miner.fastboot.response.json"),
    ("set.system.webpools", "disable", "apidoc-v3-via-matroskin/set.system.webpools.response.json"),
])
def test_write_replies_match_vendor_examples(v3_miner: Any, command: str, param: str, real_file: str) -> None:
    """Write success is {"code":0,"when":t,"msg":"ok","desc":"<cmd>"}."""
    real = capture(real_file)
    ours = WriterV3(v3_miner).call(command, param)
    assert list(ours) == list(real)
    assert (ours["code"], ours["msg"], ours["desc"]) == (real["code"], real["msg"], real["desc"])


def test_miner_status_sections(v3_miner: Any) -> None:
    """get.miner.status: the field lists of reference section 7.3, TH/s, sections joined with '+' in request order."""
    msg = get(v3_miner, "get.miner.status", "edevs+summary+pools")["msg"]
    assert list(msg) == ["edevs", "summary", "pools"]
    assert list(msg["summary"]) == [
        "elapsed", "bootup-time", "hash-average", "hash-1min", "hash-15min", "hash-realtime", "freq-avg", "target-freq",
        "factory-hash", "power-5min", "power-realtime", "power-rate", "power-limit", "environment-temperature",
        "board-temperature", "chip-temp-min", "chip-temp-avg", "chip-temp-max", "fan-speed-in", "fan-speed-out",
        "up-freq-finish", "Debug",
    ]
    assert list(msg["pools"][0]) == ["id", "url", "status", "account", "stratum-active", "stratum-diff", "reject-rate",
                                     "last-share-time", "pool-priority"]
    assert list(msg["edevs"][0]) == ["id", "slot", "hash-average", "factory-hash", "freq", "effective-chips",
                                     "chip-temp-min", "chip-temp-avg", "chip-temp-max"]
    summary = msg["summary"]
    assert 150 < summary["hash-average"] < 220  # TH/s of an M60S
    assert abs(sum(board["hash-average"] for board in msg["edevs"]) - summary["hash-average"]) < 0.01
    assert len(summary["board-temperature"]) == 3
    assert all("accepted" not in pool and "Accepted" not in pool for pool in msg["pools"])
    assert get(v3_miner, "get.miner.status", "pools")["msg"].keys() == {"pools"}


@pytest.mark.parametrize("command, param, code", [
    ("get.miner.status", None, -3),
    ("get.miner.status", "summary+devs", -2),
    ("get.miner.status", "", -3),
    ("get.device.info", "hardware", -2),
])
def test_read_parameter_errors(v3_miner: Any, command: str, param: Any, code: int) -> None:
    """get.miner.status needs a param (-3); unknown sections are invalid (-2)."""
    reply = request(v3_miner, {"cmd": command, "param": param} if param is not None else {"cmd": command})
    assert reply["code"] == code and reply["desc"] == command


# --- writes and their effects ----------------------------------------------------------------

def test_power_mode(v3_miner: Any) -> None:
    """set.miner.power_mode: ok, then btminer restarts (get.miner.status -1 meanwhile); both APIs show it."""
    writer = WriterV3(v3_miner)
    assert writer.call("set.miner.power_mode", "low")["code"] == 0
    assert v3_miner.state.power_mode == "low" and not v3_miner.btminer_running()
    reply = get(v3_miner, "get.miner.status", "summary")
    assert (reply["code"], reply["msg"]) == (-1, "btminer is not running")
    assert get(v3_miner, "get.device.info", "miner")["code"] == 0  # the daemon still answers
    wait_for(v3_miner.btminer_running, timeout=5)
    assert get(v3_miner, "get.miner.setting")["msg"]["power-mode"] == "low"
    assert read(v3_miner, "summary")["SUMMARY"][0]["Power Mode"] == "Low"
    assert writer.call("set.miner.power_mode", "turbo")["code"] == -2
    assert writer.call("set.miner.power_mode")["code"] == -3


def test_power_limit(v3_miner: Any) -> None:
    """set.miner.power_limit: int or string, model range, 99999 removes; reported by both APIs."""
    writer = WriterV3(v3_miner)
    assert writer.call("set.miner.power_limit", 3000)["code"] == 0
    assert v3_miner.state.power_limit_w == 3000
    wait_for(v3_miner.btminer_running, timeout=5)
    assert get(v3_miner, "get.device.info", "miner")["msg"]["miner"]["power-limit-set"] == "3000"
    assert get(v3_miner, "get.miner.setting")["msg"]["power-limit"] == 3000
    assert get(v3_miner, "get.miner.status", "summary")["msg"]["summary"]["power-limit"] == 3000
    assert read(v3_miner, "status")["Msg"]["power_limit_set"] == "3000"
    reply = writer.call("set.miner.power_limit", "5000")
    assert reply["code"] == -2 and "maximum 3800 W" in reply["msg"]
    assert writer.call("set.miner.power_limit", "lots")["code"] == -2
    assert writer.call("set.miner.power_limit", 100)["code"] == -2
    assert writer.call("set.miner.power_limit", "99999")["code"] == 0
    assert v3_miner.state.power_limit_w is None
    assert get(v3_miner, "get.device.info", "miner")["msg"]["miner"]["power-limit-set"] == ""
    assert read(v3_miner, "status")["Msg"]["power_limit_set"] == "2147483647"


def test_service_stop_start_restart(v3_miner: Any) -> None:
    """set.miner.service: stop/start switch mining (working, mineroff, hashrate); restart restarts btminer."""
    writer = WriterV3(v3_miner)
    assert writer.call("set.miner.service", "stop")["code"] == 0
    assert not v3_miner.state.mining
    assert get(v3_miner, "get.device.info", "miner")["msg"]["miner"]["working"] == "false"
    assert get(v3_miner, "get.miner.status", "summary")["msg"]["summary"]["hash-average"] == 0
    assert read(v3_miner, "status")["Msg"]["mineroff"] == "true"
    assert writer.call("set.miner.service", "start")["code"] == 0
    assert get(v3_miner, "get.device.info", "miner")["msg"]["miner"]["working"] == "true"
    assert writer.call("set.miner.service", "restart")["code"] == 0
    assert not v3_miner.btminer_running()
    wait_for(v3_miner.btminer_running, timeout=5)
    assert writer.call("set.miner.service", "pause")["code"] == -2


def test_reboot(v3_miner: Any) -> None:
    """set.system.reboot: ok, the connection closes, both listeners are down for the window, then back."""
    reply = WriterV3(v3_miner).call("set.system.reboot")
    assert reply["code"] == 0 and reply["msg"] == "ok"
    assert not v3_miner.api_available()
    wait_for(lambda: not v3_miner.v3_listening and not v3_miner.listening, timeout=5)
    wait_for(lambda: v3_miner.v3_listening and v3_miner.listening, timeout=5)
    assert get(v3_miner, "get.miner.status", "summary")["msg"]["summary"]["bootup-time"] < 5


def test_led(v3_miner: Any) -> None:
    """set.system.led: a list of settings (object or JSON string) -> manual; "auto" -> auto."""
    writer = WriterV3(v3_miner)
    settings = [{"color": "red", "period": 200, "duration": 100, "start": 0}]
    assert writer.call("set.system.led", settings)["code"] == 0
    assert v3_miner.state.led == "manual" and v3_miner.state.led_settings["color"] == "red"
    assert get(v3_miner, "get.device.info", "system")["msg"]["system"]["ledstatus"] == "manual"
    assert read(v3_miner, "get_miner_info")["Msg"]["ledstat"] == "manual"
    assert writer.call("set.system.led", "auto")["code"] == 0
    assert v3_miner.state.led == "auto"
    assert writer.call("set.system.led", json.dumps([{"color": "green", "period": 1, "duration": 1, "start": 0}]))["code"] == 0
    assert v3_miner.state.led_settings["color"] == "green"
    assert writer.call("set.system.led", [{"color": "blue", "period": 1, "duration": 1, "start": 0}])["code"] == -2


@pytest.mark.parametrize("as_string", [False, True])
def test_hostname(v3_miner: Any, as_string: bool) -> None:
    """set.system.hostname {"hostname": ...}: applied at the next reboot, like API 2's set_hostname."""
    param: Any = {"hostname": "rig-042"}
    writer = WriterV3(v3_miner)
    assert writer.call("set.system.hostname", json.dumps(param) if as_string else param)["code"] == 0
    assert v3_miner.state.pending_hostname == "rig-042"
    assert get(v3_miner, "get.system.setting")["msg"]["hostname"] == "WhatsMiner"
    assert writer.call("set.system.reboot")["code"] == 0
    wait_for(v3_miner.api_available, timeout=5)
    wait_for(lambda: v3_miner.v3_listening, timeout=5)
    assert get(v3_miner, "get.device.info", "network")["msg"]["network"]["hostname"] == "rig-042"
    assert writer.call("set.system.hostname", {"hostname": "bad name!"})["code"] == -2
    assert writer.call("set.system.hostname", "rig-043")["code"] == -2


def test_switches(v3_miner: Any) -> None:
    """set.miner.fastboot and set.system.webpools switch the shared state."""
    writer = WriterV3(v3_miner)
    assert writer.call("set.miner.fastboot", "enable")["code"] == 0
    assert get(v3_miner, "get.miner.setting")["msg"]["fast-boot"] == "enable"
    assert read(v3_miner, "summary")["SUMMARY"][0]["Btminer Fast Boot"] == "enable"
    assert writer.call("set.system.webpools", "disable")["code"] == 0
    assert get(v3_miner, "get.system.setting")["msg"]["web-pool"] == 0
    assert writer.call("set.miner.fastboot", "on")["code"] == -2


def test_unknown_write(v3_miner: Any) -> None:
    """A set.* command the simulator does not have: -2 invalid command (checked before the token)."""
    reply = WriterV3(v3_miner).call("set.miner.heat_mode", "normal")
    assert (reply["code"], reply["msg"]) == (-2, "invalid command")


def test_btminer_down_variants(start_fleet: Callable[..., Fleet]) -> None:
    """btminer_down_reply reset/close apply to get.miner.status too; refuse closes both listeners."""
    fleet = start_fleet(count=3, profiles="3.x", config={"restart_seconds": 0.6})
    for miner, mode in zip(fleet.miners, ("reset", "close", "refuse")):
        miner.configure(btminer_down_reply=mode)
        assert WriterV3(miner).call("set.miner.service", "restart")["code"] == 0
        if mode == "refuse":
            wait_for(lambda miner=miner: not miner.v3_listening and not miner.listening, timeout=2)
        else:
            try:
                assert get(miner, "get.miner.status", "summary") is None
            except (ConnectionResetError, AssertionError, TypeError):
                pass
            assert get(miner, "get.miner.setting")["code"] == 0
        wait_for(miner.btminer_running, timeout=5)
        wait_for(lambda miner=miner: miner.v3_listening, timeout=5)
        assert get(miner, "get.miner.status", "summary")["code"] == 0


# --- the same state on both APIs ---------------------------------------------------------------

def test_both_apis_show_the_same_state(v3_miner: Any) -> None:
    """Identity, network, firmware, pools, hashrate and temperatures agree between 4028 and API 3."""
    v3_miner.set_state(hostname="rig-7", power_mode="high", error_codes=[{"code": 329, "time": "2025-01-17 11:28:11"}])
    info = get(v3_miner, "get.device.info")["msg"]
    version = read(v3_miner, "get_version")["Msg"]
    miner_info = read(v3_miner, "get_miner_info")["Msg"]
    psu = read(v3_miner, "get_psu")["Msg"]
    assert info["system"]["fwversion"] == version["fw_ver"] == read(v3_miner, "status")["Msg"]["FirmwareVersion"]
    assert info["system"]["platform"] == version["platform"]
    for v3_name, v2_name in (("ip", "ip"), ("mac", "mac"), ("hostname", "hostname"), ("netmask", "netmask"), ("proto", "proto")):
        assert info["network"][v3_name] == miner_info[v2_name]
    assert info["miner"]["miner-sn"] == miner_info["minersn"]
    assert info["power"]["sn"] == psu["serial_no"] == miner_info["powersn"]
    assert info["power"]["swversion"] == psu["sw_version"]
    assert info["system"]["ledstatus"] == miner_info["ledstat"]
    assert info["error-code"][0]["329"] == read(v3_miner, "get_error_code")["Msg"]["error_code"][0]["329"]
    status = get(v3_miner, "get.miner.status", "summary+pools+edevs")["msg"]
    summary = read(v3_miner, "summary")["SUMMARY"][0]
    assert status["summary"]["hash-average"] == round(summary["MHS av"] / 1e6, 3)
    assert status["summary"]["hash-1min"] == round(summary["MHS 1m"] / 1e6, 3)
    assert status["summary"]["factory-hash"] == round(summary["Factory GHS"] / 1000, 3)
    assert status["summary"]["power-5min"] == summary["Power"]
    assert max(status["summary"]["board-temperature"]) == summary["Temperature"]
    assert status["summary"]["environment-temperature"] == summary["Env Temp"]
    assert status["summary"]["power-limit"] == summary["Power Limit"]
    assert get(v3_miner, "get.miner.setting")["msg"]["power-mode"] == summary["Power Mode"].lower() == "high"
    pools = read(v3_miner, "pools")["POOLS"]
    assert [(pool["id"], pool["url"], pool["account"]) for pool in status["pools"]] == [(pool["POOL"], pool["URL"], pool["User"]) for pool in pools]
    devs = read(v3_miner, "edevs")["DEVS"]
    assert [board["hash-average"] for board in status["edevs"]] == [round(dev["MHS av"] / 1e6, 3) for dev in devs]
    assert [info["miner"][f"pcbsn{index}"] for index in range(3)] == [dev["PCB SN"] for dev in devs]


def test_write_through_api3_read_through_4028(v3_miner: Any) -> None:
    """Pools written over API 3 appear in the 4028 pools reply, and the other way round for reads."""
    pools = [{"pool": "stratum+tcp://a.example:3333", "worker": "w.1", "passwd": "x"}]
    assert WriterV3(v3_miner).call("set.miner.pools", pools, encrypt_param=True)["code"] == 0
    assert [(pool["URL"], pool["User"]) for pool in read(v3_miner, "pools")["POOLS"]] == [("stratum+tcp://a.example:3333", "w.1")]


# --- the reduced 4028 API of 3.x firmware -----------------------------------------------------

def test_reduced_4028_status_matches_v3_device_capture(v3_miner: Any) -> None:
    """status on 4028 is the real capture of a V3 device (fw 20250214.16.1) field by field."""
    real = capture("asic-rs-pr187-status/status_v3device_port4028_fw20250214.16.1.json")
    ours = read(v3_miner, "status")
    assert list(ours) == list(real)
    assert_same_shape(ours["Msg"], real["Msg"], "status")
    assert {key: ours["Msg"][key] for key in ("FirmwareVersion", "power_mode", "power_limit_set", "hash_percent")} == {
        key: real["Msg"][key] for key in ("FirmwareVersion", "power_mode", "power_limit_set", "hash_percent")
    }


def test_reduced_4028_reads(v3_miner: Any) -> None:
    """summary/edevs without the 5s/5m windows, Target MHS and per-board chip temperatures; no devdetails."""
    summary = read(v3_miner, "summary")["SUMMARY"][0]
    assert not {"MHS 5s", "MHS 5m", "Target MHS"} & set(summary)
    assert {"MHS av", "MHS 1m", "Power Mode", "Power Limit", "Factory GHS"} <= set(summary)
    board = read(v3_miner, "edevs")["DEVS"][0]
    assert not {"MHS 5s", "MHS 5m", "Chip Temp Min", "Chip Temp Max", "Chip Temp Avg"} & set(board)
    assert read(v3_miner, "devdetails")["Code"] == 14
    assert read(v3_miner, "summary+devdetails")["Code"] == 14
    assert set(read(v3_miner, "summary+pools+edevs")) == {"summary", "pools", "edevs", "id"}
    assert read(v3_miner, "get_version")["Msg"]["fw_ver"] == "20250214.16.1"
    assert read(v3_miner, "get_token")["Code"] == 134


@pytest.mark.parametrize("command", sorted(WRITE_COMMANDS))
def test_reduced_4028_has_no_writes(v3_miner: Any, command: str) -> None:
    """Every API 2 write is an unknown command on 4028 (14), plaintext or encrypted; writes go through API 3."""
    assert read(v3_miner, command, key="cmd")["Code"] == 14
    if command in ("update_pools", "set_led"):
        reply = PrivilegedClient(v3_miner).call(command)
        assert (reply["STATUS"], reply["Code"]) == ("E", 14)


def test_profile_change_opens_and_closes_api3(start_fleet: Callable[..., Fleet]) -> None:
    """A miner switched to 3.x at run time gets its API 3 listener; back to 2024, it closes."""
    miner = start_fleet(profiles="2024").miners[0]
    assert not miner.v3_listening
    miner.set_state(profile="3.x")
    assert miner.v3_listening and miner.api3_port == miner.v3_port
    assert get(miner, "get.device.info", "system")["msg"]["system"]["fwversion"] == PROFILES["3.x"].fw_version
    miner.set_state(profile="2024")
    assert not miner.v3_listening and miner.api3_port is None


def test_fleet_description_and_inventory(start_fleet: Callable[..., Fleet]) -> None:
    """Mixed fleets report whatsminer_api3_port for 3.x miners only (ports mode: a free port)."""
    fleet = start_fleet(count=2, profiles=["2024", "3.x"])
    described = fleet.describe()["miners"]
    assert described[0]["v3_port"] is None and described[1]["v3_port"] == fleet.miners[1].v3_port > 0
    inventory = fleet.inventory_yaml()
    assert inventory.count("whatsminer_api3_port") == 1
    assert f"whatsminer_api3_port: {fleet.miners[1].v3_port}" in inventory
    full = fleet.miners[1].describe()
    assert full["v3_listening"] and full["counters"]["v3_connections"] == 0
    assert full["state"]["v3_passwords"]["super"] == "super"


def test_ips_mode_uses_the_given_port(start_fleet: Callable[..., Fleet]) -> None:
    """In ips mode the API 3 listener sits on the given port (4433 by default) of the miner's own address."""
    probe = socket.socket()
    probe.bind(("127.0.1.1", 0))
    free_port = probe.getsockname()[1]
    probe.close()
    fleet = start_fleet(count=1, profiles="3.x", address_mode="ips", port=0, v3_port=free_port)
    miner = fleet.miners[0]
    assert (miner.host, miner.v3_port) == ("127.0.1.1", free_port)
    assert get(miner, "get.miner.setting")["code"] == 0
    assert inspect.signature(Fleet.start).parameters["v3_port"].default == 4433


def test_control_api_profile_switch(start_fleet: Callable[..., Fleet]) -> None:
    """PATCH profile=3.x over the control API (on the loop thread) opens the API 3 listener."""
    fleet = start_fleet(count=1, profiles="2024", control_port=0)
    miner = fleet.miners[0]
    body = json.dumps({"state": {"profile": "3.x"}}).encode()
    http_request = urllib.request.Request(f"http://127.0.0.1:{fleet.control_port}/miners/{miner.name}", data=body, method="PATCH")
    with urllib.request.urlopen(http_request, timeout=5) as response:  # nosec - loopback control API
        described = json.loads(response.read())
    assert described["profile"] == "3.x"
    wait_for(lambda: miner.v3_listening, timeout=5)
    assert get(miner, "get.device.info", "salt")["msg"]["salt"] == miner.state.v3_salt


def test_pools_apply_restart(v3_miner: Any) -> None:
    """pools_apply_restart makes set.miner.pools restart btminer after replying, as update_pools does."""
    v3_miner.configure(pools_apply_restart=True)
    pools = [{"pool": "stratum+tcp://a.example:3333", "worker": "w.1", "passwd": "x"}]
    assert WriterV3(v3_miner).call("set.miner.pools", pools, encrypt_param=True)["code"] == 0
    assert not v3_miner.btminer_running()
    wait_for(v3_miner.btminer_running, timeout=5)


def test_power_mode_without_a_visible_restart(v3_miner: Any) -> None:
    """power_mode_restart false: set.miner.power_mode applies without a btminer restart (issue 14, item 11)."""
    v3_miner.configure(power_mode_restart=False)
    assert WriterV3(v3_miner).call("set.miner.power_mode", "low")["code"] == 0
    assert v3_miner.btminer_running()
    assert get(v3_miner, "get.miner.setting")["msg"]["power-mode"] == "low"
