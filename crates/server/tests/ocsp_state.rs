//! The responder's state machine without HTTP: cache, refresh on status
//! change, unknown and unauthorized answers, nonce echo.

use std::sync::Arc;

use axum::body::to_bytes;
use chrono::{NaiveDate, TimeZone, Utc};
use mynacard_pki::ca::memory::MemoryRepository;
use mynacard_pki::ca::{CertificateAuthority, IssuanceOptionsConfig, IssueRequest, KeyAccess};
use mynacard_pki::name::Hierarchy;
use mynacard_pki::ocsp::{
    encode_request, nonce_extension_value, parse_response, CertIdHash, OcspIssuer, OcspResponseStatus, Responder,
    SingleStatus,
};
use mynacard_pki::profile::{Holder, Profile, Sex};
use mynacard_pki::signer::{Signer, SoftwareKey};
use mynacard_pki::status::CrlReason;
use mynacard_pki::Serial;
use mynacard_server::ocsp::{Freshness, GenerationResponder, OcspState};

async fn body(response: axum::response::Response) -> Vec<u8> {
    to_bytes(response.into_body(), 1 << 20).await.expect("body").to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_follow_status_changes_and_refuse_strangers() {
    let dir = std::env::temp_dir().join(format!("mynacard-ocsp-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let repository = Arc::new(MemoryRepository::default());
    let access = KeyAccess::Passphrase(b"pass".to_vec());
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single().expect("time");
    let ca = CertificateAuthority::init(
        &dir,
        true,
        &access,
        IssuanceOptionsConfig::default(),
        repository.clone(),
        now,
    )
    .expect("ca");
    let key = SoftwareKey::generate().expect("key");
    let issued = ca
        .issue(
            &IssueRequest {
                profile: Profile::UserAuthentication,
                public_key_der: key.public_key_der().to_vec(),
                holder: Holder {
                    name: "山田　花子".into(),
                    sex: Sex::Female,
                    birth_date: NaiveDate::from_ymd_opt(1990, 4, 1).expect("date"),
                    address: "北海道札幌市中央区北一条西二丁目".into(),
                    prefecture: "Hokkaido".into(),
                    municipality: "Sapporo-shi".into(),
                    name_flags: None,
                    address_flags: None,
                },
                issued: NaiveDate::from_ymd_opt(2026, 3, 1).expect("date"),
                not_after_cap: None,
                previous_expiry: None,
                adult_ward: false,
                counter_code: "A01".into(),
            },
            now,
        )
        .expect("issue");
    let responders = ca
        .generations()
        .iter()
        .map(|g| GenerationResponder {
            hierarchy: g.config.hierarchy,
            generation: g.config.generation,
            responder: Responder::new(
                OcspIssuer::new(&g.root_der).expect("issuer"),
                g.ocsp_der.clone(),
                g.ocsp_signer.clone(),
            )
            .expect("responder"),
        })
        .collect();
    let state = Arc::new(OcspState::new(responders, repository.clone(), Freshness::default()).expect("state"));
    let issuer = OcspIssuer::new(&ca.current(Hierarchy::UserAuthentication).expect("gen").root_der).expect("issuer");
    let request = encode_request(&[issuer.cert_id(CertIdHash::Sha1, issued.serial.clone())], None).expect("request");
    let status_of = |der: &[u8]| {
        let parsed = parse_response(der).expect("response");
        assert_eq!(parsed.status, OcspResponseStatus::Successful);
        parsed.responses[0].status
    };

    let first = body(state.answer(&request)).await;
    assert_eq!(status_of(&first), SingleStatus::Good);
    assert_eq!(state.stats().signed, 1);
    let again = body(state.answer(&request)).await;
    assert_eq!(first, again, "the second answer is the cached, pre-signed one");
    assert_eq!(state.stats().signed, 1);

    ca.revoke(&issued.serial, CrlReason::KeyCompromise, now)
        .expect("revoke");
    assert_eq!(state.refresh_changed().expect("refresh"), 1);
    let signed_after_refresh = state.stats().signed;
    let after = body(state.answer(&request)).await;
    assert!(matches!(
        status_of(&after),
        SingleStatus::Revoked {
            reason: Some(CrlReason::KeyCompromise),
            ..
        }
    ));
    assert_eq!(
        state.stats().signed,
        signed_after_refresh,
        "pre-signed at the change, not on the request"
    );

    // An unknown serial of our CA: signed "unknown".
    let unknown = encode_request(
        &[issuer.cert_id(CertIdHash::Sha256, Serial::random().expect("rng"))],
        None,
    )
    .expect("req");
    assert_eq!(status_of(&body(state.answer(&unknown)).await), SingleStatus::Unknown);
    // Another CA's certificate: unauthorized.
    let stranger = OcspIssuer::new(
        &CertificateAuthority::init(
            &dir.join("other"),
            true,
            &access,
            IssuanceOptionsConfig::default(),
            Arc::new(MemoryRepository::default()),
            now,
        )
        .expect("other ca")
        .current(Hierarchy::UserAuthentication)
        .expect("gen")
        .root_der,
    )
    .expect("issuer");
    let foreign = encode_request(&[stranger.cert_id(CertIdHash::Sha1, issued.serial.clone())], None).expect("req");
    assert_eq!(
        parse_response(&body(state.answer(&foreign)).await)
            .expect("resp")
            .status,
        OcspResponseStatus::Unauthorized
    );
    // Garbage: malformedRequest.
    assert_eq!(
        body(state.answer(b"\x30\x03\x02\x01")).await,
        [0x30, 0x03, 0x0a, 0x01, 0x01]
    );
    // A nonce is echoed, so it is signed live.
    let nonce = nonce_extension_value(b"0123456789abcdef").expect("nonce");
    let with_nonce =
        encode_request(&[issuer.cert_id(CertIdHash::Sha1, issued.serial.clone())], Some(&nonce)).expect("req");
    let answered = parse_response(&body(state.answer(&with_nonce)).await).expect("resp");
    assert_eq!(answered.nonce.as_deref(), Some(nonce.as_slice()));
    let _ = std::fs::remove_dir_all(&dir);
}
