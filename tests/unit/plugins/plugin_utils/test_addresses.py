# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The addresses of a discovery scan (plugin_utils._addresses): networks, ranges, exclusions, the cap, bad input."""

from __future__ import annotations

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._addresses import AddressError, parse_addresses


def test_cidr_range_and_exclude_give_the_exact_addresses() -> None:
    addresses = parse_addresses(["10.0.0.0/30", "10.0.1.5-7", "10.0.2.9"], exclude=["10.0.1.6"])
    assert list(addresses) == ["10.0.0.1", "10.0.0.2", "10.0.1.5", "10.0.1.7", "10.0.2.9"]
    assert len(addresses) == 5
    assert "10.0.1.7" in addresses and "10.0.1.6" not in addresses


def test_overlapping_networks_count_each_address_once() -> None:
    addresses = parse_addresses(["10.0.0.0/24", "10.0.0.10-10.0.0.20", "10.0.0.0/25"])
    assert len(addresses) == 254


def test_a_network_over_the_cap_fails_before_anything_is_sent() -> None:
    with pytest.raises(AddressError, match=r"^networks: 16777214 addresses to scan, more than max_addresses \(65536\)"):
        parse_addresses(["10.0.0.0/8"])
    assert len(parse_addresses(["10.0.0.0/8"], exclude=["10.1.0.0-10.255.255.255"], max_addresses=65536)) == 65535


@pytest.mark.parametrize(("networks", "exclude", "message"), [
    ([], None, "networks: the list is empty"),
    (["10.0.0.0/33"], None, "networks: '10.0.0.0/33' is not an IPv4 address"),
    (["10.0.0/24x"], None, "networks: '10.0.0/24x' is not an IPv4 address"),
    (["fd00::/120"], None, "networks: 'fd00::/120' is not an IPv4 address"),
    (["10.0.0.9-10.0.0.2"], None, "networks: the range '10.0.0.9-10.0.0.2' ends before it starts"),
    (["10.0.0.0/24"], ["farm"], "exclude: 'farm' is not an IPv4 address"),
    ([None], None, "networks: None is not an IPv4 address"),
])
def test_malformed_input_names_the_option(networks: list, exclude: list | None, message: str) -> None:
    with pytest.raises(AddressError) as caught:
        parse_addresses(networks, exclude)
    assert str(caught.value).startswith(message)
