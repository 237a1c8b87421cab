# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile miner: whatever a miner sends back, the client raises only its typed errors.

Property tests (hypothesis, derandomized so that every run tries the same examples):

* any bytes, in any chunks, ended by a close, a reset or a timeout, as the reply to a read, a
  joined read, ``get_token`` or a write, or encrypted as the reply to a write: the client returns
  a dict (``None`` where no reply is expected) or raises a ``WhatsminerError``, nothing else;
* a reply cut off anywhere is never taken for the whole: it is the complete document or a
  ``MalformedReplyError`` (or, when fact gathering accepts truncated replies, it is recorded);
* real replies of every command with any of their values replaced by any JSON value (wrong types,
  huge numbers, NaN, nesting): fact gathering, the pools plan and the power plan return a result
  or fail with ``ModuleFailure``/``WhatsminerError``, never with another exception.

Real replies come from an in-process simulated miner (2024 firmware), read once per module.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import socket
from typing import Any, Iterator
from unittest import mock

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _facts, _pools, _power
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import WhatsminerClient
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import MalformedReplyError, WhatsminerError
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_miner import MinerCrypto
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import FAST_CONFIG, Fleet

hypothesis = pytest.importorskip("hypothesis")
strategies = pytest.importorskip("hypothesis.strategies")

SUITE = "hostile miner (client fuzz)"
PASSWORD = "fuzz_1"
#: Derandomized: every run tries the same examples; no example database is written.
# No timing thresholds: neither a deadline nor the "input generation is slow" health check (a busy CI host stalls).
SETTINGS = hypothesis.settings(max_examples=200, deadline=None, database=None, derandomize=True, suppress_health_check=[hypothesis.HealthCheck.too_slow])
LOGIC_SETTINGS = hypothesis.settings(SETTINGS, max_examples=150)
CUT_SETTINGS = hypothesis.settings(SETTINGS, max_examples=400)
ENDINGS = ("close", "reset", "timeout")
READ_COMMANDS = ("summary", "pools", "devs", "devdetails", "status", "get_version", "get_psu", "get_miner_info", "get_error_code")
FACT_COMMANDS = READ_COMMANDS

JSON_SCALARS = (strategies.none() | strategies.booleans() | strategies.integers(min_value=-(2**70), max_value=2**70)
                | strategies.floats() | strategies.text(max_size=24))
JSON_VALUES = strategies.recursive(
    JSON_SCALARS,
    lambda children: strategies.lists(children, max_size=3) | strategies.dictionaries(strategies.text(max_size=10), children, max_size=3),
    max_leaves=8,
)


# ---------------------------------------------------------------------------------------------
# A socket layer that replays scripted bytes


class ReplaySocket:
    """A connected socket whose peer sends ``chunks`` and then closes, resets or goes silent."""

    def __init__(self, chunks: list[bytes], ending: str) -> None:
        self._chunks = list(chunks)
        self._ending = ending

    def __enter__(self) -> ReplaySocket:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def settimeout(self, value: float) -> None:
        """Timeouts are simulated by the ending."""

    def sendall(self, data: bytes) -> None:
        """The request is accepted whole."""

    def recv(self, size: int) -> bytes:
        """The next chunk; then the ending."""
        del size
        if self._chunks:
            return self._chunks.pop(0)
        if self._ending == "reset":
            raise ConnectionResetError(104, "Connection reset by peer")
        if self._ending == "timeout":
            raise socket.timeout("timed out")
        return b""

    def close(self) -> None:
        """Nothing to release."""


