# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fact gathering of whatsminer_facts: which commands each subset needs, and the facts they make.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

``ARGUMENT_SPEC`` and ``logic`` at the end are the module itself: the module file and its action
plugin (which runs it in the controller's worker) both run these objects.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _miner_state as miner_state
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._password import WORKS, factory_password, try_password
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api3 import DEFAULT_ACCOUNT
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    MinerConnectionError,
    MinerRestartingError,
    UnsupportedCommandError,
    WhatsminerError,
    WriteApiDisabledError,
)
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.parsing import JOINABLE_COMMANDS as BTMINER_READS
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import Session
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._settings import SETTINGS as SETTING_NAMES, read_settings

SUBSETS = ("device", "status", "pools", "boards", "errors")
#: Subsets gathered only when named (not by ``all``): the factory-password audit authenticates,
#: which costs an API token (API 2) or a signed request (API 3) and loads the crypto libraries.
OPT_IN_SUBSETS = ("factory_password", "settings")
FACT_NAMES = {subset: f"whatsminer_{subset}" for subset in SUBSETS + OPT_IN_SUBSETS}

# Commands answered by btminer itself (cgminer-derived); an API 2 miner joins them on one
# connection. (Through API 3 every read joins: the client's ``joinable_commands`` decides.)
JOINABLE_COMMANDS = {
    "device": ("summary", "devdetails"),
    "status": ("summary",),
    "pools": ("pools",),
    "boards": ("devs",),
    "errors": (),
    "factory_password": (),
    "settings": (),
}
# Commands answered by the API daemon; each needs a connection of its own.
SEPARATE_COMMANDS = {
    "device": ("get_version", "get_miner_info", "get_psu"),
    "status": ("status",),
    "pools": (),
    "boards": (),
    "errors": ("get_error_code",),
    "factory_password": (),
    "settings": (),
}
# Commands that 1.x firmware (API "whatsminer v1.x") does not have: not asked, no warning.
NOT_IN_API_1 = frozenset({"get_miner_info", "get_error_code"})


def resolve_subsets(requested: list[str]) -> list[str]:
    """Turn ``gather_subset`` into the ordered list of subsets to gather.

    ``all`` adds every subset and ``!name`` removes one. When only exclusions are given they apply
    to ``all``; ``!all`` keeps only the subsets named explicitly (``[!all, pools]`` is pools).
    """
    included: set[str] = set()
    excluded: set[str] = set()
    exclude_all = False
    for entry in requested:
        name = str(entry).strip()
        exclude = name.startswith("!")
        name = name[1:].strip() if exclude else name
        if name != "all" and name not in SUBSETS + OPT_IN_SUBSETS:
            raise ModuleFailure(
                f"Bad subset {entry!r} in gather_subset: use all, {', '.join(SUBSETS + OPT_IN_SUBSETS)}, or one of them prefixed with ! "
                "to leave it out"
            )
        if exclude and name == "all":
            exclude_all = True
        elif exclude:
            excluded.add(name)
        else:
            included |= set(SUBSETS) if name == "all" else {name}
    if not included and not exclude_all:
        included = set(SUBSETS)
    return [subset for subset in SUBSETS + OPT_IN_SUBSETS if subset in included and subset not in excluded]


