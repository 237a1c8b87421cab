# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of _pools: URL normalization, comparison, validation, plan, verification loop."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _pools as pools
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import CommandRejectedError, MinerRestartingError
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.parsing import parse_reply_detailed
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.fake_time import FakeClock

CAPTURES = Path(__file__).resolve().parents[3] / "fixtures" / "captures"
SECRET = "S3cr3t-pool-marker-7f1c"


def pool(slot, url, user="farm.w1"):
    """A pool as the module reads and returns it."""
    return {"slot": slot, "url": url, "user": user}


# --- normalization and comparison -------------------------------------------------------------

EQUAL_URLS = [
    ("stratum+tcp://pool.example.com:3333", "stratum+tcp://pool.example.com:3333"),
    ("pool.example.com:3333", "stratum+tcp://pool.example.com:3333"),  # default scheme
    ("STRATUM+TCP://pool.example.com:3333", "stratum+tcp://pool.example.com:3333"),  # scheme case
    ("stratum+tcp://Pool.EXAMPLE.com:3333", "stratum+tcp://pool.example.com:3333"),  # host case
    ("stratum+tcp://pool.example.com:3333/", "stratum+tcp://pool.example.com:3333"),  # trailing slash
    ("stratum+tcp://pool.example.com:3333///", "pool.example.com:3333"),
    ("  stratum+tcp://pool.example.com:3333\t", "stratum+tcp://pool.example.com:3333"),  # whitespace
    ("stratum+tcp://pool.example.com:03333", "stratum+tcp://pool.example.com:3333"),  # port spelling
    ("stratum+tcp://pool.example.com", "stratum+tcp://pool.example.com:80"),  # default port (btminer: 80)
    ("pool.example.com", "stratum+tcp://pool.example.com:80"),
    ("stratum+tcp://10.0.0.5:3333", "10.0.0.5:3333"),
    ("stratum+tcp://[2001:DB8:0::1]:3333", "stratum+tcp://[2001:db8::1]:3333"),  # IPv6 spelling
    ("stratum+tcp://btc_pool.example.com:25", "STRATUM+TCP://BTC_POOL.example.com:25/"),
]

DIFFERENT_URLS = [
    ("stratum+tcp://pool.example.com:3333", "stratum+tcp://pool.example.com:443"),  # port
    ("stratum+tcp://pool.example.com:3333", "stratum+tcp://pool2.example.com:3333"),  # host
    ("stratum+tcp://pool.example.com", "stratum+tcp://pool.example.com:3333"),  # default port is 80
    ("stratum+tcp://pool.example.com:3333/eu", "stratum+tcp://pool.example.com:3333"),  # path
    ("http://pool.example.com:3333", "stratum+tcp://pool.example.com:3333"),  # other scheme
    ("stratum://pool.example.com:3333", "stratum+tcp://pool.example.com:3333"),
    ("stratum+tcp://pool.example.com:3333", ""),  # configured vs empty
    ("stratum+tcp://10.0.0.5:3333", "stratum+tcp://10.0.0.50:3333"),
]


@pytest.mark.parametrize("left, right", EQUAL_URLS)
def test_equal_urls(left, right):
    assert pools.normalize_url(left) == pools.normalize_url(right)
    assert pools.pool_key({"url": left, "user": "w"}) == pools.pool_key({"url": right, "user": "w"})


@pytest.mark.parametrize("left, right", DIFFERENT_URLS)
def test_different_urls(left, right):
    assert pools.normalize_url(left) != pools.normalize_url(right)
    assert pools.pool_key({"url": left, "user": "w"}) != pools.pool_key({"url": right, "user": "w"})


@pytest.mark.parametrize("text, canonical", [
    ("Pool.Example.com:3333/", "stratum+tcp://pool.example.com:3333"),
    ("STRATUM+TCP://[::1]:1", "stratum+tcp://[::1]:1"),
    ("stratum+tcp://pool.example.com", "stratum+tcp://pool.example.com:80"),
    (None, ""),
    ("  not a url  ", "not a url"),  # what is no URL is only stripped, so it differs from every valid one
])
def test_normalize_url(text, canonical):
    assert pools.normalize_url(text) == canonical


@pytest.mark.parametrize("left, right, equal", [
    ("farm.w1", "farm.w1", True),
    (" farm.w1 ", "farm.w1", True),
    ("Farm.W1", "farm.w1", False),  # pool accounts may be case sensitive
    ("farm.w1", "farm.w2", False),
    ("farm.w1", "", False),
])
def test_user_comparison(left, right, equal):
    url = "stratum+tcp://pool.example.com:3333"
    assert (pools.pool_key({"url": url, "user": left}) == pools.pool_key({"url": url, "user": right})) is equal


