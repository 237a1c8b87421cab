# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Privileged (encrypted) commands against a scripted miner that computes real encrypted replies."""

from __future__ import annotations

import json
import time

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import WhatsminerClient
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    AuthenticationError,
    CommandRejectedError,
    MalformedReplyError,
    MinerConnectionError,
    MinerRestartingError,
    MinerTimeoutError,
    MissingLibraryError,
    TokenLimitError,
    UnsupportedCommandError,
    WhatsminerError,
    WriteApiDisabledError,
)
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_miner import (
    CloseWithoutReply,
    MinerCrypto,
    Reply,
    Reset,
    Silent,
    capture,
    client_of,
    status_reply,
)

PASSWORD = "Hashfarm-2026"
POOL_SECRET = "pool-passwd-xyz"
POOLS = {"pool1": "stratum+tcp://btc.example.pool:3333", "worker1": "farm.w1", "passwd1": POOL_SECRET,
         "pool2": "", "worker2": "", "passwd2": "", "pool3": "", "worker3": "", "passwd3": ""}
OK = {"STATUS": "S", "When": 1700000000, "Code": 131, "Msg": "API command OK", "Description": ""}
TOKEN_REJECTED = status_reply("E", 135, "check token err")
WRITE_LOCKED = status_reply("E", 45, "can't access write cmd")
BTMINER_DOWN = b"Socket connect failed: Connection refused\n"


@pytest.fixture
def crypto() -> MinerCrypto:
    """The miner side of the crypto for PASSWORD."""
    return MinerCrypto(PASSWORD)


def make_client(server, **overrides) -> WhatsminerClient:
    """A client of a scripted miner with the admin password and no backoff."""
    return client_of(WhatsminerClient, server, **{"password": PASSWORD, "no_reply_wait": 0.2, **overrides})


def test_privileged_command_round_trip(scripted_miner, crypto):
    server = scripted_miner(Reply(crypto.token_reply()), Reply(crypto.ok_reply()))
    client = make_client(server)
    assert client.privileged("update_pools", **POOLS) == OK
    server.stop()
    assert server.requests[0] == b'{"cmd": "get_token"}'
    assert crypto.decrypt_request(server.requests[1]) == {"cmd": "update_pools", **POOLS, "token": crypto.issued_signs[0]}
    assert (client.connections_opened, client.tokens_requested) == (2, 1)
    assert client.commands_sent == ["get_token", "update_pools"]


def test_pkcs7_padded_reply_and_doc_token_code_133(scripted_miner, crypto):
    server = scripted_miner(Reply(crypto.token_reply(code=133)), Reply(crypto.ok_reply(padding="pkcs7")))
    assert make_client(server).privileged("power_on") == OK


def test_one_token_is_reused_for_the_clients_lifetime(scripted_miner, crypto):
    server = scripted_miner(Reply(crypto.token_reply()), Reply(crypto.ok_reply()), Reply(crypto.ok_reply()), Reply(crypto.ok_reply()))
    client = make_client(server)
    client.privileged("update_pools", **POOLS)
    client.privileged("set_led", param="auto")
    client.privileged("power_off", respbefore="true")
    server.stop()
    assert client.tokens_requested == 1 and client.connections_opened == 4
    assert [crypto.decrypt_request(raw)["token"] for raw in server.requests[1:]] == [crypto.issued_signs[0]] * 3
    assert crypto.decrypt_request(server.requests[3]) == {"cmd": "power_off", "respbefore": "true", "token": crypto.issued_signs[0]}


@pytest.mark.parametrize("encrypted_135", [False, True])
def test_code_135_gets_one_fresh_token_and_one_resend(scripted_miner, crypto, encrypted_135):
    rejection = crypto.encrypt_reply(json.loads(TOKEN_REJECTED)) if encrypted_135 else TOKEN_REJECTED
    server = scripted_miner(
        Reply(crypto.token_reply(newsalt="aaaaaaaa")), Reply(rejection),
        Reply(crypto.token_reply(newsalt="bbbbbbbb")), Reply(crypto.ok_reply()),
    )
    client = make_client(server)
    assert client.privileged("set_normal_power") == OK
    server.stop()
    assert client.tokens_requested == 2 and client.connections_opened == 4
    assert client.commands_sent == ["get_token", "set_normal_power", "get_token", "set_normal_power"]
    assert crypto.decrypt_request(server.requests[3])["token"] == crypto.issued_signs[1] != crypto.issued_signs[0]


