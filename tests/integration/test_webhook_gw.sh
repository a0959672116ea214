#!/usr/bin/env bash
# mlc-webhook-gw against a real stack (`mlc up --demo --no-sync`): the handshake is accepted
# only while a registration is in flight and a refused one leaves the stored secret alone;
# unsigned or wrongly signed deliveries are all refused and record nothing; a signed delivery
# sent five times (and twenty times concurrently) is recorded once, with one job; events for
# unknown tasks are recorded without a job; heartbeat, 413, 400, 404 and /metrics; concurrent
# distinct events are each recorded once; after a new handshake every gateway thread accepts
# the new secret and refuses the old one (the threads cache the secret).
source "$(dirname "$0")/lib.sh"
stack_env
# This test plays Asana itself: no webhook registration by the writer (its handshake would
# count among the ones checked here).
export MLC_WEBHOOK_WATCHDOG_S=0
# Gateway threads keep a tenant's secret this long: long enough that the secret rotation
# below is served from the caches (the stored secret is re-checked when recording).
export MLC_GW_TENANT_CACHE_MS=60000
"$MLC" up --demo --no-sync >/dev/null
GW="http://127.0.0.1:$MLC_GW_PORT"
wait_until 20 curl -sf "$GW/healthz" -o /dev/null
T=demo
R() { "${REDIS_CLI[@]}" "$@"; }
HOOK="mlc:{$T}:webhook"
export GW T MLC_REDIS_PORT

# Sends requests described on stdin (one JSON per line: {secret?, body, sign?, raw_sig?,
# handshake?, path?}) over one keep-alive connection; prints "status hook-secret-echo" per line.
send() {
  python3 -c '
import hashlib, hmac, http.client, json, os, sys
c = http.client.HTTPConnection("127.0.0.1", int(os.environ["MLC_GW_PORT"]), timeout=10)
for line in sys.stdin:
    q = json.loads(line)
    body = q.get("body", "").encode()
    h = {"Content-Type": "application/json"}
    if "handshake" in q: h["X-Hook-Secret"] = q["handshake"]
    if "sign" in q: h["X-Hook-Signature"] = hmac.new(q["sign"].encode(), body, hashlib.sha256).hexdigest()
    if "raw_sig" in q: h["X-Hook-Signature"] = q["raw_sig"]
    c.request("POST", q.get("path", "/webhooks/" + os.environ["T"]), body=body, headers=h)
    r = c.getresponse(); r.read()
    print(r.status, r.getheader("X-Hook-Secret") or "-")
    if r.getheader("Connection", "").lower() == "close":
        c.close(); c = http.client.HTTPConnection("127.0.0.1", int(os.environ["MLC_GW_PORT"]), timeout=10)
'
}
one() { echo "$1" | send; }
audits() { R XRANGE "mlc:{$T}:audit" - + | grep -c "^$1\$" || true; }
evt_jobs() { R --scan --pattern "mlc:{$T}:job:evt:*" | wc -l; }

# Unknown tenant and unknown paths.
[ "$(one '{"path":"/webhooks/nosuch","body":"{\"events\":[]}"}')" = "404 -" ] || fail "unknown tenant not 404"
[ "$(one '{"path":"/webhooks/bad%2Fid","body":"{}"}')" = "404 -" ] || fail "bad tenant id not 404"
ok "unknown tenant -> 404"

# Handshake without a registration in flight: refused, nothing stored.
[ "$(one '{"handshake":"s3cr3t-A"}')" = "403 -" ] || fail "handshake without pending not 403"
[ -z "$(R HGET "$HOOK" secret)" ] || fail "secret stored by a refused handshake"
# With the pending key: accepted, echoed, stored sealed.
R SET "mlc:{$T}:webhook:pending" 1200000000000101 EX 60 >/dev/null
[ "$(one '{"handshake":""}')" = "403 -" ] || fail "empty X-Hook-Secret not refused"
[ "$(one '{"handshake":"s3cr3t-A"}')" = "200 s3cr3t-A" ] || fail "handshake with pending not accepted"
sealed=$(R HGET "$HOOK" secret)
case "$sealed" in v1:*) ;; *) fail "secret not sealed: $sealed" ;; esac
[ -n "$(R HGET "$HOOK" handshake_at)" ] || fail "handshake_at missing"
# Registration over: a new secret is refused and the stored one stays.
R DEL "mlc:{$T}:webhook:pending" >/dev/null
[ "$(one '{"handshake":"attacker"}')" = "403 -" ] || fail "late handshake not refused"
[ "$(R HGET "$HOOK" secret)" = "$sealed" ] || fail "refused handshake changed the stored secret"
[ "$(audits webhook.handshake)" -eq 1 ] && [ "$(audits webhook.handshake_refused)" -eq 2 ] \
  || fail "handshakes not audited"
