# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""whatsminer_reboot against simulated miners of every firmware profile, and its wait with an injected clock."""

from __future__ import annotations

import contextlib

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import MinerConnectionError
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._reboot import RebootTask, Sighting
from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_reboot
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.fake_time import FakeClock
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import PROFILES, connection_args, connections, wire_commands

PASSWORD = "farm_42"
OPERATIONS = {"reboot": "reboot", "restart": "restart_btminer"}


def reboot_args(miner, **extra):
    """Module arguments for a simulated miner with a short timeout."""
    return connection_args(miner, **{"password": PASSWORD, "reboot_timeout": 20.0, **extra})


@pytest.fixture(name="one_miner")
def fixture_one_miner(start_fleet):
    def start(profile, **options):
        return start_fleet(count=1, profiles=profile, password=PASSWORD, **options).miners[0]

    return start


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("profile", PROFILES)
def test_operation_waits_until_the_miner_is_back(one_miner, run_module, profile, operation):
    miner = one_miner(profile)
    result = run_module(whatsminer_reboot.main, reboot_args(miner, operation=operation, wait_for_hashing=True))
    assert not result.failed, result.get("msg")
    assert result["changed"] is True and result["operation"] == operation
    assert result["command"] == wire_commands(miner, [OPERATIONS[operation]])[0]
    assert [entry.command for entry in miner.log if entry.command == result["command"]] == [result["command"]]
    assert result["hashing"] is True
    assert result["elapsed"] >= 0
    # Back means the restart or reboot really happened: the miner's own clocks started again.
    assert miner.btminer_running() and miner.api_available()
    assert result["mining_elapsed_s"] < 30
    if operation == "reboot":
        assert result["uptime_s"] < 30
    else:
        assert result["uptime_s"] is None or result["uptime_s"] > 3000


@pytest.mark.parametrize("profile", PROFILES)
def test_check_mode_sends_nothing(one_miner, run_module, profile):
    miner = one_miner(profile)
    before = connections(miner)
    result = run_module(whatsminer_reboot.main, reboot_args(miner), check_mode=True)
    assert result["changed"] is True and "check mode" in result["msg"]
    assert connections(miner) == before


@pytest.mark.parametrize("operation", OPERATIONS)
def test_timeout_fails_changed(one_miner, run_module, operation):
    miner = one_miner("2024", config={"reboot_seconds": 30.0, "restart_seconds": 30.0})
    result = run_module(whatsminer_reboot.main, reboot_args(miner, operation=operation, reboot_timeout=1.0))
    assert result.failed and result["changed"] is True
    assert "did not answer again within reboot_timeout (1 s)" in result["msg"]
    assert result["command"] == OPERATIONS[operation]


def test_wrong_password_fails_unchanged(one_miner, run_module):
    miner = one_miner("2024")
    result = run_module(whatsminer_reboot.main, reboot_args(miner, password="wrong_1"))
    assert result.failed and not result.get("changed")
    assert miner.api_available() and not any(entry.command == "reboot" for entry in miner.log)


def test_lost_reply_still_waits(one_miner, run_module):
    miner = one_miner("2.0.x")
    miner.add_fault(kind="drop", commands=["reboot"], remaining=1)
    result = run_module(whatsminer_reboot.main, reboot_args(miner))
    assert not result.failed, result.get("msg")
    assert result["uptime_s"] < 30


class FakeMiner:
    """Scripted summaries for the wait: an old answer first, then down, then back."""

    host, port, api_version = "192.0.2.1", 4028, 2

    def __init__(self, clock, script):
        self.clock = clock
        self.script = list(script)
        self.sent = []
        self.time_limits = []

    def privileged(self, command, expect_reply=True, **params):
        self.sent.append(command)

    def time_limit(self, seconds):
        self.time_limits.append(seconds)
        return contextlib.nullcontext()

    def read(self, command):
        item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if item is None:
            raise MinerConnectionError("refused", host=self.host, port=self.port, command=command)
        uptime, hashrate = item
        return {"STATUS": [{"STATUS": "S"}], "SUMMARY": [{"Elapsed": uptime, "Uptime": uptime, "MHS 5s": hashrate, "MHS av": hashrate}]}


def test_an_answer_from_before_the_reboot_does_not_count():
    clock = FakeClock()
    miner = FakeMiner(clock, [(90000, 1.0), None, None, (1, 0.0), (4, 5.0e7)])
    task = RebootTask(miner, {"operation": "reboot", "reboot_timeout": 600.0, "wait_for_hashing": True}, clock=clock, sleep=clock.sleep)
    result = task.run()
    assert miner.sent == ["reboot"]
    assert result["uptime_s"] == 4 and result["hashing"] is True
    assert clock.sleeps == [0.5, 0.75, 1.125, 1.6875]
    assert result["elapsed"] == 4.1


def test_wait_never_outlasts_the_timeout():
    clock = FakeClock()
    miner = FakeMiner(clock, [None])
    task = RebootTask(miner, {"operation": "restart", "reboot_timeout": 30.0, "wait_for_hashing": False}, clock=clock, sleep=clock.sleep)
    with pytest.raises(ModuleFailure) as failure:
        task.run()
    # The last read comes after half of the last interval and has the other half (poll_until), so the
    # wait ends before reboot_timeout; every read was bounded by the time left.
    assert failure.value.details["elapsed"] == 27.7
    assert miner.time_limits and all(0 < seconds <= 30.0 for seconds in miner.time_limits)
    assert failure.value.details["changed"] is True
    assert "Last error: Whatsminer 192.0.2.1:4028" in failure.value.message and Sighting(None, None, None).hashing is None
