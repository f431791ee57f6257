//! The relying parties' verification: a delivered card's certificates are
//! good (the signature certificate with the basic 4 information, never a
//! My Number); on hold after the hotline's suspension, revoked after a
//! return, and good again for a time before either; a certificate of
//! another CA is not trusted; what is not a certificate is 400; only a
//! relying party's key opens it.

mod support;

use axum::http::{Method, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use mynacard_authority::Actor;
use mynacard_pki::Serial;
use mynacard_rules::numbers::{MunicipalityCode, MyNumber};
use mynacard_store::access::{ApiKeyKind, StaffRole};
use mynacard_store::registry::{self, CertKind};
use serde_json::{json, Value};
use support::*;

const PATH: &str = "/api/v1/relying-party/certificates/verification";
const HOLDER: &str = "検証　花子";

fn my_number(n: u64) -> String {
    MyNumber::complete(&format!("{:011}", 30_000_000_000 + n))
        .expect("my number")
        .expose()
        .to_owned()
}

/// The card's certificate of `kind`, DER.
fn certificate(app: &TestApp, card: &str, kind: CertKind) -> Vec<u8> {
    let records = app
        .state
        .authority
        .db()
        .read(|tx| registry::list_certificates_for_card(tx, card))
        .expect("certificates");
    let record = records
        .iter()
        .find(|c| c.kind == kind)
        .expect("a certificate of the kind");
    app.state
        .authority
        .ca()
        .repository()
        .certificate(&Serial::from_hex(&record.serial).expect("serial"))
        .expect("CA")
        .expect("record")
        .der
        .expect("signed")
}

async fn verify(app: &TestApp, who: &As, der: &[u8], at: Option<&str>) -> Value {
    let mut body = json!({"certificate": STANDARD.encode(der)});
    if let Some(at) = at {
        body["at"] = json!(at);
    }
    app.call(Method::POST, PATH, who, None, Some(body))
        .await
        .expect(StatusCode::OK)
        .json
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivered_card_verifies_until_suspended_or_returned() {
    let app = TestApp::new("rp-verify", date(2026, 11, 29));
    let rp = app.api_key("etax", ApiKeyKind::RelyingParty);
    let held_one = app.resident(CHIYODA, HOLDER, &my_number(1), date(1985, 6, 15));
    let held_card = app.issue_card(CHIYODA, held_one);
    let returned_one = app.resident(CHIYODA, "返納　一郎", &my_number(2), date(1970, 1, 2));
    let returned_card = app.issue_card(CHIYODA, returned_one);
    let sign = certificate(&app, &held_card, CertKind::Sign);
    let auth = certificate(&app, &held_card, CertKind::Auth);

    // Good, with the basic 4 information of the signature certificate.
    let good = verify(&app, &rp, &sign, None).await;
    assert_eq!(good["valid"], true, "{good}");
    assert_eq!(good["verdict"], "good");
    assert_eq!(good["certificate"]["hierarchy"], "sign");
    assert_eq!(good["certificate"]["profile"], "sign");
    assert_eq!(good["certificate"]["root_generation"], 1);
    assert_eq!(good["holder"]["name"], HOLDER);
    assert_eq!(good["holder"]["address"], "東京都千代田区千代田1-1");
    assert_eq!(good["holder"]["birth_date"], "1985-06-15");
    assert_eq!(good["holder"]["sex"], "male");
    assert!(good["revocation"].is_null());
    assert!(!good.to_string().contains(&my_number(1)), "never the My Number");
    // The user-authentication certificate carries no personal data.
    let auth_good = verify(&app, &rp, &auth, None).await;
    assert_eq!(auth_good["valid"], true, "{auth_good}");
    assert_eq!(auth_good["certificate"]["hierarchy"], "auth");
    assert!(auth_good["holder"].is_null());
    // Base64 with line breaks, as PEM bodies come.
    let wrapped: String = STANDARD
        .encode(&sign)
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned() + "\n")
        .collect();
    let answer = app
        .call(Method::POST, PATH, &rp, None, Some(json!({"certificate": wrapped})))
        .await
        .expect(StatusCode::OK);
    assert_eq!(answer.json["valid"], true);
    // Before it was issued: not yet valid.
    let early = verify(&app, &rp, &sign, Some("2026-11-28T00:00:00Z")).await;
    assert_eq!(early["valid"], false);
    assert_eq!(early["verdict"], "not_yet_valid");

    // A day later the hotline suspends the first card, the window takes the
    // second back.
    app.state.clock.advance_days(1);
    let operator = app.login_as("hotline1", StaffRole::Hotline, None).await;
    app.post(
        &format!("/api/v1/hotline/cards/{held_card}/suspension"),
        &operator,
        json!({"cause": "loss"}),
    )
    .await
    .expect(StatusCode::CREATED);
    let window = Actor::window("staff:setup", MunicipalityCode::parse(CHIYODA).expect("code"));
    app.state
        .authority
        .return_card(&window, &app.key(), &returned_card)
        .expect("return");

    let held = verify(&app, &rp, &sign, None).await;
    assert_eq!(held["valid"], false, "{held}");
    assert_eq!(held["verdict"], "on_hold");
    assert_eq!(held["revocation"]["reason"], "certificateHold");
    assert_eq!(held["holder"]["name"], HOLDER, "the contents are still read");
    let held_auth = verify(&app, &rp, &auth, None).await;
    assert_eq!(held_auth["verdict"], "on_hold");
    // A document signed before the suspension: good at that time.
    let before = verify(&app, &rp, &sign, Some("2026-11-29T03:00:00Z")).await;
    assert_eq!(before["valid"], true, "{before}");
    assert_eq!(before["verdict"], "good");
    assert_eq!(before["checked_at"], "2026-11-29T03:00:00Z");

    let returned_sign = certificate(&app, &returned_card, CertKind::Sign);
    let revoked = verify(&app, &rp, &returned_sign, None).await;
    assert_eq!(revoked["valid"], false, "{revoked}");
    assert_eq!(revoked["verdict"], "revoked");
    assert_eq!(revoked["revocation"]["reason"], "cessationOfOperation");
    assert!(revoked["revocation"]["revoked_at"].is_string());

    // In the future: 400.
    let future = app
        .call(
            Method::POST,
            PATH,
            &rp,
            None,
            Some(json!({"certificate": STANDARD.encode(&sign), "at": "2030-01-01T00:00:00Z"})),
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert_eq!(future.json["errors"][0]["field"], "at");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_is_not_ours_or_not_a_certificate_is_refused() {
    let app = TestApp::new("rp-foreign", date(2026, 11, 29));
    let other = TestApp::new("rp-foreign-ca", date(2026, 11, 29));
    let resident = other.resident(CHIYODA, HOLDER, &my_number(3), date(1985, 6, 15));
    let card = other.issue_card(CHIYODA, resident);
    let foreign = certificate(&other, &card, CertKind::Sign);
    let rp = app.api_key("etax", ApiKeyKind::RelyingParty);

    // Another CA's certificate (same names, other keys): not trusted, not read.
    let answer = verify(&app, &rp, &foreign, None).await;
    assert_eq!(answer["valid"], false, "{answer}");
    assert_eq!(answer["verdict"], "untrusted");
    assert!(answer["certificate"].is_null());
    assert!(answer["holder"].is_null());
    // The other CA's own root is not a certificate we verify either.
    let root = other.state.authority.ca().generations()[0].root_der.clone();
    let root_answer = verify(&app, &rp, &root, None).await;
    assert_eq!(root_answer["verdict"], "untrusted");
    // Our own root is ours but not an end-entity certificate of its use.
    let own_root = app.state.authority.ca().generations()[0].root_der.clone();
    let own = verify(&app, &rp, &own_root, None).await;
    assert_eq!(own["valid"], false, "{own}");

    for body in [
        json!({"certificate": "not base64!"}),
        json!({"certificate": ""}),
        json!({"certificate": STANDARD.encode(b"just some bytes")}),
        json!({"certificate": STANDARD.encode(&foreign[..foreign.len() / 2])}),
        json!({"certificate": "A".repeat(20_000)}),
        json!({"certificate": STANDARD.encode(&foreign), "usage": "sign"}),
        json!({"certificate": 42}),
        json!({}),
    ] {
        let answer = app.call(Method::POST, PATH, &rp, None, Some(body.clone())).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}: {}", answer.text);
        assert_eq!(answer.headers["content-type"], "application/problem+json");
    }

    // Only a relying party's key.
    let body = json!({"certificate": STANDARD.encode(&foreign)});
    let kiosk = app.api_key("lawson", ApiKeyKind::Kiosk);
    let refused = app
        .call(Method::POST, PATH, &kiosk, None, Some(body.clone()))
        .await
        .expect(StatusCode::FORBIDDEN);
    assert_eq!(refused.code(), "forbidden");
    app.call(Method::POST, PATH, &As::nobody(), None, Some(body.clone()))
        .await
        .expect(StatusCode::UNAUTHORIZED);
    let clerk = app.login_as("clerk", StaffRole::Window, Some(CHIYODA)).await;
    app.call(Method::POST, PATH, &clerk, None, Some(body.clone()))
        .await
        .expect(StatusCode::UNAUTHORIZED);
    let forged = As {
        bearer: Some("mnk_AAAAAAAA_forged".into()),
        ..As::default()
    };
    app.call(Method::POST, PATH, &forged, None, Some(body))
        .await
        .expect(StatusCode::UNAUTHORIZED);
}
