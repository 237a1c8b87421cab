# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""whatsminer_pools against simulated miners of every firmware profile, checked against their true state."""

from __future__ import annotations

import json
import socket

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import WhatsminerClient
from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_pools
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import AUTO_PROBE, PROFILES, connection_args, connections, tokens, wire_commands
from whatsminer_sim import wait_for  # pylint: disable=import-error

ADMIN = "admin"
#: What the user writes: other spellings of the canonical URLs below.
DESIRED = [
    {"url": " POOL.example.com:3333/ ", "user": "farm.w1"},
    {"url": "stratum+tcp://backup.example.net:0443", "user": "farm.w1", "password": "d=65536"},
]
#: What the module sends, and the miner then shows.
EXPECTED = [
    {"slot": 1, "url": "stratum+tcp://pool.example.com:3333", "user": "farm.w1"},
    {"slot": 2, "url": "stratum+tcp://backup.example.net:443", "user": "farm.w1"},
]
EXPECTED_STATE = [
    ("stratum+tcp://pool.example.com:3333", "farm.w1", "x"),
    ("stratum+tcp://backup.example.net:443", "farm.w1", "d=65536"),
    ("", "", ""),
]


def true_pools(miner):
    """The miner's three slots as (url, user, password): the simulator's true state."""
    return [(slot.url, slot.user, slot.password) for slot in miner.state.pools]


def shown_pools(miner):
    """The configured slots of the true state as the module returns pools."""
    return [{"slot": index + 1, "url": slot.url, "user": slot.user} for index, slot in enumerate(miner.state.pools) if slot.url]


def pools_args(miner, pools, **extra):
    """Module arguments: the miner, its admin password, the desired pools."""
    return connection_args(miner, password=ADMIN, pools=pools, **extra)


def assert_clean_failure(result, *fragments):
    """A failure with an actionable message, no traceback and no warning."""
    assert result.failed
    assert result.warnings == []
    for fragment in fragments:
        assert fragment in result["msg"]
    assert "exception" not in result
    assert "Traceback" not in json.dumps(result)


@pytest.mark.parametrize("profile", PROFILES)
def test_first_run_changes_second_run_does_not(start_fleet, run_module, profile):
    miner = start_fleet(count=1, profiles=profile).miners[0]
    initial = shown_pools(miner)

    result = run_module(whatsminer_pools.main, pools_args(miner, DESIRED))
    assert not result.failed, result.get("msg")
    assert result["changed"] is True
    assert result["before"] == initial
    assert result["pools"] == EXPECTED
    assert result["commands"] == ["update_pools"]
    assert result.warnings == []
    assert true_pools(miner) == EXPECTED_STATE
    assert tokens(miner) == 1
    assert [entry.command for entry in miner.log].count(wire_commands(miner, ["update_pools"])[0]) == 1

    before = connections(miner)
    again = run_module(whatsminer_pools.main, pools_args(miner, DESIRED))
    assert again["changed"] is False
    assert again["before"] == again["pools"] == EXPECTED
    assert again["commands"] == []
    assert connections(miner) - before == AUTO_PROBE + 1  # the probe, one pools read
    assert tokens(miner) == 1  # no new token
    assert true_pools(miner) == EXPECTED_STATE


@pytest.mark.parametrize("profile", PROFILES)
def test_check_mode_predicts_the_real_run_exactly(start_fleet, run_module, profile):
    miner = start_fleet(count=1, profiles=profile).miners[0]
    initial_state = true_pools(miner)

    predicted = run_module(whatsminer_pools.main, pools_args(miner, DESIRED), check_mode=True, diff=True)
    assert not predicted.failed, predicted.get("msg")
    assert true_pools(miner) == initial_state
    assert tokens(miner) == 0
    assert connections(miner) == AUTO_PROBE + 1
    assert not any(entry.encrypted for entry in miner.log)

    real = run_module(whatsminer_pools.main, pools_args(miner, DESIRED), diff=True)
    for key in ("changed", "before", "pools", "commands", "diff"):
        assert predicted[key] == real[key], key
    assert real["diff"] == {"before": {"pools": shown_pools_of(initial_state)}, "after": {"pools": EXPECTED}}

    unchanged = run_module(whatsminer_pools.main, pools_args(miner, DESIRED), check_mode=True, diff=True)
    assert unchanged["changed"] is False
    assert unchanged["commands"] == []
    assert unchanged["diff"]["before"] == unchanged["diff"]["after"] == {"pools": EXPECTED}


