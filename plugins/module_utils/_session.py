# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The miner a module talks to, whichever API it speaks: one interface for the module logic.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

This is the adaptation layer between the protocol clients (``_protocol``) and the resource logic
(facts, pools, power, ...). The resource logic talks to a miner through the interface of the API 2
client (``_protocol.api2.WhatsminerClient``), described by ``Session`` (a ``typing.Protocol``):
``read(command)``, ``read_many(commands)`` and ``privileged(command, **params)`` with the API 2
command names, the replies shaped as API 2 replies, plus ``host``, ``port``, ``accept_truncated``,
``truncated_replies``, ``joinable_commands`` and ``time_limit(seconds)`` (a deadline for the
requests of a block). Two classes here let the same logic run on API 3 firmware:

* ``Api3Adapter`` presents a ``WhatsminerV3Client`` through that interface. A read of API 2
  commands becomes the fewest API 3 reads that carry the same information (one
  ``get.miner.status`` with every section needed, one ``get.device.info``, one
  ``get.miner.setting``), converted to API 2 replies by ``_miner_state_v3``; a write becomes its
  API 3 command with the parameter API 3 takes (``API3_WRITES``, the one table of them).
* ``MinerSession`` decides which API to use (the ``api_version`` option) on first contact, not
  before: a module that rejects its input sends nothing, not even the ``auto`` probe. The probe
  (``choose_api_version``, at the end of this file) is one ``get_version`` on the API 2 port,
  which every firmware generation answers (API 3 firmware with its reduced API 2); it decides from
  the firmware date and API version in that one reply and never connects to 4433 on an API 2
  miner, so no timeout is waited out there. Only when nothing listens on 4028 (connection refused)
  does it try API 3 directly. On API 2 miners its reply is handed to the client, so the facts
  module does not ask again.

What a module run costs on an API 3 miner (with ``api_version: auto``, the probe adds one
connection to port 4028; ``api_version: 3`` skips it):

========================  ====================================================================
whatsminer_facts          at most 3 connections: ``get.miner.status``, ``get.device.info``,
                          ``get.miner.setting`` (only those the subsets need)
whatsminer_pools          1 connection when nothing changes; a write adds the salt read, one
                          ``set.miner.pools`` and the read-back
whatsminer_power          3 connections per read of the state (status summary, device info,
                          settings); a write adds the salt read (once per run) and one ``set.*``
                          per setting
========================  ====================================================================

