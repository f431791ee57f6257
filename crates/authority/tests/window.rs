//! The window's card services end to end: PIN reset after a lock-out,
//! face-recognition conversion and back, certificate renewal on the same
//! card with the renewal bonus — on both registries, with the CA's view, the
//! card's view and the audit chain.

mod common;

use common::*;
use mynacard_authority::issuance::PinPad;
use mynacard_authority::Actor;
use mynacard_card::JpkiKey;
use mynacard_pki::status::{CertStatus, CrlReason};
use mynacard_pki::Serial;
use mynacard_reader::client::{verify_sha256, ClientError};
use mynacard_reader::{JpkiClient, PinRef};
use mynacard_rules::pin::PinKind;
use mynacard_store::audit;
use mynacard_store::registry::{
    self, ApplicationKind, Card, CertKind, CertificateRecord, CertificateStatus, SurfaceEntryKind,
};
use zeroize::Zeroizing;

fn ca_reason(world: &World, serial_hex: &str) -> Option<CrlReason> {
    match ca_status(world, serial_hex) {
        CertStatus::Good => None,
        CertStatus::Revoked { reason, .. } => Some(reason),
    }
}

fn ca_der(world: &World, serial_hex: &str) -> Vec<u8> {
    world
        .authority
        .ca()
        .repository()
        .certificate(&Serial::from_hex(serial_hex).expect("serial"))
        .expect("CA")
        .and_then(|r| r.der)
        .expect("certificate DER")
}

fn card(w: &World, serial: &str) -> Card {
    w.db()
        .read(|tx| registry::get_card(tx, serial))
        .expect("read")
        .expect("card")
}

fn certificates(w: &World, serial: &str) -> Vec<CertificateRecord> {
    w.db()
        .read(|tx| registry::list_certificates_for_card(tx, serial))
        .expect("read")
}

fn valid(w: &World, serial: &str, kind: CertKind) -> Option<CertificateRecord> {
    certificates(w, serial)
        .into_iter()
        .find(|c| c.kind == kind && c.status.is_valid())
}

fn audit_log(w: &World) -> Vec<audit::AuditRecord> {
    w.db().read(|tx| audit::list(tx, 0, 10_000)).expect("audit")
}

/// Signs `message` with `key` on the card and checks it with `der`.
fn signs_with(w: &World, card_serial: &str, key: JpkiKey, pin: &str, der: &[u8]) -> bool {
    let mut reader = w.card(card_serial);
    let mut client = JpkiClient::new(&mut reader);
    let message = b"a document";
    let signed = client.sign_sha256(key, pin, message).expect("sign");
    assert_eq!(
        signed.certificate, der,
        "the card carries the certificate the registry records"
    );
    verify_sha256(der, message, &signed.signature)
}

fn pin(text: &str) -> Zeroizing<String> {
    Zeroizing::new(text.into())
}

