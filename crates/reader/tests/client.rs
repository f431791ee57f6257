//! The resident's client ([`JpkiClient`]) over the in-process
//! [`VirtualReader`]: PIN tries, lock-out, certificates, signatures, PIN
//! change, My Number and the basic 4, and the face-recognition card.
//!
//! The cards are personalised once per test binary by the producer's line
//! (keys made on the card) with certificates from a real test CA
//! (`mynacard_pki`, in-memory repository), then copied into fresh memory
//! storage for each test.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use chrono::{NaiveDate, TimeZone, Utc};
use mynacard_card::input_support::{self, BasicFour, Sex};
use mynacard_card::layout::{input_support as kenhojo, Application};
use mynacard_card::{
    Card, CardImage, CardOrder, CardSerial, DeliveryPins, IssuedCertificate, JpkiKey, MemoryStorage, Producer, Sw,
};
use mynacard_pki::ca::memory::MemoryRepository;
use mynacard_pki::ca::{CertificateAuthority, IssuanceOptionsConfig, IssueRequest, KeyAccess};
use mynacard_pki::profile::{self, Holder, Profile};
use mynacard_reader::client::{verify_sha256, ClientError};
use mynacard_reader::{CardReader, JpkiClient, Link, PinRef, VirtualReader};
use mynacard_rules::numbers::MyNumber;
use zeroize::Zeroizing;

const AUTH_PIN: &str = "1234";
const SIGN_PIN: &str = "ABC123";
const INPUT_PIN: &str = "5678";
const REGISTRY_PIN: &str = "2468";
const MY_NUMBER: &str = "123456789018";

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn basic_four() -> BasicFour {
    BasicFour {
        name: "番号　花子".into(),
        address: "東京都千代田区霞が関２－１－２".into(),
        birth: day(1985, 4, 1),
        sex: Sex::Female,
    }
}

struct Made {
    /// The personalised image, encoded.
    image: Vec<u8>,
    auth_certificate: Vec<u8>,
    auth_ca_certificate: Vec<u8>,
    sign_certificate: Option<Vec<u8>>,
    sign_ca_certificate: Option<Vec<u8>>,
}

struct Fixture {
    producer: Producer,
    pin_card: Made,
    face_card: Made,
}

fn pin(value: &str) -> Option<Zeroizing<String>> {
    Some(Zeroizing::new(value.to_owned()))
}

