# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reads over real loopback sockets: framing, retries, timeouts, refused/reset/empty/oversized replies."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import WhatsminerClient
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    CommandRejectedError,
    MalformedReplyError,
    MinerConnectionError,
    MinerRestartingError,
    MinerTimeoutError,
    UnsupportedCommandError,
)
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.transport import MAX_REPLY_BYTES
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_miner import (
    CloseWithoutReply,
    Reply,
    Reset,
    Silent,
    capture,
    client_of,
    closed_port,
    status_reply,
)

SUMMARY = capture("asic-rs-v1-real/summary.json")
BTMINER_DOWN = b"Socket connect failed: Connection refused\n"
# Slack for thread scheduling on a loaded machine; the bound still proves "ends near the timeout".
SLACK = 0.7


def make_client(server, **overrides) -> WhatsminerClient:
    """A client of a scripted miner with test-friendly defaults (no backoff)."""
    return client_of(WhatsminerClient, server, **overrides)


def test_read_sends_cmd_and_returns_the_parsed_reply(scripted_miner):
    server = scripted_miner(Reply(SUMMARY.rstrip(b"\n") + b"\x00"))
    client = make_client(server)
    assert client.read("summary") == json.loads(SUMMARY)
    server.stop()
    assert server.requests == [b'{"cmd": "summary"}']
    assert (client.connections_opened, client.tokens_requested, client.commands_sent) == (1, 0, ["summary"])


def test_extra_parameters_are_top_level_keys(scripted_miner):
    server = scripted_miner(Reply(capture("microbt-api-v2.0.5-pdf/get_miner_info.json")))
    reply = make_client(server).read("get_miner_info", info="ip,mac")
    assert reply["Msg"]["mac"] == "C6:07:20:00:1E:C2"
    server.stop()
    assert json.loads(server.requests[0]) == {"cmd": "get_miner_info", "info": "ip,mac"}


def test_empty_replies_are_retried_then_succeed(scripted_miner):
    server = scripted_miner(CloseWithoutReply(), CloseWithoutReply(), Reply(SUMMARY))
    client = make_client(server, retries=2)
    assert client.read("summary")["SUMMARY"][0]["MAC"] == "C4:08:28:00:A4:19"
    assert client.connections_opened == 3
    assert client.commands_sent == ["summary"] * 3


def test_retries_are_bounded(scripted_miner):
    server = scripted_miner(CloseWithoutReply(), CloseWithoutReply(), CloseWithoutReply(), Reply(SUMMARY))
    client = make_client(server, retries=2)
    with pytest.raises(MinerConnectionError) as info:
        client.read("summary")
    error = info.value
    assert type(error) is MinerConnectionError  # pylint: disable=unidiomatic-typecheck
    assert "without replying" in error.reason and "(3 attempts)" in str(error)
    assert (error.host, error.port, error.command, error.request_sent) == ("127.0.0.1", server.port, "summary", True)
    assert f"127.0.0.1:{server.port}" in str(error) and "busy or restarting" in str(error)
    assert "read its state back" not in str(error)  # a read changes nothing
    server.stop()
    assert client.connections_opened == 3 and server.remaining_actions == 1 and server.unexpected_connections == 0


def test_no_retries_when_retries_is_zero(scripted_miner):
    server = scripted_miner(CloseWithoutReply(), Reply(SUMMARY))
    client = make_client(server, retries=0)
    with pytest.raises(MinerConnectionError):
        client.read("summary")
    assert client.connections_opened == 1


def test_reset_mid_reply_is_retried(scripted_miner):
    server = scripted_miner(Reset(partial=SUMMARY[:300]), Reply(SUMMARY))
    client = make_client(server)
    assert client.read("summary") == json.loads(SUMMARY)
    assert client.connections_opened == 2


