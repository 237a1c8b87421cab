#!/usr/bin/python
# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reboot a Whatsminer or restart its mining program, and wait until it is back."""

from __future__ import annotations

DOCUMENTATION = r"""
module: whatsminer_reboot
short_description: Reboot a MicroBT Whatsminer or restart btminer, and wait until it is back
version_added: 0.1.0
description:
  - Reboots the miner's control board (O(operation=reboot)) or restarts only btminer, the mining
    program (O(operation=restart)), then waits until the miner answers again and, with
    O(wait_for_hashing), hashes again. Like M(ansible.builtin.reboot) for servers.
  - API 2 firmware gets C(reboot) or C(restart_btminer), API 3 firmware C(set.system.reboot) or
    C(set.miner.service) C(restart).
  - The reply to these commands is often lost, so the module does not rely on it. The miner counts
    as back when C(summary) answers and the system uptime (after a reboot) or btminer's running
    time (after a restart) is shorter than the time since the command, so an answer from before
    the miner went down does not count.
  - The task is always C(changed) when it sends the command, also when the wait fails.
author:
  - hashfarm maintainers (@hashfarm)
options:
  operation:
    description:
      - V(reboot) restarts the control board; the whole API is gone for a while (minutes on real miners).
      - V(restart) restarts btminer only; the API answers, but no hashrate, pools or boards while btminer starts.
    type: str
    choices: [reboot, restart]
    default: reboot
  reboot_timeout:
    description:
      - How many seconds to wait, from sending the command, until the miner is back; more than 0, at most 3600.
      - Reads while waiting start 0.5 seconds apart and spread out to 5 seconds apart.
      - When the time is up the task fails (with C(changed=true)) and says what it last saw.
    type: float
    default: 600
  wait_for_hashing:
    description:
      - Also wait until the miner hashes again (a live hashrate above zero).
      - A miner that was stopped before (see M(hashfarm.whatsminer.whatsminer_power)), or that
        cannot reach a pool, never hashes, so the wait runs out.
    type: bool
    default: false
extends_documentation_fragment:
  - hashfarm.whatsminer.connection
  - hashfarm.whatsminer.execution
  - hashfarm.whatsminer.attributes
  - hashfarm.whatsminer.attributes.actiongroup_whatsminer
  - hashfarm.whatsminer.attributes.idempotent
attributes:
  check_mode:
    support: full
    details: Sends nothing at all (no connection) and reports C(changed=true), like M(ansible.builtin.reboot).
  diff_mode:
    support: none
  idempotent:
    support: none
    details: Every run reboots or restarts the miner.
notes:
  - Needs the password of the write account and the write API switched on, like every write.
  - A reboot forgets every API token, and a reboot or restart interrupts hashing for its duration.
    Run it in batches (C(serial)) on a farm.
  - No source documents how long a reboot or restart takes; raise O(reboot_timeout) for slow models.
seealso:
  - module: hashfarm.whatsminer.whatsminer_power
  - module: ansible.builtin.reboot
"""

EXAMPLES = r"""
- name: Reboot one rack, five miners at a time, and wait until each hashes again
  hosts: rack_a
  gather_facts: false
  serial: 5
  tasks:
    - name: Reboot
      hashfarm.whatsminer.whatsminer_reboot:
        host: "{{ ansible_host }}"
        password: "{{ vault_whatsminer_password }}"
        wait_for_hashing: true
        reboot_timeout: 900

- name: Restart only btminer (the mining program)
  hashfarm.whatsminer.whatsminer_reboot:
    host: "{{ ansible_host }}"
    password: "{{ vault_whatsminer_password }}"
    operation: restart
  register: restart

- name: Show how long it took
  ansible.builtin.debug:
    msg: "back after {{ restart.elapsed }} s"
"""

RETURN = r"""
operation:
  description: The operation, V(reboot) or V(restart).
  returned: always
  type: str
  sample: reboot
command:
  description: The command sent (the API 3 command on API 3 firmware).
  returned: when the command was sent
  type: str
  sample: set.system.reboot
elapsed:
  description: Seconds from sending the command until the miner was back (0 in check mode).
  returned: always
  type: float
  sample: 74.5
uptime_s:
  description: The system uptime the miner reported once back (btminer's running time where the firmware reports no uptime).
  returned: success, when reported
  type: int
  sample: 12
mining_elapsed_s:
  description: How long btminer had been running once the miner was back.
  returned: success, when reported
  type: int
  sample: 9
hashing:
  description: Whether the miner was hashing once back (V(null) when unknown).
  returned: success
  type: bool
  sample: true
"""

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._reboot import ARGUMENT_SPEC, logic
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._runner import run_module


def main() -> None:
    """Module entry point."""
    run_module(ARGUMENT_SPEC, logic, supports_check_mode=True)


if __name__ == "__main__":
    main()
