"""Per-miner simulator settings: timings, limits, protocol choices and faults.

These are not part of the miner's true state; they say how the simulated firmware behaves.
Fields left at None take the firmware profile's default.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from .faults import Fault

BTMINER_DOWN_REPLIES = ("message", "refuse", "reset", "close")
BTMINEROFF_REPORTS = ("always-true", "state")
HOSTNAME_APPLY = ("reboot", "immediate")
POWER_LIMIT_SET_REPORTS = ("value", "empty")
FACTORY_PASSWORD_CHANGE = ("allow", "refuse")


@dataclass
class MinerConfig:
    """How one simulated miner behaves.

    Timings are seconds. ``restart_seconds``: btminer restart window (summary, pools, devs,
    edevs, devdetails unavailable). ``reboot_seconds``: whole-API outage after reboot,
    net_config and factory_reset. ``btminer_down_reply``: what a btminer-backed read gets
    during a restart: ``message`` (``Socket connect failed: Connection refused\\n``),
    ``refuse`` (the listener is closed for the window, so every connection is refused),
    ``reset`` (TCP reset after the request) or ``close`` (closed without a reply).
    ``pools_apply_restart``: update_pools restarts btminer after replying, as firmware does that
    restarts the mining program to apply new pools. ``power_mode_restart``: a power mode change
    (``set_*_power``, ``set.miner.power_mode``) restarts btminer; ``False`` applies it without a
    visible restart (summary shows the new mode at once, Elapsed keeps counting), as firmware the
    references allow does. ``power_apply_delay_s``: a power mode or power limit change is
    confirmed at once (API 2 ``set_*_power`` still without a reply) and taken, with its restart,
    that many seconds later. ``power_limit_set_report``: ``value`` (status ``power_limit_set`` shows
    the limit, or ``no_power_limit_report``) or ``empty`` (it is always ``""`` while summary's
    ``Power Limit`` shows the limit; port-4028 ``status`` only). ``hashing_ramp_s``: seconds the
    true draw takes to reach the full draw after mining resumes or btminer starts (``draw.py``;
    ``None`` = the profile's ``draw.RAMP_SECONDS``).

    Passwords (reference whatsminer-api-settings.md section 2.10; several details are inference,
    hence switches): ``factory_password_gate``: API 3 refuses every write except
    ``set.user.change_passwd`` with -4 "no permission" while the signing account still has its
    factory password (vendor doc). Off by default here, because the simulator's own protocol tests
    write with the factory passwords; the command line's fleets turn it on (``--factory-password-gate``,
    the default there). API 2 is gated by the write-API switch (``write_api_enabled``)
    alone, as the reference infers. ``factory_password_change``: whether ``update_pwd`` (API 2)
    and ``set.user.change_passwd`` (API 3) may change a password that is still the factory one
    (``allow``) or are refused (``refuse``: API 2 answers "can't access write cmd" with
    ``write_locked_code``, API 3 -4 "no permission"); no source says which firmware does what.
    """

    idle_timeout_s: float = 10.0
    token_expiry_s: float = 1800.0
    tokens_per_ip: int = 32
    max_token_ips: int = 16
    restart_seconds: float = 0.5
    reboot_seconds: float = 1.0
    btminer_down_reply: str = "message"
    pools_apply_delay_s: float = 0.0
    pools_apply_restart: bool = False
    power_mode_restart: bool = True
    power_apply_delay_s: float = 0.0
    hashing_ramp_s: float | None = None
    power_limit_set_report: str = "value"
    write_locked_code: int = 45
    join_error_code: int = 14
    encrypt_token_errors: bool = False
    btmineroff_report: str | None = None
    no_power_limit_report: str | None = None
    hostname_apply: str = "reboot"
    refuse_connections: bool = False
    factory_password_gate: bool = False
    factory_password_change: str = "allow"
    #: How a firmware upgrade goes (``firmware.FIRMWARE_UPDATE_MODES``, see ``firmware.py``).
    firmware_update: str = "flash"
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError on an impossible setting."""
        if self.btminer_down_reply not in BTMINER_DOWN_REPLIES:
            raise ValueError(f"btminer_down_reply must be one of {BTMINER_DOWN_REPLIES}")
        if self.btmineroff_report is not None and self.btmineroff_report not in BTMINEROFF_REPORTS:
            raise ValueError(f"btmineroff_report must be one of {BTMINEROFF_REPORTS}")
        if self.factory_password_change not in FACTORY_PASSWORD_CHANGE:
            raise ValueError(f"factory_password_change must be one of {FACTORY_PASSWORD_CHANGE}")
        if self.firmware_update not in ("flash", "refuse", "cut", "keep_old"):
            raise ValueError("firmware_update must be one of flash, refuse, cut, keep_old")
        if self.hostname_apply not in HOSTNAME_APPLY:
            raise ValueError(f"hostname_apply must be one of {HOSTNAME_APPLY}")
        if self.power_limit_set_report not in POWER_LIMIT_SET_REPORTS:
            raise ValueError(f"power_limit_set_report must be one of {POWER_LIMIT_SET_REPORTS}")
        for name in ("pools_apply_restart", "power_mode_restart"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")
        for name in ("idle_timeout_s", "token_expiry_s", "restart_seconds", "reboot_seconds", "pools_apply_delay_s", "power_apply_delay_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.hashing_ramp_s is not None and (isinstance(self.hashing_ramp_s, bool) or not 0 <= self.hashing_ramp_s <= 3600):
            raise ValueError("hashing_ramp_s must be between 0 and 3600 seconds, or null for the profile's ramp")
        if self.tokens_per_ip < 1 or self.max_token_ips < 1:
            raise ValueError("token limits must be >= 1")

    def copy(self) -> MinerConfig:
        """A deep copy (faults included)."""
        return copy.deepcopy(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view."""
        data = {item.name: getattr(self, item.name) for item in dataclasses.fields(self) if item.name != "faults"}
        data["faults"] = [fault.to_dict() for fault in self.faults]
        return data

    def apply(self, changes: Mapping[str, Any]) -> None:
        """Set fields from a mapping; ``faults`` takes a list of Fault objects or their dicts.

        Raises ValueError on an unknown field or a bad value; nothing is changed then.
        """
        staged = self.copy()
        known = {item.name for item in dataclasses.fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown config field {name!r}")
            if name == "faults":
                value = [item if isinstance(item, Fault) else Fault.from_dict(item) for item in value]
            setattr(staged, name, value)
        staged.validate()
        for name in changes:
            setattr(self, name, getattr(staged, name))
