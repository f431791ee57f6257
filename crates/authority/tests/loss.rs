//! Loss end to end: the hotline's suspension at night, found again (held
//! certificates replaced on the card), reissue with evidence and the fee,
//! return — on both registries, with the CA's view, the card's view and the
//! audit chain.

mod common;

use chrono::{NaiveDate, TimeZone, Utc};
use common::*;
use mynacard_authority::loss::{HolderLookup, LossReport, LostCard, NoFaultGround, Reissue, ReissueEvidenceGiven};
use mynacard_authority::{Actor, AuthorityError};
use mynacard_card::JpkiKey;
use mynacard_pki::status::{CertStatus, CrlReason};
use mynacard_pki::Serial;
use mynacard_reader::client::verify_sha256;
use mynacard_reader::JpkiClient;
use mynacard_rules::fee::{FeeCause, FeeReason};
use mynacard_store::audit;
use mynacard_store::registry::{
    self, ApplicationKind, Card, CardStatus, CertKind, CertificateRecord, CertificateStatus, LossCause, LossChannel,
    LossReportStatus,
};

const BORN: (i32, u32, u32) = (1985, 4, 1);

fn born() -> NaiveDate {
    date(BORN.0, BORN.1, BORN.2)
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

fn ca_reason(world: &World, serial_hex: &str) -> Option<CrlReason> {
    match ca_status(world, serial_hex) {
        CertStatus::Good => None,
        CertStatus::Revoked { reason, .. } => Some(reason),
    }
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

fn audit_actions(w: &World) -> Vec<(String, String, String)> {
    w.db()
        .read(|tx| audit::list(tx, 0, 10_000))
        .expect("audit")
        .into_iter()
        .map(|r| (r.actor, r.action, r.details))
        .collect()
}

fn hotline() -> Actor {
    Actor::hotline("hotline:001")
}

fn hotline_report(card: LostCard) -> LossReport {
    LossReport {
        card,
        cause: LossCause::Loss,
        reported_at: None,
        channel: LossChannel::Hotline,
        note: Some("lost on the last train".into()),
    }
}

/// Signs with the card's auth key and checks the signature with `der`.
fn auth_signature_checks(w: &World, card_serial: &str, der: &[u8]) -> bool {
    let mut reader = w.card(card_serial);
    let mut client = JpkiClient::new(&mut reader);
    let message = b"login challenge";
    let signed = client
        .sign_sha256(JpkiKey::Auth, "1234", message)
        .expect("sign with the auth key");
    assert_eq!(
        signed.certificate, der,
        "the card carries the certificate the registry records"
    );
    verify_sha256(der, message, &signed.signature)
}

#[test]
fn a_card_suspended_at_night_is_found_and_gets_new_certificates() {
    on_both("found", date(2026, 11, 2), |w| {
        let id = w.resident("123456789018", "番号　花子", born());
        let serial = w.issue_card(id, ApplicationKind::New);
        let before = certificates(w, &serial);
        assert_eq!(before.len(), 2);

        // 03:00 in Japan on 3 November (18:00 UTC the day before).
        let night = Utc.with_ymd_and_hms(2026, 11, 2, 18, 0, 0).single().expect("instant");
        w.clock.set(night);
        let found = w
            .authority
            .find_cards_for_hotline(&hotline(), "番号 花子", born(), Some("東京都千代田区"))
            .expect("search");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].card_serial, serial);
        assert_eq!(found[0].status, CardStatus::Active);
        assert!(
            !serde_json::to_string(&found).expect("json").contains("123456789018"),
            "no My Number in the hotline's answer"
        );
        let disclosed = w
            .db()
            .read(|tx| mynacard_store::disclosure::list_for_resident(tx, id))
            .expect("disclosures");
        assert_eq!(disclosed.len(), 1, "the search is in the disclosure log");
        assert_eq!(disclosed[0].actor, "hotline:001");
        let nobody = w
            .authority
            .find_cards_for_hotline(&hotline(), "番号 花子", born(), Some("北海道"))
            .expect("search");
        assert!(nobody.is_empty());

        let report = hotline_report(LostCard::Holder(HolderLookup {
            name: "番号　花子".into(),
            birth_date: born(),
            address_prefix: None,
        }));
        let suspended = w
            .authority
            .suspend_lost_card(&hotline(), "hotline-call-1", &report)
            .expect("suspend");
        assert_eq!(suspended.card_serial, serial);
        assert_eq!(suspended.suspended_at, night);
        assert_eq!(suspended.held.len(), 2);
        // A retry with the same key acts once.
        let again = w
            .authority
            .suspend_lost_card(&hotline(), "hotline-call-1", &report)
            .expect("retry");
        assert_eq!(again, suspended);
        assert_eq!(card(w, &serial).status, CardStatus::Suspended);
        for c in certificates(w, &serial) {
            assert_eq!(c.status, CertificateStatus::Hold, "{:?}", c.kind);
            assert_eq!(ca_reason(w, &c.serial), Some(CrlReason::CertificateHold));
        }
        let reports = w.db().read(|tx| registry::list_loss_reports(tx, id)).expect("reports");
        assert_eq!(reports.len(), 1, "one loss report for the retried call");
        assert_eq!(reports[0].status, LossReportStatus::Open);
        assert_eq!(reports[0].reported_at, night);
        assert_eq!(reports[0].reported_by, "hotline:001");
        assert_eq!(reports[0].card_serial.as_deref(), Some(serial.as_str()));
        // Suspended already: a second call is refused.
        let err = w
            .authority
            .suspend_lost_card(
                &hotline(),
                "hotline-call-2",
                &hotline_report(LostCard::Serial(serial.clone())),
            )
            .expect_err("suspended already");
        assert_eq!(err.code(), "card_suspended");

        // Found: only at the window of the municipality of residence.
        w.set_today(date(2026, 11, 5));
        for (actor, code) in [(hotline(), "forbidden"), (w.clerk(SAPPORO), "forbidden")] {
            let err = w
                .authority
                .card_found(&actor, &w.key(), &serial)
                .expect_err("not theirs");
            assert_eq!(err.code(), code);
        }
        assert_eq!(card(w, &serial).status, CardStatus::Suspended);
        let key = w.key();
        let done = w.authority.card_found(&w.clerk(CHIYODA), &key, &serial).expect("found");
        let retried = w.authority.card_found(&w.clerk(CHIYODA), &key, &serial).expect("retry");
        assert_eq!(done, retried, "the same key answers the same");
        assert_eq!(done.revoked.len(), 2);
        assert_eq!(done.new_certificates.len(), 2);
        assert_eq!(done.loss_reports, vec![reports[0].id]);
        assert_eq!(card(w, &serial).status, CardStatus::Active);

        // The held certificates: revoked (a hold on a card certificate is
        // never released), at the registry and the CA.
        for old in &before {
            let now = w
                .db()
                .read(|tx| registry::get_certificate(tx, &old.serial))
                .expect("read")
                .expect("certificate");
            assert_eq!(now.status, CertificateStatus::Revoked);
            assert_eq!(now.reason, Some(CrlReason::Superseded));
            match ca_status(w, &old.serial) {
                CertStatus::Revoked {
                    reason,
                    invalidity_date,
                    ..
                } => {
                    assert_eq!(reason, CrlReason::Superseded);
                    assert_eq!(invalidity_date, Some(night), "in doubt since the hold");
                }
                other => panic!("old certificate at the CA: {other:?}"),
            }
        }
        // The new ones: good, one of each kind, nothing else valid.
        let valid: Vec<CertificateRecord> = certificates(w, &serial)
            .into_iter()
            .filter(|c| c.status.is_valid())
            .collect();
        assert_eq!(valid.len(), 2);
        for c in &valid {
            assert_eq!(c.status, CertificateStatus::Good);
            assert_eq!(c.issued_on, date(2026, 11, 5));
            assert_eq!(c.not_after, date(2031, 4, 1), "5th birthday after the new issuance");
            assert_eq!(ca_status(w, &c.serial), CertStatus::Good);
            assert!(done
                .new_certificates
                .iter()
                .any(|(s, k, _)| *s == c.serial && *k == c.kind));
        }
        let new_auth = valid.iter().find(|c| c.kind == CertKind::Auth).expect("auth");
        assert!(auth_signature_checks(w, &serial, &ca_der(w, &new_auth.serial)));
        let old_auth = before.iter().find(|c| c.kind == CertKind::Auth).expect("old auth");
        {
            let mut reader = w.card(&serial);
            let mut client = JpkiClient::new(&mut reader);
            let signed = client.sign_sha256(JpkiKey::Auth, "1234", b"m").expect("sign");
            assert!(
                !verify_sha256(&ca_der(w, &old_auth.serial), b"m", &signed.signature),
                "the old key is gone from the card"
            );
            let new_sign = valid.iter().find(|c| c.kind == CertKind::Sign).expect("sign");
            let signed = client.sign_sha256(JpkiKey::Sign, "ABC123", b"doc").expect("sign");
            assert!(verify_sha256(&ca_der(w, &new_sign.serial), b"doc", &signed.signature));
        }
        let reports = w.db().read(|tx| registry::list_loss_reports(tx, id)).expect("reports");
        assert_eq!(reports[0].status, LossReportStatus::Found);
        assert!(reports[0].found_at.is_some());
        assert_audit_intact(w);
        let actions = audit_actions(w);
        assert_eq!(
            actions.iter().filter(|(_, a, _)| a == "card.suspend").count(),
            1,
            "the retried suspension is audited once"
        );
        assert!(actions
            .iter()
            .any(|(who, a, _)| who == "hotline:001" && a == "card.suspend"));
        assert_eq!(actions.iter().filter(|(_, a, _)| a == "card.found").count(), 1);
        assert!(actions.iter().all(|(_, _, d)| !d.contains("123456789018")));
    });
}

