# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures of the unit tests.

The collection must be importable as ``ansible_collections.hashfarm.whatsminer``: ``make test``
puts the staged collection's root on ``PYTHONPATH``. When it is not (a bare ``pytest tests/unit``
in a checkout), this file links the checkout into a temporary ``ansible_collections`` tree.
"""

from __future__ import annotations

import atexit
import importlib
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import pytest


def _make_collection_importable() -> None:
    try:
        importlib.import_module("ansible_collections.hashfarm.whatsminer.plugins.module_utils")
        return
    except ImportError:
        pass
    root = Path(tempfile.mkdtemp(prefix="hashfarm-collection-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)  # removes the link, never follows it
    namespace = root / "ansible_collections" / "hashfarm"
    namespace.mkdir(parents=True)
    (namespace / "whatsminer").symlink_to(Path(__file__).resolve().parents[2], target_is_directory=True)
    sys.path.insert(0, str(root))
    for name in [module for module in sys.modules if module == "ansible_collections" or module.startswith("ansible_collections.")]:
        del sys.modules[name]


_make_collection_importable()

# pylint: disable=wrong-import-position
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_miner import Action, CountingConnect, ScriptedMiner  # noqa: E402


@pytest.fixture
def scripted_miner() -> Iterator[Callable[..., ScriptedMiner]]:
    """Start scripted loopback miners: ``scripted_miner(Reply(b"..."), Silent(), lifetime=10)``.

    Every server started through the fixture is stopped and its thread joined at teardown; a
    server that recorded an internal error fails the test.
    """
    servers: list[ScriptedMiner] = []

    def start(*actions: Action, lifetime: float = 10.0) -> ScriptedMiner:
        server = ScriptedMiner(list(actions), lifetime=lifetime).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    errors = [error for server in servers for error in server.errors]
    assert not errors, f"scripted miner errors: {errors}"


@pytest.fixture
def count_connects(monkeypatch: pytest.MonkeyPatch) -> Callable[..., CountingConnect]:
    """Replace ``socket.create_connection`` by a ``CountingConnect``: ``counter = count_connects(failures={2: ConnectionRefusedError()})``."""

    def install(**options: object) -> CountingConnect:
        counter = CountingConnect(**options)  # type: ignore[arg-type]
        monkeypatch.setattr(socket, "create_connection", counter)
        return counter

    return install
