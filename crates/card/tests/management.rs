//! Personalisation and the window's PIN reset, behind the card-management key.

mod common;

use common::*;
use mynacard_card::admin::{self, AdminError, ManagementSession, Transmit};
use mynacard_card::apdu::Sw;
use mynacard_card::input_support;
use mynacard_card::layout::{input_support as kenhojo, jpki, resident_registry, Application};
use mynacard_card::{Card, ManagementKey, MemoryStorage};
use mynacard_rules::numbers::MyNumber;

/// Changes a response on the wire, given the command it answers.
type Tamper = Box<dyn FnMut(&[u8], &mut Vec<u8>)>;

/// A transport that lets a test see and change what passes.
struct Wire<'a> {
    card: &'a mut Card<MemoryStorage>,
    sent: Vec<Vec<u8>>,
    tamper_response: Option<Tamper>,
}

impl Transmit for Wire<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, AdminError> {
        self.sent.push(command.to_vec());
        let mut response = self.card.process(command);
        if let Some(tamper) = self.tamper_response.as_mut() {
            tamper(command, &mut response);
        }
        Ok(response)
    }
}

fn wire(card: &mut Card<MemoryStorage>) -> Wire<'_> {
    Wire {
        card,
        sent: Vec::new(),
        tamper_response: None,
    }
}

#[test]
fn only_the_management_key_opens_a_session() {
    let mut card = card();
    let wrong = ManagementKey::derive(b"another producer", SERIAL);
    assert_eq!(
        ManagementSession::open(&mut card, &wrong).err(),
        Some(AdminError::Status(Sw::AUTHENTICATION_FAILED))
    );
    // Without a session, management commands are refused and change nothing.
    for command in [
        "842C011810 00000000000000000000000000000000",
        "84F0000110 00000000000000000000000000000000",
    ] {
        assert_eq!(sw(&mut card, command), 0x6982);
    }
    // The right key, directly or diversified from the master.
    assert!(ManagementSession::open(&mut card, &management_key()).is_ok());
    let session = ManagementSession::open_with_master(&mut card, b"test producer master key").expect("master");
    assert_eq!(session.serial(), SERIAL);
    assert!(ManagementSession::open_with_master(&mut card, b"wrong master").is_err());
}

#[test]
fn the_window_resets_a_locked_pin() {
    let mut card = card();
    select_app(&mut card, Application::Jpki);
    select_ef(&mut card, jpki::AUTH_PIN);
    for _ in 0..3 {
        verify(&mut card, b"0000");
    }
    assert_eq!(verify(&mut card, AUTH_PIN), 0x6983);
    let mut session = ManagementSession::open(&mut card, &management_key()).expect("session");
    // The new PIN must have the PIN's format.
    assert_eq!(
        session
            .set_pin(&mut card, Application::Jpki, jpki::AUTH_PIN, b"12345")
            .err(),
        Some(AdminError::Status(Sw::WRONG_DATA))
    );
    session
        .set_pin(&mut card, Application::Jpki, jpki::AUTH_PIN, b"4321")
        .expect("reset");
    assert_eq!(tries(&card, Application::Jpki, jpki::AUTH_PIN), 3);
    select_app(&mut card, Application::Jpki);
    select_ef(&mut card, jpki::AUTH_PIN);
    assert_eq!(verify(&mut card, AUTH_PIN), 0x63C2);
    assert_eq!(verify(&mut card, b"4321"), 0x9000);
    // Every PIN object can be set; a key or binary EF cannot.
    let mut session = ManagementSession::open(&mut card, &management_key()).expect("session");
    session
        .set_pin(
            &mut card,
            Application::ResidentRegistry,
            resident_registry::PIN,
            b"1111",
        )
        .expect("juki");
    assert_eq!(
        session
            .set_pin(&mut card, Application::Jpki, jpki::AUTH_KEY, b"1111")
            .err(),
        Some(AdminError::Status(Sw::INCOMPATIBLE_FILE))
    );
    assert_eq!(
        session.set_pin(&mut card, Application::Jpki, 0x0009, b"1111").err(),
        Some(AdminError::Status(Sw::FILE_NOT_FOUND))
    );
}

