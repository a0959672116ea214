#!/usr/bin/env bash
# test: serial
# Shared rate limits, measured by the simulators (issue 5, acceptance item 2): four pollers and
# four writers sync one IFS tenant whose limits are erp.rate_per_min 600 and
# asana.rate_per_min 300, against simulators that enforce the same limits (they would answer
# 429 above them). Checked:
#   - neither simulator refused a request for its rate limit (IFS rate_rejected, Asana
#     rate_limited = 0), and the most requests either saw in any 10-s window is within the
#     10-s share of the limit (ERP 100, Asana 50);
#   - the wall time is within 10% of what the binding limit allows: the requests the
#     simulators counted divided by the rate (MLC_RL_SLACK, default 1.10).
# Two phases: the initial sync (about 3 Asana requests per record: Asana binds; the ERP pages
# of one record, erp.page_size 1, keep the ERP at its limit meanwhile), then two full re-reads
# of the unchanged data (ERP only: the ERP binds). Also no job may end dead: a busy limit gives
# the job back without using up an attempt. MLC_RL_POS / MLC_RL_INVOICES size the sync
# (default 80 + 30 records: about 65 s of Asana budget, so the simulators' own sliding-minute
# limits are exercised too, then about 23 s of ERP budget). The fixed cost of a sync (first
# page, field setup, the last jobs' hand-offs) is ~3 s: much smaller syncs come close to the
# 10%. Under ASan/UBSan use MLC_RL_SLACK=1.25 (the rate checks stay exact).
source "$(dirname "$0")/lib.sh"
stack_env
POS=${MLC_RL_POS:-80}
INVOICES=${MLC_RL_INVOICES:-30}
ERP_RATE=600
ASANA_RATE=300
SLACK=${MLC_RL_SLACK:-1.10}
# Watchdog and reconciliation jobs would add Asana calls the figures do not expect.
export MLC_WEBHOOK_WATCHDOG_S=0 MLC_RECONCILE_S=0

"$MLC" up --demo --no-sync >/dev/null
# Every demo tenant uses the Asana token demo-pat: all get its limit (one token, one budget)
# and a weekly schedule, so only this test's sync runs. The IFS tenant also gets its ERP
# limit and one-record pages.
for f in tenant-ifs.json tenant-m3.json tenant-syteline.json; do
  python3 - "$ROOT/deploy/demo/$f" "$MLC_SIM_IFS_PORT" "$MLC_SIM_ION_PORT" "$MLC_SIM_ASANA_PORT" \
    "$ERP_RATE" "$ASANA_RATE" > "$MLC_RUN_DIR/$f" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
for default, port in (("18081", sys.argv[2]), ("18082", sys.argv[3]), ("18083", sys.argv[4])):
    text = text.replace("127.0.0.1:" + default, "127.0.0.1:" + port)
t = json.loads(text)
t["asana"]["rate_per_min"] = int(sys.argv[6])
if t["erp"]["type"] == "ifs":
    t["erp"]["rate_per_min"] = int(sys.argv[5])
    t["erp"]["page_size"] = 1
t["flows"] = [{"name": f, "schedule": "weekly on sun at 03:00"}
              for f in ("purchase_orders", "supplier_invoices")]
print(json.dumps(t))
PY
  "$MLC" tenant add "$MLC_RUN_DIR/$f" >/dev/null
done
for i in 1 2 3; do start_extra mlc-poller >/dev/null; start_extra mlc-writer >/dev/null; done
jpost "$IFS_URL/_sim/seed" "{\"pos\":$POS,\"invoices\":$INVOICES,\"suppliers\":12}" >/dev/null
jpost "$IFS_URL/_sim/config" "{\"rate_per_min\":$ERP_RATE}" >/dev/null
jpost "$ASANA_URL/_sim/config" "{\"rate_per_min\":$ASANA_RATE}" >/dev/null
sleep 2   # workers connected, webhook registrations of the re-added tenants done
jpost "$IFS_URL/_sim/reset-stats" '{}' >/dev/null
jpost "$ASANA_URL/_sim/reset-stats" '{}' >/dev/null

