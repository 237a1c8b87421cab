# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile input: invalid values for every option of every module fail validation, before any connection.

Each case gives one option a value that is wrong (a wrong type, out of range, empty, too long,
control characters, quotes, ``+`` or JSON fragments, non-ASCII text) and runs the module through
both execution paths: the module (``main``) and the action plugin's in-process path. Every case
must fail with a message that names the option, without a traceback, without the value of a
password, and without a single connection to the simulated miner (its counter stays where it was).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from typing import Any

import pytest

from whatsminer_sim.firmware import make_test_image

from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_facts as facts_action
from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_firmware as firmware_action
from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_password as password_action
from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_pools as pools_action
from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_power as power_action
from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_reboot as reboot_action
from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_settings as settings_action
from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_facts, whatsminer_firmware, whatsminer_password, whatsminer_pools
from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_power, whatsminer_reboot, whatsminer_settings
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import connection_args
from ansible_collections.hashfarm.whatsminer.tests.unit.plugins.action.action_harness import run_in_process


def firmware_file(name: str, content: bytes) -> str:
    """A firmware test file of this user under the temporary directory (replaced whole by every test process)."""
    path = os.path.join(tempfile.gettempdir(), f"hashfarm-hostile-{os.getuid()}-{name}")
    with open(f"{path}.{os.getpid()}", "wb") as image:
        image.write(content)
    os.replace(f"{path}.{os.getpid()}", path)
    return path


#: The version the 2024 profile runs: a valid firmware task that connects but has nothing to send.
FIRMWARE_VERSION = "20240924.14.Rel"
FIRMWARE_IMAGE = firmware_file("valid.bin", make_test_image("H616", FIRMWARE_VERSION, 1024))
TINY_IMAGE = firmware_file("tiny.bin", b"HFWMTEST")


ADMIN = "admin"
VALID_POOLS = [{"url": "stratum+tcp://pool.example.com:3333", "user": "farm.w1"}]
#: Each module with arguments that are valid and need the miner (so an accepted value would connect).
MODULES = {
    "whatsminer_facts": (whatsminer_facts.main, facts_action.ActionModule, {"gather_subset": ["status"]}),
    "whatsminer_pools": (whatsminer_pools.main, pools_action.ActionModule, {"pools": VALID_POOLS}),
    "whatsminer_power": (whatsminer_power.main, power_action.ActionModule, {"mode": "low"}),
    "whatsminer_password": (whatsminer_password.main, password_action.ActionModule, {"new_password": "farm_2"}),
    "whatsminer_reboot": (whatsminer_reboot.main, reboot_action.ActionModule, {"operation": "restart", "reboot_timeout": 20}),
    "whatsminer_firmware": (whatsminer_firmware.main, firmware_action.ActionModule, {"version": FIRMWARE_VERSION, "image": FIRMWARE_IMAGE}),
    "whatsminer_settings": (whatsminer_settings.main, settings_action.ActionModule, {"fast_boot": False}),
}
PATHS = ("module", "action")
SUITE = "hostile input"
JSON_FRAGMENT = '{"cmd":"update_pools","token":"x"}'


@dataclass(frozen=True)
class Case:
    """One invalid value: the option it is given to, the value, and words the failure message must contain.

    ``names_option`` is False where ansible-core's own type validation fails with a message
    that does not name the option (a known ansible-core limitation, see ``test_ansible_core_messages``).
    """

    option: str
    value: Any
    words: str
    names_option: bool = True

    def id(self) -> str:
        """A readable test id."""
        return f"{self.option}={json.dumps(self.value, ensure_ascii=True)[:40]}"


def cases(option: str, words: str, *values: Any) -> list[Case]:
    """Cases of one option that fail with the same words."""
    return [Case(option, value, words) for value in values]