fn reissue_request(resident_id: i64, cause: FeeCause) -> Reissue {
    Reissue {
        resident_id,
        cause,
        evidence: ReissueEvidenceGiven::default(),
        not_holders_fault: None,
        with_certificates: true,
    }
}

fn fees(w: &World, id: i64) -> Vec<registry::Stored<registry::Fee>> {
    w.db().read(|tx| registry::list_fees(tx, id)).expect("fees")
}

#[test]
fn a_lost_card_is_reissued_for_1000_yen_with_the_police_receipt() {
    on_both("reissue", date(2026, 11, 2), |w| {
        let id = w.resident("123456789018", "番号　花子", born());
        let serial = w.issue_card(id, ApplicationKind::New);
        let old_certs = certificates(w, &serial);
        w.authority
            .suspend_lost_card(&hotline(), &w.key(), &hotline_report(LostCard::Serial(serial.clone())))
            .expect("suspend");

        // Without the police receipt number: refused, nothing recorded.
        let err = w
            .authority
            .reissue(&w.clerk(CHIYODA), &w.key(), &reissue_request(id, FeeCause::Loss))
            .expect_err("no evidence");
        assert_eq!(err.code(), "evidence_missing");
        let mut with_receipt = reissue_request(id, FeeCause::Loss);
        with_receipt.evidence.police_receipt_number = Some("第2026-001234号".into());
        // The hotline suspends; it does not reissue. Nor does another municipality.
        for actor in [hotline(), w.clerk(SAPPORO)] {
            let err = w
                .authority
                .reissue(&actor, &w.key(), &with_receipt)
                .expect_err("not theirs");
            assert_eq!(err.code(), "forbidden");
        }
        assert!(fees(w, id).is_empty());
        assert_eq!(card(w, &serial).status, CardStatus::Suspended);

        let done = w
            .authority
            .reissue(&w.clerk(CHIYODA), "reissue-1", &with_receipt)
            .expect("reissue");
        let again = w
            .authority
            .reissue(&w.clerk(CHIYODA), "reissue-1", &with_receipt)
            .expect("retry");
        assert_eq!(done, again);
        assert_eq!(done.fee_yen, 1_000);
        assert_eq!(done.fee_reason, FeeReason::ReissueWithCertificates);
        assert_eq!(done.invalidated_card.as_deref(), Some(serial.as_str()));
        let charged = fees(w, id);
        assert_eq!(charged.len(), 1, "one fee for the retried request");
        assert_eq!(charged[0].amount_yen, 1_000);
        assert_eq!(charged[0].cause, FeeCause::Loss);
        assert_eq!(charged[0].application_id, Some(done.application_id));
        assert_eq!(charged[0].receipt_number, done.receipt_number);
        assert!(done.receipt_number.is_some());
        assert_eq!(charged[0].paid_on, Some(date(2026, 11, 2)));

        // The old card: invalid; its held certificates revoked (keyCompromise).
        assert_eq!(card(w, &serial).status, CardStatus::Invalid);
        for c in &old_certs {
            let now = w
                .db()
                .read(|tx| registry::get_certificate(tx, &c.serial))
                .expect("read")
                .expect("certificate");
            assert_eq!(now.status, CertificateStatus::Revoked);
            assert_eq!(now.reason, Some(CrlReason::KeyCompromise));
            assert_eq!(ca_reason(w, &c.serial), Some(CrlReason::KeyCompromise));
        }
        let reports = w.db().read(|tx| registry::list_loss_reports(tx, id)).expect("reports");
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].status, LossReportStatus::Reissued);
        assert_eq!(reports[0].police_receipt_number.as_deref(), Some("第2026-001234号"));
        let application = w
            .db()
            .read(|tx| registry::get_application(tx, done.application_id))
            .expect("read")
            .expect("application");
        assert_eq!(application.kind, ApplicationKind::Reissue);
        assert_eq!(application.reissue_cause, Some(FeeCause::Loss));
        assert!(application.signature_wanted);

        // Production and delivery as for any application.
        let produced = w
            .authority
            .produce(&Actor::producer(), &w.key(), done.application_id)
            .expect("produce");
        assert!(produced.superseded.is_empty(), "revoked at the reissue already");
        let delivered = w
            .authority
            .deliver(&w.clerk(CHIYODA), &w.key(), &produced.card_serial, &pins())
            .expect("deliver");
        assert_eq!(delivered.returned, None);
        assert_eq!(card(w, &produced.card_serial).status, CardStatus::Active);
        let new_certs = certificates(w, &produced.card_serial);
        assert_eq!(new_certs.len(), 2);
        for c in &new_certs {
            assert_eq!(ca_status(w, &c.serial), CertStatus::Good);
        }
        let auth = new_certs.iter().find(|c| c.kind == CertKind::Auth).expect("auth");
        assert!(auth_signature_checks(
            w,
            &produced.card_serial,
            &ca_der(w, &auth.serial)
        ));
        assert_audit_intact(w);
    });
}

