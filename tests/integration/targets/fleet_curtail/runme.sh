#!/usr/bin/env bash
# Demand response with hashfarm.whatsminer.curtail (whatsminer_fleet_power) on a simulated fleet of
# 16 miners of every firmware (1.4.x, 2.0.x, 2024, 3.x), in-process path: one miner unreachable and
# one refusing writes. Curtail: every other miner stops, the run names exactly those two and exits
# 2; a check run and a second run send nothing. Resume under a ramp limit: the fleet's true draw
# (the simulator's GET /draw, sampled while the resume runs) never rises faster than the limit.
set -eux

export FLEET_LIFETIME=900
source ../setup_whatsminer_fleet/fleet.sh
source ../fleet_common/fleet.sh

ADMIN_PASSWORD="farm_42"
start_fleet --count 16 --profiles 1.4.x,2.0.x,2024,3.x --address-mode ports --restart-seconds 0.5 --password "$ADMIN_PASSWORD" \
    --v3-password "$ADMIN_PASSWORD"
TARGET_DIR="$PWD"
work="$OUTPUT_DIR/curtail"
rm -rf "$work"
mkdir -p "$work"

curtail() {
    operate "$work/curtail.jsonl" ansible-playbook -i "$FLEET_INVENTORY" hashfarm.whatsminer.curtail \
        -e "whatsminer_password=$ADMIN_PASSWORD" "$@"
}

sim_ctl patch "$TARGET_DIR/trouble.json"
sim_ctl snapshot "$work/start.json"

# A check run sends nothing.
curtail -e whatsminer_curtail=true --check || test $? -eq 2
sim_ctl snapshot "$work/checked.json"

# Curtail: exit status 2, as two miners did not comply; then again (nothing left to change).
rc=0; curtail -e whatsminer_curtail=true -e whatsminer_deadline_s=20 || rc=$?
test "$rc" -eq 2
sim_ctl snapshot "$work/curtailed.json"
rc=0; curtail -e whatsminer_curtail=true -e whatsminer_deadline_s=20 || rc=$?
test "$rc" -eq 2
sim_ctl snapshot "$work/again.json"
ansible-playbook -i "$FLEET_INVENTORY" "$TARGET_DIR/verify_curtail.yml" -e "work=$work" -e "record=$work/curtail.jsonl"

# Resume at 240 kW per minute (about 1 s per miner), sampling the fleet's true draw meanwhile.
# The sampler goes on after the task until the draw has settled (the last miners' boot ramps), and
# stops by itself after 120 s at the latest.
rm -f "$work/resumed"
"$SIMULATOR_PYTHON" "$TARGET_DIR/sample_draw.py" "$FLEET_CONTROL_URL" "$work/draw.json" 120 "$work/resumed" &
sampler=$!
curtail -e whatsminer_curtail=false -e whatsminer_ramp_kw_per_minute=240 -e whatsminer_deadline_s=120 || test $? -eq 2
touch "$work/resumed"
wait "$sampler"
ansible-playbook "$TARGET_DIR/verify_ramp.yml" -e "samples=$work/draw.json" -e "limit_kw_per_minute=240"
