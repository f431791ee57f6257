//! `mynacard audit …`: the registry's audit trail (監査ログ).
//!
//! `audit verify` walks the hash chain in one snapshot and says whether it
//! holds: exit 0 and the number of entries when it does, exit 1 naming the
//! first broken entry (`seq`) when a row was altered, deleted, reordered or
//! cut off the end. It only reads: the registry is not created or migrated.

use std::path::Path;

use clap::{Args, Subcommand};
use mynacard_store::audit::{self, ChainBreak, VerifyReport};
use mynacard_store::Database;
use serde::Serialize;

use crate::batch_cmd::SystemArgs;
use crate::output::{emit, line, Answer, Failure, Line, Phrase, EXIT_RULE};

/// `mynacard audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Print one JSON object instead of bilingual text
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the audit log's hash chain: exit 0 if intact, 1 naming the first broken entry
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    system: SystemArgs,
}

/// Runs `mynacard audit …`.
pub fn run(args: AuditArgs) -> std::process::ExitCode {
    let json = args.json;
    let result = match args.command {
        AuditCommand::Verify(a) => verify(&a).and_then(|answer| emit(&answer, json)),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => failure.report(json),
    }
}

/// An intact chain.
#[derive(Debug, Serialize)]
pub struct Verified {
    /// Always true (a broken chain is a failure).
    pub intact: bool,
    /// Entries checked.
    pub checked: u64,
    /// The last entry's seq.
    pub last_seq: i64,
    /// The last entry's hash, hex.
    pub last_hash: String,
}

impl Answer for Verified {
    fn lines(&self) -> Vec<Line> {
        vec![
            line(Phrase::new("監査ログ", "Audit log"), "改ざんなし / intact"),
            line(Phrase::new("検証件数", "Entries verified"), self.checked),
            line(Phrase::new("最終番号", "Last seq"), self.last_seq),
            line(Phrase::new("最終ハッシュ", "Last hash"), &self.last_hash),
        ]
    }
}

fn verify(a: &VerifyArgs) -> Result<Verified, Failure> {
    if a.system.database.is_none() {
        let file = a.system.data.join("registry.db");
        if !Path::new(&file).exists() {
            return Err(Failure::usage(
                "no_registry",
                format!("no registry at {} (--data or --database)", file.display()),
            ));
        }
    }
    let db =
        Database::open(&a.system.address()).map_err(|e| Failure::from_parts(EXIT_RULE, e.code(), e.to_string()))?;
    let report = audit::verify(&db).map_err(|e| Failure::from_parts(EXIT_RULE, e.code(), e.to_string()))?;
    match report.first_break {
        None => Ok(Verified {
            intact: true,
            checked: report.checked,
            last_seq: report.last_seq,
            last_hash: report.last_hash.iter().map(|b| format!("{b:02x}")).collect(),
        }),
        Some(b) => Err(broken(&report, b)),
    }
}

fn broken(report: &VerifyReport, b: ChainBreak) -> Failure {
    let how = match b {
        ChainBreak::Altered { .. } => "altered (its hash is not the hash of its contents)".to_owned(),
        ChainBreak::Missing { .. } => "missing (deleted)".to_owned(),
        ChainBreak::Relinked { .. } => "relinked (its link to the previous entry does not hold)".to_owned(),
        ChainBreak::HeadMismatch { head_seq, last_seq } => {
            format!("cut off (the head records seq {head_seq}, the log ends at {last_seq})")
        }
    };
    Failure::from_parts(
        EXIT_RULE,
        "audit_chain_broken",
        format!(
            "the audit chain is broken at seq {}: {how}; {} entries before it are intact",
            b.seq(),
            report.checked
        ),
    )
}
