#!/usr/bin/env bash
# Installs code-server (VS Code in the browser, from the npm registry) into a cache dir.
# Usage: install-code-server.sh TOOLS_DIR [VERSION]; prints the path of the code-server binary.
# Needs: node 20 + npm, /usr/include/node (Debian nodejs), libkrb5-dev, ripgrep (apt).
set -euo pipefail
tools=$1
version=${2:-4.100.3}
dir="$tools/code-server-$version"
bin="$dir/node_modules/.bin/code-server"
# --version writes a default config under XDG_CONFIG_HOME: keep it out of the user's home.
version_of() { XDG_CONFIG_HOME="$tools/.xdg-config" "$bin" --version 2>/dev/null | tail -1; }
if [[ -x "$bin" ]] && [[ "$(version_of)" == "$version "* ]]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp -d "$tools/tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# @vscode/ripgrep downloads rg from GitHub in its postinstall; no network but the registries
# here, so seed its download cache with Debian's rg under the archive name it expects.
for rgv in 1.15.9 1.15.10 1.15.11 1.15.14; do
  mkdir -p "$tmp/vscode-ripgrep-cache-$rgv"
  tar czf "$tmp/vscode-ripgrep-cache-$rgv/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C /usr/bin rg
done
(
  cd "$dir"
  [[ -f package.json ]] || npm init -y >/dev/null
  export TMPDIR="$tmp" npm_config_nodedir=/usr npm_config_unsafe_perm=true npm_config_yes=true
  npm install --no-audit --no-fund --loglevel=error "code-server@$version" >&2
)
version_of >&2
echo "$bin"
