# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault matrix: every module against every simulator fault, one simulated miner per cell.

A cell is one module against one fault. ``runme.sh`` runs, for each execution path (``auto``:
the action plugin in the controller's worker; ``module``: the module):

1. ``cells.py setup``: resets each cell's miner, applies the cell's fault through the control
   API, remembers the true state, and writes the inventory of the cells (``cells.yml``);
2. ``matrix.yml``: each cell runs its module once (``ignore_errors``); the
   ``reliability_record`` callback records every result;
3. ``cells.py check``: reads the results and the true state after the run and checks each cell.

``cells.py report`` prints the matrix (module x path x fault -> outcome) and fails when a check
failed. What every cell must show:

* no traceback, no module crash, no ``exception`` in the result;
* the outcome the matrix expects (``EXPECTED``): ``failed`` with a message that contains the
  fault's own words, or a success (``changed``/``ok``, ``+warning`` when it warned);
* ``changed`` only when the simulator's true state changed, and a success of a writing module
  only when the true state is what was asked for (nothing half-applied passes as success);
* at most the API tokens the cell needs (one per module run; two after a rejected token).

The API 2 faults run on 2024 miners with ``api_version: "2"``; the API 3 faults (``FAULTS_V3``,
rows ``api3 ...``) on 3.x miners with ``api_version: "3"``, faults applied to their API 3
listener, with the same checks (the token budget counts salt reads there); two of them also run
with ``api_version: auto`` (rows ``auto->3 ...``) to show that the probe changes no outcome.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reliability_common"))

# pylint: disable=wrong-import-position
from reliability import Checks, ControlApi, print_table, read_records, task_results, traceback_in, warning_texts  # noqa: E402
from whatsminer_sim.firmware import make_test_image  # noqa: E402  # pylint: disable=import-error

FACTS, POOLS, POWER, SETTINGS = "whatsminer_facts", "whatsminer_pools", "whatsminer_power", "whatsminer_settings"
FIRMWARE, ROTATION, REBOOT = "whatsminer_firmware", "whatsminer_password", "whatsminer_reboot"
MODULES = (FACTS, POOLS, POWER, SETTINGS)
WRITERS = (POOLS, POWER, SETTINGS)
#: The columns of the matrix: MODULES against every fault, whatsminer_firmware against the faults of its upload,
#: whatsminer_password and whatsminer_reboot against the faults of their own command.
MATRIX_MODULES = MODULES + (FIRMWARE, ROTATION, REBOOT)
PATHS = ("auto", "module")
#: The write password of every miner of the fleet (not the factory one: the fleet's factory-password gate is on),
#: and the one the whatsminer_password cells rotate it to.
PASSWORD, NEW_PASSWORD = "cells_1", "cells_2"
#: What the writing modules ask for (a change on every miner of the fleet).
DESIRED_POOLS = [["stratum+tcp://reliability.example.com:3333", "cells.worker"]]
DESIRED_POWER = {"power_mode": "low", "power_limit_w": 3000}
#: What whatsminer_settings asks for: a setting both generations of the matrix report (2024: summary, 3.x: get.miner.setting).
DESIRED_SETTINGS = {"fast_boot": True}
#: Per-cell connection and wait options (seconds): short, so that every timeout stays short.
TIMEOUT, RETRIES, WAIT_TIMEOUT, VERIFY_TIMEOUT = 1.0, 1, 5.0, 2.0
#: A btminer restart that outlasts the wait (restart cells).
LONG_RESTART_S, SHORT_WAIT_S = 4.0, 1.0
#: A btminer restart that lasts the whole matrix run (the restart cells of facts and settings; the
#: fleet is stopped long before it ends, also on a slow, busy machine).
FACTS_RESTART_S = 3600.0
RUN_TASK = "Run the cell's module against its faulty miner"
NOT_APPLICABLE = "-"
API2_PROFILE, API3_PROFILE = "2024", "3.x"
#: What the firmware cells ask for: a newer version of the same generation, from a test image for the
#: platform of the profile's default model (H616 on both), uploaded with a fast reboot window.
FIRMWARE_VERSIONS = {API2_PROFILE: "20241015.10.Rel", API3_PROFILE: "20250321.14.Rel"}
FIRMWARE_PLATFORM = "H616"
FIRMWARE_REBOOT = {"reboot_seconds": 0.5}
FIRMWARE_REBOOT_TIMEOUT = 20.0


@dataclass(frozen=True)
class Setup:
    """What a cell's miner gets before the run: fault rules, settings, true state, module options."""

    faults: tuple[dict, ...] = ()
    config: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    password: str = PASSWORD
    blackhole: bool = False
    restart_btminer: bool = False
    max_tokens: int = 1


@dataclass(frozen=True)
class Expected:
    """A cell's expected outcome (``failed``, ``ok``, ``changed``, with ``+warning``) and the words its message or warning must contain."""

    outcome: str
    words: str = ""


@dataclass(frozen=True)
class Fault:
    """One row of the matrix: a fault, how each module's miner gets it, and what each module must do.

    ``api`` is the modules' ``api_version``: ``"2"`` (a 2024 miner, faults on its API 2 port),
    ``"3"`` or ``"auto"`` (a 3.x miner, faults on its API 3 listener).
    """

    name: str
    setups: dict[str, Setup]
    expected: dict[str, Expected]
    api: str = "2"

    @property
    def profile(self) -> str:
        """The simulator profile of the fault's miners."""
        return API2_PROFILE if self.api == "2" else API3_PROFILE


def for_all(setup: Setup) -> dict[str, Setup]:
    """The same setup for every module."""
    return dict.fromkeys(MODULES, setup)


def for_writers(setup: Setup) -> dict[str, Setup]:
    """A fault of the write command: only the writing modules send one."""
    return dict.fromkeys(WRITERS, setup)


def rule(kind: str, commands: list[str] | None = None, **fields: Any) -> dict:
    """A simulator fault rule."""
    return {"kind": kind, "commands": commands, **fields}


def code_fault(code: int, words: str, facts_words: str) -> Fault:
    """Error ``code`` to the facts module's ``status`` read and to the writers' write command."""
    return Fault(
        f"error code {code}",
        {FACTS: Setup(faults=(rule("code", ["status"], code=code),)), **for_writers(Setup(faults=(rule("code", ["privileged"], code=code),)))},
        {FACTS: Expected("ok+warning", facts_words), POOLS: Expected("failed", words), POWER: Expected("failed", words),
         SETTINGS: Expected("failed", words)},
    )


def all_fail(words: str) -> dict[str, Expected]:
    """Every module fails with ``words`` in its message."""
    return dict.fromkeys(MODULES, Expected("failed", words))


def writers_recover() -> dict[str, Expected]:
    """The writers verify a lost reply by reading back: changed, with a warning."""
    return {POOLS: Expected("changed+warning", "reply to update_pools was lost"), POWER: Expected("changed+warning", "was lost"),
            SETTINGS: Expected("changed+warning", "was lost")}


#: A btminer restart that outlasts the run (facts) or the module's wait (writers).
RESTART_SETUPS = {
    FACTS: Setup(config={"restart_seconds": FACTS_RESTART_S}, restart_btminer=True),
    POOLS: Setup(config={"restart_seconds": LONG_RESTART_S, "pools_apply_restart": True}, options={"verify_timeout": SHORT_WAIT_S}),
    POWER: Setup(config={"restart_seconds": LONG_RESTART_S}, options={"wait_timeout": SHORT_WAIT_S}),
    # whatsminer_settings writes no restarting setting here: the restart is in progress when it starts (its first read waits).
    SETTINGS: Setup(config={"restart_seconds": FACTS_RESTART_S}, restart_btminer=True, options={"wait_timeout": SHORT_WAIT_S}),
}
RESTART_EXPECTED = {
    FACTS: Expected("ok+warning", "btminer is restarting"), POOLS: Expected("failed", "did not show the pools that were sent"),
    POWER: Expected("failed", "did not show the wanted state within wait_timeout (1 s)"),
    SETTINGS: Expected("failed", "btminer did not answer within wait_timeout (1 s)"),
}
#: API 3 reports the settings without btminer (get.miner.setting, get.system.setting, get.fan.setting): a restart does not hold it up.
RESTART_EXPECTED_V3 = {**RESTART_EXPECTED, SETTINGS: Expected("changed")}

QUIRKS_IN_EVERY_REPLY = ("trailing_nul", "trailing_comma", "newline", "missing_comma", "error_code_list", "leading_comma")
READ_DELAY_S = 1.5  # more than TIMEOUT

FAULTS: tuple[Fault, ...] = (
    Fault("connection refused", for_all(Setup(config={"refuse_connections": True})), all_fail("cannot connect (Connection refused)")),
    Fault("connect timeout", for_all(Setup(blackhole=True)), all_fail("no connection within 1 s")),
    Fault("read timeout (reads)", for_all(Setup(faults=(rule("delay", ["read"], seconds=READ_DELAY_S),))), all_fail("no reply within 1 s")),
    Fault("read timeout (write)", for_writers(Setup(faults=(rule("delay", ["privileged"], seconds=READ_DELAY_S),))), writers_recover()),
    Fault("read timeout (get_token)", for_writers(Setup(faults=(rule("delay", ["get_token"], seconds=READ_DELAY_S),))),
          dict.fromkeys(WRITERS, Expected("failed", "command 'get_token': no reply within 1 s"))),
    Fault("reset mid-reply (reads)", for_all(Setup(faults=(rule("drop", ["read"], mode="reset"),))), all_fail("connection broke after")),
    Fault("reset mid-reply (write)", for_writers(Setup(faults=(rule("drop", ["privileged"], mode="reset"),))), writers_recover()),
    Fault("closed mid-reply (reads)", for_all(Setup(faults=(rule("drop", ["read"], mode="close"),))),
          {FACTS: Expected("ok+warning", "was cut off"), **dict.fromkeys(WRITERS, Expected("failed", "was cut off"))}),
    Fault("closed mid-reply (write)", for_writers(Setup(faults=(rule("drop", ["privileged"], mode="close"),))), writers_recover()),
    Fault("garbage bytes (reads)", for_all(Setup(faults=(rule("garbage", ["read"]),))),
          {FACTS: Expected("failed", "answered none of the commands"), **dict.fromkeys(WRITERS, Expected("failed", "not valid JSON"))}),
    Fault("garbage bytes (write)", for_writers(Setup(faults=(rule("garbage", ["privileged"]),))), writers_recover()),
    *(Fault(f"quirk {quirk}", for_all(Setup(faults=(rule("quirk", quirk=quirk),))),
            {FACTS: Expected("ok"), **dict.fromkeys(WRITERS, Expected("changed"))}) for quirk in QUIRKS_IN_EVERY_REPLY),
    Fault("quirk truncated", for_all(Setup(faults=(rule("quirk", quirk="truncated"),))),
          {FACTS: Expected("ok+warning", "was cut off"), **dict.fromkeys(WRITERS, Expected("failed", "was cut off"))}),
    code_fault(14, "code 14", "does not know 'status'"),
    code_fault(23, "password given to the module is wrong", "code 23"),
    code_fault(45, "write API is disabled", "write API is disabled"),
    code_fault(132, "code 132", "code 132"),
    Fault("code 135, token expired mid-task",
          {FACTS: Setup(faults=(rule("code", ["privileged"], code=135),)),
           POOLS: Setup(faults=(rule("code", ["privileged"], code=135, remaining=1),), max_tokens=2),
           POWER: Setup(config={"token_expiry_s": 0.3}, max_tokens=2),
           SETTINGS: Setup(faults=(rule("code", ["privileged"], code=135, remaining=1),), max_tokens=2)},
          {FACTS: Expected("ok"), **dict.fromkeys(WRITERS, Expected("changed"))}),
    Fault("code 136, token limit", for_all(Setup(faults=(rule("code", ["get_token"], code=136),))),
          {FACTS: Expected("ok"), **dict.fromkeys(WRITERS, Expected("failed", "32 per IP address"))}),
    Fault("write API disabled", for_all(Setup(state={"write_api_enabled": False})),
          {FACTS: Expected("ok"), **dict.fromkeys(WRITERS, Expected("failed", "Miner API Switch"))}),
    Fault("wrong admin password", for_all(Setup(password="wrong_1")),
          {FACTS: Expected("ok"), **dict.fromkeys(WRITERS, Expected("failed", "password given to the module is wrong"))}),
    Fault("restart beyond wait_timeout", RESTART_SETUPS, RESTART_EXPECTED),
)


# ---------------------------------------------------------------------------------------------
# API 3 (firmware 3.x, the framed API on port 4433): the faults its listener can get. Fault rules
# name API 3 commands; code rules and reply quirks do not exist there (the simulator's API 3
# frames are whole JSON, and its error codes come from the true state: a wrong password is -1,
# the write API switch off is -4, a refused value is -2). No tokens: a writing run reads the salt
# (``get.device.info`` ``salt``) once, and the token budget counts those reads.

V3_READS = ["get.device.info", "get.miner.status", "get.miner.setting", "get.system.setting", "get.fan.setting"]
V3_WRITES = ["set.miner.pools", "set.miner.power_mode", "set.miner.power_limit", "set.miner.fastboot"]
#: A write refused with code -1 makes the client read the salt again, once, to tell a changed salt
#: (resent once) from a wrong password (reported): two salt reads, as API 2 spends two tokens
#: after a rejected token.
WRONG_V3_PASSWORD = Setup(password="wrong_1", max_tokens=2)
WRONG_V3_PASSWORD_WORDS = "the password given for the API 3 account in api3_account is wrong"
#: A power limit below every model's minimum (the -2 cell's power module asks for it). The miner
#: shows its maximum, so a limit above it is refused before sending; no firmware shows the minimum,
#: so only the miner can refuse this one.
REFUSED_POWER_LIMIT_W = 100


def api3(name: str, setups: dict[str, Setup], expected: dict[str, Expected], api: str = "3") -> Fault:
    """A fault of the API 3 listener of a 3.x miner (``api``: the modules' ``api_version``)."""
    return Fault(f"{'api3' if api == '3' else 'auto->3'} {name}", setups, expected, api=api)


FAULTS_V3: tuple[Fault, ...] = (
    api3("connection refused", for_all(Setup(config={"refuse_connections": True})), all_fail("cannot connect (Connection refused)")),
    api3("connect timeout", for_all(Setup(blackhole=True)), all_fail("no connection within 1 s")),
    api3("read timeout (reads)", for_all(Setup(faults=(rule("delay", V3_READS, seconds=READ_DELAY_S),))),
         all_fail("no reply: the connection did not complete within 1 s")),
    api3("read timeout (write)", for_writers(Setup(faults=(rule("delay", V3_WRITES, seconds=READ_DELAY_S),))), writers_recover()),
    api3("reset mid-reply (reads)", for_all(Setup(faults=(rule("drop", V3_READS, mode="reset"),))),
         all_fail("the connection broke (Connection reset by peer) after")),
    api3("reset mid-reply (write)", for_writers(Setup(faults=(rule("drop", V3_WRITES, mode="reset"),))), writers_recover()),
    api3("closed mid-reply (reads)", for_all(Setup(faults=(rule("drop", V3_READS, mode="close"),))), all_fail("was closed by the miner")),
    api3("closed mid-reply (write)", for_writers(Setup(faults=(rule("drop", V3_WRITES, mode="close"),))), writers_recover()),
    api3("garbage bytes (reads)", for_all(Setup(faults=(rule("garbage", V3_READS),))),
         {FACTS: Expected("failed", "answered none of the commands"), **dict.fromkeys(WRITERS, Expected("failed", "more than the 1048576 accepted"))}),
    api3("garbage bytes (write)", for_writers(Setup(faults=(rule("garbage", V3_WRITES),))), writers_recover()),
    api3("closed without reply (btminer down)",
         for_all(Setup(config={"restart_seconds": FACTS_RESTART_S, "btminer_down_reply": "close"}, restart_btminer=True)),
         {**all_fail("was closed by the miner"), SETTINGS: Expected("changed")}),
    api3("write API disabled (code -4)", for_all(Setup(state={"write_api_enabled": False})),
         {FACTS: Expected("ok"), **dict.fromkeys(WRITERS, Expected("failed", "Miner API Switch"))}),
    api3("wrong password (code -1)", {FACTS: Setup(password="wrong_1"), **for_writers(WRONG_V3_PASSWORD)},
         {FACTS: Expected("ok"), **dict.fromkeys(WRITERS, Expected("failed", WRONG_V3_PASSWORD_WORDS))}),
    api3("refused value (code -2)", {POWER: Setup(options={"power_limit": REFUSED_POWER_LIMIT_W})},
         {POWER: Expected("failed", "refused a parameter value")}),
    api3("restart beyond wait_timeout", RESTART_SETUPS, RESTART_EXPECTED_V3),
    # api_version auto: the probe (get_version on the API 2 port) picks API 3; the outcome is the API 3 cell's.
    api3("wrong password (code -1)", for_writers(WRONG_V3_PASSWORD),
         dict.fromkeys(WRITERS, Expected("failed", WRONG_V3_PASSWORD_WORDS)), api="auto"),
    api3("read timeout (write)", for_writers(Setup(faults=(rule("delay", V3_WRITES, seconds=READ_DELAY_S),))), writers_recover(), api="auto"),
)


# ---------------------------------------------------------------------------------------------
# The firmware upgrade (whatsminer_firmware): the faults of its upload, on both APIs.


def one_module(module: str, name: str, setup: Setup, expected: Expected, api: str = "2") -> Fault:
    """A fault of one module's own command, on a 2024 miner (``api`` "2") or a 3.x miner ("3"); every miner reboots fast."""
    setup = Setup(**{**setup.__dict__, "config": {**FIRMWARE_REBOOT, **setup.config}})
    label = module.removeprefix("whatsminer_")
    return Fault(f"{'api3 ' if api == '3' else ''}{label}: {name}", {module: setup}, {module: expected}, api=api)


def firmware(name: str, setup: Setup, expected: Expected, api: str = "2") -> Fault:
    """A fault of the firmware upgrade (whatsminer_firmware only)."""
    return one_module(FIRMWARE, name, setup, expected, api)


FIRMWARE_FAULTS: tuple[Fault, ...] = tuple(
    fault for api in ("2", "3") for fault in (
        firmware("none", Setup(), Expected("changed"), api),
        firmware("connection refused", Setup(config={"refuse_connections": True}), Expected("failed", "cannot connect (Connection refused)"), api),
        firmware("upgrade command refused", Setup(config={"firmware_update": "refuse"}), Expected("failed", "firmware upgrade refused"), api),
        firmware("upload cut off", Setup(config={"firmware_update": "cut"}, options={"reboot_timeout": 1.0}),
                 Expected("failed", "did not answer again within reboot_timeout (1 s)"), api),
        firmware("failed flash", Setup(config={"firmware_update": "keep_old"}), Expected("failed", "the flash failed"), api),
        firmware("reboot beyond reboot_timeout", Setup(config={"reboot_seconds": 30.0}, options={"reboot_timeout": 1.0}),
                 Expected("failed", "did not answer again within reboot_timeout (1 s)"), api),
        firmware("write API disabled", Setup(state={"write_api_enabled": False}), Expected("failed", "Miner API Switch"), api),
    )
) + (
    firmware("reset before ready", Setup(faults=(rule("drop", ["update_firmware"], mode="reset"),)), Expected("failed", "connection broke")),
    firmware("wrong admin password", Setup(password="wrong_1"), Expected("failed", "password given to the module is wrong")),
    firmware("wrong password (code -1)", Setup(password="wrong_1"), Expected("failed", WRONG_V3_PASSWORD_WORDS), api="3"),
)


# ---------------------------------------------------------------------------------------------
# Password rotation (whatsminer_password, from PASSWORD to NEW_PASSWORD) and reboot/restart
# (whatsminer_reboot): the faults that test what is their own. A lost reply to the change is settled
# by asking the miner which password works; a refused or hung connection sends nothing; a miner
# whose write account still has its factory password and whose firmware refuses to change it gets
# the manual step; a reboot or restart that outlasts reboot_timeout fails with changed=true, and a
# lost reply to the reboot command is no failure (the module never relies on it).

#: A rotation authenticates four times (new_password, password; after the change both again) and
#: sends the change: on API 2 one token each (the change spends the token of the proven password);
#: on API 3 one salt read each, and one more after each of the two checks that the miner refuses
#: with -1 (new_password before the change, password after it), as after any wrong password.
ROTATION_TOKENS, ROTATION_SALT_READS = 4, 6


def rotation(name: str, setup: Setup, expected: Expected, api: str = "2") -> Fault:
    """A fault of the password rotation (whatsminer_password only)."""
    return one_module(ROTATION, name, setup, expected, api)


def reboot(name: str, setup: Setup, expected: Expected, api: str = "2") -> Fault:
    """A fault of the reboot or btminer restart (whatsminer_reboot only; ``options`` ``operation``, default reboot)."""
    return one_module(REBOOT, name, setup, expected, api)


LOST_CHANGE_WORDS = "the reply to the password change was lost"
REBOOT_TIMEOUT_WORDS = "did not answer again within reboot_timeout (1 s)"
FACTORY_V3_PASSWORDS = {"super": "super", "user1": "user1", "user2": "user2", "user3": "user3"}

OPERATION_FAULTS: tuple[Fault, ...] = (
    rotation("reset after update_pwd ran", Setup(faults=(rule("drop", ["update_pwd"], mode="reset", remaining=1),),
                                                 max_tokens=ROTATION_TOKENS), Expected("changed+warning", LOST_CHANGE_WORDS)),
    # The first two set.user.change_passwd of a run are the checks of new_password and password (old = new).
    rotation("reset after set.user.change_passwd ran",
             Setup(faults=(rule("drop", ["set.user.change_passwd"], mode="reset", skip=2, remaining=1),), max_tokens=ROTATION_SALT_READS),
             Expected("changed+warning", LOST_CHANGE_WORDS), api="3"),
    rotation("connection refused", Setup(config={"refuse_connections": True}), Expected("failed", "cannot connect (Connection refused)")),
    rotation("connect timeout", Setup(blackhole=True), Expected("failed", "no connection within 1 s"), api="3"),
    rotation("neither password works", Setup(password="wrong_1", max_tokens=2),
             Expected("failed", "neither new_password nor password authenticates")),
    rotation("write API disabled", Setup(state={"write_api_enabled": False}), Expected("failed", "Miner API Switch")),
    # Refused checks: new_password (-1, so the salt is read again) and the factory password (-4): three salt reads.
    rotation("factory password, change refused",
             Setup(state={"v3_passwords": FACTORY_V3_PASSWORDS}, config={"factory_password_change": "refuse"}, password="super", max_tokens=3),
             Expected("failed", "WhatsMinerTool"), api="3"),
    reboot("reset after reboot was sent", Setup(faults=(rule("drop", ["reboot"], mode="reset"),)), Expected("changed")),
    reboot("reboot beyond reboot_timeout", Setup(config={"reboot_seconds": 30.0}, options={"reboot_timeout": 1.0}),
           Expected("failed", REBOOT_TIMEOUT_WORDS)),
    reboot("restart beyond reboot_timeout", Setup(config={"restart_seconds": 30.0}, options={"reboot_timeout": 1.0, "operation": "restart"}),
           Expected("failed", REBOOT_TIMEOUT_WORDS), api="3"),
    reboot("connection refused", Setup(config={"refuse_connections": True}), Expected("failed", "cannot connect (Connection refused)"), api="3"),
)


FAULTS = FAULTS + FAULTS_V3 + FIRMWARE_FAULTS + OPERATION_FAULTS
API2_FAULT_COUNT = sum(1 for fault in FAULTS if fault.api == "2")


@dataclass(frozen=True)
class Cell:
    """One module against one fault, on its own simulated miner."""

    fault: Fault
    module: str
    miner: str

    @property
    def name(self) -> str:
        """Host name of the cell in the cells inventory."""
        return self.miner

    @property
    def setup(self) -> Setup:
        """How the cell's miner is set up."""
        return self.fault.setups[self.module]

    @property
    def expected(self) -> Expected:
        """What the cell's module must do."""
        return self.fault.expected[self.module]


def cells_of(miners: list[dict]) -> list[Cell]:
    """Every cell, each with a miner of the fleet of its fault's profile (in name order)."""
    cells = []
    for profile in (API2_PROFILE, API3_PROFILE):
        names = sorted(miner["name"] for miner in miners if miner["profile"] == profile)
        pairs = [(fault, module) for fault in FAULTS if fault.profile == profile for module in MATRIX_MODULES if module in fault.setups]
        if len(names) < len(pairs):
            raise SystemExit(f"the fleet has {len(names)} {profile} miners, the matrix needs {len(pairs)}")
        cells += [Cell(fault, module, miner) for (fault, module), miner in zip(pairs, names)]
    return cells


def cell_count() -> int:
    """How many miners the matrix needs."""
    return sum(len(fault.setups) for fault in FAULTS)


def fleet_profiles() -> str:
    """The fleet's ``--profiles``: one profile per miner, the API 2 cells' miners first."""
    return ",".join(fault.profile for fault in FAULTS for _module in fault.setups)


def authentications(cell: Cell, miner: dict) -> int:
    """The miner's count of what a module run spends to write: API tokens (API 3: salt reads)."""
    return miner["counters"]["tokens_issued" if cell.fault.profile == API2_PROFILE else "v3_salt_reads"]


def truth_of(miner: dict, module: str) -> dict:
    """The parts of a miner's true state that the modules may change (``module``'s own too: passwords, boot times)."""
    state = miner["state"]
    truth = {
        "pools": [[slot["url"], slot["user"]] for slot in state["pools"] if slot["url"]],
        "power_mode": state["power_mode"],
        "power_limit_w": state["power_limit_w"],
        "mining": state["mining"],
        "fw_version": state["fw_version"],
        "fast_boot": state["fast_boot"],
    }
    if module == ROTATION:
        truth["password"] = state["admin_password"] if miner["profile"] == API2_PROFILE else state["v3_passwords"]["super"]
    if module == REBOOT:
        truth["boot_time"], truth["btminer_start_time"] = state["boot_time"], state["btminer_start_time"]
    return truth


def converged(module: str, truth: dict) -> bool:
    """Whether the true state is what a writing module asked for."""
    if module == POOLS:
        return truth["pools"] == DESIRED_POOLS
    if module == POWER:
        return all(truth[name] == value for name, value in DESIRED_POWER.items())
    if module == FIRMWARE:
        return truth["fw_version"] in FIRMWARE_VERSIONS.values()
    if module == SETTINGS:
        return all(truth[name] == value for name, value in DESIRED_SETTINGS.items())
    if module == ROTATION:
        return truth["password"] == NEW_PASSWORD
    return True


# ---------------------------------------------------------------------------------------------
# setup


def restart_btminer(miner: dict, password: str) -> None:
    """Make the miner restart btminer now (the restart cells), through the collection's own client (API 3 on a 3.x miner)."""
    # pylint: disable=import-outside-toplevel
    if miner["profile"] == API3_PROFILE:
        from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api3 import WhatsminerV3Client

        WhatsminerV3Client(miner["host"], miner["v3_port"], password=password, timeout=5.0).privileged("set.miner.service", "restart")
        return
    from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import WhatsminerClient

    WhatsminerClient(miner["host"], miner["port"], password=password, timeout=5.0).privileged("restart_btminer")


def setup(api: ControlApi, workdir: Path, blackhole_port: int) -> None:
    """Reset every cell's miner, apply its fault, write the cells inventory and the true state before the run."""
    miners = {miner["name"]: miner for miner in api.miners()}
    cells = cells_of(list(miners.values()))
    hosts: dict[str, dict] = {}
    before: dict[str, dict] = {}
    for cell in cells:
        miner = miners[cell.miner]
        api.reset(cell.miner)
        plan = cell.setup
        if plan.state:
            api.patch(cell.miner, state=plan.state)
        if plan.restart_btminer:
            api.patch(cell.miner, config=plan.config)
            restart_btminer(miner, PASSWORD)
        snapshot = api.miner(cell.miner)
        before[cell.name] = {"truth": truth_of(snapshot, cell.module), "tokens": authentications(cell, snapshot)}
        if plan.config and not plan.restart_btminer:
            api.patch(cell.miner, config=plan.config)
        if plan.faults:
            api.patch(cell.miner, faults=list(plan.faults))
        api3_miner = cell.fault.profile == API3_PROFILE
        hosts[cell.name] = {
            "ansible_host": miner["host"],
            "whatsminer_port": blackhole_port if plan.blackhole and not api3_miner else miner["port"],
            "whatsminer_api3_port": (blackhole_port if plan.blackhole else miner["v3_port"]) if api3_miner else 4433,
            "cell_api_version": cell.fault.api,
            "cell_module": cell.module,
            "cell_fault": cell.fault.name,
            "cell_password": plan.password,
            "cell_wait_timeout": plan.options.get("wait_timeout", WAIT_TIMEOUT),
            "cell_verify_timeout": plan.options.get("verify_timeout", VERIFY_TIMEOUT),
            "cell_power_limit": plan.options.get("power_limit", DESIRED_POWER["power_limit_w"]),
            "cell_firmware_version": FIRMWARE_VERSIONS[cell.fault.profile],
            "cell_firmware_image": str(workdir / f"firmware-{cell.fault.profile}.bin"),
            "cell_reboot_timeout": plan.options.get("reboot_timeout", FIRMWARE_REBOOT_TIMEOUT),
            "cell_operation": plan.options.get("operation", "reboot"),
        }
    inventory = {
        "cells": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                "cell_timeout": TIMEOUT,
                "cell_retries": RETRIES,
                "cell_pools": [{"url": url, "user": user} for url, user in DESIRED_POOLS],
                "cell_power": {"mode": DESIRED_POWER["power_mode"], "power_limit": DESIRED_POWER["power_limit_w"]},
                "cell_new_password": NEW_PASSWORD,
            },
            "hosts": hosts,
        }
    }
    for profile, version in FIRMWARE_VERSIONS.items():
        (workdir / f"firmware-{profile}.bin").write_bytes(make_test_image(FIRMWARE_PLATFORM, version, 1024))
    (workdir / "cells.yml").write_text(json.dumps(inventory, indent=1))  # JSON is YAML
    (workdir / "before.json").write_text(json.dumps(before))
    print(f"fault matrix: {len(cells)} cells ({len(FAULTS)} faults, {API2_FAULT_COUNT} on API 2 and {len(FAULTS) - API2_FAULT_COUNT} on API 3, "
          f"x {len(MATRIX_MODULES)} modules where they apply) on {len(cells)} simulated miners")


