# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""whatsminer_power logic: observations, the decision current vs wanted -> ordered commands, sending and waiting."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _power as power
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    AuthenticationError,
    CommandRejectedError,
    MinerConnectionError,
    MinerRestartingError,
    WriteApiDisabledError,
)
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.fake_time import FakeClock

CAPTURES = Path(__file__).resolve().parents[3] / "fixtures" / "captures"


def capture(name: str) -> dict:
    """A capture file that is valid JSON."""
    return json.loads((CAPTURES / name).read_text(encoding="utf-8"))


def summary(mhs_5s: float = 100e6, mode: str = "Normal", limit: int = 3600, elapsed: int = 5000) -> dict:
    """A summary reply with the fields the power logic reads."""
    record = {"Elapsed": elapsed, "MHS 5s": mhs_5s, "Power Mode": mode, "Power Limit": limit}
    return {"STATUS": [{"STATUS": "S", "Code": 11}], "SUMMARY": [record]}


def status_2x(mineroff: bool = False, power_mode: str = "", power_limit_set: str | None = None) -> dict:
    """A 2.x status reply; ``power_limit_set`` only on 2024 firmware."""
    msg = {"mineroff": "true" if mineroff else "false", "mineroff_reason": "", "power_mode": power_mode}
    if power_limit_set is not None:
        msg["power_limit_set"] = power_limit_set
    return {"STATUS": "S", "Code": 131, "Msg": msg}


def observed(mining=True, mode="normal", limit=3600, *, exact=False, btminer=True, elapsed=5000) -> power.Observation:
    """An observation built directly (the planner's input)."""
    return power.Observation(mining=mining, mode=mode, power_limit_w=limit, btminer_answers=btminer,
                             limit_readable=exact or btminer, limit_exact=exact, mining_elapsed_s=elapsed)


def names(commands) -> list[str]:
    """The command names of a plan."""
    return [command.name for command in commands]


# --- observations: the facts module's readers ---------------------------------------------------

def test_observation_of_a_real_v1_miner():
    seen = power.observation_from(capture("asic-rs-v1-real/summary.json"), capture("asic-rs-v1-real/status.json"))
    # btmineroff is "true" on the real device while it hashes: the hashrate decides.
    assert seen.settings() == {"mining": True, "mode": "normal", "power_limit_w": 3500}
    assert seen.btminer_answers and seen.limit_readable and not seen.limit_exact
    assert seen.mining_elapsed_s == 10154


def test_observation_of_2024_firmware_takes_the_limit_setting_from_status():
    seen = power.observation_from(summary(limit=3600), capture("asic-rs-pr187-status/status_v2_fw20240924.14.Rel.json"))
    assert seen.settings() == {"mining": True, "mode": "normal", "power_limit_w": 3300}
    assert seen.limit_exact


def test_observation_of_2024_firmware_without_a_limit():
    seen = power.observation_from(summary(), status_2x(power_mode="low", power_limit_set="2147483647"))
    assert seen.power_limit_w is None and seen.limit_exact and seen.knows("power_limit_w")
    assert seen.mode == "normal"  # the mode btminer runs (summary "Power Mode") wins over status.power_mode (issue 14, item 11)
    no_summary_mode = summary()
    del no_summary_mode["SUMMARY"][0]["Power Mode"]
    assert power.observation_from(no_summary_mode, status_2x(power_mode="low", power_limit_set="2147483647")).mode == "low"


def test_observation_while_btminer_restarts():
    old = power.observation_from(None, capture("asic-rs-pr187-status/status_v2_fw20230803.11.REL.json"))
    assert old.settings() == {"mining": True, "mode": None, "power_limit_w": None}  # the mineroff flag decides
    assert not old.btminer_answers and not old.knows("mode") and not old.knows("power_limit_w")
    new = power.observation_from(None, status_2x(power_mode="high", power_limit_set="3000"))
    assert new.settings() == {"mining": True, "mode": "high", "power_limit_w": 3000}
    assert new.knows("power_limit_w")


def test_a_stopped_miner_hashes_zero():
    assert power.observation_from(summary(mhs_5s=0), status_2x(mineroff=True)).mining is False
    # right after power_on: the flag says running, the hashrate says not yet
    assert power.observation_from(summary(mhs_5s=0), status_2x(mineroff=False)).mining is False


