# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A write whose reply is lost is verified by reading back; an error before the write changes nothing.

The rows of the fault matrix (tests/integration/targets/reliability_faults) that found bugs, at
unit level against in-process simulated miners: the miner runs the write and then its reply is
delayed past the timeout, cut, reset or garbled (the result must say ``changed`` only if the
miner shows the change, and warn); the token request fails (nothing may be reported as sent);
``get_token`` is never sent twice (each one spends one of the miner's 32 tokens per IP address);
a cut-off ``pools`` or ``status`` reply is never taken for the whole.
"""

from __future__ import annotations

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    MalformedReplyError,
    MinerConnectionError,
    MinerRestartingError,
    MinerTimeoutError,
    WhatsminerError,
)
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import write_outcome_unknown
from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_pools, whatsminer_power
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import connection_args, wire_commands

PASSWORD = "lost_1"
DESIRED_POOLS = [{"url": "stratum+tcp://lost.example.com:3333", "user": "lost.w1"}]
#: Faults of the write's reply: the miner has run the write when they strike.
LOST_REPLIES = {
    "timeout": {"kind": "delay", "seconds": 2.0},
    "closed": {"kind": "drop", "mode": "close"},
    "reset": {"kind": "drop", "mode": "reset"},
    "garbage": {"kind": "garbage"},
}


def module_args(miner, **options):
    """Arguments for a simulated miner: 1 s timeout, no retries."""
    return connection_args(miner, password=PASSWORD, timeout=1.0, retries=0, **options)


def log_of(miner) -> list[str]:
    """The commands the miner received."""
    return [entry.command for entry in miner.log]


@pytest.fixture(name="miner")
def fixture_miner(start_fleet):
    """A fresh 2024 miner."""
    return start_fleet(count=1, profiles="2024", password=PASSWORD).miners[0]


@pytest.mark.parametrize("profile", ["2024", "3.x"])
@pytest.mark.parametrize("fault", LOST_REPLIES)
def test_pools_verify_a_write_whose_reply_was_lost(start_fleet, run_module, fault, profile):
    miner = start_fleet(count=1, profiles=profile, password=PASSWORD).miners[0]
    [write] = wire_commands(miner, ["update_pools"])
    miner.add_fault(commands=[write], **LOST_REPLIES[fault])
    result = run_module(whatsminer_pools.main, module_args(miner, pools=DESIRED_POOLS))
    assert not result.failed, result.get("msg")
    assert result["changed"] is True
    assert result["pools"] == [{"slot": 1, **DESIRED_POOLS[0]}]
    assert any("reply to update_pools was lost" in warning and f"command '{write}'" in warning for warning in result.warnings)
    assert log_of(miner).count(write) == 1  # never sent twice


@pytest.mark.parametrize("profile", ["2024", "3.x"])
@pytest.mark.parametrize("fault", LOST_REPLIES)
def test_power_verifies_a_write_whose_reply_was_lost_even_without_waiting(start_fleet, run_module, fault, profile):
    miner = start_fleet(count=1, profiles=profile, password=PASSWORD).miners[0]
    [write] = wire_commands(miner, ["adjust_power_limit"])
    miner.add_fault(commands=[write], **LOST_REPLIES[fault])
    result = run_module(whatsminer_power.main, module_args(miner, power_limit=3000, wait=False, wait_timeout=10))
    assert not result.failed, result.get("msg")
    assert result["changed"] is True and result["verified"] is True
    assert result["after"]["power_limit_w"] == 3000 == miner.state.power_limit_w
    assert any("reply to adjust_power_limit was lost" in warning for warning in result.warnings)
    assert log_of(miner).count(write) == 1


def test_a_token_request_that_times_out_is_sent_once_and_nothing_is_reported_sent(miner, run_module):
    miner.add_fault(kind="delay", seconds=2.0, commands=["get_token"])
    result = run_module(whatsminer_power.main, {**module_args(miner, mode="low"), "retries": 2})
    assert result.failed and "command 'get_token': no reply within 1 s" in result["msg"]
    assert not result.get("changed") and "commands" not in result
    assert log_of(miner).count("get_token") == 1
    assert "set_low_power" not in log_of(miner) and miner.state.power_mode == "normal"


@pytest.mark.parametrize("command, module, args", [
    ("pools", whatsminer_pools.main, {"pools": DESIRED_POOLS}),
    ("status", whatsminer_power.main, {"power_limit": 99999}),
])
def test_a_cut_off_reply_is_never_taken_for_the_whole(miner, run_module, command, module, args):
    miner.set_state(power_limit_w=3000)
    miner.add_fault(kind="quirk", quirk="truncated", commands=[command])
    result = run_module(module, module_args(miner, **args))
    assert result.failed and f"command '{command}': the reply was cut off" in result["msg"]
    assert miner.counters.privileged_requests == 0


def test_write_outcome_unknown_knows_the_api3_write_commands():
    context = {"host": "192.0.2.1", "port": 4433, "request_sent": True, "write": True}
    assert write_outcome_unknown(MinerConnectionError("reset", command="set.miner.pools", **context), "update_pools")
    assert write_outcome_unknown(MinerTimeoutError("no reply", timeout=1.0, command="set.miner.power_mode", **context), "set_low_power")
    assert write_outcome_unknown(MalformedReplyError("garbled", command="set.miner.service", host="192.0.2.1", port=4433), "power_off")
    assert not write_outcome_unknown(MinerConnectionError("reset", command="get.device.info", **context), "update_pools")  # the salt read
    assert not write_outcome_unknown(MinerConnectionError("reset", command="set.miner.power_limit", **context), "update_pools")


def test_write_outcome_unknown_only_for_the_write_itself():
    context = {"host": "192.0.2.1", "port": 4028}
    lost = MinerTimeoutError("no reply", timeout=1.0, request_sent=True, write=True, command="update_pools", **context)
    assert write_outcome_unknown(lost, "update_pools")
    assert write_outcome_unknown(MalformedReplyError("broken", command="update_pools", **context), "update_pools")
    assert not write_outcome_unknown(lost, "power_on")  # another command's error
    assert not write_outcome_unknown(MinerConnectionError("refused", request_sent=False, write=True, command="update_pools", **context), "update_pools")
    assert not write_outcome_unknown(MinerTimeoutError("no reply", timeout=1.0, request_sent=True, write=False, command="get_token", **context), "get_token")
    assert not write_outcome_unknown(MinerRestartingError("down", request_sent=True, write=True, command="update_pools", **context), "update_pools")
    assert not write_outcome_unknown(WhatsminerError("rejected", code=132, command="update_pools", **context), "update_pools")