@pytest.mark.parametrize("current, desired, equal", [
    ([pool(1, "pool.example.com:3333")], [pool(1, "stratum+tcp://pool.example.com:3333")], True),
    ([pool(1, "a.example:1"), pool(2, "b.example:2")], [pool(1, "a.example:1"), pool(2, "b.example:2")], True),
    ([pool(1, "a.example:1"), pool(2, "b.example:2")], [pool(1, "b.example:2"), pool(2, "a.example:1")], False),  # order matters
    ([pool(1, "a.example:1"), pool(2, "b.example:2")], [pool(1, "a.example:1")], False),  # extra slot to clear
    ([pool(1, "a.example:1")], [pool(1, "a.example:1"), pool(2, "b.example:2")], False),
    ([pool(2, "a.example:1")], [pool(1, "a.example:1")], False),  # same pool, other slot
    ([], [pool(1, "a.example:1")], False),
    ([pool(1, "a.example:1"), pool(1, "a.example:1")], [pool(1, "a.example:1")], False),  # slot reported twice
    ([pool(4, "a.example:1")], [pool(1, "a.example:1")], False),  # slot out of range
    ([pool(1, "a.example:1", "u1")], [pool(1, "a.example:1", "u2")], False),
])
def test_pools_equal(current, desired, equal):
    assert pools.pools_equal(current, desired) is equal


# --- URL parsing errors -----------------------------------------------------------------------

@pytest.mark.parametrize("url, reason", [
    ("", "is empty"),
    ("http://pool.example.com:3333", "scheme the miner does not mine with"),
    ("stratum+ssl://pool.example.com:3333", "scheme the miner does not mine with"),
    ("stratum+tcp://pool.example.com:3333/eu", "path, query or fragment"),
    ("stratum+tcp://pool.example.com:3333#xnsub", "path, query or fragment"),
    ("stratum+tcp://pool.example.com:3333?a=b", "path, query or fragment"),
    ("stratum+tcp://user:pw@pool.example.com:3333", "credentials"),
    ("stratum+tcp://pool.example.com:0", "invalid port"),
    ("stratum+tcp://pool.example.com:65536", "invalid port"),
    ("stratum+tcp://pool.example.com:33a3", "invalid port"),
    ("stratum+tcp://pool.example.com:", "invalid port"),
    ("stratum+tcp://:3333", "has no host"),
    ("stratum+tcp://pool..example.com:3333", "invalid host name"),
    ("stratum+tcp://-pool.example.com:3333", "invalid host name"),
    ("stratum+tcp://300.1.1.1:3333", "invalid IPv4 address"),
    ("stratum+tcp://[2001:db8::zz]:3333", "invalid IPv6 address"),
    ("stratum+tcp://[2001:db8::1:3333", "closing bracket"),
    ("stratum+tcp://[2001:db8::1]x:3333", "text after the IPv6 address"),
    ("stratum+tcp:/pool.example.com:3333", "give scheme://host:port only"),  # a typo in the separator
])
def test_parse_pool_url_errors(url, reason):
    with pytest.raises(ValueError, match=reason.replace("?", r"\?")):
        pools.parse_pool_url(url)


def test_parse_pool_url_keeps_a_missing_port_missing():
    assert pools.parse_pool_url("pool.example.com") == pools.PoolUrl("stratum+tcp", "pool.example.com", None)
    assert pools.parse_pool_url("pool.example.com:3333").port == 3333


# --- validation -------------------------------------------------------------------------------

def test_valid_pools_are_normalized_and_the_password_defaults_to_x():
    desired = pools.validate_pools([
        {"url": " Pool.Example.com:3333/ ", "user": " farm.w1 ", "password": None},
        {"url": "stratum+tcp://[2001:db8::1]:443", "user": "farm.w1", "password": "d=65536"},
    ])
    assert desired == [
        pools.DesiredPool(1, "stratum+tcp://pool.example.com:3333", "farm.w1", "x"),
        pools.DesiredPool(2, "stratum+tcp://[2001:db8::1]:443", "farm.w1", "d=65536"),
    ]
    assert desired[0].public() == {"slot": 1, "url": "stratum+tcp://pool.example.com:3333", "user": "farm.w1"}


GOOD = {"url": "stratum+tcp://pool.example.com:3333", "user": "farm.w1", "password": "x"}

