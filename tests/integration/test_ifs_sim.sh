#!/usr/bin/env bash
# Integration test of the simulated IFS Cloud: starts bin/mlc-sim (IFS side only) on a free
# port, drives it with curl and checks the answers with python3. Kills the simulator by pid on
# exit, also on failure. Usage: tests/integration/test_ifs_sim.sh  (BIN=bin-san to pick another
# build).
source "$(dirname "$0")/simlib.sh"
CONFIG='{"clients":{"mlc-demo":"demo-secret","other":"s3cret"},"max_page_size":300,
         "seed":{"pos":800,"invoices":50,"suppliers":12,"random_seed":7}}'
start_sim ifs "$CONFIG"
BASE="http://127.0.0.1:$PORT"
TOKEN_URL="$BASE/auth/realms/ifs/protocol/openid-connect/token"
PO="$BASE/main/ifsapplications/projection/v1/PurchaseOrderHandling.svc/PurchaseOrderSet"
INV="$BASE/main/ifsapplications/projection/v1/ManSuppInvoiceHandling.svc/ManSuppInvoiceSet"

# req METHOD URL [curl args...]: body in $TMP/body, headers in $TMP/headers, status in $STATUS.
# Spaces and quotes in the URL are percent-encoded.
req() {
    local method=$1 url=$2
    shift 2
    url=${url// /%20}
    url=${url//\'/%27}
    STATUS=$(curl -s -g -X "$method" -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' \
             "$@" "$url") || fail "curl $method $url failed"
}
# api METHOD URL [curl args...]: req with the current bearer token.
api() { local m=$1 u=$2; shift 2; req "$m" "$u" -H "Authorization: Bearer $TOKEN" "$@"; }
expect() { [ "$STATUS" = "$1" ] || fail "$2: expected HTTP $1, got $STATUS"; }
# py EXPR: evaluates a python expression with d = the JSON body; prints the result.
py() { python3 -c "import json,sys; d=json.load(open('$TMP/body')); print($1)"; }
check() { [ "$(py "$1")" = "True" ] || fail "$2: $1 is not true"; }
header() { grep -i "^$1:" "$TMP/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
get_token() {
    req POST "$TOKEN_URL" -d grant_type=client_credentials -d "client_id=$1" -d "client_secret=$2"
    expect 200 "token for $1"
    TOKEN=$(py 'd["access_token"]')
}

# ---- IAM -------------------------------------------------------------------------------------
req POST "$TOKEN_URL" -d grant_type=client_credentials -d client_id=mlc-demo -d client_secret=bad
expect 401 "wrong secret"
check 'd["error"] == "unauthorized_client"' "wrong secret error"
req POST "$TOKEN_URL" -d grant_type=password -d client_id=mlc-demo -d client_secret=demo-secret
expect 400 "wrong grant"
check 'd["error"] == "unsupported_grant_type"' "wrong grant error"
req POST "$TOKEN_URL" -d client_id=mlc-demo -d client_secret=demo-secret
expect 400 "missing grant"
req POST "$TOKEN_URL" -u mlc-demo:demo-secret -d grant_type=client_credentials
expect 200 "HTTP Basic client credentials"
check 'd["token_type"] == "Bearer" and d["expires_in"] == 3600 and len(d["access_token"]) >= 32' \
      "token response"
req GET "$BASE/auth/realms/ifs/.well-known/openid-configuration"
expect 200 "discovery"
check 'd["token_endpoint"].endswith("/auth/realms/ifs/protocol/openid-connect/token")' "discovery"
ok "token endpoint (form, Basic, Keycloak errors, discovery)"

req GET "$PO"
expect 401 "no bearer"
check 'd["error"]["code"] == "UNAUTHORIZED"' "401 envelope"
TOKEN=not-a-token api GET "$PO"
expect 401 "bad bearer"
get_token mlc-demo demo-secret
ok "401 without or with a bad bearer"

# ---- reads -----------------------------------------------------------------------------------
# Server-driven paging: 800 POs in pages of max_page_size 300, following nextLink.
api GET "$PO"
expect 200 "collection"
check 'len(d["value"]) == 300 and "@odata.nextLink" in d' "first page"
check 'd["@odata.context"].endswith("PurchaseOrderHandling.svc/$metadata#PurchaseOrderSet")' \
      "context"
check 'all(r["@odata.etag"].startswith("W/\"") for r in d["value"])' "etags"
KEYS=$(py '",".join(r["OrderNo"] for r in d["value"])')
NEXT=$(py 'd["@odata.nextLink"]')
while [ -n "$NEXT" ]; do
    api GET "$NEXT"
    expect 200 "next page"
    KEYS="$KEYS,$(py '",".join(r["OrderNo"] for r in d["value"])')"
    NEXT=$(py 'd.get("@odata.nextLink", "")')
done
python3 -c "import sys; k=sys.argv[1].split(','); assert len(k)==800 and len(set(k))==800 \
and k==sorted(k), len(k)" "$KEYS" || fail "paging did not deliver 800 distinct keys in order"
ok "server-driven paging over 800 rows"

# $top limits the total across pages; Prefer odata.maxpagesize caps the page.
COUNT=0
PAGES=0
api GET "$PO?\$top=120&\$orderby=NetAmtCurr desc" -H 'Prefer: odata.maxpagesize=50'
expect 200 "top with maxpagesize"
[ "$(header Preference-Applied)" = "odata.maxpagesize=50" ] || fail "Preference-Applied"
while :; do
    COUNT=$((COUNT + $(py 'len(d["value"])')))
    PAGES=$((PAGES + 1))
    NEXT=$(py 'd.get("@odata.nextLink", "")')
    [ -n "$NEXT" ] || break
    api GET "$NEXT" -H 'Prefer: odata.maxpagesize=50'
    expect 200 "top page"
done
[ "$COUNT" = 120 ] && [ "$PAGES" = 3 ] || fail "\$top=120 in pages of 50 gave $COUNT rows/$PAGES pages"
ok "\$top across pages with Prefer: odata.maxpagesize"

api GET "$PO?\$filter=Company eq '10' and NetAmtCurr gt 1000 and not (Objstate eq 'Closed')&\$count=true&\$top=250"
expect 200 "filter"
check '800 > d["@odata.count"] > len(d["value"]) == 250' "count"
check 'all(r["Company"] == "10" and r["NetAmtCurr"] > 1000 and r["Objstate"] != "Closed" for r in d["value"])' \
      "filter result"
api GET "$PO?\$filter=ChangedDate ge 2000-01-01T00:00:00Z&\$orderby=ChangedDate desc,OrderNo&\$select=OrderNo,ChangedDate&\$top=40"
expect 200 "orderby"
check 'set(d["value"][0]) == {"@odata.etag","OrderNo","ChangedDate"}' "select"
check '[r["ChangedDate"] for r in d["value"]] == sorted((r["ChangedDate"] for r in d["value"]), reverse=True)' \
      "order"
ok "\$filter, \$count, \$orderby, \$select"

api GET "$PO?\$select=OrderNo,Nope"
expect 400 "unknown select"
check '"unknown member" in d["error"]["message"] and "Nope" in d["error"]["message"]' "select error"
api GET "$PO?\$filter=Bogus eq 1"
expect 400 "unknown filter member"
check '"Bogus" in d["error"]["message"]' "filter error"
api GET "$PO?\$filter=ChangedDate gt '2026-01-01'"
expect 400 "quoted date"
api GET "$PO?\$expand=Lines"
expect 400 "expand"
ok "400 for unknown members and unsupported options"

api GET "$PO?\$top=1" -H 'Accept: application/json;IEEE754Compatible=true'
check 'isinstance(d["value"][0]["NetAmtCurr"], str)' "IEEE754Compatible decimals as strings"
api GET "$PO?\$top=1"
check 'isinstance(d["value"][0]["NetAmtCurr"], (int, float))' "decimals as numbers"
ok "Edm.Decimal as number, or string with IEEE754Compatible=true"

api GET "$PO(OrderNo='4711')"
expect 200 "single entity"
ETAG=$(py 'd["@odata.etag"]')
[ "$(header ETag)" = "$ETAG" ] || fail "ETag header differs from @odata.etag"
check 'd["OrderNo"] == "4711" and d["@odata.context"].endswith("#PurchaseOrderSet/$entity")' \
      "entity"
python3 -c "import base64,re,sys; t=base64.b64decode(sys.argv[1][3:-1]).decode(); \
assert re.fullmatch(r'[A-Za-z0-9+/]+:\d{14}', t), t" "$ETAG" || fail "etag is not base64(objid:objversion)"
api GET "$PO('99999')"
expect 404 "unknown entity"
check 'd["error"]["code"] == "ODP_RESOURCE_NOTFOUND"' "404 code"
api GET "$INV(InvoiceId='1')"
expect 200 "invoice"
check 'd["InvoiceNo"] == "SI-2026-00001"' "invoice number"
ok "single entity with ETag, 404"

# ---- writes ----------------------------------------------------------------------------------
api PATCH "$PO(OrderNo='4711')" -H 'Content-Type: application/json' -d '{"CodeA":"4999"}'
expect 428 "PATCH without If-Match"
check 'd["error"]["code"] == "ODP_MISSING_PRECONDITION"' "428 code"
api PATCH "$PO(OrderNo='4711')" -H 'If-Match: *' -H 'Content-Type: application/json' \
    -d '{"CodeA":"4999"}'
expect 428 "If-Match *"
api PATCH "$PO(OrderNo='4711')" -H 'If-Match: W/"c3RhbGU="' -H 'Content-Type: application/json' \
    -d '{"CodeA":"4999"}'
expect 412 "stale If-Match"
check 'd["error"]["code"] == "ODP_PRECONDITION_FAILED"' "412 code"
api PATCH "$PO(OrderNo='4711')" -H "If-Match: $ETAG" -H 'Content-Type: application/json' \
    -d '{"NetAmtCurr":1}'
expect 400 "read-only member"
check '"read-only" in d["error"]["message"]' "read-only message"
api PATCH "$PO(OrderNo='4711')" -H "If-Match: $ETAG" -H 'Content-Type: application/json' \
    -d '{"Nope":1}'
expect 400 "unknown member"
api PATCH "$PO(OrderNo='4711')" -H "If-Match: $ETAG" -H 'Content-Type: application/json' -d '{'
expect 400 "malformed body"
api PATCH "$PO(OrderNo='4711')" -H "If-Match: $ETAG" -H 'Content-Type: application/json' \
    -d '{"CodeA":"4999","CodeB":"CC999"}'
expect 200 "PATCH"
check 'd["CodeA"] == "4999" and d["CodeB"] == "CC999"' "patched members"
ETAG2=$(py 'd["@odata.etag"]')
[ "$ETAG2" != "$ETAG" ] && [ "$(header ETag)" = "$ETAG2" ] || fail "PATCH did not change the ETag"
NOW=$(date -u +%s)
python3 -c "import json,sys,datetime as dt; d=json.load(open(sys.argv[1])); \
t=dt.datetime.strptime(d['ChangedDate'],'%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=dt.timezone.utc); \
assert abs(t.timestamp()-int(sys.argv[2]))<5" "$TMP/body" "$NOW" || fail "ChangedDate not now"
api PATCH "$PO(OrderNo='4711')" -H "If-Match: $ETAG" -H 'Content-Type: application/json' \
    -d '{"CodeA":"4000"}'
expect 412 "PATCH with the old ETag"
api PATCH "$PO(OrderNo='4711')" -H "If-Match: $ETAG2" -H 'Prefer: return=minimal' \
    -H 'Content-Type: application/json' -d '{"BuyerCode":"ZED"}'
expect 204 "PATCH return=minimal"
ETAG3=$(header ETag)
[ -n "$ETAG3" ] && [ "$ETAG3" != "$ETAG2" ] || fail "204 PATCH without a new ETag header"
ok "PATCH: 428/412/400 rules, 200 with new ETag, 204 with return=minimal"

ACTION="$PO(OrderNo='4711')/IfsApp.PurchaseOrderHandling.PurchaseOrder_Approve"
api POST "$ACTION"
expect 428 "action without If-Match"
api POST "$ACTION" -H "If-Match: $ETAG3"
expect 204 "Approve"
api GET "$PO(OrderNo='4711')"
check 'd["Objstate"] == "Authorized"' "approved state"
api POST "$PO(OrderNo='4711')/IfsApp.PurchaseOrderHandling.PurchaseOrder_Explode" \
    -H "If-Match: $ETAG3"
expect 404 "unknown action"
api GET "$INV(InvoiceId='2')"
IETAG=$(py 'd["@odata.etag"]')
api POST "$INV(InvoiceId='2')/IfsApp.ManSuppInvoiceHandling.ManSuppInvoice_Approve" \
    -H "If-Match: $IETAG"
expect 204 "invoice Approve"
api GET "$INV(InvoiceId='2')"
check 'd["Objstate"] == "Approved"' "invoice approved"
ok "bound actions with If-Match"

# A change made inside IFS moves the ETag: the connector's old ETag must now fail.
api GET "$PO(OrderNo='4712')"
OLD=$(py 'd["@odata.etag"]')
req POST "$BASE/_sim/ifs/modify" -d '{"set":"PurchaseOrderSet","key":"4712","changes":{"NetAmtCurr":99.5}}'
expect 200 "sim modify"
check 'd["NetAmtCurr"] == 99.5' "modified amount"
check "d['@odata.etag'] != '$OLD'" "modify moves the etag"
api PATCH "$PO(OrderNo='4712')" -H "If-Match: $OLD" -H 'Content-Type: application/json' \
    -d '{"CodeA":"4010"}'
expect 412 "PATCH after an IFS-side change"
req POST "$BASE/_sim/ifs/modify" -d '{"set":"PurchaseOrderSet","key":"9001","changes":{},"create":true}'
expect 200 "sim create"
api GET "$PO('9001')"
expect 200 "created entity readable"
req GET "$BASE/_sim/ifs/entity?set=PurchaseOrderSet&key=4711"
expect 200 "entity inspection"
check '[e["status"] for e in d["write_log"]] == [428, 428, 412, 400, 400, 200, 412, 200, 428, 200]' \
      "write log of 4711"
check 'd["write_log"][-1]["kind"] == "ACTION" and d["write_log"][-1]["action"] == "Approve"' \
      "write log entry"
ok "/_sim/ifs/modify, create and the per-entity write log"

# ---- limits and faults -----------------------------------------------------------------------
req POST "$BASE/_sim/config" -d '{"rate_per_min":5}'
expect 200 "set rate"
for _ in 1 2 3 4 5; do api GET "$PO?\$top=1"; expect 200 "within rate"; done
api GET "$PO?\$top=1"
expect 429 "over rate"
RA=$(header Retry-After)
[ -n "$RA" ] && [ "$RA" -ge 1 ] && [ "$RA" -le 60 ] || fail "Retry-After '$RA'"
check 'd["error"]["code"] == "ODP_TOO_MANY_REQUESTS"' "429 envelope"
get_token other s3cret
api GET "$PO?\$top=1"
expect 200 "another client has its own window"
get_token mlc-demo demo-secret
req POST "$BASE/_sim/config" -d '{"rate_per_min":0}'
ok "rate limit per client_id with Retry-After"

# 3 s: long enough for the first call on a busy machine, short enough to wait out.
req POST "$BASE/_sim/config" -d '{"token_lifetime_s":3}'
get_token mlc-demo demo-secret
check 'd["expires_in"] == 3' "short lifetime"
api GET "$PO?\$top=1"
expect 200 "fresh short token"
sleep 3.2
api GET "$PO?\$top=1"
expect 401 "expired token"
check '"expired" in d["error"]["message"]' "expired message"
req POST "$BASE/_sim/config" -d '{"token_lifetime_s":3600}'
get_token mlc-demo demo-secret
req POST "$BASE/_sim/ifs/revoke-tokens"
api GET "$PO?\$top=1"
expect 401 "revoked token"
get_token mlc-demo demo-secret
ok "token expiry and revocation"

req POST "$BASE/_sim/config" -d '{"down":true}'
api GET "$PO?\$top=1"
expect 503 "down"
[ "$(header Retry-After)" = 1 ] || fail "503 without Retry-After: 1"
req POST "$BASE/_sim/config" -d '{"down":false,"fail_5xx_pct":100}'
api GET "$PO?\$top=1"
case "$STATUS" in 503|504) ;; *) fail "fail_5xx_pct=100 gave $STATUS" ;; esac
req POST "$BASE/_sim/config" -d '{"fail_5xx_pct":0,"fail_429_pct":100}'
api GET "$PO?\$top=1"
expect 429 "fail_429_pct"
req POST "$BASE/_sim/config" -d '{"fail_429_pct":0,"latency_ms":300}'
START=$(date +%s%N)
api GET "$PO?\$top=1"
ELAPSED=$(( ($(date +%s%N) - START) / 1000000 ))
[ "$ELAPSED" -ge 290 ] || fail "latency_ms=300 answered in $ELAPSED ms"
req POST "$BASE/_sim/config" -d '{"latency_ms":0,"bogus":1}'
expect 400 "unknown runtime setting"
req POST "$BASE/_sim/config" -d '{"latency_ms":0}'
expect 200 "latency off"
check 'd["latency_ms"] == 0 and d["down"] is False' "config echo"
ok "down, injected faults, latency, config validation"

# ---- stats, reseed, speed --------------------------------------------------------------------
req GET "$BASE/_sim/stats"
expect 200 "stats"
check 'd["requests"]["GET PurchaseOrderSet 200"] > 10 and d["requests"]["PATCH PurchaseOrderSet 412"] >= 2' \
      "request counters"
check 'd["writes"] == 4 and d["tokens_issued"] >= 5 and d["rate_rejected"] >= 1' "named counters"
check 'd["clients"]["mlc-demo"]["requests"] > 0 and d["max_rate_60s"] >= d["clients"]["mlc-demo"]["max_rate_60s"]' \
      "rates"
req POST "$BASE/_sim/reset-stats"
req GET "$BASE/_sim/stats"
check 'd["total"] == 0 and d["writes"] == 0' "reset stats"
ok "/_sim/stats and reset"

req POST "$BASE/_sim/seed" -d '{"pos":10000}'
expect 200 "reseed"
check 'd["PurchaseOrderSet"] == 10000 and d["ManSuppInvoiceSet"] == 50' "reseeded counts"
req POST "$BASE/_sim/config" -d '{"max_page_size":5000}'
api GET "$PO?\$top=1"   # warm-up
BEST=999999
for _ in 1 2 3; do
    T=$(curl -s -o "$TMP/body" -w '%{time_total}' -H "Authorization: Bearer $TOKEN" "$PO")
    MS=$(python3 -c "print(int(float('$T')*1000))")
    [ "$MS" -lt "$BEST" ] && BEST=$MS
done
check 'len(d["value"]) == 5000 and "@odata.nextLink" in d' "5000-row page"
[ "$BEST" -lt 250 ] || fail "5000-row page took $BEST ms"
ok "5000-row page of 10,000 POs in $BEST ms"

# SIGTERM stops the simulator cleanly (exit 0; under ASan this also means no leak report).
kill -TERM "$SIM_PID"
RC=0
wait "$SIM_PID" || RC=$?
SIM_PID=""
[ "$RC" = 0 ] || { tail -40 "$TMP/sim.log"; fail "mlc-sim exited with $RC after SIGTERM"; }
ok "clean exit on SIGTERM"

echo "PASS: $PASS groups"
