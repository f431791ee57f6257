//! Issuance end to end: application, production (keys on the card,
//! certificates from the CA), delivery (PINs from the pad) — on both
//! registries, with the CA's view, the card's view and the audit chain.

mod common;

use common::*;
use mynacard_authority::issuance::NewApplication;
use mynacard_authority::{Actor, AuthorityError};
use mynacard_pki::status::CertStatus;
use mynacard_pki::Serial;
use mynacard_reader::{JpkiClient, PinRef};
use mynacard_store::audit;
use mynacard_store::registry::{self, ApplicationChannel, ApplicationKind, CardStatus, CertKind, CertificateStatus};

#[test]
fn a_card_is_applied_for_produced_and_delivered() {
    on_both("issue", date(2026, 11, 2), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let serial = w.issue_card(id, ApplicationKind::New);
        let (card, certs) = w
            .db()
            .read(|tx| {
                Ok::<_, mynacard_store::StoreError>((
                    registry::get_card(tx, &serial)?.expect("card"),
                    registry::list_certificates_for_card(tx, &serial)?,
                ))
            })
            .expect("read");
        assert_eq!(card.status, CardStatus::Active);
        assert_eq!(card.expires_on, date(2036, 4, 1), "10th birthday after issuance");
        assert_eq!(card.delivered_on, Some(date(2026, 11, 2)));
        assert_eq!(certs.len(), 2);
        for c in &certs {
            assert_eq!(c.status, CertificateStatus::Good);
            assert_eq!(c.not_after, date(2031, 4, 1), "5th birthday after issuance");
            assert_eq!(ca_status(w, &c.serial), CertStatus::Good);
        }
        // The holder's PINs work on the card; the auth certificate on the
        // card is the one in the registry.
        let mut reader = w.card(&serial);
        let mut client = JpkiClient::new(&mut reader);
        client.verify(PinRef::Auth, "1234").expect("auth PIN set at delivery");
        client.verify(PinRef::Sign, "ABC123").expect("sign PIN set at delivery");
        let der = client
            .read_certificate(mynacard_card::JpkiKey::Auth, None)
            .expect("auth cert");
        let auth = certs.iter().find(|c| c.kind == CertKind::Auth).expect("auth record");
        assert!(
            w.authority
                .ca()
                .repository()
                .certificate(&Serial::from_hex(&auth.serial).expect("serial"))
                .expect("CA")
                .and_then(|r| r.der)
                .is_some_and(|d| d == der),
            "the card carries the certificate the registry records"
        );
        let report = audit::verify(w.db()).expect("verify");
        assert!(report.is_intact(), "{report:?}");
        assert!(
            report.checked >= 5,
            "register, apply, produce, deliver (+ municipalities)"
        );
    });
}

#[test]
fn a_retried_production_acts_once() {
    on_both("retry", date(2026, 11, 2), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let app = w
            .authority
            .apply(
                &w.clerk(CHIYODA),
                "apply-1",
                &NewApplication {
                    resident_id: id,
                    kind: ApplicationKind::New,
                    channel: ApplicationChannel::Window,
                    face_recognition: false,
                    signature_wanted: true,
                    jlis_received_on: None,
                },
            )
            .expect("apply");
        let again = w
            .authority
            .apply(
                &w.clerk(CHIYODA),
                "apply-1",
                &NewApplication {
                    resident_id: id,
                    kind: ApplicationKind::New,
                    channel: ApplicationChannel::Window,
                    face_recognition: false,
                    signature_wanted: true,
                    jlis_received_on: None,
                },
            )
            .expect("apply again");
        assert_eq!(app, again);
        let first = w
            .authority
            .produce(&Actor::producer(), "produce-1", app)
            .expect("produce");
        let second = w
            .authority
            .produce(&Actor::producer(), "produce-1", app)
            .expect("produce again");
        assert_eq!(first, second, "the same key answers the same card");
        let cards = w
            .db()
            .read(|tx| registry::list_cards_for_resident(tx, id))
            .expect("cards");
        assert_eq!(cards.len(), 1, "one card made");
        // The same key for another request is refused.
        let err = w
            .authority
            .produce(&Actor::producer(), "produce-1", app + 1)
            .expect_err("reused key");
        assert!(matches!(err, AuthorityError::KeyReused(_)), "{err}");
        // A new key for the same application: refused, it is produced.
        let err = w
            .authority
            .produce(&Actor::producer(), "produce-2", app)
            .expect_err("produced already");
        assert_eq!(err.code(), "application_not_open");
    });
}

#[test]
fn staff_of_another_municipality_cannot_act() {
    on_both("scope", date(2026, 11, 2), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let err = w
            .authority
            .apply(
                &w.clerk(SAPPORO),
                "k",
                &NewApplication {
                    resident_id: id,
                    kind: ApplicationKind::New,
                    channel: ApplicationChannel::Window,
                    face_recognition: false,
                    signature_wanted: true,
                    jlis_received_on: None,
                },
            )
            .expect_err("another municipality");
        assert_eq!(err.code(), "forbidden");
        let nothing = w
            .db()
            .read(|tx| registry::list_applications(tx, id))
            .expect("applications");
        assert!(nothing.is_empty());
    });
}

#[test]
fn the_real_list_of_municipalities_is_set_up_once() {
    on_both("municipalities", date(2026, 11, 2), |w| {
        let system = Actor::system("setup");
        // The harness added Chiyoda and Sapporo already.
        assert_eq!(w.authority.seed_municipalities(&system, "seed-1").expect("seed"), 1739);
        assert_eq!(
            w.authority.seed_municipalities(&system, "seed-1").expect("replay"),
            1739
        );
        assert_eq!(w.authority.seed_municipalities(&system, "seed-2").expect("again"), 0);
        let all = w.db().read(registry::list_municipalities).expect("list");
        assert_eq!(all.len(), 1741);
        let naha = all.iter().find(|m| m.code.to_string() == "472018").expect("Naha");
        assert_eq!((naha.name_ja.as_str(), naha.name_en.as_str()), ("那覇市", "Naha-shi"));
        let err = w
            .authority
            .seed_municipalities(&w.clerk(CHIYODA), "seed-3")
            .expect_err("staff");
        assert_eq!(err.code(), "forbidden");
    });
}
