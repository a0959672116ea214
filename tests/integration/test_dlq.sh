#!/usr/bin/env bash
# Poison records and the dead-letter queue, as an operator meets them: the simulated Asana
# refuses one supplier's enum option with a 400 (reject_enum_option_names). A sync then writes
# every other record, while each record of that supplier ends dead in `mlc dlq list` with
# Asana's message, after one attempt (a 4xx validation error is permanent) and with the
# max_attempts configured by MLC_MAX_ATTEMPTS_UPSERT_TASK. With the knob off, `mlc dlq replay
# demo --all` brings all 700 tasks and an empty DLQ. The same knob on an option that exists
# kills a task update (PUT), which `mlc dlq replay demo ID` replays alone. `mlc jobs` shows
# the states on the way; unknown tenants and ids are clear errors.
source "$(dirname "$0")/lib.sh"
stack_env
PROJECT=1200000000000101
export MLC_MAX_ATTEMPTS_UPSERT_TASK=2

"$MLC" up --demo --no-sync >/dev/null
# Only this test's syncs run: a scheduled poll would race the checks below.
python3 - "$ROOT/deploy/demo/tenant-ifs.json" "$IFS_URL" "$ASANA_URL" > "$MLC_RUN_DIR/tenant.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
for k in ("base_url", "token_url"):
    t["erp"][k] = t["erp"][k].replace("http://127.0.0.1:18081", sys.argv[2])
t["asana"]["base_url"] = sys.argv[3] + "/api/1.0"
t["flows"] = [{"name": f, "schedule": "weekly on sun at 03:00"}
              for f in ("purchase_orders", "supplier_invoices")]
print(json.dumps(t))
PY
"$MLC" tenant add "$MLC_RUN_DIR/tenant.json" >/dev/null

# The poison: the supplier of PO 4711, as the connector names its option "Name (ID)".
read -r SUP_ID SUP_LABEL < <(jget "$IFS_URL/_sim/ifs/entity?set=PurchaseOrderSet&key=4711" \
  "(lambda e: e['VendorNo'] + ' ' + e['VendorName'] + ' (' + e['VendorNo'] + ')')(d.get('entity', d))")
jpost "$ASANA_URL/_sim/config" "{\"reject_enum_option_names\":[\"$SUP_LABEL\"]}" >/dev/null
[ "$(task_count $PROJECT)" -eq 0 ] || fail "tasks exist before the first sync"

start=$SECONDS
"$MLC" sync demo --wait --timeout 120 > "$MLC_RUN_DIR/sync1.txt" && fail "sync with poison records reported no failure"
grep -q "with failures" "$MLC_RUN_DIR/sync1.txt" || fail "sync did not finish: $(cat "$MLC_RUN_DIR/sync1.txt")"
wait_until 30 queues_empty demo
echo "sync with poison supplier $SUP_LABEL finished after $((SECONDS - start)) s"

# The records of that supplier, as the poller stored them.
"${REDIS_CLI[@]}" --scan --pattern 'mlc:{demo}:rec:*' > "$MLC_RUN_DIR/recs.txt"
sed 's/^/HGET /; s/$/ data/' "$MLC_RUN_DIR/recs.txt" | "${REDIS_CLI[@]}" --raw > "$MLC_RUN_DIR/data.txt"
"${REDIS_CLI[@]}" --raw HKEYS 'mlc:{demo}:taskmap' > "$MLC_RUN_DIR/mapped.txt"
"$MLC" dlq list demo --json > "$MLC_RUN_DIR/dlq.json"
"$MLC" jobs demo --json --limit 1000 > "$MLC_RUN_DIR/jobs.json"
POISONED=$(python3 - "$MLC_RUN_DIR" "$SUP_ID" "$(task_count $PROJECT)" <<'PY'
import json, sys, os
d, sup, tasks = sys.argv[1], sys.argv[2], int(sys.argv[3])
recs = [json.loads(l) for l in open(os.path.join(d, "data.txt")) if l.strip()]
assert len(recs) == 700, len(recs)
poisoned = {f"{r['kind']}:{r['erp_key']}" for r in recs if r.get("supplier_id") == sup}
assert poisoned, "the supplier has no records"
dlq = json.load(open(os.path.join(d, "dlq.json")))
assert dlq["count"] == len(dlq["jobs"])
upserts = [j for j in dlq["jobs"] if j["type"] == "upsert_task"]
others = [j for j in dlq["jobs"] if j["type"] != "upsert_task"]
# The enum seed job stops at the same option; nothing else may be dead.
assert all(j["type"] == "seed_enums" for j in others), others
assert {j["ref"] for j in upserts} == poisoned, (sorted(poisoned), sorted(j["ref"] for j in upserts))
for j in dlq["jobs"]:
    assert j["state"] == "dead" and j["tenant"] == "demo" and j["died_ms"] > 0, j
    assert "400" in j["error"] and "refused (simulated failure" in j["error"], j["error"]
for j in upserts:
    # permanent: dead after its first attempt, not after the configured 2
    assert j["attempt"] == 1 and j["max_attempts"] == 2, j
mapped = {l.strip() for l in open(os.path.join(d, "mapped.txt")) if l.strip()}
all_refs = {f"{r['kind']}:{r['erp_key']}" for r in recs}
assert mapped == all_refs - poisoned, (len(mapped), len(all_refs - poisoned))
assert tasks == 700 - len(poisoned), (tasks, len(poisoned))
jobs = json.load(open(os.path.join(d, "jobs.json")))
c = jobs["counts"]["demo"]
assert c["dead"] == dlq["count"] and c["queued"] == c["running"] == c["retry"] == 0, c
assert c["done"] == sum(1 for j in jobs["jobs"] if j["state"] == "done"), c
written = [j for j in jobs["jobs"] if j["type"] == "upsert_task" and j["state"] == "done"]
assert len(written) == 700 - len(poisoned), len(written)
assert all(j["max_attempts"] == 2 for j in jobs["jobs"] if j["type"] == "upsert_task")
print(len(poisoned))
PY
) || fail "dead letters do not match the poisoned supplier's records"
ok "$POISONED records of $SUP_ID dead after 1 attempt with Asana's 400 as reason; the other $((700 - POISONED)) have their task"

