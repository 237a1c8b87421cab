# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upload of both clients (``upload``: ready, size prefix, image on one connection) against the
simulator's firmware support, on the paths the module never takes (it refuses such images first)."""

from __future__ import annotations

import pytest

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import WhatsminerClient
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api3 import WhatsminerV3Client
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.errors import CommandRejectedError
from ansible_collections.hashfarm.whatsminer.tests.unit.helpers.simulated import MODULE_TEST_CONFIG, FleetStarter
from whatsminer_sim.firmware import make_test_image  # pylint: disable=import-error

PASSWORD = "farm_42"


@pytest.fixture(name="miner")
def fixture_miner(request):
    profile, config = request.param
    with FleetStarter(MODULE_TEST_CONFIG, address_mode="ports") as starter:
        yield starter(count=1, profiles=profile, password=PASSWORD, v3_password=PASSWORD, config=config).miners[0]


def client_of(miner):
    if miner.api3_port is not None:
        return WhatsminerV3Client(miner.host, miner.api3_port, password=PASSWORD, timeout=3.0), "set.system.update_firmware"
    return WhatsminerClient(miner.host, miner.port, password=PASSWORD, timeout=3.0), "update_firmware"


@pytest.mark.parametrize("miner", [("2024", {}), ("3.x", {})], indirect=True, ids=["api2", "api3"])
@pytest.mark.parametrize("image", [b"\x7fELF" + bytes(1000), make_test_image("OTHER9", "20250321.14.Rel")], ids=["unknown-format", "other-platform"])
def test_the_miner_refuses_an_image_it_cannot_take(miner, image):
    client, command = client_of(miner)
    before = miner.reply_context().profile.fw_version
    outcome = client.upload(command, len(image), [image[:100], image[100:]], final_wait=3.0)
    assert outcome.sent == outcome.size == len(image)
    assert isinstance(outcome.final_error, CommandRejectedError)
    assert "invalid firmware" in str(outcome.final_error)
    assert miner.api_available() and miner.reply_context().profile.fw_version == before


@pytest.mark.parametrize("miner", [("2024", {"firmware_update": "cut"}), ("3.x", {"firmware_update": "cut"})], indirect=True, ids=["api2", "api3"])
def test_an_upload_cut_off_by_the_miner_is_reported(miner):
    client, command = client_of(miner)
    image = make_test_image(miner.model_spec.platform, "20250321.14.Rel", 0) + bytes(32 * 1024 * 1024)  # more than the socket buffers hold
    outcome = client.upload(command, len(image), (image[start:start + 65536] for start in range(0, len(image), 65536)), final_wait=3.0)
    assert outcome.sent < outcome.size and "after" in outcome.problem and "of 33554" in outcome.problem
    assert outcome.final_reply is None and miner.api_available()
