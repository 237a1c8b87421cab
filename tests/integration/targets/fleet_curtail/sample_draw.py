#!/usr/bin/env python
# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sample the simulated fleet's true draw (GET /draw) every 0.2 s for at most SECONDS, rewriting OUT after each sample.

    sample_draw.py CONTROL_URL OUT SECONDS
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request


def main() -> None:
    control, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
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
