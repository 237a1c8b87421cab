"""API 3 of the ``3.x`` profile: framing, token auth, parameter encryption and error codes."""

from __future__ import annotations

import base64
import json
import socket
import struct
import time
from typing import Any, Callable

import pytest
from sim_client_v3 import WriterV3, connect, digest, encrypt, frame, get, receive_frame, request, token

from whatsminer_sim import Fleet, wait_for
from whatsminer_sim.v3_protocol import MAX_CLIENTS, MAX_FRAME_BYTES, decode_object_param, decrypt_param, token_digest, token_text

# Fixed vectors, computed independently (hashlib, pycryptodome, and ``openssl dgst``/``openssl enc``):
# salt of the real M60S capture, its "when" as ts, the factory password "super".
VECTOR_SALT = "uhCiDyVj"
VECTOR_TS = 1773869570
VECTOR_POOLS_TEXT = '[{"pool": "stratum+tcp://pool.example:3333", "worker": "farm.rig1", "passwd": "x"}]'
VECTOR_POOLS_PKCS7 = (
    "ovncPAzk5QTEbc6f7YWOOVV9OLexVLP09pRIuz1zQk5Gql0n2wW/jCpUtVxmEM5sfWCTNnM3ChM/90wxtoC0YqUbNFGwNPC1Xjug5PM1sO8mVkxZoLHMJd0yQNKq/uVp"
)
VECTOR_POOLS_ZERO = (
    "ovncPAzk5QTEbc6f7YWOOVV9OLexVLP09pRIuz1zQk5Gql0n2wW/jCpUtVxmEM5sfWCTNnM3ChM/90wxtoC0YqUbNFGwNPC1Xjug5PM1sO+Ni7Zk0Bf0hIfJnToLXWQ0"
)


@pytest.fixture(name="v3_miner")
def fixture_v3_miner(start_fleet: Callable[..., Fleet]) -> Any:
    """One 3.x miner with the factory API 3 password."""
    return start_fleet(profiles="3.x", seed=5).miners[0]


# --- derivations -----------------------------------------------------------------------------

def test_token_vectors() -> None:
    """token = base64(sha256(cmd + password + salt + ts))[:8]; literal values and the test client agree."""
    key = token_digest("set.miner.power_mode", "super", VECTOR_SALT, VECTOR_TS)
    assert key.hex() == "fbe17e55e00095a91e983495424f0d8817961d38f7f202f2ed6fe80c53a58209"
    assert token_text(key) == "++F+VeAA"
    assert token_text(token_digest("set.system.reboot", "super", VECTOR_SALT, VECTOR_TS)) == "ZIxWqUqH"
    assert token_text(token_digest("set.miner.pools", "super", VECTOR_SALT, str(VECTOR_TS))) == "aNSg+F95"
    assert token("set.miner.pools", "super", VECTOR_SALT, VECTOR_TS) == "aNSg+F95"


@pytest.mark.parametrize("ciphertext", [VECTOR_POOLS_PKCS7, VECTOR_POOLS_ZERO])
def test_param_decryption_vectors(ciphertext: str) -> None:
    """Both paddings of the literal vector decrypt to the same pool list."""
    key = token_digest("set.miner.pools", "super", VECTOR_SALT, VECTOR_TS)
    assert key.hex() == "68d4a0f85f79075e095ec2ecb3fffc2bc012b6f47ed468af5a22b87ff12165b4"
    assert decrypt_param(key, ciphertext) == json.loads(VECTOR_POOLS_TEXT)
    assert encrypt(key, VECTOR_POOLS_TEXT, "pkcs7") == VECTOR_POOLS_PKCS7
    assert encrypt(key, VECTOR_POOLS_TEXT, "zero") == VECTOR_POOLS_ZERO


def test_param_decryption_failures() -> None:
    """Not base64, not whole blocks, wrong key: ValueError."""
    key = token_digest("set.miner.pools", "super", VECTOR_SALT, VECTOR_TS)
    wrong = token_digest("set.miner.pools", "other", VECTOR_SALT, VECTOR_TS)
    for bad in ("not base64!", base64.b64encode(b"short").decode(), [1, 2]):
        with pytest.raises(ValueError):
            decrypt_param(key, bad)
    with pytest.raises(ValueError):
        decrypt_param(wrong, VECTOR_POOLS_PKCS7)


