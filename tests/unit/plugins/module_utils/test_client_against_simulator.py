# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WhatsminerClient against the fleet simulator, on every firmware profile.

Every read command of the protocol reference (section 2) and every privileged command of its
section 4 table that the simulator implements goes through the real client to an in-process
simulated miner. Writes are checked against the simulator's TRUE state (``miner.state``), not
against what the miner replies; errors are checked for their type, their text and the absence of
secrets. Every miner listens on 127.0.0.1 and every client has a short timeout and few retries.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Iterator

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import WhatsminerClient
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    AuthenticationError,
    CommandRejectedError,
    MinerConnectionError,
    MinerRestartingError,
    TokenLimitError,
    UnsupportedCommandError,
    WhatsminerError,
    WriteApiDisabledError,
)
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import API2_PROFILES as PROFILES, FAST_CONFIG, Fleet
from whatsminer_sim import MODELS, PoolSlot, wait_for  # pylint: disable=import-error

LOOPBACK = "127.0.0.1"
#: Admin password of the simulated miners (update_pwd accepts 1-8 letters, digits, underscores).
PASSWORD = "Hf_2026x"
NEW_PASSWORD = "Hf_new26"
WRONG_PASSWORD = "Wr0ng_pw"
POOL_SECRET = "pool-Secret-77"
OTHER_POOL_SECRET = "pool-Secret-88"
#: Short windows (btminer restart, reboot) so that the file stays fast.
SIM_CONFIG = {**FAST_CONFIG, "restart_seconds": 0.2, "reboot_seconds": 0.15}
#: Windows of the tests that act inside a window: long enough for a few exchanges of a few milliseconds.
OBSERVED_WINDOW_S = 0.5
#: Deadline of every poll for a window to end (far above the windows above).
WINDOW_DEADLINE_S = 5.0

FIRMWARE = {"1.4.x": "20210322.22.REL", "2.0.x": "20230803.11.REL", "2024": "20240924.14.Rel"}
API_VERSION = {"1.4.x": "whatsminer v1.4.0", "2.0.x": "2.0.5", "2024": "2.0.5"}
JOINED_READS = ["summary", "pools", "devs", "devdetails"]
OK_MESSAGE = "API command OK"
PROFILES_2X = [profile for profile in PROFILES if profile != "1.4.x"]

POOLS_PARAMS = {
    "pool1": "stratum+tcp://new.example.pool:3333", "worker1": "farm.rig1", "passwd1": POOL_SECRET,
    "pool2": "stratum+tcp://backup.example.pool:443", "worker2": "farm.rig1b", "passwd2": OTHER_POOL_SECRET,
    "pool3": "", "worker3": "", "passwd3": "",
}
POOLS_STATE = [
    PoolSlot(url="stratum+tcp://new.example.pool:3333", user="farm.rig1", password=POOL_SECRET),
    PoolSlot(url="stratum+tcp://backup.example.pool:443", user="farm.rig1b", password=OTHER_POOL_SECRET),
    PoolSlot(),
]
MANUAL_LED = {"color": "red", "period": 200, "duration": 100, "start": 0}


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(name="start_miner")
def fixture_start_miner() -> Iterator[Callable[..., Any]]:
    """Start one simulated miner of a profile on 127.0.0.1 (fast windows, PASSWORD); all fleets stop after the test."""
    fleets: list[Fleet] = []

    def start(profile: str, config: dict[str, Any] | None = None, **options: Any) -> Any:
        options.setdefault("password", PASSWORD)
        fleet = Fleet.start(count=1, profiles=profile, host=LOOPBACK, address_mode="ports", config={**SIM_CONFIG, **(config or {})}, **options)
        fleets.append(fleet)
        miner = fleet.miners[0]
        assert miner.host == LOOPBACK
        return miner

    yield start
    for fleet in fleets:
        fleet.stop()


@pytest.fixture(name="fleet", scope="module")
def fixture_fleet() -> Iterator[Fleet]:
    """One miner of each firmware profile, shared by the read-only tests of this file."""
    fleet = Fleet.start(count=len(PROFILES), profiles=list(PROFILES), seed=11, host=LOOPBACK, address_mode="ports",
                        password=PASSWORD, config=SIM_CONFIG)
    yield fleet
    fleet.stop()


def miner_of(fleet: Fleet, profile: str) -> Any:
    """The shared fleet's miner running ``profile``."""
    return next(miner for miner in fleet.miners if miner.profile == profile)


def make_client(miner: Any, **overrides: Any) -> WhatsminerClient:
    """A bounded client of a simulated miner: 2 s timeout, one retry 50 ms later, PASSWORD."""
    options: dict[str, Any] = {"password": PASSWORD, "timeout": 2.0, "retries": 1, "retry_delay": 0.05, "no_reply_wait": 0.5}
    options.update(overrides)
    return WhatsminerClient(miner.host, miner.port, **options)


def cgminer_status(reply: dict[str, Any]) -> dict[str, Any]:
    """The status object of a cgminer-shaped reply."""
    return reply["STATUS"][0]


def assert_ok(reply: dict[str, Any] | None, msg: Any = OK_MESSAGE) -> None:
    """A decrypted privileged reply reports success (STATUS S, Code 131) with ``msg``."""
    assert reply is not None
    assert reply["STATUS"] == "S"
    assert reply["Code"] == 131
    assert reply["Msg"] == msg


