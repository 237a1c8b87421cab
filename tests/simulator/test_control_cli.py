"""The HTTP control API (in process) and the command line (as a subprocess)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any, Callable

import pytest
from sim_client import read

from whatsminer_sim import Fleet, wait_for
from whatsminer_sim.cli import assignments_to_patch, build_parser

SIMULATOR_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "simulator"))
PROCESS_TIMEOUT_S = 30.0


def http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    """(status, JSON body) of one control API call."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_control_api(start_fleet: Callable[..., Fleet]) -> None:
    """GET/PATCH/log/reset/shutdown on the in-process control server."""
    fleet = start_fleet(count=2, profiles="mixed", control_port=0)
    base = f"http://127.0.0.1:{fleet.control_port}"
    status, body = http("GET", f"{base}/")
    assert status == 200 and body["count"] == 2 and body["miners"][0]["name"] == "miner-001"
    status, body = http("GET", f"{base}/miners")
    assert status == 200 and [miner["profile"] for miner in body["miners"]] == ["1.4.x", "2.0.x"]
    status, body = http("PATCH", f"{base}/miners/miner-002", {
        "state": {"mining": False, "power_mode": "low"}, "config": {"restart_seconds": 0.1},
        "faults": [{"kind": "delay", "seconds": 0.01, "commands": ["status"]}],
    })
    assert status == 200
    assert (body["state"]["mining"], body["state"]["power_mode"], body["config"]["restart_seconds"]) == (False, "low", 0.1)
    assert body["config"]["faults"][0]["kind"] == "delay"
    miner = fleet.miner("miner-002")
    assert miner.state.mining is False
    read(miner, "status")
    status, body = http("GET", f"{base}/miners/miner-002/log")
    assert status == 200 and [entry["command"] for entry in body["log"]] == ["status"]
    assert set(body["log"][0]) == {"monotonic", "wall", "peer", "command", "code", "encrypted", "replied", "api"}
    assert body["log"][0]["api"] == 2
    assert http("PATCH", f"{base}/miners/miner-002", {"state": {"power_mode": "turbo"}})[0] == 400
    assert http("PATCH", f"{base}/miners/miner-002", {"config": {"restart_seconds": -1}, "state": {"hostname": "x"}})[0] == 400
    assert miner.state.hostname == "WhatsMiner"
    assert http("GET", f"{base}/miners/miner-404")[0] == 404
    assert http("DELETE", f"{base}/miners/miner-001")[0] == 405
    status, body = http("POST", f"{base}/miners/miner-002/reset", {"clear_log": True})
    assert status == 200 and body["state"]["mining"] is True and body["config"]["faults"] == []
    assert miner.log == []
    status, body = http("PATCH", f"{base}/miners/miner-002", {"config": {"power_mode_restart": False, "power_limit_set_report": "empty"}})
    assert status == 200 and (body["config"]["power_mode_restart"], body["config"]["power_limit_set_report"]) == (False, "empty")
    assert http("PATCH", f"{base}/miners/miner-002", {"config": {"power_limit_set_report": "never"}})[0] == 400
    http("PATCH", f"{base}/miners/miner-001", {"config": {"refuse_connections": True}})
    assert not fleet.miner("miner-001").listening
    assert not fleet.shutdown_requested.is_set()
    assert http("POST", f"{base}/shutdown", {})[0] == 200
    assert fleet.shutdown_requested.is_set()


def test_ctl_assignments() -> None:
    """``ctl set`` turns key=value pairs into a PATCH body."""
    body = assignments_to_patch(["mining=false", "power_limit_w=3000", "hostname=rig-1", "config.restart_seconds=1.5",
                                 'faults=[{"kind": "garbage"}]'])
    assert body == {"state": {"mining": False, "power_limit_w": 3000, "hostname": "rig-1"},
                    "config": {"restart_seconds": 1.5}, "faults": [{"kind": "garbage"}]}
    with pytest.raises(ValueError):
        assignments_to_patch(["novalue"])


