//! The window's JSON API (市区町村窓口): every operation a municipal window
//! performs on the authority, for window staff of one municipality.
//!
//! Why it looks like this:
//!
//! - **Scope comes from the session, not the request.** A clerk's
//!   municipality is the one their account belongs to; it is never a field
//!   of a request (a resident is registered, a move-in made, at the
//!   clerk's own window). The authority then refuses residents of other
//!   municipalities (`403`), and answers a My Number outside the scope like
//!   an unknown one (`404`).
//! - **Parse, don't validate.** Each request body is this module's own
//!   type, turned at the edge into the authority's: dates, municipality
//!   codes, My Numbers, card serials and PIN formats are checked here and
//!   refused with `400 invalid_field` naming the field, and free text is
//!   bounded and free of control characters, so that nothing malformed
//!   reaches the registry (where it could only fail as a server error).
//! - **PINs are typed by the holder and go to the card only.** They are
//!   never logged, never echoed (not even in a parse error), never part of
//!   an answer; the authority keeps them out of the idempotency record.
//! - **My Numbers never travel in a URL.** A lookup by number is a `POST`
//!   (`/window/residents/lookup`); the record's views carry the number only
//!   for the purposes the My Number Act allows, and every view is written to
//!   the disclosure log by the authority.
//! - **Every call that changes records needs an `Idempotency-Key`**, scoped
//!   by the clerk's account; the same key with the same request answers the
//!   first answer again and acts once.
//!
//! Modules: [`residents`] (work list, search, registration, the record and
//! its logs), [`cards`] (交付申請, 交付, 暗証番号の再設定, 顔認証, 電子証明書の更新,
//! 紛失・発見・返納, 再交付), [`moves`] (転出, 転入, 継続利用, 転居, 氏名の変更,
//! 死亡, 有効期間変更).

pub mod cards;
pub mod moves;
pub mod residents;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use chrono::{Datelike, NaiveDate};
use mynacard_authority::lapse::LapseDone;
use mynacard_card::CardSerial;
use mynacard_rules::pin::PinKind;
use serde::de::{Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{ContentBuilder, KnownFormat, Ref, RefOr, Required, Response, ResponseBuilder};
use utoipa::{IntoParams, IntoResponses, OpenApi, PartialSchema, ToSchema};
use zeroize::Zeroizing;

use crate::problem::Problem;
use crate::state::AppState;

/// The routes (relative to `/api/v1`).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/window/worklist", get(residents::worklist))
        .route("/window/residents", get(residents::search).post(residents::register))
        .route("/window/residents/lookup", post(residents::lookup))
        .route("/window/residents/{id}", get(residents::record))
        .route("/window/residents/{id}/disclosures", get(residents::disclosures))
        .route("/window/residents/{id}/audit", get(residents::audit))
        .route("/window/residents/{id}/move-out", post(moves::move_out))
        .route("/window/residents/{id}/move-in", post(moves::move_in))
        .route("/window/residents/{id}/continued-use", post(moves::continued_use))
        .route("/window/residents/{id}/move-within", post(moves::move_within))
        .route("/window/residents/{id}/name-change", post(moves::name_change))
        .route("/window/residents/{id}/death", post(moves::death))
        .route("/window/residents/{id}/validity-change", post(moves::validity_change))
        .route("/window/residents/{id}/reissue", post(cards::reissue))
        .route("/window/applications", post(cards::apply))
        .route("/window/cards/{serial}/delivery", post(cards::deliver))
        .route("/window/cards/{serial}/pin-reset", post(cards::pin_reset))
        .route("/window/cards/{serial}/face-recognition", post(cards::face_recognition))
        .route("/window/cards/{serial}/pin-card", post(cards::pin_card))
        .route(
            "/window/cards/{serial}/certificate-renewal",
            post(cards::certificate_renewal),
        )
        .route("/window/cards/{serial}/loss-report", post(cards::loss_report))
        .route("/window/cards/{serial}/found", post(cards::found))
        .route("/window/cards/{serial}/return", post(cards::return_card))
}

#[derive(OpenApi)]
#[openapi(paths(
    residents::worklist,
    residents::search,
    residents::register,
    residents::lookup,
    residents::record,
    residents::disclosures,
    residents::audit,
    moves::move_out,
    moves::move_in,
    moves::continued_use,
    moves::move_within,
    moves::name_change,
    moves::death,
    moves::validity_change,
    cards::apply,
    cards::deliver,
    cards::pin_reset,
    cards::face_recognition,
    cards::pin_card,
    cards::certificate_renewal,
    cards::loss_report,
    cards::found,
    cards::return_card,
    cards::reissue,
))]
struct Doc;

