//! The card at the window: the application (交付申請), delivery (交付, the
//! holder setting the PINs), the PIN reset (暗証番号の再設定), the
//! conversion to a face-recognition card (顔認証マイナンバーカード) and
//! back, certificate renewal on the same card (電子証明書の更新), a loss
//! reported at the window (紛失届, the card suspended), found (発見),
//! returned (返納), and the reissue (再交付) with its fee and receipt.
//!
//! PINs are typed by the holder on the PIN pad: they go to the card through
//! the authority and are never logged, echoed or answered.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use mynacard_authority::issuance::{Delivered, NewApplication, PinPad};
use mynacard_authority::loss::{
    Found, LossReport, LostCard, NoFaultGround, Reissue, ReissueEvidenceGiven, Reissued, Returned, Suspended,
};
use mynacard_authority::window::{FaceConverted, PinCardRestored, PinReset, RenewedCertificates};
use mynacard_rules::fee::{FeeCause, FeeReason};
use mynacard_rules::pin::PinKind;
use mynacard_store::registry::{ApplicationChannel, ApplicationKind, CertKind, LossCause, LossChannel};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    body_resident_id, card_serial, optional_text, resident_id, BodilessCommandProblems, CertificateRef, CommandHeaders,
    CommandProblems, FourDigitPin, Pin, SignPin, MAX_NOTE, MAX_REFERENCE,
};
use crate::access::WindowClerk;
use crate::api::ApiJson;
use crate::idempotency::IdempotencyKey;
use crate::problem::Problem;
use crate::state::AppState;

// ------------------------------------------------------------------- inputs

/// What is applied for (a reissue is applied for with `/reissue`).
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = window::ApplicationKind)]
pub enum Kind {
    /// 新規交付: a first card.
    #[default]
    New,
    /// 更新: a new card for an expiring one.
    Renewal,
}

/// How the application came in.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = window::ApplicationChannel)]
pub enum Channel {
    /// At the window.
    #[default]
    Window,
    /// Online (smartphone, PC, photo booth).
    Online,
    /// By mail.
    Mail,
}

/// 交付申請.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::NewApplication)]
pub struct ApplicationBody {
    /// The applicant (a resident of the clerk's municipality).
    #[schema(minimum = 1)]
    pub resident_id: i64,
    /// `new` (default) or `renewal`.
    #[serde(default)]
    pub kind: Kind,
    /// `window` (default), `online` or `mail`.
    #[serde(default)]
    pub channel: Channel,
    /// A face-recognition card (顔認証マイナンバーカード): no PINs, no signature certificate.
    #[serde(default)]
    pub face_recognition: bool,
    /// Whether a signature certificate (署名用電子証明書) is wanted.
    pub signature_wanted: bool,
}

/// The PINs the holder types on the PIN pad.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::PinPad)]
pub struct PinPadBody {
    /// 利用者証明用電子証明書の暗証番号 (4 digits).
    #[serde(default)]
    pub auth: Option<FourDigitPin>,
    /// 署名用電子証明書の暗証番号 (6–16 of A–Z and 0–9): only with a signature certificate.
    #[serde(default)]
    pub sign: Option<SignPin>,
    /// 券面事項入力補助用の暗証番号 (4 digits).
    #[serde(default)]
    pub input_support: Option<FourDigitPin>,
    /// 住民基本台帳用の暗証番号 (4 digits).
    #[serde(default)]
    pub registry: Option<FourDigitPin>,
}

impl PinPadBody {
    /// The authority's pad, each PIN typed checked against its format.
    fn parse(self) -> Result<PinPad, Problem> {
        let check = |pin: Option<Pin>, field: &str, kind: PinKind| pin.map(|p| p.checked(field, kind)).transpose();
        Ok(PinPad {
            auth: check(self.auth.map(|p| p.0), "pins.auth", PinKind::UserAuthentication)?,
            sign: check(self.sign.map(|p| p.0), "pins.sign", PinKind::Signature)?,
            input_support: check(
                self.input_support.map(|p| p.0),
                "pins.input_support",
                PinKind::InputSupport,
            )?,
            registry: check(self.registry.map(|p| p.0), "pins.registry", PinKind::ResidentRegistry)?,
        })
    }
}