class ReplayConnect:
    """``socket.create_connection`` that serves one scripted reply per connection, the last one again when they run out."""

    def __init__(self, replies: list[tuple[list[bytes], str]]) -> None:
        self._replies = list(replies)
        self.connections = 0

    def __call__(self, *args: Any, **kwargs: Any) -> ReplaySocket:
        del args, kwargs
        self.connections += 1
        chunks, ending = self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]
        return ReplaySocket(chunks, ending)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` split at the positions ``cuts`` (taken modulo its length)."""
    if not data:
        return []
    points = sorted({cut % len(data) for cut in cuts} - {0})
    return [data[start:end] for start, end in zip([0, *points], [*points, len(data)])]


@strategies.composite
def replies(draw: Any, payloads: Any = None) -> tuple[list[bytes], str]:
    """A reply as it arrives: some bytes, in some chunks, with some ending."""
    data = draw(payloads if payloads is not None else hostile_bytes())
    cuts = draw(strategies.lists(strategies.integers(min_value=0, max_value=10_000), max_size=4))
    return chunked(data, cuts), draw(strategies.sampled_from(ENDINGS))


@strategies.composite
def hostile_bytes(draw: Any) -> bytes:
    """Random bytes, JSON of any shape, or an envelope with wrongly typed STATUS/Code/Msg, sometimes with trailing junk."""
    kind = draw(strategies.sampled_from(("bytes", "json", "envelope", "cgminer", "deep")))
    if kind == "bytes":
        return draw(strategies.binary(max_size=600))
    if kind == "deep":
        depth = draw(strategies.integers(min_value=2, max_value=100_000))
        opener, closer = draw(strategies.sampled_from(((b"[", b"]"), (b'{"a":', b"}"))))
        return b'{"STATUS":"S","Msg":' + opener * depth + b"1" + closer * depth + b"}"
    if kind == "json":
        return json.dumps(draw(JSON_VALUES)).encode()
    envelope = {"STATUS": draw(JSON_VALUES), "Code": draw(JSON_VALUES), "Msg": draw(JSON_VALUES), "When": draw(JSON_VALUES)}
    if kind == "cgminer":
        envelope = {"STATUS": [envelope], draw(strategies.sampled_from(("SUMMARY", "POOLS", "DEVS", "enc"))): draw(JSON_VALUES)}
    tail = draw(strategies.sampled_from((b"", b"\x00", b",", b"}", b"garbage")))
    return json.dumps(envelope).encode() + tail


def client(**options: Any) -> WhatsminerClient:
    """A client that never waits between attempts."""
    return WhatsminerClient("192.0.2.10", 4028, password=PASSWORD, timeout=1.0, retries=1, retry_delay=0.0, **options)


def outcome_of(call: Any) -> Any:
    """Run ``call``; a ``WhatsminerError`` is an outcome like any result, every other exception fails the test."""
    try:
        return call()
    except WhatsminerError as error:
        assert str(error) and error.host == "192.0.2.10"
        return error


# ---------------------------------------------------------------------------------------------
# Any bytes


@SETTINGS
@hypothesis.given(reply=replies(), command=strategies.sampled_from(READ_COMMANDS + ("get_token",)))
def test_any_reply_to_a_read_is_a_dict_or_a_typed_error(figures, reply, command):
    figures.add(SUITE, examples=1)
    with mock.patch.object(socket, "create_connection", ReplayConnect([reply])):
        result = outcome_of(lambda: client().read(command))
    assert isinstance(result, (dict, WhatsminerError))


@SETTINGS
@hypothesis.given(joined=replies(), single=replies())
def test_any_reply_to_a_joined_read_is_dicts_or_a_typed_error(figures, joined, single):
    figures.add(SUITE, examples=1)
    with mock.patch.object(socket, "create_connection", ReplayConnect([joined, single])):
        result = outcome_of(lambda: client().read_many(["summary", "pools", "devs", "status"]))
    if not isinstance(result, WhatsminerError):
        assert list(result) == ["summary", "pools", "devs", "status"] and all(isinstance(part, dict) for part in result.values())


@SETTINGS
@hypothesis.given(token=replies(), reply=replies(), expect_reply=strategies.booleans())
def test_any_reply_to_get_token_and_to_a_write_is_a_typed_error_or_a_reply(figures, token, reply, expect_reply):
    figures.add(SUITE, examples=1)
    with mock.patch.object(socket, "create_connection", ReplayConnect([token, reply])):
        result = outcome_of(lambda: client().privileged("power_on", expect_reply=expect_reply))
    assert result is None or isinstance(result, (dict, WhatsminerError))


def encrypted(crypto: MinerCrypto, plaintext: bytes) -> bytes:
    """``{"enc": ...}`` holding ``plaintext`` encrypted with the miner's key (zero padded), as a write's reply."""
    from Crypto.Cipher import AES  # pylint: disable=import-outside-toplevel

    padded = plaintext + b"\0" * (-len(plaintext) % 16)
    return json.dumps({"enc": base64.b64encode(AES.new(crypto.aes_key, AES.MODE_ECB).encrypt(padded)).decode()}).encode()


@SETTINGS
@hypothesis.given(plaintext=hostile_bytes(), ending=strategies.sampled_from(ENDINGS))
def test_any_encrypted_reply_to_a_write_is_a_typed_error_or_a_reply(figures, plaintext, ending):
    figures.add(SUITE, examples=1)
    crypto = MinerCrypto(PASSWORD)
    script = [([crypto.token_reply()], "close"), ([encrypted(crypto, plaintext)], ending)]
    with mock.patch.object(socket, "create_connection", ReplayConnect(script)):
        result = outcome_of(lambda: client().privileged("update_pools", pool1="stratum+tcp://p.example.com:3333", worker1="w", passwd1="x"))
    assert isinstance(result, (dict, WhatsminerError))


# ---------------------------------------------------------------------------------------------
# Truncated replies


@pytest.fixture(name="real_replies", scope="module")
def fixture_real_replies() -> Iterator[dict[str, bytes]]:
    """The raw reply of every read command of a simulated 2024 miner (pools, boards and error codes included)."""
    fleet = Fleet.start(count=1, profiles="2024", seed=3, address_mode="ports", config=FAST_CONFIG)
    try:
        miner = fleet.miners[0]
        miner.set_state(error_codes=[329, 110])
        recorder = WhatsminerClient(miner.host, miner.port, timeout=2.0)
        raw: dict[str, bytes] = {}
        real_exchange = recorder._exchange  # pylint: disable=protected-access

        def record(wire_command: str, payload: bytes, wait: float, connect_timeout: float | None = None) -> bytes:
            raw[wire_command] = real_exchange(wire_command, payload, wait, connect_timeout)
            return raw[wire_command]

        recorder._exchange = record  # pylint: disable=protected-access
        for command in READ_COMMANDS:
            recorder.read(command)
        yield raw
    finally:
        fleet.stop()


@CUT_SETTINGS
@hypothesis.given(command=strategies.sampled_from(READ_COMMANDS), cut=strategies.floats(min_value=0.0, max_value=1.0),
                  ending=strategies.sampled_from(ENDINGS), accept_truncated=strategies.booleans())
def test_a_cut_off_reply_is_never_taken_for_the_whole(figures, real_replies, command, cut, ending, accept_truncated):
    figures.add(SUITE, examples=1)
    whole = real_replies[command]
    part = whole[:int(len(whole) * cut)]
    reader = client(accept_truncated=accept_truncated)
    with mock.patch.object(socket, "create_connection", ReplayConnect([([part] if part else [], ending)])):
        result = outcome_of(lambda: reader.read(command))
    if isinstance(result, dict) and result != json.loads(whole):
        assert accept_truncated and reader.truncated_replies == [command], "a partial reply passed for the whole"
    if not accept_truncated:
        assert isinstance(result, WhatsminerError) or result == json.loads(whole)
    if ending == "close" and 0 < len(part) < len(whole.rstrip(b"\x00 \r\n")):
        assert isinstance(result, MalformedReplyError) or accept_truncated, "a reply closed early must be refused"


# ---------------------------------------------------------------------------------------------
# Real replies with hostile values, through the modules' logic


def paths_of(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """The path (keys and indexes) of every value inside ``value``."""
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield prefix + (key,)
        yield from paths_of(child, prefix + (key,))


@strategies.composite
def mutated(draw: Any, document: dict) -> dict:
    """``document`` with one to four of its values replaced by any JSON value, or removed."""
    document = copy.deepcopy(document)
    for _change in range(draw(strategies.integers(min_value=1, max_value=4))):
        paths = list(paths_of(document))
        if not paths:
            break
        *parents, key = draw(strategies.sampled_from(paths))
        container = document
        for parent in parents:
            container = container[parent]
        if draw(strategies.booleans()) or isinstance(container, list):
            container[key] = draw(JSON_VALUES)
        else:
            del container[key]
    return document


class ReplayClient(WhatsminerClient):
    """A real client whose exchanges return the given replies (joined reads built from them), never touching the network."""

    def __init__(self, replies_by_command: dict[str, bytes]) -> None:
        super().__init__("192.0.2.10", 4028, password=PASSWORD, timeout=1.0, retries=0, retry_delay=0.0)
        self.replies_by_command = replies_by_command

    def _exchange(self, command: str, payload: bytes, wait: float, connect_timeout: float | None = None) -> bytes:
        del payload, wait, connect_timeout
        self.commands_sent.append(command)
        parts = command.split("+")
        if len(parts) == 1:
            return self.replies_by_command[command]
        joined = {part: [json.loads(self.replies_by_command[part], parse_constant=lambda name: None)] for part in parts}
        return json.dumps({**joined, "id": 1}).encode()


@strategies.composite
def hostile_miner(draw: Any, real_replies: dict[str, bytes]) -> dict[str, bytes]:
    """The real replies, one to three of them with hostile values (NaN and infinities written as the firmware would)."""
    replies_by_command = dict(real_replies)
    for command in draw(strategies.lists(strategies.sampled_from(FACT_COMMANDS), min_size=1, max_size=3, unique=True)):
        replies_by_command[command] = json.dumps(draw(mutated(json.loads(real_replies[command])))).encode()
    return replies_by_command


def no_wait_clock() -> tuple[Any, Any]:
    """A clock and a sleep that move time forward instantly (power's waits end at once)."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += max(seconds, 0.001) if not math.isnan(seconds) else 0.001

    return (lambda: now[0]), sleep


def logic_outcome(call: Any) -> Any:
    """Run module logic; its own failures are outcomes, any other exception fails the test."""
    try:
        return call()
    except (ModuleFailure, WhatsminerError) as error:
        return error


@LOGIC_SETTINGS
@hypothesis.given(data=strategies.data())
def test_hostile_values_never_crash_fact_gathering(figures, real_replies, data):
    figures.add(SUITE, examples=1)
    miner = ReplayClient(data.draw(hostile_miner(real_replies)))
    result = logic_outcome(lambda: _facts.gather_facts(miner, {"gather_subset": ["all"], "host": miner.host}))
    assert isinstance(result, (dict, ModuleFailure, WhatsminerError))
    if isinstance(result, dict):
        json.dumps(result["ansible_facts"], allow_nan=True)  # the facts are plain data


@LOGIC_SETTINGS
@hypothesis.given(data=strategies.data())
def test_hostile_values_never_crash_the_pools_plan(figures, real_replies, data):
    figures.add(SUITE, examples=1)
    miner = ReplayClient(data.draw(hostile_miner(real_replies)))
    desired = _pools.validate_pools([{"url": "stratum+tcp://fuzz.example.com:3333", "user": "fuzz.w1"}])
    result = logic_outcome(lambda: _pools.ensure_pools(miner, desired, update_password="on_create", check_mode=True, verify_timeout=1.0))
    assert isinstance(result, (dict, ModuleFailure, WhatsminerError))
    assert "update_pools" not in miner.commands_sent


@LOGIC_SETTINGS
@hypothesis.given(data=strategies.data(), wanted=strategies.sampled_from([{"mining": False}, {"mode": "high"}, {"power_limit": 3000}, {"power_limit": 99999}]))
def test_hostile_values_never_crash_the_power_plan(figures, real_replies, data, wanted):
    figures.add(SUITE, examples=1)
    miner = ReplayClient(data.draw(hostile_miner(real_replies)))
    clock, sleep = no_wait_clock()
    params = {"wait": True, "wait_timeout": 5.0, "mining": None, "mode": None, "power_limit": None, **wanted}
    result = logic_outcome(lambda: _power.manage_power(miner, params, True, True, clock=clock, sleep=sleep))
    assert isinstance(result, (dict, ModuleFailure, WhatsminerError))
    assert miner.tokens_requested == 0
