# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Messages and attributes of the client's typed errors (_errors)."""

from __future__ import annotations

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    AuthenticationError,
    CommandRejectedError,
    MalformedReplyError,
    MinerConnectionError,
    MinerRestartingError,
    MinerTimeoutError,
    MissingLibraryError,
    TokenLimitError,
    UnsupportedCommandError,
    WhatsminerError,
    WriteApiDisabledError,
)

CONTEXT = {"host": "192.0.2.10", "port": 4028, "command": "update_pools"}


@pytest.mark.parametrize(
    "error, expected",
    [
        (MinerConnectionError("cannot connect (Connection refused)", **CONTEXT), ["192.0.2.10:4028", "port 4028", "firewall", "powered on"]),
        (MinerTimeoutError("no connection within 5 s", timeout=5.0, **CONTEXT), ["192.0.2.10:4028", "firewall", "powered on"]),
        (MinerTimeoutError("no reply within 5 s", timeout=5.0, request_sent=True, write=True, **CONTEXT), ["busy or restarting", "read its state back"]),
        (MinerRestartingError("Socket connect failed", request_sent=True, **CONTEXT), ["restarting", "wait a minute"]),
        (AuthenticationError("wrong password", code=23, miner_message="json cmd err", **CONTEXT), ["code 23", "'json cmd err'", "WhatsMinerTool"]),
        (WriteApiDisabledError("write API disabled", code=45, **CONTEXT),
         ["change the miner's factory password first, then Remote Ctrl > Miner API Switch > Enable"]),
        (TokenLimitError("no more tokens", code=136, miner_message="over max connect", **CONTEXT), ["30 minutes", "parallel writers", "over max connect"]),
        (CommandRejectedError("rejected", code=132, miner_message="API command ERROR", **CONTEXT), ["'update_pools'", "API command ERROR"]),
        (UnsupportedCommandError("unknown", code=14, miner_message="invalid cmd", **CONTEXT), ["'update_pools'", "invalid cmd", "firmware"]),
        (MalformedReplyError("not JSON", excerpt="<html>", **CONTEXT), ["'<html>'", "192.0.2.10:4028"]),
        (MissingLibraryError("pycryptodome", **CONTEXT), ["'pycryptodome'", "pip install pycryptodome", "192.0.2.10:4028"]),
    ],
)
def test_messages_name_the_miner_and_say_what_to_do(error, expected):
    message = str(error)
    assert message.startswith("Whatsminer 192.0.2.10:4028, command 'update_pools': ")
    for text in expected:
        assert text in message
    assert repr(error).startswith(type(error).__name__ + "(")


def test_every_error_carries_the_structured_attributes():
    error = CommandRejectedError("rejected", code=132, miner_message="API command ERROR", **CONTEXT)
    assert (error.host, error.port, error.command, error.code, error.miner_message) == ("192.0.2.10", 4028, "update_pools", 132, "API command ERROR")
    assert isinstance(error, WhatsminerError) and issubclass(UnsupportedCommandError, CommandRejectedError)
    assert issubclass(MinerTimeoutError, MinerConnectionError) and issubclass(MinerRestartingError, MinerConnectionError)


def test_add_context_fills_only_what_is_missing():
    error = MalformedReplyError("not JSON", excerpt="x")
    assert str(error).startswith("Whatsminer: not JSON.")
    assert error.add_context("192.0.2.11", 4029, "summary") is error
    assert str(error).startswith("Whatsminer 192.0.2.11:4029, command 'summary': not JSON.")
    error.add_context("192.0.2.99", 1, "pools")
    assert (error.host, error.port, error.command) == ("192.0.2.11", 4029, "summary")


def test_ipv6_miner_is_bracketed():
    assert str(MinerConnectionError("cannot connect", host="fe80::1", port=4028)).startswith("Whatsminer [fe80::1]:4028: ")


def test_missing_library_attributes():
    error = MissingLibraryError("passlib", import_traceback="Traceback ...")
    assert (error.library, error.import_traceback) == ("passlib", "Traceback ...")
