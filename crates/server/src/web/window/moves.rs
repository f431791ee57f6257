//! Changes of the record (券面記載事項の変更): 転出届, 転入届, 継続利用,
//! 転居届, 氏名の変更, 死亡届, 有効期間変更.
//!
//! The move-in is the one procedure on someone who is not (yet) the
//! window's resident: their record still belongs to the municipality they
//! left, which the authority does not let this window read. So the
//! move-in starts from `/window/move-in`, where the clerk enters the
//! registry number the old municipality gave on the move-out (or, for a
//! return from abroad to this municipality, looks the person up by My
//! Number — a POST, so the number never sits in a URL or a log), and the
//! form says plainly when the record cannot be shown: the holder's
//! documents, and the resident-registry PIN typed on the card, identify
//! them.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use mynacard_authority::moves::{
    ContinuedUse, Death, Destination, MoveIn, MoveOut, MoveWithin, NameChange, NameChangeReason, ValidityChange,
};
use mynacard_authority::records::ResidentView;
use mynacard_rules::card::Applicant;
use mynacard_rules::numbers::{MunicipalityCode, MyNumber};
use mynacard_rules::pin::PinKind;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{
    breadcrumbs, check_pin, form_buttons, identity_check, on, path_id, pinpad, refusal_errors, refused,
    require_identity, require_text, required_date, resident_brief, resident_trail, see_other, with_view, Desk,
    PinField, PinSpec,
};
use crate::access::CsrfForm;
use crate::problem::Problem;
use crate::web::forms::{checkbox, error_summary, input, radios, Choice, Errors, Input, Radios};
use crate::web::{hidden_fields, Lang};

/// The purpose of the reads for these procedures.
const PURPOSE: &str = "resident_registry";

fn new_signature_box(lang: Lang, errors: &Errors, checked: bool) -> maud::Markup {
    checkbox(
        lang,
        errors,
        "new_signature_certificate",
        lang.t(
            "新しい署名用電子証明書を発行する",
            "Issue a new signature certificate",
        ),
        Some(lang.t(
            "住所や氏名が変わると署名用電子証明書は失効します。カードを提示した方は、続けて新しいものを発行できます（署名用電子証明書の暗証番号はそのまま）。",
            "A change of address or name revokes the signature certificate; with the card presented a new one can be issued (same signature PIN).",
        )),
        checked,
    )
}

// ---------------------------------------------------------------- move-out

/// The 転出届 form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct MoveOutForm {
    #[serde(rename = "_key")]
    key: String,
    destination_kind: String,
    destination: String,
    planned_move_out_on: String,
    abroad_with_continued_use: Option<String>,
}

/// `GET /window/residents/{id}/move-out`.
pub(super) async fn move_out_page(desk: Desk, Path(id): Path<String>) -> Response {
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let form = MoveOutForm {
        destination_kind: "domestic".into(),
        ..MoveOutForm::default()
    };
    with_view(&desk, id, PURPOSE, |view| {
        render_move_out(&desk, view, &form, &Errors::new(), StatusCode::OK)
    })
    .await
}

fn render_move_out(
    desk: &Desk,
    view: &ResidentView,
    form: &MoveOutForm,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let lang = desk.lang();
    let title = lang.t("転出届", "Move-out");
    let id = view.resident_id;
    let content = html! {
        p { (lang.t("署名用電子証明書は転出届で失効します。転出予定日から30日以内に転入届がないと、カードは失効します。",
            "The move-out revokes the signature certificate. Without a move-in within 30 days of the planned move-out, the card lapses.")) }
        form method="post" action=(format!("/window/residents/{id}/move-out")) novalidate {
            (hidden_fields(&desk.ctx))
            (radios(lang, errors, Radios::new("destination_kind", lang.t("転出先", "Moving to"),
                &[Choice::new("domestic", lang.t("国内の他の市区町村", "Another municipality in Japan")), Choice::new("abroad", lang.t("国外", "Abroad"))],
                &form.destination_kind)))
            (input(lang, errors, Input::text("destination", lang.t("転出先の市区町村コード", "Destination municipality code"), &form.destination)
                .hint(lang.t("国内の場合：全国地方公共団体コード6桁（例：札幌市 011002）", "In Japan: the 6-digit municipality code (Sapporo: 011002)"))
                .short().numeric().maxlength(6)))
            (input(lang, errors, Input::date("planned_move_out_on", lang.t("転出予定日", "Planned move-out date"), &form.planned_move_out_on)
                .hint(lang.t("国外転出の場合は出国日", "For a departure abroad: the day of departure")).required()))
            (checkbox(lang, errors, "abroad_with_continued_use", lang.t("国外転出後もカードを継続利用する", "Keep using the card abroad"),
                Some(lang.t("国外転出の場合のみ（日本国籍の方）。", "Abroad only (Japanese nationals).")), on(&form.abroad_with_continued_use)))
            (form_buttons(lang, lang.t("転出届を受け付ける", "Record the move-out"), &format!("/window/residents/{id}"), false))
        }
    };
    desk.resident_form(status, title, view, errors, content)
}

