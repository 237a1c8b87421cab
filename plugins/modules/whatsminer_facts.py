#!/usr/bin/python
# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gather normalized facts from a Whatsminer miner."""

from __future__ import annotations

DOCUMENTATION = r"""
module: whatsminer_facts
short_description: Gather facts from a MicroBT Whatsminer miner
version_added: 0.1.0
description:
  - Reads what a Whatsminer is (model, firmware, network identity, power supply), whether and how
    it runs (mining, power mode and limit, hashrate, power, temperatures, fans), its pools, its
    hashboards and its current error codes, over the miner's JSON API.
  - The facts have the same names, types and units on every firmware generation (1.4.x, 2.0.x and
    2024 firmware). A value the firmware does not report is V(null).
  - Each subset is returned under its own top-level key of C(ansible_facts), so a later call with
    other subsets does not replace the facts gathered earlier.
  - Only reads; the admin password is not needed.
author:
  - hashfarm maintainers (@hashfarm)
options:
  gather_subset:
    description:
      - Which facts to gather. V(all) gathers every subset.
      - Prefix a subset with V(!) to leave it out, for example V([all, "!boards"]). When only
        exclusions are given they apply to V(all).
      - Each subset costs only the commands it needs; the miner's joinable reads (C(summary),
        C(pools), C(devs), C(devdetails)) share one connection.
      - V(device) reads C(get_version), C(devdetails), C(summary), C(get_miner_info) and C(get_psu).
      - V(status) reads C(summary) and C(status).
      - V(pools) reads C(pools).
      - V(boards) reads C(devs).
      - V(errors) reads C(get_error_code), or the error fields of C(summary) on 1.x firmware.
      - V(factory_password) (audit, only when named, not part of V(all)) tells whether the write
        account still takes its factory password (API 2 C(admin)/C(admin), API 3 O(api3_account) and
        its factory password). It authenticates once with the factory password, as
        M(hashfarm.whatsminer.whatsminer_password) checks a password, and changes nothing. It costs one
        API token of the 32 per controller address and 30 minutes (API 2), or one or two salt reads
        and one signed no-op C(set.user.change_passwd) (API 3); it loads the crypto libraries like a
        write does. O(password) is not needed for it.
      - V(settings) (only when named, not part of V(all)) reads the device settings that
        M(hashfarm.whatsminer.whatsminer_settings) manages, by the same names (API 2 C(get_miner_info)
        and C(summary), API 3 C(get.system.setting), C(get.fan.setting), C(get.miner.setting) and
        C(get.device.info) section C(system), one connection each).
    type: list
    elements: str
    default: [all]
extends_documentation_fragment:
  - hashfarm.whatsminer.connection
  - hashfarm.whatsminer.execution
  - hashfarm.whatsminer.attributes
  - hashfarm.whatsminer.attributes.actiongroup_whatsminer
  - hashfarm.whatsminer.attributes.facts
  - hashfarm.whatsminer.attributes.idempotent
attributes:
  check_mode:
    support: full
    details: The module only reads, so it gathers the same facts in check mode.
  diff_mode:
    support: none
notes:
  - B(How "mining" is decided.) Firmware flags are not always right. Real 1.4.x devices report
    C(btmineroff=true) while hashing, and a miner that was just started reports that it is not
    stopped before it hashes. So RV(ansible_facts.whatsminer_status.mining) follows the evidence a
    person would trust. When the C(summary) answers, the live hashrate decides (5 second window,
    else 1 minute, else real time). Above zero is mining, zero is not. Only when the C(summary) does not
    answer (btminer restarting) does the 2.x C(mineroff) flag decide. The firmware's own flag is in
    RV(ansible_facts.whatsminer_status.mining_flag).
  - B(Power limit.) Firmware reports "no limit" in several ways (V(99999), V(2147483647), V(0));
    all of them become V(null) in RV(ansible_facts.whatsminer_status.power_limit_w).
    C(status.power_limit_set) (2024 firmware) takes precedence over the C(summary) field C(Power Limit)
    when it has a value. An empty C(status.power_limit_set) reports nothing, so C(Power Limit), the
    effective limit, decides as on older firmware. On API 3 an empty C(power-limit-set) means no limit.
  - B(Power mode.) The mode btminer reports in C(summary) (C(Power Mode)) decides; C(status.power_mode)
    only when the C(summary) does not say (on API 3, C(get.miner.setting)).
  - A command the firmware does not know (code 14) or rejects only leaves the facts that need it
    V(null), with a warning. Commands that 1.x firmware is known not to have (C(get_miner_info),
    C(get_error_code)) are not asked for, so their facts are V(null) without a warning.
  - A miner that does not answer, or answers none of the commands with a usable reply (only errors
    or unreadable replies), fails its own host only; the play goes on with the others.
  - A reply the miner cut off (its send buffer overflowed, or the connection closed early) is used
    for what it holds, with a warning that the facts from it may be incomplete.
seealso:
  - module: ansible.builtin.setup
"""

