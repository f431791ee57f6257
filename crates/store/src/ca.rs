//! The CA's records on SQLite: certificates (recorded before signing),
//! statuses with their change log, and CRL numbers.

use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, TimeZone, Utc};
use mynacard_pki::ca::{CaRepository, CertificateRecord, StatusEvent};
use mynacard_pki::name::Hierarchy;
use mynacard_pki::status::{CertStatus, CrlReason, RevokedEntry};
use mynacard_pki::{PkiError, Serial};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// Schema migrations, applied in order; the index + 1 is the version.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE ca_certificate (
    serial          BLOB PRIMARY KEY,
    hierarchy       TEXT NOT NULL CHECK (hierarchy IN ('sign', 'auth')),
    generation      INTEGER NOT NULL CHECK (generation >= 1),
    profile         TEXT NOT NULL,
    not_before      INTEGER NOT NULL,
    not_after       INTEGER NOT NULL,
    tbs             BLOB NOT NULL,
    der             BLOB,
    status          TEXT NOT NULL CHECK (status IN ('good', 'revoked')),
    revoked_at      INTEGER,
    reason          INTEGER CHECK (reason BETWEEN 0 AND 10),
    invalidity_date INTEGER,
    CHECK ((status = 'good') = (revoked_at IS NULL AND reason IS NULL))
);
CREATE INDEX ca_certificate_revoked ON ca_certificate (hierarchy, generation, serial) WHERE status = 'revoked';
CREATE INDEX ca_certificate_pending ON ca_certificate (serial) WHERE der IS NULL;
CREATE TABLE ca_crl_number (
    hierarchy  TEXT NOT NULL,
    generation INTEGER NOT NULL,
    last       INTEGER NOT NULL,
    PRIMARY KEY (hierarchy, generation)
);
CREATE TABLE ca_status_event (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    serial    BLOB NOT NULL REFERENCES ca_certificate (serial),
    hierarchy TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE ca_sequence (
    hierarchy TEXT PRIMARY KEY,
    last      INTEGER NOT NULL
);
"#,
];

/// The CA repository on one SQLite file (WAL mode, so a responder process
/// can read while the CA writes).
pub struct SqliteCaRepository {
    connection: Mutex<Connection>,
}

fn repo_error(e: rusqlite::Error) -> PkiError {
    PkiError::Repository(e.to_string())
}

fn hierarchy_text(h: Hierarchy) -> &'static str {
    h.short()
}

fn hierarchy_from(text: &str) -> Result<Hierarchy, PkiError> {
    Hierarchy::from_short(text)
        .ok_or_else(|| PkiError::Repository(format!("unknown hierarchy {text:?} in the database")))
}

fn reason_from(code: i64) -> Result<CrlReason, PkiError> {
    u8::try_from(code)
        .ok()
        .and_then(CrlReason::from_code)
        .ok_or_else(|| PkiError::Repository(format!("unknown reason code {code} in the database")))
}

