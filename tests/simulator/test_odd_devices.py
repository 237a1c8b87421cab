"""The odd devices of a farm network (odd_devices.py), ips_base, and moving a miner through the control API."""

from __future__ import annotations

import json
import os
from typing import Callable

import pytest
from sim_client import exchange
from test_control_cli import http
from whatsminer_sim import Fleet
from whatsminer_sim.fleet import miner_address
from whatsminer_sim.odd_devices import OTHER_VENDOR_TYPE, OddDeviceSpec, parse_specs

# Addresses of their own (no other test binds 127.24.x), per test and per pytest-xdist worker.
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").lstrip("gw") or 0)
DEVICES_BASE = f"127.24.{2 * WORKER}"
MOVE_BASE = f"127.24.{2 * WORKER + 1}"


def test_specs_parse_and_bad_ones_are_refused() -> None:
    assert parse_specs("cgminer@127.0.9.1, alias:miner-002@127.0.9.5") == [
        OddDeviceSpec("cgminer", "127.0.9.1"), OddDeviceSpec("alias", "127.0.9.5", (), "miner-002")]
    for bad, message in (("toaster@127.0.9.1", "unknown"), ("cgminer", "expected kind@address"), ("alias@127.0.9.5", "needs the name")):
        with pytest.raises(ValueError, match=message):
            parse_specs(bad)


def test_ips_base_places_the_miners() -> None:
    assert miner_address(0, "ips", ips_base="127.20.0.1") == ("127.20.0.1", 4028)
    assert miner_address(999, "ips", ips_base="127.20.0.1") == ("127.20.3.238", 4028)
    assert miner_address(1, "ips", ips_base="127.20.0.254") == ("127.20.1.1", 4028)
    with pytest.raises(ValueError, match="loopback"):
        miner_address(0, "ips", ips_base="10.0.0.1")


def test_the_devices_answer_as_on_a_farm_network(start_fleet: Callable[..., Fleet]) -> None:
    fleet = start_fleet(count=1, address_mode="ips", ips_base=f"{DEVICES_BASE}.1",
                        odd_devices=f"cgminer@{DEVICES_BASE}.200,http@{DEVICES_BASE}.201,reset@{DEVICES_BASE}.203,alias:miner-001@{DEVICES_BASE}.204")
    version = json.loads(exchange(f"{DEVICES_BASE}.200", 4028, b'{"command":"version"}').rstrip(b"\0"))
    assert version["VERSION"][0]["Type"] == OTHER_VENDOR_TYPE
    invalid = json.loads(exchange(f"{DEVICES_BASE}.200", 4028, b'{"cmd":"get_version"}').rstrip(b"\0"))
    assert (invalid["STATUS"][0]["STATUS"], invalid["STATUS"][0]["Code"]) == ("E", 14)
    assert exchange(f"{DEVICES_BASE}.201", 4028, b'{"cmd":"summary"}').startswith(b"HTTP/1.1 200 OK")
    with pytest.raises(ConnectionResetError):
        exchange(f"{DEVICES_BASE}.203", 4028, b'{"cmd":"summary"}')
    through_alias = json.loads(exchange(f"{DEVICES_BASE}.204", 4028, b'{"cmd":"get_version"}'))
    assert through_alias["Msg"]["fw_ver"] == fleet.miners[0].profile_spec.fw_version
    assert {device["host"]: device["connections"] for device in fleet.describe()["odd_devices"]} == {
        f"{DEVICES_BASE}.200": 2, f"{DEVICES_BASE}.201": 1, f"{DEVICES_BASE}.203": 1, f"{DEVICES_BASE}.204": 1}


def test_a_miner_moves_through_the_control_api(start_fleet: Callable[..., Fleet]) -> None:
    fleet = start_fleet(count=1, address_mode="ips", ips_base=f"{MOVE_BASE}.1", control_port=0)
    base = f"http://127.0.0.1:{fleet.control_port}"
    status, moved = http("POST", f"{base}/miners/miner-001/move", {"host": f"{MOVE_BASE}.150"})
    assert (status, moved["host"], moved["state"]["ip"]) == (200, f"{MOVE_BASE}.150", f"{MOVE_BASE}.150")
    assert json.loads(exchange(f"{MOVE_BASE}.150", 4028, b'{"cmd":"get_version"}'))["STATUS"] == "S"
    with pytest.raises(ConnectionRefusedError):
        exchange(f"{MOVE_BASE}.1", 4028, b'{"cmd":"get_version"}')
    status, error = http("POST", f"{base}/miners/miner-001/move", {"host": "10.0.0.1"})
    assert status == 400 and "not a loopback address" in error["error"]
