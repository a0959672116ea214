#!/usr/bin/env bash
# Infor through the ION simulator: the demo M3 and SyteLine tenants (deploy/demo) become Asana
# tasks (M3: 300 POs + 100 invoices paged from the last key; SyteLine: 200 POs + 100 vouchers
# paged by bookmark), a re-sync of unchanged data writes nothing, a row changed in M3 / SyteLine
# updates its task (SyteLine: the new _ItemId is the record's etag), and `mlc tenant add` with
# --ionapi revokes the cached ION tokens when the credentials change.
source "$(dirname "$0")/lib.sh"
stack_env
M3_PROJECT=1200000000000102
CSI_PROJECT=1200000000000103
ION_PORT=$(free_port)
ION_URL="http://127.0.0.1:$ION_PORT"

"$MLC" up --demo --no-sync >/dev/null
start_extra mlc-sim --only ion --ion-port "$ION_PORT" >/dev/null
wait_until 10 curl -sf -o /dev/null "$ION_URL/_sim/stats"

# The demo tenant files, pointed at the ports of this run.
point() {
  python3 - "$ROOT/deploy/demo/$1" "$ION_PORT" "$ASANA_URL" > "$MLC_RUN_DIR/$1" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
ion = t["erp"]["ionapi"]
for k in ("iu", "pu"):
    ion[k] = ion[k].replace("127.0.0.1:18082", "127.0.0.1:" + sys.argv[2])
t["asana"]["base_url"] = sys.argv[3] + "/api/1.0"
# Only this test's syncs run: a scheduled poll would overwrite the figures checked below.
t["flows"] = [{"name": f, "schedule": "weekly on sun at 03:00"}
              for f in ("purchase_orders", "supplier_invoices")]
print(json.dumps(t))
PY
}
point tenant-m3.json
point tenant-syteline.json
"$MLC" tenant add "$MLC_RUN_DIR/tenant-m3.json" | grep -q "tenant demo-m3 stored (m3, 2 flows" \
  || fail "demo-m3 not stored"
"$MLC" tenant add "$MLC_RUN_DIR/tenant-syteline.json" | grep -q "tenant demo-syteline stored (syteline" \
  || fail "demo-syteline not stored"

start=$SECONDS
"$MLC" sync demo-m3 --wait --timeout 120 >/dev/null
"$MLC" sync demo-syteline --wait --timeout 120 >/dev/null
[ "$(task_count $M3_PROJECT)" -eq 400 ] || fail "M3: expected 400 tasks, got $(task_count $M3_PROJECT)"
[ "$(task_count $CSI_PROJECT)" -eq 300 ] || fail "SyteLine: expected 300 tasks, got $(task_count $CSI_PROJECT)"
ok "400 M3 and 300 SyteLine tasks after $((SECONDS - start)) s"

# M3 paged from the last key: pages of 100 records (4 for 300 POs: the last one repeats a key only).
pages=$("${REDIS_CLI[@]}" HGET 'mlc:{demo-m3}:sync:purchase_orders' pages)
records=$("${REDIS_CLI[@]}" HGET 'mlc:{demo-m3}:sync:purchase_orders' records)
[ "$records" -eq 300 ] && [ "$pages" -eq 4 ] || fail "M3 POs: $records records in $pages pages"
# Values arrive right-padded; the record holds them trimmed.
"${REDIS_CLI[@]}" HGET 'mlc:{demo-m3}:rec:po:0000004001' data | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
assert d["erp_key"] == "0000004001" and d["number"] == "0000004001", d
assert all(v == v.strip() for v in d.values()), d
print("ok: M3 PO 0000004001 stored trimmed:", d["supplier_name"], d["amount"], d["currency"])'
# SyteLine records keep _ItemId as their etag and RecordDate (ISO) as erp_modified.
etag=$("${REDIS_CLI[@]}" HGET 'mlc:{demo-syteline}:rec:po:PO00004001' etag)
case "$etag" in PBT=*) ;; *) fail "SyteLine PO00004001: etag '$etag' is not an _ItemId";; esac
cursor=$("${REDIS_CLI[@]}" GET 'mlc:{demo-syteline}:cursor:purchase_orders')
[ -n "$cursor" ] || fail "SyteLine watermark did not advance"
ok "SyteLine PO00004001 etag $etag, watermark $cursor"

# Unchanged data: no Asana writes.
wait_until 30 queues_empty demo-m3
wait_until 30 queues_empty demo-syteline
jpost "$ASANA_URL/_sim/reset-stats" '{}' >/dev/null
"$MLC" sync demo-m3 --wait --timeout 60 >/dev/null
"$MLC" sync demo-syteline --full --wait --timeout 60 >/dev/null
writes=$(jget "$ASANA_URL/_sim/stats" "d['writes']")
[ "$writes" -eq 0 ] || fail "re-sync of unchanged data made $writes Asana writes"
ok "re-sync of 700 unchanged Infor records: 0 Asana writes"

