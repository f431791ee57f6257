//! The card's own procedures at the window: 再交付 (with the fee and a
//! printable receipt), 電子証明書の更新, 暗証番号の再設定, 顔認証マイナンバー
//! カードへの切替 and back, 紛失届, 発見, 返納.
//!
//! The receipt is a page of its own so that it can be printed (and
//! printed again) from the resident's fees: the print style sheet hides
//! the service's chrome, and no script is needed — the page tells the
//! clerk to use the browser's print.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use mynacard_authority::issuance::PinPad;
use mynacard_authority::loss::{LossReport, LostCard, NoFaultGround, Reissue, ReissueEvidenceGiven};
use mynacard_authority::records::{CardSummary, ResidentView};
use mynacard_rules::fee::{FeeCause, CARD_ONLY_YEN, CARD_WITH_CERTIFICATES_YEN};
use mynacard_rules::pin::PinKind;
use mynacard_store::registry::{self, LossCause, LossChannel};
use serde::Deserialize;

use super::{
    card_in_use, card_status, certificate_kind, certificate_status, done_banner, fee_cause, form_buttons,
    identity_check, maybe_date, on, path_id, pin_label, pinpad, refusal_errors, refused, require_identity,
    resident_trail, see_other, take_pad, take_pin, with_view, yen, Desk, DoneQuery, PinField, PinSpec,
};
use crate::access::CsrfForm;
use crate::problem::Problem;
use crate::web::forms::{checkbox, input, radios, Choice, Errors, Input, Radios};
use crate::web::{hidden_fields, Lang};

/// The purpose of the reads for these procedures.
const PURPOSE: &str = "card_service";

/// The resident holding card `serial`, and the card as their record shows it.
async fn card_and_view(desk: &Desk, serial: &str) -> Result<(ResidentView, CardSummary), Problem> {
    let resident_id = desk.card_holder(serial).await?;
    let view = desk.view(resident_id, PURPOSE).await?;
    let card = view
        .cards
        .iter()
        .find(|c| c.serial == serial)
        .cloned()
        .ok_or_else(|| Problem::not_found(format!("card {serial}")))?;
    Ok((view, card))
}

/// The card's line above a card form.
fn card_line(lang: Lang, card: &CardSummary) -> Markup {
    html! {
        dl.summary {
            dt { (lang.t("カード番号", "Card")) }
            dd { code { (card.serial) } }
            dt { (lang.t("状態", "Status")) }
            dd { (card_status(lang, &card.status)) }
            dt { (lang.t("種類", "Type")) }
            dd { @if card.face_recognition { (lang.t("顔認証マイナンバーカード", "Face-recognition card")) } @else { (lang.t("暗証番号を使うカード", "PIN card")) } }
            dt { (lang.t("有効期限", "Expires")) }
            dd { (lang.date(card.expires_on)) }
        }
    }
}

// ------------------------------------------------------------------ reissue

/// The 再交付 form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ReissueForm {
    #[serde(rename = "_key")]
    key: String,
    cause: String,
    police_receipt_number: String,
    disaster_certificate: String,
    damaged_card_returned: Option<String>,
    old_card_returned: Option<String>,
    not_holders_fault: String,
    with_certificates: Option<String>,
}

const CAUSES: [(&str, FeeCause); 7] = [
    ("loss", FeeCause::Loss),
    ("theft", FeeCause::Theft),
    ("fire", FeeCause::Fire),
    ("damage", FeeCause::Damage),
    ("malfunction", FeeCause::Malfunction),
    ("full_entries", FeeCause::FullEntries),
    ("stay_expired", FeeCause::StayExpired),
];

/// `GET /window/residents/{id}/reissue`.
pub(super) async fn reissue_page(desk: Desk, Path(id): Path<String>) -> Response {
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let form = ReissueForm {
        not_holders_fault: "none".into(),
        with_certificates: Some("on".into()),
        ..ReissueForm::default()
    };
    with_view(&desk, id, PURPOSE, |view| {
        render_reissue(&desk, view, &form, &Errors::new(), StatusCode::OK)
    })
    .await
}

