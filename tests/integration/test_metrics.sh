#!/usr/bin/env bash
# GET /metrics of the webhook gateway after a demo sync: the text parses with promtool (Debian's
# prometheus package, installed here when missing; SKIPPED when it cannot be) and the
# aggregate read from Redis matches what the simulators counted: tasks created == the
# simulated Asana's POST /tasks 201 answers, records synced == the records seeded in the
# simulated IFS, webhooks registered and handshakes == the simulator's, sync runs == the
# sync history. A full re-sync then moves exactly the counters it should. After a window of
# injected 429s and with the stack frozen (scheduler stopped, queues empty, counters
# flushed), Asana and ERP requests by status, 429s and token fetches equal the simulators'
# request counters exactly.
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
# Requests by status, 429s and token fetches against the simulators' own request counters.
# First a 429 window: every API request of the simulated Asana, IFS and ION answers 429
# while syncs, a reconcile (Asana reads) and pings (token, ERP row, Asana user and project)
# run, through the workers and through the CLI, which flushes its counts at exit; the syncs'
# jobs retry and finish once the window is over.
for url in "$ASANA_URL" "$IFS_URL" "$ION_URL"; do
  jpost "$url/_sim/config" '{"fail_429_pct":100}' >/dev/null || fail "cannot turn on 429s at $url"
done
"$MLC" sync demo --full >/dev/null
"$MLC" sync demo-m3 --full >/dev/null
"$MLC" reconcile demo >/dev/null 2>&1 || true   # fails on its 429s: what we want counted
"$MLC" ping demo >/dev/null 2>&1 || true
"$MLC" ping demo-m3 >/dev/null 2>&1 || true
sleep 2
for url in "$ASANA_URL" "$IFS_URL" "$ION_URL"; do
  jpost "$url/_sim/config" '{"fail_429_pct":0}' >/dev/null || fail "cannot turn off 429s at $url"
done
wait_until 120 queues_empty demo demo-m3 demo-syteline
# Freeze: no scheduler, so no scheduled poll, retry, watchdog or reconciliation tick; then
# every worker's second heartbeat after the queues were seen empty (a worker flushes its
# counters right before writing its heartbeat: the second one's flush began after that).
SCHED=$(pid_of scheduler)
kill -TERM "$SCHED"
sched_gone() { ! kill -0 "$SCHED" 2>/dev/null; }
wait_until 30 sched_gone
wait_until 60 queues_empty demo demo-m3 demo-syteline
# beat_after MS: every worker's heartbeat (K_WORKERS last_seen_ms) is newer than MS; prints the newest.
beat_after() {
  "${REDIS_CLI[@]}" --raw HVALS mlc:workers | python3 -c "
import json, sys
seen = [json.loads(l)['last_seen_ms'] for l in sys.stdin if l.strip()]
print(max(seen) if seen else 0); sys.exit(0 if len(seen) >= 2 and min(seen) > $1 else 1)"
}
beat_after_quiet() { beat_after "$1" >/dev/null; }
T1=$(python3 -c 'import time; print(int(time.time() * 1000))')
wait_until 10 beat_after_quiet "$T1"
T2=$(beat_after "$T1")
wait_until 10 beat_after_quiet "$T2"
# sim_stats SUFFIX: each simulator's /_sim/stats into $OUT/<sim>.SUFFIX.json.
sim_stats() {
  local sim url
  for sim in asana ifs ion; do
    case $sim in asana) url=$ASANA_URL ;; ifs) url=$IFS_URL ;; ion) url=$ION_URL ;; esac
    curl -sf "$url/_sim/stats" -o "$OUT/$sim.$1.json" || fail "GET $url/_sim/stats failed"
  done
}
sim_stats freeze
curl -sf "$GW/metrics" -o "$OUT/metrics.freeze.txt" || fail "GET /metrics failed"
sim_stats after
[ -z "$PROMTOOL" ] || "$PROMTOOL" check metrics < "$OUT/metrics.freeze.txt" || fail "promtool rejects the frozen scrape"
python3 - "$OUT" <<'PY' || fail "request counters do not match the simulators'"
import json, re, sys
from collections import Counter
out = sys.argv[1]
sims = {s: json.load(open(f"{out}/{s}.freeze.json")) for s in ("asana", "ifs", "ion")}
for s in sims:   # the stack was frozen: nothing reached a simulator while we scraped
    assert sims[s]["requests"] == json.load(open(f"{out}/{s}.after.json"))["requests"], f"{s} moved"
samples = {}
for ln in open(f"{out}/metrics.freeze.txt"):
    m = re.match(r'^(mlc_[a-z_]+)\{(.*)\} (\S+)$', ln.strip())
    if m:
        samples[(m.group(1), tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(2)))))] = float(m.group(3))
