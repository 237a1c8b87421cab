"""Command line: ``python -m whatsminer_sim fleet ...`` and ``python -m whatsminer_sim ctl ...``."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Sequence

from .fleet import ADDRESS_MODES, DEFAULT_BASE_PORT, DEFAULT_IPS_BASE, RPC_PORT, V3_PORT, Fleet

CLI_RESTART_SECONDS = 3.0
CLI_REBOOT_SECONDS = 10.0
HTTP_TIMEOUT_S = 10.0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of both subcommands."""
    parser = argparse.ArgumentParser(prog="python -m whatsminer_sim", description="Simulated MicroBT Whatsminer fleet on loopback.")
    commands = parser.add_subparsers(dest="command", required=True)

    fleet = commands.add_parser("fleet", help="start a fleet of simulated miners")
    fleet.add_argument("--count", type=int, default=3, help="number of miners (default 3)")
    fleet.add_argument("--profiles", default="mixed",
                       help="mixed (1.4.x, 2.0.x, 2024), a profile (1.4.x, 2.0.x, 2024, 3.x) or a comma list, cycled (default mixed)")
    fleet.add_argument("--models", default="", help="comma list of models cycled over the miners (default: per profile)")
    fleet.add_argument("--address-mode", choices=ADDRESS_MODES, default="ports",
                       help="ports: HOST:BASE_PORT+i; ips: 127.0.(1+i//254).(1+i%%254):PORT (default ports)")
    fleet.add_argument("--host", default="127.0.0.1", help="loopback address in ports mode (default 127.0.0.1)")
    fleet.add_argument("--base-port", type=int, default=DEFAULT_BASE_PORT, help=f"first port in ports mode (default {DEFAULT_BASE_PORT}; 0 = free ports)")
    fleet.add_argument("--port", type=int, default=RPC_PORT, help=f"port in ips mode (default {RPC_PORT})")
    fleet.add_argument("--ips-base", default=DEFAULT_IPS_BASE, help=f"address of the first miner in ips mode (default {DEFAULT_IPS_BASE})")
    fleet.add_argument("--odd-devices", default="",
                       help="other devices on loopback, a comma list of KIND@ADDRESS: cgminer (another vendor's miner on 4028), "
                            "http (HTTP-only), silent (accepts, never replies), reset (resets), alias:MINER (a second address of MINER)")
    fleet.add_argument("--v3-port", type=int, default=V3_PORT,
                       help=f"API 3 port of 3.x miners in ips mode (default {V3_PORT}); ports mode uses a free port per 3.x miner")
    fleet.add_argument("--inventory", help="write an Ansible inventory (YAML) here")
    fleet.add_argument("--control-port", type=int, default=0, help="control API port on 127.0.0.1 (default 0 = free port)")
    fleet.add_argument("--state-file", help="write the control port and fleet description (JSON) here once ready")
    fleet.add_argument("--lifetime", type=float, default=3600.0, help="exit after this many seconds (default 3600)")
    fleet.add_argument("--password", default="admin", help="API 2 admin password of every miner (default admin)")
    fleet.add_argument("--v3-password", default="super", help="API 3 'super' account password of every miner (default super)")
    fleet.add_argument("--write-api", choices=("enabled", "disabled"), default="enabled", help="write API switch (default enabled)")
    fleet.add_argument("--factory-password-gate", action=argparse.BooleanOptionalAction, default=True,
                       help="API 3 refuses writes (-4 no permission) while the account has its factory password, as the firmware "
                            "does (default on; --no-factory-password-gate lets a fleet write with its factory passwords)")
    fleet.add_argument("--factory-password-change", choices=("allow", "refuse"), default="allow",
                       help="whether update_pwd / set.user.change_passwd may change a factory password (default allow)")
    fleet.add_argument("--seed", type=int, default=0, help="seed of identities, jitter and faults (default 0)")
    fleet.add_argument("--restart-seconds", type=float, default=CLI_RESTART_SECONDS, help=f"btminer restart window (default {CLI_RESTART_SECONDS})")
    fleet.add_argument("--reboot-seconds", type=float, default=CLI_REBOOT_SECONDS, help=f"reboot window (default {CLI_REBOOT_SECONDS})")
    fleet.add_argument("--idle-timeout", type=float, default=10.0, help="close a connection with no request after this (default 10)")

    ctl = commands.add_parser("ctl", help="talk to a running fleet's control API")
    target = ctl.add_mutually_exclusive_group(required=True)
    target.add_argument("--control", help="control API URL, e.g. http://127.0.0.1:PORT")
    target.add_argument("--state-file", help="read the control port from a fleet's state file")
    actions = ctl.add_subparsers(dest="action", required=True)
    get = actions.add_parser("get", help="show one miner, or all")
    get.add_argument("name", nargs="?")
    setter = actions.add_parser("set", help="set state fields (key=value), settings (config.key=value) or faults=JSON")
    setter.add_argument("name")
    setter.add_argument("assignments", nargs="+", metavar="key=value")
    log = actions.add_parser("log", help="show a miner's command log")
    log.add_argument("name")
    reset = actions.add_parser("reset", help="put a miner back to its initial state")
    reset.add_argument("name")
    reset.add_argument("--clear-log", action="store_true")
    move = actions.add_parser("move", help="move a miner to another loopback address (as after a DHCP change)")
    move.add_argument("name")
    move.add_argument("host")
    actions.add_parser("shutdown", help="stop the fleet")
    return parser


