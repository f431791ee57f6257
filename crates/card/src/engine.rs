//! The APDU engine: one command in, one response out, on a card image.
//!
//! [`Card::process`] is the whole chip. It is deterministic given its
//! storage, its [`Entropy`] and its [`KeyGenerator`] (both injected); it does
//! no I/O but through [`CardStorage`], and it never panics on any input.
//!
//! # PIN counters that cannot be cheated
//!
//! VERIFY with data on a PIN with tries left:
//!
//! 1. the try counter is decremented and **committed** (durable);
//! 2. only then is the PIN compared (in constant time);
//! 3. if right, the counter is restored to its limit and committed again, and
//!    only then is the PIN marked verified; if wrong, the decrement stands.
//!
//! A process killed at any moment therefore never yields a free try: before
//! step 1 is durable nothing was compared (and nothing is answered); after
//! it, the try is spent. A failed commit makes the engine reload what is
//! durable and answer `6581` without comparing. Counters go up only by a
//! correct PIN, CHANGE REFERENCE DATA after one, or an authenticated
//! management command (SET PIN, SET CARD MODE).
//!
//! # Volatile state
//!
//! The selected application and EF, the PINs verified, the last challenge
//! and the management session live in RAM only: [`Card::reset`],
//! [`Card::power_off`] and [`Card::power_on`] clear them, and selecting an
//! application (even the same one) clears the PINs verified — OpenSC ≥ 0.24
//! logs out that way. After a reset no application is selected.

use std::collections::{BTreeMap, BTreeSet};

use crate::admin::{self, CardSession, Transmit, CHALLENGE_LEN, SERIAL_TAG};
use crate::apdu::{Command, ParseError, Response, Sw};
use crate::crypto::{ct_eq, sha256, AwsLcKeyGenerator, CardKey, Entropy, KeyGenerator, SystemEntropy};
use crate::image::{CardImage, ObjectId};
use crate::input_support;
use crate::layout::{self, Access, Application, Content, EfKind, DEFAULT_ATR, MAX_EF_SIZE, MAX_SIGN_INPUT};
use crate::storage::{CardStorage, StorageError};
use mynacard_rules::numbers::MyNumber;

/// The image and the keys loaded from it.
struct Loaded {
    image: CardImage,
    keys: BTreeMap<ObjectId, CardKey>,
}

fn load<S: CardStorage>(storage: &mut S) -> Result<Loaded, StorageError> {
    let image = storage.load()?;
    let mut keys = BTreeMap::new();
    for (app, fid, _) in layout::keys() {
        if let Some(pkcs8) = image.key_pkcs8((app, fid)) {
            let key = CardKey::from_pkcs8(pkcs8).map_err(|_| crate::image::ImageError::BadKey(fid))?;
            keys.insert((app, fid), key);
        }
    }
    Ok(Loaded { image, keys })
}

/// What the chip keeps in RAM.
#[derive(Default)]
struct Volatile {
    app: Option<Application>,
    ef: Option<u16>,
    verified: BTreeSet<u16>,
    challenge: Option<[u8; CHALLENGE_LEN]>,
    session: Option<CardSession>,
}

/// How P2 of VERIFY, CHANGE REFERENCE DATA and COMPUTE DIGITAL SIGNATURE names its object.
enum Reference {
    /// `80`: the current EF.
    Current,
    /// `80 | SFI`: the EF with that short identifier in the current application.
    Short(u16),
}

fn reference(p2: u8) -> Option<Reference> {
    match p2 {
        0x80 => Some(Reference::Current),
        0x81..=0x9E => Some(Reference::Short(u16::from(p2 & 0x1F))),
        _ => None,
    }
}

/// Whether the card knows this CLA and INS (`6E00` / `6D00` otherwise).
fn supported(cla: u8, ins: u8) -> Result<(), Sw> {
    let known: &[u8] = match cla {
        0x00 => &[0xA4, 0xB0, 0x20, 0x24, 0x84],
        admin::CLA_PROPRIETARY => &[0x2A, 0x82, 0xCA],
        admin::CLA_MANAGEMENT => &admin::ins::ALL,
        _ => return Err(Sw::CLA_NOT_SUPPORTED),
    };
    if known.contains(&ins) {
        Ok(())
    } else {
        Err(Sw::INS_NOT_SUPPORTED)
    }
}