def wait_until_serving(miner: Any) -> None:
    """Poll (with a deadline) until the miner's API listens again after a reboot window."""
    wait_for(lambda: miner.api_available() and miner.listening, timeout=WINDOW_DEADLINE_S)


def wait_until_closed(miner: Any) -> None:
    """Poll (with a deadline) until the miner's listener is closed (reboot window started)."""
    wait_for(lambda: not miner.listening, timeout=WINDOW_DEADLINE_S)


def texts_of(error: BaseException) -> list[str]:
    """Every text an error exposes: str, repr, attribute values, along its cause/context chain."""
    texts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current), *(str(value) for value in vars(current).values())]
        current = current.__cause__ or current.__context__
    return texts


def assert_no_secret(error: BaseException, *secrets: str) -> None:
    """No secret appears in anything the error shows."""
    for text in texts_of(error):
        for secret in secrets:
            assert secret not in text, f"secret leaked in {type(error).__name__}: {text!r}"


# ---------------------------------------------------------------------------------------------
# Read commands (reference section 2)


@pytest.mark.parametrize("profile", PROFILES)
def test_summary_matches_the_true_state(fleet, profile):
    """summary: cgminer shape (Code 11), hashing, the power mode, and the 1.4.x-only fields."""
    miner = miner_of(fleet, profile)
    truth = miner.state
    reply = make_client(miner).read("summary")
    assert cgminer_status(reply)["STATUS"] == "S"
    assert cgminer_status(reply)["Code"] == 11
    summary = reply["SUMMARY"][0]
    assert summary["MHS av"] > 0
    assert summary["Power"] > 0
    assert summary["Power Mode"] == truth.power_mode.capitalize()
    assert summary["Power Limit"] == MODELS[truth.model].max_power_limit_w
    if profile == "1.4.x":
        assert summary["MAC"] == truth.mac
        assert summary["Firmware Version"] == f"'{FIRMWARE[profile]}'"
        assert summary["Error Code Count"] == 0
    else:
        assert summary["Btminer Fast Boot"] == "disable"
        assert "MAC" not in summary


@pytest.mark.parametrize("profile", PROFILES)
def test_pools_lists_the_configured_pools_without_passwords(fleet, profile):
    """pools: one entry per configured slot, URL and user as the true state holds them, no password."""
    miner = miner_of(fleet, profile)
    truth = miner.state
    reply = make_client(miner).read("pools")
    assert cgminer_status(reply)["Code"] == 7
    assert cgminer_status(reply)["Msg"] == "3 Pool(s)"
    assert [(pool["URL"], pool["User"]) for pool in reply["POOLS"]] == [(slot.url, slot.user) for slot in truth.pools]
    assert [pool["POOL"] for pool in reply["POOLS"]] == [1, 2, 3]
    assert not any("pass" in key.lower() for pool in reply["POOLS"] for key in pool)


@pytest.mark.parametrize("profile", PROFILES)
def test_pools_without_any_configured_pool_is_an_empty_list_not_an_error(start_miner, profile):
    """cgminer answers "No pools" (STATUS E, Code 8); the client returns it instead of raising."""
    miner = start_miner(profile)
    miner.set_state(pools=[])
    reply = make_client(miner).read("pools")
    assert cgminer_status(reply)["Code"] == 8
    assert "POOLS" not in reply


@pytest.mark.parametrize("command", ["devs", "edevs"])
@pytest.mark.parametrize("profile", PROFILES)
def test_devs_and_edevs_list_every_hashboard(fleet, profile, command):
    """devs/edevs: one alive entry per hashboard, with the board serials of the true state."""
    miner = miner_of(fleet, profile)
    truth = miner.state
    reply = make_client(miner).read(command)
    assert cgminer_status(reply)["Code"] == 9
    boards = reply["DEVS"]
    assert [board["ASC"] for board in boards] == list(range(MODELS[truth.model].boards))
    assert [board["PCB SN"] for board in boards] == truth.board_serials
    assert all(board["Status"] == "Alive" and board["MHS av"] > 0 for board in boards)


@pytest.mark.parametrize("profile", PROFILES)
def test_devdetails_names_the_model(fleet, profile):
    """devdetails: Code 69, the bitmicro driver and the model on every board."""
    miner = miner_of(fleet, profile)
    truth = miner.state
    reply = make_client(miner).read("devdetails")
    assert cgminer_status(reply)["Code"] == 69
    assert cgminer_status(reply)["Description"] == ("cgminer 4.9.2" if profile == "1.4.x" else "btminer")
    assert {(board["Driver"], board["Model"]) for board in reply["DEVDETAILS"]} == {("bitmicro", truth.model)}


@pytest.mark.parametrize("profile", PROFILES)
def test_get_psu_reports_the_power_supply(fleet, profile):
    """get_psu: 4 string fields on 1.4.x, 10 with the PSU serial on 2.x."""
    miner = miner_of(fleet, profile)
    truth = miner.state
    psu = make_client(miner).read("get_psu")["Msg"]
    assert psu["model"] == MODELS[truth.model].psu.model
    assert all(isinstance(value, str) for value in psu.values())
    if profile == "1.4.x":
        assert set(psu) == {"name", "hw_version", "sw_version", "model"}
    else:
        assert psu["serial_no"] == truth.psu_serial
        assert {"iin", "vin", "fan_speed", "vender"} <= set(psu)