/// 交付: the holder sets the PINs (none for a face-recognition card).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::Delivery)]
pub struct DeliveryBody {
    /// The PINs: `auth`, `input_support` and `registry`, and `sign` when
    /// the card carries a signature certificate; omitted for a
    /// face-recognition card.
    #[serde(default)]
    pub pins: Option<PinPadBody>,
}

/// Which PIN.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = window::PinName)]
pub enum PinName {
    /// 利用者証明用電子証明書の暗証番号.
    Auth,
    /// 署名用電子証明書の暗証番号.
    Sign,
    /// 券面事項入力補助用の暗証番号.
    InputSupport,
    /// 住民基本台帳用の暗証番号.
    Registry,
}

impl PinName {
    fn kind(self) -> PinKind {
        match self {
            PinName::Auth => PinKind::UserAuthentication,
            PinName::Sign => PinKind::Signature,
            PinName::InputSupport => PinKind::InputSupport,
            PinName::Registry => PinKind::ResidentRegistry,
        }
    }

    fn of(kind: PinKind) -> PinName {
        match kind {
            PinKind::UserAuthentication => PinName::Auth,
            PinKind::Signature => PinName::Sign,
            PinKind::InputSupport => PinName::InputSupport,
            PinKind::ResidentRegistry => PinName::Registry,
        }
    }
}

/// 暗証番号の再設定: after the identity check, the holder types a new PIN.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::PinResetRequest)]
pub struct PinResetBody {
    /// Which PIN.
    pub kind: PinName,
    /// The new PIN, typed by the holder.
    pub new_pin: Pin,
}

/// A face-recognition card made a PIN card again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::PinCardRequest)]
pub struct PinCardBody {
    /// The PINs: `auth`, `input_support`, `registry`; `sign` too when a
    /// new signature certificate is wanted.
    pub pins: PinPadBody,
}

/// What happened to the card.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = window::LossCause)]
pub enum Cause {
    /// 紛失.
    Loss,
    /// 盗難.
    Theft,
    /// 焼失.
    Fire,
}

/// Where a loss was reported.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = window::LossChannel)]
pub enum ReportChannel {
    /// At the window (default).
    #[default]
    Window,
    /// Forwarded by the police (遺失届).
    Police,
}

/// 紛失届 at the window: the card is suspended (一時停止).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::LossReport)]
pub struct LossReportBody {
    /// Loss, theft or fire.
    pub cause: Cause,
    /// `window` (default) or `police`.
    #[serde(default)]
    pub channel: ReportChannel,
    /// A note for the audit log (never a My Number).
    #[serde(default)]
    #[schema(max_length = 500, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub note: Option<String>,
}

/// Why a card is reissued.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = window::ReissueCause)]
pub enum ReissueCause {
    /// 紛失 (the police receipt number).
    Loss,
    /// 盗難 (the police receipt number).
    Theft,
    /// 焼失 (the disaster certificate).
    Fire,
    /// 著しい損傷 (the damaged card).
    Damage,
    /// 機能の喪失 (the card).
    Malfunction,
    /// 追記欄の余白がない (the old card; free).
    FullEntries,
    /// A foreign resident's card lapsed at the end of the stay.
    StayExpired,
}

/// Why there is no fault of the holder's (the reissue is free).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = window::NoFaultGround)]
pub enum NoFault {
    /// A natural disaster (the 罹災証明書).
    NaturalDisaster,
    /// An error of the municipality or J-LIS.
    AdministrativeError,
    /// Another cause not the holder's.
    Other,
}

/// The evidence the holder brought.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::ReissueEvidence)]
pub struct EvidenceBody {
    /// 遺失届の受理番号 (loss, theft).
    #[serde(default)]
    #[schema(max_length = 64, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub police_receipt_number: Option<String>,
    /// 罹災証明書 number (fire, natural disaster).
    #[serde(default)]
    #[schema(max_length = 64, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub disaster_certificate: Option<String>,
    /// The damaged or malfunctioning card, handed in.
    #[serde(default)]
    pub damaged_card_returned: bool,
    /// The old card, handed in.
    #[serde(default)]
    pub old_card_returned: bool,
}

