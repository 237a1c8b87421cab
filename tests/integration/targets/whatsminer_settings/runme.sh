#!/usr/bin/env bash
# whatsminer_settings against a small simulated fleet (one API 2 and one API 3 miner), on the in-process
# path, checked against the miners' true state through the control API: check mode predicting the real
# run, the changed run with its diff and reboot, an idempotent re-run, and the role taking the settings
# from inventory.
set -eux

source ../setup_whatsminer_fleet/fleet.sh

start_fleet --count 2 --profiles 2024,3.x --address-mode ports --restart-seconds 0.5 --reboot-seconds 1 \
    --password farm_42 --v3-password farm_42 --factory-password-gate
ansible-playbook -i "$FLEET_INVENTORY" settings.yml -e "control_url=$FLEET_CONTROL_URL" "$@"

# The fleet report with the settings: each miner's "settings" in the JSON, null where the firmware reports nothing.
ansible-playbook -i "$FLEET_INVENTORY" hashfarm.whatsminer.facts -e whatsminer_report_settings=true \
    -e "whatsminer_report_dir=${OUTPUT_DIR}/report" "$@"
"${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" - "${OUTPUT_DIR}/report/fleet-report.json" <<'PY'
import json, sys
miners = {row["host"]: row for row in json.load(open(sys.argv[1]))["miners"]}
api2, api3 = miners["miner-001"]["settings"], miners["miner-002"]["settings"]
assert api2["hostname"] == "miner-001" and api2["fast_boot"] is False and api2["temperature_offset"] is None, api2
assert api3["hostname"] == "miner-002" and api3["temperature_offset"] == -8 and api3["timezone"] == "Europe/Berlin", api3
PY