@pytest.mark.parametrize("profile", PROFILES)
def test_get_version_reports_firmware_and_api(fleet, profile):
    """get_version: the profile's firmware and API versions (2.x adds platform and chip)."""
    version = make_client(miner_of(fleet, profile)).read("get_version")["Msg"]
    assert version["fw_ver"] == FIRMWARE[profile]
    assert version["api_ver"] == API_VERSION[profile]
    assert set(version) == ({"api_ver", "fw_ver"} if profile == "1.4.x" else {"api_ver", "fw_ver", "platform", "chip"})


@pytest.mark.parametrize("profile", PROFILES)
def test_status_has_the_generation_specific_shape(fleet, profile):
    """status: btmineroff on 1.4.x; mineroff on 2.x; the 2024 firmware adds power mode and limit."""
    status = make_client(miner_of(fleet, profile)).read("status")["Msg"]
    if profile == "1.4.x":
        assert status == {"btmineroff": "true", "Firmware Version": f"'{FIRMWARE[profile]}'"}
        return
    assert status["mineroff"] == "false"
    assert status["FirmwareVersion"] == FIRMWARE[profile]
    if profile == "2024":
        assert status["power_mode"] == "normal"
        assert status["power_limit_set"] == "2147483647"
    else:
        assert status["power_mode"] == ""
        assert "power_limit_set" not in status


@pytest.mark.parametrize("profile", PROFILES_2X)
def test_get_miner_info_matches_the_true_state_on_2x(fleet, profile):
    """get_miner_info (2.x): network identity, serial and LED state of the true state."""
    miner = miner_of(fleet, profile)
    truth = miner.state
    info = make_client(miner).read("get_miner_info", info="ip,mac,hostname")["Msg"]
    assert info["mac"] == truth.mac
    assert info["ip"] == truth.ip == LOOPBACK
    assert info["hostname"] == truth.hostname
    assert info["minersn"] == truth.serial
    assert info["ledstat"] == truth.led == "auto"


@pytest.mark.parametrize("profile", PROFILES_2X)
def test_get_error_code_lists_the_true_error_codes_on_2x(start_miner, profile):
    """get_error_code (2.x): one ``{"<code>": "<time>"}`` object per error of the true state."""
    miner = start_miner(profile)
    client = make_client(miner)
    assert client.read("get_error_code")["Msg"] == {"error_code": []}
    miner.set_state(error_codes=[{"code": 329, "time": "2022-01-17 11:28:11"}, {"code": 110, "time": "2022-01-18 08:00:00"}])
    assert client.read("get_error_code")["Msg"] == {"error_code": [{"329": "2022-01-17 11:28:11"}, {"110": "2022-01-18 08:00:00"}]}


@pytest.mark.parametrize("command", ["get_miner_info", "get_error_code"])
def test_2x_only_reads_are_unsupported_on_1_4(fleet, command):
    """get_miner_info and get_error_code do not exist on 1.4.x: UnsupportedCommandError, code 14."""
    miner = miner_of(fleet, "1.4.x")
    with pytest.raises(UnsupportedCommandError) as caught:
        make_client(miner).read(command)
    assert caught.value.code == 14
    assert caught.value.miner_message == "invalid cmd"
    assert caught.value.command == command
    assert f"{miner.host}:{miner.port}" in str(caught.value)


@pytest.mark.parametrize("profile", PROFILES)
def test_first_privileged_command_requests_the_token_in_plaintext(start_miner, profile):
    """get_token is sent (plaintext, Code 134) by the first privileged command, which then goes encrypted."""
    miner = start_miner(profile)
    client = make_client(miner)
    assert_ok(client.privileged("enable_btminer_fast_boot"))
    assert client.commands_sent == ["get_token", "enable_btminer_fast_boot"]
    assert client.tokens_requested == 1
    assert miner.counters.tokens_issued == 1
    assert [(entry.command, entry.code, entry.encrypted) for entry in miner.log] == [
        ("get_token", 134, False), ("enable_btminer_fast_boot", 131, True),
    ]


# ---------------------------------------------------------------------------------------------
# Joined reads


@pytest.mark.parametrize("profile", PROFILES)
def test_read_many_joins_the_cgminer_reads_in_one_connection(start_miner, profile):
    """summary+pools+devs+devdetails go in one request and one connection, split per command."""
    miner = start_miner(profile)
    connections_before = miner.counters.connections
    client = make_client(miner)
    replies = client.read_many(JOINED_READS)
    assert list(replies) == JOINED_READS
    assert client.connections_opened == 1
    assert client.commands_sent == ["summary+pools+devs+devdetails"]
    assert miner.counters.connections - connections_before == 1
    assert [entry.command for entry in miner.log] == ["summary+pools+devs+devdetails"]
    assert [cgminer_status(replies[name])["Code"] for name in JOINED_READS] == [11, 7, 9, 69]
    assert replies["summary"]["SUMMARY"][0]["MHS av"] > 0
    assert [pool["URL"] for pool in replies["pools"]["POOLS"]] == [slot.url for slot in miner.state.pools]
    assert len(replies["devs"]["DEVS"]) == len(replies["devdetails"]["DEVDETAILS"]) == 3
    assert client.joins_allowed is True


