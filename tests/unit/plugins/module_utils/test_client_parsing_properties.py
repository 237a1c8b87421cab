# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property tests: the repairs of _parsing never change valid data."""

from __future__ import annotations

import json

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.parsing import parse_reply_detailed

hypothesis = pytest.importorskip("hypothesis")
strategies = pytest.importorskip("hypothesis.strategies")

SCALARS = strategies.none() | strategies.booleans() | strategies.integers() | strategies.floats(allow_nan=False, allow_infinity=False) | strategies.text()
VALUES = strategies.recursive(
    SCALARS,
    lambda children: strategies.lists(children, max_size=4) | strategies.dictionaries(strategies.text(), children, max_size=4),
    max_leaves=12,
)
DOCUMENTS = strategies.dictionaries(strategies.text(), VALUES, max_size=6)
# No timing thresholds: neither a deadline nor the "input generation is slow" health check (a busy CI host stalls).
SETTINGS = hypothesis.settings(max_examples=100, deadline=None, database=None, suppress_health_check=[hypothesis.HealthCheck.too_slow])


@SETTINGS
@hypothesis.given(document=DOCUMENTS, indent=strategies.sampled_from([None, 0, 2]), ensure_ascii=strategies.booleans())
def test_valid_documents_parse_unchanged(document, indent, ensure_ascii):
    assert parse_reply_detailed(json.dumps(document, indent=indent, ensure_ascii=ensure_ascii).encode()) == (document, False)


@SETTINGS
@hypothesis.given(document=DOCUMENTS, indent=strategies.sampled_from([None, 2]), ensure_ascii=strategies.booleans())
def test_repair_path_keeps_valid_documents_unchanged(document, indent, ensure_ascii):
    # A trailing NUL makes the strict parse fail, so this exercises the repairs on valid content.
    data = json.dumps(document, indent=indent, ensure_ascii=ensure_ascii).encode() + b"\x00"
    assert parse_reply_detailed(data) == (document, False)
