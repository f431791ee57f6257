//! # mynacard-card — the virtual My Number Card chip
//!
//! A chip that unchanged clients (OpenSC's `jpki` driver, jpki-rs, myna,
//! pyscard scripts) cannot tell from a real My Number Card: the same
//! applications, files, status words and lock-outs, byte for byte as
//! `../shared/spec/card-interface.md` gives them.
//!
//! The core is pure: [`Card::process`] takes a command APDU and returns the
//! response APDU; the card's persistent memory sits behind
//! [`CardStorage`], randomness and key generation are injected. Transports
//! (in-process, vpcd, PC/SC) live in the reader crate.
//!
//! - [`apdu`] — ISO 7816-4 parsing (never panics; malformed → `6700`).
//! - [`layout`] — applications, AIDs, FIDs, PIN and key objects.
//! - [`engine`] — SELECT, READ BINARY, VERIFY, CHANGE REFERENCE DATA,
//!   COMPUTE DIGITAL SIGNATURE, GET CHALLENGE; PIN counters committed
//!   before the PIN is compared.
//! - [`admin`] — personalisation and the window's PIN reset, behind the
//!   card-management key (mutual authentication, AES-GCM secure messaging).
//! - [`image`], [`storage`] — the card image; [`FileStorage`] (encrypted,
//!   atomic, locked) and [`MemoryStorage`] (tests, fault injection).
//! - [`input_support`], [`surface`] — the data EFs the producer writes.
//!
//! See `crates/card/README.md` for the command set, the management protocol
//! and its threat model, and every choice made where the sources stop.

pub mod admin;
pub mod apdu;
pub mod crypto;
pub mod engine;
pub mod image;
pub mod input_support;
pub mod layout;
pub mod production;
pub mod storage;
pub mod surface;
pub mod tlv;

pub use admin::{AdminError, ManagementKey, ManagementSession, Transmit};
pub use apdu::{Command, Response, Sw};
pub use engine::Card;
pub use image::{CardImage, CardSerial};
pub use layout::{Application, DEFAULT_ATR};
pub use production::{
    CardOrder, CertificateIssuer, DeliveryPins, IssuedCertificate, JpkiKey, ProducedCard, Producer, ProductionError,
};
pub use storage::{CardStorage, FileStorage, MemoryStorage, StorageError, StorageSecret};