/// 再交付.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::Reissue)]
pub struct ReissueBody {
    /// Why.
    pub cause: ReissueCause,
    /// What the holder brought.
    #[serde(default)]
    pub evidence: EvidenceBody,
    /// Not the holder's fault (free), and why.
    #[serde(default)]
    pub not_holders_fault: Option<NoFault>,
    /// New electronic certificates with the card (1,000 yen instead of 800 when a fee is due).
    pub with_certificates: bool,
}

// ------------------------------------------------------------------ outputs

/// The id of an application just taken.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::ApplicationTaken)]
pub struct ApplicationTaken {
    /// The application (交付申請); J-LIS produces the card next.
    pub application_id: i64,
}

/// What delivery did.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::Delivered)]
pub struct DeliveredView {
    /// The card now in the holder's hands.
    pub card_serial: String,
    /// 交付日.
    pub delivered_on: NaiveDate,
    /// The card it replaces, returned at delivery.
    pub returned: Option<String>,
}

impl From<Delivered> for DeliveredView {
    fn from(d: Delivered) -> Self {
        DeliveredView {
            card_serial: d.card_serial,
            delivered_on: d.delivered_on,
            returned: d.returned,
        }
    }
}

/// A PIN reset (the PIN itself is never answered).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::PinReset)]
pub struct PinResetView {
    /// The card.
    pub card_serial: String,
    /// Which PIN was set.
    pub kind: PinName,
    /// Its tries, restored.
    pub tries: u8,
}

impl From<PinReset> for PinResetView {
    fn from(p: PinReset) -> Self {
        PinResetView {
            card_serial: p.card_serial,
            kind: PinName::of(p.pin),
            tries: p.tries,
        }
    }
}

/// A card made a face-recognition card.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::FaceConverted)]
pub struct FaceConvertedView {
    /// The card.
    pub card_serial: String,
    /// The signature certificate (and smartphone certificates) revoked.
    pub revoked: Vec<String>,
    /// The 追記欄 entry's number (「顔認証」).
    pub surface_entry: i64,
}

impl From<FaceConverted> for FaceConvertedView {
    fn from(f: FaceConverted) -> Self {
        FaceConvertedView {
            card_serial: f.card_serial,
            revoked: f.revoked,
            surface_entry: f.surface_entry,
        }
    }
}

/// A face-recognition card made a PIN card again.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::PinCardRestored)]
pub struct PinCardRestoredView {
    /// The card.
    pub card_serial: String,
    /// The new signature certificate, when one was asked for.
    pub sign_certificate: Option<CertificateRef>,
    /// The 追記欄 entry's number.
    pub surface_entry: i64,
}

impl From<PinCardRestored> for PinCardRestoredView {
    fn from(p: PinCardRestored) -> Self {
        PinCardRestoredView {
            card_serial: p.card_serial,
            sign_certificate: p.sign_certificate.map(Into::into),
            surface_entry: p.surface_entry,
        }
    }
}

/// A certificate made on the card.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::NewCertificate)]
pub struct NewCertificateView {
    /// The serial (hex).
    pub serial: String,
    /// `auth` or `sign`.
    pub kind: String,
    /// The last valid day.
    pub last_valid_day: NaiveDate,
}

fn new_certificates(list: Vec<(String, CertKind, NaiveDate)>) -> Vec<NewCertificateView> {
    list.into_iter()
        .map(|(serial, kind, last_valid_day)| NewCertificateView {
            serial,
            kind: kind.as_str().to_owned(),
            last_valid_day,
        })
        .collect()
}

/// Certificates renewed on the same card.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::RenewedCertificates)]
pub struct RenewedView {
    /// The card.
    pub card_serial: String,
    /// The new certificates.
    pub new_certificates: Vec<NewCertificateView>,
    /// The old ones, revoked (superseded).
    pub superseded: Vec<String>,
    /// Whether the renewal bonus applied.
    pub renewal_bonus: bool,
}

impl From<RenewedCertificates> for RenewedView {
    fn from(r: RenewedCertificates) -> Self {
        RenewedView {
            card_serial: r.card_serial,
            new_certificates: new_certificates(r.new_certificates),
            superseded: r.superseded,
            renewal_bonus: r.renewal_bonus,
        }
    }
}

