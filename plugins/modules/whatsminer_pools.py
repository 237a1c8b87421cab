#!/usr/bin/python
# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Configure the pools of a Whatsminer miner, idempotently and with a verified write."""

from __future__ import annotations

DOCUMENTATION = r"""
module: whatsminer_pools
short_description: Configure the mining pools of a MicroBT Whatsminer miner
version_added: 0.1.0
description:
  - Makes the miner's three pool slots hold exactly the pools given in O(pools), in that priority
    order. Slots beyond the given pools end up empty.
  - Reads the current pools first and writes them, with one C(update_pools) command, only when
    a URL or a user differs (or when O(update_password=always)).
  - After a write, reads the pools back until the miner shows what was sent (at most
    O(verify_timeout) seconds) and fails, naming what was sent and what the miner showed, if it
    does not. When the miner had confirmed the write, that failure has C(changed=true), as the miner
    took the pools and may show them a little later; run the task again (it then reports ok) or
    raise O(verify_timeout).
  - Writing needs the password of the account that changes the miner (O(password)) and the
    miner's write API; reading does not, so a run that changes nothing, and check mode, never
    request an API token.
author:
  - hashfarm maintainers (@hashfarm)
options:
  pools:
    description:
      - The complete pool configuration, 1 to 3 pools, the first one with the highest priority.
      - Every pool is checked before anything is sent. An error names the pool slot and the field.
    type: list
    elements: dict
    required: true
    suboptions:
      url:
        description:
          - Pool URL, C(stratum+tcp://host:port). Required.
          - The scheme may be left out (V(pool.example.com:3333) means
            V(stratum+tcp://pool.example.com:3333)); V(stratum+tcp) is the only scheme the miner
            mines with.
          - The port is required. Stratum has no standard port, and the miner would connect to
            port 80 when a URL has none.
          - The host is a host name, an IPv4 address, or an IPv6 address in brackets. A path, a query,
            a fragment, or credentials in the URL are refused.
          - The URL is compared and sent in its normalized form, see the notes.
        type: str
      user:
        description:
          - Worker (user) name the pool expects, for example V(account.worker1). Required.
          - Compared exactly (case sensitive), after stripping surrounding whitespace.
        type: str
      password:
        description:
          - Password the pool expects. When not given, V(x) is sent, the value most pools expect.
          - The miner never reports pool passwords, so the module cannot compare them. See
            O(update_password) for when they are sent.
          - Never returned, logged or shown in a diff.
        type: str
  update_password:
    description:
      - When the pool passwords are sent. The miner does not report them, so this is the one
        setting the module cannot check.
      - V(on_create) sends the passwords whenever the pools are written because a URL or a user
        differs. A password change alone is not applied.
      - V(always) writes the pools on every run, so a changed password is applied. The task then
        reports changed on every run.
    type: str
    choices: [on_create, always]
    default: on_create
  verify_timeout:
    description:
      - How many seconds to wait after a write for the miner to show the pools that were sent.
        The pools are read every half second.
      - It is a deadline. Each read is given only the time left (connect, reply and retries included,
        whatever O(timeout) and O(retries) say), so the wait never outlasts it.
      - Raise it for firmware that restarts btminer or applies pools some seconds after the write.
    type: float
    default: 10
extends_documentation_fragment:
  - hashfarm.whatsminer.connection
  - hashfarm.whatsminer.execution
  - hashfarm.whatsminer.attributes
  - hashfarm.whatsminer.attributes.actiongroup_whatsminer
  - hashfarm.whatsminer.attributes.idempotent
attributes:
  check_mode:
    support: full
    details:
      - Reads the pools and reports the change a real run would make (C(changed), RV(pools),
        RV(commands), and the diff), without requesting a token or writing.
  diff_mode:
    support: full
    details:
      - The diff shows the pools (slot, URL, user) before and after. It never shows passwords.
  idempotent:
    support: partial
    details:
      - Idempotent with O(update_password=on_create), the default. With O(update_password=always),
        every run writes and reports changed.
notes:
  - B(Normalization.) URLs are compared in a normalized form. The scheme and the host are in lower
    case and a missing scheme is V(stratum+tcp://). The port is a plain number, so V(03333) is
    V(3333). Trailing slashes and surrounding whitespace are removed. A URL the miner shows
    without a port is taken as port 80, the port the miner connects to.
    For example, V(STRATUM+TCP://Pool.Example.com:3333/) equals V(pool.example.com:3333).
  - B(What is sent.) The miner shows a URL exactly as it was written, so the module writes the
    normalized form (V(stratum+tcp://pool.example.com:3333)). RV(pools) and other API clients then
    show that form.
  - B(Passwords.) Pool passwords cannot be read from the miner. With O(update_password=on_create),
    a password that changed on its own is not applied. Use O(update_password=always) once to
    apply it.
  - B(Characters.) URLs, users and passwords must be printable ASCII, without whitespace, quotes
    or backslashes. URLs can have at most 240 characters, users and passwords at most 128.
  - B(Hidden values.) Ansible hides the value of every password option everywhere in a module's
    output. A very short password given explicitly, such as V(x), therefore shows as V(********)
    wherever it occurs in returned URLs and users. Leave O(pools[].password) out to send V(x)
    without that effect.
  - Errors of the miner (write API disabled, wrong password, token limit, command
    rejected) fail the task with a message that says what to do.
  - B(Duration.) The read before the write is bounded by O(timeout) and O(retries), the write (with
    its token) by O(timeout) per request, and the verification by O(verify_timeout).
  - B(Lost replies.) When the reply to C(update_pools) is lost after the miner received the
    command (it timed out, was cut, reset or garbled), the miner may have applied it, so the
    pools are read back; the task reports a change, with a warning, only when the miner shows
    the pools that were sent. C(update_pools) is never sent twice.
  - The pools are compared and verified only from complete replies. A C(pools) reply cut off
    before its end fails the task, as it may lack a slot.
seealso:
  - module: hashfarm.whatsminer.whatsminer_facts
"""

