#!/usr/bin/env bash
# GET /metrics of the webhook gateway after a demo sync: the text parses with promtool (Debian's
# prometheus package, installed here when missing; SKIPPED when it cannot be) and the
# aggregate read from Redis matches what the simulators counted: tasks created == the
# simulated Asana's POST /tasks 201 answers, records synced == the records seeded in the
# simulated IFS, webhooks registered and handshakes == the simulator's, sync runs == the
# sync history. A full re-sync then moves exactly the counters it should.
source "$(dirname "$0")/lib.sh"

# promtool from Debian's prometheus package; sets PROMTOOL or prints why it is skipped.
PROMTOOL=$(command -v promtool || true)
if [ -z "$PROMTOOL" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \
      >/tmp/test_metrics.apt.log 2>&1 || true
    PROMTOOL=$(command -v promtool || true)
  fi
  [ -n "$PROMTOOL" ] || echo "SKIPPED: promtool check (apt-get install prometheus unavailable here: \
$( [ "$(id -u)" -eq 0 ] && echo "see /tmp/test_metrics.apt.log" || echo "not root" )); the Python parse below still runs"
fi

stack_env
OUT="$ROOT/tests/out/test_metrics"
mkdir -p "$OUT"
"$MLC" up --demo >/dev/null
wait_until 90 tasks_at_least 1200000000000101 700
wait_until 90 tasks_at_least 1200000000000102 400
wait_until 90 tasks_at_least 1200000000000103 300
wait_until 60 queues_empty demo demo-m3 demo-syteline
GW="http://127.0.0.1:$MLC_GW_PORT"
hooks_done() { [ "$(jget "$ASANA_URL/_sim/stats" "d['handshakes']")" -ge 3 ]; }
wait_until 30 hooks_done
sleep 1

# scrape N: the metrics into $OUT/metrics.N.txt and the simulators' counters beside them.
scrape() {
  curl -sf "$GW/metrics" -o "$OUT/metrics.$1.txt" || fail "GET /metrics failed"
  curl -sf "$ASANA_URL/_sim/stats" -o "$OUT/asana.$1.json"
  curl -sf "$IFS_URL/_sim/stats" -o "$OUT/ifs.$1.json"
  for t in demo demo-m3 demo-syteline; do
    for f in purchase_orders supplier_invoices; do
      key="mlc:{$t}:sync:$f:log"
      echo "$t $f $("${REDIS_CLI[@]}" --raw XRANGE "$key" - + | awk 'p=="records"{s+=$0} {p=$0} END{print s+0}') \
$("${REDIS_CLI[@]}" XLEN "$key") $("${REDIS_CLI[@]}" --raw XRANGE "$key" - + COUNT 1 | awk 'p=="records"{print} {p=$0}')"
    done
  done > "$OUT/synclog.$1.txt"
}

# check N: promtool, then the Python parse and the comparisons (assertions in check.py).
check() {
  if [ -n "$PROMTOOL" ]; then
    "$PROMTOOL" check metrics < "$OUT/metrics.$1.txt" > "$OUT/promtool.$1.txt" 2>&1 \
      || { cat "$OUT/promtool.$1.txt"; fail "promtool check metrics rejected scrape $1"; }
    ok "scrape $1: promtool check metrics passes"
  fi
  python3 - "$OUT" "$1" <<'PY' || fail "scrape $2 does not match the simulators"
import json, re, sys
out, n = sys.argv[1], sys.argv[2]
text = open(f"{out}/metrics.{n}.txt").read()
asana = json.load(open(f"{out}/asana.{n}.json"))
ifs = json.load(open(f"{out}/ifs.{n}.json"))
synclog = {}
for line in open(f"{out}/synclog.{n}.txt"):
    t, f, recs, runs, first_run = (line.split() + ["0"])[:5]
    synclog[(t, f)] = (int(recs), int(runs), int(first_run))

# A strict reader of the text format: every sample belongs to a family declared by HELP and
# TYPE before it, families are contiguous, label values are quoted.
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
samples, types, seen_done, current = {}, {}, set(), None
for ln in text.splitlines():
    if ln.startswith("# HELP "):
        name = ln.split()[2]
        assert name not in seen_done and name not in types, f"family {name} split or repeated"
        if current: seen_done.add(current)
        current = name
        continue
    if ln.startswith("# TYPE "):
        _, _, name, typ = ln.split()
        assert name == current, ln
        types[name] = typ
        continue
    m = LINE.match(ln)
    assert m, f"unparsable line: {ln!r}"
    name, labels = m.group(1), {}
    if m.group(3):
        pos = 0
        for lm in LABEL.finditer(m.group(3)):
            assert lm.start() == pos, f"bad labels: {ln!r}"
            labels[lm.group(1)] = lm.group(2); pos = lm.end()
        assert pos == len(m.group(3)), f"bad labels: {ln!r}"
    base = re.sub(r'_(bucket|sum|count)$', '', name) if types.get(current) == "histogram" else name
    assert base == current, f"sample {name} outside its family {current}"
    samples[(name, tuple(sorted(labels.items())))] = float(m.group(4))

def get(name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))
def total(name, **labels):
    return sum(v for (nm, ls), v in samples.items()
               if nm == name and all(dict(ls).get(k) == w for k, w in labels.items()))

tenants = ("demo", "demo-m3", "demo-syteline")
assert get("mlc_redis_up") == 1
created = asana["requests"].get("POST /tasks 201", 0)
assert total("mlc_tasks_created_total") == created, (total("mlc_tasks_created_total"), created)
print(f"ok: tasks created {created:.0f} == simulated Asana's POST /tasks 201")
assert total("mlc_tasks_mapped") == created
hooks = asana["requests"].get("POST /webhooks 201", 0)
assert total("mlc_webhook_registrations_total") == hooks == 3, (total("mlc_webhook_registrations_total"), hooks)
assert total("mlc_webhook_deliveries_total", outcome="handshake_accepted") == asana["handshakes"]
for t in tenants:
    assert get("mlc_webhook_health", tenant=t, health="healthy") == 1, t
print(f"ok: {hooks} webhooks registered, {asana['handshakes']} handshakes, every webhook healthy")
seeded = ifs["entities"]["PurchaseOrderSet"] + ifs["entities"]["ManSuppInvoiceSet"]
runs_demo = sum(synclog[("demo", f)][0] for f in ("purchase_orders", "supplier_invoices"))
assert get("mlc_records_synced_total", tenant="demo") == runs_demo, (get("mlc_records_synced_total", tenant="demo"), runs_demo)
# The first run of each flow read every seeded record (later scheduled runs read the overlap).
first_runs = sum(synclog[("demo", f)][2] for f in ("purchase_orders", "supplier_invoices"))
assert first_runs == seeded == 700, (first_runs, seeded)
assert get("mlc_records_changed_total", tenant="demo") == 700
assert get("mlc_tasks_updated_total", tenant="demo") == 0
print(f"ok: demo records synced {runs_demo:.0f} == the sync history; its first runs read the {seeded} records seeded in IFS")
for (t, f), (recs, runs, _) in synclog.items():
    if runs == 0:
        continue
    assert get("mlc_sync_duration_seconds_count", tenant=t, flow=f) == runs, (t, f, runs)
    assert get("mlc_sync_duration_seconds_bucket", tenant=t, flow=f, le="+Inf") == runs
    assert get("mlc_sync_last_ok", tenant=t, flow=f) == 1, (t, f)
    assert get("mlc_sync_last_finished_timestamp_seconds", tenant=t, flow=f) > 1.7e9
print("ok: sync duration histogram counts == runs in the sync history, last runs ok")
for t in tenants:
    for s in ("queued", "running", "retry", "dead"):
        assert get("mlc_jobs", tenant=t, state=s) == 0, (t, s)
    assert get("mlc_jobs_dead_total", tenant=t) == 0
assert get("mlc_workers_alive", service="poll") >= 1 and get("mlc_workers_alive", service="write") >= 1
assert get("mlc_webhook_request_seconds_count") >= 3
assert types["mlc_sync_duration_seconds"] == "histogram" and types["mlc_tasks_created_total"] == "counter"
print(f"ok: scrape {n}: {len(samples)} samples in {len(types)} families, queues empty, workers alive")
PY
}

