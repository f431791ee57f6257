//! Access control of the web server: staff accounts, their login sessions,
//! and the API keys of kiosks and relying parties
//! (migrations/*/0004_access.sql).
//!
//! The store keeps what the server decides with and nothing secret: a
//! password as its PHC string, a session token and an API key as the
//! lowercase hex SHA-256 the server computed. Hashing, verifying and the
//! clock are the caller's; the database keeps the formats, one login, name
//! and prefix each, and a window clerk's municipality (CHECKs).

use std::fmt;

use chrono::{DateTime, Utc};
use mynacard_rules::numbers::MunicipalityCode;

use crate::db::{truncate_to_micros, Row, Tx, Value};
use crate::error::{Result, StoreError};
use crate::registry::{enum_column, returned_id, text_enum};

text_enum! {
    /// What a staff member may do: the server maps each role to its pages
    /// and operations.
    pub enum StaffRole {
        /// A municipality's window clerk (窓口), limited to that municipality.
        Window => "window",
        /// A loss-and-suspension hotline operator (コールセンター).
        Hotline => "hotline",
        /// An administrator: staff accounts, API keys, settings.
        Admin => "admin",
    }
}

text_enum! {
    /// Who holds an API key: it decides which endpoints the key opens.
    pub enum ApiKeyKind {
        /// A convenience-store kiosk (コンビニ交付端末).
        Kiosk => "kiosk",
        /// A relying party checking certificates (署名検証者).
        RelyingParty => "relying_party",
    }
}

/// A staff account as stored. `Debug` hides the password hash, so that a
/// logged account does not hand it to an offline guesser.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffAccount {
    /// The database's id, what sessions refer to.
    pub id: i64,
    /// The login name: 3–64 of `a-z 0-9 . _ -`, unique.
    pub login: String,
    /// The name shown in the interface and the audit trail.
    pub display_name: String,
    /// The password's PHC string (`$argon2id$…`), verified by the caller.
    pub password_hash: String,
    /// What the account may do.
    pub role: StaffRole,
    /// A window clerk's municipality (`None` for the other roles).
    pub municipality: Option<MunicipalityCode>,
    /// Whether logging in is refused.
    pub disabled: bool,
    /// Failed password attempts since the last success, for throttling.
    pub failed_logins: i64,
    /// Until when logging in is refused after too many failures.
    pub locked_until: Option<DateTime<Utc>>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for StaffAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaffAccount")
            .field("id", &self.id)
            .field("login", &self.login)
            .field("display_name", &self.display_name)
            .field("password_hash", &"<redacted>")
            .field("role", &self.role)
            .field("municipality", &self.municipality)
            .field("disabled", &self.disabled)
            .field("failed_logins", &self.failed_logins)
            .field("locked_until", &self.locked_until)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A staff account to create; the database gives the id and the counters.
/// `Debug` hides the password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct NewStaffAccount {
    /// The login name: 3–64 of `a-z 0-9 . _ -`.
    pub login: String,
    /// The name shown.
    pub display_name: String,
    /// The password's PHC string.
    pub password_hash: String,
    /// What the account may do.
    pub role: StaffRole,
    /// Required for [`StaffRole::Window`], `None` otherwise.
    pub municipality: Option<MunicipalityCode>,
}

impl fmt::Debug for NewStaffAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewStaffAccount")
            .field("login", &self.login)
            .field("display_name", &self.display_name)
            .field("password_hash", &"<redacted>")
            .field("role", &self.role)
            .field("municipality", &self.municipality)
            .finish()
    }
}

/// A login session. The cookie carries the token; the store only its hash,
/// so that a read of the table logs no one in. `Debug` hides the CSRF
/// token.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffSession {
    /// The lowercase hex SHA-256 of the session token (64 characters).
    pub token_hash: String,
    /// Whose session.
    pub account_id: i64,
    /// The anti-CSRF token the session's forms must send back.
    pub csrf_token: String,
    /// When the staff member logged in.
    pub created_at: DateTime<Utc>,
    /// When the session runs out unless touched.
    pub expires_at: DateTime<Utc>,
    /// The last request seen, for idle time-outs.
    pub last_seen_at: DateTime<Utc>,
}

