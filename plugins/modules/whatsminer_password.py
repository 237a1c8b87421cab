#!/usr/bin/python
# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The password of a Whatsminer's write account as desired state (rotation)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: whatsminer_password
short_description: Rotate the password of a MicroBT Whatsminer's write account
version_added: 0.1.0
description:
  - Makes the password of the miner's write account O(new_password). On API 2 firmware that is
    the C(admin) password (changed with C(update_pwd)); on API 3 firmware the password of the
    account in O(api3_account) (changed with C(set.user.change_passwd)).
  - O(password) (required here) is the current password, O(new_password) the desired one. Neither API can read a
    password back, so the module finds out which one the miner takes by authenticating with it
    (see the notes), B(new_password first).
  - When O(new_password) already authenticates, nothing changes (C(changed=false)). When
    O(password) does, the module changes it, then proves with fresh tokens that O(new_password)
    works and O(password) no longer does. When neither does, the task fails and nothing is sent.
  - This makes a re-run converge after any interruption (a reply lost after the change, a run
    killed between miners); the next run finds the miner on either the old or the new password
    and carries on from there. A change is only ever signed with a password that was just proven
    to work, so the module cannot lock a miner out.
  - Rotate a fleet with the playbook C(hashfarm.whatsminer.rotate_password), which keeps the old
    and the new password in the vault until every miner has the new one.
author:
  - hashfarm maintainers (@hashfarm)
options:
  new_password:
    description:
      - The password the write account should have.
      - 1 to 8 letters, digits or underscores (the rule of API 2's C(update_pwd); API 3 documents no
        rule, so the same one is applied to all miners and one password fits the whole fleet).
        Other values, and the factory passwords (V(admin), V(super), V(user1) to V(user3)), are
        rejected before anything is sent.
      - Never shown in results, errors or logs.
    type: str
    required: true
extends_documentation_fragment:
  - hashfarm.whatsminer.connection
  - hashfarm.whatsminer.execution
  - hashfarm.whatsminer.attributes
  - hashfarm.whatsminer.attributes.actiongroup_whatsminer
  - hashfarm.whatsminer.attributes.idempotent
attributes:
  check_mode:
    support: full
    details: Authenticates only (no change is sent) and reports whether the password would be changed.
  diff_mode:
    support: none
    details: Passwords are never shown.
notes:
  - B(How a password is checked.) API 2 firmware gets C(get_version) as an encrypted (privileged)
    request; only the right password lets the miner decrypt it, a wrong one gets code 23. API 3
    firmware gets a signed C(set.user.change_passwd) whose old and new password are both the one
    under test, so it changes nothing; a wrong password gets code -1. Both are inferred from the
    vendor documents (no source documents a "check password" command). Each check costs one API
    token on API 2 (of the 32 per controller address and 30 minutes) and one salt read on API 3.
  - B(Cost.) A miner that already has O(new_password) costs one check. A rotation costs four
    checks and the change itself.
  - B(Factory passwords and locks.) Writes stay locked on a new or factory-reset miner until its
    factory password is changed and the write API is switched on in WhatsMinerTool (API 3 answers
    "no permission", API 2 "can't access write cmd"). Whether a firmware lets the API change a
    password that is still the factory one is not documented. Where the miner refuses, the task
    fails and names the one manual step; set a non-factory password once in WhatsMinerTool, then
    let this module rotate it.
  - After the change API 2 invalidates every token, so other tasks running against the same miner
    at that moment may fail once and must use O(new_password) from then on.
seealso:
  - module: hashfarm.whatsminer.whatsminer_facts
  - name: Fleet runbook (password rotation)
    description: docs/fleet.md in the collection.
    link: https://github.com/hashfarm/whatsminer/blob/main/docs/fleet.md
"""

EXAMPLES = r"""
- name: Rotate the write password of every miner
  hosts: miners
  gather_facts: false
  serial: "10%"
  tasks:
    - name: Change the password from the current one to the new one (both in the vault)
      hashfarm.whatsminer.whatsminer_password:
        host: "{{ ansible_host }}"
        password: "{{ vault_whatsminer_password_current }}"
        new_password: "{{ vault_whatsminer_password_next }}"

- name: Only check what would change (authenticates, sends no change)
  hashfarm.whatsminer.whatsminer_password:
    host: "{{ ansible_host }}"
    password: "{{ vault_whatsminer_password_current }}"
    new_password: "{{ vault_whatsminer_password_next }}"
  check_mode: true
  register: rotation

- name: API 3 firmware, another account than super
  hashfarm.whatsminer.whatsminer_password:
    host: "{{ ansible_host }}"
    api_version: "3"
    api3_account: user1
    password: "{{ vault_user1_current }}"
    new_password: "{{ vault_user1_next }}"
"""

RETURN = r"""
msg:
  description: What the module found and did.
  returned: success
  type: str
  sample: password changed; new_password works and password no longer does
verified:
  description:
    - Whether the outcome was proven by authenticating (V(true) after a change and when new_password already worked).
    - V(false) in check mode when a change would be made.
  returned: success
  type: bool
  sample: true
api_version:
  description: The API the miner was spoken to with.
  returned: success
  type: int
  sample: 2
account:
  description: The account whose password is managed (V(admin) on API 2, O(api3_account) on API 3).
  returned: success
  type: str
  sample: admin
checks:
  description: How many times a password was checked by authenticating (each costs one API token on API 2).
  returned: success
  type: int
  sample: 4
"""

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._password import ARGUMENT_SPEC, logic
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._runner import run_module


def main() -> None:
    """Module entry point."""
    run_module(ARGUMENT_SPEC, logic, supports_check_mode=True)


if __name__ == "__main__":
    main()