def test_expired_token_of_an_earlier_command_is_renewed(scripted_miner, crypto):
    server = scripted_miner(
        Reply(crypto.token_reply(newsalt="aaaaaaaa")), Reply(crypto.ok_reply()),
        Reply(TOKEN_REJECTED), Reply(crypto.token_reply(newsalt="bbbbbbbb")), Reply(crypto.ok_reply()),
    )
    client = make_client(server)
    client.privileged("power_on")
    assert client.privileged("power_on") == OK
    assert client.tokens_requested == 2


def test_second_135_after_a_fresh_token_is_an_authentication_error(scripted_miner, crypto):
    server = scripted_miner(Reply(crypto.token_reply()), Reply(TOKEN_REJECTED), Reply(crypto.token_reply(newsalt="bbbbbbbb")), Reply(TOKEN_REJECTED))
    client = make_client(server)
    with pytest.raises(AuthenticationError) as info:
        client.privileged("update_pools", **POOLS)
    assert info.value.code == 135 and info.value.command == "update_pools"
    assert "WhatsMinerTool" in str(info.value)
    server.stop()
    assert client.tokens_requested == 2 and server.remaining_actions == 0 and server.unexpected_connections == 0


# ---------------------------------------------------------------------------------------------
# Error replies to an encrypted request (plaintext, as most firmware sends them, or encrypted)


ERROR_CASES = [
    (status_reply("E", 23, "json cmd err"), AuthenticationError, 23, "password given to the module is wrong"),
    (WRITE_LOCKED, WriteApiDisabledError, 45, "Remote Ctrl > Miner API Switch > Enable"),
    (status_reply("E", 132, "can't access write cmd"), WriteApiDisabledError, 132, "change the miner's factory password first"),
    (status_reply("E", 132, "API command ERROR"), CommandRejectedError, 132, "'API command ERROR'"),
    (status_reply("E", 137, "base64 decode error"), CommandRejectedError, 137, "rejected the command"),
    (status_reply("E", 14, "invalid cmd"), UnsupportedCommandError, 14, "does not support"),
    (status_reply("E", 136, "over max connect"), TokenLimitError, 136, "30 minutes"),
]


@pytest.mark.parametrize("encrypt", [False, True])
@pytest.mark.parametrize("reply, error_class, code, text", ERROR_CASES)
def test_error_replies_map_to_typed_errors(scripted_miner, crypto, reply, error_class, code, text, encrypt):
    data = crypto.encrypt_reply(json.loads(reply)) if encrypt else reply
    server = scripted_miner(Reply(crypto.token_reply()), Reply(data))
    client = make_client(server)
    with pytest.raises(error_class) as info:
        client.privileged("adjust_power_limit", power_limit="3000")
    error = info.value
    assert type(error) is error_class  # pylint: disable=unidiomatic-typecheck
    assert (error.code, error.command, error.host, error.port) == (code, "adjust_power_limit", "127.0.0.1", server.port)
    assert error.miner_message == json.loads(reply)["Msg"]
    assert text in str(error) and f"127.0.0.1:{server.port}" in str(error)
    assert client.connections_opened == 2  # never resent


def test_token_limit_on_get_token(scripted_miner):
    server = scripted_miner(Reply(capture("misc-code-index/get_token_error_136_over_max_connect.json")))
    client = make_client(server)
    with pytest.raises(TokenLimitError) as info:
        client.privileged("power_on")
    assert (info.value.code, info.value.command, info.value.miner_message) == (136, "get_token", "over max connect")
    assert "parallel" in str(info.value)
    assert client.connections_opened == 1 and client.tokens_requested == 1


def test_write_api_locked_on_get_token(scripted_miner):
    server = scripted_miner(Reply(status_reply("E", 45, "can't access write cmd")))
    with pytest.raises(WriteApiDisabledError):
        make_client(server).privileged("power_on")


def test_successful_write_reply_code_131(scripted_miner, crypto):
    reply = {"STATUS": "S", "When": 1, "Code": 131, "Msg": {"complete": "false", "msg": "wait for adjust temp"}, "Description": ""}
    server = scripted_miner(Reply(crypto.token_reply()), Reply(crypto.encrypt_reply(reply)))
    assert make_client(server).privileged("pre_power_on", complete="false", msg="wait for adjust temp") == reply


# ---------------------------------------------------------------------------------------------
# Writes are never resent blindly


@pytest.mark.parametrize("action", [Silent(), CloseWithoutReply(), Reset(), Reset(partial=b'{"enc":"AAAA')])
def test_write_is_not_retried_once_sent(scripted_miner, crypto, action):
    server = scripted_miner(Reply(crypto.token_reply()), action, Reply(crypto.ok_reply()))
    client = make_client(server, timeout=0.3, retries=2)
    with pytest.raises(MinerConnectionError) as info:
        client.privileged("update_pools", **POOLS)
    assert info.value.request_sent and "read its state back" in str(info.value)
    assert isinstance(info.value, MinerTimeoutError) == isinstance(action, Silent)
    server.stop()
    assert client.connections_opened == 2 and server.remaining_actions == 1 and server.unexpected_connections == 0


