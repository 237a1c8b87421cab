# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find the Whatsminers on a farm's networks: a read-only scan with bounded concurrency (controller side).

Note that this plugin util is PRIVATE to the collection. It can have breaking changes at any time.

``scan`` probes every address of an ``AddressSet`` (``_addresses.parse_addresses``: the ``networks``
minus the ``exclude`` of the inventory plugin) with at most ``concurrency`` addresses in flight (one asyncio loop, non-blocking sockets), in stages:

1. TCP connect to the API 2 port (4028) and the API 3 port (4433) at the same time;
2. on the connections that opened, at the same time: API 3 ``get.device.info`` on 4433 (one frame:
   model, firmware, MAC, host name, serial; a Whatsminer with API 3 when the reply has its
   ``miner``/``system`` sections, and nothing more is read) and ``get_version`` on 4028;
3. else, from the ``get_version`` reply: the Whatsminer API daemon answers
   it with the firmware and API version (API 3 firmware answers it too, and the date of its
   firmware says API 3, as for the modules' ``api_version: auto``); then the identity reads
   (``get_miner_info`` and ``devdetails``; ``summary`` and ``devdetails`` on 1.x firmware,
   which has no ``get_miner_info``), each on its own connection, at the same time.
   A cgminer-based miner of another vendor on 4028 answers ``get_version`` with cgminer's
   "Invalid command"; its ``version`` reply names its type. HTTP devices, silent, resetting and
   garbage-sending addresses are noted as not identified and the scan goes on.
4. a read whose reply has not come after a quarter of the timeout is asked for once more, on a new
   connection, while the first request still waits (a reply lost, or held up by a busy miner); the
   first reply of the two counts and each request waits at most the timeout. While the scan is busy
   (addresses still to start, or more than a quarter of the concurrency in flight) the second request
   waits until it is quiet, so that it neither adds to the load nor queues behind it. An address that
   accepts and never replies thus costs 1.25 timeouts once the scan is quiet, overlapping the other
   addresses, instead of two timeouts one after the other at the end. Once the scan is congested (a
   reply came later than half the timeout: the controller, the network or the miners overloaded), no
   more second requests are sent: they would queue behind the late replies.
5. the last pass, after all addresses, probes once more (one request per read, a quarter of the
   concurrency at a time) the addresses whose read timed out without a second request (the scan busy
   or congested); and when the scan was congested, also those that gave no reply to two requests.

Only reads are sent: no password, no token, no crypto import. The request framing and the reply
parsing are the clients' own (``_protocol.api2``, ``_protocol.api3``, ``_protocol.parsing``), and the identity comes
from the same normalizers as the facts module's ``whatsminer_device`` (``_miner_state``).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _miner_state as api2_state
from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _miner_state_v3 as api3_state
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import DEFAULT_PORT, _encode
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api3 import (
    DEFAULT_V3_PORT,
    LENGTH_PREFIX,
    SALT_COMMAND,
    _frame,
)
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import MalformedReplyError
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.parsing import (
    is_complete_document,
    parse_reply_detailed,
    reply_status,
)
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.transport import MAX_REPLY_BYTES, RECEIVE_CHUNK_BYTES
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import api_version_from_version_reply
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._addresses import AddressSet

DEFAULT_TIMEOUT = 2.0
DEFAULT_CONCURRENCY = 512
#: File handles kept free for everything else in the process (ansible's own files, the cache).
RESERVED_FILE_HANDLES = 64
#: Sockets one address may hold at once while the scan is busy (the two connects of stage 1, the two reads of
#: stage 3). Second requests (two more sockets) are only sent once the scan is quiet, with at most
#: ``concurrency / QUIET_DIVISOR`` addresses in flight: within the same budget.
SOCKETS_PER_ADDRESS = 2
#: The scan is quiet once every address has started and at most ``concurrency / QUIET_DIVISOR`` are in flight;
#: the last pass (addresses whose read timed out while the scan was busy) has as many in flight.
QUIET_DIVISOR = 4
#: A reply later than this fraction of the timeout means the scan is congested (see ``Scanner.congested``).
CONGESTED_REPLY = 0.5
#: A read with no reply after this fraction of the timeout is asked once more on a new connection (once the scan
#: is quiet); so an address that accepts and never replies costs 1.25 timeouts, a reply lost or held up by a busy
#: miner costs a quarter of one.
SECOND_REQUEST_AFTER = 0.25

IDENTITY_FIELDS = ("model", "firmware_version", "api_version", "platform", "mac", "ip", "hostname", "serial")
WHATSMINER_WORDS = ("whatsminer", "btminer", "bitmicro")
CONNECT_PENDING = frozenset({errno.EINPROGRESS, errno.EALREADY, errno.EAGAIN, errno.EWOULDBLOCK})


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class Miner:
    """A Whatsminer the scan identified.

    Attributes:
        address: Where it answered.
        api_version: 2 or 3: the API the modules use with it (3: firmware released after 2024-11).
        identity: ``model``, ``firmware_version``, ``api_version`` (as the firmware reports it),
            ``platform``, ``mac``, ``ip`` (as the miner reports it), ``hostname``, ``serial``;
            ``None`` where the firmware does not report it.
        port, api3_port: The ports it was found on (``api3_port`` ``None`` when 4433 was closed).
    """

    address: str
    api_version: int
    identity: dict[str, Any]
    port: int
    api3_port: int | None = None

    @property
    def key(self) -> str:
        """What identifies the miner wherever it is: its MAC, else its serial, else its address."""
        return self.identity.get("mac") or self.identity.get("serial") or self.address

    def as_dict(self) -> dict[str, Any]:
        """JSON form (the inventory cache)."""
        return {"address": self.address, "api_version": self.api_version, "identity": dict(self.identity),
                "port": self.port, "api3_port": self.api3_port}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Miner:
        """The inverse of ``as_dict``."""
        return cls(str(data["address"]), int(data["api_version"]), dict(data.get("identity") or {}), int(data["port"]),
                   None if data.get("api3_port") is None else int(data["api3_port"]))


@dataclass
class OtherMiner:
    """A device that speaks the cgminer API on the API 2 port but is no Whatsminer (another vendor's miner)."""

    address: str
    port: int
    model: str | None
    description: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON form (the inventory cache)."""
        return {"address": self.address, "port": self.port, "model": self.model, "description": self.description}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OtherMiner:
        """The inverse of ``as_dict``."""
        return cls(str(data["address"]), int(data["port"]), data.get("model"), data.get("description"))


@dataclass
class ScanResult:
    """What one scan found and how it went.

    Attributes:
        miners: The Whatsminers, one per miner (see ``duplicates``), in address order.
        others: Other cgminer-API miners, in address order.
        unidentified: ``{address: reason}`` of addresses where a port accepted but nothing identified itself.
        duplicates: ``{kept address: [other addresses]}`` of miners seen at more than one address.
        addresses: How many addresses were scanned.
        connections: TCP connections opened.
        seconds: Wall time of the scan.
        concurrency: Addresses in flight at most.
        last_miner_seconds: When the last miner was identified, in seconds from the start of the scan
            (``None``: no miner); the rest of ``seconds`` went to addresses that did not reply.
        congested: Whether a reply came later than half the timeout (the controller, the network or the
            miners overloaded): then every address that gave no reply was probed once more at the end.
    """

    miners: list[Miner] = field(default_factory=list)
    others: list[OtherMiner] = field(default_factory=list)
    unidentified: dict[str, str] = field(default_factory=dict)
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    addresses: int = 0
    connections: int = 0
    seconds: float = 0.0
    concurrency: int = 0
    last_miner_seconds: float | None = None
    congested: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON form (the inventory cache)."""
        return {
            "miners": [miner.as_dict() for miner in self.miners], "others": [other.as_dict() for other in self.others],
            "unidentified": dict(self.unidentified), "duplicates": {key: list(value) for key, value in self.duplicates.items()},
            "addresses": self.addresses, "connections": self.connections, "seconds": self.seconds, "concurrency": self.concurrency,
            "last_miner_seconds": self.last_miner_seconds, "congested": self.congested,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanResult:
        """The inverse of ``as_dict``."""
        return cls(
            miners=[Miner.from_dict(item) for item in data.get("miners") or []],
            others=[OtherMiner.from_dict(item) for item in data.get("others") or []],
            unidentified=dict(data.get("unidentified") or {}), duplicates={key: list(value) for key, value in (data.get("duplicates") or {}).items()},
            addresses=int(data.get("addresses") or 0), connections=int(data.get("connections") or 0),
            seconds=float(data.get("seconds") or 0.0), concurrency=int(data.get("concurrency") or 0),
            last_miner_seconds=None if data.get("last_miner_seconds") is None else float(data["last_miner_seconds"]),
            congested=bool(data.get("congested")),
        )


# ---------------------------------------------------------------------------------------------
# Reply classification (pure functions)


def _text_of(reply: dict[str, Any], *keys: str) -> str:
    record = reply
    status = reply.get("STATUS")
    if isinstance(status, list) and status and isinstance(status[0], dict):
        record = status[0]
    return " ".join(str(record.get(key, "")) for key in keys)


def is_whatsminer_version(reply: dict[str, Any] | None) -> bool:
    """Whether a ``get_version`` reply comes from the Whatsminer API daemon (it carries ``fw_ver`` or ``api_ver``)."""
    msg = api2_state.message(reply)
    return reply_status(reply or {}) in ("S", "I") and bool(msg.get("fw_ver") or msg.get("api_ver"))


def is_whatsminer_error(reply: dict[str, Any] | None) -> bool:
    """Whether an error reply names the Whatsminer firmware (old daemons without ``get_version``)."""
    return isinstance(reply, dict) and any(word in _text_of(reply, "Description", "Msg").lower() for word in WHATSMINER_WORDS)


def is_device_info(reply: dict[str, Any] | None) -> bool:
    """Whether an API 3 reply is a ``get.device.info`` of a Whatsminer (``msg`` with ``miner`` or ``system``)."""
    msg = reply.get("msg") if isinstance(reply, dict) else None
    return isinstance(msg, dict) and (isinstance(msg.get("miner"), dict) or isinstance(msg.get("system"), dict))


def other_miner_model(version: dict[str, Any] | None, fallback: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """Model and description of another vendor's cgminer-based miner from its ``version`` reply."""
    records = api2_state.section(version, "VERSION")
    record = records[0] if records else {}
    model = api2_state.to_text(api2_state.first_present(record, "Type", "Model", "Miner")) if record else None
    description = api2_state.to_text(_text_of(version or fallback or {}, "Description"))
    return model, description


def identity_of(api_version: int, replies: dict[str, dict[str, Any] | None], address: str) -> dict[str, Any]:
    """The identity fields of a Whatsminer from the replies read (``_miner_state.device_facts``)."""
    if "get.device.info" in replies:
        facts = api3_state.device_facts(device_info=replies["get.device.info"], address=address)
    else:
        facts = api2_state.device_facts(
            version=replies.get("get_version"), summary=replies.get("summary"), devdetails=replies.get("devdetails"),
            miner_info=replies.get("get_miner_info"), address=address,
        )
    identity = {name: facts.get(name) for name in IDENTITY_FIELDS}
    identity["api_version"] = identity["api_version"] or ("3" if api_version == 3 else None)
    return identity


# ---------------------------------------------------------------------------------------------
# The scan


class _NoAnswer(Exception):
    """An exchange that gave no parsable reply (closed, reset, silent, not JSON); ``timed_out``: the reply did not come in time."""

    def __init__(self, reason: str, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.timed_out = timed_out


class _AskAgainLater(_NoAnswer):
    """A read that timed out while the scan was busy, before its second request: the address is probed again in the last pass."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, timed_out=True)


class _NoReplyToTwoRequests(_NoAnswer):
    """A read whose two requests both timed out: final, unless the scan was congested (then the last pass probes the address again)."""

    def __init__(self) -> None:
        super().__init__("no reply to two requests (timed out)", timed_out=True)


def second_request_due(sent_at: float, quiet_since: float | None, timeout: float) -> float | None:
    """When a read sent at ``sent_at`` that has had no reply yet is asked once more, on a new connection.

    A quarter of the timeout after it was sent (``SECOND_REQUEST_AFTER``), but not before the scan is
    quiet (``quiet_since``: every address started and at most a quarter of ``concurrency`` in flight),
    so that the second request neither adds to the scan's load nor waits behind it. ``None`` while the
    scan is busy (not known yet).
    """
    if quiet_since is None:
        return None
    return max(sent_at + timeout * SECOND_REQUEST_AFTER, quiet_since)


class Scanner:
    """One scan of an ``AddressSet``. Use ``scan()``.

    The I/O is in ``_connect_both``, ``_connect`` and ``_exchange`` (sockets); the rest only schedules
    (the unit tests replace the three with fakes and run the scan on a virtual clock).
    """

    def __init__(self, addresses: AddressSet, *, port: int = DEFAULT_PORT, api3_port: int | None = DEFAULT_V3_PORT,
                 timeout: float = DEFAULT_TIMEOUT, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self.addresses = addresses
        self.port = port
        self.api3_port = api3_port
        self.timeout = timeout
        self.concurrency = max(1, min(concurrency, file_handle_budget()))
        self.connections = 0
        self.found: list[Miner] = []
        self.others: list[OtherMiner] = []
        self.unidentified: dict[str, str] = {}
        #: Loop time when the scan started, and when its last miner was identified.
        self.started_at = 0.0
        self.last_miner_at: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Resolved (with its loop time) once the scan is quiet: every address started, few in flight.
        self._quiet: asyncio.Future[float] | None = None
        self._active = 0
        self._started = 0
        self._total = len(addresses)
        #: Addresses whose read timed out while the scan was busy: probed once more in the last pass.
        self._again: list[str] = []
        #: Addresses with a read that got no reply to two requests: probed once more in the last pass if the scan was congested.
        self._no_reply: list[str] = []
        #: Whether the scan saw congestion: a reply that took more than ``CONGESTED_REPLY`` of the timeout (the
        #: controller, the network or the miners overloaded). Then no more second requests are sent.
        self.congested = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop of the running scan."""
        if self._loop is None:
            raise RuntimeError("the scan is not running")
        return self._loop

    @property
    def quiet_threshold(self) -> int:
        """Addresses in flight at most (with every address started) for the scan to be quiet."""
        return max(1, self.concurrency // QUIET_DIVISOR)

    @property
    def quiet_since(self) -> float | None:
        """Loop time since when the scan is quiet; ``None`` while it is busy."""
        return self._quiet.result() if self._quiet is not None and self._quiet.done() else None

    # --- sockets ------------------------------------------------------------------------

    def _start_connect(self, address: str, port: int) -> tuple[socket.socket | None, bool]:
        """Begin a non-blocking connect: ``(socket, pending)``; ``(None, False)`` when it failed at once.

        On the controller's own network segment (and on loopback) a closed port answers at once, so
        most empty addresses cost two system calls and no wait.
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            error = sock.connect_ex((address, port))
        except OSError:
            sock.close()
            return None, False
        if error == 0:
            self.connections += 1
            return sock, False
        if error in CONNECT_PENDING:
            return sock, True
        sock.close()
        return None, False

    async def _finish_connect(self, sock: socket.socket) -> socket.socket | None:
        """Wait (at most the timeout) for a pending connect; the socket, or ``None`` when it failed."""
        waiter = self.loop.create_future()
        descriptor = sock.fileno()
        self.loop.add_writer(descriptor, lambda: waiter.done() or waiter.set_result(None))
        try:
            async with asyncio.timeout(self.timeout):
                await waiter
        except TimeoutError:
            sock.close()
            return None
        except BaseException:
            sock.close()
            raise
        finally:
            self.loop.remove_writer(descriptor)
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            sock.close()
            return None
        self.connections += 1
        return sock

    async def _connect(self, address: str, port: int) -> Any:
        """A connected non-blocking socket, or ``None`` (refused, unreachable, timed out)."""
        sock, pending = self._start_connect(address, port)
        return await self._finish_connect(sock) if pending and sock is not None else sock

    async def _connect_both(self, address: str) -> tuple[Any, Any]:
        """Connect to the API 2 and the API 3 port at the same time (stage 1)."""
        api2, api2_pending = self._start_connect(address, self.port)
        if self.api3_port is None:
            return (await self._finish_connect(api2) if api2_pending and api2 is not None else api2), None
        api3, api3_pending = self._start_connect(address, self.api3_port)
        if api2_pending and api3_pending:
            return await asyncio.gather(self._finish_connect(api2), self._finish_connect(api3))  # type: ignore[arg-type,return-value]
        if api2_pending:
            return await self._finish_connect(api2), api3  # type: ignore[arg-type]
        if api3_pending:
            return api2, await self._finish_connect(api3)  # type: ignore[arg-type]
        return api2, api3

    async def _receive_until_close(self, sock: socket.socket) -> bytes:
        """API 2 framing: everything until the peer closes (a reset or timeout after a whole JSON document counts as the end)."""
        chunks: list[bytes] = []
        received = 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    chunk = await self.loop.sock_recv(sock, RECEIVE_CHUNK_BYTES)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    received += len(chunk)
                    if received > MAX_REPLY_BYTES:
                        raise _NoAnswer(f"a reply larger than {MAX_REPLY_BYTES} bytes")
        except (OSError, TimeoutError) as exc:
            data = b"".join(chunks)
            if data and is_complete_document(data):
                return data
            if isinstance(exc, TimeoutError):
                raise _NoAnswer("no reply (timed out)", timed_out=True) from None
            raise _NoAnswer(f"the connection broke ({exc.strerror or exc})") from None
        return b"".join(chunks)

    async def _receive_frame(self, sock: socket.socket) -> bytes:
        """API 3 framing: one length-prefixed frame (heartbeats skipped)."""

        async def exactly(count: int) -> bytes:
            data = b""
            while len(data) < count:
                chunk = await self.loop.sock_recv(sock, count - len(data))
                if not chunk:
                    raise _NoAnswer("the connection closed before a whole frame")
                data += chunk
            return data

        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    (length,) = LENGTH_PREFIX.unpack(await exactly(LENGTH_PREFIX.size))
                    if length == 0:
                        continue
                    if length > MAX_REPLY_BYTES:
                        raise _NoAnswer(f"a frame of {length} bytes announced (not the API 3 framing)")
                    return await exactly(length)
        except TimeoutError:
            raise _NoAnswer("no reply (timed out)", timed_out=True) from None
        except OSError as exc:
            raise _NoAnswer(f"the connection broke ({exc.strerror or exc})") from None

    @staticmethod
    def _parse(data: bytes) -> dict[str, Any]:
        if not data.strip(b"\x00 \t\r\n"):
            raise _NoAnswer("closed without replying")
        try:
            reply, _truncated = parse_reply_detailed(data)
        except MalformedReplyError:
            head = data[:16].decode("latin-1", errors="replace")
            raise _NoAnswer("answers HTTP, not the miner API" if head.startswith("HTTP/") else "the reply is not JSON") from None
        return reply

    async def _exchange(self, sock: Any, api: int, command: str) -> dict[str, Any]:
        """One read on the connected ``sock`` (API 2 or API 3 framing), waiting at most the timeout; the parsed reply. Closes ``sock``."""
        with sock:
            try:
                await self.loop.sock_sendall(sock, _frame({"cmd": command}) if api == 3 else _encode({"cmd": command}))
            except OSError as exc:
                raise _NoAnswer(f"the connection broke ({exc.strerror or exc})") from None
            return self._parse(await (self._receive_frame(sock) if api == 3 else self._receive_until_close(sock)))

    # --- one read, with its second request -------------------------------------------------

    async def _attempt(self, address: str, api: int, command: str, sock: Any = None) -> dict[str, Any]:
        """One request: on ``sock`` when given, else on a new connection."""
        if sock is None:
            port = self.api3_port if api == 3 else self.port
            sock = await self._connect(address, port)  # type: ignore[arg-type]
            if sock is None:
                raise _NoAnswer(f"port {port} stopped accepting")
        return await self._exchange(sock, api, command)

    async def _ask(self, address: str, api: int, command: str, sock: Any = None, last_pass: bool = False) -> dict[str, Any]:
        """One read at ``address``; the parsed reply.

        A reply that has not come by ``second_request_due`` is asked for once more on a new connection
        while the first request still waits; the first reply of the two counts, and each request waits
        at most the timeout. A request that timed out while the scan was busy (before its second
        request was due) or while the scan was congested (no second request then) raises ``_AskAgainLater``.
        In the last pass a read is one request.
        """
        if last_pass:
            return await self._attempt(address, api, command, sock)
        sent_at = self.loop.time()
        first = self.loop.create_task(self._attempt(address, api, command, sock))
        second: asyncio.Task[dict[str, Any]] | None = None
        second_at = sent_at
        try:
            while not first.done():
                quiet_since = self.quiet_since
                if quiet_since is None:
                    await asyncio.wait((first, self._quiet), return_when=asyncio.FIRST_COMPLETED)  # type: ignore[arg-type]
                    continue
                delay = second_request_due(sent_at, quiet_since, self.timeout) - self.loop.time()  # type: ignore[operator]
                if delay > 0:
                    await asyncio.wait((first,), timeout=delay)
                elif self.congested:
                    await asyncio.wait((first,))  # a second request would queue behind the late replies: none
                else:
                    break
            if first.done():
                failure = first.exception()
                if failure is None:
                    self._note_reply(sent_at)
                    return first.result()
                if not (isinstance(failure, _NoAnswer) and failure.timed_out):
                    raise failure
                raise _AskAgainLater(str(failure))
            second_at = self.loop.time()
            second = self.loop.create_task(self._attempt(address, api, command))
            try:
                answered, reply = await _first_reply(first, second)
            except _NoAnswer as exc:
                if exc.timed_out:
                    raise _NoReplyToTwoRequests() from None
                raise
            self._note_reply(sent_at if answered is first else second_at)
            return reply
        finally:
            for task in (first, second):
                if task is not None and not task.done():
                    task.cancel()

    def _note_reply(self, sent_at: float) -> None:
        """A reply came: one later than ``CONGESTED_REPLY`` of the timeout marks the scan congested."""
        if self.loop.time() - sent_at > self.timeout * CONGESTED_REPLY:
            self.congested = True

    async def _optional_api2(self, address: str, command: str, last_pass: bool) -> dict[str, Any] | None:
        """A read whose failure leaves a field unknown (``_AskAgainLater`` still sends the address to the last pass)."""
        try:
            return await self._ask(address, 2, command, last_pass=last_pass)
        except _AskAgainLater:
            raise
        except _NoReplyToTwoRequests:
            self._no_reply.append(address)
            return None
        except _NoAnswer:
            return None

    # --- one address ----------------------------------------------------------------------

    async def _first_read(self, address: str, api2_sock: Any, api3_sock: Any, last_pass: bool) -> tuple[Any, Any]:
        """Stage 2: ``get.device.info`` on the API 3 connection and ``get_version`` on the API 2 one, at the same time
        (a silent address costs one wait, not two); each result is its reply or the ``_NoAnswer`` it ended with."""

        async def attempt(api: int, command: str, sock: Any) -> Any:
            try:
                return await self._ask(address, api, command, sock, last_pass)
            except _NoAnswer as exc:
                return exc

        if api2_sock is not None and api3_sock is not None:
            return tuple(await asyncio.gather(attempt(3, SALT_COMMAND, api3_sock), attempt(2, "get_version", api2_sock)))
        if api3_sock is not None:
            return await attempt(3, SALT_COMMAND, api3_sock), None
        return None, await attempt(2, "get_version", api2_sock)

    async def _probe(self, address: str, last_pass: bool = False) -> None:
        """Identify what answers at ``address`` (the stages of the module docstring)."""
        api2_sock, api3_sock = await self._connect_both(address)
        if api2_sock is None and api3_sock is None:
            return
        info, version = await self._first_read(address, api2_sock, api3_sock, last_pass)
        if isinstance(info, dict) and is_device_info(info):
            self._add_miner(Miner(address, 3, identity_of(3, {"get.device.info": info}, address), self.port, self.api3_port))
            return
        failures = []
        if api3_sock is not None:
            failures.append((self.api3_port, info if isinstance(info, _NoAnswer) else _NoAnswer("not an API 3 get.device.info reply")))
        if isinstance(version, dict):
            try:
                await self._identify_api2(address, version, last_pass)
                return
            except _NoAnswer as exc:
                failures.append((self.port, exc))
        elif version is not None:
            failures.append((self.port, version))
        if any(isinstance(exc, _AskAgainLater) for _port, exc in failures):
            self._again.append(address)  # a busy miner (or a silent address) while the scan was busy: once more at the end
            return
        if any(isinstance(exc, _NoReplyToTwoRequests) for _port, exc in failures):
            self._no_reply.append(address)
        self.unidentified[address] = "; ".join(f"port {port}: {exc}" for port, exc in failures)

    async def _identify_api2(self, address: str, version: dict[str, Any], last_pass: bool) -> None:
        """Stage 3: from the ``get_version`` reply on port 4028, the identity reads (or the model of another vendor's miner)."""
        if is_whatsminer_version(version):
            api_version = api_version_from_version_reply(version)
            api = api2_state.api_version_number(api2_state.message(version).get("api_ver")) or ""
            if api_version == 3:
                reads = ("get_miner_info",)  # API 3 firmware's port 4028 has no devdetails
            elif api.startswith("1."):
                reads = ("summary", "devdetails")  # 1.x has no get_miner_info; summary has the MAC
            else:
                reads = ("get_miner_info", "devdetails")
        elif is_whatsminer_error(version):
            api_version, reads = 2, ("summary", "devdetails")
        else:
            other = await self._optional_api2(address, "version", last_pass)
            if other is not None and is_whatsminer_error(other):
                api_version, reads = 2, ("summary", "devdetails")
            else:
                model, description = other_miner_model(other, version)
                self.others.append(OtherMiner(address, self.port, model, description))
                return
        replies: dict[str, dict[str, Any] | None] = {"get_version": version}
        results = await asyncio.gather(*(self._optional_api2(address, command, last_pass) for command in reads))
        replies.update(zip(reads, results))
        self._add_miner(Miner(address, api_version, identity_of(api_version, replies, address), self.port, None))

    def _add_miner(self, miner: Miner) -> None:
        self.found.append(miner)
        self.last_miner_at = self.loop.time()

    # --- all addresses --------------------------------------------------------------------

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.started_at = self._loop.time()
        self._quiet = self._loop.create_future()
        await self._main_pass()
        again = dict.fromkeys(self._again)
        if self.congested:
            # Replies were late or lost to the scan's own load: "no reply to two requests" may be that too.
            again.update(dict.fromkeys(self._no_reply))
            self._forget(again)
        if again:
            await self._last_pass(sorted(again, key=lambda address: int(ipaddress.IPv4Address(address))))

    def _forget(self, addresses: dict[str, None]) -> None:
        """Drop what the main pass noted about ``addresses`` (the last pass probes them anew)."""
        self.found = [miner for miner in self.found if miner.address not in addresses]
        self.others = [other for other in self.others if other.address not in addresses]
        for address in addresses:
            self.unidentified.pop(address, None)

    def _check_quiet(self) -> None:
        """Note the moment the scan turns quiet: every address started and at most ``quiet_threshold`` in flight."""
        if self._active <= self.quiet_threshold and not self._quiet.done():  # type: ignore[union-attr]
            self._quiet.set_result(self.loop.time())  # type: ignore[union-attr]

    async def _probe_safely(self, address: str, last_pass: bool) -> None:
        try:
            await self._probe(address, last_pass)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # One address never breaks the scan (e.g. a socket error the stages do not expect).
            self.unidentified[address] = f"{type(exc).__name__}: {exc}"

    async def _main_pass(self) -> None:
        """Every address, at most ``concurrency`` at a time."""
        pending = iter(self.addresses)
        total = self._total

        async def worker() -> None:
            for address in pending:
                self._started += 1
                self._active += 1
                if self._started == total:
                    self._check_quiet()
                await self._probe_safely(address, last_pass=False)
                self._active -= 1
                if self._started == total:
                    self._check_quiet()
            self._check_quiet()  # the iterator is exhausted: every address started

        await asyncio.gather(*(worker() for _index in range(max(1, min(total, self.concurrency)))))

    async def _last_pass(self, addresses: list[str]) -> None:
        """``addresses`` once more, one request per read, ``quiet_threshold`` at a time."""
        pending = iter(addresses)

        async def worker() -> None:
            for address in pending:
                await self._probe_safely(address, last_pass=True)

        await asyncio.gather(*(worker() for _index in range(min(len(addresses), self.quiet_threshold))))

    def scan(self) -> ScanResult:
        """Scan every address; return the miners found (one per miner) and what else answered."""
        started = time.monotonic()
        _run_coroutine(self._run())
        return self.result(time.monotonic() - started)

    def result(self, seconds: float) -> ScanResult:
        """The ``ScanResult`` of the finished scan (``seconds``: its wall time)."""
        order = {address: index for index, address in enumerate(self.addresses)} if len(self.addresses) <= 1 << 20 else {}

        def position(item: Any) -> int:
            return order.get(item.address, int(ipaddress.IPv4Address(item.address)))

        miners, duplicates = deduplicate(sorted(self.found, key=position))
        return ScanResult(
            miners=miners, others=sorted(self.others, key=position),
            unidentified=dict(sorted(self.unidentified.items(), key=lambda item: int(ipaddress.IPv4Address(item[0])))),
            duplicates=duplicates, addresses=len(self.addresses), connections=self.connections,
            seconds=round(seconds, 3), concurrency=self.concurrency,
            last_miner_seconds=None if self.last_miner_at is None else round(self.last_miner_at - self.started_at, 3),
            congested=self.congested,
        )


async def _first_reply(*tasks: asyncio.Task[dict[str, Any]]) -> tuple[asyncio.Task[dict[str, Any]], dict[str, Any]]:
    """The first of ``tasks`` that succeeded, and its reply; when none succeeds, the last failure."""
    pending = set(tasks)
    failure: BaseException | None = None
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            failure = task.exception()
            if failure is None:
                return task, task.result()
    raise failure  # type: ignore[misc]


def deduplicate(miners: list[Miner]) -> tuple[list[Miner], dict[str, list[str]]]:
    """One entry per miner (same MAC or serial): the address the miner reports as its own, else the first.

    Returns the miners and ``{kept address: [other addresses]}`` for the miners seen more than once.
    """
    by_key: dict[str, list[Miner]] = {}
    for miner in miners:
        by_key.setdefault(miner.key, []).append(miner)
    kept: list[Miner] = []
    duplicates: dict[str, list[str]] = {}
    for group in by_key.values():
        chosen = next((miner for miner in group if miner.identity.get("ip") == miner.address), group[0])
        kept.append(chosen)
        if len(group) > 1:
            duplicates[chosen.address] = [miner.address for miner in group if miner is not chosen]
    order = {id(miner): index for index, miner in enumerate(miners)}
    return sorted(kept, key=lambda miner: order[id(miner)]), duplicates


def file_handle_budget() -> int:
    """Addresses that can be in flight without running out of file handles (the soft RLIMIT_NOFILE)."""
    try:
        import resource  # pylint: disable=import-outside-toplevel
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return DEFAULT_CONCURRENCY
    if soft == getattr(resource, "RLIM_INFINITY", -1) or soft <= 0:
        return 1 << 16
    return max(1, (soft - RESERVED_FILE_HANDLES) // SOCKETS_PER_ADDRESS)


def _run_coroutine(coroutine: Any) -> Any:
    """``asyncio.run``, in a thread of its own when the caller already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # pylint: disable=broad-exception-caught
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="whatsminer-discovery")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def scan(addresses: AddressSet, **options: Any) -> ScanResult:
    """Scan ``addresses`` (see ``Scanner`` for the options); the miners found and what else answered."""
    return Scanner(addresses, **options).scan()


def describe(result: ScanResult) -> str:
    """One line about a scan, for -vvv output and the benchmark."""
    return json.dumps({"addresses": result.addresses, "miners": len(result.miners), "others": len(result.others),
                       "unidentified": len(result.unidentified), "duplicates": len(result.duplicates),
                       "connections": result.connections, "seconds": result.seconds, "last_miner_seconds": result.last_miner_seconds,
                       "congested": result.congested, "concurrency": result.concurrency})
