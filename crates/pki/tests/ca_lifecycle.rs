//! The CA end to end in process: set-up, issuance with validity from the
//! rules engine, personal data in the SAN, revocation rules, CRL and OCSP,
//! a relying party's verification, root rollover and crash recovery.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use mynacard_pki::ca::memory::MemoryRepository;
use mynacard_pki::ca::{
    CaRepository, CertificateAuthority, CertificateRecord, IssuanceOptionsConfig, IssueRequest, KeyAccess,
};
use mynacard_pki::crl::ParsedCrl;
use mynacard_pki::name::Hierarchy;
use mynacard_pki::ocsp::{CertIdHash, OcspIssuer, Responder, SingleStatus};
use mynacard_pki::profile::{self, Holder, Profile, Sex};
use mynacard_pki::signer::{Signer, SoftwareKey};
use mynacard_pki::status::{CertStatus, CrlReason, StatusChange};
use mynacard_pki::verify::{Rejection, Revocation, Usage, Verifier};
use mynacard_pki::Serial;
use x509_cert::der::Decode;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mynacard-ca-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 3, 0, 0).single().expect("time")
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn holder(birth: NaiveDate) -> Holder {
    Holder {
        name: "髙橋　𠮷男".into(),
        sex: Sex::Male,
        birth_date: birth,
        address: "東京都千代田区永田町一丁目７番１号".into(),
        prefecture: "Tokyo".into(),
        municipality: "Chiyoda-ku".into(),
        name_flags: None,
        address_flags: None,
    }
}

fn request(profile: Profile, key: &SoftwareKey, issued: NaiveDate, birth: NaiveDate) -> IssueRequest {
    IssueRequest {
        profile,
        public_key_der: key.public_key_der().to_vec(),
        holder: holder(birth),
        issued,
        not_after_cap: Some(day(2035, 2, 17)),
        previous_expiry: None,
        adult_ward: false,
        counter_code: "A01".into(),
    }
}

struct Fixture {
    ca: CertificateAuthority,
    repository: Arc<MemoryRepository>,
    access: KeyAccess,
    dir: std::path::PathBuf,
}

fn fixture(name: &str) -> Fixture {
    let dir = temp_dir(name);
    let repository = Arc::new(MemoryRepository::default());
    let access = KeyAccess::Passphrase(b"test passphrase".to_vec());
    let ca = CertificateAuthority::init(
        &dir,
        true,
        &access,
        IssuanceOptionsConfig::default(),
        repository.clone(),
        at(2026, 1, 5),
    )
    .expect("init");
    Fixture {
        ca,
        repository,
        access,
        dir,
    }
}

fn crl_of(ca: &CertificateAuthority, hierarchy: Hierarchy, now: DateTime<Utc>) -> ParsedCrl {
    let mut der = Vec::new();
    ca.write_crl(hierarchy, now, now + chrono::TimeDelta::days(1), &mut der)
        .expect("crl");
    ParsedCrl::from_der_vec(der).expect("parse crl")
}

#[test]
fn issuance_follows_the_rules_and_carries_the_basic_four() {
    let f = fixture("issue");
    let key = SoftwareKey::generate().expect("key");
    let birth = day(1980, 2, 17);
    let sign =
        f.ca.issue(
            &request(Profile::Signature, &key, day(2026, 1, 5), birth),
            at(2026, 1, 5),
        )
        .expect("sign");
    // 5th birthday after 2026-01-05.
    assert_eq!(sign.last_valid_day, day(2030, 2, 17));
    let certificate = x509_cert::Certificate::from_der(&sign.der).expect("cert");
    let not_after = mynacard_pki::time::from_x509_time(&certificate.tbs_certificate().validity().not_after);
    assert_eq!(not_after.to_rfc3339(), "2030-02-17T14:59:59+00:00", "23:59:59 JST");
    let data = profile::personal_data(&certificate)
        .expect("san")
        .expect("personal data");
    assert_eq!(data.name, "髙橋　𠮷男");
    assert_eq!(data.name_flags, "00000");
    assert_eq!(data.sex, "1");
    assert_eq!(data.birth_date, "319800217");
    assert_eq!(data.address, "東京都千代田区永田町一丁目７番１号");
    assert_eq!(data.address_flags.len(), data.address.chars().count());

    // The auth certificate has no personal data and an opaque CN.
    let auth =
        f.ca.issue(
            &request(Profile::UserAuthentication, &key, day(2026, 1, 5), birth),
            at(2026, 1, 5),
        )
        .expect("auth");
    let certificate = x509_cert::Certificate::from_der(&auth.der).expect("cert");
    assert!(profile::personal_data(&certificate).expect("san").is_none());
    let subject = certificate.tbs_certificate().subject().to_string();
    assert!(!subject.contains("Tokyo") && subject.starts_with("CN="), "{subject}");

    // Capped by the card.
    let mut capped = request(Profile::Signature, &key, day(2026, 1, 5), birth);
    capped.not_after_cap = Some(day(2027, 3, 31));
    assert_eq!(
        f.ca.issue(&capped, at(2026, 1, 5)).expect("capped").last_valid_day,
        day(2027, 3, 31)
    );

    // Renewal bonus: renewed in the window of a certificate expiring 2026-02-17.
    let mut renewal = request(Profile::Signature, &key, day(2026, 1, 5), birth);
    renewal.previous_expiry = Some(day(2026, 2, 17));
    renewal.not_after_cap = None;
    assert_eq!(
        f.ca.issue(&renewal, at(2026, 1, 5)).expect("renewal").last_valid_day,
        day(2031, 2, 17)
    );
}

