# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Firmware upgrade of whatsminer_firmware: compare the version, check the image, upload, wait, read back.

Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

The steps (reference whatsminer-api-settings.md section 2.13):

1. Before any contact: the image is a readable regular file of a sane size, its sha256 matches
   ``checksum`` when one is given, and its header is read (``inspect_image``). The sha256 is
   computed once per image and controller, not once per miner: it is cached under the system's
   temporary directory, keyed by the file's path, device, inode, size and modification time.
2. The version the miner reports (API 2 ``get_version`` ``fw_ver``, else ``summary``; API 3
   ``get.device.info`` ``system.fwversion``) is compared with ``version``; equal means done and
   nothing is sent (no token either).
3. The image's platforms (header) are compared with the miner's (``get_version`` ``platform``, or
   1.4.x ``summary`` ``CB Platform``; API 3 ``system.platform``); a mismatch refuses the upload.
   Two header formats are known: the hashfarm test image (see ``simulator/whatsminer_sim/firmware.py``)
   and the vendor's combined package as Tether's worker reads it (a table of up to 64 entries of
   104 bytes from byte 24: chip type, platform, offset, size). Any other image is of unknown format:
   the task says so and stops, unless ``allow_unknown_platform`` is set.
4. The upload the vendor documents: API 2 ``update_firmware`` (encrypted), API 3
   ``set.system.update_firmware`` (signed); after the ``ready`` reply, on the same connection, the
   4-byte little-endian size and the image, streamed from the file in chunks (never held whole).
   The whole file is sent (Tether sends only the package of the miner's platform; the vendor
   document says the file).
5. The wait through the reboot is ``_reboot.RebootTask``'s (bounded by ``reboot_timeout``), then
   the version is read back: ``changed`` only when it is ``version``; another version is a failure
   naming both.

``ARGUMENT_SPEC`` and ``logic`` at the end are the module itself (module file and action plugin).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import struct
import tempfile
import time
from typing import Any, Callable, Iterator, NamedTuple

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _miner_state as miner_state
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._module_failure import ModuleFailure
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import WhatsminerError
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._reboot import MAX_REBOOT_TIMEOUT, RebootTask
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._session import Session

API2_COMMAND = "update_firmware"
API3_COMMAND = "set.system.update_firmware"
DEFAULT_REBOOT_TIMEOUT = 900.0
#: Smallest and largest image accepted (real images are tens of MB; test images a few hundred bytes).
MIN_IMAGE_BYTES = 256
MAX_IMAGE_BYTES = 512 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
VERSION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
CHECKSUM_PATTERN = re.compile(r"(?:sha256:)?([0-9a-fA-F]{64})")
MAX_PATH_LENGTH = 4096

#: The hashfarm test image: magic, 4-byte LE length, JSON {"platform", "version"} (simulator firmware.py).
TEST_MAGIC = b"HFWMTEST"
#: The vendor's combined package (Tether utils/firmware.js): LE u32 words; package count at 20,
#: table from 24 of 104-byte entries: chip type[16], platform[16], offset u32, size u32, 64 reserved.
PACKAGE_COUNT_OFFSET = 20
PACKAGE_TABLE_OFFSET = 24
PACKAGE_ENTRY = struct.Struct("<16s16sII64x")
MAX_PACKAGES = 64
HEADER_READ_BYTES = PACKAGE_TABLE_OFFSET + MAX_PACKAGES * PACKAGE_ENTRY.size + 132
FORMAT_TEST = "hashfarm-test"
FORMAT_PACKAGE = "whatsminer-package"
FORMAT_UNKNOWN = "unknown"
_U32 = struct.Struct("<I")


class ImageInfo(NamedTuple):
    """What the controller knows about the image before anything is sent."""

    path: str
    size: int
    sha256: str
    format: str
    platforms: tuple[str, ...]
    version: str | None

    def to_result(self) -> dict[str, Any]:
        """The ``image`` return value."""
        return {"path": self.path, "size": self.size, "sha256": self.sha256, "format": self.format,
                "platforms": list(self.platforms), "version": self.version}


def same_version(reported: str | None, wanted: str) -> bool:
    """Versions are equal ignoring case and surrounding quotes/space (firmware writes ``REL``, ``Rel``, ``'...'``)."""
    return reported is not None and reported.strip(" '\"").lower() == wanted.strip().lower()


# --- the image, before any contact ----------------------------------------------------------