#[test]
fn reissue_fees_follow_the_rules() {
    on_both("reissue-fees", date(2026, 11, 2), |w| {
        // A card lost in a natural disaster, with the 罹災証明書: free.
        let a = w.resident("123456789018", "番号　花子", born());
        let a_card = w.issue_card(a, ApplicationKind::New);
        let mut disaster = reissue_request(a, FeeCause::Fire);
        disaster.not_holders_fault = Some(NoFaultGround::NaturalDisaster);
        let err = w
            .authority
            .reissue(&w.clerk(CHIYODA), &w.key(), &disaster)
            .expect_err("a disaster needs its certificate");
        assert_eq!(err.code(), "evidence_missing");
        disaster.evidence.disaster_certificate = Some("罹災証明 第42号".into());
        let free = w
            .authority
            .reissue(&w.clerk(CHIYODA), &w.key(), &disaster)
            .expect("reissue");
        assert_eq!(free.fee_yen, 0);
        assert_eq!(free.fee_reason, FeeReason::NotHoldersFaultFree);
        assert_eq!(free.receipt_number, None, "nothing paid, no receipt");
        let charged = fees(w, a);
        assert_eq!(charged.len(), 1);
        assert_eq!(charged[0].amount_yen, 0);
        assert_eq!(charged[0].receipt_number, None);
        assert_eq!(card(w, &a_card).status, CardStatus::Invalid);
        for c in certificates(w, &a_card) {
            assert_eq!(c.status, CertificateStatus::Revoked);
            assert_eq!(ca_reason(w, &c.serial), Some(CrlReason::Superseded));
        }
        let reports = w.db().read(|tx| registry::list_loss_reports(tx, a)).expect("reports");
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].cause, LossCause::Fire);
        assert_eq!(reports[0].disaster_certificate.as_deref(), Some("罹災証明 第42号"));
        // A second reissue while the first is being produced: refused.
        let err = w
            .authority
            .reissue(&w.clerk(CHIYODA), &w.key(), &disaster)
            .expect_err("pending");
        assert_eq!(err.code(), "application_pending");

        // A damaged card, card only: 800 yen; the damaged card is the evidence.
        let b = w.resident("000000000019", "番号　太郎", date(1990, 1, 1));
        let b_card = w.issue_card(b, ApplicationKind::New);
        let mut damaged = reissue_request(b, FeeCause::Damage);
        damaged.with_certificates = false;
        let err = w
            .authority
            .reissue(&w.clerk(CHIYODA), &w.key(), &damaged)
            .expect_err("without the card");
        assert_eq!(err.code(), "evidence_missing");
        damaged.evidence.damaged_card_returned = true;
        let paid = w
            .authority
            .reissue(&w.clerk(CHIYODA), &w.key(), &damaged)
            .expect("reissue");
        assert_eq!(paid.fee_yen, 800);
        assert_eq!(paid.fee_reason, FeeReason::ReissueCardOnly);
        assert_eq!(paid.loss_report_id, None, "damage is no loss");
        assert_ne!(paid.receipt_number, None);
        assert_ne!(paid.receipt_number, free.receipt_number);
        assert_eq!(card(w, &b_card).status, CardStatus::Invalid);
        assert_eq!(fees(w, b)[0].amount_yen, 800);

        // A theft with the police receipt, with certificates: 1,000 yen.
        let c = w.resident("111111111118", "番号　次郎", date(1970, 12, 31));
        w.issue_card(c, ApplicationKind::New);
        let mut theft = reissue_request(c, FeeCause::Theft);
        theft.evidence.police_receipt_number = Some("R-77".into());
        let paid = w
            .authority
            .reissue(&w.clerk(CHIYODA), &w.key(), &theft)
            .expect("reissue");
        assert_eq!(paid.fee_yen, 1_000);
        assert_audit_intact(w);
    });
}

