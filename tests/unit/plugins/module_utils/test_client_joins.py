# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""read_many: joined reads (summary+pools+...), their fallback, and the single-command reply shape."""

from __future__ import annotations

import json

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import WhatsminerClient
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import MinerConnectionError, UnsupportedCommandError
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_miner import CloseWithoutReply, Reply, capture, client_of, status_reply

SUMMARY = capture("asic-rs-v1-real/summary.json")
POOLS = capture("asic-rs-v1-real/pools.json")
DEVS = capture("asic-rs-v1-real/devs.json")
DEVDETAILS = capture("microbt-api-v2.0.5-pdf/devdetails.json")
GET_VERSION = capture("asic-rs-v1-real/get_version.json")
STATUS = capture("asic-rs-v1-real/status.json")
INVALID_CMD = capture("misc-code-index/error_14_invalid_cmd_whatsminer-v1.1.json")
JOIN_ERROR_45 = b'{"STATUS":[{"STATUS":"E","When":1700000000,"Code":45,"Msg":"command join err","Description":"cgminer 4.9.2"}],"id":1}'


def joined(**parts: bytes) -> bytes:
    """A cgminer joined reply: {"summary":[<reply>],"pools":[<reply>],...,"id":1}, built from real replies."""
    body = b",".join(b'"' + name.encode() + b'":[' + data + b"]" for name, data in parts.items())
    return b"{" + body + b',"id":1}'


def make_client(server) -> WhatsminerClient:
    """A client of a scripted miner without backoff."""
    return client_of(WhatsminerClient, server, retries=1)


def test_cgminer_reads_are_joined_and_others_read_separately(scripted_miner):
    server = scripted_miner(Reply(joined(summary=SUMMARY, pools=POOLS, devs=DEVS, devdetails=DEVDETAILS)), Reply(GET_VERSION), Reply(STATUS))
    client = make_client(server)
    replies = client.read_many(["summary", "pools", "devs", "devdetails", "get_version", "status"])
    assert list(replies) == ["summary", "pools", "devs", "devdetails", "get_version", "status"]
    for name, data in [("summary", SUMMARY), ("pools", POOLS), ("devs", DEVS), ("devdetails", DEVDETAILS), ("get_version", GET_VERSION), ("status", STATUS)]:
        assert replies[name] == json.loads(data), name
    assert client.connections_opened == 3
    assert client.commands_sent == ["summary+pools+devs+devdetails", "get_version", "status"]
    server.stop()
    assert server.requests[0] == b'{"cmd": "summary+pools+devs+devdetails"}'


def test_joined_reply_has_the_same_shape_as_a_single_read(scripted_miner):
    server = scripted_miner(Reply(joined(summary=SUMMARY, pools=POOLS)), Reply(SUMMARY))
    client = make_client(server)
    assert client.read_many(["summary", "pools"])["summary"] == client.read("summary")


@pytest.mark.parametrize("rejection", [INVALID_CMD, JOIN_ERROR_45, SUMMARY, status_reply("E", 132, "API command ERROR")])
def test_rejected_join_falls_back_and_is_remembered(scripted_miner, rejection):
    server = scripted_miner(Reply(rejection), Reply(SUMMARY), Reply(POOLS), Reply(SUMMARY), Reply(POOLS))
    client = make_client(server)
    first = client.read_many(["summary", "pools"])
    assert first == {"summary": json.loads(SUMMARY), "pools": json.loads(POOLS)}
    assert client.joins_allowed is False
    second = client.read_many(["summary", "pools"])
    assert second == first
    assert client.commands_sent == ["summary+pools", "summary", "pools", "summary", "pools"]


def test_error_in_one_joined_part_raises_that_commands_error(scripted_miner):
    server = scripted_miner(Reply(joined(summary=SUMMARY, devdetails=INVALID_CMD)))
    with pytest.raises(UnsupportedCommandError) as info:
        make_client(server).read_many(["summary", "devdetails"])
    assert info.value.command == "devdetails" and info.value.code == 14


def test_single_joinable_command_is_not_joined(scripted_miner):
    server = scripted_miner(Reply(SUMMARY), Reply(STATUS))
    client = make_client(server)
    assert set(client.read_many(["summary", "status"])) == {"summary", "status"}
    assert client.commands_sent == ["summary", "status"]


def test_duplicates_are_read_once(scripted_miner):
    server = scripted_miner(Reply(STATUS))
    client = make_client(server)
    assert list(client.read_many(["status", "status"])) == ["status"]
    assert client.connections_opened == 1


def test_connection_failure_of_a_join_is_raised_not_taken_as_rejection(scripted_miner):
    server = scripted_miner(CloseWithoutReply(), CloseWithoutReply())
    client = make_client(server)
    with pytest.raises(MinerConnectionError) as info:
        client.read_many(["summary", "pools"])
    assert info.value.command == "summary+pools"
    assert client.joins_allowed is True and client.connections_opened == 2


@pytest.mark.parametrize("commands", ["summary", ["summary+pools"], ["summary", ""]])
def test_invalid_command_lists_are_programming_errors(commands):
    client = WhatsminerClient("127.0.0.1", 4028)
    with pytest.raises(ValueError):
        client.read_many(commands)
    assert client.connections_opened == 0
