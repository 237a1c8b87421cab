#!/usr/bin/env python
# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the README's quick start as written, non-interactively, against a simulated fleet.

The shell lines come from the ```bash blocks of the README section "Running a farm: quick start".
They run in one bash (``set -euo pipefail``, output on a pseudo-terminal as in a user's shell:
``ansible-vault create`` opens an editor only there) with a scratch ``HOME``, in a scratch directory,
without the test's Ansible settings (collections path, vault password file, callbacks), so that
they use the collection they install, as a user's would. What a test cannot do is replaced, and
each replacement must still match a README line (REPLACED): the virtual environment and the
pip install (checked instead: the test's environment has those packages, and ansible-core at the
pinned version), and ``make build`` (the same ``ansible-galaxy collection build`` on the staged
collection). The prose steps are done by the test: "Describe your racks" writes ``hosts.yml`` with
the simulated miners' addresses after the example is copied, and the editor that ``ansible-vault
create`` opens is a script that writes the secrets. Then the simulator's true state must be the
example's desired state, the vault must be a new one, and the report must be where the README says.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

FLEET_COMMON = Path(__file__).resolve().parent.parent / "fleet_common"
sys.path.insert(0, str(FLEET_COMMON))
from fleet_inventory import simulated_miners  # noqa: E402  pylint: disable=wrong-import-position

SECTION = "## Running a farm: quick start"
POOL_PASSWORD = "acme_pool_pw"
#: The password step 5 of the quick start rotates every miner to (1-8 letters, digits or underscores).
NEXT_ADMIN_PASSWORD = "Next_pw2"
# README line (exact) -> what the test runs instead.
REPLACED = {
    "python3.11 -m venv ~/farm-venv && . ~/farm-venv/bin/activate": (
        '"$QUICK_START_PYTHON" -c "import sys; assert sys.version_info[:2] == (3, 11), sys.version"'
    ),
    "pip install ansible-core==2.19.14 pycryptodome passlib": (
        '"$QUICK_START_PYTHON" -c "import Crypto, passlib, ansible.release as r; assert r.__version__ == \'2.19.14\', r.__version__"'
    ),
    "make build": 'mkdir -p dist && ansible-galaxy collection build --force --output-path dist "$QUICK_START_COLLECTION"',
}
COPY_EXAMPLE = re.compile(r"^cp -r \S+/examples/inventory farm-inventory$")


def shell_blocks(markdown: str, section: str) -> list[list[str]]:
    """The lines of each ```bash block of ``section`` (comments after a command kept, continuation lines joined)."""
    start = markdown.index(section)
    end = markdown.find("\n## ", start + len(section))
    text = markdown[start:end if end != -1 else None]
    blocks = []
    for block in re.findall(r"```bash\n(.*?)\n\s*```", text, re.DOTALL):
        lines, pending = [], ""
        for raw in block.splitlines():
            line = pending + raw.strip()
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            pending = ""
            if line and not line.startswith("#"):
                lines.append(line)
        blocks.append(lines)
    return blocks


def command_of(line: str) -> str:
    """A line without its trailing comment."""
    return re.sub(r"\s+#.*$", "", line).strip()


def script_for(blocks: list[list[str]], describe_racks: str) -> str:
    """The bash script of the quick start: README lines verbatim but the replaced ones."""
    lines = ["set -euo pipefail"]
    used = set()
    for block in blocks:
        for line in block:
            command = command_of(line)
            if command in REPLACED:
                used.add(command)
                lines.append(f"{REPLACED[command]}  # README: {command}")
            else:
                lines.append(line)
            if COPY_EXAMPLE.match(command):
                lines.append(f"{describe_racks}  # README: Describe your racks in farm-inventory/hosts.yml")
    unused = set(REPLACED) - used
    if unused:
        raise SystemExit(f"the README's quick start no longer has these lines the test replaces: {sorted(unused)}")
    if not any(COPY_EXAMPLE.match(command_of(line)) for block in blocks for line in block):
        raise SystemExit("the README's quick start no longer copies the example inventory to farm-inventory")
    return "\n".join(lines) + "\n"


def run_on_terminal(command: list[str], **options) -> int:
    """Run ``command`` with its output on a pseudo-terminal (``ansible-vault create`` opens an editor only
    on a terminal), copying the output to ours; return its exit status. Input is empty."""
    controller, terminal = pty.openpty()
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, **options) as process:
        os.close(terminal)
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: every process holding the terminal has ended
                break
            if not chunk:
                break
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
        os.close(controller)
        return process.wait()


def main() -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readme", type=Path, required=True)
    parser.add_argument("--fleet-guide", type=Path, required=True)
    parser.add_argument("--collection", type=Path, required=True)
    parser.add_argument("--control-url", required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--admin-password", required=True)
    options = parser.parse_args()

    blocks = shell_blocks(options.readme.read_text(encoding="utf-8"), SECTION)
    vault_block = next(block for block in blocks if any("ansible-vault create" in line for line in block))
    guide = options.fleet_guide.read_text(encoding="utf-8")
    missing = [command_of(line) for line in vault_block if command_of(line) not in guide]
    assert not missing, f"docs/fleet.md's quick start does not make the vault as the README does: {missing}"

    work, home = options.work / "farm", options.work / "home"
    for folder in (work, home):
        folder.mkdir(parents=True, exist_ok=True)
    # "Describe your racks": the example's racks 1 to 3, two miners each, at the simulated addresses.
    racks_writer = options.work / "describe_racks.py"
    racks_writer.write_text(
        "import sys, tempfile, pathlib, shutil\n"
        f"sys.path.insert(0, {str(FLEET_COMMON)!r})\n"
        "from fleet_inventory import simulated_miners, write_inventory\n"
        "with tempfile.TemporaryDirectory() as scratch:\n"
        "    write_inventory(simulated_miners(sys.argv[1]), pathlib.Path('farm-inventory'), pathlib.Path(scratch), 3, 2)\n"
        "    shutil.copy(pathlib.Path(scratch) / 'hosts.yml', 'farm-inventory/hosts.yml')\n",
        encoding="utf-8",
    )
    editor = options.work / "editor.sh"
    editor.write_text(
        "#!/bin/sh\n"
        f"printf 'vault_whatsminer_admin_password: %s\\nvault_acme_pool_password: %s\\nvault_whatsminer_admin_password_next: %s\\n' "
        f"{shlex.quote(options.admin_password)} {POOL_PASSWORD} {NEXT_ADMIN_PASSWORD} > \"$1\"\n",
        encoding="utf-8",
    )
    editor.chmod(0o755)
    script = script_for(blocks, f'"$QUICK_START_PYTHON" {shlex.quote(str(racks_writer))} {shlex.quote(options.control_url)}')
    (options.work / "quick-start.sh").write_text(script, encoding="utf-8")
    print(script, flush=True)

    env = {name: value for name, value in os.environ.items() if not name.startswith("ANSIBLE_")}
    env.update(HOME=str(home), EDITOR=str(editor), QUICK_START_COLLECTION=str(options.collection),
               QUICK_START_PYTHON=sys.executable, ANSIBLE_INJECT_FACT_VARS="false",
               ANSIBLE_NOCOLOR="true")
    env.pop("PWD", None)
    status = run_on_terminal(["bash", str(options.work / "quick-start.sh")], cwd=work, env=env)
    assert status == 0, f"the quick start failed (exit status {status})"

    # The vault is a new one, only the user's password opens it, and it holds what the editor wrote.
    vault = work / "farm-inventory/group_vars/miners/vault.yml"
    assert vault.read_text(encoding="utf-8").startswith("$ANSIBLE_VAULT;"), "the vault is not encrypted"
    password_file = home / ".farm-vault-password"
    assert password_file.stat().st_mode & 0o077 == 0, oct(password_file.stat().st_mode)
    shown = subprocess.run(["ansible-vault", "view", "--vault-password-file", str(password_file), str(vault)], env=env,
                           capture_output=True, text=True, check=True).stdout
    assert f"vault_acme_pool_password: {POOL_PASSWORD}" in shown
    # The collection the lines used is the one they installed.
    assert (home / ".ansible/collections/ansible_collections/hashfarm/whatsminer/MANIFEST.json").is_file()
    # The report is where the README says.
    assert (work / "whatsminer-report/fleet-report.html").is_file()
    # The miners have the example's desired state.
    with urllib.request.urlopen(f"{options.control_url}/miners", timeout=30) as response:  # loopback control API
        truth = {miner["name"]: miner["state"] for miner in json.load(response)["miners"]}
    names = [f"rack{rack}-m{slot:02d}" for rack in range(1, 4) for slot in (1, 2)]
    for name, miner in zip(names, simulated_miners(options.control_url)):
        state = truth[miner["name"]]
        rack = name[:5]
        pool = "stratum+tcp://stratum.customer-pool.example.org:3333" if rack == "rack3" else "stratum+tcp://btc.pool.example.com:3333"
        user = f"{'acme' if rack == 'rack3' else 'hashfarm'}.{name}"
        assert (state["pools"][0]["url"], state["pools"][0]["user"]) == (pool, user), (name, state["pools"])
        assert state["power_mode"] == ("low" if rack == "rack2" else "normal"), (name, state["power_mode"])
        assert state["power_limit_w"] == (3300 if rack == "rack3" else state["power_limit_w"]), (name, state["power_limit_w"])
        if rack == "rack3":
            assert state["pools"][0]["password"] == POOL_PASSWORD, name
    # Step 5 rotated the write password of every miner to the vault's next one.
    assert all(truth[miner["name"]]["admin_password"] == NEXT_ADMIN_PASSWORD for miner in simulated_miners(options.control_url)), \
        "the rotation did not reach every miner"
    print(f"quick start: {sum(len(block) for block in blocks)} README lines ran against {len(truth)} simulated miners")
    return 0


if __name__ == "__main__":
    sys.exit(main())
