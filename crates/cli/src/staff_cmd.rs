//! `mynacard staff …` and `mynacard api-key …`: who may use the server —
//! staff accounts (窓口, コールセンター, 管理者) and the API keys of kiosks
//! and relying parties — managed from the operator's shell, for the first
//! accounts of a system and for when no administrator can log in.
//!
//! The changes are the admin API's ([`mynacard_server::bootstrap`]): the
//! same checks (login format, a window clerk's municipality in the
//! registry, password length), each change audited in the registry's
//! hash-chained log as `cli:USER`. A password comes from
//! `MYNACARD_PASSWORD` or is generated and printed once; an API key is
//! printed once. Neither is stored: the registry keeps an argon2id hash
//! and a SHA-256.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use mynacard_authority::Clock;
use mynacard_rules::numbers::MunicipalityCode;
use mynacard_server::api::admin::{Account, ApiKeyInfo};
use mynacard_server::bootstrap::{self, AccountRequest, TxProblem};
use mynacard_server::problem::Problem;
use mynacard_store::access::{self as store, ApiKeyKind, StaffRole};
use mynacard_store::Database;
use serde::Serialize;

use crate::batch_cmd::{environment_clock, SystemArgs};
use crate::output::{emit, line, Answer, Failure, Line, Phrase, EXIT_RULE, EXIT_USAGE};

/// The environment variable a new account's password is read from.
pub const PASSWORD_ENV: &str = "MYNACARD_PASSWORD";

/// `mynacard staff`.
#[derive(Debug, Args)]
pub struct StaffArgs {
    /// Print one JSON object instead of bilingual text
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: StaffCommand,
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create a staff account (password from MYNACARD_PASSWORD, or generated and printed once)
    Add(AddArgs),
    /// List the staff accounts
    List(ListArgs),
    /// Disable an account and end its sessions
    Disable(LoginArgs),
    /// Enable a disabled account
    Enable(LoginArgs),
}

/// What a staff member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// 窓口: a window clerk of one municipality (--municipality)
    Window,
    /// コールセンター: a hotline operator
    Hotline,
    /// 管理者: an administrator
    Admin,
}

impl From<RoleArg> for StaffRole {
    fn from(r: RoleArg) -> StaffRole {
        match r {
            RoleArg::Window => StaffRole::Window,
            RoleArg::Hotline => StaffRole::Hotline,
            RoleArg::Admin => StaffRole::Admin,
        }
    }
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The login: 3-64 of a-z 0-9 . _ -
    #[arg(long, value_name = "LOGIN")]
    login: String,
    /// The name shown on screen and in the audit trail
    #[arg(long, value_name = "NAME")]
    name: String,
    /// What the account may do
    #[arg(long, value_enum)]
    role: RoleArg,
    /// A window clerk's municipality (全国地方公共団体コード, 6 digits)
    #[arg(long, value_name = "CODE")]
    municipality: Option<String>,
    #[command(flatten)]
    system: SystemArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    system: SystemArgs,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The account's login
    #[arg(value_name = "LOGIN")]
    login: String,
    #[command(flatten)]
    system: SystemArgs,
}

/// `mynacard api-key`.
#[derive(Debug, Args)]
pub struct ApiKeyArgs {
    /// Print one JSON object instead of bilingual text
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: ApiKeyCommand,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Issue an API key for a kiosk or a relying party (printed once)
    Create(CreateKeyArgs),
    /// List the API keys, revoked ones included
    List(ListArgs),
    /// Revoke an API key: it opens nothing from now on
    Revoke(NameArgs),
}

/// Who holds a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// A convenience-store kiosk (コンビニ交付端末)
    Kiosk,
    /// A relying party (署名検証者・利用者証明検証者)
    RelyingParty,
}

impl From<KindArg> for ApiKeyKind {
    fn from(k: KindArg) -> ApiKeyKind {
        match k {
            KindArg::Kiosk => ApiKeyKind::Kiosk,
            KindArg::RelyingParty => ApiKeyKind::RelyingParty,
        }
    }
}