ok "handshake only while a registration is in flight; refused one leaves the secret"

# A known task (gidmap) and events for it.
R HSET "mlc:{$T}:gidmap" 1300000000000001 po:4711 >/dev/null
EV='{"events":[{"user":{"gid":"1","resource_type":"user"},"created_at":"2026-11-22T12:00:00.000Z","action":"changed","resource":{"gid":"1300000000000001","resource_type":"task"},"change":{"field":"completed","action":"changed"}}]}'
EVJ=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$EV")

# 1000 deliveries with wrong or missing signatures: all 401, nothing recorded.
bad=$(python3 -c "
import json
ev = $EVJ
for i in range(1000):
    q = {'body': ev}
    if i % 3 == 0: q['sign'] = 'wrong-secret'
    elif i % 3 == 1: q['raw_sig'] = '0' * 64
    print(json.dumps(q))" | send | sort | uniq -c | awk '{print $1, $2}')
[ "$bad" = "1000 401" ] || fail "bad signatures: $bad"
[ "$(R XLEN "mlc:{$T}:events")" -eq 0 ] || fail "events recorded from bad signatures"
[ "$(evt_jobs)" -eq 0 ] || fail "jobs from bad signatures"
ok "1000 unsigned/wrongly signed deliveries -> 401, nothing recorded"

# The same signed delivery five times: one stream entry, one job.
q=$(python3 -c "import json; print(json.dumps({'body': $EVJ, 'sign': 's3cr3t-A'}))")
res=$(for i in 1 2 3 4 5; do echo "$q"; done | send | sort | uniq -c | awk '{print $1, $2}')
[ "$res" = "5 200" ] || fail "signed deliveries: $res"
[ "$(R XLEN "mlc:{$T}:events")" -eq 1 ] || fail "expected one stream entry, got $(R XLEN "mlc:{$T}:events")"
[ "$(evt_jobs)" -eq 1 ] || fail "expected one job, got $(evt_jobs)"
job=$(R --scan --pattern "mlc:{$T}:job:evt:*")
[ "$(R HGET "$job" type)" = webhook_event ] && [ "$(R HGET "$job" ref)" = task:1300000000000001 ] \
  && [ "$(R HGET "$job" service)" = write ] || fail "job fields: $(R HGETALL "$job" | tr '\n' ' ')"
R HGET "$job" payload | grep -q '"gid":"1300000000000001"' || fail "job payload"
[ "$(audits webhook.event)" -eq 1 ] || fail "event not audited once"
ok "a signed delivery sent 5 times -> one stream entry, one job ($job)"
# The writer handles the job: it reads the task from Asana to see the decision; this task
# exists only in the gidmap, so the outcome lands in PO 4711's audit trail as task_gone.
job_done() { [ "$(R HGET "$1" state)" = done ]; }
wait_until 15 job_done "$job"
R --raw XRANGE "mlc:{$T}:audit" - + | grep -A3 '^po:4711$' | grep -q '^approval.task_gone$' \
  || fail "no approval.task_gone audit entry for po:4711"
ok "the writer handled the event and recorded it in the audit trail of po:4711"

# Twenty concurrent deliveries of a new event: still recorded once.
python3 - <<PY || fail "concurrent deliveries"
import hashlib, hmac, http.client, json, os, threading
ev = json.loads($EVJ); ev["events"][0]["created_at"] = "2026-11-22T12:00:01.000Z"
body = json.dumps(ev).encode()
sig = hmac.new(b"s3cr3t-A", body, hashlib.sha256).hexdigest()
st = []
def go():
    c = http.client.HTTPConnection("127.0.0.1", int(os.environ["MLC_GW_PORT"]), timeout=10)
    c.request("POST", "/webhooks/demo", body=body, headers={"X-Hook-Signature": sig})
    st.append(c.getresponse().status)
ts = [threading.Thread(target=go) for _ in range(20)]
[t.start() for t in ts]; [t.join() for t in ts]
assert st == [200] * 20, st
PY
[ "$(R XLEN "mlc:{$T}:events")" -eq 2 ] || fail "concurrent duplicates recorded: $(R XLEN "mlc:{$T}:events")"
[ "$(evt_jobs)" -eq 2 ] || fail "concurrent duplicates: $(evt_jobs) jobs"
ok "20 concurrent deliveries of one event -> recorded once"

# An event for a task not in the gidmap: recorded and audited, no job.
UNK=$(python3 -c "import json; e=json.loads($EVJ); e['events'][0]['resource']['gid']='1399999999999999'; print(json.dumps({'body': json.dumps(e), 'sign': 's3cr3t-A'}))")
[ "$(one "$UNK")" = "200 -" ] || fail "unknown task delivery"
[ "$(R XLEN "mlc:{$T}:events")" -eq 3 ] && [ "$(evt_jobs)" -eq 2 ] || fail "unknown task: stream/job counts"
[ "$(audits webhook.unknown_task)" -eq 1 ] || fail "unknown task not audited"
ok "event for an unknown task -> recorded, audited, no job"

# Heartbeat, 400, 413.
[ "$(one '{"body":"{\"events\":[]}","sign":"s3cr3t-A"}')" = "200 -" ] || fail "heartbeat"
[ -n "$(R HGET "$HOOK" last_heartbeat_at)" ] || fail "heartbeat not recorded"
[ "$(one '{"body":"{\"events\":[","sign":"s3cr3t-A"}')" = "400 -" ] || fail "malformed JSON not 400"
[ "$(one '{"body":"{\"data\":[]}","sign":"s3cr3t-A"}')" = "400 -" ] || fail "no events array not 400"
[ "$(one '{"body":"{\"events\":[1]}","sign":"s3cr3t-A"}')" = "400 -" ] || fail "non-object event not 400"
big=$(python3 -c "import json; print(json.dumps({'body': '{\"events\":[],\"pad\":\"' + 'x' * (1 << 20) + '\"}', 'sign': 's3cr3t-A'}))")
[ "$(one "$big")" = "413 -" ] || fail "1 MiB + body not 413"
# Beyond what the server buffers at all (curl, as the server answers before the body is sent).
head -c $((3 << 20)) /dev/zero | tr '\0' x > "$MLC_RUN_DIR/huge.json"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Hook-Signature: 00' --data-binary @"$MLC_RUN_DIR/huge.json" "$GW/webhooks/$T")
[ "$code" = 413 ] || fail "3 MiB body: $code, not 413"
[ "$(R XLEN "mlc:{$T}:events")" -eq 3 ] || fail "rejected bodies recorded"
ok "heartbeat 200, malformed 400, oversized 413"

# Metrics.
m=$(curl -sf "$GW/metrics")
want() { echo "$m" | grep -qxF "$1" || { echo "$m" | grep mlc_webhook_deliveries; fail "metrics: missing '$1'"; }; }
want 'mlc_webhook_deliveries_total{tenant="demo",outcome="bad_signature"} 1000'
want 'mlc_webhook_deliveries_total{tenant="demo",outcome="accepted"} 3'
want 'mlc_webhook_deliveries_total{tenant="demo",outcome="duplicate"} 23'
want 'mlc_webhook_deliveries_total{tenant="demo",outcome="handshake_accepted"} 1'
want 'mlc_webhook_deliveries_total{tenant="demo",outcome="handshake_refused"} 3'
want 'mlc_webhook_deliveries_total{tenant="demo",outcome="heartbeat"} 1'
want 'mlc_webhook_deliveries_total{tenant="demo",outcome="malformed"} 3'
want 'mlc_webhook_deliveries_total{tenant="demo",outcome="too_large"} 1'
want 'mlc_webhook_events_enqueued_total{tenant="demo"} 3'
echo "$m" | grep -q '^mlc_webhook_request_seconds_bucket{le="+Inf"} ' || fail "no latency histogram"
ok "metrics count every outcome"

# Threads cache the secret: after a new handshake, deliveries signed with the new secret are
# accepted at once by every thread and ones signed with the old secret refused, recording
# nothing. 40 distinct events sent concurrently: each recorded once with its job.
conc() {   # conc SECRET FIRST COUNT: COUNT concurrent deliveries of distinct events
  python3 - "$@" <<PY
import hashlib, hmac, http.client, json, os, sys, threading
secret, first, count = sys.argv[1].encode(), int(sys.argv[2]), int(sys.argv[3])
st = []
def go(i):
    ev = json.loads($EVJ); ev["events"][0]["created_at"] = "2026-11-22T13:00:00.%03dZ" % i
    body = json.dumps(ev).encode()
    c = http.client.HTTPConnection("127.0.0.1", int(os.environ["MLC_GW_PORT"]), timeout=10)
    c.request("POST", "/webhooks/demo", body=body,
              headers={"X-Hook-Signature": hmac.new(secret, body, hashlib.sha256).hexdigest()})
    r = c.getresponse(); st.append((r.status, json.loads(r.read() or b"{}").get("new")))
ts = [threading.Thread(target=go, args=(i,)) for i in range(first, first + count)]
[t.start() for t in ts]; [t.join() for t in ts]
print(" ".join(sorted(set("%s/%s" % s for s in st))))
PY
}
x0=$(R XLEN "mlc:{$T}:events"); j0=$(evt_jobs)
[ "$(conc s3cr3t-A 0 40)" = "200/1" ] || fail "40 concurrent distinct events"
[ "$(R XLEN "mlc:{$T}:events")" -eq $((x0 + 40)) ] && [ "$(evt_jobs)" -eq $((j0 + 40)) ] \
  || fail "40 concurrent events: $(R XLEN "mlc:{$T}:events") stream entries, $(evt_jobs) jobs"
R SET "mlc:{$T}:webhook:pending" 1200000000000101 EX 60 >/dev/null
[ "$(one '{"handshake":"s3cr3t-B"}')" = "200 s3cr3t-B" ] || fail "second handshake"
R DEL "mlc:{$T}:webhook:pending" >/dev/null
[ "$(conc s3cr3t-A 100 20)" = "401/None" ] || fail "old secret accepted after the new handshake"
[ "$(R XLEN "mlc:{$T}:events")" -eq $((x0 + 40)) ] || fail "old secret recorded events"
[ "$(conc s3cr3t-B 200 20)" = "200/1" ] || fail "new secret not accepted by every thread"
[ "$(R XLEN "mlc:{$T}:events")" -eq $((x0 + 60)) ] && [ "$(evt_jobs)" -eq $((j0 + 60)) ] \
  || fail "new secret: $(R XLEN "mlc:{$T}:events") stream entries, $(evt_jobs) jobs"
ok "40 concurrent events recorded once each; a new secret replaces the old one on every thread"
echo "PASS"
