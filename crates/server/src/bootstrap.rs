//! Giving people access: the first administrator of a new system, and the
//! staff-account and API-key changes that the admin API
//! ([`crate::api::admin`]) and the CLI (`mynacard staff …`, `mynacard
//! api-key …`) share, so that both check the same things and leave the
//! same trail.
//!
//! Every change runs inside the caller's transaction together with its
//! audit entry (`staff.create`, `staff.disable`, `staff.enable`,
//! `api_key.create`, `api_key.revoke`): who gave whom access is in the
//! hash-chained audit log, as every operation on residents is. Nothing
//! secret goes there — never a password, a hash or a key.
//!
//! A system with no staff account at all cannot be administered through
//! the API; [`ensure_initial_admin`] makes `admin` with a random password,
//! written to `DATA/initial-admin-password` (mode 0600) for the operator.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use mynacard_authority::AuthorityError;
use mynacard_rules::numbers::MunicipalityCode;
use mynacard_store::access::{self as store, ApiKey, ApiKeyKind, NewStaffAccount, StaffAccount, StaffRole};
use mynacard_store::{audit, registry, Database, StoreError, Tx};
use serde_json::json;

use crate::access::{hash_password, random_token};
use crate::problem::Problem;
use crate::state::AppState;

/// The login of the first administrator.
pub const INITIAL_ADMIN_LOGIN: &str = "admin";
/// The file (in the data directory) that receives its password.
pub const INITIAL_ADMIN_PASSWORD_FILE: &str = "initial-admin-password";
/// Longest display name.
pub const MAX_DISPLAY_NAME: usize = 100;
/// Longest API-key name.
pub const MAX_KEY_NAME: usize = 64;

/// A registry error as a problem document.
pub fn store_problem(e: StoreError) -> Problem {
    Problem::from(AuthorityError::from(e))
}

/// A problem that can leave a registry transaction (which needs its error
/// to come from [`StoreError`], so that PostgreSQL's retries still work).
#[derive(Debug)]
pub struct TxProblem(pub Problem);

impl From<StoreError> for TxProblem {
    fn from(e: StoreError) -> TxProblem {
        TxProblem(store_problem(e))
    }
}

impl From<Problem> for TxProblem {
    fn from(p: Problem) -> TxProblem {
        TxProblem(p)
    }
}

/// Whether `text` has a control character (which the registry's text
/// columns and the audit log's JSON must not carry).
pub fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// Checks a login: 3–64 of `a-z 0-9 . _ -` (the registry's CHECK).
pub fn check_login(login: &str) -> Result<(), Problem> {
    let ok = (3..=64).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Problem::invalid_field("login", "3 to 64 of a-z 0-9 . _ -"))
    }
}

/// Checks a name shown to people: 1–`max` characters, not blank, no
/// control characters.
pub fn check_text(field: &str, text: &str, max: usize) -> Result<(), Problem> {
    if text.trim().is_empty() || text.chars().count() > max || has_control(text) {
        return Err(Problem::invalid_field(
            field,
            format!("1 to {max} characters, not blank, no control characters"),
        ));
    }
    Ok(())
}

/// Checks an API key's name: 1–64 of `A-Z a-z 0-9 . _ -`.
pub fn check_key_name(name: &str) -> Result<(), Problem> {
    let ok = (1..=MAX_KEY_NAME).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Problem::invalid_field(
            "name",
            format!("1 to {MAX_KEY_NAME} of A-Z a-z 0-9 . _ -"),
        ))
    }
}

/// A municipality code of the registry (`field` names the input at fault).
pub fn municipality_in_registry(tx: &mut Tx<'_>, field: &str, code: MunicipalityCode) -> Result<(), TxProblem> {
    if registry::get_municipality(tx, code)?.is_none() {
        return Err(Problem::invalid_field(field, format!("{code} is not a municipality of the registry")).into());
    }
    Ok(())
}

/// A staff account to create, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRequest {
    /// The login.
    pub login: String,
    /// The name shown.
    pub display_name: String,
    /// The role.
    pub role: StaffRole,
    /// The municipality, exactly when the role is `window`.
    pub municipality: Option<MunicipalityCode>,
}

impl AccountRequest {
    /// Checks the inputs of a new account: the login's format, the name,
    /// and a municipality (check digit) given exactly for window staff.
    pub fn parse(
        login: &str,
        display_name: &str,
        role: StaffRole,
        municipality: Option<&str>,
    ) -> Result<AccountRequest, Problem> {
        check_login(login)?;
        check_text("display_name", display_name, MAX_DISPLAY_NAME)?;
        let municipality = match (role, municipality) {
            (StaffRole::Window, Some(code)) => Some(
                MunicipalityCode::parse(code)
                    .map_err(|e| Problem::invalid_field("municipality", format!("not a municipality code: {e}")))?,
            ),
            (StaffRole::Window, None) => {
                return Err(Problem::invalid_field(
                    "municipality",
                    "window staff belong to one municipality: give its code",
                ))
            }
            (_, Some(_)) => {
                return Err(Problem::invalid_field(
                    "municipality",
                    "only window staff belong to a municipality",
                ))
            }
            (_, None) => None,
        };
        Ok(AccountRequest {
            login: login.to_owned(),
            display_name: display_name.trim().to_owned(),
            role,
            municipality,
        })
    }
}

