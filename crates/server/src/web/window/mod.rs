//! 窓口 (the municipal window) in the browser: every window task as a
//! server-rendered page, so that a clerk can do the day's work without a
//! terminal and without JavaScript.
//!
//! Why it is shaped this way:
//!
//! - **The authority decides.** Pages only collect what a person typed,
//!   check its form (dates, PIN formats, confirmations) so that mistakes
//!   are reported next to the field, and hand it to the lifecycle
//!   authority as the logged-in clerk ([`crate::access::WindowClerk`]).
//!   Scope (one municipality), the rules and the audit are the
//!   authority's; a refusal comes back as a [`Problem`] and is shown in a
//!   GOV.UK-style error summary above the same form, with what was typed
//!   kept — except PINs, which are never written back into a page.
//! - **POST → redirect → GET.** Every form carries the session's CSRF
//!   token and a fresh idempotency key ([`super::hidden_fields`]); the key
//!   is scoped to the clerk and passed to the authority, so a double
//!   click or a reload acts once. Success redirects with `?done=CODE`,
//!   and the code maps to a fixed message here: query text is never
//!   echoed.
//! - **Reads are disclosures.** Opening a resident's page reads the record
//!   through [`mynacard_authority::Authority::resident_record`] with a
//!   purpose (利用目的), which the disclosure log (開示記録) records; the
//!   My Number is shown only for a purpose that discloses it.
//! - **PINs belong to the holder.** Delivery, PIN reset, continued use and
//!   the return to a PIN card put an on-screen PIN pad in front of the
//!   holder (staff look away); the fields are `type=password`, never
//!   prefilled, never logged, and wiped from memory after use.
//!
//! Modules: `home` (窓口トップ and 住民検索), `residents` (住民登録, the
//! resident's page, 利用履歴), `issuance` (交付申請, 交付), `moves`
//! (転出, 転入, 継続利用, 転居, 氏名変更, 死亡, 有効期間変更), `cards`
//! (再交付 and its receipt, 暗証番号の再設定, 顔認証, 電子証明書の更新,
//! 紛失届, 発見, 返納).

mod cards;
mod home;
mod issuance;
mod moves;
mod residents;

use std::future::Future;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::{Datelike, NaiveDate};
use maud::{html, Markup};
use mynacard_authority::issuance::PinPad;
use mynacard_authority::records::ResidentView;
use mynacard_authority::{Actor, Authority, AuthorityError};
use mynacard_rules::card::Residence;
use mynacard_rules::pin::{PinFormatError, PinKind};
use mynacard_store::Tx;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::forms::{checkbox, described_by, error_line, error_summary, field_class, Errors};
use super::{html_response, page, Banner, Lang, PageContext};
use crate::access::{Refusal, StaffPrincipal, WindowClerk};
use crate::problem::Problem;
use crate::state::AppState;

/// The routes of the window (absolute: the web router sits at the root).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/window", get(home::worklist))
        .route("/window/residents", get(home::search))
        .route(
            "/window/residents/new",
            get(residents::register_page).post(residents::register_submit),
        )
        .route("/window/residents/{id}", get(residents::resident_page))
        .route("/window/residents/{id}/history", get(residents::history))
        .route(
            "/window/residents/{id}/application",
            get(issuance::application_page).post(issuance::application_submit),
        )
        .route(
            "/window/cards/{serial}/delivery",
            get(issuance::delivery_page).post(issuance::delivery_submit),
        )
        .route("/window/move-in", get(moves::move_in_start).post(moves::move_in_lookup))
        .route(
            "/window/residents/{id}/move-out",
            get(moves::move_out_page).post(moves::move_out_submit),
        )
        .route(
            "/window/residents/{id}/move-in",
            get(moves::move_in_page).post(moves::move_in_submit),
        )
        .route(
            "/window/residents/{id}/continued-use",
            get(moves::continued_use_page).post(moves::continued_use_submit),
        )
        .route(
            "/window/residents/{id}/move-within",
            get(moves::move_within_page).post(moves::move_within_submit),
        )
        .route(
            "/window/residents/{id}/name-change",
            get(moves::name_change_page).post(moves::name_change_submit),
        )
        .route(
            "/window/residents/{id}/death",
            get(moves::death_page).post(moves::death_submit),
        )
        .route(
            "/window/residents/{id}/validity-change",
            get(moves::validity_page).post(moves::validity_submit),
        )
        .route(
            "/window/residents/{id}/reissue",
            get(cards::reissue_page).post(cards::reissue_submit),
        )
        .route("/window/residents/{id}/receipts/{fee_id}", get(cards::receipt))
        .route(
            "/window/residents/{id}/renewal",
            get(cards::renewal_page).post(cards::renewal_submit),
        )
        .route(
            "/window/cards/{serial}/pin-reset",
            get(cards::pin_reset_page).post(cards::pin_reset_submit),
        )
        .route(
            "/window/cards/{serial}/face-recognition",
            get(cards::face_page).post(cards::face_submit),
        )
        .route(
            "/window/cards/{serial}/loss-report",
            get(cards::loss_page).post(cards::loss_submit),
        )
        .route(
            "/window/cards/{serial}/found",
            get(cards::found_page).post(cards::found_submit),
        )
        .route(
            "/window/cards/{serial}/return",
            get(cards::return_page).post(cards::return_submit),
        )
}

