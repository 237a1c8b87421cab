# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery (plugin_utils._discovery): the scan of a simulated mixed network on loopback."""

from __future__ import annotations

import os
from collections import Counter
from typing import Iterator

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils import _discovery as discovery
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._addresses import parse_addresses
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.fresh_interpreter import run_import_report
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import FAST_CONFIG, PROFILES, Fleet, connections

# Addresses of their own (no other test binds 127.19.x), per pytest-xdist worker (each starts its own
# farm): a /24 with miners from .1 and the odd devices from .200, and an empty /24 after it.
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").lstrip("gw") or 0)
PREFIX = f"127.19.{2 * WORKER}"
NETWORK = f"{PREFIX}.0/24"
EMPTY_NETWORK = f"127.19.{2 * WORKER + 1}.0/24"
IPS_BASE = f"{PREFIX}.1"
CGMINER, HTTP, SILENT, RESET, ALIAS = (f"{PREFIX}.{last}" for last in (200, 201, 202, 203, 204))
MINERS = 8  # two of each firmware generation
# Short, so the silent address costs little (1.25 timeouts); the simulator answers a handful of miners within
# a quarter of it (when a reply takes longer, its read is asked once more: see the second requests below).
TIMEOUT = 1.0


@pytest.fixture(name="farm", scope="module")
def fixture_farm() -> Iterator[Fleet]:
    """Miners of every firmware generation and the odd devices of a real farm network (alias: a second address of miner-002)."""
    fleet = Fleet.start(
        count=MINERS, profiles=list(PROFILES), seed=5, address_mode="ips", ips_base=IPS_BASE, config=FAST_CONFIG,
        odd_devices=f"cgminer@{CGMINER},http@{HTTP},silent@{SILENT},reset@{RESET},alias:miner-002@{ALIAS}",
    )
    yield fleet
    fleet.stop()


def _scan(**options: object) -> discovery.ScanResult:
    return discovery.scan(parse_addresses([NETWORK]), timeout=TIMEOUT, **options)


class FirstScan:
    """One scan of the farm with what the farm saw of it: the tests that only look at a scan share it."""

    def __init__(self, farm: Fleet) -> None:
        for miner in farm.miners:
            miner.clear_log()
        before = {device.spec.host: device.connections for device in farm.odd_devices}
        self.result = _scan()
        self.logs = {miner.name: miner.log for miner in farm.miners}
        self.accepted = {device.spec.host: device.connections - before[device.spec.host] for device in farm.odd_devices}


@pytest.fixture(name="first_scan", scope="module")
def fixture_first_scan(farm: Fleet) -> FirstScan:
    """The farm scanned once."""
    return FirstScan(farm)


# ---------------------------------------------------------------------------------------------
# The scan


def test_every_miner_is_found_with_its_true_identity(farm: Fleet, first_scan: FirstScan) -> None:
    result = first_scan.result
    assert [miner.address for miner in result.miners] == [miner.host for miner in farm.miners]
    for found, simulated in zip(result.miners, farm.miners):
        state = simulated.state
        generation = simulated.profile
        assert found.api_version == (3 if generation == "3.x" else 2), generation
        assert found.identity["mac"] == state.mac
        assert found.identity["model"] == state.model
        assert found.identity["firmware_version"] == simulated.profile_spec.fw_version
        # 1.4.x firmware has no get_miner_info: no serial, no host name there.
        assert found.identity["serial"] == (None if generation == "1.4.x" else state.serial)
        assert found.identity["hostname"] == (None if generation == "1.4.x" else state.hostname)
        assert found.api3_port == (4433 if generation == "3.x" else None)


def test_other_devices_are_not_whatsminers_and_do_not_break_the_scan(first_scan: FirstScan) -> None:
    result = first_scan.result
    found = {miner.address for miner in result.miners}
    assert not found & {CGMINER, HTTP, SILENT, RESET, ALIAS}
    assert [(other.address, other.model, other.description) for other in result.others] == [(CGMINER, "Antminer S19", "cgminer 1.0.0")]
    assert result.unidentified[HTTP] == "port 4028: answers HTTP, not the miner API"
    # The silent address: on both ports, twice (the second request of a read with no reply). When the scan was
    # congested (a reply later than half the timeout: a loaded test machine), once more in the last pass instead of
    # the second request, or after it if the congestion came later.
    if result.congested:
        assert result.unidentified[SILENT] == "port 4433: no reply (timed out); port 4028: no reply (timed out)"
    else:
        assert result.unidentified[SILENT] == "port 4433: no reply to two requests (timed out); port 4028: no reply to two requests (timed out)"
    # The HTTP device once (it closes 4433); the cgminer twice (get_version, then version for its model). A reply
    # slower than a quarter of the timeout adds a second request, at most one per read.
    accepted = first_scan.accepted
    assert accepted[SILENT] in ((4, 6) if result.congested else (4,))
    assert 1 <= accepted[HTTP] <= 2
    assert 2 <= accepted[CGMINER] <= 4
    assert accepted[RESET] >= 1


