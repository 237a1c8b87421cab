# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An independent client (pyasic 0.79's BTMinerRPCAPI) reads the power state whatsminer_power set."""

from __future__ import annotations

import asyncio
from typing import Any, Coroutine

import pytest
# pyasic is pinned in requirements/dev.txt: a missing pyasic must fail these tests, not skip them.
from pyasic.rpc import btminer

from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_power
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import API2_PROFILES, connection_args

PASSWORD = "farm_42"
TIMEOUT_S = 20.0
NO_LIMIT_REPORT = "2147483647"


def pyasic_read(miner: Any) -> dict:
    """``summary`` and ``status`` as pyasic reads them."""
    api = btminer.BTMinerRPCAPI(miner.host)
    api.port = miner.port

    async def scenario() -> dict:
        return {"summary": (await api.summary())["SUMMARY"][0], "status": (await api.status())["Msg"]}

    coroutine: Coroutine[Any, Any, dict] = asyncio.wait_for(scenario(), TIMEOUT_S)
    return asyncio.run(coroutine)


# pyasic's API 2 class reads port 4028; the reduced 4028 API of 3.x firmware has no 5 s hashrate
# (tests/simulator/test_v3_pyasic.py reads the 3.x miner with pyasic's API 3 class).
@pytest.mark.parametrize("profile", API2_PROFILES)
def test_pyasic_reads_what_the_module_set(start_fleet, run_module, profile):
    miner = start_fleet(count=1, profiles=profile, password=PASSWORD).miners[0]
    args = connection_args(miner, password=PASSWORD, wait_timeout=10.0)

    result = run_module(whatsminer_power.main, {**args, "mining": False, "mode": "low", "power_limit": 3000})
    assert result["changed"] is True, result.get("msg")
    seen = pyasic_read(miner)
    assert seen["summary"]["Power Mode"] == "Low"
    assert seen["summary"]["Power Limit"] == 3000
    assert seen["summary"]["MHS 5s"] == 0
    if profile == "1.4.x":
        assert seen["status"]["btmineroff"] == "true"  # 1.4.x reports "true" whatever it does
    else:
        assert seen["status"]["mineroff"] == "true"
        assert seen["status"]["mineroff_reason"] == "by whatsminer api"
    if profile == "2024":
        assert seen["status"]["power_mode"] == "low"
        assert seen["status"]["power_limit_set"] == "3000"

    # resume in high power mode; the limit goes (2024) or is raised (older firmware)
    limit = 99999 if profile == "2024" else 3400
    result = run_module(whatsminer_power.main, {**args, "mining": True, "mode": "high", "power_limit": limit})
    assert result["changed"] is True, result.get("msg")
    seen = pyasic_read(miner)
    assert seen["summary"]["Power Mode"] == "High"
    assert seen["summary"]["MHS 5s"] > 0
    if profile != "1.4.x":
        assert seen["status"]["mineroff"] == "false"
    if profile == "2024":
        assert seen["status"]["power_mode"] == "high"
        assert seen["status"]["power_limit_set"] == NO_LIMIT_REPORT
    else:
        assert seen["summary"]["Power Limit"] == 3400