fn audit_entry(
    tx: &mut Tx<'_>,
    actor: &str,
    action: &str,
    subject: String,
    at: DateTime<Utc>,
    details: serde_json::Value,
) -> Result<(), TxProblem> {
    audit::append(
        tx,
        &audit::AuditEntry {
            at,
            actor: actor.to_owned(),
            action: action.to_owned(),
            subject,
            details,
        },
    )?;
    Ok(())
}

/// Creates a staff account (the password already hashed) and audits it;
/// a login taken already is `409 login_taken`, a municipality unknown to
/// the registry `400`.
pub fn insert_account(
    tx: &mut Tx<'_>,
    actor: &str,
    request: &AccountRequest,
    password_hash: &str,
    at: DateTime<Utc>,
) -> Result<StaffAccount, TxProblem> {
    if let Some(code) = request.municipality {
        municipality_in_registry(tx, "municipality", code)?;
    }
    if store::staff_account_by_login(tx, &request.login)?.is_some() {
        return Err(login_taken(&request.login).into());
    }
    let new = NewStaffAccount {
        login: request.login.clone(),
        display_name: request.display_name.clone(),
        password_hash: password_hash.to_owned(),
        role: request.role,
        municipality: request.municipality,
    };
    let account = match store::insert_staff_account(tx, &new, Utc::now()) {
        Ok(account) => account,
        Err(StoreError::Conflict(_)) => return Err(login_taken(&request.login).into()),
        Err(e) => return Err(e.into()),
    };
    audit_entry(
        tx,
        actor,
        "staff.create",
        format!("staff:{}", account.id),
        at,
        json!({
            "login": account.login,
            "role": account.role.as_str(),
            "municipality": account.municipality.map(|m| m.to_string()),
        }),
    )?;
    Ok(account)
}

fn login_taken(login: &str) -> Problem {
    Problem::new(
        axum::http::StatusCode::CONFLICT,
        "login_taken",
        format!("the login {login:?} is taken"),
    )
}

/// Disables (ending every session of the account) or enables an account,
/// and audits a change. Answers the account as it now is and how many
/// sessions ended; an unknown account is `404`.
pub fn set_account_disabled(
    tx: &mut Tx<'_>,
    actor: &str,
    id: i64,
    disabled: bool,
    at: DateTime<Utc>,
) -> Result<(StaffAccount, u64), TxProblem> {
    let Some(before) = store::staff_account(tx, id)? else {
        return Err(Problem::not_found(format!("no staff account {id}")).into());
    };
    let mut ended = 0;
    if disabled {
        // Sessions end even if the account was disabled already (a
        // session opened before a direct change of the flag).
        ended = store::delete_sessions_of(tx, id)?;
    }
    if before.disabled != disabled {
        store::set_staff_disabled(tx, id, disabled)?;
        audit_entry(
            tx,
            actor,
            if disabled { "staff.disable" } else { "staff.enable" },
            format!("staff:{id}"),
            at,
            json!({"login": before.login, "sessions_ended": ended}),
        )?;
    }
    let after = store::staff_account(tx, id)?.ok_or_else(|| Problem::not_found(format!("no staff account {id}")))?;
    Ok((after, ended))
}

/// Issues an API key and audits it: answers the whole key (shown once,
/// never stored: the registry keeps its prefix and SHA-256) and its
/// record. A name taken already is `409 name_taken`.
pub fn insert_api_key(
    tx: &mut Tx<'_>,
    actor: &str,
    name: &str,
    kind: ApiKeyKind,
    municipality: Option<MunicipalityCode>,
    at: DateTime<Utc>,
) -> Result<(String, ApiKey), TxProblem> {
    check_key_name(name)?;
    if let Some(code) = municipality {
        municipality_in_registry(tx, "municipality", code)?;
    }
    if store::list_api_keys(tx)?.iter().any(|k| k.name == name) {
        return Err(name_taken(name).into());
    }
    let (key, new) = crate::access::new_api_key(name, kind, municipality);
    let stored = match store::insert_api_key(tx, &new, Utc::now()) {
        Ok(stored) => stored,
        Err(StoreError::Conflict(_)) => return Err(name_taken(name).into()),
        Err(e) => return Err(e.into()),
    };
    audit_entry(
        tx,
        actor,
        "api_key.create",
        format!("api_key:{}", stored.id),
        at,
        json!({
            "name": stored.name,
            "kind": stored.kind.as_str(),
            "prefix": stored.prefix,
            "municipality": stored.municipality.map(|m| m.to_string()),
        }),
    )?;
    Ok((key, stored))
}

fn name_taken(name: &str) -> Problem {
    Problem::new(
        axum::http::StatusCode::CONFLICT,
        "name_taken",
        format!("an API key is named {name:?} already"),
    )
}

