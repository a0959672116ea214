#!/usr/bin/env bash
# Integration test of the simulated Infor ION API gateway (M3 behind tenant DEMO_TST, SyteLine
# behind DEMO_CSI): starts bin/mlc-sim (ION side only) on port 0, drives it with curl and checks
# the answers with python3. Kills the simulator by pid on exit, also on failure.
# Usage: tests/integration/test_ion_sim.sh  (BIN=bin-san to pick another build).
source "$(dirname "$0")/simlib.sh"

start_sim ion '{"token_lifetime_s":5}'
BASE="http://127.0.0.1:$PORT"
M3V2="$BASE/DEMO_TST/M3/m3api-rest/v2/execute"
M3V1="$BASE/DEMO_TST/M3/m3api-rest/execute"
IDO="$BASE/DEMO_CSI/CSI/IDORequestService/ido"
SITE="X-Infor-MongooseConfig: DEMO_SITE"

# req METHOD URL [curl args...]: body in $TMP/body, headers in $TMP/headers, status in $STATUS.
req() {
    local method=$1 url=$2
    shift 2
    STATUS=$(curl -s -g -X "$method" -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' \
             "$@" "$url") || fail "curl $method $url failed"
}
# m3 URL [curl args]: GET with the DEMO_TST token. ido load|update IDO [curl args]: with the
# DEMO_CSI token and the Mongoose configuration header (load: -G --data-urlencode k=v ...).
m3() { local u=$1; shift; req GET "$u" -H "Authorization: Bearer $TST" "$@"; }
ido_load() { local i=$1; shift; req GET "$IDO/load/$i" -G -H "Authorization: Bearer $CSI" -H "$SITE" "$@"; }
ido_update() {
    req POST "$IDO/update/$1?refresh=true" -H "Authorization: Bearer $CSI" -H "$SITE" \
        -H 'Content-Type: application/json' -d "$2"
}
expect() { [ "$STATUS" = "$1" ] || fail "$2: expected HTTP $1, got $STATUS"; }
# py EXPR: evaluates a python expression with d = the JSON body; prints the result.
py() { python3 -c "import json,re,sys; d=json.load(open('$TMP/body')); print($1)"; }
check() { [ "$(py "bool($1)")" = "True" ] || fail "$2: $1 is not true"; }
header() { grep -i "^$1:" "$TMP/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
# token TI: password grant with the demo credentials (client as form fields).
token() {
    req POST "$BASE/$1/as/token.oauth2" -d grant_type=password --data-urlencode "username=$1#svc-access-key" \
        -d password=demo-service-secret --data-urlencode "client_id=$1~mlc-demo" \
        -d client_secret=demo-client-secret
    expect 200 "token for $1"
}

# ---- authorization server --------------------------------------------------------------------
TOKEN_URL="$BASE/DEMO_TST/as/token.oauth2"
GOOD=(--data-urlencode 'username=DEMO_TST#svc-access-key' -d password=demo-service-secret)
CLIENT=(--data-urlencode 'client_id=DEMO_TST~mlc-demo' -d client_secret=demo-client-secret)
req POST "$TOKEN_URL" -d grant_type=password "${GOOD[@]}" --data-urlencode 'client_id=DEMO_TST~mlc-demo' -d client_secret=bad
expect 401 "wrong client secret"
check 'd["error"] == "invalid_client" and len(d["error_description"]) > 0' "wrong client secret error"
req POST "$TOKEN_URL" -d grant_type=password "${GOOD[@]}" --data-urlencode 'client_id=DEMO_CSI~mlc-demo' -d client_secret=demo-client-secret
expect 401 "client of another tenant"
req POST "$TOKEN_URL" -d grant_type=password "${CLIENT[@]}" --data-urlencode 'username=DEMO_TST#svc-access-key' -d password=nope
expect 400 "wrong service-account secret key"
check 'd["error"] == "invalid_grant"' "wrong sask error"
req POST "$TOKEN_URL" -d grant_type=password "${CLIENT[@]}" --data-urlencode 'username=DEMO_CSI#svc-access-key' -d password=demo-service-secret
expect 400 "wrong service-account access key"
check 'd["error"] == "invalid_grant"' "wrong saak error"
req POST "$TOKEN_URL" -d grant_type=client_credentials "${CLIENT[@]}"
expect 400 "unsupported grant"
check 'd["error"] == "unsupported_grant_type"' "unsupported grant error"
req POST "$TOKEN_URL" "${CLIENT[@]}" "${GOOD[@]}"
expect 400 "missing grant_type"
check 'd["error"] == "invalid_request"' "missing grant error"
req POST "$TOKEN_URL" -H 'Content-Type: application/json' -d '{}'
expect 400 "JSON body"
req GET "$TOKEN_URL"
expect 405 "GET on the token endpoint"
req POST "$TOKEN_URL" -u 'DEMO_TST~mlc-demo:demo-client-secret' -d grant_type=password "${GOOD[@]}"
expect 200 "HTTP Basic client credentials"
check 'd["token_type"] == "Bearer" and d["expires_in"] == 5 and len(d["access_token"]) >= 32 and len(d["refresh_token"]) >= 32' \
      "token response"
[ "$(header Cache-Control)" = "no-store" ] || fail "Cache-Control: no-store"
token DEMO_TST
TST=$(py 'd["access_token"]')
REFRESH=$(py 'd["refresh_token"]')
token DEMO_CSI
CSI=$(py 'd["access_token"]')
# The demo .ionapi files work as they are (on this run's port): token URL pu+ot, API base iu/ti.
for f in deploy/demo/demo-m3.ionapi deploy/demo/demo-syteline.ionapi; do
    python3 - "$f" "$PORT" <<'PY' || fail "$f does not authenticate"
import base64, json, sys, urllib.parse, urllib.request
a = json.load(open(sys.argv[1]))
fix = lambda u: u.replace(":18082", ":" + sys.argv[2])
assert {"ti","cn","ci","cs","iu","pu","oa","ot","or","saak","sask","dt","ev","v"} <= set(a)
form = urllib.parse.urlencode({"grant_type": "password", "username": a["saak"],
                               "password": a["sask"], "client_id": a["ci"],
                               "client_secret": a["cs"]}).encode()
tok = json.load(urllib.request.urlopen(fix(a["pu"] + a["ot"]), form))
m3 = a["ti"] == "DEMO_TST"
path = ("/M3/m3api-rest/v2/execute/CRS620MI/LstSuppliers;maxrecs=1" if m3 else
        "/CSI/IDORequestService/ido/load/SLVendors?recordcap=1")
r = urllib.request.Request(fix(a["iu"]) + "/" + a["ti"] + path, headers={
    "Authorization": "Bearer " + tok["access_token"], "X-Infor-MongooseConfig": "DEMO_SITE"})
d = json.load(urllib.request.urlopen(r))
assert (d["nrOfSuccessfullTransactions"] == 1) if m3 else d["Success"], d
PY
done
ok "token endpoint: all four secrets checked, form and Basic, OAuth error bodies, demo .ionapi files"

# Refresh tokens rotate: the new pair works, the used refresh token is spent.
req POST "$TOKEN_URL" -u 'DEMO_TST~mlc-demo:demo-client-secret' -d grant_type=refresh_token -d "refresh_token=$REFRESH"
expect 200 "refresh grant"
check 'd["expires_in"] == 5 and d["refresh_token"] != "'"$REFRESH"'"' "rotated refresh token"
TST2=$(py 'd["access_token"]')
REFRESH2=$(py 'd["refresh_token"]')
req POST "$TOKEN_URL" -u 'DEMO_TST~mlc-demo:demo-client-secret' -d grant_type=refresh_token -d "refresh_token=$REFRESH"
expect 400 "reused refresh token"
check 'd["error"] == "invalid_grant"' "reused refresh token error"
req POST "$BASE/DEMO_CSI/as/token.oauth2" -u 'DEMO_CSI~mlc-demo:demo-client-secret' -d grant_type=refresh_token -d "refresh_token=$REFRESH2"
expect 400 "refresh token of another tenant"
req GET "$M3V2/CRS620MI/LstSuppliers;maxrecs=1" -H "Authorization: Bearer $TST2"
expect 200 "refreshed access token works"
ok "refresh_token grant (rotating, tenant-bound)"

# Tokens are per tenant; revocation (access alone; refresh with its grant); expiry.
req GET "$IDO/load/SLPos" -H "Authorization: Bearer $TST" -H "$SITE"
expect 401 "DEMO_TST token on DEMO_CSI"
check 'd["status"] == 401 and "DEMO_TST" in d["message"]' "tenant-bound token message"
[ "$(header WWW-Authenticate)" = 'Bearer error="invalid_token"' ] || fail "WWW-Authenticate"
req GET "$M3V2/CRS620MI/LstSuppliers"
expect 401 "no token"
req POST "$BASE/DEMO_TST/as/revoke_token.oauth2" -u 'DEMO_TST~mlc-demo:demo-client-secret' -d "token=$TST2" -d token_type_hint=access_token
expect 200 "revoke access token"
req GET "$M3V2/CRS620MI/LstSuppliers" -H "Authorization: Bearer $TST2"
expect 401 "revoked access token"
check '"revoked" in d["message"]' "revoked message"
token DEMO_TST
T3=$(py 'd["access_token"]')
R3=$(py 'd["refresh_token"]')
req GET "$BASE/DEMO_TST/as/revoke_token.oauth2?token=$R3&token_type_hint=refresh_token"
expect 200 "revoke refresh token (GET, no client auth)"
req GET "$M3V2/CRS620MI/LstSuppliers" -H "Authorization: Bearer $T3"
expect 401 "access token of a revoked grant"
req POST "$TOKEN_URL" -u 'DEMO_TST~mlc-demo:demo-client-secret' -d grant_type=refresh_token -d "refresh_token=$R3"
expect 400 "revoked refresh token"
req POST "$BASE/DEMO_TST/as/revoke_token.oauth2" -u 'DEMO_TST~mlc-demo:wrong' -d "token=$TST"
expect 401 "revoke with a wrong client secret"
req POST "$BASE/DEMO_TST/as/revoke_token.oauth2" -d token=unknown
expect 200 "revoke of an unknown token (RFC 7009)"
req POST "$BASE/DEMO_TST/as/revoke_token.oauth2" -d token_type_hint=access_token
expect 400 "revoke without token"
req POST "$BASE/_sim/config" -d '{"token_lifetime_s":1,"issue_refresh_tokens":false}'
expect 200 "short lifetime"
token DEMO_TST
check 'd["expires_in"] == 1 and "refresh_token" not in d' "no refresh token when switched off"
SHORT=$(py 'd["access_token"]')
sleep 1.2
req GET "$M3V2/CRS620MI/LstSuppliers" -H "Authorization: Bearer $SHORT"
expect 401 "expired token"
check '"expired" in d["message"]' "expired message"
req POST "$BASE/_sim/config" -d '{"token_lifetime_s":3600,"issue_refresh_tokens":true}'
token DEMO_TST
TST=$(py 'd["access_token"]')
token DEMO_CSI
CSI=$(py 'd["access_token"]')
req GET "$BASE/NOPE/M3/m3api-rest/v2/execute/CRS620MI/LstSuppliers" -H "Authorization: Bearer $TST"
expect 404 "unknown tenant"
req GET "$BASE/DEMO_TST/CSI/IDORequestService/ido/load/SLPos" -H "Authorization: Bearer $TST" -H "$SITE"
expect 404 "IDO under the M3 tenant"
ok "tenant-bound bearer tokens, revocation (grant-wide for refresh tokens), expiry"

# ---- M3 --------------------------------------------------------------------------------------
m3 "$M3V2/PPS001MI/ListHeadBasic?CONO=100"
expect 200 "ListHeadBasic"
check 'd["nrOfSuccessfullTransactions"] == 1 and d["nrOfFailedTransactions"] == 0 and d["wasTerminated"] is False' \
      "v2 envelope"
check 'd["results"][0]["transaction"] == "ListHeadBasic" and d["results"][0]["errorMessage"] is None' "v2 result"
check 'len(d["results"][0]["records"]) == 100' "default maxrecs 100"
check 'd["results"][0]["records"][0]["PUNO"] == "0000004001" and d["results"][0]["records"][99]["PUNO"] == "0000004100"' \
      "PUNO ten digits, key order"
check 'all(len(r["SUNO"]) == 10 and len(r["SUNM"]) == 36 and len(r["CHID"]) == 10 for r in d["results"][0]["records"])' \
      "alphanumeric fields right-padded to their length"
check 'all(re.fullmatch(r"\d+\.\d\d", r["NTAM"]) and re.fullmatch(r"20\d{6}", r["PUDT"]) and re.fullmatch(r"20\d{6}", r["LMDT"]) for r in d["results"][0]["records"])' \
      "amounts as 1234.50, dates yyyyMMdd"
check 'r["CONO"] == "100" and r["DIVI"] == "AAA" and r["CUCD"] in ("EUR","USD","SEK","GBP") and r["PUST"] in ("15","20","35","50","75","85") if (r := d["results"][0]["records"][7]) else False' \
      "company, division, currency, status"
# The connector's paging: ask again from the last key, drop the first record when it equals it,
# stop on a short page.
python3 - "$M3V2" "$TST" <<'PY' || fail "paging through 300 POs"
import json, sys, urllib.request
base, tok = sys.argv[1], sys.argv[2]
seen, last = [], None
for _ in range(10):
    url = base + "/PPS001MI/ListHeadBasic;maxrecs=100?CONO=100" + (f"&PUNO={last}" if last else "")
    d = json.load(urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": "Bearer " + tok})))
    recs = d["results"][0]["records"]
    got = len(recs)
    if last and recs and recs[0]["PUNO"].rstrip() == last:
        recs = recs[1:]
    seen += [r["PUNO"].rstrip() for r in recs]
    if got < 100:
        break
    last = seen[-1]
assert len(seen) == 300 == len(set(seen)), len(seen)
assert seen == sorted(seen) and seen[0] == "0000004001" and seen[-1] == "0000004300"
PY
m3 "$M3V2/PPS001MI/ListHeadBasic;maxrecs=0?CONO=100"
check 'len(d["results"][0]["records"]) == 300' "maxrecs=0 = all"
m3 "$M3V2/PPS001MI/ListHeadBasic;maxrecs=3?CONO=100&PUNO=0000004299"
check '[r["PUNO"] for r in d["results"][0]["records"]] == ["0000004299","0000004300"]' "start key >= given key"
m3 "$M3V2/PPS001MI/ListHeadBasic;maxrecs=20000?CONO=100"
expect 400 "maxrecs over max_maxrecs"
check 'd["nrOfFailedTransactions"] == 1 and "20000" in d["results"][0]["errorMessage"]' "maxrecs error"
m3 "$M3V2/APS450MI/LstInvBatchNo;maxrecs=50;returncols=INBN,SINO,CUAM,AIT1,AIT2,SUPA,APCD;excludempty=true?DIVI=AAA&INBN=95"
expect 200 "LstInvBatchNo"
check '[r["INBN"] for r in d["results"][0]["records"]] == [str(i) for i in range(95, 101)]' "numeric key from 95"
check 'all(set(r) <= {"INBN","SINO","CUAM","AIT1","AIT2","SUPA","APCD"} and len(r["SINO"]) == 24 and len(r["AIT1"]) == 8 for r in d["results"][0]["records"])' \
      "returncols"
check 'all(("APCD" in r) == (r["SUPA"] == "90") for r in d["results"][0]["records"])' "excludempty leaves blank fields out"
m3 "$M3V2/CRS620MI/LstSuppliers;maxrecs=100"
check 'len(d["results"][0]["records"]) == 30 and d["results"][0]["records"][0]["SUNO"] == "S1001     "' "30 suppliers"
m3 "$M3V1/PPS001MI/ListHeadBasic;maxrecs=2?CONO=100"
expect 200 "v1 list"
check 'd["Program"] == "PPS001MI" and d["Transaction"] == "ListHeadBasic" and len(d["MIRecord"]) == 2' "v1 envelope"
check 'd["MIRecord"][1]["RowIndex"] == 1 and {"Name":"PUNO","Value":"0000004002"} in d["MIRecord"][1]["NameValue"]' "v1 records"
check '{"@name":"PUNO","@type":"A","@length":10,"@description":"Purchase order number"} in d["Metadata"]["Field"]' "v1 metadata"
ok "M3 lists: v2 and v1 bodies, padding, maxrecs, start keys, returncols, excludempty"

m3 "$M3V2/PPS001MI/ListHeadBasic"
expect 200 "missing CONO (business error)"
check 'd["nrOfFailedTransactions"] == 1 and d["results"][0]["errorField"] == "CONO" and d["results"][0]["errorCode"] == "WCO0102" and d["results"][0]["errorMessage"] == "Company must be entered"' \
      "missing mandatory input"
m3 "$M3V2/PPS001MI/ListHeadBasic?CONO=999"
expect 200 "unknown company"
check 'd["results"][0]["errorMessage"] == "Company 999 does not exist"' "unknown company message"
m3 "$M3V1/PPS200MI/GetHead?PUNO=0000009999"
expect 200 "v1 business error"
check 'd["@type"] == "ServerReturnedNOK" and d["@field"] == "PUNO" and "does not exist" in d["Message"]' "v1 NOK"
m3 "$M3V2/PPS999MI/ListHeadBasic"
expect 400 "unknown program"
check 'd["results"][0]["errorMessage"] == "Program PPS999MI does not exist"' "unknown program message"
m3 "$M3V1/PPS001MI/LstNothing"
expect 400 "unknown transaction (v1)"
check 'd["@type"] == "ServerReturnedNOK" and "LstNothing" in d["Message"]' "v1 unknown transaction"
m3 "$M3V2/PPS001MI/ListHeadBasic?CONO=100&BOGUS=1"
expect 400 "unknown input field"
m3 "$M3V2/PPS001MI/ListHeadBasic;top=5?CONO=100"
expect 400 "unknown matrix parameter"
m3 "$M3V2/PPS001MI/ListHeadBasic;returncols=PUNO,NOPE?CONO=100"
expect 400 "unknown returncols field"
req POST "$M3V2/PPS001MI/ListHeadBasic?CONO=100" -H "Authorization: Bearer $TST"
expect 405 "POST execute"
ok "M3 errors: business errors in a 200, request errors 400, v1 ServerReturnedNOK"

m3 "$M3V2/APS450MI/LstInvBatchNo;maxrecs=0;returncols=INBN,SUPA?DIVI=AAA"
INBN=$(py 'next(r["INBN"] for r in d["results"][0]["records"] if r["SUPA"] == "20")')
m3 "$M3V2/APS450MI/GetHead?DIVI=AAA&INBN=$INBN"
BEFORE_CHNO=$(py 'd["results"][0]["records"][0]["CHNO"]')
m3 "$M3V2/APS450MI/ApproveInvoice?DIVI=AAA&INBN=$INBN"
expect 200 "ApproveInvoice"
check 'd["nrOfSuccessfullTransactions"] == 1 and d["results"][0]["records"] == []' "approve result"
m3 "$M3V2/APS450MI/GetHead?DIVI=AAA&INBN=$INBN"
TODAY=$(date -u +%Y%m%d)
check 'r["SUPA"] == "90" and r["APCD"].rstrip() == "MLCDEMO" and r["CHID"].rstrip() == "MLCDEMO" and r["LMDT"] == "'"$TODAY"'" and int(r["CHNO"]) == '"$BEFORE_CHNO"' + 1 if (r := d["results"][0]["records"][0]) else False' \
      "approved: SUPA 90, APCD, CHID, LMDT today, CHNO + 1"
m3 "$M3V2/APS450MI/ApproveInvoice?DIVI=AAA&INBN=$INBN"
expect 200 "second ApproveInvoice"
check 'd["nrOfFailedTransactions"] == 1 and "already approved" in d["results"][0]["errorMessage"]' "already approved"
m3 "$M3V2/APS450MI/ApproveInvoice?DIVI=BBB&INBN=$INBN"
check 'd["results"][0]["errorMessage"] == "Division BBB does not exist"' "unknown division"
req GET "$BASE/_sim/ion/record?tenant=DEMO_TST&table=invoice&key=$INBN"
expect 200 "record with write log"
check 'd["fields"]["SUPA"] == "90" and d["write_log"][0]["via"] == "APS450MI/ApproveInvoice" and d["write_log"][0]["changes"]["SUPA"] == "90" and d["write_log"][1]["refused"] == "already approved"' \
      "write log"
ok "APS450MI/ApproveInvoice (SUPA 90, write log, no second approval)"

# ---- SyteLine IDOs ---------------------------------------------------------------------------
req GET "$IDO/load/SLPos" -H "Authorization: Bearer $CSI"
expect 400 "missing X-Infor-MongooseConfig"
check 'd["Success"] is False and "X-Infor-MongooseConfig" in d["Message"]' "missing config message"
req GET "$IDO/load/SLPos" -H "Authorization: Bearer $CSI" -H "X-Infor-MongooseConfig: OTHER"
expect 400 "wrong configuration"
ido_load SLPos
expect 200 "SLPos default load"
check 'd["Success"] is True and d["Message"] is None and len(d["Items"]) == 200 and d["MoreRowsExist"] is False' \
      "default recordcap 200, all 200 POs"
check 'd["Items"][0]["PoNum"] == "PO00004001" and re.fullmatch(r"V\d{6}", d["Items"][0]["VendNum"])' "PoNum, VendNum"
check 'all(re.fullmatch(r"PBT=\[po\] po\.ID=\[[0-9A-F-]{36}\] po\.DT=\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\]", i["_ItemId"]) for i in d["Items"])' \
      "_ItemId form"
check 'all(re.fullmatch(r"\d{8} \d\d:\d\d:\d\d\.\d{3}", i["RecordDate"]) and i["OrderDate"].endswith(" 00:00:00.000") and re.fullmatch(r"\d+\.\d{8}", i["PoTotal"]) and i["Stat"] in "POFC" for i in d["Items"])' \
      "IDO dates and decimals"
python3 - "$IDO" "$CSI" <<'PY' || fail "bookmark paging"
import json, sys, urllib.parse, urllib.request
base, tok = sys.argv[1], sys.argv[2]
def load(ido, **q):
    url = base + "/load/" + ido + "?" + urllib.parse.urlencode(q)
    r = urllib.request.Request(url, headers={"Authorization": "Bearer " + tok, "X-Infor-MongooseConfig": "DEMO_SITE"})
    d = json.load(urllib.request.urlopen(r))
    assert d["Success"] is True, d
    return d
def all_pages(ido, **q):
    items, d = [], load(ido, loadtype="FIRST", **q)
    while True:
        items += d["Items"]
        if not d["MoreRowsExist"]:
            return items
        d = load(ido, loadtype="NEXT", bookmark=d["Bookmark"], **q)
pos = [i["PoNum"] for i in all_pages("SLPos", properties="PoNum,Stat", recordcap=30)]
assert len(pos) == 200 == len(set(pos)) and pos == sorted(pos), pos[:5]
v = all_pages("SLVchHdrs", properties="Voucher,RecordDate", orderby="RecordDate DESC", recordcap=7)
keys = [(x["RecordDate"], int(x["Voucher"])) for x in v]
assert len(v) == 100 == len({k[1] for k in keys}) and keys == sorted(keys, reverse=True), keys[:3]
num = [int(x["Voucher"]) for x in all_pages("SLVchHdrs", properties="Voucher", recordcap=40)]
assert num == list(range(1, 101)), num[:12]
f = all_pages("SLVchHdrs", properties="Voucher,Stat,InvAmt", filter="Stat = 'A' AND InvAmt >= 1000", recordcap=5)
assert f and all(x["Stat"] == "A" and float(x["InvAmt"]) >= 1000 for x in f)
mid = sorted(x["RecordDate"] for x in v)[50]
late = load("SLVchHdrs", properties="Voucher,RecordDate", filter=f"RecordDate > '{mid}'", recordcap=0)["Items"]
assert len(late) == 49 and all(x["RecordDate"] > mid for x in late), len(late)
iso = mid[:4] + "-" + mid[4:6] + "-" + mid[6:8] + "T" + mid[9:]
assert len(load("SLVchHdrs", properties="Voucher", filter=f"RecordDate > '{iso}'", recordcap=0)["Items"]) == 49
assert len(load("SLPos", recordcap=0)["Items"]) == 200 and len(load("SLPos", recordcap=-1)["Items"]) == 200
assert len(load("SLVendors", properties="VendNum,Name", recordcap=0)["Items"]) == 30
PY
ok "IDO loads: properties, filter, orderby, recordcap, FIRST/NEXT bookmarks, _ItemId"

ido_load SLVchHdrs --data-urlencode "filter=Foo = 'A'"
expect 200 "unknown column"
check 'd["Success"] is False and d["Message"] == "Invalid column name '"'Foo'"'." and d["Items"] is None' "unknown column message"
ido_load SLVchHdrs --data-urlencode "filter=Stat = 'A' OR Stat = 'P'"
check 'd["Success"] is False and "AND only" in d["Message"]' "OR refused"
ido_load SLPos --data-urlencode "properties=PoNum,Nope"
check 'd["Success"] is False and "Nope" in d["Message"]' "unknown property"
ido_load SLPos --data-urlencode "orderby=PoNum,Stat"
check 'd["Success"] is False' "two orderby columns"
ido_load SLPos --data-urlencode "loadtype=NEXT"
check 'd["Success"] is False and "Bookmark" in d["Message"]' "NEXT without bookmark"
ido_load SLPos --data-urlencode "recordcap=-5"
check 'd["Success"] is False' "bad recordcap"
ido_load SLNothing
check 'd["Success"] is False and "SLNothing" in d["Message"]' "unknown IDO"
ok "IDO load errors: Success false with a Message"

ido_load SLPos --data-urlencode "properties=PoNum,Stat" --data-urlencode "filter=Stat = 'P'" --data-urlencode "recordcap=2"
PONUM=$(py 'd["Items"][0]["PoNum"]')
ITEM=$(py 'd["Items"][0]["_ItemId"]')
CHANGE='{"Changes":[{"Action":2,"ItemId":"'"$ITEM"'","Properties":[{"Name":"Stat","Value":"O","Modified":true,"IsNull":false}],"UpdateLocking":1}]}'
ido_update SLPos "$CHANGE"
expect 200 "IDO update"
check 'd["Success"] is True and d["Message"] is None and d["RefreshItems"][0]["Stat"] == "O" and d["RefreshItems"][0]["UpdatedBy"] == "MLCDEMO"' \
      "update applied"
NEWITEM=$(py 'd["RefreshItems"][0]["_ItemId"]')
[ "$NEWITEM" != "$ITEM" ] || fail "ItemId did not change on update"
ido_update SLPos "$CHANGE"
expect 200 "stale update"
check 'd["Success"] is False and "modified by another user" in d["Message"]' "stale ItemId refused"
BAD='{"Changes":[{"Action":2,"ItemId":"'"$NEWITEM"'","Properties":[{"Name":"PoNum","Value":"X","Modified":true,"IsNull":false}],"UpdateLocking":1}]}'
ido_update SLPos "$BAD"
check 'd["Success"] is False and "read-only" in d["Message"]' "key property refused"
ido_update SLPos "${BAD/PoNum/Bogus}"
check 'd["Success"] is False and "Bogus" in d["Message"]' "unknown property refused"
BADSTAT='{"Changes":[{"Action":2,"ItemId":"'"$NEWITEM"'","Properties":[{"Name":"Stat","Value":"Z","Modified":true,"IsNull":false}],"UpdateLocking":1}]}'
ido_update SLPos "$BADSTAT"
check 'd["Success"] is False and "not one of P O F C" in d["Message"]' "status value checked"
ido_update SLPos "${BADSTAT/\"Action\":2/\"Action\":1}"
check 'd["Success"] is False and "Action 1" in d["Message"]' "insert refused"
ido_update SLPos '{"nothing":1}'
expect 400 "update without Changes"
# A change made inside SyteLine moves the ItemId: the connector's copy becomes stale.
req POST "$BASE/_sim/ion/modify" -d '{"tenant":"DEMO_CSI","table":"po","key":"'"$PONUM"'","changes":{"Buyer":"PNOVAK"}}'
expect 200 "modify inside SyteLine"
check 'd["fields"]["Buyer"] == "PNOVAK" and d["fields"]["UpdatedBy"] == "SIMUSER" and d["_ItemId"] != "'"$NEWITEM"'"' \
      "modification stamps"
ido_update SLPos "${CHANGE/$ITEM/$NEWITEM}"
check 'd["Success"] is False and "modified by another user" in d["Message"]' "stale after an ERP change"
req GET "$BASE/_sim/ion/record?tenant=DEMO_CSI&table=po&key=$PONUM"
check '[e["via"] for e in d["write_log"]] == ["ido/update","ido/update","sim","ido/update"] and d["write_log"][1]["refused"] == "stale ItemId"' \
      "IDO write log"
ok "IDO update: ItemId locking, Action 2 only, read-only and unknown properties, value checks"

# ---- gateway faults, statistics --------------------------------------------------------------
req POST "$BASE/_sim/reset-stats"
req POST "$BASE/_sim/config" -d '{"rate_per_min":3}'
for i in 1 2 3; do m3 "$M3V2/CRS620MI/LstSuppliers;maxrecs=1"; expect 200 "request $i within the rate"; done
m3 "$M3V2/CRS620MI/LstSuppliers;maxrecs=1"
expect 429 "over rate_per_min"
RA=$(header Retry-After)
[ "$RA" -ge 55 ] && [ "$RA" -le 60 ] || fail "Retry-After $RA"
check 'd["status"] == 429 and "DEMO_TST" in d["message"]' "429 body"
ido_load SLVendors --data-urlencode recordcap=1
expect 200 "the other tenant has its own budget"
req POST "$BASE/_sim/config" -d '{"rate_per_min":0,"fail_500_pct":100}'
m3 "$M3V2/CRS620MI/LstSuppliers;maxrecs=1"
expect 500 "injected 500"
check 'd["status"] == 500 and d["error"] == "Internal Server Error" and "injected" in d["message"]' "500 body"
req POST "$BASE/_sim/config" -d '{"fail_500_pct":0,"fail_429_pct":100}'
m3 "$M3V2/CRS620MI/LstSuppliers;maxrecs=1"
expect 429 "injected 429"
[ "$(header Retry-After)" = 1 ] || fail "injected 429 Retry-After"
req POST "$BASE/_sim/config" -d '{"fail_429_pct":0,"down":true}'
m3 "$M3V2/CRS620MI/LstSuppliers;maxrecs=1"
expect 503 "down"
req POST "$BASE/_sim/config" -d '{"down":false,"latency_ms":200}'
START=$(date +%s%N)
m3 "$M3V2/CRS620MI/LstSuppliers;maxrecs=1"
ELAPSED=$(( ($(date +%s%N) - START) / 1000000 ))
[ "$ELAPSED" -ge 190 ] || fail "latency_ms=200 answered in $ELAPSED ms"
req POST "$BASE/_sim/config" -d '{"latency_ms":0,"fail_500_pct":101}'
expect 400 "bad fault percentage"
req POST "$BASE/_sim/config" -d '{"bogus":1}'
expect 400 "unknown setting"
req GET "$BASE/_sim/config"
check 'd["latency_ms"] == 200 and d["max_maxrecs"] == 10000 and d["issue_refresh_tokens"] is True' "config unchanged by a refused update"
req POST "$BASE/_sim/config" -d '{"latency_ms":0}'
ok "gateway: per-tenant 429 with Retry-After, injected 500/429, down, latency, config validation"

req GET "$BASE/_sim/stats"
expect 200 "stats"
check 'd["requests"]["GET M3 v2 CRS620MI/LstSuppliers 200"] == 4 and d["requests"]["GET M3 v2 CRS620MI/LstSuppliers 429"] == 2' \
      "requests by route and status"
check 'd["rate_rejected"] == 1 and d["faults_injected"] == 2 and d["tenants"]["DEMO_TST"]["requests"] >= 7' "gateway counters"
check 'd["rows"]["DEMO_TST"] == {"po":300,"invoice":100,"supplier":30} and d["rows"]["DEMO_CSI"] == {"po":200,"invoice":100,"supplier":30}' \
      "row counts"
req POST "$BASE/_sim/reset-stats"
m3 "$M3V2/APS450MI/LstInvBatchNo;maxrecs=0;returncols=INBN,SUPA?DIVI=AAA"
INBN=$(py 'next(r["INBN"] for r in d["results"][0]["records"] if r["SUPA"] != "90")')
m3 "$M3V2/APS450MI/ApproveInvoice?DIVI=AAA&INBN=$INBN"
token DEMO_TST
R=$(py 'd["refresh_token"]')
req POST "$TOKEN_URL" -u 'DEMO_TST~mlc-demo:demo-client-secret' -d grant_type=refresh_token -d "refresh_token=$R"
R=$(py 'd["refresh_token"]')
req POST "$BASE/DEMO_TST/as/revoke_token.oauth2" -d "token=$R" -d token_type_hint=refresh_token
req GET "$BASE/_sim/stats"
check 'd["tokens_issued"] == 2 and d["refreshes"] == 1 and d["revocations"] == 1 and d["writes"] == 1' \
      "tokens, refreshes, revocations, writes"
check 'd["requests"]["POST token 200"] == 2 and d["requests"]["POST revoke 200"] == 1 and d["requests"]["GET M3 v2 APS450MI/ApproveInvoice 200"] == 1' \
      "auth routes counted"
ok "/_sim/stats counters and reset"

# ---- records made inside the ERP, reseed, speed ----------------------------------------------
req POST "$BASE/_sim/ion/modify" -d '{"tenant":"DEMO_TST","table":"po","key":"0000004301","create":true,"changes":{"PUST":"20","PUSL":"20"}}'
expect 200 "new PO made inside M3"
check 'd["fields"]["PUNO"] == "0000004301" and d["fields"]["PUST"] == "20" and d["fields"]["CHID"] == "SIMUSER"' "created PO"
m3 "$M3V2/PPS001MI/ListHeadBasic;maxrecs=5?CONO=100&PUNO=0000004300"
check '[r["PUNO"] for r in d["results"][0]["records"]] == ["0000004300","0000004301"]' "new PO listed in key order"
req POST "$BASE/_sim/ion/modify" -d '{"tenant":"DEMO_TST","table":"po","key":"0000004302","changes":{}}'
expect 404 "modify of an unknown key"
req POST "$BASE/_sim/ion/modify" -d '{"tenant":"DEMO_TST","table":"po","key":"0000004301","changes":{"PUST":"99"}}'
expect 400 "modify with a bad value"
req POST "$BASE/_sim/ion/modify" -d '{"tenant":"DEMO_XX","table":"po","key":"1"}'
expect 400 "modify of an unknown tenant"
ok "/_sim/ion/modify creates and checks records"

req POST "$BASE/_sim/seed" -d '{"m3":{"pos":10000},"syteline":{"pos":10000}}'
expect 200 "reseed"
check 'd["DEMO_TST"]["po"] == 10000 and d["DEMO_CSI"]["po"] == 10000 and d["DEMO_TST"]["invoice"] == 100' "reseeded counts"
req POST "$BASE/_sim/seed" -d '{"m3":{"orders":1}}'
expect 400 "bad seed member"
best_ms() {   # best_ms URL [curl args]: the fastest of 5 answers, in ms
    local best=999999 t ms
    for _ in 1 2 3 4 5; do
        t=$(curl -s -o "$TMP/body" -w '%{time_total}' "$@")
        ms=$(python3 -c "print(int(float('$t')*1000))")
        [ "$ms" -lt "$best" ] && best=$ms
    done
    echo "$best"
}
M3MS=$(best_ms -H "Authorization: Bearer $TST" "$M3V2/PPS001MI/ListHeadBasic;maxrecs=1000?CONO=100&PUNO=0000008000")
check 'len(d["results"][0]["records"]) == 1000 and d["results"][0]["records"][0]["PUNO"] == "0000008000"' "1000-record M3 page"
IDOMS=$(best_ms -G -H "Authorization: Bearer $CSI" -H "$SITE" "$IDO/load/SLPos" --data-urlencode recordcap=1000 \
        --data-urlencode "filter=PoNum >= 'PO00008000'")
check 'len(d["Items"]) == 1000 and d["MoreRowsExist"] is True' "1000-row IDO page"
[ "$M3MS" -lt 20 ] && [ "$IDOMS" -lt 20 ] || fail "1000-record pages took M3 $M3MS ms, IDO $IDOMS ms"
ok "1000-record pages of 10,000 POs: M3 $M3MS ms, IDO $IDOMS ms"

# SIGTERM stops the simulator cleanly (exit 0; under ASan this also means no leak report).
kill -TERM "$SIM_PID"
RC=0
wait "$SIM_PID" || RC=$?
SIM_PID=""
[ "$RC" = 0 ] || { tail -40 "$TMP/sim.log"; fail "mlc-sim exited with $RC after SIGTERM"; }
ok "clean exit on SIGTERM"

echo "PASS: $PASS groups"
