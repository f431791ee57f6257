//! Kiosk PIN reset bookings (rules.md §4): booked in the reset app, used
//! within 24 hours at a kiosk.

use chrono::{DateTime, Utc};
use mynacard_rules::pin::PinKind;

use super::{from_serde_name, returned_id, serde_name, Stored};
use crate::db::{truncate_to_micros, Row, Tx, Value};
use crate::error::Result;

/// A booked kiosk PIN reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinResetBooking {
    /// The card.
    pub card_serial: String,
    /// The PIN to reset: signature or user authentication.
    pub pin_kind: PinKind,
    /// When it was booked.
    pub booked_at: DateTime<Utc>,
    /// When the booking runs out (24 hours later).
    pub expires_at: DateTime<Utc>,
    /// When it was used at a kiosk.
    pub used_at: Option<DateTime<Utc>>,
}

fn from_row(row: &Row) -> Result<Stored<PinResetBooking>> {
    Ok(Stored {
        id: row.i64(0)?,
        record: PinResetBooking {
            card_serial: row.text(1)?,
            pin_kind: from_serde_name(row, 2)?,
            booked_at: row.timestamp(3)?,
            expires_at: row.timestamp(4)?,
            used_at: row.opt_timestamp(5)?,
        },
    })
}

/// Records a booking.
pub fn insert_pin_reset_booking(tx: &mut Tx<'_>, booking: &PinResetBooking) -> Result<Stored<PinResetBooking>> {
    let record = PinResetBooking {
        booked_at: truncate_to_micros(booking.booked_at),
        expires_at: truncate_to_micros(booking.expires_at),
        used_at: booking.used_at.map(truncate_to_micros),
        ..booking.clone()
    };
    let rows = tx.query(
        "INSERT INTO pin_reset_bookings (card_serial, pin_kind, booked_at, expires_at, used_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        &[
            Value::from(&record.card_serial),
            Value::Text(serde_name(&record.pin_kind)?),
            Value::Timestamp(record.booked_at),
            Value::Timestamp(record.expires_at),
            Value::from(record.used_at),
        ],
    )?;
    Ok(Stored {
        id: returned_id(rows)?,
        record,
    })
}

/// A card's bookings, oldest first.
pub fn list_pin_reset_bookings(tx: &mut Tx<'_>, card_serial: &str) -> Result<Vec<Stored<PinResetBooking>>> {
    tx.query(
        "SELECT id, card_serial, pin_kind, booked_at, expires_at, used_at FROM pin_reset_bookings \
         WHERE card_serial = ?1 ORDER BY booked_at, id",
        &[Value::from(card_serial)],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// Uses a booking at `at`: answers true if it was unused and `at` lies
/// within its 24 hours, false otherwise (used already, or run out).
pub fn use_pin_reset_booking(tx: &mut Tx<'_>, id: i64, at: DateTime<Utc>) -> Result<bool> {
    let changed = tx.execute(
        "UPDATE pin_reset_bookings SET used_at = ?2 \
         WHERE id = ?1 AND used_at IS NULL AND booked_at <= ?2 AND expires_at >= ?2",
        &[Value::Int(id), Value::Timestamp(truncate_to_micros(at))],
    )?;
    Ok(changed == 1)
}
