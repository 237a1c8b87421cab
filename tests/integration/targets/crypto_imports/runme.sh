#!/usr/bin/env bash
# Which process imports the crypto libraries in a real run on the in-process path (issue 19):
# a facts-only play imports neither passlib nor pycryptodome anywhere; plays with the writing
# modules import passlib once, in ansible-playbook's main process (the action plugins preload it
# before the workers fork), in check mode and in a real write alike, and no task worker imports
# a crypto library. Writes take AES from the cryptography that ansible-core has loaded.
set -eux

source ../setup_whatsminer_fleet/fleet.sh

ADMIN_PASSWORD="wmAudit_5ecret"
start_fleet --count 4 --profiles 1.4.x,2.0.x,2024,3.x --address-mode ports --restart-seconds 0.5 \
    --password "$ADMIN_PASSWORD" --v3-password "$ADMIN_PASSWORD"

audited_run() {
    local audit="$1"
    shift
    rm -f "$audit"
    WHATSMINER_IMPORT_AUDIT="$audit" PYTHONPATH="$(pwd)/import_audit${PYTHONPATH:+:${PYTHONPATH}}" \
        ansible-playbook -i "$FLEET_INVENTORY" plays.yml -e "admin_password=$ADMIN_PASSWORD" -e whatsminer_execution=auto "$@"
}

audited_run "${OUTPUT_DIR}/audit-facts.jsonl" --tags facts
"$SIMULATOR_PYTHON" audit.py "${OUTPUT_DIR}/audit-facts.jsonl" --passlib none

audited_run "${OUTPUT_DIR}/audit-check.jsonl" --tags write --check
"$SIMULATOR_PYTHON" audit.py "${OUTPUT_DIR}/audit-check.jsonl" --passlib controller

audited_run "${OUTPUT_DIR}/audit-write.jsonl" --tags write
"$SIMULATOR_PYTHON" audit.py "${OUTPUT_DIR}/audit-write.jsonl" --passlib controller
