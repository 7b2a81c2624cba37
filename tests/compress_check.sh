#!/usr/bin/env bash
# tests/compress_check.sh — `sessions/compress` against the real agent CLIs and the mock APIs
# from ../shared/tools/agents (issue 6 acceptance points 2 and 3).
#
#  trim   A trim-compressed fork of fixture sessions and of a generated 20 MB session
#         (synth_claude_corpus.py --sessions 1 --size-mb 20 --seed 11) is resumed by the real
#         Claude CLI (resume-check.sh, request saved with SAVE_MOCK_LOG). Checked: the source file
#         is byte-identical, the fork is 0600, the fork resumes with the same number of history
#         messages as the original, every tool_use in the request has its tool_result (and
#         vice versa), and the request shrinks: to at most half for the 20 MB session (default
#         settings); smaller for the fixture sessions (keep-turns 1), whose requests are small
#         enough that the system prompt and tool definitions (~45 KB, untouched by any history
#         trim) are a third or more of them; not larger for the largest real-CLI fixture, which
#         is compacted down to one text turn and has nothing left to trim.
#  agent  `compress --strategy agent` on a Claude, a Qwen and a Codex fixture session runs the real CLI
#         (`claude --resume ID -p /compact`, `qwen --resume ID -p /compress`, `codex app-server`
#         thread/compact/start) against the mock:
#         the agent's own compaction record is appended, `context` drops, the result's
#         tokensAfter is what `context` reads back, and the compacted session still resumes.
#
# The last line is "N passed, N failed". Checks that cannot run because a CLI cannot be
# installed are printed as SKIPPED (never counted as passed).
#
# Env: SIDECAR (binary; default: cargo build, target/debug/session-sidecar), SHARED_TOOLS
# (default ../shared/tools next to the repo), CLAUDE_BIN / QWEN_BIN (else install.sh installs
# them), KEEP_WORK=1 (keep the scratch dir), ONLY=trim|agent.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=${SHARED_TOOLS:-$REPO/../shared/tools}
AGENTS_DIR=$TOOLS/agents
PY=$(command -v python3)
PASS=0
FAIL=0
SKIP=0
pass() { echo "PASS    $*"; PASS=$((PASS + 1)); }
fail() { echo "FAIL    $*"; FAIL=$((FAIL + 1)); }
skip() { echo "SKIPPED $*"; SKIP=$((SKIP + 1)); }
check() { # check "description" CONDITION...
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
  [ "$SKIP" -gt 0 ] && echo "($SKIP check(s) SKIPPED: see above)"
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
  exit $?
}

