//! The OCSP responder over HTTP (RFC 6960 §A.1: POST and GET).
//!
//! Answers come from a cache of pre-signed responses, one per certificate
//! and CertID hash, so that the common request costs a parse, a hash-map
//! lookup and a copy of a reference; signing happens off the request path:
//! when a certificate's status changes (the CA, another process, logs the
//! change in the repository and a watcher here picks it up within
//! [`WATCH_INTERVAL`]) and when a cached response grows old. A request with
//! a nonce, several CertIDs, or a certificate not yet cached is signed live.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, TimeDelta, Utc};
use mynacard_pki::ca::{CaRepository, CertificateRecord};
use mynacard_pki::name::Hierarchy;
use mynacard_pki::ocsp::{
    decode_get_path, error_response, parse_request, CertId, CertIdHash, OcspIssuer, OcspRequest, OcspResponseStatus,
    Responder, SingleStatus,
};
use mynacard_pki::{PkiError, Serial};

/// How often the watcher looks for status changes.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(200);
/// Largest request accepted (bigger ones are malformed).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// One root generation and its delegated responder.
pub struct GenerationResponder {
    /// Signature or user authentication.
    pub hierarchy: Hierarchy,
    /// The root's generation.
    pub generation: u32,
    /// The responder.
    pub responder: Responder,
}

/// How long answers are valid and when they are signed again.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// nextUpdate − thisUpdate.
    pub validity: TimeDelta,
    /// A cached response older than this is signed again on its next use.
    pub refresh_after: TimeDelta,
}

impl Default for Freshness {
    fn default() -> Self {
        Freshness {
            validity: TimeDelta::hours(24),
            refresh_after: TimeDelta::hours(1),
        }
    }
}

#[derive(Clone)]
struct Cached {
    der: Bytes,
    this_update: DateTime<Utc>,
}

type CacheKey = (usize, CertIdHash, Serial);

/// What the HTTP handlers share.
pub struct OcspState {
    responders: Vec<GenerationResponder>,
    repository: Arc<dyn CaRepository>,
    cache: RwLock<HashMap<CacheKey, Cached>>,
    freshness: Freshness,
    last_event: AtomicU64,
    signed: AtomicU64,
}

/// Counters for operators and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OcspStats {
    /// Responses in the cache.
    pub cached: usize,
    /// Responses signed since start.
    pub signed: u64,
}

fn ocsp_response(der: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/ocsp-response"),
        )],
        der,
    )
        .into_response()
}

fn error(status: OcspResponseStatus) -> Response {
    ocsp_response(Bytes::from_static(error_response(status)))
}

impl OcspState {
    /// A responder state over `responders`, reading statuses from `repository`.
    pub fn new(
        responders: Vec<GenerationResponder>,
        repository: Arc<dyn CaRepository>,
        freshness: Freshness,
    ) -> Result<OcspState, PkiError> {
        // Start from the newest event: everything older is already reflected in the repository.
        let last = repository.status_events_since(0)?.last().map_or(0, |e| e.seq);
        Ok(OcspState {
            responders,
            repository,
            cache: RwLock::new(HashMap::new()),
            freshness,
            last_event: AtomicU64::new(last),
            signed: AtomicU64::new(0),
        })
    }

    /// Counters.
    pub fn stats(&self) -> OcspStats {
        let cached = self.cache.read().map(|c| c.len()).unwrap_or(0);
        OcspStats {
            cached,
            signed: self.signed.load(Ordering::Relaxed),
        }
    }

    fn responder_for(&self, id: &CertId) -> Option<usize> {
        self.responders.iter().position(|g| g.responder.issuer().matches(id))
    }

    /// The status of `serial` as responder `index` answers it: unknown
    /// unless that generation issued it.
    fn status(&self, index: usize, serial: &Serial) -> Result<SingleStatus, PkiError> {
        let g = &self.responders[index];
        Ok(match self.repository.certificate(serial)? {
            Some(CertificateRecord {
                hierarchy,
                generation,
                status,
                ..
            }) if hierarchy == g.hierarchy && generation == g.generation => SingleStatus::from(status),
            _ => SingleStatus::Unknown,
        })
    }

