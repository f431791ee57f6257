//! The hotline's JSON API (マイナンバー総合フリーダイヤル, 24 hours): find the
//! caller's card from what they can tell, and suspend it (一時停止), its
//! certificates put on hold, the loss report (紛失届) recorded.
//!
//! Why it looks like this:
//!
//! - **Personal data stays out of URLs.** The search is a `POST` with the
//!   holder's name, birth date and the start of the address in the body,
//!   so they reach neither access logs nor browser histories. It changes
//!   no records — the authority only writes the disclosure log, as for
//!   every read of a resident — so it takes no `Idempotency-Key`; it still
//!   needs the session's `X-CSRF-Token`, as every unsafe method does.
//! - **The hotline acts for anyone, any hour, and only suspends.** The
//!   authority takes hotline reports only from hotline operators; lifting
//!   a suspension, reissuing and returning are the window's.
//! - **The report is answered with the suspension.** The authority has no
//!   read of a loss report for the hotline (its operators may not read
//!   resident records), so the suspension's answer carries the report as
//!   recorded; a retry with the same `Idempotency-Key` answers it again.
//!   What the authority's report has no field for — when and where the
//!   card was lost, who called, the police report — is kept in the
//!   report's note, in the audit log.
//! - **No My Number, ever.** Free text is refused if it holds one (12
//!   digits with a valid check digit), so that an operator's note cannot
//!   carry it into the audit log.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use mynacard_authority::loss::{LossReport, LostCard};
use mynacard_authority::Clock;

use mynacard_store::registry::{LossCause, LossChannel};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::ApiJson;
use crate::access::HotlineOperator;
use crate::bootstrap::has_control;
use crate::idempotency::IdempotencyKey;
use crate::problem::Problem;
use crate::state::AppState;

/// The routes (relative to `/api/v1`).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/hotline/search", post(search))
        .route("/hotline/cards/{serial}/suspension", post(suspend))
}

#[derive(OpenApi)]
#[openapi(
    paths(search, suspend),
    components(schemas(
        HolderSearch,
        FoundCard,
        SearchResult,
        Cause,
        Caller,
        SuspensionRequest,
        Suspension,
        RecordedReport
    ))
)]
struct Doc;

/// This module's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

/// Longest name searched for.
pub const MAX_NAME: usize = 100;
/// Longest address prefix, and longest place of loss.
pub const MAX_PLACE: usize = 200;
/// Longest operator's note.
pub const MAX_NOTE: usize = 1000;
/// Longest police receipt number (遺失届の受理番号).
pub const MAX_RECEIPT: usize = 40;

/// The holder as the caller describes them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = hotline::HolderSearch)]
pub struct HolderSearch {
    /// 氏名 (spaces, full-width or not, are ignored).
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// 生年月日.
    pub birth_date: NaiveDate,
    /// The beginning of the 住所 (prefecture, municipality, …), to tell
    /// namesakes apart.
    #[schema(max_length = 200)]
    #[serde(default)]
    pub address_prefix: Option<String>,
}

/// A card in use of a matching holder (never a My Number).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = hotline::FoundCard)]
pub struct FoundCard {
    /// The card's serial (16 upper-case hex digits).
    pub card_serial: String,
    /// `active` or `suspended`.
    pub status: String,
    /// 顔認証マイナンバーカード.
    pub face_recognition: bool,
    /// 有効期限.
    pub expires_on: NaiveDate,
    /// The holder's municipality (全国地方公共団体コード).
    pub municipality: String,
}

/// The cards found.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = hotline::SearchResult)]
pub struct SearchResult {
    /// One per matching holder with a card in use; empty when none.
    pub cards: Vec<FoundCard>,
}

/// What happened to the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = hotline::Cause)]
pub enum Cause {
    /// 紛失.
    Loss,
    /// 盗難.
    Theft,
    /// 焼失.
    Fire,
}

impl From<Cause> for LossCause {
    fn from(c: Cause) -> LossCause {
        match c {
            Cause::Loss => LossCause::Loss,
            Cause::Theft => LossCause::Theft,
            Cause::Fire => LossCause::Fire,
        }
    }
}