/// A virtual My Number Card.
pub struct Card<S: CardStorage> {
    storage: S,
    /// `None` when the storage failed and could not be read back: the card
    /// answers `6581` until a reset reads it again.
    loaded: Option<Loaded>,
    volatile: Volatile,
    entropy: Box<dyn Entropy>,
    keygen: Box<dyn KeyGenerator>,
}

impl<S: CardStorage> std::fmt::Debug for Card<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Card")
            .field("image", &self.loaded.as_ref().map(|l| &l.image))
            .field("application", &self.volatile.app)
            .field("ef", &self.volatile.ef)
            .field("verified", &self.volatile.verified)
            .field("management_session", &self.volatile.session.is_some())
            .finish()
    }
}

impl<S: CardStorage> Card<S> {
    /// The card in `storage`, with the system's randomness and AWS-LC key generation.
    pub fn new(storage: S) -> Result<Card<S>, StorageError> {
        Card::with_sources(storage, Box::new(SystemEntropy), Box::new(AwsLcKeyGenerator))
    }

    /// The card with injected randomness and key generation.
    pub fn with_sources(
        mut storage: S,
        entropy: Box<dyn Entropy>,
        keygen: Box<dyn KeyGenerator>,
    ) -> Result<Card<S>, StorageError> {
        let loaded = load(&mut storage)?;
        Ok(Card {
            storage,
            loaded: Some(loaded),
            volatile: Volatile::default(),
            entropy,
            keygen,
        })
    }

