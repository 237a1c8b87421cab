"""Reply payloads of the read commands, shaped by the firmware profile's layouts.

Each builder computes a superset of values from the state and telemetry; ``select`` then
keeps and orders the fields of the profile's layout, so every generation shares one
implementation per value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from .profiles import ERROR_CODE_FIELDS, FirmwareProfile, ModelSpec
from .state import MinerState
from .telemetry import SHARE_DIFFICULTY, Telemetry

#: Msg text of the api-daemon error codes (reference section 1.5).
ERROR_MESSAGES = {
    14: "invalid cmd",
    23: "json cmd err",
    45: "can't access write cmd",
    132: "API command ERROR",
    135: "check token err",
    136: "over max connect",
    137: "base64 decode err",
}

#: What the api daemon answers for a btminer-backed read while btminer is down.
BTMINER_DOWN_TEXT = "Socket connect failed: Connection refused\n"

#: cgminer reply parts: command -> (data key, status code, status message or None for "N <unit>(s)").
CGMINER_SECTIONS = {
    "summary": ("SUMMARY", 11, "Summary"),
    "pools": ("POOLS", 7, "Pool(s)"),
    "devs": ("DEVS", 9, "ASC(s)"),
    "edevs": ("DEVS", 9, "ASC(s)"),
    "devdetails": ("DEVDETAILS", 69, "Device Details"),
}


@dataclass
class Reply:
    """A reply before serialisation. ``payload`` is a JSON object or raw text.

    ``quirk_fields`` are fields only the buggy firmware adds to Msg (see faults.render).
    """

    payload: dict[str, Any] | str
    quirk_fields: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> int | None:
        """The api-daemon Code of the reply, the first cgminer Code, or None for raw text."""
        if isinstance(self.payload, str):
            return None
        if "Code" in self.payload:
            return int(self.payload["Code"])
        for value in self.payload.values():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                status = value[0].get("STATUS")
                if isinstance(status, list) and status:
                    return int(status[0].get("Code", 0))
                if isinstance(status, str):
                    return int(value[0].get("Code", 0))
        return None


@dataclass
class ReplyContext:
    """Everything a read reply is computed from."""

    state: MinerState
    profile: FirmwareProfile
    model: ModelSpec
    telemetry: Telemetry
    when: int
    btmineroff_report: str
    no_power_limit_report: str
    power_limit_set_report: str = "value"


def daemon_reply(code: int, msg: Any, when: int, description: str, success: bool = True) -> dict[str, Any]:
    """The api-daemon envelope ``{"STATUS","When","Code","Msg","Description"}``."""
    return {"STATUS": "S" if success else "E", "When": when, "Code": code, "Msg": msg, "Description": description}


def daemon_error(code: int, when: int, description: str, message: str | None = None) -> dict[str, Any]:
    """An api-daemon error; code 136 comes without Description, as captured from a real miner."""
    reply = daemon_reply(code, message or ERROR_MESSAGES.get(code, "API command ERROR"), when, description, success=False)
    if code == 136:
        del reply["Description"]
    return reply


def select(
    layout: Sequence[str], values: Mapping[str, Any], profile: FirmwareProfile, *, error_codes: Sequence[int] = (), board: int | None = None,
) -> dict[str, Any]:
    """Keep and order ``values`` by ``layout``, applying the profile's type overrides."""
    selected: dict[str, Any] = {}
    for name in layout:
        if name == ERROR_CODE_FIELDS:
            for position, code in enumerate(error_codes):
                selected[f"Error Code {position}"] = code
            continue
        if board not in (None, 0) and name in profile.first_board_only_fields:
            continue
        value = values[name]
        if profile.field_types.get(name) == "int":
            value = int(value)
        selected[name] = value
    return selected


def _utility(shares: int, elapsed: int) -> float:
    """Shares per minute."""
    return round(shares * 60.0 / elapsed, 2) if elapsed else 0.0


def _percent(part: float, whole: float) -> float:
    """A percentage with 4 decimals like cgminer prints it."""
    return round(part * 100.0 / whole, 4) if whole else 0.0


