#!/usr/bin/python
# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the whatsminer_fleet_power action; the work is done by the action plugin of the same name."""

from __future__ import annotations

DOCUMENTATION = r"""
module: whatsminer_fleet_power
short_description: Curtail or resume every Whatsminer of the play at once, resuming under a ramp limit
version_added: 0.1.0
description:
  - One task that acts on every miner of the play batch at once, from the controller, for demand
    response. It stops mining (O(method=stop)) or lowers the power percentage (O(method=percent)) on
    all miners within seconds, and on resume brings the load back no faster than
    O(ramp_kw_per_minute).
  - Runs once for the whole batch, like C(run_once), whatever host it is listed for, and talks to
    O(concurrency) miners at a time. Each miner's address and connection values come from its
    inventory (see O(hosts) and the notes).
  - Each miner is handled by the logic of M(hashfarm.whatsminer.whatsminer_power). It is read
    first and commanded only when it differs, then read back until it shows the wanted state.
    Every miner is read and planned first, the commands follow.
  - A miner that fails (unreachable, refusing the command, too late for the O(deadline)) does not
    stop the others. RV(not_complied) names exactly the miners that did not reach the state.
  - B(When to use it.) For a grid event, a price spike or a curtailment program that needs the whole
    farm down in seconds and back up under a ramp limit. For everything else, use the per-host
    modules. M(hashfarm.whatsminer.whatsminer_power) and the C(hashfarm.whatsminer.power) playbook
    give per-host results, C(--limit), retries, batches and the usual failure handling of Ansible.
    This action reports the whole fleet as one task result.
author:
  - hashfarm maintainers (@hashfarm)
options:
  state:
    description:
      - V(curtailed) stops mining or lowers the power percentage of every miner; V(resumed) brings
        them back.
    type: str
    required: true
    choices: [curtailed, resumed]
  method:
    description:
      - V(stop) switches mining off (C(power_off), C(set.miner.service stop)) and back on. The draw
        drops to the control board's; a resume restarts hashing, which ramps up over the firmware's
        boot time.
      - V(percent) sets the power percentage to O(percent) and back to 100, without a btminer
        restart. Only API 3 firmware reports the percentage; see O(power_percent_unreadable).
    type: str
    choices: [stop, percent]
    default: stop
  percent:
    description:
      - With O(method=percent), the share of its running power a curtailed miner keeps, 1 to 99.
    type: int
    default: 10
  power_percent_mode:
    description:
      - With O(method=percent), V(fast) (about a second) or V(normal) (minutes, smaller hashrate loss).
    type: str
    choices: [fast, normal]
    default: fast
  power_percent_unreadable:
    description:
      - With O(method=percent), what to do with miners whose firmware does not report the percentage
        (API 2). V(fail) fails those miners before sending anything; V(send) sends the percentage
        unverified, and reports them changed on every run.
    type: str
    choices: [fail, send]
    default: fail
  deadline:
    description:
      - Seconds from the start of the task by which every miner must have been handled, at most
        3600. Every request and wait gets only the time left. A miner whose turn in the ramp comes
        after the deadline is not commanded and is named in RV(not_complied).
    type: float
    default: 60
  concurrency:
    description:
      - How many miners are talked to at once (threads of the controller), 1 to 512.
    type: int
    default: 50
  ramp_kw_per_minute:
    description:
      - With O(state=resumed), the most the fleet's load may rise per minute, in kW.
      - Each miner's increase is its expected draw when hashing minus its draw now. The expected
        draw is the draw it reported before this action curtailed it (the fact, earlier in the run or
        from a fact cache), else the power limit it reports (the most it may draw; the ramp is then
        slower by the ratio of draw to limit), else O(default_draw_w). Counted from the moment every
        miner has been read, the i-th miner is commanded once the sum of the increases up to it fits
        the limit, so the committed load never runs ahead of it.
      - Give at most one of this and O(ramp_miners_per_step). Without either, every miner resumes at once.
    type: float
  ramp_miners_per_step:
    description:
      - With O(state=resumed), resume this many miners every O(ramp_step_seconds) instead of a kW ramp.
    type: int
  ramp_step_seconds:
    description:
      - Seconds between the steps of O(ramp_miners_per_step).
    type: float
    default: 10
  default_draw_w:
    description:
      - The draw in watts assumed for a miner that reports neither an earlier draw nor a power limit.
    type: int
    default: 3500
  verify:
    description:
      - Whether each miner is read back until it shows the wanted state (within the O(deadline)).
        With V(false) the commands are sent and not verified.
    type: bool
    default: true
  fail_on_noncompliance:
    description:
      - Whether the task fails when a miner did not reach the state. The other miners are handled
        either way; set V(false) to go on with the play and use RV(not_complied).
    type: bool
    default: true
  hosts:
    description:
      - The inventory hosts to act on. Default is the hosts of the play batch (C(ansible_play_batch)).
    type: list
    elements: str
  host:
    description:
      - Accepted for the C(group/hashfarm.whatsminer.whatsminer) O(ignore:module_defaults) and ignored.
        Each miner's address is its C(ansible_host), else its inventory name.
    type: str
  port:
    description:
      - API 2 port for miners whose inventory does not set C(whatsminer_port).
    type: int
    default: 4028
  api_version:
    description:
      - API for miners whose inventory does not set C(whatsminer_api_version); see
        M(hashfarm.whatsminer.whatsminer_power).
    type: str
    choices: [auto, '2', '3']
    default: auto
  api3_port:
    description:
      - API 3 port for miners whose inventory does not set C(whatsminer_api3_port).
    type: int
    default: 4433
  api3_account:
    description:
      - API 3 account for miners whose inventory does not set C(whatsminer_api3_account).
    type: str
    choices: [super, user1, user2, user3]
    default: super
  password:
    description:
      - Password of the account that changes the miners, for miners whose inventory does not set
        C(whatsminer_password). If neither is set, the E(WHATSMINER_PASSWORD) environment variable.
      - Never returned or shown.
    type: str
  timeout:
    description:
      - Seconds to wait for each connection and reply (within the O(deadline)).
    type: float
    default: 5
  retries:
    description:
      - How many times a read is tried again after a connection-level failure. Writes are never
        sent twice.
    type: int
    default: 1
extends_documentation_fragment:
  - hashfarm.whatsminer.attributes
  - hashfarm.whatsminer.attributes.actiongroup_whatsminer
  - hashfarm.whatsminer.attributes.facts
  - hashfarm.whatsminer.attributes.idempotent
attributes:
  check_mode:
    support: full
    details: Reads every miner and predicts the exact commands and the ramp schedule. Sends no command and requests no token.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - An already-curtailed or already-resumed fleet reports no change, except with
        O(method=percent) and O(power_percent_unreadable=send) on API 2 firmware.
notes:
  - B(Inventory.) Each miner's values come from its host variables. These are C(ansible_host) (else
    the inventory name), C(whatsminer_port), C(whatsminer_api_version), C(whatsminer_api3_port),
    C(whatsminer_api3_account) and C(whatsminer_password), the variables of the
    C(hashfarm.whatsminer.whatsminer) role. The task's options apply where a host sets none.
  - B(Facts.) The result is also set as the fact C(whatsminer_fleet_power), on the host the task
    ran for (the first of the batch, as for any task that runs once for the batch); it names every
    miner. A later resume in the same run, or in a later run with a fact cache (for example
    C(ANSIBLE_CACHE_PLUGIN=jsonfile)), takes each miner's draw before the curtailment from it, so
    the ramp follows the miners' real draw instead of their power limits.
  - B(Failures.) With O(fail_on_noncompliance=true) the task fails on the host it ran for and
    names the miners that did not comply. It does not fail the other hosts.
  - The draw figures are the miners' own (C(summary) C(Power)); they lag the real draw by up to a
    few seconds.
seealso:
  - module: hashfarm.whatsminer.whatsminer_power
"""

