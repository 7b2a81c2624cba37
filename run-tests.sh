#!/usr/bin/env bash
# The one test command: formatting, lints, unit + e2e tests, then the suites that drive real
# agent CLIs and real editors. Each suite prints its own `N passed, N failed` line; this script
# ends with the total and exits non-zero if anything failed.
#
#   ./run-tests.sh            everything
#   ./run-tests.sh --quick    only fmt, clippy and cargo test
set -uo pipefail
cd "$(dirname "$0")"
REPO=$PWD
export SHARED="${SHARED:-$(cd "$REPO/.." && pwd)/shared}"
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1

passed=0
failed=0
failures=()
run() { # name, command...
  local name=$1; shift
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "=== $name: FAILED ($((SECONDS - t0)) s)"
  fi
}

run "cargo fmt --check" cargo fmt --all -- --check
run "cargo clippy" cargo clippy --all-targets --locked -- -D warnings
run "cargo test" cargo test --locked
if [ "$QUICK" = 0 ]; then
  run "release build" cargo build --release --locked
  export SIDECAR_BIN="$REPO/target/release/session-sidecar"
  for suite in tests/*.sh editors/vscode/test.sh editors/nvim/test.sh; do
    [ -x "$suite" ] || continue
    run "$suite" "$suite"
  done
fi

echo
echo "suites: $passed passed, $failed failed"
[ "$failed" = 0 ] || { printf 'failed: %s\n' "${failures[@]}"; exit 1; }