impl fmt::Debug for StaffSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaffSession")
            .field("token_hash", &self.token_hash)
            .field("account_id", &self.account_id)
            .field("csrf_token", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("last_seen_at", &self.last_seen_at)
            .finish()
    }
}

/// An API key as stored: the public prefix finds it, the hash checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The database's id.
    pub id: i64,
    /// A unique name for people (`lawson-shinjuku-01`).
    pub name: String,
    /// Who holds it.
    pub kind: ApiKeyKind,
    /// The key's public lookup part (8–16 characters), unique.
    pub prefix: String,
    /// The lowercase hex SHA-256 of the whole key (64 characters).
    pub key_hash: String,
    /// The only municipality the key may act for, if limited.
    pub municipality: Option<MunicipalityCode>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked key opens nothing.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An API key to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// A unique name for people.
    pub name: String,
    /// Who holds it.
    pub kind: ApiKeyKind,
    /// The public lookup part (8–16 characters).
    pub prefix: String,
    /// The lowercase hex SHA-256 of the whole key.
    pub key_hash: String,
    /// The only municipality the key may act for, if limited.
    pub municipality: Option<MunicipalityCode>,
}

fn municipality_value(code: Option<MunicipalityCode>) -> Value {
    code.map_or(Value::Null, |c| Value::Text(c.to_string()))
}

fn municipality_column(row: &Row, i: usize, table: &str) -> Result<Option<MunicipalityCode>> {
    row.opt_text(i)?
        .map(|code| {
            MunicipalityCode::parse(&code)
                .map_err(|e| StoreError::Corrupt(format!("{table}.municipality {code:?}: {e}")))
        })
        .transpose()
}

// ---------------------------------------------------------------- staff

const STAFF_COLUMNS: &str = "id, login, display_name, password_hash, role, municipality, disabled, failed_logins, \
                             locked_until, created_at";

fn staff_from_row(row: &Row) -> Result<StaffAccount> {
    Ok(StaffAccount {
        id: row.i64(0)?,
        login: row.text(1)?,
        display_name: row.text(2)?,
        password_hash: row.text(3)?,
        role: enum_column(row, 4, StaffRole::parse)?,
        municipality: municipality_column(row, 5, "staff_accounts")?,
        disabled: row.bool(6)?,
        failed_logins: row.i64(7)?,
        locked_until: row.opt_timestamp(8)?,
        created_at: row.timestamp(9)?,
    })
}

/// Creates a staff account, enabled and with no failures. A login taken
/// already is a [`StoreError::Conflict`]; a malformed login or a role and
/// municipality that do not go together a [`StoreError::Constraint`].
pub fn insert_staff_account(tx: &mut Tx<'_>, new: &NewStaffAccount, now: DateTime<Utc>) -> Result<StaffAccount> {
    let created_at = truncate_to_micros(now);
    let rows = tx.query(
        "INSERT INTO staff_accounts (login, display_name, password_hash, role, municipality, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        &[
            Value::from(&new.login),
            Value::from(&new.display_name),
            Value::from(&new.password_hash),
            Value::from(new.role.as_str()),
            municipality_value(new.municipality),
            Value::Timestamp(created_at),
        ],
    )?;
    Ok(StaffAccount {
        id: returned_id(rows)?,
        login: new.login.clone(),
        display_name: new.display_name.clone(),
        password_hash: new.password_hash.clone(),
        role: new.role,
        municipality: new.municipality,
        disabled: false,
        failed_logins: 0,
        locked_until: None,
        created_at,
    })
}

/// The account of a login name (exact match), for logging in.
pub fn staff_account_by_login(tx: &mut Tx<'_>, login: &str) -> Result<Option<StaffAccount>> {
    tx.query_opt(
        &format!("SELECT {STAFF_COLUMNS} FROM staff_accounts WHERE login = ?1"),
        &[Value::from(login)],
    )?
    .as_ref()
    .map(staff_from_row)
    .transpose()
}

/// An account by id, for a session's owner.
pub fn staff_account(tx: &mut Tx<'_>, id: i64) -> Result<Option<StaffAccount>> {
    tx.query_opt(
        &format!("SELECT {STAFF_COLUMNS} FROM staff_accounts WHERE id = ?1"),
        &[Value::Int(id)],
    )?
    .as_ref()
    .map(staff_from_row)
    .transpose()
}