    fn sign(
        &self,
        index: usize,
        answers: &[(CertId, SingleStatus)],
        nonce: Option<&[u8]>,
    ) -> Result<(Bytes, DateTime<Utc>), PkiError> {
        let now = Utc::now();
        let der =
            self.responders[index]
                .responder
                .respond(answers, now, now, Some(now + self.freshness.validity), nonce)?;
        self.signed.fetch_add(1, Ordering::Relaxed);
        Ok((Bytes::from(der), now))
    }

    fn cached(&self, key: &CacheKey) -> Option<Bytes> {
        let cache = self.cache.read().ok()?;
        let entry = cache.get(key)?;
        (Utc::now() - entry.this_update < self.freshness.refresh_after).then(|| entry.der.clone())
    }

    /// Answers a DER request (blocking: may read the repository and sign).
    pub fn answer(&self, request: &[u8]) -> Response {
        match parse_request(request) {
            Ok(parsed) => self.answer_parsed(&parsed),
            Err(_) => error(OcspResponseStatus::MalformedRequest),
        }
    }

    /// The cached answer to a single no-nonce request, if there is a fresh one.
    fn cached_answer(&self, parsed: &OcspRequest) -> Option<Response> {
        if parsed.requests.len() != 1 || parsed.nonce.is_some() {
            return None;
        }
        let id = &parsed.requests[0];
        let key = (self.responder_for(id)?, id.hash()?, id.serial.clone());
        self.cached(&key).map(ocsp_response)
    }

    /// Answers a parsed request (blocking: may read the repository and sign).
    pub fn answer_parsed(&self, parsed: &OcspRequest) -> Response {
        let Some(index) = parsed.requests.first().and_then(|id| self.responder_for(id)) else {
            return error(OcspResponseStatus::Unauthorized);
        };
        if parsed.requests.iter().any(|id| self.responder_for(id) != Some(index)) {
            // One response has one signer: CertIDs of different CAs cannot share it.
            return error(OcspResponseStatus::Unauthorized);
        }
        if let Some(hit) = self.cached_answer(parsed) {
            return hit;
        }
        let single = parsed.requests.len() == 1 && parsed.nonce.is_none();
        let first = &parsed.requests[0];
        let key = first.hash().map(|hash| (index, hash, first.serial.clone()));
        let mut answers = Vec::with_capacity(parsed.requests.len());
        for id in &parsed.requests {
            let status = if id.hash().is_some() {
                self.status(index, &id.serial)
            } else {
                Ok(SingleStatus::Unknown)
            };
            match status {
                Ok(status) => answers.push((id.clone(), status)),
                Err(_) => return error(OcspResponseStatus::TryLater),
            }
        }
        match self.sign(index, &answers, parsed.nonce.as_deref()) {
            Ok((der, this_update)) => {
                let known = !matches!(answers[0].1, SingleStatus::Unknown);
                if let (true, true, Some(key), Ok(mut cache)) = (single, known, key, self.cache.write()) {
                    cache.insert(
                        key,
                        Cached {
                            der: der.clone(),
                            this_update,
                        },
                    );
                }
                ocsp_response(der)
            }
            Err(_) => error(OcspResponseStatus::InternalError),
        }
    }

    /// Picks up status changes logged since the last call: signs fresh
    /// responses for every cached answer of a changed certificate (and a
    /// SHA-1 one for a certificate not yet asked about). Returns how many
    /// certificates changed.
    pub fn refresh_changed(&self) -> Result<usize, PkiError> {
        let since = self.last_event.load(Ordering::Acquire);
        let events = self.repository.status_events_since(since)?;
        for event in &events {
            for (index, g) in self.responders.iter().enumerate() {
                if g.hierarchy != event.hierarchy {
                    continue;
                }
                let status = self.status(index, &event.serial)?;
                if matches!(status, SingleStatus::Unknown) {
                    continue;
                }
                let mut hashes: Vec<CertIdHash> = self
                    .cache
                    .read()
                    .map(|c| {
                        c.keys()
                            .filter(|(i, _, s)| *i == index && *s == event.serial)
                            .map(|(_, h, _)| *h)
                            .collect()
                    })
                    .unwrap_or_default();
                if hashes.is_empty() {
                    hashes.push(CertIdHash::Sha1);
                }
                for hash in hashes {
                    let id = g.responder.issuer().cert_id(hash, event.serial.clone());
                    let (der, this_update) = self.sign(index, &[(id, status)], None)?;
                    if let Ok(mut cache) = self.cache.write() {
                        cache.insert((index, hash, event.serial.clone()), Cached { der, this_update });
                    }
                }
            }
        }
        if let Some(last) = events.last() {
            self.last_event.store(last.seq, Ordering::Release);
        }
        Ok(events.len())
    }

