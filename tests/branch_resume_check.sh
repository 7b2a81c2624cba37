#!/usr/bin/env bash
# branch_resume_check.sh: proves that the session forkOnCheckout=auto forks on `git checkout -b`
# resumes in the real Claude Code CLI.
#
# Runs the e2e test that creates a git repository and a home with fixture Claude sessions bound
# to it, starts the sidecar with forkOnCheckout "auto", checks out a new branch and waits for the
# fork. With RESUME_CHECK=1 that test then runs
#   $SHARED/tools/agents/resume-check.sh claude <home> <repo> <fork id>
# (SHARED defaults to ../shared next to this repository) and asserts exit 0, "resumed", and the
# source's history count from tests/fixtures/resume-baseline.json. Its output is printed.
#
# Exit: 0 = the fork resumed; 1 = it did not; 2 = resume-check.sh is missing.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export SHARED="${SHARED:-$(cd .. && pwd)/shared}"
if [ ! -x "$SHARED/tools/agents/resume-check.sh" ]; then
  echo "branch_resume_check: $SHARED/tools/agents/resume-check.sh not found" >&2
  echo "branch_resume_check: 0 passed, 1 failed"
  exit 2
fi
if RESUME_CHECK=1 cargo test --test e2e -- --exact --nocapture \
  branches::auto_forks_once_onto_the_new_branch_and_checking_back_continues_the_original; then
  echo "branch_resume_check: 1 passed, 0 failed"
else
  echo "branch_resume_check: 0 passed, 1 failed"
  exit 1
fi
