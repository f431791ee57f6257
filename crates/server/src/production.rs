//! J-LIS's production line as a background job: applications received at
//! the windows are produced (keys generated on the card, certificates
//! issued, the card image written) by the producer actor, one at a time,
//! oldest first.
//!
//! Each production is the authority's idempotent operation under the key
//! `production:APPLICATION`, so a crash or a second server running the same
//! job produces each card once. A refusal (the applicant died meanwhile, a
//! rule) is logged and the application skipped for [`RETRY_REFUSED`] (its
//! state may change: the window can correct the record).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use mynacard_authority::{Actor, Authority, AuthorityError};

use crate::state::AppState;

/// How often the line looks for new applications.
pub const POLL: Duration = Duration::from_secs(1);
/// How long a refused application is skipped before it is tried again.
pub const RETRY_REFUSED: Duration = Duration::from_secs(3600);

/// Produces every application waiting now; answers how many were made.
/// `refused` remembers applications the rules refused, so that they are
/// not retried on every pass.
pub fn produce_waiting(authority: &Authority, refused: &mut HashSet<i64>) -> Result<usize, AuthorityError> {
    let actor = Actor::producer();
    // Refused applications stay in the queue (oldest first): ask for as
    // many more, so that they never hide the ones behind them.
    let limit = u32::try_from(50 + refused.len()).unwrap_or(u32::MAX);
    let waiting = authority.applications_awaiting_production(&actor, limit)?;
    let mut made = 0;
    for id in waiting {
        if refused.contains(&id) {
            continue;
        }
        match authority.produce(&actor, &format!("production:{id}"), id) {
            Ok(produced) => {
                made += 1;
                tracing::info!(application = id, card = %produced.card_serial, "card produced");
            }
            Err(e @ (AuthorityError::Refused { .. } | AuthorityError::Rule(_) | AuthorityError::NotFound(_))) => {
                tracing::warn!(application = id, code = e.code(), error = %e, "production refused");
                refused.insert(id);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(made)
}

/// Runs the production line until the process ends.
pub fn spawn(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut refused = HashSet::new();
        let mut forgotten = std::time::Instant::now();
        let mut ticker = tokio::time::interval(POLL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if forgotten.elapsed() >= RETRY_REFUSED {
                refused.clear();
                forgotten = std::time::Instant::now();
            }
            let authority = state.authority.clone();
            let mut r = std::mem::take(&mut refused);
            let outcome = tokio::task::spawn_blocking(move || {
                let result = produce_waiting(&authority, &mut r);
                (result, r)
            })
            .await;
            match outcome {
                Ok((result, r)) => {
                    refused = r;
                    if let Err(e) = result {
                        tracing::error!(error = %e, "the production line failed; retrying");
                    }
                }
                Err(e) => tracing::error!(error = %e, "the production task failed"),
            }
        }
    })
}
