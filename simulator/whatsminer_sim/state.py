"""The true state of one simulated miner (what the hardware and firmware really hold)."""

from __future__ import annotations

import copy
import dataclasses
import random
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from .profiles import DEFAULT_MODEL, MODELS, PROFILES

POWER_MODES = ("low", "normal", "high")
LED_MODES = ("auto", "manual")
POOL_SLOTS = 3
SALT_CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
FACTORY_HOSTNAME = "WhatsMiner"
#: NTP servers of a factory-fresh API 3 miner (the real capture's ``get.system.setting``).
FACTORY_NTP_SERVERS = ("0.cn.pool.ntp.org", "0.openwrt.pool.ntp.org", "0.asia.pool.ntp.org", "0.pool.ntp.org")
FACTORY_PASSWORD = "admin"
#: API 3 accounts (reference section 7.2); only ``super`` may write by default.
V3_ACCOUNTS = ("super", "user1", "user2", "user3")
#: Factory password of the API 3 ``super`` account. The user accounts' factory passwords are not
#: documented; the simulator uses the account name (they have no write permission anyway).
FACTORY_V3_PASSWORD = "super"
FACTORY_V3_PERMISSIONS = {"super": 255, "user1": 0, "user2": 0, "user3": 0}


@dataclass
class PoolSlot:
    """One of the three pool slots. An empty ``url`` means the slot is unused."""

    url: str = ""
    user: str = ""
    password: str = ""

    @property
    def configured(self) -> bool:
        """A slot is in use when it has a URL."""
        return bool(self.url)


@dataclass
class ErrorCode:
    """A hardware error code with the local time it was raised (``YYYY-MM-DD HH:MM:SS``)."""

    code: int
    time: str


