//! Who may do what: staff sessions, machine API keys, CSRF.
//!
//! - **Staff** (window clerks scoped to one municipality, hotline
//!   operators, administrators) log in with a password (argon2id, OWASP's
//!   parameters) and get a session: a random 256-bit token in an HttpOnly,
//!   SameSite=Strict cookie, stored only as its SHA-256. A session ends
//!   after [`SESSION_IDLE`] without use or [`SESSION_MAX`] in all; five
//!   wrong passwords lock the account for [`LOCKOUT`]. Every session has a
//!   CSRF token: forms carry it as `_csrf`, API calls made with the cookie
//!   as `X-CSRF-Token`.
//! - **Machines** (convenience-store kiosks, relying parties) present an
//!   API key, `Authorization: Bearer mnk_PREFIX_SECRET`; the registry keeps
//!   the prefix and the SHA-256 of the whole key (256 random bits: a fast
//!   hash is enough), compared in constant time.
//! - **Residents** authenticate only with their card (the portal, later).
//!
//! Sessions and keys run on real time, not the demo's simulated clock: a
//! demo that moves the date a month on must not log its clerk out, and a
//! fixed clock must not keep a session alive for ever.
//!
//! Role checks are extractors ([`WindowClerk`], [`HotlineOperator`],
//! [`Administrator`], [`Kiosk`], [`RelyingParty`]): a handler that takes
//! one cannot run for anybody else. The municipality scope is then the
//! authority's: every operation takes the [`Actor`] these produce.

use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use mynacard_authority::Actor;
use mynacard_rules::numbers::MunicipalityCode;
use mynacard_store::access::{self as store, ApiKey, ApiKeyKind, StaffAccount, StaffRole, StaffSession};
use mynacard_store::{Database, StoreError};

use crate::problem::Problem;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "mynacard_session";
/// A session ends after this long without a request.
pub const SESSION_IDLE: TimeDelta = TimeDelta::minutes(30);
/// A session ends this long after login, used or not.
pub const SESSION_MAX: TimeDelta = TimeDelta::hours(12);
/// Wrong passwords in a row before the account is locked.
pub const MAX_FAILED_LOGINS: i64 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT: TimeDelta = TimeDelta::minutes(15);
/// The prefix of every API key.
pub const API_KEY_PREFIX: &str = "mnk_";

/// argon2id with OWASP's minimum (19 MiB, 2 passes, 1 lane).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (argon2id, random salt).
pub fn hash_password(password: &str) -> Result<String, Problem> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Problem::internal)
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => argon2().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// The rules for a new password: 12 to 128 characters.
pub fn check_new_password(password: &str) -> Result<(), Problem> {
    let n = password.chars().count();
    if !(12..=128).contains(&n) {
        return Err(Problem::invalid_field("password", "12 to 128 characters"));
    }
    Ok(())
}

