//! e2e tests: branches (filled in by its issue).
