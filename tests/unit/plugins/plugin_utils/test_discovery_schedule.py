# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery's schedule (plugin_utils._discovery): second requests, the quiet scan and the last pass, on a virtual clock.

The scanner's three I/O methods (``_connect_both``, ``_connect``, ``_exchange``) are replaced by a
fake network of scripted devices, and the scan runs on an event loop whose clock moves only when
every task waits (``helpers.virtual_clock``): each time below is exact, and no test sleeps. The
scan of real sockets against the simulator is tested in test_discovery.py.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils import _discovery as discovery
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._addresses import parse_addresses
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.virtual_clock import VirtualClockLoop

TIMEOUT = 2.0
API2_PORT, API3_PORT = 4028, 4433
NEVER = None  # a request that gets no reply

#: ``(request number at this device and command, counted from 0) -> seconds until the reply, or NEVER``
Schedule = Callable[[int], "float | None"]


def always(seconds: float | None) -> Schedule:
    return lambda _number: seconds


def first_never_then(seconds: float) -> Schedule:
    """A miner that leaves its first request unanswered (too busy, or the reply lost) and answers the next ones."""
    return lambda number: NEVER if number == 0 else seconds


@dataclass
class Device:
    """A scripted device: the ports it accepts on and when it answers ``get.device.info`` (an API 3 Whatsminer) or nothing."""

    address: str
    ports: tuple[int, ...]
    schedule: Schedule
    whatsminer: bool = True
    requests: list[tuple[float, int, str]] = field(default_factory=list)

    def reply(self, index: int) -> dict[str, Any]:
        return {"code": 0, "when": 0, "msg": {
            "miner": {"type": "M60S_V10", "miner-sn": f"SN{index:04d}"},
            "network": {"mac": f"C4:08:28:00:00:{index:02X}", "ip": self.address, "hostname": "WhatsMiner"},
            "system": {"fwversion": "20250214.22.REL", "api": "3.0.1"},
        }}


class Network:
    """The fake network: devices by address, and the sockets open at any time."""

    def __init__(self) -> None:
        self.devices: dict[str, Device] = {}
        self.open = 0
        self.peak_open = 0
        self.accepted: Counter[str] = Counter()

    def add(self, device: Device) -> Device:
        self.devices[device.address] = device
        return device

    def miner(self, address: str, schedule: Schedule) -> Device:
        """An API 3 Whatsminer (its port 4028 closed here: get.device.info alone identifies it)."""
        return self.add(Device(address, (API3_PORT,), schedule))

    def silent(self, address: str) -> Device:
        """Accepts on both ports and never replies."""
        return self.add(Device(address, (API2_PORT, API3_PORT), always(NEVER), whatsminer=False))


class Connection:
    """A fake connected socket (a context manager that closes it, as a socket is)."""

    def __init__(self, network: Network, address: str, port: int) -> None:
        self.network, self.address, self.port, self.closed = network, address, port, False
        network.open += 1
        network.peak_open = max(network.peak_open, network.open)
        network.accepted[address] += 1

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_exc: object) -> None:
        if not self.closed:
            self.closed = True
            self.network.open -= 1


class FakeScanner(discovery.Scanner):
    """The scanner with the fake network in place of sockets."""

    def __init__(self, network: Network, addresses: str, **options: Any) -> None:
        super().__init__(parse_addresses([addresses]), timeout=TIMEOUT, **options)
        self.network = network

    async def _connect(self, address: str, port: int) -> Any:
        device = self.network.devices.get(address)
        return Connection(self.network, address, port) if device is not None and port in device.ports else None

    async def _connect_both(self, address: str) -> tuple[Any, Any]:
        return await self._connect(address, self.port), await self._connect(address, self.api3_port)  # type: ignore[arg-type]

    async def _exchange(self, sock: Any, api: int, command: str) -> dict[str, Any]:
        with sock:
            device = self.network.devices[sock.address]
            number = sum(1 for _at, port, sent in device.requests if (port, sent) == (sock.port, command))
            device.requests.append((self.loop.time(), sock.port, command))
            seconds = device.schedule(number) if device.whatsminer and (api, command) == (3, "get.device.info") else NEVER
            try:
                async with asyncio.timeout(self.timeout):
                    if seconds is NEVER:
                        await self.loop.create_future()
                    await asyncio.sleep(seconds)
            except TimeoutError:
                raise discovery._NoAnswer("no reply (timed out)", timed_out=True) from None  # pylint: disable=protected-access
            return device.reply(int(sock.address.rsplit(".", 1)[1]))