/// `n` random bytes, base64url.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // aws-lc's RNG does not fail on a working system; an all-zero token
    // would only be weaker, and the call is checked.
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        tracing::error!("the system RNG failed");
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Hex SHA-256.
pub fn sha256_hex(text: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// A staff member with a live session.
#[derive(Debug, Clone)]
pub struct StaffPrincipal {
    /// The account.
    pub account_id: i64,
    /// The login name.
    pub login: String,
    /// The name shown on screen.
    pub display_name: String,
    /// What the account may do.
    pub role: StaffRole,
    /// A window clerk's municipality.
    pub municipality: Option<MunicipalityCode>,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// The session's token hash (for logout).
    pub session: String,
}

impl StaffPrincipal {
    /// The actor the authority records for this person.
    pub fn actor(&self) -> Actor {
        match (self.role, self.municipality) {
            (StaffRole::Window, Some(code)) => Actor::window(format!("staff:{}", self.login), code),
            (StaffRole::Hotline, _) => Actor::hotline(format!("hotline:{}", self.login)),
            // An administrator acts as the system (batch, demo clock) and
            // never on a resident through the window operations, which
            // require a WindowClerk. A window account without a
            // municipality cannot exist (the registry's CHECK).
            _ => Actor::system(&format!("admin:{}", self.login)),
        }
    }

    /// The prefix that scopes this person's idempotency keys.
    pub fn key_scope(&self) -> String {
        format!("staff:{}", self.account_id)
    }
}

/// Why a login failed (the client is told only "wrong login or password",
/// or that the account is locked).
#[derive(Debug)]
pub enum LoginFailure {
    /// Wrong login or password, or a disabled account.
    Invalid,
    /// Too many failures: locked until then.
    Locked(DateTime<Utc>),
    /// The registry did not answer (busy or down): nothing was decided.
    Unavailable,
}

/// A session just opened: the token goes in the cookie, once.
#[derive(Debug)]
pub struct OpenedSession {
    /// The cookie value.
    pub token: String,
    /// Who logged in.
    pub principal: StaffPrincipal,
}

fn principal(account: &StaffAccount, session: &StaffSession) -> StaffPrincipal {
    StaffPrincipal {
        account_id: account.id,
        login: account.login.clone(),
        display_name: account.display_name.clone(),
        role: account.role,
        municipality: account.municipality,
        csrf_token: session.csrf_token.clone(),
        session: session.token_hash.clone(),
    }
}

/// Checks a password and opens a session (blocking: argon2 and the registry).
pub fn login(db: &Database, login: &str, password: &str) -> Result<OpenedSession, LoginFailure> {
    let now = Utc::now();
    // What is logged of the login typed: a bounded, printable prefix.
    let login_logged: String = login.chars().filter(|c| !c.is_control()).take(64).collect();
    let account = db
        .read(|tx| store::staff_account_by_login(tx, login))
        .map_err(|_| LoginFailure::Unavailable)?;
    let Some(account) = account else {
        tracing::info!(login = %login_logged, reason = "unknown login", "staff login refused");
        // Spend the same time as a real check, so that timing does not
        // tell which logins exist.
        let _ = verify_password(DUMMY_HASH, password);
        return Err(LoginFailure::Invalid);
    };
    if let Some(until) = account.locked_until {
        if until > now {
            tracing::info!(login = %login_logged, reason = "locked", "staff login refused");
            return Err(LoginFailure::Locked(until));
        }
    }
    if account.disabled || !verify_password(&account.password_hash, password) {
        // The count is read again in the transaction that raises it, so
        // that failures sent in parallel all count; a lock that ran out
        // starts the count afresh.
        let lock = db
            .transaction(|tx| {
                let Some(fresh) = store::staff_account(tx, account.id)? else {
                    return Ok(None);
                };
                let before = match fresh.locked_until {
                    Some(until) if until <= now => {
                        store::record_login_success(tx, account.id)?;
                        0
                    }
                    _ => fresh.failed_logins,
                };
                let lock = (before + 1 >= MAX_FAILED_LOGINS).then(|| now + LOCKOUT);
                store::record_login_failure(tx, account.id, lock)?;
                Ok::<_, mynacard_store::StoreError>(lock)
            })
            .map_err(|_| LoginFailure::Unavailable)?;
        let reason = if account.disabled { "disabled" } else { "wrong password" };
        tracing::info!(login = %login_logged, reason, locked = lock.is_some(), "staff login refused");
        return Err(match lock {
            Some(until) => LoginFailure::Locked(until),
            None => LoginFailure::Invalid,
        });
    }
    let token = random_token(32);
    let session = StaffSession {
        token_hash: sha256_hex(&token),
        account_id: account.id,
        csrf_token: random_token(24),
        created_at: now,
        expires_at: now + SESSION_IDLE,
        last_seen_at: now,
    };
    db.transaction(|tx| {
        store::record_login_success(tx, account.id)?;
        store::delete_expired_staff_sessions(tx, now)?;
        store::insert_staff_session(tx, &session)
    })
    .map_err(|_| LoginFailure::Unavailable)?;
    tracing::info!(login = %login_logged, role = account.role.as_str(), "staff login");
    Ok(OpenedSession {
        principal: principal(&account, &session),
        token,
    })
}

/// A PHC string of a password nobody has, for constant-time refusals.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$W6cMsYmiNkSBHJu2T3Vv1hQ8qRIpS1uW0mQ2gn6AkfE";

/// The staff member whose session `token` is, if it is live; extends it.
pub fn session_principal(db: &Database, token: &str) -> Option<StaffPrincipal> {
    find_session(db, token).ok().flatten()
}

/// As [`session_principal`], telling a registry that does not answer
/// (`Err`: try again) from a session that has ended (`Ok(None)`: log in).
pub fn find_session(db: &Database, token: &str) -> Result<Option<StaffPrincipal>, StoreError> {
    let now = Utc::now();
    let hash = sha256_hex(token);
    let found = db.read(|tx| {
        let Some(session) = store::staff_session(tx, &hash)? else {
            return Ok::<_, StoreError>(None);
        };
        let account = store::staff_account(tx, session.account_id)?;
        Ok(account.map(|a| (session, a)))
    })?;
    let Some((session, account)) = found else {
        return Ok(None);
    };
    if session.expires_at <= now || session.created_at + SESSION_MAX <= now || account.disabled {
        return Ok(None);
    }
    // Extend the idle deadline at most once a minute (one write, not one per request).
    if now - session.last_seen_at > TimeDelta::minutes(1) {
        let expires = (now + SESSION_IDLE).min(session.created_at + SESSION_MAX);
        let _ = db.transaction(|tx| store::touch_staff_session(tx, &hash, now, expires));
    }
    Ok(Some(principal(&account, &session)))
}

/// Ends a session.
pub fn logout(db: &Database, session_hash: &str) {
    let _ = db.transaction(|tx| store::delete_staff_session(tx, session_hash));
}

/// A new API key, `mnk_PREFIX_SECRET` (the prefix 8 alphanumerics, no
/// `_`, which separates it from the 256-bit secret), and what the registry
/// keeps of it: the prefix and the SHA-256 of the whole key. The whole key
/// is shown once and never stored.
pub fn new_api_key(name: &str, kind: ApiKeyKind, municipality: Option<MunicipalityCode>) -> (String, store::NewApiKey) {
    let prefix: String = random_token(9)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(8)
        .collect();
    let prefix = format!("{prefix:0<8}");
    let key = format!("{API_KEY_PREFIX}{prefix}_{}", random_token(32));
    let new = store::NewApiKey {
        name: name.to_owned(),
        kind,
        prefix,
        key_hash: sha256_hex(&key),
        municipality,
    };
    (key, new)
}

/// The live API key `presented` is, if any.
pub fn api_key(db: &Database, presented: &str) -> Option<ApiKey> {
    find_api_key(db, presented).ok().flatten()
}

/// As [`api_key`], telling a registry that does not answer (`Err`) from a
/// key that is not valid (`Ok(None)`).
pub fn find_api_key(db: &Database, presented: &str) -> Result<Option<ApiKey>, StoreError> {
    let Some((prefix, _)) = presented
        .strip_prefix(API_KEY_PREFIX)
        .and_then(|rest| rest.split_once('_'))
    else {
        return Ok(None);
    };
    let Some(key) = db.read(|tx| store::api_key_by_prefix(tx, prefix))? else {
        return Ok(None);
    };
    Ok((key.revoked_at.is_none() && constant_time_eq(&key.key_hash, &sha256_hex(presented))).then_some(key))
}

/// The refusal when the registry does not answer an authentication.
fn registry_unavailable(parts: &Parts) -> Refusal {
    Refusal::new(
        parts,
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the registry is busy; nothing was done, try again",
        ),
    )
}

