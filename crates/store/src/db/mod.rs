//! One interface, two backends: SQLite (embedded, the default) and
//! PostgreSQL.
//!
//! A [`Database`] is opened from an address ([`Database::open`]); every
//! read and write happens inside [`Database::transaction`] (or
//! [`Database::read`]) through a [`Tx`], whose SQL is written once in
//! SQLite's dialect with numbered placeholders `?1 ?2 …` and translated for
//! PostgreSQL ([`translate_placeholders`]). Values go in and come out as
//! [`Value`]s; a [`Row`]'s getters accept either backend's representation.
//!
//! **Connections.** A `Database` holds one connection behind an
//! `Arc<Mutex<…>>`: clones share it, and transactions from several threads
//! on one `Database` take turns. Two `Database`s opened on the same address
//! are two connections and really run side by side (SQLite serializes
//! writers with `BEGIN IMMEDIATE`, PostgreSQL with SERIALIZABLE isolation).
//! A connection pool can replace the mutex later without changing `Tx`.
//! A PostgreSQL connection the server closed is opened again at the next
//! transaction (the one that met the closed connection fails with
//! [`StoreError::Unavailable`]).

mod migrate;
mod pg;
mod placeholders;
mod sqlite;
mod value;

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub use migrate::{migrations, Migration};
pub use placeholders::translate_placeholders;
pub use value::{format_timestamp, parse_date, parse_timestamp, truncate_to_micros, Row, Value};

use crate::error::{Result, StoreError};

/// How many times a transaction is run when it keeps failing to serialize.
const MAX_ATTEMPTS: u32 = 30;

/// Which engine a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite, one file (or memory).
    Sqlite,
    /// PostgreSQL, one schema of one database.
    Postgres,
}

/// What kind of transaction to begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Write,
    Read,
    Migrate,
}

enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<pg::PgConn>),
}

struct Shared {
    backend: Backend,
    description: String,
    schema: Option<String>,
    conn: Mutex<Conn>,
}

/// The registry's database: a handle to one connection, cheap to clone,
/// `Send + Sync` (see the module documentation on connections).
#[derive(Clone)]
pub struct Database {
    shared: Arc<Shared>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.shared.backend)
            .field("address", &self.shared.description)
            .finish()
    }
}

