//! Changes of address and of the record at the window: 転出 (move-out, or
//! 国外転出 abroad), 転入 (move-in, with the card's 継続利用 or without),
//! 継続利用 later, 転居 (within the municipality), 氏名の変更, 死亡, and a
//! foreign resident's 有効期間変更.
//!
//! The rules engine decides in the authority (deadlines, which
//! certificates are revoked, whether the card lapses); here each request
//! is parsed into the authority's, and the resident-registry PIN the
//! holder types for a continued use goes to the card and nowhere else.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use chrono::NaiveDate;
use mynacard_authority::moves::{
    ContinuedUse, Death, DeathRecorded, Destination, MoveIn, MoveOut, MoveWithin, MovedIn, MovedOut, NameChange,
    NameChangeReason, RecordChanged, ValidityChange, ValidityChanged,
};
use mynacard_rules::card::{Applicant, ExpiryBasis};
use mynacard_rules::numbers::MunicipalityCode;
use mynacard_rules::pin::PinKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::{
    date, resident_id, text, CertificateRef, CommandHeaders, CommandProblems, FourDigitPin, LapseView, MAX_ADDRESS,
    MAX_NAME,
};
use crate::access::WindowClerk;
use crate::api::ApiJson;
use crate::idempotency::IdempotencyKey;
use crate::problem::Problem;
use crate::state::AppState;

// ------------------------------------------------------------------- inputs

/// 転出届: a move-out (or a departure abroad).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::MoveOut)]
pub struct MoveOutBody {
    /// 転出予定日 (abroad: the departure day).
    #[schema(format = Date, pattern = "^(18|19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub planned_move_out_on: String,
    /// Where to: the new municipality's code (全国地方公共団体コード), or `abroad` (国外転出).
    #[schema(pattern = "^([0-9]{6}|abroad)$")]
    pub destination: String,
    /// Abroad only: the holder keeps the card (国外継続利用; Japanese
    /// nationals, departures from 2024-05-27).
    #[serde(default)]
    pub abroad_with_continued_use: bool,
}

/// 転入届: a move-in at the clerk's municipality, after a move-out or back
/// from abroad.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::MoveIn)]
pub struct MoveInBody {
    /// The day the resident moved in (not after today).
    #[schema(format = Date, pattern = "^(18|19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub moved_in_on: String,
    /// The new 住所, from the prefecture.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub new_address: String,
    /// The card is presented for its continued use (継続利用): the
    /// deadlines apply, the registry PIN is verified on the card, the new
    /// address goes in the 追記欄.
    pub continued_use: bool,
    /// 住民基本台帳用暗証番号, typed by the holder (with `continued_use`;
    /// not for a face-recognition card).
    #[serde(default)]
    pub registry_pin: Option<FourDigitPin>,
    /// A new signature certificate on the card (with `continued_use` only).
    #[serde(default)]
    pub new_signature_certificate: bool,
}

/// 継続利用 after a move-in made without the card (within 90 days).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::ContinuedUse)]
pub struct ContinuedUseBody {
    /// 住民基本台帳用暗証番号, typed by the holder (not for a face-recognition card).
    #[serde(default)]
    pub registry_pin: Option<FourDigitPin>,
    /// A new signature certificate on the card.
    #[serde(default)]
    pub new_signature_certificate: bool,
}

/// 転居: a move within the municipality.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::MoveWithin)]
pub struct MoveWithinBody {
    /// The new 住所.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub new_address: String,
    /// The day of the move (not after today).
    #[schema(format = Date, pattern = "^(18|19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub moved_on: String,
    /// A new signature certificate on the card.
    #[serde(default)]
    pub new_signature_certificate: bool,
}

/// Why a name changed.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = window::NameChangeReason)]
pub enum Reason {
    /// 婚姻.
    Marriage,
    /// 離婚.
    Divorce,
    /// 養子縁組 (or its dissolution).
    Adoption,
    /// Anything else (家庭裁判所の許可, …).
    Other,
}

