#!/usr/bin/env bash
# The fleet report of hashfarm.whatsminer.facts on a simulated fleet of 30 miners of mixed firmware
# (1.4.x, 2.0.x, 2024 and 3.x), some of them stopped, hot, with errors, in low power or unreachable
# (on API 2 and on 3.x firmware), through the in-process
# path: the JSON, CSV and HTML files exist and carry every miner's values, equal to the
# simulator's true state, with the problem miners marked.
set -eux

# Long enough for a slow, busy machine; the fleet is stopped when this script exits anyway.
export FLEET_LIFETIME=3600
source ../setup_whatsminer_fleet/fleet.sh
source ../fleet_common/fleet.sh

start_fleet --count 30 --profiles mixed,3.x --address-mode ports --restart-seconds 1
TARGET_DIR="$PWD"
sim_ctl start "$TARGET_DIR/start.json"

for execution in "${TEST_EXECUTIONS[@]}"; do  # the in-process path (setup_whatsminer_fleet/fleet.sh)
    work="$OUTPUT_DIR/report-$execution"
    rm -rf "$work"
    mkdir -p "$work"
    # Two miners do not answer: the play writes the report, then fails their hosts (exit 2).
    set +e
    operate "$work/facts.jsonl" ansible-playbook -i "$FLEET_INVENTORY" hashfarm.whatsminer.facts \
        -e "whatsminer_report_dir=$work/report" -e "whatsminer_execution=$execution" > "$work/facts.log" 2>&1
    status=$?
    set -e
    cat "$work/facts.log"
    [ "$status" -eq 2 ]
    sim_ctl snapshot "$work/truth.json"
    "$SIMULATOR_PYTHON" -c 'import csv, json, sys; print(json.dumps({row["host"]: row for row in csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8"))}))' \
        "$work/report/fleet-report.csv" > "$work/csv.json"
    ansible-playbook -i "$FLEET_INVENTORY" "$TARGET_DIR/verify_report.yml" -e "work=$work" "$@"
done

# A relative report directory lands in the directory ansible-playbook runs in, whatever $PWD says
# (stale, as when another program starts the run, or unset): not in the collection, not elsewhere.
here="$OUTPUT_DIR/cwd/run-here"
decoy="$OUTPUT_DIR/cwd/decoy"
rm -rf "$OUTPUT_DIR/cwd"
mkdir -p "$here" "$decoy"
(cd "$here" && PWD="$decoy" operate "$OUTPUT_DIR/cwd/stale.jsonl" ansible-playbook -i "$FLEET_INVENTORY" hashfarm.whatsminer.facts \
    --limit miner-001,miner-002)
[ -s "$here/whatsminer-report/fleet-report.csv" ] && [ ! -e "$decoy/whatsminer-report" ]
rm -rf "$here/whatsminer-report"
(cd "$here" && env -u PWD FLEET_RECORD="$OUTPUT_DIR/cwd/unset.jsonl" ANSIBLE_CALLBACKS_ENABLED=fleet_record \
    ansible-playbook -i "$FLEET_INVENTORY" hashfarm.whatsminer.facts --limit miner-001,miner-002)
[ -s "$here/whatsminer-report/fleet-report.csv" ] && [ ! -e "$COLLECTION_ROOT/playbooks/whatsminer-report" ]
