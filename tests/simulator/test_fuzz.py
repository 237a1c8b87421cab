"""Hostile clients: arbitrary requests never crash the simulator or corrupt its state.

Property tests (hypothesis, derandomized: every run tries the same examples) against a miner of
each firmware profile over real loopback connections:

* any bytes (random, JSON of any shape, truncated or oversized JSON, ``enc`` envelopes with junk)
  get a JSON reply or a closed connection, change nothing of the true state, and the miner keeps
  answering;
* authorized (encrypted, valid token) write commands with any parameters, of any type, leave a
  state every reply can still be built from, with every field of the right type;
* any body sent to the control API gets 200 or 400, never a broken connection, and leaves a sound state;
* ``parse_request`` never raises, whatever bytes arrive.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any, Iterator

import pytest
from sim_client import PrivilegedClient
from whatsminer_sim import Fleet, wait_for
from whatsminer_sim.profiles import CGMINER_COMMANDS, DAEMON_READ_COMMANDS, WRITE_COMMANDS
from whatsminer_sim.protocol import MAX_REQUEST_BYTES, parse_request
from whatsminer_sim.state import LED_MODES, POWER_MODES

hypothesis = pytest.importorskip("hypothesis")
strategies = pytest.importorskip("hypothesis.strategies")

SUITE = "hostile client (simulator fuzz)"
PASSWORD = "fuzz_1"
FAST_CONFIG = {"restart_seconds": 0.2, "reboot_seconds": 0.3, "idle_timeout_s": 2.0, "tokens_per_ip": 100000}
PROFILES = ["1.4.x", "2.0.x", "2024", "3.x"]
# No timing thresholds: neither a deadline nor the "input generation is slow" health check (a busy CI host stalls).
SOCKET_SETTINGS = hypothesis.settings(max_examples=120, deadline=None, database=None, derandomize=True, suppress_health_check=[hypothesis.HealthCheck.too_slow])
PURE_SETTINGS = hypothesis.settings(SOCKET_SETTINGS, max_examples=500)
READS = sorted(CGMINER_COMMANDS | DAEMON_READ_COMMANDS - {"get_token"})
COMMAND_NAMES = sorted(CGMINER_COMMANDS | DAEMON_READ_COMMANDS | WRITE_COMMANDS) + ["", "summary+pools", "summary+get_version", "stats", "+", "a" * 300]
EXCHANGE_TIMEOUT_S = 10.0

JSON_SCALARS = (strategies.none() | strategies.booleans() | strategies.integers(min_value=-(2**70), max_value=2**70)
                | strategies.floats(allow_nan=False) | strategies.text(max_size=40))
JSON_VALUES = strategies.recursive(
    JSON_SCALARS,
    lambda children: strategies.lists(children, max_size=3) | strategies.dictionaries(strategies.text(max_size=10), children, max_size=3),
    max_leaves=10,
)
PARAMETER_NAMES = strategies.sampled_from([
    "pool1", "worker1", "passwd1", "pool2", "worker2", "passwd2", "pool3", "worker3", "passwd3", "power_limit", "respbefore", "percent",
    "param", "color", "period", "duration", "start", "hostname", "timezone", "zonename", "ip", "port", "proto", "mask", "gate", "dns",
    "host", "old", "new", "temp_offset", "upfreq_speed", "poweroff_cool", "fan_zero_speed", "complete", "info", "token", "cmd",
]) | strategies.text(max_size=12)
PARAMETERS = strategies.dictionaries(PARAMETER_NAMES, JSON_VALUES, max_size=6)


@pytest.fixture(name="fuzz_fleet", scope="module")
def fixture_fuzz_fleet() -> Iterator[Fleet]:
    """One miner of each profile and the control API; stopped after the module."""
    fleet = Fleet.start(count=len(PROFILES), profiles=PROFILES, seed=5, password=PASSWORD, config=FAST_CONFIG, control_port=0)
    yield fleet
    fleet.stop()


def send_raw(miner: Any, data: bytes) -> bytes:
    """Send ``data``, end the request side (the miner sees EOF), and read until the miner closes."""
    with socket.create_connection((miner.host, miner.port), timeout=EXCHANGE_TIMEOUT_S) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            return b""  # the miner closed first (an oversized request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def answers(miner: Any) -> bool:
    """Whether the miner's API answers a read with a JSON reply (the daemon read, up even while btminer restarts)."""
    try:
        return json.loads(send_raw(miner, b'{"cmd":"get_version"}')).get("STATUS") == "S"
    except (OSError, ValueError):
        return False


def assert_sound(miner: Any) -> None:
    """The true state is valid and typed, and every read command still gets a JSON reply."""
    state = miner.state
    state.validate()
    assert all(isinstance(value, str) for slot in state.pools for value in (slot.url, slot.user, slot.password))
    assert isinstance(state.mining, bool) and state.power_mode in POWER_MODES and state.led in LED_MODES
    assert state.power_limit_w is None or (isinstance(state.power_limit_w, int) and not isinstance(state.power_limit_w, bool))
    assert state.power_pct is None or isinstance(state.power_pct, int)
    for name in ("fast_boot", "web_pools", "write_api_enabled", "poweroff_cool", "fan_zero_speed"):
        assert isinstance(getattr(state, name), bool), name
    for name in ("target_freq_pct", "temp_offset", "upfreq_speed"):
        assert isinstance(getattr(state, name), int), name
    for name in ("admin_password", "hostname", "timezone", "zonename"):
        assert isinstance(getattr(state, name), str), name
    assert all(isinstance(value, str) for value in state.log_target.values())
    wait_for(lambda: answers(miner), timeout=5)
    wait_for(miner.btminer_running, timeout=5)
    for command in READS:
        reply = send_raw(miner, json.dumps({"cmd": command}).encode())
        json.loads(reply)


