//! Administration (`/api/v1/admin`, administrators only): staff accounts,
//! the API keys of kiosks and relying parties, the nightly batch, and in
//! demo mode the clock.
//!
//! Why it looks like this:
//!
//! - **Same checks as the CLI.** Account and key changes go through
//!   [`crate::bootstrap`], which `mynacard staff` and `mynacard api-key`
//!   use too, each change audited in its own transaction.
//! - **Idempotent like the authority's operations.** Every `POST` takes an
//!   `Idempotency-Key` (scoped by the administrator's account); the
//!   change and its answer are recorded in the registry's idempotency
//!   table in one transaction, so a retry answers the first answer and acts
//!   once, and the key with another request is `422`. Two exceptions,
//!   both for secrets: the password of a new account is not part of the
//!   request's fingerprint (a fast hash of it would be a guessable copy),
//!   and a new API key is shown once — a retry answers its record
//!   without the key (`200` instead of `201`), since the key itself is
//!   stored nowhere.
//! - **Disabling ends the sessions.** A disabled account's session stops
//!   working at its next request (the extractor checks the flag) and its
//!   session rows are deleted.
//! - **The clock moves only in demo mode**: outside it `/admin/clock` is
//!   `404 demo_only`, as if it did not exist.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use mynacard_authority::batch::{BatchReport, StepOutcome};
use mynacard_authority::Clock;
use mynacard_store::access::{self as store, ApiKey, ApiKeyKind, StaffAccount, StaffRole};
use mynacard_store::{audit, idempotency, Database, Tx};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{OpenApi, ToSchema};

use super::ApiJson;
use crate::access::{self, Administrator, StaffPrincipal};
use crate::bootstrap::{self, AccountRequest, TxProblem};
use crate::idempotency::IdempotencyKey;
use crate::problem::Problem;
use crate::state::AppState;

/// The routes (relative to `/api/v1`).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/accounts", get(list_accounts).post(create_account))
        .route("/admin/accounts/{id}/disable", post(disable_account))
        .route("/admin/accounts/{id}/enable", post(enable_account))
        .route("/admin/api-keys", get(list_api_keys).post(create_api_key))
        .route("/admin/api-keys/{id}/revocation", post(revoke_api_key))
        .route("/admin/batch", post(run_batch))
        .route("/admin/clock", get(clock))
        .route("/admin/clock/advance", post(advance_clock))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list_accounts,
        create_account,
        disable_account,
        enable_account,
        list_api_keys,
        create_api_key,
        revoke_api_key,
        run_batch,
        clock,
        advance_clock
    ),
    components(schemas(
        Role,
        KeyKind,
        Account,
        AccountList,
        NewAccount,
        AccountChange,
        ApiKeyInfo,
        ApiKeyList,
        NewApiKey,
        CreatedApiKey,
        BatchRun,
        BatchStepRun,
        ClockInfo,
        ClockAdvance
    ))
)]
struct Doc;

/// This module's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

// ------------------------------------------------------------------ types

/// What a staff member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = admin::Role)]
pub enum Role {
    /// 窓口: a window clerk of one municipality.
    Window,
    /// コールセンター: a hotline operator.
    Hotline,
    /// An administrator.
    Admin,
}

impl From<Role> for StaffRole {
    fn from(r: Role) -> StaffRole {
        match r {
            Role::Window => StaffRole::Window,
            Role::Hotline => StaffRole::Hotline,
            Role::Admin => StaffRole::Admin,
        }
    }
}

impl From<StaffRole> for Role {
    fn from(r: StaffRole) -> Role {
        match r {
            StaffRole::Window => Role::Window,
            StaffRole::Hotline => Role::Hotline,
            StaffRole::Admin => Role::Admin,
        }
    }
}

/// Who holds an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = admin::KeyKind)]
pub enum KeyKind {
    /// A convenience-store kiosk (コンビニ交付端末).
    Kiosk,
    /// A relying party (署名検証者・利用者証明検証者).
    RelyingParty,
}