#[test]
fn tampered_replayed_or_injected_commands_close_the_session() {
    let mut card = card();
    let mut w = wire(&mut card);
    let mut session = ManagementSession::open(&mut w, &management_key()).expect("session");
    session
        .set_pin(&mut w, Application::Jpki, jpki::AUTH_PIN, b"1111")
        .expect("first");
    let sealed = w.sent.last().cloned().expect("sent");
    // Replayed: the counter has moved on.
    let replay = w.card.process(&sealed);
    assert_eq!(replay, [0x69, 0x88]);
    // The session is gone.
    assert_eq!(
        session
            .set_pin(&mut w, Application::Jpki, jpki::AUTH_PIN, b"2222")
            .err(),
        Some(AdminError::Status(Sw::SECURITY_STATUS))
    );
    // A flipped bit in a sealed command.
    let mut session = ManagementSession::open(&mut w, &management_key()).expect("session");
    session
        .set_pin(&mut w, Application::Jpki, jpki::AUTH_PIN, b"3333")
        .expect("ok");
    let mut forged = w.sent.last().cloned().expect("sent");
    let n = forged.len();
    forged[n - 5] ^= 1;
    assert_eq!(w.card.process(&forged), [0x69, 0x88]);
    // Same payload, other target (P2 changed): the header is authenticated.
    let mut session = ManagementSession::open(&mut w, &management_key()).expect("session");
    session
        .set_pin(&mut w, Application::Jpki, jpki::AUTH_PIN, b"4444")
        .expect("ok");
    let mut moved = w.sent.last().cloned().expect("sent");
    moved[3] = jpki::SIGN_PIN as u8;
    assert_eq!(w.card.process(&moved), [0x69, 0x88]);
    assert_eq!(tries(w.card, Application::Jpki, jpki::SIGN_PIN), 5);
    // The last value that went through is the auth PIN.
    select_app(w.card, Application::Jpki);
    select_ef(w.card, jpki::AUTH_PIN);
    assert_eq!(verify(w.card, b"4444"), 0x9000);
}

#[test]
fn a_swapped_public_key_or_a_fake_card_is_detected_by_the_host() {
    let mut card = card();
    // A man in the middle replaces the public key GENERATE KEY PAIR returns.
    let mut w = wire(&mut card);
    let mut session = ManagementSession::open(&mut w, &management_key()).expect("session");
    w.tamper_response = Some(Box::new(|command, response| {
        if command.get(..2) == Some(&[admin::CLA_MANAGEMENT, admin::ins::GENERATE_KEY_PAIR]) && response.len() > 100 {
            response[50] ^= 0xFF;
        }
    }));
    assert_eq!(
        session
            .generate_key_pair(&mut w, Application::Jpki, jpki::AUTH_KEY)
            .err(),
        Some(AdminError::BadResponse)
    );
    // A card that does not hold the key cannot fake EXTERNAL AUTHENTICATE's answer.
    w.tamper_response = Some(Box::new(|command, response| {
        if command.get(..2) == Some(&[0x80, 0x82]) && response.len() == 34 {
            response[0] ^= 1;
        }
    }));
    assert_eq!(
        ManagementSession::open(&mut w, &management_key()).err(),
        Some(AdminError::CardNotAuthenticated)
    );
}

