#!/usr/bin/env bash
# whatsminer_facts against simulated miners of every firmware profile.
set -eux

source ../setup_whatsminer_fleet/fleet.sh

start_fleet --count 3 --profiles 1.4.x,2.0.x,2024 --address-mode ports --restart-seconds 1

ansible-playbook -i "$FLEET_INVENTORY" facts.yml -e "control_url=$FLEET_CONTROL_URL" "$@"
ansible-playbook -i "$FLEET_INVENTORY" facts.yml -e "control_url=$FLEET_CONTROL_URL" --check "$@"
ansible-playbook -i "$FLEET_INVENTORY" subsets.yml "$@"
ansible-playbook -i "$FLEET_INVENTORY" unreachable.yml -e "control_url=$FLEET_CONTROL_URL" "$@"
