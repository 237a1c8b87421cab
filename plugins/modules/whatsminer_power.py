#!/usr/bin/python
# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mining on/off, power mode, power limit and power percentage of a Whatsminer miner as desired state."""

from __future__ import annotations

DOCUMENTATION = r"""
module: whatsminer_power
short_description: Switch mining on or off, set the power mode and the power limit of a MicroBT Whatsminer
version_added: 0.1.0
description:
  - Makes a Whatsminer mine or stop, run in low, normal or high power mode, and cap its power, over
    the miner's JSON API. Only the options given are managed; the others stay as they are.
  - Reads the current state first and sends only the commands for what differs. Every one of these
    commands interrupts hashing (a mode or limit change restarts btminer, the mining program), so a
    miner that already is in the wanted state gets no command at all and no API token is requested.
  - After each command the module polls the miner until it answers and shows the wanted state, so
    the next task finds a miner that really is in that state. See O(wait) and O(wait_timeout).
  - Changes need the password of the account that changes the miner (O(password)) and the miner's
    write API switched on.
author:
  - hashfarm maintainers (@hashfarm)
options:
  mining:
    description:
      - Whether the miner should be hashing.
      - V(true) sends C(power_on) to a miner that is not hashing, V(false) sends C(power_off) to a
        miner that is. "Hashing" is decided by the same rule as
        RV(hashfarm.whatsminer.whatsminer_facts#module:ansible_facts.whatsminer_status.mining),
        see the notes.
      - V(true) is verified by a live hashrate above zero, also after a mode or limit change in the
        same task (the miner must hash again after the btminer restart). A miner that cannot hash
        (no reachable pool, failed hashboards) thus fails the wait with what it last showed.
    type: bool
  mode:
    description:
      - The power mode. Sends C(set_low_power), C(set_normal_power) or C(set_high_power).
      - The miner sends no reply to these commands and restarts btminer, so the module verifies
        the mode by reading it back once btminer answers again. The mode btminer reports (C(summary)
        C(Power Mode)) decides, so firmware that takes the new mode without a visible restart is
        verified as soon as it shows it.
    type: str
    choices: [low, normal, high]
  power_limit:
    description:
      - The power limit in watts, from 1 to 99998, or V(99999) to remove the limit (the value the
        protocol defines for that). Sends C(adjust_power_limit), after which btminer restarts.
      - Other values (V(0), negative ones, more than V(99999)) are rejected before anything is sent.
      - Each model allows only its own range (for example 1600 to 3600 W). Firmware that reports the
        limit setting shows its maximum while no limit is set (the effective limit in C(summary)); a
        value above it fails the task before anything is sent, in check mode too. Otherwise the
        miner refuses a value outside its range when it is sent; the task then fails with the
        miner's own message. The limit is sent before a mode change, so such a refusal leaves the
        mode as it was. Check mode lists in RV(uncertain) what it cannot know about the value.
      - B(Firmware that reports the limit setting) (2024 firmware, C(status.power_limit_set); API 3
        C(power-limit-set)) compares, sets and removes the limit exactly. An empty
        C(status.power_limit_set) reports no setting, so C(summary) C(Power Limit) decides, as on
        older firmware.
      - B(1.x and 2.0.x firmware) report only the effective limit (C(summary) C(Power Limit)), which
        is the model's factory maximum when no lower limit is set. There a limit in watts is
        compared with the effective limit, so asking for the factory maximum on a miner without
        limit changes nothing (it has the same effect). Removing a limit (V(99999)) cannot be
        verified nor kept idempotent there, so the task fails before sending anything when such a
        miner shows a limit, and advises to set the factory maximum instead.
    type: int
  power_percent:
    description:
      - The share of its running power the miner should draw, from 1 to 100 (V(100) = no reduction).
        Changes the draw within about a second in the default O(power_percent_mode=fast), without a
        btminer restart, which makes it the fast way to curtail (demand response). The vendor
        documents it as temporary; for a lasting cap use O(power_limit).
      - Sends C(set_power_pct) (fast) or C(set_power_pct_v2) (normal) on API 2 firmware and
        C(set.miner.power_percent) on API 3 firmware, after a mode change and before C(power_off).
      - B(API 3 firmware) reports the percentage (C(get.miner.setting) C(power-percent), V(0) meaning
        no reduction, shown as V(100)), so it is compared, set only when it differs and read back.
      - B(API 2 firmware) has no documented read of it. By default the task then fails before
        sending anything, as it could neither compare nor verify it; see O(power_percent_unreadable).
        Firmware that does not know the command at all fails the task with a message that says so.
    type: int
  power_percent_mode:
    description:
      - V(fast) applies the percentage at once (about a second); V(normal) over minutes with a
        smaller hashrate loss (the vendor's two modes).
    type: str
    choices: [fast, normal]
    default: fast
  power_percent_unreadable:
    description:
      - What to do with O(power_percent) on firmware that does not report the percentage (API 2).
      - V(fail) (default) fails the task before anything is sent, naming the reason. The task is
        never reported ok without knowing, and never changed on every run unless asked.
      - V(send) sends the percentage on every run without being able to verify it. The task then
        reports changed every time, RV(verified) is V(false) and a warning says why (as
        O(hashfarm.whatsminer.whatsminer_pools#module:update_password=always) does for pool passwords).
    type: str
    choices: [fail, send]
    default: fail
  wait:
    description:
      - Whether to wait, after the last command, until the miner answers and shows the wanted state.
      - With V(false) the module returns right after sending the last command, without verifying
        it (unless the reply to it was lost, see the notes). RV(after) is then the predicted state
        and RV(verified) is V(false).
      - When several commands are needed the module always waits between them, so that no command
        reaches a restarting btminer.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds each wait may last, at most 3600. A wait follows every command (see O(wait))
        and, when btminer is restarting as the task starts, precedes the first read of the state.
      - Reads while waiting start 0.5 seconds apart and spread out to 2 seconds apart.
      - It is a deadline. Each read is given only the time left (connect, reply and retries included,
        whatever O(timeout) and O(retries) say), so no wait outlasts it.
      - When the time is up the task fails with the commands sent, the state last seen and the last
        error. It has C(changed=true) when the miner confirmed the last command (it may show it
        later, so run the task again) or showed other settings than before.
    type: float
    default: 300
extends_documentation_fragment:
  - hashfarm.whatsminer.connection
  - hashfarm.whatsminer.execution
  - hashfarm.whatsminer.attributes
  - hashfarm.whatsminer.attributes.actiongroup_whatsminer
  - hashfarm.whatsminer.attributes.idempotent
attributes:
  idempotent:
    support: partial
    details:
      - Idempotent, except O(power_percent) with O(power_percent_unreadable=send) on API 2 firmware,
        which is sent and reported changed on every run.
  check_mode:
    support: full
    details: Reads the current state and predicts the exact commands; requests no token and sends no command.
  diff_mode:
    support: full
    details: Shows V(mining), V(mode), V(power_limit_w) and, when managed, V(power_percent) before and after.
notes:
  - B(Order of the commands.) When several settings change in one task they are applied in this
    order, waiting after each one until the miner shows it. C(power_on) first, then the power limit,
    then the power mode, then the power percentage, and C(power_off) last. Mode and limit changes restart btminer, and are
    thus applied while the miner runs (as other clients do too); a miner that must end stopped is
    stopped only after its last restart, so that no restart leaves it in a state nobody asked for.
    The limit comes before the mode because the miner may refuse a limit; refused first, it leaves
    nothing half applied.
    When mining is neither turned on nor off, mode and limit changes are sent to the miner as it is
    (also to a stopped miner, which stays stopped).
  - B(How "mining" is decided.) As in M(hashfarm.whatsminer.whatsminer_facts), when the C(summary)
    answers, the live hashrate decides (above zero is mining); only while btminer restarts does the
    2.x C(mineroff) flag decide. Right after C(power_on) or a restart a miner hashes zero for a
    moment; the module waits that out.
  - B(Power limit.) The same "no limit" values as in M(hashfarm.whatsminer.whatsminer_facts)
    (V(99999), V(2147483647), V(0), empty) read as no limit, shown as V(null) in RV(before) and RV(after).
  - B(Errors.) A disabled write API, a wrong password, the miner's token limit and a refused
    command end the task with an actionable message. When commands were already applied before a
    failure the message says which ones, and the result has C(changed=true) and RV(commands).
    When the reply to a command is lost after the miner received it (it timed out, was cut, reset
    or garbled), the module reads the miner back, also with O(wait=false), and reports the change,
    with a warning, only when the miner shows it.
  - B(Duration.) Each command waits at most O(timeout) for its reply (a power mode command at most 3
    seconds, as the miner does not answer it), and each wait after it at most O(wait_timeout). The
    reads before the first command are bounded by O(timeout) and O(retries).
  - A changed run requests one API token for all its commands; the password never appears in the output.
seealso:
  - module: hashfarm.whatsminer.whatsminer_facts
"""

