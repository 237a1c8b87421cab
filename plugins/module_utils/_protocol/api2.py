# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Synchronous client of the Whatsminer BTMiner API 2.x (TCP port 4028).

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

One request per TCP connection: the client sends one JSON object (no terminator) and reads until
the miner closes the connection. Reads are plaintext; privileged (write) commands are encrypted
with a token derived from the admin password (see ``crypto``). Usage::

    client = WhatsminerClient("192.0.2.10", password="...", timeout=5.0, retries=2)
    client.read("summary")                          # -> the parsed reply (dict)
    client.read_many(["summary", "pools", "status"])  # -> {"summary": {...}, "pools": {...}, "status": {...}}
    client.privileged("update_pools", pool1="stratum+tcp://...", worker1="w", passwd1="x", ...)
    client.privileged("set_low_power", expect_reply=False)  # sent; the miner restarts btminer -> None

Retries: a read is retried (``retries`` times, ``retry_delay`` apart) when the connection fails
(refused, timed out, reset, closed without a reply, or btminer restarting). A privileged command is
retried only when its connection could not even be opened, i.e. nothing was sent; it is never
resent blindly, except once with a fresh token after code 135, which the miner sends before
running anything. ``get_token`` is retried like a privileged command: every one the miner
receives spends one of the tokens it grants per IP address.

Replies are parsed tolerantly (``parsing``), but a truncated reply raises unless
``accept_truncated`` is set: a partial pool list or status must not pass for the whole.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any, Iterable

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol import crypto
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    AuthenticationError,
    CommandRejectedError,
    MalformedReplyError,
    MinerConnectionError,
    MinerRestartingError,
    MissingLibraryError,
    TokenLimitError,
    UnsupportedCommandError,
    WhatsminerError,
    WriteApiDisabledError,
)
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.parsing import (
    JOINABLE_COMMANDS,
    SUCCESS_STATUSES,
    excerpt,
    is_btminer_down_text,
    is_complete_document,
    is_success,
    parse_reply_detailed,
    reply_code,
    reply_message,
    reply_status,
    split_joined_reply,
)
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.transport import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    RECEIVE_CHUNK_BYTES,
    ExchangeFailure,
    Transport,
    UploadOutcome,
)

DEFAULT_PORT = 4028

CODE_NO_POOLS = 8
CODE_INVALID_COMMAND = 14
CODE_INVALID_JSON = 23
CODE_PERMISSION_DENIED = 45
CODE_TOKEN_REJECTED = 135
CODE_TOKEN_LIMIT = 136
WRITE_API_LOCKED_MESSAGE = "can't access write cmd"
RESERVED_PARAMETERS = frozenset({"cmd", "command", "token"})


def _encode(request: dict[str, Any]) -> bytes:
    """Serialize a plaintext request the way every client does: ``json.dumps`` with default separators."""
    return json.dumps(request).encode("utf-8")


def _check_command_name(command: str) -> None:
    """Reject what cannot be a command name (programming errors, not miner errors)."""
    if not isinstance(command, str) or not command or "+" in command:
        raise ValueError(f"invalid Whatsminer command name {command!r} (use read_many() to join reads)")


def _check_parameters(params: dict[str, Any]) -> None:
    """Reject parameter names the client sets itself."""
    clash = RESERVED_PARAMETERS.intersection(params)
    if clash:
        raise ValueError(f"parameter name(s) {', '.join(sorted(clash))} are set by the client")