/// Every account, by login, for the administrators' list.
pub fn list_staff_accounts(tx: &mut Tx<'_>) -> Result<Vec<StaffAccount>> {
    tx.query(
        &format!("SELECT {STAFF_COLUMNS} FROM staff_accounts ORDER BY login"),
        &[],
    )?
    .iter()
    .map(staff_from_row)
    .collect()
}

/// Counts a failed password attempt and, with `lock_until`, locks the
/// account until then (`None` leaves any lock as it is). Answers the new
/// count, on which the caller decides the lock; [`StoreError::NotFound`]
/// for an unknown account.
pub fn record_login_failure(tx: &mut Tx<'_>, id: i64, lock_until: Option<DateTime<Utc>>) -> Result<i64> {
    let row = tx.query_opt(
        "UPDATE staff_accounts SET failed_logins = failed_logins + 1, locked_until = COALESCE(?2, locked_until) \
         WHERE id = ?1 RETURNING failed_logins",
        &[Value::Int(id), Value::from(lock_until.map(truncate_to_micros))],
    )?;
    match row {
        Some(row) => row.i64(0),
        None => Err(StoreError::NotFound(format!("staff account {id}"))),
    }
}

/// Clears the failure count and any lock after a successful login
/// ([`StoreError::NotFound`] for an unknown account).
pub fn record_login_success(tx: &mut Tx<'_>, id: i64) -> Result<()> {
    let changed = tx.execute(
        "UPDATE staff_accounts SET failed_logins = 0, locked_until = NULL WHERE id = ?1",
        &[Value::Int(id)],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("staff account {id}")));
    }
    Ok(())
}

/// Disables or re-enables an account; answers false for an unknown one.
/// Disabling does not end its sessions: call [`delete_sessions_of`] too.
pub fn set_staff_disabled(tx: &mut Tx<'_>, id: i64, disabled: bool) -> Result<bool> {
    let changed = tx.execute(
        "UPDATE staff_accounts SET disabled = ?2 WHERE id = ?1",
        &[Value::Int(id), Value::Bool(disabled)],
    )?;
    Ok(changed == 1)
}

/// Replaces an account's password (a PHC string); answers false for an
/// unknown account.
pub fn set_staff_password(tx: &mut Tx<'_>, id: i64, password_hash: &str) -> Result<bool> {
    let changed = tx.execute(
        "UPDATE staff_accounts SET password_hash = ?2 WHERE id = ?1",
        &[Value::Int(id), Value::from(password_hash)],
    )?;
    Ok(changed == 1)
}

// ------------------------------------------------------------- sessions

const SESSION_COLUMNS: &str = "token_hash, account_id, csrf_token, created_at, expires_at, last_seen_at";

fn session_from_row(row: &Row) -> Result<StaffSession> {
    Ok(StaffSession {
        token_hash: row.text(0)?,
        account_id: row.i64(1)?,
        csrf_token: row.text(2)?,
        created_at: row.timestamp(3)?,
        expires_at: row.timestamp(4)?,
        last_seen_at: row.timestamp(5)?,
    })
}

/// Records a new session (times kept to the microsecond). A token hash
/// stored already is a [`StoreError::Conflict`]; an unknown account a
/// [`StoreError::Constraint`].
pub fn insert_staff_session(tx: &mut Tx<'_>, s: &StaffSession) -> Result<()> {
    tx.execute(
        &format!("INSERT INTO staff_sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        &[
            Value::from(&s.token_hash),
            Value::Int(s.account_id),
            Value::from(&s.csrf_token),
            Value::Timestamp(truncate_to_micros(s.created_at)),
            Value::Timestamp(truncate_to_micros(s.expires_at)),
            Value::Timestamp(truncate_to_micros(s.last_seen_at)),
        ],
    )?;
    Ok(())
}

/// The session of a token hash, expired or not: the caller compares
/// `expires_at` with its clock.
pub fn staff_session(tx: &mut Tx<'_>, token_hash: &str) -> Result<Option<StaffSession>> {
    tx.query_opt(
        &format!("SELECT {SESSION_COLUMNS} FROM staff_sessions WHERE token_hash = ?1"),
        &[Value::from(token_hash)],
    )?
    .as_ref()
    .map(session_from_row)
    .transpose()
}