EXAMPLES = r"""
- name: Curtail the whole farm for a grid event
  hosts: miners
  gather_facts: false
  module_defaults:
    group/hashfarm.whatsminer.whatsminer:
      host: "{{ ansible_host }}"
      password: "{{ vault_whatsminer_admin_password }}"
  tasks:
    - name: Stop hashing
      hashfarm.whatsminer.whatsminer_power:
        mining: false

- name: Resume in low power mode with a 3000 W cap per miner
  hashfarm.whatsminer.whatsminer_power:
    host: "{{ ansible_host }}"
    password: "{{ vault_whatsminer_admin_password }}"
    mining: true
    mode: low
    power_limit: 3000

- name: Remove the power limit (firmware that reports status.power_limit_set)
  hashfarm.whatsminer.whatsminer_power:
    host: "{{ ansible_host }}"
    power_limit: 99999

- name: Cut the draw to 30 percent within seconds, without a btminer restart (API 3 firmware)
  hashfarm.whatsminer.whatsminer_power:
    host: "{{ ansible_host }}"
    power_percent: 30

- name: Switch to high power on many miners without waiting for each restart
  hashfarm.whatsminer.whatsminer_power:
    host: "{{ ansible_host }}"
    mode: high
    wait: false
  register: power

- name: Show what was sent
  ansible.builtin.debug:
    msg: "{{ power.commands | map(attribute='command') | list }}"
"""

