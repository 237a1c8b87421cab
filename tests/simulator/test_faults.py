"""Fault injection: refusal, delay, drops, garbage, every firmware quirk, forced codes."""

from __future__ import annotations

import json
import socket
import time
from typing import Any, Callable

import pytest
from pyasic.rpc.base import BaseMinerRPCAPI
from sim_client import PrivilegedClient, exchange, read

from whatsminer_sim import QUIRKS, Fault, Fleet, wait_for
from whatsminer_sim.faults import render


def raw(miner: Any, command: str, **params: Any) -> bytes:
    """Raw reply bytes of a plaintext command."""
    return exchange(miner.host, miner.port, json.dumps({"command": command, **params}).encode())


def pyasic_parse(data: bytes) -> dict[str, Any]:
    """Parse like pyasic does (its repairs of real firmware bugs)."""
    return BaseMinerRPCAPI._load_api_data(data)  # pylint: disable=protected-access


def strict_json_fails(data: bytes) -> bool:
    """True when a strict JSON parser rejects the bytes."""
    try:
        json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return True
    return False


def test_fault_rules_are_validated() -> None:
    """Unknown kinds, quirks and drop modes are refused; JSON form round-trips."""
    for bad in ({"kind": "explode"}, {"kind": "quirk", "quirk": "nope"}, {"kind": "drop", "mode": "later"},
                {"kind": "code"}, {"kind": "delay", "seconds": 1, "remaining": 0}, {"kind": "garbage", "surprise": 1}):
        with pytest.raises(ValueError):
            Fault.from_dict(bad)
    rule = Fault.from_dict({"kind": "code", "code": 132, "commands": ["update_pools"], "remaining": 1})
    assert rule.to_dict() == {"kind": "code", "code": 132, "message": None, "commands": ["update_pools"], "remaining": 1, "probability": 1.0}
    assert set(QUIRKS) == {"trailing_nul", "trailing_comma", "newline", "missing_comma", "error_code_list", "leading_comma", "truncated"}


def test_refuse_connections(fleet3: Fleet) -> None:
    """refuse_connections closes the listener (ECONNREFUSED) until switched off."""
    miner = fleet3.miners[0]
    miner.configure(refuse_connections=True)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((miner.host, miner.port), timeout=2).close()
    # The port stays the miner's meanwhile: nothing else on the machine can bind it (as a parallel
    # test's fleet asking for a free port could, and then answer for the refusing miner).
    with socket.socket() as intruder, pytest.raises(OSError):
        intruder.bind((miner.host, miner.port))
    miner.configure(refuse_connections=False)
    assert read(miner, "status")["Code"] == 131


def test_delay_limited_to_commands_and_count(fleet3: Fleet) -> None:
    """A delay scoped to status, for the next request only."""
    miner = fleet3.miners[1]
    miner.add_fault(kind="delay", seconds=0.3, commands=["status"], remaining=1)
    started = time.monotonic()
    read(miner, "summary")
    assert time.monotonic() - started < 0.25
    started = time.monotonic()
    read(miner, "status")
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    read(miner, "status")
    assert time.monotonic() - started < 0.25
    assert miner.config.faults == []


def test_drop_mid_reply_with_close(fleet3: Fleet) -> None:
    """drop/close: part of the reply, then EOF."""
    miner = fleet3.miners[1]
    full = raw(miner, "get_version")
    miner.add_fault(kind="drop", mode="close", remaining=1)
    partial = raw(miner, "get_version")
    assert 0 < len(partial) < len(full) and full.startswith(partial[:20])
    assert strict_json_fails(partial)


def test_drop_mid_reply_with_reset(fleet3: Fleet) -> None:
    """drop/reset: part of the reply (maybe), then a TCP reset."""
    miner = fleet3.miners[1]
    miner.add_fault(kind="drop", mode="reset", remaining=1)
    try:
        data = raw(miner, "summary")
    except ConnectionResetError:
        data = b""
    assert strict_json_fails(data)
    assert read(miner, "summary")["SUMMARY"][0]["Elapsed"] > 0


def test_garbage(fleet3: Fleet) -> None:
    """garbage: random bytes instead of the reply, deterministic per seed."""
    miner = fleet3.miners[2]
    miner.add_fault(kind="garbage", commands=["summary"], remaining=1)
    data = raw(miner, "summary")
    assert data.startswith(b"\xff\xfe") and strict_json_fails(data)


def quirked(miner: Any, quirk: str, command: str) -> bytes:
    """Reply bytes of ``command`` with one quirk switched on for that request."""
    miner.add_fault(kind="quirk", quirk=quirk, commands=[command], remaining=1)
    return raw(miner, command)


def test_quirk_trailing_nul(fleet3: Fleet) -> None:
    """A trailing NUL after the JSON (cgminer style)."""
    data = quirked(fleet3.miners[1], "trailing_nul", "summary")
    assert data.endswith(b"}\x00") and strict_json_fails(data)
    assert pyasic_parse(data)["STATUS"][0]["Code"] == 11


def test_quirk_trailing_comma_like_bare_get_miner_info(fleet3: Fleet) -> None:
    """``...",}`` as captured from a bare get_miner_info (fw 20220422.18.REL)."""
    miner = fleet3.miners[1]
    data = quirked(miner, "trailing_comma", "get_miner_info")
    assert f'"powersn":"{miner.state.psu_serial}",}}'.encode() in data and strict_json_fails(data)
    assert pyasic_parse(data)["Msg"]["ledstat"] == "auto"


