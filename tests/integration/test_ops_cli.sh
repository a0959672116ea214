#!/usr/bin/env bash
# The operator commands of mlc against the demo stack: audit answers "what happened to PO 4711"
# from Redis alone; ping passes against the simulators and names the failing check with a wrong
# secret; webhooks list shows the registered webhook, delete and register round-trip; sync --plan
# lists exactly the records a real sync then writes; reconcile finds a task changed in Asana and
# --repair puts the ERP value back.
source "$(dirname "$0")/lib.sh"
stack_env
PROJECT=1200000000000101
R=("${REDIS_CLI[@]}")
pyjson() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

"$MLC" up --demo --no-sync >/dev/null
# Only this test's syncs run (a scheduled poll would race the plan); tenant-bad.json is the same
# tenant with a wrong IFS client secret, for ping.
python3 - "$ROOT/deploy/demo/tenant-ifs.json" "$IFS_URL" "$ASANA_URL" "$MLC_RUN_DIR" <<'PY'
import json, sys
src, ifs, asana, out = sys.argv[1:]
t = json.load(open(src))
for k in ("base_url", "token_url"):
    t["erp"][k] = t["erp"][k].replace("http://127.0.0.1:18081", ifs)
t["asana"]["base_url"] = asana + "/api/1.0"
t["flows"] = [{"name": f, "schedule": "weekly on sun at 03:00"}
              for f in ("purchase_orders", "supplier_invoices")]
json.dump(t, open(f"{out}/tenant-good.json", "w"))
t["erp"]["client_secret"] = "not-the-secret"
json.dump(t, open(f"{out}/tenant-bad.json", "w"))
PY
"$MLC" tenant add "$MLC_RUN_DIR/tenant-good.json" >/dev/null
"$MLC" sync demo --wait --timeout 120 >/dev/null
wait_until 60 tasks_at_least $PROJECT 700
wait_until 60 queues_empty demo
ok "demo stack: 700 IFS tasks"

# ---- audit ----------------------------------------------------------------------------------
"$MLC" audit demo po:4711 > "$MLC_RUN_DIR/audit.txt"
cat "$MLC_RUN_DIR/audit.txt"
gid=$("${R[@]}" HGET 'mlc:{demo}:taskmap' po:4711)
grep -q "poll.new" "$MLC_RUN_DIR/audit.txt" || fail "audit lacks poll.new"
grep -q "asana.create" "$MLC_RUN_DIR/audit.txt" || fail "audit lacks asana.create"
grep -q "asana task: $gid" "$MLC_RUN_DIR/audit.txt" || fail "audit does not name task $gid"
"$MLC" audit demo 4711 --json | pyjson "
assert d['ref'] == 'po:4711' and d['task'] == '$gid', (d['ref'], d.get('task'))
ev = [e['event'] for e in d['audit']]
assert ev.index('poll.new') < ev.index('asana.create'), ev
assert d['record']['data']['number'] == '4711' and len(d['record']['hash']) == 64, d['record']
print('ok: audit --json of 4711 (resolved to po:4711):', ev)"
"$MLC" audit demo po:4711 --json --limit 1 | pyjson "assert len(d['audit']) == 1, d['audit']"
out=$("$MLC" audit demo po:99999999 2>&1) && fail "audit of an unknown record succeeded"
echo "$out" | grep -q "no record po:99999999" || fail "unknown record: unclear error: $out"
out=$("$MLC" audit nosuch po:4711 2>&1) && fail "audit of an unknown tenant succeeded"
echo "$out" | grep -q "unknown tenant nosuch" || fail "unknown tenant: unclear error: $out"
ok "audit: timeline with poll.new and asana.create, --json, --limit, clear errors"

# ---- ping -----------------------------------------------------------------------------------
for t in demo demo-m3 demo-syteline; do
  "$MLC" ping $t || fail "ping $t failed against the simulators"
