//! 住民登録, the resident's page and 利用履歴.
//!
//! The resident's page is where every procedure starts: it reads the
//! record through the authority for a purpose (利用目的) the clerk can
//! change — each opening is a disclosure-log entry, and the My Number
//! appears only for a purpose that discloses it — and offers the
//! procedures the record's state allows.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use mynacard_authority::issuance::NewResident;
use mynacard_authority::records::{ResidentView, PURPOSES};
use mynacard_rules::numbers::MyNumber;
use mynacard_store::registry::{self, Application, ApplicationStatus, Fee, Stored};
use serde::Deserialize;

use super::{
    breadcrumbs, card_in_use, card_status, certificate_kind, certificate_status, done_banner, fee_cause, form_buttons,
    maybe_date, on, optional_date, path_id, refusal_errors, require_text, required_date, residence_name,
    resident_status, resident_trail, see_other, sex_name, tag, yen, Desk,
};
use crate::access::CsrfForm;
use crate::web::forms::{checkbox, date_time, error_summary, input, radios, Choice, Errors, Input, Radios};
use crate::web::{hidden_fields, Lang};

// ---------------------------------------------------------------- register

/// The 住民登録 form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RegisterForm {
    #[serde(rename = "_key")]
    key: String,
    my_number: String,
    name: String,
    name_kana: String,
    address: String,
    birth_date: String,
    sex: String,
    nationality: String,
    stay_until: String,
    permanent_resident: Option<String>,
    seal_registered: Option<String>,
    honseki: String,
    household_id: String,
    adult_ward: Option<String>,
}

/// `GET /window/residents/new`.
pub(super) async fn register_page(desk: Desk) -> Response {
    let form = RegisterForm {
        nationality: "JP".into(),
        ..RegisterForm::default()
    };
    render_register(&desk, &form, &Errors::new(), StatusCode::OK)
}

fn render_register(desk: &Desk, form: &RegisterForm, errors: &Errors, status: StatusCode) -> Response {
    let lang = desk.lang();
    let title = lang.t("住民登録", "Register a resident");
    let body = html! {
        (breadcrumbs(lang, &[("/window", lang.t("窓口トップ", "Window"))]))
        div.narrow {
            h1 { (title) }
            p.lead { (lang.t("住民基本台帳の記録を登録します。登録する市区町村は、あなたの市区町村です。",
                "Enter the resident's record. The resident is registered in your municipality.")) }
            (error_summary(lang, errors))
            form method="post" action="/window/residents/new" novalidate {
                (hidden_fields(&desk.ctx))
                (input(lang, errors, Input::text("my_number", lang.t("個人番号（マイナンバー）", "My Number"), &form.my_number)
                    .hint(lang.t("12桁の数字", "12 digits")).numeric().short().autocomplete("off").maxlength(12).required()))
                (input(lang, errors, Input::text("name", lang.t("氏名", "Name"), &form.name)
                    .hint(lang.t("氏と名の間は全角スペース", "A full-width space between family and given name")).required()))
                (input(lang, errors, Input::text("name_kana", lang.t("氏名の振り仮名", "Name in kana"), &form.name_kana)
                    .hint(lang.t("カタカナ", "Katakana")).required()))
                (input(lang, errors, Input::text("address", lang.t("住所", "Address"), &form.address)
                    .hint(lang.t("都道府県から", "From the prefecture")).required()))
                (input(lang, errors, Input::date("birth_date", lang.t("生年月日", "Date of birth"), &form.birth_date).required()))
                (radios(lang, errors, Radios::new("sex", lang.t("性別", "Sex"),
                    &[Choice::new("male", lang.t("男", "Male")), Choice::new("female", lang.t("女", "Female"))], &form.sex).inline()))
                (input(lang, errors, Input::text("nationality", lang.t("国籍", "Nationality"), &form.nationality)
                    .hint(lang.t("国名コード（ISO 3166-1 の2文字）。日本国籍は JP", "ISO 3166-1 two-letter code; JP for Japanese nationals"))
                    .short().maxlength(2).required()))
                (input(lang, errors, Input::date("stay_until", lang.t("在留期間満了日（外国人住民）", "End of the period of stay (foreign residents)"), &form.stay_until)
                    .hint(lang.t("在留期間のある外国人住民のみ", "Only for a foreign resident with a period of stay"))))
                (checkbox(lang, errors, "permanent_resident", lang.t("永住者・特別永住者など（在留期間がカードの有効期限を定めない）", "Permanent resident (no period of stay bounds the card)"), None, on(&form.permanent_resident)))
                (input(lang, errors, Input::text("honseki", lang.t("本籍", "Registered domicile"), &form.honseki)
                    .hint(lang.t("日本国籍の方は必須。外国人住民は空欄", "Required for Japanese nationals; empty for foreign residents"))))
                (input(lang, errors, Input::text("household_id", lang.t("世帯番号", "Household"), &form.household_id).short()))
                (checkbox(lang, errors, "seal_registered", lang.t("印鑑登録をしている", "Has a registered seal"), None, on(&form.seal_registered)))
                (checkbox(lang, errors, "adult_ward", lang.t("成年被後見人", "Adult ward"), Some(lang.t("署名用電子証明書は発行されません。", "No signature certificate is issued.")), on(&form.adult_ward)))
                (form_buttons(lang, lang.t("登録する", "Register"), "/window", false))
            }
        }
    };
    desk.form_page(status, title, errors, body)
}

