//! 電子証明書: the registry's view of each certificate (the CA keeps the
//! certificate itself in its own records).

use chrono::{DateTime, NaiveDate, Utc};
use mynacard_rules::revocation::CrlReason;
use mynacard_rules::smartphone::Platform;

use super::{enum_column, opt_from_serde_name, serde_name, text_enum};
use crate::db::{truncate_to_micros, Row, Tx, Value};
use crate::error::{Result, StoreError};

text_enum! {
    /// The four kinds of certificate a person may hold, one valid of each.
    pub enum CertKind {
        /// 利用者証明用電子証明書 on the card.
        Auth => "auth",
        /// 署名用電子証明書 on the card.
        Sign => "sign",
        /// スマホ用利用者証明用電子証明書.
        SmartphoneAuth => "smartphone_auth",
        /// スマホ用署名用電子証明書.
        SmartphoneSign => "smartphone_sign",
    }
}

impl CertKind {
    /// A smartphone certificate (not on the card).
    pub fn is_smartphone(self) -> bool {
        matches!(self, CertKind::SmartphoneAuth | CertKind::SmartphoneSign)
    }
}

text_enum! {
    /// A certificate's status in the registry.
    pub enum CertificateStatus {
        /// Valid.
        Good => "good",
        /// 一時保留 (certificateHold): on hold, e.g. the card was reported lost.
        Hold => "hold",
        /// 失効: revoked. Final.
        Revoked => "revoked",
        /// Past its last valid day. Final.
        Expired => "expired",
    }
}

impl CertificateStatus {
    /// Whether a certificate of `kind` may go from this status to `to`:
    /// good → hold, revoked or expired; hold → revoked or expired, and back
    /// to good only for the smartphone auth certificate (rules.md §9);
    /// revoked and expired never change.
    pub fn may_become(self, to: CertificateStatus, kind: CertKind) -> bool {
        use CertificateStatus::*;
        match (self, to) {
            (Good, Hold | Revoked | Expired) => true,
            (Hold, Revoked | Expired) => true,
            (Hold, Good) => kind == CertKind::SmartphoneAuth,
            _ => false,
        }
    }

    /// Counts as the person's certificate of its kind (good or held).
    pub fn is_valid(self) -> bool {
        matches!(self, CertificateStatus::Good | CertificateStatus::Hold)
    }
}

/// The registry's record of a certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct CertificateRecord {
    /// The serial number, upper-case hex (as `mynacard_pki::Serial::to_hex`).
    pub serial: String,
    /// The card it is on (`None` only for smartphone certificates).
    pub card_serial: Option<String>,
    /// The holder.
    pub resident_id: i64,
    /// Which kind.
    pub kind: CertKind,
    /// The smartphone platform (smartphone certificates only).
    pub platform: Option<Platform>,
    /// Where it stands.
    pub status: CertificateStatus,
    /// The issuance date.
    pub issued_on: NaiveDate,
    /// The last valid day.
    pub not_after: NaiveDate,
    /// When it was put on hold or revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why (certificateHold for a hold).
    pub reason: Option<CrlReason>,
}

const COLUMNS: &str =
    "serial, card_serial, resident_id, kind, platform, status, issued_on, not_after, revoked_at, reason";

fn from_row(row: &Row) -> Result<CertificateRecord> {
    let reason = match row.opt_i64(9)? {
        None => None,
        Some(code) => Some(
            u8::try_from(code)
                .ok()
                .and_then(CrlReason::from_code)
                .ok_or_else(|| StoreError::Corrupt(format!("certificates.reason: unknown code {code}")))?,
        ),
    };
    Ok(CertificateRecord {
        serial: row.text(0)?,
        card_serial: row.opt_text(1)?,
        resident_id: row.i64(2)?,
        kind: enum_column(row, 3, CertKind::parse)?,
        platform: opt_from_serde_name(row, 4)?,
        status: enum_column(row, 5, CertificateStatus::parse)?,
        issued_on: row.date(6)?,
        not_after: row.date(7)?,
        revoked_at: row.opt_timestamp(8)?,
        reason,
    })
}

