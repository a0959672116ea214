#!/usr/bin/env bash
# test: serial
# The chaos suite's short form in the normal test run: a 3-tenant sync and 50 approvals while
# processes are killed and restarted, Redis restarted twice, the broker once and simulator faults
# switched on and off; the simulators must end with one current task per record and one ERP
# write per approval (tests/chaos/README.md; the long form is run by hand).
exec bash "$(dirname "$0")/../chaos/run.sh" --short "$@"
