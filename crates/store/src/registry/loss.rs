//! 紛失届: loss reports.

use chrono::{DateTime, Utc};

use super::{enum_column, returned_id, text_enum, Stored};
use crate::db::{truncate_to_micros, Row, Tx, Value};
use crate::error::{Result, StoreError};

text_enum! {
    /// Where the loss was reported.
    pub enum LossChannel {
        /// マイナンバー総合フリーダイヤル, any hour.
        Hotline => "hotline",
        /// The municipal window.
        Window => "window",
        /// The police (遺失届).
        Police => "police",
    }
}

text_enum! {
    /// What happened to the card.
    pub enum LossCause {
        /// 紛失.
        Loss => "loss",
        /// 盗難.
        Theft => "theft",
        /// 焼失.
        Fire => "fire",
    }
}

text_enum! {
    /// Where a report stands.
    pub enum LossReportStatus {
        /// Reported; the card is suspended.
        Open => "open",
        /// The card was found again.
        Found => "found",
        /// A new card was applied for.
        Reissued => "reissued",
        /// Closed otherwise.
        Closed => "closed",
    }
}

/// A loss report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossReport {
    /// The holder.
    pub resident_id: i64,
    /// The card reported, when identified.
    pub card_serial: Option<String>,
    /// Where it was reported.
    pub channel: LossChannel,
    /// Loss, theft or fire.
    pub cause: LossCause,
    /// When.
    pub reported_at: DateTime<Utc>,
    /// The operator or staff member who took it.
    pub reported_by: String,
    /// 遺失届の受理番号: the police receipt number.
    pub police_receipt_number: Option<String>,
    /// 罹災証明書: the disaster certificate's number.
    pub disaster_certificate: Option<String>,
    /// When the card was found again.
    pub found_at: Option<DateTime<Utc>>,
    /// Where the report stands.
    pub status: LossReportStatus,
}

const COLUMNS: &str = "id, resident_id, card_serial, channel, cause, reported_at, reported_by, \
     police_receipt_number, disaster_certificate, found_at, status";

fn from_row(row: &Row) -> Result<Stored<LossReport>> {
    Ok(Stored {
        id: row.i64(0)?,
        record: LossReport {
            resident_id: row.i64(1)?,
            card_serial: row.opt_text(2)?,
            channel: enum_column(row, 3, LossChannel::parse)?,
            cause: enum_column(row, 4, LossCause::parse)?,
            reported_at: row.timestamp(5)?,
            reported_by: row.text(6)?,
            police_receipt_number: row.opt_text(7)?,
            disaster_certificate: row.opt_text(8)?,
            found_at: row.opt_timestamp(9)?,
            status: enum_column(row, 10, LossReportStatus::parse)?,
        },
    })
}

fn values(r: &LossReport) -> Vec<Value> {
    vec![
        Value::Int(r.resident_id),
        Value::from(r.card_serial.clone()),
        Value::from(r.channel.as_str()),
        Value::from(r.cause.as_str()),
        Value::Timestamp(truncate_to_micros(r.reported_at)),
        Value::from(&r.reported_by),
        Value::from(r.police_receipt_number.clone()),
        Value::from(r.disaster_certificate.clone()),
        Value::from(r.found_at.map(truncate_to_micros)),
        Value::from(r.status.as_str()),
    ]
}

/// Records a loss report.
pub fn insert_loss_report(tx: &mut Tx<'_>, report: &LossReport) -> Result<Stored<LossReport>> {
    let rows = tx.query(
        "INSERT INTO loss_reports (resident_id, card_serial, channel, cause, reported_at, reported_by, \
         police_receipt_number, disaster_certificate, found_at, status) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
        &values(report),
    )?;
    let mut record = report.clone();
    record.reported_at = truncate_to_micros(record.reported_at);
    record.found_at = record.found_at.map(truncate_to_micros);
    Ok(Stored {
        id: returned_id(rows)?,
        record,
    })
}

/// A loss report by id.
pub fn get_loss_report(tx: &mut Tx<'_>, id: i64) -> Result<Option<Stored<LossReport>>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM loss_reports WHERE id = ?1"),
        &[Value::Int(id)],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Writes a loss report over the stored one with its id (found, evidence
/// added, closed).
pub fn update_loss_report(tx: &mut Tx<'_>, report: &Stored<LossReport>) -> Result<()> {
    let mut params = vec![Value::Int(report.id)];
    params.extend(values(report));
    let changed = tx.execute(
        "UPDATE loss_reports SET resident_id = ?2, card_serial = ?3, channel = ?4, cause = ?5, reported_at = ?6, \
         reported_by = ?7, police_receipt_number = ?8, disaster_certificate = ?9, found_at = ?10, status = ?11 \
         WHERE id = ?1",
        &params,
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("loss report {}", report.id)));
    }
    Ok(())
}

/// A resident's loss reports, oldest first.
pub fn list_loss_reports(tx: &mut Tx<'_>, resident_id: i64) -> Result<Vec<Stored<LossReport>>> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM loss_reports WHERE resident_id = ?1 ORDER BY reported_at, id"),
        &[Value::Int(resident_id)],
    )?
    .iter()
    .map(from_row)
    .collect()
}