/// 氏名の変更.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::NameChange)]
pub struct NameChangeBody {
    /// The new 氏名.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub new_name: String,
    /// The new 振り仮名.
    #[schema(max_length = 100, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub new_name_kana: String,
    /// The day it took effect (not after today).
    #[schema(format = Date, pattern = "^(18|19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub changed_on: String,
    /// Why.
    pub reason: Reason,
    /// A new signature certificate on the card.
    #[serde(default)]
    pub new_signature_certificate: bool,
}

/// 死亡届.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::Death)]
pub struct DeathBody {
    /// The day of death (not after today).
    #[schema(format = Date, pattern = "^(18|19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub died_on: String,
}

/// Who applies for a validity change.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = window::Applicant)]
pub enum ApplicantBody {
    /// 本人.
    Holder,
    /// 法定代理人.
    LegalRepresentative,
    /// 同一世帯員.
    HouseholdMember,
}

/// 有効期間変更: a foreign resident's card after the period of stay was extended.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::ValidityChange)]
pub struct ValidityChangeBody {
    /// The new 在留期間満了日.
    #[schema(format = Date, pattern = "^(18|19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub new_stay_until: String,
    /// Who applies (default: the holder).
    #[serde(default)]
    pub applicant: Option<ApplicantBody>,
}

// ------------------------------------------------------------------ outputs

/// What a move-out did.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::MovedOut)]
pub struct MovedOutView {
    /// The resident.
    pub resident_id: i64,
    /// The record's status now: `moved_out` or `abroad`.
    pub status: String,
    /// 転出予定日.
    pub planned_move_out_on: NaiveDate,
    /// The card in use, if any.
    pub card_serial: Option<String>,
    /// Certificates revoked.
    pub revoked: Vec<String>,
    /// The last day of the move-in with the card (30 days after the planned move-out).
    pub move_in_due: Option<NaiveDate>,
    /// The card's lapse, if the move-out lapsed it.
    pub lapse: Option<LapseView>,
}

impl From<MovedOut> for MovedOutView {
    fn from(m: MovedOut) -> Self {
        MovedOutView {
            resident_id: m.resident_id,
            status: m.status.as_str().to_owned(),
            planned_move_out_on: m.planned_move_out_on,
            card_serial: m.card_serial,
            revoked: m.revoked,
            move_in_due: m.move_in_due,
            lapse: m.lapse.map(Into::into),
        }
    }
}

/// What a move-in did.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::MovedIn)]
pub struct MovedInView {
    /// The resident.
    pub resident_id: i64,
    /// The new municipality.
    pub municipality: String,
    /// The card in use, if any.
    pub card_serial: Option<String>,
    /// Whether the card's continued use was done with the move-in.
    pub continued_use: bool,
    /// The 追記欄 entry's number.
    pub surface_entry: Option<i64>,
    /// The last day of the card's continued use, if still to do.
    pub card_update_due: Option<NaiveDate>,
    /// The new signature certificate.
    pub new_sign_certificate: Option<CertificateRef>,
    /// Certificates revoked.
    pub revoked: Vec<String>,
    /// The card's lapse, if the move-in lapsed it (a late notification).
    pub lapse: Option<LapseView>,
}

impl From<MovedIn> for MovedInView {
    fn from(m: MovedIn) -> Self {
        MovedInView {
            resident_id: m.resident_id,
            municipality: m.municipality,
            card_serial: m.card_serial,
            continued_use: m.continued_use,
            surface_entry: m.surface_entry,
            card_update_due: m.card_update_due,
            new_sign_certificate: m.new_sign_certificate.map(Into::into),
            revoked: m.revoked,
            lapse: m.lapse.map(Into::into),
        }
    }
}

/// What a change of the record on the card did (転居, 氏名の変更, 継続利用).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::RecordChanged)]
pub struct RecordChangedView {
    /// The resident.
    pub resident_id: i64,
    /// The card in use, if any.
    pub card_serial: Option<String>,
    /// The 追記欄 entry's number (none without a card in the holder's hands).
    pub surface_entry: Option<i64>,
    /// Certificates revoked.
    pub revoked: Vec<String>,
    /// The new signature certificate.
    pub new_sign_certificate: Option<CertificateRef>,
}