fn time_from(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// (status, revoked_at, reason, invalidity_date) columns of a status.
type StatusColumns = (&'static str, Option<i64>, Option<i64>, Option<i64>);

fn status_columns(status: &CertStatus) -> StatusColumns {
    match status {
        CertStatus::Good => ("good", None, None, None),
        CertStatus::Revoked {
            at,
            reason,
            invalidity_date,
        } => (
            "revoked",
            Some(at.timestamp()),
            Some(i64::from(reason.code())),
            invalidity_date.map(|d| d.timestamp()),
        ),
    }
}

fn status_from(
    status: &str,
    revoked_at: Option<i64>,
    reason: Option<i64>,
    invalidity: Option<i64>,
) -> Result<CertStatus, PkiError> {
    match (status, revoked_at, reason) {
        ("good", _, _) => Ok(CertStatus::Good),
        ("revoked", Some(at), Some(reason)) => Ok(CertStatus::Revoked {
            at: time_from(at),
            reason: reason_from(reason)?,
            invalidity_date: invalidity.map(time_from),
        }),
        _ => Err(PkiError::Repository(format!(
            "inconsistent status {status:?} in the database"
        ))),
    }
}

impl SqliteCaRepository {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<SqliteCaRepository, PkiError> {
        let connection = Connection::open(path).map_err(repo_error)?;
        connection
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(repo_error)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(repo_error)?;
        let repository = SqliteCaRepository {
            connection: Mutex::new(connection),
        };
        repository.migrate()?;
        Ok(repository)
    }

    fn migrate(&self) -> Result<(), PkiError> {
        let mut connection = self.lock()?;
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(repo_error)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(repo_error)?;
        for (index, migration) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            tx.execute_batch(migration).map_err(repo_error)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1))
                .map_err(repo_error)?;
        }
        tx.commit().map_err(repo_error)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, PkiError> {
        self.connection
            .lock()
            .map_err(|_| PkiError::Repository("the database lock is poisoned".into()))
    }

    /// Records many revoked certificates at once (benchmarks and imports):
    /// one transaction, prepared statement.
    pub fn bulk_insert_revoked(
        &self,
        hierarchy: Hierarchy,
        generation: u32,
        entries: impl Iterator<Item = RevokedEntry>,
    ) -> Result<u64, PkiError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction().map_err(repo_error)?;
        let mut count = 0u64;
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO ca_certificate (serial, hierarchy, generation, profile, not_before, not_after, tbs, der, status, revoked_at, reason, invalidity_date)
                     VALUES (?1, ?2, ?3, 'imported', 0, 0, x'', NULL, 'revoked', ?4, ?5, ?6)",
                )
                .map_err(repo_error)?;
            for entry in entries {
                insert
                    .execute(params![
                        entry.serial.as_bytes(),
                        hierarchy_text(hierarchy),
                        generation,
                        entry.revoked_at.timestamp(),
                        i64::from(entry.reason.code()),
                        entry.invalidity_date.map(|d| d.timestamp()),
                    ])
                    .map_err(repo_error)?;
                count += 1;
            }
        }
        tx.commit().map_err(repo_error)?;
        Ok(count)
    }
}

fn record_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRecord> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        row.get(10)?,
        row.get(11)?,
    ))
}

const RECORD_COLUMNS: &str =
    "serial, hierarchy, generation, profile, not_before, not_after, tbs, der, status, revoked_at, reason, invalidity_date";