fn render_reissue(
    desk: &Desk,
    view: &ResidentView,
    form: &ReissueForm,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let lang = desk.lang();
    let title = lang.t("カードの再交付", "Card reissue");
    let id = view.resident_id;
    let causes: Vec<Choice> = CAUSES
        .iter()
        .map(|(v, c)| Choice::new(v, fee_cause(lang, *c)))
        .collect();
    let content = html! {
        p { (lang.t("今のカードは廃止され、その電子証明書は失効します。新しいカードは製造後に交付します。",
            "The current card is invalidated and its certificates revoked; the new card is delivered once produced.")) }
        form method="post" action=(format!("/window/residents/{id}/reissue")) novalidate {
            (hidden_fields(&desk.ctx))
            (radios(lang, errors, Radios::new("cause", lang.t("再交付の理由", "Reason for the reissue"), &causes, &form.cause)))
            fieldset {
                legend { (lang.t("確認した書類など", "Evidence brought")) }
                (input(lang, errors, Input::text("police_receipt_number", lang.t("遺失届の受理番号（紛失・盗難）", "Police receipt number (loss, theft)"), &form.police_receipt_number)
                    .short().autocomplete("off")))
                (input(lang, errors, Input::text("disaster_certificate", lang.t("罹災証明書の番号（焼失・災害）", "Disaster certificate number (fire, disaster)"), &form.disaster_certificate)
                    .short().autocomplete("off")))
                (checkbox(lang, errors, "damaged_card_returned", lang.t("損傷・故障したカードを受け取った", "The damaged card was handed in"), None, on(&form.damaged_card_returned)))
                (checkbox(lang, errors, "old_card_returned", lang.t("旧カードを受け取った（追記欄の余白なし・在留期間満了）", "The old card was handed in (entries full, stay expired)"), None, on(&form.old_card_returned)))
            }
            (radios(lang, errors, Radios::new("not_holders_fault", lang.t("本人の責めによらない場合", "Not the holder's fault"), &[
                Choice::new("none", lang.t("該当しない", "No")),
                Choice::new("natural_disaster", lang.t("自然災害（罹災証明書が必要）", "Natural disaster (needs the disaster certificate)")),
                Choice::new("administrative_error", lang.t("市区町村・J-LISの誤り", "An error of the municipality or J-LIS")),
                Choice::new("other", lang.t("その他、本人の責めによらない理由", "Another cause not the holder's")),
            ], &form.not_holders_fault).hint(lang.t("該当する場合、手数料はかかりません。", "If so, there is no fee."))))
            (checkbox(lang, errors, "with_certificates", lang.t("電子証明書も発行する", "With new certificates"), None, on(&form.with_certificates)))
            div.panel {
                p.panel__title { strong { (lang.t("手数料", "Fee")) } }
                p { (match lang {
                    Lang::Ja => format!("カードのみ {}、電子証明書付き {}。追記欄の余白がない場合と、本人の責めによらない場合は無料です。金額は受付のときに決まり、領収書を印刷できます。",
                        yen(lang, i64::from(CARD_ONLY_YEN)), yen(lang, i64::from(CARD_WITH_CERTIFICATES_YEN))),
                    Lang::En => format!("{} for the card only, {} with certificates; free when the entries are full or it is not the holder's fault. The fee is set when the application is taken, with a printable receipt.",
                        yen(lang, i64::from(CARD_ONLY_YEN)), yen(lang, i64::from(CARD_WITH_CERTIFICATES_YEN))),
                }) }
            }
            (form_buttons(lang, lang.t("再交付を受け付ける", "Take the reissue"), &format!("/window/residents/{id}"), false))
        }
    };
    desk.resident_form(status, title, view, errors, content)
}

/// Which field a refusal of a reissue is about.
fn reissue_field(code: &str) -> Option<&'static str> {
    match code {
        "evidence_missing" => Some("police_receipt_number"),
        "fee_not_applicable" => Some("not_holders_fault"),
        "no_card" | "bad_request" => Some("cause"),
        _ => None,
    }
}

/// `POST /window/residents/{id}/reissue`.
pub(super) async fn reissue_submit(
    desk: Desk,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ReissueForm>,
) -> Response {
    let lang = desk.lang();
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let mut errors = Errors::new();
    let cause = CAUSES.iter().find(|(v, _)| *v == form.cause).map(|(_, c)| *c);
    if cause.is_none() {
        errors.add(
            "cause",
            lang.t("再交付の理由を選んでください", "Choose the reason for the reissue"),
        );
    }
    let ground = match form.not_holders_fault.as_str() {
        "" | "none" => Ok(None),
        "natural_disaster" => Ok(Some(NoFaultGround::NaturalDisaster)),
        "administrative_error" => Ok(Some(NoFaultGround::AdministrativeError)),
        "other" => Ok(Some(NoFaultGround::Other)),
        _ => Err(()),
    };
    if ground.is_err() {
        errors.add(
            "not_holders_fault",
            lang.t("該当するものを選んでください", "Choose one"),
        );
    }
    let (Some(cause), Ok(ground), true) = (cause, ground, errors.is_empty()) else {
        return with_view(&desk, id, PURPOSE, |view| {
            render_reissue(&desk, view, &form, &errors, StatusCode::BAD_REQUEST)
        })
        .await;
    };
    let optional = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
    let request = Reissue {
        resident_id: id,
        cause,
        evidence: ReissueEvidenceGiven {
            police_receipt_number: optional(&form.police_receipt_number),
            disaster_certificate: optional(&form.disaster_certificate),
            damaged_card_returned: on(&form.damaged_card_returned),
            old_card_returned: on(&form.old_card_returned),
        },
        not_holders_fault: ground,
        with_certificates: on(&form.with_certificates),
    };
    match desk
        .act(&form.key, move |a, actor, key| a.reissue(actor, key, &request))
        .await
    {
        Ok(done) => see_other(&format!(
            "/window/residents/{id}/receipts/{}?done=reissued",
            done.fee_id
        )),
        Err(p) => {
            refused(
                &desk,
                p,
                desk.view(id, PURPOSE),
                reissue_field,
                |view, errors, status| render_reissue(&desk, view, &form, errors, status),
            )
            .await
        }
    }
}

