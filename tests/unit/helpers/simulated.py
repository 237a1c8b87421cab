# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Simulated miners for module tests: the simulator on sys.path and the arguments that reach it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

SIMULATOR_DIR = str(Path(__file__).resolve().parents[3] / "simulator")
if SIMULATOR_DIR not in sys.path:
    sys.path.insert(0, SIMULATOR_DIR)

from whatsminer_sim import Fleet  # noqa: E402  pylint: disable=wrong-import-position,import-error,unused-import
from whatsminer_sim.testing import FleetStarter  # noqa: E402  pylint: disable=wrong-import-position,import-error,unused-import

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import API3_WRITE_COMMANDS  # noqa: E402  pylint: disable=wrong-import-position

#: Short restart windows so that the suite stays fast.
FAST_CONFIG = {"restart_seconds": 0.3, "reboot_seconds": 0.5, "idle_timeout_s": 3.0}
#: The module tests' miners lock API 3 writes while the account has its factory password, as real
#: firmware does, so every module test that writes proves it works with a non-factory password.
MODULE_TEST_CONFIG = {**FAST_CONFIG, "factory_password_gate": True}
#: The firmware profiles the simulator has, oldest first (3.x: API 3 on its own port, reduced API 2).
PROFILES = ("1.4.x", "2.0.x", "2024", "3.x")
#: The profiles of API 2 firmware.
API2_PROFILES = PROFILES[:-1]


#: The ``api_version: auto`` probe: one ``get_version`` on port 4028 before anything else.
AUTO_PROBE = 1


def connections(miner: Any) -> int:
    """TCP connections the miner accepted so far, on its API 2 port and its API 3 port."""
    return miner.counters.connections + miner.counters.v3_connections


def tokens(miner: Any) -> int:
    """Authentication steps of writing clients so far: API tokens issued (API 2), salt reads for signing (API 3)."""
    return miner.counters.tokens_issued + miner.counters.v3_salt_reads


def api_port(miner: Any) -> int:
    """The port the modules talk to: the API 3 port of a miner that has one, else the API 2 port."""
    return miner.api3_port if miner.api3_port is not None else miner.port


def wire_commands(miner: Any, commands: list[str]) -> list[str]:
    """The names the miner logs for the modules' write commands (API 2 names): the API 3 commands on an API 3 miner."""
    return [API3_WRITE_COMMANDS[command] for command in commands] if miner.api3_port is not None else list(commands)


def connection_args(miner: Any, **extra: Any) -> dict[str, Any]:
    """Module arguments that point at a simulated miner (and at its API 3 port, which is not 4433 here, when it has one)."""
    args = {"host": miner.host, "port": miner.port, "timeout": 2.0}
    if miner.api3_port is not None:
        args["api3_port"] = miner.api3_port
    return {**args, **extra}
