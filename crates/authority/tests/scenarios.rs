//! Lives of residents across years, end to end, on both registries: each
//! step asserted in the registry, in the certificate statuses a relying
//! party sees (a CRL freshly written by the CA and an OCSP response from
//! the CA's delegated responder, both signature-checked, and the relying
//! party's verifier over them), in the fees charged and in the audit log.
//!
//! 1. Issued at 17 (valid to the 5th birthday), renewed as an adult inside
//!    the renewal window (the old certificates superseded, the old card
//!    returned, the new card valid to the 10th birthday); the nightly batch
//!    around the old expiry changes nothing.
//! 2. The loss story: suspended at night by the hotline (certificateHold),
//!    found (held ones superseded, new ones good), lost again, reissued for
//!    1,000 yen, produced and delivered.
//! 3. Moves: no move-in within 30 days after the planned move-out (then a
//!    late move-in), and a move-in without the card not updated within 90
//!    days — both cards lapsed by the nightly batch, certificates revoked.
//! 4. Foreign residents: the end of stay without a validity change lapses
//!    the card through the batch; with one the card continues.
//! 5. Death: every certificate revoked in the CRL and OCSP, the card in
//!    production invalidated, the resident's audit trail lists every step.
//!
//! At the end, product bugs these lives ran into, each as an ignored test
//! of what should happen (`cargo test --test scenarios -- --ignored`).

mod common;

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use common::*;
use mynacard_authority::batch::BatchReport;
use mynacard_authority::issuance::{NewApplication, NewResident, Produced};
use mynacard_authority::loss::{LossReport, LostCard, Reissue, ReissueEvidenceGiven};
use mynacard_authority::moves::{Death, Destination, MoveIn, MoveOut, MoveWithin, ValidityChange};
use mynacard_authority::Actor;
use mynacard_card::JpkiKey;
use mynacard_pki::ca::LoadedGeneration;
use mynacard_pki::crl::{CrlIssuer, ParsedCrl};
use mynacard_pki::ocsp::{
    encode_request, nonce_extension_value, parse_request, parse_response, CertIdHash, OcspIssuer, OcspResponseStatus,
    Responder, SingleStatus,
};
use mynacard_pki::status::CrlReason;
use mynacard_pki::verify::{Rejection, Revocation, Usage, Verifier};
use mynacard_pki::Serial;
use mynacard_reader::client::verify_sha256;
use mynacard_reader::JpkiClient;
use mynacard_rules::fee::{FeeCause, FeeReason};
use mynacard_rules::numbers::MyNumber;
use mynacard_store::registry::{
    self, ApplicationChannel, ApplicationKind, Card, CardStatus, CertKind, CertificateRecord, CertificateStatus,
    LossCause, LossChannel, LossReportStatus, NoticeKind, ResidentStatus,
};
use mynacard_store::{audit, StoreError};
use zeroize::Zeroizing;

// ------------------------------------------------------------------------
// What a relying party sees: the CRL and OCSP
// ------------------------------------------------------------------------

/// A certificate's status as published (a hold is `Revoked(CertificateHold)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Published {
    Good,
    Revoked(CrlReason),
    /// Not a certificate of this CA.
    Unknown,
}

fn serial_of(hex: &str) -> Serial {
    Serial::from_hex(hex).expect("serial")
}

/// The CA generation that issued `serial_hex` (by the CA's own record).
fn generation_of<'a>(w: &'a World, serial_hex: &str) -> Option<&'a LoadedGeneration> {
    let record = w
        .authority
        .ca()
        .repository()
        .certificate(&serial_of(serial_hex))
        .expect("CA repository")?;
    w.authority
        .ca()
        .generations()
        .iter()
        .find(|g| g.config.hierarchy == record.hierarchy && g.config.generation == record.generation)
}

/// A CRL freshly written by the CA for `g`, its signature checked against the root.
fn fresh_crl(w: &World, g: &LoadedGeneration) -> ParsedCrl {
    let now = w.authority.clock().now();
    let mut der = Vec::new();
    w.authority
        .ca()
        .write_generation_crl(g, now, now + TimeDelta::days(1), &mut der)
        .expect("write CRL");
    let crl = ParsedCrl::from_der_vec(der).expect("parse CRL");
    crl.verify_issued_by(&CrlIssuer::new(&g.root_der).expect("issuer"))
        .expect("the CRL is signed by the root");
    crl
}

/// The status of `serial_hex` in a CRL freshly written by the CA.
fn crl_status(w: &World, serial_hex: &str) -> Published {
    let Some(g) = generation_of(w, serial_hex) else {
        return Published::Unknown;
    };
    match fresh_crl(w, g).get(&serial_of(serial_hex)) {
        None => Published::Good,
        Some(entry) => Published::Revoked(entry.reason),
    }
}

/// The delegated OCSP responder of `g`, answering from the CA's records as
/// the server's responder does.
fn responder(g: &LoadedGeneration) -> Responder {
    Responder::new(
        OcspIssuer::new(&g.root_der).expect("issuer"),
        g.ocsp_der.clone(),
        g.ocsp_signer.clone(),
    )
    .expect("responder")
}

/// An OCSP response (DER) about `serial_hex` from the CA's responder: a
/// request with a nonce, encoded and parsed as on the wire, answered from
/// the CA's records.
fn ocsp_response(w: &World, g: &LoadedGeneration, serial_hex: &str) -> Vec<u8> {
    let responder = responder(g);
    let id = responder.issuer().cert_id(CertIdHash::Sha256, serial_of(serial_hex));
    let nonce = nonce_extension_value(serial_hex.as_bytes()).expect("nonce");
    let request = parse_request(&encode_request(&[id], Some(&nonce)).expect("request")).expect("parse request");
    let now = w.authority.clock().now();
    let repository = w.authority.ca().repository();
    responder
        .answer(
            &request,
            now,
            now,
            Some(now + TimeDelta::hours(1)),
            |serial| match repository.certificate(serial).expect("CA repository") {
                Some(r) if r.hierarchy == g.config.hierarchy && r.generation == g.config.generation => {
                    SingleStatus::from(r.status)
                }
                _ => SingleStatus::Unknown,
            },
        )
        .expect("OCSP answer")
}

/// The status of `serial_hex` in an OCSP response of the CA's responder,
/// its signature and nonce checked.
fn ocsp_status(w: &World, serial_hex: &str) -> Published {
    let Some(g) = generation_of(w, serial_hex) else {
        return Published::Unknown;
    };
    let der = ocsp_response(w, g, serial_hex);
    let parsed = parse_response(&der).expect("parse OCSP response");
    assert_eq!(parsed.status, OcspResponseStatus::Successful);
    parsed
        .verify_signature(g.ocsp_signer.public_key_der())
        .expect("signed by the responder");
    assert_eq!(
        parsed.nonce.as_deref(),
        Some(nonce_extension_value(serial_hex.as_bytes()).expect("nonce").as_slice()),
        "the nonce is echoed"
    );
    let id = OcspIssuer::new(&g.root_der)
        .expect("issuer")
        .cert_id(CertIdHash::Sha256, serial_of(serial_hex));
    match parsed.find(&id).expect("the response speaks of the certificate").status {
        SingleStatus::Good => Published::Good,
        SingleStatus::Revoked { reason, .. } => Published::Revoked(reason.unwrap_or(CrlReason::Unspecified)),
        SingleStatus::Unknown => Published::Unknown,
    }
}

