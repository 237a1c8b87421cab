"""Stateful simulator of MicroBT Whatsminer miners: the port-4028 API of firmware 1.4.x / 2.0.x /
2024, and API 3 (framed, port 4433) with the reduced port-4028 API of firmware ``3.x``.

In-process use (tests)::

    from whatsminer_sim import Fleet
    with Fleet.start(count=3, profiles=["1.4.x", "2.0.x", "2024"], seed=1) as fleet:
        miner = fleet.miners[0]
        miner.host, miner.port, miner.state, miner.config, miner.log
        # a 3.x miner also has miner.v3_port (its API 3 listener)

Command line: ``python -m whatsminer_sim fleet --count 20 --inventory inv.yml``.
The simulator is independent of the collection's client: it is the test oracle.
"""

from __future__ import annotations

from .config import MinerConfig
from .faults import QUIRKS, Fault
from .fleet import Fleet, miner_address, wait_for
from .miner import Counters, LogEntry, SimMiner
from .profiles import MODELS, PROFILES, FirmwareProfile, ModelSpec
from .state import ErrorCode, MinerState, PoolSlot

__version__ = "1.0.0"

__all__ = [
    "Counters", "ErrorCode", "Fault", "FirmwareProfile", "Fleet", "LogEntry", "MODELS", "MinerConfig",
    "MinerState", "ModelSpec", "PROFILES", "PoolSlot", "QUIRKS", "SimMiner", "miner_address", "wait_for",
]