def test_a_miner_at_two_addresses_is_one_miner_at_its_own_address(farm: Fleet, first_scan: FirstScan) -> None:
    result = first_scan.result
    assert result.duplicates == {farm.miners[1].host: [ALIAS]}
    assert len(result.miners) == MINERS


def test_a_moved_miner_is_found_at_its_new_address_with_the_same_identity(farm: Fleet) -> None:
    moved = farm.miners[4]
    old_address, new_address = moved.host, f"{PREFIX}.150"
    addresses = parse_addresses([f"{IPS_BASE}-{MINERS}", new_address])

    def scan() -> dict[str, str]:
        return {miner.key: miner.address for miner in discovery.scan(addresses, timeout=TIMEOUT).miners}

    before = scan()
    moved.move(new_address)
    try:
        after = scan()
    finally:
        moved.move(old_address)
    assert before[moved.state.mac] == old_address
    assert after[moved.state.mac] == new_address
    assert old_address not in after.values()


def test_the_scan_only_reads(farm: Fleet, first_scan: FirstScan) -> None:
    commands = {name: Counter(entry.command for entry in log) for name, log in first_scan.logs.items()}
    expected = {"1.4.x": ["devdetails", "get_version", "summary"], "2.0.x": ["devdetails", "get_miner_info", "get_version"],
                "2024": ["devdetails", "get_miner_info", "get_version"], "3.x": ["get.device.info", "get_version"]}
    # Each read once; twice for miner-002, which also answers at the alias address; and a read whose reply was slower
    # than a quarter of the timeout (a loaded machine) was asked once more.
    for miner in farm.miners:
        reads = 2 if miner.host == first_scan.result.miners[1].address else 1
        assert set(commands[miner.name]) == set(expected[miner.profile]), miner.name
        assert all(reads <= count <= 2 * reads for count in commands[miner.name].values()), (miner.name, commands[miner.name])
    assert not any(entry.encrypted for log in first_scan.logs.values() for entry in log)
    assert sum(miner.counters.tokens_issued + miner.counters.v3_salt_reads for miner in farm.miners) == 0
    assert all(connections(miner) > 0 for miner in farm.miners)


def test_concurrency_is_bounded_by_the_file_handles(monkeypatch: pytest.MonkeyPatch) -> None:
    import resource  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(resource, "getrlimit", lambda _which: (256, 1024))
    scanner = discovery.Scanner(parse_addresses([EMPTY_NETWORK]), concurrency=512)
    assert scanner.concurrency == (256 - discovery.RESERVED_FILE_HANDLES) // discovery.SOCKETS_PER_ADDRESS


def test_an_empty_range_completes_with_nothing_found() -> None:
    result = discovery.scan(parse_addresses([EMPTY_NETWORK]), timeout=TIMEOUT)
    assert (result.miners, result.others, result.unidentified, result.addresses) == ([], [], {}, 254)


def test_the_result_survives_the_cache_round_trip(first_scan: FirstScan) -> None:
    result = first_scan.result
    assert discovery.ScanResult.from_dict(result.as_dict()) == result


def test_a_scan_imports_no_crypto_library(farm: Fleet) -> None:
    report = run_import_report(
        "from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils import _addresses, _discovery\n"
        f"result = _discovery.scan(_addresses.parse_addresses([{NETWORK!r}]), timeout={TIMEOUT})\n"
        "print(json.dumps({'miners': len(result.miners), 'loaded': loaded()}))\n", timeout=60)
    assert report == {"miners": len(farm.miners), "loaded": []}


def test_a_miner_too_busy_to_answer_in_time_is_found_by_the_second_request(farm: Fleet) -> None:
    busy = farm.miners[1]  # 2.0.x: get_version, then get_miner_info and devdetails
    busy.clear_log()
    busy.add_fault(kind="delay", seconds=TIMEOUT * 3, commands=["get_miner_info"], remaining=1)
    result = discovery.scan(parse_addresses([busy.host]), timeout=TIMEOUT)
    assert [(miner.address, miner.identity["mac"], miner.identity["serial"]) for miner in result.miners] == [
        (busy.host, busy.state.mac, busy.state.serial)]
    assert not busy.config.faults  # the delayed reply was spent on the first request
    # The first get_miner_info got no reply in time; the second request (a new connection) was answered.
    assert Counter(entry.command for entry in busy.log)["get_miner_info"] == 2
