# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory plugin: the Whatsminers found on the farm's networks."""

from __future__ import annotations

DOCUMENTATION = r"""
name: whatsminer
short_description: Find the Whatsminer miners on a farm's networks
version_added: 0.1.0
author:
  - hashfarm maintainers (@hashfarm)
description:
  - Scans the addresses of O(networks) for MicroBT Whatsminer miners and adds every miner found as a host of
    group O(group), with the variables the collection's modules and roles need (V(whatsminer_api_version) among them,
    so the modules skip their per-task probe) and what identifies the miner (MAC, serial, model, firmware).
  - "Identification goes in stages: a TCP connect to O(port) and O(api3_port) at once; then, at once too, the API 3
    C(get.device.info) read where O(api3_port) accepted and C(get_version) where O(port) accepted; a miner whose API 3
    answers is identified by that one reply, the others by the port-4028 reads (C(get_miner_info) and C(devdetails),
    or C(summary) on 1.x firmware)."
  - Only reads are sent. The plugin needs no password and sends no token; nothing on the miners changes.
  - Other devices that answer on O(port) do not become Whatsminer hosts and never break the scan. Miners of
    other vendors that speak the cgminer API (an Antminer, for example) can be put in O(other_miners_group);
    HTTP-only devices, silent addresses and addresses that reset the connection are skipped (listed with C(-vvv)).
  - A miner seen at two addresses (DHCP moved it during the scan) is one host, at the address it reports as its
    own, with a warning.
  - At most O(concurrency) addresses are probed at the same time (less when the process may not open enough
    files), so a /16 completes without running out of file handles.
  - Uses a YAML configuration file whose name ends with C(whatsminer.yml) or C(whatsminer.yaml).
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; it tells Ansible that the file is a configuration of this plugin.
    type: str
    required: true
    choices: [hashfarm.whatsminer.whatsminer]
  networks:
    description:
      - The addresses to scan, each an IPv4 address (V(10.20.0.17)), a range (V(10.20.0.10-10.20.0.50) or
        V(10.20.0.10-50)) or a CIDR (V(10.20.0.0/22); its network and broadcast addresses are left out).
    type: list
    elements: str
    required: true
  exclude:
    description: Addresses, ranges or CIDRs within O(networks) not to scan (the same forms as O(networks)).
    type: list
    elements: str
    default: []
  port:
    description:
      - TCP port of the miners' API 2 (also answered by firmware with API 3). Hosts get V(whatsminer_port) when
        it is not 4028.
    type: int
    default: 4028
  api3_port:
    description:
      - TCP port of the miners' API 3 (firmware released after 2024-11). Hosts with API 3 get
        V(whatsminer_api3_port) when it is not 4433.
    type: int
    default: 4433
  timeout:
    description:
      - Seconds to wait for a connection, and then for each reply. Addresses where nothing listens on the
        farm's network cost this long (on the same network they are refused at once).
      - A read whose reply has not come after a quarter of this timeout (a miner too busy to answer, or a lost
        reply) is asked for once more on a new connection, while the first request still waits; the first reply
        of the two counts, and each request waits this long at most. While the scan is busy (addresses still to
        start, or more than a quarter of O(concurrency) in flight) the second request waits until it is quiet.
      - An address that accepts and never replies so costs 1.25 times this timeout (more while the scan is busy),
        overlapping the other addresses.
      - Once a reply has come later than half this timeout, the scan counts as congested (the controller, the
        network or the miners overloaded) and sends no more second requests, which would queue behind the late
        replies.
      - At the end of the scan, addresses whose read timed out without a second request (the scan busy or
        congested) are probed once more, a quarter of O(concurrency) at a time; after a congested scan, so are the
        addresses that gave no reply to two requests. This adds up to one more timeout.
    type: float
    default: 2.0
  concurrency:
    description:
      - How many addresses are probed at the same time at most. Each uses up to two sockets; the plugin takes
        fewer when the process may not open that many files (C(ulimit -n)).
    type: int
    default: 512
  max_addresses:
    description:
      - The most addresses one scan may cover. A larger O(networks) (a typo such as V(10.0.0.0/8)) fails before
        anything is sent; raise this cap on purpose for a larger farm.
    type: int
    default: 65536
  hostnames:
    description:
      - How hosts are named, as an ordered preference. The first entry that gives a miner a name no other miner
        of the scan shares is its name, so names stay stable when DHCP gives a miner another address.
      - "Each entry is one of V(mac) (the MAC, lower case without separators: V(c4082801a2b3)), V(hostname)
        (as the firmware reports it; factory host names are shared by many miners and then skipped),
        V(serial), V(ip) (the address it answered at); or a dictionary with C(name) (one of those) and C(prefix)
        (text put before it, for example V(wm-)); or a dictionary with C(template), a Jinja2 template over the
        host's variables (V(whatsminer_mac), V(whatsminer_serial), V(whatsminer_model), ...)."
      - When no entry gives a unique name, the address is the name.
      - Characters other than letters, digits, C(.), C(_) and C(-) become C(_).
    type: list
    elements: raw
    default: [mac, ip]
  group:
    description: The group every Whatsminer found is put in.
    type: str
    default: whatsminer
  other_miners_group:
    description:
      - When set, miners of other vendors that answer the cgminer API on O(port) (an Antminer, for example) are
        added to this group, named by their address, with V(ansible_host), V(discovered_model) and
        V(discovered_description). They never join O(group).
      - Empty (the default) leaves them out of the inventory.
    type: str
    default: ''
  connection_vars:
    description:
      - "Give every miner V(ansible_connection=local) and V(ansible_python_interpreter={{ ansible_playbook_python }}):
        the modules run on the controller and talk to the miner's API."
      - Set to V(false) to set them elsewhere (group_vars of O(group)); O(compose) overrides them too.
    type: bool
    default: true
notes:
  - Scan from a host on the farm's network; a firewall between the controller and the miners makes every
    address cost O(timeout).
  - With O(cache) enabled, the hosts come from the cache while it is valid and no miner is contacted.
seealso:
  - name: Discover your farm (README)
    description: How to start from discovery, with keyed groups by model, firmware and API version.
    link: https://github.com/hashfarm/hashfarm.whatsminer#discover-your-farm
"""

