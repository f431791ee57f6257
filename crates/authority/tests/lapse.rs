//! Lapses (失効) found from the registry's facts by the nightly batch's
//! `lapse_due`, with the day counts of rules.md §7's worked examples; a
//! foreign resident's end of stay and validity change (§8); departures
//! abroad — on both registries, with the CA's view and the audit chain.

mod common;

use chrono::NaiveDate;
use common::*;
use mynacard_authority::issuance::NewResident;
use mynacard_authority::lapse::LapseDone;
use mynacard_authority::moves::{ContinuedUse, Destination, MoveIn, MoveOut, ValidityChange};
use mynacard_pki::status::{CertStatus, CrlReason};
use mynacard_store::audit;
use mynacard_store::registry::{
    self, ApplicationKind, Card, CardStatus, CertKind, CertificateRecord, CertificateStatus, SurfaceEntry,
    SurfaceEntryKind,
};
use mynacard_store::StoreError;
use zeroize::Zeroizing;

fn card_of(w: &World, serial: &str) -> (Card, Vec<CertificateRecord>, Vec<SurfaceEntry>) {
    w.db()
        .read(|tx| {
            Ok::<_, StoreError>((
                registry::get_card(tx, serial)?.expect("card"),
                registry::list_certificates_for_card(tx, serial)?,
                registry::list_surface_entries(tx, serial)?,
            ))
        })
        .expect("read")
}

/// Runs `lapse_due` on `day` (the clock moved there too), checking progress.
fn lapse_run(w: &World, day: NaiveDate) -> Vec<LapseDone> {
    w.set_today(day);
    let mut calls: Vec<(u64, u64)> = Vec::new();
    let lapsed = w
        .authority
        .lapse_due(day, &mut |done, total| calls.push((done, total)))
        .expect("lapse run");
    let last = calls.last().copied().expect("progress reported");
    assert_eq!(last.0, last.1, "progress ends with done = total: {calls:?}");
    lapsed
}

fn assert_lapsed_everywhere(w: &World, serial: &str, on: NaiveDate, reason: &str) {
    let (card, certificates, _) = card_of(w, serial);
    assert_eq!(card.status, CardStatus::Lapsed);
    assert_eq!(card.lapsed_on, Some(on));
    assert_eq!(
        card.lapse_reason.map(mynacard_authority::lapse::reason_name).as_deref(),
        Some(reason)
    );
    assert!(!certificates.is_empty());
    for c in &certificates {
        assert_eq!(c.status, CertificateStatus::Revoked, "{:?}", c.kind);
        assert_eq!(c.reason, Some(CrlReason::AffiliationChanged), "{:?}", c.kind);
        assert!(
            matches!(
                ca_status(w, &c.serial),
                CertStatus::Revoked {
                    reason: CrlReason::AffiliationChanged,
                    ..
                }
            ),
            "{:?} at the CA",
            c.kind
        );
    }
}

fn batch_lapse_entries(w: &World) -> Vec<audit::AuditRecord> {
    w.db()
        .read(|tx| audit::list(tx, 0, 10_000))
        .expect("audit")
        .into_iter()
        .filter(|e| e.action == "card.lapse")
        .collect()
}

fn move_out(w: &World, id: i64, planned: NaiveDate, destination: Destination, keep_abroad: bool) {
    let from = w
        .db()
        .read(|tx| registry::get_resident(tx, id))
        .expect("read")
        .expect("resident")
        .municipality
        .to_string();
    w.authority
        .move_out(
            &w.clerk(&from),
            &w.key(),
            &MoveOut {
                resident_id: id,
                planned_move_out_on: planned,
                destination,
                abroad_with_continued_use: keep_abroad,
            },
        )
        .expect("move-out");
}

fn move_in_without_card(w: &World, id: i64, moved_in: NaiveDate) -> mynacard_authority::moves::MovedIn {
    w.authority
        .move_in(
            &w.clerk(SAPPORO),
            &w.key(),
            &MoveIn {
                resident_id: id,
                municipality: SAPPORO.into(),
                moved_in_on: moved_in,
                new_address: "北海道札幌市中央区北１条西２丁目".into(),
                continued_use: false,
                registry_pin: Zeroizing::new(String::new()),
                new_signature_certificate: false,
            },
        )
        .expect("move-in without the card")
}

fn my_number(n: u64) -> String {
    mynacard_rules::numbers::MyNumber::complete(&format!("{:011}", 10_000_000_000 + n))
        .expect("my number")
        .expose()
}