[ -d "$AGENTS_DIR" ] || { echo "no agent tools at $AGENTS_DIR (set SHARED_TOOLS)"; fail "agent tools present"; finish; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/compress-check.XXXXXX")
MOCK_PIDS=()
cleanup() {
  local p
  for p in "${MOCK_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "scratch dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

if [ -z "${SIDECAR:-}" ]; then
  (cd "$REPO" && cargo build -q --bin session-sidecar) || { fail "cargo build"; finish; }
  SIDECAR=$REPO/target/debug/session-sidecar
fi
mkdir -p "$WORK/bin" "$WORK/proj" "$WORK/xdg-cache" "$WORK/xdg-data"

# sc HOME_DIR WORKSPACE ARGS... : the sidecar CLI on a scratch home, private cache/data dirs.
sc() {
  local home=$1 ws=$2; shift 2
  env -u CLAUDE_CONFIG_DIR -u QWEN_HOME -u QWEN_RUNTIME_DIR -u CODEX_HOME -u GEMINI_CLI_HOME \
    XDG_CACHE_HOME="$WORK/xdg-cache" XDG_DATA_HOME="$WORK/xdg-data" \
    "$SIDECAR" --home "$home" --workspace "$ws" "$@"
}
jget() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); 
for k in sys.argv[2].split("."): d=d[k]
print(d)' "$1" "$2"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# agent_bin VAR NAME -> path, or empty when it cannot be installed
agent_bin() {
  local var=$1 name=$2
  if [ -n "${!var:-}" ]; then echo "${!var}"; return; fi
  "$AGENTS_DIR/install.sh" "$name" 2>"$WORK/install-$name.log" | tail -1
}

# start_mock SCRIPT NAME [ENV=VAL...] -> sets MOCK_PORT
start_mock() {
  local script=$1 name=$2; shift 2
  local pf="$WORK/$name.port"
  env "$@" MOCK_LOG="$WORK/$name.log" MOCK_PORT_FILE="$pf" "$PY" "$AGENTS_DIR/mocks/$script" 0 \
    >"$WORK/$name.out" 2>&1 &
  MOCK_PIDS+=($!)
  local i
  for i in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.1; done
  MOCK_PORT=$(cat "$pf" 2>/dev/null)
  [ -n "$MOCK_PORT" ]
}

# What the mock received for the resume probe: size, items, unpaired tool calls.
request_stats() { "$PY" "$REPO/tests/request_stats.py" "$1"; }

# resume AGENT HOME ID TAG [PROJECT] -> rc; log in $WORK/TAG.log, output in $WORK/TAG.out.
# Claude resumes by id from any directory; Qwen only from the session's own project directory.
resume() {
  local agent=$1 var; var=$(echo "$1" | tr a-z A-Z)_BIN
  env "$var=${AGENT_EXE[$agent]}" SAVE_MOCK_LOG="$WORK/$4.log" CLI_TIMEOUT=600 \
    "$AGENTS_DIR/resume-check.sh" "$agent" "$2" "${5:-$WORK/proj}" "$3" >"$WORK/$4.out" 2>&1
}
history_messages() { tail -1 "$1" | sed 's/^RESULT //' | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("history_messages"))'; }

# trim_case NAME AGENT HOME WORKSPACE SESSION KEEP_TURNS REQUIRE(half|smaller|not-larger) [PAD_KB]
# PAD_KB: first make the session bulky with tests/bulky_AGENT.py (every tool output >= PAD_KB KB).
trim_case() {
  local name=$1 agent=$2 home=$3 ws=$4 sid=$5 keep=$6 require=$7 pad=${8:-}
  local ref=$sid
  [ "$agent" != claude ] && ref=$agent:$sid
  local src
  src=$(sc "$home" "$ws" info "$ref" --json 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["path"])' 2>/dev/null)
  [ -f "$src" ] || { fail "[$name] source $ref exists"; return; }
  if [ -n "$pad" ]; then
    local n; n=$("$PY" "$REPO/tests/bulky_$agent.py" "$src" "$pad") || { fail "[$name] bulky_$agent.py"; return; }
    echo "        [$name] $n tool output(s) padded to $pad KB"
  fi
  local before_sha; before_sha=$(sha "$src")
  local args=(compress "$ref" --strategy trim --json)
  [ "$keep" != default ] && args+=(--keep-turns "$keep")
  local t0=$SECONDS
  if ! sc "$home" "$ws" "${args[@]}" >"$WORK/$name.trim.json" 2>"$WORK/$name.trim.err"; then
    fail "[$name] compress --strategy trim: $(tail -2 "$WORK/$name.trim.err")"; return
  fi
  local new newf; new=$(jget "$WORK/$name.trim.json" session.id); newf=$(jget "$WORK/$name.trim.json" session.path)
  local tb ta; tb=$(jget "$WORK/$name.trim.json" tokensBefore); ta=$(jget "$WORK/$name.trim.json" tokensAfter)
  echo "        [$name] $ref ($(stat -c %s "$src") bytes, keep-turns $keep) -> $new ($(jget "$WORK/$name.trim.json" session.sizeBytes) bytes) in $((SECONDS - t0)) s; estimated tokens $tb -> $ta"
  check "[$name] source file byte-identical after the trim" [ "$(sha "$src")" = "$before_sha" ]
  check "[$name] fork written next to the source, mode 0600" \
    [ "$(stat -c %a "$newf" 2>/dev/null)" = 600 -a "$(dirname "$newf")" = "$(dirname "$src")" ]
  local elided; elided=$(grep -o '\[elided by session-sidecar: ' "$newf" | wc -l)
  echo "        [$name] $elided placeholder(s) in the fork"
  [ "$require" != not-larger ] && check "[$name] old bulky results became placeholders ($elided)" [ "$elided" -gt 0 ]
  if [ -z "${AGENT_EXE[$agent]:-}" ]; then
    skip "[$name] resume by the real $agent CLI (not installable: see $WORK/install-$agent.log)"
    return
  fi
  local proj=$WORK/proj
  if [ "$agent" != claude ]; then
    proj=$ws
    mkdir -p "$proj" 2>/dev/null || { fail "[$name] project directory $proj cannot be created"; return; }
  fi
  resume "$agent" "$home" "$sid" "$name.orig" "$proj"; local rc_o=$?
  resume "$agent" "$home" "$new" "$name.trim" "$proj"; local rc_n=$?
  check "[$name] original resumes (resume-check rc=$rc_o)" [ "$rc_o" = 0 ]
  check "[$name] trimmed fork resumes (resume-check rc=$rc_n)" [ "$rc_n" = 0 ]
  [ "$rc_o" = 0 ] && [ "$rc_n" = 0 ] || { tail -5 "$WORK/$name.trim.out"; return; }
  local ho hn; ho=$(history_messages "$WORK/$name.orig.out"); hn=$(history_messages "$WORK/$name.trim.out")
  check "[$name] same history as the original ($ho vs $hn messages)" [ "$ho" = "$hn" ]
  request_stats "$WORK/$name.orig.log" >"$WORK/$name.orig.stats"
  request_stats "$WORK/$name.trim.log" >"$WORK/$name.trim.stats"
  local bo bn up uses
  bo=$(jget "$WORK/$name.orig.stats" body_bytes); bn=$(jget "$WORK/$name.trim.stats" body_bytes)
  up=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["unpaired"]))' "$WORK/$name.trim.stats")
  uses=$(jget "$WORK/$name.trim.stats" tool_calls)
  echo "        [$name] request to the mock API: $bo -> $bn bytes ($((bn * 100 / (bo > 0 ? bo : 1)))%)"
  local fixed=$((bo - $(jget "$WORK/$name.orig.stats" history_bytes)))
  echo "        [$name] of which system prompt, tool definitions and settings (no history trim can shrink them): at least $fixed bytes ($((fixed * 100 / (bo > 0 ? bo : 1)))% of the original request)"
  check "[$name] every tool call paired with its result in the request ($uses calls, $up unpaired)" [ "$up" = 0 ]
  case "$require" in
    half) check "[$name] request at most half of the original ($bn <= $bo / 2)" [ $((bn * 2)) -le "$bo" ] ;;
    smaller) check "[$name] request smaller than the original ($bn < $bo)" [ "$bn" -lt "$bo" ] ;;
    *) check "[$name] request not larger than the original ($bn <= $bo)" [ "$bn" -le "$bo" ] ;;
  esac
}

