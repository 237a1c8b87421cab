# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""whatsminer_facts gathering logic: subsets, the commands each costs, and degradation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _facts as facts_logic
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    CommandRejectedError,
    MinerConnectionError,
    MinerRestartingError,
    UnsupportedCommandError,
)
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.parsing import JOINABLE_COMMANDS

CAPTURES = Path(__file__).resolve().parents[3] / "fixtures" / "captures"


def capture(name: str) -> dict:
    """A capture file that is valid JSON."""
    return json.loads((CAPTURES / name).read_text(encoding="utf-8"))


V1_REPLIES = {
    "summary": capture("asic-rs-v1-real/summary.json"),
    "pools": capture("asic-rs-v1-real/pools.json"),
    "devs": capture("asic-rs-v1-real/devs.json"),
    "devdetails": capture("microbt-api-v2.0.5-pdf/devdetails.json"),
    "get_version": capture("asic-rs-v1-real/get_version.json"),
    "get_psu": capture("asic-rs-v1-real/get_psu.json"),
    "status": capture("asic-rs-v1-real/status.json"),
    "get_miner_info": UnsupportedCommandError("invalid command", code=14),
    "get_error_code": UnsupportedCommandError("invalid command", code=14),
}
V2_REPLIES = {
    "summary": capture("microbt-api-v2.0.5-pdf/summary.json"),
    "pools": capture("microbt-api-v2.0.5-pdf/pools.json"),
    "devs": capture("microbt-api-v2.0.5-pdf/edevs.json"),
    "devdetails": capture("microbt-api-v2.0.5-pdf/devdetails.json"),
    "get_version": capture("microbt-api-v2.0.5-pdf/get_version.json"),
    "get_psu": capture("microbt-api-v2.0.5-pdf/get_psu.json"),
    "get_miner_info": capture("microbt-api-v2.0.5-pdf/get_miner_info.json"),
    "status": capture("asic-rs-pr187-status/status_v2_fw20240924.14.Rel.json"),
    "get_error_code": {"STATUS": "S", "Code": 131, "Msg": {"error_code": [{"329": "2022-01-17 11:28:11"}]}},
}


class FakeClient:
    """Answers from a table of replies (an exception in the table is raised) and records the calls."""

    host = "10.0.0.9"
    port = 4028
    joinable_commands = JOINABLE_COMMANDS

    def __init__(self, replies: dict) -> None:
        self.replies = replies
        self.calls: list[tuple[str, ...]] = []
        self.truncated_replies: list[str] = []

    def _answer(self, command: str) -> dict:
        reply = self.replies[command]
        if isinstance(reply, Exception):
            raise reply
        return reply

    def read(self, command: str) -> dict:
        self.calls.append((command,))
        return self._answer(command)

    def read_many(self, commands: list[str]) -> dict:
        self.calls.append(tuple(commands))
        return {command: self._answer(command) for command in commands}


def gather(replies: dict, subsets: list[str]) -> tuple[dict, FakeClient]:
    client = FakeClient(replies)
    result = facts_logic.gather_facts(client, {"gather_subset": subsets, "host": client.host})
    return result, client


@pytest.mark.parametrize("requested, expected", [
    (["all"], ["device", "status", "pools", "boards", "errors"]),
    (["pools", "status"], ["status", "pools"]),
    (["!boards"], ["device", "status", "pools", "errors"]),
    (["all", "!boards", "!errors"], ["device", "status", "pools"]),
    (["!all"], []),
    (["!all", "pools"], ["pools"]),
    (["pools", "pools"], ["pools"]),
    ([" device "], ["device"]),
])
def test_resolve_subsets(requested, expected):
    assert facts_logic.resolve_subsets(requested) == expected


@pytest.mark.parametrize("bad", ["hardware", "!hardware", "", "ALL"])
def test_resolve_subsets_rejects_unknown_names(bad):
    with pytest.raises(ModuleFailure, match="Bad subset") as failure:
        facts_logic.resolve_subsets(["pools", bad])
    assert "device, status, pools, boards, errors" in failure.value.message


def test_bad_subset_fails_before_any_command():
    client = FakeClient(V2_REPLIES)
    with pytest.raises(ModuleFailure):
        facts_logic.gather_facts(client, {"gather_subset": ["bogus"], "host": client.host})
    assert client.calls == []


