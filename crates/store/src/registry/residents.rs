//! 住民票: the resident records.

use std::ops::Deref;

use chrono::{DateTime, NaiveDate, Utc};
use mynacard_rules::card::Residence;
use mynacard_rules::numbers::{MunicipalityCode, MyNumber};

use super::{enum_column, returned_id, text_enum};
use crate::db::{truncate_to_micros, Row, Tx, Value};
use crate::error::{Result, StoreError};

text_enum! {
    /// 性別 as recorded on the 住民票.
    pub enum Sex {
        /// 男.
        Male => "male",
        /// 女.
        Female => "female",
    }
}

text_enum! {
    /// Where the record stands.
    pub enum ResidentStatus {
        /// 住民: living in the municipality.
        Resident => "resident",
        /// 転出: moved out (the record stays with the planned move-out date).
        MovedOut => "moved_out",
        /// 死亡: the record was removed by death.
        Deceased => "deceased",
        /// 国外転出: moved abroad.
        Abroad => "abroad",
    }
}

/// 住民票: one resident's record. `Debug` never shows the My Number.
#[derive(Debug, Clone, PartialEq)]
pub struct Resident {
    /// The municipality of the record.
    pub municipality: MunicipalityCode,
    /// 個人番号. Unique in the registry.
    pub my_number: MyNumber,
    /// 氏名.
    pub name: String,
    /// 氏名の振り仮名.
    pub name_kana: String,
    /// 住所.
    pub address: String,
    /// 生年月日.
    pub birth_date: NaiveDate,
    /// 性別.
    pub sex: Sex,
    /// 国籍: ISO 3166-1 alpha-2, `JP` for Japanese nationals.
    pub nationality: String,
    /// Japanese, permanent foreign resident, or foreign resident with a
    /// period of stay (在留期間満了日).
    pub residence: Residence,
    /// Where the record stands.
    pub status: ResidentStatus,
    /// Since when (the move-out, death or departure date).
    pub status_changed_on: Option<NaiveDate>,
    /// 印鑑登録: whether a seal is registered.
    pub seal_registered: bool,
    /// 本籍: Japanese nationals only.
    pub honseki: Option<String>,
    /// 世帯: the household the resident belongs to.
    pub household_id: Option<String>,
    /// 支援措置: protection measures (e.g. DV victims) restricting disclosure
    /// and kiosk issuance.
    pub support_measure: bool,
    /// 成年被後見人: an adult ward (no signature certificate by default).
    pub adult_ward: bool,
    /// The day the resident actually moved in (住所を定めた日).
    pub moved_in_on: Option<NaiveDate>,
    /// The day the move-in was notified (転入届).
    pub move_in_notified_on: Option<NaiveDate>,
    /// The planned move-out date of a filed move-out (転出予定日).
    pub planned_move_out_on: Option<NaiveDate>,
    /// The actual move-out date, once known.
    pub moved_out_on: Option<NaiveDate>,
}

/// A resident record as stored, with its id and version.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResident {
    /// The registry's id of the resident (what other records and the audit
    /// log refer to; never the My Number).
    pub id: i64,
    /// Incremented by every update; an update names the version it read.
    pub version: i64,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The record.
    pub resident: Resident,
}

impl Deref for StoredResident {
    type Target = Resident;
    fn deref(&self) -> &Resident {
        &self.resident
    }
}

const COLUMNS: &str = "id, version, created_at, updated_at, municipality_code, my_number, name, name_kana, address, \
     birth_date, sex, nationality, residence_kind, stay_until, status, status_changed_on, seal_registered, honseki, \
     household_id, support_measure, adult_ward, moved_in_on, move_in_notified_on, planned_move_out_on, moved_out_on";

fn residence_columns(residence: Residence) -> (&'static str, Option<NaiveDate>) {
    match residence {
        Residence::Japanese => ("japanese", None),
        Residence::ForeignPermanent => ("foreign_permanent", None),
        Residence::ForeignWithStay { stay_until } => ("foreign_with_stay", Some(stay_until)),
    }
}

fn residence_from(kind: &str, stay_until: Option<NaiveDate>) -> Result<Residence> {
    match (kind, stay_until) {
        ("japanese", _) => Ok(Residence::Japanese),
        ("foreign_permanent", _) => Ok(Residence::ForeignPermanent),
        ("foreign_with_stay", Some(stay_until)) => Ok(Residence::ForeignWithStay { stay_until }),
        _ => Err(StoreError::Corrupt(format!(
            "residents.residence_kind {kind:?} without its period of stay"
        ))),
    }
}

fn from_row(row: &Row) -> Result<StoredResident> {
    let municipality = row.text(4)?;
    let my_number = row.text(5)?;
    Ok(StoredResident {
        id: row.i64(0)?,
        version: row.i64(1)?,
        created_at: row.timestamp(2)?,
        updated_at: row.timestamp(3)?,
        resident: Resident {
            municipality: MunicipalityCode::parse(&municipality)
                .map_err(|e| StoreError::Corrupt(format!("residents.municipality_code: {e}")))?,
            // The message names the column, never the value.
            my_number: MyNumber::parse(&my_number)
                .map_err(|e| StoreError::Corrupt(format!("residents.my_number: {e}")))?,
            name: row.text(6)?,
            name_kana: row.text(7)?,
            address: row.text(8)?,
            birth_date: row.date(9)?,
            sex: enum_column(row, 10, Sex::parse)?,
            nationality: row.text(11)?,
            residence: residence_from(&row.text(12)?, row.opt_date(13)?)?,
            status: enum_column(row, 14, ResidentStatus::parse)?,
            status_changed_on: row.opt_date(15)?,
            seal_registered: row.bool(16)?,
            honseki: row.opt_text(17)?,
            household_id: row.opt_text(18)?,
            support_measure: row.bool(19)?,
            adult_ward: row.bool(20)?,
            moved_in_on: row.opt_date(21)?,
            move_in_notified_on: row.opt_date(22)?,
            planned_move_out_on: row.opt_date(23)?,
            moved_out_on: row.opt_date(24)?,
        },
    })
}

