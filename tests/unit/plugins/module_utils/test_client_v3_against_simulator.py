# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WhatsminerV3Client against the simulator's 3.x profile, every command checked against the TRUE
state, and the error mapping on real replies (the API probe: ``test_api_probe.py``)."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import WhatsminerClient
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api3 import WhatsminerV3Client
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    AuthenticationError,
    CommandRejectedError,
    MinerRestartingError,
    UnsupportedCommandError,
    WriteApiDisabledError,
)
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import FAST_CONFIG, Fleet
from whatsminer_sim import PoolSlot, wait_for  # pylint: disable=import-error

PASSWORD = "Farm_v3pw"
SIM_CONFIG = {**FAST_CONFIG, "restart_seconds": 0.3, "reboot_seconds": 0.3}
POOLS = [
    {"pool": "stratum+tcp://new.example.pool:3333", "worker": "farm.rig1", "passwd": "pool-Secret-77"},
    {"pool": "stratum+tcp://backup.example.pool:443", "worker": "farm.rig1b", "passwd": "x"},
]


@pytest.fixture(name="fleet")
def fixture_fleet() -> Iterator[Fleet]:
    """One 3.x miner with a non-factory super password, fast windows."""
    fleet = Fleet.start(count=1, profiles="3.x", seed=21, v3_password=PASSWORD, config=SIM_CONFIG)
    yield fleet
    fleet.stop()


@pytest.fixture(name="miner")
def fixture_miner(fleet: Fleet) -> Any:
    return fleet.miners[0]


def client_of(miner: Any, **options: Any) -> WhatsminerV3Client:
    settings: dict[str, Any] = {"password": PASSWORD, "timeout": 2.0, "retries": 1, "retry_delay": 0.05}
    settings.update(options)
    return WhatsminerV3Client(miner.host, miner.v3_port, **settings)


# --- reads -----------------------------------------------------------------------------------

def test_reads(miner: Any) -> None:
    client = client_of(miner)
    state = miner.state
    info = client.read("get.device.info")["msg"]
    assert (info["network"]["mac"], info["miner"]["miner-sn"], info["salt"]) == (state.mac, state.serial, state.v3_salt)
    assert client.read("get.device.info", "system")["msg"]["system"]["fwversion"] == "20250214.16.1"
    status = client.read_status(["summary", "pools", "edevs"])["msg"]
    assert set(status) == {"summary", "pools", "edevs"} and status["summary"]["hash-average"] > 100
    assert [pool["url"] for pool in status["pools"]] == [slot.url for slot in state.pools]
    assert client.read("get.miner.setting")["msg"]["power-mode"] == "normal"
    assert client.read("get.system.setting")["msg"]["hostname"] == state.hostname
    assert client.connections_opened == 5 and client.tokens_requested == 0
    assert [entry.api for entry in miner.log] == [3] * 5


def test_read_errors(miner: Any) -> None:
    client = client_of(miner)
    with pytest.raises(UnsupportedCommandError) as caught:
        client.read("get.miner.unknown")  # a command no firmware has
    assert caught.value.code == -2 and caught.value.miner_message == "invalid command"
    with pytest.raises(UnsupportedCommandError):
        client.read("get.device.info", "hardware")
    with pytest.raises(CommandRejectedError) as missing:
        client.read("get.miner.status")
    assert missing.value.code == -3


def test_status_during_btminer_restart(miner: Any) -> None:
    """get.miner.status during a restart: retried; MinerRestartingError when the window outlasts the retries."""
    client = client_of(miner, retries=0)
    client.privileged("set.miner.service", "restart")
    with pytest.raises(MinerRestartingError) as caught:
        client.read_status(["summary"])
    assert caught.value.code == -1 and caught.value.request_sent
    patient = client_of(miner, retries=20, retry_delay=0.05)
    assert patient.read_status(["summary"])["code"] == 0


# --- writes ---------------------------------------------------------------------------------

