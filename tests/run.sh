#!/usr/bin/env bash
# Runs the test suites: `tests/run.sh` (all), `tests/run.sh unit`, `tests/run.sh integration`,
# or `tests/run.sh NAME...` for single tests: `test_x` is the unit test bin/tests/test_x,
# `test_x.sh` the integration test tests/integration/test_x.sh.
# Each test runs with a time limit; the last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
mode=${1:-all}
out=tests/out
mkdir -p "$out"
passed=0; failed=0; failures=()

run_one() {
  local name=$1; shift
  local log="$out/$name.log" start=$SECONDS
  if timeout --kill-after=10 "${TEST_TIMEOUT:-900}" "$@" >"$log" 2>&1; then
    passed=$((passed + 1)); echo "PASS $name ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "FAIL $name ($((SECONDS - start)) s), log: $log"
    tail -n 40 "$log" | sed 's/^/    /'
  fi
}

units() { for t in "$BIN"/tests/test_*; do [ -x "$t" ] && run_one "$(basename "$t")" "$t"; done; }
integrations() { for t in tests/integration/test_*.sh; do [ -f "$t" ] && run_one "$(basename "$t")" bash "$t"; done; }

case "$mode" in
  all) units; integrations ;;
  unit) units ;;
  integration) integrations ;;
  *) for n in "$@"; do
       if [ -x "$BIN/tests/$n" ]; then run_one "$n" "$BIN/tests/$n"
       elif [ -f "tests/integration/$n" ]; then run_one "$n" bash "tests/integration/$n"
       elif [ -f "tests/integration/$n.sh" ]; then run_one "$n.sh" bash "tests/integration/$n.sh"
       else echo "no test named $n"; failed=$((failed + 1)); fi
     done ;;
esac
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
