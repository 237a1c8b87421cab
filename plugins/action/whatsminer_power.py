# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of whatsminer_power: the module's logic in the controller's worker when the task runs there.

Documented by the module of the same name; see plugin_utils/_in_process.py for when it runs the
module normally instead.
"""

from __future__ import annotations

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _power
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol import crypto
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._in_process import InProcessModuleAction

# Writes need md5-crypt: import passlib once, in the controller's main process that loads this
# plugin before forking the task's workers, not in every writing worker (see _protocol/crypto.py).
crypto.preload_md5_crypt()


class ActionModule(InProcessModuleAction):
    """whatsminer_power in the worker process, or as the module (delegated to another host, whatsminer_execution=module)."""

    argument_spec = _power.ARGUMENT_SPEC
    logic = staticmethod(_power.logic)
