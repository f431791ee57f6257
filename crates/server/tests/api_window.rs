//! The window's JSON API (市区町村窓口) driven through the router, each test
//! with its own registry: the journeys a window handles (registration,
//! application, production, delivery, moves, reissue, PIN reset, face
//! conversion, renewals), and the refusals a client must get (another
//! municipality, no session, no CSRF token, no or reused Idempotency-Key,
//! malformed input, the rules) — with no PIN in any answer.

mod support;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::NaiveDate;
use mynacard_rules::numbers::MyNumber;
use mynacard_store::access::StaffRole;
use serde_json::{json, Value};
use support::*;

/// The PINs the holder types in these tests: distinctive, so that an
/// answer carrying one would be found.
const AUTH_PIN: &str = "4817";
const SIGN_PIN: &str = "QZ7391";
const INPUT_PIN: &str = "5920";
const REGISTRY_PIN: &str = "6034";

fn my_number(base: &str) -> String {
    MyNumber::complete(base).expect("base").expose()
}

fn pins() -> Value {
    json!({"auth": AUTH_PIN, "sign": SIGN_PIN, "input_support": INPUT_PIN, "registry": REGISTRY_PIN})
}

fn register_body(number: &str, name: &str, birth: &str) -> Value {
    json!({
        "my_number": number,
        "name": name,
        "name_kana": "バンゴウ　ハナコ",
        "address": "東京都千代田区千代田1-1",
        "birth_date": birth,
        "sex": "female",
        "nationality": "JP",
        "honseki": "東京都千代田区千代田1",
    })
}

/// Every answer a test saw, to check that none carries a PIN.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn keep(&mut self, answer: Answer) -> Answer {
        self.0.push(answer.text.clone());
        answer
    }

    #[track_caller]
    fn assert_no_pin(&self) {
        for text in &self.0 {
            for pin in [AUTH_PIN, INPUT_PIN, REGISTRY_PIN] {
                // As a JSON string: serials may contain the digits by chance.
                assert!(!text.contains(&format!("\"{pin}\"")), "a PIN in an answer: {text}");
            }
            assert!(!text.contains(SIGN_PIN), "the signature PIN in an answer: {text}");
        }
    }
}

/// A window clerk of `municipality`, logged in through the API.
async fn clerk(app: &TestApp, login: &str, municipality: &str) -> As {
    app.login_as(login, StaffRole::Window, Some(municipality)).await
}

/// Registers a resident through the API; answers the id.
async fn register(app: &TestApp, who: &As, number: &str, name: &str, birth: &str) -> i64 {
    let answer = app
        .post("/api/v1/window/residents", who, register_body(number, name, birth))
        .await
        .expect(StatusCode::CREATED);
    answer.json["resident_id"].as_i64().expect("resident_id")
}

/// Runs J-LIS's production line over every waiting application.
fn produce(app: &TestApp) -> usize {
    mynacard_server::production::produce_waiting(&app.state.authority, &mut Default::default()).expect("production")
}

/// A POST with a raw body (malformed JSON, no content type).
async fn raw_post(app: &TestApp, path: &str, who: &As, content_type: Option<&str>, body: &str) -> Answer {
    let mut request = Request::builder().method(Method::POST).uri(path);
    if let Some(c) = &who.cookie {
        request = request.header(header::COOKIE, c);
    }
    if let Some(c) = &who.csrf {
        request = request.header("x-csrf-token", c);
    }
    request = request.header("idempotency-key", app.key());
    if let Some(t) = content_type {
        request = request.header(header::CONTENT_TYPE, t);
    }
    app.send(request.body(Body::from(body.to_owned())).expect("request"))
        .await
}

/// A POST without a body, with a fresh key.
async fn post_empty(app: &TestApp, path: &str, who: &As) -> Answer {
    let key = app.key();
    app.call(Method::POST, path, who, Some(&key), None).await
}

#[track_caller]
fn problem(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert_eq!(
        answer.headers["content-type"], "application/problem+json",
        "{}",
        answer.text
    );
    assert_eq!(answer.code(), code, "{}", answer.text);
}

