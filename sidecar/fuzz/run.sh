#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) and prints, per target, the executions
# libFuzzer reports, then `N passed, N failed`. Exits non-zero if a target crashed, leaked past
# the memory limits, or hung.
#
#   sidecar/fuzz/run.sh            60 s per target
#   sidecar/fuzz/run.sh 600        longer, locally
#   FUZZ_TARGETS="frames params" sidecar/fuzz/run.sh 30
#   FUZZ_SEED=1 FUZZ_FRESH=1 sidecar/fuzz/run.sh 600   what CI explores, ten times as long
#
# By default every run starts where the last one stopped (the kept corpus) with a random
# libFuzzer seed: exploration. With FUZZ_SEED the mutations are libFuzzer's fixed sequence for
# that seed, and with FUZZ_FRESH the run starts from the seeds alone, in a throwaway corpus: a run
# any machine repeats, and a short run explores a prefix of what a longer one with the same
# seed explored. The CI suite (tests/fuzz.sh) runs that way, so it is a regression gate that
# fails on a change, not on the luck of the draw; new findings come from the longer local runs.
#
# Needs only a stable toolchain: cargo-fuzz is installed when missing, and RUSTC_BOOTSTRAP=1
# lets stable rustc take the sanitizer flags. Seeds are cut from the fixtures each run
# (tests/fixtures/home, tests/fixtures/corpus); what libFuzzer finds is kept in
# sidecar/fuzz/corpus/<target> (not committed), crashes in sidecar/fuzz/artifacts/<target>.
set -uo pipefail
SECS=${1:-60}
FUZZ_DIR=$(cd "$(dirname "$0")" && pwd)
SIDECAR=$(dirname "$FUZZ_DIR")
REPO=$(dirname "$SIDECAR")
FIX=$REPO/tests/fixtures
TARGETS=(${FUZZ_TARGETS:-records store_files transcript cursors params frames json_members})
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked || { echo "cannot install cargo-fuzz"; echo "0 passed, 1 failed"; exit 1; }
fi

SEEDS=$(mktemp -d)
trap 'rm -rf "$SEEDS"' EXIT

