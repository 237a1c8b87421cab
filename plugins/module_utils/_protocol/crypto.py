# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Token derivation and encryption of the Whatsminer privileged (write) API 2.x, and of API 3.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

From the ``get_token`` reply (``time``, ``salt``, ``newsalt``) and the admin password
(protocol reference, section 3):

* ``key``    = body of ``md5crypt(password, salt)`` (the part after the third ``$``);
* ``sign``   = body of ``md5crypt(key + time, newsalt)``, sent as ``"token"`` in the request;
* ``aeskey`` = ``sha256(key)`` (32 raw bytes) for AES-256-ECB.

A request is ``{"enc": 1, "data": base64(AES(zero-padded json.dumps({"cmd": ..., params..., "token": sign})))}``;
an encrypted reply is ``{"enc": "<base64>"}``.

API 3 (firmware after 2024-11, port 4433; protocol reference section 7.2) signs every ``set.*``
command on its own: ``key`` = ``sha256(command + password + salt + str(ts))`` (32 raw bytes, the
salt from ``get.device.info``), ``token`` = the first 8 characters of ``base64(key)``; sensitive
parameters (``set.miner.pools``) are ``base64(AES-256-ECB(key, PKCS#7-padded JSON))``. Only the
parameter encryption needs a third-party library.

The third-party libraries (passlib or its fork libpass for md5-crypt, pycryptodome for AES) are
imported inside the functions that need them, so reading from a miner never imports them and a
missing library surfaces as ``MissingLibraryError`` only when a privileged command is sent.

One exception is made for speed on the controller: the action plugins of the writing modules
(whatsminer_pools, whatsminer_power) call ``preload_md5_crypt`` when they are loaded. Ansible's
strategy loads an action plugin's class in the controller's main process before it forks the
workers of the task, so passlib is imported there once per run instead of once in every writing
worker (about 12 ms of CPU each; docs/performance.md). A play with only whatsminer_facts never
loads passlib; a missing passlib is ignored by the preload and still reported at the first write.

AES-256-ECB comes from pycryptodome, with one exception that imports nothing: when the process has
already imported the AES of ``cryptography`` (ansible-core's own dependency; Ansible Vault imports
it in the controller before the worker processes are forked), that module is used instead. A task
that runs in the controller's worker then writes without importing pycryptodome, whose import
costs the worker 30 to 40 ms of CPU, most of a write's cost (docs/performance.md). Both produce the
same bytes; a module that runs as its own process (delegated, or ``whatsminer_execution: module``)
imports pycryptodome as before.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import sys
import traceback
import warnings
from typing import Any

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import MissingLibraryError

AES_BLOCK_SIZE = 16
#: Distinct (password, salt) pairs whose md5-crypt key is kept (see ``derive_key``).
KEY_CACHE_SIZE = 64


def _md5_crypt_handler() -> Any:
    """Import passlib's md5-crypt handler (passlib or libpass), or raise ``MissingLibraryError``."""
    try:
        with warnings.catch_warnings():
            # passlib 1.7 imports the stdlib "crypt" module, deprecated since Python 3.11.
            warnings.filterwarnings("ignore", message=".*'crypt' is deprecated", category=DeprecationWarning)
            from passlib.hash import md5_crypt  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise MissingLibraryError("passlib", import_traceback=traceback.format_exc()) from None
    return md5_crypt


def preload_md5_crypt() -> None:
    """Import passlib's md5-crypt now when it is installed, so that processes forked later inherit it.

    Does nothing when passlib (or libpass) is missing: that is reported by the first write, as
    without the preload. See the module docstring for who calls this, and why.
    """
    try:
        _md5_crypt_handler()
    except MissingLibraryError:
        pass


#: The module of ``cryptography`` with its ciphers; used only when some other code has imported it.
LOADED_CRYPTOGRAPHY_CIPHERS = "cryptography.hazmat.primitives.ciphers"


def _pycryptodome_aes() -> Any:
    """Import pycryptodome's AES (``Crypto`` or the ``Cryptodome`` namespace), or raise ``MissingLibraryError``."""
    try:
        from Crypto.Cipher import AES  # pylint: disable=import-outside-toplevel
    except ImportError:
        failed_import = traceback.format_exc()
        try:
            from Cryptodome.Cipher import AES  # pylint: disable=import-outside-toplevel
        except ImportError:
            raise MissingLibraryError("pycryptodome", import_traceback=failed_import) from None
    return AES


class _CryptographyEcb:
    """AES-ECB of ``cryptography`` with the ``encrypt``/``decrypt`` methods of a pycryptodome cipher."""

    __slots__ = ("_cipher",)

    def __init__(self, cipher: Any) -> None:
        self._cipher = cipher

    def encrypt(self, data: bytes) -> bytes:
        context = self._cipher.encryptor()
        return context.update(data) + context.finalize()

    def decrypt(self, data: bytes) -> bytes:
        context = self._cipher.decryptor()
        return context.update(data) + context.finalize()


def aes_ecb(key: bytes) -> Any:
    """Return an AES-ECB cipher for ``key`` (32 bytes: AES-256) with ``encrypt(data)`` and ``decrypt(data)``.

    ``data`` must be whole 16-byte blocks. The cipher is ``cryptography``'s when that library's
    ciphers are already imported, else pycryptodome's, imported now (see the module docstring).

    Raises:
        MissingLibraryError: neither is available (the error names pycryptodome, the requirement).
    """
    ciphers = sys.modules.get(LOADED_CRYPTOGRAPHY_CIPHERS)
    try:
        cipher = ciphers.Cipher(ciphers.algorithms.AES(key), ciphers.modes.ECB())
    except AttributeError:  # not imported (None), blocked, or only partly imported
        aes = _pycryptodome_aes()
        return aes.new(key, aes.MODE_ECB)
    return _CryptographyEcb(cipher)


def ensure_libraries() -> None:
    """Make both libraries ready now, so a missing one is reported before anything is sent to a miner."""
    _md5_crypt_handler()
    aes_ecb(bytes(32))


def md5_crypt_body(secret: str, salt: str) -> str:
    """Return the hash body of ``md5crypt(secret, salt)``: the text after ``$1$<salt>$``.

    Raises:
        ValueError: the salt is not a valid md5-crypt salt (at most 8 characters of ``./0-9A-Za-z``).
    """
    full_hash = _md5_crypt_handler().using(salt=salt).hash(secret)
    return full_hash.split("$")[3]


class TokenSession:
    """What one ``get_token`` reply yields: the ``sign`` to send and the AES key. Never printed."""

    __slots__ = ("sign", "aes_key")

    def __init__(self, sign: str, aes_key: bytes) -> None:
        self.sign = sign
        self.aes_key = aes_key

    def __repr__(self) -> str:
        return "TokenSession(<hidden>)"


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def derive_key(password: str, salt: str) -> str:
    """Return ``key``, the md5-crypt body of the admin password with the miner's ``salt``.

    The salt is that of the password hash the miner stores, so it is the same on every miner with
    the same password: a fleet task (whatsminer_fleet_power) derives the key once per password and
    salt, not once per miner. Only ``sign`` changes with every token. The cache lives in the
    process's memory only, like the password itself.
    """
    return md5_crypt_body(password, salt)


def derive_sign(key: str, time: str, newsalt: str) -> str:
    """Return ``sign``, the md5-crypt body of ``key + time`` with ``newsalt``."""
    return md5_crypt_body(key + time, newsalt)


def derive_aes_key(key: str) -> bytes:
    """Return the AES-256 key: the raw SHA-256 digest of ``key``."""
    return hashlib.sha256(key.encode("utf-8")).digest()


def derive_session(password: str, salt: str, time: str, newsalt: str) -> TokenSession:
    """Derive the sign and AES key from the admin password and the fields of a ``get_token`` reply."""
    key = derive_key(password, salt)
    return TokenSession(sign=derive_sign(key, time, newsalt), aes_key=derive_aes_key(key))


def encrypt_request(session: TokenSession, command: str, params: dict[str, Any]) -> bytes:
    """Return the wire bytes ``{"enc": 1, "data": "<base64>"}`` of a privileged command.

    The plaintext is ``json.dumps({"cmd": command, **params, "token": sign})`` with the default
    separators, zero-padded to the AES block size.
    """
    plaintext = json.dumps({"cmd": command, **params, "token": session.sign}).encode("utf-8")
    plaintext += b"\0" * (-len(plaintext) % AES_BLOCK_SIZE)
    data = base64.b64encode(aes_ecb(session.aes_key).encrypt(plaintext)).decode("ascii")
    return json.dumps({"enc": 1, "data": data}).encode("utf-8")


def _strip_padding(plaintext: bytes) -> bytes:
    """Remove PKCS#7 padding when present, then trailing NULs (zero padding)."""
    pad = plaintext[-1] if plaintext else 0
    if 1 <= pad <= AES_BLOCK_SIZE and plaintext.endswith(bytes([pad]) * pad):
        plaintext = plaintext[:-pad]
    return plaintext.rstrip(b"\0")


def decrypt_reply(session: TokenSession, encrypted: str) -> bytes:
    """Decrypt the base64 ``enc`` field of an encrypted reply and return the JSON bytes.

    Raises:
        ValueError: the field is not base64 of a whole number of AES blocks.
    """
    try:
        ciphertext = base64.b64decode(encrypted)
    except (binascii.Error, ValueError):
        raise ValueError("the encrypted reply is not valid base64") from None
    if not ciphertext or len(ciphertext) % AES_BLOCK_SIZE:
        raise ValueError(f"the encrypted reply is {len(ciphertext)} bytes, not a whole number of AES blocks")
    return _strip_padding(aes_ecb(session.aes_key).decrypt(ciphertext))


# ---------------------------------------------------------------------------------------------
# API 3 (port 4433)

V3_TOKEN_LENGTH = 8


def v3_command_key(command: str, password: str, salt: str, ts: int) -> bytes:
    """Return the per-command key of API 3: the raw SHA-256 of ``command + password + salt + str(ts)``.

    The token is derived from it (``v3_token``) and it is the AES-256 key of encrypted parameters.
    """
    return hashlib.sha256(f"{command}{password}{salt}{ts}".encode("utf-8")).digest()


def v3_token(key: bytes) -> str:
    """Return the API 3 token sent with a command: the first 8 characters of ``base64(key)``."""
    return base64.b64encode(key).decode("ascii")[:V3_TOKEN_LENGTH]


def v3_encrypt_param(key: bytes, text: str) -> str:
    """Return ``base64(AES-256-ECB(key, text))`` with PKCS#7 padding, the ``param`` of a sensitive API 3 command.

    Raises:
        MissingLibraryError: no AES library (pycryptodome) is available.
    """
    plaintext = text.encode("utf-8")
    pad = AES_BLOCK_SIZE - len(plaintext) % AES_BLOCK_SIZE
    plaintext += bytes([pad]) * pad
    return base64.b64encode(aes_ecb(key).encrypt(plaintext)).decode("ascii")
