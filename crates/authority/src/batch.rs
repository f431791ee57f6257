//! The nightly batch (夜間バッチ): lapses, expiries of cards and
//! certificates, renewal notices, reconciliation — idempotent and resumable.
//!
//! [`Authority::run_daily_batch`] runs the steps of one day in order:
//!
//! 1. `reconcile` — [`Authority::reconcile`]: what a crash left between an
//!    operation's effects and its record.
//! 2. `lapses` — [`Authority::lapse_due`]: cards whose lapse date (失効日,
//!    rules.md §7) has come; audited per card there.
//! 3. `card_expiries` — cards in use whose 有効期限 is before the day become
//!    `expired`.
//! 4. `certificate_expiries` — good or held certificates whose last valid
//!    day is before the day become `expired`. In the registry only: expiry
//!    is not revocation, the CA's records do not change (a relying party
//!    sees the expiry in the certificate itself).
//! 5. `card_notices`, `certificate_notices` — 有効期限通知書 queued for cards
//!    and card certificates whose notice date (rules.md §5, policy
//!    `notice_lead`) is the day or earlier, once per (subject, kind, expiry):
//!    the registry's unique index makes a second queueing a no-op. Foreign
//!    residents with a period of stay (在留期間) get none. Smartphone
//!    certificates get none by mail (their app reminds the holder). A card
//!    and its certificates expiring the same day get one notice each; the
//!    mailing stage may put those addressed to one resident in one envelope.
//! 6. `idempotency_purge` — idempotency records older than the retention
//!    ([`BatchOptions::idempotency_retention`], 7 days by default) are
//!    forgotten, in slices of an hour of creation time (the cursor is the
//!    end of the last slice).
//!
//! ## Pages, cursors, resumption
//!
//! Every step keeps a row in `batch_runs` (run date, step): started,
//! resumed, done. The scanning steps work in pages of at most
//! [`BatchOptions::page_size`] rows (500 by default), walking the expiry
//! dates in windows of days and each day's rows by serial (see `Walk`);
//! each page's effects and the step's cursor and count commit in **one**
//! transaction, and the last page also marks the step done and appends the
//! step's audit entry (a summary with the count, not one entry per row, to
//! keep the chain small). Nothing is loaded whole: a million cards are two
//! thousand short transactions, and no query sorts much more than a page.
//!
//! A crash mid-step leaves the step `running` with the cursor of the last
//! committed page; the next run of the day resumes after it. A step that
//! fails is marked `failed` and resumed the same way. Each page's effects
//! are idempotent by state as well (a card moves only from the status it
//! was read in, a notice is queued once), so even a page replayed from an
//! older cursor changes nothing twice. A day whose steps are all done is
//! not run again: a rerun answers zero counts and appends nothing.
//!
//! Two batch processes for the same day at once are not guarded against
//! beyond that idempotence (run the batch from one scheduler).
//!
//! All reads and writes go through the store's functions (no SQL here); the
//! scans use its cursor-paged queries over the partial indexes on expiry
//! dates. The store offers no counts, so a scanning step's progress has no
//! total until it ends.

use std::collections::HashMap;

use chrono::{DateTime, Months, NaiveDate, SecondsFormat, TimeDelta, Utc};
use mynacard_rules::card::Residence;
use mynacard_rules::renewal::notice_date;
use mynacard_rules::Policies;
use mynacard_store::registry::{
    self, BatchRun, BatchStatus, CardStatus, CertificateStatus, Notice, NoticeKind, NoticeSubject,
};
use mynacard_store::{audit, idempotency, Tx};
use serde::Serialize;
use serde_json::json;

use crate::actor::Actor;
use crate::error::AuthorityError;
use crate::Authority;

/// Rows per page (and so per transaction) by default.
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// How long idempotency records are kept by default.
pub const DEFAULT_IDEMPOTENCY_RETENTION: TimeDelta = TimeDelta::days(7);

/// The slice of creation time purged per transaction.
const PURGE_SLICE: TimeDelta = TimeDelta::hours(1);

/// The earliest day the expiry scans look at (no card or certificate of the
/// system expires before it).
fn floor_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default()
}

/// How the batch runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOptions {
    /// Rows per page and transaction (at least 1).
    pub page_size: u32,
    /// Idempotency records older than this are purged.
    pub idempotency_retention: TimeDelta,
}

impl Default for BatchOptions {
    fn default() -> BatchOptions {
        BatchOptions {
            page_size: DEFAULT_PAGE_SIZE,
            idempotency_retention: DEFAULT_IDEMPOTENCY_RETENTION,
        }
    }
}