def test_shows_needs_readable_values():
    seen = observed(limit=None, btminer=False)
    assert seen.shows({"mining": True})
    assert not seen.shows({"power_limit_w": None})  # unknown is not "no limit"
    assert observed(limit=None, exact=True, btminer=False).shows({"power_limit_w": None})
    assert seen.shows({})


@pytest.mark.parametrize("elapsed, seconds_ago, expected", [(0, 0.5, True), (3, 1.2, True), (10, 1.0, False), (None, 0.1, True)])
def test_restarted_since(elapsed, seconds_ago, expected):
    assert observed(elapsed=elapsed).restarted_since(seconds_ago) is expected


# --- the decision ---------------------------------------------------------------------------------

@pytest.mark.parametrize("current, wanted, expected", [
    # one setting at a time
    (observed(mining=False), {"mining": True}, ["power_on"]),
    (observed(mining=True), {"mining": False}, ["power_off"]),
    (observed(mining=True), {"mining": True}, []),
    (observed(mining=False), {"mining": False}, []),
    (observed(mode="normal"), {"mode": "low"}, ["set_low_power"]),
    (observed(mode="low"), {"mode": "high"}, ["set_high_power"]),
    (observed(mode="high"), {"mode": "normal"}, ["set_normal_power"]),
    (observed(mode="low"), {"mode": "low"}, []),
    (observed(limit=3600), {"power_limit_w": 3000}, ["adjust_power_limit"]),
    (observed(limit=3000), {"power_limit_w": 3000}, []),
    (observed(limit=None, exact=True), {"power_limit_w": 3000}, ["adjust_power_limit"]),
    (observed(limit=3300, exact=True), {"power_limit_w": None}, ["adjust_power_limit"]),
    (observed(limit=None, exact=True), {"power_limit_w": None}, []),
    # old firmware: the factory maximum is what "no limit" shows, and is kept as it is
    (observed(limit=3600), {"power_limit_w": 3600}, []),
    (observed(limit=None), {"power_limit_w": None}, []),
    # several: power_on first, power_off last, limit before mode (a refused limit leaves the mode alone)
    (observed(mining=False, mode="normal", limit=3600), {"mining": True, "mode": "low", "power_limit_w": 3000},
     ["power_on", "adjust_power_limit", "set_low_power"]),
    (observed(mining=True, mode="normal", limit=3600), {"mining": False, "mode": "low", "power_limit_w": 3000},
     ["adjust_power_limit", "set_low_power", "power_off"]),
    (observed(mining=True, mode="normal", limit=3600), {"mining": True, "mode": "high", "power_limit_w": 3000},
     ["adjust_power_limit", "set_high_power"]),
    (observed(mining=False, mode="normal", limit=3600), {"mining": False, "mode": "low"}, ["set_low_power"]),
    (observed(mining=False, mode="low", limit=3000), {"mining": True, "mode": "low", "power_limit_w": 3000}, ["power_on"]),
    (observed(mining=True, mode="low", limit=3000), {"mining": True, "mode": "low", "power_limit_w": 3000}, []),
])
def test_plan(current, wanted, expected):
    assert names(power.plan_commands(current, wanted)) == expected


def test_plan_parameters_and_behaviour():
    plan = power.plan_commands(observed(limit=3300, exact=True, mining=True), {"power_limit_w": None, "mining": False, "mode": "low"})
    assert [command.as_result() for command in plan] == [
        {"command": "adjust_power_limit", "parameters": {"power_limit": "99999"}},
        {"command": "set_low_power", "parameters": {}},
        {"command": "power_off", "parameters": {"respbefore": "true"}},
    ]
    assert [command.restarts_btminer for command in plan] == [True, True, False]
    assert [command.verify_restart for command in plan] == [True, False, False]
    assert [command.expect_reply for command in plan] == [True, False, True]
    assert power.adjust_power_limit(3000).parameters == {"power_limit": "3000"}  # a string, as the firmware needs


def test_removing_a_limit_on_firmware_that_shows_only_the_effective_limit_is_refused():
    with pytest.raises(ModuleFailure, match="only the effective power limit \\(3600 W now\\).*nothing was sent.*factory maximum"):
        power.plan_commands(observed(limit=3600), {"power_limit_w": None, "mining": True})


