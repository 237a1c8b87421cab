# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's logic in the controller's worker process, with the result the module would return.

Note that this plugin util is PRIVATE to the collection. It can have breaking changes at any time.

The modules of this collection only talk to miners over TCP, and they normally run on the
controller (``ansible_connection: local``). Started as modules, every task costs a Python
interpreter, the module payload and its imports (about 170 ms of CPU per host and task); the
miner protocol itself costs 1 to 2 ms. So each module has an action plugin of the same name,
built on ``InProcessModuleAction``: when the task runs on the controller, the action runs the
module's own ``logic`` (the same ``ARGUMENT_SPEC`` and ``logic`` objects from module_utils that
the module file runs) in the worker process, and builds the result the way ``AnsibleModule`` does:

* arguments travel through the module JSON profile both ways, as they do to and from a module;
* the arguments are validated by ``ArgumentSpecValidator`` with the module's exact argument spec
  (the connection options and their environment fallbacks included, the task's ``environment``
  applied), and invalid ones fail with the text ``AnsibleModule`` gives;
* check mode and diff mode come from the task, as ``_ansible_check_mode``/``_ansible_diff`` do;
* every ``no_log`` value is masked in the whole result with ``remove_values``, top-level booleans
  and nulls are kept, ``invocation.module_args`` is added (from ansible-core 2.21 only when the
  ``INJECT_INVOCATION`` setting asks for it, as modules do), warnings are returned unmasked (as
  ``AnsibleModule`` returns them), and typed errors become the same failure fields
  (``_runner.failure_result``).

The few ansible-core internals this needs are behind ``_ansible_compat.py``.

Which way a task runs is ``choose_path``: the module runs normally (``_execute_module``) when the
task runs on another host (``delegate_to`` a jump host whose connection is not ``local``), with
``become`` or ``async``, or when the variable ``whatsminer_execution`` is ``module``.
"""

from __future__ import annotations

import contextlib
import json
import os
import traceback
import typing as t
from dataclasses import dataclass

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.json import Direction, get_module_decoder, get_module_encoder
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._connection_options import module_argument_spec
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import WhatsminerError
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._runner import Logic, execute, failure_result
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._ansible_compat import as_module_result, inject_invocation, no_log_values

display = Display()

#: The variable (host, group, play, task or extra var) that chooses how the modules run.
EXECUTION_VARIABLE = "whatsminer_execution"
#: ``auto``: in the worker when the task runs on the controller, else as a module; ``module``: always as a module.
AUTO = "auto"
MODULE = "module"
EXECUTION_CHOICES = (AUTO, MODULE)
#: The path that runs the logic in the controller's worker process.
IN_PROCESS = "in_process"
#: The serialization profile Ansible uses for modules without metadata, such as this collection's.
MODULE_JSON_PROFILE = "legacy"
#: The JSON encoder and decoder of that profile for each direction. Resolved when the plugin is
#: loaded, which happens in the controller's main process before it forks the task workers, so
#: that no worker imports and looks up the profile modules again (about 1 ms a task).
MODULE_JSON_CODECS = {
    direction: (get_module_encoder(MODULE_JSON_PROFILE, direction), get_module_decoder(MODULE_JSON_PROFILE, direction))
    for direction in Direction
}


class ExecutionChoiceError(ValueError):
    """``whatsminer_execution`` has a value that is not one of ``EXECUTION_CHOICES``."""


@dataclass(frozen=True)
class PathDecision:
    """How a task runs: ``path`` is ``IN_PROCESS`` or ``MODULE``; ``reason`` says why (shown with -vvv)."""

    path: str
    reason: str


def choose_path(execution: t.Any, *, local_connection: bool, become: bool, run_async: bool) -> PathDecision:
    """Decide whether a task runs in the controller's worker or as a module.

    Args:
        execution: The value of ``whatsminer_execution`` (``None`` when not set: ``auto``).
        local_connection: The task's connection (the delegated host's, with ``delegate_to``) is
            the ``local`` connection, i.e. the module would run on the controller.
        become: The task uses privilege escalation (the module would run as another user).
        run_async: The task runs asynchronously (``async``), which only modules can do.

    Raises:
        ExecutionChoiceError: ``execution`` is not ``auto`` or ``module``.
    """
    choice = AUTO if execution is None else str(execution).strip().lower()
    if choice not in EXECUTION_CHOICES:
        raise ExecutionChoiceError(f"{EXECUTION_VARIABLE} must be one of {', '.join(EXECUTION_CHOICES)}, got {execution!r}")
    if choice == MODULE:
        return PathDecision(MODULE, f"{EXECUTION_VARIABLE} is {MODULE}")
    if not local_connection:
        return PathDecision(MODULE, "the task runs on a host whose connection is not local (delegate_to)")
    if become:
        return PathDecision(MODULE, "the task uses become")
    if run_async:
        return PathDecision(MODULE, "the task is async")
    return PathDecision(IN_PROCESS, "the task runs on the controller (local connection)")


# ---------------------------------------------------------------------------------------------
# What AnsibleModule does around a module's logic, for the in-process path


def through_module_json(value: t.Any, direction: Direction) -> t.Any:
    """``value`` after the JSON trip it makes to a module (arguments) or back (results).

    Tuples become lists, tagged strings plain ones, dictionary keys strings, and a result's
    strings are as untrusted as a module's.
    """
    encoder, decoder = MODULE_JSON_CODECS[direction]
    return json.loads(json.dumps(value, cls=encoder), cls=decoder)


@contextlib.contextmanager
def environment(variables: dict[str, str]) -> t.Iterator[None]:
    """Apply ``variables`` to ``os.environ`` for the block: the environment the module's process would have."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update({name: str(value) for name, value in variables.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass
