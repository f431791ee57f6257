//! Moves and changes of the record end to end: move-out, move-in with the
//! card's continued use (registry PIN verified on the card), moves within
//! the municipality, marriage, death — on both registries, with the CA's
//! view, the card's view and the audit chain.

mod common;

use common::*;
use mynacard_authority::moves::{
    Death, Destination, MoveIn, MoveOut, MoveWithin, MovedIn, MovedOut, NameChange, NameChangeReason,
};
use mynacard_authority::{Actor, AuthorityError};
use mynacard_card::JpkiKey;
use mynacard_pki::status::{CertStatus, CrlReason};
use mynacard_pki::Serial;
use mynacard_reader::{JpkiClient, PinRef};
use mynacard_store::audit;
use mynacard_store::registry::{
    self, ApplicationKind, Card, CardStatus, CertKind, CertificateRecord, CertificateStatus, ResidentStatus,
    StoredResident, SurfaceEntry, SurfaceEntryKind,
};
use mynacard_store::StoreError;
use zeroize::Zeroizing;

const SAPPORO_ADDRESS: &str = "北海道札幌市中央区北１条西２丁目";

fn ca_revoked_for(w: &World, serial_hex: &str) -> Option<CrlReason> {
    match ca_status(w, serial_hex) {
        CertStatus::Revoked { reason, .. } => Some(reason),
        CertStatus::Good => None,
    }
}

struct State {
    resident: StoredResident,
    card: Card,
    certificates: Vec<CertificateRecord>,
    entries: Vec<SurfaceEntry>,
}

fn state(w: &World, id: i64, serial: &str) -> State {
    w.db()
        .read(|tx| {
            Ok::<_, StoreError>(State {
                resident: registry::get_resident(tx, id)?.expect("resident"),
                card: registry::get_card(tx, serial)?.expect("card"),
                certificates: registry::list_certificates_for_resident(tx, id)?,
                entries: registry::list_surface_entries(tx, serial)?,
            })
        })
        .expect("read")
}

fn cert(s: &State, kind: CertKind) -> &CertificateRecord {
    s.certificates
        .iter()
        .rev()
        .find(|c| c.kind == kind)
        .expect("certificate of the kind")
}

fn audit_entries(w: &World) -> Vec<audit::AuditRecord> {
    w.db().read(|tx| audit::list(tx, 0, 10_000)).expect("audit")
}

fn registry_tries(w: &World, serial: &str) -> u8 {
    let mut reader = w.card(serial);
    let mut client = JpkiClient::new(&mut reader);
    client.pin_status(PinRef::Registry).expect("status").remaining
}

fn move_out_to_sapporo(w: &World, id: i64, planned: chrono::NaiveDate) -> MovedOut {
    w.authority
        .move_out(
            &w.clerk(CHIYODA),
            &w.key(),
            &MoveOut {
                resident_id: id,
                planned_move_out_on: planned,
                destination: Destination::Municipality(SAPPORO.into()),
                abroad_with_continued_use: false,
            },
        )
        .expect("move-out")
}

fn move_in_request(id: i64, moved_in: chrono::NaiveDate, pin: &str) -> MoveIn {
    MoveIn {
        resident_id: id,
        municipality: SAPPORO.into(),
        moved_in_on: moved_in,
        new_address: SAPPORO_ADDRESS.into(),
        continued_use: true,
        registry_pin: Zeroizing::new(pin.into()),
        new_signature_certificate: false,
    }
}

fn move_in(w: &World, request: &MoveIn) -> Result<MovedIn, AuthorityError> {
    w.authority.move_in(&w.clerk(SAPPORO), &w.key(), request)
}

