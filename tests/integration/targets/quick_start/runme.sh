#!/usr/bin/env bash
# The README's quick start ("Running a farm: quick start"), run as written against a simulated fleet
# of six miners (quick_start.py takes the shell lines from README.md itself, so the document and
# this test cannot drift apart): install the collection from its tarball, copy the example
# inventory, replace the example's vault with a new one (ansible-vault create, the editor replaced by
# a script), validate, check, apply and read the fleet. Only the lines that need the package index
# (a virtual environment, pip install) are replaced, by checks that the test's environment has what
# they install.
set -eux

export FLEET_LIFETIME=3600
source ../setup_whatsminer_fleet/fleet.sh
source ../fleet_common/fleet.sh

ADMIN_PASSWORD="Qu1ck_st"
start_fleet --count 6 --profiles 2024 --address-mode ports --password "$ADMIN_PASSWORD"
"$SIMULATOR_PYTHON" quick_start.py --readme "$COLLECTION_ROOT/README.md" --fleet-guide "$COLLECTION_ROOT/docs/fleet.md" \
    --collection "$COLLECTION_ROOT" --control-url "$FLEET_CONTROL_URL" --work "$OUTPUT_DIR/quick-start" --admin-password "$ADMIN_PASSWORD"