/// Which field an authority refusal of a registration is about.
fn register_field(code: &str) -> Option<&'static str> {
    match code {
        "bad_request" | "invalid_field" => Some("my_number"),
        _ => None,
    }
}

/// `POST /window/residents/new`.
pub(super) async fn register_submit(desk: Desk, CsrfForm(form): CsrfForm<RegisterForm>) -> Response {
    let lang = desk.lang();
    let mut errors = Errors::new();
    let my_number = form.my_number.trim().to_owned();
    if my_number.is_empty() {
        errors.add("my_number", lang.t("個人番号を入力してください", "Enter the My Number"));
    } else if MyNumber::parse(&my_number).is_err() {
        errors.add(
            "my_number",
            lang.t(
                "個人番号は12桁の数字です。最後の検査用数字も確認してください",
                "The My Number is 12 digits; check the last (check) digit",
            ),
        );
    }
    require_text(lang, &mut errors, "name", lang.t("氏名", "Name"), &form.name);
    require_text(
        lang,
        &mut errors,
        "name_kana",
        lang.t("氏名の振り仮名", "Name in kana"),
        &form.name_kana,
    );
    require_text(lang, &mut errors, "address", lang.t("住所", "Address"), &form.address);
    let birth = required_date(
        lang,
        &mut errors,
        "birth_date",
        lang.t("生年月日", "Date of birth"),
        &form.birth_date,
    );
    if !matches!(form.sex.as_str(), "male" | "female") {
        errors.add("sex", lang.t("性別を選んでください", "Choose the sex"));
    }
    let nationality = form.nationality.trim().to_ascii_uppercase();
    if nationality.len() != 2 || !nationality.chars().all(|c| c.is_ascii_uppercase()) {
        errors.add(
            "nationality",
            lang.t(
                "国籍は2文字の国名コードで入力してください（例：JP）",
                "Enter a two-letter country code (JP)",
            ),
        );
    }
    let stay_until = optional_date(
        lang,
        &mut errors,
        "stay_until",
        lang.t("在留期間満了日", "End of the period of stay"),
        &form.stay_until,
    );
    if nationality != "JP"
        && stay_until.is_none()
        && !on(&form.permanent_resident)
        && errors.get("stay_until").is_none()
    {
        errors.add(
            "stay_until",
            lang.t(
                "外国人住民は、在留期間満了日を入力するか、永住者などを選んでください",
                "For a foreign resident, enter the end of the period of stay or tick permanent resident",
            ),
        );
    }
    // The registry keeps a 本籍 for Japanese nationals and only for them.
    let has_honseki = !form.honseki.trim().is_empty();
    if nationality == "JP" && !has_honseki {
        errors.add(
            "honseki",
            lang.t(
                "日本国籍の方は本籍を入力してください",
                "Enter the registered domicile of a Japanese national",
            ),
        );
    } else if nationality != "JP" && has_honseki && errors.get("nationality").is_none() {
        errors.add(
            "honseki",
            lang.t(
                "本籍は日本国籍の方だけが記録します",
                "Only a Japanese national has a registered domicile",
            ),
        );
    }
    let (Some(birth_date), true) = (birth, errors.is_empty()) else {
        return render_register(&desk, &form, &errors, StatusCode::BAD_REQUEST);
    };
    let optional = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
    let new = NewResident {
        municipality: desk.municipality(),
        my_number,
        name: form.name.trim().to_owned(),
        name_kana: form.name_kana.trim().to_owned(),
        address: form.address.trim().to_owned(),
        birth_date,
        sex: form.sex.clone(),
        nationality,
        stay_until,
        permanent_resident: on(&form.permanent_resident),
        seal_registered: on(&form.seal_registered),
        honseki: optional(&form.honseki),
        household_id: optional(&form.household_id),
        adult_ward: on(&form.adult_ward),
    };
    match desk
        .act(&form.key, move |a, actor, key| a.register_resident(actor, key, &new))
        .await
    {
        Ok(id) => see_other(&format!("/window/residents/{id}?done=registered")),
        Err(p) if super::refuses_form(&p) => {
            let errors = refusal_errors(lang, &p, register_field);
            render_register(&desk, &form, &errors, p.status_code())
        }
        Err(p) => desk.problem(&p),
    }
}

