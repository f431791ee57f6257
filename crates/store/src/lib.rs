//! # mynacard-store — the only owner of the schema
//!
//! Records live here and nowhere else: the CA's certificates and their
//! statuses today; the resident registry (issue 5) next. SQLite (one file,
//! the embedded default) now; PostgreSQL joins with the registry. Every
//! operation is one transaction.

pub mod ca;

pub use ca::SqliteCaRepository;
