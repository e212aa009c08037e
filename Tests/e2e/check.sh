# Sourced by the e2e scripts: `check NAME COMMAND...` runs one check with its output in $WORK/last.out, counts it
# in $passed / $failed, prints "ok"/"FAIL", the check's "figure:" lines, and the tail of the output on failure.
passed=0; failed=0
check() {
  local name="$1"; shift
  if "$@" >"$WORK/last.out" 2>&1; then passed=$((passed + 1)); echo "ok   - $name"; grep '^figure:' "$WORK/last.out" | sed 's/^/       /'
  else failed=$((failed + 1)); echo "FAIL - $name"; sed 's/^/       /' "$WORK/last.out" | tail -n 20; fi
}