def shown_pools_of(state):
    """(url, user, password) slots as the module shows them."""
    return [{"slot": index + 1, "url": url, "user": user} for index, (url, user, _password) in enumerate(state) if url]


def test_check_mode_and_an_unchanged_run_need_no_admin_password(start_fleet, run_module):
    miner = start_fleet(count=1).miners[0]
    args = connection_args(miner, pools=DESIRED)
    assert run_module(whatsminer_pools.main, args, check_mode=True)["changed"] is True
    assert run_module(whatsminer_pools.main, pools_args(miner, DESIRED))["changed"] is True
    assert run_module(whatsminer_pools.main, args)["changed"] is False
    assert tokens(miner) == 1


def test_a_write_without_the_admin_password_fails_before_anything_is_written(start_fleet, run_module):
    miner = start_fleet(count=1).miners[0]
    initial = true_pools(miner)
    result = run_module(whatsminer_pools.main, connection_args(miner, pools=DESIRED))
    assert_clean_failure(result, "no password was given (the password option")
    assert true_pools(miner) == initial
    assert tokens(miner) == 0


@pytest.mark.parametrize("profile", PROFILES)
def test_fewer_pools_than_slots_clears_the_other_slots(start_fleet, run_module, profile):
    miner = start_fleet(count=1, profiles=profile).miners[0]
    assert len(shown_pools(miner)) == 3
    result = run_module(whatsminer_pools.main, pools_args(miner, [{"url": "stratum+tcp://solo.example.org:3333", "user": "bc1qexample.rig"}]))
    assert result["changed"] is True
    assert result["pools"] == [{"slot": 1, "url": "stratum+tcp://solo.example.org:3333", "user": "bc1qexample.rig"}]
    assert true_pools(miner) == [("stratum+tcp://solo.example.org:3333", "bc1qexample.rig", "x"), ("", "", ""), ("", "", "")]


def test_a_miner_without_pools_gets_them(start_fleet, run_module):
    miner = start_fleet(count=1, profiles="2.0.x").miners[0]
    miner.set_state(pools=[])
    result = run_module(whatsminer_pools.main, pools_args(miner, DESIRED))
    assert result["before"] == []
    assert result["pools"] == EXPECTED
    assert true_pools(miner) == EXPECTED_STATE


def test_other_spellings_on_the_miner_are_no_difference(start_fleet, run_module):
    miner = start_fleet(count=1, profiles="2024").miners[0]
    miner.set_state(pools=[
        {"url": "Pool.Example.COM:3333", "user": "farm.w1", "password": "x"},
        {"url": "STRATUM+TCP://backup.example.net:443/", "user": "farm.w1", "password": "d=65536"},
    ])
    result = run_module(whatsminer_pools.main, pools_args(miner, DESIRED), diff=True)
    assert result["changed"] is False
    assert result["pools"] == result["before"] == [
        {"slot": 1, "url": "Pool.Example.COM:3333", "user": "farm.w1"},
        {"slot": 2, "url": "STRATUM+TCP://backup.example.net:443/", "user": "farm.w1"},
    ]
    assert tokens(miner) == 0


@pytest.mark.parametrize("state_pools", [
    [{"url": "", "user": "", "password": ""}, {"url": "stratum+tcp://pool.example.com:3333", "user": "farm.w1", "password": "x"}],
    [{"url": "stratum+tcp://pool.example.com:3333", "user": "FARM.w1", "password": "x"}],
    [{"url": "stratum+tcp://pool.example.com", "user": "farm.w1", "password": "x"}],  # port 80
])
def test_a_difference_in_slot_user_or_port_is_written(start_fleet, run_module, state_pools):
    miner = start_fleet(count=1).miners[0]
    miner.set_state(pools=state_pools)
    result = run_module(whatsminer_pools.main, pools_args(miner, DESIRED[:1]))
    assert result["changed"] is True
    assert true_pools(miner) == [EXPECTED_STATE[0], ("", "", ""), ("", "", "")]


def test_update_password_on_create_does_not_apply_a_password_alone(start_fleet, run_module):
    miner = start_fleet(count=1).miners[0]
    run_module(whatsminer_pools.main, pools_args(miner, DESIRED))
    new_password = [DESIRED[0], {**DESIRED[1], "password": "d=1024"}]
    result = run_module(whatsminer_pools.main, pools_args(miner, new_password, update_password="on_create"))
    assert result["changed"] is False
    assert true_pools(miner)[1][2] == "d=65536"
    assert tokens(miner) == 1


