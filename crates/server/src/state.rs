//! What every handler shares.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use mynacard_authority::{Authority, AuthorityError};

use crate::clock::ServerClock;
use crate::ops::Metrics;
use crate::problem::Problem;

/// Settings fixed at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Demo mode: the card wallet, the clock page, demo accounts.
    pub demo: bool,
    /// Mark cookies `Secure` (behind TLS).
    pub secure_cookies: bool,
}

/// The state behind every route.
pub struct AppState {
    /// The lifecycle authority (blocking: call it through [`AppState::run`]).
    pub authority: Arc<Authority>,
    /// The clock the authority runs on.
    pub clock: Arc<ServerClock>,
    /// Settings.
    pub settings: Settings,
    /// Request counters and timings for `/metrics`.
    pub metrics: Metrics,
    /// The CRLs signed so far.
    pub crls: Arc<crate::crl::CrlCache>,
    /// When the server started.
    pub started_at: Instant,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Runs a (blocking) authority call on the blocking pool; its error
    /// becomes a problem document.
    pub async fn run<T, F>(&self, f: F) -> Result<T, Problem>
    where
        T: Send + 'static,
        F: FnOnce(&Authority) -> Result<T, AuthorityError> + Send + 'static,
    {
        let authority = self.authority.clone();
        match tokio::task::spawn_blocking(move || f(&authority)).await {
            Ok(result) => result.map_err(Problem::from),
            Err(e) => Err(Problem::internal(format!("the operation's task failed: {e}"))),
        }
    }

    /// Runs any blocking work on the blocking pool.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, Problem>
    where
        T: Send + 'static,
        F: FnOnce(&Authority) -> Result<T, Problem> + Send + 'static,
    {
        let authority = self.authority.clone();
        match tokio::task::spawn_blocking(move || f(&authority)).await {
            Ok(result) => result,
            Err(e) => Err(Problem::internal(format!("the task failed: {e}"))),
        }
    }
}
