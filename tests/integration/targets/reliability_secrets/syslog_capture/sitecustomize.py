# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record what Python processes send to syslog or the journal (reliability_secrets only).

On ``PYTHONPATH`` of ansible-playbook, this is imported by every Python process of the run: the
controller, its workers and the modules (which inherit the environment over the local
connection). ``AnsibleModule`` logs each invocation to the journal, else to syslog; both are
wrapped here to append each message to the file named by ``WHATSMINER_SYSLOG_CAPTURE`` before
passing it on, so that the test can search what modules log even on hosts without ``/dev/log``.
"""

from __future__ import annotations

import json
import os
import syslog

_CAPTURE = os.environ.get("WHATSMINER_SYSLOG_CAPTURE")


def _record(channel: str, message: object) -> None:
    if _CAPTURE:
        with open(_CAPTURE, "a", encoding="utf-8") as stream:
            stream.write(json.dumps({"pid": os.getpid(), "channel": channel, "message": str(message)}) + "\n")


def _wrap_syslog(original):
    def capture(*args):
        _record("syslog", args[-1] if args else "")
        return original(*args)
    return capture


syslog.syslog = _wrap_syslog(syslog.syslog)

try:  # python-systemd, when installed: AnsibleModule prefers the journal
    from systemd import journal  # pylint: disable=import-error

    _send = journal.send

    def _journal_send(*args, **fields):
        _record("journal", json.dumps({"args": [str(arg) for arg in args], "fields": {name: str(value) for name, value in fields.items()}}))
        return _send(*args, **fields)

    journal.send = _journal_send
except ImportError:
    pass
