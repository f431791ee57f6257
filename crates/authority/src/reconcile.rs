//! Putting right what a crash left between an operation's effects and its
//! record (see the crate documentation): certificates the CA issued for an
//! operation the registry never recorded are revoked; statuses the
//! registry recorded but the CA missed are applied; card images of
//! productions that never completed are discarded, those that completed are
//! put in place.

use chrono::{DateTime, TimeDelta, Utc};
use mynacard_pki::status::{CertStatus, CrlReason, StatusChange};
use mynacard_pki::Serial;
use mynacard_store::registry::{self, CertificateRecord, CertificateStatus};
use serde::Serialize;

use crate::error::AuthorityError;
use crate::Authority;

/// How long an operation may take between its first effect and its record;
/// younger leftovers may belong to an operation still running.
pub const GRACE: TimeDelta = TimeDelta::minutes(10);

/// How far back reconciliation looks.
pub const HORIZON: TimeDelta = TimeDelta::days(7);

/// What reconciliation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reconciled {
    /// Certificates the registry does not know, revoked at the CA.
    pub orphan_certificates_revoked: Vec<String>,
    /// Registry statuses applied to the CA.
    pub statuses_pushed: Vec<String>,
    /// Productions completed (image put in place).
    pub productions_finished: Vec<String>,
    /// Productions discarded (image removed).
    pub productions_discarded: Vec<String>,
}

impl Authority {
    /// Reconciles the CA and the card store with the registry (idempotent).
    pub fn reconcile(&self) -> Result<Reconciled, AuthorityError> {
        let now = self.clock.now();
        let mut done = Reconciled::default();

        // Card images of productions.
        for serial in self.cards.producing() {
            let known = self
                .db
                .read(|tx| registry::get_card(tx, &serial).map_err(AuthorityError::from))?;
            if known.is_some() {
                self.cards.finish_production(&serial)?;
                done.productions_finished.push(serial);
            } else if self
                .cards
                .producing_age(&serial)
                .is_none_or(|age| age > self.reconcile_grace())
            {
                self.cards.discard_production(&serial);
                done.productions_discarded.push(serial);
            }
        }

        // Certificates issued for operations never recorded.
        let candidates = self
            .ca
            .repository()
            .good_issued_between(now - HORIZON, now - self.reconcile_grace())?;
        for record in candidates {
            let hex = record.serial.to_hex();
            let known = self
                .db
                .read(|tx| registry::get_certificate(tx, &hex).map_err(AuthorityError::from))?;
            if known.is_none() {
                self.ca.revoke(&record.serial, CrlReason::CessationOfOperation, now)?;
                done.orphan_certificates_revoked.push(hex);
            }
        }

        // Statuses recorded in the registry, missed by the CA.
        let changed: Vec<CertificateRecord> = self.db.read(|tx| {
            let mut out = Vec::new();
            for serial in registry::certificates_status_changed_since(tx, now - HORIZON)? {
                if let Some(c) = registry::get_certificate(tx, &serial)? {
                    out.push(c);
                }
            }
            Ok::<_, AuthorityError>(out)
        })?;
        for record in changed {
            if self.push_status(&record)? {
                done.statuses_pushed.push(record.serial.clone());
            }
        }
        Ok(done)
    }

    /// Makes the CA's status of `record` what the registry says; answers
    /// whether it changed anything.
    pub(crate) fn push_status(&self, record: &CertificateRecord) -> Result<bool, AuthorityError> {
        let serial = Serial::from_hex(&record.serial).map_err(|_| {
            AuthorityError::Store(mynacard_store::StoreError::Corrupt(format!("serial {}", record.serial)))
        })?;
        let Some(at_ca) = self.ca.repository().certificate(&serial)? else {
            return Ok(false);
        };
        let at = record.revoked_at.unwrap_or_else(|| self.clock.now());
        let held = |s: &CertStatus| {
            matches!(
                s,
                CertStatus::Revoked {
                    reason: CrlReason::CertificateHold,
                    ..
                }
            )
        };
        match (record.status, &at_ca.status) {
            (CertificateStatus::Revoked, CertStatus::Good) => {
                self.ca
                    .revoke(&serial, record.reason.unwrap_or(CrlReason::Unspecified), at)?;
                Ok(true)
            }
            (CertificateStatus::Revoked, s) if held(s) => {
                self.ca.change_status(
                    &serial,
                    &StatusChange::Revoke {
                        at,
                        reason: record.reason.unwrap_or(CrlReason::Unspecified),
                        invalidity_date: None,
                    },
                )?;
                Ok(true)
            }
            (CertificateStatus::Hold, CertStatus::Good) => {
                self.ca.revoke(&serial, CrlReason::CertificateHold, at)?;
                Ok(true)
            }
            (CertificateStatus::Good, s) if held(s) => {
                self.ca.change_status(&serial, &StatusChange::ReleaseHold)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// The age of a file's last modification.
pub(crate) fn age_of(path: &std::path::Path, now: DateTime<Utc>) -> Option<TimeDelta> {
    let modified: DateTime<Utc> = std::fs::metadata(path).ok()?.modified().ok()?.into();
    Some(now.signed_duration_since(modified))
}