/// `POST /window/residents/{id}/move-out`.
pub(super) async fn move_out_submit(
    desk: Desk,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<MoveOutForm>,
) -> Response {
    let lang = desk.lang();
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let mut errors = Errors::new();
    let destination = match form.destination_kind.as_str() {
        "abroad" => Some(Destination::Abroad),
        "domestic" => {
            let code = form.destination.trim();
            if code.is_empty() {
                errors.add(
                    "destination",
                    lang.t(
                        "転出先の市区町村コードを入力してください",
                        "Enter the destination municipality code",
                    ),
                );
                None
            } else if MunicipalityCode::parse(code).is_err() {
                errors.add(
                    "destination",
                    lang.t(
                        "市区町村コードは検査数字を含む6桁の数字です",
                        "A municipality code is 6 digits with its check digit",
                    ),
                );
                None
            } else {
                Some(Destination::Municipality(code.to_owned()))
            }
        }
        _ => {
            errors.add("destination_kind", lang.t("転出先を選んでください", "Choose where to"));
            None
        }
    };
    let planned = required_date(
        lang,
        &mut errors,
        "planned_move_out_on",
        lang.t("転出予定日", "Planned move-out date"),
        &form.planned_move_out_on,
    );
    let (Some(destination), Some(planned), true) = (destination, planned, errors.is_empty()) else {
        return with_view(&desk, id, PURPOSE, |view| {
            render_move_out(&desk, view, &form, &errors, StatusCode::BAD_REQUEST)
        })
        .await;
    };
    let request = MoveOut {
        resident_id: id,
        planned_move_out_on: planned,
        destination,
        abroad_with_continued_use: on(&form.abroad_with_continued_use),
    };
    match desk
        .act(&form.key, move |a, actor, key| a.move_out(actor, key, &request))
        .await
    {
        Ok(_) => see_other(&format!("/window/residents/{id}?done=moved_out")),
        Err(p) => {
            refused(
                &desk,
                p,
                desk.view(id, PURPOSE),
                |code| match code {
                    "bad_request" => Some("destination"),
                    "continued_use_not_available" => Some("abroad_with_continued_use"),
                    _ => None,
                },
                |view, errors, status| render_move_out(&desk, view, &form, errors, status),
            )
            .await
        }
    }
}

// ------------------------------------------------------------- move-in start

/// `GET /window/move-in?number=`: the registry number from the move-out.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct MoveInStartQuery {
    number: Option<String>,
}

/// `GET /window/move-in`: how to find the person moving in.
pub(super) async fn move_in_start(desk: Desk, Query(q): Query<MoveInStartQuery>) -> Response {
    let lang = desk.lang();
    let mut errors = Errors::new();
    let number = q.number.unwrap_or_default();
    if !number.trim().is_empty() {
        match number.trim().parse::<i64>() {
            Ok(id) if id > 0 => return see_other(&format!("/window/residents/{id}/move-in")),
            _ => errors.add(
                "number",
                lang.t("登録番号は数字で入力してください", "The registry number is a number"),
            ),
        }
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render_move_in_start(&desk, &number, "", &errors, status)
}

fn render_move_in_start(desk: &Desk, number: &str, my_number: &str, errors: &Errors, status: StatusCode) -> Response {
    let lang = desk.lang();
    let title = lang.t("転入届", "Move-in");
    let body = html! {
        (breadcrumbs(lang, &[("/window", lang.t("窓口トップ", "Window"))]))
        div.narrow {
            h1 { (title) }
            p.lead { (lang.t("他の市区町村から、または国外から転入する方の手続です。まず、転入する方を確認します。",
                "For a person moving in from another municipality or back from abroad. First find the person.")) }
            (error_summary(lang, errors))
            h2 { (lang.t("転出元で示された登録番号で探す", "By the registry number given at the move-out")) }
            form method="get" action="/window/move-in" novalidate {
                (input(lang, errors, Input::text("number", lang.t("登録番号", "Registry number"), number)
                    .hint(lang.t("転出届を受け付けた市区町村の窓口で示された番号です。", "The number the window of the old municipality gave at the move-out."))
                    .short().numeric().autocomplete("off")))
                button.button type="submit" { (lang.t("次へ", "Continue")) }
            }
            h2 { (lang.t("個人番号で探す（国外からの帰国）", "By My Number (back from abroad)")) }
            p.hint { (lang.t("この市区町村から国外へ転出した方が戻る場合に使えます。照会は開示記録に残ります。",
                "For a person who left this municipality for abroad and returns. The lookup is recorded in the disclosure log.")) }
            form method="post" action="/window/move-in" novalidate autocomplete="off" {
                (hidden_fields(&desk.ctx))
                (input(lang, errors, Input::text("my_number", lang.t("個人番号（マイナンバー）", "My Number"), my_number)
                    .short().numeric().autocomplete("off").maxlength(12)))
                button.button.button--secondary type="submit" { (lang.t("個人番号で探す", "Look up")) }
            }
        }
    };
    desk.form_page(status, title, errors, body)
}

/// The My Number lookup of a move-in.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct MoveInLookup {
    my_number: String,
}

