//! e2e tests: context (filled in by its issue).
