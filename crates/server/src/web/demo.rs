//! The demo's clock and nightly batch (`/demo`, demo mode only): the
//! system date, forms to move it on (a day, 30 days, or to a date) and to
//! run the nightly batch for today, what today's batch did, and the demo's
//! residents with what to try with each.
//!
//! Any logged-in staff member may use it: in a demo the clerk at the
//! window is also the one who wants to see next month. Time only moves
//! forward (records already made must not lie in the future). Outside demo
//! mode every route here answers 404 ([`DemoOnly`]).

use std::sync::Arc;

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{NaiveDate, TimeDelta};
use maud::{html, Markup};
use mynacard_authority::batch::BatchStep;
use mynacard_authority::{AuthorityError, Clock};
use mynacard_store::registry::{self, BatchRun, BatchStatus};
use serde::Deserialize;

use super::{hidden_fields, html_response, page, Banner, Lang, PageContext};
use crate::access::{AnyStaff, CsrfForm};
use crate::demo::Scenario;
use crate::problem::Problem;
use crate::state::AppState;

/// The furthest a single move may take the clock (ten years).
pub const MAX_ADVANCE_DAYS: i64 = 3660;

/// Lets a request through only in demo mode; otherwise answers 404 before
/// any other check (login, CSRF), so the demo's routes do not exist.
#[derive(Debug, Clone, Copy)]
pub struct DemoOnly;

impl FromRequestParts<Arc<AppState>> for DemoOnly {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        if state.settings.demo {
            Ok(DemoOnly)
        } else {
            Err(super::problem_page(&Problem::not_found(format!(
                "no such page: {}",
                parts.uri.path()
            ))))
        }
    }
}

/// The routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/demo", get(clock_page))
        .route("/demo/clock/advance", post(advance))
        .route("/demo/clock/date", post(move_to_date))
        .route("/demo/batch", post(run_batch))
}

/// What the page says after a redirect.
#[derive(Debug, Default, Deserialize)]
struct Done {
    done: Option<String>,
    days: Option<i64>,
    changed: Option<u64>,
    error: Option<String>,
}

impl Done {
    fn banner(&self, lang: Lang) -> Option<Banner> {
        let batch = self.changed.map(|n| match lang {
            Lang::Ja => format!("夜間処理を実行し、{n}件を処理しました。"),
            Lang::En => format!("The nightly batch ran and changed {n} item(s)."),
        });
        let text = |moved: String| {
            Banner::Success(match &batch {
                Some(b) => format!("{moved} {b}"),
                None => moved,
            })
        };
        match (self.done.as_deref(), self.error.as_deref()) {
            (_, Some("date")) => Some(Banner::Error(
                lang.t(
                    "日付は明日以降、10年以内の日を YYYY-MM-DD で指定してください。",
                    "Give a date after today and within ten years, as YYYY-MM-DD.",
                )
                .to_owned(),
            )),
            (_, Some(_)) => Some(Banner::Error(
                lang.t(
                    "夜間処理を実行できませんでした。ログを確認してください。",
                    "The nightly batch failed; see the log.",
                )
                .to_owned(),
            )),
            (Some("advanced"), _) => {
                let days = self.days.unwrap_or(0);
                Some(text(match lang {
                    Lang::Ja => format!("日付を{days}日進めました。"),
                    Lang::En => format!("The date moved on by {days} day(s)."),
                }))
            }
            (Some("batch"), _) => batch.map(Banner::Success),
            _ => None,
        }
    }
}

fn step_name(lang: Lang, step: &str) -> String {
    let name = match step {
        "reconcile" => lang.t("整合処理", "Reconciliation"),
        "lapses" => lang.t("カードの失効", "Card lapses"),
        "card_expiries" => lang.t("カードの有効期限切れ", "Card expiries"),
        "certificate_expiries" => lang.t("電子証明書の有効期限切れ", "Certificate expiries"),
        "card_notices" => lang.t("カードの有効期限通知書", "Card expiry notices"),
        "certificate_notices" => lang.t("電子証明書の有効期限通知書", "Certificate expiry notices"),
        "idempotency_purge" => lang.t("冪等性記録の削除", "Idempotency records purged"),
        other => other,
    };
    name.to_owned()
}

fn run_status(lang: Lang, run: Option<&BatchRun>) -> Markup {
    let (class, text) = match run.map(|r| r.status) {
        None => ("tag tag--grey", lang.t("未実行", "Not run")),
        Some(BatchStatus::Done) => ("tag tag--green", lang.t("完了", "Done")),
        Some(BatchStatus::Running) => ("tag tag--yellow", lang.t("実行中・中断", "Running or interrupted")),
        Some(BatchStatus::Failed) => ("tag tag--red", lang.t("失敗", "Failed")),
    };
    html! { strong class=(class) { (text) } }
}

