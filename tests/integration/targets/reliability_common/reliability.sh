# shellcheck shell=bash
# Sourced by the runme.sh of the reliability_* targets (alias needs/target/reliability_common),
# after ../setup_whatsminer_fleet/fleet.sh.
#
#   record_to FILE                 every later ansible-playbook appends its task results and its
#                                  recap to FILE (JSON lines, callback_plugins/reliability_record.py)
#   reliability_python ARGS...     runs the Python that runs ansible-test's controller (simulator,
#                                  collection and reliability.py importable)
#   start_blackhole                a loopback port whose connections time out: BLACKHOLE_PORT
#   quiet_playbook LOG ARGS...     ansible-playbook ARGS with its output in the file LOG (the
#                                  plays of hundreds of hosts), printing its last lines when it
#                                  exits with another status than ${PLAYBOOK_OK_STATUS:-0}

RELIABILITY_COMMON="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RELIABILITY_PYTHON="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"

export ANSIBLE_CALLBACK_PLUGINS="${RELIABILITY_COMMON}/callback_plugins${ANSIBLE_CALLBACK_PLUGINS:+:${ANSIBLE_CALLBACK_PLUGINS}}"
# Only the recording callback: ansible-test's junit callback would count the failures these plays
# provoke as test failures; the checks of reliability.py report each suite to JUnit themselves.
export ANSIBLE_CALLBACKS_ENABLED="reliability_record"

record_to() {
    export RELIABILITY_RECORD="$1"
    rm -f "$RELIABILITY_RECORD"
}

reliability_python() {
    PYTHONPATH="${COLLECTION_ROOT}/simulator:${ANSIBLE_COLLECTIONS_PATH%%:*}:${RELIABILITY_COMMON}" "$RELIABILITY_PYTHON" "$@"
}

start_blackhole() {
    local port_file="${OUTPUT_DIR}/blackhole-port"
    rm -f "$port_file"
    # Started directly (not through a function, which would background a subshell) so that $! is
    # the listener itself; its output goes to a file so that it holds no pipe of ansible-test open.
    PYTHONPATH="${RELIABILITY_COMMON}" "$RELIABILITY_PYTHON" "${RELIABILITY_COMMON}/reliability.py" blackhole \
        --port-file "$port_file" --lifetime "${FLEET_LIFETIME:-600}" > "${OUTPUT_DIR}/blackhole.log" 2>&1 &
    FLEET_PIDS+=("$!")  # stopped with the fleets (fleet.sh's exit trap)
    local deadline=$((SECONDS + 30))
    until [ -s "$port_file" ]; do
        if ! kill -0 "${FLEET_PIDS[-1]}" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
            echo "the blackhole listener did not start" >&2
            return 1
        fi
        sleep 0.1
    done
    BLACKHOLE_PORT="$(cat "$port_file")"
    export BLACKHOLE_PORT
}

quiet_playbook() {
    local log="$1"
    shift
    local rc=0
    ansible-playbook "$@" > "$log" 2>&1 || rc=$?
    echo "ansible-playbook $* -> exit status ${rc} (output in ${log})"
    if [ "$rc" -ne "${PLAYBOOK_OK_STATUS:-0}" ]; then
        tail -n 30 "$log"
        return 1
    fi
}
