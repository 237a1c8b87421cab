# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An asyncio event loop on a virtual clock: time passes only when every task waits, then it jumps to the next timer.

For tests of asyncio code whose waits are timeouts and sleeps (``asyncio.timeout``, ``asyncio.sleep``,
``asyncio.wait(..., timeout=...)``) and whose I/O is faked: a test of a 2 s timeout takes no real
time, and the times the code sees are exact. Real sockets still work (they are polled without
waiting), but the clock does not wait for them, so use it with fakes only.

    with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
        runner.run(code_under_test())
        elapsed = runner.get_loop().time()
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any


class _JumpingSelector(selectors.SelectSelector):
    """Polls without waiting; when nothing is ready, moves the loop's clock on by the time the loop would have waited."""

    def __init__(self, loop: VirtualClockLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            raise RuntimeError("every task waits and no timer is set: the code under test would wait forever")
        self._loop.advance(timeout)
        return []


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` starts at 0 and moves only when the loop would otherwise wait."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # pylint: disable=unused-argument
        self._now = 0.0
        super().__init__(selector=_JumpingSelector(self))

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock on (the loop does so by itself when every task waits)."""
        self._now += max(0.0, seconds)