// ------------------------------------------------------------------ the desk

/// One request at the window: the clerk (through the [`WindowClerk`]
/// extractor, so nobody else gets here), the language, and the page
/// context for the layout.
pub(super) struct Desk {
    /// The server.
    state: Arc<AppState>,
    /// The clerk.
    clerk: StaffPrincipal,
    /// The layout's context.
    ctx: PageContext,
}

impl FromRequestParts<Arc<AppState>> for Desk {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let WindowClerk(clerk) = WindowClerk::from_request_parts(parts, state).await?;
        let lang = match Lang::from_request_parts(parts, state).await {
            Ok(lang) => lang,
            Err(never) => match never {},
        };
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map(|u| u.0.path().to_owned())
            .unwrap_or_else(|| parts.uri.path().to_owned());
        let ctx = PageContext::new(state, lang, Some(clerk.clone()), &path);
        Ok(Desk {
            state: state.clone(),
            clerk,
            ctx,
        })
    }
}

impl Desk {
    /// The page's language.
    fn lang(&self) -> Lang {
        self.ctx.lang
    }

    /// The clerk as the authority knows them.
    fn actor(&self) -> Actor {
        self.clerk.actor()
    }

    /// The clerk's municipality (全国地方公共団体コード).
    fn municipality(&self) -> String {
        self.clerk.municipality.map(|m| m.to_string()).unwrap_or_default()
    }

    /// The idempotency key of a form, scoped to the clerk.
    ///
    /// A form without a valid `_key` (not drawn by our pages) gets a key of
    /// its own: it acts once, and never replays another form's answer.
    fn key(&self, form_key: &str) -> String {
        match crate::idempotency::IdempotencyKey::parse(form_key) {
            Ok(key) => key.scoped(&format!("{}:web", self.clerk.key_scope())),
            Err(_) => format!(
                "{}:web:fresh-{}",
                self.clerk.key_scope(),
                crate::access::random_token(18)
            ),
        }
    }

    /// A page with the layout.
    fn respond(&self, status: StatusCode, title: &str, banner: Option<Banner>, body: Markup) -> Response {
        (status, html_response(page(&self.ctx, title, banner, body))).into_response()
    }

    /// A form page: "エラー: " before the title when it has errors.
    fn form_page(&self, status: StatusCode, title: &str, errors: &Errors, body: Markup) -> Response {
        let lang = self.lang();
        if errors.is_empty() {
            self.respond(status, title, None, body)
        } else {
            let title = format!("{}{title}", lang.t("エラー：", "Error: "));
            self.respond(status, &title, None, body)
        }
    }

    /// A form page about a resident: the trail to their page, the title,
    /// the error summary and who the resident is, above `content`.
    fn resident_form(
        &self,
        status: StatusCode,
        title: &str,
        view: &ResidentView,
        errors: &Errors,
        content: Markup,
    ) -> Response {
        let lang = self.lang();
        let body = html! {
            (resident_trail(lang, view))
            div.narrow {
                span.caption { (view.name) }
                h1 { (title) }
                (error_summary(lang, errors))
                (resident_brief(lang, view))
                (content)
            }
        };
        self.form_page(status, title, errors, body)
    }

    /// The page for a request that cannot go on (forbidden, not found,
    /// failed), inside the layout.
    fn problem(&self, problem: &Problem) -> Response {
        let lang = self.lang();
        let status = problem.status_code();
        let title = match status {
            StatusCode::FORBIDDEN => lang.t("この操作は許可されていません", "You may not do this"),
            StatusCode::NOT_FOUND => lang.t("見つかりません", "Not found"),
            s if s.is_server_error() => lang.t("システムで問題が発生しました", "Something went wrong"),
            _ => lang.t("処理できませんでした", "This could not be done"),
        };
        let body = html! {
            div.narrow {
                h1 { (title) }
                @if status == StatusCode::FORBIDDEN {
                    p.lead { (lang.t(
                        "他の市区町村に登録されている住民の記録や手続は、その市区町村の窓口でのみ扱えます。",
                        "A resident registered in another municipality is served by that municipality's window."
                    )) }
                }
                @if status.is_server_error() {
                    p.lead { (lang.t("何も記録されていません。しばらくしてからもう一度お試しください。",
                        "Nothing was recorded. Try again in a moment.")) }
                }
                @if let Some(detail) = &problem.detail { p { (detail) } }
                p { a href="/window" { (lang.t("窓口トップへ戻る", "Back to the window")) } }
            }
        };
        self.respond(status, title, None, body)
    }

