"""Privileged API: token issue, derivation, encryption, limits and failure codes."""

from __future__ import annotations

import base64
import json
from typing import Any, Callable

import pytest
from Crypto.Cipher import AES
from sim_client import PrivilegedClient, exchange, request

from whatsminer_sim import Fleet, wait_for
from whatsminer_sim.auth import aes_key, decrypt_request, derive_sign, encrypt_text, password_key, password_salt, strip_padding

GOLDEN_DATA = "YJracrWpLn2XvqWuNiNqyg70K64pfivIJhwE32DXNCeyv4iYIDyJ6mJuwbGpytIy+1ActNjzqXUcgUv7vvRhuBWk2C0ndWye6W00W/WyO/k="


def test_golden_vector() -> None:
    """Reference section 3.6: admin / BQ5hoXV9 / 5039 / P5NTAcEp."""
    assert password_salt("admin") == "BQ5hoXV9"
    key = password_key("admin")
    assert key == "RxmaDUO33TS7O26yeMHZ81"
    assert derive_sign(key, "5039", "P5NTAcEp") == "W7vZynrBZBwIIjR5dvDJb0"
    assert aes_key(key).hex() == "199e0a202039bb7b558db7a54697dca29cb278055b7e659a127fb844d5a2fbf6"
    command = decrypt_request(aes_key(key), GOLDEN_DATA)
    assert command == {"cmd": "power_off", "respbefore": "true", "token": "W7vZynrBZBwIIjR5dvDJb0"}


def test_padding_variants_are_stripped() -> None:
    """Zero padding and valid PKCS#7 padding are both removed; other bytes are kept."""
    assert strip_padding(b'{"a":1}' + b"\0" * 9) == b'{"a":1}'
    assert strip_padding(b'{"a":1}' + bytes([9]) * 9) == b'{"a":1}'
    assert strip_padding(b'{"a":1}\x10' + bytes([2])) == b'{"a":1}\x10\x02'


def test_salt_is_constant_per_password() -> None:
    """The salt belongs to the stored password hash: same password, same salt."""
    assert password_salt("s3cret") == password_salt("s3cret")
    assert password_salt("s3cret") != password_salt("other")
    assert len(password_salt("s3cret")) == 8


def test_get_token_reply_shape(fleet3: Fleet) -> None:
    """Code 134 with time (last 4 digits of When), salt, newsalt, profile Description."""
    for miner in fleet3.miners:
        reply = request(miner, {"command": "get_token"})
        assert list(reply) == ["STATUS", "When", "Code", "Msg", "Description"]
        assert reply["Code"] == 134 and reply["STATUS"] == "S"
        msg = reply["Msg"]
        assert list(msg) == ["time", "salt", "newsalt"]
        assert msg["time"] == str(reply["When"])[-4:]
        assert msg["salt"] == "BQ5hoXV9"
        assert len(msg["newsalt"]) == 8
    assert fleet3.miners[0].counters.tokens_issued == 1


def test_token_is_reused_for_several_commands(fleet3: Fleet) -> None:
    """One token serves many commands until it expires."""
    miner = fleet3.miners[1]
    client = PrivilegedClient(miner)
    for enable in (True, False, True):
        reply = client.call("enable_web_pools" if enable else "disable_web_pools")
        assert reply == {"STATUS": "S", "When": reply["When"], "Code": 131, "Msg": "API command OK", "Description": ""}
    assert miner.counters.tokens_issued == 1
    assert miner.state.web_pools is True


@pytest.mark.parametrize("padding", ["zero", "pkcs7"])
@pytest.mark.parametrize("key_name", ["cmd", "command"])
def test_padding_and_command_key_variants(start_fleet: Callable[..., Fleet], padding: str, key_name: str) -> None:
    """pyasic (zero padding, cmd), Tether (PKCS#7) and asic-rs (command) all work."""
    miner = start_fleet(profiles="2.0.x").miners[0]
    client = PrivilegedClient(miner, padding=padding, key_name=key_name)
    assert client.call("set_led", param="auto")["Code"] == 131
    assert client.call("set_led", color="red", period=200, duration=100, start=0)["Code"] == 131
    assert miner.state.led == "manual"
    assert miner.state.led_settings == {"color": "red", "period": 200, "duration": 100, "start": 0}