#[test]
fn no_move_in_within_30_days_after_the_planned_move_out_lapses_the_card() {
    on_both("lapse30", date(2026, 3, 25), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let serial = w.issue_card(id, ApplicationKind::New);
        move_out(
            w,
            id,
            date(2026, 4, 1),
            Destination::Municipality(SAPPORO.into()),
            false,
        );
        // Planned 04-01: a move-in on 05-01 would be in time; without one the
        // card lapses on 05-02.
        assert!(lapse_run(w, date(2026, 5, 1)).is_empty());
        assert_eq!(card_of(w, &serial).0.status, CardStatus::Active);
        let lapsed = lapse_run(w, date(2026, 5, 2));
        assert_eq!(
            lapsed,
            vec![LapseDone {
                card_serial: serial.clone(),
                lapsed_on: date(2026, 5, 2),
                reason: "no_move_in_after_move_out".into(),
            }]
        );
        assert_lapsed_everywhere(w, &serial, date(2026, 5, 2), "no_move_in_after_move_out");
        let entries = batch_lapse_entries(w);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].actor, "system:batch");
        assert_eq!(entries[0].subject, format!("card:{serial}"));
        // Idempotent: a second run (or the next night) does nothing.
        assert!(lapse_run(w, date(2026, 5, 2)).is_empty());
        assert!(lapse_run(w, date(2026, 5, 3)).is_empty());
        assert_eq!(batch_lapse_entries(w).len(), 1);
        // Too late for the card's continued use.
        let err = w
            .authority
            .move_in(
                &w.clerk(SAPPORO),
                &w.key(),
                &MoveIn {
                    resident_id: id,
                    municipality: SAPPORO.into(),
                    moved_in_on: date(2026, 4, 30),
                    new_address: "北海道札幌市中央区北１条西２丁目".into(),
                    continued_use: true,
                    registry_pin: Zeroizing::new("2468".into()),
                    new_signature_certificate: false,
                },
            )
            .expect_err("lapsed");
        assert_eq!(err.code(), "no_card");
        assert_audit_intact(w);
    });
}

#[test]
fn a_card_not_updated_within_90_days_after_the_move_in_lapses() {
    on_both("lapse90", date(2026, 3, 25), |w| {
        let late = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let updated = w.resident(&my_number(2), "番号　二郎", date(1981, 1, 1));
        let cards: Vec<String> = [late, updated]
            .iter()
            .map(|id| w.issue_card(*id, ApplicationKind::New))
            .collect();
        for id in [late, updated] {
            move_out(
                w,
                id,
                date(2026, 4, 1),
                Destination::Municipality(SAPPORO.into()),
                false,
            );
        }
        // Moved in on 04-05, notified on 04-10 without the card.
        w.set_today(date(2026, 4, 10));
        for id in [late, updated] {
            let moved = move_in_without_card(w, id, date(2026, 4, 5));
            assert_eq!(moved.card_update_due, Some(date(2026, 7, 9)), "90 days after 04-10");
            assert_eq!(moved.lapse, None);
            assert_eq!(moved.surface_entry, None);
        }
        let auth = card_of(w, &cards[1])
            .1
            .into_iter()
            .find(|c| c.kind == CertKind::Auth)
            .expect("auth");
        assert_eq!(
            ca_status(w, &auth.serial),
            CertStatus::Good,
            "in time: the auth certificate survives"
        );
        // An update on 07-09 is in time.
        w.set_today(date(2026, 7, 9));
        let wrong = w
            .authority
            .continue_card_use(
                &w.clerk(SAPPORO),
                &w.key(),
                &ContinuedUse {
                    resident_id: updated,
                    registry_pin: Zeroizing::new("9999".into()),
                    new_signature_certificate: false,
                },
            )
            .expect_err("wrong PIN");
        assert_eq!(wrong.code(), "wrong_pin");
        let done = w
            .authority
            .continue_card_use(
                &w.clerk(SAPPORO),
                &w.key(),
                &ContinuedUse {
                    resident_id: updated,
                    registry_pin: Zeroizing::new("2468".into()),
                    new_signature_certificate: false,
                },
            )
            .expect("continued use");
        assert_eq!(done.surface_entry, Some(1));
        let (_, _, entries) = card_of(w, &cards[1]);
        assert_eq!(entries[0].kind, SurfaceEntryKind::Address);
        assert_eq!(entries[0].entered_on, date(2026, 7, 9));
        assert!(lapse_run(w, date(2026, 7, 9)).is_empty());
        // Without one the card lapses on 07-10.
        let lapsed = lapse_run(w, date(2026, 7, 10));
        assert_eq!(lapsed.len(), 1, "{lapsed:?}");
        assert_eq!(lapsed[0].card_serial, cards[0]);
        assert_lapsed_everywhere(w, &cards[0], date(2026, 7, 10), "card_not_updated_after_move_in");
        assert_eq!(card_of(w, &cards[1]).0.status, CardStatus::Active);
        assert_eq!(ca_status(w, &auth.serial), CertStatus::Good);
        // Too late now for the other.
        assert!(lapse_run(w, date(2026, 7, 11)).is_empty());
        assert_audit_intact(w);
    });
}