/// A step of the nightly batch, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStep {
    /// Reconciliation of the CA and card store with the registry.
    Reconcile,
    /// 失効: cards whose lapse date has come.
    Lapses,
    /// Cards past their 有効期限.
    CardExpiries,
    /// Certificates past their last valid day.
    CertificateExpiries,
    /// 有効期限通知書 for cards.
    CardNotices,
    /// 有効期限通知書 for certificates.
    CertificateNotices,
    /// Idempotency records past the retention.
    IdempotencyPurge,
}

impl BatchStep {
    /// Every step, in order.
    pub const ALL: [BatchStep; 7] = [
        BatchStep::Reconcile,
        BatchStep::Lapses,
        BatchStep::CardExpiries,
        BatchStep::CertificateExpiries,
        BatchStep::CardNotices,
        BatchStep::CertificateNotices,
        BatchStep::IdempotencyPurge,
    ];

    /// The step's name in `batch_runs` and in the audit log (`batch.NAME`).
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStep::Reconcile => "reconcile",
            BatchStep::Lapses => "lapses",
            BatchStep::CardExpiries => "card_expiries",
            BatchStep::CertificateExpiries => "certificate_expiries",
            BatchStep::CardNotices => "card_notices",
            BatchStep::CertificateNotices => "certificate_notices",
            BatchStep::IdempotencyPurge => "idempotency_purge",
        }
    }
}

impl std::fmt::Display for BatchStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the batch is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchProgress {
    /// The step running.
    pub step: BatchStep,
    /// Items looked at so far in this step (this run).
    pub done: u64,
    /// Items the step expects to look at, when known (the lapses; a
    /// scanning step's once it ends).
    pub total: Option<u64>,
}

/// What became of a step in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    /// Started and finished now.
    Ran,
    /// Found started by an earlier, interrupted run; finished now.
    Resumed,
    /// Done by an earlier run of the day: nothing to do.
    AlreadyDone,
}

/// One step of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StepReport {
    /// The step.
    pub step: BatchStep,
    /// What became of it.
    pub outcome: StepOutcome,
    /// What it changed in this run.
    pub count: u64,
}

/// What one run of the nightly batch did: counts of this run (a step
/// resumed counts what it did since resuming; the step's audit entry has
/// its whole count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchReport {
    /// The day the batch ran for.
    pub date: NaiveDate,
    /// Leftovers reconciled (certificates revoked, statuses pushed, productions finished or discarded).
    pub reconciled: u64,
    /// Cards lapsed (失効).
    pub lapsed: u64,
    /// Cards expired.
    pub cards_expired: u64,
    /// Certificates expired.
    pub certificates_expired: u64,
    /// Card notices (有効期限通知書) queued.
    pub card_notices: u64,
    /// Certificate notices queued.
    pub certificate_notices: u64,
    /// Idempotency records purged.
    pub idempotency_purged: u64,
    /// Every step, in order.
    pub steps: Vec<StepReport>,
}

impl BatchReport {
    fn new(date: NaiveDate) -> BatchReport {
        BatchReport {
            date,
            reconciled: 0,
            lapsed: 0,
            cards_expired: 0,
            certificates_expired: 0,
            card_notices: 0,
            certificate_notices: 0,
            idempotency_purged: 0,
            steps: Vec::new(),
        }
    }

    fn add(&mut self, step: BatchStep, outcome: StepOutcome, count: u64) {
        *self.count_mut(step) += count;
        self.steps.push(StepReport { step, outcome, count });
    }

    fn count_mut(&mut self, step: BatchStep) -> &mut u64 {
        match step {
            BatchStep::Reconcile => &mut self.reconciled,
            BatchStep::Lapses => &mut self.lapsed,
            BatchStep::CardExpiries => &mut self.cards_expired,
            BatchStep::CertificateExpiries => &mut self.certificates_expired,
            BatchStep::CardNotices => &mut self.card_notices,
            BatchStep::CertificateNotices => &mut self.certificate_notices,
            BatchStep::IdempotencyPurge => &mut self.idempotency_purged,
        }
    }

    /// What `step` changed in this run.
    pub fn count(&self, step: BatchStep) -> u64 {
        self.steps.iter().filter(|s| s.step == step).map(|s| s.count).sum()
    }

    /// Everything changed in this run.
    pub fn total(&self) -> u64 {
        self.steps.iter().map(|s| s.count).sum()
    }
}

