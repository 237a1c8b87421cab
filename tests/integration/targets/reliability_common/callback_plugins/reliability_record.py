# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback plugin of the reliability tests: every task result and the play recap, as JSON lines.

Enabled by ``reliability.sh`` (``ANSIBLE_CALLBACKS_ENABLED=reliability_record``); it appends one
JSON object per line to the file named by ``RELIABILITY_RECORD``:

* ``{"kind": "result", "host", "task", "action", "status", "result"}`` for each task result
  (``status`` is ``ok``, ``failed``, ``ignored`` (failed with ``ignore_errors``), ``skipped`` or
  ``unreachable``; ``result`` is the returned value as callbacks get it, warnings included);
* ``{"kind": "recap", "hosts": {host: {"ok", "changed", "failed", ...}}}`` once per playbook,
  the numbers of the PLAY RECAP.

The checks of the targets read these records instead of parsing the screen output.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: reliability_record
type: aggregate
short_description: Record task results and the recap as JSON lines (reliability tests only)
description:
  - Appends every task result and the play recap to the file named by the RELIABILITY_RECORD environment variable.
requirements:
  - enable in configuration
"""

RECAP_FIELDS = ("ok", "changed", "unreachable", "failures", "skipped", "rescued", "ignored")


class CallbackModule(CallbackBase):
    """Writes task results and recap counts to ``$RELIABILITY_RECORD``."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "reliability_record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._path = os.environ.get("RELIABILITY_RECORD")

    def _write(self, record: dict) -> None:
        if not self._path:
            return
        with open(self._path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(record, default=str, sort_keys=True) + "\n")

    def _record(self, result, status: str) -> None:
        self._write({
            "kind": "result",
            "host": result.host.get_name(),
            "task": result.task.get_name(),
            "action": result.task.action,
            "status": status,
            "result": result.result,
        })

    def v2_runner_on_ok(self, result) -> None:
        """A task that succeeded (changed or not)."""
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors: bool = False) -> None:
        """A task that failed; ``ignored`` when the task has ``ignore_errors``."""
        self._record(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result) -> None:
        """A task skipped by its condition."""
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result) -> None:
        """A host Ansible could not reach."""
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats) -> None:
        """The PLAY RECAP numbers of every host."""
        hosts = {}
        for host in sorted(stats.processed):
            summary = stats.summarize(host)
            hosts[host] = {"failed" if field == "failures" else field: summary.get(field, 0) for field in RECAP_FIELDS}
        self._write({"kind": "recap", "hosts": hosts})