def summary_values(ctx: ReplyContext) -> dict[str, Any]:
    """Every summary field any generation reports."""
    tel, state, model = ctx.telemetry, ctx.state, ctx.model
    elapsed = tel.elapsed_s
    accepted = tel.accepted
    diff1 = accepted * 267
    mhs = {window: float(tel.total_mhs(window)) for window in ("av", "5s", "1m", "5m", "15m")}
    boards = tel.boards
    chip_avg = round(sum(board.chip_temp_avg for board in boards) / len(boards), 2) if boards else 0.0
    return {
        "Elapsed": elapsed, "MHS av": mhs["av"], "MHS 5s": mhs["5s"], "MHS 1m": mhs["1m"],
        "MHS 5m": mhs["5m"], "MHS 15m": mhs["15m"], "HS RT": mhs["5m"], "Found Blocks": 0,
        "Getworks": elapsed // 11, "Accepted": accepted, "Rejected": 0,
        "Hardware Errors": tel.hardware_errors, "Utility": _utility(accepted, elapsed),
        "Discarded": accepted * 262, "Stale": 0, "Get Failures": 0, "Local Work": accepted * 34068,
        "Remote Failures": 0, "Network Blocks": elapsed // 600, "Total MH": round(mhs["av"] * elapsed, 1),
        "Work Utility": _utility(diff1, elapsed), "Difficulty Accepted": float(accepted * SHARE_DIFFICULTY),
        "Difficulty Rejected": 0.0, "Difficulty Stale": 0.0, "Best Share": accepted * 17591,
        "Temperature": float(max((board.temperature for board in boards), default=tel.env_temp)),
        "freq_avg": int(sum(board.freq_mhz for board in boards) / len(boards)) if boards else 0,
        "Fan Speed In": tel.fan_in, "Fan Speed Out": tel.fan_out, "Voltage": 1180 if tel.hashing else 0,
        "Power": tel.power_w, "Power_RT": tel.power_rt_w,
        "Power Rate": round(tel.power_w / tel.ths, 2) if tel.ths else 0.0,
        "Device Hardware%": _percent(tel.hardware_errors, diff1 + tel.hardware_errors),
        "Device Rejected%": 0.0, "Pool Rejected%": 0.0, "Pool Stale%": 0.0, "Last getwork": 0,
        "Uptime": tel.uptime_s, "Chip Data": model.chip_data,
        "Power Current": int(tel.power_w / 13.1), "Power Fanspeed": tel.psu_fan,
        "Error Code Count": len(state.error_codes), "Factory Error Code Count": 0,
        "Security Mode": 0, "Liquid Cooling": False, "Hash Stable": True,
        "Hash Stable Cost Seconds": min(elapsed, 1538),
        "Hash Deviation%": _percent(abs(mhs["15m"] - mhs["av"]), mhs["av"]),
        "Target Freq": tel.target_freq_mhz, "Target MHS": tel.target_mhs,
        "Env Temp": float(tel.env_temp), "Power Mode": state.power_mode.capitalize(),
        "Firmware Version": f"'{ctx.profile.fw_version}'", "CB Platform": model.cb_platform,
        "CB Version": model.cb_version, "MAC": state.mac, "Factory GHS": int(state.nominal_ths * 1000),
        "Power Limit": state.power_limit_w if state.power_limit_w is not None else model.max_power_limit_w,
        "Chip Temp Min": float(min((board.chip_temp_min for board in boards), default=0.0)),
        "Chip Temp Max": float(max((board.chip_temp_max for board in boards), default=0.0)),
        "Chip Temp Avg": float(chip_avg), "Debug": "-0.0_100.0_354",
        "Btminer Fast Boot": "enable" if state.fast_boot else "disable",
    }


