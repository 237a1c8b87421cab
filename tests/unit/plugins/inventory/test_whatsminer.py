# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory plugin hashfarm.whatsminer.whatsminer: options, host names, host variables, groups.

The scan itself is tested in tests/unit/plugins/plugin_utils/test_discovery.py; here the plugin gets
scan results made up for each case, and ``ansible-inventory`` runs in the integration target
``inventory_whatsminer``.
"""

from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.template import trust_as_template

from ansible_collections.hashfarm.whatsminer.plugins.inventory.whatsminer import InventoryModule
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._discovery import Miner, OtherMiner, ScanResult

DEFAULTS: dict[str, Any] = {
    "networks": ["10.20.0.0/24"], "exclude": [], "port": 4028, "api3_port": 4433, "timeout": 2.0, "concurrency": 512,
    "max_addresses": 65536, "hostnames": ["mac", "ip"], "group": "whatsminer", "other_miners_group": "", "connection_vars": True,
    "compose": {}, "groups": {}, "keyed_groups": [], "strict": False, "leading_separator": True, "use_extra_vars": False,
    "cache": False,
}


def miner(address: str, api: int = 2, port: int = 4028, api3_port: int | None = None, **identity: Any) -> Miner:
    """A miner as the scan reports it (identity fields not given are not reported)."""
    fields = dict.fromkeys(("model", "firmware_version", "api_version", "platform", "mac", "ip", "hostname", "serial"))
    fields.update(identity)
    return Miner(address, api, fields, port, api3_port)


FARM = ScanResult(miners=[
    miner("10.20.0.11", mac="C4:08:28:00:00:01", model="M20S_V10", firmware_version="20210322.22.REL", api_version="1.4.0"),
    miner("10.20.0.12", mac="C4:08:28:00:00:02", serial="HTM3AAA", hostname="WhatsMiner", model="M30S+_VE40",
          firmware_version="20230803.11.REL", api_version="2.0.5"),
    miner("10.20.0.13", 3, api3_port=4433, mac="C4:08:28:00:00:03", serial="HTM3BBB", hostname="WhatsMiner", model="M60S_VK40",
          firmware_version="20250214.16.1", api_version="3.0.2", platform="H616"),
], others=[OtherMiner("10.20.0.50", 4028, "Antminer S19", "cgminer 1.0.0")], duplicates={"10.20.0.12": ["10.20.0.99"]})


def trusted(options: dict[str, Any]) -> dict[str, Any]:
    """The expressions of the constructed options trusted, as ansible trusts those of a configuration file."""
    options = dict(options)
    for name in ("compose", "groups"):
        options[name] = {key: trust_as_template(value) for key, value in options[name].items()}
    options["keyed_groups"] = [dict(entry, key=trust_as_template(entry["key"])) for entry in options["keyed_groups"]]
    return options


class Plugin(InventoryModule):
    """The plugin with options from a dict instead of a configuration file, and its warnings kept."""

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.options = trusted({**DEFAULTS, **options})
        self.inventory = InventoryData()
        self.loader = DataLoader()
        self._vars = {}
        self.warnings: list[str] = []
        self.display = self  # type: ignore[assignment]

    def get_option(self, option: str, hostvars: Any = None) -> Any:  # pylint: disable=unused-argument
        return self.options[option]

    def warning(self, message: str) -> None:
        """Display.warning, kept."""
        self.warnings.append(message)

    def vvv(self, message: str) -> None:
        """Display.vvv, dropped."""

    def populate(self, result: ScanResult = FARM) -> dict[str, dict[str, Any]]:
        """Hosts and their variables after ``_populate``."""
        self._populate(result)
        return {name: dict(host.vars) for name, host in self.inventory.hosts.items()}

    def members(self, group: str) -> list[str]:
        """Host names of ``group``."""
        return [host.name for host in self.inventory.groups[group].get_hosts()]


# ---------------------------------------------------------------------------------------------
# Host variables and groups


def test_host_variables_come_from_the_scan() -> None:
    hosts = Plugin().populate()
    assert hosts["c40828000003"] == {
        "inventory_file": None, "inventory_dir": None,
        "ansible_host": "10.20.0.13", "whatsminer_api_version": "3", "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "whatsminer_mac": "C4:08:28:00:00:03", "whatsminer_serial": "HTM3BBB", "whatsminer_model": "M60S_VK40",
        "whatsminer_firmware_version": "20250214.16.1", "whatsminer_firmware_api_version": "3.0.2",
        "whatsminer_platform": "H616", "whatsminer_hostname": "WhatsMiner",
    }
    assert hosts["c40828000001"]["whatsminer_api_version"] == "2"
    assert "whatsminer_serial" not in hosts["c40828000001"]  # 1.x firmware does not report it


def test_non_default_ports_are_host_variables_and_default_ones_are_not() -> None:
    result = ScanResult(miners=[miner("10.20.0.13", 3, port=14028, api3_port=14433, mac="C4:08:28:00:00:03"),
                                miner("10.20.0.14", 2, mac="C4:08:28:00:00:04")])
    hosts = Plugin(port=14028, api3_port=14433).populate(result)
    assert (hosts["c40828000003"]["whatsminer_port"], hosts["c40828000003"]["whatsminer_api3_port"]) == (14028, 14433)
    assert "whatsminer_port" not in hosts["c40828000004"] and "whatsminer_api3_port" not in hosts["c40828000004"]


def test_connection_variables_can_be_left_to_the_user() -> None:
    hosts = Plugin(connection_vars=False).populate()
    assert not any("ansible_connection" in variables or "ansible_python_interpreter" in variables for variables in hosts.values())


def test_miners_join_the_group_and_keyed_groups_others_only_their_own() -> None:
    plugin = Plugin(group="farm", other_miners_group="other_miners", keyed_groups=[
        {"key": "whatsminer_model", "prefix": "model"}, {"key": "whatsminer_api_version", "prefix": "api"},
        {"key": "whatsminer_firmware_version[:4]", "prefix": "firmware"}])
    hosts = plugin.populate()
    assert plugin.members("farm") == ["c40828000001", "c40828000002", "c40828000003"]
    assert plugin.members("api_3") == ["c40828000003"]
    assert plugin.members("model_M30S__VE40") == ["c40828000002"]
    assert plugin.members("firmware_2021") == ["c40828000001"]
    assert plugin.members("other_miners") == ["10.20.0.50"]
    assert hosts["10.20.0.50"]["discovered_model"] == "Antminer S19"
    assert "whatsminer_api_version" not in hosts["10.20.0.50"]


def test_other_miners_stay_out_without_their_group() -> None:
    assert "10.20.0.50" not in Plugin().populate()


def test_a_miner_seen_twice_is_one_host_with_a_warning() -> None:
    plugin = Plugin()
    hosts = plugin.populate()
    plugin._warn_duplicates(FARM)  # pylint: disable=protected-access
    assert len(hosts) == 3
    assert plugin.warnings == [
        "whatsminer inventory: miner C4:08:28:00:00:02 answered at 10.20.0.12 and at 10.20.0.99 (DHCP moved it during the scan?); "
        "it is one host, c40828000002, at 10.20.0.12, the address it reports as its own"]


def test_compose_and_groups_work_on_the_discovered_variables() -> None:
    plugin = Plugin(compose={"whatsminer_api_version": "'auto'"}, groups={"api3_firmware": "whatsminer_firmware_version is version('20241101', '>=')"})
    hosts = plugin.populate()
    assert {variables["whatsminer_api_version"] for variables in hosts.values()} == {"auto"}
    assert plugin.members("api3_firmware") == ["c40828000003"]


# ---------------------------------------------------------------------------------------------
# Host names


@pytest.mark.parametrize(("hostnames", "expected"), [
    (["mac", "ip"], ["c40828000001", "c40828000002", "c40828000003"]),
    # The factory host name is shared: those miners fall through to the next preference.
    (["hostname", "serial", "ip"], ["10.20.0.11", "HTM3AAA", "HTM3BBB"]),
    (["serial", "ip"], ["10.20.0.11", "HTM3AAA", "HTM3BBB"]),
    ([{"name": "mac", "prefix": "wm-"}], ["wm-c40828000001", "wm-c40828000002", "wm-c40828000003"]),
    ([{"template": "{{ whatsminer_model | lower }}-{{ whatsminer_mac[-5:] | replace(':', '') }}"}],
     ["m20s_v10-0001", "m30s__ve40-0002", "m60s_vk40-0003"]),
    (["ip"], ["10.20.0.11", "10.20.0.12", "10.20.0.13"]),
])
def test_host_names_follow_the_preference(hostnames: list, expected: list[str]) -> None:
    assert list(Plugin(hostnames=hostnames).populate()) == expected


def test_a_name_no_preference_gives_falls_back_to_the_address() -> None:
    result = ScanResult(miners=[miner("10.20.0.11"), miner("10.20.0.12", mac="C4:08:28:00:00:02")])
    assert list(Plugin(hostnames=["mac"]).populate(result)) == ["10.20.0.11", "c40828000002"]


# ---------------------------------------------------------------------------------------------
# Bad input: rejected before anything is sent, naming the option


@pytest.mark.parametrize(("options", "message"), [
    ({"networks": []}, "networks: the list is empty"),
    ({"networks": ["10.20.0.0/33"]}, "networks: '10.20.0.0/33' is not an IPv4 address, range"),
    ({"networks": ["10.0.0.0/8"]}, "networks: 16777214 addresses to scan, more than max_addresses (65536)"),
    ({"exclude": ["rack1"]}, "exclude: 'rack1' is not an IPv4 address"),
    ({"port": 0}, "port must be a TCP port from 1 to 65535, got 0"),
    ({"api3_port": 70000}, "api3_port must be a TCP port from 1 to 65535, got 70000"),
    ({"api3_port": 4028}, "port and api3_port are both 4028"),
    ({"timeout": 0}, "timeout must be more than 0 and at most 60 seconds, got 0"),
    ({"timeout": 600}, "timeout must be more than 0 and at most 60 seconds, got 600"),
    ({"concurrency": 0}, "concurrency must be a whole number of 1 or more, got 0"),
    ({"max_addresses": 0}, "max_addresses must be a whole number of 1 or more, got 0"),
    ({"hostnames": ["uuid"]}, "hostnames entry 'uuid' is not one of mac, hostname, serial, ip"),
    ({"hostnames": []}, "hostnames must be a non-empty list"),
    ({"group": "my farm"}, "group 'my farm' is not a valid group name"),
])
def test_bad_input_names_the_option(options: dict[str, Any], message: str) -> None:
    with pytest.raises(AnsibleParserError) as caught:
        Plugin(**options)._settings()  # pylint: disable=protected-access
    assert str(caught.value.message).startswith(f"whatsminer inventory: {message}")


def test_only_whatsminer_configuration_files_are_read(tmp_path: Any) -> None:
    for name, expected in (("farm.whatsminer.yml", True), ("whatsminer.yaml", True), ("farm.yml", False), ("farm.nmap.yml", False)):
        (tmp_path / name).write_text("plugin: hashfarm.whatsminer.whatsminer\n")
        assert InventoryModule().verify_file(str(tmp_path / name)) is expected, name