/// This module's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

// ------------------------------------------------------------ documentation

/// The problem document of `status`, as the window's paths answer it.
fn problem_response(status: u16) -> RefOr<Response> {
    let description = match status {
        400 => {
            "Malformed request: an input that is not valid (`invalid_field`, naming it), a malformed body \
             (`bad_request`), a missing or malformed Idempotency-Key (`idempotency_key_required`, \
             `invalid_idempotency_key`)"
        }
        401 => "No live staff session (`unauthenticated`)",
        403 => {
            "Not window staff, a resident of another municipality (`forbidden`), or a missing or wrong \
             X-CSRF-Token (`csrf`)"
        }
        404 => "No such resident or card (`not_found`)",
        409 => {
            "Refused by the record's state or the rules: `code` names the refusal (`card_in_use`, \
             `application_pending`, `not_a_resident`, `card_not_active`, `wrong_pin`, …), or the record \
             changed meanwhile (`conflict`)"
        }
        413 => "The body is too large (`payload_too_large`)",
        415 => "The body is not JSON (`unsupported_media_type`)",
        422 => {
            "The Idempotency-Key was used for a different request (`idempotency_key_reused`), or the rules \
             engine refused the facts"
        }
        _ => "Error",
    };
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

/// Declares a set of problem statuses a path answers, for `responses(...)`.
macro_rules! problems {
    ($(#[$doc:meta])* $name:ident: $($status:literal),+) => {
        $(#[$doc])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$($status),+]
                    .into_iter()
                    .map(|s: u16| (s.to_string(), problem_response(s)))
                    .collect()
            }
        }
    };
}

problems!(
    /// The work list's problems: only who may read it.
    WorklistProblems: 401, 403);
problems!(
    /// A read with parameters.
    ReadProblems: 400, 401, 403, 404);
problems!(
    /// A search (no record named).
    SearchProblems: 400, 401, 403);
problems!(
    /// A lookup with a JSON body that records a disclosure but changes no record.
    LookupProblems: 400, 401, 403, 404, 413, 415);
problems!(
    /// A call that changes records, with a JSON body.
    CommandProblems: 400, 401, 403, 404, 409, 413, 415, 422);
problems!(
    /// A call that changes records, without a body.
    BodilessCommandProblems: 400, 401, 403, 404, 409, 422);

/// The headers of every call that changes records: `Idempotency-Key` and
/// `X-CSRF-Token`.
pub struct CommandHeaders;

impl IntoParams for CommandHeaders {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let key = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(crate::idempotency::MAX_LEN))
            .pattern(Some("^[A-Za-z0-9_.:-]+$"));
        let csrf = ObjectBuilder::new().schema_type(Type::String).min_length(Some(1));
        vec![
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .description(Some(
                    "A new random value per operation; the same value when retrying it (the first answer comes \
                     back, the operation acts once)",
                ))
                .schema(Some(key))
                .build(),
            ParameterBuilder::new()
                .name("X-CSRF-Token")
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .description(Some("The session's CSRF token (from POST /api/v1/session)"))
                .schema(Some(csrf))
                .build(),
        ]
    }
}

/// The `X-CSRF-Token` header alone (a lookup: unsafe method, no record changed).
pub struct CsrfHeader;

impl IntoParams for CsrfHeader {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        CommandHeaders::into_params(parameter_in)
            .into_iter()
            .filter(|p| p.name == "X-CSRF-Token")
            .collect()
    }
}

// ------------------------------------------------------------ shared views

/// A certificate made by an operation: its serial and last valid day.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::CertificateRef)]
pub struct CertificateRef {
    /// The serial (hex).
    pub serial: String,
    /// The last valid day.
    pub last_valid_day: NaiveDate,
}

impl From<(String, NaiveDate)> for CertificateRef {
    fn from((serial, last_valid_day): (String, NaiveDate)) -> Self {
        CertificateRef { serial, last_valid_day }
    }
}

/// A card that lapsed (失効) by an operation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::Lapse)]
pub struct LapseView {
    /// The card.
    pub card_serial: String,
    /// The first day it was no longer valid.
    pub lapsed_on: NaiveDate,
    /// Why (the rules' reason: `no_move_in_after_move_out`, `late_move_in`, `death`, …).
    pub reason: String,
}

impl From<LapseDone> for LapseView {
    fn from(l: LapseDone) -> Self {
        LapseView {
            card_serial: l.card_serial,
            lapsed_on: l.lapsed_on,
            reason: l.reason,
        }
    }
}

// ------------------------------------------------------------------ parsing