#[test]
fn keys_are_generated_on_the_card_and_certificates_must_match_them() {
    let mut card = card();
    let mut session = ManagementSession::open(&mut card, &management_key()).expect("session");
    // The fixed generator hands out the auth test key first.
    let spki = session
        .generate_key_pair(&mut card, Application::Jpki, jpki::AUTH_KEY)
        .expect("generate");
    assert_eq!(
        mynacard_card::crypto::RsaPublic::from_spki(&spki).ok().as_ref(),
        Some(&fixture().auth_public)
    );
    // The old certificate is gone with the old key.
    assert!(card
        .image()
        .expect("image")
        .file(Application::Jpki, jpki::AUTH_CERT)
        .is_empty());
    // A certificate for another key, or without the 30 82 header, is refused.
    let other = fake_certificate(Some(&[0x30; 294]), 1500, 9);
    let good = fake_certificate(Some(&spki), 1500, 9);
    let mut short = good.clone();
    short.truncate(1400);
    let mut one_byte_length = vec![0x30, 0x81, 0x7C];
    one_byte_length.extend_from_slice(&[0; 0x7C]);
    for bad in [&other, &short, &one_byte_length] {
        assert_eq!(
            session
                .write_file(&mut card, Application::Jpki, jpki::AUTH_CERT, bad)
                .err(),
            Some(AdminError::Status(Sw::WRONG_DATA))
        );
    }
    session
        .write_file(&mut card, Application::Jpki, jpki::AUTH_CERT, &good)
        .expect("write");
    // Key EFs take no content; binary EFs take no key.
    assert_eq!(
        session
            .write_file(&mut card, Application::Jpki, jpki::AUTH_KEY, &good)
            .err(),
        Some(AdminError::Status(Sw::INCOMPATIBLE_FILE))
    );
    assert_eq!(
        session
            .generate_key_pair(&mut card, Application::Jpki, jpki::AUTH_CERT)
            .err(),
        Some(AdminError::Status(Sw::INCOMPATIBLE_FILE))
    );
    // Too large for an EF.
    assert_eq!(
        session
            .write_file(&mut card, Application::Surface, 0x0002, &vec![0; 0x8001])
            .err(),
        Some(AdminError::Status(Sw::NOT_ENOUGH_MEMORY))
    );
    // A certificate before its key.
    let mut blank = blank_card();
    let mut s = ManagementSession::open(&mut blank, &management_key()).expect("session");
    assert_eq!(
        s.write_file(&mut blank, Application::Jpki, jpki::SIGN_CERT, &good)
            .err(),
        Some(AdminError::Status(Sw::CONDITIONS_NOT_SATISFIED))
    );
    // CA certificates have no key to match.
    s.write_file(&mut blank, Application::Jpki, jpki::AUTH_CA_CERT, &good)
        .expect("CA");
    // The response carried the public key only: no private bytes left the card.
    let private = card.image().expect("image").has_key(Application::Jpki, jpki::AUTH_KEY);
    assert!(private);
    assert_eq!(spki.len(), 294);
}

#[test]
fn input_support_data_is_checked_on_write() {
    let mut card = blank_card();
    let mut s = ManagementSession::open(&mut card, &management_key()).expect("session");
    let mut bad_check_digit = input_support::my_number_ef(&MyNumber::parse(MY_NUMBER).expect("n"));
    bad_check_digit[14] = b'9';
    let mut bad_offsets = input_support::basic_four_ef(&basic_four()).expect("basic");
    bad_offsets[7] += 1;
    for (fid, content) in [
        (kenhojo::MY_NUMBER, &bad_check_digit),
        (kenhojo::BASIC_FOUR, &bad_offsets),
    ] {
        assert_eq!(
            s.write_file(&mut card, Application::InputSupport, fid, content).err(),
            Some(AdminError::Status(Sw::WRONG_DATA))
        );
    }
    // An empty write erases.
    let good = input_support::my_number_ef(&MyNumber::parse(MY_NUMBER).expect("n"));
    s.write_file(&mut card, Application::InputSupport, kenhojo::MY_NUMBER, &good)
        .expect("write");
    s.write_file(&mut card, Application::InputSupport, kenhojo::MY_NUMBER, &[])
        .expect("erase");
    assert!(card
        .image()
        .expect("image")
        .file(Application::InputSupport, kenhojo::MY_NUMBER)
        .is_empty());
}

