#!/usr/bin/env bash
# whatsminer_password and whatsminer_reboot against a small simulated fleet (one API 2 and one API 3
# miner), on the in-process path, checked against the miners' true state through the control API.
set -eux

source ../setup_whatsminer_fleet/fleet.sh

# The API 3 miner starts on the same password as the API 2 one (one password option per task).
start_fleet --count 2 --profiles 2024,3.x --address-mode ports --restart-seconds 0.5 --reboot-seconds 1 \
    --password farm_Old --v3-password farm_Old
run_playbook() {
    ansible-playbook -i "$FLEET_INVENTORY" "$1" -e "control_url=$FLEET_CONTROL_URL" "${@:2}"
}
run_playbook password.yml "$@"
run_playbook reboot.yml "$@"
