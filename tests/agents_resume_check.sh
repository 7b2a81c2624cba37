#!/usr/bin/env bash
# tests/agents_resume_check.sh — the Qwen, Codex and Gemini stores against the REAL agent CLIs.
#
# On a private copy of tests/fixtures/home, for each of qwen, codex, gemini:
#   fork      `session-sidecar fork` of a fixture session with a tool call, then the shared
#             resume-check.sh resumes the new id headless: it must resume with the same number of
#             history messages as the source does (tests/fixtures/resume-baseline.json).
#   rename    `session-sidecar rename` of the fork, then the agent's own listing must show it:
#             qwen `sessions list --json`, gemini `--list-sessions`, codex: `codex exec resume
#             "<name>"` must resolve the name to the fork (Codex's name index; its pickers read
#             SQLite, which the sidecar never writes).
#   argv      `session-sidecar resume --print` must give an argv the real CLI runs: the argv is
#             executed as printed (cwd and env from the launch command) with only the headless
#             flags appended (qwen/gemini `-p PROBE` + the mock API; codex: the TUI subcommand
#             `resume` becomes `exec resume`, the only headless form), and the CLI must report
#             running under the session's id with the probe answered. The store is restored after.
# Prints one PASS/FAIL/SKIPPED line per check and a final "N passed, N failed, N skipped" (a CLI
# that cannot be installed, no npm/offline: its checks are SKIPPED, never counted as passed).
# Exit 1 iff a check failed.
#
# Env: SHARED (default: the repo's sibling `shared/`; the agent tools are SHARED/tools/agents),
# SIDECAR_BIN (default target/debug/session-sidecar, built if missing), PROJECT (default
# /home/dev/acme-webapp; must exist), QWEN_BIN / CODEX_BIN / GEMINI_BIN (else the tools'
# install.sh), AGENTS (default "qwen codex gemini").
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$(dirname "$ROOT")/shared}
TOOLS=$SHARED/tools/agents
BIN=${SIDECAR_BIN:-$ROOT/target/debug/session-sidecar}
PROJECT=${PROJECT:-/home/dev/acme-webapp}
AGENTS=${AGENTS:-qwen codex gemini}
PASS=0; FAIL=0; SKIP=0
pass() { PASS=$((PASS + 1)); echo "PASS  $*"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL  $*"; }
skip() { SKIP=$((SKIP + 1)); echo "SKIPPED  $*"; }
finish() { echo "$PASS passed, $FAIL failed, $SKIP skipped"; [ "$FAIL" -eq 0 ]; exit $?; }

[ -x "$TOOLS/resume-check.sh" ] || { skip "all: $TOOLS/resume-check.sh not found (set SHARED)"; finish; }
[ -d "$PROJECT" ] || { skip "all: project dir $PROJECT does not exist"; finish; }
if [ ! -x "$BIN" ]; then
  (cd "$ROOT" && cargo build --quiet) || { fail "build session-sidecar"; finish; }
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/agents-resume-check.XXXXXX")
MOCK_PID=""
# codex creates this empty dir on every run whatever TMPDIR says; remove it if we caused it
DAEMON_DIR=/tmp/codex-daemon-$(id -u); DAEMON_DIR_EXISTED=0; [ -e "$DAEMON_DIR" ] && DAEMON_DIR_EXISTED=1
cleanup() {
  [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null && wait "$MOCK_PID" 2>/dev/null
  [ "$DAEMON_DIR_EXISTED" = 0 ] && rmdir "$DAEMON_DIR" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
H=$W/home
cp -a "$ROOT/tests/fixtures/home" "$H"
mkdir -p "$W/xdg-cache" "$W/xdg-data" "$W/tmp"
sc() {
  env -u CLAUDE_CONFIG_DIR -u QWEN_HOME -u QWEN_RUNTIME_DIR -u CODEX_HOME -u GEMINI_CLI_HOME \
    XDG_CACHE_HOME="$W/xdg-cache" XDG_DATA_HOME="$W/xdg-data" PATH="$W/bin:$PATH" \
    "$BIN" --home "$H" --workspace "$PROJECT" "$@"
}
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }
baseline() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["history_messages"])' \
    "$ROOT/tests/fixtures/resume-baseline.json" "$1"
}
result_field() { sed -n 's/^RESULT //p' | json "d.get('$1')"; }

