# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Device settings of whatsminer_settings: read, compare, write what differs, read back.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

The settings, named as in the module options and in the ``settings`` facts subset: ``hostname``,
``timezone`` (zone name) with ``timezone_posix`` (its POSIX TZ text), ``ntp_servers``, ``led``
(``auto`` or ``locate``), ``fast_boot``, ``web_pools``, ``temperature_offset``,
``fan_poweroff_cool``, ``fan_zero_speed`` and ``upfreq_speed``.

Each API speaks its own commands (``session.protocol_client()``), because most settings have no
counterpart in the other API's interface (reference whatsminer-api-settings.md):

* ``read_settings`` reads what the firmware reports; a setting it does not report is ``None``
  (API 2 reports only the hostname and LED state in ``get_miner_info`` (2.0.x and later) and
  fast boot in ``summary``; API 3 reports all of them).
* ``plan`` compares the wanted values with what was read. A setting that cannot be read is not
  written unless ``update_unverifiable: always`` asks for it (then on every run, reported as a
  change); either way it is listed in ``unverified``. A setting the API has no command for
  (``ntp_servers`` on API 2) fails the task before anything is sent.
* ``SettingsTask.apply`` writes in order: the settings that take effect at once, then the
  hostname, which the firmware applies only at the next reboot (API 2: network restart), so the
  module reboots the miner after writing it (``whatsminer_reboot``'s wait, ``_polling.poll_until``
  bounded by ``wait_timeout``) and reads back again. ``changed`` is reported only after the read
  back shows every written, readable setting.

