# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pieces of plugin_utils/_in_process.py: the path decision and what AnsibleModule does around the logic."""

from __future__ import annotations

import os

import pytest

from ansible.module_utils.common.json import Direction, get_module_decoder, get_module_encoder
from ansible.template import trust_as_template

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._connection_options import module_argument_spec
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._pools import ARGUMENT_SPEC as POOLS_SPEC
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import MinerConnectionError, MissingLibraryError
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils import _in_process
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._in_process import (
    IN_PROCESS,
    MODULE,
    ExecutionChoiceError,
    choose_path,
    environment,
    error_tracebacks_enabled,
    module_result,
    run_logic,
    through_module_json,
    validate_arguments,
)

MASKED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"

# --- the path decision ---------------------------------------------------------------------


@pytest.mark.parametrize("execution", [None, "auto", "AUTO", " auto "])
def test_auto_runs_in_the_worker_on_the_controller(execution):
    decision = choose_path(execution, local_connection=True, become=False, run_async=False)
    assert decision.path == IN_PROCESS
    assert decision.reason == "the task runs on the controller (local connection)"


@pytest.mark.parametrize("local_connection, become, run_async, reason", [
    (False, False, False, "the task runs on a host whose connection is not local (delegate_to)"),
    (True, True, False, "the task uses become"),
    (True, False, True, "the task is async"),
])
def test_auto_runs_the_module_where_the_worker_cannot_stand_in(local_connection, become, run_async, reason):
    decision = choose_path("auto", local_connection=local_connection, become=become, run_async=run_async)
    assert (decision.path, decision.reason) == (MODULE, reason)


@pytest.mark.parametrize("local_connection", [True, False])
def test_module_always_runs_the_module(local_connection):
    decision = choose_path("module", local_connection=local_connection, become=False, run_async=False)
    assert (decision.path, decision.reason) == (MODULE, "whatsminer_execution is module")


@pytest.mark.parametrize("execution", ["", "in_process", "modules", 0, False])
def test_other_values_are_refused(execution):
    with pytest.raises(ExecutionChoiceError, match=r"^whatsminer_execution must be one of auto, module, got "):
        choose_path(execution, local_connection=True, become=False, run_async=False)


# --- arguments --------------------------------------------------------------------------------


def test_arguments_travel_as_they_do_to_a_module():
    args = {"pools": ({"url": trust_as_template("{{ not templated }}"), "user": "u"},), 1: "key"}
    travelled = through_module_json(args, Direction.CONTROLLER_TO_MODULE)
    assert travelled == {"pools": [{"url": "{{ not templated }}", "user": "u"}], "1": "key"}
    assert type(travelled["pools"][0]["url"]) is str  # pylint: disable=unidiomatic-typecheck  # the tag is gone


@pytest.mark.parametrize("direction", list(Direction))
def test_the_codecs_resolved_at_load_are_those_of_the_module_profile(direction):
    assert _in_process.MODULE_JSON_CODECS[direction] == (
        get_module_encoder(_in_process.MODULE_JSON_PROFILE, direction),
        get_module_decoder(_in_process.MODULE_JSON_PROFILE, direction),
    )


def test_validation_fills_defaults_and_collects_no_log_values():
    args = {"host": "192.0.2.1", "password": "adminSecret", "pools": [{"url": "p:1", "user": "u", "password": "poolSecret"}]}
    validated = validate_arguments(module_argument_spec(POOLS_SPEC), args, "hashfarm.whatsminer.whatsminer_pools")
    assert validated.error is None
    assert validated.params["port"] == 4028 and validated.params["update_password"] == "on_create"
    assert validated.params["pools"][0] == {"url": "p:1", "user": "u", "password": "poolSecret"}
    assert validated.no_log_values == {"adminSecret", "poolSecret"}
    assert args == {"host": "192.0.2.1", "password": "adminSecret", "pools": [{"url": "p:1", "user": "u", "password": "poolSecret"}]}


def test_validation_takes_environment_fallbacks_and_hides_them(monkeypatch):
    monkeypatch.setenv("WHATSMINER_HOST", "192.0.2.7")
    monkeypatch.setenv("WHATSMINER_PASSWORD", "fromEnvironment")
    validated = validate_arguments(module_argument_spec(POOLS_SPEC), {"pools": []}, "m")
    assert validated.params["host"] == "192.0.2.7"
    assert "fromEnvironment" in validated.no_log_values


def test_unsupported_parameters_name_the_module():
    validated = validate_arguments(module_argument_spec(POOLS_SPEC), {"host": "h", "pools": [], "colour": "red"}, "hashfarm.whatsminer.whatsminer_pools")
    assert validated.error.startswith(
        "Unsupported parameters for (hashfarm.whatsminer.whatsminer_pools) module: colour. "
        "Supported parameters include: api3_account, api3_port, api_version, host,"
    )
    assert validated.params["colour"] == "red"  # shown in invocation.module_args, as AnsibleModule does


def test_other_validation_errors_are_the_validator_messages():
    validated = validate_arguments(module_argument_spec(POOLS_SPEC), {"host": "h", "pools": [], "port": "x"}, "m")
    assert validated.error.startswith("argument 'port' is of type str")


