# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The api_version option: auto picks per miner with one probe, 2 and 3 send no probe, a wrong pick fails clearly.

Against a fleet of one 2024 miner (API 2 only) and one 3.x miner (API 3 on its own port and the
reduced API 2 on 4028), counting what each port of each miner receives.
"""

from __future__ import annotations

import time

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import Api3Adapter, MinerSession
from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_facts, whatsminer_pools, whatsminer_power
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import connection_args

PASSWORD = "versions_1"
DESIRED_POOLS = [{"url": "stratum+tcp://versions.example.com:3333", "user": "versions.w1"}]


@pytest.fixture(name="miners")
def fixture_miners(start_fleet):
    """``{"2024": miner, "3.x": miner}``, the same password on both APIs."""
    fleet = start_fleet(count=2, profiles=["2024", "3.x"], password=PASSWORD)
    return {miner.profile: miner for miner in fleet.miners}


def traffic(miner) -> tuple[list[str], list[str]]:
    """The commands the miner received on port 4028 and on its API 3 port."""
    return [entry.command for entry in miner.log if entry.api == 2], [entry.command for entry in miner.log if entry.api == 3]


def test_auto_probes_once_and_the_facts_reuse_the_probe(miners, run_module):
    api2, api3 = miners["2024"], miners["3.x"]
    result = run_module(whatsminer_facts.main, connection_args(api2, gather_subset=["device"]))
    assert result["ansible_facts"]["whatsminer_device"]["firmware_version"] == "20240924.14.Rel"
    on_4028, on_api3 = traffic(api2)
    assert on_4028.count("get_version") == 1 and on_api3 == []  # the probe's reply is the facts' get_version

    result = run_module(whatsminer_facts.main, connection_args(api3, gather_subset=["device"]))
    assert result["ansible_facts"]["whatsminer_device"]["api_version"] == "3.0.2"
    on_4028, on_api3 = traffic(api3)
    assert on_4028 == ["get_version"]  # the probe, and nothing else on the reduced API 2
    assert sorted(on_api3) == ["get.device.info", "get.miner.status"]


@pytest.mark.parametrize("profile, api_version", [("2024", "2"), ("3.x", "3")])
def test_a_given_api_version_sends_no_probe(miners, run_module, profile, api_version):
    miner = miners[profile]
    result = run_module(whatsminer_pools.main, connection_args(miner, api_version=api_version, password=PASSWORD, pools=DESIRED_POOLS))
    assert result["changed"] is True and not result.failed, result.get("msg")
    on_4028, on_api3 = traffic(miner)
    if api_version == "3":
        assert on_4028 == [] and on_api3 == ["get.miner.status", "get.device.info", "set.miner.pools", "get.miner.status"]
    else:
        assert on_4028 == ["pools", "get_token", "update_pools", "pools"] and on_api3 == []
    assert [(slot.url, slot.user) for slot in miner.state.pools if slot.url] == [(DESIRED_POOLS[0]["url"], DESIRED_POOLS[0]["user"])]


def test_auto_does_not_wait_for_a_port_4433_that_is_not_there(miners, run_module):
    """An API 2 miner is never asked on the API 3 port; one that drops packets would cost the whole timeout."""
    miner = miners["2024"]
    started = time.monotonic()
    result = run_module(whatsminer_power.main, connection_args(miner, api3_port=9, timeout=5.0, password=PASSWORD, mining=True))
    assert not result.failed and result["changed"] is False
    assert time.monotonic() - started < 2.0
    assert traffic(miner)[0] == ["get_version", "summary", "status"]


def test_a_3x_miner_driven_with_api_version_2_says_what_to_do(miners, run_module):
    miner = miners["3.x"]
    facts = run_module(whatsminer_facts.main, connection_args(miner, api_version="2", gather_subset=["device"]))
    assert facts["ansible_facts"]["whatsminer_device"]["model"] is None  # the reduced API 2 has no devdetails
    assert any("does not know 'devdetails'" in warning for warning in facts.warnings)

    result = run_module(whatsminer_pools.main, connection_args(miner, api_version="2", password=PASSWORD, pools=DESIRED_POOLS))
    assert result.failed
    assert f"Whatsminer {miner.host}:{miner.port}, command 'update_pools'" in result["msg"]
    assert "takes writes only on its API 3 port (4433): set api_version to auto or 3" in result["msg"]
    assert traffic(miner)[1] == []  # nothing went to API 3


def test_api_version_3_on_an_api2_miner_names_the_api3_port(miners, run_module):
    miner = miners["2024"]
    closed_port = 9
    result = run_module(whatsminer_facts.main, connection_args(miner, api_version="3", api3_port=closed_port, retries=0))
    assert result.failed
    assert f"Whatsminer {miner.host}:{closed_port}" in result["msg"] and "cannot connect" in result["msg"]
    assert traffic(miner) == ([], [])


def test_the_session_chooses_on_first_contact_and_counts_the_probe(miners):
    miner = miners["3.x"]
    session = MinerSession(miner.host, port=miner.port, api3_port=miner.api3_port, password=PASSWORD, timeout=2.0)
    assert session.api_version is None and session.port == miner.port and session.connections_opened == 0
    assert miner.log == []
    session.accept_truncated = True
    replies = session.read_many(["summary", "pools", "status"])
    assert session.api_version == 3 and "get_version on port" in session.api_choice.reason
    assert session.port == miner.api3_port
    assert replies["status"]["Msg"]["mineroff"] == "false" and replies["summary"]["SUMMARY"][0]["MHS av"] > 0
    assert session.connections_opened == 1 + 3  # probe; get.miner.status summary+pools, get.device.info, get.miner.setting
    assert session.tokens_requested == 0
    assert session.joinable_commands == Api3Adapter.joinable_commands
    assert session.privileged("power_off", respbefore="true")["msg"] == "ok"
    assert miner.state.mining is False and session.tokens_requested == 1