def run(scanner: FakeScanner) -> tuple[discovery.ScanResult, float]:
    """The scan on the virtual clock: its result and the time it ended."""
    with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
        runner.run(scanner._run())  # pylint: disable=protected-access
        ended = runner.get_loop().time()
    return scanner.result(ended), ended


def request_times(device: Device, port: int = API3_PORT) -> list[float]:
    return [round(at, 3) for at, sent_port, _command in device.requests if sent_port == port]


# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sent_at", "quiet_since", "due"), [
    (10.0, None, None),    # the scan is busy: not yet
    (10.0, 3.0, 10.5),     # quiet already: a quarter of the timeout after the request
    (10.0, 10.2, 10.5),
    (10.0, 11.5, 11.5),    # sent while the scan was busy: as soon as it is quiet
])
def test_a_second_request_is_due_a_quarter_timeout_after_the_first_and_not_before_the_scan_is_quiet(
        sent_at: float, quiet_since: float | None, due: float | None) -> None:
    assert discovery.second_request_due(sent_at, quiet_since, TIMEOUT) == due


def test_a_silent_address_costs_a_timeout_and_a_quarter() -> None:
    network = Network()
    silent = network.silent("10.0.0.1")
    result, ended = run(FakeScanner(network, "10.0.0.1"))
    assert ended == pytest.approx(TIMEOUT * 1.25)
    assert request_times(silent, API3_PORT) == request_times(silent, API2_PORT) == [0.0, 0.5]
    assert result.unidentified == {"10.0.0.1": "port 4433: no reply to two requests (timed out); port 4028: no reply to two requests (timed out)"}
    assert (result.miners, network.accepted["10.0.0.1"], network.open, result.last_miner_seconds, result.congested) == ([], 4, 0, None, False)


def test_a_miner_that_leaves_its_first_request_unanswered_is_found_by_the_second() -> None:
    network = Network()
    busy = network.miner("10.0.0.1", first_never_then(0.01))
    result, ended = run(FakeScanner(network, "10.0.0.1"))
    assert [(miner.address, miner.api_version, miner.identity["serial"]) for miner in result.miners] == [("10.0.0.1", 3, "SN0001")]
    assert request_times(busy) == [0.0, 0.5]
    # Found a quarter of the timeout after the first request, not after a whole timeout; the first request is given up.
    assert ended == result.last_miner_seconds == pytest.approx(0.51)
    assert network.open == 0


def test_a_reply_within_the_timeout_counts_even_after_the_second_request() -> None:
    network = Network()
    slow = network.miner("10.0.0.1", always(1.5))
    result, ended = run(FakeScanner(network, "10.0.0.1"))
    assert [miner.address for miner in result.miners] == ["10.0.0.1"]
    assert request_times(slow) == [0.0, 0.5]
    assert ended == pytest.approx(1.5)  # the first request's reply; the second request is given up
    assert network.open == 0
    assert result.congested  # a reply later than half the timeout


def test_a_congested_scan_probes_the_addresses_without_reply_once_more_at_the_end() -> None:
    # A reply later than half the timeout (1.2 s of 2): replies are held up, so "no reply to two requests" may be the
    # load too. The silent address gets its second requests at 0.5 s, then one more request per port when the other
    # addresses are done (2.5 s), and the scan ends a timeout later.
    network = Network()
    silent = network.silent("10.0.0.1")
    network.miner("10.0.0.2", always(1.2))
    result, ended = run(FakeScanner(network, "10.0.0.1-2"))
    assert [miner.address for miner in result.miners] == ["10.0.0.2"]
    assert result.congested
    assert request_times(silent, API3_PORT) == request_times(silent, API2_PORT) == [0.0, 0.5, 2.5]
    assert result.unidentified == {"10.0.0.1": "port 4433: no reply (timed out); port 4028: no reply (timed out)"}
    assert ended == pytest.approx(4.5)