/// One page of a scanning step.
struct Page {
    /// Rows read.
    scanned: usize,
    /// Rows changed (the step's count).
    changed: u64,
    /// The cursor to save (`None`: keep the cursor).
    last: Option<String>,
    /// Whether this was the step's last page.
    finished: bool,
}

impl Authority {
    /// Runs the nightly batch for `date` with the default options (see the
    /// module documentation).
    pub fn run_daily_batch(
        &self,
        date: NaiveDate,
        progress: &mut dyn FnMut(BatchProgress),
    ) -> Result<BatchReport, AuthorityError> {
        self.run_daily_batch_with(date, &BatchOptions::default(), progress)
    }

    /// Runs the nightly batch for `date` with `options`.
    pub fn run_daily_batch_with(
        &self,
        date: NaiveDate,
        options: &BatchOptions,
        progress: &mut dyn FnMut(BatchProgress),
    ) -> Result<BatchReport, AuthorityError> {
        if options.page_size == 0 {
            return Err(AuthorityError::BadRequest("the batch's page size is at least 1".into()));
        }
        if options.idempotency_retention < TimeDelta::zero() {
            return Err(AuthorityError::BadRequest(
                "the idempotency retention is not negative".into(),
            ));
        }
        let mut report = BatchReport::new(date);
        for step in BatchStep::ALL {
            let (outcome, count) = self.batch_step(date, step, options, progress)?;
            report.add(step, outcome, count);
        }
        Ok(report)
    }

    /// Starts (or resumes, or skips) one step and runs it.
    fn batch_step(
        &self,
        date: NaiveDate,
        step: BatchStep,
        options: &BatchOptions,
        progress: &mut dyn FnMut(BatchProgress),
    ) -> Result<(StepOutcome, u64), AuthorityError> {
        let now = self.clock.now();
        let (existed, run) = self.db.transaction(|tx| {
            let existed = registry::get_batch_run(tx, date, step.as_str())?.is_some();
            let run = registry::start_batch_step(tx, date, step.as_str(), now)?;
            Ok::<_, AuthorityError>((existed, run))
        })?;
        if run.status == BatchStatus::Done {
            return Ok((StepOutcome::AlreadyDone, 0));
        }
        let outcome = if existed {
            StepOutcome::Resumed
        } else {
            StepOutcome::Ran
        };
        let result = match step {
            BatchStep::Reconcile => self.reconcile_step(date, progress),
            BatchStep::Lapses => self.lapse_step(date, progress),
            _ => self.paged_step(date, step, &run, options, progress),
        };
        match result {
            Ok(count) => Ok((outcome, count)),
            Err(e) => {
                // The next run resumes it (from its cursor, if it has one).
                // If even this fails, the step stays `running`: the same.
                let at = self.clock.now();
                let _ = self
                    .db
                    .transaction(|tx| registry::finish_batch_step(tx, date, step.as_str(), BatchStatus::Failed, at));
                Err(e)
            }
        }
    }

    fn reconcile_step(&self, date: NaiveDate, progress: &mut dyn FnMut(BatchProgress)) -> Result<u64, AuthorityError> {
        let step = BatchStep::Reconcile;
        progress(BatchProgress {
            step,
            done: 0,
            total: None,
        });
        let done = self.reconcile()?;
        let count = (done.orphan_certificates_revoked.len()
            + done.statuses_pushed.len()
            + done.productions_finished.len()
            + done.productions_discarded.len()) as u64;
        self.finish_step(
            date,
            step,
            count,
            json!({
                "date": date,
                "count": count,
                "orphan_certificates_revoked": done.orphan_certificates_revoked.len(),
                "statuses_pushed": done.statuses_pushed.len(),
                "productions_finished": done.productions_finished.len(),
                "productions_discarded": done.productions_discarded.len(),
            }),
        )?;
        progress(BatchProgress {
            step,
            done: count,
            total: Some(count),
        });
        Ok(count)
    }

    fn lapse_step(&self, date: NaiveDate, progress: &mut dyn FnMut(BatchProgress)) -> Result<u64, AuthorityError> {
        let step = BatchStep::Lapses;
        progress(BatchProgress {
            step,
            done: 0,
            total: None,
        });
        let lapsed = self.lapse_due(date, &mut |done, total| {
            progress(BatchProgress {
                step,
                done,
                total: Some(total),
            })
        })?;
        let count = lapsed.len() as u64;
        let mut reasons: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for l in &lapsed {
            *reasons.entry(l.reason.as_str()).or_default() += 1;
        }
        self.finish_step(
            date,
            step,
            count,
            json!({"date": date, "count": count, "reasons": reasons}),
        )?;
        Ok(count)
    }

