# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""whatsminer_password against simulated miners of every firmware profile, checked against their true passwords."""

from __future__ import annotations

import json

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_password
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import PROFILES, connection_args, tokens

OLD = "farm_Old"
NEW = "farm_New"
CHANGE_COMMANDS = ("update_pwd", "set.user.change_passwd")


def password_args(miner, password=OLD, new_password=NEW, **extra):
    """Module arguments for a simulated miner."""
    return connection_args(miner, password=password, new_password=new_password, **extra)


def true_password(miner) -> str:
    """The password of the write account the module manages: admin on API 2, super on API 3."""
    state = miner.state
    return state.v3_passwords["super"] if miner.api3_port is not None else state.admin_password


def changes_sent(miner) -> int:
    """Password changes the miner received, the no-op checks of API 3 (old == new) included."""
    return sum(1 for entry in miner.log if entry.command in CHANGE_COMMANDS)


def assert_no_secret(result, *secrets):
    text = json.dumps(result, default=str)
    for secret in secrets:
        assert secret not in text


@pytest.fixture(name="one_miner")
def fixture_one_miner(start_fleet):
    """One miner of a profile whose write account has ``password`` (API 2 admin and API 3 super alike)."""

    def start(profile, password=OLD, **options):
        return start_fleet(count=1, profiles=profile, password=password, **options).miners[0]

    return start


@pytest.mark.parametrize("profile", PROFILES)
def test_rotation_then_idempotent_rerun(one_miner, run_module, profile):
    miner = one_miner(profile)
    result = run_module(whatsminer_password.main, password_args(miner))
    assert not result.failed, result.get("msg")
    assert result["changed"] is True and result["verified"] is True
    assert result["api_version"] == (3 if miner.api3_port is not None else 2)
    assert result["account"] == ("super" if miner.api3_port is not None else "admin")
    assert true_password(miner) == NEW
    assert result["checks"] == 4
    assert_no_secret(result, OLD, NEW)

    before = tokens(miner)
    again = run_module(whatsminer_password.main, password_args(miner))
    assert not again.failed, again.get("msg")
    assert again["changed"] is False and again["checks"] == 1
    assert tokens(miner) == before + 1  # one authentication with new_password
    assert true_password(miner) == NEW


@pytest.mark.parametrize("profile", PROFILES)
def test_check_mode_authenticates_only(one_miner, run_module, profile):
    miner = one_miner(profile)
    result = run_module(whatsminer_password.main, password_args(miner), check_mode=True)
    assert not result.failed, result.get("msg")
    assert result["changed"] is True and result["verified"] is False
    assert true_password(miner) == OLD
    assert not any(entry.command == "update_pwd" for entry in miner.log)
    assert result["checks"] == 2


@pytest.mark.parametrize("profile", PROFILES)
def test_neither_password_works(one_miner, run_module, profile):
    miner = one_miner(profile)
    result = run_module(whatsminer_password.main, password_args(miner, password="wrong_1", new_password="wrong_2"))
    assert result.failed
    assert "neither new_password nor password authenticates" in result["msg"]
    assert result["changed"] is False
    assert true_password(miner) == OLD
    assert_no_secret(result, "wrong_1", "wrong_2", OLD)


@pytest.mark.parametrize("profile", PROFILES)
def test_lost_reply_to_the_change_converges(one_miner, run_module, profile):
    miner = one_miner(profile)
    if miner.api3_port is None:
        miner.add_fault(kind="drop", commands=["update_pwd"], remaining=1)
    else:  # after the two checks that use the same command
        miner.add_fault(kind="drop", commands=["set.user.change_passwd"], skip=2, remaining=1)
    result = run_module(whatsminer_password.main, password_args(miner))
    assert not result.failed, result.get("msg")
    assert result["changed"] is True and result["verified"] is True
    assert any("reply to the password change was lost" in warning for warning in result.warnings)
    assert true_password(miner) == NEW
    assert run_module(whatsminer_password.main, password_args(miner))["changed"] is False


@pytest.mark.parametrize("profile", PROFILES)
def test_rerun_after_a_killed_run(one_miner, run_module, profile):
    """A run killed after the miner took the change: the next run finds new_password working."""
    miner = one_miner(profile)
    miner.set_state(admin_password=NEW, v3_passwords={"super": NEW, "user1": "user1", "user2": "user2", "user3": "user3"})
    result = run_module(whatsminer_password.main, password_args(miner))
    assert not result.failed and result["changed"] is False
    assert not any(entry.command == "update_pwd" for entry in miner.log)


@pytest.mark.parametrize("profile", PROFILES)
def test_factory_password_that_the_api_may_not_change(one_miner, run_module, profile):
    factory = "super" if profile == "3.x" else "admin"
    miner = one_miner(profile, password=factory, config={"factory_password_change": "refuse", "factory_password_gate": True})
    result = run_module(whatsminer_password.main, password_args(miner, password=factory))
    assert result.failed and result["changed"] is False
    assert "WhatsMinerTool" in result["msg"] and "factory" in result["msg"]
    assert true_password(miner) == factory
    assert_no_secret(result, NEW)


@pytest.mark.parametrize("profile", PROFILES)
def test_factory_password_that_the_api_may_change(one_miner, run_module, profile):
    factory = "super" if profile == "3.x" else "admin"
    miner = one_miner(profile, password=factory, config={"factory_password_gate": True})
    result = run_module(whatsminer_password.main, password_args(miner, password=factory))
    assert not result.failed, result.get("msg")
    assert result["changed"] is True and true_password(miner) == NEW
    assert any("factory password" in warning for warning in result.warnings)


@pytest.mark.parametrize("profile", PROFILES)
def test_write_api_switched_off(one_miner, run_module, profile):
    miner = one_miner(profile, write_api_enabled=False)
    result = run_module(whatsminer_password.main, password_args(miner))
    assert result.failed and result["changed"] is False
    assert "Miner API Switch" in result["msg"] or "WhatsMinerTool" in result["msg"]
    assert true_password(miner) == OLD


BAD_NEW_PASSWORDS = ["", "nine_char", "with-dash", "sp ace", "ümlaut", "admin", "super", "user1", "a'b", "{\"a\":1}"]


@pytest.mark.parametrize("new_password", BAD_NEW_PASSWORDS)
def test_bad_new_password_is_rejected_without_connecting(fleet, run_module, new_password):
    miner = fleet.miners[1]
    before = miner.counters.connections
    result = run_module(whatsminer_password.main, password_args(miner, new_password=new_password))
    assert result.failed and "new_password" in result["msg"]
    assert miner.counters.connections == before
    if len(new_password) >= 4:
        assert new_password not in result["msg"]


def test_password_is_required(fleet, run_module):
    miner = fleet.miners[1]
    before = miner.counters.connections
    args = password_args(miner)
    del args["password"]
    result = run_module(whatsminer_password.main, args)
    assert result.failed and "password" in result["msg"]
    assert miner.counters.connections == before
