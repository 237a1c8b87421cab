# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed exceptions of the Whatsminer protocol client.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

Every error carries structured attributes (``host``, ``port``, ``command``, ``code``,
``miner_message``) and a message that names the miner (``host:port``) and says what to do.
The message is built from the attributes when the error is printed, so the client can add the
miner and the command to an error raised by a pure helper (``add_context``).

Secrets never go into an error: not the admin password, not the token/sign, not the request.
The only texts that come from outside are the miner's own ``Msg`` and a short excerpt of a reply.
"""

from __future__ import annotations

from typing import Any

#: Messages never name the accounts or their factory passwords literally: Ansible hides every
#: occurrence of a no_log value in a module's output, so a password that equals an account name
#: (the factory passwords do) would turn those words into ``********`` (issue 14).
API_SWITCH_ADVICE = (
    "Enable it in WhatsMinerTool: change the miner's factory password first, then Remote Ctrl > Miner API Switch > Enable."
)
REACHABILITY_ADVICE = (
    "Check the miner's address, that TCP port {port} is reachable from the controller (firewall, VLAN, routing) "
    "and that the miner is powered on and has finished booting."
)


def miner_address(host: str | None, port: int | None) -> str:
    """A miner as ``host:port`` for messages (IPv6 addresses in brackets), ``"the miner"`` when the host is unknown."""
    if host is None:
        return "the miner"
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port is not None else host


class WhatsminerError(Exception):
    """Base class of every error the client raises.

    Attributes:
        host: Address of the miner, or ``None`` when the error was raised outside a client.
        port: TCP port of the miner API.
        command: Name of the API command (never its parameters).
        code: Numeric ``Code`` of the miner's reply, when there was one.
        miner_message: The miner's ``Msg`` text, when there was one.
    """

    def __init__(
        self,
        problem: str,
        *,
        host: str | None = None,
        port: int | None = None,
        command: str | None = None,
        code: int | None = None,
        miner_message: str | None = None,
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.host = host
        self.port = port
        self.command = command
        self.code = code
        self.miner_message = miner_message

    @property
    def miner(self) -> str:
        """The miner as ``host:port`` (IPv6 addresses in brackets), or ``"the miner"`` when unknown."""
        return miner_address(self.host, self.port)

    def add_context(self, host: str, port: int, command: str | None = None) -> WhatsminerError:
        """Fill in the miner and the command where they are still unknown; return the error itself."""
        if self.host is None:
            self.host, self.port = host, port
        if self.command is None:
            self.command = command
        return self

    def advice(self) -> str:
        """What the user should do about this error (empty when there is nothing specific)."""
        return ""

    def _reply_text(self) -> str:
        """``code N: message`` of the miner's reply, or an empty string."""
        parts = []
        if self.code is not None:
            parts.append(f"code {self.code}")
        if self.miner_message:
            parts.append(f"'{self.miner_message}'")
        return ": ".join(parts)

    def __str__(self) -> str:
        subject = "Whatsminer" if self.host is None else f"Whatsminer {self.miner}"
        if self.command:
            subject += f", command '{self.command}'"
        message = f"{subject}: {self.problem}"
        reply = self._reply_text()
        if reply:
            message += f" (miner replied {reply})"
        message += "."
        advice = self.advice()
        if advice:
            message += " " + advice
        return message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class MinerConnectionError(WhatsminerError):
    """The TCP exchange failed: refused, reset, closed without a reply, unresolvable host.

    Attributes:
        reason: Short text of what went wrong on the connection.
        request_sent: ``True`` when the connection was established, i.e. the miner may have received
            the request.
        write: ``True`` for a privileged (write) command, which the miner may then have applied.
    """

    def __init__(self, reason: str, *, request_sent: bool = False, write: bool = False, **context: Any) -> None:
        super().__init__(reason, **context)
        self.reason = reason
        self.request_sent = request_sent
        self.write = write

    def advice(self) -> str:
        """Reachability checks before the request went out; otherwise a busy miner, and a read-back warning for writes."""
        if not self.request_sent:
            return REACHABILITY_ADVICE.format(port=self.port if self.port is not None else 4028)
        text = "The miner accepted the connection but did not complete a reply: it may be busy or restarting; try again later or raise the timeout."
        if self.write:
            text += " The request had been sent, so the miner may have applied it: read its state back before retrying."
        return text