    /// Runs a procedure of the authority as the clerk, under the form's
    /// idempotency key (`_key`), so that a double click or a reload acts
    /// once.
    async fn act<T, F>(&self, form_key: &str, f: F) -> Result<T, Problem>
    where
        T: Send + 'static,
        F: FnOnce(&Authority, &Actor, &str) -> Result<T, AuthorityError> + Send + 'static,
    {
        let actor = self.actor();
        let key = self.key(form_key);
        self.state.run(move |a| f(a, &actor, &key)).await
    }

    /// The resident's record for `purpose`, its disclosure recorded.
    async fn view(&self, resident_id: i64, purpose: &'static str) -> Result<ResidentView, Problem> {
        let actor = self.actor();
        self.state
            .run(move |a| a.resident_record(&actor, resident_id, purpose))
            .await
    }

    /// A read of the registry that the authority has no call for (the
    /// holder of a card, the fees, the open applications); made only
    /// after the authority has let the clerk see the resident, or to find
    /// which resident to ask it about.
    async fn registry<T, F>(&self, f: F) -> Result<T, Problem>
    where
        T: Send + 'static,
        F: FnMut(&mut Tx<'_>) -> Result<T, mynacard_store::StoreError> + Send + 'static,
    {
        self.state
            .blocking(move |a| a.db().read(f).map_err(|e| Problem::from(AuthorityError::from(e))))
            .await
    }

    /// The resident whose card `serial` is (404 if no such card).
    async fn card_holder(&self, serial: &str) -> Result<i64, Problem> {
        let serial_owned = serial.to_owned();
        let found = self
            .registry(move |tx| mynacard_store::registry::get_card(tx, &serial_owned))
            .await?;
        found
            .map(|c| c.resident_id)
            .ok_or_else(|| Problem::not_found(format!("card {serial}")))
    }
}

/// Draws a page from the resident's record read for `purpose` (or the
/// page that says why it cannot be read).
async fn with_view<F>(desk: &Desk, resident_id: i64, purpose: &'static str, render: F) -> Response
where
    F: FnOnce(&ResidentView) -> Response,
{
    match desk.view(resident_id, purpose).await {
        Ok(view) => render(&view),
        Err(p) => desk.problem(&p),
    }
}

/// After the authority refused a form: the form again, drawn by `render`
/// from what `reread` reads afresh (the resident's record, the card), with
/// the refusal in its error summary (at the field `field_of` names for the
/// code); or the problem page when the form cannot help.
async fn refused<T, R, F>(
    desk: &Desk,
    problem: Problem,
    reread: R,
    field_of: fn(&str) -> Option<&'static str>,
    render: F,
) -> Response
where
    R: Future<Output = Result<T, Problem>>,
    F: FnOnce(&T, &Errors, StatusCode) -> Response,
{
    if !refuses_form(&problem) {
        return desk.problem(&problem);
    }
    let errors = refusal_errors(desk.lang(), &problem, field_of);
    match reread.await {
        Ok(read) => render(&read, &errors, problem.status_code()),
        Err(p) => desk.problem(&p),
    }
}

/// `?done=CODE` after a redirect.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

/// The fixed message of a `done` code (unknown codes show nothing).
fn done_banner(lang: Lang, done: Option<&str>) -> Option<Banner> {
    let (ja, en) = match done? {
        "registered" => ("住民を登録しました。", "The resident is registered."),
        "applied" => (
            "交付申請を受け付けました。カードは製造中です。製造が終わると窓口トップの「交付待ち」に表示されます。",
            "The application is taken. The card is being produced; once made it appears under “Awaiting delivery” on the window page.",
        ),
        "delivered" => (
            "カードを交付しました。カードは有効です。",
            "The card is delivered and active.",
        ),
        "moved_out" => ("転出届を受け付けました。", "The move-out is recorded."),
        "moved_in" => ("転入届を受け付けました。", "The move-in is recorded."),
        "continued_use" => (
            "カードの継続利用の手続をしました。追記欄に新しい住所を記載しました。",
            "The card's continued use is recorded; the new address is in the card's entries.",
        ),
        "moved_within" => ("転居届を受け付けました。", "The move within the municipality is recorded."),
        "name_changed" => ("氏名の変更を記録しました。", "The change of name is recorded."),
        "death_recorded" => ("死亡を記録しました。", "The death is recorded."),
        "validity_changed" => ("カードの有効期間を変更しました。", "The card's validity is changed."),
        "reissued" => (
            "再交付の申請を受け付けました。新しいカードは製造中です。",
            "The reissue is applied for; the new card is being produced.",
        ),
        "pin_reset" => ("暗証番号を再設定しました。", "The PIN is reset."),
        "face_converted" => (
            "顔認証マイナンバーカードに切り替えました。",
            "The card is now a face-recognition card.",
        ),
        "pin_card_restored" => (
            "暗証番号を使うカードに戻しました。",
            "The card uses PINs again.",
        ),
        "certificates_renewed" => ("電子証明書を更新しました。", "The certificates are renewed."),
        "loss_reported" => (
            "紛失届を受け付け、カードを一時停止しました。",
            "The loss is recorded and the card is suspended.",
        ),
        "card_found" => (
            "カードの一時停止を解除し、電子証明書を発行し直しました。",
            "The suspension is lifted and the certificates are issued again.",
        ),
        "card_returned" => ("カードの返納を受け付けました。", "The card is returned."),
        _ => return None,
    };
    Some(Banner::Success(lang.t(ja, en).to_owned()))
}

/// 303 See Other to `path`.
fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// Whether a problem is a refusal of what was typed (the form is shown
/// again with it), rather than a page that cannot be shown at all.
fn refuses_form(problem: &Problem) -> bool {
    matches!(problem.status, 400 | 403 | 409 | 422)
}

/// Parses a path id (anything else: not found).
fn path_id(text: &str) -> Result<i64, Problem> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| Problem::not_found("no such page"))
}

