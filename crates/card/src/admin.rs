//! Card management: personalisation at production (keys generated on the
//! card, certificates and input-support data written, PINs set at
//! delivery) and the window's PIN reset, guarded by a per-card
//! card-management key (カード管理鍵).
//!
//! # Protocol
//!
//! 1. `80 CA 00 5A 08` (GET DATA) → the card serial (8 bytes). Free: the
//!    auth certificate is already a freely readable unique identifier.
//! 2. `00 84 00 00 10` (GET CHALLENGE) → `Rc`, 16 random bytes, good for the
//!    next command only.
//! 3. `80 82 00 00 30 <Rh ‖ MACh> 20` (EXTERNAL AUTHENTICATE, mutual):
//!    `MACh = HMAC-SHA256(K, "mynacard-management-v1 host" ‖ serial ‖ Rc ‖ Rh)`;
//!    the card answers `MACc = HMAC-SHA256(K, "… card" ‖ serial ‖ Rh ‖ Rc)`,
//!    so the host knows it speaks to the card that holds `K` too. Both derive
//!    the session key `Ks = HMAC-SHA256(K, "… session" ‖ serial ‖ Rc ‖ Rh)`.
//! 4. Management commands, CLA `84` (proprietary, secure messaging): the data
//!    field is the payload sealed with AES-256-GCM under `Ks`, nonce
//!    `00 ‖ 0⁷ ‖ counter`, AAD `counter ‖ CLA INS P1 P2`; the answer to a
//!    successful command is its response payload sealed with nonce
//!    `01 ‖ 0⁷ ‖ counter`, AAD `counter ‖ 90 00` — even an empty one, so a
//!    `9000` cannot be forged. The counter starts at 0 and counts commands;
//!    a command that does not open closes the session (`6988`). The session
//!    also ends on reset and power-off.
//!
//! | command | APDU | payload → response |
//! |---|---|---|
//! | GENERATE KEY PAIR | `84 46 <app> <fid>` | — → SubjectPublicKeyInfo (DER) |
//! | WRITE EF | `84 D6 <app> <fid>` | the whole new content (empty erases) → — |
//! | SET PIN | `84 2C <app> <fid>` | the new value; tries back to the limit → — |
//! | SET CARD MODE | `84 F0 00 <00 PIN card / 01 face card>` | — → — |
//! | CHANGE MANAGEMENT KEY | `84 24 00 00` | the new 32-byte key → — (session ends) |
//!
//! `<app>` is [`Application::code`] (01 JPKI, 02 input support, 03 surface,
//! 04 resident registry) and `<fid>` the low byte of the FID.
//!
//! # Threat model
//!
//! - *A holder or a program with the card* (PC/SC, vpcd): without `K` it
//!   cannot open a session, so it cannot reset a counter, replace a key or a
//!   certificate, or rewrite My Number. `K` is 256 bits; failures are not
//!   counted (locking the card would hand anyone a denial of service).
//! - *Someone on the transport* (a process sharing the reader, a proxy on
//!   vpcd's TCP): it cannot inject or replay commands into a session (MAC
//!   and counter), cannot read the PINs or keys the window sends (AES-GCM),
//!   and cannot swap the public key GENERATE KEY PAIR returns (sealed
//!   response) — so the CA never certifies a key that is not on the card.
//!   It can drop or corrupt messages (denial of service only).
//! - *A thief of one card image or one card key*: `K` is diversified per
//!   card, `K = HMAC-SHA256(master, "mynacard card-management key v1" ‖ serial)`
//!   ([`ManagementKey::derive`]), so one card's key opens no other card.
//!   The master key belongs to the card producer / authority, never to a card.
//! - *Out of scope*: whoever can write the card store's files directly
//!   (that is the chip's silicon; the image is encrypted and authenticated,
//!   but rolling back to an older image is not detectable without a
//!   monotonic counter outside the store).

use std::fmt;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use zeroize::Zeroizing;