EXAMPLES = r"""
- name: Configure the pools of every miner
  hosts: miners
  gather_facts: false
  module_defaults:
    group/hashfarm.whatsminer.whatsminer:
      host: "{{ ansible_host }}"
      password: "{{ vault_whatsminer_admin_password }}"
  tasks:
    - name: Main pool and two backups
      hashfarm.whatsminer.whatsminer_pools:
        pools:
          - url: stratum+tcp://btc.pool.example.com:3333
            user: "hashfarm.{{ inventory_hostname }}"
          - url: stratum+tcp://btc-backup.pool.example.com:443
            user: "hashfarm.{{ inventory_hostname }}"
          - url: stratum+tcp://other.example.net:3333
            user: hashfarm_backup
            password: d=65536

- name: One pool only (slots 2 and 3 are cleared)
  hashfarm.whatsminer.whatsminer_pools:
    host: 10.20.0.15
    password: "{{ vault_whatsminer_admin_password }}"
    pools:
      - url: btc.pool.example.com:3333
        user: hashfarm.rack1

- name: Apply a changed pool password (writes and reports changed on every run)
  hashfarm.whatsminer.whatsminer_pools:
    host: "{{ ansible_host }}"
    password: "{{ vault_whatsminer_admin_password }}"
    update_password: always
    pools:
      - url: stratum+tcp://btc.pool.example.com:3333
        user: hashfarm.rack1
        password: "{{ vault_pool_password }}"
"""

RETURN = r"""
pools:
  description:
    - The pools after the run, as the miner shows them, ordered by slot. Passwords are never
      returned (the miner does not report them).
    - In check mode, the pools a real run would leave.
    - When the miner did not show the pools sent within O(verify_timeout), the pools it showed last
      (V(null) when no read succeeded).
  returned: success, and when the pools sent did not show in time
  type: list
  elements: dict
  contains:
    slot:
      description: Pool slot, 1 to 3.
      type: int
      sample: 1
    url:
      description: Pool URL.
      type: str
      sample: stratum+tcp://btc.pool.example.com:3333
    user:
      description: Worker (user) name.
      type: str
      sample: hashfarm.miner-001
before:
  description: The pools before the run, as the miner showed them, with the same fields as RV(pools).
  returned: success, and when the pools sent did not show in time
  type: list
  elements: dict
  sample: [{slot: 1, url: "stratum+tcp://old.pool.example.com:3333", user: hashfarm.miner-001}]
commands:
  description:
    - The write commands sent to the miner (in check mode, those a real run would send).
      Names only, never parameters.
  returned: success, and when the pools sent did not show in time
  type: list
  elements: str
  sample: [update_pools]
expected:
  description:
    - The pools that were sent, with the same fields as RV(pools), when the miner did not show them
      within O(verify_timeout). The task then failed; it has C(changed=true) when the miner had
      confirmed the write (it may show them later) and, after a lost reply, when the miner shows
      other pools than before.
  returned: when the pools sent did not show in time
  type: list
  elements: dict
  sample: [{slot: 1, url: "stratum+tcp://btc.pool.example.com:3333", user: hashfarm.miner-001}]
"""

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._pools import ARGUMENT_SPEC, logic
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._runner import run_module


def main() -> None:
    """Module entry point."""
    run_module(ARGUMENT_SPEC, logic, supports_check_mode=True)


if __name__ == "__main__":
    main()
