# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which path an action plugin takes: its connection, delegate_to, become, async and whatsminer_execution."""

from __future__ import annotations

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_facts as facts_action
from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_pools as pools_action
from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_power as power_action
from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _facts, _pools, _power
from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_facts, whatsminer_pools, whatsminer_power
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._in_process import IN_PROCESS, MODULE
from ansible_collections.hashfarm.whatsminer.tests.unit.plugins.action.action_harness import make_action

ACTIONS = {
    "whatsminer_facts": facts_action.ActionModule,
    "whatsminer_pools": pools_action.ActionModule,
    "whatsminer_power": power_action.ActionModule,
}
MODULE_RESULT = {"changed": True, "from": "the module"}


@pytest.mark.parametrize("module, action, util", [
    (whatsminer_facts, facts_action.ActionModule, _facts),
    (whatsminer_pools, pools_action.ActionModule, _pools),
    (whatsminer_power, power_action.ActionModule, _power),
])
def test_module_and_action_plugin_share_the_spec_and_logic_objects(module, action, util):
    assert module.ARGUMENT_SPEC is action.argument_spec is util.ARGUMENT_SPEC
    assert module.logic is action.logic is util.logic


@pytest.mark.parametrize("connection, delegate_to, become, async_val, execution, path", [
    # the task runs on the controller: in the worker, unless asked otherwise
    ("local", None, False, 0, None, IN_PROCESS),
    ("local", None, False, 0, "auto", IN_PROCESS),
    ("local", None, False, 0, " Auto ", IN_PROCESS),
    ("local", None, False, 0, "module", MODULE),
    # delegate_to: localhost is the local connection; a jump host reached over SSH runs the module
    ("local", "localhost", False, 0, None, IN_PROCESS),
    ("local", "localhost", False, 0, "module", MODULE),
    ("ssh", "jumphost", False, 0, None, MODULE),
    ("ssh", "jumphost", False, 0, "auto", MODULE),
    # become and async need a module process
    ("local", None, True, 0, None, MODULE),
    ("local", None, False, 30, None, MODULE),
])
@pytest.mark.parametrize("module_name", sorted(ACTIONS))
def test_the_path_follows_connection_delegation_and_whatsminer_execution(  # pylint: disable=too-many-arguments,too-many-positional-arguments
        module_name, connection, delegate_to, become, async_val, execution, path):
    action = make_action(ACTIONS[module_name], module_name, {}, connection=connection, become=become, async_val=async_val, delegate_to=delegate_to)
    task_vars = {} if execution is None else {"whatsminer_execution": execution}
    assert action.execution_path(task_vars).path == path


@pytest.mark.parametrize("execution, connection", [("module", "local"), (None, "ssh")])
def test_the_module_path_runs_the_module_as_the_normal_action_does(monkeypatch, execution, connection):
    calls = []

    def execute_module(**kwargs):
        calls.append(kwargs)
        return dict(MODULE_RESULT)

    action = make_action(pools_action.ActionModule, "whatsminer_pools", {"host": "192.0.2.1", "pools": []}, connection=connection)
    monkeypatch.setattr(action, "_execute_module", execute_module)
    monkeypatch.setattr(action, "_remove_tmp_path", lambda path: calls.append({"removed": path}))
    task_vars = {} if execution is None else {"whatsminer_execution": execution}
    assert action.run(task_vars=task_vars) == MODULE_RESULT
    assert calls == [{"task_vars": task_vars, "wrap_async": False}, {"removed": None}]


def test_an_async_task_runs_the_module_through_the_async_wrapper(monkeypatch):
    calls = []
    action = make_action(facts_action.ActionModule, "whatsminer_facts", {"host": "192.0.2.1"}, async_val=30)
    monkeypatch.setattr(action, "_execute_module", lambda **kwargs: calls.append(kwargs) or {"ansible_job_id": "j1", "started": 1})
    monkeypatch.setattr(action, "_remove_tmp_path", lambda path: calls.append({"removed": path}))
    assert action.run(task_vars={}) == {"ansible_job_id": "j1", "started": 1}
    assert calls == [{"task_vars": {}, "wrap_async": True}]  # the async wrapper removes its own files


def test_the_in_process_path_never_runs_the_module(monkeypatch):
    action = make_action(facts_action.ActionModule, "whatsminer_facts", {"gather_subset": ["nothing"], "host": "192.0.2.1"})
    monkeypatch.setattr(action, "_execute_module", lambda **kwargs: pytest.fail("the module ran"))
    result = action.run(task_vars={})
    assert result["failed"] is True
    assert "Bad subset 'nothing'" in result["msg"]


@pytest.mark.parametrize("value", ["sometimes", "in_process", "", 1, True])
def test_an_unknown_whatsminer_execution_fails_the_task(monkeypatch, value):
    action = make_action(facts_action.ActionModule, "whatsminer_facts", {"host": "192.0.2.1"})
    monkeypatch.setattr(action, "_execute_module", lambda **kwargs: pytest.fail("the module ran"))
    result = action.run(task_vars={"whatsminer_execution": value})
    assert result == {"failed": True, "msg": f"whatsminer_execution must be one of auto, module, got {value!r}"}