/// The longest 氏名 or 振り仮名 accepted, in characters.
pub const MAX_NAME: usize = 100;
/// The longest 住所 or 本籍 accepted, in characters.
pub const MAX_ADDRESS: usize = 200;
/// The longest short reference accepted (世帯 id, receipt numbers), in characters.
pub const MAX_REFERENCE: usize = 64;
/// The longest note accepted, in characters.
pub const MAX_NOTE: usize = 500;
/// Dates accepted: from this year …
const FIRST_YEAR: i32 = 1800;
/// … through this one.
const LAST_YEAR: i32 = 2199;

/// Free text: at most `max` characters as sent (the schema's `maxLength`),
/// no control characters, trimmed; non-empty unless `may_be_empty`.
pub(crate) fn text(field: &str, value: &str, max: usize, may_be_empty: bool) -> Result<String, Problem> {
    if value.chars().count() > max {
        return Err(Problem::invalid_field(field, format!("at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(Problem::invalid_field(field, "control characters are not accepted"));
    }
    let value = value.trim();
    if value.is_empty() && !may_be_empty {
        return Err(Problem::invalid_field(field, "must not be empty"));
    }
    Ok(value.to_owned())
}

/// Optional free text (see [`text`]); empty text is no text.
pub(crate) fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, Problem> {
    match value {
        None => Ok(None),
        Some(v) => text(field, v, max, true).map(|t| (!t.is_empty()).then_some(t)),
    }
}

/// A civil date written `YYYY-MM-DD`, within the years the system handles.
pub(crate) fn date(field: &str, value: &str) -> Result<NaiveDate, Problem> {
    let day = mynacard_rules::date::parse_date(value).map_err(|_| {
        Problem::invalid_field(
            field,
            "a date that exists, written YYYY-MM-DD (1800-01-01 to 2199-12-31)",
        )
    })?;
    if !(FIRST_YEAR..=LAST_YEAR).contains(&day.year()) {
        return Err(Problem::invalid_field(field, "a date from 1800-01-01 to 2199-12-31"));
    }
    Ok(day)
}

/// The query string's parameters: each at most once and among `known`
/// (anything else is refused, as the document promises no more).
pub(crate) fn query(raw: Option<&str>, known: &[&str]) -> Result<BTreeMap<String, String>, Problem> {
    let mut out = BTreeMap::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let Some(known) = known.iter().find(|k| **k == key) else {
            let shown: String = key.chars().take(64).collect();
            return Err(Problem::invalid_field(&shown, "no such parameter"));
        };
        if out.insert((*known).to_owned(), value.into_owned()).is_some() {
            return Err(Problem::invalid_field(known, "given more than once"));
        }
    }
    Ok(out)
}

/// A resident's registry id from the path.
pub(crate) fn resident_id(value: &str) -> Result<i64, Problem> {
    match value.parse::<i64>() {
        Ok(id) if id >= 1 => Ok(id),
        _ => Err(Problem::invalid_field("id", "a resident id: a positive integer")),
    }
}

/// A resident's registry id in a body.
pub(crate) fn body_resident_id(field: &str, id: i64) -> Result<i64, Problem> {
    if id >= 1 {
        Ok(id)
    } else {
        Err(Problem::invalid_field(field, "a resident id: a positive integer"))
    }
}

/// A card's serial from the path, in its canonical form (16 upper-case
/// hexadecimal digits).
pub(crate) fn card_serial(value: &str) -> Result<String, Problem> {
    CardSerial::parse(value)
        .map(|s| s.to_string())
        .ok_or_else(|| Problem::invalid_field("serial", "a card serial: 16 hexadecimal digits"))
}

/// A PIN as the holder typed it on the PIN pad: held in memory that is
/// wiped when dropped, never shown by `Debug`, and never quoted by a parse
/// error (a number where a string belongs is refused without its value).
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// The PIN, checked against the format of `kind`; `field` names it in
    /// the refusal (which never quotes it).
    pub(crate) fn checked(self, field: &str, kind: PinKind) -> Result<Zeroizing<String>, Problem> {
        kind.check_format(&self.0)
            .map_err(|e| Problem::invalid_field(field, e.to_string()))?;
        Ok(self.0)
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(<typed by the holder>)")
    }
}

impl<'de> Deserialize<'de> for Pin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Pin, D::Error> {
        struct PinVisitor;

        const NOT_A_STRING: &str = "a PIN is a JSON string (\"0123\"), not a number";

        impl Visitor<'_> for PinVisitor {
            type Value = Pin;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a PIN as a string")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Pin, E> {
                Ok(Pin(Zeroizing::new(v.to_owned())))
            }

            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Pin, E> {
                Ok(Pin(Zeroizing::new(v)))
            }

            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Pin, E> {
                Err(E::custom(NOT_A_STRING))
            }

            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Pin, E> {
                Err(E::custom(NOT_A_STRING))
            }

            fn visit_i128<E: serde::de::Error>(self, _: i128) -> Result<Pin, E> {
                Err(E::custom(NOT_A_STRING))
            }

            fn visit_u128<E: serde::de::Error>(self, _: u128) -> Result<Pin, E> {
                Err(E::custom(NOT_A_STRING))
            }

            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Pin, E> {
                Err(E::custom(NOT_A_STRING))
            }
        }

        // `deserialize_any`: a number reaches the visitor (which refuses it
        // without its value) instead of serde_json's message, which quotes it.
        deserializer.deserialize_any(PinVisitor)
    }
}