// ------------------------------------------------------------------ refusals

/// The authority's refusal as a form's errors: its field errors, and one
/// message for the refusal, placed at the field `field_of` names for its
/// code (the authority's detail under the messages).
fn refusal_errors(lang: Lang, problem: &Problem, field_of: impl Fn(&str) -> Option<&'static str>) -> Errors {
    let mut errors = Errors::new();
    for e in &problem.errors {
        errors.add(&e.field, e.message.clone());
    }
    let field = field_of(&problem.code).unwrap_or("");
    match refusal_text(lang, &problem.code) {
        Some(text) => {
            errors.add(field, text);
            errors.set_detail(problem.detail.clone());
        }
        None => errors.add(
            field,
            problem
                .detail
                .clone()
                .unwrap_or_else(|| lang.t("処理できませんでした。", "This could not be done.").to_owned()),
        ),
    }
    errors
}

/// What staff are told for a refusal code (the authority's detail follows).
fn refusal_text(lang: Lang, code: &str) -> Option<String> {
    let (ja, en) = match code {
        "forbidden" => (
            "この住民の手続は、この市区町村の窓口では行えません。",
            "This resident is not served by this municipality's window.",
        ),
        "card_in_use" => (
            "すでにカードをお持ちです。更新または再交付で申請してください。",
            "The resident already holds a card: apply for a renewal or a reissue.",
        ),
        "no_card" => ("使用中のカードがありません。", "The resident holds no card in use."),
        "application_pending" => (
            "この方の申請はすでに処理中です。",
            "An application of this resident is already being processed.",
        ),
        "not_a_resident" => (
            "住民として記録されていない方の手続はできません。",
            "The person is not recorded as a resident.",
        ),
        "face_card_no_signature" => (
            "顔認証マイナンバーカードには署名用電子証明書を搭載できません。",
            "A face-recognition card carries no signature certificate.",
        ),
        "evidence_missing" => (
            "再交付に必要な書類などが確認できません。",
            "The evidence a reissue needs is missing.",
        ),
        "wrong_pin" => (
            "住民基本台帳用暗証番号が違います。",
            "The resident-registry PIN is wrong.",
        ),
        "pin_locked" => (
            "住民基本台帳用暗証番号がロックされています。先に暗証番号の再設定をしてください。",
            "The resident-registry PIN is locked: reset it first.",
        ),
        "card_not_produced" => (
            "このカードは交付待ちではありません。",
            "This card is not awaiting delivery.",
        ),
        "card_expired" => ("カードの有効期限が切れています。", "The card has expired."),
        "card_not_active" => ("カードが有効ではありません。", "The card is not active."),
        "card_suspended" => (
            "カードは一時停止中です。先に一時停止を解除してください。",
            "The card is suspended: lift the suspension first.",
        ),
        "renewal_window_not_open" => (
            "まだ更新の期間ではありません（有効期限の3か月前から）。",
            "The renewal window has not opened (3 months before the expiry).",
        ),
        "face_card_already" => (
            "すでに顔認証マイナンバーカードです。",
            "The card is a face-recognition card already.",
        ),
        "not_a_face_card" => (
            "このカードは暗証番号を使うカードです。",
            "The card is a PIN card already.",
        ),
        "face_card_no_pin" => (
            "顔認証マイナンバーカードには暗証番号がありません。",
            "A face-recognition card has no PIN.",
        ),
        "no_move_out" => (
            "転入届は、転出届または国外転出の後に受け付けます。",
            "A move-in follows a move-out or a departure abroad.",
        ),
        "same_municipality" => (
            "転入届は転入先の市区町村で受け付けます。",
            "The move-in is made at the new municipality.",
        ),
        "no_update_due" => (
            "カードにはすでに現在の住所が記載されています。",
            "The card already carries the current address.",
        ),
        "deceased" => ("死亡はすでに記録されています。", "The death is recorded already."),
        "signature_not_allowed" | "no_signature_certificate" => (
            "この方には署名用電子証明書を発行できません。",
            "No signature certificate can be issued for this holder.",
        ),
        "new_card_waiting" => (
            "新しいカードが交付待ちです。先に交付してください。",
            "A new card waits for delivery: deliver it instead.",
        ),
        "sign_pin_not_set" => (
            "このカードには署名用電子証明書がありません。",
            "The card has no signature certificate.",
        ),
        "card_not_suspended" => ("カードは一時停止されていません。", "The card is not suspended."),
        "no_period_of_stay" => (
            "有効期間変更は在留期間のある外国人住民の手続です。",
            "A validity change is for a foreign resident with a period of stay.",
        ),
        "continued_use_not_available" => (
            "国外転出後の継続利用はできません。",
            "Continued use abroad is not available.",
        ),
        "state_changed" | "conflict" => (
            "記録がほかの操作で変わりました。画面を開き直して、もう一度行ってください。",
            "The record changed meanwhile: open the page again and retry.",
        ),
        "unavailable" => (
            "システムが混み合っています。何も記録されていません。もう一度お試しください。",
            "The system is busy; nothing was recorded. Try again.",
        ),
        "idempotency_key_reused" => (
            "この画面はすでに送信されています。画面を開き直してください。",
            "This form was sent already: open the page again.",
        ),
        "no_move_in_after_move_out"
        | "late_move_in"
        | "card_not_updated_after_move_in"
        | "moved_again_before_update" => (
            "期限を過ぎたため、カードは失効しています。",
            "The card has lapsed: a deadline passed.",
        ),
        _ => return None,
    };
    Some(lang.t(ja, en).to_owned())
}

