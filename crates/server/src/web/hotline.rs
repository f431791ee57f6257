//! コールセンター (マイナンバー総合フリーダイヤル): a caller reports a card lost
//! or stolen, at any hour (no office-hours check: rules.md §9), and the
//! operator finds the card by what the caller can say about the holder and
//! suspends it at once.
//!
//! The journey is GOV.UK's "question pages, check answers, confirmation":
//!
//! 1. `GET /hotline`: the search form (氏名, 生年月日, the start of the 住所).
//!    It posts (`POST /hotline`) so that the holder's name and birth date
//!    never sit in a URL, a browser history or an access log; the results
//!    are drawn on the POST's answer. A search changes nothing (it only
//!    records the disclosure), so a reload repeating it is harmless.
//! 2. `GET /hotline/cards/{serial}/suspend`: what happened, who is calling,
//!    when and where, the police report.
//! 3. `POST` of that form with `step=review`: the answers to check and what
//!    suspension does, stated plainly; `step=edit` goes back to the form
//!    with the answers kept.
//! 4. `POST` with `step=confirm`: the authority suspends the card and puts
//!    its certificates on hold; the answer is the report page (受付番号 and
//!    what the holder must do next).
//!
//! The report page is the confirming POST's own answer (200), not a
//! redirect: the authority gives the hotline no read of a loss report (the
//! hotline may not read records at all, `records.rs`), so a GET after a
//! redirect would have nothing to draw it from but the URL. The POST
//! carries the idempotency key drawn with the confirmation page, so a reload
//! sends the same key and the authority answers the same suspension again
//! without acting twice.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{Datelike, NaiveDate};
use maud::{html, Markup};
use mynacard_authority::loss::{CardSummary, LossReport, LostCard, Suspended};
use mynacard_authority::Clock;
use mynacard_rules::numbers::MunicipalityCode;
use mynacard_store::registry::{self, CardStatus, LossCause, LossChannel};
use serde::Deserialize;

use super::forms::{date_time, error_summary_or_refusal, input, radios, textarea, Choice, Errors, Input, Radios};
use super::{hidden_fields, html_response, page, problem_page, Lang, PageContext};
use crate::access::{CsrfForm, HotlineOperator, StaffPrincipal};
use crate::idempotency::IdempotencyKey;
use crate::problem::Problem;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/hotline", get(search_page).post(search)).route(
        "/hotline/cards/{serial}/suspend",
        get(suspend_page).post(suspend_submit),
    )
}

// ------------------------------------------------------------------ search

/// The search form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SearchForm {
    name: String,
    birth_date: String,
    address: String,
}

/// What a search found: the cards, and the municipalities' names.
struct Found {
    cards: Vec<CardSummary>,
    names: Vec<(String, String, String)>,
}

async fn search_page(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    HotlineOperator(staff): HotlineOperator,
) -> Response {
    let ctx = PageContext::new(&state, lang, Some(staff), "/hotline");
    render_search(&ctx, &SearchForm::default(), &Errors::default(), None, StatusCode::OK)
}

