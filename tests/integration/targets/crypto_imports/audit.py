# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check an import audit (see import_audit/sitecustomize.py) against what a run may import.

    python audit.py FILE --passlib none|controller

Only imports asked for by this collection's code count: ansible-core itself imports part of
passlib in every worker that loads its filter plugins (``ansible/utils/encrypt.py``), which the
collection cannot change; those are listed, not judged.

``none``: the collection imported neither passlib nor pycryptodome in any process.
``controller``: the collection imported passlib in the ansible-playbook process (the preload of
the writing action plugins) and nowhere else: no task worker and no module process imported a
crypto library for it. pycryptodome is imported by no process at all (writes on the in-process
path take AES from ansible-core's cryptography). Exits non-zero, naming the offending imports.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys

COLLECTION_PATH = "/ansible_collections/hashfarm/whatsminer/"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("audit")
    parser.add_argument("--passlib", choices=("none", "controller"), required=True)
    options = parser.parse_args()
    with open(options.audit, encoding="utf-8") as stream:
        records = [json.loads(line) for line in stream if line.strip()]
    controllers = {record["pid"] for record in records if record["event"] == "start" and record["argv0"] == "ansible-playbook"}
    imports = [record for record in records if record["event"] == "import"]
    ours = [record for record in imports if COLLECTION_PATH in record["importer"]]
    theirs = collections.Counter(record["importer"].rsplit("/ansible/", 1)[-1] for record in imports if record not in ours)
    problems = []
    if len(controllers) != 1:
        problems.append(f"expected one ansible-playbook process in the audit, found {len(controllers)}")
    elsewhere = [record for record in ours if record["pid"] not in controllers]
    if elsewhere:
        problems.append(f"the collection imported crypto libraries outside the controller's main process: {elsewhere}")
    aes = [record for record in imports if record["module"].split(".", maxsplit=1)[0] in ("Crypto", "Cryptodome")]
    if aes:
        problems.append(f"pycryptodome imported: {aes}")
    passlib = [record for record in ours if record["module"].split(".", maxsplit=1)[0] == "passlib"]
    if options.passlib == "none" and passlib:
        problems.append(f"the collection imported passlib in a run that must not load it: {passlib}")
    if options.passlib == "controller" and not passlib:
        problems.append("the collection did not import passlib in the controller: the preload did not happen (or the audit sees nothing)")
    for problem in problems:
        print(f"FAIL {problem}")
    print(f"info imports asked for by ansible-core itself (not judged): {dict(theirs)}")
    if not problems:
        print(f"ok   the collection's crypto imports: {len(ours)}, all in the controller's main process; passlib: {options.passlib}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
