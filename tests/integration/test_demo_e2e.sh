#!/usr/bin/env bash
# The core acceptance path, as a new user meets it: `mlc up --demo` makes 700 Asana tasks with
# every mapped custom field set by GID; a re-sync of unchanged data writes nothing to Asana; a PO
# changed in IFS updates its task and Redis holds its new ETag and hash.
source "$(dirname "$0")/lib.sh"
stack_env
PROJECT=1200000000000101

start=$SECONDS
"$MLC" up --demo
wait_until 60 tasks_at_least $PROJECT 700
echo "700 tasks after $((SECONDS - start)) s"
sleep 1
[ "$(task_count $PROJECT)" -eq 700 ] || fail "expected exactly 700 tasks, got $(task_count $PROJECT)"

# Every task has all six mapped fields, set through custom field GIDs known to Redis.
curl -sf "$ASANA_URL/_sim/tasks?project=$PROJECT" > "$MLC_RUN_DIR/tasks.json"
"${REDIS_CLI[@]}" --raw HGETALL "mlc:{demo}:asana:fields:$PROJECT" > "$MLC_RUN_DIR/fields.txt"
python3 - "$MLC_RUN_DIR/tasks.json" "$MLC_RUN_DIR/fields.txt" <<'PY'
import json, sys
tasks = json.load(open(sys.argv[1]))["data"]
lines = open(sys.argv[2]).read().split("\n")
fields = {lines[i]: lines[i + 1].split()[0] for i in range(0, len(lines) - 1, 2)}
need = ["Document No", "Supplier", "Amount", "Currency", "GL Account", "Cost Center", "ERP Key"]
for n in need:
    assert n in fields, f"field {n} not resolved in Redis: {fields}"
keys = set()
for t in tasks:
    by_gid = t["custom_fields_by_gid"]
    for n in need:
        v = by_gid.get(fields[n])
        assert v not in (None, ""), f"task {t['gid']} {t['name']}: {n} empty ({by_gid})"
    keys.add(by_gid[fields["ERP Key"]])
pos = sum(1 for k in keys if ":po:" in k); inv = sum(1 for k in keys if ":invoice:" in k)
assert len(keys) == 700 and pos == 500 and inv == 200, (len(keys), pos, inv)
print("ok: 700 distinct records (500 PO, 200 invoices), 7 fields set by GID on each")
PY

# The Infor demo tenants fill their own projects: one task per seeded record.
wait_until 60 tasks_at_least 1200000000000102 400
wait_until 60 tasks_at_least 1200000000000103 300
# Wait for every write job to finish before measuring the re-sync.
wait_until 60 queues_empty demo demo-m3 demo-syteline
[ "$(task_count 1200000000000102)" -eq 400 ] || fail "M3 project holds $(task_count 1200000000000102) tasks, want 400"
[ "$(task_count 1200000000000103)" -eq 300 ] || fail "SyteLine project holds $(task_count 1200000000000103) tasks, want 300"
for t in demo demo-m3 demo-syteline; do
  [ "$("${REDIS_CLI[@]}" ZCARD "mlc:{$t}:dlq")" -eq 0 ] || fail "tenant $t has dead jobs"
done
ok "M3 project: 400 tasks, SyteLine project: 300 tasks, no dead job in any tenant"
jpost "$ASANA_URL/_sim/reset-stats" '{}' >/dev/null
"$MLC" sync demo --full --wait --timeout 60
writes=$(jget "$ASANA_URL/_sim/stats" "d['writes']")
[ "$writes" -eq 0 ] || fail "re-sync of unchanged data made $writes Asana writes"
ok "re-sync of 700 unchanged records: 0 Asana writes"

# A change inside IFS reaches the task, and Redis has the new ETag and hash.
old_hash=$("${REDIS_CLI[@]}" HGET 'mlc:{demo}:rec:po:4711' hash)
jpost "$IFS_URL/_sim/ifs/modify" '{"set":"PurchaseOrderSet","key":"4711","changes":{"NetAmtCurr":12345.67}}' >/dev/null
new_etag=$(jget "$IFS_URL/_sim/ifs/entity?set=PurchaseOrderSet&key=4711" "d.get('entity', d).get('@odata.etag')")
"$MLC" sync demo --wait --timeout 60
writes=$(jget "$ASANA_URL/_sim/stats" "d['writes']")
[ "$writes" -eq 1 ] || fail "one changed PO should make exactly 1 Asana write, saw $writes"
gid=$("${REDIS_CLI[@]}" HGET 'mlc:{demo}:taskmap' po:4711)
amount=$(jget "$ASANA_URL/_sim/tasks?project=$PROJECT" "[t for t in d['data'] if t['gid']=='$gid'][0]['custom_fields']['Amount']")
case "$amount" in *12345.67*|*12,345.67*) ;; *) fail "task $gid shows amount $amount, want 12345.67";; esac
[ "$("${REDIS_CLI[@]}" HGET 'mlc:{demo}:rec:po:4711' etag)" = "$new_etag" ] || fail "redis etag is not the new one ($new_etag)"
[ "$("${REDIS_CLI[@]}" HGET 'mlc:{demo}:rec:po:4711' hash)" != "$old_hash" ] || fail "hash did not change"
ok "PO 4711 changed in IFS: task $gid updated, redis holds etag $new_etag and the new hash"

"$MLC" status --json > "$MLC_RUN_DIR/status.json"
python3 - "$MLC_RUN_DIR/status.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for e in ("redis", "broker", "sim_ifs", "sim_asana", "webhook_gw"):
    assert e in s["endpoints"], e
assert all(p["alive"] for p in s["processes"]), s["processes"]
f = s["tenants"]["demo"]["flows"]["purchase_orders"]
# "running" when the 5-minute schedule fires at this moment; the last sync is still reported.
assert f["status"] in ("ok", "running") and f.get("finished_at"), f
assert s["tenants"]["demo"]["tasks_mapped"] == 700, s["tenants"]["demo"]
print("ok: status --json reports every endpoint, live processes and the last sync")
PY
"$MLC" down