/// `POST /window/move-in`: the My Number lookup (never in a URL).
pub(super) async fn move_in_lookup(desk: Desk, CsrfForm(form): CsrfForm<MoveInLookup>) -> Response {
    let lang = desk.lang();
    let number = form.my_number.trim().to_owned();
    let mut errors = Errors::new();
    if MyNumber::parse(&number).is_err() {
        errors.add(
            "my_number",
            lang.t(
                "個人番号は12桁の数字です。最後の検査用数字も確認してください",
                "The My Number is 12 digits; check the last (check) digit",
            ),
        );
        return render_move_in_start(&desk, "", &number, &errors, StatusCode::BAD_REQUEST);
    }
    let actor = desk.actor();
    let lookup = number.clone();
    match desk
        .state
        .run(move |a| a.find_resident_by_my_number(&actor, &lookup, PURPOSE))
        .await
    {
        Ok(view) if view.status == "moved_out" || view.status == "abroad" => {
            see_other(&format!("/window/residents/{}/move-in", view.resident_id))
        }
        Ok(_) => {
            errors.add(
                "my_number",
                lang.t(
                    "この方は転出・国外転出をしていません。住民の画面から手続してください",
                    "This person has not moved out: use the resident's page",
                ),
            );
            render_move_in_start(&desk, "", &number, &errors, StatusCode::CONFLICT)
        }
        Err(p) if p.status == 404 => {
            errors.add(
                "my_number",
                lang.t(
                    "この個人番号の方は、この市区町村の記録にありません。他の市区町村からの転入は登録番号で探してください",
                    "No record of this municipality has this My Number: for a move from another municipality use the registry number",
                ),
            );
            render_move_in_start(&desk, "", &number, &errors, StatusCode::NOT_FOUND)
        }
        Err(p) if super::refuses_form(&p) => {
            let errors = refusal_errors(lang, &p, |_| Some("my_number"));
            render_move_in_start(&desk, "", &number, &errors, p.status_code())
        }
        Err(p) => desk.problem(&p),
    }
}

// ------------------------------------------------------------------ move-in

/// The 転入届 form as typed (the registry PIN typed by the holder).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct MoveInForm {
    #[serde(rename = "_key")]
    key: String,
    identity_checked: Option<String>,
    moved_in_on: String,
    new_address: String,
    continued_use: Option<String>,
    registry_pin: PinField,
    new_signature_certificate: Option<String>,
}

/// The record of a person moving in, if this window may read it (a return
/// from abroad to this municipality); `None` when it is still another
/// municipality's.
async fn incoming(desk: &Desk, id: i64) -> Result<Option<ResidentView>, Problem> {
    match desk.view(id, PURPOSE).await {
        Ok(view) => Ok(Some(view)),
        Err(p) if p.status == 403 => Ok(None),
        Err(p) => Err(p),
    }
}

/// `GET /window/residents/{id}/move-in`.
pub(super) async fn move_in_page(desk: Desk, Path(id): Path<String>) -> Response {
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    match incoming(&desk, id).await {
        Ok(view) => render_move_in(
            &desk,
            id,
            view.as_ref(),
            &MoveInForm::default(),
            &Errors::new(),
            StatusCode::OK,
        ),
        Err(p) => desk.problem(&p),
    }
}