HOST_RULE = "host must be the miner's IP address or DNS name"
#: How the validation messages name the password option (never by an account name, issue 14).
PASSWORD_OPTION = "password (the password that lets the module change the miner)"
#: Values of the connection options every module has.
CONNECTION_CASES = [
    *cases("host", "host must not be empty", "", "   "),
    *cases("host", HOST_RULE, "127.0.0.1:4028", "stratum+tcp://10.0.0.1", "10.0.0.1\x00", "10.0.0.1\nrm -rf /", "miner 1", "münchen.example",
           JSON_FRAGMENT, "summary+pools", "'10.0.0.1'", "-miner", ["10.0.0.1"], {"ip": "10.0.0.1"}),
    *cases("host", "host is longer than 253 characters", "m" * 254, "a." * 200),
    *cases("host", "host is not a valid IPv4 address", "999.1.1.1", "10.0.0", "123"),
    *cases("port", "port must be between 1 and 65535", 0, -1, 65536, 10**12, True),
    *cases("port", "argument 'port' is of type", "4028/tcp", 1.5, [4028], {"port": 4028}, "", "nan"),
    *cases("timeout", "timeout must be more than 0 and at most 300 seconds", 0, -1, 301, 1e9, "nan", "inf"),
    *cases("timeout", "argument 'timeout' is of type", "5s", [5], {"s": 5}),
    *cases("retries", "retries must be between 0 and 10", -1, 11, True),
    *cases("retries", "argument 'retries' is of type", "2x", 1.5, [2]),
    *cases("api_version", "value of api_version must be one of: auto, 2, 3", "4", "v3", "3.0", "", "AUTO", ["3"]),
    *cases("api3_port", "api3_port must be between 1 and 65535", 0, -1, 65536, True),
    *cases("api3_port", "argument 'api3_port' is of type", "4433/tcp", 1.5),
    *cases("api3_account", "value of api3_account must be one of: super, user1, user2, user3", "root", "admin", "", "SUPER"),
    *cases("password", f"{PASSWORD_OPTION} must not contain spaces", "hunter 2", "tab\there", "linefeed\n"),
    *cases("password", f"{PASSWORD_OPTION} must contain printable ASCII", "nul\x00byte", "bell\x07", "kennwört", "密码"),
    *cases("password", f"{PASSWORD_OPTION} must not contain quotes", "it's", 'say"cheese', "back\\slash", JSON_FRAGMENT[:20],
           ["secret_in_a_list"], {"secret": "in_a_dict"}),
    *cases("password", f"{PASSWORD_OPTION} is longer than 128 characters", "p" * 129, "x" * 100000),
]

POOL_RULE_URL = "pool 1 url:"
POOL_RULE_USER = "pool 1 user:"
POOL_RULE_PASSWORD = "pool 1 password:"


def pool_case(field: str, value: Any, words: str) -> Case:
    """A case of one field of the first pool (the others valid)."""
    return Case(f"pools[0].{field}", value, words)


