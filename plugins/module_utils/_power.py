# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Power settings of whatsminer_power: read, decide, apply, wait until the miner shows them.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

Four managed settings, named as in the results: ``mining`` (hashing or stopped), ``mode``
(``low``/``normal``/``high``), ``power_limit_w`` (watts, ``None`` = no limit) and
``power_percent`` (1-100 % of the miner's running power, 100 = no reduction; in the results only
when managed). The power percentage changes the draw without a btminer restart (API 2
``set_power_pct`` fast / ``set_power_pct_v2`` normal, API 3 ``set.miner.power_percent``). API 3
reports it (``get.miner.setting`` ``power-percent``, 0 = no reduction); no API 2 read does, so on
API 2 firmware the module fails before sending anything unless ``power_percent_unreadable: send``
asks it to send the percentage anyway, unverified, on every run (reported changed every time, like
``update_password: always`` of whatsminer_pools): never a false "ok".

* ``Observation`` is what one read of ``summary`` and ``status`` shows, through the same readers
  as the facts module (``_miner_state.status_facts``): one rule for "is it mining", the same
  power limit sentinels.
* ``plan_commands`` is a pure function: current observation + wanted settings -> the ordered
  commands (empty when everything already matches). Order: ``power_on`` first, then the power
  limit, then the power mode, ``power_off`` last. The settings that restart btminer are thus
  applied while the miner is mining (other clients send ``power_on`` before a mode change too)
  and a miner that must end stopped is stopped only after its last restart. The limit goes
  before the mode because the miner may refuse a limit (each model has its range, code 132):
  refused first, it leaves the mode as it was, instead of a changed mode and no limit (asic-rs
  sends its mode command after the limit too). A limit above the maximum the miner reports is
  refused before anything is sent; ``uncertainties`` says what check mode cannot know.
* ``PowerTask`` reads the current state (waiting out a btminer restart already in progress),
  sends the commands one by one and, after each, polls with spaced reads until the miner answers
  and shows what was applied so far plus the wanted settings that already matched
  (``wait_timeout`` seconds at most per wait, a deadline for the reads too). With ``wait=False``
  only the wait after the last command is skipped.
* ``plan_power`` reads the miner once and plans; ``finish_power`` predicts (check mode) or sends
  and reads back. ``manage_power`` (the module) is both in a row; the fleet action
  (``plugin_utils/_fleet_power``) keeps the plan between them, so each miner is read once.
* The value the miner shows decides: the power mode btminer reports in ``summary`` (a mode
  change counts once it shows there, whether or not btminer visibly restarted), the limit
  setting of ``status.power_limit_set`` when the firmware fills it, else ``summary``'s
  ``Power Limit``.

``ARGUMENT_SPEC`` and ``logic`` at the end are the module itself: the module file and its action
plugin (which runs it in the controller's worker) both run these objects.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _miner_state as miner_state
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._polling import RESTART_SLACK_S, PollOutcome, poll_until, read_within
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    CommandRejectedError,
    MinerRestartingError,
    UnsupportedCommandError,
    WhatsminerError,
    miner_address,
)
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import Session, write_outcome_unknown

SETTINGS = ("mining", "mode", "power_limit_w", "power_percent")
#: ``adjust_power_limit`` takes "0".."99999"; 99999 removes the limit (reference section 4).
REMOVE_POWER_LIMIT = 99999
MIN_POWER_LIMIT = 1
MAX_WAIT_TIMEOUT = 3600.0
MODE_COMMANDS = {"low": "set_low_power", "normal": "set_normal_power", "high": "set_high_power"}
#: API 2 command of each power-percent mode (the API 3 adapter sends set.miner.power_percent with the mode).
PERCENT_COMMANDS = {"fast": "set_power_pct", "normal": "set_power_pct_v2"}
MIN_POWER_PERCENT = 1
MAX_POWER_PERCENT = 100
UNREADABLE_PERCENT_CHOICES = ("fail", "send")
#: Reads while waiting start this far apart and spread out to at most MAX_POLL_INTERVAL.
FIRST_POLL_INTERVAL = 0.5
MAX_POLL_INTERVAL = 2.0
POLL_BACKOFF = 1.5


