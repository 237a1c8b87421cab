# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every module, and the one way a module runs its logic.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

Each module describes only its own options and a ``logic(client, params, check_mode, diff)``
function that returns the result dict. ``run_module`` adds the connection options, builds the
client (a ``_session.MinerSession``, which speaks API 2 or API 3 as ``api_version`` says and
offers the API 2 client's interface either way), and turns the client's typed errors into ``fail_json`` with an actionable message, so no
module repeats that and no traceback reaches the user.

The action plugins of the same names run the same ``logic`` in the controller's worker process
(``plugin_utils/_in_process.py``) with ``module_argument_spec``, ``execute`` and
``failure_result`` from here, which are free of ``AnsibleModule``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api3 import DEFAULT_ACCOUNT, DEFAULT_V3_PORT, V3_ACCOUNTS
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import MissingLibraryError, WhatsminerError
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import API_VERSION_CHOICES, DEFAULT_API_VERSION, MinerSession

DEFAULT_PORT = 4028
DEFAULT_TIMEOUT = 5.0
DEFAULT_RETRIES = 2
MAX_HOST_LENGTH = 253
MAX_ADMIN_PASSWORD_LENGTH = 128
# Printable ASCII without space; quotes and backslashes could break the firmware's configuration
# files and scripts, so they are refused as well (pool values and the admin password).
FORBIDDEN_CHARACTERS = frozenset("\"'`\\")
_HOST_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST_NAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?")


class ModuleFailure(Exception):
    """A failure the logic detected itself (e.g. invalid input); ``details`` go into the result."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def connection_argument_spec() -> dict:
    """The connection options (documented in the ``hashfarm.whatsminer.connection`` doc fragment)."""
    return {
        "host": {"type": "str", "required": True, "fallback": (env_fallback, ["WHATSMINER_HOST"])},
        "port": {"type": "int", "default": DEFAULT_PORT},
        "password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["WHATSMINER_PASSWORD"])},
        "timeout": {"type": "float", "default": DEFAULT_TIMEOUT},
        "retries": {"type": "int", "default": DEFAULT_RETRIES},
        "api_version": {"type": "str", "choices": list(API_VERSION_CHOICES), "default": DEFAULT_API_VERSION},
        "api3_port": {"type": "int", "default": DEFAULT_V3_PORT},
        "api3_account": {"type": "str", "choices": list(V3_ACCOUNTS), "default": DEFAULT_ACCOUNT},
    }


def module_argument_spec(argument_spec: dict) -> dict:
    """The complete argument spec of a module: its own options and the connection options.

    The module (``run_module``) and its action plugin (``plugin_utils/_in_process.py``) both
    validate against this spec.
    """
    spec = dict(argument_spec)
    spec.update(connection_argument_spec())
    return spec


def character_problem(text: str) -> str | None:
    """Why ``text`` has characters the miner cannot take (printable ASCII only, no whitespace, quotes or backslashes), or ``None``."""
    for character in text:
        if character.isspace():
            return "must not contain spaces or other whitespace"
        if not " " < character < "\x7f":
            return "must contain printable ASCII characters only (no control or non-ASCII characters)"
        if character in FORBIDDEN_CHARACTERS:
            return "must not contain quotes (\", ', `) or backslashes"
    return None


def host_problem(host: str) -> str | None:
    """Why ``host`` is neither an IP address nor a DNS name, or ``None``."""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if len(host) > MAX_HOST_LENGTH:
        return f"is longer than {MAX_HOST_LENGTH} characters"
    if re.fullmatch(r"[0-9.]+", host):
        return "is not a valid IPv4 address"
    if not _HOST_NAME.fullmatch(host):
        return "must be the miner's IP address or DNS name (letters, digits, hyphens and dots), without a scheme, port or spaces"
    return None


def validate_connection_params(params: dict) -> None:
    """Reject connection values no miner can take, before anything is sent. Never quotes the password."""
    host = str(params["host"]).strip()
    if not host:
        raise ModuleFailure("host must not be empty: give the miner's address (or set WHATSMINER_HOST)")
    problem = host_problem(host)
    if problem:
        raise ModuleFailure(f"host {problem}, got {host[:80]!r}")
    for option in ("port", "api3_port"):
        if isinstance(params[option], bool) or not 1 <= params[option] <= 65535:
            raise ModuleFailure(f"{option} must be between 1 and 65535, got {params[option]}")
    for option, choices in (("api_version", API_VERSION_CHOICES), ("api3_account", V3_ACCOUNTS)):
        if params[option] not in choices:
            raise ModuleFailure(f"{option} must be one of {', '.join(choices)}, got {str(params[option])[:80]!r}")
    if not 0 < params["timeout"] <= 300:
        raise ModuleFailure(f"timeout must be more than 0 and at most 300 seconds, got {params['timeout']}")
    if isinstance(params["retries"], bool) or not 0 <= params["retries"] <= 10:
        raise ModuleFailure(f"retries must be between 0 and 10, got {params['retries']}")
    password = params.get("password")
    if password:  # empty means not given: reads need no admin password
        problem = character_problem(password) if len(password) <= MAX_ADMIN_PASSWORD_LENGTH else f"is longer than {MAX_ADMIN_PASSWORD_LENGTH} characters"
        if problem:
            raise ModuleFailure(f"password (the password that lets the module change the miner) {problem}; its value is not shown")


def client_from_params(params: dict) -> MinerSession:
    """The miner the module parameters name; the API is chosen (``api_version``) on first contact."""
    return MinerSession(
        params["host"].strip(),
        port=params["port"],
        password=params.get("password"),
        timeout=params["timeout"],
        retries=params["retries"],
        api_version=params["api_version"],
        api3_port=params["api3_port"],
        api3_account=params["api3_account"],
    )


Logic = Callable[[MinerSession, dict, bool, bool], dict]


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
