# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Normalized miner state from API 3 replies: the very fact dicts ``_miner_state`` returns for API 2.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

API 3 replies (protocol reference, section 7) are first re-expressed as the API 2 replies that
carry the same information (``summary_reply``, ``status_reply``, ``pools_reply``...: same field
names, MH/s and GH/s instead of TH/s), and the API 2 normalizers of ``_miner_state`` then compute
the facts. So "is it mining", the power limit sentinels, rounding and units have one definition
for both APIs, and the pools and power modules can decide from these converted replies exactly
as they do on API 2. Pure functions: missing or unreadable fields become ``None``, never an
exception.

Inputs are parsed replies as ``WhatsminerV3Client`` returns them (``{"code", "when", "msg", "desc"}``):

* ``device_info``: ``get.device.info`` (all sections, or the ones a fact needs);
* ``miner_status``: ``get.miner.status`` with the sections a fact needs (``summary``, ``pools``, ``edevs``);
* ``miner_setting``: ``get.miner.setting``.

Where API 3 maps onto API 2 (decisions where the sources are silent are marked):

==========================  =============================================================
API 2 (converted reply)     API 3 source
==========================  =============================================================
summary ``MHS av/1m/15m``   ``summary`` ``hash-average`` / ``hash-1min`` / ``hash-15min`` (TH/s)
summary ``MHS 5s``          ``summary`` ``hash-realtime`` (decision: the most recent window)
summary ``Power``           ``summary`` ``power-5min`` (``power-realtime`` when absent)
summary ``Temperature``     the hottest of ``summary`` ``board-temperature``
summary ``Uptime``          ``summary`` ``bootup-time``
summary ``Btminer Fast Boot``  ``get.miner.setting`` ``fast-boot`` (else ``miner.fast-boot``)
status ``mineroff``         not ``miner.working``
status ``power_mode``       ``get.miner.setting`` ``power-mode``
status ``power_limit_set``  ``miner.power-limit-set``; ``""`` = no limit (the real capture), given
                            as ``NO_LIMIT_SETTING``, the value the same firmware reports on port
                            4028 without a limit; absent on firmware that does not report it, then
                            summary ``power-limit`` decides as on 2.0.x
pools                       ``pools``: ``id``, ``url``, ``account``, ``status``, ``pool-priority``,
                            ``stratum-active``; API 3 has no share counts
devs                        ``edevs`` plus ``summary`` ``board-temperature[slot]`` and ``miner.pcbsnN``
devdetails ``Model``        ``miner.type``
get_version                 ``system.fwversion``, ``system.api``, ``system.platform``
get_miner_info              ``network`` and ``miner.miner-sn``, ``power.sn``, ``system.ledstatus``
get_psu                     ``power``: ``model``, ``type`` (name), ``swversion``, ``hwversion``, ``sn``
get_error_code              ``error-code`` (the same list of ``{"<code>": "<time>", "reason"}``)
==========================  =============================================================

Facts API 3 does not report and that are therefore ``None`` on API 3 miners: ``mineroff_reason``;
pool ``accepted``/``rejected``; board ``hashrate_5s_ths``, ``status``, ``enabled``.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _miner_state as api2_state
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._miner_state import (
    GIGAHASH_PER_TERAHASH,
    MEGAHASH_PER_TERAHASH,
    to_bool,
    to_float,
    to_int,
)

SUCCESS = "S"
#: ``status.power_limit_set`` of API 2 without a limit, as API 3 firmware reports it on port 4028;
#: an empty ``power-limit-set`` on API 3 is given as this (an empty API 2 field reports nothing).
NO_LIMIT_SETTING = "2147483647"


# ---------------------------------------------------------------------------------------------
# Reply accessors


def message(reply: dict | None) -> dict:
    """The ``msg`` object of an API 3 reply, or ``{}``."""
    if not isinstance(reply, dict):
        return {}
    msg = reply.get("msg")
    return msg if isinstance(msg, dict) else {}


def section(reply: dict | None, name: str) -> dict:
    """One object section of a reply's ``msg`` (``miner``, ``system``, ``summary``...), or ``{}``."""
    value = message(reply).get(name)
    return value if isinstance(value, dict) else {}


def records(reply: dict | None, name: str) -> list[dict] | None:
    """One list section (``pools``, ``edevs``); ``None`` when the reply does not have it."""
    value = message(reply).get(name)
    if not isinstance(value, list):
        return None
    return [item for item in value if isinstance(item, dict)]


def _megahash(terahash: Any) -> float | None:
    """TH/s (API 3) -> MH/s (API 2)."""
    number = to_float(terahash)
    return None if number is None else number * MEGAHASH_PER_TERAHASH


