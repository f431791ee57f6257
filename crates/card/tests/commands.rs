//! Each command of the engine, through `Card::process`, beyond what the
//! golden traces show: state kept and cleared, exact counts of commits and
//! tries, READ BINARY's rest-of-file rule, signatures that verify.

mod common;

use common::*;
use mynacard_card::apdu::Command;
use mynacard_card::crypto::digest_info;
use mynacard_card::input_support;
use mynacard_card::layout::{input_support as kenhojo, jpki, Application};
use mynacard_card::storage::Fault;

fn generation(card: &mynacard_card::Card<mynacard_card::MemoryStorage>) -> u64 {
    card.image().expect("loaded").generation()
}

#[test]
fn select_keeps_and_clears_the_security_state() {
    let mut card = card();
    select_app(&mut card, Application::Jpki);
    assert_eq!(select_ef(&mut card, jpki::SIGN_PIN), 0x9000);
    assert_eq!(verify(&mut card, SIGN_PIN), 0x9000);
    // SELECT EF inside the DF keeps it.
    assert_eq!(select_ef(&mut card, jpki::SIGN_CERT), 0x9000);
    assert_eq!(sw(&mut card, "00B0000004"), 0x9000);
    // A failed SELECT changes nothing.
    assert_eq!(sw(&mut card, "00A4040C0AD392F000260100000099"), 0x6A82);
    assert_eq!(select_ef(&mut card, 0x0009), 0x6A82);
    assert_eq!(sw(&mut card, "00B0000004"), 0x9000);
    // SELECT of the same application clears it.
    select_app(&mut card, Application::Jpki);
    assert_eq!(select_ef(&mut card, jpki::SIGN_CERT), 0x9000);
    assert_eq!(sw(&mut card, "00B0000004"), 0x6982);
    // Reset, power off and on clear it, and the current DF.
    select_app(&mut card, Application::Jpki);
    assert_eq!(sw(&mut card, "0020009B06414243313233"), 0x9000);
    card.reset();
    assert_eq!(sw(&mut card, "00B0000004"), 0x6986);
    assert_eq!(select_ef(&mut card, jpki::SIGN_CERT), 0x6A82);
    select_app(&mut card, Application::Jpki);
    assert_eq!(sw(&mut card, "0020009B06414243313233"), 0x9000);
    card.power_off();
    card.power_on();
    select_app(&mut card, Application::Jpki);
    assert_eq!(select_ef(&mut card, jpki::SIGN_CERT), 0x9000);
    assert_eq!(sw(&mut card, "00B0000004"), 0x6982);
}

#[test]
fn verify_costs_one_try_and_commits_before_comparing() {
    let mut card = card();
    select_app(&mut card, Application::Jpki);
    select_ef(&mut card, jpki::AUTH_PIN);
    let g = generation(&card);
    // Empty VERIFY: no write.
    assert_eq!(verify(&mut card, b""), 0x63C3);
    assert_eq!(generation(&card), g);
    // Wrong: one write (the decrement), one try.
    assert_eq!(verify(&mut card, b"0000"), 0x63C2);
    assert_eq!(generation(&card), g + 1);
    assert_eq!(tries(&card, Application::Jpki, jpki::AUTH_PIN), 2);
    assert_eq!(
        card.storage()
            .durable()
            .expect("durable")
            .pin(Application::Jpki, jpki::AUTH_PIN)
            .map(|p| p.remaining()),
        Some(2)
    );
    // Right: the decrement, then the restore.
    assert_eq!(verify(&mut card, AUTH_PIN), 0x9000);
    assert_eq!(generation(&card), g + 3);
    assert_eq!(tries(&card, Application::Jpki, jpki::AUTH_PIN), 3);
    // Locked: no write at all.
    for expected in [0x63C2, 0x63C1, 0x63C0] {
        assert_eq!(verify(&mut card, b"9999"), expected);
    }
    let g = generation(&card);
    assert_eq!(verify(&mut card, AUTH_PIN), 0x6983);
    assert_eq!(verify(&mut card, b""), 0x63C0);
    assert_eq!(generation(&card), g);
}

#[test]
fn a_wrong_pin_clears_an_earlier_verification() {
    let mut card = card();
    select_app(&mut card, Application::Jpki);
    select_ef(&mut card, jpki::AUTH_PIN);
    assert_eq!(verify(&mut card, AUTH_PIN), 0x9000);
    assert_eq!(verify(&mut card, b"0000"), 0x63C2);
    select_ef(&mut card, jpki::AUTH_KEY);
    assert_eq!(sw(&mut card, "802A0080030102 0300"), 0x6982);
}

