//! The disclosure log (開示記録): every access to a holder's My Number and
//! records, by whom and why. The holder reads it in the portal; it is
//! append-only (triggers refuse `UPDATE` and `DELETE`). Record the
//! disclosure in the same transaction as the read it accounts for.

use chrono::{DateTime, Utc};

use crate::db::{truncate_to_micros, Row, Tx, Value};
use crate::error::{Result, StoreError};
use crate::registry::Stored;

/// One disclosure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosure {
    /// When (kept to the microsecond).
    pub at: DateTime<Utc>,
    /// Who saw it: `staff:…`, `relying_party:…`, `medical:…`, …
    pub actor: String,
    /// Whose records.
    pub resident_id: i64,
    /// Why: the procedure that legally required it.
    pub purpose: String,
    /// Which fields were disclosed (`my_number`, `address`, …).
    pub fields: Vec<String>,
}

/// Records a disclosure and answers its id.
pub fn record(tx: &mut Tx<'_>, disclosure: &Disclosure) -> Result<i64> {
    let fields = serde_json::to_string(&disclosure.fields)
        .map_err(|e| StoreError::Constraint(format!("disclosed fields: {e}")))?;
    tx.query_one(
        "INSERT INTO disclosure_log (at, actor, resident_id, purpose, fields) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        &[
            Value::Timestamp(truncate_to_micros(disclosure.at)),
            Value::from(&disclosure.actor),
            Value::Int(disclosure.resident_id),
            Value::from(&disclosure.purpose),
            Value::Text(fields),
        ],
    )?
    .i64(0)
}

fn from_row(row: &Row) -> Result<Stored<Disclosure>> {
    let fields = row.text(5)?;
    Ok(Stored {
        id: row.i64(0)?,
        record: Disclosure {
            at: row.timestamp(1)?,
            actor: row.text(2)?,
            resident_id: row.i64(3)?,
            purpose: row.text(4)?,
            fields: serde_json::from_str(&fields)
                .map_err(|e| StoreError::Corrupt(format!("disclosure_log.fields: {e}")))?,
        },
    })
}

/// A resident's disclosures, oldest first.
pub fn list_for_resident(tx: &mut Tx<'_>, resident_id: i64) -> Result<Vec<Stored<Disclosure>>> {
    tx.query(
        "SELECT id, at, actor, resident_id, purpose, fields FROM disclosure_log
         WHERE resident_id = ?1 ORDER BY at, id",
        &[Value::Int(resident_id)],
    )?
    .iter()
    .map(from_row)
    .collect()
}
