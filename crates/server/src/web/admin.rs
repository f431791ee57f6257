//! 管理: who may do what. Administrators create staff accounts (window
//! clerks of one municipality, hotline operators, other administrators),
//! disable and re-enable them, and issue and revoke the API keys of kiosks
//! and relying parties.
//!
//! The changes are [`crate::bootstrap`]'s, which the admin API and the CLI
//! use too: the same checks, and the same audit entries (`staff.create`,
//! `staff.disable`, `api_key.revoke`, …) in the change's transaction. A
//! disabled account loses its sessions in that transaction, so disabling
//! someone takes effect on their next click, not when their session runs
//! out. Passwords are hashed here (argon2id) and never drawn back into a
//! page, even a refused one.
//!
//! Every change posts (CSRF-checked) and redirects back to its list with a
//! banner, except the creation of an API key: the whole key exists only in
//! that answer (the registry keeps its hash), so it is drawn on the POST's
//! own answer, once.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use maud::{html, Markup};
use mynacard_authority::Clock;
use mynacard_rules::numbers::MunicipalityCode;
use mynacard_store::access::{self as store, ApiKey, ApiKeyKind, StaffAccount, StaffRole};
use mynacard_store::registry::{self, Municipality};
use mynacard_store::StoreError;
use serde::Deserialize;

use super::forms::{
    date_time, described_by, error_line, error_summary_or_refusal, field_class, input, radios, Choice, Errors, Input,
    Radios,
};
use super::{hidden_fields, html_response, page, problem_page, role_name, Banner, Lang, PageContext};
use crate::access::{check_new_password, hash_password, Administrator, CsrfForm, StaffPrincipal};
use crate::bootstrap::{self, store_problem, AccountRequest, TxProblem};
use crate::problem::Problem;
use crate::state::AppState;

/// More municipalities than this and the form asks for the code instead
/// of offering a list (the full register has 1,741).
const MAX_SELECT: usize = 100;

/// The routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin", get(overview))
        .route("/admin/accounts", get(accounts_page).post(create_account))
        .route("/admin/accounts/{id}/disable", post(disable_account))
        .route("/admin/accounts/{id}/enable", post(enable_account))
        .route("/admin/api-keys", get(keys_page).post(create_key))
        .route("/admin/api-keys/{id}/revoke", post(revoke_key))
}

/// Every account and key, read together.
async fn read_access(state: &AppState) -> Result<(Vec<StaffAccount>, Vec<ApiKey>), Problem> {
    state
        .blocking(|authority| {
            authority
                .db()
                .read(|tx| Ok::<_, StoreError>((store::list_staff_accounts(tx)?, store::list_api_keys(tx)?)))
                .map_err(store_problem)
        })
        .await
}

/// The municipalities of the registry (reference data), by code.
async fn municipalities(state: &AppState) -> Result<Vec<Municipality>, Problem> {
    state
        .blocking(|authority| {
            authority
                .db()
                .read(registry::list_municipalities)
                .map_err(store_problem)
        })
        .await
}

fn breadcrumbs(lang: Lang, here: &str) -> Markup {
    html! {
        nav.breadcrumbs aria-label=(lang.t("現在位置", "Breadcrumbs")) {
            ol {
                li { a href="/admin" { (lang.t("管理", "Administration")) } }
                li { span aria-current="page" { (here) } }
            }
        }
    }
}

// --------------------------------------------------------------- overview