class FactGatherer:
    """Reads what the requested subsets need from one miner, with as few connections as possible.

    The reads the client joins (``client.joinable_commands``: on API 2 the btminer-backed ones, on
    API 3 all) go out together; the others one by one.
    A command the firmware does not know (code 14) or rejects degrades only the facts that need
    it, with a warning; a miner that does not answer at all, or whose every answer is an error or
    unreadable, fails the whole gathering. A reply the miner cut off is used for what it holds,
    with a warning that the facts from it may be incomplete.
    """

    def __init__(self, client: Session, address: str | None = None, account: str = DEFAULT_ACCOUNT) -> None:
        self.client = client
        self.address = address
        self.account = account
        self.replies: dict[str, dict | None] = {}
        self.warnings: list[str] = []

    def _read_separately(self, command: str) -> None:
        if command in self.replies:
            return
        try:
            self.replies[command] = self.client.read(command)
        except MinerRestartingError as error:
            self.replies[command] = None
            self.warnings.append(f"{self._miner()}: btminer is restarting and did not answer {command}; the facts that need it are null: {error}")
        except MinerConnectionError:
            raise
        except UnsupportedCommandError:
            self.replies[command] = None
            self.warnings.append(f"{self._miner()}: the firmware does not know '{command}'; the facts that need it are null")
        except WhatsminerError as error:
            self.replies[command] = None
            self.warnings.append(f"{self._miner()}: '{command}' failed, the facts that need it are null: {error}")

    def _read_joined(self, commands: list[str]) -> None:
        wanted = [command for command in commands if command not in self.replies]
        if not wanted:
            return
        try:
            self.replies.update(self.client.read_many(wanted))
        except MinerRestartingError as error:
            # Only btminer's own reads are lost; on API 3 the others come from the API daemon.
            lost = [command for command in wanted if command in BTMINER_READS] or wanted
            self.replies.update(dict.fromkeys(lost))
            self.warnings.append(f"{self._miner()}: btminer is restarting and did not answer {'+'.join(lost)}; the facts that need it are null: {error}")
            if len(lost) < len(wanted):
                self._read_joined([command for command in wanted if command not in BTMINER_READS])
        except MinerConnectionError:
            raise
        except WhatsminerError:
            # One of them failed: read them one by one so that only the failing part is lost.
            for command in wanted:
                self._read_separately(command)

    def _miner(self) -> str:
        return f"miner {self.client.host}:{self.client.port}"

    def _api_1(self) -> bool:
        version = miner_state.api_version_number(miner_state.message(self.replies.get("get_version")).get("api_ver"))
        return bool(version) and version.split(".")[0] == "1"

    def gather(self, subsets: list[str]) -> dict:
        """Return the ``ansible_facts`` dict of the given subsets.

        Raises:
            ModuleFailure: no command the subsets need was answered (every reply was an error or unreadable).
        """
        commands = [command for subset in subsets for command in JOINABLE_COMMANDS[subset] + SEPARATE_COMMANDS[subset]]
        joinable = sorted({command for command in commands if command in self.client.joinable_commands})
        separate = list(dict.fromkeys(command for command in commands if command not in joinable))
        if "get_version" in separate:  # the API generation tells which other commands exist
            self._read_separately("get_version")
        if joinable:
            self._read_joined(joinable)
        for command in separate:
            if command in NOT_IN_API_1 and self._api_1():
                self.replies[command] = None
                continue
            self._read_separately(command)
        if "errors" in subsets and self.replies.get("get_error_code") is None:
            self._read_joined(["summary"])
        if self.replies and not any(self.replies.values()):
            raise ModuleFailure(
                f"{self._miner()} answered none of the commands the facts need ({', '.join(self.replies)}) with a usable reply, "
                f"so there are no facts. The first failure: {self.warnings[0] if self.warnings else 'none recorded'}"
            )
        for command in dict.fromkeys(self.client.truncated_replies):
            self.warnings.append(f"{self._miner()}: the reply to {command} was cut off; the facts from it may be incomplete")

        facts: dict[str, Any] = {"whatsminer_gather_subset": list(subsets)}
        for subset in subsets:
            facts[FACT_NAMES[subset]] = getattr(self, f"_{subset}")()
        return facts

    def _device(self) -> dict:
        return miner_state.device_facts(
            version=self.replies.get("get_version"),
            summary=self.replies.get("summary"),
            devdetails=self.replies.get("devdetails"),
            miner_info=self.replies.get("get_miner_info"),
            psu=self.replies.get("get_psu"),
            address=self.address,
        )

    def _status(self) -> dict:
        return miner_state.status_facts(summary=self.replies.get("summary"), status=self.replies.get("status"))

    def _pools(self) -> list[dict]:
        return miner_state.pool_facts(self.replies.get("pools"))

    def _boards(self) -> list[dict]:
        return miner_state.board_facts(self.replies.get("devs"))

    def _factory_password(self) -> dict:
        """Whether the write account still takes its factory password: one authentication, nothing changed."""
        self.client.protocol_client()  # the API decides which factory password
        api = self.client.api_version
        factory = factory_password(api, self.account)
        outcome, _attempts = try_password(self.client.with_password(factory), factory, self.account)
        accepted: bool | None = outcome == WORKS
        if isinstance(outcome, WriteApiDisabledError):
            # API 3 answers -4 after a valid signature; API 2 refuses before it can tell.
            accepted = True if api == 3 else None
            if api == 2:
                self.warnings.append(f"{self._miner()}: the write API is switched off, so whether the factory password works is unknown")
        return {"accepted": accepted, "account": "admin" if api == 2 else self.account, "api_version": api}

    def _settings(self) -> dict:
        """The device settings by the names of whatsminer_settings, ``None`` where the firmware reports none.

        Its own reads, except on API 2 the replies the other subsets of this task already read
        (``get_miner_info``, ``summary``: the same raw replies; API 3 settings come from other commands).
        """
        try:
            return read_settings(self.client.protocol_client(), self.client.api_version, known=self.replies)
        except WhatsminerError as error:
            self.warnings.append(f"{self._miner()}: the settings could not be read: {error}")
            return dict.fromkeys(SETTING_NAMES)

    def _errors(self) -> list[dict]:
        errors = miner_state.error_facts(error_code=self.replies.get("get_error_code"), summary=self.replies.get("summary"))
        if errors is None:
            self.warnings.append(f"{self._miner()}: the firmware reports no error codes (neither get_error_code nor summary fields)")
            return []
        return errors


def gather_facts(client: Session, params: dict) -> dict:
    """The whole result of whatsminer_facts for one miner (``ansible_facts`` and ``warnings``)."""
    subsets = resolve_subsets(params["gather_subset"])
    client.accept_truncated = True  # salvage what a cut-off reply holds (with a warning), as other clients do
    gatherer = FactGatherer(client, address=params["host"], account=params.get("api3_account", DEFAULT_ACCOUNT))
    facts = gatherer.gather(subsets)
    return {"changed": False, "ansible_facts": facts, "warnings": gatherer.warnings}


# ---------------------------------------------------------------------------------------------
# The module: its own options (the connection options are added) and its logic


ARGUMENT_SPEC = {
    "gather_subset": {"type": "list", "elements": "str", "default": ["all"]},
}


def logic(client: Session, params: dict, check_mode: bool, diff: bool) -> dict:  # pylint: disable=unused-argument
    """Gather the requested facts (the same in check mode: the module only reads)."""
    return gather_facts(client, params)
