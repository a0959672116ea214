#!/usr/bin/env bash
# test: serial
# Tenant isolation (issue 5, acceptance item 3): while tenant A's ERP answers 503 for
# MLC_TEST_DURATION seconds (default 40; the documented long form is 300 = 5 minutes), tenant
# B's sync time changes by at most 10% (MLC_ISO_SLACK, default 1.10) plus an absolute 150 ms
# for timer noise on a shared machine (MLC_ISO_NOISE_MS).
# A = demo-m3 on the simulated ION gateway, B = demo on the simulated IFS: the ION sim's
# `down` switch (every API request 503 with Retry-After: 1) hits A only (the switch is global
# to the ION sim; B's ERP is the IFS sim). During both phases a sync of A is started every
# MLC_ISO_TRIGGER_S seconds (default 2), so the only difference between them is A's outage:
# A's jobs failing, its ERP paused, its jobs refused by the pause given back (deferred).
# B's run: MLC_ISO_CHANGES purchase orders (default 100) are changed inside IFS, then
# `mlc sync demo --full --wait` is timed: it reads all 700 records (pages of 50 from an IFS
# answering in 100 ms) and updates those tasks (Asana 30 ms a call): about 2 s. Healthy
# phase: MLC_ISO_RUNS runs (default 5); outage phase: runs back to back until the outage ends
# (at least MLC_ISO_RUNS). The medians are compared.
# The stack is the shipped one (`mlc up --demo`: one poller with 2 threads, one writer).
source "$(dirname "$0")/lib.sh"
stack_env
DURATION=${MLC_TEST_DURATION:-40}
RUNS=${MLC_ISO_RUNS:-5}
CHANGES=${MLC_ISO_CHANGES:-100}
SLACK=${MLC_ISO_SLACK:-1.10}
NOISE_MS=${MLC_ISO_NOISE_MS:-150}
TRIGGER_S=${MLC_ISO_TRIGGER_S:-2}
B_PROJECT=1200000000000101
A_PROJECT=1200000000000102
export MLC_WEBHOOK_WATCHDOG_S=0 MLC_RECONCILE_S=0

"$MLC" up --demo --no-sync >/dev/null
# Weekly schedules: only the syncs this test starts run.
for f in tenant-ifs.json tenant-m3.json tenant-syteline.json; do
  python3 - "$ROOT/deploy/demo/$f" "$MLC_SIM_IFS_PORT" "$MLC_SIM_ION_PORT" "$MLC_SIM_ASANA_PORT" \
    > "$MLC_RUN_DIR/$f" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
for default, port in (("18081", sys.argv[2]), ("18082", sys.argv[3]), ("18083", sys.argv[4])):
    text = text.replace("127.0.0.1:" + default, "127.0.0.1:" + port)
t = json.loads(text)
t["flows"] = [{"name": f, "schedule": "weekly on sun at 03:00"}
              for f in ("purchase_orders", "supplier_invoices")]
if t["erp"]["type"] == "ifs":
    t["erp"]["page_size"] = 50
print(json.dumps(t))
PY
  "$MLC" tenant add "$MLC_RUN_DIR/$f" >/dev/null
done
"$MLC" sync demo --wait --timeout 300 >/dev/null
"$MLC" sync demo-m3 --wait --timeout 300 >/dev/null
[ "$(task_count $B_PROJECT)" -eq 700 ] || fail "B: $(task_count $B_PROJECT) tasks after the initial sync"
[ "$(task_count $A_PROJECT)" -eq 400 ] || fail "A: $(task_count $A_PROJECT) tasks after the initial sync"
# B's runs take seconds, so that 10% of them is more than timer noise: a slow IFS (pages of
# 50 rows, 100 ms each) and Asana (30 ms a call).
jpost "$IFS_URL/_sim/config" '{"latency_ms":100}' >/dev/null
jpost "$ASANA_URL/_sim/config" '{"latency_ms":30}' >/dev/null

