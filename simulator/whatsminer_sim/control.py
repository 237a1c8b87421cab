"""JSON control API over HTTP/1.0 on 127.0.0.1, served by the fleet's event loop.

Routes::

    GET   /miners                 every miner with state, config, counters
    GET   /miners/<name>          one miner
    PATCH /miners/<name>          body {"state": {...}, "config": {...}, "faults": [...]}
    GET   /miners/<name>/log      {"log": [...]} (command log; no secrets)
    POST  /miners/<name>/reset    back to the initial state (body {"clear_log": true} optional)
    POST  /miners/<name>/move     listen at another loopback address (body {"host": "127.0.9.9"}), as after a DHCP change
    POST  /shutdown               ask the fleet's owner to stop (the CLI exits)
    GET   /draw                   true draw now: {"miners": {name: watts}, "total_w", "time"} (draw.py)
    GET   /                       fleet summary (addresses, profiles, control port)
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fleet import Fleet

MAX_BODY_BYTES = 1 << 20
REQUEST_TIMEOUT_S = 10.0
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large"}


class HttpError(Exception):
    """An error answered with ``status`` and a JSON ``{"error": message}`` body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ControlServer:
    """The control API of one fleet."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self._server: asyncio.AbstractServer | None = None

    async def start(self, port: int) -> int:
        """Listen on 127.0.0.1:``port`` (0 = free port); return the port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port, reuse_address=True)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer one HTTP request and close."""
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                status, body = await self._handle(reader)
        except TimeoutError:
            status, body = 400, {"error": "request timed out"}
        except HttpError as error:
            status, body = error.status, {"error": str(error)}
        data = json.dumps(body, indent=1).encode("utf-8")
        head = f"HTTP/1.0 {status} {REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        try:
            writer.write(head.encode("ascii") + data)
            await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader) -> tuple[int, Any]:
        """Parse the request and route it."""
        request_line = (await reader.readline()).decode("latin-1").strip()
        parts = request_line.split()
        if len(parts) < 2:
            raise HttpError(400, "malformed request line")
        method, target = parts[0].upper(), parts[1]
        length = 0
        while True:
            line = (await reader.readline()).decode("latin-1").strip()
            if not line:
                break
            name, _sep, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip() or 0)
        if length > MAX_BODY_BYTES:
            raise HttpError(413, "body too large")
        raw = await reader.readexactly(length) if length else b""
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError as error:
            raise HttpError(400, f"body is not JSON: {error}") from error
        return 200, await self._route(method, target.split("?", 1)[0], body)

    async def _route(self, method: str, path: str, body: Any) -> Any:
        """Dispatch on method and path."""
        segments = [segment for segment in path.split("/") if segment]
        if not segments:
            return self._only(method, "GET", self.fleet.describe())
        if segments == ["shutdown"]:
            self._only(method, "POST", None)
            self.fleet.shutdown_requested.set()
            return {"shutting_down": True}
        if segments == ["draw"]:
            from .draw import fleet_draw  # pylint: disable=import-outside-toplevel
            return self._only(method, "GET", fleet_draw(self.fleet.miners, time.time()))
        if segments[0] != "miners" or len(segments) > 3:
            raise HttpError(404, f"no route {path}")
        if len(segments) == 1:
            return self._only(method, "GET", {"miners": [miner.describe() for miner in self.fleet.miners]})
        try:
            miner = self.fleet.miner(segments[1])
        except KeyError as error:
            raise HttpError(404, f"no miner named {segments[1]!r}") from error
        action = segments[2] if len(segments) == 3 else ""
        if action == "log":
            return self._only(method, "GET", {"log": [entry.to_dict() for entry in miner.log]})
        if action == "reset":
            self._only(method, "POST", None)
            await miner.areset(clear_log=bool(isinstance(body, dict) and body.get("clear_log")))
            return miner.describe()
        if action == "move":
            self._only(method, "POST", None)
            host = body.get("host") if isinstance(body, dict) else None
            from .fleet import require_loopback  # pylint: disable=import-outside-toplevel  # fleet imports this module
            try:
                require_loopback(str(host))
                await miner.amove(str(host))
            except (ValueError, OSError) as error:
                raise HttpError(400, f"cannot move {miner.name} to {host!r}: {error}") from error
            return miner.describe()
        if action:
            raise HttpError(404, f"no route {path}")
        if method == "GET":
            return miner.describe()
        if method == "PATCH":
            await self._patch(miner, body)
            return miner.describe()
        raise HttpError(405, f"{method} not allowed on {path}")

    @staticmethod
    def _only(method: str, allowed: str, result: Any) -> Any:
        """Return ``result`` if ``method`` is ``allowed``, else answer 405."""
        if method != allowed:
            raise HttpError(405, f"use {allowed}")
        return result

    @staticmethod
    async def _patch(miner: Any, body: Any) -> None:
        """Apply ``{"state": {...}, "config": {...}, "faults": [...]}``."""
        if not isinstance(body, dict) or set(body) - {"state", "config", "faults"}:
            raise HttpError(400, 'body must be {"state": {...}, "config": {...}, "faults": [...]}')
        config = dict(body.get("config") or {})
        if "faults" in body:
            config["faults"] = body["faults"]
        try:
            if config:
                miner.config.apply(config)  # validate on a snapshot first: all or nothing
            if body.get("state"):
                miner.set_state(**body["state"])
            if config:
                await miner.aconfigure(**config)
        except (ValueError, TypeError, KeyError) as error:
            raise HttpError(400, str(error)) from error
