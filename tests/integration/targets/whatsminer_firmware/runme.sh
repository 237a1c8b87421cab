#!/usr/bin/env bash
# whatsminer_firmware and the firmware playbook against a small simulated fleet (three API 2 miners
# of one platform), on the in-process path, checked against the miners' true state (control API).
set -eux

source ../setup_whatsminer_fleet/fleet.sh

start_fleet --count 3 --profiles 2024 --models M50_VH50 --address-mode ports --restart-seconds 0.2 --reboot-seconds 0.5 \
    --password farm_Old --factory-password-gate
check() {
    PYTHONPATH="${COLLECTION_ROOT}/simulator" "${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" fleet_check.py "$@"
}
check images "$OUTPUT_DIR"
rollout() {
    ansible-playbook -i "$FLEET_INVENTORY" hashfarm.whatsminer.firmware -e whatsminer_password=farm_Old \
        -e whatsminer_firmware_version=20241015.10.Rel -e "whatsminer_firmware_image=${OUTPUT_DIR}/good.bin" \
        -e whatsminer_batch_size=1 -e whatsminer_batch_pause_s=0 -e whatsminer_reboot_timeout=30 \
        -e "whatsminer_report_dir=${OUTPUT_DIR}/report" "$@"
}

# Check mode: what would be uploaded where, nothing sent.
rollout --check --diff "$@"
check expect 0:- 0:- 0:-

# A canary that comes back on its old version stops the rollout before any other miner is touched.
check reset
check set miner-001 keep_old
# This run must fail: its junit report goes aside, so that the failed task is not counted as a failed test.
if JUNIT_OUTPUT_DIR="${OUTPUT_DIR}/junit-of-the-failing-canary" rollout "$@"; then
    echo "the rollout went on after a failed canary" >&2
    exit 1
fi
check expect 1:- 0:- 0:-
check set miner-001 flash

# The rollout, then a re-run that sends nothing.
rollout "$@"
check expect 2:20241015.10.Rel 1:20241015.10.Rel 1:20241015.10.Rel
rollout "$@"
check expect 2:20241015.10.Rel 1:20241015.10.Rel 1:20241015.10.Rel
"${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" - "${OUTPUT_DIR}/report/fleet-report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert [row["firmware"] for row in report["miners"]] == ["20241015.10.Rel"] * 3, report["miners"]
PY

# The module on its own: an image for another platform is refused before anything is sent.
ansible-playbook -i "$FLEET_INVENTORY" wrong_platform.yml -e "image=${OUTPUT_DIR}/other_platform.bin" "$@"
check expect 2:20241015.10.Rel 1:20241015.10.Rel 1:20241015.10.Rel
