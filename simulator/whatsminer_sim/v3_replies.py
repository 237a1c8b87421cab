"""Reply payloads of the API 3 read commands (port 4433), computed from the same state as API 2.

Field names, order and JSON types follow the captures of real API 3 devices
(``tests/fixtures/captures/matroskin-real``, ``asic-rs-fixtures/v3_*``) and the vendor examples
(``apidoc-v3-via-matroskin``); ``get.miner.status`` follows the field lists of reference
section 7.3 (no capture of it exists). Hashrates are TH/s, rounded to GH/s like the facts the
collection computes from API 2's MH/s, so that one true state gives the same facts on both APIs.

Decisions where the sources say nothing (documented in the README):

* ``hash-realtime`` is the 5 s window of API 2 (``MHS 5s``); ``power-5min`` is API 2's
  ``Power`` and ``power-realtime`` its ``Power_RT``.
* ``miner.working`` follows the mining switch (``"false"`` after ``set.miner.service stop``),
  like API 2's ``mineroff``; ``miner.power-limit-set`` is the limit in watts or ``""``.
* ``get.miner.setting`` ``power-limit`` is the effective limit (the model's maximum when none is
  set, like API 2's summary ``Power Limit``) and ``power`` the power the current mode and limit
  allow.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from typing import Any, Sequence

from .replies import ReplyContext, configured_pool_slots
from .telemetry import SHARE_DIFFICULTY, effective_output

#: Sections ``get.device.info`` returns, in the order of the real capture; each is also a ``param``.
DEVICE_INFO_SECTIONS = ("network", "miner", "system", "power", "salt", "error-code")
#: Sections of ``get.miner.status`` (its ``param``, combinable with ``+``).
MINER_STATUS_SECTIONS = ("summary", "pools", "edevs")

#: ``reason`` texts of a few hardware error codes (vendor error list, as mirrored by matroskin).
ERROR_REASONS = {
    110: "Fanin detect speed error",
    111: "Fanout detect speed error",
    120: "Fanin speed error (Deviation 2000+)",
    121: "Fanout speed error (Deviation 2000+)",
    200: "Power probing error, no power found",
    202: "Power output voltage error",
    203: "Power protecting",
}
UNKNOWN_ERROR_REASON = "Unknown error"
#: ``get.miner.history``: seconds between two records and the longest span one request returns (24 h).
HISTORY_STEP_S = 300
HISTORY_MAX_SPAN_S = 86400
#: ``get.log.download``: the archive follows the reply in frames of at most this many bytes.
LOG_CHUNK_BYTES = 10240
PSU_VOLTAGE_IN = 230.0


def terahash(megahash: float) -> float:
    """MH/s -> TH/s, rounded to GH/s."""
    return round(megahash / 1_000_000, 3)


def hash_board_name(model_name: str) -> str:
    """The ``hash-board`` of ``get.device.info``: the part after ``_V`` (``M60S_VK40`` -> ``K40``)."""
    return model_name.split("_V", 1)[-1]


def network_section(ctx: ReplyContext) -> dict[str, Any]:
    """``get.device.info`` ``network``: every value a string."""
    state = ctx.state
    return {
        "ip": state.ip, "proto": state.proto, "netmask": state.netmask, "dns": state.dns, "mac": state.mac,
        "gateway": state.gateway, "hostname": state.hostname,
    }


def miner_section(ctx: ReplyContext) -> dict[str, Any]:
    """``get.device.info`` ``miner``, keys in the order of the real M50 capture (``chipdataN``/``pcbsnN`` per board)."""
    state, model, tel = ctx.state, ctx.model, ctx.telemetry
    section: dict[str, Any] = {
        "working": "true" if state.mining else "false",
        "type": model.name,
        "hash-board": hash_board_name(model.name),
        "detect-hash-rate": ":".join(str(board.factory_ghs) for board in tel.boards),
        "cointype": "BTC/BCH/BSV",
        "pool-strategy": "FAILOVER",
        "heatmode": "",
        "hash-percent": str(state.power_pct) if state.power_pct is not None else "0",
    }
    for board in range(model.boards):
        section[f"chipdata{board}"] = model.chip_data
    section["fast-boot"] = "enable" if state.fast_boot else "disable"
    section["board-num"] = str(model.boards)
    for board in range(model.boards):
        section[f"pcbsn{board}"] = state.board_serials[board] if board < len(state.board_serials) else ""
    section.update({
        "miner-sn": state.serial,
        "power-limit-set": str(state.power_limit_w) if state.power_limit_w is not None else "",
        "UpfreqSpeed": str(state.upfreq_speed),
        "web-pool": 1 if state.web_pools else 0,
        "permission": " ".join(f"{account}={level}" for account, level in state.v3_permissions.items()),
    })
    return section


def system_section(ctx: ReplyContext) -> dict[str, Any]:
    """``get.device.info`` ``system``."""
    state, model = ctx.state, ctx.model
    return {
        "api": ctx.profile.v3_api_version, "platform": model.platform, "fwversion": ctx.profile.fw_version,
        "control-board-version": model.cb_version, "apiswitch": "1" if state.write_api_enabled else "0",
        "ledstatus": state.led,
    }


def power_section(ctx: ReplyContext) -> dict[str, Any]:
    """``get.device.info`` ``power`` (the PSU): numbers as JSON numbers, like the real capture."""
    state, psu, tel = ctx.state, ctx.model.psu, ctx.telemetry
    return {
        "type": psu.name, "mode": "1", "hwversion": psu.hw_version, "swversion": psu.sw_version, "model": psu.model,
        "iin": round(tel.power_w / PSU_VOLTAGE_IN, 2), "vin": PSU_VOLTAGE_IN, "vout": 1250 if tel.hashing else 0,
        "pin": tel.power_w, "fanspeed": tel.psu_fan, "temp0": tel.psu_temp, "sn": state.psu_serial, "vendor": psu.vender,
    }


def error_code_section(ctx: ReplyContext) -> list[dict[str, str]]:
    """``get.device.info`` ``error-code``: ``[{"<code>": "<datetime>", "reason": "..."}]``."""
    return [
        {str(error.code): error.time, "reason": ERROR_REASONS.get(error.code, UNKNOWN_ERROR_REASON)}
        for error in ctx.state.error_codes
    ]


def device_info(ctx: ReplyContext, section: str | None = None) -> dict[str, Any]:
    """Msg of ``get.device.info``: every section, or only ``section`` (one of DEVICE_INFO_SECTIONS)."""
    builders = {
        "network": network_section, "miner": miner_section, "system": system_section, "power": power_section,
        "salt": lambda context: context.state.v3_salt, "error-code": error_code_section,
    }
    names = DEVICE_INFO_SECTIONS if section is None else (section,)
    return {name: builders[name](ctx) for name in names}


def summary_section(ctx: ReplyContext) -> dict[str, Any]:
    """``get.miner.status`` ``summary`` (reference section 7.3 field list)."""
    tel, state, model = ctx.telemetry, ctx.state, ctx.model
    boards = tel.boards
    chip_avg = round(sum(board.chip_temp_avg for board in boards) / len(boards), 2) if boards else 0.0
    return {
        "elapsed": tel.elapsed_s,
        "bootup-time": tel.uptime_s,
        "hash-average": terahash(tel.total_mhs("av")),
        "hash-1min": terahash(tel.total_mhs("1m")),
        "hash-15min": terahash(tel.total_mhs("15m")),
        "hash-realtime": terahash(tel.total_mhs("5s")),
        "freq-avg": int(sum(board.freq_mhz for board in boards) / len(boards)) if boards else 0,
        "target-freq": tel.target_freq_mhz,
        "factory-hash": round(int(state.nominal_ths * 1000) / 1000, 3),
        "power-5min": tel.power_w,
        "power-realtime": tel.power_rt_w,
        "power-rate": round(tel.power_w / tel.ths, 2) if tel.ths else 0.0,
        "power-limit": state.power_limit_w if state.power_limit_w is not None else model.max_power_limit_w,
        "environment-temperature": float(tel.env_temp),
        "board-temperature": [float(board.temperature) for board in boards],
        "chip-temp-min": float(min((board.chip_temp_min for board in boards), default=0.0)),
        "chip-temp-avg": float(chip_avg),
        "chip-temp-max": float(max((board.chip_temp_max for board in boards), default=0.0)),
        "fan-speed-in": tel.fan_in,
        "fan-speed-out": tel.fan_out,
        "up-freq-finish": 1 if tel.elapsed_s > 1500 else 0,
        "Debug": "-0.0_100.0_354",
    }


def pools_section(ctx: ReplyContext) -> list[dict[str, Any]]:
    """``get.miner.status`` ``pools``: configured slots only, no share counts (reference section 7.3)."""
    tel = ctx.telemetry
    entries = []
    for priority, slot_index, slot in configured_pool_slots(ctx):
        active = priority == 0
        entries.append({
            "id": slot_index + 1, "url": slot.url, "status": "alive", "account": slot.user,
            "stratum-active": active, "stratum-diff": float(SHARE_DIFFICULTY) if active else 0.0, "reject-rate": 0.0,
            "last-share-time": ctx.when - 8 if active and tel.accepted else 0, "pool-priority": priority,
        })
    return entries


def edevs_section(ctx: ReplyContext) -> list[dict[str, Any]]:
    """``get.miner.status`` ``edevs``: one entry per hashboard."""
    entries = []
    for board in ctx.telemetry.boards:
        entries.append({
            "id": board.index, "slot": board.index, "hash-average": terahash(board.mhs["av"]),
            "factory-hash": round(board.factory_ghs / 1000, 3), "freq": board.freq_mhz,
            "effective-chips": board.effective_chips, "chip-temp-min": float(board.chip_temp_min),
            "chip-temp-avg": float(board.chip_temp_avg), "chip-temp-max": float(board.chip_temp_max),
        })
    return entries


def miner_status(ctx: ReplyContext, sections: Sequence[str]) -> dict[str, Any]:
    """Msg of ``get.miner.status`` for the requested sections, in request order."""
    builders = {"summary": summary_section, "pools": pools_section, "edevs": edevs_section}
    return {name: builders[name](ctx) for name in sections}


def miner_setting(ctx: ReplyContext) -> dict[str, Any]:
    """Msg of ``get.miner.setting`` (key order and types of the vendor example)."""
    state, model = ctx.state, ctx.model
    configured_power, _ths = effective_output(state, model, hashing=True)
    return {
        "power-limit": state.power_limit_w if state.power_limit_w is not None else model.max_power_limit_w,
        "upfreq-speed": state.upfreq_speed,
        "power-mode": state.power_mode,
        "fast-boot": "enable" if state.fast_boot else "disable",
        "target-freq": state.target_freq_pct,
        "fast-mining": "disable",
        "power": int(round(configured_power)),
        "power-percent": state.power_pct if state.power_pct is not None else 0,
    }


def system_setting(ctx: ReplyContext) -> dict[str, Any]:
    """Msg of ``get.system.setting`` (key order and types of the real capture)."""
    state = ctx.state
    return {
        "web-pool": 1 if state.web_pools else 0, "timezone": state.timezone, "zonename": state.zonename,
        "hostname": state.hostname, "time-randomized": {"start": 0, "stop": 0}, "ntp-server": list(state.ntp_servers),
    }


def fan_setting(ctx: ReplyContext) -> dict[str, Any]:
    """Msg of ``get.fan.setting`` (the vendor example's names; numbers, flags as 1/0)."""
    state = ctx.state
    return {
        "fan-poweroff-cool": 1 if state.poweroff_cool else 0,
        "fan-zero-speed": 1 if state.fan_zero_speed else 0,
        "fan-temp-offset": state.temp_offset,
    }


def miner_history(ctx: ReplyContext, start: float, stop: float) -> dict[str, Any]:
    """Msg of ``get.miner.history``: ``{"Data": "<ts>,<TH/s>,<W> <ts>,<TH/s>,<W> ..."}`` (the shape pyasic parses).

    One record every HISTORY_STEP_S seconds of ``start..stop``, clamped to the miner's uptime, the
    present and the last HISTORY_MAX_SPAN_S seconds of the span; the columns are an inference
    (no source names them): hashrate now in TH/s and power now in W, while the miner hashed.
    """
    tel = ctx.telemetry
    boot = ctx.when - tel.uptime_s
    stop = min(stop, ctx.when)
    start = max(start, boot, stop - HISTORY_MAX_SPAN_S)
    first = int(start // HISTORY_STEP_S + (1 if start % HISTORY_STEP_S else 0)) * HISTORY_STEP_S
    records = [
        f"{stamp},{terahash(tel.total_mhs('15m')) if tel.hashing else 0.0},{tel.power_w}"
        for stamp in range(first, int(stop) + 1, HISTORY_STEP_S)
    ]
    return {"Data": " ".join(records)}


def log_archive(ctx: ReplyContext) -> bytes:
    """The ``.tgz`` of ``get.log.download``: one small ``miner.log`` (deterministic bytes for a given state)."""
    state = ctx.state
    lines = [f"{error.time} error code {error.code}" for error in state.error_codes]
    lines.append(f"btminer {ctx.profile.fw_version} on {state.model} {state.serial}, mining={'yes' if state.mining else 'no'}")
    text = ("\n".join(lines) + "\n").encode("utf-8")
    member = tarfile.TarInfo("miner.log")
    member.size, member.mtime = len(text), 0
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed, tarfile.open(fileobj=compressed, mode="w") as archive:
        archive.addfile(member, io.BytesIO(text))
    return buffer.getvalue()


def envelope(code: int, msg: Any, when: int, command: str) -> dict[str, Any]:
    """The API 3 envelope ``{"code", "when", "msg", "desc"}`` (``desc`` is the command)."""
    return {"code": code, "when": when, "msg": msg, "desc": command}
