#!/usr/bin/env bash
# CI suite: every cargo-fuzz target of sidecar/fuzz for 60 s (FUZZ_SECONDS to change it), with
# libFuzzer's memory limits; prints executions per target and `N passed, N failed`.
# Reproducible: a fixed libFuzzer seed and a fresh corpus cut from the fixtures, so the suite
# fails on a change of the code, not on a lucky draw (see sidecar/fuzz/run.sh).
# Exploration, locally: sidecar/fuzz/run.sh 600
export FUZZ_SEED=${FUZZ_SEED:-1} FUZZ_FRESH=${FUZZ_FRESH-1}
exec "$(cd "$(dirname "$0")/.." && pwd)/sidecar/fuzz/run.sh" "${FUZZ_SECONDS:-60}"
