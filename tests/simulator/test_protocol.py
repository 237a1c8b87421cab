"""Transport and request handling: framing, command keys, joins, idle timeout, errors."""

from __future__ import annotations

import json
import socket
import time
from typing import Callable

import pytest
from sim_client import exchange, read, request

from whatsminer_sim import Fleet, miner_address
from whatsminer_sim.fleet import miner_name, require_loopback
from whatsminer_sim.protocol import INVALID_REQUEST, parse_request


def test_parse_request_needs_a_complete_object() -> None:
    """No terminator: a request is complete when its braces balance outside strings."""
    assert parse_request(b"") is None
    assert parse_request(b'{"cmd": "summ') is None
    assert parse_request(b'{"cmd": "a}b"') is None
    assert parse_request(b'  {"cmd": "a}b"}') == {"cmd": "a}b"}
    assert parse_request(b'{"cmd": "summary"}\n') == {"cmd": "summary"}
    assert parse_request(b'{"cmd": "x", "n": [1, {"a": 2}]}') == {"cmd": "x", "n": [1, {"a": 2}]}
    assert parse_request(b"summary") is INVALID_REQUEST
    assert parse_request(b'{"cmd": summary}') is INVALID_REQUEST


def test_request_arriving_in_pieces(fleet3: Fleet) -> None:
    """Bytes are accumulated until the JSON object is complete."""
    miner = fleet3.miners[1]
    with socket.create_connection((miner.host, miner.port), timeout=5) as sock:
        for piece in (b'{"comm', b'and": "get_', b'version"', b"}"):
            sock.sendall(piece)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert json.loads(data)["Msg"]["fw_ver"] == "20230803.11.REL"


@pytest.mark.parametrize("key", ["cmd", "command"])
def test_both_command_keys(fleet3: Fleet, key: str) -> None:
    """``cmd`` (vendor document) and ``command`` (cgminer style, pyasic reads) both work."""
    assert read(fleet3.miners[2], "summary", key=key)["STATUS"][0]["Msg"] == "Summary"
    assert read(fleet3.miners[2], "status", key=key)["Code"] == 131


def test_one_reply_then_close(fleet3: Fleet) -> None:
    """The miner writes one reply and closes; a second request on the socket gets nothing."""
    miner = fleet3.miners[0]
    with socket.create_connection((miner.host, miner.port), timeout=5) as sock:
        sock.sendall(b'{"command":"status"}{"command":"summary"}')
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert json.loads(data)["Msg"]["btmineroff"] == "true"


@pytest.mark.parametrize("profile", ["1.4.x", "2.0.x", "2024"])
def test_join_of_cgminer_reads(start_fleet: Callable[..., Fleet], profile: str) -> None:
    """``summary+pools+devs+edevs+devdetails`` -> the cgminer multi-reply shape."""
    miner = start_fleet(profiles=profile).miners[0]
    reply = read(miner, "summary+pools+devs+edevs+devdetails")
    assert list(reply) == ["summary", "pools", "devs", "edevs", "devdetails", "id"]
    assert reply["id"] == 1
    for command, data_key in (("summary", "SUMMARY"), ("pools", "POOLS"), ("devs", "DEVS"), ("devdetails", "DEVDETAILS")):
        section = reply[command]
        assert isinstance(section, list) and len(section) == 1
        assert list(section[0]) == ["STATUS", data_key, "id"]
        assert section[0]["STATUS"][0]["STATUS"] == "S"
    assert reply["summary"][0]["SUMMARY"][0]["Elapsed"] == read(miner, "summary")["SUMMARY"][0]["Elapsed"]


@pytest.mark.parametrize("join", ["summary+get_version", "status+pools", "summary+nonsense", "get_psu+get_version"])
def test_join_with_daemon_or_unknown_command_is_rejected(fleet3: Fleet, join: str) -> None:
    """Joins of get_*/status or unknown commands -> error (default 14 "invalid cmd")."""
    reply = read(fleet3.miners[1], join)
    assert (reply["STATUS"], reply["Code"], reply["Msg"]) == ("E", 14, "invalid cmd")


def test_join_error_code_is_configurable(fleet3: Fleet) -> None:
    """join_error_code changes the code of a rejected join."""
    miner = fleet3.miners[1]
    miner.configure(join_error_code=45)
    assert read(miner, "summary+status")["Code"] == 45


