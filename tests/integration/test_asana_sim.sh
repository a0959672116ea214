#!/usr/bin/env bash
# Integration test of the simulated Asana: starts bin/mlc-sim (Asana side only) on a free port,
# drives it with curl over real HTTP and checks the answers with python3: auth, custom fields,
# enum options, settings, tasks (create / read / update / delete), pagination, opt_fields,
# the /_sim/ endpoints, rate and concurrency limits, and a throughput floor. Kills the
# simulator by pid on exit, also on failure.
# Usage: tests/integration/test_asana_sim.sh  (BIN=bin-san to pick another build;
# ASANA_SIM_MIN_RPS=N to change the throughput floor, 0 to skip it).
source "$(dirname "$0")/simlib.sh"
case "$BIN" in *san*) MIN_RPS=${ASANA_SIM_MIN_RPS:-200} ;; *) MIN_RPS=${ASANA_SIM_MIN_RPS:-1000} ;; esac

WS=1200000000000001
P1=1200000000000101
P2=1200000000000102
CONFIG='{"tokens":["demo-pat","second-pat"],"workspace_name":"Integration",
         "reject_enum_option_names":["Poison Ltd"]}'
start_sim asana "$CONFIG"
ROOT="http://127.0.0.1:$PORT"
API="$ROOT/api/1.0"
TOKEN=demo-pat