// ------------------------------------------------------------ the resident

/// The purposes a window reads a record for.
const WINDOW_PURPOSES: [&str; 5] = [
    "card_service",
    "identity_check",
    "resident_registry",
    "card_issuance",
    "inquiry",
];

/// The resident page's query: the banner and the purpose of the read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ResidentQuery {
    done: Option<String>,
    purpose: Option<String>,
}

/// A purpose's name for people.
fn purpose_name(lang: Lang, name: &str) -> String {
    match (lang, name) {
        (_, "audit_review") => lang.t("監査記録の確認", "audit trail review").to_owned(),
        (_, "disclosure_review") => lang.t("開示記録の確認", "disclosure log review").to_owned(),
        (Lang::Ja, _) => PURPOSES
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.ja.to_owned())
            .unwrap_or_else(|| name.to_owned()),
        (Lang::En, _) => match name {
            "self" => "the holder's own check (portal)",
            "card_issuance" => "card issuance, renewal and reissue",
            "social_security" => "social security",
            "tax" => "tax",
            "disaster_response" => "disaster response",
            "identity_check" => "identity check at the window",
            "resident_registry" => "resident registry (moves, changes)",
            "card_service" => "card services (loss, suspension, PINs, certificates)",
            "inquiry" => "inquiries",
            other => other,
        }
        .to_owned(),
    }
}

/// The registry's rows about a resident that the view does not carry:
/// fees and open applications.
struct Extras {
    fees: Vec<Stored<Fee>>,
    open_applications: Vec<Stored<Application>>,
}

async fn extras(desk: &Desk, resident_id: i64) -> Result<Extras, crate::problem::Problem> {
    desk.registry(move |tx| {
        let fees = registry::list_fees(tx, resident_id)?;
        let open_applications = registry::list_applications(tx, resident_id)?
            .into_iter()
            .filter(|a| {
                matches!(
                    a.status,
                    ApplicationStatus::Received | ApplicationStatus::InProduction | ApplicationStatus::Produced
                )
            })
            .collect();
        Ok(Extras {
            fees,
            open_applications,
        })
    })
    .await
}

