# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the connection options shared by every module of the collection."""

from __future__ import annotations


class ModuleDocFragment:
    """Connection options of the Whatsminer API, defined once in module_utils/_connection_options.py."""

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
      - TCP port of the miner's API 2 (all firmware answers it; on firmware from 2024-11 on it is
        a reduced, read-only API 2, see O(api_version)).
    type: int
    default: 4028
  api_version:
    description:
      - Which API of the miner the module uses.
      - V(auto) asks C(get_version) on O(port) once per module run and uses API 3 (on O(api3_port))
        when the miner runs firmware released after 2024-11 or reports API 3, else API 2. A miner
        with API 2 is never contacted on O(api3_port), so no timeout is waited out on miners that
        do not have it. Only when nothing listens on O(port) is API 3 tried directly.
      - V(2) and V(3) skip that one extra connection; set them per group when you know the
        firmware of your racks.
      - The facts, the results, check and diff mode and idempotency are the same with both APIs.
    type: str
    choices: [auto, '2', '3']
    default: auto
  api3_port:
    description:
      - TCP port of the miner's API 3 (firmware released after 2024-11).
    type: int
    default: 4433
  api3_account:
    description:
      - The API 3 account that signs the commands that change the miner.
      - The factory password of V(super) is V(super); writes need a changed password and the
        write API enabled in WhatsMinerTool, as on API 2.
    type: str
    choices: [super, user1, user2, user3]
    default: super
  password:
    description:
      - Password of the account that changes the miner, as set in WhatsMinerTool (the admin
        password on API 2, the password of O(api3_account) on API 3).
      - Needed only for commands that change the miner (privileged commands). Reading facts does
        not need it.
      - Privileged commands work only after the default password V(admin) was changed and the
        write API was enabled in WhatsMinerTool (Remote Ctrl > Miner API Switch > Enable).
      - Ansible hides the password wherever it occurs in the output. The modules' messages never
        name the accounts or their factory passwords, so they stay readable when the password is
        one of those words; any other everyday word used as a password is hidden in the messages.
      - Printable ASCII without whitespace, quotes or backslashes, at most 128 characters (the
        firmware itself takes letters, digits and underscores). Checked before the miner is
        contacted; an empty value counts as not set.
      - If not set, the value of the E(WHATSMINER_PASSWORD) environment variable is used instead.
    type: str
  timeout:
    description:
      - Seconds to wait for the connection to open and for each reply.
      - Inside the waits that follow a write (O(hashfarm.whatsminer.whatsminer_pools#module:verify_timeout),
        O(hashfarm.whatsminer.whatsminer_power#module:wait_timeout)) a read gets at most the time
        left of the wait, retries included.
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
