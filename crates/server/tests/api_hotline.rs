//! The hotline's API: a caller's card found from name, birth date and
//! address; suspended once per Idempotency-Key, its certificates on hold
//! in the registry and at the CA, the loss report in the answer and the
//! audit log; nothing for anybody but hotline operators.

mod support;

use axum::http::{Method, StatusCode};
use mynacard_pki::status::{CertStatus, CrlReason};
use mynacard_pki::Serial;
use mynacard_rules::numbers::MyNumber;
use mynacard_store::access::StaffRole;
use mynacard_store::registry::{self, CardStatus, CertificateStatus};
use serde_json::json;
use support::*;

const HOLDER: &str = "番号　太郎";
const BORN: (i32, u32, u32) = (1980, 4, 1);

/// A runtime for the tests on PostgreSQL, whose registry client blocks on
/// a runtime of its own: the app is made and dropped outside it, and the
/// direct registry calls inside go through [`sync`].
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs a direct (blocking) registry call from a test's async body.
fn sync<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// A staff account, made directly, logged in through the API.
async fn login_as(app: &TestApp, login: &str, role: StaffRole, municipality: Option<&str>) -> As {
    sync(|| app.staff(login, role, municipality));
    app.login(login, PASSWORD).await
}

fn my_number(n: u64) -> String {
    MyNumber::complete(&format!("{:011}", 20_000_000_000 + n))
        .expect("my number")
        .expose()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hotline_finds_a_card_and_suspends_it_once_on_sqlite() {
    let app = TestApp::new("hotline-suspend", date(2026, 11, 29));
    the_hotline_finds_a_card_and_suspends_it_once(&app).await;
}

#[test]
fn the_hotline_finds_a_card_and_suspends_it_once_on_postgres() {
    let app = TestApp::on(Backend::Postgres, "hotline-suspend", date(2026, 11, 29));
    runtime().block_on(the_hotline_finds_a_card_and_suspends_it_once(&app));
}

async fn the_hotline_finds_a_card_and_suspends_it_once(app: &TestApp) {
    let born = date(BORN.0, BORN.1, BORN.2);
    let (chiyoda, chiyoda_card, sapporo_card) = sync(|| {
        let chiyoda = app.resident(CHIYODA, HOLDER, &my_number(1), born);
        let chiyoda_card = app.issue_card(CHIYODA, chiyoda);
        // A namesake born the same day, in Sapporo.
        let sapporo = app.resident(SAPPORO, HOLDER, &my_number(2), born);
        (chiyoda, chiyoda_card, app.issue_card(SAPPORO, sapporo))
    });
    let operator = login_as(app, "hotline1", StaffRole::Hotline, None).await;

    // Spaces in the name do not matter; the address tells namesakes apart.
    let both = app
        .call(
            Method::POST,
            "/api/v1/hotline/search",
            &operator,
            None,
            Some(json!({"name": "番号 太郎", "birth_date": "1980-04-01"})),
        )
        .await
        .expect(StatusCode::OK);
    let mut serials: Vec<&str> = both.json["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .filter_map(|c| c["card_serial"].as_str())
        .collect();
    serials.sort_unstable();
    let mut expected = vec![chiyoda_card.as_str(), sapporo_card.as_str()];
    expected.sort_unstable();
    assert_eq!(serials, expected);
    assert!(!both.text.contains(&my_number(1)) && !both.text.contains(&my_number(2)));
    let one = app
        .call(
            Method::POST,
            "/api/v1/hotline/search",
            &operator,
            None,
            Some(json!({"name": HOLDER, "birth_date": "1980-04-01", "address_prefix": "東京都千代田区"})),
        )
        .await
        .expect(StatusCode::OK);
    let cards = one.json["cards"].as_array().expect("cards");
    assert_eq!(cards.len(), 1, "{}", one.text);
    assert_eq!(cards[0]["card_serial"], chiyoda_card.as_str());
    assert_eq!(cards[0]["status"], "active");
    assert_eq!(cards[0]["municipality"], CHIYODA);
    let none = app
        .call(
            Method::POST,
            "/api/v1/hotline/search",
            &operator,
            None,
            Some(json!({"name": HOLDER, "birth_date": "1980-04-02"})),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(none.json["cards"], json!([]));

    // Suspension: the card, its certificates on hold, the report.
    let key = app.key();
    let report = json!({
        "cause": "theft",
        "reported_at": "2026-11-29T00:30:00Z",
        "lost_at": "2026-11-28T11:00:00Z",
        "lost_where": "新宿駅",
        "caller": "family",
        "police_reported": true,
        "police_receipt_number": "第123号",
        "note": "財布ごと",
    });
    let path = format!("/api/v1/hotline/cards/{chiyoda_card}/suspension");
    let suspended = app
        .call(Method::POST, &path, &operator, Some(&key), Some(report.clone()))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(suspended.json["card_serial"], chiyoda_card.as_str());
    assert_eq!(suspended.json["card_status"], "suspended");
    let held: Vec<String> = suspended.json["held_certificates"]
        .as_array()
        .expect("held")
        .iter()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect();
    assert_eq!(held.len(), 2, "the auth and sign certificates: {}", suspended.text);
    let r = &suspended.json["report"];
    assert!(r["id"].as_i64().is_some_and(|id| id > 0));
    assert_eq!(r["status"], "open");
    assert_eq!(r["channel"], "hotline");
    assert_eq!(r["cause"], "theft");
    assert_eq!(r["reported_at"], "2026-11-29T00:30:00Z");
    assert_eq!(r["taken_by"], "hotline:hotline1");
    assert_eq!(r["caller"], "family");
    assert_eq!(r["lost_where"], "新宿駅");
    assert_eq!(r["police_receipt_number"], "第123号");

    // The same key again: the same answer, nothing done twice.
    let replay = app
        .call(Method::POST, &path, &operator, Some(&key), Some(report.clone()))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(replay.json, suspended.json);
    let mut other = report.clone();
    other["cause"] = json!("loss");
    let reused = app
        .call(Method::POST, &path, &operator, Some(&key), Some(other))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reused.code(), "idempotency_key_reused");
    let twice = app
        .post(&path, &operator, report.clone())
        .await
        .expect(StatusCode::CONFLICT);
    assert_eq!(twice.code(), "card_suspended");

    // The registry: the card suspended, its certificates on hold, the report open.
    let (card, certificates, reports) = sync(|| {
        app.state.authority.db().read(|tx| {
            Ok::<_, mynacard_store::StoreError>((
                registry::get_card(tx, &chiyoda_card)?.expect("card"),
                registry::list_certificates_for_card(tx, &chiyoda_card)?,
                registry::list_loss_reports(tx, chiyoda)?,
            ))
        })
    })
    .expect("read");
    assert_eq!(card.status, CardStatus::Suspended);
    assert_eq!(certificates.len(), 2);
    assert!(certificates.iter().all(|c| c.status == CertificateStatus::Hold));
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].id, r["id"].as_i64().expect("id"));
    // The CA: both on hold (certificateHold), what CRLs and OCSP publish.
    for serial in &held {
        let record = app
            .state
            .authority
            .ca()
            .repository()
            .certificate(&Serial::from_hex(serial).expect("serial"))
            .expect("CA")
            .expect("record");
        assert!(
            matches!(
                record.status,
                CertStatus::Revoked {
                    reason: CrlReason::CertificateHold,
                    ..
                }
            ),
            "{serial}: {:?}",
            record.status
        );
    }
    // The namesake's card is untouched; the search shows the suspension.
    let after = app
        .call(
            Method::POST,
            "/api/v1/hotline/search",
            &operator,
            None,
            Some(json!({"name": HOLDER, "birth_date": "1980-04-01"})),
        )
        .await
        .expect(StatusCode::OK);
    for card in after.json["cards"].as_array().expect("cards") {
        let expected = if card["card_serial"] == chiyoda_card.as_str() {
            "suspended"
        } else {
            "active"
        };
        assert_eq!(card["status"], expected);
    }
    // The audit log keeps the report's facts (and no My Number).
    let entries = sync(|| {
        app.state
            .authority
            .db()
            .read(|tx| mynacard_store::audit::list(tx, 0, 10_000))
    })
    .expect("audit");
    let entry = entries
        .iter()
        .find(|e| e.action == "card.suspend")
        .expect("card.suspend audited");
    assert_eq!(entry.actor, "hotline:hotline1");
    assert!(entry.details.contains("caller: family"), "{}", entry.details);
    assert!(
        entry.details.contains("police: reported, receipt 第123号"),
        "{}",
        entry.details
    );
    assert!(entries.iter().all(|e| !e.details.contains(&my_number(1))));
}