impl Database {
    /// Opens a database.
    ///
    /// - `sqlite:PATH`, `sqlite://PATH` or a plain path: a SQLite file,
    ///   created if missing, in WAL mode with `foreign_keys = ON`,
    ///   `synchronous = FULL` (a commit is durable when it returns) and a
    ///   busy timeout of 30 s.
    /// - `sqlite::memory:`: a private in-memory SQLite database.
    /// - `postgres://…` or `postgresql://…` (the `postgres` driver's URL,
    ///   no TLS): with `?schema=NAME` the schema is created if missing and
    ///   is the connection's only search path; with
    ///   `options=-csearch_path%3DNAME` the first schema of the path is
    ///   created if missing.
    ///
    /// Opening does not migrate: call [`Database::migrate`].
    pub fn open(url: &str) -> Result<Database> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let (config, schema) = pg::parse_url(url)?;
            let (conn, effective) = pg::PgConn::connect(config.clone(), schema)?;
            return Ok(Database::new(
                Backend::Postgres,
                pg::describe(&config, Some(&effective)),
                Some(effective),
                Conn::Postgres(Box::new(conn)),
            ));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err(StoreError::Config("no database path given".into()));
        }
        let connection = if path == ":memory:" {
            sqlite::open(None)?
        } else {
            sqlite::open(Some(Path::new(path)))?
        };
        Ok(Database::new(
            Backend::Sqlite,
            format!("sqlite:{path}"),
            None,
            Conn::Sqlite(connection),
        ))
    }

    fn new(backend: Backend, description: String, schema: Option<String>, conn: Conn) -> Database {
        Database {
            shared: Arc::new(Shared {
                backend,
                description,
                schema,
                conn: Mutex::new(conn),
            }),
        }
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        self.shared.backend
    }

    /// The PostgreSQL schema this database lives in (`None` on SQLite).
    pub fn schema(&self) -> Option<&str> {
        self.shared.schema.as_deref()
    }

    /// The address, without any password.
    pub fn description(&self) -> &str {
        &self.shared.description
    }

    fn lock(&self) -> MutexGuard<'_, Conn> {
        // A panic inside a transaction poisons the mutex after the
        // transaction was rolled back by its drop: the connection is fine.
        self.shared.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` in one read-write transaction and commits if it returns
    /// `Ok`; rolls back if it returns `Err` or panics.
    ///
    /// SQLite begins with `BEGIN IMMEDIATE` (the write lock is taken first,
    /// so writers queue instead of failing). PostgreSQL runs SERIALIZABLE;
    /// when a statement or the commit fails with a serialization failure or
    /// a deadlock (SQLSTATE 40001, 40P01) the transaction is rolled back and
    /// `f` runs again (up to 30 times, with a short random back-off). `f`
    /// must therefore have no effect outside the transaction, or only
    /// effects that may repeat. The retry is decided by what the database
    /// answered, whatever `f` made of the error.
    pub fn transaction<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnMut(&mut Tx<'_>) -> Result<T, E>,
        E: From<StoreError>,
    {
        self.run(Mode::Write, f)
    }

    /// Runs `f` in one transaction that sees one snapshot and is meant to
    /// read only: PostgreSQL runs it REPEATABLE READ READ ONLY (a write
    /// fails); SQLite begins it `BEGIN DEFERRED`, which takes no write lock
    /// unless `f` writes.
    pub fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnMut(&mut Tx<'_>) -> Result<T, E>,
        E: From<StoreError>,
    {
        self.run(Mode::Read, f)
    }

    pub(crate) fn run<T, E, F>(&self, mode: Mode, mut f: F) -> Result<T, E>
    where
        F: FnMut(&mut Tx<'_>) -> Result<T, E>,
        E: From<StoreError>,
    {
        let mut conn = self.lock();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match run_once(&mut conn, mode, &mut f) {
                Attempt::Done(result) => return result,
                Attempt::Retry(error) => {
                    if attempt >= MAX_ATTEMPTS || mode == Mode::Migrate {
                        return Err(error.into());
                    }
                    back_off(attempt);
                }
            }
        }
    }
}

enum Attempt<T, E> {
    Done(Result<T, E>),
    Retry(StoreError),
}

fn run_once<T, E, F>(conn: &mut Conn, mode: Mode, f: &mut F) -> Attempt<T, E>
where
    F: FnMut(&mut Tx<'_>) -> Result<T, E>,
    E: From<StoreError>,
{
    let begun = match conn {
        Conn::Sqlite(connection) => sqlite::begin(connection, mode).map(TxInner::Sqlite),
        Conn::Postgres(connection) => connection.begin(mode).map(TxInner::Postgres),
    };
    let mut tx = match begun {
        Ok(inner) => Tx { inner, retry: None },
        Err(e) if e.is_retryable() => return Attempt::Retry(e),
        Err(e) => return Attempt::Done(Err(e.into())),
    };
    let result = f(&mut tx);
    if let Some(error) = tx.retry.take() {
        tx.rollback();
        return Attempt::Retry(error);
    }
    match result {
        Ok(value) => match tx.commit() {
            Ok(()) => Attempt::Done(Ok(value)),
            Err(e) if e.is_retryable() => Attempt::Retry(e),
            Err(e) => Attempt::Done(Err(e.into())),
        },
        Err(e) => {
            tx.rollback();
            Attempt::Done(Err(e))
        }
    }
}

/// Sleeps a random 1–2ⁿ ms (at most 64 ms) before attempt n + 1, so that
/// two transactions that collided do not collide again in step.
fn back_off(attempt: u32) {
    let mut noise = [0u8; 2];
    let noise = match aws_lc_rs::rand::fill(&mut noise) {
        Ok(()) => u64::from(u16::from_le_bytes(noise)),
        Err(_) => 0,
    };
    let ceiling = 1u64 << attempt.min(6);
    std::thread::sleep(Duration::from_micros(1000 + noise % (ceiling * 1000)));
}

enum TxInner<'c> {
    Sqlite(rusqlite::Transaction<'c>),
    Postgres(pg::PgTx<'c>),
}

/// One open transaction. Statements are SQLite-dialect SQL with numbered
/// placeholders `?1 ?2 …`, bound to `params` in order.
///
/// Portable SQL: `INSERT … RETURNING`, `ON CONFLICT … DO NOTHING`,
/// `COALESCE`, `CAST(… AS BIGINT)` and partial indexes work on both
/// engines. On PostgreSQL a parameter takes the type the server infers from
/// its context (the column it is compared with or assigned to), and a
/// [`Value`] converts to it (text to `JSONB`, `DATE` or `TIMESTAMPTZ`, an
/// integer to `SMALLINT`, …); a parameter without context (`SELECT ?1`) is
/// text, so cast it. Statements are prepared once per connection and cached
/// (SQLite and PostgreSQL alike).
pub struct Tx<'c> {
    inner: TxInner<'c>,
    /// The first retryable error a statement answered: the transaction is
    /// doomed and will be run again whatever the closure returns.
    retry: Option<StoreError>,
}

impl Tx<'_> {
    /// The engine, for the few statements that must differ.
    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    fn note<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            if e.is_retryable() && self.retry.is_none() {
                self.retry = Some(e.clone());
            }
        }
        result
    }

    /// Runs a statement; answers the number of rows changed (for a
    /// statement with `RETURNING`, the number of rows returned).
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let result = match &mut self.inner {
            TxInner::Sqlite(t) => sqlite::execute(t, sql, params),
            TxInner::Postgres(t) => t.execute(sql, params),
        };
        self.note(result)
    }

    /// Runs a query and returns all its rows.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let result = match &mut self.inner {
            TxInner::Sqlite(t) => sqlite::query(t, sql, params),
            TxInner::Postgres(t) => t.query(sql, params),
        };
        self.note(result)
    }

    /// Runs a query that must return exactly one row ([`StoreError::NotFound`]
    /// if none).
    pub fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row> {
        self.query_opt(sql, params)?
            .ok_or_else(|| StoreError::NotFound("the query returned no row".into()))
    }

    /// Runs a query that returns at most one row.
    pub fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>> {
        let mut rows = self.query(sql, params)?;
        if rows.len() > 1 {
            return Err(StoreError::Backend(format!(
                "the query returned {} rows where at most one was expected",
                rows.len()
            )));
        }
        Ok(rows.pop())
    }

    /// Runs several statements without parameters (DDL, administration).
    /// The SQL goes to the engine as it is, untranslated.
    pub fn execute_batch(&mut self, sql: &str) -> Result<()> {
        let result = match &mut self.inner {
            TxInner::Sqlite(t) => t.execute_batch(sql).map_err(sqlite::map_err),
            TxInner::Postgres(t) => t.execute_batch(sql),
        };
        self.note(result)
    }

    fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().map_err(sqlite::map_err),
            TxInner::Postgres(t) => t.commit(),
        }
    }

    fn rollback(self) {
        // A failed rollback leaves nothing to undo that the server will not
        // undo itself (PostgreSQL on disconnect; SQLite at the next BEGIN).
        let _ = match self.inner {
            TxInner::Sqlite(t) => t.rollback().map_err(sqlite::map_err),
            TxInner::Postgres(t) => t.rollback(),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_send_and_sync() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Database>();
    }

    #[test]
    fn sqlite_addresses() {
        for url in ["sqlite::memory:", ":memory:", "sqlite://:memory:"] {
            let db = Database::open(url).expect(url);
            assert_eq!(db.backend(), Backend::Sqlite);
            assert_eq!(db.schema(), None);
        }
    }
}
