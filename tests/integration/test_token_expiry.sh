#!/usr/bin/env bash
# IFS tokens live 5 s: frequent syncs over a run of MLC_TEST_DURATION seconds (default 120;
# CI runs 30) never fail a poll; tokens are refreshed ahead of expiry, one process at a time.
source "$(dirname "$0")/lib.sh"
stack_env
PROJECT=1200000000000101
DURATION=${MLC_TEST_DURATION:-120}
export MLC_SIM_IFS_CONFIG='{"token_lifetime_s":5}'

"$MLC" up --demo
wait_until 60 tasks_at_least $PROJECT 700
jpost "$IFS_URL/_sim/reset-stats" '{}' >/dev/null
end=$((SECONDS + DURATION)); syncs=0; n=0
while [ $SECONDS -lt $end ]; do
  n=$((n + 1))
  key=$((4501 + (n * 37) % 500))
  jpost "$IFS_URL/_sim/ifs/modify" "{\"set\":\"PurchaseOrderSet\",\"key\":\"$key\",\"changes\":{\"NetAmtCurr\":$n.25}}" >/dev/null
  # --wait exits non-zero when a poll job failed; retries are counted below (the flow's
  # K_SYNC status is not checked: a scheduled poll may be running at that moment).
  "$MLC" sync demo --wait --timeout 30 >/dev/null || fail "sync $n failed"
  syncs=$((syncs + 1))
  sleep 0.5
done
retried=$("${REDIS_CLI[@]}" HGET 'mlc:{demo}:stats' jobs_retried); retried=${retried:-0}
unauth=$(jget "$IFS_URL/_sim/stats" "sum(v for k, v in d['requests'].items() if k.endswith(' 401'))")
tokens=$(jget "$IFS_URL/_sim/stats" "d['tokens_issued']")
[ "$retried" -eq 0 ] || fail "$retried job retries during the run"
[ "$tokens" -ge $((DURATION / 5 - 2)) ] || fail "only $tokens tokens issued in ${DURATION}s of 5-s tokens"
ok "$syncs syncs in ${DURATION}s with 5-s tokens: 0 failed polls, 0 retries, $tokens tokens issued, $unauth API calls answered 401"
