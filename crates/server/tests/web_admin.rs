//! The administration pages driven like a browser: an administrator
//! creates a window clerk who can then log in, disables the account (its
//! session ends at once) and enables it again; creates an API key that is
//! shown once and works, and revokes it.

mod support;

use axum::http::{Method, StatusCode};
use mynacard_server::access::api_key;
use mynacard_store::access::StaffRole;
use support::web::*;
use support::*;

/// The first `/prefix/{id}/suffix` action in the page after `after`.
fn action_id(html: &str, after: &str, prefix: &str) -> String {
    let from = html.find(after).unwrap_or_else(|| panic!("{after} not in the page"));
    format!(
        "{prefix}{}",
        between(&html[from..], &format!("action=\"{prefix}"), "\"")
    )
}

/// The audit log's (actor, action) pairs.
fn audited(app: &TestApp) -> Vec<(String, String)> {
    app.state
        .authority
        .db()
        .read(|tx| mynacard_store::audit::list(tx, 0, 10_000))
        .expect("the audit log")
        .into_iter()
        .map(|r| (r.actor, r.action))
        .collect()
}

// ------------------------------------------------------------------ tests

const NEW_PASSWORD: &str = "kasumigaseki-2026";

#[tokio::test(flavor = "multi_thread")]
async fn an_administrator_manages_staff_accounts() {
    let app = TestApp::new("web_admin_accounts", date(2026, 11, 29));
    let admin = app.login_as("admin1", StaffRole::Admin, None).await;
    let cookie = cookies(&admin, false);

    let overview = get_page(&app, "/admin", &cookie).await.expect(StatusCode::OK);
    assert_eq!(h1(&overview.text), "管理");
    assert!(overview.text.contains("href=\"/admin/accounts\""));
    assert!(overview.text.contains("href=\"/admin/api-keys\""));

    let page = get_page(&app, "/admin/accounts", &cookie).await.expect(StatusCode::OK);
    assert_eq!(h1(&page.text), "職員アカウント");
    assert!(page.text.contains("<caption>職員アカウントの一覧</caption>"));
    assert!(
        page.text.contains("千代田区 (131016)"),
        "the municipalities to choose from"
    );

    // Refused: a window clerk without a municipality, a short password;
    // the answers are kept, the password is not.
    let refused = post_form(
        &app,
        "/admin/accounts",
        &cookie,
        &filled(
            &page.text,
            "/admin/accounts",
            &[
                ("login", "chiyoda2"),
                ("display_name", "千代田 花子"),
                ("role", "window"),
                ("municipality", ""),
                ("password", "short-pw"),
            ],
        ),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text.contains("class=\"error-summary\""));
    assert!(refused.text.contains("href=\"#municipality\""));
    assert!(refused.text.contains("href=\"#password\""));
    assert!(refused.text.contains("value=\"千代田 花子\""));
    assert!(!refused.text.contains("short-pw"), "a password is never drawn back");

    // Created.
    let created = post_form(
        &app,
        "/admin/accounts",
        &cookie,
        &filled(
            &refused.text,
            "/admin/accounts",
            &[
                ("login", "chiyoda2"),
                ("display_name", "千代田 花子"),
                ("role", "window"),
                ("municipality", CHIYODA),
                ("password", NEW_PASSWORD),
            ],
        ),
    )
    .await;
    let listed = follow(&app, created, &cookie).await.expect(StatusCode::OK);
    assert!(
        listed.text.contains("chiyoda2 のアカウントを作成しました"),
        "{}",
        listed.text
    );
    assert!(listed.text.contains("<code>chiyoda2</code>"));

    // The same login again: refused.
    let taken = post_form(
        &app,
        "/admin/accounts",
        &cookie,
        &filled(
            &listed.text,
            "/admin/accounts",
            &[
                ("login", "chiyoda2"),
                ("display_name", "別人"),
                ("role", "hotline"),
                ("password", NEW_PASSWORD),
            ],
        ),
    )
    .await
    .expect(StatusCode::CONFLICT);
    assert!(taken.text.contains("このログインIDは既に使われています"));

    // The new clerk logs in.
    let clerk = app.login("chiyoda2", NEW_PASSWORD).await;
    let me = app.get("/api/v1/session", &clerk).await.expect(StatusCode::OK);
    assert_eq!(me.json["role"], "window");
    assert_eq!(me.json["municipality"], CHIYODA);

    // Disabled: the session is refused at once, and so is a new login.
    let disable = action_id(&listed.text, "<code>chiyoda2</code>", "/admin/accounts/");
    assert!(disable.ends_with("/disable"), "{disable}");
    let disabled = post_form(&app, &disable, &cookie, &filled(&listed.text, &disable, &[])).await;
    let listed = follow(&app, disabled, &cookie).await.expect(StatusCode::OK);
    assert!(listed.text.contains("chiyoda2 のアカウントを無効にしました"));
    assert!(listed.text.contains("<strong class=\"tag tag--grey\">無効</strong>"));
    app.get("/api/v1/session", &clerk)
        .await
        .expect(StatusCode::UNAUTHORIZED);
    let start = get_page(&app, "/", &cookies(&clerk, false))
        .await
        .expect(StatusCode::SEE_OTHER);
    assert_eq!(start.headers["location"], "/login");
    app.call(
        Method::POST,
        "/api/v1/session",
        &As::nobody(),
        None,
        Some(serde_json::json!({"login": "chiyoda2", "password": NEW_PASSWORD})),
    )
    .await
    .expect(StatusCode::UNAUTHORIZED);

    // Enabled again: a login works.
    let enable = action_id(&listed.text, "<code>chiyoda2</code>", "/admin/accounts/");
    assert!(enable.ends_with("/enable"), "{enable}");
    let enabled = post_form(&app, &enable, &cookie, &filled(&listed.text, &enable, &[])).await;
    let listed = follow(&app, enabled, &cookie).await.expect(StatusCode::OK);
    assert!(listed.text.contains("chiyoda2 のアカウントを有効にしました"));
    app.login("chiyoda2", NEW_PASSWORD).await;

    // Each change is in the audit log, by the administrator.
    let trail = audited(&app);
    for action in ["staff.create", "staff.disable", "staff.enable"] {
        assert!(
            trail.iter().any(|(actor, a)| a == action && actor.contains("admin1")),
            "{action} in {trail:?}"
        );
    }

    // No disabling oneself: no button in one's own row.
    let own = listed.text.find("<code>admin1</code>").expect("own row");
    let row_end = own + listed.text[own..].find("</tr>").expect("row end");
    assert!(!listed.text[own..row_end].contains("<form"));

    // In English.
    let english = get_page(&app, "/admin/accounts", &cookies(&admin, true))
        .await
        .expect(StatusCode::OK);
    assert_eq!(h1(&english.text), "Staff accounts");
    assert!(english.text.contains("Create the account"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_key_is_shown_once_and_can_be_revoked() {
    let app = TestApp::new("web_admin_keys", date(2026, 11, 29));
    let admin = app.login_as("admin1", StaffRole::Admin, None).await;
    let cookie = cookies(&admin, false);

    let page = get_page(&app, "/admin/api-keys", &cookie).await.expect(StatusCode::OK);
    assert_eq!(h1(&page.text), "APIキー");
    let refused = post_form(
        &app,
        "/admin/api-keys",
        &cookie,
        &filled(&page.text, "/admin/api-keys", &[("name", " ")]),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text.contains("href=\"#name\""));
    assert!(refused.text.contains("href=\"#kind\""));
    let bad_name = post_form(
        &app,
        "/admin/api-keys",
        &cookie,
        &filled(
            &page.text,
            "/admin/api-keys",
            &[("name", "lawson/shinjuku"), ("kind", "kiosk")],
        ),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_name.text.contains("value=\"lawson/shinjuku\""),
        "the answer is kept"
    );

    let created = post_form(
        &app,
        "/admin/api-keys",
        &cookie,
        &filled(
            &page.text,
            "/admin/api-keys",
            &[("name", "lawson-shinjuku-01"), ("kind", "kiosk")],
        ),
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(h1(&created.text), "APIキーを発行しました");
    assert!(created.text.contains("このキーは今回しか表示されません"));
    let textarea = created.text.find("id=\"api-key\"").expect("the key's box");
    let at = textarea + created.text[textarea..].find(">mnk_").expect("the key") + 1;
    let key: String = created.text[at..].chars().take_while(|c| *c != '<').collect();
    assert!(api_key(app.state.authority.db(), &key).is_some(), "the key works");

    // The list shows its prefix, never the key again.
    let listed = get_page(&app, "/admin/api-keys", &cookie).await.expect(StatusCode::OK);
    assert!(listed.text.contains("lawson-shinjuku-01"));
    assert!(!listed.text.contains(&key));
    let prefix = key.split('_').nth(1).expect("prefix");
    assert!(listed.text.contains(&format!("mnk_{prefix}_…")));

    // The same name again: refused.
    let again = post_form(
        &app,
        "/admin/api-keys",
        &cookie,
        &filled(
            &listed.text,
            "/admin/api-keys",
            &[("name", "lawson-shinjuku-01"), ("kind", "relying_party")],
        ),
    )
    .await
    .expect(StatusCode::CONFLICT);
    assert!(again.text.contains("この名前のAPIキーは既にあります"));

    // Revoked: the key opens nothing.
    let revoke = action_id(&listed.text, "lawson-shinjuku-01", "/admin/api-keys/");
    let revoked = post_form(&app, &revoke, &cookie, &filled(&listed.text, &revoke, &[])).await;
    let listed = follow(&app, revoked, &cookie).await.expect(StatusCode::OK);
    assert!(listed.text.contains("lawson-shinjuku-01 のAPIキーを失効させました"));
    assert!(listed.text.contains("<strong class=\"tag tag--grey\">失効</strong>"));
    assert!(api_key(app.state.authority.db(), &key).is_none());
    assert!(
        !listed.text.contains(&format!("action=\"{revoke}\"")),
        "no second revoke button"
    );
    let trail = audited(&app);
    for action in ["api_key.create", "api_key.revoke"] {
        assert!(trail.iter().any(|(_, a)| a == action), "{action} in {trail:?}");
    }

    // In English.
    let english = get_page(&app, "/admin/api-keys", &cookies(&admin, true))
        .await
        .expect(StatusCode::OK);
    assert_eq!(h1(&english.text), "API keys");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_administrators_with_the_form_token_get_in() {
    let app = TestApp::new("web_admin_access", date(2026, 11, 29));
    let admin = app.login_as("admin1", StaffRole::Admin, None).await;
    let operator = app.login_as("hotline1", StaffRole::Hotline, None).await;
    for path in ["/admin", "/admin/accounts", "/admin/api-keys"] {
        get_page(&app, path, &cookies(&operator, false))
            .await
            .expect(StatusCode::FORBIDDEN);
    }
    let anonymous = app
        .get("/admin/accounts", &As::nobody())
        .await
        .expect(StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers["location"], "/login?next=%2Fadmin%2Faccounts");
    // No CSRF token: 403, nothing created.
    let fields: Vec<(String, String)> = [
        ("login", "intruder"),
        ("display_name", "x"),
        ("role", "admin"),
        ("password", NEW_PASSWORD),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    post_form(&app, "/admin/accounts", &cookies(&admin, false), &fields)
        .await
        .expect(StatusCode::FORBIDDEN);
    let listed = get_page(&app, "/admin/accounts", &cookies(&admin, false))
        .await
        .expect(StatusCode::OK);
    assert!(!listed.text.contains("intruder"));
    // Another role is refused, whatever the form carries.
    let page = get_page(&app, "/admin/accounts", &cookies(&admin, false)).await;
    let mut stolen = filled(&page.text, "/admin/accounts", &[]);
    stolen.extend(fields);
    post_form(&app, "/admin/accounts", &cookies(&operator, false), &stolen)
        .await
        .expect(StatusCode::FORBIDDEN);
}