# req METHOD URL [curl args...]: body in $TMP/body, headers in $TMP/headers, status in $STATUS.
req() {
    local method=$1 url=$2
    shift 2
    STATUS=$(curl -s -g -X "$method" -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' \
             "$@" "$url") || fail "curl $method $url failed"
}
# api METHOD PATH [JSON body]: an API request with the bearer token.
api() {
    local m=$1 p=$2
    if [ $# -ge 3 ]; then
        req "$m" "$API$p" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
            --data-binary "$3"
    else
        req "$m" "$API$p" -H "Authorization: Bearer $TOKEN"
    fi
}
expect() { [ "$STATUS" = "$1" ] || fail "$2: expected HTTP $1, got $STATUS"; }
py() { python3 -c "import json,sys; d=json.load(open('$TMP/body')); print($1)"; }
check() { [ "$(py "$1")" = "True" ] || fail "$2: $1 is not true"; }
message() { py 'd["errors"][0]["message"]'; }
expect_error() { # STATUS MESSAGE WHAT
    expect "$1" "$3"
    [ "$(message)" = "$2" ] || fail "$3: message \"$(message)\", expected \"$2\""
}
header() { grep -i "^$1:" "$TMP/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
sim_get() { req GET "$ROOT/_sim/$1"; expect 200 "/_sim/$1"; }
sim_post() { req POST "$ROOT/_sim/$1" --data-binary "${2:-}"; expect 200 "/_sim/$1"; }

# ---- auth and identity -------------------------------------------------------------------------
req GET "$API/users/me"
expect_error 401 "Not Authorized" "no token"
req GET "$API/users/me" -H "Authorization: Bearer nope"
expect 401 "unknown token"
api GET /users/me
expect 200 "users/me"
check 'd["data"]["resource_type"] == "user" and d["data"]["workspaces"][0]["gid"] == "'$WS'"' "me"
[ "$(header Content-Type)" = "application/json; charset=UTF-8" ] || fail "content type"
TOKEN=second-pat api GET /workspaces
expect 200 "second token"
check 'd["data"] == [{"gid":"'$WS'","resource_type":"workspace","name":"Integration"}] and d["next_page"] is None' \
      "workspaces"
ok "bearer auth (401 in Asana's words), users/me, workspaces"

# ---- custom fields ---------------------------------------------------------------------------------
api POST /custom_fields '{"data":{"workspace":"'$WS'","name":"PO number","resource_subtype":"text"}}'
expect 201 "text field"
[ "$(header Location)" = "$API/custom_fields/$(py 'd["data"]["gid"]')" ] || fail "field Location"
TEXT=$(py 'd["data"]["gid"]')
api POST /custom_fields '{"data":{"workspace":"'$WS'","name":"Amount","resource_subtype":"number","precision":2,"format":"currency","currency_code":"EUR"}}'
expect 201 "number field"
check 'd["data"]["precision"] == 2 and d["data"]["currency_code"] == "EUR"' "number field"
NUM=$(py 'd["data"]["gid"]')
api POST /custom_fields '{"data":{"workspace":"'$WS'","name":"Supplier","resource_subtype":"enum","enum_options":[{"name":"ACME Steel"}]}}'
expect 201 "enum field"
ENUM=$(py 'd["data"]["gid"]')
ACME=$(py 'd["data"]["enum_options"][0]["gid"]')
api POST /custom_fields '{"data":{"workspace":"'$WS'","name":"Amount","resource_subtype":"text"}}'
expect 400 "duplicate field name"
api POST /custom_fields '{"data":{"workspace":"'$WS'","name":"When","resource_subtype":"date"}}'
expect 400 "date field"
api POST "/custom_fields/$ENUM/enum_options" '{"data":{"name":"Nordic Steel GmbH","color":"blue"}}'
expect 201 "enum option"
check 'd["data"]["resource_type"] == "enum_option" and d["data"]["enabled"] is True' "option"
NORDIC=$(py 'd["data"]["gid"]')
api POST "/custom_fields/$ENUM/enum_options" '{"data":{"name":"Poison Ltd"}}'
expect 400 "rejected option name"
api POST "/custom_fields/$ENUM/enum_options" '{"data":{"name":"ACME Steel"}}'
expect 201 "duplicate option name (allowed by Asana)"
sim_get stats
check 'd["duplicate_enum_names"] == 1' "duplicate counted"
for f in "$TEXT" "$NUM" "$ENUM"; do
    api POST "/projects/$P1/addCustomFieldSetting" '{"data":{"custom_field":"'"$f"'","is_important":true}}'
    expect 200 "add setting"
done
api POST "/projects/$P1/addCustomFieldSetting" '{"data":{"custom_field":"'"$TEXT"'"}}'
expect 400 "setting twice"
api GET "/projects/$P1/custom_field_settings?limit=2"
expect 200 "settings page"
check 'len(d["data"]) == 2 and d["data"][0]["custom_field"]["gid"] == "'$TEXT'" and d["data"][0]["parent"]["gid"] == "'$P1'"' \
      "settings"
api GET "$(py 'd["next_page"]["path"]')"
expect 200 "settings page 2"
check 'len(d["data"]) == 1 and [o["name"] for o in d["data"][0]["custom_field"]["enum_options"]] == ["ACME Steel","Nordic Steel GmbH","ACME Steel"]' \
      "enum options through settings"
ok "custom fields, enum options (poison names, duplicates counted), settings with pagination"

# ---- tasks -------------------------------------------------------------------------------------------
api POST /tasks '{"data":{"name":"PO 4711","notes":"ACME Steel, 3 lines","projects":["'$P1'"],"custom_fields":{"'$TEXT'":"4711","'$NUM'":9960.15,"'$ENUM'":"'$ACME'"}}}'
expect 201 "create task"
TASK=$(py 'd["data"]["gid"]')
[ "$(header Location)" = "$API/tasks/$TASK" ] || fail "task Location"
check 'd["data"]["memberships"][0]["project"]["gid"] == "'$P1'" and len(d["data"]["custom_fields"]) == 3' "full task"
api POST /tasks '{"data":{"name":"x","projects":["'$P1'"],"custom_fields":{"'$NUM'":"9960.15"}}}'
expect_error 400 "custom_fields: $NUM: Value is not a number: 9960.15" "number as string"
api POST /tasks '{"data":{"name":"x","projects":["'$P2'"],"custom_fields":{"'$TEXT'":"1"}}}'
expect_error 400 "Custom field with ID $TEXT is not on given object" "field not on project"
api POST /tasks '{"data":{"name":"x","projects":["'$P1'"],"custom_fields":{"'$ENUM'":"ACME Steel"}}}'
expect_error 400 "custom_fields: $ENUM: Not a recognized ID: ACME Steel" "enum by name"
api POST /tasks '{"data":{"name":"x","projects":["'$P1'"],"approval":true}}'
expect_error 400 "approval: Unrecognized property" "unknown member"
api POST /tasks '{"name":"x"}'
expect 400 "no data wrapper"
api POST /tasks 'not json'
expect_error 400 "Could not parse request data, invalid JSON" "not JSON"
OPT='opt_fields=name,completed,modified_at,custom_fields.gid,custom_fields.enum_value.gid,custom_fields.number_value,custom_fields.text_value,custom_fields.display_value'
api GET "/tasks/$TASK?$OPT"
expect 200 "get with opt_fields"
check 'sorted(d["data"]) == ["completed","custom_fields","gid","modified_at","name"]' "selected members"
check '[c.get("display_value") for c in d["data"]["custom_fields"]] == ["4711","9960.15","ACME Steel"]' "display values"
check 'd["data"]["custom_fields"][2]["enum_value"] == {"gid":"'$ACME'"}' "enum value"
MOD=$(py 'd["data"]["modified_at"]')
sleep 0.01
api PUT "/tasks/$TASK" '{"data":{"completed":true,"custom_fields":{"'$ENUM'":"'$NORDIC'","'$NUM'":null}}}'
expect 200 "update"
check 'd["data"]["completed"] is True and d["data"]["completed_at"] and d["data"]["modified_at"] != "'$MOD'"' "update result"
check 'd["data"]["notes"] == "ACME Steel, 3 lines"' "untouched member"
api PUT "/tasks/$TASK" '{"data":{"projects":["'$P2'"]}}'
expect_error 400 "projects: Cannot write this property" "create-only member"
sim_get "tasks?project=$P1"
check 'd["data"][0]["custom_fields"] == {"PO number":"4711","Amount":None,"Supplier":"Nordic Steel GmbH"}' "by name"
check 'd["data"][0]["custom_fields_by_gid"]["'$ENUM'"] == "'$NORDIC'"' "by gid"
api DELETE "/tasks/$TASK"
expect 200 "delete"
check 'd == {"data": {}}' "delete body"
api GET "/tasks/$TASK"
expect_error 404 "task: Unknown object: $TASK" "deleted task"
ok "tasks: create (Location), validation in Asana's words, opt_fields, update, delete"

# ---- pagination over many tasks -------------------------------------------------------------------------
python3 - "$API" "$P2" <<'PY' || fail "bulk create"
import http.client, json, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port)
for i in range(250):
    body = json.dumps({"data": {"name": "bulk %03d" % i, "projects": [sys.argv[2]]}})
    c.request("POST", u.path + "/tasks", body, {"Authorization": "Bearer demo-pat"})
    r = c.getresponse(); r.read()
    assert r.status == 201, r.status
PY
NAMES=""
URL="/projects/$P2/tasks?limit=100&opt_fields=name"
PAGES=0
while [ -n "$URL" ]; do
    api GET "$URL"
    expect 200 "task page"
    PAGES=$((PAGES + 1))
    NAMES="$NAMES$(py '"".join(t["name"] + "," for t in d["data"])')"
    URL=$(py 'd["next_page"]["path"] if d["next_page"] else ""')
done
python3 -c "import sys; n=sys.argv[1].rstrip(',').split(','); assert len(n)==250 and n==['bulk %03d' % i for i in range(250)], len(n)" "$NAMES" \
    || fail "pagination did not return the 250 tasks in order"
[ "$PAGES" = 3 ] || fail "expected 3 pages, got $PAGES"
api GET "/projects/$P2/tasks?limit=100&offset=bogus"
expect_error 400 "offset: Your pagination token is invalid." "bad offset"
api GET "/projects/$P2/tasks?limit=500"
expect 400 "limit over 100"
ok "250 tasks in 3 pages via next_page.path, bad offset and limit refused"

# ---- limits ------------------------------------------------------------------------------------------------
sim_post reset-stats
sim_post config '{"rate_per_min":5}'
for i in 1 2 3 4 5; do api GET /users/me; expect 200 "within rate"; done
api GET /users/me
expect 429 "over rate"
RETRY=$(header Retry-After)
[ -n "$RETRY" ] && [ "$RETRY" -ge 1 ] && [ "$RETRY" -le 60 ] || fail "Retry-After '$RETRY'"
TOKEN=second-pat api GET /users/me
expect 200 "another token has its own budget"
sim_get stats
check 'd["rate_limited"] == 1 and d["requests"]["GET /users/me 429"] == 1 and d["per_10s_max"] == 6' "rate stats"
sim_post config '{"rate_per_min":0,"write_concurrency":3,"latency_ms":400}'
sim_post reset-stats
for i in 1 2 3 4 5 6; do
    curl -s -o /dev/null -w '%{http_code}\n' -X POST "$API/tasks" -H 'Authorization: Bearer demo-pat' \
         --data-binary '{"data":{"name":"c","workspace":"'$WS'"}}' >>"$TMP/codes" &
    PIDS+=($!)
done
wait "${PIDS[@]}"
PIDS=()
[ "$(grep -c '^201$' "$TMP/codes")" = 3 ] && [ "$(grep -c '^429$' "$TMP/codes")" = 3 ] \
    || fail "concurrency cap 3: got $(tr '\n' ' ' <"$TMP/codes")"
sim_get stats
check 'd["max_in_flight_writes"] == 3 and d["writes"] == 6' "in-flight stats"
sim_post config '{"write_concurrency":15,"latency_ms":0}'
ok "rate limit per token (429 + Retry-After), write concurrency cap"

# ---- reset, free plan ----------------------------------------------------------------------------------------
sim_post reset
sim_get stats
check 'd["tasks"] == 0' "reset wiped tasks"
api GET "/workspaces/$WS/custom_fields"
expect 200 "fields after reset"
check 'd["data"] == []' "reset wiped fields"
sim_post config '{"premium":false}'
api GET "/workspaces/$WS/custom_fields"
expect_error 402 "Custom Fields are not available for free users or guests." "free plan"
sim_post config '{"premium":true}'
req POST "$ROOT/_sim/config" --data-binary '{"nope":1}'
expect 400 "bad config"
ok "/_sim/reset, premium=false -> 402, bad config refused"

# ---- throughput floor ----------------------------------------------------------------------------------------
if [ "$MIN_RPS" -gt 0 ]; then
    RPS=$(python3 - "$API" "$P1" <<'PY'
import http.client, json, sys, threading, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
N, T = 1500, 4
def worker(k):
    c = http.client.HTTPConnection(u.hostname, u.port)
    for i in range(N // T):
        body = json.dumps({"data": {"name": "perf %d-%d" % (k, i), "projects": [sys.argv[2]]}})
        c.request("POST", u.path + "/tasks", body, {"Authorization": "Bearer demo-pat"})
        r = c.getresponse(); r.read()
        assert r.status == 201, r.status
t0 = time.time()
th = [threading.Thread(target=worker, args=(k,)) for k in range(T)]
[t.start() for t in th]; [t.join() for t in th]
print(int(N / (time.time() - t0)))
PY
)
    [ "$RPS" -ge "$MIN_RPS" ] || fail "throughput $RPS req/s below $MIN_RPS"
    ok "throughput: $RPS task creates/s from 4 Python clients (floor $MIN_RPS)"
fi

echo "PASS: $PASS groups of checks"
