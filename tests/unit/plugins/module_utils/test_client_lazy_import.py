# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading from a miner never imports the crypto libraries (checked in a fresh interpreter)."""

from __future__ import annotations

from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.fresh_interpreter import run_import_report

SCRIPT = r"""
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import WhatsminerClient
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_miner import Reply, ScriptedMiner, capture

report = {"after_import": loaded()}
summary = capture("asic-rs-v1-real/summary.json")
status = capture("asic-rs-v1-real/status.json")
server = ScriptedMiner([Reply(summary), Reply(b'{"summary":[' + summary + b'],"pools":[' + capture("asic-rs-v1-real/pools.json") + b'],"id":1}'),
                        Reply(status)]).start()
try:
    client = WhatsminerClient(server.host, server.port, password="s3cret", retries=0)
    client.read("summary")
    client.read_many(["summary", "pools", "status"])
    report["after_reads"] = loaded()
    from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol import crypto
    report["after_crypto_module_import"] = loaded()
    crypto.ensure_libraries()
    report["after_privileged_preparation"] = loaded()
finally:
    server.stop()
print(json.dumps(report))
"""


def test_reads_do_not_import_crypto_libraries():
    report = run_import_report(SCRIPT, timeout=60)
    assert report["after_import"] == []
    assert report["after_reads"] == []
    assert report["after_crypto_module_import"] == []
    # The check can see the libraries: once a privileged command is prepared, they are loaded.
    assert "passlib" in report["after_privileged_preparation"]
    assert any(name.split(".")[0] in ("Crypto", "Cryptodome") for name in report["after_privileged_preparation"])