/// Notes a request on a session and moves its expiry (sliding time-out);
/// answers false for an unknown session.
pub fn touch_staff_session(
    tx: &mut Tx<'_>,
    token_hash: &str,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<bool> {
    let changed = tx.execute(
        "UPDATE staff_sessions SET last_seen_at = ?2, expires_at = ?3 WHERE token_hash = ?1",
        &[
            Value::from(token_hash),
            Value::Timestamp(truncate_to_micros(last_seen_at)),
            Value::Timestamp(truncate_to_micros(expires_at)),
        ],
    )?;
    Ok(changed == 1)
}

/// Ends a session (logout); answers false if there was none.
pub fn delete_staff_session(tx: &mut Tx<'_>, token_hash: &str) -> Result<bool> {
    let changed = tx.execute(
        "DELETE FROM staff_sessions WHERE token_hash = ?1",
        &[Value::from(token_hash)],
    )?;
    Ok(changed == 1)
}

/// Ends every session of an account (disabled, password changed);
/// answers how many.
pub fn delete_sessions_of(tx: &mut Tx<'_>, account_id: i64) -> Result<u64> {
    tx.execute(
        "DELETE FROM staff_sessions WHERE account_id = ?1",
        &[Value::Int(account_id)],
    )
}

/// Removes the sessions run out at `now` (`expires_at <= now`), so that the
/// table does not grow; answers how many.
pub fn delete_expired_staff_sessions(tx: &mut Tx<'_>, now: DateTime<Utc>) -> Result<u64> {
    tx.execute(
        "DELETE FROM staff_sessions WHERE expires_at <= ?1",
        &[Value::Timestamp(truncate_to_micros(now))],
    )
}

// ------------------------------------------------------------- API keys

const KEY_COLUMNS: &str = "id, name, kind, prefix, key_hash, municipality, created_at, revoked_at";

fn key_from_row(row: &Row) -> Result<ApiKey> {
    Ok(ApiKey {
        id: row.i64(0)?,
        name: row.text(1)?,
        kind: enum_column(row, 2, ApiKeyKind::parse)?,
        prefix: row.text(3)?,
        key_hash: row.text(4)?,
        municipality: municipality_column(row, 5, "api_keys")?,
        created_at: row.timestamp(6)?,
        revoked_at: row.opt_timestamp(7)?,
    })
}

/// Issues an API key. A name or prefix taken already is a
/// [`StoreError::Conflict`]; a malformed prefix or hash a
/// [`StoreError::Constraint`].
pub fn insert_api_key(tx: &mut Tx<'_>, new: &NewApiKey, now: DateTime<Utc>) -> Result<ApiKey> {
    let created_at = truncate_to_micros(now);
    let rows = tx.query(
        "INSERT INTO api_keys (name, kind, prefix, key_hash, municipality, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        &[
            Value::from(&new.name),
            Value::from(new.kind.as_str()),
            Value::from(&new.prefix),
            Value::from(&new.key_hash),
            municipality_value(new.municipality),
            Value::Timestamp(created_at),
        ],
    )?;
    Ok(ApiKey {
        id: returned_id(rows)?,
        name: new.name.clone(),
        kind: new.kind,
        prefix: new.prefix.clone(),
        key_hash: new.key_hash.clone(),
        municipality: new.municipality,
        created_at,
        revoked_at: None,
    })
}

/// The key of a prefix, revoked or not: the caller checks the hash and
/// `revoked_at`.
pub fn api_key_by_prefix(tx: &mut Tx<'_>, prefix: &str) -> Result<Option<ApiKey>> {
    tx.query_opt(
        &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE prefix = ?1"),
        &[Value::from(prefix)],
    )?
    .as_ref()
    .map(key_from_row)
    .transpose()
}

/// Every key, revoked ones included, by name, for the administrators' list.
pub fn list_api_keys(tx: &mut Tx<'_>) -> Result<Vec<ApiKey>> {
    tx.query(&format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY name"), &[])?
        .iter()
        .map(key_from_row)
        .collect()
}

/// Revokes a key at `at`; answers false if it was revoked already (the
/// first time stays) or is unknown.
pub fn revoke_api_key(tx: &mut Tx<'_>, id: i64, at: DateTime<Utc>) -> Result<bool> {
    let changed = tx.execute(
        "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        &[Value::Int(id), Value::Timestamp(truncate_to_micros(at))],
    )?;
    Ok(changed == 1)
}
