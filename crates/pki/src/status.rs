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