def start_cli(tmp_path: Any, *extra: str) -> tuple[subprocess.Popen[str], str, str]:
    """Start ``python -m whatsminer_sim fleet`` and return (process, state file, inventory)."""
    state_file = str(tmp_path / "state.json")
    inventory = str(tmp_path / "inventory.yml")
    command = [sys.executable, "-m", "whatsminer_sim", "fleet", "--count", "3", "--profiles", "mixed", "--base-port", "0",
               "--control-port", "0", "--state-file", state_file, "--inventory", inventory, "--restart-seconds", "0.2",
               "--reboot-seconds", "0.3", *extra]
    process = subprocess.Popen(command, cwd=SIMULATOR_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, state_file, inventory


def ctl(state_file: str, *arguments: str) -> Any:
    """Run ``python -m whatsminer_sim ctl`` and return its JSON output."""
    result = subprocess.run([sys.executable, "-m", "whatsminer_sim", "ctl", "--state-file", state_file, *arguments],
                            cwd=SIMULATOR_DIR, capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S, check=True)
    return json.loads(result.stdout)


def test_cli_fleet_inventory_and_control(tmp_path: Any) -> None:
    """The CLI writes inventory and state file, serves the control API, stops on ``ctl shutdown``."""
    process, state_file, inventory = start_cli(tmp_path, "--lifetime", "60")
    try:
        wait_for(lambda: os.path.exists(state_file) or process.poll() is not None, timeout=PROCESS_TIMEOUT_S)
        assert process.poll() is None, process.communicate()
        with open(state_file, encoding="utf-8") as handle:
            description = json.load(handle)
        assert description["count"] == 3 and description["pid"] == process.pid
        with open(inventory, encoding="utf-8") as handle:
            text = handle.read()
        assert text.startswith("# Ansible inventory") and "\nminers:\n" in text
        assert "    ansible_connection: local\n" in text
        assert '    ansible_python_interpreter: "{{ ansible_playbook_python }}"\n' in text
        for miner in description["miners"]:
            assert f"    {miner['name']}:\n      ansible_host: \"127.0.0.1\"\n      whatsminer_port: {miner['port']}\n" in text
        assert '      whatsminer_profile: "2024"\n' in text
        listed = ctl(state_file, "get")
        assert [miner["name"] for miner in listed["miners"]] == ["miner-001", "miner-002", "miner-003"]
        changed = ctl(state_file, "set", "miner-003", "mining=false", "config.restart_seconds=0.5")
        assert changed["state"]["mining"] is False and changed["config"]["restart_seconds"] == 0.5
        assert ctl(state_file, "log", "miner-003") == {"log": []}
        assert ctl(state_file, "reset", "miner-003")["state"]["mining"] is True
        assert ctl(state_file, "shutdown") == {"shutting_down": True}
        assert process.wait(timeout=PROCESS_TIMEOUT_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=PROCESS_TIMEOUT_S)


def test_cli_fleets_have_the_factory_password_gate_unless_told_otherwise() -> None:
    """The CLI fleet (integration tests, demo, make sim) locks API 3 writes behind the factory password, as the firmware does."""
    parser = build_parser()
    assert parser.parse_args(["fleet"]).factory_password_gate is True
    assert parser.parse_args(["fleet", "--no-factory-password-gate"]).factory_password_gate is False


def test_cli_exits_when_its_lifetime_ends(tmp_path: Any) -> None:
    """--lifetime bounds the process: it exits by itself with status 0."""
    process, state_file, _inventory = start_cli(tmp_path, "--lifetime", "1")
    try:
        assert process.wait(timeout=PROCESS_TIMEOUT_S) == 0
        assert os.path.exists(state_file)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=PROCESS_TIMEOUT_S)


def test_cli_stops_on_sigterm(tmp_path: Any) -> None:
    """SIGTERM stops the fleet cleanly (status 0)."""
    process, state_file, _inventory = start_cli(tmp_path, "--lifetime", "60")
    try:
        wait_for(lambda: os.path.exists(state_file) or process.poll() is not None, timeout=PROCESS_TIMEOUT_S)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=PROCESS_TIMEOUT_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=PROCESS_TIMEOUT_S)


def test_cli_rejects_non_positive_lifetime(tmp_path: Any) -> None:
    """--lifetime is a mandatory bound: 0 is refused."""
    process, _state_file, _inventory = start_cli(tmp_path, "--lifetime", "0")
    assert process.wait(timeout=PROCESS_TIMEOUT_S) == 2
    process.communicate(timeout=PROCESS_TIMEOUT_S)