/// A card suspended on a loss report.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::Suspended)]
pub struct SuspendedView {
    /// The card suspended (一時停止).
    pub card_serial: String,
    /// The loss report recorded.
    pub loss_report_id: i64,
    /// The certificates put on hold.
    pub held: Vec<String>,
    /// When.
    pub suspended_at: DateTime<Utc>,
}

impl From<Suspended> for SuspendedView {
    fn from(s: Suspended) -> Self {
        SuspendedView {
            card_serial: s.card_serial,
            loss_report_id: s.loss_report_id,
            held: s.held,
            suspended_at: s.suspended_at,
        }
    }
}

/// A suspended card found again.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::Found)]
pub struct FoundView {
    /// The card, active again.
    pub card_serial: String,
    /// The held certificates, revoked (a hold is never released).
    pub revoked: Vec<String>,
    /// The new certificates on the card.
    pub new_certificates: Vec<NewCertificateView>,
    /// The loss reports closed as found.
    pub loss_reports: Vec<i64>,
}

impl From<Found> for FoundView {
    fn from(f: Found) -> Self {
        FoundView {
            card_serial: f.card_serial,
            revoked: f.revoked,
            new_certificates: new_certificates(f.new_certificates),
            loss_reports: f.loss_reports,
        }
    }
}

/// A card returned.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::Returned)]
pub struct ReturnedView {
    /// The card returned.
    pub card_serial: String,
    /// Its certificates and the smartphone's, revoked.
    pub revoked: Vec<String>,
    /// The day of the return.
    pub returned_on: NaiveDate,
}

impl From<Returned> for ReturnedView {
    fn from(r: Returned) -> Self {
        ReturnedView {
            card_serial: r.card_serial,
            revoked: r.revoked,
            returned_on: r.returned_on,
        }
    }
}

/// Why the fee is what it is.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = window::FeeReason)]
pub enum FeeReasonView {
    /// A first issuance is free.
    FirstIssuanceFree,
    /// A renewal is free.
    RenewalFree,
    /// A reissue for a full 追記欄 is free.
    FullEntriesFree,
    /// Not the holder's fault: free.
    NotHoldersFaultFree,
    /// The card only: 800 yen.
    ReissueCardOnly,
    /// The card with new certificates: 1,000 yen.
    ReissueWithCertificates,
}

impl From<FeeReason> for FeeReasonView {
    fn from(r: FeeReason) -> Self {
        match r {
            FeeReason::FirstIssuanceFree => FeeReasonView::FirstIssuanceFree,
            FeeReason::RenewalFree => FeeReasonView::RenewalFree,
            FeeReason::FullEntriesFree => FeeReasonView::FullEntriesFree,
            FeeReason::NotHoldersFaultFree => FeeReasonView::NotHoldersFaultFree,
            FeeReason::ReissueCardOnly => FeeReasonView::ReissueCardOnly,
            FeeReason::ReissueWithCertificates => FeeReasonView::ReissueWithCertificates,
        }
    }
}

/// What a reissue recorded: the application, the fee and its receipt.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::Reissued)]
pub struct ReissuedView {
    /// The application of kind reissue; J-LIS produces the card next.
    pub application_id: i64,
    /// 手数料 in yen (0 when free).
    pub fee_yen: u32,
    /// Why that fee.
    pub fee_reason: FeeReasonView,
    /// The fee's registry id.
    pub fee_id: i64,
    /// 領収番号 of the fee paid at the window (null when free).
    pub receipt_number: Option<String>,
    /// The old card, invalidated (廃止).
    pub invalidated_card: Option<String>,
    /// Its certificates, revoked.
    pub revoked: Vec<String>,
    /// The loss report the reissue closes.
    pub loss_report_id: Option<i64>,
}

impl From<Reissued> for ReissuedView {
    fn from(r: Reissued) -> Self {
        ReissuedView {
            application_id: r.application_id,
            fee_yen: r.fee_yen,
            fee_reason: r.fee_reason.into(),
            fee_id: r.fee_id,
            receipt_number: r.receipt_number,
            invalidated_card: r.invalidated_card,
            revoked: r.revoked,
            loss_report_id: r.loss_report_id,
        }
    }
}

// ------------------------------------------------------------------ parsing

