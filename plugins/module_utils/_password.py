# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Password rotation of whatsminer_password: find out which password works, change it, prove it.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

The account is API 2's ``admin`` (the only one ``update_pwd`` changes) or, on API 3, the account of
``api3_account``. Neither API can read a password back, so "which password does the miner have"
is answered by authenticating: a harmless signed request with the password under test.

* API 2: ``get_version`` sent encrypted (one ``get_token`` and one encrypted request). The miner
  can decrypt it only with the right password: a readable reply means the password works, code 23
  (or a token rejected twice) means it does not (reference settings section 2.10, an inference).
* API 3: ``set.user.change_passwd`` signed with the password under test whose ``old`` and ``new``
  are both that password, so it changes nothing even when it runs. -1 means the password is wrong;
  0 that it works. -4 ("no permission") says writes are locked and tells nothing reliable about
  the password, so the module stops there with the manual step.

``PasswordTask.run`` checks ``new_password`` first (a miner that already has it costs one
authentication and nothing changes), then ``password``; only a password that was just proven is
used to sign the change, and after the change both are checked again: the new one must work and
the old one must not. A reply lost after the change is settled the same way (the miner is asked
which password works), so a re-run after any interruption converges and no step can lock the
miner out. No password value ever appears in a result, an error or a warning.

``ARGUMENT_SPEC`` and ``logic`` at the end are the module itself (module file and action plugin).
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import WhatsminerClient
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api3 import WhatsminerV3Client
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import (
    API_SWITCH_ADVICE,
    AuthenticationError,
    CommandRejectedError,
    WhatsminerError,
    WriteApiDisabledError,
)
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import Session, write_outcome_unknown

#: API 2 ``update_pwd``: letters, digits and underscores, at most 8 bytes (reference settings section 2.10).
#: API 3 documents no rule; the same rule is applied there, so one password fits the whole fleet.
PASSWORD_PATTERN = re.compile(r"[A-Za-z0-9_]{1,8}")
PASSWORD_RULE = "1 to 8 letters, digits or underscores (the firmware's rule for update_pwd)"
#: The factory passwords: API 2 ``admin``; API 3 ``super`` for ``super``, the account name for the others.
FACTORY_API2_PASSWORD = "admin"
FACTORY_PASSWORDS = frozenset({"admin", "super", "user1", "user2", "user3"})
API2_CHECK_COMMAND = "get_version"
API2_CHANGE_COMMAND = "update_pwd"
API3_CHANGE_COMMAND = "set.user.change_passwd"

WORKS = "works"
WRONG = "wrong"

MANUAL_STEP = (
    "Set a password other than the factory one once by hand in WhatsMinerTool (the same visit that switches the "
    "write API on), put it in your vault as the current password and run again; the collection rotates it from then on."
)


def factory_password(api_version: int, account: str) -> str:
    """The factory password of the write account: API 2 ``admin``; API 3 ``super`` or the account name."""
    if api_version == 2:
        return FACTORY_API2_PASSWORD
    return account


def validate_password_params(params: dict) -> None:
    """Reject values that no miner can take, before anything is sent. Never quotes a password."""
    new_password = params.get("new_password")
    if not isinstance(new_password, str) or not PASSWORD_PATTERN.fullmatch(new_password):
        raise ModuleFailure(f"new_password must be {PASSWORD_RULE}; its value is not shown")
    if new_password in FACTORY_PASSWORDS:
        raise ModuleFailure("new_password must not be a factory password (admin, super, user1-user3): writes stay locked "
                            "and everyone knows it; its value is not shown")
    if not params.get("password"):
        raise ModuleFailure("password (the miner's current password) is required: the module proves it before changing "
                            "anything (or set WHATSMINER_PASSWORD)")