def validate_firmware_params(params: dict) -> None:
    """Reject values no upgrade can take (no file access yet)."""
    version = params.get("version")
    if not isinstance(version, str) or not VERSION_PATTERN.fullmatch(version):
        raise ModuleFailure("version must be the firmware version as the miner reports it (1 to 64 letters, digits, dots, "
                            f"hyphens or underscores, e.g. 20231120.13.REL), got {str(version)[:80]!r}")
    image = params.get("image")
    if not isinstance(image, str) or not image.strip() or len(image) > MAX_PATH_LENGTH or any(ord(char) < 32 for char in image):
        raise ModuleFailure(f"image must be the path of the firmware file (no control characters, at most {MAX_PATH_LENGTH} characters), "
                            f"got {str(image)[:80]!r}")
    checksum = params.get("checksum")
    if checksum is not None and not CHECKSUM_PATTERN.fullmatch(checksum):
        raise ModuleFailure(f"checksum must be the image's sha256 as 64 hexadecimal digits, optionally prefixed 'sha256:', got {str(checksum)[:80]!r}")
    timeout = params.get("reboot_timeout")
    if not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and 0 < timeout <= MAX_REBOOT_TIMEOUT):
        raise ModuleFailure(f"reboot_timeout must be more than 0 and at most {MAX_REBOOT_TIMEOUT:g} seconds, got {timeout}")


def _cache_path(path: str, status: os.stat_result) -> str:
    key = f"{os.path.realpath(path)}\0{status.st_dev}\0{status.st_ino}\0{status.st_size}\0{status.st_mtime_ns}"
    directory = os.path.join(tempfile.gettempdir(), f"hashfarm-whatsminer-sha256-{os.getuid()}")
    return os.path.join(directory, hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest())


def _private(path: str, directory: bool) -> bool:
    """Whether ``path`` is this user's own directory or file that nobody else may write (not a symlink)."""
    try:
        status = os.lstat(path)
    except OSError:
        return False
    kind = stat.S_ISDIR if directory else stat.S_ISREG
    return kind(status.st_mode) and status.st_uid == os.getuid() and not status.st_mode & 0o022


def image_sha256(path: str, status: os.stat_result) -> str:
    """The sha256 of the image, computed once per file version and controller (cached on disk, see the module docstring).

    The cache is used only in a directory and a file of this user that nobody else can write, so
    that no other local user can plant the digest of an image that does not match it.
    """
    cache = _cache_path(path, status)
    if _private(os.path.dirname(cache), directory=True) and _private(cache, directory=False):
        try:
            with open(cache, encoding="ascii") as cached:
                digest = cached.read().strip()
            if re.fullmatch(r"[0-9a-f]{64}", digest):
                return digest
        except OSError:
            pass
    hasher = hashlib.sha256()
    with open(path, "rb") as image:
        for chunk in iter(lambda: image.read(CHUNK_BYTES), b""):
            hasher.update(chunk)
    digest = hasher.hexdigest()
    try:
        os.makedirs(os.path.dirname(cache), mode=0o700, exist_ok=True)
        if not _private(os.path.dirname(cache), directory=True):
            return digest
        partial = f"{cache}.{os.getpid()}"
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="ascii") as cached:
            cached.write(digest)
        os.replace(partial, cache)
    except OSError:
        pass  # no cache: computed again next time
    return digest