# A's syncs in the background (each `mlc sync` is a new pair of poll jobs).
trigger_a() { while :; do "$MLC" sync demo-m3 >/dev/null 2>&1; sleep "$TRIGGER_S"; done; }
# b_run N: B's timed run number N (runs in a subshell: N comes from the caller): change
# CHANGES purchase orders inside IFS, then a full sync; prints its milliseconds.
round=0
b_run() {
  local round=$1 i po
  for ((i = 0; i < CHANGES; i++)); do
    po=$((4501 + (round * 37 + i * 13) % 500))
    jpost "$IFS_URL/_sim/ifs/modify" \
      "{\"set\":\"PurchaseOrderSet\",\"key\":\"$po\",\"changes\":{\"NetAmtCurr\":$round$i.25}}" >/dev/null
  done
  local t0 t1
  t0=$(date +%s%N)
  "$MLC" sync demo --full --wait --timeout 300 >/dev/null
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
updated() { local v; v=$("${REDIS_CLI[@]}" HGET 'mlc:{demo}:stats' tasks_updated); echo "${v:-0}"; }

trigger_a & EXTRA_PIDS+=($!)
sleep 2
healthy=()
upd0=$(updated)
for ((r = 0; r < RUNS; r++)); do round=$((round + 1)); healthy+=("$(b_run $round)"); done
upd1=$(updated)
[ $((upd1 - upd0)) -ge $((RUNS * CHANGES * 9 / 10)) ] \
  || fail "B's healthy runs updated $((upd1 - upd0)) tasks: the runs do not write"
echo "healthy phase: B sync times (ms): ${healthy[*]}"

a_retried0=$("${REDIS_CLI[@]}" HGET 'mlc:{demo-m3}:stats' jobs_retried); a_retried0=${a_retried0:-0}
jpost "$ION_URL/_sim/reset-stats" '{}' >/dev/null
jpost "$ION_URL/_sim/config" '{"down":true}' >/dev/null
down_at=$SECONDS
outage=()
while [ $((SECONDS - down_at)) -lt "$DURATION" ] || [ ${#outage[@]} -lt "$RUNS" ]; do
  round=$((round + 1)); outage+=("$(b_run $round)")
done
jpost "$ION_URL/_sim/config" '{"down":false}' >/dev/null
upd2=$(updated)
[ $((upd2 - upd1)) -ge $((${#outage[@]} * CHANGES * 9 / 10)) ] \
  || fail "B's runs during the outage updated $((upd2 - upd1)) tasks"
echo "outage phase ($((SECONDS - down_at)) s of A's ERP down): B sync times (ms): ${outage[*]}"
a_503=$(jget "$ION_URL/_sim/stats" "sum(v for k, v in d['requests'].items() if k.endswith(' 503'))")
a_retried=$("${REDIS_CLI[@]}" HGET 'mlc:{demo-m3}:stats' jobs_retried); a_retried=${a_retried:-0}
a_deferred=$("${REDIS_CLI[@]}" HGET 'mlc:{demo-m3}:stats' jobs_deferred)
echo "A during the outage: $a_503 ERP answers 503, $((a_retried - a_retried0)) job retries, ${a_deferred:-0} deferrals (paused ERP) in all"
[ "$a_503" -gt 0 ] || fail "A's ERP answered no 503: A was not exercised"
kill "${EXTRA_PIDS[-1]}" 2>/dev/null || true
"$MLC" sync demo-m3 --wait --timeout 120 >/dev/null || fail "A's first sync after the outage failed"
ok "A syncs again once its ERP is back"

python3 - "$SLACK" "$NOISE_MS" "${healthy[*]}" "${outage[*]}" <<'PY'
import statistics, sys
slack, noise = float(sys.argv[1]), float(sys.argv[2])
healthy = [int(x) for x in sys.argv[3].split()]
outage = [int(x) for x in sys.argv[4].split()]
h, o = statistics.median(healthy), statistics.median(outage)
bound = slack * h + noise
print(f"B median sync time: healthy {h:.0f} ms ({len(healthy)} runs), A down {o:.0f} ms "
      f"({len(outage)} runs): {100 * (o - h) / h:+.1f}%; bound {slack} x {h:.0f} + {noise:.0f} = {bound:.0f} ms")
sys.exit(0 if o <= bound else 1)
PY
ok "B's sync time within ${SLACK}x (+${NOISE_MS} ms) of its healthy time while A's ERP was down"
