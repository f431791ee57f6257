//! CRLs over HTTP: `GET /crl/sign.crl` and `GET /crl/auth.crl`, the full
//! CRL of each hierarchy's current generation (DER,
//! `application/pkix-crl`).
//!
//! A CRL is signed when first asked for and again when a certificate's
//! status changed since, or when it is older than [`REISSUE_AFTER`]; in
//! between the same bytes are served (each signing takes a new CRL number,
//! so signing per request would burn numbers and CPU).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, TimeDelta, Utc};
use mynacard_pki::name::Hierarchy;

use crate::problem::Problem;
use crate::state::AppState;

/// A CRL older than this is signed again on its next request.
pub const REISSUE_AFTER: TimeDelta = TimeDelta::minutes(10);
/// nextUpdate − thisUpdate.
pub const VALIDITY: TimeDelta = TimeDelta::hours(24);

/// The CRLs signed so far, by hierarchy.
#[derive(Debug, Default)]
pub struct CrlCache {
    signed: Mutex<HashMap<&'static str, Signed>>,
}

#[derive(Debug, Clone)]
struct Signed {
    der: Arc<Vec<u8>>,
    at: DateTime<Utc>,
    /// The newest status event seen when it was signed.
    event: u64,
}

async fn crl(State(state): State<Arc<AppState>>, Path(file): Path<String>) -> Response {
    let Some(hierarchy) = file.strip_suffix(".crl").and_then(Hierarchy::from_short) else {
        return Problem::not_found("CRLs: /crl/sign.crl and /crl/auth.crl").into_response();
    };
    let cache = state.crls.clone();
    let result = state
        .blocking(move |authority| {
            let now = Utc::now();
            let ca = authority.ca();
            let key = hierarchy.short();
            let cached = cache.signed.lock().unwrap_or_else(|e| e.into_inner()).get(key).cloned();
            // Only the events after the cached CRL's are read.
            let since = cached.as_ref().map_or(0, |s| s.event);
            let event = ca
                .repository()
                .status_events_since(since)
                .map_err(Problem::internal)?
                .last()
                .map_or(since, |e| e.seq);
            if let Some(s) = cached {
                if s.event == event && now - s.at < REISSUE_AFTER {
                    return Ok(s.der);
                }
            }
            let mut der = Vec::new();
            ca.write_crl(hierarchy, now, now + VALIDITY, &mut der)
                .map_err(Problem::internal)?;
            let der = Arc::new(der);
            cache.signed.lock().unwrap_or_else(|e| e.into_inner()).insert(
                key,
                Signed {
                    der: der.clone(),
                    at: now,
                    event,
                },
            );
            Ok(der)
        })
        .await;
    match result {
        Ok(der) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/pkix-crl")),
                (header::CACHE_CONTROL, HeaderValue::from_static("max-age=60")),
            ],
            der.as_ref().clone(),
        )
            .into_response(),
        Err(p) => p.into_response(),
    }
}

/// The CRL routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/crl/{file}", get(crl))
}