scrape 1
check 1

# A full re-sync of unchanged data: records synced grows by 700, no task is written.
"$MLC" sync demo --full --wait --timeout 60 >/dev/null
wait_until 60 queues_empty demo
scrape 2
check 2
python3 - "$OUT" <<'PY' || fail "the re-sync moved the wrong counters"
import re, sys
def read(n):
    d = {}
    for ln in open(f"{sys.argv[1]}/metrics.{n}.txt"):
        m = re.match(r'^(\S+?) (\S+)$', ln.strip())
        if m and not ln.startswith("#"):
            d[m.group(1)] = float(m.group(2))
    return d
a, b = read(1), read(2)
k = lambda n: f'{n}{{tenant="demo"}}'
assert b[k("mlc_records_synced_total")] - a[k("mlc_records_synced_total")] >= 700
assert b[k("mlc_tasks_created_total")] == a[k("mlc_tasks_created_total")]
assert b[k("mlc_tasks_updated_total")] == a[k("mlc_tasks_updated_total")]
h = 'mlc_sync_duration_seconds_count{tenant="demo",flow="purchase_orders"}'
assert b[h] >= a[h] + 1, (a[h], b[h])
print(f"ok: full re-sync: records synced +{b[k('mlc_records_synced_total')] - a[k('mlc_records_synced_total')]:.0f} "
      "(== the sync history, checked above), tasks created/updated unchanged, the run timed")
