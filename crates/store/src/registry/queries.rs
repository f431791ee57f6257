//! Queries the lifecycle authority asks of the registry as a whole: lapse
//! candidates for the nightly batch, residents by birth date for the
//! hotline, certificates whose status changed recently for reconciliation.

use chrono::{DateTime, NaiveDate, Utc};

use crate::db::{truncate_to_micros, Tx, Value};
use crate::error::Result;

/// The cards in use whose holder's facts may lapse them (a superset of
/// those that lapse, bar plain expiry): the holder moved out, died or left
/// Japan; moved in after the card was issued and the card shows no address
/// since; or the card, bounded by a period of stay, is past its expiry.
const LAPSE_CANDIDATES: &str = "FROM cards c JOIN residents r ON r.id = c.resident_id \
     WHERE c.status IN ('active', 'suspended') AND (r.status <> 'resident' \
     OR (r.move_in_notified_on IS NOT NULL AND r.move_in_notified_on > c.issued_on \
         AND NOT EXISTS (SELECT 1 FROM surface_entries s WHERE s.card_serial = c.serial \
             AND s.kind = 'address' AND s.entered_on >= r.move_in_notified_on)) \
     OR (r.residence_kind = 'foreign_with_stay' AND c.expires_on < ?1))";

/// How many cards are lapse candidates on `today`.
pub fn count_lapse_candidates(tx: &mut Tx<'_>, today: NaiveDate) -> Result<u64> {
    let n = tx
        .query_one(&format!("SELECT COUNT(*) {LAPSE_CANDIDATES}"), &[Value::Date(today)])?
        .i64(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The next `limit` lapse candidates on `today` after serial `after`, in serial order.
pub fn lapse_candidates(tx: &mut Tx<'_>, today: NaiveDate, after: &str, limit: i64) -> Result<Vec<String>> {
    tx.query(
        &format!("SELECT c.serial {LAPSE_CANDIDATES} AND c.serial > ?2 ORDER BY c.serial LIMIT ?3"),
        &[Value::Date(today), Value::from(after), Value::Int(limit)],
    )?
    .iter()
    .map(|row| row.text(0))
    .collect()
}

/// The ids of the residents born on `birth_date` (the hotline's first
/// filter; name and address are compared by the caller).
pub fn residents_born_on(tx: &mut Tx<'_>, birth_date: NaiveDate) -> Result<Vec<i64>> {
    tx.query(
        "SELECT id FROM residents WHERE birth_date = ?1 ORDER BY id",
        &[Value::Date(birth_date)],
    )?
    .iter()
    .map(|row| row.i64(0))
    .collect()
}

/// The serials of the certificates put on hold, revoked or released since
/// `since` (their `revoked_at`), for pushing statuses to the CA.
pub fn certificates_status_changed_since(tx: &mut Tx<'_>, since: DateTime<Utc>) -> Result<Vec<String>> {
    tx.query(
        "SELECT serial FROM certificates WHERE status IN ('revoked', 'hold', 'good') AND revoked_at >= ?1",
        &[Value::Timestamp(truncate_to_micros(since))],
    )?
    .iter()
    .map(|row| row.text(0))
    .collect()
}