/// `GET /window/residents/{id}/receipts/{fee_id}`: the printable receipt
/// (領収書) of a fee, or the acknowledgement (受付票) of a free reissue.
pub(super) async fn receipt(
    desk: Desk,
    Path((id, fee_id)): Path<(String, String)>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let lang = desk.lang();
    let (id, fee_id) = match (path_id(&id), path_id(&fee_id)) {
        (Ok(id), Ok(fee_id)) => (id, fee_id),
        (Err(p), _) | (_, Err(p)) => return desk.problem(&p),
    };
    let view = match desk.view(id, PURPOSE).await {
        Ok(v) => v,
        Err(p) => return desk.problem(&p),
    };
    let found = desk
        .registry(move |tx| {
            let Some(fee) = registry::get_fee(tx, fee_id)? else {
                return Ok(None);
            };
            let municipality = registry::get_municipality(tx, fee.municipality)?;
            Ok(Some((fee, municipality)))
        })
        .await;
    let (fee, municipality) = match found {
        Ok(Some((fee, m))) if fee.resident_id == id => (fee, m),
        Ok(_) => return desk.problem(&Problem::not_found(format!("fee {fee_id}"))),
        Err(p) => return desk.problem(&p),
    };
    let paid = fee.amount_yen > 0 && fee.receipt_number.is_some();
    let title = if paid {
        lang.t("領収書", "Receipt")
    } else {
        lang.t("再交付申請 受付票", "Reissue acknowledgement")
    };
    let issuer = municipality
        .map(|m| match lang {
            Lang::Ja => format!("{}長", m.name_ja),
            Lang::En => format!("Mayor of {}", m.name_en),
        })
        .unwrap_or_else(|| fee.municipality.to_string());
    let body = html! {
        div.no-print { (resident_trail(lang, &view)) }
        div.receipt {
            h1 { (title) }
            dl.summary {
                @if let Some(n) = &fee.receipt_number {
                    dt { (lang.t("領収書番号", "Receipt number")) }
                    dd { code { (n) } }
                }
                dt { (lang.t("氏名", "Name")) }
                dd { (view.name) (lang.t(" 様", "")) }
                dt { (lang.t("金額", "Amount")) }
                dd { strong { (yen(lang, fee.amount_yen)) } }
                dt { (lang.t("内訳", "For")) }
                dd { (lang.t("個人番号カード再交付手数料（", "My Number Card reissue (")) (fee_cause(lang, fee.cause)) (lang.t("）", ")")) }
                @if let Some(app) = fee.application_id {
                    dt { (lang.t("申請番号", "Application")) }
                    dd { code { (app) } }
                }
                dt { (if paid { lang.t("納付日", "Paid on") } else { lang.t("受付日", "Received on") }) }
                dd { (maybe_date(lang, fee.paid_on.or(desk.ctx.today))) }
                dt { (lang.t("発行者", "Issued by")) }
                dd { (issuer) }
            }
            @if paid {
                p { (lang.t("上記の金額を領収しました。", "Received with thanks.")) }
            } @else {
                p { (lang.t("手数料はかかりません。", "No fee is due.")) }
            }
        }
        div.no-print {
            p.hint { (lang.t("印刷するには、ブラウザーの印刷機能（Ctrl+P、Macは ⌘+P）を使ってください。印刷ではメニューなどは表示されず、この書面だけが印刷されます。",
                "To print, use the browser's print (Ctrl+P, or ⌘+P on a Mac). Only this document is printed, without the menus.")) }
            div.button-group {
                a.button.button--secondary href=(format!("/window/residents/{id}")) { (lang.t("住民の画面に戻る", "Back to the resident")) }
            }
        }
    };
    desk.respond(StatusCode::OK, title, done_banner(lang, q.done.as_deref()), body)
}

// ------------------------------------------------------ certificate renewal

/// The 電子証明書の更新 form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RenewalForm {
    #[serde(rename = "_key")]
    key: String,
    card: String,
    identity_checked: Option<String>,
}