fn render_move_in(
    desk: &Desk,
    id: i64,
    view: Option<&ResidentView>,
    form: &MoveInForm,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let lang = desk.lang();
    let title = lang.t("転入届", "Move-in");
    let body = html! {
        @if let Some(view) = view { (resident_trail(lang, view)) } @else {
            (breadcrumbs(lang, &[("/window", lang.t("窓口トップ", "Window")), ("/window/move-in", lang.t("転入届", "Move-in"))]))
        }
        div.narrow {
            span.caption {
                @if let Some(view) = view { (view.name) } @else {
                    (match lang { Lang::Ja => format!("登録番号 {id} の方"), Lang::En => format!("Registry number {id}") })
                }
            }
            h1 { (title) }
            (error_summary(lang, errors))
            @if let Some(view) = view { (resident_brief(lang, view)) } @else {
                div.banner.banner--info role="note" {
                    p.banner__text { (lang.t(
                        "転出元の市区町村の記録は、転入の手続が終わるまでこの窓口では表示できません。転出証明書または本人のカードと、本人確認書類でご本人を確認してください。",
                        "The old municipality's record cannot be shown here until the move-in is recorded. Identify the person by the move-out certificate or the card, and identity documents."
                    )) }
                }
            }
            form method="post" action=(format!("/window/residents/{id}/move-in")) novalidate autocomplete="off" {
                (hidden_fields(&desk.ctx))
                (identity_check(lang, errors, on(&form.identity_checked)))
                (input(lang, errors, Input::date("moved_in_on", lang.t("転入した日（住所を定めた日）", "Day moved in"), &form.moved_in_on)
                    .hint(lang.t("転入した日から14日以内に届け出てください。", "The move-in is due within 14 days of moving in.")).required()))
                (input(lang, errors, Input::text("new_address", lang.t("新しい住所", "New address"), &form.new_address)
                    .hint(lang.t("都道府県から", "From the prefecture")).required()))
                (checkbox(lang, errors, "continued_use", lang.t("カードを提示して継続利用の手続をする", "The card is presented for its continued use"),
                    Some(lang.t("新しい住所をカードの追記欄に記載します。ご本人が住民基本台帳用の暗証番号を入力します（顔認証マイナンバーカードは不要）。",
                        "The new address goes in the card's entries; the holder types the resident-registry PIN (not for a face-recognition card).")),
                    on(&form.continued_use)))
                (pinpad(lang, errors, &[PinSpec { name: "registry_pin", kind: PinKind::ResidentRegistry, confirm: false }], html! {}))
                (new_signature_box(lang, errors, on(&form.new_signature_certificate)))
                (form_buttons(lang, lang.t("転入届を受け付ける", "Record the move-in"), "/window/move-in", false))
            }
        }
    };
    desk.form_page(status, title, errors, body)
}

/// Which field a refusal of a move-in or continued use is about.
fn pin_refusal_field(code: &str) -> Option<&'static str> {
    match code {
        "wrong_pin" | "pin_locked" | "pin_not_set" => Some("registry_pin"),
        "no_card" | "card_suspended" => Some("continued_use"),
        "signature_not_allowed" | "face_card_no_signature" | "sign_pin_not_set" | "new_card_waiting" => {
            Some("new_signature_certificate")
        }
        _ => None,
    }
}

/// `POST /window/residents/{id}/move-in`.
pub(super) async fn move_in_submit(
    desk: Desk,
    Path(id): Path<String>,
    CsrfForm(mut form): CsrfForm<MoveInForm>,
) -> Response {
    let lang = desk.lang();
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let mut errors = Errors::new();
    require_identity(lang, &mut errors, on(&form.identity_checked));
    let moved_in = required_date(
        lang,
        &mut errors,
        "moved_in_on",
        lang.t("転入した日", "Day moved in"),
        &form.moved_in_on,
    );
    require_text(
        lang,
        &mut errors,
        "new_address",
        lang.t("新しい住所", "New address"),
        &form.new_address,
    );
    let continued_use = on(&form.continued_use);
    // A face-recognition card has no PIN: an empty pad is the authority's to judge.
    if continued_use && !form.registry_pin.is_empty() {
        check_pin(
            lang,
            &mut errors,
            PinKind::ResidentRegistry,
            "registry_pin",
            form.registry_pin.typed(),
            None,
        );
    }
    if on(&form.new_signature_certificate) && !continued_use {
        errors.add(
            "new_signature_certificate",
            lang.t(
                "新しい署名用電子証明書には、カードの提示（継続利用）が必要です",
                "A new signature certificate needs the card presented (continued use)",
            ),
        );
    }
    let (Some(moved_in_on), true) = (moved_in, errors.is_empty()) else {
        return match incoming(&desk, id).await {
            Ok(view) => render_move_in(&desk, id, view.as_ref(), &form, &errors, StatusCode::BAD_REQUEST),
            Err(p) => desk.problem(&p),
        };
    };
    let request = MoveIn {
        resident_id: id,
        municipality: desk.municipality(),
        moved_in_on,
        new_address: form.new_address.trim().to_owned(),
        continued_use,
        registry_pin: Zeroizing::new(std::mem::take(&mut form.registry_pin.0)),
        new_signature_certificate: on(&form.new_signature_certificate),
    };
    match desk
        .act(&form.key, move |a, actor, key| a.move_in(actor, key, &request))
        .await
    {
        Ok(_) => see_other(&format!("/window/residents/{id}?done=moved_in")),
        Err(p) => {
            refused(
                &desk,
                p,
                incoming(&desk, id),
                pin_refusal_field,
                |view, errors, status| render_move_in(&desk, id, view.as_ref(), &form, errors, status),
            )
            .await
        }
    }
}

