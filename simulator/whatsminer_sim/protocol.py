"""What the simulated firmware answers to one request (no sockets here).

``RequestHandler.process`` takes the decoded request object and returns an
:class:`Outcome`: the reply (or None to close without one), the AES key if the reply is
encrypted, and the fault plan. It runs on the event-loop thread with the miner's lock held
and applies every state change itself; timed effects (btminer restart, reboot, delayed pool
apply) go through the miner.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .auth import Base64Error, DecryptError, TokenLimitError, aes_key, decrypt_request, encrypt_text, password_key
from . import firmware
from .faults import FaultPlan, plan_faults
from .profiles import CGMINER_COMMANDS, DAEMON_READ_COMMANDS, WRITE_COMMANDS
from .replies import BTMINER_DOWN_TEXT, Reply, cgminer_section, daemon_error, daemon_read, daemon_reply, joined_reply
from .state import FACTORY_PASSWORD, PoolSlot, factory_defaults

if TYPE_CHECKING:
    from .miner import SimMiner

MAX_REQUEST_BYTES = 65536
COMMAND_KEYS = ("cmd", "command")
OK_MESSAGE = "API command OK"
HOSTNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
PASSWORD_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,8}$")
#: Codes that are answered in plaintext even to an encrypted request.
PLAINTEXT_ERROR_CODES = frozenset({23, 136, 137})


class InvalidRequest:
    """Marker for bytes that can never become a JSON object."""


INVALID_REQUEST = InvalidRequest()


def parse_request(buffer: bytes) -> dict[str, Any] | InvalidRequest | None:
    """Decode the request accumulated so far.

    Returns the JSON object once a complete one has arrived, None while more bytes are
    needed, or INVALID_REQUEST when the bytes cannot become a JSON object. Requests have no
    terminator: completeness is judged by balanced braces outside strings.
    """
    text = buffer.decode("utf-8", errors="replace").lstrip()
    if not text:
        return None
    if not text.startswith("{"):
        return INVALID_REQUEST
    end = _object_end(text)
    if end is None:
        return INVALID_REQUEST if len(buffer) > MAX_REQUEST_BYTES else None
    try:
        value = json.loads(text[:end])
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's stack allows
        return INVALID_REQUEST
    return value if isinstance(value, dict) else INVALID_REQUEST


def _object_end(text: str) -> int | None:
    """Index just past the top-level object that starts ``text``, or None if unfinished."""
    depth = 0
    in_string = False
    escaped = False
    for position, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return position + 1
    return None


class CommandError(Exception):
    """A command is refused with ``code`` (and an optional more helpful Msg)."""

    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message or str(code))
        self.code = code
        self.message = message


@dataclass
class Outcome:
    """What to send back for one request."""

    reply: Reply | None
    aeskey: bytes | None = None
    plan: FaultPlan = field(default_factory=FaultPlan)
    close_mode: str = "close"
    #: The reply is ``ready`` for a firmware image that follows on the same connection (``firmware.py``).
    upload: bool = False

    def wire_payload(self) -> dict[str, Any] | str | None:
        """The payload as it goes on the wire (encrypted replies wrapped in ``{"enc": ...}``)."""
        if self.reply is None:
            return None
        if self.aeskey is None:
            return self.reply.payload
        inner = json.dumps(self.reply.payload, separators=(",", ":"), ensure_ascii=False)
        return {"enc": encrypt_text(self.aeskey, inner)}


@dataclass
class WriteResult:
    """Result of a write command: Msg of the 131 reply, or no reply at all."""

    msg: Any = OK_MESSAGE
    reply: bool = True
    upload: bool = False


def _text_param(params: Mapping[str, Any], name: str, default: str | None = None) -> str:
    """A string parameter; ints are accepted as their decimal text, null is refused (code 14)."""
    value = params.get(name, default)
    if value is None or isinstance(value, bool) or not isinstance(value, (str, int)):
        raise CommandError(14)
    return str(value)


def _int_param(params: Mapping[str, Any], name: str, low: int, high: int) -> int:
    """An integer parameter given as int or decimal string, within ``low..high`` (else 132)."""
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise CommandError(14)
    try:
        number = int(str(value).strip())
    except ValueError as error:
        raise CommandError(14) from error
    if not low <= number <= high:
        raise CommandError(132, f"{name} must be within {low}..{high}, got {number}")
    return number


def _choice_param(params: Mapping[str, Any], name: str, choices: tuple[str, ...], default: str | None = None) -> str:
    """A string parameter restricted to ``choices`` (code 14 otherwise)."""
    value = params.get(name, default)
    if not isinstance(value, str) or value not in choices:
        raise CommandError(14)
    return value


class RequestHandler:
    """The firmware logic of one miner."""

    def __init__(self, miner: SimMiner) -> None:
        self.miner = miner
        self._writes: dict[str, Callable[[Mapping[str, Any]], WriteResult]] = {
            "update_pools": self._update_pools,
            "restart_btminer": self._restart_btminer,
            "power_off": self._power_off,
            "power_on": self._power_on,
            "set_low_power": lambda params: self._set_power_mode("low"),
            "set_normal_power": lambda params: self._set_power_mode("normal"),
            "set_high_power": lambda params: self._set_power_mode("high"),
            "adjust_power_limit": self._adjust_power_limit,
            "reboot": self._reboot,
            "factory_reset": self._factory_reset,
            "net_config": self._net_config,
            "update_pwd": self._update_pwd,
            "set_led": self._set_led,
            "enable_btminer_fast_boot": lambda params: self._set_flags(fast_boot=True),
            "disable_btminer_fast_boot": lambda params: self._set_flags(fast_boot=False),
            "enable_web_pools": lambda params: self._set_flags(web_pools=True),
            "disable_web_pools": lambda params: self._set_flags(web_pools=False),
            "set_hostname": self._set_hostname,
            "set_zone": self._set_zone,
            "load_log": self._load_log,
            "set_target_freq": self._set_target_freq,
            "set_power_pct": self._set_power_pct,
            "set_power_pct_v2": self._set_power_pct,
            "pre_power_on": self._pre_power_on,
            "set_temp_offset": lambda params: self._set_flags(temp_offset=_int_param(params, "temp_offset", -30, 0)),
            "adjust_upfreq_speed": lambda params: self._set_flags(upfreq_speed=_int_param(params, "upfreq_speed", 0, 9)),
            "set_poweroff_cool": lambda params: self._set_flags(poweroff_cool=bool(_int_param(params, "poweroff_cool", 0, 1))),
            "set_fan_zero_speed": lambda params: self._set_flags(fan_zero_speed=bool(_int_param(params, "fan_zero_speed", 0, 1))),
            "update_firmware": self._update_firmware,
        }
        if set(self._writes) != WRITE_COMMANDS:
            raise RuntimeError("write command table and WRITE_COMMANDS disagree")

    # --- helpers --------------------------------------------------------------------

    @property
    def _description(self) -> str:
        return self.miner.profile_spec.daemon_description

    def _error(self, code: int, message: str | None = None) -> Reply:
        return Reply(daemon_error(code, int(time.time()), self._description, message))

    # --- entry point ----------------------------------------------------------------

    def process(self, request: dict[str, Any] | InvalidRequest, peer_ip: str) -> Outcome:
        """Answer one request from ``peer_ip`` and record it in the miner's command log."""
        self.miner.counters.requests += 1
        label, outcome, encrypted = self._dispatch(request, peer_ip)
        code = outcome.reply.code if outcome.reply is not None else None
        self.miner.record(peer_ip, label, code, encrypted=encrypted, replied=outcome.reply is not None)
        return outcome

    def _dispatch(self, request: dict[str, Any] | InvalidRequest, peer_ip: str) -> tuple[str, Outcome, bool]:
        """Return (command label for the log, outcome, whether the request was encrypted)."""
        faults, rng = self.miner.live_config.faults, self.miner.rng
        if isinstance(request, InvalidRequest):
            return "(invalid json)", Outcome(self._error(23), plan=plan_faults(faults, [], rng, allow_code=False)), False
        if "enc" in request:
            label, outcome = self._process_encrypted(request, peer_ip)
            return label, outcome, True
        name = next((request[key] for key in COMMAND_KEYS if key in request), None)
        if not isinstance(name, str) or not name:
            return "(no command)", Outcome(self._error(14), plan=plan_faults(faults, [], rng, allow_code=False)), False
        parts = name.split("+")
        plan = plan_faults(faults, parts, rng)
        if plan.forced is not None:
            return name, Outcome(self._error(plan.forced.code, plan.forced.message), plan=plan), False
        outcome = self._plaintext(name, parts, peer_ip)
        outcome.plan = plan
        return name, outcome, False

    def _plaintext(self, name: str, parts: list[str], peer_ip: str) -> Outcome:
        """Answer a read (or a write sent without encryption). Read parameters are ignored.

        Commands the firmware profile does not have (``FirmwareProfile.unsupported_commands``)
        are unknown commands: code 14, and a join that contains one is rejected.
        """
        supports = self.miner.profile_spec.supports
        if len(parts) > 1:
            if not all(part in CGMINER_COMMANDS and supports(part) for part in parts):
                return Outcome(self._error(self.miner.live_config.join_error_code))
            return self._cgminer_read(parts)
        if name in CGMINER_COMMANDS and supports(name):
            return self._cgminer_read([name])
        if name == "get_token":
            return Outcome(self._get_token(peer_ip))
        if name in DAEMON_READ_COMMANDS and supports(name):
            return Outcome(daemon_read(name, self.miner.reply_context()))
        if name in WRITE_COMMANDS and supports(name):
            return Outcome(self._error(self.miner.live_config.write_locked_code, "can't access write cmd"))
        return Outcome(self._error(14))

    def _cgminer_read(self, commands: list[str]) -> Outcome:
        """A btminer-backed read (single or joined), or the restart-window answer."""
        if not self.miner.btminer_running():
            mode = self.miner.live_config.btminer_down_reply
            if mode == "reset":
                return Outcome(None, close_mode="reset")
            if mode == "close":
                return Outcome(None)
            return Outcome(Reply(BTMINER_DOWN_TEXT))
        ctx = self.miner.reply_context()
        if len(commands) == 1:
            return Outcome(Reply(cgminer_section(commands[0], ctx)))
        return Outcome(Reply(joined_reply(commands, ctx)))

    def _get_token(self, peer_ip: str) -> Reply:
        """Issue a token (Code 134) or refuse with 136."""
        config = self.miner.live_config
        try:
            grant = self.miner.tokens.issue(
                self.miner.live_state.admin_password, peer_ip, expiry_s=config.token_expiry_s,
                per_ip=config.tokens_per_ip, max_ips=config.max_token_ips,
            )
        except TokenLimitError:
            return self._error(136)
        self.miner.counters.tokens_issued += 1
        msg = {"time": grant.time_text, "salt": grant.salt, "newsalt": grant.newsalt}
        return Reply(daemon_reply(134, msg, int(time.time()), self._description))

    # --- encrypted requests ---------------------------------------------------------

    def _process_encrypted(self, request: Mapping[str, Any], peer_ip: str) -> tuple[str, Outcome]:
        """Decrypt, check the token, run the command, encrypt the reply."""
        self.miner.counters.privileged_requests += 1
        state, config, rng = self.miner.live_state, self.miner.live_config, self.miner.rng
        aeskey = aes_key(password_key(state.admin_password))
        early: Reply | None = None
        command: dict[str, Any] = {}
        if not state.write_api_enabled:
            early = self._error(config.write_locked_code, "can't access write cmd")
        else:
            try:
                command = decrypt_request(aeskey, request.get("data"))
            except Base64Error:
                early = self._error(137)
            except DecryptError:
                early = self._error(23)
        if early is not None:
            return "(encrypted)", Outcome(early, plan=plan_faults(config.faults, [], rng, allow_code=False))
        name = next((command[key] for key in COMMAND_KEYS if key in command), None)
        label = name if isinstance(name, str) and name else "(no command)"
        if not self.miner.tokens.check(command.get("token")):
            plan = plan_faults(config.faults, [label], rng, allow_code=False)
            return label, Outcome(self._error(135), aeskey=aeskey if config.encrypt_token_errors else None, plan=plan)
        plan = plan_faults(config.faults, [label], rng)
        if plan.forced is not None:
            code = plan.forced.code
            plaintext = code in PLAINTEXT_ERROR_CODES or code == config.write_locked_code or (code == 135 and not config.encrypt_token_errors)
            return label, Outcome(self._error(code, plan.forced.message), aeskey=None if plaintext else aeskey, plan=plan)
        params = {key: value for key, value in command.items() if key not in COMMAND_KEYS and key != "token"}
        outcome = self._run_encrypted(label, params, peer_ip)
        outcome.plan = plan
        if outcome.reply is not None and not isinstance(outcome.reply.payload, str):
            outcome.aeskey = aeskey
        return label, outcome

    def _run_encrypted(self, name: str, params: Mapping[str, Any], peer_ip: str) -> Outcome:
        """Run a decrypted command (writes, and reads sent encrypted)."""
        supported = self.miner.profile_spec.supports(name)
        if name in WRITE_COMMANDS and supported:
            when = int(time.time())
            try:
                result = self._writes[name](params)
            except CommandError as error:
                return Outcome(self._error(error.code, error.message))
            except ValueError as error:  # a value the state refuses
                return Outcome(self._error(132, str(error)))
            if not result.reply:
                return Outcome(None)
            return Outcome(Reply(daemon_reply(131, result.msg, when, self._description)), upload=result.upload)
        if name in CGMINER_COMMANDS or "+" in name or (name in DAEMON_READ_COMMANDS and supported):
            return self._plaintext(name, name.split("+"), peer_ip)
        return Outcome(self._error(14))

    # --- write commands -------------------------------------------------------------

    def _update_firmware(self, params: Mapping[str, Any]) -> WriteResult:
        try:
            firmware.begin_upload(self.miner)
        except firmware.UploadRefused as error:
            raise CommandError(132, str(error)) from error
        return WriteResult(msg=firmware.READY, upload=True)

    def _set_flags(self, **changes: Any) -> WriteResult:
        """Store simple settings that take effect without side effects."""
        self.miner.live_state.apply(changes)
        return WriteResult()

    def _update_pools(self, params: Mapping[str, Any]) -> WriteResult:
        slots = []
        for number in (1, 2, 3):
            url = _text_param(params, f"pool{number}", "")
            user = _text_param(params, f"worker{number}", "")
            password = _text_param(params, f"passwd{number}", "")
            slots.append(PoolSlot(url=url, user=user, password=password) if url else PoolSlot())
        self.miner.apply_pools(slots)
        return WriteResult()

    def _restart_btminer(self, params: Mapping[str, Any]) -> WriteResult:
        del params
        self.miner.begin_btminer_restart()
        return WriteResult()

    def _power_off(self, params: Mapping[str, Any]) -> WriteResult:
        respond_first = _choice_param(params, "respbefore", ("true", "false"), default="true") == "true"
        self.miner.live_state.apply({
            "mining": False, "mineroff_reason": "by whatsminer api",
            "mineroff_time": time.strftime("%Y-%m-%d %H:%M:%S"),
        })
        return WriteResult(reply=respond_first)

    def _power_on(self, params: Mapping[str, Any]) -> WriteResult:
        del params
        self.miner.live_state.apply({"mining": True, "mineroff_reason": "", "mineroff_time": ""})
        return WriteResult()

    def _set_power_mode(self, mode: str) -> WriteResult:
        """set_low/normal/high_power: apply, restart btminer (unless ``power_mode_restart`` is off), never reply."""
        self.miner.apply_power_mode(mode)
        return WriteResult(reply=False)

    def _adjust_power_limit(self, params: Mapping[str, Any]) -> WriteResult:
        limit = _int_param(params, "power_limit", 0, 99999)
        model = self.miner.model_spec
        if limit > model.max_power_limit_w and limit != 99999:
            raise CommandError(132, f"power_limit {limit} W is above the maximum {model.max_power_limit_w} W of {model.name} (99999 removes the limit)")
        if limit < model.min_power_limit_w:
            raise CommandError(132, f"power_limit {limit} W is below the minimum {model.min_power_limit_w} W of {model.name}")
        self.miner.apply_power_limit(None if limit == 99999 else limit)
        return WriteResult()

    def _reboot(self, params: Mapping[str, Any]) -> WriteResult:
        del params
        self.miner.begin_reboot()
        return WriteResult()

    def _factory_reset(self, params: Mapping[str, Any]) -> WriteResult:
        del params
        state = self.miner.live_state
        state.apply(factory_defaults(state))
        self.miner.tokens.clear()
        self.miner.begin_reboot()
        return WriteResult()

    def _net_config(self, params: Mapping[str, Any]) -> WriteResult:
        if params.get("param") == "dhcp":
            self.miner.live_state.apply({"proto": "dhcp"})
        else:
            changes = {
                "proto": "static", "ip": _text_param(params, "ip"), "netmask": _text_param(params, "mask"),
                "gateway": _text_param(params, "gate"), "dns": _text_param(params, "dns"),
            }
            if "host" in params:
                changes["pending_hostname"] = _text_param(params, "host")
            self.miner.live_state.apply(changes)
        self.miner.begin_reboot()
        return WriteResult()

    def _update_pwd(self, params: Mapping[str, Any]) -> WriteResult:
        old = _text_param(params, "old")
        new = _text_param(params, "new")
        state = self.miner.live_state
        if old != state.admin_password:
            raise CommandError(132, "old password does not match")
        if state.admin_password == FACTORY_PASSWORD and self.miner.live_config.factory_password_change == "refuse":
            raise CommandError(self.miner.live_config.write_locked_code, "can't access write cmd")
        if not PASSWORD_PATTERN.match(new):
            raise CommandError(132, "new password must be 1-8 letters, digits or underscores")
        state.apply({"admin_password": new})
        self.miner.tokens.clear()
        return WriteResult()

    def _set_led(self, params: Mapping[str, Any]) -> WriteResult:
        if params.get("param") == "auto":
            return self._set_flags(led="auto", led_settings={})
        settings = {
            "color": _choice_param(params, "color", ("red", "green")),
            "period": _int_param(params, "period", 0, 1_000_000),
            "duration": _int_param(params, "duration", 0, 1_000_000),
            "start": _int_param(params, "start", 0, 1_000_000),
        }
        return self._set_flags(led="manual", led_settings=settings)

    def _set_hostname(self, params: Mapping[str, Any]) -> WriteResult:
        hostname = _text_param(params, "hostname")
        if not HOSTNAME_PATTERN.match(hostname):
            raise CommandError(132, "hostname must be 1-63 letters, digits or dashes")
        if self.miner.live_config.hostname_apply == "immediate":
            return self._set_flags(hostname=hostname, pending_hostname=None)
        return self._set_flags(pending_hostname=hostname)

    def _set_zone(self, params: Mapping[str, Any]) -> WriteResult:
        return self._set_flags(timezone=_text_param(params, "timezone"), zonename=_text_param(params, "zonename"))

    def _load_log(self, params: Mapping[str, Any]) -> WriteResult:
        target = {"ip": _text_param(params, "ip"), "port": _text_param(params, "port"), "proto": _choice_param(params, "proto", ("tcp", "udp"))}
        return self._set_flags(log_target=target)

    def _set_target_freq(self, params: Mapping[str, Any]) -> WriteResult:
        self.miner.live_state.apply({"target_freq_pct": _int_param(params, "percent", -100, 100)})
        self.miner.begin_btminer_restart()
        return WriteResult()

    def _set_power_pct(self, params: Mapping[str, Any]) -> WriteResult:
        percent = _int_param(params, "percent", 0, 100)
        return self._set_flags(power_pct=None if percent == 100 else percent)

    def _pre_power_on(self, params: Mapping[str, Any]) -> WriteResult:
        _choice_param(params, "complete", ("true", "false"), default="false")
        return WriteResult(msg={"complete": "true", "msg": "adjust complete"})