#[derive(Debug, Args)]
pub struct CreateKeyArgs {
    /// A unique name: 1-64 of A-Z a-z 0-9 . _ -
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Who will hold it
    #[arg(long, value_enum)]
    kind: KindArg,
    /// Limit the key to one municipality (6 digits)
    #[arg(long, value_name = "CODE")]
    municipality: Option<String>,
    #[command(flatten)]
    system: SystemArgs,
}

#[derive(Debug, Args)]
pub struct NameArgs {
    /// The key's name
    #[arg(value_name = "NAME")]
    name: String,
    #[command(flatten)]
    system: SystemArgs,
}

/// Runs `mynacard staff …`.
pub fn run_staff(args: StaffArgs) -> std::process::ExitCode {
    let json = args.json;
    let result = match args.command {
        StaffCommand::Add(a) => add(&a).and_then(|answer| emit(&answer, json)),
        StaffCommand::List(a) => list_staff(&a.system).and_then(|answer| emit(&answer, json)),
        StaffCommand::Disable(a) => set_disabled(&a, true).and_then(|answer| emit(&answer, json)),
        StaffCommand::Enable(a) => set_disabled(&a, false).and_then(|answer| emit(&answer, json)),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => failure.report(json),
    }
}

/// Runs `mynacard api-key …`.
pub fn run_api_key(args: ApiKeyArgs) -> std::process::ExitCode {
    let json = args.json;
    let result = match args.command {
        ApiKeyCommand::Create(a) => create_key(&a).and_then(|answer| emit(&answer, json)),
        ApiKeyCommand::List(a) => list_keys(&a.system).and_then(|answer| emit(&answer, json)),
        ApiKeyCommand::Revoke(a) => revoke_key(&a).and_then(|answer| emit(&answer, json)),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => failure.report(json),
    }
}

/// A problem of the shared checks as one line: malformed input exits 2,
/// the rest (a login taken, nothing found) 1.
fn problem_failure(p: Problem) -> Failure {
    let exit = if p.status == 400 { EXIT_USAGE } else { EXIT_RULE };
    let message = p.detail.clone().unwrap_or_else(|| p.code.clone());
    Failure::from_parts(exit, &p.code, message)
}

/// The registry of `system`, migrated (its directory made for SQLite).
fn open(system: &SystemArgs) -> Result<Database, Failure> {
    if system.database.is_none() {
        std::fs::create_dir_all(&system.data)
            .map_err(|e| Failure::internal(format!("{}: {e}", system.data.display())))?;
    }
    let db = Database::open(&system.address()).map_err(|e| Failure::from_parts(EXIT_RULE, e.code(), e.to_string()))?;
    db.migrate()
        .map_err(|e| Failure::from_parts(EXIT_RULE, e.code(), e.to_string()))?;
    Ok(db)
}

/// Who the audit log names: the operator's user name.
fn actor() -> String {
    let user: String = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
        .take(32)
        .collect();
    if user.is_empty() {
        "cli:operator".to_owned()
    } else {
        format!("cli:{user}")
    }
}

/// Now, on the clock of the environment (`MYNACARD_TODAY`).
fn now() -> Result<DateTime<Utc>, Failure> {
    let clock: Arc<dyn Clock> = environment_clock()?;
    Ok(clock.now())
}

fn role_text(role: StaffRole) -> &'static str {
    match role {
        StaffRole::Window => "窓口 / window",
        StaffRole::Hotline => "コールセンター / hotline",
        StaffRole::Admin => "管理者 / admin",
    }
}

fn account_text(a: &Account) -> String {
    let role = role_text(a.role.into());
    let municipality = a.municipality.as_deref().map(|m| format!(" {m}")).unwrap_or_default();
    let disabled = if a.disabled { ", 無効 / disabled" } else { "" };
    format!("{} ({}, {role}{municipality}{disabled})", a.login, a.display_name)
}