/// A relying party's verdict on the certificate now, through the CRL and
/// through OCSP (which must agree).
fn relying_party(w: &World, c: &CertificateRecord) -> Result<(), Rejection> {
    let g = generation_of(w, &c.serial).expect("a certificate of the CA");
    let der = w
        .authority
        .ca()
        .repository()
        .certificate(&serial_of(&c.serial))
        .expect("CA")
        .and_then(|r| r.der)
        .expect("certificate DER");
    let roots: Vec<Vec<u8>> = w
        .authority
        .ca()
        .generations()
        .iter()
        .map(|g| g.root_der.clone())
        .collect();
    let verifier = Verifier::new(&roots).expect("verifier");
    let usage = match c.kind {
        CertKind::Auth | CertKind::SmartphoneAuth => Usage::Authentication,
        CertKind::Sign | CertKind::SmartphoneSign => Usage::Signature,
    };
    let now = w.authority.clock().now();
    let crl = fresh_crl(w, g);
    let by_crl = verifier.verify(&der, usage, now, Revocation::Crl(&crl)).map(drop);
    let response = ocsp_response(w, g, &c.serial);
    let by_ocsp = verifier.verify(&der, usage, now, Revocation::Ocsp(&response)).map(drop);
    match &by_ocsp {
        // The delegated responder's certificate is valid for 730 days from
        // `ca init` and nothing re-certifies the responder (reported as a
        // product gap): past that, a relying party cannot use the CA's OCSP
        // responses at all. The answer itself is still checked by
        // `ocsp_status`, with the responder's key.
        Err(Rejection::NotValidAt { why, .. }) if why.starts_with("the responder certificate") => {}
        _ => assert_eq!(
            verdict(&by_crl),
            verdict(&by_ocsp),
            "CRL and OCSP agree on {}",
            c.serial
        ),
    }
    by_crl
}

/// A verdict without the details that differ between CRL and OCSP.
fn verdict(r: &Result<(), Rejection>) -> Result<(), String> {
    match r {
        Ok(()) => Ok(()),
        Err(Rejection::Revoked { reason, .. }) => Err(format!("revoked {reason:?}")),
        Err(e) => Err(format!("{e}")),
    }
}

/// What a certificate should be, everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Good,
    Hold,
    Revoked(CrlReason),
}

fn certificate(w: &World, serial_hex: &str) -> CertificateRecord {
    w.db()
        .read(|tx| registry::get_certificate(tx, serial_hex))
        .expect("read")
        .expect("certificate in the registry")
}

/// Asserts `serial_hex` is `expected` in the registry, in a fresh CRL and in
/// an OCSP response.
fn assert_certificate(w: &World, serial_hex: &str, expected: Expect) {
    let record = certificate(w, serial_hex);
    let (status, published) = match expected {
        Expect::Good => (CertificateStatus::Good, Published::Good),
        Expect::Hold => (CertificateStatus::Hold, Published::Revoked(CrlReason::CertificateHold)),
        Expect::Revoked(reason) => (CertificateStatus::Revoked, Published::Revoked(reason)),
    };
    assert_eq!(
        record.status, status,
        "registry status of {serial_hex} ({:?})",
        record.kind
    );
    if let Expect::Revoked(reason) = expected {
        assert_eq!(record.reason, Some(reason), "registry reason of {serial_hex}");
    }
    assert_eq!(
        crl_status(w, serial_hex),
        published,
        "CRL of {serial_hex} ({:?})",
        record.kind
    );
    assert_eq!(
        ocsp_status(w, serial_hex),
        published,
        "OCSP of {serial_hex} ({:?})",
        record.kind
    );
    let past_expiry = w.authority.clock().today() > record.not_after;
    match (expected, relying_party(w, &record)) {
        (Expect::Good, Ok(())) => {}
        (Expect::Hold | Expect::Revoked(_), Err(Rejection::Revoked { reason, .. })) => {
            assert_eq!(reason.unwrap_or(CrlReason::Unspecified), published_reason(published))
        }
        // Past its last day a certificate is refused for that first.
        (Expect::Hold | Expect::Revoked(_), Err(Rejection::NotValidAt { why, .. }))
            if past_expiry && why.starts_with("the certificate ") => {}
        (_, verdict) => panic!("a relying party's verdict on {serial_hex} ({expected:?}): {verdict:?}"),
    }
}

fn published_reason(p: Published) -> CrlReason {
    match p {
        Published::Revoked(reason) => reason,
        other => panic!("not revoked: {other:?}"),
    }
}

// ------------------------------------------------------------------------
// The registry, fees, audit
// ------------------------------------------------------------------------

fn card(w: &World, serial: &str) -> Card {
    w.db()
        .read(|tx| registry::get_card(tx, serial))
        .expect("read")
        .expect("card")
}

fn certificates_of_card(w: &World, serial: &str) -> Vec<CertificateRecord> {
    w.db()
        .read(|tx| registry::list_certificates_for_card(tx, serial))
        .expect("read")
}

fn certificates_of(w: &World, resident: i64) -> Vec<CertificateRecord> {
    w.db()
        .read(|tx| registry::list_certificates_for_resident(tx, resident))
        .expect("read")
}

fn of_kind(certificates: &[CertificateRecord], kind: CertKind) -> CertificateRecord {
    let found: Vec<&CertificateRecord> = certificates.iter().filter(|c| c.kind == kind).collect();
    assert_eq!(found.len(), 1, "one {kind:?} certificate in {certificates:?}");
    found[0].clone()
}

fn fees(w: &World, resident: i64) -> Vec<registry::Fee> {
    w.db()
        .read(|tx| registry::list_fees(tx, resident))
        .expect("fees")
        .into_iter()
        .map(|f| f.record)
        .collect()
}

fn resident_record(w: &World, id: i64) -> registry::StoredResident {
    w.db()
        .read(|tx| registry::get_resident(tx, id))
        .expect("read")
        .expect("resident")
}

fn cards_in_use(w: &World, id: i64) -> Vec<Card> {
    w.db()
        .read(|tx| registry::list_cards_for_resident(tx, id))
        .expect("read")
        .into_iter()
        .filter(|c| c.status.is_in_use())
        .collect()
}

fn audit_log(w: &World) -> Vec<audit::AuditRecord> {
    w.db().read(|tx| audit::list(tx, 0, 100_000)).expect("audit")
}

fn audit_head(w: &World) -> i64 {
    w.db().read(audit::head).expect("head").0
}

fn assert_audit_intact(w: &World) {
    let report = audit::verify(w.db()).expect("verify");
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.last_seq, audit_head(w));
}

/// The resident's audit trail (as window staff of `municipality` read it): the actions.
fn trail(w: &World, municipality: &str, id: i64) -> Vec<mynacard_authority::records::AuditTrailEntry> {
    w.authority
        .audit_trail_for(&w.clerk(municipality), id)
        .expect("audit trail")
}

fn actions(trail: &[mynacard_authority::records::AuditTrailEntry]) -> Vec<&str> {
    trail.iter().map(|e| e.action.as_str()).collect()
}

