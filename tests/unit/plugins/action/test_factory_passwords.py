# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Messages stay readable when the password is a factory password (issue 14, item 7).

Ansible hides every occurrence of a no_log value in a module's output. The factory passwords equal
the account names (API 2 ``admin``, API 3 ``super``, ``user1``...), so a message that named the
account or quoted the factory password turned into ``account '********' ... is '********'``.
Each failure below runs on both execution paths (the module, and the action plugin in the
worker), with the factory password given, against a simulated miner; the masked message must
still say what failed and what to do.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_pools as pools_action
from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_power as power_action
from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_pools, whatsminer_power
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import FAST_CONFIG, Fleet, FleetStarter, connection_args
from ansible_collections.hashfarm.whatsminer.tests.unit.plugins.action.action_harness import module_output, run_in_process

MODULES = {
    "whatsminer_pools": (whatsminer_pools.main, pools_action.ActionModule,
                         {"pools": [{"url": "stratum+tcp://pool.example.com:3333", "user": "farm.w1"}]}),
    "whatsminer_power": (whatsminer_power.main, power_action.ActionModule, {"mining": False, "wait_timeout": 5.0}),
}
MASK = "********"
OTHER_PASSWORD = "other_1"

# (name, profile, module password, extra module options, miner setup, words the message must keep)
CASES = [
    ("API 2 wrong password", "2024", "admin", {"api_version": "2"}, {"password": OTHER_PASSWORD},
     ["password given to the module is wrong", "Check the password given to the module", "API 2 write password", "factory password"]),
    ("API 2 write API disabled", "2024", "admin", {"api_version": "2"}, {"write_api_enabled": False},
     ["write API is disabled", "change the miner's factory password first", "Miner API Switch"]),
    ("API 3 wrong password", "3.x", "super", {"api_version": "3"}, {"v3_password": OTHER_PASSWORD},
     ["password given for the API 3 account in api3_account is wrong", "api3_account option gives the factory password"]),
    ("API 3 write API disabled", "3.x", "super", {"api_version": "3"}, {"write_api_enabled": False},
     ["refuses writes from the API 3 account given in api3_account", "change the miner's factory password first"]),
    ("API 3 user account without permission", "3.x", "user1", {"api_version": "3", "api3_account": "user1"}, {},
     ["refuses writes from the API 3 account given in api3_account", "that account may not write"]),
]


@pytest.fixture(name="start_miner")
def fixture_start_miner() -> Iterator[Callable[..., Any]]:
    """One simulated miner of a profile; ``password``/``v3_password`` are its own, other keys its true state."""
    with FleetStarter(FAST_CONFIG, address_mode="ports") as starter:

        def start(profile: str, setup: dict) -> Any:
            setup = dict(setup)
            fleet: Fleet = starter(count=1, profiles=profile, password=setup.pop("password", "admin"),
                                   v3_password=setup.pop("v3_password", "super"))
            miner = fleet.miners[0]
            if setup:
                miner.set_state(**setup)
            return miner

        yield start


@pytest.mark.parametrize("module_name", sorted(MODULES))
@pytest.mark.parametrize("name, profile, password, options, setup, words", CASES, ids=[case[0] for case in CASES])
def test_failure_messages_stay_readable_with_a_factory_password(  # pylint: disable=too-many-arguments,too-many-positional-arguments
        start_miner, capsys, module_name, name, profile, password, options, setup, words):
    del name
    main, action_class, module_options = MODULES[module_name]
    miner = start_miner(profile, setup)
    args = connection_args(miner, password=password, **options, **module_options)
    results = {
        "module": module_output(main, module_name, args, capsys),
        "in_process": run_in_process(action_class, module_name, args),
    }
    for path, result in results.items():
        message = result.get("msg", "")
        assert result.get("failed") is True, (path, result)
        assert MASK not in message, (path, message)
        for word in words:
            assert word in message, (path, word, message)
        assert f"{miner.host}:" in message  # the miner is named