/// Refuses text that carries a My Number (`rules::numbers::contains_my_number`):
/// notes go to the audit log, which never holds one.
fn no_my_number(field: &str, text: &str) -> Result<(), Problem> {
    if mynacard_rules::numbers::contains_my_number(text) {
        return Err(Problem::invalid_field(field, "must not carry a My Number"));
    }
    Ok(())
}

// ----------------------------------------------------------------- handlers

/// 交付申請: apply for a card.
///
/// A new card or a renewal; J-LIS's production line makes the card, which
/// then waits for delivery.
#[utoipa::path(post, path = "/api/v1/window/applications", tag = "window", operation_id = "window_apply", security(("session" = [])),
    params(CommandHeaders),
    request_body = ApplicationBody,
    responses((status = 201, description = "Application taken", body = ApplicationTaken), CommandProblems))]
pub async fn apply(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<ApplicationBody>,
) -> Result<(StatusCode, Json<ApplicationTaken>), Problem> {
    let new = NewApplication {
        resident_id: body_resident_id("resident_id", body.resident_id)?,
        kind: match body.kind {
            Kind::New => ApplicationKind::New,
            Kind::Renewal => ApplicationKind::Renewal,
        },
        channel: match body.channel {
            Channel::Window => ApplicationChannel::Window,
            Channel::Online => ApplicationChannel::Online,
            Channel::Mail => ApplicationChannel::Mail,
        },
        face_recognition: body.face_recognition,
        signature_wanted: body.signature_wanted,
        jlis_received_on: None,
    };
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let application_id = state.run(move |a| a.apply(&actor, &key, &new)).await?;
    Ok((StatusCode::CREATED, Json(ApplicationTaken { application_id })))
}

/// 交付: deliver a card.
///
/// The produced card is handed over; the holder sets the PINs on the PIN
/// pad (never answered, never logged). The card it replaces is returned. A
/// retry with the same key answers the first delivery.
#[utoipa::path(post, path = "/api/v1/window/cards/{serial}/delivery", tag = "window", operation_id = "window_deliver", security(("session" = [])),
    params(("serial" = String, Path, description = "The card's serial (16 hexadecimal digits)", pattern = "^[0-9A-Fa-f]{16}$"), CommandHeaders),
    request_body = DeliveryBody,
    responses((status = 200, description = "Delivered: the card is in use", body = DeliveredView), CommandProblems))]
pub async fn deliver(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    Path(serial): Path<String>,
    ApiJson(body): ApiJson<DeliveryBody>,
) -> Result<Json<DeliveredView>, Problem> {
    let serial = card_serial(&serial)?;
    let pins = body.pins.unwrap_or_default().parse()?;
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let done = state.run(move |a| a.deliver(&actor, &key, &serial, &pins)).await?;
    Ok(Json(done.into()))
}

/// 暗証番号の再設定: reset a PIN.
///
/// After the identity check the holder types a new PIN (初期化); it is set
/// with its full count of tries (a locked PIN too).
#[utoipa::path(post, path = "/api/v1/window/cards/{serial}/pin-reset", tag = "window", operation_id = "window_pin_reset", security(("session" = [])),
    params(("serial" = String, Path, description = "The card's serial (16 hexadecimal digits)", pattern = "^[0-9A-Fa-f]{16}$"), CommandHeaders),
    request_body = PinResetBody,
    responses((status = 200, description = "The PIN is set", body = PinResetView), CommandProblems))]
pub async fn pin_reset(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    Path(serial): Path<String>,
    ApiJson(body): ApiJson<PinResetBody>,
) -> Result<Json<PinResetView>, Problem> {
    let serial = card_serial(&serial)?;
    let kind = body.kind.kind();
    let new_pin = body.new_pin.checked("new_pin", kind)?;
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let done = state
        .run(move |a| a.reset_pin(&actor, &key, &serial, kind, new_pin))
        .await?;
    Ok(Json(done.into()))
}

