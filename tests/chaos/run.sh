#!/usr/bin/env bash
# Chaos suite (issue 5 item 5): a 3-tenant sync (demo IFS, demo-m3, demo-syteline) and a stream
# of approvals while a driver kill -9s random processes (poller, writer, broker, scheduler,
# webhook gateway) and restarts them, restarts Redis twice (kill -9, then SHUTDOWN: it must come
# back with its data from the AOF), restarts the broker once and turns simulator faults on and
# off. At the end (faults off, queues empty, reconciliation run) the simulators must show: every
# record has exactly one task with its current values, every approval was written to the ERP
# exactly once (IFS always with If-Match), nothing else was written, and every dead job's work
# was done by a later job.
#
# usage: BIN=bin-chaos tests/chaos/run.sh [--short] [--seed N]
#   default (long form): ~5,000 records, 500 approvals, 30 kills, faults 429 30 % / 5xx 10 %
#   --short (CI): the demo data (1,400 records), 50 approvals, 8 kills, faults 429 10 % / 5xx 3 %
# Prints a summary; exits non-zero on any violation. The logs of the run are kept in
# tests/out/chaos-<form>/ (process logs, events, approvals, verdict).
source "$(dirname "$0")/../integration/lib.sh"
set +e   # the driver decides what a failure is; every check below fails the run explicitly
CHAOS_DIR=$(cd "$(dirname "$0")" && pwd)
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the source tree

FORM=long SEED=$RANDOM
while [ $# -gt 0 ]; do
  case "$1" in
    --short) FORM=short ;;
    --seed) SEED=$2; shift ;;
    *) echo "usage: $0 [--short] [--seed N]"; exit 2 ;;
  esac
  shift
done
if [ "$FORM" = long ]; then
  APPROVALS=500 MODIFY=150 KILLS=30 CHAOS_S=480 F429=30 F5XX=10 EXTRA=2 QUIESCE_S=900
  export MLC_SIM_IFS_CONFIG='{"seed":{"pos":1500,"invoices":500,"suppliers":60}}'
  export MLC_SIM_ION_CONFIG='{"seed":{"random_seed":42,"company":"100","division":"AAA","m3":{"pos":1000,"invoices":500,"suppliers":40},"syteline":{"pos":1000,"invoices":500,"suppliers":40}}}'
else
  APPROVALS=50 MODIFY=15 KILLS=8 CHAOS_S=75 F429=10 F5XX=3 EXTRA=1 QUIESCE_S=120
fi
TENANTS=(demo demo-m3 demo-syteline)

stack_env
export MLC_WEBHOOK_WATCHDOG_S=5 MLC_RECONCILE_S=10 MLC_LEASE_MS=8000
OUT="$MLC_RUN_DIR/chaos"; mkdir -p "$OUT"
KEEP="$ROOT/tests/out/chaos-$FORM"
R() { "${REDIS_CLI[@]}" "$@"; }
now() { date +%s.%N; }
T0=$(now)
el() { python3 -c "print(f'{$(now) - $T0:7.1f}')"; }
event() { echo "[$(el) s] $*" | tee -a "$OUT/events.log"; }