Reads never sign anything and never import the crypto libraries; a run that writes fetches the
salt once and signs every write with it (API 3 has no token to request per command).
"""

from __future__ import annotations

import re
from typing import Any, Callable, ContextManager, Iterable, NamedTuple, Protocol

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _miner_state_v3 as v3_state
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._miner_state import api_version_number, message, to_text
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import DEFAULT_PORT, WhatsminerClient
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api3 import (
    DEFAULT_ACCOUNT,
    DEFAULT_V3_PORT,
    SALT_COMMAND,
    STATUS_COMMAND,
    STATUS_SECTIONS,
    WhatsminerV3Client,
)
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    CommandRejectedError,
    MalformedReplyError,
    MinerConnectionError,
    MinerRestartingError,
    MinerTimeoutError,
    UnsupportedCommandError,
    WhatsminerError,
)
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.transport import DEFAULT_RETRIES, DEFAULT_RETRY_DELAY, DEFAULT_TIMEOUT

API_VERSION_CHOICES = ("auto", "2", "3")
DEFAULT_API_VERSION = "auto"
#: Firmware dated on or after this day speaks API 3 (pyasic switches to its API 3 class after 2024-11-00).
V3_FIRMWARE_SINCE = (2024, 11, 1)

DEVICE_INFO = SALT_COMMAND
MINER_SETTING = "get.miner.setting"
#: Sources of the API 3 replies: a ``get.miner.status`` section, the device info or the settings.
INFO = "info"
SETTING = "setting"

#: What each API 2 read is made of: the API 3 replies it needs (sections of ``get.miner.status``
#: by their name, all in one request; ``INFO`` = ``get.device.info``; ``SETTING`` =
#: ``get.miner.setting``) and the ``_miner_state_v3`` function that converts them
#: (``status``, ``info``, ``setting``: the replies, ``None`` for those not read).
Converter = Callable[[Any, Any, Any], Any]
READS: dict[str, tuple[tuple[str, ...], Converter]] = {
    "summary": (("summary",), lambda status, info, setting: v3_state.summary_reply(status, setting, info)),
    "pools": (("pools",), lambda status, info, setting: v3_state.pools_reply(status)),
    "devs": (("edevs", "summary", INFO), lambda status, info, setting: v3_state.devs_reply(status, info)),
    "devdetails": ((INFO,), lambda status, info, setting: v3_state.devdetails_reply(info)),
    "get_version": ((INFO,), lambda status, info, setting: v3_state.version_reply(info)),
    "get_miner_info": ((INFO,), lambda status, info, setting: v3_state.miner_info_reply(info)),
    "get_psu": ((INFO,), lambda status, info, setting: v3_state.psu_reply(info)),
    "status": ((INFO, SETTING), lambda status, info, setting: v3_state.status_reply(info, setting)),
    "get_error_code": ((INFO,), lambda status, info, setting: v3_state.error_code_reply(info)),
}


def _pools_param(params: dict[str, Any]) -> list[dict[str, str]]:
    """``set.miner.pools`` takes the configured pools only (``update_pools`` gives ``""`` for unused slots)."""
    pools = []
    for slot in range(1, 4):
        url = params.get(f"pool{slot}")
        if url:
            pools.append({"pool": url, "worker": params.get(f"worker{slot}", ""), "passwd": params.get(f"passwd{slot}", "")})
    return pools


class Api3Write(NamedTuple):
    """How ``Api3Adapter`` sends an API 2 write to an API 3 miner."""

    #: The API 3 command; errors of the write name it.
    command: str
    #: Its ``param``, from the API 2 parameters.
    param: Callable[[dict[str, Any]], Any]


#: The API 3 command of each API 2 write, and its parameter. The modules name their writes by the
#: API 2 names; on an API 3 miner the error names the API 3 command that failed.
API3_WRITES: dict[str, Api3Write] = {
    "update_pools": Api3Write("set.miner.pools", _pools_param),
    "power_on": Api3Write("set.miner.service", lambda params: "start"),
    "power_off": Api3Write("set.miner.service", lambda params: "stop"),
    "set_low_power": Api3Write("set.miner.power_mode", lambda params: "low"),
    "set_normal_power": Api3Write("set.miner.power_mode", lambda params: "normal"),
    "set_high_power": Api3Write("set.miner.power_mode", lambda params: "high"),
    "adjust_power_limit": Api3Write("set.miner.power_limit", lambda params: int(params["power_limit"])),
    "reboot": Api3Write("set.system.reboot", lambda params: None),
    "restart_btminer": Api3Write("set.miner.service", lambda params: "restart"),
    "set_power_pct": Api3Write("set.miner.power_percent", lambda params: {"percent": str(params["percent"]), "mode": "fast"}),
    "set_power_pct_v2": Api3Write("set.miner.power_percent", lambda params: {"percent": str(params["percent"]), "mode": "normal"}),
}
#: The API 3 command of each API 2 write (from ``API3_WRITES``).
API3_WRITE_COMMANDS = {name: write.command for name, write in API3_WRITES.items()}


def write_outcome_unknown(error: WhatsminerError, command: str) -> bool:
    """Whether ``error`` ended the write ``command`` (an API 2 name) after the miner may have run it.

    True when the request went out and its reply was lost (closed, reset, timed out) or could not
    be read (garbled, cut off): the miner may have applied the command, so only reading its state
    back tells. False for everything that shows the command did not run: the connection never
    opened, btminer was not there to run it (``Socket connect failed``), an error reply, or an
    error of another request (such as ``get_token`` before the write, or the salt read of API 3).
    On an API 3 miner the write is the API 3 command of ``API3_WRITE_COMMANDS``.
    """
    if error.command not in (command, API3_WRITE_COMMANDS.get(command)) or isinstance(error, MinerRestartingError):
        return False
    if isinstance(error, MinerConnectionError):
        return error.write and error.request_sent
    return isinstance(error, MalformedReplyError)


class Session(Protocol):
    """What the resource logic may use of the miner it is given: the interface ``MinerSession`` offers.

    The facts, pools, power, password, reboot, firmware and settings logic is written against this
    (``logic(session, params, check_mode, diff)``); the runner gives it a ``MinerSession``, tests
    may give anything with these members (a ``typing.Protocol``: nothing is checked at run time).
    """

    #: The miner's address.
    host: str
    #: 2 or 3 once the API is chosen (first contact), ``None`` before.
    api_version: int | None
    #: Whether a cut-off reply is used for what it holds (API 2 only) instead of raising.
    accept_truncated: bool

    @property
    def port(self) -> int:
        """The port of the chosen API."""

    @property
    def truncated_replies(self) -> list[str]:
        """Commands whose cut-off reply was accepted."""

    @property
    def joinable_commands(self) -> frozenset:
        """The reads ``read_many`` answers together."""

    def read(self, command: str, **params: Any) -> dict[str, Any]:
        """The reply of an API 2 read (API 2-shaped on API 3 too); raises the typed errors."""

    def read_many(self, commands: Iterable[str]) -> dict[str, dict[str, Any]]:
        """``{command: reply}`` of several API 2 reads, joined where the miner allows."""

    def privileged(self, command: str, *, expect_reply: bool = True, **params: Any) -> dict[str, Any] | None:
        """Send an API 2 write (its API 3 command on API 3, ``API3_WRITES``); ``None`` when no reply came and none was required."""

    def time_limit(self, seconds: float) -> ContextManager[None]:
        """A block whose requests all end within ``seconds``."""

    def protocol_client(self) -> WhatsminerClient | WhatsminerV3Client:
        """The protocol client of the chosen API, for logic that speaks each API in its own terms."""

    def with_password(self, password: str | None) -> Session:
        """The same miner with another password (a fresh token or salt, the API already chosen)."""


class Api3Adapter:
    """An API 3 miner through the interface of the API 2 client (see the module docstring).

    API 3 replies come in length-prefixed frames that are whole or rejected, so
    ``accept_truncated`` has no effect and ``truncated_replies`` stays empty.
    """

    #: Every read is answered from the same few API 3 requests, so every read joins.
    joinable_commands = frozenset(READS)

    def __init__(self, client: WhatsminerV3Client) -> None:
        self.client = client
        self.accept_truncated = False
        self.truncated_replies: list[str] = []

    def __repr__(self) -> str:
        return f"Api3Adapter({self.client!r})"

    @property
    def host(self) -> str:
        """The miner's address."""
        return self.client.host

    @property
    def port(self) -> int:
        """The API 3 port."""
        return self.client.port

    def read(self, command: str, **params: Any) -> dict[str, Any]:
        """The API 2 reply of ``command``, from the API 3 replies that carry its information."""
        if params:
            raise ValueError(f"{command}: API 2 read parameters have no API 3 equivalent")
        return self.read_many([command])[command]

    def read_many(self, commands: Iterable[str]) -> dict[str, dict[str, Any]]:
        """``{command: API 2 reply}`` from at most three API 3 requests.

        Raises the first error of those requests, like the API 2 client's joined read.
        """
        if isinstance(commands, str):
            raise ValueError("read_many() takes a list of command names, not one string")
        names = list(dict.fromkeys(commands))
        unknown = [name for name in names if name not in READS]
        if unknown:
            raise UnsupportedCommandError(
                f"the collection has no API 3 equivalent of the API 2 read {', '.join(unknown)}",
                host=self.host, port=self.port, command=unknown[0],
            )
        sources = {source for name in names for source in READS[name][0]}
        sections = [section for section in STATUS_SECTIONS if section in sources]
        status = self.client.read_status(sections) if sections else None
        info = self.client.read(DEVICE_INFO) if INFO in sources else None
        setting = self.client.read(MINER_SETTING) if SETTING in sources else None
        replies = {}
        for name in names:
            needs, convert = READS[name]
            reply = convert(status, info, setting)
            if reply is None:
                api3_command = STATUS_COMMAND if needs[0] in STATUS_SECTIONS else DEVICE_INFO
                raise MalformedReplyError(
                    f"the {api3_command} reply lacks what the collection reads as {name}",
                    host=self.host, port=self.port, command=api3_command,
                )
            replies[name] = reply
        return replies

    def privileged(self, command: str, *, expect_reply: bool = True, **params: Any) -> dict[str, Any] | None:
        """Send the API 3 command of the API 2 write ``command``; its reply, ``None`` when none came and none was required."""
        if command not in API3_WRITES:
            raise UnsupportedCommandError(
                f"the collection has no API 3 equivalent of the API 2 write {command}", host=self.host, port=self.port, command=command,
            )
        write = API3_WRITES[command]
        return self.client.privileged(write.command, write.param(params), expect_reply=expect_reply)

    def time_limit(self, seconds: float) -> ContextManager[None]:
        """``Transport.time_limit`` of the API 3 client."""
        return self.client.time_limit(seconds)

    @property
    def connections_opened(self) -> int:
        """TCP connections opened to the API 3 port."""
        return self.client.connections_opened

    @property
    def tokens_requested(self) -> int:
        """Salt reads for signing."""
        return self.client.tokens_requested

    @property
    def commands_sent(self) -> list[str]:
        """The API 3 commands sent."""
        return self.client.commands_sent