done
"$MLC" ping demo --json | pyjson "
assert d['ok'] and [c['check'] for c in d['checks']] == ['erp token', 'erp read', 'asana token', 'asana project'], d"
# The same tenant with a wrong IFS client secret, then restored.
"$MLC" tenant add "$MLC_RUN_DIR/tenant-bad.json" >/dev/null
set +e
"$MLC" ping demo > "$MLC_RUN_DIR/ping-bad.txt"; rc=$?
set -e
"$MLC" tenant add "$MLC_RUN_DIR/tenant-good.json" >/dev/null
cat "$MLC_RUN_DIR/ping-bad.txt"
[ $rc -ne 0 ] || fail "ping with a wrong client secret exited 0"
grep -q "^erp token *FAILED: .*401" "$MLC_RUN_DIR/ping-bad.txt" || fail "ping does not name the failing erp token check"
grep -q "^asana token *ok" "$MLC_RUN_DIR/ping-bad.txt" || fail "the asana checks should still pass"
"$MLC" ping demo >/dev/null || fail "ping fails after the tenant was restored"
ok "ping: all checks pass on 3 tenants; a wrong secret fails 'erp token' (exit $rc)"

# ---- webhooks -------------------------------------------------------------------------------
hook_stored() { [ -n "$("${R[@]}" HGET 'mlc:{demo}:webhook' gid)" ]; }
wait_until 30 hook_stored
hook=$("${R[@]}" HGET 'mlc:{demo}:webhook' gid)
"$MLC" webhooks list demo | tee "$MLC_RUN_DIR/hooks.txt"
grep -q "webhook $hook on project $PROJECT" "$MLC_RUN_DIR/hooks.txt" || fail "list lacks the stored webhook"
grep -q "asana: $hook active (the stored one)" "$MLC_RUN_DIR/hooks.txt" || fail "list lacks Asana's view"
"$MLC" webhooks list --json | pyjson "
v = {x['tenant']: x for x in d}
assert set(v) == {'demo', 'demo-m3', 'demo-syteline'}, set(v)
assert v['demo']['in_asana'] and 'secret' not in v['demo']['stored'], v['demo']"
"$MLC" webhooks delete demo | tee "$MLC_RUN_DIR/hook-del.txt"
grep -q "watchdog registers a new one" "$MLC_RUN_DIR/hook-del.txt" || fail "delete does not warn about the watchdog"
[ -z "$("${R[@]}" HGET 'mlc:{demo}:webhook' gid)" ] || fail "delete left the gid in Redis"
n=$(curl -sf -H 'Authorization: Bearer demo-pat' \
  "$ASANA_URL/api/1.0/webhooks?workspace=1200000000000001&resource=$PROJECT" | pyjson "print(len(d['data']))")
[ "$n" -eq 0 ] || fail "Asana still has $n webhook(s) on the project"
"$MLC" webhooks register demo | tee "$MLC_RUN_DIR/hook-reg.txt"
new=$("${R[@]}" HGET 'mlc:{demo}:webhook' gid)
[ -n "$new" ] && [ "$new" != "$hook" ] || fail "register stored no new webhook"
grep -q "registered webhook $new" "$MLC_RUN_DIR/hook-reg.txt" || fail "register does not report $new"
"$MLC" webhooks register demo | grep -q "healthy" || fail "a second register should find it healthy"
ok "webhooks: list shows $hook, delete removes it in Asana and Redis, register makes $new"

# ---- sync --plan ----------------------------------------------------------------------------
wait_until 60 queues_empty demo
for k in 4711 4712 4800; do
  jpost "$IFS_URL/_sim/ifs/modify" "{\"set\":\"PurchaseOrderSet\",\"key\":\"$k\",\"changes\":{\"NetAmtCurr\":2222.25}}" >/dev/null
