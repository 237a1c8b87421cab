#!/usr/bin/python
# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostname, time zone, NTP, LED, fast boot, web pools, fan and ramp-up settings of a Whatsminer as desired state."""

from __future__ import annotations

DOCUMENTATION = r"""
module: whatsminer_settings
short_description: Set the hostname, time zone, NTP servers, LED, fast boot, web pools, fan and ramp-up settings of a MicroBT Whatsminer
version_added: 0.2.0
description:
  - Manages the device settings operators set across a farm, on API 2 (port 4028) and API 3 (port
    4433) firmware. Only the options given are managed; the others stay as they are.
  - Reads the current settings first, writes only those that differ, and reads them back before it
    reports a change. Check mode and diff show exactly what a real run would do.
  - B(Not every firmware reports every setting.) API 2 firmware reports only the hostname and the
    LED state (C(get_miner_info), 2.0.x and later) and fast boot (C(summary) C(Btminer Fast Boot),
    2.0.x and later); 1.x firmware reports none of them. API 3 firmware reports all of them. A
    setting the miner does not report cannot be compared, so the module does not write it unless
    O(update_unverifiable=always) asks for it, and lists it in RV(unverified) either way. It never
    reports a setting as unchanged that it could not read.
  - The hostname takes effect only after a restart of the miner (API 2 documents a network restart,
    API 3 a system restart), so a hostname change is written last and followed by a reboot; the
    module waits until the miner answers again (at most O(wait_timeout)) and reads the hostname back.
  - Changes need the password of the account that changes the miner (O(password)) and the miner's
    write API switched on.
author:
  - hashfarm maintainers (@hashfarm)
options:
  hostname:
    description:
      - The miner's hostname, 1 to 63 letters, digits or dashes, not starting with a dash.
      - A change reboots the miner (see the description); hashing stops for the length of a reboot.
      - Sends C(set_hostname) (API 2) or C(set.system.hostname) (API 3), then C(reboot) or C(set.system.reboot).
    type: str
  timezone:
    description:
      - The time zone by its name, for example V(Europe/Berlin) or V(Asia/Shanghai).
      - The firmware takes the name together with its POSIX TZ text (O(timezone_posix)); when that is
        not given, the module reads it from the controller's zoneinfo file of the zone.
      - Sends C(set_zone) (API 2, which does not report the zone, see O(update_unverifiable)) or
        C(set.system.timezone) (API 3, read back from C(get.system.setting)). The firmware applies it
        after its next network restart.
    type: str
  timezone_posix:
    description:
      - The POSIX TZ text of O(timezone), for example V(CET-1CEST,M3.5.0,M10.5.0/3). Needs O(timezone).
      - Give it when the controller has no zoneinfo files or to pin the exact text.
    type: str
  ntp_servers:
    description:
      - The NTP servers, 1 to 8 host names or addresses, in order. API 3 only (C(set.system.ntp_server),
        read back from C(get.system.setting)); on an API 2 miner the task fails before anything is sent.
    type: list
    elements: str
  led:
    description:
      - V(auto) hands the LED back to the firmware; V(locate) makes it blink with O(led_pattern) to find
        the miner on the floor.
      - The firmware reports only whether the LED is automatic (C(ledstat), C(ledstatus)), not the
        pattern, so a miner that already blinks counts as V(locate) whatever its pattern.
    type: str
    choices: [auto, locate]
  led_pattern:
    description:
      - The blink pattern of O(led=locate), one or two steps (API 2 sends one C(set_led) per step,
        API 3 all in one C(set.system.led)). Default one red step, period 1000 ms, lit 500 ms.
    type: list
    elements: dict
    suboptions:
      color:
        description: LED colour.
        type: str
        choices: [red, green]
        required: true
      period:
        description: Length of one blink cycle in milliseconds (0 to 60000).
        type: int
        required: true
      duration:
        description: Milliseconds the LED is lit per cycle, at most O(led_pattern[].period).
        type: int
        required: true
      start:
        description: Offset of the lit part within the cycle, in milliseconds.
        type: int
        default: 0
  fast_boot:
    description:
      - Whether btminer ramps up fast after a start (more than 85 % of the target power within seconds, at
        some cost in efficiency). Takes effect at the next start of btminer.
      - Cannot be combined with an O(upfreq_speed) other than V(0) (the vendor's rule); such input is rejected.
    type: bool
  web_pools:
    description: Whether the pools may be edited in the miner's web interface.
    type: bool
  temperature_offset:
    description: Temperature offset of the fan control in degrees, V(-30) to V(0) (air-cooled models).
    type: int
  fan_poweroff_cool:
    description: Whether the fans keep cooling after mining stops (air-cooled models).
    type: bool
  fan_zero_speed:
    description: Whether the fans may stop at low temperature (air-cooled models).
    type: bool
  upfreq_speed:
    description:
      - The ramp-up speed after a start, V(0) (normal) to V(10) (fastest) on API 3, V(0) to V(9) on API 2
        (V(10) on an API 2 miner fails the task before anything is sent). Faster means a larger deviation
        of the final hashrate and power.
    type: int
  update_unverifiable:
    description:
      - What to do with a given setting the miner does not report (see the description).
      - V(never) writes it never; the task warns and lists it in RV(unverified).
      - V(always) writes it on every run and reports a change every time, as the module cannot tell
        whether it differed. Use it for a one-off change, not in every run of a playbook.
    type: str
    choices: [never, always]
    default: never
  wait_timeout:
    description: Seconds to wait for the miner to answer again after the reboot of a hostname change (at most 3600).
    type: float
    default: 600
extends_documentation_fragment:
  - hashfarm.whatsminer.connection
  - hashfarm.whatsminer.execution
  - hashfarm.whatsminer.attributes
  - hashfarm.whatsminer.attributes.actiongroup_whatsminer
  - hashfarm.whatsminer.attributes.idempotent
attributes:
  check_mode:
    support: full
    details: Sends nothing; RV(commands) lists what would be sent and RV(after) the predicted settings.
  diff_mode:
    support: full
    details: Shows the managed settings before and after.
notes:
  - B(What each firmware reports.) 1.x (API 2) none; 2.0.x and 2024 (API 2) V(hostname), V(led) and
    V(fast_boot); API 3 (firmware of 2024-11 and later) all settings. The same names, V(null) where the
    firmware does not report a value, are in the C(settings) subset of M(hashfarm.whatsminer.whatsminer_facts).
  - B(Order.) The settings that take effect at once go first, the hostname last with the reboot after it.
  - B(Errors.) A disabled write API, a wrong password and a refused value end the task with the miner's
    message and the commands already sent (then with C(changed=true)). A written setting that the
    miner does not show when read back fails the task.
seealso:
  - module: hashfarm.whatsminer.whatsminer_facts
  - module: hashfarm.whatsminer.whatsminer_reboot
"""