# turn_after_trim NAME AGENT HOME WORKSPACE: the trimmed fork of trim case NAME shows its estimate as
# its context; a real turn on it (KEEP=1: the CLI appends) replaces the estimate with the usage the
# agent recorded, and the fork still resumes after that turn.
turn_after_trim() {
  local name=$1 agent=$2 home=$3 ws=$4
  [ -n "${AGENT_EXE[$agent]:-}" ] || return
  local new est used0 used1
  new=$(jget "$WORK/$name.trim.json" session.id); est=$(jget "$WORK/$name.trim.json" tokensAfter)
  used0=$(jget "$WORK/$name.trim.json" session.context.usedTokens)
  check "[$name] the fork's context is the trim's estimate ($used0 = $est)" [ "$used0" = "$est" ]
  local var; var=$(echo "$agent" | tr a-z A-Z)_BIN
  local proj=$ws; [ "$agent" = claude ] && proj=$WORK/proj
  env "$var=${AGENT_EXE[$agent]}" KEEP=1 CLI_TIMEOUT=600 \
    "$AGENTS_DIR/resume-check.sh" "$agent" "$home" "$proj" "$new" >"$WORK/$name.turn.out" 2>&1
  local rc=$?
  check "[$name] a real turn on the trimmed fork (resume-check KEEP=1 rc=$rc)" [ "$rc" = 0 ]
  sc "$home" "$ws" context "$agent:$new" --json >"$WORK/$name.ctx.json" 2>>"$WORK/$name.trim.err"
  used1=$(jget "$WORK/$name.ctx.json" usedTokens)
  check "[$name] after the turn the context is the agent's own figure ($est -> $used1)" [ "$used1" != "$est" -a "$used1" -gt 0 ]
  resume "$agent" "$home" "$new" "$name.again" "$proj"; rc=$?
  check "[$name] the fork still resumes after that turn (rc=$rc)" [ "$rc" = 0 ]
}

