# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""poll_until: the one bounded wait behind the pools and power verification."""

from __future__ import annotations

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _polling
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._polling import PollOutcome, poll_until
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import MinerRestartingError
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.fake_time import FakeClock

RESTARTING = MinerRestartingError("btminer restarting", host="192.0.2.10", port=4028, command="summary")


def reader(*results):
    """A read that returns (or raises) the given results in turn, then repeats the last one; ``calls`` holds the seconds each read was given."""
    results = list(results)
    calls = []

    def read(seconds):
        calls.append(seconds)
        result = results.pop(0) if len(results) > 1 else results[0]
        if isinstance(result, Exception):
            raise result
        return result

    read.calls = calls
    return read


def test_stops_at_the_first_read_that_shows_the_value():
    fake_time, read = FakeClock(), reader(1, 2, 3)
    outcome = poll_until(read, lambda value: value == 2, 10, interval=0.5, clock=fake_time.clock, sleep=fake_time.sleep)
    assert outcome == PollOutcome(True, 2, None)
    assert fake_time.sleeps == [0.5]
    assert len(read.calls) == 2


def test_failed_reads_do_not_end_the_wait_and_are_kept():
    fake_time, read = FakeClock(), reader(RESTARTING, "up")
    outcome = poll_until(read, lambda value: value == "up", 10, interval=0.5, clock=fake_time.clock, sleep=fake_time.sleep)
    assert outcome == PollOutcome(True, "up", RESTARTING)


def test_the_wait_is_bounded_and_the_last_read_has_half_of_what_is_left():
    fake_time, read = FakeClock(), reader("old")
    outcome = poll_until(read, lambda value: value == "new", 2.2, interval=0.5, clock=fake_time.clock, sleep=fake_time.sleep)
    assert outcome == PollOutcome(False, "old", None)
    assert fake_time.sleeps == pytest.approx([0.5, 0.5, 0.5, 0.5, 0.1])
    assert fake_time.now == pytest.approx(1002.1)
    assert read.calls == pytest.approx([2.2, 1.7, 1.2, 0.7, 0.2, 0.1])


def test_the_interval_backs_off_up_to_its_maximum():
    fake_time, read = FakeClock(), reader(RESTARTING)
    outcome = poll_until(read, bool, 8, interval=0.5, backoff=2, max_interval=2, clock=fake_time.clock, sleep=fake_time.sleep)
    assert outcome == PollOutcome(False, None, RESTARTING)
    assert fake_time.sleeps == pytest.approx([0.5, 1, 2, 2, 2, 0.25])


def test_a_slow_read_cannot_carry_the_wait_past_the_deadline():
    """Each read is given the seconds left; a read that uses them all ends the wait at the deadline (issue 14, item 6)."""
    fake_time = FakeClock()
    budgets = []

    def slow_read(seconds):
        budgets.append(seconds)
        fake_time.now += seconds  # a miner that never answers: the read ends when its time is up
        raise RESTARTING

    outcome = poll_until(slow_read, bool, 2.0, interval=0.5, clock=fake_time.clock, sleep=fake_time.sleep)
    assert outcome == PollOutcome(False, None, RESTARTING)
    assert budgets == [2.0]
    assert fake_time.now == pytest.approx(1002.0)
    assert not fake_time.sleeps


def test_each_read_is_given_exactly_the_time_left():
    fake_time = FakeClock()
    reads = []

    def read(seconds):
        reads.append((fake_time.now, seconds))
        fake_time.now += min(0.3, seconds)  # each read takes 0.3 s, or the time it was given
        return "old"

    poll_until(read, lambda value: value == "new", 3.0, interval=1.0, clock=fake_time.clock, sleep=fake_time.sleep)
    deadline = 1003.0
    assert [seconds for _at, seconds in reads] == pytest.approx([deadline - at for at, _seconds in reads])
    assert len(reads) == 4  # at 0, 1.3 and 2.6 s, then the last one halfway through the 0.1 s left
    assert fake_time.now <= deadline


def test_the_default_clock_is_looked_up_at_each_call(monkeypatch):
    fake_time, read = FakeClock(), reader("old")
    monkeypatch.setattr(_polling.time, "monotonic", fake_time.clock)
    monkeypatch.setattr(_polling.time, "sleep", fake_time.sleep)
    outcome = poll_until(read, lambda value: value == "new", 1.0, interval=0.5)
    assert outcome == PollOutcome(False, "old", None)
    assert fake_time.sleeps == pytest.approx([0.5, 0.25])


def test_a_first_value_already_read_saves_a_read():
    fake_time, read = FakeClock(), reader("never")
    outcome = poll_until(read, lambda value: value == "ready", 5, interval=1, first="ready", clock=fake_time.clock, sleep=fake_time.sleep)
    assert outcome == PollOutcome(True, "ready", None)
    assert not read.calls