class MinerSession:
    """The miner of a module run: the client of the API ``api_version`` chooses, made on first contact.

    ``read``, ``read_many``, ``privileged`` and the counters are those of that client
    (``WhatsminerClient`` or ``Api3Adapter``); the counters include the ``auto`` probe.

    Attributes:
        api_version: 2 or 3 once chosen, ``None`` before the first contact.
        api_choice: The ``ApiChoice`` (with its reason), ``None`` before the first contact.
    """

    def __init__(
        self,
        host: str,
        *,
        port: int = DEFAULT_PORT,
        password: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        api_version: str = DEFAULT_API_VERSION,
        api3_port: int = DEFAULT_V3_PORT,
        api3_account: str = DEFAULT_ACCOUNT,
    ) -> None:
        self.host = host
        self.api_version: int | None = None
        self.api_choice = None
        self._settings = {"port": port, "password": password, "timeout": timeout, "retries": retries,
                          "api_version": api_version, "api3_port": api3_port, "api3_account": api3_account}
        self._accept_truncated = False
        self._client: WhatsminerClient | Api3Adapter | None = None
        self._probe_connections = 0

    def __repr__(self) -> str:
        return f"MinerSession({self.host!r}, api_version={self._settings['api_version']!r})"

    def _connected(self) -> WhatsminerClient | Api3Adapter:
        """The client, choosing the API first when this is the first contact."""
        if self._client is not None:
            return self._client
        settings = self._settings
        choice = resolve_api_version(
            settings["api_version"], self.host, port=settings["port"], v3_port=settings["api3_port"],
            timeout=settings["timeout"], retries=settings["retries"],
        )
        self._probe_connections = choice.connections
        client: WhatsminerClient | Api3Adapter
        if choice.version == 3:
            client = Api3Adapter(WhatsminerV3Client(self.host, settings["api3_port"], password=settings["password"], timeout=settings["timeout"],
                                                    retries=settings["retries"], account=settings["api3_account"]))
        else:
            client = WhatsminerClient(self.host, settings["port"], password=settings["password"], timeout=settings["timeout"],
                                      retries=settings["retries"])
            if choice.version_reply is not None:
                client.prefetched["get_version"] = choice.version_reply
        client.accept_truncated = self._accept_truncated
        self.api_version, self.api_choice, self._client = choice.version, choice, client
        return client

    def protocol_client(self) -> WhatsminerClient | WhatsminerV3Client:
        """The protocol client of the chosen API (``WhatsminerClient`` or ``WhatsminerV3Client``), choosing on first contact.

        For logic that speaks each API in its own terms (the password change, whose commands
        have no counterpart in the other API's interface).
        """
        client = self._connected()
        return client.client if isinstance(client, Api3Adapter) else client

    def with_password(self, password: str | None) -> MinerSession:
        """A new session with the same settings but ``password``: fresh token or salt, and the API already
        chosen by this session (no second ``auto`` probe once this session has made contact)."""
        settings = self._settings
        api_version = str(self.api_version) if self.api_version is not None else settings["api_version"]
        return MinerSession(self.host, port=settings["port"], password=password, timeout=settings["timeout"], retries=settings["retries"],
                            api_version=api_version, api3_port=settings["api3_port"], api3_account=settings["api3_account"])

    # --- the client interface ----------------------------------------------------------------

    def read(self, command: str, **params: Any) -> dict[str, Any]:
        """``read`` of the chosen client."""
        return self._connected().read(command, **params)

    def read_many(self, commands: Iterable[str]) -> dict[str, dict[str, Any]]:
        """``read_many`` of the chosen client."""
        return self._connected().read_many(commands)

    def privileged(self, command: str, *, expect_reply: bool = True, **params: Any) -> dict[str, Any] | None:
        """``privileged`` of the chosen client (API 2 command names on both APIs)."""
        return self._connected().privileged(command, expect_reply=expect_reply, **params)

    def time_limit(self, seconds: float) -> ContextManager[None]:
        """``time_limit`` of the chosen client: every request inside the block ends within ``seconds``.

        The first contact (the ``auto`` probe) is made here when it has not happened yet, and is
        bounded only by ``timeout`` and ``retries``; the bounded waits come after reads, so it has.
        """
        return self._connected().time_limit(seconds)

    @property
    def port(self) -> int:
        """The port of the chosen API (before the first contact: the one ``api_version`` names, API 2's for ``auto``)."""
        if self._client is not None:
            return self._client.port
        return self._settings["api3_port"] if self._settings["api_version"] == "3" else self._settings["port"]

    @property
    def accept_truncated(self) -> bool:
        """Whether a cut-off reply is used for what it holds (API 2 only; see ``WhatsminerClient``)."""
        return self._accept_truncated

    @accept_truncated.setter
    def accept_truncated(self, value: bool) -> None:
        self._accept_truncated = bool(value)
        if self._client is not None:
            self._client.accept_truncated = self._accept_truncated

    @property
    def truncated_replies(self) -> list[str]:
        """Commands whose cut-off reply was accepted."""
        return self._client.truncated_replies if self._client is not None else []

    @property
    def joinable_commands(self) -> frozenset:
        """The reads the chosen client answers together in ``read_many``."""
        return self._connected().joinable_commands

    @property
    def connections_opened(self) -> int:
        """TCP connections opened, the ``auto`` probe included."""
        return self._probe_connections + (self._client.connections_opened if self._client is not None else 0)

    @property
    def tokens_requested(self) -> int:
        """Token (API 2) or salt (API 3) requests."""
        return self._client.tokens_requested if self._client is not None else 0


