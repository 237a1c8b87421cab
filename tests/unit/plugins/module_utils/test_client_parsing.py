# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tolerant reply parsing (_protocol.parsing): every firmware quirk of reference section 1.4, with real bytes.

Where a capture of the quirk itself exists it is used verbatim; otherwise the test takes a real
capture and applies the one defect firmware is known to produce, so the rest of the bytes are real.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import MalformedReplyError
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.parsing import (
    is_btminer_down_text,
    is_complete_document,
    is_success,
    parse_reply_detailed,
    reply_code,
    reply_message,
    reply_status,
    split_joined_reply,
)
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.scripted_miner import capture


def replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    """Apply one defect to real bytes, making sure it lands exactly once."""
    assert data.count(old) == 1, old
    return data.replace(old, new)


def whole(data: bytes) -> dict:
    """``parse_reply_detailed`` of a reply that is not cut off: the dict, after checking that it is the whole document."""
    reply, truncated = parse_reply_detailed(data)
    assert not truncated
    return reply


# ---------------------------------------------------------------------------------------------
# Quirks


def test_trailing_nul_after_cgminer_reply():
    real = capture("asic-rs-v1-real/summary.json")
    assert whole(real.rstrip(b"\n") + b"\x00") == json.loads(real)


def test_trailing_comma_fragment_observed_on_fw_20220422():
    data = capture("misc-code-index/get_miner_info_trailing_comma_fragment.invalid-json.txt")
    with pytest.raises(ValueError):
        json.loads(data)
    assert whole(data) == {"Msg": {"ledstat": "auto"}, "Description": ""}


def test_trailing_comma_in_full_get_miner_info_reply():
    real = capture("microbt-api-v2.0.5-pdf/get_miner_info.json")
    broken = replace_once(real, b'"gateway":"192.168.2.1"\n}', b'"gateway":"192.168.2.1",\n}')
    assert whole(broken) == json.loads(real)


def test_newline_inside_a_string_value_is_kept_not_deleted():
    real = capture("asic-rs-v1-real/summary.json")
    broken = replace_once(real, b"HP5A01-19101436   BINV04-192101D", b"HP5A01-19101436\nBINV04-192101D")
    reply = whole(broken)
    assert reply["SUMMARY"][0]["Chip Data"] == "HP5A01-19101436\nBINV04-192101D"
    assert reply["SUMMARY"][0]["MAC"] == "C4:08:28:00:A4:19"


def test_newlines_between_tokens_with_a_trailing_nul():
    real = capture("microbt-api-v2.0.5-pdf/edevs.json")
    assert b"\n" in real
    assert whole(real + b"\x00") == json.loads(real)


def test_missing_comma_between_list_items():
    real = capture("microbt-api-v2.0.5-pdf/devdetails.json")
    broken = real.replace(b"},\n{", b"}{")
    assert broken.count(b"}{") == 2
    assert whole(broken) == json.loads(real)


def test_comma_right_after_list_opening():
    real = capture("microbt-api-v2.0.5-pdf/devdetails.json")
    broken = replace_once(real, b'"DEVDETAILS":\n[\n{', b'"DEVDETAILS":\n[,{')
    assert whole(broken) == json.loads(real)


def test_missing_comma_before_temp0_member():
    real = capture("microbt-api-v2.0.5-pdf/get_psu.json")
    broken = replace_once(real, b'"vender":"7"\n}', b'"vender":"7""temp0":"35"\n}')
    reply = whole(broken)
    expected = json.loads(real)
    expected["Msg"]["temp0"] = "35"
    assert reply == expected


def test_bare_inf_and_nan_become_none():
    real = capture("microbt-api-v2.0.5-pdf/summary.json")
    broken = replace_once(real, b'"Power Rate":42.31', b'"Power Rate":inf')
    broken = replace_once(broken, b'"Hash Deviation%":0.1398', b'"Hash Deviation%":nan')
    broken = replace_once(broken, b'"Env Temp":32.00', b'"Env Temp":-inf')
    summary = whole(broken)["SUMMARY"][0]
    assert summary["Power Rate"] is None and summary["Hash Deviation%"] is None and summary["Env Temp"] is None
    assert summary["Power"] == 3593