def test_reset_mid_reply_every_time_raises_a_connection_error(scripted_miner):
    server = scripted_miner(Reset(partial=SUMMARY[:300]), Reset())
    client = make_client(server, retries=1)
    with pytest.raises(MinerConnectionError) as info:
        client.read("summary")
    assert not isinstance(info.value, MinerTimeoutError)
    assert info.value.request_sent
    assert client.connections_opened == 2


def test_btminer_restarting_text_is_retried(scripted_miner):
    server = scripted_miner(Reply(BTMINER_DOWN), Reply(SUMMARY))
    client = make_client(server)
    assert client.read("summary")["STATUS"][0]["Code"] == 11
    assert client.connections_opened == 2


def test_btminer_restarting_text_every_time_raises_restarting_error(scripted_miner):
    server = scripted_miner(Reply(BTMINER_DOWN), Reply(BTMINER_DOWN))
    client = make_client(server, retries=1)
    with pytest.raises(MinerRestartingError) as info:
        client.read("summary")
    assert "restarting" in str(info.value) and "Socket connect failed" in str(info.value)
    assert client.connections_opened == 2


def test_silent_miner_times_out_within_the_timeout(scripted_miner):
    server = scripted_miner(Silent())
    client = make_client(server, timeout=0.3, retries=0)
    started = time.monotonic()
    with pytest.raises(MinerTimeoutError) as info:
        client.read("summary")
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 0.3 + SLACK
    assert info.value.timeout == 0.3 and info.value.request_sent
    assert "no reply within 0.3 s" in str(info.value)


def test_silent_miner_with_retries_takes_one_timeout_per_attempt(scripted_miner):
    server = scripted_miner(Silent(), Silent(), Silent())
    client = make_client(server, timeout=0.2, retries=2)
    started = time.monotonic()
    with pytest.raises(MinerTimeoutError):
        client.read("summary")
    assert time.monotonic() - started < 3 * 0.2 + SLACK
    assert client.connections_opened == 3


def test_a_time_limit_bounds_the_reply_wait_and_stops_retries(scripted_miner):
    """Inside time_limit a silent miner costs the time left, not timeout x (retries + 1) (issue 14, item 6)."""
    server = scripted_miner(Silent(), Silent(), Silent())
    client = make_client(server, timeout=5.0, retries=2, retry_delay=0.05)
    with client.time_limit(0.2), pytest.raises(MinerTimeoutError) as info:
        client.read("summary")
    assert 0 < info.value.timeout < 0.2 and re.search(r"no reply within 0\.1\d s\.", str(info.value))
    assert client.connections_opened == 1  # no retry once the time is spent
    assert client.deadline is None  # the limit ends with its block
    with client.time_limit(0), pytest.raises(MinerTimeoutError, match="ran out before the request could be sent") as info:
        client.read("summary")
    assert not info.value.request_sent and client.connections_opened == 1


def test_an_inner_time_limit_never_extends_an_outer_one(scripted_miner):
    client = make_client(scripted_miner())
    with client.time_limit(1.0):
        outer = client.deadline
        with client.time_limit(60.0):
            assert client.deadline == outer
        with client.time_limit(0.5):
            assert client.deadline < outer
        assert client.deadline == outer


def test_trickling_reply_is_bounded_by_one_deadline(scripted_miner):
    server = scripted_miner(Reply(SUMMARY[:200], after="hold"))
    client = make_client(server, timeout=0.3, retries=0)
    started = time.monotonic()
    with pytest.raises(MinerTimeoutError, match="stopped after 200 bytes"):
        client.read("summary")
    assert time.monotonic() - started < 0.3 + SLACK


def test_complete_reply_on_a_connection_the_miner_keeps_open_is_accepted(scripted_miner):
    server = scripted_miner(Reply(SUMMARY, after="hold"))
    client = make_client(server, timeout=0.3, retries=0)
    assert client.read("summary") == json.loads(SUMMARY)


