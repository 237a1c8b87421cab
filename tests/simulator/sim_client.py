"""A small Whatsminer client written for the tests, independent of the simulator's code.

It talks raw TCP to 127.0.0.0/8 with timeouts and implements the token/AES scheme with
passlib and pycryptodome directly, so the simulator is checked against an independent
implementation (and against pyasic in test_pyasic.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
from typing import Any

from Crypto.Cipher import AES
from passlib.hash import md5_crypt

TIMEOUT_S = 5.0


def exchange(host: str, port: int, data: bytes, timeout: float = TIMEOUT_S, source_ip: str | None = None) -> bytes:
    """Send ``data`` on a fresh connection and read until the miner closes it."""
    with socket.create_connection((host, port), timeout=timeout, source_address=(source_ip, 0) if source_ip else None) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def request(miner: Any, payload: dict[str, Any], **options: Any) -> dict[str, Any]:
    """Send a JSON object and parse the JSON reply."""
    return json.loads(exchange(miner.host, miner.port, json.dumps(payload).encode("utf-8"), **options))


def read(miner: Any, command: str, key: str = "command", **params: Any) -> dict[str, Any]:
    """A plaintext command, e.g. ``read(miner, "summary")``."""
    return request(miner, {key: command, **params})


def crypt_body(word: str, salt: str) -> str:
    """md5-crypt hash body (after the third ``$``)."""
    return md5_crypt.using(salt=salt).hash(word).split("$")[3]


def pad(raw: bytes, padding: str) -> bytes:
    """Zero padding (pyasic) or PKCS#7 (Tether / CryptoJS)."""
    if padding == "pkcs7":
        count = 16 - len(raw) % 16
        return raw + bytes([count]) * count
    return raw + b"\0" * (-len(raw) % 16)


class PrivilegedClient:
    """Token + AES-256-ECB privileged commands, the way the vendor document describes them."""

    def __init__(self, miner: Any, password: str = "admin", padding: str = "zero", key_name: str = "cmd", source_ip: str | None = None) -> None:
        self.miner = miner
        self.password = password
        self.padding = padding
        self.key_name = key_name
        self.source_ip = source_ip
        self.sign: str | None = None
        self.aeskey: bytes | None = None

    def get_token(self) -> dict[str, Any]:
        """Ask for a token and derive sign and AES key; returns the raw reply."""
        reply = request(self.miner, {"cmd": "get_token"}, source_ip=self.source_ip)
        if reply.get("Code") == 134:
            msg = reply["Msg"]
            key = crypt_body(self.password, msg["salt"])
            self.sign = crypt_body(key + msg["time"], msg["newsalt"])
            self.aeskey = hashlib.sha256(key.encode("ascii")).digest()
        return reply

    def encrypt(self, command: str, params: dict[str, Any]) -> bytes:
        """The wire bytes of an encrypted command."""
        if self.aeskey is None:
            self.get_token()
        assert self.aeskey is not None
        body = json.dumps({self.key_name: command, **params, "token": self.sign}).encode("utf-8")
        data = base64.b64encode(AES.new(self.aeskey, AES.MODE_ECB).encrypt(pad(body, self.padding))).decode("ascii")
        return json.dumps({"enc": 1, "data": data}).encode("utf-8")

    def raw(self, command: str, **params: Any) -> bytes:
        """Send a command, return the raw reply bytes (b"" when the miner closes without a reply)."""
        return exchange(self.miner.host, self.miner.port, self.encrypt(command, params), source_ip=self.source_ip)

    def decrypt(self, reply: dict[str, Any]) -> dict[str, Any]:
        """Decrypt ``{"enc": ...}``; plaintext replies are returned as they are."""
        if not isinstance(reply.get("enc"), str):
            return reply
        assert self.aeskey is not None
        plain = AES.new(self.aeskey, AES.MODE_ECB).decrypt(base64.b64decode(reply["enc"]))
        return json.loads(plain.rstrip(b"\0").decode("utf-8"))

    def call(self, command: str, **params: Any) -> dict[str, Any]:
        """Send a command and return the (decrypted) reply."""
        return self.decrypt(json.loads(self.raw(command, **params)))
