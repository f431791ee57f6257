//! マイナンバーカード: the cards, and the entries on their surface (追記欄).

use chrono::{DateTime, NaiveDate, Utc};
use mynacard_rules::lapse::LapseReason;

use super::{enum_column, opt_from_serde_name, serde_name, text_enum};
use crate::db::{truncate_to_micros, Row, Tx, Value};
use crate::error::{Result, StoreError};

text_enum! {
    /// Where a card stands.
    pub enum CardStatus {
        /// Produced by J-LIS, waiting for delivery.
        Produced => "produced",
        /// Delivered and usable.
        Active => "active",
        /// 一時停止: suspended (reported lost).
        Suspended => "suspended",
        /// 失効: lapsed (rules.md §7).
        Lapsed => "lapsed",
        /// Past its expiry date.
        Expired => "expired",
        /// 返納: returned by the holder.
        Returned => "returned",
        /// 廃止: invalidated (replaced, never delivered, destroyed).
        Invalid => "invalid",
    }
}

impl CardStatus {
    /// In the holder's hands and counting as their card (active or suspended).
    pub fn is_in_use(self) -> bool {
        matches!(self, CardStatus::Active | CardStatus::Suspended)
    }

    /// Out of use for good: lapsed, expired, returned or invalid.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CardStatus::Lapsed | CardStatus::Expired | CardStatus::Returned | CardStatus::Invalid
        )
    }
}

/// A card.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// The chip's serial: 16 upper-case hex digits.
    pub serial: String,
    /// The holder.
    pub resident_id: i64,
    /// The application it was produced for.
    pub application_id: Option<i64>,
    /// Where it stands.
    pub status: CardStatus,
    /// 顔認証マイナンバーカード.
    pub face_recognition: bool,
    /// 発行日: the day J-LIS produced it.
    pub issued_on: NaiveDate,
    /// 有効期限: the last valid day.
    pub expires_on: NaiveDate,
    /// 交付日: the day it was handed over.
    pub delivered_on: Option<NaiveDate>,
    /// 失効日: the first day it was no longer valid.
    pub lapsed_on: Option<NaiveDate>,
    /// Why it lapsed.
    pub lapse_reason: Option<LapseReason>,
    /// Where the virtual card's image is kept (the card store, never the
    /// registry, holds its keys and PINs).
    pub image_location: Option<String>,
    /// When the status last changed.
    pub status_changed_at: DateTime<Utc>,
}

const COLUMNS: &str = "serial, resident_id, application_id, status, face_recognition, issued_on, expires_on, \
     delivered_on, lapsed_on, lapse_reason, image_location, status_changed_at";

fn from_row(row: &Row) -> Result<Card> {
    Ok(Card {
        serial: row.text(0)?,
        resident_id: row.i64(1)?,
        application_id: row.opt_i64(2)?,
        status: enum_column(row, 3, CardStatus::parse)?,
        face_recognition: row.bool(4)?,
        issued_on: row.date(5)?,
        expires_on: row.date(6)?,
        delivered_on: row.opt_date(7)?,
        lapsed_on: row.opt_date(8)?,
        lapse_reason: opt_from_serde_name(row, 9)?,
        image_location: row.opt_text(10)?,
        status_changed_at: row.timestamp(11)?,
    })
}

fn values(c: &Card) -> Result<Vec<Value>> {
    Ok(vec![
        Value::from(&c.serial),
        Value::Int(c.resident_id),
        Value::from(c.application_id),
        Value::from(c.status.as_str()),
        Value::Bool(c.face_recognition),
        Value::Date(c.issued_on),
        Value::Date(c.expires_on),
        Value::from(c.delivered_on),
        Value::from(c.lapsed_on),
        Value::from(c.lapse_reason.as_ref().map(serde_name).transpose()?),
        Value::from(c.image_location.clone()),
        Value::Timestamp(truncate_to_micros(c.status_changed_at)),
    ])
}

/// Records a card. [`StoreError::Conflict`] if the serial exists or the
/// holder already has a card in use (or one in production) of that status.
pub fn insert_card(tx: &mut Tx<'_>, card: &Card) -> Result<()> {
    tx.execute(
        &format!("INSERT INTO cards ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
        &values(card)?,
    )?;
    Ok(())
}

/// A card by serial.
pub fn get_card(tx: &mut Tx<'_>, serial: &str) -> Result<Option<Card>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM cards WHERE serial = ?1"),
        &[Value::from(serial)],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Writes a card over the stored one with its serial.
pub fn update_card(tx: &mut Tx<'_>, card: &Card) -> Result<()> {
    let changed = tx.execute(
        "UPDATE cards SET resident_id = ?2, application_id = ?3, status = ?4, face_recognition = ?5, \
         issued_on = ?6, expires_on = ?7, delivered_on = ?8, lapsed_on = ?9, lapse_reason = ?10, \
         image_location = ?11, status_changed_at = ?12 WHERE serial = ?1",
        &values(card)?,
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("card {}", card.serial)));
    }
    Ok(())
}