def password_request(client: WhatsminerClient | WhatsminerV3Client, account: str, old: str, new: str, *, check: bool) -> None:
    """One signed request: the check of ``old`` (``check``) or the change from ``old`` to ``new``.

    API 2 checks with an encrypted ``get_version`` and changes with ``update_pwd``; API 3 does
    both with ``set.user.change_passwd`` for ``account`` (the check with ``new`` equal to ``old``).
    """
    if not isinstance(client, WhatsminerClient):
        client.privileged(API3_CHANGE_COMMAND, {"account": account, "old": old, "new": new})
    elif check:
        client.privileged(API2_CHECK_COMMAND)
    else:
        client.privileged(API2_CHANGE_COMMAND, old=old, new=new)


def try_password(session: Session, password: str, account: str) -> tuple[Any, int]:
    """Authenticate once with ``password`` (the session's own); ``(outcome, requests sent)``.

    The outcome is ``WORKS``, ``WRONG``, or the ``WriteApiDisabledError`` of a miner that refuses
    writes (API 2: the write API is off, which tells nothing about the password; API 3: -4, which
    follows a valid signature on the simulator and, by inference, on real firmware). Other errors
    raise. The check changes nothing, so when its reply is lost it is asked once more.
    """
    client = session.protocol_client()
    command = API2_CHECK_COMMAND if isinstance(client, WhatsminerClient) else API3_CHANGE_COMMAND
    attempt = 1
    while True:
        try:
            password_request(client, account, password, password, check=True)
        except AuthenticationError:
            return WRONG, attempt
        except WriteApiDisabledError as error:
            return error, attempt
        except WhatsminerError as error:
            if attempt == 2 or not write_outcome_unknown(error, command):
                raise
            attempt += 1
            continue
        return WORKS, attempt


