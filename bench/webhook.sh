#!/usr/bin/env bash
# Benchmark of mlc-webhook-gw (issue 4) on a fresh `mlc up --demo --no-sync` stack:
#   1. max rate: wrk with THREADS threads and CONNS connections for SECS seconds sends signed
#      deliveries of K events (default 1), each a distinct event for a task in the gidmap, so every 200
#      is a verified event recorded in K_EVENTS with its write job and audit entry (one Lua
#      script) before the answer; events/s = new events recorded (gateway counter, checked
#      against XLEN) / SECS; also the CPU each process used during the run (redis, gateway,
#      broker, wrk) and Redis' INFO commandstats (calls, usec per call);
#   2. fixed rate: RATE requests/s offered (wrk connections that each wait between requests)
#      for SECS seconds, wrk's latency percentiles.
# The writer is stopped first so the measurement is the gateway's (the jobs stay queued).
# N pre-signed bodies per wrk thread bound the distinct events; a run that exhausts them
# counts the rest as duplicates and says so. Usage: [N=250000] [K=1] [THREADS=2] [CONNS=32]
# bench/webhook.sh [SECS=10] [RATE=2000]   (RATE=0: the max-rate run only)
set -euo pipefail
SECS=${1:-10}
RATE=${2:-2000}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
N=${N:-250000}
K=${K:-1}   # events per delivery in the max-rate run (Asana may batch several)
source "$(dirname "$0")/../tests/integration/lib.sh"
out="$ROOT/bench/out"; mkdir -p "$out"
results="$out/webhook-$(date +%Y%m%dT%H%M%S).txt"
stack_env
export MLC_EVENTS_MAXLEN=10000000   # keep every entry, so XLEN can check the count
"$MLC" up --demo --no-sync >/dev/null
GW="http://127.0.0.1:$MLC_GW_PORT"
wait_until 20 curl -sf "$GW/healthz" -o /dev/null
kill "$(pid_of writer)"
R() { "${REDIS_CLI[@]}" "$@"; }
R SET 'mlc:{demo}:webhook:pending' 1200000000000101 EX 60 >/dev/null
curl -sf -o /dev/null -X POST -H 'X-Hook-Secret: bench-secret' "$GW/webhooks/demo"
R DEL 'mlc:{demo}:webhook:pending' >/dev/null
for g in $(seq 1300000000000001 1300000000000100); do echo "HSET mlc:{demo}:gidmap $g po:$g"; done | R >/dev/null

# Pre-signed deliveries: file <prefix>.<t> for wrk thread t; phase 1 and 2 use disjoint sets.
sign() {   # sign PREFIX FIRST COUNT NTHREADS EVENTS_PER_DELIVERY
  python3 - "$@" <<'PY'
import hashlib, hmac, json, sys
prefix, first, count, nt, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
fs = [open(f"{prefix}.{t}", "w") for t in range(nt)]
def event(j):
    return {"user": {"gid": "1", "resource_type": "user"},
            "created_at": "2026-11-22T00:00:00.%09dZ" % j, "action": "changed",
            "resource": {"gid": str(1300000000000001 + j % 100), "resource_type": "task"},
            "change": {"field": "completed", "action": "changed"}}
for i in range(first, first + count):
    body = json.dumps({"events": [event(i * k + e) for e in range(k)]}, separators=(",", ":"))
    sig = hmac.new(b"bench-secret", body.encode(), hashlib.sha256).hexdigest()
    fs[i % nt].write(sig + " " + body + "\n")
PY
}
sign "$MLC_RUN_DIR/max" 0 "$N" "$THREADS" "$K"
[ "$RATE" -gt 0 ] && sign "$MLC_RUN_DIR/rate" "$N" $((RATE * SECS + 1000)) "$THREADS" 1
metric() { curl -sf "$GW/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
ACC='mlc_webhook_deliveries_total{tenant="demo",outcome="accepted"}'
DUP='mlc_webhook_deliveries_total{tenant="demo",outcome="duplicate"}'
ENQ='mlc_webhook_events_enqueued_total{tenant="demo"}'
# CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
PROCS="redis webhook-gw broker"
cpu_all() { for p in $PROCS; do cpu_s "$(pid_of "$p")"; echo -n " "; done; }

{
echo "== webhook gateway benchmark $(date -u +%FT%TZ), $(nproc) CPUs, gateway threads ${MLC_GW_THREADS:-8}, binaries $BIN"
echo "== 1. max rate: wrk -t$THREADS -c$CONNS -d${SECS}s, $N distinct signed deliveries of $K event(s)"
e0=$(metric "$ENQ"); e0=${e0:-0}
c0=($(cpu_all))
R CONFIG RESETSTAT >/dev/null
TIMEFORMAT="wrk CPU: %U s user + %S s system in %R s"
time WRK_BODIES="$MLC_RUN_DIR/max" wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency -s "$ROOT/bench/webhook.lua" "$GW/webhooks/demo"
e1=$(metric "$ENQ")
c1=($(cpu_all)); i=0
for p in $PROCS; do
  echo "$p CPU: $(awk -v a="${c0[$i]}" -v b="${c1[$i]}" -v s="$SECS" 'BEGIN { printf "%.0f%%", (b - a) * 100 / s }')"
  i=$((i + 1))
done
echo "redis commands during the run (calls, usec per call), the busiest first:"
R INFO commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_/ { printf "  %-28s %9d %8.2f\n", $1, $3, $7 }' \
  | sort -k2 -nr | head -12
echo "new events recorded: $((e1 - e0)) in ${SECS}s = $(( (e1 - e0) / SECS )) events/s;" \
     "duplicates: $(metric "$DUP"); XLEN: $(R XLEN 'mlc:{demo}:events'); write jobs queued: $(R ZCARD 'mlc:{demo}:queue:write')"
[ "$(R XLEN 'mlc:{demo}:events')" -eq "$e1" ] || echo "WARNING: XLEN differs from the gateway's count"
if [ "$RATE" -gt 0 ]; then
  # Each connection sends, waits 10 ms, sends again: ~1 ms of service time per cycle on top.
  conns=$(( RATE * 11 / 1000 )); delay=10
  echo "== 2. fixed rate: about $RATE req/s offered ($conns connections, each waiting ${delay} ms between requests), ${SECS}s"
  a0=$(metric "$ACC")
  WRK_BODIES="$MLC_RUN_DIR/rate" WRK_DELAY_MS=$delay wrk -t"$THREADS" -c"$conns" -d"${SECS}s" --latency -s "$ROOT/bench/webhook.lua" "$GW/webhooks/demo"
  a1=$(metric "$ACC")
  echo "accepted during the fixed-rate run: $((a1 - a0)) = $(( (a1 - a0) / SECS )) events/s"
fi
echo "== gateway histogram (both runs)"
curl -sf "$GW/metrics" | grep '^mlc_webhook_request_seconds'
} 2>&1 | tee "$results"
echo "results: $results"