#[test]
fn face_recognition_conversion_and_back() {
    let mut card = card();
    let mut s = ManagementSession::open(&mut card, &management_key()).expect("session");
    s.set_face_recognition(&mut card, true).expect("face");
    let image = card.image().expect("image");
    assert!(image.face_recognition());
    assert!(!image.has_key(Application::Jpki, jpki::SIGN_KEY));
    assert!(image.file(Application::Jpki, jpki::SIGN_CERT).is_empty());
    assert!(image.has_key(Application::Jpki, jpki::AUTH_KEY));
    assert!(!image.file(Application::Jpki, jpki::AUTH_CERT).is_empty());
    assert!(!image.pin(Application::Jpki, jpki::AUTH_PIN).expect("pin").is_set());
    // While a face card: no PIN, no signature key.
    assert_eq!(
        s.set_pin(&mut card, Application::Jpki, jpki::AUTH_PIN, b"1234").err(),
        Some(AdminError::Status(Sw::CONDITIONS_NOT_SATISFIED))
    );
    assert_eq!(
        s.generate_key_pair(&mut card, Application::Jpki, jpki::SIGN_KEY).err(),
        Some(AdminError::Status(Sw::CONDITIONS_NOT_SATISFIED))
    );
    // The auth certificate may be renewed on a face card.
    s.generate_key_pair(&mut card, Application::Jpki, jpki::AUTH_KEY)
        .expect("auth key");
    // Back to a PIN card: PINs set again, a signature key again.
    s.set_face_recognition(&mut card, false).expect("PIN card");
    select_app(&mut card, Application::Jpki);
    select_ef(&mut card, jpki::AUTH_PIN);
    assert_eq!(verify(&mut card, AUTH_PIN), 0x6984, "not set yet");
    assert_eq!(verify(&mut card, b""), 0x63C3);
    s.set_pin(&mut card, Application::Jpki, jpki::AUTH_PIN, b"2580")
        .expect("set");
    s.generate_key_pair(&mut card, Application::Jpki, jpki::SIGN_KEY)
        .expect("sign key");
    select_app(&mut card, Application::Jpki);
    select_ef(&mut card, jpki::AUTH_PIN);
    assert_eq!(verify(&mut card, b"2580"), 0x9000);
    assert_eq!(
        s.command(&mut card, admin::ins::SET_MODE, 0x00, 0x02, &[]).err(),
        Some(AdminError::Status(Sw::WRONG_P1P2))
    );
}

#[test]
fn the_management_key_can_be_replaced_and_reset_ends_sessions() {
    let mut card = card();
    let s = ManagementSession::open(&mut card, &management_key()).expect("session");
    let new = ManagementKey::from_bytes([0x5A; 32]);
    s.change_management_key(&mut card, &new).expect("change");
    assert!(ManagementSession::open(&mut card, &management_key()).is_err());
    let mut s = ManagementSession::open(&mut card, &new).expect("new key");
    card.reset();
    assert_eq!(
        s.set_pin(&mut card, Application::Jpki, jpki::AUTH_PIN, b"1111").err(),
        Some(AdminError::Status(Sw::SECURITY_STATUS))
    );
    let mut s = ManagementSession::open(&mut card, &new).expect("again");
    card.power_off();
    card.power_on();
    assert_eq!(
        s.set_pin(&mut card, Application::Jpki, jpki::AUTH_PIN, b"1111").err(),
        Some(AdminError::Status(Sw::SECURITY_STATUS))
    );
    // A session survives ordinary commands in between (the reader is shared).
    let mut s = ManagementSession::open(&mut card, &new).expect("again");
    select_app(&mut card, Application::Jpki);
    assert_eq!(verify(&mut card, b""), 0x6986);
    s.set_pin(&mut card, Application::Jpki, jpki::AUTH_PIN, b"1111")
        .expect("still open");
}
