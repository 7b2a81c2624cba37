#!/usr/bin/env bash
# branch_resume_check.sh: proves that the session forkOnCheckout=auto forks on `git checkout -b`
# resumes in the real Claude Code CLI.
#
# Runs the e2e test that creates a git repository and a home with fixture Claude sessions bound
# to it, starts the sidecar with forkOnCheckout "auto", checks out a new branch and waits for the
# fork. With RESUME_CHECK=1 that test then runs
#   ../shared/tools/agents/resume-check.sh claude <home> <repo> <fork id>
# (relative to this repository) and asserts exit 0, resumed, and the source's history count from
# tests/fixtures/resume-baseline.json. The resume-check output is printed.
#
# Exit: 0 = the fork resumed; non-zero otherwise (including a missing resume-check.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
check=../shared/tools/agents/resume-check.sh
if [ ! -x "$check" ]; then
  echo "branch_resume_check: $check not found (needed to run the real CLI)" >&2
  exit 2
fi
RESUME_CHECK=1 exec cargo test --test e2e -- --exact --nocapture \
  branches::auto_forks_once_onto_the_new_branch_and_checking_back_continues_the_original