# ---------------------------------------------------------------------------------------------
# What the miner shows


@dataclass(frozen=True)
class Observation:
    """The power settings one read of ``summary`` and ``status`` shows.

    Attributes:
        mining, mode, power_limit_w: As the facts module reports them (``None`` = unknown, and
            for ``power_limit_w`` also "no limit": see ``limit_readable``).
        btminer_answers: ``summary`` answered, i.e. btminer (the mining program) runs.
        limit_readable: ``power_limit_w`` means something: the firmware reports the limit
            setting (``status.power_limit_set``) or ``summary`` answered with its ``Power Limit``.
        limit_exact: The firmware reports the limit setting itself (2024 firmware), not only the
            effective limit of ``summary`` (1.x and 2.0.x firmware show the model's factory
            maximum when no lower limit is set, so "no limit" and "a limit at the maximum" look
            the same there).
        mining_elapsed_s: Seconds since btminer started (``summary`` ``Elapsed``), when known.
        max_power_limit_w: The highest limit the miner takes, as it shows it: ``summary``'s
            ``Power Limit`` while the firmware reports that no limit is set (the effective limit
            is then the model's ordinary power, above which the firmware refuses a limit).
            ``None`` when the miner does not show it (a limit is set, or the firmware reports
            only the effective limit).
    """

    mining: bool | None = None
    mode: str | None = None
    power_limit_w: int | None = None
    btminer_answers: bool = False
    limit_readable: bool = False
    limit_exact: bool = False
    mining_elapsed_s: int | None = None
    max_power_limit_w: int | None = None
    power_percent: int | None = None
    power_w: int | None = None
    effective_limit_w: int | None = None

    def settings(self, percent: bool = False) -> dict[str, Any]:
        """``{"mining": ..., "mode": ..., "power_limit_w": ...}``, with ``power_percent`` when ``percent``."""
        settings = {"mining": self.mining, "mode": self.mode, "power_limit_w": self.power_limit_w}
        if percent:
            settings["power_percent"] = self.power_percent
        return settings

    def knows(self, setting: str) -> bool:
        """Whether the current value of ``setting`` could be read."""
        if setting == "power_limit_w":
            return self.limit_readable
        return getattr(self, setting) is not None

    def shows(self, expected: dict[str, Any]) -> bool:
        """Whether every setting of ``expected`` is readable and has the expected value."""
        return all(self.knows(setting) and getattr(self, setting) == value for setting, value in expected.items())

    def restarted_since(self, seconds_ago: float) -> bool:
        """Whether btminer started at most ``seconds_ago`` seconds ago (true when its uptime is unknown)."""
        return self.mining_elapsed_s is None or self.mining_elapsed_s <= seconds_ago + RESTART_SLACK_S


def observation_from(summary: dict | None, status: dict | None) -> Observation:
    """The observation of a ``summary`` reply (``None`` while btminer restarts) and a ``status`` reply."""
    facts = miner_state.status_facts(summary=summary, status=status)
    limit_exact = miner_state.reports_power_limit_setting(status)
    maximum = None
    if limit_exact and facts["power_limit_w"] is None:
        maximum = miner_state.power_limit_watts(miner_state.summary_record(summary).get("Power Limit"))
    return Observation(
        mining=facts["mining"],
        mode=facts["power_mode"],
        power_limit_w=facts["power_limit_w"],
        btminer_answers=summary is not None,
        limit_readable=limit_exact or summary is not None,
        limit_exact=limit_exact,
        mining_elapsed_s=facts["mining_elapsed_s"],
        max_power_limit_w=maximum,
        power_percent=percent_shown(status),
        power_w=facts["power_w"],
        effective_limit_w=miner_state.power_limit_watts(miner_state.summary_record(summary).get("Power Limit")),
    )


def percent_shown(status: dict | None) -> int | None:
    """The power percentage a ``status`` reply carries (only the API 3 adapter's, from ``get.miner.setting``); 0 = none = 100."""
    value = miner_state.to_int(miner_state.message(status).get("power_percent"))
    if value is None or not 0 <= value <= MAX_POWER_PERCENT:
        return None
    return value or MAX_POWER_PERCENT