@dataclass
class MinerState:
    """Everything a miner really is and holds; the simulator's oracle.

    Times are wall-clock unix seconds. ``power_limit_w`` None means no limit is set.
    Pool passwords are kept here but never appear in a miner reply. ``admin_password`` is the
    API 2 (port 4028) password; ``v3_passwords``/``v3_permissions`` are the API 3 accounts
    (``super``, ``user1``..``user3``; permission 0 = read only) and ``v3_salt`` the salt API 3
    hands out (``get.device.info`` ``salt``). ``write_api_enabled`` is the WhatsMinerTool API
    switch of both APIs.
    """

    profile: str
    model: str
    serial: str
    mac: str
    psu_serial: str
    board_serials: list[str]
    hostname: str = FACTORY_HOSTNAME
    pending_hostname: str | None = None
    ip: str = "127.0.0.1"
    proto: str = "dhcp"
    netmask: str = "255.0.0.0"
    gateway: str = "127.0.0.1"
    dns: str = "127.0.0.1"
    pools: list[PoolSlot] = field(default_factory=lambda: [PoolSlot() for _slot in range(POOL_SLOTS)])
    mining: bool = True
    mineroff_reason: str = ""
    mineroff_time: str = ""
    power_mode: str = "normal"
    power_limit_w: int | None = None
    power_pct: int | None = None
    target_freq_pct: int = 0
    led: str = "auto"
    led_settings: dict[str, Any] = field(default_factory=dict)
    fast_boot: bool = False
    web_pools: bool = True
    admin_password: str = FACTORY_PASSWORD
    write_api_enabled: bool = True
    error_codes: list[ErrorCode] = field(default_factory=list)
    nominal_ths: float = 100.0
    env_temp_c: float = 25.0
    upfreq_speed: int = 0
    temp_offset: int = 0
    poweroff_cool: bool = False
    fan_zero_speed: bool = False
    timezone: str = "CST-8"
    zonename: str = "Asia/Shanghai"
    log_target: dict[str, str] = field(default_factory=dict)
    ntp_servers: list[str] = field(default_factory=lambda: list(FACTORY_NTP_SERVERS))
    #: ``set.miner.service enable|disable``: whether btminer starts at boot (an inference, see the README).
    service_enabled: bool = True
    boot_time: float = 0.0
    btminer_start_time: float = 0.0
    #: When mining last resumed (``power_on``, service start); the draw ramps up from then (``draw``).
    mining_since: float = 0.0
    v3_passwords: dict[str, str] = field(default_factory=lambda: factory_v3_passwords(FACTORY_V3_PASSWORD))
    v3_permissions: dict[str, int] = field(default_factory=lambda: dict(FACTORY_V3_PERMISSIONS))
    v3_salt: str = "s1mSa1tX"
    #: The firmware version after an upgrade (``firmware.py``); empty: the profile's ``fw_version``.
    fw_version: str = ""

    def copy(self) -> MinerState:
        """A deep copy (a snapshot that can be read without a lock)."""
        return copy.deepcopy(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view of every field."""
        return dataclasses.asdict(self)

    def apply(self, changes: Mapping[str, Any]) -> None:
        """Set fields from a mapping (control API, tests), validating names and values.

        ``pools`` accepts a list of up to three ``{"url", "user", "password"}`` mappings (or
        PoolSlot objects); ``error_codes`` a list of ``{"code", "time"}`` mappings or plain codes.
        Raises ValueError on an unknown field or a bad value; nothing is changed then.
        """
        staged = self.copy()
        known = {item.name for item in dataclasses.fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown state field {name!r}")
            setattr(staged, name, _coerce_field(name, value))
        staged.validate()
        resumed = staged.mining and not self.mining and "mining_since" not in changes
        for name in changes:
            setattr(self, name, getattr(staged, name))
        if resumed:
            self.mining_since = time.time()

    def validate(self) -> None:
        """Raise ValueError when a field holds a value the firmware could never have."""
        for item in dataclasses.fields(self):
            if not _has_type(getattr(self, item.name), str(item.type)):
                raise ValueError(f"{item.name} must be of type {item.type}, not {getattr(self, item.name)!r}")
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}")
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; known: {', '.join(MODELS)}")
        if self.power_mode not in POWER_MODES:
            raise ValueError(f"power_mode must be one of {POWER_MODES}")
        if self.led not in LED_MODES:
            raise ValueError(f"led must be one of {LED_MODES}")
        if len(self.pools) != POOL_SLOTS:
            raise ValueError("pools must have exactly 3 slots")
        if self.power_limit_w is not None and self.power_limit_w <= 0:
            raise ValueError("power_limit_w must be a positive number of watts or None")
        if set(self.v3_passwords) != set(V3_ACCOUNTS) or set(self.v3_permissions) != set(V3_ACCOUNTS):
            raise ValueError(f"v3_passwords and v3_permissions need exactly the accounts {V3_ACCOUNTS}")
        if not all(isinstance(level, int) and 0 <= level <= 255 for level in self.v3_permissions.values()):
            raise ValueError("v3_permissions values must be integers 0..255")
        if not (isinstance(self.v3_salt, str) and self.v3_salt):
            raise ValueError("v3_salt must be a non-empty string")


def _has_type(value: Any, annotation: str) -> bool:
    """Whether ``value`` fits a field annotation of this module (``int | None``, ``list[str]``, ``dict[str, str]``...)."""
    if annotation.endswith(" | None"):
        return value is None or _has_type(value, annotation.removesuffix(" | None"))
    if annotation.startswith("list["):
        inner = annotation[5:-1]
        return isinstance(value, list) and all(_has_type(item, inner) for item in value)
    if annotation.startswith("dict["):
        inner = annotation[5:-1].split(", ", 1)[1]
        return isinstance(value, dict) and all(isinstance(key, str) and _has_type(item, inner) for key, item in value.items())
    if annotation == "PoolSlot":
        return isinstance(value, PoolSlot) and all(isinstance(text, str) for text in (value.url, value.user, value.password))
    if annotation == "ErrorCode":
        return isinstance(value, ErrorCode) and isinstance(value.time, str) and _has_type(value.code, "int")
    checks = {
        "bool": lambda: isinstance(value, bool),
        "int": lambda: isinstance(value, int) and not isinstance(value, bool),
        "float": lambda: isinstance(value, (int, float)) and not isinstance(value, bool),
        "str": lambda: isinstance(value, str),
    }
    return checks[annotation]() if annotation in checks else True


def _coerce_field(name: str, value: Any) -> Any:
    """Convert JSON-ish input to the field's Python type."""
    if name == "pools":
        slots = [item if isinstance(item, PoolSlot) else PoolSlot(**dict(item)) for item in value]
        if len(slots) > POOL_SLOTS:
            raise ValueError("at most 3 pools")
        return slots + [PoolSlot() for _slot in range(POOL_SLOTS - len(slots))]
    if name == "error_codes":
        return [_error_code(item) for item in value]
    if name == "power_limit_w" and value is not None:
        return int(value)
    return value


def factory_v3_passwords(super_password: str) -> dict[str, str]:
    """API 3 account passwords: ``super_password`` for ``super``, the account name for the others."""
    return {account: super_password if account == "super" else account for account in V3_ACCOUNTS}


def is_factory_v3_password(account: str, password: str) -> bool:
    """Whether ``password`` is the factory password of API 3 ``account``."""
    return password == factory_v3_passwords(FACTORY_V3_PASSWORD).get(account)


def _error_code(item: Any) -> ErrorCode:
    """Accept an ErrorCode, a bare code (raised now) or a ``{"code", "time"}`` mapping."""
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(item, ErrorCode):
        return item
    if isinstance(item, (int, str)):
        return ErrorCode(code=int(item), time=now)
    return ErrorCode(code=int(item["code"]), time=str(item.get("time", now)))


def _serial(rng: random.Random, prefix: str, length: int) -> str:
    """A serial number made of ``prefix`` and random digits/uppercase letters."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return prefix + "".join(rng.choice(alphabet) for _char in range(length - len(prefix)))


def initial_state(
    index: int,
    seed: int,
    profile: str,
    model: str | None = None,
    reported_ip: str = "127.0.0.1",
    password: str = FACTORY_PASSWORD,
    write_api_enabled: bool = True,
    now: float | None = None,
    v3_password: str = FACTORY_V3_PASSWORD,
) -> MinerState:
    """Build the deterministic starting state of miner ``index`` of a fleet seeded with ``seed``.

    ``password`` is the API 2 admin password, ``v3_password`` the API 3 ``super`` password.
    """
    rng = random.Random(f"whatsminer-sim-identity:{seed}:{index}")
    model_name = model or DEFAULT_MODEL[profile]
    spec = MODELS[model_name]
    wall = time.time() if now is None else now
    uptime = rng.randint(3600, 7 * 86400)
    mac = "C4:08:28:" + ":".join(f"{rng.randrange(256):02X}" for _byte in range(3))
    state = MinerState(
        profile=profile,
        model=model_name,
        serial=_serial(rng, "HTM3", 32),
        mac=mac,
        psu_serial=_serial(rng, "A1232B", 16),
        board_serials=[_serial(rng, f"HEM1EP9C4009{board}", 20) for board in range(spec.boards)],
        ip=reported_ip,
        pools=[
            PoolSlot(url="stratum+tcp://btc.example.pool:3333", user=f"simfarm.{index + 1:03d}", password="x"),
            PoolSlot(url="stratum+tcp://btc2.example.pool:3333", user=f"simfarm.{index + 1:03d}", password="x"),
            PoolSlot(url="stratum+tcp://btc3.example.pool:3333", user=f"simfarm.{index + 1:03d}", password="x"),
        ],
        admin_password=password,
        write_api_enabled=write_api_enabled,
        nominal_ths=round(spec.nominal_ths * rng.uniform(0.98, 1.02), 3),
        env_temp_c=round(rng.uniform(22.0, 28.0), 1),
        boot_time=wall - uptime,
        btminer_start_time=wall - uptime + rng.randint(30, 90),
        v3_passwords=factory_v3_passwords(v3_password),
        # A separate stream, so that adding API 3 left every other identity value unchanged.
        v3_salt="".join(random.Random(f"whatsminer-sim-v3-salt:{seed}:{index}").choice(SALT_CHARACTERS) for _char in range(8)),
    )
    state.validate()
    return state


def factory_defaults(state: MinerState) -> dict[str, Any]:
    """The fields ``factory_reset`` restores (identity and network addressing are kept)."""
    return {
        "pools": [PoolSlot() for _slot in range(POOL_SLOTS)],
        "power_mode": "normal",
        "power_limit_w": None,
        "power_pct": None,
        "target_freq_pct": 0,
        "led": "auto",
        "led_settings": {},
        "fast_boot": False,
        "web_pools": True,
        "admin_password": FACTORY_PASSWORD,
        "v3_passwords": factory_v3_passwords(FACTORY_V3_PASSWORD),
        "v3_permissions": dict(FACTORY_V3_PERMISSIONS),
        "write_api_enabled": False,
        "hostname": FACTORY_HOSTNAME,
        "pending_hostname": None,
        "proto": "dhcp",
        "upfreq_speed": 0,
        "temp_offset": 0,
        "poweroff_cool": False,
        "fan_zero_speed": False,
        "timezone": "CST-8",
        "zonename": "Asia/Shanghai",
        "log_target": {},
        "ntp_servers": list(FACTORY_NTP_SERVERS),
        "service_enabled": True,
        "mining": True,
        "mineroff_reason": "",
        "mineroff_time": "",
        "ip": state.ip,
    }
