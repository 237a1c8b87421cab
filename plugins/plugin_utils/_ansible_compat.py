# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only place where the collection touches ansible-core internals.

Note that this plugin util is PRIVATE to the collection. It can have breaking changes at any time.

The in-process path (``_in_process.py``) builds the result a module would return, and the unit
tests run module code as in a module's own process. For a few of these steps ansible-core has no
public API; each is used here, once, behind a function that says what it stands for. Every one of
them is listed in docs/architecture.md ("Private ansible-core APIs") with what breaks when it
changes, and tests/unit/plugins/plugin_utils/test_ansible_compat.py fails on the ansible-core
release where one of them moves or changes shape. Code elsewhere must not import ``ansible._internal``
or read underscore attributes of ansible-core objects; it calls these functions.

Tested with ansible-core 2.19 (Python 3.11) and 2.21 (Python 3.13).
"""

from __future__ import annotations

import contextlib
import typing as t

from ansible import constants as C
from ansible.module_utils import _internal as _module_utils_internal
from ansible.module_utils.common import warnings as _module_warnings
from ansible.module_utils.common.arg_spec import ValidationResult

# How ActionBase._execute_module hands on a module's decoded output; private to ansible-core either way.
try:  # ansible-core 2.21 and later: the unified task result
    from ansible._internal._task import UnifiedTaskResult as _UnifiedTaskResult
except ImportError:  # pragma: no cover - ansible-core 2.19 and 2.20
    _UnifiedTaskResult = None  # pylint: disable=invalid-name
try:  # ansible-core 2.19 and 2.20: the captured module error
    from ansible._internal._errors._captured import AnsibleModuleCapturedError as _AnsibleModuleCapturedError
except ImportError:  # pragma: no cover - ansible-core 2.21 and later
    _AnsibleModuleCapturedError = None  # pylint: disable=invalid-name

#: The configuration setting (ansible-core 2.21+) that decides whether a module result carries ``invocation``.
INJECT_INVOCATION_SETTING = "INJECT_INVOCATION"


def no_log_values(validation: ValidationResult) -> set[str]:
    """Every value of a ``no_log`` option that ``ArgumentSpecValidator`` found (fallbacks and sub-options included).

    Private: ``ValidationResult._no_log_values``, which ``AnsibleModule.__init__`` reads the same way.
    No public accessor exists (``parameters._list_no_log_values`` is private too and misses the
    values that came from environment fallbacks).
    """
    return set(validation._no_log_values)  # pylint: disable=protected-access


def as_module_result(result: dict[str, t.Any]) -> dict[str, t.Any]:
    """``result`` (a module's output, decoded) as ``ActionBase._execute_module`` returns it to the action.

    A failure's ``exception`` becomes the captured error that makes the controller report
    "Module failed" (without it: "Action failed", and the module's traceback text lands in
    another field); from ansible-core 2.21 the result also gets its ``changed``/``failed``
    defaults and its warnings become warning objects, as a module's do.

    Private: ``ansible._internal._task.UnifiedTaskResult`` (2.21 and later) or
    ``ansible._internal._errors._captured.AnsibleModuleCapturedError`` (2.19, 2.20). Where neither
    exists the result is returned as it is; test_ansible_compat.py fails on such a release.
    """
    if _UnifiedTaskResult is not None:
        unified = _UnifiedTaskResult.from_module_result_dict(result)
        unified.remove_internal_keys()
        return unified.as_result_dict(for_round_trip=True)
    if _AnsibleModuleCapturedError is not None:
        _AnsibleModuleCapturedError.normalize_result_exception(result)
    return result


def inject_invocation_is_a_setting() -> bool:
    """Whether this ansible-core has the ``INJECT_INVOCATION`` setting (2.21 and later)."""
    return INJECT_INVOCATION_SETTING in C.config.get_configuration_definitions()


def inject_invocation(task_vars: dict[str, t.Any] | None) -> bool:
    """Whether a module's result carries ``invocation.module_args`` for this task.

    Public: the ``INJECT_INVOCATION`` setting (``ANSIBLE_INJECT_INVOCATION``, variable
    ``ansible_inject_invocation``; default false), which ``ActionBase`` passes to modules as
    ``_ansible_inject_invocation`` since ansible-core 2.21. Before 2.21 modules always return it.
    """
    if not inject_invocation_is_a_setting():
        return True
    return bool(C.config.get_config_value(INJECT_INVOCATION_SETTING, variables=task_vars or {}))


def invocation_module_argument(inject: bool) -> dict[str, t.Any]:
    """The internal module argument that asks a module for ``invocation`` or not (none before ansible-core 2.21, whose modules do not know it)."""
    if not inject_invocation_is_a_setting():
        return {}
    return {"_ansible_inject_invocation": inject}


# ---------------------------------------------------------------------------------------------
# For the unit tests: module code run in the test's process as in a module's own process


@contextlib.contextmanager
def as_module_process() -> t.Iterator[None]:
    """Run module code in this (controller) process as it runs in a module's own process.

    Private: ``ansible.module_utils._internal.is_controller``, which importing controller code
    sets, and the module-wide warning and deprecation stores of
    ``ansible.module_utils.common.warnings``. In the controller, module_utils display warnings
    instead of returning them; each run starts with empty stores, as a new process does.
    """
    _module_warnings._global_warnings.clear()  # pylint: disable=protected-access
    _module_warnings._global_deprecations.clear()  # pylint: disable=protected-access
    saved = _module_utils_internal.is_controller
    _module_utils_internal.is_controller = False
    try:
        yield
    finally:
        _module_utils_internal.is_controller = saved
