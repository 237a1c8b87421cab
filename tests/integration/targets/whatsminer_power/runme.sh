#!/usr/bin/env bash
# whatsminer_power against simulated miners of every firmware profile, checked against their true state,
# through the in-process path (whatsminer_execution auto: in the controller's worker process;
# setup_whatsminer_fleet/fleet.sh), a fresh fleet per path.
set -eux

source ../setup_whatsminer_fleet/fleet.sh

WHATSMINER_TEST_PASSWORD="farm_42"

for execution in "${TEST_EXECUTIONS[@]}"; do  # the in-process path (setup_whatsminer_fleet/fleet.sh)
    start_fleet --count 4 --profiles 1.4.x,2.0.x,2024,3.x --address-mode ports --restart-seconds 1 --password "$WHATSMINER_TEST_PASSWORD" \
        --v3-password "$WHATSMINER_TEST_PASSWORD"
    run_playbook() {
        ansible-playbook -i "$FLEET_INVENTORY" "$1" -e "control_url=$FLEET_CONTROL_URL" -e "whatsminer_password=$WHATSMINER_TEST_PASSWORD" \
            -e "whatsminer_execution=$execution" "${@:2}"
    }
    run_playbook options.yml "$@"
    run_playbook combined.yml "$@"
    run_playbook failures.yml "$@"
    stop_fleets
done