    /// Ends a step that is not paged: its count, done, its audit entry — one transaction.
    fn finish_step(
        &self,
        date: NaiveDate,
        step: BatchStep,
        count: u64,
        details: serde_json::Value,
    ) -> Result<(), AuthorityError> {
        let at = self.clock.now();
        let processed = i64::try_from(count).unwrap_or(i64::MAX);
        self.db.transaction(|tx| {
            registry::save_batch_progress(tx, date, step.as_str(), None, processed, at)?;
            self.close_step(tx, date, step, details.clone(), at)
        })
    }

    /// Marks a step done and appends its summary to the audit log, inside
    /// the caller's transaction.
    fn close_step(
        &self,
        tx: &mut Tx<'_>,
        date: NaiveDate,
        step: BatchStep,
        details: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), AuthorityError> {
        registry::finish_batch_step(tx, date, step.as_str(), BatchStatus::Done, at)?;
        audit::append(
            tx,
            &audit::AuditEntry {
                at,
                actor: Actor::system("batch").id,
                action: format!("batch.{}", step.as_str()),
                subject: format!("batch:{date}"),
                details,
            },
        )?;
        Ok(())
    }

    /// Runs a scanning step page by page from the step's cursor.
    fn paged_step(
        &self,
        date: NaiveDate,
        step: BatchStep,
        run: &BatchRun,
        options: &BatchOptions,
        progress: &mut dyn FnMut(BatchProgress),
    ) -> Result<u64, AuthorityError> {
        let limit = i64::from(options.page_size);
        let purge_before = self.clock.now() - options.idempotency_retention;
        let mut cursor = run.cursor.clone().unwrap_or_default();
        let mut processed = run.processed;
        let mut scanned = 0u64;
        let mut changed = 0u64;
        progress(BatchProgress {
            step,
            done: 0,
            total: None,
        });
        loop {
            let at = self.clock.now();
            let page = self.db.transaction(|tx| {
                let page = self.page(tx, step, date, &cursor, limit, purge_before, at)?;
                let count = processed.saturating_add(i64::try_from(page.changed).unwrap_or(i64::MAX));
                let next = page.last.as_deref().unwrap_or(&cursor);
                registry::save_batch_progress(tx, date, step.as_str(), Some(next), count, at)?;
                if page.finished {
                    self.close_step(tx, date, step, json!({"date": date, "count": count}), at)?;
                }
                Ok::<_, AuthorityError>(page)
            })?;
            scanned += page.scanned as u64;
            changed += page.changed;
            processed = processed.saturating_add(i64::try_from(page.changed).unwrap_or(i64::MAX));
            if let Some(last) = page.last {
                cursor = last;
            }
            progress(BatchProgress {
                step,
                done: scanned,
                total: page.finished.then_some(scanned),
            });
            if page.finished {
                return Ok(changed);
            }
        }
    }

