"""Lists the dead jobs of the chaos run's tenants and tells for each whether its work was done
anyway by a later job (the dead job is then explained, not a loss):

  webhook_event  the task's decision is final in mlc:{t}:writeback:<ref> (or the event was no
                 completion at all)
  writeback      the same, for the job's record
  reconcile      a later sweep of the tenant succeeded (reconciled_ms after the job died)
  webhook_check  a later check succeeded and the webhook is active
  poll_flow      the flow's last sync is ok and finished after the job died
  upsert_task    the record's content is the one last written to its task (synced_hash = hash)

usage: dead.py REDIS_PORT TENANT...   Prints one line per dead job and a last line
`DEAD <total> <unexplained>`; exits 1 when a dead job is unexplained."""
import datetime
import json
import subprocess
import sys

port, tenants = sys.argv[1], sys.argv[2:]
FINAL = {"applied", "already", "not_applicable", "audit_only"}


def r(*args):
    out = subprocess.run(["redis-cli", "-p", port, "--raw", *args], capture_output=True, text=True,
                         check=True).stdout
    return out[:-1] if out.endswith("\n") else out


def iso_ms(text):
    if not text:
        return 0
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def decision_final(t, ref):
    return r("HGET", f"mlc:{{{t}}}:writeback:{ref}", "state") in FINAL


def explain(t, job):
    typ, ref, died = job.get("type"), job.get("ref", ""), int(job.get("updated_ms") or 0)
    if typ == "webhook_event":
        ev = json.loads(job.get("payload") or "{}")
        ch = ev.get("change") or {}
        if not (ch.get("field") == "completed" and ch.get("new_value") is True):
            return "not a completion"
        rec = r("HGET", f"mlc:{{{t}}}:gidmap", ref.removeprefix("task:"))
        return f"decision of {rec} final" if rec and decision_final(t, rec) else None
    if typ == "writeback":
        rec = job["id"].removeprefix("wb:")
        if rec.startswith("task:"):
            rec = r("HGET", f"mlc:{{{t}}}:gidmap", rec.removeprefix("task:"))
        return f"decision of {rec} final" if rec and decision_final(t, rec) else None
    if typ == "reconcile":
        ms = int(r("HGET", f"mlc:{{{t}}}:webhook", "reconciled_ms") or 0)
        return "a later sweep succeeded" if ms > died else None
    if typ == "webhook_check":
        h = f"mlc:{{{t}}}:webhook"
        ok = iso_ms(r("HGET", h, "checked_at")) > died and r("HGET", h, "active") == "1"
        return "a later check succeeded" if ok else None
    if typ == "poll_flow":
        s = f"mlc:{{{t}}}:sync:{ref}"
        ok = r("HGET", s, "status") == "ok" and iso_ms(r("HGET", s, "finished_at")) > died
        return "a later sync of the flow succeeded" if ok else None
    if typ == "upsert_task":
        rec = f"mlc:{{{t}}}:rec:{ref}"
        h, synced = r("HGET", rec, "hash"), r("HGET", rec, "synced_hash")
        return "the record's current content is on its task" if h and h == synced else None
    return None


total = unexplained = 0
for t in tenants:
    for jid in filter(None, r("ZRANGE", f"mlc:{{{t}}}:dlq", "0", "-1").split("\n")):
        flat = r("HGETALL", f"mlc:{{{t}}}:job:{jid}").split("\n")
        job = dict(zip(flat[0::2], flat[1::2]))
        job["id"] = jid
        why = explain(t, job)
        total += 1
        unexplained += why is None
        print(f"  dead {t} {jid} ({job.get('type')}, attempt {job.get('attempt')}/{job.get('max_attempts')}): "
              f"{(job.get('error') or '')[:140]} -> {'superseded: ' + why if why else 'NOT EXPLAINED'}")
print(f"DEAD {total} {unexplained}")
sys.exit(1 if unexplained else 0)
