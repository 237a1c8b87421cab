# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record every task result of a playbook run as JSON lines, for the fleet_* integration targets."""

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_record
type: aggregate
short_description: Record task results as JSON lines (tests of hashfarm.whatsminer)
description:
  - Appends one JSON object per task result and host to the file named by E(FLEET_RECORD) with
    the host, the task name, the action, whether it changed, failed or was skipped, the diff and
    the module's C(commands), so that tests can compare a check run with a real run.
  - Writes nothing when E(FLEET_RECORD) is not set.
options: {}
requirements:
  - enable in configuration (ANSIBLE_CALLBACKS_ENABLED)
"""

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    """Append task results to $FLEET_RECORD."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "fleet_record"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, outcome, result):
        path = os.environ.get("FLEET_RECORD")
        if not path:
            return
        values = result.result
        entry = {
            "host": result.host.get_name(),
            "task": result.task.get_name(),
            "action": result.task.action,
            "outcome": outcome,
            "changed": bool(values.get("changed", False)),
            "diff": values.get("diff"),
            "commands": values.get("commands"),
            "msg": values.get("msg") if outcome == "failed" else None,
        }
        with open(path, "a", encoding="utf-8") as record:
            record.write(json.dumps(entry, sort_keys=True, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._record("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record("failed", result)

    def v2_runner_on_skipped(self, result):
        self._record("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._record("unreachable", result)