#[test]
fn read_binary_returns_what_remains() {
    let mut card = card();
    let cert = &fixture().values["AUTH_CERT"];
    select_app(&mut card, Application::Jpki);
    select_ef(&mut card, jpki::AUTH_CERT);
    // Mid-file Le 00 gives a full 256 (jpki-rs's loop depends on it).
    let (data, sw) = send(&mut card, &hex("00B0010000"));
    assert_eq!((data.as_slice(), sw), (&cert[256..512], 0x9000));
    // Le beyond the end: the rest, 9000, no 6282/6Cxx.
    let (data, sw) = send(&mut card, &hex("00B00600FF"));
    assert_eq!((data.as_slice(), sw), (&cert[1536..], 0x9000));
    // Extended Le 0000 from offset 0: the whole file.
    let (data, sw) = send(&mut card, &hex("00B00000000000"));
    assert_eq!((data.as_slice(), sw), (&cert[..], 0x9000));
    // Extended Le 1000 from offset 1: exactly 1000.
    let (data, _) = send(&mut card, &hex("00B000010003E8"));
    assert_eq!(data.as_slice(), &cert[1..1001]);
    // The last byte, and one past it.
    let (data, status) = send(&mut card, &hex("00B0062201"));
    assert_eq!((data.as_slice(), status), (&cert[1570..], 0x9000));
    assert_eq!(common::sw(&mut card, "00B0062301"), 0x6B00);
}

#[test]
fn signatures_verify_for_every_digest_and_raw_data() {
    let mut card = card();
    let f = fixture();
    select_app(&mut card, Application::Jpki);
    select_ef(&mut card, jpki::AUTH_PIN);
    assert_eq!(verify(&mut card, AUTH_PIN), 0x9000);
    select_ef(&mut card, jpki::AUTH_KEY);
    let inputs = [
        digest_info::wrap(&digest_info::SHA1, &[1; 20]),
        digest_info::wrap(&digest_info::SHA224, &[2; 28]),
        digest_info::wrap(&digest_info::SHA256, &[3; 32]),
        digest_info::wrap(&digest_info::SHA384, &[4; 48]),
        digest_info::wrap(&digest_info::SHA512, &[5; 64]),
        vec![0x42; 245],
        vec![0x00],
    ];
    for data in &inputs {
        for le in [Some(256), Some(65536), None] {
            let command = Command::encode(0x80, 0x2A, 0x00, 0x80, data, le);
            let (signature, sw) = send(&mut card, &command);
            assert_eq!(sw, 0x9000, "{} bytes, Le {le:?}", data.len());
            assert_eq!(signature.len(), 256);
            assert!(f.auth_public.verify_padded(data, &signature));
            assert!(!f.sign_public.verify_padded(data, &signature));
        }
    }
    // SHA-256 DigestInfo: an ordinary sha256WithRSAEncryption signature.
    let message = b"the resident's application";
    let data = digest_info::wrap(&digest_info::SHA256, &mynacard_card::crypto::sha256(message));
    let (signature, _) = send(&mut card, &Command::encode(0x80, 0x2A, 0x00, 0x80, &data, Some(256)));
    assert!(f.auth_public.verify_sha256(message, &signature));
    // Too long, empty.
    assert_eq!(
        send(
            &mut card,
            &Command::encode(0x80, 0x2A, 0x00, 0x80, &[0; 246], Some(256))
        )
        .1,
        0x6700
    );
    assert_eq!(sw(&mut card, "802A0080"), 0x6700);
    // The signature key needs its own PIN.
    select_ef(&mut card, jpki::SIGN_KEY);
    assert_eq!(
        send(&mut card, &Command::encode(0x80, 0x2A, 0x00, 0x80, &data, Some(256))).1,
        0x6982
    );
    select_ef(&mut card, jpki::SIGN_PIN);
    assert_eq!(verify(&mut card, SIGN_PIN), 0x9000);
    let (signature, sw) = send(&mut card, &Command::encode(0x80, 0x2A, 0x00, 0x9A, &data, Some(256)));
    assert_eq!(sw, 0x9000);
    assert!(f.sign_public.verify_sha256(message, &signature));
    // The public key in the certificate on the card is the one that verifies.
    select_ef(&mut card, jpki::SIGN_CERT);
    let (cert, _) = send(&mut card, &hex("00B00000000000"));
    let spki_der = &cert[10..10 + 294];
    assert_eq!(
        mynacard_card::crypto::RsaPublic::from_spki(spki_der).ok().as_ref(),
        Some(&f.sign_public)
    );
}