@pytest.mark.parametrize("current, wanted, unknown", [
    (observed(mode=None), {"mode": "low"}, "mode"),
    (observed(mining=None), {"mining": True}, "mining"),
    (observed(limit=None, btminer=False), {"power_limit_w": 3000}, "power_limit_w"),
])
def test_unknown_current_values_are_not_guessed(current, wanted, unknown):
    with pytest.raises(ModuleFailure, match=f"Cannot read the current {unknown}.*nothing was sent"):
        power.plan_commands(current, wanted)


def test_unmanaged_unknown_values_do_not_matter():
    assert names(power.plan_commands(observed(mode=None, limit=None, btminer=False), {"mining": False})) == ["power_off"]


def test_predicted_settings():
    current = observed(mining=True, mode="normal", limit=None, exact=True)
    plan = power.plan_commands(current, {"mode": "low", "power_limit_w": 3000})
    assert power.predicted_settings(current, plan) == {"mining": True, "mode": "low", "power_limit_w": 3000}


@pytest.mark.parametrize("params, expected", [
    ({"mining": True}, {"mining": True}),
    ({"mining": False, "mode": None, "power_limit": None}, {"mining": False}),
    ({"mode": "low", "power_limit": 3000}, {"mode": "low", "power_limit_w": 3000}),
    ({"power_limit": 99999}, {"power_limit_w": None}),
])
def test_wanted_settings(params, expected):
    assert power.wanted_settings(params) == expected


@pytest.mark.parametrize("params, message", [
    ({}, "give at least one of mining, mode, power_limit or power_percent"),
    ({"mining": None, "mode": None, "power_limit": None}, "give at least one of"),
    ({"power_limit": 0}, "between 1 and 99998, or 99999 to remove the limit; got 0"),
    ({"power_limit": -5}, "got -5"),
    ({"power_limit": 100000}, "got 100000"),
    ({"mode": "turbo"}, "mode must be one of low, normal, high"),
    ({"mining": True, "wait_timeout": 0}, "wait_timeout must be more than 0 and at most 3600"),
    ({"mining": True, "wait_timeout": 3601}, "wait_timeout must be more than 0"),
])
def test_validation(params, message):
    with pytest.raises(ModuleFailure, match=message):
        power.validate_power_params(params)


@pytest.mark.parametrize("params", [{"power_limit": 1}, {"power_limit": 99999}, {"mining": False, "wait_timeout": 3600}, {"mode": "high"}])
def test_valid_parameters(params):
    power.validate_power_params(params)


# --- sending and waiting, against a scripted miner and a fake clock -------------------------------

