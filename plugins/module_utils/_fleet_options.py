# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of whatsminer_fleet_power, defined once: the action plugin validates them, the module stub documents them.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""

from __future__ import annotations

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _power
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._connection_options import connection_argument_spec
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure

STATES = ("curtailed", "resumed")
METHODS = ("stop", "percent")
#: The draw assumed for a miner that reports neither a draw before curtailment nor a power limit.
DEFAULT_EXPECTED_DRAW_W = 3500
MAX_CONCURRENCY = 512
MAX_DEADLINE_S = 3600.0

#: The whatsminer_fleet_power options (its own; the connection options come from each host).
ARGUMENT_SPEC = {
    "state": {"type": "str", "required": True, "choices": list(STATES)},
    "method": {"type": "str", "default": "stop", "choices": list(METHODS)},
    "percent": {"type": "int", "default": 10},
    "power_percent_mode": {"type": "str", "default": "fast", "choices": list(_power.PERCENT_COMMANDS)},
    "power_percent_unreadable": {"type": "str", "default": "fail", "choices": list(_power.UNREADABLE_PERCENT_CHOICES)},
    "deadline": {"type": "float", "default": 60.0},
    "concurrency": {"type": "int", "default": 50},
    "ramp_kw_per_minute": {"type": "float"},
    "ramp_miners_per_step": {"type": "int"},
    "ramp_step_seconds": {"type": "float", "default": 10.0},
    "default_draw_w": {"type": "int", "default": DEFAULT_EXPECTED_DRAW_W},
    "verify": {"type": "bool", "default": True},
    "fail_on_noncompliance": {"type": "bool", "default": True},
    "hosts": {"type": "list", "elements": "str"},
}
# The connection options of the action group: defaults for every miner whose inventory does not set
# its own value; ``host`` is accepted (module_defaults of the group set it) but each miner's address
# comes from its inventory. Fewer retries than the per-host modules: a fleet action must not wait out
# a dead miner three times.
ARGUMENT_SPEC.update({name: dict(spec) for name, spec in connection_argument_spec().items()})
ARGUMENT_SPEC["host"] = {"type": "str"}
ARGUMENT_SPEC["retries"] = {"type": "int", "default": 1}


def validate_options(options: dict) -> None:
    """Reject options no fleet can take, before any miner is contacted."""
    if not 0 < options["deadline"] <= MAX_DEADLINE_S:
        raise ModuleFailure(f"deadline must be more than 0 and at most {MAX_DEADLINE_S:g} seconds, got {options['deadline']:g}")
    if not 1 <= options["concurrency"] <= MAX_CONCURRENCY:
        raise ModuleFailure(f"concurrency must be between 1 and {MAX_CONCURRENCY}, got {options['concurrency']}")
    if options["method"] == "percent" and not _power.MIN_POWER_PERCENT <= options["percent"] < _power.MAX_POWER_PERCENT:
        raise ModuleFailure(f"percent (the share of power a curtailed miner keeps) must be between 1 and 99, got {options['percent']}")
    ramps = [name for name in ("ramp_kw_per_minute", "ramp_miners_per_step") if options.get(name) is not None]
    if len(ramps) > 1:
        raise ModuleFailure("Give at most one of ramp_kw_per_minute and ramp_miners_per_step")
    if ramps and options["state"] != "resumed":
        raise ModuleFailure(f"{ramps[0]} limits how fast the load comes back, so it applies to state=resumed only")
    if options.get("ramp_kw_per_minute") is not None and not options["ramp_kw_per_minute"] > 0:
        raise ModuleFailure(f"ramp_kw_per_minute must be more than 0, got {options['ramp_kw_per_minute']:g}")
    if options.get("ramp_miners_per_step") is not None and options["ramp_miners_per_step"] < 1:
        raise ModuleFailure(f"ramp_miners_per_step must be at least 1, got {options['ramp_miners_per_step']}")
    if not options["ramp_step_seconds"] > 0:
        raise ModuleFailure(f"ramp_step_seconds must be more than 0, got {options['ramp_step_seconds']:g}")
    if options["default_draw_w"] < 1:
        raise ModuleFailure(f"default_draw_w must be a positive number of watts, got {options['default_draw_w']}")
