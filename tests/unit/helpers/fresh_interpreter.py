# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which crypto libraries a piece of code imports, observed in a fresh Python interpreter.

The pytest process itself has long imported pycryptodome and passlib, so the lazy-import tests
run their scenario in a child interpreter that finds the collection and prints a JSON report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

#: .../ansible_collections/hashfarm/whatsminer/tests/unit/helpers/fresh_interpreter.py -> the directory holding ansible_collections
COLLECTIONS_ROOT = Path(__file__).resolve().parents[6]

#: Defines ``loaded()``, the crypto modules imported so far; scenarios fill ``report`` and ``print(json.dumps(report))`` last.
PRELUDE = r"""
import json
import sys

THIRD_PARTY = ("Crypto", "Cryptodome", "passlib")


def loaded():
    return sorted(name for name in sys.modules if name.split(".")[0] in THIRD_PARTY)
"""


def run_import_report(scenario: str, timeout: float) -> dict[str, Any]:
    """Run ``PRELUDE`` and ``scenario`` in a fresh interpreter; return the JSON report it printed last."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(COLLECTIONS_ROOT), os.environ.get("PYTHONPATH", "")]))
    completed = subprocess.run([sys.executable, "-c", PRELUDE + scenario], env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])
