# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ansible-core internals behind plugin_utils/_ansible_compat.py still do what the collection relies on.

Each test here fails on the ansible-core release where a private API it names moves or changes
shape; docs/architecture.md ("Private ansible-core APIs") says what breaks for users then. The last
test keeps every other file of the collection away from ansible-core internals.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ansible import constants as C
from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.testing import patch_module_args
from ansible.release import __version__ as ansible_core_version

from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils import _ansible_compat
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._ansible_compat import (
    as_module_process,
    as_module_result,
    inject_invocation,
    inject_invocation_is_a_setting,
    invocation_module_argument,
    no_log_values,
)

COLLECTION = Path(_ansible_compat.__file__).resolve().parents[2]
CORE = tuple(int(part) for part in re.findall(r"\d+", ansible_core_version)[:2])
SPEC = {
    "host": {"type": "str", "fallback": (lambda: "192.0.2.9",)},
    "password": {"type": "str", "no_log": True, "fallback": (lambda: "fromFallback",)},
    "pools": {"type": "list", "elements": "dict", "options": {"url": {"type": "str"}, "password": {"type": "str", "no_log": True}}},
}


def test_the_ansible_core_under_test_is_one_the_adapter_knows():
    # 2.19 and 2.20 capture module errors one way, 2.21 another; a later release must be looked at.
    assert CORE >= (2, 19)
    assert (_ansible_compat._UnifiedTaskResult is not None) is (CORE >= (2, 21))  # pylint: disable=protected-access
    assert (_ansible_compat._AnsibleModuleCapturedError is not None) is (CORE < (2, 21))  # pylint: disable=protected-access


def test_no_log_values_are_those_ansible_module_masks():
    args = {"pools": [{"url": "p:1", "password": "poolSecret"}]}
    validation = ArgumentSpecValidator(SPEC).validate(dict(args))
    assert no_log_values(validation) == {"poolSecret", "fromFallback"}
    with patch_module_args(dict(args)), as_module_process():
        module = AnsibleModule(argument_spec=SPEC)
    assert no_log_values(validation) <= module.no_log_values


def test_a_failed_module_result_is_reported_as_a_module_failure():
    result = as_module_result({"failed": True, "msg": "boom", "exception": "Traceback (most recent call last):\nX"})
    captured = result["exception"]
    assert captured.event.msg == "boom"
    assert captured.event.formatted_traceback == "Traceback (most recent call last):\nX\n"
    if CORE >= (2, 21):
        assert (captured.is_module, captured.error_message, captured.error_context) == (True, "Module failed.", "target")
    else:
        assert captured.error_type is _ansible_compat._AnsibleModuleCapturedError  # pylint: disable=protected-access
        assert captured.error_type._default_message == "Module failed."  # pylint: disable=protected-access


def test_a_module_result_that_did_not_fail_keeps_its_fields():
    result = as_module_result({"changed": True, "ansible_facts": {"whatsminer_x": 1}, "invocation": {"module_args": {"a": 1}}})
    assert {key: result[key] for key in ("changed", "ansible_facts", "invocation")} == {
        "changed": True, "ansible_facts": {"whatsminer_x": 1}, "invocation": {"module_args": {"a": 1}}}
    assert "exception" not in result and not result.get("failed")


@pytest.mark.parametrize("requested", [True, False])
def test_invocation_follows_the_setting_where_there_is_one(requested):
    assert inject_invocation_is_a_setting() is (CORE >= (2, 21))
    assert inject_invocation({"ansible_inject_invocation": requested}) is (requested or CORE < (2, 21))
    assert invocation_module_argument(requested) == ({"_ansible_inject_invocation": requested} if CORE >= (2, 21) else {})
    if CORE >= (2, 21):
        assert C.config.get_config_value("INJECT_INVOCATION") is False  # the default: no invocation


def test_module_code_runs_as_in_its_own_process_then_the_controller_is_back():
    assert module_utils_internal.is_controller is True  # importing the action plugins' code made this the controller
    module_warnings.warn("left over")
    with as_module_process():
        assert module_utils_internal.is_controller is False
        assert module_warnings.get_warning_messages() == ()
        module_warnings.warn("returned, not displayed")
        assert module_warnings.get_warning_messages() == ("returned, not displayed",)
    assert module_utils_internal.is_controller is True


PRIVATE_USE = re.compile(r"ansible\._internal|module_utils\._internal|module_utils import _internal|\._no_log_values|_global_warnings|"
                         r"_global_deprecations|_shell\.tmpdir|\bis_controller\b|AnsibleModuleCapturedError|UnifiedTaskResult")


def test_no_other_file_uses_ansible_core_internals():
    allowed = {Path(_ansible_compat.__file__).resolve(), Path(__file__).resolve()}
    offenders = []
    for path in sorted([*COLLECTION.glob("plugins/**/*.py"), *COLLECTION.glob("tests/**/*.py"), *COLLECTION.glob("roles/**/*.py")]):
        if path.resolve() in allowed or "output" in path.relative_to(COLLECTION).parts[:2]:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PRIVATE_USE.search(line):
                offenders.append(f"{path.relative_to(COLLECTION)}:{number}: {line.strip()}")
    assert not offenders, "use plugins/plugin_utils/_ansible_compat.py instead:\n" + "\n".join(offenders)