EXAMPLES = r"""
- name: Curtail the farm now, resume it later at 500 kW per minute
  hosts: miners
  gather_facts: false
  tasks:
    - name: Stop mining on every miner at once (within 20 seconds)
      hashfarm.whatsminer.whatsminer_fleet_power:
        state: curtailed
        deadline: 20
      register: curtail

    - name: Name the miners that did not curtail
      ansible.builtin.debug:
        msg: "{{ curtail.not_complied }}"
      run_once: true

- name: Resume under a ramp limit
  hosts: miners
  gather_facts: false
  tasks:
    - name: Bring the load back at 500 kW per minute
      hashfarm.whatsminer.whatsminer_fleet_power:
        state: resumed
        ramp_kw_per_minute: 500
        deadline: 1800

- name: Cut API 3 miners to 20 percent without a btminer restart
  hashfarm.whatsminer.whatsminer_fleet_power:
    state: curtailed
    method: percent
    percent: 20
"""

RETURN = r"""
miners:
  description: What happened on each miner, by inventory name.
  returned: always
  type: dict
  sample:
    rack1-m01:
      changed: true
      failed: false
      commands: [{"command": "power_off", "parameters": {"respbefore": "true"}}]
      before: {"mining": true, "mode": "normal", "power_limit_w": null}
      after: {"mining": false, "mode": "normal", "power_limit_w": null}
      power_w: {"before": 3420, "after": 8}
      verified: true
      scheduled_at_s: 0.0
      commanded_at_s: 0.012
not_complied:
  description: The miners that did not reach the state, each with its reason in RV(miners) C(msg).
  returned: always
  type: list
  elements: str
  sample: ["rack1-m07"]
changed_miners:
  description: The miners that were (in check mode, would be) changed.
  returned: always
  type: list
  elements: str
draw_w:
  description:
    - The sum of the draws the miners reported before, and after (V(null) when a miner's draw after
      is unknown, as in check mode).
  returned: always
  type: dict
  sample: {"before": 342000, "after": 800}
state:
  description: The state asked for.
  returned: always
  type: str
method:
  description: The method used.
  returned: always
  type: str
elapsed_s:
  description: Seconds the task took.
  returned: always
  type: float
ansible_facts:
  description: The same fields (RV(miners), RV(not_complied), RV(draw_w)...) as C(whatsminer_fleet_power).
  returned: always
  type: dict
  contains:
    whatsminer_fleet_power:
      description: The result of the task, for the rest of the play.
      type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._fleet_options import ARGUMENT_SPEC


def main() -> None:
    """The action plugin does the work; run as a module, this only says so."""
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg="whatsminer_fleet_power runs on the controller as an action plugin; it cannot run as a module "
                         "(with whatsminer_execution=module, become, async or delegated to another host)")


if __name__ == "__main__":
    main()
