"""API 3 of firmware after 2024-11 (reference section 7): framing, auth, commands, connections.

Transport (section 7.1): every message, both ways, is a 4-byte little-endian length followed by
that many bytes of UTF-8 JSON. A zero length is a heartbeat (ignored). A connection may carry
several requests; it is closed after ``MinerConfig.idle_timeout_s`` without a complete frame
(real firmware: 300 s), after a frame larger than ``MAX_FRAME_BYTES``, and when more than
``MAX_CLIENTS`` connections are open (the vendor's limit of 10 clients).

Replies are ``{"code", "when", "msg", "desc"}``; codes (section 7.1):
``0`` ok, ``-1`` failed (invalid JSON, wrong token/password), ``-2`` invalid command or
parameter, ``-3`` parameter missing, ``-4`` no permission (the API switch is off, the account has no write
permission, or, with ``MinerConfig.factory_password_gate``, the account still has its factory
password: every write but ``set.user.change_passwd`` is refused then).

Auth (section 7.2): ``get.*`` need none. ``set.*`` carry ``ts`` (unix seconds), ``account``
(``super``, ``user1``..``user3``) and ``token`` = ``base64(sha256(cmd + password + salt +
str(ts)))[:8]`` with the salt of ``get.device.info``. ``set.miner.pools`` and
``set.user.change_passwd`` have their ``param`` encrypted: base64(AES-256-ECB(key = that raw SHA-256 digest, JSON text)), PKCS#7 or zero padded.
Object parameters may come as JSON objects or as JSON-encoded strings. ``ts`` is not checked
for freshness (no source says whether firmware does).

Passwords: ``set.user.change_passwd`` (param ``{"account", "old", "new"}``, encrypted) takes
effect at once; the next write must be signed with the new password. The salt stays the same (no
source says whether firmware changes it). An account may change its own password, ``super`` any
account's; ``old`` must be the account's current password (-1 otherwise); ``new`` must be 1-64
printable ASCII characters without spaces (no source gives API 3's rule). A factory password may
be changed unless ``MinerConfig.factory_password_change`` is ``refuse`` (-4).

``RequestHandler.process`` runs with the miner's lock held and applies state changes; the timed
effects (btminer restart, reboot) go through the miner like API 2's.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import re
import struct
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from Crypto.Cipher import AES

from . import firmware
from .auth import strip_padding
from .faults import FaultPlan, garbage_bytes, plan_faults, send_with_faults
from .state import V3_ACCOUNTS, PoolSlot, is_factory_v3_password
from .v3_replies import (
    DEVICE_INFO_SECTIONS,
    MINER_STATUS_SECTIONS,
    LOG_CHUNK_BYTES,
    device_info,
    envelope,
    fan_setting,
    log_archive,
    miner_history,
    miner_setting,
    miner_status,
    system_setting,
)

if TYPE_CHECKING:
    from .miner import SimMiner

CODE_OK = 0
CODE_FAILED = -1
CODE_INVALID = -2
CODE_PARAM_MISSING = -3
CODE_NO_PERMISSION = -4
OK_MESSAGE = "ok"
#: Messages of the error codes (matroskin's and Tether's wording where they have one).
MESSAGES = {
    "json": "invalid json",
    "command": "invalid command",
    "param": "invalid param",
    "missing": "param item is null",
    "token": "invalid token",
    "permission": "no permission",
    "btminer": "btminer is not running",
    "frame": "frame too large",
}

LENGTH_PREFIX = struct.Struct("<I")
#: Largest request frame accepted (the vendor's 8192-byte buffer is "non-normative").
MAX_FRAME_BYTES = 65536
#: Connections served at once; more are closed at once (the vendor documents 10 clients).
MAX_CLIENTS = 10

READ_COMMANDS = frozenset({
    "get.device.info", "get.miner.status", "get.miner.setting", "get.system.setting", "get.fan.setting",
    "get.miner.history", "get.log.download",
})
WRITE_COMMANDS = frozenset({
    "set.miner.pools", "set.miner.power_limit", "set.miner.power_mode", "set.miner.service",
    "set.system.reboot", "set.system.led", "set.system.hostname", "set.miner.fastboot", "set.system.webpools",
    "set.user.change_passwd", "set.system.update_firmware", "set.system.timezone", "set.system.ntp_server", "set.fan.temp_offset",
    "set.fan.poweroff_cool", "set.fan.zero_speed", "set.miner.upfreq_speed",
    "set.miner.power_percent",
})
#: Write commands whose ``param`` is AES encrypted (section 7.2).
ENCRYPTED_PARAM_COMMANDS = frozenset({"set.miner.pools", "set.user.change_passwd"})
#: The command that changes a password: exempt from the factory-password gate.
CHANGE_PASSWORD = "set.user.change_passwd"
V3_PASSWORD_PATTERN = re.compile(r"^[!-~]{1,64}$")
HOSTNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
POWER_LIMIT_RANGE = (0, 99999)
#: ``set.miner.power_limit`` value that removes the limit (as ``adjust_power_limit`` on API 2).
NO_POWER_LIMIT = 99999
#: ``set.miner.service`` actions; ``enable``/``disable`` decide whether btminer starts at boot (an inference).
SERVICE_ACTIONS = ("start", "stop", "restart", "enable", "disable")
#: Ranges of the numeric settings (reference whatsminer-api-settings.md sections 2.6 and 2.8).
TEMP_OFFSET_RANGE = (-30, 0)
UPFREQ_SPEED_RANGE = (0, 10)
#: A time zone (POSIX TZ string such as ``CET-1CEST,M3.5.0,M10.5.0/3``, zone name): printable ASCII without spaces.
TIMEZONE_PATTERN = re.compile(r"^[!-~]{1,64}$")
#: One NTP server: printable ASCII without spaces or commas (the write joins the list with commas).
NTP_SERVER_PATTERN = re.compile(r"^[!-+\--~]{1,64}$")
MAX_NTP_SERVERS = 8


# --- derivations (section 7.2) -------------------------------------------------------------

def token_digest(command: str, password: str, salt: str, ts: int | str) -> bytes:
    """The raw SHA-256 of ``command + password + salt + str(ts)``: the token's source and the AES key."""
    return hashlib.sha256(f"{command}{password}{salt}{ts}".encode("utf-8")).digest()


