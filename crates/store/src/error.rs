//! The store's one error type.

/// What went wrong in the store. Each variant has a stable
/// [`code`](StoreError::code) for machines (problem documents, logs).
///
/// Messages carry the database's own text (constraint and table names) but
/// never the row's values, so a My Number in a refused row does not reach a
/// log through an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the row: the record exists already, or an
    /// invariant kept by a unique index (one live card, one valid
    /// certificate of a kind) would break.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The record asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A CHECK, foreign-key or NOT NULL constraint refused the row, or a
    /// value did not have its column's format.
    #[error("constraint violated: {0}")]
    Constraint(String),
    /// A trigger refused the change: an append-only table updated, a
    /// revoked certificate revived, a terminal card status left.
    #[error("refused by the database: {0}")]
    Refused(String),
    /// Optimistic locking: the record changed since it was read.
    #[error("stale version: {0}")]
    Stale(String),
    /// An idempotency key came back with a different request.
    #[error("idempotency key {key:?} was used for a different request")]
    KeyReused {
        /// The key.
        key: String,
    },
    /// PostgreSQL could not serialize the transaction (SQLSTATE 40001 or
    /// 40P01) and the retries ran out.
    #[error("the transaction could not be serialized: {0}")]
    Serialization(String),
    /// SQLite stayed locked by another connection beyond the busy timeout.
    #[error("the database is busy: {0}")]
    Busy(String),
    /// What the database holds is not what the schema promises.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// The schema in the database does not match this program's migrations.
    #[error("schema mismatch: {0}")]
    Schema(String),
    /// The database address could not be understood.
    #[error("bad database address: {0}")]
    Config(String),
    /// The database server cannot be reached or closed the connection.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Any other error of the database engine.
    #[error("database error: {0}")]
    Backend(String),
}

impl StoreError {
    /// A stable code for machines.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Conflict(_) => "conflict",
            StoreError::NotFound(_) => "not_found",
            StoreError::Constraint(_) => "constraint",
            StoreError::Refused(_) => "refused",
            StoreError::Stale(_) => "stale_version",
            StoreError::KeyReused { .. } => "idempotency_key_reused",
            StoreError::Serialization(_) => "serialization_failure",
            StoreError::Busy(_) => "busy",
            StoreError::Corrupt(_) => "corrupt",
            StoreError::Schema(_) => "schema_mismatch",
            StoreError::Config(_) => "config",
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Backend(_) => "backend",
        }
    }

    /// Whether running the whole transaction again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Serialization(_) | StoreError::Busy(_))
    }
}

/// The store's result.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
