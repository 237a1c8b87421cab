# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter of the execution_paths target: ``result | without_live_values`` (tests/unit/helpers/live_values.py)."""

from __future__ import annotations

from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.live_values import without_live_values


class FilterModule:
    """Filters of the execution_paths target."""

    def filters(self) -> dict:
        """The filter names."""
        return {"without_live_values": without_live_values}
