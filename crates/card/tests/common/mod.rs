//! A personalised test card, built once per test binary through the real
//! management protocol with fixed keys (tests/fixtures/keys), then copied
//! into fresh memory storage for each test.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::NaiveDate;
use mynacard_card::admin::ManagementSession;
use mynacard_card::crypto::{CryptoError, Entropy, KeyGenerator, RsaPublic};
use mynacard_card::input_support::{self, BasicFour, Sex};
use mynacard_card::layout::{input_support as kenhojo, jpki, resident_registry, surface as kenkaku, Application};
use mynacard_card::surface::{self, SurfaceEntries};
use mynacard_card::{Card, CardImage, CardSerial, CardStorage, ManagementKey, MemoryStorage};
use mynacard_pki::{Signer as _, SoftwareKey};
use mynacard_rules::numbers::MyNumber;
use zeroize::Zeroizing;

pub const AUTH_KEY: &[u8] = include_bytes!("../fixtures/keys/auth.pk8");
pub const SIGN_KEY: &[u8] = include_bytes!("../fixtures/keys/sign.pk8");
pub const PRODUCER_KEY: &[u8] = include_bytes!("../fixtures/keys/producer.pk8");

pub const AUTH_PIN: &[u8] = b"1234";
pub const SIGN_PIN: &[u8] = b"ABC123";
pub const INPUT_PIN: &[u8] = b"5678";
pub const REGISTRY_PIN: &[u8] = b"2468";
pub const MY_NUMBER: &str = "123456789018";
/// 照合番号B: birth YYMMDD, expiry year, security code.
pub const PIN_B: &[u8] = b"85040120351234";
pub const BIRTH_PIN: &[u8] = b"850401";
pub const SERIAL: CardSerial = CardSerial([0x4D, 0x59, 0x4E, 0x41, 0x00, 0x00, 0x00, 0x01]);

pub fn management_key() -> ManagementKey {
    ManagementKey::derive(b"test producer master key", SERIAL)
}

/// Deterministic "randomness": SHA-256 of a counter.
#[derive(Default)]
pub struct CounterEntropy(u64);

impl Entropy for CounterEntropy {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), CryptoError> {
        for chunk in out.chunks_mut(32) {
            self.0 += 1;
            let block = mynacard_card::crypto::sha256(&self.0.to_be_bytes());
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        Ok(())
    }
}

/// Hands out the fixed test keys in turn: auth, sign, auth, sign, …
#[derive(Default)]
pub struct FixedKeys(usize);

impl KeyGenerator for FixedKeys {
    fn generate_rsa_2048(&mut self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let key = if self.0.is_multiple_of(2) { AUTH_KEY } else { SIGN_KEY };
        self.0 += 1;
        Ok(Zeroizing::new(key.to_vec()))
    }
}

/// A card over `storage` with the deterministic sources.
pub fn card_on(storage: MemoryStorage) -> Card<MemoryStorage> {
    Card::with_sources(
        storage,
        Box::new(CounterEntropy::default()),
        Box::new(FixedKeys::default()),
    )
    .expect("the card loads")
}

/// A certificate-shaped blob: `30 82 HH LL`, the public key, filler.
pub fn fake_certificate(spki: Option<&[u8]>, total: usize, seed: u8) -> Vec<u8> {
    let body_len = total - 4;
    let mut out = vec![0x30, 0x82, (body_len >> 8) as u8, body_len as u8];
    let mut i = 0usize;
    if let Some(spki) = spki {
        out.extend_from_slice(&[0x04, 0x04, seed, seed, seed, seed]);
        out.extend_from_slice(spki);
    }
    while out.len() < total {
        out.push((i as u8).wrapping_mul(31).wrapping_add(seed));
        i += 1;
    }
    out
}

pub fn basic_four() -> BasicFour {
    BasicFour {
        name: "番号　花子".into(),
        address: "東京都千代田区霞が関２－１－２".into(),
        birth: NaiveDate::from_ymd_opt(1985, 4, 1).expect("date"),
        sex: Sex::Female,
    }
}