EXAMPLES = r"""
# farm.whatsminer.yml: every Whatsminer on two networks, named by MAC
plugin: hashfarm.whatsminer.whatsminer
networks:
  - 10.20.0.0/22
  - 10.21.4.10-10.21.4.200
exclude:
  - 10.20.0.1-10.20.0.20      # switches, PDUs, the controller

# farm.whatsminer.yml: names with a prefix, groups by model, firmware year and API version, cached for an hour
plugin: hashfarm.whatsminer.whatsminer
networks: [10.20.0.0/22]
hostnames:
  - name: mac
    prefix: wm-
  - ip
keyed_groups:
  - key: whatsminer_model
    prefix: model
  - key: whatsminer_firmware_version[:4]
    prefix: firmware
  - key: whatsminer_api_version
    prefix: api
groups:
  api3_firmware: whatsminer_api_version == '3'
other_miners_group: other_miners
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/whatsminer-inventory
cache_timeout: 3600
"""

import re
from typing import Any

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.template import trust_as_template

from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api2 import DEFAULT_PORT
from ansible_collections.hashfarm.whatsminer.plugins.module_utils._protocol.api3 import DEFAULT_V3_PORT
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._addresses import AddressError, parse_addresses
from ansible_collections.hashfarm.whatsminer.plugins.plugin_utils._discovery import Miner, ScanResult, describe, scan