use crate::apdu::{Command, Response, Sw};
use crate::crypto::{ct_eq, hmac_sha256, CryptoError, Entropy, SystemEntropy};
use crate::image::CardSerial;
use crate::layout::Application;

/// GET CHALLENGE's answer length.
pub const CHALLENGE_LEN: usize = 16;
/// The secure-messaging CLA of management commands.
pub const CLA_MANAGEMENT: u8 = 0x84;
/// The proprietary CLA of GET DATA, EXTERNAL AUTHENTICATE and COMPUTE DIGITAL SIGNATURE.
pub const CLA_PROPRIETARY: u8 = 0x80;
/// GET DATA tag of the card serial (`80 CA 00 5A`).
pub const SERIAL_TAG: u8 = 0x5A;

/// Management instructions (CLA `84`).
pub mod ins {
    /// GENERATE KEY PAIR: `84 46 <app> <fid>`.
    pub const GENERATE_KEY_PAIR: u8 = 0x46;
    /// WRITE EF: `84 D6 <app> <fid>`.
    pub const WRITE_EF: u8 = 0xD6;
    /// SET PIN: `84 2C <app> <fid>`.
    pub const SET_PIN: u8 = 0x2C;
    /// SET CARD MODE: `84 F0 00 <mode>`.
    pub const SET_MODE: u8 = 0xF0;
    /// CHANGE MANAGEMENT KEY: `84 24 00 00`.
    pub const CHANGE_KEY: u8 = 0x24;
    /// All of them.
    pub const ALL: [u8; 5] = [GENERATE_KEY_PAIR, WRITE_EF, SET_PIN, SET_MODE, CHANGE_KEY];
}

const LABEL_HOST: &[u8] = b"mynacard-management-v1 host";
const LABEL_CARD: &[u8] = b"mynacard-management-v1 card";
const LABEL_SESSION: &[u8] = b"mynacard-management-v1 session";
const LABEL_DIVERSIFY: &[u8] = b"mynacard card-management key v1";
const TAG_LEN: usize = 16;

/// A card-management key: 32 secret bytes.
#[derive(Clone)]
pub struct ManagementKey(Zeroizing<[u8; 32]>);

impl ManagementKey {
    /// From its bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> ManagementKey {
        ManagementKey(Zeroizing::new(bytes))
    }

    /// A random key.
    pub fn generate() -> Result<ManagementKey, CryptoError> {
        let mut bytes = [0u8; 32];
        SystemEntropy.fill(&mut bytes)?;
        Ok(ManagementKey::from_bytes(bytes))
    }

    /// The key of one card, diversified from the producer's master key.
    pub fn derive(master: &[u8], serial: CardSerial) -> ManagementKey {
        ManagementKey::from_bytes(hmac_sha256(master, &[LABEL_DIVERSIFY, &serial.0]))
    }

    /// The secret bytes (for storing the image).
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for ManagementKey {
    fn eq(&self, other: &ManagementKey) -> bool {
        ct_eq(&self.0[..], &other.0[..])
    }
}

impl Eq for ManagementKey {}

impl fmt::Debug for ManagementKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ManagementKey(<secret>)")
    }
}

fn host_mac(key: &ManagementKey, serial: CardSerial, rc: &[u8], rh: &[u8]) -> [u8; 32] {
    hmac_sha256(key.expose(), &[LABEL_HOST, &serial.0, rc, rh])
}

fn card_mac(key: &ManagementKey, serial: CardSerial, rc: &[u8], rh: &[u8]) -> [u8; 32] {
    hmac_sha256(key.expose(), &[LABEL_CARD, &serial.0, rh, rc])
}

fn session_key(key: &ManagementKey, serial: CardSerial, rc: &[u8], rh: &[u8]) -> Option<LessSafeKey> {
    let secret = Zeroizing::new(hmac_sha256(key.expose(), &[LABEL_SESSION, &serial.0, rc, rh]));
    UnboundKey::new(&AES_256_GCM, &secret[..]).ok().map(LessSafeKey::new)
}