def test_update_password_always_writes_every_run(start_fleet, run_module):
    miner = start_fleet(count=1).miners[0]
    run_module(whatsminer_pools.main, pools_args(miner, DESIRED))
    new_password = [DESIRED[0], {**DESIRED[1], "password": "d=1024"}]
    args = pools_args(miner, new_password, update_password="always")

    predicted = run_module(whatsminer_pools.main, args, check_mode=True)
    assert (predicted["changed"], predicted["commands"]) == (True, ["update_pools"])
    assert true_pools(miner)[1][2] == "d=65536"

    for _run in range(2):
        result = run_module(whatsminer_pools.main, args)
        assert (result["changed"], result["commands"]) == (True, ["update_pools"])
        assert result["pools"] == EXPECTED
        assert true_pools(miner)[1][2] == "d=1024"
    assert [entry.command for entry in miner.log].count("update_pools") == 3


# --- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize("pools, message", [
    ([], "pools: give 1 to 3 pools in priority order"),
    ([DESIRED[0]] * 4, "pools: give 1 to 3 pools in priority order (the miner has 3 pool slots), got 4"),
    ([{"user": "farm.w1"}], "pool 1 url: is required"),
    ([DESIRED[0], {"url": "stratum+tcp://pool.example.com", "user": "w"}], "pool 2 url: has no port"),
    ([{"url": "stratum+ssl://pool.example.com:3333", "user": "w"}], "pool 1 url: has a scheme the miner does not mine with"),
    ([{"url": "http://pool.example.com:3333", "user": "w"}], "pool 1 url: has a scheme the miner does not mine with"),
    ([{"url": "stratum+tcp://pool.example.com:70000", "user": "w"}], "pool 1 url: has an invalid port"),
    ([{"url": "stratum+tcp://pool.example.com:3333/eu", "user": "w"}], "pool 1 url: must not have a path"),
    ([{"url": "stratum+tcp://w:p@pool.example.com:3333", "user": "w"}], "pool 1 url: must not contain credentials"),
    ([{"url": "stratum+tcp://bad_host!:3333", "user": "w"}], "pool 1 url: has an invalid host name"),
    ([{"url": "stratum+tcp://pool.example.com:3333\"", "user": "w"}], "pool 1 url: must not contain quotes"),
    ([{"url": "stratum+tcp://" + "p" * 250 + ":3333", "user": "w"}], "pool 1 url: is longer than 240 characters"),
    ([DESIRED[0], DESIRED[1], {"url": "pool.example.com:3333"}], "pool 3 user: is required"),
    ([{"url": "pool.example.com:3333", "user": "farm w1"}], "pool 1 user: must not contain spaces"),
    ([{"url": "pool.example.com:3333", "user": "farm\x07w1"}], "pool 1 user: must contain printable ASCII characters only"),
    ([{"url": "pool.example.com:3333", "user": "farm\\w1"}], "pool 1 user: must not contain quotes"),
    ([{"url": "pool.example.com:3333", "user": "w" * 129}], "pool 1 user: is longer than 128 characters"),
    ([{"url": "pool.example.com:3333", "user": "w", "password": ""}], "pool 1 password: must not be empty"),
    ([{"url": "pool.example.com:3333", "user": "w", "password": "a'b"}], "pool 1 password: must not contain quotes"),
    ([{"url": "pool.example.com:3333", "user": "w", "password": "a\tb"}], "pool 1 password: must not contain spaces"),
    ([{"url": "pool.example.com:3333", "user": "w", "password": "p" * 129}], "pool 1 password: is longer than 128 characters"),
])
def test_invalid_pools_fail_before_the_miner_is_contacted(start_fleet, run_module, pools, message):
    miner = start_fleet(count=1).miners[0]
    result = run_module(whatsminer_pools.main, pools_args(miner, pools))
    assert_clean_failure(result, message)
    assert result["validation_errors"]
    assert connections(miner) == 0


@pytest.mark.parametrize("args, message", [
    ({"verify_timeout": 0}, "verify_timeout must be more than 0 and at most 600 seconds"),
    ({"update_password": "sometimes"}, "value of update_password must be one of: on_create, always"),
    ({"pools": [{"url": "pool.example.com:3333", "user": "w", "worker": "w"}]}, "worker"),
    ({"port": 0}, "port must be between 1 and 65535"),
])
def test_invalid_options_fail_before_the_miner_is_contacted(start_fleet, run_module, args, message):
    miner = start_fleet(count=1).miners[0]
    result = run_module(whatsminer_pools.main, {**pools_args(miner, DESIRED), **args})
    assert_clean_failure(result, message)
    assert connections(miner) == 0


