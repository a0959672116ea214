#!/usr/bin/env bash
# Asana's limits are honoured across processes: two writers (24 threads) against a simulated
# Asana that is slow (20 ms) and answers 2% of calls with 429 + Retry-After: 1 (each pauses
# the token for every process). All 700 tasks arrive, never more than 15 writes are in flight
# for the token, every 429 is retried, none ends in the dead-letter set.
source "$(dirname "$0")/lib.sh"
stack_env
PROJECT=1200000000000101
export MLC_SIM_ASANA_CONFIG='{"latency_ms":20,"fail_429_pct":2}'

"$MLC" up --demo --no-sync
start_extra mlc-writer >/dev/null
sleep 1
"$MLC" sync demo --wait --timeout 120
[ "$(task_count $PROJECT)" -eq 700 ] || fail "expected 700 tasks, got $(task_count $PROJECT)"
stats=$(curl -sf "$ASANA_URL/_sim/stats")
inflight=$(echo "$stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['max_in_flight_writes'])")
limited=$(echo "$stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['rate_limited'])")
dead=$("${REDIS_CLI[@]}" ZCARD 'mlc:{demo}:dlq')
[ "$inflight" -le 15 ] || fail "$inflight writes in flight, cap is 15"
[ "$limited" -gt 0 ] || fail "the simulator answered no 429: the test proves nothing"
[ "$dead" -eq 0 ] || fail "$dead jobs dead"
ok "700 tasks with 2 writers: at most $inflight writes in flight (cap 15), $limited 429s retried, 0 dead"