VALIDATION_ERRORS = [
    ({"url": None}, "pool 1 url: is required"),
    ({"url": "   "}, "pool 1 url: is required"),
    ({"url": "stratum+tcp://pool.example.com"}, "pool 1 url: has no port"),
    ({"url": "http://pool.example.com:3333"}, "pool 1 url: has a scheme the miner does not mine with"),
    ({"url": "stratum+tcp://pool.example.com:99999"}, "pool 1 url: has an invalid port"),
    ({"url": "stratum+tcp://pool example.com:3333"}, "pool 1 url: must not contain spaces"),
    ({"url": "stratum+tcp://pool.example.com:3333\"}"}, "pool 1 url: must not contain quotes"),
    ({"url": "stratum+tcp://pool.exämple.com:3333"}, "pool 1 url: must contain printable ASCII characters only"),
    ({"url": "stratum+tcp://" + "a" * 240 + ".com:3333"}, "pool 1 url: is longer than 240 characters"),
    ({"user": None}, "pool 1 user: is required"),
    ({"user": ""}, "pool 1 user: is required"),
    ({"user": "farm w1"}, "pool 1 user: must not contain spaces"),
    ({"user": "farm.w1\n"}, None),  # surrounding whitespace is stripped
    ({"user": "farm\x00w1"}, "pool 1 user: must contain printable ASCII characters only"),
    ({"user": "farm'w1"}, "pool 1 user: must not contain quotes"),
    ({"user": "farm\\w1"}, "pool 1 user: must not contain quotes (\", ', `) or backslashes"),
    ({"user": "u" * 129}, "pool 1 user: is longer than 128 characters"),
    ({"password": ""}, "pool 1 password: must not be empty"),
    ({"password": "a b"}, "pool 1 password: must not contain spaces"),
    ({"password": 'a"b'}, "pool 1 password: must not contain quotes"),
    ({"password": "a\x7fb"}, "pool 1 password: must contain printable ASCII characters only"),
    ({"password": "p" * 129}, "pool 1 password: is longer than 128 characters"),
]


@pytest.mark.parametrize("change, message", VALIDATION_ERRORS)
def test_validation_errors_name_the_slot_and_the_field(change, message):
    if message is None:
        assert pools.validate_pools([{**GOOD, **change}])[0].user == "farm.w1"
        return
    with pytest.raises(ModuleFailure) as failure:
        pools.validate_pools([{**GOOD, **change}])
    assert message in failure.value.message
    assert failure.value.message.startswith("Invalid pools, nothing was sent to the miner: ")
    assert failure.value.details["validation_errors"] == [failure.value.message.split(": ", 1)[1].rstrip(".")]


def test_every_bad_field_of_every_slot_is_reported_at_once():
    with pytest.raises(ModuleFailure) as failure:
        pools.validate_pools([GOOD, {"url": "pool.example.com", "user": "", "password": ""}, {**GOOD, "user": "a b"}])
    assert failure.value.details["validation_errors"] == [
        "pool 2 url: has no port: give it explicitly, for example stratum+tcp://pool.example.com:3333 "
        "(Stratum has no standard port and the miner would connect to port 80)",
        "pool 2 user: is required (the worker name the pool expects, for example account.worker1)",
        "pool 2 password: must not be empty (use x when the pool does not check passwords)",
        "pool 3 user: must not contain spaces or other whitespace",
    ]


@pytest.mark.parametrize("count", [0, 4])
def test_one_to_three_pools(count):
    with pytest.raises(ModuleFailure, match=f"give 1 to 3 pools in priority order .*got {count}"):
        pools.validate_pools([GOOD] * count)


@pytest.mark.parametrize("password", [SECRET, SECRET + " with space", SECRET + '"', SECRET * 10, SECRET + "\x01"])
def test_messages_never_quote_a_password(password):
    try:
        pools.validate_pools([{**GOOD, "password": password}, {"url": SECRET, "user": SECRET + " x"}])
    except ModuleFailure as failure:
        assert password not in failure.message
        assert password not in json.dumps(failure.details)
    else:
        pytest.fail("pool 2 is invalid")


@pytest.mark.parametrize("value, ok", [(10, True), (0.5, True), (600, True), (0, False), (-1, False), (601, False), (None, False)])
def test_verify_timeout(value, ok):
    if ok:
        assert pools.validate_verify_timeout(value) == float(value)
    else:
        with pytest.raises(ModuleFailure, match="verify_timeout must be more than 0 and at most 600 seconds"):
            pools.validate_verify_timeout(value)


# --- plan and request -------------------------------------------------------------------------

DESIRED = [pools.DesiredPool(1, "stratum+tcp://a.example:3333", "farm.w1", "x"), pools.DesiredPool(2, "stratum+tcp://b.example:443", "farm.w1", "pw")]


