//! # mynacard-server — the HTTP front ends
//!
//! One module per actor; today the relying parties' OCSP responder. Every
//! decision is made below (the CA in mynacard-pki, the rules in
//! mynacard-rules); this crate turns HTTP into calls and answers.

pub mod ocsp;
