# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the module tests: run a module's main() in-process against simulated miners."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._ansible_compat import as_module_process, invocation_module_argument
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
        # With invocation.module_args (ansible-core 2.21+ returns it on request only), whose no_log masking the tests check;
        # _ansible_no_log as ActionBase sets it with ANSIBLE_NO_TARGET_SYSLOG: a test writes nothing to the machine's syslog.
        module_args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff, _ansible_no_log=True, **invocation_module_argument(True))
        capsys.readouterr()
        # Each run stands for the module's own process (fresh warnings; warnings returned, not displayed).
        with patch_module_args(module_args), as_module_process(), pytest.raises(SystemExit):
            main()
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