impl From<RecordChanged> for RecordChangedView {
    fn from(r: RecordChanged) -> Self {
        RecordChangedView {
            resident_id: r.resident_id,
            card_serial: r.card_serial,
            surface_entry: r.surface_entry,
            revoked: r.revoked,
            new_sign_certificate: r.new_sign_certificate.map(Into::into),
        }
    }
}

/// What recording a death did.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::DeathRecorded)]
pub struct DeathRecordedView {
    /// The resident.
    pub resident_id: i64,
    /// The day of death.
    pub died_on: NaiveDate,
    /// The card's lapse.
    pub lapse: Option<LapseView>,
    /// Cards in production, invalidated (廃止).
    pub cards_invalidated: Vec<String>,
    /// Certificates revoked.
    pub revoked: Vec<String>,
}

impl From<DeathRecorded> for DeathRecordedView {
    fn from(d: DeathRecorded) -> Self {
        DeathRecordedView {
            resident_id: d.resident_id,
            died_on: d.died_on,
            lapse: d.lapse.map(Into::into),
            cards_invalidated: d.cards_invalidated,
            revoked: d.revoked,
        }
    }
}

/// What decided the card's expiry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = window::ExpiryBasis)]
pub enum Basis {
    /// 発行の日後の10回目の誕生日.
    TenthBirthday,
    /// 発行の日後の5回目の誕生日.
    FifthBirthday,
    /// 在留期間満了日.
    EndOfStay,
}

impl From<ExpiryBasis> for Basis {
    fn from(b: ExpiryBasis) -> Self {
        match b {
            ExpiryBasis::TenthBirthday => Basis::TenthBirthday,
            ExpiryBasis::FifthBirthday => Basis::FifthBirthday,
            ExpiryBasis::EndOfStay => Basis::EndOfStay,
        }
    }
}

/// What a validity change did.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::ValidityChanged)]
pub struct ValidityChangedView {
    /// The resident.
    pub resident_id: i64,
    /// The card.
    pub card_serial: String,
    /// The expiry before.
    pub previous_expiry: NaiveDate,
    /// 有効期限 now.
    pub expires_on: NaiveDate,
    /// What decided it.
    pub basis: Basis,
    /// The 追記欄 entry's number.
    pub surface_entry: i64,
    /// The card's certificates, unchanged (renewed at the window).
    pub certificates: Vec<CertificateRef>,
}

impl From<ValidityChanged> for ValidityChangedView {
    fn from(v: ValidityChanged) -> Self {
        ValidityChangedView {
            resident_id: v.resident_id,
            card_serial: v.card_serial,
            previous_expiry: v.previous_expiry,
            expires_on: v.expires_on,
            basis: v.basis.into(),
            surface_entry: v.surface_entry,
            certificates: v.certificates.into_iter().map(Into::into).collect(),
        }
    }
}

// ------------------------------------------------------------------ parsing

/// The registry PIN of a continued use, checked; empty when none was typed
/// (a face-recognition card has none; the authority asks for it otherwise).
fn registry_pin(pin: Option<FourDigitPin>) -> Result<Zeroizing<String>, Problem> {
    match pin {
        Some(FourDigitPin(pin)) => pin.checked("registry_pin", PinKind::ResidentRegistry),
        None => Ok(Zeroizing::new(String::new())),
    }
}

// ----------------------------------------------------------------- handlers

/// 転出届: move out (or abroad).
///
/// The resident moves out of the municipality, or abroad (国外転出). The
/// signature certificate is revoked (abroad both, and the card lapses
/// unless kept: 国外継続利用); the move-in with the card is due within 30
/// days after the planned move-out.
#[utoipa::path(post, path = "/api/v1/window/residents/{id}/move-out", tag = "window", operation_id = "window_move_out", security(("session" = [])),
    params(("id" = i64, Path, description = "The resident's registry id", minimum = 1), CommandHeaders),
    request_body = MoveOutBody,
    responses((status = 200, description = "Moved out", body = MovedOutView), CommandProblems))]