#[test]
fn moving_again_before_the_card_was_updated_lapses_it_on_the_second_move() {
    on_both("lapse_again", date(2026, 3, 25), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let serial = w.issue_card(id, ApplicationKind::New);
        move_out(
            w,
            id,
            date(2026, 4, 1),
            Destination::Municipality(SAPPORO.into()),
            false,
        );
        w.set_today(date(2026, 4, 10));
        move_in_without_card(w, id, date(2026, 4, 5));
        w.set_today(date(2026, 6, 1));
        move_out(
            w,
            id,
            date(2026, 6, 10),
            Destination::Municipality(CHIYODA.into()),
            false,
        );
        assert_lapsed_everywhere(w, &serial, date(2026, 6, 1), "moved_again_before_update");
        assert!(lapse_run(w, date(2026, 6, 1)).is_empty());
        assert_audit_intact(w);
    });
}

fn foreign_resident(w: &World, my_number: &str, stay_until: NaiveDate) -> i64 {
    w.authority
        .register_resident(
            &w.clerk(CHIYODA),
            &w.key(),
            &NewResident {
                municipality: CHIYODA.into(),
                my_number: my_number.into(),
                name: "SMITH JOHN".into(),
                name_kana: "スミス　ジョン".into(),
                address: "東京都千代田区丸の内１－１".into(),
                birth_date: date(1990, 7, 7),
                sex: "male".into(),
                nationality: "US".into(),
                stay_until: Some(stay_until),
                permanent_resident: false,
                seal_registered: false,
                honseki: None,
                household_id: None,
                adult_ward: false,
            },
        )
        .expect("register")
}

#[test]
fn a_foreign_residents_card_lapses_at_the_end_of_stay_unless_its_validity_is_changed() {
    on_both("stay", date(2026, 1, 15), |w| {
        let kept = foreign_resident(w, "123456789018", date(2027, 3, 31));
        let ended = foreign_resident(w, &my_number(2), date(2027, 3, 31));
        let cards: Vec<String> = [kept, ended]
            .iter()
            .map(|id| w.issue_card(*id, ApplicationKind::New))
            .collect();
        for serial in &cards {
            assert_eq!(card_of(w, serial).0.expires_on, date(2027, 3, 31), "the end of stay");
        }
        // 在留期間更新 to 2030-03-31, then the card's 有効期間変更 before expiry.
        w.set_today(date(2027, 3, 20));
        let changed = w
            .authority
            .change_validity(
                &w.clerk(CHIYODA),
                &w.key(),
                &ValidityChange {
                    resident_id: kept,
                    new_stay_until: date(2030, 3, 31),
                    applicant: None,
                },
            )
            .expect("validity change");
        assert_eq!(changed.previous_expiry, date(2027, 3, 31));
        assert_eq!(changed.expires_on, date(2030, 3, 31));
        let (card, certificates, entries) = card_of(w, &cards[0]);
        assert_eq!(card.expires_on, date(2030, 3, 31));
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].kind, SurfaceEntryKind::ValidityChange);
        for c in &certificates {
            assert_eq!(c.status, CertificateStatus::Good);
            assert!(c.not_after <= date(2027, 3, 31), "the certificates keep their expiry");
            assert_eq!(ca_status(w, &c.serial), CertStatus::Good);
        }
        let resident = w
            .db()
            .read(|tx| registry::get_resident(tx, kept))
            .expect("read")
            .expect("resident");
        assert_eq!(
            resident.residence,
            mynacard_rules::card::Residence::ForeignWithStay {
                stay_until: date(2030, 3, 31)
            }
        );
        // Valid through its expiry; lapsed the day after.
        assert!(lapse_run(w, date(2027, 3, 31)).is_empty());
        let lapsed = lapse_run(w, date(2027, 4, 1));
        assert_eq!(lapsed.len(), 1, "{lapsed:?}");
        assert_eq!(lapsed[0].card_serial, cards[1]);
        assert_eq!(lapsed[0].reason, "stay_ended");
        let (card, certificates, _) = card_of(w, &cards[1]);
        assert_eq!(
            (card.status, card.lapsed_on),
            (CardStatus::Lapsed, Some(date(2027, 4, 1)))
        );
        for c in &certificates {
            // Expired on 03-31 in fact; revoked with the card all the same.
            assert_eq!(c.status, CertificateStatus::Revoked);
            assert!(matches!(ca_status(w, &c.serial), CertStatus::Revoked { .. }));
        }
        assert_eq!(card_of(w, &cards[0]).0.status, CardStatus::Active);
        // Too late for a validity change.
        let err = w
            .authority
            .change_validity(
                &w.clerk(CHIYODA),
                &w.key(),
                &ValidityChange {
                    resident_id: ended,
                    new_stay_until: date(2030, 3, 31),
                    applicant: None,
                },
            )
            .expect_err("lapsed");
        assert_eq!(err.code(), "no_card");
        assert_audit_intact(w);
    });
}

