//! 交付申請 and 交付: the application taken at the window, and the
//! delivery of the card once J-LIS's production line (a background job
//! of the server) has made it.
//!
//! At delivery the staff confirm the holder's identity, then turn the
//! screen to the holder, who sets the four PINs on the pad. The PINs are
//! checked for their format here (the rules crate's checks) so a typing
//! mistake is reported before the card is touched, and the confirmation
//! must match; they go to the authority wrapped in `Zeroizing` and are
//! never written back into a page.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use mynacard_authority::issuance::{NewApplication, PinPad};
use mynacard_authority::records::ResidentView;
use mynacard_rules::pin::PinKind;
use mynacard_store::registry::{ApplicationChannel, ApplicationKind};
use serde::Deserialize;

use super::{
    card_in_use, form_buttons, identity_check, on, path_id, pinpad, refusal_errors, refused, require_identity,
    see_other, take_pad, Desk, PinField, PinSpec,
};
use crate::access::CsrfForm;
use crate::web::forms::{checkbox, radios, Choice, Errors, Radios};
use crate::web::hidden_fields;

// ------------------------------------------------------------- application

/// The 交付申請 form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ApplicationForm {
    #[serde(rename = "_key")]
    key: String,
    kind: String,
    channel: String,
    face_recognition: Option<String>,
    signature_wanted: Option<String>,
}

/// `GET /window/residents/{id}/application`.
pub(super) async fn application_page(desk: Desk, Path(id): Path<String>) -> Response {
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let view = match desk.view(id, "card_issuance").await {
        Ok(v) => v,
        Err(p) => return desk.problem(&p),
    };
    let kind = if card_in_use(&view).is_some() { "renewal" } else { "new" };
    let form = ApplicationForm {
        kind: kind.into(),
        channel: "window".into(),
        signature_wanted: Some("on".into()),
        ..ApplicationForm::default()
    };
    render_application(&desk, &view, &form, &Errors::new(), StatusCode::OK)
}

fn render_application(
    desk: &Desk,
    view: &ResidentView,
    form: &ApplicationForm,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let lang = desk.lang();
    let title = lang.t("交付申請", "Card application");
    let id = view.resident_id;
    let content = html! {
        @if let Some(number) = &view.my_number {
            p { (lang.t("申請書の個人番号：", "My Number on the application: ")) code { (number.expose()) } }
        }
        form method="post" action=(format!("/window/residents/{id}/application")) novalidate {
            (hidden_fields(&desk.ctx))
            (radios(lang, errors, Radios::new("kind", lang.t("申請の種別", "Kind of application"),
                &[Choice::new("new", lang.t("新規", "New card")), Choice::new("renewal", lang.t("更新", "Renewal"))], &form.kind)
                .hint(lang.t("カードをお持ちの方は「更新」。紛失・損傷などは再交付の画面から申請します。",
                    "Holders of a card apply for a renewal. Loss and damage go through the reissue page."))))
            (radios(lang, errors, Radios::new("channel", lang.t("申請の方法", "How it was applied for"),
                &[Choice::new("window", lang.t("窓口", "At the window")), Choice::new("online", lang.t("オンライン", "Online")),
                    Choice::new("mail", lang.t("郵送", "By mail"))],
                &form.channel).inline()))
            (checkbox(lang, errors, "signature_wanted", lang.t("署名用電子証明書を希望する", "A signature certificate is wanted"),
                Some(lang.t("15歳未満の方と成年被後見人には発行されません。", "Not issued under 15 nor to an adult ward.")),
                on(&form.signature_wanted)))
            (checkbox(lang, errors, "face_recognition", lang.t("顔認証マイナンバーカードにする", "A face-recognition card"),
                Some(lang.t("暗証番号を設定せず、顔認証で本人確認するカードです。署名用電子証明書は搭載できません。",
                    "No PINs; the holder is identified by the face. It carries no signature certificate.")),
                on(&form.face_recognition)))
            (form_buttons(lang, lang.t("申請を受け付ける", "Take the application"), &format!("/window/residents/{id}"), false))
        }
    };
    desk.resident_form(status, title, view, errors, content)
}

