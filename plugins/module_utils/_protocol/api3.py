# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Synchronous client of the Whatsminer API 3 (firmware after 2024-11, TCP port 4433).

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

Transport (protocol reference, section 7.1): every message, both ways, is a 4-byte little-endian
length followed by that many bytes of UTF-8 JSON; a zero length is a heartbeat and is skipped.
The client opens one connection per request, like pyasic and Tether. Usage::

    client = WhatsminerV3Client("192.0.2.10", password="...", timeout=5.0, retries=2)
    client.read("get.device.info")                       # -> the reply {"code": 0, "when", "msg", "desc"}
    client.read("get.device.info", "network")            # one section
    client.read_status(["summary", "pools", "edevs"])    # one get.miner.status request for all three
    client.privileged("set.miner.power_mode", "normal")  # signed with a per-command token
    client.privileged("set.miner.pools", [{"pool": "stratum+tcp://...", "worker": "w", "passwd": "x"}])  # encrypted

Auth (section 7.2): reads need none. Every ``set.*`` request carries ``ts``, ``account`` (default
``super``) and ``token``, derived from the account's password and the miner's salt
(``get.device.info`` ``salt``, fetched once per client, see ``crypto``). The ``param`` of
``set.miner.pools`` (and ``set.user.change_passwd``) is AES encrypted; other object parameters
are sent as JSON-encoded strings, as the vendor-derived clients do.

Reply codes and the errors they raise (the same typed errors as API 2, with the same advice):

======  ============================  ===============================================================
code    meaning (section 7.1)         error
======  ============================  ===============================================================
0       ok                            none
-1      failed (invalid JSON, wrong   ``AuthenticationError`` for ``set.*`` (after one retry with a
        password/token)               fresh salt if the salt changed); ``MinerRestartingError`` for
                                      ``get.miner.status`` (btminer, its source, is not answering);
                                      ``CommandRejectedError`` otherwise
