//! The audit trail: append-only and hash-chained.
//!
//! `audit_log(seq, at, actor, action, subject, details, prev_hash, hash)`:
//! row `n` carries the hash of row `n − 1` (32 zero bytes for row 1) and its
//! own hash over that and its contents, so altering, deleting or reordering
//! a row breaks the chain at that row, and [`verify`] finds where. Triggers
//! refuse `UPDATE` and `DELETE` (and `TRUNCATE` on PostgreSQL); the chain
//! makes whatever gets past them (a superuser, a raw file edit) evident.
//!
//! ## The hash
//!
//! ```text
//! hash(n) = SHA-256( field("mynacard-audit-v1")
//!                  ‖ prev_hash                      32 bytes
//!                  ‖ seq                            8 bytes, unsigned big-endian
//!                  ‖ field(at) ‖ field(actor) ‖ field(action)
//!                  ‖ field(subject) ‖ field(details) )
//! field(s) = length of s in UTF-8 bytes, 4 bytes big-endian ‖ the UTF-8 bytes of s
//! at       = RFC 3339 in UTC, six fractional digits, 'Z':
//!            "2026-04-01T00:30:00.000000Z" (db::format_timestamp)
//! details  = the JSON text exactly as stored (serde_json's compact form at append)
//! ```
//!
//! The length prefixes make the encoding injective (no two rows encode
//! alike by moving bytes between fields); `seq` in the hash makes a row
//! moved to another place fail even if its neighbours were re-linked.
//!
//! ## Appending
//!
//! [`append`] first advances the one-row table `audit_head(seq, hash)`
//! (`UPDATE … SET seq = seq + 1 … RETURNING seq, hash`), then inserts the
//! row, then stores its hash in the head. Two transactions can therefore not
//! fork the chain: on SQLite the write lock (`BEGIN IMMEDIATE`) orders them;
//! on PostgreSQL the second one's update waits for the first's row lock and
//! then fails to serialize (SQLSTATE 40001) and runs again, on the new head.
//! (Locking the last row or an advisory lock would not do under snapshot
//! isolation: a snapshot taken before the lock was granted would still see
//! the old last row.) A trigger refuses an inserted row that does not extend
//! the head, and the head lets [`verify`] notice rows cut off the end.
//!
//! My Numbers never go into the audit log: refer to residents by their
//! registry id (`subject = "resident:42"`).

use aws_lc_rs::digest;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::{format_timestamp, truncate_to_micros, Database, Row, Tx, Value};
use crate::error::{Result, StoreError};

/// The `prev_hash` of the first row.
pub const GENESIS: [u8; 32] = [0; 32];

/// The domain tag that opens every hashed encoding (version 1 of the format).
pub const HASH_DOMAIN: &str = "mynacard-audit-v1";

/// What happened, to be appended.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// When (kept to the microsecond).
    pub at: DateTime<Utc>,
    /// Who: a staff member, an operator, `resident:ID`, `system:batch`, …
    pub actor: String,
    /// What, as a stable dotted name: `card.suspend`, `certificate.revoke`, …
    pub action: String,
    /// On what: `card:0123456789ABCDEF`, `resident:42`, …
    pub subject: String,
    /// Anything else, as JSON (no My Number, no PIN).
    pub details: serde_json::Value,
}

/// A row of the audit log as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The position in the chain, from 1.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub subject: String,
    /// The JSON text as stored and hashed.
    pub details: String,
    /// The previous row's hash.
    pub prev_hash: [u8; 32],
    /// This row's hash.
    pub hash: [u8; 32],
}

fn put_field(context: &mut digest::Context, text: &str) {
    let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
    context.update(&len.to_be_bytes());
    context.update(text.as_bytes());
}

