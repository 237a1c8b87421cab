#!/usr/bin/env bash
# whatsminer_password and whatsminer_reboot against a small simulated fleet (one API 2 and one API 3
# miner), on the in-process path, checked against the miners' true state through the control API.
set -eux

source ../setup_whatsminer_fleet/fleet.sh

# The API 3 miner starts on the same password as the API 2 one (one password option per task); API 3 locks
# writes while the account has its factory password, as real firmware does.
start_fleet --count 2 --profiles 2024,3.x --address-mode ports --restart-seconds 0.5 --reboot-seconds 1 \
    --password farm_Old --v3-password farm_Old --factory-password-gate
run_playbook() {
    ansible-playbook -i "$FLEET_INVENTORY" "$1" -e "control_url=$FLEET_CONTROL_URL" "${@:2}"
}
run_playbook password.yml "$@"
run_playbook reboot.yml "$@"

# The fleet playbook, in batches of one (check mode and re-runs: password.yml).
rotate() {
    ansible-playbook -i "$FLEET_INVENTORY" hashfarm.whatsminer.rotate_password -e whatsminer_batch_size=1 \
        -e whatsminer_password=farm_Old -e whatsminer_new_password=farm_Nw2 "$@"
}
rotate "$@"
run_playbook rotate_verify.yml -e expected_password=farm_Nw2 "$@"

# The factory-password audit in the fleet report: miner-001, back on its factory password (rotate_verify.yml), is a problem.
ansible-playbook -i "$FLEET_INVENTORY" hashfarm.whatsminer.facts -e whatsminer_report_audit_passwords=true \
    -e "whatsminer_report_dir=${OUTPUT_DIR}/report" "$@"
"${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" - "${OUTPUT_DIR}/report/fleet-report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
rows = {row["host"]: row for row in report["miners"]}
assert any("factory password accepted" in problem for problem in rows["miner-001"]["problems"]), rows["miner-001"]
assert not any("factory password" in problem for problem in rows["miner-002"]["problems"]), rows["miner-002"]
PY