# check PHASE START END: the figures of one phase from the simulators' statistics (reset
# before it), asserted as the header says.
check() {
  curl -sf "$IFS_URL/_sim/stats" > "$MLC_RUN_DIR/ifs.json"
  curl -sf "$ASANA_URL/_sim/stats" > "$MLC_RUN_DIR/asana.json"
  python3 - "$MLC_RUN_DIR/ifs.json" "$MLC_RUN_DIR/asana.json" "$1" "$2" "$3" "$ERP_RATE" \
    "$ASANA_RATE" "$SLACK" <<'PY'
import json, sys
ifs, asana = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
phase = sys.argv[3]
start, end, erp_rate, asana_rate, slack = (float(a) for a in sys.argv[4:9])
wall = end - start
client = ifs["clients"].get("mlc-demo", {"requests": 0, "max_10s": 0, "max_rate_60s": 0})
erp_req, erp_10s = client["requests"], client["max_10s"]
token = asana["tokens"].get("demo-pat", {"max_10s": 0})
asana_req, asana_10s = asana["total"], token["max_10s"]
erp_s, asana_s = erp_req * 60 / erp_rate, asana_req * 60 / asana_rate
allowed = max(erp_s, asana_s)
binding = "ERP" if erp_s >= asana_s else "Asana"
print(f"[{phase}] ERP (IFS sim, client mlc-demo): {erp_req} requests, max {erp_10s} in 10 s "
      f"(limit {erp_rate:.0f}/min = {erp_rate / 6:.0f}/10 s), max {client['max_rate_60s']} in 60 s, "
      f"{ifs['rate_rejected']} rate-rejected")
print(f"[{phase}] Asana (token demo-pat): {asana_req} requests, max {asana_10s} in 10 s "
      f"(limit {asana_rate:.0f}/min = {asana_rate / 6:.0f}/10 s; 100-ms slots: {asana['per_10s_max']}), "
      f"{asana['rate_limited']} rate-limited")
print(f"[{phase}] wall time {wall:.2f} s; the limits allow {allowed:.2f} s ({binding} binds: "
      f"ERP {erp_s:.2f} s, Asana {asana_s:.2f} s); ratio {wall / allowed:.3f} (max {slack})")
errors = []
if ifs["rate_rejected"]:
    errors.append(f"the IFS sim refused {ifs['rate_rejected']} requests for the rate")
if asana["rate_limited"]:
    errors.append(f"the Asana sim answered {asana['rate_limited']} 429s")
if erp_10s > erp_rate / 6:
    errors.append(f"ERP: {erp_10s} requests in 10 s, above {erp_rate / 6:.0f}")
if max(asana_10s, asana["per_10s_max"]) > asana_rate / 6:
    errors.append(f"Asana: {max(asana_10s, asana['per_10s_max'])} requests in 10 s, above {asana_rate / 6:.0f}")
binding_req, binding_rate = (erp_req, erp_rate) if binding == "ERP" else (asana_req, asana_rate)
if binding_req <= binding_rate / 6:
    errors.append(f"only {binding_req} {binding} requests: its 10-s window never filled")
if wall > slack * allowed:
    errors.append(f"took {wall:.2f} s, more than {slack} x {allowed:.2f} s")
for e in errors:
    print(f"FAIL [{phase}]:", e)
sys.exit(1 if errors else 0)
PY
}
reset_stats() {
  jpost "$IFS_URL/_sim/reset-stats" '{}' >/dev/null
  jpost "$ASANA_URL/_sim/reset-stats" '{}' >/dev/null
}

# Phase 1, the initial sync: every record becomes a task (Asana binds).
reset_stats
start=$(date +%s.%N)
"$MLC" sync demo --wait --timeout 300 >/dev/null
end=$(date +%s.%N)
want=$((POS + INVOICES))
[ "$(task_count 1200000000000101)" -eq "$want" ] || fail "expected $want tasks, got $(task_count 1200000000000101)"
dead=$("${REDIS_CLI[@]}" ZCARD 'mlc:{demo}:dlq')
[ "$dead" -eq 0 ] || fail "$dead jobs dead: a busy rate limit must not use up a job's attempts"
check "initial sync" "$start" "$end"

# Phase 2, full re-reads of unchanged data: all ERP pages, no Asana call (the ERP binds). Two
# in a row so the ERP's 10-s window fills.
reset_stats
start=$(date +%s.%N)
for i in 1 2; do "$MLC" sync demo --full --wait --timeout 300 >/dev/null; done
end=$(date +%s.%N)
check "2 full re-reads" "$start" "$end"
ok "rates within the limits on both simulators, sync times within ${SLACK}x of what they allow, no job dead"