def read_observation(client: Session) -> Observation:
    """Read ``summary`` and ``status``; a restarting btminer only leaves the summary out."""
    try:
        summary = client.read("summary")
    except MinerRestartingError:
        summary = None
    return observation_from(summary, client.read("status"))


def describe(settings: dict[str, Any]) -> str:
    """``mining=true, mode="low", power_limit_w=null`` (JSON values, the order of SETTINGS)."""
    return ", ".join(f"{name}={json.dumps(settings[name])}" for name in SETTINGS if name in settings)


# ---------------------------------------------------------------------------------------------
# What to send


@dataclass(frozen=True)
class Command:
    """One power command: its name and parameters, what it sets, and how the miner reacts.

    ``restarts_btminer``: the wait after it needs btminer to answer (summary). ``verify_restart``:
    the wait also needs btminer to have started after the command was sent, because the firmware
    shows the new value (``status.power_limit_set``) before its restart takes it up.
    """

    name: str
    parameters: dict[str, str] = field(default_factory=dict)
    sets: dict[str, Any] = field(default_factory=dict)
    restarts_btminer: bool = False
    expect_reply: bool = True
    verify_restart: bool = False
    verifiable: bool = True

    def as_result(self) -> dict[str, Any]:
        """The entry of the module's ``commands`` return value."""
        return {"command": self.name, "parameters": dict(self.parameters)}


def power_on() -> Command:
    """Start mining (replies, then the miner hashes after a moment)."""
    return Command("power_on", sets={"mining": True})


def power_off() -> Command:
    """Stop mining; ``respbefore`` makes the miner reply before it stops."""
    return Command("power_off", {"respbefore": "true"}, sets={"mining": False})


def set_mode(mode: str) -> Command:
    """set_low/normal/high_power: never replies, then btminer restarts (on some firmware without a visible restart).

    The mode counts once btminer reports it in ``summary``: that is the running program's mode,
    so no restart needs to be seen.
    """
    return Command(MODE_COMMANDS[mode], sets={"mode": mode}, restarts_btminer=True, expect_reply=False)


def adjust_power_limit(watts: int | None) -> Command:
    """adjust_power_limit (``None`` = remove the limit): replies, then btminer restarts."""
    value = REMOVE_POWER_LIMIT if watts is None else watts
    return Command("adjust_power_limit", {"power_limit": str(value)}, sets={"power_limit_w": watts}, restarts_btminer=True,
                   verify_restart=True)


def set_power_percent(percent: int, mode: str = "fast", *, verifiable: bool = True) -> Command:
    """set_power_pct (fast) / set_power_pct_v2 (normal): replies, no btminer restart.

    ``verifiable`` False (API 2: no read shows the percentage): the wait after it does not expect
    to see it, and the result says it is not verified.
    """
    return Command(PERCENT_COMMANDS[mode], {"percent": str(percent)}, sets={"power_percent": percent}, verifiable=verifiable)


def wanted_settings(params: dict) -> dict[str, Any]:
    """The managed settings of the module parameters (only those given; power_limit 99999 -> None)."""
    wanted: dict[str, Any] = {}
    if params.get("mining") is not None:
        wanted["mining"] = params["mining"]
    if params.get("mode") is not None:
        wanted["mode"] = params["mode"]
    if params.get("power_limit") is not None:
        watts = params["power_limit"]
        wanted["power_limit_w"] = None if watts == REMOVE_POWER_LIMIT else watts
    if params.get("power_percent") is not None:
        wanted["power_percent"] = params["power_percent"]
    return wanted