def token_text(digest: bytes) -> str:
    """The 8-character token: the first 8 characters of the digest's base64."""
    return base64.b64encode(digest).decode("ascii")[:8]


def decrypt_param(key: bytes, text: Any) -> Any:
    """Decode an encrypted ``param``; raise ValueError when it is not base64 AES of JSON."""
    if not isinstance(text, str):
        raise ValueError("the param must be an encrypted (base64) string")
    try:
        cipher_bytes = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("the param is not base64") from error
    if not cipher_bytes or len(cipher_bytes) % AES.block_size:
        raise ValueError("the param is not a whole number of AES blocks")
    plain = strip_padding(AES.new(key, AES.MODE_ECB).decrypt(cipher_bytes))
    try:
        return json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError("the decrypted param is not JSON (wrong key?)") from error


def decode_object_param(value: Any) -> Any:
    """An object/array parameter given as JSON or as a JSON-encoded string; other values unchanged."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# --- framing -------------------------------------------------------------------------------

def encode_frame(payload: Mapping[str, Any]) -> bytes:
    """A reply as it goes on the wire: length prefix + compact UTF-8 JSON."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return LENGTH_PREFIX.pack(len(body)) + body


class CommandError(Exception):
    """A request refused with an API 3 ``code`` and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Outcome:
    """What to send back for one frame: a reply (or none), the fault plan, and whether to close after it."""

    reply: dict[str, Any] | None
    plan: FaultPlan = field(default_factory=FaultPlan)
    close_after: bool = False
    reset: bool = False
    #: Seeded random bytes to send instead of the reply (a ``garbage`` fault).
    garbage: bytes | None = None
    #: The reply is ``ready`` for a firmware image that follows on the same connection (``firmware.py``).
    upload: bool = False
    #: Bytes sent right after the reply frame (``get.log.download``'s archive, in frames).
    trailer: bytes = b""


def _invalid(detail: str = "") -> CommandError:
    """A -2 "invalid param" error, with a helpful detail."""
    return CommandError(CODE_INVALID, f"{MESSAGES['param']}: {detail}" if detail else MESSAGES["param"])


def _int_value(value: Any, low: int, high: int, what: str) -> int:
    """An integer given as int or decimal string, within ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _invalid(f"{what} must be a number")
    try:
        number = int(str(value).strip())
    except ValueError as error:
        raise _invalid(f"{what} must be a number") from error
    if not low <= number <= high:
        raise _invalid(f"{what} must be within {low}..{high}, got {number}")
    return number