    /// One page of a scanning step, in the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    fn page(
        &self,
        tx: &mut Tx<'_>,
        step: BatchStep,
        date: NaiveDate,
        cursor: &str,
        limit: i64,
        purge_before: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Page, AuthorityError> {
        let yesterday = date.pred_opt().unwrap_or(date);
        match step {
            BatchStep::CardExpiries => walk_page(
                tx,
                cursor,
                (floor_date(), yesterday),
                limit,
                registry::cards_expiring,
                |c| &c.serial,
                |tx, card| {
                    Ok(registry::set_card_status(
                        tx,
                        &card.serial,
                        card.status,
                        CardStatus::Expired,
                        at,
                    )?)
                },
            ),
            BatchStep::CertificateExpiries => walk_page(
                tx,
                cursor,
                (floor_date(), yesterday),
                limit,
                registry::certificates_expiring,
                |c| &c.serial,
                |tx, c| {
                    Ok(registry::set_certificate_status(
                        tx,
                        &c.serial,
                        c.status,
                        CertificateStatus::Expired,
                        at,
                        None,
                    )?)
                },
            ),
            BatchStep::CardNotices => {
                let mut stay_bounded = HashMap::new();
                let range = self.notice_expiries(tx, step, date)?;
                walk_page(
                    tx,
                    cursor,
                    range,
                    limit,
                    registry::cards_expiring,
                    |c| &c.serial,
                    |tx, card| {
                        if notice_date(card.expires_on, &self.policies) > date
                            || has_period_of_stay(tx, &mut stay_bounded, card.resident_id)?
                        {
                            return Ok(false);
                        }
                        let queued = registry::queue_notice(
                            tx,
                            &Notice {
                                resident_id: card.resident_id,
                                subject: NoticeSubject::Card(card.serial.clone()),
                                kind: NoticeKind::CardExpiry,
                                due_on: card.expires_on,
                                created_on: date,
                                sent_on: None,
                            },
                        )?;
                        Ok(queued.is_some())
                    },
                )
            }
            BatchStep::CertificateNotices => {
                let range = self.notice_expiries(tx, step, date)?;
                let mut stay_bounded = HashMap::new();
                walk_page(
                    tx,
                    cursor,
                    range,
                    limit,
                    registry::certificates_expiring,
                    |c| &c.serial,
                    |tx, c| {
                        if c.status != CertificateStatus::Good
                            || c.kind.is_smartphone()
                            || notice_date(c.not_after, &self.policies) > date
                            || has_period_of_stay(tx, &mut stay_bounded, c.resident_id)?
                        {
                            return Ok(false);
                        }
                        let queued = registry::queue_notice(
                            tx,
                            &Notice {
                                resident_id: c.resident_id,
                                subject: NoticeSubject::Certificate(c.serial.clone()),
                                kind: NoticeKind::CertificateExpiry,
                                due_on: c.not_after,
                                created_on: date,
                                sent_on: None,
                            },
                        )?;
                        Ok(queued.is_some())
                    },
                )
            }
            BatchStep::IdempotencyPurge => {
                // In slices of an hour of creation time, oldest first: the
                // first slice takes whatever is older than a day before the
                // cutoff (nothing more than an hour's worth when the batch
                // runs nightly); the cursor is the end of the last slice.
                let end = match cursor {
                    "" => purge_before - PURGE_SLICE * 24,
                    done => {
                        DateTime::parse_from_rfc3339(done)
                            .map_err(|e| {
                                AuthorityError::Store(mynacard_store::StoreError::Corrupt(format!(
                                    "batch cursor of {step}: {e}"
                                )))
                            })?
                            .with_timezone(&Utc)
                            + PURGE_SLICE
                    }
                }
                .min(purge_before);
                let deleted = idempotency::purge_before(tx, end)?;
                Ok(Page {
                    scanned: usize::try_from(deleted).unwrap_or(usize::MAX),
                    changed: deleted,
                    last: Some(end.to_rfc3339_opts(SecondsFormat::Micros, true)),
                    finished: end >= purge_before,
                })
            }
            BatchStep::Reconcile | BatchStep::Lapses => {
                Err(AuthorityError::BadRequest(format!("the step {step} is not paged")))
            }
        }
    }
}

/// Where a scan over a range of expiry dates stands (the cursor of the
/// scanning steps, `FIRST-DAY/WIDTH/SERIAL`): the first day not finished,
/// the width in days of the next window to ask for, and the last serial done
/// on that first day when a day takes more than one page.
///
/// The store pages by serial within a date range, and sorts that range for
/// every page; over a wide range that is quadratic. So the range is walked
/// in windows of days: a window that comes back short is done whole and the
/// next one is twice as wide (empty years are crossed in a few queries); a
/// window that comes back full is halved and asked again, down to one day,
/// whose rows are then paged by serial. Every query sorts about a page's
/// worth of rows, or one day's.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Walk {
    first: NaiveDate,
    width: u32,
    after: String,
}

/// The widest window asked for, in days.
const MAX_WINDOW: u32 = 4096;

impl Walk {
    /// The walk of `cursor` (saved by an earlier page of the step), or a
    /// new one from `from`. A cursor that does not parse starts over: every
    /// page is idempotent, so that only repeats work.
    fn resume(cursor: &str, from: NaiveDate) -> Walk {
        let mut parts = cursor.splitn(3, '/');
        let parsed = (|| {
            let first = NaiveDate::parse_from_str(parts.next()?, "%Y-%m-%d").ok()?;
            let width = parts.next()?.parse::<u32>().ok()?.clamp(1, MAX_WINDOW);
            let after = parts.next()?.to_owned();
            Some(Walk { first, width, after })
        })();
        parsed.unwrap_or(Walk {
            first: from,
            width: 1,
            after: String::new(),
        })
    }