#[test]
fn a_move_keeps_the_card_with_the_registry_pin_and_revokes_the_signature_certificate() {
    on_both("move", date(2026, 3, 25), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let serial = w.issue_card(id, ApplicationKind::New);
        let before = state(w, id, &serial);
        let auth = cert(&before, CertKind::Auth).serial.clone();
        let sign = cert(&before, CertKind::Sign).serial.clone();

        // 転出届 at Chiyoda: the signature certificate is revoked at once.
        let out = move_out_to_sapporo(w, id, date(2026, 4, 1));
        assert_eq!(out.status, ResidentStatus::MovedOut);
        assert_eq!(out.revoked, vec![sign.clone()]);
        assert_eq!(
            out.move_in_due,
            Some(date(2026, 5, 1)),
            "30 days after the planned move-out"
        );
        assert_eq!(out.lapse, None);
        let s = state(w, id, &serial);
        assert_eq!(s.resident.status, ResidentStatus::MovedOut);
        assert_eq!(s.resident.planned_move_out_on, Some(date(2026, 4, 1)));
        assert_eq!(cert(&s, CertKind::Sign).status, CertificateStatus::Revoked);
        assert_eq!(cert(&s, CertKind::Sign).reason, Some(CrlReason::AffiliationChanged));
        assert_eq!(ca_revoked_for(w, &sign), Some(CrlReason::AffiliationChanged));
        assert_eq!(ca_status(w, &auth), CertStatus::Good);

        // 転入届 at Sapporo with the card: a wrong registry PIN costs a try
        // on the card and records nothing.
        w.set_today(date(2026, 4, 10));
        let audit_before = audit_entries(w).len();
        let err = move_in(w, &move_in_request(id, date(2026, 4, 5), "1111")).expect_err("wrong PIN");
        assert_eq!(err.code(), "wrong_pin", "{err}");
        assert_eq!(registry_tries(w, &serial), 2, "one try spent on the card");
        let s = state(w, id, &serial);
        assert_eq!(s.resident.status, ResidentStatus::MovedOut);
        assert_eq!(s.resident.municipality.to_string(), CHIYODA);
        assert!(s.entries.is_empty());
        assert_eq!(audit_entries(w).len(), audit_before, "nothing recorded");

        // The right PIN.
        let moved = move_in(w, &move_in_request(id, date(2026, 4, 5), "2468")).expect("move-in");
        assert_eq!(moved.municipality, SAPPORO);
        assert_eq!(moved.surface_entry, Some(1));
        assert_eq!(moved.card_update_due, None, "the card was updated with the move-in");
        assert_eq!(moved.lapse, None);
        assert!(moved.revoked.is_empty());
        assert_eq!(registry_tries(w, &serial), 3, "a correct PIN resets the count");
        let s = state(w, id, &serial);
        assert_eq!(s.resident.status, ResidentStatus::Resident);
        assert_eq!(s.resident.municipality.to_string(), SAPPORO);
        assert_eq!(s.resident.address, SAPPORO_ADDRESS);
        assert_eq!(s.resident.moved_in_on, Some(date(2026, 4, 5)));
        assert_eq!(s.resident.move_in_notified_on, Some(date(2026, 4, 10)));
        assert_eq!(s.card.status, CardStatus::Active);
        assert_eq!(s.entries.len(), 1);
        assert_eq!(s.entries[0].kind, SurfaceEntryKind::Address);
        assert_eq!(s.entries[0].entered_on, date(2026, 4, 10));
        assert!(s.entries[0].text.contains(SAPPORO_ADDRESS), "{}", s.entries[0].text);
        assert!(s.entries[0].text.contains("転入"), "{}", s.entries[0].text);
        assert_eq!(cert(&s, CertKind::Auth).status, CertificateStatus::Good);
        assert_eq!(
            ca_status(w, &auth),
            CertStatus::Good,
            "the auth certificate survives the move"
        );
        assert_eq!(ca_revoked_for(w, &sign), Some(CrlReason::AffiliationChanged));
        // The card still works for authentication.
        let mut reader = w.card(&serial);
        JpkiClient::new(&mut reader)
            .verify(PinRef::Auth, "1234")
            .expect("auth PIN");
        drop(reader);

        // Nothing lapses later: the card was updated (継続利用) at the move-in.
        let lapsed = w
            .authority
            .lapse_due(date(2026, 7, 20), &mut |_, _| {})
            .expect("lapse run");
        assert!(lapsed.is_empty(), "{lapsed:?}");
        assert_audit_intact(w);
        let actions: Vec<String> = audit_entries(w).into_iter().map(|e| e.action).collect();
        assert!(actions.contains(&"resident.move_out".to_owned()));
        assert!(actions.contains(&"resident.move_in".to_owned()));
    });
}