MODULE_CASES = {
    "whatsminer_facts": [
        *cases("gather_subset", "in gather_subset", ["bogus"], [""], ["!"], ["summary+pools"], [JSON_FRAGMENT], ["dévice"], ["dev\x00ice"],
               ["x" * 10000], [5], "status,bogus"),
        *cases("gather_subset", "argument 'gather_subset' is of type", {"status": True}),
        Case("gather_subsets", ["all"], "gather_subsets"),
    ],
    "whatsminer_pools": [
        *cases("pools", "pools: give 1 to 3 pools", [], VALID_POOLS * 4),
        Case("pools", "pool.example.com:3333", "dictionary requested", names_option=False),
        Case("pools", [["stratum+tcp://pool.example.com:3333", "w"]], "in the sub parameter field 'pools'"),
        Case("pools", [{"url": "pool.example.com:3333", "user": "w", "worker": "w"}], "worker"),
        *[pool_case("url", value, POOL_RULE_URL) for value in (
            None, "", "   ", 5, "http://pool.example.com:3333", "pool.example.com", "pool.example.com:0", "pool.example.com:70000",
            "pool.example.com:3333/eu", "user:pass@pool.example.com:3333", "pool+summary.example.com:3333", 'pool".example.com:3333',
            "pool.exa\nmple.com:3333", "pool\x00.example.com:3333", "pööl.example.com:3333", JSON_FRAGMENT, "p" * 250 + ":3333",
            ["pool.example.com:3333"], "[::1:3333", "999.1.2.3:3333")],
        *[pool_case("user", value, POOL_RULE_USER) for value in (
            None, "", "farm w1", "farm\x07w1", "w" * 129, 'w"1', "wörker", JSON_FRAGMENT, "w\\1", ["farm.w1"])],
        *[pool_case("password", value, POOL_RULE_PASSWORD) for value in (
            "", "pass word", "nul\x00", "p" * 129, "p'w", "pässwort", JSON_FRAGMENT, {"secret": "value"})],
        *cases("update_password", "update_password", "sometimes", "", 1, ["always"], "ALWAYS"),
        *cases("verify_timeout", "verify_timeout must be more than 0 and at most 600 seconds", 0, -1, 601, "nan", "inf"),
        *cases("verify_timeout", "argument 'verify_timeout' is of type", "10s", [10]),
    ],
    "whatsminer_power": [
        Case("mode", None, "Nothing to manage: give at least one of mining, mode, power_limit or power_percent"),
        *cases("mining", "argument 'mining' is of type", "maybe", 2, [True], {"on": True}, "truee"),
        *cases("mode", "value of mode must be one of: low, normal, high", "turbo", "", "LOW", 1, ["low"], "low; reboot", JSON_FRAGMENT),
        *cases("power_limit", "power_limit must be a number of watts between 1 and 99998", 0, -1, 100000, 2**63, True),
        *cases("power_limit", "argument 'power_limit' is of type", "3000W", 1.5, "", [3000], "nan"),
        *cases("wait", "argument 'wait' is of type", "x", 2, ["yes"]),
        *cases("wait_timeout", "wait_timeout must be more than 0 and at most 3600 seconds", 0, -1, 3601, "nan", "inf"),
        *cases("wait_timeout", "argument 'wait_timeout' is of type", "5m", [300]),
    ],
    "whatsminer_password": [
        *cases("new_password", "new_password must be 1 to 8 letters, digits or underscores", "", "nine_char", "with-dash", "sp ace",
               "tab\tx", "nul\x00", "kennwört", "密码", "it's", 'say"x', "back\\x", JSON_FRAGMENT, "p" * 100000),
        *cases("new_password", "new_password must not be a factory password", "admin", "super", "user1", "user3"),
    ],
    "whatsminer_reboot": [
        *cases("operation", "value of operation must be one of: reboot, restart", "halt", "", "REBOOT", 1, ["reboot"], "reboot; rm", JSON_FRAGMENT),
        *cases("reboot_timeout", "reboot_timeout must be more than 0 and at most 3600 seconds", 0, -1, 3601, "nan", "inf"),
        *cases("reboot_timeout", "argument 'reboot_timeout' is of type", "5m", [600]),
        *cases("wait_for_hashing", "argument 'wait_for_hashing' is of type", "maybe", 2, ["yes"]),
    ],
    "whatsminer_firmware": [
        *cases("version", "version must be the firmware version as the miner reports it", "", " ", "1.0; reboot", "../../etc", "v" * 65,
               JSON_FRAGMENT, "ver\x00sion", "vérsion", "-rf"),
        *cases("version", "header says version", "20240924.14.Rel2"),
        *cases("image", "image must be the path of the firmware file", "", "img\nrm.bin", "x" * 4097),
        *cases("image", "cannot be read", "/nonexistent/firmware.bin", TINY_IMAGE + "/inside"),
        *cases("image", "is not a regular file", "/dev/zero", "/", "/dev/urandom"),
        *cases("image", "is not the size of a firmware image", TINY_IMAGE),
        *cases("checksum", "checksum must be the image's sha256", "", "abc", "md5:" + "0" * 32, "sha256:" + "g" * 64, "0" * 63, "0" * 65,
               "sha512:" + "0" * 128, JSON_FRAGMENT),
        *cases("checksum", "not the checksum given", "0" * 64, "sha256:" + "F" * 64),
        *cases("reboot_timeout", "reboot_timeout must be more than 0 and at most 3600 seconds", 0, -1, 3601, "nan", "inf"),
        *cases("allow_unknown_platform", "argument 'allow_unknown_platform' is of type", "maybe", 2),
    ],
    "whatsminer_settings": [
        Case("fast_boot", None, "Nothing to manage: give at least one of hostname"),
        *cases("hostname", "hostname must be 1-63 letters, digits or dashes", "", "-rack1", "a" * 64, "rack 1", "räck1", "rack1;reboot",
               "rack\x00", JSON_FRAGMENT, "x" * 100000),
        *cases("timezone", "timezone must be 1-64 printable characters without spaces", "", "Europe/ Berlin", "Zürich", "z" * 65),
        *cases("timezone_posix", "timezone_posix needs timezone", "UTC0"),
        *cases("ntp_servers", "ntp_servers entry", ["ntp one"], ["a,b"], [JSON_FRAGMENT], ["-ntp"], ["ntp\n1"]),
        *cases("ntp_servers", "ntp_servers must be a list of 1-8", [], ["ntp.example"] * 9),
        *cases("led", "value of led must be one of: auto, locate", "blink", "", "AUTO", ["auto"]),
        *cases("led_pattern", "led_pattern", [{"color": "red", "period": 100, "duration": 200}], [{"color": "red", "period": -1, "duration": 0}],
               [{"color": "red", "period": 100, "duration": 50}] * 3, [{"color": "blue", "period": 100, "duration": 50}]),
        *cases("temperature_offset", "temperature_offset must be a whole number -30..0", 1, -31, 2**63),
        *cases("temperature_offset", "argument 'temperature_offset' is of type", "-5C", 1.5),
        *cases("upfreq_speed", "upfreq_speed must be a whole number 0..10", 11, -1),
        *cases("web_pools", "argument 'web_pools' is of type", "maybe", 2),
        *cases("update_unverifiable", "value of update_unverifiable must be one of: never, always", "sometimes", ""),
        *cases("wait_timeout", "wait_timeout must be more than 0 and at most 3600 seconds", 0, -1, 3601, "nan", "inf"),
    ],
}

