"""Server side of the privileged API: token issue, key derivation, AES-256-ECB.

Derivation (reference section 3.2)::

    key    = md5crypt(admin_password, salt) body (after the third '$')
    sign   = md5crypt(key + time, newsalt) body          # the client sends it as "token"
    aeskey = sha256(key) raw 32 bytes
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from Crypto.Cipher import AES

with warnings.catch_warnings():
    # passlib 1.7 imports the stdlib ``crypt`` module, deprecated since Python 3.11.
    warnings.filterwarnings("ignore", "'crypt' is deprecated", DeprecationWarning)
    from passlib.hash import md5_crypt

SALT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

#: The factory password's salt as seen in the vendor document and on a real miner.
KNOWN_SALTS = {"admin": "BQ5hoXV9"}


class DecryptError(Exception):
    """The request cannot be decrypted to a JSON object (wrong password or corrupt data)."""


class Base64Error(Exception):
    """The ``data`` field of an encrypted request is not valid base64."""


def md5crypt_body(word: str, salt: str) -> str:
    """The part of ``$1$salt$body`` after the third ``$``."""
    return md5_crypt.using(salt=salt).hash(word).split("$")[3]


@lru_cache(maxsize=256)
def password_salt(password: str) -> str:
    """The md5-crypt salt of the stored admin password hash: constant per password."""
    if password in KNOWN_SALTS:
        return KNOWN_SALTS[password]
    digest = hashlib.sha256(("whatsminer-sim-salt:" + password).encode("utf-8")).digest()
    return "".join(SALT_ALPHABET[byte % len(SALT_ALPHABET)] for byte in digest[:8])


@lru_cache(maxsize=256)
def password_key(password: str) -> str:
    """``key`` of the derivation: md5crypt(password, salt) body."""
    return md5crypt_body(password, password_salt(password))


def derive_sign(key: str, time_text: str, newsalt: str) -> str:
    """``sign`` of the derivation: md5crypt(key + time, newsalt) body."""
    return md5crypt_body(key + time_text, newsalt)


def aes_key(key: str) -> bytes:
    """``aeskey`` of the derivation: the raw SHA-256 digest of ``key``."""
    return hashlib.sha256(key.encode("ascii")).digest()


def strip_padding(plain: bytes) -> bytes:
    """Remove valid PKCS#7 padding, then trailing zero bytes (clients use either)."""
    if plain:
        pad = plain[-1]
        if 1 <= pad <= AES.block_size and plain.endswith(bytes([pad]) * pad):
            plain = plain[:-pad]
    return plain.rstrip(b"\0")


def decrypt_request(aeskey: bytes, data: Any) -> dict[str, Any]:
    """Decode an ``{"enc":1,"data":...}`` payload into the command object.

    Raises Base64Error for bad base64 and DecryptError when the plaintext is not a JSON
    object (which is what a wrong password produces).
    """
    if not isinstance(data, str):
        raise Base64Error("data is not a string")
    compact = "".join(data.split())
    try:
        cipher_bytes = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as error:
        raise Base64Error(str(error)) from error
    if not cipher_bytes or len(cipher_bytes) % AES.block_size:
        raise DecryptError("ciphertext length is not a multiple of 16")
    plain = strip_padding(AES.new(aeskey, AES.MODE_ECB).decrypt(cipher_bytes))
    try:
        command = json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise DecryptError("plaintext is not JSON") from error
    if not isinstance(command, dict):
        raise DecryptError("plaintext is not a JSON object")
    return command


def encrypt_text(aeskey: bytes, text: str) -> str:
    """base64(AES-256-ECB(aeskey, zero-padded UTF-8 text)), as in replies ``{"enc": ...}``."""
    raw = text.encode("utf-8")
    raw += b"\0" * (-len(raw) % AES.block_size)
    return base64.b64encode(AES.new(aeskey, AES.MODE_ECB).encrypt(raw)).decode("ascii")


@dataclass
class IssuedToken:
    """A sign handed out by get_token."""

    sign: str
    client_ip: str
    expires_at: float


@dataclass
class TokenGrant:
    """What get_token returns to the client (the sign stays on the server)."""

    time_text: str
    salt: str
    newsalt: str


class TokenLimitError(Exception):
    """Too many unexpired tokens for this client IP, or too many client IPs (code 136)."""


class TokenTable:
    """Issued signs with expiry and the per-IP / per-miner limits of the firmware."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._tokens: dict[str, IssuedToken] = {}

    def __len__(self) -> int:
        return len(self._tokens)

    def clear(self) -> None:
        """Forget every token (reboot, password change)."""
        self._tokens.clear()

    def _expire(self, now: float) -> None:
        """Drop expired tokens."""
        for sign in [sign for sign, token in self._tokens.items() if token.expires_at <= now]:
            del self._tokens[sign]

    def issue(
        self, password: str, client_ip: str, *, expiry_s: float, per_ip: int, max_ips: int,
        now: float | None = None, wall: float | None = None,
    ) -> TokenGrant:
        """Issue a token for ``client_ip``; raise TokenLimitError when a limit is reached.

        ``now`` is the monotonic clock (expiry), ``wall`` the unix time the ``time`` field is
        taken from (its last 4 digits).
        """
        now = time.monotonic() if now is None else now
        wall = time.time() if wall is None else wall
        self._expire(now)
        ips = {token.client_ip for token in self._tokens.values()}
        mine = sum(1 for token in self._tokens.values() if token.client_ip == client_ip)
        if mine >= per_ip or (client_ip not in ips and len(ips) >= max_ips):
            raise TokenLimitError(client_ip)
        time_text = str(int(wall))[-4:]
        newsalt = "".join(self._rng.choice(SALT_ALPHABET[2:]) for _char in range(8))
        sign = derive_sign(password_key(password), time_text, newsalt)
        self._tokens[sign] = IssuedToken(sign=sign, client_ip=client_ip, expires_at=now + expiry_s)
        return TokenGrant(time_text=time_text, salt=password_salt(password), newsalt=newsalt)

    def check(self, sign: Any, now: float | None = None) -> bool:
        """Tell whether ``sign`` was issued and has not expired."""
        now = time.monotonic() if now is None else now
        self._expire(now)
        return isinstance(sign, str) and sign in self._tokens