/// A test CA in a scratch dir of its own (removed once the cards are made).
fn test_ca() -> (CertificateAuthority, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("reader-client-ca-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("CA dir");
    let ca = CertificateAuthority::init(
        &dir,
        true,
        &KeyAccess::Passphrase(b"client test passphrase".to_vec()),
        IssuanceOptionsConfig::default(),
        Arc::new(MemoryRepository::default()),
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single().expect("time"),
    )
    .expect("CA");
    (ca, dir)
}

fn make(producer: &Producer, ca: &CertificateAuthority, serial: CardSerial, face: bool) -> Made {
    let blank = CardImage::blank(serial, producer.management_key(serial));
    let mut card = Card::new(MemoryStorage::new(&blank)).expect("blank card");
    let order = CardOrder {
        my_number: MyNumber::parse(MY_NUMBER).expect("My Number"),
        basic_four: basic_four(),
        expiry: day(2036, 4, 1),
        face_image: b"face".to_vec(),
        signature: !face,
        face_recognition: face,
        pins: if face {
            DeliveryPins::default()
        } else {
            DeliveryPins {
                auth: pin(AUTH_PIN),
                sign: pin(SIGN_PIN),
                input_support: pin(INPUT_PIN),
                registry: pin(REGISTRY_PIN),
            }
        },
    };
    let holder = Holder {
        name: "番号　花子".into(),
        sex: profile::Sex::Female,
        birth_date: day(1985, 4, 1),
        address: "東京都千代田区霞が関２－１－２".into(),
        prefecture: "Tokyo".into(),
        municipality: "Chiyoda-ku".into(),
        name_flags: None,
        address_flags: None,
    };
    let now = Utc.with_ymd_and_hms(2026, 11, 1, 3, 0, 0).single().expect("time");
    let mut issuer = |key: JpkiKey, spki: &[u8]| -> Result<IssuedCertificate, String> {
        let issued = ca
            .issue(
                &IssueRequest {
                    profile: match key {
                        JpkiKey::Auth => Profile::UserAuthentication,
                        JpkiKey::Sign => Profile::Signature,
                    },
                    public_key_der: spki.to_vec(),
                    holder: holder.clone(),
                    issued: day(2026, 11, 1),
                    not_after_cap: Some(day(2036, 4, 1)),
                    previous_expiry: None,
                    adult_ward: false,
                    counter_code: "A01".into(),
                },
                now,
            )
            .map_err(|e| e.to_string())?;
        let ca_certificate = ca.issuer_of(&issued.der).map_err(|e| e.to_string())?.root_der.clone();
        Ok(IssuedCertificate {
            certificate: issued.der,
            ca_certificate,
        })
    };
    let produced = producer
        .personalise(&mut card, &order, &mut issuer)
        .expect("personalise");
    Made {
        image: card.image().expect("image").encode().to_vec(),
        auth_certificate: produced.auth.certificate,
        auth_ca_certificate: produced.auth.ca_certificate,
        sign_certificate: produced.sign.as_ref().map(|s| s.certificate.clone()),
        sign_ca_certificate: produced.sign.map(|s| s.ca_certificate),
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (ca, dir) = test_ca();
        let producer = Producer::generate().expect("producer");
        let pin_card = make(&producer, &ca, CardSerial(*b"MNCLNT01"), false);
        let face_card = make(&producer, &ca, CardSerial(*b"MNCLNT02"), true);
        let _ = std::fs::remove_dir_all(dir);
        Fixture {
            producer,
            pin_card,
            face_card,
        }
    })
}

fn reader_of(made: &Made) -> VirtualReader<MemoryStorage> {
    let image = CardImage::decode(&made.image).expect("image");
    VirtualReader::new("test card", Card::new(MemoryStorage::new(&image)).expect("card"))
}

fn pin_card() -> VirtualReader<MemoryStorage> {
    reader_of(&fixture().pin_card)
}

fn face_card() -> VirtualReader<MemoryStorage> {
    reader_of(&fixture().face_card)
}

fn remaining(client: &mut JpkiClient<'_>, pin: PinRef) -> u8 {
    client.pin_status(pin).expect("pin status").remaining
}

// ---------------------------------------------------------------------------

#[test]
fn status_shows_every_pin_at_its_limit() {
    let mut reader = pin_card();
    let mut client = JpkiClient::new(&mut reader);
    client.check_card().expect("a My Number Card");
    let status = client.status().expect("status");
    let seen: Vec<(PinRef, u8, u8)> = status.iter().map(|s| (s.pin, s.remaining, s.limit)).collect();
    assert_eq!(
        seen,
        [
            (PinRef::Sign, 5, 5),
            (PinRef::Auth, 3, 3),
            (PinRef::Registry, 3, 3),
            (PinRef::InputSupport, 3, 3),
        ]
    );
}

