//! The nightly batch's progress: one row per run date and step, with a
//! cursor, so that a run interrupted by a crash resumes where it stopped.
//! Save the cursor in the same transaction as the work it covers.

use chrono::{DateTime, NaiveDate, Utc};

use super::{enum_column, text_enum};
use crate::db::{truncate_to_micros, Row, Tx, Value};
use crate::error::{Result, StoreError};

text_enum! {
    /// Where a step stands.
    pub enum BatchStatus {
        /// Started, not finished (or interrupted).
        Running => "running",
        /// Finished.
        Done => "done",
        /// Gave up; the next start resumes it.
        Failed => "failed",
    }
}

/// One step of one night's batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRun {
    /// The day the batch runs for.
    pub run_date: NaiveDate,
    /// The step (`notices`, `lapses`, `expiries`, …).
    pub step: String,
    /// Where the step got to (e.g. the last serial done).
    pub cursor: Option<String>,
    /// How many items it has done.
    pub processed: i64,
    /// Where it stands.
    pub status: BatchStatus,
    /// When it first started.
    pub started_at: DateTime<Utc>,
    /// When it last saved progress.
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "run_date, step, cursor, processed, status, started_at, updated_at";

fn from_row(row: &Row) -> Result<BatchRun> {
    Ok(BatchRun {
        run_date: row.date(0)?,
        step: row.text(1)?,
        cursor: row.opt_text(2)?,
        processed: row.i64(3)?,
        status: enum_column(row, 4, BatchStatus::parse)?,
        started_at: row.timestamp(5)?,
        updated_at: row.timestamp(6)?,
    })
}

/// A step's progress.
pub fn get_batch_run(tx: &mut Tx<'_>, run_date: NaiveDate, step: &str) -> Result<Option<BatchRun>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM batch_runs WHERE run_date = ?1 AND step = ?2"),
        &[Value::Date(run_date), Value::from(step)],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Starts a step, or resumes it: a new step starts with no cursor; a
/// running or failed one is (again) running with its cursor kept; a done
/// one is answered as it is (the caller skips it).
pub fn start_batch_step(tx: &mut Tx<'_>, run_date: NaiveDate, step: &str, at: DateTime<Utc>) -> Result<BatchRun> {
    let at = truncate_to_micros(at);
    tx.execute(
        "INSERT INTO batch_runs (run_date, step, cursor, processed, status, started_at, updated_at) \
         VALUES (?1, ?2, NULL, 0, 'running', ?3, ?3) ON CONFLICT (run_date, step) DO NOTHING",
        &[Value::Date(run_date), Value::from(step), Value::Timestamp(at)],
    )?;
    tx.execute(
        "UPDATE batch_runs SET status = 'running', updated_at = ?3 \
         WHERE run_date = ?1 AND step = ?2 AND status = 'failed'",
        &[Value::Date(run_date), Value::from(step), Value::Timestamp(at)],
    )?;
    get_batch_run(tx, run_date, step)?.ok_or_else(|| StoreError::NotFound(format!("batch step {step} of {run_date}")))
}

/// Saves a running step's cursor and count.
pub fn save_batch_progress(
    tx: &mut Tx<'_>,
    run_date: NaiveDate,
    step: &str,
    cursor: Option<&str>,
    processed: i64,
    at: DateTime<Utc>,
) -> Result<()> {
    let changed = tx.execute(
        "UPDATE batch_runs SET cursor = ?3, processed = ?4, updated_at = ?5 \
         WHERE run_date = ?1 AND step = ?2 AND status = 'running'",
        &[
            Value::Date(run_date),
            Value::from(step),
            Value::from(cursor),
            Value::Int(processed),
            Value::Timestamp(truncate_to_micros(at)),
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("running batch step {step} of {run_date}")));
    }
    Ok(())
}

/// Ends a step as done or failed.
pub fn finish_batch_step(
    tx: &mut Tx<'_>,
    run_date: NaiveDate,
    step: &str,
    status: BatchStatus,
    at: DateTime<Utc>,
) -> Result<()> {
    let changed = tx.execute(
        "UPDATE batch_runs SET status = ?3, updated_at = ?4 WHERE run_date = ?1 AND step = ?2",
        &[
            Value::Date(run_date),
            Value::from(step),
            Value::from(status.as_str()),
            Value::Timestamp(truncate_to_micros(at)),
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("batch step {step} of {run_date}")));
    }
    Ok(())
}

/// The steps of a run date, by step.
pub fn list_batch_runs(tx: &mut Tx<'_>, run_date: NaiveDate) -> Result<Vec<BatchRun>> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM batch_runs WHERE run_date = ?1 ORDER BY step"),
        &[Value::Date(run_date)],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// The latest date before `before` on which `step` finished (`None` if it
/// never did): where a daily step that covers "since the last run" starts.
pub fn last_finished_batch_date(tx: &mut Tx<'_>, step: &str, before: NaiveDate) -> Result<Option<NaiveDate>> {
    tx.query_one(
        "SELECT MAX(run_date) FROM batch_runs WHERE step = ?1 AND status = 'done' AND run_date < ?2",
        &[Value::from(step), Value::Date(before)],
    )?
    .opt_date(0)
}