class ValidatedArguments:
    """Module arguments after validation, as ``AnsibleModule`` keeps them.

    Attributes:
        params: The arguments updated with the validated ones (defaults, fallbacks, types), also
            when validation failed: what ``invocation.module_args`` shows.
        no_log_values: Every value of a ``no_log`` option, to mask in the whole result.
        error: The message ``AnsibleModule`` fails with, ``None`` when the arguments are valid.
    """

    params: dict
    no_log_values: set
    error: str | None


def validate_arguments(argument_spec: dict, args: dict, module_name: str) -> ValidatedArguments:
    """Validate module arguments exactly as ``AnsibleModule.__init__`` does (no aliases or deprecations are involved)."""
    validation = ArgumentSpecValidator(argument_spec).validate(args)
    params = dict(args)
    params.update(validation.validated_parameters)
    error = None
    if validation.error_messages:
        error = validation.errors.msg
        if isinstance(validation.errors[0], UnsupportedError):
            error = f"Unsupported parameters for ({module_name}) module: {error}"
    return ValidatedArguments(params, no_log_values(validation), error)


def error_tracebacks_enabled() -> bool:
    """Whether the controller's DISPLAY_TRACEBACK setting asks for tracebacks of errors (modules get it as ``_ansible_tracebacks_for``)."""
    flags = {str(value) for value in C.config.get_config_value("DISPLAY_TRACEBACK") or ()}
    return "always" in flags or ("never" not in flags and "error" in flags)


def run_logic(logic: Logic, params: dict, check_mode: bool, diff: bool) -> tuple[dict, list[str]]:
    """Run a module's logic the way ``_runner.run_module`` does: the result fields and the warnings.

    A failure is ``failed``, ``msg`` and the error's extra fields (``failure_result``). The
    ``exception`` text is kept only when the controller shows tracebacks of errors, as a module
    returns it only then.
    """
    try:
        result = execute(logic, params, check_mode, diff)
    except (WhatsminerError, ModuleFailure) as error:
        failure = failure_result(error)
        exception = failure.pop("exception", None)
        if error_tracebacks_enabled():
            failure["exception"] = exception or traceback.format_exc()
        return {"failed": True, **failure}, []
    return result, result.pop("warnings")