def test_the_task_environment_applies_only_for_the_block(monkeypatch):
    monkeypatch.setenv("WHATSMINER_HOST", "before")
    monkeypatch.delenv("WHATSMINER_PASSWORD", raising=False)
    with environment({"WHATSMINER_HOST": "during", "WHATSMINER_PASSWORD": 42}):
        assert os.environ["WHATSMINER_HOST"] == "during"
        assert os.environ["WHATSMINER_PASSWORD"] == "42"
    assert os.environ["WHATSMINER_HOST"] == "before"
    assert "WHATSMINER_PASSWORD" not in os.environ


# --- the logic and its result ------------------------------------------------------------------


PARAMS = {"host": "h", "port": 1, "timeout": 1.0, "retries": 0, "api_version": "2", "api3_port": 4433, "api3_account": "super"}


def test_a_result_keeps_its_warnings_apart():
    fields, warnings = run_logic(lambda client, params, check_mode, diff: {"changed": False, "warnings": ["w"]}, PARAMS, False, False)
    assert (fields, warnings) == ({"changed": False}, ["w"])


@pytest.mark.parametrize("tracebacks", [False, True])
def test_failures_are_the_module_failure_fields(monkeypatch, tracebacks):
    monkeypatch.setattr(_in_process, "error_tracebacks_enabled", lambda: tracebacks)

    def invalid(client, params, check_mode, diff):
        raise ModuleFailure("Invalid pools", validation_errors=["pool 1 url: is required"])

    def unreachable(client, params, check_mode, diff):
        raise MinerConnectionError("cannot connect", host="h", port=1, command="pools", request_sent=False)

    fields, warnings = run_logic(invalid, PARAMS, False, False)
    assert warnings == []
    assert {key: value for key, value in fields.items() if key != "exception"} == {
        "failed": True, "msg": "Invalid pools", "validation_errors": ["pool 1 url: is required"]}
    assert ("exception" in fields) is tracebacks
    fields, _warnings = run_logic(unreachable, PARAMS, False, False)
    assert fields["miner"] == {"host": "h", "port": 1, "command": "pools", "code": None}
    if tracebacks:
        assert fields["exception"].startswith("Traceback (most recent call last):")
    else:
        assert "exception" not in fields


@pytest.mark.parametrize("tracebacks", [False, True])
def test_a_missing_library_keeps_its_import_traceback_only_with_tracebacks(monkeypatch, tracebacks):
    monkeypatch.setattr(_in_process, "error_tracebacks_enabled", lambda: tracebacks)

    def missing(client, params, check_mode, diff):
        raise MissingLibraryError("pycryptodome", import_traceback="Traceback (most recent call last): ImportError")

    fields, _warnings = run_logic(missing, PARAMS, False, False)
    assert fields["msg"].startswith("Failed to import the required Python library (pycryptodome)")
    assert fields.get("exception") == ("Traceback (most recent call last): ImportError" if tracebacks else None)


@pytest.mark.parametrize("setting, enabled", [
    (["never"], False), (["error"], True), (["always"], True), (["warning"], False), (["error", "never"], False), ([], False)])
def test_error_tracebacks_follow_display_traceback(monkeypatch, setting, enabled):
    monkeypatch.setattr(_in_process.C.config, "get_config_value", lambda name, *args, **kwargs: setting if name == "DISPLAY_TRACEBACK" else None)
    assert error_tracebacks_enabled() is enabled


def test_module_result_masks_every_no_log_value_like_ansible_module():
    fields = {
        "changed": True,
        "failed": None,
        "pools": [{"url": "stratum+tcp://pool.example.com:3333", "user": "farm.x"}],
        "nested": {"secret": "s3cret", "number": 1234, "true": True},
        "msg": "sent s3cret",
    }
    params = {"password": "s3cret", "pools": [{"password": "x"}], "port": 1234}
    result = module_result(fields, params, {"s3cret", "x", "1234"}, ["warning about x", "warning about x"])
    assert result == {
        "changed": True,
        "failed": None,
        "pools": [{"url": "stratum+tcp://pool.e********ample.com:3333", "user": "farm.********"}],
        "nested": {"secret": MASKED, "number": MASKED, "true": True},
        "msg": "sent ********",
        "invocation": {"module_args": {"password": MASKED, "pools": [{"password": MASKED}], "port": MASKED}},
        "warnings": ["warning about x"],  # AnsibleModule leaves its warning objects unmasked, once each
    }


def test_module_result_keeps_top_level_booleans_and_nulls_whatever_is_hidden():
    result = module_result({"changed": True, "verified": False, "before": None}, {}, {"True", "False", "None"}, [])
    assert result == {"changed": True, "verified": False, "before": None, "invocation": {"module_args": {}}}


def test_results_travel_as_they_do_from_a_module():
    result = through_module_json({"commands": ("update_pools",), "warnings": ["w"]}, Direction.MODULE_TO_CONTROLLER)
    assert result == {"commands": ["update_pools"], "warnings": ["w"]}
