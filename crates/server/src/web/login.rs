//! Login, logout, the language switch, and the start page that sends each
//! role to its own work.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::html;
use mynacard_store::access::StaffRole;
use serde::Deserialize;

use super::{html_response, page, Lang, PageContext, LANG_COOKIE};
use crate::access::{self, random_token, AnyStaff, CsrfForm, LoginFailure, MaybeStaff, LOGIN_CSRF_COOKIE};
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(start))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(switch_language))
}

/// Where a role starts.
pub fn home_of(role: StaffRole) -> &'static str {
    match role {
        StaffRole::Window => "/window",
        StaffRole::Hotline => "/hotline",
        StaffRole::Admin => "/admin",
    }
}

async fn start(MaybeStaff(staff): MaybeStaff) -> Redirect {
    match staff {
        Some(s) => Redirect::to(home_of(s.role)),
        None => Redirect::to("/login"),
    }
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only our own paths: never an open redirect.
fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?;
    let bytes = next.as_bytes();
    // A path of visible ASCII only: browsers drop tabs and newlines from a
    // URL, so `/\t/evil.example` would become `//evil.example`.
    let path_only = bytes.first() == Some(&b'/')
        && bytes.get(1) != Some(&b'/')
        && bytes.iter().all(|b| (0x21..=0x7e).contains(b) && *b != b'\\');
    (path_only && !next.starts_with("/login")).then(|| next.to_owned())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_our_own_paths_are_followed_after_login() {
        assert_eq!(
            safe_next(Some("/window/residents?name=a")).as_deref(),
            Some("/window/residents?name=a")
        );
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/\n/x",
            "/login?next=/",
            "",
            "window",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(safe_next(Some("/a b")), None, "no spaces");
    }
}

async fn login_page(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    MaybeStaff(staff): MaybeStaff,
    Query(q): Query<NextQuery>,
) -> Response {
    if let Some(s) = staff {
        return Redirect::to(&safe_next(q.next.as_deref()).unwrap_or_else(|| home_of(s.role).to_owned()))
            .into_response();
    }
    render_login(&state, lang, q.next.as_deref(), None, "", StatusCode::OK).await
}

async fn render_login(
    state: &Arc<AppState>,
    lang: Lang,
    next: Option<&str>,
    error: Option<String>,
    login: &str,
    status: StatusCode,
) -> Response {
    let ctx = PageContext::new(state, lang, None, "/login");
    let token = random_token(24);
    let demo_accounts = if state.settings.demo {
        crate::demo::accounts(&state.settings.data_dir)
    } else {
        Vec::new()
    };
    let title = lang.t("職員ログイン", "Staff login");
    let body = html! {
        div.narrow {
            h1 { (title) }
            p.lead { (lang.t("市区町村窓口、コールセンター、管理者の職員用です。住民の方はマイナンバーカードでマイナポータルをご利用ください。",
                "For municipal window staff, hotline operators and administrators. Residents use their My Number Card in the resident portal.")) }
            @if let Some(e) = &error {
                div.error-summary role="alert" tabindex="-1" {
                    h2.error-summary__title { (lang.t("ログインできませんでした", "You could not log in")) }
                    ul { li { a href="#password" { (e) } } }
                }
            }
            form method="post" action="/login" novalidate {
                input type="hidden" name="_csrf" value=(token);
                @if let Some(next) = safe_next(next) { input type="hidden" name="next" value=(next); }
                div.field {
                    label.label for="login" { (lang.t("ログインID", "Login")) }
                    input.input #login name="login" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value=(login);
                }
                div.field.(if error.is_some() { "field--error" } else { "" }) {
                    label.label for="password" { (lang.t("パスワード", "Password")) }
                    input.input #password name="password" type="password" autocomplete="current-password" required
                        aria-invalid=[error.is_some().then_some("true")];
                }
                button.button type="submit" { (lang.t("ログイン", "Log in")) }
            }
            @if !demo_accounts.is_empty() {
                section.demo-accounts aria-labelledby="demo-accounts-title" {
                    h2 #demo-accounts-title { (lang.t("デモ用アカウント", "Demo accounts")) }
                    table.table {
                        caption.visually-hidden { (lang.t("デモ用アカウント", "Demo accounts")) }
                        thead { tr {
                            th scope="col" { (lang.t("ログインID", "Login")) }
                            th scope="col" { (lang.t("パスワード", "Password")) }
                            th scope="col" { (lang.t("役割", "Role")) }
                        } }
                        tbody {
                            @for a in &demo_accounts {
                                tr {
                                    td { code { (a.login) } }
                                    td { code { (a.password) } }
                                    td { (a.description(lang)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let mut response = (status, html_response(page(&ctx, title, None, body))).into_response();
    if let Ok(v) = format!("{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict").parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    login: String,
    password: String,
    next: Option<String>,
}

async fn login_submit(State(state): State<Arc<AppState>>, lang: Lang, CsrfForm(form): CsrfForm<LoginForm>) -> Response {
    let db = state.authority.db().clone();
    let (login, password) = (form.login.trim().to_owned(), form.password);
    let attempt = tokio::task::spawn_blocking(move || access::login(&db, &login, &password)).await;
    match attempt {
        Ok(Ok(opened)) => {
            let to = safe_next(form.next.as_deref()).unwrap_or_else(|| home_of(opened.principal.role).to_owned());
            let mut response = Redirect::to(&to).into_response();
            if let Ok(v) = access::session_cookie(&opened.token, state.settings.secure_cookies).parse() {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Ok(Err(failure)) => {
            let status = match failure {
                LoginFailure::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::UNAUTHORIZED,
            };
            let message = match failure {
                LoginFailure::Invalid => lang
                    .t(
                        "ログインIDまたはパスワードが違います。",
                        "The login or the password is wrong.",
                    )
                    .to_owned(),
                LoginFailure::Locked(_) => lang
                    .t(
                        "失敗が続いたため、このアカウントは15分間ロックされています。",
                        "After repeated failures this account is locked for 15 minutes.",
                    )
                    .to_owned(),
                LoginFailure::Unavailable => lang
                    .t(
                        "システムが混み合っています。しばらくしてからもう一度お試しください。",
                        "The system is busy. Try again in a moment.",
                    )
                    .to_owned(),
            };
            render_login(
                &state,
                lang,
                form.next.as_deref(),
                Some(message),
                form.login.trim(),
                status,
            )
            .await
        }
        Err(_) => crate::web::problem_page(&crate::problem::Problem::internal("the login task failed")),
    }
}

#[derive(Debug, Deserialize)]
struct LogoutForm {}

async fn logout(
    State(state): State<Arc<AppState>>,
    AnyStaff(staff): AnyStaff,
    CsrfForm(_): CsrfForm<LogoutForm>,
) -> Response {
    let db = state.authority.db().clone();
    let session = staff.session.clone();
    let _ = tokio::task::spawn_blocking(move || access::logout(&db, &session)).await;
    let mut response = Redirect::to("/login").into_response();
    if let Ok(v) = access::clear_session_cookie().parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

async fn switch_language(Path(code): Path<String>, Query(q): Query<NextQuery>) -> Response {
    let lang = if code == "en" { "en" } else { "ja" };
    let to = safe_next(q.next.as_deref()).unwrap_or_else(|| "/".to_owned());
    let mut response = Redirect::to(&to).into_response();
    if let Ok(v) = format!("{LANG_COOKIE}={lang}; Path=/; SameSite=Lax; Max-Age=31536000").parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}
