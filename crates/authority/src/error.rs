//! Why an operation did not happen. Every variant has a stable `code()`
//! (the API's problem documents and the CLI's `--json` errors use it).

use mynacard_pki::PkiError;
use mynacard_rules::RuleError;
use mynacard_store::StoreError;

/// Why the authority refused or failed an operation. When an operation
/// returns an error, nothing of it was recorded.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    /// The actor may not do this (another municipality, wrong role).
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// What the request names does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The rules or the record's state refuse the operation.
    #[error("{message}")]
    Refused {
        /// A stable code (`card_in_use`, `resident_not_resident`, …).
        code: &'static str,
        /// What to tell the person at the window.
        message: String,
    },
    /// The request itself is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// An idempotency key came back with a different request.
    #[error("the idempotency key {0:?} was used for a different request")]
    KeyReused(String),
    /// The rules engine refused the facts.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// The registry failed.
    #[error("registry: {0}")]
    Store(StoreError),
    /// The CA failed.
    #[error("certificate authority: {0}")]
    Ca(#[from] PkiError),
    /// The card or the card store failed.
    #[error("card: {0}")]
    Card(String),
    /// The card is being used by another operation (its image is locked)
    /// and stayed so longer than a caller should wait; nothing was done,
    /// the operation may be retried.
    #[error("the card {0} is busy with another operation; try again")]
    CardBusy(String),
}

impl From<StoreError> for AuthorityError {
    fn from(e: StoreError) -> AuthorityError {
        match e {
            StoreError::KeyReused { key } => AuthorityError::KeyReused(key),
            other => AuthorityError::Store(other),
        }
    }
}

impl From<mynacard_rules::numbers::NumberError> for AuthorityError {
    fn from(e: mynacard_rules::numbers::NumberError) -> AuthorityError {
        AuthorityError::BadRequest(e.to_string())
    }
}

impl AuthorityError {
    /// A refusal with a stable code.
    pub fn refused(code: &'static str, message: impl Into<String>) -> AuthorityError {
        AuthorityError::Refused {
            code,
            message: message.into(),
        }
    }

    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthorityError::Forbidden(_) => "forbidden",
            AuthorityError::NotFound(_) => "not_found",
            AuthorityError::Refused { code, .. } => code,
            AuthorityError::BadRequest(_) => "bad_request",
            AuthorityError::KeyReused(_) => "idempotency_key_reused",
            AuthorityError::Rule(e) => e.code(),
            AuthorityError::Store(e) => e.code(),
            AuthorityError::Ca(e) => e.code(),
            AuthorityError::Card(_) => "card",
            AuthorityError::CardBusy(_) => "card_busy",
        }
    }
}
