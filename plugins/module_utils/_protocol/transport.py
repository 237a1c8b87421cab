# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TCP transport both Whatsminer API clients share: connect, send, bounded retries, error mapping.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

``Transport`` opens one TCP connection per request. A subclass supplies the framing: how a reply is
received on the open connection (``_receive_reply``). API 2 (``api2.WhatsminerClient``) reads
until the miner closes the connection; API 3 (``api3.WhatsminerV3Client``) reads one
length-prefixed frame. Everything else is here, once:

* the checks of the connection settings (programming errors raise ``ValueError``);
* ``_transact``: one exchange, retried after a connection-level failure where that is safe (an
  idempotent request always, any other only when nothing was sent), ``retries`` times,
  ``retry_delay`` apart;
* the mapping of a failed exchange to the public typed errors (``MinerConnectionError``,
  ``MinerTimeoutError``, ``MinerRestartingError``), naming the miner, the command and whether the
  request may have reached the miner;
* the counters ``connections_opened`` and ``commands_sent`` (``tokens_requested`` is counted by the
  subclass that requests tokens);
* ``time_limit``: a deadline for everything sent inside a block (the reads of a bounded wait), so
  that connect, reply waits and retries all end by it.
"""

from __future__ import annotations

import contextlib
import math
import socket
import struct
import time
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    MinerConnectionError,
    MinerRestartingError,
    MinerTimeoutError,
    WhatsminerError,
)

DEFAULT_TIMEOUT = 5.0
DEFAULT_RETRIES = 2
DEFAULT_RETRY_DELAY = 0.5
#: How long to wait for a reply to a command that may never answer (expect_reply=False).
DEFAULT_NO_REPLY_WAIT = 3.0
MAX_REPLY_BYTES = 1024 * 1024
RECEIVE_CHUNK_BYTES = 64 * 1024
#: The size that precedes an uploaded file (firmware image): 4 bytes, little-endian (both APIs).
UPLOAD_SIZE_PREFIX = struct.Struct("<I")


class UploadOutcome(NamedTuple):
    """How an upload ended (``Transport._upload``).

    Attributes:
        sent: Bytes of the file sent (``size`` when all of it went out).
        size: Bytes the file has (announced in the size prefix).
        final_reply: The miner's reply after the file, ``None`` when none came.
        final_error: The error the miner answered after the file (a ``WhatsminerError``), or ``None``.
        problem: Why sending stopped or no final reply came (connection level), ``None`` when nothing went wrong.
    """

    sent: int
    size: int
    final_reply: Any
    final_error: WhatsminerError | None
    problem: str | None


class ExchangeFailure(Exception):
    """One TCP exchange failed at the connection level (internal to the clients; never reaches a module).

    Attributes:
        reason: What went wrong, for the public error's message.
        request_sent: The connection was open when it failed, so the miner may have received the request.
        timed_out: The failure is a timeout (``MinerTimeoutError``).
        btminer_down: The API daemon answered that btminer is not running (``MinerRestartingError``).
        retryable: Whether another attempt can help (an unresolvable host name cannot).
        code, miner_message: The miner's reply that told btminer is down, when it sent one.
    """

    def __init__(self, reason: str, *, request_sent: bool, timed_out: bool = False, btminer_down: bool = False,
                 retryable: bool = True, code: int | None = None, miner_message: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.request_sent = request_sent
        self.timed_out = timed_out
        self.btminer_down = btminer_down
        self.retryable = retryable
        self.code = code
        self.miner_message = miner_message


class Transport:
    """One request per TCP connection to one miner, with bounded retries; subclasses add the framing.

    Attributes:
        host, port: The miner.
        timeout: Seconds allowed to connect, and then to receive the whole reply.
        retries: Extra attempts after a connection-level failure (reads; writes only when nothing was sent).
        retry_delay: Seconds between attempts.
        no_reply_wait: Seconds to wait for a reply with ``expect_reply=False`` (capped by ``timeout``).
        max_reply_bytes: Largest reply accepted; a larger one raises ``MalformedReplyError``.
        connections_opened: TCP connections established so far.
        tokens_requested: Token (API 2) or salt (API 3) requests made so far.
        commands_sent: Command names sent, one entry per request on the wire (no parameters).
        deadline: ``time.monotonic()`` value by which every exchange must end (``None``: only
            ``timeout`` and ``retries`` bound them); set with ``time_limit``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        *,
        retry_delay: float = DEFAULT_RETRY_DELAY,
        no_reply_wait: float = DEFAULT_NO_REPLY_WAIT,
        max_reply_bytes: int = MAX_REPLY_BYTES,
    ) -> None:
        if not host or not isinstance(host, str):
            raise ValueError("host must be a non-empty string")
        if timeout <= 0 or no_reply_wait <= 0:
            raise ValueError("timeout and no_reply_wait must be positive")
        if retries < 0 or retry_delay < 0:
            raise ValueError("retries and retry_delay must not be negative")
        self.host = host
        self.port = int(port)
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.retry_delay = float(retry_delay)
        self.no_reply_wait = float(no_reply_wait)
        self.max_reply_bytes = int(max_reply_bytes)
        self.connections_opened = 0
        self.tokens_requested = 0
        self.commands_sent: list[str] = []
        self.deadline: float | None = None

    @contextlib.contextmanager
    def time_limit(self, seconds: float) -> Iterator[None]:
        """Inside the block, every exchange ends within ``seconds`` from now (an outer limit still applies).

        Each attempt's connect and reply waits are cut to the time left, no retry starts once it
        is spent, and a request that finds no time left is not sent (``MinerTimeoutError``).
        """
        outer = self.deadline
        deadline = time.monotonic() + max(float(seconds), 0.0)
        self.deadline = deadline if outer is None else min(outer, deadline)
        try:
            yield
        finally:
            self.deadline = outer

    def _time_left(self) -> float | None:
        """Seconds until ``deadline``, in whole hundredths (``None`` without a deadline); messages then show ``0.19 s``."""
        return None if self.deadline is None else math.floor((self.deadline - time.monotonic()) * 100) / 100

    def reply_wait(self, expect_reply: bool) -> float:
        """Seconds to wait for a reply: ``timeout``, or at most ``no_reply_wait`` when none may come."""
        return self.timeout if expect_reply else min(self.timeout, self.no_reply_wait)

    # -----------------------------------------------------------------------------------------
    # For subclasses

    def _receive_reply(self, sock: socket.socket, command: str, wait: float) -> Any:
        """Receive the reply to ``command`` on ``sock`` within ``wait`` seconds (the framing).

        Raises ``ExchangeFailure`` for connection-level failures, a ``WhatsminerError`` otherwise.
        """
        raise NotImplementedError

    def _transact(self, command: str, payload: bytes, *, idempotent: bool, wait: float, write: bool | None = None) -> Any:
        """Exchange ``payload`` for the reply, retrying connection failures where that is safe.

        ``idempotent`` requests (reads) are retried after any connection-level failure; others
        only when their connection was never established. ``write`` (default: not ``idempotent``)
        marks a request whose effect a lost reply leaves unknown.
        """
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            left = self._time_left()
            if left is not None and left <= 0:
                raise MinerTimeoutError("the time allowed for this wait ran out before the request could be sent", timeout=0.0,
                                        host=self.host, port=self.port, command=command, request_sent=False, write=False)
            attempt_wait = wait if left is None else min(wait, left)
            connect_timeout = self.timeout if left is None else min(self.timeout, left)
            try:
                return self._exchange(command, payload, attempt_wait, connect_timeout)
            except ExchangeFailure as failure:
                safe_to_retry = failure.retryable and (idempotent or not failure.request_sent)
                left = self._time_left()
                out_of_time = left is not None and left <= self.retry_delay
                if not safe_to_retry or attempt == attempts or out_of_time:
                    raise self._connection_error(failure, command, attempt, (attempt_wait, connect_timeout),
                                                 write=not idempotent if write is None else write) from failure
            time.sleep(self.retry_delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # -----------------------------------------------------------------------------------------
    # One exchange

    def _exchange(self, command: str, payload: bytes, wait: float, connect_timeout: float | None = None) -> Any:
        """One connection: connect (within ``connect_timeout``, default ``timeout``), send ``payload``, receive the reply (at most ``wait`` seconds)."""
        sock = self._connect(self.timeout if connect_timeout is None else connect_timeout)
        with sock:
            self.commands_sent.append(command)
            try:
                sock.sendall(payload)
            except socket.timeout as exc:
                raise ExchangeFailure("sending the request timed out", request_sent=True, timed_out=True) from exc
            except OSError as exc:
                raise ExchangeFailure(f"the connection broke while sending ({exc.strerror or exc})", request_sent=True) from exc
            return self._receive_reply(sock, command, wait)

    def _upload(self, command: str, payload: bytes, size: int, chunks: Iterable[bytes], *,
                receive_ready: Callable[[socket.socket], Any], receive_final: Callable[[socket.socket], Any]) -> UploadOutcome:
        """One connection for a command whose reply (``ready``) is followed by a file on the same connection.

        Sends ``payload``; ``receive_ready(sock)`` receives and checks the reply (raises the typed error
        when the miner refuses); then the 4-byte little-endian ``size`` and the ``chunks`` (``size``
        bytes in all, read as they are sent, never held whole); then ``receive_final(sock)`` reads the
        miner's reply after the file, if one comes. Never retried: the miner may have taken the file.
        Failures before the file is sent raise the typed errors; what happens from the size prefix on
        is returned in the ``UploadOutcome``.
        """
        try:
            sock = self._connect(self.timeout)
        except ExchangeFailure as failure:
            raise self._connection_error(failure, command, 1, (self.timeout, self.timeout), write=True) from failure
        with sock:
            self.commands_sent.append(command)
            try:
                sock.sendall(payload)
                receive_ready(sock)
            except ExchangeFailure as failure:
                raise self._connection_error(failure, command, 1, (self.timeout, self.timeout), write=True) from failure
            except OSError as exc:
                failure = ExchangeFailure(f"the connection broke while sending ({exc.strerror or exc})", request_sent=True)
                raise self._connection_error(failure, command, 1, (self.timeout, self.timeout), write=True) from exc
            sent = 0
            try:
                sock.settimeout(self.timeout)
                sock.sendall(UPLOAD_SIZE_PREFIX.pack(size))
                for chunk in chunks:
                    sock.sendall(chunk)
                    sent += len(chunk)
            except OSError as exc:
                reason = "timed out" if isinstance(exc, socket.timeout) else f"broke ({exc.strerror or exc})"
                return UploadOutcome(sent, size, None, None, f"the connection {reason} after {sent} of {size} bytes of the file")
            if sent != size:
                raise ValueError(f"the file changed while it was sent: {sent} bytes instead of {size}")
            try:
                return UploadOutcome(sent, size, receive_final(sock), None, None)
            except ExchangeFailure as failure:
                return UploadOutcome(sent, size, None, None, f"no reply after the file: {failure.reason}")
            except WhatsminerError as error:
                return UploadOutcome(sent, size, None, error, None)

    def _connect(self, timeout: float) -> socket.socket:
        """A new connection to the miner within ``timeout`` seconds, or the ``ExchangeFailure`` saying why there is none."""
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
        except socket.gaierror as exc:
            raise ExchangeFailure(f"cannot resolve the host name ({exc.strerror})", request_sent=False, retryable=False) from exc
        except ValueError as exc:  # e.g. an IDNA label longer than 63 characters, an embedded NUL
            raise ExchangeFailure(f"the host is not a valid address or host name ({exc})", request_sent=False, retryable=False) from exc
        except socket.timeout as exc:
            raise ExchangeFailure(f"no connection within {timeout:g} s", request_sent=False, timed_out=True) from exc
        except OSError as exc:
            raise ExchangeFailure(f"cannot connect ({exc.strerror or exc})", request_sent=False) from exc
        self.connections_opened += 1
        return sock

    def _connection_error(self, failure: ExchangeFailure, command: str, attempts: int, waits: tuple[float, float], *,
                          write: bool) -> MinerConnectionError:
        """The public error for the last failed attempt (``waits``: its reply wait and connect timeout)."""
        wait, connect_timeout = waits
        reason = failure.reason + (f" ({attempts} attempts)" if attempts > 1 else "")
        context: dict[str, Any] = {"host": self.host, "port": self.port, "command": command, "request_sent": failure.request_sent, "write": write}
        if failure.btminer_down:
            return MinerRestartingError(reason, code=failure.code, miner_message=failure.miner_message, **context)
        if failure.timed_out:
            return MinerTimeoutError(reason, timeout=wait if failure.request_sent else connect_timeout, **context)
        return MinerConnectionError(reason, **context)