#[test]
fn the_rules_refuse_signature_certificates_under_15_and_to_adult_wards() {
    let f = fixture("refuse");
    let key = SoftwareKey::generate().expect("key");
    let child = request(Profile::Signature, &key, day(2026, 1, 5), day(2012, 1, 6));
    let err = f.ca.issue(&child, at(2026, 1, 5)).expect_err("under 15");
    assert_eq!(err.code(), "refused", "{err}");
    // The child still gets an auth certificate.
    f.ca.issue(
        &request(Profile::UserAuthentication, &key, day(2026, 1, 5), day(2012, 1, 6)),
        at(2026, 1, 5),
    )
    .expect("auth");
    let mut ward = request(Profile::Signature, &key, day(2026, 1, 5), day(1950, 1, 1));
    ward.adult_ward = true;
    assert_eq!(f.ca.issue(&ward, at(2026, 1, 5)).expect_err("ward").code(), "refused");
    // Nothing was recorded for the refusals: only the auth certificate.
    assert_eq!(f.repository.issued_count(Hierarchy::Signature).expect("count"), 0);
    assert_eq!(
        f.repository.issued_count(Hierarchy::UserAuthentication).expect("count"),
        1
    );
}

#[test]
fn a_relying_party_accepts_good_and_refuses_revoked_held_expired_and_misused_certificates() {
    let f = fixture("verify");
    let key = SoftwareKey::generate().expect("key");
    let birth = day(1980, 2, 17);
    let issue = |profile| {
        f.ca.issue(&request(profile, &key, day(2026, 1, 5), birth), at(2026, 1, 5))
            .expect("issue")
    };
    let (good, revoked, held, auth) = (
        issue(Profile::Signature),
        issue(Profile::Signature),
        issue(Profile::Signature),
        issue(Profile::UserAuthentication),
    );
    f.ca.revoke(&revoked.serial, CrlReason::KeyCompromise, at(2026, 2, 1))
        .expect("revoke");
    f.ca.revoke(&held.serial, CrlReason::CertificateHold, at(2026, 2, 1))
        .expect("hold");

    let roots: Vec<Vec<u8>> = f.ca.generations().iter().map(|g| g.root_der.clone()).collect();
    let verifier = Verifier::new(&roots).expect("verifier");
    let crl = crl_of(&f.ca, Hierarchy::Signature, at(2026, 3, 1));
    let when = at(2026, 3, 1);
    verifier
        .verify(&good.der, Usage::Signature, when, Revocation::Crl(&crl))
        .expect("good is accepted");
    assert!(matches!(
        verifier.verify(&revoked.der, Usage::Signature, when, Revocation::Crl(&crl)),
        Err(Rejection::Revoked {
            reason: Some(CrlReason::KeyCompromise),
            ..
        })
    ));
    assert!(matches!(
        verifier.verify(&held.der, Usage::Signature, when, Revocation::Crl(&crl)),
        Err(Rejection::Revoked {
            reason: Some(CrlReason::CertificateHold),
            ..
        })
    ));
    // A signature made before the revocation was good when it was made.
    verifier
        .verify(&revoked.der, Usage::Signature, at(2026, 1, 20), Revocation::Crl(&crl))
        .expect("good at signing time");
    // Outside its validity.
    assert!(matches!(
        verifier.verify(&good.der, Usage::Signature, at(2031, 1, 1), Revocation::Crl(&crl)),
        Err(Rejection::NotValidAt { .. })
    ));
    // An auth certificate is not for signatures, and the auth CA's CRL is not the signature CA's.
    let auth_crl = crl_of(&f.ca, Hierarchy::UserAuthentication, when);
    assert!(matches!(
        verifier.verify(&auth.der, Usage::Signature, when, Revocation::Crl(&auth_crl)),
        Err(Rejection::WrongUsage(_))
    ));
    verifier
        .verify(&auth.der, Usage::Authentication, when, Revocation::Crl(&auth_crl))
        .expect("auth for login");
    assert!(matches!(
        verifier.verify(&good.der, Usage::Signature, when, Revocation::Crl(&auth_crl)),
        Err(Rejection::NoStatus(_))
    ));

    // OCSP through the delegated responder.
    let g = f.ca.current(Hierarchy::Signature).expect("gen");
    let access_signer = g.ocsp_signer.clone();
    let responder = Responder::new(
        OcspIssuer::new(&g.root_der).expect("issuer"),
        g.ocsp_der.clone(),
        access_signer,
    )
    .expect("responder");
    let answer = |serial: &Serial, status: SingleStatus| {
        let id = responder.issuer().cert_id(CertIdHash::Sha1, serial.clone());
        responder
            .respond_one(&id, status, when, when, Some(when + chrono::TimeDelta::days(1)), None)
            .expect("respond")
    };
    let good_response = answer(&good.serial, SingleStatus::Good);
    verifier
        .verify(&good.der, Usage::Signature, when, Revocation::Ocsp(&good_response))
        .expect("OCSP good");
    let revoked_response = answer(
        &revoked.serial,
        SingleStatus::Revoked {
            at: at(2026, 2, 1),
            reason: Some(CrlReason::KeyCompromise),
        },
    );
    assert!(matches!(
        verifier.verify(
            &revoked.der,
            Usage::Signature,
            when,
            Revocation::Ocsp(&revoked_response)
        ),
        Err(Rejection::Revoked { .. })
    ));
    // A response about another certificate proves nothing.
    assert!(matches!(
        verifier.verify(&revoked.der, Usage::Signature, when, Revocation::Ocsp(&good_response)),
        Err(Rejection::NoStatus(_))
    ));

    // A certificate from another CA with the same names is not trusted.
    let other = fixture("verify-other");
    let foreign = other
        .ca
        .issue(
            &request(Profile::Signature, &key, day(2026, 1, 5), birth),
            at(2026, 1, 5),
        )
        .expect("foreign");
    assert!(matches!(
        verifier.verify(&foreign.der, Usage::Signature, when, Revocation::Crl(&crl)),
        Err(Rejection::UntrustedIssuer)
    ));
    let _ = std::fs::remove_dir_all(&f.dir);
    let _ = std::fs::remove_dir_all(&other.dir);
}

