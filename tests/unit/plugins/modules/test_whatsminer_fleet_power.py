# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The logic of the whatsminer_fleet_power action against a simulated fleet of every firmware profile.

Partial failures (unreachable and refusing miners), idempotency, check mode (nothing sent, exact
prediction), the deadline and the resume ramp (measured with the simulator's draw model, on an
injected clock).
"""

from __future__ import annotations

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _fleet_options
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils import _fleet_power
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.fake_time import FakeClock
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import PROFILES, connection_args, tokens
from whatsminer_sim.draw import draw_w  # pylint: disable=import-error
from whatsminer_sim.profiles import MODELS  # pylint: disable=import-error

PASSWORD = "farm_42"
WRITES = ("power_on", "power_off", "set_power_pct", "set_power_pct_v2", "set.miner.service", "set.miner.power_percent")


def options(**given):
    """The fleet options with the action's defaults."""
    values = {name: spec.get("default") for name, spec in _fleet_options.ARGUMENT_SPEC.items()}
    values.update(password=PASSWORD, timeout=2.0, deadline=30.0, concurrency=8)
    values.update(given)
    _fleet_options.validate_options(values)
    return values


def run(fleet, check_mode=False, previous=None, clock=None, **given):
    opts = options(**given)
    miners = [_fleet_power.build_miner(miner.name, connection_args(miner), opts, (previous or {}).get(miner.name)) for miner in fleet.miners]
    timing = {"clock": clock.clock, "sleep": clock.sleep} if clock else {}
    return _fleet_power.FleetPower(miners, opts, check_mode=check_mode, **timing).run()


def writes(miner):
    return [entry.command for entry in miner.log if entry.command in WRITES]


@pytest.fixture(name="fleet12")
def fixture_fleet12(start_fleet):
    """Three miners of each profile (1.4.x, 2.0.x, 2024, 3.x)."""
    return start_fleet(count=12, profiles=list(PROFILES), password=PASSWORD, seed=5)


def test_curtail_stop_partial_failures_check_mode_and_idempotency(fleet12):
    unreachable, refusing = fleet12.miners[1], fleet12.miners[6]
    unreachable.configure(refuse_connections=True)
    refusing.set_state(write_api_enabled=False)

    predicted = run(fleet12, check_mode=True, state="curtailed")
    assert all(writes(miner) == [] and tokens(miner) == 0 for miner in fleet12.miners)
    assert predicted["not_complied"] == [unreachable.name]  # the refusal shows only when written

    result = run(fleet12, state="curtailed")
    assert result["failed"] is True and result["not_complied"] == [unreachable.name, refusing.name]
    assert unreachable.name in result["msg"] and refusing.name in result["msg"]
    assert "write" in result["miners"][refusing.name]["msg"].lower()
    complied = [miner for miner in fleet12.miners if miner not in (unreachable, refusing)]
    assert all(miner.state.mining is False for miner in complied) and refusing.state.mining is True
    assert sorted(result["changed_miners"]) == sorted(miner.name for miner in complied)
    for miner in complied:  # the check run predicted exactly what happened
        outcome, prediction = result["miners"][miner.name], predicted["miners"][miner.name]
        assert outcome["after"] == prediction["after"] == {**prediction["before"], "mining": False}
        assert outcome["commands"] == prediction["commands"] == [{"command": "power_off", "parameters": {"respbefore": "true"}}]
        assert outcome["verified"] is True and outcome["power_w"]["after"] < outcome["power_w"]["before"]
    assert result["ansible_facts"]["whatsminer_fleet_power"]["not_complied"] == result["not_complied"]

    again = run(fleet12, state="curtailed", fail_on_noncompliance=False)
    assert again["changed"] is False and again["changed_miners"] == [] and "failed" not in again
    assert again["not_complied"] == [unreachable.name, refusing.name]
    assert [len(writes(miner)) for miner in complied] == [1] * len(complied)