fn day(text: &Value) -> NaiveDate {
    text.as_str().and_then(|t| t.parse().ok()).expect("a date")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resident_is_registered_applies_and_gets_a_card_in_use() {
    let app = TestApp::new("window-journey", date(2026, 11, 29));
    let chiyoda = clerk(&app, "chiyoda1", CHIYODA).await;
    let mut seen = Seen::default();
    let number = my_number("12345678901");

    let hanako = register(&app, &chiyoda, &number, "番号　花子", "1985-04-01").await;
    let found = seen.keep(
        app.get(
            "/api/v1/window/residents?name=%E3%81%B0%E3%82%93%E3%81%94%E3%81%86",
            &chiyoda,
        )
        .await
        .expect(StatusCode::OK),
    );
    assert_eq!(
        found.json["residents"][0]["resident_id"], hanako,
        "hiragana finds the kana"
    );
    assert!(!found.text.contains(&number), "a list shows no My Number");

    let application = seen.keep(
        app.post(
            "/api/v1/window/applications",
            &chiyoda,
            json!({"resident_id": hanako, "signature_wanted": true}),
        )
        .await
        .expect(StatusCode::CREATED),
    );
    let application_id = application.json["application_id"].as_i64().expect("id");
    let list = seen.keep(
        app.get("/api/v1/window/worklist", &chiyoda)
            .await
            .expect(StatusCode::OK),
    );
    assert_eq!(list.json["in_production"][0]["application_id"], application_id);
    assert_eq!(list.json["municipality"], CHIYODA);

    assert_eq!(produce(&app), 1);
    let list = seen.keep(
        app.get("/api/v1/window/worklist", &chiyoda)
            .await
            .expect(StatusCode::OK),
    );
    assert!(list.json["in_production"].as_array().expect("list").is_empty());
    let waiting = &list.json["awaiting_delivery"][0];
    assert_eq!(waiting["resident_id"], hanako);
    let serial = waiting["card_serial"].as_str().expect("serial").to_owned();

    let delivered = seen.keep(
        app.post(
            &format!("/api/v1/window/cards/{serial}/delivery"),
            &chiyoda,
            json!({"pins": pins()}),
        )
        .await
        .expect(StatusCode::OK),
    );
    assert_eq!(delivered.json["card_serial"], serial.as_str());
    assert_eq!(delivered.json["delivered_on"], "2026-11-29");
    assert!(delivered.json["returned"].is_null());

    // The record: the card in use, both certificates good; no My Number for card work.
    let record = seen.keep(
        app.get(&format!("/api/v1/window/residents/{hanako}"), &chiyoda)
            .await
            .expect(StatusCode::OK),
    );
    assert_eq!(record.json["cards"][0]["status"], "active");
    assert_eq!(record.json["purpose"], "card_service");
    assert!(record.json["my_number"].is_null());
    let mut kinds: Vec<&str> = record.json["certificates"]
        .as_array()
        .expect("certificates")
        .iter()
        .filter(|c| c["status"] == "good")
        .filter_map(|c| c["kind"].as_str())
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["auth", "sign"]);
    // For card issuance the number is shown.
    let shown = seen.keep(
        app.get(
            &format!("/api/v1/window/residents/{hanako}?purpose=card_issuance"),
            &chiyoda,
        )
        .await
        .expect(StatusCode::OK),
    );
    assert_eq!(shown.json["my_number"], number.as_str());

    // The lookup by number (in the body) finds her and is disclosed as such.
    let looked_up = seen.keep(
        app.call(
            Method::POST,
            "/api/v1/window/residents/lookup",
            &chiyoda,
            None,
            Some(json!({"my_number": number, "purpose": "identity_check"})),
        )
        .await
        .expect(StatusCode::OK),
    );
    assert_eq!(looked_up.json["resident_id"], hanako);
    assert!(looked_up.json["my_number"].is_null());
    let log = seen.keep(
        app.get(&format!("/api/v1/window/residents/{hanako}/disclosures"), &chiyoda)
            .await
            .expect(StatusCode::OK),
    );
    let entries = log.json["disclosures"].as_array().expect("entries");
    let purposes: Vec<&str> = entries.iter().filter_map(|e| e["purpose"].as_str()).collect();
    assert_eq!(purposes, ["card_service", "card_issuance", "identity_check"]);
    assert!(entries[2]["fields"]
        .as_array()
        .expect("fields")
        .contains(&json!("my_number")));
    assert!(entries.iter().all(|e| e["actor"] == "staff:chiyoda1"));

    let audit = seen.keep(
        app.get(&format!("/api/v1/window/residents/{hanako}/audit"), &chiyoda)
            .await
            .expect(StatusCode::OK),
    );
    let actions: Vec<&str> = audit.json["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["resident.register", "application.take", "card.produce", "card.deliver"]
    );
    assert!(!audit.text.contains(&number), "the audit trail holds no My Number");
    seen.assert_no_pin();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_holder_moves_out_and_in_elsewhere_keeping_the_card() {
    let app = TestApp::new("window-move", date(2026, 11, 29));
    let chiyoda = clerk(&app, "chiyoda1", CHIYODA).await;
    let sapporo = clerk(&app, "sapporo1", SAPPORO).await;
    let mut seen = Seen::default();
    let hanako = app.resident(CHIYODA, "番号　花子", &my_number("12345678901"), date(1985, 4, 1));
    let serial = app.issue_card(CHIYODA, hanako);

    // Not Sapporo's resident yet.
    let refused = app
        .post(
            &format!("/api/v1/window/residents/{hanako}/move-in"),
            &sapporo,
            json!({"moved_in_on": "2026-11-29", "new_address": "北海道札幌市中央区北1条西2丁目", "continued_use": false}),
        )
        .await;
    problem(&refused, StatusCode::CONFLICT, "no_move_out");

    let moved_out = seen.keep(
        app.post(
            &format!("/api/v1/window/residents/{hanako}/move-out"),
            &chiyoda,
            json!({"planned_move_out_on": "2026-11-29", "destination": SAPPORO}),
        )
        .await
        .expect(StatusCode::OK),
    );
    assert_eq!(moved_out.json["status"], "moved_out");
    assert_eq!(moved_out.json["move_in_due"], "2026-12-29");
    assert_eq!(
        moved_out.json["revoked"].as_array().expect("revoked").len(),
        1,
        "the signature certificate"
    );
    let list = seen.keep(
        app.get("/api/v1/window/worklist", &chiyoda)
            .await
            .expect(StatusCode::OK),
    );
    assert_eq!(list.json["lapse_watch"][0]["resident_id"], hanako);
    assert_eq!(list.json["lapse_watch"][0]["deadline"], "2026-12-29");

    // Still Chiyoda's record until the move-in: Sapporo may not read it.
    let other = app.get(&format!("/api/v1/window/residents/{hanako}"), &sapporo).await;
    problem(&other, StatusCode::FORBIDDEN, "forbidden");

    // At Sapporo's window, with the card: a wrong PIN is refused, then the right one.
    app.state.clock.set_day(date(2026, 12, 3));
    let move_in = |pin: &str| {
        json!({
            "moved_in_on": "2026-12-01",
            "new_address": "北海道札幌市中央区北1条西2丁目",
            "continued_use": true,
            "registry_pin": pin,
        })
    };
    let wrong = seen.keep(
        app.post(
            &format!("/api/v1/window/residents/{hanako}/move-in"),
            &sapporo,
            move_in("0000"),
        )
        .await,
    );
    problem(&wrong, StatusCode::CONFLICT, "wrong_pin");
    let moved_in = seen.keep(
        app.post(
            &format!("/api/v1/window/residents/{hanako}/move-in"),
            &sapporo,
            move_in("1234"),
        )
        .await
        .expect(StatusCode::OK),
    );
    assert_eq!(moved_in.json["municipality"], SAPPORO);
    assert_eq!(moved_in.json["card_serial"], serial.as_str());
    assert_eq!(moved_in.json["continued_use"], true);
    assert!(moved_in.json["surface_entry"].as_i64().is_some());
    assert!(moved_in.json["lapse"].is_null());
    assert!(!moved_in.text.contains("\"1234\""));

    // Now Sapporo's: Sapporo reads the record, Chiyoda no longer.
    let record = app
        .get(&format!("/api/v1/window/residents/{hanako}"), &sapporo)
        .await
        .expect(StatusCode::OK);
    assert_eq!(record.json["municipality"], SAPPORO);
    assert_eq!(record.json["cards"][0]["status"], "active");
    let gone = app.get(&format!("/api/v1/window/residents/{hanako}"), &chiyoda).await;
    problem(&gone, StatusCode::FORBIDDEN, "forbidden");
    seen.assert_no_pin();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_in_without_the_card_is_followed_by_its_continued_use() {
    let app = TestApp::new("window-continued", date(2026, 11, 29));
    let chiyoda = clerk(&app, "chiyoda1", CHIYODA).await;
    let sapporo = clerk(&app, "sapporo1", SAPPORO).await;
    let hanako = app.resident(CHIYODA, "番号　花子", &my_number("12345678901"), date(1985, 4, 1));
    app.issue_card(CHIYODA, hanako);
    app.state.clock.set_day(date(2027, 1, 10));
    app.post(
        &format!("/api/v1/window/residents/{hanako}/move-out"),
        &chiyoda,
        json!({"planned_move_out_on": "2027-01-10", "destination": SAPPORO}),
    )
    .await
    .expect(StatusCode::OK);
    // Moved in on 01-14, notified on 01-15 without the card.
    app.state.clock.set_day(date(2027, 1, 15));
    // A PIN without the card's continued use is refused at the edge.
    let stray = app
        .post(
            &format!("/api/v1/window/residents/{hanako}/move-in"),
            &sapporo,
            json!({"moved_in_on": "2027-01-14", "new_address": "北海道札幌市北区", "continued_use": false, "registry_pin": "1234"}),
        )
        .await;
    problem(&stray, StatusCode::BAD_REQUEST, "invalid_field");
    let moved_in = app
        .post(
            &format!("/api/v1/window/residents/{hanako}/move-in"),
            &sapporo,
            json!({"moved_in_on": "2027-01-14", "new_address": "北海道札幌市北区", "continued_use": false}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        day(&moved_in.json["card_update_due"]),
        date(2027, 4, 15),
        "90 days after the notification"
    );
    assert!(moved_in.json["surface_entry"].is_null());
    let list = app
        .get("/api/v1/window/worklist", &chiyoda)
        .await
        .expect(StatusCode::OK);
    assert!(
        list.json["lapse_watch"].as_array().expect("list").is_empty(),
        "moved in"
    );

    app.state.clock.set_day(date(2027, 3, 1));

    let continued = app
        .post(
            &format!("/api/v1/window/residents/{hanako}/continued-use"),
            &sapporo,
            json!({"registry_pin": "1234"}),
        )
        .await
        .expect(StatusCode::OK);
    assert!(continued.json["surface_entry"].as_i64().is_some());
    // Done once: a second continued use has nothing to update.
    let again = app
        .post(
            &format!("/api/v1/window/residents/{hanako}/continued-use"),
            &sapporo,
            json!({"registry_pin": "1234"}),
        )
        .await;
    problem(&again, StatusCode::CONFLICT, "no_update_due");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_card_is_reported_reissued_with_a_fee_and_receipt_and_delivered() {
    let app = TestApp::new("window-reissue", date(2026, 11, 29));
    let chiyoda = clerk(&app, "chiyoda1", CHIYODA).await;
    let mut seen = Seen::default();
    let hanako = app.resident(CHIYODA, "番号　花子", &my_number("12345678901"), date(1985, 4, 1));
    let old = app.issue_card(CHIYODA, hanako);

    let note_with_number = app
        .post(
            &format!("/api/v1/window/cards/{old}/loss-report"),
            &chiyoda,
            json!({"cause": "loss", "note": format!("番号 {}", my_number("12345678901"))}),
        )
        .await;
    problem(&note_with_number, StatusCode::BAD_REQUEST, "invalid_field");
    let suspended = seen.keep(
        app.post(
            &format!("/api/v1/window/cards/{old}/loss-report"),
            &chiyoda,
            json!({"cause": "loss", "note": "財布ごと紛失"}),
        )
        .await
        .expect(StatusCode::OK),
    );
    assert_eq!(suspended.json["card_serial"], old.as_str());
    assert_eq!(suspended.json["held"].as_array().expect("held").len(), 2);

    // Loss needs the police receipt number.
    let no_evidence = app
        .post(
            &format!("/api/v1/window/residents/{hanako}/reissue"),
            &chiyoda,
            json!({"cause": "loss", "with_certificates": true}),
        )
        .await;
    problem(&no_evidence, StatusCode::CONFLICT, "evidence_missing");
    let reissued = seen.keep(
        app.post(
            &format!("/api/v1/window/residents/{hanako}/reissue"),
            &chiyoda,
            json!({
                "cause": "loss",
                "evidence": {"police_receipt_number": "警視庁第2026-001234号"},
                "with_certificates": true,
            }),
        )
        .await
        .expect(StatusCode::CREATED),
    );
    assert_eq!(reissued.json["fee_yen"], 1000);
    assert_eq!(reissued.json["fee_reason"], "reissue_with_certificates");
    let receipt = reissued.json["receipt_number"].as_str().expect("a receipt");
    assert!(receipt.starts_with(&format!("{CHIYODA}-20261129-")), "{receipt}");
    assert_eq!(reissued.json["invalidated_card"], old.as_str());
    assert_eq!(reissued.json["loss_report_id"], suspended.json["loss_report_id"]);
    let application_id = reissued.json["application_id"].clone();
    let list = app
        .get("/api/v1/window/worklist", &chiyoda)
        .await
        .expect(StatusCode::OK);
    assert_eq!(list.json["in_production"][0]["application_id"], application_id);
    assert_eq!(list.json["in_production"][0]["kind"], "reissue");

    assert_eq!(produce(&app), 1);
    let list = app
        .get("/api/v1/window/worklist", &chiyoda)
        .await
        .expect(StatusCode::OK);
    let new = list.json["awaiting_delivery"][0]["card_serial"]
        .as_str()
        .expect("serial")
        .to_owned();
    assert_ne!(new, old);
    let delivered = seen.keep(
        app.post(
            &format!("/api/v1/window/cards/{new}/delivery"),
            &chiyoda,
            json!({"pins": pins()}),
        )
        .await
        .expect(StatusCode::OK),
    );
    assert_eq!(delivered.json["card_serial"], new.as_str());
    let record = app
        .get(&format!("/api/v1/window/residents/{hanako}"), &chiyoda)
        .await
        .expect(StatusCode::OK);
    let status = |serial: &str| {
        record.json["cards"]
            .as_array()
            .expect("cards")
            .iter()
            .find(|c| c["serial"] == serial)
            .map(|c| c["status"].clone())
    };
    assert_eq!(status(&old), Some(json!("invalid")));
    assert_eq!(status(&new), Some(json!("active")));
    seen.assert_no_pin();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suspended_card_is_found_and_later_returned() {
    let app = TestApp::new("window-found", date(2026, 11, 29));
    let chiyoda = clerk(&app, "chiyoda1", CHIYODA).await;
    let hanako = app.resident(CHIYODA, "番号　花子", &my_number("12345678901"), date(1985, 4, 1));
    let serial = app.issue_card(CHIYODA, hanako);
    let not_lost = post_empty(&app, &format!("/api/v1/window/cards/{serial}/found"), &chiyoda).await;
    problem(&not_lost, StatusCode::CONFLICT, "card_not_suspended");
    let suspended = app
        .post(
            &format!("/api/v1/window/cards/{serial}/loss-report"),
            &chiyoda,
            json!({"cause": "theft", "channel": "police"}),
        )
        .await
        .expect(StatusCode::OK);
    let found = post_empty(&app, &format!("/api/v1/window/cards/{serial}/found"), &chiyoda)
        .await
        .expect(StatusCode::OK);
    assert_eq!(found.json["card_serial"], serial.as_str());
    assert_eq!(
        found.json["revoked"], suspended.json["held"],
        "a hold is never released"
    );
    assert_eq!(found.json["new_certificates"].as_array().expect("new").len(), 2);
    assert_eq!(found.json["loss_reports"][0], suspended.json["loss_report_id"]);

    let returned = post_empty(&app, &format!("/api/v1/window/cards/{serial}/return"), &chiyoda)
        .await
        .expect(StatusCode::OK);
    assert_eq!(returned.json["returned_on"], "2026-11-29");
    assert_eq!(returned.json["revoked"].as_array().expect("revoked").len(), 2);
    let again = post_empty(&app, &format!("/api/v1/window/cards/{serial}/return"), &chiyoda).await;
    problem(&again, StatusCode::CONFLICT, "card_not_in_use");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pin_is_reset_at_the_window_and_never_answered() {
    let app = TestApp::new("window-pin", date(2026, 11, 29));
    let chiyoda = clerk(&app, "chiyoda1", CHIYODA).await;
    let mut seen = Seen::default();
    let hanako = app.resident(CHIYODA, "番号　花子", &my_number("12345678901"), date(1985, 4, 1));
    let serial = app.issue_card(CHIYODA, hanako);
    let reset = seen.keep(
        app.post(
            &format!("/api/v1/window/cards/{serial}/pin-reset"),
            &chiyoda,
            json!({"kind": "auth", "new_pin": AUTH_PIN}),
        )
        .await
        .expect(StatusCode::OK),
    );
    assert_eq!(reset.json, json!({"card_serial": serial, "kind": "auth", "tries": 3}));
    let sign = seen.keep(
        app.post(
            &format!("/api/v1/window/cards/{serial}/pin-reset"),
            &chiyoda,
            json!({"kind": "sign", "new_pin": SIGN_PIN}),
        )
        .await
        .expect(StatusCode::OK),
    );
    assert_eq!(sign.json["tries"], 5);
    // The new registry PIN is the one the card now verifies (a move-in would use it).
    // A PIN not of its format: refused naming the field, not quoting the PIN.
    let bad = seen.keep(
        app.post(
            &format!("/api/v1/window/cards/{serial}/pin-reset"),
            &chiyoda,
            json!({"kind": "sign", "new_pin": "qz7391x"}),
        )
        .await,
    );
    problem(&bad, StatusCode::BAD_REQUEST, "invalid_field");
    assert_eq!(bad.json["errors"][0]["field"], "new_pin");
    assert!(!bad.text.contains("qz7391x"));
    let number = seen.keep(
        app.post(
            &format!("/api/v1/window/cards/{serial}/pin-reset"),
            &chiyoda,
            json!({"kind": "auth", "new_pin": 4817}),
        )
        .await,
    );
    problem(&number, StatusCode::BAD_REQUEST, "bad_request");
    assert!(!number.text.contains(AUTH_PIN), "{}", number.text);
    let audit = seen.keep(
        app.get(&format!("/api/v1/window/residents/{hanako}/audit"), &chiyoda)
            .await
            .expect(StatusCode::OK),
    );
    assert!(audit.text.contains("pin.reset"));
    seen.assert_no_pin();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_becomes_a_face_recognition_card_and_a_pin_card_again() {
    let app = TestApp::new("window-face", date(2026, 11, 29));
    let chiyoda = clerk(&app, "chiyoda1", CHIYODA).await;
    let mut seen = Seen::default();
    let hanako = app.resident(CHIYODA, "番号　花子", &my_number("12345678901"), date(1985, 4, 1));
    let serial = app.issue_card(CHIYODA, hanako);
    let face = seen.keep(
        post_empty(
            &app,
            &format!("/api/v1/window/cards/{serial}/face-recognition"),
            &chiyoda,
        )
        .await
        .expect(StatusCode::OK),
    );
    assert_eq!(
        face.json["revoked"].as_array().expect("revoked").len(),
        1,
        "the signature certificate"
    );
    assert!(face.json["surface_entry"].as_i64().is_some());
    let record = app
        .get(&format!("/api/v1/window/residents/{hanako}"), &chiyoda)
        .await
        .expect(StatusCode::OK);
    assert_eq!(record.json["cards"][0]["face_recognition"], true);
    // A face-recognition card has no PIN to reset.
    let no_pin = app
        .post(
            &format!("/api/v1/window/cards/{serial}/pin-reset"),
            &chiyoda,
            json!({"kind": "auth", "new_pin": AUTH_PIN}),
        )
        .await;
    problem(&no_pin, StatusCode::CONFLICT, "face_card_no_pin");

    let back = seen.keep(
        app.post(
            &format!("/api/v1/window/cards/{serial}/pin-card"),
            &chiyoda,
            json!({"pins": pins()}),
        )
        .await
        .expect(StatusCode::OK),
    );
    assert!(
        back.json["sign_certificate"]["serial"].as_str().is_some(),
        "{}",
        back.text
    );
    let record = app
        .get(&format!("/api/v1/window/residents/{hanako}"), &chiyoda)
        .await
        .expect(StatusCode::OK);
    assert_eq!(record.json["cards"][0]["face_recognition"], false);
    seen.assert_no_pin();
}

#[tokio::test(flavor = "multi_thread")]
async fn renewals_due_appear_in_the_work_list_when_the_clock_moves_and_are_renewed() {
    let app = TestApp::new("window-renewal", date(2026, 11, 29));
    let chiyoda = clerk(&app, "chiyoda1", CHIYODA).await;
    let hanako = app.resident(CHIYODA, "番号　花子", &my_number("12345678901"), date(1985, 4, 1));
    let serial = app.issue_card(CHIYODA, hanako);
    let list = app
        .get("/api/v1/window/worklist", &chiyoda)
        .await
        .expect(StatusCode::OK);
    assert!(list.json["renewals_due"].as_array().expect("list").is_empty());
    let too_early = post_empty(
        &app,
        &format!("/api/v1/window/cards/{serial}/certificate-renewal"),
        &chiyoda,
    )
    .await;
    problem(&too_early, StatusCode::CONFLICT, "renewal_window_not_open");

    let record = app
        .get(&format!("/api/v1/window/residents/{hanako}"), &chiyoda)
        .await
        .expect(StatusCode::OK);
    let not_after = day(&record.json["certificates"][0]["not_after"]);
    app.state.clock.set_day(not_after - chrono::Days::new(30));
    let list = app
        .get("/api/v1/window/worklist", &chiyoda)
        .await
        .expect(StatusCode::OK);
    let mut what: Vec<&str> = list.json["renewals_due"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["what"].as_str())
        .collect();
    what.sort_unstable();
    assert_eq!(what, ["auth_certificate", "sign_certificate"]);
    assert_eq!(list.json["renewals_due"][0]["card_serial"], serial.as_str());

    let renewed = post_empty(
        &app,
        &format!("/api/v1/window/cards/{serial}/certificate-renewal"),
        &chiyoda,
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(renewed.json["new_certificates"].as_array().expect("new").len(), 2);
    assert_eq!(renewed.json["superseded"].as_array().expect("old").len(), 2);
    let list = app
        .get("/api/v1/window/worklist", &chiyoda)
        .await
        .expect(StatusCode::OK);
    assert!(
        list.json["renewals_due"].as_array().expect("list").is_empty(),
        "{}",
        list.text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_of_the_record_end_with_a_death() {
    let app = TestApp::new("window-record", date(2026, 11, 29));
    let chiyoda = clerk(&app, "chiyoda1", CHIYODA).await;
    let hanako = app.resident(CHIYODA, "番号　花子", &my_number("12345678901"), date(1985, 4, 1));
    let serial = app.issue_card(CHIYODA, hanako);
    let moved = app
        .post(
            &format!("/api/v1/window/residents/{hanako}/move-within"),
            &chiyoda,
            json!({"new_address": "東京都千代田区丸の内1-1", "moved_on": "2026-11-28"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(moved.json["card_serial"], serial.as_str());
    assert_eq!(moved.json["revoked"].as_array().expect("revoked").len(), 1);
    let future = app
        .post(
            &format!("/api/v1/window/residents/{hanako}/move-within"),
            &chiyoda,
            json!({"new_address": "東京都千代田区丸の内1-2", "moved_on": "2026-12-28"}),
        )
        .await;
    problem(&future, StatusCode::BAD_REQUEST, "bad_request");
    let renamed = app
        .post(
            &format!("/api/v1/window/residents/{hanako}/name-change"),
            &chiyoda,
            json!({
                "new_name": "山田　花子",
                "new_name_kana": "ヤマダ　ハナコ",
                "changed_on": "2026-11-29",
                "reason": "marriage",
                "new_signature_certificate": true,
            }),
        )
        .await
        .expect(StatusCode::OK);
    assert!(
        renamed.json["new_sign_certificate"]["serial"].as_str().is_some(),
        "{}",
        renamed.text
    );
    let found = app
        .get("/api/v1/window/residents?name=%E5%B1%B1%E7%94%B0", &chiyoda)
        .await
        .expect(StatusCode::OK);
    assert_eq!(found.json["residents"][0]["resident_id"], hanako);
    assert_eq!(found.json["residents"][0]["address"], "東京都千代田区丸の内1-1");

    let died = app
        .post(
            &format!("/api/v1/window/residents/{hanako}/death"),
            &chiyoda,
            json!({"died_on": "2026-11-29"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(died.json["lapse"]["card_serial"], serial.as_str());
    assert!(!died.json["revoked"].as_array().expect("revoked").is_empty());
    // Gone from the residents; found among former ones.
    let residents = app
        .get("/api/v1/window/residents?birth_date=1985-04-01", &chiyoda)
        .await
        .expect(StatusCode::OK);
    assert!(residents.json["residents"].as_array().expect("list").is_empty());
    let former = app
        .get(
            "/api/v1/window/residents?birth_date=1985-04-01&include_former=true&limit=5",
            &chiyoda,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(former.json["residents"][0]["status"], "deceased");
    let apply = app
        .post(
            "/api/v1/window/applications",
            &chiyoda,
            json!({"resident_id": hanako, "signature_wanted": false}),
        )
        .await;
    problem(&apply, StatusCode::CONFLICT, "not_a_resident");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_residents_card_follows_the_extended_stay_and_a_departure_abroad() {
    let app = TestApp::new("window-foreign", date(2026, 11, 29));
    let chiyoda = clerk(&app, "chiyoda1", CHIYODA).await;
    let sapporo = clerk(&app, "sapporo1", SAPPORO).await;
    let mut body = register_body(&my_number("23456789012"), "SMITH　JOHN", "1990-06-15");
    body["nationality"] = json!("US");
    body["honseki"] = Value::Null;
    let with_honseki = app
        .post("/api/v1/window/residents", &chiyoda, {
            let mut b = body.clone();
            b["honseki"] = json!("東京都");
            b["stay_until"] = json!("2027-11-29");
            b
        })
        .await;
    problem(&with_honseki, StatusCode::BAD_REQUEST, "invalid_field");
    assert_eq!(with_honseki.json["errors"][0]["field"], "honseki");
    let no_stay = app.post("/api/v1/window/residents", &chiyoda, body.clone()).await;
    problem(&no_stay, StatusCode::BAD_REQUEST, "invalid_field");
    body["stay_until"] = json!("2027-11-29");
    let john = app
        .post("/api/v1/window/residents", &chiyoda, body)
        .await
        .expect(StatusCode::CREATED)
        .json["resident_id"]
        .as_i64()
        .expect("id");
    let serial = app.issue_card(CHIYODA, john);
    let record = app
        .get(&format!("/api/v1/window/residents/{john}"), &chiyoda)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        record.json["residence"],
        json!({"kind": "foreign_with_stay", "stay_until": "2027-11-29"})
    );
    assert_eq!(record.json["cards"][0]["expires_on"], "2027-11-29");

    let changed = app
        .post(
            &format!("/api/v1/window/residents/{john}/validity-change"),
            &chiyoda,
            json!({"new_stay_until": "2030-11-29"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(changed.json["card_serial"], serial.as_str());
    assert_eq!(changed.json["previous_expiry"], "2027-11-29");
    assert_eq!(changed.json["expires_on"], "2030-11-29");
    assert_eq!(changed.json["basis"], "end_of_stay");

    // 国外転出: both certificates revoked; back from abroad at another window.
    let abroad = app
        .post(
            &format!("/api/v1/window/residents/{john}/move-out"),
            &chiyoda,
            json!({"planned_move_out_on": "2026-11-29", "destination": "abroad"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(abroad.json["status"], "abroad");
    assert_eq!(abroad.json["revoked"].as_array().expect("revoked").len(), 2);
    app.state.clock.set_day(date(2027, 3, 1));
    let back = app
        .post(
            &format!("/api/v1/window/residents/{john}/move-in"),
            &sapporo,
            json!({"moved_in_on": "2027-03-01", "new_address": "北海道札幌市中央区", "continued_use": false}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(back.json["municipality"], SAPPORO);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_municipalitys_clerk_and_other_roles_are_refused() {
    let app = TestApp::new("window-scope", date(2026, 11, 29));
    let chiyoda = clerk(&app, "chiyoda1", CHIYODA).await;
    let sapporo = clerk(&app, "sapporo1", SAPPORO).await;
    let number = my_number("12345678901");
    let hanako = app.resident(CHIYODA, "番号　花子", &number, date(1985, 4, 1));
    let serial = app.issue_card(CHIYODA, hanako);

    for path in ["", "/disclosures", "/audit"] {
        let answer = app
            .get(&format!("/api/v1/window/residents/{hanako}{path}"), &sapporo)
            .await;
        problem(&answer, StatusCode::FORBIDDEN, "forbidden");
    }
    let move_out = app
        .post(
            &format!("/api/v1/window/residents/{hanako}/move-out"),
            &sapporo,
            json!({"planned_move_out_on": "2026-11-29", "destination": "abroad"}),
        )
        .await;
    problem(&move_out, StatusCode::FORBIDDEN, "forbidden");
    let reset = app
        .post(
            &format!("/api/v1/window/cards/{serial}/pin-reset"),
            &sapporo,
            json!({"kind": "auth", "new_pin": AUTH_PIN}),
        )
        .await;
    problem(&reset, StatusCode::FORBIDDEN, "forbidden");
    let apply = app
        .post(
            "/api/v1/window/applications",
            &sapporo,
            json!({"resident_id": hanako, "signature_wanted": true}),
        )
        .await;
    problem(&apply, StatusCode::FORBIDDEN, "forbidden");
    // A number registered elsewhere is answered like an unknown one.
    let lookup = app
        .call(
            Method::POST,
            "/api/v1/window/residents/lookup",
            &sapporo,
            None,
            Some(json!({"my_number": number})),
        )
        .await;
    problem(&lookup, StatusCode::NOT_FOUND, "not_found");
    assert!(!lookup.text.contains(&number));
    let search = app
        .get("/api/v1/window/residents?birth_date=1985-04-01", &sapporo)
        .await
        .expect(StatusCode::OK);
    assert!(search.json["residents"].as_array().expect("list").is_empty());
    // Nothing of that was recorded as a disclosure.
    let log = app
        .get(&format!("/api/v1/window/residents/{hanako}/disclosures"), &chiyoda)
        .await
        .expect(StatusCode::OK);
    assert!(log.json["disclosures"].as_array().expect("log").is_empty());

    // Other staff are not window staff.
    let hotline = app.login_as("hotline1", StaffRole::Hotline, None).await;
    problem(
        &app.get("/api/v1/window/worklist", &hotline).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let admin = app.login_as("admin1", StaffRole::Admin, None).await;
    problem(
        &app.post(
            "/api/v1/window/residents",
            &admin,
            register_body(&my_number("34567890123"), "管理　者", "1980-01-01"),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_session_no_csrf_token_and_no_idempotency_key_are_refused() {
    let app = TestApp::new("window-access", date(2026, 11, 29));
    let chiyoda = clerk(&app, "chiyoda1", CHIYODA).await;
    let body = register_body(&my_number("12345678901"), "番号　花子", "1985-04-01");

    problem(
        &app.get("/api/v1/window/worklist", &As::nobody()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    problem(
        &app.post("/api/v1/window/residents", &As::nobody(), body.clone()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let no_csrf = As {
        csrf: None,
        ..chiyoda.clone()
    };
    problem(
        &app.post("/api/v1/window/residents", &no_csrf, body.clone()).await,
        StatusCode::FORBIDDEN,
        "csrf",
    );
    let wrong_csrf = As {
        csrf: Some("not-the-token".into()),
        ..chiyoda.clone()
    };
    problem(
        &app.call(
            Method::POST,
            "/api/v1/window/residents/lookup",
            &wrong_csrf,
            None,
            Some(json!({"my_number": my_number("12345678901")})),
        )
        .await,
        StatusCode::FORBIDDEN,
        "csrf",
    );
    let no_key = app
        .call(
            Method::POST,
            "/api/v1/window/residents",
            &chiyoda,
            None,
            Some(body.clone()),
        )
        .await;
    problem(&no_key, StatusCode::BAD_REQUEST, "idempotency_key_required");
    let bad_key = app
        .call(
            Method::POST,
            "/api/v1/window/residents",
            &chiyoda,
            Some("a key with spaces"),
            Some(body.clone()),
        )
        .await;
    problem(&bad_key, StatusCode::BAD_REQUEST, "invalid_idempotency_key");
    // None of these registered anyone.
    let search = app
        .get("/api/v1/window/residents?birth_date=1985-04-01", &chiyoda)
        .await
        .expect(StatusCode::OK);
    assert!(search.json["residents"].as_array().expect("list").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotency_key_acts_once_per_clerk_and_refuses_another_request() {
    let app = TestApp::new("window-idempotency", date(2026, 11, 29));
    let chiyoda = clerk(&app, "chiyoda1", CHIYODA).await;
    let colleague = clerk(&app, "chiyoda2", CHIYODA).await;
    let body = register_body(&my_number("12345678901"), "番号　花子", "1985-04-01");
    let first = app
        .call(
            Method::POST,
            "/api/v1/window/residents",
            &chiyoda,
            Some("reg-1"),
            Some(body.clone()),
        )
        .await
        .expect(StatusCode::CREATED);
    let again = app
        .call(
            Method::POST,
            "/api/v1/window/residents",
            &chiyoda,
            Some("reg-1"),
            Some(body.clone()),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(again.json, first.json, "the same answer");
    let search = app
        .get("/api/v1/window/residents?birth_date=1985-04-01", &chiyoda)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        search.json["residents"].as_array().expect("list").len(),
        1,
        "one effect"
    );

    let mut other = body.clone();
    other["name"] = json!("番号　太郎");
    let reused = app
        .call(
            Method::POST,
            "/api/v1/window/residents",
            &chiyoda,
            Some("reg-1"),
            Some(other),
        )
        .await;
    problem(&reused, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");

    // Another clerk's key of the same text is another key.
    let taro = register_body(&my_number("23456789012"), "番号　太郎", "1987-05-05");
    let theirs = app
        .call(
            Method::POST,
            "/api/v1/window/residents",
            &colleague,
            Some("reg-1"),
            Some(taro),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_ne!(theirs.json["resident_id"], first.json["resident_id"]);

    // A delivery retried with the same key answers the first delivery.
    let hanako = first.json["resident_id"].as_i64().expect("id");
    app.post(
        "/api/v1/window/applications",
        &chiyoda,
        json!({"resident_id": hanako, "signature_wanted": false}),
    )
    .await
    .expect(StatusCode::CREATED);
    produce(&app);
    let list = app
        .get("/api/v1/window/worklist", &chiyoda)
        .await
        .expect(StatusCode::OK);
    let serial = list.json["awaiting_delivery"][0]["card_serial"]
        .as_str()
        .expect("serial")
        .to_owned();
    let path = format!("/api/v1/window/cards/{serial}/delivery");
    let delivery = json!({"pins": {"auth": AUTH_PIN, "input_support": INPUT_PIN, "registry": REGISTRY_PIN}});
    let delivered = app
        .call(Method::POST, &path, &chiyoda, Some("deliver-1"), Some(delivery.clone()))
        .await
        .expect(StatusCode::OK);
    let retried = app
        .call(Method::POST, &path, &chiyoda, Some("deliver-1"), Some(delivery.clone()))
        .await
        .expect(StatusCode::OK);
    assert_eq!(retried.json, delivered.json);
    let twice = app.post(&path, &chiyoda, delivery).await;
    problem(&twice, StatusCode::CONFLICT, "card_not_produced");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_are_refused_with_problems_naming_what_is_wrong() {
    let app = TestApp::new("window-malformed", date(2026, 11, 29));
    let chiyoda = clerk(&app, "chiyoda1", CHIYODA).await;
    let number = my_number("12345678901");
    let hanako = app.resident(CHIYODA, "番号　花子", &number, date(1985, 4, 1));
    let serial = app.issue_card(CHIYODA, hanako);

    let malformed = raw_post(
        &app,
        "/api/v1/window/residents",
        &chiyoda,
        Some("application/json"),
        "{\"name\": ",
    )
    .await;
    problem(&malformed, StatusCode::BAD_REQUEST, "bad_request");
    let no_type = raw_post(&app, "/api/v1/window/residents", &chiyoda, None, "{}").await;
    problem(&no_type, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");

    let mut unknown = register_body(&my_number("23456789012"), "番号　太郎", "1987-05-05");
    unknown["favourite_colour"] = json!("blue");
    let answer = app.post("/api/v1/window/residents", &chiyoda, unknown).await;
    problem(&answer, StatusCode::BAD_REQUEST, "bad_request");
    assert!(answer.text.contains("favourite_colour"), "{}", answer.text);

    let cases = [
        ("birth_date", json!("1987-02-30")),
        ("birth_date", json!("2027-01-01")),
        ("my_number", json!("123456789012")),
        ("nationality", json!("jp")),
        ("name", json!("番号\u{0}太郎")),
        ("name", json!("あ".repeat(101))),
        ("address", json!("  ")),
    ];
    for (field, value) in cases {
        let mut body = register_body(&my_number("23456789012"), "番号　太郎", "1987-05-05");
        body[field] = value.clone();
        let answer = app.post("/api/v1/window/residents", &chiyoda, body).await;
        problem(&answer, StatusCode::BAD_REQUEST, "invalid_field");
        assert_eq!(answer.json["errors"][0]["field"], field, "{value}: {}", answer.text);
    }
    let bad_number = app
        .post(
            "/api/v1/window/residents",
            &chiyoda,
            register_body("123456789012", "番号　太郎", "1987-05-05"),
        )
        .await;
    assert!(!bad_number.text.contains("123456789012"), "{}", bad_number.text);

    // Paths: not an id, not a serial; well-formed but unknown.
    for path in [
        "/api/v1/window/residents/abc".to_owned(),
        "/api/v1/window/residents/0".to_owned(),
        "/api/v1/window/residents/99999999999999999999999".to_owned(),
    ] {
        problem(
            &app.get(&path, &chiyoda).await,
            StatusCode::BAD_REQUEST,
            "invalid_field",
        );
    }
    problem(
        &app.get("/api/v1/window/residents/424242", &chiyoda).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    problem(
        &post_empty(&app, "/api/v1/window/cards/..%2F..%2Fx/return", &chiyoda).await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
    );
    problem(
        &post_empty(&app, "/api/v1/window/cards/4D4E000000000000/return", &chiyoda).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // Lower-case hex is the same card.
    let lower = serial.to_ascii_lowercase();
    let record = app
        .post(
            &format!("/api/v1/window/cards/{lower}/loss-report"),
            &chiyoda,
            json!({"cause": "loss"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(record.json["card_serial"], serial.as_str());

    // Queries.
    for query in [
        "",
        "?name=%20%20",
        "?limit=0&name=a",
        "?limit=201&name=a",
        "?limit=x&name=a",
        "?birth_date=1985-13-01",
        "?name=a&colour=blue",
        "?name=a%00b",
        "?name=a&name=b",
        "?name=a&include_former=",
        "?name=a&include_former=yes",
        "?name=a&limit=",
    ] {
        let answer = app.get(&format!("/api/v1/window/residents{query}"), &chiyoda).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}: {}", answer.text);
        assert_eq!(answer.headers["content-type"], "application/problem+json");
    }
    problem(
        &app.get(&format!("/api/v1/window/residents/{hanako}?purpose=self"), &chiyoda)
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
    );
    for query in ["?purpose=", "?purpose=tax&purpose=tax", "?purpose=tax&x=1"] {
        let answer = app
            .get(&format!("/api/v1/window/residents/{hanako}{query}"), &chiyoda)
            .await;
        problem(&answer, StatusCode::BAD_REQUEST, "invalid_field");
    }

    // Bodies of the other operations.
    let id_path = |op: &str| format!("/api/v1/window/residents/{hanako}/{op}");
    let refusals = [
        (
            id_path("move-out"),
            json!({"planned_move_out_on": "2026-11-29", "destination": "131017"}),
            "destination",
        ),
        (
            id_path("move-out"),
            json!({"planned_move_out_on": "9999-01-01", "destination": "abroad"}),
            "planned_move_out_on",
        ),
        (id_path("death"), json!({"died_on": "29/11/2026"}), "died_on"),
        (
            id_path("validity-change"),
            json!({"new_stay_until": ""}),
            "new_stay_until",
        ),
        (
            id_path("reissue"),
            json!({"cause": "damage", "evidence": {"police_receipt_number": "a\u{7}"}, "with_certificates": false}),
            "evidence.police_receipt_number",
        ),
        (
            "/api/v1/window/applications".to_owned(),
            json!({"resident_id": 0, "signature_wanted": true}),
            "resident_id",
        ),
        (
            format!("/api/v1/window/cards/{serial}/delivery"),
            json!({"pins": {"auth": "12345"}}),
            "pins.auth",
        ),
        (
            format!("/api/v1/window/cards/{serial}/pin-card"),
            json!({"pins": {"sign": "ABCDEF"}}),
            "pins.sign",
        ),
    ];
    for (path, body, field) in refusals {
        let answer = app.post(&path, &chiyoda, body).await;
        problem(&answer, StatusCode::BAD_REQUEST, "invalid_field");
        assert_eq!(answer.json["errors"][0]["field"], field, "{path}: {}", answer.text);
    }
    let reissue_kind = app
        .post(
            "/api/v1/window/applications",
            &chiyoda,
            json!({"resident_id": hanako, "kind": "reissue", "signature_wanted": true}),
        )
        .await;
    problem(&reissue_kind, StatusCode::BAD_REQUEST, "bad_request");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rules_refuse_with_the_authoritys_code() {
    let app = TestApp::new("window-rules", date(2026, 11, 29));
    let chiyoda = clerk(&app, "chiyoda1", CHIYODA).await;
    let hanako = app.resident(CHIYODA, "番号　花子", &my_number("12345678901"), date(1985, 4, 1));
    app.issue_card(CHIYODA, hanako);
    let apply = app
        .post(
            "/api/v1/window/applications",
            &chiyoda,
            json!({"resident_id": hanako, "signature_wanted": true}),
        )
        .await;
    problem(&apply, StatusCode::CONFLICT, "card_in_use");
    assert!(apply.json["detail"].as_str().expect("detail").contains("renewal"));
    let face_with_signature = app
        .post(
            "/api/v1/window/applications",
            &chiyoda,
            json!({"resident_id": hanako, "kind": "renewal", "face_recognition": true, "signature_wanted": true}),
        )
        .await;
    problem(&face_with_signature, StatusCode::CONFLICT, "face_card_no_signature");
    let same_town = app
        .post(
            &format!("/api/v1/window/residents/{hanako}/move-out"),
            &chiyoda,
            json!({"planned_move_out_on": "2026-11-29", "destination": CHIYODA}),
        )
        .await;
    problem(&same_town, StatusCode::BAD_REQUEST, "bad_request");
    let registered_twice = app
        .post(
            "/api/v1/window/residents",
            &chiyoda,
            register_body(&my_number("12345678901"), "番号　花子", "1985-04-01"),
        )
        .await;
    problem(&registered_twice, StatusCode::CONFLICT, "conflict");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_describes_every_window_route() {
    let app = TestApp::new("window-openapi", date(2026, 11, 29));
    let doc = app
        .get("/openapi.json", &As::nobody())
        .await
        .expect(StatusCode::OK)
        .json;
    let paths = doc["paths"].as_object().expect("paths");
    let window: Vec<(&String, &Value)> = paths.iter().filter(|(p, _)| p.starts_with("/api/v1/window/")).collect();
    assert_eq!(
        window.len(),
        23,
        "{:?}",
        window.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    let mut operations = 0;
    let mut ids = std::collections::HashSet::new();
    for (path, item) in &window {
        for (method, op) in item.as_object().expect("item") {
            operations += 1;
            assert_eq!(op["tags"], json!(["window"]), "{method} {path}");
            assert_eq!(op["security"], json!([{"session": []}]), "{method} {path}");
            let id = op["operationId"].as_str().expect("operationId");
            assert!(id.starts_with("window_") && ids.insert(id.to_owned()), "{id}");
            let responses = op["responses"].as_object().expect("responses");
            for status in ["401", "403"] {
                assert!(
                    responses[status]["content"]["application/problem+json"]["schema"]["$ref"]
                        == "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
            }
            let headers: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "header" && p["required"] == true)
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            match method.as_str() {
                "get" => assert!(headers.is_empty(), "{path}"),
                "post" if path.ends_with("/lookup") => assert_eq!(headers, ["X-CSRF-Token"]),
                "post" => {
                    assert_eq!(headers, ["Idempotency-Key", "X-CSRF-Token"], "{path}");
                    assert!(responses.contains_key("409") && responses.contains_key("422"), "{path}");
                }
                other => panic!("{other} {path}"),
            }
        }
    }
    assert_eq!(operations, 24);
    // Every schema the window's paths name exists.
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let mut pending: Vec<Value> = window.iter().map(|(_, v)| (*v).clone()).collect();
    let mut seen = std::collections::HashSet::new();
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    let name = r.strip_prefix("#/components/schemas/").expect("a schema ref");
                    let schema = schemas.get(name).unwrap_or_else(|| panic!("no schema {name}"));
                    if seen.insert(name.to_owned()) {
                        pending.push(schema.clone());
                    }
                }
                pending.extend(map.into_iter().map(|(_, v)| v));
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    assert!(seen.contains("window.Pin") && seen.contains("window.Worklist"));
    // PINs are write-only and never a response schema.
    assert_eq!(schemas["window.Pin"]["writeOnly"], true);
}

/// On PostgreSQL: the registry's client blocks on a runtime of its own, so
/// the harness's direct calls (accounts, the production line, the clean-up)
/// run on this plain thread and only the HTTP calls on the server's runtime.
#[test]
fn the_journey_runs_on_postgresql() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let app = TestApp::on(Backend::Postgres, "window-pg", date(2026, 11, 29));
    app.staff("chiyoda1", StaffRole::Window, Some(CHIYODA));
    app.staff("sapporo1", StaffRole::Window, Some(SAPPORO));
    let mut seen = Seen::default();
    let (chiyoda, sapporo, hanako) = runtime.block_on(async {
        let chiyoda = app.login("chiyoda1", PASSWORD).await;
        let sapporo = app.login("sapporo1", PASSWORD).await;
        let hanako = register(&app, &chiyoda, &my_number("12345678901"), "番号　花子", "1985-04-01").await;
        seen.keep(
            app.post(
                "/api/v1/window/applications",
                &chiyoda,
                json!({"resident_id": hanako, "signature_wanted": true}),
            )
            .await
            .expect(StatusCode::CREATED),
        );
        (chiyoda, sapporo, hanako)
    });
    assert_eq!(produce(&app), 1);
    runtime.block_on(async {
        let list = app
            .get("/api/v1/window/worklist", &chiyoda)
            .await
            .expect(StatusCode::OK);
        let serial = list.json["awaiting_delivery"][0]["card_serial"]
            .as_str()
            .expect("serial")
            .to_owned();
        seen.keep(
            app.post(
                &format!("/api/v1/window/cards/{serial}/delivery"),
                &chiyoda,
                json!({"pins": pins()}),
            )
            .await
            .expect(StatusCode::OK),
        );
        seen.keep(
            app.post(
                &format!("/api/v1/window/residents/{hanako}/move-out"),
                &chiyoda,
                json!({"planned_move_out_on": "2026-11-29", "destination": SAPPORO}),
            )
            .await
            .expect(StatusCode::OK),
        );
        app.state.clock.set_day(date(2026, 12, 3));
        let moved_in = seen.keep(
            app.post(
                &format!("/api/v1/window/residents/{hanako}/move-in"),
                &sapporo,
                json!({
                    "moved_in_on": "2026-12-02",
                    "new_address": "北海道札幌市中央区北1条西2丁目",
                    "continued_use": true,
                    "registry_pin": REGISTRY_PIN,
                }),
            )
            .await
            .expect(StatusCode::OK),
        );
        assert_eq!(moved_in.json["card_serial"], serial.as_str());
        // Text PostgreSQL would refuse never reaches it.
        let nul = app
            .post(
                &format!("/api/v1/window/residents/{hanako}/move-within"),
                &sapporo,
                json!({"new_address": "札幌\u{0}市", "moved_on": "2026-12-03"}),
            )
            .await;
        problem(&nul, StatusCode::BAD_REQUEST, "invalid_field");
        let audit = seen.keep(
            app.get(&format!("/api/v1/window/residents/{hanako}/audit"), &sapporo)
                .await
                .expect(StatusCode::OK),
        );
        let actions: Vec<&str> = audit.json["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert_eq!(
            actions,
            [
                "resident.register",
                "application.take",
                "card.produce",
                "card.deliver",
                "resident.move_out",
                "resident.move_in"
            ]
        );
    });
    seen.assert_no_pin();
}

/// Values a fuzzer would try in any field: wrong types, edge numbers,
/// control characters, long and odd text, edge dates, codes and PINs.
fn any_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop_oneof![Just(0i64), Just(-1), Just(1), Just(i64::MAX), Just(i64::MIN)].prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,24}".prop_map(Value::from),
        "[\\x00-\\x1f\\x7f]{1,3}".prop_map(Value::from),
        "[0-9]{1,14}".prop_map(Value::from),
        (1usize..3000).prop_map(|n| Value::from("あ".repeat(n))),
        prop_oneof![
            Just("1800-01-01"),
            Just("2199-12-31"),
            Just("2026-11-29"),
            Just("2026-02-29"),
            Just("0000-00-00"),
            Just("2026-11-29T10:00:00Z"),
            Just("abroad"),
            Just("011002"),
            Just("131016"),
            Just("1234"),
            Just("ABC123"),
            Just("auth"),
            Just("sign"),
            Just("loss"),
            Just("renewal"),
            Just("marriage"),
        ]
        .prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
        Just(json!({"auth": "1234", "extra": 1})),
    ]
}

#[test]
fn random_requests_get_a_problem_or_an_answer_never_a_server_error() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let app = TestApp::new("window-fuzz", date(2026, 11, 29));
    let hanako = app.resident(CHIYODA, "番号　花子", &my_number("12345678901"), date(1985, 4, 1));
    let serial = app.issue_card(CHIYODA, hanako);
    let foreign = {
        let id = app.resident(CHIYODA, "番号　太郎", &my_number("23456789012"), date(1990, 6, 15));
        app.issue_card(CHIYODA, id);
        id
    };
    let chiyoda = runtime.block_on(clerk(&app, "chiyoda1", CHIYODA));
    let ids = vec![
        hanako.to_string(),
        foreign.to_string(),
        "0".into(),
        "-5".into(),
        "abc".into(),
        "1e3".into(),
        "99999999999999999999".into(),
        "424242".into(),
    ];
    let serials: [String; 6] = [
        serial.clone(),
        serial.to_ascii_lowercase(),
        "4D4E000000000000".into(),
        "ZZ".into(),
        "%2e%2e".into(),
        "4D4E0000000000000000".into(),
    ];
    let routes: Vec<(&str, Value)> = vec![
        (
            "/api/v1/window/residents",
            register_body(&my_number("34567890123"), "番号　三郎", "1980-01-01"),
        ),
        (
            "/api/v1/window/residents/lookup",
            json!({"my_number": my_number("12345678901"), "purpose": "tax"}),
        ),
        (
            "/api/v1/window/applications",
            json!({"resident_id": hanako, "kind": "new", "channel": "window", "face_recognition": false, "signature_wanted": true}),
        ),
        (
            "/api/v1/window/residents/{id}/move-out",
            json!({"planned_move_out_on": "2026-11-29", "destination": SAPPORO, "abroad_with_continued_use": false}),
        ),
        (
            "/api/v1/window/residents/{id}/move-in",
            json!({"moved_in_on": "2026-11-29", "new_address": "北海道札幌市", "continued_use": true, "registry_pin": "1234", "new_signature_certificate": false}),
        ),
        (
            "/api/v1/window/residents/{id}/continued-use",
            json!({"registry_pin": "1234", "new_signature_certificate": true}),
        ),
        (
            "/api/v1/window/residents/{id}/move-within",
            json!({"new_address": "東京都千代田区1", "moved_on": "2026-11-29", "new_signature_certificate": true}),
        ),
        (
            "/api/v1/window/residents/{id}/name-change",
            json!({"new_name": "山田　花子", "new_name_kana": "ヤマダ", "changed_on": "2026-11-29", "reason": "marriage", "new_signature_certificate": true}),
        ),
        ("/api/v1/window/residents/{id}/death", json!({"died_on": "2026-11-29"})),
        (
            "/api/v1/window/residents/{id}/validity-change",
            json!({"new_stay_until": "2030-01-01", "applicant": "holder"}),
        ),
        (
            "/api/v1/window/residents/{id}/reissue",
            json!({"cause": "damage", "evidence": {"damaged_card_returned": true}, "not_holders_fault": null, "with_certificates": true}),
        ),
        ("/api/v1/window/cards/{serial}/delivery", json!({"pins": pins()})),
        (
            "/api/v1/window/cards/{serial}/pin-reset",
            json!({"kind": "auth", "new_pin": AUTH_PIN}),
        ),
        ("/api/v1/window/cards/{serial}/pin-card", json!({"pins": pins()})),
        (
            "/api/v1/window/cards/{serial}/loss-report",
            json!({"cause": "loss", "channel": "window", "note": "紛失"}),
        ),
        ("/api/v1/window/cards/{serial}/face-recognition", Value::Null),
        ("/api/v1/window/cards/{serial}/certificate-renewal", Value::Null),
        ("/api/v1/window/cards/{serial}/found", Value::Null),
        ("/api/v1/window/cards/{serial}/return", Value::Null),
    ];
    let strategy = (
        0..routes.len(),
        0..ids.len(),
        0..serials.len(),
        proptest::collection::vec((0usize..8, any_value()), 0..4),
        proptest::option::of(("[a-z_]{1,12}", any_value())),
        any::<bool>(),
    );
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(route, id, serial, changes, extra, drop_first)| {
            let (template, body) = &routes[route];
            let path = template.replace("{id}", &ids[id]).replace("{serial}", &serials[serial]);
            let body = match body.clone() {
                Value::Object(mut map) => {
                    let keys: Vec<String> = map.keys().cloned().collect();
                    if drop_first {
                        map.remove(&keys[0]);
                    }
                    for (which, value) in changes {
                        map.insert(keys[which % keys.len()].clone(), value);
                    }
                    if let Some((key, value)) = extra {
                        map.insert(key, value);
                    }
                    Some(Value::Object(map))
                }
                _ => None,
            };
            let sent = body.as_ref().map(Value::to_string).unwrap_or_default();
            let key = app.key();
            let answer = runtime.block_on(app.call(Method::POST, &path, &chiyoda, Some(&key), body));
            prop_assert!(answer.status.as_u16() < 500, "POST {path} {sent}: {}", answer.text);
            if !answer.status.is_success() {
                prop_assert_eq!(&answer.headers["content-type"], "application/problem+json");
            }
            // As a JSON string for the 4-digit PIN: hex serials may contain its digits.
            let echoed = answer.text.contains(&format!("\"{AUTH_PIN}\"")) || answer.text.contains(SIGN_PIN);
            prop_assert!(!echoed, "a PIN echoed: POST {} {}: {}", path, sent, answer.text);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    // The reads, with every kind of id and query.
    for id in &ids {
        for tail in [
            "",
            "/disclosures",
            "/audit",
            "?purpose=tax",
            "?purpose=self",
            "?purpose=",
        ] {
            let answer = runtime.block_on(app.get(&format!("/api/v1/window/residents/{id}{tail}"), &chiyoda));
            assert!(answer.status.as_u16() < 500, "{id}{tail}: {}", answer.text);
        }
    }
}
