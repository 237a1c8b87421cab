"""Check the simulated fleet's true state through its control API (used by runme.sh).

    fleet_check.py images DIR                      write the test images (good.bin, other_platform.bin)
    fleet_check.py reset                           clear every miner's log, firmware_update back to flash
    fleet_check.py set NAME MODE                   firmware_update of one miner (flash, refuse, cut, keep_old)
    fleet_check.py expect UPLOADS:VERSION...       per miner, in name order: the uploads in its log and the
                                                   version it was flashed with ("-": none, the profile's)
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request

from whatsminer_sim.firmware import make_test_image

CONTROL = os.environ.get("FLEET_CONTROL_URL", "")


def call(method: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(CONTROL + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:  # loopback only
        return json.loads(reply.read() or b"{}")


def miners() -> list[dict]:
    listing = call("GET", "/miners")
    return sorted(listing["miners"] if isinstance(listing, dict) else listing, key=lambda miner: miner["name"])


def main(args: list[str]) -> None:
    if args[0] == "images":
        with open(os.path.join(args[1], "good.bin"), "wb") as image:
            image.write(make_test_image("H616", "20241015.10.Rel", 4096))
        with open(os.path.join(args[1], "other_platform.bin"), "wb") as image:
            image.write(make_test_image("H6OS", "20241020.01.Rel", 4096))
    elif args[0] == "reset":
        for miner in miners():
            call("POST", f"/miners/{miner['name']}/reset", {"clear_log": True})
    elif args[0] == "set":
        call("PATCH", f"/miners/{args[1]}", {"config": {"firmware_update": args[2]}})
    elif args[0] == "expect":
        seen, wanted = [], []
        for miner, expected in zip(miners(), args[1:]):
            log = call("GET", f"/miners/{miner['name']}/log")["log"]
            seen.append((miner["name"], sum(1 for entry in log if entry["command"] == "update_firmware"), miner["state"]["fw_version"]))
            count, version = expected.split(":")
            wanted.append((miner["name"], int(count), "" if version == "-" else version))
        assert seen == wanted, f"fleet: {seen}, expected: {wanted}"
    else:
        raise SystemExit(f"unknown action {args[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