// ------------------------------------------------------------ continued use

/// The 継続利用 form (the registry PIN typed by the holder).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ContinuedUseForm {
    #[serde(rename = "_key")]
    key: String,
    identity_checked: Option<String>,
    registry_pin: PinField,
    new_signature_certificate: Option<String>,
}

/// `GET /window/residents/{id}/continued-use`.
pub(super) async fn continued_use_page(desk: Desk, Path(id): Path<String>) -> Response {
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    with_view(&desk, id, PURPOSE, |view| {
        render_continued_use(
            &desk,
            view,
            &ContinuedUseForm::default(),
            &Errors::new(),
            StatusCode::OK,
        )
    })
    .await
}

fn render_continued_use(
    desk: &Desk,
    view: &ResidentView,
    form: &ContinuedUseForm,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let lang = desk.lang();
    let title = lang.t("カードの継続利用", "Continued use of the card");
    let id = view.resident_id;
    let face = super::card_in_use(view).is_some_and(|c| c.face_recognition);
    let content = html! {
        p { (lang.t("カードを持たずに転入届をした方は、転入届から90日以内にカードの継続利用の手続をします。新しい住所をカードの追記欄に記載します。",
            "A person who moved in without the card presents it within 90 days of the move-in; the new address goes in the card's entries.")) }
        form method="post" action=(format!("/window/residents/{id}/continued-use")) novalidate autocomplete="off" {
            (hidden_fields(&desk.ctx))
            (identity_check(lang, errors, on(&form.identity_checked)))
            @if face {
                p { (lang.t("顔認証マイナンバーカードのため、暗証番号の入力は不要です。", "A face-recognition card: no PIN is needed.")) }
            } @else {
                (pinpad(lang, errors, &[PinSpec { name: "registry_pin", kind: PinKind::ResidentRegistry, confirm: false }], html! {}))
            }
            (new_signature_box(lang, errors, on(&form.new_signature_certificate)))
            (form_buttons(lang, lang.t("継続利用の手続をする", "Record the continued use"), &format!("/window/residents/{id}"), false))
        }
    };
    desk.resident_form(status, title, view, errors, content)
}

/// `POST /window/residents/{id}/continued-use`.
pub(super) async fn continued_use_submit(
    desk: Desk,
    Path(id): Path<String>,
    CsrfForm(mut form): CsrfForm<ContinuedUseForm>,
) -> Response {
    let lang = desk.lang();
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let mut errors = Errors::new();
    require_identity(lang, &mut errors, on(&form.identity_checked));
    if !form.registry_pin.is_empty() {
        check_pin(
            lang,
            &mut errors,
            PinKind::ResidentRegistry,
            "registry_pin",
            form.registry_pin.typed(),
            None,
        );
    }
    if !errors.is_empty() {
        return with_view(&desk, id, PURPOSE, |view| {
            render_continued_use(&desk, view, &form, &errors, StatusCode::BAD_REQUEST)
        })
        .await;
    }
    let request = ContinuedUse {
        resident_id: id,
        registry_pin: Zeroizing::new(std::mem::take(&mut form.registry_pin.0)),
        new_signature_certificate: on(&form.new_signature_certificate),
    };
    match desk
        .act(&form.key, move |a, actor, key| {
            a.continue_card_use(actor, key, &request)
        })
        .await
    {
        Ok(_) => see_other(&format!("/window/residents/{id}?done=continued_use")),
        Err(p) => {
            refused(
                &desk,
                p,
                desk.view(id, PURPOSE),
                |code| match code {
                    "bad_request" => Some("registry_pin"),
                    other => pin_refusal_field(other),
                },
                |view, errors, status| render_continued_use(&desk, view, &form, errors, status),
            )
            .await
        }
    }
}

// -------------------------------------------------------------- move within

/// The 転居届 form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct MoveWithinForm {
    #[serde(rename = "_key")]
    key: String,
    new_address: String,
    moved_on: String,
    new_signature_certificate: Option<String>,
}

/// `GET /window/residents/{id}/move-within`.
pub(super) async fn move_within_page(desk: Desk, Path(id): Path<String>) -> Response {
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    with_view(&desk, id, PURPOSE, |view| {
        render_move_within(&desk, view, &MoveWithinForm::default(), &Errors::new(), StatusCode::OK)
    })
    .await
}