ALL_CASES = [(module, case) for module in MODULES for case in CONNECTION_CASES]
ALL_CASES += [(module, case) for module, module_cases in MODULE_CASES.items() for case in module_cases]


def with_value(args: dict, option: str, value: Any) -> dict:
    """``args`` with ``option`` set to ``value``; ``pools[0].field`` sets a field of the first pool (``None`` removes it)."""
    args = json.loads(json.dumps(args))
    if option.startswith("pools[0]."):
        field = option.split(".", 1)[1]
        pool = dict(VALID_POOLS[0])
        if value is None:
            pool.pop(field, None)
        else:
            pool[field] = value
        args["pools"] = [pool]
    elif value is None:
        args.pop(option, None)
    else:
        args[option] = value
    return args


def run(path: str, module: str, args: dict, run_module: Any) -> dict:
    """Run ``module`` with ``args`` through one execution path; the result as the task would get it."""
    main, action_class, _args = MODULES[module]
    if path == "module":
        return dict(run_module(main, args))
    return run_in_process(action_class, module, args)


def secrets_of(case: Case) -> list[str]:
    """The texts a failure must not show: the value of a password option (long enough to be found)."""
    if case.option not in ("password", "new_password", "pools[0].password") or not isinstance(case.value, str) or len(case.value.strip()) < 4:
        return []
    return [case.value.strip()]


@pytest.fixture(name="miner")
def fixture_miner(fleet):
    """The 2024 miner of the shared fleet, with the admin password of the tests."""
    miner = next(miner for miner in fleet.miners if miner.profile == "2024")
    miner.reset(clear_log=True)
    miner.set_state(admin_password=ADMIN)
    return miner


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("module, case", ALL_CASES, ids=[f"{module.removeprefix('whatsminer_')}-{case.id()}" for module, case in ALL_CASES])
def test_invalid_value_fails_validation_without_connecting(miner, run_module, figures, path, module, case):
    args = with_value({**connection_args(miner, password=ADMIN), **MODULES[module][2]}, case.option, case.value)
    connections = miner.counters.connections
    result = run(path, module, args, run_module)
    opened = miner.counters.connections - connections
    figures.add(SUITE, cases=1, connections=opened)
    text = json.dumps(result, default=str)
    assert result.get("failed") is True, f"accepted: {text[:300]}"
    assert case.words in result["msg"], result["msg"]
    if case.names_option:
        assert case.option.split("[")[0].split(".")[0] in result["msg"]
    assert opened == 0, "the module connected to the miner before validating its input"
    assert "Traceback" not in text and "module_stderr" not in result
    for secret in secrets_of(case):
        assert secret not in text


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("module", MODULES)
def test_valid_input_does_connect(miner, run_module, path, module):
    """The counter the cases rely on counts: the same arguments with valid values reach the miner."""
    connections = miner.counters.connections
    result = run(path, module, {**connection_args(miner, password=ADMIN), **MODULES[module][2]}, run_module)
    assert not result.get("failed"), result.get("msg")
    assert miner.counters.connections > connections


@pytest.mark.xfail(strict=True, reason="ansible-core validates the elements of a list of dictionaries itself, and its message "
                   "('dictionary requested, could not parse JSON or key=value') does not name the option")
@pytest.mark.parametrize("case", [case for case in MODULE_CASES["whatsminer_pools"] if not case.names_option], ids=Case.id)
def test_ansible_core_messages(miner, run_module, case):
    result = run("module", "whatsminer_pools", with_value({**connection_args(miner), "pools": VALID_POOLS}, case.option, case.value), run_module)
    assert case.option in result["msg"]
