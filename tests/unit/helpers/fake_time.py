# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A clock for tests of the bounded waits: time passes only when the code sleeps (or a test moves it)."""

from __future__ import annotations


class FakeClock:
    """Pass ``clock`` (or the object itself) as the clock and ``sleep`` as the sleep of the code under test."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def clock(self) -> float:
        """The current fake time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the sleep (rounded to 0.1 ms) and move the time on."""
        self.sleeps.append(round(seconds, 4))
        self.now += seconds