def module_result(fields: dict, params: dict, hidden: set, warnings: list[str], *, invocation: bool = True) -> dict:
    """The result ``AnsibleModule.exit_json``/``fail_json`` would print for ``fields``.

    ``invocation.module_args`` is added when ``invocation`` is set (``inject_invocation``: always
    before ansible-core 2.21, then the ``INJECT_INVOCATION`` setting); every value in ``hidden``
    (the no_log values) is masked anywhere in the result, except top-level booleans and nulls;
    the warnings, each once, are added unmasked (a module's warnings are objects that masking
    leaves alone).
    """
    result = dict(fields)
    if invocation:
        result.setdefault("invocation", {"module_args": params})
    else:
        result.pop("invocation", None)
    preserved = {key: value for key, value in result.items() if value is None or isinstance(value, bool)}
    result = remove_values(result, hidden)
    result.update(preserved)
    if warnings:
        result["warnings"] = list(dict.fromkeys(warnings))
    return result


# ---------------------------------------------------------------------------------------------
# The action plugin base


class InProcessModuleAction(ActionBase):
    """Base of the action plugins that carry a module's name: the module's logic in the worker, or the module.

    A subclass sets ``argument_spec`` (the module's own options; the connection options are
    added) and ``logic``, the very objects the module file passes to ``run_module``.
    """

    _supports_check_mode = True
    _supports_async = True  # async tasks run as modules

    argument_spec: t.ClassVar[dict] = {}
    logic: t.ClassVar[Logic]

    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        """Run the task in the worker when it runs on the controller, else as the module."""
        result = super().run(tmp, task_vars)
        del tmp  # no longer has any effect
        task_vars = task_vars or {}
        try:
            decision = self.execution_path(task_vars)
        except ExecutionChoiceError as error:
            return merge_hash(result, {"failed": True, "msg": str(error)})
        display.vvv(f"hashfarm.whatsminer: {self._task.action} runs {'in the worker process' if decision.path == IN_PROCESS else 'as a module'}: "
                    f"{decision.reason}", host=self._host_name(task_vars))
        if decision.path == MODULE:
            return self._run_as_module(result, task_vars)
        return merge_hash(result, self._run_in_process(task_vars))

    def execution_path(self, task_vars: dict[str, t.Any]) -> PathDecision:
        """The decision for this task, from its connection, become, async and ``whatsminer_execution``."""
        execution = task_vars.get(EXECUTION_VARIABLE)
        if execution is not None:
            execution = self._templar.template(execution)
        return choose_path(
            execution,
            local_connection=self._connection.matches_name(["local"]),
            become=bool(self._play_context.become),
            run_async=bool(self._task.async_val),
        )

    def _host_name(self, task_vars: dict[str, t.Any]) -> str | None:
        """The host the -vvv message names: the delegated host, else the inventory host."""
        return self._task.delegate_to or task_vars.get("inventory_hostname")

    def _run_as_module(self, result: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        """Run the module normally, as ansible.builtin.normal does."""
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(None)  # the connection's temporary directory, as ansible.builtin.normal removes it
        return result

    def _task_environment(self) -> dict[str, str]:
        """The task's ``environment`` (templated), which a module's process would have."""
        variables: dict[str, str] = {}
        self._compute_environment_string(raw_environment_out=variables)
        return variables

    def _run_in_process(self, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        """Validate, run the logic and build the result as the module would, in this process."""
        args = through_module_json(dict(self._task.args), Direction.CONTROLLER_TO_MODULE)
        with environment(self._task_environment()):
            validated = validate_arguments(module_argument_spec(self.argument_spec), args, self._task.action)
        if validated.error is not None:
            fields, warnings = {"failed": True, "msg": validated.error}, []
        else:
            fields, warnings = run_logic(self.logic, validated.params, bool(self._task.check_mode), bool(self._task.diff))
        fields = module_result(fields, validated.params, validated.no_log_values, warnings, invocation=inject_invocation(task_vars))
        return as_module_result(through_module_json(fields, Direction.MODULE_TO_CONTROLLER))