impl From<KeyKind> for ApiKeyKind {
    fn from(k: KeyKind) -> ApiKeyKind {
        match k {
            KeyKind::Kiosk => ApiKeyKind::Kiosk,
            KeyKind::RelyingParty => ApiKeyKind::RelyingParty,
        }
    }
}

impl From<ApiKeyKind> for KeyKind {
    fn from(k: ApiKeyKind) -> KeyKind {
        match k {
            ApiKeyKind::Kiosk => KeyKind::Kiosk,
            ApiKeyKind::RelyingParty => KeyKind::RelyingParty,
        }
    }
}

/// A staff account (never its password or its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = admin::Account)]
pub struct Account {
    /// The account's id.
    pub id: i64,
    /// The login name.
    pub login: String,
    /// The name shown on screen and in the audit trail.
    pub display_name: String,
    /// What the account may do.
    pub role: Role,
    /// A window clerk's municipality (全国地方公共団体コード).
    pub municipality: Option<String>,
    /// Whether logging in is refused.
    pub disabled: bool,
    /// Until when logging in is refused after repeated wrong passwords.
    pub locked_until: Option<DateTime<Utc>>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl From<&StaffAccount> for Account {
    fn from(a: &StaffAccount) -> Account {
        Account {
            id: a.id,
            login: a.login.clone(),
            display_name: a.display_name.clone(),
            role: a.role.into(),
            municipality: a.municipality.map(|m| m.to_string()),
            disabled: a.disabled,
            locked_until: a.locked_until,
            created_at: a.created_at,
        }
    }
}

/// Every staff account, by login.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = admin::AccountList)]
pub struct AccountList {
    /// The accounts.
    pub accounts: Vec<Account>,
}

/// A new staff account. No `Debug`: it holds the password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = admin::NewAccount)]
pub struct NewAccount {
    /// The login name: 3–64 of `a-z 0-9 . _ -`, unique.
    #[schema(min_length = 3, max_length = 64, pattern = "^[a-z0-9._-]{3,64}$")]
    pub login: String,
    /// The name shown (1–100 characters).
    #[schema(min_length = 1, max_length = 100)]
    pub display_name: String,
    /// What the account may do.
    pub role: Role,
    /// The municipality (6 digits with the check digit): required for
    /// `window`, absent for the other roles.
    #[schema(pattern = "^[0-9]{6}$")]
    #[serde(default)]
    pub municipality: Option<String>,
    /// The password: 12 to 128 characters (stored as argon2id).
    #[schema(min_length = 12, max_length = 128, format = Password)]
    pub password: String,
}

/// An account after a change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = admin::AccountChange)]
pub struct AccountChange {
    /// The account as it now is.
    pub account: Account,
    /// Sessions ended by this change (disabling ends them all).
    pub sessions_ended: u64,
}

/// An API key's record (never the key, never its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = admin::ApiKeyInfo)]
pub struct ApiKeyInfo {
    /// The key's id.
    pub id: i64,
    /// Its unique name (`lawson-shinjuku-01`).
    pub name: String,
    /// Who holds it.
    pub kind: KeyKind,
    /// The key's public prefix (`mnk_PREFIX_…`), to recognise it.
    pub prefix: String,
    /// The only municipality the key may act for, if limited.
    pub municipality: Option<String>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked key opens nothing.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&ApiKey> for ApiKeyInfo {
    fn from(k: &ApiKey) -> ApiKeyInfo {
        ApiKeyInfo {
            id: k.id,
            name: k.name.clone(),
            kind: k.kind.into(),
            prefix: k.prefix.clone(),
            municipality: k.municipality.map(|m| m.to_string()),
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// Every API key, revoked ones included, by name.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = admin::ApiKeyList)]
pub struct ApiKeyList {
    /// The keys.
    pub api_keys: Vec<ApiKeyInfo>,
}

/// A new API key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = admin::NewApiKey)]
pub struct NewApiKey {
    /// A unique name: 1–64 of `A-Z a-z 0-9 . _ -`.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub name: String,
    /// Who will hold it.
    pub kind: KeyKind,
    /// Limit the key to one municipality (6 digits with the check digit).
    #[schema(pattern = "^[0-9]{6}$")]
    #[serde(default)]
    pub municipality: Option<String>,
}

/// A key just issued.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = admin::CreatedApiKey)]
pub struct CreatedApiKey {
    /// The whole key, `mnk_PREFIX_SECRET`, shown this once (send it as
    /// `Authorization: Bearer …`). Absent when a retry with the same
    /// Idempotency-Key answers again: the key is stored nowhere, so
    /// revoke the key and issue another if the first answer was lost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Its record.
    pub api_key: ApiKeyInfo,
}

/// One step of a batch run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = admin::BatchStepRun)]
pub struct BatchStepRun {
    /// `reconcile`, `lapses`, `card_expiries`, `certificate_expiries`,
    /// `card_notices`, `certificate_notices`, `idempotency_purge`.
    pub step: String,
    /// `ran`, `resumed` or `already_done`.
    pub outcome: String,
    /// What it changed in this run.
    pub count: u64,
}

/// What a run of the nightly batch did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = admin::BatchRun)]
pub struct BatchRun {
    /// The day it ran for.
    pub date: NaiveDate,
    /// Leftovers reconciled.
    pub reconciled: u64,
    /// Cards lapsed (失効).
    pub lapsed: u64,
    /// Cards expired.
    pub cards_expired: u64,
    /// Certificates expired.
    pub certificates_expired: u64,
    /// 有効期限通知書 for cards queued.
    pub card_notices: u64,
    /// 有効期限通知書 for certificates queued.
    pub certificate_notices: u64,
    /// Idempotency records purged.
    pub idempotency_purged: u64,
    /// Every step, in order.
    pub steps: Vec<BatchStepRun>,
}

impl From<&BatchReport> for BatchRun {
    fn from(r: &BatchReport) -> BatchRun {
        BatchRun {
            date: r.date,
            reconciled: r.reconciled,
            lapsed: r.lapsed,
            cards_expired: r.cards_expired,
            certificates_expired: r.certificates_expired,
            card_notices: r.card_notices,
            certificate_notices: r.certificate_notices,
            idempotency_purged: r.idempotency_purged,
            steps: r
                .steps
                .iter()
                .map(|s| BatchStepRun {
                    step: s.step.as_str().to_owned(),
                    outcome: match s.outcome {
                        StepOutcome::Ran => "ran",
                        StepOutcome::Resumed => "resumed",
                        StepOutcome::AlreadyDone => "already_done",
                    }
                    .to_owned(),
                    count: s.count,
                })
                .collect(),
        }
    }
}

/// The system's clock.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = admin::ClockInfo)]
pub struct ClockInfo {
    /// Now, on the clock the authority runs on.
    pub now: DateTime<Utc>,
    /// Today in Japan.
    pub today: NaiveDate,
    /// Whether the clock stands still (`--today`).
    pub fixed: bool,
    /// Whether it differs from the system clock (fixed or moved).
    pub simulated: bool,
}

/// How far to move the demo's clock.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = admin::ClockAdvance)]
pub struct ClockAdvance {
    /// Days forward: 1 to 3650.
    #[schema(minimum = 1, maximum = 3650)]
    pub days: i64,
}

// ------------------------------------------------------------ idempotency

/// Runs `act` once per `key`: in one transaction, answers the response
/// stored under the key for the same request, or acts and stores the
/// answer. Answers whether the answer was a replay.
fn once<T, F>(
    db: &Database,
    key: &str,
    operation: &str,
    request: &[u8],
    at: DateTime<Utc>,
    mut act: F,
) -> Result<(T, bool), Problem>
where
    T: Serialize + DeserializeOwned,
    F: FnMut(&mut Tx<'_>) -> Result<T, TxProblem>,
{
    let hash = idempotency::request_hash(operation, request);
    db.transaction(|tx| {
        if let Some(stored) = idempotency::lookup(tx, key, operation, &hash)? {
            let earlier = serde_json::from_str(&stored).map_err(Problem::internal)?;
            return Ok((earlier, true));
        }
        let done = act(tx)?;
        let text = serde_json::to_string(&done).map_err(Problem::internal)?;
        idempotency::store(tx, key, operation, &hash, &text, at)?;
        Ok((done, false))
    })
    .map_err(|TxProblem(p)| p)
}

/// The answer stored under `key` for this request, if any (for work that
/// cannot run inside the registry transaction: the batch, the clock).
fn replayed<T: DeserializeOwned>(
    db: &Database,
    key: &str,
    operation: &str,
    request: &[u8],
) -> Result<Option<T>, Problem> {
    let hash = idempotency::request_hash(operation, request);
    let stored = db
        .read(|tx| idempotency::lookup(tx, key, operation, &hash))
        .map_err(bootstrap::store_problem)?;
    stored
        .map(|text| serde_json::from_str(&text).map_err(Problem::internal))
        .transpose()
}

/// Records the answer of work done outside the transaction (and its
/// audit entry), unless a concurrent request with the key did first, in
/// which case its answer is answered.
fn record_after<T: Serialize + DeserializeOwned>(
    db: &Database,
    key: &str,
    operation: &str,
    request: &[u8],
    at: DateTime<Utc>,
    done: T,
    entry: audit::AuditEntry,
) -> Result<T, Problem> {
    let hash = idempotency::request_hash(operation, request);
    let text = serde_json::to_string(&done).map_err(Problem::internal)?;
    let earlier = db
        .transaction(|tx| {
            if let Some(stored) = idempotency::lookup(tx, key, operation, &hash)? {
                return Ok(Some(stored));
            }
            audit::append(tx, &entry)?;
            idempotency::store(tx, key, operation, &hash, &text, at)?;
            Ok::<_, TxProblem>(None)
        })
        .map_err(|TxProblem(p)| p)?;
    match earlier {
        Some(stored) => serde_json::from_str(&stored).map_err(Problem::internal),
        None => Ok(done),
    }
}

/// Runs blocking work on the blocking pool.
async fn blocking<T, F>(f: F) -> Result<T, Problem>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, Problem> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(Problem::internal(format!("the task failed: {e}"))))
}

/// The id in the path: a positive integer.
fn id_in_path(path: Result<Path<String>, PathRejection>, what: &str) -> Result<i64, Problem> {
    let Path(text) = path.map_err(|e| Problem::bad_request(e.body_text()))?;
    match text.parse::<i64>() {
        Ok(id) if id >= 1 => Ok(id),
        _ => Err(Problem::invalid_field(
            "id",
            format!("the {what}'s id: a positive integer"),
        )),
    }
}

fn actor_name(admin: &StaffPrincipal) -> String {
    admin.actor().id
}

fn now(state: &AppState) -> DateTime<Utc> {
    state.clock.now()
}

// --------------------------------------------------------------- accounts

/// Every staff account, by login (never a password or its hash).
#[utoipa::path(get, path = "/api/v1/admin/accounts", tag = "admin", security(("session" = [])),
    responses(
        (status = 200, description = "The accounts", body = AccountList),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_accounts(
    State(state): State<Arc<AppState>>,
    Administrator(_): Administrator,
) -> Result<Json<AccountList>, Problem> {
    let db = state.authority.db().clone();
    let accounts = blocking(move || db.read(store::list_staff_accounts).map_err(bootstrap::store_problem)).await?;
    Ok(Json(AccountList {
        accounts: accounts.iter().map(Account::from).collect(),
    }))
}

/// Creates a staff account (audited as `staff.create`). The password is
/// hashed with argon2id and never shown again.
#[utoipa::path(post, path = "/api/v1/admin/accounts", tag = "admin", security(("session" = [])),
    request_body = NewAccount,
    params(
        ("Idempotency-Key" = String, Header, description = "A new random value per account; the same value when retrying (the password is not part of the request's fingerprint)", min_length = 1, max_length = 100, pattern = "^[A-Za-z0-9._:-]{1,100}$"),
        ("X-CSRF-Token" = String, Header, description = "The session's CSRF token"),
    ),
    responses(
        (status = 201, description = "Created (or, for a retry with the same key, created before)", body = Account),
        (status = 400, description = "Malformed request, or no Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator, or a missing or wrong CSRF token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The login is taken (`login_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_account(
    State(state): State<Arc<AppState>>,
    Administrator(admin): Administrator,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<NewAccount>,
) -> Result<(StatusCode, Json<Account>), Problem> {
    let request = AccountRequest::parse(
        &body.login,
        &body.display_name,
        body.role.into(),
        body.municipality.as_deref(),
    )?;
    access::check_new_password(&body.password)?;
    let db = state.authority.db().clone();
    let scoped = key.scoped(&admin.key_scope());
    let actor = actor_name(&admin);
    let at = now(&state);
    // The fingerprint leaves the password out (see the module's doc).
    let fingerprint = serde_json::to_vec(&json!({
        "login": request.login,
        "display_name": request.display_name,
        "role": request.role.as_str(),
        "municipality": request.municipality.map(|m| m.to_string()),
    }))
    .map_err(Problem::internal)?;
    let password = zeroize::Zeroizing::new(body.password);
    let (account, _) = blocking(move || {
        let hash = access::hash_password(&password)?;
        once(&db, &scoped, "admin.account.create", &fingerprint, at, |tx| {
            bootstrap::insert_account(tx, &actor, &request, &hash, at).map(|a| Account::from(&a))
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(account)))
}

/// Disables an account (audited as `staff.disable`): it can no longer log
/// in, and its sessions end now. An administrator cannot disable their
/// own account.
#[utoipa::path(post, path = "/api/v1/admin/accounts/{id}/disable", tag = "admin", security(("session" = [])),
    params(
        ("id" = i64, Path, description = "The account's id", minimum = 1),
        ("Idempotency-Key" = String, Header, description = "A new random value per operation; the same value when retrying", min_length = 1, max_length = 100, pattern = "^[A-Za-z0-9._:-]{1,100}$"),
        ("X-CSRF-Token" = String, Header, description = "The session's CSRF token"),
    ),
    responses(
        (status = 200, description = "Disabled", body = AccountChange),
        (status = 400, description = "Malformed id, or no Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator, or a missing or wrong CSRF token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "One's own account (`own_account`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    ))]
async fn disable_account(
    State(state): State<Arc<AppState>>,
    Administrator(admin): Administrator,
    key: IdempotencyKey,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<AccountChange>, Problem> {
    let id = id_in_path(path, "account")?;
    if id == admin.account_id {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "own_account",
            "an administrator cannot disable their own account; ask another administrator",
        ));
    }
    set_disabled(&state, &admin, &key, id, true).await.map(Json)
}

/// Enables a disabled account again (audited as `staff.enable`).
#[utoipa::path(post, path = "/api/v1/admin/accounts/{id}/enable", tag = "admin", security(("session" = [])),
    params(
        ("id" = i64, Path, description = "The account's id", minimum = 1),
        ("Idempotency-Key" = String, Header, description = "A new random value per operation; the same value when retrying", min_length = 1, max_length = 100, pattern = "^[A-Za-z0-9._:-]{1,100}$"),
        ("X-CSRF-Token" = String, Header, description = "The session's CSRF token"),
    ),
    responses(
        (status = 200, description = "Enabled", body = AccountChange),
        (status = 400, description = "Malformed id, or no Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator, or a missing or wrong CSRF token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    ))]
async fn enable_account(
    State(state): State<Arc<AppState>>,
    Administrator(admin): Administrator,
    key: IdempotencyKey,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<AccountChange>, Problem> {
    let id = id_in_path(path, "account")?;
    set_disabled(&state, &admin, &key, id, false).await.map(Json)
}

async fn set_disabled(
    state: &AppState,
    admin: &StaffPrincipal,
    key: &IdempotencyKey,
    id: i64,
    disabled: bool,
) -> Result<AccountChange, Problem> {
    let db = state.authority.db().clone();
    let scoped = key.scoped(&admin.key_scope());
    let actor = actor_name(admin);
    let at = now(state);
    let operation = if disabled {
        "admin.account.disable"
    } else {
        "admin.account.enable"
    };
    let (change, _) = blocking(move || {
        once(&db, &scoped, operation, &id.to_be_bytes(), at, |tx| {
            let (account, ended) = bootstrap::set_account_disabled(tx, &actor, id, disabled, at)?;
            Ok(AccountChange {
                account: Account::from(&account),
                sessions_ended: ended,
            })
        })
    })
    .await?;
    Ok(change)
}

// --------------------------------------------------------------- API keys

/// Every API key, revoked ones included, by name (never the key or its
/// hash).
#[utoipa::path(get, path = "/api/v1/admin/api-keys", tag = "admin", security(("session" = [])),
    responses(
        (status = 200, description = "The keys", body = ApiKeyList),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_api_keys(
    State(state): State<Arc<AppState>>,
    Administrator(_): Administrator,
) -> Result<Json<ApiKeyList>, Problem> {
    let db = state.authority.db().clone();
    let keys = blocking(move || db.read(store::list_api_keys).map_err(bootstrap::store_problem)).await?;
    Ok(Json(ApiKeyList {
        api_keys: keys.iter().map(ApiKeyInfo::from).collect(),
    }))
}

/// Issues an API key for a kiosk or a relying party (audited as
/// `api_key.create`). The whole key is in this answer only.
#[utoipa::path(post, path = "/api/v1/admin/api-keys", tag = "admin", security(("session" = [])),
    request_body = NewApiKey,
    params(
        ("Idempotency-Key" = String, Header, description = "A new random value per key; the same value when retrying", min_length = 1, max_length = 100, pattern = "^[A-Za-z0-9._:-]{1,100}$"),
        ("X-CSRF-Token" = String, Header, description = "The session's CSRF token"),
    ),
    responses(
        (status = 201, description = "Issued: the key is shown this once", body = CreatedApiKey),
        (status = 200, description = "A retry with the same Idempotency-Key: the key's record, without the key", body = CreatedApiKey),
        (status = 400, description = "Malformed request, or no Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator, or a missing or wrong CSRF token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken (`name_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_api_key(
    State(state): State<Arc<AppState>>,
    Administrator(admin): Administrator,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<NewApiKey>,
) -> Result<Response, Problem> {
    bootstrap::check_key_name(&body.name)?;
    let municipality = body
        .municipality
        .as_deref()
        .map(|code| {
            mynacard_rules::numbers::MunicipalityCode::parse(code)
                .map_err(|e| Problem::invalid_field("municipality", format!("not a municipality code: {e}")))
        })
        .transpose()?;
    let db = state.authority.db().clone();
    let scoped = key.scoped(&admin.key_scope());
    let actor = actor_name(&admin);
    let at = now(&state);
    let kind: ApiKeyKind = body.kind.into();
    let fingerprint = serde_json::to_vec(&json!({
        "name": body.name,
        "kind": kind.as_str(),
        "municipality": municipality.map(|m| m.to_string()),
    }))
    .map_err(Problem::internal)?;
    let name = body.name;
    let (info, secret, replay) = blocking(move || {
        // The secret leaves the transaction beside the stored answer,
        // which holds only the record.
        let mut secret = None;
        let (info, replay) = once(&db, &scoped, "admin.api_key.create", &fingerprint, at, |tx| {
            let (whole, stored) = bootstrap::insert_api_key(tx, &actor, &name, kind, municipality, at)?;
            secret = Some(whole);
            Ok(ApiKeyInfo::from(&stored))
        })?;
        Ok((info, secret, replay))
    })
    .await?;
    let status = if replay { StatusCode::OK } else { StatusCode::CREATED };
    Ok((
        status,
        Json(CreatedApiKey {
            key: if replay { None } else { secret },
            api_key: info,
        }),
    )
        .into_response())
}

/// Revokes an API key (audited as `api_key.revoke`): from now on it opens
/// nothing. Revoking a revoked key answers it as it is.
#[utoipa::path(post, path = "/api/v1/admin/api-keys/{id}/revocation", tag = "admin", security(("session" = [])),
    params(
        ("id" = i64, Path, description = "The key's id", minimum = 1),
        ("Idempotency-Key" = String, Header, description = "A new random value per operation; the same value when retrying", min_length = 1, max_length = 100, pattern = "^[A-Za-z0-9._:-]{1,100}$"),
        ("X-CSRF-Token" = String, Header, description = "The session's CSRF token"),
    ),
    responses(
        (status = 200, description = "Revoked", body = ApiKeyInfo),
        (status = 400, description = "Malformed id, or no Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator, or a missing or wrong CSRF token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    ))]
async fn revoke_api_key(
    State(state): State<Arc<AppState>>,
    Administrator(admin): Administrator,
    key: IdempotencyKey,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ApiKeyInfo>, Problem> {
    let id = id_in_path(path, "API key")?;
    let db = state.authority.db().clone();
    let scoped = key.scoped(&admin.key_scope());
    let actor = actor_name(&admin);
    let at = now(&state);
    let (info, _) = blocking(move || {
        once(&db, &scoped, "admin.api_key.revoke", &id.to_be_bytes(), at, |tx| {
            bootstrap::revoke_api_key(tx, &actor, id, at).map(|k| ApiKeyInfo::from(&k))
        })
    })
    .await?;
    Ok(Json(info))
}

// ------------------------------------------------------------------ batch

/// Runs the nightly batch now for today (on the system's clock): lapses,
/// expiries, renewal notices, reconciliation, the purge of old
/// idempotency records. Each step is idempotent: a second run the same day
/// does nothing. The run is audited (`admin.batch`) besides the batch's
/// own entries.
#[utoipa::path(post, path = "/api/v1/admin/batch", tag = "admin", security(("session" = [])),
    params(
        ("Idempotency-Key" = String, Header, description = "A new random value per run; the same value when retrying", min_length = 1, max_length = 100, pattern = "^[A-Za-z0-9._:-]{1,100}$"),
        ("X-CSRF-Token" = String, Header, description = "The session's CSRF token"),
    ),
    responses(
        (status = 200, description = "What the run did", body = BatchRun),
        (status = 400, description = "No or a malformed Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator, or a missing or wrong CSRF token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The registry is busy; try again", body = Problem, content_type = "application/problem+json"),
    ))]
async fn run_batch(
    State(state): State<Arc<AppState>>,
    Administrator(admin): Administrator,
    key: IdempotencyKey,
) -> Result<Json<BatchRun>, Problem> {
    let scoped = key.scoped(&admin.key_scope());
    let actor = actor_name(&admin);
    let today = state.clock.today();
    let request = today.to_string().into_bytes();
    let db = state.authority.db().clone();
    {
        let (db, scoped, request) = (db.clone(), scoped.clone(), request.clone());
        if let Some(earlier) = blocking(move || replayed::<BatchRun>(&db, &scoped, "admin.batch", &request)).await? {
            return Ok(Json(earlier));
        }
    }
    let report = state.run(move |a| a.run_daily_batch(today, &mut |_| {})).await?;
    let run = BatchRun::from(&report);
    let at = now(&state);
    let entry = audit::AuditEntry {
        at,
        actor,
        action: "admin.batch".into(),
        subject: format!("batch:{today}"),
        details: json!({"date": today, "total": report.total()}),
    };
    let run = blocking(move || record_after(&db, &scoped, "admin.batch", &request, at, run, entry)).await?;
    Ok(Json(run))
}

// ------------------------------------------------------------------ clock

/// The most days the demo clock moves at once.
pub const MAX_ADVANCE_DAYS: i64 = 3650;

fn demo_only(state: &AppState) -> Result<(), Problem> {
    if state.settings.demo {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::NOT_FOUND,
            "demo_only",
            "the clock can be moved only in demo mode (mynacard serve --demo)",
        ))
    }
}

fn clock_info(state: &AppState) -> ClockInfo {
    ClockInfo {
        now: state.clock.now(),
        today: state.clock.today(),
        fixed: state.clock.is_fixed(),
        simulated: state.clock.is_simulated(),
    }
}

/// The demo's clock (demo mode only).
#[utoipa::path(get, path = "/api/v1/admin/clock", tag = "admin", security(("session" = [])),
    responses(
        (status = 200, description = "The clock", body = ClockInfo),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not in demo mode (`demo_only`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn clock(
    State(state): State<Arc<AppState>>,
    Administrator(_): Administrator,
) -> Result<Json<ClockInfo>, Problem> {
    demo_only(&state)?;
    Ok(Json(clock_info(&state)))
}

/// Moves the demo's clock forward (demo mode only; audited as
/// `admin.clock.advance`). Run the nightly batch afterwards to let lapses
/// and expiries happen.
#[utoipa::path(post, path = "/api/v1/admin/clock/advance", tag = "admin", security(("session" = [])),
    request_body = ClockAdvance,
    params(
        ("Idempotency-Key" = String, Header, description = "A new random value per move; the same value when retrying", min_length = 1, max_length = 100, pattern = "^[A-Za-z0-9._:-]{1,100}$"),
        ("X-CSRF-Token" = String, Header, description = "The session's CSRF token"),
    ),
    responses(
        (status = 200, description = "The clock after the move", body = ClockInfo),
        (status = 400, description = "Malformed request, or no Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator, or a missing or wrong CSRF token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not in demo mode (`demo_only`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    ))]
async fn advance_clock(
    State(state): State<Arc<AppState>>,
    Administrator(admin): Administrator,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<ClockAdvance>,
) -> Result<Json<ClockInfo>, Problem> {
    demo_only(&state)?;
    if !(1..=MAX_ADVANCE_DAYS).contains(&body.days) {
        return Err(Problem::invalid_field("days", format!("1 to {MAX_ADVANCE_DAYS}")));
    }
    let scoped = key.scoped(&admin.key_scope());
    let request = body.days.to_be_bytes().to_vec();
    let db = state.authority.db().clone();
    {
        let (db, scoped, request) = (db.clone(), scoped.clone(), request.clone());
        if let Some(earlier) =
            blocking(move || replayed::<ClockInfo>(&db, &scoped, "admin.clock.advance", &request)).await?
        {
            return Ok(Json(earlier));
        }
    }
    let from = state.clock.today();
    state.clock.advance_days(body.days);
    let info = clock_info(&state);
    let entry = audit::AuditEntry {
        at: info.now,
        actor: actor_name(&admin),
        action: "admin.clock.advance".into(),
        subject: "clock".into(),
        details: json!({"days": body.days, "from": from, "to": info.today}),
    };
    let at = info.now;
    let info = blocking(move || record_after(&db, &scoped, "admin.clock.advance", &request, at, info, entry)).await?;
    Ok(Json(info))
}