declare -A AGENT_EXE=()
for a in claude qwen codex gemini; do
  v=$(echo "$a" | tr a-z A-Z)_BIN
  x=$(agent_bin "$v" "$a") || x=""
  [ -n "$x" ] && [ -x "$x" ] && AGENT_EXE[$a]=$x
  echo "$a: ${AGENT_EXE[$a]:-not available}"
done
CLAUDE=${AGENT_EXE[claude]:-}
QWEN=${AGENT_EXE[qwen]:-}
[ -n "$CLAUDE" ] && ln -sf "$CLAUDE" "$WORK/bin/claude"
CODEX=${AGENT_EXE[codex]:-}
[ -n "$QWEN" ] && ln -sf "$QWEN" "$WORK/bin/qwen"
[ -n "$CODEX" ] && ln -sf "$CODEX" "$WORK/bin/codex"
echo "sidecar: $SIDECAR"

if [ "${ONLY:-trim}" = trim ] || [ -z "${ONLY:-}" ]; then
  echo "== trim"
  cp -r "$REPO/tests/fixtures/home" "$WORK/home-trim"
  cp -r "$REPO/tests/fixtures/corpus" "$WORK/corpus"
  chmod -R u+w "$WORK/home-trim" "$WORK/corpus"
  WS=/home/dev/acme-webapp
  # The largest session of the real-CLI fixtures. It is compacted: what is sent is the summary
  # and one text turn (no tool call), next to ~40 KB of system prompt and tool definitions, so
  # there is nothing to trim; the fork must still resume identically and not grow the request.
  trim_case fixture-largest claude "$WORK/home-trim" "$WS" 1b4c021f-90ef-4fb4-ba06-fb4530cf2884 default not-larger
  turn_after_trim fixture-largest claude "$WORK/home-trim" "$WS"
  # The largest generated fixture session (compacted too: ~80 KB of history after the boundary,
  # next to ~45 KB of system prompt and tool definitions no history trim can shrink).
  trim_case corpus-largest claude "$WORK/corpus" /home/dev/src/project-000 675c734d-5943-4ed7-85b1-f6dbe4ba3a24 1 smaller
  # The fixture session with the longest history (107 messages, no compaction).
  trim_case corpus-longest claude "$WORK/corpus" /home/dev/src/project-002 04e0ab0e-d510-4117-ae56-f8eb1582ea6d 1 smaller
  # A generated 20 MB session, default settings.
  if "$PY" "$TOOLS/corpus/synth_claude_corpus.py" "$WORK/synth" --sessions 1 --size-mb 20 --seed 11 >"$WORK/synth.out" 2>&1; then
    S20=$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["session_id"])' "$WORK/synth/synth_manifest.jsonl")
    W20=$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["cwd"])' "$WORK/synth/synth_manifest.jsonl")
    trim_case synth-20mb claude "$WORK/synth" "$W20" "$S20" default half
  else
    fail "generate the 20 MB session: $(tail -2 "$WORK/synth.out")"
  fi
  # The other agents: a real fixture session with a tool call two turns back, its tool output
  # made bulky (200 KB, as a big file read would be), trimmed keeping the last turn.
  trim_case qwen-bulky qwen "$WORK/home-trim" "$WS" 33467198-b0c9-40b4-8d2e-f3aa9566f785 1 half 200
  turn_after_trim qwen-bulky qwen "$WORK/home-trim" "$WS"
  # Codex 0.169 compacts a resumed fixture thread first ("comp_hash_changed") unless the model is
  # configured; with the compaction the probe request would carry 5 items either way.
  printf 'model = "gpt-5.5"\n' >"$WORK/home-trim/.codex/config.toml"
  # Codex cuts each tool output to about 48 KB when it sends it, next to ~44 KB of fixed prompt.
  trim_case codex-bulky codex "$WORK/home-trim" "$WS" 01a1fcc8-d54e-7ed0-a7e2-b111c75d7f37 1 half 200
  turn_after_trim codex-bulky codex "$WORK/home-trim" "$WS"
  # Gemini CLI masks tool outputs itself once they pass ~80k tokens, so 100 KB (below that).
  trim_case gemini-bulky gemini "$WORK/home-trim" "$WS" 47d75b93-bf15-4461-8bef-b1f7c7e23d6b 1 half 100
  turn_after_trim gemini-bulky gemini "$WORK/home-trim" "$WS"
