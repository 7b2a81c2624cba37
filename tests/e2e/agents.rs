//! e2e tests: agents (filled in by its issue).