/// One PIN of the pad: typed twice when it is being set.
pub(super) struct PinSpec {
    /// The field's name (`pin_auth`); its confirmation is `NAME_confirm`.
    name: &'static str,
    /// Which PIN.
    kind: PinKind,
    /// Typed twice.
    confirm: bool,
}

/// The PIN's name for people.
fn pin_label(lang: Lang, kind: PinKind) -> &'static str {
    match kind {
        PinKind::UserAuthentication => lang.t(
            "利用者証明用電子証明書の暗証番号",
            "User-authentication certificate PIN",
        ),
        PinKind::Signature => lang.t("署名用電子証明書の暗証番号", "Signature certificate PIN"),
        PinKind::InputSupport => lang.t("券面事項入力補助用の暗証番号", "Card-data input-support PIN"),
        PinKind::ResidentRegistry => lang.t("住民基本台帳用の暗証番号", "Resident-registry PIN"),
    }
}

/// The format of a PIN, for its hint.
fn pin_format(lang: Lang, kind: PinKind) -> &'static str {
    match kind {
        PinKind::Signature => lang.t(
            "英大文字（A〜Z）と数字（0〜9）を組み合わせた6〜16文字",
            "6 to 16 characters of capital letters A–Z and digits 0–9, with at least one of each",
        ),
        _ => lang.t("数字4桁", "4 digits"),
    }
}

/// A PIN format error for people.
fn pin_error(lang: Lang, e: PinFormatError) -> &'static str {
    match e {
        PinFormatError::NotFourDigits => lang.t("4桁の数字で入力してください", "enter exactly 4 digits"),
        PinFormatError::NotDigits => lang.t("数字（0〜9）だけで入力してください", "use only the digits 0–9"),
        PinFormatError::TooShort => lang.t("6文字以上で入力してください", "enter at least 6 characters"),
        PinFormatError::TooLong => lang.t("16文字以内で入力してください", "enter at most 16 characters"),
        PinFormatError::Lowercase => lang.t("英字は大文字（A〜Z）で入力してください", "use capital letters A–Z"),
        PinFormatError::BadCharacter => lang.t(
            "英大文字（A〜Z）と数字（0〜9）だけで入力してください",
            "use only A–Z and 0–9",
        ),
        PinFormatError::NoLetter => lang.t("英字（A〜Z）を1文字以上含めてください", "include a letter A–Z"),
        PinFormatError::NoDigit => lang.t("数字（0〜9）を1文字以上含めてください", "include a digit 0–9"),
    }
}

/// A password input for a PIN: never prefilled.
fn pin_input(lang: Lang, errors: &Errors, name: &str, label: &str, kind: PinKind, hint: bool) -> Markup {
    let error = errors.get(name);
    let digits = kind != PinKind::Signature;
    let hint_text = pin_format(lang, kind);
    html! {
        div class=(field_class(error.is_some())) {
            label.label for=(name) { (label) }
            @if hint { p.hint id=(format!("{name}-hint")) { (hint_text) } }
            (error_line(lang, name, error))
            input.input.input--pin type="password" id=(name) name=(name) autocomplete="off"
                spellcheck="false" autocapitalize=(if digits { "off" } else { "characters" })
                inputmode=[digits.then_some("numeric")] maxlength=(if digits { 4 } else { 16 })
                aria-describedby=[described_by(name, hint, error.is_some())]
                aria-invalid=[error.map(|_| "true")];
        }
    }
}

