//! The administrators' API: accounts that can log in and whose sessions
//! die when disabled, API keys that work as Bearer until revoked, the
//! nightly batch on demand, the demo clock only in demo mode, and the
//! first administrator of an empty system.

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use mynacard_server::app::{open_state, router, ServeConfig};
use mynacard_server::bootstrap::{ensure_initial_admin, INITIAL_ADMIN_PASSWORD_FILE};
use mynacard_store::access::StaffRole;
use mynacard_store::audit;
use serde_json::{json, Value};
use support::*;
use tower::ServiceExt;

const NEW_PASSWORD: &str = "a long enough password";

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

fn audit_actions(app: &TestApp) -> Vec<(String, String, String)> {
    sync(|| app.state.authority.db().read(|tx| audit::list(tx, 0, 10_000)))
        .expect("audit log")
        .into_iter()
        .map(|r| (r.actor, r.action, r.details))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_created_can_log_in_and_disabling_it_ends_its_session_on_sqlite() {
    let app = TestApp::new("admin-accounts", date(2026, 11, 29));
    an_account_created_can_log_in_and_disabling_it_ends_its_session(&app).await;
}

#[test]
fn an_account_created_can_log_in_and_disabling_it_ends_its_session_on_postgres() {
    let app = TestApp::on(Backend::Postgres, "admin-accounts", date(2026, 11, 29));
    runtime().block_on(an_account_created_can_log_in_and_disabling_it_ends_its_session(&app));
}

async fn an_account_created_can_log_in_and_disabling_it_ends_its_session(app: &TestApp) {
    let admin = login_as(app, "root", StaffRole::Admin, None).await;
    let body = json!({
        "login": "chiyoda2",
        "display_name": "千代田 二郎",
        "role": "window",
        "municipality": CHIYODA,
        "password": NEW_PASSWORD,
    });
    let key = app.key();
    let created = app
        .call(
            Method::POST,
            "/api/v1/admin/accounts",
            &admin,
            Some(&key),
            Some(body.clone()),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created.json["login"], "chiyoda2");
    assert_eq!(created.json["role"], "window");
    assert_eq!(created.json["municipality"], CHIYODA);
    assert_eq!(created.json["disabled"], false);
    assert!(!created.text.contains("argon2") && !created.text.contains(NEW_PASSWORD));
    let id = created.json["id"].as_i64().expect("id");

    // The same key and request: the same answer, no second account.
    let again = app
        .call(
            Method::POST,
            "/api/v1/admin/accounts",
            &admin,
            Some(&key),
            Some(body.clone()),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(again.json, created.json);
    // The same key with another request: refused.
    let mut other = body.clone();
    other["login"] = json!("chiyoda3");
    let reused = app
        .call(Method::POST, "/api/v1/admin/accounts", &admin, Some(&key), Some(other))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reused.code(), "idempotency_key_reused");
    // A new key with a login taken: 409.
    let taken = app
        .post("/api/v1/admin/accounts", &admin, body.clone())
        .await
        .expect(StatusCode::CONFLICT);
    assert_eq!(taken.code(), "login_taken");
    // No key at all: 400.
    let no_key = app
        .call(Method::POST, "/api/v1/admin/accounts", &admin, None, Some(body.clone()))
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert_eq!(no_key.code(), "idempotency_key_required");

    // The new clerk logs in and works at their window.
    let clerk = app.login("chiyoda2", NEW_PASSWORD).await;
    let me = app.get("/api/v1/session", &clerk).await.expect(StatusCode::OK);
    assert_eq!(me.json["municipality"], CHIYODA);

    let list = app.get("/api/v1/admin/accounts", &admin).await.expect(StatusCode::OK);
    let logins: Vec<&str> = list.json["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter_map(|a| a["login"].as_str())
        .collect();
    assert_eq!(logins, ["chiyoda2", "root"]);
    assert!(!list.text.contains("argon2"), "{}", list.text);

    // Disabling ends the session at once, and logging in is refused.
    let disabled = app
        .post(&format!("/api/v1/admin/accounts/{id}/disable"), &admin, json!(null))
        .await
        .expect(StatusCode::OK);
    assert_eq!(disabled.json["account"]["disabled"], true);
    assert_eq!(disabled.json["sessions_ended"], 1);
    let gone = app
        .get("/api/v1/session", &clerk)
        .await
        .expect(StatusCode::UNAUTHORIZED);
    assert_eq!(gone.headers["content-type"], "application/problem+json");
    let refused = app
        .call(
            Method::POST,
            "/api/v1/session",
            &As::nobody(),
            None,
            Some(json!({"login": "chiyoda2", "password": NEW_PASSWORD})),
        )
        .await
        .expect(StatusCode::UNAUTHORIZED);
    assert_eq!(refused.code(), "unauthenticated");

    // Enabled again, the clerk logs in again.
    let enabled = app
        .post(&format!("/api/v1/admin/accounts/{id}/enable"), &admin, json!(null))
        .await
        .expect(StatusCode::OK);
    assert_eq!(enabled.json["account"]["disabled"], false);
    app.login("chiyoda2", NEW_PASSWORD).await;

    // One's own account cannot be disabled; unknown ones are 404, bad ids 400.
    let me = app.get("/api/v1/session", &admin).await.expect(StatusCode::OK);
    let own = sync(|| {
        app.state
            .authority
            .db()
            .read(|tx| mynacard_store::access::staff_account_by_login(tx, "root"))
    })
    .expect("read")
    .expect("root");
    assert_eq!(me.json["login"], "root");
    let own = app
        .post(
            &format!("/api/v1/admin/accounts/{}/disable", own.id),
            &admin,
            json!(null),
        )
        .await
        .expect(StatusCode::CONFLICT);
    assert_eq!(own.code(), "own_account");
    app.post("/api/v1/admin/accounts/999999/disable", &admin, json!(null))
        .await
        .expect(StatusCode::NOT_FOUND);
    for bad in ["0", "-1", "x", "99999999999999999999"] {
        let answer = app
            .post(&format!("/api/v1/admin/accounts/{bad}/disable"), &admin, json!(null))
            .await
            .expect(StatusCode::BAD_REQUEST);
        assert_eq!(answer.headers["content-type"], "application/problem+json");
    }

    // Every change is in the audit log, by the administrator, without secrets.
    let entries = audit_actions(app);
    for action in ["staff.create", "staff.disable", "staff.enable"] {
        assert!(
            entries
                .iter()
                .any(|(actor, a, _)| a == action && actor == "system:admin:root"),
            "{action} not audited: {entries:?}"
        );
    }
    assert!(entries
        .iter()
        .all(|(_, _, details)| !details.contains("argon2") && !details.contains(NEW_PASSWORD)));
}

#[tokio::test(flavor = "multi_thread")]
async fn account_inputs_are_checked() {
    let app = TestApp::new("admin-account-inputs", date(2026, 11, 29));
    let admin = login_as(&app, "root", StaffRole::Admin, None).await;
    let good = json!({"login": "op1", "display_name": "Operator", "role": "hotline", "password": NEW_PASSWORD});
    let cases: Vec<(&str, Value)> = vec![
        ("password", json!({"password": "short"})),
        ("login", json!({"login": "Op 1"})),
        ("display_name", json!({"display_name": "  "})),
        ("display_name", json!({"display_name": "a\u{0}b"})),
        ("municipality", json!({"municipality": CHIYODA})),
        ("municipality", json!({"role": "window"})),
        ("municipality", json!({"role": "window", "municipality": "131017"})),
        // A valid code (大阪市) that is not in the registry.
        ("municipality", json!({"role": "window", "municipality": "271004"})),
    ];
    for (field, change) in cases {
        let mut body = good.clone();
        for (k, v) in change.as_object().expect("object") {
            body[k] = v.clone();
        }
        let answer = app
            .post("/api/v1/admin/accounts", &admin, body.clone())
            .await
            .expect(StatusCode::BAD_REQUEST);
        assert_eq!(answer.json["errors"][0]["field"], field, "{body}: {}", answer.text);
    }
    let unknown = app
        .post(
            "/api/v1/admin/accounts",
            &admin,
            json!({"login": "op1", "role": "hotline", "display_name": "x", "password": NEW_PASSWORD, "extra": 1}),
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert_eq!(unknown.code(), "bad_request");
    let role = app
        .post(
            "/api/v1/admin/accounts",
            &admin,
            json!({"login": "op1", "role": "root", "display_name": "x", "password": NEW_PASSWORD}),
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert_eq!(role.headers["content-type"], "application/problem+json");
    // Nothing was created.
    let list = app.get("/api/v1/admin/accounts", &admin).await.expect(StatusCode::OK);
    assert_eq!(list.json["accounts"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_key_works_as_bearer_until_revoked_on_sqlite() {
    let app = TestApp::new("admin-keys", date(2026, 11, 29));
    an_api_key_works_as_bearer_until_revoked(&app).await;
}

#[test]
fn an_api_key_works_as_bearer_until_revoked_on_postgres() {
    let app = TestApp::on(Backend::Postgres, "admin-keys", date(2026, 11, 29));
    runtime().block_on(an_api_key_works_as_bearer_until_revoked(&app));
}

async fn an_api_key_works_as_bearer_until_revoked(app: &TestApp) {
    let admin = login_as(app, "root", StaffRole::Admin, None).await;
    let key = app.key();
    let body = json!({"name": "etax-verifier", "kind": "relying_party"});
    let created = app
        .call(
            Method::POST,
            "/api/v1/admin/api-keys",
            &admin,
            Some(&key),
            Some(body.clone()),
        )
        .await
        .expect(StatusCode::CREATED);
    let secret = created.json["key"].as_str().expect("the key, once").to_owned();
    assert!(secret.starts_with("mnk_"));
    assert_eq!(created.json["api_key"]["kind"], "relying_party");
    assert!(secret.contains(created.json["api_key"]["prefix"].as_str().expect("prefix")));
    let id = created.json["api_key"]["id"].as_i64().expect("id");

    // A retry answers the record again, without the key.
    let again = app
        .call(
            Method::POST,
            "/api/v1/admin/api-keys",
            &admin,
            Some(&key),
            Some(body.clone()),
        )
        .await
        .expect(StatusCode::OK);
    assert!(again.json.get("key").is_none(), "{}", again.text);
    assert_eq!(again.json["api_key"], created.json["api_key"]);
    let taken = app
        .post("/api/v1/admin/api-keys", &admin, body.clone())
        .await
        .expect(StatusCode::CONFLICT);
    assert_eq!(taken.code(), "name_taken");

    // The key opens the relying party's endpoint (garbage in: 400, not 401).
    let rp = As {
        bearer: Some(secret.clone()),
        ..As::default()
    };
    let verify = |who: As| async move {
        app.call(
            Method::POST,
            "/api/v1/relying-party/certificates/verification",
            &who,
            None,
            Some(json!({"certificate": "not base64!"})),
        )
        .await
    };
    verify(rp.clone()).await.expect(StatusCode::BAD_REQUEST);
    // A kiosk's key is another kind: 403.
    let kiosk = app
        .post(
            "/api/v1/admin/api-keys",
            &admin,
            json!({"name": "lawson-01", "kind": "kiosk", "municipality": CHIYODA}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(kiosk.json["api_key"]["municipality"], CHIYODA);
    let kiosk = As {
        bearer: kiosk.json["key"].as_str().map(str::to_owned),
        ..As::default()
    };
    verify(kiosk).await.expect(StatusCode::FORBIDDEN);

    let list = app.get("/api/v1/admin/api-keys", &admin).await.expect(StatusCode::OK);
    assert_eq!(list.json["api_keys"].as_array().map(Vec::len), Some(2));
    assert!(!list.text.contains(&secret), "the list shows no key");

    // Revoked: 401 from now on; revoking again answers the same revocation.
    let revoked = app
        .post(&format!("/api/v1/admin/api-keys/{id}/revocation"), &admin, json!(null))
        .await
        .expect(StatusCode::OK);
    assert!(revoked.json["revoked_at"].is_string());
    let denied = verify(rp).await.expect(StatusCode::UNAUTHORIZED);
    assert_eq!(denied.code(), "unauthenticated");
    let twice = app
        .post(&format!("/api/v1/admin/api-keys/{id}/revocation"), &admin, json!(null))
        .await
        .expect(StatusCode::OK);
    assert_eq!(twice.json["revoked_at"], revoked.json["revoked_at"]);
    app.post("/api/v1/admin/api-keys/424242/revocation", &admin, json!(null))
        .await
        .expect(StatusCode::NOT_FOUND);
    // Bad inputs.
    for body in [
        json!({"name": "a b", "kind": "kiosk"}),
        json!({"name": "x", "kind": "resident"}),
        json!({"name": "x", "kind": "kiosk", "municipality": "271004"}),
    ] {
        app.post("/api/v1/admin/api-keys", &admin, body)
            .await
            .expect(StatusCode::BAD_REQUEST);
    }
    let entries = audit_actions(app);
    assert!(entries.iter().any(|(_, a, _)| a == "api_key.create"));
    assert!(entries.iter().any(|(_, a, _)| a == "api_key.revoke"));
    assert!(entries.iter().all(|(_, _, d)| !d.contains(&secret)));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_batch_runs_and_the_clock_is_demo_only_on_sqlite() {
    let app = TestApp::new("admin-batch", date(2026, 11, 29));
    the_batch_runs_and_the_clock_is_demo_only(&app).await;
}

#[test]
fn the_batch_runs_and_the_clock_is_demo_only_on_postgres() {
    let app = TestApp::on(Backend::Postgres, "admin-batch", date(2026, 11, 29));
    runtime().block_on(the_batch_runs_and_the_clock_is_demo_only(&app));
}

async fn the_batch_runs_and_the_clock_is_demo_only(app: &TestApp) {
    let admin = login_as(app, "root", StaffRole::Admin, None).await;
    let key = app.key();
    let first = app
        .call(Method::POST, "/api/v1/admin/batch", &admin, Some(&key), None)
        .await
        .expect(StatusCode::OK);
    assert_eq!(first.json["date"], "2026-11-29");
    let steps = first.json["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 7, "{}", first.text);
    assert!(steps.iter().all(|s| s["outcome"] == "ran"), "{}", first.text);
    let replay = app
        .call(Method::POST, "/api/v1/admin/batch", &admin, Some(&key), None)
        .await
        .expect(StatusCode::OK);
    assert_eq!(replay.json, first.json);
    let second = app
        .post("/api/v1/admin/batch", &admin, json!(null))
        .await
        .expect(StatusCode::OK);
    assert!(
        second.json["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .all(|s| s["outcome"] == "already_done"),
        "{}",
        second.text
    );
    assert!(audit_actions(app).iter().any(|(_, a, _)| a == "admin.batch"));
    let no_key = app
        .call(Method::POST, "/api/v1/admin/batch", &admin, None, None)
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert_eq!(no_key.code(), "idempotency_key_required");

    // Outside demo mode the clock does not exist for the API.
    let clock = app
        .get("/api/v1/admin/clock", &admin)
        .await
        .expect(StatusCode::NOT_FOUND);
    assert_eq!(clock.code(), "demo_only");
    let advance = app
        .post("/api/v1/admin/clock/advance", &admin, json!({"days": 1}))
        .await
        .expect(StatusCode::NOT_FOUND);
    assert_eq!(advance.code(), "demo_only");
    assert_eq!(app.today(), date(2026, 11, 29));
    // Other staff are refused before that.
    let clerk = login_as(app, "clerk", StaffRole::Window, Some(CHIYODA)).await;
    app.get("/api/v1/admin/clock", &clerk)
        .await
        .expect(StatusCode::FORBIDDEN);
    app.get("/api/v1/admin/clock", &As::nobody())
        .await
        .expect(StatusCode::UNAUTHORIZED);
}

/// A request to a router, with its JSON answer.
async fn send(
    app: &axum::Router,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    csrf: Option<&str>,
    key: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Vec<String>, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(c) = cookie {
        request = request.header(header::COOKIE, c);
    }
    if let Some(c) = csrf {
        request = request.header("x-csrf-token", c);
    }
    if let Some(k) = key {
        request = request.header("idempotency-key", k);
    }
    let request = match body {
        Some(json) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json.to_string())),
        None => request.body(Body::empty()),
    }
    .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
        .collect();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, cookies, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn in_demo_mode_the_clock_moves_once_per_key_and_the_first_admin_is_made() {
    let dir = std::env::temp_dir().join(format!("mynacard-server-admin-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = ServeConfig {
        data_dir: dir.clone(),
        database: None,
        listen: "127.0.0.1:0".parse().expect("address"),
        demo: true,
        today: Some(date(2026, 11, 29)),
        secure_cookies: false,
    };
    let state = open_state(&config).expect("open");
    let app = router(Arc::clone(&state), None);

    // The first administrator of an empty system, its password in a 0600 file.
    let (login, password) = ensure_initial_admin(&state).expect("bootstrap").expect("created");
    assert_eq!(login, "admin");
    let file = dir.join(INITIAL_ADMIN_PASSWORD_FILE);
    assert_eq!(std::fs::read_to_string(&file).expect("file").trim(), password);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(ensure_initial_admin(&state).expect("again").is_none(), "made once");

    let (status, cookies, session) = send(
        &app,
        Method::POST,
        "/api/v1/session",
        None,
        None,
        None,
        Some(json!({"login": login, "password": password})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let cookie = cookies
        .into_iter()
        .find(|c| c.starts_with(mynacard_server::access::SESSION_COOKIE))
        .expect("cookie");
    let csrf = session["csrf_token"].as_str().expect("csrf").to_owned();
    let (status, _, clock) = send(
        &app,
        Method::GET,
        "/api/v1/admin/clock",
        Some(&cookie),
        None,
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(clock["today"], "2026-11-29");
    assert_eq!(clock["fixed"], true);
    let advance = |key: &'static str, days: i64| {
        let (app, cookie, csrf) = (app.clone(), cookie.clone(), csrf.clone());
        async move {
            send(
                &app,
                Method::POST,
                "/api/v1/admin/clock/advance",
                Some(&cookie),
                Some(&csrf),
                Some(key),
                Some(json!({"days": days})),
            )
            .await
        }
    };
    let (status, _, moved) = advance("move-1", 3).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["today"], "2026-12-02");
    // A retry does not move it again.
    let (status, _, replay) = advance("move-1", 3).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replay, moved);
    assert_eq!(
        mynacard_authority::Clock::today(state.clock.as_ref()),
        date(2026, 12, 2)
    );
    let (status, _, reused) = advance("move-1", 4).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reused}");
    for days in [0, -1, 3651] {
        let (status, _, bad) = advance("move-bad", days).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{days}: {bad}");
    }
    drop(app);
    drop(state);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_system_with_staff_gets_no_initial_admin() {
    let app = TestApp::new("admin-bootstrap", date(2026, 11, 29));
    app.staff("someone", StaffRole::Hotline, None);
    assert!(ensure_initial_admin(&app.state).expect("bootstrap").is_none());
    assert!(!app.dir.join(INITIAL_ADMIN_PASSWORD_FILE).exists());
}
