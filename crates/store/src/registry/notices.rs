//! 通知書: notices queued by the nightly batch (有効期限通知書, …).

use chrono::NaiveDate;

use super::{enum_column, text_enum, Stored};
use crate::db::{Row, Tx, Value};
use crate::error::{Result, StoreError};

text_enum! {
    /// What a notice announces.
    pub enum NoticeKind {
        /// 有効期限通知書 for a card entering its renewal window.
        CardExpiry => "card_expiry",
        /// 有効期限通知書 for a certificate entering its renewal window.
        CertificateExpiry => "certificate_expiry",
        /// The card lapsed.
        Lapse => "lapse",
    }
}

/// What a notice is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NoticeSubject {
    /// A card, by serial.
    Card(String),
    /// A certificate, by serial.
    Certificate(String),
}

/// A notice to a resident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The addressee.
    pub resident_id: i64,
    /// The card or certificate it is about.
    pub subject: NoticeSubject,
    /// What it announces.
    pub kind: NoticeKind,
    /// The date it is about (the expiry or lapse date).
    pub due_on: NaiveDate,
    /// The batch day that queued it.
    pub created_on: NaiveDate,
    /// The day it was sent.
    pub sent_on: Option<NaiveDate>,
}

const COLUMNS: &str = "id, resident_id, card_serial, certificate_serial, kind, due_on, created_on, sent_on";

fn from_row(row: &Row) -> Result<Stored<Notice>> {
    let subject = match (row.opt_text(2)?, row.opt_text(3)?) {
        (Some(card), None) => NoticeSubject::Card(card),
        (None, Some(certificate)) => NoticeSubject::Certificate(certificate),
        _ => {
            return Err(StoreError::Corrupt(
                "a notice must be about one card or one certificate".into(),
            ))
        }
    };
    Ok(Stored {
        id: row.i64(0)?,
        record: Notice {
            resident_id: row.i64(1)?,
            subject,
            kind: enum_column(row, 4, NoticeKind::parse)?,
            due_on: row.date(5)?,
            created_on: row.date(6)?,
            sent_on: row.opt_date(7)?,
        },
    })
}

/// Queues a notice unless the same one (subject, kind, due date) is
/// queued already: answers its id, or `None` if it was there — so the
/// nightly batch may run a day twice.
pub fn queue_notice(tx: &mut Tx<'_>, notice: &Notice) -> Result<Option<i64>> {
    let (card, certificate) = match &notice.subject {
        NoticeSubject::Card(serial) => (Some(serial.clone()), None),
        NoticeSubject::Certificate(serial) => (None, Some(serial.clone())),
    };
    let rows = tx.query(
        "INSERT INTO notices (resident_id, card_serial, certificate_serial, kind, due_on, created_on, sent_on) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING RETURNING id",
        &[
            Value::Int(notice.resident_id),
            Value::from(card),
            Value::from(certificate),
            Value::from(notice.kind.as_str()),
            Value::Date(notice.due_on),
            Value::Date(notice.created_on),
            Value::from(notice.sent_on),
        ],
    )?;
    rows.first().map(|row| row.i64(0)).transpose()
}

/// A notice by id.
pub fn get_notice(tx: &mut Tx<'_>, id: i64) -> Result<Option<Stored<Notice>>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM notices WHERE id = ?1"),
        &[Value::Int(id)],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Marks a notice sent: answers false if it was sent already.
pub fn mark_notice_sent(tx: &mut Tx<'_>, id: i64, sent_on: NaiveDate) -> Result<bool> {
    let changed = tx.execute(
        "UPDATE notices SET sent_on = ?2 WHERE id = ?1 AND sent_on IS NULL",
        &[Value::Int(id), Value::Date(sent_on)],
    )?;
    if changed == 0 && get_notice(tx, id)?.is_none() {
        return Err(StoreError::NotFound(format!("notice {id}")));
    }
    Ok(changed == 1)
}

/// A resident's notices, oldest first.
pub fn list_notices_for_resident(tx: &mut Tx<'_>, resident_id: i64) -> Result<Vec<Stored<Notice>>> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM notices WHERE resident_id = ?1 ORDER BY created_on, id"),
        &[Value::Int(resident_id)],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// Up to `limit` notices not yet sent, oldest first.
pub fn list_unsent_notices(tx: &mut Tx<'_>, limit: i64) -> Result<Vec<Stored<Notice>>> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM notices WHERE sent_on IS NULL ORDER BY created_on, id LIMIT ?1"),
        &[Value::Int(limit)],
    )?
    .iter()
    .map(from_row)
    .collect()
}