@pytest.mark.parametrize("profile", PROFILES)
def test_read_many_reads_daemon_commands_separately(start_miner, profile):
    """status and get_version are never joined: one joined request plus one per daemon read."""
    miner = start_miner(profile)
    client = make_client(miner)
    replies = client.read_many(["summary", "status", "pools", "get_version"])
    assert list(replies) == ["summary", "status", "pools", "get_version"]
    assert client.commands_sent == ["summary+pools", "status", "get_version"]
    assert client.connections_opened == miner.counters.connections == 3
    assert replies["get_version"]["Msg"]["fw_ver"] == FIRMWARE[profile]


@pytest.mark.parametrize("code", [14, 45])
@pytest.mark.parametrize("profile", PROFILES)
def test_read_many_falls_back_to_single_reads_when_the_miner_rejects_joins(start_miner, profile, code):
    """A rejected join (code 14 or 45) makes the client read each command alone, now and for the rest of its life."""
    miner = start_miner(profile)
    # The simulator accepts every cgminer join; a one-shot code fault on the join stands for firmware that does not.
    miner.add_fault(kind="code", code=code, commands=["summary"], remaining=1)
    client = make_client(miner)
    replies = client.read_many(JOINED_READS)
    assert [cgminer_status(replies[name])["Code"] for name in JOINED_READS] == [11, 7, 9, 69]
    assert client.joins_allowed is False
    assert client.commands_sent == ["summary+pools+devs+devdetails", *JOINED_READS]
    assert client.connections_opened == miner.counters.connections == 5
    assert [(entry.command, entry.code) for entry in miner.log][0] == ("summary+pools+devs+devdetails", code)

    client.read_many(JOINED_READS)
    assert client.commands_sent[5:] == JOINED_READS
    assert client.connections_opened == miner.counters.connections == 9


# ---------------------------------------------------------------------------------------------
# Privileged commands (reference section 4 table)


@dataclasses.dataclass(frozen=True)
class WriteCase:  # pylint: disable=too-many-instance-attributes
    """One privileged command, what it must do to the true state, and how the miner answers.

    ``before``: true-state fields set first, so that the change is visible. ``expected``: the
    fields after the command (every other field must keep its value, except ``volatile`` ones and
    the timestamps of the ``effect``: ``restart`` of btminer or ``reboot`` of the control board).
    """

    name: str
    command: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    expected: dict[str, Any] = dataclasses.field(default_factory=dict)
    before: dict[str, Any] = dataclasses.field(default_factory=dict)
    expect_reply: bool = True
    reply_msg: Any = OK_MESSAGE
    effect: str | None = None
    volatile: tuple[str, ...] = ()