``ARGUMENT_SPEC`` and ``logic`` at the end are the module itself (module file and action plugin).
"""

from __future__ import annotations

import os
import re
import time
from typing import Any, Callable

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._polling import poll_until, read_within
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    MinerRestartingError,
    UnsupportedCommandError,
    WhatsminerError,
    miner_address,
)
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._reboot import RebootTask
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import Session, write_outcome_unknown

#: Every managed setting, in the order of the results.
SETTINGS = (
    "hostname", "timezone", "timezone_posix", "ntp_servers", "led", "fast_boot", "web_pools", "temperature_offset",
    "fan_poweroff_cool", "fan_zero_speed", "upfreq_speed",
)
#: Module options that are settings (``timezone_posix`` comes with ``timezone``).
OPTIONS = tuple(name for name in SETTINGS if name != "timezone_posix")
LED_STATES = ("auto", "locate")
LED_COLORS = ("red", "green")
DEFAULT_LED_PATTERN = ({"color": "red", "period": 1000, "duration": 500, "start": 0},)
TEMPERATURE_OFFSET_RANGE = (-30, 0)
#: upfreq speed: API 3 takes 0..10, API 2 0..9 (reference section 2.8).
UPFREQ_SPEED_RANGE = (0, 10)
API2_MAX_UPFREQ_SPEED = 9
HOSTNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
NTP_SERVER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")
MAX_NTP_SERVERS = 8
TEXT_PATTERN = re.compile(r"^[!-~]{1,64}$")
MAX_LED_MS = 60000
MAX_WAIT_TIMEOUT = 3600.0
UPDATE_UNVERIFIABLE = ("never", "always")
ZONEINFO_DIRS = ("/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo")
#: Reads while waiting start this far apart and spread out to at most MAX_POLL_INTERVAL.
FIRST_POLL_INTERVAL = 0.5
MAX_POLL_INTERVAL = 2.0
POLL_BACKOFF = 1.5


# ---------------------------------------------------------------------------------------------
# Input


def posix_timezone(zone_name: str, directories: tuple[str, ...] = ZONEINFO_DIRS) -> str | None:
    """The POSIX TZ text of ``zone_name`` (the footer of its TZif file), ``None`` when the controller has no such file."""
    if ".." in zone_name.split("/") or zone_name.startswith("/"):
        return None
    for directory in directories:
        try:
            with open(os.path.join(directory, zone_name), "rb") as handle:
                data = handle.read(1 << 20)
        except OSError:
            continue
        if data[:4] != b"TZif" or data[4:5] < b"2":
            return None
        footer = data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        text = footer.decode("ascii", "replace")
        return text if TEXT_PATTERN.match(text) else None
    return None


def _led_pattern_problem(pattern: Any) -> str | None:
    if not isinstance(pattern, list) or not pattern or len(pattern) > 2:
        return "led_pattern must be a list of one or two blink steps"
    for step in pattern:
        if not isinstance(step, dict) or step.get("color") not in LED_COLORS:
            return f"each led_pattern step needs color {' or '.join(LED_COLORS)}"
        for name in ("period", "duration", "start"):
            value = step.get(name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LED_MS:
                return f"led_pattern {name} must be whole milliseconds 0..{MAX_LED_MS}, got {value!r}"
        if step["duration"] > step["period"]:
            return "led_pattern duration (lit per cycle) must not exceed period (the whole cycle)"
    return None


def settings_problems(params: dict) -> list[str]:
    """What is wrong with the settings options (shared with the role's pre-check, filter desired_state_problems)."""
    problems = []
    hostname = params.get("hostname")
    if hostname is not None and not (isinstance(hostname, str) and HOSTNAME_PATTERN.match(hostname)):
        problems.append(f"hostname must be 1-63 letters, digits or dashes, not starting with a dash; got {hostname!r}")
    for name in ("timezone", "timezone_posix"):
        value = params.get(name)
        if value is not None and not (isinstance(value, str) and TEXT_PATTERN.match(value)):
            problems.append(f"{name} must be 1-64 printable characters without spaces; got {value!r}")
    if params.get("timezone_posix") is not None and params.get("timezone") is None:
        problems.append("timezone_posix needs timezone (the zone name) as well")
    servers = params.get("ntp_servers")
    if servers is not None:
        if not isinstance(servers, list) or not 1 <= len(servers) <= MAX_NTP_SERVERS:
            problems.append(f"ntp_servers must be a list of 1-{MAX_NTP_SERVERS} host names or addresses")
        else:
            problems.extend(f"ntp_servers entry {server!r} is not a host name or address"
                            for server in servers if not (isinstance(server, str) and NTP_SERVER_PATTERN.match(server)))
    led = params.get("led")
    if led is not None and led not in LED_STATES:
        problems.append(f"led must be one of {', '.join(LED_STATES)}; got {led!r}")
    if params.get("led_pattern") is not None:
        problem = _led_pattern_problem(params["led_pattern"])
        if problem:
            problems.append(problem)
    for name, (low, high) in (("temperature_offset", TEMPERATURE_OFFSET_RANGE), ("upfreq_speed", UPFREQ_SPEED_RANGE)):
        value = params.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
            problems.append(f"{name} must be a whole number {low}..{high}; got {value!r}")
    for name in ("fast_boot", "web_pools", "fan_poweroff_cool", "fan_zero_speed"):
        if params.get(name) is not None and not isinstance(params[name], bool):
            problems.append(f"{name} must be true or false; got {params[name]!r}")
    if params.get("fast_boot") is True and params.get("upfreq_speed") not in (None, 0):
        problems.append("fast_boot and upfreq_speed cannot be used together (vendor API): give upfreq_speed 0 with fast_boot true")
    return problems


def validate_settings_params(params: dict) -> None:
    """Reject what cannot be sent, before anything is sent."""
    if all(params.get(name) is None for name in OPTIONS):
        raise ModuleFailure(f"Nothing to manage: give at least one of {', '.join(OPTIONS)}")
    problems = settings_problems(params)
    wait_timeout = params.get("wait_timeout", 600.0)
    if not (isinstance(wait_timeout, (int, float)) and 0 < wait_timeout <= MAX_WAIT_TIMEOUT):
        problems.append(f"wait_timeout must be more than 0 and at most {MAX_WAIT_TIMEOUT:g} seconds, got {wait_timeout}")
    if params.get("update_unverifiable", "never") not in UPDATE_UNVERIFIABLE:
        problems.append(f"update_unverifiable must be one of {', '.join(UPDATE_UNVERIFIABLE)}")
    if problems:
        raise ModuleFailure("Invalid settings, nothing was sent: " + "; ".join(problems))


def wanted_settings(params: dict) -> dict[str, Any]:
    """The settings given, by their result names (``timezone_posix`` looked up on the controller when not given)."""
    wanted = {name: params[name] for name in OPTIONS if params.get(name) is not None}
    if "ntp_servers" in wanted:
        wanted["ntp_servers"] = list(wanted["ntp_servers"])
    if "timezone" in wanted:
        posix = params.get("timezone_posix") or posix_timezone(wanted["timezone"])
        if posix is None:
            raise ModuleFailure(
                f"timezone {wanted['timezone']!r}: the controller has no zoneinfo file for it, so its POSIX TZ text is unknown; "
                "give timezone_posix (for example CET-1CEST,M3.5.0,M10.5.0/3 for Europe/Berlin); nothing was sent"
            )
        wanted["timezone_posix"] = posix
    return wanted


# ---------------------------------------------------------------------------------------------
# Reading


def _led_state(text: Any) -> str | None:
    """``auto`` or ``locate`` from ``ledstat``/``ledstatus`` (any value but ``auto`` is a manual pattern)."""
    if not isinstance(text, str) or not text:
        return None
    return "auto" if text == "auto" else "locate"


def _switch(value: Any) -> bool | None:
    """``"enable"``/``"disable"``, 1/0 -> bool."""
    if value in ("enable", 1, "1", True):
        return True
    if value in ("disable", 0, "0", False):
        return False
    return None


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _try_read(read: Callable[[], Any]) -> Any:
    """A read whose command this firmware may lack: ``None`` for an unknown command."""
    try:
        return read()
    except UnsupportedCommandError:
        return None


def read_settings_api2(client: Session, known: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings an API 2 miner reports (``get_miner_info``: hostname, LED; ``summary``: fast boot).

    ``known``: replies of this miner the caller already has (command -> reply, as the facts module
    gathers them); those commands are not sent again.
    """
    known = known or {}
    settings: dict[str, Any] = dict.fromkeys(SETTINGS)
    info = known.get("get_miner_info") or _try_read(lambda: client.read("get_miner_info"))
    message = info.get("Msg") if isinstance(info, dict) else None
    if isinstance(message, dict):
        settings["hostname"] = message.get("hostname") if isinstance(message.get("hostname"), str) else None
        settings["led"] = _led_state(message.get("ledstat"))
    summary = known.get("summary") or client.read("summary")
    records = summary.get("SUMMARY") if isinstance(summary, dict) else None
    if isinstance(records, list) and records and isinstance(records[0], dict):
        settings["fast_boot"] = _switch(records[0].get("Btminer Fast Boot"))
    return settings


def read_settings_api3(client: Session) -> dict[str, Any]:
    """The settings an API 3 miner reports (system, fan and miner settings, device info's LED status)."""
    settings: dict[str, Any] = dict.fromkeys(SETTINGS)
    system = (_try_read(lambda: client.read("get.system.setting")) or {}).get("msg")
    if isinstance(system, dict):
        settings["hostname"] = system.get("hostname") if isinstance(system.get("hostname"), str) else None
        settings["timezone"] = system.get("zonename") if isinstance(system.get("zonename"), str) else None
        settings["timezone_posix"] = system.get("timezone") if isinstance(system.get("timezone"), str) else None
        servers = system.get("ntp-server")
        settings["ntp_servers"] = list(servers) if isinstance(servers, list) and all(isinstance(item, str) for item in servers) else None
        settings["web_pools"] = _switch(system.get("web-pool"))
    fan = (_try_read(lambda: client.read("get.fan.setting")) or {}).get("msg")
    if isinstance(fan, dict):
        settings["fan_poweroff_cool"] = _switch(fan.get("fan-poweroff-cool"))
        settings["fan_zero_speed"] = _switch(fan.get("fan-zero-speed"))
        settings["temperature_offset"] = _number(fan.get("fan-temp-offset"))
    miner = (_try_read(lambda: client.read("get.miner.setting")) or {}).get("msg")
    if isinstance(miner, dict):
        settings["fast_boot"] = _switch(miner.get("fast-boot"))
        settings["upfreq_speed"] = _number(miner.get("upfreq-speed"))
    info = (client.read("get.device.info", "system") or {}).get("msg")
    system_info = info.get("system") if isinstance(info, dict) else None
    if isinstance(system_info, dict):
        settings["led"] = _led_state(system_info.get("ledstatus"))
    return settings


def read_settings(client: Session, api_version: int, known: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every setting by its result name; ``None`` where the firmware does not report it.

    ``known``: API 2 replies the caller already read from this miner (``read_settings_api2``).
    """
    return read_settings_api3(client) if api_version == 3 else read_settings_api2(client, known)


# ---------------------------------------------------------------------------------------------
# Writing


def _flag_text(value: bool) -> str:
    return "1" if value else "0"


def api2_writes(setting: str, value: Any, pattern: list[dict], wanted: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """The API 2 commands (name, string parameters) that set ``setting`` to ``value``."""
    if setting == "timezone":
        return [("set_zone", {"timezone": wanted["timezone_posix"], "zonename": value})]
    if setting == "hostname":
        return [("set_hostname", {"hostname": value})]
    if setting == "led":
        if value == "auto":
            return [("set_led", {"param": "auto"})]
        return [("set_led", {name: str(step[name]) for name in ("color", "period", "duration", "start")}) for step in pattern]
    if setting == "fast_boot":
        return [("enable_btminer_fast_boot" if value else "disable_btminer_fast_boot", {})]
    if setting == "web_pools":
        return [("enable_web_pools" if value else "disable_web_pools", {})]
    if setting == "temperature_offset":
        return [("set_temp_offset", {"temp_offset": str(value)})]
    if setting == "fan_poweroff_cool":
        return [("set_poweroff_cool", {"poweroff_cool": _flag_text(value)})]
    if setting == "fan_zero_speed":
        return [("set_fan_zero_speed", {"fan_zero_speed": _flag_text(value)})]
    if setting == "upfreq_speed":
        return [("adjust_upfreq_speed", {"upfreq_speed": str(value)})]
    raise KeyError(setting)


def api3_writes(setting: str, value: Any, pattern: list[dict], wanted: dict[str, Any]) -> list[tuple[str, Any]]:
    """The API 3 commands (name, ``param``) that set ``setting`` to ``value``."""
    simple = {
        "fast_boot": ("set.miner.fastboot", "enable" if value else "disable"),
        "web_pools": ("set.system.webpools", "enable" if value else "disable"),
        "temperature_offset": ("set.fan.temp_offset", value),
        "fan_poweroff_cool": ("set.fan.poweroff_cool", 1 if value else 0),
        "fan_zero_speed": ("set.fan.zero_speed", 1 if value else 0),
        "upfreq_speed": ("set.miner.upfreq_speed", value),
    }
    if setting in simple:
        return [simple[setting]]
    if setting == "hostname":
        return [("set.system.hostname", {"hostname": value})]
    if setting == "timezone":
        return [("set.system.timezone", {"timezone": wanted["timezone_posix"], "zonename": value})]
    if setting == "ntp_servers":
        return [("set.system.ntp_server", ",".join(value))]
    if setting == "led":
        return [("set.system.led", "auto" if value == "auto" else [dict(step) for step in pattern])]
    raise KeyError(setting)


#: Settings API 2 has no command for.
API2_UNSUPPORTED = frozenset({"ntp_servers"})


def plan(current: dict[str, Any], wanted: dict[str, Any], api_version: int, update_unverifiable: str) -> tuple[list[str], list[str]]:
    """``(settings to write, settings that cannot be verified)``; restarting ones (hostname) last.

    Raises ModuleFailure for a setting this API cannot set.
    """
    lacking = sorted(name for name in wanted if api_version == 2 and name in API2_UNSUPPORTED)
    if api_version == 2 and wanted.get("upfreq_speed", 0) > API2_MAX_UPFREQ_SPEED:
        lacking.append(f"upfreq_speed {wanted['upfreq_speed']} (API 2 takes 0..{API2_MAX_UPFREQ_SPEED})")
    if lacking:
        raise ModuleFailure(f"API 2 firmware cannot set {', '.join(lacking)}; nothing was sent. Leave it out for this miner "
                            "(the API 3 firmware of 2024-11 and later has the command)")
    to_write, unverified = [], []
    for name in OPTIONS:
        if name not in wanted:
            continue
        readable = current.get(name) is not None and (name != "timezone" or current.get("timezone_posix") is not None)
        if not readable:
            unverified.append(name)
            if update_unverifiable == "always":
                to_write.append(name)
            continue
        same = current[name] == wanted[name]
        if name == "timezone":
            same = same and current["timezone_posix"] == wanted["timezone_posix"]
        if not same:
            to_write.append(name)
    to_write.sort(key=lambda name: name == "hostname")
    return to_write, unverified


def planned_commands(to_write: list[str], wanted: dict[str, Any], api_version: int, pattern: list[dict]) -> list[dict[str, Any]]:
    """The commands that write ``to_write``, in order, as the module returns them (``reboot`` after a hostname)."""
    commands = []
    for name in to_write:
        if api_version == 3:
            commands.extend({"command": command, "parameters": param} for command, param in api3_writes(name, wanted[name], pattern, wanted))
        else:
            commands.extend({"command": command, "parameters": dict(parameters)}
                            for command, parameters in api2_writes(name, wanted[name], pattern, wanted))
    if "hostname" in to_write:
        commands.append({"command": "set.system.reboot" if api_version == 3 else "reboot", "parameters": None})
    return commands


class SettingsTask:
    """Reads, writes and verifies the settings of one miner. ``clock``/``sleep`` are injectable for tests."""

    def __init__(self, session: Session, params: dict, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.session = session
        self.params = params
        self.wait_timeout = float(params.get("wait_timeout", 600.0))
        self.pattern = [dict(step) for step in (params.get("led_pattern") or DEFAULT_LED_PATTERN)]
        self.clock = clock
        self.sleep = sleep
        self.commands: list[dict[str, Any]] = []
        self.warnings: list[str] = []

    @property
    def miner(self) -> str:
        """``Whatsminer host:port``."""
        return f"Whatsminer {miner_address(str(self.session.host), self.session.port)}"

    def read(self) -> dict[str, Any]:
        """The settings now, after a btminer restart in progress (API 2's fast boot is in ``summary``)."""
        client = self.session.protocol_client()
        api_version = self.session.api_version
        try:
            return read_settings(client, api_version)
        except MinerRestartingError:
            outcome = poll_until(lambda seconds: read_within(client, seconds, lambda reader: read_settings(reader, api_version)),
                                 lambda value: True, self.wait_timeout, interval=FIRST_POLL_INTERVAL, backoff=POLL_BACKOFF,
                                 max_interval=MAX_POLL_INTERVAL, clock=self.clock, sleep=self.sleep)
            if not outcome.reached:
                raise ModuleFailure(f"{self.miner}: btminer did not answer within wait_timeout ({self.wait_timeout:g} s), so the current "
                                    f"settings are unknown and nothing was sent. Last error: {outcome.last_error}") from None
            return outcome.last_value

    def send(self, command: dict[str, Any]) -> None:
        """Send one planned command (API 3: ``param``; API 2: string parameters; the reboot waits until the miner is back)."""
        self.commands.append(command)
        if command["command"] in ("reboot", "set.system.reboot"):
            task = RebootTask(self.session, {"operation": "reboot", "reboot_timeout": self.wait_timeout, "wait_for_hashing": False},
                              clock=self.clock, sleep=self.sleep)
            task.run()
            self.warnings.extend(task.warnings)
        else:
            client = self.session.protocol_client()
            try:
                if self.session.api_version == 3:
                    client.privileged(command["command"], command["parameters"])
                else:
                    client.privileged(command["command"], **command["parameters"])
            except WhatsminerError as error:
                if not write_outcome_unknown(error, command["command"]):
                    raise
                # The miner may have run it: the read back decides (a setting it does not report stays unverified).
                self.warnings.append(f"{self.miner}: the reply to {command['command']} was lost ({error}); the setting was read back instead")

    def apply(self, commands: list[dict[str, Any]], expected: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
        """Send in order (the reboot after the hostname last), then read back until the miner shows ``expected`` (at most wait_timeout).

        Returns whether it did and the last settings read (``None`` when no read back succeeded).
        """
        try:
            for command in commands:
                self.send(command)
        except WhatsminerError as error:
            sent = ", ".join(command["command"] for command in self.commands[:-1]) or "nothing"
            raise ModuleFailure(f"{error} Already sent before this failure: {sent}.", changed=len(self.commands) > 1,
                                commands=self.commands[:-1]) from None
        client, api_version = self.session.protocol_client(), self.session.api_version
        outcome = poll_until(lambda seconds: read_within(client, seconds, lambda reader: read_settings(reader, api_version)),
                             lambda seen: all(seen.get(name) == value for name, value in expected.items()), self.wait_timeout,
                             interval=FIRST_POLL_INTERVAL, backoff=POLL_BACKOFF, max_interval=MAX_POLL_INTERVAL, clock=self.clock, sleep=self.sleep)
        return outcome.reached, outcome.last_value


def _describe(settings: dict[str, Any], names: list[str]) -> str:
    return ", ".join(f"{name}={settings.get(name)!r}" for name in names)


def manage_settings(session: Session, params: dict, check_mode: bool, diff: bool, **task_options: Any) -> dict:
    """The result of whatsminer_settings for one miner (``task_options``: ``clock``/``sleep`` for tests)."""
    validate_settings_params(params)
    wanted = wanted_settings(params)
    session.accept_truncated = False
    task = SettingsTask(session, params, **task_options)
    before = task.read()
    to_write, unverified = plan(before, wanted, session.api_version, params.get("update_unverifiable", "never"))
    managed = [name for name in SETTINGS if name in wanted]
    after = dict(before)
    for name in to_write:
        after[name] = wanted[name]
        if name == "timezone":
            after["timezone_posix"] = wanted["timezone_posix"]
    commands = planned_commands(to_write, wanted, session.api_version, task.pattern)
    if to_write and not check_mode:
        expected = {name: after[name] for name in to_write if name not in unverified}
        if "timezone" in expected:
            expected["timezone_posix"] = wanted["timezone_posix"]
        reached, seen = task.apply(commands, expected)
        if not reached:
            wrong = [name for name in expected if (seen or {}).get(name) != expected[name]]
            raise ModuleFailure(
                f"{task.miner} took the write of {', '.join(wrong)} but did not show it within wait_timeout ({task.wait_timeout:g} s): "
                f"wanted {_describe(expected, wrong)}, it shows {_describe(seen or {}, wrong)}. Run the task again once the miner has "
                "applied it; if it persists, the firmware may ignore the setting.",
                changed=True, commands=task.commands, before={name: before[name] for name in managed},
            )
        after = {name: (seen[name] if seen.get(name) is not None else after.get(name)) for name in SETTINGS}
    skipped = [name for name in unverified if name not in to_write]
    if skipped:
        task.warnings.append(
            f"{task.miner}: this firmware does not report {', '.join(skipped)}, so the module cannot tell whether it differs and did "
            "not write it (update_unverifiable: always writes it on every run)"
        )
    result: dict[str, Any] = {
        "changed": bool(to_write),
        "api_version": session.api_version,
        "before": {name: before[name] for name in managed},
        "after": {name: after[name] for name in managed},
        "updated": to_write,
        "unverified": unverified,
        "commands": commands,
        "rebooted": "hostname" in to_write and not check_mode,
    }
    if task.warnings:
        result["warnings"] = task.warnings
    if diff:
        result["diff"] = {"before": result["before"], "after": result["after"]}
    return result


# ---------------------------------------------------------------------------------------------
# The module: its own options (the connection options are added) and its logic


ARGUMENT_SPEC: dict = {
    "hostname": {"type": "str"},
    "timezone": {"type": "str"},
    "timezone_posix": {"type": "str"},
    "ntp_servers": {"type": "list", "elements": "str"},
    "led": {"type": "str", "choices": list(LED_STATES)},
    "led_pattern": {
        "type": "list", "elements": "dict",
        "options": {
            "color": {"type": "str", "choices": list(LED_COLORS), "required": True},
            "period": {"type": "int", "required": True},
            "duration": {"type": "int", "required": True},
            "start": {"type": "int", "default": 0},
        },
    },
    "fast_boot": {"type": "bool"},
    "web_pools": {"type": "bool"},
    "temperature_offset": {"type": "int"},
    "fan_poweroff_cool": {"type": "bool"},
    "fan_zero_speed": {"type": "bool"},
    "upfreq_speed": {"type": "int"},
    "update_unverifiable": {"type": "str", "choices": list(UPDATE_UNVERIFIABLE), "default": "never"},
    "wait_timeout": {"type": "float", "default": 600.0},
}


def logic(client: Session, params: dict, check_mode: bool, diff: bool) -> dict:
    """Bring the given device settings to the wanted values (or predict it in check mode)."""
    return manage_settings(client, params, check_mode, diff)
