"""pyasic 0.79's BTMinerRPCAPI, an independent client, works unchanged against the simulator."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Coroutine

import pytest
# pyasic is pinned in requirements/dev.txt: a missing pyasic must fail these tests, not skip them.
from pyasic import errors as pyasic_errors
from pyasic.miners import whatsminer
from pyasic.rpc import btminer

from whatsminer_sim import Fleet

TIMEOUT_S = 20.0


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a pyasic coroutine with a hard time bound."""
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT_S))


def api_for(miner: Any, password: str = "admin") -> Any:
    """A BTMinerRPCAPI pointed at a simulated miner, with ``pwd`` set."""
    api = btminer.BTMinerRPCAPI(miner.host, port=miner.port)
    api.pwd = password
    return api


@pytest.mark.parametrize("profile", ["1.4.x", "2.0.x", "2024"])
def test_reads(start_fleet: Callable[..., Fleet], profile: str) -> None:
    """summary, pools, devs, devdetails, get_version, status (and get_miner_info on 2.x)."""
    miner = start_fleet(profiles=profile, seed=3).miners[0]
    api = api_for(miner)

    async def scenario() -> dict[str, Any]:
        return {
            "summary": await api.summary(), "pools": await api.pools(), "devs": await api.devs(),
            "devdetails": await api.devdetails(), "version": await api.get_version(), "status": await api.status(),
            "psu": await api.get_psu(),
        }

    replies = run(scenario())
    assert replies["summary"]["SUMMARY"][0]["MHS 1m"] > 0
    assert len(replies["pools"]["POOLS"]) == 3
    assert len(replies["devs"]["DEVS"]) == 3
    assert replies["devdetails"]["DEVDETAILS"][0]["Model"] == miner.state.model
    assert replies["version"]["Msg"]["fw_ver"] in ("20210322.22.REL", "20230803.11.REL", "20240924.14.Rel")
    assert replies["status"]["Code"] == 131
    if profile == "1.4.x":
        with pytest.raises(pyasic_errors.APIError):
            run(api.get_miner_info())
    else:
        info = run(api.get_miner_info())
        assert info["Msg"]["mac"] == miner.state.mac
        assert run(api.get_error_code())["Msg"] == {"error_code": []}


def test_multicommand(fleet3: Fleet) -> None:
    """pyasic joins the cgminer reads and sends get_*/status separately."""
    api = api_for(fleet3.miners[2])
    data = run(api.multicommand("summary", "pools", "devs", "devdetails", "get_version", "status", "get_miner_info"))
    for key in ("summary", "pools", "devs", "devdetails", "get_version", "status", "get_miner_info"):
        assert key in data, key
    assert data["summary"][0]["SUMMARY"][0]["Elapsed"] > 0
    assert data["status"][0]["Msg"]["FirmwareVersion"] == "20240924.14.Rel"
    joined = [entry.command for entry in fleet3.miners[2].log if "+" in entry.command]
    assert joined == ["summary+pools+devs+devdetails"]


def test_get_token(fleet3: Fleet) -> None:
    """pyasic derives the same key as the vendor example for the factory password."""
    token = run(api_for(fleet3.miners[1]).get_token())
    assert token.host_passwd_md5 == "RxmaDUO33TS7O26yeMHZ81"
    assert len(token.host_sign) == 22
    assert fleet3.miners[1].counters.tokens_issued == 1


def test_privileged_commands_change_the_true_state(fleet3: Fleet) -> None:
    """update_pools, power_off/power_on, adjust_power_limit through pyasic."""
    miner = fleet3.miners[1]
    api = api_for(miner)

    async def scenario() -> list[dict[str, Any]]:
        replies = [await api.update_pools("stratum+tcp://pool.example:3333", "farm.7", "x",
                                          "stratum+tcp://backup.example:443", "farm.7", "y", "", "", "")]
        replies.append(await api.power_off(respbefore=True))
        return replies

    replies = run(scenario())
    assert all(reply["Msg"] == "API command OK" for reply in replies)
    state = miner.state
    assert [(pool.url, pool.user, pool.password) for pool in state.pools] == [
        ("stratum+tcp://pool.example:3333", "farm.7", "x"), ("stratum+tcp://backup.example:443", "farm.7", "y"), ("", "", "")]
    assert state.mining is False
    assert run(api.power_on())["Code"] == 131
    assert miner.state.mining is True
    assert run(api.adjust_power_limit(3000))["Code"] == 131
    assert miner.state.power_limit_w == 3000
    assert miner.counters.tokens_issued == 1  # pyasic reuses its token


def test_update_pools_with_none_is_refused(fleet3: Fleet) -> None:
    """pyasic's defaults send null for unused slots: real firmware chokes, so do we (14)."""
    miner = fleet3.miners[2]
    with pytest.raises(pyasic_errors.APIError, match="invalid cmd"):
        run(api_for(miner).update_pools("stratum+tcp://pool.example:3333", "w", "x"))
    assert miner.state.pools[0].url == "stratum+tcp://btc.example.pool:3333"


def test_power_mode_without_reply(fleet3: Fleet) -> None:
    """set_low_power: pyasic sees no data (the miner drops the connection) but the mode is set."""
    miner = fleet3.miners[2]
    with pytest.raises(pyasic_errors.APIError, match="No data"):
        run(api_for(miner).set_low_power())
    assert miner.state.power_mode == "low"


def test_write_api_locked_and_wrong_password(start_fleet: Callable[..., Fleet]) -> None:
    """pyasic surfaces "can't access write cmd" and "json cmd err"."""
    fleet = start_fleet(count=2)
    fleet.miners[0].set_state(write_api_enabled=False)
    with pytest.raises(pyasic_errors.APIError, match="can't access write cmd"):
        run(api_for(fleet.miners[0]).power_off())
    with pytest.raises(pyasic_errors.APIError, match="json cmd err"):
        run(api_for(fleet.miners[1], password="wrong").power_off())
    assert all(miner.state.mining for miner in fleet.miners)


def test_pyasic_miner_get_data(start_fleet: Callable[..., Fleet]) -> None:
    """pyasic's high-level BTMinerV2 reads hashrate, power, errors, pools, boards."""
    miner = start_fleet(profiles="2.0.x", seed=1).miners[0]
    miner.set_state(error_codes=[110], power_limit_w=3200)
    pyasic_miner = whatsminer.BTMinerM30SPlusVE40(miner.host)
    pyasic_miner.rpc.port = miner.port
    data = run(pyasic_miner.get_data())
    state = miner.state
    assert (data.mac, data.fw_ver, data.serial_number, data.is_mining) == (state.mac, "20230803.11.REL", state.serial, True)
    assert data.wattage == 3200 and data.wattage_limit == 3200
    assert [error.error_code for error in data.errors] == [110]
    assert len(data.hashboards) == 3 and all(board.chips == 156 for board in data.hashboards)
    assert float(data.hashrate) > 50
