# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options every module shares, defined once: their argument spec, the checks of their values, and the session they describe.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

``connection_argument_spec`` is documented by the ``hashfarm.whatsminer.connection`` doc fragment;
its defaults are the protocol clients' own (``_protocol``). ``validate_connection_params`` rejects
what no miner can take before anything is sent, and ``client_from_params`` makes the
``_session.MinerSession`` the options name. The runner (``_runner``), the fleet action and the
role's pre-check filter (``desired_state_problems``) use them; the value checks
(``character_problem``, ``HOST_NAME``) serve the pools logic as well.
"""

from __future__ import annotations

import ipaddress
import re

from ansible.module_utils.basic import env_fallback

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import DEFAULT_PORT
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api3 import DEFAULT_ACCOUNT, DEFAULT_V3_PORT, V3_ACCOUNTS
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.transport import DEFAULT_RETRIES, DEFAULT_TIMEOUT
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import API_VERSION_CHOICES, DEFAULT_API_VERSION, MinerSession

MAX_HOST_LENGTH = 253
MAX_ADMIN_PASSWORD_LENGTH = 128
# Printable ASCII without space; quotes and backslashes could break the firmware's configuration
# files and scripts, so they are refused as well (pool values and the admin password).
FORBIDDEN_CHARACTERS = frozenset("\"'`\\")
_HOST_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
#: A DNS name: labels of letters, digits, hyphens and underscores, joined by dots (no final dot:
#: the miner's address may have one, a pool URL may not).
HOST_NAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*")


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
    if not HOST_NAME.fullmatch(host[:-1] if host.endswith(".") else host):
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