/// Everything the registry holds about `ids`, for "nothing changed".
fn snapshot(w: &World, ids: &[i64]) -> String {
    w.db()
        .read(|tx| {
            let mut out = String::new();
            for &id in ids {
                out.push_str(&format!("{:?}\n", registry::get_resident(tx, id)?));
                for c in registry::list_cards_for_resident(tx, id)? {
                    out.push_str(&format!(
                        "{c:?}\n{:?}\n",
                        registry::list_surface_entries(tx, &c.serial)?
                    ));
                }
                out.push_str(&format!("{:?}\n", registry::list_certificates_for_resident(tx, id)?));
                out.push_str(&format!("{:?}\n", registry::list_applications(tx, id)?));
                out.push_str(&format!("{:?}\n", registry::list_fees(tx, id)?));
                out.push_str(&format!("{:?}\n", registry::list_loss_reports(tx, id)?));
            }
            out.push_str(&format!("{:?}", mynacard_store::audit::head(tx)?));
            Ok::<_, StoreError>(out)
        })
        .expect("snapshot")
}

/// The nightly batch of `day` (the clock moved there).
fn batch(w: &World, day: NaiveDate) -> BatchReport {
    w.set_today(day);
    w.authority.run_daily_batch(day, &mut |_| {}).expect("nightly batch")
}

fn assert_quiet(report: &BatchReport) {
    assert_eq!(
        (report.lapsed, report.cards_expired, report.certificates_expired),
        (0, 0, 0),
        "{report:?}"
    );
}

fn apply(w: &World, municipality: &str, resident_id: i64, kind: ApplicationKind) -> i64 {
    w.authority
        .apply(
            &w.clerk(municipality),
            &w.key(),
            &NewApplication {
                resident_id,
                kind,
                channel: ApplicationChannel::Window,
                face_recognition: false,
                signature_wanted: true,
                jlis_received_on: None,
            },
        )
        .expect("apply")
}

fn produce(w: &World, application: i64) -> Produced {
    w.authority
        .produce(&Actor::producer(), &w.key(), application)
        .expect("produce")
}

fn deliver(w: &World, municipality: &str, card_serial: &str) -> mynacard_authority::issuance::Delivered {
    w.authority
        .deliver(&w.clerk(municipality), &w.key(), card_serial, &pins())
        .expect("deliver")
}

fn my_number(n: u64) -> String {
    MyNumber::complete(&format!("{:011}", 30_000_000_000 + n))
        .expect("my number")
        .expose()
}

fn hotline() -> Actor {
    Actor::hotline("hotline:007")
}

/// Signs a challenge with the card's auth key (PIN 1234) and checks it with
/// the certificate `serial_hex`.
fn card_authenticates_with(w: &World, card_serial: &str, serial_hex: &str) -> bool {
    let der = w
        .authority
        .ca()
        .repository()
        .certificate(&serial_of(serial_hex))
        .expect("CA")
        .and_then(|r| r.der)
        .expect("DER");
    let mut reader = w.card(card_serial);
    let mut client = JpkiClient::new(&mut reader);
    let signed = client
        .sign_sha256(JpkiKey::Auth, "1234", b"portal login challenge")
        .expect("sign with the auth key");
    signed.certificate == der && verify_sha256(&der, b"portal login challenge", &signed.signature)
}

// ------------------------------------------------------------------------
// 1. Issued at 17, renewed as an adult
// ------------------------------------------------------------------------

#[test]
fn issued_at_17_then_renewed_as_an_adult() {
    on_both("life_17", date(2026, 11, 2), |w| {
        // Born 2009-06-15: 17 on the day of issuance.
        let id = w.resident("123456789018", "番号　花子", date(2009, 6, 15));
        let first = w.issue_card(id, ApplicationKind::New);
        let c = card(w, &first);
        assert_eq!(c.status, CardStatus::Active);
        assert_eq!(c.issued_on, date(2026, 11, 2));
        assert_eq!(
            c.expires_on,
            date(2031, 6, 15),
            "under 18: the 5th birthday after issuance"
        );
        let old = certificates_of_card(w, &first);
        assert_eq!(old.len(), 2, "auth and (15 or older) sign");
        for cert in &old {
            assert_eq!(cert.not_after, date(2031, 6, 15), "{:?}", cert.kind);
            assert_certificate(w, &cert.serial, Expect::Good);
        }
        assert!(card_authenticates_with(
            w,
            &first,
            &of_kind(&old, CertKind::Auth).serial
        ));

        // Years pass: a batch in between changes nothing.
        assert_quiet(&batch(w, date(2029, 6, 15)));
        // The renewal window opens on 2031-03-16: the notices go out.
        let report = batch(w, date(2031, 3, 15));
        assert_eq!((report.card_notices, report.certificate_notices), (0, 0), "{report:?}");
        let report = batch(w, date(2031, 3, 16));
        assert_quiet(&report);
        assert_eq!((report.card_notices, report.certificate_notices), (1, 2), "{report:?}");
        let notices = w
            .db()
            .read(|tx| registry::list_notices_for_resident(tx, id))
            .expect("notices");
        assert_eq!(notices.len(), 3);
        assert!(notices
            .iter()
            .any(|n| n.kind == NoticeKind::CardExpiry && n.due_on == date(2031, 6, 15)));

        // The renewal application inside the window, as a 21-year-old.
        w.set_today(date(2031, 4, 1));
        let application = apply(w, CHIYODA, id, ApplicationKind::Renewal);
        // J-LIS produces the new card: the previous certificates superseded at once.
        w.set_today(date(2031, 4, 10));
        let produced = produce(w, application);
        assert_eq!(produced.expires_on, date(2040, 6, 15), "18 or older: the 10th birthday");
        assert_eq!(
            produced.auth_certificate.1,
            date(2036, 6, 15),
            "renewed inside the window: the 6th birthday (renewal bonus)"
        );
        assert_eq!(produced.sign_certificate.as_ref().map(|s| s.1), Some(date(2036, 6, 15)));
        let mut superseded = produced.superseded.clone();
        superseded.sort();
        let mut old_serials: Vec<String> = old.iter().map(|c| c.serial.clone()).collect();
        old_serials.sort();
        assert_eq!(superseded, old_serials);
        for cert in &old {
            assert_certificate(w, &cert.serial, Expect::Revoked(CrlReason::Superseded));
        }
        let new = certificates_of_card(w, &produced.card_serial);
        assert_eq!(new.len(), 2);
        for cert in &new {
            assert_certificate(w, &cert.serial, Expect::Good);
        }
        // Until the delivery the old card is still the one in the holder's hands.
        assert_eq!(card(w, &first).status, CardStatus::Active);
        assert_eq!(card(w, &produced.card_serial).status, CardStatus::Produced);

        // Delivery: the old card returned.
        w.set_today(date(2031, 4, 20));
        let delivered = deliver(w, CHIYODA, &produced.card_serial);
        assert_eq!(delivered.returned.as_deref(), Some(first.as_str()));
        assert_eq!(card(w, &first).status, CardStatus::Returned);
        let renewed = card(w, &produced.card_serial);
        assert_eq!(renewed.status, CardStatus::Active);
        assert_eq!(renewed.delivered_on, Some(date(2031, 4, 20)));
        assert_eq!(cards_in_use(w, id).len(), 1);
        assert!(card_authenticates_with(
            w,
            &produced.card_serial,
            &produced.auth_certificate.0
        ));

        // The nightly batch around the old card's expiry: nothing to do.
        for day in [
            date(2031, 6, 14),
            date(2031, 6, 15),
            date(2031, 6, 16),
            date(2031, 6, 17),
        ] {
            let report = batch(w, day);
            assert_quiet(&report);
            assert_eq!((report.card_notices, report.certificate_notices), (0, 0), "{report:?}");
        }
        assert_eq!(card(w, &first).status, CardStatus::Returned);
        assert_eq!(card(w, &produced.card_serial).status, CardStatus::Active);
        for cert in &old {
            assert_certificate(w, &cert.serial, Expect::Revoked(CrlReason::Superseded));
        }
        for cert in &new {
            assert_certificate(w, &cert.serial, Expect::Good);
        }

        // Free: first issuance and renewal charge nothing.
        assert!(fees(w, id).iter().all(|f| f.amount_yen == 0), "{:?}", fees(w, id));
        // The audit trail of the life.
        let t = trail(w, CHIYODA, id);
        assert_eq!(
            actions(&t),
            [
                "resident.register",
                "application.take",
                "card.produce",
                "card.deliver",
                "application.take",
                "card.produce",
                "card.deliver"
            ],
            "{t:?}"
        );
        let produce_entry = &t[5];
        assert_eq!(produce_entry.actor, "jlis:production");
        let mut audited: Vec<String> =
            serde_json::from_value(produce_entry.details["superseded"].clone()).expect("list");
        audited.sort();
        assert_eq!(audited, old_serials, "the supersession is in the audit entry");
        assert_eq!(t[6].details["returned"], serde_json::json!(first));
        // Seven nightly batches, seven steps each, by the system.
        let batch_entries = audit_log(w)
            .into_iter()
            .filter(|e| e.action.starts_with("batch."))
            .collect::<Vec<_>>();
        assert_eq!(batch_entries.len(), 7 * 7);
        assert!(batch_entries.iter().all(|e| e.actor == "system:batch"));
        assert_audit_intact(w);
    });
}

