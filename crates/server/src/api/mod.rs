//! The JSON API, `/api/v1`: one module per actor, each with its own
//! authentication (see [`crate::access`]) and its own OpenAPI fragment,
//! merged into `/openapi.json` (OpenAPI 3.1).
//!
//! Conventions, the same everywhere:
//! - errors are RFC 9457 problem documents ([`crate::problem::Problem`])
//!   with a stable `code`;
//! - every call that changes records takes an `Idempotency-Key` header
//!   ([`crate::idempotency`]); the same key with the same request answers
//!   the first answer again, with another request `422
//!   idempotency_key_reused`;
//! - staff authenticate with the session cookie (`POST /api/v1/session`)
//!   and send `X-CSRF-Token` on unsafe calls; machines send
//!   `Authorization: Bearer mnk_…`.
//!
//! Modules: [`session`] (staff login for API clients), [`window`] (窓口),
//! [`hotline`] (コールセンター), [`relying_party`] (certificate
//! verification for registered relying parties), [`admin`] (accounts, API
//! keys, the nightly batch, the demo clock).

pub mod admin;
pub mod hotline;
pub mod relying_party;
pub mod session;
pub mod window;

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as OpenApiDoc, Server};
use utoipa::{Modify, OpenApi};

use crate::problem::Problem;
use crate::state::AppState;

/// The API's routes (mounted under `/api/v1`).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .merge(session::router())
        .merge(window::router())
        .merge(hotline::router())
        .merge(relying_party::router())
        .merge(admin::router())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mynacard",
        description = "The My Number Card system's API: municipal windows (窓口), the 24-hour hotline (コールセンター), relying parties, administration. Errors are RFC 9457 problem documents with a stable `code`; every call that changes records needs an `Idempotency-Key` header.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(crate::ops::healthz, crate::ops::metrics),
    components(schemas(Problem, crate::problem::FieldError)),
    modifiers(&Security),
    tags(
        (name = "session", description = "Staff login for API clients"),
        (name = "window", description = "市区町村窓口: municipal window staff, scoped to their municipality"),
        (name = "hotline", description = "マイナンバー総合フリーダイヤル: suspension at any hour"),
        (name = "relying-party", description = "Registered relying parties: certificate verification"),
        (name = "admin", description = "Administrators: accounts, API keys, the nightly batch, the demo clock"),
        (name = "operations", description = "Health and metrics"),
    )
)]
struct Base;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::access::SESSION_COOKIE,
                "Staff session from POST /api/v1/session; unsafe calls also need the X-CSRF-Token header it returned",
            ))),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("mnk_PREFIX_SECRET")
                    .description(Some("API key of a registered kiosk or relying party"))
                    .build(),
            ),
        );
    }
}

/// The whole OpenAPI 3.1 document.
pub fn openapi() -> OpenApiDoc {
    let mut doc = Base::openapi();
    doc.servers = Some(vec![Server::new("/")]);
    for part in [
        session::openapi(),
        window::openapi(),
        hotline::openapi(),
        relying_party::openapi(),
        admin::openapi(),
    ] {
        doc.merge(part);
    }
    doc
}

/// `Json<T>` whose rejections are problem documents (a malformed body is
/// `400 bad_request` naming what is wrong, a wrong content type `415`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::MissingJsonContentType(_) => Problem::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send Content-Type: application/json",
                ),
                JsonRejection::BytesRejection(_) => Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the body is too large or unreadable",
                ),
                other => Problem::bad_request(other.body_text()),
            }),
        }
    }
}
