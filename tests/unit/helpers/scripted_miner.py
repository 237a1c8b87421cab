# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helpers: a scripted loopback TCP "miner" and the miner side of the privileged-API crypto.

``ScriptedMiner`` listens on 127.0.0.1 (ephemeral port). Each accepted connection consumes the next
action of its script: reply with exact bytes (then close, reset or keep the connection), stay
silent, close without a reply, or reset. It records the bytes each connection sent. A connection
beyond the end of the script is counted in ``unexpected_connections`` and closed at once. The
server thread ends when stopped or when its lifetime runs out, whichever comes first.

``MinerCrypto`` computes real ``get_token`` replies, decrypts requests and encrypts replies for a
known admin password. It uses passlib and pycryptodome directly (not the collection's ``_protocol.crypto``),
so the tests check the client against an independent implementation of the formulas.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Union

CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "captures"
POLL_SECONDS = 0.005
#: Client options of the tests against a scripted miner: a short timeout, no pause between tries.
TEST_CLIENT_OPTIONS: dict[str, Any] = {"timeout": 1.0, "retries": 2, "retry_delay": 0.0}


def client_of(client_class: Callable[..., Any], server: Any, **options: Any) -> Any:
    """A ``client_class`` (API 2 or API 3 client) of the scripted ``server``: TEST_CLIENT_OPTIONS updated with ``options``."""
    return client_class(server.host, server.port, **{**TEST_CLIENT_OPTIONS, **options})


def closed_port() -> int:
    """A loopback port nobody listens on (connecting is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def capture(relative_path: str) -> bytes:
    """The exact bytes of a capture file under ``tests/fixtures/captures``."""
    return (CAPTURES / relative_path).read_bytes()


def status_reply(status: str, code: int, msg: Any, description: str = "") -> bytes:
    """An api-daemon shaped reply, serialized compactly like the firmware does."""
    body = {"STATUS": status, "When": 1700000000, "Code": code, "Msg": msg, "Description": description}
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass
class Reply:
    """Read the request, send ``data`` (bytes, or a function of the request bytes), then ``after``.

    ``after`` is ``"close"`` (normal close), ``"reset"`` (TCP RST) or ``"hold"`` (keep the
    connection open until the client closes it).
    """

    data: Union[bytes, Callable[[bytes], bytes]]
    after: str = "close"


@dataclass
class Silent:
    """Read the request and never answer; wait until the client gives up and closes."""


@dataclass
class CloseWithoutReply:
    """Read the request and close the connection normally without sending anything."""


@dataclass
class Reset:
    """Read the request, send ``partial`` (maybe nothing) and reset the connection (RST)."""

    partial: bytes = b""


Action = Union[Reply, Silent, CloseWithoutReply, Reset]


def _request_complete(data: bytes) -> bool:
    """Whether ``data`` holds a whole JSON request (the protocol has no terminator)."""
    try:
        json.loads(data.decode("utf-8", errors="replace"))
    except ValueError:
        return False
    return True


class ScriptedMiner:
    """A loopback TCP server that plays a fixed script, one action per connection."""

    def __init__(self, actions: list[Action], lifetime: float = 10.0) -> None:
        self.host = "127.0.0.1"
        self._actions = list(actions)
        self._lifetime = lifetime
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((self.host, 0))
        self._listener.listen(8)
        self._listener.settimeout(POLL_SECONDS)
        self.port: int = self._listener.getsockname()[1]
        self.requests: list[bytes] = []
        self.unexpected_connections = 0
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._serve, name=f"scripted-miner-{self.port}", daemon=True)

    def start(self) -> ScriptedMiner:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and join the thread (raises when it does not end)."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()
        if self._thread.is_alive():
            raise RuntimeError("scripted miner thread did not stop")

    @property
    def connections(self) -> int:
        """Connections accepted so far (scripted or not)."""
        return len(self.requests) + self.unexpected_connections

    @property
    def remaining_actions(self) -> int:
        """Actions of the script not used yet."""
        return len(self._actions)

    def _serve(self) -> None:
        deadline = time.monotonic() + self._lifetime
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _address = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(POLL_SECONDS)
                if not self._actions:
                    self.unexpected_connections += 1
                    continue
                action = self._actions.pop(0)
                try:
                    self._play(conn, action, deadline)
                except OSError:
                    pass  # the client went away first; that is its business
                except Exception as exc:  # pylint: disable=broad-except
                    self.errors.append(f"{type(exc).__name__}: {exc}")

    @staticmethod
    def request_complete(data: bytes) -> bool:
        """Whether ``data`` holds a whole request (API 2: one JSON document)."""
        return _request_complete(data)

    def _read_request(self, conn: socket.socket, deadline: float) -> bool:
        """Read one request into ``requests``; return False when the client closed before finishing it."""
        data = b""
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                self.requests.append(data)
                return False
            data += chunk
            if self.request_complete(data):
                self.requests.append(data)
                return True
        self.requests.append(data)
        return False

    def _hold(self, conn: socket.socket, deadline: float) -> None:
        """Keep the connection open until the client closes it (or the server stops)."""
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                if not conn.recv(65536):
                    return
            except socket.timeout:
                continue

    @staticmethod
    def _reset(conn: socket.socket) -> None:
        """Close with an RST instead of a FIN."""
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    def _play(self, conn: socket.socket, action: Action, deadline: float) -> None:
        if not self._read_request(conn, deadline):
            return
        request = self.requests[-1]
        if isinstance(action, Reply):
            data = action.data(request) if callable(action.data) else action.data
            conn.sendall(data)
            if action.after == "reset":
                self._reset(conn)
            elif action.after == "hold":
                self._hold(conn, deadline)
        elif isinstance(action, Silent):
            self._hold(conn, deadline)
        elif isinstance(action, Reset):
            if action.partial:
                conn.sendall(action.partial)
            self._reset(conn)
        # CloseWithoutReply: leaving the with-block closes the connection.


class CountingConnect:
    """Stands in for ``socket.create_connection``: counts calls and fails chosen ones.

    ``failures`` maps a 1-based call number to the exception that call raises; the other calls
    connect for real. Install it with ``monkeypatch.setattr(socket, "create_connection", counter)``.
    """

    def __init__(self, failures: dict[int, BaseException] | None = None, fail_from: int | None = None,
                 failure: BaseException | None = None) -> None:
        self.calls = 0
        self._failures = dict(failures or {})
        self._fail_from = fail_from
        self._failure = failure
        self._real = socket.create_connection

    def __call__(self, *args: Any, **kwargs: Any) -> socket.socket:
        self.calls += 1
        if self.calls in self._failures:
            raise self._failures[self.calls]
        if self._fail_from is not None and self.calls >= self._fail_from and self._failure is not None:
            raise self._failure
        return self._real(*args, **kwargs)


class MinerCrypto:
    """The miner's side of the privileged API for one admin password (independent of ``_protocol.crypto``)."""

    def __init__(self, password: str, salt: str = "BQ5hoXV9") -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*'crypt' is deprecated", category=DeprecationWarning)
            from passlib.hash import md5_crypt  # pylint: disable=import-outside-toplevel

        self._md5_crypt = md5_crypt
        self.password = password
        self.salt = salt
        self.key = self._body(password, salt)
        self.aes_key = hashlib.sha256(self.key.encode()).digest()
        self.issued_signs: list[str] = []

    def _body(self, secret: str, salt: str) -> str:
        return self._md5_crypt.using(salt=salt).hash(secret).split("$")[3]

    def token_reply(self, newsalt: str = "P5NTAcEp", token_time: str = "5039", code: int = 134) -> bytes:
        """A real-looking ``get_token`` reply; remembers the sign it implies."""
        self.issued_signs.append(self._body(self.key + token_time, newsalt))
        return status_reply("S", code, {"time": token_time, "salt": self.salt, "newsalt": newsalt}, "whatsminer v1.3")

    def _cipher(self) -> Any:
        from Crypto.Cipher import AES  # pylint: disable=import-outside-toplevel

        return AES.new(self.aes_key, AES.MODE_ECB)

    def decrypt_request(self, raw: bytes) -> dict[str, Any]:
        """The plaintext command inside an ``{"enc": 1, "data": ...}`` request."""
        envelope = json.loads(raw)
        assert envelope["enc"] == 1 and set(envelope) == {"enc", "data"}
        assert "\n" not in envelope["data"]
        plaintext = self._cipher().decrypt(base64.b64decode(envelope["data"]))
        return json.loads(plaintext.rstrip(b"\0"))

    def encrypt_reply(self, reply: dict[str, Any], padding: str = "zero") -> bytes:
        """``{"enc":"<base64>"}`` holding ``reply``, zero- or PKCS#7-padded."""
        plaintext = json.dumps(reply, separators=(",", ":")).encode()
        if padding == "pkcs7":
            pad = 16 - len(plaintext) % 16
            plaintext += bytes([pad]) * pad
        else:
            plaintext += b"\0" * (-len(plaintext) % 16)
        encrypted = base64.b64encode(self._cipher().encrypt(plaintext)).decode()
        return json.dumps({"enc": encrypted}, separators=(",", ":")).encode()

    def ok_reply(self, padding: str = "zero") -> bytes:
        """The encrypted ``API command OK`` reply to a write."""
        return self.encrypt_reply({"STATUS": "S", "When": 1700000000, "Code": 131, "Msg": "API command OK", "Description": ""}, padding)