def by(name, label, **only):
    c = Counter()
    for (nm, ls), v in samples.items():
        d = dict(ls)
        if nm == name and all(d.get(k) == w for k, w in only.items()):
            c[d[label]] += int(v)
    return +c
# Simulator keys are "<METHOD> <route> <status>"; /_sim/ control requests are not counted by
# the simulators (and excluded here should one be). Token routes are the token endpoints.
def sim_requests(sim, keep):
    c = Counter()
    for k, n in sims[sim]["requests"].items():
        method, route, status = k.split(" ")[0], " ".join(k.split(" ")[1:-1]), k.split(" ")[-1]
        if not route.startswith("/_sim") and keep(route):
            c[status] += n
    return +c
asana_sim = sim_requests("asana", lambda r: True)
erp_sim = sim_requests("ifs", lambda r: r != "token") + sim_requests("ion", lambda r: r != "token")
asana_ours, erp_ours = by("mlc_asana_requests_total", "status"), by("mlc_erp_requests_total", "status")
# Status 0 (no answer) never reached a simulator: there must be none to account for.
assert "0" not in asana_ours and "0" not in erp_ours, (asana_ours, erp_ours)
assert asana_ours == asana_sim, f"asana by status: ours {dict(asana_ours)} != simulator {dict(asana_sim)}"
print(f"ok: Asana requests by status == the simulated Asana's: {dict(sorted(asana_sim.items()))}")
assert erp_ours == erp_sim, f"erp by status: ours {dict(erp_ours)} != IFS + ION {dict(erp_sim)}"
print(f"ok: ERP requests by status == simulated IFS + ION (token endpoints aside): {dict(sorted(erp_sim.items()))}")
tokens = by("mlc_token_fetches_total", "system")
tok_sim = {"ifs": sum(sim_requests("ifs", lambda r: r == "token").values()),
           "ion": sum(sim_requests("ion", lambda r: r == "token").values())}
assert dict(tokens) == {k: v for k, v in tok_sim.items() if v}, (dict(tokens), tok_sim)
assert tok_sim["ifs"] >= 2 and tok_sim["ion"] >= 3, tok_sim   # workers + `mlc ping`
print(f"ok: token fetches == the simulators' token endpoint requests: {tok_sim}")
# Per tenant where the simulator tells requesters apart: ION by tenant (tokens included).
for tenant, ti in (("demo-m3", "DEMO_TST"), ("demo-syteline", "DEMO_CSI")):
    ours = sum(by("mlc_erp_requests_total", "status", tenant=tenant).values()) + \
           sum(by("mlc_token_fetches_total", "system", tenant=tenant).values())
    assert ours == sims["ion"]["tenants"][ti]["requests"], (tenant, ours, sims["ion"]["tenants"][ti])
    print(f"ok: {tenant}: ERP requests + token fetches {ours} == ION's count for {ti}")
assert sum(by("mlc_erp_requests_total", "status", tenant="demo").values()) == sum(sim_requests("ifs", lambda r: r != "token").values())
# The 429 window: rate limited == the status 429 samples == what the simulators answered 429.
limited = by("mlc_rate_limited_total", "system")
sim_429 = {"asana": sims["asana"]["rate_limited"], "erp": erp_sim["429"]}
assert sims["asana"]["rate_limited"] == asana_sim["429"] > 0, (sims["asana"]["rate_limited"], asana_sim)
assert sim_429["erp"] > 0 and sims["ifs"]["faults_injected"] + sims["ion"]["faults_injected"] >= sim_429["erp"], sims
assert dict(limited) == sim_429 == {"asana": asana_ours["429"], "erp": erp_ours["429"]}, (dict(limited), sim_429)
print(f"ok: 429 window: mlc_rate_limited_total {dict(limited)} == the simulators' 429 answers")
PY

# Redis gone: the gateway still answers, with its own counters and mlc_redis_up 0.
kill -9 "$(pid_of redis)"
curl -sf "$GW/metrics" -o "$OUT/metrics.noredis.txt" || fail "GET /metrics without Redis failed"
grep -qx "mlc_redis_up 0" "$OUT/metrics.noredis.txt" || fail "no 'mlc_redis_up 0' without Redis"
grep -q "^mlc_webhook_request_seconds_count " "$OUT/metrics.noredis.txt" || fail "own counters missing without Redis"
! grep -q "^mlc_jobs{" "$OUT/metrics.noredis.txt" || fail "aggregate series exposed without Redis"
[ -z "$PROMTOOL" ] || "$PROMTOOL" check metrics < "$OUT/metrics.noredis.txt" || fail "promtool rejects the scrape without Redis"
ok "Redis down: /metrics answers with the gateway's own counters and mlc_redis_up 0"
echo "metrics scrapes kept in tests/out/test_metrics/"