def _gigahash(terahash: Any) -> float | None:
    """TH/s (API 3) -> GH/s (API 2)."""
    number = to_float(terahash)
    return None if number is None else number * GIGAHASH_PER_TERAHASH


def _present(values: dict) -> dict:
    """``values`` without the keys whose value is ``None`` (API 2 replies lack unknown fields)."""
    return {key: value for key, value in values.items() if value is not None}


def _msg_reply(msg: dict) -> dict | None:
    """An api-daemon shaped reply around ``msg``, ``None`` when there is nothing in it."""
    return {"STATUS": SUCCESS, "Msg": msg} if msg else None


def board_temperatures(miner_status: dict | None) -> list[float | None]:
    """``summary`` ``board-temperature`` as numbers (one per hashboard slot)."""
    values = section(miner_status, "summary").get("board-temperature")
    if not isinstance(values, list):
        return []
    return [to_float(value) for value in values]


# ---------------------------------------------------------------------------------------------
# API 3 replies re-expressed as API 2 replies


def summary_reply(miner_status: dict | None, miner_setting: dict | None = None, device_info: dict | None = None) -> dict | None:
    """The API 2 ``summary`` reply carrying what ``get.miner.status`` ``summary`` says; ``None`` without that section."""
    summary = section(miner_status, "summary")
    if not summary:
        return None
    temperatures = [value for value in board_temperatures(miner_status) if value is not None]
    fast_boot = message(miner_setting).get("fast-boot")
    if fast_boot is None:
        fast_boot = section(device_info, "miner").get("fast-boot")
    power = summary.get("power-5min")
    record = _present({
        "Elapsed": summary.get("elapsed"),
        "MHS av": _megahash(summary.get("hash-average")),
        "MHS 5s": _megahash(summary.get("hash-realtime")),
        "MHS 1m": _megahash(summary.get("hash-1min")),
        "MHS 15m": _megahash(summary.get("hash-15min")),
        "Temperature": max(temperatures) if temperatures else None,
        "Power": power if power is not None else summary.get("power-realtime"),
        "Power_RT": summary.get("power-realtime"),
        "Uptime": summary.get("bootup-time"),
        "Env Temp": summary.get("environment-temperature"),
        "Factory GHS": _gigahash(summary.get("factory-hash")),
        "Power Limit": summary.get("power-limit"),
        "Chip Temp Min": summary.get("chip-temp-min"),
        "Chip Temp Max": summary.get("chip-temp-max"),
        "Chip Temp Avg": summary.get("chip-temp-avg"),
        "Fan Speed In": summary.get("fan-speed-in"),
        "Fan Speed Out": summary.get("fan-speed-out"),
        "Btminer Fast Boot": fast_boot,
    })
    return {"STATUS": [{"STATUS": SUCCESS}], "SUMMARY": [record]}


def status_reply(device_info: dict | None, miner_setting: dict | None = None) -> dict | None:
    """The API 2 ``status`` reply carrying ``miner.working``, the power mode and the limit setting."""
    miner = section(device_info, "miner")
    working = to_bool(miner.get("working"))
    limit_setting = miner.get("power-limit-set")
    msg = _present({
        "mineroff": None if working is None else ("false" if working else "true"),
        "FirmwareVersion": section(device_info, "system").get("fwversion"),
        "power_mode": message(miner_setting).get("power-mode"),
        "power_limit_set": NO_LIMIT_SETTING if limit_setting == "" else limit_setting,
        "hash_percent": miner.get("hash-percent"),
        # Not an API 2 field: API 3 reports the power percentage (0 = no reduction), API 2 does not (_power).
        "power_percent": message(miner_setting).get("power-percent"),
    })
    return _msg_reply(msg)


def pools_reply(miner_status: dict | None) -> dict | None:
    """The API 2 ``pools`` reply carrying ``get.miner.status`` ``pools``; ``None`` without that section."""
    pools = records(miner_status, "pools")
    if pools is None:
        return None
    converted = []
    for pool in pools:
        converted.append(_present({
            "POOL": pool.get("id"), "URL": pool.get("url"), "Status": pool.get("status"),
            "Priority": pool.get("pool-priority"), "User": pool.get("account"),
            "Stratum Active": pool.get("stratum-active"),
        }))
    return {"STATUS": [{"STATUS": SUCCESS}], "POOLS": converted}


