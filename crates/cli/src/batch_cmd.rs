//! `mynacard batch …`: the nightly batch (夜間バッチ) of the lifecycle
//! authority.
//!
//! `batch daily` opens the system in `--data` (setting it up on first use:
//! registry, CA, card producer, card store) and runs the day's steps —
//! reconciliation, lapses (失効), expiries of cards and certificates,
//! renewal notices (有効期限通知書), the purge of old idempotency records.
//! Each step is idempotent and resumable: run it again after a crash and it
//! goes on from where it stopped; run it again after it finished and it does
//! nothing. The day defaults to today in Japan from the clock
//! (`MYNACARD_TODAY=YYYY-MM-DD` fixes it). A progress bar goes to stderr
//! when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use mynacard_authority::batch::{BatchOptions, BatchProgress, BatchReport, BatchStep, StepOutcome};
use mynacard_authority::{clock, Authority, AuthorityConfig, AuthorityError, Clock};
use serde::Serialize;

use crate::ca_cmd;
use crate::output::{emit, line, Answer, Failure, Line, Phrase, EXIT_RULE, EXIT_USAGE};

/// Where the system keeps its state (shared with `mynacard audit`).
#[derive(Debug, Args, Clone)]
pub struct SystemArgs {
    /// The data directory: CA, card producer, cards and (by default) the SQLite registry
    #[arg(long, value_name = "DIR", default_value = "./mynacard-data")]
    pub data: PathBuf,
    /// The registry's address (postgres://…?schema=NAME or sqlite:PATH; default sqlite:DIR/registry.db)
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
}

impl SystemArgs {
    /// The registry's address.
    pub fn address(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.data.join("registry.db").display()))
    }
}

/// `mynacard batch`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Print one JSON object instead of bilingual text
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: BatchCommand,
}

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Run the nightly batch for one day: lapses, expiries, renewal notices (idempotent, resumable)
    Daily(DailyArgs),
}

#[derive(Debug, Args)]
pub struct DailyArgs {
    /// The day to run for (default: today in Japan; MYNACARD_TODAY fixes it)
    #[arg(long, value_name = "DATE", value_parser = ca_cmd::date_arg)]
    date: Option<NaiveDate>,
    #[command(flatten)]
    system: SystemArgs,
    /// Rows per page and transaction
    #[arg(long, value_name = "N", default_value_t = mynacard_authority::batch::DEFAULT_PAGE_SIZE,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    page_size: u32,
}

/// Runs `mynacard batch …`.
pub fn run(args: BatchArgs) -> std::process::ExitCode {
    let json = args.json;
    let result = match args.command {
        BatchCommand::Daily(a) => daily(&a).and_then(|answer| emit(&answer, json)),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => failure.report(json),
    }
}

/// An error of the authority as one line: bad input exits 2, the rest 1.
pub fn authority_failure(e: &AuthorityError) -> Failure {
    let exit = match e {
        AuthorityError::BadRequest(_) => EXIT_USAGE,
        AuthorityError::Rule(rule) => return Failure::rule(rule),
        _ => EXIT_RULE,
    };
    Failure::from_parts(exit, e.code(), e.to_string())
}

/// The clock of the environment (`MYNACARD_TODAY`).
pub fn environment_clock() -> Result<Arc<dyn Clock>, Failure> {
    clock::from_env()
        .map(Arc::from)
        .map_err(|e| Failure::rule(&e).context("MYNACARD_TODAY"))
}

/// Opens (and on first use sets up) the system of `system`.
pub fn open_authority(system: &SystemArgs, clock: Arc<dyn Clock>) -> Result<Authority, Failure> {
    let mut config = AuthorityConfig::new(&system.data);
    config.database = system.database.clone();
    Authority::open(&config, clock).map_err(|e| authority_failure(&e))
}

fn daily(a: &DailyArgs) -> Result<DailyAnswer, Failure> {
    let clock = environment_clock()?;
    let date = a.date.unwrap_or_else(|| clock.today());
    let authority = open_authority(&a.system, clock)?;
    let options = BatchOptions {
        page_size: a.page_size,
        ..BatchOptions::default()
    };
    let mut bar = std::io::stderr().is_terminal().then(ProgressBar::new);
    let result = authority.run_daily_batch_with(date, &options, &mut |p| {
        if let Some(bar) = bar.as_mut() {
            bar.show(p);
        }
    });
    if let Some(bar) = bar.as_mut() {
        bar.clear();
    }
    result.map(DailyAnswer).map_err(|e| authority_failure(&e))
}

/// The report of `batch daily`.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct DailyAnswer(pub BatchReport);

/// A step's name, both languages.
pub fn step_phrase(step: BatchStep) -> Phrase {
    match step {
        BatchStep::Reconcile => Phrase::new("整合処理", "Reconciliation"),
        BatchStep::Lapses => Phrase::new("失効", "Lapses"),
        BatchStep::CardExpiries => Phrase::new("カードの有効期限切れ", "Cards expired"),
        BatchStep::CertificateExpiries => Phrase::new("電子証明書の有効期限切れ", "Certificates expired"),
        BatchStep::CardNotices => Phrase::new("有効期限通知書（カード）", "Card renewal notices"),
        BatchStep::CertificateNotices => Phrase::new("有効期限通知書（電子証明書）", "Certificate renewal notices"),
        BatchStep::IdempotencyPurge => Phrase::new("冪等キーの削除", "Idempotency records purged"),
    }
}

fn outcome_text(outcome: StepOutcome) -> &'static str {
    match outcome {
        StepOutcome::Ran => "実行 / ran",
        StepOutcome::Resumed => "再開 / resumed",
        StepOutcome::AlreadyDone => "実行済み / already done",
    }
}

impl Answer for DailyAnswer {
    fn lines(&self) -> Vec<Line> {
        let r = &self.0;
        let mut lines = vec![line(Phrase::new("処理日", "Batch date"), r.date)];
        for s in &r.steps {
            lines.push(line(
                step_phrase(s.step),
                format!("{} ({})", s.count, outcome_text(s.outcome)),
            ));
        }
        lines.push(line(Phrase::new("合計", "Total changes"), r.total()));
        lines
    }
}

/// A one-line progress bar on stderr, redrawn at most ten times a second.
struct ProgressBar {
    last: Option<Instant>,
    step: Option<BatchStep>,
    width: usize,
}

impl ProgressBar {
    fn new() -> ProgressBar {
        ProgressBar {
            last: None,
            step: None,
            width: 30,
        }
    }

    fn show(&mut self, p: BatchProgress) {
        let now = Instant::now();
        let new_step = self.step != Some(p.step);
        let finished = p.total.is_some_and(|t| p.done >= t);
        if !new_step
            && !finished
            && self
                .last
                .is_some_and(|t| now.duration_since(t) < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        self.step = Some(p.step);
        let phrase = step_phrase(p.step);
        let text = match p.total {
            Some(total) if total > 0 => {
                let filled = ((p.done.min(total) as f64 / total as f64) * self.width as f64) as usize;
                format!(
                    "{} / {} [{}{}] {}/{}",
                    phrase.ja,
                    phrase.en,
                    "#".repeat(filled),
                    "-".repeat(self.width - filled),
                    p.done,
                    total
                )
            }
            _ => format!("{} / {} … {}", phrase.ja, phrase.en, p.done),
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{text}");
        let _ = err.flush();
    }

    fn clear(&mut self) {
        if self.last.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}
