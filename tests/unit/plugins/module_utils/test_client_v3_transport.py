# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WhatsminerV3Client over real loopback sockets against a scripted framed miner: framing edge cases,
timeouts, retries, reply-code mapping, signing and the salt refresh."""

from __future__ import annotations

import socket
import struct
import threading
import time
from typing import Any

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api3 import WhatsminerV3Client, reply_code
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    API_SWITCH_ADVICE,
    AuthenticationError,
    CommandRejectedError,
    MalformedReplyError,
    MinerConnectionError,
    MinerRestartingError,
    MinerTimeoutError,
    UnsupportedCommandError,
    WriteApiDisabledError,
)
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_miner import (
    CloseWithoutReply,
    Reply,
    Reset,
    Silent,
    client_of,
    closed_port,
)
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_v3_miner import (
    command_key,
    decrypt_param,
    expected_token,
    frame,
    request_of,
    scripted_v3_miner,
    v3_reply,
)

SALT = "uhCiDyVj"
SETTING = {"power-limit": 3500, "upfreq-speed": 0, "power-mode": "normal", "fast-boot": "disable", "target-freq": 0,
           "fast-mining": "disable", "power": 3500, "power-percent": 0}
SLACK = 0.7


def make_client(server: Any, **overrides: Any) -> WhatsminerV3Client:
    """A client of a scripted miner with test-friendly defaults (no backoff) and the password of ``super``."""
    return client_of(WhatsminerV3Client, server, **{"password": "super", **overrides})


def salt_reply(salt: str = SALT) -> Reply:
    return Reply(v3_reply(0, {"salt": salt}, "get.device.info"))


# --- framing -------------------------------------------------------------------------------

def test_request_frame_and_reply() -> None:
    with scripted_v3_miner(Reply(v3_reply(0, SETTING, "get.miner.setting"))) as server:
        reply = make_client(server).read("get.miner.setting")
    assert reply == {"code": 0, "when": 1773869570, "msg": SETTING, "desc": "get.miner.setting"}
    raw = server.requests[0]
    assert struct.unpack("<I", raw[:4])[0] == len(raw) - 4
    assert request_of(raw) == {"cmd": "get.miner.setting"}
    assert raw[4:] == b'{"cmd": "get.miner.setting"}'  # json.dumps default separators, like pyasic


def test_param_of_reads() -> None:
    with scripted_v3_miner(Reply(v3_reply(0, {"network": {}})), Reply(v3_reply(0, {"summary": {}, "pools": []}))) as server:
        client = make_client(server)
        client.read("get.device.info", "network")
        client.read_status(["summary", "pools", "summary"])
    assert request_of(server.requests[0]) == {"cmd": "get.device.info", "param": "network"}
    assert request_of(server.requests[1]) == {"cmd": "get.miner.status", "param": "summary+pools"}
    assert client.commands_sent == ["get.device.info", "get.miner.status"]
    assert client.connections_opened == 2


def test_heartbeats_before_the_reply_are_skipped() -> None:
    data = b"\0\0\0\0" * 3 + v3_reply(0, SETTING)
    with scripted_v3_miner(Reply(data)) as server:
        assert make_client(server).read("get.miner.setting")["msg"] == SETTING


def test_reply_dribbled_in_pieces() -> None:
    """The header and the body may arrive in several segments (a header split in two, too)."""
    data = b"\0\0\0\0" + v3_reply(0, SETTING)
    pieces = [data[:2], data[2:6], data[6:9], data[9:40], data[40:]]
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def serve() -> None:
            conn, _address = listener.accept()
            with conn:
                conn.recv(65536)
                for piece in pieces:
                    conn.sendall(piece)
                    time.sleep(0.03)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        client = WhatsminerV3Client("127.0.0.1", listener.getsockname()[1], timeout=2.0, retries=0)
        assert client.read("get.miner.setting")["msg"] == SETTING
        thread.join(5)


def test_bytes_after_the_frame_are_ignored() -> None:
    with scripted_v3_miner(Reply(v3_reply(0, SETTING) + b"trailing garbage", after="hold")) as server:
        assert make_client(server).read("get.miner.setting")["code"] == 0


@pytest.mark.parametrize("data, reason", [
    (b"", "no reply: the connection was closed by the miner"),
    (b"\x10\x00", "after 2 of 4 bytes of the length prefix"),
    (struct.pack("<I", 100) + b'{"code":0', "after 9 of 100 bytes of the reply"),
    (b"\0\0\0\0", "no reply: the connection was closed by the miner"),
])
def test_short_frames(data: bytes, reason: str) -> None:
    with scripted_v3_miner(*[Reply(data)] * 3) as server:
        client = make_client(server)
        with pytest.raises(MinerConnectionError) as caught:
            client.read("get.miner.setting")
    assert reason in str(caught.value)
    assert caught.value.request_sent and "(3 attempts)" in str(caught.value)
    assert client.connections_opened == 3


def test_short_frame_write_is_not_resent() -> None:
    with scripted_v3_miner(salt_reply(), Reply(struct.pack("<I", 50) + b"{")) as server:
        client = make_client(server)
        with pytest.raises(MinerConnectionError) as caught:
            client.privileged("set.miner.service", "restart")
    assert caught.value.write and caught.value.request_sent
    assert "read its state back" in str(caught.value)
    assert server.connections == 2


def test_oversized_frame() -> None:
    with scripted_v3_miner(Reply(struct.pack("<I", 2_000_000) + b"{")) as server:
        with pytest.raises(MalformedReplyError) as caught:
            make_client(server).read("get.miner.setting")
    assert "announces 2000000 bytes, more than the 1048576 accepted" in str(caught.value)
    with scripted_v3_miner(Reply(v3_reply(0, {"x": "y" * 200}))) as server:
        with pytest.raises(MalformedReplyError):
            make_client(server, max_reply_bytes=100).read("get.miner.setting")


def test_not_json_and_no_code() -> None:
    with scripted_v3_miner(Reply(frame(b"\xff\xfenot json")), Reply(frame({"msg": "ok"})), Reply(frame(b"[1,2]"))) as server:
        client = make_client(server, retries=0)
        for expected in ("not valid JSON", "has no numeric code", "not a JSON object"):
            with pytest.raises(MalformedReplyError) as caught:
                client.read("get.miner.setting")
            assert expected in str(caught.value)
            assert caught.value.port == server.port and caught.value.command == "get.miner.setting"


def test_string_code_is_accepted() -> None:
    with scripted_v3_miner(Reply(frame({"code": "0", "when": 1, "msg": SETTING, "desc": "get.miner.setting"}))) as server:
        assert make_client(server).read("get.miner.setting")["msg"] == SETTING
    assert reply_code({"code": " -4 "}) == -4 and reply_code({"code": True}) is None and reply_code({"code": "x"}) is None


def test_timeout_and_retries() -> None:
    with scripted_v3_miner(Silent(), Silent()) as server:
        client = make_client(server, timeout=0.3, retries=1)
        started = time.monotonic()
        with pytest.raises(MinerTimeoutError) as caught:
            client.read("get.miner.setting")
        elapsed = time.monotonic() - started
    assert 0.6 <= elapsed < 0.6 + SLACK
    assert caught.value.timeout == 0.3 and "did not complete within 0.3 s" in str(caught.value)


def test_heartbeats_do_not_extend_the_deadline() -> None:
    with scripted_v3_miner(Reply(b"\0\0\0\0" * 2, after="hold")) as server:
        started = time.monotonic()
        with pytest.raises(MinerTimeoutError):
            make_client(server, timeout=0.3, retries=0).read("get.miner.setting")
        assert time.monotonic() - started < 0.3 + SLACK


def test_read_retried_after_reset_and_close() -> None:
    with scripted_v3_miner(Reset(), CloseWithoutReply(), Reply(v3_reply(0, SETTING))) as server:
        client = make_client(server)
        assert client.read("get.miner.setting")["code"] == 0
    assert client.connections_opened == 3


def test_refused() -> None:
    client = WhatsminerV3Client("127.0.0.1", closed_port(), timeout=1.0, retries=1, retry_delay=0.0)
    with pytest.raises(MinerConnectionError) as caught:
        client.read("get.device.info")
    assert not caught.value.request_sent and "cannot connect" in str(caught.value)
    assert "TCP port" in str(caught.value) and client.connections_opened == 0


def test_command_names_are_checked() -> None:
    client = WhatsminerV3Client("127.0.0.1", 1)
    for bad in ("summary", "get.", "set.miner.power_mode", "get.a+get.b"):
        with pytest.raises(ValueError):
            client.read(bad)
    with pytest.raises(ValueError):
        client.privileged("get.device.info")
    with pytest.raises(ValueError):
        client.read_status("summary")
    with pytest.raises(ValueError):
        client.read_status(["devs"])
    with pytest.raises(ValueError):
        WhatsminerV3Client("127.0.0.1", account="root")


# --- reply codes ---------------------------------------------------------------------------

@pytest.mark.parametrize("code, error_type, text", [
    (-2, UnsupportedCommandError, "does not support this command or one of its parameter values"),
    (-3, CommandRejectedError, "required parameter is missing"),
    (-4, WriteApiDisabledError, "refuses writes from the API 3 account given in api3_account"),
    (-1, CommandRejectedError, "rejected the command"),
    (-9, CommandRejectedError, "rejected the command"),
])
def test_read_error_codes(code: int, error_type: type, text: str) -> None:
    with scripted_v3_miner(Reply(v3_reply(code, "some message", "get.system.setting"))) as server:
        with pytest.raises(error_type) as caught:
            make_client(server).read("get.system.setting")
    error = caught.value
    assert error.__class__ is error_type  # exactly this class, not a subclass
    assert (error.code, error.miner_message, error.command, error.port) == (code, "some message", "get.system.setting", server.port)
    assert text in str(error) and "(miner replied code" in str(error)


def test_no_permission_advice() -> None:
    with scripted_v3_miner(salt_reply(), Reply(v3_reply(-4, "no permission", "set.miner.service"))) as server:
        with pytest.raises(WriteApiDisabledError) as caught:
            make_client(server).privileged("set.miner.service", "stop")
    assert API_SWITCH_ADVICE in str(caught.value)
    assert "WhatsMinerTool" in str(caught.value)


def test_status_minus_one_is_btminer_restarting_and_retried() -> None:
    down = Reply(v3_reply(-1, "btminer is not running", "get.miner.status"))
    with scripted_v3_miner(down, Reply(v3_reply(0, {"summary": {"elapsed": 1}}, "get.miner.status"))) as server:
        assert make_client(server).read_status(["summary"])["msg"]["summary"]["elapsed"] == 1
    with scripted_v3_miner(down, down) as server:
        with pytest.raises(MinerRestartingError) as caught:
            make_client(server, retries=1).read_status(["summary"])
    assert caught.value.code == -1 and caught.value.miner_message == "btminer is not running"
    assert "btminer" in str(caught.value) and "(2 attempts)" in str(caught.value)


# --- signing -------------------------------------------------------------------------------

def test_signed_write() -> None:
    with scripted_v3_miner(salt_reply(), Reply(v3_reply(0, "ok", "set.miner.power_mode")),
                           Reply(v3_reply(0, "ok", "set.system.reboot"))) as server:
        client = make_client(server)
        before = int(time.time())
        assert client.privileged("set.miner.power_mode", "low")["msg"] == "ok"
        client.privileged("set.system.reboot")
        after = int(time.time())
    assert request_of(server.requests[0]) == {"cmd": "get.device.info", "param": "salt"}
    request = request_of(server.requests[1])
    assert list(request) == ["cmd", "param", "ts", "token", "account"]
    assert (request["cmd"], request["param"], request["account"]) == ("set.miner.power_mode", "low", "super")
    assert before <= request["ts"] <= after
    assert request["token"] == expected_token("set.miner.power_mode", "super", SALT, request["ts"])
    reboot = request_of(server.requests[2])
    assert "param" not in reboot and reboot["token"] == expected_token("set.system.reboot", "super", SALT, reboot["ts"])
    assert client.tokens_requested == 1  # the salt is fetched once
    assert client.commands_sent == ["get.device.info", "set.miner.power_mode", "set.system.reboot"]


def test_encrypted_pools_and_object_params() -> None:
    pools = [{"pool": "stratum+tcp://a.example:3333", "worker": "w.1", "passwd": "pool-Secret-77"}]
    with scripted_v3_miner(salt_reply(), Reply(v3_reply(0, "ok")), Reply(v3_reply(0, "ok")), Reply(v3_reply(0, "ok"))) as server:
        client = make_client(server, account="user1", password="pw1")
        client.privileged("set.miner.pools", pools)
        client.privileged("set.system.hostname", {"hostname": "rig-1"})
        client.privileged("set.miner.power_limit", 3000)
    request = request_of(server.requests[1])
    assert request["account"] == "user1"
    assert b"pool-Secret-77" not in server.requests[1]
    key = command_key("set.miner.pools", "pw1", SALT, request["ts"])
    assert decrypt_param(key, request["param"]) == pools
    assert request_of(server.requests[2])["param"] == '{"hostname": "rig-1"}'
    assert request_of(server.requests[3])["param"] == 3000


def test_missing_password() -> None:
    client = WhatsminerV3Client("127.0.0.1", closed_port())
    with pytest.raises(AuthenticationError) as caught:
        client.privileged("set.miner.service", "stop")
    assert "no password was given for the API 3 account in api3_account" in str(caught.value)
    assert client.connections_opened == 0


def test_wrong_password_fetches_the_salt_again_once() -> None:
    with scripted_v3_miner(salt_reply(), Reply(v3_reply(-1, "invalid token", "set.miner.service")), salt_reply()) as server:
        client = make_client(server, password="wrong")
        with pytest.raises(AuthenticationError) as caught:
            client.privileged("set.miner.service", "stop")
    error = caught.value
    assert error.code == -1 and error.miner_message == "invalid token"
    assert "password given for the API 3 account in api3_account is wrong" in str(error) and "super" not in str(error)
    assert "the password of the account in api3_account" in str(error)  # the API 3 advice of AuthenticationError
    assert "admin password given" not in str(error)
    assert client.tokens_requested == 2 and server.connections == 3  # salt unchanged: not resent


def test_changed_salt_is_retried_once() -> None:
    with scripted_v3_miner(salt_reply("oldSalt1"), Reply(v3_reply(-1, "invalid token")), salt_reply("newSalt2"),
                           Reply(v3_reply(0, "ok", "set.miner.service"))) as server:
        client = make_client(server)
        assert client.privileged("set.miner.service", "stop")["code"] == 0
    retried = request_of(server.requests[3])
    assert retried["token"] == expected_token("set.miner.service", "super", "newSalt2", retried["ts"])
    assert client.salt() == "newSalt2" and client.tokens_requested == 2


def test_write_not_resent_after_reply_error() -> None:
    with scripted_v3_miner(salt_reply(), Reply(v3_reply(-2, "invalid param: power limit 5000 W is above the maximum"))) as server:
        with pytest.raises(CommandRejectedError) as caught:
            make_client(server).privileged("set.miner.power_limit", 5000)
    assert "5000 W" in str(caught.value) and server.connections == 2
    assert "refused a parameter value" in str(caught.value) and not isinstance(caught.value, UnsupportedCommandError)


def test_write_retried_only_when_nothing_was_sent(count_connects: Any) -> None:
    with scripted_v3_miner(salt_reply(), Reply(v3_reply(0, "ok"))) as server:
        counter = count_connects(failures={2: ConnectionRefusedError()})
        client = make_client(server)
        assert client.privileged("set.miner.service", "start")["code"] == 0
    assert counter.calls == 3 and client.connections_opened == 2


def test_expect_reply_false() -> None:
    with scripted_v3_miner(salt_reply(), CloseWithoutReply(), Silent()) as server:
        client = make_client(server, no_reply_wait=0.2)
        assert client.privileged("set.system.reboot", expect_reply=False) is None
        started = time.monotonic()
        assert client.privileged("set.system.reboot", expect_reply=False) is None
        assert time.monotonic() - started < 0.2 + SLACK


def test_salt_reply_without_salt() -> None:
    with scripted_v3_miner(Reply(v3_reply(0, {"network": {}}))) as server:
        with pytest.raises(MalformedReplyError) as caught:
            make_client(server).privileged("set.miner.service", "stop")
    assert "has no salt" in str(caught.value)


def test_errors_never_show_secrets() -> None:
    pools = [{"pool": "stratum+tcp://a.example:3333", "worker": "w", "passwd": "pool-Secret-77"}]
    with scripted_v3_miner(salt_reply(), Reply(v3_reply(-2, "invalid param")), salt_reply(), Reset()) as server:
        client = make_client(server, password="Top-Secret-1", retries=0)
        messages = []
        for _attempt in range(2):
            with pytest.raises(Exception) as caught:
                client.privileged("set.miner.pools", pools)
            messages.append(str(caught.value) + repr(caught.value))
            client._salt = None  # pylint: disable=protected-access
    assert "refused a parameter value" in messages[0] and "read its state back" in messages[1]
    for text in messages:
        assert "Top-Secret-1" not in text and "pool-Secret-77" not in text
    assert "Top-Secret-1" not in repr(client)


def test_cut_json_inside_a_whole_frame_is_refused() -> None:
    """The frame is complete but its JSON ends early: refused, never salvaged."""
    with scripted_v3_miner(Reply(frame(b'{"code":0,"when":1,"msg":{"pools":[{"id":1,"url":"a"},{"id":2,'))) as server:
        with pytest.raises(MalformedReplyError) as caught:
            make_client(server, retries=0).read_status(["pools"])
    assert "cut off" in str(caught.value)


def test_repairable_json_is_accepted() -> None:
    """Firmware JSON quirks (a trailing comma, a trailing NUL) are repaired as on API 2."""
    with scripted_v3_miner(Reply(frame(b'{"code":0,"when":1,"msg":{"salt":"abc",},"desc":"get.device.info"}\x00'))) as server:
        assert make_client(server).read("get.device.info", "salt")["msg"] == {"salt": "abc"}


def test_invalid_host_name() -> None:
    client = WhatsminerV3Client("a" * 64 + ".example", 4433, retries=2, retry_delay=0.0)
    with pytest.raises(MinerConnectionError) as caught:
        client.read("get.device.info")
    assert not caught.value.request_sent and client.connections_opened == 0


def test_rejection_reported_when_the_salt_cannot_be_read_again() -> None:
    with scripted_v3_miner(salt_reply(), Reply(v3_reply(-1, "invalid token", "set.miner.service")), Reset()) as server:
        client = make_client(server, retries=0)
        with pytest.raises(AuthenticationError) as caught:
            client.privileged("set.miner.service", "stop")
    assert caught.value.command == "set.miner.service" and client.salt() == SALT
