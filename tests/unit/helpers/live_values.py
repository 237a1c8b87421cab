# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A task result without the values a miner measures live: how results of the two execution paths are compared.

``without_live_values(result)`` is the result with the value of every live measurement
(hashrates, temperatures, power draw, fan speeds, uptimes, share counters) replaced by
``LIVE_VALUE``, at any depth. The keys stay, so two results compare equal only when they have
the same keys and every other value is the same: what the in-process path and the module path
must return for the same task against the same miner. The action equivalence tests use it, and the
execution_paths integration target as the filter ``without_live_values``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Fact names whose values change from one read to the next (see the whatsminer_facts RETURN docs).
LIVE_KEYS = frozenset({
    "accepted",
    "chip_temp_avg_c",
    "chip_temp_max_c",
    "efficiency_j_per_th",
    "env_temperature_c",
    "fan_in_rpm",
    "fan_out_rpm",
    "frequency_mhz",
    "hashrate_1m_ths",
    "hashrate_5s_ths",
    "hashrate_ths",
    "mining_elapsed_s",
    "power_w",
    "rejected",
    "stale",
    "temperature_c",
    "uptime_s",
})
#: What a live measurement is replaced by.
LIVE_VALUE = "<live>"


def without_live_values(value: Any) -> Any:
    """``value`` (a task result) with every number under a ``LIVE_KEYS`` key replaced by ``LIVE_VALUE``.

    ``null`` stays ``null`` (a value the firmware does not report must be missing on both paths),
    and everything that is no dictionary or list is returned as it is.
    """
    if isinstance(value, Mapping):
        return {key: LIVE_VALUE if key in LIVE_KEYS and _is_number(item) else without_live_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_live_values(item) for item in value]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
