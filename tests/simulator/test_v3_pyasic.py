"""pyasic 0.79's API 3 client (``BTMinerV3RPCAPI``, ``BTMinerV3``), an independent implementation, against the 3.x profile.

Only what works in pyasic is used (reference section 7.3 lists its API 3 bugs: unencrypted
``set.miner.pools``, pools read from the summary, ``send_config``).
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Coroutine

import pytest
from pyasic.miners import whatsminer
from pyasic.rpc.btminer import BTMinerV3RPCAPI

from whatsminer_sim import Fleet, wait_for

TIMEOUT_S = 20.0


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a pyasic coroutine with a hard time bound."""
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT_S))


@pytest.fixture(name="v3_miner")
def fixture_v3_miner(start_fleet: Callable[..., Fleet]) -> Any:
    """One 3.x miner (M60S_VK40)."""
    return start_fleet(profiles="3.x", seed=3).miners[0]


def test_rpc_reads(v3_miner: Any) -> None:
    """Framing and every read pyasic has for our commands; the salt it caches is the miner's."""
    api = BTMinerV3RPCAPI(v3_miner.host, port=v3_miner.v3_port)

    async def scenario() -> dict[str, Any]:
        return {
            "info": await api.get_device_info(), "summary": await api.get_miner_status_summary(),
            "pools": await api.get_miner_status_pools(), "edevs": await api.get_miner_status_edevs(),
            "setting": await api.get_miner_setting(), "system": await api.get_system_setting(), "salt": await api.get_salt(),
        }

    replies = run(scenario())
    state = v3_miner.state
    assert replies["info"]["msg"]["network"]["mac"] == state.mac
    assert replies["salt"] == state.v3_salt
    assert replies["summary"]["msg"]["summary"]["hash-realtime"] > 0
    assert [pool["url"] for pool in replies["pools"]["msg"]["pools"]] == [slot.url for slot in state.pools]
    assert len(replies["edevs"]["msg"]["edevs"]) == 3
    assert replies["setting"]["msg"]["power-mode"] == "normal"
    assert replies["system"]["msg"]["hostname"] == state.hostname


def test_rpc_writes_with_pyasic_tokens(v3_miner: Any) -> None:
    """pyasic's token (factory password "super") is accepted; service, power limit, LED, reboot take effect."""
    api = BTMinerV3RPCAPI(v3_miner.host, port=v3_miner.v3_port)
    assert run(api.set_miner_service("stop"))["msg"] == "ok"
    assert not v3_miner.state.mining
    assert run(api.set_miner_service("start"))["code"] == 0
    assert v3_miner.state.mining
    assert run(api.set_miner_power_limit(3000))["code"] == 0
    assert v3_miner.state.power_limit_w == 3000
    assert run(api.set_system_led([{"color": "red", "period": 200, "duration": 100, "start": 0}]))["code"] == 0
    assert v3_miner.state.led == "manual"
    assert run(api.set_system_led())["code"] == 0
    assert run(api.set_system_reboot())["msg"] == "ok"
    wait_for(lambda: not v3_miner.api_available(), timeout=2)
    wait_for(lambda: v3_miner.v3_listening and v3_miner.api_available(), timeout=5)


def test_rpc_wrong_password(v3_miner: Any) -> None:
    """A wrong pyasic password gets -1 and changes nothing."""
    api = BTMinerV3RPCAPI(v3_miner.host, port=v3_miner.v3_port)
    api.pwd = "not-super"
    assert run(api.set_miner_service("stop"))["code"] == -1
    assert v3_miner.state.mining


def test_miner_data(v3_miner: Any) -> None:
    """pyasic's BTMinerV3 (chosen by the firmware date) reads identity, hashrate, power and boards."""
    miner = whatsminer.BTMinerM60SVK40(v3_miner.host, version="20250214.16.1")
    miner.rpc.port = v3_miner.v3_port
    data = run(miner.get_data())
    state = v3_miner.state
    assert (data.mac, data.hostname, data.fw_ver, data.api_ver) == (state.mac, state.hostname, "20250214.16.1", "3.0.2")
    assert data.serial_number == state.serial
    assert data.is_mining and not data.fault_light
    assert float(data.hashrate) > 100 and data.wattage > 3000 and data.wattage_limit == 3800
    assert len(data.hashboards) == 3 and all(float(board.hashrate) > 30 for board in data.hashboards)
    assert run(miner.stop_mining()) and not v3_miner.state.mining
    assert run(miner.resume_mining()) and v3_miner.state.mining
    assert run(miner.fault_light_on()) and v3_miner.state.led == "manual"
