# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded polling of a miner until it shows what was asked.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

After a write the modules read the miner again until it shows the new setting: the pools after
``update_pools``, the power state after a command that restarts btminer. Both waits are the one
loop below: read, stop when the value is the wanted one, otherwise sleep and read again. A read
that fails with a ``WhatsminerError`` (btminer restarting, a broken reply) does not end the wait;
the error is kept for the message when time runs out.

The timeout is a deadline: every read is given the seconds left (``read_within`` makes the
client's requests end by then: connect, reply and retries included), so a read in flight cannot
carry the wait past it.
"""

from __future__ import annotations

import time
from typing import Any, Callable, NamedTuple

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import WhatsminerError
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import Session

#: Slack when comparing an uptime the miner reports (whole seconds: btminer's, the control board's)
#: with the time since a command was sent (the power and reboot waits).
RESTART_SLACK_S = 2


class PollOutcome(NamedTuple):
    """The end of a wait."""

    #: Whether a read showed the wanted value before the time ran out.
    reached: bool
    #: The value of the last read that succeeded (``None`` when none did).
    last_value: Any
    #: The error of the most recent read that failed during the wait (``None`` when none did).
    last_error: WhatsminerError | None


def read_within(client: Session, seconds: float, read: Callable[[Session], Any]) -> Any:
    """``read(client)`` with every request of it ending within ``seconds`` (the client's ``time_limit``)."""
    with client.time_limit(seconds):
        return read(client)


def poll_until(
    read: Callable[[float], Any],
    reached: Callable[[Any], bool],
    timeout: float,
    *,
    interval: float,
    backoff: float = 1.0,
    max_interval: float | None = None,
    first: Any = None,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> PollOutcome:
    """Call ``read(seconds_left)`` until ``reached(value)`` is true or ``timeout`` seconds have passed.

    ``read`` must end within the seconds it is given (see ``read_within``). The first read happens
    at once, unless ``first`` (not ``None``) is the value of a read just made. Reads are spaced
    ``interval`` seconds apart, the interval growing by ``backoff`` up to ``max_interval``; when
    no more than one interval is left, the last read comes after half of what is left and has the
    other half. ``clock`` and ``sleep`` default to ``time.monotonic`` and ``time.sleep`` (looked up
    at each call, so tests inject theirs as arguments).
    """
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    deadline = clock() + timeout
    last_value, last_error = None, None
    value = first
    last_read = False
    while True:
        if value is None:
            remaining = deadline - clock()
            if remaining <= 0:
                return PollOutcome(False, last_value, last_error)
            try:
                value = read(remaining)
            except WhatsminerError as error:
                last_error = error
        if value is not None:
            last_value = value
            if reached(value):
                return PollOutcome(True, value, last_error)
        remaining = deadline - clock()
        if remaining <= 0 or last_read:
            return PollOutcome(False, last_value, last_error)
        if remaining > interval:
            sleep(interval)
        else:
            sleep(remaining / 2)
            last_read = True
        interval = interval * backoff if max_interval is None else min(interval * backoff, max_interval)
        value = None