start_mock() { # SCRIPT -> MOCK_PORT
  rm -f "$W/mock.port"
  MOCK_PORT_FILE="$W/mock.port" MOCK_LOG="$W/mock.log" python3 "$TOOLS/mocks/$1" 0 >"$W/mock.out" 2>&1 &
  MOCK_PID=$!
  for _ in $(seq 1 100); do [ -s "$W/mock.port" ] && break; sleep 0.1; done
  MOCK_PORT=$(cat "$W/mock.port" 2>/dev/null)
}
stop_mock() { [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null && wait "$MOCK_PID" 2>/dev/null; MOCK_PID=""; }

gemini_settings_on() {  # API-key auth, retention OFF (see formats/gemini-cli.md §5), telemetry off
  local s="$H/.gemini/settings.json"
  [ -e "$s" ] && cp -p "$s" "$W/gemini-settings.bak"
  python3 - "$s" <<'EOF'
import json, os, sys
p = sys.argv[1]
d = json.load(open(p)) if os.path.exists(p) else {}
d.setdefault("security", {}).setdefault("auth", {})["selectedType"] = "gemini-api-key"
g = d.setdefault("general", {})
g["sessionRetention"] = {"enabled": False}
g["enableAutoUpdate"] = False
g["enableAutoUpdateNotification"] = False
d.setdefault("telemetry", {})["enabled"] = False
d.setdefault("privacy", {})["usageStatisticsEnabled"] = False
json.dump(d, open(p, "w"))
EOF
}
gemini_settings_off() {
  if [ -e "$W/gemini-settings.bak" ]; then mv "$W/gemini-settings.bak" "$H/.gemini/settings.json"
  else rm -f "$H/.gemini/settings.json"; fi
}

declare -A SRC=([qwen]=a20c9abf-6786-496f-9996-61005c8ac25c [codex]=01a1fcc8-d54e-7ed0-a7e2-b111c75d7f37
                [gemini]=47d75b93-bf15-4461-8bef-b1f7c7e23d6b)
declare -A STORE=([qwen]=.qwen [codex]=.codex [gemini]=.gemini)
mkdir -p "$W/bin"

for A in $AGENTS; do
  case "$A" in qwen) V=QWEN_BIN ;; codex) V=CODEX_BIN ;; gemini) V=GEMINI_BIN ;; *) fail "unknown agent $A"; continue ;; esac
  CLI=${!V:-}
  [ -n "$CLI" ] || CLI=$("$TOOLS/install.sh" "$A" 2>"$W/install-$A.err")
  if [ -z "$CLI" ] || [ ! -x "$CLI" ]; then
    skip "$A: no runnable $A CLI (${CLI:-install.sh failed: $(tail -1 "$W/install-$A.err" 2>/dev/null)})"
    continue
  fi
  ln -sf "$CLI" "$W/bin/$A"
  export "$V=$CLI"
  SID=${SRC[$A]}
  WANT=$(baseline "$A:$SID")

  # 1. fork + resume-check
  NEW=$(sc fork "$A:$SID" --json 2>"$W/err" | json 'd["session"]["id"]')
  if [ -z "$NEW" ]; then fail "$A fork of $SID: $(tail -1 "$W/err")"; continue; fi
  R=$("$TOOLS/resume-check.sh" "$A" "$H" "$PROJECT" "$NEW" 2>"$W/rc.err")
  GOT=$(echo "$R" | result_field history_messages)
  RES=$(echo "$R" | result_field resumed)
  if [ "$RES" = True ] && [ "$GOT" = "$WANT" ]; then
    pass "$A fork $SID -> $NEW resumes with $GOT history messages (source: $WANT)"
  else
    fail "$A fork $SID -> $NEW: resumed=$RES history_messages=$GOT, want $WANT"
  fi

  # 2. rename, seen by the agent itself
  TITLE="Renamed by sidecar $RANDOM"
  if ! sc rename "$A:$NEW" "$TITLE" --json >/dev/null 2>"$W/err"; then
    fail "$A rename: $(tail -1 "$W/err")"
  else
    case "$A" in
      qwen)
        L=$(cd "$PROJECT" && env -u QWEN_HOME -u QWEN_RUNTIME_DIR HOME="$H" timeout 120 "$CLI" sessions list --json 2>/dev/null)
        T=$(echo "$L" | python3 -c 'import json,sys
for l in sys.stdin:
    try: d = json.loads(l)
    except Exception: continue
    if d.get("sessionId") == sys.argv[1]: print(d.get("customTitle"))' "$NEW")
        [ "$T" = "$TITLE" ] && pass "qwen rename shows in 'qwen sessions list': $T" \
          || fail "qwen rename: 'qwen sessions list' shows ${T:-nothing} for $NEW"
        ;;
      gemini)
        gemini_settings_on
        L=$(cd "$PROJECT" && env -u GEMINI_CLI_HOME HOME="$H" GEMINI_API_KEY=mock-key \
              GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:9 TMPDIR="$W/tmp" \
              timeout 120 "$CLI" --skip-trust --list-sessions </dev/null 2>/dev/null)
        gemini_settings_off
        if echo "$L" | grep -F "[$NEW]" | grep -qF "$TITLE"; then
          pass "gemini rename shows in 'gemini --list-sessions': $(echo "$L" | grep -F "[$NEW]" | sed 's/^ *//')"
        else
          fail "gemini rename: --list-sessions does not show '$TITLE' for $NEW"
        fi
        ;;
      codex)
        R=$("$TOOLS/resume-check.sh" codex "$H" "$PROJECT" "$TITLE" 2>/dev/null)
        CS=$(echo "$R" | result_field cli_session)
        [ "$CS" = "$NEW" ] && pass "codex rename: 'codex exec resume \"$TITLE\"' resolves to $CS" \
          || fail "codex rename: the name resolved to '${CS}', not $NEW"
        ;;
    esac
  fi

  # 3. resume --print argv, run by the real CLI
  LC=$(sc resume "$A:$NEW" --print 2>"$W/err")
  if [ -z "$LC" ]; then fail "$A resume --print: $(tail -1 "$W/err")"; continue; fi
  echo "$LC" | python3 -c 'import json,sys; d=json.load(sys.stdin); open(sys.argv[1],"w").write("\0".join(d["argv"])); open(sys.argv[2],"w").write(d["cwd"])' "$W/argv" "$W/cwd"
  mapfile -d '' ARGV < "$W/argv"
  CWD=$(cat "$W/cwd")
  rm -rf "$W/store.bak"; cp -a "$H/${STORE[$A]}" "$W/store.bak"
  PROBE="ARGV_CHECK_PROBE_$RANDOM"
  case "$A" in
    qwen)
      start_mock openai_mock.py
      echo '{"memory":{"enableManagedAutoMemory":false}}' > "$W/qwen-settings.json"
      OUT=$(cd "$CWD" && env -u QWEN_HOME -u QWEN_RUNTIME_DIR HOME="$H" OPENAI_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1" \
              OPENAI_API_KEY=sk-mock OPENAI_MODEL=qwen3-coder-plus QWEN_CODE_SYSTEM_SETTINGS_PATH="$W/qwen-settings.json" \
              timeout 300 "${ARGV[@]}" --auth-type openai --openai-base-url "http://127.0.0.1:$MOCK_PORT/v1" \
              --openai-api-key sk-mock -p "$PROBE" -o json </dev/null 2>"$W/cli.err")
      RC=$?
      RAN=$(echo "$OUT" | python3 -c 'import json,sys
d = json.loads(sys.stdin.read())
d = d if isinstance(d, list) else [d]
print(next((e.get("session_id") for e in d if isinstance(e, dict) and e.get("session_id")), ""))' 2>/dev/null)
      ;;
    gemini)
      start_mock gemini_mock.py
      gemini_settings_on
      OUT=$(cd "$CWD" && env -u GEMINI_CLI_HOME HOME="$H" GEMINI_API_KEY=mock-key \
              GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:$MOCK_PORT" TMPDIR="$W/tmp" \
              timeout 300 "${ARGV[@]}" --skip-trust -p "$PROBE" -o json </dev/null 2>"$W/cli.err")
      RC=$?
      gemini_settings_off
      RAN=$(echo "$OUT" | python3 -c 'import json,sys; t=sys.stdin.read(); print(json.loads(t[t.find("{"):]).get("session_id",""))' 2>/dev/null)
      ;;
    codex)
      start_mock codex_mock.py
      PID=$(head -1 "$(sc info "codex:$NEW" --json | json 'd["path"]')" | json 'd["payload"].get("model_provider") or "mock"')
      EXEC=("${ARGV[0]}" exec "${ARGV[1]}" --json --skip-git-repo-check "${ARGV[@]:2}")
      OUT=$(cd "$CWD" && env -u OPENAI_API_KEY -u OPENAI_BASE_URL HOME="$H" CODEX_HOME="$H/.codex" MOCK_API_KEY=mock-key \
              TMPDIR="$W/tmp" XDG_RUNTIME_DIR="$W/tmp" timeout 300 "${EXEC[@]:0:3}" \
              -c "model_provider=\"$PID\"" -c "model_providers.$PID.name=\"Mock\"" \
              -c "model_providers.$PID.base_url=\"http://127.0.0.1:$MOCK_PORT/v1\"" \
              -c "model_providers.$PID.env_key=\"MOCK_API_KEY\"" -c "model_providers.$PID.wire_api=\"responses\"" \
              -c 'analytics.enabled=false' -c 'feedback.enabled=false' -c 'check_for_update_on_startup=false' \
              "${EXEC[@]:3}" "$PROBE" </dev/null 2>"$W/cli.err")
      RC=$?
      RAN=$(echo "$OUT" | python3 -c 'import json,sys
for l in sys.stdin:
    try: e = json.loads(l)
    except Exception: continue
    if e.get("type") == "thread.started": print(e.get("thread_id")); break' 2>/dev/null)
      ;;
  esac
  stop_mock
  SAW=$(grep -c "$PROBE" "$W/mock.log" 2>/dev/null || true)
  rm -rf "${H:?}/${STORE[$A]}"; cp -a "$W/store.bak" "$H/${STORE[$A]}"
  if [ "$RC" = 0 ] && [ "$RAN" = "$NEW" ] && [ "${SAW:-0}" -gt 0 ]; then
    pass "$A resume --print argv [${ARGV[*]:1}] runs in the real CLI (session $RAN, probe answered)"
  else
    fail "$A resume --print argv [${ARGV[*]:1}]: rc=$RC session='$RAN' probe requests=$SAW; $(tail -2 "$W/cli.err" | tr '\n' ' ')"
  fi
  rm -f "$W/mock.log"
done
finish
