#!/usr/bin/env bash
# CI suite: every cargo-fuzz target of sidecar/fuzz for 60 s (FUZZ_SECONDS to change it), with
# libFuzzer's memory limits; prints executions per target and `N passed, N failed`.
# Longer local runs: sidecar/fuzz/run.sh 600
exec "$(cd "$(dirname "$0")/.." && pwd)/sidecar/fuzz/run.sh" "${FUZZ_SECONDS:-60}"
