#!/usr/bin/env bash
# The VS Code extension's whole test run, on a fresh Debian machine as root:
#   apt packages (chromium, libkrb5-dev, ripgrep, git), npm deps from the lockfile, code-server
#   from npm (cached in <repo>/.tools), build + typecheck + .vsix, then unit tests (node:test
#   against the real sidecar), extension-host tests and Playwright UI tests in real VS Code.
# The sidecar binary: $SIDECAR_BIN, else target/release or target/debug, else cargo build.
# Prints a closing `vscode: N passed, N failed[, N skipped]` line; exits non-zero on failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
tools=${SS_TOOLS_DIR:-$repo/.tools}
workspace=/home/dev/acme-webapp
t0=$SECONDS

say() { printf '[vscode %3ss] %s\n' "$((SECONDS - t0))" "$*" >&2; }
setup_failed() {
  echo "setup failed: $*"
  echo "vscode: 0 passed, 1 failed"
  exit 1
}

# --- system packages --------------------------------------------------------------------------
missing=()
for p in chromium libkrb5-dev ripgrep git; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  say "apt-get install ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then setup_failed "needs root to install: ${missing[*]}"; fi
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
    setup_failed "apt-get install ${missing[*]}"
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || setup_failed "Node.js >= 20 needed (have $(node --version))"

# --- the sidecar ------------------------------------------------------------------------------
if [[ -z "${SIDECAR_BIN:-}" ]]; then
  for c in "$repo/target/release/session-sidecar" "$repo/target/debug/session-sidecar"; do
    if [[ -x "$c" ]]; then SIDECAR_BIN=$c; break; fi
  done
fi
if [[ -z "${SIDECAR_BIN:-}" ]]; then
  say "building the sidecar (cargo build --release)"
  (cd "$repo" && cargo build --release -q) || setup_failed "cargo build --release"
  SIDECAR_BIN=$repo/target/release/session-sidecar
fi
[[ -x "$SIDECAR_BIN" ]] || setup_failed "SIDECAR_BIN=$SIDECAR_BIN is not executable"
SIDECAR_BIN=$(readlink -f "$SIDECAR_BIN")
export SIDECAR_BIN
say "sidecar: $SIDECAR_BIN"

# --- npm deps, build, package -----------------------------------------------------------------
export npm_config_nodedir=/usr npm_config_yes=true npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
cd "$here" || exit 1
if ! cmp -s package-lock.json node_modules/.ss-installed-lock 2>/dev/null; then
  say "npm ci"
  npm_log=$(mktemp)
  npm ci --loglevel=error >"$npm_log" 2>&1 || { cat "$npm_log"; setup_failed "npm ci"; }
  rm -f "$npm_log"
  cp package-lock.json node_modules/.ss-installed-lock
fi
say "build + typecheck + package"
node scripts/build.mjs --tests || setup_failed "esbuild"
npx tsc -p . || setup_failed "tsc (typecheck)"
node scripts/build.mjs --production || setup_failed "esbuild --production"
npx vsce package --allow-missing-repository --skip-license --no-dependencies -o dist/session-sidecar.vsix >/dev/null ||
  setup_failed "vsce package"
node scripts/build.mjs || setup_failed "esbuild"

mkdir -p "$tools"
say "code-server (cached in $tools)"
code_server=$(bash scripts/install-code-server.sh "$tools" 4.100.3 | tail -1) || setup_failed "installing code-server"

# --- the workspace: a git repository at /home/dev/acme-webapp ----------------------------------
# The fixture sessions were recorded in /home/dev/acme-webapp on branches main and
# feature/login. The tests need that path to be a git repository they can check out in, so the
# run happens in a private mount namespace where a scratch repository is bind-mounted there;
# the machine's own directory is left alone.
run=$(mktemp -d "${TMPDIR:-/tmp}/ss-vscode-run.XXXXXX")
status=1
cleanup() {
  # A failed run keeps its logs (code-server.log per run, the fixture home copies).
  if [[ $status -eq 0 ]]; then rm -rf "$run"; else echo "logs kept in $run" >&2; fi
}
trap cleanup EXIT
mkdir -p "$workspace" 2>/dev/null || true
export SS_RUN=$run SS_REPO=$repo SS_CODE_SERVER=$code_server SS_VSIX=$here/dist/session-sidecar.vsix
export SS_WORKSPACE=$workspace SS_SCREENSHOTS=$here/test-output/screenshots
rm -rf "$SS_SCREENSHOTS"
mkdir -p "$SS_SCREENSHOTS"
if unshare --mount --propagation private true 2>/dev/null; then
  unshare --mount --propagation private bash "$here/scripts/run-tests.sh"
  status=$?
elif [[ ! -e "$workspace/.git" && -z "$(ls -A "$workspace" 2>/dev/null)" ]]; then
  say "no mount namespace available: using the empty $workspace directly"
  SS_NO_BIND=1 bash "$here/scripts/run-tests.sh"
  status=$?
else
  setup_failed "cannot make $workspace a git repository (no mount namespace, and it is not empty)"
fi
say "done in $((SECONDS - t0)) s; screenshots in ${SS_SCREENSHOTS#"$repo"/}"
exit $status
