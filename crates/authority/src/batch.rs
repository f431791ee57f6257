//! The nightly batch: lapses, expiries of cards and certificates, renewal
//! notices, reconciliation — idempotent and resumable.
