# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The in-process path of each action plugin returns what its module returns, with the same traffic.

Every scenario runs through the module (``main`` in this process, its printed JSON decoded as the
controller decodes it) and through the action plugin's in-process path, each against a freshly
reset simulated miner of every firmware profile. The results must be equal (live measurements
aside), ``invocation`` and the masking of no_log values included, and the miner must see exactly
the expected connections and API tokens on both paths.

Traffic: every run that contacts the miner starts with the ``api_version: auto`` probe (one
``get_version`` on port 4028). On the 3.x miner the connections are those of both ports, and
the salt read that precedes signed writes counts where API 2 counts tokens (one per writing run).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_facts as facts_action
from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_pools as pools_action
from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_power as power_action
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol import crypto
from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_facts, whatsminer_pools, whatsminer_power
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._ansible_compat import inject_invocation_is_a_setting
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.live_values import without_live_values
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import AUTO_PROBE, PROFILES, connection_args, connections, tokens
from ansible_collections.hashfarm.whatsminer.tests.unit.plugins.action.action_harness import comparable, module_output, run_in_process

MODULES = {
    "whatsminer_facts": (whatsminer_facts.main, facts_action.ActionModule),
    "whatsminer_pools": (whatsminer_pools.main, pools_action.ActionModule),
    "whatsminer_power": (whatsminer_power.main, power_action.ActionModule),
}
ADMIN = "admin"
DESIRED_POOLS = [{"url": "stratum+tcp://paths.example.com:3333", "user": "hashfarm.paths"}]
MASKED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


@dataclass
class Scenario:  # pylint: disable=too-many-instance-attributes
    """One task: module, arguments, modes, how the miner is set up, and the traffic it must cause."""

    name: str
    module: str
    args: dict
    connections: int
    tokens: int = 0
    connections_on_1_4: int | None = None
    connections_on_3: int | None = None
    check_mode: bool = False
    diff: bool = False
    setup: Callable[[Any], None] = field(default=lambda miner: None)
    failed: bool = False
    changed: bool = False

    def expected_connections(self, profile: str) -> int:
        """The connections on a miner of ``profile`` (1.x firmware lacks some commands; 3.x speaks API 3), the probe included."""
        connections = self.connections
        if profile == "1.4.x" and self.connections_on_1_4 is not None:
            connections = self.connections_on_1_4
        elif profile == "3.x" and self.connections_on_3 is not None:
            connections = self.connections_on_3
        return connections + AUTO_PROBE if connections else 0


SCENARIOS = [
    Scenario("facts of every subset", "whatsminer_facts", {}, connections=5, connections_on_1_4=3, connections_on_3=3),
    Scenario("facts in check mode", "whatsminer_facts", {}, connections=5, connections_on_1_4=3, connections_on_3=3, check_mode=True),
    Scenario("facts of the status subset", "whatsminer_facts", {"gather_subset": ["status"]}, connections=2, connections_on_3=3),
    Scenario("facts of the pools subset", "whatsminer_facts", {"gather_subset": "pools"}, connections=1),
    Scenario("facts when get_psu is unknown (a warning)", "whatsminer_facts", {"gather_subset": ["device"]}, connections=3, connections_on_1_4=2,
             connections_on_3=2,
             setup=lambda miner: miner.add_fault(kind="code", code=14, commands=["get_psu"])),
    Scenario("facts of a bad subset", "whatsminer_facts", {"gather_subset": ["hardware"]}, connections=0, failed=True),
    Scenario("facts of an unreachable miner", "whatsminer_facts", {"retries": 0}, connections=0, failed=True,
             setup=lambda miner: miner.configure(refuse_connections=True)),
    Scenario("pools in check mode with diff, pool password x", "whatsminer_pools",
             {"password": ADMIN, "pools": [dict(DESIRED_POOLS[0], password="x")]}, connections=1, check_mode=True, diff=True, changed=True),
    Scenario("pools changed", "whatsminer_pools", {"password": ADMIN, "pools": DESIRED_POOLS}, connections=4, tokens=1, changed=True),
    Scenario("pools unchanged", "whatsminer_pools", {"password": ADMIN, "pools": DESIRED_POOLS}, connections=1,
             setup=lambda miner: miner.set_state(pools=DESIRED_POOLS)),
    Scenario("pools with a URL without a port", "whatsminer_pools", {"password": ADMIN, "pools": [{"url": "paths.example.com", "user": "u"}]},
             connections=0, failed=True),
    Scenario("pools with the write API disabled", "whatsminer_pools", {"password": ADMIN, "pools": DESIRED_POOLS}, connections=3, tokens=1,
             failed=True, setup=lambda miner: miner.set_state(write_api_enabled=False)),
    Scenario("power unchanged", "whatsminer_power", {"password": ADMIN, "mining": True}, connections=2, connections_on_3=3),
    Scenario("power in check mode with diff", "whatsminer_power", {"password": ADMIN, "mining": False}, connections=2, connections_on_3=3,
             check_mode=True, diff=True,
             changed=True),
    Scenario("power changed", "whatsminer_power", {"password": ADMIN, "mining": False}, connections=6, connections_on_3=8, tokens=1, changed=True),
    Scenario("power with a limit of 0 W", "whatsminer_power", {"password": ADMIN, "power_limit": 0}, connections=0, failed=True),
    Scenario("power with the write API disabled", "whatsminer_power", {"password": ADMIN, "mining": False}, connections=4, connections_on_3=5,
             tokens=1, failed=True,
             setup=lambda miner: miner.set_state(write_api_enabled=False)),
]