/// 顔認証マイナンバーカード: make the card a face-recognition card.
///
/// The PINs are cleared and locked, the signature certificate (and the
/// smartphone's) revoked, 「顔認証」 written in the 追記欄.
#[utoipa::path(post, path = "/api/v1/window/cards/{serial}/face-recognition", tag = "window", operation_id = "window_face_recognition", security(("session" = [])),
    params(("serial" = String, Path, description = "The card's serial (16 hexadecimal digits)", pattern = "^[0-9A-Fa-f]{16}$"), CommandHeaders),
    responses((status = 200, description = "The card is a face-recognition card", body = FaceConvertedView), BodilessCommandProblems))]
pub async fn face_recognition(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    Path(serial): Path<String>,
) -> Result<Json<FaceConvertedView>, Problem> {
    let serial = card_serial(&serial)?;
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let done = state
        .run(move |a| a.convert_to_face_card(&actor, &key, &serial))
        .await?;
    Ok(Json(done.into()))
}

/// 暗証番号方式への変更: make a face-recognition card a PIN card again.
///
/// The holder sets the PINs (with a signature PIN, a new signature
/// certificate is made).
#[utoipa::path(post, path = "/api/v1/window/cards/{serial}/pin-card", tag = "window", operation_id = "window_pin_card", security(("session" = [])),
    params(("serial" = String, Path, description = "The card's serial (16 hexadecimal digits)", pattern = "^[0-9A-Fa-f]{16}$"), CommandHeaders),
    request_body = PinCardBody,
    responses((status = 200, description = "The card is a PIN card again", body = PinCardRestoredView), CommandProblems))]
pub async fn pin_card(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    Path(serial): Path<String>,
    ApiJson(body): ApiJson<PinCardBody>,
) -> Result<Json<PinCardRestoredView>, Problem> {
    let serial = card_serial(&serial)?;
    let pins = body.pins.parse()?;
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let done = state
        .run(move |a| a.convert_to_pin_card(&actor, &key, &serial, &pins))
        .await?;
    Ok(Json(done.into()))
}

/// 電子証明書の更新: renew the certificates on the card.
///
/// New key pairs and certificates on the same card, inside the renewal
/// window (from 3 months before the expiry); the old ones revoked
/// (superseded).
#[utoipa::path(post, path = "/api/v1/window/cards/{serial}/certificate-renewal", tag = "window", operation_id = "window_certificate_renewal", security(("session" = [])),
    params(("serial" = String, Path, description = "The card's serial (16 hexadecimal digits)", pattern = "^[0-9A-Fa-f]{16}$"), CommandHeaders),
    responses((status = 200, description = "Certificates renewed", body = RenewedView), BodilessCommandProblems))]
pub async fn certificate_renewal(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    Path(serial): Path<String>,
) -> Result<Json<RenewedView>, Problem> {
    let serial = card_serial(&serial)?;
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let done = state.run(move |a| a.renew_certificates(&actor, &key, &serial)).await?;
    Ok(Json(done.into()))
}

/// 紛失届: report a card lost at the window.
///
/// The card is suspended (一時停止) and its certificates put on hold.
#[utoipa::path(post, path = "/api/v1/window/cards/{serial}/loss-report", tag = "window", operation_id = "window_loss_report", security(("session" = [])),
    params(("serial" = String, Path, description = "The card's serial (16 hexadecimal digits)", pattern = "^[0-9A-Fa-f]{16}$"), CommandHeaders),
    request_body = LossReportBody,
    responses((status = 200, description = "The card is suspended", body = SuspendedView), CommandProblems))]
pub async fn loss_report(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    Path(serial): Path<String>,
    ApiJson(body): ApiJson<LossReportBody>,
) -> Result<Json<SuspendedView>, Problem> {
    let serial = card_serial(&serial)?;
    let note = optional_text("note", body.note.as_deref(), MAX_NOTE)?;
    if let Some(note) = &note {
        no_my_number("note", note)?;
    }
    let report = LossReport {
        card: LostCard::Serial(serial),
        cause: match body.cause {
            Cause::Loss => LossCause::Loss,
            Cause::Theft => LossCause::Theft,
            Cause::Fire => LossCause::Fire,
        },
        reported_at: None,
        channel: match body.channel {
            ReportChannel::Window => LossChannel::Window,
            ReportChannel::Police => LossChannel::Police,
        },
        note,
    };
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let done = state.run(move |a| a.suspend_lost_card(&actor, &key, &report)).await?;
    Ok(Json(done.into()))
}