#[test]
fn a_new_signature_certificate_is_issued_on_request_at_the_move_in() {
    on_both("move_sign", date(2026, 3, 25), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let serial = w.issue_card(id, ApplicationKind::New);
        let old_sign = cert(&state(w, id, &serial), CertKind::Sign).serial.clone();
        move_out_to_sapporo(w, id, date(2026, 4, 1));
        w.set_today(date(2026, 4, 3));
        let mut request = move_in_request(id, date(2026, 4, 2), "2468");
        request.new_signature_certificate = true;
        let moved = move_in(w, &request).expect("move-in");
        let (new_sign, last_day) = moved.new_sign_certificate.clone().expect("a new certificate");
        assert_ne!(new_sign, old_sign);
        let s = state(w, id, &serial);
        let record = cert(&s, CertKind::Sign);
        assert_eq!(record.serial, new_sign);
        assert_eq!(record.status, CertificateStatus::Good);
        assert_eq!(record.card_serial.as_deref(), Some(serial.as_str()));
        assert_eq!(record.not_after, last_day);
        assert!(
            last_day <= cert(&s, CertKind::Auth).not_after,
            "capped by the auth certificate"
        );
        assert_eq!(ca_status(w, &new_sign), CertStatus::Good);
        assert_eq!(ca_revoked_for(w, &old_sign), Some(CrlReason::AffiliationChanged));
        // The card carries the new certificate, for the new key, with the new address.
        let mut reader = w.card(&serial);
        let mut client = JpkiClient::new(&mut reader);
        let der = client
            .read_certificate(JpkiKey::Sign, Some("ABC123"))
            .expect("sign cert");
        let at_ca = w
            .authority
            .ca()
            .repository()
            .certificate(&Serial::from_hex(&new_sign).expect("serial"))
            .expect("CA")
            .and_then(|r| r.der)
            .expect("DER");
        assert_eq!(der, at_ca);
        drop(reader);
        // A retry of the same request acts once.
        assert_audit_intact(w);
    });
}

#[test]
fn a_late_move_in_is_refused_and_the_card_lapses() {
    on_both("late", date(2026, 3, 25), |w| {
        // Three holders move out of Chiyoda, all planned for 04-01, and all
        // actually move in on 04-01 (rules.md §7: a notification on 04-15
        // is in time, one on 04-16 is late).
        let on_time = w.resident("123456789018", "番号　一郎", date(1980, 1, 1));
        let never = w.resident(&my_number(2), "番号　二郎", date(1981, 1, 1));
        let window = w.resident(&my_number(3), "番号　三郎", date(1982, 1, 1));
        let cards: Vec<String> = [on_time, never, window]
            .iter()
            .map(|id| w.issue_card(*id, ApplicationKind::New))
            .collect();
        for id in [on_time, never, window] {
            move_out_to_sapporo(w, id, date(2026, 4, 1));
        }
        w.set_today(date(2026, 4, 15));
        move_in(w, &move_in_request(on_time, date(2026, 4, 1), "2468")).expect("day 14 is in time");

        w.set_today(date(2026, 4, 16));
        let audit_before = audit_entries(w).len();
        for id in [never, window] {
            let err = move_in(w, &move_in_request(id, date(2026, 4, 1), "2468")).expect_err("late");
            assert_eq!(err.code(), "late_move_in", "{err}");
        }
        assert_eq!(audit_entries(w).len(), audit_before, "nothing recorded");
        assert_eq!(registry_tries(w, &cards[1]), 3, "refused before the PIN was asked");

        // The window records the move-in without the card: the card lapses
        // on that notification, both certificates are revoked.
        let mut plain = move_in_request(window, date(2026, 4, 1), "");
        plain.continued_use = false;
        let moved = move_in(w, &plain).expect("move-in without the card");
        let lapse = moved.lapse.clone().expect("lapsed");
        assert_eq!(
            (lapse.lapsed_on, lapse.reason.as_str()),
            (date(2026, 4, 16), "late_move_in")
        );
        let s = state(w, window, &cards[2]);
        assert_eq!(s.resident.status, ResidentStatus::Resident);
        assert_eq!(s.resident.municipality.to_string(), SAPPORO);
        assert_eq!(s.card.status, CardStatus::Lapsed);
        assert_eq!(s.card.lapsed_on, Some(date(2026, 4, 16)));
        for c in &s.certificates {
            assert_eq!(c.status, CertificateStatus::Revoked, "{:?}", c.kind);
            assert_eq!(ca_revoked_for(w, &c.serial), Some(CrlReason::AffiliationChanged));
        }

        // The holder who never comes back: the nightly batch lapses the card
        // the day after the 30 days after the planned move-out.
        let lapsed = w.authority.lapse_due(date(2026, 4, 16), &mut |_, _| {}).expect("run");
        assert!(lapsed.is_empty(), "{lapsed:?}");
        w.set_today(date(2026, 5, 2));
        let lapsed = w.authority.lapse_due(date(2026, 5, 2), &mut |_, _| {}).expect("run");
        assert_eq!(lapsed.len(), 1, "{lapsed:?}");
        assert_eq!(lapsed[0].card_serial, cards[1]);
        assert_eq!(lapsed[0].lapsed_on, date(2026, 5, 2));
        assert_eq!(lapsed[0].reason, "no_move_in_after_move_out");
        let s = state(w, never, &cards[1]);
        assert_eq!(s.card.status, CardStatus::Lapsed);
        for c in &s.certificates {
            assert_eq!(c.status, CertificateStatus::Revoked, "{:?}", c.kind);
            assert!(ca_revoked_for(w, &c.serial).is_some());
        }
        // The one in time kept its card.
        let s = state(w, on_time, &cards[0]);
        assert_eq!(s.card.status, CardStatus::Active);
        assert_eq!(ca_status(w, &cert(&s, CertKind::Auth).serial), CertStatus::Good);
        assert_audit_intact(w);
    });
}

