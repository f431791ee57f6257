//! 窓口トップ (the day's work list) and 住民検索 (finding a resident): the
//! two ways into a resident's page. Neither shows a My Number nor writes
//! a disclosure entry (the authority's lists show what a window's list
//! shows); opening a resident does.

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use mynacard_authority::worklist::{ResidentQuery, Worklist, MAX_ROWS};
use serde::Deserialize;

use super::{
    application_kind, breadcrumbs, card_status, done_banner, lapse_reason, optional_date, refusal_errors,
    resident_status, Desk, DoneQuery,
};
use crate::web::forms::{checkbox, error_summary, input, Errors, Input};
use crate::web::Lang;

/// How many results a search shows.
const SEARCH_LIMIT: u32 = 100;

/// `GET /window`: 窓口トップ — counts, the five lists, a search box.
pub(super) async fn worklist(desk: Desk, Query(q): Query<DoneQuery>) -> Response {
    let lang = desk.lang();
    let actor = desk.actor();
    let list = match desk.state.run(move |a| a.window_worklist(&actor)).await {
        Ok(list) => list,
        Err(p) => return desk.problem(&p),
    };
    let title = lang.t("窓口トップ", "Window");
    let body = html! {
        h1 { (title) }
        p.lead {
            (match lang {
                Lang::Ja => format!("{}の業務一覧です。", lang.date(list.today)),
                Lang::En => format!("The work list for {}.", lang.date(list.today)),
            })
        }
        (search_box(lang, "", "", false, &Errors::new()))
        div.button-group {
            a.button href="/window/residents/new" { (lang.t("住民を登録する", "Register a resident")) }
            a.button.button--secondary href="/window/move-in" { (lang.t("転入届（他の市区町村から・国外から）", "Move-in (from another municipality or abroad)")) }
        }
        (panels(lang, &list))
        (awaiting_delivery(lang, &list))
        (in_production(lang, &list))
        (renewals(lang, &list))
        (lapse_watch(lang, &list))
        (recently_lapsed(lang, &list))
    };
    desk.respond(StatusCode::OK, title, done_banner(lang, q.done.as_deref()), body)
}

/// The number of a list, "200+" when it is full.
fn count(n: usize) -> String {
    if n >= MAX_ROWS as usize {
        format!("{n}+")
    } else {
        n.to_string()
    }
}

fn panels(lang: Lang, list: &Worklist) -> Markup {
    let items = [
        (
            "#awaiting-delivery",
            lang.t("交付待ち", "Awaiting delivery"),
            list.awaiting_delivery.len(),
        ),
        (
            "#in-production",
            lang.t("製造中", "In production"),
            list.in_production.len(),
        ),
        (
            "#renewals-due",
            lang.t("更新対象", "Renewals due"),
            list.renewals_due.len(),
        ),
        (
            "#lapse-watch",
            lang.t("失効注意", "Lapse watch"),
            list.lapse_watch.len(),
        ),
        (
            "#recently-lapsed",
            lang.t("最近の失効", "Recently lapsed"),
            list.recently_lapsed.len(),
        ),
    ];
    html! {
        div.panels {
            @for (href, label, n) in items {
                div.panel {
                    p.panel__title { a href=(href) { (label) } }
                    p.count { (count(n)) " " span.caption { (lang.t("件", if n == 1 { "item" } else { "items" })) } }
                }
            }
        }
    }
}

fn none_row(lang: Lang) -> Markup {
    html! { p.caption { (lang.t("ありません。", "None.")) } }
}

fn resident_link(id: i64, name: &str) -> Markup {
    html! { a href=(format!("/window/residents/{id}")) { (name) } }
}