fn nonce(direction: u8, counter: u32) -> Nonce {
    let mut n = [0u8; 12];
    n[0] = direction;
    n[8..].copy_from_slice(&counter.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

fn command_aad(counter: u32, header: [u8; 4]) -> [u8; 8] {
    let mut aad = [0u8; 8];
    aad[..4].copy_from_slice(&counter.to_be_bytes());
    aad[4..].copy_from_slice(&header);
    aad
}

fn response_aad(counter: u32) -> [u8; 6] {
    let mut aad = [0u8; 6];
    aad[..4].copy_from_slice(&counter.to_be_bytes());
    aad[4..].copy_from_slice(&[0x90, 0x00]);
    aad
}

/// The card's side of an open management session.
pub(crate) struct CardSession {
    key: LessSafeKey,
    counter: u32,
}

impl CardSession {
    /// Checks EXTERNAL AUTHENTICATE's data (`Rh ‖ MACh`) against the challenge
    /// the card gave; on success the session and the card's MAC.
    pub(crate) fn authenticate(
        key: &ManagementKey,
        serial: CardSerial,
        challenge: &[u8; CHALLENGE_LEN],
        data: &[u8],
    ) -> Result<(CardSession, [u8; 32]), Sw> {
        if data.len() != CHALLENGE_LEN + 32 {
            return Err(Sw::WRONG_LENGTH);
        }
        let (rh, mac) = data.split_at(CHALLENGE_LEN);
        if !ct_eq(&host_mac(key, serial, challenge, rh), mac) {
            return Err(Sw::AUTHENTICATION_FAILED);
        }
        let session_key = session_key(key, serial, challenge, rh).ok_or(Sw::INTERNAL_ERROR)?;
        Ok((
            CardSession {
                key: session_key,
                counter: 0,
            },
            card_mac(key, serial, challenge, rh),
        ))
    }

    /// Opens a management command; `None` if it does not authenticate.
    /// On success the counter moves on and the command's counter is returned
    /// for sealing the response.
    pub(crate) fn open(&mut self, command: &Command<'_>) -> Option<(u32, Zeroizing<Vec<u8>>)> {
        if command.data.len() < TAG_LEN {
            return None;
        }
        let counter = self.counter;
        let aad = command_aad(counter, [command.cla, command.ins, command.p1, command.p2]);
        let mut in_out = Zeroizing::new(command.data.to_vec());
        let plain_len = self
            .key
            .open_in_place(nonce(0, counter), Aad::from(aad), &mut in_out)
            .ok()?
            .len();
        in_out.truncate(plain_len);
        self.counter = counter.checked_add(1)?;
        Some((counter, in_out))
    }

    /// Seals the response payload of the command with `counter`.
    pub(crate) fn seal(&self, counter: u32, payload: &[u8]) -> Response {
        let mut in_out = payload.to_vec();
        match self
            .key
            .seal_in_place_append_tag(nonce(1, counter), Aad::from(response_aad(counter)), &mut in_out)
        {
            Ok(()) => Response::ok(in_out),
            Err(_) => Response::status(Sw::INTERNAL_ERROR),
        }
    }
}

/// Why a management exchange failed, seen from the host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// The transport failed.
    #[error("transport: {0}")]
    Transport(String),
    /// The card answered a status word other than 9000.
    #[error("the card answered {0}")]
    Status(Sw),
    /// The card did not prove it holds the management key.
    #[error("the card did not prove it holds the card-management key")]
    CardNotAuthenticated,
    /// A response that does not open under the session key (tampered or out of step).
    #[error("the card's response does not authenticate")]
    BadResponse,
    /// The random source failed.
    #[error("{0}")]
    Crypto(#[from] CryptoError),
}

/// Something that carries APDUs to a card: an in-process [`Card`](crate::Card),
/// a vpcd connection, a PC/SC reader.
pub trait Transmit {
    /// Sends a command APDU, returns the response APDU (data ‖ SW1 SW2).
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, AdminError>;
}

fn exchange(card: &mut dyn Transmit, command: &[u8]) -> Result<Response, AdminError> {
    let bytes = card.transmit(command)?;
    Response::parse(&bytes).ok_or_else(|| AdminError::Transport("response shorter than a status word".into()))
}

fn expect_ok(response: Response) -> Result<Vec<u8>, AdminError> {
    if response.sw == Sw::OK {
        Ok(response.data)
    } else {
        Err(AdminError::Status(response.sw))
    }
}

/// Reads the card's serial (`80 CA 00 5A 08`).
pub fn read_serial(card: &mut dyn Transmit) -> Result<CardSerial, AdminError> {
    let data = expect_ok(exchange(card, &[CLA_PROPRIETARY, 0xCA, 0x00, SERIAL_TAG, 0x08])?)?;
    let bytes: [u8; 8] = data.try_into().map_err(|_| AdminError::BadResponse)?;
    Ok(CardSerial(bytes))
}

/// The host's side of an open management session (the card producer's
/// personalisation line, the window's terminal).
pub struct ManagementSession {
    serial: CardSerial,
    key: LessSafeKey,
    counter: u32,
}

impl fmt::Debug for ManagementSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ManagementSession({}, counter {})", self.serial, self.counter)
    }
}