/// A staff account just made.
#[derive(Debug, Serialize)]
pub struct Added {
    /// The account.
    pub account: Account,
    /// The password, when it was generated (shown this once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl Answer for Added {
    fn lines(&self) -> Vec<Line> {
        let mut lines = vec![line(
            Phrase::new("職員を登録", "Staff account created"),
            account_text(&self.account),
        )];
        if let Some(password) = &self.password {
            lines.push(line(
                Phrase::new("初期パスワード（一度だけ表示）", "Password (shown once)"),
                password,
            ));
        }
        lines
    }
}

fn add(a: &AddArgs) -> Result<Added, Failure> {
    let request =
        AccountRequest::parse(&a.login, &a.name, a.role.into(), a.municipality.as_deref()).map_err(problem_failure)?;
    let (password, generated) = match std::env::var(PASSWORD_ENV) {
        Ok(given) if !given.is_empty() => (given, false),
        _ => (bootstrap::random_password(), true),
    };
    mynacard_server::access::check_new_password(&password).map_err(|p| problem_failure(p).context(PASSWORD_ENV))?;
    let hash = mynacard_server::access::hash_password(&password).map_err(problem_failure)?;
    let at = now()?;
    let db = open(&a.system)?;
    let actor = actor();
    let account = db
        .transaction(|tx| bootstrap::insert_account(tx, &actor, &request, &hash, at))
        .map_err(|TxProblem(p)| problem_failure(p))?;
    Ok(Added {
        account: Account::from(&account),
        password: generated.then_some(password),
    })
}

/// The staff accounts.
#[derive(Debug, Serialize)]
pub struct StaffList {
    /// By login.
    pub accounts: Vec<Account>,
}

impl Answer for StaffList {
    fn lines(&self) -> Vec<Line> {
        if self.accounts.is_empty() {
            return vec![line(Phrase::new("職員", "Staff"), "なし / none")];
        }
        self.accounts
            .iter()
            .map(|a| line(Phrase::new("職員", "Staff"), account_text(a)))
            .collect()
    }
}

fn list_staff(system: &SystemArgs) -> Result<StaffList, Failure> {
    let db = open(system)?;
    let accounts = db
        .read(store::list_staff_accounts)
        .map_err(|e| Failure::from_parts(EXIT_RULE, e.code(), e.to_string()))?;
    Ok(StaffList {
        accounts: accounts.iter().map(Account::from).collect(),
    })
}

/// An account disabled or enabled.
#[derive(Debug, Serialize)]
pub struct Changed {
    /// The account as it now is.
    pub account: Account,
    /// Sessions ended.
    pub sessions_ended: u64,
}

impl Answer for Changed {
    fn lines(&self) -> Vec<Line> {
        let what = if self.account.disabled {
            Phrase::new("無効化", "Disabled")
        } else {
            Phrase::new("有効化", "Enabled")
        };
        vec![
            line(what, account_text(&self.account)),
            line(Phrase::new("終了したセッション", "Sessions ended"), self.sessions_ended),
        ]
    }
}

fn set_disabled(a: &LoginArgs, disabled: bool) -> Result<Changed, Failure> {
    let at = now()?;
    let db = open(&a.system)?;
    let actor = actor();
    let (account, ended) = db
        .transaction(|tx| {
            let Some(account) = store::staff_account_by_login(tx, &a.login)? else {
                return Err(Problem::not_found(format!("no staff account {:?}", a.login)).into());
            };
            bootstrap::set_account_disabled(tx, &actor, account.id, disabled, at)
        })
        .map_err(|TxProblem(p)| problem_failure(p))?;
    Ok(Changed {
        account: Account::from(&account),
        sessions_ended: ended,
    })
}

/// A key just issued.
#[derive(Debug, Serialize)]
pub struct KeyCreated {
    /// The whole key (shown this once).
    pub key: String,
    /// Its record.
    pub api_key: ApiKeyInfo,
}

