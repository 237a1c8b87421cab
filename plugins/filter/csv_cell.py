# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter csv_cell: one CSV field, safe to open in a spreadsheet."""

from __future__ import annotations

DOCUMENTATION = r"""
name: csv_cell
author: hashfarm maintainers (@hashfarm)
version_added: 0.1.0
short_description: One CSV field, safe to open in a spreadsheet (no formula injection)
description:
  - Turns a value into one field of a CSV file, as the fleet report of C(hashfarm.whatsminer.facts)
    writes it, so that text a miner reports (pool users, mining-off reasons) cannot run as a
    spreadsheet formula or break the file (OWASP, CSV injection).
  - Text loses its control characters (see P(hashfarm.whatsminer.report_text#filter)); text whose
    first character, leading whitespace aside, is C(=), C(+), C(-) or C(@) (also in full-width
    form), or that started with a tab or carriage return, gets a single quote (C(')) in front, so
    that spreadsheets show it as text. Every text field is quoted, its double quotes doubled.
  - Numbers and booleans (C(true), C(false)) are written as they are, V(null) as an empty field, and
    a list as its items joined with C(; ).
positional: _input
options:
  _input:
    description: The value of the field.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: A CSV line of two values
  ansible.builtin.debug:
    msg: "{{ ['=HYPERLINK(\"http://example.com\")', 42] | map('hashfarm.whatsminer.csv_cell') | join(',') }}"
  # "'=HYPERLINK(""http://example.com"")",42
"""

RETURN = r"""
_value:
  description: The CSV field, quoted when it is text.
  type: str
"""

from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._report_cells import csv_cell


class FilterModule:
    """The filter of this file."""

    def filters(self) -> dict:
        return {"csv_cell": csv_cell}
