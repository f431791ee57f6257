//! Idempotency records: a retried request (same idempotency key) does not
//! act twice.
//!
//! `idempotency(key, operation, request_hash, response, created_at)` keeps
//! the response of each operation by its key, with the SHA-256 of the
//! request it answered ([`request_hash`]).
//!
//! The lifecycle authority uses it **inside the transaction of the
//! operation**, so that the operation and its record commit together or not
//! at all:
//!
//! ```no_run
//! # use mynacard_store::{idempotency, Database, StoreError};
//! # fn suspend(db: &Database, key: &str, request: &[u8], now: chrono::DateTime<chrono::Utc>) -> Result<String, StoreError> {
//! let hash = idempotency::request_hash("card.suspend", request);
//! db.transaction(|tx| {
//!     if let Some(response) = idempotency::lookup(tx, key, "card.suspend", &hash)? {
//!         return Ok(response); // done before: answer the same again
//!     }
//!     // … act: update the card, put the certificates on hold, audit …
//!     let response = r#"{"status":"suspended"}"#.to_owned();
//!     idempotency::store(tx, key, "card.suspend", &hash, &response, now)?;
//!     Ok(response)
//! })
//! # }
//! ```
//!
//! Two requests with the same key at once: on SQLite the second waits for
//! the first's write lock and then finds its record; on PostgreSQL the
//! second fails to serialize (it read the key's absence, the first wrote
//! it), runs again and finds the record. A key that comes back with another
//! request is refused ([`StoreError::KeyReused`]).

use aws_lc_rs::digest;
use chrono::{DateTime, Utc};

use crate::db::{truncate_to_micros, Tx, Value};
use crate::error::{Result, StoreError};

/// SHA-256 over the operation's name (length-prefixed: 4 bytes big-endian,
/// then UTF-8) and the request's canonical bytes (for JSON requests, the
/// body as received or re-serialized canonically by the caller).
pub fn request_hash(operation: &str, request: &[u8]) -> [u8; 32] {
    let mut context = digest::Context::new(&digest::SHA256);
    let len = u32::try_from(operation.len()).unwrap_or(u32::MAX);
    context.update(&len.to_be_bytes());
    context.update(operation.as_bytes());
    context.update(request);
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// Looks a key up: `None` if unknown; the stored response if the key came
/// with the same operation and request; [`StoreError::KeyReused`] if with
/// another.
pub fn lookup(tx: &mut Tx<'_>, key: &str, operation: &str, request_hash: &[u8; 32]) -> Result<Option<String>> {
    let Some(row) = tx.query_opt(
        "SELECT operation, request_hash, response FROM idempotency WHERE key = ?1",
        &[Value::from(key)],
    )?
    else {
        return Ok(None);
    };
    if row.text(0)? != operation || row.bytes(1)? != request_hash.as_slice() {
        return Err(StoreError::KeyReused { key: key.to_owned() });
    }
    Ok(Some(row.text(2)?))
}

/// Stores the response (JSON text) of an operation under its key.
/// [`StoreError::Conflict`] if the key is stored already (look it up first,
/// in the same transaction).
pub fn store(
    tx: &mut Tx<'_>,
    key: &str,
    operation: &str,
    request_hash: &[u8; 32],
    response: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let inserted = tx.execute(
        "INSERT INTO idempotency (key, operation, request_hash, response, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key) DO NOTHING",
        &[
            Value::from(key),
            Value::from(operation),
            Value::Bytes(request_hash.to_vec()),
            Value::from(response),
            Value::Timestamp(truncate_to_micros(at)),
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "idempotency key {key:?} is stored already"
        )));
    }
    Ok(())
}

/// Forgets the records created before `cutoff` (keys are kept for a
/// retention period, e.g. 24 hours, not forever); answers how many.
pub fn purge_before(tx: &mut Tx<'_>, cutoff: DateTime<Utc>) -> Result<u64> {
    tx.execute(
        "DELETE FROM idempotency WHERE created_at < ?1",
        &[Value::Timestamp(truncate_to_micros(cutoff))],
    )
}
