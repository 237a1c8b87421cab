# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Curtail or resume every miner of a play from one task: the logic of the whatsminer_fleet_power action.

Note that this plugin util is PRIVATE to the collection. It can have breaking changes at any time.

Each miner is handled by whatsminer_power's own logic (``_power.plan_power``, ``_power.power_result``
and ``PowerTask``, on one session per miner, so the API is chosen once): the same reads, plan,
commands, read-back and messages. This module adds only what a fleet needs:

1. **Plan.** Every miner is read once and planned (``plan_power``: reads only), ``concurrency``
   miners at a time. A miner that already is in the wanted state is not commanded (an
   already-curtailed fleet reports no change); a miner that cannot be read or planned fails on
   its own. The plan is kept: the command later needs no second read.
2. **Schedule.** Curtailing commands every miner at once. Resuming follows the ramp limit (see
   ``ramp_schedule``): with ``ramp_kw_per_minute`` each miner is commanded once the fleet's draw
   increase so far, spread over each miner's boot ramp, leaves room under ``limit * t``; with
   ``ramp_miners_per_step`` a step of that many miners every ``ramp_step_seconds``. The expected
   increase of a miner is its expected draw when hashing (``expected_draw_w``) minus its draw now.
3. **Command.** Each scheduled miner's planned commands are sent in a worker thread, bounded by
   the ``deadline`` (its wait and every request get only the time left). A miner whose turn comes
   after the deadline is not commanded and is named in ``not_complied``.
