//! 交付申請: applications for a card.

use chrono::NaiveDate;
use mynacard_rules::fee::FeeCause;
use mynacard_rules::numbers::MunicipalityCode;

use super::{enum_column, opt_from_serde_name, returned_id, serde_name, text_enum, Stored};
use crate::db::{Row, Tx, Value};
use crate::error::{Result, StoreError};

text_enum! {
    /// What is applied for.
    pub enum ApplicationKind {
        /// 新規交付: a first card.
        New => "new",
        /// 更新: a new card for an expiring one.
        Renewal => "renewal",
        /// 再交付: a replacement (loss, damage, full surface, …).
        Reissue => "reissue",
    }
}

text_enum! {
    /// How the application came in.
    pub enum ApplicationChannel {
        /// At the municipal window.
        Window => "window",
        /// Online (smartphone, PC, photo booth).
        Online => "online",
        /// By mail.
        Mail => "mail",
    }
}

text_enum! {
    /// Where the application stands.
    pub enum ApplicationStatus {
        /// Received by the municipality.
        Received => "received",
        /// J-LIS is producing the card.
        InProduction => "in_production",
        /// The card is produced and waits at the window.
        Produced => "produced",
        /// The card was delivered (交付).
        Delivered => "delivered",
        /// Withdrawn by the applicant.
        Cancelled => "cancelled",
        /// Refused.
        Refused => "refused",
    }
}

/// 交付申請: an application for a card.
#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    /// The applicant.
    pub resident_id: i64,
    /// The municipality that received it.
    pub municipality: MunicipalityCode,
    /// New, renewal or reissue.
    pub kind: ApplicationKind,
    /// Window, online or mail.
    pub channel: ApplicationChannel,
    /// The day it was received.
    pub received_on: NaiveDate,
    /// The day J-LIS received it (J-LIS受付日): it chooses the age regime of
    /// the card's validity (rules.md §2).
    pub jlis_received_on: Option<NaiveDate>,
    /// 顔認証マイナンバーカード wanted.
    pub face_recognition: bool,
    /// Whether the signature certificate is wanted (never with a
    /// face-recognition card).
    pub signature_wanted: bool,
    /// Where it stands.
    pub status: ApplicationStatus,
    /// For a reissue: why (loss, theft, fire, damage, malfunction,
    /// full_entries, stay_expired).
    pub reissue_cause: Option<FeeCause>,
    /// A reference to the photo (顔写真) kept elsewhere.
    pub photo_ref: Option<String>,
}

const COLUMNS: &str = "id, resident_id, municipality_code, kind, channel, received_on, jlis_received_on, \
     face_recognition, signature_wanted, status, reissue_cause, photo_ref";

fn from_row(row: &Row) -> Result<Stored<Application>> {
    let municipality = row.text(2)?;
    Ok(Stored {
        id: row.i64(0)?,
        record: Application {
            resident_id: row.i64(1)?,
            municipality: MunicipalityCode::parse(&municipality)
                .map_err(|e| StoreError::Corrupt(format!("applications.municipality_code: {e}")))?,
            kind: enum_column(row, 3, ApplicationKind::parse)?,
            channel: enum_column(row, 4, ApplicationChannel::parse)?,
            received_on: row.date(5)?,
            jlis_received_on: row.opt_date(6)?,
            face_recognition: row.bool(7)?,
            signature_wanted: row.bool(8)?,
            status: enum_column(row, 9, ApplicationStatus::parse)?,
            reissue_cause: opt_from_serde_name(row, 10)?,
            photo_ref: row.opt_text(11)?,
        },
    })
}

fn values(a: &Application) -> Result<Vec<Value>> {
    Ok(vec![
        Value::Int(a.resident_id),
        Value::Text(a.municipality.to_string()),
        Value::from(a.kind.as_str()),
        Value::from(a.channel.as_str()),
        Value::Date(a.received_on),
        Value::from(a.jlis_received_on),
        Value::Bool(a.face_recognition),
        Value::Bool(a.signature_wanted),
        Value::from(a.status.as_str()),
        Value::from(a.reissue_cause.as_ref().map(serde_name).transpose()?),
        Value::from(a.photo_ref.clone()),
    ])
}

/// Records an application.
pub fn insert_application(tx: &mut Tx<'_>, application: &Application) -> Result<Stored<Application>> {
    let rows = tx.query(
        "INSERT INTO applications (resident_id, municipality_code, kind, channel, received_on, jlis_received_on, \
         face_recognition, signature_wanted, status, reissue_cause, photo_ref) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
        &values(application)?,
    )?;
    Ok(Stored {
        id: returned_id(rows)?,
        record: application.clone(),
    })
}

/// An application by id.
pub fn get_application(tx: &mut Tx<'_>, id: i64) -> Result<Option<Stored<Application>>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM applications WHERE id = ?1"),
        &[Value::Int(id)],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Writes an application over the stored one with its id.
pub fn update_application(tx: &mut Tx<'_>, application: &Stored<Application>) -> Result<()> {
    let mut params = vec![Value::Int(application.id)];
    params.extend(values(application)?);
    let changed = tx.execute(
        "UPDATE applications SET resident_id = ?2, municipality_code = ?3, kind = ?4, channel = ?5, \
         received_on = ?6, jlis_received_on = ?7, face_recognition = ?8, signature_wanted = ?9, status = ?10, \
         reissue_cause = ?11, photo_ref = ?12 WHERE id = ?1",
        &params,
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("application {}", application.id)));
    }
    Ok(())
}

/// A resident's applications, oldest first.
pub fn list_applications(tx: &mut Tx<'_>, resident_id: i64) -> Result<Vec<Stored<Application>>> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM applications WHERE resident_id = ?1 ORDER BY received_on, id"),
        &[Value::Int(resident_id)],
    )?
    .iter()
    .map(from_row)
    .collect()
}