/// `POST /window/residents/{id}/application`.
pub(super) async fn application_submit(
    desk: Desk,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ApplicationForm>,
) -> Response {
    let lang = desk.lang();
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(p) => return desk.problem(&p),
    };
    let mut errors = Errors::new();
    let kind = ApplicationKind::parse(&form.kind);
    if kind.is_none() {
        errors.add(
            "kind",
            lang.t("申請の種別を選んでください", "Choose the kind of application"),
        );
    }
    let channel = ApplicationChannel::parse(&form.channel);
    if channel.is_none() {
        errors.add(
            "channel",
            lang.t("申請の方法を選んでください", "Choose how it was applied for"),
        );
    }
    let result = match (kind, channel, errors.is_empty()) {
        (Some(kind), Some(channel), true) => {
            let new = NewApplication {
                resident_id: id,
                kind,
                channel,
                face_recognition: on(&form.face_recognition),
                signature_wanted: on(&form.signature_wanted),
                jlis_received_on: None,
            };
            desk.act(&form.key, move |a, actor, key| a.apply(actor, key, &new))
                .await
        }
        _ => Err(crate::problem::Problem::bad_request("the form")),
    };
    match result {
        Ok(_) => see_other(&format!("/window/residents/{id}?done=applied")),
        Err(p) if !errors.is_empty() || super::refuses_form(&p) => {
            let status = if errors.is_empty() {
                p.status_code()
            } else {
                StatusCode::BAD_REQUEST
            };
            if errors.is_empty() {
                errors = refusal_errors(lang, &p, |code| match code {
                    "card_in_use" | "no_card" => Some("kind"),
                    "face_card_no_signature" => Some("face_recognition"),
                    _ => None,
                });
            }
            match desk.view(id, "card_issuance").await {
                Ok(view) => render_application(&desk, &view, &form, &errors, status),
                Err(p) => desk.problem(&p),
            }
        }
        Err(p) => desk.problem(&p),
    }
}

// ---------------------------------------------------------------- delivery

/// The 交付 form: the identity check and the holder's PINs (wiped when
/// the form is dropped, never shown by `Debug`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct DeliveryForm {
    #[serde(rename = "_key")]
    key: String,
    identity_checked: Option<String>,
    pin_auth: PinField,
    pin_auth_confirm: PinField,
    pin_sign: PinField,
    pin_sign_confirm: PinField,
    pin_input_support: PinField,
    pin_input_support_confirm: PinField,
    pin_registry: PinField,
    pin_registry_confirm: PinField,
}

/// The card being delivered, as the holder's record shows it.
struct Delivery {
    view: ResidentView,
    serial: String,
    face_recognition: bool,
    /// The card carries a signature certificate (so a signature PIN).
    signature: bool,
    /// The card waits for delivery.
    produced: bool,
}

async fn delivery(desk: &Desk, serial: &str) -> Result<Delivery, crate::problem::Problem> {
    let resident_id = desk.card_holder(serial).await?;
    let view = desk.view(resident_id, "identity_check").await?;
    let card = view
        .cards
        .iter()
        .find(|c| c.serial == serial)
        .ok_or_else(|| crate::problem::Problem::not_found(format!("card {serial}")))?;
    let face_recognition = card.face_recognition;
    let produced = card.status == "produced";
    // Production supersedes every earlier card certificate: the valid
    // signature certificate is the new card's.
    let signature = !face_recognition && view.certificates.iter().any(|c| c.kind == "sign" && c.status == "good");
    Ok(Delivery {
        serial: serial.to_owned(),
        face_recognition,
        signature,
        produced,
        view,
    })
}