def test_quirk_newline(fleet3: Fleet) -> None:
    """A raw newline inside a JSON string."""
    data = quirked(fleet3.miners[2], "newline", "status")
    assert b"\n" in data and strict_json_fails(data)
    assert pyasic_parse(data)["Msg"]["mineroff"] == "false"


def test_quirk_missing_comma_in_get_psu(fleet3: Fleet) -> None:
    """``""temp0`` (btminer 2023-01-06): get_psu gains temp0 without the comma before it."""
    data = quirked(fleet3.miners[2], "missing_comma", "get_psu")
    assert b'"vender":"7""temp0":"' in data and strict_json_fails(data)
    assert pyasic_parse(data)["Msg"]["temp0"].isdigit()


def test_quirk_error_code_list_shaped_dict(fleet3: Fleet) -> None:
    """get_error_code exactly as the API 2.0.4 document shows it."""
    miner = fleet3.miners[1]
    miner.set_state(error_codes=[{"code": 329, "time": "2022-01-17 11:28:11"}])
    data = quirked(miner, "error_code_list", "get_error_code")
    assert b'"Msg":{"error_code":["329":"2022-01-17 11:28:11"]}' in data and strict_json_fails(data)
    assert pyasic_parse(data)["Msg"] == {"error_code": {"329": "2022-01-17 11:28:11"}}


def test_quirk_leading_comma(fleet3: Fleet) -> None:
    """The opening brace replaced by a comma."""
    data = quirked(fleet3.miners[0], "leading_comma", "get_version")
    assert data.startswith(b',"STATUS"') and strict_json_fails(data)
    assert pyasic_parse(data)["Msg"]["fw_ver"] == "20210322.22.REL"


def test_quirk_truncated(fleet3: Fleet) -> None:
    """The reply cut in the middle."""
    miner = fleet3.miners[0]
    full = raw(miner, "pools")
    data = quirked(miner, "truncated", "pools")
    assert len(data) == len(full) // 2 and strict_json_fails(data)


def test_render_quirk_order() -> None:
    """Text quirks combine: trailing comma, newline, leading comma, NUL."""
    data = render({"STATUS": "S", "Msg": {"a": "b"}}, ["trailing_comma", "trailing_nul", "leading_comma", "newline"])
    assert data == b',"STATUS":"S","Msg":{"a":"b\n",}}\x00'


def test_forced_code_on_read(fleet3: Fleet) -> None:
    """{"summary": 14}: summary answers invalid cmd, other reads are untouched."""
    miner = fleet3.miners[1]
    miner.add_fault(kind="code", code=14, commands=["summary"])
    reply = read(miner, "summary")
    assert (reply["STATUS"], reply["Code"], reply["Msg"]) == ("E", 14, "invalid cmd")
    assert read(miner, "pools")["STATUS"][0]["Code"] == 7
    assert read(miner, "summary+pools")["Code"] == 14


def test_forced_code_on_get_token(fleet3: Fleet) -> None:
    """{"get_token": 136}: over max connect."""
    miner = fleet3.miners[2]
    miner.add_fault(kind="code", code=136, commands=["get_token"], remaining=1)
    assert read(miner, "get_token")["Msg"] == "over max connect"
    assert read(miner, "get_token")["Code"] == 134


def test_forced_code_on_write_is_encrypted_and_changes_nothing(fleet3: Fleet) -> None:
    """{"update_pools": 132}: an encrypted 132 reply; the pools stay as they were."""
    miner = fleet3.miners[2]
    before = miner.state.pools
    miner.add_fault(kind="code", code=132, commands=["update_pools"])
    client = PrivilegedClient(miner)
    outer = json.loads(client.raw("update_pools", pool1="stratum+tcp://x.example:1", worker1="w", passwd1="p"))
    assert "enc" in outer
    assert client.decrypt(outer)["Code"] == 132
    assert miner.state.pools == before


def test_forced_135_once_on_any_privileged_command(fleet3: Fleet) -> None:
    """{"privileged": 135} once: the first write fails with check token err, the retry works."""
    miner = fleet3.miners[1]
    miner.add_fault(kind="code", code=135, commands=["privileged"], remaining=1)
    client = PrivilegedClient(miner)
    assert read(miner, "summary")["STATUS"][0]["Code"] == 11
    first = client.call("power_off", respbefore="true")
    assert (first["Code"], first["Msg"]) == (135, "check token err")
    assert miner.state.mining is True
    assert client.call("power_off", respbefore="true")["Code"] == 131
    assert miner.state.mining is False


def test_fault_probability_is_seeded(start_fleet: Callable[..., Fleet]) -> None:
    """probability < 1 picks requests with the miner's seeded RNG: same seed, same pattern."""
    patterns = []
    for _run in range(2):
        miner = start_fleet(seed=5).miners[0]
        miner.add_fault(kind="code", code=14, commands=["status"], probability=0.5)
        patterns.append([read(miner, "status")["Code"] for _request in range(16)])
    assert patterns[0] == patterns[1]
    assert set(patterns[0]) == {14, 131}


def test_faults_through_configure(fleet3: Fleet) -> None:
    """set_faults replaces the rule list; rules may be given as dicts."""
    miner = fleet3.miners[0]
    miner.set_faults([{"kind": "quirk", "quirk": "trailing_nul", "commands": ["cgminer"], "remaining": 2}])
    assert raw(miner, "summary").endswith(b"\x00")
    assert not raw(miner, "status").endswith(b"\x00")
    assert raw(miner, "devs").endswith(b"\x00")
    assert not raw(miner, "pools").endswith(b"\x00")
    wait_for(lambda: miner.config.faults == [], timeout=1.0)