WRITE_CASES = [
    WriteCase("update_pools", "update_pools", POOLS_PARAMS, {"pools": POOLS_STATE}),
    WriteCase("restart_btminer", "restart_btminer", effect="restart"),
    WriteCase("power_off", "power_off", {"respbefore": "true"}, {"mining": False, "mineroff_reason": "by whatsminer api"},
              volatile=("mineroff_time",)),
    WriteCase("power_off-no-reply", "power_off", {"respbefore": "false"}, {"mining": False, "mineroff_reason": "by whatsminer api"},
              expect_reply=False, volatile=("mineroff_time",)),
    WriteCase("power_on", "power_on", expected={"mining": True, "mineroff_reason": "", "mineroff_time": ""},
              before={"mining": False, "mineroff_reason": "by whatsminer api", "mineroff_time": "2026-01-01 00:00:00"},
              volatile=("mining_since",)),  # when hashing restarted: the draw model's ramp starts there
    WriteCase("set_led-manual", "set_led", MANUAL_LED, {"led": "manual", "led_settings": MANUAL_LED}),
    WriteCase("set_led-auto", "set_led", {"param": "auto"}, {"led": "auto", "led_settings": {}}, before={"led": "manual", "led_settings": MANUAL_LED}),
    WriteCase("set_low_power", "set_low_power", expected={"power_mode": "low"}, expect_reply=False, effect="restart"),
    WriteCase("set_normal_power", "set_normal_power", expected={"power_mode": "normal"}, before={"power_mode": "high"},
              expect_reply=False, effect="restart"),
    WriteCase("set_high_power", "set_high_power", expected={"power_mode": "high"}, expect_reply=False, effect="restart"),
    WriteCase("reboot", "reboot", effect="reboot"),
    WriteCase("factory_reset", "factory_reset", expected={
        "pools": [PoolSlot(), PoolSlot(), PoolSlot()], "power_mode": "normal", "power_limit_w": None, "admin_password": "admin",
        "write_api_enabled": False, "led": "auto", "led_settings": {}, "fast_boot": False, "web_pools": True, "hostname": "WhatsMiner",
    }, before={
        "power_mode": "low", "power_limit_w": 3000, "led": "manual", "led_settings": MANUAL_LED, "fast_boot": True, "web_pools": False,
        "hostname": "rack7-m01",
    }, effect="reboot"),
    WriteCase("net_config-static", "net_config", {"ip": "192.0.2.50", "mask": "255.255.255.0", "gate": "192.0.2.1", "dns": "192.0.2.53 192.0.2.54",
                                                  "host": "rack7-m01"},
              {"proto": "static", "ip": "192.0.2.50", "netmask": "255.255.255.0", "gateway": "192.0.2.1", "dns": "192.0.2.53 192.0.2.54",
               "hostname": "rack7-m01", "pending_hostname": None}, effect="reboot"),
    WriteCase("net_config-dhcp", "net_config", {"param": "dhcp"}, {"proto": "dhcp"}, before={"proto": "static"}, effect="reboot"),
    WriteCase("set_target_freq", "set_target_freq", {"percent": "-10"}, {"target_freq_pct": -10}, effect="restart"),
    WriteCase("enable_btminer_fast_boot", "enable_btminer_fast_boot", expected={"fast_boot": True}),
    WriteCase("disable_btminer_fast_boot", "disable_btminer_fast_boot", expected={"fast_boot": False}, before={"fast_boot": True}),
    WriteCase("enable_web_pools", "enable_web_pools", expected={"web_pools": True}, before={"web_pools": False}),
    WriteCase("disable_web_pools", "disable_web_pools", expected={"web_pools": False}),
    WriteCase("set_hostname", "set_hostname", {"hostname": "rack7-m02"}, {"pending_hostname": "rack7-m02", "hostname": "WhatsMiner"}),
    WriteCase("set_zone", "set_zone", {"timezone": "CET-1CEST,M3.5.0,M10.5.0/3", "zonename": "Europe/Berlin"},
              {"timezone": "CET-1CEST,M3.5.0,M10.5.0/3", "zonename": "Europe/Berlin"}),
    WriteCase("load_log", "load_log", {"ip": "127.0.0.9", "port": "514", "proto": "udp"}, {"log_target": {"ip": "127.0.0.9", "port": "514", "proto": "udp"}}),
    WriteCase("set_power_pct", "set_power_pct", {"percent": "85"}, {"power_pct": 85}),
    WriteCase("set_power_pct-100", "set_power_pct", {"percent": 100}, {"power_pct": None}, before={"power_pct": 85}),
    WriteCase("pre_power_on", "pre_power_on", {"complete": "false", "msg": "wait for adjust temp"}, reply_msg={"complete": "true", "msg": "adjust complete"}),
    WriteCase("set_temp_offset", "set_temp_offset", {"temp_offset": "-5"}, {"temp_offset": -5}),
    WriteCase("adjust_power_limit", "adjust_power_limit", {"power_limit": "3000"}, {"power_limit_w": 3000}, effect="restart"),
    WriteCase("adjust_power_limit-remove", "adjust_power_limit", {"power_limit": 99999}, {"power_limit_w": None}, before={"power_limit_w": 3000},
              effect="restart"),
    WriteCase("adjust_upfreq_speed", "adjust_upfreq_speed", {"upfreq_speed": "3"}, {"upfreq_speed": 3}),
    WriteCase("set_poweroff_cool", "set_poweroff_cool", {"poweroff_cool": "1"}, {"poweroff_cool": True}),
    WriteCase("set_fan_zero_speed", "set_fan_zero_speed", {"fan_zero_speed": 1}, {"fan_zero_speed": True}),
    WriteCase("set_power_pct_v2", "set_power_pct_v2", {"percent": "90"}, {"power_pct": 90}),
]

#: True-state timestamps a window legitimately moves.
EFFECT_TIMESTAMPS = {None: set(), "restart": {"btminer_start_time"}, "reboot": {"boot_time", "btminer_start_time"}}


@pytest.mark.parametrize("case", WRITE_CASES, ids=[case.name for case in WRITE_CASES])
@pytest.mark.parametrize("profile", PROFILES)
def test_privileged_command_changes_the_true_state(start_miner, profile, case):
    """The command is answered with a decrypted success (or, by design, not at all) and changes exactly what it says."""
    miner = start_miner(profile)
    if case.before:
        miner.set_state(**case.before)
    before = miner.state
    client = make_client(miner)
    started = time.time()

    reply = client.privileged(case.command, expect_reply=case.expect_reply, **case.params)

    if case.expect_reply:
        assert_ok(reply, case.reply_msg)
    else:
        assert reply is None
    after = miner.state
    for name, value in case.expected.items():
        assert getattr(after, name) == value, name
    old, new = before.to_dict(), after.to_dict()
    changed = {name for name in old if old[name] != new[name]}
    assert changed <= set(case.expected) | set(case.volatile) | EFFECT_TIMESTAMPS[case.effect]
    assert (miner.log[-1].command, miner.log[-1].encrypted) == (case.command, True)
    assert client.tokens_requested == 1
    if case.effect == "restart":
        assert after.btminer_start_time > started
        assert after.boot_time == before.boot_time
    elif case.effect == "reboot":
        assert after.boot_time > started
        wait_until_serving(miner)
        assert make_client(miner).read("get_version")["Msg"]["fw_ver"] == FIRMWARE[profile]
    else:
        assert after.btminer_start_time == before.btminer_start_time


