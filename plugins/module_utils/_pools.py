# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pool configuration of whatsminer_pools: validation, normalization, comparison, verified write.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

The first part is pure functions (no I/O), so that they can be unit tested and reused by an action
plugin: ``validate_pools`` turns the ``pools`` option into the desired slots or raises
``ModuleFailure`` naming every bad slot and field; ``normalize_url``/``pool_key`` define when two
pools are the same; ``plan_pools`` decides whether a write is needed. The second part talks to
the miner: ``ensure_pools`` reads, writes with one ``update_pools`` when needed, and reads back.

Decisions (documented for users in the module):

* A URL is compared and sent in its canonical form ``scheme://host:port``: scheme and host in lower
  case, the port as a plain number, no trailing slash, no surrounding whitespace. A URL without a
  scheme is ``stratum+tcp://`` (btminer, a cgminer derivative, treats it so).
* The miner reports a pool URL exactly as it was written, so the module writes the canonical form
  and reads back exactly what it sent.
* A desired URL must carry its port: Stratum has no standard port, and btminer (like cgminer)
  connects to port 80 when a URL has none. A URL the miner reports without a port therefore
  compares as port 80 (``SCHEME_DEFAULT_PORTS``).
* Users are compared exactly (pool accounts may be case sensitive), after stripping whitespace.
* The miner never reports pool passwords, so they are never compared; ``update_password`` says
  when they are sent.

