#!/usr/bin/env bash
# Runs the three test layers; called by test.sh inside a private mount namespace.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
run=$SS_RUN
ws=$SS_WORKSPACE
gitc=(git -c user.name=Fixture -c user.email=fixture@example.com -c init.defaultBranch=main -c commit.gpgsign=false)

# The workspace repository: main and feature/login, main checked out.
if [[ -z "${SS_NO_BIND:-}" ]]; then
  mkdir -p "$run/acme-webapp"
  mount --bind "$run/acme-webapp" "$ws" || { echo "mount --bind failed"; echo "vscode: 0 passed, 1 failed"; exit 1; }
  trap 'umount "$ws" 2>/dev/null' EXIT
fi
"${gitc[@]}" -C "$ws" init -q
printf '# acme-webapp\n' >"$ws/README.md"
"${gitc[@]}" -C "$ws" add README.md
"${gitc[@]}" -C "$ws" commit -q -m init
"${gitc[@]}" -C "$ws" branch feature/login

# A fake agent for every agent: records its argv and cwd, then waits like a REPL.
mkdir -p "$run/bin"
export SS_ARGV_FILE=$run/agent-argv.txt SS_FAKE_AGENT=$run/bin/fake-agent
cat >"$SS_FAKE_AGENT" <<SH
#!/bin/sh
{ for a in "\$@"; do printf 'arg=%s\n' "\$a"; done; printf 'cwd=%s\n' "\$(pwd)"; } >"$SS_ARGV_FILE.tmp"
mv "$SS_ARGV_FILE.tmp" "$SS_ARGV_FILE"
printf 'fake agent started:'; for a in "\$@"; do printf ' %s' "\$a"; done; printf '\n'
read -r _ || true
SH
chmod +x "$SS_FAKE_AGENT"
export SS_EXT_DIR=$here

passed=0 failed=0 skipped=0
add() { passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + $3)); }
from_json() { # file -> "passed failed skipped"
  node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(r.passed,r.failed,r.skipped??0)' "$1" 2>/dev/null || echo "0 1 0"
}

only=${SS_ONLY:-unit,exthost,ui}
cd "$here" || exit 1
if [[ ,$only, == *,unit,* ]]; then
echo "== unit tests (node:test, real sidecar)"
timeout 300 node --test --test-reporter=spec --test-concurrency=2 out/test/unit/ 2>&1 | tee "$run/unit.log"
u_pass=$(grep -E '^ℹ pass ' "$run/unit.log" | tail -1 | awk '{print $3}')
u_fail=$(grep -E '^ℹ fail ' "$run/unit.log" | tail -1 | awk '{print $3}')
u_cancel=$(grep -E '^ℹ cancelled ' "$run/unit.log" | tail -1 | awk '{print $3}')
u_skip=$(grep -E '^ℹ skipped ' "$run/unit.log" | tail -1 | awk '{print $3}')
if [[ -z "$u_pass" ]]; then u_pass=0 u_fail=1; fi
add "$u_pass" "$((${u_fail:-0} + ${u_cancel:-0}))" "${u_skip:-0}"
echo "unit: $u_pass passed, $((${u_fail:-0} + ${u_cancel:-0})) failed, ${u_skip:-0} skipped"
fi

if [[ ,$only, == *,exthost,* ]]; then
echo "== extension-host tests (code-server)"
timeout 400 node out/test/ui/exthost.js "$run/exthost.json"
[[ -f "$run/exthost.json" ]] || echo '{"passed":0,"failed":1}' >"$run/exthost.json"
read -r a b c < <(from_json "$run/exthost.json"); add "$a" "$b" "$c"
echo "== extension-host tests, multi-root workspace"
timeout 200 node out/test/ui/exthost.js "$run/multiroot.json" multiroot
[[ -f "$run/multiroot.json" ]] || echo '{"passed":0,"failed":1}' >"$run/multiroot.json"
read -r a b c < <(from_json "$run/multiroot.json"); add "$a" "$b" "$c"
fi

if [[ ,$only, == *,ui,* ]]; then
echo "== UI tests (Playwright + Chromium, packaged .vsix)"
timeout 400 node out/test/ui/palette.js "$run/ui.json"
[[ -f "$run/ui.json" ]] || echo '{"passed":0,"failed":1}' >"$run/ui.json"
read -r a b c < <(from_json "$run/ui.json"); add "$a" "$b" "$c"
fi

echo "screenshots: $(cd "$SS_SCREENSHOTS" && ls *.png 2>/dev/null | tr '\n' ' ')"
echo "vscode: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
