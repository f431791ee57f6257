//! # mynacard-store — the only owner of the schema
//!
//! Records live here and nowhere else, and nothing but this crate knows
//! SQL (docs/ARCHITECTURE.md):
//!
//! - [`db`]: one interface, two backends — SQLite (one file, the embedded
//!   default) and PostgreSQL (production; one schema per tenant or test).
//!   [`Database::open`] takes an address, [`Database::migrate`] applies the
//!   numbered migrations of `migrations/{sqlite,postgres}/`, and every
//!   operation is one [`Database::transaction`] over a [`Tx`] whose SQL is
//!   written once, in SQLite's dialect.
//! - [`registry`]: the resident registry's tables and typed repositories —
//!   municipalities, residents (住民票), applications (交付申請), cards,
//!   surface entries (追記欄), certificates, loss reports, kiosk PIN reset
//!   bookings, fees, notices, insurance eligibility, nightly batch runs.
//!   Invariants a database can keep are kept by it: check digits, one card
//!   in use and one valid certificate of a kind per person (partial unique
//!   indexes), revoked certificates stay revoked (triggers).
//! - [`audit`]: the append-only, hash-chained audit log and its verifier.
//! - [`disclosure`]: the disclosure log (every access to a holder's My
//!   Number and records).
//! - [`idempotency`]: stored responses by idempotency key, so that a
//!   retried request does not act twice.
//! - [`access`]: the web server's access control — staff accounts, login
//!   sessions and API keys, stored as hashes (the server hashes and keeps
//!   the clock).
//! - [`ca`]: the CA's own records on SQLite ([`SqliteCaRepository`], which
//!   implements `mynacard_pki::ca::CaRepository`), a separate database file
//!   with its own migrations.
//!
//! The registry never holds a card's private keys or PINs. Its functions
//! take "now" and "today" from the caller: the store reads no clock.

pub mod access;
pub mod audit;
pub mod ca;
pub mod db;
pub mod disclosure;
mod error;
pub mod idempotency;
pub mod registry;

pub use ca::SqliteCaRepository;
pub use db::{Backend, Database, Row, Tx, Value};
pub use error::{Result, StoreError};