def _choice(value: Any, choices: tuple[str, ...], what: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _invalid(f"{what} must be one of {', '.join(choices)}")
    return value


class RequestHandler:
    """The API 3 firmware logic of one miner (state shared with the API 2 handler)."""

    def __init__(self, miner: SimMiner) -> None:
        self.miner = miner
        #: The account that signed the write being run.
        self._signer = ""
        self._writes: dict[str, Callable[[Any, bytes], bool]] = {
            "set.miner.pools": self._set_pools,
            "set.miner.power_limit": self._set_power_limit,
            "set.miner.power_mode": self._set_power_mode,
            "set.miner.service": self._set_service,
            "set.system.reboot": self._reboot,
            "set.system.led": self._set_led,
            "set.system.hostname": self._set_hostname,
            "set.miner.fastboot": lambda param, key: self._switch(param, "fast_boot"),
            "set.system.webpools": lambda param, key: self._switch(param, "web_pools"),
            CHANGE_PASSWORD: lambda param, key: self._change_password(param),
            firmware.API3_COMMAND: lambda param, key: self._update_firmware(),
            "set.system.timezone": lambda param, key: self._set_timezone(param),
            "set.system.ntp_server": lambda param, key: self._set_ntp_servers(param),
            "set.fan.temp_offset": lambda param, key: self._set_number(param, "temp_offset", TEMP_OFFSET_RANGE, "temperature offset"),
            "set.fan.poweroff_cool": lambda param, key: self._set_flag(param, "poweroff_cool"),
            "set.fan.zero_speed": lambda param, key: self._set_flag(param, "fan_zero_speed"),
            "set.miner.upfreq_speed": lambda param, key: self._set_number(param, "upfreq_speed", UPFREQ_SPEED_RANGE, "upfreq speed"),
            "set.miner.power_percent": self._set_power_percent,
        }
        if set(self._writes) != WRITE_COMMANDS:
            raise RuntimeError("API 3 write table and WRITE_COMMANDS disagree")

    # --- entry point ----------------------------------------------------------------

    def process(self, request: Any, peer_ip: str) -> Outcome:
        """Answer one decoded frame (``None`` = not JSON) and record it in the command log."""
        miner = self.miner
        miner.counters.v3_requests += 1
        command = request.get("cmd") if isinstance(request, dict) else None
        label = command if isinstance(command, str) and command else "(no command)"
        if request is None:
            label = "(invalid json)"
        plan = plan_faults(miner.live_config.faults, [label], miner.rng, allow_code=False)
        encrypted = label in ENCRYPTED_PARAM_COMMANDS
        try:
            if request is None:
                raise CommandError(CODE_FAILED, MESSAGES["json"])
            outcome = self._dispatch(label, request)
        except CommandError as error:
            outcome = Outcome(envelope(error.code, error.message, int(time.time()), label if command else ""))
        outcome.plan = plan
        if plan.garbage:
            outcome.garbage = garbage_bytes(miner.rng)
        code = outcome.reply["code"] if outcome.reply is not None else None
        miner.record(peer_ip, label, code, encrypted=encrypted, replied=outcome.reply is not None, api=3)
        return outcome

    def _dispatch(self, command: str, request: dict[str, Any]) -> Outcome:
        if command in READ_COMMANDS:
            return self._read(command, request.get("param"))
        if command in WRITE_COMMANDS:
            return self._write(command, request)
        raise CommandError(CODE_INVALID, MESSAGES["command"])

    def _ok(self, command: str, msg: Any = OK_MESSAGE, **options: Any) -> Outcome:
        return Outcome(envelope(CODE_OK, msg, int(time.time()), command), **options)

    # --- reads ----------------------------------------------------------------------

    def _read(self, command: str, param: Any) -> Outcome:
        ctx = self.miner.reply_context()
        if command == "get.device.info":
            if param == "salt":
                self.miner.counters.v3_salt_reads += 1
            if param in (None, ""):
                return self._ok(command, device_info(ctx))
            if param not in DEVICE_INFO_SECTIONS:
                raise _invalid(f"param must be one of {', '.join(DEVICE_INFO_SECTIONS)}")
            return self._ok(command, device_info(ctx, param))
        if command == "get.miner.status":
            if param in (None, ""):
                raise CommandError(CODE_PARAM_MISSING, MESSAGES["missing"])
            sections = str(param).split("+")
            if not all(section in MINER_STATUS_SECTIONS for section in sections):
                raise _invalid(f"param must be {' | '.join(MINER_STATUS_SECTIONS)}, joined with '+'")
            if not self.miner.btminer_running():
                return self._btminer_down(command)
            return self._ok(command, miner_status(ctx, list(dict.fromkeys(sections))))
        if command == "get.miner.setting":
            return self._ok(command, miner_setting(ctx))
        if command == "get.fan.setting":
            return self._ok(command, fan_setting(ctx))
        if command == "get.miner.history":
            start, stop = _history_span(decode_object_param(param), ctx.when)
            return self._ok(command, miner_history(ctx, start, stop))
        if command == "get.log.download":
            archive = log_archive(ctx)
            frames = b"".join(
                LENGTH_PREFIX.pack(len(archive[offset:offset + LOG_CHUNK_BYTES])) + archive[offset:offset + LOG_CHUNK_BYTES]
                for offset in range(0, len(archive), LOG_CHUNK_BYTES)
            )
            return self._ok(command, {"logsize": len(archive)}, trailer=frames)
        return self._ok(command, system_setting(ctx))

    def _btminer_down(self, command: str) -> Outcome:
        """``get.miner.status`` while btminer restarts: as configured for API 2's btminer-backed reads."""
        mode = self.miner.live_config.btminer_down_reply
        if mode == "reset":
            return Outcome(None, close_after=True, reset=True)
        if mode == "close":
            return Outcome(None, close_after=True)
        return Outcome(envelope(CODE_FAILED, MESSAGES["btminer"], int(time.time()), command))

    # --- writes ---------------------------------------------------------------------

    def _write(self, command: str, request: dict[str, Any]) -> Outcome:
        """Check token and permission, then run the write."""
        state = self.miner.live_state
        self.miner.counters.v3_privileged_requests += 1
        account, token, ts = request.get("account"), request.get("token"), request.get("ts")
        if account not in V3_ACCOUNTS or not isinstance(token, str) or isinstance(ts, bool) or not isinstance(ts, (int, str)):
            raise CommandError(CODE_FAILED, MESSAGES["token"])
        key = token_digest(command, state.v3_passwords[account], state.v3_salt, ts)
        if token != token_text(key):
            raise CommandError(CODE_FAILED, MESSAGES["token"])
        if not state.write_api_enabled or state.v3_permissions.get(account, 0) == 0:
            raise CommandError(CODE_NO_PERMISSION, MESSAGES["permission"])
        factory = is_factory_v3_password(account, state.v3_passwords[account])
        if factory and command != CHANGE_PASSWORD and self.miner.live_config.factory_password_gate:
            raise CommandError(CODE_NO_PERMISSION, MESSAGES["permission"])
        self._signer = account
        param = request.get("param")
        if command in ENCRYPTED_PARAM_COMMANDS:
            if param in (None, ""):
                raise CommandError(CODE_PARAM_MISSING, MESSAGES["missing"])
            try:
                param = decrypt_param(key, param)
            except ValueError as error:
                raise _invalid(str(error)) from error
        else:
            param = decode_object_param(param)
        try:
            close_after = self._writes[command](param, key)
        except ValueError as error:  # a value the state refuses
            raise _invalid(str(error)) from error
        if command == firmware.API3_COMMAND:
            return self._ok(command, firmware.READY, upload=True)
        return self._ok(command, close_after=close_after)

    def _update_firmware(self) -> bool:
        try:
            firmware.begin_upload(self.miner)
        except firmware.UploadRefused as error:
            raise _invalid(str(error)) from error
        return False

    @staticmethod
    def _require(param: Any) -> Any:
        if param is None or param == "":
            raise CommandError(CODE_PARAM_MISSING, MESSAGES["missing"])
        return param

    def _set_pools(self, param: Any, key: bytes) -> bool:
        del key
        if not isinstance(param, list) or len(param) > 3 or not all(isinstance(item, dict) for item in param):
            raise _invalid("param must be a list of at most 3 {pool, worker, passwd} objects")
        slots = []
        for item in param:
            values = [item.get(name, "") for name in ("pool", "worker", "passwd")]
            if not all(isinstance(value, str) for value in values):
                raise _invalid("pool, worker and passwd must be strings")
            url, user, password = values
            slots.append(PoolSlot(url=url, user=user, password=password) if url else PoolSlot())
        self.miner.apply_pools(slots)
        return False

    def _set_power_limit(self, param: Any, key: bytes) -> bool:
        del key
        limit = _int_value(self._require(param), *POWER_LIMIT_RANGE, what="power limit")
        model = self.miner.model_spec
        if limit > model.max_power_limit_w and limit != NO_POWER_LIMIT:
            raise _invalid(f"power limit {limit} W is above the maximum {model.max_power_limit_w} W of {model.name} ({NO_POWER_LIMIT} removes the limit)")
        if limit < model.min_power_limit_w:
            raise _invalid(f"power limit {limit} W is below the minimum {model.min_power_limit_w} W of {model.name}")
        self.miner.apply_power_limit(None if limit == NO_POWER_LIMIT else limit)
        return False

    def _set_power_mode(self, param: Any, key: bytes) -> bool:
        del key
        mode = _choice(self._require(param), ("low", "normal", "high"), "power mode")
        self.miner.apply_power_mode(mode)
        return False

    def _set_service(self, param: Any, key: bytes) -> bool:
        del key
        action = _choice(self._require(param), SERVICE_ACTIONS, "service action")
        if action in ("enable", "disable"):
            self.miner.live_state.apply({"service_enabled": action == "enable"})
        elif action == "stop":
            self.miner.live_state.apply({
                "mining": False, "mineroff_reason": "by whatsminer api", "mineroff_time": time.strftime("%Y-%m-%d %H:%M:%S"),
            })
        elif action == "start":
            self.miner.live_state.apply({"mining": True, "mineroff_reason": "", "mineroff_time": ""})
        else:
            self.miner.begin_btminer_restart()
        return False

    def _set_power_percent(self, param: Any, key: bytes) -> bool:
        """``{"percent": 0..100 (number or string), "mode": "fast"|"normal"}``: fast at once, normal after the restart window."""
        del key
        param = self._require(param)
        if not isinstance(param, dict):
            raise _invalid("power percent needs an object with percent and mode")
        percent = _int_value(self._require(param.get("percent")), 0, 100, "power percent")
        mode = _choice(param.get("mode", "fast"), ("fast", "normal"), "power percent mode")
        changes = {"power_pct": None if percent in (0, 100) else percent}
        if mode == "fast" or self.miner.live_config.restart_seconds <= 0:
            self.miner.live_state.apply(changes)
        else:
            self.miner.call_later(self.miner.live_config.restart_seconds, lambda: self.miner.live_state.apply(changes))
        return False

    def _reboot(self, param: Any, key: bytes) -> bool:
        del param, key
        self.miner.begin_reboot()
        return True

    def _set_led(self, param: Any, key: bytes) -> bool:
        del key
        param = self._require(param)
        if param == "auto":
            self.miner.live_state.apply({"led": "auto", "led_settings": {}})
            return False
        entries = param if isinstance(param, list) else [param]
        if not entries or not all(isinstance(entry, dict) for entry in entries):
            raise _invalid('param must be "auto" or a list of {color, period, duration, start}')
        first = entries[0]
        settings = {
            "color": _choice(first.get("color"), ("red", "green"), "color"),
            "period": _int_value(first.get("period"), 0, 1_000_000, "period"),
            "duration": _int_value(first.get("duration"), 0, 1_000_000, "duration"),
            "start": _int_value(first.get("start"), 0, 1_000_000, "start"),
        }
        self.miner.live_state.apply({"led": "manual", "led_settings": settings})
        return False

    def _set_hostname(self, param: Any, key: bytes) -> bool:
        del key
        param = self._require(param)
        hostname = param.get("hostname") if isinstance(param, dict) else None
        if not isinstance(hostname, str) or not HOSTNAME_PATTERN.match(hostname):
            raise _invalid('param must be {"hostname": "<1-63 letters, digits or dashes>"}')
        if self.miner.live_config.hostname_apply == "immediate":
            self.miner.live_state.apply({"hostname": hostname, "pending_hostname": None})
        else:
            self.miner.live_state.apply({"pending_hostname": hostname})
        return False

    def _change_password(self, param: Any) -> bool:
        """``set.user.change_passwd``: ``{"account", "old", "new"}``, effective at once."""
        param = self._require(param)
        if not isinstance(param, dict):
            raise _invalid('param must be {"account": ..., "old": ..., "new": ...}')
        account, old, new = param.get("account", self._signer), param.get("old"), param.get("new")
        if account not in V3_ACCOUNTS:
            raise _invalid(f"account must be one of {', '.join(V3_ACCOUNTS)}")
        if account != self._signer and self._signer != "super":
            raise CommandError(CODE_NO_PERMISSION, MESSAGES["permission"])
        passwords = dict(self.miner.live_state.v3_passwords)
        if old != passwords[account]:
            raise CommandError(CODE_FAILED, "old password is wrong")
        if not isinstance(new, str) or not V3_PASSWORD_PATTERN.match(new):
            raise _invalid("new must be 1-64 printable ASCII characters without spaces")
        if is_factory_v3_password(account, old) and self.miner.live_config.factory_password_change == "refuse":
            raise CommandError(CODE_NO_PERMISSION, MESSAGES["permission"])
        passwords[account] = new
        self.miner.live_state.apply({"v3_passwords": passwords})
        return False

    def _set_timezone(self, param: Any) -> bool:
        """``set.system.timezone`` ``{"timezone": "CST-8", "zonename": "Asia/Shanghai"}``: stored at once (shown by ``get.system.setting``)."""
        param = self._require(param)
        values = [param.get(name) if isinstance(param, dict) else None for name in ("timezone", "zonename")]
        if not all(isinstance(value, str) and TIMEZONE_PATTERN.match(value) for value in values):
            raise _invalid('param must be {"timezone": "<POSIX TZ>", "zonename": "<zone name>"}')
        self.miner.live_state.apply({"timezone": values[0], "zonename": values[1]})
        return False

    def _set_ntp_servers(self, param: Any) -> bool:
        """``set.system.ntp_server``: one comma-separated string (the read side returns a list)."""
        param = self._require(param)
        servers = param.split(",") if isinstance(param, str) else None
        if not servers or len(servers) > MAX_NTP_SERVERS or not all(NTP_SERVER_PATTERN.match(server) for server in servers):
            raise _invalid(f'param must be "server1,server2,..." (1-{MAX_NTP_SERVERS} names without spaces)')
        self.miner.live_state.apply({"ntp_servers": servers})
        return False

    def _set_number(self, param: Any, state_field: str, bounds: tuple[int, int], what: str) -> bool:
        self.miner.live_state.apply({state_field: _int_value(self._require(param), *bounds, what=what)})
        return False

    def _set_flag(self, param: Any, state_field: str) -> bool:
        """A fan switch: 1 or 0, as number or string (the vendor text is cut off; the read side gives 1/0)."""
        self.miner.live_state.apply({state_field: _int_value(self._require(param), 0, 1, "param") == 1})
        return False

    def _switch(self, param: Any, state_field: str) -> bool:
        value = _choice(self._require(param), ("enable", "disable"), "param")
        self.miner.live_state.apply({state_field: value == "enable"})
        return False


def _history_span(param: Any, now: int) -> tuple[float, float]:
    """``get.miner.history``'s ``{"start", "stop"}`` (pyasic) or ``{"begin", "end"}`` (matroskin), unix seconds as numbers or strings.

    No param means the last 24 hours; a span longer than 24 hours is cut to its last 24 hours.
    """
    if param in (None, ""):
        return float(now - 86400), float(now)
    if not isinstance(param, dict):
        raise _invalid('param must be {"start": <unix seconds>, "stop": <unix seconds>}')
    first, last = (param.get("start", param.get("begin")), param.get("stop", param.get("end")))
    try:
        start, stop = float(first), float(last if last is not None else now)
    except (TypeError, ValueError) as error:
        raise _invalid("start and stop must be unix seconds") from error
    if stop < start:
        raise _invalid("stop must not be before start")
    return start, stop


# --- connections ---------------------------------------------------------------------------

async def serve_connection(miner: SimMiner, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer_ip: str) -> str:
    """Serve frames on one API 3 connection until the client leaves or the miner closes it.

    Returns how to close: ``"close"`` (FIN) or ``"reset"`` (RST).
    """
    while True:
        idle_timeout = miner.live_config.idle_timeout_s
        try:
            async with asyncio.timeout(idle_timeout):
                header = await reader.readexactly(LENGTH_PREFIX.size)
                (length,) = LENGTH_PREFIX.unpack(header)
                if length == 0:
                    continue  # heartbeat
                if length > MAX_FRAME_BYTES:
                    writer.write(encode_frame(envelope(CODE_FAILED, MESSAGES["frame"], int(time.time()), "")))
                    await writer.drain()
                    return "close"
                body = await reader.readexactly(length)
        except (TimeoutError, asyncio.IncompleteReadError):
            return "close"
        try:
            request = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            request = None
        outcome = miner.process_v3(request if isinstance(request, dict) or request is None else None, peer_ip)
        close_mode = await _deliver(writer, outcome)
        if close_mode is None and outcome.upload:
            return await firmware.serve_upload_v3(miner, reader, writer)
        if close_mode is not None:
            return close_mode


async def _deliver(writer: asyncio.StreamWriter, outcome: Outcome) -> str | None:
    """Send one reply with its faults; return a close mode when the connection must end."""
    if outcome.garbage is not None:
        data = outcome.garbage
    elif outcome.reply is None:
        data = b""
    else:
        data = encode_frame(outcome.reply) + outcome.trailer
    dropped = await send_with_faults(writer, data, outcome.plan)
    if dropped:
        return dropped
    if outcome.reset:
        return "reset"
    if outcome.close_after or outcome.garbage is not None:
        return "close"
    return None