fn render_move_within(
    desk: &Desk,
    view: &ResidentView,
    form: &MoveWithinForm,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let lang = desk.lang();
    let title = lang.t("転居届", "Move within the municipality");
    let id = view.resident_id;
    let content = html! {
        p { (lang.t("カードをお持ちの方は、新しい住所をカードの追記欄に記載します。署名用電子証明書は失効します。",
            "The new address goes in the card's entries; the signature certificate is revoked.")) }
        form method="post" action=(format!("/window/residents/{id}/move-within")) novalidate {
            (hidden_fields(&desk.ctx))
            (input(lang, errors, Input::text("new_address", lang.t("新しい住所", "New address"), &form.new_address)
                .hint(lang.t("都道府県から", "From the prefecture")).required()))
            (input(lang, errors, Input::date("moved_on", lang.t("転居した日", "Day of the move"), &form.moved_on).required()))
            (new_signature_box(lang, errors, on(&form.new_signature_certificate)))
            (form_buttons(lang, lang.t("転居届を受け付ける", "Record the move"), &format!("/window/residents/{id}"), false))
        }
    };
    desk.resident_form(status, title, view, errors, content)
}

/// `POST /window/residents/{id}/move-within`.
pub(super) async fn move_within_submit(
    desk: Desk,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<MoveWithinForm>,
) -> Response {
    let lang = desk.lang();
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let mut errors = Errors::new();
    require_text(
        lang,
        &mut errors,
        "new_address",
        lang.t("新しい住所", "New address"),
        &form.new_address,
    );
    let moved = required_date(
        lang,
        &mut errors,
        "moved_on",
        lang.t("転居した日", "Day of the move"),
        &form.moved_on,
    );
    let (Some(moved_on), true) = (moved, errors.is_empty()) else {
        return with_view(&desk, id, PURPOSE, |view| {
            render_move_within(&desk, view, &form, &errors, StatusCode::BAD_REQUEST)
        })
        .await;
    };
    let request = MoveWithin {
        resident_id: id,
        new_address: form.new_address.trim().to_owned(),
        moved_on,
        new_signature_certificate: on(&form.new_signature_certificate),
    };
    match desk
        .act(&form.key, move |a, actor, key| a.move_within(actor, key, &request))
        .await
    {
        Ok(_) => see_other(&format!("/window/residents/{id}?done=moved_within")),
        Err(p) => {
            refused(
                &desk,
                p,
                desk.view(id, PURPOSE),
                |code| match code {
                    "bad_request" => Some("moved_on"),
                    other => pin_refusal_field(other),
                },
                |view, errors, status| render_move_within(&desk, view, &form, errors, status),
            )
            .await
        }
    }
}

// -------------------------------------------------------------- name change

/// The 氏名の変更 form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct NameChangeForm {
    #[serde(rename = "_key")]
    key: String,
    new_name: String,
    new_name_kana: String,
    changed_on: String,
    reason: String,
    new_signature_certificate: Option<String>,
}

/// `GET /window/residents/{id}/name-change`.
pub(super) async fn name_change_page(desk: Desk, Path(id): Path<String>) -> Response {
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let form = NameChangeForm {
        reason: "marriage".into(),
        ..NameChangeForm::default()
    };
    with_view(&desk, id, PURPOSE, |view| {
        render_name_change(&desk, view, &form, &Errors::new(), StatusCode::OK)
    })
    .await
}

fn render_name_change(
    desk: &Desk,
    view: &ResidentView,
    form: &NameChangeForm,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let lang = desk.lang();
    let title = lang.t("氏名の変更", "Change of name");
    let id = view.resident_id;
    let content = html! {
        form method="post" action=(format!("/window/residents/{id}/name-change")) novalidate {
            (hidden_fields(&desk.ctx))
            (input(lang, errors, Input::text("new_name", lang.t("新しい氏名", "New name"), &form.new_name).required()))
            (input(lang, errors, Input::text("new_name_kana", lang.t("新しい氏名の振り仮名", "New name in kana"), &form.new_name_kana)
                .hint(lang.t("カタカナ", "Katakana")).required()))
            (input(lang, errors, Input::date("changed_on", lang.t("変更の日", "Day of the change"), &form.changed_on).required()))
            (radios(lang, errors, Radios::new("reason", lang.t("変更の理由", "Reason"), &[
                Choice::new("marriage", lang.t("婚姻", "Marriage")),
                Choice::new("divorce", lang.t("離婚", "Divorce")),
                Choice::new("adoption", lang.t("養子縁組・離縁", "Adoption")),
                Choice::new("other", lang.t("その他（家庭裁判所の許可など）", "Other (family court, …)")),
            ], &form.reason)))
            (new_signature_box(lang, errors, on(&form.new_signature_certificate)))
            (form_buttons(lang, lang.t("氏名の変更を記録する", "Record the change"), &format!("/window/residents/{id}"), false))
        }
    };
    desk.resident_form(status, title, view, errors, content)
}

