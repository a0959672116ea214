#!/usr/bin/env bash
# Reference data: after `mlc up --demo` every supplier each ERP holds (IFS SupplierInfoGeneralSet,
# M3 CRS620MI/LstSuppliers, SyteLine SLVendors), also those without a PO or invoice, is in
# Redis (mlc:{t}:ref:suppliers) and is an option "Name (ID)" of the tenant's Supplier enum field
# in Asana, with no duplicate option names; a second sync within MLC_REF_REFRESH_S does not
# read the suppliers again.
source "$(dirname "$0")/lib.sh"
stack_env

"$MLC" up --demo >/dev/null
wait_until 90 tasks_at_least 1200000000000101 700
wait_until 90 tasks_at_least 1200000000000102 400
wait_until 90 tasks_at_least 1200000000000103 300
wait_until 60 queues_empty demo demo-m3 demo-syteline

ifs_n=$(jget "$IFS_URL/_sim/stats" "d['entities']['SupplierInfoGeneralSet']")
m3_n=$(jget "$ION_URL/_sim/stats" "d['rows']['DEMO_TST']['supplier']")
csi_n=$(jget "$ION_URL/_sim/stats" "d['rows']['DEMO_CSI']['supplier']")

# check TENANT PROJECT EXPECTED: K_REF holds EXPECTED suppliers and the Supplier field an
# option for each of them.
check() {
  local tenant=$1 project=$2 want=$3
  "${REDIS_CLI[@]}" --raw HGETALL "mlc:{$tenant}:ref:suppliers" > "$MLC_RUN_DIR/ref.txt"
  local field
  field=$("${REDIS_CLI[@]}" --raw HGET "mlc:{$tenant}:asana:fields:$project" Supplier)
  curl -sf -H 'Authorization: Bearer demo-pat' \
    "$ASANA_URL/api/1.0/custom_fields/${field%% *}?opt_fields=enum_options.name" > "$MLC_RUN_DIR/field.json"
  curl -sf "$ASANA_URL/_sim/tasks?project=$project" > "$MLC_RUN_DIR/tasks.json"
  python3 - "$tenant" "$want" "$MLC_RUN_DIR/ref.txt" "$MLC_RUN_DIR/field.json" "$MLC_RUN_DIR/tasks.json" <<'PY'
import json, sys
tenant, want = sys.argv[1], int(sys.argv[2])
lines = open(sys.argv[3]).read().split("\n")
ref = {lines[i]: lines[i + 1] for i in range(0, len(lines) - 1, 2)}
assert len(ref) == want, f"{tenant}: {len(ref)} suppliers in Redis, the ERP has {want}"
opts = [o["name"] for o in json.load(open(sys.argv[4]))["data"]["enum_options"]]
labels = {f"{n} ({i})" if n else i for i, n in ref.items()}
missing = labels - set(opts)
assert not missing, f"{tenant}: no option for {sorted(missing)[:5]}"
assert len(opts) == len(set(opts)), f"{tenant}: duplicate options"
used = {t["name"].split(" · ", 1)[-1] for t in json.load(open(sys.argv[5]))["data"]}
print(f"ok: {tenant}: {len(ref)} suppliers seeded as options ({len(labels - used)} without a document)")
PY
}
check demo 1200000000000101 "$ifs_n"
check demo-m3 1200000000000102 "$m3_n"
check demo-syteline 1200000000000103 "$csi_n"
dups=$(jget "$ASANA_URL/_sim/stats" "d['duplicate_enum_names']")
[ "$dups" -eq 0 ] || fail "the Asana simulator saw $dups duplicate enum option names"
ok "no duplicate enum option names"

# A supplier added in each ERP, with no document at all, becomes an option after the next read
# (the refresh gate is dropped instead of waiting out MLC_REF_REFRESH_S).
jpost "$IFS_URL/_sim/ifs/modify" '{"set":"SupplierInfoGeneralSet","key":"ZZ9001","changes":{"VendorName":"Idle Supplies AB"},"create":true}' >/dev/null
jpost "$ION_URL/_sim/ion/modify" '{"tenant":"DEMO_TST","table":"supplier","key":"ZZ9002","changes":{"SUNM":"Idle Parts Oy"},"create":true}' >/dev/null
jpost "$ION_URL/_sim/ion/modify" '{"tenant":"DEMO_CSI","table":"supplier","key":"ZZ9003","changes":{"Name":"Idle Tools Inc"},"create":true}' >/dev/null
for t in demo demo-m3 demo-syteline; do
  "${REDIS_CLI[@]}" DEL "mlc:{$t}:ref:suppliers:synced" >/dev/null
  "$MLC" sync "$t" --wait --timeout 60 >/dev/null
done
wait_until 60 queues_empty demo demo-m3 demo-syteline
check demo 1200000000000101 $((ifs_n + 1))
check demo-m3 1200000000000102 $((m3_n + 1))
check demo-syteline 1200000000000103 $((csi_n + 1))
for t in demo:ZZ9001 demo-m3:ZZ9002 demo-syteline:ZZ9003; do
  [ -n "$("${REDIS_CLI[@]}" HGET "mlc:{${t%%:*}}:ref:suppliers" "${t#*:}")" ] || fail "$t not in Redis"
done
dups=$(jget "$ASANA_URL/_sim/stats" "d['duplicate_enum_names']")
[ "$dups" -eq 0 ] || fail "the Asana simulator saw $dups duplicate enum option names"
ok "a supplier without documents added in each ERP is an option after the next read"

# Within the refresh interval a sync reads no suppliers again.
jpost "$IFS_URL/_sim/reset-stats" '{}' >/dev/null
"$MLC" sync demo --wait --timeout 60 >/dev/null
reads=$(jget "$IFS_URL/_sim/stats" "sum(v for k, v in d['requests'].items() if 'SupplierInfoGeneralSet' in k)")
[ "$reads" -eq 0 ] || fail "suppliers read again within MLC_REF_REFRESH_S: $reads requests"
ok "second sync within the refresh interval: suppliers not read again"
"$MLC" down
