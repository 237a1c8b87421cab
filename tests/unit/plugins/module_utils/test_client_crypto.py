# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Token derivation and AES envelope (_protocol.crypto), including the golden vector of reference section 3.6."""

from __future__ import annotations

import importlib
import json
import sys

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol import crypto
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import MissingLibraryError
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_miner import MinerCrypto, capture

GOLDEN_DATA = "YJracrWpLn2XvqWuNiNqyg70K64pfivIJhwE32DXNCeyv4iYIDyJ6mJuwbGpytIy+1ActNjzqXUcgUv7vvRhuBWk2C0ndWye6W00W/WyO/k="


def test_golden_vector_key_sign_and_aes_key():
    token = json.loads(capture("misc-code-index/get_token_whatsminer-v1.3.json"))["Msg"]
    assert (token["salt"], token["time"], token["newsalt"]) == ("BQ5hoXV9", "5039", "P5NTAcEp")
    key = crypto.derive_key("admin", token["salt"])
    assert key == "RxmaDUO33TS7O26yeMHZ81"
    assert crypto.derive_sign(key, token["time"], token["newsalt"]) == "W7vZynrBZBwIIjR5dvDJb0"
    assert crypto.derive_aes_key(key).hex() == "199e0a202039bb7b558db7a54697dca29cb278055b7e659a127fb844d5a2fbf6"


def test_golden_vector_request_envelope(aes_library):
    session = crypto.derive_session("admin", "BQ5hoXV9", "5039", "P5NTAcEp")
    wire = crypto.encrypt_request(session, "power_off", {"respbefore": "true"})
    assert json.loads(wire) == {"enc": 1, "data": GOLDEN_DATA}
    assert wire == b'{"enc": 1, "data": "' + GOLDEN_DATA.encode() + b'"}'


def test_request_decrypts_on_the_miner_side(aes_library):
    miner = MinerCrypto("s3cret-pw", salt="abcdEFGH")
    miner.token_reply(newsalt="zyxwVUTS", token_time="1234")
    session = crypto.derive_session("s3cret-pw", "abcdEFGH", "1234", "zyxwVUTS")
    wire = crypto.encrypt_request(session, "update_pools", {"pool1": "stratum+tcp://p:3333", "worker1": "w.1", "passwd1": "x"})
    request = miner.decrypt_request(wire)
    assert request == {"cmd": "update_pools", "pool1": "stratum+tcp://p:3333", "worker1": "w.1", "passwd1": "x", "token": miner.issued_signs[-1]}
    assert list(request)[0] == "cmd" and list(request)[-1] == "token"


@pytest.mark.parametrize("padding", ["zero", "pkcs7"])
@pytest.mark.parametrize("msg", ["API command OK", "API command OK!!", {"complete": "false", "msg": "wait for adjust temp"}])
def test_reply_round_trip_with_zero_and_pkcs7_padding(aes_library, padding, msg):
    miner = MinerCrypto("s3cret-pw")
    session = crypto.derive_session("s3cret-pw", miner.salt, "5039", "P5NTAcEp")
    body = {"STATUS": "S", "When": 1, "Code": 131, "Msg": msg, "Description": ""}
    envelope = json.loads(miner.encrypt_reply(body, padding=padding))
    assert json.loads(crypto.decrypt_reply(session, envelope["enc"])) == body


def test_pkcs7_padding_of_a_full_block_is_removed(aes_library):
    # 16-byte plaintext: PKCS#7 appends a whole block of 0x10 bytes.
    miner = MinerCrypto("pw")
    session = crypto.derive_session("pw", miner.salt, "1", "P5NTAcEp")
    body = {"Msg": "ok1234"}
    assert len(json.dumps(body, separators=(",", ":"))) == 16
    envelope = json.loads(miner.encrypt_reply(body, padding="pkcs7"))
    assert json.loads(crypto.decrypt_reply(session, envelope["enc"])) == body


@pytest.mark.parametrize("encrypted", ["not base64 at all!", "", "QUJD"])
def test_undecryptable_reply_raises_value_error(aes_library, encrypted):
    session = crypto.derive_session("pw", "BQ5hoXV9", "1", "P5NTAcEp")
    with pytest.raises(ValueError):
        crypto.decrypt_reply(session, encrypted)


def test_invalid_salt_raises_value_error():
    with pytest.raises(ValueError):
        crypto.derive_key("admin", "bad$salt!")


def test_session_repr_hides_secrets():
    session = crypto.derive_session("admin", "BQ5hoXV9", "5039", "P5NTAcEp")
    assert "W7vZ" not in repr(session) and "hidden" in repr(session)


@pytest.mark.parametrize("missing, library", [("without_passlib", "passlib"), ("without_aes_library", "pycryptodome")])
def test_missing_library_is_reported_by_name(request, missing, library):
    request.getfixturevalue(missing)
    with pytest.raises(MissingLibraryError) as info:
        crypto.ensure_libraries()
    assert info.value.library == library
    assert "ImportError" in info.value.import_traceback or "ModuleNotFoundError" in info.value.import_traceback
    assert f"pip install {library}" in str(info.value)


@pytest.mark.parametrize("key", [bytes(32), bytes(range(32))])
def test_both_aes_libraries_give_the_same_bytes(monkeypatch, key):
    plaintext = bytes(range(256)) * 2
    importlib.import_module(crypto.LOADED_CRYPTOGRAPHY_CIPHERS)
    with_cryptography = crypto.aes_ecb(key)
    monkeypatch.setitem(sys.modules, crypto.LOADED_CRYPTOGRAPHY_CIPHERS, None)
    with_pycryptodome = crypto.aes_ecb(key)
    assert type(with_cryptography).__name__ == "_CryptographyEcb"
    assert type(with_pycryptodome).__module__.split(".")[0] in ("Crypto", "Cryptodome")
    ciphertext = with_cryptography.encrypt(plaintext)
    assert ciphertext == with_pycryptodome.encrypt(plaintext) != plaintext
    assert with_pycryptodome.decrypt(ciphertext) == with_cryptography.decrypt(ciphertext) == plaintext


def test_loaded_cryptography_makes_pycryptodome_unnecessary(without_pycryptodome):
    importlib.import_module(crypto.LOADED_CRYPTOGRAPHY_CIPHERS)
    crypto.ensure_libraries()
    session = crypto.derive_session("admin", "BQ5hoXV9", "5039", "P5NTAcEp")
    assert json.loads(crypto.encrypt_request(session, "power_off", {"respbefore": "true"}))["data"] == GOLDEN_DATA
