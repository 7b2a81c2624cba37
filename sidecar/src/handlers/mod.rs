//! One file per protocol method family. Each handler is a plain synchronous function over the
//! shared `Sidecar`; the server runs it off the async threads, the CLI calls it directly.

pub mod context;
pub mod info;
pub mod list;
pub mod subscribe;