EXAMPLES = r"""
- name: Gather facts from every miner
  hosts: miners
  gather_facts: false
  module_defaults:
    group/hashfarm.whatsminer.whatsminer:
      host: "{{ ansible_host }}"
  tasks:
    - name: Read the miner
      hashfarm.whatsminer.whatsminer_facts:

    - name: Show what it runs
      ansible.builtin.debug:
        msg: >-
          {{ ansible_facts.whatsminer_device.model }} on {{ ansible_facts.whatsminer_device.firmware_version }}:
          {{ ansible_facts.whatsminer_status.hashrate_ths }} TH/s at {{ ansible_facts.whatsminer_status.power_w }} W

- name: Only status and pools, on a miner listening on another port
  hashfarm.whatsminer.whatsminer_facts:
    host: 10.20.0.15
    port: 14028
    gather_subset:
      - status
      - pools

- name: Everything but the hashboards
  hashfarm.whatsminer.whatsminer_facts:
    host: "{{ ansible_host }}"
    gather_subset:
      - "!boards"
"""

RETURN = r"""
ansible_facts:
  description: Facts of the miner, one top-level key per subset.
  returned: always
  type: dict
  contains:
    whatsminer_gather_subset:
      description: The subsets actually gathered, in a fixed order.
      returned: always
      type: list
      elements: str
      sample: [device, status, pools, boards, errors]
    whatsminer_device:
      description: What the miner is.
      returned: O(gather_subset) contains V(device)
      type: dict
      contains:
        model:
          description: Model as the miner reports it in C(devdetails).
          type: str
          sample: M30S+_VE40
        firmware_version:
          description: Firmware version, without the quotes some firmware adds.
          type: str
          sample: 20230803.11.REL
        api_version:
          description: API version as a number (V(whatsminer v1.4.0) becomes V(1.4.0)).
          type: str
          sample: 2.0.5
        platform:
          description: Control board platform.
          type: str
          sample: H6OS
        mac:
          description: MAC address, upper case and colon separated.
          type: str
          sample: C6:07:20:00:1E:C2
        ip:
          description: IP address the miner reports, else the address the module connected to.
          type: str
          sample: 192.168.2.16
        hostname:
          description: Hostname of the miner (V(null) on 1.x firmware).
          type: str
          sample: WhatsMiner
        serial:
          description: Serial number of the miner (V(null) where the firmware does not report it).
          type: str
        nominal_hashrate_ths:
          description: Factory (nominal) hashrate in TH/s.
          type: float
          sample: 84.773
        psu:
          description: Power supply unit.
          type: dict
          contains:
            model:
              description: PSU model.
              type: str
              sample: P221B
            name:
              description: PSU name.
              type: str
            firmware_version:
              description: PSU firmware (software) version.
              type: str
              sample: V01.00.V01.03
            hardware_version:
              description: PSU hardware version.
              type: str
            serial:
              description: PSU serial number.
              type: str
    whatsminer_status:
      description: Whether and how the miner runs.
      returned: O(gather_subset) contains V(status)
      type: dict
      contains:
        mining:
          description:
            - Whether the miner is hashing, from the evidence described in the notes.
            - V(null) when there is no evidence either way.
          type: bool
          sample: true
        mining_flag:
          description: What the 2.x firmware's C(mineroff) flag says (V(null) on 1.x, whose flag is unreliable).
          type: bool
        mineroff_reason:
          description: Why the firmware stopped mining, where it says.
          type: str
        power_mode:
          description: V(low), V(normal), V(high), or V(null) when the firmware does not say.
          type: str
          sample: normal
        power_w:
          description: Power draw in watts.
          type: int
          sample: 3593
        power_limit_w:
          description: Power limit in watts, V(null) when no limit is set.
          type: int
          sample: 3300
        efficiency_j_per_th:
          description: Power draw divided by the average hashrate, in joules per terahash.
          type: float
          sample: 42.3
        hashrate_ths:
          description: Average hashrate since btminer started, in TH/s.
          type: float
          sample: 84.984
        hashrate_5s_ths:
          description: Hashrate of the last 5 seconds, in TH/s.
          type: float
        hashrate_1m_ths:
          description: Hashrate of the last minute, in TH/s.
          type: float
        uptime_s:
          description: Seconds since the control board booted.
          type: int
        mining_elapsed_s:
          description: Seconds since btminer (the mining program) started.
          type: int
        temperature_c:
          description: Hashboard temperature in degrees Celsius.
          type: float
        env_temperature_c:
          description: Environment (intake) temperature in degrees Celsius.
          type: float
        chip_temp_max_c:
          description: Hottest chip in degrees Celsius.
          type: float
        fan_in_rpm:
          description: Intake fan speed in RPM.
          type: int
        fan_out_rpm:
          description: Exhaust fan speed in RPM.
          type: int
        fast_boot:
          description: Whether btminer fast boot is enabled.
          type: bool
    whatsminer_pools:
      description: Configured pools ordered by slot. Pool passwords are never returned (the miner does not report them).
      returned: O(gather_subset) contains V(pools)
      type: list
      elements: dict
      contains:
        slot:
          description: Pool slot, 1 to 3.
          type: int
        url:
          description: Pool URL as the miner reports it.
          type: str
          sample: stratum+tcp://btc.ss.poolin.com:443
        user:
          description: Worker (user) name.
          type: str
        status:
          description: Pool status in lower case, for example V(alive) or V(dead).
          type: str
        priority:
          description: Priority, 0 is the highest.
          type: int
        active:
          description: Whether the miner currently sends work to this pool.
          type: bool
        accepted:
          description: Accepted shares.
          type: int
        rejected:
          description: Rejected shares.
          type: int
    whatsminer_boards:
      description: Hashboards ordered by slot.
      returned: O(gather_subset) contains V(boards)
      type: list
      elements: dict
      contains:
        slot:
          description: The miner's own (0-based) slot number.
          type: int
        hashrate_ths:
          description: Average hashrate of the board in TH/s.
          type: float
        hashrate_5s_ths:
          description: Hashrate of the last 5 seconds in TH/s.
          type: float
        temperature_c:
          description: Board temperature in degrees Celsius.
          type: float
        chip_temp_max_c:
          description: Hottest chip of the board in degrees Celsius.
          type: float
        chip_temp_avg_c:
          description: Average chip temperature in degrees Celsius.
          type: float
        chips:
          description: Number of working chips.
          type: int
        frequency_mhz:
          description: Chip frequency in MHz.
          type: int
        status:
          description: Board status in lower case, for example V(alive).
          type: str
        enabled:
          description: Whether the board is enabled.
          type: bool
        serial:
          description: Serial number of the board.
          type: str
    whatsminer_errors:
      description: Current error codes of the miner.
      returned: O(gather_subset) contains V(errors)
      type: list
      elements: dict
      contains:
        code:
          description: Error code, as a string.
          type: str
          sample: "329"
        time:
          description: When the error was raised, where the firmware says.
          type: str
          sample: "2022-01-17 11:28:11"
        reason:
          description: The firmware's description of the error, where it gives one.
          type: str
    whatsminer_factory_password:
      description: The factory-password audit.
      returned: O(gather_subset) contains V(factory_password)
      type: dict
      contains:
        accepted:
          description:
            - V(true) when the miner still takes the factory password (a problem, see
              M(hashfarm.whatsminer.whatsminer_password)), V(false) when it does not.
            - V(null) when it cannot be told (API 2 with the write API switched off refuses before checking).
            - On API 3 a "no permission" answer follows a valid signature, so it counts as V(true) (an inference).
          type: bool
          sample: false
        account:
          description: The account checked (V(admin) on API 2).
          type: str
          sample: admin
        api_version:
          description: The API the miner was checked with.
          type: int
          sample: 2
    whatsminer_settings:
      description:
        - The device settings, named as the options of M(hashfarm.whatsminer.whatsminer_settings). A value
          is V(null) where the firmware does not report it (1.x firmware none; 2.0.x and 2024 only
          V(hostname), V(led) and V(fast_boot); API 3 all).
      returned: O(gather_subset) contains V(settings)
      type: dict
      contains:
        hostname:
          description: The hostname.
          type: str
          sample: WhatsMiner
        timezone:
          description: The time zone name.
          type: str
          sample: Asia/Shanghai
        timezone_posix:
          description: The POSIX TZ text of the time zone.
          type: str
          sample: CST-8
        ntp_servers:
          description: The NTP servers.
          type: list
          elements: str
          sample: ["0.cn.pool.ntp.org", "0.pool.ntp.org"]
        led:
          description: V(auto) or V(locate) (any manual pattern).
          type: str
          sample: auto
        fast_boot:
          description: Whether fast boot is on.
          type: bool
        web_pools:
          description: Whether pools may be edited in the web interface.
          type: bool
        temperature_offset:
          description: Fan-control temperature offset in degrees.
          type: int
        fan_poweroff_cool:
          description: Whether the fans keep cooling after mining stops.
          type: bool
        fan_zero_speed:
          description: Whether the fans may stop at low temperature.
          type: bool
        upfreq_speed:
          description: The ramp-up speed (0 normal to 10 fastest).
          type: int
"""

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._facts import ARGUMENT_SPEC, logic
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._runner import run_module


def main() -> None:
    """Module entry point."""
    run_module(ARGUMENT_SPEC, logic, supports_check_mode=True)


if __name__ == "__main__":
    main()
