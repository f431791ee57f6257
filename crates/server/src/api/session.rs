//! Staff login for API clients: the same session as the web UI's, with
//! its CSRF token returned in the body (send it as `X-CSRF-Token`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::ApiJson;
use crate::access::{self, AnyStaff, LoginFailure, StaffPrincipal};
use crate::problem::Problem;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/session", post(login).get(current).delete(logout))
}

#[derive(OpenApi)]
#[openapi(paths(login, current, logout), components(schemas(Credentials, SessionInfo)))]
struct Doc;

/// This module's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

/// A staff login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The login name.
    #[schema(min_length = 1, max_length = 64)]
    pub login: String,
    /// The password.
    #[schema(min_length = 1, max_length = 128, format = Password)]
    pub password: String,
}

/// The logged-in staff member.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// The login name.
    pub login: String,
    /// The name shown on screen.
    pub display_name: String,
    /// `window`, `hotline` or `admin`.
    pub role: String,
    /// A window clerk's municipality (全国地方公共団体コード).
    pub municipality: Option<String>,
    /// Send this as `X-CSRF-Token` on every call that changes records.
    pub csrf_token: String,
}

impl From<&StaffPrincipal> for SessionInfo {
    fn from(p: &StaffPrincipal) -> SessionInfo {
        SessionInfo {
            login: p.login.clone(),
            display_name: p.display_name.clone(),
            role: p.role.as_str().to_owned(),
            municipality: p.municipality.map(|m| m.to_string()),
            csrf_token: p.csrf_token.clone(),
        }
    }
}

/// Logs in: sets the session cookie and answers the CSRF token.
/// Five wrong passwords in a row lock the account for 15 minutes.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = Credentials,
    responses(
        (status = 200, description = "Logged in; the session cookie is set", body = SessionInfo),
        (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong login or password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Locked after repeated failures", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The registry is busy", body = Problem, content_type = "application/problem+json"),
    ))]
async fn login(State(state): State<Arc<AppState>>, ApiJson(c): ApiJson<Credentials>) -> Response {
    if c.login.is_empty() || c.login.len() > 64 || c.password.is_empty() || c.password.len() > 128 {
        return Problem::unauthenticated("wrong login or password").into_response();
    }
    let db = state.authority.db().clone();
    let outcome = tokio::task::spawn_blocking(move || access::login(&db, &c.login, &c.password)).await;
    match outcome {
        Ok(Ok(opened)) => {
            let cookie = access::session_cookie(&opened.token, state.settings.secure_cookies);
            let mut response = Json(SessionInfo::from(&opened.principal)).into_response();
            if let Ok(v) = cookie.parse() {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Ok(Err(LoginFailure::Invalid)) => Problem::unauthenticated("wrong login or password").into_response(),
        Ok(Err(LoginFailure::Unavailable)) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the registry is busy; try again",
        )
        .into_response(),
        Ok(Err(LoginFailure::Locked(until))) => Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("the account is locked until {}", until.format("%Y-%m-%dT%H:%M:%SZ")),
        )
        .into_response(),
        Err(e) => Problem::internal(e).into_response(),
    }
}

/// Who is logged in.
#[utoipa::path(get, path = "/api/v1/session", tag = "session", security(("session" = [])),
    responses(
        (status = 200, description = "The session's staff member", body = SessionInfo),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    ))]
async fn current(AnyStaff(staff): AnyStaff) -> Json<SessionInfo> {
    Json(SessionInfo::from(&staff))
}

/// Logs out.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", security(("session" = [])),
    params(("X-CSRF-Token" = String, Header, description = "The session's CSRF token")),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Missing or wrong CSRF token", body = Problem, content_type = "application/problem+json"),
    ))]
async fn logout(State(state): State<Arc<AppState>>, AnyStaff(staff): AnyStaff) -> Response {
    let db = state.authority.db().clone();
    let _ = tokio::task::spawn_blocking(move || access::logout(&db, &staff.session)).await;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = access::clear_session_cookie().parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}
