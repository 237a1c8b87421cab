# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Call the simulated fleet's control API from the controller (tests of hashfarm.whatsminer).

The integration targets read and set each simulated miner's true state hundreds of times. Done with
``ansible.builtin.uri``, every call starts a Python interpreter for the module (about 0.3 s of CPU
each); this action makes the same HTTP request in the worker process (a few milliseconds) and
returns the fields the tests read from ``uri``: ``status``, ``json`` and ``content``.

    - simulator_api:
        url: "{{ control_url }}/miners/{{ inventory_hostname }}"
        method: PATCH            # GET (default), POST, PATCH, PUT or DELETE
        body: {config: {refuse_connections: true}}   # sent as JSON
      register: reply           # reply.json is the parsed answer

Like ``uri`` with its default ``status_code``, any status other than 2xx fails the task. Only
loopback URLs are accepted: tests never send traffic elsewhere.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from ansible.plugins.action import ActionBase

METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


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
        host = urllib.parse.urlsplit(url).hostname or ""
        if not (host.startswith("127.") or host == "localhost"):
            return dict(result, failed=True, msg=f"simulator_api only calls loopback addresses, not {url}")
        data = None
        headers = {}
        if "body" in args:
            data = json.dumps(args["body"]).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=float(args.get("timeout", 30))) as response:  # noqa: S310 (loopback only, checked above)
                status, content = response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            status, content = error.code, error.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as error:
            return dict(result, failed=True, msg=f"{method} {url}: {error}")
        result.update(status=status, content=content, url=url, changed=False)
        try:
            result["json"] = json.loads(content) if content else None
        except ValueError:
            pass
        if not 200 <= status < 300:
            result.update(failed=True, msg=f"{method} {url}: status {status}: {content[:500]}")
        return result
