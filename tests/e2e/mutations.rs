//! e2e tests: mutations (filled in by its issue).