def test_python_style_nan_constants_become_none_even_when_the_rest_is_valid():
    assert whole(b'{"STATUS":"S","Power Rate":NaN,"x":Infinity}') == {"STATUS": "S", "Power Rate": None, "x": None}


def test_leading_comma_instead_of_opening_brace():
    real = capture("asic-rs-v1-real/devs.json")
    assert real.startswith(b"{")
    assert whole(b"," + real[1:]) == json.loads(real)


def test_truncated_reply_is_cut_after_the_last_comma_and_closed():
    real = capture("asic-rs-v1-real/pools.json")
    expected = json.loads(real)
    cut_at = real.index(b'"Stratum URL":"btc2.example.pool"') + 20  # inside a string of the second pool
    reply, truncated = parse_reply_detailed(real[:cut_at])
    assert truncated
    assert reply["POOLS"][0] == expected["POOLS"][0]
    second = reply["POOLS"][1]
    assert "Stratum URL" not in second and second["Stratum Difficulty"] == 0.0
    assert all(expected["POOLS"][1][key] == value for key, value in second.items())


def test_truncated_reply_cut_inside_a_number():
    real = capture("asic-rs-v1-real/summary.json")
    cut_at = real.index(b'"Power":3417') + len(b'"Power":34')
    reply, truncated = parse_reply_detailed(real[:cut_at])
    summary = reply["SUMMARY"][0]
    assert truncated
    assert "Power" not in summary  # possibly-cut value dropped, not turned into 34
    assert summary["Network Blocks"] == 20


def test_error_code_list_shaped_like_a_dict_api_2_0_4():
    data = capture("microbt-api-v2.0.5-pdf/get_error_code.invalid-json.txt")
    reply = whole(data)
    assert reply["Msg"] == {"error_code": {"329": "2022-01-17 11:28:11"}}
    assert reply["Code"] == 131 and is_success(reply)


def test_error_code_repair_touches_only_that_list():
    data = b'{"STATUS":"S","Msg":{"error_code":["329":"2022-01-17 11:28:11","530":"2022-01-17 11:30:00"],"other":["[x]",1]},"Description":""}'
    reply = whole(data)
    assert reply["Msg"]["error_code"] == {"329": "2022-01-17 11:28:11", "530": "2022-01-17 11:30:00"}
    assert reply["Msg"]["other"] == ["[x]", 1]


def test_valid_error_code_list_of_objects_is_unchanged():
    data = b'{"STATUS":"S","Code":131,"Msg":{"error_code":[{"329":"2022-01-17 11:28:11"},"110"]},"Description":""}'
    assert whole(data) == json.loads(data)


def test_several_quirks_at_once():
    data = b',"STATUS":"S","Msg":{"a":[,{"x":1}{"y":inf}],"b":"q""c":2,},"id":1}\x00'
    assert whole(data) == {"STATUS": "S", "Msg": {"a": [{"x": 1}, {"y": None}], "b": "q", "c": 2}, "id": 1}


# ---------------------------------------------------------------------------------------------
# Repairs never corrupt valid data


TRICKY = {
    "STATUS": "S",
    "Msg": {
        "text": 'a,}b}{c[,{d""temp0 inf nan ]["x":"y"] \n\t end',
        "quote": 'say "hi", \\ ok',
        "error_code": ["329:2022", "[1]"],
        "list": [1, 2.5, -3, True, False, None, "inf"],
        "unicode": "H\u00e9 \u2603",
    },
}


@pytest.mark.parametrize("indent", [None, 1])
def test_valid_reply_is_parsed_as_is(indent):
    data = json.dumps(TRICKY, indent=indent).encode()
    assert whole(data) == TRICKY


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_repair_path_keeps_string_contents_intact(ensure_ascii):
    # The trailing NUL forces the repair path; every string must come out unchanged.
    data = json.dumps(TRICKY, ensure_ascii=ensure_ascii).encode() + b"\x00"
    assert whole(data) == TRICKY