class FakeMiner:
    """A 2.x miner in memory: power commands change its state; restarts last ``restart_s`` seconds.

    ``warmup_s``: how long it hashes zero after power_on or a restart. ``send_errors``: command name ->
    exception raised (once) instead of running the command; ``lose_reply``: commands that run but
    whose reply is lost.
    """

    host = "192.0.2.7"
    port = 4028

    def __init__(self, clock: FakeClock, *, exact=False, restart_s=3.0, warmup_s=0.0, restart_delay_s=0.0,  # pylint: disable=too-many-arguments
                 mode_restarts=True, empty_limit_set=False) -> None:
        self.clock = clock
        self.mode_restarts = mode_restarts
        self.empty_limit_set = empty_limit_set
        self.ignored: set = set()
        self.exact = exact
        self.restart_s = restart_s
        self.restart_delay_s = restart_delay_s
        self.restart_starts = 0.0
        self.warmup_s = warmup_s
        self.mining, self.mode, self.limit = True, "normal", None
        self.restart_ends = 0.0
        self.btminer_started = clock() - 5000
        self.hashing_from = 0.0
        self.send_errors: dict = {}
        self.lose_reply: set = set()
        self.read_errors: list = []
        self.calls: list[str] = []
        self.time_limits: list[float] = []

    @contextlib.contextmanager
    def time_limit(self, seconds: float):
        self.time_limits.append(seconds)
        yield

    def read(self, command: str) -> dict:
        self.clock.now += 0.01
        self.calls.append(command)
        if self.read_errors:
            raise self.read_errors.pop(0)
        now = self.clock()
        if command == "summary":
            if self.restart_starts <= now < self.restart_ends:
                raise MinerRestartingError("btminer down", host=self.host, port=self.port, command="summary", request_sent=True)
            hashing = self.mining and now >= self.hashing_from
            started = self.restart_ends if now >= self.restart_ends else self.btminer_started
            return summary(mhs_5s=100e6 if hashing else 0, mode=self.mode.capitalize(), limit=self.limit or 3600,
                           elapsed=int(now - started))
        limit_set = (str(self.limit) if self.limit else "2147483647") if self.exact else None
        if self.empty_limit_set:
            limit_set = ""
        return status_2x(mineroff=not self.mining, power_mode=self.mode if self.exact else "", power_limit_set=limit_set)

    def privileged(self, command: str, expect_reply: bool = True, **params) -> dict | None:
        self.calls.append(command)
        if command in self.send_errors:
            raise self.send_errors.pop(command)
        if command in self.ignored:  # taken later (after the test); mode commands never reply
            return None if command.startswith("set_") else {"STATUS": "S", "Code": 131, "Msg": "API command OK"}
        if command.startswith("set_"):
            assert expect_reply is False
            self.mode = command.split("_")[1]
            if self.mode_restarts:
                self._restart()
            return None
        if command == "adjust_power_limit":
            assert isinstance(params["power_limit"], str)
            self.limit = None if params["power_limit"] == "99999" else int(params["power_limit"])
            self._restart()
        elif command == "power_on":
            self.mining = True
            self.hashing_from = self.clock() + self.warmup_s
        elif command == "power_off":
            assert params == {"respbefore": "true"}
            self.mining = False
        if command in self.lose_reply:
            raise MinerConnectionError("the connection broke", host=self.host, port=self.port, command=command, request_sent=True, write=True)
        return {"STATUS": "S", "Code": 131, "Msg": "API command OK"}

    def _restart(self) -> None:
        self.restart_starts = self.clock() + self.restart_delay_s
        self.restart_ends = self.restart_starts + self.restart_s
        self.hashing_from = self.restart_ends + self.warmup_s

    def sent(self) -> list[str]:
        return [call for call in self.calls if call not in ("summary", "status")]


def run_task(miner: FakeMiner, clock: FakeClock, params: dict, *, check_mode=False, diff=False) -> dict:
    """manage_power against the fake miner."""
    params = {"mining": None, "mode": None, "power_limit": None, "wait": True, "wait_timeout": 30.0, **params}
    return power.manage_power(miner, params, check_mode, diff, clock=clock, sleep=clock.sleep)


@pytest.fixture(name="clock")
def fixture_clock() -> FakeClock:
    return FakeClock()


def test_changes_are_applied_in_order_and_each_restart_is_waited_out(clock):
    miner = FakeMiner(clock, restart_s=3.0)
    miner.mining = False
    result = run_task(miner, clock, {"mining": True, "mode": "low", "power_limit": 3000}, diff=True)
    assert miner.sent() == ["power_on", "adjust_power_limit", "set_low_power"]
    assert result["changed"] and result["verified"]
    assert result["before"] == {"mining": False, "mode": "normal", "power_limit_w": 3600}
    assert result["after"] == {"mining": True, "mode": "low", "power_limit_w": 3000}
    assert result["diff"] == {"before": result["before"], "after": result["after"]}
    # the mode was sent only after btminer answered again after the limit change
    restart_reads = miner.calls[miner.calls.index("adjust_power_limit"):miner.calls.index("set_low_power")]
    assert restart_reads.count("summary") >= 2


