# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""whatsminer_firmware against simulated miners of every firmware profile."""

from __future__ import annotations

import hashlib
import struct

import pytest

from whatsminer_sim.firmware import make_test_image

from ansible_collections.hashfarm.whatsminer.plugins.module_utils import _firmware
from ansible_collections.hashfarm.whatsminer.plugins.modules import whatsminer_firmware
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import PROFILES, connection_args, connections, tokens

PASSWORD = "farm_42"
#: A newer version of each profile's firmware, of the same generation (same API).
NEW_VERSIONS = {"1.4.x": "20211201.10.REL", "2.0.x": "20231120.13.REL", "2024": "20241015.10.Rel", "3.x": "20250321.14.Rel"}
COMMANDS = {"1.4.x": "update_firmware", "2.0.x": "update_firmware", "2024": "update_firmware", "3.x": "set.system.update_firmware"}


@pytest.fixture(name="one_miner")
def fixture_one_miner(start_fleet):
    def start(profile, **options):
        return start_fleet(count=1, profiles=profile, password=PASSWORD, **options).miners[0]

    return start


def write_image(tmp_path, platform, version, name="image.bin", payload_bytes=1024):
    path = tmp_path / name
    path.write_bytes(make_test_image(platform, version, payload_bytes))
    return str(path)


def firmware_args(miner, image, version, **extra):
    return connection_args(miner, **{"password": PASSWORD, "version": version, "image": image, "reboot_timeout": 20.0, **extra})


def reported_version(miner):
    return miner.reply_context().profile.fw_version


def upgrade_commands(miner):
    return [entry.command for entry in miner.log if "firmware" in entry.command]


@pytest.mark.parametrize("profile", PROFILES)
def test_upgrade_then_idempotent_rerun(one_miner, run_module, tmp_path, profile):
    miner = one_miner(profile)
    old, new = reported_version(miner), NEW_VERSIONS[profile]
    image = write_image(tmp_path, miner.model_spec.platform, new)
    result = run_module(whatsminer_firmware.main, firmware_args(miner, image, new), diff=True)
    assert not result.failed, result.get("msg")
    assert result["changed"] is True and result["command"] == COMMANDS[profile]
    assert result["before"]["firmware_version"] == old and result["after"]["firmware_version"] == new
    assert result["diff"] == {"before": {"firmware_version": old}, "after": {"firmware_version": new}}
    assert result["image"]["sha256"] == hashlib.sha256(open(image, "rb").read()).hexdigest()
    assert reported_version(miner) == new
    assert upgrade_commands(miner)[0] == COMMANDS[profile] and len(upgrade_commands(miner)) == 2  # the command, then the image
    before = (connections(miner), tokens(miner))
    again = run_module(whatsminer_firmware.main, firmware_args(miner, image, new))
    assert not again.failed and again["changed"] is False
    assert "nothing was sent" in again["msg"]
    assert tokens(miner) == before[1] and len(upgrade_commands(miner)) == 2


@pytest.mark.parametrize("profile", PROFILES)
def test_check_mode_sends_nothing(one_miner, run_module, tmp_path, profile):
    miner = one_miner(profile)
    old, new = reported_version(miner), NEW_VERSIONS[profile]
    image = write_image(tmp_path, miner.model_spec.platform, new)
    result = run_module(whatsminer_firmware.main, firmware_args(miner, image, new), check_mode=True, diff=True)
    assert not result.failed, result.get("msg")
    assert result["changed"] is True and "check mode sends nothing" in result["msg"]
    assert image in result["msg"] and miner.host in result["msg"]
    assert result["diff"]["after"] == {"firmware_version": new}
    assert tokens(miner) == 0 and upgrade_commands(miner) == [] and reported_version(miner) == old


@pytest.mark.parametrize("profile", PROFILES)
def test_image_for_another_platform_is_refused_before_sending(one_miner, run_module, tmp_path, profile):
    miner = one_miner(profile)
    new = NEW_VERSIONS[profile]
    image = write_image(tmp_path, "OTHER9", new)
    result = run_module(whatsminer_firmware.main, firmware_args(miner, image, new))
    assert result.failed and not result.get("changed")
    assert f"is for platform OTHER9, but the miner is {miner.model_spec.platform}" in result["msg"]
    assert tokens(miner) == 0 and upgrade_commands(miner) == []


@pytest.mark.parametrize("profile", PROFILES)
def test_checksum_mismatch_is_refused_without_contact(one_miner, run_module, tmp_path, profile):
    miner = one_miner(profile)
    image = write_image(tmp_path, miner.model_spec.platform, NEW_VERSIONS[profile])
    result = run_module(whatsminer_firmware.main, firmware_args(miner, image, NEW_VERSIONS[profile], checksum="sha256:" + "0" * 64))
    assert result.failed and "not the checksum given" in result["msg"]
    assert connections(miner) == 0


@pytest.mark.parametrize("profile", PROFILES)
def test_cut_off_upload_fails_and_keeps_the_firmware(one_miner, run_module, tmp_path, profile):
    miner = one_miner(profile, config={"firmware_update": "cut"})
    old, new = reported_version(miner), NEW_VERSIONS[profile]
    image = write_image(tmp_path, miner.model_spec.platform, new)
    result = run_module(whatsminer_firmware.main, firmware_args(miner, image, new, reboot_timeout=1.0))
    assert result.failed and result["changed"] is False
    assert "did not answer again within reboot_timeout" in result["msg"] and f"now reports firmware {old} (wanted {new})" in result["msg"]
    assert reported_version(miner) == old and miner.api_available()