/// `GET /window/residents/{id}`: the resident's page.
pub(super) async fn resident_page(desk: Desk, Path(id): Path<String>, Query(q): Query<ResidentQuery>) -> Response {
    let lang = desk.lang();
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let purpose = WINDOW_PURPOSES
        .iter()
        .copied()
        .find(|p| Some(*p) == q.purpose.as_deref())
        .unwrap_or(WINDOW_PURPOSES[0]);
    let view = match desk.view(id, purpose).await {
        Ok(v) => v,
        Err(p) => return desk.problem(&p),
    };
    let extras = match extras(&desk, id).await {
        Ok(e) => e,
        Err(p) => return desk.problem(&p),
    };
    let body = html! {
        (breadcrumbs(lang, &[
            ("/window", lang.t("窓口トップ", "Window")),
            ("/window/residents", lang.t("住民検索", "Find a resident")),
        ]))
        span.caption { (lang.t("住民", "Resident")) }
        h1 { (view.name) " " (resident_status(lang, &view.status)) }
        (purpose_form(lang, id, purpose))
        (status_notes(lang, &view, &extras))
        (actions(lang, &view, &extras, renewal_open(&desk, &view)))
        (record_section(lang, &view))
        (cards_section(lang, &view))
        (certificates_section(lang, &view))
        (fees_section(lang, &view, &extras))
        p { a href=(format!("/window/residents/{id}/history")) { (lang.t("利用履歴（操作の記録と開示記録）を見る", "See the history (audit trail and disclosure log)")) } }
    };
    desk.respond(StatusCode::OK, &view.name, done_banner(lang, q.done.as_deref()), body)
}

/// The purpose of the read, changeable (a GET form: each read is recorded).
fn purpose_form(lang: Lang, id: i64, purpose: &str) -> Markup {
    html! {
        form method="get" action=(format!("/window/residents/{id}")) {
            div.field {
                label.label for="purpose" { (lang.t("閲覧の目的（開示記録に残ります）", "Purpose of this read (recorded in the disclosure log)")) }
                select.select #purpose name="purpose" {
                    @for p in WINDOW_PURPOSES {
                        option value=(p) selected[p == purpose] { (purpose_name(lang, p)) }
                    }
                }
            }
            button.button.button--secondary type="submit" { (lang.t("目的を変えて表示", "Show for this purpose")) }
        }
    }
}

/// What the clerk should know first: production, a move-out, a death.
fn status_notes(lang: Lang, view: &ResidentView, extras: &Extras) -> Markup {
    let produced = view.cards.iter().find(|c| c.status == "produced");
    let in_production = produced.is_none()
        && extras
            .open_applications
            .iter()
            .any(|a| matches!(a.status, ApplicationStatus::Received | ApplicationStatus::InProduction));
    html! {
        @if in_production {
            div.banner.banner--info role="status" {
                p.banner__text {
                    (tag(lang.t("製造中", "In production"), "blue")) " "
                    (lang.t("カードを製造しています。製造が終わると、ここに「交付する」ボタンが表示されます。画面を更新して確認してください。",
                        "The card is being produced. When it is made a “Deliver” button appears here: reload the page to check."))
                }
            }
        }
        @if let Some(card) = produced {
            div.banner.banner--info role="status" {
                p.banner__text {
                    (lang.t("カードが製造され、交付待ちです。", "The card is made and awaits delivery."))
                    " "
                    a href=(format!("/window/cards/{}/delivery", card.serial)) { (lang.t("交付する", "Deliver")) }
                }
            }
        }
        @if view.status == "moved_out" || view.status == "abroad" {
            div.banner.banner--warning role="note" {
                p.banner__text {
                    (match lang {
                        Lang::Ja => format!("転出の手続が済んでいます。転入先の窓口では、登録番号 {} で転入届を受け付けます。", view.resident_id),
                        Lang::En => format!("The move-out is recorded. The new municipality's window takes the move-in with registry number {}.", view.resident_id),
                    })
                }
            }
        }
    }
}