# One change in each ERP: exactly one task update each.
jpost "$ION_URL/_sim/ion/modify" '{"tenant":"DEMO_TST","table":"po","key":"0000004007","changes":{"NTAM":"7777.70"}}' >/dev/null
jpost "$ION_URL/_sim/ion/modify" '{"tenant":"DEMO_CSI","table":"po","key":"PO00004007","changes":{"PoTotal":"8888.80"}}' >/dev/null
"$MLC" sync demo-m3 --wait --timeout 60 >/dev/null
"$MLC" sync demo-syteline --wait --timeout 60 >/dev/null
writes=$(jget "$ASANA_URL/_sim/stats" "d['writes']")
[ "$writes" -eq 2 ] || fail "two changed POs should make exactly 2 Asana writes, saw $writes"
m3_amount=$("${REDIS_CLI[@]}" HGET 'mlc:{demo-m3}:rec:po:0000004007' data | python3 -c 'import json,sys; print(json.load(sys.stdin)["amount"])')
csi=$("${REDIS_CLI[@]}" HGET 'mlc:{demo-syteline}:rec:po:PO00004007' data | python3 -c 'import json,sys; print(json.load(sys.stdin)["amount"])')
[ "$m3_amount" = "7777.7" ] && [ "$csi" = "8888.8" ] || fail "amounts after the change: M3 $m3_amount, SyteLine $csi"
# SyteLine read only what changed since the watermark (RecordDate filter); M3 read everything.
csi_records=$("${REDIS_CLI[@]}" HGET 'mlc:{demo-syteline}:sync:purchase_orders' records)
m3_records=$("${REDIS_CLI[@]}" HGET 'mlc:{demo-m3}:sync:purchase_orders' records)
[ "$csi_records" -ge 1 ] && [ "$csi_records" -le 5 ] || fail "incremental SyteLine read saw $csi_records rows"
[ "$m3_records" -eq 300 ] || fail "M3 read $m3_records rows, want all 300"
new_etag=$("${REDIS_CLI[@]}" HGET 'mlc:{demo-syteline}:rec:po:PO00004007' etag)
ion_etag=$(jget "$ION_URL/_sim/ion/record?tenant=DEMO_CSI&table=po&key=PO00004007" "d.get('record', d).get('_ItemId', '')")
[ -z "$ion_etag" ] || [ "$new_etag" = "$ion_etag" ] || fail "SyteLine etag $new_etag, the IDO says $ion_etag"
ok "a change in M3 and in SyteLine: 2 task updates; SyteLine etag now $new_etag"

# New ION credentials through --ionapi: the cached tokens of the old ones are revoked.
[ -n "$("${REDIS_CLI[@]}" KEYS 'mlc:{demo-m3}:token:ion*')" ] || fail "no ION token cached for demo-m3"
python3 - "$MLC_RUN_DIR/tenant-m3.json" "$MLC_RUN_DIR" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
ion = t["erp"].pop("ionapi")
json.dump(t, open(sys.argv[2] + "/bare-m3.json", "w"))
ion["cn"] = "renamed"                      # not part of the identity
json.dump(ion, open(sys.argv[2] + "/same.ionapi", "w"))
ion["ci"] = "DEMO_TST~other-client"        # another identity
json.dump(ion, open(sys.argv[2] + "/other.ionapi", "w"))
PY
out=$("$MLC" tenant add "$MLC_RUN_DIR/bare-m3.json" --ionapi "$MLC_RUN_DIR/same.ionapi")
case "$out" in *revoke*) fail "same identity must not revoke: $out";; esac
out=$("$MLC" tenant add "$MLC_RUN_DIR/bare-m3.json" --ionapi "$MLC_RUN_DIR/other.ionapi")
case "$out" in *"ION credentials replaced: revoked 2 cached tokens"*) ;; *) fail "no revoke reported: $out";; esac
[ -z "$("${REDIS_CLI[@]}" KEYS 'mlc:{demo-m3}:token:ion*')" ] || fail "ION tokens still cached after the revoke"
ok "credentials changed through --ionapi: $out"

# A .ionapi that is not JSON, or lacks a member, is refused with a message naming it.
printf '{"ti": "X",\n "ci": }' > "$MLC_RUN_DIR/broken.ionapi"
err=$("$MLC" tenant add "$MLC_RUN_DIR/bare-m3.json" --ionapi "$MLC_RUN_DIR/broken.ionapi" 2>&1) && fail "broken .ionapi accepted"
case "$err" in *"broken.ionapi: not valid JSON at line 2 column"*) ;; *) fail "unexpected message: $err";; esac
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); del d["saak"]; json.dump(d, open(sys.argv[2], "w"))' \
  "$MLC_RUN_DIR/same.ionapi" "$MLC_RUN_DIR/nosaak.ionapi"
err=$("$MLC" tenant add "$MLC_RUN_DIR/bare-m3.json" --ionapi "$MLC_RUN_DIR/nosaak.ionapi" 2>&1) && fail "incomplete .ionapi accepted"
case "$err" in *"nosaak.ionapi: erp.ionapi.saak: missing"*) ;; *) fail "unexpected message: $err";; esac
ok "bad .ionapi files refused: $err"
"$MLC" down