done
"$MLC" sync demo --plan
"$MLC" sync demo --plan --json > "$MLC_RUN_DIR/plan.json"
pyjson "
ups = sorted(e['ref'] for f in d['flows'] for e in f['update'])
assert ups == ['po:4711', 'po:4712', 'po:4800'], ups
assert d['creates'] == 0 and d['updates'] == 3, d
assert all(e['changes']['amount'][1] == '2222.25' for f in d['flows'] for e in f['update'])
print('ok: plan lists', ups)" < "$MLC_RUN_DIR/plan.json"
"${R[@]}" HGET 'mlc:{demo}:rec:po:4711' data | grep -q '"2222.25"' && fail "plan wrote the record"
jpost "$ASANA_URL/_sim/reset-stats" '{}' >/dev/null
"$MLC" sync demo --wait --timeout 60
writes=$(jget "$ASANA_URL/_sim/stats" "d['writes']")
[ "$writes" -eq 3 ] || fail "the sync after the plan made $writes Asana writes, the plan said 3"
"$MLC" sync demo --plan --json | pyjson "assert d['creates'] == 0 and d['updates'] == 0, d"
ok "sync --plan: exactly the 3 changed POs, and the real sync made exactly 3 Asana writes"

# ---- reconcile ------------------------------------------------------------------------------
"$MLC" reconcile demo || fail "reconcile reports drift on a synced tenant"
task=$("${R[@]}" HGET 'mlc:{demo}:taskmap' po:4712)
amount=$("${R[@]}" HGET "mlc:{demo}:asana:fields:$PROJECT" Amount | cut -d' ' -f1)
curl -sf -X PUT -H 'Authorization: Bearer demo-pat' -H 'Content-Type: application/json' \
  -d "{\"data\":{\"custom_fields\":{\"$amount\":1}}}" "$ASANA_URL/api/1.0/tasks/$task" >/dev/null
set +e
"$MLC" reconcile demo > "$MLC_RUN_DIR/rec.txt"; rc=$?
set -e
cat "$MLC_RUN_DIR/rec.txt"
[ $rc -eq 3 ] || fail "reconcile with drift exited $rc, want 3"
grep -q "drift *po:4712 *task $task: Amount: ERP 2222.25, Asana 1" "$MLC_RUN_DIR/rec.txt" || fail "reconcile does not report task $task"
"$MLC" reconcile demo --json > "$MLC_RUN_DIR/rec.json" || true
pyjson "
assert [x['ref'] for x in d['drift']] == ['po:4712'] and not d['no_task'] and not d['orphan_tasks'], d
assert d['drift'][0]['fields'] == [{'field': 'Amount', 'erp': '2222.25', 'asana': '1'}], d['drift']
assert d['records'] == 700 and d['tasks'] == 700, d" < "$MLC_RUN_DIR/rec.json"
"$MLC" reconcile demo --repair | tee "$MLC_RUN_DIR/repair.txt" || true
grep -q "queued 1 upsert_task job" "$MLC_RUN_DIR/repair.txt" || fail "--repair queued no job"
task_amount() { jget "$ASANA_URL/_sim/tasks?project=$PROJECT" "[t for t in d['data'] if t['gid']=='$task'][0]['custom_fields_by_gid']['$amount']"; }
amount_back() { case "$(task_amount)" in *2222.25*|*2,222.25*) return 0;; esac; return 1; }
wait_until 30 amount_back
"$MLC" reconcile demo || fail "drift left after --repair"
"$MLC" audit demo po:4712 | grep -q "reconcile.repair" || fail "the repair is not in the audit trail"
ok "reconcile: the changed Amount of task $task reported (exit 3), --repair put 2222.25 back"

out=$("$MLC" reconcile nosuch 2>&1) && fail "reconcile of an unknown tenant succeeded"
echo "$out" | grep -q "unknown tenant nosuch" || fail "unclear error: $out"
for c in audit ping webhooks reconcile; do "$MLC" $c --help | grep -q "usage: mlc $c" || fail "$c --help"; done
"$MLC" sync demo --plan --help | grep -q "usage: mlc sync TENANT --plan" || fail "sync --plan --help"
ok "clear errors and --help on every command"
"$MLC" down