/// The pad's PINs for a card.
fn delivery_pins(signature: bool) -> Vec<PinSpec> {
    let mut pins = vec![PinSpec {
        name: "pin_auth",
        kind: PinKind::UserAuthentication,
        confirm: true,
    }];
    if signature {
        pins.push(PinSpec {
            name: "pin_sign",
            kind: PinKind::Signature,
            confirm: true,
        });
    }
    pins.push(PinSpec {
        name: "pin_input_support",
        kind: PinKind::InputSupport,
        confirm: true,
    });
    pins.push(PinSpec {
        name: "pin_registry",
        kind: PinKind::ResidentRegistry,
        confirm: true,
    });
    pins
}

/// `GET /window/cards/{serial}/delivery`.
pub(super) async fn delivery_page(desk: Desk, Path(serial): Path<String>) -> Response {
    match delivery(&desk, &serial).await {
        Ok(d) => render_delivery(&desk, &d, false, &Errors::new(), StatusCode::OK),
        Err(p) => desk.problem(&p),
    }
}

fn render_delivery(desk: &Desk, d: &Delivery, checked: bool, errors: &Errors, status: StatusCode) -> Response {
    let lang = desk.lang();
    let title = lang.t("カードの交付", "Card delivery");
    let content = html! {
        p { (lang.t("カード番号：", "Card: ")) code { (d.serial) } }
        @if !d.produced {
            div.banner.banner--warning role="note" {
                p.banner__text { (lang.t("このカードは交付待ちではありません。", "This card is not awaiting delivery.")) }
            }
            p { a href=(format!("/window/residents/{}", d.view.resident_id)) { (lang.t("住民の画面に戻る", "Back to the resident")) } }
        } @else {
            form method="post" action=(format!("/window/cards/{}/delivery", d.serial)) novalidate autocomplete="off" {
                (hidden_fields(&desk.ctx))
                h2 { (lang.t("本人確認（職員）", "Identity check (staff)")) }
                (identity_check(lang, errors, checked))
                @if d.face_recognition {
                    h2 { (lang.t("顔認証マイナンバーカード", "Face-recognition card")) }
                    p { (lang.t("顔認証マイナンバーカードには暗証番号を設定しません。", "A face-recognition card has no PINs to set.")) }
                } @else {
                    (pinpad(lang, errors, &delivery_pins(d.signature), html! {}))
                }
                (form_buttons(lang, lang.t("交付する", "Deliver the card"), &format!("/window/residents/{}", d.view.resident_id), false))
            }
        }
    };
    desk.resident_form(status, title, &d.view, errors, content)
}

/// `POST /window/cards/{serial}/delivery`.
pub(super) async fn delivery_submit(
    desk: Desk,
    Path(serial): Path<String>,
    CsrfForm(mut form): CsrfForm<DeliveryForm>,
) -> Response {
    let lang = desk.lang();
    let d = match delivery(&desk, &serial).await {
        Ok(d) => d,
        Err(p) => return desk.problem(&p),
    };
    let checked = on(&form.identity_checked);
    let mut errors = Errors::new();
    require_identity(lang, &mut errors, checked);
    let mut pins = PinPad::default();
    if !d.face_recognition {
        let f = &mut form;
        let typed = [
            (&mut f.pin_auth, &f.pin_auth_confirm),
            (&mut f.pin_sign, &f.pin_sign_confirm),
            (&mut f.pin_input_support, &f.pin_input_support_confirm),
            (&mut f.pin_registry, &f.pin_registry_confirm),
        ];
        pins = take_pad(lang, &mut errors, d.signature, typed);
    }
    if !errors.is_empty() {
        return render_delivery(&desk, &d, checked, &errors, StatusCode::BAD_REQUEST);
    }
    let card = serial.clone();
    let result = desk
        .act(&form.key, move |a, actor, key| a.deliver(actor, key, &card, &pins))
        .await;
    match result {
        Ok(_) => see_other(&format!("/window/residents/{}?done=delivered", d.view.resident_id)),
        Err(p) => {
            refused(
                &desk,
                p,
                delivery(&desk, &serial),
                |code| match code {
                    "bad_request" => Some("pin_auth"),
                    _ => None,
                },
                |d, errors, status| render_delivery(&desk, d, checked, errors, status),
            )
            .await
        }
    }
}
