# shellcheck shell=bash
# Sourced by the runme.sh of integration targets (alias needs/target/setup_whatsminer_fleet).
#
#   start_fleet --count 3 --profiles 1.4.x,2.0.x,2024 [other whatsminer_sim fleet options]
#
# starts a simulated fleet on loopback in the background, waits until it listens, and sets
#   FLEET_INVENTORY    the Ansible inventory it wrote (group "miners")
#   FLEET_CONTROL_URL  its control API (read and set each miner's true state)
# The fleet is stopped when the test script exits, and exits by itself after --lifetime seconds.
# In ports mode every miner gets a free port (--base-port 0), so tests never clash with a fleet
# that is already running (make sim).
# Like real firmware, the fleet's API 3 refuses writes while an account has its factory password
# (--factory-password-gate, the simulator command line's default): a target that writes gives the
# miners non-factory passwords (--password, --v3-password), as real farms must. Only a target whose
# subject is a fleet that writes with factory passwords passes --no-factory-password-gate.

COLLECTION_ROOT="${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/hashfarm/whatsminer"
SIMULATOR_PYTHON="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
FLEET_LIFETIME="${FLEET_LIFETIME:-600}"
FLEET_PIDS=()

stop_fleets() {
    local pid
    for pid in "${FLEET_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${FLEET_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    FLEET_PIDS=()
}

start_fleet() {
    local name="fleet-${#FLEET_PIDS[@]}"
    local state_file="${OUTPUT_DIR}/${name}-state.json"
    FLEET_INVENTORY="${OUTPUT_DIR}/${name}-inventory.yml"
    rm -f "$state_file"
    PYTHONPATH="${COLLECTION_ROOT}/simulator" "$SIMULATOR_PYTHON" -m whatsminer_sim fleet \
        --inventory "$FLEET_INVENTORY" --state-file "$state_file" --control-port 0 \
        --lifetime "$FLEET_LIFETIME" --base-port 0 "$@" > "${OUTPUT_DIR}/${name}.log" 2>&1 &
    FLEET_PIDS+=("$!")
    trap stop_fleets EXIT
    local deadline=$((SECONDS + 60))
    until [ -s "$state_file" ]; do
        if ! kill -0 "${FLEET_PIDS[-1]}" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
            echo "the simulated fleet did not start; its log:" >&2
            cat "${OUTPUT_DIR}/${name}.log" >&2
            return 1
        fi
        sleep 0.1
    done
    FLEET_CONTROL_URL="$("$SIMULATOR_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["control_url"])' "$state_file")"
    export FLEET_INVENTORY FLEET_CONTROL_URL
}

# The execution paths (values of whatsminer_execution) of a target whose subject is not the paths
# themselves: the in-process path only. execution_paths, reliability_faults and reliability_secrets
# (whose subject is what each path does) run both. To run every target through both, e.g. to look
# into a difference, change the default below to "auto module" (ansible-test does not pass its
# caller's environment on; WHATSMINER_TEST_EXECUTIONS works where a runme.sh is run by hand).
# shellcheck disable=SC2034  # used by the runme.sh that source this file
read -r -a TEST_EXECUTIONS <<< "${WHATSMINER_TEST_EXECUTIONS:-auto}"

# Options every playbook of the tests runs with. The fleet_control lookup (lookup_plugins/) and the
# simulator_api action built on it (action_plugins/) call the fleet's control API from the
# controller: ansible.builtin.uri would start a Python interpreter per call.
export ANSIBLE_INJECT_FACT_VARS=false
SETUP_WHATSMINER_FLEET="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export ANSIBLE_ACTION_PLUGINS="$SETUP_WHATSMINER_FLEET/action_plugins"
export ANSIBLE_LOOKUP_PLUGINS="$SETUP_WHATSMINER_FLEET/lookup_plugins"