@pytest.mark.parametrize("profile", PROFILES)
def test_one_client_uses_one_token_for_many_commands(start_miner, profile):
    """A client requests one token and reuses it for every later privileged command."""
    miner = start_miner(profile)
    client = make_client(miner)
    commands = [
        ("update_pools", POOLS_PARAMS, True), ("set_led", MANUAL_LED, True), ("set_led", {"param": "auto"}, True),
        ("enable_btminer_fast_boot", {}, True), ("disable_web_pools", {}, True), ("set_hostname", {"hostname": "rack7-m03"}, True),
        ("set_zone", {"timezone": "UTC0", "zonename": "UTC"}, True), ("load_log", {"ip": "127.0.0.9", "port": 514, "proto": "tcp"}, True),
        ("set_temp_offset", {"temp_offset": -3}, True), ("adjust_upfreq_speed", {"upfreq_speed": 2}, True),
        ("set_poweroff_cool", {"poweroff_cool": 1}, True), ("set_fan_zero_speed", {"fan_zero_speed": 0}, True),
        ("set_power_pct", {"percent": 95}, True), ("set_power_pct_v2", {"percent": 92}, True), ("pre_power_on", {"complete": "false"}, True),
        ("power_off", {"respbefore": "true"}, True), ("power_on", {}, True), ("set_target_freq", {"percent": 5}, True),
        ("adjust_power_limit", {"power_limit": 3100}, True), ("restart_btminer", {}, True), ("set_high_power", {}, False),
    ]
    for command, params, expect_reply in commands:
        reply = client.privileged(command, expect_reply=expect_reply, **params)
        assert (reply is not None) is expect_reply, command
    truth = miner.state
    assert (truth.pools, truth.led, truth.fast_boot, truth.web_pools, truth.pending_hostname) == (POOLS_STATE, "auto", True, False, "rack7-m03")
    assert (truth.temp_offset, truth.upfreq_speed, truth.poweroff_cool, truth.fan_zero_speed) == (-3, 2, True, False)
    assert (truth.power_pct, truth.mining, truth.target_freq_pct, truth.power_limit_w, truth.power_mode) == (92, True, 5, 3100, "high")
    assert client.tokens_requested == 1
    assert miner.counters.tokens_issued == 1
    assert miner.counters.privileged_requests == len(commands)
    assert client.commands_sent == ["get_token", *(command for command, params, expect_reply in commands)]


@pytest.mark.parametrize("profile", PROFILES)
def test_update_pwd_switches_the_password(start_miner, profile):
    """After update_pwd the new password works and the old one is refused, even by the client that changed it."""
    miner = start_miner(profile)
    client = make_client(miner)
    assert_ok(client.privileged("update_pwd", old=PASSWORD, new=NEW_PASSWORD))
    assert miner.state.admin_password == NEW_PASSWORD

    assert_ok(make_client(miner, password=NEW_PASSWORD).privileged("enable_web_pools"))
    with pytest.raises(AuthenticationError) as caught:
        make_client(miner).privileged("disable_web_pools")
    assert caught.value.code == 23
    # The changing client still holds a session keyed on the old password: the miner cannot decrypt it (23).
    with pytest.raises(AuthenticationError) as caught:
        client.privileged("disable_web_pools")
    assert caught.value.code == 23
    assert miner.state.web_pools is True
    assert_no_secret(caught.value, PASSWORD, NEW_PASSWORD)


@pytest.mark.parametrize("profile", PROFILES)
def test_adjust_power_limit_above_the_model_maximum_is_rejected_with_the_miners_text(start_miner, profile):
    """A too-high power limit: CommandRejectedError (code 132) carrying the miner's Msg; nothing changes, btminer keeps running."""
    miner = start_miner(profile)
    before = miner.state
    maximum = MODELS[before.model].max_power_limit_w
    with pytest.raises(CommandRejectedError) as caught:
        make_client(miner).privileged("adjust_power_limit", power_limit=str(maximum + 1000))
    error = caught.value
    assert not isinstance(error, UnsupportedCommandError)
    assert error.code == 132
    assert "above the maximum" in error.miner_message
    assert error.miner_message in str(error)
    assert error.command == "adjust_power_limit"
    assert miner.state == before
    assert miner.btminer_running()


@pytest.mark.parametrize("profile", PROFILES)
def test_set_hostname_takes_effect_at_the_next_reboot(start_miner, profile):
    """set_hostname is pending until a reboot; after the reboot window the miner reports the new name."""
    miner = start_miner(profile)
    client = make_client(miner)
    assert_ok(client.privileged("set_hostname", hostname="rack7-m04"))
    assert (miner.state.hostname, miner.state.pending_hostname) == ("WhatsMiner", "rack7-m04")
    assert_ok(client.privileged("reboot"))
    assert (miner.state.hostname, miner.state.pending_hostname) == ("rack7-m04", None)
    wait_until_serving(miner)
    if profile != "1.4.x":
        assert client.read("get_miner_info")["Msg"]["hostname"] == "rack7-m04"


@pytest.mark.parametrize("profile", PROFILES)
def test_factory_reset_locks_the_write_api(start_miner, profile):
    """After factory_reset (and its reboot window) the write API is off: WriteApiDisabledError even with the factory password."""
    miner = start_miner(profile)
    assert_ok(make_client(miner).privileged("factory_reset"))
    wait_until_serving(miner)
    with pytest.raises(WriteApiDisabledError):
        make_client(miner, password="admin").privileged("enable_web_pools")


# ---------------------------------------------------------------------------------------------
# Error mapping


