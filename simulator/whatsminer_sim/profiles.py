"""Firmware profiles and miner models, as data.

A *firmware profile* says how one generation of Whatsminer firmware answers on the
port-4028 API: version strings, which commands exist, and the ordered field layout of
every reply. A *model* says what the hardware is: boards, chips, nominal hashrate and
power, power-limit range, PSU.

Reply builders (``replies.py``) compute a superset of values from the miner state and
then pick and order fields with the layouts below, so adding a generation is adding a
``FirmwareProfile`` entry. The ``3.x`` profile (firmware after 2024-11) sets ``v3_port``
(API 3 on a second listener, see ``v3_protocol.py``) and reduced 4028 layouts and command
list (the "v2-compat" API of that firmware, reference sections 2.1, 2.7 and 5).

Field orders: the ``2.0.x``/``2024`` layouts follow the vendor's API V2.0.5 document
(real order). The ``1.4.x`` captures were key-sorted by their committer, so the real
order is unknown; the ``1.4.x`` layouts use cgminer 4.9.2's own order for the cgminer
fields followed by the btminer additions (an inference, documented in the README).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

#: Placeholder in a layout that expands to ``Error Code 0``, ``Error Code 1``, ...
ERROR_CODE_FIELDS = "Error Code *"

#: Commands answered by btminer (cgminer-derived); they can be joined with ``+``.
CGMINER_COMMANDS = frozenset({"summary", "pools", "devs", "edevs", "devdetails"})

#: Read commands answered by the api daemon (never joinable).
DAEMON_READ_COMMANDS = frozenset({"get_psu", "get_version", "status", "get_miner_info", "get_error_code", "get_token"})

#: Write (privileged) commands the simulator implements; they need a token and encryption.
WRITE_COMMANDS = frozenset({
    "update_pools", "restart_btminer", "power_off", "power_on", "set_led",
    "set_low_power", "set_normal_power", "set_high_power", "reboot", "factory_reset",
    "update_pwd", "net_config", "set_target_freq", "enable_btminer_fast_boot",
    "disable_btminer_fast_boot", "enable_web_pools", "disable_web_pools", "set_hostname",
    "set_zone", "load_log", "set_power_pct", "set_power_pct_v2", "pre_power_on",
    "set_temp_offset", "adjust_power_limit", "adjust_upfreq_speed", "set_poweroff_cool",
    "set_fan_zero_speed", "update_firmware",
})

# --- reply layouts -------------------------------------------------------------------

SUMMARY_V1 = (
    "Elapsed", "MHS av", "MHS 5s", "MHS 1m", "MHS 5m", "MHS 15m", "HS RT", "Found Blocks",
    "Getworks", "Accepted", "Rejected", "Hardware Errors", "Utility", "Discarded", "Stale",
    "Get Failures", "Local Work", "Remote Failures", "Network Blocks", "Total MH",
    "Work Utility", "Difficulty Accepted", "Difficulty Rejected", "Difficulty Stale",
    "Best Share", "Temperature", "freq_avg", "Fan Speed In", "Fan Speed Out", "Voltage",
    "Power", "Power_RT", "Device Hardware%", "Device Rejected%", "Pool Rejected%",
    "Pool Stale%", "Last getwork", "Uptime", "Chip Data", "Power Current", "Power Fanspeed",
    "Error Code Count", ERROR_CODE_FIELDS, "Factory Error Code Count", "Security Mode",
    "Liquid Cooling", "Hash Stable", "Hash Stable Cost Seconds", "Hash Deviation%",
    "Target Freq", "Target MHS", "Power Mode", "Firmware Version", "CB Platform",
    "CB Version", "MAC", "Factory GHS", "Power Limit", "Chip Temp Min", "Chip Temp Max",
    "Chip Temp Avg",
)

SUMMARY_V2 = (
    "Elapsed", "MHS av", "MHS 5s", "MHS 1m", "MHS 5m", "MHS 15m", "HS RT", "Accepted",
    "Rejected", "Total MH", "Temperature", "freq_avg", "Fan Speed In", "Fan Speed Out",
    "Power", "Power Rate", "Pool Rejected%", "Pool Stale%", "Last getwork", "Uptime",
    "Security Mode", "Hash Stable", "Hash Stable Cost Seconds", "Hash Deviation%",
    "Target Freq", "Target MHS", "Env Temp", "Power Mode", "Factory GHS", "Power Limit",
    "Chip Temp Min", "Chip Temp Max", "Chip Temp Avg", "Debug", "Btminer Fast Boot",
)

DEVS_V1 = (
    "ASC", "Name", "ID", "Slot", "Enabled", "Status", "Temperature", "Chip Frequency",
    "Fan Speed In", "Fan Speed Out", "MHS av", "MHS 5s", "MHS 1m", "MHS 5m", "MHS 15m",
    "Accepted", "Rejected", "Hardware Errors", "Utility", "Last Share Pool",
    "Last Share Time", "Total MH", "Diff1 Work", "Difficulty Accepted",
    "Difficulty Rejected", "Last Share Difficulty", "Last Valid Work", "Device Hardware%",
    "Device Rejected%", "Device Elapsed", "Upfreq Complete", "Effective Chips", "PCB SN",
    "Chip Temp Min", "Chip Temp Max", "Chip Temp Avg",
)

DEVS_V2 = (
    "ASC", "Slot", "Enabled", "Status", "Temperature", "Chip Frequency", "MHS av", "MHS 5s",
    "MHS 1m", "MHS 5m", "MHS 15m", "HS RT", "HS Factory", "Accepted", "Rejected",
    "Last Valid Work", "Upfreq Complete", "Effective Chips", "PCB SN", "Chip Data",
    "Chip Temp Min", "Chip Temp Max", "Chip Temp Avg", "chip_vol_diff",
)

POOLS_V1 = (
    "POOL", "URL", "Status", "Priority", "Quota", "Long Poll", "Getworks", "Accepted",
    "Rejected", "Works", "Discarded", "Stale", "Get Failures", "Remote Failures", "User",
    "Last Share Time", "Diff1 Shares", "Proxy Type", "Proxy", "Difficulty Accepted",
    "Difficulty Rejected", "Difficulty Stale", "Last Share Difficulty", "Work Difficulty",
    "Has Stratum", "Stratum Active", "Stratum URL", "Stratum Difficulty", "Has GBT",
    "Best Share", "Pool Rejected%", "Pool Stale%", "Bad Work", "Current Block Height",
    "Current Block Version",
)

POOLS_V2 = tuple(name for name in POOLS_V1 if name != "Has GBT")

DEVDETAILS = ("DEVDETAILS", "Name", "ID", "Driver", "Kernel", "Model")

PSU_V1 = ("name", "hw_version", "sw_version", "model")
PSU_V2 = ("name", "hw_version", "sw_version", "model", "iin", "vin", "fan_speed", "version", "serial_no", "vender")

VERSION_V1 = ("api_ver", "fw_ver")
VERSION_V2 = ("api_ver", "fw_ver", "platform", "chip")

MINER_INFO_V2 = ("ip", "proto", "netmask", "dns", "mac", "ledstat", "gateway", "hostname", "minersn", "powersn")

STATUS_V1 = ("btmineroff", "Firmware Version")
STATUS_V2 = ("mineroff", "mineroff_reason", "mineroff_time", "FirmwareVersion", "power_mode", "hash_percent")
STATUS_2024 = ("mineroff", "mineroff_reason", "mineroff_time", "FirmwareVersion", "power_mode", "power_limit_set", "hash_percent")

# The degraded port-4028 API of API-3 firmware: "drops the 5s/5m windows and Target MHS" and
# "missing per-board chip temperatures, share-rate windows" (reference section 2.1, Tether).
SUMMARY_V3_COMPAT = tuple(name for name in SUMMARY_V2 if name not in ("MHS 5s", "MHS 5m", "Target MHS"))
DEVS_V3_COMPAT = tuple(name for name in DEVS_V2 if name not in ("MHS 5s", "MHS 5m", "Chip Temp Min", "Chip Temp Max", "Chip Temp Avg"))


@dataclass(frozen=True)
class FirmwareProfile:
    """How one firmware generation answers on port 4028.

    ``layouts`` maps a reply name (``summary``, ``devs``, ``pools``, ``devdetails``,
    ``get_psu``, ``get_version``, ``get_miner_info``, ``status``) to its ordered field names.
    ``field_types`` forces a JSON type for fields whose type differs between generations.
    """

    name: str
    fw_version: str
    api_version: str
    daemon_description: str
    cgminer_description: str
    devdetails_description: str
    layouts: Mapping[str, Sequence[str]]
    unsupported_commands: frozenset[str] = frozenset()
    field_types: Mapping[str, str] = field(default_factory=dict)
    first_board_only_fields: frozenset[str] = frozenset()
    #: ``status`` reports ``power_mode`` ("low"/"normal"/"high") instead of "".
    status_reports_power_mode: bool = False
    #: ``status.hash_percent`` is reported ("0" or the set percent) instead of "".
    status_reports_hash_percent: bool = False
    #: default of MinerConfig.btmineroff_report ("always-true" or "state"); 1.x only.
    btmineroff_report: str = "state"
    #: default text of ``status.power_limit_set`` when no limit is set (2024 firmware).
    no_power_limit_report: str = "2147483647"
    #: port of the API 3 listener on a real miner; None = no API 3 (the ``3.x`` profile sets 4433).
    v3_port: int | None = None
    #: ``system.api`` of API 3 (``get.device.info``), e.g. ``3.0.2``; empty without API 3.
    v3_api_version: str = ""

    def supports(self, command: str) -> bool:
        """Tell whether this firmware knows ``command`` at all."""
        return command not in self.unsupported_commands


_API_2_0 = FirmwareProfile(
    name="2.0.x",
    fw_version="20230803.11.REL",
    api_version="2.0.5",
    daemon_description="",
    cgminer_description="cgminer 4.9.2",
    devdetails_description="btminer",
    layouts={
        "summary": SUMMARY_V2, "devs": DEVS_V2, "pools": POOLS_V2, "devdetails": DEVDETAILS,
        "get_psu": PSU_V2, "get_version": VERSION_V2, "get_miner_info": MINER_INFO_V2,
        "status": STATUS_V2,
    },
    field_types={"Has Stratum": "int"},
    first_board_only_fields=frozenset({"HS Factory"}),
)

PROFILES: dict[str, FirmwareProfile] = {
    "1.4.x": FirmwareProfile(
        name="1.4.x",
        fw_version="20210322.22.REL",
        api_version="whatsminer v1.4.0",
        daemon_description="whatsminer v1.4.0",
        cgminer_description="cgminer 4.9.2",
        devdetails_description="cgminer 4.9.2",
        layouts={
            "summary": SUMMARY_V1, "devs": DEVS_V1, "pools": POOLS_V1, "devdetails": DEVDETAILS,
            "get_psu": PSU_V1, "get_version": VERSION_V1, "status": STATUS_V1,
        },
        unsupported_commands=frozenset({"get_miner_info", "get_error_code"}),
        btmineroff_report="always-true",
    ),
    "2.0.x": _API_2_0,
    # 2024 firmware: the same API 2.0.5 replies, but status reports power_limit_set, power_mode
    # and hash_percent.
    "2024": replace(
        _API_2_0,
        name="2024",
        fw_version="20240924.14.Rel",
        layouts={**_API_2_0.layouts, "status": STATUS_2024},
        status_reports_power_mode=True,
        status_reports_hash_percent=True,
    ),
    # Firmware after 2024-11: API 3 on port 4433 (v3_protocol.py) and a reduced API 2 on 4028.
    # status is the real capture of such a device on 4028 (fw 20250214.16.1: power_mode and
    # hash_percent empty, power_limit_set "2147483647"); devdetails and every write command are
    # gone from 4028 (writes go through API 3), see the README for the reasoning.
    "3.x": replace(
        _API_2_0,
        name="3.x",
        fw_version="20250214.16.1",
        layouts={**_API_2_0.layouts, "summary": SUMMARY_V3_COMPAT, "devs": DEVS_V3_COMPAT, "status": STATUS_2024},
        unsupported_commands=frozenset({"devdetails"}) | WRITE_COMMANDS,
        v3_port=4433,
        v3_api_version="3.0.2",
    ),
}

#: The device settings (issue 17) each generation reports in a read, by the names of the
#: whatsminer_settings module; the others it takes (API 2 writes on 1.4.x..2024, API 3 writes on
#: 3.x) but never shows (reference whatsminer-api-settings.md section 1). 1.4.x has no
#: ``get_miner_info`` and no ``Btminer Fast Boot`` in its summary; API 2 reports no time zone, web
#: pools, fan or upfreq setting; API 3 reports them all (``get.system.setting``,
#: ``get.fan.setting``, ``get.miner.setting``, ``get.device.info``).
REPORTED_SETTINGS: dict[str, frozenset[str]] = {
    "1.4.x": frozenset(),
    "2.0.x": frozenset({"hostname", "led", "fast_boot"}),
    "2024": frozenset({"hostname", "led", "fast_boot"}),
    "3.x": frozenset({
        "hostname", "timezone", "ntp_servers", "led", "fast_boot", "web_pools", "temperature_offset",
        "fan_poweroff_cool", "fan_zero_speed", "upfreq_speed",
    }),
}

#: The order ``mixed`` cycles through: the API 2 generations. ``3.x`` stays out on purpose: a 3.x
#: miner needs its API 3 password (``--v3-password``) as well, and the benchmark's documented
#: numbers (docs/performance.md) are for the API 2 mix. Fleets with current firmware ask for it:
#: ``mixed,3.x`` (the demo, the fleet_* and reliability_fleet integration targets).
MIXED_ORDER = ("1.4.x", "2.0.x", "2024")


@dataclass(frozen=True)
class PsuSpec:
    """Power supply identity as reported by ``get_psu``."""

    name: str
    model: str
    hw_version: str
    sw_version: str
    vender: str = "7"


@dataclass(frozen=True)
class ModelSpec:
    """Hardware of one miner model. Hashrates in TH/s, power in W, frequency in MHz."""

    name: str
    boards: int
    chips_per_board: int
    nominal_ths: float
    nominal_power_w: int
    min_power_limit_w: int
    max_power_limit_w: int
    freq_mhz: int
    platform: str
    chip_data: str
    cb_platform: str
    cb_version: str
    psu: PsuSpec
    standby_power_w: int = 8

    @property
    def devdetails_model(self) -> str:
        """The ``Model`` string of ``devdetails`` (the model name as the firmware prints it)."""
        return self.name


MODELS: dict[str, ModelSpec] = {
    "M20S_V10": ModelSpec(
        name="M20S_V10", boards=3, chips_per_board=105, nominal_ths=68.0, nominal_power_w=3360,
        min_power_limit_w=1500, max_power_limit_w=3500, freq_mhz=625, platform="ALLWINNER_H3",
        chip_data="HP5A01-19101436   BINV04-192101D", cb_platform="ALLWINNER_H3", cb_version="V8",
        psu=PsuSpec(name="P21", model="P21-12-3600-E", hw_version="", sw_version="102220.009"),
    ),
    "M30S+_VE40": ModelSpec(
        name="M30S+_VE40", boards=3, chips_per_board=156, nominal_ths=100.0, nominal_power_w=3400,
        min_power_limit_w=1600, max_power_limit_w=3600, freq_mhz=574, platform="H6OS",
        chip_data="K88Z347-2039 BINV01-195001D", cb_platform="H6OS", cb_version="V10",
        psu=PsuSpec(name="P221B", model="P221B", hw_version="V01.00", sw_version="V01.00.V01.03"),
    ),
    "M50_VH50": ModelSpec(
        name="M50_VH50", boards=3, chips_per_board=105, nominal_ths=118.0, nominal_power_w=3306,
        min_power_limit_w=1700, max_power_limit_w=3600, freq_mhz=500, platform="H616",
        chip_data="K8EA379-2426 BINVE6-197806A", cb_platform="H616", cb_version="CB6V10",
        psu=PsuSpec(name="P221B", model="P221B", hw_version="V01.00", sw_version="V01.00.V01.05"),
    ),
    "M60S_VK40": ModelSpec(
        name="M60S_VK40", boards=3, chips_per_board=172, nominal_ths=186.0, nominal_power_w=3422,
        min_power_limit_w=1800, max_power_limit_w=3800, freq_mhz=480, platform="H616",
        chip_data="K8EC374-2426 BINVE6-197806A", cb_platform="H616", cb_version="CB6V10",
        psu=PsuSpec(name="P221B", model="P221B", hw_version="V02.00", sw_version="V02.00.V02.01"),
    ),
}

#: Model used when none is given, per profile.
DEFAULT_MODEL = {"1.4.x": "M20S_V10", "2.0.x": "M30S+_VE40", "2024": "M50_VH50", "3.x": "M60S_VK40"}

#: (power factor, hashrate factor) of each power mode relative to "normal".
POWER_MODE_FACTORS = {"low": (0.82, 0.87), "normal": (1.0, 1.0), "high": (1.12, 1.07)}


def resolve_profiles(spec: str | Sequence[str], count: int) -> list[str]:
    """Turn a profile spec into one profile name per miner.

    ``spec`` is ``"mixed"``, one profile name, a comma-separated string, or a sequence of
    names (``mixed`` inside them expands to MIXED_ORDER, e.g. ``"mixed,3.x"``); the names are
    cycled over ``count`` miners. Unknown names raise ValueError.
    """
    items = [part.strip() for part in spec.split(",") if part.strip()] if isinstance(spec, str) else list(spec)
    names: list[str] = []
    for item in items:
        names.extend(MIXED_ORDER if item == "mixed" else [item])
    if not names:
        raise ValueError("no firmware profile given")
    for name in names:
        if name not in PROFILES:
            raise ValueError(f"unknown firmware profile {name!r}; known: {', '.join(PROFILES)} and 'mixed'")
    return [names[index % len(names)] for index in range(count)]