def test_resume_follows_the_ramp_limit_and_the_deadline(start_fleet):
    fleet = start_fleet(count=8, profiles=list(PROFILES), password=PASSWORD, seed=9, config={"hashing_ramp_s": 20.0})
    for miner in fleet.miners:
        miner.set_state(mining=False)
    clock = FakeClock()
    limit_kw = 6.0
    result = run(fleet, clock=clock, state="resumed", ramp_kw_per_minute=limit_kw, deadline=600.0)
    assert "failed" not in result, result.get("msg")
    assert all(miner.state.mining for miner in fleet.miners)
    order = sorted(fleet.miners, key=lambda miner: result["miners"][miner.name]["commanded_at_s"])
    starts = {miner.name: result["miners"][miner.name]["commanded_at_s"] for miner in fleet.miners}
    assert_never_above_the_limit(fleet, starts, limit_kw)
    # The last miner was commanded once the whole expected increase fitted the limit, not later.
    increases = sum(_expected(result, miner) for miner in order)
    assert starts[order[-1].name] == pytest.approx(60.0 * increases / (limit_kw * 1000.0), abs=0.01)

    # With each miner's draw before the curtailment known (the fact), the schedule tracks the limit on
    # the true draws: the fleet's whole true increase is committed at exactly the limit, sooner than
    # with the power limits (upper bounds), and the true draw is still never above the limit.
    for miner in fleet.miners:
        miner.set_state(mining=False)
    hashing_draw = {miner.name: round(draw_w(miner.state, miner.model_spec, hashing=True, now=0.0, ramp_s=0.0)) for miner in fleet.miners}
    known = run(fleet, clock=FakeClock(), previous=hashing_draw, state="resumed", ramp_kw_per_minute=limit_kw, deadline=600.0)
    known_starts = {miner.name: known["miners"][miner.name]["commanded_at_s"] for miner in fleet.miners}
    assert_never_above_the_limit(fleet, known_starts, limit_kw)
    true_increase = sum(hashing_draw[miner.name] - (known["miners"][miner.name]["power_w"]["before"] or 0) for miner in fleet.miners)
    assert max(known_starts.values()) == pytest.approx(60.0 * true_increase / (limit_kw * 1000.0), abs=0.01)
    assert max(known_starts.values()) < max(starts.values())

    for miner in fleet.miners:
        miner.set_state(mining=False)
    late = run(fleet, clock=FakeClock(), state="resumed", ramp_kw_per_minute=limit_kw, deadline=100.0)
    commanded = [name for name, outcome in late["miners"].items() if not outcome["failed"]]
    assert late["failed"] is True and late["not_complied"] and commanded
    assert all("after the deadline" in late["miners"][name]["msg"] for name in late["not_complied"])
    assert all(late["miners"][name]["scheduled_at_s"] >= 100.0 for name in late["not_complied"])
    assert {miner.name for miner in fleet.miners if miner.state.mining} == set(commanded)


def assert_never_above_the_limit(fleet, starts, limit_kw, ramp_s=20.0):
    """The simulator's summed true draw, each miner's boot ramp starting when the fake clock commanded it, never rose above ``limit * t``."""
    def fleet_draw(at):
        total = 0.0
        for miner in fleet.miners:
            state = miner.state
            state.mining_since, state.btminer_start_time = starts[miner.name], 0.0
            total += draw_w(state, miner.model_spec, hashing=at >= starts[miner.name], now=at, ramp_s=ramp_s)
        return total

    baseline = fleet_draw(-1.0)
    end = max(starts.values()) + ramp_s + 1.0
    samples = [index * 0.5 for index in range(int(end / 0.5) + 1)]
    assert max(fleet_draw(at) - baseline - limit_kw * 1000.0 * at / 60.0 for at in samples) <= 1e-6
    assert fleet_draw(end) > baseline * 50  # and the fleet came back