# ---------------------------------------------------------------------------------------------
# Which API does a miner speak? (the ``auto`` probe of ``MinerSession``)


def firmware_date(firmware_version: Any) -> tuple[int, int, int] | None:
    """The build date ``(year, month, day)`` a firmware version starts with (``20250214.16.1``), else ``None``."""
    text = to_text(firmware_version)
    match = re.match(r"(\d{4})(\d{2})(\d{2})", text or "")
    if not match:
        return None
    year, month, day = (int(part) for part in match.groups())
    if not (2000 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    return year, month, day


def api_version_from_version_reply(version: dict | None) -> int:
    """2 or 3 from a port-4028 ``get_version`` reply: API 3 when its API version is 3 or more, or when
    the firmware is dated 2024-11-01 or later (the date pyasic switches on); 2 otherwise."""
    msg = message(version)
    api = api_version_number(msg.get("api_ver"))
    major = api.split(".", 1)[0] if api else ""
    if major.isdigit() and int(major) >= 3:
        return 3
    built = firmware_date(msg.get("fw_ver"))
    return 3 if built is not None and built >= V3_FIRMWARE_SINCE else 2


class ApiChoice:
    """Which API to use with a miner, and why.

    Attributes:
        version: 2 (port 4028, ``WhatsminerClient``) or 3 (``WhatsminerV3Client``).
        reason: One sentence for results and debugging.
        version_reply: The port-4028 ``get_version`` reply the choice was made from, if any; the
            facts module can reuse it instead of asking again.
        connections: TCP connections the probe opened (0 when ``api_version`` was given).
    """

    __slots__ = ("version", "reason", "version_reply", "connections")

    def __init__(self, version: int, reason: str, version_reply: dict | None = None, connections: int = 0) -> None:
        self.version = version
        self.reason = reason
        self.version_reply = version_reply
        self.connections = connections

    def __repr__(self) -> str:
        return f"ApiChoice(version={self.version}, reason={self.reason!r})"


def choose_api_version(
    host: str,
    *,
    port: int = DEFAULT_PORT,
    v3_port: int = DEFAULT_V3_PORT,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    retry_delay: float = DEFAULT_RETRY_DELAY,
) -> ApiChoice:
    """Decide between API 2 and API 3 for the miner at ``host`` with one request in the usual case.

    1. ``get_version`` on ``port`` (4028). Every generation answers it, API 3 firmware too (its
       reduced API 2); the reply decides (``api_version_from_version_reply``). API 2 miners are never
       contacted on ``v3_port``, so no connect timeout is waited out on miners without 4433.
    2. 4028 answers, but not ``get_version`` (an error or an unreadable reply): API 2, the only
       API known to answer like that.
    3. Nothing listens on 4028 (connection refused): one ``get.device.info`` ``system`` on ``v3_port``
       without retries; API 3 if it answers, else the port-4028 error is raised.
    4. 4028 times out or breaks after accepting the request: that error is raised (no guessing).

    Raises:
        MinerConnectionError: the miner cannot be reached (see 3 and 4).
    """
    api2 = WhatsminerClient(host, port=port, timeout=timeout, retries=retries, retry_delay=retry_delay)
    try:
        version = api2.read("get_version")
    except (CommandRejectedError, MalformedReplyError) as error:
        return ApiChoice(2, f"port {port} answers the API 2 protocol but not get_version ({type(error).__name__})",
                         connections=api2.connections_opened)
    except MinerConnectionError as error:
        if error.request_sent or isinstance(error, MinerTimeoutError):
            raise
        api3 = WhatsminerV3Client(host, port=v3_port, timeout=timeout, retries=0)
        try:
            info = api3.read("get.device.info", "system")
        except WhatsminerError:
            raise error from None
        sections = info.get("msg") if isinstance(info.get("msg"), dict) else {}
        system = sections.get("system") if isinstance(sections.get("system"), dict) else {}
        return ApiChoice(3, f"nothing listens on port {port} and API 3 answers on port {v3_port} "
                            f"(firmware {to_text(system.get('fwversion'))})",
                         connections=api2.connections_opened + api3.connections_opened)
    chosen = api_version_from_version_reply(version)
    msg = message(version)
    return ApiChoice(chosen, f"API {chosen}: get_version on port {port} reports firmware {to_text(msg.get('fw_ver'))} "
                             f"(API {to_text(msg.get('api_ver'))})", version_reply=version, connections=api2.connections_opened)


def resolve_api_version(setting: str, host: str, **probe_options: Any) -> ApiChoice:
    """The API for the ``api_version`` option: ``"2"`` or ``"3"`` as given (no probe), ``"auto"`` probed."""
    if setting not in API_VERSION_CHOICES:
        raise ValueError(f"api_version must be one of {', '.join(API_VERSION_CHOICES)}, got {setting!r}")
    if setting != "auto":
        return ApiChoice(int(setting), f"api_version is {setting}")
    return choose_api_version(host, **probe_options)