pub async fn move_out(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MoveOutBody>,
) -> Result<Json<MovedOutView>, Problem> {
    let resident_id = resident_id(&id)?;
    let destination = if body.destination == "abroad" {
        Destination::Abroad
    } else {
        let code = MunicipalityCode::parse(&body.destination).map_err(|_| {
            Problem::invalid_field(
                "destination",
                "a municipality code (6 digits with a valid check digit) or `abroad`",
            )
        })?;
        Destination::Municipality(code.to_string())
    };
    let request = MoveOut {
        resident_id,
        planned_move_out_on: date("planned_move_out_on", &body.planned_move_out_on)?,
        destination,
        abroad_with_continued_use: body.abroad_with_continued_use,
    };
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let done = state.run(move |a| a.move_out(&actor, &key, &request)).await?;
    Ok(Json(done.into()))
}

/// 転入届: move in.
///
/// The resident moves in at the clerk's municipality. With the card
/// (継続利用) the deadlines apply (14 days after moving in, 30 days after
/// the planned move-out), the holder's registry PIN is verified on the card
/// and the new address written in the 追記欄; without it the continued use
/// is due within 90 days.
#[utoipa::path(post, path = "/api/v1/window/residents/{id}/move-in", tag = "window", operation_id = "window_move_in", security(("session" = [])),
    params(("id" = i64, Path, description = "The resident's registry id", minimum = 1), CommandHeaders),
    request_body = MoveInBody,
    responses((status = 200, description = "Moved in", body = MovedInView), CommandProblems))]
pub async fn move_in(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MoveInBody>,
) -> Result<Json<MovedInView>, Problem> {
    let resident_id = resident_id(&id)?;
    let Some(municipality) = clerk.municipality else {
        return Err(Problem::forbidden("the account has no municipality"));
    };
    if !body.continued_use && body.registry_pin.is_some() {
        return Err(Problem::invalid_field(
            "registry_pin",
            "typed only for the card's continued use",
        ));
    }
    let request = MoveIn {
        resident_id,
        municipality: municipality.to_string(),
        moved_in_on: date("moved_in_on", &body.moved_in_on)?,
        new_address: text("new_address", &body.new_address, MAX_ADDRESS, false)?,
        continued_use: body.continued_use,
        registry_pin: registry_pin(body.registry_pin)?,
        new_signature_certificate: body.new_signature_certificate,
    };
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let done = state.run(move |a| a.move_in(&actor, &key, &request)).await?;
    Ok(Json(done.into()))
}

/// 継続利用: the card's continued use after a move-in.
///
/// The card presented after a move-in made without it (within 90 days of
/// the notification); the holder's registry PIN verified on the
/// card, the address written in the 追記欄.
#[utoipa::path(post, path = "/api/v1/window/residents/{id}/continued-use", tag = "window", operation_id = "window_continued_use", security(("session" = [])),
    params(("id" = i64, Path, description = "The resident's registry id", minimum = 1), CommandHeaders),
    request_body = ContinuedUseBody,
    responses((status = 200, description = "The card carries the new address", body = RecordChangedView), CommandProblems))]
pub async fn continued_use(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ContinuedUseBody>,
) -> Result<Json<RecordChangedView>, Problem> {
    let request = ContinuedUse {
        resident_id: resident_id(&id)?,
        registry_pin: registry_pin(body.registry_pin)?,
        new_signature_certificate: body.new_signature_certificate,
    };
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let done = state.run(move |a| a.continue_card_use(&actor, &key, &request)).await?;
    Ok(Json(done.into()))
}

/// 転居: move within the municipality.
///
/// The 追記欄 entry, the signature certificate revoked, the auth
/// certificate kept.
#[utoipa::path(post, path = "/api/v1/window/residents/{id}/move-within", tag = "window", operation_id = "window_move_within", security(("session" = [])),
    params(("id" = i64, Path, description = "The resident's registry id", minimum = 1), CommandHeaders),
    request_body = MoveWithinBody,
    responses((status = 200, description = "The address changed", body = RecordChangedView), CommandProblems))]