// ------------------------------------------------------------------------
// 2. The loss story
// ------------------------------------------------------------------------

fn hotline_report(card_serial: &str) -> LossReport {
    LossReport {
        card: LostCard::Serial(card_serial.to_owned()),
        cause: LossCause::Loss,
        reported_at: None,
        channel: LossChannel::Hotline,
        note: Some("lost on the last train".into()),
    }
}

#[test]
fn a_card_suspended_at_night_found_lost_again_and_reissued() {
    on_both("life_loss", date(2026, 11, 2), |w| {
        let born = date(1985, 4, 1);
        let id = w.resident("123456789018", "番号　花子", born);
        let first = w.issue_card(id, ApplicationKind::New);
        let original = certificates_of_card(w, &first);
        assert_eq!(original.len(), 2);

        // 03:00 JST on Sunday 2026-11-08: the hotline finds and suspends the card.
        let night = Utc.with_ymd_and_hms(2026, 11, 7, 18, 0, 0).single().expect("instant");
        w.clock.set(night);
        let found = w
            .authority
            .find_cards_for_hotline(&hotline(), "番号 花子", born, Some("東京都"))
            .expect("search");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].card_serial, first);
        let before = audit_head(w);
        let suspended = w
            .authority
            .suspend_lost_card(&hotline(), "call-20261108-0300", &hotline_report(&first))
            .expect("suspend");
        assert_eq!(suspended.suspended_at, night);
        assert_eq!(suspended.held.len(), 2);
        assert_eq!(audit_head(w), before + 1);
        // The caller's line dropped and the operator pressed again: acts once.
        let again = w
            .authority
            .suspend_lost_card(&hotline(), "call-20261108-0300", &hotline_report(&first))
            .expect("retry");
        assert_eq!(again, suspended);
        assert_eq!(audit_head(w), before + 1);
        assert_eq!(card(w, &first).status, CardStatus::Suspended);
        for c in &original {
            assert_certificate(w, &c.serial, Expect::Hold);
        }
        assert!(fees(w, id).is_empty(), "a suspension is free");

        // Monday: found, at the window.
        w.set_today(date(2026, 11, 9));
        let done = w
            .authority
            .card_found(&w.clerk(CHIYODA), &w.key(), &first)
            .expect("found");
        assert_eq!(done.revoked.len(), 2);
        assert_eq!(done.new_certificates.len(), 2);
        assert_eq!(done.loss_reports, vec![suspended.loss_report_id]);
        assert_eq!(card(w, &first).status, CardStatus::Active);
        for c in &original {
            // A card certificate's hold is never released.
            assert_certificate(w, &c.serial, Expect::Revoked(CrlReason::Superseded));
        }
        for (serial, _, last_day) in &done.new_certificates {
            assert_certificate(w, serial, Expect::Good);
            assert_eq!(*last_day, date(2031, 4, 1), "5th birthday after the new issuance");
        }
        let replaced: Vec<CertificateRecord> = certificates_of_card(w, &first)
            .into_iter()
            .filter(|c| c.status.is_valid())
            .collect();
        assert_eq!(replaced.len(), 2);
        assert!(card_authenticates_with(
            w,
            &first,
            &of_kind(&replaced, CertKind::Auth).serial
        ));

        // Half a year later, lost again; not found this time.
        w.set_today(date(2027, 5, 20));
        let suspended_again = w
            .authority
            .suspend_lost_card(&hotline(), &w.key(), &hotline_report(&first))
            .expect("suspend again");
        assert_eq!(suspended_again.held.len(), 2);
        for c in &replaced {
            assert_certificate(w, &c.serial, Expect::Hold);
        }

        // Reissue with the police receipt and new certificates: 1,000 yen.
        w.set_today(date(2027, 5, 25));
        let request = Reissue {
            resident_id: id,
            cause: FeeCause::Loss,
            evidence: ReissueEvidenceGiven {
                police_receipt_number: Some("第2027-004711号".into()),
                ..ReissueEvidenceGiven::default()
            },
            not_holders_fault: None,
            with_certificates: true,
        };
        let reissued = w
            .authority
            .reissue(&w.clerk(CHIYODA), "reissue-20270525", &request)
            .expect("reissue");
        assert_eq!(reissued.fee_yen, 1000);
        assert_eq!(reissued.fee_reason, FeeReason::ReissueWithCertificates);
        assert_eq!(reissued.invalidated_card.as_deref(), Some(first.as_str()));
        assert_eq!(reissued.loss_report_id, Some(suspended_again.loss_report_id));
        let receipt = reissued.receipt_number.clone().expect("a receipt for the fee paid");
        let head = audit_head(w);
        assert_eq!(
            w.authority
                .reissue(&w.clerk(CHIYODA), "reissue-20270525", &request)
                .expect("retry"),
            reissued
        );
        assert_eq!(audit_head(w), head, "the retry is not audited again");
        assert_eq!(card(w, &first).status, CardStatus::Invalid);
        for c in &replaced {
            // The lost card's keys left the holder's control.
            assert_certificate(w, &c.serial, Expect::Revoked(CrlReason::KeyCompromise));
        }
        let charged = fees(w, id);
        assert_eq!(charged.len(), 1, "one fee for the retried reissue: {charged:?}");
        assert_eq!(charged[0].amount_yen, 1000);
        assert_eq!(charged[0].cause, FeeCause::Loss);
        assert_eq!(charged[0].application_id, Some(reissued.application_id));
        assert_eq!(charged[0].receipt_number.as_deref(), Some(receipt.as_str()));
        assert_eq!(charged[0].paid_on, Some(date(2027, 5, 25)));

        // J-LIS produces the new card; the window delivers it.
        w.set_today(date(2027, 6, 3));
        let produced = produce(w, reissued.application_id);
        assert!(produced.superseded.is_empty(), "nothing valid was left to supersede");
        assert_eq!(produced.expires_on, date(2037, 4, 1));
        assert_eq!(produced.auth_certificate.1, date(2032, 4, 1));
        w.set_today(date(2027, 6, 10));
        let delivered = deliver(w, CHIYODA, &produced.card_serial);
        assert_eq!(delivered.returned, None, "the old card was invalidated at the reissue");
        assert_eq!(card(w, &produced.card_serial).status, CardStatus::Active);
        assert_eq!(cards_in_use(w, id).len(), 1);
        for c in certificates_of_card(w, &produced.card_serial) {
            assert_certificate(w, &c.serial, Expect::Good);
        }
        assert!(card_authenticates_with(
            w,
            &produced.card_serial,
            &produced.auth_certificate.0
        ));
        // Every certificate the holder ever had: two good, six revoked.
        let all = certificates_of(w, id);
        assert_eq!(all.len(), 6);
        assert_eq!(all.iter().filter(|c| c.status == CertificateStatus::Good).count(), 2);
        let reports = w.db().read(|tx| registry::list_loss_reports(tx, id)).expect("reports");
        assert_eq!(
            reports.iter().map(|r| r.status).collect::<Vec<_>>(),
            [LossReportStatus::Found, LossReportStatus::Reissued]
        );
        assert_eq!(reports[1].police_receipt_number.as_deref(), Some("第2027-004711号"));

        let t = trail(w, CHIYODA, id);
        assert_eq!(
            actions(&t),
            [
                "resident.register",
                "application.take",
                "card.produce",
                "card.deliver",
                "card.suspend",
                "card.found",
                "card.suspend",
                "card.reissue",
                "card.produce",
                "card.deliver"
            ],
            "{t:?}"
        );
        assert_eq!(t[4].actor, "hotline:007");
        assert_eq!(t[4].at, night);
        assert_eq!(t[7].details["fee_yen"], 1000);
        assert!(!serde_json::to_string(&t).expect("json").contains("123456789018"));
        assert_audit_intact(w);
    });
}