def write_json_atomically(path: str, data: Any) -> None:
    """Write JSON to ``path`` via a temporary file, so readers never see half a file."""
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
    os.replace(temporary, path)


def run_fleet(args: argparse.Namespace) -> int:
    """Start the fleet, publish inventory and state file, wait for the end of its lifetime."""
    if args.lifetime <= 0:
        print("--lifetime must be > 0", file=sys.stderr)
        return 2
    fleet = Fleet.start(
        count=args.count, profiles=args.profiles, seed=args.seed, address_mode=args.address_mode,
        host=args.host, base_port=args.base_port, port=args.port, password=args.password,
        v3_port=args.v3_port, v3_password=args.v3_password, ips_base=args.ips_base, odd_devices=args.odd_devices,
        write_api_enabled=args.write_api == "enabled",
        models=[name.strip() for name in args.models.split(",") if name.strip()] or None,
        config={"restart_seconds": args.restart_seconds, "reboot_seconds": args.reboot_seconds, "idle_timeout_s": args.idle_timeout,
                "factory_password_gate": args.factory_password_gate, "factory_password_change": args.factory_password_change},
        control_port=args.control_port,
    )
    try:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_args: fleet.shutdown_requested.set())
        if args.inventory:
            fleet.write_inventory(args.inventory)
        started = time.time()
        control_url = f"http://127.0.0.1:{fleet.control_port}"
        if args.state_file:
            write_json_atomically(args.state_file, {
                "pid": os.getpid(), "control_port": fleet.control_port, "control_url": control_url,
                "inventory": os.path.abspath(args.inventory) if args.inventory else None,
                "started_at": started, "expires_at": started + args.lifetime, **fleet.describe(),
            })
        print(f"whatsminer_sim: {len(fleet.miners)} miners ({fleet.address_mode} mode), control API {control_url}, "
              f"lifetime {args.lifetime:g} s", flush=True)
        fleet.shutdown_requested.wait(args.lifetime)
    finally:
        fleet.stop()
    return 0


def _control_url(args: argparse.Namespace) -> str:
    """The control API base URL from --control or --state-file."""
    if args.control:
        return args.control.rstrip("/")
    with open(args.state_file, encoding="utf-8") as handle:
        return str(json.load(handle)["control_url"])


def _parse_value(text: str) -> Any:
    """JSON if it parses (numbers, true/false/null, lists, objects), else the plain string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def assignments_to_patch(assignments: Sequence[str]) -> dict[str, Any]:
    """``["mining=false", "config.restart_seconds=1", "faults=[...]"]`` -> PATCH body."""
    body: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep or not key:
            raise ValueError(f"expected key=value, got {assignment!r}")
        if key == "faults":
            body["faults"] = _parse_value(value)
        elif key.startswith("config."):
            body.setdefault("config", {})[key[len("config."):]] = _parse_value(value)
        else:
            body.setdefault("state", {})[key] = _parse_value(value)
    return body


def http_json(method: str, url: str, body: Any = None) -> Any:
    """Send a JSON request to the control API and return the decoded reply."""
    data = json.dumps(body).encode("utf-8") if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # nosec - loopback control API
        return json.loads(response.read().decode("utf-8"))


def run_ctl(args: argparse.Namespace) -> int:
    """Run one ``ctl`` action and print its JSON result."""
    base = _control_url(args)
    try:
        if args.action == "get":
            result = http_json("GET", f"{base}/miners/{args.name}" if args.name else f"{base}/miners")
        elif args.action == "set":
            result = http_json("PATCH", f"{base}/miners/{args.name}", assignments_to_patch(args.assignments))
        elif args.action == "log":
            result = http_json("GET", f"{base}/miners/{args.name}/log")
        elif args.action == "move":
            result = http_json("POST", f"{base}/miners/{args.name}/move", {"host": args.host})
        elif args.action == "reset":
            result = http_json("POST", f"{base}/miners/{args.name}/reset", {"clear_log": args.clear_log})
        else:
            result = http_json("POST", f"{base}/shutdown", {})
    except urllib.error.HTTPError as error:
        print(f"control API error {error.code}: {error.read().decode('utf-8', errors='replace')}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError, ValueError) as error:
        print(f"cannot use the control API at {base}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=1))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m whatsminer_sim``."""
    args = build_parser().parse_args(argv)
    if args.command == "fleet":
        return run_fleet(args)
    return run_ctl(args)
