# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter desired_state_problems: the role's variables checked with the modules' own rules."""

from __future__ import annotations

DOCUMENTATION = r"""
name: desired_state_problems
author: hashfarm maintainers (@hashfarm)
version_added: 0.1.0
short_description: What is wrong with a miner's desired state, by the modules' own rules
description:
  - Checks the variables of the role C(hashfarm.whatsminer.whatsminer) for one miner with the
    validation of the modules themselves (the connection options of every module,
    M(hashfarm.whatsminer.whatsminer_pools), M(hashfarm.whatsminer.whatsminer_power) and
    M(hashfarm.whatsminer.whatsminer_settings)), so that
    the role's pre-check and C(hashfarm.whatsminer.validate) reject exactly what the modules would
    reject, before any miner is contacted. Contacts no miner and imports no crypto library.
  - Returns one message per problem, naming the variable (and the pool slot and field) and what is
    wrong. A message never quotes a password or a pool URL, which may hold credentials.
positional: _input
options:
  _input:
    description:
      - The role's variables of one miner, by name (C(whatsminer_host), C(whatsminer_port),
        C(whatsminer_password), C(whatsminer_timeout), C(whatsminer_retries),
        C(whatsminer_api_version), C(whatsminer_api3_port), C(whatsminer_api3_account),
        C(whatsminer_pools), C(whatsminer_pool_update_password), C(whatsminer_mining),
        C(whatsminer_power_mode), C(whatsminer_power_limit_w), C(whatsminer_power_wait_timeout),
        C(whatsminer_batch_pause_s)), and the device settings of M(hashfarm.whatsminer.whatsminer_settings)
        (C(whatsminer_hostname), C(whatsminer_timezone), C(whatsminer_timezone_posix), C(whatsminer_ntp_servers),
        C(whatsminer_led), C(whatsminer_led_pattern), C(whatsminer_fast_boot), C(whatsminer_web_pools),
        C(whatsminer_temperature_offset), C(whatsminer_fan_poweroff_cool), C(whatsminer_fan_zero_speed),
        C(whatsminer_upfreq_speed), C(whatsminer_settings_update_unverifiable), C(whatsminer_settings_wait_timeout)).
      - A variable that is left out or V(null) is not checked (the modules' default applies); an
        empty C(whatsminer_pools) means the pools are not managed.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Stop unless the desired state of the miner is right
  vars:
    problems: >-
      {{ {'whatsminer_host': whatsminer_host, 'whatsminer_port': whatsminer_port,
          'whatsminer_pools': whatsminer_pools} | hashfarm.whatsminer.desired_state_problems }}
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ inventory_hostname }}: {{ problems | join('; ') }}"
"""

RETURN = r"""
_value:
  description: One message per problem, for example C(whatsminer_port must be between 1 and 65535, got 0); empty when all is right.
  type: list
  elements: str
"""

from typing import Any

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _pools, _power, _settings
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._connection_options import connection_argument_spec, validate_connection_params
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure

# Role variable -> module option, as roles/whatsminer/tasks/main.yml passes them.
CONNECTION_OPTIONS = {
    "whatsminer_host": "host",
    "whatsminer_port": "port",
    "whatsminer_password": "password",
    "whatsminer_timeout": "timeout",
    "whatsminer_retries": "retries",
    "whatsminer_api_version": "api_version",
    "whatsminer_api3_port": "api3_port",
    "whatsminer_api3_account": "api3_account",
}
POOLS_OPTIONS = {"whatsminer_pools": "pools", "whatsminer_pool_update_password": "update_password"}
POWER_OPTIONS = {
    "whatsminer_mining": "mining",
    "whatsminer_power_mode": "mode",
    "whatsminer_power_limit_w": "power_limit",
    "whatsminer_power_wait_timeout": "wait_timeout",
}
SETTINGS_OPTIONS = {f"whatsminer_{option}": option for option in _settings.OPTIONS + ("timezone_posix", "led_pattern")}
SETTINGS_OPTIONS.update({"whatsminer_settings_update_unverifiable": "update_unverifiable", "whatsminer_settings_wait_timeout": "wait_timeout"})
# Options whose values are secrets or may hold them (a pool URL with user:password@): never quoted.
SECRET_OPTIONS = frozenset({"password", "pools"})
SECRET_SHAPES = {
    "password": "must be a string",
    "pools": "must be a list of 1 to 3 pools, each a dictionary of url, user and (optional) password",
}
# A valid stand-in for the options that are not being checked, so that each option is checked on its own.
_PLACEHOLDER_HOST = "192.0.2.1"