def test_reply_is_encrypted_with_zero_padding(fleet3: Fleet) -> None:
    """Success replies are {"enc": base64(AES-256-ECB(zero-padded JSON))}."""
    miner = fleet3.miners[2]
    client = PrivilegedClient(miner)
    outer = json.loads(client.raw("power_on"))
    assert list(outer) == ["enc"]
    plain = AES.new(client.aeskey, AES.MODE_ECB).decrypt(base64.b64decode(outer["enc"]))
    assert len(plain) % 16 == 0
    inner = json.loads(plain.rstrip(b"\0"))
    assert inner["Code"] == 131 and inner["Msg"] == "API command OK"


def test_token_expiry(start_fleet: Callable[..., Fleet]) -> None:
    """Tokens expire after token_expiry_s: then 135 "check token err" (plaintext by default)."""
    miner = start_fleet(config={"token_expiry_s": 0.3}).miners[0]
    client = PrivilegedClient(miner)
    assert client.call("power_on")["Code"] == 131
    expired = wait_for(lambda: (reply := client.call("power_on"))["Code"] == 135 and reply, timeout=3.0)
    assert expired["STATUS"] == "E" and expired["Msg"] == "check token err"
    assert "enc" not in expired


def test_unknown_token_is_135(fleet3: Fleet) -> None:
    """A sign that was never issued is refused."""
    client = PrivilegedClient(fleet3.miners[1])
    client.get_token()
    client.sign = "AAAAAAAAAAAAAAAAAAAAAA"
    reply = client.call("power_on")
    assert (reply["Code"], reply["Msg"], reply["STATUS"]) == (135, "check token err", "E")


def test_token_errors_can_be_encrypted(start_fleet: Callable[..., Fleet]) -> None:
    """encrypt_token_errors: the 135 reply is encrypted like Tether's mock does."""
    miner = start_fleet(config={"encrypt_token_errors": True}).miners[0]
    client = PrivilegedClient(miner)
    client.get_token()
    client.sign = "AAAAAAAAAAAAAAAAAAAAAA"
    outer = json.loads(client.raw("power_on"))
    assert "enc" in outer
    assert client.decrypt(outer)["Code"] == 135


def test_per_ip_token_limit(start_fleet: Callable[..., Fleet]) -> None:
    """More than tokens_per_ip unexpired tokens from one IP -> 136 "over max connect", no Description."""
    miner = start_fleet(config={"tokens_per_ip": 3}).miners[0]
    for _attempt in range(3):
        assert request(miner, {"cmd": "get_token"})["Code"] == 134
    refused = request(miner, {"cmd": "get_token"})
    assert list(refused) == ["STATUS", "When", "Code", "Msg"]
    assert (refused["STATUS"], refused["Code"], refused["Msg"]) == ("E", 136, "over max connect")
    assert request(miner, {"cmd": "get_token"}, source_ip="127.0.0.2")["Code"] == 134


def test_client_ip_limit(start_fleet: Callable[..., Fleet]) -> None:
    """More than max_token_ips client IPs holding tokens -> 136 for a new IP."""
    miner = start_fleet(config={"max_token_ips": 2}).miners[0]
    assert request(miner, {"cmd": "get_token"}, source_ip="127.0.0.2")["Code"] == 134
    assert request(miner, {"cmd": "get_token"}, source_ip="127.0.0.3")["Code"] == 134
    assert request(miner, {"cmd": "get_token"}, source_ip="127.0.0.4")["Code"] == 136
    assert request(miner, {"cmd": "get_token"}, source_ip="127.0.0.2")["Code"] == 134


def test_wrong_password_is_23_plaintext(fleet3: Fleet) -> None:
    """Encrypting with the wrong password cannot decrypt to JSON: plaintext 23."""
    reply = PrivilegedClient(fleet3.miners[1], password="wrong").call("power_off", respbefore="true")
    assert reply == {"STATUS": "E", "When": reply["When"], "Code": 23, "Msg": "json cmd err", "Description": ""}
    assert fleet3.miners[1].state.mining is True


