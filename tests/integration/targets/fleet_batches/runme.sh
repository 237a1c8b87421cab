#!/usr/bin/env bash
# Fleet playbooks whose first batch is all dead miners (issue 14, item 1): on a simulated fleet of
# six miners, miner-001 and miner-003 refuse connections (stopped) and miner-002 accepts them but
# never replies in time (hung), so the whole first batch of three fails, and with
# whatsminer_batch_size=1 each of the first three batches does. Every later miner must still be
# acted on (the simulator's true state says so), and the run must end by naming exactly the dead
# miners, failing their hosts (recap failed=1, exit status 2). With whatsminer_stop_on_failure=true
# the run stops on purpose after the first batch and names the miners it did not reach.
set -eux

export FLEET_LIFETIME=3600
source ../setup_whatsminer_fleet/fleet.sh
source ../fleet_common/fleet.sh

ADMIN_PASSWORD="farm_42"
start_fleet --count 6 --profiles 2024 --address-mode ports --password "$ADMIN_PASSWORD"
TARGET_DIR="$PWD"
work="$OUTPUT_DIR/batches"
rm -rf "$work"
mkdir -p "$work"
sim_ctl start "$TARGET_DIR/dead_first_batch.json"

# Runs a fleet playbook that must fail (exit status 2); its output goes to $work/NAME.log.
run_failing() {
    local name="$1" status
    shift
    set +e
    operate "$work/$name.jsonl" ansible-playbook -i "$FLEET_INVENTORY" -e "whatsminer_password=$ADMIN_PASSWORD" \
        -e whatsminer_timeout=1 -e whatsminer_retries=0 -e whatsminer_batch_pause_s=0 "$@" > "$work/$name.log" 2>&1
    status=$?
    set -e
    cat "$work/$name.log"
    [ "$status" -eq 2 ]
    sim_ctl snapshot "$work/$name.json"
}

verify() {
    ansible-playbook "$TARGET_DIR/verify.yml" -e "work=$work" -e "run=$1" -e "mining=$2" -e "{\"not_reached\": ${3:-[]}}"
}

# Curtail in batches of three: the first batch is all dead.
run_failing curtail hashfarm.whatsminer.power -e whatsminer_mining=false -e whatsminer_batch_size=3
verify curtail false

# Resume one miner at a time: each of the first three batches is one dead miner.
run_failing resume hashfarm.whatsminer.power -e whatsminer_mining=true -e whatsminer_batch_size=1
verify resume true

# site in batches of three, the desired state given as extra variables.
run_failing site hashfarm.whatsminer.site -e whatsminer_mining=false -e whatsminer_batch_size=3
verify site false

# Stop on purpose after the failed first batch: the live miners stay curtailed and are named as not reached.
run_failing stop hashfarm.whatsminer.power -e whatsminer_mining=true -e whatsminer_batch_size=3 -e whatsminer_stop_on_failure=true
verify stop false '["miner-004", "miner-005", "miner-006"]'