#[tokio::test(flavor = "multi_thread")]
async fn inputs_are_checked_and_only_the_hotline_may_call() {
    let app = TestApp::new("hotline-inputs", date(2026, 11, 29));
    let resident = app.resident(CHIYODA, HOLDER, &my_number(3), date(BORN.0, BORN.1, BORN.2));
    let card = app.issue_card(CHIYODA, resident);
    let operator = login_as(&app, "hotline1", StaffRole::Hotline, None).await;
    let clerk = login_as(&app, "clerk", StaffRole::Window, Some(CHIYODA)).await;
    let path = format!("/api/v1/hotline/cards/{card}/suspension");
    let search = json!({"name": HOLDER, "birth_date": "1980-04-01"});

    // Who: a window clerk 403, nobody 401, no CSRF 403.
    let answer = app
        .call(
            Method::POST,
            "/api/v1/hotline/search",
            &clerk,
            None,
            Some(search.clone()),
        )
        .await
        .expect(StatusCode::FORBIDDEN);
    assert_eq!(answer.code(), "forbidden");
    app.call(
        Method::POST,
        "/api/v1/hotline/search",
        &As::nobody(),
        None,
        Some(search.clone()),
    )
    .await
    .expect(StatusCode::UNAUTHORIZED);
    let no_csrf = As {
        csrf: None,
        ..operator.clone()
    };
    let answer = app
        .call(
            Method::POST,
            "/api/v1/hotline/search",
            &no_csrf,
            None,
            Some(search.clone()),
        )
        .await
        .expect(StatusCode::FORBIDDEN);
    assert_eq!(answer.code(), "csrf");
    app.post(&path, &clerk, json!({"cause": "loss"}))
        .await
        .expect(StatusCode::FORBIDDEN);

    // What: malformed searches.
    for body in [
        json!({"name": "", "birth_date": "1980-04-01"}),
        json!({"name": "　 ", "birth_date": "1980-04-01"}),
        json!({"name": HOLDER, "birth_date": "2027-01-01"}),
        json!({"name": HOLDER, "birth_date": "1980-02-30"}),
        json!({"name": HOLDER, "birth_date": "+262143-01-01"}),
        json!({"name": HOLDER}),
        json!({"name": HOLDER, "birth_date": "1980-04-01", "my_number": my_number(3)}),
        json!({"name": "a\u{0}b", "birth_date": "1980-04-01"}),
        json!({"name": HOLDER, "birth_date": "1980-04-01", "address_prefix": "x".repeat(201)}),
    ] {
        let answer = app
            .call(
                Method::POST,
                "/api/v1/hotline/search",
                &operator,
                None,
                Some(body.clone()),
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}: {}", answer.text);
        assert_eq!(answer.headers["content-type"], "application/problem+json");
        assert!(!answer.text.contains(&my_number(3)), "the number is not echoed");
    }

    // Malformed suspensions; nothing is suspended by them.
    for body in [
        json!({}),
        json!({"cause": "misplaced"}),
        json!({"cause": "loss", "reported_at": "2030-01-01T00:00:00Z"}),
        json!({"cause": "loss", "reported_at": "2010-01-01T00:00:00Z"}),
        json!({"cause": "loss", "reported_at": "2026-11-29T00:00:00Z", "lost_at": "2026-11-29T00:30:00Z"}),
        json!({"cause": "loss", "note": format!("番号 {}", my_number(3))}),
        json!({"cause": "loss", "lost_where": "a\u{7}b"}),
        json!({"cause": "loss", "note": "x".repeat(1001)}),
        json!({"cause": "loss", "channel": "window"}),
    ] {
        let answer = app.post(&path, &operator, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}: {}", answer.text);
        assert!(!answer.text.contains(&my_number(3)), "the number is not echoed");
    }
    let no_key = app
        .call(Method::POST, &path, &operator, None, Some(json!({"cause": "loss"})))
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert_eq!(no_key.code(), "idempotency_key_required");
    for serial in ["123", "ZZZZZZZZZZZZZZZZ", "0123456789ABCDEF0"] {
        app.post(
            &format!("/api/v1/hotline/cards/{serial}/suspension"),
            &operator,
            json!({"cause": "loss"}),
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
    }
    app.post(
        "/api/v1/hotline/cards/0123456789ABCDEF/suspension",
        &operator,
        json!({"cause": "loss"}),
    )
    .await
    .expect(StatusCode::NOT_FOUND);
    let card_now = app
        .state
        .authority
        .db()
        .read(|tx| registry::get_card(tx, &card))
        .expect("read")
        .expect("card");
    assert_eq!(card_now.status, CardStatus::Active);
    // A lower-case serial is the same card.
    let done = app
        .post(
            &format!("/api/v1/hotline/cards/{}/suspension", card.to_ascii_lowercase()),
            &operator,
            json!({"cause": "loss"}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(done.json["card_serial"], card.as_str());
    assert_eq!(done.json["report"]["caller"], "holder");
    assert_eq!(done.json["report"]["reported_at"], done.json["suspended_at"]);
}