@strategies.composite
def hostile_requests(draw: Any) -> bytes:
    """Bytes a hostile or broken client might send."""
    kind = draw(strategies.sampled_from(("bytes", "json", "command", "enc", "truncated", "oversized", "deep")))
    if kind == "bytes":
        return draw(strategies.binary(min_size=1, max_size=400))
    if kind == "json":
        return json.dumps(draw(JSON_VALUES)).encode()
    command = {draw(strategies.sampled_from(("cmd", "command"))): draw(strategies.sampled_from(COMMAND_NAMES) | JSON_VALUES), **draw(PARAMETERS)}
    if kind == "command":
        return json.dumps(command).encode()
    if kind == "enc":
        return json.dumps({"enc": draw(JSON_VALUES), "data": draw(strategies.text(max_size=80) | JSON_VALUES)}).encode()
    text = json.dumps(command).encode()
    if kind == "truncated":
        return text[:draw(strategies.integers(min_value=1, max_value=max(1, len(text) - 1)))]
    if kind == "oversized":
        return b'{"cmd":"summary","pad":"' + b"x" * (MAX_REQUEST_BYTES + draw(strategies.integers(0, 1000))) + b'"}'
    depth = draw(strategies.integers(min_value=10, max_value=5000))
    return b'{"cmd":' + b"[" * depth + b"]" * depth + b"}"


@SOCKET_SETTINGS
@hypothesis.given(data=hostile_requests(), which=strategies.integers(min_value=0, max_value=len(PROFILES) - 1))
def test_any_request_gets_json_or_a_close_and_changes_nothing(figures, fuzz_fleet, data, which):
    figures.add(SUITE, examples=1)
    miner = fuzz_fleet.miners[which]
    before = miner.state.to_dict()
    reply = send_raw(miner, data)
    if reply:
        json.loads(reply)  # the firmware's own replies are JSON (no fault is configured)
    assert miner.state.to_dict() == before, "a request without a valid token changed the true state"
    assert answers(miner)


WRITES = sorted(WRITE_COMMANDS)


@SOCKET_SETTINGS
@hypothesis.given(command=strategies.sampled_from(WRITES), params=PARAMETERS, which=strategies.integers(min_value=0, max_value=len(PROFILES) - 1))
def test_authorized_writes_with_any_parameters_leave_a_sound_state(figures, fuzz_fleet, command, params, which):
    figures.add(SUITE, examples=1)
    miner = fuzz_fleet.miners[which]
    miner.reset()
    params = {name: value for name, value in params.items() if name not in ("cmd", "command", "token")}
    writer = PrivilegedClient(miner, password=PASSWORD)
    reply = writer.raw(command, **params)
    if reply:
        writer.decrypt(json.loads(reply))
    assert_sound(miner)


def control_request(fleet: Fleet, method: str, path: str, body: bytes) -> int:
    """Send one request to the control API; its HTTP status."""
    request = urllib.request.Request(f"http://127.0.0.1:{fleet.control_port}{path}", data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=EXCHANGE_TIMEOUT_S) as response:  # nosec: loopback test fleet
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


STATE_FIELDS = strategies.sampled_from(["pools", "mining", "power_mode", "power_limit_w", "admin_password", "error_codes", "led",
                                        "write_api_enabled", "hostname", "profile", "model", "fast_boot", "power_pct"]) | strategies.text(max_size=10)
CONFIG_FIELDS = strategies.sampled_from(["restart_seconds", "faults", "tokens_per_ip", "btminer_down_reply", "refuse_connections",
                                         "pools_apply_delay_s", "pools_apply_restart"]) | strategies.text(max_size=10)


@strategies.composite
def control_bodies(draw: Any) -> bytes:
    """PATCH bodies: JSON of any shape, or the documented shape with any fields and values."""
    if draw(strategies.booleans()):
        return json.dumps(draw(JSON_VALUES)).encode()
    body = {
        "state": draw(strategies.dictionaries(STATE_FIELDS, JSON_VALUES, max_size=3)),
        "config": draw(strategies.dictionaries(CONFIG_FIELDS, JSON_VALUES, max_size=2)),
    }
    if draw(strategies.booleans()):
        body["faults"] = draw(JSON_VALUES)
    return json.dumps(body).encode()


@SOCKET_SETTINGS
@hypothesis.given(body=control_bodies(), which=strategies.integers(min_value=0, max_value=len(PROFILES) - 1))
def test_any_control_request_is_applied_or_refused_whole(figures, fuzz_fleet, body, which):
    figures.add(SUITE, examples=1)
    miner = fuzz_fleet.miners[which]
    miner.reset()
    before = miner.describe()
    status = control_request(fuzz_fleet, "PATCH", f"/miners/{miner.name}", body)
    assert status in (200, 400)
    if status == 400:
        after = miner.describe()
        assert (after["state"], after["config"]) == (before["state"], before["config"]), "a refused change was applied in part"
    miner.configure(faults=[], refuse_connections=False, restart_seconds=FAST_CONFIG["restart_seconds"], btminer_down_reply="message",
                    reboot_seconds=FAST_CONFIG["reboot_seconds"], idle_timeout_s=FAST_CONFIG["idle_timeout_s"])
    assert_sound(miner)
    miner.reset()


@PURE_SETTINGS
@hypothesis.given(data=strategies.binary(max_size=2000) | hostile_requests())
def test_parse_request_never_raises(figures, data):
    figures.add(SUITE, examples=1)
    parsed = parse_request(data)
    assert parsed is None or isinstance(parsed, dict) or type(parsed).__name__ == "InvalidRequest"
