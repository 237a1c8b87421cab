"""Fleet lifecycle: 1000 miners in one process, quick stop with no threads or sockets left."""

from __future__ import annotations

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sim_client import exchange

from whatsminer_sim import Fleet


def test_thousand_miners_in_one_process() -> None:
    """1000 miners on their own loopback addresses, all answering a joined read; stop is clean."""
    threads_before = threading.active_count()
    fleet = Fleet.start(count=1000, profiles="mixed", address_mode="ips", port=0, seed=2)
    try:
        assert fleet.miners[-1].host == "127.0.4.238" and fleet.miners[-1].name == "miner-1000"
        with ThreadPoolExecutor(max_workers=16) as pool:
            replies = list(pool.map(lambda miner: json.loads(exchange(miner.host, miner.port, b'{"command":"summary+pools"}'))["id"], fleet.miners))
        assert replies == [1] * 1000
        inventory = fleet.inventory_yaml()
        assert inventory.count("ansible_host:") == 1000 and "\n    miner-0001:\n" in inventory
    finally:
        fleet.stop()
    assert threading.active_count() == threads_before
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((fleet.miners[0].host, fleet.miners[0].port), timeout=2).close()


def test_stop_is_idempotent_and_interrupts_slow_replies() -> None:
    """stop() returns quickly even while a reply is being delayed."""
    fleet = Fleet.start(count=1)
    miner = fleet.miners[0]
    miner.add_fault(kind="delay", seconds=30)
    with socket.create_connection((miner.host, miner.port), timeout=5) as sock:
        sock.sendall(b'{"command":"summary"}')
        fleet.stop()
        fleet.stop()
        assert sock.recv(100) == b""
    assert not fleet.loop.is_running()
