# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Values a miner reports, made safe for the fleet report (filters csv_cell and report_text).

Note that this plugin util is PRIVATE to the collection. It can have breaking changes at any time.

A miner reports text that anyone with access to it (or to its pool configuration) can choose:
pool users, mining-off reasons, firmware strings. The fleet report puts that text in a CSV file
that people open in spreadsheets, in an HTML page and in a table on the terminal. So:

* ``report_text`` replaces every control character (C0, DEL, C1), line and paragraph separator
  and bidirectional-override character: whitespace controls (tab, line feed, carriage return,
  vertical tab, form feed) and separators become a space, the others U+FFFD (the replacement
  character), so that no cell, line or terminal can be broken or spoofed.
* ``csv_cell`` makes one CSV field, following OWASP's advice against CSV (formula) injection:
  text is cleaned by ``report_text``; text that a spreadsheet could take for a formula (its first
  character, ignoring leading whitespace, is ``=``, ``+``, ``-`` or ``@``, also in their full-width
  forms, or it started with a tab or carriage return) gets a single quote in front; and every
  text field is quoted, with its double quotes doubled. Numbers and booleans are written as they
  are, and ``None`` as an empty field.
"""

from __future__ import annotations

import unicodedata
from typing import Any

REPLACEMENT_CHARACTER = "\ufffd"
WHITESPACE_CONTROLS = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u2028\u2029")
# Bidirectional embeddings, overrides and isolates: they reorder what a reader sees.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# The first characters with which a spreadsheet starts a formula (with their full-width forms).
FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
LIST_SEPARATOR = "; "


def report_text(value: Any) -> str:
    """``value`` as text without control, separator or bidirectional-override characters."""
    text = "" if value is None else str(value)
    cleaned = []
    for character in text:
        if character in WHITESPACE_CONTROLS:
            cleaned.append(" ")
        elif character in BIDI_CONTROLS or unicodedata.category(character) == "Cc":
            cleaned.append(REPLACEMENT_CHARACTER)
        else:
            cleaned.append(character)
    return "".join(cleaned)


def csv_cell(value: Any) -> str:
    """One CSV field for ``value``, safe to open in a spreadsheet (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        text = LIST_SEPARATOR.join(report_text(item) for item in value)
        started_with_control = bool(value) and str(value[0])[:1] in ("\t", "\r")
    else:
        text = report_text(value)
        started_with_control = str(value)[:1] in ("\t", "\r")
    if started_with_control or text.lstrip()[:1] in FORMULA_STARTS:
        text = "'" + text
    return '"' + text.replace('"', '""') + '"'