#[test]
fn a_move_within_the_municipality_writes_the_card_and_revokes_the_signature() {
    on_both("within", date(2026, 5, 1), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let serial = w.issue_card(id, ApplicationKind::New);
        let before = state(w, id, &serial);
        let (auth, sign) = (
            cert(&before, CertKind::Auth).serial.clone(),
            cert(&before, CertKind::Sign).serial.clone(),
        );
        let done = w
            .authority
            .move_within(
                &w.clerk(CHIYODA),
                &w.key(),
                &MoveWithin {
                    resident_id: id,
                    new_address: "東京都千代田区永田町１－７－１".into(),
                    moved_on: date(2026, 4, 28),
                    new_signature_certificate: false,
                },
            )
            .expect("転居");
        assert_eq!(done.revoked, vec![sign.clone()]);
        assert_eq!(done.surface_entry, Some(1));
        let s = state(w, id, &serial);
        assert_eq!(s.resident.address, "東京都千代田区永田町１－７－１");
        assert_eq!(s.entries[0].kind, SurfaceEntryKind::Address);
        assert!(s.entries[0].text.contains("転居"));
        assert_eq!(ca_revoked_for(w, &sign), Some(CrlReason::AffiliationChanged));
        assert_eq!(ca_status(w, &auth), CertStatus::Good);
        assert_audit_intact(w);
    });
}

