"""The true electrical draw of a miner and of the fleet (what a meter at the breaker would show).

The replies report power through ``telemetry`` (the firmware's own figures); this module is the
oracle a demand-response test measures against:

* a miner that does not hash (``power_off``, ``set.miner.service stop``, btminer restarting,
  rebooting) draws its control board's power (``ModelSpec.standby_power_w``);
* hashing, it draws what its settings allow (``telemetry.effective_output``: power mode, target
  frequency, power percent, power limit), reached over the firmware's ramp after btminer starts
  or mining resumes: the draw rises linearly from the control board's to the full draw over
  ``ramp_seconds`` (``MinerConfig.hashing_ramp_s``, else ``RAMP_SECONDS`` of the profile);
* a power-percent change in ``fast`` mode takes effect at once; in ``normal`` mode (API 3
  ``set.miner.power_percent`` ``normal``) after the btminer restart window (``restart_seconds``),
  without a restart. On API 2 both ``set_power_pct`` and ``set_power_pct_v2`` are stored at once.

Every function takes ``now`` (unix seconds), so a test can evaluate the draw at any instant.
"""

from __future__ import annotations

from typing import Any, Iterable

from .profiles import ModelSpec
from .state import MinerState
from .telemetry import effective_output

#: Seconds from "btminer starts hashing" to the full draw, per firmware profile (the boot ramp of
#: the hashboards; the vendor gives no figures, these follow field reports: older firmware ramps slower).
RAMP_SECONDS = {"1.4.x": 90.0, "2.0.x": 60.0, "2024": 45.0, "3.x": 30.0}


def ramp_seconds(profile: str, configured: float | None = None) -> float:
    """The ramp of ``profile`` (``configured`` overrides it; 0 = the full draw at once)."""
    return RAMP_SECONDS.get(profile, 60.0) if configured is None else max(0.0, float(configured))


def draw_w(state: MinerState, model: ModelSpec, *, hashing: bool, now: float, ramp_s: float) -> float:
    """The draw in watts at ``now`` of a miner with ``state`` (``hashing``: mining and btminer up)."""
    standby = float(model.standby_power_w)
    if not hashing:
        return standby
    full, _hashrate = effective_output(state, model, True)
    started = max(state.btminer_start_time, state.mining_since)
    if ramp_s <= 0 or now >= started + ramp_s:
        return full
    fraction = max(0.0, (now - started) / ramp_s)
    return standby + (full - standby) * fraction


def miner_draw_w(miner: Any, now: float) -> float:
    """The draw of a ``SimMiner`` at ``now``."""
    state = miner.live_state
    hashing = state.mining and miner.btminer_running()
    configured = getattr(miner.live_config, "hashing_ramp_s", None)
    return draw_w(state, miner.model_spec, hashing=hashing, now=now, ramp_s=ramp_seconds(state.profile, configured))


def fleet_draw(miners: Iterable[Any], now: float) -> dict[str, Any]:
    """``{"miners": {name: watts}, "total_w": watts, "time": now}`` of ``miners`` at ``now``."""
    draws = {miner.name: round(miner_draw_w(miner, now), 1) for miner in miners}
    return {"miners": draws, "total_w": round(sum(draws.values()), 1), "time": now}
