"""A small API 3 client written for the tests, independent of the simulator's and the collection's code.

Framing (4-byte little-endian length + JSON), the token (base64 of SHA-256, first 8 characters)
and the AES-256-ECB parameter encryption are written here directly with hashlib and
pycryptodome, following reference section 7.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import time
from typing import Any

from Crypto.Cipher import AES

TIMEOUT_S = 5.0


def frame(payload: Any) -> bytes:
    """Length prefix + compact JSON (``payload`` may also be raw bytes)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    return struct.pack("<I", len(body)) + body


def receive_exactly(sock: socket.socket, count: int) -> bytes:
    """``count`` bytes, or fewer when the peer closes first."""
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return data


def receive_frame(sock: socket.socket) -> dict[str, Any] | None:
    """One reply frame as a dict; None when the connection ends before a whole frame."""
    header = receive_exactly(sock, 4)
    if len(header) < 4:
        return None
    (length,) = struct.unpack("<I", header)
    body = receive_exactly(sock, length)
    if len(body) < length:
        return None
    return json.loads(body.decode("utf-8"))


def connect(miner: Any, timeout: float = TIMEOUT_S) -> socket.socket:
    """A connection to the miner's API 3 listener."""
    return socket.create_connection((miner.host, miner.v3_port), timeout=timeout)


def request(miner: Any, payload: Any, timeout: float = TIMEOUT_S) -> dict[str, Any] | None:
    """Send one request on a fresh connection and return the reply."""
    with connect(miner, timeout) as sock:
        sock.sendall(frame(payload))
        return receive_frame(sock)


def get(miner: Any, command: str, param: Any = None) -> dict[str, Any]:
    """A read (``get.*``); ``param`` is left out when None."""
    payload: dict[str, Any] = {"cmd": command}
    if param is not None:
        payload["param"] = param
    reply = request(miner, payload)
    assert reply is not None
    return reply


def digest(command: str, password: str, salt: str, ts: int) -> bytes:
    """SHA-256 of ``command + password + salt + str(ts)`` (raw bytes: the token source and the AES key)."""
    return hashlib.sha256(f"{command}{password}{salt}{ts}".encode("utf-8")).digest()


def token(command: str, password: str, salt: str, ts: int) -> str:
    """The 8-character token of reference section 7.2."""
    return base64.b64encode(digest(command, password, salt, ts)).decode("ascii")[:8]


def encrypt(key: bytes, text: str, padding: str = "pkcs7") -> str:
    """base64(AES-256-ECB(key, text)) with PKCS#7 (LONGR59, matroskin) or zero padding (asic-rs)."""
    raw = text.encode("utf-8")
    if padding == "pkcs7":
        count = 16 - len(raw) % 16
        raw += bytes([count]) * count
    else:
        raw += b"\0" * (-len(raw) % 16)
    return base64.b64encode(AES.new(key, AES.MODE_ECB).encrypt(raw)).decode("ascii")


class WriterV3:
    """Signed ``set.*`` requests for one account."""

    def __init__(self, miner: Any, password: str = "super", account: str = "super") -> None:
        self.miner = miner
        self.password = password
        self.account = account
        self.salt = get(miner, "get.device.info", "salt")["msg"]["salt"]

    def payload(self, command: str, param: Any = None, *, ts: int | None = None, encrypt_param: bool = False,
                padding: str = "pkcs7") -> dict[str, Any]:
        """The request object of a signed command."""
        ts = int(time.time()) if ts is None else ts
        if encrypt_param:
            text = param if isinstance(param, str) else json.dumps(param)
            param = encrypt(digest(command, self.password, self.salt, ts), text, padding)
        body: dict[str, Any] = {"cmd": command}
        if param is not None:
            body["param"] = param
        body.update({"ts": ts, "token": token(command, self.password, self.salt, ts), "account": self.account})
        return body

    def call(self, command: str, param: Any = None, **options: Any) -> dict[str, Any] | None:
        """Send a signed command; the reply (None when the miner closes without one)."""
        return request(self.miner, self.payload(command, param, **options))