/// The API key with id `id`.
pub fn api_key_by_id(tx: &mut Tx<'_>, id: i64) -> Result<ApiKey, TxProblem> {
    store::list_api_keys(tx)?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or_else(|| Problem::not_found(format!("no API key {id}")).into())
}

/// Revokes an API key (a revoked key stays revoked from its first
/// revocation) and audits the revocation; an unknown key is `404`.
pub fn revoke_api_key(tx: &mut Tx<'_>, actor: &str, id: i64, at: DateTime<Utc>) -> Result<ApiKey, TxProblem> {
    let key = api_key_by_id(tx, id)?;
    if store::revoke_api_key(tx, id, Utc::now())? {
        audit_entry(
            tx,
            actor,
            "api_key.revoke",
            format!("api_key:{id}"),
            at,
            json!({"name": key.name, "prefix": key.prefix}),
        )?;
    }
    api_key_by_id(tx, id)
}

/// A password for a new account: 24 random characters (144 bits).
pub fn random_password() -> String {
    random_token(18)
}

/// On a system with no staff account at all, creates the administrator
/// `admin` with a random password, writes the password to
/// `DATA/initial-admin-password` (mode 0600) and answers the login and
/// password (for `mynacard serve` to print once). Answers `None` when an
/// account exists (the file of an earlier start is left as it is).
pub fn ensure_initial_admin(state: &AppState) -> Result<Option<(String, String)>, String> {
    let db = state.authority.db();
    let any = db
        .read(|tx| store::list_staff_accounts(tx).map(|a| !a.is_empty()))
        .map_err(|e| format!("the staff accounts: {e}"))?;
    if any {
        return Ok(None);
    }
    let password = random_password();
    let hash = hash_password(&password).map_err(|p| p.detail.unwrap_or_default())?;
    let file = initial_password_file(&state.settings.data_dir);
    // The password is on disk before the account exists, so that an
    // account is never made whose password nobody can read.
    let pending = file.with_extension("pending");
    write_secret(&pending, &format!("{password}\n"))?;
    let at = mynacard_authority::Clock::now(state.clock.as_ref());
    let created = create_initial(db, &hash, at);
    match created {
        Ok(true) => {
            std::fs::rename(&pending, &file).map_err(|e| format!("{}: {e}", file.display()))?;
            Ok(Some((INITIAL_ADMIN_LOGIN.to_owned(), password)))
        }
        Ok(false) => {
            let _ = std::fs::remove_file(&pending);
            Ok(None)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&pending);
            Err(e)
        }
    }
}

/// Creates `admin` unless an account exists by then (another process).
fn create_initial(db: &Database, hash: &str, at: DateTime<Utc>) -> Result<bool, String> {
    let request = AccountRequest {
        login: INITIAL_ADMIN_LOGIN.to_owned(),
        display_name: "管理者 / Administrator".to_owned(),
        role: StaffRole::Admin,
        municipality: None,
    };
    db.transaction(|tx| {
        if !store::list_staff_accounts(tx)?.is_empty() {
            return Ok(false);
        }
        insert_account(tx, "system:bootstrap", &request, hash, at)?;
        Ok::<_, TxProblem>(true)
    })
    .map_err(|TxProblem(p)| p.detail.unwrap_or(p.code))
}

/// Writes `text` to `path`, readable by the owner only.
fn write_secret(path: &Path, text: &str) -> Result<(), String> {
    let shown = |e: std::io::Error| format!("{}: {e}", path.display());
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = options.open(path).map_err(shown)?;
    out.write_all(text.as_bytes()).map_err(shown)?;
    out.sync_all().map_err(shown)
}

/// Where [`ensure_initial_admin`] writes the password.
pub fn initial_password_file(data_dir: &Path) -> PathBuf {
    data_dir.join(INITIAL_ADMIN_PASSWORD_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_checked_before_the_registry_sees_them() {
        assert!(check_login("chiyoda.window-01").is_ok());
        for bad in ["ab", "Admin", "a b", "管理者", &"a".repeat(65)] {
            assert!(check_login(bad).is_err(), "{bad}");
        }
        assert!(check_text("display_name", "千代田 花子", 100).is_ok());
        assert!(check_text("display_name", " ", 100).is_err());
        assert!(check_text("display_name", "a\u{0}b", 100).is_err());
        assert!(check_key_name("lawson-shinjuku_01").is_ok());
        assert!(check_key_name("").is_err());
        assert!(check_key_name("a/b").is_err());
        let ok = AccountRequest::parse("clerk", "窓口 一郎", StaffRole::Window, Some("131016")).expect("valid");
        assert_eq!(ok.municipality.map(|m| m.to_string()).as_deref(), Some("131016"));
        assert!(AccountRequest::parse("clerk", "x", StaffRole::Window, None).is_err());
        assert!(AccountRequest::parse("clerk", "x", StaffRole::Window, Some("131017")).is_err());
        assert!(AccountRequest::parse("op", "x", StaffRole::Hotline, Some("131016")).is_err());
    }
}
