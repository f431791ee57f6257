//! Numbered migrations, embedded in the binary, one list per backend.

use aws_lc_rs::digest;

use super::{Backend, Database, Mode, Value};
use crate::error::{Result, StoreError};

/// One step of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The version it brings the schema to (1, 2, …).
    pub version: i64,
    /// A short name (the file name without number and extension).
    pub name: &'static str,
    /// The SQL, run as one batch in one transaction.
    pub sql: &'static str,
}

macro_rules! migration {
    ($backend:literal, $version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!(
                "../../migrations/",
                $backend,
                "/000",
                $version,
                "_",
                $name,
                ".sql"
            )),
        }
    };
}

const SQLITE: &[Migration] = &[
    migration!("sqlite", 1, "registry"),
    migration!("sqlite", 2, "audit_log"),
    migration!("sqlite", 3, "disclosure_idempotency"),
    migration!("sqlite", 4, "access"),
];

const POSTGRES: &[Migration] = &[
    migration!("postgres", 1, "registry"),
    migration!("postgres", 2, "audit_log"),
    migration!("postgres", 3, "disclosure_idempotency"),
    migration!("postgres", 4, "access"),
];

/// The migrations of a backend, in order.
pub fn migrations(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

const SQLITE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)";

const POSTGRES_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)";

fn checksum(sql: &str) -> String {
    digest::digest(&digest::SHA256, sql.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Database {
    /// Brings the schema up to date: applies, in order, each migration not
    /// yet recorded in `schema_migrations(version, name, checksum,
    /// applied_at)`, each in its own transaction, and answers the versions
    /// applied now (empty when the schema was current). Safe to run again
    /// and from several processes at once (SQLite: `BEGIN IMMEDIATE`;
    /// PostgreSQL: an advisory lock per schema).
    ///
    /// A recorded migration whose SQL changed since, or a version this
    /// program does not know (a newer program migrated the database), is a
    /// [`StoreError::Schema`].
    pub fn migrate(&self) -> Result<Vec<i64>> {
        let backend = self.backend();
        let known = migrations(backend);
        let latest = known.last().map_or(0, |m| m.version);
        let mut applied = Vec::new();
        for migration in known {
            let sum = checksum(migration.sql);
            let done = self.run(Mode::Migrate, |tx| -> Result<bool> {
                if tx.backend() == Backend::Postgres {
                    tx.execute(
                        "SELECT pg_advisory_xact_lock(hashtext('mynacard.migrate:' || current_schema()))",
                        &[],
                    )?;
                }
                tx.execute_batch(match backend {
                    Backend::Sqlite => SQLITE_TABLE,
                    Backend::Postgres => POSTGRES_TABLE,
                })?;
                let newest = tx
                    .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?
                    .i64(0)?;
                if newest > latest {
                    return Err(StoreError::Schema(format!(
                        "the database is at version {newest}; this program knows migrations up to {latest}"
                    )));
                }
                let recorded = tx.query_opt(
                    "SELECT checksum FROM schema_migrations WHERE version = ?1",
                    &[Value::Int(migration.version)],
                )?;
                if let Some(row) = recorded {
                    if row.text(0)? != sum {
                        return Err(StoreError::Schema(format!(
                            "migration {} ({}) changed after it was applied",
                            migration.version, migration.name
                        )));
                    }
                    return Ok(false);
                }
                tx.execute_batch(migration.sql)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (?1, ?2, ?3)",
                    &[
                        Value::Int(migration.version),
                        Value::Text(migration.name.to_owned()),
                        Value::Text(sum.clone()),
                    ],
                )?;
                Ok(true)
            })?;
            if done {
                applied.push(migration.version);
            }
        }
        Ok(applied)
    }
}
