//! The SQLite backend: one connection, WAL, durable commits.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::ffi;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use super::value::{format_timestamp, Row, Value};
use super::Mode;
use crate::error::{Result, StoreError};

/// How long a writer waits for another connection's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens (creating if needed) the database at `path`, or an in-memory one.
pub(crate) fn open(path: Option<&Path>) -> Result<Connection> {
    let connection = match path {
        Some(path) => Connection::open(path),
        None => Connection::open_in_memory(),
    }
    .map_err(map_err)?;
    // WAL lets readers work while a writer commits; synchronous = FULL makes
    // a commit durable before it returns (in WAL mode NORMAL may lose the
    // last commits on power loss).
    let journal = if path.is_some() { "WAL" } else { "MEMORY" };
    connection
        .execute_batch(&format!(
            "PRAGMA journal_mode = {journal}; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
        ))
        .map_err(map_err)?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(map_err)?;
    connection.set_prepared_statement_cache_capacity(256);
    Ok(connection)
}

/// Begins a transaction: `BEGIN IMMEDIATE` for writes (the write lock is
/// taken at once, so two writers never both read and then fail to upgrade),
/// `BEGIN DEFERRED` for reads.
pub(crate) fn begin(connection: &mut Connection, mode: Mode) -> Result<rusqlite::Transaction<'_>> {
    if !connection.is_autocommit() {
        // A transaction left open (a panic whose rollback failed): end it.
        let _ = connection.execute_batch("ROLLBACK");
    }
    let behavior = match mode {
        Mode::Read => TransactionBehavior::Deferred,
        Mode::Write | Mode::Migrate => TransactionBehavior::Immediate,
    };
    connection.transaction_with_behavior(behavior).map_err(map_err)
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::Value as Owned;
        Ok(match self {
            Value::Null => ToSqlOutput::Owned(Owned::Null),
            Value::Int(i) => ToSqlOutput::Owned(Owned::Integer(*i)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Value::Bool(b) => ToSqlOutput::Owned(Owned::Integer(i64::from(*b))),
            Value::Date(d) => ToSqlOutput::Owned(Owned::Text(d.format("%Y-%m-%d").to_string())),
            Value::Timestamp(t) => ToSqlOutput::Owned(Owned::Text(format_timestamp(t))),
        })
    }
}

fn value_of(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        // The schema has no REAL columns; an expression may still give one.
        ValueRef::Real(f) => Value::Text(f.to_string()),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

/// Runs one statement and returns the number of rows it changed (or, for a
/// statement with a result such as `… RETURNING`, the rows it returned).
pub(crate) fn execute(connection: &Connection, sql: &str, params: &[Value]) -> Result<u64> {
    let mut statement = connection.prepare_cached(sql).map_err(map_err)?;
    if statement.column_count() > 0 {
        let mut rows = statement
            .query(rusqlite::params_from_iter(params.iter()))
            .map_err(map_err)?;
        let mut count = 0u64;
        while rows.next().map_err(map_err)?.is_some() {
            count += 1;
        }
        return Ok(count);
    }
    let changed = statement
        .execute(rusqlite::params_from_iter(params.iter()))
        .map_err(map_err)?;
    Ok(changed as u64)
}

/// Runs a query and collects its rows.
pub(crate) fn query(connection: &Connection, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
    let mut statement = connection.prepare_cached(sql).map_err(map_err)?;
    let columns: Arc<[String]> = statement.column_names().into_iter().map(String::from).collect();
    let width = columns.len();
    let mut rows = statement
        .query(rusqlite::params_from_iter(params.iter()))
        .map_err(map_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(map_err)? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(value_of(row.get_ref(i).map_err(map_err)?));
        }
        out.push(Row::new(columns.clone(), values));
    }
    Ok(out)
}

/// Maps SQLite's errors to the store's.
pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let text = message.clone().unwrap_or_else(|| failure.to_string());
            match failure.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => StoreError::Conflict(text),
                ffi::SQLITE_CONSTRAINT_TRIGGER => StoreError::Refused(text),
                _ => match failure.code {
                    ErrorCode::ConstraintViolation | ErrorCode::TypeMismatch => StoreError::Constraint(text),
                    ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Busy(text),
                    ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StoreError::Corrupt(text),
                    ErrorCode::CannotOpen => StoreError::Unavailable(text),
                    _ => StoreError::Backend(text),
                },
            }
        }
        _ => StoreError::Backend(e.to_string()),
    }
}