def validate_power_params(params: dict) -> None:
    """Reject what cannot be sent, before anything is sent."""
    if all(params.get(name) is None for name in ("mining", "mode", "power_limit", "power_percent")):
        raise ModuleFailure("Nothing to manage: give at least one of mining, mode, power_limit or power_percent")
    percent = params.get("power_percent")
    if percent is not None and (isinstance(percent, bool) or not MIN_POWER_PERCENT <= percent <= MAX_POWER_PERCENT):
        raise ModuleFailure(f"power_percent must be between {MIN_POWER_PERCENT} and {MAX_POWER_PERCENT} (100 = no reduction); got {percent}")
    if params.get("power_percent_mode", "fast") not in PERCENT_COMMANDS:
        raise ModuleFailure(f"power_percent_mode must be one of {', '.join(PERCENT_COMMANDS)}; got {params['power_percent_mode']!r}")
    if params.get("power_percent_unreadable", "fail") not in UNREADABLE_PERCENT_CHOICES:
        raise ModuleFailure(f"power_percent_unreadable must be one of {', '.join(UNREADABLE_PERCENT_CHOICES)}; "
                            f"got {params['power_percent_unreadable']!r}")
    watts = params.get("power_limit")
    if watts is not None and (isinstance(watts, bool) or not MIN_POWER_LIMIT <= watts <= REMOVE_POWER_LIMIT):
        raise ModuleFailure(
            f"power_limit must be a number of watts between {MIN_POWER_LIMIT} and {REMOVE_POWER_LIMIT - 1}, "
            f"or {REMOVE_POWER_LIMIT} to remove the limit; got {watts}"
        )
    if params.get("mode") is not None and params["mode"] not in MODE_COMMANDS:
        raise ModuleFailure(f"mode must be one of {', '.join(MODE_COMMANDS)}; got {params['mode']!r}")
    wait_timeout = params.get("wait_timeout")
    if wait_timeout is not None and not 0 < wait_timeout <= MAX_WAIT_TIMEOUT:
        raise ModuleFailure(f"wait_timeout must be more than 0 and at most {MAX_WAIT_TIMEOUT:g} seconds, got {wait_timeout:g}")


def plan_commands(current: Observation, wanted: dict[str, Any], *, percent_mode: str = "fast", send_unreadable_percent: bool = False) -> list[Command]:
    """The commands that turn ``current`` into ``wanted``, in the order they must be sent.

    ``wanted`` holds only the managed settings (``power_limit_w`` ``None`` = no limit). Nothing is
    planned for a setting that already matches. Order: power_on, power limit, mode, power percent
    (no restart), power_off. A power percentage the firmware does not report is sent, unverified,
    only with ``send_unreadable_percent``.

    Raises:
        ModuleFailure: a managed setting cannot be read, the wanted state cannot be verified
            on this firmware (removing a limit where only the effective limit is reported), or
            the wanted limit is above the maximum the miner shows.
    """
    unreadable_percent = "power_percent" in wanted and not current.knows("power_percent")
    if unreadable_percent and not send_unreadable_percent:
        raise ModuleFailure(
            "This firmware does not report its power percentage (API 2 has no read of it; API 3 firmware reports it in "
            "get.miner.setting), so the module can neither compare nor verify power_percent; nothing was sent. Use "
            "api_version 3 where the firmware has API 3, or set power_percent_unreadable=send to send it anyway on every run "
            "(the task then reports changed each time, unverified)"
        )
    unknown = [name for name in SETTINGS if name in wanted and name != "power_percent" and not current.knows(name)]
    if unknown:
        raise ModuleFailure(
            f"Cannot read the current {' and '.join(unknown)} of the miner (it shows {describe(current.settings())}), "
            "so the module cannot tell what to change; nothing was sent"
        )
    if "power_limit_w" in wanted and wanted["power_limit_w"] is None and current.power_limit_w is not None and not current.limit_exact:
        raise ModuleFailure(
            f"This firmware reports only the effective power limit ({current.power_limit_w} W now), which is the model's "
            "factory maximum when no lower limit is set, so removing a limit could be neither verified nor kept idempotent; "
            "nothing was sent. Set power_limit to the model's factory maximum in watts instead: on this firmware that has "
            f"the same effect (power_limit {REMOVE_POWER_LIMIT} works on firmware that reports status.power_limit_set)"
        )
    watts = wanted.get("power_limit_w")
    if watts is not None and current.max_power_limit_w is not None and watts > current.max_power_limit_w:
        raise ModuleFailure(
            f"power_limit {watts} W is above the maximum of {current.max_power_limit_w} W this miner shows (its effective power "
            f"limit while no limit is set), so the miner would refuse it; nothing was sent. Give at most "
            f"{current.max_power_limit_w} W, or {REMOVE_POWER_LIMIT} for no limit"
        )
    commands = []
    if wanted.get("mining") is True and current.mining is not True:
        commands.append(power_on())
    if "power_limit_w" in wanted and current.power_limit_w != wanted["power_limit_w"]:
        commands.append(adjust_power_limit(wanted["power_limit_w"]))
    if "mode" in wanted and current.mode != wanted["mode"]:
        commands.append(set_mode(wanted["mode"]))
    if "power_percent" in wanted and (unreadable_percent or current.power_percent != wanted["power_percent"]):
        commands.append(set_power_percent(wanted["power_percent"], percent_mode, verifiable=not unreadable_percent))
    if wanted.get("mining") is False and current.mining is not False:
        commands.append(power_off())
    return commands