/// The on-screen PIN pad: the holder types, staff look away.
fn pinpad(lang: Lang, errors: &Errors, pins: &[PinSpec], extra: Markup) -> Markup {
    html! {
        section.pinpad aria-labelledby="pinpad-title" {
            h2.pinpad__title #pinpad-title { (lang.t("暗証番号の入力（ご本人が入力します）", "PIN pad (the holder types)")) }
            p {
                strong { (lang.t("ここからはご本人が入力してください。", "The holder types from here.")) }
                " "
                (lang.t("職員は画面とキーボードから目を離してください。入力された暗証番号は画面に表示されず、記録もされません。",
                    "Staff look away from the screen and the keyboard. The PINs are never shown and never recorded."))
            }
            @for p in pins {
                fieldset {
                    legend { (pin_label(lang, p.kind)) }
                    (pin_input(lang, errors, p.name, lang.t("暗証番号", "PIN"), p.kind, true))
                    @if p.confirm {
                        (pin_input(lang, errors, &format!("{}_confirm", p.name),
                            lang.t("確認のため、もう一度入力してください", "Type it again to confirm"), p.kind, false))
                    }
                }
            }
            (extra)
        }
    }
}

/// Checks a PIN typed (twice when `confirm` is given): adds the errors.
fn check_pin(lang: Lang, errors: &mut Errors, kind: PinKind, name: &str, pin: &str, confirm: Option<&str>) -> bool {
    let label = pin_label(lang, kind);
    if pin.is_empty() {
        errors.add(
            name,
            match lang {
                Lang::Ja => format!("{label}を入力してください"),
                Lang::En => format!("Enter the {}", label.to_lowercase()),
            },
        );
        return false;
    }
    if let Err(e) = kind.check_format(pin) {
        errors.add(name, format!("{label}：{}", pin_error(lang, e)));
        return false;
    }
    if let Some(confirm) = confirm {
        if confirm != pin {
            errors.add(
                &format!("{name}_confirm"),
                match lang {
                    Lang::Ja => format!("{label}：確認のための入力が一致しません"),
                    Lang::En => format!("{label}: the two entries do not match"),
                },
            );
            return false;
        }
    }
    true
}

/// A PIN as posted by the pad: wiped from memory when dropped, never
/// shown by `Debug`, never written back into a page.
#[derive(Default, Deserialize)]
#[serde(transparent)]
pub(super) struct PinField(String);

impl PinField {
    /// What was typed.
    fn typed(&self) -> &str {
        &self.0
    }

    /// Whether nothing was typed.
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for PinField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinField(<typed by the holder>)")
    }
}

impl Drop for PinField {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// A PIN typed by the holder, checked (with its confirmation, if any):
/// moved out of the form into a `Zeroizing` string, or an error added.
fn take_pin(
    lang: Lang,
    errors: &mut Errors,
    kind: PinKind,
    name: &str,
    pin: &mut PinField,
    confirm: Option<&PinField>,
) -> Option<Zeroizing<String>> {
    check_pin(lang, errors, kind, name, pin.typed(), confirm.map(PinField::typed))
        .then(|| Zeroizing::new(std::mem::take(&mut pin.0)))
}

/// The four PINs a holder sets on the pad (at delivery, or back to a PIN
/// card), each typed twice: checked and moved into the authority's pad,
/// or errors added. `typed` holds the PINs (authentication, signature,
/// input support, resident registry) with their confirmations; the
/// signature PIN is taken only with `signature`.
fn take_pad(lang: Lang, errors: &mut Errors, signature: bool, typed: [(&mut PinField, &PinField); 4]) -> PinPad {
    let [auth, sign, input_support, registry] = typed;
    let mut take = |kind: PinKind, name: &str, (pin, confirm): (&mut PinField, &PinField)| {
        take_pin(lang, errors, kind, name, pin, Some(confirm))
    };
    PinPad {
        auth: take(PinKind::UserAuthentication, "pin_auth", auth),
        sign: if signature {
            take(PinKind::Signature, "pin_sign", sign)
        } else {
            None
        },
        input_support: take(PinKind::InputSupport, "pin_input_support", input_support),
        registry: take(PinKind::ResidentRegistry, "pin_registry", registry),
    }
}

/// The staff's confirmation of the holder's identity (本人確認).
fn identity_check(lang: Lang, errors: &Errors, checked: bool) -> Markup {
    checkbox(
        lang,
        errors,
        "identity_checked",
        lang.t(
            "本人確認書類で、ご本人であることを確認しました",
            "I have checked the holder's identity documents",
        ),
        Some(lang.t(
            "運転免許証などの顔写真付きの書類、または通知書と本人確認書類で確認してください。",
            "Check a photo ID, or the notice with identity documents.",
        )),
        checked,
    )
}

/// Adds the error of an unconfirmed identity check.
fn require_identity(lang: Lang, errors: &mut Errors, checked: bool) {
    if !checked {
        errors.add(
            "identity_checked",
            lang.t(
                "本人確認をしたことを確認してください",
                "Confirm that you have checked the holder's identity",
            ),
        );
    }
}

/// A checkbox's value in a posted form.
fn on(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.is_empty())
}

