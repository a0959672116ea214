#!/usr/bin/env bash
# End-to-end benchmark of the core pipeline (issue 2), on zero-latency simulators without rate
# limits: initial sync of N purchase orders (IFS -> Asana tasks), full re-poll of the same N
# unchanged POs, and peak RSS of each worker process. Repeats RUNS times with a fresh stack and
# prints the medians. Usage: bench/run.sh [N=10000] [RUNS=3]
# Lean workers (docs/lean-build.md): `BIN_LEAN=bin-lean bench/run.sh ...` runs the same benchmark
# with the poller and writer of BIN_LEAN (`make lean`) and every other binary from BIN; the mixed
# binary dir is $ROOT/bin-lean-bench (refreshed on every run), the floor is also measured with the
# lean static libraries (LEAN_PREFIX, default /var/cache/mlc/lean/prefix).
set -euo pipefail
N=${1:-10000}
RUNS=${2:-3}
source "$(dirname "$0")/../tests/integration/lib.sh"
out="$ROOT/bench/out"; mkdir -p "$out"
results="$out/core-$(date +%Y%m%dT%H%M%S)${BIN_LEAN:+-lean}.txt"
if [ -n "${BIN_LEAN:-}" ]; then
  case "$BIN_LEAN" in /*) ;; *) BIN_LEAN="$ROOT/$BIN_LEAN" ;; esac
  # `mlc up` starts the binaries beside itself and finds deploy/ at ../deploy: a sibling dir.
  rm -rf "$ROOT/bin-lean-bench"; mkdir -p "$ROOT/bin-lean-bench"
  cp -p "$BIN"/mlc "$BIN"/mlc-broker "$BIN"/mlc-scheduler "$BIN"/mlc-sim "$BIN"/mlc-webhook-gw \
    "$BIN_LEAN"/mlc-poller "$BIN_LEAN"/mlc-writer "$ROOT/bin-lean-bench/"
  BIN="$ROOT/bin-lean-bench"; MLC="$BIN/mlc"
fi

one_run() {
  stack_env
  export MLC_SIM_IFS_CONFIG="{\"seed\":{\"pos\":$N,\"invoices\":0}}"
  "$MLC" up --demo --no-sync >/dev/null
  # The bench tenant: the demo with schedules out of the way, so only our syncs run.
  python3 - "$ROOT/deploy/demo/tenant-ifs.json" "$MLC_SIM_IFS_PORT" "$MLC_SIM_ASANA_PORT" > "$MLC_RUN_DIR/bench-tenant.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
ifs, asana = sys.argv[2], sys.argv[3]
t["erp"]["base_url"] = f"http://127.0.0.1:{ifs}"
t["erp"]["token_url"] = f"http://127.0.0.1:{ifs}/auth/realms/ifs/protocol/openid-connect/token"
t["asana"]["base_url"] = f"http://127.0.0.1:{asana}/api/1.0"
t["flows"] = [{"name": "purchase_orders", "schedule": "weekly on sun at 03:00"},
              {"name": "supplier_invoices", "schedule": "weekly on sun at 03:00"}]
print(json.dumps(t))
PY
  "$MLC" tenant add "$MLC_RUN_DIR/bench-tenant.json" >/dev/null
  local t0 t1 t2
  t0=$(date +%s.%N)
  "$MLC" sync demo --flow purchase_orders --wait --timeout 300 >/dev/null
  t1=$(date +%s.%N)
  local tasks; tasks=$(task_count 1200000000000101)
  [ "$tasks" -eq "$N" ] || { echo "expected $N tasks, got $tasks" >&2; exit 1; }
  jpost "$ASANA_URL/_sim/reset-stats" '{}' >/dev/null
  local t1b; t1b=$(date +%s.%N)
  "$MLC" sync demo --flow purchase_orders --full --wait --timeout 300 >/dev/null
  t2=$(date +%s.%N)
  local poll_ms; poll_ms=$("${REDIS_CLI[@]}" HGET 'mlc:{demo}:sync:purchase_orders' duration_ms)
  local writes; writes=$(jget "$ASANA_URL/_sim/stats" "d['writes']")
  rss() { awk '/VmHWM/ {print $2}' "/proc/$(pid_of "$1")/status"; }
  anon() { awk '/RssAnon/ {print $2}' "/proc/$(pid_of "$1")/status"; }
  rssfile() { awk '/RssFile/ {print $2}' "/proc/$(pid_of "$1")/status"; }
  echo "$(python3 -c "print(round($N/($t1-$t0)), round($N/($t2-$t1b)), round($N*1000/max($poll_ms,1)))") $(rss poller) $(rss writer) $(rss broker) $(rss scheduler) $(anon poller) $(anon writer) $writes $(rssfile poller) $(rssfile writer)"
  "$MLC" down >/dev/null
  rm -rf "$MLC_RUN_DIR"; MLC_RUN_DIR=
  trap - EXIT
}

echo "# bench/run.sh N=$N RUNS=$RUNS on $(nproc) cores, $(uname -r), $(date -u +%FT%TZ)" | tee "$results"
echo "# columns: initial_rec_s repoll_rec_s(wall) repoll_rec_s(poll job) poller_peak_rss_kB writer_peak_rss_kB broker_peak_rss_kB scheduler_peak_rss_kB poller_anon_kB writer_anon_kB asana_writes_during_repoll poller_file_kB writer_file_kB" | tee -a "$results"
[ -z "${BIN_LEAN:-}" ] || echo "# workers: lean poller and writer from $BIN_LEAN" | tee -a "$results"
for i in $(seq "$RUNS"); do one_run | tee -a "$results"; done
python3 - "$results" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l[0] != "#"]
cols = list(zip(*rows))
names = ["initial sync rec/s", "re-poll rec/s (CLI wall clock)", "re-poll rec/s (poll job)",
         "poller peak RSS kB", "writer peak RSS kB", "broker peak RSS kB", "scheduler peak RSS kB",
         "poller private (RssAnon) kB", "writer private (RssAnon) kB", "Asana writes during re-poll",
         "poller file-backed (RssFile) kB", "writer file-backed (RssFile) kB"]
for n, c in zip(names, cols):
    print(f"median {n}: {statistics.median(c):.0f}  (runs: {', '.join(f'{v:.0f}' for v in c)})")
PY
echo "raw results: $results"
# The floor: a process that only initializes the libraries every worker links.
cc -O2 -Wl,--as-needed -o "$out/floor" "$ROOT/bench/floor.c" $(pkg-config --cflags --libs libcurl libzmq hiredis jansson libcrypto)
echo "library floor (bench/floor.c): $("$out/floor" | tr -s ' \t\n' ' ')"
if [ -n "${BIN_LEAN:-}" ]; then
  # The same floor linked as `make lean` links the workers.
  lp=${LEAN_PREFIX:-/var/cache/mlc/lean/prefix}
  cc -O2 -I"$lp/include" -o "$out/floor-lean" "$ROOT/bench/floor.c" $(pkg-config --cflags hiredis) \
    -static-libgcc -Wl,--gc-sections -L"$lp/lib" -Wl,-Bstatic -lcurl -lzmq -lhiredis -ljansson \
    -lssl -lcrypto -lstdc++ -Wl,-Bdynamic -lpthread -lrt -lm -ldl
  echo "library floor, lean static libraries: $("$out/floor-lean" | tr -s ' \t\n' ' ')"
fi
