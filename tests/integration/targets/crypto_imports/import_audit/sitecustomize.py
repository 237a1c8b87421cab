# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record which process imports a crypto library (crypto_imports only).

On ``PYTHONPATH`` of ansible-playbook, this is imported by every Python process the run starts
(the controller, and modules run as their own process); the task workers are forks of the
controller and inherit the audit hook. Each process appends a ``start`` line with its pid, and
every import of passlib, pycryptodome (``Crypto``/``Cryptodome``) that is not satisfied from the
process's module cache appends an ``import`` line with the pid of the importing process and the
file that asked for it, to the file named by ``WHATSMINER_IMPORT_AUDIT``.
"""

from __future__ import annotations

import json
import os
import sys

_AUDIT = os.environ.get("WHATSMINER_IMPORT_AUDIT")
_WATCHED = ("passlib", "Crypto", "Cryptodome")


def _write(record: dict) -> None:
    with open(_AUDIT, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")


def _importer() -> str:
    """The file whose code asked for the import: the first frame outside the import machinery and the watched libraries."""
    frame = sys._getframe(2)  # pylint: disable=protected-access
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith("<frozen") and "importlib" not in name and not any(f"/{lib}/" in name for lib in _WATCHED):
            return name
        frame = frame.f_back
    return ""


def _hook(event: str, args: tuple) -> None:
    if event == "import" and str(args[0]).split(".", maxsplit=1)[0] in _WATCHED:
        _write({"event": "import", "pid": os.getpid(), "module": str(args[0]), "importer": _importer()})


if _AUDIT:
    _write({"event": "start", "pid": os.getpid(), "argv0": os.path.basename(sys.argv[0]) if sys.argv else ""})
    sys.addaudithook(_hook)
