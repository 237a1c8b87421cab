# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Normalized miner state from raw API replies, the same shape for every firmware generation.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

These are pure functions: they take parsed replies (dicts, as the client returns them) and return
plain dicts with explicit units in their names. Missing or unreadable fields become ``None``, never
an exception. The facts module returns these dicts as facts, and the pools and power modules
decide changed/unchanged from the very same functions, so "is it mining" or "is a power limit set"
has exactly one definition in the collection.

Firmware generations differ (see the protocol reference):

* 1.4.x (``whatsminer v1.4.0``): MAC, quoted ``'Firmware Version'`` and error codes live in
  ``summary``; ``status`` has ``btmineroff``, which real devices report as ``"true"`` while hashing;
  no ``get_miner_info`` and no ``get_error_code``.
* 2.0.x: ``status`` has ``mineroff``; ``get_miner_info`` and ``get_error_code`` exist; ``status``
  may leave ``power_mode`` empty (``summary`` has ``Power Mode``).
* 2024: ``status`` adds ``power_limit_set``.

Where two replies carry the same setting, the value the running miner shows decides: the power
mode btminer reports in ``summary`` (``Power Mode``) before the one ``status`` reports (which
firmware may update before btminer takes the new mode up), and ``status.power_limit_set`` only
when the firmware fills it in (an empty one says nothing: then ``summary``'s ``Power Limit``, the
effective limit, decides as on 2.0.x).
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Any

# Values firmware uses for "no power limit set": 99999 is what adjust_power_limit takes to clear a
# limit, 2147483647 (INT32_MAX) is what newer firmware reports in status.power_limit_set, and 0 or a
# negative number is no usable limit either.
NO_POWER_LIMIT_SENTINELS = frozenset({99999, 2147483647})
POWER_MODES = ("low", "normal", "high")
MEGAHASH_PER_TERAHASH = 1_000_000
GIGAHASH_PER_TERAHASH = 1_000
TRUE_STRINGS = frozenset({"true", "yes", "y", "1", "on", "enable", "enabled"})
FALSE_STRINGS = frozenset({"false", "no", "n", "0", "off", "disable", "disabled"})


# ---------------------------------------------------------------------------------------------
# Small tolerant converters


def to_float(value: Any) -> float | None:
    """Return ``value`` as a float (numbers or numeric strings), ``None`` when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().strip("'\""))
        except ValueError:
            return None
    else:
        return None
    if not math.isfinite(number):
        return None
    return number


def to_int(value: Any) -> int | None:
    """Return ``value`` as an int (rounded when it is a float), ``None`` when it is not a number."""
    number = to_float(value)
    return None if number is None else int(round(number))


def to_bool(value: Any) -> bool | None:
    """Return ``value`` as a bool (bools, 0/1, and the usual strings), ``None`` when unknown."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE_STRINGS:
            return True
        if text in FALSE_STRINGS:
            return False
    return None


