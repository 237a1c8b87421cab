"""Passwords and write locks: update_pwd (API 2), set.user.change_passwd (API 3), the factory-password gate."""

from __future__ import annotations

from typing import Callable

import pytest
from sim_client import PrivilegedClient
from sim_client_v3 import WriterV3

from whatsminer_sim import Fleet, wait_for

CHANGE = "set.user.change_passwd"


def change_v3(writer: WriterV3, old: str, new: str, account: str = "super") -> dict:
    """Send set.user.change_passwd signed by ``writer``; the reply."""
    reply = writer.call(CHANGE, {"account": account, "old": old, "new": new}, encrypt_param=True)
    assert reply is not None
    return reply


@pytest.mark.parametrize("profile", ["1.4.x", "2.0.x", "2024"])
def test_update_pwd_takes_effect_and_needs_a_new_token(start_fleet: Callable[..., Fleet], profile: str) -> None:
    miner = start_fleet(count=1, profiles=profile, password="old_1").miners[0]
    old = PrivilegedClient(miner, password="old_1")
    assert old.call("update_pwd", old="old_1", new="new_2")["Code"] == 131
    assert miner.state.admin_password == "new_2"
    assert len(miner.tokens) == 0
    # The old token and the old password are both gone; the new password gets a new salt.
    assert old.call("get_version")["Code"] in (23, 135)
    new = PrivilegedClient(miner, password="new_2")
    assert new.call("get_version")["STATUS"] == "S"


@pytest.mark.parametrize("bad", ["", "nine_char", "with-dash", "spa ce", "ümlaut"])
def test_update_pwd_rules(start_fleet: Callable[..., Fleet], bad: str) -> None:
    miner = start_fleet(count=1, password="old_1").miners[0]
    reply = PrivilegedClient(miner, password="old_1").call("update_pwd", old="old_1", new=bad)
    assert reply["Code"] in (14, 132)
    assert miner.state.admin_password == "old_1"


@pytest.mark.parametrize(("change", "code", "after"), [("allow", 131, "farm_1"), ("refuse", 45, "admin")])
def test_update_pwd_of_the_factory_password(start_fleet: Callable[..., Fleet], change: str, code: int, after: str) -> None:
    miner = start_fleet(count=1, config={"factory_password_change": change}).miners[0]
    reply = PrivilegedClient(miner, password="admin").call("update_pwd", old="admin", new="farm_1")
    assert reply["Code"] == code
    if code != 131:
        assert reply["Msg"] == "can't access write cmd"
    assert miner.state.admin_password == after


def test_api2_write_switch_locks_update_pwd(start_fleet: Callable[..., Fleet]) -> None:
    miner = start_fleet(count=1, password="old_1", write_api_enabled=False).miners[0]
    reply = PrivilegedClient(miner, password="old_1").call("update_pwd", old="old_1", new="new_2")
    assert reply["Msg"] == "can't access write cmd"
    assert miner.state.admin_password == "old_1"


def test_api2_is_locked_by_the_write_switch_not_by_the_factory_password(start_fleet: Callable[..., Fleet]) -> None:
    """API 2 with the gate on: the factory admin password writes while the switch is on; a factory reset turns it off."""
    miner = start_fleet(count=1, profiles="2024", config={"factory_password_gate": True, "reboot_seconds": 0.2}).miners[0]
    assert PrivilegedClient(miner, password="admin").call("set_led", param="auto")["Code"] == 131
    assert PrivilegedClient(miner, password="admin").call("factory_reset")["Code"] == 131
    wait_for(miner.api_available)  # the factory reset reboots the miner
    reply = PrivilegedClient(miner, password="admin").call("set_led", param="auto")
    assert (reply["Code"], reply["Msg"]) == (45, "can't access write cmd")