async fn overview(State(state): State<Arc<AppState>>, lang: Lang, Administrator(staff): Administrator) -> Response {
    let (accounts, keys) = match read_access(&state).await {
        Ok(v) => v,
        Err(p) => return problem_page(&p),
    };
    let ctx = PageContext::new(&state, lang, Some(staff), "/admin");
    let enabled = accounts.iter().filter(|a| !a.disabled).count();
    let live = keys.iter().filter(|k| k.revoked_at.is_none()).count();
    let title = lang.t("管理", "Administration");
    let body = html! {
        h1 { (title) }
        p.lead { (lang.t(
            "職員のアカウントと、コンビニ交付端末・検証者のAPIキーを管理します。",
            "Staff accounts, and the API keys of convenience-store kiosks and relying parties."
        )) }
        div.panels {
            section.panel aria-labelledby="accounts-title" {
                h2.panel__title #accounts-title { (lang.t("職員アカウント", "Staff accounts")) }
                p {
                    span.count { (enabled) }
                    " " (lang.t("件が有効", "enabled"))
                    @if accounts.len() > enabled {
                        " / " (accounts.len() - enabled) " " (lang.t("件が無効", "disabled"))
                    }
                }
                p { a href="/admin/accounts" { (lang.t("職員アカウントを管理する", "Manage staff accounts")) } }
            }
            section.panel aria-labelledby="keys-title" {
                h2.panel__title #keys-title { (lang.t("APIキー", "API keys")) }
                p {
                    span.count { (live) }
                    " " (lang.t("件が有効", "in use"))
                    @if keys.len() > live {
                        " / " (keys.len() - live) " " (lang.t("件が失効", "revoked"))
                    }
                }
                p { a href="/admin/api-keys" { (lang.t("APIキーを管理する", "Manage API keys")) } }
            }
            @if ctx.demo {
                section.panel aria-labelledby="demo-title" {
                    h2.panel__title #demo-title { (lang.t("デモの時計と夜間処理", "Demo clock and nightly batch")) }
                    p { a href="/demo" { (lang.t("デモの時計と夜間処理を開く", "Open the demo clock and nightly batch")) } }
                }
            }
        }
    };
    html_response(page(&ctx, title, None, body))
}

// --------------------------------------------------------------- accounts

/// `?done=…&id=…`: what the last change did.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Done {
    done: String,
    id: Option<i64>,
}

/// The account form as posted. `Debug` hides the password.
#[derive(Default, Deserialize)]
#[serde(default)]
struct AccountForm {
    login: String,
    display_name: String,
    role: String,
    municipality: String,
    password: String,
}

impl std::fmt::Debug for AccountForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountForm")
            .field("login", &self.login)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("municipality", &self.municipality)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A form with no fields but the CSRF token and key.
#[derive(Debug, Default, Deserialize)]
struct Empty {}

async fn accounts_page(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    Administrator(staff): Administrator,
    Query(done): Query<Done>,
) -> Response {
    let ctx = PageContext::new(&state, lang, Some(staff), "/admin/accounts");
    render_accounts(
        &state,
        &ctx,
        &done,
        &AccountForm::default(),
        &Errors::default(),
        StatusCode::OK,
    )
    .await
}