# The operator's views name the reason.
# (outputs go to files first: grep -q closing a pipe early would fail it under pipefail)
"$MLC" dlq list demo > "$MLC_RUN_DIR/out.txt"
grep -q "refused (simulated failure" "$MLC_RUN_DIR/out.txt" || fail "mlc dlq list shows no reason"
"$MLC" jobs demo --state dead --type upsert_task > "$MLC_RUN_DIR/out.txt"
grep -q "upsert_task .*dead *1/2 *died" "$MLC_RUN_DIR/out.txt" \
  || fail "mlc jobs --state dead shows no dead upsert job: $(cat "$MLC_RUN_DIR/out.txt")"
DEAD_ID=$(python3 -c "import json; print([j['id'] for j in json.load(open('$MLC_RUN_DIR/dlq.json'))['jobs'] if j['type'] == 'upsert_task'][0])")
"$MLC" jobs show demo "$DEAD_ID" > "$MLC_RUN_DIR/out.txt"
grep -q "^error .*refused" "$MLC_RUN_DIR/out.txt" || fail "mlc jobs show has no error field"
"$MLC" jobs show demo "$DEAD_ID" --json | python3 -c "
import json, sys; j = json.load(sys.stdin)
assert j['state'] == 'dead' and j['service'] == 'write' and j['parent'].startswith('poll:'), j"
ok "mlc jobs / jobs show / dlq list report the dead jobs and their reason"

# Clear errors.
"$MLC" dlq replay nosuch --all 2>"$MLC_RUN_DIR/err.txt" && fail "replay of an unknown tenant succeeded"
grep -q "unknown tenant nosuch" "$MLC_RUN_DIR/err.txt" || fail "unclear error: $(cat "$MLC_RUN_DIR/err.txt")"
"$MLC" dlq replay demo write:nope 2>"$MLC_RUN_DIR/err.txt" && fail "replay of an unknown job succeeded"
grep -q "has no job write:nope" "$MLC_RUN_DIR/err.txt" || fail "unclear error: $(cat "$MLC_RUN_DIR/err.txt")"
DONE_ID=$(python3 -c "import json; print([j['id'] for j in json.load(open('$MLC_RUN_DIR/jobs.json'))['jobs'] if j['state'] == 'done'][0])")
"$MLC" dlq replay demo "$DONE_ID" 2>"$MLC_RUN_DIR/err.txt" && fail "replay of a done job succeeded"
grep -q "is done, not dead" "$MLC_RUN_DIR/err.txt" || fail "unclear error: $(cat "$MLC_RUN_DIR/err.txt")"
"$MLC" jobs show demo write:nope 2>/dev/null && fail "jobs show of an unknown job succeeded"
"$MLC" jobs nosuch 2>/dev/null && fail "jobs of an unknown tenant succeeded"
rc=0; "$MLC" dlq replay demo 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "replay without ID or --all is not a usage error (exit $rc)"
ok "unknown tenant, unknown job, a job that is not dead: clear errors"

# A later poll does not bring a permanently dead job back (only the operator does).
"$MLC" sync demo --full --wait --timeout 60 >/dev/null || true
wait_until 30 queues_empty demo
[ "$("${REDIS_CLI[@]}" ZCARD 'mlc:{demo}:dlq')" -eq "$(python3 -c "import json; print(json.load(open('$MLC_RUN_DIR/dlq.json'))['count'])")" ] \
  || fail "a re-poll changed the dead-letter set"
ok "a full re-poll leaves the permanently dead jobs dead"

# The cause fixed, every dead job gets its full tries again and every task is written.
jpost "$ASANA_URL/_sim/config" '{"reject_enum_option_names":[]}' >/dev/null
DEAD=$(python3 -c "import json; print(json.load(open('$MLC_RUN_DIR/dlq.json'))['count'])")
"$MLC" dlq replay demo --all > "$MLC_RUN_DIR/out.txt"
grep -q "^replayed $DEAD dead jobs of demo" "$MLC_RUN_DIR/out.txt" \
  || fail "replay did not report $DEAD jobs: $(cat "$MLC_RUN_DIR/out.txt")"