# ---------------------------------------------------------------------------------------------
# check


def outcome_of(record: dict | None) -> str:
    """``failed``, ``changed`` or ``ok``, with ``+warning`` when the module warned; ``no result`` when the task did not run."""
    if record is None:
        return "no result"
    if record["status"] in ("failed", "ignored"):
        return "failed"
    result = record["result"]
    outcome = "changed" if result.get("changed") else "ok"
    return outcome + ("+warning" if warning_texts(result) else "")


def check_cell(checks: Checks, cell: Cell, path: str, record: dict | None, before: dict, after: dict, tokens: int) -> str:
    """Check one cell of one run; return its outcome for the matrix."""
    label = f"{path} {cell.module} / {cell.fault.name}"
    outcome = outcome_of(record)
    result = record["result"] if record else {}
    crash = traceback_in(result)
    checks.check(crash is None, f"{label}: no traceback", f"the result shows {crash}: {json.dumps(result, default=str)[:600]}")
    checks.check(outcome == cell.expected.outcome, f"{label}: outcome", f"expected {cell.expected.outcome}, got {outcome}: {str(result.get('msg', ''))[:400]}")
    if cell.expected.words:
        text = str(result.get("msg", "")) if outcome == "failed" else " ".join(warning_texts(result))
        checks.check(cell.expected.words in text, f"{label}: message", f"expected {cell.expected.words!r} in {text[:500]!r}")
    state_changed = before != after
    if outcome.startswith("changed"):
        checks.check(state_changed, f"{label}: changed only when the true state changed", f"before {before}, after {after}")
    if record is not None and not result.get("changed"):
        checks.check(not state_changed, f"{label}: unchanged means the true state did not change", f"before {before}, after {after}")
    if outcome in ("ok", "ok+warning", "changed", "changed+warning") and cell.module in WRITERS + (FIRMWARE, ROTATION):
        checks.check(converged(cell.module, after), f"{label}: a success leaves what was asked for", f"true state {after}")
    what = "API tokens" if cell.fault.profile == API2_PROFILE else "salt reads"
    checks.check(tokens <= cell.setup.max_tokens, f"{label}: tokens", f"{tokens} {what}, at most {cell.setup.max_tokens} expected")
    return outcome