def test_validation_happens_before_the_client_is_used():
    class UntouchableClient:  # pylint: disable=too-few-public-methods
        """Fails the test on any use."""

        def __getattr__(self, name):
            raise AssertionError(f"the client was used ({name}) before validation finished")

    params = {"pools": [{"url": "pool.example.com", "user": "w"}], "update_password": "on_create", "verify_timeout": 10.0}
    with pytest.raises(ModuleFailure, match="pool 1 url: has no port"):
        whatsminer_pools.logic(UntouchableClient(), params, False, False)


# --- errors of the miner ----------------------------------------------------------------------

def test_write_api_disabled(start_fleet, run_module):
    miner = start_fleet(count=1, profiles="2024").miners[0]
    miner.set_state(write_api_enabled=False)
    initial = true_pools(miner)
    result = run_module(whatsminer_pools.main, pools_args(miner, DESIRED))
    assert_clean_failure(result, f"{miner.host}:{miner.port}", "write API is disabled", "Miner API Switch")
    assert true_pools(miner) == initial


def test_wrong_admin_password(start_fleet, run_module):
    miner = start_fleet(count=1, profiles="2.0.x").miners[0]
    initial = true_pools(miner)
    result = run_module(whatsminer_pools.main, connection_args(miner, password="not-the-password", pools=DESIRED))
    assert_clean_failure(result, "password given to the module is wrong", "Check the password given to the module")
    assert true_pools(miner) == initial
    assert "not-the-password" not in json.dumps(result)


def test_token_limit(start_fleet, run_module):
    miner = start_fleet(count=1, profiles="1.4.x").miners[0]
    miner.add_fault(kind="code", code=136, commands=["get_token"])
    initial = true_pools(miner)
    result = run_module(whatsminer_pools.main, pools_args(miner, DESIRED))
    assert_clean_failure(result, "refuses to issue another API token", "32 per IP address")
    assert result["miner"]["code"] == 136
    assert true_pools(miner) == initial


def test_command_rejected(start_fleet, run_module):
    miner = start_fleet(count=1, profiles="2024").miners[0]
    miner.add_fault(kind="code", code=132, commands=["update_pools"])
    initial = true_pools(miner)
    result = run_module(whatsminer_pools.main, pools_args(miner, DESIRED))
    assert_clean_failure(result, "command 'update_pools'", "rejected the command", "code 132")
    assert true_pools(miner) == initial


def test_unreachable_miner(run_module):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_module(whatsminer_pools.main, {"host": "127.0.0.1", "port": port, "timeout": 1.0, "retries": 0, "pools": DESIRED})
    assert_clean_failure(result, f"127.0.0.1:{port}", "reachable")


# --- verification -----------------------------------------------------------------------------

def test_slow_firmware_is_waited_for(start_fleet, run_module):
    miner = start_fleet(count=1, profiles="2.0.x", config={"pools_apply_delay_s": 0.8}).miners[0]
    result = run_module(whatsminer_pools.main, pools_args(miner, DESIRED))
    assert not result.failed, result.get("msg")
    assert result["pools"] == EXPECTED
    assert [entry.command for entry in miner.log].count("pools") >= 2


@pytest.mark.parametrize("profile", ["2024", "3.x"])
def test_a_write_the_miner_does_not_show_in_time_fails_clearly(start_fleet, run_module, profile):
    """The miner confirmed the write and applies the pools later: changed and failed (issue 14, item 2), then a rerun converges."""
    miner = start_fleet(count=1, profiles=profile, config={"pools_apply_delay_s": 2.0}).miners[0]
    initial = shown_pools(miner)
    result = run_module(whatsminer_pools.main, pools_args(miner, DESIRED, verify_timeout=0.5))
    assert_clean_failure(result, "accepted update_pools (it confirmed the write), but within verify_timeout (0.5 s) it did not show the pools "
                                 "that were sent: the write was accepted but is not seen yet, so the task reports a change",
                         "Sent: 1: stratum+tcp://pool.example.com:3333 user=farm.w1; 2: stratum+tcp://backup.example.net:443 user=farm.w1.",
                         "Last seen: 1: stratum+tcp://btc.example.pool:3333", "run the task again", "raise verify_timeout")
    assert result["changed"] is True  # the miner took the write, though it still shows the old pools
    assert result["pools"] == result["before"] == initial
    assert result["expected"] == EXPECTED
    assert "d=65536" not in json.dumps(result)
    wait_for(lambda: true_pools(miner) == EXPECTED_STATE, timeout=5)
    again = run_module(whatsminer_pools.main, pools_args(miner, DESIRED))
    assert not again.failed and again["changed"] is False


