#!/usr/bin/env bash
# kill -9 of a poller and of a writer during the initial sync, then replacements start: the
# simulated Asana ends with exactly 700 tasks, one per record, none missing, none duplicated.
# Slow simulators keep the sync long enough to kill into it; short leases make the reaper act.
# The simulated Asana also answers 5% of writes with a 504 after applying them: those creates
# are uncertain and must be resolved by looking the task up, never by creating it again.
source "$(dirname "$0")/lib.sh"
stack_env
PROJECT=1200000000000101
export MLC_LEASE_MS=3000
export MLC_SIM_IFS_CONFIG='{"max_page_size":25,"latency_ms":120}'
export MLC_SIM_ASANA_CONFIG='{"latency_ms":30,"fail_after_write_pct":5}'

"$MLC" up --demo
sleep 1.5
poller=$(pid_of poller)
kill -9 "$poller"
echo "killed poller $poller during the poll"
start_extra mlc-poller >/dev/null

wait_until 60 tasks_at_least $PROJECT 150
writer=$(pid_of writer)
kill -9 "$writer"
echo "killed writer $writer with $(task_count $PROJECT) tasks written"
start_extra mlc-writer >/dev/null

wait_until 120 tasks_at_least $PROJECT 700
wait_until 60 queues_empty demo
sleep 1
curl -sf "$ASANA_URL/_sim/tasks?project=$PROJECT" > "$MLC_RUN_DIR/tasks.json"
recovered=$("${REDIS_CLI[@]}" XRANGE 'mlc:{demo}:audit' - + | grep -cE '^asana\.(recovered|adopted)$' || true)
python3 - "$MLC_RUN_DIR/tasks.json" "$recovered" <<'PY'
import collections, json, sys
tasks = json.load(open(sys.argv[1]))["data"]
keys = collections.Counter(t["custom_fields"].get("ERP Key") for t in tasks)
dups = {k: n for k, n in keys.items() if n > 1}
assert not dups, f"duplicate tasks: {list(dups.items())[:5]}"
assert len(tasks) == 700 and len(keys) == 700, (len(tasks), len(keys))
assert int(sys.argv[2]) > 0, "no uncertain create was resolved by look-up"
print(f"ok: exactly 700 tasks, 700 distinct records, none duplicated "
      f"({sys.argv[2]} uncertain creates resolved by look-up)")
PY
dup_options=$(jget "$ASANA_URL/_sim/stats" "d['duplicate_enum_names']")
[ "$dup_options" -eq 0 ] || fail "$dup_options duplicate enum options created"
ok "no duplicate enum option despite the 504s"
mapped=$("${REDIS_CLI[@]}" HLEN 'mlc:{demo}:taskmap')
[ "$mapped" -eq 700 ] || fail "taskmap holds $mapped entries, want 700"
ok "taskmap holds 700 entries"