#[test]
fn marriage_revokes_the_signature_certificate_and_keeps_the_auth_certificate() {
    on_both("marriage", date(2026, 6, 1), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let serial = w.issue_card(id, ApplicationKind::New);
        let before = state(w, id, &serial);
        let (auth, sign) = (
            cert(&before, CertKind::Auth).serial.clone(),
            cert(&before, CertKind::Sign).serial.clone(),
        );
        w.advance_days(10);
        let done = w
            .authority
            .change_name(
                &w.clerk(CHIYODA),
                &w.key(),
                &NameChange {
                    resident_id: id,
                    new_name: "結婚　花子".into(),
                    new_name_kana: "ケッコン　ハナコ".into(),
                    changed_on: date(2026, 6, 8),
                    reason: NameChangeReason::Marriage,
                    new_signature_certificate: false,
                },
            )
            .expect("change of name");
        assert_eq!(done.revoked, vec![sign.clone()]);
        let s = state(w, id, &serial);
        assert_eq!(s.resident.name, "結婚　花子");
        assert_eq!(s.resident.name_kana, "ケッコン　ハナコ");
        assert_eq!(s.entries.len(), 1);
        assert_eq!(s.entries[0].kind, SurfaceEntryKind::Name);
        assert!(s.entries[0].text.contains("婚姻") && s.entries[0].text.contains("結婚　花子"));
        assert_eq!(cert(&s, CertKind::Sign).status, CertificateStatus::Revoked);
        assert_eq!(cert(&s, CertKind::Auth).status, CertificateStatus::Good);
        assert_eq!(ca_revoked_for(w, &sign), Some(CrlReason::AffiliationChanged));
        assert_eq!(ca_status(w, &auth), CertStatus::Good);
        assert_eq!(s.card.status, CardStatus::Active);

        // With a new signature certificate on request: for the new name.
        let done = w
            .authority
            .move_within(
                &w.clerk(CHIYODA),
                &w.key(),
                &MoveWithin {
                    resident_id: id,
                    new_address: "東京都千代田区永田町１－７－１".into(),
                    moved_on: date(2026, 6, 11),
                    new_signature_certificate: true,
                },
            )
            .expect("転居 with a new signature certificate");
        let (new_sign, _) = done.new_sign_certificate.expect("new");
        assert!(done.revoked.is_empty(), "no valid signature certificate to revoke");
        assert_eq!(ca_status(w, &new_sign), CertStatus::Good);
        let s = state(w, id, &serial);
        assert_eq!(cert(&s, CertKind::Sign).serial, new_sign);
        assert_eq!(s.entries.len(), 2);
        assert_audit_intact(w);
    });
}

#[test]
fn a_death_lapses_the_card_and_revokes_everything() {
    on_both("death", date(2026, 6, 1), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let serial = w.issue_card(id, ApplicationKind::New);
        w.set_today(date(2026, 9, 3));
        let done = w
            .authority
            .record_death(
                &w.clerk(CHIYODA),
                &w.key(),
                &Death {
                    resident_id: id,
                    died_on: date(2026, 9, 1),
                },
            )
            .expect("death");
        let lapse = done.lapse.clone().expect("lapsed");
        assert_eq!((lapse.lapsed_on, lapse.reason.as_str()), (date(2026, 9, 1), "death"));
        assert_eq!(done.revoked.len(), 2);
        let s = state(w, id, &serial);
        assert_eq!(s.resident.status, ResidentStatus::Deceased);
        assert_eq!(s.resident.status_changed_on, Some(date(2026, 9, 1)));
        assert_eq!(s.card.status, CardStatus::Lapsed);
        assert_eq!(s.card.lapsed_on, Some(date(2026, 9, 1)));
        for c in &s.certificates {
            assert_eq!(c.status, CertificateStatus::Revoked);
            assert_eq!(ca_revoked_for(w, &c.serial), Some(CrlReason::AffiliationChanged));
        }
        // Once only; and the batch finds nothing more.
        let err = w
            .authority
            .record_death(
                &w.clerk(CHIYODA),
                &w.key(),
                &Death {
                    resident_id: id,
                    died_on: date(2026, 9, 1),
                },
            )
            .expect_err("twice");
        assert_eq!(err.code(), "deceased");
        assert!(w
            .authority
            .lapse_due(date(2026, 9, 3), &mut |_, _| {})
            .expect("run")
            .is_empty());
        assert_audit_intact(w);
    });
}