async fn clock_page(
    _: DemoOnly,
    State(state): State<Arc<AppState>>,
    lang: Lang,
    AnyStaff(staff): AnyStaff,
    Query(done): Query<Done>,
) -> Response {
    let today = state.clock.today();
    let runs = match state
        .run(move |authority| {
            authority
                .db()
                .read(|tx| registry::list_batch_runs(tx, today).map_err(AuthorityError::from))
        })
        .await
    {
        Ok(runs) => runs,
        Err(problem) => return super::problem_page(&problem),
    };
    let residents = crate::demo::wallet(&state.settings.data_dir).residents;
    let ctx = PageContext::new(&state, lang, Some(staff), "/demo");
    let title = lang.t("デモの時計と夜間処理", "Demo clock and nightly batch");
    let tomorrow = today + TimeDelta::days(1);
    let clock_kind = if state.clock.is_fixed() {
        lang.t(
            "固定（--today で指定、このページでのみ進みます）",
            "Fixed (--today; moves only from this page)",
        )
    } else if state.clock.is_simulated() {
        lang.t(
            "実時間で進行（このページで先へ移動済み）",
            "Running, moved on from this page",
        )
    } else {
        lang.t("実時間（システムの時計）", "Real time (the system clock)")
    };
    let body = html! {
        h1 { (title) }
        p.lead { (lang.t(
            "デモ環境の日付を進め、夜間処理（失効、有効期限切れ、有効期限通知書）を実行できます。日付は戻せません。",
            "Move the demo's date on and run the nightly batch (lapses, expiries, expiry notices). The date cannot go back."
        )) }
        h2 #clock-title { (lang.t("システム日付", "System date")) }
        dl.summary aria-labelledby="clock-title" {
            dt { (lang.t("今日", "Today")) }
            dd #system-date { strong { (lang.date(today)) } " (" (today.format("%Y-%m-%d").to_string()) ")" }
            dt { (lang.t("時計", "Clock")) }
            dd { (clock_kind) }
        }
        form method="post" action="/demo/clock/advance" {
            (hidden_fields(&ctx))
            fieldset {
                legend { (lang.t("日付を進める", "Move the date on")) }
                div.field {
                    div.choice {
                        input #advance-batch type="checkbox" name="batch" value="yes" checked;
                        label for="advance-batch" { (lang.t("進めた後に夜間処理を実行する", "Run the nightly batch afterwards")) }
                    }
                }
                div.button-group {
                    button.button type="submit" name="days" value="1" { (lang.t("1日進める", "Advance 1 day")) }
                    button.button type="submit" name="days" value="30" { (lang.t("30日進める", "Advance 30 days")) }
                }
            }
        }
        form method="post" action="/demo/clock/date" {
            (hidden_fields(&ctx))
            fieldset {
                legend { (lang.t("日付を指定して進める", "Move on to a date")) }
                div.field {
                    label.label for="date" { (lang.t("進める先の日付", "The new date")) }
                    p.hint #date-hint { (lang.t("明日以降の日付（例: ", "A day after today (e.g. ")) (tomorrow.format("%Y-%m-%d").to_string()) (lang.t("）", ")")) }
                    input.input.input--short #date name="date" type="date" required
                        min=(tomorrow.format("%Y-%m-%d").to_string()) aria-describedby="date-hint";
                }
                div.field {
                    div.choice {
                        input #date-batch type="checkbox" name="batch" value="yes" checked;
                        label for="date-batch" { (lang.t("進めた後に夜間処理を実行する", "Run the nightly batch afterwards")) }
                    }
                }
                button.button type="submit" { (lang.t("この日付へ進める", "Move to this date")) }
            }
        }
        h2 { (lang.t("夜間処理", "Nightly batch")) }
        p { (lang.t(
            "今日の日付で夜間処理を実行します。同じ日に2回目を実行しても何も変わりません。",
            "Runs the nightly batch for today. A second run on the same day changes nothing."
        )) }
        form method="post" action="/demo/batch" {
            (hidden_fields(&ctx))
            button.button.button--secondary type="submit" { (lang.t("今日の夜間処理を実行する", "Run today's nightly batch")) }
        }
        table.table {
            caption { (lang.t("今日の夜間処理", "Today's nightly batch")) " — " (lang.date(today)) }
            thead { tr {
                th scope="col" { (lang.t("処理", "Step")) }
                th scope="col" { (lang.t("状態", "Status")) }
                th scope="col" .numeric { (lang.t("件数", "Count")) }
            } }
            tbody {
                @for step in BatchStep::ALL {
                    @let run = runs.iter().find(|r| r.step == step.as_str());
                    tr {
                        th scope="row" { (step_name(lang, step.as_str())) }
                        td { (run_status(lang, run)) }
                        td.numeric { (run.map(|r| r.processed.to_string()).unwrap_or_else(|| "—".into())) }
                    }
                }
            }
        }
        @if !residents.is_empty() {
            table.table {
                caption { (lang.t("デモの住民", "Demo residents")) }
                thead { tr {
                    th scope="col" { (lang.t("氏名", "Name")) }
                    th scope="col" { (lang.t("生年月日", "Date of birth")) }
                    th scope="col" { (lang.t("住所地", "Municipality")) }
                    th scope="col" { (lang.t("状況（作成時）", "Situation (when seeded)")) }
                    th scope="col" { (lang.t("試せること", "What to try")) }
                } }
                tbody {
                    @for r in &residents {
                        tr {
                            th scope="row" { (r.name) br; span.hint { (r.name_kana) } }
                            td { (lang.date(r.birth_date)) }
                            td { (r.municipality_name) }
                            td { strong class=(scenario_tag(r.scenario)) { (r.scenario.label(lang)) } }
                            td {
                                (r.scenario.what_to_try(lang))
                                @if let Some(serial) = &r.card_serial {
                                    " "
                                    a href=(format!("/demo/reader/cards/{serial}")) { (lang.t("カードを読み取る", "Read the card")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    html_response(page(&ctx, title, done.banner(lang), body))
}

/// The tag colour of a scenario (the text says it; colour repeats it).
pub fn scenario_tag(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::PinLocked | Scenario::Suspended => "tag tag--red",
        Scenario::RenewalDue | Scenario::StayEnding | Scenario::MovedOut => "tag tag--yellow",
        Scenario::AwaitingDelivery | Scenario::FaceCard => "tag tag--blue",
        Scenario::NoCard => "tag tag--grey",
        Scenario::Ordinary => "tag tag--green",
    }
}

#[derive(Debug, Deserialize)]
struct AdvanceForm {
    days: i64,
    batch: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DateForm {
    date: String,
    batch: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BatchForm {}

/// Runs the nightly batch for the clock's today; answers what it changed.
async fn batch_today(state: &AppState, who: &str) -> Result<u64, Problem> {
    let today = state.clock.today();
    let report = state
        .run(move |authority| authority.run_daily_batch(today, &mut |_| {}))
        .await?;
    tracing::info!(date = %today, by = %who, changed = report.total(), "demo: nightly batch");
    Ok(report.total())
}

/// Where to go after moving the clock by `days` (and maybe the batch).
async fn after_move(state: &AppState, who: &str, days: i64, batch: bool) -> Response {
    let mut to = format!("/demo?done=advanced&days={days}");
    if batch {
        match batch_today(state, who).await {
            Ok(n) => to.push_str(&format!("&changed={n}")),
            Err(problem) => {
                tracing::error!(detail = ?problem.detail, "demo: the nightly batch failed");
                to.push_str("&error=batch");
            }
        }
    }
    Redirect::to(&to).into_response()
}

async fn advance(
    _: DemoOnly,
    State(state): State<Arc<AppState>>,
    AnyStaff(staff): AnyStaff,
    CsrfForm(form): CsrfForm<AdvanceForm>,
) -> Response {
    if !(1..=MAX_ADVANCE_DAYS).contains(&form.days) {
        return Redirect::to("/demo?error=date").into_response();
    }
    state.clock.advance_days(form.days);
    tracing::info!(by = %staff.login, days = form.days, today = %state.clock.today(), "demo: the clock moved on");
    after_move(&state, &staff.login, form.days, form.batch.is_some()).await
}

async fn move_to_date(
    _: DemoOnly,
    State(state): State<Arc<AppState>>,
    AnyStaff(staff): AnyStaff,
    CsrfForm(form): CsrfForm<DateForm>,
) -> Response {
    let today = state.clock.today();
    let Ok(date) = NaiveDate::parse_from_str(form.date.trim(), "%Y-%m-%d") else {
        return Redirect::to("/demo?error=date").into_response();
    };
    let days = (date - today).num_days();
    if !(1..=MAX_ADVANCE_DAYS).contains(&days) {
        return Redirect::to("/demo?error=date").into_response();
    }
    state.clock.set_day(date);
    tracing::info!(by = %staff.login, today = %date, "demo: the clock moved to a date");
    after_move(&state, &staff.login, days, form.batch.is_some()).await
}

async fn run_batch(
    _: DemoOnly,
    State(state): State<Arc<AppState>>,
    AnyStaff(staff): AnyStaff,
    CsrfForm(_): CsrfForm<BatchForm>,
) -> Response {
    match batch_today(&state, &staff.login).await {
        Ok(n) => Redirect::to(&format!("/demo?done=batch&changed={n}")).into_response(),
        Err(problem) => {
            tracing::error!(detail = ?problem.detail, "demo: the nightly batch failed");
            Redirect::to("/demo?error=batch").into_response()
        }
    }
}
