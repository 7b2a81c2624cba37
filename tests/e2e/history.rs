//! e2e tests: history (filled in by its issue).