def test_plan_without_difference_does_not_write():
    before = [pool(1, "A.example:3333/"), pool(2, "stratum+tcp://b.example:443")]
    plan = pools.plan_pools(before, DESIRED, "on_create")
    assert (plan.differs, plan.write) == (False, False)
    assert plan.predicted_after == before  # nothing is written, so the miner keeps its own spelling


def test_plan_always_writes_and_predicts_what_is_sent():
    before = [pool(1, "A.example:3333/"), pool(2, "stratum+tcp://b.example:443")]
    plan = pools.plan_pools(before, DESIRED, "always")
    assert (plan.differs, plan.write) == (False, True)
    assert plan.predicted_after == [pool(1, "stratum+tcp://a.example:3333"), pool(2, "stratum+tcp://b.example:443")]


def test_plan_with_a_slot_to_clear_writes():
    before = [pool(1, "stratum+tcp://a.example:3333"), pool(2, "stratum+tcp://b.example:443"), pool(3, "stratum+tcp://c.example:25")]
    plan = pools.plan_pools(before, DESIRED, "on_create")
    assert (plan.differs, plan.write) == (True, True)
    assert plan.expected == [pool(1, "stratum+tcp://a.example:3333"), pool(2, "stratum+tcp://b.example:443")]


def test_plan_refuses_an_unknown_update_password():
    with pytest.raises(ModuleFailure, match="update_password must be one of on_create, always"):
        pools.plan_pools([], DESIRED, "sometimes")


def test_update_pools_parameters_has_all_nine_keys_and_empty_strings():
    assert pools.update_pools_parameters(DESIRED) == {
        "pool1": "stratum+tcp://a.example:3333", "worker1": "farm.w1", "passwd1": "x",
        "pool2": "stratum+tcp://b.example:443", "worker2": "farm.w1", "passwd2": "pw",
        "pool3": "", "worker3": "", "passwd3": "",
    }


def test_diff_has_no_passwords():
    diff = pools.pools_diff([pool(1, "stratum+tcp://old.example:1")], [desired.public() for desired in DESIRED])
    assert diff == {
        "before": {"pools": [pool(1, "stratum+tcp://old.example:1")]},
        "after": {"pools": [pool(1, "stratum+tcp://a.example:3333"), pool(2, "stratum+tcp://b.example:443")]},
    }
    assert "pw" not in json.dumps(diff)


# --- reading the pools reply ------------------------------------------------------------------

def test_configured_pools_of_real_replies():
    v1 = json.loads((CAPTURES / "asic-rs-v1-real" / "pools.json").read_text(encoding="utf-8"))
    assert pools.configured_pools(v1) == [
        pool(1, "stratum+tcp://btc.example.pool:3333", "asic-rs.test"),
        pool(2, "stratum+tcp://btc2.example.pool:3333", "asic-rs.test"),
        pool(3, "stratum+tcp://btc3.example.pool:3333", "asic-rs.test"),
    ]
    document = parse_reply_detailed((CAPTURES / "microbt-api-v2.0.5-pdf" / "pools.json").read_bytes())[0]
    assert pools.configured_pools(document) == [pool(1, "stratum+tcp://btc.ss.poolin.com:443", "microbtinitial")]


def test_no_pools_reply_is_an_empty_list():
    no_pools = {"STATUS": [{"STATUS": "E", "When": 1, "Code": 8, "Msg": "No pools", "Description": "cgminer 4.9.2"}], "id": 1}
    assert pools.configured_pools(no_pools) == []


# --- verification loop and ensure_pools with a fake client ------------------------------------

class FakeClient:
    """Answers ``pools`` reads from a script (a list of replies or exceptions); records writes and the time limits of reads."""

    host = "192.0.2.10"
    port = 4028

    def __init__(self, *reads):
        self.reads = list(reads)
        self.writes = []
        self.time_limits = []

    @contextlib.contextmanager
    def time_limit(self, seconds):
        self.time_limits.append(seconds)
        yield

    def read(self, command):
        assert command == "pools"
        answer = self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def privileged(self, command, **params):
        self.writes.append((command, params))
        return {"STATUS": "S", "Code": 131, "Msg": "API command OK"}


def pools_reply(*entries):
    """A pools reply with (url, user) entries in slots 1, 2, ..."""
    records = [{"POOL": index + 1, "URL": url, "User": user, "Status": "Alive"} for index, (url, user) in enumerate(entries)]
    if not records:
        return {"STATUS": [{"STATUS": "E", "Code": 8, "Msg": "No pools"}]}
    return {"STATUS": [{"STATUS": "S", "Code": 7}], "POOLS": records}