@pytest.mark.parametrize("subsets, expected_calls", [
    (["pools"], [("pools",)]),
    (["boards"], [("devs",)]),
    (["status"], [("summary",), ("status",)]),
    (["errors"], [("get_error_code",)]),
    (["pools", "boards", "status"], [("devs", "pools", "summary"), ("status",)]),
    (["all"], [("get_version",), ("devdetails", "devs", "pools", "summary"), ("get_miner_info",), ("get_psu",), ("status",), ("get_error_code",)]),
])
def test_each_subset_costs_only_its_commands(subsets, expected_calls):
    result, client = gather(V2_REPLIES, subsets)
    assert client.calls == expected_calls
    assert result["warnings"] == []
    assert result["changed"] is False


def test_all_on_v2_firmware():
    result, client = gather(V2_REPLIES, ["all"])
    facts = result["ansible_facts"]
    assert facts["whatsminer_gather_subset"] == ["device", "status", "pools", "boards", "errors"]
    assert facts["whatsminer_device"]["model"] == "M30S+VE40"
    assert facts["whatsminer_device"]["hostname"] is None  # the documented example has none
    assert facts["whatsminer_status"]["power_limit_w"] == 3300
    assert [pool["slot"] for pool in facts["whatsminer_pools"]] == [1]
    assert len(facts["whatsminer_boards"]) == 3
    assert facts["whatsminer_errors"] == [{"code": "329", "time": "2022-01-17 11:28:11"}]
    assert len(client.calls) == 6


def test_v1_firmware_skips_commands_it_does_not_have_without_warning():
    result, client = gather(V1_REPLIES, ["all"])
    assert ("get_miner_info",) not in client.calls and ("get_error_code",) not in client.calls
    assert result["warnings"] == []
    facts = result["ansible_facts"]
    assert facts["whatsminer_device"]["mac"] == "C4:08:28:00:A4:19"
    assert facts["whatsminer_device"]["ip"] == "10.0.0.9"
    assert facts["whatsminer_status"]["mining"] is True
    assert facts["whatsminer_errors"] == []


def test_errors_alone_on_v1_falls_back_to_summary():
    result, client = gather(V1_REPLIES, ["errors"])
    assert client.calls == [("get_error_code",), ("summary",)]
    assert result["ansible_facts"]["whatsminer_errors"] == []
    assert len(result["warnings"]) == 1 and "get_error_code" in result["warnings"][0]


def test_unexpected_unsupported_command_degrades_with_a_warning():
    replies = dict(V2_REPLIES, get_psu=UnsupportedCommandError("invalid command", code=14))
    result = gather(replies, ["device"])[0]
    assert result["ansible_facts"]["whatsminer_device"]["psu"]["model"] is None
    assert result["ansible_facts"]["whatsminer_device"]["model"] == "M30S+VE40"
    assert len(result["warnings"]) == 1 and "get_psu" in result["warnings"][0]


def test_rejected_command_degrades_with_a_warning():
    replies = dict(V2_REPLIES, status=CommandRejectedError("command failed", code=132))
    result = gather(replies, ["status"])[0]
    status = result["ansible_facts"]["whatsminer_status"]
    assert status["mining"] is True  # the summary's live hashrate still decides
    assert status["power_limit_w"] == 3600  # from the summary instead
    assert len(result["warnings"]) == 1


def test_btminer_restarting_leaves_summary_facts_null_and_uses_the_flag():
    replies = dict(V2_REPLIES, summary=MinerRestartingError("btminer is not running"))
    result = gather(replies, ["status"])[0]
    status = result["ansible_facts"]["whatsminer_status"]
    assert status["mining"] is True and status["hashrate_ths"] is None and status["power_mode"] == "normal"
    assert len(result["warnings"]) == 1 and "restarting" in result["warnings"][0]


def test_unreachable_miner_fails():
    replies = dict(V2_REPLIES, pools=MinerConnectionError("connection refused"))
    with pytest.raises(MinerConnectionError):
        gather(replies, ["pools"])


def test_no_subsets_no_connection():
    result, client = gather(V2_REPLIES, ["!all"])
    assert client.calls == []
    assert result["ansible_facts"] == {"whatsminer_gather_subset": []}