fn awaiting_delivery(lang: Lang, list: &Worklist) -> Markup {
    html! {
        section aria-labelledby="awaiting-delivery" {
            h2 #awaiting-delivery { (lang.t("交付待ち", "Awaiting delivery")) }
            @if list.awaiting_delivery.is_empty() { (none_row(lang)) } @else {
                table.table {
                    caption.visually-hidden { (lang.t("交付待ちのカード", "Cards awaiting delivery")) }
                    thead { tr {
                        th scope="col" { (lang.t("氏名", "Name")) }
                        th scope="col" { (lang.t("種別", "Kind")) }
                        th scope="col" { (lang.t("受付日", "Received")) }
                        th scope="col" { (lang.t("カード", "Card")) }
                        th scope="col" { span.visually-hidden { (lang.t("操作", "Action")) } }
                    } }
                    tbody {
                        @for item in &list.awaiting_delivery {
                            tr {
                                td { (resident_link(item.resident_id, &item.name)) }
                                td { (application_kind(lang, &item.kind)) }
                                td { (lang.date(item.received_on)) }
                                td { @if let Some(s) = &item.card_serial { code { (s) } } }
                                td {
                                    @if let Some(s) = &item.card_serial {
                                        a href=(format!("/window/cards/{s}/delivery")) {
                                            (lang.t("交付する", "Deliver"))
                                            span.visually-hidden { "（" (item.name) "）" }
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
}

fn in_production(lang: Lang, list: &Worklist) -> Markup {
    html! {
        section aria-labelledby="in-production" {
            h2 #in-production { (lang.t("製造中", "In production")) }
            @if list.in_production.is_empty() { (none_row(lang)) } @else {
                table.table {
                    caption.visually-hidden { (lang.t("製造中の申請", "Applications in production")) }
                    thead { tr {
                        th scope="col" { (lang.t("氏名", "Name")) }
                        th scope="col" { (lang.t("種別", "Kind")) }
                        th scope="col" { (lang.t("受付日", "Received")) }
                        th scope="col" { (lang.t("状態", "Status")) }
                    } }
                    tbody {
                        @for item in &list.in_production {
                            tr {
                                td { (resident_link(item.resident_id, &item.name)) }
                                td { (application_kind(lang, &item.kind)) }
                                td { (lang.date(item.received_on)) }
                                td { (super::tag(lang.t("製造中", "In production"), "blue")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn renewals(lang: Lang, list: &Worklist) -> Markup {
    html! {
        section aria-labelledby="renewals-due" {
            h2 #renewals-due { (lang.t("更新対象", "Renewals due")) }
            p.hint { (lang.t("有効期限の3か月前から有効期限までのカードと電子証明書です。", "Cards and certificates from 3 months before their expiry to the expiry.")) }
            @if list.renewals_due.is_empty() { (none_row(lang)) } @else {
                table.table {
                    caption.visually-hidden { (lang.t("更新対象", "Renewals due")) }
                    thead { tr {
                        th scope="col" { (lang.t("氏名", "Name")) }
                        th scope="col" { (lang.t("対象", "What")) }
                        th scope="col" { (lang.t("有効期限", "Expires")) }
                        th scope="col" { span.visually-hidden { (lang.t("操作", "Action")) } }
                    } }
                    tbody {
                        @for item in &list.renewals_due {
                            tr {
                                td { (resident_link(item.resident_id, &item.name)) }
                                td { (match item.what.as_str() {
                                    "card" => lang.t("カード", "Card"),
                                    "auth_certificate" => lang.t("利用者証明用電子証明書", "User-authentication certificate"),
                                    "sign_certificate" => lang.t("署名用電子証明書", "Signature certificate"),
                                    other => other,
                                }) }
                                td { (lang.date(item.expires_on)) }
                                td {
                                    @if item.what == "card" {
                                        a href=(format!("/window/residents/{}/application", item.resident_id)) {
                                            (lang.t("更新の申請", "Apply for renewal"))
                                            span.visually-hidden { "（" (item.name) "）" }
                                        }
                                    } @else {
                                        a href=(format!("/window/residents/{}/renewal", item.resident_id)) {
                                            (lang.t("電子証明書の更新", "Renew certificates"))
                                            span.visually-hidden { "（" (item.name) "）" }
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
}

fn lapse_watch(lang: Lang, list: &Worklist) -> Markup {
    html! {
        section aria-labelledby="lapse-watch" {
            h2 #lapse-watch { (lang.t("失効注意", "Lapse watch")) }
            p.hint { (lang.t("転出した後、まだ転入届のない方です。期限までに転入届がないとカードは失効します。",
                "Residents who moved out and have not moved in yet: the card lapses unless the move-in is made by the deadline.")) }
            @if list.lapse_watch.is_empty() { (none_row(lang)) } @else {
                table.table {
                    caption.visually-hidden { (lang.t("失効注意", "Lapse watch")) }
                    thead { tr {
                        th scope="col" { (lang.t("氏名", "Name")) }
                        th scope="col" { (lang.t("転出予定日", "Planned move-out")) }
                        th scope="col" { (lang.t("転入届の期限", "Move-in deadline")) }
                        th scope="col" { (lang.t("カード", "Card")) }
                    } }
                    tbody {
                        @for item in &list.lapse_watch {
                            tr {
                                td { (resident_link(item.resident_id, &item.name)) }
                                td { (lang.date(item.moved_out_on)) }
                                td {
                                    strong { (lang.date(item.deadline)) }
                                    @if item.deadline < list.today { " " (super::tag(lang.t("期限切れ", "Past"), "red")) }
                                }
                                td { @if let Some(s) = &item.card_serial { code { (s) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn recently_lapsed(lang: Lang, list: &Worklist) -> Markup {
    html! {
        section aria-labelledby="recently-lapsed" {
            h2 #recently-lapsed { (lang.t("最近の失効", "Recently lapsed")) }
            p.hint { (lang.t("過去90日に失効した、または有効期限が切れたカードです。", "Cards that lapsed or expired in the last 90 days.")) }
            @if list.recently_lapsed.is_empty() { (none_row(lang)) } @else {
                table.table {
                    caption.visually-hidden { (lang.t("最近の失効", "Recently lapsed")) }
                    thead { tr {
                        th scope="col" { (lang.t("氏名", "Name")) }
                        th scope="col" { (lang.t("カード", "Card")) }
                        th scope="col" { (lang.t("状態", "Status")) }
                        th scope="col" { (lang.t("失効日", "From")) }
                        th scope="col" { (lang.t("理由", "Reason")) }
                    } }
                    tbody {
                        @for item in &list.recently_lapsed {
                            tr {
                                td { (resident_link(item.resident_id, &item.name)) }
                                td { code { (item.card_serial) } }
                                td { (card_status(lang, &item.status)) }
                                td { (lang.date(item.on)) }
                                td { (item.reason.as_deref().map(|r| lapse_reason(lang, r)).unwrap_or_else(|| lang.t("有効期限の経過", "expiry").to_owned())) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The search form (GET: nothing changes, no CSRF token needed).
fn search_box(lang: Lang, name: &str, birth_date: &str, include_former: bool, errors: &Errors) -> Markup {
    html! {
        form.panel method="get" action="/window/residents" role="search" novalidate
            aria-label=(lang.t("住民検索", "Find a resident")) {
            (input(lang, errors, Input::text("name", lang.t("氏名または振り仮名", "Name or its kana reading"), name)
                .hint(lang.t("一部でも探せます。ひらがなでも探せます。", "Part of the name is enough; hiragana finds the kana."))
                .autocomplete("off")))
            (input(lang, errors, Input::date("birth_date", lang.t("生年月日", "Date of birth"), birth_date)))
            (checkbox(lang, errors, "include_former", lang.t("転出・死亡などの方も含める", "Include former residents (moved out, deceased, abroad)"), None, include_former))
            button.button type="submit" { (lang.t("検索する", "Search")) }
        }
    }
}

/// The search's query.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct SearchQuery {
    name: Option<String>,
    birth_date: Option<String>,
    include_former: Option<String>,
}

/// `GET /window/residents?name=&birth_date=`: 住民検索.
pub(super) async fn search(desk: Desk, Query(q): Query<SearchQuery>) -> Response {
    let lang = desk.lang();
    let title = lang.t("住民検索", "Find a resident");
    let name = q.name.clone().unwrap_or_default();
    let birth_text = q.birth_date.clone().unwrap_or_default();
    let include_former = super::on(&q.include_former);
    let mut errors = Errors::new();
    let birth_date = optional_date(
        lang,
        &mut errors,
        "birth_date",
        lang.t("生年月日", "Date of birth"),
        &birth_text,
    );
    let asked = !name.trim().is_empty() || !birth_text.trim().is_empty();
    let mut results = None;
    if asked && errors.is_empty() {
        let query = ResidentQuery {
            name: Some(name.clone()).filter(|n| !n.trim().is_empty()),
            birth_date,
            include_former,
            limit: SEARCH_LIMIT,
        };
        let actor = desk.actor();
        match desk.state.run(move |a| a.search_residents(&actor, &query)).await {
            Ok(found) => results = Some(found),
            Err(p) if super::refuses_form(&p) => {
                errors = refusal_errors(lang, &p, |_| Some("name"));
            }
            Err(p) => return desk.problem(&p),
        }
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = html! {
        (breadcrumbs(lang, &[("/window", lang.t("窓口トップ", "Window"))]))
        h1 { (title) }
        (error_summary(lang, &errors))
        (search_box(lang, &name, &birth_text, include_former, &errors))
        @if let Some(found) = &results {
            section aria-labelledby="results-title" {
                h2 #results-title { (lang.t("検索結果", "Results")) }
                p role="status" {
                    (match lang {
                        Lang::Ja => format!("{}件見つかりました。", found.len()),
                        Lang::En => format!("{} found.", found.len()),
                    })
                    @if found.len() >= SEARCH_LIMIT as usize {
                        " " (lang.t("多すぎるため一部だけを表示しています。条件を加えてください。", "Only the first are shown: narrow the search."))
                    }
                }
                @if found.is_empty() {
                    p { (lang.t("該当する住民は見つかりませんでした。", "No resident matches.")) " "
                        a href="/window/residents/new" { (lang.t("住民を登録する", "Register a resident")) } }
                } @else {
                    table.table {
                        caption.visually-hidden { (lang.t("検索結果", "Results")) }
                        thead { tr {
                            th scope="col" { (lang.t("氏名", "Name")) }
                            th scope="col" { (lang.t("振り仮名", "Kana")) }
                            th scope="col" { (lang.t("生年月日", "Date of birth")) }
                            th scope="col" { (lang.t("住所", "Address")) }
                            th scope="col" { (lang.t("状態", "Record")) }
                            th scope="col" { (lang.t("カード", "Card")) }
                        } }
                        tbody {
                            @for r in found {
                                tr {
                                    td { a href=(format!("/window/residents/{}", r.resident_id)) { (r.name) } }
                                    td { (r.name_kana) }
                                    td { (lang.date(r.birth_date)) }
                                    td { (r.address) }
                                    td { (resident_status(lang, &r.status)) }
                                    td {
                                        @if let Some(c) = &r.card {
                                            (card_status(lang, &c.status))
                                            br;
                                            span.caption { (lang.t("有効期限 ", "expires ")) (lang.date(c.expires_on)) }
                                        } @else {
                                            span.caption { (lang.t("なし", "none")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    desk.form_page(status, title, &errors, body)
}
