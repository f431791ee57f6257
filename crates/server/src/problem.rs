//! RFC 9457 problem documents: the one shape every API error takes.
//!
//! Errors are domain errors ([`AuthorityError`]) until they reach the HTTP
//! edge; here each becomes a status and a stable `code` (the same codes the
//! CLI's `--json` errors carry). `type` is `/problems/{code}`, a page this
//! server serves, so a client can follow it to a description.
//! Internal failures say "internal" to the client and the detail goes to
//! the log, never a My Number or a PIN (the authority's messages carry
//! neither).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mynacard_authority::AuthorityError;
use mynacard_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// A problem document (RFC 9457 §3), with the stable `code` extension.
/// Serialised with `type` (`/problems/{code}`) and `title` derived from
/// the code, so the value stays small.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The HTTP status.
    pub status: u16,
    /// A stable, machine-readable code (`card_in_use`, `forbidden`, …).
    pub code: String,
    /// What went wrong in this occurrence, for a person.
    pub detail: Option<String>,
    /// Which inputs were wrong, when the request was malformed.
    pub errors: Vec<FieldError>,
}

/// The problem document as sent (and as the OpenAPI schema describes it).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
struct ProblemDocument<'a> {
    /// `/problems/{code}`: a page describing the code.
    #[serde(rename = "type")]
    kind: String,
    /// A short summary of the kind of problem (the same for every occurrence of a code).
    title: String,
    /// The HTTP status.
    status: u16,
    /// What went wrong in this occurrence, for a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    /// A stable, machine-readable code (`card_in_use`, `forbidden`, …).
    code: &'a str,
    /// Which inputs were wrong, when the request was malformed.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ProblemDocument {
            kind: format!("/problems/{}", self.code),
            title: title_of(&self.code, self.status_code()),
            status: self.status,
            detail: self.detail.as_deref(),
            code: &self.code,
            errors: &self.errors,
        }
        .serialize(serializer)
    }
}

impl utoipa::PartialSchema for Problem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <ProblemDocument<'static> as utoipa::PartialSchema>::schema()
    }
}

impl ToSchema for Problem {
    fn name() -> std::borrow::Cow<'static, str> {
        "Problem".into()
    }
}

/// One malformed input.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// The field (JSON pointer-ish: `birth_date`, `pins.auth`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl Problem {
    /// A problem with `status`, `code` and a detail.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem {
            status: status.as_u16(),
            detail: Some(detail.into()),
            code: code.to_owned(),
            errors: Vec::new(),
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    /// 400 naming the field at fault.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Problem {
        let message = message.into();
        let mut p = Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {message}"));
        p.errors.push(FieldError {
            field: field.to_owned(),
            message,
        });
        p
    }

    /// 401: no credentials, or credentials that are not valid.
    pub fn unauthenticated(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }

    /// 403: authenticated, but this role may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 500: the detail is logged, not shown.
    pub fn internal(detail: impl std::fmt::Display) -> Problem {
        tracing::error!(error = %detail, "internal error");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed; the operation was not recorded",
        )
    }

    /// The status.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The title of each code: a fixed summary, so that clients may show it.
fn title_of(code: &str, status: StatusCode) -> String {
    let known = match code {
        "bad_request" => "The request is malformed",
        "invalid_field" => "An input is not valid",
        "unauthenticated" => "Authentication is required",
        "forbidden" => "Not allowed for this role or municipality",
        "csrf" => "The form is stale or did not come from this site",
        "not_found" => "Not found",
        "idempotency_key_required" => "An Idempotency-Key header is required",
        "idempotency_key_reused" => "The Idempotency-Key was used for a different request",
        "conflict" => "The record changed meanwhile",
        "unavailable" => "The service is busy; try again",
        "card_busy" => "The card is busy with another operation; try again",
        "internal" => "The server failed",
        "too_many_attempts" => "Too many failed attempts",
        "method_not_allowed" => "Method not allowed",
        "unsupported_media_type" => "Unsupported media type",
        "payload_too_large" => "The request is too large",
        "demo_only" => "Only in demo mode",
        "login_taken" => "The login is taken",
        "name_taken" => "The name is taken",
        "own_account" => "Not on your own account",
        "constraint" => "The registry refused the record",
        "invalid_idempotency_key" => "The Idempotency-Key is not valid",
        _ => "",
    };
    if known.is_empty() {
        // Rule refusals: the code names the rule; the detail explains it.
        match status {
            StatusCode::CONFLICT => "Refused by the record's state or the rules".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY => "Refused by the rules".to_owned(),
            other => other.canonical_reason().unwrap_or("Error").to_owned(),
        }
    } else {
        known.to_owned()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{\"code\":\"internal\"}".to_vec());
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<AuthorityError> for Problem {
    fn from(e: AuthorityError) -> Problem {
        let code = e.code();
        match &e {
            AuthorityError::Forbidden(_) => Problem::new(StatusCode::FORBIDDEN, "forbidden", e.to_string()),
            AuthorityError::NotFound(_) => Problem::new(StatusCode::NOT_FOUND, code, e.to_string()),
            AuthorityError::Refused { .. } => Problem::new(StatusCode::CONFLICT, code, e.to_string()),
            AuthorityError::BadRequest(_) => Problem::new(StatusCode::BAD_REQUEST, code, e.to_string()),
            AuthorityError::KeyReused(_) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string()),
            AuthorityError::Rule(_) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string()),
            AuthorityError::Store(s) => match s {
                StoreError::Conflict(_) | StoreError::Stale(_) => {
                    Problem::new(StatusCode::CONFLICT, "conflict", e.to_string())
                }
                StoreError::NotFound(_) => Problem::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
                // A registry CHECK or foreign key the request broke: the
                // authority validates first, this is the last line.
                StoreError::Constraint(_) | StoreError::Refused(_) => {
                    tracing::warn!(error = %e, "the registry refused a record");
                    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "constraint", e.to_string())
                }
                StoreError::Busy(_) | StoreError::Serialization(_) | StoreError::Unavailable(_) => {
                    let mut p = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the registry is busy");
                    p.detail = Some("the registry is busy; nothing was recorded, try again".into());
                    p
                }
                _ => Problem::internal(&e),
            },
            AuthorityError::CardBusy(_) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, code, e.to_string()),
            AuthorityError::Ca(_) | AuthorityError::Card(_) => Problem::internal(&e),
        }
    }
}

/// The result of an API handler.
pub type ApiResult<T> = Result<T, Problem>;