def test_unknown_and_missing_commands(fleet3: Fleet) -> None:
    """Unknown command -> 14; no command key -> 14; invalid JSON -> 23."""
    miner = fleet3.miners[2]
    assert read(miner, "stats")["Code"] == 14
    assert request(miner, {"foo": "bar"})["Code"] == 14
    reply = json.loads(exchange(miner.host, miner.port, b"this is not json"))
    assert (reply["Code"], reply["Msg"]) == (23, "json cmd err")
    assert [entry.command for entry in miner.log][-3:] == ["stats", "(no command)", "(invalid json)"]


def test_idle_timeout_closes_silently(start_fleet: Callable[..., Fleet]) -> None:
    """No complete request within idle_timeout_s: the miner closes without a reply."""
    miner = start_fleet(config={"idle_timeout_s": 0.2}).miners[0]
    started = time.monotonic()
    with socket.create_connection((miner.host, miner.port), timeout=5) as sock:
        sock.sendall(b'{"command": ')
        assert sock.recv(100) == b""
    assert 0.15 < time.monotonic() - started < 3.0
    assert miner.counters.connections == 1 and miner.counters.requests == 0


def test_no_pools_is_a_cgminer_error(fleet3: Fleet) -> None:
    """With every slot empty, pools answers like cgminer: STATUS E, Code 8 "No pools"."""
    miner = fleet3.miners[1]
    miner.set_state(pools=[])
    status = read(miner, "pools")["STATUS"][0]
    assert (status["STATUS"], status["Code"], status["Msg"]) == ("E", 8, "No pools")


def test_pools_never_echo_passwords(fleet3: Fleet) -> None:
    """Pool passwords are kept in the state but appear in no reply."""
    miner = fleet3.miners[2]
    miner.set_state(pools=[{"url": "stratum+tcp://p.example:3333", "user": "me.1", "password": "sekrit-pass"}])
    for command in ("pools", "summary", "devs", "status", "get_miner_info", "summary+pools"):
        raw = exchange(miner.host, miner.port, json.dumps({"command": command}).encode())
        assert b"sekrit-pass" not in raw
    pools = read(miner, "pools")["POOLS"]
    assert [(pool["POOL"], pool["URL"], pool["User"], pool["Stratum URL"]) for pool in pools] == [(1, "stratum+tcp://p.example:3333", "me.1", "p.example")]
    assert miner.state.pools[0].password == "sekrit-pass"


def test_counters_and_log(fleet3: Fleet) -> None:
    """Connections, requests and the command log (monotonic, wall, peer, command, code)."""
    miner = fleet3.miners[1]
    read(miner, "summary")
    read(miner, "get_token")
    entries = miner.log
    assert [(entry.command, entry.code, entry.peer) for entry in entries] == [("summary", 11, "127.0.0.1"), ("get_token", 134, "127.0.0.1")]
    assert entries[0].monotonic <= entries[1].monotonic and entries[0].wall > 1e9
    assert (miner.counters.connections, miner.counters.requests, miner.counters.tokens_issued) == (2, 2, 1)
    miner.clear_log()
    assert miner.log == []


def test_addressing() -> None:
    """ips mode: 127.0.(1 + i // 254).(1 + i % 254):4028; ports mode: consecutive ports."""
    assert miner_address(0, "ips") == ("127.0.1.1", 4028)
    assert miner_address(253, "ips") == ("127.0.1.254", 4028)
    assert miner_address(254, "ips") == ("127.0.2.1", 4028)
    assert miner_address(999, "ips") == ("127.0.4.238", 4028)
    assert miner_address(5, "ports", base_port=40280) == ("127.0.0.1", 40285)
    assert miner_address(5, "ports", base_port=0) == ("127.0.0.1", 0)
    assert (miner_name(0, 3), miner_name(41, 999), miner_name(0, 1000)) == ("miner-001", "miner-042", "miner-0001")
    with pytest.raises(ValueError):
        require_loopback("10.0.0.1")


def test_ips_mode(start_fleet: Callable[..., Fleet]) -> None:
    """Each miner on its own loopback address (port 0 here so parallel runs do not clash)."""
    fleet = start_fleet(count=3, address_mode="ips", port=0)
    assert [miner.host for miner in fleet.miners] == ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
    for miner in fleet.miners:
        assert miner.port > 0
        assert read(miner, "get_miner_info")["Msg"]["ip"] == miner.host
