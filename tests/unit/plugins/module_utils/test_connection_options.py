# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one host-name pattern (``_connection_options.HOST_NAME``) as the miner's address and a pool's host use it."""

from __future__ import annotations

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._connection_options import host_problem
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._pools import parse_pool_url


@pytest.mark.parametrize("host", ["miner-01", "Miner_01.farm.example", "miner-01.farm.example.", "a" * 63 + ".example"])
def test_miner_host_names_accepted(host: str) -> None:
    assert host_problem(host) is None


@pytest.mark.parametrize("host", ["miner-01.farm.example..", ".farm.example", "-miner.example", "miner-.example", "a" * 64 + ".example", "."])
def test_miner_host_names_refused(host: str) -> None:
    assert host_problem(host) is not None


def test_pool_host_names_share_the_pattern_but_take_no_final_dot() -> None:
    assert parse_pool_url("stratum+tcp://Pool_1.Example.com:3333").host == "pool_1.example.com"
    for url in ("stratum+tcp://pool.example.com.:3333", "stratum+tcp://pool..example.com:3333", "stratum+tcp://-pool.example.com:3333"):
        with pytest.raises(ValueError, match="invalid host name"):
            parse_pool_url(url)