EXAMPLES = r"""
- name: Hostnames after the rack layout, Berlin time, the farm's NTP servers
  hosts: miners
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  module_defaults:
    group/hashfarm.whatsminer.whatsminer:
      host: "{{ ansible_host }}"
      password: "{{ vault_whatsminer_admin_password }}"
  tasks:
    - name: Device settings
      hashfarm.whatsminer.whatsminer_settings:
        hostname: "{{ inventory_hostname | regex_replace('[^A-Za-z0-9-]', '-') }}"
        timezone: Europe/Berlin
        ntp_servers: [ntp1.farm.example, ntp2.farm.example]
        fast_boot: false
        web_pools: false

- name: Find a miner on the floor, then give the LED back
  hosts: rack7_slot12
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Blink red and green
      hashfarm.whatsminer.whatsminer_settings:
        host: "{{ ansible_host }}"
        password: "{{ vault_whatsminer_admin_password }}"
        led: locate
        led_pattern:
          - {color: red, period: 1000, duration: 500}
          - {color: green, period: 1000, duration: 500, start: 500}

- name: Fan settings also on API 2 firmware, which does not report them (written on every run)
  hashfarm.whatsminer.whatsminer_settings:
    host: "{{ ansible_host }}"
    password: "{{ vault_whatsminer_admin_password }}"
    temperature_offset: -10
    fan_zero_speed: false
    update_unverifiable: always
"""

RETURN = r"""
api_version:
  description: The API the module used, V(2) or V(3).
  returned: success
  type: int
  sample: 3
before:
  description: The managed settings as read before any change; V(null) for a setting the firmware does not report.
  returned: success
  type: dict
  sample: {"hostname": "WhatsMiner", "timezone": "Asia/Shanghai", "timezone_posix": "CST-8", "fast_boot": false}
after:
  description:
    - The managed settings read back after the changes (the same as RV(before) when nothing differed). In check
      mode the predicted settings. A setting written without being reported keeps the written value here.
  returned: success
  type: dict
  sample: {"hostname": "rack1-a01", "timezone": "Europe/Berlin", "timezone_posix": "CET-1CEST,M3.5.0,M10.5.0/3", "fast_boot": false}
updated:
  description: The settings written (in check mode, those that would be written), in the order sent.
  returned: success
  type: list
  elements: str
  sample: ["timezone", "hostname"]
unverified:
  description:
    - The given settings this firmware does not report, so the module could not compare or verify them.
      They are written only with O(update_unverifiable=always).
  returned: success
  type: list
  elements: str
  sample: ["temperature_offset", "fan_zero_speed"]
commands:
  description:
    - The commands sent, in order; in check mode the commands that would be sent. Empty when nothing differs.
  returned: success
  type: list
  elements: dict
  sample: [{"command": "set.system.timezone", "parameters": {"timezone": "CET-1CEST,M3.5.0,M10.5.0/3", "zonename": "Europe/Berlin"}},
           {"command": "set.system.hostname", "parameters": {"hostname": "rack1-a01"}}, {"command": "set.system.reboot", "parameters": null}]
  contains:
    command:
      description: The API command (API 2 or API 3 name, see RV(api_version)).
      type: str
    parameters:
      description: Its parameters as sent (API 2 strings; API 3 the C(param) value).
      type: raw
rebooted:
  description: Whether the miner was rebooted to apply a hostname change (never in check mode).
  returned: success
  type: bool
  sample: false
"""

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._runner import run_module
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._settings import ARGUMENT_SPEC, logic


def main() -> None:
    """Module entry point."""
    run_module(ARGUMENT_SPEC, logic, supports_check_mode=True)


if __name__ == "__main__":
    main()