impl ManagementSession {
    /// Opens a session with the card's own key.
    pub fn open(card: &mut dyn Transmit, key: &ManagementKey) -> Result<ManagementSession, AdminError> {
        let serial = read_serial(card)?;
        let mut rh = [0u8; CHALLENGE_LEN];
        SystemEntropy.fill(&mut rh)?;
        ManagementSession::open_with(card, key, serial, rh)
    }

    /// Opens a session with the key diversified from the producer's master key.
    pub fn open_with_master(card: &mut dyn Transmit, master: &[u8]) -> Result<ManagementSession, AdminError> {
        let serial = read_serial(card)?;
        let key = ManagementKey::derive(master, serial);
        let mut rh = [0u8; CHALLENGE_LEN];
        SystemEntropy.fill(&mut rh)?;
        ManagementSession::open_with(card, &key, serial, rh)
    }

    fn open_with(
        card: &mut dyn Transmit,
        key: &ManagementKey,
        serial: CardSerial,
        rh: [u8; CHALLENGE_LEN],
    ) -> Result<ManagementSession, AdminError> {
        let rc = expect_ok(exchange(card, &[0x00, 0x84, 0x00, 0x00, CHALLENGE_LEN as u8])?)?;
        if rc.len() != CHALLENGE_LEN {
            return Err(AdminError::BadResponse);
        }
        let mut data = rh.to_vec();
        data.extend_from_slice(&host_mac(key, serial, &rc, &rh));
        let command = Command::encode(CLA_PROPRIETARY, 0x82, 0x00, 0x00, &data, Some(32));
        let mac = expect_ok(exchange(card, &command)?)?;
        if !ct_eq(&mac, &card_mac(key, serial, &rc, &rh)) {
            return Err(AdminError::CardNotAuthenticated);
        }
        let key = session_key(key, serial, &rc, &rh).ok_or(AdminError::BadResponse)?;
        Ok(ManagementSession {
            serial,
            key,
            counter: 0,
        })
    }

    /// The serial of the card this session is with.
    pub fn serial(&self) -> CardSerial {
        self.serial
    }