// ------------------------------------------------------------------------
// 3. Moves: lapses through the nightly batch
// ------------------------------------------------------------------------

const SAPPORO_ADDRESS: &str = "北海道札幌市中央区北１条西２丁目";

fn move_out_to_sapporo(w: &World, id: i64, planned: NaiveDate) -> mynacard_authority::moves::MovedOut {
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

fn move_in_request(id: i64, moved_in: NaiveDate, with_card: bool) -> MoveIn {
    MoveIn {
        resident_id: id,
        municipality: SAPPORO.into(),
        moved_in_on: moved_in,
        new_address: SAPPORO_ADDRESS.into(),
        continued_use: with_card,
        registry_pin: Zeroizing::new(if with_card { "2468".into() } else { String::new() }),
        new_signature_certificate: false,
    }
}

#[test]
fn moves_whose_cards_lapse_through_the_nightly_batch() {
    on_both("life_moves", date(2026, 3, 2), |w| {
        // Late: moves out (planned 04-01) and notifies the move-in only on 05-10.
        let late = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        // Without the card: moves in on time, never has the card updated.
        let slow = w.resident(&my_number(1), "番号　太郎", date(1980, 9, 9));
        let late_card = w.issue_card(late, ApplicationKind::New);
        let slow_card = w.issue_card(slow, ApplicationKind::New);
        let late_certs = certificates_of_card(w, &late_card);
        let slow_certs = certificates_of_card(w, &slow_card);

        w.set_today(date(2026, 3, 25));
        for (id, certs) in [(late, &late_certs), (slow, &slow_certs)] {
            let out = move_out_to_sapporo(w, id, date(2026, 4, 1));
            let sign = of_kind(certs, CertKind::Sign);
            assert_eq!(out.revoked, vec![sign.serial.clone()]);
            assert_eq!(out.move_in_due, Some(date(2026, 5, 1)));
            assert_certificate(w, &sign.serial, Expect::Revoked(CrlReason::AffiliationChanged));
            // The auth certificate survives a domestic move (for now).
            assert_certificate(w, &of_kind(certs, CertKind::Auth).serial, Expect::Good);
        }
        assert_quiet(&batch(w, date(2026, 4, 1)));

        // The slow one moves in on 04-05 and notifies on 04-10, without the card.
        w.set_today(date(2026, 4, 10));
        let moved_in = w
            .authority
            .move_in(
                &w.clerk(SAPPORO),
                &w.key(),
                &move_in_request(slow, date(2026, 4, 5), false),
            )
            .expect("move-in without the card");
        assert_eq!(moved_in.card_update_due, Some(date(2026, 7, 9)), "90 days");
        assert_eq!(moved_in.lapse, None);
        assert!(moved_in.revoked.is_empty());
        assert_certificate(w, &of_kind(&slow_certs, CertKind::Auth).serial, Expect::Good);

        // The nightly batch: on time through 05-01, lapsed on 05-02.
        for day in [date(2026, 4, 30), date(2026, 5, 1)] {
            assert_quiet(&batch(w, day));
            assert_eq!(card(w, &late_card).status, CardStatus::Active);
        }
        let report = batch(w, date(2026, 5, 2));
        assert_eq!(report.lapsed, 1, "{report:?}");
        let lapsed = card(w, &late_card);
        assert_eq!(lapsed.status, CardStatus::Lapsed);
        assert_eq!(lapsed.lapsed_on, Some(date(2026, 5, 2)));
        assert_eq!(
            lapsed
                .lapse_reason
                .map(mynacard_authority::lapse::reason_name)
                .as_deref(),
            Some("no_move_in_after_move_out")
        );
        for c in &late_certs {
            assert_certificate(w, &c.serial, Expect::Revoked(CrlReason::AffiliationChanged));
        }
        assert_eq!(card(w, &slow_card).status, CardStatus::Active, "its clock still runs");
        let lapse_entries: Vec<audit::AuditRecord> =
            audit_log(w).into_iter().filter(|e| e.action == "card.lapse").collect();
        assert_eq!(lapse_entries.len(), 1);
        assert_eq!(lapse_entries[0].actor, "system:batch");
        assert_eq!(lapse_entries[0].subject, format!("card:{late_card}"));
        // The same night again, and the next: nothing more.
        assert_quiet(
            &w.authority
                .run_daily_batch(date(2026, 5, 2), &mut |_| {})
                .expect("rerun"),
        );
        assert_quiet(&batch(w, date(2026, 5, 3)));

        // The late move-in (moved in 04-20, notified 05-10): with the card refused…
        w.set_today(date(2026, 5, 10));
        let ids = [late, slow];
        let before = snapshot(w, &ids);
        let err = w
            .authority
            .move_in(
                &w.clerk(SAPPORO),
                &w.key(),
                &move_in_request(late, date(2026, 4, 20), true),
            )
            .expect_err("the card lapsed");
        assert_eq!(err.code(), "no_card");
        assert_eq!(snapshot(w, &ids), before, "a refusal changes nothing");
        // …without it, recorded; a new card is applied for in Sapporo, free.
        let moved_in = w
            .authority
            .move_in(
                &w.clerk(SAPPORO),
                &w.key(),
                &move_in_request(late, date(2026, 4, 20), false),
            )
            .expect("move-in");
        assert_eq!(moved_in.card_serial, None);
        assert_eq!(moved_in.lapse, None);
        let r = resident_record(w, late);
        assert_eq!(r.status, ResidentStatus::Resident);
        assert_eq!(r.municipality.to_string(), SAPPORO);
        let application = apply(w, SAPPORO, late, ApplicationKind::New);
        let produced = produce(w, application);
        deliver(w, SAPPORO, &produced.card_serial);
        assert_eq!(cards_in_use(w, late).len(), 1);
        assert!(fees(w, late).iter().all(|f| f.amount_yen == 0));
        for c in certificates_of_card(w, &produced.card_serial) {
            assert_certificate(w, &c.serial, Expect::Good);
        }

        // The slow one: updated in time through 07-09, lapsed on 07-10.
        assert_quiet(&batch(w, date(2026, 7, 9)));
        assert_eq!(card(w, &slow_card).status, CardStatus::Active);
        let report = batch(w, date(2026, 7, 10));
        assert_eq!(report.lapsed, 1, "{report:?}");
        let lapsed = card(w, &slow_card);
        assert_eq!(
            (lapsed.status, lapsed.lapsed_on),
            (CardStatus::Lapsed, Some(date(2026, 7, 10)))
        );
        assert_eq!(
            lapsed
                .lapse_reason
                .map(mynacard_authority::lapse::reason_name)
                .as_deref(),
            Some("card_not_updated_after_move_in")
        );
        for c in &slow_certs {
            assert_certificate(w, &c.serial, Expect::Revoked(CrlReason::AffiliationChanged));
        }
        // The other card is untouched.
        for c in certificates_of_card(w, &produced.card_serial) {
            assert_certificate(w, &c.serial, Expect::Good);
        }

        // The trails, read by Sapporo's staff now.
        let t = trail(w, SAPPORO, late);
        assert_eq!(
            actions(&t),
            [
                "resident.register",
                "application.take",
                "card.produce",
                "card.deliver",
                "resident.move_out",
                "card.lapse",
                "resident.move_in",
                "application.take",
                "card.produce",
                "card.deliver"
            ],
            "{t:?}"
        );
        let t = trail(w, SAPPORO, slow);
        assert_eq!(
            actions(&t),
            [
                "resident.register",
                "application.take",
                "card.produce",
                "card.deliver",
                "resident.move_out",
                "resident.move_in",
                "card.lapse"
            ],
            "{t:?}"
        );
        assert!(fees(w, slow).is_empty());
        assert_audit_intact(w);
    });
}

// ------------------------------------------------------------------------
// 4. Foreign residents: the end of stay
// ------------------------------------------------------------------------

fn foreign_resident(w: &World, my_number: &str, name: &str, stay_until: NaiveDate) -> i64 {
    w.authority
        .register_resident(
            &w.clerk(CHIYODA),
            &w.key(),
            &NewResident {
                municipality: CHIYODA.into(),
                my_number: my_number.into(),
                name: name.into(),
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
fn foreign_residents_at_the_end_of_their_stay() {
    on_both("life_foreign", date(2026, 1, 15), |w| {
        let ends = foreign_resident(w, "123456789018", "SMITH JOHN", date(2027, 3, 31));
        let stays = foreign_resident(w, &my_number(2), "MILLER ANNA", date(2027, 3, 31));
        let ends_card = w.issue_card(ends, ApplicationKind::New);
        let stays_card = w.issue_card(stays, ApplicationKind::New);
        for serial in [&ends_card, &stays_card] {
            assert_eq!(card(w, serial).expires_on, date(2027, 3, 31), "the end of stay");
            for c in certificates_of_card(w, serial) {
                assert_eq!(c.not_after, date(2027, 3, 31));
                assert_certificate(w, &c.serial, Expect::Good);
            }
        }
        let ends_certs = certificates_of_card(w, &ends_card);
        let stays_certs = certificates_of_card(w, &stays_card);

        // No renewal notice for a period of stay.
        let report = batch(w, date(2027, 1, 1));
        assert_quiet(&report);
        assert_eq!((report.card_notices, report.certificate_notices), (0, 0), "{report:?}");

        // One of them extends the stay and changes the card's validity, free.
        w.set_today(date(2027, 3, 20));
        let changed = w
            .authority
            .change_validity(
                &w.clerk(CHIYODA),
                &w.key(),
                &ValidityChange {
                    resident_id: stays,
                    new_stay_until: date(2030, 3, 31),
                    applicant: None,
                },
            )
            .expect("validity change");
        assert_eq!(changed.expires_on, date(2030, 3, 31));
        assert_eq!(card(w, &stays_card).expires_on, date(2030, 3, 31));
        assert!(fees(w, stays).is_empty(), "a validity change is free");
        for c in &stays_certs {
            // The certificates keep their expiry.
            assert_certificate(w, &c.serial, Expect::Good);
        }

        // The last day of stay: valid. The day after: the batch lapses one card.
        assert_quiet(&batch(w, date(2027, 3, 31)));
        let report = batch(w, date(2027, 4, 1));
        assert_eq!(report.lapsed, 1, "{report:?}");
        assert_eq!(report.cards_expired, 0, "the lapse comes first: {report:?}");
        assert_eq!(
            report.certificates_expired, 2,
            "the other card's certificates: {report:?}"
        );
        let lapsed = card(w, &ends_card);
        assert_eq!(
            (lapsed.status, lapsed.lapsed_on),
            (CardStatus::Lapsed, Some(date(2027, 4, 1)))
        );
        assert_eq!(
            lapsed
                .lapse_reason
                .map(mynacard_authority::lapse::reason_name)
                .as_deref(),
            Some("stay_ended")
        );
        for c in &ends_certs {
            assert_certificate(w, &c.serial, Expect::Revoked(CrlReason::AffiliationChanged));
        }
        // The other card continues; its certificates expired (expiry is not
        // revocation: the CRL and OCSP say good, the certificate itself says expired).
        assert_eq!(card(w, &stays_card).status, CardStatus::Active);
        for c in &stays_certs {
            let record = certificate(w, &c.serial);
            assert_eq!(record.status, CertificateStatus::Expired);
            assert_eq!(record.reason, None);
            assert_eq!(crl_status(w, &c.serial), Published::Good);
            assert_eq!(ocsp_status(w, &c.serial), Published::Good);
            assert!(matches!(relying_party(w, &record), Err(Rejection::NotValidAt { .. })));
        }

        // The holder of the continued card renews the certificates at the window.
        w.set_today(date(2027, 4, 5));
        let renewed = w
            .authority
            .renew_certificates(&w.clerk(CHIYODA), &w.key(), &stays_card)
            .expect("renewal");
        assert!(!renewed.renewal_bonus, "after expiry: a new issuance");
        assert!(renewed.superseded.is_empty(), "expired ones are not revoked");
        assert_eq!(renewed.new_certificates.len(), 2);
        for (serial, _, last_day) in &renewed.new_certificates {
            assert_eq!(*last_day, date(2030, 3, 31), "capped by the card's new expiry");
            assert_certificate(w, serial, Expect::Good);
        }
        assert!(card_authenticates_with(
            w,
            &stays_card,
            &renewed
                .new_certificates
                .iter()
                .find(|c| c.1 == CertKind::Auth)
                .expect("auth")
                .0
        ));
        assert!(fees(w, stays).is_empty(), "a renewal is free");

        // Too late for the other one.
        let ids = [ends, stays];
        let before = snapshot(w, &ids);
        let err = w
            .authority
            .change_validity(
                &w.clerk(CHIYODA),
                &w.key(),
                &ValidityChange {
                    resident_id: ends,
                    new_stay_until: date(2030, 3, 31),
                    applicant: None,
                },
            )
            .expect_err("the card lapsed");
        assert_eq!(err.code(), "no_card");
        assert_eq!(snapshot(w, &ids), before);

        // Later nights: the continued card stays.
        assert_quiet(&batch(w, date(2027, 4, 6)));
        assert_eq!(card(w, &stays_card).status, CardStatus::Active);
        assert_eq!(
            actions(&trail(w, CHIYODA, stays)),
            [
                "resident.register",
                "application.take",
                "card.produce",
                "card.deliver",
                "card.change_validity",
                "certificates.renew"
            ]
        );
        assert_eq!(
            actions(&trail(w, CHIYODA, ends)),
            [
                "resident.register",
                "application.take",
                "card.produce",
                "card.deliver",
                "card.lapse"
            ]
        );
        assert_audit_intact(w);
    });
}

// ------------------------------------------------------------------------
// 5. Death
// ------------------------------------------------------------------------

#[test]
fn a_life_ends_every_certificate_revoked_and_the_trail_complete() {
    on_both("life_death", date(2026, 11, 2), |w| {
        let id = w.resident("123456789018", "番号　一郎", date(1950, 2, 10));
        let first = w.issue_card(id, ApplicationKind::New);
        assert_eq!(card(w, &first).expires_on, date(2036, 2, 10));
        let original = certificates_of_card(w, &first);
        assert_eq!(of_kind(&original, CertKind::Auth).not_after, date(2031, 2, 10));

        // 転居 with a new signature certificate.
        w.set_today(date(2027, 6, 1));
        let moved = w
            .authority
            .move_within(
                &w.clerk(CHIYODA),
                &w.key(),
                &MoveWithin {
                    resident_id: id,
                    new_address: "東京都千代田区永田町１－７－１".into(),
                    moved_on: date(2027, 5, 28),
                    new_signature_certificate: true,
                },
            )
            .expect("move within");
        let old_sign = of_kind(&original, CertKind::Sign);
        assert_eq!(moved.revoked, vec![old_sign.serial.clone()]);
        assert_certificate(w, &old_sign.serial, Expect::Revoked(CrlReason::AffiliationChanged));
        let (new_sign, new_sign_day) = moved.new_sign_certificate.clone().expect("new signature certificate");
        assert_eq!(new_sign_day, date(2031, 2, 10), "never beyond the auth certificate");
        assert_certificate(w, &new_sign, Expect::Good);

        // Certificate renewal inside the window (opens 2030-11-11).
        w.set_today(date(2030, 12, 1));
        let renewed = w
            .authority
            .renew_certificates(&w.clerk(CHIYODA), &w.key(), &first)
            .expect("renewal");
        assert!(renewed.renewal_bonus);
        assert_eq!(renewed.superseded.len(), 2);
        for serial in &renewed.superseded {
            assert_certificate(w, serial, Expect::Revoked(CrlReason::Superseded));
        }
        for (serial, _, last_day) in &renewed.new_certificates {
            assert_eq!(*last_day, date(2036, 2, 10), "6th birthday, = the card's expiry");
            assert_certificate(w, serial, Expect::Good);
        }

        // The card's renewal: applied for and produced, not yet delivered…
        w.set_today(date(2035, 12, 1));
        let application = apply(w, CHIYODA, id, ApplicationKind::Renewal);
        w.set_today(date(2035, 12, 10));
        let produced = produce(w, application);
        assert_eq!(produced.superseded.len(), 2);
        let in_production = certificates_of_card(w, &produced.card_serial);
        for c in &in_production {
            assert_certificate(w, &c.serial, Expect::Good);
        }

        // …when the holder dies on 12-18; the death is notified on 12-20.
        w.set_today(date(2035, 12, 20));
        let death = Death {
            resident_id: id,
            died_on: date(2035, 12, 18),
        };
        let recorded = w
            .authority
            .record_death(&w.clerk(CHIYODA), "death-20351220", &death)
            .expect("death");
        let head = audit_head(w);
        assert_eq!(
            w.authority
                .record_death(&w.clerk(CHIYODA), "death-20351220", &death)
                .expect("retry"),
            recorded
        );
        assert_eq!(audit_head(w), head);
        let lapse = recorded.lapse.clone().expect("the card in use lapses");
        assert_eq!(lapse.card_serial, first);
        assert_eq!(lapse.reason, "death");
        assert_eq!(recorded.cards_invalidated, vec![produced.card_serial.clone()]);
        assert_eq!(resident_record(w, id).status, ResidentStatus::Deceased);
        assert_eq!(card(w, &first).status, CardStatus::Lapsed);
        assert_eq!(card(w, &first).lapsed_on, Some(date(2035, 12, 18)));
        assert_eq!(card(w, &produced.card_serial).status, CardStatus::Invalid);
        assert!(cards_in_use(w, id).is_empty());
        for c in &in_production {
            assert_certificate(w, &c.serial, Expect::Revoked(CrlReason::AffiliationChanged));
        }
        // Every certificate the person ever had is revoked in the CRL and by OCSP.
        let all = certificates_of(w, id);
        assert_eq!(all.len(), 7, "2 + a new sign + 2 renewed + 2 on the new card");
        for c in &all {
            assert_eq!(c.status, CertificateStatus::Revoked, "{c:?}");
            assert!(matches!(crl_status(w, &c.serial), Published::Revoked(_)), "{c:?}");
            assert!(matches!(ocsp_status(w, &c.serial), Published::Revoked(_)), "{c:?}");
        }
        let mut revoked_at_death = recorded.revoked.clone();
        revoked_at_death.sort();
        let mut expected: Vec<String> = in_production.iter().map(|c| c.serial.clone()).collect();
        expected.sort();
        assert_eq!(revoked_at_death, expected, "only what was still valid");

        // Nothing more can happen to this person.
        let ids = [id];
        let before = snapshot(w, &ids);
        let refusals = [
            w.authority
                .deliver(&w.clerk(CHIYODA), &w.key(), &produced.card_serial, &pins())
                .map(drop)
                .expect_err("invalidated"),
            w.authority
                .suspend_lost_card(&hotline(), &w.key(), &hotline_report(&first))
                .map(drop)
                .expect_err("lapsed"),
            w.authority
                .record_death(&w.clerk(CHIYODA), &w.key(), &death)
                .map(drop)
                .expect_err("once"),
            w.authority
                .apply(
                    &w.clerk(CHIYODA),
                    &w.key(),
                    &NewApplication {
                        resident_id: id,
                        kind: ApplicationKind::New,
                        channel: ApplicationChannel::Window,
                        face_recognition: false,
                        signature_wanted: true,
                        jlis_received_on: None,
                    },
                )
                .map(drop)
                .expect_err("deceased"),
        ];
        assert_eq!(
            refusals.iter().map(|e| e.code()).collect::<Vec<_>>(),
            // Delivery is refused first because the holder died (the card is
            // invalidated too).
            ["not_a_resident", "card_not_in_use", "deceased", "not_a_resident"]
        );
        assert_eq!(snapshot(w, &ids), before, "refusals change nothing");
        let report = batch(w, date(2035, 12, 21));
        assert_quiet(&report);
        assert_eq!(snapshot(w, &ids).lines().count(), before.lines().count());

        let t = trail(w, CHIYODA, id);
        assert_eq!(
            actions(&t),
            [
                "resident.register",
                "application.take",
                "card.produce",
                "card.deliver",
                "resident.move_within",
                "certificates.renew",
                "application.take",
                "card.produce",
                "resident.death"
            ],
            "{t:?}"
        );
        let death_entry = t.last().expect("death entry");
        assert_eq!(death_entry.subject, format!("resident:{id}"));
        assert_eq!(death_entry.details["died_on"], "2035-12-18");
        assert!(!serde_json::to_string(&t).expect("json").contains("123456789018"));
        assert_audit_intact(w);
    });
}

// ------------------------------------------------------------------------
// Known product bugs: each test states what should happen, and is ignored
// until the product does it (run with `--ignored` to see them fail).
// ------------------------------------------------------------------------

/// An application still open when its applicant dies is produced (and can
/// be delivered): `record_death` leaves `Received` applications open, and
/// neither `produce` nor `deliver` looks at the resident's status. The
/// produced card's certificates stay good in the CRL and OCSP indefinitely
/// (the nightly batch does not look at cards in production); delivered, the
/// card is active until the next nightly batch lapses it.
#[test]
fn an_application_open_at_death_produces_nothing() {
    on_both("bug_death_application", date(2026, 11, 2), |w| {
        let id = w.resident("123456789018", "番号　一郎", date(1950, 2, 10));
        let application = apply(w, CHIYODA, id, ApplicationKind::New);
        w.authority
            .record_death(
                &w.clerk(CHIYODA),
                &w.key(),
                &Death {
                    resident_id: id,
                    died_on: date(2026, 11, 2),
                },
            )
            .expect("death");
        w.set_today(date(2026, 11, 5));
        let produced = w.authority.produce(&Actor::producer(), &w.key(), application);
        batch(w, date(2026, 11, 6));
        for c in certificates_of(w, id) {
            assert_ne!(crl_status(w, &c.serial), Published::Good, "{produced:?}: {c:?}");
            assert_ne!(ocsp_status(w, &c.serial), Published::Good, "{produced:?}: {c:?}");
        }
        assert!(
            cards(w, id).iter().all(|c| c.status.is_final()),
            "{produced:?}: {:?}",
            cards(w, id)
        );
    });
}

/// Delivery returns the card it replaces without revoking the certificates
/// still valid on it. They are usually superseded at production, but a
/// certificate made on the old card between production and delivery (here
/// a new signature certificate with a 転居, the renewal being a
/// face-recognition card without one) stays good on a returned card.
#[test]
fn delivery_leaves_no_valid_certificate_on_the_returned_card() {
    on_both("bug_returned_card", date(2026, 11, 2), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let old = w.issue_card(id, ApplicationKind::New);
        let application = w
            .authority
            .apply(
                &w.clerk(CHIYODA),
                &w.key(),
                &NewApplication {
                    resident_id: id,
                    kind: ApplicationKind::Renewal,
                    channel: ApplicationChannel::Window,
                    face_recognition: true,
                    signature_wanted: false,
                    jlis_received_on: None,
                },
            )
            .expect("apply");
        let produced = produce(w, application);
        w.set_today(date(2026, 11, 10));
        let moved = w
            .authority
            .move_within(
                &w.clerk(CHIYODA),
                &w.key(),
                &MoveWithin {
                    resident_id: id,
                    new_address: "東京都千代田区永田町１－７－１".into(),
                    moved_on: date(2026, 11, 8),
                    new_signature_certificate: true,
                },
            )
            .expect("move within, with a new signature certificate on the card in hand");
        let (sign, _) = moved.new_sign_certificate.expect("a new signature certificate");
        assert_eq!(certificate(w, &sign).card_serial.as_deref(), Some(old.as_str()));
        deliver(w, CHIYODA, &produced.card_serial);
        assert_eq!(card(w, &old).status, CardStatus::Returned);
        assert_ne!(certificate(w, &sign).status, CertificateStatus::Good);
        assert_ne!(crl_status(w, &sign), Published::Good);
        assert_ne!(ocsp_status(w, &sign), Published::Good);
    });
}

/// The CA's delegated OCSP responder certificate is valid for 730 days
/// from `ca init` (pki/src/ca.rs `RESPONDER_DAYS`), and nothing re-certifies
/// the responder (only a new root generation brings a new one): from then
/// on a relying party rejects every OCSP response of the CA.
#[test]
#[ignore = "product gap: the OCSP responder certificate is never renewed"]
fn ocsp_responses_are_usable_after_two_years() {
    on_both("bug_ocsp_responder", date(2026, 11, 2), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let serial = w.issue_card(id, ApplicationKind::New);
        let auth = of_kind(&certificates_of_card(w, &serial), CertKind::Auth);
        batch(w, date(2029, 1, 1));
        let g = generation_of(w, &auth.serial).expect("generation");
        let response = ocsp_response(w, g, &auth.serial);
        let der = w
            .authority
            .ca()
            .repository()
            .certificate(&serial_of(&auth.serial))
            .expect("CA")
            .and_then(|r| r.der)
            .expect("DER");
        let roots: Vec<Vec<u8>> = w
            .authority
            .ca()
            .generations()
            .iter()
            .map(|g| g.root_der.clone())
            .collect();
        Verifier::new(&roots)
            .expect("verifier")
            .verify(
                &der,
                Usage::Authentication,
                w.authority.clock().now(),
                Revocation::Ocsp(&response),
            )
            .expect("a good certificate, by OCSP");
    });
}

fn cards(w: &World, id: i64) -> Vec<Card> {
    w.db()
        .read(|tx| registry::list_cards_for_resident(tx, id))
        .expect("read")
}

/// A new signature certificate asked for on the card in hand while the
/// next card (produced, not yet delivered) already carries a valid one: the
/// operation goes as far as a new key pair on the card and a certificate
/// from the CA, then fails on the registry's one-valid-per-kind constraint
/// (`Store(Conflict)`, code `conflict`) instead of being refused up front;
/// the certificate is revoked again (cessationOfOperation), the registry is
/// unchanged. Same for `move_in` and `move_within`/`change_name` when the
/// produced card's signature certificate is not revoked by the change.
#[test]
fn a_new_signature_certificate_while_a_card_is_in_production_is_refused() {
    on_both("bug_sign_in_production", date(2026, 3, 2), |w| {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        w.issue_card(id, ApplicationKind::New);
        w.set_today(date(2026, 3, 25));
        move_out_to_sapporo(w, id, date(2026, 4, 1));
        w.set_today(date(2026, 4, 3));
        w.authority
            .move_in(
                &w.clerk(SAPPORO),
                &w.key(),
                &move_in_request(id, date(2026, 4, 2), false),
            )
            .expect("move-in without the card");
        let application = apply(w, SAPPORO, id, ApplicationKind::Renewal);
        produce(w, application);
        let err = w
            .authority
            .continue_card_use(
                &w.clerk(SAPPORO),
                &w.key(),
                &mynacard_authority::moves::ContinuedUse {
                    resident_id: id,
                    registry_pin: Zeroizing::new("2468".into()),
                    new_signature_certificate: true,
                },
            )
            .expect_err("a card with a signature certificate is in production");
        assert!(
            matches!(err, mynacard_authority::AuthorityError::Refused { .. }),
            "a refusal, not {err:?}"
        );
    });
}