type RawRecord = (
    Vec<u8>,
    String,
    u32,
    String,
    i64,
    i64,
    Vec<u8>,
    Option<Vec<u8>>,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn record_from(raw: RawRecord) -> Result<CertificateRecord, PkiError> {
    let (
        serial,
        hierarchy,
        generation,
        profile,
        not_before,
        not_after,
        tbs,
        der,
        status,
        revoked_at,
        reason,
        invalidity,
    ) = raw;
    Ok(CertificateRecord {
        serial: Serial::from_der_content(&serial)?,
        hierarchy: hierarchy_from(&hierarchy)?,
        generation,
        profile,
        not_before: time_from(not_before),
        not_after: time_from(not_after),
        tbs,
        der,
        status: status_from(&status, revoked_at, reason, invalidity)?,
    })
}

impl CaRepository for SqliteCaRepository {
    fn record_pending(&self, record: &CertificateRecord) -> Result<(), PkiError> {
        let (status, revoked_at, reason, invalidity) = status_columns(&record.status);
        let connection = self.lock()?;
        connection
            .execute(
                &format!("INSERT INTO ca_certificate ({RECORD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, ?9, ?10, ?11)"),
                params![
                    record.serial.as_bytes(),
                    hierarchy_text(record.hierarchy),
                    record.generation,
                    record.profile,
                    record.not_before.timestamp(),
                    record.not_after.timestamp(),
                    record.tbs,
                    status,
                    revoked_at,
                    reason,
                    invalidity,
                ],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                    PkiError::Repository(format!("serial {} exists already", record.serial))
                }
                other => repo_error(other),
            })?;
        Ok(())
    }

    fn record_issued(&self, serial: &Serial, der: &[u8]) -> Result<(), PkiError> {
        let connection = self.lock()?;
        let changed = connection
            .execute(
                "UPDATE ca_certificate SET der = ?2 WHERE serial = ?1 AND der IS NULL",
                params![serial.as_bytes(), der],
            )
            .map_err(repo_error)?;
        if changed == 1 {
            return Ok(());
        }
        // Another process (a CA opened meanwhile, finishing what it took for
        // a crash's leftovers) may have signed the same TBS first. RSA PKCS#1
        // v1.5 is deterministic, so the same certificate is no conflict.
        let existing: Option<Option<Vec<u8>>> = connection
            .query_row(
                "SELECT der FROM ca_certificate WHERE serial = ?1",
                [serial.as_bytes()],
                |r| r.get(0),
            )
            .optional()
            .map_err(repo_error)?;
        match existing {
            Some(Some(recorded)) if recorded == der => Ok(()),
            Some(Some(_)) => Err(PkiError::Repository(format!(
                "certificate {serial} was recorded with other bytes"
            ))),
            _ => Err(PkiError::Repository(format!("no pending certificate {serial}"))),
        }
    }

    fn certificate(&self, serial: &Serial) -> Result<Option<CertificateRecord>, PkiError> {
        let connection = self.lock()?;
        let raw = connection
            .query_row(
                &format!("SELECT {RECORD_COLUMNS} FROM ca_certificate WHERE serial = ?1"),
                [serial.as_bytes()],
                record_from_row,
            )
            .optional()
            .map_err(repo_error)?;
        raw.map(record_from).transpose()
    }

    fn pending(&self) -> Result<Vec<CertificateRecord>, PkiError> {
        let connection = self.lock()?;
        let mut statement = connection
            .prepare(&format!(
                "SELECT {RECORD_COLUMNS} FROM ca_certificate WHERE der IS NULL AND profile <> 'imported'"
            ))
            .map_err(repo_error)?;
        let rows = statement.query_map([], record_from_row).map_err(repo_error)?;
        rows.map(|r| r.map_err(repo_error).and_then(record_from)).collect()
    }

    fn good_issued_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<CertificateRecord>, PkiError> {
        let connection = self.lock()?;
        let mut statement = connection
            .prepare(&format!(
                "SELECT {RECORD_COLUMNS} FROM ca_certificate WHERE status = 'good' \
                 AND profile IN ('sign', 'auth', 'smartphone-sign', 'smartphone-auth') AND not_before >= ?1 AND not_before < ?2 ORDER BY not_before"
            ))
            .map_err(repo_error)?;
        let rows = statement
            .query_map(rusqlite::params![from.timestamp(), to.timestamp()], record_from_row)
            .map_err(repo_error)?;
        rows.map(|r| r.map_err(repo_error).and_then(record_from)).collect()
    }

    fn set_status(&self, serial: &Serial, expected: &CertStatus, new: &CertStatus) -> Result<bool, PkiError> {
        let mut connection = self.lock()?;
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(repo_error)?;
        let current = tx
            .query_row(
                "SELECT status, revoked_at, reason, invalidity_date, hierarchy FROM ca_certificate WHERE serial = ?1",
                [serial.as_bytes()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()
            .map_err(repo_error)?;
        let Some((status, revoked_at, reason, invalidity, hierarchy)) = current else {
            return Err(PkiError::UnknownSerial(serial.to_hex()));
        };
        if status_from(&status, revoked_at, reason, invalidity)? != *expected {
            return Ok(false);
        }
        let (status, revoked_at, reason, invalidity) = status_columns(new);
        tx.execute(
            "UPDATE ca_certificate SET status = ?2, revoked_at = ?3, reason = ?4, invalidity_date = ?5 WHERE serial = ?1",
            params![serial.as_bytes(), status, revoked_at, reason, invalidity],
        )
        .map_err(repo_error)?;
        tx.execute(
            "INSERT INTO ca_status_event (serial, hierarchy) VALUES (?1, ?2)",
            params![serial.as_bytes(), hierarchy],
        )
        .map_err(repo_error)?;
        tx.commit().map_err(repo_error)?;
        Ok(true)
    }

    fn revoked(
        &self,
        hierarchy: Hierarchy,
        generation: u32,
        visit: &mut dyn FnMut(RevokedEntry) -> Result<(), PkiError>,
    ) -> Result<(), PkiError> {
        let connection = self.lock()?;
        let mut statement = connection
            .prepare(
                "SELECT serial, revoked_at, reason, invalidity_date FROM ca_certificate
                 WHERE status = 'revoked' AND hierarchy = ?1 AND generation = ?2 ORDER BY serial",
            )
            .map_err(repo_error)?;
        let mut rows = statement
            .query(params![hierarchy_text(hierarchy), generation])
            .map_err(repo_error)?;
        while let Some(row) = rows.next().map_err(repo_error)? {
            let serial: Vec<u8> = row.get(0).map_err(repo_error)?;
            let revoked_at: i64 = row.get(1).map_err(repo_error)?;
            let reason: i64 = row.get(2).map_err(repo_error)?;
            let invalidity: Option<i64> = row.get(3).map_err(repo_error)?;
            visit(RevokedEntry {
                serial: Serial::from_der_content(&serial)?,
                revoked_at: time_from(revoked_at),
                reason: reason_from(reason)?,
                invalidity_date: invalidity.map(time_from),
            })?;
        }
        Ok(())
    }

    fn next_crl_number(&self, hierarchy: Hierarchy, generation: u32) -> Result<u64, PkiError> {
        let mut connection = self.lock()?;
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(repo_error)?;
        tx.execute(
            "INSERT INTO ca_crl_number (hierarchy, generation, last) VALUES (?1, ?2, 1)
             ON CONFLICT (hierarchy, generation) DO UPDATE SET last = last + 1",
            params![hierarchy_text(hierarchy), generation],
        )
        .map_err(repo_error)?;
        let number: i64 = tx
            .query_row(
                "SELECT last FROM ca_crl_number WHERE hierarchy = ?1 AND generation = ?2",
                params![hierarchy_text(hierarchy), generation],
                |r| r.get(0),
            )
            .map_err(repo_error)?;
        tx.commit().map_err(repo_error)?;
        u64::try_from(number).map_err(|_| PkiError::Repository("negative CRL number".into()))
    }

    fn status_events_since(&self, seq: u64) -> Result<Vec<StatusEvent>, PkiError> {
        let connection = self.lock()?;
        let mut statement = connection
            .prepare("SELECT seq, serial, hierarchy FROM ca_status_event WHERE seq > ?1 ORDER BY seq")
            .map_err(repo_error)?;
        let rows = statement
            .query_map([i64::try_from(seq).unwrap_or(i64::MAX)], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(repo_error)?;
        rows.map(|r| {
            let (seq, serial, hierarchy) = r.map_err(repo_error)?;
            Ok(StatusEvent {
                seq: u64::try_from(seq).unwrap_or(0),
                serial: Serial::from_der_content(&serial)?,
                hierarchy: hierarchy_from(&hierarchy)?,
            })
        })
        .collect()
    }

    fn next_sequence(&self, hierarchy: Hierarchy) -> Result<u64, PkiError> {
        let connection = self.lock()?;
        let number: i64 = connection
            .query_row(
                "INSERT INTO ca_sequence (hierarchy, last) VALUES (?1, 1)
                 ON CONFLICT (hierarchy) DO UPDATE SET last = last + 1 RETURNING last",
                [hierarchy_text(hierarchy)],
                |r| r.get(0),
            )
            .map_err(repo_error)?;
        u64::try_from(number).map_err(|_| PkiError::Repository("negative sequence".into()))
    }

    fn issued_count(&self, hierarchy: Hierarchy) -> Result<u64, PkiError> {
        let connection = self.lock()?;
        let count: i64 = connection
            .query_row(
                "SELECT COUNT(*) FROM ca_certificate WHERE hierarchy = ?1 AND profile NOT IN ('root', 'ocsp', 'imported')",
                [hierarchy_text(hierarchy)],
                |r| r.get(0),
            )
            .map_err(repo_error)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