#[test]
fn wrong_pins_count_down_and_lock() {
    let mut reader = pin_card();
    let mut client = JpkiClient::new(&mut reader);
    for left in [2, 1] {
        match client.verify(PinRef::Auth, "9999") {
            Err(ClientError::WrongPin { remaining }) => assert_eq!(remaining, left),
            other => panic!("wrong PIN with {left} left: {other:?}"),
        }
    }
    // The last try locks: the card answers 63C0.
    assert!(matches!(client.verify(PinRef::Auth, "9999"), Err(ClientError::Locked)));
    // Locked: the right PIN no longer helps (6983), and nothing changes.
    assert!(matches!(
        client.verify(PinRef::Auth, AUTH_PIN),
        Err(ClientError::Locked)
    ));
    assert_eq!(remaining(&mut client, PinRef::Auth), 0);
    assert!(matches!(
        client.sign_sha256(JpkiKey::Auth, AUTH_PIN, b"x"),
        Err(ClientError::Locked)
    ));
    assert!(matches!(
        client.change_pin(PinRef::Auth, AUTH_PIN, "4321"),
        Err(ClientError::Locked)
    ));
    // The other PINs are their own.
    assert_eq!(remaining(&mut client, PinRef::Sign), 5);
    assert_eq!(remaining(&mut client, PinRef::Registry), 3);
    assert_eq!(remaining(&mut client, PinRef::InputSupport), 3);
    // A warm reset forgives nothing.
    client.reader().reset().expect("reset");
    assert_eq!(remaining(&mut client, PinRef::Auth), 0);
}

#[test]
fn a_right_pin_restores_the_tries() {
    let mut reader = pin_card();
    let mut client = JpkiClient::new(&mut reader);
    for wrong in ["AAAAA1", "BBBBB2", "CCCCC3", "DDDDD4"] {
        assert!(matches!(
            client.verify(PinRef::Sign, wrong),
            Err(ClientError::WrongPin { .. })
        ));
    }
    assert_eq!(remaining(&mut client, PinRef::Sign), 1);
    client
        .verify(PinRef::Sign, SIGN_PIN)
        .expect("the right PIN with one try left");
    assert_eq!(remaining(&mut client, PinRef::Sign), 5);
}

#[test]
fn the_signature_certificate_needs_the_signature_pin() {
    let made = &fixture().pin_card;
    let mut reader = pin_card();
    let mut client = JpkiClient::new(&mut reader);
    match client.read_certificate(JpkiKey::Sign, None) {
        Err(ClientError::Refused { sw, .. }) => assert_eq!(sw, Sw::SECURITY_STATUS),
        other => panic!("the signature certificate without a PIN: {other:?}"),
    }
    assert!(matches!(
        client.read_certificate(JpkiKey::Sign, Some("WRONG1")),
        Err(ClientError::WrongPin { remaining: 4 })
    ));
    let sign = client
        .read_certificate(JpkiKey::Sign, Some(SIGN_PIN))
        .expect("with the PIN");
    assert_eq!(Some(&sign), made.sign_certificate.as_ref());
    // The auth certificate and both CA certificates are free to read.
    let auth = client.read_certificate(JpkiKey::Auth, None).expect("auth certificate");
    assert_eq!(auth, made.auth_certificate);
    assert_eq!(
        client.read_ca_certificate(JpkiKey::Auth).expect("auth CA"),
        made.auth_ca_certificate
    );
    assert_eq!(
        Some(client.read_ca_certificate(JpkiKey::Sign).expect("sign CA")),
        made.sign_ca_certificate
    );
    assert_ne!(
        made.auth_ca_certificate,
        made.sign_ca_certificate.clone().expect("sign CA")
    );
    // Reading did not cost a try (the one wrong PIN above did).
    assert_eq!(remaining(&mut client, PinRef::Sign), 5, "restored by the right PIN");
}

