"""A fleet of simulated miners served by one asyncio loop in a background thread.

>>> with Fleet.start(count=3, profiles=["1.4.x", "2.0.x", "2024"], seed=1) as fleet:
...     miner = fleet.miners[0]
...     miner.host, miner.port, miner.state.power_mode
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from typing import Any, Callable, Mapping, Sequence

from .config import MinerConfig
from .control import ControlServer
from .miner import SimMiner, cancel_all
from .profiles import resolve_profiles
from .state import initial_state

ADDRESS_MODES = ("ports", "ips")
DEFAULT_BASE_PORT = 40280
RPC_PORT = 4028
V3_PORT = 4433
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0


def miner_address(index: int, address_mode: str, host: str = "127.0.0.1", base_port: int = DEFAULT_BASE_PORT, port: int = RPC_PORT) -> tuple[str, int]:
    """Where miner ``index`` listens.

    ``ips``: 127.0.(1 + i // 254).(1 + i % 254) on ``port``; ``ports``: ``host`` on
    ``base_port + i`` (``base_port`` 0 = a free port picked by the kernel for each miner).
    """
    if address_mode == "ips":
        if index >= 254 * 254:
            raise ValueError("ips mode supports at most 64516 miners")
        return f"127.0.{1 + index // 254}.{1 + index % 254}", port
    if address_mode == "ports":
        return host, (base_port + index if base_port else 0)
    raise ValueError(f"address_mode must be one of {ADDRESS_MODES}")


def require_loopback(host: str) -> None:
    """Refuse any address outside 127.0.0.0/8: the simulator never listens on a network."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"{host} is not a loopback address; the simulator listens on 127.0.0.0/8 only")


def miner_name(index: int, count: int) -> str:
    """``miner-001`` style names, zero-padded to at least 3 digits."""
    width = max(3, len(str(count)))
    return f"miner-{index + 1:0{width}d}"


def raise_fd_limit() -> None:
    """Raise the soft RLIMIT_NOFILE to the hard limit (1000 miners need many sockets)."""
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Poll ``predicate`` until it returns a true value; return it, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)


class Fleet:
    """Running miners plus the loop thread that serves them. Use ``Fleet.start``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread, address_mode: str) -> None:
        self.miners: list[SimMiner] = []
        self.address_mode = address_mode
        self.control_port: int | None = None
        self.shutdown_requested = threading.Event()
        self._loop = loop
        self._thread = thread
        self._control: ControlServer | None = None
        self._stopped = False

    @classmethod
    def start(
        cls,
        count: int = 1,
        profiles: str | Sequence[str] = "2.0.x",
        *,
        seed: int = 0,
        address_mode: str = "ports",
        host: str = "127.0.0.1",
        base_port: int = 0,
        port: int = RPC_PORT,
        password: str = "admin",
        write_api_enabled: bool = True,
        models: Sequence[str] | None = None,
        config: Mapping[str, Any] | None = None,
        control_port: int | None = None,
        v3_port: int = V3_PORT,
        v3_password: str = "super",
    ) -> Fleet:
        """Start ``count`` miners and return once all listen.

        ``profiles``: ``"mixed"``, a name, ``"1.4.x,2.0.x"`` or a list (cycled). ``models``: model
        names cycled over the miners (default: the profile's model). ``config``: MinerConfig
        fields applied to every miner (e.g. ``{"restart_seconds": 0.3}``). ``control_port``:
        also serve the HTTP control API on 127.0.0.1 (0 = a free port). ``password`` is the API 2
        admin password, ``v3_password`` the API 3 ``super`` password. Miners with API 3 (profile
        ``3.x``) also listen on ``v3_port`` in ips mode (0 = a free port) and on a free port in
        ports mode (``miner.v3_port``).
        """
        if count < 1:
            raise ValueError("count must be >= 1")
        if address_mode not in ADDRESS_MODES:
            raise ValueError(f"address_mode must be one of {ADDRESS_MODES}")
        require_loopback(host)
        raise_fd_limit()
        profile_names = resolve_profiles(profiles, count)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="whatsminer-sim-loop", daemon=True)
        fleet = cls(loop, thread, address_mode)
        wall = time.time()
        for index in range(count):
            miner_host, miner_port = miner_address(index, address_mode, host, base_port, port)
            miner_config = MinerConfig()
            miner_config.apply(dict(config or {}))
            state = initial_state(
                index, seed, profile_names[index], model=models[index % len(models)] if models else None,
                reported_ip=miner_host, password=password, write_api_enabled=write_api_enabled, now=wall,
                v3_password=v3_password,
            )
            miner_v3_port = v3_port if address_mode == "ips" else 0
            fleet.miners.append(SimMiner(index, miner_name(index, count), miner_host, miner_port, state, miner_config, seed, loop, v3_port=miner_v3_port))
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(fleet._start_all(control_port), loop).result(START_TIMEOUT_S)
        except BaseException:
            fleet.stop()
            raise
        return fleet

    async def _start_all(self, control_port: int | None) -> None:
        for miner in self.miners:
            await miner.start()
        if control_port is not None:
            self._control = ControlServer(self)
            self.control_port = await self._control.start(control_port)

    async def _stop_all(self) -> None:
        if self._control is not None:
            await self._control.stop()
        await asyncio.gather(*(miner.stop() for miner in self.miners), return_exceptions=True)
        await cancel_all(asyncio.all_tasks())

    def stop(self) -> None:
        """Close every listener and connection and end the loop thread. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self._stop_all(), self._loop).result(STOP_TIMEOUT_S)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(STOP_TIMEOUT_S)
        if not self._loop.is_running():
            self._loop.close()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop serving the fleet (runs in a background thread)."""
        return self._loop

    def miner(self, name: str) -> SimMiner:
        """The miner called ``name`` (KeyError if none)."""
        for miner in self.miners:
            if miner.name == name:
                return miner
        raise KeyError(name)

    def describe(self, full: bool = False) -> dict[str, Any]:
        """The fleet as JSON: addresses and profiles (``full``: every miner's state too)."""
        miners = [
            miner.describe() if full else {
                "name": miner.name, "host": miner.host, "port": miner.port, "v3_port": miner.api3_port,
                "profile": miner.profile, "model": miner.state.model,
            }
            for miner in self.miners
        ]
        return {"count": len(self.miners), "address_mode": self.address_mode, "control_port": self.control_port, "miners": miners}

    def inventory_yaml(self) -> str:
        """An Ansible inventory (YAML) with group ``miners``: one host per miner.

        Miners with API 3 also get ``whatsminer_api3_port`` (the API 3 listener's port; the role's
        variable for the modules' ``api3_port``).
        """
        lines = [
            "# Ansible inventory written by whatsminer_sim: simulated miners on loopback.",
            "miners:",
            "  vars:",
            "    ansible_connection: local",
            '    ansible_python_interpreter: "{{ ansible_playbook_python }}"',
            "  hosts:",
        ]
        for miner in self.miners:
            lines += [
                f"    {miner.name}:",
                f'      ansible_host: "{miner.host}"',
                f"      whatsminer_port: {miner.port}",
                f'      whatsminer_profile: "{miner.profile}"',
            ]
            v3_port = miner.api3_port
            if v3_port is not None:
                lines.append(f"      whatsminer_api3_port: {v3_port}")
        return "\n".join(lines) + "\n"

    def write_inventory(self, path: str) -> None:
        """Write ``inventory_yaml()`` to ``path``."""
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.inventory_yaml())