    fn cursor(&self) -> String {
        format!("{}/{}/{}", self.first, self.width, self.after)
    }
}

/// One page (transaction) of a scanning step: up to `limit` rows of
/// `range` from the walk of `cursor`, each given to `act` (which answers
/// whether it changed something).
fn walk_page<T>(
    tx: &mut Tx<'_>,
    cursor: &str,
    (from, through): (NaiveDate, NaiveDate),
    limit: i64,
    fetch: impl Fn(&mut Tx<'_>, NaiveDate, NaiveDate, &str, i64) -> mynacard_store::Result<Vec<T>>,
    serial: impl Fn(&T) -> &str,
    mut act: impl FnMut(&mut Tx<'_>, &T) -> Result<bool, AuthorityError>,
) -> Result<Page, AuthorityError> {
    let mut walk = Walk::resume(cursor, from);
    let mut scanned = 0usize;
    let mut changed = 0u64;
    loop {
        let capacity = limit - scanned as i64;
        if walk.first > through || capacity <= 0 {
            break;
        }
        let last = walk
            .first
            .checked_add_days(chrono::Days::new(u64::from(walk.width - 1)))
            .map_or(through, |d| d.min(through));
        let rows = fetch(tx, walk.first, last, &walk.after, capacity)?;
        let full = rows.len() as i64 == capacity;
        if full && last > walk.first {
            if capacity < limit {
                break; // the next page asks again, with room for a whole page
            }
            walk.width = (walk.width / 2).max(1);
            continue;
        }
        for row in &rows {
            changed += u64::from(act(tx, row)?);
        }
        scanned += rows.len();
        match rows.last() {
            // One day with more rows than the page: go on after this serial.
            Some(row) if full => walk.after = serial(row).to_owned(),
            _ => {
                walk.first = last.succ_opt().unwrap_or(NaiveDate::MAX);
                walk.after.clear();
                walk.width = walk.width.saturating_mul(2).min(MAX_WINDOW);
            }
        }
    }
    Ok(Page {
        scanned,
        changed,
        last: Some(walk.cursor()),
        finished: walk.first > through,
    })
}

/// The first expiry whose notice date (rules.md §5) is after `day`.
/// `notice_date` grows with the expiry, so the expiries whose notice falls
/// in a span of days are one span of days too.
fn first_expiry_noticed_after(day: NaiveDate, policies: &Policies) -> NaiveDate {
    let lead = Months::new(policies.notice_lead_months);
    let mut e = day
        .checked_add_months(lead)
        .and_then(|d| d.checked_sub_days(chrono::Days::new(7)))
        .unwrap_or(day);
    for _ in 0..400 {
        if notice_date(e, policies) > day {
            return e;
        }
        e = e.succ_opt().unwrap_or(NaiveDate::MAX);
    }
    e
}

/// The last expiry whose notice date is `day` or earlier.
fn last_expiry_noticed_by(day: NaiveDate, policies: &Policies) -> NaiveDate {
    first_expiry_noticed_after(day, policies)
        .pred_opt()
        .unwrap_or(NaiveDate::MIN)
}

impl Authority {
    /// The expiries whose notices fall due on `date`: those whose notice date
    /// is after the last day this step finished (or, the first time, any)
    /// and by `date` — and that have not expired yet. Catch-up after missed
    /// nights is included; a night reads only its own notices, not the
    /// whole notice lead.
    fn notice_expiries(
        &self,
        tx: &mut Tx<'_>,
        step: BatchStep,
        date: NaiveDate,
    ) -> Result<(NaiveDate, NaiveDate), AuthorityError> {
        let previous = registry::last_finished_batch_date(tx, step.as_str(), date)?;
        let from = match previous {
            Some(p) => first_expiry_noticed_after(p, &self.policies).max(date),
            None => date,
        };
        Ok((from, last_expiry_noticed_by(date, &self.policies)))
    }
}

/// Whether the resident is a foreign resident with a period of stay (no
/// renewal notice, rules.md §5), cached per page.
fn has_period_of_stay(
    tx: &mut Tx<'_>,
    cache: &mut HashMap<i64, bool>,
    resident_id: i64,
) -> Result<bool, AuthorityError> {
    if let Some(known) = cache.get(&resident_id) {
        return Ok(*known);
    }
    let bounded = registry::get_resident(tx, resident_id)?
        .is_some_and(|r| matches!(r.residence, Residence::ForeignWithStay { .. }));
    cache.insert(resident_id, bounded);
    Ok(bounded)
}
