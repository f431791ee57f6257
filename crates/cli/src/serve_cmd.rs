//! `mynacard serve`: the whole system in one process — the window and
//! hotline web UI, the JSON API, OCSP and CRLs — on SQLite in
//! `./mynacard-data` unless told otherwise.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use mynacard_server::app::{open_state, serve, ServeConfig};

use crate::output::Failure;

/// `mynacard serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The data directory (registry, CA, card images)
    #[arg(long = "data", value_name = "DIR", default_value = "mynacard-data")]
    data: PathBuf,
    /// The registry: postgres://… (default: SQLite in the data directory)
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Address to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Seed demo municipalities, staff and residents with cards in a wallet; enable the demo pages
    #[arg(long)]
    demo: bool,
    /// Fix the clock on this day (YYYY-MM-DD, 10:00 JST)
    #[arg(long, value_name = "DATE")]
    today: Option<String>,
    /// Mark cookies Secure (when a TLS proxy is in front)
    #[arg(long)]
    secure_cookies: bool,
}

/// Runs `mynacard serve`.
pub fn run(args: ServeArgs) -> std::process::ExitCode {
    match serve_until_stopped(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => failure.report(false),
    }
}

fn serve_until_stopped(a: &ServeArgs) -> Result<(), Failure> {
    mynacard_server::ops::init_logging();
    let today = match a.today.as_deref() {
        Some(text) => {
            Some(mynacard_rules::date::parse_date(text).map_err(|e| Failure::usage("today", format!("--today: {e}")))?)
        }
        None => None,
    };
    let config = ServeConfig {
        data_dir: a.data.clone(),
        database: a.database.clone(),
        listen: a.listen,
        demo: a.demo,
        today,
        secure_cookies: a.secure_cookies,
    };
    eprintln!(
        "mynacard serve: opening {} (first run sets up the CA; this takes a few seconds)",
        a.data.display()
    );
    // A fresh demo directory is seeded on its own clock first (the CA made
    // on the earliest seeded day, so that cards issued years ago chain to it).
    let opened = if a.demo {
        mynacard_server::demo::open_demo_state(&config)
    } else {
        open_state(&config)
    };
    let state = opened.map_err(|e| Failure::internal(format!("cannot open {}: {e}", a.data.display())))?;
    let accounts = if a.demo {
        eprintln!("mynacard serve: preparing the demo data");
        mynacard_server::demo::prepare(&state).map_err(|e| Failure::internal(format!("demo data: {e}")))?
    } else {
        Vec::new()
    };
    // Without any staff account (a fresh, non-demo directory) an
    // administrator is made, its password printed once and kept 0600.
    let initial = mynacard_server::bootstrap::ensure_initial_admin(&state)
        .map_err(|e| Failure::internal(format!("the first administrator: {e}")))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::internal(format!("cannot start the runtime: {e}")))?;
    runtime
        .block_on(serve(state, a.listen, |local| {
            println!("mynacard serve: listening on http://{local}/");
            println!("  web UI      http://{local}/login");
            println!("  API         http://{local}/api/v1  (OpenAPI: http://{local}/openapi.json)");
            println!("  OCSP        http://{local}/ocsp");
            println!("  CRLs        http://{local}/crl/sign.crl  http://{local}/crl/auth.crl");
            println!("  operations  http://{local}/healthz  http://{local}/metrics");
            if let Some((login, password)) = &initial {
                println!(
                    "  first administrator: {login} / {password}  (also in {})",
                    mynacard_server::bootstrap::initial_password_file(&a.data).display()
                );
            }
            if !accounts.is_empty() {
                println!("  demo accounts (login / password):");
                for account in &accounts {
                    println!(
                        "    {:<16} {:<24} {}",
                        account.login,
                        account.password,
                        account.description(mynacard_server::web::Lang::En)
                    );
                }
                println!("  demo: virtual card reader http://{local}/demo/reader, clock and nightly batch http://{local}/demo");
            }
        }))
        .map_err(|e| Failure::usage("serve", e))
}
