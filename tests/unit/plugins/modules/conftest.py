# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the module tests: run a module's main() in-process against simulated miners."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

import pytest

from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import MODULE_TEST_CONFIG, PROFILES, Fleet, FleetStarter


class ModuleResult(dict):
    """The JSON a module printed, with its warnings as plain texts."""

    @property
    def failed(self) -> bool:
        """Whether the module called fail_json."""
        return bool(self.get("failed"))

    @property
    def warnings(self) -> list[str]:
        """The texts of the warnings the module emitted."""
        return [warning["event"]["msg"] if isinstance(warning, dict) else warning for warning in self.get("warnings", [])]


@pytest.fixture(name="run_module")
def fixture_run_module(capsys: pytest.CaptureFixture) -> Callable[..., ModuleResult]:
    """Run ``main`` of a module with ``args``, in check and/or diff mode when asked."""

    def run(main: Callable[[], None], args: dict[str, Any], *, check_mode: bool = False, diff: bool = False) -> ModuleResult:
        module_args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        capsys.readouterr()
        # AnsibleModule collects warnings process-wide; each run here stands for its own process.
        module_warnings._global_warnings.clear()  # pylint: disable=protected-access
        module_warnings._global_deprecations.clear()  # pylint: disable=protected-access
        # A test that imported controller code (an action plugin) marked this process as the
        # controller, where module warnings are displayed instead of returned: run as a module does.
        saved = module_utils_internal.is_controller
        module_utils_internal.is_controller = False
        try:
            with patch_module_args(module_args), pytest.raises(SystemExit):
                main()
        finally:
            module_utils_internal.is_controller = saved
        return ModuleResult(json.loads(capsys.readouterr().out))

    return run


@pytest.fixture(name="start_fleet")
def fixture_start_fleet() -> Iterator[Callable[..., Fleet]]:
    """Start simulated fleets (fast timings, API 3 factory-password gate, own ports by default); all are stopped after the test."""
    with FleetStarter(MODULE_TEST_CONFIG, address_mode="ports") as starter:

        def start(**options: Any) -> Fleet:
            # The same password for API 2's admin and API 3's super account (the modules have one password option).
            options.setdefault("v3_password", options.get("password", "admin"))
            return starter(**options)

        yield start


@pytest.fixture(name="fleet", scope="module")
def fixture_fleet() -> Iterator[Fleet]:
    """One miner of each firmware profile (1.4.x, 2.0.x, 2024, 3.x), shared by the tests of a file."""
    fleet = Fleet.start(count=len(PROFILES), profiles=list(PROFILES), seed=7, address_mode="ports", config=MODULE_TEST_CONFIG, v3_password="admin")
    yield fleet
    fleet.stop()