def to_text(value: Any) -> str | None:
    """Return ``value`` as a stripped string without the quotes some firmware adds, or ``None``."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip().strip("'\"").strip()
    return text or None


def hashrate_ths(megahash: Any) -> float | None:
    """Convert a hashrate in MH/s (as the 2.x API reports it) to TH/s, rounded to GH/s."""
    number = to_float(megahash)
    return None if number is None else round(number / MEGAHASH_PER_TERAHASH, 3)


def normalize_mac(value: Any) -> str | None:
    """Return a MAC address upper case and colon separated, ``None`` when it is not one."""
    text = to_text(value)
    if text is None:
        return None
    digits = re.sub(r"[^0-9A-Fa-f]", "", text)
    if len(digits) != 12:
        return None
    return ":".join(digits[index:index + 2] for index in range(0, 12, 2)).upper()


def normalize_ip(value: Any) -> str | None:
    """Return an IP address in its usual notation; the 2.0.5 documentation shows ``192:168:2:16``."""
    text = to_text(value)
    if text is None:
        return None
    if re.fullmatch(r"\d{1,3}(:\d{1,3}){3}", text):
        text = text.replace(":", ".")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def api_version_number(value: Any) -> str | None:
    """Return the API version as a number string: ``whatsminer v1.4.0`` -> ``1.4.0``."""
    text = to_text(value)
    if text is None:
        return None
    match = re.search(r"(\d+(?:\.\d+)+)", text)
    return match.group(1) if match else text


def power_limit_watts(value: Any) -> int | None:
    """Return a power limit in watts, or ``None`` when the value means "no limit set"."""
    watts = to_int(value)
    if watts is None or watts <= 0 or watts in NO_POWER_LIMIT_SENTINELS:
        return None
    return watts


def power_mode_name(value: Any) -> str | None:
    """Return ``low``, ``normal`` or ``high`` from any firmware spelling, else ``None``."""
    text = to_text(value)
    if text is None:
        return None
    text = text.lower()
    return text if text in POWER_MODES else None


# ---------------------------------------------------------------------------------------------
# Reply accessors


def message(reply: dict | None) -> dict:
    """The ``Msg`` object of an api-daemon reply (``get_*``, ``status``), or ``{}``."""
    if not isinstance(reply, dict):
        return {}
    msg = reply.get("Msg")
    return msg if isinstance(msg, dict) else {}


def section(reply: dict | None, key: str) -> list[dict]:
    """The records of a cgminer-shaped reply (``SUMMARY``, ``POOLS``, ``DEVS``, ``DEVDETAILS``)."""
    if not isinstance(reply, dict):
        return []
    records = reply.get(key)
    if isinstance(records, dict):  # one record without the list around it
        records = [records]
    if not isinstance(records, list):
        return []
    return [record for record in records if isinstance(record, dict)]


def summary_record(summary: dict | None) -> dict:
    """The single record of a ``summary`` reply, or ``{}``."""
    records = section(summary, "SUMMARY")
    return records[0] if records else {}


def first_present(record: dict, *keys: str) -> Any:
    """The value of the first key present with a value in ``record``, else ``None``."""
    for key in keys:
        value = record.get(key)
        if value not in (None, ""):
            return value
    return None


# ---------------------------------------------------------------------------------------------
# Subsets


def device_facts(
    *,
    version: dict | None = None,
    summary: dict | None = None,
    devdetails: dict | None = None,
    miner_info: dict | None = None,
    psu: dict | None = None,
    status: dict | None = None,
    address: str | None = None,
) -> dict:
    """What the miner is: model, firmware, API version, network identity, nominal hashrate, PSU.

    ``address`` is the address the client connected to; it is the ``ip`` when the firmware does not
    report its own (1.4.x has no ``get_miner_info``).
    """
    version_msg = message(version)
    info = message(miner_info)
    psu_msg = message(psu)
    status_msg = message(status)
    record = summary_record(summary)
    details = section(devdetails, "DEVDETAILS")

    model = to_text(details[0].get("Model")) if details else None
    firmware = to_text(first_present(version_msg, "fw_ver")) or to_text(
        first_present(status_msg, "FirmwareVersion", "Firmware Version")
    ) or to_text(record.get("Firmware Version"))
    nominal_ghs = to_float(record.get("Factory GHS"))
    return {
        "model": model or to_text(version_msg.get("miner_type")),
        "firmware_version": firmware,
        "api_version": api_version_number(version_msg.get("api_ver")),
        "platform": to_text(first_present(version_msg, "platform")) or to_text(record.get("CB Platform")),
        "mac": normalize_mac(first_present(info, "mac")) or normalize_mac(record.get("MAC")),
        "ip": normalize_ip(info.get("ip")) or normalize_ip(address),
        "hostname": to_text(info.get("hostname")),
        "serial": to_text(info.get("minersn")),
        "nominal_hashrate_ths": None if nominal_ghs is None else round(nominal_ghs / GIGAHASH_PER_TERAHASH, 3),
        "psu": {
            "model": to_text(psu_msg.get("model")),
            "name": to_text(psu_msg.get("name")),
            "firmware_version": to_text(psu_msg.get("sw_version")),
            "hardware_version": to_text(psu_msg.get("hw_version")),
            "serial": to_text(first_present(psu_msg, "serial_no")) or to_text(info.get("powersn")),
        },
    }


def mining_flag(status: dict | None) -> bool | None:
    """What the firmware's own stop flag says about mining, or ``None`` when it cannot be trusted.

    2.x firmware reports ``mineroff`` (``"true"`` = stopped). 1.4.x reports ``btmineroff``, but
    real 1.4.x devices report ``"true"`` while hashing, so that flag is ignored.
    """
    msg = message(status)
    stopped = to_bool(msg.get("mineroff"))
    return None if stopped is None else not stopped


def live_hashrate_ths(summary: dict | None) -> float | None:
    """The most recent hashrate the summary reports (5 s window, else 1 min, else real time)."""
    record = summary_record(summary)
    return hashrate_ths(first_present(record, "MHS 5s", "MHS 1m", "HS RT"))


def is_mining(summary: dict | None, status: dict | None) -> bool | None:
    """Whether the miner is hashing, decided from the evidence a person would trust.

    1. When the summary answers, the live hashrate decides: above zero means mining, zero means
       not mining, whatever a status flag says (1.4.x firmware flags a hashing miner as stopped,
       and a miner that was just started reports "not stopped" before it hashes).
    2. When the summary does not answer (btminer restarting), the 2.x ``mineroff`` flag decides.
    3. Otherwise it is unknown (``None``).
    """
    live = live_hashrate_ths(summary)
    if live is not None:
        return live > 0
    return mining_flag(status)


def reports_power_limit_setting(status: dict | None) -> bool:
    """Whether the firmware reports the limit setting (2024: ``status.power_limit_set`` with a value).

    Older firmware only has summary's ``Power Limit``, the effective limit, which is the model's
    factory maximum when no lower limit was set. Firmware that leaves ``power_limit_set`` empty
    reports no setting either (it may show an empty field while ``summary`` shows a limit).
    """
    return to_text(message(status).get("power_limit_set")) is not None


def status_facts(*, summary: dict | None = None, status: dict | None = None) -> dict:
    """Whether and how the miner runs: mining, power mode and limit, hashrate, power, temperatures."""
    record = summary_record(summary)
    status_msg = message(status)
    power_w = to_int(record.get("Power"))
    if power_w is not None and power_w < 0:  # -1 = not measured
        power_w = None
    hashrate = hashrate_ths(record.get("MHS av"))
    if reports_power_limit_setting(status):
        limit = power_limit_watts(status_msg.get("power_limit_set"))
    else:
        limit = power_limit_watts(record.get("Power Limit"))
    efficiency = None
    if power_w and hashrate:
        efficiency = round(power_w / hashrate, 1)
    return {
        "mining": is_mining(summary, status),
        "mining_flag": mining_flag(status),
        "mineroff_reason": to_text(status_msg.get("mineroff_reason")),
        "power_mode": power_mode_name(record.get("Power Mode")) or power_mode_name(status_msg.get("power_mode")),
        "power_w": power_w,
        "power_limit_w": limit,
        "efficiency_j_per_th": efficiency,
        "hashrate_ths": hashrate,
        "hashrate_5s_ths": hashrate_ths(record.get("MHS 5s")),
        "hashrate_1m_ths": hashrate_ths(record.get("MHS 1m")),
        "uptime_s": to_int(first_present(record, "Uptime", "Elapsed")),
        "mining_elapsed_s": to_int(record.get("Elapsed")),
        "temperature_c": to_float(record.get("Temperature")),
        "env_temperature_c": to_float(record.get("Env Temp")),
        "chip_temp_max_c": to_float(record.get("Chip Temp Max")),
        "fan_in_rpm": to_int(record.get("Fan Speed In")),
        "fan_out_rpm": to_int(record.get("Fan Speed Out")),
        "fast_boot": to_bool(record.get("Btminer Fast Boot")),
    }


def pool_facts(pools: dict | None) -> list[dict]:
    """The configured pools ordered by slot (1-3), without passwords (the miner never returns them)."""
    result = []
    for index, record in enumerate(section(pools, "POOLS")):
        slot = to_int(record.get("POOL"))
        status = to_text(record.get("Status"))
        result.append({
            "slot": slot if slot is not None else index + 1,
            "url": to_text(record.get("URL")),
            "user": to_text(record.get("User")),
            "status": status.lower() if status else None,
            "priority": to_int(record.get("Priority")),
            "active": bool(to_bool(record.get("Stratum Active"))),
            "accepted": to_int(record.get("Accepted")),
            "rejected": to_int(record.get("Rejected")),
        })
    return sorted(result, key=lambda pool: pool["slot"])


def board_facts(devs: dict | None) -> list[dict]:
    """One entry per hashboard, ordered by slot (the miner's own 0-based slot numbers)."""
    result = []
    for index, record in enumerate(section(devs, "DEVS")):
        slot = to_int(first_present(record, "Slot", "ASC", "ID"))
        status = to_text(record.get("Status"))
        result.append({
            "slot": slot if slot is not None else index,
            "hashrate_ths": hashrate_ths(record.get("MHS av")),
            "hashrate_5s_ths": hashrate_ths(record.get("MHS 5s")),
            "temperature_c": to_float(record.get("Temperature")),
            "chip_temp_max_c": to_float(record.get("Chip Temp Max")),
            "chip_temp_avg_c": to_float(record.get("Chip Temp Avg")),
            "chips": to_int(record.get("Effective Chips")),
            "frequency_mhz": to_int(record.get("Chip Frequency")),
            "status": status.lower() if status else None,
            "enabled": to_bool(record.get("Enabled")),
            "serial": to_text(record.get("PCB SN")),
        })
    return sorted(result, key=lambda board: board["slot"])


def _error_entry(code: Any, when: Any = None, reason: Any = None) -> dict:
    entry: dict[str, Any] = {"code": str(code).strip()}
    if to_text(when):
        entry["time"] = to_text(when)
    if to_text(reason):
        entry["reason"] = to_text(reason)
    return entry


def error_code_entries(error_codes: Any) -> list[dict]:
    """Entries of ``get_error_code``'s ``error_code`` value, in any of the shapes firmware sends.

    Seen: a list of codes; a list of ``{"<code>": "<time>"}`` objects (newer ones add
    ``"reason"``); and, after the 2.0.4 list-shaped-dict repair, one ``{"<code>": "<time>", ...}``
    object.
    """
    entries: list[dict] = []
    items = error_codes if isinstance(error_codes, list) else [error_codes]
    for item in items:
        if isinstance(item, dict):
            reason = item.get("reason")
            for key, value in item.items():
                if key != "reason":
                    entries.append(_error_entry(key, value, reason))
        elif isinstance(item, (str, int)) and not isinstance(item, bool) and str(item).strip():
            entries.append(_error_entry(item))
    return entries


def summary_error_entries(summary: dict | None) -> list[dict] | None:
    """Error codes from 1.x summary fields (``Error Code Count`` and ``Error Code N``).

    ``None`` when the summary has no such fields (2.x moved them to ``get_error_code``).
    """
    record = summary_record(summary)
    count = to_int(record.get("Error Code Count"))
    if count is None:
        return None
    return [_error_entry(record[f"Error Code {index}"]) for index in range(count) if f"Error Code {index}" in record]


def error_facts(*, error_code: dict | None = None, summary: dict | None = None) -> list[dict] | None:
    """Current error codes: from ``get_error_code`` when the firmware has it, else from the summary."""
    if error_code is not None:
        return error_code_entries(message(error_code).get("error_code", []))
    return summary_error_entries(summary)