#[test]
fn a_departure_abroad_lapses_the_card_unless_the_holder_keeps_it() {
    on_both("abroad", date(2026, 8, 1), |w| {
        let keeps = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let leaves = w.resident(&my_number(2), "番号　二郎", date(1981, 1, 1));
        let cards: Vec<String> = [keeps, leaves]
            .iter()
            .map(|id| w.issue_card(*id, ApplicationKind::New))
            .collect();
        w.set_today(date(2026, 8, 20));
        move_out(w, keeps, date(2026, 9, 1), Destination::Abroad, true);
        move_out(w, leaves, date(2026, 9, 1), Destination::Abroad, false);
        // Both certificates are revoked on the move-out abroad.
        for serial in &cards {
            let (card, certificates, _) = card_of(w, serial);
            assert_eq!(card.status, CardStatus::Active, "valid until the departure");
            for c in &certificates {
                assert_eq!(c.status, CertificateStatus::Revoked);
                assert!(matches!(ca_status(w, &c.serial), CertStatus::Revoked { .. }));
            }
        }
        let (_, _, entries) = card_of(w, &cards[0]);
        assert_eq!(entries.len(), 1, "国外継続利用 written on the card");
        assert!(lapse_run(w, date(2026, 8, 31)).is_empty());
        let lapsed = lapse_run(w, date(2026, 9, 1));
        assert_eq!(lapsed.len(), 1, "{lapsed:?}");
        assert_eq!(lapsed[0].card_serial, cards[1]);
        assert_eq!(
            (lapsed[0].lapsed_on, lapsed[0].reason.as_str()),
            (date(2026, 9, 1), "departed_abroad")
        );
        assert_eq!(card_of(w, &cards[1]).0.status, CardStatus::Lapsed);
        assert_eq!(card_of(w, &cards[0]).0.status, CardStatus::Active, "kept abroad");
        assert!(lapse_run(w, date(2026, 12, 1)).is_empty());

        // Back from abroad with the card: a move-in with its continued use.
        w.set_today(date(2027, 1, 12));
        let back = w
            .authority
            .move_in(
                &w.clerk(SAPPORO),
                &w.key(),
                &MoveIn {
                    resident_id: keeps,
                    municipality: SAPPORO.into(),
                    moved_in_on: date(2027, 1, 10),
                    new_address: "北海道札幌市中央区北１条西２丁目".into(),
                    continued_use: true,
                    registry_pin: Zeroizing::new("2468".into()),
                    new_signature_certificate: false,
                },
            )
            .expect("back from abroad");
        assert_eq!(back.surface_entry, Some(2));
        assert_eq!(back.lapse, None);
        assert_eq!(card_of(w, &cards[0]).0.status, CardStatus::Active);
        assert!(lapse_run(w, date(2027, 6, 1)).is_empty());

        // A foreign national's card always lapses on departure (rules.md §7).
        let foreigner = foreign_resident(w, &my_number(3), date(2030, 3, 31));
        w.issue_card(foreigner, ApplicationKind::New);
        let err = w
            .authority
            .move_out(
                &w.clerk(CHIYODA),
                &w.key(),
                &MoveOut {
                    resident_id: foreigner,
                    planned_move_out_on: date(2027, 2, 1),
                    destination: Destination::Abroad,
                    abroad_with_continued_use: true,
                },
            )
            .expect_err("not for foreign nationals");
        assert_eq!(err.code(), "continued_use_not_available");
        assert_audit_intact(w);
    });
}