def test_bad_base64_is_137(fleet3: Fleet) -> None:
    """Undecodable base64 -> 137."""
    miner = fleet3.miners[2]
    reply = json.loads(exchange(miner.host, miner.port, b'{"enc": 1, "data": "not*base64!"}'))
    assert (reply["STATUS"], reply["Code"]) == ("E", 137)


def test_write_api_locked(start_fleet: Callable[..., Fleet]) -> None:
    """write_api_enabled False: "can't access write cmd", code configurable (default 45)."""
    fleet = start_fleet(count=2, write_api_enabled=False)
    reply = PrivilegedClient(fleet.miners[0]).call("power_off", respbefore="true")
    assert (reply["STATUS"], reply["Code"], reply["Msg"]) == ("E", 45, "can't access write cmd")
    fleet.miners[1].configure(write_locked_code=132)
    assert PrivilegedClient(fleet.miners[1]).call("power_on")["Code"] == 132
    assert all(miner.state.mining for miner in fleet.miners)


def test_plaintext_write_is_refused(fleet3: Fleet) -> None:
    """A write command sent without encryption gets "can't access write cmd"."""
    reply = request(fleet3.miners[1], {"cmd": "power_off", "respbefore": "true"})
    assert (reply["Code"], reply["Msg"]) == (45, "can't access write cmd")
    assert fleet3.miners[1].state.mining is True


def test_update_pwd_requires_new_token(fleet3: Fleet) -> None:
    """After update_pwd the old key no longer decrypts (23); the new password works."""
    miner = fleet3.miners[1]
    client = PrivilegedClient(miner)
    assert client.call("update_pwd", old="admin", new="n3w_pw")["Code"] == 131
    assert miner.state.admin_password == "n3w_pw"
    assert client.call("power_on")["Code"] == 23
    fresh = PrivilegedClient(miner, password="n3w_pw")
    assert fresh.get_token()["Msg"]["salt"] != "BQ5hoXV9"
    assert fresh.call("power_on")["Code"] == 131
    assert fresh.call("update_pwd", old="wrong", new="x")["Code"] == 132
    assert fresh.call("update_pwd", old="n3w_pw", new="much-too-long")["Code"] == 132


def test_int_and_string_parameters_are_interchangeable(fleet3: Fleet) -> None:
    """adjust_power_limit and set_target_freq take "3000" or 3000."""
    miner = fleet3.miners[2]
    client = PrivilegedClient(miner)
    assert client.call("adjust_power_limit", power_limit=3000)["Code"] == 131
    assert miner.state.power_limit_w == 3000
    assert client.call("adjust_power_limit", power_limit="3100")["Code"] == 131
    assert miner.state.power_limit_w == 3100
    assert client.call("set_target_freq", percent="-10")["Code"] == 131
    assert miner.state.target_freq_pct == -10


def test_encrypted_reads_are_answered_encrypted(fleet3: Fleet) -> None:
    """A read sent encrypted comes back encrypted."""
    client = PrivilegedClient(fleet3.miners[1])
    outer = json.loads(client.raw("get_version"))
    assert "enc" in outer
    assert client.decrypt(outer)["Msg"]["api_ver"] == "2.0.5"


def test_encrypt_helper_round_trip() -> None:
    """encrypt_text output decrypts with zero padding stripped."""
    key = aes_key("RxmaDUO33TS7O26yeMHZ81")
    sealed = encrypt_text(key, '{"Code":131}')
    plain = AES.new(key, AES.MODE_ECB).decrypt(base64.b64decode(sealed))
    assert plain.rstrip(b"\0") == b'{"Code":131}'


def describe_reply(reply: dict[str, Any]) -> tuple[Any, Any]:
    """(Code, Msg) of a reply, for compact asserts."""
    return reply.get("Code"), reply.get("Msg")


def test_unknown_encrypted_command_is_14(fleet3: Fleet) -> None:
    """Unknown commands after decryption -> 14 "invalid cmd", encrypted."""
    client = PrivilegedClient(fleet3.miners[1])
    outer = json.loads(client.raw("no_such_command"))
    assert "enc" in outer
    assert describe_reply(client.decrypt(outer)) == (14, "invalid cmd")
