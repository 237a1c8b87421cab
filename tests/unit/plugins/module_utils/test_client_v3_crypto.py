# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""API 3 token and parameter encryption (crypto.v3_*) with fixed vectors, and lazy crypto imports."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from Crypto.Cipher import AES

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol import crypto
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import MissingLibraryError
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.fresh_interpreter import run_import_report
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_v3_miner import command_key, decrypt_param, expected_token

# The salt of the real M60S capture (asic-rs-fixtures/v3_get.device.info_M60SVK40.json), its
# "when" as ts, and the factory password of "super". The literal values below were computed with
# hashlib/pycryptodome and cross-checked with ``openssl dgst -sha256 -binary | base64`` and
# ``openssl enc -aes-256-ecb``.
SALT = "uhCiDyVj"
TS = 1773869570
POOLS_TEXT = '[{"pool": "stratum+tcp://pool.example:3333", "worker": "farm.rig1", "passwd": "x"}]'
POOLS_CIPHERTEXT = (
    "ovncPAzk5QTEbc6f7YWOOVV9OLexVLP09pRIuz1zQk5Gql0n2wW/jCpUtVxmEM5sfWCTNnM3ChM/90wxtoC0YqUbNFGwNPC1Xjug5PM1sO8mVkxZoLHMJd0yQNKq/uVp"
)


@pytest.mark.parametrize("command, key_hex, token", [
    ("set.miner.power_mode", "fbe17e55e00095a91e983495424f0d8817961d38f7f202f2ed6fe80c53a58209", "++F+VeAA"),
    ("set.miner.pools", "68d4a0f85f79075e095ec2ecb3fffc2bc012b6f47ed468af5a22b87ff12165b4", "aNSg+F95"),
    ("set.system.reboot", "648c56a94a876ab7357c10f39a9777d5008257b76e5e0974d714de53bf5f1b7b", "ZIxWqUqH"),
])
def test_token_vectors(command: str, key_hex: str, token: str) -> None:
    key = crypto.v3_command_key(command, "super", SALT, TS)
    assert key.hex() == key_hex
    assert crypto.v3_token(key) == token
    # and the independent computation of the test helper agrees
    assert key == command_key(command, "super", SALT, TS)
    assert token == expected_token(command, "super", SALT, TS)


def test_token_depends_on_every_input() -> None:
    base = crypto.v3_token(crypto.v3_command_key("set.miner.service", "super", SALT, TS))
    others = {
        crypto.v3_token(crypto.v3_command_key("set.miner.service", "Super", SALT, TS)),
        crypto.v3_token(crypto.v3_command_key("set.miner.service", "super", SALT.lower(), TS)),
        crypto.v3_token(crypto.v3_command_key("set.miner.service", "super", SALT, TS + 1)),
        crypto.v3_token(crypto.v3_command_key("set.miner.power_mode", "super", SALT, TS)),
    }
    assert base not in others and len(others) == 4
    assert all(len(token) == 8 for token in others | {base})


def test_non_ascii_password_is_utf8() -> None:
    expected = hashlib.sha256("set.system.rebootpässwort" f"{SALT}{TS}".encode("utf-8")).digest()
    assert crypto.v3_command_key("set.system.reboot", "pässwort", SALT, TS) == expected


def test_param_encryption_vector(aes_library: str) -> None:
    key = crypto.v3_command_key("set.miner.pools", "super", SALT, TS)
    assert crypto.v3_encrypt_param(key, POOLS_TEXT) == POOLS_CIPHERTEXT
    assert decrypt_param(key, POOLS_CIPHERTEXT) == json.loads(POOLS_TEXT)


@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 31, 32, 100])
def test_param_encryption_pads_with_pkcs7(aes_library: str, length: int) -> None:
    key = crypto.v3_command_key("set.miner.pools", "pw", "salt1234", 1)
    text = "x" * length
    raw = AES.new(key, AES.MODE_ECB).decrypt(base64.b64decode(crypto.v3_encrypt_param(key, text)))
    pad = 16 - length % 16
    assert raw == text.encode() + bytes([pad]) * pad


def test_param_encryption_without_pycryptodome(without_aes_library: None) -> None:
    key = crypto.v3_command_key("set.miner.pools", "pw", "salt1234", 1)
    assert crypto.v3_token(key)  # the token needs no third-party library
    with pytest.raises(MissingLibraryError) as caught:
        crypto.v3_encrypt_param(key, "[]")
    assert caught.value.library == "pycryptodome"


SCRIPT = r"""
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api3 import WhatsminerV3Client
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_miner import Reply
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_v3_miner import ScriptedV3Miner, v3_reply

report = {"after_import": loaded()}
server = ScriptedV3Miner([
    Reply(v3_reply(0, {"salt": "uhCiDyVj"}, "get.device.info")),
    Reply(v3_reply(0, {"summary": {}}, "get.miner.status")),
    Reply(v3_reply(0, "ok", "set.miner.power_mode")),
]).start()
try:
    client = WhatsminerV3Client(server.host, server.port, password="super", retries=0)
    client.salt()
    client.read_status(["summary"])
    client.privileged("set.miner.power_mode", "low")
    report["after_reads_and_unencrypted_write"] = loaded()
finally:
    server.stop()
print(json.dumps(report))
"""


def test_reads_and_plain_writes_do_not_import_crypto_libraries() -> None:
    report = run_import_report(SCRIPT, timeout=60)
    assert report["after_import"] == []
    assert report["after_reads_and_unencrypted_write"] == []