#[test]
fn revocation_rules_hold_becomes_revoked_revoked_never_changes_release_only_for_smartphone_auth() {
    let f = fixture("status");
    let key = SoftwareKey::generate().expect("key");
    let birth = day(1980, 2, 17);
    let card =
        f.ca.issue(
            &request(Profile::UserAuthentication, &key, day(2026, 1, 5), birth),
            at(2026, 1, 5),
        )
        .expect("card");
    let mut phone_request = request(Profile::SmartphoneUserAuthentication, &key, day(2026, 1, 5), birth);
    phone_request.not_after_cap = Some(day(2030, 2, 17));
    let phone = f.ca.issue(&phone_request, at(2026, 1, 5)).expect("phone");
    assert_eq!(
        phone.last_valid_day,
        day(2030, 2, 17),
        "expires with the card certificate"
    );

    f.ca.revoke(&card.serial, CrlReason::CertificateHold, at(2026, 2, 1))
        .expect("hold");
    let err =
        f.ca.change_status(&card.serial, &StatusChange::ReleaseHold)
            .expect_err("card holds are never released");
    assert_eq!(err.code(), "status_change");
    let status =
        f.ca.revoke(&card.serial, CrlReason::KeyCompromise, at(2026, 2, 3))
            .expect("hold → revoked");
    assert!(matches!(
        status,
        CertStatus::Revoked {
            reason: CrlReason::KeyCompromise,
            invalidity_date: Some(_),
            ..
        }
    ));
    assert!(
        f.ca.revoke(&card.serial, CrlReason::Superseded, at(2026, 2, 4))
            .is_err(),
        "revoked never changes"
    );

    f.ca.revoke(&phone.serial, CrlReason::CertificateHold, at(2026, 2, 1))
        .expect("hold phone");
    assert_eq!(
        f.ca.change_status(&phone.serial, &StatusChange::ReleaseHold)
            .expect("release"),
        CertStatus::Good
    );
    // Events were logged for the responders: hold, revoke, hold, release.
    assert_eq!(f.repository.status_events_since(0).expect("events").len(), 4);
    let unknown = Serial::random().expect("rng");
    assert_eq!(
        f.ca.revoke(&unknown, CrlReason::KeyCompromise, at(2026, 2, 1))
            .expect_err("unknown")
            .code(),
        "unknown_serial"
    );
}