def board_values(ctx: ReplyContext, index: int) -> dict[str, Any]:
    """Every devs/edevs field of hashboard ``index``."""
    tel = ctx.telemetry
    board = tel.boards[index]
    elapsed = tel.elapsed_s
    diff1 = board.accepted * 267
    return {
        "ASC": index, "Name": "SM", "ID": index, "Slot": index, "Enabled": "Y", "Status": "Alive",
        "Temperature": float(board.temperature), "Chip Frequency": board.freq_mhz,
        "Fan Speed In": tel.fan_in, "Fan Speed Out": tel.fan_out,
        "MHS av": board.mhs["av"], "MHS 5s": board.mhs["5s"], "MHS 1m": board.mhs["1m"],
        "MHS 5m": board.mhs["5m"], "MHS 15m": board.mhs["15m"], "HS RT": board.mhs["5m"],
        "HS Factory": board.factory_ghs, "Accepted": board.accepted, "Rejected": 0,
        "Hardware Errors": board.hardware_errors, "Utility": _utility(board.accepted, elapsed),
        "Last Share Pool": 0, "Last Share Time": ctx.when - 8 if board.accepted else 0,
        "Total MH": round(board.mhs["av"] * elapsed, 1), "Diff1 Work": diff1,
        "Difficulty Accepted": float(board.accepted * SHARE_DIFFICULTY), "Difficulty Rejected": 0.0,
        "Last Share Difficulty": float(SHARE_DIFFICULTY) if board.accepted else 0.0,
        "Last Valid Work": ctx.when if tel.hashing else ctx.when - elapsed,
        "Device Hardware%": _percent(board.hardware_errors, diff1 + board.hardware_errors),
        "Device Rejected%": 0.0, "Device Elapsed": elapsed,
        "Upfreq Complete": 1 if elapsed > 1500 else 0, "Effective Chips": board.effective_chips,
        "PCB SN": board.pcb_sn, "Chip Data": ctx.model.chip_data,
        "Chip Temp Min": float(board.chip_temp_min), "Chip Temp Max": float(board.chip_temp_max),
        "Chip Temp Avg": float(board.chip_temp_avg), "chip_vol_diff": 9,
    }


def _stratum_host(url: str) -> str:
    """``stratum+tcp://host:3333/path`` -> ``host``."""
    authority = url.split("://", 1)[-1].split("/", 1)[0]
    return authority.rsplit(":", 1)[0] if ":" in authority else authority


def configured_pool_slots(ctx: ReplyContext) -> list[tuple[int, int, Any]]:
    """``(priority, slot index, slot)`` of each configured pool slot; priority 0 is the active pool."""
    configured = [(slot_index, slot) for slot_index, slot in enumerate(ctx.state.pools) if slot.configured]
    return [(priority, slot_index, slot) for priority, (slot_index, slot) in enumerate(configured)]


def pool_values(ctx: ReplyContext) -> list[dict[str, Any]]:
    """Every pools field of each configured slot (never the password)."""
    tel = ctx.telemetry
    entries = []
    for priority, slot_index, slot in configured_pool_slots(ctx):
        active = priority == 0
        accepted = tel.accepted if active else 0
        entries.append({
            "POOL": slot_index + 1, "URL": slot.url, "Status": "Alive", "Priority": priority, "Quota": 1,
            "Long Poll": "N", "Getworks": tel.elapsed_s // 11 if active else 0, "Accepted": accepted,
            "Rejected": 0, "Works": accepted * 34626, "Discarded": accepted * 262, "Stale": 0,
            "Get Failures": 0, "Remote Failures": 0, "User": slot.user,
            "Last Share Time": ctx.when - 8 if accepted else 0, "Diff1 Shares": accepted * 267,
            "Proxy Type": "", "Proxy": "", "Difficulty Accepted": float(accepted * SHARE_DIFFICULTY),
            "Difficulty Rejected": 0.0, "Difficulty Stale": 0.0,
            "Last Share Difficulty": float(SHARE_DIFFICULTY) if accepted else 0.0, "Work Difficulty": 0.0,
            "Has Stratum": True, "Stratum Active": active, "Stratum URL": _stratum_host(slot.url),
            "Stratum Difficulty": float(SHARE_DIFFICULTY) if active else 0.0, "Has GBT": False,
            "Best Share": accepted * 17591, "Pool Rejected%": 0.0, "Pool Stale%": 0.0,
            "Bad Work": accepted // 120, "Current Block Height": 920127 + tel.elapsed_s // 600 if active else 0,
            "Current Block Version": 536870912 if active else 0,
        })
    return entries


