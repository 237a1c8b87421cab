#!/usr/bin/python
# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Firmware version of a Whatsminer miner as desired state: upload the image when the version differs."""

from __future__ import annotations

DOCUMENTATION = r"""
module: whatsminer_firmware
short_description: Upgrade the firmware of a MicroBT Whatsminer to a desired version
version_added: 0.1.0
description:
  - Makes a Whatsminer run the firmware O(version), uploading O(image) when it runs another version.
  - Reads the version the miner reports first (API 2 C(get_version), or C(summary) on firmware
    without it; API 3 C(get.device.info)). When it already is O(version), nothing is sent and no
    API token is requested.
  - Before anything is sent the image is checked on the machine the module runs on (the
    controller, see the notes) - it must be a readable regular file of 256 bytes to 512 MiB,
    whose sha256 matches O(checksum) when one is given - and its header is read. An image whose
    header names another platform than the miner's (C(get_version) C(platform), C(CB Platform) on
    1.4.x, API 3 C(system.platform)) is refused.
  - The upload is the one the vendor documents. API 2 C(update_firmware), API 3
    C(set.system.update_firmware); after the miner's C(ready), on the same connection, the image
    size (4 bytes, little-endian) and the image, streamed from the file. Then the module waits
    until the miner has rebooted and answers again (O(reboot_timeout)), and reads the version back.
  - The task reports C(changed) only when the miner then reports O(version). A miner that comes
    back with another version (a failed flash) fails the task, naming both versions.
  - Upgrades take a miner off hashing for minutes and can fail; roll them out with the
    C(hashfarm.whatsminer.firmware) playbook (a canary first, then batches, stopping at the first
    failure), see C(docs/fleet.md) of the collection.
author:
  - hashfarm maintainers (@hashfarm)
options:
  version:
    description:
      - The firmware version the miner should run, as the miner reports it (for example
        V(20231120.13.REL)). Compared ignoring case and quotes.
      - When the image has a header that carries its version (test images), it must be this version.
    type: str
    required: true
  image:
    description:
      - Path of the firmware image file on the machine the module runs on (the controller, unless
        the task is delegated or O(ignore:whatsminer_execution) is V(module)).
      - The file is read once per upload, in chunks, as it is sent; it is never held in memory whole.
        Do not change it during a rollout.
    type: path
    required: true
  checksum:
    description:
      - The image's sha256, 64 hexadecimal digits, optionally prefixed C(sha256:). A file with
        another sha256 is refused before anything is sent.
      - The sha256 is computed once per file version and controller, not once per miner (cached in
        the system's temporary directory, keyed by path, inode, size and modification time).
    type: str
  reboot_timeout:
    description:
      - How many seconds, at most 3600, to wait after the upload until the miner has rebooted and
        answers again. Flashing and rebooting take minutes on real miners.
      - When the time is up the task fails with the version the miner reports then; C(changed=false) when that
        is still the version it had (for example after an upload the miner dropped), C(changed=true) otherwise.
    type: float
    default: 900
  allow_unknown_platform:
    description:
      - Upload also when the image's platform cannot be checked against the miner's, with a warning.
      - Two image headers are known. The Whatsminer combined package (a table of the platforms it
        holds, as Tether's MiningOS worker reads it) and the test image of the collection's
        simulator. Any other image, and a miner that does not report its platform, cannot be
        checked, so the task fails before sending anything unless this is V(true).
      - A known header that names another platform is refused whatever this says.
    type: bool
    default: false
extends_documentation_fragment:
  - hashfarm.whatsminer.connection
  - hashfarm.whatsminer.execution
  - hashfarm.whatsminer.attributes
  - hashfarm.whatsminer.attributes.actiongroup_whatsminer
  - hashfarm.whatsminer.attributes.idempotent
attributes:
  check_mode:
    support: full
    details: Checks the image, reads the miner's version and platform, and reports what would be uploaded to which miner; sends nothing.
  diff_mode:
    support: full
    details: Shows V(firmware_version) before and after.
notes:
  - B(Where the image is read.) Like every module of the collection, this one normally runs on the
    controller (see O(ignore:whatsminer_execution)), so O(image) is a path on the controller; no copy to the
    miners' hosts is needed.
  - B(The whole file is sent.) The vendor's document says the client sends the file. Tether's
    worker sends only the package of the miner's platform out of a combined image; this module
    does not cut images.
  - B(Reply after the image.) Whether the miner answers after the image is not documented. A reply
    that is an error fails the task (the miner refused the image); no reply, or a connection that
    ends after the whole image was sent, is a warning, and the version read after the reboot decides.
  - B(Failed flash.) A miner that reboots but comes back on another version than O(version) fails the task
    with C(changed=true) (it rebooted), naming both versions, with RV(before) and RV(after).
  - B(Cut-off upload.) When the connection breaks before the whole image was sent the task fails at
    once; the miner should keep its firmware. Run it again.
  - The password is that of the write account (API 2 C(admin), API 3 O(api3_account)); it never appears in the output.
seealso:
  - module: hashfarm.whatsminer.whatsminer_facts
  - module: hashfarm.whatsminer.whatsminer_reboot
"""

