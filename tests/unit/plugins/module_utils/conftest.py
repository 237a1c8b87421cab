# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the module_utils tests."""

from __future__ import annotations

import importlib
import sys

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _crypto


@pytest.fixture(params=["cryptography", "pycryptodome"])
def aes_library(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with each AES library ``_crypto.aes_ecb`` can use.

    ``cryptography``: its ciphers are already imported, as in Ansible's controller processes.
    ``pycryptodome``: they are not (``sys.modules`` holds ``None``), as in a module's own process.
    """
    if request.param == "cryptography":
        importlib.import_module(_crypto.LOADED_CRYPTOGRAPHY_CIPHERS)
    else:
        monkeypatch.setitem(sys.modules, _crypto.LOADED_CRYPTOGRAPHY_CIPHERS, None)
    return request.param