#[test]
fn challenges_are_fresh_and_single_use() {
    let mut card = card();
    let (a, sw_a) = send(&mut card, &hex("0084000010"));
    let (b, sw_b) = send(&mut card, &hex("0084000010"));
    assert_eq!((sw_a, sw_b), (0x9000, 0x9000));
    assert_eq!((a.len(), b.len()), (16, 16));
    assert_ne!(a, b);
    // Anything in between spends the challenge.
    assert_eq!(sw(&mut card, "0084000010"), 0x9000);
    assert_eq!(sw(&mut card, "00A4040C0AD392F000260100000001"), 0x9000);
    let mut auth = hex("8082000030");
    auth.extend_from_slice(&[0; 48]);
    auth.push(0x20);
    assert_eq!(send(&mut card, &auth).1, 0x6985);
    // Right after a challenge, a wrong MAC: 6300.
    assert_eq!(sw(&mut card, "0084000010"), 0x9000);
    assert_eq!(send(&mut card, &auth).1, 0x6300);
}

#[test]
fn the_input_support_data_read_from_the_card_verifies() {
    let mut card = card();
    select_app(&mut card, Application::InputSupport);
    assert_eq!(sw(&mut card, "0020009104 35363738"), 0x9000);
    let mut read = |sfi: u8| {
        let (data, sw) = send(&mut card, &[0x00, 0xB0, 0x80 | sfi, 0x00, 0x00, 0x00, 0x00]);
        assert_eq!(sw, 0x9000);
        data
    };
    let ef1 = read(kenhojo::MY_NUMBER as u8);
    let ef2 = read(kenhojo::BASIC_FOUR as u8);
    let ef3 = read(kenhojo::SIGNATURE as u8);
    let ef4 = read(kenhojo::PRODUCER_CERT as u8);
    assert_eq!(input_support::verify(&ef1, &ef2, &ef3, &ef4, None), Ok(()));
    assert_eq!(
        input_support::parse_my_number(&ef1).map(|n| n.expose()),
        Some(MY_NUMBER.to_string())
    );
    assert_eq!(
        input_support::parse_basic_four(&ef2).map(|r| r.basic),
        Some(basic_four())
    );
}

#[test]
fn change_reference_data_keeps_the_pin_verified_and_full() {
    let mut card = card();
    select_app(&mut card, Application::InputSupport);
    select_ef(&mut card, kenhojo::PIN);
    assert_eq!(verify(&mut card, b"0000"), 0x63C2);
    assert_eq!(verify(&mut card, INPUT_PIN), 0x9000);
    assert_eq!(sw(&mut card, "0024018004 39393939"), 0x9000);
    assert_eq!(tries(&card, Application::InputSupport, kenhojo::PIN), 3);
    assert_eq!(sw(&mut card, "00B0810311"), 0x9000, "still verified");
    card.reset();
    select_app(&mut card, Application::InputSupport);
    assert_eq!(sw(&mut card, "0020009104 35363738"), 0x63C2);
    assert_eq!(sw(&mut card, "0020009104 39393939"), 0x9000);
}

#[test]
fn a_card_whose_storage_dies_goes_mute_until_it_can_read_again() {
    let mut card = card();
    select_app(&mut card, Application::Jpki);
    select_ef(&mut card, jpki::AUTH_PIN);
    card.storage_mut().inject(Fault::DieAfterCommit { after: 0 });
    assert_eq!(verify(&mut card, b"0000"), 0x6581);
    assert!(card.is_mute());
    assert_eq!(sw(&mut card, "00A4040C0AD392F000260100000001"), 0x6581);
    assert_eq!(sw(&mut card, "00200080"), 0x6581);
    card.reset();
    assert!(card.is_mute(), "the dead handle still cannot read");
    // A new process on the same memory: the decrement survived.
    let restarted = card.storage().reopen();
    let card = card_on(restarted);
    assert_eq!(tries(&card, Application::Jpki, jpki::AUTH_PIN), 2);
}
