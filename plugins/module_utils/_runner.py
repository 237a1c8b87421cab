# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way a module runs its logic: the runner behind every module and its action plugin.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

Each module describes only its own options and a ``logic(client, params, check_mode, diff)``
function that returns the result dict. ``run_module`` adds the connection options
(``_connection_options``), builds the client (a ``_session.MinerSession``, which speaks API 2 or
API 3 as ``api_version`` says and offers the API 2 client's interface either way), and turns the
client's typed errors into ``fail_json`` with an actionable message, so no module repeats that and
no traceback reaches the user.

The action plugins of the same names run the same ``logic`` in the controller's worker process
(``plugin_utils/_in_process.py``) with ``execute`` and ``failure_result`` from here and
``module_argument_spec`` from ``_connection_options``, which are free of ``AnsibleModule``.
"""

from __future__ import annotations

from typing import Any, Callable

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._connection_options import (
    client_from_params,
    module_argument_spec,
    validate_connection_params,
)
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import MissingLibraryError, WhatsminerError
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import Session

#: A module's logic: ``logic(session, params, check_mode, diff) -> result``.
Logic = Callable[[Session, dict, bool, bool], dict]


def execute(logic: Logic, params: dict, check_mode: bool, diff: bool) -> dict:
    """Run a module's logic against the miner of ``params``; return the result or raise.

    Raises ``ModuleFailure`` for invalid input and ``WhatsminerError`` for what the miner or the
    network did. The result carries ``warnings`` (a list) for the caller to emit.
    """
    validate_connection_params(params)
    client = client_from_params(params)
    result = logic(client, params, check_mode, diff)
    result.setdefault("warnings", [])
    return result


def failure_result(error: Exception) -> dict:
    """The ``fail_json`` arguments for an error raised by ``execute``."""
    if isinstance(error, MissingLibraryError):
        return {"msg": f"{missing_required_lib(error.library)} ({error})", "exception": error.import_traceback or None}
    if isinstance(error, WhatsminerError):
        return {
            "msg": str(error),
            "miner": {"host": error.host, "port": error.port, "command": error.command, "code": error.code},
        }
    if isinstance(error, ModuleFailure):
        return {"msg": error.message, **error.details}
    raise error


def run_module(argument_spec: dict, logic: Logic, **module_options: Any) -> None:
    """Build the AnsibleModule, run ``logic`` and exit with its result or an actionable failure."""
    module = AnsibleModule(argument_spec=module_argument_spec(argument_spec), **module_options)
    try:
        result = execute(logic, module.params, module.check_mode, module._diff)  # pylint: disable=protected-access
    except (WhatsminerError, ModuleFailure) as error:
        failure = failure_result(error)
        if failure.get("exception") is None:
            failure.pop("exception", None)
        module.fail_json(**failure)
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(**result)