def _expected(result, miner):
    """The increase the action expected from a miner: its power limit (no earlier draw given) minus its draw then."""
    outcome = result["miners"][miner.name]
    limit = MODELS[miner.state.model].max_power_limit_w if miner.state.power_limit_w is None else miner.state.power_limit_w
    return max(0, limit - (outcome["power_w"]["before"] or 0))


def test_percent_method_on_api3_and_a_clear_refusal_on_api2(start_fleet):
    fleet = start_fleet(count=4, profiles=list(PROFILES), password=PASSWORD, seed=11)
    result = run(fleet, state="curtailed", method="percent", percent=20, fail_on_noncompliance=False)
    api3 = fleet.miners[3]
    assert result["not_complied"] == [miner.name for miner in fleet.miners[:3]]
    assert all("does not report its power percentage" in result["miners"][miner.name]["msg"] for miner in fleet.miners[:3])
    assert api3.state.power_pct == 20 and result["miners"][api3.name]["after"]["power_percent"] == 20
    assert all(writes(miner) == [] for miner in fleet.miners[:3])
    assert run(fleet, state="curtailed", method="percent", percent=20, hosts=None, fail_on_noncompliance=False)["changed"] is False
    sent = run(fleet, state="curtailed", method="percent", percent=20, power_percent_unreadable="send")
    assert "failed" not in sent and all(miner.state.power_pct == 20 for miner in fleet.miners)
    resumed = run(fleet, state="resumed", method="percent", power_percent_unreadable="send")
    assert all(miner.state.power_pct is None for miner in fleet.miners) and resumed["changed"] is True


@pytest.mark.parametrize("given, message", [
    ({"state": "curtailed", "ramp_kw_per_minute": 5.0}, "applies to state=resumed only"),
    ({"state": "resumed", "ramp_kw_per_minute": 5.0, "ramp_miners_per_step": 2}, "at most one of"),
    ({"state": "curtailed", "method": "percent", "percent": 100}, "between 1 and 99"),
    ({"state": "curtailed", "deadline": 0}, "deadline must be more than 0"),
    ({"state": "curtailed", "concurrency": 0}, "concurrency must be between"),
])
def test_bad_options_are_refused_before_contact(given, message):
    with pytest.raises(ModuleFailure, match=message):
        options(**given)


def test_resume_takes_the_draw_before_the_curtailment_from_the_fact():
    from ansible_collections.hashfarm.whatsminer.plugins.action.whatsminer_fleet_power import previous_draws  # pylint: disable=import-outside-toplevel
    fact = {"state": "curtailed", "miners": {"m1": {"changed": True, "power_w": {"before": 3300}},
                                             "m2": {"changed": False, "power_w": {"before": 8}}}}
    # The fact sits on the host the task ran for (m2 here), and gives every miner's draw.
    assert previous_draws({"m1": {}, "m2": {"whatsminer_fleet_power": fact}}) == {"m1": 3300}  # m2 was already curtailed then
    assert previous_draws({"m1": {"ansible_facts": {"whatsminer_fleet_power": fact}}, "m2": {}}) == {"m1": 3300}
    assert previous_draws({"m1": {"whatsminer_fleet_power": dict(fact, state="resumed")}, "m2": {}}) == {}
    assert _fleet_power.expected_draw({"power_w": {"limit": 3600}}, None, 3500) == 3600
    assert _fleet_power.expected_draw({"power_w": {"limit": None}}, None, 3500) == 3500
    assert _fleet_power.expected_draw({"power_w": {"limit": 3600}}, 3300, 3500) == 3300
    assert _fleet_power.ramp_schedule([3000.0, 3000.0, 6000.0], {"ramp_kw_per_minute": 6.0}) == [30.0, 60.0, 120.0]
    assert _fleet_power.ramp_schedule([1.0] * 5, {"ramp_miners_per_step": 2, "ramp_step_seconds": 10.0}) == [0.0, 0.0, 10.0, 10.0, 20.0]
