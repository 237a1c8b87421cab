#!/usr/bin/env bash
# The fault matrix: every module against every simulator fault, through both execution paths
# (auto: the action plugin in the controller's worker; module: the module). One simulated miner
# per cell; cells.py sets the faults, checks each result against the true state and prints the
# matrix (module x path x fault -> outcome) at the end.
set -eux

source ../setup_whatsminer_fleet/fleet.sh
source ../reliability_common/reliability.sh

cells() {
    reliability_python cells.py "$@" --control-url "$FLEET_CONTROL_URL" --workdir "$OUTPUT_DIR"
}

# 2024 miners for the API 2 cells, 3.x miners for the API 3 cells (cells.py profiles: one per miner).
start_fleet --count "$(reliability_python cells.py count)" --profiles "$(reliability_python cells.py profiles)" --address-mode ports \
    --restart-seconds 0.5 --password cells_1 --v3-password cells_1
start_blackhole

status=0
for execution in auto module; do
    cells setup --blackhole-port "$BLACKHOLE_PORT"
    record_to "${OUTPUT_DIR}/record-${execution}.jsonl"
    quiet_playbook "${OUTPUT_DIR}/matrix-${execution}.log" -i "${OUTPUT_DIR}/cells.yml" matrix.yml -f 30 -e "whatsminer_execution=$execution" "$@" || status=1
    cells check "$execution" || status=1
done
set +x
cells report || status=1
exit "$status"
