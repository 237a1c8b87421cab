# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``ModuleFailure``: how a module's logic fails by itself (the miner and the network fail with ``_protocol.errors``).

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

The option checks and the resource logic raise it; the runner (``_runner``), the in-process path
and the fleet action turn it into the failed result. It has a module of its own so that the
resource logic does not import the runner that calls it.
"""

from __future__ import annotations

from typing import Any


class ModuleFailure(Exception):
    """A failure the logic detected itself (e.g. invalid input); ``details`` go into the result."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