def test_power_mode_and_limit(miner: Any) -> None:
    client = client_of(miner, retries=20, retry_delay=0.05)
    assert client.privileged("set.miner.power_mode", "low")["msg"] == "ok"
    assert miner.state.power_mode == "low"
    assert client.read("get.miner.setting")["msg"]["power-mode"] == "low"
    assert client.privileged("set.miner.power_limit", 3000)["code"] == 0
    assert miner.state.power_limit_w == 3000
    assert client.read_status(["summary"])["msg"]["summary"]["power-limit"] == 3000  # waits out the restart
    with pytest.raises(CommandRejectedError) as caught:
        client.privileged("set.miner.power_limit", 5000)
    assert "maximum 3800 W" in str(caught.value) and not isinstance(caught.value, UnsupportedCommandError)
    assert client.privileged("set.miner.power_limit", 99999)["code"] == 0
    assert miner.state.power_limit_w is None
    assert client.tokens_requested == 1


def test_service(miner: Any) -> None:
    client = client_of(miner)
    client.privileged("set.miner.service", "stop")
    assert not miner.state.mining
    assert client.read("get.device.info", "miner")["msg"]["miner"]["working"] == "false"
    client.privileged("set.miner.service", "start")
    assert miner.state.mining


def test_pools(miner: Any) -> None:
    client = client_of(miner)
    assert client.privileged("set.miner.pools", POOLS)["msg"] == "ok"
    assert miner.state.pools == [
        PoolSlot("stratum+tcp://new.example.pool:3333", "farm.rig1", "pool-Secret-77"),
        PoolSlot("stratum+tcp://backup.example.pool:443", "farm.rig1b", "x"), PoolSlot(),
    ]
    entry = miner.log[-1]
    assert (entry.command, entry.encrypted, entry.code, entry.api) == ("set.miner.pools", True, 0, 3)


def test_led_hostname_reboot(miner: Any) -> None:
    client = client_of(miner, retries=20, retry_delay=0.05)
    client.privileged("set.system.led", [{"color": "red", "period": 200, "duration": 100, "start": 0}])
    assert miner.state.led == "manual" and miner.state.led_settings["period"] == 200
    client.privileged("set.system.led", "auto")
    assert miner.state.led == "auto"
    client.privileged("set.system.hostname", {"hostname": "rig-042"})
    assert miner.state.pending_hostname == "rig-042"
    assert client.privileged("set.system.reboot")["msg"] == "ok"
    wait_for(lambda: not miner.api_available(), timeout=2)
    assert client.read("get.device.info", "network")["msg"]["network"]["hostname"] == "rig-042"  # retried through the reboot


def test_wrong_password(miner: Any) -> None:
    client = client_of(miner, password="super")  # the factory password, changed on this miner
    with pytest.raises(AuthenticationError) as caught:
        client.privileged("set.miner.power_mode", "high")
    assert caught.value.code == -1 and miner.state.power_mode == "normal"
    assert client.tokens_requested == 2  # the salt was checked again, unchanged: not resent
    assert [entry.command for entry in miner.log].count("set.miner.power_mode") == 1


def test_no_permission(miner: Any) -> None:
    with pytest.raises(WriteApiDisabledError) as caught:
        client_of(miner, account="user1", password="user1").privileged("set.miner.service", "stop")
    assert caught.value.code == -4 and "API 3 account given in api3_account" in str(caught.value) and "user1" not in str(caught.value)
    miner.set_state(write_api_enabled=False)
    with pytest.raises(WriteApiDisabledError):
        client_of(miner).privileged("set.miner.service", "stop")
    assert miner.state.mining


def test_salt_change_is_recovered(miner: Any) -> None:
    client = client_of(miner)
    client.privileged("set.miner.service", "stop")
    miner.set_state(v3_salt="NewSalt9")
    client.privileged("set.miner.service", "start")
    assert miner.state.mining and client.tokens_requested == 2 and client.salt() == "NewSalt9"


def test_param_missing(miner: Any) -> None:
    with pytest.raises(CommandRejectedError) as caught:
        client_of(miner).privileged("set.miner.power_mode")
    assert caught.value.code == -3 and not isinstance(caught.value, UnsupportedCommandError)


def test_api2_client_on_api3_firmware(miner: Any) -> None:
    """Forced API 2 on an API 3 miner: reads work (reduced), writes are unknown commands (14)."""
    client = WhatsminerClient(miner.host, port=miner.port, password="admin", timeout=2.0, retries=0)
    assert client.read("status")["Msg"]["power_limit_set"] == "2147483647"
    with pytest.raises(UnsupportedCommandError):
        client.privileged("update_pools", pool1="stratum+tcp://p:3333", worker1="w", passwd1="x")
