//! 市区町村: the municipalities.

use mynacard_rules::numbers::MunicipalityCode;

use crate::db::{Row, Tx, Value};
use crate::error::{Result, StoreError};

/// A municipality (市区町村 or 特別区).
#[derive(Debug, Clone, PartialEq)]
pub struct Municipality {
    /// 全国地方公共団体コード; the prefecture code is its first two digits.
    pub code: MunicipalityCode,
    /// The name in Japanese (千代田区).
    pub name_ja: String,
    /// The name in English (Chiyoda).
    pub name_en: String,
    /// The municipality's settings, a JSON object interpreted by the layers
    /// above, e.g. `{"kiosk": {"documents": {"residence_record": 200}}}`.
    pub settings: serde_json::Value,
}

const COLUMNS: &str = "code, name_ja, name_en, settings";

fn settings_text(m: &Municipality) -> Result<String> {
    if !m.settings.is_object() {
        return Err(StoreError::Constraint(
            "municipality settings must be a JSON object".into(),
        ));
    }
    Ok(m.settings.to_string())
}

fn from_row(row: &Row) -> Result<Municipality> {
    let code = row.text(0)?;
    let settings = row.text(3)?;
    Ok(Municipality {
        code: MunicipalityCode::parse(&code)
            .map_err(|e| StoreError::Corrupt(format!("municipalities.code {code:?}: {e}")))?,
        name_ja: row.text(1)?,
        name_en: row.text(2)?,
        settings: serde_json::from_str(&settings)
            .map_err(|e| StoreError::Corrupt(format!("municipalities.settings: {e}")))?,
    })
}

/// Adds a municipality ([`StoreError::Conflict`] if its code exists).
pub fn insert_municipality(tx: &mut Tx<'_>, m: &Municipality) -> Result<()> {
    tx.execute(
        "INSERT INTO municipalities (code, prefecture_code, name_ja, name_en, settings) VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            Value::Text(m.code.to_string()),
            Value::Int(i64::from(m.code.prefecture())),
            Value::from(&m.name_ja),
            Value::from(&m.name_en),
            Value::Text(settings_text(m)?),
        ],
    )?;
    Ok(())
}

/// A municipality by code.
pub fn get_municipality(tx: &mut Tx<'_>, code: MunicipalityCode) -> Result<Option<Municipality>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM municipalities WHERE code = ?1"),
        &[Value::Text(code.to_string())],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Replaces a municipality's names and settings.
pub fn update_municipality(tx: &mut Tx<'_>, m: &Municipality) -> Result<()> {
    let changed = tx.execute(
        "UPDATE municipalities SET name_ja = ?2, name_en = ?3, settings = ?4 WHERE code = ?1",
        &[
            Value::Text(m.code.to_string()),
            Value::from(&m.name_ja),
            Value::from(&m.name_en),
            Value::Text(settings_text(m)?),
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("municipality {}", m.code)));
    }
    Ok(())
}

/// Every municipality, by code.
pub fn list_municipalities(tx: &mut Tx<'_>) -> Result<Vec<Municipality>> {
    tx.query(&format!("SELECT {COLUMNS} FROM municipalities ORDER BY code"), &[])?
        .iter()
        .map(from_row)
        .collect()
}
