# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``api_version: auto`` probe of the session (``_session.choose_api_version``) on every firmware profile."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import MinerConnectionError
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import (
    ApiChoice,
    api_version_from_version_reply,
    choose_api_version,
    firmware_date,
    resolve_api_version,
)
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_miner import Reply
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_v3_miner import request_of, scripted_v3_miner, v3_reply
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import API2_PROFILES as PROFILES, FAST_CONFIG, Fleet
from whatsminer_sim import PROFILES as SIM_PROFILES  # pylint: disable=import-error

SIM_CONFIG = {**FAST_CONFIG, "restart_seconds": 0.3, "reboot_seconds": 0.3}


@pytest.mark.parametrize("fw_ver, api_ver, expected", [
    ("20210322.22.REL", "whatsminer v1.4.0", 2),
    ("20230803.11.REL", "2.0.5", 2),
    ("20240924.14.Rel", "2.0.5", 2),
    ("20241031.10.Rel", "2.0.5", 2),
    ("20241101.10.Rel", "2.0.5", 3),
    ("20250214.16.1", "2.0.5", 3),
    ("20251209.16.Rel2", None, 3),
    ("'20220919.15.REL'", None, 2),
    (None, "3.0.2", 3),
    ("garbage", "2.0.5", 2),
    (None, None, 2),
])
def test_api_version_from_version_reply(fw_ver: Any, api_ver: Any, expected: int) -> None:
    msg = {key: value for key, value in (("fw_ver", fw_ver), ("api_ver", api_ver)) if value is not None}
    assert api_version_from_version_reply({"STATUS": "S", "Code": 131, "Msg": msg}) == expected


def test_firmware_date() -> None:
    assert firmware_date("20250214.16.1") == (2025, 2, 14)
    assert firmware_date("'20220919.15.REL'") == (2022, 9, 19)
    assert firmware_date("20251399.1") is None and firmware_date(None) is None and firmware_date(20250101) == (2025, 1, 1)


@pytest.mark.parametrize("profile, expected", [(profile, 2) for profile in PROFILES] + [("3.x", 3)])
def test_choose_api_version_with_one_request(profile: str, expected: int, count_connects: Any) -> None:
    """One get_version on 4028 decides; API 2 miners are never asked on the API 3 port (here: a refusing one)."""
    fleet = Fleet.start(count=1, profiles=profile, seed=2, config=SIM_CONFIG)
    try:
        miner = fleet.miners[0]
        counter = count_connects()
        started = time.monotonic()
        choice = choose_api_version(miner.host, port=miner.port, v3_port=_closed_port(), timeout=2.0)
        assert time.monotonic() - started < 1.0
        assert isinstance(choice, ApiChoice) and choice.version == expected
        assert counter.calls == 1
        assert choice.version_reply["Msg"]["fw_ver"] == SIM_PROFILES[profile].fw_version  # reusable by the facts module
        assert [entry.command for entry in miner.log] == ["get_version"]
        assert str(expected) in choice.reason
    finally:
        fleet.stop()


def test_api2_miner_in_ips_mode_has_4433_refused(count_connects: Any) -> None:
    """In ips mode, an API 2 miner's API 3 port refuses at once; auto still needs only 4028."""
    fleet = Fleet.start(count=2, profiles=["2024", "3.x"], seed=2, address_mode="ips", port=0, v3_port=0, config=SIM_CONFIG)
    try:
        api2, api3 = fleet.miners
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((api2.host, api3.v3_port), timeout=2)
        counter = count_connects()
        assert choose_api_version(api2.host, port=api2.port, v3_port=api3.v3_port).version == 2
        assert choose_api_version(api3.host, port=api3.port, v3_port=api3.v3_port).version == 3
        assert counter.calls == 2
        assert api3.counters.v3_connections == 0
    finally:
        fleet.stop()


def test_choose_api_version_when_4028_is_closed() -> None:
    """Nothing on 4028 (refused): one API 3 request decides."""
    system = {"system": {"api": "3.0.2", "fwversion": "20251209.16.Rel2"}}
    with scripted_v3_miner(Reply(v3_reply(0, system, "get.device.info"))) as server:
        choice = choose_api_version(server.host, port=_closed_port(), v3_port=server.port, timeout=1.0, retries=0)
    assert choice.version == 3 and "20251209.16.Rel2" in choice.reason and choice.connections == 1
    assert [request_of(raw) for raw in server.requests] == [{"cmd": "get.device.info", "param": "system"}]


def test_choose_api_version_unreachable() -> None:
    """Neither port answers: the port-4028 error is raised."""
    port = _closed_port()
    with pytest.raises(MinerConnectionError) as caught:
        choose_api_version("127.0.0.1", port=port, v3_port=_closed_port(), timeout=1.0, retries=0)
    assert caught.value.port == port and not caught.value.request_sent


def test_choose_api_version_without_get_version() -> None:
    """4028 answers but rejects get_version (code 14): API 2."""
    fleet = Fleet.start(count=1, profiles="2.0.x", config=SIM_CONFIG)
    try:
        miner = fleet.miners[0]
        miner.add_fault(kind="code", code=14, commands=["get_version"])
        assert choose_api_version(miner.host, port=miner.port, v3_port=_closed_port()).version == 2
    finally:
        fleet.stop()


def test_resolve_api_version(count_connects: Any) -> None:
    counter = count_connects()
    assert resolve_api_version("2", "192.0.2.1").version == 2
    assert resolve_api_version("3", "192.0.2.1").version == 3
    assert counter.calls == 0
    with pytest.raises(ValueError):
        resolve_api_version("4", "192.0.2.1")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