def test_object_params_as_json_strings() -> None:
    """Objects and lists may come JSON-encoded; plain strings stay strings."""
    assert decode_object_param('{"hostname": "rig"}') == {"hostname": "rig"}
    assert decode_object_param('[{"color": "red"}]') == [{"color": "red"}]
    assert decode_object_param("auto") == "auto"
    assert decode_object_param({"a": 1}) == {"a": 1}
    assert decode_object_param("{broken") == "{broken"


# --- framing -------------------------------------------------------------------------------

def test_reply_frame_and_envelope(v3_miner: Any) -> None:
    """A little-endian length prefix, then compact JSON with code, when, msg, desc in that order."""
    with connect(v3_miner) as sock:
        sock.sendall(frame({"cmd": "get.device.info", "param": "salt"}))
        (length,) = struct.unpack("<I", sock.recv(4))
        body = b""
        while len(body) < length:
            body += sock.recv(length - len(body))
    reply = json.loads(body)
    assert list(reply) == ["code", "when", "msg", "desc"]
    assert reply["code"] == 0 and reply["desc"] == "get.device.info"
    assert abs(reply["when"] - time.time()) < 5
    assert reply["msg"] == {"salt": v3_miner.state.v3_salt}
    assert b" " not in body


def test_several_frames_and_heartbeats_on_one_connection(v3_miner: Any) -> None:
    """The connection stays open between requests; zero-length heartbeats are ignored."""
    with connect(v3_miner) as sock:
        sock.sendall(b"\0\0\0\0")
        sock.sendall(frame({"cmd": "get.miner.setting"}))
        assert receive_frame(sock)["desc"] == "get.miner.setting"
        sock.sendall(b"\0\0\0\0" + frame({"cmd": "get.system.setting"}) + frame({"cmd": "get.device.info", "param": "system"}))
        assert receive_frame(sock)["desc"] == "get.system.setting"
        assert receive_frame(sock)["msg"]["system"]["fwversion"] == "20250214.16.1"
    assert v3_miner.counters.v3_connections == 1
    assert v3_miner.counters.v3_requests == 3


def test_request_split_across_segments(v3_miner: Any) -> None:
    """A frame may arrive in pieces (header split too)."""
    data = frame({"cmd": "get.device.info", "param": "network"})
    with connect(v3_miner) as sock:
        for piece in (data[:2], data[2:7], data[7:]):
            sock.sendall(piece)
            time.sleep(0.02)
        assert receive_frame(sock)["msg"]["network"]["mac"] == v3_miner.state.mac


def test_invalid_json_and_bad_requests(v3_miner: Any) -> None:
    """Not JSON: -1; no cmd or an unknown cmd: -2 ``invalid command``; the connection survives."""
    with connect(v3_miner) as sock:
        sock.sendall(frame(b"{not json"))
        reply = receive_frame(sock)
        assert (reply["code"], reply["msg"]) == (-1, "invalid json")
        sock.sendall(frame({"param": "x"}))
        reply = receive_frame(sock)
        assert (reply["code"], reply["msg"]) == (-2, "invalid command")
        sock.sendall(frame({"cmd": "get.nothing"}))
        reply = receive_frame(sock)
        assert (reply["code"], reply["msg"], reply["desc"]) == (-2, "invalid command", "get.nothing")
        sock.sendall(frame([1, 2]))
        assert receive_frame(sock)["code"] == -1


def test_oversized_frame_is_refused_and_closed(v3_miner: Any) -> None:
    """A length above the cap: one error frame, then the miner closes."""
    with connect(v3_miner) as sock:
        sock.sendall(struct.pack("<I", MAX_FRAME_BYTES + 1))
        reply = receive_frame(sock)
        assert reply["code"] == -1 and reply["msg"] == "frame too large"
        assert sock.recv(1) == b""


def test_idle_connection_is_closed(start_fleet: Callable[..., Fleet]) -> None:
    """No complete frame within idle_timeout_s: closed without a reply (also mid-frame)."""
    miner = start_fleet(profiles="3.x", config={"idle_timeout_s": 0.3}).miners[0]
    for data in (b"", struct.pack("<I", 50) + b'{"cmd"'):
        with connect(miner) as sock:
            sock.sendall(data)
            started = time.monotonic()
            assert sock.recv(10) == b""
            assert time.monotonic() - started < 3