#[test]
fn roots_roll_over_and_issuers_are_found_by_signature_not_by_name() {
    let mut f = fixture("rollover");
    let key = SoftwareKey::generate().expect("key");
    let birth = day(1980, 2, 17);
    let old =
        f.ca.issue(
            &request(Profile::Signature, &key, day(2026, 1, 5), birth),
            at(2026, 1, 5),
        )
        .expect("old");
    let access = f.access.clone();
    let generation =
        f.ca.add_generation(Hierarchy::Signature, &access, at(2026, 6, 1))
            .expect("rollover");
    assert_eq!(generation, 2);
    let new =
        f.ca.issue(
            &request(Profile::Signature, &key, day(2026, 6, 1), birth),
            at(2026, 6, 1),
        )
        .expect("new");
    let g1 = f.ca.issuer_of(&old.der).expect("old issuer").config.generation;
    let g2 = f.ca.issuer_of(&new.der).expect("new issuer").config.generation;
    assert_eq!((g1, g2), (1, 2));
    // Same issuer name for both generations.
    let name = |der: &[u8]| {
        x509_cert::Certificate::from_der(der)
            .expect("cert")
            .tbs_certificate()
            .issuer()
            .to_string()
    };
    assert_eq!(name(&old.der), name(&new.der));
    // Each generation's CRL lists what it issued.
    f.ca.revoke(&old.serial, CrlReason::AffiliationChanged, at(2026, 7, 1))
        .expect("revoke old");
    let current = crl_of(&f.ca, Hierarchy::Signature, at(2026, 7, 2));
    assert!(
        current.get(&old.serial).is_none(),
        "generation 2's CRL does not list generation 1's certificates"
    );
    let g1 =
        f.ca.generations()
            .iter()
            .find(|g| g.config.hierarchy == Hierarchy::Signature && g.config.generation == 1)
            .expect("g1");
    let mut der = Vec::new();
    f.ca.write_generation_crl(g1, at(2026, 7, 2), at(2026, 7, 3), &mut der)
        .expect("crl g1");
    assert!(ParsedCrl::from_der_vec(der).expect("parse").get(&old.serial).is_some());
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn a_certificate_recorded_but_never_signed_is_signed_on_reopening_and_is_revocable() {
    let f = fixture("pending");
    let key = SoftwareKey::generate().expect("key");
    // What a crash between recording and signing leaves: a pending record.
    let g = f.ca.current(Hierarchy::UserAuthentication).expect("gen");
    let serial = Serial::random().expect("rng");
    let tbs = profile::end_entity_tbs(
        &g.issuer,
        &profile::EndEntity {
            profile: Profile::UserAuthentication,
            serial: &serial,
            public_key_der: key.public_key_der(),
            holder: None,
            subject_cn: "PENDINGPENDINGPENDING01",
            not_before: at(2026, 1, 5),
            not_after: at(2030, 1, 1),
        },
        &profile::IssuanceOptions::default(),
    )
    .expect("tbs");
    f.repository
        .record_pending(&CertificateRecord {
            serial: serial.clone(),
            hierarchy: Hierarchy::UserAuthentication,
            generation: 1,
            profile: "auth".into(),
            not_before: at(2026, 1, 5),
            not_after: at(2030, 1, 1),
            tbs: tbs.clone(),
            der: None,
            status: CertStatus::Good,
        })
        .expect("pending");
    // It can be revoked before it is ever signed.
    f.ca.revoke(&serial, CrlReason::KeyCompromise, at(2026, 1, 6))
        .expect("revocable while pending");
    let reopened = CertificateAuthority::open(&f.dir, &f.access, f.repository.clone()).expect("reopen");
    let record = f.repository.certificate(&serial).expect("read").expect("record");
    let der = record.der.expect("signed on reopening");
    // Deterministic: signing the stored TBS again gives the same certificate.
    let again = profile::assemble(
        &tbs,
        &reopened
            .current(Hierarchy::UserAuthentication)
            .expect("g")
            .root_signer
            .sign(&tbs)
            .expect("sign"),
    )
    .expect("assemble");
    assert_eq!(der, again);
    assert!(f.repository.pending().expect("pending").is_empty());
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn a_wrong_passphrase_opens_nothing() {
    let f = fixture("passphrase");
    let err = CertificateAuthority::open(&f.dir, &KeyAccess::Passphrase(b"wrong".to_vec()), f.repository.clone())
        .err()
        .expect("wrong passphrase");
    assert_eq!(err.code(), "key_decryption");
    let _ = std::fs::remove_dir_all(&f.dir);
}