    /// Sends one sealed management command; returns the opened response payload.
    pub fn command(
        &mut self,
        card: &mut dyn Transmit,
        ins: u8,
        p1: u8,
        p2: u8,
        payload: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, AdminError> {
        let counter = self.counter;
        self.counter = counter.checked_add(1).ok_or(AdminError::BadResponse)?;
        let mut sealed = payload.to_vec();
        self.key
            .seal_in_place_append_tag(
                nonce(0, counter),
                Aad::from(command_aad(counter, [CLA_MANAGEMENT, ins, p1, p2])),
                &mut sealed,
            )
            .map_err(|_| AdminError::BadResponse)?;
        let command = Command::encode(CLA_MANAGEMENT, ins, p1, p2, &sealed, Some(0x1_0000));
        let mut data = Zeroizing::new(expect_ok(exchange(card, &command)?)?);
        let len = self
            .key
            .open_in_place(nonce(1, counter), Aad::from(response_aad(counter)), &mut data)
            .map_err(|_| AdminError::BadResponse)?
            .len();
        data.truncate(len);
        Ok(data)
    }

    /// Generates a key pair on the card in a key EF; returns the public key
    /// (DER SubjectPublicKeyInfo). The key's certificate EF is cleared.
    pub fn generate_key_pair(
        &mut self,
        card: &mut dyn Transmit,
        app: Application,
        fid: u16,
    ) -> Result<Vec<u8>, AdminError> {
        Ok(self
            .command(card, ins::GENERATE_KEY_PAIR, app.code(), fid as u8, &[])?
            .to_vec())
    }

    /// Replaces the whole content of a binary EF (empty erases it).
    pub fn write_file(
        &mut self,
        card: &mut dyn Transmit,
        app: Application,
        fid: u16,
        content: &[u8],
    ) -> Result<(), AdminError> {
        self.command(card, ins::WRITE_EF, app.code(), fid as u8, content)
            .map(drop)
    }

    /// Sets a PIN's value and gives it back its full count of tries (delivery, window reset).
    pub fn set_pin(
        &mut self,
        card: &mut dyn Transmit,
        app: Application,
        fid: u16,
        value: &[u8],
    ) -> Result<(), AdminError> {
        self.command(card, ins::SET_PIN, app.code(), fid as u8, value).map(drop)
    }

    /// Makes the card a face-recognition card (PINs cleared and locked, the
    /// signature key and certificate erased) or a PIN card again (PINs to be set).
    pub fn set_face_recognition(&mut self, card: &mut dyn Transmit, on: bool) -> Result<(), AdminError> {
        self.command(card, ins::SET_MODE, 0x00, u8::from(on), &[]).map(drop)
    }

    /// Replaces the card-management key; the session ends.
    pub fn change_management_key(mut self, card: &mut dyn Transmit, new: &ManagementKey) -> Result<(), AdminError> {
        self.command(card, ins::CHANGE_KEY, 0x00, 0x00, new.expose()).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diversified_keys_differ_per_card() {
        let a = ManagementKey::derive(b"master", CardSerial([1; 8]));
        let b = ManagementKey::derive(b"master", CardSerial([2; 8]));
        assert_ne!(a, b);
        assert_eq!(a, ManagementKey::derive(b"master", CardSerial([1; 8])));
        assert_eq!(format!("{a:?}"), "ManagementKey(<secret>)");
    }

    #[test]
    fn authentication_checks_the_mac() {
        let key = ManagementKey::from_bytes([7; 32]);
        let serial = CardSerial([3; 8]);
        let rc = [1u8; 16];
        let rh = [2u8; 16];
        let mut data = rh.to_vec();
        data.extend_from_slice(&host_mac(&key, serial, &rc, &rh));
        let (_, mac) = CardSession::authenticate(&key, serial, &rc, &data).expect("authenticates");
        assert_eq!(mac, card_mac(&key, serial, &rc, &rh));
        let other = ManagementKey::from_bytes([8; 32]);
        assert_eq!(
            CardSession::authenticate(&other, serial, &rc, &data).err(),
            Some(Sw::AUTHENTICATION_FAILED)
        );
        assert_eq!(
            CardSession::authenticate(&key, serial, &[9; 16], &data).err(),
            Some(Sw::AUTHENTICATION_FAILED)
        );
        assert_eq!(
            CardSession::authenticate(&key, serial, &rc, &data[1..]).err(),
            Some(Sw::WRONG_LENGTH)
        );
    }
}
