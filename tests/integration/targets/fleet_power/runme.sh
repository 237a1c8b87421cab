#!/usr/bin/env bash
# Staggered curtailment and resumption with hashfarm.whatsminer.power on a simulated fleet of 18
# miners of mixed firmware (1.4.x, 2.0.x, 2024 and 3.x; the API 3 super password of the 3.x miners is
# the admin password), through the in-process path: the simulator's command logs (arrival
# time of every command) show that no batch starts before the previous one is done and has
# paused, so never more than a batch of miners is switching at once. Then requests that must fail
# before any miner is contacted.
set -eux

# Long enough for a slow, busy machine; the fleet is stopped when this script exits anyway.
export FLEET_LIFETIME=3600
source ../setup_whatsminer_fleet/fleet.sh
source ../fleet_common/fleet.sh

ADMIN_PASSWORD="farm_42"
start_fleet --count 18 --profiles mixed,3.x --address-mode ports --restart-seconds 1 --password "$ADMIN_PASSWORD" \
    --v3-password "$ADMIN_PASSWORD"
TARGET_DIR="$PWD"

power() {
    operate "$work/power.jsonl" ansible-playbook -i "$FLEET_INVENTORY" hashfarm.whatsminer.power \
        -e "whatsminer_password=$ADMIN_PASSWORD" -e "whatsminer_execution=$execution" "$@"
}

verify() {
    ansible-playbook -i "$FLEET_INVENTORY" "$TARGET_DIR/verify_batches.yml" -e "snapshot=$1" -e "start=$2" \
        -e "switch_command=$3" -e "batch_size=$4" -e "pause=$5" "${@:6}"
}

for execution in "${TEST_EXECUTIONS[@]}"; do  # the in-process path (setup_whatsminer_fleet/fleet.sh)
    work="$OUTPUT_DIR/power-$execution"
    rm -rf "$work"
    mkdir -p "$work"
    # All miners mining but three (reset, logs cleared), miner-004 a 3.x one.
    sim_ctl start "$TARGET_DIR/start.json"
    sim_ctl snapshot "$work/start.json"

    # Curtail the fleet, 4 miners at a time, 2 s between batches.
    power -e whatsminer_mining=false -e whatsminer_batch_size=4 -e whatsminer_batch_pause_s=2
    sim_ctl snapshot "$work/curtailed.json"
    verify "$work/curtailed.json" "$work/start.json" power_off 4 2

    # A check run of the resumption switches nothing. Then three miners are started by hand (miner-016
    # a 3.x one).
    power -e whatsminer_mining=true -e whatsminer_batch_size=5 --check
    sim_ctl patch "$TARGET_DIR/started_by_hand.json"
    sim_ctl snapshot "$work/checked.json"

    # Resume 5 miners at a time, 1 s between batches.
    power -e whatsminer_mining=true -e whatsminer_batch_size=5 -e whatsminer_batch_pause_s=1
    sim_ctl snapshot "$work/resumed.json"
    verify "$work/resumed.json" "$work/checked.json" power_on 5 1 -e "previous=$work/curtailed.json"
done

ansible-playbook "$TARGET_DIR/bad_requests.yml" -e "inventory=$FLEET_INVENTORY" -e "control_url=$FLEET_CONTROL_URL" \
    -e "admin_password=$ADMIN_PASSWORD"