def miner_of(fleet, profile):
    """The fleet's miner running ``profile``."""
    return next(miner for miner in fleet.miners if miner.profile == profile)


def traffic(miner) -> tuple[int, int]:
    """Connections to both ports, and tokens issued (API 2) or salts read for signing (API 3), so far."""
    return connections(miner), tokens(miner)


def run_both_paths(miner, scenario: Scenario, capsys) -> dict[str, tuple[dict, int, int]]:
    """``{"module": (result, connections, tokens), "in_process": (...)}`` of ``scenario`` against a reset ``miner``."""
    main, action_class = MODULES[scenario.module]
    args = connection_args(miner, **scenario.args)
    outcomes = {}
    for path in ("module", "in_process"):
        miner.reset()
        scenario.setup(miner)
        connections, tokens = traffic(miner)
        if path == "module":
            result = module_output(main, scenario.module, args, capsys, check_mode=scenario.check_mode, diff=scenario.diff)
        else:
            result = run_in_process(action_class, scenario.module, args, check_mode=scenario.check_mode, diff=scenario.diff)
        connections_after, tokens_after = traffic(miner)
        outcomes[path] = (result, connections_after - connections, tokens_after - tokens)
    miner.reset()
    return outcomes


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_both_paths_return_the_same_result_with_the_same_traffic(fleet, capsys, profile, scenario):
    miner = miner_of(fleet, profile)
    outcomes = run_both_paths(miner, scenario, capsys)
    (module_result, module_connections, module_tokens), (action_result, action_connections, action_tokens) = outcomes["module"], outcomes["in_process"]

    assert without_live_values(comparable(action_result)) == without_live_values(comparable(module_result))
    assert module_connections == action_connections == scenario.expected_connections(profile)
    assert module_tokens == action_tokens == scenario.tokens
    assert bool(action_result.get("failed")) is scenario.failed, action_result.get("msg")
    assert action_result.get("changed", False) is scenario.changed
    assert action_result["invocation"]["module_args"]["host"] == miner.host
    if "password" in scenario.args:
        assert action_result["invocation"]["module_args"]["password"] == MASKED
    assert ADMIN not in str(action_result["invocation"]) or scenario.args.get("password") != ADMIN


def test_a_short_pool_password_is_masked_alike_everywhere(fleet, capsys):
    # AnsibleModule masks every occurrence of a no_log value, so the pool password "x" hides in
    # URLs and users too; the in-process path must hide exactly the same.
    scenario = next(scenario for scenario in SCENARIOS if scenario.name.startswith("pools in check mode"))
    outcomes = run_both_paths(miner_of(fleet, "2024"), scenario, capsys)
    action_result = outcomes["in_process"][0]
    assert action_result["pools"][0]["url"] == "stratum+tcp://paths.e********ample.com:3333"
    assert action_result["invocation"]["module_args"]["pools"][0]["password"] == MASKED
    assert action_result["diff"]["after"] == outcomes["module"][0]["diff"]["after"]


def test_warnings_are_returned_alike(fleet, capsys):
    scenario = next(scenario for scenario in SCENARIOS if "get_psu" in scenario.name)
    outcomes = run_both_paths(miner_of(fleet, "2.0.x"), scenario, capsys)
    # ansible-core 2.21 hands on the warnings of both paths as warning objects, earlier ones the in-process path's as texts.
    warnings = comparable(outcomes["in_process"][0])["warnings"]
    assert comparable(outcomes["module"][0])["warnings"] == warnings
    assert len(warnings) == 1 and "does not know 'get_psu'" in warnings[0]


