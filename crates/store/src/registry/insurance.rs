//! 資格情報: health-insurance eligibility, answered to medical institutions
//! (オンライン資格確認).

use chrono::NaiveDate;

use super::{returned_id, Stored};
use crate::db::{Row, Tx, Value};
use crate::error::Result;

/// One period of insurance eligibility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsuranceEligibility {
    /// The insured person.
    pub resident_id: i64,
    /// 保険者番号: 6 or 8 digits.
    pub insurer_number: String,
    /// 記号.
    pub symbol: String,
    /// 番号.
    pub number: String,
    /// 枝番.
    pub branch: Option<String>,
    /// The first day of eligibility.
    pub valid_from: NaiveDate,
    /// The last day, if it ended.
    pub valid_to: Option<NaiveDate>,
}

const COLUMNS: &str = "id, resident_id, insurer_number, symbol, number, branch, valid_from, valid_to";

fn from_row(row: &Row) -> Result<Stored<InsuranceEligibility>> {
    Ok(Stored {
        id: row.i64(0)?,
        record: InsuranceEligibility {
            resident_id: row.i64(1)?,
            insurer_number: row.text(2)?,
            symbol: row.text(3)?,
            number: row.text(4)?,
            branch: row.opt_text(5)?,
            valid_from: row.date(6)?,
            valid_to: row.opt_date(7)?,
        },
    })
}

/// Records a period of eligibility.
pub fn insert_insurance_eligibility(tx: &mut Tx<'_>, e: &InsuranceEligibility) -> Result<Stored<InsuranceEligibility>> {
    let rows = tx.query(
        "INSERT INTO insurance_eligibility (resident_id, insurer_number, symbol, number, branch, valid_from, valid_to) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        &[
            Value::Int(e.resident_id),
            Value::from(&e.insurer_number),
            Value::from(&e.symbol),
            Value::from(&e.number),
            Value::from(e.branch.clone()),
            Value::Date(e.valid_from),
            Value::from(e.valid_to),
        ],
    )?;
    Ok(Stored {
        id: returned_id(rows)?,
        record: e.clone(),
    })
}

/// A person's periods of eligibility, oldest first.
pub fn list_insurance_eligibility(tx: &mut Tx<'_>, resident_id: i64) -> Result<Vec<Stored<InsuranceEligibility>>> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM insurance_eligibility WHERE resident_id = ?1 ORDER BY valid_from, id"),
        &[Value::Int(resident_id)],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// The periods of eligibility that cover `on`.
pub fn eligibility_on(tx: &mut Tx<'_>, resident_id: i64, on: NaiveDate) -> Result<Vec<Stored<InsuranceEligibility>>> {
    tx.query(
        &format!(
            "SELECT {COLUMNS} FROM insurance_eligibility WHERE resident_id = ?1 AND valid_from <= ?2 \
             AND (valid_to IS NULL OR valid_to >= ?2) ORDER BY valid_from, id"
        ),
        &[Value::Int(resident_id), Value::Date(on)],
    )?
    .iter()
    .map(from_row)
    .collect()
}