/// `POST /window/residents/{id}/name-change`.
pub(super) async fn name_change_submit(
    desk: Desk,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<NameChangeForm>,
) -> Response {
    let lang = desk.lang();
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let mut errors = Errors::new();
    require_text(
        lang,
        &mut errors,
        "new_name",
        lang.t("新しい氏名", "New name"),
        &form.new_name,
    );
    require_text(
        lang,
        &mut errors,
        "new_name_kana",
        lang.t("新しい氏名の振り仮名", "New name in kana"),
        &form.new_name_kana,
    );
    let changed = required_date(
        lang,
        &mut errors,
        "changed_on",
        lang.t("変更の日", "Day of the change"),
        &form.changed_on,
    );
    let reason = match form.reason.as_str() {
        "marriage" => Some(NameChangeReason::Marriage),
        "divorce" => Some(NameChangeReason::Divorce),
        "adoption" => Some(NameChangeReason::Adoption),
        "other" => Some(NameChangeReason::Other),
        _ => {
            errors.add("reason", lang.t("変更の理由を選んでください", "Choose the reason"));
            None
        }
    };
    let (Some(changed_on), Some(reason), true) = (changed, reason, errors.is_empty()) else {
        return with_view(&desk, id, PURPOSE, |view| {
            render_name_change(&desk, view, &form, &errors, StatusCode::BAD_REQUEST)
        })
        .await;
    };
    let request = NameChange {
        resident_id: id,
        new_name: form.new_name.trim().to_owned(),
        new_name_kana: form.new_name_kana.trim().to_owned(),
        changed_on,
        reason,
        new_signature_certificate: on(&form.new_signature_certificate),
    };
    match desk
        .act(&form.key, move |a, actor, key| a.change_name(actor, key, &request))
        .await
    {
        Ok(_) => see_other(&format!("/window/residents/{id}?done=name_changed")),
        Err(p) => {
            refused(
                &desk,
                p,
                desk.view(id, PURPOSE),
                |code| match code {
                    "bad_request" => Some("changed_on"),
                    other => pin_refusal_field(other),
                },
                |view, errors, status| render_name_change(&desk, view, &form, errors, status),
            )
            .await
        }
    }
}

// -------------------------------------------------------------------- death

/// The 死亡届 form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct DeathForm {
    #[serde(rename = "_key")]
    key: String,
    died_on: String,
    confirmed: Option<String>,
}

/// `GET /window/residents/{id}/death`.
pub(super) async fn death_page(desk: Desk, Path(id): Path<String>) -> Response {
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    with_view(&desk, id, PURPOSE, |view| {
        render_death(&desk, view, &DeathForm::default(), &Errors::new(), StatusCode::OK)
    })
    .await
}

fn render_death(desk: &Desk, view: &ResidentView, form: &DeathForm, errors: &Errors, status: StatusCode) -> Response {
    let lang = desk.lang();
    let title = lang.t("死亡届", "Death");
    let id = view.resident_id;
    let content = html! {
        div.banner.banner--warning role="note" {
            p.banner__text { (lang.t("住民票が消除され、カードは失効し、すべての電子証明書が失効します。取り消せません。",
                "The record is removed, the card lapses and every certificate is revoked. This cannot be undone.")) }
        }
        form method="post" action=(format!("/window/residents/{id}/death")) novalidate {
            (hidden_fields(&desk.ctx))
            (input(lang, errors, Input::date("died_on", lang.t("死亡した日", "Date of death"), &form.died_on).required()))
            (checkbox(lang, errors, "confirmed", lang.t("死亡届の内容を確認しました", "I have checked the notification of death"), None, on(&form.confirmed)))
            (form_buttons(lang, lang.t("死亡を記録する", "Record the death"), &format!("/window/residents/{id}"), true))
        }
    };
    desk.resident_form(status, title, view, errors, content)
}

