#!/usr/bin/env bash
# Infor under stress, through `mlc up --demo`: small pages (M3 maxrecs 40, SyteLine recordcap
# 30: at least 5 pages each) lose or repeat no record; kill -9 of the writer mid-sync leaves
# exactly one task per record; a .ionapi with a wrong type is refused by name while the tenants
# keep syncing; with 5-s ION tokens, frequent syncs over MLC_TEST_DURATION seconds (default 120)
# never fail a poll.
source "$(dirname "$0")/lib.sh"
stack_env
M3_PROJECT=1200000000000102
CSI_PROJECT=1200000000000103
DURATION=${MLC_TEST_DURATION:-120}
export MLC_LEASE_MS=3000
export MLC_SIM_ION_CONFIG='{"token_lifetime_s":5}'
export MLC_SIM_ASANA_CONFIG='{"latency_ms":60}'

"$MLC" up --demo --no-sync >/dev/null
# The demo tenants with small pages, pointed at this run's ports.
for f in tenant-m3.json:40 tenant-syteline.json:30; do
  python3 - "$ROOT/deploy/demo/${f%%:*}" "${f##*:}" "$MLC_SIM_ION_PORT" "$MLC_SIM_ASANA_PORT" \
    > "$MLC_RUN_DIR/${f%%:*}" <<'PY'
import json, sys
text = open(sys.argv[1]).read().replace("127.0.0.1:18082", "127.0.0.1:" + sys.argv[3]) \
                              .replace("127.0.0.1:18083", "127.0.0.1:" + sys.argv[4])
t = json.loads(text)
t["erp"]["page_size"] = int(sys.argv[2])
# Only this test's syncs run: a scheduled poll would overwrite the figures checked below.
t["flows"] = [{"name": f, "schedule": "weekly on sun at 03:00"}
              for f in ("purchase_orders", "supplier_invoices")]
print(json.dumps(t))
PY
  "$MLC" tenant add "$MLC_RUN_DIR/${f%%:*}" >/dev/null
done

"$MLC" sync demo-m3 >/dev/null
"$MLC" sync demo-syteline >/dev/null
wait_until 60 tasks_at_least $M3_PROJECT 100
writer=$(pid_of writer)
kill -9 "$writer"
written=$(( $(task_count $M3_PROJECT) + $(task_count $CSI_PROJECT) ))
echo "killed writer $writer with $written of 700 Infor tasks written"
[ "$written" -lt 700 ] || fail "the writer finished before the kill: the test proves nothing"
start_extra mlc-writer >/dev/null
wait_until 120 tasks_at_least $M3_PROJECT 400
wait_until 120 tasks_at_least $CSI_PROJECT 300
wait_until 60 queues_empty demo-m3 demo-syteline
for p in $M3_PROJECT:400 $CSI_PROJECT:300; do
  curl -sf "$ASANA_URL/_sim/tasks?project=${p%%:*}" | python3 -c '
import collections, json, sys
tasks = json.load(sys.stdin)["data"]; want = int(sys.argv[1])
keys = collections.Counter(t["custom_fields"].get("ERP Key") for t in tasks)
dups = [k for k, n in keys.items() if n > 1]
assert not dups, f"duplicates: {dups[:5]}"
assert len(tasks) == want and len(keys) == want, (len(tasks), len(keys))
for t in tasks:
    for f in ("Document No", "Supplier", "Amount", "Currency"):
        assert t["custom_fields"].get(f) not in (None, ""), (t["name"], f)' "${p##*:}" \
    || fail "project ${p%%:*}"
done
for t in demo-m3:300 demo-syteline:200; do
  pages=$("${REDIS_CLI[@]}" HGET "mlc:{${t%%:*}}:sync:purchase_orders" pages)
  records=$("${REDIS_CLI[@]}" HGET "mlc:{${t%%:*}}:sync:purchase_orders" records)
  [ "$pages" -ge 5 ] && [ "$records" -eq "${t##*:}" ] || fail "${t%%:*}: $records records in $pages pages"
  echo "${t%%:*} purchase orders: $records records in $pages pages"
done
ok "400 M3 + 300 SyteLine tasks, each record once, number/supplier/amount/currency set, after kill -9 of the writer"

# A .ionapi whose client id is a number: refused by name; the stored tenant keeps working.
python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); t["erp"]["ionapi"]["ci"]=5; json.dump(t, open(sys.argv[2],"w"))' \
  "$MLC_RUN_DIR/tenant-m3.json" "$MLC_RUN_DIR/badtype-m3.json"
err=$("$MLC" tenant add "$MLC_RUN_DIR/badtype-m3.json" 2>&1) && fail "a .ionapi with a numeric ci was accepted"
case "$err" in *"erp.ionapi.ci: must be a string"*) ;; *) fail "unexpected message: $err";; esac
ok "wrong type refused: $err"

# 5-s ION tokens: frequent syncs of both Infor tenants, none fails.
jpost "$ION_URL/_sim/reset-stats" '{}' >/dev/null
jpost "$ASANA_URL/_sim/config" '{"latency_ms":0}' >/dev/null
retries_before() { r=$("${REDIS_CLI[@]}" HGET "mlc:{$1}:stats" jobs_retried); echo "${r:-0}"; }
before_m3=$(retries_before demo-m3); before_csi=$(retries_before demo-syteline)
end=$((SECONDS + DURATION)); n=0
while [ $SECONDS -lt $end ]; do
  n=$((n + 1))
  key=$(printf '%010d' $((4001 + (n * 7) % 300)))
  jpost "$ION_URL/_sim/ion/modify" "{\"tenant\":\"DEMO_TST\",\"table\":\"po\",\"key\":\"$key\",\"changes\":{\"NTAM\":\"$n.50\"}}" >/dev/null
  # --wait exits non-zero when a poll job failed; retries are counted below (the flow's
  # K_SYNC status is not checked: a scheduled poll may be running at that moment).
  for t in demo-m3 demo-syteline; do
    "$MLC" sync "$t" --wait --timeout 60 >/dev/null || fail "sync $n of $t failed"
  done
  sleep 0.5
done
[ "$(retries_before demo-m3)" -eq "$before_m3" ] || fail "demo-m3: job retries during the token run"
[ "$(retries_before demo-syteline)" -eq "$before_csi" ] || fail "demo-syteline: job retries during the token run"
tokens=$(jget "$ION_URL/_sim/stats" "d.get('tokens_issued', 0)")
ok "$n rounds of syncs in ${DURATION}s with 5-s ION tokens: 0 failed polls, 0 retries, $tokens tokens issued"