def test_btminer_restarting_reply_to_a_write_is_not_retried(scripted_miner, crypto):
    server = scripted_miner(Reply(crypto.token_reply()), Reply(BTMINER_DOWN), Reply(crypto.ok_reply()))
    client = make_client(server)
    with pytest.raises(MinerRestartingError):
        client.privileged("set_target_freq", percent="-10")
    assert client.connections_opened == 2


def test_write_is_retried_when_its_connection_was_never_established(scripted_miner, crypto, count_connects):
    server = scripted_miner(Reply(crypto.token_reply()), Reply(crypto.ok_reply()))
    counter = count_connects(failures={2: ConnectionRefusedError(111, "Connection refused")})
    client = make_client(server)
    assert client.privileged("power_on") == OK
    assert counter.calls == 3 and client.connections_opened == 2
    assert client.commands_sent == ["get_token", "power_on"]


def test_write_refused_every_time_raises_unsent(scripted_miner, crypto, count_connects):
    server = scripted_miner(Reply(crypto.token_reply()))
    counter = count_connects(fail_from=2, failure=ConnectionRefusedError(111, "Connection refused"))
    client = make_client(server, retries=2)
    with pytest.raises(MinerConnectionError) as info:
        client.privileged("power_on")
    assert not info.value.request_sent and "read its state back" not in str(info.value)
    assert counter.calls == 4 and client.commands_sent == ["get_token"]


# ---------------------------------------------------------------------------------------------
# Commands that restart btminer and may never answer (expect_reply=False)


@pytest.mark.parametrize("action", [Silent(), CloseWithoutReply(), Reset()])
def test_no_reply_is_fine_when_none_is_expected(scripted_miner, crypto, action):
    server = scripted_miner(Reply(crypto.token_reply()), action)
    client = make_client(server, timeout=2.0, no_reply_wait=0.2)
    started = time.monotonic()
    assert client.privileged("set_low_power", expect_reply=False) is None
    assert time.monotonic() - started < 0.2 + 0.7  # the short wait, not the 2 s timeout
    server.stop()
    assert crypto.decrypt_request(server.requests[1]) == {"cmd": "set_low_power", "token": crypto.issued_signs[0]}
    assert client.connections_opened == 2 and server.unexpected_connections == 0


def test_a_reply_is_still_returned_when_none_is_expected(scripted_miner, crypto):
    server = scripted_miner(Reply(crypto.token_reply()), Reply(crypto.ok_reply()))
    assert make_client(server).privileged("reboot", expect_reply=False) == OK


@pytest.mark.parametrize("reply, error_class", [(WRITE_LOCKED, WriteApiDisabledError), (status_reply("E", 23, "json cmd err"), AuthenticationError)])
def test_error_reply_still_raises_when_none_is_expected(scripted_miner, crypto, reply, error_class):
    server = scripted_miner(Reply(crypto.token_reply()), Reply(reply))
    with pytest.raises(error_class):
        make_client(server).privileged("set_high_power", expect_reply=False)


def test_btminer_restarting_still_raises_when_none_is_expected(scripted_miner, crypto):
    server = scripted_miner(Reply(crypto.token_reply()), Reply(BTMINER_DOWN))
    with pytest.raises(MinerRestartingError):
        make_client(server).privileged("set_low_power", expect_reply=False)


def test_unsent_request_still_raises_when_none_is_expected(scripted_miner, crypto, count_connects):
    server = scripted_miner(Reply(crypto.token_reply()))
    count_connects(fail_from=2, failure=ConnectionRefusedError(111, "Connection refused"))
    with pytest.raises(MinerConnectionError) as info:
        make_client(server, retries=1).privileged("set_low_power", expect_reply=False)
    assert not info.value.request_sent


def test_unreachable_miner_still_raises_when_none_is_expected(count_connects):
    count_connects(fail_from=1, failure=ConnectionRefusedError(111, "Connection refused"))
    client = WhatsminerClient("127.0.0.1", 4028, password=PASSWORD, retries=1, retry_delay=0.0)
    with pytest.raises(MinerConnectionError) as info:
        client.privileged("power_off", expect_reply=False, respbefore="false")
    assert info.value.command == "get_token" and client.tokens_requested == 1


