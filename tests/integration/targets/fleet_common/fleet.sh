# shellcheck shell=bash
# Sourced by the runme.sh of the fleet_* targets, after ../setup_whatsminer_fleet/fleet.sh:
#
#   example_inventory OUT EXECUTION [RACKS [RACK_SIZE]]
#                                             the example inventory's desired state on the running
#                                             simulated fleet (fleet_inventory.py), EXECUTION being
#                                             the whatsminer_execution of every miner
#   sim_ctl start|snapshot|connections ...    bulk calls to the fleet's control API (sim_ctl.py)
#   operate RECORD ansible-playbook ...       a run whose task results go to RECORD (JSON lines)
#                                             instead of the junit report: only the verifying
#                                             playbooks count as test cases
#   ci_lines JOB                              the ansible-playbook lines of a job of docs/ci/

FLEET_COMMON="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EXAMPLE_INVENTORY="${COLLECTION_ROOT}/examples/inventory"
# The example vault (examples/inventory/group_vars/miners/vault.yml) is encrypted with this
# password and holds this admin password.
EXAMPLE_VAULT_PASSWORD="example-vault-password"
# shellcheck disable=SC2034  # used by the runme.sh that source this file
EXAMPLE_ADMIN_PASSWORD="Fa7m_ops"

export ANSIBLE_VAULT_PASSWORD_FILE="${OUTPUT_DIR}/example-vault-password"
printf '%s\n' "$EXAMPLE_VAULT_PASSWORD" > "$ANSIBLE_VAULT_PASSWORD_FILE"
export ANSIBLE_CALLBACK_PLUGINS="${FLEET_COMMON}/callback_plugins"
export ANSIBLE_FORKS="${ANSIBLE_FORKS:-12}"

example_inventory() {
    "$SIMULATOR_PYTHON" "$FLEET_COMMON/fleet_inventory.py" --control-url "$FLEET_CONTROL_URL" \
        --example "$EXAMPLE_INVENTORY" --out "$1" --var "whatsminer_execution=$2" --racks "${3:-3}" \
        --rack-size "${4:-12}"
}

sim_ctl() {
    "$SIMULATOR_PYTHON" "$FLEET_COMMON/sim_ctl.py" "$FLEET_CONTROL_URL" "$@"
}

operate() {
    local record="$1"
    shift
    FLEET_RECORD="$record" ANSIBLE_CALLBACKS_ENABLED=fleet_record "$@"
}

ci_lines() {
    "$SIMULATOR_PYTHON" "$FLEET_COMMON/ci_commands.py" "${COLLECTION_ROOT}/docs/ci" "$1"
}