/// The value of cookie `name`.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` value for a new session.
pub fn session_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_MAX.num_seconds()
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Whether a request is for the web UI (HTML answers) rather than the API.
fn is_web(parts: &Parts) -> bool {
    !full_uri(parts).path().starts_with("/api/")
}

/// The request's URI as sent (inside a nested router `parts.uri` lacks
/// the prefix).
fn full_uri(parts: &Parts) -> &axum::http::Uri {
    parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map(|o| &o.0)
        .unwrap_or(&parts.uri)
}

/// A refused request: a problem document for the API, a redirect to the
/// login page or an error page for the browser.
#[derive(Debug)]
pub struct Refusal {
    problem: Problem,
    web: bool,
    path: String,
    lang: crate::web::Lang,
    /// Who was refused, when known (the page keeps their navigation).
    staff: Option<StaffPrincipal>,
    /// What to tell a person, in Japanese and English.
    message: Option<(&'static str, &'static str)>,
}

impl Refusal {
    fn new(parts: &Parts, problem: Problem) -> Refusal {
        Refusal {
            problem,
            web: is_web(parts),
            path: full_uri(parts)
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            lang: match cookie(parts, crate::web::LANG_COOKIE) {
                Some("en") => crate::web::Lang::En,
                _ => crate::web::Lang::Ja,
            },
            staff: None,
            message: None,
        }
    }