wait_until 60 tasks_at_least $PROJECT 700
wait_until 30 queues_empty demo
[ "$(task_count $PROJECT)" -eq 700 ] || fail "expected 700 tasks, got $(task_count $PROJECT)"
[ "$("${REDIS_CLI[@]}" ZCARD 'mlc:{demo}:dlq')" -eq 0 ] || fail "DLQ not empty after the replay"
"$MLC" dlq list demo --json | python3 -c "import json,sys; assert json.load(sys.stdin)['count'] == 0"
n=$(jget "$ASANA_URL/_sim/tasks?project=$PROJECT" "sum(1 for t in d['data'] if t['name'].endswith('($SUP_ID)'))")
[ "$n" -eq "$POISONED" ] || fail "$n tasks of $SUP_ID after the replay, want $POISONED"
"$MLC" jobs show demo "$DEAD_ID" --json | python3 -c "
import json, sys; j = json.load(sys.stdin)
assert j['state'] == 'done' and j['attempt'] == 1 and 'error' not in j, j"
ok "knob off, dlq replay --all: 700 tasks, DLQ empty, replayed jobs done on their first new attempt"

# The poison on an option that exists: the task update (PUT) is refused; one job replayed by id.
jpost "$ASANA_URL/_sim/config" "{\"reject_enum_option_names\":[\"$SUP_LABEL\"]}" >/dev/null
jpost "$IFS_URL/_sim/ifs/modify" '{"set":"PurchaseOrderSet","key":"4711","changes":{"NetAmtCurr":4711.5}}' >/dev/null
"$MLC" sync demo --wait --timeout 60 >/dev/null && fail "the poisoned update did not fail"
"$MLC" dlq list demo --json > "$MLC_RUN_DIR/dlq2.json"
ID=$(python3 - "$MLC_RUN_DIR/dlq2.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["count"] == 1, d
j = d["jobs"][0]
assert j["ref"] == "po:4711" and j["attempt"] == 1 and "custom_fields" in j["error"], j
print(j["id"])
PY
) || fail "the refused update is not the one dead job"
jpost "$ASANA_URL/_sim/config" '{"reject_enum_option_names":[]}' >/dev/null
"$MLC" dlq replay demo "$ID" > "$MLC_RUN_DIR/out.txt"
grep -q "^replayed 1 dead job of demo" "$MLC_RUN_DIR/out.txt" || fail "single replay not reported"
gid=$("${REDIS_CLI[@]}" HGET 'mlc:{demo}:taskmap' po:4711)
amount_is() { case "$(jget "$ASANA_URL/_sim/tasks?project=$PROJECT" "[t for t in d['data'] if t['gid']=='$gid'][0]['custom_fields']['Amount']")" in *4711.5*) ;; *) return 1;; esac; }
wait_until 30 amount_is
wait_until 30 queues_empty demo
[ "$("${REDIS_CLI[@]}" ZCARD 'mlc:{demo}:dlq')" -eq 0 ] || fail "DLQ not empty after replaying $ID"
[ "$(task_count $PROJECT)" -eq 700 ] || fail "the replayed update created a task"
ok "poisoned update of po:4711 dead with the PUT's 400; replayed by id, task updated"

# A write that ran out of tries on transient failures (Asana answering 503) is not lost: the
# next poll finds its content never reached Asana and sends it again.
jpost "$IFS_URL/_sim/ifs/modify" '{"set":"PurchaseOrderSet","key":"4712","changes":{"NetAmtCurr":4242.5}}' >/dev/null
jpost "$ASANA_URL/_sim/config" '{"fail_5xx_pct":100}' >/dev/null
"$MLC" sync demo --wait --timeout 120 >/dev/null || true
wait_until 60 queues_empty demo
[ "$("${REDIS_CLI[@]}" ZCARD 'mlc:{demo}:dlq')" -ge 1 ] || fail "the 503s did not kill the write of po:4712"
jpost "$ASANA_URL/_sim/config" '{"fail_5xx_pct":0}' >/dev/null
"$MLC" sync demo --wait --timeout 60 >/dev/null
wait_until 30 queues_empty demo
amount=$(curl -sf "$ASANA_URL/_sim/tasks?project=$PROJECT" | python3 -c "
import json, sys
t = [t for t in json.load(sys.stdin)['data'] if t['custom_fields'].get('ERP Key') == 'demo:po:4712'][0]
print(t['custom_fields'].get('Amount'))")
python3 -c "import sys; sys.exit(0 if abs(float('$amount') - 4242.5) < 1e-6 else 1)" \
  || fail "po:4712 shows Amount $amount after the faults ended, want 4242.5"
ok "a write dead after its tries on 503s is sent again by the next poll"
"$MLC" down >/dev/null