4. **Read back.** Once every scheduled miner was commanded, each commanded miner is read back
   (whatsminer_power's wait until the miner shows the sent settings), so no read-back takes a
   worker or the CPU from a command; the result is built from it as whatsminer_power builds its own.

Check mode plans and schedules only: nothing is written, and each miner's prediction is exact
(``manage_power``'s own check mode). ``clock`` and ``sleep`` are injectable for tests.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _power
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._connection_options import (
    client_from_params,
    module_argument_spec,
    validate_connection_params,
)
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import WhatsminerError
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._runner import failure_result
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import Session
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._in_process import validate_arguments


def power_params(options: dict) -> dict:
    """The whatsminer_power options that bring one miner to the wanted fleet state."""
    curtail = options["state"] == "curtailed"
    params: dict[str, Any] = {"wait": options["verify"], "wait_timeout": options["deadline"]}
    if options["method"] == "stop":
        params["mining"] = not curtail
    else:
        params.update(power_percent=options["percent"] if curtail else _power.MAX_POWER_PERCENT,
                      power_percent_mode=options["power_percent_mode"], power_percent_unreadable=options["power_percent_unreadable"])
    return params


@dataclass
class Miner:
    """One miner of the fleet: its inventory name, its whatsminer_power arguments and what happened to it."""

    name: str
    params: dict
    previous_draw_w: int | None = None
    expected_draw_w: int | None = None
    plan: dict | None = None
    result: dict | None = None
    commanded_at_s: float | None = None
    scheduled_at_s: float | None = None
    error: str | None = None
    details: dict = field(default_factory=dict)
    client: Session | None = None
    power_plan: _power.PowerPlan | None = None
    sent: bool = False
    sent_observation: _power.Observation | None = None

    @property
    def changing(self) -> bool:
        """Whether the plan needs commands."""
        return bool(self.plan and self.plan.get("changed"))

    def draw_increase_w(self) -> float:
        """The draw the miner adds once resumed: its expected draw when hashing minus its draw now."""
        before = ((self.plan or {}).get("power_w") or {}).get("before") or 0
        return max(0.0, float(self.expected_draw_w or 0) - float(before))

    def outcome(self, check_mode: bool) -> dict:
        """The per-miner result: changed, failed, message, settings and draw before and after."""
        source = self.result if self.result is not None else self.plan or {}
        failed = self.error is not None
        if self.result is not None:
            changed = bool(self.result.get("changed"))
        elif check_mode and not failed:
            changed = self.changing
        else:
            changed = bool(self.details.get("changed"))
        outcome = {
            "changed": changed,
            "failed": failed,
            "commands": source.get("commands", self.details.get("commands", [])),
            "before": source.get("before", self.details.get("before")),
            "after": source.get("after") if not failed else self.details.get("last_seen"),
            "power_w": {"before": (source.get("power_w") or {}).get("before"), "after": (source.get("power_w") or {}).get("after")},
            "verified": bool(source.get("verified")) and not failed,
        }
        if self.scheduled_at_s is not None:
            outcome["scheduled_at_s"] = round(self.scheduled_at_s, 3)
        if self.commanded_at_s is not None:
            outcome["commanded_at_s"] = round(self.commanded_at_s, 3)
        if failed:
            outcome["msg"] = self.error
        return outcome


def expected_draw(plan: dict, previous_draw_w: int | None, default_draw_w: int) -> int:
    """What a miner draws once hashing: its draw before the curtailment when known, else its power limit, else ``default_draw_w``."""
    if previous_draw_w:
        return int(previous_draw_w)
    limit = (plan.get("power_w") or {}).get("limit")
    return int(limit) if limit else default_draw_w


def ramp_schedule(increases_w: list[float], options: dict) -> list[float]:
    """Seconds after the start at which each miner (in order) may be commanded.

    ``ramp_kw_per_minute``: miner i at ``60 * sum(increases[0..i]) / (limit in W)``, so the
    committed increase at any time t is at most ``limit * t / 60``. ``ramp_miners_per_step``:
    step k (miners k*n .. k*n+n-1) at ``k * ramp_step_seconds``. Neither: all at 0.
    """
    if options.get("ramp_kw_per_minute"):
        watts_per_second = options["ramp_kw_per_minute"] * 1000.0 / 60.0
        times, committed = [], 0.0
        for increase in increases_w:
            committed += increase
            times.append(committed / watts_per_second)
        return times
    if options.get("ramp_miners_per_step"):
        step = options["ramp_miners_per_step"]
        return [(index // step) * options["ramp_step_seconds"] for index in range(len(increases_w))]
    return [0.0] * len(increases_w)


def build_miner(name: str, connection: dict, options: dict, previous_draw_w: int | None = None) -> Miner:
    """A miner from its connection values (host, port, api_version, api3_port, password...) and the fleet options.

    The arguments are validated with whatsminer_power's own argument spec; a miner whose values
    are invalid fails on its own, before anything is sent to it.
    """
    args = {key: value for key, value in connection.items() if value is not None and value != ""}
    args.update(power_params(options))
    for option in CONNECTION_DEFAULTS:  # the task's values (or the defaults) where the inventory has none
        if option not in args and options.get(option) is not None:
            args[option] = options[option]
    validated = validate_arguments(module_argument_spec(_power.ARGUMENT_SPEC), args, "whatsminer_fleet_power")
    miner = Miner(name, validated.params, previous_draw_w=previous_draw_w)
    if validated.error is not None:
        miner.error = f"{name}: invalid connection values in the inventory: {validated.error}; nothing was sent"
    return miner


#: The connection options a miner's inventory may set; the task's values apply where it does not.
CONNECTION_DEFAULTS = ("port", "api_version", "api3_port", "api3_account", "password", "timeout", "retries")


class FleetPower:
    """Plans, schedules and commands the miners of a fleet (see the module docstring)."""

    def __init__(self, miners: list[Miner], options: dict, *, check_mode: bool,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.miners = miners
        self.options = options
        self.check_mode = check_mode
        self.clock = clock
        self.sleep = sleep
        self.started = clock()
        self.deadline_at = self.started + options["deadline"]

    def left(self) -> float:
        """Seconds left until the deadline."""
        return self.deadline_at - self.clock()

    def _time_left(self, miner: Miner) -> float:
        """Seconds left for this miner; raises when the deadline passed before its turn."""
        left = self.left()
        if left <= 0:
            raise ModuleFailure(f"{miner.name}: the deadline ({self.options['deadline']:g} s) passed before this miner's turn; nothing was sent")
        return left

    def _read_and_plan(self, miner: Miner) -> dict:
        """Read the miner once and plan (whatsminer_power's logic); the check-mode prediction. Raises its typed errors."""
        left = self._time_left(miner)
        params = dict(miner.params, wait_timeout=max(0.001, min(miner.params.get("wait_timeout", left), left)))
        validate_connection_params(params)
        miner.client = client_from_params(params)  # one session for the read and the command: the API is chosen once
        with miner.client.time_limit(left):
            miner.power_plan = _power.plan_power(miner.client, params)
        return _power.finish_power(miner.power_plan, True, False)

    def _send_planned(self, miner: Miner) -> dict:
        """Send the planned commands (the wait after the last one is left to ``_read_back``). Raises its typed errors."""
        task = miner.power_plan.task
        left = self._time_left(miner)
        task.wait_timeout = max(0.001, min(miner.params.get("wait_timeout", left), left))
        with miner.client.time_limit(left):
            miner.sent_observation = task.apply(miner.power_plan.commands, last_wait_now=False)
        return {}

    def _read_back(self, miner: Miner) -> dict:
        """Wait until the miner shows what was sent (whatsminer_power's read-back), bounded by the deadline; its result."""
        task = miner.power_plan.task
        if task.pending is not None:
            left = self._time_left(miner)
            task.wait_timeout = max(0.001, min(miner.params.get("wait_timeout", left), left))
            with miner.client.time_limit(left):
                miner.sent_observation = task.wait_pending()
        return _power.power_result(miner.power_plan, miner.sent_observation, False, False)

    def _attempt(self, miner: Miner, step: Callable[[Miner], dict]) -> dict | None:
        """Run one step of one miner; on failure note the error on the miner and return ``None``."""
        try:
            return step(miner)
        except (WhatsminerError, ModuleFailure) as error:
            failure = failure_result(error)
            miner.error = f"{miner.name}: {failure.pop('msg')}"
            miner.details = failure
        except Exception as error:  # pylint: disable=broad-except  # one miner's bug must not stop the fleet
            miner.error = f"{miner.name}: unexpected error {type(error).__name__}: {error}"
        return None

    def plan(self, executor: ThreadPoolExecutor) -> None:
        """Read and plan every miner (reads only)."""
        plans = list(executor.map(lambda miner: None if miner.error else self._attempt(miner, self._read_and_plan), self.miners))
        for miner, plan in zip(self.miners, plans):
            miner.plan = plan

    def _command(self, miner: Miner) -> None:
        miner.commanded_at_s = self.clock() - self.started
        miner.sent = self._attempt(miner, self._send_planned) is not None

    def _finish(self, miner: Miner) -> None:
        miner.result = self._attempt(miner, self._read_back)

    def run(self) -> dict:
        """Plan, schedule, command (outside check mode), read back; the task result fields."""
        with ThreadPoolExecutor(max_workers=self.options["concurrency"], thread_name_prefix="whatsminer-fleet") as executor:
            self.plan(executor)
            changing = [miner for miner in self.miners if miner.error is None and miner.changing]
            for miner in changing:
                miner.expected_draw_w = expected_draw(miner.plan, miner.previous_draw_w, self.options["default_draw_w"])
            planned = self.clock() - self.started  # the ramp starts when the commands can start, not while the fleet is read
            offsets = ramp_schedule([miner.draw_increase_w() for miner in changing], self.options)
            for miner, offset in zip(changing, offsets):
                miner.scheduled_at_s = planned + offset
            if not self.check_mode:
                commands = []
                for miner in changing:
                    if self.started + miner.scheduled_at_s >= self.deadline_at:
                        miner.error = (f"{miner.name}: not commanded: its turn in the ramp ({miner.scheduled_at_s:.1f} s) comes after the "
                                       f"deadline ({self.options['deadline']:g} s); raise the deadline or the ramp limit")
                        continue
                    wait = self.started + miner.scheduled_at_s - self.clock()
                    if wait > 0:
                        self.sleep(wait)
                    commands.append(executor.submit(self._command, miner))
                for future in commands:
                    future.result()
                # Every miner is commanded before the first read-back takes a worker (or the CPU).
                sent = [miner for miner in changing if miner.sent]
                list(executor.map(self._finish, sent))
        return self.result()

    def result(self) -> dict:
        """The task's result fields and the fact."""
        outcomes = {miner.name: miner.outcome(self.check_mode) for miner in self.miners}
        not_complied = [name for name, outcome in outcomes.items() if outcome["failed"]]
        draws_before = [outcome["power_w"]["before"] for outcome in outcomes.values()]
        draws_after = [outcome["power_w"]["after"] for outcome in outcomes.values()]
        summary = {
            "state": self.options["state"],
            "method": self.options["method"],
            "miners": outcomes,
            "not_complied": not_complied,
            "changed_miners": [name for name, outcome in outcomes.items() if outcome["changed"]],
            "draw_w": {"before": sum(draw for draw in draws_before if draw), "after": None if None in draws_after else sum(draws_after)},
            "elapsed_s": round(self.clock() - self.started, 3),
        }
        fields: dict[str, Any] = {"changed": bool(summary["changed_miners"]), **summary}
        if not_complied and self.options["fail_on_noncompliance"]:
            fields["failed"] = True
            fields["msg"] = (f"{len(not_complied)} of {len(self.miners)} miners did not reach state={self.options['state']}: "
                             f"{', '.join(not_complied)}. Each one's reason is in miners.<name>.msg; the other miners were handled.")
        fields["ansible_facts"] = {"whatsminer_fleet_power": summary}
        return fields
