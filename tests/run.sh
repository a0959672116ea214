#!/usr/bin/env bash
# Runs the test suites: `tests/run.sh` (all), `tests/run.sh unit`, `tests/run.sh integration`,
# or `tests/run.sh NAME...` for single tests: `test_x` is the unit test bin/tests/test_x,
# `test_x.sh` the integration test tests/integration/test_x.sh, `test_deploy` the deployment
# test.
# Each test runs with a time limit; the last line is "N passed, N failed". Integration tests
# run two at a time (MLC_TEST_JOBS), those marked "# test: serial" alone afterwards.
# `all` also runs the deployment test (tests/deploy/run.sh, "test_deploy": Docker Compose on
# a private dockerd) as the first of the parallel integration tests, unless MLC_TEST_DEPLOY=0;
# the test tools are installed first (scripts/deps.sh --test) and the deployment test's base
# image is debootstrapped in the background while the unit tests run.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
mode=${1:-all}
out=tests/out
mkdir -p "$out"
passed=0; failed=0; failures=()

# report NAME RC SECONDS: counts and prints the outcome of a finished test (and the reason
# of a test that skipped itself: its "SKIPPED: ..." lines).
report() {
  local name=$1 rc=$2 secs=$3 log="$out/$1.log"
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1)); echo "PASS $name ($secs s)"
    grep '^SKIPPED' "$log" 2>/dev/null | sed 's/^/    /' || true
  else
    failed=$((failed + 1)); failures+=("$name"); echo "FAIL $name ($secs s), log: $log"
    tail -n 40 "$log" | sed 's/^/    /'
  fi
}

run_one() {
  local name=$1; shift
  local start=$SECONDS rc=0
  timeout --kill-after=10 "${TEST_TIMEOUT:-900}" "$@" >"$out/$name.log" 2>&1 || rc=$?
  report "$name" "$rc" $((SECONDS - start))
}

# The unit test binaries of tests/unit/*.c (a stale binary of a removed test does not run).
units() {
  local src t
  for src in tests/unit/test_*.c; do
    t="$BIN/tests/$(basename "$src" .c)"
    if [ -x "$t" ]; then run_one "$(basename "$t")" "$t"
    else failed=$((failed + 1)); failures+=("$(basename "$t")"); echo "FAIL $(basename "$t"): $t not built"; fi
  done
}

# Integration tests run MLC_TEST_JOBS (default 2) at a time: most of their time is spent
# waiting (token lifetimes, schedules, sleeps). Each slot gets its own port range for
# free_port (lib.sh), so two stacks never pick the same port. A test whose header has the line
# "# test: serial" measures timing or load and runs afterwards, alone.
integrations() {
  local jobs=${MLC_TEST_JOBS:-2} par=() ser=() t
  [ "${with_deploy:-0}" = 1 ] && par+=(tests/deploy/run.sh)
  for t in tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    if grep -q '^# test: serial' "$t"; then ser+=("$t"); else par+=("$t"); fi
  done
  local -a slot_pid=() slot_name=() slot_start=()
  local span=$(( (32767 - 20000 + 1) / jobs )) i next=0 busy
  while [ $next -lt ${#par[@]} ] || [ ${#slot_pid[@]} -gt 0 ]; do
    for ((i = 0; i < jobs; i++)); do       # fill free slots
      [ -z "${slot_pid[$i]:-}" ] && [ $next -lt ${#par[@]} ] || continue
      t=${par[$next]}; next=$((next + 1))
      slot_name[$i]=$(basename "$t"); slot_start[$i]=$SECONDS
      [ "$t" = tests/deploy/run.sh ] && slot_name[$i]=test_deploy
      MLC_TEST_PORT_LO=$((20000 + i * span)) MLC_TEST_PORT_HI=$((20000 + (i + 1) * span - 1)) \
        timeout --kill-after=10 "${TEST_TIMEOUT:-900}" bash "$t" >"$out/${slot_name[$i]}.log" 2>&1 &
      slot_pid[$i]=$!
    done
    busy=0
    for ((i = 0; i < jobs; i++)); do [ -n "${slot_pid[$i]:-}" ] && busy=1; done
    [ $busy -eq 1 ] || break
    wait -n 2>/dev/null || true
    for ((i = 0; i < jobs; i++)); do        # report the finished ones
      [ -n "${slot_pid[$i]:-}" ] || continue
      kill -0 "${slot_pid[$i]}" 2>/dev/null && continue
      local rc=0; wait "${slot_pid[$i]}" || rc=$?
      report "${slot_name[$i]}" "$rc" $((SECONDS - slot_start[$i]))
      unset "slot_pid[$i]"
    done
  done
  for t in "${ser[@]}"; do run_one "$(basename "$t")" bash "$t"; done
}

# The tools single tests use, installed before any test runs (as root; a test whose tool is
# missing says SKIPPED).
test_tools() {
  [ "$(id -u)" -eq 0 ] || return 0
  scripts/deps.sh --test >"$out/deps-test.log" 2>&1 ||
    echo "some test tools could not be installed (tests that need them say SKIPPED): $out/deps-test.log"
}

# The deployment test joins the integration tests; its base image is built in the background.
deploy_prepare() {
  [ "${MLC_TEST_DEPLOY:-1}" = 1 ] || return 0
  with_deploy=1
  if [ "$(id -u)" -eq 0 ] && command -v debootstrap >/dev/null; then
    scripts/docker-base.sh --tar-only >"$out/deploy-base.log" 2>&1 &
    base_pid=$!
  fi
}

case "$mode" in
  all) test_tools; deploy_prepare; units; integrations ;;
  unit) units ;;
  integration) test_tools; integrations ;;
  *) for n in "$@"; do
       if [ -x "$BIN/tests/$n" ]; then run_one "$n" "$BIN/tests/$n"
       elif [ -f "tests/integration/$n" ]; then run_one "$n" bash "tests/integration/$n"
       elif [ -f "tests/integration/$n.sh" ]; then run_one "$n.sh" bash "tests/integration/$n.sh"
       elif [ "$n" = test_deploy ]; then run_one test_deploy bash tests/deploy/run.sh
       else echo "no test named $n"; failed=$((failed + 1)); fi
     done ;;
esac
[ -n "${base_pid:-}" ] && { wait "$base_pid" 2>/dev/null || true; }   # nothing left running
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