def test_reads_while_waiting_are_spaced_and_bounded(clock):
    miner = FakeMiner(clock, restart_s=60.0)
    with pytest.raises(ModuleFailure) as failure:
        run_task(miner, clock, {"mode": "high", "wait_timeout": 10.0})
    assert clock.sleeps[:5] == [0.5, 0.75, 1.125, 1.6875, 2.0]
    assert all(0 < seconds <= 2.0 for seconds in clock.sleeps)
    assert 8.5 <= sum(clock.sleeps) <= 10.0
    # the wait is a deadline: each read is bounded by the time left of wait_timeout (issue 14, item 6)
    limits = miner.time_limits
    assert limits[0] == pytest.approx(10.0, abs=0.05) and limits == sorted(limits, reverse=True) and limits[-1] > 0
    message = failure.value.message
    assert "192.0.2.7:4028 did not show the wanted state within wait_timeout (10 s) after set_high_power" in message
    assert "Sent: set_high_power. Wanted: mode=\"high\"" in message
    assert "Last seen: mining=true, mode=null, power_limit_w=null while btminer was not answering (restarting)" in message
    assert "raise wait_timeout" in message
    assert failure.value.details["changed"] is True
    assert failure.value.details["commands"] == [{"command": "set_high_power", "parameters": {}}]
    assert failure.value.details["last_seen"] == {"mining": True, "mode": None, "power_limit_w": None}


def test_timeout_message_names_the_last_read_error(clock):
    miner = FakeMiner(clock, restart_s=60.0)
    original = miner.privileged

    def privileged(command, expect_reply=True, **params):
        reply = original(command, expect_reply=expect_reply, **params)
        miner.read_errors.extend([MinerConnectionError("connection refused", host=miner.host, port=4028, command="summary")] * 100)
        return reply

    miner.privileged = privileged
    expected = "Last seen: nothing \\(no read succeeded\\). Last error: Whatsminer 192.0.2.7:4028, command 'summary': connection refused"
    with pytest.raises(ModuleFailure, match=expected):
        run_task(miner, clock, {"mode": "low", "wait_timeout": 5.0})


def test_state_from_before_a_restart_does_not_count(clock):
    """A miner that shows the new setting before btminer restarts: only a restarted btminer ends the wait."""
    miner = FakeMiner(clock, exact=True, restart_s=2.0, restart_delay_s=3.0)
    start = clock()
    result = run_task(miner, clock, {"power_limit": 3000})
    assert result["after"]["power_limit_w"] == 3000
    assert clock() - start >= 5.0  # the delay before the restart, then the restart window
    assert miner.restart_starts < miner.restart_ends <= clock()


def test_power_on_waits_until_the_miner_hashes(clock):
    miner = FakeMiner(clock, warmup_s=2.5)
    miner.mining = False
    result = run_task(miner, clock, {"mining": True})
    assert result["after"]["mining"] is True
    assert sum(clock.sleeps) >= 2.5


def test_a_hashing_miner_must_hash_again_after_a_restart(clock):
    miner = FakeMiner(clock, restart_s=2.0, warmup_s=3.0)
    start = clock()
    result = run_task(miner, clock, {"mining": True, "mode": "low"})
    assert miner.sent() == ["set_low_power"]
    assert result["after"] == {"mining": True, "mode": "low", "power_limit_w": 3600}
    assert clock() - start >= 5.0


def test_an_unmanaged_mining_state_is_not_waited_for(clock):
    miner = FakeMiner(clock, restart_s=2.0, warmup_s=3.0)
    start = clock()
    result = run_task(miner, clock, {"mode": "low"})
    assert result["after"] == {"mining": False, "mode": "low", "power_limit_w": 3600}  # as seen: hashing zero for now
    assert clock() - start < 5.0


def test_unchanged_sends_nothing(clock):
    miner = FakeMiner(clock, exact=True)
    result = run_task(miner, clock, {"mining": True, "mode": "normal", "power_limit": 99999}, diff=True)
    assert miner.sent() == []
    assert result == {"changed": False, "before": {"mining": True, "mode": "normal", "power_limit_w": None},
                      "after": {"mining": True, "mode": "normal", "power_limit_w": None}, "commands": [], "verified": True,
                      "diff": {"before": {"mining": True, "mode": "normal", "power_limit_w": None},
                               "after": {"mining": True, "mode": "normal", "power_limit_w": None}},
                      "power_w": {"before": None, "after": None, "limit": 3600}}  # this fake miner reports no Power, its limit


def test_check_mode_predicts_and_sends_nothing(clock):
    miner = FakeMiner(clock)
    result = run_task(miner, clock, {"mining": False, "mode": "low", "power_limit": 3000}, check_mode=True)
    assert miner.sent() == []
    assert [entry["command"] for entry in result["commands"]] == ["adjust_power_limit", "set_low_power", "power_off"]
    assert result["after"] == {"mining": False, "mode": "low", "power_limit_w": 3000}
    assert result["changed"] and not result["verified"]