PY
# The shipped Grafana dashboard and scrape config: every query is valid PromQL (promtool) and
# names only metrics the scrape has.
python3 - "$ROOT/deploy/grafana/ml-connector.json" "$OUT" <<'PY' || fail "the Grafana dashboard queries unknown metrics"
import json, re, sys
dash, out = json.load(open(sys.argv[1])), sys.argv[2]
names = {re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)', l).group(1) for l in open(f"{out}/metrics.2.txt") if l[0] != "#"}
exprs = [t["expr"].replace("$tenant", ".*") for p in dash["panels"] for t in p["targets"]]
with open(f"{out}/dashboard_rules.yml", "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, e in enumerate(exprs):
        f.write(f"      - record: dashboard:q{i}\n        expr: {json.dumps(e)}\n")
used = {m for e in exprs for m in re.findall(r'\bmlc_[a-z_]+', e)}
missing = {m for m in used if m not in names}
assert not missing, f"dashboard uses metrics the scrape lacks: {missing}"
print(f"ok: dashboard: {len(dash['panels'])} panels, {len(exprs)} queries over {len(used)} metrics, all scraped")
PY
if [ -n "$PROMTOOL" ]; then
  "$PROMTOOL" check rules "$OUT/dashboard_rules.yml" >/dev/null || fail "a dashboard query is not valid PromQL"
  "$PROMTOOL" check config "$ROOT/deploy/prometheus.yml" >/dev/null || fail "deploy/prometheus.yml is invalid"
  ok "dashboard queries parse (promtool check rules); deploy/prometheus.yml is valid"
fi
# Redis gone: the gateway still answers, with its own counters and mlc_redis_up 0.
kill -9 "$(pid_of redis)"
curl -sf "$GW/metrics" -o "$OUT/metrics.noredis.txt" || fail "GET /metrics without Redis failed"
grep -qx "mlc_redis_up 0" "$OUT/metrics.noredis.txt" || fail "no 'mlc_redis_up 0' without Redis"
grep -q "^mlc_webhook_request_seconds_count " "$OUT/metrics.noredis.txt" || fail "own counters missing without Redis"
! grep -q "^mlc_jobs{" "$OUT/metrics.noredis.txt" || fail "aggregate series exposed without Redis"
[ -z "$PROMTOOL" ] || "$PROMTOOL" check metrics < "$OUT/metrics.noredis.txt" || fail "promtool rejects the scrape without Redis"
ok "Redis down: /metrics answers with the gateway's own counters and mlc_redis_up 0"
echo "metrics scrapes kept in tests/out/test_metrics/"
