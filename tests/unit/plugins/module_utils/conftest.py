# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the module_utils tests."""

from __future__ import annotations

import importlib
import sys

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol import crypto


@pytest.fixture(params=["cryptography", "pycryptodome"])
def aes_library(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with each AES library ``crypto.aes_ecb`` can use.

    ``cryptography``: its ciphers are already imported, as in Ansible's controller processes.
    ``pycryptodome``: they are not (``sys.modules`` holds ``None``), as in a module's own process.
    """
    if request.param == "cryptography":
        importlib.import_module(crypto.LOADED_CRYPTOGRAPHY_CIPHERS)
    else:
        monkeypatch.setitem(sys.modules, crypto.LOADED_CRYPTOGRAPHY_CIPHERS, None)
    return request.param


@pytest.fixture
def without_pycryptodome(monkeypatch: pytest.MonkeyPatch) -> None:
    """pycryptodome cannot be imported (``None`` in ``sys.modules`` makes ``import`` raise ImportError)."""
    for name in ("Crypto", "Crypto.Cipher", "Cryptodome", "Cryptodome.Cipher"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture
def without_aes_library(monkeypatch: pytest.MonkeyPatch, without_pycryptodome: None) -> None:  # pylint: disable=redefined-outer-name,unused-argument
    """No AES at all: no pycryptodome, and cryptography's ciphers not loaded (a module's own process)."""
    monkeypatch.setitem(sys.modules, crypto.LOADED_CRYPTOGRAPHY_CIPHERS, None)


@pytest.fixture
def without_passlib(monkeypatch: pytest.MonkeyPatch) -> None:
    """passlib (or libpass) cannot be imported."""
    for name in ("passlib", "passlib.hash"):
        monkeypatch.setitem(sys.modules, name, None)