@pytest.mark.parametrize("profile", PROFILES)
def test_wrong_admin_password_is_an_authentication_error(start_miner, profile):
    """The miner cannot decrypt the request (code 23): AuthenticationError, nothing applied, no password in the text."""
    miner = start_miner(profile)
    before = miner.state
    with pytest.raises(AuthenticationError) as caught:
        make_client(miner, password=WRONG_PASSWORD).privileged("update_pools", **POOLS_PARAMS)
    assert caught.value.code == 23
    assert "password given to the module is wrong" in str(caught.value)
    assert miner.state == before
    assert_no_secret(caught.value, PASSWORD, WRONG_PASSWORD, POOL_SECRET, OTHER_POOL_SECRET)


@pytest.mark.parametrize("profile", PROFILES)
def test_disabled_write_api_is_a_write_api_disabled_error(start_miner, profile):
    """Write API switched off: WriteApiDisabledError whose message says how to enable it in WhatsMinerTool."""
    miner = start_miner(profile, write_api_enabled=False)
    with pytest.raises(WriteApiDisabledError) as caught:
        make_client(miner).privileged("set_led", param="auto")
    assert caught.value.code == 45
    assert "WhatsMinerTool" in str(caught.value)
    assert f"{miner.host}:{miner.port}" in str(caught.value)
    assert miner.state.write_api_enabled is False


@pytest.mark.parametrize("profile", PROFILES)
def test_token_limit_is_a_token_limit_error(start_miner, profile):
    """With one token per IP, a second client's get_token is refused (136): TokenLimitError."""
    miner = start_miner(profile, config={"tokens_per_ip": 1})
    assert_ok(make_client(miner).privileged("enable_web_pools"))
    second = make_client(miner)
    with pytest.raises(TokenLimitError) as caught:
        second.privileged("disable_web_pools")
    assert caught.value.code == 136
    assert caught.value.command == "get_token"
    assert second.commands_sent == ["get_token"]
    assert miner.counters.tokens_issued == 1
    assert miner.state.web_pools is True


@pytest.mark.parametrize("how", ["expiry", "reset", "reset-encrypted-135"])
@pytest.mark.parametrize("profile", PROFILES)
def test_a_lost_token_is_renewed_transparently(start_miner, profile, how):
    """An expired (or forgotten) token gets 135 (plaintext, or encrypted like Tether's mock sends it); the client
    fetches a second token and the command succeeds."""
    expiry = 0.25
    miner = start_miner(profile, config={"token_expiry_s": expiry, "encrypt_token_errors": how.endswith("encrypted-135")})
    client = make_client(miner)
    assert_ok(client.privileged("enable_btminer_fast_boot"))
    if how == "expiry":
        issued = next(entry.monotonic for entry in miner.log if entry.command == "get_token")
        wait_for(lambda: time.monotonic() > issued + expiry + 0.05, timeout=WINDOW_DEADLINE_S)
    else:
        miner.reset()  # back to the initial state and settings; tokens are cleared
    assert_ok(client.privileged("disable_btminer_fast_boot"))
    assert client.tokens_requested == 2
    assert miner.counters.tokens_issued == 2
    assert [(entry.command, entry.code) for entry in miner.log][-3:] == [
        ("disable_btminer_fast_boot", 135), ("get_token", 134), ("disable_btminer_fast_boot", 131),
    ]
    assert miner.state.fast_boot is False


@pytest.mark.parametrize("profile", PROFILES)
def test_btminer_restart_window_then_recovery(start_miner, profile):
    """During a btminer restart, cgminer reads raise MinerRestartingError after the retries, daemon reads still work,
    and the same reads succeed once the window is over."""
    miner = start_miner(profile, config={"restart_seconds": OBSERVED_WINDOW_S})
    client = make_client(miner, retries=2, retry_delay=0.02)
    assert_ok(client.privileged("restart_btminer"))
    opened = client.connections_opened
    with pytest.raises(MinerRestartingError) as caught:
        client.read("summary")
    assert client.connections_opened - opened == 3
    assert caught.value.request_sent is True
    assert "(3 attempts)" in str(caught.value)
    assert f"{miner.host}:{miner.port}" in str(caught.value)
    assert client.read("status")["STATUS"] == "S"

    def summary_when_back() -> dict[str, Any] | None:
        try:
            return client.read("summary")
        except MinerRestartingError:
            return None

    reply = wait_for(summary_when_back, timeout=WINDOW_DEADLINE_S, interval=0.05)
    assert reply["SUMMARY"][0]["MHS av"] > 0
    assert miner.btminer_running()


@pytest.mark.parametrize("mode", ["refuse", "reset", "close"])
def test_btminer_restart_window_other_daemon_behaviours_are_connection_errors(start_miner, mode):
    """When the daemon refuses, resets or closes during the restart, reads raise MinerConnectionError (not restarting)."""
    miner = start_miner("2.0.x", config={"restart_seconds": 5.0, "btminer_down_reply": mode})
    client = make_client(miner)
    assert_ok(client.privileged("restart_btminer"))
    if mode == "refuse":
        wait_until_closed(miner)
    with pytest.raises(MinerConnectionError) as caught:
        client.read("summary")
    assert not isinstance(caught.value, MinerRestartingError)
    assert caught.value.request_sent is (mode != "refuse")
    assert f"{miner.host}:{miner.port}" in str(caught.value)


