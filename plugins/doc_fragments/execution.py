# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of how the modules of the collection run (in the controller's worker or as modules)."""

from __future__ import annotations


class ModuleDocFragment:
    """The note on the action plugins of the same names and the variable whatsminer_execution."""

    DOCUMENTATION = r"""
options: {}
notes:
  - B(Execution.) The module has an action plugin of the same name. When the task runs on the
    controller (C(ansible_connection=local), or C(delegate_to) V(localhost)), the action plugin runs
    the module's code in Ansible's worker process instead of starting the module in a new Python
    interpreter, which saves about 150 ms of controller CPU per host and task. Arguments, check
    mode, diff mode, hidden (no_log) values, results, warnings and errors are the same as the
    module's. The module is started as usual when the task is delegated to a host whose connection
    is not local (for example a jump host inside the farm's network), uses C(become) or C(async),
    or when the variable C(whatsminer_execution) is V(module) (the default is V(auto)). In the
    worker process the controller's Python and libraries are used, not C(ansible_python_interpreter).
"""
