"""Stdout callback of ``make bench``: no per-host output, one JSON summary file at the end.

Printing a line per host and task would cost the controller time the benchmark means to measure,
and 1000 recap lines help nobody. This callback prints nothing while the play runs; when it ends it
writes ``BENCH_SUMMARY_FILE`` (a path in the environment) with:

* ``tasks``: per task, in order, its name, seconds from its start to the start of the next task (or
  to the end of the play), and how many hosts it reported ok, changed, failed, unreachable;
* ``totals``: the play recap added up over every host;
* ``failures``: the first few failure messages (host, task, message), so that a broken run says why.

With the ``linear`` strategy a task starts only when the previous one has finished on every host,
so the seconds per task are that task's own wall time. With ``free`` they are not meaningful.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_summary
type: stdout
short_description: Quiet stdout callback of the hashfarm.whatsminer benchmark
description:
  - Prints nothing per host; writes a JSON summary (per-task times and counts, recap totals, first
    failures) to the file named by the environment variable E(BENCH_SUMMARY_FILE).
author:
  - hashfarm maintainers (@hashfarm)
"""

#: How many failure messages the summary keeps (enough to see why a run broke).
KEPT_FAILURES = 5


class CallbackModule(CallbackBase):
    """Count results per task and write them as JSON at the end of the playbook."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "bench_summary"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._tasks: list[dict] = []
        self._task_started = 0.0
        self._failures: list[dict] = []

    # --- per task -----------------------------------------------------------------------------

    def _close_current_task(self) -> None:
        if self._tasks and self._tasks[-1]["seconds"] is None:
            self._tasks[-1]["seconds"] = round(time.monotonic() - self._task_started, 4)

    def v2_playbook_on_task_start(self, task, is_conditional) -> None:
        """A new task: the previous one has finished on every host (linear strategy)."""
        self._close_current_task()
        self._task_started = time.monotonic()
        self._tasks.append({"name": task.get_name(), "seconds": None, "ok": 0, "changed": 0, "failed": 0, "unreachable": 0})

    def _count(self, outcome: str, result=None) -> None:
        if not self._tasks:
            return
        self._tasks[-1][outcome] += 1
        if outcome == "ok" and result is not None and result._result.get("changed"):  # pylint: disable=protected-access
            self._tasks[-1]["changed"] += 1

    def _keep_failure(self, result) -> None:
        if len(self._failures) < KEPT_FAILURES:
            details = result._result  # pylint: disable=protected-access
            self._failures.append({
                "host": result._host.get_name(),  # pylint: disable=protected-access
                "task": result._task.get_name(),  # pylint: disable=protected-access
                "msg": str(details.get("msg") or details.get("stderr") or details)[:2000],
            })

    # --- results ------------------------------------------------------------------------------

    def v2_runner_on_ok(self, result) -> None:
        """A host finished a task."""
        self._count("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False) -> None:
        """A host failed a task."""
        self._count("failed")
        self._keep_failure(result)

    def v2_runner_on_unreachable(self, result) -> None:
        """A host was unreachable (for ansible_connection local: the interpreter could not start)."""
        self._count("unreachable")
        self._keep_failure(result)

    # --- end ----------------------------------------------------------------------------------

    def v2_playbook_on_stats(self, stats) -> None:
        """Write the summary file."""
        self._close_current_task()
        totals = {"ok": 0, "changed": 0, "failures": 0, "unreachable": 0, "skipped": 0, "rescued": 0, "ignored": 0}
        for host in stats.processed:
            summary = stats.summarize(host)
            for key in totals:
                totals[key] += summary.get(key, 0)
        path = os.environ.get("BENCH_SUMMARY_FILE")
        if not path:
            return
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"hosts": len(stats.processed), "tasks": self._tasks, "totals": totals, "failures": self._failures}, handle, indent=1)