/// Whether the card in use is in its renewal window (rules.md §5: from 3
/// months before the expiry through the expiry), when a renewal
/// application (更新申請) is taken.
fn renewal_open(desk: &Desk, view: &ResidentView) -> bool {
    use mynacard_authority::Clock;
    let today = desk.state.clock.today();
    card_in_use(view).is_some_and(|c| {
        mynacard_rules::renewal::renewal_window(c.expires_on, desk.state.authority.policies()).opens <= today
    })
}

/// The procedures the record's state allows.
fn actions(lang: Lang, view: &ResidentView, extras: &Extras, renewal_open: bool) -> Markup {
    let id = view.resident_id;
    let resident = view.status == "resident";
    let in_use = card_in_use(view);
    let active = in_use.filter(|c| c.status == "active");
    let suspended = in_use.filter(|c| c.status == "suspended");
    let pending = !extras.open_applications.is_empty();
    let foreign_with_stay = matches!(view.residence, mynacard_rules::card::Residence::ForeignWithStay { .. });
    let link = |href: String, text: &str, secondary: bool| {
        html! {
            a class=(if secondary { "button button--secondary" } else { "button" }) href=(href) { (text) }
        }
    };
    html! {
        section aria-labelledby="actions-title" {
            h2 #actions-title { (lang.t("手続", "Procedures")) }
            @if resident {
                h3 { (lang.t("カード", "Card")) }
                div.button-group {
                    @if !pending && in_use.is_none() {
                        (link(format!("/window/residents/{id}/application"), lang.t("交付申請", "Apply for a card"), false))
                    }
                    @if !pending && active.is_some() && renewal_open {
                        (link(format!("/window/residents/{id}/application"), lang.t("カードの更新申請", "Apply for a renewal"), true))
                    }
                    @if let Some(card) = active {
                        (link(format!("/window/residents/{id}/renewal"), lang.t("電子証明書の更新", "Renew certificates"), true))
                        @if !card.face_recognition {
                            (link(format!("/window/cards/{}/pin-reset", card.serial), lang.t("暗証番号の再設定", "Reset a PIN"), true))
                        }
                        (link(format!("/window/cards/{}/face-recognition", card.serial),
                            if card.face_recognition { lang.t("暗証番号を使うカードに戻す", "Back to a PIN card") }
                            else { lang.t("顔認証マイナンバーカードへの切替", "Convert to a face-recognition card") }, true))
                        (link(format!("/window/cards/{}/loss-report", card.serial), lang.t("紛失届（一時停止）", "Report a loss (suspend)"), true))
                        (link(format!("/window/cards/{}/return", card.serial), lang.t("カードの返納", "Return the card"), true))
                    }
                    @if let Some(card) = suspended {
                        (link(format!("/window/cards/{}/found", card.serial), lang.t("カードが見つかった（一時停止の解除）", "Card found (lift the suspension)"), true))
                        (link(format!("/window/cards/{}/return", card.serial), lang.t("カードの返納", "Return the card"), true))
                    }
                    @if !pending && (in_use.is_some() || foreign_with_stay) {
                        (link(format!("/window/residents/{id}/reissue"), lang.t("再交付", "Reissue"), true))
                    }
                }
                h3 { (lang.t("住所・氏名など", "Address, name and record")) }
                div.button-group {
                    (link(format!("/window/residents/{id}/move-out"), lang.t("転出届", "Move-out"), true))
                    (link(format!("/window/residents/{id}/move-within"), lang.t("転居届（市区町村内）", "Move within the municipality"), true))
                    (link(format!("/window/residents/{id}/name-change"), lang.t("氏名の変更", "Change of name"), true))
                    @if in_use.is_some() {
                        (link(format!("/window/residents/{id}/continued-use"), lang.t("カードの継続利用（転入後）", "Continued use after a move-in"), true))
                    }
                    @if foreign_with_stay && in_use.is_some() {
                        (link(format!("/window/residents/{id}/validity-change"), lang.t("有効期間の変更（在留期間の更新）", "Validity change (stay extended)"), true))
                    }
                    (link(format!("/window/residents/{id}/death"), lang.t("死亡届", "Death"), true))
                }
            } @else if view.status == "abroad" {
                div.button-group {
                    (link(format!("/window/residents/{id}/move-in"), lang.t("転入届（国外から）", "Move-in (back from abroad)"), false))
                    (link(format!("/window/residents/{id}/death"), lang.t("死亡届", "Death"), true))
                }
            } @else if view.status == "moved_out" {
                div.button-group {
                    (link(format!("/window/residents/{id}/death"), lang.t("死亡届", "Death"), true))
                }
            } @else {
                p { (lang.t("この記録で受け付けられる手続はありません。", "No procedure is open on this record.")) }
            }
        }
    }
}

