"""Firmware upgrade of the simulated miner (reference whatsminer-api-settings.md section 2.13).

API 2 ``update_firmware`` (encrypted) and API 3 ``set.system.update_firmware`` (signed) both
answer ``ready`` (API 2: Code 131, Msg ``ready``, as the vendor's capture; API 3: code 0, msg
``ready``). On the **same connection** the client then sends a 4-byte little-endian image size and
the image. The simulator reads it, answers once more (API 2: Code 131 Msg ``upgrading``; API 3:
code 0 msg ``upgrading``; whether real firmware sends this second reply is not documented, Tether
waits for one) and reboots (``reboot_seconds``). After the reboot the miner reports the version
from the image's header.

Test images (``make_test_image``) carry a header the simulator reads; nothing real is flashed and
nothing is downloaded. The **hashfarm test image header**:

========  =======  ==============================================================================
offset    size     content
========  =======  ==============================================================================
0         8        magic ``HFWMTEST``
8         4        little-endian length ``n`` of the JSON that follows
12        n        UTF-8 JSON object ``{"platform": "H616", "version": "20231120.13.REL"}``
12 + n    rest     payload (any bytes; generated filler)
========  =======  ==============================================================================

An image without this header, or for another platform than the miner's model (``ModelSpec.platform``,
compared case-insensitively), is refused after the upload (API 2 code 132, API 3 code -2) and nothing
changes. ``MinerConfig.firmware_update`` makes one miner misbehave:

* ``flash`` (default): as above;
* ``refuse``: the command itself is refused (API 2 code 132 "firmware upgrade refused", API 3 -2);
* ``cut``: the miner reads the size and 16 bytes of the image, then resets the connection; nothing
  changes and the miner does not reboot;
* ``keep_old``: a failed flash: the upload is accepted and the miner reboots, but comes back on the
  version it had.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .miner import SimMiner

MAGIC = b"HFWMTEST"
SIZE_PREFIX = struct.Struct("<I")
#: Largest image the simulated miner accepts (real images are tens of MB).
MAX_IMAGE_BYTES = 512 * 1024 * 1024
FIRMWARE_UPDATE_MODES = ("flash", "refuse", "cut", "keep_old")
API2_COMMAND = "update_firmware"
API3_COMMAND = "set.system.update_firmware"
READY = "ready"
DONE = "upgrading"
#: Bytes of the image a ``cut`` miner reads before it resets the connection.
CUT_AFTER_BYTES = 16


class UploadRefused(Exception):
    """The miner refuses the upgrade command (``firmware_update: refuse``)."""


def make_test_image(platform: str, version: str, payload_bytes: int = 256) -> bytes:
    """A small test image with the hashfarm test header (see the module docstring)."""
    header = json.dumps({"platform": platform, "version": version}).encode("utf-8")
    filler = bytes((index * 7 + 3) % 256 for index in range(payload_bytes))
    return MAGIC + SIZE_PREFIX.pack(len(header)) + header + filler


def read_test_header(image: bytes) -> dict[str, str] | None:
    """``{"platform", "version"}`` of a test image, ``None`` when ``image`` has no valid test header."""
    if not image.startswith(MAGIC) or len(image) < len(MAGIC) + SIZE_PREFIX.size:
        return None
    (length,) = SIZE_PREFIX.unpack_from(image, len(MAGIC))
    start = len(MAGIC) + SIZE_PREFIX.size
    if start + length > len(image):
        return None
    try:
        header = json.loads(image[start:start + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(header, dict) or not all(isinstance(header.get(key), str) and header[key] for key in ("platform", "version")):
        return None
    return {"platform": header["platform"], "version": header["version"]}


def begin_upload(miner: SimMiner) -> None:
    """Run when the upgrade command arrives (lock held): raise ``UploadRefused`` when the miner refuses it."""
    if miner.live_config.firmware_update == "refuse":
        raise UploadRefused("firmware upgrade refused")


def image_problem(miner: SimMiner, image: bytes) -> str | None:
    """Why the miner refuses a received image, ``None`` when it takes it (lock held)."""
    header = read_test_header(image)
    if header is None:
        return "invalid firmware: unknown image format"
    platform = miner.model_spec.platform
    if header["platform"].lower() != platform.lower():
        return f"invalid firmware: image for platform {header['platform']}, this miner is {platform}"
    return None


def finish_upload(miner: SimMiner, image: bytes) -> None:
    """Flash (or, with ``keep_old``, fail to flash) a taken image and reboot (lock held)."""
    header = read_test_header(image)
    assert header is not None  # checked by image_problem
    miner.record("upload", f"(firmware image {len(image)} bytes, version {header['version']})", None, encrypted=False, replied=True)
    if miner.live_config.firmware_update != "keep_old":
        miner.live_state.fw_version = header["version"]
    miner.begin_reboot()


async def receive_image(miner: SimMiner, reader: asyncio.StreamReader) -> tuple[bytes | None, str]:
    """Read the size prefix and the image; ``(image, "")``, or ``(None, close_mode)`` when the upload ends early."""
    idle_timeout = miner.live_config.idle_timeout_s
    try:
        async with asyncio.timeout(idle_timeout):
            (size,) = SIZE_PREFIX.unpack(await reader.readexactly(SIZE_PREFIX.size))
            if size == 0 or size > MAX_IMAGE_BYTES:
                return None, "close"
            if miner.live_config.firmware_update == "cut":
                await reader.readexactly(min(size, CUT_AFTER_BYTES))
                return None, "reset"
            return await reader.readexactly(size), ""
    except (TimeoutError, asyncio.IncompleteReadError):
        return None, "close"


def api3_final(miner: SimMiner, image: bytes) -> dict[str, Any]:
    """The API 3 reply after the image (lock held), as ``v3_replies.envelope`` builds it."""
    from .v3_replies import envelope  # pylint: disable=import-outside-toplevel

    problem = image_problem(miner, image)
    if problem:
        return envelope(-2, problem, int(time.time()), API3_COMMAND)
    finish_upload(miner, image)
    return envelope(0, DONE, int(time.time()), API3_COMMAND)


async def serve_upload_v2(miner: SimMiner, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ready: Any) -> str:
    """API 2, after ``ready`` went out: receive the image, answer, flash; return how to close."""
    from .protocol import Outcome  # pylint: disable=import-outside-toplevel
    from .replies import Reply, daemon_error, daemon_reply  # pylint: disable=import-outside-toplevel

    image, close_mode = await receive_image(miner, reader)
    if image is None:
        return close_mode
    with miner._lock:  # pylint: disable=protected-access
        description = miner.profile_spec.daemon_description
        problem = image_problem(miner, image)
        if problem:
            reply = Reply(daemon_error(132, int(time.time()), description, problem))
        else:
            finish_upload(miner, image)
            reply = Reply(daemon_reply(131, DONE, int(time.time()), description))
    return await miner._deliver(writer, Outcome(reply, aeskey=ready.aeskey))  # pylint: disable=protected-access


async def serve_upload_v3(miner: SimMiner, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str:
    """API 3, after ``ready`` went out: receive the image, answer in one frame, flash; return how to close."""
    from .v3_protocol import encode_frame  # pylint: disable=import-outside-toplevel

    image, close_mode = await receive_image(miner, reader)
    if image is None:
        return close_mode
    with miner._lock:  # pylint: disable=protected-access
        reply = api3_final(miner, image)
    writer.write(encode_frame(reply))
    await writer.drain()
    return "close"
