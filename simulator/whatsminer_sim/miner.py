"""One simulated miner: its listeners, connections, timed effects and thread-safe accessors.

A miner has the port-4028 listener (API 1.x/2.x, ``protocol.py``) and, when its firmware
profile has API 3 (``FirmwareProfile.v3_port``), a second listener for the framed API 3
(``v3_protocol.py``). Both answer from the same true state.

Threading model: the asyncio loop runs in one background thread and serves every miner.
All protocol handling happens on that thread with the miner's lock held; tests and the
control API read snapshots and apply changes through the same lock. Changes that affect
the listener (refusing connections) are marshalled onto the loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Coroutine, Iterable

from . import firmware, v3_protocol
from .auth import TokenTable
from .config import MinerConfig
from .faults import Fault, garbage_bytes, render, send_with_faults
from .profiles import MODELS, PROFILES, FirmwareProfile, ModelSpec
from .protocol import INVALID_REQUEST, Outcome, RequestHandler, parse_request
from .replies import ReplyContext
from .state import MinerState, PoolSlot
from .telemetry import compute

READ_CHUNK = 4096
LOOP_CALL_TIMEOUT_S = 10.0


@dataclass
class LogEntry:
    """One request as the miner saw it. Never holds parameters or secrets."""

    monotonic: float
    wall: float
    peer: str
    command: str
    code: int | None
    encrypted: bool
    replied: bool
    #: Which listener got it: 2 = the port-4028 API, 3 = the API 3 listener.
    api: int = 2

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dataclasses.asdict(self)


@dataclass
class Counters:
    """Traffic counters of one miner."""

    connections: int = 0
    requests: int = 0
    privileged_requests: int = 0
    tokens_issued: int = 0
    v3_connections: int = 0
    v3_requests: int = 0
    v3_privileged_requests: int = 0
    #: ``get.device.info`` ``salt`` requests: what an API 3 client reads before it signs writes.
    v3_salt_reads: int = 0


class SimMiner:
    """A simulated Whatsminer listening on ``host:port`` (and ``host:v3_port`` with API 3).

    ``v3_port`` is where the API 3 listener opens while the profile has API 3 (0 = a free port,
    fixed on first bind); it stays closed for API 2 profiles.
    """

    def __init__(
        self, index: int, name: str, host: str, port: int, state: MinerState, config: MinerConfig,
        seed: int, loop: asyncio.AbstractEventLoop, v3_port: int = 0,
    ) -> None:
        self.index = index
        self.name = name
        self.host = host
        self.port = port
        self.v3_port = v3_port
        self._loop = loop
        self._lock = threading.RLock()
        self._state = state
        self._config = config
        self._initial_state = state.copy()
        self._initial_config = config.copy()
        self.rng = random.Random(f"whatsminer-sim-runtime:{seed}:{index}")
        self.tokens = TokenTable(self.rng)
        self.counters = Counters()
        self._log: list[LogEntry] = []
        self._jitter_key = f"{seed}:{index}"
        self._handler = RequestHandler(self)
        self._v3_handler = v3_protocol.RequestHandler(self)
        self._server: asyncio.AbstractServer | None = None
        self._v3_server: asyncio.AbstractServer | None = None
        # While a listener is closed (refusing, rebooting, btminer down), its port stays bound but
        # not listening (``_reserve_port``): clients get "connection refused", as from a real miner,
        # and no other program on the machine (a parallel test's fleet) is given the port meanwhile.
        self._reserved: dict[str, socket.socket] = {}
        self._v3_open_connections = 0
        self._listener_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        self._btminer_restarting = False
        self._rebooting = False
        self._generation = {"btminer": 0, "reboot": 0}
        self._stopped = False

    # --- thread-safe accessors (any thread) -------------------------------------------

    @property
    def state(self) -> MinerState:
        """A snapshot of the true state."""
        with self._lock:
            return self._state.copy()

    @property
    def config(self) -> MinerConfig:
        """A snapshot of the settings (faults included)."""
        with self._lock:
            return self._config.copy()

    @property
    def log(self) -> list[LogEntry]:
        """A copy of the command log, oldest first."""
        with self._lock:
            return list(self._log)

    @property
    def profile(self) -> str:
        """The firmware profile name."""
        with self._lock:
            return self._state.profile

    @property
    def listening(self) -> bool:
        """Whether the TCP listener is open right now."""
        return self._server is not None

    @property
    def api3_port(self) -> int | None:
        """The API 3 port while the profile has API 3, else None."""
        with self._lock:
            return self.v3_port if self.profile_spec.v3_port is not None else None

    @property
    def v3_listening(self) -> bool:
        """Whether the API 3 listener is open right now."""
        return self._v3_server is not None

    def set_state(self, **changes: Any) -> MinerState:
        """Change true-state fields directly (not through the protocol); returns a snapshot.

        A profile change opens or closes the API 3 listener.
        """
        with self._lock:
            profile_before = self._state.profile
            self._state.apply(changes)
            snapshot = self._state.copy()
        if snapshot.profile != profile_before:
            self._resync_listeners()
        return snapshot

    def _resync_listeners(self) -> None:
        """Bring the listeners in line with the state, from the loop thread or any other."""
        try:
            on_loop_thread = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop_thread = False
        if on_loop_thread:
            self._spawn(self._sync_listener())
        elif self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._sync_listener(), self._loop).result(LOOP_CALL_TIMEOUT_S)

    def configure(self, **changes: Any) -> MinerConfig:
        """Change settings (timings, limits, faults, ``refuse_connections``...); returns a snapshot.

        Call from any thread but the loop's (use ``aconfigure`` there).
        """
        return self._call(self.aconfigure(**changes))

    async def aconfigure(self, **changes: Any) -> MinerConfig:
        """``configure`` for code running on the loop (control API)."""
        with self._lock:
            self._config.apply(changes)
            snapshot = self._config.copy()
        await self._sync_listener()
        return snapshot

    def set_faults(self, faults: list[Fault | dict[str, Any]]) -> None:
        """Replace the fault rules."""
        self.configure(faults=faults)

    def add_fault(self, fault: Fault | dict[str, Any] | None = None, **fields: Any) -> Fault:
        """Append one fault rule, given as a Fault, a dict, or keyword fields."""
        rule = fault if isinstance(fault, Fault) else Fault.from_dict(dict(fault or {}, **fields))
        with self._lock:
            self._config.faults.append(rule)
        return rule

    def clear_log(self) -> None:
        """Forget the command log."""
        with self._lock:
            self._log.clear()

    def btminer_running(self) -> bool:
        """False during a btminer restart or a reboot window."""
        return not (self._btminer_restarting or self._rebooting)

    def api_available(self) -> bool:
        """False during a reboot window."""
        return not self._rebooting

    def reset(self, clear_log: bool = False) -> None:
        """Back to the state and settings the miner started with; tokens and windows are cleared.

        Call from any thread but the loop's (use ``areset`` there).
        """
        self._call(self.areset(clear_log))

    async def areset(self, clear_log: bool = False) -> None:
        """``reset`` for code running on the loop (control API)."""
        with self._lock:
            self._state = self._initial_state.copy()
            self._config = self._initial_config.copy()
            self.tokens.clear()
            self._cancel_timers()
            self._btminer_restarting = False
            self._rebooting = False
            for kind in self._generation:
                self._generation[kind] += 1
            if clear_log:
                self._log.clear()
        await self._sync_listener()

    def describe(self) -> dict[str, Any]:
        """Everything about the miner, JSON-serialisable (control API)."""
        with self._lock:
            return {
                "name": self.name, "index": self.index, "host": self.host, "port": self.port,
                "v3_port": self.api3_port,
                "v3_listening": self.v3_listening,
                "profile": self._state.profile, "model": self._state.model, "listening": self.listening,
                "btminer_running": self.btminer_running(), "api_available": self.api_available(),
                "state": self._state.to_dict(), "config": self._config.to_dict(),
                "counters": dataclasses.asdict(self.counters), "tokens": len(self.tokens),
            }

    # --- used by the protocol handler (loop thread, lock held) ------------------------

    @property
    def live_state(self) -> MinerState:
        """The live state object (callers hold the lock)."""
        return self._state

    @property
    def live_config(self) -> MinerConfig:
        """The live settings object (callers hold the lock)."""
        return self._config

    @property
    def profile_spec(self) -> FirmwareProfile:
        """The firmware profile of the current state."""
        return PROFILES[self._state.profile]

    @property
    def model_spec(self) -> ModelSpec:
        """The hardware model of the current state."""
        return MODELS[self._state.model]

    def reply_context(self) -> ReplyContext:
        """Live values for building read replies."""
        state, config, profile = self._state, self._config, self.profile_spec
        if state.fw_version:  # upgraded (firmware.py)
            profile = dataclasses.replace(profile, fw_version=state.fw_version)
        now = time.time()
        hashing = state.mining and self.btminer_running()
        return ReplyContext(
            state=state, profile=profile, model=self.model_spec,
            telemetry=compute(state, self.model_spec, self._jitter_key, now, hashing),
            when=int(now),
            btmineroff_report=config.btmineroff_report if config.btmineroff_report is not None else profile.btmineroff_report,
            no_power_limit_report=config.no_power_limit_report if config.no_power_limit_report is not None else profile.no_power_limit_report,
            power_limit_set_report=config.power_limit_set_report,
        )

    def record(self, peer: str, command: str, code: int | None, *, encrypted: bool, replied: bool, api: int = 2) -> None:
        """Append to the command log."""
        self._log.append(LogEntry(time.monotonic(), time.time(), peer, command, code, encrypted, replied, api))

    def process_v3(self, request: dict[str, Any] | None, peer_ip: str) -> v3_protocol.Outcome:
        """Answer one API 3 frame with the lock held (loop thread)."""
        with self._lock:
            return self._v3_handler.process(request, peer_ip)

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` with the lock held after ``delay`` seconds (loop thread)."""
        def fire() -> None:
            self._timers.discard(handle)
            with self._lock:
                callback()
        handle = self._loop.call_later(delay, fire)
        self._timers.add(handle)

    def apply_pools(self, slots: list[PoolSlot]) -> None:
        """Take written pool slots as firmware does: after ``pools_apply_delay_s``, restarting btminer when configured."""
        delay = self._config.pools_apply_delay_s
        if delay > 0:
            self.call_later(delay, lambda: self._state.apply({"pools": slots}))
        else:
            self._state.apply({"pools": slots})
        if self._config.pools_apply_restart:
            self.begin_btminer_restart()

    def apply_power_mode(self, mode: str) -> None:
        """Take a new power mode, after ``power_apply_delay_s``: restarting btminer, or without a restart (``power_mode_restart`` off)."""
        self._apply_power_setting({"power_mode": mode}, restart=self._config.power_mode_restart)

    def apply_power_limit(self, watts: int | None) -> None:
        """Take a new power limit (``None``: none), after ``power_apply_delay_s``, restarting btminer."""
        self._apply_power_setting({"power_limit_w": watts}, restart=True)

    def _apply_power_setting(self, changes: dict[str, Any], *, restart: bool) -> None:
        def apply() -> None:
            self._state.apply(changes)
            if restart:
                self.begin_btminer_restart()
        delay = self._config.power_apply_delay_s
        if delay > 0:
            self.call_later(delay, apply)
        else:
            apply()

    def begin_btminer_restart(self) -> None:
        """btminer restarts: cgminer-backed reads are unavailable for ``restart_seconds``."""
        seconds = self._config.restart_seconds
        self._btminer_restarting = True
        self._state.btminer_start_time = time.time() + seconds
        self._generation["btminer"] += 1
        generation = self._generation["btminer"]

        def finish() -> None:
            if self._generation["btminer"] == generation:
                self._btminer_restarting = False
                self._spawn(self._sync_listener())
        self.call_later(seconds, finish)
        self._spawn(self._sync_listener())

    def begin_reboot(self) -> None:
        """The control board reboots: the whole API is down for ``reboot_seconds``."""
        seconds = self._config.reboot_seconds
        state = self._state
        self._rebooting = True
        state.boot_time = state.btminer_start_time = time.time() + seconds
        if state.pending_hostname:
            state.hostname, state.pending_hostname = state.pending_hostname, None
        if not state.service_enabled:  # set.miner.service disable: btminer does not start at boot
            state.mining, state.mineroff_reason = False, "service disabled"
        self.tokens.clear()
        self._generation["reboot"] += 1
        generation = self._generation["reboot"]

        def finish() -> None:
            if self._generation["reboot"] == generation:
                self._rebooting = False
                self._spawn(self._sync_listener())
        self.call_later(seconds, finish)
        self._spawn(self._sync_listener())

    # --- loop side ----------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Start a tracked task on the loop (loop thread only)."""
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run a coroutine on the loop from another thread and return its result."""
        try:
            on_loop_thread = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop_thread = False
        if on_loop_thread or self._loop.is_closed() or not self._loop.is_running():
            coroutine.close()
            raise RuntimeError("the fleet's loop is not reachable from here (stopped, or use the async variant on the loop)")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(LOOP_CALL_TIMEOUT_S)

    def _cancel_timers(self) -> None:
        for handle in list(self._timers):
            handle.cancel()
        self._timers.clear()

    def _should_listen(self) -> bool:
        with self._lock:
            refuse_restart = self._btminer_restarting and self._config.btminer_down_reply == "refuse"
            return not (self._stopped or self._rebooting or self._config.refuse_connections or refuse_restart)

    async def start(self) -> None:
        """Open the listener (the port is fixed on first bind when 0 was asked)."""
        await self._sync_listener()

    async def stop(self) -> None:
        """Close the listener, cancel timers and every connection."""
        self._stopped = True
        self._cancel_timers()
        await self._sync_listener()
        await cancel_all(self._tasks)

    def move(self, host: str) -> None:
        """Listen at ``host`` from now on, as when DHCP gives the miner another address; the reported IP follows.

        Call from any thread but the loop's (use ``amove`` there).
        """
        self._call(self.amove(host))

    async def amove(self, host: str) -> None:
        """``move`` for code running on the loop (control API)."""
        async with self._listener_lock:
            for server in (self._server, self._v3_server):
                if server is not None:
                    server.close()
            self._server = self._v3_server = None
            self._release_ports()
            with self._lock:
                self._state.apply({"ip": host})
                self.host = host
        await self._sync_listener()

    async def _sync_listener(self) -> None:
        """Open or close the listeners to match the current windows, switches and profile."""
        async with self._listener_lock:
            wanted = self._should_listen()
            if wanted and self._server is None:
                self._release_ports("v2")
                # The port first, then the server: whoever sees the miner listening also sees its port.
                server = await asyncio.start_server(self._serve_connection, self.host, self.port, reuse_address=True, backlog=256)
                self.port = server.sockets[0].getsockname()[1]
                self._server = server
            elif not wanted and self._server is not None:
                server, self._server = self._server, None
                server.close()
                self._reserve_port("v2", self.port)
            with self._lock:
                wanted_v3 = wanted and self.profile_spec.v3_port is not None
            if wanted_v3 and self._v3_server is None:
                self._release_ports("v3")
                server = await asyncio.start_server(self._serve_v3_connection, self.host, self.v3_port, reuse_address=True, backlog=64)
                self.v3_port = server.sockets[0].getsockname()[1]
                self._v3_server = server
            elif not wanted_v3 and self._v3_server is not None:
                server, self._v3_server = self._v3_server, None
                server.close()
                self._reserve_port("v3", self.v3_port)
            if self._stopped:
                self._release_ports()

    def _reserve_port(self, api: str, port: int) -> None:
        """Keep ``port`` bound but not listening while the miner refuses connections (see ``_reserved``)."""
        if self._stopped or not port:
            return
        placeholder = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            placeholder.bind((self.host, port))
        except OSError:
            placeholder.close()  # best effort: the port is simply free, as before
            return
        self._reserved[api] = placeholder

    def _release_ports(self, *apis: str) -> None:
        """Unbind the reserved ports of ``apis`` (all when none given) before listening on them again."""
        for api in apis or tuple(self._reserved):
            placeholder = self._reserved.pop(api, None)
            if placeholder is not None:
                placeholder.close()

    async def _serve_tracked(self, writer: asyncio.StreamWriter, serve: Callable[[], Coroutine[Any, Any, str]]) -> None:
        """Run one connection's ``serve`` (it returns how to close), tracked for shutdown; then close as it said."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        close_mode = "close"
        try:
            close_mode = await serve()
        except OSError:
            close_mode = "close"
        except asyncio.CancelledError:
            # Fleet shutdown. End normally: Python 3.11's streams log a cancelled handler task as an error.
            close_mode = "close"
        finally:
            _close(writer, close_mode)
            if task is not None:
                self._tasks.discard(task)

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection: read one request, answer it (or not), close."""

        async def answer_one_request() -> str:
            peer = writer.get_extra_info("peername")
            peer_ip = peer[0] if peer else "unknown"
            with self._lock:
                self.counters.connections += 1
                idle_timeout = self._config.idle_timeout_s
            request = await self._read_request(reader, idle_timeout)
            if request is None:
                return "close"
            with self._lock:
                outcome = self._handler.process(request, peer_ip)
            close_mode = await self._deliver(writer, outcome)
            if outcome.upload and close_mode == "close":
                return await firmware.serve_upload_v2(self, reader, writer, outcome)
            return close_mode

        await self._serve_tracked(writer, answer_one_request)

    async def _serve_v3_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One API 3 connection: frames until the client leaves, the idle timeout or a closing reply."""

        async def answer_frames() -> str:
            self._v3_open_connections += 1
            try:
                with self._lock:
                    self.counters.v3_connections += 1
                if self._v3_open_connections > v3_protocol.MAX_CLIENTS:
                    return "close"
                peer = writer.get_extra_info("peername")
                return await v3_protocol.serve_connection(self, reader, writer, peer[0] if peer else "unknown")
            finally:
                self._v3_open_connections -= 1

        await self._serve_tracked(writer, answer_frames)

    async def _read_request(self, reader: asyncio.StreamReader, idle_timeout: float) -> Any:
        """Accumulate bytes until one JSON object parses; None on idle timeout or silent EOF."""
        deadline = self._loop.time() + idle_timeout
        buffer = b""
        while True:
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                return None
            try:
                async with asyncio.timeout(remaining):
                    chunk = await reader.read(READ_CHUNK)
            except TimeoutError:
                return None
            if not chunk:
                return INVALID_REQUEST if buffer.strip() else None
            buffer += chunk
            parsed = parse_request(buffer)
            if parsed is not None:
                return parsed

    async def _deliver(self, writer: asyncio.StreamWriter, outcome: Outcome) -> str:
        """Send the reply with the planned faults; return how to close (``close``/``reset``)."""
        plan = outcome.plan
        payload = outcome.wire_payload()
        if plan.garbage:
            with self._lock:
                data = garbage_bytes(self.rng)
        elif payload is None:
            data = b""
        else:
            quirk_fields = outcome.reply.quirk_fields if outcome.reply is not None else {}
            data = render(payload, plan.quirks, quirk_fields)
        dropped = await send_with_faults(writer, data, plan)
        return dropped or outcome.close_mode


async def cancel_all(tasks: Iterable[asyncio.Task[Any]], timeout: float = 5.0) -> None:
    """Cancel tasks until they are all done (a cancellation can be lost in a race, so repeat)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    current = asyncio.current_task()
    pending = {task for task in list(tasks) if task is not current and not task.done()}
    while pending and loop.time() < deadline:
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=0.1)


def _close(writer: asyncio.StreamWriter, mode: str) -> None:
    """Close a connection with FIN (``close``) or RST (``reset``)."""
    if mode == "reset":
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        writer.transport.abort()
    else:
        writer.close()
