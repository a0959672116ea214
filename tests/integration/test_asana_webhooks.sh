#!/usr/bin/env bash
# Integration test of webhooks and the Events API of the simulated Asana: starts bin/mlc-sim
# (Asana side only, a thread per connection) and small python3 receivers on 127.0.0.1 that
# answer the X-Hook-Secret handshake (or refuse it), record every delivery and verify its
# X-Hook-Signature over the raw body. Checks: create (blocking handshake, 201 with the
# secret), heartbeat, a signed "completed" change after PUT /tasks, filters, duplicate 403,
# refused handshake 400, list/get/delete, /events 412 then 200 (added, changed, deleted),
# drop_webhook_events, webhook_sign_wrong, retries then deletion of a webhook whose receiver is
# down, /_sim/webhooks/{gid}/deactivate and /delete. Kills what it started by pid on exit.
# Usage: tests/integration/test_asana_webhooks.sh  (BIN=bin-san to pick another build)
source "$(dirname "$0")/simlib.sh"
WS=1200000000000001
P1=1200000000000101
P2=1200000000000102
start_sim asana '{"webhook_failure_window_s":3,"webhook_retry_base_ms":200}'
ROOT="http://127.0.0.1:$PORT"
API="$ROOT/api/1.0"

req() {
    local method=$1 url=$2
    shift 2
    STATUS=$(curl -s -g -X "$method" -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' \
             "$@" "$url") || fail "curl $method $url failed"
}
api() {
    local m=$1 p=$2
    if [ $# -ge 3 ]; then
        req "$m" "$API$p" -H "Authorization: Bearer demo-pat" \
            -H 'Content-Type: application/json' --data-binary "$3"
    else
        req "$m" "$API$p" -H "Authorization: Bearer demo-pat"
    fi
}
expect() { [ "$STATUS" = "$1" ] || fail "$2: expected HTTP $1, got $STATUS"; }
py() { python3 -c "import json,sys; d=json.load(open('$TMP/body')); print($1)"; }
check() { [ "$(py "$1")" = "True" ] || fail "$2: $1 is not true"; }
sim_post() { req POST "$ROOT/_sim/$1" --data-binary "${2:-}"; expect 200 "/_sim/$1"; }

# ---- the receiver ------------------------------------------------------------------------------
# receiver.py MODE PORTFILE LOG: MODE echo answers the handshake, refuse answers it 400. Every
# delivery is appended to LOG as {"events": [...], "sig_ok": bool}.
cat >"$TMP/receiver.py" <<'PY'
import hashlib, hmac, http.server, json, sys
mode, port_file, log = sys.argv[1], sys.argv[2], sys.argv[3]
secret = [None]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        hs = self.headers.get("X-Hook-Secret")
        if hs is not None:
            if mode == "refuse":
                self.send_response(400); self.end_headers(); return
            secret[0] = hs
            self.send_response(200); self.send_header("X-Hook-Secret", hs)
            self.send_header("Content-Length", "0"); self.end_headers(); return
        sig = self.headers.get("X-Hook-Signature", "")
        good = secret[0] is not None and hmac.compare_digest(
            hmac.new(secret[0].encode(), raw, hashlib.sha256).hexdigest(), sig)
        with open(log, "a") as f:
            f.write(json.dumps({"events": json.loads(raw)["events"], "sig_ok": good}) + "\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f: f.write(str(srv.server_address[1]))
import os; os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
# start_receiver NAME MODE: starts one, sets RPID and RURL; deliveries go to $TMP/NAME.log.
start_receiver() {
    : >"$TMP/$1.log"
    python3 "$TMP/receiver.py" "$2" "$TMP/$1.port" "$TMP/$1.log" &
    RPID=$!
    PIDS+=("$RPID")
    for _ in $(seq 1 100); do [ -s "$TMP/$1.port" ] && break; sleep 0.05; done
    [ -s "$TMP/$1.port" ] || fail "receiver $1 did not start"
    RURL="http://127.0.0.1:$(cat "$TMP/$1.port")/hook/$1"
}
# wait_log NAME EXPR: waits up to 5 s for a delivery line d of NAME.log with EXPR true.
wait_log() {
    for _ in $(seq 1 50); do
        if python3 - "$TMP/$1.log" "$2" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if any(eval(sys.argv[2], {"d": d}) for d in lines) else 1)
PY
        then return 0; fi
        sleep 0.1
    done
    fail "no delivery in $1.log with $2: $(cat "$TMP/$1.log")"
}
count_log() { grep -c . "$TMP/$1.log" || true; }
hook_body() { echo '{"data":{"resource":"'"$1"'","target":"'"$2"'"'"${3:+,\"filters\":$3}"'}}'; }

# ---- create, handshake, heartbeat, a signed change --------------------------------------------
api POST /tasks '{"data":{"name":"PO-1","projects":["'$P1'"]}}'
expect 201 "task"
TASK=$(py 'd["data"]["gid"]')
start_receiver a echo
URL_A=$RURL
FILTER='[{"resource_type":"task","action":"changed","fields":["completed"]}]'
api POST /webhooks "$(hook_body $P1 "$URL_A" "$FILTER")"
expect 201 "create webhook"
check 'len(d["X-Hook-Secret"]) == 32 and d["data"]["resource_type"] == "webhook"' "secret"
check 'd["data"]["active"] is True and d["data"]["target"] == "'"$URL_A"'"' "active"
check 'd["data"]["resource"] == {"gid":"'$P1'","name":"IFS Procurement","resource_type":"project"}' "resource"
check 'd["data"]["filters"][0]["fields"] == ["completed"] and d["data"]["last_failure_at"] is None' "filters"
HOOK_A=$(py 'd["data"]["gid"]')
wait_log a 'd["events"] == [] and d["sig_ok"]'
ok "create: blocking handshake echoed, 201 with X-Hook-Secret, signed heartbeat"

api PUT "/tasks/$TASK" '{"data":{"name":"PO-1 renamed"}}'
expect 200 "rename"
api PUT "/tasks/$TASK" '{"data":{"completed":true}}'
expect 200 "complete"
check 'd["data"]["completed"] is True' "completed"
wait_log a 'd["sig_ok"] and any(e["change"]["field"] == "completed" and e["change"]["new_value"] is True
            and e["resource"] == {"gid":"'$TASK'","resource_type":"task","resource_subtype":"default_task"}
            and e["action"] == "changed" and e["parent"] is None and e["user"]["resource_type"] == "user"
            for e in d["events"])'
python3 - "$TMP/a.log" <<'PY' || fail "the name change passed the completed filter"
import json, sys
sys.exit(any(e["change"]["field"] != "completed" for l in open(sys.argv[1]) if l.strip()
             for e in json.loads(l)["events"]))
PY
api GET "/webhooks/$HOOK_A"
expect 200 "get webhook"
check 'd["data"]["last_success_at"] is not None and d["data"]["delivery_retry_count"] == 0' "success"
ok "PUT completed=true delivered as a signed change event; filters hold back other fields"

# ---- validation ---------------------------------------------------------------------------------
api POST /webhooks "$(hook_body $P1 "$URL_A")"
expect 403 "duplicate"
check 'd["errors"][0]["message"] == "Duplicated webhook"' "duplicate message"
api POST /webhooks "$(hook_body 1200000000000999 "$URL_A")"
expect 404 "unknown resource"
api POST /webhooks "$(hook_body $P1 "ftp://127.0.0.1/x")"
expect 400 "bad target"
api POST /webhooks '{"data":{"target":"'"$URL_A"'"}}'
expect 400 "no resource"
api POST /webhooks "$(hook_body $P1 "$URL_A" '[{"action":"added","fields":["name"]}]')"
expect 400 "fields without changed"
start_receiver b refuse
api POST /webhooks "$(hook_body $P1 "$RURL")"
expect 400 "refused handshake"
check '"handshake" in d["errors"][0]["message"]' "handshake message"
api POST /webhooks "$(hook_body $P1 "http://127.0.0.1:1/nobody")"
expect 400 "nobody listening"
ok "duplicate 403, unknown resource 404, bad target / filters 400, failed handshake 400"

# ---- list, get, delete ------------------------------------------------------------------------
api POST /webhooks "$(hook_body $P2 "$URL_A")"
expect 201 "second webhook (other project, same target)"
HOOK_P2=$(py 'd["data"]["gid"]')
api GET "/webhooks?workspace=$WS&limit=1"
expect 200 "list"
check 'len(d["data"]) == 1 and d["data"][0]["gid"] == "'$HOOK_A'" and d["next_page"]["offset"] == "'$HOOK_P2'"' "page 1"
api GET "/webhooks?workspace=$WS&limit=1&offset=$(py 'd["next_page"]["offset"]')"
check '[h["gid"] for h in d["data"]] == ["'$HOOK_P2'"] and d["next_page"] is None' "page 2"
api GET "/webhooks?workspace=$WS&resource=$P2"
check '[h["gid"] for h in d["data"]] == ["'$HOOK_P2'"]' "by resource"
api GET "/webhooks"
expect 400 "list without workspace"
api DELETE "/webhooks/$HOOK_P2"
expect 200 "delete"
check 'd == {"data": {}}' "delete body"
api GET "/webhooks/$HOOK_P2"
expect 404 "deleted webhook"
ok "GET /webhooks (workspace, resource, limit/offset), GET and DELETE /webhooks/{gid}"

# ---- the Events API -----------------------------------------------------------------------------
api GET "/events?resource=$P1"
expect 412 "first /events"
SYNC=$(py 'd["sync"]')
check 'len(d["errors"]) == 1' "412 errors"
api GET "/events?resource=$P1&sync=bogus"
expect 412 "unknown token"
api POST /tasks '{"data":{"name":"PO-2","projects":["'$P1'"]}}'
TASK2=$(py 'd["data"]["gid"]')
api PUT "/tasks/$TASK" '{"data":{"completed":false}}'
api DELETE "/tasks/$TASK2"
api GET "/events?resource=$P1&sync=$SYNC"
expect 200 "/events"
check '[(e["action"], e.get("change", {}).get("field")) for e in d["data"]] == [("added", None), ("changed", "completed"), ("deleted", None)]' "events"
check 'd["data"][0]["parent"]["gid"] == "'$P1'" and d["data"][1]["change"]["new_value"] is False and d["has_more"] is False' "event shapes"
SYNC=$(py 'd["sync"]')
api GET "/events?resource=$P1&sync=$SYNC"
check 'd["data"] == [] and d["has_more"] is False' "nothing new"
api GET "/events?resource=$P2&sync=$SYNC"
expect 412 "token of another project"
sim_post events/expire-sync
api GET "/events?resource=$P1&sync=$SYNC"
expect 412 "expired token"
ok "/events: 412 with a fresh sync token, then added / changed / deleted since the token"

# ---- faults: dropped events, wrong signatures ----------------------------------------------------
sim_post config '{"drop_webhook_events":true}'
api GET "/events?resource=$P1"
SYNC=$(py 'd["sync"]')
BEFORE=$(count_log a)
api PUT "/tasks/$TASK" '{"data":{"completed":true}}'
sleep 0.6
[ "$(count_log a)" = "$BEFORE" ] || fail "an event was delivered although dropped"
api GET "/events?resource=$P1&sync=$SYNC"
check '[e["change"]["new_value"] for e in d["data"]] == [True]' "dropped event in /events"
req GET "$ROOT/_sim/stats"
check 'd["events_dropped"] == 1 and d["handshakes"] == 2 and d["handshake_failures"] == 2 and d["deliveries"] >= 2' "stats"
sim_post config '{"drop_webhook_events":false,"webhook_sign_wrong":true}'
api PUT "/tasks/$TASK" '{"data":{"completed":false}}'
wait_log a 'not d["sig_ok"] and d["events"] and d["events"][0]["change"]["new_value"] is False'
sim_post config '{"webhook_sign_wrong":false}'
ok "drop_webhook_events (no delivery, still in /events), webhook_sign_wrong"

# ---- receiver down: retries, then deletion after the failure window -------------------------------
start_receiver c echo
C_PID=$RPID
api POST /webhooks "$(hook_body $P1 "$RURL")"
expect 201 "webhook c"
HOOK_C=$(py 'd["data"]["gid"]')
wait_log c 'd["events"] == []'
kill "$C_PID"
wait "$C_PID" 2>/dev/null || true
api PUT "/tasks/$TASK" '{"data":{"name":"PO-1 again"}}'
for _ in $(seq 1 30); do
    api GET "/webhooks/$HOOK_C"
    [ "$(py 'd["data"]["delivery_retry_count"] >= 1')" = True ] && break
    sleep 0.1
done
check 'd["data"]["last_failure_at"] is not None and d["data"]["failure_deletion_timestamp"] is not None' "failure"
check 'd["data"]["next_attempt_after"] is not None and bool(d["data"]["last_failure_content"])' "retry scheduled"
for _ in $(seq 1 80); do
    api GET "/webhooks/$HOOK_C"
    [ "$STATUS" = 404 ] && break
    sleep 0.1
done
expect 404 "webhook deleted after the failure window"
req GET "$ROOT/_sim/stats"
check 'd["delivery_failures"] >= 2' "failures counted"
ok "receiver down: retried with backoff, deleted after webhook_failure_window_s"

# ---- /_sim/ switches -------------------------------------------------------------------------------
sim_post "webhooks/$HOOK_A/deactivate"
api GET "/webhooks/$HOOK_A"
check 'd["data"]["active"] is False' "deactivated"
BEFORE=$(count_log a)
api PUT "/tasks/$TASK" '{"data":{"completed":true}}'
sleep 0.5
[ "$(count_log a)" = "$BEFORE" ] || fail "an inactive webhook delivered"
sim_post "webhooks/$HOOK_A/delete"
api GET "/webhooks/$HOOK_A"
expect 404 "deleted by the simulator"
req POST "$ROOT/_sim/webhooks/$HOOK_A/delete"
expect 404 "unknown webhook"
ok "/_sim/webhooks/{gid}/deactivate and /delete"

echo "PASS: $PASS groups of checks"