RETURN = r"""
before:
  description: The power settings read before any command.
  returned: success
  type: dict
  contains:
    mining:
      description: Whether the miner was hashing (V(null) when unknown).
      type: bool
      sample: false
    mode:
      description: Power mode, V(low), V(normal) or V(high).
      type: str
      sample: normal
    power_limit_w:
      description:
        - Power limit in watts, V(null) when no limit is set.
        - On 1.x and 2.0.x firmware the effective limit, the model's factory maximum when no lower limit is set.
      type: int
      sample: 3600
after:
  description:
    - The power settings read back after the last command, or the same as RV(before) when nothing had to change.
    - In check mode, and with O(wait=false), the predicted settings (RV(verified) is then V(false)).
  returned: success
  type: dict
  contains:
    mining:
      description: Whether the miner is hashing.
      type: bool
      sample: true
    mode:
      description: Power mode, V(low), V(normal) or V(high).
      type: str
      sample: low
    power_limit_w:
      description: Power limit in watts, V(null) when no limit is set (as in RV(before)).
      type: int
      sample: 3000
    power_percent:
      description:
        - The power percentage, only when O(power_percent) is given. V(null) in RV(before) where the
          firmware does not report it (API 2); in RV(after) there the value sent (RV(verified) false).
      type: int
      sample: 30
commands:
  description:
    - The commands sent, in order; in check mode the commands that would be sent. Empty when nothing differs.
    - A task that fails after sending commands returns the commands sent before the failure.
  returned: success, and on failures after a command was sent
  type: list
  elements: dict
  sample: [{"command": "power_on", "parameters": {}}, {"command": "adjust_power_limit", "parameters": {"power_limit": "3000"}},
           {"command": "set_low_power", "parameters": {}}]
  contains:
    command:
      description: The API command.
      type: str
    parameters:
      description: Its parameters, as sent (strings).
      type: dict
power_w:
  description:
    - The draw in watts the miner reported (C(summary) C(Power)) at the first read and at the last
      read-back. Its C(after) is V(null) when the state after the commands was not read
      (check mode, O(wait=false)).
    - C(limit) is the effective power limit the miner reported at the first read (C(summary)
      C(Power Limit)), the most it may draw while hashing; V(null) when not reported.
  returned: success
  type: dict
  sample: {"before": 3400, "after": 1020, "limit": 3600}
verified:
  description: Whether RV(after) was read back from the miner (V(false) in check mode and with O(wait=false) after changes).
  returned: success
  type: bool
  sample: true
uncertain:
  description:
    - In check mode, what the prediction cannot know, one text per item (empty when nothing).
    - A power limit to set is listed, as the miner reports at most the maximum of its model (then
      only the minimum is unknown) and on older firmware neither. When the maximum is unknown, the
      text is also a warning.
  returned: check mode
  type: list
  elements: str
  sample: ["power_limit 3000 W: within the maximum this miner shows (3600 W), but the miner does not report the minimum of its model,
            so a value below that minimum would be refused only when it is sent"]
"""

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._power import ARGUMENT_SPEC, logic
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._runner import run_module


def main() -> None:
    """Module entry point."""
    run_module(ARGUMENT_SPEC, logic, supports_check_mode=True)


if __name__ == "__main__":
    main()
