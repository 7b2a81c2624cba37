#!/usr/bin/env bash
# Benchmarks vs the official Claude Agent SDK; regenerates bench/RESULTS.md.
#   bench/run.sh [--runs N] [--appends N] [--turns N] [--only list,history,fork,append,context]
# Corpora (about 2.2 GB) are generated once into $BENCH_WORK (default .tools/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
SHARED="${SHARED:-$(cd "$REPO/.." && pwd)/shared}"
WORK="${BENCH_WORK:-$REPO/.tools/bench}"
SDK_VERSION="${SDK_VERSION:-0.2.186}"
VENV="$REPO/.tools/sdk-venv"
mkdir -p "$WORK"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import claude_agent_sdk" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "claude-agent-sdk==$SDK_VERSION"
fi
cargo build --release --locked -q
exec python3 bench/bench.py --binary "$REPO/target/release/session-sidecar" --sdk-python "$VENV/bin/python" \
  --shared "$SHARED" --work "$WORK" "$@"
