#!/usr/bin/env bash
# The last page of a 1 GB Claude Code transcript: session-sidecar vs the official SDK.
# All options go to history_last_page.py (--json for figures only, --no-sdk, --size-mb N, --runs N).
set -euo pipefail
exec python3 "$(dirname "${BASH_SOURCE[0]}")/history_last_page.py" "$@"