# --- seeds ------------------------------------------------------------------------------------
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
agent_byte() { # the store index in build_stores order: claude qwen codex gemini
  case "$1" in
    */.claude/*|*/corpus/*) printf '\x00' ;;
    */.qwen/*) printf '\x01' ;;
    */.codex/*) printf '\x02' ;;
    */.gemini/*) printf '\x03' ;;
    *) printf '\x00' ;;
  esac
}
make_seeds() {
  local t
  for t in "${TARGETS[@]}"; do mkdir -p "$SEEDS/$t"; done
  local n=0 f
  # Transcript chunks: up to 24 chunks of 6 lines per fixture file, spread over the file.
  while IFS= read -r f; do
    n=$((n + 1))
    local lines chunks step i=0
    lines=$(wc -l <"$f")
    step=$(( (lines / 6) / 24 + 1 ))
    while [ $((i * 6)) -lt "$lines" ]; do
      if [ $((i % step)) = 0 ]; then
        local chunk=$SEEDS/chunk
        sed -n "$((i * 6 + 1)),$((i * 6 + 6))p" "$f" >"$chunk"
        [ -d "$SEEDS/records" ] && cp "$chunk" "$SEEDS/records/$n-$i"
        [ -d "$SEEDS/json_members" ] && cp "$chunk" "$SEEDS/json_members/$n-$i"
        [ -d "$SEEDS/store_files" ] && { agent_byte "$f"; printf '\x05\x80'; cat "$chunk"; } >"$SEEDS/store_files/$n-$i"
        [ -d "$SEEDS/transcript" ] && { printf '\x03\x20\x10'; cat "$chunk"; } >"$SEEDS/transcript/$n-$i"
      fi
      i=$((i + 1))
    done
    # The head of the file as a session of its own (first prompt, titles, compactions).
    [ -d "$SEEDS/store_files" ] && { agent_byte "$f"; printf '\x0a\x60'; head -n 40 "$f"; } >"$SEEDS/store_files/$n-head"
  done < <(find "$FIX/home" "$FIX/corpus" -name '*.jsonl' -type f | sort)
  # Transcript shapes: CRLF, NUL, invalid UTF-8, torn tail, blank lines, 10 MB lines.
  if [ -d "$SEEDS/transcript" ]; then
    printf '\x01\x05\x02a\r\n\r\n\x00\xff\xfe\n\n{"x":1}\ntorn' >"$SEEDS/transcript/shapes"
    printf '\x07\x80\x40{"a":"\xff\xa0\xff"}\n\xff\x20x\n{"b":2}\r\n' >"$SEEDS/transcript/long"
    printf '\x30\xff\x40{"a":"\xff\xff\x61\xff\xff\x62\xff\xa0\x63"}\n{"b":2}\n' >"$SEEDS/transcript/10mb-line"
    printf '\x00\x0c\x00line\n\xff\x01\x0a\n\x00\r\n' >"$SEEDS/transcript/limit"
  fi
  if [ -d "$SEEDS/cursors" ]; then
    printf '{"v":1,"dev":2049,"ino":131,"off":1234,"id":"07a5e1c8-2f1e-4c1a-9d3e-5a1b2c3d4e5f"}' | b64url >"$SEEDS/cursors/history"
    printf '{"v":1,"dev":1,"ino":2,"off":3,"id":"x","sub":"agent-a48007564d7f4af2e"}' | b64url >"$SEEDS/cursors/subagent"
    printf '{"m":1763706000000,"a":"claude","i":"59e7b833-aace-4821-88a8-f970caa6c194"}' | b64url >"$SEEDS/cursors/list"
    printf 'claude:59e7b833' >"$SEEDS/cursors/ref"
    printf '../../etc/passwd' >"$SEEDS/cursors/traversal"
  fi
  if [ -d "$SEEDS/params" ]; then
    local s=$SEEDS/params
    printf '{"scope":"all","agents":["claude","qwen"],"branch":"@current","query":"login","limit":20,"cursor":"eyJtIjoxfQ"}' >"$s/list"
    printf '{"session":"claude:59e7b833","limit":50,"before":"eyJ2IjoxfQ","subagent":"agent-a48007564d7f4af2e"}' >"$s/history"
    printf '{"session":{"agent":"codex","id":"01a1fcc8-d54e-7ed0-a7e2-b111c75d7f37"},"upToMessage":"x","title":"Fix\\nlogin\\u0007","branch":"feature/x"}' >"$s/fork"
    printf '{"session":"59e7b833-aace-4821-88a8-f970caa6c194","title":"  Login\\r\\nbug\\t\\u001b[31m "}' >"$s/rename"
    printf '{"session":"59e7b833","tag":"\\ufb01x\\u200b\\u202e"}' >"$s/tag"
    printf '{"session":"59e7b833","strategy":"trim","keepTurns":4,"minBytes":2048,"workDoneToken":"t1"}' >"$s/compress"
    printf '{"session":"59e7b833","fork":true,"prompt":"go on","model":"opus","permissionMode":"plan"}' >"$s/resume"
    printf '{"home":"/home/dev","agents":["gemini"],"storeRoots":{"claude":"/x"},"agentPaths":{"qwen":"/bin/qwen"},"forkOnCheckout":"auto","truncateBytes":100,"logContent":true}' >"$s/init"
  fi
  if [ -d "$SEEDS/frames" ]; then
    local fr=$SEEDS/frames frame
    frame() { printf 'Content-Length: %d\r\n\r\n%s' "${#1}" "$1"; }
    { frame '{"jsonrpc":"2.0","id":1,"method":"sessions/list","params":{"scope":"all"}}'
      frame '{"jsonrpc":"2.0","id":2,"method":"sessions/info","params":{"session":"../../x"}}'
      frame '{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}'; } >"$fr/requests"
    { frame '{not json'; printf 'Content-Length: 99\r\n\r\n{"jsonrpc":"2.0"}'
      frame '{"jsonrpc":"2.0","id":"a","method":"sessions/trash","params":{}}'
      frame '{"jsonrpc":"2.0","id":3,"method":"sessions/rename","params":{"session":"59e7b833","title":7}}'
      frame '{"jsonrpc":"2.0","id":4,"method":"nope"}'
      frame '{"jsonrpc":"2.0","id":5,"method":"shutdown"}'
      frame '{"jsonrpc":"2.0","id":6,"method":"sessions/list"}'; } >"$fr/hostile"
    printf 'Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: 2\r\n\r\n{}garbage\r\n\r\nContent-Length: x\r\n\r\n' >"$fr/headers"
  fi
}
make_seeds

# --- build ------------------------------------------------------------------------------------
cd "$SIDECAR"
echo "=== building fuzz targets"
t0=$SECONDS
if ! cargo fuzz build >"$SEEDS/build.log" 2>&1; then
  tail -40 "$SEEDS/build.log"
  echo "build failed"
  echo "0 passed, ${#TARGETS[@]} failed"
  exit 1
fi
echo "=== built in $((SECONDS - t0)) s"

# --- run --------------------------------------------------------------------------------------
# Longest input per target: parsers see whole records, without libFuzzer spending its time on
# 100 KB tool outputs (the transcript target makes megabyte lines out of short inputs).
declare -A MAX_LEN=([records]=16384 [store_files]=16384 [transcript]=8192 [cursors]=4096 [params]=4096 [frames]=16384)
passed=0
failed=0
seed_flag=()
[ -n "${FUZZ_SEED:-}" ] && seed_flag=(-seed="$FUZZ_SEED")
for t in "${TARGETS[@]}"; do
  corpus=$FUZZ_DIR/corpus/$t
  [ -n "${FUZZ_FRESH:-}" ] && corpus=$SEEDS/found-$t
  mkdir -p "$corpus" "$FUZZ_DIR/artifacts/$t"
  log=$SEEDS/$t.log
  t0=$SECONDS
  cargo fuzz run "$t" "$corpus" "$SEEDS/$t" -- "${seed_flag[@]}" \
    -max_total_time="$SECS" -max_len="${MAX_LEN[$t]:-16384}" -rss_limit_mb=512 -malloc_limit_mb=512 -timeout=30 \
    -print_final_stats=1 -artifact_prefix="$FUZZ_DIR/artifacts/$t/" >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -oE '#[0-9]+[[:space:]]+DONE[[:space:]]+cov: [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1))
    printf '%-12s ok      %10s executions in %3d s (coverage %s)\n' "$t" "${execs:-?}" $((SECONDS - t0)) "${cov:-?}"
  else
    failed=$((failed + 1))
    printf '%-12s FAILED  %10s executions in %3d s (exit %d)\n' "$t" "${execs:-?}" $((SECONDS - t0)) "$rc"
    grep -E 'panicked|ERROR: |SUMMARY|Test unit written|assert' "$log" | head -20
    tail -5 "$log"
  fi
done
echo "${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