def cgminer_section(command: str, ctx: ReplyContext) -> dict[str, Any]:
    """One cgminer-shaped reply ``{"STATUS":[...],"<KEY>":[...],"id":1}``."""
    data_key, code, message = CGMINER_SECTIONS[command]
    layout = ctx.profile.layouts["devs" if command == "edevs" else command]
    description = ctx.profile.devdetails_description if command == "devdetails" else ctx.profile.cgminer_description
    if command == "summary":
        errors = [error.code for error in ctx.state.error_codes]
        items = [select(layout, summary_values(ctx), ctx.profile, error_codes=errors)]
    elif command == "pools":
        items = [select(layout, values, ctx.profile) for values in pool_values(ctx)]
        if not items:
            status = {"STATUS": "E", "When": ctx.when, "Code": 8, "Msg": "No pools", "Description": description}
            return {"STATUS": [status], "id": 1}
        message = f"{len(items)} {message}"
    elif command == "devdetails":
        items = [
            select(layout, {"DEVDETAILS": board, "Name": "SM", "ID": board, "Driver": "bitmicro", "Kernel": "",
                            "Model": ctx.model.devdetails_model}, ctx.profile)
            for board in range(ctx.model.boards)
        ]
    else:
        items = [select(layout, board_values(ctx, board), ctx.profile, board=board) for board in range(ctx.model.boards)]
        message = f"{len(items)} {message}"
    status = {"STATUS": "S", "When": ctx.when, "Code": code, "Msg": message, "Description": description}
    return {"STATUS": [status], data_key: items, "id": 1}


def joined_reply(commands: Sequence[str], ctx: ReplyContext) -> dict[str, Any]:
    """The cgminer multi-reply ``{"summary":[{...}],"pools":[{...}],"id":1}``."""
    reply: dict[str, Any] = {command: [cgminer_section(command, ctx)] for command in commands}
    reply["id"] = 1
    return reply


def _power_limit_set(ctx: ReplyContext) -> str:
    """``status.power_limit_set``: the limit, the no-limit text, or always ``""`` (``power_limit_set_report: empty``)."""
    if ctx.power_limit_set_report == "empty":
        return ""
    return str(ctx.state.power_limit_w) if ctx.state.power_limit_w is not None else ctx.no_power_limit_report


def status_msg(ctx: ReplyContext) -> dict[str, str]:
    """Msg of ``status`` for the profile's generation."""
    state, profile = ctx.state, ctx.profile
    if ctx.btmineroff_report == "always-true":
        btmineroff = "true"
    else:
        btmineroff = "false" if state.mining else "true"
    values = {
        "btmineroff": btmineroff,
        "Firmware Version": f"'{profile.fw_version}'",
        "mineroff": "false" if state.mining else "true",
        "mineroff_reason": state.mineroff_reason,
        "mineroff_time": state.mineroff_time,
        "FirmwareVersion": profile.fw_version,
        "power_mode": state.power_mode if profile.status_reports_power_mode else "",
        "power_limit_set": _power_limit_set(ctx),
        "hash_percent": (str(state.power_pct) if state.power_pct is not None else "0") if profile.status_reports_hash_percent else "",
    }
    return select(profile.layouts["status"], values, profile)


def daemon_read(command: str, ctx: ReplyContext) -> Reply:
    """Reply of an api-daemon read (get_psu, get_version, status, get_miner_info, get_error_code)."""
    state, profile, model, tel = ctx.state, ctx.profile, ctx.model, ctx.telemetry
    quirk_fields: dict[str, str] = {}
    if command == "status":
        msg: Any = status_msg(ctx)
    elif command == "get_version":
        msg = select(profile.layouts["get_version"], {
            "api_ver": profile.api_version, "fw_ver": profile.fw_version, "platform": model.platform,
            "chip": model.chip_data,
        }, profile)
    elif command == "get_psu":
        msg = select(profile.layouts["get_psu"], {
            "name": model.psu.name, "hw_version": model.psu.hw_version, "sw_version": model.psu.sw_version,
            "model": model.psu.model, "iin": str(int(tel.power_w * 1000 / 230)), "vin": "23000",
            "fan_speed": str(tel.psu_fan), "version": "-1", "serial_no": state.psu_serial,
            "vender": model.psu.vender,
        }, profile)
        quirk_fields = {"temp0": str(tel.psu_temp)}
    elif command == "get_miner_info":
        msg = select(profile.layouts["get_miner_info"], {
            "ip": state.ip, "proto": state.proto, "netmask": state.netmask, "dns": state.dns,
            "mac": state.mac, "ledstat": state.led, "gateway": state.gateway, "hostname": state.hostname,
            "minersn": state.serial, "powersn": state.psu_serial,
        }, profile)
    elif command == "get_error_code":
        msg = {"error_code": [{str(error.code): error.time} for error in state.error_codes]}
    else:
        raise KeyError(command)
    return Reply(daemon_reply(131, msg, ctx.when, profile.daemon_description), quirk_fields)
