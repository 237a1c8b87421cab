"""What else a farm network holds, for discovery: devices that are not Whatsminers, or not simply one.

Each device listens on loopback addresses, served by the fleet's event loop, and counts the
connections it accepts (``connections``), so tests can tell that nothing was contacted.

=========  ==================================================================================
kind       behaviour
=========  ==================================================================================
cgminer    another vendor's cgminer-based miner (an Antminer S19) on port 4028: ``version``,
           ``summary``, ``pools``, ``devs``, ``stats`` answer in cgminer's shape (with the
           trailing NUL of bmminer), every other command gets cgminer's code 14 "Invalid command"
http       an HTTP-only device (a PDU, a switch, a camera): whatever is sent, it answers an HTTP
           page and closes (port 4028 unless ``ports`` says otherwise, e.g. ``[80, 4028]``)
silent     accepts on 4028 and 4433 and never replies (holds the connection until the client
           leaves or the fleet stops)
reset      accepts on 4028 and 4433 and resets the connection at once (RST)
alias      a second address of a miner (``target``: its name): a TCP relay to the miner's ports,
           as when DHCP gave the miner a new address and the old lease still answers
=========  ==================================================================================

Spec (CLI ``--odd-devices``): a comma list of ``kind@address`` (``alias:miner-003@127.0.9.5``);
as data: ``{"kind": "cgminer", "host": "127.0.9.1"}`` (``target`` for aliases, ``ports`` optional).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .miner import _close

if TYPE_CHECKING:
    from .fleet import Fleet

KINDS = ("cgminer", "http", "silent", "reset", "alias")
DEFAULT_PORTS = {"cgminer": (4028,), "http": (4028,), "silent": (4028, 4433), "reset": (4028, 4433)}
READ_LIMIT = 64 * 1024
REQUEST_WAIT_S = 5.0
OTHER_VENDOR_TYPE = "Antminer S19"
OTHER_VENDOR_DESCRIPTION = "cgminer 1.0.0"
HTTP_PAGE = (
    b"HTTP/1.1 200 OK\r\nServer: lighttpd\r\nContent-Type: text/html\r\nConnection: close\r\nContent-Length: 52\r\n\r\n"
    b"<html><body><h1>Smart PDU</h1>Please log in.</body>"
)


@dataclass
class OddDeviceSpec:
    """One device to start: ``kind`` (see ``KINDS``), ``host`` (loopback), ``ports``, ``target`` (aliases)."""

    kind: str
    host: str
    ports: tuple[int, ...] = ()
    target: str | None = None

    @classmethod
    def parse(cls, item: str | dict[str, Any]) -> OddDeviceSpec:
        """``"kind@host"``, ``"alias:miner-003@host"`` or ``{"kind", "host", "ports", "target"}``."""
        if isinstance(item, dict):
            spec = cls(str(item["kind"]), str(item["host"]), tuple(int(port) for port in item.get("ports") or ()), item.get("target"))
        else:
            kind, sep, host = item.strip().partition("@")
            target = None
            if ":" in kind:
                kind, target = kind.split(":", 1)
            if not sep or not host:
                raise ValueError(f"odd device {item!r}: expected kind@address, e.g. cgminer@127.0.9.1")
            spec = cls(kind, host, (), target)
        if spec.kind not in KINDS:
            raise ValueError(f"odd device kind {spec.kind!r} unknown; known: {', '.join(KINDS)}")
        if spec.kind == "alias" and not spec.target:
            raise ValueError("an alias needs the name of its miner: alias:miner-003@127.0.9.5")
        return spec


def parse_specs(text: str | Sequence[str | dict[str, Any]]) -> list[OddDeviceSpec]:
    """Specs from a comma list or a sequence of strings/dicts."""
    items = [part for part in text.split(",") if part.strip()] if isinstance(text, str) else list(text)
    return [OddDeviceSpec.parse(item) for item in items]


@dataclass
class OddDevice:
    """A running odd device."""

    spec: OddDeviceSpec
    fleet: Fleet
    connections: int = 0
    _servers: list[asyncio.AbstractServer] = field(default_factory=list)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def ports(self) -> tuple[int, ...]:
        """The ports it listens on."""
        if self.spec.ports:
            return self.spec.ports
        if self.spec.kind == "alias":
            miner = self.fleet.miner(str(self.spec.target))
            return tuple(port for port in (miner.port, miner.api3_port) if port)
        return DEFAULT_PORTS[self.spec.kind]

    def describe(self) -> dict[str, Any]:
        """JSON form (fleet description, control API)."""
        return {"kind": self.spec.kind, "host": self.spec.host, "ports": list(self.ports), "target": self.spec.target,
                "connections": self.connections}

    async def start(self) -> None:
        """Listen on every port."""
        for port in self.ports:
            handler = self._handler(port)
            self._servers.append(await asyncio.start_server(handler, self.spec.host, port, reuse_address=True, backlog=64))

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        for server in self._servers:
            server.close()
        self._servers.clear()
        for task in list(self._tasks):
            task.cancel()

    def _handler(self, port: int) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]:
        serve = {"cgminer": self._serve_cgminer, "http": self._serve_http, "silent": self._serve_silent,
                 "reset": self._serve_reset, "alias": self._serve_alias}[self.spec.kind]

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)
            mode = "close"
            try:
                mode = await serve(reader, writer, port) or "close"
            except (OSError, asyncio.CancelledError, asyncio.IncompleteReadError, TimeoutError):
                mode = "close"
            finally:
                if task is not None:
                    self._tasks.discard(task)
                _close(writer, mode)
        return handle

    # --- behaviours -----------------------------------------------------------------------

    async def _serve_cgminer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _port: int) -> str:
        data = b""
        async with asyncio.timeout(REQUEST_WAIT_S):
            while True:
                chunk = await reader.read(READ_LIMIT)
                if not chunk:
                    break
                data += chunk
                try:
                    request = json.loads(data.decode("utf-8", errors="replace"))
                    break
                except ValueError:
                    continue
        try:
            request = json.loads(data.decode("utf-8", errors="replace"))
            command = str(request.get("command") or request.get("cmd") or "") if isinstance(request, dict) else ""
        except ValueError:
            command = ""
        writer.write(json.dumps(cgminer_reply(command)).encode("utf-8") + b"\x00")
        await writer.drain()
        return "close"

    async def _serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _port: int) -> str:
        try:
            async with asyncio.timeout(REQUEST_WAIT_S):
                await reader.read(READ_LIMIT)
        except TimeoutError:
            pass
        writer.write(HTTP_PAGE)
        await writer.drain()
        return "close"

    async def _serve_silent(self, reader: asyncio.StreamReader, _writer: asyncio.StreamWriter, _port: int) -> str:
        while await reader.read(READ_LIMIT):
            pass  # swallow the request, never answer; the client gives up
        return "close"

    async def _serve_reset(self, _reader: asyncio.StreamReader, _writer: asyncio.StreamWriter, _port: int) -> str:
        return "reset"

    async def _serve_alias(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> str:
        miner = self.fleet.miner(str(self.spec.target))
        upstream_reader, upstream_writer = await asyncio.open_connection(miner.host, port)

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while True:
                    chunk = await source.read(READ_LIMIT)
                    if not chunk:
                        break
                    sink.write(chunk)
                    await sink.drain()
            finally:
                if sink.can_write_eof():
                    try:
                        sink.write_eof()
                    except OSError:
                        pass

        try:
            await asyncio.gather(pump(reader, upstream_writer), pump(upstream_reader, writer))
        finally:
            upstream_writer.close()
        return "close"


def cgminer_reply(command: str) -> dict[str, Any]:
    """What an Antminer's cgminer (bmminer) answers to ``command``."""
    when = int(time.time())

    def status(code: int, message: str, state: str = "S") -> list[dict[str, Any]]:
        return [{"STATUS": state, "When": when, "Code": code, "Msg": message, "Description": OTHER_VENDOR_DESCRIPTION}]

    if command == "version":
        return {"STATUS": status(22, "CGMiner versions"), "VERSION": [{
            "CGMiner": "4.11.1", "API": "3.7", "Miner": "49.0.1.3", "CompileTime": "Fri Sep 15 14:39:20 CST 2023", "Type": OTHER_VENDOR_TYPE,
        }], "id": 1}
    if command == "summary":
        return {"STATUS": status(11, "Summary"), "SUMMARY": [{"Elapsed": 86400, "GHS 5s": "95123.45", "GHS av": 95000.12, "Accepted": 4242}], "id": 1}
    if command == "pools":
        return {"STATUS": status(7, "1 Pool(s)"), "POOLS": [{"POOL": 0, "URL": "stratum+tcp://pool.example:3333", "Status": "Alive"}], "id": 1}
    if command == "devs":
        return {"STATUS": status(9, "3 ASC(s)"), "DEVS": [], "id": 1}
    if command == "stats":
        return {"STATUS": status(70, "CGMiner stats"), "STATS": [{"BMMiner": "4.11.1", "Type": OTHER_VENDOR_TYPE}], "id": 1}
    return {"STATUS": status(14, "Invalid command", "E"), "id": 1}


async def start_devices(fleet: Fleet, specs: Sequence[OddDeviceSpec]) -> list[OddDevice]:
    """Start the devices on the fleet's loop (call from the loop)."""
    devices = []
    for spec in specs:
        device = OddDevice(spec, fleet)
        await device.start()
        devices.append(device)
    return devices
