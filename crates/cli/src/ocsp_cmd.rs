//! `mynacard ocsp serve`: the OCSP responder, a process of its own.
//!
//! It holds only the responders' keys (never a root key) and reads the CA's
//! repository; a revocation made by `mynacard ca revoke` in another process
//! shows in its answers within a fraction of a second.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::{Args, Subcommand};
use mynacard_pki::ca::load_responders;
use mynacard_pki::ocsp::{OcspIssuer, Responder};
use mynacard_server::ocsp::{router, spawn_watcher, Freshness, GenerationResponder, OcspState};

use crate::ca_cmd::{key_access, repository, KeyArgs};
use crate::output::Failure;

/// `mynacard ocsp`.
#[derive(Debug, Args)]
pub struct OcspArgs {
    #[command(subcommand)]
    pub command: OcspCommand,
}

#[derive(Debug, Subcommand)]
pub enum OcspCommand {
    /// Answer OCSP requests (RFC 6960, POST and GET) for the CA in --dir
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// Address to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Hours between thisUpdate and nextUpdate of each response
    #[arg(long, value_name = "HOURS", default_value_t = 24)]
    validity_hours: u32,
    /// Worker threads (default: the number of cores)
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
}

/// Runs `mynacard ocsp …`.
pub fn run(args: OcspArgs) -> std::process::ExitCode {
    let result = match args.command {
        OcspCommand::Serve(a) => serve(&a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => failure.report(false),
    }
}

fn serve(a: &ServeArgs) -> Result<(), Failure> {
    let access = key_access(&a.keys)?;
    let repository = repository(&a.keys.dir)?;
    let mut responders = Vec::new();
    for keys in load_responders(&a.keys.dir, &access).map_err(|e| Failure::pki(&e))? {
        let issuer = OcspIssuer::new(&keys.root_der).map_err(|e| Failure::pki(&e))?;
        let responder = Responder::new(issuer, keys.ocsp_der, keys.signer).map_err(|e| Failure::pki(&e))?;
        responders.push(GenerationResponder {
            hierarchy: keys.generation.hierarchy,
            generation: keys.generation.generation,
            responder,
        });
    }
    let freshness = Freshness {
        validity: chrono::TimeDelta::hours(i64::from(a.validity_hours.max(1))),
        ..Freshness::default()
    };
    let state = Arc::new(OcspState::new(responders, repository, freshness).map_err(|e| Failure::pki(&e))?);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = a.workers {
        builder.worker_threads(n.max(1));
    }
    let runtime = builder
        .build()
        .map_err(|e| Failure::internal(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .map_err(|e| Failure::usage("listen", format!("--listen {}: {e}", a.listen)))?;
        let local = listener.local_addr().map_err(|e| Failure::internal(e.to_string()))?;
        for (hierarchy, generation, _) in state.issuers() {
            eprintln!(
                "mynacard ocsp: answering for the {} CA, generation {generation:02}",
                hierarchy.short()
            );
        }
        println!("mynacard ocsp: listening on http://{local}/");
        spawn_watcher(state.clone());
        axum::serve(listener, router(state))
            .with_graceful_shutdown(shutdown())
            .await
            .map_err(|e| Failure::internal(format!("the server stopped: {e}")))
    })
}

async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = interrupt => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
