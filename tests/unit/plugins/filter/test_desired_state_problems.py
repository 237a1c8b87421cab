# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's pre-check (filter desired_state_problems) rejects what the modules reject, and quotes no secret."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.hashfarm.whatsminer.plugins.filter.desired_state_problems import FilterModule, desired_state_problems
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._connection_options import validate_connection_params
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._pools import validate_pools
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.fresh_interpreter import run_import_report

# The role's defaults plus a desired state, as roles/whatsminer/tasks/validate.yml passes them.
GOOD = {
    "whatsminer_host": "10.20.1.11",
    "whatsminer_port": 4028,
    "whatsminer_password": "Fa7m_ops",
    "whatsminer_timeout": 5,
    "whatsminer_retries": 2,
    "whatsminer_api_version": "auto",
    "whatsminer_api3_port": 4433,
    "whatsminer_api3_account": "super",
    "whatsminer_pools": [
        {"url": "stratum+tcp://btc.pool.example.com:3333", "user": "hashfarm.rack1-m01"},
        {"url": "btc-backup.pool.example.com:443", "user": "hashfarm.rack1-m01", "password": "x"},
    ],
    "whatsminer_pool_update_password": "on_create",
    "whatsminer_mining": None,
    "whatsminer_power_mode": "low",
    "whatsminer_power_limit_w": 3300,
    "whatsminer_power_wait_timeout": 300,
    "whatsminer_batch_pause_s": 0,
}


def pools(url="stratum+tcp://btc.pool.example.com:3333", user="hashfarm.rack1-m01", **extra):
    return [dict({"url": url, "user": user}, **extra)]


def test_the_filter_is_registered():
    assert FilterModule().filters() == {"desired_state_problems": desired_state_problems}


@pytest.mark.parametrize("variables", [
    GOOD,
    {"whatsminer_host": "rack1-m01.farm.example"},  # only what is set is checked
    dict(GOOD, whatsminer_pools=[], whatsminer_password=""),  # empty: not managed / not given
    dict(GOOD, whatsminer_port="4028", whatsminer_timeout="2.5", whatsminer_power_limit_w="99999", whatsminer_mining="false"),
    dict(GOOD, whatsminer_host="fd00::11"),
], ids=["example", "host only", "empty", "strings converted as the modules do", "ipv6"])
def test_a_good_desired_state_has_no_problem(variables):
    assert desired_state_problems(variables) == []


# The cases of issue 14 that the regexes of the old pre-check let through, and the message of each.
ISSUE_CASES = {
    "pool URL port above 65535": (
        {"whatsminer_pools": pools(url="stratum+tcp://btc.pool.example.com:70000")},
        ["whatsminer_pools: pool 1 url: has an invalid port (a number from 1 to 65535)"],
    ),
    "pool URL port 0": (
        {"whatsminer_pools": pools(url="stratum+tcp://btc.pool.example.com:0")},
        ["whatsminer_pools: pool 1 url: has an invalid port (a number from 1 to 65535)"],
    ),
    "over-long pool URL": (
        {"whatsminer_pools": pools(url="stratum+tcp://" + "a" * 230 + ".example.com:3333")},
        ["whatsminer_pools: pool 1 url: is longer than 240 characters"],
    ),
    "quote in a worker name": (
        {"whatsminer_pools": pools(user='hashfarm."m01"')},
        ["whatsminer_pools: pool 1 user: must not contain quotes (\", ', `) or backslashes"],
    ),
    "space in a pool password": (
        {"whatsminer_pools": pools(password="two words")},
        ["whatsminer_pools: pool 1 password: must not contain spaces or other whitespace"],
    ),
    "space in the admin password": (
        {"whatsminer_password": "two words"},
        ["whatsminer_password (the password that lets the module change the miner) must not contain spaces or other whitespace; its value is not shown"],
    ),
    "ansible_host with a shell command": (
        {"whatsminer_host": "127.0.0.1;rm"},
        ["whatsminer_host must be the miner's IP address or DNS name (letters, digits, hyphens and dots), without a scheme, port or spaces, "
         "got '127.0.0.1;rm'"],
    ),
    "ansible_host with an empty label": (
        {"whatsminer_host": "a..b"},
        ["whatsminer_host must be the miner's IP address or DNS name (letters, digits, hyphens and dots), without a scheme, port or spaces, "
         "got 'a..b'"],
    ),
    "API port 0": ({"whatsminer_port": 0}, ["whatsminer_port must be between 1 and 65535, got 0"]),
    "API 3 port above 65535": ({"whatsminer_api3_port": 65536}, ["whatsminer_api3_port must be between 1 and 65535, got 65536"]),
}


@pytest.mark.parametrize("case", ISSUE_CASES, ids=list(ISSUE_CASES))
def test_what_the_modules_reject_the_pre_check_rejects(case):
    changes, expected = ISSUE_CASES[case]
    assert desired_state_problems(dict(GOOD, **changes)) == expected


def test_the_pre_check_uses_the_modules_own_rules():
    """Same verdicts as the modules' validation functions, on the same values."""
    with pytest.raises(ModuleFailure):
        validate_pools(pools(url="stratum+tcp://btc.pool.example.com:70000"))
    with pytest.raises(ModuleFailure):
        validate_connection_params({"host": "a..b", "port": 4028, "api3_port": 4433, "api_version": "auto", "api3_account": "super",
                                    "timeout": 5.0, "retries": 2, "password": None})


