# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helpers for API 3: a scripted loopback miner that speaks length-prefixed frames, and the
miner side of API 3's token and parameter encryption, written independently of ``_protocol.crypto``.

``ScriptedV3Miner`` plays the same actions as ``ScriptedMiner`` (``Reply``, ``Silent``,
``CloseWithoutReply``, ``Reset``), one per connection, but a request is complete when its 4-byte
little-endian length and that many bytes have arrived. ``Reply.data`` is sent as is, so tests
build exact frames with ``frame()`` (or broken ones by hand).
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from contextlib import contextmanager
from typing import Any, Iterator

from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_miner import Action, ScriptedMiner

LENGTH = struct.Struct("<I")


def frame(payload: Any) -> bytes:
    """A frame: length prefix + JSON (``payload`` may be raw bytes)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return LENGTH.pack(len(body)) + body


def v3_reply(code: int, msg: Any, desc: str = "", when: int = 1773869570) -> bytes:
    """An API 3 reply frame ``{"code", "when", "msg", "desc"}``."""
    return frame({"code": code, "when": when, "msg": msg, "desc": desc})


def request_of(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request frame (its length prefix checked)."""
    (length,) = LENGTH.unpack(raw[:4])
    assert len(raw) == 4 + length, "the request frame length does not match its body"
    return json.loads(raw[4:].decode("utf-8"))


def command_key(command: str, password: str, salt: str, ts: Any) -> bytes:
    """SHA-256 of ``command + password + salt + str(ts)``, written from the reference (section 7.2)."""
    return hashlib.sha256(f"{command}{password}{salt}{ts}".encode("utf-8")).digest()


def expected_token(command: str, password: str, salt: str, ts: Any) -> str:
    """First 8 characters of the base64 of the key."""
    return base64.b64encode(command_key(command, password, salt, ts)).decode("ascii")[:8]


def decrypt_param(key: bytes, text: str) -> Any:
    """The JSON inside an encrypted ``param`` (PKCS#7 padding checked)."""
    from Crypto.Cipher import AES  # pylint: disable=import-outside-toplevel

    plain = AES.new(key, AES.MODE_ECB).decrypt(base64.b64decode(text))
    pad = plain[-1]
    assert 1 <= pad <= 16 and plain.endswith(bytes([pad]) * pad), "not PKCS#7 padded"
    return json.loads(plain[:-pad].decode("utf-8"))


class ScriptedV3Miner(ScriptedMiner):
    """``ScriptedMiner`` whose requests are length-prefixed frames."""

    @staticmethod
    def request_complete(data: bytes) -> bool:
        """Whether ``data`` holds a whole frame: the 4-byte length and that many bytes."""
        return len(data) >= LENGTH.size and len(data) >= LENGTH.size + LENGTH.unpack(data[:LENGTH.size])[0]


@contextmanager
def scripted_v3_miner(*actions: Action, lifetime: float = 10.0) -> Iterator[ScriptedV3Miner]:
    """Start a ``ScriptedV3Miner``, stop it afterwards and fail on server-side errors."""
    server = ScriptedV3Miner(list(actions), lifetime=lifetime).start()
    try:
        yield server
    finally:
        server.stop()
    assert not server.errors, f"scripted miner errors: {server.errors}"