    /// A staff member refused for their role: the page says whose it is.
    fn for_role(parts: &Parts, staff: StaffPrincipal, ja: &'static str, en: &'static str) -> Refusal {
        let mut refusal = Refusal::new(parts, Problem::forbidden(en));
        refusal.staff = Some(staff);
        refusal.message = Some((ja, en));
        refusal
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        if !self.web {
            return self.problem.into_response();
        }
        if self.problem.status_code() == StatusCode::UNAUTHORIZED {
            let next = crate::web::encode_query_value(&self.path);
            return Redirect::to(&format!("/login?next={next}")).into_response();
        }
        let ctx = crate::web::PageContext {
            lang: self.lang,
            staff: self.staff,
            demo: false,
            today: None,
            path: self.path,
        };
        crate::web::problem_page_in(&ctx, &self.problem, self.message)
    }
}

/// The staff member behind the request's session cookie. Unsafe API
/// calls must also carry the session's CSRF token in `X-CSRF-Token`
/// (forms are checked by [`CsrfForm`]).
///
/// The principal is kept in the request's extensions, so that a second
/// extractor of the same request (a role and a form) reads the session once.
async fn staff(parts: &mut Parts, state: &Arc<AppState>) -> Result<StaffPrincipal, Refusal> {
    if let Some(p) = parts.extensions.get::<StaffPrincipal>() {
        return Ok(p.clone());
    }
    let Some(token) = cookie(parts, SESSION_COOKIE).map(str::to_owned) else {
        return Err(Refusal::new(parts, Problem::unauthenticated("log in first")));
    };
    let db = state.authority.db().clone();
    let found = match tokio::task::spawn_blocking(move || find_session(&db, &token)).await {
        Ok(Ok(found)) => found,
        _ => return Err(registry_unavailable(parts)),
    };
    let Some(principal) = found else {
        return Err(Refusal::new(
            parts,
            Problem::unauthenticated("the session has ended; log in again"),
        ));
    };
    let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method && !is_web(parts) {
        let sent = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !constant_time_eq(sent, &principal.csrf_token) {
            return Err(Refusal::new(
                parts,
                Problem::new(StatusCode::FORBIDDEN, "csrf", "X-CSRF-Token is missing or wrong"),
            ));
        }
    }
    parts.extensions.insert(principal.clone());
    Ok(principal)
}

/// The API key behind `Authorization: Bearer …`.
async fn machine(parts: &Parts, state: &Arc<AppState>) -> Result<ApiKey, Refusal> {
    let presented = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_owned());
    let Some(presented) = presented else {
        return Err(Refusal::new(
            parts,
            Problem::unauthenticated("an API key is required (Authorization: Bearer mnk_…)"),
        ));
    };
    let db = state.authority.db().clone();
    let key = match tokio::task::spawn_blocking(move || find_api_key(&db, &presented)).await {
        Ok(Ok(key)) => key,
        _ => return Err(registry_unavailable(parts)),
    };
    key.ok_or_else(|| Refusal::new(parts, Problem::unauthenticated("the API key is not valid")))
}

macro_rules! staff_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr, $ja:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub StaffPrincipal);

        impl FromRequestParts<Arc<AppState>> for $name {
            type Rejection = Refusal;

            async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
                let p = staff(parts, state).await?;
                if p.role != $role {
                    return Err(Refusal::for_role(parts, p, $ja, $what));
                }
                Ok($name(p))
            }
        }
    };
}

