//! # mynacard-server — the HTTP front ends
//!
//! One process serves every front end of the system (`mynacard serve`):
//! the window and hotline web UI, the JSON API (`/api/v1`, one module per
//! actor, OpenAPI 3.1 at `/openapi.json`), the OCSP responder (`/ocsp`),
//! the CRLs (`/crl`), and `/healthz` and `/metrics`. All of them call the
//! lifecycle authority (`mynacard-authority`) and nothing else decides.
//!
//! - [`app`]: the router and the start-up; [`state`]: what handlers share.
//! - [`access`]: staff sessions (argon2id), CSRF, machine API keys, and
//!   the role extractors; [`idempotency`]: the `Idempotency-Key` header.
//! - [`problem`]: RFC 9457 problem documents from the authority's errors.
//! - [`api`]: the JSON API; [`web`]: the server-rendered pages.
//! - [`production`]: J-LIS's production line as a background job.
//! - [`bootstrap`]: the first administrator, and the staff-account and
//!   API-key changes the admin API and `mynacard staff` share (audited).
//! - [`demo`]: the demo's seed data and card wallet; [`clock`]: the
//!   server's clock (fixed, or moved by the demo).
//! - [`ocsp`], [`crl`]: revocation information; [`ops`]: health, metrics,
//!   logs.

pub mod access;
pub mod api;
pub mod app;
pub mod bootstrap;
pub mod clock;
pub mod crl;
pub mod demo;
pub mod idempotency;
pub mod ocsp;
pub mod ops;
pub mod problem;
pub mod production;
pub mod state;
pub mod web;
