#!/usr/bin/env python
# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sample the simulated fleet's true draw (GET /draw) every 0.2 s for at most SECONDS, rewriting OUT after each sample.

    sample_draw.py CONTROL_URL OUT SECONDS [DONE]

With DONE (a file the caller creates when the resume task has ended), sampling also stops once DONE
exists and the draw has not changed over the last second: every miner's boot ramp is over, however
slowly a busy machine ran the task.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request


#: Samples (0.2 s apart) of one unchanged draw that mean the fleet's draw has settled.
STEADY_SAMPLES = 5


def main() -> None:
    control, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    done = sys.argv[4] if len(sys.argv) > 4 else None
    samples: list[dict] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if done and os.path.exists(done) and len(samples) > STEADY_SAMPLES and len({sample["total_w"] for sample in samples[-STEADY_SAMPLES:]}) == 1:
            break
        with urllib.request.urlopen(f"{control}/draw", timeout=10) as response:  # loopback control API of the simulator
            draw = json.load(response)
        samples.append({"time": draw["time"], "total_w": draw["total_w"]})
        with open(out + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(samples, handle)
        with open(out + ".tmp", encoding="utf-8") as handle, open(out, "w", encoding="utf-8") as target:
            target.write(handle.read())
        time.sleep(0.2)


if __name__ == "__main__":
    main()