def test_change_passwd_takes_effect_at_once(start_fleet: Callable[..., Fleet]) -> None:
    miner = start_fleet(count=1, profiles="3.x", v3_password="old_pw_1").miners[0]
    writer = WriterV3(miner, password="old_pw_1")
    assert change_v3(writer, "old_pw_1", "New.Pw-2")["code"] == 0
    assert miner.state.v3_passwords["super"] == "New.Pw-2"
    assert writer.call("set.system.led", "auto")["code"] == -1
    assert WriterV3(miner, password="New.Pw-2").call("set.system.led", "auto")["code"] == 0


def test_change_passwd_refusals(start_fleet: Callable[..., Fleet]) -> None:
    miner = start_fleet(count=1, profiles="3.x", v3_password="old_pw_1").miners[0]
    writer = WriterV3(miner, password="old_pw_1")
    assert change_v3(writer, "wrong", "new_1")["code"] == -1
    assert change_v3(writer, "old_pw_1", "has space")["code"] == -2
    assert writer.call(CHANGE, {"account": "super", "old": "old_pw_1", "new": "x"})["code"] == -2  # not encrypted
    assert WriterV3(miner, password="wrong").call(CHANGE, {"old": "old_pw_1", "new": "x"}, encrypt_param=True)["code"] == -1
    assert miner.state.v3_passwords["super"] == "old_pw_1"


@pytest.mark.parametrize("gate", [False, True])
def test_factory_password_gate_of_api3(start_fleet: Callable[..., Fleet], gate: bool) -> None:
    miner = start_fleet(count=1, profiles="3.x", config={"factory_password_gate": gate}).miners[0]
    writer = WriterV3(miner, password="super")
    reply = writer.call("set.system.led", "auto")
    assert reply["code"] == (-4 if gate else 0)
    if gate:
        assert reply["msg"] == "no permission"  # the vendor document's words
    # The password change itself is not gated, and lifts the gate.
    assert change_v3(writer, "super", "farm_pw_1")["code"] == 0
    assert WriterV3(miner, password="farm_pw_1").call("set.system.led", "auto")["code"] == 0


def test_factory_password_change_refused_on_api3(start_fleet: Callable[..., Fleet]) -> None:
    miner = start_fleet(count=1, profiles="3.x", config={"factory_password_gate": True, "factory_password_change": "refuse"}).miners[0]
    writer = WriterV3(miner, password="super")
    assert change_v3(writer, "super", "farm_pw_1")["code"] == -4
    assert miner.state.v3_passwords["super"] == "super"
    assert WriterV3(miner, password="not_it").call("set.system.led", "auto")["code"] == -1  # wrong password: -1 before -4


def test_api3_write_switch_off_refuses_everything(start_fleet: Callable[..., Fleet]) -> None:
    miner = start_fleet(count=1, profiles="3.x", v3_password="farm_pw_1", write_api_enabled=False).miners[0]
    writer = WriterV3(miner, password="farm_pw_1")
    assert change_v3(writer, "farm_pw_1", "other_1")["code"] == -4
    assert writer.call("set.system.led", "auto")["code"] == -4


def test_factory_reset_restores_the_factory_passwords(start_fleet: Callable[..., Fleet]) -> None:
    miner = start_fleet(count=1, password="farm_1").miners[0]
    assert PrivilegedClient(miner, password="farm_1").call("factory_reset")["Code"] == 131
    state = miner.state
    assert (state.admin_password, state.v3_passwords["super"], state.write_api_enabled) == ("admin", "super", False)


def test_fault_skip_lets_the_first_matching_requests_pass(start_fleet: Callable[..., Fleet]) -> None:
    """``skip=2, remaining=1``: the third change_passwd loses its reply, after the change was applied."""
    miner = start_fleet(count=1, profiles="3.x", v3_password="pw_0").miners[0]
    miner.add_fault(kind="drop", commands=[CHANGE], skip=2, remaining=1)
    writer = WriterV3(miner, password="pw_0")
    assert change_v3(writer, "pw_0", "pw_0")["code"] == 0
    assert change_v3(writer, "pw_0", "pw_0")["code"] == 0
    with pytest.raises(Exception):
        change_v3(writer, "pw_0", "pw_1")
    assert miner.state.v3_passwords["super"] == "pw_1"
    assert miner.config.faults == []