def test_refused_connection_is_retried_and_reported(count_connects):
    counter = count_connects()
    client = WhatsminerClient("127.0.0.1", closed_port(), timeout=1.0, retries=2, retry_delay=0.0)
    with pytest.raises(MinerConnectionError) as info:
        client.read("summary")
    assert counter.calls == 3
    assert client.connections_opened == 0 and client.commands_sent == []
    assert not info.value.request_sent and "cannot connect" in info.value.reason
    assert "TCP port" in str(info.value) and "powered on" in str(info.value)


def test_connect_timeout_is_a_timeout_error_and_retried(count_connects, scripted_miner):
    server = scripted_miner(Reply(SUMMARY))
    counter = count_connects(failures={1: socket.timeout("timed out")})
    client = make_client(server)
    assert client.read("summary") == json.loads(SUMMARY)
    assert counter.calls == 2 and client.connections_opened == 1


def test_unresolvable_host_is_not_retried(count_connects):
    counter = count_connects(fail_from=1, failure=socket.gaierror(-2, "Name or service not known"))
    client = WhatsminerClient("miner-17.invalid", timeout=1.0, retries=2, retry_delay=0.0)
    with pytest.raises(MinerConnectionError, match="cannot resolve the host name"):
        client.read("summary")
    assert counter.calls == 1


def test_oversized_reply_is_refused_without_retry(scripted_miner):
    huge = b'{"STATUS":"S","Msg":"' + b"a" * MAX_REPLY_BYTES + b'"}'
    server = scripted_miner(Reply(huge), Reply(SUMMARY))
    client = make_client(server)
    with pytest.raises(MalformedReplyError, match=f"larger than {MAX_REPLY_BYTES} bytes") as info:
        client.read("summary")
    assert info.value.port == server.port and info.value.command == "summary"
    assert client.connections_opened == 1


def test_reply_size_cap_is_configurable(scripted_miner):
    server = scripted_miner(Reply(SUMMARY))
    with pytest.raises(MalformedReplyError):
        make_client(server, max_reply_bytes=1000).read("summary")


def test_error_reply_to_a_read_is_typed_and_not_retried(scripted_miner):
    server = scripted_miner(Reply(capture("misc-code-index/error_14_invalid_cmd_stats_whatsminer-v1.3.json")))
    client = make_client(server)
    with pytest.raises(UnsupportedCommandError) as info:
        client.read("stats")
    error = info.value
    assert (error.code, error.miner_message, error.command) == (14, "invalid cmd", "stats")
    assert "'stats'" in str(error) and "invalid cmd" in str(error)
    assert client.connections_opened == 1


def test_other_error_reply_to_a_read_is_a_command_rejected_error(scripted_miner):
    server = scripted_miner(Reply(status_reply("E", 132, "API command ERROR")))
    with pytest.raises(CommandRejectedError) as info:
        make_client(server).read("get_psu")
    assert not isinstance(info.value, UnsupportedCommandError) and info.value.code == 132


def test_malformed_reply_is_not_retried(scripted_miner):
    server = scripted_miner(Reply(b"HTTP/1.1 400 Bad Request\r\n\r\n"), Reply(SUMMARY))
    client = make_client(server)
    with pytest.raises(MalformedReplyError) as info:
        client.read("summary")
    assert "HTTP/1.1 400" in str(info.value) and info.value.command == "summary"
    assert client.connections_opened == 1


def test_reply_without_status_is_malformed(scripted_miner):
    server = scripted_miner(Reply(b'{"code":0,"msg":"ok"}'))
    with pytest.raises(MalformedReplyError, match="no STATUS"):
        make_client(server).read("summary")


@pytest.mark.parametrize("command, params", [("summary+pools", {}), ("", {}), ("summary", {"cmd": "x"}), ("summary", {"token": "x"})])
def test_invalid_arguments_are_programming_errors(command, params):
    client = WhatsminerClient("127.0.0.1", closed_port())
    with pytest.raises(ValueError):
        client.read(command, **params)
    assert client.connections_opened == 0


def test_client_repr_has_no_password():
    assert "pw-123" not in repr(WhatsminerClient("192.0.2.1", password="pw-123"))
