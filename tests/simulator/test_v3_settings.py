"""Device settings (issue 17) on the simulator: what each generation takes, reports and restarts.

API 3: the settings writes, ``get.fan.setting``, ``get.miner.history``, ``get.log.download`` and
``set.miner.service enable|disable``; API 2: which generation reports which setting; pyasic's
low-level clients (API 2 and API 3) read the settings back.
"""

from __future__ import annotations

import asyncio
import io
import struct
import tarfile
import time
from typing import Any, Callable, Coroutine

import pytest
from pyasic.rpc.btminer import BTMinerRPCAPI, BTMinerV3RPCAPI
from sim_client import PrivilegedClient, read
from sim_client_v3 import WriterV3, connect, frame, get, receive_exactly, receive_frame

from whatsminer_sim import Fleet, wait_for
from whatsminer_sim.profiles import PROFILES, REPORTED_SETTINGS
from whatsminer_sim.v3_replies import HISTORY_STEP_S

TIMEOUT_S = 20.0


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a pyasic coroutine with a hard time bound."""
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT_S))


@pytest.fixture(name="v3_miner")
def fixture_v3_miner(start_fleet: Callable[..., Fleet]) -> Any:
    """One 3.x miner."""
    return start_fleet(profiles="3.x", seed=17).miners[0]


def test_fan_settings_written_and_read_back(v3_miner: Any) -> None:
    """set.fan.temp_offset/poweroff_cool/zero_speed change what get.fan.setting reports (numbers, flags 1/0)."""
    writer = WriterV3(v3_miner)
    assert get(v3_miner, "get.fan.setting")["msg"] == {"fan-poweroff-cool": 0, "fan-zero-speed": 0, "fan-temp-offset": 0}
    assert writer.call("set.fan.temp_offset", -12)["code"] == 0
    assert writer.call("set.fan.poweroff_cool", 1)["code"] == 0
    assert writer.call("set.fan.zero_speed", "1")["code"] == 0
    assert get(v3_miner, "get.fan.setting")["msg"] == {"fan-poweroff-cool": 1, "fan-zero-speed": 1, "fan-temp-offset": -12}
    assert writer.call("set.fan.temp_offset", -31)["code"] == -2
    assert writer.call("set.fan.temp_offset", 1)["code"] == -2
    assert writer.call("set.fan.zero_speed", 2)["code"] == -2
    assert writer.call("set.fan.poweroff_cool")["code"] == -3
    assert v3_miner.state.temp_offset == -12


def test_time_zone_ntp_and_upfreq(v3_miner: Any) -> None:
    """set.system.timezone/ntp_server show in get.system.setting; set.miner.upfreq_speed in get.miner.setting (0..10)."""
    writer = WriterV3(v3_miner)
    assert writer.call("set.system.timezone", {"timezone": "CET-1CEST,M3.5.0,M10.5.0/3", "zonename": "Europe/Berlin"})["code"] == 0
    assert writer.call("set.system.ntp_server", "ntp1.example.net,ntp2.example.net")["code"] == 0
    system = get(v3_miner, "get.system.setting")["msg"]
    assert (system["timezone"], system["zonename"]) == ("CET-1CEST,M3.5.0,M10.5.0/3", "Europe/Berlin")
    assert system["ntp-server"] == ["ntp1.example.net", "ntp2.example.net"]
    assert writer.call("set.system.ntp_server", "a b")["code"] == -2
    assert writer.call("set.system.ntp_server", ["ntp1.example.net"])["code"] == -2
    assert writer.call("set.system.timezone", {"timezone": "UTC0"})["code"] == -2
    assert writer.call("set.miner.upfreq_speed", 10)["code"] == 0
    assert get(v3_miner, "get.miner.setting")["msg"]["upfreq-speed"] == 10
    assert writer.call("set.miner.upfreq_speed", 11)["code"] == -2


def test_service_enable_disable(v3_miner: Any) -> None:
    """set.miner.service disable: btminer keeps running now, does not start after the next reboot; enable undoes it."""
    writer = WriterV3(v3_miner)
    assert writer.call("set.miner.service", "disable")["code"] == 0
    assert v3_miner.state.mining and not v3_miner.state.service_enabled
    assert writer.call("set.system.reboot") is not None
    wait_for(v3_miner.api_available, timeout=5)
    assert v3_miner.state.mining is False
    assert get(v3_miner, "get.device.info", "miner")["msg"]["miner"]["working"] == "false"
    writer = WriterV3(v3_miner)
    assert writer.call("set.miner.service", "enable")["code"] == 0
    assert writer.call("set.miner.service", "start")["code"] == 0
    assert v3_miner.state.service_enabled and v3_miner.state.mining


def test_history_span(v3_miner: Any) -> None:
    """get.miner.history: one record per 5 minutes, clamped to the uptime and 24 hours; start/stop or begin/end."""
    now = int(time.time())
    records = get(v3_miner, "get.miner.history", {"start": str(now - 3600), "stop": str(now)})["msg"]["Data"].split(" ")
    stamps = [int(record.split(",")[0]) for record in records]
    assert len(stamps) in (12, 13) and all(stamp % HISTORY_STEP_S == 0 for stamp in stamps)
    assert all(float(record.split(",")[1]) > 0 for record in records)
    day = get(v3_miner, "get.miner.history", {"begin": 1, "end": now})["msg"]["Data"].split(" ")
    assert len(day) <= 86400 // HISTORY_STEP_S + 1
    assert get(v3_miner, "get.miner.history", {"start": now, "stop": now - 10})["code"] == -2


def test_log_download_streams_a_tgz(v3_miner: Any) -> None:
    """get.log.download: a reply with logsize, then the archive in length-prefixed frames of at most 10 KB."""
    with connect(v3_miner) as sock:
        sock.sendall(frame({"cmd": "get.log.download"}))
        reply = receive_frame(sock)
        assert reply is not None and reply["code"] == 0
        size = reply["msg"]["logsize"]
        data = b""
        while len(data) < size:
            (length,) = struct.unpack("<I", receive_exactly(sock, 4))
            assert 0 < length <= 10240
            data += receive_exactly(sock, length)
    assert len(data) == size
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        assert archive.getnames() == ["miner.log"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_api2_reports_what_the_profile_says(start_fleet: Callable[..., Fleet], profile: str) -> None:
    """hostname and LED in get_miner_info, fast boot in summary: exactly where REPORTED_SETTINGS says (API 2 port)."""
    miner = start_fleet(profiles=profile, seed=5).miners[0]
    summary = read(miner, "summary")["SUMMARY"][0]
    assert ("Btminer Fast Boot" in summary) == ("fast_boot" in REPORTED_SETTINGS[profile])
    info = read(miner, "get_miner_info")
    assert ("hostname" in info.get("Msg", {})) == ("hostname" in REPORTED_SETTINGS[profile]), info


def test_api2_settings_writes(start_fleet: Callable[..., Fleet]) -> None:
    """The API 2 writes change the true state; hostname waits for a reboot, ledstat shows the manual LED."""
    miner = start_fleet(profiles="2024", seed=5).miners[0]
    client = PrivilegedClient(miner)
    assert client.call("set_hostname", hostname="rack1-a01")["Code"] == 131
    assert client.call("set_zone", timezone="UTC0", zonename="UTC")["Code"] == 131
    assert client.call("set_temp_offset", temp_offset="-5")["Code"] == 131
    assert client.call("adjust_upfreq_speed", upfreq_speed="3")["Code"] == 131
    assert client.call("set_led", color="red", period="1000", duration="500", start="0")["Code"] == 131
    state = miner.state
    assert (state.pending_hostname, state.hostname, state.timezone, state.temp_offset, state.upfreq_speed) == (
        "rack1-a01", "WhatsMiner", "UTC0", -5, 3)
    assert read(miner, "get_miner_info")["Msg"]["ledstat"] == "manual"


def test_pyasic_reads_the_settings(start_fleet: Callable[..., Fleet]) -> None:
    """pyasic's low-level clients read the settings back: API 2 get_miner_info/summary, API 3 fan/system/miner settings, history, logs."""
    fleet = start_fleet(profiles="2024,3.x", count=2, seed=8)
    api2_miner, v3_miner = fleet.miners
    api2 = BTMinerRPCAPI(api2_miner.host, port=api2_miner.port)
    info = run(api2.get_miner_info())["Msg"]
    assert (info["hostname"], info["ledstat"]) == ("WhatsMiner", "auto")
    assert run(api2.summary())["SUMMARY"][0]["Btminer Fast Boot"] == "disable"
    assert WriterV3(v3_miner).call("set.fan.temp_offset", -7)["code"] == 0
    api3 = BTMinerV3RPCAPI(v3_miner.host, port=v3_miner.v3_port)

    async def scenario() -> dict[str, Any]:
        return {"fan": await api3.get_fan_setting(), "system": await api3.get_system_setting(),
                "setting": await api3.get_miner_setting(), "history": await api3.get_miner_history(),
                "log": await api3.get_log_download()}

    replies = run(scenario())
    assert replies["fan"]["msg"]["fan-temp-offset"] == -7
    assert replies["system"]["msg"]["ntp-server"] == v3_miner.state.ntp_servers
    assert replies["setting"]["msg"]["fast-boot"] == "disable"
    assert replies["history"] and all(len(values) == 2 for values in replies["history"].values())
    assert replies["log"]["msg"]["logsize"] > 0
