//! The whole application: every front end under one router, and how it is
//! started (`mynacard serve`) or built in-process (tests).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Path};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use mynacard_authority::{Authority, AuthorityConfig};
use mynacard_pki::ca::{default_passphrase, load_responders, KeyAccess};
use mynacard_pki::ocsp::{OcspIssuer, Responder};

use crate::clock::ServerClock;
use crate::ocsp::{Freshness, GenerationResponder, OcspState};
use crate::ops::Metrics;
use crate::problem::Problem;
use crate::state::{AppState, Settings};

/// Largest JSON body accepted by the API.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// How to start.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The data directory (default `./mynacard-data`).
    pub data_dir: PathBuf,
    /// The registry's address (`postgres://…`); default SQLite in the data directory.
    pub database: Option<String>,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Seed demo data and enable the demo pages.
    pub demo: bool,
    /// Fix the clock on this day (JST 10:00).
    pub today: Option<NaiveDate>,
    /// Mark cookies `Secure` (when served behind TLS).
    pub secure_cookies: bool,
}

/// Opens the authority (setting up the CA on first use) and builds the state.
pub fn open_state(config: &ServeConfig) -> Result<Arc<AppState>, String> {
    let clock = Arc::new(match config.today {
        Some(day) => ServerClock::fixed_on(day),
        None => ServerClock::system(),
    });
    let mut authority_config = AuthorityConfig::new(&config.data_dir);
    authority_config.database = config.database.clone();
    let authority = Authority::open(&authority_config, clock.clone()).map_err(|e| e.to_string())?;
    Ok(Arc::new(AppState {
        authority: Arc::new(authority),
        clock,
        settings: Settings {
            data_dir: config.data_dir.clone(),
            demo: config.demo,
            secure_cookies: config.secure_cookies,
        },
        metrics: Metrics::default(),
        crls: Default::default(),
        started_at: Instant::now(),
    }))
}

/// The OCSP responders of the authority's CA (every generation).
pub fn ocsp_state(state: &AppState) -> Result<Arc<OcspState>, String> {
    let dir = state.settings.data_dir.join("ca");
    let access = KeyAccess::Passphrase(default_passphrase(&dir, false).map_err(|e| e.to_string())?);
    let mut responders = Vec::new();
    for keys in load_responders(&dir, &access).map_err(|e| e.to_string())? {
        let issuer = OcspIssuer::new(&keys.root_der).map_err(|e| e.to_string())?;
        let responder = Responder::new(issuer, keys.ocsp_der, keys.signer).map_err(|e| e.to_string())?;
        responders.push(GenerationResponder {
            hierarchy: keys.generation.hierarchy,
            generation: keys.generation.generation,
            responder,
        });
    }
    let repository = state.authority.ca().repository().clone();
    OcspState::new(responders, repository, Freshness::default())
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// Every route: the web UI, `/api/v1`, `/openapi.json`, OCSP under
/// `/ocsp`, CRLs under `/crl`, operations, static files.
pub fn router(state: Arc<AppState>, ocsp: Option<Arc<OcspState>>) -> Router {
    let mut app = Router::new();
    if let Some(ocsp) = ocsp {
        // Inside the layers: counted, logged and given the headers too.
        app = app.nest_service("/ocsp", crate::ocsp::router(ocsp));
    }
    app.merge(crate::web::router())
        .nest("/api/v1", crate::api::router())
        .merge(crate::ops::router())
        .merge(crate::crl::router())
        .route("/openapi.json", get(openapi_json))
        .route("/static/{file}", get(static_file))
        .route("/problems/{code}", get(problem_type))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::ops::observe))
        .with_state(state)
}

async fn openapi_json() -> Response {
    Json(crate::api::openapi()).into_response()
}

async fn not_found(uri: axum::http::Uri) -> Response {
    let problem = Problem::not_found(format!("no such page: {}", uri.path()));
    if uri.path().starts_with("/api/") {
        problem.into_response()
    } else {
        crate::web::problem_page(&problem)
    }
}

/// The description behind a problem's `type`.
async fn problem_type(Path(code): Path<String>) -> Response {
    let code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
        format!(
            "Problem type `{code}` of the mynacard API.\n\nThe problem document's `detail` says what went wrong in that occurrence; `code` is stable and can be matched by clients. Codes and their statuses are listed in docs/API.md.\n"
        ),
    )
        .into_response()
}

/// The stylesheets and images, compiled in.
async fn static_file(Path(file): Path<String>) -> Response {
    let (body, kind): (&'static [u8], &'static str) = match file.as_str() {
        "app.css" => (include_bytes!("../static/app.css"), "text/css; charset=utf-8"),
        "favicon.svg" => (include_bytes!("../static/favicon.svg"), "image/svg+xml"),
        _ => return (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (header::CACHE_CONTROL, HeaderValue::from_static("max-age=300")),
        ],
        body,
    )
        .into_response()
}

/// Starts the server and runs until SIGINT/SIGTERM, then stops taking
/// connections, lets requests in flight finish, and returns.
pub async fn serve(state: Arc<AppState>, listen: SocketAddr, on_ready: impl FnOnce(SocketAddr)) -> Result<(), String> {
    let ocsp = ocsp_state(&state)?;
    crate::ocsp::spawn_watcher(ocsp.clone());
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("--listen {listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let production = crate::production::spawn(state.clone());
    on_ready(local);
    tracing::info!(address = %local, "serving");
    let result = axum::serve(listener, router(state, Some(ocsp)))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("the server stopped: {e}"));
    production.abort();
    tracing::info!("stopped");
    result
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
            let _ = interrupt.await;
            return;
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
    tracing::info!("shutting down: finishing the requests in flight");
}