fn record_section(lang: Lang, view: &ResidentView) -> Markup {
    html! {
        section aria-labelledby="record-title" {
            h2 #record-title { (lang.t("住民票", "Resident record")) }
            dl.summary {
                dt { (lang.t("氏名", "Name")) }
                dd { (view.name) }
                dt { (lang.t("振り仮名", "Kana")) }
                dd { (view.name_kana) }
                dt { (lang.t("生年月日", "Date of birth")) }
                dd { (lang.date(view.birth_date)) }
                dt { (lang.t("性別", "Sex")) }
                dd { (sex_name(lang, &view.sex)) }
                dt { (lang.t("住所", "Address")) }
                dd { (view.address) }
                dt { (lang.t("国籍", "Nationality")) }
                dd { (view.nationality) " — " (residence_name(lang, view.residence)) }
                dt { (lang.t("状態", "Record")) }
                dd { (resident_status(lang, &view.status)) }
                dt { (lang.t("市区町村コード", "Municipality code")) }
                dd { code { (view.municipality) } }
                dt { (lang.t("登録番号", "Registry number")) }
                dd { code { (view.resident_id) } }
                @if let Some(number) = &view.my_number {
                    dt { (lang.t("個人番号", "My Number")) }
                    dd { code { (number.expose()) } " " span.caption { (lang.t("（この閲覧は開示記録に残ります）", "(this read is recorded)")) } }
                }
            }
        }
    }
}