EXAMPLES = r"""
- name: Upgrade one miner
  hashfarm.whatsminer.whatsminer_firmware:
    host: "{{ ansible_host }}"
    password: "{{ vault_whatsminer_admin_password }}"
    version: 20231120.13.REL
    image: /srv/firmware/M50-20231120.13.REL.bin
    checksum: sha256:9f2c4d0e6b8a1c3e5f7092b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4

- name: What would be uploaded where (nothing is sent)
  hashfarm.whatsminer.whatsminer_firmware:
    host: "{{ ansible_host }}"
    version: 20231120.13.REL
    image: /srv/firmware/M50-20231120.13.REL.bin
  check_mode: true
  diff: true

- name: Upload an image whose format the collection cannot read, after checking it by hand
  hashfarm.whatsminer.whatsminer_firmware:
    host: "{{ ansible_host }}"
    password: "{{ vault_whatsminer_admin_password }}"
    version: 20240924.14.Rel
    image: /srv/firmware/custom.bin
    allow_unknown_platform: true
    reboot_timeout: 1200
"""

RETURN = r"""
before:
  description: The firmware the miner reported before anything was sent.
  returned: success, and on failures after the upload
  type: dict
  contains:
    firmware_version:
      description: The firmware version.
      type: str
      sample: 20230803.11.REL
    platform:
      description: The control board platform, V(null) when the miner does not report it.
      type: str
      sample: H616
after:
  description:
    - The firmware the miner reports after the upgrade, or the same as RV(before) when nothing had to change.
    - In check mode the predicted values.
  returned: success, and on a failed flash
  type: dict
  contains:
    firmware_version:
      description: The firmware version.
      type: str
      sample: 20231120.13.REL
    platform:
      description: The control board platform.
      type: str
      sample: H616
image:
  description: What was read from the image before anything was sent.
  returned: success
  type: dict
  contains:
    path:
      description: The path given in O(image).
      type: str
    size:
      description: Its size in bytes.
      type: int
    sha256:
      description: Its sha256.
      type: str
    format:
      description: V(whatsminer-package), V(hashfarm-test) or V(unknown).
      type: str
    platforms:
      description: The platforms its header names (empty for an unknown format).
      type: list
      elements: str
    version:
      description: The version its header names (test images only), else V(null).
      type: str
command:
  description: The upgrade command sent (in check mode, that would be sent); absent when the version already matched.
  returned: when the version differs
  type: str
  sample: update_firmware
elapsed:
  description: Seconds from the start of the upload until the new version was read.
  returned: when the image was uploaded
  type: float
  sample: 241.5
"""

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._firmware import ARGUMENT_SPEC, logic
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._runner import run_module


def main() -> None:
    """Module entry point."""
    run_module(ARGUMENT_SPEC, logic, supports_check_mode=True)


if __name__ == "__main__":
    main()