/// `GET /window/residents/{id}/renewal`.
pub(super) async fn renewal_page(desk: Desk, Path(id): Path<String>) -> Response {
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    with_view(&desk, id, PURPOSE, |view| {
        render_renewal(&desk, view, false, &Errors::new(), StatusCode::OK)
    })
    .await
}

fn render_renewal(desk: &Desk, view: &ResidentView, checked: bool, errors: &Errors, status: StatusCode) -> Response {
    let lang = desk.lang();
    let title = lang.t("電子証明書の更新", "Certificate renewal");
    let id = view.resident_id;
    let card = card_in_use(view).filter(|c| c.status == "active");
    let content = html! {
        @if let Some(card) = card {
            (card_line(lang, card))
            table.table {
                caption { (lang.t("いまの電子証明書", "Current certificates")) }
                thead { tr {
                    th scope="col" { (lang.t("種類", "Kind")) }
                    th scope="col" { (lang.t("状態", "Status")) }
                    th scope="col" { (lang.t("有効期限", "Valid until")) }
                } }
                tbody {
                    @for c in view.certificates.iter().filter(|c| c.status == "good" || c.status == "expired").rev() {
                        tr {
                            td { (certificate_kind(lang, &c.kind)) }
                            td { (certificate_status(lang, &c.status)) }
                            td { (lang.date(c.not_after)) }
                        }
                    }
                }
            }
            p { (lang.t("同じカードに新しい鍵と電子証明書を作ります（手数料なし）。更新は有効期限の3か月前からです。暗証番号は変わりません。",
                "New keys and certificates on the same card (free), from 3 months before the expiry. The PINs stay the same.")) }
            form method="post" action=(format!("/window/residents/{id}/renewal")) novalidate {
                (hidden_fields(&desk.ctx))
                input type="hidden" name="card" value=(card.serial);
                (identity_check(lang, errors, checked))
                (form_buttons(lang, lang.t("電子証明書を更新する", "Renew the certificates"), &format!("/window/residents/{id}"), false))
            }
        } @else {
            p { (lang.t("有効なカードがないため、電子証明書を更新できません。", "There is no active card to renew certificates on.")) }
            p { a href=(format!("/window/residents/{id}")) { (lang.t("住民の画面に戻る", "Back to the resident")) } }
        }
    };
    desk.resident_form(status, title, view, errors, content)
}

/// `POST /window/residents/{id}/renewal`.
pub(super) async fn renewal_submit(
    desk: Desk,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RenewalForm>,
) -> Response {
    let lang = desk.lang();
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let checked = on(&form.identity_checked);
    let mut errors = Errors::new();
    require_identity(lang, &mut errors, checked);
    match desk.card_holder(&form.card).await {
        Ok(holder) if holder == id => {}
        Ok(_) => return desk.problem(&Problem::not_found(format!("card {}", form.card))),
        Err(p) => return desk.problem(&p),
    }
    if !errors.is_empty() {
        return with_view(&desk, id, PURPOSE, |view| {
            render_renewal(&desk, view, checked, &errors, StatusCode::BAD_REQUEST)
        })
        .await;
    }
    let card = form.card.clone();
    match desk
        .act(&form.key, move |a, actor, key| a.renew_certificates(actor, key, &card))
        .await
    {
        Ok(_) => see_other(&format!("/window/residents/{id}?done=certificates_renewed")),
        Err(p) => {
            refused(
                &desk,
                p,
                desk.view(id, PURPOSE),
                |_| None,
                |view, errors, status| render_renewal(&desk, view, checked, errors, status),
            )
            .await
        }
    }
}

// ---------------------------------------------------------------- PIN reset

/// Which PIN, by its short name in URLs and forms.
const PINS: [(&str, PinKind); 4] = [
    ("auth", PinKind::UserAuthentication),
    ("sign", PinKind::Signature),
    ("input_support", PinKind::InputSupport),
    ("registry", PinKind::ResidentRegistry),
];

fn pin_kind(name: &str) -> Option<PinKind> {
    PINS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// `?pin=` of the PIN reset.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PinQuery {
    pin: Option<String>,
}

/// The 暗証番号の再設定 form: the new PIN typed twice by the holder.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PinResetForm {
    #[serde(rename = "_key")]
    key: String,
    pin: String,
    identity_checked: Option<String>,
    new_pin: PinField,
    new_pin_confirm: PinField,
}

/// `GET /window/cards/{serial}/pin-reset[?pin=auth|sign|input_support|registry]`:
/// first which PIN, then the pad for it.
pub(super) async fn pin_reset_page(desk: Desk, Path(serial): Path<String>, Query(q): Query<PinQuery>) -> Response {
    let (view, card) = match card_and_view(&desk, &serial).await {
        Ok(found) => found,
        Err(p) => return desk.problem(&p),
    };
    let which = q
        .pin
        .as_deref()
        .and_then(|p| PINS.iter().find(|(n, _)| *n == p))
        .map(|(n, _)| *n);
    render_pin_reset(&desk, &view, &card, which, false, &Errors::new(), StatusCode::OK)
}

