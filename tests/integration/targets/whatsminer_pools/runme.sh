#!/usr/bin/env bash
# whatsminer_pools against simulated miners of every firmware profile, through the in-process path
# (whatsminer_execution auto: in the controller's worker process; setup_whatsminer_fleet/fleet.sh), a fresh fleet per path.
set -eux

source ../setup_whatsminer_fleet/fleet.sh

# A distinctive admin password, so that the playbooks can check it never shows in any result.
ADMIN_PASSWORD="wmAdmin_5ecret"

for execution in "${TEST_EXECUTIONS[@]}"; do  # the in-process path (setup_whatsminer_fleet/fleet.sh)
    start_fleet --count 4 --profiles 1.4.x,2.0.x,2024,3.x --address-mode ports --password "$ADMIN_PASSWORD" --v3-password "$ADMIN_PASSWORD"
    for playbook in pools.yml validation.yml errors.yml; do
        ansible-playbook -i "$FLEET_INVENTORY" "$playbook" -e "control_url=$FLEET_CONTROL_URL" -e "admin_password=$ADMIN_PASSWORD" \
            -e "whatsminer_execution=$execution" "$@"
    done
    stop_fleets
done
