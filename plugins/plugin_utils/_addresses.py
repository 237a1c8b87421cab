# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The addresses a discovery scan covers: ``networks`` minus ``exclude`` of the inventory plugin.

Note that this plugin util is PRIVATE to the collection. It can have breaking changes at any time.

Entries are IPv4 addresses (``10.20.0.17``), ranges (``10.20.0.10-10.20.0.50``, ``10.20.0.10-50``)
and CIDRs (``10.20.0.0/22``, without its network and broadcast addresses). The set is counted from
its ranges before anything is enumerated, so a typo such as ``10.0.0.0/8`` is refused by its size.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

DEFAULT_MAX_ADDRESSES = 65536


class AddressError(ValueError):
    """An entry of ``networks`` or ``exclude`` that is not an address, a range or a CIDR; or a set too large."""


# ---------------------------------------------------------------------------------------------
# Addresses


@dataclass(frozen=True)
class AddressSet:
    """IPv4 addresses as sorted, disjoint, inclusive ``(first, last)`` integer ranges."""

    ranges: tuple[tuple[int, int], ...]

    def __len__(self) -> int:
        return sum(last - first + 1 for first, last in self.ranges)

    def __iter__(self) -> Iterator[str]:
        for first, last in self.ranges:
            for number in range(first, last + 1):
                yield str(ipaddress.IPv4Address(number))

    def __contains__(self, address: object) -> bool:
        try:
            number = int(ipaddress.IPv4Address(str(address)))
        except ValueError:
            return False
        return any(first <= number <= last for first, last in self.ranges)


def _parse_entry(entry: Any, option: str) -> tuple[int, int]:
    """One ``networks``/``exclude`` entry as an inclusive integer range."""
    text = str(entry).strip() if isinstance(entry, (str, int)) and not isinstance(entry, bool) else None
    if not text:
        raise AddressError(f"{option}: {entry!r} is not an IPv4 address, range (10.0.0.10-10.0.0.50) or CIDR (10.0.0.0/24)")
    try:
        if "/" in text:
            network = ipaddress.IPv4Network(text, strict=False)
            first, last = int(network.network_address), int(network.broadcast_address)
            if network.prefixlen < 31:  # the network and broadcast addresses hold no miner
                first, last = first + 1, last - 1
            return first, last
        if "-" in text:
            start_text, _sep, end_text = text.partition("-")
            start = ipaddress.IPv4Address(start_text.strip())
            end_text = end_text.strip()
            if end_text.isdigit() and "." not in end_text:  # 10.0.0.10-50
                end = ipaddress.IPv4Address(".".join(str(start).split(".")[:3] + [end_text]))
            else:
                end = ipaddress.IPv4Address(end_text)
            if int(end) < int(start):
                raise AddressError(f"{option}: the range {text!r} ends before it starts")
            return int(start), int(end)
        number = int(ipaddress.IPv4Address(text))
        return number, number
    except AddressError:
        raise
    except ValueError as exc:
        raise AddressError(f"{option}: {text!r} is not an IPv4 address, range (10.0.0.10-10.0.0.50) or CIDR (10.0.0.0/24): {exc}") from None


def _merge(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def parse_addresses(networks: Any, exclude: Any = None, max_addresses: int = DEFAULT_MAX_ADDRESSES) -> AddressSet:
    """The addresses of ``networks`` without those of ``exclude``, at most ``max_addresses`` of them.

    Raises:
        AddressError: an entry is malformed, ``networks`` is empty, or the set is larger than the cap.
    """
    if isinstance(networks, str):
        networks = [networks]
    if isinstance(exclude, str):
        exclude = [exclude]
    if not networks:
        raise AddressError("networks: the list is empty; give at least one address, range or CIDR of the farm, e.g. 10.20.0.0/22")
    included = _merge(_parse_entry(entry, "networks") for entry in networks)
    excluded = _merge(_parse_entry(entry, "exclude") for entry in (exclude or []))
    remaining: list[tuple[int, int]] = []
    for first, last in included:
        for ex_first, ex_last in excluded:
            if ex_last < first or ex_first > last:
                continue
            if ex_first > first:
                remaining.append((first, ex_first - 1))
            first = ex_last + 1
            if first > last:
                break
        if first <= last:
            remaining.append((first, last))
    addresses = AddressSet(tuple(remaining))
    count = len(addresses)
    if count > max_addresses:
        raise AddressError(
            f"networks: {count} addresses to scan, more than max_addresses ({max_addresses}); check the networks for a typo "
            f"(such as /8 for /24), narrow them with exclude, or raise max_addresses")
    return addresses
