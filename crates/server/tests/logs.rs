//! The structured log never carries a My Number, a PIN or a password
//! (services.md: "the My Number never appears in logs"), while it does
//! carry one line per request by route template.
//!
//! One test in its own binary: it installs the process-wide subscriber
//! (JSON lines, as `mynacard serve` writes them) into a buffer.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use mynacard_rules::numbers::MyNumber;
use mynacard_store::access::StaffRole;
use serde_json::json;
use support::*;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const AUTH_PIN: &str = "4817";
const SIGN_PIN: &str = "QZ7391WK";
const INPUT_PIN: &str = "5920";
const REGISTRY_PIN: &str = "6034";

#[tokio::test(flavor = "multi_thread")]
async fn a_whole_issuance_logs_routes_but_no_my_number_pin_or_password() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .init();

    let app = TestApp::new("logs", date(2026, 11, 29));
    let clerk = app.login_as("chiyoda.logs", StaffRole::Window, Some(CHIYODA)).await;
    // A failed login logs the attempt, never the password typed.
    app.call(
        Method::POST,
        "/api/v1/session",
        &As::nobody(),
        None,
        Some(json!({"login": "chiyoda.logs", "password": "wrong-password-Xq93"})),
    )
    .await
    .expect(StatusCode::UNAUTHORIZED);

    let number = MyNumber::complete("73926481055").expect("base").expose();
    let registered = app
        .post(
            "/api/v1/window/residents",
            &clerk,
            json!({
                "my_number": number, "name": "記録　花子", "name_kana": "キロク　ハナコ",
                "address": "東京都千代田区千代田1-1", "birth_date": "1990-04-01", "sex": "female",
                "nationality": "JP", "honseki": "東京都千代田区千代田1",
            }),
        )
        .await
        .expect(StatusCode::CREATED);
    let resident = registered.json["resident_id"].as_i64().expect("id");
    // The lookup by My Number (a disclosure) and a refused registration
    // with the same number (a conflict whose message could quote it).
    app.call(
        Method::POST,
        "/api/v1/window/residents/lookup",
        &clerk,
        None,
        Some(json!({"my_number": number, "purpose": "identity_check"})),
    )
    .await
    .expect(StatusCode::OK);
    let again = app
        .post(
            "/api/v1/window/residents",
            &clerk,
            json!({
                "my_number": number, "name": "記録　次郎", "name_kana": "キロク　ジロウ",
                "address": "東京都千代田区千代田1-2", "birth_date": "1991-04-01", "sex": "male",
                "nationality": "JP", "honseki": "東京都千代田区千代田1",
            }),
        )
        .await;
    assert!(again.status.is_client_error(), "{}", again.text);

    app.post(
        "/api/v1/window/applications",
        &clerk,
        json!({"resident_id": resident, "signature_wanted": true}),
    )
    .await
    .expect(StatusCode::CREATED);
    let made = mynacard_server::production::produce_waiting(&app.state.authority, &mut Default::default());
    assert_eq!(made.expect("production"), 1);
    let list = app.get("/api/v1/window/worklist", &clerk).await.expect(StatusCode::OK);
    let serial = list.json["awaiting_delivery"][0]["card_serial"]
        .as_str()
        .expect("serial")
        .to_owned();
    // A malformed PIN first (its error must not quote it), then the delivery.
    let bad = app
        .post(
            &format!("/api/v1/window/cards/{serial}/delivery"),
            &clerk,
            json!({"pins": {"auth": "48170", "sign": SIGN_PIN, "input_support": INPUT_PIN, "registry": REGISTRY_PIN}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    app.post(
        &format!("/api/v1/window/cards/{serial}/delivery"),
        &clerk,
        json!({"pins": {"auth": AUTH_PIN, "sign": SIGN_PIN, "input_support": INPUT_PIN, "registry": REGISTRY_PIN}}),
    )
    .await
    .expect(StatusCode::OK);
    app.get(&format!("/api/v1/window/residents/{resident}"), &clerk)
        .await
        .expect(StatusCode::OK);

    let log = String::from_utf8(buffer.0.lock().unwrap_or_else(|e| e.into_inner()).clone()).expect("utf-8");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let routes: Vec<&str> = lines.iter().filter_map(|l| l["route"].as_str()).collect();
    for route in [
        "/api/v1/session",
        "/api/v1/window/residents",
        "/api/v1/window/residents/lookup",
        "/api/v1/window/cards/{serial}/delivery",
        "/api/v1/window/residents/{id}",
    ] {
        assert!(routes.contains(&route), "no request line for {route} in {routes:?}");
    }
    assert!(
        lines.iter().any(|l| l["message"] == "card produced"),
        "the production line logs its cards"
    );
    // Every string the log carries (numbers such as durations left out: a
    // 4-digit PIN could appear among a timing's digits by chance).
    let mut text = String::new();
    for line in &lines {
        strings(line, &mut text);
    }
    assert!(text.contains("staff login refused"), "the failed login is logged");
    for secret in [
        number.as_str(),
        AUTH_PIN,
        "48170",
        SIGN_PIN,
        INPUT_PIN,
        REGISTRY_PIN,
        PASSWORD,
        "wrong-password-Xq93",
        &serial_free_digits(&number),
    ] {
        assert!(!text.contains(secret), "the log carries {secret:?}:\n{log}");
    }
}

fn strings(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push_str(k);
            out.push('\n');
            strings(v, out);
        }),
        _ => {}
    }
}

/// The My Number's digits grouped as people write them (4-4-4), in case a
/// message formats it.
fn serial_free_digits(number: &str) -> String {
    format!("{} {} {}", &number[0..4], &number[4..8], &number[8..12])
}