/// Records a certificate. [`StoreError::Conflict`] if the serial exists, or
/// if the person already has a good or held certificate of its kind: revoke
/// (or expire) the old one first, in the same transaction.
pub fn insert_certificate(tx: &mut Tx<'_>, c: &CertificateRecord) -> Result<()> {
    tx.execute(
        &format!("INSERT INTO certificates ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
        &[
            Value::from(&c.serial),
            Value::from(c.card_serial.clone()),
            Value::Int(c.resident_id),
            Value::from(c.kind.as_str()),
            Value::from(c.platform.as_ref().map(serde_name).transpose()?),
            Value::from(c.status.as_str()),
            Value::Date(c.issued_on),
            Value::Date(c.not_after),
            Value::from(c.revoked_at.map(truncate_to_micros)),
            Value::from(c.reason.map(|r| i64::from(r.code()))),
        ],
    )?;
    Ok(())
}

/// A certificate by serial.
pub fn get_certificate(tx: &mut Tx<'_>, serial: &str) -> Result<Option<CertificateRecord>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM certificates WHERE serial = ?1"),
        &[Value::from(serial)],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Moves a certificate from `expected` to `new` at `at`, if it is in
/// `expected`; answers whether it was.
///
/// A hold records `at` with reason certificateHold; a revocation records
/// `at` and `reason` (required, and not certificateHold); a release (back to
/// good) clears them; an expiry keeps them. The transition is checked here
/// ([`CertificateStatus::may_become`], [`StoreError::Refused`]) and again
/// by the database's trigger.
pub fn set_certificate_status(
    tx: &mut Tx<'_>,
    serial: &str,
    expected: CertificateStatus,
    new: CertificateStatus,
    at: DateTime<Utc>,
    reason: Option<CrlReason>,
) -> Result<bool> {
    let current = get_certificate(tx, serial)?.ok_or_else(|| StoreError::NotFound(format!("certificate {serial}")))?;
    if current.status != expected {
        return Ok(false);
    }
    if !expected.may_become(new, current.kind) {
        return Err(StoreError::Refused(format!(
            "a {} certificate may not go from {expected} to {new}",
            current.kind
        )));
    }
    let at = truncate_to_micros(at);
    let (revoked_at, reason) = match new {
        CertificateStatus::Good => (None, None),
        CertificateStatus::Hold => (Some(at), Some(CrlReason::CertificateHold)),
        CertificateStatus::Revoked => match reason {
            Some(r) if r != CrlReason::CertificateHold => (Some(at), Some(r)),
            _ => {
                return Err(StoreError::Constraint(
                    "a revocation needs its reason (and certificateHold is a hold)".into(),
                ))
            }
        },
        CertificateStatus::Expired => (current.revoked_at, current.reason),
    };
    let changed = tx.execute(
        "UPDATE certificates SET status = ?3, revoked_at = ?4, reason = ?5 WHERE serial = ?1 AND status = ?2",
        &[
            Value::from(serial),
            Value::from(expected.as_str()),
            Value::from(new.as_str()),
            Value::from(revoked_at),
            Value::from(reason.map(|r| i64::from(r.code()))),
        ],
    )?;
    Ok(changed == 1)
}

/// A person's certificates, oldest first.
pub fn list_certificates_for_resident(tx: &mut Tx<'_>, resident_id: i64) -> Result<Vec<CertificateRecord>> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM certificates WHERE resident_id = ?1 ORDER BY issued_on, serial"),
        &[Value::Int(resident_id)],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// The certificates on a card, oldest first.
pub fn list_certificates_for_card(tx: &mut Tx<'_>, card_serial: &str) -> Result<Vec<CertificateRecord>> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM certificates WHERE card_serial = ?1 ORDER BY issued_on, serial"),
        &[Value::from(card_serial)],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// The person's good or held certificate of a kind, if any (there is at
/// most one).
pub fn valid_certificate(tx: &mut Tx<'_>, resident_id: i64, kind: CertKind) -> Result<Option<CertificateRecord>> {
    tx.query_opt(
        &format!(
            "SELECT {COLUMNS} FROM certificates WHERE resident_id = ?1 AND kind = ?2 AND status IN ('good', 'hold')"
        ),
        &[Value::Int(resident_id), Value::from(kind.as_str())],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Up to `limit` good or held certificates whose last valid day falls in
/// `from..=through`, with serials above `after_serial` (`""` to start), by
/// serial.
pub fn certificates_expiring(
    tx: &mut Tx<'_>,
    from: NaiveDate,
    through: NaiveDate,
    after_serial: &str,
    limit: i64,
) -> Result<Vec<CertificateRecord>> {
    tx.query(
        &format!(
            "SELECT {COLUMNS} FROM certificates WHERE status IN ('good', 'hold') \
             AND not_after >= ?1 AND not_after <= ?2 AND serial > ?3 ORDER BY serial LIMIT ?4"
        ),
        &[
            Value::Date(from),
            Value::Date(through),
            Value::from(after_serial),
            Value::Int(limit),
        ],
    )?
    .iter()
    .map(from_row)
    .collect()
}