fn render_pin_reset(
    desk: &Desk,
    view: &ResidentView,
    card: &CardSummary,
    which: Option<&str>,
    checked: bool,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let lang = desk.lang();
    let title = lang.t("暗証番号の再設定", "PIN reset");
    let choices: Vec<Choice> = PINS.iter().map(|(n, k)| Choice::new(n, pin_label(lang, *k))).collect();
    let content = html! {
        (card_line(lang, card))
        @match which.and_then(|w| pin_kind(w).map(|k| (w, k))) {
            None => {
                p { (lang.t("忘れた、またはロックされた暗証番号を、本人確認のうえ新しく設定します。", "A forgotten or locked PIN is set again after an identity check.")) }
                form method="get" action=(format!("/window/cards/{}/pin-reset", card.serial)) novalidate {
                    (radios(lang, errors, Radios::new("pin", lang.t("再設定する暗証番号", "Which PIN"), &choices, "")))
                    button.button type="submit" { (lang.t("次へ", "Continue")) }
                }
            }
            Some((name, kind)) => {
                form method="post" action=(format!("/window/cards/{}/pin-reset", card.serial)) novalidate autocomplete="off" {
                    (hidden_fields(&desk.ctx))
                    input type="hidden" name="pin" value=(name);
                    (identity_check(lang, errors, checked))
                    (pinpad(lang, errors, &[PinSpec { name: "new_pin", kind, confirm: true }], html! {}))
                    (form_buttons(lang, lang.t("暗証番号を再設定する", "Reset the PIN"), &format!("/window/residents/{}", view.resident_id), false))
                }
                p { a href=(format!("/window/cards/{}/pin-reset", card.serial)) { (lang.t("別の暗証番号を選ぶ", "Choose another PIN")) } }
            }
        }
    };
    desk.resident_form(status, title, view, errors, content)
}

/// `POST /window/cards/{serial}/pin-reset`.
pub(super) async fn pin_reset_submit(
    desk: Desk,
    Path(serial): Path<String>,
    CsrfForm(mut form): CsrfForm<PinResetForm>,
) -> Response {
    let lang = desk.lang();
    let (view, card) = match card_and_view(&desk, &serial).await {
        Ok(found) => found,
        Err(p) => return desk.problem(&p),
    };
    let checked = on(&form.identity_checked);
    let Some((name, kind)) = PINS.iter().find(|(n, _)| *n == form.pin).copied() else {
        let mut errors = Errors::new();
        errors.add("pin", lang.t("再設定する暗証番号を選んでください", "Choose which PIN"));
        return render_pin_reset(&desk, &view, &card, None, checked, &errors, StatusCode::BAD_REQUEST);
    };
    let mut errors = Errors::new();
    require_identity(lang, &mut errors, checked);
    let f = &mut form;
    let pin = take_pin(
        lang,
        &mut errors,
        kind,
        "new_pin",
        &mut f.new_pin,
        Some(&f.new_pin_confirm),
    );
    let (Some(pin), true) = (pin, errors.is_empty()) else {
        return render_pin_reset(
            &desk,
            &view,
            &card,
            Some(name),
            checked,
            &errors,
            StatusCode::BAD_REQUEST,
        );
    };
    let card_serial = serial.clone();
    match desk
        .act(&form.key, move |a, actor, key| {
            a.reset_pin(actor, key, &card_serial, kind, pin)
        })
        .await
    {
        Ok(_) => see_other(&format!("/window/residents/{}?done=pin_reset", view.resident_id)),
        Err(p) => {
            refused(
                &desk,
                p,
                card_and_view(&desk, &serial),
                |code| match code {
                    "bad_request" => Some("new_pin"),
                    _ => None,
                },
                |(view, card), errors, status| render_pin_reset(&desk, view, card, Some(name), checked, errors, status),
            )
            .await
        }
    }
}

// --------------------------------------------------------- face recognition

/// The 顔認証 form: to a face-recognition card, or back to PINs (the pad).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct FaceForm {
    #[serde(rename = "_key")]
    key: String,
    identity_checked: Option<String>,
    signature_wanted: Option<String>,
    pin_auth: PinField,
    pin_auth_confirm: PinField,
    pin_sign: PinField,
    pin_sign_confirm: PinField,
    pin_input_support: PinField,
    pin_input_support_confirm: PinField,
    pin_registry: PinField,
    pin_registry_confirm: PinField,
}

