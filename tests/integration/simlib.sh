# Shared preamble of the simulator tests (sourced): the mlc-sim binary of $BIN, a temp dir,
# fail/ok, start_sim, and a cleanup that kills the simulator and every pid in PIDS and fails
# the test when a sanitizer build reported something in the simulator's log.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-bin}
SIM="$BIN/mlc-sim"
[ -x "$SIM" ] || { echo "FAIL: $SIM not built (make)"; exit 1; }

TMP=$(mktemp -d)
SIM_PID=""
PIDS=()
cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "$SIM_PID" ] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
    if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$TMP/sim.log" 2>/dev/null; then
        grep -E -A25 "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$TMP/sim.log" | head -60
        echo "FAIL: sanitizer report"
        rc=1
    fi
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT

PASS=0
fail() { echo "FAIL: $*"; echo "--- last body:"; head -c 2000 "$TMP/body" 2>/dev/null; echo; exit 1; }
ok() { PASS=$((PASS + 1)); echo "ok - $*"; }

# start_sim SIDE CONFIG: runs only the SIDE simulator (ifs | ion | asana) on a free port with a
# thread per connection and the JSON settings CONFIG, logging to $TMP/sim.log; sets SIM_PID and
# PORT once its port file is written (the other sides must show 0: not running).
start_sim() {
    local side=$1 config=$2
    "$SIM" --only "$side" --"$side"-port 0 --threads 0 --port-file "$TMP/ports.json" \
           --"$side"-config "$config" 2>"$TMP/sim.log" &
    SIM_PID=$!
    for _ in $(seq 1 100); do [ -s "$TMP/ports.json" ] && break; sleep 0.05; done
    [ -s "$TMP/ports.json" ] || { cat "$TMP/sim.log"; fail "simulator did not write its port file"; }
    PORT=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert all(d[s] == 0 for s in ("ifs", "ion", "asana") if s != sys.argv[2]), d
print(d[sys.argv[2]])' "$TMP/ports.json" "$side") || fail "port file: $(cat "$TMP/ports.json")"
}
