"""Fault injection and the malformed-JSON quirks of real firmware (reference section 1.4).

A miner holds a list of :class:`Fault` rules. For every request the rules that match the
request's command(s) are applied (each with a seeded probability) and the ones limited to
``remaining`` requests count down and disappear when spent. Rule kinds:

``delay``   wait ``seconds`` before replying.
``drop``    send part of the reply, then close (``mode="close"``) or reset (``mode="reset"``).
``garbage`` send random bytes instead of the reply.
``quirk``   render the reply with one firmware quirk (see :data:`QUIRKS`).
``code``    do not run the command; answer with error ``code`` (``message`` overrides Msg).

``skip`` lets the first matching requests pass untouched (e.g. the third ``set.user.change_passwd``
of a run, after two password checks that use the same command).

Refusing connections is a listener switch (``MinerConfig.refuse_connections``), not a rule.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from .profiles import CGMINER_COMMANDS, DAEMON_READ_COMMANDS, WRITE_COMMANDS

#: Quirk names, each one firmware bug a client must survive.
QUIRKS = (
    "trailing_nul",     # reply ends with a NUL byte (cgminer style)
    "trailing_comma",   # a comma before the first closing brace: ``"ledstat":"auto",}``
    "newline",          # a raw newline inside a JSON string
    "missing_comma",    # ``""temp0`` in get_psu (btminer 2023-01-06)
    "error_code_list",  # get_error_code ``"error_code":["329":"2022-01-17 11:28:11"]`` (API 2.0.4 doc)
    "leading_comma",    # the opening brace replaced by a comma
    "truncated",        # the reply cut in the middle
)

FAULT_KINDS = ("delay", "drop", "garbage", "quirk", "code")
DROP_MODES = ("close", "reset")

#: Names usable in ``Fault.commands`` besides plain command names.
COMMAND_GROUPS: dict[str, frozenset[str]] = {
    "privileged": WRITE_COMMANDS,
    "cgminer": CGMINER_COMMANDS,
    "read": CGMINER_COMMANDS | DAEMON_READ_COMMANDS,
}

_ERROR_LIST_PLACEHOLDER = "@@whatsminer-sim-error-code-list@@"


@dataclass
class Fault:
    """One fault rule. ``commands`` None = every request; ``remaining`` None = forever."""

    kind: str
    seconds: float = 0.0
    mode: str = "close"
    quirk: str = ""
    code: int = 0
    message: str | None = None
    commands: frozenset[str] | None = None
    remaining: int | None = None
    probability: float = 1.0
    skip: int = 0

    def __post_init__(self) -> None:
        if self.commands is not None:
            self.commands = frozenset(self.commands)
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, not {self.kind!r}")
        if self.kind == "drop" and self.mode not in DROP_MODES:
            raise ValueError(f"drop mode must be one of {DROP_MODES}")
        if self.kind == "quirk" and self.quirk not in QUIRKS:
            raise ValueError(f"quirk must be one of {QUIRKS}, not {self.quirk!r}")
        if self.kind == "code" and self.code <= 0:
            raise ValueError("a code fault needs a positive code")
        if self.kind == "delay" and self.seconds < 0:
            raise ValueError("delay seconds must be >= 0")
        if self.remaining is not None and self.remaining < 1:
            raise ValueError("remaining must be >= 1 or None")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within 0..1")
        if self.skip < 0:
            raise ValueError("skip must be >= 0")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """Build a rule from its JSON form (control API, CLI)."""
        values = dict(data)
        if values.get("commands") is not None:
            values["commands"] = frozenset(values["commands"])
        try:
            return cls(**values)
        except TypeError as error:
            raise ValueError(f"bad fault {dict(data)!r}: {error}") from error

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, with only the fields that matter for this kind."""
        data: dict[str, Any] = {"kind": self.kind}
        per_kind = {"delay": ("seconds",), "drop": ("mode",), "quirk": ("quirk",), "code": ("code", "message")}
        for name in per_kind.get(self.kind, ()):
            data[name] = getattr(self, name)
        data["commands"] = sorted(self.commands) if self.commands is not None else None
        data["remaining"] = self.remaining
        data["probability"] = self.probability
        if self.skip:
            data["skip"] = self.skip
        return data

    def matches(self, commands: Sequence[str]) -> bool:
        """Tell whether the rule is scoped to any of the request's commands."""
        if self.commands is None:
            return True
        for name in self.commands:
            group = COMMAND_GROUPS.get(name, frozenset({name}))
            if any(command in group for command in commands):
                return True
        return False


@dataclass
class FaultPlan:
    """What the matching rules do to one request."""

    forced: Fault | None = None
    quirks: set[str] = field(default_factory=set)
    delay_s: float = 0.0
    drop_mode: str | None = None
    garbage: bool = False


