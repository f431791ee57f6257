//! The web UI: server-rendered pages, Japanese first with an English
//! switch, usable without JavaScript.
//!
//! Every page is drawn by [`page`] inside one layout (skip link, service
//! header, navigation for the role, language switch, main landmark,
//! footer) and styled by `/static/app.css` after the Digital Agency design
//! system (デジタル庁デザインシステム) and GOV.UK: plain type, one column,
//! strong focus rings, colour never the only signal. Forms post with a CSRF
//! token ([`crate::access::CsrfForm`]) and an idempotency key drawn with
//! the page ([`hidden_fields`]), and answer with a redirect (POST →
//! redirect → GET), so a reload never acts twice.
//!
//! Modules: [`login`] (login, logout, language), [`window`] (窓口),
//! [`hotline`] (コールセンター), [`admin`] (accounts and API keys), [`reader`] (the demo's virtual reader and
//! card wallet), [`demo`] (the demo clock and nightly batch), [`forms`] (the
//! form parts they all draw with: error summary, fields, hidden fields, times).

pub mod admin;
pub mod demo;
pub mod forms;
pub mod hotline;
pub mod login;
pub mod reader;
pub mod window;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use mynacard_store::access::StaffRole;

use crate::access::StaffPrincipal;
use crate::problem::Problem;
use crate::state::AppState;

/// Largest form accepted.
pub const MAX_FORM_BYTES: usize = 64 * 1024;
/// The language cookie.
pub const LANG_COOKIE: &str = "mynacard_lang";

/// The page's language: Japanese unless the visitor chose English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 日本語 (the default).
    #[default]
    Ja,
    /// English.
    En,
}

impl Lang {
    /// `ja` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The Japanese or the English text.
    pub fn t<'a>(self, ja: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }

