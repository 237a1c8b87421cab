#!/usr/bin/env bash
# Both execution paths of every module (in the worker process and as a module) against the same
# simulated miners: identical results, exact connection and token counts, and the path choice.
set -eux

source ../setup_whatsminer_fleet/fleet.sh

ADMIN_PASSWORD="wmAdmin_5ecret"
start_fleet --count 4 --profiles 1.4.x,2.0.x,2024,3.x --address-mode ports --restart-seconds 1 --password "$ADMIN_PASSWORD" \
    --v3-password "$ADMIN_PASSWORD"

# whatsminer_execution is set per task here, so it must not come as an extra variable.
ansible-playbook -i "$FLEET_INVENTORY" paths.yml -e "control_url=$FLEET_CONTROL_URL" -e "admin_password=$ADMIN_PASSWORD" "$@"
ansible-playbook -i "$FLEET_INVENTORY" choice.yml "$@"