# ---------------------------------------------------------------------------------------------
# Unrepairable replies


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body>403 Forbidden</body></html>",
        b'{"STATUS":"S"',  # truncated with no comma to cut at
        b"",
        b"\x00\x00",
        b'{"a":1}{"b":2}',  # two documents
        b"\xff\xfe garbage",
    ],
)
def test_unrepairable_reply_raises_with_an_excerpt(data):
    with pytest.raises(MalformedReplyError) as info:
        parse_reply_detailed(data)
    assert info.value.excerpt is not None
    assert "not valid JSON" in str(info.value)


def test_json_that_is_not_an_object_is_malformed():
    with pytest.raises(MalformedReplyError, match="not a JSON object"):
        parse_reply_detailed(b"[1, 2]")


def test_excerpt_is_short_and_printable():
    with pytest.raises(MalformedReplyError) as info:
        parse_reply_detailed(b"\x01not json " + b"x" * 500)
    assert len(info.value.excerpt) <= 130
    assert info.value.excerpt.isprintable()


# ---------------------------------------------------------------------------------------------
# Other pure helpers


def test_daemon_text_while_btminer_restarts():
    assert is_btminer_down_text(b"Socket connect failed: Connection refused\n")
    assert not is_btminer_down_text(capture("asic-rs-v1-real/summary.json"))


def test_is_complete_document():
    real = capture("asic-rs-v1-real/status.json")
    assert is_complete_document(real) and is_complete_document(real + b"\x00")
    assert not is_complete_document(real[:-5])
    assert not is_complete_document(b"")


@pytest.mark.parametrize(
    "path, status, code, message",
    [
        ("asic-rs-v1-real/summary.json", "S", 11, "Summary"),  # cgminer shape
        ("microbt-api-v2.0.5-pdf/pools.json", "S", None, "1 Pool(s)"),  # abbreviated doc STATUS
        ("asic-rs-pr187-status/status_v2_fw20240924.14.Rel.json", "S", 131, None),  # api-daemon shape, Msg is data
        ("misc-code-index/error_14_invalid_cmd_whatsminer-v1.1.json", "E", 14, "invalid cmd"),
        ("misc-code-index/get_token_error_136_over_max_connect.json", "E", 136, "over max connect"),
        ("misc-code-index/get_token_whatsminer-v1.3.json", "S", 134, None),
    ],
)
def test_envelope_helpers_on_both_shapes(path, status, code, message):
    reply = whole(capture(path))
    assert reply_status(reply) == status
    assert is_success(reply) is (status == "S")
    assert reply_code(reply) == code
    if message is not None:
        assert reply_message(reply) == message
    else:
        assert isinstance(reply_message(reply), dict)


def test_status_i_is_success_and_codes_as_strings_are_read():
    assert is_success({"STATUS": [{"STATUS": "I", "Code": "7"}]})
    assert reply_code({"STATUS": [{"STATUS": "I", "Code": "7"}]}) == 7
    assert not is_success({"STATUS": "W"}) and not is_success({}) and reply_status({}) is None
    assert reply_code({"STATUS": "E", "Code": True}) is None


def test_split_joined_reply():
    summary = json.loads(capture("asic-rs-v1-real/summary.json"))
    pools = json.loads(capture("asic-rs-v1-real/pools.json"))
    joined = {"summary": [summary], "pools": [pools], "id": 1}
    assert split_joined_reply(joined, ["summary", "pools"]) == {"summary": summary, "pools": pools}
    assert split_joined_reply(joined, ["summary", "devs"]) is None
    assert split_joined_reply(summary, ["summary", "pools"]) is None
    assert split_joined_reply({"summary": summary, "pools": [pools]}, ["summary", "pools"]) is None