    /// The other language (for the switch).
    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }

    /// A date as staff read it: `2026年11月29日` or `29 Nov 2026`.
    pub fn date(self, d: chrono::NaiveDate) -> String {
        match self {
            Lang::Ja => d.format("%Y年%-m月%-d日").to_string(),
            Lang::En => d.format("%-d %b %Y").to_string(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(match crate::access::cookie(parts, LANG_COOKIE) {
            Some("en") => Lang::En,
            _ => Lang::Ja,
        })
    }
}

/// Everything a page needs besides its body.
#[derive(Debug, Clone)]
pub struct PageContext {
    /// The language.
    pub lang: Lang,
    /// Who is logged in.
    pub staff: Option<StaffPrincipal>,
    /// Demo mode (shows the demo banner and the wallet/clock links).
    pub demo: bool,
    /// Today on the system's clock (shown when it is simulated).
    pub today: Option<chrono::NaiveDate>,
    /// The current path (language switch and navigation).
    pub path: String,
}

impl PageContext {
    /// The context of a request.
    pub fn new(state: &AppState, lang: Lang, staff: Option<StaffPrincipal>, path: &str) -> PageContext {
        use mynacard_authority::Clock;
        PageContext {
            lang,
            staff,
            demo: state.settings.demo,
            today: state.clock.is_simulated().then(|| state.clock.today()),
            path: path.to_owned(),
        }
    }

    /// The CSRF token of the session ("" before login).
    pub fn csrf(&self) -> &str {
        self.staff.as_ref().map(|s| s.csrf_token.as_str()).unwrap_or("")
    }
}

/// The hidden fields every form carries: the CSRF token and a fresh
/// idempotency key.
pub fn hidden_fields(ctx: &PageContext) -> Markup {
    forms::token_fields(ctx.csrf())
}

/// A message shown at the top of a page after a redirect (`?done=…`).
#[derive(Debug, Clone)]
pub enum Banner {
    /// Done.
    Success(String),
    /// Refused or failed.
    Error(String),
    /// Information.
    Info(String),
}

/// Draws a whole page.
pub fn page(ctx: &PageContext, title: &str, banner: Option<Banner>, body: Markup) -> Markup {
    let lang = ctx.lang;
    let service = lang.t("マイナンバーカード 事務システム", "My Number Card Office System");
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " | " (service) }
                link rel="stylesheet" href="/static/app.css";
                link rel="icon" href="/static/favicon.svg" type="image/svg+xml";
            }
            body {
                a.skip-link href="#main" { (lang.t("本文へ移動", "Skip to main content")) }
                @if ctx.demo {
                    div.demo-banner role="note" {
                        strong { (lang.t("デモ環境", "Demo")) }
                        " "
                        (lang.t("架空のデータです。実在の人物・カードとは関係ありません。", "Fictional data; no real person or card."))
                        @if let Some(today) = ctx.today {
                            " " (lang.t("システム日付：", "System date: ")) strong { (lang.date(today)) }
                        }
                    }
                }
                header.header {
                    div.header__inner {
                        a.header__service href="/" { (service) }
                        div.header__tools {
                            @if let Some(s) = &ctx.staff {
                                span.header__user {
                                    (s.display_name)
                                    " ("
                                    (role_name(lang, s.role))
                                    @if let Some(m) = s.municipality { " " (m.to_string()) }
                                    ")"
                                }
                            }
                            a.header__lang href=(format!("/lang/{}?next={}", lang.other().code(), encode_query_value(&ctx.path)))
                                lang=(lang.other().code()) hreflang=(lang.other().code()) {
                                (lang.t("English", "日本語"))
                            }
                            @if ctx.staff.is_some() {
                                form.header__logout method="post" action="/logout" {
                                    input type="hidden" name="_csrf" value=(ctx.csrf());
                                    button.link-button type="submit" { (lang.t("ログアウト", "Log out")) }
                                }
                            }
                        }
                    }
                    (navigation(ctx))
                }
                main #main .main tabindex="-1" {
                    @if let Some(b) = &banner { (banner_markup(lang, b)) }
                    (body)
                }
                footer.footer {
                    p { "mynacard — " (lang.t("マイナンバーカードと公的個人認証サービスのオープンソース実装", "an open-source My Number Card and JPKI system")) }
                    p { a href="/openapi.json" { "OpenAPI" } " · " a href="/healthz" { (lang.t("稼働状況", "Health")) } }
                }
            }
        }
    }
}

fn navigation(ctx: &PageContext) -> Markup {
    let lang = ctx.lang;
    let mut links: Vec<(&str, &str)> = Vec::new();
    match ctx.staff.as_ref().map(|s| s.role) {
        Some(StaffRole::Window) => {
            links.push(("/window", lang.t("窓口トップ", "Window")));
            links.push(("/window/residents", lang.t("住民検索", "Find a resident")));
            links.push(("/window/residents/new", lang.t("住民登録", "Register a resident")));
            links.push(("/window/move-in", lang.t("転入届", "Move-in")));
        }
        Some(StaffRole::Hotline) => {
            links.push(("/hotline", lang.t("一時利用停止", "Suspend a card")));
        }
        Some(StaffRole::Admin) => {
            links.push(("/admin", lang.t("管理", "Administration")));
        }
        None => {}
    }
    if ctx.demo {
        links.push(("/demo/reader", lang.t("仮想カードリーダー", "Virtual card reader")));
        links.push(("/demo", lang.t("デモの時計と夜間処理", "Demo clock and nightly batch")));
    }
    html! {
        @if !links.is_empty() {
            nav.nav aria-label=(lang.t("メインメニュー", "Main menu")) {
                ul.nav__list {
                    @for (href, label) in &links {
                        @let current = ctx.path == *href || (ctx.path.starts_with(href) && href.len() > 1 && ctx.path[href.len()..].starts_with('/') && !links.iter().any(|(h, _)| h.len() > href.len() && ctx.path.starts_with(h)));
                        li.nav__item {
                            a.nav__link href=(href) aria-current=[current.then_some("page")] { (label) }
                        }
                    }
                }
            }
        }
    }
}

