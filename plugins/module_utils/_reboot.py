# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reboot or btminer restart of whatsminer_reboot: send, then wait until the miner is back.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

``reboot`` restarts the control board (API 2 ``reboot``, API 3 ``set.system.reboot``): the whole
API is gone for a while. ``restart`` restarts only btminer, the mining program (API 2
``restart_btminer``, API 3 ``set.miner.service`` ``restart``): the API daemon answers, the
btminer-backed reads do not. Either reply is often lost (reference sections 2.11 and 4), so the
command is sent without waiting for one, and the miner itself tells when it is back:

* back after a reboot: ``summary`` answers and the system's uptime (``Uptime``, or btminer's
  ``Elapsed`` where the firmware has no uptime) is no longer than the time since the command, so
  an answer from before the miner went down does not count;
* back after a restart: ``summary`` answers and btminer's ``Elapsed`` is that short;
* with ``wait_for_hashing``, in addition the live hashrate is above zero (the rule of
  ``_miner_state.is_mining``).

The wait is ``_polling.poll_until``, bounded by ``reboot_timeout``. Like ``ansible.builtin.reboot``,
the module reports ``changed`` whenever it sends the command, and check mode sends nothing at all.

``ARGUMENT_SPEC`` and ``logic`` at the end are the module itself (module file and action plugin).
"""

from __future__ import annotations

import time
from typing import Any, Callable, NamedTuple

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _miner_state as miner_state
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._polling import RESTART_SLACK_S, poll_until, read_within
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import WhatsminerError
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import API3_WRITE_COMMANDS, Session, write_outcome_unknown

#: The API 2 command of each operation (``Api3Adapter`` sends its API 3 command, ``API3_WRITE_COMMANDS``).
COMMANDS = {"reboot": "reboot", "restart": "restart_btminer"}
MAX_REBOOT_TIMEOUT = 3600.0
DEFAULT_REBOOT_TIMEOUT = 600.0
#: Reads while waiting start this far apart and spread out to at most MAX_POLL_INTERVAL.
FIRST_POLL_INTERVAL = 0.5
MAX_POLL_INTERVAL = 5.0
POLL_BACKOFF = 1.5


class Sighting(NamedTuple):
    """What one read of ``summary`` showed while waiting."""

    uptime_s: int | None
    mining_elapsed_s: int | None
    hashing: bool | None


def validate_reboot_params(params: dict) -> None:
    """Reject values no wait can take, before anything is sent."""
    timeout = params.get("reboot_timeout")
    if not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and 0 < timeout <= MAX_REBOOT_TIMEOUT):
        raise ModuleFailure(f"reboot_timeout must be more than 0 and at most {MAX_REBOOT_TIMEOUT:g} seconds, got {timeout}")


def read_sighting(client: Session) -> Sighting:
    """One ``summary`` read (btminer restarting or the API down raise, and the wait goes on)."""
    facts = miner_state.status_facts(summary=client.read("summary"))
    return Sighting(facts["uptime_s"], facts["mining_elapsed_s"], facts["mining"])


class RebootTask:
    """Sends the operation and waits until the miner is back. ``clock`` and ``sleep`` are injectable for tests."""

    def __init__(self, client: Session, params: dict, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.operation = params["operation"]
        self.command = COMMANDS[self.operation]
        self.timeout = float(params["reboot_timeout"])
        self.wait_for_hashing = params["wait_for_hashing"]
        self.clock = clock
        self.sleep = sleep
        self.warnings: list[str] = []
        self._went_down = False

    @property
    def miner(self) -> str:
        """``Whatsminer host:port``."""
        host = f"[{self.client.host}]" if ":" in str(self.client.host) else self.client.host
        return f"Whatsminer {host}:{self.client.port}"

    def wire_command(self) -> str:
        """The command as the miner got it (the API 3 command on API 3)."""
        return API3_WRITE_COMMANDS[self.command] if self.client.api_version == 3 else self.command

    def send(self) -> None:
        """Send the command; a lost reply is fine (the wait tells), other errors end the task unchanged."""
        try:
            self.client.privileged(self.command, expect_reply=False)
        except WhatsminerError as error:
            if not write_outcome_unknown(error, self.command):
                raise
            self.warnings.append(f"the reply to {self.wire_command()} was unreadable ({error.problem}); whether the miner is back was read from the miner")

    def _back(self, sighting: Sighting, since: float) -> bool:
        """Whether ``sighting`` shows the miner back after the command sent ``since`` (clock time)."""
        seconds = self.clock() - since + RESTART_SLACK_S
        started = sighting.mining_elapsed_s if self.operation == "restart" else sighting.uptime_s
        if started is None:
            fresh = self._went_down  # no uptime reported: an answer after the miner was seen down
        else:
            fresh = started <= seconds
        return fresh and (not self.wait_for_hashing or sighting.hashing is True)

    def _read(self, seconds: float) -> Sighting:
        """One read of the wait, ending within the ``seconds`` left of it."""
        try:
            return read_within(self.client, seconds, read_sighting)
        except WhatsminerError:
            self._went_down = True
            raise

    def run(self) -> dict[str, Any]:
        """Send, wait, and return the result; a wait that runs out raises with ``changed=true``."""
        started = self.clock()
        self.send()
        outcome = poll_until(self._read, lambda sighting: self._back(sighting, started), self.timeout,
                             interval=FIRST_POLL_INTERVAL, backoff=POLL_BACKOFF, max_interval=MAX_POLL_INTERVAL,
                             clock=self.clock, sleep=self.sleep)
        elapsed = round(self.clock() - started, 1)
        if not outcome.reached:
            wanted = "answer again" + (" and hash" if self.wait_for_hashing else "")
            seen = "nothing (no read succeeded)" if outcome.last_value is None else self._describe(outcome.last_value)
            last_error = str(outcome.last_error) if outcome.last_error else "none."
            raise ModuleFailure(
                f"{self.miner}: sent {self.wire_command()}, but the miner did not {wanted} within reboot_timeout "
                f"({self.timeout:g} s). Last seen: {seen}. Last error: {last_error} It may still be "
                "starting: check it, or raise reboot_timeout for this model.",
                changed=True, elapsed=elapsed, operation=self.operation, command=self.wire_command(),
            )
        sighting = outcome.last_value
        return {
            "changed": True,
            "operation": self.operation,
            "command": self.wire_command(),
            "elapsed": elapsed,
            "uptime_s": sighting.uptime_s,
            "mining_elapsed_s": sighting.mining_elapsed_s,
            "hashing": sighting.hashing,
            "msg": f"{self.operation} done: the miner answered again after {elapsed:g} s",
            "warnings": self.warnings,
        }

    @staticmethod
    def _describe(sighting: Sighting) -> str:
        return (f"uptime {sighting.uptime_s} s, btminer running for {sighting.mining_elapsed_s} s, "
                f"hashing {'unknown' if sighting.hashing is None else str(sighting.hashing).lower()}")


def manage_reboot(client: Session, params: dict, check_mode: bool, **task_options: Any) -> dict:
    """The result of whatsminer_reboot for one miner (``task_options``: ``clock``/``sleep`` for tests)."""
    validate_reboot_params(params)
    if check_mode:
        return {
            "changed": True,
            "operation": params["operation"],
            "msg": f"{params['operation']} would be sent (check mode sends nothing)",
            "elapsed": 0,
        }
    return RebootTask(client, params, **task_options).run()


ARGUMENT_SPEC: dict = {
    "operation": {"type": "str", "choices": list(COMMANDS), "default": "reboot"},
    "reboot_timeout": {"type": "float", "default": DEFAULT_REBOOT_TIMEOUT},
    "wait_for_hashing": {"type": "bool", "default": False},
}


def logic(client: Session, params: dict, check_mode: bool, diff: bool) -> dict:
    """The module: reboot the miner or restart btminer, and wait until it is back."""
    del diff  # nothing to compare
    return manage_reboot(client, params, check_mode)