def test_client_limit(v3_miner: Any) -> None:
    """Beyond the documented 10 clients, new connections are closed at once."""
    sockets = [connect(v3_miner) for _index in range(MAX_CLIENTS)]
    try:
        for sock in sockets:  # make sure the miner has taken every one
            sock.sendall(frame({"cmd": "get.miner.setting"}))
            assert receive_frame(sock)["code"] == 0
        with connect(v3_miner) as extra:
            assert extra.recv(16) == b""  # closed by the miner without a word
    finally:
        for sock in sockets:
            sock.close()
    wait_for(lambda: get(v3_miner, "get.miner.setting")["code"] == 0)


def test_api2_profiles_have_no_api3_listener(start_fleet: Callable[..., Fleet]) -> None:
    """API 2 firmware refuses the API 3 port at once (nothing listens)."""
    fleet = start_fleet(count=2, profiles=["2024", "3.x"], address_mode="ips", port=0, v3_port=0)
    api2, api3 = fleet.miners
    assert api2.api3_port is None and not api2.v3_listening
    assert api3.api3_port == api3.v3_port and api3.v3_listening
    started = time.monotonic()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((api2.host, api3.v3_port), timeout=5)
    assert time.monotonic() - started < 1


# --- auth ----------------------------------------------------------------------------------

def test_salt_is_stable_and_seeded(start_fleet: Callable[..., Fleet]) -> None:
    """get.device.info salt: 8 characters, the same on every request, different per miner."""
    fleet = start_fleet(count=2, profiles="3.x", seed=7)
    salts = [get(miner, "get.device.info", "salt")["msg"]["salt"] for miner in fleet.miners]
    assert all(len(salt) == 8 for salt in salts) and salts[0] != salts[1]
    assert get(fleet.miners[0], "get.device.info")["msg"]["salt"] == salts[0]


def test_signed_write_with_factory_password(v3_miner: Any) -> None:
    """super/super with a correct token: ok; ts may also be a decimal string."""
    writer = WriterV3(v3_miner)
    reply = writer.call("set.miner.service", "stop")
    assert reply["code"] == 0 and reply["msg"] == "ok" and reply["desc"] == "set.miner.service"
    body = writer.payload("set.miner.service", "start")
    body["ts"] = str(body["ts"])
    assert request(v3_miner, body)["code"] == 0
    assert v3_miner.state.mining


@pytest.mark.parametrize("change, code", [
    ({"token": "AAAAAAAA"}, -1),
    ({"ts": 12345}, -1),               # the token was made for another ts
    ({"account": "root"}, -1),
    ({"account": None}, -1),
    ({"token": None}, -1),
    ({"ts": True}, -1),
])
def test_bad_tokens(v3_miner: Any, change: dict[str, Any], code: int) -> None:
    """A token that does not match, or missing auth fields: -1 and nothing changes."""
    body = WriterV3(v3_miner).payload("set.miner.service", "stop")
    body.update(change)
    reply = request(v3_miner, body)
    assert (reply["code"], reply["msg"]) == (code, "invalid token")
    assert v3_miner.state.mining


def test_wrong_password(v3_miner: Any) -> None:
    """A token made with another password is refused with -1."""
    reply = WriterV3(v3_miner, password="wrong").call("set.miner.power_mode", "low")
    assert reply["code"] == -1
    assert v3_miner.state.power_mode == "normal"


def test_custom_super_password(start_fleet: Callable[..., Fleet]) -> None:
    """Fleet.start(v3_password=...) sets the super password; the factory one stops working."""
    miner = start_fleet(profiles="3.x", v3_password="Farm_2026").miners[0]
    assert WriterV3(miner).call("set.miner.power_mode", "low")["code"] == -1
    assert WriterV3(miner, password="Farm_2026").call("set.miner.power_mode", "low")["code"] == 0