fn cards_section(lang: Lang, view: &ResidentView) -> Markup {
    html! {
        section aria-labelledby="cards-title" {
            h2 #cards-title { (lang.t("カード", "Cards")) }
            @if view.cards.is_empty() {
                p { (lang.t("カードはまだありません。", "No card yet.")) }
            } @else {
                table.table {
                    caption.visually-hidden { (lang.t("カード", "Cards")) }
                    thead { tr {
                        th scope="col" { (lang.t("カード番号", "Serial")) }
                        th scope="col" { (lang.t("状態", "Status")) }
                        th scope="col" { (lang.t("種類", "Type")) }
                        th scope="col" { (lang.t("交付日", "Delivered")) }
                        th scope="col" { (lang.t("有効期限", "Expires")) }
                        th scope="col" { (lang.t("失効日", "Lapsed")) }
                    } }
                    tbody {
                        @for c in view.cards.iter().rev() {
                            tr {
                                td { code { (c.serial) } }
                                td {
                                    (card_status(lang, &c.status))
                                    @if c.status == "active" { " " span.caption { (lang.t("交付済", "delivered")) } }
                                    @if c.status == "produced" {
                                        " " a href=(format!("/window/cards/{}/delivery", c.serial)) { (lang.t("交付する", "Deliver")) }
                                    }
                                }
                                td { @if c.face_recognition { (lang.t("顔認証マイナンバーカード", "Face-recognition card")) } @else { (lang.t("暗証番号を使うカード", "PIN card")) } }
                                td { (maybe_date(lang, c.delivered_on)) }
                                td { (lang.date(c.expires_on)) }
                                td { (maybe_date(lang, c.lapsed_on)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn certificates_section(lang: Lang, view: &ResidentView) -> Markup {
    html! {
        section aria-labelledby="certificates-title" {
            h2 #certificates-title { (lang.t("電子証明書", "Certificates")) }
            @if view.certificates.is_empty() {
                p { (lang.t("電子証明書はありません。", "No certificate.")) }
            } @else {
                table.table {
                    caption.visually-hidden { (lang.t("電子証明書", "Certificates")) }
                    thead { tr {
                        th scope="col" { (lang.t("種類", "Kind")) }
                        th scope="col" { (lang.t("状態", "Status")) }
                        th scope="col" { (lang.t("有効期限", "Valid until")) }
                        th scope="col" { (lang.t("シリアル番号", "Serial")) }
                    } }
                    tbody {
                        @for c in view.certificates.iter().rev() {
                            tr {
                                td { (certificate_kind(lang, &c.kind)) }
                                td { (certificate_status(lang, &c.status)) }
                                td { (lang.date(c.not_after)) }
                                td { code { (c.serial) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn fees_section(lang: Lang, view: &ResidentView, extras: &Extras) -> Markup {
    html! {
        section aria-labelledby="fees-title" {
            h2 #fees-title { (lang.t("手数料", "Fees")) }
            @if extras.fees.is_empty() {
                p { (lang.t("手数料の記録はありません。", "No fee recorded.")) }
            } @else {
                table.table {
                    caption.visually-hidden { (lang.t("手数料", "Fees")) }
                    thead { tr {
                        th scope="col" { (lang.t("理由", "Cause")) }
                        th scope="col" .numeric { (lang.t("金額", "Amount")) }
                        th scope="col" { (lang.t("納付日", "Paid")) }
                        th scope="col" { (lang.t("領収書番号", "Receipt")) }
                    } }
                    tbody {
                        @for f in &extras.fees {
                            tr {
                                td { (fee_cause(lang, f.cause)) }
                                td.numeric { (yen(lang, f.amount_yen)) }
                                td { (maybe_date(lang, f.paid_on)) }
                                td {
                                    a href=(format!("/window/residents/{}/receipts/{}", view.resident_id, f.id)) {
                                        @if let Some(n) = &f.receipt_number { (n) } @else { (lang.t("受付票", "Acknowledgement")) }
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

// ----------------------------------------------------------------- history

/// An audit action's name for people (the code is shown beside it).
fn action_name(lang: Lang, action: &str) -> Option<&'static str> {
    Some(match action {
        "resident.register" => lang.t("住民登録", "Registration"),
        "application.take" => lang.t("交付申請", "Application"),
        "card.produce" => lang.t("カードの製造", "Card produced"),
        "card.deliver" => lang.t("交付", "Delivery"),
        "resident.move_out" => lang.t("転出届", "Move-out"),
        "resident.move_in" => lang.t("転入届", "Move-in"),
        "card.continue_use" => lang.t("継続利用", "Continued use"),
        "resident.move_within" => lang.t("転居届", "Move within"),
        "resident.change_name" => lang.t("氏名の変更", "Change of name"),
        "resident.death" => lang.t("死亡", "Death"),
        "card.change_validity" => lang.t("有効期間の変更", "Validity change"),
        "card.reissue" => lang.t("再交付", "Reissue"),
        "card.suspend" => lang.t("一時停止", "Suspension"),
        "card.found" => lang.t("発見", "Found"),
        "card.return" => lang.t("返納", "Return"),
        "pin.reset" => lang.t("暗証番号の再設定", "PIN reset"),
        "card.to_face_card" => lang.t("顔認証への切替", "To face recognition"),
        "card.to_pin_card" => lang.t("暗証番号カードへの切替", "Back to PINs"),
        "certificates.renew" => lang.t("電子証明書の更新", "Certificate renewal"),
        _ => return None,
    })
}

/// An audit entry's details, one line per field (never a PIN: the
/// authority records none).
fn details_text(details: &serde_json::Value) -> String {
    match details.as_object() {
        Some(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("; "),
        None => details.to_string(),
    }
}

/// `GET /window/residents/{id}/history`: 利用履歴 — the audit trail and
/// the disclosure log (reading them is itself recorded).
pub(super) async fn history(desk: Desk, Path(id): Path<String>) -> Response {
    let lang = desk.lang();
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let view = match desk.view(id, "inquiry").await {
        Ok(v) => v,
        Err(p) => return desk.problem(&p),
    };
    let actor = desk.actor();
    let trail = match desk.state.run(move |a| a.audit_trail_for(&actor, id)).await {
        Ok(t) => t,
        Err(p) => return desk.problem(&p),
    };
    let actor = desk.actor();
    let disclosures = match desk.state.run(move |a| a.disclosures_for(&actor, id)).await {
        Ok(d) => d,
        Err(p) => return desk.problem(&p),
    };
    let title = lang.t("利用履歴", "History");
    let body = html! {
        (resident_trail(lang, &view))
        span.caption { (view.name) }
        h1 { (title) }
        p.lead { (lang.t("この方の記録に対する操作と、記録を閲覧した記録（開示記録）です。この画面を開いたことも記録されます。",
            "What was done on this person's records, and who read them (the disclosure log). Opening this page is recorded too.")) }
        section aria-labelledby="audit-title" {
            h2 #audit-title { (lang.t("操作の記録", "Audit trail")) }
            @if trail.is_empty() { p { (lang.t("記録はありません。", "Nothing recorded.")) } } @else {
                table.table {
                    caption.visually-hidden { (lang.t("操作の記録", "Audit trail")) }
                    thead { tr {
                        th scope="col" { (lang.t("日時", "When")) }
                        th scope="col" { (lang.t("操作", "Action")) }
                        th scope="col" { (lang.t("対象", "Subject")) }
                        th scope="col" { (lang.t("担当", "By")) }
                        th scope="col" { (lang.t("内容", "Details")) }
                    } }
                    tbody {
                        @for e in trail.iter().rev() {
                            tr {
                                td { (date_time(lang, e.at)) }
                                td {
                                    @if let Some(name) = action_name(lang, &e.action) { (name) br; }
                                    code { (e.action) }
                                }
                                td { code { (e.subject) } }
                                td { (e.actor) }
                                td { span.caption { (details_text(&e.details)) } }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="disclosure-title" {
            h2 #disclosure-title { (lang.t("開示記録", "Disclosure log")) }
            @if disclosures.is_empty() { p { (lang.t("記録はありません。", "Nothing recorded.")) } } @else {
                table.table {
                    caption.visually-hidden { (lang.t("開示記録", "Disclosure log")) }
                    thead { tr {
                        th scope="col" { (lang.t("日時", "When")) }
                        th scope="col" { (lang.t("閲覧者", "Who")) }
                        th scope="col" { (lang.t("目的", "Purpose")) }
                        th scope="col" { (lang.t("項目", "Fields")) }
                    } }
                    tbody {
                        @for d in disclosures.iter().rev() {
                            tr {
                                td { (date_time(lang, d.at)) }
                                td { (d.actor) }
                                td { (purpose_name(lang, &d.purpose)) }
                                td {
                                    @if d.fields.iter().any(|f| f == "my_number") {
                                        (tag(lang.t("個人番号を含む", "includes the My Number"), "yellow")) " "
                                    }
                                    span.caption { (d.fields.join(", ")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        p { a href=(format!("/window/residents/{id}")) { (lang.t("住民の画面に戻る", "Back to the resident")) } }
    };
    desk.respond(StatusCode::OK, title, None, body)
}
