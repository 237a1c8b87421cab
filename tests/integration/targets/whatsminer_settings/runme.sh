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