def test_wait_false_still_waits_between_commands_but_not_after_the_last(clock):
    miner = FakeMiner(clock, restart_s=3.0)
    result = run_task(miner, clock, {"mode": "low", "power_limit": 3000, "wait": False})
    assert miner.sent() == ["adjust_power_limit", "set_low_power"]
    assert miner.calls[-1] == "set_low_power"  # no read after the last command
    assert result["verified"] is False
    assert result["after"] == {"mining": True, "mode": "low", "power_limit_w": 3000}


def test_a_restart_in_progress_is_waited_out_before_deciding(clock):
    miner = FakeMiner(clock)
    miner.restart_ends = clock() + 2.0
    result = run_task(miner, clock, {"mode": "normal"})
    assert result["changed"] is False and miner.sent() == []
    assert result["before"]["mode"] == "normal"


def test_btminer_that_does_not_come_back_fails_before_sending(clock):
    miner = FakeMiner(clock)
    miner.restart_ends = clock() + 100.0
    with pytest.raises(ModuleFailure, match="btminer \\(the mining program\\) did not answer within wait_timeout \\(3 s\\).*nothing was sent"):
        run_task(miner, clock, {"mode": "low", "wait_timeout": 3.0})
    assert miner.sent() == []


def test_a_lost_reply_is_verified_by_reading_back(clock):
    miner = FakeMiner(clock)
    miner.lose_reply = {"power_off"}
    result = run_task(miner, clock, {"mining": False})
    assert result["changed"] and result["verified"] and result["after"]["mining"] is False


def test_a_lost_reply_is_verified_even_without_waiting(clock):
    """Only the miner can tell whether a command whose reply was lost ran, so wait=false reads it back too."""
    miner = FakeMiner(clock)
    miner.lose_reply = {"power_off"}
    result = run_task(miner, clock, {"mining": False, "wait": False})
    assert result["changed"] and result["verified"] and result["after"]["mining"] is False


def test_errors_of_the_first_command_are_the_clients_own(clock):
    miner = FakeMiner(clock)
    miner.send_errors["set_low_power"] = WriteApiDisabledError(
        "the miner's write API is disabled", host=miner.host, port=4028, command="set_low_power", code=45)
    with pytest.raises(WriteApiDisabledError):
        run_task(miner, clock, {"mode": "low"})


def test_errors_after_applied_commands_say_what_was_applied(clock):
    miner = FakeMiner(clock)
    miner.mining = False
    miner.send_errors["set_high_power"] = AuthenticationError("wrong password", host=miner.host, port=4028, command="set_high_power")
    with pytest.raises(ModuleFailure) as failure:
        run_task(miner, clock, {"mining": True, "mode": "high"})
    assert "Already applied before this failure: power_on." in failure.value.message
    assert "wrong password" in failure.value.message
    assert failure.value.details["changed"] is True
    assert failure.value.details["commands"] == [{"command": "power_on", "parameters": {}}]
    assert failure.value.details["miner"]["command"] == "set_high_power"


def test_a_refused_power_limit_is_explained(clock):
    miner = FakeMiner(clock)
    miner.send_errors["adjust_power_limit"] = CommandRejectedError(
        "the miner rejected the command", host=miner.host, port=4028, command="adjust_power_limit", code=132,
        miner_message="power_limit 5000 W is above the maximum 3600 W")
    with pytest.raises(ModuleFailure) as failure:
        run_task(miner, clock, {"power_limit": 5000})
    assert failure.value.message.startswith("The miner refused power_limit 5000 W")
    assert "above the maximum 3600 W" in failure.value.message
    assert "Nothing was changed." in failure.value.message
    assert failure.value.details["changed"] is False and failure.value.details["miner"]["code"] == 132


# --- issue 14: accepted writes, the shown maximum, firmware variants --------------------------------