@pytest.mark.parametrize("args, message", [
    ({"unknown_option": 1}, "Unsupported parameters for (hashfarm.whatsminer.whatsminer_pools) module: unknown_option. Supported parameters include: "),
    ({"port": "not-a-port"}, "argument 'port' is of type str and we were unable to convert to int"),
    ({"update_password": "sometimes"}, "value of update_password must be one of: on_create, always, got: sometimes"),
    ({"pools": [{"url": "pool.example.com:3333", "user": "u", "pasword": "typo"}]},
     "Unsupported parameters for (hashfarm.whatsminer.whatsminer_pools) module: pools.pasword."),
])
def test_invalid_arguments_fail_with_the_module_text(fleet, capsys, args, message):
    miner = miner_of(fleet, "2024")
    full_args = {**connection_args(miner, password=ADMIN, pools=DESIRED_POOLS), **args}
    module_result = module_output(whatsminer_pools.main, "whatsminer_pools", full_args, capsys)
    action_result = run_in_process(pools_action.ActionModule, "whatsminer_pools", full_args)
    assert action_result == module_result
    assert action_result["failed"] is True
    assert message in action_result["msg"]


@pytest.mark.parametrize("invocation", [True, False])
def test_invocation_follows_the_inject_invocation_setting_on_both_paths(fleet, capsys, invocation):
    # ansible-core 2.21 returns invocation only when INJECT_INVOCATION asks for it; before, always.
    miner = miner_of(fleet, "2024")
    args = connection_args(miner, gather_subset=["status"])
    module_result = module_output(whatsminer_facts.main, "whatsminer_facts", args, capsys, invocation=invocation)
    action_result = run_in_process(facts_action.ActionModule, "whatsminer_facts", args, invocation=invocation)
    assert without_live_values(action_result) == without_live_values(module_result)
    assert ("invocation" in action_result) is (invocation or not inject_invocation_is_a_setting())


def test_a_missing_host_fails_with_the_module_text(capsys, monkeypatch):
    monkeypatch.delenv("WHATSMINER_HOST", raising=False)
    module_result = module_output(whatsminer_facts.main, "whatsminer_facts", {}, capsys)
    action_result = run_in_process(facts_action.ActionModule, "whatsminer_facts", {})
    assert action_result == module_result
    assert action_result["msg"] == "missing required arguments: host"


def test_environment_fallbacks_come_from_the_task_environment(fleet, capsys, monkeypatch):
    # The module's process has the task's environment; the in-process path applies it while validating.
    miner = miner_of(fleet, "2.0.x")
    miner.reset()
    for name in ("WHATSMINER_HOST", "WHATSMINER_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    environment = {"WHATSMINER_HOST": miner.host, "WHATSMINER_PASSWORD": "env_Secret_1"}
    args = {"port": miner.port, "gather_subset": ["pools"]}

    action_result = run_in_process(facts_action.ActionModule, "whatsminer_facts", args, environment=[environment])
    assert "WHATSMINER_HOST" not in os.environ and "WHATSMINER_PASSWORD" not in os.environ
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    module_result = module_output(whatsminer_facts.main, "whatsminer_facts", args, capsys)

    assert without_live_values(action_result) == without_live_values(module_result)
    assert action_result["invocation"]["module_args"]["host"] == miner.host
    assert action_result["invocation"]["module_args"]["password"] == MASKED


# pycryptodome is missing for a write only where cryptography's AES is not already imported (a module's own process).
@pytest.mark.parametrize("blocked, library", [(("Crypto", "Cryptodome", crypto.LOADED_CRYPTOGRAPHY_CIPHERS), "pycryptodome"), (("passlib",), "passlib")])
def test_a_missing_library_fails_with_missing_required_lib(fleet, capsys, monkeypatch, blocked, library):
    miner = miner_of(fleet, "2024")
    for name in [name for name in sys.modules if name.split(".")[0] in blocked]:
        monkeypatch.delitem(sys.modules, name)
    for name in blocked:
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    scenario = next(scenario for scenario in SCENARIOS if scenario.name == "pools changed")
    outcomes = run_both_paths(miner, scenario, capsys)
    module_result, action_result = outcomes["module"][0], outcomes["in_process"][0]
    assert action_result == module_result
    assert f"Failed to import the required Python library ({library})" in action_result["msg"]
    assert "exception" not in action_result or "Traceback" not in str(action_result["exception"])
    assert outcomes["in_process"][1:] == outcomes["module"][1:] == (AUTO_PROBE + 1, 0)  # the probe and the pools read: nothing was sent