chaos_cleanup() {
  local rc=$?
  rm -rf "$KEEP"; mkdir -p "$KEEP"
  cp -r "$MLC_RUN_DIR/logs" "$OUT"/* "$KEEP/" 2>/dev/null
  (exit $rc)
  stack_cleanup
}
trap chaos_cleanup EXIT

# ---- processes: name -> pid, log; restarted with the command line and environment they had ----
declare -A PID LOG
VIOLATIONS=()
violation() { VIOLATIONS+=("$*"); event "VIOLATION: $*"; }

# True once pid is gone or a zombie (a zombie may be reaped between the two tests: check again).
dead() { [ ! -e "/proc/$1" ] || grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null || [ ! -e "/proc/$1" ]; }
# Replaces the pid of a stack process in state.json (so `mlc status`, `mlc down`, pid_of follow).
state_pid() {
  python3 - "$MLC_RUN_DIR/state.json" "$1" "$2" <<'PY'
import json, os, sys
path, name, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
st = json.load(open(path))
for p in st["procs"]:
    if p["name"] == name:
        p["pid"] = pid
json.dump(st, open(path + ".tmp", "w"), indent=2)
os.replace(path + ".tmp", path)
PY
}
# remember NAME PID: records the process and a copy of its command line and environment (from
# /proc, once it runs its mlc binary), so it can be started again the same way whatever happens
# to it. Fails (violation) when the process does not run an mlc binary within 5 s.
remember() {
  local name=$1 pid=$2 i
  PID[$name]=$pid
  for i in $(seq 50); do
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q '/mlc-[a-z-]*' && break
    sleep 0.1
  done
  cp "/proc/$pid/cmdline" "$OUT/proc/$name.cmd" && cp "/proc/$pid/environ" "$OUT/proc/$name.env" \
    || violation "$name (pid $pid): cannot read its command line"
}
# respawn NAME: starts NAME again from its remembered command line and environment, output
# appended to its log; state.json follows for the processes of `mlc up`.
respawn() {
  local name=$1 pid
  local -a argv envv
  mapfile -d '' argv <"$OUT/proc/$name.cmd"
  mapfile -d '' envv <"$OUT/proc/$name.env"
  env -i "${envv[@]}" "${argv[@]}" >>"${LOG[$name]}" 2>&1 </dev/null &
  pid=$!; disown
  EXTRA_PIDS+=($pid)
  PID[$name]=$pid
  case "$name" in *-x*) ;; *) state_pid "$name" "$pid" ;; esac
}
# restart_proc NAME SIGNAL DOWN_S: stops NAME with SIGNAL (KILL or TERM), keeps it down DOWN_S
# seconds and starts it again (respawn).
restart_proc() {
  local name=$1 sig=$2 down=$3 pid=${PID[$1]} i
  kill "-$sig" "$pid" 2>/dev/null || violation "$name (pid $pid) was gone before its kill"
  for i in $(seq 100); do dead "$pid" && break; sleep 0.1; done
  dead "$pid" || { kill -9 "$pid" 2>/dev/null; sleep 0.5; }
  sleep "$down"
  respawn "$name"
}

# Redis as `mlc up` starts it (cli/stack.c): same port, data dir and AOF settings.
start_redis() {
  redis-server --port "$MLC_REDIS_PORT" --bind 127.0.0.1 --dir "$MLC_RUN_DIR/redis" \
    --appendonly yes --appendfsync everysec --save "" --daemonize no --protected-mode yes \
    >>"$MLC_RUN_DIR/logs/redis.log" 2>&1 </dev/null &
  disown
  EXTRA_PIDS+=($!)
  state_pid redis "$!"
}
redis_ready() { [ "$(R PING 2>/dev/null)" = PONG ]; }
taskmap_total() { local t n=0; for t in "${TENANTS[@]}"; do n=$((n + $(R HLEN "mlc:{$t}:taskmap"))); done; echo $n; }
# restart_redis kill|shutdown: Redis goes down hard (kill -9) or cleanly (SHUTDOWN, AOF fsynced),
# stays down 2 s and comes back from its AOF; its data must be there (tenants, task maps).
restart_redis() {
  local how=$1 pid before after t_down
  pid=$(pid_of redis)
  before=$(taskmap_total)
  if [ "$how" = kill ]; then kill -9 "$pid"; else R SHUTDOWN >/dev/null 2>&1; fi
  for i in $(seq 100); do dead "$pid" && break; sleep 0.1; done
  t_down=$(now)
  sleep 2
  start_redis
  wait_until 60 redis_ready || { violation "Redis did not come back after $how"; return; }
  after=$(taskmap_total)
  event "redis back after $how in $(python3 -c "print(round($(now) - $t_down, 1))") s: tenants $(R SCARD mlc:tenants), task map entries $before -> $after"
  [ "$(R SCARD mlc:tenants)" -eq 3 ] || violation "Redis lost its tenants after $how"
  [ "$after" -ge "$before" ] || violation "Redis lost task map entries after $how: $before -> $after"
  REDIS_RESTARTS=$((REDIS_RESTARTS + 1))
  recovered_after "$(python3 -c "print(int($(now) * 1000))")" "$how"
}

# recovered_after MS HOW: within 60 s of a Redis restart at MS every process works again, not
# only lives: the gateway's /healthz answers 200, every poller and writer heartbeats into
# mlc:workers, and the scheduler's watchdog jobs run (each tenant's webhook checked after MS:
# scheduler -> broker -> writer -> Redis).
gw_healthy() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MLC_GW_PORT/healthz")" = 200 ]; }
workers_beating() {
  local n pids=()
  for n in "${!PID[@]}"; do case "$n" in poller*|writer*) pids+=("${PID[$n]}") ;; esac; done
  R HVALS mlc:workers | python3 -c "
import json, sys
seen = {json.loads(l)['pid']: json.loads(l)['last_seen_ms'] for l in sys.stdin if l.strip()}
sys.exit(0 if all(seen.get(p, 0) > $1 for p in map(int, sys.argv[1:])) else 1)" "${pids[@]}"
}
hooks_checked_after() {
  local t at
  for t in "${TENANTS[@]}"; do
    at=$(R HGET "mlc:{$t}:webhook" checked_at)
    python3 -c "import datetime,sys; sys.exit(0 if datetime.datetime.fromisoformat('${at:-1970-01-01T00:00:00Z}'.replace('Z','+00:00')).timestamp() * 1000 > $1 else 1)" || return 1
  done
}
recovered_after() {
  local t0=$SECONDS
  local t1 t2
  wait_until 60 gw_healthy >/dev/null || violation "gateway /healthz not 200 within 60 s of the Redis restart ($2)"
  t1=$SECONDS
  wait_until 60 workers_beating "$1" >/dev/null || violation "not every poller/writer heartbeats within 60 s of the Redis restart ($2)"
  t2=$SECONDS
  wait_until 60 hooks_checked_after "$1" >/dev/null || violation "webhook watchdog (scheduler -> writer) not running within 60 s of the Redis restart ($2)"
  event "after the Redis restart ($2): gateway healthy after $((t1 - t0)) s, every worker heartbeating after $((t2 - t0)) s, watchdog jobs run after $((SECONDS - t0)) s"
}

# Every process started is alive (one that exited on its own is a finding; it is started again
# so the run can finish).
check_alive() {
  local name
  for name in "${!PID[@]}"; do
    if dead "${PID[$name]}"; then
      violation "$name (pid ${PID[$name]}) died without being killed: $(tail -n 3 "${LOG[$name]}" | tr '\n' ' ' | cut -c1-400)"
      respawn "$name"
    fi
  done
}

# ---- start ------------------------------------------------------------------------------------
event "chaos $FORM form, seed $SEED: starting the demo stack"
"$MLC" up --demo >"$OUT/up.log" 2>&1 || { cat "$OUT/up.log"; fail "mlc up failed"; }
mkdir -p "$OUT/proc"
for name in broker scheduler poller writer webhook-gw; do
  LOG[$name]="$MLC_RUN_DIR/logs/$name.log"
  remember "$name" "$(pid_of "$name")"
done
for i in $(seq "$EXTRA"); do
  for kind in poller writer; do
    pid=$(start_extra "mlc-$kind" --worker-id "chaos-$kind-x$i")
    EXTRA_PIDS+=($pid)   # start_extra ran in a subshell: its own record is lost
    LOG[$kind-x$i]="$MLC_RUN_DIR/logs/mlc-$kind-extra.log"
    remember "$kind-x$i" "$pid"
  done
done
REDIS_RESTARTS=0
declare -A KILLED
event "stack up: $((EXTRA + 1)) pollers, $((EXTRA + 1)) writers; chaos for ${CHAOS_S} s"

python3 "$CHAOS_DIR/approve.py" "$IFS_URL" "$ION_URL" "$ASANA_URL" "$APPROVALS" "$MODIFY" \
  "$((CHAOS_S * 85 / 100))" "$OUT" "$SEED" >"$OUT/approve.log" 2>&1 &
APPROVER=$!; EXTRA_PIDS+=($APPROVER)

# ---- the chaos timeline -----------------------------------------------------------------------
# Events at fractions of CHAOS_S: kills spread over 5-90 %, Redis at 30 % (kill -9) and 70 %
# (SHUTDOWN), broker restart (SIGTERM) at 50 %, faults on from 5 % to 50 % (during the initial
# sync and the first half of the approvals).
python3 - "$SEED" "$KILLS" "$CHAOS_S" >"$OUT/timeline" <<'PY'
import random, sys
rng = random.Random(int(sys.argv[1])); kills, dur = int(sys.argv[2]), float(sys.argv[3])
kinds = ["poller", "writer", "broker", "scheduler", "webhook-gw"]
order = []  # rounds of every kind in a random order: each kind killed about as often
while len(order) < kills:
    order += rng.sample(kinds, len(kinds))
ev = [(dur * (0.05 + 0.85 * (i + rng.uniform(0.1, 0.9)) / kills), "kill", k) for i, k in enumerate(order[:kills])]
ev += [(dur * 0.3, "redis", "kill"), (dur * 0.7, "redis", "shutdown"), (dur * 0.5, "broker", "term"),
       (dur * 0.05, "faults", "on"), (dur * 0.5, "faults", "off")]
for t, what, arg in sorted(ev):
    print(f"{t:.1f} {what} {arg}")
PY

# faults P429 P5XX AFTER_WRITE LATENCY_MS: injected 429s and 5xx on every simulator, Asana
# writes answered 504 after being applied, ERP latency.
faults() {
  local p429=$1 p5=$2 aw=$3 lat=$4
  jpost "$IFS_URL/_sim/config" "{\"fail_429_pct\":$p429,\"fail_5xx_pct\":$p5,\"latency_ms\":$lat}" >/dev/null &&
  jpost "$ION_URL/_sim/config" "{\"fail_429_pct\":$p429,\"fail_500_pct\":$p5,\"latency_ms\":$lat}" >/dev/null &&
  jpost "$ASANA_URL/_sim/config" "{\"fail_429_pct\":$p429,\"fail_5xx_pct\":$p5,\"fail_after_write_pct\":$aw}" >/dev/null \
    || violation "could not set simulator faults $p429/$p5"
}
# Incremental syncs now and then (the demo flows' own schedule is 5 minutes): ERP changes made
# by approve.py and by the approvals themselves must reach the tasks.
sync_all() { local t; for t in "${TENANTS[@]}"; do timeout 30 "$MLC" sync "$t" >/dev/null 2>&1; done; }

T_CHAOS=$(now)
last_sync=$SECONDS
while read -r at what arg <&3; do
  while python3 -c "import sys; sys.exit(0 if $(now) - $T_CHAOS < $at else 1)"; do
    sleep 0.5
    if [ $((SECONDS - last_sync)) -ge 20 ]; then sync_all & last_sync=$SECONDS; fi
  done
  check_alive
  case "$what" in
    kill)
      names=(); for n in "${!PID[@]}"; do case "$n" in "$arg"|"$arg"-x*) names+=("$n") ;; esac; done
      name=${names[$((RANDOM % ${#names[@]}))]}
      down=$(python3 -c "import random; print(round(random.uniform(0.5, 3), 1))")
      event "kill -9 $name (pid ${PID[$name]}), back in $down s"
      restart_proc "$name" KILL "$down"
      KILLED[$arg]=$(( ${KILLED[$arg]:-0} + 1 )) ;;
    broker)
      event "broker restart (SIGTERM, pid ${PID[broker]})"
      restart_proc broker TERM 1; BROKER_RESTARTS=1 ;;
    redis)
      event "redis restart ($arg)"
      restart_redis "$arg" ;;
    faults)
      if [ "$arg" = on ]; then
        event "faults on: 429 on $F429 %, 5xx on $F5XX % of ERP and Asana calls, 2 % of Asana writes answered 504 after applying, ERP latency 20 ms"
        faults "$F429" "$F5XX" 2 20
      else
        event "faults off"; faults 0 0 0 0
      fi ;;
  esac
done 3<"$OUT/timeline"
T_CHAOS_END=$(now)
faults 0 0 0 0
check_alive

# ---- quiescence ------------------------------------------------------------------------------
event "chaos over; waiting for the approvals driver"
wait "$APPROVER"; arc=$?
tail -n 2 "$OUT/approve.log"
[ $arc -eq 0 ] || violation "approvals driver failed: $(tail -n 1 "$OUT/approve.log")"
LAST_APPROVAL_MS=$(python3 -c "import json; print(int(max(json.loads(l)['at'] for l in open('$OUT/approvals.jsonl')) * 1000))")
T_Q=$(now)
approvals_written() { python3 "$CHAOS_DIR/check.py" "$IFS_URL" "$ION_URL" "$ASANA_URL" "$OUT" --quiet >"$OUT/outstanding" 2>&1; }
reconciled_after_last() {
  local t ms
  for t in "${TENANTS[@]}"; do
    ms=$(R HGET "mlc:{$t}:webhook" reconciled_ms); [ "${ms:-0}" -gt "$LAST_APPROVAL_MS" ] || return 1
  done
}
# Jobs queued, running or waiting to retry, but for the scheduler's periodic webhook_check and
# reconcile jobs (there is nearly always one of those in flight with 5 s / 10 s periods) and
# write-back or webhook event jobs waiting to retry on a decision that is final already (one
# that found another job holding the decision's claim waits it out, up to 120 s, and can only
# audit a duplicate).
busy_jobs() {
  local t q id rec
  for t in "${TENANTS[@]}"; do
    for q in queue:write queue:poll leases retry; do
      for id in $(R ZRANGE "mlc:{$t}:$q" 0 -1 | grep -vE '^$|^(webhook_check|reconcile):'); do
        if [ "$q" = retry ]; then
          case "$id" in
            wb:*) rec=${id#wb:} ;;
            evt:*) rec=$(R HGET "mlc:{$t}:gidmap" "$(R HGET "mlc:{$t}:job:$id" ref | sed 's/^task://')") ;;
            *) rec= ;;
          esac
          case "$(R HGET "mlc:{$t}:writeback:${rec:-none}" state)" in
            applied|already|not_applicable|audit_only) continue ;;
          esac
        fi
        echo "$t $q $id"
      done
    done
  done
}
# True once no job is left; says which are left every 15 s.
all_queues_empty() {
  local busy; busy=$(busy_jobs)
  [ -z "$busy" ] && return 0
  if [ $((SECONDS - ${LAST_BUSY_LOG:-0})) -ge 15 ]; then
    LAST_BUSY_LOG=$SECONDS
    event "still busy: $(echo "$busy" | head -4 | tr '\n' ';') ($(echo "$busy" | wc -l) jobs)"
  fi
  return 1
}
hooks_active() { local t; for t in "${TENANTS[@]}"; do [ "$(R HGET "mlc:{$t}:webhook" active)" = 1 ] || return 1; done; }
wait_until "$QUIESCE_S" approvals_written || violation "approvals not written to the ERPs after ${QUIESCE_S} s: $(cat "$OUT/outstanding") outstanding"
event "every approval is in the ERPs"
wait_until 120 reconciled_after_last || violation "no reconciliation sweep after the last approval"
event "reconciliation ran after the last approval; final syncs"
for t in "${TENANTS[@]}"; do
  timeout "$QUIESCE_S" "$MLC" sync "$t" --wait --timeout "$QUIESCE_S" >>"$OUT/final-sync.log" 2>&1 \
    || violation "final sync of $t did not finish: $(tail -n 1 "$OUT/final-sync.log")"
done
wait_until "$QUIESCE_S" all_queues_empty || violation "queues not empty after ${QUIESCE_S} s: $(busy_jobs | head -5 | tr '\n' ';')"
event "queues empty"
wait_until 60 hooks_active || violation "not every tenant has an active webhook at the end"
T_Q_END=$(now)
check_alive
event "quiet after $(python3 -c "print(round($T_Q_END - $T_Q, 1))") s; checking the simulators"

# ---- verdict ---------------------------------------------------------------------------------
python3 "$CHAOS_DIR/check.py" "$IFS_URL" "$ION_URL" "$ASANA_URL" "$OUT" | tee "$OUT/verdict"
[ "${PIPESTATUS[0]}" -eq 0 ] || violation "the simulators disagree (see above)"
# Dead jobs: each must be explained by a later job that did its work (dead.py), else it is a loss.
python3 "$CHAOS_DIR/dead.py" "$MLC_REDIS_PORT" "${TENANTS[@]}" >"$OUT/dead" 2>&1
read -r _ DEAD UNEXPLAINED < <(tail -n 1 "$OUT/dead")
if [ "${DEAD:-0}" -gt 0 ]; then
  echo "dead jobs: $DEAD, unexplained: ${UNEXPLAINED:-?} (all in $KEEP/dead)"
  grep 'NOT EXPLAINED' "$OUT/dead" | head -20
  grep -v 'NOT EXPLAINED' "$OUT/dead" | grep '^  dead' | head -5
fi
[ "${UNEXPLAINED:-1}" -eq 0 ] || violation "${UNEXPLAINED:-?} dead jobs whose work nobody did (see above)"
wb=$(for t in "${TENANTS[@]}"; do R HGETALL "mlc:{$t}:stats" | paste - - | grep '^writeback_' | sed "s/^/$t /"; done | tr '\t' '=' | tr '\n' ' ')
retried=$(for t in "${TENANTS[@]}"; do R HGET "mlc:{$t}:stats" jobs_retried; done | paste -sd+ | bc)

grep -q '^RESULT ' "$OUT/verdict" && python3 - "$OUT/verdict" <<PY
import json
r = json.loads([l for l in open("$OUT/verdict") if l.startswith("RESULT ")][-1][7:])
kills = "${!KILLED[*]}".split(); counts = "${KILLED[*]}".split()
print("==== chaos summary ($FORM form, seed $SEED) ====")
per = lambda what: ", ".join(f"{t} {v[what]}" for t, v in r["per_tenant"].items())
print(f"records {r['records']} ({per('records')}), tasks {r['tasks']}")
print(f"approvals {r['approvals']} ({per('approvals')}); ERP writes IFS {r['erp_writes']['ifs']}, ION {r['erp_writes']['ion']}; IFS 412 {r['ifs_412']}, ION stale {r['ion_stale']}")
if "approval_to_erp_s" in r:
    l = r["approval_to_erp_s"]
    print(f"task completed -> ERP write: p50 {l['p50']} s, p90 {l['p90']} s, p99 {l['p99']} s, max {l['max']} s (IFS write log has 1 s resolution)")
print("kill -9 events: " + ", ".join(f"{k} {c}" for k, c in sorted(zip(kills, counts))) + f" (total {sum(map(int, counts))})")
print("redis restarts $REDIS_RESTARTS, broker restarts ${BROKER_RESTARTS:-0}, faults 429 $F429 % / 5xx $F5XX % for 45 % of the chaos phase")
print(f"faults injected: IFS {r['faults_injected']['ifs']}, ION {r['faults_injected']['ion']}, Asana {r['asana']['injected_faults']} (Asana 429s {r['asana']['rate_limited']}); jobs retried $retried")
print(f"Asana: {r['asana']['total']} requests, {r['asana']['deliveries']} webhook deliveries, {r['asana']['delivery_failures']} failed")
print("write-back outcomes: $wb")
print("dead jobs: ${DEAD:-?} (unexplained ${UNEXPLAINED:-?}); by type: $(grep '^  dead' "$OUT/dead" | sed 's/.*(\([a-z_]*\),.*/\1/' | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}')")
print(f"durations: chaos {$T_CHAOS_END - $T_CHAOS:.0f} s, quiescence {$T_Q_END - $T_Q:.0f} s, total {$T_Q_END - $T0:.0f} s")
PY
if [ ${#VIOLATIONS[@]} -gt 0 ]; then
  echo "FAIL: ${#VIOLATIONS[@]} violations:"; printf '  %s\n' "${VIOLATIONS[@]}"
  exit 1
fi
echo "PASS: 0 lost records, 0 duplicate tasks, 0 lost or duplicated write-backs"