``ARGUMENT_SPEC`` and ``logic`` at the end are the module itself: the module file and its action
plugin (which runs it in the controller's worker) both run these objects.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable, NamedTuple

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._connection_options import HOST_NAME, MAX_HOST_LENGTH, character_problem
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._miner_state import pool_facts
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._polling import PollOutcome, poll_until, read_within
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import WhatsminerError, miner_address
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import Session, write_outcome_unknown

POOL_SLOTS = 3
DEFAULT_SCHEME = "stratum+tcp"
# The schemes btminer mines with, and the port it connects to when a URL has none.
SCHEME_DEFAULT_PORTS = {"stratum+tcp": 80}
DEFAULT_POOL_PASSWORD = "x"
# Limits of this module (the firmware documents none): cgminer keeps a pool address in a 256-byte
# buffer; users and passwords of real pools are far shorter than these.
MAX_URL_LENGTH = 240
MAX_USER_LENGTH = 128
MAX_PASSWORD_LENGTH = 128
UPDATE_PASSWORD_CHOICES = ("on_create", "always")
UPDATE_POOLS = "update_pools"
DEFAULT_VERIFY_TIMEOUT = 10.0
MAX_VERIFY_TIMEOUT = 600.0
VERIFY_INTERVAL = 0.5

_DIGITS = re.compile(r"[0-9]+")


class PoolUrl(NamedTuple):
    """A parsed pool URL; ``port`` is ``None`` when the URL has none."""

    scheme: str
    host: str
    port: int | None

    def canonical(self) -> str:
        """``scheme://host:port``, with the scheme's default port when the URL has none."""
        port = self.port if self.port is not None else SCHEME_DEFAULT_PORTS[self.scheme]
        return f"{self.scheme}://{self.host}:{port}"


class DesiredPool(NamedTuple):
    """One validated pool of the desired configuration, as it is sent."""

    slot: int
    url: str
    user: str
    password: str

    def public(self) -> dict:
        """The pool without its password, shaped like the pools the miner reports."""
        return {"slot": self.slot, "url": self.url, "user": self.user}


# ---------------------------------------------------------------------------------------------
# Normalization and comparison (pure)


def _parse_host(text: str) -> str:
    """The host of a URL in lower case (IPv6 in brackets, compressed); ``ValueError`` when invalid."""
    if text.startswith("["):
        if not text.endswith("]"):
            raise ValueError("has an IPv6 address without its closing bracket")
        try:
            return f"[{ipaddress.IPv6Address(text[1:-1]).compressed}]"
        except ValueError:
            raise ValueError("has an invalid IPv6 address") from None
    host = text.lower()
    if not host:
        raise ValueError("has no host")
    if len(host) > MAX_HOST_LENGTH or not HOST_NAME.fullmatch(host):
        raise ValueError("has an invalid host name (letters, digits, hyphens and dots only)")
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError("has an invalid IPv4 address") from None
    return host


def parse_pool_url(text: str) -> PoolUrl:
    """Parse a pool URL (``[scheme://]host[:port][/]``); ``ValueError`` says what is wrong.

    The scheme defaults to ``stratum+tcp`` and is case insensitive; trailing slashes and surrounding
    whitespace are ignored. Paths, queries, fragments and credentials are refused.
    """
    rest = text.strip()
    if not rest:
        raise ValueError("is empty")
    scheme, separator, remainder = rest.partition("://")
    if separator:
        scheme, rest = scheme.lower(), remainder
    else:
        scheme = DEFAULT_SCHEME
    if scheme not in SCHEME_DEFAULT_PORTS:
        supported = ", ".join(f"{name}://" for name in SCHEME_DEFAULT_PORTS)
        raise ValueError(f"has a scheme the miner does not mine with (supported: {supported})")
    rest = rest.rstrip("/")
    if "@" in rest:
        raise ValueError("must not contain credentials (user@host): give them in user and password")
    if any(character in rest for character in "/?#"):
        raise ValueError("must not have a path, query or fragment: give scheme://host:port only")
    if rest.startswith("[") and "]" in rest:
        closing = rest.index("]")
        host_text, after = rest[:closing + 1], rest[closing + 1:]
        if after and not after.startswith(":"):
            raise ValueError("has text after the IPv6 address")
        port_text = after[1:] if after else None
    elif ":" in rest:
        host_text, port_text = rest.rsplit(":", 1)
    else:
        host_text, port_text = rest, None
    host = _parse_host(host_text)
    port = None
    if port_text is not None:
        if not _DIGITS.fullmatch(port_text) or not 1 <= int(port_text) <= 65535:
            raise ValueError("has an invalid port (a number from 1 to 65535)")
        port = int(port_text)
    return PoolUrl(scheme, host, port)


def normalize_url(text: Any) -> str:
    """The canonical form of a pool URL, for comparison; text that is no valid URL is only stripped.

    ``STRATUM+TCP://Pool.Example.com:03333/`` and ``pool.example.com:3333`` both become
    ``stratum+tcp://pool.example.com:3333``; ``stratum+tcp://pool.example.com`` becomes
    ``stratum+tcp://pool.example.com:80`` (the port btminer uses).
    """
    if text is None:
        return ""
    try:
        return parse_pool_url(str(text)).canonical()
    except ValueError:
        return str(text).strip()


def normalize_user(text: Any) -> str:
    """A worker (user) name for comparison: whitespace stripped, case kept."""
    return "" if text is None else str(text).strip()


def pool_key(pool: dict | None) -> tuple[str, str] | None:
    """What decides whether two pools are the same: normalized URL and user; ``None`` for an empty slot."""
    if not pool or not normalize_url(pool.get("url")):
        return None
    return normalize_url(pool.get("url")), normalize_user(pool.get("user"))


def slot_keys(pools: list[dict]) -> list[tuple[str, str] | None] | None:
    """The ``pool_key`` of slots 1 to 3 of a pool list (``slot``, ``url``, ``user`` entries).

    ``None`` when the list cannot be placed in three slots (a slot number out of range or used
    twice): such a configuration never equals a desired one.
    """
    keys: list[tuple[str, str] | None] = [None] * POOL_SLOTS
    seen: set[int] = set()
    for pool in pools:
        slot = pool.get("slot")
        if not isinstance(slot, int) or not 1 <= slot <= POOL_SLOTS or slot in seen:
            return None
        seen.add(slot)
        keys[slot - 1] = pool_key(pool)
    return keys


def pools_equal(current: list[dict], desired: list[dict]) -> bool:
    """Whether two pool lists configure the same URL and user in every slot (passwords aside)."""
    current_keys = slot_keys(current)
    return current_keys is not None and current_keys == slot_keys(desired)


def configured_pools(pools_reply: dict | None) -> list[dict]:
    """The pools a ``pools`` reply shows, as ``slot``, ``url`` and ``user`` (the facts module's reading)."""
    return [{"slot": pool["slot"], "url": pool["url"], "user": pool["user"]} for pool in pool_facts(pools_reply) if pool["url"]]


def describe(pools: list[dict]) -> str:
    """A one-line description of a pool list for messages (no passwords): ``1: url user=...; 2: ...``."""
    if not pools:
        return "no pools"
    return "; ".join(f"{pool['slot']}: {pool['url']} user={pool['user']}" for pool in pools)


# ---------------------------------------------------------------------------------------------
# Validation (pure)


def _url_problem(url: Any) -> str | None:
    if url is None or not str(url).strip():
        return "is required, for example stratum+tcp://pool.example.com:3333"
    text = str(url).strip()
    if len(text) > MAX_URL_LENGTH:
        return f"is longer than {MAX_URL_LENGTH} characters"
    problem = character_problem(text)
    if problem:
        return problem
    try:
        parsed = parse_pool_url(text)
    except ValueError as error:
        return str(error)
    if parsed.port is None:
        return ("has no port: give it explicitly, for example stratum+tcp://pool.example.com:3333 "
                f"(Stratum has no standard port and the miner would connect to port {SCHEME_DEFAULT_PORTS[parsed.scheme]})")
    return None


def _user_problem(user: Any) -> str | None:
    if user is None or not str(user).strip():
        return "is required (the worker name the pool expects, for example account.worker1)"
    text = str(user).strip()
    if len(text) > MAX_USER_LENGTH:
        return f"is longer than {MAX_USER_LENGTH} characters"
    return character_problem(text)


def _password_problem(password: Any) -> str | None:
    """What is wrong with a pool password; never quotes the password itself."""
    if password is None:
        return None
    text = str(password)
    if not text:
        return f"must not be empty (use {DEFAULT_POOL_PASSWORD} when the pool does not check passwords)"
    if len(text) > MAX_PASSWORD_LENGTH:
        return f"is longer than {MAX_PASSWORD_LENGTH} characters"
    return character_problem(text)


def validate_pools(pools: Any) -> list[DesiredPool]:
    """The desired pools (slot 1 first) from the ``pools`` option, normalized, ready to send.

    Raises:
        ModuleFailure: naming every bad pool slot and field (``pool 2 url: ...``), with the list
            in ``validation_errors``. Nothing about a password's value is ever in a message.
    """
    if not isinstance(pools, list) or not 1 <= len(pools) <= POOL_SLOTS:
        count = len(pools) if isinstance(pools, list) else 0
        raise ModuleFailure(
            f"pools: give 1 to {POOL_SLOTS} pools in priority order (the miner has {POOL_SLOTS} pool slots), got {count}; nothing was sent to the miner",
            validation_errors=[f"pools: give 1 to {POOL_SLOTS} pools, got {count}"],
        )
    problems: list[str] = []
    desired: list[DesiredPool] = []
    for index, pool in enumerate(pools):
        slot = index + 1
        if not isinstance(pool, dict):
            problems.append(f"pool {slot}: must be a dictionary with url, user and password")
            continue
        checks = (("url", _url_problem(pool.get("url"))), ("user", _user_problem(pool.get("user"))),
                  ("password", _password_problem(pool.get("password"))))
        slot_problems = [f"pool {slot} {field}: {problem}" for field, problem in checks if problem]
        problems.extend(slot_problems)
        if not slot_problems:
            password = pool.get("password")
            desired.append(DesiredPool(
                slot=slot,
                url=parse_pool_url(str(pool["url"])).canonical(),
                user=normalize_user(pool["user"]),
                password=DEFAULT_POOL_PASSWORD if password is None else str(password),
            ))
    if problems:
        raise ModuleFailure("Invalid pools, nothing was sent to the miner: " + "; ".join(problems) + ".", validation_errors=problems)
    return desired


def validate_verify_timeout(value: Any) -> float:
    """``verify_timeout`` as seconds, or ``ModuleFailure``."""
    if value is None or not 0 < float(value) <= MAX_VERIFY_TIMEOUT:
        raise ModuleFailure(f"verify_timeout must be more than 0 and at most {MAX_VERIFY_TIMEOUT:g} seconds, got {value}")
    return float(value)


# ---------------------------------------------------------------------------------------------
# Plan (pure)


class PoolPlan(NamedTuple):
    """What a run does: ``write`` when the pools differ or ``update_password`` is ``always``."""

    before: list[dict]
    desired: list[DesiredPool]
    differs: bool
    write: bool

    @property
    def expected(self) -> list[dict]:
        """The pools the miner shows after the write (the URLs are sent canonical and read back as sent)."""
        return [pool.public() for pool in self.desired]

    @property
    def predicted_after(self) -> list[dict]:
        """The pools after this run: the expected ones after a write, the current ones otherwise."""
        return self.expected if self.write else list(self.before)


def plan_pools(before: list[dict], desired: list[DesiredPool], update_password: str) -> PoolPlan:
    """Decide whether the miner's pools must be written."""
    if update_password not in UPDATE_PASSWORD_CHOICES:
        raise ModuleFailure(f"update_password must be one of {', '.join(UPDATE_PASSWORD_CHOICES)}, got {update_password}")
    differs = not pools_equal(before, [pool.public() for pool in desired])
    return PoolPlan(before=before, desired=desired, differs=differs, write=differs or update_password == "always")


def update_pools_parameters(desired: list[DesiredPool]) -> dict[str, str]:
    """The nine ``update_pools`` parameters; unused slots are ``""`` (firmware chokes on null)."""
    parameters: dict[str, str] = {}
    for slot in range(1, POOL_SLOTS + 1):
        pool = desired[slot - 1] if slot <= len(desired) else None
        parameters[f"pool{slot}"] = pool.url if pool else ""
        parameters[f"worker{slot}"] = pool.user if pool else ""
        parameters[f"passwd{slot}"] = pool.password if pool else ""
    return parameters


def pools_diff(before: list[dict], after: list[dict]) -> dict:
    """The ``diff`` of a run: the pools (slot, url, user) before and after; never passwords."""
    return {"before": {"pools": [dict(pool) for pool in before]}, "after": {"pools": [dict(pool) for pool in after]}}


# ---------------------------------------------------------------------------------------------
# Talking to the miner


def read_pools(client: Session) -> list[dict]:
    """The pools the miner is configured with (one ``pools`` read)."""
    return configured_pools(client.read("pools"))


def wait_for_pools(
    client: Session,
    expected: list[dict],
    timeout: float,
    *,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> PollOutcome:
    """Read the pools every VERIFY_INTERVAL seconds until they equal ``expected``, for at most ``timeout`` seconds.

    A read that fails (btminer restarting, a broken reply) is tried again within the time. Every
    read ends by the deadline (``read_within``). ``clock``/``sleep``: see ``poll_until``.
    """
    return poll_until(
        lambda seconds: read_within(client, seconds, read_pools), lambda seen: pools_equal(seen, expected), timeout,
        interval=VERIFY_INTERVAL, clock=clock, sleep=sleep,
    )


def _not_shown_failure(client: Session, plan: PoolPlan, outcome: PollOutcome, verify_timeout: float, lost_reply: WhatsminerError | None) -> ModuleFailure:
    """The failure of a write whose pools the miner did not show within ``verify_timeout``.

    A write the miner confirmed is a change (``changed: true``), even when the pools do not show
    yet: firmware may apply them later. After a lost reply only what the miner shows tells.
    """
    seen, last_error = outcome.last_value, outcome.last_error
    shown = describe(seen) if seen is not None else "nothing (no pools read succeeded)"
    miner = f"Whatsminer {miner_address(client.host, client.port)}"
    if lost_reply is None:
        message = (
            f"{miner} accepted update_pools (it confirmed the write), but within verify_timeout ({verify_timeout:g} s) it did not "
            f"show the pools that were sent: the write was accepted but is not seen yet, so the task reports a change. "
            f"Sent: {describe(plan.expected)}. Last seen: {shown}."
        )
        changed = True
    else:
        message = (
            f"{miner} sent update_pools, whose reply was lost, and within verify_timeout ({verify_timeout:g} s) the miner did not "
            f"show the pools that were sent. Sent: {describe(plan.expected)}. Last seen: {shown}. The reply to update_pools: {lost_reply}"
        )
        changed = True if seen is None else not pools_equal(seen, plan.before)
    if last_error is not None:
        message += f" The last read that failed: {last_error}"
    message += (" Firmware may apply pools some seconds after the write: run the task again (it reports ok once the miner shows them), "
                "raise verify_timeout if this firmware applies pools slowly, or check the miner (web UI or whatsminer_facts).")
    return ModuleFailure(message, changed=changed, before=plan.before, pools=seen, expected=plan.expected, commands=[UPDATE_POOLS])


def ensure_pools(client: Session, desired: list[DesiredPool], *, update_password: str, check_mode: bool, verify_timeout: float,
                 clock: Callable[[], float] | None = None, sleep: Callable[[float], None] | None = None) -> dict:
    """Make the miner's pools ``desired``: read, write with one ``update_pools`` when needed, verify.

    Returns the result (``changed``, ``before``, ``pools``, ``commands``). In check mode nothing is
    written and no token is requested; the result is what a real run would report.

    The write is decided and verified only from complete ``pools`` replies (a truncated one
    raises): a cut-off list could hide a slot. When the reply to ``update_pools`` is lost or
    unreadable after the request went out, the miner may have applied it, so the read-back
    decides; the result then carries a warning. ``clock``/``sleep`` are those of the verification
    (``poll_until``; for tests).

    Raises:
        WhatsminerError: the miner refused or failed the read or the write (the client's message).
        ModuleFailure: the miner did not show the pools within ``verify_timeout`` after the write
            (``changed`` is true when the miner had confirmed the write).
    """
    client.accept_truncated = False
    plan = plan_pools(read_pools(client), desired, update_password)
    commands = [UPDATE_POOLS] if plan.write else []
    if check_mode or not plan.write:
        return {"changed": plan.write, "before": plan.before, "pools": plan.predicted_after, "commands": commands}

    lost_reply = None
    try:
        client.privileged(UPDATE_POOLS, **update_pools_parameters(plan.desired))
    except WhatsminerError as error:
        if not write_outcome_unknown(error, UPDATE_POOLS):
            raise
        lost_reply = error
    outcome = wait_for_pools(client, plan.expected, verify_timeout, clock=clock, sleep=sleep)
    if not outcome.reached:
        raise _not_shown_failure(client, plan, outcome, verify_timeout, lost_reply)
    result = {"changed": True, "before": plan.before, "pools": outcome.last_value, "commands": commands}
    if lost_reply is not None:
        result["warnings"] = [f"The reply to update_pools was lost, so the pools were verified by reading them back: {lost_reply}"]
    return result


# ---------------------------------------------------------------------------------------------
# The module: its own options (the connection options are added) and its logic


ARGUMENT_SPEC = {
    "pools": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "url": {"type": "str"},
            "user": {"type": "str"},
            "password": {"type": "str", "no_log": True},
        },
    },
    # A choice, not a secret: no_log=False keeps Ansible from warning about the name.
    "update_password": {"type": "str", "choices": list(UPDATE_PASSWORD_CHOICES), "default": "on_create", "no_log": False},
    "verify_timeout": {"type": "float", "default": DEFAULT_VERIFY_TIMEOUT},
}


def logic(client: Session, params: dict, check_mode: bool, diff: bool) -> dict:
    """Validate the desired pools (before the miner is contacted), then make the miner hold them."""
    desired = validate_pools(params["pools"])
    verify_timeout = validate_verify_timeout(params["verify_timeout"])
    result = ensure_pools(client, desired, update_password=params["update_password"], check_mode=check_mode, verify_timeout=verify_timeout)
    if diff:
        result["diff"] = pools_diff(result["before"], result["pools"])
    return result
