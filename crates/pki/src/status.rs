//! Certificate status as the CA records it and CRL and OCSP publish it.

use chrono::{DateTime, Utc};
pub use mynacard_rules::revocation::CrlReason;

use crate::Serial;

/// The status of one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    /// Issued and not revoked (it may still be expired).
    Good,
    /// Revoked (or on hold: reason `CertificateHold`).
    Revoked {
        /// When the CA recorded the revocation.
        at: DateTime<Utc>,
        /// Why.
        reason: CrlReason,
        /// When the key is known or suspected to have become unsafe, if given.
        invalidity_date: Option<DateTime<Utc>>,
    },
}

/// One entry of a CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// The certificate's serial.
    pub serial: Serial,
    /// revocationDate.
    pub revoked_at: DateTime<Utc>,
    /// reasonCode entry extension (omitted for `Unspecified`, as RFC 5280 advises).
    pub reason: CrlReason,
    /// invalidityDate entry extension, if known.
    pub invalidity_date: Option<DateTime<Utc>>,
}

/// A requested change of status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    /// Revoke (or put on hold, with `CertificateHold`).
    Revoke {
        /// When.
        at: DateTime<Utc>,
        /// Why.
        reason: CrlReason,
        /// When the key became unsafe, if known.
        invalidity_date: Option<DateTime<Utc>>,
    },
    /// Release from hold (smartphone user-authentication certificates only).
    ReleaseHold,
}

/// The status after `change`, or why the change is refused:
/// good → revoked or held; held → revoked; held → good only where
/// `release_allowed` (the smartphone auth profile); revoked never changes.
pub fn apply(current: &CertStatus, change: &StatusChange, release_allowed: bool) -> Result<CertStatus, String> {
    match (current, change) {
        (
            CertStatus::Good,
            StatusChange::Revoke {
                at,
                reason,
                invalidity_date,
            },
        ) => Ok(CertStatus::Revoked {
            at: *at,
            reason: *reason,
            invalidity_date: *invalidity_date,
        }),
        (
            CertStatus::Revoked {
                at: held_at,
                reason: CrlReason::CertificateHold,
                ..
            },
            StatusChange::Revoke {
                at,
                reason,
                invalidity_date,
            },
        ) if *reason != CrlReason::CertificateHold => Ok(CertStatus::Revoked {
            at: *at,
            reason: *reason,
            // The key has been in doubt since it was put on hold.
            invalidity_date: invalidity_date.or(Some(*held_at)),
        }),
        (
            CertStatus::Revoked {
                reason: CrlReason::CertificateHold,
                ..
            },
            StatusChange::Revoke { .. },
        ) => Err("the certificate is already on hold".into()),
        (
            CertStatus::Revoked {
                reason: CrlReason::CertificateHold,
                ..
            },
            StatusChange::ReleaseHold,
        ) => {
            if release_allowed {
                Ok(CertStatus::Good)
            } else {
                Err("a hold on a card certificate is never released (一時保留の解除は行わない): revoke it and issue a new one".into())
            }
        }
        (CertStatus::Revoked { at, reason, .. }, _) => Err(format!(
            "the certificate was revoked ({reason:?}) at {at}; a revoked certificate never changes status"
        )),
        (CertStatus::Good, StatusChange::ReleaseHold) => Err("the certificate is not on hold".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revoke(reason: CrlReason) -> StatusChange {
        StatusChange::Revoke {
            at: DateTime::<Utc>::UNIX_EPOCH,
            reason,
            invalidity_date: None,
        }
    }

    #[test]
    fn transitions() {
        let held = apply(&CertStatus::Good, &revoke(CrlReason::CertificateHold), false).expect("hold");
        assert!(matches!(
            held,
            CertStatus::Revoked {
                reason: CrlReason::CertificateHold,
                ..
            }
        ));
        let revoked = apply(&held, &revoke(CrlReason::KeyCompromise), false).expect("hold → revoked");
        assert!(matches!(
            revoked,
            CertStatus::Revoked {
                reason: CrlReason::KeyCompromise,
                invalidity_date: Some(_),
                ..
            }
        ));
        assert!(
            apply(&revoked, &StatusChange::ReleaseHold, true).is_err(),
            "revoked never becomes good"
        );
        assert!(apply(&revoked, &revoke(CrlReason::Superseded), true).is_err());
        assert!(
            apply(&held, &StatusChange::ReleaseHold, false).is_err(),
            "card certificates are never released"
        );
        assert_eq!(apply(&held, &StatusChange::ReleaseHold, true), Ok(CertStatus::Good));
        assert!(apply(&held, &revoke(CrlReason::CertificateHold), true).is_err());
        assert!(apply(&CertStatus::Good, &StatusChange::ReleaseHold, true).is_err());
    }
}