def test_once_the_scan_is_congested_no_second_request_is_sent() -> None:
    # One address at a time: .1 answers in 1.1 s (more than half the timeout: congested); then the silent .2 gets no
    # second request at 1.6 s, its first requests time out at 3.1 s, and the last pass asks once more.
    network = Network()
    network.miner("10.0.0.1", always(1.1))
    silent = network.silent("10.0.0.2")
    result, ended = run(FakeScanner(network, "10.0.0.1-2", concurrency=1))
    assert [miner.address for miner in result.miners] == ["10.0.0.1"]
    assert result.congested
    assert request_times(silent, API3_PORT) == request_times(silent, API2_PORT) == [1.1, 3.1]
    assert result.unidentified == {"10.0.0.2": "port 4433: no reply (timed out); port 4028: no reply (timed out)"}
    assert ended == pytest.approx(5.1)


def test_a_quick_reply_sends_no_second_request() -> None:
    network = Network()
    quick = network.miner("10.0.0.1", always(0.4))
    result, ended = run(FakeScanner(network, "10.0.0.1"))
    assert ([miner.address for miner in result.miners], request_times(quick), ended) == (["10.0.0.1"], [0.0], pytest.approx(0.4))


def test_while_the_scan_is_busy_no_second_request_is_sent_and_a_timed_out_address_goes_to_the_last_pass() -> None:
    # 4 in flight, quiet at 1 in flight. .1 leaves its first request unanswered; the others answer in 0.9 s.
    # 0.0: .1-.4 start. 0.9: .2-.4 found, .5-.7 start. 1.8: .5-.7 found, .8 starts. 2.0: .1 times out, never
    # asked twice while the scan was busy: to the last pass; 1 in flight: quiet. 2.3: .8's second request (a
    # quarter of the timeout after its first). 2.7: .8 found (its first reply); the last pass finds .1 at 2.71.
    network = Network()
    first = network.miner("10.0.0.1", first_never_then(0.01))
    others = [network.miner(f"10.0.0.{last}", always(0.9)) for last in range(2, 9)]
    result, ended = run(FakeScanner(network, "10.0.0.1-8", concurrency=4))
    assert [miner.address for miner in result.miners] == [f"10.0.0.{last}" for last in range(1, 9)]
    assert request_times(first) == [0.0, 2.7]
    assert [request_times(device) for device in others] == [[0.0]] * 3 + [[0.9]] * 3 + [[1.8, 2.3]]
    assert ended == result.last_miner_seconds == pytest.approx(2.71)
    assert not result.congested
    assert network.peak_open <= 4 * discovery.SOCKETS_PER_ADDRESS


def test_a_farm_of_silent_addresses_stays_within_the_file_handle_budget() -> None:
    network = Network()
    for last in range(1, 65):
        network.silent(f"10.0.0.{last}")
    result, _ended = run(FakeScanner(network, "10.0.0.1-64", concurrency=16))
    assert sorted(result.unidentified, key=lambda address: int(address.rsplit(".", 1)[1])) == [f"10.0.0.{last}" for last in range(1, 65)]
    # Every read timed out while the scan was busy (the last 16 all at 4.0 s, before any of them ended): each
    # address got one request per port, then one more in the last pass. No reply was late: not congested.
    assert not result.congested
    assert set(result.unidentified.values()) == {"port 4433: no reply (timed out); port 4028: no reply (timed out)"}
    assert Counter(network.accepted.values()) == {4: 64}
    assert network.peak_open <= 16 * discovery.SOCKETS_PER_ADDRESS
    assert network.open == 0