/// Who called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = hotline::Caller)]
pub enum Caller {
    /// The holder.
    Holder,
    /// A member of the holder's household or family.
    Family,
    /// The holder's legal representative (法定代理人).
    LegalRepresentative,
    /// Someone else.
    Other,
}

impl Caller {
    fn as_str(self) -> &'static str {
        match self {
            Caller::Holder => "holder",
            Caller::Family => "family",
            Caller::LegalRepresentative => "legal_representative",
            Caller::Other => "other",
        }
    }
}

/// A loss or theft reported by telephone.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = hotline::SuspensionRequest)]
pub struct SuspensionRequest {
    /// Loss, theft or fire.
    pub cause: Cause,
    /// When the caller reported it (default: now); not in the future.
    #[serde(default)]
    pub reported_at: Option<DateTime<Utc>>,
    /// When the card was lost, as far as the caller knows; not after the report.
    #[serde(default)]
    pub lost_at: Option<DateTime<Utc>>,
    /// Where it was lost, as far as the caller knows.
    #[schema(max_length = 200)]
    #[serde(default)]
    pub lost_where: Option<String>,
    /// Who called (default: the holder).
    #[serde(default)]
    pub caller: Option<Caller>,
    /// Whether the loss was reported to the police (遺失届).
    #[serde(default)]
    pub police_reported: Option<bool>,
    /// The police's receipt number, if the caller has it.
    #[schema(max_length = 40)]
    #[serde(default)]
    pub police_receipt_number: Option<String>,
    /// The operator's note (never a My Number).
    #[schema(max_length = 1000)]
    #[serde(default)]
    pub note: Option<String>,
}

/// The loss report as recorded.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = hotline::RecordedReport)]
pub struct RecordedReport {
    /// The report's id in the registry (the window finds it by the card).
    pub id: i64,
    /// `open` until the card is found, reissued or returned at the window.
    pub status: String,
    /// Always `hotline`.
    pub channel: String,
    /// Loss, theft or fire.
    pub cause: Cause,
    /// When it was reported.
    pub reported_at: DateTime<Utc>,
    /// The operator who took it.
    pub taken_by: String,
    /// When the card was lost.
    pub lost_at: Option<DateTime<Utc>>,
    /// Where it was lost.
    pub lost_where: Option<String>,
    /// Who called.
    pub caller: Caller,
    /// Whether the police were told.
    pub police_reported: Option<bool>,
    /// The police's receipt number.
    pub police_receipt_number: Option<String>,
    /// The operator's note.
    pub note: Option<String>,
}

/// A card suspended.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = hotline::Suspension)]
pub struct Suspension {
    /// The card (一時停止).
    pub card_serial: String,
    /// Always `suspended`.
    pub card_status: String,
    /// When.
    pub suspended_at: DateTime<Utc>,
    /// The certificates put on hold (certificateHold): serials, hex.
    pub held_certificates: Vec<String>,
    /// The loss report recorded with it.
    pub report: RecordedReport,
}

// ----------------------------------------------------------------- checks

/// Refuses free text that holds a My Number: 12 digits (ASCII or
/// full-width, among any separators) with a valid check digit.
fn no_my_number(field: &str, text: &str) -> Result<(), Problem> {
    if mynacard_rules::numbers::contains_my_number(text) {
        return Err(Problem::invalid_field(
            field,
            "must not hold a My Number (個人番号は記録できません)",
        ));
    }
    Ok(())
}

fn bounded_text(field: &str, text: &Option<String>, max: usize) -> Result<Option<String>, Problem> {
    let Some(text) = text else {
        return Ok(None);
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > max || has_control(trimmed) {
        return Err(Problem::invalid_field(
            field,
            format!("at most {max} characters, no control characters"),
        ));
    }
    no_my_number(field, trimmed)?;
    Ok(Some(trimmed.to_owned()))
}

/// The first day a My Number Card existed: no report is older.
fn first_card_day() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2016, 1, 1, 0, 0, 0).single().unwrap_or_default()
}

