# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection's action plugins and modules side by side, outside ansible-playbook.

``make_action`` builds an action plugin the way the task executor does (a task, a real connection
plugin, a play context, a templar). ``module_output`` runs a module's ``main`` in this process and
returns what ``ActionBase._execute_module`` would hand on: the printed JSON decoded with the module
profile and passed through ``as_module_result``. ``comparable`` turns warnings into their texts, the
only form in which the two paths differ before the task executor turns both into the same objects.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from ansible.module_utils.common.json import Direction, get_module_decoder
from ansible.module_utils.testing import patch_module_args
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader
from ansible.template import Templar

from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._ansible_compat import (
    as_module_process,
    as_module_result,
    inject_invocation,
    invocation_module_argument,
)
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._in_process import InProcessModuleAction


class FakeTask:  # pylint: disable=too-few-public-methods,too-many-instance-attributes
    """The attributes of a Task that ActionBase and the collection's action plugins read."""

    def __init__(self, action: str, args: dict, *, check_mode: bool = False, diff: bool = False, async_val: int = 0,  # pylint: disable=too-many-arguments
                 delegate_to: str | None = None, environment: list | None = None) -> None:
        self.action = action
        self.args = dict(args)
        self.check_mode = check_mode
        self.diff = diff
        self.async_val = async_val
        self.poll = 0
        self.delegate_to = delegate_to
        self.environment = environment or []
        self.no_log = False


def make_action(action_class: type[InProcessModuleAction], module_name: str, args: dict, *, connection: str = "local",
                become: bool = False, **task_options: Any) -> InProcessModuleAction:
    """An action plugin for a task running ``module_name`` with ``args`` over the ``connection`` plugin."""
    play_context = PlayContext()
    play_context.become = become
    return action_class(
        task=FakeTask(f"hashfarm.whatsminer.{module_name}", args, **task_options),
        connection=connection_loader.get(connection, play_context),
        play_context=play_context,
        loader=DataLoader(),
        templar=Templar(loader=DataLoader()),
        shared_loader_obj=None,
    )


def run_in_process(action_class: type[InProcessModuleAction], module_name: str, args: dict, *, invocation: bool = True, **task_options: Any) -> dict:
    """The result of the action plugin's in-process path for a task on the controller.

    ``invocation``: the task asks for ``invocation.module_args`` in its result (the variable
    ``ansible_inject_invocation``; ansible-core before 2.21 always returns it).
    """
    action = make_action(action_class, module_name, args, **task_options)
    assert action.execution_path({}).path == "in_process"
    return action.run(task_vars={"ansible_inject_invocation": invocation})


def module_output(main: Callable[[], None], module_name: str, args: dict, capsys: Any, *,  # pylint: disable=too-many-arguments
                  check_mode: bool = False, diff: bool = False, invocation: bool = True) -> dict:
    """What ``_execute_module`` returns for a run of the module ``main`` with ``args`` (this process, no interpreter).

    ``invocation`` as for ``run_in_process``. ``_ansible_no_log`` as ``ActionBase`` sets it with ANSIBLE_NO_TARGET_SYSLOG:
    a test writes nothing to the machine's syslog.
    """
    module_args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff, _ansible_module_name=f"hashfarm.whatsminer.{module_name}",
                       _ansible_no_log=True, **invocation_module_argument(inject_invocation({"ansible_inject_invocation": invocation})))
    capsys.readouterr()
    with patch_module_args(module_args), as_module_process():
        try:
            main()
        except SystemExit:
            pass
    return as_module_result(json.loads(capsys.readouterr().out, cls=get_module_decoder("legacy", Direction.MODULE_TO_CONTROLLER)))


def comparable(result: dict) -> dict:
    """``result`` with its warnings as texts (a module returns warning objects, the action plugin texts)."""
    result = dict(result)
    if "warnings" in result:
        result["warnings"] = [getattr(getattr(warning, "event", None), "msg", warning) for warning in result["warnings"]]
    return result