#[test]
fn a_locked_auth_pin_is_reset_at_the_window() {
    on_both("pin-reset", date(2026, 11, 2), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let serial = w.issue_card(id, ApplicationKind::New);
        {
            let mut reader = w.card(&serial);
            let mut client = JpkiClient::new(&mut reader);
            assert!(matches!(
                client.verify(PinRef::Auth, "0000"),
                Err(ClientError::WrongPin { remaining: 2 })
            ));
            assert!(matches!(
                client.verify(PinRef::Auth, "0001"),
                Err(ClientError::WrongPin { remaining: 1 })
            ));
            assert!(matches!(client.verify(PinRef::Auth, "0002"), Err(ClientError::Locked)));
            assert!(
                matches!(client.verify(PinRef::Auth, "1234"), Err(ClientError::Locked)),
                "locked: even the right PIN is refused"
            );
        }
        assert_eq!(w.auth_tries(&serial), 0);

        // Not the hotline, not another municipality; not a malformed PIN.
        for actor in [Actor::hotline("hotline:001"), w.clerk(SAPPORO)] {
            let err = w
                .authority
                .reset_pin(&actor, &w.key(), &serial, PinKind::UserAuthentication, pin("9999"))
                .expect_err("not theirs");
            assert_eq!(err.code(), "forbidden");
        }
        let err = w
            .authority
            .reset_pin(
                &w.clerk(CHIYODA),
                &w.key(),
                &serial,
                PinKind::UserAuthentication,
                pin("99a9"),
            )
            .expect_err("format");
        assert_eq!(err.code(), "bad_request");
        assert_eq!(w.auth_tries(&serial), 0, "nothing changed on the card");

        let done = w
            .authority
            .reset_pin(
                &w.clerk(CHIYODA),
                "reset-1",
                &serial,
                PinKind::UserAuthentication,
                pin("9999"),
            )
            .expect("reset");
        assert_eq!(done.tries, 3);
        assert_eq!(w.auth_tries(&serial), 3, "tries back to 3");
        // A retry with the same key acts once: the PIN typed again is ignored.
        let again = w
            .authority
            .reset_pin(
                &w.clerk(CHIYODA),
                "reset-1",
                &serial,
                PinKind::UserAuthentication,
                pin("5555"),
            )
            .expect("retry");
        assert_eq!(again, done);
        {
            let mut reader = w.card(&serial);
            let mut client = JpkiClient::new(&mut reader);
            assert!(matches!(
                client.verify(PinRef::Auth, "5555"),
                Err(ClientError::WrongPin { remaining: 2 })
            ));
            client.verify(PinRef::Auth, "9999").expect("the new PIN works");
            client
                .verify(PinRef::Sign, "ABC123")
                .expect("the other PINs are untouched");
        }
        assert_eq!(w.auth_tries(&serial), 3, "a right PIN restores the count");
        let auth = valid(w, &serial, CertKind::Auth).expect("auth");
        assert!(signs_with(w, &serial, JpkiKey::Auth, "9999", &ca_der(w, &auth.serial)));

        let resets: Vec<audit::AuditRecord> = audit_log(w).into_iter().filter(|r| r.action == "pin.reset").collect();
        assert_eq!(resets.len(), 1, "audited once");
        assert_eq!(resets[0].actor, "staff:131016-01");
        assert!(
            !resets[0].details.contains("9999"),
            "never the PIN: {}",
            resets[0].details
        );
        assert_audit_intact(w);
    });
}