def test_a_confirmed_command_the_miner_does_not_show_yet_is_a_change(clock):
    """Item 2: the miner confirmed adjust_power_limit but still shows the old limit when wait_timeout ends."""
    miner = FakeMiner(clock)
    miner.ignored.add("adjust_power_limit")
    with pytest.raises(ModuleFailure) as failure:
        run_task(miner, clock, {"power_limit": 3000, "wait_timeout": 4.0})
    assert failure.value.details["changed"] is True
    assert failure.value.details["last_seen"] == failure.value.details["before"]
    assert "accepted adjust_power_limit (it confirmed the command)" in failure.value.message
    assert "the write was accepted but is not seen yet" in failure.value.message


def test_an_unconfirmed_command_the_miner_does_not_show_is_no_change(clock):
    """A mode command gets no reply by design: when the miner shows nothing new, nothing is claimed."""
    miner = FakeMiner(clock, mode_restarts=False)
    miner.ignored.add("set_low_power")
    with pytest.raises(ModuleFailure) as failure:
        run_task(miner, clock, {"mode": "low", "wait_timeout": 4.0})
    assert failure.value.details["changed"] is False
    assert "did not show the wanted state within wait_timeout (4 s) after set_low_power" in failure.value.message


def test_the_maximum_shows_only_where_the_firmware_reports_no_limit_set():
    assert power.observation_from(summary(limit=3600), status_2x(power_limit_set="2147483647")).max_power_limit_w == 3600
    assert power.observation_from(summary(limit=3000), status_2x(power_limit_set="3000")).max_power_limit_w is None
    assert power.observation_from(summary(limit=3600), status_2x()).max_power_limit_w is None  # 2.0.x: effective only
    assert power.observation_from(summary(limit=3600), status_2x(power_limit_set="")).max_power_limit_w is None


def test_a_limit_above_the_shown_maximum_is_refused_before_anything_is_sent():
    current = power.Observation(mining=True, mode="normal", power_limit_w=None, btminer_answers=True, limit_readable=True,
                                limit_exact=True, max_power_limit_w=3600)
    with pytest.raises(ModuleFailure, match="power_limit 5000 W is above the maximum of 3600 W this miner shows.*nothing was sent"):
        power.plan_commands(current, {"mode": "low", "power_limit_w": 5000})
    assert names(power.plan_commands(current, {"mode": "low", "power_limit_w": 3600})) == ["adjust_power_limit", "set_low_power"]


def test_uncertainties_of_a_prediction():
    unknown = observed(limit=3600)
    assert power.uncertainties(unknown, power.plan_commands(unknown, {"mode": "low"})) == []
    notes = power.uncertainties(unknown, power.plan_commands(unknown, {"power_limit_w": 3000}))
    assert len(notes) == 1 and "does not show the range of watts its model takes" in notes[0]
    exact = observed(limit=3300, exact=True)
    assert power.uncertainties(exact, power.plan_commands(exact, {"power_limit_w": None})) == []  # removing a limit is always taken


def test_check_mode_reports_what_it_cannot_know(clock):
    miner = FakeMiner(clock)
    result = run_task(miner, clock, {"mode": "low", "power_limit": 3000}, check_mode=True)
    assert len(result["uncertain"]) == 1 and result["uncertain"][0].startswith("power_limit 3000 W: this miner does not show")
    assert result["warnings"] == [f"Whatsminer 192.0.2.7:4028: check mode cannot know: {result['uncertain'][0]}"]
    assert run_task(FakeMiner(clock), clock, {"mode": "low"}, check_mode=True)["uncertain"] == []


def test_a_mode_change_without_a_restart_is_verified_from_what_the_miner_shows(clock):
    """Item 11: the firmware changes the mode without restarting btminer (Elapsed keeps growing)."""
    miner = FakeMiner(clock, mode_restarts=False)
    start = clock()
    result = run_task(miner, clock, {"mode": "low", "wait_timeout": 10.0})
    assert result["after"]["mode"] == "low" and result["verified"] is True
    assert clock() - start < 1.0  # the first read after the command shows it


def test_an_empty_power_limit_set_is_read_from_the_summary(clock):
    """Item 11: status.power_limit_set stays empty while summary shows the limit."""
    miner = FakeMiner(clock, exact=True, empty_limit_set=True)
    result = run_task(miner, clock, {"power_limit": 3000})
    assert result["before"]["power_limit_w"] == 3600 and result["after"]["power_limit_w"] == 3000
    assert run_task(miner, clock, {"power_limit": 3000})["changed"] is False
