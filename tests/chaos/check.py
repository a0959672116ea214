"""The verdict of a chaos run, read from the simulators (the systems the connector must keep
right), not from the connector's own Redis state.

usage: check.py IFS_URL ION_URL ASANA_URL OUT_DIR [--quiet]

Checks, per tenant: every ERP record has exactly one task (ERP Key unique, one task per record,
no task without a record) whose Amount and ERP Status are the record's current values; every
task completed by approve.py (OUT_DIR/approvals.jsonl) gave exactly one successful ERP write on
its record, IFS writes all with If-Match; no other task is completed; the ERPs counted no write
beyond those (IFS and ION `writes` statistics). Prints one line per violation (at most 20 per
kind) and a JSON summary line `RESULT {...}`; exits 1 on any violation.
With --quiet only the number of outstanding approvals is printed (exit 0 when none; used to
wait for quiescence)."""
import collections
import json
import sys

import sims

ifs, ion, asana, out = sys.argv[1:5]
quiet = "--quiet" in sys.argv[5:]
s = sims.Sims(ifs, ion, asana)
approvals = [json.loads(line) for line in open(f"{out}/approvals.jsonl")]

if quiet:
    missing = sum(1 for a in approvals if s.api_writes(a["tenant"], a["kind"], a["key"])[0] == 0)
    print(missing)
    sys.exit(0 if missing == 0 else 1)

violations = collections.defaultdict(list)
summary = {"records": 0, "tasks": 0, "approvals": len(approvals), "per_tenant": {}}


def bad(kind, msg):
    violations[kind].append(msg)


approved = {(a["tenant"], a["kind"], a["key"]) for a in approvals}
if len(approved) != len(approvals):
    bad("driver", f"{len(approvals) - len(approved)} records approved twice by the driver")

for tenant, info in sims.TENANTS.items():
    tasks = s.tasks(tenant)
    by_key = collections.defaultdict(list)
    for t in tasks:
        by_key[t["custom_fields"].get("ERP Key")].append(t)
    records = {}
    for (tn, kind) in sims.FLOWS:
        if tn == tenant:
            for key, r in s.records(tenant, kind).items():
                records[f"{tenant}:{kind}:{key}"] = (kind, key, r)
    summary["records"] += len(records)
    summary["tasks"] += len(tasks)
    summary["per_tenant"][tenant] = {"records": len(records), "tasks": len(tasks),
                                     "approvals": sum(1 for a in approved if a[0] == tenant)}
    for ek, ts in by_key.items():
        if len(ts) > 1:
            bad("duplicate task", f"{ek}: {len(ts)} tasks {[t['gid'] for t in ts]}")
        if ek not in records:
            bad("task without record", f"{ek}: task {ts[0]['gid']}")
    for ek, (kind, key, r) in records.items():
        ts = by_key.get(ek)
        if not ts:
            bad("lost record", f"{ek}: no task")
            continue
        t = ts[0]
        amount = t["custom_fields"].get("Amount")
        if amount is None or abs(float(amount) - r["amount"]) > 0.005:
            bad("stale amount", f"{ek}: task {t['gid']} Amount {amount}, ERP {r['amount']:.2f}")
        status = (t["custom_fields"].get("ERP Status") or "").strip()
        if status != r["state"]:
            bad("stale status", f"{ek}: task {t['gid']} ERP Status {status!r}, ERP {r['state']!r}")
        want_done = (tenant, kind, key) in approved
        if t["completed"] != want_done:
            bad("completion", f"{ek}: task {t['gid']} completed={t['completed']}, approved={want_done}")

# Write-backs: exactly one ERP write per approval, never without If-Match.
per_system = collections.Counter()
latency = []
for a in approvals:
    writes, no_match, first_at = s.api_writes(a["tenant"], a["kind"], a["key"])
    if first_at is not None:
        latency.append(first_at - a["at"])
    per_system["ifs" if a["tenant"] == "demo" else "ion"] += 1
    ref = f"{a['tenant']}:{a['kind']}:{a['key']}"
    if writes == 0:
        bad("lost approval", f"{ref}: task {a['gid']} completed, no ERP write")
    elif writes > 1:
        bad("duplicate write-back", f"{ref}: {writes} ERP writes")
    if no_match:
        bad("write without If-Match", f"{ref}: {no_match} writes without If-Match")

ifs_stats = s.call("GET", f"{ifs}/_sim/stats")
ion_stats = s.call("GET", f"{ion}/_sim/stats")
if ifs_stats["writes"] != per_system["ifs"]:
    bad("unexpected ERP write", f"IFS counted {ifs_stats['writes']} writes for {per_system['ifs']} approvals")
if ion_stats["writes"] != per_system["ion"]:
    bad("unexpected ERP write", f"ION counted {ion_stats['writes']} writes for {per_system['ion']} approvals")
no_if_match = sum(n for k, n in ifs_stats["requests"].items() if k.endswith(" 428"))
if no_if_match:
    bad("write without If-Match", f"IFS answered {no_if_match} requests with 428")
if latency:
    latency.sort()
    q = lambda f: round(latency[min(len(latency) - 1, int(f * len(latency)))], 1)
    summary["approval_to_erp_s"] = {"p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": round(latency[-1], 1)}
summary["erp_writes"] = {"ifs": ifs_stats["writes"], "ion": ion_stats["writes"]}
summary["ifs_412"] = ifs_stats["write_conflicts"]
summary["ion_stale"] = ion_stats["write_conflicts"]
summary["faults_injected"] = {"ifs": ifs_stats["faults_injected"], "ion": ion_stats["faults_injected"]}
a_stats = s.call("GET", f"{asana}/_sim/stats")
summary["asana"] = {k: a_stats.get(k) for k in ("total", "writes", "rate_limited", "injected_faults",
                                                "duplicate_enum_names", "deliveries",
                                                "delivery_failures", "handshakes")}
if a_stats.get("duplicate_enum_names"):
    bad("duplicate enum option", f"{a_stats['duplicate_enum_names']} enum options created twice")

for kind, msgs in sorted(violations.items()):
    print(f"VIOLATION {kind}: {len(msgs)}")
    for m in msgs[:20]:
        print(f"  {m}")
summary["violations"] = {k: len(v) for k, v in violations.items()}
print("RESULT " + json.dumps(summary, sort_keys=True))
sys.exit(1 if violations else 0)
