"""The true draw model (draw.py): control board when stopped, a linear ramp after a resume, power percent."""

from __future__ import annotations

from whatsminer_sim import Fleet
from whatsminer_sim.draw import RAMP_SECONDS, draw_w, fleet_draw, miner_draw_w, ramp_seconds
from whatsminer_sim.profiles import MODELS
from whatsminer_sim.state import initial_state
from whatsminer_sim.telemetry import effective_output


def test_stopped_miner_draws_the_control_board_and_a_resume_ramps_linearly() -> None:
    state = initial_state(0, 1, "2.0.x")
    model = MODELS[state.model]
    full, _hashrate = effective_output(state, model, True)
    state.apply({"mining": False})
    assert draw_w(state, model, hashing=False, now=1000.0, ramp_s=60.0) == model.standby_power_w
    state.apply({"mining": True, "mining_since": 1000.0, "btminer_start_time": 0.0})
    assert draw_w(state, model, hashing=True, now=1000.0, ramp_s=60.0) == model.standby_power_w
    halfway = draw_w(state, model, hashing=True, now=1030.0, ramp_s=60.0)
    assert halfway == model.standby_power_w + (full - model.standby_power_w) / 2
    assert draw_w(state, model, hashing=True, now=1060.0, ramp_s=60.0) == full
    assert draw_w(state, model, hashing=True, now=5000.0, ramp_s=0.0) == full


def test_power_percent_scales_the_draw() -> None:
    state = initial_state(0, 1, "3.x")
    model = MODELS[state.model]
    full = draw_w(state, model, hashing=True, now=1e12, ramp_s=30.0)
    state.apply({"power_pct": 40})
    assert draw_w(state, model, hashing=True, now=1e12, ramp_s=30.0) == full * 0.4


def test_ramp_per_profile_and_override() -> None:
    assert ramp_seconds("1.4.x") == RAMP_SECONDS["1.4.x"] and ramp_seconds("3.x", 2.5) == 2.5


def test_power_on_starts_the_ramp_and_the_fleet_sums(start_fleet) -> None:
    fleet: Fleet = start_fleet(count=2, profiles=["2024"], seed=3, config={"hashing_ramp_s": 100.0})
    first, second = fleet.miners
    first.set_state(mining=False)
    stopped = miner_draw_w(first, 0.0)
    assert stopped == first.model_spec.standby_power_w
    first.set_state(mining=True)
    since = first.state.mining_since
    assert since > 0
    assert miner_draw_w(first, since) == stopped
    assert miner_draw_w(first, since + 100.0) > stopped * 10
    total = fleet_draw(fleet.miners, since + 100.0)
    assert total["total_w"] == round(total["miners"][first.name] + total["miners"][second.name], 1)