/// Moves a card from `from` to `to` if it is in `from`; answers whether it
/// was. [`StoreError::NotFound`] if there is no such card;
/// [`StoreError::Refused`] if the move is backwards (out of a final status,
/// or into production).
pub fn set_card_status(
    tx: &mut Tx<'_>,
    serial: &str,
    from: CardStatus,
    to: CardStatus,
    at: DateTime<Utc>,
) -> Result<bool> {
    let changed = tx.execute(
        "UPDATE cards SET status = ?3, status_changed_at = ?4 WHERE serial = ?1 AND status = ?2",
        &[
            Value::from(serial),
            Value::from(from.as_str()),
            Value::from(to.as_str()),
            Value::Timestamp(truncate_to_micros(at)),
        ],
    )?;
    if changed == 0 && get_card(tx, serial)?.is_none() {
        return Err(StoreError::NotFound(format!("card {serial}")));
    }
    Ok(changed == 1)
}

/// A resident's cards, oldest first.
pub fn list_cards_for_resident(tx: &mut Tx<'_>, resident_id: i64) -> Result<Vec<Card>> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM cards WHERE resident_id = ?1 ORDER BY issued_on, serial"),
        &[Value::Int(resident_id)],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// The resident's card in use (active or suspended), if any.
pub fn card_in_use(tx: &mut Tx<'_>, resident_id: i64) -> Result<Option<Card>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM cards WHERE resident_id = ?1 AND status IN ('active', 'suspended')"),
        &[Value::Int(resident_id)],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Up to `limit` cards in use whose expiry falls in `from..=through`, with
/// serials above `after_serial` (`""` to start), by serial: the nightly
/// batch's cursor-paged scan.
pub fn cards_expiring(
    tx: &mut Tx<'_>,
    from: NaiveDate,
    through: NaiveDate,
    after_serial: &str,
    limit: i64,
) -> Result<Vec<Card>> {
    tx.query(
        &format!(
            "SELECT {COLUMNS} FROM cards WHERE status IN ('active', 'suspended') \
             AND expires_on >= ?1 AND expires_on <= ?2 AND serial > ?3 ORDER BY serial LIMIT ?4"
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

text_enum! {
    /// What an additional entry records.
    pub enum SurfaceEntryKind {
        /// A new address (転入, 転居).
        Address => "address",
        /// A new name (marriage, …).
        Name => "name",
        /// 「顔認証」: the card became a face-recognition card.
        FaceRecognition => "face_recognition",
        /// 有効期間変更: a foreign resident's card validity was changed.
        ValidityChange => "validity_change",
        /// Anything else.
        Other => "other",
    }
}

/// 追記欄: one additional entry on a card's surface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurfaceEntry {
    /// The card.
    pub card_serial: String,
    /// Its place on the card: 1, 2, …
    pub seq: i64,
    /// The day it was written.
    pub entered_on: NaiveDate,
    /// What it records.
    pub kind: SurfaceEntryKind,
    /// The text written.
    pub text: String,
}

/// Writes the next entry on a card's surface and answers it with its
/// number. (Within the transaction the numbers cannot race: SQLite holds
/// the write lock, PostgreSQL fails to serialize and retries.)
pub fn add_surface_entry(
    tx: &mut Tx<'_>,
    card_serial: &str,
    entered_on: NaiveDate,
    kind: SurfaceEntryKind,
    text: &str,
) -> Result<SurfaceEntry> {
    let seq = tx
        .query_one(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM surface_entries WHERE card_serial = ?1",
            &[Value::from(card_serial)],
        )?
        .i64(0)?;
    tx.execute(
        "INSERT INTO surface_entries (card_serial, seq, entered_on, kind, text) VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            Value::from(card_serial),
            Value::Int(seq),
            Value::Date(entered_on),
            Value::from(kind.as_str()),
            Value::from(text),
        ],
    )?;
    Ok(SurfaceEntry {
        card_serial: card_serial.to_owned(),
        seq,
        entered_on,
        kind,
        text: text.to_owned(),
    })
}

/// One entry of a card. (Entries are never rewritten, as on the card
/// itself: a correction is a new entry.)
pub fn get_surface_entry(tx: &mut Tx<'_>, card_serial: &str, seq: i64) -> Result<Option<SurfaceEntry>> {
    tx.query_opt(
        "SELECT card_serial, seq, entered_on, kind, text FROM surface_entries WHERE card_serial = ?1 AND seq = ?2",
        &[Value::from(card_serial), Value::Int(seq)],
    )?
    .as_ref()
    .map(surface_entry_from_row)
    .transpose()
}

fn surface_entry_from_row(row: &Row) -> Result<SurfaceEntry> {
    Ok(SurfaceEntry {
        card_serial: row.text(0)?,
        seq: row.i64(1)?,
        entered_on: row.date(2)?,
        kind: enum_column(row, 3, SurfaceEntryKind::parse)?,
        text: row.text(4)?,
    })
}

/// A card's entries, in order.
pub fn list_surface_entries(tx: &mut Tx<'_>, card_serial: &str) -> Result<Vec<SurfaceEntry>> {
    tx.query(
        "SELECT card_serial, seq, entered_on, kind, text FROM surface_entries WHERE card_serial = ?1 ORDER BY seq",
        &[Value::from(card_serial)],
    )?
    .iter()
    .map(surface_entry_from_row)
    .collect()
}