fn banner_markup(lang: Lang, banner: &Banner) -> Markup {
    let (class, heading, text, role) = match banner {
        Banner::Success(t) => ("banner banner--success", lang.t("完了しました", "Done"), t, "status"),
        Banner::Error(t) => (
            "banner banner--error",
            lang.t("処理できませんでした", "This could not be done"),
            t,
            "alert",
        ),
        Banner::Info(t) => ("banner banner--info", lang.t("お知らせ", "Information"), t, "status"),
    };
    html! {
        div class=(format!("{class} no-print")) role=(role) tabindex="-1" {
            h2.banner__title { (heading) }
            p.banner__text { (text) }
        }
    }
}

/// The staff role's name.
pub fn role_name(lang: Lang, role: StaffRole) -> &'static str {
    match role {
        StaffRole::Window => lang.t("窓口", "window"),
        StaffRole::Hotline => lang.t("コールセンター", "hotline"),
        StaffRole::Admin => lang.t("管理者", "administrator"),
    }
}

/// Percent-encodes a query value.
pub fn encode_query_value(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A page for a refused or failed request (no session needed).
pub fn problem_page(problem: &Problem) -> Response {
    let ctx = PageContext {
        lang: Lang::Ja,
        staff: None,
        demo: false,
        today: None,
        path: "/".into(),
    };
    problem_page_in(&ctx, problem, None)
}

/// A page for a refused or failed request, in the visitor's language and
/// layout; `message` says in both languages what the visitor can do (the
/// problem's own detail, written for API clients in English, follows as
/// a detail).
pub fn problem_page_in(ctx: &PageContext, problem: &Problem, message: Option<(&str, &str)>) -> Response {
    let lang = ctx.lang;
    let status = problem.status_code();
    let (title, explanation) = match status {
        StatusCode::FORBIDDEN => (
            lang.t("この操作は許可されていません", "You may not do this"),
            lang.t(
                "この画面や操作は、担当の職員のみが利用できます。",
                "This page or action is for other staff only.",
            ),
        ),
        StatusCode::NOT_FOUND => (
            lang.t("ページが見つかりません", "Page not found"),
            lang.t(
                "アドレスが正しいか、または対象の住民・カードが存在するか確認してください。",
                "Check the address, or whether the resident or card exists.",
            ),
        ),
        s if s.is_server_error() => (
            lang.t("システムで問題が発生しました", "Something went wrong"),
            lang.t(
                "処理は記録されていません。しばらくしてからもう一度お試しください。",
                "Nothing was recorded. Try again in a moment.",
            ),
        ),
        _ => (
            lang.t("処理できませんでした", "This could not be done"),
            lang.t("入力内容を確認してください。", "Check what was entered."),
        ),
    };
    let home = match ctx.staff.as_ref().map(|s| s.role) {
        Some(role) => login::home_of(role),
        None => "/",
    };
    let body = html! {
        h1 { (title) }
        p.lead { (message.map(|(ja, en)| lang.t(ja, en)).unwrap_or(explanation)) }
        @if let Some(detail) = &problem.detail {
            p.hint { (lang.t("詳細：", "Details: ")) span lang="en" { (detail) } }
        }
        p { a href=(home) { (lang.t("トップへ戻る", "Back to the start")) } }
    };
    (status, html_response(page(ctx, title, None, body))).into_response()
}

/// An HTML response that must not be cached (pages show personal data).
pub fn html_response(markup: Markup) -> Response {
    let mut response = markup.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Empty markup.
pub fn nothing() -> Markup {
    PreEscaped(String::new())
}

/// The web UI's routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .merge(login::router())
        .merge(admin::router())
        .merge(window::router())
        .merge(hotline::router())
        .merge(reader::router())
        .merge(demo::router())
}