fn serial_in_path(path: Result<Path<String>, PathRejection>) -> Result<String, Problem> {
    let Path(text) = path.map_err(|e| Problem::bad_request(e.body_text()))?;
    let serial = text.to_ascii_uppercase();
    if serial.len() != 16 || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Problem::invalid_field(
            "serial",
            "the card's serial: 16 hexadecimal digits",
        ));
    }
    Ok(serial)
}

// --------------------------------------------------------------- handlers

/// Finds the cards in use of the holders matching the caller's
/// description (name and birth date exactly, the address by its start).
/// Changes no records (each holder found is written to the disclosure
/// log), hence no Idempotency-Key; a `POST` so that personal data stays
/// out of URLs and logs.
#[utoipa::path(post, path = "/api/v1/hotline/search", tag = "hotline", security(("session" = [])),
    request_body = HolderSearch,
    params(("X-CSRF-Token" = String, Header, description = "The session's CSRF token")),
    responses(
        (status = 200, description = "The cards found (possibly none)", body = SearchResult),
        (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a hotline operator, or a missing or wrong CSRF token", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The registry is busy; try again", body = Problem, content_type = "application/problem+json"),
    ))]
async fn search(
    State(state): State<Arc<AppState>>,
    HotlineOperator(operator): HotlineOperator,
    ApiJson(body): ApiJson<HolderSearch>,
) -> Result<Json<SearchResult>, Problem> {
    let name = body.name.trim().to_owned();
    if name.chars().filter(|c| !c.is_whitespace()).count() == 0 || name.chars().count() > MAX_NAME || has_control(&name)
    {
        return Err(Problem::invalid_field(
            "name",
            format!("1 to {MAX_NAME} characters, no control characters"),
        ));
    }
    let today = state.clock.today();
    let oldest = NaiveDate::from_ymd_opt(1850, 1, 1).unwrap_or_default();
    if body.birth_date > today || body.birth_date < oldest {
        return Err(Problem::invalid_field(
            "birth_date",
            "a day between 1850-01-01 and today",
        ));
    }
    let address_prefix = bounded_text("address_prefix", &body.address_prefix, MAX_PLACE)?;
    let actor = operator.actor();
    let birth_date = body.birth_date;
    let found = state
        .run(move |a| a.find_cards_for_hotline(&actor, &name, birth_date, address_prefix.as_deref()))
        .await?;
    Ok(Json(SearchResult {
        cards: found
            .into_iter()
            .map(|c| FoundCard {
                card_serial: c.card_serial,
                status: c.status.as_str().to_owned(),
                face_recognition: c.face_recognition,
                expires_on: c.expires_on,
                municipality: c.municipality,
            })
            .collect(),
    }))
}

/// 一時停止: suspends the card at once, puts its valid certificates on
/// hold (certificateHold: relying parties see them as not good from now
/// on) and records the loss report, which this answer carries.
#[utoipa::path(post, path = "/api/v1/hotline/cards/{serial}/suspension", tag = "hotline", security(("session" = [])),
    request_body = SuspensionRequest,
    params(
        ("serial" = String, Path, description = "The card's serial (16 hexadecimal digits), from the search", min_length = 16, max_length = 16, pattern = "^[0-9A-Fa-f]{16}$"),
        ("Idempotency-Key" = String, Header, description = "A new random value per report; the same value when retrying", min_length = 1, max_length = 100, pattern = "^[A-Za-z0-9._:-]{1,100}$"),
        ("X-CSRF-Token" = String, Header, description = "The session's CSRF token"),
    ),
    responses(
        (status = 201, description = "Suspended (or, for a retry with the same key, suspended before)", body = Suspension),
        (status = 400, description = "Malformed request, or no Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a hotline operator, or a missing or wrong CSRF token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such card", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The card is suspended already (`card_suspended`) or not in use (`card_not_in_use`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The registry is busy; nothing was recorded, try again", body = Problem, content_type = "application/problem+json"),
    ))]