async fn search(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    HotlineOperator(staff): HotlineOperator,
    CsrfForm(form): CsrfForm<SearchForm>,
) -> Response {
    let actor = staff.actor();
    let ctx = PageContext::new(&state, lang, Some(staff), "/hotline");
    let mut errors = Errors::default();
    let name = form.name.trim().to_owned();
    if name.is_empty() {
        errors.add("name", lang.t("氏名を入力してください", "Enter the holder's full name"));
    } else if name.chars().count() > 100 {
        errors.add(
            "name",
            lang.t(
                "氏名は100文字以内で入力してください",
                "The name must be 100 characters or fewer",
            ),
        );
    }
    let birth_date = match parse_birth_date(&form.birth_date) {
        _ if form.birth_date.trim().is_empty() => {
            errors.add(
                "birth_date",
                lang.t("生年月日を入力してください", "Enter the holder's date of birth"),
            );
            None
        }
        Some(d) if d > state.clock.today() => {
            errors.add(
                "birth_date",
                lang.t(
                    "生年月日は今日以前の日付にしてください",
                    "The date of birth must be in the past",
                ),
            );
            None
        }
        Some(d) => Some(d),
        None => {
            errors.add(
                "birth_date",
                lang.t(
                    "生年月日は「1980-04-01」「1980年4月1日」「昭和55年4月1日」のように入力してください",
                    "Enter the date of birth like 1980-04-01",
                ),
            );
            None
        }
    };
    let address = form.address.trim().to_owned();
    if address.chars().count() > 200 {
        errors.add(
            "address",
            lang.t(
                "住所は200文字以内で入力してください",
                "The address must be 200 characters or fewer",
            ),
        );
    }
    let Some(birth_date) = birth_date.filter(|_| errors.is_empty()) else {
        return render_search(&ctx, &form, &errors, None, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let address_prefix = (!address.is_empty()).then_some(address);
    let found = state
        .blocking(move |authority| {
            let cards = authority
                .find_cards_for_hotline(&actor, &name, birth_date, address_prefix.as_deref())
                .map_err(Problem::from)?;
            // The municipalities' names: reference data, not a resident's.
            let mut names = Vec::new();
            for card in &cards {
                let Ok(code) = MunicipalityCode::parse(&card.municipality) else {
                    continue;
                };
                let m = authority
                    .db()
                    .read(|tx| registry::get_municipality(tx, code))
                    .map_err(|e| Problem::from(mynacard_authority::AuthorityError::from(e)))?;
                if let Some(m) = m {
                    names.push((card.municipality.clone(), m.name_ja, m.name_en));
                }
            }
            Ok(Found { cards, names })
        })
        .await;
    match found {
        Ok(found) => render_search(&ctx, &form, &errors, Some(&found), StatusCode::OK),
        Err(problem) => problem_page(&problem),
    }
}

fn render_search(
    ctx: &PageContext,
    form: &SearchForm,
    errors: &Errors,
    found: Option<&Found>,
    status: StatusCode,
) -> Response {
    let lang = ctx.lang;
    let title = lang.t("紛失・盗難によるカードの一時利用停止", "Suspend a lost or stolen card");
    let body = html! {
        h1 { (title) }
        p.lead { (lang.t(
            "紛失・盗難の連絡を受けたら、カードの持ち主を特定して一時利用停止します。24時間受け付けます。",
            "When a caller reports a card lost or stolen, find the holder's card and suspend it. Open 24 hours a day."
        )) }
        (error_summary_or_refusal(lang, errors))
        section aria-labelledby="search-title" {
            h2 #search-title { (lang.t("カードの持ち主を探す", "Find the card holder")) }
            form method="post" action="/hotline" novalidate {
                (hidden_fields(ctx))
                (input(lang, errors, Input::text("name", lang.t("氏名", "Full name"), &form.name)
                    .hint(lang.t("住民票に記載の氏名。空白の有無は問いません。", "As in the resident register; spaces are ignored."))
                    .autocomplete("off").no_spellcheck()))
                (input(lang, errors, Input::text("birth_date", lang.t("生年月日", "Date of birth"), &form.birth_date)
                    .hint(lang.t("例：1980-04-01、1980年4月1日、昭和55年4月1日", "For example 1980-04-01 or 1980/4/1"))
                    .short().autocomplete("off").no_spellcheck()))
                (input(lang, errors, Input::text("address", lang.t("住所（先頭から）", "Address (its beginning)"), &form.address)
                    .hint(lang.t(
                        "同姓同名の方を区別するときに、都道府県・市区町村から入力します。例：東京都千代田区",
                        "To tell namesakes apart: the prefecture and municipality first, for example 東京都千代田区.",
                    ))
                    .optional().autocomplete("off").no_spellcheck()))
                button.button type="submit" { (lang.t("検索する", "Search")) }
            }
        }
        @if let Some(found) = found {
            (results(lang, found))
        }
    };
    (status, html_response(page(ctx, title, None, body))).into_response()
}

fn results(lang: Lang, found: &Found) -> Markup {
    let municipality = |code: &str| -> String {
        found
            .names
            .iter()
            .find(|(c, _, _)| c == code)
            .map(|(_, ja, en)| format!("{} ({code})", lang.t(ja, en)))
            .unwrap_or_else(|| code.to_owned())
    };
    html! {
        section aria-labelledby="results-title" {
            h2 #results-title { (lang.t("検索結果", "Results")) }
            @if found.cards.is_empty() {
                p role="status" { (lang.t(
                    "該当するカードは見つかりませんでした。氏名と生年月日を確かめてください。交付前のカードや失効したカードは表示されません。",
                    "No card was found. Check the name and the date of birth. Cards not yet delivered and lapsed cards are not shown."
                )) }
            } @else {
                p role="status" {
                    @if lang == Lang::Ja { (found.cards.len()) "件のカードが見つかりました。" }
                    @else { (found.cards.len()) (if found.cards.len() == 1 { " card found." } else { " cards found." }) }
                    @if found.cards.len() > 1 {
                        " " (lang.t("住所地を確かめてから停止してください。", "Check the municipality before suspending."))
                    }
                }
                table.table {
                    caption { (lang.t("該当するカード", "Matching cards")) }
                    thead { tr {
                        th scope="col" { (lang.t("カードのシリアル番号", "Card serial number")) }
                        th scope="col" { (lang.t("状態", "Status")) }
                        th scope="col" { (lang.t("種類", "Type")) }
                        th scope="col" { (lang.t("有効期限", "Expires")) }
                        th scope="col" { (lang.t("住所地", "Municipality")) }
                        th scope="col" { (lang.t("操作", "Action")) }
                    } }
                    tbody {
                        @for card in &found.cards {
                            tr {
                                th scope="row" { code { (card.card_serial) } }
                                td { (card_status_tag(lang, card.status)) }
                                td { @if card.face_recognition { (lang.t("顔認証マイナンバーカード", "Face-recognition card")) } @else { (lang.t("通常のカード", "Standard card")) } }
                                td { (lang.date(card.expires_on)) }
                                td { (municipality(&card.municipality)) }
                                td {
                                    @if card.status == CardStatus::Active {
                                        a.button href=(format!("/hotline/cards/{}/suspend", card.card_serial)) {
                                            (lang.t("一時利用停止する", "Suspend"))
                                            span.visually-hidden { " " (lang.t("カード", "card")) " " (card.card_serial) }
                                        }
                                    } @else {
                                        (lang.t("操作はありません", "No action"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A card's status as a text tag (colour is never the only signal).
fn card_status_tag(lang: Lang, status: CardStatus) -> Markup {
    let (class, text) = match status {
        CardStatus::Active => ("tag tag--green", lang.t("利用中", "Active")),
        CardStatus::Suspended => ("tag tag--red", lang.t("一時停止中", "Suspended")),
        CardStatus::Produced => ("tag tag--grey", lang.t("交付前", "Not yet delivered")),
        CardStatus::Lapsed => ("tag tag--grey", lang.t("失効", "Lapsed")),
        CardStatus::Expired => ("tag tag--grey", lang.t("有効期限切れ", "Expired")),
        CardStatus::Returned => ("tag tag--grey", lang.t("返納済み", "Returned")),
        CardStatus::Invalid => ("tag tag--grey", lang.t("廃止", "Invalidated")),
    };
    html! { strong class=(class) { (text) } }
}

/// A date of birth as callers say it: `1980-04-01`, `1980/4/1`,
/// `1980.4.1`, `1980年4月1日`, `19800401`, or in the Japanese era
/// (`昭和55年4月1日`, `平成元年1月8日`), full-width digits allowed.
fn parse_birth_date(text: &str) -> Option<NaiveDate> {
    let text: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '／' => '/',
            '－' | '‐' | '−' | 'ー' => '-',
            '．' => '.',
            other => other,
        })
        .collect();
    const ERAS: [(&str, i32); 5] = [
        ("明治", 1868),
        ("大正", 1912),
        ("昭和", 1926),
        ("平成", 1989),
        ("令和", 2019),
    ];
    let (era, rest) = ERAS
        .iter()
        .find_map(|(name, start)| text.strip_prefix(name).map(|rest| (Some(*start), rest)))
        .unwrap_or((None, text.as_str()));
    let rest = rest.replacen('元', "1", 1);
    let parts: Vec<&str> = rest
        .split(['-', '/', '.', '年', '月', '日'])
        .filter(|p| !p.is_empty())
        .collect();
    let numbers: Vec<u32> = match parts.as_slice() {
        [all] if all.len() == 8 && all.bytes().all(|b| b.is_ascii_digit()) && era.is_none() => {
            vec![all[..4].parse().ok()?, all[4..6].parse().ok()?, all[6..].parse().ok()?]
        }
        [y, m, d] => vec![y.parse().ok()?, m.parse().ok()?, d.parse().ok()?],
        _ => return None,
    };
    let year = i32::try_from(numbers[0]).ok()?;
    let year = match era {
        Some(start) if (1..=64).contains(&year) => start + year - 1,
        Some(_) => return None,
        None if year >= 1000 => year,
        None => return None,
    };
    let date = NaiveDate::from_ymd_opt(year, numbers[1], numbers[2])?;
    (date.year() >= 1868).then_some(date)
}

// ------------------------------------------------------------ suspension

/// The suspension form as posted (every step carries every answer).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct SuspendForm {
    /// `review`, `edit` or `confirm`.
    step: String,
    cause: String,
    relation: String,
    lost_when: String,
    lost_where: String,
    police: String,
    police_number: String,
    memo: String,
    #[serde(rename = "_key")]
    key: String,
}

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Holder,
    Family,
    Representative,
    Other,
}

impl Relation {
    const ALL: [Relation; 4] = [
        Relation::Holder,
        Relation::Family,
        Relation::Representative,
        Relation::Other,
    ];

    fn code(self) -> &'static str {
        match self {
            Relation::Holder => "holder",
            Relation::Family => "family",
            Relation::Representative => "representative",
            Relation::Other => "other",
        }
    }

    fn name(self, lang: Lang) -> &'static str {
        match self {
            Relation::Holder => lang.t("本人", "The holder"),
            Relation::Family => lang.t("家族", "A family member"),
            Relation::Representative => lang.t("法定代理人", "A legal representative"),
            Relation::Other => lang.t("その他", "Someone else"),
        }
    }

    fn parse(text: &str) -> Option<Relation> {
        Relation::ALL.into_iter().find(|r| r.code() == text)
    }
}

fn cause_name(lang: Lang, cause: LossCause) -> &'static str {
    match cause {
        LossCause::Loss => lang.t("紛失", "Lost"),
        LossCause::Theft => lang.t("盗難", "Stolen"),
        LossCause::Fire => lang.t("焼失", "Destroyed by fire"),
    }
}

fn police_name(lang: Lang, police: &str) -> &'static str {
    match police {
        "reported" => lang.t("届出済み", "Reported"),
        "not_yet" => lang.t("まだ届け出ていない", "Not yet reported"),
        _ => lang.t("—", "—"),
    }
}

/// The checked answers.
#[derive(Debug, Clone)]
struct Answers {
    cause: LossCause,
    relation: Relation,
}

/// Checks the answers. A free-text answer holding a My Number is refused
/// and emptied, so that the page drawn again does not carry it.
fn check(lang: Lang, form: &mut SuspendForm) -> (Option<Answers>, Errors) {
    let mut errors = Errors::default();
    let cause = LossCause::parse(&form.cause);
    if cause.is_none() {
        errors.add(
            "cause",
            lang.t(
                "紛失・盗難・焼失のどれかを選んでください",
                "Select what happened to the card",
            ),
        );
    }
    let relation = Relation::parse(&form.relation);
    if relation.is_none() {
        errors.add(
            "relation",
            lang.t("連絡してきた方を選んでください", "Select who is calling"),
        );
    }
    let limits = [
        ("lost_when", &mut form.lost_when, 100),
        ("lost_where", &mut form.lost_where, 200),
        ("police_number", &mut form.police_number, 50),
        ("memo", &mut form.memo, 500),
    ];
    for (field, value, max) in limits {
        if value.trim().chars().count() > max {
            errors.add(
                field,
                match lang {
                    Lang::Ja => format!("{max}文字以内で入力してください"),
                    Lang::En => format!("Use {max} characters or fewer"),
                },
            );
        } else if mynacard_rules::numbers::contains_my_number(value) {
            errors.add(
                field,
                lang.t(
                    "個人番号（マイナンバー）と思われる12桁の番号は入力できません",
                    "Do not enter a My Number (a 12-digit individual number)",
                ),
            );
            value.clear();
        }
    }
    if cause != Some(LossCause::Fire) && !matches!(form.police.as_str(), "reported" | "not_yet") {
        errors.add(
            "police",
            lang.t(
                "警察に届け出たかどうかを選んでください",
                "Select whether the loss was reported to the police",
            ),
        );
    }
    match (cause, relation) {
        (Some(cause), Some(relation)) if errors.is_empty() => (Some(Answers { cause, relation }), errors),
        _ => (None, errors),
    }
}

/// The note the authority keeps in the audit log with the report (never a
/// My Number: [`check`] refuses one).
fn note(form: &SuspendForm, answers: &Answers) -> String {
    let mut parts = vec![format!("連絡者：{}", answers.relation.name(Lang::Ja))];
    let mut push = |label: &str, value: &str| {
        let value = value.trim();
        if !value.is_empty() {
            parts.push(format!("{label}：{value}"));
        }
    };
    push("紛失に気付いた日時", &form.lost_when);
    push("場所", &form.lost_where);
    if answers.cause != LossCause::Fire {
        push("警察への届出", police_name(Lang::Ja, &form.police));
        push("受理番号", &form.police_number);
    }
    push("メモ", &form.memo);
    parts.join("。")
}

/// A card serial from the path: the authority's upper-case hex.
fn checked_serial(serial: &str) -> Result<&str, Problem> {
    if !serial.is_empty() && serial.len() <= 64 && serial.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(serial)
    } else {
        Err(Problem::not_found("no such card"))
    }
}

async fn suspend_page(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    HotlineOperator(staff): HotlineOperator,
    Path(serial): Path<String>,
) -> Response {
    let serial = match checked_serial(&serial) {
        Ok(s) => s,
        Err(p) => return problem_page(&p),
    };
    let ctx = PageContext::new(&state, lang, Some(staff), &suspend_path(serial));
    render_form(
        &ctx,
        serial,
        &SuspendForm::default(),
        &Errors::default(),
        StatusCode::OK,
    )
}

fn suspend_path(serial: &str) -> String {
    format!("/hotline/cards/{serial}/suspend")
}

async fn suspend_submit(
    State(state): State<Arc<AppState>>,
    lang: Lang,
    HotlineOperator(staff): HotlineOperator,
    Path(serial): Path<String>,
    CsrfForm(mut form): CsrfForm<SuspendForm>,
) -> Response {
    let serial = match checked_serial(&serial) {
        Ok(s) => s.to_owned(),
        Err(p) => return problem_page(&p),
    };
    let ctx = PageContext::new(&state, lang, Some(staff.clone()), &suspend_path(&serial));
    if form.step == "edit" {
        return render_form(&ctx, &serial, &form, &Errors::default(), StatusCode::OK);
    }
    let (answers, errors) = check(lang, &mut form);
    let Some(answers) = answers else {
        return render_form(&ctx, &serial, &form, &errors, StatusCode::UNPROCESSABLE_ENTITY);
    };
    if form.step != "confirm" {
        return render_review(&ctx, &serial, &form, &answers);
    }
    let key = match IdempotencyKey::parse(&form.key) {
        Ok(k) => k.scoped(&staff.key_scope()),
        Err(p) => return problem_page(&p),
    };
    let report = LossReport {
        card: LostCard::Serial(serial.clone()),
        cause: answers.cause,
        reported_at: None,
        channel: LossChannel::Hotline,
        note: Some(note(&form, &answers)),
    };
    let actor = staff.actor();
    let done = state
        .run(move |authority| authority.suspend_lost_card(&actor, &key, &report))
        .await;
    match done {
        Ok(done) => {
            tracing::info!(card = %done.card_serial, report = done.loss_report_id, operator = %staff.login, "card suspended by the hotline");
            render_report(&ctx, &staff, &done, answers.cause)
        }
        Err(problem) if problem.status_code().is_server_error() => problem_page(&problem),
        Err(problem) => {
            let mut errors = Errors::default();
            errors.add("", refusal_message(lang, &problem));
            render_form(&ctx, &serial, &form, &errors, problem.status_code())
        }
    }
}

/// What a refused suspension tells the operator.
fn refusal_message(lang: Lang, problem: &Problem) -> String {
    let text = match problem.code.as_str() {
        "card_suspended" => lang.t(
            "このカードは既に一時停止されています。改めて停止する必要はありません。",
            "This card is already suspended; nothing more is needed.",
        ),
        "card_not_in_use" => lang.t(
            "このカードは利用中ではない（失効・返納など）ため、一時停止できません。",
            "This card is not in use (lapsed, returned, …) and cannot be suspended.",
        ),
        "not_found" => lang.t(
            "カードが見つかりません。持ち主の検索からやり直してください。",
            "The card was not found. Search for the holder again.",
        ),
        "state_changed" | "conflict" => lang.t(
            "カードの状態が処理中に変わりました。もう一度お試しください。",
            "The card changed meanwhile. Try again.",
        ),
        "forbidden" => lang.t("この操作は許可されていません。", "You may not do this."),
        _ => return problem.detail.clone().unwrap_or_else(|| problem.code.clone()),
    };
    text.to_owned()
}

fn render_form(ctx: &PageContext, serial: &str, form: &SuspendForm, errors: &Errors, status: StatusCode) -> Response {
    let lang = ctx.lang;
    let title = lang.t("カードの一時利用停止", "Suspend a card");
    let causes: Vec<Choice> = LossCause::ALL
        .iter()
        .map(|c| Choice::new(c.as_str(), cause_name(lang, *c)))
        .collect();
    let relations: Vec<Choice> = Relation::ALL
        .iter()
        .map(|r| Choice::new(r.code(), r.name(lang)))
        .collect();
    let police = [
        Choice::new("reported", police_name(lang, "reported")),
        Choice::new("not_yet", police_name(lang, "not_yet")),
    ];
    let body = html! {
        div.narrow {
            p { a href="/hotline" { (lang.t("持ち主の検索に戻る", "Back to the search")) } }
            h1 { (title) }
            dl.summary {
                dt { (lang.t("カードのシリアル番号", "Card serial number")) }
                dd { code { (serial) } }
            }
            (error_summary_or_refusal(lang, errors))
            form method="post" action=(suspend_path(serial)) novalidate {
                (hidden_fields(ctx))
                input type="hidden" name="step" value="review";
                (radios(lang, errors, Radios::new(
                    "cause", lang.t("カードはどうなりましたか", "What happened to the card?"), &causes, &form.cause,
                ).inline()))
                (radios(lang, errors, Radios::new("relation", lang.t("連絡してきた方", "Who is calling?"), &relations, &form.relation)
                    .hint(lang.t("カードの持ち主との関係", "Their relation to the card holder"))))
                (input(lang, errors, Input::text("lost_when", lang.t("紛失・盗難に気付いた日時", "When the loss was noticed"), &form.lost_when)
                    .hint(lang.t("分かる範囲で。例：11月28日の夕方", "As far as the caller knows, for example 28 November, evening"))
                    .optional().no_spellcheck()))
                (input(lang, errors, Input::text("lost_where", lang.t("紛失・盗難の場所", "Where it was lost"), &form.lost_where)
                    .hint(lang.t("例：JR新宿駅の構内", "For example Shinjuku station"))
                    .optional().no_spellcheck()))
                (radios(lang, errors, Radios::new(
                    "police", lang.t("警察への届出（紛失・盗難の場合）", "Reported to the police? (loss or theft)"), &police, &form.police,
                ).hint(lang.t("焼失の場合は答えなくてかまいません。", "Not needed when the card was destroyed by fire.")).inline()))
                (input(lang, errors, Input::text("police_number", lang.t("遺失届・盗難届の受理番号", "Police report receipt number"), &form.police_number)
                    .hint(lang.t("届出済みで、番号が分かる場合", "If reported and the caller has the number"))
                    .short().optional().no_spellcheck()))
                (textarea(lang, errors, "memo", lang.t("メモ", "Note"),
                    lang.t("対応の記録として残ります。個人番号（マイナンバー）は入力しないでください。",
                        "Kept with the report. Never enter a My Number."),
                    &form.memo))
                button.button type="submit" { (lang.t("次へ（内容の確認）", "Continue")) }
            }
        }
    };
    (status, html_response(page(ctx, title, None, body))).into_response()
}

fn render_review(ctx: &PageContext, serial: &str, form: &SuspendForm, answers: &Answers) -> Response {
    let lang = ctx.lang;
    let title = lang.t("一時利用停止の確認", "Check and suspend the card");
    let shown = |text: &str| -> String {
        let text = text.trim();
        if text.is_empty() {
            lang.t("（なし）", "(none)").to_owned()
        } else {
            text.to_owned()
        }
    };
    let body = html! {
        div.narrow {
            h1 { (title) }
            h2 { (lang.t("届出の内容", "The report")) }
            dl.summary {
                dt { (lang.t("カードのシリアル番号", "Card serial number")) }
                dd { code { (serial) } }
                dt { (lang.t("カードはどうなったか", "What happened")) }
                dd { (cause_name(lang, answers.cause)) }
                dt { (lang.t("連絡してきた方", "Who is calling")) }
                dd { (answers.relation.name(lang)) }
                dt { (lang.t("気付いた日時", "When noticed")) }
                dd { (shown(&form.lost_when)) }
                dt { (lang.t("場所", "Where")) }
                dd { (shown(&form.lost_where)) }
                @if answers.cause != LossCause::Fire {
                    dt { (lang.t("警察への届出", "Police report")) }
                    dd {
                        (police_name(lang, &form.police))
                        @if !form.police_number.trim().is_empty() {
                            " (" (lang.t("受理番号 ", "receipt ")) (form.police_number.trim()) ")"
                        }
                    }
                }
                dt { (lang.t("メモ", "Note")) }
                dd { (shown(&form.memo)) }
            }
            div.banner.banner--warning role="note" aria-labelledby="what-title" {
                h2.banner__title #what-title { (lang.t("一時利用停止をすると", "What suspension does")) }
                ul {
                    li { (lang.t(
                        "このカードは直ちに一時停止され、カードの電子証明書（利用者証明用・署名用）が一時保留されます。確認する側には失効と同じに見えます。",
                        "The card is suspended at once and its electronic certificates (authentication and signature) are put on hold: relying parties see them as revoked."
                    )) }
                    li { (lang.t(
                        "カードでのログイン・電子申請・コンビニ交付・健康保険証としての利用などができなくなります。",
                        "The card can no longer be used to log in, to sign applications, at convenience-store kiosks or as a health insurance card."
                    )) }
                    li { (lang.t(
                        "保留した電子証明書は元に戻りません。カードが見つかったときは、住所地の市区町村窓口で一時停止を解除し、電子証明書を新しく発行します。",
                        "The hold is never released: if the card is found, the municipality's window lifts the suspension and issues new certificates."
                    )) }
                    li { (lang.t(
                        "スマートフォン用電子証明書はそのまま使えます。",
                        "The holder's smartphone certificates are not affected."
                    )) }
                }
            }
            form method="post" action=(suspend_path(serial)) novalidate {
                (hidden_fields(ctx))
                input type="hidden" name="cause" value=(form.cause);
                input type="hidden" name="relation" value=(form.relation);
                input type="hidden" name="lost_when" value=(form.lost_when);
                input type="hidden" name="lost_where" value=(form.lost_where);
                input type="hidden" name="police" value=(form.police);
                input type="hidden" name="police_number" value=(form.police_number);
                input type="hidden" name="memo" value=(form.memo);
                div.button-group {
                    button.button.button--warning type="submit" name="step" value="confirm" {
                        (lang.t("一時利用停止を確定する", "Suspend the card"))
                    }
                    button.button.button--secondary type="submit" name="step" value="edit" {
                        (lang.t("入力内容を修正する", "Change the answers"))
                    }
                }
            }
            p { a href="/hotline" { (lang.t("停止せずに検索に戻る", "Cancel and go back to the search")) } }
        }
    };
    html_response(page(ctx, title, None, body))
}

/// The report page: the confirming POST's answer (see the module docs for
/// why it is not a redirect).
fn render_report(ctx: &PageContext, staff: &StaffPrincipal, done: &Suspended, cause: LossCause) -> Response {
    let lang = ctx.lang;
    let title = lang.t("一時利用停止を受け付けました", "The card is suspended");
    let body = html! {
        div.narrow {
            div.banner.banner--success role="status" {
                h1 { (title) }
                p.banner__text {
                    (lang.t("受付番号", "Report number")) " "
                    strong #report-number { (done.loss_report_id) }
                }
            }
            div.receipt {
                h2.panel__title { (lang.t("受付の内容", "What was done")) }
                dl.summary {
                    dt { (lang.t("受付番号", "Report number")) }
                    dd { (done.loss_report_id) }
                    dt { (lang.t("カードのシリアル番号", "Card serial number")) }
                    dd { code { (done.card_serial) } }
                    dt { (lang.t("届出の種類", "Reported as")) }
                    dd { (cause_name(lang, cause)) }
                    dt { (lang.t("一時停止した日時", "Suspended at")) }
                    dd { (date_time(lang, done.suspended_at)) }
                    dt { (lang.t("一時保留した電子証明書", "Certificates put on hold")) }
                    dd {
                        @if done.held.is_empty() {
                            (lang.t("なし（有効な電子証明書はありませんでした）", "None (the card had no valid certificate)"))
                        } @else {
                            @if lang == Lang::Ja { (done.held.len()) "件" } @else { (done.held.len()) }
                            ul { @for serial in &done.held { li { code { (serial) } } } }
                        }
                    }
                    dt { (lang.t("受付者", "Taken by")) }
                    dd { (staff.display_name) }
                }
            }
            h2 { (lang.t("連絡してきた方に伝えること", "Tell the caller")) }
            ol {
                @match cause {
                    LossCause::Fire => {
                        li { (lang.t(
                            "消防署で罹災証明書の交付を受けてください。再交付の手続で必要です。",
                            "Get a disaster certificate (罹災証明書) from the fire department: the reissue needs it."
                        )) }
                    }
                    LossCause::Theft => {
                        li { (lang.t(
                            "警察に盗難届を出し、受理番号を控えてください。",
                            "Report the theft to the police and keep the receipt number."
                        )) }
                    }
                    LossCause::Loss => {
                        li { (lang.t(
                            "警察に遺失届を出し、受理番号を控えてください。",
                            "Report the loss to the police (遺失届) and keep the receipt number."
                        )) }
                    }
                }
                li { (lang.t(
                    "住所地の市区町村の窓口にも紛失・盗難を届け出てください。",
                    "Also report it at the window of the municipality of residence."
                )) }
                li { (lang.t(
                    "カードが見つかったとき：住所地の窓口で一時停止を解除し、電子証明書を新しく発行します（保留した証明書は使えません）。",
                    "If the card is found: the municipality's window lifts the suspension and issues new certificates (the held ones stay unusable)."
                )) }
                li { (lang.t(
                    "見つからないとき：住所地の窓口で再交付（カードの作り直し）を申請します。手数料は800円（電子証明書付きは1,000円）、本人の責任によらない場合は無料です。",
                    "If it is not found: apply for a new card (reissue) at the window. The fee is 800 yen (1,000 yen with certificates); free when it was not the holder's fault."
                )) }
            }
            p { a.button href="/hotline" { (lang.t("別のカードを検索する", "Find another card")) } }
        }
    };
    html_response(page(ctx, title, None, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mynacard_rules::numbers::MyNumber;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn birth_dates_are_read_as_callers_say_them() {
        assert_eq!(parse_birth_date("1980-04-01"), d(1980, 4, 1));
        assert_eq!(parse_birth_date(" 1980/4/1 "), d(1980, 4, 1));
        assert_eq!(parse_birth_date("1980.4.1"), d(1980, 4, 1));
        assert_eq!(parse_birth_date("1980年4月1日"), d(1980, 4, 1));
        assert_eq!(parse_birth_date("１９８０年４月１日"), d(1980, 4, 1));
        assert_eq!(parse_birth_date("19800401"), d(1980, 4, 1));
        assert_eq!(parse_birth_date("昭和55年4月1日"), d(1980, 4, 1));
        assert_eq!(parse_birth_date("平成元年1月8日"), d(1989, 1, 8));
        assert_eq!(parse_birth_date("令和2年2月29日"), d(2020, 2, 29));
        assert_eq!(parse_birth_date("1980-02-30"), None);
        assert_eq!(parse_birth_date("80-4-1"), None);
        assert_eq!(parse_birth_date("昭和"), None);
        assert_eq!(parse_birth_date("tomorrow"), None);
        assert_eq!(parse_birth_date(""), None);
    }

    #[test]
    fn a_my_number_in_free_text_is_caught() {
        let number = MyNumber::complete("12345678901").expect("number").expose();
        assert!(mynacard_rules::numbers::contains_my_number(&number));
        let spaced = format!("番号は {} {} {} です", &number[..4], &number[4..8], &number[8..]);
        assert!(mynacard_rules::numbers::contains_my_number(&spaced));
        assert!(!mynacard_rules::numbers::contains_my_number("受理番号 2026-001234"));
        let last = number.chars().last().and_then(|c| c.to_digit(10)).expect("digit");
        let wrong = format!("{}{}", &number[..11], (last + 1) % 10);
        assert!(!mynacard_rules::numbers::contains_my_number(&wrong));
        assert!(!mynacard_rules::numbers::contains_my_number(&number[..11]));
    }
}
