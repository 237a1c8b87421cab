# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tolerant parsing of Whatsminer API replies and the reply envelope helpers. Pure functions, no I/O.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

Real firmware sends JSON with defects (protocol reference, section 1.4). ``parse_reply_detailed``
first parses strictly; only when that fails does it run ``_repair``, a single pass over the text
that knows where strings start and end, so it never changes the content of a string value and
never touches valid parts of the document. It repairs:

* NUL bytes outside strings (cgminer-style ``\\x00`` terminators) - dropped;
* a comma before ``}``/``]`` (``"ledstat":"auto",}``) - dropped;
* a comma right after ``[``/``{`` or a doubled comma (``[,{``) - dropped;
* a missing comma between two values (``}{`` between list items, ``"7""temp0"`` between members) - inserted;
* a leading comma instead of the opening brace (``,"id":1}``) - becomes ``{``;
* bare ``inf``/``nan`` (and ``NaN``/``Infinity``) - become ``null`` (``None``);
* a list written like a dict (``"error_code":["329":"2022-01-17 11:28:11"]``, API 2.0.4) - that list,
  and only that list, becomes an object;
* a truncated reply (the miner's send buffer overflowed) - cut after the last complete member and closed
  (``parse_reply_detailed`` says when it did that, so that a caller can refuse the partial document);
* control characters (e.g. a newline) inside string values - kept as they are (parsed with
  ``strict=False``) instead of being deleted.

Replies that still do not parse raise ``MalformedReplyError`` with a short excerpt.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import MalformedReplyError

SUCCESS_STATUSES = frozenset({"S", "I"})
# Commands served by btminer's cgminer-derived API; only these may be joined with "+".
JOINABLE_COMMANDS = frozenset({"summary", "pools", "devs", "edevs", "devdetails"})
# Plain-text reply of the api daemon while btminer (the mining program) is down or restarting.
BTMINER_DOWN_TEXT = b"Socket connect failed"
EXCERPT_LENGTH = 120
#: Real replies nest 5 levels at most; a deeper document is hostile (and would exhaust the stack).
MAX_NESTING = 64

# A JSON string literal: quote, then runs of ordinary characters and backslash escapes, then quote.
_STRING_LITERAL = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRUCTURAL = frozenset(' \t\r\n\x00,:[]{}"')
_WHITESPACE = frozenset(" \t\r\n\x00")
_NON_FINITE = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan", "+nan", "-nan"})


def _non_finite_to_none(name: str) -> None:
    """``parse_constant`` hook: ``NaN``/``Infinity``/``-Infinity`` become ``None`` (not valid JSON anyway)."""
    del name


def excerpt(text: str | bytes, length: int = EXCERPT_LENGTH) -> str:
    """Return the first ``length`` characters of a reply in a printable, single-line form."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    shortened = text[:length]
    printable = shortened.encode("unicode_escape").decode("ascii")
    return printable + ("..." if len(text) > length else "")


def is_btminer_down_text(data: bytes) -> bool:
    """Whether ``data`` is the api daemon's ``Socket connect failed: Connection refused`` text."""
    return data.lstrip(b"\x00 \t\r\n").startswith(BTMINER_DOWN_TEXT)


def is_complete_document(data: bytes) -> bool:
    """Whether ``data`` holds one complete JSON document (trailing NULs and whitespace allowed).

    Used when a connection ends abnormally (reset, timeout) to tell a complete reply from a cut one.
    """
    text = data.decode("utf-8", errors="replace").strip(" \t\r\n\x00")
    if not text:
        return False
    try:
        json.loads(text, strict=False, parse_constant=_non_finite_to_none)
    except (ValueError, RecursionError):
        return False
    return True


def _string_end(text: str, start: int) -> int | None:
    """Index just after the string literal that opens at ``start``; ``None`` when it is not closed."""
    match = _STRING_LITERAL.match(text, start)
    return match.end() if match else None


class _Container:
    """An open ``{`` or ``[`` during the repair pass."""

    __slots__ = ("closer", "opener_index")

    def __init__(self, closer: str, opener_index: int) -> None:
        self.closer = closer
        self.opener_index = opener_index


def _repair(text: str) -> tuple[str, bool]:
    """``text`` with the firmware JSON defects listed in the module docstring repaired, and whether the document was cut
    short (a truncated reply closed after its last complete member).

    String literals are copied unchanged; whitespace outside strings is dropped. The result is
    meant for ``json.loads(..., strict=False)``; it may still be invalid when the damage is of
    another kind, and then the parse fails as it should.
    """
    out: list[str] = []
    stack: list[_Container] = []
    # Kind of the last significant token: start, open, comma, colon or value.
    last = "start"
    # Where to cut a truncated document: output length at the last comma and the containers then open.
    last_comma: tuple[int, tuple[_Container, ...]] | None = None
    truncated = False
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char in _WHITESPACE:
            index += 1
            continue
        if char == '"':
            end = _string_end(text, index)
            if end is None:
                truncated = True
                break
            if last == "value" and stack:
                out.append(",")
            out.append(text[index:end])
            last = "value"
            index = end
            continue
        if char in "{[":
            if last == "value" and stack:
                out.append(",")
            stack.append(_Container("}" if char == "{" else "]", len(out)))
            out.append(char)
            last = "open"
        elif char in "}]":
            if last == "comma":
                out.pop()
            if stack:
                out.append(stack.pop().closer)
            else:
                out.append(char)
            last = "value"
        elif char == ",":
            if last == "start":
                stack.append(_Container("}", len(out)))
                out.append("{")
                last = "open"
            elif last == "value":
                out.append(",")
                last = "comma"
                last_comma = (len(out) - 1, tuple(stack))
            # a comma after "[", "{", "," or ":" is dropped
        elif char == ":":
            if stack and stack[-1].closer == "]":
                # a list written like a dict: make this list an object
                stack[-1].closer = "}"
                out[stack[-1].opener_index] = "{"
            out.append(":")
            last = "colon"
        else:
            end = index
            while end < length and text[end] not in _STRUCTURAL:
                end += 1
            token = text[index:end]
            if last == "value" and stack:
                out.append(",")
            out.append("null" if token.lower() in _NON_FINITE else token)
            last = "value"
            index = end
            continue
        index += 1

    cut_short = (truncated or bool(stack)) and last_comma is not None
    if cut_short:
        cut, open_containers = last_comma
        out = out[:cut] + [container.closer for container in reversed(open_containers)]
    return "".join(out), cut_short


def parse_reply_detailed(data: bytes) -> tuple[dict[str, Any], bool]:
    """Parse a reply into a dict, repairing firmware JSON defects only when a strict parse fails, and
    say whether the reply was truncated, i.e. the dict holds only its first part.

    A truncated reply parses to the members before the cut. That salvages a reply the firmware
    cut off, but its lists may lack entries and its objects fields, so a caller that decides
    from a reply (what to write, whether it is written) must not take it for the whole.

    Raises:
        MalformedReplyError: the reply is not a JSON object even after the repairs.
    """
    text = data.decode("utf-8", errors="replace")
    cut_short = False
    try:
        document = json.loads(text, parse_constant=_non_finite_to_none)
    except (ValueError, RecursionError):
        repaired, cut_short = _repair(text)
        try:
            document = json.loads(repaired, strict=False, parse_constant=_non_finite_to_none)
        except (ValueError, RecursionError) as exc:
            if isinstance(exc, json.JSONDecodeError):
                reason = f"the reply is not valid JSON, even after repairs ({exc.msg})"
            else:
                reason = "the reply is not valid JSON" if isinstance(exc, ValueError) else f"the reply is nested more than {MAX_NESTING} levels deep"
            raise MalformedReplyError(reason, excerpt=excerpt(text)) from None
    if not isinstance(document, dict):
        raise MalformedReplyError("the reply is not a JSON object", excerpt=excerpt(text))
    if _nesting(document) > MAX_NESTING:
        raise MalformedReplyError(f"the reply is nested more than {MAX_NESTING} levels deep", excerpt=excerpt(text))
    return document, cut_short


def _nesting(document: Any) -> int:
    """How many levels of lists and objects ``document`` nests (without recursion)."""
    deepest = 0
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return deepest


# ---------------------------------------------------------------------------------------------
# Envelope helpers. Two shapes exist: the cgminer shape, where STATUS is a list holding one status
# object ({"STATUS":[{"STATUS":"S","Code":11,"Msg":"Summary",...}],"SUMMARY":[...]}), and the api
# daemon shape, where the reply itself is the status object ({"STATUS":"S","Code":131,"Msg":{...}}).


def _status_record(reply: dict[str, Any]) -> dict[str, Any]:
    """The object that holds STATUS/Code/Msg in either envelope shape."""
    status = reply.get("STATUS")
    if isinstance(status, list) and status and isinstance(status[0], dict):
        return status[0]
    return reply


def reply_status(reply: dict[str, Any]) -> str | None:
    """The STATUS letter of a reply (``"S"``, ``"I"``, ``"E"``, ...), ``None`` when there is none."""
    status = _status_record(reply).get("STATUS")
    return status if isinstance(status, str) else None


def is_success(reply: dict[str, Any]) -> bool:
    """Whether the reply reports success (STATUS ``S`` or ``I``)."""
    return reply_status(reply) in SUCCESS_STATUSES


def reply_code(reply: dict[str, Any]) -> int | None:
    """The numeric ``Code`` of a reply, ``None`` when absent or not a number."""
    code = _status_record(reply).get("Code")
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        return int(code)
    return None


def reply_message(reply: dict[str, Any]) -> Any:
    """The ``Msg`` of a reply: a string, or the data object of api-daemon replies; ``None`` when absent."""
    return _status_record(reply).get("Msg")


def split_joined_reply(reply: dict[str, Any], commands: list[str]) -> dict[str, dict[str, Any]] | None:
    """Split the reply to ``"a+b+..."`` into each command's reply, in the single-command shape.

    A joined reply looks like ``{"summary":[{<summary reply>}],"pools":[{<pools reply>}],"id":1}``.
    Returns ``None`` when any command's part is missing or not shaped like that.
    """
    parts: dict[str, dict[str, Any]] = {}
    for command in commands:
        part = reply.get(command)
        if not (isinstance(part, list) and len(part) == 1 and isinstance(part[0], dict)):
            return None
        parts[command] = part[0]
    return parts