pub struct Fixture {
    /// The personalised image, encoded.
    pub image: Vec<u8>,
    /// The face-recognition card made from it.
    pub face_image: Vec<u8>,
    /// Named byte strings for the golden traces.
    pub values: BTreeMap<&'static str, Vec<u8>>,
    pub auth_public: RsaPublic,
    pub sign_public: RsaPublic,
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build_fixture)
}

fn build_fixture() -> Fixture {
    use Application::{InputSupport, Jpki, ResidentRegistry, Surface};
    let blank = CardImage::blank(SERIAL, management_key());
    let mut card = card_on(MemoryStorage::new(&blank));
    let mut s = ManagementSession::open(&mut card, &management_key()).expect("session");
    let auth_spki = s.generate_key_pair(&mut card, Jpki, jpki::AUTH_KEY).expect("auth key");
    let sign_spki = s.generate_key_pair(&mut card, Jpki, jpki::SIGN_KEY).expect("sign key");

    let mut values = BTreeMap::new();
    values.insert("TOKEN", mynacard_card::layout::JPKI_TOKEN.to_vec());
    // 0x061F bytes after the header: what the TEX2E trace reads in one go.
    values.insert("AUTH_CERT", fake_certificate(Some(&auth_spki), 4 + 0x061F, 1));
    values.insert("SIGN_CERT", fake_certificate(Some(&sign_spki), 1800, 2));
    values.insert("AUTH_CA", fake_certificate(None, 1200, 3));
    values.insert("SIGN_CA", fake_certificate(None, 1300, 4));
    for (name, fid) in [
        ("AUTH_CERT", jpki::AUTH_CERT),
        ("SIGN_CERT", jpki::SIGN_CERT),
        ("AUTH_CA", jpki::AUTH_CA_CERT),
        ("SIGN_CA", jpki::SIGN_CA_CERT),
    ] {
        s.write_file(&mut card, Jpki, fid, &values[name]).expect(name);
    }

    let producer = SoftwareKey::from_pkcs8(PRODUCER_KEY).expect("producer key");
    let number = MyNumber::parse(MY_NUMBER).expect("my number");
    let ef1 = input_support::my_number_ef(&number);
    let ef2 = input_support::basic_four_ef(&basic_four()).expect("basic 4");
    let ef3 = input_support::signature_ef(&ef1, &ef2, &producer).expect("signature");
    let ef4 = input_support::producer_certificate_ef([0x11; 16], [0x22; 16], producer.public_key_der(), &producer)
        .expect("producer certificate");
    let ef5 = input_support::ap_info_ef([0x01, 0x00, 0x00, 0x01], [0x33; 16]);
    for (name, fid, content) in [
        ("MY_NUMBER_EF", kenhojo::MY_NUMBER, ef1),
        ("BASIC4_EF", kenhojo::BASIC_FOUR, ef2),
        ("SIGNATURE_EF", kenhojo::SIGNATURE, ef3),
        ("PRODUCER_CERT_EF", kenhojo::PRODUCER_CERT, ef4),
        ("AP_INFO_EF", kenhojo::AP_INFO, ef5),
    ] {
        s.write_file(&mut card, InputSupport, fid, &content).expect(name);
        values.insert(name, content);
    }

    let entries = SurfaceEntries {
        birth: NaiveDate::from_ymd_opt(1985, 4, 1).expect("date"),
        sex: Sex::Female,
        name_image: b"\x89PNG name".to_vec(),
        address_image: b"\x89PNG address".to_vec(),
        face_image: [b"\x00\x00\x00\x0CjP  ".as_slice(), &[0x5A; 3000]].concat(),
        expiry: NaiveDate::from_ymd_opt(2035, 4, 1).expect("date"),
        security_code_image: b"\x89PNG code".to_vec(),
    };
    let entries_ef = surface::entries_ef(&entries, &producer).expect("entries");
    for (name, fid, content) in [
        ("SURFACE_BIRTH", kenkaku::BIRTH, b"19850401".to_vec()),
        ("SURFACE_ENTRIES", kenkaku::ENTRIES, entries_ef),
        ("SURFACE_INFO", kenkaku::INFO, vec![0xFF, 0x40, 0x02, 0xDF, 0x00]),
        ("SURFACE_MY_NUMBER", kenkaku::MY_NUMBER, b"\x89PNG my number".to_vec()),
    ] {
        s.write_file(&mut card, Surface, fid, &content).expect(name);
        values.insert(name, content);
    }

    for (app, fid, value) in [
        (Jpki, jpki::AUTH_PIN, AUTH_PIN),
        (Jpki, jpki::SIGN_PIN, SIGN_PIN),
        (InputSupport, kenhojo::PIN, INPUT_PIN),
        (InputSupport, kenhojo::PIN_A, MY_NUMBER.as_bytes()),
        (InputSupport, kenhojo::PIN_B, PIN_B),
        (Surface, kenkaku::BIRTH_PIN, BIRTH_PIN),
        (Surface, kenkaku::PIN_A, MY_NUMBER.as_bytes()),
        (Surface, kenkaku::PIN_B, PIN_B),
        (ResidentRegistry, resident_registry::PIN, REGISTRY_PIN),
    ] {
        s.set_pin(&mut card, app, fid, value).expect("pin");
    }
    let image = card.image().expect("image").encode().to_vec();

    s.set_face_recognition(&mut card, true).expect("face card");
    let face_image = card.image().expect("image").encode().to_vec();

    for (name, app) in [
        ("AID_JPKI", Jpki),
        ("AID_KENHOJO", InputSupport),
        ("AID_KENKAKU", Surface),
        ("AID_JUKI", ResidentRegistry),
    ] {
        values.insert(name, app.aid().to_vec());
    }
    values.insert("SERIAL", SERIAL.0.to_vec());
    values.insert("MY_NUMBER", MY_NUMBER.as_bytes().to_vec());
    Fixture {
        image,
        face_image,
        values,
        auth_public: RsaPublic::from_spki(&auth_spki).expect("auth public"),
        sign_public: RsaPublic::from_spki(&sign_spki).expect("sign public"),
    }
}

