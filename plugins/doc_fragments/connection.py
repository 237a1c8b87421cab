# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the connection options shared by every module of the collection."""

from __future__ import annotations


class ModuleDocFragment:
    """Connection options of the Whatsminer API, defined once in module_utils/_connection.py."""

    DOCUMENTATION = r"""
options:
  host:
    description:
      - Address (IP or DNS name) of the miner's API, without a scheme or port (see O(port)).
      - The modules run on the Ansible controller and open TCP connections to this address, so it
        is usually V({{ ansible_host }}) set once through O(ignore:module_defaults) for the
        C(group/hashfarm.whatsminer.whatsminer) action group.
      - If not set, the value of the E(WHATSMINER_HOST) environment variable is used instead.
    type: str
    required: true
  port:
    description:
      - TCP port of the miner's API.
    type: int
    default: 4028
  password:
    description:
      - Admin password of the miner, as set in WhatsMinerTool.
      - Needed only for commands that change the miner (privileged commands). Reading facts does
        not need it.
      - Privileged commands work only after the default password V(admin) was changed and the
        write API was enabled in WhatsMinerTool (Remote Ctrl > Miner API Switch > Enable).
      - Printable ASCII without whitespace, quotes or backslashes, at most 128 characters (the
        firmware itself takes letters, digits and underscores). Checked before the miner is
        contacted; an empty value counts as not set.
      - If not set, the value of the E(WHATSMINER_PASSWORD) environment variable is used instead.
    type: str
  timeout:
    description:
      - Seconds to wait for the connection to open and for each reply.
    type: float
    default: 5
  retries:
    description:
      - How many times a read command is tried again after a connection-level failure (refused,
        timed out, reset, empty reply), with a short pause between tries.
      - Write commands are never sent twice.
    type: int
    default: 2
requirements:
  - pycryptodome (only for commands that change the miner)
  - passlib or libpass (only for commands that change the miner)
notes:
  - The modules talk to the miner from the host they run on, normally the controller. Set
    C(ansible_connection=local) and C(ansible_python_interpreter={{ ansible_playbook_python }})
    for the miner hosts so that the modules run in the Python that has the collection's
    requirements.
"""