    /// Pre-signs SHA-1 responses for `serials` (warming the cache at start).
    pub fn presign(&self, serials: &[Serial]) -> Result<usize, PkiError> {
        let mut done = 0;
        for serial in serials {
            for (index, g) in self.responders.iter().enumerate() {
                let status = self.status(index, serial)?;
                if matches!(status, SingleStatus::Unknown) {
                    continue;
                }
                let id = g.responder.issuer().cert_id(CertIdHash::Sha1, serial.clone());
                let (der, this_update) = self.sign(index, &[(id, status)], None)?;
                if let Ok(mut cache) = self.cache.write() {
                    cache.insert((index, CertIdHash::Sha1, serial.clone()), Cached { der, this_update });
                }
                done += 1;
            }
        }
        Ok(done)
    }

    /// The issuers served, for logs.
    pub fn issuers(&self) -> Vec<(Hierarchy, u32, &OcspIssuer)> {
        self.responders
            .iter()
            .map(|g| (g.hierarchy, g.generation, g.responder.issuer()))
            .collect()
    }
}

async fn answer_blocking(state: Arc<OcspState>, request: &[u8]) -> Response {
    let parsed = match parse_request(request) {
        Ok(parsed) => parsed,
        Err(_) => return error(OcspResponseStatus::MalformedRequest),
    };
    // A cache hit needs no blocking work: answer it on the async worker.
    if let Some(hit) = state.cached_answer(&parsed) {
        return hit;
    }
    match tokio::task::spawn_blocking(move || state.answer_parsed(&parsed)).await {
        Ok(response) => response,
        Err(_) => error(OcspResponseStatus::InternalError),
    }
}

async fn post_request(State(state): State<Arc<OcspState>>, body: Bytes) -> Response {
    if body.len() > MAX_REQUEST_BYTES {
        return error(OcspResponseStatus::MalformedRequest);
    }
    answer_blocking(state, &body).await
}

async fn get_request(State(state): State<Arc<OcspState>>, Path(path): Path<String>) -> Response {
    match decode_get_path(&path) {
        Ok(request) => {
            let mut response = answer_blocking(state.clone(), &request).await;
            let max_age = state.freshness.refresh_after.num_seconds().max(0);
            if let Ok(value) =
                HeaderValue::from_str(&format!("max-age={max_age}, public, no-transform, must-revalidate"))
            {
                response.headers_mut().insert(header::CACHE_CONTROL, value);
            }
            response
        }
        Err(_) => error(OcspResponseStatus::MalformedRequest),
    }
}

async fn get_root() -> Response {
    (
        StatusCode::BAD_REQUEST,
        "POST an OCSP request, or GET /{base64 of the DER request} (RFC 6960 §A.1)\n",
    )
        .into_response()
}

/// The responder's routes: `POST /` and `GET /{base64}`.
pub fn router(state: Arc<OcspState>) -> Router {
    Router::new()
        .route("/", post(post_request).get(get_root))
        .route("/{*request}", get(get_request).post(post_request))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES + 1))
        .with_state(state)
}

/// Watches for status changes until the process ends.
pub fn spawn_watcher(state: Arc<OcspState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(WATCH_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let s = state.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || s.refresh_changed()).await {
                eprintln!("mynacard ocsp: status refresh failed: {e}");
            }
        }
    })
}