def devs_reply(miner_status: dict | None, device_info: dict | None = None) -> dict | None:
    """The API 2 ``devs`` reply carrying ``edevs`` (temperatures from ``summary``, serials from ``miner``)."""
    boards = records(miner_status, "edevs")
    if boards is None:
        return None
    temperatures = board_temperatures(miner_status)
    miner = section(device_info, "miner")
    converted = []
    for index, board in enumerate(boards):
        slot = to_int(board.get("slot"))
        if slot is None:
            slot = to_int(board.get("id"))
        position = slot if slot is not None else index
        converted.append(_present({
            "Slot": slot,
            "MHS av": _megahash(board.get("hash-average")),
            "Temperature": temperatures[position] if 0 <= position < len(temperatures) else None,
            "Chip Frequency": board.get("freq"),
            "Effective Chips": board.get("effective-chips"),
            "PCB SN": miner.get(f"pcbsn{position}"),
            "Chip Temp Min": board.get("chip-temp-min"),
            "Chip Temp Max": board.get("chip-temp-max"),
            "Chip Temp Avg": board.get("chip-temp-avg"),
        }))
    return {"STATUS": [{"STATUS": SUCCESS}], "DEVS": converted}


def devdetails_reply(device_info: dict | None) -> dict | None:
    """The API 2 ``devdetails`` reply carrying the model (``miner.type``)."""
    model = section(device_info, "miner").get("type")
    return {"STATUS": [{"STATUS": SUCCESS}], "DEVDETAILS": [{"Model": model}]} if model is not None else None


def version_reply(device_info: dict | None) -> dict | None:
    """The API 2 ``get_version`` reply carrying ``system``'s firmware, API version and platform."""
    system = section(device_info, "system")
    return _msg_reply(_present({"api_ver": system.get("api"), "fw_ver": system.get("fwversion"), "platform": system.get("platform")}))


def miner_info_reply(device_info: dict | None) -> dict | None:
    """The API 2 ``get_miner_info`` reply carrying ``network`` and the serial numbers."""
    network = section(device_info, "network")
    return _msg_reply(_present({
        "ip": network.get("ip"), "proto": network.get("proto"), "netmask": network.get("netmask"),
        "dns": network.get("dns"), "mac": network.get("mac"), "gateway": network.get("gateway"),
        "hostname": network.get("hostname"), "ledstat": section(device_info, "system").get("ledstatus"),
        "minersn": section(device_info, "miner").get("miner-sn"), "powersn": section(device_info, "power").get("sn"),
    }))


def psu_reply(device_info: dict | None) -> dict | None:
    """The API 2 ``get_psu`` reply carrying the ``power`` section."""
    power = section(device_info, "power")
    return _msg_reply(_present({
        "name": power.get("type"), "model": power.get("model"), "hw_version": power.get("hwversion"),
        "sw_version": power.get("swversion"), "serial_no": power.get("sn"),
    }))


def error_code_reply(device_info: dict | None) -> dict | None:
    """The API 2 ``get_error_code`` reply carrying ``error-code``; ``None`` when the reply lacks that section."""
    msg = message(device_info)
    if "error-code" not in msg:
        return None
    errors = msg.get("error-code")
    return {"STATUS": SUCCESS, "Msg": {"error_code": errors if isinstance(errors, list) else []}}


# ---------------------------------------------------------------------------------------------
# Facts (the shapes of _miner_state)


def device_facts(*, device_info: dict | None = None, miner_status: dict | None = None, address: str | None = None) -> dict:
    """``_miner_state.device_facts`` for an API 3 miner (``miner_status`` ``summary`` gives the nominal hashrate)."""
    return api2_state.device_facts(
        version=version_reply(device_info), summary=summary_reply(miner_status), devdetails=devdetails_reply(device_info),
        miner_info=miner_info_reply(device_info), psu=psu_reply(device_info), status=status_reply(device_info),
        address=address,
    )


def is_mining(miner_status: dict | None, device_info: dict | None = None) -> bool | None:
    """``_miner_state.is_mining``: the live hashrate when the summary answers, else ``miner.working``."""
    return api2_state.is_mining(summary_reply(miner_status), status_reply(device_info))


def status_facts(*, miner_status: dict | None = None, device_info: dict | None = None, miner_setting: dict | None = None) -> dict:
    """``_miner_state.status_facts`` for an API 3 miner."""
    return api2_state.status_facts(
        summary=summary_reply(miner_status, miner_setting, device_info), status=status_reply(device_info, miner_setting),
    )


def pool_facts(miner_status: dict | None) -> list[dict]:
    """``_miner_state.pool_facts`` for an API 3 miner (``accepted``/``rejected`` are ``None``: API 3 has no share counts)."""
    return api2_state.pool_facts(pools_reply(miner_status))


def board_facts(miner_status: dict | None, device_info: dict | None = None) -> list[dict]:
    """``_miner_state.board_facts`` for an API 3 miner (``miner_status`` with ``edevs``, and ``summary`` for temperatures)."""
    return api2_state.board_facts(devs_reply(miner_status, device_info))


def error_facts(device_info: dict | None) -> list[dict] | None:
    """``_miner_state.error_facts`` for an API 3 miner; ``None`` when the reply has no ``error-code`` section."""
    return api2_state.error_facts(error_code=error_code_reply(device_info))