@pytest.mark.parametrize("profile", PROFILES)
def test_failed_flash_names_both_versions(one_miner, run_module, tmp_path, profile):
    miner = one_miner(profile, config={"firmware_update": "keep_old"})
    old, new = reported_version(miner), NEW_VERSIONS[profile]
    image = write_image(tmp_path, miner.model_spec.platform, new)
    result = run_module(whatsminer_firmware.main, firmware_args(miner, image, new))
    assert result.failed
    assert f"runs firmware {old}, not {new}" in result["msg"] and "flash failed" in result["msg"] and result["changed"] is True
    assert result["after"]["firmware_version"] == old


@pytest.mark.parametrize("profile", PROFILES)
def test_refused_upgrade_command(one_miner, run_module, tmp_path, profile):
    miner = one_miner(profile, config={"firmware_update": "refuse"})
    old, new = reported_version(miner), NEW_VERSIONS[profile]
    image = write_image(tmp_path, miner.model_spec.platform, new)
    result = run_module(whatsminer_firmware.main, firmware_args(miner, image, new))
    assert result.failed and not result.get("changed")
    assert "refused" in result["msg"]
    assert reported_version(miner) == old


@pytest.mark.parametrize("profile", PROFILES)
def test_reboot_beyond_reboot_timeout(one_miner, run_module, tmp_path, profile):
    miner = one_miner(profile, config={"reboot_seconds": 30.0})
    new = NEW_VERSIONS[profile]
    image = write_image(tmp_path, miner.model_spec.platform, new)
    result = run_module(whatsminer_firmware.main, firmware_args(miner, image, new, reboot_timeout=1.0))
    assert result.failed and result["changed"] is True
    assert "did not answer again within reboot_timeout (1 s)" in result["msg"]
    assert "cannot be read now" in result["msg"]


def test_unknown_image_format_is_named_and_needs_allow_unknown_platform(one_miner, run_module, tmp_path):
    miner = one_miner("2.0.x")
    path = tmp_path / "vendor.bin"
    path.write_bytes(b"\x7fELF" + bytes(2000))
    args = firmware_args(miner, str(path), NEW_VERSIONS["2.0.x"])
    result = run_module(whatsminer_firmware.main, args)
    assert result.failed and "format of image" in result["msg"] and "is unknown" in result["msg"]
    assert tokens(miner) == 0
    allowed = run_module(whatsminer_firmware.main, {**args, "allow_unknown_platform": True}, check_mode=True)
    assert not allowed.failed and allowed["changed"] is True
    assert any("uploaded anyway" in warning for warning in allowed.warnings)


def test_header_of_a_combined_package_names_its_platforms():
    entries = b"".join(struct.pack("<16s16sII64x", chip, platform, offset, 100)
                       for chip, platform, offset in ((b"K8", b"h616", 7000), (b"K8", b"h6os", 7100)))
    head = bytes(16) + struct.pack("<II", 200, 2) + entries
    assert _firmware.read_header(head, 8000) == (_firmware.FORMAT_PACKAGE, ("h616", "h6os"), None)
    assert _firmware.read_header(head, 7050)[0] == _firmware.FORMAT_UNKNOWN  # a table entry beyond the file


def test_header_version_must_be_the_wanted_version(one_miner, run_module, tmp_path):
    miner = one_miner("2024")
    image = write_image(tmp_path, miner.model_spec.platform, "20241015.10.Rel")
    result = run_module(whatsminer_firmware.main, firmware_args(miner, image, "20241101.01.Rel"))
    assert result.failed and "header says version 20241015.10.Rel" in result["msg"]
    assert connections(miner) == 0


def test_the_sha256_is_computed_once_per_file_version(tmp_path):
    image = write_image(tmp_path, "H616", "20241015.10.Rel")
    params = {"image": image, "version": "20241015.10.Rel", "checksum": None}
    real = hashlib.sha256(open(image, "rb").read()).hexdigest()
    assert _firmware.inspect_image(params).sha256 == real
    status = _firmware.os.stat(image)
    with open(_firmware._cache_path(image, status), "w", encoding="ascii") as cached:  # pylint: disable=protected-access
        cached.write("f" * 64)
    _firmware.os.chmod(_firmware._cache_path(image, status), 0o600)  # pylint: disable=protected-access
    assert _firmware.inspect_image(params).sha256 == "f" * 64  # read from the cache, not computed again
    _firmware.os.utime(image, ns=(status.st_atime_ns, status.st_mtime_ns + 1000))
    assert _firmware.inspect_image(params).sha256 == real  # another file version: computed again


def test_a_sha256_cache_others_can_write_is_not_trusted(tmp_path):
    image = write_image(tmp_path, "H616", "20241015.10.Rel")
    params = {"image": image, "version": "20241015.10.Rel", "checksum": None}
    real = _firmware.inspect_image(params).sha256
    cache = _firmware._cache_path(image, _firmware.os.stat(image))  # pylint: disable=protected-access
    with open(cache, "w", encoding="ascii") as cached:
        cached.write("f" * 64)
    _firmware.os.chmod(cache, 0o666)
    assert _firmware.inspect_image(params).sha256 == real


def test_the_image_is_streamed_in_chunks(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(bytes(3 * _firmware.CHUNK_BYTES + 5))
    chunks = list(_firmware.image_chunks(str(path), 3 * _firmware.CHUNK_BYTES + 5))
    assert [len(chunk) for chunk in chunks] == [_firmware.CHUNK_BYTES] * 3 + [5]