#[test]
fn a_card_becomes_a_face_recognition_card_and_back() {
    on_both("face", date(2026, 11, 2), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let serial = w.issue_card(id, ApplicationKind::New);
        let sign = valid(w, &serial, CertKind::Sign).expect("sign");
        let auth = valid(w, &serial, CertKind::Auth).expect("auth");

        let err = w
            .authority
            .convert_to_face_card(&w.clerk(SAPPORO), &w.key(), &serial)
            .expect_err("another municipality");
        assert_eq!(err.code(), "forbidden");
        let key = w.key();
        let done = w
            .authority
            .convert_to_face_card(&w.clerk(CHIYODA), &key, &serial)
            .expect("to a face card");
        assert_eq!(
            w.authority
                .convert_to_face_card(&w.clerk(CHIYODA), &key, &serial)
                .expect("retry"),
            done
        );
        assert_eq!(done.revoked, vec![sign.serial.clone()]);
        assert!(card(w, &serial).face_recognition);
        // The signature certificate: revoked, at the registry and the CA.
        let now = w
            .db()
            .read(|tx| registry::get_certificate(tx, &sign.serial))
            .expect("read")
            .expect("certificate");
        assert_eq!(now.status, CertificateStatus::Revoked);
        assert_eq!(now.reason, Some(CrlReason::CessationOfOperation));
        assert_eq!(ca_reason(w, &sign.serial), Some(CrlReason::CessationOfOperation));
        // The auth certificate stays (used after a face match).
        assert_eq!(ca_status(w, &auth.serial), CertStatus::Good);
        assert_eq!(
            valid(w, &serial, CertKind::Auth).map(|c| c.serial),
            Some(auth.serial.clone())
        );
        let entries = w
            .db()
            .read(|tx| registry::list_surface_entries(tx, &serial))
            .expect("entries");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].kind, SurfaceEntryKind::FaceRecognition);
        assert_eq!(entries[0].text, "顔認証");
        // The card: every PIN locked, the PIN path closed.
        {
            let mut reader = w.card(&serial);
            let mut client = JpkiClient::new(&mut reader);
            let status = client.status().expect("status");
            assert_eq!(status.len(), 4);
            assert!(status.iter().all(|s| s.remaining == 0), "{status:?}");
            assert!(client.verify(PinRef::Auth, "1234").is_err());
        }
        // No PIN to reset on a face card; no second conversion.
        let err = w
            .authority
            .reset_pin(
                &w.clerk(CHIYODA),
                &w.key(),
                &serial,
                PinKind::UserAuthentication,
                pin("1111"),
            )
            .expect_err("no PIN");
        assert_eq!(err.code(), "face_card_no_pin");
        let err = w
            .authority
            .convert_to_face_card(&w.clerk(CHIYODA), &w.key(), &serial)
            .expect_err("already");
        assert_eq!(err.code(), "face_card_already");

        // Back to a PIN card, with a signature certificate on request.
        let mut missing = pins();
        missing.registry = None;
        let err = w
            .authority
            .convert_to_pin_card(&w.clerk(CHIYODA), &w.key(), &serial, &missing)
            .expect_err("every PIN is needed");
        assert_eq!(err.code(), "bad_request");
        assert!(card(w, &serial).face_recognition, "nothing done");
        let back = w
            .authority
            .convert_to_pin_card(&w.clerk(CHIYODA), &w.key(), &serial, &pins())
            .expect("back to a PIN card");
        assert!(!card(w, &serial).face_recognition);
        let (new_sign, last_day) = back.sign_certificate.clone().expect("a signature certificate");
        assert_eq!(last_day, auth.not_after, "never beyond the auth certificate");
        assert_eq!(ca_status(w, &new_sign), CertStatus::Good);
        assert_eq!(
            valid(w, &serial, CertKind::Sign).map(|c| c.serial),
            Some(new_sign.clone())
        );
        {
            let mut reader = w.card(&serial);
            let mut client = JpkiClient::new(&mut reader);
            let status = client.status().expect("status");
            assert!(status.iter().all(|s| s.remaining == s.limit), "{status:?}");
            client.verify(PinRef::Auth, "1234").expect("auth PIN");
            client.verify(PinRef::InputSupport, "5678").expect("input-support PIN");
            client.verify(PinRef::Registry, "2468").expect("registry PIN");
        }
        assert!(signs_with(w, &serial, JpkiKey::Auth, "1234", &ca_der(w, &auth.serial)));
        assert!(signs_with(w, &serial, JpkiKey::Sign, "ABC123", &ca_der(w, &new_sign)));
        assert_eq!(
            w.db()
                .read(|tx| registry::list_surface_entries(tx, &serial))
                .expect("entries")
                .len(),
            2
        );

        // Once more to a face card and back without a signature certificate.
        w.authority
            .convert_to_face_card(&w.clerk(CHIYODA), &w.key(), &serial)
            .expect("face again");
        assert_eq!(ca_reason(w, &new_sign), Some(CrlReason::CessationOfOperation));
        let mut no_sign: PinPad = pins();
        no_sign.sign = None;
        let back = w
            .authority
            .convert_to_pin_card(&w.clerk(CHIYODA), &w.key(), &serial, &no_sign)
            .expect("back without a signature certificate");
        assert_eq!(back.sign_certificate, None);
        assert_eq!(valid(w, &serial, CertKind::Sign), None);
        {
            let mut reader = w.card(&serial);
            let mut client = JpkiClient::new(&mut reader);
            client.verify(PinRef::Auth, "1234").expect("auth PIN");
        }
        assert_audit_intact(w);
    });
}

