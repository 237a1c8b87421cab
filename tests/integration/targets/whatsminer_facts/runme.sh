#!/usr/bin/env bash
# whatsminer_facts against simulated miners of every firmware profile, through the in-process path
# (whatsminer_execution auto: in the controller's worker process; setup_whatsminer_fleet/fleet.sh), a fresh fleet per path.
set -eux

source ../setup_whatsminer_fleet/fleet.sh

for execution in "${TEST_EXECUTIONS[@]}"; do  # the in-process path (setup_whatsminer_fleet/fleet.sh)
    start_fleet --count 4 --profiles 1.4.x,2.0.x,2024,3.x --address-mode ports --restart-seconds 1
    run_playbook() {
        ansible-playbook -i "$FLEET_INVENTORY" "$@" -e "whatsminer_execution=$execution"
    }
    run_playbook facts.yml -e "control_url=$FLEET_CONTROL_URL" "$@"
    run_playbook facts.yml -e "control_url=$FLEET_CONTROL_URL" --check "$@"
    run_playbook subsets.yml "$@"
    run_playbook unreachable.yml -e "control_url=$FLEET_CONTROL_URL" "$@"
    stop_fleets
done