/// The hash of a row (see the module documentation for the encoding).
pub fn entry_hash(
    prev_hash: &[u8; 32],
    seq: i64,
    at: &DateTime<Utc>,
    actor: &str,
    action: &str,
    subject: &str,
    details: &str,
) -> [u8; 32] {
    let mut context = digest::Context::new(&digest::SHA256);
    put_field(&mut context, HASH_DOMAIN);
    context.update(prev_hash);
    context.update(&(seq as u64).to_be_bytes());
    put_field(&mut context, &format_timestamp(at));
    put_field(&mut context, actor);
    put_field(&mut context, action);
    put_field(&mut context, subject);
    put_field(&mut context, details);
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

fn hash32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(bytes).map_err(|b| StoreError::Corrupt(format!("{what} has {} bytes, not 32", b.len())))
}

/// Appends an entry in the caller's transaction and answers its `seq`.
/// The entry is committed (or not) with the operation it records.
pub fn append(tx: &mut Tx<'_>, entry: &AuditEntry) -> Result<i64> {
    let at = truncate_to_micros(entry.at);
    let details = serde_json::to_string(&entry.details)
        .map_err(|e| StoreError::Constraint(format!("audit details are not JSON: {e}")))?;
    let head = tx.query_one(
        "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash",
        &[],
    )?;
    let seq = head.i64(0)?;
    let prev_hash = hash32(head.bytes(1)?, "the audit head's hash")?;
    let hash = entry_hash(
        &prev_hash,
        seq,
        &at,
        &entry.actor,
        &entry.action,
        &entry.subject,
        &details,
    );
    tx.execute(
        "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            Value::Int(seq),
            Value::Timestamp(at),
            Value::from(&entry.actor),
            Value::from(&entry.action),
            Value::from(&entry.subject),
            Value::Text(details),
            Value::Bytes(prev_hash.to_vec()),
            Value::Bytes(hash.to_vec()),
        ],
    )?;
    tx.execute(
        "UPDATE audit_head SET hash = ?1 WHERE id = 1",
        &[Value::Bytes(hash.to_vec())],
    )?;
    Ok(seq)
}

/// The head of the chain: the last `seq` (0 when empty) and its hash.
pub fn head(tx: &mut Tx<'_>) -> Result<(i64, [u8; 32])> {
    let row = tx.query_one("SELECT seq, hash FROM audit_head WHERE id = 1", &[])?;
    Ok((row.i64(0)?, hash32(row.bytes(1)?, "the audit head's hash")?))
}

const COLUMNS: &str = "seq, at, actor, action, subject, details, prev_hash, hash";

fn record_from(row: &Row) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: row.i64(0)?,
        at: row.timestamp(1)?,
        actor: row.text(2)?,
        action: row.text(3)?,
        subject: row.text(4)?,
        details: row.text(5)?,
        prev_hash: hash32(row.bytes(6)?, "prev_hash")?,
        hash: hash32(row.bytes(7)?, "hash")?,
    })
}

/// Up to `limit` rows after `after_seq`, in order.
pub fn list(tx: &mut Tx<'_>, after_seq: i64, limit: i64) -> Result<Vec<AuditRecord>> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2"),
        &[Value::Int(after_seq), Value::Int(limit)],
    )?
    .iter()
    .map(record_from)
    .collect()
}

/// Where the chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainBreak {
    /// The row's stored hash is not the hash of its contents: the row was
    /// altered.
    Altered {
        /// The row.
        seq: i64,
    },
    /// There is no row `seq`, but rows after it: it was deleted.
    Missing {
        /// The missing row.
        seq: i64,
    },
    /// The row's `prev_hash` is not the previous row's hash: rows were
    /// reordered, or the row before was replaced with a re-hashed one.
    Relinked {
        /// The row whose link is broken.
        seq: i64,
    },
    /// The chain ends elsewhere than the head says: rows were cut off the
    /// end, or the head was altered.
    HeadMismatch {
        /// The last row the head records.
        head_seq: i64,
        /// The last row found.
        last_seq: i64,
    },
}

