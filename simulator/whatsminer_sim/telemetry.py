"""Live values (hashrate, power, temperatures, fans, counters) derived from the true state.

Everything is a pure function of the state, the model, the clock and a per-miner jitter
key, so replies are deterministic for a given seed. Rules:

* a miner that is not hashing (powered off, btminer restarting) hashes 0 and draws the
  model's standby power;
* power modes scale power and hashrate (``POWER_MODE_FACTORS``), as do ``set_target_freq``
  and ``set_power_pct``;
* a power limit caps the power and scales the hashrate down in proportion;
* per-board values add up to the summary values.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from .profiles import POWER_MODE_FACTORS, ModelSpec
from .state import MinerState

#: Hashrate windows of the cgminer replies and the relative spread of each around the true rate.
WINDOWS = {"av": 0.004, "5s": 0.05, "1m": 0.015, "5m": 0.008, "15m": 0.005}

#: Share difficulty the simulated pool hands out.
SHARE_DIFFICULTY = 65536


@lru_cache(maxsize=65536)
def jitter(key: str, name: str, spread: float) -> float:
    """A deterministic factor in ``[1 - spread, 1 + spread]`` for ``name`` of miner ``key``."""
    return random.Random(f"{key}:{name}").uniform(1.0 - spread, 1.0 + spread)


def effective_output(state: MinerState, model: ModelSpec, hashing: bool) -> tuple[float, float]:
    """Return ``(power_w, hashrate_ths)`` for the current settings."""
    if not hashing:
        return float(model.standby_power_w), 0.0
    power_factor, hash_factor = POWER_MODE_FACTORS[state.power_mode]
    freq_factor = 1.0 + state.target_freq_pct / 100.0
    power = model.nominal_power_w * power_factor * freq_factor
    ths = state.nominal_ths * hash_factor * freq_factor
    if state.power_pct is not None:
        power *= state.power_pct / 100.0
        ths *= state.power_pct / 100.0
    if state.power_limit_w is not None and power > state.power_limit_w:
        ths *= state.power_limit_w / power
        power = float(state.power_limit_w)
    return power, ths


@dataclass
class BoardTelemetry:
    """Values of one hashboard. Hashrates in MH/s, temperatures in degrees C."""

    index: int
    mhs: dict[str, float]
    factory_ghs: int
    temperature: float
    chip_temp_min: float
    chip_temp_max: float
    chip_temp_avg: float
    freq_mhz: int
    accepted: int
    hardware_errors: int
    effective_chips: int
    pcb_sn: str


@dataclass
class Telemetry:
    """Whole-miner values at one instant."""

    hashing: bool
    power_w: int
    power_rt_w: int
    ths: float
    boards: list[BoardTelemetry]
    elapsed_s: int
    uptime_s: int
    env_temp: float
    fan_in: int
    fan_out: int
    psu_fan: int
    psu_temp: int
    target_freq_mhz: int
    target_mhs: int

    def total_mhs(self, window: str) -> float:
        """Sum of the boards' hashrate in ``window`` (rounded like the firmware)."""
        return round(sum(board.mhs[window] for board in self.boards), 2)

    @property
    def accepted(self) -> int:
        """Accepted shares of all boards."""
        return sum(board.accepted for board in self.boards)

    @property
    def hardware_errors(self) -> int:
        """Hardware errors of all boards."""
        return sum(board.hardware_errors for board in self.boards)


def compute(state: MinerState, model: ModelSpec, key: str, now: float, hashing: bool) -> Telemetry:
    """Compute the live values; ``key`` selects the miner's jitter, ``now`` is unix time."""
    power, ths = effective_output(state, model, hashing)
    load = power / model.nominal_power_w if hashing else 0.0
    elapsed = max(0, int(now - state.btminer_start_time))
    uptime = max(0, int(now - state.boot_time))
    env = round(state.env_temp_c, 2)
    freq_factor = 1.0 + state.target_freq_pct / 100.0
    target_freq = int(round(model.freq_mhz * freq_factor))
    weights = [jitter(key, f"board-share-{board}", 0.03) for board in range(model.boards)]
    share_rate = 1e12 / (SHARE_DIFFICULTY * 2 ** 32)  # shares per second per TH/s
    boards = []
    for board in range(model.boards):
        board_ths = ths * weights[board] / sum(weights)
        heat = 45.0 * load * jitter(key, f"heat-{board}", 0.04)
        temperature = round(env + 2.0 + heat, 2) if hashing else round(env + 1.0, 2)
        chip_avg = round(temperature + 13.0 * load * jitter(key, f"chip-{board}", 0.05), 2)
        boards.append(BoardTelemetry(
            index=board,
            mhs={window: round(board_ths * 1e6 * jitter(key, f"{window}-{board}", spread), 2) for window, spread in WINDOWS.items()},
            factory_ghs=int(state.nominal_ths * 1000 / model.boards),
            temperature=temperature,
            chip_temp_min=round(chip_avg - 12.0 * load, 2),
            chip_temp_max=round(chip_avg + 7.0 * load, 2),
            chip_temp_avg=chip_avg,
            freq_mhz=int(round(target_freq * jitter(key, f"freq-{board}", 0.02))) if hashing else 0,
            accepted=int(board_ths * share_rate * elapsed),
            hardware_errors=int(elapsed * load * jitter(key, f"hw-{board}", 0.5) / 200),
            effective_chips=model.chips_per_board,
            pcb_sn=state.board_serials[board] if board < len(state.board_serials) else "",
        ))
    if hashing or state.poweroff_cool:
        fan_in = int(1500 + 4500 * max(load, 0.3))
    else:
        fan_in = 0
    psu_fan = int(2500 + 6000 * load) if hashing else 0
    return Telemetry(
        hashing=hashing,
        power_w=int(round(power)),
        power_rt_w=int(round(power * jitter(key, "power-rt", 0.005))),
        ths=ths,
        boards=boards,
        elapsed_s=elapsed,
        uptime_s=uptime,
        env_temp=env,
        fan_in=fan_in,
        fan_out=fan_in + 30 if fan_in else 0,
        psu_fan=psu_fan,
        psu_temp=int(round(env + 20.0 * load + 5.0)),
        target_freq_mhz=target_freq,
        target_mhs=int(ths * 1e6 / freq_factor * 0.97) if hashing else 0,
    )