/// The values of columns 4… of [`COLUMNS`], in order.
fn record_values(r: &Resident) -> Vec<Value> {
    let (kind, stay_until) = residence_columns(r.residence);
    vec![
        Value::Text(r.municipality.to_string()),
        Value::Text(r.my_number.expose()),
        Value::from(&r.name),
        Value::from(&r.name_kana),
        Value::from(&r.address),
        Value::Date(r.birth_date),
        Value::from(r.sex.as_str()),
        Value::from(&r.nationality),
        Value::from(kind),
        Value::from(stay_until),
        Value::from(r.status.as_str()),
        Value::from(r.status_changed_on),
        Value::Bool(r.seal_registered),
        Value::from(r.honseki.clone()),
        Value::from(r.household_id.clone()),
        Value::Bool(r.support_measure),
        Value::Bool(r.adult_ward),
        Value::from(r.moved_in_on),
        Value::from(r.move_in_notified_on),
        Value::from(r.planned_move_out_on),
        Value::from(r.moved_out_on),
    ]
}

/// Adds a resident record (version 1, created and updated `now`).
/// [`StoreError::Conflict`] if the My Number is registered already.
pub fn insert_resident(tx: &mut Tx<'_>, resident: &Resident, now: DateTime<Utc>) -> Result<StoredResident> {
    let now = truncate_to_micros(now);
    let mut params = vec![Value::Timestamp(now)];
    params.extend(record_values(resident));
    let rows = tx.query(
        "INSERT INTO residents (created_at, updated_at, municipality_code, my_number, name, name_kana, address, \
         birth_date, sex, nationality, residence_kind, stay_until, status, status_changed_on, seal_registered, \
         honseki, household_id, support_measure, adult_ward, moved_in_on, move_in_notified_on, \
         planned_move_out_on, moved_out_on) \
         VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, \
         ?21, ?22) RETURNING id",
        &params,
    )?;
    Ok(StoredResident {
        id: returned_id(rows)?,
        version: 1,
        created_at: now,
        updated_at: now,
        resident: resident.clone(),
    })
}

/// A resident by id.
pub fn get_resident(tx: &mut Tx<'_>, id: i64) -> Result<Option<StoredResident>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM residents WHERE id = ?1"),
        &[Value::Int(id)],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// A resident by My Number (record the disclosure where one happens).
pub fn find_resident_by_my_number(tx: &mut Tx<'_>, my_number: &MyNumber) -> Result<Option<StoredResident>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM residents WHERE my_number = ?1"),
        &[Value::Text(my_number.expose())],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Writes `stored.resident` over the record if it is still at
/// `stored.version`, and answers the record at its new version.
/// [`StoreError::Stale`] if someone changed it since it was read,
/// [`StoreError::NotFound`] if there is no such resident.
pub fn update_resident(tx: &mut Tx<'_>, stored: &StoredResident, now: DateTime<Utc>) -> Result<StoredResident> {
    let now = truncate_to_micros(now);
    let mut params = vec![Value::Int(stored.id), Value::Int(stored.version), Value::Timestamp(now)];
    params.extend(record_values(&stored.resident));
    let changed = tx.execute(
        "UPDATE residents SET version = version + 1, updated_at = ?3, municipality_code = ?4, my_number = ?5, \
         name = ?6, name_kana = ?7, address = ?8, birth_date = ?9, sex = ?10, nationality = ?11, \
         residence_kind = ?12, stay_until = ?13, status = ?14, status_changed_on = ?15, seal_registered = ?16, \
         honseki = ?17, household_id = ?18, support_measure = ?19, adult_ward = ?20, moved_in_on = ?21, \
         move_in_notified_on = ?22, planned_move_out_on = ?23, moved_out_on = ?24 \
         WHERE id = ?1 AND version = ?2",
        &params,
    )?;
    if changed == 0 {
        return match get_resident(tx, stored.id)? {
            None => Err(StoreError::NotFound(format!("resident {}", stored.id))),
            Some(current) => Err(StoreError::Stale(format!(
                "resident {} is at version {}, not {}",
                stored.id, current.version, stored.version
            ))),
        };
    }
    Ok(StoredResident {
        id: stored.id,
        version: stored.version + 1,
        created_at: stored.created_at,
        updated_at: now,
        resident: stored.resident.clone(),
    })
}

/// Up to `limit` residents of a municipality with ids above `after_id`, by
/// id (page by passing the last id seen).
pub fn list_residents(
    tx: &mut Tx<'_>,
    municipality: MunicipalityCode,
    after_id: i64,
    limit: i64,
) -> Result<Vec<StoredResident>> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM residents WHERE municipality_code = ?1 AND id > ?2 ORDER BY id LIMIT ?3"),
        &[
            Value::Text(municipality.to_string()),
            Value::Int(after_id),
            Value::Int(limit),
        ],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// The members of a household (世帯), by id.
pub fn list_household(tx: &mut Tx<'_>, household_id: &str) -> Result<Vec<StoredResident>> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM residents WHERE household_id = ?1 ORDER BY id"),
        &[Value::from(household_id)],
    )?
    .iter()
    .map(from_row)
    .collect()
}