class MinerTimeoutError(MinerConnectionError):
    """The miner did not accept the connection or did not reply within the timeout.

    Attributes:
        timeout: The timeout that expired, in seconds.
    """

    def __init__(self, reason: str, *, timeout: float, **context: Any) -> None:
        super().__init__(reason, **context)
        self.timeout = timeout


class MinerRestartingError(MinerConnectionError):
    """The miner's API daemon answered that btminer is not running (``Socket connect failed``).

    This happens for a while after a power mode, power limit or frequency change and after
    ``restart_btminer``: the control board is up, the mining program is restarting.
    """

    def advice(self) -> str:
        """Wait for btminer to come back."""
        text = "btminer (the mining program) is restarting, e.g. after a power mode or power limit change: wait a minute and try again."
        if self.request_sent:
            text += " The request reached the miner's API daemon, but btminer was not there to run it."
        return text


class AuthenticationError(WhatsminerError):
    """The miner rejected the password (API 2: code 23 to an encrypted request, or 135 twice; API 3: -1 to a signed write)."""

    def advice(self) -> str:
        """Check the password: the admin password on API 2, the API 3 account's password on API 3."""
        if self.command and self.command.startswith(("set.", "get.")):
            return (
                "Check the password given to the module: on API 3 firmware it is the password of the account in "
                "api3_account, as set in WhatsMinerTool (writes stay locked while the factory password is in use)."
            )
        return (
            "Check the password given to the module: it must be the miner's API 2 write password as set in WhatsMinerTool "
            "(the write API stays locked while the factory password is in use)."
        )


class WriteApiDisabledError(WhatsminerError):
    """The write (privileged) API is switched off on the miner (``can't access write cmd`` or code 45)."""

    def advice(self) -> str:
        """How to switch the write API on."""
        return API_SWITCH_ADVICE


class TokenLimitError(WhatsminerError):
    """The miner refuses new tokens for this controller's IP address (code 136, ``over max connect``)."""

    def advice(self) -> str:
        """Why the limit is reached and what to do."""
        return (
            "Too many API tokens were requested from this controller's IP address within 30 minutes "
            "(the miner keeps 32 per IP address for 30 minutes): wait, or reduce the number of parallel "
            "writers against this miner (forks, serial, other tools)."
        )


class CommandRejectedError(WhatsminerError):
    """The miner refused or failed the command (codes 132, 137, 14 and other error replies)."""

    def advice(self) -> str:
        """Check the parameters."""
        return "Check the command's parameters and that this firmware supports them."


class UnsupportedCommandError(CommandRejectedError):
    """The firmware does not know the command (code 14, ``invalid cmd``); callers may degrade."""

    def advice(self) -> str:
        """The firmware is too old or too new for this command."""
        return (
            "Code 14 means 'invalid command or data': this firmware does not implement the command "
            "(it is too old or too new for it), or did not accept one of its parameter values."
        )


class MalformedReplyError(WhatsminerError):
    """The reply is not JSON the client can understand, even after the firmware-quirk repairs.

    Attributes:
        excerpt: The first characters of the reply (printable form), for diagnosis.
    """

    def __init__(self, reason: str, *, excerpt: str = "", **context: Any) -> None:
        super().__init__(reason, **context)
        self.excerpt = excerpt

    def advice(self) -> str:
        """Show the excerpt and the likely causes."""
        text = ""
        if self.excerpt:
            text = f"The reply starts with {self.excerpt!r}. "
        return text + "Either the firmware sent a broken reply or something else than the Whatsminer API listens on this port."


class MissingLibraryError(WhatsminerError):
    """A Python library needed for privileged commands is not installed on the controller.

    Attributes:
        library: The pip name of the missing library (``pycryptodome`` or ``passlib``), for
            ``missing_required_lib``.
        import_traceback: The traceback of the failed import, for ``fail_json(exception=...)``.
    """

    def __init__(self, library: str, *, import_traceback: str = "", **context: Any) -> None:
        super().__init__(f"privileged commands need the Python library '{library}' on the controller", **context)
        self.library = library
        self.import_traceback = import_traceback

    def advice(self) -> str:
        """How to install it."""
        return f"Install it in the Python environment that runs Ansible, e.g. 'pip install {self.library}'."