-2      invalid command or parameter  ``UnsupportedCommandError`` for reads (like API 2's code 14);
                                      ``CommandRejectedError`` for ``set.*`` (a refused value, like 132)
-3      parameter missing             ``CommandRejectedError``
-4      no permission                 ``WriteApiDisabledError`` (API switch off, or an account
                                      without write permission)
other   -                             ``CommandRejectedError``
======  ============================  ===============================================================

Replies are parsed tolerantly (``parsing``: firmware JSON defects are repaired), but a frame whose
JSON document is cut off raises ``MalformedReplyError``: a partial pool list must not pass for the whole.

Retries: a read is retried (``retries`` times, ``retry_delay`` apart) when the connection fails
or btminer is restarting; a write only when its connection could not be opened (nothing was
sent), and once after code -1 when the miner's salt turned out to have changed (the miner
refused the request before running it).
"""

from __future__ import annotations

import json
import re
import socket
import struct
import time
from typing import Any, Callable, Iterable

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol import crypto
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    AuthenticationError,
    CommandRejectedError,
    MalformedReplyError,
    MinerConnectionError,
    MissingLibraryError,
    UnsupportedCommandError,
    WhatsminerError,
    WriteApiDisabledError,
)
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.parsing import excerpt, parse_reply_detailed
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.transport import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    RECEIVE_CHUNK_BYTES,
    ExchangeFailure,
    Transport,
    UploadOutcome,
)

DEFAULT_V3_PORT = 4433
#: The account of API 3 that may write by default (the others are ``user1``..``user3``).
DEFAULT_ACCOUNT = "super"
V3_ACCOUNTS = ("super", "user1", "user2", "user3")

CODE_OK = 0
CODE_FAILED = -1
CODE_INVALID = -2
CODE_PARAM_MISSING = -3
CODE_NO_PERMISSION = -4

STATUS_COMMAND = "get.miner.status"
STATUS_SECTIONS = ("summary", "pools", "edevs")
SALT_COMMAND = "get.device.info"
#: Commands whose ``param`` is AES encrypted (reference section 7.2).
ENCRYPTED_PARAM_COMMANDS = frozenset({"set.miner.pools", "set.user.change_passwd"})
LENGTH_PREFIX = struct.Struct("<I")


def _check_command(command: str, prefix: str) -> None:
    """Reject what cannot be an API 3 command of this kind (programming errors, not miner errors)."""
    if not isinstance(command, str) or not command.startswith(prefix) or len(command) <= len(prefix) or "+" in command:
        raise ValueError(f"invalid API 3 command {command!r}: expected '{prefix}<group>.<name>'")


def _frame(request: dict[str, Any]) -> bytes:
    """A request on the wire: length prefix + ``json.dumps`` (default separators, like pyasic)."""
    body = json.dumps(request).encode("utf-8")
    return LENGTH_PREFIX.pack(len(body)) + body


def reply_code(reply: dict[str, Any]) -> int | None:
    """The ``code`` of an API 3 reply (int or numeric string), ``None`` when absent or not a number."""
    code = reply.get("code")
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and re.fullmatch(r"\s*-?\d+\s*", code):
        return int(code)
    return None


def reply_text(reply: dict[str, Any]) -> str | None:
    """The ``msg`` of an error reply as text (objects shortened), ``None`` when absent."""
    msg = reply.get("msg")
    if msg is None:
        return None
    return msg if isinstance(msg, str) else excerpt(json.dumps(msg))


class WhatsminerV3Client(Transport):
    """Client of one miner's API 3. See the module docstring.

    The connection settings and counters are those of ``Transport`` (``host``, ``port`` (4433 on
    real miners), ``timeout``, ``retries``, ``retry_delay``, ``no_reply_wait``, ``max_reply_bytes``
    (a larger announced frame length raises ``MalformedReplyError``), ``connections_opened``,
    ``commands_sent``); ``tokens_requested`` counts the salt requests (``get.device.info``
    ``salt``) made for signing.

    Attributes:
        account: The API 3 account that signs writes (``super`` by default).
    """

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_V3_PORT,
        password: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        *,
        account: str = DEFAULT_ACCOUNT,
        **transport_options: Any,
    ) -> None:
        if account not in V3_ACCOUNTS:
            raise ValueError(f"account must be one of {', '.join(V3_ACCOUNTS)}")
        super().__init__(host, port, timeout, retries, **transport_options)
        self.account = account
        self._password = password
        self._salt: str | None = None

    def __repr__(self) -> str:
        return f"WhatsminerV3Client({self.host!r}, port={self.port}, account={self.account!r})"

    # -----------------------------------------------------------------------------------------
    # Public API

    def read(self, command: str, param: Any = None) -> dict[str, Any]:
        """Send a ``get.*`` command (``param`` left out when ``None``) and return its reply.

        Raises:
            WhatsminerError: a subclass saying what went wrong (unreachable, rejected, malformed reply...).
        """
        _check_command(command, "get.")
        request: dict[str, Any] = {"cmd": command}
        if param is not None:
            request["param"] = param
        reply = self._transact(command, _frame(request), idempotent=True, wait=self.timeout)
        self._raise_for_code(reply, command, write=False)
        return reply

    def read_status(self, sections: Iterable[str]) -> dict[str, Any]:
        """Read ``get.miner.status`` for several sections (``summary``, ``pools``, ``edevs``) in one request."""
        if isinstance(sections, str):
            raise ValueError("read_status() takes a list of sections, not one string")
        names = list(dict.fromkeys(sections))
        if not names or not all(name in STATUS_SECTIONS for name in names):
            raise ValueError(f"sections must be taken from {', '.join(STATUS_SECTIONS)}")
        return self.read(STATUS_COMMAND, "+".join(names))

    def privileged(self, command: str, param: Any = None, *, expect_reply: bool = True) -> dict[str, Any] | None:
        """Send a signed ``set.*`` command and return its reply.

        ``param`` is sent as given (strings, numbers); objects and lists as JSON-encoded strings;
        for ``set.miner.pools`` it is encrypted. With ``expect_reply=False``, return ``None`` when
        the request was sent and the miner closed, reset or stayed silent for ``no_reply_wait``
        seconds: verify the effect by reading back.

        Raises:
            WhatsminerError: a subclass saying what went wrong; ``MinerConnectionError.request_sent``
                tells whether the miner may have received the command.
        """
        _check_command(command, "set.")
        if not self._password:
            raise AuthenticationError(
                "no password was given for the API 3 account in api3_account, and signed commands need it",
                host=self.host, port=self.port, command=command,
            )
        wait = self.reply_wait(expect_reply)
        salt = self.salt()
        reply = self._send_signed(command, param, salt, expect_reply=expect_reply, wait=wait)
        if reply is not None and reply_code(reply) == CODE_FAILED:
            # The token is checked before anything runs. A salt that changed (after a reboot or a
            # password change) makes every token wrong: fetch it again and resend once if it did.
            self._salt = None
            try:
                fresh_salt = self.salt()
            except WhatsminerError:
                fresh_salt = self._salt = salt  # cannot tell: report the rejection itself
            if fresh_salt != salt:
                reply = self._send_signed(command, param, fresh_salt, expect_reply=expect_reply, wait=wait)
        if reply is None:
            return None
        self._raise_for_code(reply, command, write=True)
        return reply

    def salt(self) -> str:
        """The miner's salt for signing (``get.device.info`` ``salt``), fetched once and then reused."""
        if self._salt is not None:
            return self._salt
        self.tokens_requested += 1
        reply = self.read(SALT_COMMAND, "salt")
        msg = reply.get("msg")
        salt = msg.get("salt") if isinstance(msg, dict) else None
        if not isinstance(salt, str) or not salt:
            raise MalformedReplyError("the get.device.info reply has no salt", excerpt=excerpt(json.dumps(reply)),
                                      host=self.host, port=self.port, command=SALT_COMMAND)
        self._salt = salt
        return salt

    # -----------------------------------------------------------------------------------------
    # Signed commands

    def _encode_param(self, command: str, param: Any, key: bytes) -> Any:
        """The ``param`` as it goes on the wire: encrypted, a JSON-encoded string, or unchanged."""
        if command in ENCRYPTED_PARAM_COMMANDS:
            text = param if isinstance(param, str) else json.dumps(param)
            try:
                return crypto.v3_encrypt_param(key, text)
            except MissingLibraryError as exc:
                raise exc.add_context(self.host, self.port, command)
        if isinstance(param, (dict, list)):
            return json.dumps(param)
        return param

    def _send_signed(self, command: str, param: Any, salt: str, *, expect_reply: bool, wait: float) -> dict[str, Any] | None:
        """Sign and send one write; ``None`` when no reply came and none was required."""
        try:
            return self._transact(command, self._signed_frame(command, param, salt), idempotent=False, wait=wait)
        except MinerConnectionError as exc:
            if expect_reply or not exc.request_sent:
                raise
            return None

    def _signed_frame(self, command: str, param: Any, salt: str) -> bytes:
        """The framed request of a write, signed with ``salt``."""
        ts = int(time.time())
        key = crypto.v3_command_key(command, str(self._password), salt, ts)
        request: dict[str, Any] = {"cmd": command}
        if param is not None:
            request["param"] = self._encode_param(command, param, key)
        request.update({"ts": ts, "token": crypto.v3_token(key), "account": self.account})
        return _frame(request)

    def upload(self, command: str, size: int, chunks: Iterable[bytes], *, final_wait: float) -> UploadOutcome:
        """Send the signed ``command`` (``set.system.update_firmware``), and after its ``ready`` reply, on the
        same connection, the 4-byte little-endian ``size`` and the file's ``chunks`` (reference settings
        section 2.13); then wait at most ``final_wait`` seconds for the frame after the file.

        Raises the typed errors when the command is refused or no ``ready`` comes; see ``Transport._upload``.
        """
        _check_command(command, "set.")
        if not self._password:
            raise AuthenticationError("no password was given for the API 3 account in api3_account, and signed commands need it",
                                      host=self.host, port=self.port, command=command)
        payload = self._signed_frame(command, None, self.salt())

        def reply_within(wait: float) -> Callable[[socket.socket], dict[str, Any]]:
            def receive(sock: socket.socket) -> dict[str, Any]:
                reply = self._receive_reply(sock, command, wait)
                self._raise_for_code(reply, command, write=True)
                return reply
            return receive

        return self._upload(command, payload, size, chunks, receive_ready=reply_within(self.timeout), receive_final=reply_within(final_wait))

    # -----------------------------------------------------------------------------------------
    # Reply codes

    def _raise_for_code(self, reply: dict[str, Any], command: str, *, write: bool) -> None:
        """Raise the typed error of an unsuccessful reply; return when ``code`` is 0."""
        code = reply_code(reply)
        if code == CODE_OK:
            return
        if code is None:
            raise MalformedReplyError("the reply has no numeric code", excerpt=excerpt(json.dumps(reply)),
                                      host=self.host, port=self.port, command=command)
        raise self._error_for_code(code, reply_text(reply), command, write=write)

    def _error_for_code(self, code: int, text: str | None, command: str, *, write: bool) -> WhatsminerError:
        """Map an API 3 error code to the typed error of the collection."""
        context: dict[str, Any] = {"host": self.host, "port": self.port, "command": command, "code": code, "miner_message": text}
        if code == CODE_NO_PERMISSION:
            return WriteApiDisabledError(
                "the miner refuses writes from the API 3 account given in api3_account (no permission): its write API is disabled "
                "or that account may not write", **context)
        if code == CODE_FAILED and write:
            return AuthenticationError(
                "the miner rejected the signed request, so the password given for the API 3 account in api3_account is wrong "
                "(the documentation of the api3_account option gives the factory password)", **context)
        if code == CODE_INVALID and write:
            # The writes sent are commands API 3 has, so -2 refuses a value (like API 2's code 132).
            return CommandRejectedError("the miner refused a parameter value of this command (or does not know the command)", **context)
        if code == CODE_INVALID:
            return UnsupportedCommandError("the miner does not support this command or one of its parameter values", **context)
        if code == CODE_PARAM_MISSING:
            return CommandRejectedError("the miner says a required parameter is missing", **context)
        return CommandRejectedError("the miner rejected the command", **context)

    # -----------------------------------------------------------------------------------------
    # Transport

    def _receive_reply(self, sock: socket.socket, command: str, wait: float) -> dict[str, Any]:
        """API 3 framing: one length-prefixed frame (heartbeats skipped) within ``wait`` seconds, parsed."""
        body = self._receive_frame(sock, command, time.monotonic() + wait, wait)
        try:
            reply, truncated = parse_reply_detailed(body)
        except MalformedReplyError as exc:
            raise exc.add_context(self.host, self.port, command)
        if truncated:
            # The frame arrived whole, so the firmware itself cut the JSON: never decide from part of it.
            raise MalformedReplyError("the reply frame holds a JSON document that is cut off, so it cannot be trusted to be complete",
                                      excerpt=excerpt(body), host=self.host, port=self.port, command=command)
        if command == STATUS_COMMAND and reply_code(reply) == CODE_FAILED:
            raise ExchangeFailure(
                f"the miner could not read its status (code -1: {reply_text(reply)!r}); btminer, which provides it, is not answering",
                request_sent=True, btminer_down=True, code=CODE_FAILED, miner_message=reply_text(reply),
            )
        return reply

    def _receive_frame(self, sock: socket.socket, command: str, deadline: float, wait: float) -> bytes:
        """Read one reply frame, skipping heartbeats (zero lengths), within ``deadline`` and ``max_reply_bytes``."""
        while True:
            header = self._receive_exactly(sock, LENGTH_PREFIX.size, deadline, wait, "length prefix")
            (length,) = LENGTH_PREFIX.unpack(header)
            if length == 0:
                continue  # heartbeat
            if length > self.max_reply_bytes:
                raise MalformedReplyError(
                    f"the reply announces {length} bytes, more than the {self.max_reply_bytes} accepted",
                    excerpt=excerpt(header), host=self.host, port=self.port, command=command,
                )
            return self._receive_exactly(sock, length, deadline, wait, "reply")

    @staticmethod
    def _receive_exactly(sock: socket.socket, count: int, deadline: float, wait: float, part: str) -> bytes:
        """Exactly ``count`` bytes of the ``part`` being read, or the failure that prevented it."""
        chunks: list[bytes] = []
        received = 0
        while received < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ExchangeFailure(_incomplete(part, received, count, f"did not complete within {wait:g} s"), request_sent=True, timed_out=True)
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(min(count - received, RECEIVE_CHUNK_BYTES))
            except socket.timeout as exc:
                raise ExchangeFailure(_incomplete(part, received, count, f"did not complete within {wait:g} s"),
                                      request_sent=True, timed_out=True) from exc
            except OSError as exc:
                raise ExchangeFailure(_incomplete(part, received, count, f"broke ({exc.strerror or exc})"), request_sent=True) from exc
            if not chunk:
                raise ExchangeFailure(_incomplete(part, received, count, "was closed by the miner"), request_sent=True)
            chunks.append(chunk)
            received += len(chunk)
        return b"".join(chunks)


def _incomplete(part: str, received: int, count: int, what_happened: str) -> str:
    """Reason text of a frame that did not arrive whole."""
    if part == "length prefix" and received == 0:
        return f"no reply: the connection {what_happened}"
    return f"the connection {what_happened} after {received} of {count} bytes of the {part}"