def _named(variable: str, option: str, message: str) -> str:
    """A module's message about ``option`` reworded to name the role variable instead."""
    if message.startswith(option + " "):
        return variable + message[len(option):]
    return f"{variable}: {message}"


def _typed(spec: dict, variables: dict, names: dict[str, str]) -> tuple[dict, list[str]]:
    """The options given, converted to the modules' types by the modules' own argument spec, and the type problems.

    An option of the wrong type or not among its choices is left out of the options returned.
    """
    params: dict = {}
    problems: list[str] = []
    for variable, option in names.items():
        if variables.get(variable) is None:
            continue
        validation = ArgumentSpecValidator({option: spec[option]}).validate({option: variables[variable]})
        if not validation.error_messages:
            params[option] = validation.validated_parameters[option]
        elif option in SECRET_OPTIONS:
            problems.append(f"{variable}: {SECRET_SHAPES[option]} (what was given is not shown: it may hold a secret)")
        else:
            problems.append(f"{variable}: " + "; ".join(validation.error_messages))
    return params, problems


def _connection_problems(variables: dict) -> list[str]:
    spec = connection_argument_spec()
    params, problems = _typed(spec, variables, CONNECTION_OPTIONS)
    defaults = ArgumentSpecValidator(spec).validate({"host": _PLACEHOLDER_HOST}).validated_parameters
    if params.get("password") == "":
        params.pop("password")  # the role leaves an empty password out (the modules then read WHATSMINER_PASSWORD)
    for variable, option in CONNECTION_OPTIONS.items():
        if option not in params:
            continue
        try:
            validate_connection_params(dict(defaults, **{option: params[option]}))
        except ModuleFailure as failure:
            problems.append(_named(variable, option, failure.message))
    return problems


def _pools_problems(variables: dict) -> list[str]:
    if not variables.get("whatsminer_pools"):
        return []  # not managed
    params, problems = _typed(_pools.ARGUMENT_SPEC, variables, POOLS_OPTIONS)
    if "pools" in params:
        try:
            _pools.validate_pools(params["pools"])
        except ModuleFailure as failure:
            for problem in failure.details.get("validation_errors", [failure.message]):
                problems.append("whatsminer_pools: " + (problem[len("pools: "):] if problem.startswith("pools: ") else problem))
    return problems


def _power_problems(variables: dict) -> list[str]:
    params, problems = _typed(_power.ARGUMENT_SPEC, variables, POWER_OPTIONS)
    for variable, option in POWER_OPTIONS.items():
        if option not in params:
            continue
        checked = {option: params[option]} if option != "wait_timeout" else {"mining": True, option: params[option]}
        try:
            _power.validate_power_params(checked)
        except ModuleFailure as failure:
            problems.append(_named(variable, option, failure.message))
    return problems


def _settings_problems(variables: dict) -> list[str]:
    """The device settings (whatsminer_settings), checked by the module's own rules (settings_problems)."""
    params, problems = _typed(_settings.ARGUMENT_SPEC, variables, SETTINGS_OPTIONS)
    options = {option: variable for variable, option in SETTINGS_OPTIONS.items()}
    for problem in _settings.settings_problems(params):
        option = next((name for name in sorted(options, key=len, reverse=True) if problem.startswith(name)), None)
        problems.append(_named(options[option], option, problem) if option else f"whatsminer settings: {problem}")
    wait_timeout = params.get("wait_timeout")
    if wait_timeout is not None and not 0 < wait_timeout <= _settings.MAX_WAIT_TIMEOUT:
        problems.append(f"whatsminer_settings_wait_timeout must be more than 0 and at most {_settings.MAX_WAIT_TIMEOUT:g} seconds, got {wait_timeout:g}")
    return problems


def _role_problems(variables: dict) -> list[str]:
    """The role's own variables, which no module takes."""
    pause = variables.get("whatsminer_batch_pause_s")
    if pause is not None and (isinstance(pause, bool) or not isinstance(pause, (int, float, str)) or not str(pause).strip().isdigit()):
        return [f"whatsminer_batch_pause_s must be a whole number of seconds, 0 or more, got {str(pause)[:20]}"]
    return []


def desired_state_problems(variables: Any) -> list[str]:
    """Every problem of one miner's role variables, by the modules' own validation; never quotes a secret."""
    if not isinstance(variables, dict):
        raise AnsibleFilterError(f"desired_state_problems expects a dictionary of the role's variables, got {type(variables).__name__}")
    return (_connection_problems(variables) + _pools_problems(variables) + _power_problems(variables) + _settings_problems(variables)
            + _role_problems(variables))


class FilterModule:
    """The filter of this file."""

    def filters(self) -> dict:
        return {"desired_state_problems": desired_state_problems}
