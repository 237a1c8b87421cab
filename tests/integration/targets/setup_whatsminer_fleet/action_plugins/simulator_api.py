# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Call the simulated fleet's control API from the controller (tests of hashfarm.whatsminer).

The integration targets read and set each simulated miner's true state hundreds of times. Done with
``ansible.builtin.uri``, every call starts a Python interpreter for the module (about 0.3 s of CPU
each); this action makes the same request in the worker process (a few milliseconds), through the
``fleet_control`` lookup (lookup_plugins/), and returns what the tests read from ``uri``: ``json``.

    - simulator_api:
        url: "{{ control_url }}/miners/{{ inventory_hostname }}"
        method: PATCH            # GET (default), POST, PATCH, PUT or DELETE
        body: {config: {refuse_connections: true}}   # sent as JSON
      register: reply           # reply.json is the parsed answer

Like ``uri`` with its default ``status_code``, a request that does not succeed (an error status,
no answer) fails the task. Only loopback URLs are accepted: tests never send traffic elsewhere.
"""

from __future__ import annotations

import urllib.parse

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
#: Seconds to wait for the answer (ansible.builtin.uri's default).
TIMEOUT_S = 30


class ActionModule(ActionBase):
    """One HTTP request to the simulator's control API."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("url", "method", "body", "body_format", "timeout"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        url = args.get("url")
        method = str(args.get("method", "GET")).upper()
        unknown = sorted(set(args) - self._VALID_ARGS)
        if unknown or not url or method not in METHODS or args.get("body_format", "json") != "json":
            return dict(result, failed=True, msg=f"simulator_api takes url, method ({', '.join(METHODS)}), body (JSON); got {sorted(args)}")
        parts = urllib.parse.urlsplit(url)
        control = self._shared_loader_obj.lookup_loader.get("fleet_control", loader=self._loader, templar=self._templar)
        try:
            answer = control.run([urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))], task_vars, method=method, body=args.get("body"),
                                 control_url=f"{parts.scheme}://{parts.netloc}", timeout=float(args.get("timeout", TIMEOUT_S)))[0]
        except AnsibleError as error:
            return dict(result, failed=True, msg=str(error))
        return dict(result, json=answer, changed=False)