/// `GET /window/cards/{serial}/face-recognition`.
pub(super) async fn face_page(desk: Desk, Path(serial): Path<String>) -> Response {
    match card_and_view(&desk, &serial).await {
        Ok((view, card)) => render_face(&desk, &view, &card, false, false, &Errors::new(), StatusCode::OK),
        Err(p) => desk.problem(&p),
    }
}

fn render_face(
    desk: &Desk,
    view: &ResidentView,
    card: &CardSummary,
    checked: bool,
    signature_wanted: bool,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let lang = desk.lang();
    let to_face = !card.face_recognition;
    let title = if to_face {
        lang.t("顔認証マイナンバーカードへの切替", "Convert to a face-recognition card")
    } else {
        lang.t("暗証番号を使うカードに戻す", "Back to a PIN card")
    };
    let back = format!("/window/residents/{}", view.resident_id);
    let pins = [
        PinSpec {
            name: "pin_auth",
            kind: PinKind::UserAuthentication,
            confirm: true,
        },
        PinSpec {
            name: "pin_input_support",
            kind: PinKind::InputSupport,
            confirm: true,
        },
        PinSpec {
            name: "pin_registry",
            kind: PinKind::ResidentRegistry,
            confirm: true,
        },
    ];
    let sign_part = html! {
        (checkbox(lang, errors, "signature_wanted", lang.t("署名用電子証明書も発行する", "Issue a signature certificate too"),
            Some(lang.t("希望する場合は、署名用電子証明書の暗証番号も入力してください。", "If so, also type the signature PIN.")), signature_wanted))
        fieldset {
            legend { (pin_label(lang, PinKind::Signature)) }
            (super::pin_input(lang, errors, "pin_sign", lang.t("暗証番号", "PIN"), PinKind::Signature, true))
            (super::pin_input(lang, errors, "pin_sign_confirm", lang.t("確認のため、もう一度入力してください", "Type it again to confirm"), PinKind::Signature, false))
        }
    };
    let content = html! {
        (card_line(lang, card))
        @if card.status != "active" {
            p { (lang.t("有効なカードだけを切り替えられます。", "Only an active card can be converted.")) }
            p { a href=(back) { (lang.t("住民の画面に戻る", "Back to the resident")) } }
        } @else if to_face {
            div.banner.banner--warning role="note" {
                p.banner__text { (lang.t("暗証番号は使えなくなり、署名用電子証明書（とスマホ用電子証明書）は失効します。本人確認は顔認証または目視で行います。",
                    "The PINs stop working and the signature certificate (and the smartphone certificates) are revoked. The holder is identified by the face.")) }
            }
            form method="post" action=(format!("/window/cards/{}/face-recognition", card.serial)) novalidate {
                (hidden_fields(&desk.ctx))
                (identity_check(lang, errors, checked))
                (form_buttons(lang, lang.t("顔認証マイナンバーカードに切り替える", "Convert to a face-recognition card"), &back, true))
            }
        } @else {
            p { (lang.t("ご本人が新しい暗証番号を設定します。", "The holder sets new PINs.")) }
            form method="post" action=(format!("/window/cards/{}/face-recognition", card.serial)) novalidate autocomplete="off" {
                (hidden_fields(&desk.ctx))
                (identity_check(lang, errors, checked))
                (pinpad(lang, errors, &pins, sign_part))
                (form_buttons(lang, lang.t("暗証番号を使うカードに戻す", "Back to a PIN card"), &back, false))
            }
        }
    };
    desk.resident_form(status, title, view, errors, content)
}

/// `POST /window/cards/{serial}/face-recognition`: converts the card to
/// the other mode.
pub(super) async fn face_submit(
    desk: Desk,
    Path(serial): Path<String>,
    CsrfForm(mut form): CsrfForm<FaceForm>,
) -> Response {
    let lang = desk.lang();
    let (view, card) = match card_and_view(&desk, &serial).await {
        Ok(found) => found,
        Err(p) => return desk.problem(&p),
    };
    let checked = on(&form.identity_checked);
    let signature_wanted = on(&form.signature_wanted);
    let mut errors = Errors::new();
    require_identity(lang, &mut errors, checked);
    let to_face = !card.face_recognition;
    let mut pins = PinPad::default();
    if !to_face {
        let f = &mut form;
        let typed = [
            (&mut f.pin_auth, &f.pin_auth_confirm),
            (&mut f.pin_sign, &f.pin_sign_confirm),
            (&mut f.pin_input_support, &f.pin_input_support_confirm),
            (&mut f.pin_registry, &f.pin_registry_confirm),
        ];
        pins = take_pad(lang, &mut errors, signature_wanted, typed);
    }
    if !errors.is_empty() {
        return render_face(
            &desk,
            &view,
            &card,
            checked,
            signature_wanted,
            &errors,
            StatusCode::BAD_REQUEST,
        );
    }
    let card_serial = serial.clone();
    let result = desk
        .act(&form.key, move |a, actor, key| {
            if to_face {
                a.convert_to_face_card(actor, key, &card_serial).map(drop)
            } else {
                a.convert_to_pin_card(actor, key, &card_serial, &pins).map(drop)
            }
        })
        .await;
    match result {
        Ok(()) => {
            let done = if to_face { "face_converted" } else { "pin_card_restored" };
            see_other(&format!("/window/residents/{}?done={done}", view.resident_id))
        }
        Err(p) => {
            refused(
                &desk,
                p,
                card_and_view(&desk, &serial),
                |code| match code {
                    "no_signature_certificate" | "no_auth_certificate" => Some("signature_wanted"),
                    "bad_request" => Some("pin_auth"),
                    _ => None,
                },
                |(view, card), errors, status| {
                    render_face(&desk, view, card, checked, signature_wanted, errors, status)
                },
            )
            .await
        }
    }
}

