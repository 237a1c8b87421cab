"""Fleets for test suites: started with test timings, always stopped.

``FleetStarter`` is what a pytest fixture yields: calling it starts a fleet (``Fleet.start``
options, with the starter's defaults and fast timings merged in); leaving the ``with`` block stops
every fleet it started, whatever the test did.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from whatsminer_sim.fleet import Fleet


class FleetStarter:
    """Start fleets with shared defaults; stop them all on exit."""

    def __init__(self, config: dict[str, Any] | None = None, **defaults: Any) -> None:
        self.config = dict(config or {})
        self.defaults = defaults
        self.fleets: list[Fleet] = []

    def __call__(self, **options: Any) -> Fleet:
        """Start a fleet; ``options["config"]`` overrides single timings of the starter's config."""
        options = {**self.defaults, **options, "config": {**self.config, **options.get("config", {})}}
        fleet = Fleet.start(**options)
        self.fleets.append(fleet)
        return fleet

    def __enter__(self) -> FleetStarter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        for fleet in self.fleets:
            fleet.stop()
        self.fleets.clear()
