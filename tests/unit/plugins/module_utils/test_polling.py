# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""poll_until: the one bounded wait behind the pools and power verification."""

from __future__ import annotations

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._errors import MinerRestartingError
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._polling import PollOutcome, poll_until
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.fake_time import FakeClock

RESTARTING = MinerRestartingError("btminer restarting", host="192.0.2.10", port=4028, command="summary")


def reader(*results):
    """A read that returns (or raises) the given results in turn, then repeats the last one."""
    results = list(results)
    calls = []

    def read():
        calls.append(1)
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


def test_the_wait_is_bounded_and_the_last_sleep_is_cut_short():
    fake_time, read = FakeClock(), reader("old")
    outcome = poll_until(read, lambda value: value == "new", 2.2, interval=0.5, clock=fake_time.clock, sleep=fake_time.sleep)
    assert outcome == PollOutcome(False, "old", None)
    assert fake_time.now == pytest.approx(1002.2)
    assert fake_time.sleeps == pytest.approx([0.5, 0.5, 0.5, 0.5, 0.2])


def test_the_interval_backs_off_up_to_its_maximum():
    fake_time, read = FakeClock(), reader(RESTARTING)
    outcome = poll_until(read, bool, 8, interval=0.5, backoff=2, max_interval=2, clock=fake_time.clock, sleep=fake_time.sleep)
    assert outcome == PollOutcome(False, None, RESTARTING)
    assert fake_time.sleeps == pytest.approx([0.5, 1, 2, 2, 2, 0.5])


def test_a_first_value_already_read_saves_a_read():
    fake_time, read = FakeClock(), reader("never")
    outcome = poll_until(read, lambda value: value == "ready", 5, interval=1, first="ready", clock=fake_time.clock, sleep=fake_time.sleep)
    assert outcome == PollOutcome(True, "ready", None)
    assert not read.calls