fi

if [ "${ONLY:-agent}" = agent ] || [ -z "${ONLY:-}" ]; then
  echo "== agent"
  H=$WORK/home-agent
  cp -r "$REPO/tests/fixtures/home" "$H"
  # agent_case NAME AGENT SESSION MARKER ENV...  (the agent inherits the sidecar's environment)
  agent_case() {
    local name=$1 agent=$2 sid=$3 marker=$4; shift 4
    local f; f=$(find "$H/.$agent" -name "*$sid.jsonl" | head -1)
    [ -f "$f" ] || { fail "[$name] session file of $sid"; return; }
    local n0; n0=$(grep -c "$marker" "$f")
    sc "$H" /home/dev/acme-webapp context "$agent:$sid" --json >"$WORK/$name.ctx0.json" 2>"$WORK/$name.err" \
      || { fail "[$name] context before: $(tail -2 "$WORK/$name.err")"; return; }
    local u0; u0=$(jget "$WORK/$name.ctx0.json" usedTokens)
    local t0=$SECONDS
    if env "$@" HOME="$H" PATH="$WORK/bin:$PATH" \
        "$SIDECAR" --home "$H" --workspace /home/dev/acme-webapp compress "$agent:$sid" --strategy agent --json \
        >"$WORK/$name.json" 2>"$WORK/$name.err"; then
      pass "[$name] compress --strategy agent ran the real CLI ($((SECONDS - t0)) s)"
    else
      fail "[$name] compress --strategy agent: $(tail -3 "$WORK/$name.err")"; return
    fi
    local n1; n1=$(grep -c "$marker" "$f")
    check "[$name] the agent appended its own compaction record ($marker: $n0 -> $n1)" [ "$n1" -eq $((n0 + 1)) ]
    sc "$H" /home/dev/acme-webapp context "$agent:$sid" --json >"$WORK/$name.ctx1.json" 2>>"$WORK/$name.err"
    local u1 ta tb est
    u1=$(jget "$WORK/$name.ctx1.json" usedTokens); ta=$(jget "$WORK/$name.json" tokensAfter)
    tb=$(jget "$WORK/$name.json" tokensBefore); est=$(jget "$WORK/$name.json" estimated)
    echo "        [$name] context $u0 -> $u1 tokens; result tokensBefore $tb tokensAfter $ta estimated $est"
    check "[$name] context drops after the compaction ($u0 -> $u1)" [ "$u1" -lt "$u0" ]
    check "[$name] result figures are the ones read back (tokensBefore $tb = $u0, tokensAfter $ta = $u1, estimated=$est)" \
      [ "$ta" = "$u1" -a "$tb" = "$u0" -a "$est" = False ]
  }
  if [ -z "$CLAUDE" ]; then
    skip "[claude-agent] claude CLI not installable (see $WORK/install-claude.log)"
  elif start_mock anthropic_mock.py anthropic; then
    agent_case claude-agent claude 59e7b833-aace-4821-88a8-f970caa6c194 '"subtype":"compact_boundary"' \
      -u ANTHROPIC_AUTH_TOKEN -u ANTHROPIC_MODEL -u CLAUDE_CODE_USE_BEDROCK -u CLAUDE_CODE_USE_VERTEX \
      -u CLAUDE_CONFIG_DIR ANTHROPIC_BASE_URL="http://127.0.0.1:$MOCK_PORT" ANTHROPIC_API_KEY=sk-ant-mock \
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 DISABLE_AUTOUPDATER=1 \
      XDG_CACHE_HOME="$WORK/xdg-cache" XDG_DATA_HOME="$WORK/xdg-data"
    resume claude "$H" 59e7b833-aace-4821-88a8-f970caa6c194 claude-agent.resume
    check "[claude-agent] the compacted session resumes in the real CLI" [ $? = 0 ]
  else
    fail "[claude-agent] start the anthropic mock"
  fi
  if [ -z "$QWEN" ]; then
    skip "[qwen-agent] qwen CLI not installable (see $WORK/install-qwen.log)"
  elif start_mock openai_mock.py openai MOCK_TOOL_DIR=/home/dev/acme-webapp; then
    echo '{"security":{"auth":{"selectedType":"openai"}},"memory":{"enableManagedAutoMemory":false}}' >"$WORK/qwen-settings.json"
    agent_case qwen-agent qwen a20c9abf-6786-496f-9996-61005c8ac25c '"subtype":"chat_compression"' \
      -u QWEN_HOME -u QWEN_RUNTIME_DIR -u QWEN_OAUTH -u DASHSCOPE_API_KEY \
      OPENAI_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1" OPENAI_API_KEY=sk-mock OPENAI_MODEL=qwen3-coder-plus \
      QWEN_CODE_SYSTEM_SETTINGS_PATH="$WORK/qwen-settings.json" \
      XDG_CACHE_HOME="$WORK/xdg-cache" XDG_DATA_HOME="$WORK/xdg-data"
    QWEN_BIN="$QWEN" CLI_TIMEOUT=600 "$AGENTS_DIR/resume-check.sh" qwen "$H" /home/dev/acme-webapp \
      a20c9abf-6786-496f-9996-61005c8ac25c >"$WORK/qwen-agent.resume.out" 2>&1
    check "[qwen-agent] the compressed session resumes in the real CLI" [ $? = 0 ]
  else
    fail "[qwen-agent] start the openai mock"
  fi
  # Codex: `codex app-server` and its thread/compact/start (codex exec has no /compact). The
  # provider the fixture session recorded ("mock") is the Responses API mock, in the home's
  # config.toml as a user would have it.
  CODEX_SID=01a1fcc8-e337-7e13-b5e4-6d6a59106584
  if [ -z "$CODEX" ]; then
    skip "[codex-agent] codex CLI not installable (see $WORK/install-codex.log)"
  elif start_mock codex_mock.py codex; then
    mkdir -p "$WORK/codex-tmp"
    cat >"$H/.codex/config.toml" <<EOF
model_provider = "mock"
check_for_update_on_startup = false
[analytics]
enabled = false
[feedback]
enabled = false
[model_providers.mock]
name = "Mock Responses API"
base_url = "http://127.0.0.1:$MOCK_PORT/v1"
env_key = "MOCK_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
EOF
    agent_case codex-agent codex "$CODEX_SID" '"type":"compacted"' \
      -u CODEX_HOME -u OPENAI_API_KEY -u OPENAI_BASE_URL MOCK_API_KEY=mock-key \
      TMPDIR="$WORK/codex-tmp" XDG_CACHE_HOME="$WORK/xdg-cache" XDG_DATA_HOME="$WORK/xdg-data"
    check "[codex-agent] the mock received Codex's compaction request" \
      grep -q "CONTEXT CHECKPOINT COMPACTION" "$WORK/codex.log"
    resume codex "$H" "$CODEX_SID" codex-agent.resume /home/dev/acme-webapp
    check "[codex-agent] the compacted session resumes in the real CLI" [ $? = 0 ]
  else
    fail "[codex-agent] start the codex mock"
  fi
fi
finish
