#!/usr/bin/env bash
# The desired-state workflow on a simulated fleet of 21 miners of mixed firmware (1.4.x, 2.0.x,
# 2024 and 3.x, five or six of each; the API 3 super password of the 3.x miners is the admin
# password: the role uses one password for both APIs): the example inventory's racks 1 to 3 with
# their first 7 miners each (every group_vars and host_vars file of the example applies: rack1-m07,
# rack2-m04), as shipped (group_vars, host_vars, vault), applied with the example CI pipelines' own ansible-playbook
# lines (check job, apply job, apply job again), through the in-process path (the
# action plugins; setup_whatsminer_fleet/fleet.sh). Then mistakes in inventory, which must stop a run
# before any miner is contacted.
set -eux

# Long enough for a slow, busy machine; the fleet is stopped when this script exits anyway.
export FLEET_LIFETIME=3600
source ../setup_whatsminer_fleet/fleet.sh
source ../fleet_common/fleet.sh

# The example inventory as shipped (five racks at farm addresses) passes the check that contacts no miner.
operate "$OUTPUT_DIR/example-validate.jsonl" ansible-playbook -i "$EXAMPLE_INVENTORY" hashfarm.whatsminer.validate "$@"

start_fleet --count 21 --profiles mixed,3.x --address-mode ports --restart-seconds 1 --password "$EXAMPLE_ADMIN_PASSWORD" \
    --v3-password "$EXAMPLE_ADMIN_PASSWORD"
TARGET_DIR="$PWD"

# Run the ansible-playbook lines of a CI job as the CI runs them (bash with pipefail) in the job's
# working directory; the results of the site.yml line are recorded in RUN.jsonl.
run_job() {
    local job="$1" run="$2" lines line
    lines="$(ci_lines "$job")"
    while IFS= read -r line; do
        if [[ "$line" == *hashfarm.whatsminer.site* ]]; then
            operate "$PWD/$run.jsonl" bash -o pipefail -c "$line" < /dev/null
        else
            operate "$PWD/$run-other.jsonl" bash -o pipefail -c "$line" < /dev/null
        fi
    done <<< "$lines"
}

for execution in "${TEST_EXECUTIONS[@]}"; do  # the in-process path (setup_whatsminer_fleet/fleet.sh)
    work="$OUTPUT_DIR/site-$execution"
    rm -rf "$work"
    mkdir -p "$work"
    cd "$work"
    example_inventory inventory "$execution" 3 7
    operate "$work/prepare.jsonl" ansible-playbook -i inventory "$TARGET_DIR/prepare.yml" -e "work=$work" "$@"
    sim_ctl start start.json
    sim_ctl snapshot before.json
    run_job check check
    sim_ctl snapshot after-check.json
    run_job apply apply
    mv site-apply.txt site-apply-first.txt
    run_job apply again
    sim_ctl snapshot after.json
    ansible-playbook -i inventory "$TARGET_DIR/verify.yml" -e "work=$work" "$@"
    cd "$TARGET_DIR"
done

ansible-playbook "$TARGET_DIR/check_bad_inventory.yml" -e "inventory=$OUTPUT_DIR/site-$execution/inventory" \
    -e "control_url=$FLEET_CONTROL_URL" "$@"