impl ChainBreak {
    /// The first row at which the chain no longer holds.
    pub fn seq(&self) -> i64 {
        match *self {
            ChainBreak::Altered { seq } | ChainBreak::Missing { seq } | ChainBreak::Relinked { seq } => seq,
            ChainBreak::HeadMismatch { head_seq, last_seq } => head_seq.min(last_seq) + 1,
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Rows checked and found intact (before the break, if any).
    pub checked: u64,
    /// The last intact row's seq (0 if none).
    pub last_seq: i64,
    /// The last intact row's hash ([`GENESIS`] if none).
    pub last_hash: [u8; 32],
    /// The first break, if the chain is broken.
    pub first_break: Option<ChainBreak>,
}

impl VerifyReport {
    /// Whether the whole chain holds.
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Rows read per query while verifying.
const PAGE: i64 = 1000;

/// Walks the whole chain in `seq` order in one read-only snapshot and
/// reports the first broken link.
pub fn verify(db: &Database) -> Result<VerifyReport> {
    db.read(verify_in)
}

/// [`verify`] inside a transaction of the caller's.
pub fn verify_in(tx: &mut Tx<'_>) -> Result<VerifyReport> {
    let mut report = VerifyReport {
        checked: 0,
        last_seq: 0,
        last_hash: GENESIS,
        first_break: None,
    };
    'pages: loop {
        let rows = list(tx, report.last_seq, PAGE)?;
        let done = (rows.len() as i64) < PAGE;
        for row in rows {
            let expected = report.last_seq + 1;
            let broken = if row.seq != expected {
                Some(ChainBreak::Missing { seq: expected })
            } else if row.prev_hash != report.last_hash {
                Some(ChainBreak::Relinked { seq: row.seq })
            } else if entry_hash(
                &row.prev_hash,
                row.seq,
                &row.at,
                &row.actor,
                &row.action,
                &row.subject,
                &row.details,
            ) != row.hash
            {
                Some(ChainBreak::Altered { seq: row.seq })
            } else {
                None
            };
            if broken.is_some() {
                report.first_break = broken;
                break 'pages;
            }
            report.checked += 1;
            report.last_seq = row.seq;
            report.last_hash = row.hash;
        }
        if done {
            break;
        }
    }
    if report.first_break.is_none() {
        let (head_seq, head_hash) = head(tx)?;
        if head_seq != report.last_seq || head_hash != report.last_hash {
            report.first_break = Some(ChainBreak::HeadMismatch {
                head_seq,
                last_seq: report.last_seq,
            });
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoding_is_fixed() {
        let at = DateTime::parse_from_rfc3339("2026-04-01T09:30:00+09:00")
            .expect("time")
            .with_timezone(&Utc);
        let mut data = Vec::new();
        let field = |data: &mut Vec<u8>, s: &str| {
            data.extend_from_slice(&(s.len() as u32).to_be_bytes());
            data.extend_from_slice(s.as_bytes());
        };
        field(&mut data, "mynacard-audit-v1");
        data.extend_from_slice(&GENESIS);
        data.extend_from_slice(&1u64.to_be_bytes());
        field(&mut data, "2026-04-01T00:30:00.000000Z");
        field(&mut data, "staff:1");
        field(&mut data, "card.suspend");
        field(&mut data, "card:0123456789ABCDEF");
        field(&mut data, "{\"channel\":\"hotline\"}");
        let expected = digest::digest(&digest::SHA256, &data);
        let got = entry_hash(
            &GENESIS,
            1,
            &at,
            "staff:1",
            "card.suspend",
            "card:0123456789ABCDEF",
            "{\"channel\":\"hotline\"}",
        );
        assert_eq!(got.as_slice(), expected.as_ref());
        // Moving a byte from one field to the next changes the hash.
        let shifted = entry_hash(
            &GENESIS,
            1,
            &at,
            "staff:1c",
            "ard.suspend",
            "card:0123456789ABCDEF",
            "{\"channel\":\"hotline\"}",
        );
        assert_ne!(got, shifted);
    }
}