def read_header(head: bytes, size: int) -> tuple[str, tuple[str, ...], str | None]:
    """``(format, platforms, version)`` from the first bytes of an image of ``size`` bytes."""
    if head.startswith(TEST_MAGIC) and len(head) >= len(TEST_MAGIC) + _U32.size:
        (length,) = _U32.unpack_from(head, len(TEST_MAGIC))
        start = len(TEST_MAGIC) + _U32.size
        try:
            header = json.loads(head[start:start + length].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            header = None
        if isinstance(header, dict) and isinstance(header.get("platform"), str) and isinstance(header.get("version"), str):
            return FORMAT_TEST, (header["platform"],), header["version"]
    if len(head) >= PACKAGE_TABLE_OFFSET:
        (count,) = _U32.unpack_from(head, PACKAGE_COUNT_OFFSET)
        end = PACKAGE_TABLE_OFFSET + count * PACKAGE_ENTRY.size
        if 0 < count <= MAX_PACKAGES and end <= min(len(head), size):
            platforms = []
            for index in range(count):
                _chip, platform, offset, length = PACKAGE_ENTRY.unpack_from(head, PACKAGE_TABLE_OFFSET + index * PACKAGE_ENTRY.size)
                name = platform.rstrip(b"\0")
                if not re.fullmatch(rb"[A-Za-z0-9_.-]{1,16}", name) or offset + length > size or length == 0:
                    break
                platforms.append(name.decode("ascii"))
            else:
                return FORMAT_PACKAGE, tuple(dict.fromkeys(platforms)), None
    return FORMAT_UNKNOWN, (), None


def inspect_image(params: dict) -> ImageInfo:
    """The image checked and its header read, before any contact with a miner (``ModuleFailure`` says what is wrong)."""
    path = params["image"]
    try:
        status = os.stat(path)
    except OSError as error:
        raise ModuleFailure(f"image {path}: cannot be read ({error.strerror or error}); give the path of the firmware file on the controller") from None
    if not stat.S_ISREG(status.st_mode):
        raise ModuleFailure(f"image {path}: is not a regular file; give the path of the firmware file")
    if not MIN_IMAGE_BYTES <= status.st_size <= MAX_IMAGE_BYTES:
        raise ModuleFailure(f"image {path}: {status.st_size} bytes is not the size of a firmware image "
                            f"({MIN_IMAGE_BYTES} bytes to {MAX_IMAGE_BYTES // (1024 * 1024)} MiB); check the file")
    try:
        with open(path, "rb") as image:
            head = image.read(HEADER_READ_BYTES)
        digest = image_sha256(path, status)
    except OSError as error:
        raise ModuleFailure(f"image {path}: cannot be read ({error.strerror or error})") from None
    checksum = params.get("checksum")
    if checksum is not None:
        wanted = CHECKSUM_PATTERN.fullmatch(checksum).group(1).lower()
        if wanted != digest:
            raise ModuleFailure(f"image {path}: its sha256 is {digest}, not the checksum given ({wanted}); "
                                "the file is damaged or not the image meant: download it again. Nothing was sent.")
    image_format, platforms, version = read_header(head, status.st_size)
    if version is not None and not same_version(version, params["version"]):
        raise ModuleFailure(f"image {path}: its header says version {version}, not the version wanted ({params['version']}); "
                            "give the image of that version. Nothing was sent.")
    return ImageInfo(path, status.st_size, digest, image_format, platforms, version)


def image_chunks(path: str, size: int) -> Iterator[bytes]:
    """The image's first ``size`` bytes, read from the file as they are sent."""
    left = size
    with open(path, "rb") as image:
        while left > 0:
            chunk = image.read(min(CHUNK_BYTES, left))
            if not chunk:
                raise ModuleFailure(f"image {path}: the file became shorter while it was sent ({size - left} of {size} bytes); "
                                    "do not change the image during a rollout")
            left -= len(chunk)
            yield chunk


# --- the miner --------------------------------------------------------------------------------

class _UploadAndWait(RebootTask):
    """``RebootTask`` whose command is the upload: its bounded wait and failure text are reused as they are."""

    def __init__(self, client: Session, reboot_timeout: float, upload: Callable[[], None], command: str, **task_options: Any) -> None:
        super().__init__(client, {"operation": "reboot", "reboot_timeout": reboot_timeout, "wait_for_hashing": False}, **task_options)
        self._upload = upload
        self._command = command

    def wire_command(self) -> str:
        return self._command

    def send(self) -> None:
        self._upload()


class FirmwareTask:
    """One miner's upgrade (see the module docstring); ``clock``/``sleep`` are injectable for tests."""

    def __init__(self, client: Session, params: dict, image: ImageInfo, **task_options: Any) -> None:
        self.client = client
        self.params = params
        self.image = image
        self.wanted = params["version"]
        self.task_options = task_options
        self.warnings: list[str] = []

    @property
    def miner(self) -> str:
        """``Whatsminer host``."""
        return f"Whatsminer {self.client.host}"

    def read_identity(self) -> dict[str, Any]:
        """The firmware version and platform the miner reports."""
        version = self.client.read("get_version")
        facts = miner_state.device_facts(version=version)
        if not facts["firmware_version"] or not facts["platform"]:
            facts = miner_state.device_facts(version=version, summary=self.client.read("summary"))
        return {"firmware_version": facts["firmware_version"], "platform": facts["platform"]}

    def check_platform(self, platform: str | None) -> None:
        """Refuse an image for another platform; stop on what cannot be checked unless allowed."""
        image, allow = self.image, self.params["allow_unknown_platform"]
        if image.format == FORMAT_UNKNOWN:
            problem = (f"the format of image {image.path} is unknown (neither a Whatsminer combined package with a platform table "
                       "nor a hashfarm test image), so its platform cannot be checked against the miner's")
        elif not platform:
            problem = f"the miner does not report its platform, so image {image.path} (for {', '.join(image.platforms)}) cannot be checked against it"
        elif platform.lower() not in [name.lower() for name in image.platforms]:
            raise ModuleFailure(f"{self.miner}: image {image.path} is for platform {', '.join(image.platforms)}, but the miner is {platform}; "
                                f"refused, nothing was sent. Use the image for {platform}.", changed=False)
        else:
            return
        if not allow:
            raise ModuleFailure(f"{self.miner}: {problem}. Nothing was sent. Check the image by hand and set allow_unknown_platform "
                                "to upload it anyway.", changed=False)
        self.warnings.append(f"{problem}; uploaded anyway (allow_unknown_platform)")

    def upload(self, command: str) -> None:
        """The upload on the protocol client of the miner's API; an image the miner did not get whole fails here."""
        protocol = self.client.protocol_client()
        outcome = protocol.upload(command, self.image.size, image_chunks(self.image.path, self.image.size), final_wait=self.params["timeout"])
        if outcome.sent < outcome.size:
            raise ModuleFailure(f"{self.miner}: the upload of {self.image.path} was cut off: {outcome.problem}. The miner did not get "
                                "the whole image and should keep its firmware; check its network and run again.", changed=False, command=command)
        if outcome.final_error is not None:
            raise ModuleFailure(f"{self.miner}: the miner refused image {self.image.path} after receiving it: {outcome.final_error}",
                                changed=False, command=command)
        if outcome.problem:
            self.warnings.append(f"{command}: {outcome.problem}; whether the upgrade took was read from the miner after its reboot")

    def run(self, check_mode: bool, diff: bool) -> dict[str, Any]:
        """Compare, check, upload, wait, read back."""
        before = self.read_identity()
        result: dict[str, Any] = {"image": self.image.to_result(), "before": before, "warnings": self.warnings}
        if same_version(before["firmware_version"], self.wanted):
            return {**result, "changed": False, "after": before, "msg": f"the miner already runs {before['firmware_version']}; nothing was sent"}
        self.check_platform(before["platform"])
        predicted = {**before, "firmware_version": self.wanted}
        if diff:
            result["diff"] = {"before": {"firmware_version": before["firmware_version"]}, "after": {"firmware_version": self.wanted}}
        command = API3_COMMAND if self.client.api_version == 3 else API2_COMMAND
        result["command"] = command
        if check_mode:
            return {**result, "changed": True, "after": predicted,
                    "msg": f"would upload {self.image.path} ({self.image.size} bytes) to {self.miner} with {command}: "
                           f"{before['firmware_version']} -> {self.wanted} (check mode sends nothing)"}
        started = time.monotonic()
        waiter = _UploadAndWait(self.client, float(self.params["reboot_timeout"]), lambda: self.upload(command), command, **self.task_options)
        try:
            waited = waiter.run()
        except ModuleFailure as failure:
            if "reboot_timeout" not in failure.message:
                raise
            text, now = self._now_running()
            # Still on the old version: nothing changed (yet); otherwise, or when unreadable, it may have.
            changed = now is None or not same_version(now, before["firmware_version"] or "")
            raise ModuleFailure(f"{failure.message} {text}", **{**failure.details, "changed": changed}) from None
        self.warnings.extend(waited["warnings"])
        after = self.read_identity()
        elapsed = round(time.monotonic() - started, 1)
        if not same_version(after["firmware_version"], self.wanted):
            raise ModuleFailure(f"{self.miner}: the image was uploaded and the miner rebooted, but it runs firmware {after['firmware_version']}, "
                                f"not {self.wanted} (it had {before['firmware_version']}): the flash failed. Take it out of the rollout, "
                                "check it (WhatsMinerTool, the miner's log) and upgrade it by hand.",
                                changed=True, before=before, after=after, command=command, elapsed=elapsed)
        return {**result, "changed": True, "after": after, "elapsed": elapsed,
                "msg": f"upgraded from {before['firmware_version']} to {after['firmware_version']} in {elapsed:g} s"}

    def _now_running(self) -> tuple[str, str | None]:
        """What the miner runs after a wait that ran out: the text for the message, and the version (``None``: unknown)."""
        try:
            version = self.read_identity()["firmware_version"]
        except WhatsminerError as error:
            return f"Its firmware version cannot be read now ({error.problem}).", None
        return f"The miner now reports firmware {version} (wanted {self.wanted}).", version


def manage_firmware(client: Session, params: dict, check_mode: bool, diff: bool, **task_options: Any) -> dict:
    """The result of whatsminer_firmware for one miner (``task_options``: ``clock``/``sleep`` for tests)."""
    validate_firmware_params(params)
    image = inspect_image(params)
    return FirmwareTask(client, params, image, **task_options).run(check_mode, diff)


ARGUMENT_SPEC: dict = {
    "version": {"type": "str", "required": True},
    "image": {"type": "path", "required": True},
    "checksum": {"type": "str"},
    "reboot_timeout": {"type": "float", "default": DEFAULT_REBOOT_TIMEOUT},
    "allow_unknown_platform": {"type": "bool", "default": False},
}


def logic(client: Session, params: dict, check_mode: bool, diff: bool) -> dict:
    """The module: the miner runs firmware ``version``, upgraded from ``image`` when it does not."""
    return manage_firmware(client, params, check_mode, diff)