def uncertainties(current: Observation, commands: list[Command]) -> list[str]:
    """What a prediction of ``commands`` cannot know: whether the miner takes the power limit.

    Each model takes only its own range of watts. The maximum is known when the miner shows it
    (``Observation.max_power_limit_w``; a limit above it never gets this far); the minimum is
    never reported.
    """
    notes = []
    for command in commands:
        watts = command.sets.get("power_limit_w")
        if watts is None:  # not a limit, or its removal (always taken)
            continue
        if current.max_power_limit_w is not None:
            notes.append(
                f"power_limit {watts} W: within the maximum this miner shows ({current.max_power_limit_w} W), but the miner does not "
                "report the minimum of its model, so a value below that minimum would be refused only when it is sent"
            )
        else:
            notes.append(
                f"power_limit {watts} W: this miner does not show the range of watts its model takes (a limit is set, or the firmware "
                "reports only the effective limit), so whether it accepts the value is known only when it is sent; a refused limit "
                "changes nothing else, as the limit is sent before any mode change"
            )
    return notes


def predicted_settings(current: Observation, commands: list[Command], percent: bool = False) -> dict[str, Any]:
    """The settings the miner will show once ``commands`` took effect (``percent``: with ``power_percent``)."""
    settings = current.settings(percent)
    for command in commands:
        settings.update(command.sets)
    return settings


# ---------------------------------------------------------------------------------------------
# Sending and waiting