// ------------------------------------------------------------- loss report

/// The 紛失届 form at the window.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct LossForm {
    #[serde(rename = "_key")]
    key: String,
    cause: String,
    channel: String,
    note: String,
}

/// `GET /window/cards/{serial}/loss-report`.
pub(super) async fn loss_page(desk: Desk, Path(serial): Path<String>) -> Response {
    let form = LossForm {
        cause: "loss".into(),
        channel: "window".into(),
        ..LossForm::default()
    };
    match card_and_view(&desk, &serial).await {
        Ok((view, card)) => render_loss(&desk, &view, &card, &form, &Errors::new(), StatusCode::OK),
        Err(p) => desk.problem(&p),
    }
}

fn render_loss(
    desk: &Desk,
    view: &ResidentView,
    card: &CardSummary,
    form: &LossForm,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let lang = desk.lang();
    let title = lang.t("紛失届（カードの一時停止）", "Loss report (suspend the card)");
    let content = html! {
        (card_line(lang, card))
        p { (lang.t("カードを一時停止し、電子証明書を一時保留にします。見つかった場合は一時停止を解除でき、見つからない場合は再交付を申請します。",
            "The card is suspended and its certificates put on hold. If found, the suspension is lifted; if not, a reissue is applied for.")) }
        form method="post" action=(format!("/window/cards/{}/loss-report", card.serial)) novalidate {
            (hidden_fields(&desk.ctx))
            (radios(lang, errors, Radios::new("cause", lang.t("届出の理由", "What happened"), &[
                Choice::new("loss", lang.t("紛失", "Lost")), Choice::new("theft", lang.t("盗難", "Stolen")),
                Choice::new("fire", lang.t("焼失", "Burnt")),
            ], &form.cause).inline()))
            (radios(lang, errors, Radios::new("channel", lang.t("届出の経路", "Reported through"), &[
                Choice::new("window", lang.t("窓口", "The window")), Choice::new("police", lang.t("警察（遺失届）", "The police")),
            ], &form.channel).inline()))
            (input(lang, errors, Input::text("note", lang.t("メモ", "Note"), &form.note)
                .hint(lang.t("個人番号は書かないでください。", "Never write a My Number here."))))
            (form_buttons(lang, lang.t("カードを一時停止する", "Suspend the card"), &format!("/window/residents/{}", view.resident_id), true))
        }
    };
    desk.resident_form(status, title, view, errors, content)
}

/// `POST /window/cards/{serial}/loss-report`.
pub(super) async fn loss_submit(
    desk: Desk,
    Path(serial): Path<String>,
    CsrfForm(form): CsrfForm<LossForm>,
) -> Response {
    let lang = desk.lang();
    let (view, card) = match card_and_view(&desk, &serial).await {
        Ok(found) => found,
        Err(p) => return desk.problem(&p),
    };
    let mut errors = Errors::new();
    let cause = LossCause::parse(&form.cause);
    if cause.is_none() {
        errors.add("cause", lang.t("届出の理由を選んでください", "Choose what happened"));
    }
    let channel = LossChannel::parse(&form.channel).filter(|c| *c != LossChannel::Hotline);
    if channel.is_none() {
        errors.add(
            "channel",
            lang.t("届出の経路を選んでください", "Choose how it was reported"),
        );
    }
    let (Some(cause), Some(channel), true) = (cause, channel, errors.is_empty()) else {
        return render_loss(&desk, &view, &card, &form, &errors, StatusCode::BAD_REQUEST);
    };
    let report = LossReport {
        card: LostCard::Serial(serial.clone()),
        cause,
        reported_at: None,
        channel,
        note: Some(form.note.trim().to_owned()).filter(|n| !n.is_empty()),
    };
    match desk
        .act(&form.key, move |a, actor, key| a.suspend_lost_card(actor, key, &report))
        .await
    {
        Ok(_) => see_other(&format!("/window/residents/{}?done=loss_reported", view.resident_id)),
        Err(p) if super::refuses_form(&p) => {
            let errors = refusal_errors(lang, &p, |_| Some("cause"));
            render_loss(&desk, &view, &card, &form, &errors, p.status_code())
        }
        Err(p) => desk.problem(&p),
    }
}