async fn render_accounts(
    state: &AppState,
    ctx: &PageContext,
    done: &Done,
    form: &AccountForm,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let lang = ctx.lang;
    let (accounts, _) = match read_access(state).await {
        Ok(v) => v,
        Err(p) => return problem_page(&p),
    };
    let municipalities = match municipalities(state).await {
        Ok(v) => v,
        Err(p) => return problem_page(&p),
    };
    let named = |id: Option<i64>| {
        accounts
            .iter()
            .find(|a| Some(a.id) == id)
            .map(|a| a.login.clone())
            .unwrap_or_default()
    };
    let banner = match done.done.as_str() {
        "created" => Some(Banner::Success(format!(
            "{}{}",
            named(done.id),
            lang.t(" のアカウントを作成しました。", ": the account was created.")
        ))),
        "disabled" => Some(Banner::Success(format!(
            "{}{}",
            named(done.id),
            lang.t(
                " のアカウントを無効にしました。ログイン中のセッションも終了しました。",
                ": the account is disabled and its sessions have ended."
            )
        ))),
        "enabled" => Some(Banner::Success(format!(
            "{}{}",
            named(done.id),
            lang.t(" のアカウントを有効にしました。", ": the account is enabled again.")
        ))),
        "self" => Some(Banner::Error(
            lang.t(
                "ご自身のアカウントは無効にできません。",
                "You cannot disable your own account.",
            )
            .to_owned(),
        )),
        _ => None,
    };
    let me = ctx.staff.as_ref().map(|s| s.account_id);
    let now = Utc::now();
    let title = lang.t("職員アカウント", "Staff accounts");
    let body = html! {
        (breadcrumbs(lang, title))
        h1 { (title) }
        table.table {
            caption { (lang.t("職員アカウントの一覧", "Every staff account")) }
            thead { tr {
                th scope="col" { (lang.t("ログインID", "Login")) }
                th scope="col" { (lang.t("表示名", "Name")) }
                th scope="col" { (lang.t("役割", "Role")) }
                th scope="col" { (lang.t("市区町村", "Municipality")) }
                th scope="col" { (lang.t("状態", "State")) }
                th scope="col" { (lang.t("操作", "Action")) }
            } }
            tbody {
                @for a in &accounts {
                    tr {
                        th scope="row" { code { (a.login) } }
                        td { (a.display_name) }
                        td { (role_name(lang, a.role)) }
                        td { (municipality_label(lang, &municipalities, a.municipality)) }
                        td {
                            @if a.disabled {
                                strong.tag.tag--grey { (lang.t("無効", "Disabled")) }
                            } @else if a.locked_until.is_some_and(|t| t > now) {
                                strong.tag.tag--yellow { (lang.t("ロック中", "Locked")) }
                            } @else {
                                strong.tag.tag--green { (lang.t("有効", "Enabled")) }
                            }
                        }
                        td {
                            @if Some(a.id) == me {
                                (lang.t("（ご自身）", "(you)"))
                            } @else if a.disabled {
                                form method="post" action=(format!("/admin/accounts/{}/enable", a.id)) {
                                    (hidden_fields(ctx))
                                    button.button.button--secondary type="submit" {
                                        (lang.t("有効にする", "Enable"))
                                        span.visually-hidden { " " (a.login) }
                                    }
                                }
                            } @else {
                                form method="post" action=(format!("/admin/accounts/{}/disable", a.id)) {
                                    (hidden_fields(ctx))
                                    button.button.button--warning type="submit" {
                                        (lang.t("無効にする", "Disable"))
                                        span.visually-hidden { " " (a.login) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        p.hint { (lang.t(
            "無効にするとログイン中のセッションも直ちに終了します。",
            "Disabling an account ends its sessions at once."
        )) }
        section.narrow aria-labelledby="create-title" {
            h2 #create-title { (lang.t("アカウントを作成する", "Create an account")) }
            (error_summary_or_refusal(lang, errors))
            (account_form(ctx, form, errors, &municipalities))
        }
    };
    (status, html_response(page(ctx, title, banner, body))).into_response()
}

fn municipality_label(lang: Lang, list: &[Municipality], code: Option<MunicipalityCode>) -> String {
    match code {
        None => lang.t("—", "—").to_owned(),
        Some(code) => match list.iter().find(|m| m.code == code) {
            Some(m) => format!("{} ({code})", lang.t(&m.name_ja, &m.name_en)),
            None => code.to_string(),
        },
    }
}

fn account_form(ctx: &PageContext, form: &AccountForm, errors: &Errors, municipalities: &[Municipality]) -> Markup {
    let lang = ctx.lang;
    let roles = [
        Choice::new(StaffRole::Window.as_str(), lang.t("窓口職員", "Window clerk")).hint(lang.t(
            "1つの市区町村の住民の手続を行います。市区町村を選んでください。",
            "Serves the residents of one municipality: choose it below.",
        )),
        Choice::new(
            StaffRole::Hotline.as_str(),
            lang.t("コールセンター", "Hotline operator"),
        )
        .hint(lang.t(
            "24時間、紛失・盗難の連絡を受けてカードを一時停止します。",
            "Takes loss and theft reports at any hour and suspends cards.",
        )),
        Choice::new(StaffRole::Admin.as_str(), lang.t("管理者", "Administrator")).hint(lang.t(
            "職員アカウントとAPIキーを管理します。",
            "Manages staff accounts and API keys.",
        )),
    ];
    let m_error = errors.get("municipality");
    html! {
        form method="post" action="/admin/accounts" novalidate {
            (hidden_fields(ctx))
            (input(lang, errors, Input::text("login", lang.t("ログインID", "Login"), &form.login)
                .hint(lang.t(
                    "3〜64文字の半角英小文字・数字・「.」「_」「-」。例：chiyoda-tanaka",
                    "3 to 64 of a–z, 0–9, '.', '_' and '-', for example chiyoda-tanaka",
                ))
                .short().autocomplete("off").no_spellcheck()))
            (input(lang, errors, Input::text("display_name", lang.t("表示名", "Display name"), &form.display_name)
                .hint(lang.t("画面と記録に表示される氏名", "The name shown on screen and in the records"))
                .autocomplete("off").no_spellcheck()))
            (radios(lang, errors, Radios::new("role", lang.t("役割", "Role"), &roles, &form.role)))
            div class=(field_class(m_error.is_some())) {
                label.label for="municipality" { (lang.t("市区町村（窓口職員の場合）", "Municipality (window clerks)")) }
                @if municipalities.len() > MAX_SELECT {
                    p.hint #municipality-hint { (lang.t(
                        "全国地方公共団体コード（6桁）。例：千代田区は131016",
                        "The 6-digit local government code, for example 131016 for Chiyoda-ku",
                    )) }
                } @else {
                    p.hint #municipality-hint { (lang.t(
                        "窓口職員は、この市区町村の住民の手続だけを行えます。",
                        "A window clerk acts only for the residents of this municipality.",
                    )) }
                }
                (error_line(lang, "municipality", m_error))
                @let described = described_by("municipality", true, m_error.is_some());
                @if municipalities.len() > MAX_SELECT {
                    input.input.input--short #municipality name="municipality" type="text" inputmode="numeric"
                        autocomplete="off" value=(form.municipality)
                        aria-describedby=[described.as_deref()] aria-invalid=[m_error.map(|_| "true")];
                } @else {
                    select.select #municipality name="municipality"
                        aria-describedby=[described.as_deref()] aria-invalid=[m_error.map(|_| "true")] {
                        option value="" { (lang.t("選んでください（窓口職員以外は不要）", "Choose (window clerks only)")) }
                        @for m in municipalities {
                            @let code = m.code.to_string();
                            option value=(code) selected[form.municipality == code] {
                                (lang.t(&m.name_ja, &m.name_en)) " (" (code) ")"
                            }
                        }
                    }
                }
            }
            (input(lang, errors, Input::text("password", lang.t("初期パスワード", "Initial password"), "")
                .hint(lang.t(
                    "12〜128文字。本人に安全な方法で伝えてください。この画面には二度と表示されません。",
                    "12 to 128 characters. Give it to the person safely; it is never shown again.",
                ))
                .password().autocomplete("new-password").no_spellcheck()))
            button.button type="submit" { (lang.t("アカウントを作成する", "Create the account")) }
        }
    }
}

async fn create_account(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    Administrator(staff): Administrator,
    CsrfForm(form): CsrfForm<AccountForm>,
) -> Response {
    let ctx = PageContext::new(&state, lang, Some(staff.clone()), "/admin/accounts");
    let municipalities = match municipalities(&state).await {
        Ok(v) => v,
        Err(p) => return problem_page(&p),
    };
    let mut errors = Errors::default();
    let login = form.login.trim().to_owned();
    if login.is_empty() {
        errors.add("login", lang.t("ログインIDを入力してください", "Enter a login"));
    } else if bootstrap::check_login(&login).is_err() {
        errors.add(
            "login",
            lang.t(
                "ログインIDは3〜64文字の半角英小文字・数字・「.」「_」「-」で入力してください",
                "A login is 3 to 64 of a–z, 0–9, '.', '_' and '-'",
            ),
        );
    }
    if form.display_name.trim().is_empty() {
        errors.add(
            "display_name",
            lang.t("表示名を入力してください", "Enter the name to show"),
        );
    } else if bootstrap::check_text("display_name", &form.display_name, bootstrap::MAX_DISPLAY_NAME).is_err() {
        errors.add(
            "display_name",
            lang.t(
                "表示名は100文字以内で入力してください",
                "The name must be 100 characters or fewer",
            ),
        );
    }
    let role = StaffRole::parse(&form.role);
    if role.is_none() {
        errors.add("role", lang.t("役割を選んでください", "Choose a role"));
    }
    let code = form.municipality.trim();
    if role == Some(StaffRole::Window) {
        match MunicipalityCode::parse(code) {
            _ if code.is_empty() => errors.add(
                "municipality",
                lang.t(
                    "窓口職員の市区町村を選んでください",
                    "Choose the window clerk's municipality",
                ),
            ),
            Ok(c) if !municipalities.iter().any(|m| m.code == c) => errors.add(
                "municipality",
                lang.t(
                    "この市区町村は登録されていません",
                    "This municipality is not in the registry",
                ),
            ),
            Ok(_) => {}
            Err(_) => errors.add(
                "municipality",
                lang.t(
                    "全国地方公共団体コード（6桁、検査数字つき）を入力してください",
                    "Enter a valid 6-digit local government code",
                ),
            ),
        }
    }
    if check_new_password(&form.password).is_err() {
        errors.add(
            "password",
            lang.t(
                "初期パスワードは12〜128文字で入力してください",
                "The password must be 12 to 128 characters",
            ),
        );
    }
    // Only window staff have a municipality: one left chosen in the list
    // for another role is ignored.
    let municipality = (role == Some(StaffRole::Window)).then_some(code);
    let request = match role.filter(|_| errors.is_empty()) {
        Some(role) => AccountRequest::parse(&login, &form.display_name, role, municipality),
        None => Err(Problem::bad_request("the form has errors")),
    };
    let Ok(request) = request else {
        if errors.is_empty() {
            errors.add("", lang.t("入力内容を確かめてください", "Check the answers"));
        }
        return render_accounts(
            &state,
            &ctx,
            &Done::default(),
            &form,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let password = zeroize::Zeroizing::new(form.password.clone());
    let actor = staff.actor().id;
    let at = state.clock.now();
    let created = state
        .blocking(move |authority| {
            let hash = hash_password(&password)?;
            authority
                .db()
                .transaction(|tx| bootstrap::insert_account(tx, &actor, &request, &hash, at))
                .map_err(|TxProblem(p)| p)
        })
        .await;
    match created {
        Ok(account) => {
            tracing::info!(admin = %staff.login, login = %account.login, role = %account.role, "staff account created");
            Redirect::to(&format!("/admin/accounts?done=created&id={}", account.id)).into_response()
        }
        Err(p) if p.code == "login_taken" => {
            errors.add(
                "login",
                lang.t("このログインIDは既に使われています", "This login is taken already"),
            );
            render_accounts(&state, &ctx, &Done::default(), &form, &errors, StatusCode::CONFLICT).await
        }
        Err(p) if p.status_code().is_client_error() => {
            errors.add("", p.detail.clone().unwrap_or_else(|| p.code.clone()));
            render_accounts(&state, &ctx, &Done::default(), &form, &errors, p.status_code()).await
        }
        Err(p) => problem_page(&p),
    }
}

async fn disable_account(
    State(state): State<Arc<AppState>>,
    Administrator(staff): Administrator,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    set_disabled(&state, &staff, id, true).await
}

async fn enable_account(
    State(state): State<Arc<AppState>>,
    Administrator(staff): Administrator,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    set_disabled(&state, &staff, id, false).await
}

/// Disables (ending its sessions) or re-enables an account.
async fn set_disabled(state: &AppState, staff: &StaffPrincipal, id: i64, disabled: bool) -> Response {
    if disabled && id == staff.account_id {
        return Redirect::to("/admin/accounts?done=self").into_response();
    }
    let actor = staff.actor().id;
    let at = state.clock.now();
    let changed = state
        .blocking(move |authority| {
            authority
                .db()
                .transaction(|tx| bootstrap::set_account_disabled(tx, &actor, id, disabled, at))
                .map_err(|TxProblem(p)| p)
        })
        .await;
    match changed {
        Ok((account, ended)) => {
            tracing::info!(admin = %staff.login, login = %account.login, disabled, sessions_ended = ended, "staff account changed");
            let done = if disabled { "disabled" } else { "enabled" };
            Redirect::to(&format!("/admin/accounts?done={done}&id={id}")).into_response()
        }
        Err(p) => problem_page(&p),
    }
}

// --------------------------------------------------------------- API keys

/// The API key form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct KeyForm {
    name: String,
    kind: String,
}

fn kind_name(lang: Lang, kind: ApiKeyKind) -> &'static str {
    match kind {
        ApiKeyKind::Kiosk => lang.t("コンビニ交付端末", "Convenience-store kiosk"),
        ApiKeyKind::RelyingParty => lang.t("署名検証者・利用者証明検証者", "Relying party"),
    }
}

async fn keys_page(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    Administrator(staff): Administrator,
    Query(done): Query<Done>,
) -> Response {
    let ctx = PageContext::new(&state, lang, Some(staff), "/admin/api-keys");
    render_keys(
        &state,
        &ctx,
        &done,
        &KeyForm::default(),
        &Errors::default(),
        StatusCode::OK,
    )
    .await
}

async fn render_keys(
    state: &AppState,
    ctx: &PageContext,
    done: &Done,
    form: &KeyForm,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let lang = ctx.lang;
    let (_, keys) = match read_access(state).await {
        Ok(v) => v,
        Err(p) => return problem_page(&p),
    };
    let named = keys
        .iter()
        .find(|k| Some(k.id) == done.id)
        .map(|k| k.name.clone())
        .unwrap_or_default();
    let banner = match done.done.as_str() {
        "revoked" => Some(Banner::Success(format!(
            "{named}{}",
            lang.t(
                " のAPIキーを失効させました。このキーでの接続はできなくなりました。",
                ": the API key is revoked and opens nothing any more."
            )
        ))),
        "already_revoked" => Some(Banner::Info(format!(
            "{named}{}",
            lang.t(" のAPIキーは既に失効しています。", ": the API key was revoked already.")
        ))),
        _ => None,
    };
    let title = lang.t("APIキー", "API keys");
    let body = html! {
        (breadcrumbs(lang, title))
        h1 { (title) }
        p.lead { (lang.t(
            "コンビニ交付端末と検証者（電子証明書の有効性を確認する事業者）は、APIキーで接続します。",
            "Convenience-store kiosks and relying parties connect with an API key."
        )) }
        @if keys.is_empty() {
            p { (lang.t("APIキーはまだありません。", "There are no API keys yet.")) }
        } @else {
            table.table {
                caption { (lang.t("APIキーの一覧", "Every API key")) }
                thead { tr {
                    th scope="col" { (lang.t("名前", "Name")) }
                    th scope="col" { (lang.t("種類", "Kind")) }
                    th scope="col" { (lang.t("キーの先頭", "Key prefix")) }
                    th scope="col" { (lang.t("発行日時", "Created")) }
                    th scope="col" { (lang.t("状態", "State")) }
                    th scope="col" { (lang.t("操作", "Action")) }
                } }
                tbody {
                    @for k in &keys {
                        tr {
                            th scope="row" { (k.name) }
                            td { (kind_name(lang, k.kind)) }
                            td { code { (crate::access::API_KEY_PREFIX) (k.prefix) "_…" } }
                            td { (date_time(lang, k.created_at)) }
                            td {
                                @if let Some(at) = k.revoked_at {
                                    strong.tag.tag--grey { (lang.t("失効", "Revoked")) }
                                    " " (date_time(lang, at))
                                } @else {
                                    strong.tag.tag--green { (lang.t("有効", "In use")) }
                                }
                            }
                            td {
                                @if k.revoked_at.is_none() {
                                    form method="post" action=(format!("/admin/api-keys/{}/revoke", k.id)) {
                                        (hidden_fields(ctx))
                                        button.button.button--warning type="submit" {
                                            (lang.t("失効させる", "Revoke"))
                                            span.visually-hidden { " " (k.name) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.hint { (lang.t("失効させたキーは元に戻せません。", "A revoked key cannot be restored.")) }
        }
        section.narrow aria-labelledby="create-title" {
            h2 #create-title { (lang.t("APIキーを発行する", "Create an API key")) }
            (error_summary_or_refusal(lang, errors))
            (key_form(ctx, form, errors))
        }
    };
    (status, html_response(page(ctx, title, banner, body))).into_response()
}

fn key_form(ctx: &PageContext, form: &KeyForm, errors: &Errors) -> Markup {
    let lang = ctx.lang;
    let kinds = [
        Choice::new(ApiKeyKind::Kiosk.as_str(), kind_name(lang, ApiKeyKind::Kiosk)).hint(lang.t(
            "コンビニ交付（証明書の交付）",
            "Certificates printed at convenience stores",
        )),
        Choice::new(
            ApiKeyKind::RelyingParty.as_str(),
            kind_name(lang, ApiKeyKind::RelyingParty),
        )
        .hint(lang.t(
            "電子署名・電子証明書の検証、OCSP",
            "Verifying signatures and certificate status, OCSP",
        )),
    ];
    html! {
        form method="post" action="/admin/api-keys" novalidate {
            (hidden_fields(ctx))
            (input(lang, errors, Input::text("name", lang.t("名前", "Name"), &form.name)
                .hint(lang.t(
                    "キーを持つ端末・事業者が分かる一意の名前（64文字以内の半角英数字・「.」「_」「-」）。例：lawson-shinjuku-01",
                    "A unique name telling who holds the key (up to 64 of A–Z, a–z, 0–9, '.', '_' and '-'), for example lawson-shinjuku-01",
                ))
                .autocomplete("off").no_spellcheck()))
            (radios(lang, errors, Radios::new("kind", lang.t("種類", "Kind"), &kinds, &form.kind)))
            button.button type="submit" { (lang.t("APIキーを発行する", "Create the key")) }
        }
    }
}

async fn create_key(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    Administrator(staff): Administrator,
    CsrfForm(form): CsrfForm<KeyForm>,
) -> Response {
    let ctx = PageContext::new(&state, lang, Some(staff.clone()), "/admin/api-keys");
    let mut errors = Errors::default();
    let name = form.name.trim().to_owned();
    if name.is_empty() {
        errors.add("name", lang.t("名前を入力してください", "Enter a name"));
    } else if bootstrap::check_key_name(&name).is_err() {
        errors.add(
            "name",
            lang.t(
                "名前は64文字以内の半角英数字・「.」「_」「-」で入力してください",
                "A name is up to 64 of A–Z, a–z, 0–9, '.', '_' and '-'",
            ),
        );
    }
    let kind = ApiKeyKind::parse(&form.kind);
    if kind.is_none() {
        errors.add("kind", lang.t("種類を選んでください", "Choose the kind of key"));
    }
    let Some(kind) = kind.filter(|_| errors.is_empty()) else {
        return render_keys(
            &state,
            &ctx,
            &Done::default(),
            &form,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let actor = staff.actor().id;
    let at = state.clock.now();
    let created = state
        .blocking(move |authority| {
            authority
                .db()
                .transaction(|tx| bootstrap::insert_api_key(tx, &actor, &name, kind, None, at))
                .map_err(|TxProblem(p)| p)
        })
        .await;
    match created {
        Ok((key, stored)) => {
            tracing::info!(admin = %staff.login, name = %stored.name, prefix = %stored.prefix, "API key created");
            // Drawn on the POST's own answer, not after a redirect: the
            // whole key exists only here (the registry keeps its hash), so
            // a GET could never show it again.
            render_new_key(&ctx, &key, &stored)
        }
        Err(p) if p.code == "name_taken" => {
            errors.add(
                "name",
                lang.t("この名前のAPIキーは既にあります", "A key with this name exists already"),
            );
            render_keys(&state, &ctx, &Done::default(), &form, &errors, StatusCode::CONFLICT).await
        }
        Err(p) => problem_page(&p),
    }
}

fn render_new_key(ctx: &PageContext, key: &str, stored: &ApiKey) -> Response {
    let lang = ctx.lang;
    let title = lang.t("APIキーを発行しました", "API key created");
    let body = html! {
        div.narrow {
            h1 { (title) }
            div.banner.banner--warning role="alert" {
                h2.banner__title { (lang.t("このキーは今回しか表示されません", "This key is shown only once")) }
                p.banner__text { (lang.t(
                    "この画面を離れると、キーを再び表示することはできません。今すぐ控えて、安全な方法で利用者に渡してください。失くした場合は失効させ、新しいキーを発行します。",
                    "Once you leave this page the key cannot be shown again. Copy it now and hand it over safely. If it is lost, revoke it and create a new one."
                )) }
            }
            div.field {
                label.label for="api-key" { (lang.t("APIキー", "API key")) }
                p.hint #api-key-hint { (lang.t(
                    "接続するときは Authorization: Bearer の後ろにこのキーを付けます。",
                    "Clients send it as Authorization: Bearer followed by the key.",
                )) }
                // A textarea, so that the whole key shows and wraps.
                textarea.textarea.mono #api-key rows="3" readonly autocomplete="off" spellcheck="false"
                    aria-describedby="api-key-hint" { (key) }
            }
            dl.summary {
                dt { (lang.t("名前", "Name")) }
                dd { (stored.name) }
                dt { (lang.t("種類", "Kind")) }
                dd { (kind_name(lang, stored.kind)) }
                dt { (lang.t("キーの先頭", "Key prefix")) }
                dd { code { (crate::access::API_KEY_PREFIX) (stored.prefix) "_…" } }
            }
            p { a.button href="/admin/api-keys" { (lang.t("控えたので一覧に戻る", "I have copied it: back to the list")) } }
        }
    };
    html_response(page(ctx, title, None, body))
}

async fn revoke_key(
    State(state): State<Arc<AppState>>,
    Administrator(staff): Administrator,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let actor = staff.actor().id;
    let at = state.clock.now();
    let revoked = state
        .blocking(move |authority| {
            authority
                .db()
                .transaction(|tx| {
                    let before = bootstrap::api_key_by_id(tx, id)?;
                    bootstrap::revoke_api_key(tx, &actor, id, at)?;
                    Ok::<_, TxProblem>(before.revoked_at.is_none())
                })
                .map_err(|TxProblem(p)| p)
        })
        .await;
    match revoked {
        Ok(true) => {
            tracing::info!(admin = %staff.login, key = id, "API key revoked");
            Redirect::to(&format!("/admin/api-keys?done=revoked&id={id}")).into_response()
        }
        Ok(false) => Redirect::to(&format!("/admin/api-keys?done=already_revoked&id={id}")).into_response(),
        Err(p) => problem_page(&p),
    }
}