staff_extractor!(
    /// 窓口職員: a window clerk of one municipality.
    WindowClerk,
    StaffRole::Window,
    "この画面・操作は市区町村窓口の職員のみが利用できます。",
    "Only municipal window staff may use this."
);
staff_extractor!(
    /// コールセンター: a hotline operator.
    HotlineOperator,
    StaffRole::Hotline,
    "この画面・操作はコールセンターのオペレーターのみが利用できます。",
    "Only hotline operators may use this."
);
staff_extractor!(
    /// An administrator: accounts, API keys, the batch, the demo clock.
    Administrator,
    StaffRole::Admin,
    "この画面・操作は管理者のみが利用できます。",
    "Only administrators may use this."
);

/// Any logged-in staff member.
#[derive(Debug, Clone)]
pub struct AnyStaff(pub StaffPrincipal);

impl FromRequestParts<Arc<AppState>> for AnyStaff {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        staff(parts, state).await.map(AnyStaff)
    }
}

/// Any logged-in staff member, or nobody (pages that show a login link).
#[derive(Debug, Clone)]
pub struct MaybeStaff(pub Option<StaffPrincipal>);

impl FromRequestParts<Arc<AppState>> for MaybeStaff {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        Ok(MaybeStaff(staff(parts, state).await.ok()))
    }
}

macro_rules! machine_extractor {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub ApiKey);

        impl FromRequestParts<Arc<AppState>> for $name {
            type Rejection = Refusal;

            async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
                let key = machine(parts, state).await?;
                if key.kind != $kind {
                    return Err(Refusal::new(parts, Problem::forbidden(concat!("only ", $what))));
                }
                Ok($name(key))
            }
        }
    };
}

machine_extractor!(
    /// A registered convenience-store kiosk (マルチコピー機).
    Kiosk, ApiKeyKind::Kiosk, "registered kiosks");
machine_extractor!(
    /// A registered relying party (署名検証者 / 利用者証明検証者).
    RelyingParty, ApiKeyKind::RelyingParty, "registered relying parties");

/// A form posted from one of our pages: its `_csrf` field must be the
/// session's token (or, before login, the login form's own cookie token).
/// `T` is the rest of the form.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

/// The cookie that carries the login form's CSRF token (no session yet).
pub const LOGIN_CSRF_COOKIE: &str = "mynacard_login_csrf";

impl<T> FromRequest<Arc<AppState>> for CsrfForm<T>
where
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let expected = match staff(&mut parts, state).await {
            Ok(p) => p.csrf_token,
            // Only the login form is posted without a session; anywhere
            // else an ended session sends the browser to the login page.
            Err(refusal) if full_uri(&parts).path() != "/login" => return Err(refusal),
            Err(_) => cookie(&parts, LOGIN_CSRF_COOKIE).unwrap_or("").to_owned(),
        };
        let bytes = axum::body::to_bytes(body, crate::web::MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                Refusal::new(
                    &parts,
                    Problem::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "the form is too large",
                    ),
                )
            })?;
        // Only the `_csrf` field is decoded here (the form may carry PINs:
        // they are not copied on the way).
        let sent = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if expected.is_empty() || !constant_time_eq(&sent, &expected) {
            return Err(Refusal::new(
                &parts,
                Problem::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "the form is stale or did not come from this site; reload the page and try again",
                ),
            ));
        }
        let value = serde_html_form::from_bytes::<T>(&bytes)
            .map_err(|e| Refusal::new(&parts, Problem::bad_request(format!("the form: {e}"))))?;
        Ok(CsrfForm(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "correct horse batterY"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash_so_unknown_logins_cost_the_same() {
        // If it did not parse, a login for an unknown name would answer at
        // once and tell which logins exist.
        let parsed = PasswordHash::new(DUMMY_HASH).expect("the dummy hash parses");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert!(!verify_password(DUMMY_HASH, "anything"));
    }

    #[test]
    fn new_passwords_need_twelve_characters_and_tokens_are_random() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("twelve chars").is_ok());
        assert_eq!(sha256_hex("abc").len(), 64);
        assert_ne!(random_token(32), random_token(32));
    }
}
