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
from .odd_devices import OddDevice, OddDeviceSpec, parse_specs, start_devices
from .profiles import resolve_profiles
from .state import initial_state

ADDRESS_MODES = ("ports", "ips")
DEFAULT_BASE_PORT = 40280
RPC_PORT = 4028
V3_PORT = 4433
#: First address of ips mode (miner 0); later miners follow, skipping .0 and .255.
DEFAULT_IPS_BASE = "127.0.1.1"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0


def miner_address(index: int, address_mode: str, host: str = "127.0.0.1", base_port: int = DEFAULT_BASE_PORT, port: int = RPC_PORT,
                  ips_base: str = DEFAULT_IPS_BASE) -> tuple[str, int]:
    """Where miner ``index`` listens.

    ``ips``: from ``ips_base`` on (default 127.0.1.1: 127.0.(1 + i // 254).(1 + i % 254)), skipping
    the .0 and .255 of every /24, on ``port``; ``ports``: ``host`` on ``base_port + i``
    (``base_port`` 0 = a free port picked by the kernel for each miner).
    """
    if address_mode == "ips":
        first = ipaddress.IPv4Address(ips_base)
        require_loopback(str(first))
        octets = str(first).split(".")
        if octets[3] in ("0", "255"):
            raise ValueError(f"ips_base {ips_base} must not end in .0 or .255")
        slot = int(octets[2]) * 254 + int(octets[3]) - 1 + index
        if slot >= 256 * 254:
            raise ValueError(f"ips mode from {ips_base} holds at most {256 * 254 - int(octets[2]) * 254 - int(octets[3]) + 1} miners")
        return f"{octets[0]}.{octets[1]}.{slot // 254}.{1 + slot % 254}", port
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
        self.odd_devices: list[OddDevice] = []
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
        ips_base: str = DEFAULT_IPS_BASE,
        odd_devices: str | Sequence[str | dict[str, Any]] = (),
    ) -> Fleet:
        """Start ``count`` miners and return once all listen.

        ``profiles``: ``"mixed"``, a name, ``"1.4.x,2.0.x"`` or a list (cycled). ``models``: model
        names cycled over the miners (default: the profile's model). ``config``: MinerConfig
        fields applied to every miner (e.g. ``{"restart_seconds": 0.3}``). ``control_port``:
        also serve the HTTP control API on 127.0.0.1 (0 = a free port). ``password`` is the API 2
        admin password, ``v3_password`` the API 3 ``super`` password. Miners with API 3 (profile
        ``3.x``) also listen on ``v3_port`` in ips mode (0 = a free port) and on a free port in
        ports mode (``miner.v3_port``). ``ips_base``: the address of the first miner in ips
        mode. ``odd_devices``: other devices to start on loopback (``odd_devices.py``: another
        vendor's cgminer miner, an HTTP-only device, silent and resetting addresses, a miner's second
        address), e.g. ``"cgminer@127.0.9.1,alias:miner-002@127.0.9.5"``.
        """
        if count < 1:
            raise ValueError("count must be >= 1")
        if address_mode not in ADDRESS_MODES:
            raise ValueError(f"address_mode must be one of {ADDRESS_MODES}")
        require_loopback(host)
        raise_fd_limit()
        profile_names = resolve_profiles(profiles, count)
        odd_specs = parse_specs(odd_devices)
        for spec in odd_specs:
            require_loopback(spec.host)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="whatsminer-sim-loop", daemon=True)
        fleet = cls(loop, thread, address_mode)
        wall = time.time()
        for index in range(count):
            miner_host, miner_port = miner_address(index, address_mode, host, base_port, port, ips_base)
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
            asyncio.run_coroutine_threadsafe(fleet._start_all(control_port, odd_specs), loop).result(START_TIMEOUT_S)
        except BaseException:
            fleet.stop()
            raise
        return fleet

    async def _start_all(self, control_port: int | None, odd_specs: Sequence[OddDeviceSpec] = ()) -> None:
        for miner in self.miners:
            await miner.start()
        self.odd_devices = await start_devices(self, odd_specs)
        if control_port is not None:
            self._control = ControlServer(self)
            self.control_port = await self._control.start(control_port)

    async def _stop_all(self) -> None:
        if self._control is not None:
            await self._control.stop()
        for device in self.odd_devices:
            await device.stop()
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
        description = {"count": len(self.miners), "address_mode": self.address_mode, "control_port": self.control_port, "miners": miners}
        if self.odd_devices:
            description["odd_devices"] = [device.describe() for device in self.odd_devices]
        return description

    def connections_accepted(self) -> int:
        """TCP connections every miner (both APIs) and odd device accepted so far (discovery's cache test)."""
        total = sum(miner.counters.connections + miner.counters.v3_connections for miner in self.miners)
        return total + sum(device.connections for device in self.odd_devices)

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