fn storage_of(encoded: &[u8]) -> MemoryStorage {
    MemoryStorage::new(&CardImage::decode(encoded).expect("fixture image"))
}

/// A fresh personalised card (after power-on: nothing selected).
pub fn card() -> Card<MemoryStorage> {
    card_on(storage_of(&fixture().image))
}

/// A fresh face-recognition card.
pub fn face_card() -> Card<MemoryStorage> {
    card_on(storage_of(&fixture().face_image))
}

/// A card straight from the factory.
pub fn blank_card() -> Card<MemoryStorage> {
    card_on(MemoryStorage::new(&CardImage::blank(SERIAL, management_key())))
}

pub fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).expect("ascii"), 16).expect("hex"))
        .collect()
}

/// Sends `command` (hex) and returns (data, SW).
pub fn send<S: CardStorage>(card: &mut Card<S>, command: &[u8]) -> (Vec<u8>, u16) {
    let response = card.process(command);
    assert!(response.len() >= 2, "a response always has a status word");
    let (data, sw) = response.split_at(response.len() - 2);
    (data.to_vec(), u16::from_be_bytes([sw[0], sw[1]]))
}

pub fn sw<S: CardStorage>(card: &mut Card<S>, command: &str) -> u16 {
    send(card, &hex(command)).1
}

pub fn select_app<S: CardStorage>(card: &mut Card<S>, app: Application) {
    let mut command = hex("00A4040C0A");
    command.extend_from_slice(app.aid());
    assert_eq!(send(card, &command).1, 0x9000);
}

pub fn select_ef<S: CardStorage>(card: &mut Card<S>, fid: u16) -> u16 {
    let mut command = hex("00A4020C02");
    command.extend_from_slice(&fid.to_be_bytes());
    send(card, &command).1
}

pub fn verify<S: CardStorage>(card: &mut Card<S>, pin: &[u8]) -> u16 {
    let mut command = vec![0x00, 0x20, 0x00, 0x80];
    if !pin.is_empty() {
        command.push(pin.len() as u8);
        command.extend_from_slice(pin);
    }
    send(card, &command).1
}

/// The tries left of a PIN, read from the image (not through APDUs).
pub fn tries<S: CardStorage>(card: &Card<S>, app: Application, fid: u16) -> u8 {
    card.image().expect("loaded").pin(app, fid).expect("pin").remaining()
}
