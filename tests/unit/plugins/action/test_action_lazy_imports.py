# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the in-process path imports of the crypto libraries (checked in a fresh interpreter).

The worker process of every task is a fresh fork, so an import on the in-process path is paid per
host and task. whatsminer_facts never loads pycryptodome or passlib. The writing modules' action
plugins import passlib when they are loaded (in ansible-playbook's main process, once per run;
integration target crypto_imports checks the processes of a real run); runs that only read load
nothing more, and a write takes its AES from the ``cryptography`` that ansible-core has already
imported instead of importing pycryptodome.
"""

from __future__ import annotations

from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.fresh_interpreter import run_import_report

SCRIPT = r"""
from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_facts
report = {"after_facts_import": loaded()}
from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_pools, whatsminer_power
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_miner import Reply, ScriptedMiner, capture
from ansible_collections.hashfarm.whatsminer.tests.unit.plugins.action.action_harness import run_in_process

POOLS = (b'{"STATUS":[{"STATUS":"S","When":1,"Code":7,"Msg":"1 Pool(s)","Description":"cgminer 4.9.2"}],'
         b'"POOLS":[{"POOL":1,"URL":"stratum+tcp://pool.example.com:3333","User":"farm.w1","Status":"Alive","Priority":0}],"id":1}')
SUMMARY = capture("asic-rs-v1-real/summary.json")
STATUS = capture("asic-rs-v1-real/status.json")
DESIRED = [{"url": "pool.example.com:3333", "user": "farm.w1"}]

report["after_import"] = loaded()
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


def test_only_the_writing_plugins_preload_passlib_and_nothing_else_is_imported_before_a_write():
    report = run_import_report(SCRIPT, timeout=120)
    assert report["after_facts_import"] == []
    preloaded = report["after_import"]
    assert "passlib.handlers.md5_crypt" in preloaded
    assert not [name for name in preloaded if name.split(".")[0] in ("Crypto", "Cryptodome")]
    assert report["read_only"] == {
        "pools": {"failed": False, "changed": False, "msg": None},
        "facts": {"failed": False, "changed": False, "msg": None},
        "power": {"failed": False, "changed": False, "msg": None},
    }
    assert report["connections"] == 5  # pools 1, facts status 2, power 2
    assert report["after_read_only_runs"] == preloaded
    # The write imports nothing more: md5-crypt was preloaded, and its AES is the one of
    # cryptography, which ansible-core imported with the action plugin framework (as in every
    # controller process), so pycryptodome is not imported.
    assert report["after_write"] == preloaded
    assert report["ansible_loaded_cryptography_ciphers"] is True
    assert not [name for name in report["after_write"] if name.split(".")[0] in ("Crypto", "Cryptodome")]


MISSING_PASSLIB_SCRIPT = r"""
sys.modules["passlib"] = None  # as if neither passlib nor libpass were installed
from ansible_collections.hashfarm.whatsminer.plugins.action import whatsminer_pools, whatsminer_power
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol import crypto
try:
    crypto.md5_crypt_body("s3cret", "salt")
except Exception as error:  # the first write reports it
    report = {"loaded": [name for name in loaded() if sys.modules[name] is not None], "error": type(error).__name__, "message": str(error)}
print(json.dumps(report))
"""


def test_the_preload_is_silent_when_passlib_is_missing_and_the_first_write_reports_it():
    report = run_import_report(MISSING_PASSLIB_SCRIPT, timeout=60)
    assert report["loaded"] == []
    assert report["error"] == "MissingLibraryError"
    assert "passlib" in report["message"]