/// A date as typed (`2026-11-29` or `2026/11/29`).
fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(t, "%Y/%m/%d"))
        .ok()
        // The rules engine's years (its `parse_date` refuses others too).
        .filter(|d| (1800..=2199).contains(&d.year()))
}

/// A required date field: the date, or an error added.
fn required_date(lang: Lang, errors: &mut Errors, name: &str, label: &str, text: &str) -> Option<NaiveDate> {
    if text.trim().is_empty() {
        errors.add(
            name,
            match lang {
                Lang::Ja => format!("{label}を入力してください"),
                Lang::En => format!("Enter the {}", label.to_lowercase()),
            },
        );
        return None;
    }
    optional_date(lang, errors, name, label, text)
}

/// An optional date field: the date if given, or an error added if malformed.
fn optional_date(lang: Lang, errors: &mut Errors, name: &str, label: &str, text: &str) -> Option<NaiveDate> {
    if text.trim().is_empty() {
        return None;
    }
    let date = parse_date(text);
    if date.is_none() {
        errors.add(
            name,
            match lang {
                Lang::Ja => format!("{label}は 2026-04-01 のように入力してください"),
                Lang::En => format!("{label} must be a date like 2026-04-01"),
            },
        );
    }
    date
}

/// A required text field: adds an error when it is empty.
fn require_text(lang: Lang, errors: &mut Errors, name: &str, label: &str, text: &str) {
    if text.trim().is_empty() {
        errors.add(
            name,
            match lang {
                Lang::Ja => format!("{label}を入力してください"),
                Lang::En => format!("Enter the {}", label.to_lowercase()),
            },
        );
    }
}

// -------------------------------------------------------------- vocabulary

/// A status as a text tag (the colour only repeats the text).
fn tag(text: &str, colour: &str) -> Markup {
    html! { strong class=(format!("tag tag--{colour}")) { (text) } }
}

/// 住民票の状態.
fn resident_status(lang: Lang, status: &str) -> Markup {
    let (text, colour) = match status {
        "resident" => (lang.t("住民", "Resident"), "green"),
        "moved_out" => (lang.t("転出", "Moved out"), "yellow"),
        "abroad" => (lang.t("国外転出", "Abroad"), "yellow"),
        "deceased" => (lang.t("死亡", "Deceased"), "grey"),
        other => (other, "grey"),
    };
    tag(text, colour)
}

/// カードの状態.
fn card_status(lang: Lang, status: &str) -> Markup {
    let (text, colour) = match status {
        "produced" => (lang.t("交付待ち", "Awaiting delivery"), "blue"),
        "active" => (lang.t("有効", "Active"), "green"),
        "suspended" => (lang.t("一時停止", "Suspended"), "red"),
        "lapsed" => (lang.t("失効", "Lapsed"), "red"),
        "expired" => (lang.t("有効期限切れ", "Expired"), "grey"),
        "returned" => (lang.t("返納", "Returned"), "grey"),
        "invalid" => (lang.t("廃止", "Invalidated"), "grey"),
        other => (other, "grey"),
    };
    tag(text, colour)
}

/// 電子証明書の状態.
fn certificate_status(lang: Lang, status: &str) -> Markup {
    let (text, colour) = match status {
        "good" => (lang.t("有効", "Valid"), "green"),
        "hold" => (lang.t("一時保留", "On hold"), "yellow"),
        "revoked" => (lang.t("失効", "Revoked"), "red"),
        "expired" => (lang.t("期限切れ", "Expired"), "grey"),
        other => (other, "grey"),
    };
    tag(text, colour)
}

/// 電子証明書の種類.
fn certificate_kind(lang: Lang, kind: &str) -> String {
    match kind {
        "auth" => lang.t("利用者証明用", "User authentication"),
        "sign" => lang.t("署名用", "Signature"),
        "smartphone_auth" => lang.t("スマホ用利用者証明用", "Smartphone user authentication"),
        "smartphone_sign" => lang.t("スマホ用署名用", "Smartphone signature"),
        other => other,
    }
    .to_owned()
}

/// 申請の種別.
fn application_kind(lang: Lang, kind: &str) -> String {
    match kind {
        "new" => lang.t("新規", "New"),
        "renewal" => lang.t("更新", "Renewal"),
        "reissue" => lang.t("再交付", "Reissue"),
        other => other,
    }
    .to_owned()
}

/// 性別.
fn sex_name(lang: Lang, sex: &str) -> String {
    match sex {
        "male" => lang.t("男", "Male"),
        "female" => lang.t("女", "Female"),
        other => other,
    }
    .to_owned()
}

