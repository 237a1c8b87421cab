# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter report_text: text without control characters, for reports and terminals."""

from __future__ import annotations

DOCUMENTATION = r"""
name: report_text
author: hashfarm maintainers (@hashfarm)
version_added: 0.1.0
short_description: Text without control characters, for reports and terminals
description:
  - Replaces, in text a miner reports, every control character (C0, DEL, C1), line and paragraph
    separator and bidirectional-override character, so that it cannot break a line or a table,
    send escape sequences to a terminal or reorder what a reader sees. The fleet report of
    C(hashfarm.whatsminer.facts) uses it for its HTML page and its table.
  - Tab, line feed, carriage return, vertical tab, form feed and the separators become a space;
    the others become U+FFFD, the replacement character. V(null) becomes an empty string.
positional: _input
options:
  _input:
    description: The value; it is turned into text first.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: One line, whatever the miner reported
  ansible.builtin.debug:
    msg: "{{ ansible_facts.whatsminer_status.mineroff_reason | hashfarm.whatsminer.report_text }}"
"""

RETURN = r"""
_value:
  description: The text, with the characters above replaced.
  type: str
"""

from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._report_cells import report_text


class FilterModule:
    """The filter of this file."""

    def filters(self) -> dict:
        return {"report_text": report_text}
