#!/usr/bin/env bash
# Partial fleet and load, through the in-process path, on one fleet of 200 simulated miners of
# mixed firmware (1.4.x, 2.0.x, 2024 and 3.x; the API 3 super password of the 3.x miners is the
# admin password):
# - partial fleet: farm.yml (facts, pools, power) on the first 100 miners, 10 of them broken in
#   different ways; the play completes with exit status 2 (failed hosts) and farm.py checks the
#   recap, the 90 healthy miners and the message of each faulty one;
# - load: three runs back to back at forks 50 on all 200 (pools, power, pools again); farm.py
#   checks writes, tokens (3.x: salt reads) and the true state after each run.
set -eux
export FLEET_LIFETIME=1800  # partial fleet and load on one fleet; a slow CI host needs the margin

source ../setup_whatsminer_fleet/fleet.sh
source ../reliability_common/reliability.sh

PASSWORD=farm_1
farm() {
    reliability_python farm.py "$@" --control-url "$FLEET_CONTROL_URL" --workdir "$OUTPUT_DIR"
}

start_fleet --count 200 --profiles mixed,3.x --address-mode ports --restart-seconds 0.5 --password "$PASSWORD" \
    --v3-password "$PASSWORD"

status=0
for execution in "${TEST_EXECUTIONS[@]}"; do  # the in-process path (setup_whatsminer_fleet/fleet.sh)
    playbook_args=(-i "$FLEET_INVENTORY" farm.yml -f 50 -e "farm_password=$PASSWORD" -e "whatsminer_execution=$execution" "$@")

    farm partial-setup
    record_to "${OUTPUT_DIR}/partial-${execution}.jsonl"
    PLAYBOOK_OK_STATUS=2 quiet_playbook "${OUTPUT_DIR}/partial-${execution}.log" "${playbook_args[@]}" --limit 'miners[0:99]' || status=1
    farm partial-check "$execution" || status=1

    farm load-setup
    run=0
    for tags in $(farm load-tags); do
        run=$((run + 1))
        record_to "${OUTPUT_DIR}/load-${execution}-${run}.jsonl"
        quiet_playbook "${OUTPUT_DIR}/load-${execution}-${run}.log" "${playbook_args[@]}" --tags "$tags" || status=1
        farm load-check "$execution" "$run" || status=1
    done
done
exit "$status"
