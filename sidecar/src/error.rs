//! Typed errors that carry their JSON-RPC code (see `protocol::ErrorCode`).

use crate::protocol::{ErrorCode, ErrorData};
use std::fmt;

#[derive(Debug, Clone)]
pub struct SidecarError {
    pub code: ErrorCode,
    pub message: String,
}

pub type Result<T, E = SidecarError> = std::result::Result<T, E>;

impl SidecarError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        SidecarError {
            code,
            message: message.into(),
        }
    }
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParams, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }
    pub fn not_found(what: impl fmt::Display) -> Self {
        Self::new(ErrorCode::SessionNotFound, format!("no session {what}"))
    }
    pub fn unreadable(path: &std::path::Path, err: &std::io::Error) -> Self {
        Self::new(
            ErrorCode::StoreUnreadable,
            format!("cannot read {}: {err}", path.display()),
        )
    }
    pub fn write_failed(path: &std::path::Path, err: &std::io::Error) -> Self {
        Self::new(
            ErrorCode::WriteFailed,
            format!(
                "cannot write {}: {err}; nothing was changed",
                path.display()
            ),
        )
    }

    pub fn to_jsonrpc(&self) -> tower_lsp_server::jsonrpc::Error {
        tower_lsp_server::jsonrpc::Error {
            code: tower_lsp_server::jsonrpc::ErrorCode::from(self.code.code()),
            message: self.message.clone().into(),
            data: serde_json::to_value(ErrorData {
                kind: self.code.name().to_string(),
            })
            .ok(),
        }
    }
}

impl fmt::Display for SidecarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code.name())
    }
}

impl std::error::Error for SidecarError {}
