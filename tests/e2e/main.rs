//! End-to-end tests: the real binary over stdio and the CLI, on copies of real agent stores.

mod support;

mod agents;
mod branches;
mod context;
mod foundation;
mod history;
mod mutations;
mod protocol_doc;
mod reliability;