class PasswordTask:
    """One run of whatsminer_password against one miner. See the module docstring."""

    def __init__(self, session: Session, params: dict) -> None:
        self.session = session
        self.params = params
        self.account = params["api3_account"]
        self.warnings: list[str] = []
        #: The API in use (2 or 3) once the first check has made contact.
        self.api_version: int | None = None
        #: Authentication attempts made (each costs one API token on API 2, one signed request on API 3).
        self.checks = 0
        self._port: int | None = None

    # --- the miner's view ------------------------------------------------------------------

    @property
    def miner(self) -> str:
        """``host:port`` of the API in use."""
        host = self.session.host
        port = self._port if self._port is not None else self.session.port
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def _account_name(self, api_version: int) -> str:
        return "admin" if api_version == 2 else f"API 3 account '{self.account}'"

    def check(self, session: Session, password: str) -> str:
        """``WORKS`` or ``WRONG``: whether ``password`` authenticates; a miner that refuses writes ends the task."""
        session.protocol_client()  # first contact: the API is chosen
        self.api_version, self._port = session.api_version, session.port
        outcome, attempts = try_password(session, password, self.account)
        self.checks += attempts
        if isinstance(outcome, WriteApiDisabledError):
            raise self._locked(session, outcome, during="checking which password the miner has")
        return outcome

    def _locked(self, session: Session, error: WriteApiDisabledError, *, during: str, changing_factory: bool = False) -> ModuleFailure:
        """The failure for a miner that refuses writes: the manual step to take."""
        api = session.api_version
        text = f"Whatsminer {self.miner}: the miner refused writes while {during} ({error.miner_message or 'no permission'}), " \
               f"so the password of {self._account_name(api)} cannot be changed through the API."
        if changing_factory:
            text += " It still has its factory password, and this firmware does not let the API change a factory password. " + MANUAL_STEP
        elif api == 3:
            text += (" API 3 answers 'no permission' while the write API is switched off or the account still has its "
                     "factory password. " + MANUAL_STEP)
        else:
            text += " " + API_SWITCH_ADVICE
        return ModuleFailure(text, changed=False, api_version=api)

    # --- the run -----------------------------------------------------------------------------

    def run(self, check_mode: bool) -> dict[str, Any]:
        """Make the account's password ``new_password``; the result."""
        new_password, password = self.params["new_password"], self.params["password"]
        new_session = self.session.with_password(new_password)
        if self.check(new_session, new_password) == WORKS:
            return self._result(False, "new_password already works; nothing to change", verified=True)
        api = self.api_version
        old_session = new_session.with_password(password)
        if new_password == password or self.check(old_session, password) == WRONG:
            raise ModuleFailure(
                f"Whatsminer {self.miner}: neither new_password nor password authenticates as {self._account_name(api)}, so "
                "nothing was changed. Give the miner's current password as password (after an interrupted rotation it is "
                "either the old or the new one of the vault); if both are lost, reset the password with WhatsMinerTool "
                "or a factory reset.", changed=False, api_version=api, checks=self.checks)
        if password == factory_password(api, self.account):
            self.warnings.append("the miner still had its factory password; writes may have been locked until now")
        if check_mode:
            return self._result(True, "password works and would be changed to new_password", verified=False)
        lost = self._send_change(old_session, password, new_password)
        return self._verify(new_session, old_session, lost)

    def _send_change(self, session: Session, password: str, new_password: str) -> WhatsminerError | None:
        """Send the change signed with the proven ``password``; the error of a lost reply (``None`` when it was answered)."""
        client = session.protocol_client()
        command = API2_CHANGE_COMMAND if isinstance(client, WhatsminerClient) else API3_CHANGE_COMMAND
        try:
            password_request(client, self.account, password, new_password, check=False)
        except WriteApiDisabledError as error:
            raise self._locked(session, error, during="changing the password",
                               changing_factory=password == factory_password(session.api_version, self.account)) from None
        except CommandRejectedError as error:
            raise ModuleFailure(f"{error} The password was not changed; password still works.", changed=False,
                                api_version=session.api_version) from None
        except WhatsminerError as error:
            if not write_outcome_unknown(error, command):
                raise
            return error
        return None

    def _verify(self, new_session: Session, old_session: Session, lost: WhatsminerError | None) -> dict[str, Any]:
        """Prove that new_password works and password no longer does, with fresh tokens or salts."""
        new_password, password = self.params["new_password"], self.params["password"]
        new_works = self.check(new_session.with_password(new_password), new_password) == WORKS
        old_works = self.check(old_session.with_password(password), password) == WORKS
        if new_works and not old_works:
            if lost is not None:
                self.warnings.append(f"the reply to the password change was lost ({lost.problem}); the miner was asked "
                                     "again and takes new_password only")
            return self._result(True, "password changed; new_password works and password no longer does", verified=True)
        if old_works and not new_works and lost is not None:
            raise ModuleFailure(
                f"Whatsminer {self.miner}: the reply to the password change was lost ({lost.problem}) and the miner still takes "
                "password, not new_password: the change did not happen. Run the task again.",
                changed=False, api_version=new_session.api_version, checks=self.checks)
        raise ModuleFailure(
            f"Whatsminer {self.miner}: after the password change new_password {'works' if new_works else 'does not work'} and "
            f"password {'still works' if old_works else 'no longer works'}; the miner did not take the change as the firmware "
            "documents it. Check the miner with WhatsMinerTool.",
            changed=not old_works, api_version=new_session.api_version, checks=self.checks)

    def _result(self, changed: bool, message: str, *, verified: bool) -> dict[str, Any]:
        return {
            "changed": changed,
            "msg": message,
            "verified": verified,
            "api_version": self.api_version,
            "account": "admin" if self.api_version == 2 else self.account,
            "checks": self.checks,
            "warnings": self.warnings,
        }


ARGUMENT_SPEC: dict = {
    "new_password": {"type": "str", "required": True, "no_log": True},
}


def manage_password(client: Session, params: dict, check_mode: bool) -> dict:
    """Validate, then run a ``PasswordTask``."""
    validate_password_params(params)
    return PasswordTask(client, params).run(check_mode)


def logic(client: Session, params: dict, check_mode: bool, diff: bool) -> dict:
    """The module: make the write account's password ``new_password``."""
    del diff  # passwords cannot be shown
    return manage_password(client, params, check_mode)