fn key_text(k: &ApiKeyInfo) -> String {
    let kind = match k.kind {
        mynacard_server::api::admin::KeyKind::Kiosk => "kiosk",
        mynacard_server::api::admin::KeyKind::RelyingParty => "relying-party",
    };
    let municipality = k.municipality.as_deref().map(|m| format!(" {m}")).unwrap_or_default();
    let revoked = k
        .revoked_at
        .map(|at| format!(", 失効 / revoked {}", at.format("%Y-%m-%dT%H:%M:%SZ")))
        .unwrap_or_default();
    format!("{} ({kind}{municipality}, mnk_{}_…{revoked})", k.name, k.prefix)
}

impl Answer for KeyCreated {
    fn lines(&self) -> Vec<Line> {
        vec![
            line(Phrase::new("APIキーを発行", "API key issued"), key_text(&self.api_key)),
            line(Phrase::new("APIキー（一度だけ表示）", "Key (shown once)"), &self.key),
        ]
    }
}

fn create_key(a: &CreateKeyArgs) -> Result<KeyCreated, Failure> {
    bootstrap::check_key_name(&a.name).map_err(problem_failure)?;
    let municipality = a
        .municipality
        .as_deref()
        .map(|code| {
            MunicipalityCode::parse(code)
                .map_err(|e| Failure::usage("invalid_field", format!("--municipality {code}: {e}")))
        })
        .transpose()?;
    let at = now()?;
    let db = open(&a.system)?;
    let actor = actor();
    let (key, stored) = db
        .transaction(|tx| bootstrap::insert_api_key(tx, &actor, &a.name, a.kind.into(), municipality, at))
        .map_err(|TxProblem(p)| problem_failure(p))?;
    Ok(KeyCreated {
        key,
        api_key: ApiKeyInfo::from(&stored),
    })
}

/// The API keys.
#[derive(Debug, Serialize)]
pub struct KeyList {
    /// By name, revoked ones included.
    pub api_keys: Vec<ApiKeyInfo>,
}

impl Answer for KeyList {
    fn lines(&self) -> Vec<Line> {
        if self.api_keys.is_empty() {
            return vec![line(Phrase::new("APIキー", "API key"), "なし / none")];
        }
        self.api_keys
            .iter()
            .map(|k| line(Phrase::new("APIキー", "API key"), key_text(k)))
            .collect()
    }
}

fn list_keys(system: &SystemArgs) -> Result<KeyList, Failure> {
    let db = open(system)?;
    let keys = db
        .read(store::list_api_keys)
        .map_err(|e| Failure::from_parts(EXIT_RULE, e.code(), e.to_string()))?;
    Ok(KeyList {
        api_keys: keys.iter().map(ApiKeyInfo::from).collect(),
    })
}

/// A key revoked.
#[derive(Debug, Serialize)]
pub struct KeyRevoked {
    /// The key's record.
    pub api_key: ApiKeyInfo,
}

impl Answer for KeyRevoked {
    fn lines(&self) -> Vec<Line> {
        vec![line(
            Phrase::new("APIキーを失効", "API key revoked"),
            key_text(&self.api_key),
        )]
    }
}

fn revoke_key(a: &NameArgs) -> Result<KeyRevoked, Failure> {
    let at = now()?;
    let db = open(&a.system)?;
    let actor = actor();
    let key = db
        .transaction(|tx| {
            let Some(key) = store::list_api_keys(tx)?.into_iter().find(|k| k.name == a.name) else {
                return Err(Problem::not_found(format!("no API key named {:?}", a.name)).into());
            };
            bootstrap::revoke_api_key(tx, &actor, key.id, at)
        })
        .map_err(|TxProblem(p)| problem_failure(p))?;
    Ok(KeyRevoked {
        api_key: ApiKeyInfo::from(&key),
    })
}