/// 在留の区分.
fn residence_name(lang: Lang, residence: Residence) -> String {
    match residence {
        Residence::Japanese => lang.t("日本国籍", "Japanese national").to_owned(),
        Residence::ForeignPermanent => lang
            .t("外国人住民（永住者等）", "Foreign resident (permanent)")
            .to_owned(),
        Residence::ForeignWithStay { stay_until } => match lang {
            Lang::Ja => format!("外国人住民（在留期間満了日 {}）", lang.date(stay_until)),
            Lang::En => format!("Foreign resident (stay until {})", lang.date(stay_until)),
        },
    }
}

/// 失効の理由 (the rules' reason names).
fn lapse_reason(lang: Lang, reason: &str) -> String {
    match reason {
        "expired" => lang.t("有効期限の経過", "expiry"),
        "stay_ended" => lang.t("在留期間の満了", "end of the period of stay"),
        "late_move_in" => lang.t("転入届の遅延", "move-in notified late"),
        "no_move_in_after_move_out" => lang.t(
            "転出後30日以内に転入届なし",
            "no move-in within 30 days of the move-out",
        ),
        "card_not_updated_after_move_in" => lang.t(
            "転入後90日以内に継続利用の手続なし",
            "card not updated within 90 days of the move-in",
        ),
        "moved_again_before_update" => lang.t("継続利用の手続前の再転出", "moved again before updating the card"),
        "death" => lang.t("死亡", "death"),
        "record_removed" => lang.t("住民票の消除", "record removed"),
        "departed_abroad" => lang.t("国外転出", "departure abroad"),
        "returned" => lang.t("返納", "returned"),
        other => other,
    }
    .to_owned()
}

/// 手数料の理由 (the cause of a (re)issue).
fn fee_cause(lang: Lang, cause: mynacard_rules::fee::FeeCause) -> &'static str {
    use mynacard_rules::fee::FeeCause;
    match cause {
        FeeCause::FirstIssuance => lang.t("初回交付", "first issuance"),
        FeeCause::Loss => lang.t("紛失", "loss"),
        FeeCause::Theft => lang.t("盗難", "theft"),
        FeeCause::Fire => lang.t("焼失", "fire"),
        FeeCause::Damage => lang.t("著しい損傷", "damage"),
        FeeCause::Malfunction => lang.t("ICチップの機能の喪失", "chip malfunction"),
        FeeCause::FullEntries => lang.t("追記欄の余白なし", "entries full"),
        FeeCause::Renewal => lang.t("更新", "renewal"),
        FeeCause::StayExpired => lang.t("在留期間満了による失効", "lapsed at the end of stay"),
    }
}

/// An amount in yen: `1,000円` or `¥1,000`.
fn yen(lang: Lang, amount: i64) -> String {
    let digits = amount.abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if amount < 0 { "-" } else { "" };
    match lang {
        Lang::Ja => format!("{sign}{grouped}円"),
        Lang::En => format!("{sign}¥{grouped}"),
    }
}

/// A date, or "—".
fn maybe_date(lang: Lang, d: Option<NaiveDate>) -> String {
    d.map(|d| lang.date(d)).unwrap_or_else(|| "—".to_owned())
}

/// Breadcrumbs: the pages above this one.
fn breadcrumbs(lang: Lang, trail: &[(&str, &str)]) -> Markup {
    html! {
        nav.breadcrumbs aria-label=(lang.t("現在位置", "Breadcrumb")) {
            ol {
                @for (href, label) in trail {
                    li { a href=(href) { (label) } }
                }
            }
        }
    }
}

/// The trail to a resident's page.
fn resident_trail(lang: Lang, view: &ResidentView) -> Markup {
    let href = format!("/window/residents/{}", view.resident_id);
    breadcrumbs(
        lang,
        &[
            ("/window", lang.t("窓口トップ", "Window")),
            ("/window/residents", lang.t("住民検索", "Find a resident")),
            (&href, &view.name),
        ],
    )
}

/// Who the page is about: enough to confirm the person at the window.
fn resident_brief(lang: Lang, view: &ResidentView) -> Markup {
    html! {
        dl.summary {
            dt { (lang.t("氏名", "Name")) }
            dd { (view.name) " " span.caption { "（" (view.name_kana) "）" } }
            dt { (lang.t("生年月日", "Date of birth")) }
            dd { (lang.date(view.birth_date)) }
            dt { (lang.t("住所", "Address")) }
            dd { (view.address) }
            dt { (lang.t("住民票の状態", "Record")) }
            dd { (resident_status(lang, &view.status)) }
        }
    }
}

/// The card in the holder's hands (active or suspended), if any.
fn card_in_use(view: &ResidentView) -> Option<&mynacard_authority::records::CardSummary> {
    view.cards
        .iter()
        .rev()
        .find(|c| c.status == "active" || c.status == "suspended")
}

/// The form's buttons: the action and a way back.
fn form_buttons(lang: Lang, action: &str, back: &str, warning: bool) -> Markup {
    html! {
        div.button-group {
            button type="submit" class=(if warning { "button button--warning" } else { "button" }) { (action) }
            a.button.button--secondary href=(back) { (lang.t("やめる", "Cancel")) }
        }
    }
}
