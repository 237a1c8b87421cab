"""The telemetry follows the true state: mining, power modes, limits, board sums, determinism."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from sim_client import read

from whatsminer_sim import Fleet, MinerState
from whatsminer_sim.profiles import MODELS


def summary(miner: Any) -> dict[str, Any]:
    """SUMMARY[0] of a miner."""
    return read(miner, "summary")["SUMMARY"][0]


@pytest.mark.parametrize("profile", ["1.4.x", "2.0.x", "2024"])
def test_stopped_miner_hashes_nothing(start_fleet: Callable[..., Fleet], profile: str) -> None:
    """mining False: 0 hashrate, standby power, mineroff reported."""
    miner = start_fleet(profiles=profile).miners[0]
    assert summary(miner)["MHS 1m"] > 0
    miner.set_state(mining=False)
    values = summary(miner)
    assert values["MHS av"] == values["MHS 1m"] == values["MHS 5s"] == 0
    assert 0 <= values["Power"] <= 20
    assert all(board["MHS 1m"] == 0 for board in read(miner, "devs")["DEVS"])
    if profile != "1.4.x":
        assert read(miner, "status")["Msg"]["mineroff"] == "true"


def test_power_modes_order(start_fleet: Callable[..., Fleet]) -> None:
    """low < normal < high in both power and hashrate; summary Power Mode follows."""
    miner = start_fleet(profiles="2.0.x").miners[0]
    measured = {}
    for mode in ("low", "normal", "high"):
        miner.set_state(power_mode=mode)
        values = summary(miner)
        assert values["Power Mode"] == mode.capitalize()
        measured[mode] = (values["Power"], values["MHS 1m"])
    assert measured["low"][0] < measured["normal"][0] < measured["high"][0]
    assert measured["low"][1] < measured["normal"][1] < measured["high"][1]


def test_power_limit_caps_power_and_scales_hashrate(start_fleet: Callable[..., Fleet]) -> None:
    """A limit below the running power caps it and reduces the hashrate in proportion."""
    miner = start_fleet(profiles="2024").miners[0]
    free = summary(miner)
    assert free["Power Limit"] == MODELS[miner.state.model].max_power_limit_w
    miner.set_state(power_limit_w=2500)
    limited = summary(miner)
    assert limited["Power"] == 2500 and limited["Power Limit"] == 2500
    ratio = limited["MHS av"] / free["MHS av"]
    assert ratio == pytest.approx(2500 / free["Power"], rel=0.01)
    miner.set_state(power_limit_w=5000)
    assert summary(miner)["Power"] == free["Power"]


@pytest.mark.parametrize("profile", ["1.4.x", "2.0.x", "2024"])
def test_boards_add_up_to_summary(start_fleet: Callable[..., Fleet], profile: str) -> None:
    """Per-board hashrates sum to the summary; summary temperature is the hottest board."""
    miner = start_fleet(profiles=profile, seed=7).miners[0]
    reply = read(miner, "summary+devs")
    values = reply["summary"][0]["SUMMARY"][0]
    boards = reply["devs"][0]["DEVS"]
    assert len(boards) == MODELS[miner.state.model].boards
    for window in ("MHS av", "MHS 5s", "MHS 1m", "MHS 5m", "MHS 15m"):
        assert values[window] == pytest.approx(sum(board[window] for board in boards), abs=0.05)
    assert values["Temperature"] == max(board["Temperature"] for board in boards)
    assert values["Chip Temp Max"] >= values["Chip Temp Avg"] >= values["Chip Temp Min"]
    assert values["Factory GHS"] == int(miner.state.nominal_ths * 1000)


def test_values_are_deterministic_per_seed(start_fleet: Callable[..., Fleet]) -> None:
    """Same seed -> same identities and hashrate windows; another seed differs."""
    first = start_fleet(count=2, profiles="2.0.x", seed=42)
    second = start_fleet(count=2, profiles="2.0.x", seed=42)
    other = start_fleet(count=2, profiles="2.0.x", seed=43)
    for left, right in zip(first.miners, second.miners):
        assert (left.state.serial, left.state.mac) == (right.state.serial, right.state.mac)
        assert summary(left)["MHS 1m"] == summary(right)["MHS 1m"]
    assert first.miners[0].state.mac != other.miners[0].state.mac
    assert summary(first.miners[0])["MHS 1m"] != summary(other.miners[0])["MHS 1m"]
    assert first.miners[0].state.mac != first.miners[1].state.mac


def test_uptime_and_elapsed_come_from_state(fleet3: Fleet) -> None:
    """Uptime counts from boot_time, Elapsed from btminer_start_time."""
    miner = fleet3.miners[0]
    state = miner.state
    values = summary(miner)
    assert values["Uptime"] >= values["Elapsed"] > 0
    miner.set_state(boot_time=state.boot_time - 1000, btminer_start_time=state.btminer_start_time - 500)
    later = summary(miner)
    assert later["Uptime"] - values["Uptime"] in range(1000, 1003)
    assert later["Elapsed"] - values["Elapsed"] in range(500, 503)


def test_state_snapshots_and_validation(fleet3: Fleet) -> None:
    """state returns a copy; set_state validates and is all-or-nothing."""
    miner = fleet3.miners[1]
    snapshot = miner.state
    assert isinstance(snapshot, MinerState)
    snapshot.power_mode = "high"
    assert miner.state.power_mode == "normal"
    with pytest.raises(ValueError):
        miner.set_state(power_mode="turbo")
    with pytest.raises(ValueError):
        miner.set_state(hostname="x", no_such_field=1)
    assert miner.state.hostname == "WhatsMiner"
    updated = miner.set_state(hostname="rig-7", led="manual")
    assert (updated.hostname, updated.led) == ("rig-7", "manual")
    assert read(miner, "get_miner_info")["Msg"]["ledstat"] == "manual"
    assert miner.state.to_dict()["pools"][0]["password"] == "x"


def test_reset_restores_initial_state(fleet3: Fleet) -> None:
    """reset: back to the start state and settings."""
    miner = fleet3.miners[2]
    initial = miner.state
    miner.set_state(mining=False, power_mode="low", pools=[])
    miner.configure(restart_seconds=9.0)
    miner.reset()
    assert miner.state == initial
    assert miner.config.restart_seconds == 0.25
