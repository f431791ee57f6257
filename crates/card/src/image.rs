//! The card image: everything a real chip keeps in EEPROM — file contents,
//! PIN values and try counters, private keys, the card-management key and
//! the card's mode. The engine changes it and hands it to
//! [`CardStorage::commit`](crate::storage::CardStorage::commit) at the
//! points where a real card writes EEPROM.
//!
//! The encoding is a small versioned binary format, checked field by field
//! against the [layout](crate::layout) on decoding: an image cannot hold a
//! file the card does not have, a try counter above its limit, or lack a PIN.
//! Storage wraps it (encryption at rest, checksum); see [`crate::storage`].

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

use crate::admin::ManagementKey;
use crate::crypto::CardKey;
use crate::layout::{self, Application, EfKind, JPKI_TOKEN, MAX_EF_SIZE};

/// The card's serial number (カード製造番号): 8 bytes, shown in hex.
/// It diversifies the card-management key; it is no secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardSerial(pub [u8; 8]);

impl CardSerial {
    /// Parses 16 hex digits.
    pub fn parse(text: &str) -> Option<CardSerial> {
        let bytes = text.as_bytes();
        if bytes.len() != 16 {
            return None;
        }
        let mut out = [0u8; 8];
        for (i, o) in out.iter_mut().enumerate() {
            let pair = std::str::from_utf8(&bytes[2 * i..2 * i + 2]).ok()?;
            *o = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(CardSerial(out))
    }
}

impl fmt::Display for CardSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for CardSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardSerial({self})")
    }
}

/// A PIN object's state: its value (if set) and the tries left.
#[derive(Clone, PartialEq, Eq)]
pub struct PinState {
    pub(crate) value: Option<Zeroizing<Vec<u8>>>,
    pub(crate) remaining: u8,
}

impl PinState {
    /// Tries left before the PIN locks; 0 is locked.
    pub fn remaining(&self) -> u8 {
        self.remaining
    }

    /// Whether a value has been set (at delivery, by the window).
    pub fn is_set(&self) -> bool {
        self.value.is_some()
    }
}

impl fmt::Debug for PinState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PinState(set: {}, remaining: {})", self.is_set(), self.remaining)
    }
}

/// An object of the card: (application, FID).
pub type ObjectId = (Application, u16);

/// The persistent state of one card.
#[derive(Clone, PartialEq, Eq)]
pub struct CardImage {
    pub(crate) serial: CardSerial,
    pub(crate) management_key: ManagementKey,
    pub(crate) face_recognition: bool,
    pub(crate) generation: u64,
    pub(crate) files: BTreeMap<ObjectId, Vec<u8>>,
    pub(crate) pins: BTreeMap<ObjectId, PinState>,
    pub(crate) keys: BTreeMap<ObjectId, Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for CardImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardImage")
            .field("serial", &self.serial)
            .field("face_recognition", &self.face_recognition)
            .field("generation", &self.generation)
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .field("pins", &self.pins)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Why bytes are not a card image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The encoding ends early, has bytes left over, or has a field out of range.
    #[error("malformed card image: {0}")]
    Malformed(&'static str),
    /// A version of the encoding this build does not know.
    #[error("card image encoding version {0} is not supported")]
    UnsupportedVersion(u8),
    /// An object the layout does not have, or of another kind.
    #[error("card image names an object the card does not have: application {0}, FID {1:04X}")]
    UnknownObject(u8, u16),
    /// A key that does not load.
    #[error("card image holds a key that does not load: FID {0:04X}")]
    BadKey(u16),
}

/// The version of the image encoding written by this build.
pub const IMAGE_VERSION: u8 = 1;

impl CardImage {
    /// A card as it leaves the factory: the layout with empty files, the
    /// JPKI token written, no keys, every PIN unset with its full count of
    /// tries, and the card-management key that guards personalisation.
    pub fn blank(serial: CardSerial, management_key: ManagementKey) -> CardImage {
        let mut files = BTreeMap::new();
        files.insert((Application::Jpki, layout::jpki::TOKEN), JPKI_TOKEN.to_vec());
        let pins = layout::pins()
            .map(|(app, fid, spec)| {
                (
                    (app, fid),
                    PinState {
                        value: None,
                        remaining: spec.limit,
                    },
                )
            })
            .collect();
        CardImage {
            serial,
            management_key,
            face_recognition: false,
            generation: 0,
            files,
            pins,
            keys: BTreeMap::new(),
        }
    }

    /// The card's serial number.
    pub fn serial(&self) -> CardSerial {
        self.serial
    }

    /// Whether this is a face-recognition card (顔認証マイナンバーカード).
    pub fn face_recognition(&self) -> bool {
        self.face_recognition
    }