def plan_faults(faults: list[Fault], commands: Sequence[str], rng: random.Random, allow_code: bool = True) -> FaultPlan:
    """Pick the rules that apply to a request for ``commands`` and spend their counts.

    ``faults`` is changed in place: rules whose ``remaining`` reaches 0 are removed.
    ``allow_code`` False leaves ``code`` rules untouched (used where no command can be forced).
    """
    plan = FaultPlan()
    for fault in list(faults):
        if not fault.matches(commands):
            continue
        if fault.kind == "code" and (not allow_code or plan.forced is not None):
            continue
        if fault.probability < 1.0 and rng.random() >= fault.probability:
            continue
        if fault.skip:
            fault.skip -= 1
            continue
        _add_to_plan(plan, fault)
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining == 0:
                faults.remove(fault)
    return plan


def _add_to_plan(plan: FaultPlan, fault: Fault) -> None:
    """Record one applied rule in the plan."""
    if fault.kind == "code":
        plan.forced = fault
    elif fault.kind == "quirk":
        plan.quirks.add(fault.quirk)
    elif fault.kind == "delay":
        plan.delay_s += fault.seconds
    elif fault.kind == "drop":
        plan.drop_mode = plan.drop_mode or fault.mode
    elif fault.kind == "garbage":
        plan.garbage = True


async def send_with_faults(writer: asyncio.StreamWriter, data: bytes, plan: FaultPlan) -> str | None:
    """Send one reply's bytes as the plan says: after its delay, and cut in half when it drops the connection.

    Returns the plan's ``drop_mode`` (``close``/``reset``) when the connection must end mid-reply,
    else ``None``. Both APIs send their replies through this, whatever their framing.
    """
    if plan.delay_s > 0:
        await asyncio.sleep(plan.delay_s)
    if data and plan.drop_mode:
        writer.write(data[: max(1, len(data) // 2)])
        await writer.drain()
        return plan.drop_mode
    if data:
        writer.write(data)
        await writer.drain()
    return None


def garbage_bytes(rng: random.Random, length: int = 48) -> bytes:
    """Seeded random bytes that are neither JSON nor valid UTF-8."""
    return b"\xff\xfe" + bytes(rng.randrange(256) for _byte in range(length))


def render(payload: Mapping[str, Any] | str, quirks: Iterable[str] = (), quirk_fields: Mapping[str, str] | None = None) -> bytes:
    """Serialise a reply the way the firmware does (compact JSON, UTF-8), with quirks.

    ``payload`` may be a raw string (sent as is, e.g. the btminer-down message).
    ``quirk_fields`` are Msg fields that only the buggy firmware adds (``temp0`` of get_psu);
    they are added with their comma missing when the ``missing_comma`` quirk is on.
    Text quirks apply in this order: trailing_comma, newline, leading_comma, truncated,
    trailing_nul.
    """
    active = set(quirks)
    if isinstance(payload, str):
        text = payload
    else:
        text = _serialise(payload, active, quirk_fields or {})
    if "trailing_comma" in active and "}" in text:
        brace = text.index("}")
        text = text[:brace] + "," + text[brace:]
    if "newline" in active and '"' in text:
        quote = text.rindex('"')
        text = text[:quote] + "\n" + text[quote:]
    if "leading_comma" in active and text.startswith("{"):
        text = "," + text[1:]
    if "truncated" in active:
        text = text[: max(1, len(text) // 2)]
    if "trailing_nul" in active:
        text += "\0"
    return text.encode("utf-8")


def _serialise(payload: Mapping[str, Any], active: set[str], quirk_fields: Mapping[str, str]) -> str:
    """Compact JSON with the structural quirks (missing comma, list-shaped dict)."""
    body = dict(payload)
    message = body.get("Msg")
    error_list_text = None
    if isinstance(message, Mapping):
        message = dict(message)
        if "missing_comma" in active:
            message.update(quirk_fields)
        if "error_code_list" in active and isinstance(message.get("error_code"), list):
            error_list_text = _list_shaped_dict(message["error_code"])
            message["error_code"] = _ERROR_LIST_PLACEHOLDER
        body["Msg"] = message
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    if error_list_text is not None:
        text = text.replace(json.dumps(_ERROR_LIST_PLACEHOLDER), error_list_text, 1)
    if "missing_comma" in active:
        for name in quirk_fields:
            text = text.replace(f',"{name}":', f'"{name}":', 1)
    return text


def _list_shaped_dict(entries: Sequence[Mapping[str, str]]) -> str:
    """``[{"329":"t1"},{"110":"t2"}]`` rendered as the 2.0.4 firmware did: ``["329":"t1","110":"t2"]``."""
    pairs = []
    for entry in entries:
        for code, raised in entry.items():
            pairs.append(f"{json.dumps(str(code))}:{json.dumps(raised)}")
    return "[" + ",".join(pairs) + "]"