#[test]
fn signatures_verify_with_the_certificate_key() {
    let made = &fixture().pin_card;
    let mut reader = pin_card();
    let mut client = JpkiClient::new(&mut reader);
    let message = "申請書 / application form".as_bytes();
    for (key, pin, certificate) in [
        (JpkiKey::Auth, AUTH_PIN, &made.auth_certificate),
        (
            JpkiKey::Sign,
            SIGN_PIN,
            made.sign_certificate.as_ref().expect("sign cert"),
        ),
    ] {
        let signed = client.sign_sha256(key, pin, message).expect("sign");
        assert_eq!(signed.signature.len(), 256);
        assert_eq!(
            &signed.certificate, certificate,
            "{key:?}: the certificate read with it"
        );
        assert!(verify_sha256(certificate, message, &signed.signature), "{key:?}");
        assert!(
            !verify_sha256(certificate, b"another message", &signed.signature),
            "{key:?}"
        );
    }
    // A signature by one key does not verify with the other's certificate.
    let signed = client.sign_sha256(JpkiKey::Auth, AUTH_PIN, message).expect("sign");
    let sign_certificate = made.sign_certificate.as_ref().expect("sign cert");
    assert!(!verify_sha256(sign_certificate, message, &signed.signature));
    // A wrong PIN signs nothing and costs a try.
    assert!(matches!(
        client.sign_sha256(JpkiKey::Sign, "WRONG1", message),
        Err(ClientError::WrongPin { remaining: 4 })
    ));
}

#[test]
fn a_new_pin_in_the_wrong_format_is_refused_before_any_try() {
    let mut reader = pin_card();
    let mut client = JpkiClient::new(&mut reader);
    for (pin, old, new) in [
        (PinRef::Auth, AUTH_PIN, "12345"),
        (PinRef::Auth, AUTH_PIN, "12a4"),
        (PinRef::Sign, SIGN_PIN, "abc123"),
        (PinRef::Sign, SIGN_PIN, "ABCDEF"),
        (PinRef::Sign, SIGN_PIN, "ABC12"),
        (PinRef::Sign, SIGN_PIN, "ABCDEFGHIJ1234567"),
        (PinRef::InputSupport, INPUT_PIN, ""),
        (PinRef::Registry, REGISTRY_PIN, "１２３４"),
    ] {
        assert!(
            matches!(client.change_pin(pin, old, new), Err(ClientError::Format(_))),
            "{pin:?} → {new:?}"
        );
        // Even with a wrong old PIN: the format is checked first, no try spent.
        assert!(matches!(
            client.change_pin(pin, "WRONG9", new),
            Err(ClientError::Format(_))
        ));
    }
    for pin in PinRef::ALL {
        let status = client.pin_status(pin).expect("status");
        assert_eq!(status.remaining, status.limit, "{pin:?}");
    }
    // The old PINs still work.
    client.verify(PinRef::Auth, AUTH_PIN).expect("auth");
    client.verify(PinRef::Sign, SIGN_PIN).expect("sign");
}

#[test]
fn change_pin_replaces_the_pin() {
    let mut reader = pin_card();
    let mut client = JpkiClient::new(&mut reader);
    // A wrong old PIN costs a try and changes nothing.
    assert!(matches!(
        client.change_pin(PinRef::Sign, "WRONG1", "NEW999"),
        Err(ClientError::WrongPin { remaining: 4 })
    ));
    client.change_pin(PinRef::Sign, SIGN_PIN, "NEW999").expect("change");
    assert_eq!(remaining(&mut client, PinRef::Sign), 5);
    assert!(matches!(
        client.verify(PinRef::Sign, SIGN_PIN),
        Err(ClientError::WrongPin { remaining: 4 })
    ));
    client.verify(PinRef::Sign, "NEW999").expect("the new PIN");
    // The 4-digit PINs may all be the same number.
    client
        .change_pin(PinRef::InputSupport, INPUT_PIN, AUTH_PIN)
        .expect("change");
    client
        .verify(PinRef::InputSupport, AUTH_PIN)
        .expect("the new input PIN");
    client.verify(PinRef::Auth, AUTH_PIN).expect("auth untouched");
}

#[test]
fn my_info_reads_my_number_and_the_basic_four() {
    let mut reader = pin_card();
    let mut client = JpkiClient::new(&mut reader);
    match client.my_info("0000") {
        Err(ClientError::WrongPin { remaining }) => assert_eq!(remaining, 2),
        other => panic!("{:?}", other.map(|i| i.signature_valid)),
    }
    let info = client.my_info(INPUT_PIN).expect("my info");
    assert_eq!(info.my_number.expose(), MY_NUMBER);
    assert_eq!(info.basic_four.basic, basic_four());
    assert!(info.signature_valid, "the producer's signature checks");
    assert_eq!(remaining(&mut client, PinRef::InputSupport), 3);
}

