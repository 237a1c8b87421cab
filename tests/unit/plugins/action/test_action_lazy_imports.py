# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The in-process path imports no crypto library for a run that writes nothing (checked in a fresh interpreter).

The worker process of every task is a fresh fork, so an import on the in-process path is paid per
host and task. Runs that only read (facts, an unchanged pools or power task) must therefore never
load pycryptodome or passlib; the first write loads passlib, and takes its AES from the
``cryptography`` that ansible-core has already imported instead of importing pycryptodome.
"""

from __future__ import annotations

from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.fresh_interpreter import run_import_report

SCRIPT = r"""
from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_facts, whatsminer_pools, whatsminer_power
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_miner import Reply, ScriptedMiner, capture
from ansible_collections.hashfarm.whatsminer.tests.unit.plugins.action.action_harness import run_in_process

POOLS = (b'{"STATUS":[{"STATUS":"S","When":1,"Code":7,"Msg":"1 Pool(s)","Description":"cgminer 4.9.2"}],'
         b'"POOLS":[{"POOL":1,"URL":"stratum+tcp://pool.example.com:3333","User":"farm.w1","Status":"Alive","Priority":0}],"id":1}')
SUMMARY = capture("asic-rs-v1-real/summary.json")
STATUS = capture("asic-rs-v1-real/status.json")
DESIRED = [{"url": "pool.example.com:3333", "user": "farm.w1"}]

report = {"after_import": loaded()}
server = ScriptedMiner([Reply(POOLS), Reply(SUMMARY), Reply(STATUS), Reply(SUMMARY), Reply(STATUS), Reply(POOLS)]).start()
try:
    connection = {"host": server.host, "port": server.port, "password": "s3cret", "retries": 0, "timeout": 2, "api_version": "2"}
    results = {
        "pools": run_in_process(whatsminer_pools.ActionModule, "whatsminer_pools", dict(connection, pools=DESIRED)),
        "facts": run_in_process(whatsminer_facts.ActionModule, "whatsminer_facts", dict(connection, gather_subset=["status"])),
        "power": run_in_process(whatsminer_power.ActionModule, "whatsminer_power", dict(connection, mining=True)),
    }
    report["read_only"] = {name: {"failed": bool(result.get("failed")), "changed": result.get("changed"), "msg": result.get("msg")}
                           for name, result in results.items()}
    report["after_read_only_runs"] = loaded()
    report["connections"] = server.connections
    write = run_in_process(whatsminer_pools.ActionModule, "whatsminer_pools", dict(connection, pools=[{"url": "other.example.com:3333", "user": "w"}]))
    report["after_write"] = loaded()
    report["ansible_loaded_cryptography_ciphers"] = "cryptography.hazmat.primitives.ciphers" in sys.modules
finally:
    server.stop()
print(json.dumps(report))
"""


def test_runs_that_write_nothing_import_no_crypto_library():
    report = run_import_report(SCRIPT, timeout=120)
    assert report["after_import"] == []
    assert report["read_only"] == {
        "pools": {"failed": False, "changed": False, "msg": None},
        "facts": {"failed": False, "changed": False, "msg": None},
        "power": {"failed": False, "changed": False, "msg": None},
    }
    assert report["connections"] == 5  # pools 1, facts status 2, power 2
    assert report["after_read_only_runs"] == []
    # The check can see the libraries: the first write loads passlib. Its AES is the one of
    # cryptography, which ansible-core imported with the action plugin framework (as in every
    # controller process), so pycryptodome is not imported.
    assert "passlib" in report["after_write"]
    assert report["ansible_loaded_cryptography_ciphers"] is True
    assert not [name for name in report["after_write"] if name.split(".")[0] in ("Crypto", "Cryptodome")]