def test_no_permission(v3_miner: Any) -> None:
    """API switch off, or an account with permission 0: -4 ``no permission`` (after a valid token)."""
    reply = WriterV3(v3_miner, password="user1", account="user1").call("set.miner.service", "stop")
    assert (reply["code"], reply["msg"]) == (-4, "no permission")
    v3_miner.set_state(write_api_enabled=False)
    assert get(v3_miner, "get.device.info", "system")["msg"]["system"]["apiswitch"] == "0"
    reply = WriterV3(v3_miner).call("set.miner.service", "stop")
    assert (reply["code"], reply["msg"]) == (-4, "no permission")
    assert v3_miner.state.mining
    v3_miner.set_state(write_api_enabled=True, v3_permissions={"super": 255, "user1": 255, "user2": 0, "user3": 0})
    assert WriterV3(v3_miner, password="user1", account="user1").call("set.miner.service", "stop")["code"] == 0


def test_reads_need_no_auth(v3_miner: Any) -> None:
    """get.* work without any auth fields, also with param null (pyasic sends it)."""
    assert get(v3_miner, "get.miner.setting")["code"] == 0
    assert request(v3_miner, {"cmd": "get.device.info", "param": None})["msg"]["salt"] == v3_miner.state.v3_salt


# --- encrypted pools -------------------------------------------------------------------------

POOLS = [
    {"pool": "stratum+tcp://new.example.pool:3333", "worker": "farm.rig1", "passwd": "pool-Secret-77"},
    {"pool": "stratum+tcp://backup.example.pool:443", "worker": "farm.rig1b", "passwd": "x"},
]


@pytest.mark.parametrize("padding", ["pkcs7", "zero"])
def test_set_pools_encrypted(v3_miner: Any, padding: str) -> None:
    """The pool list encrypted with the token's digest, either padding; unused slots are cleared."""
    reply = WriterV3(v3_miner).call("set.miner.pools", POOLS, encrypt_param=True, padding=padding)
    assert reply["code"] == 0 and reply["msg"] == "ok"
    pools = v3_miner.state.pools
    assert [(slot.url, slot.user, slot.password) for slot in pools] == [
        ("stratum+tcp://new.example.pool:3333", "farm.rig1", "pool-Secret-77"),
        ("stratum+tcp://backup.example.pool:443", "farm.rig1b", "x"), ("", "", ""),
    ]
    listed = get(v3_miner, "get.miner.status", "pools")["msg"]["pools"]
    assert [(pool["id"], pool["url"], pool["account"]) for pool in listed] == [
        (1, "stratum+tcp://new.example.pool:3333", "farm.rig1"), (2, "stratum+tcp://backup.example.pool:443", "farm.rig1b"),
    ]
    assert "pool-Secret-77" not in json.dumps(listed)
    assert v3_miner.log[-2].encrypted and v3_miner.log[-2].api == 3


def test_set_pools_refusals(v3_miner: Any) -> None:
    """Plaintext list (pyasic's bug): -2; wrong key: -2; missing: -3; bad shape: -2. Nothing changes."""
    before = v3_miner.state.pools
    writer = WriterV3(v3_miner)
    assert writer.call("set.miner.pools", POOLS)["code"] == -2
    assert writer.call("set.miner.pools", json.dumps(POOLS))["code"] == -2
    body = writer.payload("set.miner.pools", POOLS, encrypt_param=True)
    body["param"] = encrypt(digest("set.miner.pools", "other", writer.salt, body["ts"]), json.dumps(POOLS))
    assert request(v3_miner, body)["code"] == -2
    assert writer.call("set.miner.pools")["code"] == -3
    assert writer.call("set.miner.pools", POOLS * 2, encrypt_param=True)["code"] == -2
    assert writer.call("set.miner.pools", {"pool": "x"}, encrypt_param=True)["code"] == -2
    assert v3_miner.state.pools == before


def test_faults_apply_to_api3(v3_miner: Any) -> None:
    """delay / drop / garbage rules scoped to an API 3 command name."""
    v3_miner.add_fault(kind="drop", commands=["get.miner.setting"], remaining=1)
    assert request(v3_miner, {"cmd": "get.miner.setting"}) is None
    v3_miner.add_fault(kind="garbage", commands=["get.miner.setting"], remaining=1)
    with connect(v3_miner) as sock:
        sock.sendall(frame({"cmd": "get.miner.setting"}))
        data = sock.recv(4096)
        assert data.startswith(b"\xff\xfe")
    v3_miner.add_fault(kind="delay", seconds=0.3, commands=["get.miner.setting"], remaining=1)
    started = time.monotonic()
    assert get(v3_miner, "get.miner.setting")["code"] == 0
    assert time.monotonic() - started >= 0.3
