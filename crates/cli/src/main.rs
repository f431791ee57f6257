//! The `mynacard` command: a My Number Card system and its PKI.
//!
//! Today it offers `mynacard rules …`, the rules engine as a window clerk's
//! calculator; the server, the CA and the card tools join as further
//! top-level subcommands. Whatever goes wrong ends as one line on stderr and
//! a non-zero exit status, never as a panic or a usage dump.

mod audit_cmd;
mod batch_cmd;
mod ca_cmd;
mod card_cmd;
mod client_cmd;
mod ocsp_cmd;
mod output;
mod rules_cmd;
mod serve_cmd;
mod staff_cmd;
mod vocab;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand};

use crate::output::Failure;

#[derive(Debug, Parser)]
#[command(
    name = "mynacard",
    version,
    about = "A My Number Card system and its PKI",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Answers of the rules engine: expiries, lapse, fees, numbers, PINs… (bilingual or --json)
    Rules(rules_cmd::RulesArgs),
    /// The certificate authority: set-up, issuance, revocation, CRLs, roots
    Ca(ca_cmd::CaArgs),
    /// The OCSP responder for relying parties
    Ocsp(ocsp_cmd::OcspArgs),
    /// Virtual My Number Cards: produce one, insert it into pcscd (vpcd), show it
    Card(card_cmd::CardArgs),
    /// 利用者クライアントソフト: PIN tries, certificates, signing, PIN change, My Number (PC/SC or a card image)
    Client(client_cmd::ClientArgs),
    /// The nightly batch: lapses, expiries, renewal notices (idempotent, resumable)
    Batch(batch_cmd::BatchArgs),
    /// The audit trail: verify its hash chain
    Audit(audit_cmd::AuditArgs),
    /// Run the whole system: window and hotline web UI, JSON API, OCSP, CRLs (--demo for demo data)
    Serve(serve_cmd::ServeArgs),
    /// Staff accounts of the server: add, list, disable, enable
    Staff(staff_cmd::StaffArgs),
    /// API keys of kiosks and relying parties: create (shown once), list, revoke
    ApiKey(staff_cmd::ApiKeyArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                // Help and version go to stdout with exit status 0.
                err.exit();
            }
            let argv: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
            let json = argv.iter().skip(1).any(|a| a == "--json");
            if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                return Failure::usage("usage", missing_subcommand(&argv)).report(json);
            }
            return Failure::from_clap(&err, &pin_values(&argv)).report(json);
        }
    };
    match cli.command {
        Command::Rules(args) => rules_cmd::run(args),
        Command::Ca(args) => ca_cmd::run(args),
        Command::Ocsp(args) => ocsp_cmd::run(args),
        Command::Card(args) => card_cmd::run(args),
        Command::Client(args) => client_cmd::run(args),
        Command::Batch(args) => batch_cmd::run(args),
        Command::Audit(args) => audit_cmd::run(args),
        Command::Serve(args) => serve_cmd::run(args),
        Command::Staff(args) => staff_cmd::run_staff(args),
        Command::ApiKey(args) => staff_cmd::run_api_key(args),
    }
}

/// One line naming the subcommands that could follow what was given,
/// instead of clap's full help.
fn missing_subcommand(argv: &[String]) -> String {
    let mut command = Cli::command();
    let mut path = vec![command.get_name().to_owned()];
    for arg in argv.iter().skip(1) {
        match command.find_subcommand(arg) {
            Some(sub) => {
                let sub = sub.clone();
                path.push(sub.get_name().to_owned());
                command = sub;
            }
            None => continue,
        }
    }
    let names: Vec<&str> = command
        .get_subcommands()
        .map(|c| c.get_name())
        .filter(|n| *n != "help")
        .collect();
    format!(
        "'{}' needs a subcommand: {} (see --help)",
        path.join(" "),
        names.join(", ")
    )
}

/// Arguments that may be a PIN, so that no error message can repeat one:
/// everything after a `pin` subcommand (the rules' format checker), and the
/// value of every PIN flag (`--pin`, `--auth-pin`, `--old`, `--new`, …) in
/// either `--flag value` or `--flag=value` form.
fn pin_values(argv: &[String]) -> Vec<String> {
    let is_pin_flag =
        |a: &str| a == "--pin" || a == "--old" || a == "--new" || (a.starts_with("--") && a.ends_with("-pin"));
    let mut values = Vec::new();
    for (i, arg) in argv.iter().enumerate() {
        if is_pin_flag(arg) {
            values.extend(argv.get(i + 1).cloned());
        } else if let Some((flag, value)) = arg.split_once('=') {
            if is_pin_flag(flag) {
                values.push(value.to_owned());
            }
        }
    }
    let Some(at) = argv.iter().position(|a| a == "pin") else {
        return values;
    };
    let is_flag = |a: &str| a.starts_with("--") && a[2..].bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
    let is_kind = |a: &str| ["sign", "auth", "registry", "input-support"].contains(&a);
    let mut after_kind = false;
    for arg in argv.iter().skip(at + 1) {
        // The word after --kind names the PIN's kind (even when misspelt).
        if !after_kind && !is_flag(arg) && !is_kind(arg) {
            values.push(arg.clone());
        }
        after_kind = arg == "--kind";
    }
    values
}
