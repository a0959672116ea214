# Shared helpers of the integration tests (sourced). Every test runs its own stack in a private
# run dir on free ports and stops it, by pid, on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${BIN:-bin}
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
MLC="$BIN/mlc"
EXTRA_PIDS=()

# A free TCP port on 127.0.0.1 in [MLC_TEST_PORT_LO, MLC_TEST_PORT_HI] (default 20000-32767;
# tests/run.sh gives tests running side by side disjoint ranges).
free_port() {
  python3 - <<'PY'
import os, random, socket
lo, hi = int(os.environ.get("MLC_TEST_PORT_LO", 20000)), int(os.environ.get("MLC_TEST_PORT_HI", 32767))
for _ in range(200):
    p = random.randint(lo, hi)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); s.close(); print(p); break
    except OSError:
        s.close()
PY
}

# Sets up a private run dir and ports; `mlc up` then uses them.
stack_env() {
  export MLC_RUN_DIR; MLC_RUN_DIR=$(mktemp -d /tmp/mlc-test.XXXXXX)
  export MLC_REDIS_PORT; MLC_REDIS_PORT=$(free_port)
  export MLC_SIM_IFS_PORT; MLC_SIM_IFS_PORT=$(free_port)
  export MLC_SIM_ION_PORT; MLC_SIM_ION_PORT=$(free_port)
  export MLC_SIM_ASANA_PORT; MLC_SIM_ASANA_PORT=$(free_port)
  export MLC_GW_PORT; MLC_GW_PORT=$(free_port)
  export MLC_BROKER_URL; MLC_BROKER_URL="tcp://127.0.0.1:$(free_port)"
  unset MLC_REDIS_URL MLC_MASTER_KEY MLC_MASTER_KEY_FILE
  IFS_URL="http://127.0.0.1:$MLC_SIM_IFS_PORT"
  ION_URL="http://127.0.0.1:$MLC_SIM_ION_PORT"
  ASANA_URL="http://127.0.0.1:$MLC_SIM_ASANA_PORT"
  REDIS_CLI=(redis-cli -p "$MLC_REDIS_PORT")
  trap stack_cleanup EXIT
}

stack_cleanup() {
  local rc=$?
  for p in "${EXTRA_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ -n "${MLC_RUN_DIR:-}" ]; then
    if [ $rc -ne 0 ] && [ -d "$MLC_RUN_DIR/logs" ]; then
      echo "---- logs (last lines) ----"
      for f in "$MLC_RUN_DIR"/logs/*.log; do echo "== $f"; tail -n 15 "$f"; done
    fi
    "$MLC" down >/dev/null 2>&1 || true
    # Sanitizer builds (make SAN=1): a report in any process log fails the test.
    if grep -lE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$MLC_RUN_DIR"/logs/*.log 2>/dev/null; then
      grep -hE -A25 "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$MLC_RUN_DIR"/logs/*.log | head -80
      echo "FAIL: sanitizer report in the logs above"
      rc=1
    fi
    rm -rf "$MLC_RUN_DIR"
  fi
  exit $rc
}

# The environment of the running stack, for processes a test starts itself.
stack_proc_env() {
  echo "MLC_REDIS_URL=redis://127.0.0.1:$MLC_REDIS_PORT/0 MLC_MASTER_KEY_FILE=$MLC_RUN_DIR/master.key MLC_BROKER_URL=$MLC_BROKER_URL"
}

# Starts bin/<prog> detached against the running stack; its pid is killed at exit.
start_extra() {
  local prog=$1; shift
  env $(stack_proc_env) "$BIN/$prog" "$@" >>"$MLC_RUN_DIR/logs/$prog-extra.log" 2>&1 &
  EXTRA_PIDS+=($!)
  echo $!
}

pid_of() { python3 -c "import json,sys; print([p['pid'] for p in json.load(open('$MLC_RUN_DIR/state.json'))['procs'] if p['name']=='$1'][0])"; }

# JSON helpers: jget URL EXPR (python expression on `d`).
jget() { curl -sf "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"; }
jpost() { curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$1"; }

# Number of tasks in the simulated Asana project.
task_count() { jget "$ASANA_URL/_sim/tasks?project=$1" "len(d['data'])"; }
# tasks_at_least PROJECT N: true once the project holds N tasks (for wait_until).
tasks_at_least() { [ "$(task_count "$1")" -ge "$2" ]; }
# True once no write, poll or running job is left for the tenants named (for wait_until).
queues_empty() {
  local t q
  for t in "$@"; do
    for q in "queue:write" "queue:poll" leases retry; do
      [ "$("${REDIS_CLI[@]}" ZCARD "mlc:{$t}:$q")" -eq 0 ] || return 1
    done
  done
}

# wait_until SECONDS CMD...: polls CMD until it succeeds; fails the test on timeout.
wait_until() {
  local secs=$1; shift
  local end=$((SECONDS + secs))
  until "$@"; do
    [ $SECONDS -ge $end ] && { echo "timed out after ${secs}s waiting for: $*"; return 1; }
    sleep 0.2
  done
}

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