/// `POST /window/residents/{id}/death`.
pub(super) async fn death_submit(desk: Desk, Path(id): Path<String>, CsrfForm(form): CsrfForm<DeathForm>) -> Response {
    let lang = desk.lang();
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let mut errors = Errors::new();
    let died = required_date(
        lang,
        &mut errors,
        "died_on",
        lang.t("死亡した日", "Date of death"),
        &form.died_on,
    );
    if !on(&form.confirmed) {
        errors.add(
            "confirmed",
            lang.t(
                "死亡届の内容を確認したことを確認してください",
                "Confirm that you have checked the notification",
            ),
        );
    }
    let (Some(died_on), true) = (died, errors.is_empty()) else {
        return with_view(&desk, id, PURPOSE, |view| {
            render_death(&desk, view, &form, &errors, StatusCode::BAD_REQUEST)
        })
        .await;
    };
    let request = Death {
        resident_id: id,
        died_on,
    };
    match desk
        .act(&form.key, move |a, actor, key| a.record_death(actor, key, &request))
        .await
    {
        Ok(_) => see_other(&format!("/window/residents/{id}?done=death_recorded")),
        Err(p) => {
            refused(
                &desk,
                p,
                desk.view(id, PURPOSE),
                |code| match code {
                    "bad_request" => Some("died_on"),
                    _ => None,
                },
                |view, errors, status| render_death(&desk, view, &form, errors, status),
            )
            .await
        }
    }
}

// ---------------------------------------------------------- validity change

/// The 有効期間変更 form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ValidityForm {
    #[serde(rename = "_key")]
    key: String,
    new_stay_until: String,
    applicant: String,
}

/// `GET /window/residents/{id}/validity-change`.
pub(super) async fn validity_page(desk: Desk, Path(id): Path<String>) -> Response {
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let form = ValidityForm {
        applicant: "holder".into(),
        ..ValidityForm::default()
    };
    with_view(&desk, id, "card_service", |view| {
        render_validity(&desk, view, &form, &Errors::new(), StatusCode::OK)
    })
    .await
}

fn render_validity(
    desk: &Desk,
    view: &ResidentView,
    form: &ValidityForm,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let lang = desk.lang();
    let title = lang.t("カードの有効期間の変更", "Card validity change");
    let id = view.resident_id;
    let content = html! {
        p { (lang.t("在留期間が更新された外国人住民のカードの有効期限を、新しい在留期間満了日に合わせます（手数料なし）。電子証明書の有効期限は変わりません。",
            "A foreign resident's card follows the extended period of stay (free). The certificates keep their expiry.")) }
        form method="post" action=(format!("/window/residents/{id}/validity-change")) novalidate {
            (hidden_fields(&desk.ctx))
            (input(lang, errors, Input::date("new_stay_until", lang.t("新しい在留期間満了日", "New end of the period of stay"), &form.new_stay_until).required()))
            (radios(lang, errors, Radios::new("applicant", lang.t("届出をする人", "Who applies"), &[
                Choice::new("holder", lang.t("本人", "The holder")),
                Choice::new("legal_representative", lang.t("法定代理人", "Legal representative")),
                Choice::new("household_member", lang.t("同一世帯員", "Household member")),
            ], &form.applicant)))
            (form_buttons(lang, lang.t("有効期間を変更する", "Change the validity"), &format!("/window/residents/{id}"), false))
        }
    };
    desk.resident_form(status, title, view, errors, content)
}

/// `POST /window/residents/{id}/validity-change`.
pub(super) async fn validity_submit(
    desk: Desk,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ValidityForm>,
) -> Response {
    let lang = desk.lang();
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let mut errors = Errors::new();
    let until = required_date(
        lang,
        &mut errors,
        "new_stay_until",
        lang.t("新しい在留期間満了日", "New end of the period of stay"),
        &form.new_stay_until,
    );
    let applicant = match form.applicant.as_str() {
        "holder" => Some(Applicant::Holder),
        "legal_representative" => Some(Applicant::LegalRepresentative),
        "household_member" => Some(Applicant::HouseholdMember),
        _ => {
            errors.add(
                "applicant",
                lang.t("届出をする人を選んでください", "Choose who applies"),
            );
            None
        }
    };
    let (Some(new_stay_until), Some(applicant), true) = (until, applicant, errors.is_empty()) else {
        return with_view(&desk, id, "card_service", |view| {
            render_validity(&desk, view, &form, &errors, StatusCode::BAD_REQUEST)
        })
        .await;
    };
    let request = ValidityChange {
        resident_id: id,
        new_stay_until,
        applicant: Some(applicant),
    };
    match desk
        .act(&form.key, move |a, actor, key| a.change_validity(actor, key, &request))
        .await
    {
        Ok(_) => see_other(&format!("/window/residents/{id}?done=validity_changed")),
        Err(p) => {
            refused(
                &desk,
                p,
                desk.view(id, "card_service"),
                |_| Some("new_stay_until"),
                |view, errors, status| render_validity(&desk, view, &form, errors, status),
            )
            .await
        }
    }
}