/// 発見: a suspended card was found.
///
/// The suspension is lifted, the held certificates revoked and new ones
/// made on the card.
#[utoipa::path(post, path = "/api/v1/window/cards/{serial}/found", tag = "window", operation_id = "window_found", security(("session" = [])),
    params(("serial" = String, Path, description = "The card's serial (16 hexadecimal digits)", pattern = "^[0-9A-Fa-f]{16}$"), CommandHeaders),
    responses((status = 200, description = "The card is active again", body = FoundView), BodilessCommandProblems))]
pub async fn found(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    Path(serial): Path<String>,
) -> Result<Json<FoundView>, Problem> {
    let serial = card_serial(&serial)?;
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let done = state.run(move |a| a.card_found(&actor, &key, &serial)).await?;
    Ok(Json(done.into()))
}

/// 返納: the holder returns the card.
///
/// It lapses today; its certificates (and the smartphone's) are revoked.
#[utoipa::path(post, path = "/api/v1/window/cards/{serial}/return", tag = "window", operation_id = "window_return_card", security(("session" = [])),
    params(("serial" = String, Path, description = "The card's serial (16 hexadecimal digits)", pattern = "^[0-9A-Fa-f]{16}$"), CommandHeaders),
    responses((status = 200, description = "The card is returned", body = ReturnedView), BodilessCommandProblems))]
pub async fn return_card(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    Path(serial): Path<String>,
) -> Result<Json<ReturnedView>, Problem> {
    let serial = card_serial(&serial)?;
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let done = state.run(move |a| a.return_card(&actor, &key, &serial)).await?;
    Ok(Json(done.into()))
}

/// 再交付: reissue a card.
///
/// A new card with the evidence the rules ask for and the fee (paid at the
/// window: the answer carries its receipt number); the old
/// card is invalidated and its certificates revoked. Production and
/// delivery follow as for any application.
#[utoipa::path(post, path = "/api/v1/window/residents/{id}/reissue", tag = "window", operation_id = "window_reissue", security(("session" = [])),
    params(("id" = i64, Path, description = "The resident's registry id", minimum = 1), CommandHeaders),
    request_body = ReissueBody,
    responses((status = 201, description = "Reissue applied for; the fee and its receipt", body = ReissuedView), CommandProblems))]
pub async fn reissue(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReissueBody>,
) -> Result<(StatusCode, Json<ReissuedView>), Problem> {
    let evidence = body.evidence;
    let request = Reissue {
        resident_id: resident_id(&id)?,
        cause: match body.cause {
            ReissueCause::Loss => FeeCause::Loss,
            ReissueCause::Theft => FeeCause::Theft,
            ReissueCause::Fire => FeeCause::Fire,
            ReissueCause::Damage => FeeCause::Damage,
            ReissueCause::Malfunction => FeeCause::Malfunction,
            ReissueCause::FullEntries => FeeCause::FullEntries,
            ReissueCause::StayExpired => FeeCause::StayExpired,
        },
        evidence: ReissueEvidenceGiven {
            police_receipt_number: optional_text(
                "evidence.police_receipt_number",
                evidence.police_receipt_number.as_deref(),
                MAX_REFERENCE,
            )?,
            disaster_certificate: optional_text(
                "evidence.disaster_certificate",
                evidence.disaster_certificate.as_deref(),
                MAX_REFERENCE,
            )?,
            damaged_card_returned: evidence.damaged_card_returned,
            old_card_returned: evidence.old_card_returned,
        },
        not_holders_fault: body.not_holders_fault.map(|g| match g {
            NoFault::NaturalDisaster => NoFaultGround::NaturalDisaster,
            NoFault::AdministrativeError => NoFaultGround::AdministrativeError,
            NoFault::Other => NoFaultGround::Other,
        }),
        with_certificates: body.with_certificates,
    };
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let done = state.run(move |a| a.reissue(&actor, &key, &request)).await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_carry_no_my_number() {
        assert!(no_my_number("note", "財布ごと紛失 / lost with the wallet, 03-1234-5678").is_ok());
        assert!(no_my_number("note", "番号 123456789018 を控え").is_err());
        assert!(no_my_number("note", "番号１２３４５６７８９０１８").is_err());
    }
}