pub async fn move_within(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MoveWithinBody>,
) -> Result<Json<RecordChangedView>, Problem> {
    let request = MoveWithin {
        resident_id: resident_id(&id)?,
        new_address: text("new_address", &body.new_address, MAX_ADDRESS, false)?,
        moved_on: date("moved_on", &body.moved_on)?,
        new_signature_certificate: body.new_signature_certificate,
    };
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let done = state.run(move |a| a.move_within(&actor, &key, &request)).await?;
    Ok(Json(done.into()))
}

/// 氏名の変更: change the name.
///
/// After 婚姻 and the like: the 追記欄 entry, the signature certificate
/// revoked, the auth certificate kept.
#[utoipa::path(post, path = "/api/v1/window/residents/{id}/name-change", tag = "window", operation_id = "window_name_change", security(("session" = [])),
    params(("id" = i64, Path, description = "The resident's registry id", minimum = 1), CommandHeaders),
    request_body = NameChangeBody,
    responses((status = 200, description = "The name changed", body = RecordChangedView), CommandProblems))]
pub async fn name_change(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NameChangeBody>,
) -> Result<Json<RecordChangedView>, Problem> {
    let request = NameChange {
        resident_id: resident_id(&id)?,
        new_name: text("new_name", &body.new_name, MAX_NAME, false)?,
        new_name_kana: text("new_name_kana", &body.new_name_kana, MAX_NAME, true)?,
        changed_on: date("changed_on", &body.changed_on)?,
        reason: match body.reason {
            Reason::Marriage => NameChangeReason::Marriage,
            Reason::Divorce => NameChangeReason::Divorce,
            Reason::Adoption => NameChangeReason::Adoption,
            Reason::Other => NameChangeReason::Other,
        },
        new_signature_certificate: body.new_signature_certificate,
    };
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let done = state.run(move |a| a.change_name(&actor, &key, &request)).await?;
    Ok(Json(done.into()))
}

/// 死亡届: record a death.
///
/// The card lapses, cards in production are invalidated, every certificate
/// of the person is revoked.
#[utoipa::path(post, path = "/api/v1/window/residents/{id}/death", tag = "window", operation_id = "window_death", security(("session" = [])),
    params(("id" = i64, Path, description = "The resident's registry id", minimum = 1), CommandHeaders),
    request_body = DeathBody,
    responses((status = 200, description = "The death recorded", body = DeathRecordedView), CommandProblems))]
pub async fn death(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DeathBody>,
) -> Result<Json<DeathRecordedView>, Problem> {
    let request = Death {
        resident_id: resident_id(&id)?,
        died_on: date("died_on", &body.died_on)?,
    };
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let done = state.run(move |a| a.record_death(&actor, &key, &request)).await?;
    Ok(Json(done.into()))
}

/// 有効期間変更: extend a foreign resident's card.
///
/// The card follows the extended period of stay (within the birthday rule
/// of its issuance), before it expires.
#[utoipa::path(post, path = "/api/v1/window/residents/{id}/validity-change", tag = "window", operation_id = "window_validity_change", security(("session" = [])),
    params(("id" = i64, Path, description = "The resident's registry id", minimum = 1), CommandHeaders),
    request_body = ValidityChangeBody,
    responses((status = 200, description = "The card's expiry changed", body = ValidityChangedView), CommandProblems))]
pub async fn validity_change(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ValidityChangeBody>,
) -> Result<Json<ValidityChangedView>, Problem> {
    let request = ValidityChange {
        resident_id: resident_id(&id)?,
        new_stay_until: date("new_stay_until", &body.new_stay_until)?,
        applicant: body.applicant.map(|a| match a {
            ApplicantBody::Holder => Applicant::Holder,
            ApplicantBody::LegalRepresentative => Applicant::LegalRepresentative,
            ApplicantBody::HouseholdMember => Applicant::HouseholdMember,
        }),
    };
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let done = state.run(move |a| a.change_validity(&actor, &key, &request)).await?;
    Ok(Json(done.into()))
}
