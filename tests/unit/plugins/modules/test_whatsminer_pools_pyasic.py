# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pools written by whatsminer_pools read back identically through an independent client (pyasic 0.79)."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any, Coroutine

import pytest

# pyasic is pinned in requirements/dev.txt: a missing pyasic must fail these tests, not skip them.
# Its pydantic models warn when they are defined, at import; that noise is not ours.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyasic.miners import whatsminer
    from pyasic.rpc.btminer import BTMinerRPCAPI

from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_pools
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import PROFILES, connection_args

pytestmark = [
    pytest.mark.filterwarnings("ignore:Support for class-based `config` is deprecated"),
    pytest.mark.filterwarnings("ignore:passing settings to md5_crypt.hash"),
]

TIMEOUT_S = 20.0
DESIRED = [
    {"url": "Pool.Example.com:3333/", "user": "farm.w1"},
    {"url": "stratum+tcp://backup.example.net:443", "user": "farm.w1", "password": "d=65536"},
    {"url": "STRATUM+TCP://[2001:DB8::7]:25", "user": "farm_backup"},
]


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a pyasic coroutine with a hard time bound."""
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT_S))


@pytest.mark.parametrize("profile", PROFILES)
def test_pyasic_reads_the_pools_the_module_wrote(start_fleet, run_module, profile):
    miner = start_fleet(count=1, profiles=profile).miners[0]
    result = run_module(whatsminer_pools.main, connection_args(miner, password="admin", pools=DESIRED))
    assert result["changed"] is True, result.get("msg")

    api = BTMinerRPCAPI(miner.host)
    api.port = miner.port
    reply = run(api.pools())
    read_by_pyasic = [{"slot": record["POOL"], "url": record["URL"], "user": record["User"]} for record in reply["POOLS"]]
    assert read_by_pyasic == result["pools"] == [
        {"slot": 1, "url": "stratum+tcp://pool.example.com:3333", "user": "farm.w1"},
        {"slot": 2, "url": "stratum+tcp://backup.example.net:443", "user": "farm.w1"},
        {"slot": 3, "url": "stratum+tcp://[2001:db8::7]:25", "user": "farm_backup"},
    ]
    assert [record["Priority"] for record in reply["POOLS"]] == [0, 1, 2]


def test_pyasic_config_shows_the_pools_and_the_module_agrees(start_fleet, run_module):
    """pyasic's own configuration reading, and a second module run that finds nothing to change."""
    miner = start_fleet(count=1, profiles="2.0.x").miners[0]
    args = connection_args(miner, password="admin", pools=DESIRED[:2])
    written = run_module(whatsminer_pools.main, args)

    pyasic_miner = whatsminer.BTMinerM30SPlusVE40(miner.host)
    pyasic_miner.rpc.port = miner.port
    config = run(pyasic_miner.get_config())
    assert [(pool.url, pool.user) for pool in config.pools.groups[0].pools] == [(pool["url"], pool["user"]) for pool in written["pools"]]
    assert run_module(whatsminer_pools.main, args)["changed"] is False