def check(api: ControlApi, workdir: Path, path: str) -> int:
    """Check every cell of one run; store the outcomes for the report."""
    miners = {miner["name"]: miner for miner in api.miners()}
    cells = cells_of(list(miners.values()))
    records = task_results(read_records(workdir / f"record-{path}.jsonl"), RUN_TASK)
    before = json.loads((workdir / "before.json").read_text())
    checks = Checks(f"fault matrix, {path} path")
    outcomes = {}
    for cell in cells:
        miner = miners[cell.miner]
        tokens = authentications(cell, miner) - before[cell.name]["tokens"]  # counters survive resets
        outcomes[cell.name] = check_cell(checks, cell, path, records.get(cell.name), before[cell.name]["truth"], truth_of(miner, cell.module), tokens)
    (workdir / f"outcomes-{path}.json").write_text(json.dumps(outcomes))
    (workdir / f"checks-{path}.json").write_text(json.dumps({"passed": checks.passed, "failures": checks.failures}))
    return checks.report()


def report(api: ControlApi, workdir: Path) -> int:
    """Print the matrix (fault x module x path -> outcome) and the totals; fail when a check of a run failed."""
    cells = cells_of(api.miners())
    outcomes = {path: json.loads((workdir / f"outcomes-{path}.json").read_text()) for path in PATHS}
    by_fault: dict[str, dict[str, Cell]] = {}
    for cell in cells:
        by_fault.setdefault(cell.fault.name, {})[cell.module] = cell
    rows = []
    for fault in FAULTS:
        row = [fault.name]
        for module in MATRIX_MODULES:
            cell = by_fault[fault.name].get(module)
            for path in PATHS:
                outcome = outcomes[path][cell.name] if cell else NOT_APPLICABLE
                if cell and outcome != cell.expected.outcome:
                    outcome += f" (expected {cell.expected.outcome})"
                row.append(outcome)
        rows.append(row)
    headers = ["fault"] + [f"{module.removeprefix('whatsminer_')} {path}" for module in MATRIX_MODULES for path in PATHS]
    print_table(headers, rows, title="FAULT MATRIX (module x path x fault -> outcome; '-' = the module sends no such command)")
    failures = []
    passed = 0
    for path in PATHS:
        summary = json.loads((workdir / f"checks-{path}.json").read_text())
        passed += summary["passed"]
        failures += summary["failures"]
    counted = [value for path in PATHS for value in outcomes[path].values()]
    total = {outcome: counted.count(outcome) for outcome in ("failed", "changed", "changed+warning", "ok", "ok+warning")}
    api3_cells = sum(1 for cell in cells if cell.fault.profile == API3_PROFILE)
    print(f"\nfault matrix: {len(FAULTS)} faults ({API2_FAULT_COUNT} API 2, {len(FAULTS) - API2_FAULT_COUNT} API 3 of which "
          f"{sum(1 for fault in FAULTS if fault.api == 'auto')} with api_version auto), {len(cells)} cells ({api3_cells} on 3.x miners) "
          f"x {len(PATHS)} paths = {len(cells) * len(PATHS)} module runs; outcomes: "
          + ", ".join(f"{count} {outcome}" for outcome, count in total.items()))
    print("connect timeout: a loopback listener with a full accept queue (reliability.py blackhole); the client's own handling of "
          "socket timeouts is also covered by tests/unit/plugins/module_utils/test_client_transport.py")
    print(f"fault matrix checks: {passed} passed, {len(failures)} failed (no traceback, expected outcome and message, changed only with a "
          "true change, successes converged, token budget)")
    for failure in failures:
        print(f"FAILED CHECK {failure}")
    return 1 if failures else 0


def main() -> int:
    """Command line: ``count``, ``setup``, ``check PATH``, ``report``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("count", "profiles", "setup", "check", "report"))
    parser.add_argument("path", nargs="?", choices=PATHS)
    parser.add_argument("--control-url")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--blackhole-port", type=int)
    options = parser.parse_args()
    if options.action == "count":
        print(cell_count())
        return 0
    if options.action == "profiles":
        print(fleet_profiles())
        return 0
    api = ControlApi(options.control_url)
    if options.action == "setup":
        setup(api, options.workdir, options.blackhole_port)
        return 0
    if options.action == "check":
        return check(api, options.workdir, options.path)
    return report(api, options.workdir)


if __name__ == "__main__":
    sys.exit(main())