#[test]
fn certificates_are_renewed_in_the_window_with_the_renewal_bonus() {
    // rules.md §3: birthday 06-15, certificates expiring 2026-06-15, card
    // expiring 2031-06-15; renewed 2026-04-01 → 6th birthday = 2031-06-15.
    on_both("renew", date(2021, 7, 1), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1980, 6, 15));
        let serial = w.issue_card(id, ApplicationKind::New);
        assert_eq!(card(w, &serial).expires_on, date(2031, 6, 15));
        let old: Vec<CertificateRecord> = certificates(w, &serial);
        assert_eq!(old.len(), 2);
        assert!(old.iter().all(|c| c.not_after == date(2026, 6, 15)));

        // The day before the window opens (2026-03-16): refused.
        w.set_today(date(2026, 3, 15));
        let err = w
            .authority
            .renew_certificates(&w.clerk(CHIYODA), &w.key(), &serial)
            .expect_err("too early");
        assert_eq!(err.code(), "renewal_window_not_open");
        let err = w
            .authority
            .renew_certificates(&Actor::hotline("hotline:001"), &w.key(), &serial)
            .expect_err("not the hotline");
        assert_eq!(err.code(), "forbidden");

        w.set_today(date(2026, 4, 1));
        let err = w
            .authority
            .renew_certificates(&w.clerk(SAPPORO), &w.key(), &serial)
            .expect_err("another municipality");
        assert_eq!(err.code(), "forbidden");
        let key = w.key();
        let done = w
            .authority
            .renew_certificates(&w.clerk(CHIYODA), &key, &serial)
            .expect("renew");
        let again = w
            .authority
            .renew_certificates(&w.clerk(CHIYODA), &key, &serial)
            .expect("retry");
        assert_eq!(done, again, "the same key acts once");
        assert!(done.renewal_bonus);
        assert_eq!(done.new_certificates.len(), 2);
        for (_, _, last_day) in &done.new_certificates {
            assert_eq!(*last_day, date(2031, 6, 15), "6th birthday (= the card's expiry)");
        }
        assert_eq!(certificates(w, &serial).len(), 4, "no second renewal for the retry");
        for c in &old {
            let now = w
                .db()
                .read(|tx| registry::get_certificate(tx, &c.serial))
                .expect("read")
                .expect("certificate");
            assert_eq!(now.status, CertificateStatus::Revoked);
            assert_eq!(now.reason, Some(CrlReason::Superseded));
            assert_eq!(ca_reason(w, &c.serial), Some(CrlReason::Superseded));
        }
        for kind in [CertKind::Auth, CertKind::Sign] {
            let new = valid(w, &serial, kind).expect("new certificate");
            assert_eq!(new.status, CertificateStatus::Good);
            assert_eq!(new.issued_on, date(2026, 4, 1));
            assert_eq!(new.not_after, date(2031, 6, 15));
            assert_eq!(ca_status(w, &new.serial), CertStatus::Good);
            let (key, pin) = match kind {
                CertKind::Auth => (JpkiKey::Auth, "1234"),
                _ => (JpkiKey::Sign, "ABC123"),
            };
            assert!(signs_with(w, &serial, key, pin, &ca_der(w, &new.serial)));
        }
        // Renewed again at once: the new certificates are far from their window.
        let err = w
            .authority
            .renew_certificates(&w.clerk(CHIYODA), &w.key(), &serial)
            .expect_err("not yet");
        assert_eq!(err.code(), "renewal_window_not_open");
        assert_audit_intact(w);
    });
}

#[test]
fn certificates_renewed_after_expiry_get_no_bonus() {
    // rules.md §3: renewed after expiry on 2026-07-01 → new issuance, the
    // 5th birthday → 2031-06-15.
    on_both("renew-late", date(2021, 7, 1), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1980, 6, 15));
        let serial = w.issue_card(id, ApplicationKind::New);
        w.set_today(date(2026, 7, 1));
        let done = w
            .authority
            .renew_certificates(&w.clerk(CHIYODA), &w.key(), &serial)
            .expect("renew");
        assert!(!done.renewal_bonus);
        for (_, _, last_day) in &done.new_certificates {
            assert_eq!(*last_day, date(2031, 6, 15));
        }
        assert_audit_intact(w);
    });
}
