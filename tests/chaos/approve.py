"""The reviewers and the ERP users of the chaos run, while processes die around them: completes
COUNT tasks in the simulated Asana over about SPREAD seconds (only tasks whose record is in a
state the write-back changes, so each must give exactly one ERP write) and changes the amount of
MODIFY records inside the ERPs (the sync must carry the new values to the tasks).

usage: approve.py IFS_URL ION_URL ASANA_URL COUNT MODIFY SPREAD OUT_DIR SEED

Writes OUT_DIR/approvals.jsonl ({"tenant","kind","key","gid","at"} per completed task, written
once the PUT was answered) and OUT_DIR/modified.jsonl; exits 0 when all COUNT approvals are
made, 1 (message on stderr) when it runs out of candidates or time (4 x SPREAD + 300 s)."""
import json
import random
import sys
import time

import sims

ifs, ion, asana, count, modify, spread, out, seed = sys.argv[1:9]
count, modify, spread = int(count), int(modify), float(spread)
rng = random.Random(int(seed))
s = sims.Sims(ifs, ion, asana, patience_s=600)

# Records whose approval writes to the ERP, from the ERPs' state before any approval.
approvable = {}
for (tenant, kind), f in sims.FLOWS.items():
    if f["no_write"] is None:
        continue
    approvable[(tenant, kind)] = sorted(k for k, r in s.records(tenant, kind).items()
                                        if r["state"] not in f["no_write"])
all_records = {tk: sorted(s.records(*tk)) for tk in sims.FLOWS}

done = set()
made = 0
modified = 0
deadline = time.time() + 4 * spread + 300
gap = spread / max(count, 1)
mod_every = max(1, count // max(modify, 1)) if modify else 0
approvals = open(f"{out}/approvals.jsonl", "a", buffering=1)
mods = open(f"{out}/modified.jsonl", "a", buffering=1)
tasks_seen = {}
refreshed = 0.0

while made < count:
    if time.time() > deadline:
        sys.exit(f"approve.py: out of time with {made}/{count} approvals")
    if time.time() - refreshed > 3:
        for tenant in sims.TENANTS:
            for t in s.tasks(tenant):
                ek = t["custom_fields"].get("ERP Key") or ""
                parts = ek.split(":", 2)
                if len(parts) == 3 and not t["completed"]:
                    tasks_seen[(parts[0], parts[1], parts[2])] = t["gid"]
        refreshed = time.time()
    # A tenant/kind chosen at random among those with candidates that have a task.
    pools = {tk: [k for k in keys if (tk[0], tk[1], k) in tasks_seen and (tk[0], tk[1], k) not in done]
             for tk, keys in approvable.items()}
    pools = {tk: p for tk, p in pools.items() if p}
    if not pools:
        if all(len([k for k in keys if (tk[0], tk[1], k) not in done]) == 0
               for tk, keys in approvable.items()):
            sys.exit(f"approve.py: no approvable record left after {made} approvals")
        time.sleep(1)
        refreshed = 0
        continue
    tk = rng.choice(sorted(pools))
    key = rng.choice(pools[tk])
    gid = tasks_seen[(tk[0], tk[1], key)]
    s.complete(gid)
    done.add((tk[0], tk[1], key))
    made += 1
    approvals.write(json.dumps({"tenant": tk[0], "kind": tk[1], "key": key, "gid": gid,
                                "at": time.time()}) + "\n")
    if mod_every and made % mod_every == 0 and modified < modify:
        mtk = rng.choice(sorted(all_records))
        mkey = rng.choice(all_records[mtk])
        amount = round(rng.uniform(100, 99999), 2)
        s.modify(mtk[0], mtk[1], mkey, amount)
        modified += 1
        mods.write(json.dumps({"tenant": mtk[0], "kind": mtk[1], "key": mkey, "amount": amount,
                               "at": time.time()}) + "\n")
    time.sleep(gap * rng.uniform(0.5, 1.5))
print(f"approve.py: {made} approvals, {modified} ERP changes")
