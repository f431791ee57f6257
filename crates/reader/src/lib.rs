//! # mynacard-reader — how APDUs reach a card, and the resident's client
//!
//! - [`CardReader`]: one interface for every way of talking to a card:
//!   [`VirtualReader`] (a virtual card in this process), [`PcscReader`]
//!   (any PC/SC reader through pcscd: the virtual card behind vpcd, or a
//!   real My Number Card in a real reader).
//! - [`vpcd`]: the card side of vsmartcard's vpcd protocol, so that pcscd —
//!   and every PC/SC program above it (OpenSC, jpki-rs, browsers' middleware)
//!   — sees a virtual card in the reader `Virtual PCD 00 00`.
//! - [`client`]: 利用者クライアントソフト, the resident's client: PIN tries,
//!   certificates, signatures, PIN change, My Number and the basic 4 — over
//!   any [`CardReader`], with nothing but the card's public APDUs, so it
//!   works the same with a real card.
//!
//! Who may call whom: this crate uses the card crate (the engine, for the
//! virtual reader and the vpcd loop; the APDU and TLV codecs for the
//! client). The CLI and the servers use this crate; it uses no database and
//! no CA.

pub mod client;
pub mod pcsc_reader;
pub mod virtual_reader;
pub mod vpcd;

pub use client::{ClientError, JpkiClient, PinRef, PinStatus, Signed};
pub use pcsc_reader::{readers, PcscReader};
pub use virtual_reader::VirtualReader;

use mynacard_card::admin::{AdminError, Transmit};

/// Why a reader could not carry an APDU.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    /// No reader of that name, or no card in it.
    #[error("no card: {0}")]
    NoCard(String),
    /// The PC/SC layer failed.
    #[error("PC/SC: {0}")]
    Pcsc(String),
    /// The card's storage failed (virtual cards).
    #[error("card storage: {0}")]
    Storage(String),
    /// The card answered something that is not an APDU response.
    #[error("malformed response: {0}")]
    Malformed(String),
}

/// A way of talking to one card.
pub trait CardReader {
    /// A name for messages: the PC/SC reader name or the image file.
    fn name(&self) -> String;

    /// The card's answer to reset.
    fn atr(&mut self) -> Result<Vec<u8>, ReaderError>;

    /// Sends one command APDU, returns the response (data ‖ SW1 SW2).
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, ReaderError>;

    /// A warm reset: the card forgets the PINs verified and the selection.
    fn reset(&mut self) -> Result<(), ReaderError>;
}

/// A [`CardReader`] as the management protocol's [`Transmit`].
pub struct Link<'a>(pub &'a mut dyn CardReader);

impl Transmit for Link<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, AdminError> {
        self.0
            .transmit(command)
            .map_err(|e| AdminError::Transport(e.to_string()))
    }
}