    /// How many times the image has been committed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The content of a binary EF (empty if never written).
    pub fn file(&self, app: Application, fid: u16) -> &[u8] {
        self.files.get(&(app, fid)).map_or(&[], Vec::as_slice)
    }

    /// A PIN object's state.
    pub fn pin(&self, app: Application, fid: u16) -> Option<&PinState> {
        self.pins.get(&(app, fid))
    }

    /// Whether a private key is present in a key EF.
    pub fn has_key(&self, app: Application, fid: u16) -> bool {
        self.keys.contains_key(&(app, fid))
    }

    pub(crate) fn key_pkcs8(&self, id: ObjectId) -> Option<&[u8]> {
        self.keys.get(&id).map(|k| k.as_slice())
    }

    /// Encodes the image (plaintext: keys and PINs in the clear; storage encrypts it).
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(8192));
        out.push(IMAGE_VERSION);
        out.extend_from_slice(&self.serial.0);
        out.extend_from_slice(self.management_key.expose());
        out.push(u8::from(self.face_recognition));
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.extend_from_slice(&(self.files.len() as u16).to_be_bytes());
        for ((app, fid), content) in &self.files {
            out.push(app.code());
            out.extend_from_slice(&fid.to_be_bytes());
            out.extend_from_slice(&(content.len() as u32).to_be_bytes());
            out.extend_from_slice(content);
        }
        out.extend_from_slice(&(self.pins.len() as u16).to_be_bytes());
        for ((app, fid), pin) in &self.pins {
            out.push(app.code());
            out.extend_from_slice(&fid.to_be_bytes());
            out.push(pin.remaining);
            match &pin.value {
                Some(v) => {
                    out.push(1);
                    out.push(v.len() as u8);
                    out.extend_from_slice(v);
                }
                None => out.push(0),
            }
        }
        out.extend_from_slice(&(self.keys.len() as u16).to_be_bytes());
        for ((app, fid), pkcs8) in &self.keys {
            out.push(app.code());
            out.extend_from_slice(&fid.to_be_bytes());
            out.extend_from_slice(&(pkcs8.len() as u32).to_be_bytes());
            out.extend_from_slice(pkcs8);
        }
        out
    }

    /// Decodes and checks an image written by [`CardImage::encode`].
    pub fn decode(bytes: &[u8]) -> Result<CardImage, ImageError> {
        let mut r = Reader { bytes, at: 0 };
        let version = r.u8()?;
        if version != IMAGE_VERSION {
            return Err(ImageError::UnsupportedVersion(version));
        }
        let serial = CardSerial(r.array::<8>()?);
        let management_key = ManagementKey::from_bytes(r.array::<32>()?);
        let face_recognition = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(ImageError::Malformed("mode")),
        };
        let generation = u64::from_be_bytes(r.array::<8>()?);

        let mut files = BTreeMap::new();
        for _ in 0..r.u16()? {
            let id = r.object()?;
            if !matches!(layout::ef(id.0, id.1).map(|e| e.kind), Some(EfKind::Binary { .. })) {
                return Err(ImageError::UnknownObject(id.0.code(), id.1));
            }
            let len = r.u32()? as usize;
            if len > MAX_EF_SIZE {
                return Err(ImageError::Malformed("file too large"));
            }
            let content = r.take(len)?.to_vec();
            if files.insert(id, content).is_some() {
                return Err(ImageError::Malformed("file twice"));
            }
        }

        let mut pins = BTreeMap::new();
        for _ in 0..r.u16()? {
            let id = r.object()?;
            let spec = layout::pin_spec(id.0, id.1).ok_or(ImageError::UnknownObject(id.0.code(), id.1))?;
            let remaining = r.u8()?;
            if remaining > spec.limit {
                return Err(ImageError::Malformed("try counter above its limit"));
            }
            let value = match r.u8()? {
                0 => None,
                1 => {
                    let len = usize::from(r.u8()?);
                    Some(Zeroizing::new(r.take(len)?.to_vec()))
                }
                _ => return Err(ImageError::Malformed("PIN flag")),
            };
            if pins.insert(id, PinState { value, remaining }).is_some() {
                return Err(ImageError::Malformed("PIN twice"));
            }
        }
        if pins.len() != layout::pins().count() {
            return Err(ImageError::Malformed("a PIN object is missing"));
        }

        let mut keys = BTreeMap::new();
        for _ in 0..r.u16()? {
            let id = r.object()?;
            if layout::key_spec(id.0, id.1).is_none() {
                return Err(ImageError::UnknownObject(id.0.code(), id.1));
            }
            let len = r.u32()? as usize;
            let pkcs8 = Zeroizing::new(r.take(len)?.to_vec());
            CardKey::from_pkcs8(&pkcs8).map_err(|_| ImageError::BadKey(id.1))?;
            if keys.insert(id, pkcs8).is_some() {
                return Err(ImageError::Malformed("key twice"));
            }
        }
        if r.at != bytes.len() {
            return Err(ImageError::Malformed("bytes after the end"));
        }
        Ok(CardImage {
            serial,
            management_key,
            face_recognition,
            generation,
            files,
            pins,
            keys,
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ImageError> {
        let end = self.at.checked_add(n).ok_or(ImageError::Malformed("length"))?;
        let out = self
            .bytes
            .get(self.at..end)
            .ok_or(ImageError::Malformed("ends early"))?;
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ImageError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, ImageError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, ImageError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, ImageError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn object(&mut self) -> Result<ObjectId, ImageError> {
        let code = self.u8()?;
        let fid = self.u16()?;
        let app = Application::from_code(code).ok_or(ImageError::UnknownObject(code, fid))?;
        Ok((app, fid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::test_keys;
    use proptest::prelude::*;

    fn sample() -> CardImage {
        let mut image = CardImage::blank(CardSerial([1, 2, 3, 4, 5, 6, 7, 8]), ManagementKey::from_bytes([9; 32]));
        image.files.insert(
            (Application::Jpki, layout::jpki::AUTH_CERT),
            vec![0x30, 0x82, 0x00, 0x01, 0x05],
        );
        image.keys.insert(
            (Application::Jpki, layout::jpki::AUTH_KEY),
            Zeroizing::new(test_keys::AUTH.to_vec()),
        );
        if let Some(pin) = image.pins.get_mut(&(Application::Jpki, layout::jpki::AUTH_PIN)) {
            pin.value = Some(Zeroizing::new(b"1234".to_vec()));
            pin.remaining = 2;
        }
        image.generation = 7;
        image
    }

    #[test]
    fn round_trips() {
        let image = sample();
        let back = CardImage::decode(&image.encode()).expect("decodes");
        assert_eq!(back, image);
        let blank = CardImage::blank(CardSerial([0; 8]), ManagementKey::from_bytes([0; 32]));
        assert_eq!(CardImage::decode(&blank.encode()).expect("blank"), blank);
        assert_eq!(blank.file(Application::Jpki, layout::jpki::TOKEN), JPKI_TOKEN);
        assert_eq!(
            blank
                .pin(Application::Jpki, layout::jpki::SIGN_PIN)
                .map(PinState::remaining),
            Some(5)
        );
    }

    #[test]
    fn refuses_what_the_card_cannot_hold() {
        let good = sample().encode();
        let mut bad = good.to_vec();
        bad[0] = 2;
        assert_eq!(CardImage::decode(&bad), Err(ImageError::UnsupportedVersion(2)));
        let mut long = good.to_vec();
        long.push(0);
        assert!(CardImage::decode(&long).is_err());
        assert!(CardImage::decode(&good[..good.len() - 1]).is_err());
        // A try counter above its limit: the auth PIN's remaining byte set to 4.
        let mut image = sample();
        if let Some(pin) = image.pins.get_mut(&(Application::Jpki, layout::jpki::AUTH_PIN)) {
            pin.remaining = 4;
        }
        assert_eq!(
            CardImage::decode(&image.encode()),
            Err(ImageError::Malformed("try counter above its limit"))
        );
        // A PIN missing.
        let mut image = sample();
        image.pins.remove(&(Application::Jpki, layout::jpki::AUTH_PIN));
        assert!(CardImage::decode(&image.encode()).is_err());
    }

    #[test]
    fn debug_shows_no_secrets() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("1234"));
        assert!(text.contains("remaining: 2"));
    }

    #[test]
    fn serials_print_and_parse() {
        let s = CardSerial([0xAB, 0, 1, 2, 3, 4, 5, 0xFF]);
        assert_eq!(s.to_string(), "AB000102030405FF");
        assert_eq!(CardSerial::parse("AB000102030405FF"), Some(s));
        assert_eq!(CardSerial::parse("AB0001020304"), None);
        assert_eq!(CardSerial::parse("AB000102030405FG"), None);
    }

    proptest! {
        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = CardImage::decode(&bytes);
        }

        #[test]
        fn decoding_a_damaged_image_never_panics(at in 0usize..2000, byte in any::<u8>()) {
            let mut bytes = sample().encode().to_vec();
            let at = at % bytes.len();
            bytes[at] = byte;
            let _ = CardImage::decode(&bytes);
        }
    }
}
