//! 手数料: fees charged (rules.md §10).

use chrono::NaiveDate;
use mynacard_rules::fee::FeeCause;
use mynacard_rules::numbers::MunicipalityCode;

use super::{from_serde_name, returned_id, serde_name, Stored};
use crate::db::{Row, Tx, Value};
use crate::error::{Result, StoreError};

/// A fee charged for a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fee {
    /// Who pays.
    pub resident_id: i64,
    /// The municipality that charges it.
    pub municipality: MunicipalityCode,
    /// The application it is for.
    pub application_id: Option<i64>,
    /// Why the card is (re)issued.
    pub cause: FeeCause,
    /// The amount in yen (0 when free).
    pub amount_yen: i64,
    /// The receipt number, unique, once paid.
    pub receipt_number: Option<String>,
    /// The day it was paid.
    pub paid_on: Option<NaiveDate>,
}

const COLUMNS: &str = "id, resident_id, municipality_code, application_id, cause, amount_yen, receipt_number, paid_on";

fn from_row(row: &Row) -> Result<Stored<Fee>> {
    let municipality = row.text(2)?;
    Ok(Stored {
        id: row.i64(0)?,
        record: Fee {
            resident_id: row.i64(1)?,
            municipality: MunicipalityCode::parse(&municipality)
                .map_err(|e| StoreError::Corrupt(format!("fees.municipality_code: {e}")))?,
            application_id: row.opt_i64(3)?,
            cause: from_serde_name(row, 4)?,
            amount_yen: row.i64(5)?,
            receipt_number: row.opt_text(6)?,
            paid_on: row.opt_date(7)?,
        },
    })
}

/// Records a fee. [`StoreError::Conflict`] if the receipt number is used.
pub fn insert_fee(tx: &mut Tx<'_>, fee: &Fee) -> Result<Stored<Fee>> {
    let rows = tx.query(
        "INSERT INTO fees (resident_id, municipality_code, application_id, cause, amount_yen, receipt_number, paid_on) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        &[
            Value::Int(fee.resident_id),
            Value::Text(fee.municipality.to_string()),
            Value::from(fee.application_id),
            Value::Text(serde_name(&fee.cause)?),
            Value::Int(fee.amount_yen),
            Value::from(fee.receipt_number.clone()),
            Value::from(fee.paid_on),
        ],
    )?;
    Ok(Stored {
        id: returned_id(rows)?,
        record: fee.clone(),
    })
}

/// A fee by id.
pub fn get_fee(tx: &mut Tx<'_>, id: i64) -> Result<Option<Stored<Fee>>> {
    tx.query_opt(&format!("SELECT {COLUMNS} FROM fees WHERE id = ?1"), &[Value::Int(id)])?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Records the payment of an unpaid fee: answers false if it was paid
/// already. [`StoreError::Conflict`] if the receipt number is used.
pub fn record_fee_payment(tx: &mut Tx<'_>, id: i64, receipt_number: &str, paid_on: NaiveDate) -> Result<bool> {
    let changed = tx.execute(
        "UPDATE fees SET receipt_number = ?2, paid_on = ?3 WHERE id = ?1 AND paid_on IS NULL",
        &[Value::Int(id), Value::from(receipt_number), Value::Date(paid_on)],
    )?;
    if changed == 0 && get_fee(tx, id)?.is_none() {
        return Err(StoreError::NotFound(format!("fee {id}")));
    }
    Ok(changed == 1)
}

/// A resident's fees, oldest first.
pub fn list_fees(tx: &mut Tx<'_>, resident_id: i64) -> Result<Vec<Stored<Fee>>> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM fees WHERE resident_id = ?1 ORDER BY id"),
        &[Value::Int(resident_id)],
    )?
    .iter()
    .map(from_row)
    .collect()
}
