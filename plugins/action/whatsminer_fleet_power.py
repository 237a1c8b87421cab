# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of whatsminer_fleet_power: one task that curtails or resumes every miner of the play from the controller.

Documented by the module stub of the same name. Runs once per play batch (``BYPASS_HOST_LOOP``,
like ``run_once``) and reads each miner's connection values from its inventory (hostvars); the
work is ``plugin_utils/_fleet_power.py``, built on whatsminer_power's own logic.
"""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _fleet_options
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol import crypto
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils import _fleet_power
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._in_process import validate_arguments

# Writes need md5-crypt (API 2): import passlib once, in the controller's main process (see _protocol/crypto.py).
crypto.preload_md5_crypt()

#: Inventory variable of each connection option (the role's names); ``host`` is ``ansible_host``.
HOST_VARIABLES = {
    "host": "ansible_host",
    "port": "whatsminer_port",
    "api_version": "whatsminer_api_version",
    "api3_port": "whatsminer_api3_port",
    "api3_account": "whatsminer_api3_account",
    "password": "whatsminer_password",
}
FACT = "whatsminer_fleet_power"


class ActionModule(ActionBase):
    """Curtail or resume the miners of the play batch at once (see the module documentation)."""

    BYPASS_HOST_LOOP = True
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        validated = validate_arguments(_fleet_options.ARGUMENT_SPEC, dict(self._task.args), self._task.action)
        if validated.error is not None:
            return {**result, "failed": True, "msg": validated.error}
        options = validated.params
        try:
            _fleet_options.validate_options(options)
        except ModuleFailure as failure:
            return {**result, "failed": True, "msg": failure.message}
        names = options.get("hosts") or list(task_vars.get("ansible_play_batch") or [])
        if not names:
            return {**result, "failed": True, "msg": "No miners to act on: the play batch is empty and no hosts were given"}
        hostvars = task_vars.get("hostvars") or {}
        unknown = [name for name in names if name not in hostvars]
        if unknown:
            return {**result, "failed": True, "msg": f"hosts names hosts that are not in the inventory: {', '.join(unknown)}; nothing was sent"}
        variables = {name: hostvars[name] for name in names}
        draws = previous_draws(variables)
        miners = [self._miner(name, variables[name], options, draws.get(name)) for name in names]
        fields = _fleet_power.FleetPower(miners, options, check_mode=bool(self._task.check_mode)).run()
        return {**result, **fields}

    def _value(self, variables: t.Any, name: str) -> t.Any:
        """A host's variable, templated (hostvars may hold templates, such as a vaulted password's variable)."""
        value = variables.get(name) if hasattr(variables, "get") else None
        if isinstance(value, str) and "{{" in value:
            value = self._templar.template(value)
        return value

    def _miner(self, name: str, variables: t.Any, options: dict, previous_draw_w: int | None) -> _fleet_power.Miner:
        connection = {option: self._value(variables, variable) for option, variable in HOST_VARIABLES.items()}
        connection["host"] = connection["host"] or name
        return _fleet_power.build_miner(name, connection, options, previous_draw_w)


def fleet_fact(variables: t.Any) -> dict | None:
    """The ``whatsminer_fleet_power`` fact among a host's variables (top-level, or under ``ansible_facts``), if any."""
    fact = variables.get(FACT) if hasattr(variables, "get") else None
    if not isinstance(fact, dict):
        facts = variables.get("ansible_facts") if hasattr(variables, "get") else None
        fact = facts.get(FACT) if isinstance(facts, dict) else None
    return fact if isinstance(fact, dict) else None


def previous_draws(variables: dict[str, t.Any]) -> dict[str, int]:
    """Each miner's draw before a curtailment by this action earlier in the run or, with a fact cache, in an earlier run.

    The task runs once for the batch, so Ansible sets its fact on the host it ran for (the first
    of the batch), not on every host; the fact names every miner. The hosts are searched in order
    until every miner is covered. A miner that was already curtailed then has no draw from it
    (its draw was the curtailed one).
    """
    draws: dict[str, int] = {}
    covered: set[str] = set()
    for variables_of_host in variables.values():
        fact = fleet_fact(variables_of_host)
        if fact is None or fact.get("state") != "curtailed" or not isinstance(fact.get("miners"), dict):
            continue
        for name, outcome in fact["miners"].items():
            if name in covered or not isinstance(outcome, dict):
                continue
            covered.add(name)
            draw = (outcome.get("power_w") or {}).get("before")
            if outcome.get("changed") and isinstance(draw, int) and draw > 0:
                draws[name] = draw
        if covered.issuperset(variables):
            break
    return draws