    /// The answer to reset.
    pub fn atr(&self) -> &'static [u8] {
        &DEFAULT_ATR
    }

    /// The image as the card holds it (`None` while the storage has failed).
    pub fn image(&self) -> Option<&CardImage> {
        self.loaded.as_ref().map(|l| &l.image)
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The storage, to arm a test fault.
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }

    /// The storage, giving the card up.
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// The application and EF selected (for tracing and tests).
    pub fn selection(&self) -> (Option<Application>, Option<u16>) {
        (self.volatile.app, self.volatile.ef)
    }

    /// Whether the storage failed and the card answers only `6581`.
    pub fn is_mute(&self) -> bool {
        self.loaded.is_none()
    }

    /// A warm reset: RAM cleared, no application selected, nothing verified.
    /// A card whose storage failed reads it again.
    pub fn reset(&mut self) {
        self.volatile = Volatile::default();
        if self.loaded.is_none() {
            self.reload();
        }
    }

    /// Power off: RAM is lost.
    pub fn power_off(&mut self) {
        self.volatile = Volatile::default();
    }

    /// Power on: as a reset.
    pub fn power_on(&mut self) {
        self.reset();
    }

    /// Processes one command APDU; returns the response APDU (data ‖ SW1 SW2).
    pub fn process(&mut self, command: &[u8]) -> Vec<u8> {
        self.respond(command).into_bytes()
    }

    /// Processes one command APDU.
    pub fn respond(&mut self, bytes: &[u8]) -> Response {
        // A challenge is good for the next command only.
        let challenge = self.volatile.challenge.take();
        let command = match Command::parse(bytes) {
            Ok(command) => command,
            Err(ParseError::TooShort) => return Sw::WRONG_LENGTH.into(),
            Err(ParseError::Malformed { cla, ins }) => {
                return supported(cla, ins).err().unwrap_or(Sw::WRONG_LENGTH).into();
            }
        };
        if let Err(sw) = supported(command.cla, command.ins) {
            return sw.into();
        }
        if self.loaded.is_none() {
            return Sw::MEMORY_FAILURE.into();
        }
        let result = match (command.cla, command.ins) {
            (0x00, 0xA4) => self.select(&command),
            (0x00, 0xB0) => self.read_binary(&command),
            (0x00, 0x20) => self.verify(&command),
            (0x00, 0x24) => self.change_reference_data(&command),
            (0x00, 0x84) => self.get_challenge(&command),
            (admin::CLA_PROPRIETARY, 0x2A) => self.compute_digital_signature(&command),
            (admin::CLA_PROPRIETARY, 0x82) => self.external_authenticate(&command, challenge),
            (admin::CLA_PROPRIETARY, 0xCA) => self.get_data(&command),
            (admin::CLA_MANAGEMENT, _) => return self.management(&command),
            _ => Err(Sw::INS_NOT_SUPPORTED),
        };
        match result {
            Ok(data) => Response::ok(data),
            Err(sw) => sw.into(),
        }
    }

    fn reload(&mut self) {
        self.loaded = load(&mut self.storage).ok();
        if self.loaded.is_none() {
            self.volatile = Volatile::default();
        }
    }

    fn held(&self) -> Result<&CardImage, Sw> {
        self.loaded.as_ref().map(|l| &l.image).ok_or(Sw::MEMORY_FAILURE)
    }

    fn held_mut(&mut self) -> Result<&mut CardImage, Sw> {
        self.loaded.as_mut().map(|l| &mut l.image).ok_or(Sw::MEMORY_FAILURE)
    }

    /// Makes the image in RAM durable (an EEPROM write). On failure RAM goes
    /// back to what is durable — or the card goes mute — and the answer is `6581`.
    fn commit(&mut self) -> Result<(), Sw> {
        let loaded = self.loaded.as_mut().ok_or(Sw::MEMORY_FAILURE)?;
        loaded.image.generation += 1;
        match self.storage.commit(&loaded.image) {
            Ok(()) => Ok(()),
            Err(_) => {
                self.reload();
                Err(Sw::MEMORY_FAILURE)
            }
        }
    }

    // --- ISO commands -------------------------------------------------------

    /// SELECT: `00 A4 04 0C <AID>` (application), `00 A4 02 0C 02 <FID>` (EF of the current application).
    fn select(&mut self, c: &Command<'_>) -> Result<Vec<u8>, Sw> {
        if !matches!(c.p2, 0x00 | 0x04 | 0x0C) {
            return Err(Sw::WRONG_P1P2);
        }
        match c.p1 {
            0x04 => {
                if c.data.is_empty() {
                    return Err(Sw::WRONG_LENGTH);
                }
                let app = Application::from_aid(c.data).ok_or(Sw::FILE_NOT_FOUND)?;
                self.volatile.app = Some(app);
                self.volatile.ef = None;
                self.volatile.verified.clear();
                Ok(Vec::new())
            }
            0x02 => {
                let fid: [u8; 2] = c.data.try_into().map_err(|_| Sw::WRONG_LENGTH)?;
                let fid = u16::from_be_bytes(fid);
                let app = self.volatile.app.ok_or(Sw::FILE_NOT_FOUND)?;
                layout::ef(app, fid).ok_or(Sw::FILE_NOT_FOUND)?;
                self.volatile.ef = Some(fid);
                Ok(Vec::new())
            }
            _ => Err(Sw::WRONG_P1P2),
        }
    }

    fn may_read(&self, access: Access) -> bool {
        match access {
            Access::Free => true,
            Access::AfterAnyOf(pins) => pins.iter().any(|p| self.volatile.verified.contains(p)),
        }
    }

    /// READ BINARY: `00 B0 <offset> Le` on the current EF, or `00 B0 <80|SFI> <offset> Le`.
    /// Returns min(Le, what remains) bytes and `9000`; an offset at or past the end is `6B00`.
    fn read_binary(&mut self, c: &Command<'_>) -> Result<Vec<u8>, Sw> {
        let le = c.le.ok_or(Sw::WRONG_LENGTH)?;
        if !c.data.is_empty() {
            return Err(Sw::WRONG_LENGTH);
        }
        let (app, fid, offset) = if c.p1 & 0x80 != 0 {
            let sfi = u16::from(c.p1 & 0x1F);
            if c.p1 & 0x60 != 0 || sfi == 0 || sfi == 0x1F {
                return Err(Sw::WRONG_P1P2);
            }
            let app = self.volatile.app.ok_or(Sw::FILE_NOT_FOUND)?;
            layout::ef(app, sfi).ok_or(Sw::FILE_NOT_FOUND)?;
            self.volatile.ef = Some(sfi);
            (app, sfi, usize::from(c.p2))
        } else {
            let (Some(app), Some(fid)) = (self.volatile.app, self.volatile.ef) else {
                return Err(Sw::NO_CURRENT_EF);
            };
            (app, fid, usize::from(u16::from_be_bytes([c.p1, c.p2])))
        };
        let spec = layout::ef(app, fid).ok_or(Sw::FILE_NOT_FOUND)?;
        let EfKind::Binary { read, .. } = spec.kind else {
            return Err(Sw::INCOMPATIBLE_FILE);
        };
        if !self.may_read(read) {
            return Err(Sw::SECURITY_STATUS);
        }
        let content = self.held()?.file(app, fid);
        if offset >= content.len() {
            return Err(Sw::WRONG_OFFSET);
        }
        let end = offset + le.min(content.len() - offset);
        Ok(content[offset..end].to_vec())
    }

    /// The PIN, key or other object P2 names.
    fn referenced(&self, p2: u8) -> Result<ObjectId, Sw> {
        match reference(p2).ok_or(Sw::WRONG_P1P2)? {
            Reference::Current => match (self.volatile.app, self.volatile.ef) {
                (Some(app), Some(fid)) => Ok((app, fid)),
                _ => Err(Sw::NO_CURRENT_EF),
            },
            Reference::Short(fid) => Ok((self.volatile.app.ok_or(Sw::REFERENCED_DATA_NOT_FOUND)?, fid)),
        }
    }

    /// VERIFY: `00 20 00 80` (empty: the tries left, always `63Cx`) or
    /// `00 20 00 80 Lc <PIN>`; P2 = `80|SFI` names the PIN EF directly.
    fn verify(&mut self, c: &Command<'_>) -> Result<Vec<u8>, Sw> {
        if c.p1 != 0x00 {
            return Err(Sw::WRONG_P1P2);
        }
        let (app, fid) = self.referenced(c.p2)?;
        let spec = layout::pin_spec(app, fid).ok_or(Sw::REFERENCED_DATA_NOT_FOUND)?;
        let image = self.held()?;
        let face_locked = image.face_recognition() && spec.kind.is_some();
        let state = image.pin(app, fid).ok_or(Sw::MEMORY_FAILURE)?;
        let remaining = state.remaining();
        if c.data.is_empty() {
            return Err(Sw::tries_left(if face_locked { 0 } else { remaining }));
        }
        if face_locked || remaining == 0 {
            return Err(Sw::BLOCKED);
        }
        if !state.is_set() {
            return Err(Sw::REFERENCE_DATA_UNUSABLE);
        }
        self.volatile.verified.remove(&fid);
        // 1. Spend the try, durably, before looking at the PIN.
        let left = remaining - 1;
        self.pin_mut((app, fid))?.remaining = left;
        self.commit()?;
        // 2. Compare, as digests: the time taken says nothing of the stored
        // PIN's length or bytes.
        let right = {
            let state = self.held()?.pin(app, fid).ok_or(Sw::MEMORY_FAILURE)?;
            state.value.as_ref().is_some_and(|v| ct_eq(&sha256(v), &sha256(c.data)))
        };
        if !right {
            return Err(Sw::tries_left(left));
        }
        // 3. Give the try back, durably, then grant.
        self.pin_mut((app, fid))?.remaining = spec.limit;
        self.commit()?;
        self.volatile.verified.insert(fid);
        Ok(Vec::new())
    }

    fn pin_mut(&mut self, id: ObjectId) -> Result<&mut crate::image::PinState, Sw> {
        self.held_mut()?.pins.get_mut(&id).ok_or(Sw::MEMORY_FAILURE)
    }

    /// CHANGE REFERENCE DATA: `00 24 01 80 Lc <new PIN>` after a VERIFY of the same PIN.
    fn change_reference_data(&mut self, c: &Command<'_>) -> Result<Vec<u8>, Sw> {
        if c.p1 != 0x01 {
            return Err(Sw::WRONG_P1P2);
        }
        let (app, fid) = self.referenced(c.p2)?;
        let spec = layout::pin_spec(app, fid).ok_or(Sw::REFERENCED_DATA_NOT_FOUND)?;
        if self.held()?.face_recognition() && spec.kind.is_some() {
            return Err(Sw::BLOCKED);
        }
        if !self.volatile.verified.contains(&fid) {
            return Err(Sw::SECURITY_STATUS);
        }
        if c.data.is_empty() {
            return Err(Sw::WRONG_LENGTH);
        }
        if !spec.format.accepts(c.data) {
            return Err(Sw::WRONG_DATA);
        }
        let state = self.pin_mut((app, fid))?;
        state.value = Some(zeroize::Zeroizing::new(c.data.to_vec()));
        state.remaining = spec.limit;
        self.commit()?;
        Ok(Vec::new())
    }

    /// GET CHALLENGE: `00 84 00 00 10` → 16 random bytes for EXTERNAL AUTHENTICATE.
    fn get_challenge(&mut self, c: &Command<'_>) -> Result<Vec<u8>, Sw> {
        if c.p1 != 0 || c.p2 != 0 {
            return Err(Sw::WRONG_P1P2);
        }
        if !c.data.is_empty() || c.le != Some(CHALLENGE_LEN) {
            return Err(Sw::WRONG_LENGTH);
        }
        let mut challenge = [0u8; CHALLENGE_LEN];
        self.entropy.fill(&mut challenge).map_err(|_| Sw::INTERNAL_ERROR)?;
        self.volatile.challenge = Some(challenge);
        Ok(challenge.to_vec())
    }

    // --- proprietary commands (CLA 80) ---------------------------------------

    /// COMPUTE DIGITAL SIGNATURE: `80 2A 00 80 Lc <data> 00` with the current
    /// key EF (or `80 2A 00 <80|SFI>`): PKCS#1 v1.5 type-1 padding over the data.
    fn compute_digital_signature(&mut self, c: &Command<'_>) -> Result<Vec<u8>, Sw> {
        if c.p1 != 0x00 {
            return Err(Sw::WRONG_P1P2);
        }
        let (app, fid) = self.referenced(c.p2)?;
        let spec = layout::key_spec(app, fid).ok_or(Sw::REFERENCED_DATA_NOT_FOUND)?;
        // A face-recognition card refuses private-key use outright.
        if self.held()?.face_recognition() || !self.volatile.verified.contains(&spec.pin) {
            return Err(Sw::SECURITY_STATUS);
        }
        if c.data.is_empty() || c.data.len() > MAX_SIGN_INPUT || c.le.is_some_and(|le| le < 256) {
            return Err(Sw::WRONG_LENGTH);
        }
        let loaded = self.loaded.as_ref().ok_or(Sw::MEMORY_FAILURE)?;
        let key = loaded.keys.get(&(app, fid)).ok_or(Sw::REFERENCED_DATA_NOT_FOUND)?;
        key.sign_padded(c.data).map_err(|_| Sw::INTERNAL_ERROR)
    }

    /// GET DATA: `80 CA 00 5A 08` → the card serial.
    fn get_data(&mut self, c: &Command<'_>) -> Result<Vec<u8>, Sw> {
        if c.p1 != 0x00 || c.p2 != SERIAL_TAG {
            return Err(Sw::REFERENCED_DATA_NOT_FOUND);
        }
        Ok(self.held()?.serial().0.to_vec())
    }

    /// EXTERNAL AUTHENTICATE: `80 82 00 00 30 <Rh ‖ MACh> 20` right after GET
    /// CHALLENGE; opens a management session and answers the card's MAC.
    fn external_authenticate(
        &mut self,
        c: &Command<'_>,
        challenge: Option<[u8; CHALLENGE_LEN]>,
    ) -> Result<Vec<u8>, Sw> {
        self.volatile.session = None;
        if c.p1 != 0 || c.p2 != 0 {
            return Err(Sw::WRONG_P1P2);
        }
        let challenge = challenge.ok_or(Sw::CONDITIONS_NOT_SATISFIED)?;
        let image = self.held()?;
        let (session, mac) = CardSession::authenticate(&image.management_key, image.serial(), &challenge, c.data)?;
        self.volatile.session = Some(session);
        Ok(mac.to_vec())
    }

    // --- management (CLA 84, secure messaging) --------------------------------

    fn management(&mut self, c: &Command<'_>) -> Response {
        let Some(session) = self.volatile.session.as_mut() else {
            return Sw::SECURITY_STATUS.into();
        };
        let Some((counter, payload)) = session.open(c) else {
            self.volatile.session = None;
            return Sw::SM_INCORRECT.into();
        };
        let result = match c.ins {
            admin::ins::GENERATE_KEY_PAIR => self.generate_key_pair(c.p1, c.p2, &payload),
            admin::ins::WRITE_EF => self.write_ef(c.p1, c.p2, &payload),
            admin::ins::SET_PIN => self.set_pin(c.p1, c.p2, &payload),
            admin::ins::SET_MODE => self.set_mode(c.p1, c.p2, &payload),
            admin::ins::CHANGE_KEY => self.change_management_key(c.p1, c.p2, &payload),
            _ => Err(Sw::INS_NOT_SUPPORTED),
        };
        match result {
            Ok(data) => {
                let response = match &self.volatile.session {
                    Some(session) => session.seal(counter, &data),
                    None => Response::status(Sw::INTERNAL_ERROR),
                };
                if c.ins == admin::ins::CHANGE_KEY {
                    self.volatile.session = None;
                }
                response
            }
            Err(sw) => sw.into(),
        }
    }

    fn management_target(p1: u8, p2: u8) -> Result<(Application, u16, EfKind), Sw> {
        let app = Application::from_code(p1).ok_or(Sw::FILE_NOT_FOUND)?;
        let fid = u16::from(p2);
        let spec = layout::ef(app, fid).ok_or(Sw::FILE_NOT_FOUND)?;
        Ok((app, fid, spec.kind))
    }

    fn generate_key_pair(&mut self, p1: u8, p2: u8, payload: &[u8]) -> Result<Vec<u8>, Sw> {
        if !payload.is_empty() {
            return Err(Sw::WRONG_LENGTH);
        }
        let (app, fid, kind) = Self::management_target(p1, p2)?;
        let EfKind::Key(spec) = kind else {
            return Err(Sw::INCOMPATIBLE_FILE);
        };
        if self.held()?.face_recognition() && !spec.kept_on_face_card {
            return Err(Sw::CONDITIONS_NOT_SATISFIED);
        }
        let pkcs8 = self.keygen.generate_rsa_2048().map_err(|_| Sw::INTERNAL_ERROR)?;
        let key = CardKey::from_pkcs8(&pkcs8).map_err(|_| Sw::INTERNAL_ERROR)?;
        let public = key.public_key_der().to_vec();
        let image = self.held_mut()?;
        image.keys.insert((app, fid), pkcs8);
        // The old certificate no longer matches the key.
        image.files.remove(&(app, spec.certificate));
        self.commit()?;
        if let Some(loaded) = self.loaded.as_mut() {
            loaded.keys.insert((app, fid), key);
        }
        Ok(public)
    }

    fn write_ef(&mut self, p1: u8, p2: u8, content: &[u8]) -> Result<Vec<u8>, Sw> {
        let (app, fid, kind) = Self::management_target(p1, p2)?;
        let EfKind::Binary { content: expected, .. } = kind else {
            return Err(Sw::INCOMPATIBLE_FILE);
        };
        if content.len() > MAX_EF_SIZE {
            return Err(Sw::NOT_ENOUGH_MEMORY);
        }
        if !content.is_empty() {
            self.check_content(app, fid, expected, content)?;
        }
        let image = self.held_mut()?;
        if content.is_empty() {
            image.files.remove(&(app, fid));
        } else {
            image.files.insert((app, fid), content.to_vec());
        }
        self.commit()?;
        Ok(Vec::new())
    }

    /// Refuses content the clients could not read: a certificate without the
    /// `30 82 HH LL` header OpenSC requires or for another key, a My Number
    /// without its check digit, a basic 4 outside the specified layout.
    fn check_content(&self, app: Application, fid: u16, expected: Content, content: &[u8]) -> Result<(), Sw> {
        let image = self.held()?;
        match expected {
            Content::Certificate => {
                let [0x30, 0x82, hi, lo, ..] = *content else {
                    return Err(Sw::WRONG_DATA);
                };
                if content.len() != 4 + usize::from(u16::from_be_bytes([hi, lo])) {
                    return Err(Sw::WRONG_DATA);
                }
                if let Some((key_app, key_fid, spec)) =
                    layout::keys().find(|(a, _, spec)| *a == app && spec.certificate == fid)
                {
                    if image.face_recognition() && !spec.kept_on_face_card {
                        return Err(Sw::CONDITIONS_NOT_SATISFIED);
                    }
                    let loaded = self.loaded.as_ref().ok_or(Sw::MEMORY_FAILURE)?;
                    let key = loaded
                        .keys
                        .get(&(key_app, key_fid))
                        .ok_or(Sw::CONDITIONS_NOT_SATISFIED)?;
                    let public = key.public_key_der();
                    if !content.windows(public.len()).any(|w| w == public) {
                        return Err(Sw::WRONG_DATA);
                    }
                }
                Ok(())
            }
            Content::MyNumber => {
                let ok = content.len() == 17
                    && content.starts_with(&[0xFF, 0x10, 0x0C])
                    && content.ends_with(&[0xFF, 0xFF])
                    && std::str::from_utf8(&content[3..15]).is_ok_and(|t| MyNumber::parse(t).is_ok());
                if ok {
                    Ok(())
                } else {
                    Err(Sw::WRONG_DATA)
                }
            }
            Content::BasicFour => input_support::parse_basic_four(content).map(drop).ok_or(Sw::WRONG_DATA),
            Content::Opaque => Ok(()),
        }
    }

    fn set_pin(&mut self, p1: u8, p2: u8, value: &[u8]) -> Result<Vec<u8>, Sw> {
        let (app, fid, kind) = Self::management_target(p1, p2)?;
        let EfKind::Pin(spec) = kind else {
            return Err(Sw::INCOMPATIBLE_FILE);
        };
        if self.held()?.face_recognition() && spec.kind.is_some() {
            return Err(Sw::CONDITIONS_NOT_SATISFIED);
        }
        if !spec.format.accepts(value) {
            return Err(Sw::WRONG_DATA);
        }
        let state = self.pin_mut((app, fid))?;
        state.value = Some(zeroize::Zeroizing::new(value.to_vec()));
        state.remaining = spec.limit;
        self.commit()?;
        Ok(Vec::new())
    }

    fn set_mode(&mut self, p1: u8, p2: u8, payload: &[u8]) -> Result<Vec<u8>, Sw> {
        if !payload.is_empty() {
            return Err(Sw::WRONG_LENGTH);
        }
        let face = match (p1, p2) {
            (0x00, 0x00) => false,
            (0x00, 0x01) => true,
            _ => return Err(Sw::WRONG_P1P2),
        };
        let image = self.held_mut()?;
        image.face_recognition = face;
        let mut erased = Vec::new();
        if face {
            // rules.md §11: no PIN is set, no signature certificate.
            for (app, fid, spec) in layout::pins() {
                if spec.kind.is_some() {
                    if let Some(state) = image.pins.get_mut(&(app, fid)) {
                        state.value = None;
                        state.remaining = spec.limit;
                    }
                }
            }
            for (app, fid, spec) in layout::keys() {
                if !spec.kept_on_face_card {
                    image.keys.remove(&(app, fid));
                    image.files.remove(&(app, spec.certificate));
                    erased.push((app, fid));
                }
            }
        }
        self.commit()?;
        if let Some(loaded) = self.loaded.as_mut() {
            for id in erased {
                loaded.keys.remove(&id);
            }
        }
        self.volatile.verified.clear();
        Ok(Vec::new())
    }

    fn change_management_key(&mut self, p1: u8, p2: u8, payload: &[u8]) -> Result<Vec<u8>, Sw> {
        if p1 != 0 || p2 != 0 {
            return Err(Sw::WRONG_P1P2);
        }
        let key: [u8; 32] = payload.try_into().map_err(|_| Sw::WRONG_LENGTH)?;
        self.held_mut()?.management_key = admin::ManagementKey::from_bytes(key);
        self.commit()?;
        Ok(Vec::new())
    }
}

impl<S: CardStorage> Transmit for Card<S> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, admin::AdminError> {
        Ok(self.process(command))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{FileStorage, MemoryStorage};

    #[test]
    fn a_card_can_move_to_its_transport_thread() {
        fn is_send<T: Send>() {}
        is_send::<Card<FileStorage>>();
        is_send::<Card<MemoryStorage>>();
    }

    #[test]
    fn supported_instructions() {
        assert_eq!(supported(0x00, 0xA4), Ok(()));
        assert_eq!(supported(0x00, 0x2A), Err(Sw::INS_NOT_SUPPORTED));
        assert_eq!(supported(0x80, 0x2A), Ok(()));
        assert_eq!(supported(0x84, 0x46), Ok(()));
        assert_eq!(supported(0x84, 0xA4), Err(Sw::INS_NOT_SUPPORTED));
        for cla in [0x01, 0x0C, 0x10, 0x81, 0xA0, 0xB0, 0xFF] {
            assert_eq!(supported(cla, 0xA4), Err(Sw::CLA_NOT_SUPPORTED));
        }
    }
}