#[test]
fn my_info_flags_a_tampered_basic_four() {
    let f = fixture();
    let mut reader = pin_card();
    // Someone holding a management key rewrites the basic 4 (no APDU of
    // the resident can): the name changes, the producer's signature stays.
    let forged = input_support::basic_four_ef(&BasicFour {
        name: "偽造　太郎".into(),
        ..basic_four()
    })
    .expect("basic 4 EF");
    {
        let mut link = Link(&mut reader);
        let mut session = f.producer.open_session(&mut link).expect("management session");
        session
            .write_file(&mut link, Application::InputSupport, kenhojo::BASIC_FOUR, &forged)
            .expect("write EF 0002");
    }
    reader.reset().expect("reset");
    let mut client = JpkiClient::new(&mut reader);
    let info = client.my_info(INPUT_PIN).expect("my info");
    assert_eq!(info.basic_four.basic.name, "偽造　太郎");
    assert_eq!(info.my_number.expose(), MY_NUMBER);
    assert!(!info.signature_valid, "the producer's signature must not check");
}

#[test]
fn a_face_recognition_card_has_no_usable_pin_and_no_signature_key() {
    let made = &fixture().face_card;
    assert!(made.sign_certificate.is_none());
    let mut reader = face_card();
    let mut client = JpkiClient::new(&mut reader);
    client.check_card().expect("a My Number Card");
    for status in client.status().expect("status") {
        assert_eq!(status.remaining, 0, "{:?}", status.pin);
        assert_eq!(status.limit, status.pin.kind().retry_limit());
    }
    for (pin, value) in [
        (PinRef::Auth, AUTH_PIN),
        (PinRef::Sign, SIGN_PIN),
        (PinRef::InputSupport, INPUT_PIN),
        (PinRef::Registry, REGISTRY_PIN),
    ] {
        assert!(matches!(client.verify(pin, value), Err(ClientError::Locked)), "{pin:?}");
    }
    assert!(matches!(
        client.sign_sha256(JpkiKey::Auth, AUTH_PIN, b"x"),
        Err(ClientError::Locked)
    ));
    assert!(matches!(
        client.sign_sha256(JpkiKey::Sign, SIGN_PIN, b"x"),
        Err(ClientError::Locked)
    ));
    assert!(client.my_info(INPUT_PIN).is_err());
    assert!(client.change_pin(PinRef::Auth, AUTH_PIN, "4321").is_err());
    // The auth certificate (and its CA's) stays readable: a face card still
    // identifies its holder online after a face match.
    assert_eq!(
        client.read_certificate(JpkiKey::Auth, None).expect("auth certificate"),
        made.auth_certificate
    );
    assert_eq!(
        client.read_ca_certificate(JpkiKey::Auth).expect("auth CA"),
        made.auth_ca_certificate
    );
    assert!(client.read_certificate(JpkiKey::Sign, None).is_err());
}

#[test]
fn the_auth_key_signs_raw_data_through_the_client_apdus() {
    // COMPUTE DIGITAL SIGNATURE refuses the key without its PIN, even right
    // after the PIN of the other key.
    let mut reader = pin_card();
    let mut client = JpkiClient::new(&mut reader);
    client.verify(PinRef::Sign, SIGN_PIN).expect("sign PIN");
    client
        .select_file(JpkiKey::Auth.key_fid())
        .expect("select the auth key");
    let response = client
        .reader()
        .transmit(&[0x80, 0x2A, 0x00, 0x80, 0x03, 1, 2, 3, 0x00])
        .expect("transmit");
    assert_eq!(response, [0x69, 0x82]);
}