async fn suspend(
    State(state): State<Arc<AppState>>,
    HotlineOperator(operator): HotlineOperator,
    key: IdempotencyKey,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<SuspensionRequest>,
) -> Result<(StatusCode, Json<Suspension>), Problem> {
    let serial = serial_in_path(path)?;
    let now = state.clock.now();
    let in_range = |at: DateTime<Utc>| at >= first_card_day() && at <= now;
    if body.reported_at.is_some_and(|at| !in_range(at)) {
        return Err(Problem::invalid_field("reported_at", "between 2016-01-01 and now"));
    }
    let reported_by_then = body.reported_at.unwrap_or(now);
    if body.lost_at.is_some_and(|at| !in_range(at) || at > reported_by_then) {
        return Err(Problem::invalid_field(
            "lost_at",
            "between 2016-01-01 and the time of the report",
        ));
    }
    let lost_where = bounded_text("lost_where", &body.lost_where, MAX_PLACE)?;
    let receipt = bounded_text("police_receipt_number", &body.police_receipt_number, MAX_RECEIPT)?;
    let note = bounded_text("note", &body.note, MAX_NOTE)?;
    let caller = body.caller.unwrap_or(Caller::Holder);
    let report = LossReport {
        card: LostCard::Serial(serial.clone()),
        cause: body.cause.into(),
        reported_at: body.reported_at,
        channel: LossChannel::Hotline,
        note: Some(note_text(
            caller,
            body.lost_at,
            lost_where.as_deref(),
            body.police_reported,
            receipt.as_deref(),
            note.as_deref(),
        )),
    };
    let actor = operator.actor();
    let taken_by = actor.id.clone();
    let scoped = key.scoped(&operator.key_scope());
    let done = state
        .run(move |a| a.suspend_lost_card(&actor, &scoped, &report))
        .await?;
    let answer = Suspension {
        card_serial: done.card_serial,
        card_status: "suspended".into(),
        suspended_at: done.suspended_at,
        held_certificates: done.held,
        report: RecordedReport {
            id: done.loss_report_id,
            status: "open".into(),
            channel: LossChannel::Hotline.as_str().into(),
            cause: body.cause,
            reported_at: body.reported_at.unwrap_or(done.suspended_at),
            taken_by,
            lost_at: body.lost_at,
            lost_where,
            caller,
            police_reported: body.police_reported,
            police_receipt_number: receipt,
            note,
        },
    };
    Ok((StatusCode::CREATED, Json(answer)))
}

/// The report's note as the audit log keeps it: the facts the
/// authority's report has no field for, then the operator's note.
fn note_text(
    caller: Caller,
    lost_at: Option<DateTime<Utc>>,
    lost_where: Option<&str>,
    police_reported: Option<bool>,
    receipt: Option<&str>,
    note: Option<&str>,
) -> String {
    let mut parts = vec![format!("caller: {}", caller.as_str())];
    if let Some(at) = lost_at {
        parts.push(format!("lost at: {}", at.format("%Y-%m-%dT%H:%M:%SZ")));
    }
    if let Some(place) = lost_where {
        parts.push(format!("lost where: {place}"));
    }
    match (police_reported, receipt) {
        (_, Some(number)) => parts.push(format!("police: reported, receipt {number}")),
        (Some(true), None) => parts.push("police: reported".into()),
        (Some(false), None) => parts.push("police: not reported".into()),
        (None, None) => {}
    }
    if let Some(note) = note {
        parts.push(format!("note: {note}"));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use mynacard_rules::numbers::MyNumber;

    #[test]
    fn free_text_with_a_my_number_is_refused() {
        // 123456789018 has a valid check digit; 123456789012 does not.
        assert!(MyNumber::parse("123456789018").is_ok());
        assert!(no_my_number("note", "番号は 1234 5678 9018 です").is_err());
        assert!(no_my_number("note", "１２３４５６７８９０１８").is_err());
        assert!(no_my_number("note", "receipt 123456789012").is_ok());
        assert!(no_my_number("note", "新宿駅 東口").is_ok());
    }

    #[test]
    fn the_note_keeps_what_the_report_has_no_field_for() {
        let text = note_text(
            Caller::Family,
            Utc.with_ymd_and_hms(2026, 11, 28, 11, 0, 0).single(),
            Some("新宿駅"),
            Some(true),
            None,
            Some("財布ごと"),
        );
        assert_eq!(
            text,
            "caller: family; lost at: 2026-11-28T11:00:00Z; lost where: 新宿駅; police: reported; note: 財布ごと"
        );
    }
}