class WhatsminerClient(Transport):
    """Client of one miner's API on TCP port 4028. See the module docstring.

    The connection settings and counters are those of ``Transport`` (``host``, ``port``,
    ``timeout``, ``retries``, ``retry_delay``, ``no_reply_wait``, ``max_reply_bytes``,
    ``connections_opened``, ``tokens_requested`` (``get_token`` requests), ``commands_sent``).

    Attributes:
        accept_truncated: Whether a truncated reply (cut off before its JSON document ends: the
            miner closed early or its send buffer overflowed) is taken as the part that arrived.
            ``False`` (the default) raises ``MalformedReplyError`` instead, so that nothing is
            decided from a partial pool list or status; fact gathering salvages what arrived.
        truncated_replies: Commands whose truncated reply was accepted (``accept_truncated``).
        joins_allowed: Whether reads are still joined (``summary+pools``); turns ``False`` for the
            rest of the client's life once the miner rejects a join.
        prefetched: Replies already known (``{command: reply}``, e.g. the ``get_version`` of the
            ``api_version: auto`` probe); the first ``read`` of such a command takes it from here.
    """

    #: The reads ``read_many`` joins into one request (the cgminer-backed ones).
    joinable_commands = JOINABLE_COMMANDS

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        password: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        *,
        accept_truncated: bool = False,
        **transport_options: Any,
    ) -> None:
        super().__init__(host, port, timeout, retries, **transport_options)
        self.accept_truncated = bool(accept_truncated)
        self.truncated_replies: list[str] = []
        self.joins_allowed = True
        self.prefetched: dict[str, dict[str, Any]] = {}
        self._password = password
        self._session: crypto.TokenSession | None = None

    def __repr__(self) -> str:
        return f"WhatsminerClient({self.host!r}, port={self.port})"

    # -----------------------------------------------------------------------------------------
    # Public API

    def read(self, command: str, **params: Any) -> dict[str, Any]:
        """Send a plaintext read command and return its reply.

        Extra parameters become top-level keys of the request (``info="ip,mac"``).

        Raises:
            WhatsminerError: a subclass saying what went wrong (unreachable, rejected, malformed reply...).
        """
        _check_command_name(command)
        _check_parameters(params)
        if not params and command in self.prefetched:
            return self.prefetched.pop(command)
        reply = self._read_reply(command, _encode({"cmd": command, **params}))
        self._raise_for_status(reply, command, encrypted=False)
        return reply

    def read_many(self, commands: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Read several commands and return ``{command: reply}``, each reply shaped as ``read`` returns it.

        The cgminer-backed reads (``summary``, ``pools``, ``devs``, ``edevs``, ``devdetails``) go
        in one joined request (``summary+pools+...``) while the miner accepts joins; ``get_*``,
        ``status`` and everything else are read separately.
        """
        if isinstance(commands, str):
            raise ValueError("read_many() takes a list of command names, not one string")
        names = list(dict.fromkeys(commands))
        for name in names:
            _check_command_name(name)
        replies: dict[str, dict[str, Any]] = {}
        joinable = [name for name in names if name in JOINABLE_COMMANDS]
        if self.joins_allowed and len(joinable) > 1:
            replies.update(self._read_joined(joinable))
        for name in names:
            if name not in replies:
                replies[name] = self.read(name)
        return {name: replies[name] for name in names}

    def privileged(self, command: str, *, expect_reply: bool = True, **params: Any) -> dict[str, Any] | None:
        """Send an encrypted privileged (write) command and return the decrypted reply.

        With ``expect_reply=False`` (commands that restart btminer and may never answer, such as
        ``set_low_power``), return ``None`` when the request was sent and the miner closed, reset
        or stayed silent for ``no_reply_wait`` seconds: verify the effect by reading back. Errors
        before the request went out, and error replies, still raise.

        Raises:
            WhatsminerError: a subclass saying what went wrong; ``MinerConnectionError.request_sent``
                tells whether the miner may have received the command.
        """
        _check_command_name(command)
        _check_parameters(params)
        if not self._password:
            raise AuthenticationError(
                "no password was given (the password option: the miner's API 2 write password), and privileged commands need it",
                host=self.host, port=self.port, command=command
            )
        try:
            crypto.ensure_libraries()
        except MissingLibraryError as exc:
            raise exc.add_context(self.host, self.port, command)
        wait = self.reply_wait(expect_reply)
        reply = self._send_privileged(command, params, expect_reply=expect_reply, wait=wait)
        if reply is not None and not is_success(reply) and reply_code(reply) == CODE_TOKEN_REJECTED:
            # The token expired or the miner restarted and forgot it. Code 135 comes before the
            # command runs, so one resend with a fresh token is safe.
            self._session = None
            reply = self._send_privileged(command, params, expect_reply=expect_reply, wait=wait)
        if reply is None:
            return None
        self._raise_for_status(reply, command, encrypted=True)
        return reply

    # -----------------------------------------------------------------------------------------
    # Reads

    def _read_reply(self, wire_command: str, payload: bytes, *, idempotent: bool = True) -> dict[str, Any]:
        """Send a plaintext request (retrying connection failures; only unsent ones unless ``idempotent``) and parse the reply."""
        raw = self._transact(wire_command, payload, idempotent=idempotent, wait=self.timeout, write=False)
        return self._parse(raw, wire_command)

    def _read_joined(self, commands: list[str]) -> dict[str, dict[str, Any]]:
        """Read ``commands`` in one joined request; return ``{}`` (and stop joining) when the miner rejects joins."""
        wire_command = "+".join(commands)
        reply = self._read_reply(wire_command, _encode({"cmd": wire_command}))
        parts = split_joined_reply(reply, commands)
        if parts is None:
            # Code 14/45, or an answer without the joined keys: this firmware does not join.
            self.joins_allowed = False
            return {}
        for name, part in parts.items():
            self._raise_for_status(part, name, encrypted=False)
        return parts

    # -----------------------------------------------------------------------------------------
    # Privileged commands

    def _token_session(self) -> crypto.TokenSession:
        """Return the current token session, requesting a token first when there is none."""
        if self._session is not None:
            return self._session
        self.tokens_requested += 1
        # Every get_token the miner receives spends one of the tokens it grants per IP address
        # (code 136 after 32 in 30 minutes), so it is tried again only when it was never sent.
        reply = self._read_reply("get_token", _encode({"cmd": "get_token"}), idempotent=False)
        self._raise_for_status(reply, "get_token", encrypted=False)
        # Real miners answer Code 134, one documentation example shows 133: only the fields matter.
        fields = reply_message(reply)
        if not isinstance(fields, dict):
            raise MalformedReplyError("the get_token reply has no token fields", excerpt=excerpt(json.dumps(reply)),
                                      host=self.host, port=self.port, command="get_token")
        token_time, salt, newsalt = fields.get("time"), fields.get("salt"), fields.get("newsalt")
        if isinstance(token_time, int) and not isinstance(token_time, bool):
            token_time = str(token_time)
        if not all(isinstance(value, str) and value for value in (token_time, salt, newsalt)):
            raise MalformedReplyError("the get_token reply lacks time, salt or newsalt", excerpt=excerpt(json.dumps(reply)),
                                      host=self.host, port=self.port, command="get_token")
        try:
            self._session = crypto.derive_session(str(self._password), salt, token_time, newsalt)
        except ValueError:
            raise MalformedReplyError("the get_token reply carries a salt or newsalt that is not a valid md5-crypt salt",
                                      excerpt=excerpt(json.dumps(reply)), host=self.host, port=self.port, command="get_token") from None
        return self._session

    def _send_privileged(self, command: str, params: dict[str, Any], *, expect_reply: bool, wait: float) -> dict[str, Any] | None:
        """Send one encrypted request and return the (decrypted) reply; ``None`` when none came and none was required."""
        session = self._token_session()
        payload = crypto.encrypt_request(session, command, params)
        try:
            raw = self._transact(command, payload, idempotent=False, wait=wait)
        except MinerRestartingError:
            raise
        except MinerConnectionError as exc:
            if expect_reply or not exc.request_sent:
                raise
            return None
        return self._decrypted(raw, session, command)

    def _decrypted(self, raw: bytes, session: crypto.TokenSession, command: str) -> dict[str, Any]:
        """The reply to an encrypted request, decrypted (plaintext error replies as they came)."""
        reply = self._parse(raw, command)
        encrypted = reply.get("enc")
        if not isinstance(encrypted, str):
            return reply  # plaintext error replies (e.g. code 23, 135, "can't access write cmd")
        try:
            plaintext = crypto.decrypt_reply(session, encrypted)
        except ValueError as exc:
            raise MalformedReplyError(str(exc), host=self.host, port=self.port, command=command) from None
        return self._parse(plaintext, command)

    def upload(self, command: str, size: int, chunks: Iterable[bytes], *, final_wait: float) -> UploadOutcome:
        """Send the encrypted ``command`` (``update_firmware``), and after its ``ready`` reply, on the same
        connection, the 4-byte little-endian ``size`` and the file's ``chunks`` (vendor document, reference
        settings section 2.13); then wait at most ``final_wait`` seconds for a reply after the file.

        Raises the typed errors when the command is refused or no ``ready`` comes; see ``Transport._upload``.
        """
        _check_command_name(command)
        if not self._password:
            raise AuthenticationError("no password was given (the password option: the miner's API 2 write password), and privileged commands need it",
                                      host=self.host, port=self.port, command=command)
        try:
            crypto.ensure_libraries()
        except MissingLibraryError as exc:
            raise exc.add_context(self.host, self.port, command)
        session = self._token_session()

        def ready(sock: socket.socket) -> dict[str, Any]:
            reply = self._decrypted(self._receive_document(sock, self.timeout), session, command)
            self._raise_for_status(reply, command, encrypted=True)
            return reply

        def final(sock: socket.socket) -> dict[str, Any]:
            reply = self._decrypted(self._receive_document(sock, final_wait), session, command)
            self._raise_for_status(reply, command, encrypted=True)
            return reply

        return self._upload(command, crypto.encrypt_request(session, command, {}), size, chunks, receive_ready=ready, receive_final=final)

    @staticmethod
    def _receive_document(sock: socket.socket, wait: float) -> bytes:
        """One JSON document on a connection the miner keeps open (the ``ready`` of an upload), within ``wait`` seconds."""
        deadline = time.monotonic() + wait
        data = b""
        while not (data and is_complete_document(data)):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ExchangeFailure(f"no complete reply within {wait:g} s ({len(data)} bytes)", request_sent=True, timed_out=True)
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(RECEIVE_CHUNK_BYTES)
            except socket.timeout as exc:
                raise ExchangeFailure(f"no complete reply within {wait:g} s ({len(data)} bytes)", request_sent=True, timed_out=True) from exc
            except OSError as exc:
                raise ExchangeFailure(f"the connection broke after {len(data)} bytes of reply ({exc.strerror or exc})", request_sent=True) from exc
            if not chunk:
                raise ExchangeFailure(f"the miner closed the connection after {len(data)} bytes of reply", request_sent=True)
            data += chunk
        return data

    # -----------------------------------------------------------------------------------------
    # Envelope and status

    def _parse(self, raw: bytes, command: str) -> dict[str, Any]:
        """``parse_reply_detailed`` with the miner and the command added to its errors; a truncated reply only with ``accept_truncated``."""
        try:
            document, truncated = parse_reply_detailed(raw)
        except MalformedReplyError as exc:
            raise exc.add_context(self.host, self.port, command)
        if truncated:
            if not self.accept_truncated:
                raise MalformedReplyError(
                    f"the reply was cut off after {len(raw)} bytes, before its JSON document ends (the connection closed early "
                    "or the firmware's send buffer overflowed), so it cannot be trusted to be complete",
                    excerpt=excerpt(raw), host=self.host, port=self.port, command=command,
                )
            self.truncated_replies.append(command)
        return document

    def _raise_for_status(self, reply: dict[str, Any], command: str, *, encrypted: bool) -> None:
        """Raise the typed error matching an unsuccessful reply; return when STATUS is S or I."""
        status = reply_status(reply)
        if status in SUCCESS_STATUSES:
            return
        if command == "pools" and reply_code(reply) == CODE_NO_POOLS:
            return  # cgminer answers "No pools" as an error; it is the empty pool list
        if status is None:
            raise MalformedReplyError("the reply has no STATUS", excerpt=excerpt(json.dumps(reply)),
                                      host=self.host, port=self.port, command=command)
        raise self._error_for_reply(reply, command, encrypted=encrypted)

    def _error_for_reply(self, reply: dict[str, Any], command: str, *, encrypted: bool) -> WhatsminerError:
        """Map an error reply (STATUS other than S/I) to its typed error."""
        code = reply_code(reply)
        message = reply_message(reply)
        if message is not None and not isinstance(message, str):
            message = excerpt(json.dumps(message))
        context: dict[str, Any] = {"host": self.host, "port": self.port, "command": command, "code": code, "miner_message": message}
        if (message and WRITE_API_LOCKED_MESSAGE in message.lower()) or code == CODE_PERMISSION_DENIED:
            return WriteApiDisabledError("the miner's write API is disabled", **context)
        if code == CODE_TOKEN_LIMIT:
            return TokenLimitError("the miner refuses to issue another API token to this controller", **context)
        if encrypted and code == CODE_INVALID_JSON:
            return AuthenticationError("the miner could not decrypt the request, so the password given to the module is wrong", **context)
        if encrypted and code == CODE_TOKEN_REJECTED:
            return AuthenticationError("the miner rejected a freshly issued token, so the password given to the module is wrong", **context)
        if code == CODE_INVALID_COMMAND and encrypted:
            return UnsupportedCommandError(
                "the miner does not support this write command on this port; firmware released after 2024-11 "
                "(API 3) takes writes only on its API 3 port (4433): set api_version to auto or 3 for this miner", **context)
        if code == CODE_INVALID_COMMAND:
            return UnsupportedCommandError("the miner does not support this command", **context)
        return CommandRejectedError("the miner rejected the command", **context)

    # -----------------------------------------------------------------------------------------
    # Transport

    def _receive_reply(self, sock: socket.socket, command: str, wait: float) -> bytes:
        """API 2 framing: the reply is everything the miner sends until it closes the connection
        (within ``wait`` seconds and ``max_reply_bytes``).

        When the connection ends abnormally (reset, timeout) after a complete JSON document, that
        document is the reply: some firmware resets or keeps the connection after answering.
        """
        deadline = time.monotonic() + wait
        chunks: list[bytes] = []
        received = 0
        while True:
            remaining = deadline - time.monotonic()
            failure: ExchangeFailure | None = None
            chunk = b""
            if remaining <= 0:
                failure = self._timeout_failure(received, wait)
            else:
                sock.settimeout(remaining)
                try:
                    chunk = sock.recv(RECEIVE_CHUNK_BYTES)
                except socket.timeout:
                    failure = self._timeout_failure(received, wait)
                except OSError as exc:
                    failure = ExchangeFailure(f"the connection broke after {received} bytes of reply ({exc.strerror or exc})", request_sent=True)
            if failure is not None:
                data = b"".join(chunks)
                if data and is_complete_document(data):
                    return data
                raise failure
            if not chunk:
                break
            received += len(chunk)
            if received > self.max_reply_bytes:
                raise MalformedReplyError(f"the reply is larger than {self.max_reply_bytes} bytes", excerpt=excerpt(chunks[0] if chunks else chunk),
                                          host=self.host, port=self.port, command=command)
            chunks.append(chunk)
        data = b"".join(chunks)
        if not data.strip(b"\x00 \t\r\n"):
            raise ExchangeFailure("the miner closed the connection without replying", request_sent=True)
        if is_btminer_down_text(data):
            raise ExchangeFailure("the miner's API daemon cannot reach btminer ('Socket connect failed')", request_sent=True, btminer_down=True)
        return data

    @staticmethod
    def _timeout_failure(received: int, wait: float) -> ExchangeFailure:
        """The failure of a reply that did not complete within ``wait`` seconds."""
        if received:
            return ExchangeFailure(f"the reply stopped after {received} bytes and did not complete within {wait:g} s", request_sent=True, timed_out=True)
        return ExchangeFailure(f"no reply within {wait:g} s", request_sent=True, timed_out=True)