#[test]
fn a_retried_move_acts_once() {
    on_both("retry_move", date(2026, 3, 25), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let serial = w.issue_card(id, ApplicationKind::New);
        let request = MoveOut {
            resident_id: id,
            planned_move_out_on: date(2026, 4, 1),
            destination: Destination::Municipality(SAPPORO.into()),
            abroad_with_continued_use: false,
        };
        let first = w
            .authority
            .move_out(&w.clerk(CHIYODA), "move-out-1", &request)
            .expect("move-out");
        let second = w
            .authority
            .move_out(&w.clerk(CHIYODA), "move-out-1", &request)
            .expect("again");
        assert_eq!(first, second);
        let count = |action: &str| audit_entries(w).iter().filter(|e| e.action == action).count();
        assert_eq!(count("resident.move_out"), 1);
        // Another request under the same key is refused.
        let other = MoveOut {
            planned_move_out_on: date(2026, 4, 2),
            ..request.clone()
        };
        let err = w
            .authority
            .move_out(&w.clerk(CHIYODA), "move-out-1", &other)
            .expect_err("reused key");
        assert!(matches!(err, AuthorityError::KeyReused(_)), "{err}");
        // A new key: refused, the resident moved out already.
        let err = w
            .authority
            .move_out(&w.clerk(CHIYODA), "move-out-2", &request)
            .expect_err("moved out");
        assert_eq!(err.code(), "not_a_resident");

        // The move-in, twice under one key: one entry on the card, the PIN
        // asked once (the retry answers before touching the card).
        w.set_today(date(2026, 4, 2));
        let request = move_in_request(id, date(2026, 4, 2), "2468");
        let first = w
            .authority
            .move_in(&w.clerk(SAPPORO), "move-in-1", &request)
            .expect("move-in");
        let wrong = move_in_request(id, date(2026, 4, 2), "0000");
        let second = w
            .authority
            .move_in(&w.clerk(SAPPORO), "move-in-1", &wrong)
            .expect("replayed: the PIN is not part of the request");
        assert_eq!(first, second);
        assert_eq!(registry_tries(w, &serial), 3, "the retry did not touch the card");
        assert_eq!(count("resident.move_in"), 1);
        assert_eq!(state(w, id, &serial).entries.len(), 1);
        assert_audit_intact(w);
    });
}

#[test]
fn staff_of_another_municipality_cannot_move_a_resident() {
    on_both("move_scope", date(2026, 3, 25), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let serial = w.issue_card(id, ApplicationKind::New);
        let request = MoveOut {
            resident_id: id,
            planned_move_out_on: date(2026, 4, 1),
            destination: Destination::Municipality(SAPPORO.into()),
            abroad_with_continued_use: false,
        };
        // The move-out is for the old municipality.
        let err = w
            .authority
            .move_out(&w.clerk(SAPPORO), &w.key(), &request)
            .expect_err("Sapporo");
        assert_eq!(err.code(), "forbidden");
        let err = w
            .authority
            .move_out(&Actor::hotline("hotline:001"), &w.key(), &request)
            .expect_err("hotline");
        assert_eq!(err.code(), "forbidden");
        assert_eq!(state(w, id, &serial).resident.status, ResidentStatus::Resident);
        move_out_to_sapporo(w, id, date(2026, 4, 1));
        w.set_today(date(2026, 4, 2));
        // The move-in is for the new one.
        let err = w
            .authority
            .move_in(
                &w.clerk(CHIYODA),
                &w.key(),
                &move_in_request(id, date(2026, 4, 2), "2468"),
            )
            .expect_err("Chiyoda for Sapporo");
        assert_eq!(err.code(), "forbidden");
        let mut back = move_in_request(id, date(2026, 4, 2), "2468");
        back.municipality = CHIYODA.into();
        let err = w
            .authority
            .move_in(&w.clerk(CHIYODA), &w.key(), &back)
            .expect_err("the old municipality");
        assert_eq!(err.code(), "same_municipality");
        let s = state(w, id, &serial);
        assert_eq!(s.resident.status, ResidentStatus::MovedOut);
        assert!(s.entries.is_empty());
        assert_eq!(registry_tries(w, &serial), 3, "no PIN asked");
        // Changes of the record are the municipality's of residence.
        let err = w
            .authority
            .change_name(
                &w.clerk(SAPPORO),
                &w.key(),
                &NameChange {
                    resident_id: id,
                    new_name: "別名　花子".into(),
                    new_name_kana: "ベツメイ　ハナコ".into(),
                    changed_on: date(2026, 4, 2),
                    reason: NameChangeReason::Marriage,
                    new_signature_certificate: false,
                },
            )
            .expect_err("not a resident of Sapporo yet");
        assert_eq!(err.code(), "forbidden");
        assert_audit_intact(w);
    });
}

/// A valid My Number from a small number.
fn my_number(n: u64) -> String {
    mynacard_rules::numbers::MyNumber::complete(&format!("{:011}", 10_000_000_000 + n))
        .expect("my number")
        .expose()
}