def test_every_problem_is_named_at_once():
    variables = dict(GOOD, whatsminer_port=0, whatsminer_timeout=301, whatsminer_power_mode="turbo", whatsminer_power_limit_w=0,
                     whatsminer_power_wait_timeout=0, whatsminer_batch_pause_s=-1,
                     whatsminer_pools=pools() * 2 + pools(url="stratum+tcp://btc.pool.example.com") + pools(user=""))
    assert desired_state_problems(variables) == [
        "whatsminer_port must be between 1 and 65535, got 0",
        "whatsminer_timeout must be more than 0 and at most 300 seconds, got 301.0",
        "whatsminer_pools: give 1 to 3 pools, got 4",
        "whatsminer_power_mode: value of mode must be one of: low, normal, high, got: turbo",
        "whatsminer_power_limit_w must be a number of watts between 1 and 99998, or 99999 to remove the limit; got 0",
        "whatsminer_power_wait_timeout must be more than 0 and at most 3600 seconds, got 0",
        "whatsminer_batch_pause_s must be a whole number of seconds, 0 or more, got -1",
    ]


SECRET = "s3cr3t-Value"


@pytest.mark.parametrize("changes", [
    {"whatsminer_pools": pools(url=f"stratum+tcp://farm:{SECRET}@btc.pool.example.com:3333")},
    {"whatsminer_pools": pools(url=f"stratum+tcp://farm:{SECRET}@btc.pool.example.com:99999")},
    {"whatsminer_pools": pools(url=f"stratum+tcp://farm:{SECRET}@btc.pool.example.com")},
    {"whatsminer_pools": pools(url=f"http://farm:{SECRET}@btc.pool.example.com:3333/path")},
    {"whatsminer_pools": f"stratum+tcp://farm:{SECRET}@btc.pool.example.com:3333"},
    {"whatsminer_pools": [f"stratum+tcp://farm:{SECRET}@btc.pool.example.com:3333"]},
    {"whatsminer_pools": pools(password=f"{SECRET} with spaces")},
    {"whatsminer_pools": pools(password=f"{SECRET}'")},
    {"whatsminer_pools": pools(password=SECRET * 20)},
    {"whatsminer_password": f"{SECRET} "},
    {"whatsminer_password": SECRET + "\x00"},
    {"whatsminer_password": SECRET * 20},
    {"whatsminer_password": {"nested": SECRET}},
], ids=lambda changes: next(iter(changes)))
def test_no_problem_message_quotes_a_secret(changes):
    problems = desired_state_problems(dict(GOOD, **changes))
    assert problems
    assert not [problem for problem in problems if "s3cr3t" in problem.lower() or "farm:" in problem]


def test_not_a_dictionary():
    with pytest.raises(AnsibleFilterError, match="expects a dictionary"):
        desired_state_problems(["whatsminer_port"])


def test_the_pre_check_imports_no_crypto_library():
    report = run_import_report(r"""
from ansible_collections.hashfarm.whatsminer.plugins.filter.desired_state_problems import desired_state_problems
report = {"problems": desired_state_problems({"whatsminer_host": "a..b", "whatsminer_password": "two words",
                                              "whatsminer_pools": [{"url": "stratum+tcp://h:1", "user": "u", "password": "p"}]}),
          "loaded": loaded()}
print(json.dumps(report))
""", timeout=60)
    assert len(report["problems"]) == 2
    assert report["loaded"] == []


SETTINGS_GOOD = {
    "whatsminer_hostname": "rack1-m01", "whatsminer_timezone": "Europe/Berlin", "whatsminer_ntp_servers": ["ntp1.farm.example"],
    "whatsminer_led": "locate", "whatsminer_led_pattern": [{"color": "red", "period": 1000, "duration": 500}],
    "whatsminer_fast_boot": False, "whatsminer_web_pools": False, "whatsminer_temperature_offset": -10,
    "whatsminer_fan_poweroff_cool": True, "whatsminer_fan_zero_speed": False, "whatsminer_upfreq_speed": 3,
    "whatsminer_settings_update_unverifiable": "never", "whatsminer_settings_wait_timeout": 600,
}


def test_good_device_settings_have_no_problem():
    assert desired_state_problems({**GOOD, **SETTINGS_GOOD}) == []


@pytest.mark.parametrize("changes, words", [
    ({"whatsminer_hostname": "rack 1"}, "whatsminer_hostname must be 1-63 letters"),
    ({"whatsminer_temperature_offset": 3}, "whatsminer_temperature_offset must be a whole number -30..0"),
    ({"whatsminer_upfreq_speed": 11}, "whatsminer_upfreq_speed must be a whole number 0..10"),
    ({"whatsminer_ntp_servers": ["a b"]}, "whatsminer_ntp_servers entry"),
    ({"whatsminer_led": "blink"}, "whatsminer_led: value of led must be one of"),
    ({"whatsminer_led_pattern": [{"color": "red", "period": 10, "duration": 20}]}, "whatsminer_led_pattern duration"),
    ({"whatsminer_fast_boot": True}, "fast_boot and upfreq_speed cannot be used together"),
    ({"whatsminer_settings_wait_timeout": 0}, "whatsminer_settings_wait_timeout must be more than 0"),
    ({"whatsminer_settings_update_unverifiable": "sometimes"}, "whatsminer_settings_update_unverifiable"),
])
def test_device_settings_rejected_like_the_module(changes, words):
    problems = desired_state_problems({**GOOD, **SETTINGS_GOOD, **changes})
    assert len(problems) == 1 and words in problems[0], problems