def test_135_then_silence_when_none_is_expected(scripted_miner, crypto):
    server = scripted_miner(Reply(crypto.token_reply()), Reply(TOKEN_REJECTED), Reply(crypto.token_reply(newsalt="bbbbbbbb")), Silent())
    client = make_client(server)
    assert client.privileged("power_off", expect_reply=False, respbefore="false") is None
    assert client.tokens_requested == 2


# ---------------------------------------------------------------------------------------------
# Local failures: nothing is sent


def test_no_password_is_an_authentication_error_before_any_connection(scripted_miner):
    server = scripted_miner()
    client = make_client(server, password=None)
    with pytest.raises(AuthenticationError, match="no password was given"):
        client.privileged("power_on")
    assert client.connections_opened == 0


def test_missing_library_is_reported_before_any_connection(scripted_miner, without_aes_library):
    server = scripted_miner()
    client = make_client(server)
    with pytest.raises(MissingLibraryError) as info:
        client.privileged("power_on")
    assert (info.value.library, info.value.host, info.value.port, info.value.command) == ("pycryptodome", "127.0.0.1", server.port, "power_on")
    assert f"127.0.0.1:{server.port}" in str(info.value)
    assert client.connections_opened == 0


@pytest.mark.parametrize(
    "token_reply",
    [
        status_reply("S", 134, {"time": "5039", "salt": "bad$salt", "newsalt": "P5NTAcEp"}),
        status_reply("S", 134, {"time": "5039"}),
        status_reply("S", 134, "ok"),
    ],
)
def test_unusable_token_reply_is_malformed(scripted_miner, token_reply):
    server = scripted_miner(Reply(token_reply))
    with pytest.raises(MalformedReplyError) as info:
        make_client(server).privileged("power_on")
    assert info.value.command == "get_token"


def test_numeric_token_time_is_accepted(scripted_miner, crypto):
    reply = json.loads(crypto.token_reply(token_time="1678185039"))
    reply["Msg"]["time"] = 1678185039
    server = scripted_miner(Reply(json.dumps(reply).encode()), Reply(crypto.ok_reply()))
    assert make_client(server).privileged("power_on") == OK


@pytest.mark.parametrize("enc", ["QUJD", "%%%"])
def test_undecryptable_reply_is_malformed(scripted_miner, crypto, enc):
    server = scripted_miner(Reply(crypto.token_reply()), Reply(json.dumps({"enc": enc}).encode()))
    with pytest.raises(MalformedReplyError) as info:
        make_client(server).privileged("power_on")
    assert info.value.command == "power_on"


# ---------------------------------------------------------------------------------------------
# Secrets never end up in errors


def _error_texts(error: BaseException) -> str:
    """Everything an error would show: message, repr, attributes, and the same for its chain."""
    texts = []
    while error is not None:
        texts += [str(error), repr(error), repr(error.__dict__), repr(error.args)]
        error = error.__cause__ or error.__context__
    return "\n".join(texts)


SECRET_SCENARIOS = [
    lambda crypto: [Reply(crypto.token_reply()), Reply(status_reply("E", 23, "json cmd err"))],
    lambda crypto: [Reply(crypto.token_reply()), Reply(TOKEN_REJECTED), Reply(crypto.token_reply(newsalt="bbbbbbbb")), Reply(TOKEN_REJECTED)],
    lambda crypto: [Reply(crypto.token_reply()), Reply(WRITE_LOCKED)],
    lambda crypto: [Reply(crypto.token_reply()), Reply(crypto.encrypt_reply({"STATUS": "E", "Code": 132, "Msg": "API command ERROR"}))],
    lambda crypto: [Reply(crypto.token_reply()), Silent()],
    lambda crypto: [Reply(crypto.token_reply()), Reset(partial=b'{"enc":"')],
    lambda crypto: [Reply(crypto.token_reply()), Reply(b'{"enc":"QUJD"}')],
    lambda crypto: [Reply(crypto.token_reply()), Reply(crypto.encrypt_reply({"broken": True})[:-3])],
    lambda crypto: [Reply(crypto.token_reply()), Reply(b"\x00garbage")],
]


@pytest.mark.parametrize("scenario", SECRET_SCENARIOS)
def test_secrets_never_appear_in_errors(scripted_miner, crypto, scenario):
    server = scripted_miner(*scenario(crypto))
    client = make_client(server, timeout=0.3)
    with pytest.raises(WhatsminerError) as info:
        client.privileged("update_pools", **POOLS)
    texts = _error_texts(info.value)
    secrets = [PASSWORD, crypto.key, POOL_SECRET, *crypto.issued_signs, crypto.aes_key.hex(), repr(crypto.aes_key)]
    for secret in secrets:
        assert secret not in texts
    assert "update_pools" in texts or "get_token" in texts