OLD = pools_reply(("stratum+tcp://old.example:3333", "farm.w1"))
NEW = pools_reply(("stratum+tcp://a.example:3333", "farm.w1"), ("stratum+tcp://b.example:443", "farm.w1"))
EXPECTED = [desired.public() for desired in DESIRED]


def test_wait_for_pools_tolerates_failed_reads_and_slow_firmware():
    restarting = MinerRestartingError("btminer restarting", host="192.0.2.10", port=4028, command="pools")
    client, fake_time = FakeClient(restarting, OLD, NEW), FakeClock()
    matched, seen, error = pools.wait_for_pools(client, EXPECTED, 10, clock=fake_time.clock, sleep=fake_time.sleep)
    assert (matched, seen, error) == (True, EXPECTED, restarting)
    assert fake_time.sleeps == [0.5, 0.5]
    assert client.time_limits == pytest.approx([10, 9.5, 9])  # every read ends by the deadline


def test_wait_for_pools_is_bounded():
    client, fake_time = FakeClient(OLD), FakeClock()
    matched, seen, error = pools.wait_for_pools(client, EXPECTED, 2.2, clock=fake_time.clock, sleep=fake_time.sleep)
    assert (matched, error) == (False, None)
    assert seen == [pool(1, "stratum+tcp://old.example:3333")]
    assert fake_time.now == pytest.approx(1002.1)
    assert len(fake_time.sleeps) == 5


def test_wait_for_pools_reports_the_last_error():
    rejected = CommandRejectedError("rejected", host="192.0.2.10", port=4028, command="pools", code=132)
    client, fake_time = FakeClient(rejected), FakeClock()
    matched, seen, error = pools.wait_for_pools(client, EXPECTED, 1, clock=fake_time.clock, sleep=fake_time.sleep)
    assert (matched, seen, error) == (False, None, rejected)


def test_ensure_pools_check_mode_never_writes():
    client = FakeClient(OLD)
    result = pools.ensure_pools(client, DESIRED, update_password="on_create", check_mode=True, verify_timeout=1)
    assert client.writes == []
    assert result == {"changed": True, "before": [pool(1, "stratum+tcp://old.example:3333")], "pools": EXPECTED, "commands": ["update_pools"]}


def test_ensure_pools_writes_once_and_returns_what_the_miner_shows():
    client, fake_time = FakeClient(OLD, NEW), FakeClock()
    result = pools.ensure_pools(client, DESIRED, update_password="on_create", check_mode=False, verify_timeout=1, clock=fake_time.clock, sleep=fake_time.sleep)
    assert [command for command, _params in client.writes] == ["update_pools"]
    assert result == {"changed": True, "before": [pool(1, "stratum+tcp://old.example:3333")], "pools": EXPECTED, "commands": ["update_pools"]}


def test_ensure_pools_without_difference_reads_once():
    client = FakeClient(NEW)
    result = pools.ensure_pools(client, DESIRED, update_password="on_create", check_mode=False, verify_timeout=1)
    assert client.writes == []
    assert result == {"changed": False, "before": EXPECTED, "pools": EXPECTED, "commands": []}


def test_ensure_pools_fails_when_the_miner_does_not_show_what_was_sent():
    """A confirmed write that does not show in time is a change (issue 14, item 2), verified on the fake clock."""
    fake_time = FakeClock()
    secret_pools = [DESIRED[0]._replace(password=SECRET)]
    client = FakeClient(OLD)
    with pytest.raises(ModuleFailure) as failure:
        pools.ensure_pools(client, secret_pools, update_password="on_create", check_mode=False, verify_timeout=3,
                           clock=fake_time.clock, sleep=fake_time.sleep)
    message = failure.value.message
    assert ("192.0.2.10:4028 accepted update_pools (it confirmed the write), but within verify_timeout (3 s) it did not show "
            "the pools that were sent: the write was accepted but is not seen yet") in message
    assert "Sent: 1: stratum+tcp://a.example:3333 user=farm.w1." in message
    assert "Last seen: 1: stratum+tcp://old.example:3333 user=farm.w1." in message
    assert "run the task again" in message and "raise verify_timeout" in message
    assert failure.value.details["changed"] is True
    assert failure.value.details["commands"] == ["update_pools"]
    assert sum(fake_time.sleeps) == pytest.approx(2.75)  # the whole wait passed on the fake clock
    assert client.time_limits[0] == pytest.approx(3.0)
    assert SECRET not in message + json.dumps(failure.value.details)
    assert client.writes[0][1]["passwd1"] == SECRET  # it was sent, only never shown