/// The schema of a PIN field: a write-only password string.
fn pin_schema(pattern: &str, min: usize, max: usize, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
        .min_length(Some(min))
        .max_length(Some(max))
        .pattern(Some(pattern))
        .write_only(Some(true))
        .description(Some(description))
        .into()
}

impl PartialSchema for Pin {
    fn schema() -> RefOr<Schema> {
        pin_schema(
            "^[A-Z0-9]{4,16}$",
            4,
            16,
            "A PIN typed by the holder on the PIN pad: 4 digits (利用者証明用, 券面事項入力補助用, 住民基本台帳用), \
             or 6–16 of A–Z and 0–9 with a letter and a digit (署名用). Never echoed.",
        )
    }
}

impl ToSchema for Pin {
    fn name() -> std::borrow::Cow<'static, str> {
        "window.Pin".into()
    }
}

/// A 4-digit PIN (利用者証明用, 券面事項入力補助用, 住民基本台帳用) as the
/// holder typed it (its format is checked where it is used).
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct FourDigitPin(pub Pin);

impl PartialSchema for FourDigitPin {
    fn schema() -> RefOr<Schema> {
        pin_schema(
            "^[0-9]{4}$",
            4,
            4,
            "A 4-digit PIN typed by the holder on the PIN pad. Never echoed.",
        )
    }
}

impl ToSchema for FourDigitPin {
    fn name() -> std::borrow::Cow<'static, str> {
        "window.FourDigitPin".into()
    }
}

/// A signature PIN (署名用電子証明書の暗証番号) as the holder typed it.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct SignPin(pub Pin);

impl PartialSchema for SignPin {
    fn schema() -> RefOr<Schema> {
        pin_schema(
            "^[A-Z0-9]{6,16}$",
            6,
            16,
            "The signature PIN typed by the holder: 6–16 of A–Z and 0–9, with at least one letter and one digit. \
             Never echoed.",
        )
    }
}

impl ToSchema for SignPin {
    fn name() -> std::borrow::Cow<'static, str> {
        "window.SignPin".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_never_quoted_by_a_parse_error() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Body {
            pin: Pin,
        }
        let error = serde_json::from_str::<Body>(r#"{"pin": 918273}"#).expect_err("a number");
        assert!(!error.to_string().contains("918273"), "{error}");
        let pin = serde_json::from_str::<Body>(r#"{"pin": "9182"}"#)
            .expect("a string")
            .pin;
        assert!(!format!("{pin:?}").contains("9182"));
        let refused = Pin(Zeroizing::new("91a".into()))
            .checked("pins.auth", PinKind::UserAuthentication)
            .expect_err("not 4 digits");
        assert!(!format!("{refused:?}").contains("91a"));
    }

    #[test]
    fn inputs_are_parsed_at_the_edge() {
        assert_eq!(card_serial("4d4e0123456789ab").expect("hex"), "4D4E0123456789AB");
        assert!(card_serial("../../etc/passwd").is_err());
        assert!(card_serial("4D4E0123456789ABCD").is_err());
        assert_eq!(resident_id("42").expect("id"), 42);
        for bad in ["0", "-1", "x", "99999999999999999999", ""] {
            assert!(resident_id(bad).is_err(), "{bad}");
        }
        assert!(date("d", "2026-02-29").is_err());
        assert!(date("d", "9999-01-01").is_err());
        assert!(date("d", "2026-02-28").is_ok());
        assert!(text("name", "番号\u{0}花子", MAX_NAME, false).is_err());
        assert!(text("name", "   ", MAX_NAME, false).is_err());
        assert!(text("name", &"あ".repeat(MAX_NAME + 1), MAX_NAME, false).is_err());
        assert_eq!(text("name", " 番号　花子 ", MAX_NAME, false).expect("ok"), "番号　花子");
        assert_eq!(optional_text("x", Some(" "), 10).expect("ok"), None);
    }
}
