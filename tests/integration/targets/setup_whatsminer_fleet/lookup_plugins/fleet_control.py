# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lookup of the integration targets: one request to the simulated fleet's control API.

``lookup('fleet_control', 'miners/miner-001/reset', control_url=..., method='POST')`` returns the
answer (JSON). It runs in the controller's worker like the in-process path the tests exercise, so
reading counters before and after a task costs no module run. The ``simulator_api`` action
(action_plugins/) sends its requests through it.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_control
short_description: One request to the control API of a simulated Whatsminer fleet (tests only)
description:
  - Sends one request to the control API of C(whatsminer_sim) and returns the JSON answer.
  - Only loopback addresses are accepted (127.0.0.0/8, localhost).
options:
  _terms:
    description: The path below the control URL, for example C(miners/miner-001/reset).
    required: true
  control_url:
    description: The control URL of the fleet.
    type: str
    required: true
  method:
    description: The HTTP method.
    type: str
    default: GET
  body:
    description: A JSON body (for PATCH).
    type: dict
  timeout:
    description: Seconds to wait for the answer.
    type: float
    default: 10
"""

import json
import urllib.parse
import urllib.request

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    """Requests to the fleet's control API (loopback only)."""

    def run(self, terms, variables=None, **kwargs):
        """Return one JSON answer per path in ``terms``."""
        self.set_options(var_options=variables, direct=kwargs)
        base = self.get_option("control_url").rstrip("/")
        host = urllib.parse.urlsplit(base).hostname or ""
        if not (host.startswith("127.") or host == "localhost"):
            raise AnsibleLookupError(f"fleet_control only calls loopback addresses, not {base}")
        method = self.get_option("method").upper()
        body = self.get_option("body")
        answers = []
        for path in terms:
            data = json.dumps(body).encode() if body is not None else None
            request = urllib.request.Request(f"{base}/{path.lstrip('/')}", data=data, method=method, headers={"Content-Type": "application/json"})
            try:
                # Plain urllib on purpose: ansible.module_utils.urls costs about 0.4 s to import in every worker.
                with urllib.request.urlopen(request, timeout=self.get_option("timeout")) as response:  # noqa: S310 (loopback only, checked above)
                    content = response.read().decode()
                answers.append(json.loads(content) if content else None)
            except (OSError, ValueError) as error:
                raise AnsibleLookupError(f"control API request {method} {path} failed: {error}") from error
        return answers