// ------------------------------------------------------------ found, return

/// A confirmation form (発見, 返納).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ConfirmForm {
    #[serde(rename = "_key")]
    key: String,
    identity_checked: Option<String>,
}

/// `GET /window/cards/{serial}/found`.
pub(super) async fn found_page(desk: Desk, Path(serial): Path<String>) -> Response {
    match card_and_view(&desk, &serial).await {
        Ok((view, card)) => render_confirm(
            &desk,
            &view,
            &card,
            Confirm::Found,
            false,
            &Errors::new(),
            StatusCode::OK,
        ),
        Err(p) => desk.problem(&p),
    }
}

/// `GET /window/cards/{serial}/return`.
pub(super) async fn return_page(desk: Desk, Path(serial): Path<String>) -> Response {
    match card_and_view(&desk, &serial).await {
        Ok((view, card)) => render_confirm(
            &desk,
            &view,
            &card,
            Confirm::Return,
            false,
            &Errors::new(),
            StatusCode::OK,
        ),
        Err(p) => desk.problem(&p),
    }
}

/// Which confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirm {
    /// 発見: the suspension lifted.
    Found,
    /// 返納: the card given back.
    Return,
}

fn render_confirm(
    desk: &Desk,
    view: &ResidentView,
    card: &CardSummary,
    which: Confirm,
    checked: bool,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let lang = desk.lang();
    let (title, text, button, path) = match which {
        Confirm::Found => (
            lang.t("カードが見つかった（一時停止の解除）", "Card found"),
            lang.t("一時停止を解除します。一時保留の電子証明書は失効させ、同じカードに新しい電子証明書を発行します。",
                "The suspension is lifted; the held certificates are revoked and new ones are issued on the card."),
            lang.t("一時停止を解除する", "Lift the suspension"),
            "found",
        ),
        Confirm::Return => (
            lang.t("カードの返納", "Card return"),
            lang.t("カードを返納すると失効し、電子証明書（スマホ用を含む）も失効します。取り消せません。",
                "The returned card lapses and its certificates (the smartphone's too) are revoked. This cannot be undone."),
            lang.t("返納を受け付ける", "Take the card back"),
            "return",
        ),
    };
    let content = html! {
        (card_line(lang, card))
        p { (text) }
        form method="post" action=(format!("/window/cards/{}/{path}", card.serial)) novalidate {
            (hidden_fields(&desk.ctx))
            (identity_check(lang, errors, checked))
            (form_buttons(lang, button, &format!("/window/residents/{}", view.resident_id), which == Confirm::Return))
        }
    };
    desk.resident_form(status, title, view, errors, content)
}

async fn confirm_submit(desk: Desk, serial: String, form: ConfirmForm, which: Confirm) -> Response {
    let lang = desk.lang();
    let (view, card) = match card_and_view(&desk, &serial).await {
        Ok(found) => found,
        Err(p) => return desk.problem(&p),
    };
    let checked = on(&form.identity_checked);
    let mut errors = Errors::new();
    require_identity(lang, &mut errors, checked);
    if !errors.is_empty() {
        return render_confirm(&desk, &view, &card, which, checked, &errors, StatusCode::BAD_REQUEST);
    }
    let card_serial = serial.clone();
    let result = match which {
        Confirm::Found => {
            desk.act(&form.key, move |a, actor, key| {
                a.card_found(actor, key, &card_serial).map(drop)
            })
            .await
        }
        Confirm::Return => {
            desk.act(&form.key, move |a, actor, key| {
                a.return_card(actor, key, &card_serial).map(drop)
            })
            .await
        }
    };
    match result {
        Ok(()) => {
            let done = match which {
                Confirm::Found => "card_found",
                Confirm::Return => "card_returned",
            };
            see_other(&format!("/window/residents/{}?done={done}", view.resident_id))
        }
        Err(p) if super::refuses_form(&p) => {
            let errors = refusal_errors(lang, &p, |_| None);
            render_confirm(&desk, &view, &card, which, checked, &errors, p.status_code())
        }
        Err(p) => desk.problem(&p),
    }
}

/// `POST /window/cards/{serial}/found`.
pub(super) async fn found_submit(
    desk: Desk,
    Path(serial): Path<String>,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Response {
    confirm_submit(desk, serial, form, Confirm::Found).await
}

/// `POST /window/cards/{serial}/return`.
pub(super) async fn return_submit(
    desk: Desk,
    Path(serial): Path<String>,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Response {
    confirm_submit(desk, serial, form, Confirm::Return).await
}
