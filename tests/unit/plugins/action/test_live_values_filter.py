# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The result comparison of the two execution paths (equivalence tests, execution_paths target): only live measurements are set aside."""

from __future__ import annotations

from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.live_values import LIVE_VALUE, without_live_values

FACTS = {
    "changed": False,
    "ansible_facts": {
        "whatsminer_status": {"mining": True, "hashrate_ths": 117.1, "power_w": 3306, "power_limit_w": None, "temperature_c": None},
        "whatsminer_boards": [{"slot": 0, "hashrate_5s_ths": 39.6, "chips": 105, "status": "alive"}],
        "whatsminer_pools": [{"slot": 1, "url": "stratum+tcp://p:3333", "accepted": 12, "rejected": 0, "active": True}],
        "whatsminer_device": {"nominal_hashrate_ths": 117.026, "model": "M50_VH50"},
    },
}


def test_live_measurements_are_set_aside_at_any_depth():
    assert without_live_values(FACTS) == {
        "changed": False,
        "ansible_facts": {
            "whatsminer_status": {"mining": True, "hashrate_ths": LIVE_VALUE, "power_w": LIVE_VALUE, "power_limit_w": None, "temperature_c": None},
            "whatsminer_boards": [{"slot": 0, "hashrate_5s_ths": LIVE_VALUE, "chips": 105, "status": "alive"}],
            "whatsminer_pools": [{"slot": 1, "url": "stratum+tcp://p:3333", "accepted": LIVE_VALUE, "rejected": LIVE_VALUE, "active": True}],
            "whatsminer_device": {"nominal_hashrate_ths": 117.026, "model": "M50_VH50"},
        },
    }


def test_results_that_differ_elsewhere_still_differ():
    other = {**FACTS, "ansible_facts": {**FACTS["ansible_facts"], "whatsminer_device": {"nominal_hashrate_ths": 117.026, "model": "M60S_VK40"}}}
    assert without_live_values(other) != without_live_values(FACTS)
    assert without_live_values({"hashrate_ths": None}) != without_live_values({"hashrate_ths": 1.0})  # unknown is not a measurement
    assert without_live_values({"power_w": True}) == {"power_w": True}  # only numbers are measurements
    assert without_live_values({"msg": "x", "warnings": ["w"]}) == {"msg": "x", "warnings": ["w"]}
