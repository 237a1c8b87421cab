#!/usr/bin/env bash
# Secret hygiene: the modules run with unique marker passwords (admin and pool passwords) on both
# execution paths and both APIs (three API 2 miners, one 3.x), at -vvvv with --diff and an Ansible
# log file, while every message sent to syslog or the journal is captured; scan.py then searches
# all of it for the markers.
# No xtrace here: the markers must not reach this script's own output either.
set -eu

source ../setup_whatsminer_fleet/fleet.sh
source ../reliability_common/reliability.sh

VARS_FILE="${OUTPUT_DIR}/secrets_vars.yml"
scan() {
    reliability_python scan.py "$@" --vars-file "$VARS_FILE"
}

scan markers
start_fleet --count 4 --profiles 1.4.x,2.0.x,2024,3.x --address-mode ports --restart-seconds 0.5
WHATSMINER_PASSWORD="$(reliability_python -c 'import json, sys; print(json.load(open(sys.argv[1]))["marker_admin"])' "$VARS_FILE")"
export WHATSMINER_PASSWORD  # for the task that takes the admin password from the environment

status=0
for execution in auto module; do
    scan prepare --control-url "$FLEET_CONTROL_URL"
    record_to "${OUTPUT_DIR}/secrets-record-${execution}.jsonl"
    capture="${OUTPUT_DIR}/secrets-syslog-${execution}.jsonl"
    output="${OUTPUT_DIR}/secrets-output-${execution}.txt"
    logfile="${OUTPUT_DIR}/secrets-ansible-${execution}.log"
    rm -f "$capture" "$logfile"
    echo "secret hygiene, ${execution} path: ansible-playbook -vvvv --diff (output in ${output})"
    if ! ANSIBLE_LOG_PATH="$logfile" ANSIBLE_DISPLAY_TRACEBACK=always WHATSMINER_SYSLOG_CAPTURE="$capture" \
        PYTHONPATH="$(pwd)/syslog_capture${PYTHONPATH:+:${PYTHONPATH}}" \
        ansible-playbook -i "$FLEET_INVENTORY" secrets.yml -e "@${VARS_FILE}" -e "whatsminer_execution=$execution" --diff -vvvv "$@" \
        > "$output" 2>&1; then
        echo "the playbook itself failed (its failed tasks all ignore errors); the end of its output:"
        tail -n 40 "$output"
        status=1
    fi
    scan verify --path "$execution" --control-url "$FLEET_CONTROL_URL" --syslog-capture "$capture" --outputs "$output" "$logfile" "$RELIABILITY_RECORD" || status=1
done
exit "$status"