# --- secrets ----------------------------------------------------------------------------------

MARKER = "Zq9MarkerSecret"


def test_passwords_never_appear_in_any_output(start_fleet, run_module):
    miner = start_fleet(count=1, profiles="2024", password=MARKER + "A").miners[0]
    secret_pools = [{"url": "pool.example.com:3333", "user": "farm.w1", "password": MARKER + "P1"},
                    {"url": "backup.example.net:443", "user": "farm.w1", "password": MARKER + "P2"}]
    args = connection_args(miner, password=MARKER + "A", pools=secret_pools)
    outputs = [
        run_module(whatsminer_pools.main, args, check_mode=True, diff=True),
        run_module(whatsminer_pools.main, args, diff=True),
        run_module(whatsminer_pools.main, args, diff=True),
        run_module(whatsminer_pools.main, {**args, "update_password": "always"}, diff=True),
        run_module(whatsminer_pools.main, {**args, "pools": [*secret_pools, {"url": "x.example:1", "user": "a b", "password": MARKER + "P3"}]}),
        run_module(whatsminer_pools.main, {**args, "password": MARKER + "wrong", "pools": secret_pools[:1]}),
    ]
    assert [output.failed for output in outputs] == [False, False, False, False, True, True]
    assert true_pools(miner)[0][2] == MARKER + "P1"  # the passwords did reach the miner
    miner.configure(pools_apply_delay_s=3.0)
    outputs.append(run_module(whatsminer_pools.main, {**args, "pools": secret_pools[:1], "verify_timeout": 0.5}, diff=True))
    assert outputs[-1].failed
    for output in outputs:
        text = json.dumps(output)
        assert MARKER not in text
        assert "********" not in text  # nothing had to be masked: the module never emitted a secret


def test_logic_itself_never_returns_a_secret(start_fleet):
    """Without AnsibleModule's masking: the result and the error messages of the logic."""
    miner = start_fleet(count=1).miners[0]
    params = {"pools": [{"url": "pool.example.com:3333", "user": "farm.w1", "password": MARKER}], "update_password": "always", "verify_timeout": 2.0}
    for check_mode in (True, False):
        client = WhatsminerClient(miner.host, miner.port, password=ADMIN, timeout=2.0)
        result = whatsminer_pools.logic(client, params, check_mode, True)
        assert MARKER not in json.dumps(result)
        assert client.commands_sent == (["pools"] if check_mode else ["pools", "get_token", "update_pools", "pools"])
    miner.configure(pools_apply_delay_s=3.0)
    params["pools"][0]["url"] = "other.example.com:3333"
    with pytest.raises(ModuleFailure) as failure:
        whatsminer_pools.logic(WhatsminerClient(miner.host, miner.port, password=ADMIN, timeout=2.0), {**params, "verify_timeout": 0.5}, False, True)
    assert MARKER not in failure.value.message + json.dumps(failure.value.details)


def test_an_omitted_pool_password_hides_nothing_in_the_result(start_fleet, run_module):
    """x is sent for an omitted password without being a no_log value, so no 'x' in the output is masked."""
    miner = start_fleet(count=1).miners[0]
    result = run_module(whatsminer_pools.main, pools_args(miner, [{"url": "xpool.example.com:3333", "user": "box.x1"}]), diff=True)
    assert result["pools"] == [{"slot": 1, "url": "stratum+tcp://xpool.example.com:3333", "user": "box.x1"}]
    assert "********" not in json.dumps(result)
    assert true_pools(miner)[0] == ("stratum+tcp://xpool.example.com:3333", "box.x1", "x")


def test_admin_password_from_the_environment(start_fleet, run_module, monkeypatch):
    miner = start_fleet(count=1).miners[0]
    monkeypatch.setenv("WHATSMINER_PASSWORD", ADMIN)
    result = run_module(whatsminer_pools.main, connection_args(miner, pools=DESIRED))
    assert result["changed"] is True, result.get("msg")
    assert true_pools(miner) == EXPECTED_STATE
