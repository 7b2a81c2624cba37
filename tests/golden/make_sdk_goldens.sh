#!/usr/bin/env bash
# Regenerate the SDK goldens (see README.md). Creates .tools/sdk-venv with the pinned SDK once.
#   tests/golden/make_sdk_goldens.sh                       # goldens only (corpus is committed)
#   SYNTH=…/tools/corpus/synth_claude_corpus.py tests/golden/make_sdk_goldens.sh
#                                                          # also regenerate tests/fixtures/corpus
set -euo pipefail
SDK_VERSION="${SDK_VERSION:-0.2.186}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.tools/sdk-venv"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
if [ "$("$VENV/bin/python" -c 'import claude_agent_sdk as s; print(s.__version__)' 2>/dev/null)" != "$SDK_VERSION" ]; then
  "$VENV/bin/pip" install -q --disable-pip-version-check "claude-agent-sdk==$SDK_VERSION"
fi
args=()
if [ -n "${SYNTH:-}" ]; then args=(--regen-corpus --synth "$SYNTH"); fi
exec "$VENV/bin/python" "$ROOT/tests/golden/make_sdk_goldens.py" "${args[@]}"