HOSTNAME_SOURCES = ("mac", "hostname", "serial", "ip")
MAX_TIMEOUT = 60.0
UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]")
IDENTITY_VARIABLES = {
    "mac": "whatsminer_mac",
    "serial": "whatsminer_serial",
    "model": "whatsminer_model",
    "firmware_version": "whatsminer_firmware_version",
    "api_version": "whatsminer_firmware_api_version",
    "platform": "whatsminer_platform",
    "hostname": "whatsminer_hostname",
}


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Whatsminers found by a read-only scan of the configured networks."""

    NAME = "hashfarm.whatsminer.whatsminer"

    def verify_file(self, path: str) -> bool:
        """Only configuration files named ``*whatsminer.yml`` or ``*whatsminer.yaml``."""
        return super().verify_file(path) and path.endswith(("whatsminer.yml", "whatsminer.yaml"))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        settings = self._settings()
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        result = None
        if use_cache:
            try:
                result = ScanResult.from_dict(self._cache[cache_key])
            except KeyError:
                update_cache = True
        if result is None:
            result = scan(settings["addresses"], port=settings["port"], api3_port=settings["api3_port"],
                          timeout=settings["timeout"], concurrency=settings["concurrency"])
            self.display.v(f"whatsminer inventory: scanned {path}: {describe(result)}")
            for address, reason in result.unidentified.items():
                self.display.vvv(f"whatsminer inventory: {address} is not an identified miner: {reason}")
            self._warn_duplicates(result)
        if update_cache:
            self._cache[cache_key] = result.as_dict()
        self._populate(result)

    # --- options ------------------------------------------------------------------------------

    def _settings(self) -> dict[str, Any]:
        """The scan options, checked before anything is sent; errors name the option."""
        port = self._port_option("port")
        api3_port = self._port_option("api3_port")
        if port == api3_port:
            raise AnsibleParserError(f"whatsminer inventory: port and api3_port are both {port}; the API 2 and API 3 ports differ (4028 and 4433)")
        timeout = self.get_option("timeout")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= MAX_TIMEOUT:
            raise AnsibleParserError(f"whatsminer inventory: timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds, got {timeout!r}")
        concurrency = self.get_option("concurrency")
        if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
            raise AnsibleParserError(f"whatsminer inventory: concurrency must be a whole number of 1 or more, got {concurrency!r}")
        max_addresses = self.get_option("max_addresses")
        if not isinstance(max_addresses, int) or isinstance(max_addresses, bool) or max_addresses < 1:
            raise AnsibleParserError(f"whatsminer inventory: max_addresses must be a whole number of 1 or more, got {max_addresses!r}")
        self._hostname_preferences()  # checked now, used after the scan
        for option in ("group", "other_miners_group"):
            value = self.get_option(option)
            if option == "group" and not value:
                raise AnsibleParserError("whatsminer inventory: group must name the group of the miners found")
            if value and UNSAFE_NAME_CHARACTERS.search(str(value)):
                raise AnsibleParserError(f"whatsminer inventory: {option} {value!r} is not a valid group name (letters, digits and _ only)")
        try:
            addresses = parse_addresses(self.get_option("networks"), self.get_option("exclude"), max_addresses)
        except AddressError as exc:
            raise AnsibleParserError(f"whatsminer inventory: {exc}") from None
        return {"addresses": addresses, "port": port, "api3_port": api3_port, "timeout": float(timeout), "concurrency": concurrency}

    def _port_option(self, option: str) -> int:
        value = self.get_option(option)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
            raise AnsibleParserError(f"whatsminer inventory: {option} must be a TCP port from 1 to 65535, got {value!r}")
        return value

    def _hostname_preferences(self) -> list[dict[str, str]]:
        """``hostnames`` as ``[{"name": ..., "prefix": ...} | {"template": ...}]``."""
        entries = self.get_option("hostnames")
        if not isinstance(entries, list) or not entries:
            raise AnsibleParserError("whatsminer inventory: hostnames must be a non-empty list such as [mac, ip]")
        preferences = []
        for entry in entries:
            if isinstance(entry, str) and entry in HOSTNAME_SOURCES:
                preferences.append({"name": entry, "prefix": ""})
            elif isinstance(entry, dict) and set(entry) <= {"name", "prefix"} and entry.get("name") in HOSTNAME_SOURCES:
                preferences.append({"name": entry["name"], "prefix": str(entry.get("prefix") or "")})
            elif isinstance(entry, dict) and set(entry) == {"template"} and isinstance(entry["template"], str) and entry["template"]:
                preferences.append({"template": entry["template"]})
            else:
                raise AnsibleParserError(
                    f"whatsminer inventory: hostnames entry {entry!r} is not one of {', '.join(HOSTNAME_SOURCES)}, "
                    "a dictionary with name (one of those) and prefix, or a dictionary with template")
        return preferences

    # --- hosts --------------------------------------------------------------------------------

    def _populate(self, result: ScanResult) -> None:
        group = self.inventory.add_group(self.get_option("group"))
        names = self._names(result.miners)
        for miner in result.miners:
            name = names[miner.address]
            self.inventory.add_host(name, group=group)
            for variable, value in self._host_variables(miner).items():
                self.inventory.set_variable(name, variable, value)
            self._construct(name)
        other_group = self.get_option("other_miners_group")
        if other_group:
            self.inventory.add_group(other_group)
            for other in result.others:
                self.inventory.add_host(other.address, group=other_group)
                self.inventory.set_variable(other.address, "ansible_host", other.address)
                self.inventory.set_variable(other.address, "discovered_model", other.model)
                self.inventory.set_variable(other.address, "discovered_description", other.description)

    def _warn_duplicates(self, result: ScanResult) -> None:
        """One warning per miner the scan saw at more than one address (not repeated from the cache)."""
        names = self._names(result.miners)
        for kept, others in result.duplicates.items():
            miner = next(item for item in result.miners if item.address == kept)
            self.display.warning(
                f"whatsminer inventory: miner {miner.key} answered at {kept} and at {', '.join(others)} (DHCP moved it during the scan?); "
                f"it is one host, {names[kept]}, at {kept}, the address it reports as its own")

    def _construct(self, name: str) -> None:
        strict = self.get_option("strict")
        variables = self.inventory.get_host(name).get_vars()
        self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
        variables = self.inventory.get_host(name).get_vars()
        self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)

    def _host_variables(self, miner: Miner) -> dict[str, Any]:
        variables: dict[str, Any] = {"ansible_host": miner.address, "whatsminer_api_version": str(miner.api_version)}
        if self.get_option("connection_vars"):
            variables["ansible_connection"] = "local"
            variables["ansible_python_interpreter"] = trust_as_template("{{ ansible_playbook_python }}")
        if miner.port != DEFAULT_PORT:
            variables["whatsminer_port"] = miner.port
        if miner.api3_port is not None and miner.api3_port != DEFAULT_V3_PORT:
            variables["whatsminer_api3_port"] = miner.api3_port
        for field, variable in IDENTITY_VARIABLES.items():
            value = miner.identity.get(field)
            if value is not None:
                variables[variable] = value
        return variables

    def _candidate(self, preference: dict[str, str], miner: Miner) -> str | None:
        if "template" in preference:
            self.templar.available_variables = self._host_variables(miner)
            try:
                value = self.templar.template(trust_as_template(preference["template"]))
            except Exception as exc:  # pylint: disable=broad-exception-caught
                raise AnsibleParserError(f"whatsminer inventory: the hostnames template {preference['template']!r} failed: {exc}") from None
            text = str(value).strip() if value is not None else ""
        else:
            source = preference["name"]
            if source == "ip":
                value = miner.address
            elif source == "mac":
                value = (miner.identity.get("mac") or "").replace(":", "").lower()
            else:
                value = miner.identity.get(source)
            text = f"{preference['prefix']}{value}" if value else ""
        text = UNSAFE_NAME_CHARACTERS.sub("_", text)
        return text or None

    def _names(self, miners: list[Miner]) -> dict[str, str]:
        """``{address: host name}``: per miner, the first preference whose value no other miner shares."""
        preferences = self._hostname_preferences()
        candidates = {miner.address: [self._candidate(preference, miner) for preference in preferences] for miner in miners}
        names: dict[str, str] = {}
        used: set[str] = set()
        shared: set[str] = set()
        for index in range(len(preferences)):
            seen: dict[str, int] = {}
            for values in candidates.values():
                if values[index]:
                    seen[values[index]] = seen.get(values[index], 0) + 1
            shared.update(value for value, count in seen.items() if count > 1)
        for miner in miners:
            choice = next((value for value in candidates[miner.address] if value and value not in shared and value not in used), None)
            names[miner.address] = choice or miner.address
            used.add(names[miner.address])
        if shared:
            self.display.vvv(f"whatsminer inventory: names shared by several miners, so not used: {', '.join(sorted(shared))}")
        return names
