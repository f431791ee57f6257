//! # mynacard-pki — the JPKI certificate authority
//!
//! The two JPKI hierarchies (signature and user authentication), each a
//! self-signed root with a delegated OCSP responder; the certificates of
//! `../shared/spec/pki-profile.md`; revocation with every CRLReason JPKI uses;
//! CRLs streamed so that a million entries are cheap; OCSP per RFC 6960 with
//! pre-signed responses; and verification for relying parties.
//!
//! No HTTP and no SQL here: the CA's records live behind
//! [`ca::CaRepository`], implemented by the store; the responder's HTTP
//! front end lives in the server. Keys live behind [`signer::Signer`]:
//! software RSA-2048 keys encrypted at rest, or a PKCS#11 token.

pub mod ca;
pub mod crl;
pub mod error;
pub mod name;
pub mod ocsp;
pub mod oid;
pub mod pkcs11;
pub mod profile;
pub mod serial;
pub mod signer;
pub mod status;
pub mod time;
pub mod verify;

pub use error::PkiError;
pub use serial::Serial;
pub use signer::{Signer, SoftwareKey};
