//! The skeleton: a staff member logs in through the API and the server's
//! shared routes answer.

mod support;

use axum::http::StatusCode;
use mynacard_store::access::StaffRole;
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn staff_log_in_and_out_and_shared_routes_answer() {
    let app = TestApp::new("smoke", date(2026, 11, 29));
    let clerk = app.login_as("chiyoda1", StaffRole::Window, Some(CHIYODA)).await;
    let me = app.get("/api/v1/session", &clerk).await.expect(StatusCode::OK);
    assert_eq!(me.json["role"], "window");
    assert_eq!(me.json["municipality"], CHIYODA);
    // A wrong password: 401 problem, no cookie.
    let wrong = app
        .call(
            axum::http::Method::POST,
            "/api/v1/session",
            &As::nobody(),
            None,
            Some(serde_json::json!({"login": "chiyoda1", "password": "nope"})),
        )
        .await
        .expect(StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.headers["content-type"], "application/problem+json");
    assert_eq!(wrong.code(), "unauthenticated");
    // Logout needs the CSRF token.
    let no_csrf = As {
        csrf: None,
        ..clerk.clone()
    };
    app.call(axum::http::Method::DELETE, "/api/v1/session", &no_csrf, None, None)
        .await
        .expect(StatusCode::FORBIDDEN);
    app.call(axum::http::Method::DELETE, "/api/v1/session", &clerk, None, None)
        .await
        .expect(StatusCode::NO_CONTENT);
    app.get("/api/v1/session", &clerk)
        .await
        .expect(StatusCode::UNAUTHORIZED);
    let health = app.get("/healthz", &As::nobody()).await.expect(StatusCode::OK);
    assert_eq!(health.json["status"], "ok");
    let doc = app.get("/openapi.json", &As::nobody()).await.expect(StatusCode::OK);
    assert!(
        doc.json["openapi"].as_str().unwrap_or("").starts_with("3.1"),
        "{}",
        doc.text
    );
    let metrics = app.get("/metrics", &As::nobody()).await.expect(StatusCode::OK);
    assert!(
        metrics
            .text
            .contains("mynacard_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"),
        "{}",
        metrics.text
    );
    let crl = app.get("/crl/auth.crl", &As::nobody()).await.expect(StatusCode::OK);
    assert_eq!(crl.headers["content-type"], "application/pkix-crl");
    let login_page = app.get("/login", &As::nobody()).await.expect(StatusCode::OK);
    assert!(login_page.text.contains("職員ログイン"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_another_role_says_whose_it_is_in_the_visitors_language_and_layout() {
    let app = TestApp::new("smoke-role-page", date(2026, 11, 29));
    let clerk = app.login_as("chiyoda2", StaffRole::Window, Some(CHIYODA)).await;
    let page = app.get("/hotline", &clerk).await.expect(StatusCode::FORBIDDEN);
    assert!(page.text.contains("コールセンターのオペレーターのみ"), "{}", page.text);
    assert!(
        page.text.contains("href=\"/window\""),
        "the clerk keeps their navigation"
    );
    assert!(page.text.contains("<html lang=\"ja\""));
    let english = As {
        cookie: clerk.cookie.as_ref().map(|c| format!("{c}; mynacard_lang=en")),
        ..clerk.clone()
    };
    let page = app.get("/hotline", &english).await.expect(StatusCode::FORBIDDEN);
    assert!(
        page.text.contains("Only hotline operators may use this."),
        "{}",
        page.text
    );
    assert!(page.text.contains("<html lang=\"en\""));
    // The API answers the same refusal as a problem document.
    let api = app
        .call(
            axum::http::Method::POST,
            "/api/v1/hotline/search",
            &clerk,
            None,
            Some(serde_json::json!({})),
        )
        .await
        .expect(StatusCode::FORBIDDEN);
    assert_eq!(api.code(), "forbidden");
}