#[test]
fn a_returned_card_lapses_and_its_certificates_are_revoked() {
    on_both("return", date(2026, 11, 2), |w| {
        let id = w.resident("123456789018", "番号　花子", born());
        let serial = w.issue_card(id, ApplicationKind::New);
        let err = w
            .authority
            .return_card(&hotline(), &w.key(), &serial)
            .expect_err("the hotline takes no cards");
        assert!(matches!(err, AuthorityError::Forbidden(_)), "{err}");
        let key = w.key();
        let done = w
            .authority
            .return_card(&w.clerk(CHIYODA), &key, &serial)
            .expect("return");
        assert_eq!(
            w.authority
                .return_card(&w.clerk(CHIYODA), &key, &serial)
                .expect("retry"),
            done
        );
        assert_eq!(done.revoked.len(), 2);
        let returned = card(w, &serial);
        assert_eq!(returned.status, CardStatus::Returned);
        assert_eq!(returned.lapsed_on, Some(date(2026, 11, 2)));
        for c in certificates(w, &serial) {
            assert_eq!(c.status, CertificateStatus::Revoked);
            assert_eq!(c.reason, Some(CrlReason::CessationOfOperation));
            assert_eq!(ca_reason(w, &c.serial), Some(CrlReason::CessationOfOperation));
        }
        let err = w
            .authority
            .return_card(&w.clerk(CHIYODA), &w.key(), &serial)
            .expect_err("returned already");
        assert_eq!(err.code(), "card_not_in_use");
        let err = w
            .authority
            .suspend_lost_card(&hotline(), &w.key(), &hotline_report(LostCard::Serial(serial.clone())))
            .expect_err("not in use");
        assert_eq!(err.code(), "card_not_in_use");
        assert_audit_intact(w);
    });
}
