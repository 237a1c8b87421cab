#!/usr/bin/env bash
# Discovery: the inventory plugin hashfarm.whatsminer.whatsminer against a simulated mixed /24 of
# loopback addresses: 16 miners of every firmware generation (1.4.x, 2.0.x, 2024, 3.x) and the odd
# devices of a real farm network (another vendor's cgminer miner, an HTTP-only device, a silent
# and a resetting address, a second address of miner-002). ansible-inventory --list and --graph,
# checked against the simulator's true state; the cache (a second run opens no connection); bad
# input (rejected before any connection); the site playbook on the discovered inventory (no API
# probe: the API version came from discovery); a miner moved to another address between scans.
set -eux

source ../setup_whatsminer_fleet/fleet.sh
source ../fleet_common/fleet.sh
TARGET_DIR="$PWD"
PASSWORD="Disc0very_ops"
NETWORK_PREFIX="127.18.0"

start_fleet --count 16 --profiles 1.4.x,2.0.x,2024,3.x --address-mode ips --ips-base "${NETWORK_PREFIX}.1" --restart-seconds 1 \
    --password "$PASSWORD" --v3-password "$PASSWORD" \
    --odd-devices "cgminer@${NETWORK_PREFIX}.200,http@${NETWORK_PREFIX}.201,silent@${NETWORK_PREFIX}.202,reset@${NETWORK_PREFIX}.203,alias:miner-002@${NETWORK_PREFIX}.204"

work="$OUTPUT_DIR/inventory"
rm -rf "$work"
mkdir -p "$work"
cp -r "$TARGET_DIR/farm" "$work/farm"
sed -e "s/@PREFIX@/${NETWORK_PREFIX}/g" -e "s|@CACHE@|${work}/cache|" "$TARGET_DIR/farm.whatsminer.yml.in" > "$work/farm/farm.whatsminer.yml"
printf 'whatsminer_password: "%s"\n' "$PASSWORD" >> "$work/farm/group_vars/whatsminer.yml"
connections() { "$SIMULATOR_PYTHON" "$TARGET_DIR/connections.py" "$FLEET_CONTROL_URL"; }

ansible-doc -t inventory hashfarm.whatsminer.whatsminer > "$work/doc.txt"
grep -q "max_addresses" "$work/doc.txt"

# 1. Discovery, then the same inventory from the cache without a single connection.
sim_ctl snapshot "$work/truth.json"
ansible-inventory -i "$work/farm/farm.whatsminer.yml" --flush-cache --list > "$work/list.json" 2> "$work/list.err"
ansible-inventory -i "$work/farm/farm.whatsminer.yml" --graph > "$work/graph.txt"
before_cached="$(connections)"
ansible-inventory -i "$work/farm/farm.whatsminer.yml" --list > "$work/list-cached.json"
ansible-inventory -i "$work/farm/farm.whatsminer.yml" --graph > "$work/graph-cached.txt"
after_cached="$(connections)"
ansible-playbook -i "$work/farm/farm.whatsminer.yml" "$TARGET_DIR/verify_discovery.yml" -e "work=$work" \
    -e "connections_before_cached=$before_cached" -e "connections_after_cached=$after_cached" "$@"

# 2. Bad input (bad/*.whatsminer.yml, one mistake each): a clear error naming the option, and no connection.
before_bad="$(connections)"
for case in empty malformed overcap port timeout; do
    if ANSIBLE_INVENTORY_ENABLED=hashfarm.whatsminer.whatsminer ANSIBLE_INVENTORY_UNPARSED_FAILED=true \
        ansible-inventory -i "$TARGET_DIR/bad/${case}.whatsminer.yml" --list > /dev/null 2> "$work/bad-${case}.err"; then
        echo "bad input ${case} was accepted" >&2
        exit 1
    fi
done
after_bad="$(connections)"
ansible-playbook "$TARGET_DIR/verify_bad_input.yml" -e "work=$work" -e "connections_before=$before_bad" -e "connections_after=$after_bad" "$@"

# 3. The site playbook on the discovered inventory (from the cache): group_vars keyed on the
#    discovered groups, the API version from discovery, so no get_version probe.
"$SIMULATOR_PYTHON" -c 'import json, sys; print(json.dumps({name: {} for name in json.load(open(sys.argv[1]))}))' "$work/truth.json" > "$work/clear.json"
sim_ctl start "$work/clear.json"
ansible-playbook -i "$work/farm/farm.whatsminer.yml" hashfarm.whatsminer.site -e whatsminer_hosts=whatsminer "$@" | tee "$work/site.txt"
sim_ctl snapshot "$work/after-site.json"
ansible-playbook -i "$work/farm/farm.whatsminer.yml" "$TARGET_DIR/verify_site.yml" -e "work=$work" "$@"

# 4. DHCP gives miner-005 another address: a new scan finds it under the same name.
"$SIMULATOR_PYTHON" -c 'import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1] + "/miners/miner-005/move", data=json.dumps({"host": sys.argv[2]}).encode(), method="POST")
urllib.request.urlopen(request, timeout=30).read()' "$FLEET_CONTROL_URL" "${NETWORK_PREFIX}.150"
sim_ctl snapshot "$work/truth-moved.json"
ansible-playbook -i "$work/farm/farm.whatsminer.yml" --flush-cache "$TARGET_DIR/verify_moved.yml" -e "work=$work" \
    -e "moved_address=${NETWORK_PREFIX}.150" "$@"