class PowerTask:
    """Reads, changes and verifies the power settings of one miner (see the module docstring).

    ``clock`` and ``sleep`` are injectable for tests; every wait is bounded by ``wait_timeout``.
    """

    def __init__(
        self,
        client: Session,
        wanted: dict[str, Any],
        *,
        wait: bool = True,
        wait_timeout: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.wanted = wanted
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.clock = clock
        self.sleep = sleep
        self.before: Observation | None = None
        self.last_power_w: int | None = None
        self.sent: list[Command] = []
        self.warnings: list[str] = []
        #: The command sent last, while its wait is still to come: (command, expected, sent_at, confirmed, lost_reply).
        self.pending: tuple[Command, dict[str, Any], float, bool, WhatsminerError | None] | None = None

    # --- reading ---------------------------------------------------------------------------

    def wait_until(self, expected: dict[str, Any], *, btminer_up: bool, sent_at: float | None = None,
                   first: Observation | None = None) -> PollOutcome:
        """Poll until the miner shows ``expected`` (and answers from btminer when ``btminer_up``).

        ``sent_at`` (clock time of a command whose effect shows before its restart) also requires
        btminer to have started after the command, so the state from before the restart does not
        count. Reads are spaced FIRST_POLL_INTERVAL to MAX_POLL_INTERVAL apart and each ends by the
        deadline; any error of a read is kept as the last error and the polling goes on until
        ``wait_timeout`` seconds have passed.
        """
        return poll_until(
            lambda seconds: read_within(self.client, seconds, read_observation),
            lambda observation: self._reached(observation, expected, btminer_up, sent_at),
            self.wait_timeout,
            interval=FIRST_POLL_INTERVAL, backoff=POLL_BACKOFF, max_interval=MAX_POLL_INTERVAL,
            first=first, clock=self.clock, sleep=self.sleep,
        )

    def _reached(self, observation: Observation, expected: dict[str, Any], btminer_up: bool, sent_at: float | None) -> bool:
        if btminer_up and not observation.btminer_answers:
            return False
        if sent_at is not None and not observation.restarted_since(self.clock() - sent_at):
            return False
        return observation.shows(expected)

    def read_current(self) -> Observation:
        """The current settings, after a btminer restart already in progress (bounded by wait_timeout).

        The first read's errors end the task (the miner is unreachable, ...). Nothing is sent.
        """
        first = read_observation(self.client)
        outcome = self.wait_until({}, btminer_up=True, first=first)
        if not outcome.reached:
            raise ModuleFailure(
                f"{self.miner_name()}: btminer (the mining program) did not answer within wait_timeout ({self.wait_timeout:g} s), "
                f"so the current power settings are unknown and nothing was sent. Last seen: {self._seen(outcome.last_value)}; "
                f"last error: {outcome.last_error or 'none (btminer was restarting)'}",
                before=first.settings(),
            )
        self.before = outcome.last_value
        return self.before

    # --- writing ---------------------------------------------------------------------------

    def apply(self, commands: list[Command], *, last_wait_now: bool = True) -> Observation | None:
        """Send ``commands`` in order, waiting after each; the last observation, ``None`` when not verified.

        After each command the miner must show what the commands so far set, and keep showing the
        wanted settings that already matched (a miner that was hashing must hash again after a
        restart), before the next command goes out. After the last one that is the whole wanted state.
        A command whose reply was lost is verified even with ``wait=False``: only the miner can tell
        whether it ran. With ``last_wait_now=False`` the wait after the last (confirmed) command is
        left to ``wait_pending`` (the fleet action sends to every miner before it reads any back).
        """
        already = self.before or Observation()
        expected = {name: value for name, value in self.wanted.items() if already.shows({name: value})}
        observation = None
        for index, command in enumerate(commands):
            last = index == len(commands) - 1
            verify = self.wait or not last
            sent_at = self.clock()
            confirmed, lost_reply = self._send(command)
            self.sent.append(command)
            if command.verifiable:
                expected.update(command.sets)
            if not verify and lost_reply is None:
                return None
            self.pending = (command, dict(expected), sent_at, confirmed, lost_reply)
            if last and not last_wait_now and lost_reply is None:
                return None
            observation = self.wait_pending()
        return observation

    def wait_pending(self) -> Observation | None:
        """The wait after the command sent last, when ``apply`` left it (``None`` when nothing waits)."""
        if self.pending is None:
            return None
        command, expected, sent_at, confirmed, lost_reply = self.pending
        self.pending = None
        outcome = self.wait_until(expected, btminer_up=command.restarts_btminer, sent_at=sent_at if command.verify_restart else None)
        if not outcome.reached:
            raise self._timeout_failure(command, expected, outcome, lost_reply, confirmed)
        if lost_reply is not None:
            self.warnings.append(f"The reply to {command.name} was lost, so its effect was verified by reading the miner back: {lost_reply}")
        self.last_power_w = outcome.last_value.power_w
        return outcome.last_value

    def settings(self, observation: Observation | None) -> dict[str, Any] | None:
        """The settings of ``observation`` as the results show them (``power_percent`` only when managed)."""
        return observation.settings("power_percent" in self.wanted) if observation else None

    def _send(self, command: Command) -> tuple[bool, WhatsminerError | None]:
        """Send one command: whether the miner confirmed it (a success reply), and the error of a sent write whose reply was lost.

        A lost or unreadable reply is returned (the effect is verified by reading back); other
        errors raise. Mode commands get no reply by design: neither confirmed nor lost.
        """
        try:
            reply = self.client.privileged(command.name, expect_reply=command.expect_reply, **command.parameters)
        except WhatsminerError as error:
            if write_outcome_unknown(error, command.name):
                return False, error
            raise self._send_failure(command, error) from None
        return reply is not None, None

    # --- messages --------------------------------------------------------------------------

    def miner_name(self) -> str:
        """``Whatsminer host:port`` for messages."""
        return f"Whatsminer {miner_address(str(self.client.host), self.client.port)}"

    @staticmethod
    def _seen(observation: Observation | None) -> str:
        if observation is None:
            return "nothing (no read succeeded)"
        text = describe(observation.settings())
        return text if observation.btminer_answers else text + " while btminer was not answering (restarting)"

    def _sent_names(self) -> str:
        return ", ".join(command.name for command in self.sent) or "nothing"

    def _details(self, **extra: Any) -> dict[str, Any]:
        details = {
            "changed": bool(self.sent),
            "commands": [command.as_result() for command in self.sent],
            "before": self.settings(self.before),
        }
        details.update(extra)
        return details

    def _send_failure(self, command: Command, error: WhatsminerError) -> Exception:
        """The error to end the task with when ``command`` failed."""
        rejected_limit = command.name == "adjust_power_limit" and isinstance(error, CommandRejectedError) and not isinstance(error, UnsupportedCommandError)
        unsupported_percent = command.name in PERCENT_COMMANDS.values() and isinstance(error, UnsupportedCommandError)
        if not rejected_limit and not unsupported_percent and not self.sent:
            return error  # nothing changed: the client's own actionable message
        message = str(error)
        if unsupported_percent:
            message = (f"This firmware does not support the power percentage ({command.name} is unknown to it), so power_percent "
                       f"cannot be set on this miner; use power_limit or mining instead: {message}")
        if rejected_limit:
            watts = command.parameters["power_limit"]
            message = (
                f"The miner refused power_limit {watts} W (each model takes only its own range of watts; "
                f"{REMOVE_POWER_LIMIT} removes the limit): {message}"
            )
        if self.sent:
            message += f" Already applied before this failure: {self._sent_names()}."
        else:
            message += " Nothing was changed."
        miner = {"host": error.host, "port": error.port, "command": error.command, "code": error.code}
        return ModuleFailure(message, miner=miner, **self._details())

    def _timeout_failure(self, command: Command, expected: dict[str, Any], outcome: PollOutcome, lost_reply: WhatsminerError | None,
                         confirmed: bool) -> ModuleFailure:
        """The failure of a wait that ended without the wanted state.

        ``changed`` is true when the miner confirmed the command (it accepted the write, which may
        show later), when an earlier command was verified, when no read succeeded (unknown), or
        when the miner shows other settings than before.
        """
        if confirmed:
            what = (f"accepted {command.name} (it confirmed the command), but did not show the wanted state within wait_timeout "
                    f"({self.wait_timeout:g} s): the write was accepted but is not seen yet, so the task reports a change")
        else:
            what = f"did not show the wanted state within wait_timeout ({self.wait_timeout:g} s) after {command.name}"
        message = (
            f"{self.miner_name()} {what}. Sent: {self._sent_names()}. Wanted: {describe(expected)}. "
            f"Last seen: {self._seen(outcome.last_value)}. Last error: {outcome.last_error or 'none'}. "
        )
        if lost_reply is not None:
            message += f"The reply to {command.name} was lost, so it may not have run: {lost_reply} "
        message += ("Run the task again once the miner has applied the change (it then reports ok), raise wait_timeout if btminer "
                    "needs longer to restart on this miner, otherwise check the miner (pools, hashboards, power).")
        last_seen = self.settings(outcome.last_value)
        changed = (confirmed or len(self.sent) > 1 or last_seen is None or self.before is None
                   or last_seen != self.settings(self.before))
        return ModuleFailure(message, **self._details(wanted=dict(expected), last_seen=last_seen, changed=changed))


# ---------------------------------------------------------------------------------------------
# The whole module run


@dataclass
class PowerPlan:
    """What one read of a miner decided: the task (its client and clocks), the settings read and the commands to send."""

    task: PowerTask
    before: Observation
    commands: list[Command]
    percent: bool


def plan_power(client: Session, params: dict, **task_options: Any) -> PowerPlan:
    """Read the miner once and plan the commands that bring it to ``params`` (sends nothing)."""
    validate_power_params(params)
    client.accept_truncated = False  # never decide from a cut-off summary or status
    task = PowerTask(client, wanted_settings(params), wait=params.get("wait", True), wait_timeout=params.get("wait_timeout", 300.0), **task_options)
    before = task.read_current()
    try:
        commands = plan_commands(before, task.wanted, percent_mode=params.get("power_percent_mode") or "fast",
                                 send_unreadable_percent=params.get("power_percent_unreadable") == "send")
    except ModuleFailure as failure:
        raise ModuleFailure(f"{task.miner_name()}: {failure.message}", **{"before": task.settings(before), **failure.details}) from None
    return PowerPlan(task, before, commands, "power_percent" in task.wanted)


def finish_power(plan: PowerPlan, check_mode: bool, diff: bool) -> dict:
    """The result of whatsminer_power from ``plan``: the prediction in check mode (nothing sent), else sent and read back.

    A plan may be finished in check mode first (a prediction) and then for real: the check run
    leaves the plan as it was.
    """
    observation = plan.task.apply(plan.commands) if plan.commands and not check_mode else None
    return power_result(plan, observation, check_mode, diff)


def power_result(plan: PowerPlan, observation: Observation | None, check_mode: bool, diff: bool) -> dict:
    """The module result of ``plan``, given the observation read back after its commands (``None``: not read back)."""
    task, before, commands, percent = plan.task, plan.before, plan.commands, plan.percent
    after = task.settings(before)
    verified = True
    uncertain: list[str] = []
    warnings: list[str] = []
    unverifiable = [command for command in commands if not command.verifiable]
    if unverifiable and not check_mode:
        warnings.append(f"{task.miner_name()}: the firmware does not report its power percentage, so {unverifiable[0].name} "
                        f"percent={unverifiable[0].parameters['percent']} was sent without a way to verify it "
                        "(power_percent_unreadable=send): the task reports changed on every run")
    if commands and check_mode:
        after, verified = predicted_settings(before, commands, percent), False
        uncertain = uncertainties(before, commands)
        if before.max_power_limit_w is None:  # the range of watts is unknown: say so where it shows
            warnings.extend(f"{task.miner_name()}: check mode cannot know: {note}" for note in uncertain)
    elif commands:
        if observation is None or unverifiable:
            after, verified = predicted_settings(before, commands, percent), False
        else:
            after = observation.settings(percent)
    result = {
        "changed": bool(commands),
        "before": task.settings(before),
        "after": after,
        "commands": [command.as_result() for command in commands],
        "verified": verified,
    }
    if check_mode:
        result["uncertain"] = uncertain
    warnings = task.warnings + warnings
    if warnings:
        result["warnings"] = warnings
    if diff:
        result["diff"] = {"before": task.settings(before), "after": dict(after)}
    result["power_w"] = {"before": before.power_w, "after": observation_power(task, commands, check_mode), "limit": before.effective_limit_w}
    return result


def manage_power(client: Session, params: dict, check_mode: bool, diff: bool, **task_options: Any) -> dict:
    """The result of whatsminer_power for one miner (``task_options``: ``clock``/``sleep`` for tests)."""
    return finish_power(plan_power(client, params, **task_options), check_mode, diff)


def observation_power(task: PowerTask, commands: list[Command], check_mode: bool) -> int | None:
    """The draw (W) the miner reported at the last read: ``None`` after commands that were not read back (check mode, wait=false)."""
    if not commands:
        return task.before.power_w if task.before else None
    return None if check_mode else task.last_power_w


# ---------------------------------------------------------------------------------------------
# The module: its own options (the connection options are added) and its logic


ARGUMENT_SPEC = {
    "mining": {"type": "bool"},
    "mode": {"type": "str", "choices": list(MODE_COMMANDS)},
    "power_limit": {"type": "int"},
    "power_percent": {"type": "int"},
    "power_percent_mode": {"type": "str", "choices": list(PERCENT_COMMANDS), "default": "fast"},
    "power_percent_unreadable": {"type": "str", "choices": list(UNREADABLE_PERCENT_CHOICES), "default": "fail"},
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "float", "default": 300.0},
}


def logic(client: Session, params: dict, check_mode: bool, diff: bool) -> dict:
    """Bring mining, power mode, power limit and power percent to the wanted state (or predict it in check mode)."""
    return manage_power(client, params, check_mode, diff)
