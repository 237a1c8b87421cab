"""Write commands and their timed side effects (btminer restart, reboot, delayed pools)."""

from __future__ import annotations

import json
import socket
import time
from typing import Any, Callable

import pytest
from sim_client import PrivilegedClient, exchange, read

from whatsminer_sim import Fleet, wait_for

DOWN_TEXT = b"Socket connect failed: Connection refused\n"


def raw_read(miner: Any, command: str) -> bytes:
    """Raw reply bytes of a plaintext read."""
    return exchange(miner.host, miner.port, json.dumps({"command": command}).encode())


def refused(miner: Any) -> bool:
    """True when a TCP connection to the miner is refused."""
    try:
        with socket.create_connection((miner.host, miner.port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


@pytest.mark.parametrize("mode", ["low", "normal", "high"])
def test_power_mode_drops_without_reply_and_restarts_btminer(start_fleet: Callable[..., Fleet], mode: str) -> None:
    """set_*_power: applied, connection closed with no reply, btminer reads down then back."""
    miner = start_fleet(profiles="2024").miners[0]
    if mode == "normal":
        miner.set_state(power_mode="high")
    started = time.monotonic()
    assert PrivilegedClient(miner).raw(f"set_{mode}_power") == b""
    assert miner.state.power_mode == mode
    assert not miner.btminer_running()
    assert raw_read(miner, "summary") == DOWN_TEXT
    assert raw_read(miner, "summary+pools") == DOWN_TEXT
    assert read(miner, "status")["Msg"]["power_mode"] == mode  # the api daemon keeps answering
    assert read(miner, "get_version")["Code"] == 131
    wait_for(lambda: raw_read(miner, "summary") != DOWN_TEXT, timeout=3.0)
    assert time.monotonic() - started >= 0.2
    values = read(miner, "summary")["SUMMARY"][0]
    assert values["Power Mode"] == mode.capitalize()
    assert values["Elapsed"] <= 2
    entry = miner.log[1]  # after get_token
    assert (entry.command, entry.code, entry.replied, entry.encrypted) == (f"set_{mode}_power", None, False, True)


def test_power_mode_without_a_visible_restart(start_fleet: Callable[..., Fleet]) -> None:
    """power_mode_restart false: the mode shows at once in summary and status, btminer keeps running (issue 14, item 11)."""
    miner = start_fleet(profiles="2024", config={"power_mode_restart": False}).miners[0]
    elapsed_before = read(miner, "summary")["SUMMARY"][0]["Elapsed"]
    assert PrivilegedClient(miner).raw("set_low_power") == b""
    assert miner.btminer_running()
    values = read(miner, "summary")["SUMMARY"][0]
    assert values["Power Mode"] == "Low" and values["Elapsed"] >= elapsed_before
    assert read(miner, "status")["Msg"]["power_mode"] == "low"


def test_power_settings_apply_with_delay(start_fleet: Callable[..., Fleet]) -> None:
    """power_apply_delay_s: adjust_power_limit is confirmed at once, taken (and btminer restarted) later."""
    miner = start_fleet(profiles="2024", config={"power_apply_delay_s": 0.3}).miners[0]
    assert PrivilegedClient(miner).call("adjust_power_limit", power_limit="3000")["Code"] == 131
    assert miner.state.power_limit_w is None and miner.btminer_running()
    wait_for(lambda: miner.state.power_limit_w == 3000, timeout=3.0)
    assert PrivilegedClient(miner).call("adjust_power_limit", power_limit="9000")["Code"] == 132  # refused at once, as before


def test_power_limit_set_reported_empty(start_fleet: Callable[..., Fleet]) -> None:
    """power_limit_set_report empty: status.power_limit_set is "" while summary shows the limit (issue 14, item 11)."""
    miner = start_fleet(profiles="2024", config={"power_limit_set_report": "empty"}).miners[0]
    miner.set_state(power_limit_w=3000)
    assert read(miner, "status")["Msg"]["power_limit_set"] == ""
    assert read(miner, "summary")["SUMMARY"][0]["Power Limit"] == 3000
    miner.configure(power_limit_set_report="value")
    assert read(miner, "status")["Msg"]["power_limit_set"] == "3000"
    with pytest.raises(ValueError, match="power_limit_set_report must be one of"):
        miner.configure(power_limit_set_report="sometimes")
    with pytest.raises(ValueError, match="power_mode_restart must be true or false"):
        miner.configure(power_mode_restart="no")


@pytest.mark.parametrize("down_reply", ["close", "reset", "refuse"])
def test_btminer_down_reply_variants(start_fleet: Callable[..., Fleet], down_reply: str) -> None:
    """During a btminer restart reads can also be closed, reset or refused."""
    miner = start_fleet(config={"btminer_down_reply": down_reply, "restart_seconds": 0.4}).miners[0]
    assert PrivilegedClient(miner).call("restart_btminer")["Code"] == 131
    if down_reply == "refuse":
        wait_for(lambda: refused(miner), timeout=2.0)
    elif down_reply == "close":
        assert raw_read(miner, "summary") == b""
    else:
        with pytest.raises(ConnectionResetError):
            raw_read(miner, "pools")
    wait_for(miner.btminer_running, timeout=3.0)
    wait_for(lambda: not refused(miner) and raw_read(miner, "summary").startswith(b'{"STATUS"'), timeout=3.0)


def test_adjust_power_limit(fleet3: Fleet) -> None:
    """In range: 131 then btminer restart; out of range: 132 with a helpful Msg; 99999 clears."""
    miner = fleet3.miners[2]
    client = PrivilegedClient(miner)
    assert client.call("adjust_power_limit", power_limit="3000")["Code"] == 131
    assert miner.state.power_limit_w == 3000 and not miner.btminer_running()
    wait_for(miner.btminer_running, timeout=3.0)
    assert read(miner, "summary")["SUMMARY"][0]["Power Limit"] == 3000
    too_high = client.call("adjust_power_limit", power_limit=9000)
    assert too_high["Code"] == 132 and "above the maximum 3600 W" in too_high["Msg"]
    too_low = client.call("adjust_power_limit", power_limit="100")
    assert too_low["Code"] == 132 and "below the minimum" in too_low["Msg"]
    assert client.call("adjust_power_limit", power_limit="123456")["Code"] == 132
    assert client.call("adjust_power_limit", power_limit="lots")["Code"] == 14
    assert miner.state.power_limit_w == 3000
    assert client.call("adjust_power_limit", power_limit="99999")["Code"] == 131
    assert miner.state.power_limit_w is None


def test_reboot_refuses_connections_then_comes_back(fleet3: Fleet) -> None:
    """reboot: reply first, then the whole API is unavailable; uptime restarts."""
    miner = fleet3.miners[1]
    client = PrivilegedClient(miner)
    uptime_before = read(miner, "summary")["SUMMARY"][0]["Uptime"]
    assert client.call("reboot")["Code"] == 131
    wait_for(lambda: refused(miner), timeout=2.0)
    assert not miner.api_available()
    wait_for(lambda: not refused(miner), timeout=3.0)
    values = read(miner, "summary")["SUMMARY"][0]
    assert values["Uptime"] < 5 < uptime_before
    assert client.call("power_on")["Code"] == 135  # tokens did not survive the reboot


def test_power_off_and_on(fleet3: Fleet) -> None:
    """power_off respbefore true replies, false closes without reply; power_on resumes."""
    miner = fleet3.miners[1]
    client = PrivilegedClient(miner)
    assert client.call("power_off", respbefore="true")["Code"] == 131
    state = miner.state
    assert (state.mining, state.mineroff_reason) == (False, "by whatsminer api")
    assert read(miner, "status")["Msg"]["mineroff"] == "true"
    assert client.call("power_on")["Code"] == 131
    assert miner.state.mining is True and miner.state.mineroff_time == ""
    assert client.raw("power_off", respbefore="false") == b""
    assert miner.state.mining is False
    assert client.call("power_off", respbefore=True)["Code"] == 14  # booleans only as strings


def test_update_pools(fleet3: Fleet) -> None:
    """All nine keys; "" clears a slot; null is refused with 14 and changes nothing."""
    miner = fleet3.miners[2]
    client = PrivilegedClient(miner)
    reply = client.call("update_pools", pool1="stratum+tcp://a.example:3333", worker1="farm.1", passwd1="x1",
                        pool2="stratum+tcp://b.example:443", worker2="farm.2", passwd2=123, pool3="", worker3="", passwd3="")
    assert reply["Code"] == 131
    pools = miner.state.pools
    assert [(pool.url, pool.user, pool.password) for pool in pools] == [
        ("stratum+tcp://a.example:3333", "farm.1", "x1"), ("stratum+tcp://b.example:443", "farm.2", "123"), ("", "", "")]
    assert [pool["URL"] for pool in read(miner, "pools")["POOLS"]] == ["stratum+tcp://a.example:3333", "stratum+tcp://b.example:443"]
    refused_reply = client.call("update_pools", pool1="stratum+tcp://c.example:1", worker1="w", passwd1="p",
                                pool2=None, worker2=None, passwd2=None, pool3=None, worker3=None, passwd3=None)
    assert refused_reply["Code"] == 14
    assert miner.state.pools == pools


def test_pools_apply_with_delay(start_fleet: Callable[..., Fleet]) -> None:
    """pools_apply_delay_s: the reply comes at once, the pools change later."""
    miner = start_fleet(config={"pools_apply_delay_s": 0.3}).miners[0]
    before = miner.state.pools
    assert PrivilegedClient(miner).call("update_pools", pool1="stratum+tcp://late.example:1", worker1="w", passwd1="p")["Code"] == 131
    assert miner.state.pools == before
    wait_for(lambda: miner.state.pools[0].url == "stratum+tcp://late.example:1", timeout=3.0)
    assert miner.state.pools[1].url == ""


def test_factory_reset(fleet3: Fleet) -> None:
    """factory_reset: pools cleared, password admin, write API locked, reboot window."""
    miner = fleet3.miners[1]
    client = PrivilegedClient(miner)
    miner.set_state(power_mode="high", power_limit_w=3000)
    assert client.call("factory_reset")["Code"] == 131
    state = miner.state
    assert (state.write_api_enabled, state.power_mode, state.power_limit_w, state.admin_password) == (False, "normal", None, "admin")
    assert all(not pool.configured for pool in state.pools)
    wait_for(lambda: refused(miner), timeout=2.0)
    wait_for(lambda: not refused(miner), timeout=3.0)
    assert PrivilegedClient(miner).call("power_on")["Msg"] == "can't access write cmd"


def test_hostname_applies_at_reboot(fleet3: Fleet) -> None:
    """set_hostname takes effect after a network restart (reboot) by default."""
    miner = fleet3.miners[2]
    client = PrivilegedClient(miner)
    assert client.call("set_hostname", hostname="rig-42")["Code"] == 131
    assert read(miner, "get_miner_info")["Msg"]["hostname"] == "WhatsMiner"
    assert client.call("set_hostname", hostname="bad name!")["Code"] == 132
    assert client.call("reboot")["Code"] == 131
    wait_for(lambda: miner.api_available() and not refused(miner), timeout=3.0)
    assert read(miner, "get_miner_info")["Msg"]["hostname"] == "rig-42"
    miner.configure(hostname_apply="immediate")
    assert PrivilegedClient(miner).call("set_hostname", hostname="rig-43")["Code"] == 131
    assert read(miner, "get_miner_info")["Msg"]["hostname"] == "rig-43"


def test_net_config_reboots(fleet3: Fleet) -> None:
    """net_config is accepted, stored as reported values, and causes a reboot window."""
    miner = fleet3.miners[1]
    reply = PrivilegedClient(miner).call("net_config", ip="10.0.0.9", mask="255.255.255.0", gate="10.0.0.1", dns="10.0.0.1 1.1.1.1", host="rig-9")
    assert reply["Code"] == 131
    wait_for(lambda: refused(miner), timeout=2.0)
    wait_for(lambda: not refused(miner), timeout=3.0)
    info = read(miner, "get_miner_info")["Msg"]
    assert (info["proto"], info["ip"], info["hostname"]) == ("static", "10.0.0.9", "rig-9")
    assert PrivilegedClient(miner).call("net_config", param="dhcp")["Code"] == 131


def test_simple_settings(fleet3: Fleet) -> None:
    """Fast boot, web pools, zone, power percent, target freq, misc switches."""
    miner = fleet3.miners[2]
    client = PrivilegedClient(miner)
    for command, params in (
        ("enable_btminer_fast_boot", {}), ("disable_web_pools", {}), ("set_zone", {"timezone": "CET-1", "zonename": "Europe/Paris"}),
        ("set_power_pct", {"percent": "80"}), ("set_temp_offset", {"temp_offset": "-5"}), ("adjust_upfreq_speed", {"upfreq_speed": 3}),
        ("set_poweroff_cool", {"poweroff_cool": "1"}), ("set_fan_zero_speed", {"fan_zero_speed": 0}),
        ("load_log", {"ip": "127.0.0.1", "port": "514", "proto": "udp"}),
    ):
        assert client.call(command, **params)["Code"] == 131, command
    state = miner.state
    assert (state.fast_boot, state.web_pools, state.zonename, state.power_pct, state.temp_offset) == (True, False, "Europe/Paris", 80, -5)
    assert (state.upfreq_speed, state.poweroff_cool, state.fan_zero_speed) == (3, True, False)
    assert read(miner, "status")["Msg"]["hash_percent"] == "80"
    assert client.call("set_power_pct", percent="150")["Code"] == 132
    assert client.call("set_target_freq", percent=5)["Code"] == 131
    assert miner.state.target_freq_pct == 5 and not miner.btminer_running()
    pre = client.call("pre_power_on", complete="false", msg="wait for adjust temp")
    assert pre["Msg"] == {"complete": "true", "msg": "adjust complete"}