@pytest.mark.parametrize("profile", PROFILES)
def test_reboot_window_is_a_connection_error_then_the_client_recovers(start_miner, profile):
    """While the control board reboots nothing listens: MinerConnectionError; afterwards reads work and the
    client renews its token (the reboot cleared it) without being asked."""
    miner = start_miner(profile, config={"reboot_seconds": OBSERVED_WINDOW_S})
    client = make_client(miner)
    assert_ok(client.privileged("reboot"))
    wait_until_closed(miner)
    for call in (lambda: client.read("get_version"), lambda: client.privileged("enable_web_pools")):
        with pytest.raises(MinerConnectionError) as caught:
            call()
        assert type(caught.value) is MinerConnectionError  # pylint: disable=unidiomatic-typecheck
        assert caught.value.request_sent is False
        assert f"{miner.host}:{miner.port}" in str(caught.value)
    wait_until_serving(miner)
    assert client.read("get_version")["Msg"]["fw_ver"] == FIRMWARE[profile]
    assert_ok(client.privileged("enable_web_pools"))
    assert client.tokens_requested == 2


@pytest.mark.parametrize("profile", PROFILES)
def test_refused_miner_is_a_connection_error_naming_the_miner(start_miner, profile):
    """A miner that refuses connections: MinerConnectionError naming host:port, nothing sent, after the retries."""
    miner = start_miner(profile)
    miner.configure(refuse_connections=True)
    client = make_client(miner, retries=2, retry_delay=0.01)
    with pytest.raises(MinerConnectionError) as caught:
        client.read("summary")
    assert type(caught.value) is MinerConnectionError  # pylint: disable=unidiomatic-typecheck
    assert f"{LOOPBACK}:{miner.port}" in str(caught.value)
    assert (caught.value.host, caught.value.port, caught.value.request_sent) == (LOOPBACK, miner.port, False)
    assert "(3 attempts)" in str(caught.value)
    assert client.connections_opened == 0
    with pytest.raises(MinerConnectionError) as caught:
        client.privileged("update_pools", **POOLS_PARAMS)
    assert f"{LOOPBACK}:{miner.port}" in str(caught.value)
    assert_no_secret(caught.value, PASSWORD, POOL_SECRET, OTHER_POOL_SECRET)
    assert miner.counters.connections == 0

    miner.configure(refuse_connections=False)
    assert cgminer_status(client.read("summary"))["Code"] == 11


# ---------------------------------------------------------------------------------------------
# Secrets


def fail_wrong_password(miner: Any) -> None:
    """update_pools with a wrong admin password."""
    make_client(miner, password=WRONG_PASSWORD).privileged("update_pools", **POOLS_PARAMS)


def fail_write_api_disabled(miner: Any) -> None:
    """update_pools with the write API switched off."""
    miner.set_state(write_api_enabled=False)
    make_client(miner).privileged("update_pools", **POOLS_PARAMS)


def fail_pools_rejected(miner: Any) -> None:
    """update_pools answered with code 132."""
    miner.add_fault(kind="code", code=132, commands=["update_pools"])
    make_client(miner).privileged("update_pools", **POOLS_PARAMS)


def fail_wrong_old_password(miner: Any) -> None:
    """update_pwd whose ``old`` does not match."""
    make_client(miner).privileged("update_pwd", old=WRONG_PASSWORD, new=NEW_PASSWORD)


def fail_reply_dropped(miner: Any) -> None:
    """update_pools whose reply is cut and the connection reset."""
    miner.add_fault(kind="drop", mode="reset", commands=["update_pools"])
    make_client(miner).privileged("update_pools", **POOLS_PARAMS)


def fail_garbage_reply(miner: Any) -> None:
    """update_pools answered with random bytes."""
    miner.add_fault(kind="garbage", commands=["update_pools"])
    make_client(miner).privileged("update_pools", **POOLS_PARAMS)


def fail_token_limit(miner: Any) -> None:
    """update_pools from a second client while the only token per IP is taken."""
    miner.configure(tokens_per_ip=1)
    make_client(miner).privileged("enable_web_pools")
    make_client(miner).privileged("update_pools", **POOLS_PARAMS)


def fail_refused(miner: Any) -> None:
    """update_pools to a miner that refuses connections."""
    miner.configure(refuse_connections=True)
    make_client(miner).privileged("update_pools", **POOLS_PARAMS)


FAILURES = [fail_wrong_password, fail_write_api_disabled, fail_pools_rejected, fail_wrong_old_password, fail_reply_dropped,
            fail_garbage_reply, fail_token_limit, fail_refused]


@pytest.mark.parametrize("failure", FAILURES, ids=[failure.__name__[len("fail_"):] for failure in FAILURES])
@pytest.mark.parametrize("profile", PROFILES)
def test_no_secret_in_any_error(start_miner, profile, failure):
    """Whatever goes wrong, no admin password (right, wrong or new) and no pool password shows in the error."""
    miner = start_miner(profile)
    with pytest.raises(WhatsminerError) as caught:
        failure(miner)
    assert f"{miner.host}:{miner.port}" in str(caught.value)
    assert_no_secret(caught.value, PASSWORD, WRONG_PASSWORD, NEW_PASSWORD, POOL_SECRET, OTHER_POOL_SECRET)
