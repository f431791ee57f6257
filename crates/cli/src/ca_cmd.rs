//! `mynacard ca …`: the CA operator's tool.
//!
//! Keys: software keys are encrypted under a passphrase taken from
//! `MYNACARD_CA_PASSPHRASE`, else `--passphrase-file`, else the file
//! `DIR/passphrase` that `ca init` creates (mode 0600) when neither is
//! given — a convenience for demos and tests; production supplies its own.
//! With `--pkcs11-module`, keys are generated on the token and never leave
//! it; the user PIN comes from `MYNACARD_PKCS11_PIN`, `--pkcs11-pin` or
//! `DIR/pkcs11-pin` (written by `ca init`, 0600) in that order.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use mynacard_pki::ca::{
    default_passphrase, read_secret, CaRepository, CertificateAuthority, IssuanceOptionsConfig, IssueRequest, KeyAccess,
};
use mynacard_pki::name::Hierarchy;
use mynacard_pki::profile::{self, Holder, Profile, Sex};
use mynacard_pki::signer::write_atomically;
use mynacard_pki::status::{CertStatus, CrlReason, StatusChange};
use mynacard_pki::{PkiError, Serial};
use mynacard_rules::date::parse_date;
use mynacard_rules::numbers::PREFECTURES;
use mynacard_store::SqliteCaRepository;
use serde::{Deserialize, Serialize};

use crate::output::{emit, line, Answer, Failure, Line, Phrase};

/// `mynacard ca`.
#[derive(Debug, Args)]
pub struct CaArgs {
    /// Print one JSON object instead of bilingual text
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: CaCommand,
}

#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Set up the signature and user-authentication roots and their OCSP responders
    Init(InitArgs),
    /// Issue a certificate for a public key made on a card (validity from the rules engine)
    Issue(IssueArgs),
    /// Revoke a certificate, or put it on hold (--reason certificateHold)
    Revoke(RevokeArgs),
    /// Release a smartphone user-authentication certificate from hold (the only case allowed)
    ReleaseHold(SerialArgs),
    /// Show a certificate's status
    Status(SerialArgs),
    /// Write the full CRL of a CA (DER)
    Crl(CrlArgs),
    /// Write the root and OCSP responder certificates (PEM)
    Roots(RootsArgs),
}

/// Where the CA is and how to reach its keys.
#[derive(Debug, Args, Clone)]
pub struct KeyArgs {
    /// The CA directory
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// A file holding the passphrase of the software keys
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// The PKCS#11 user PIN (else MYNACARD_PKCS11_PIN or DIR/pkcs11-pin)
    #[arg(long, value_name = "PIN")]
    pub pkcs11_pin: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// Name the CAs like the JPKI test hierarchy (O=JPKI-TEST, test policy OIDs)
    #[arg(long)]
    test: bool,
    /// Keep the keys on a PKCS#11 token through this module (e.g. /usr/lib/softhsm/libsofthsm2.so)
    #[arg(long, value_name = "PATH", requires = "pkcs11_pin")]
    pkcs11_module: Option<PathBuf>,
    /// The token's label
    #[arg(long, value_name = "LABEL", default_value = "mynacard")]
    pkcs11_token: String,
    /// Add an AIA OCSP URL to end-entity certificates (JPKI's carry none; some validators need one)
    #[arg(long, value_name = "URL")]
    ocsp_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// sign | auth | smartphone-sign | smartphone-auth
    #[arg(long, value_name = "PROFILE", value_parser = profile_arg)]
    profile: Profile,
    /// The subject's public key (PEM "PUBLIC KEY" or DER SubjectPublicKeyInfo), RSA-2048
    #[arg(long, value_name = "PUB.pem")]
    pubkey: PathBuf,
    /// The holder: JSON with name, address, birth_date, sex, municipality (romaji)
    #[arg(long, value_name = "HOLDER.json")]
    holder: PathBuf,
    /// The issuance day (default: today in Japan)
    #[arg(long, value_name = "DATE", value_parser = date_arg)]
    issued: Option<NaiveDate>,
    /// Cap the validity: the card's expiry (for smartphone profiles: the card certificate's expiry)
    #[arg(long, value_name = "DATE", value_parser = date_arg)]
    not_after: Option<NaiveDate>,
    /// The expiry of the certificate being renewed (renewal in its window runs to the 6th birthday)
    #[arg(long, value_name = "DATE", value_parser = date_arg)]
    previous_expiry: Option<NaiveDate>,
    /// The holder is an adult ward (成年被後見人): no signature certificate
    #[arg(long)]
    adult_ward: bool,
    /// Where to write the certificate (PEM)
    #[arg(long, value_name = "CERT.pem")]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// The certificate's serial, hexadecimal
    #[arg(long, value_name = "HEX")]
    serial: String,
    /// unspecified | keyCompromise | cACompromise | affiliationChanged | superseded | cessationOfOperation | certificateHold
    #[arg(long, value_name = "REASON", value_parser = reason_arg)]
    reason: CrlReason,
}

#[derive(Debug, Args)]
pub struct SerialArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// The certificate's serial, hexadecimal
    #[arg(long, value_name = "HEX")]
    serial: String,
}

#[derive(Debug, Args)]
pub struct CrlArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// sign | auth
    #[arg(long = "ca", value_name = "CA", value_parser = hierarchy_arg)]
    hierarchy: Hierarchy,
    /// Where to write the CRL (DER)
    #[arg(long, value_name = "CRL.der")]
    out: PathBuf,
    /// Hours until nextUpdate
    #[arg(long, value_name = "HOURS", default_value_t = 24)]
    next_update_hours: u32,
}

#[derive(Debug, Args)]
pub struct RootsArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// The directory to write sign-root.pem, auth-root.pem, sign-ocsp.pem, auth-ocsp.pem into
    #[arg(long, value_name = "D")]
    out_dir: PathBuf,
}

fn profile_arg(text: &str) -> Result<Profile, String> {
    Profile::from_short(text).ok_or_else(|| "expected sign, auth, smartphone-sign or smartphone-auth".to_owned())
}

fn hierarchy_arg(text: &str) -> Result<Hierarchy, String> {
    Hierarchy::from_short(text).ok_or_else(|| "expected sign or auth".to_owned())
}

pub fn date_arg(text: &str) -> Result<NaiveDate, mynacard_rules::RuleError> {
    parse_date(text)
}

/// The CRLReason names of RFC 5280.
pub const REASONS: [(&str, CrlReason); 7] = [
    ("unspecified", CrlReason::Unspecified),
    ("keyCompromise", CrlReason::KeyCompromise),
    ("cACompromise", CrlReason::CaCompromise),
    ("affiliationChanged", CrlReason::AffiliationChanged),
    ("superseded", CrlReason::Superseded),
    ("cessationOfOperation", CrlReason::CessationOfOperation),
    ("certificateHold", CrlReason::CertificateHold),
];

fn reason_arg(text: &str) -> Result<CrlReason, String> {
    REASONS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
        .map(|(_, r)| *r)
        .ok_or_else(|| format!("expected one of {}", REASONS.map(|(n, _)| n).join(", ")))
}

fn reason_name(reason: CrlReason) -> &'static str {
    REASONS
        .iter()
        .find(|(_, r)| *r == reason)
        .map_or("unspecified", |(n, _)| n)
}

impl Failure {
    /// An error of the CA: bad input files are usage errors (2), the rest 1.
    pub fn pki(err: &PkiError) -> Failure {
        let usage = matches!(
            err,
            PkiError::Malformed { .. } | PkiError::UnsupportedKey(_) | PkiError::Holder(_) | PkiError::Io { .. }
        );
        if usage {
            Failure::usage(err.code(), err.to_string())
        } else {
            Failure::from_parts(crate::output::EXIT_RULE, err.code(), err.to_string())
        }
    }
}

/// Runs `mynacard ca …`.
pub fn run(args: CaArgs) -> std::process::ExitCode {
    let json = args.json;
    let result = match args.command {
        CaCommand::Init(a) => init(&a).and_then(|answer| emit(&answer, json)),
        CaCommand::Issue(a) => issue(&a).and_then(|answer| emit(&answer, json)),
        CaCommand::Revoke(a) => revoke(&a).and_then(|answer| emit(&answer, json)),
        CaCommand::ReleaseHold(a) => release(&a).and_then(|answer| emit(&answer, json)),
        CaCommand::Status(a) => status(&a).and_then(|answer| emit(&answer, json)),
        CaCommand::Crl(a) => crl(&a).and_then(|answer| emit(&answer, json)),
        CaCommand::Roots(a) => roots(&a).and_then(|answer| emit(&answer, json)),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => failure.report(json),
    }
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn pki(e: PkiError) -> Failure {
    Failure::pki(&e)
}

/// The database of the CA in `dir`.
pub fn repository(dir: &Path) -> Result<Arc<SqliteCaRepository>, Failure> {
    SqliteCaRepository::open(&dir.join("ca.db")).map(Arc::new).map_err(pki)
}

/// How to reach the keys of the CA in `keys.dir`.
pub fn key_access(keys: &KeyArgs) -> Result<KeyAccess, Failure> {
    let config = CertificateAuthority::read_config(&keys.dir).map_err(|e| match e {
        PkiError::Io { .. } => Failure::usage(
            "no_ca",
            format!("{}: no CA here (run `mynacard ca init --dir …`)", keys.dir.display()),
        ),
        other => pki(other),
    })?;
    match config.token {
        Some(token) => {
            let pin = match (std::env::var("MYNACARD_PKCS11_PIN").ok(), &keys.pkcs11_pin) {
                (Some(pin), _) => pin,
                (None, Some(pin)) => pin.clone(),
                (None, None) => String::from_utf8(read_secret(&keys.dir.join("pkcs11-pin")).map_err(pki)?)
                    .map_err(|_| Failure::usage("pin", "the PKCS#11 PIN file is not UTF-8"))?,
            };
            Ok(KeyAccess::Pkcs11 {
                module: token.module,
                token_label: token.token_label,
                pin,
            })
        }
        None => passphrase(keys, false).map(KeyAccess::Passphrase),
    }
}

fn passphrase(keys: &KeyArgs, create: bool) -> Result<Vec<u8>, Failure> {
    if std::env::var("MYNACARD_CA_PASSPHRASE").is_err() {
        if let Some(file) = &keys.passphrase_file {
            return read_secret(file).map_err(pki);
        }
    }
    default_passphrase(&keys.dir, create).map_err(pki)
}

/// Opens the CA in `keys.dir`.
pub fn open(keys: &KeyArgs) -> Result<CertificateAuthority, Failure> {
    let access = key_access(keys)?;
    CertificateAuthority::open(&keys.dir, &access, repository(&keys.dir)?).map_err(pki)
}

#[derive(Serialize)]
struct CertificateOut {
    hierarchy: &'static str,
    generation: u32,
    root_file: String,
    ocsp_file: String,
    root_subject: String,
}

#[derive(Serialize)]
struct InitAnswer {
    dir: String,
    test: bool,
    keys: &'static str,
    passphrase_file: Option<String>,
    roots: Vec<CertificateOut>,
}

const L_CA_DIR: Phrase = Phrase::new("認証局", "CA directory");
const L_ROOT: Phrase = Phrase::new("ルート証明書", "Root certificate");
const L_KEYS: Phrase = Phrase::new("鍵の保管", "Keys");
const L_PASSPHRASE: Phrase = Phrase::new("パスフレーズ", "Passphrase file");
const L_SERIAL: Phrase = Phrase::new("シリアル番号", "Serial");
const L_PROFILE: Phrase = Phrase::new("証明書の種類", "Profile");
const L_LAST_VALID: Phrase = Phrase::new("有効期限", "Valid until");
const L_FILE: Phrase = Phrase::new("出力ファイル", "Written to");
const L_STATUS: Phrase = Phrase::new("状態", "Status");
const L_ENTRIES: Phrase = Phrase::new("失効リストの件数", "CRL entries");
const L_BYTES: Phrase = Phrase::new("大きさ", "Size (bytes)");

impl Answer for InitAnswer {
    fn lines(&self) -> Vec<Line> {
        let mut lines = vec![line(L_CA_DIR, &self.dir), line(L_KEYS, self.keys)];
        if let Some(p) = &self.passphrase_file {
            lines.push(line(L_PASSPHRASE, p));
        }
        for r in &self.roots {
            lines.push(line(
                L_ROOT,
                format!(
                    "{} #{:02} {} ({})",
                    r.hierarchy, r.generation, r.root_file, r.root_subject
                ),
            ));
        }
        lines
    }
}

fn init(a: &InitArgs) -> Result<InitAnswer, Failure> {
    let dir = &a.keys.dir;
    std::fs::create_dir_all(dir).map_err(|e| pki(PkiError::io(dir, e)))?;
    let (access, keys, passphrase_file) = match &a.pkcs11_module {
        Some(module) => {
            let pin = a.keys.pkcs11_pin.clone().unwrap_or_default();
            write_atomically(&dir.join("pkcs11-pin"), format!("{pin}\n").as_bytes(), true).map_err(pki)?;
            (
                KeyAccess::Pkcs11 {
                    module: module.clone(),
                    token_label: a.pkcs11_token.clone(),
                    pin,
                },
                "pkcs11",
                None,
            )
        }
        None => {
            let created = std::env::var("MYNACARD_CA_PASSPHRASE").is_err() && a.keys.passphrase_file.is_none();
            let p = passphrase(&a.keys, true)?;
            let file = created.then(|| dir.join("passphrase").display().to_string());
            (KeyAccess::Passphrase(p), "software (AES-256-GCM, PBKDF2)", file)
        }
    };
    let options = IssuanceOptionsConfig {
        ocsp_url: a.ocsp_url.clone(),
        cps_uri: None,
    };
    let ca = CertificateAuthority::init(dir, a.test, &access, options, repository(dir)?, now()).map_err(pki)?;
    let roots = ca
        .generations()
        .iter()
        .map(|g| CertificateOut {
            hierarchy: g.config.hierarchy.short(),
            generation: g.config.generation,
            root_file: g.config.root_certificate.clone(),
            ocsp_file: g.config.ocsp_certificate.clone(),
            root_subject: g.root.tbs_certificate().subject().to_string(),
        })
        .collect();
    Ok(InitAnswer {
        dir: dir.display().to_string(),
        test: a.test,
        keys,
        passphrase_file,
        roots,
    })
}

/// HOLDER.json.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolderFile {
    name: String,
    address: String,
    birth_date: String,
    sex: Sex,
    municipality: String,
    /// Romaji; derived from the address's prefecture when absent.
    #[serde(default)]
    prefecture: Option<String>,
    #[serde(default)]
    name_flags: Option<String>,
    #[serde(default)]
    address_flags: Option<String>,
}

pub fn read_holder(path: &Path) -> Result<Holder, Failure> {
    let text = std::fs::read(path).map_err(|e| pki(PkiError::io(path, e)))?;
    let file: HolderFile =
        serde_json::from_slice(&text).map_err(|e| Failure::usage("holder", format!("{}: {e}", path.display())))?;
    let birth_date = parse_date(&file.birth_date)
        .map_err(|e| Failure::usage("holder", format!("{}: birth_date {e}", path.display())))?;
    let prefecture = match file.prefecture {
        Some(p) => p,
        None => PREFECTURES
            .iter()
            .find(|(ja, _)| file.address.starts_with(ja))
            .map(|(_, en)| (*en).to_owned())
            .ok_or_else(|| {
                Failure::usage(
                    "holder",
                    format!(
                        "{}: the address must start with a prefecture (都道府県), or give \"prefecture\" in romaji",
                        path.display()
                    ),
                )
            })?,
    };
    Ok(Holder {
        name: file.name,
        sex: file.sex,
        birth_date,
        address: file.address,
        prefecture,
        municipality: file.municipality,
        name_flags: file.name_flags,
        address_flags: file.address_flags,
    })
}

#[derive(Serialize)]
struct IssueAnswer {
    serial: String,
    profile: &'static str,
    not_after: NaiveDate,
    out: String,
}

impl Answer for IssueAnswer {
    fn lines(&self) -> Vec<Line> {
        vec![
            line(L_SERIAL, &self.serial),
            line(L_PROFILE, self.profile),
            line(L_LAST_VALID, self.not_after),
            line(L_FILE, &self.out),
        ]
    }
}

fn issue(a: &IssueArgs) -> Result<IssueAnswer, Failure> {
    let holder = read_holder(&a.holder)?;
    let public = std::fs::read(&a.pubkey).map_err(|e| pki(PkiError::io(&a.pubkey, e)))?;
    let public_key_der = profile::from_pem("PUBLIC KEY", &public)
        .map_err(|e| Failure::usage("pubkey", format!("{}: {e}", a.pubkey.display())))?;
    profile::check_rsa_2048(&public_key_der)
        .map_err(|e| Failure::usage(e.code(), format!("{}: {e}", a.pubkey.display())))?;
    let ca = open(&a.keys)?;
    let issued_on = a.issued.unwrap_or_else(|| mynacard_pki::time::jst_date(now()));
    let issued = ca
        .issue(
            &IssueRequest {
                profile: a.profile,
                public_key_der,
                holder,
                issued: issued_on,
                not_after_cap: a.not_after,
                previous_expiry: a.previous_expiry,
                adult_ward: a.adult_ward,
                counter_code: "A01".into(),
            },
            now(),
        )
        .map_err(pki)?;
    write_atomically(&a.out, profile::to_pem("CERTIFICATE", &issued.der).as_bytes(), false).map_err(pki)?;
    Ok(IssueAnswer {
        serial: issued.serial.to_hex(),
        profile: a.profile.short(),
        not_after: issued.last_valid_day,
        out: a.out.display().to_string(),
    })
}

#[derive(Serialize)]
struct StatusAnswer {
    serial: String,
    status: &'static str,
    reason: Option<&'static str>,
    revoked_at: Option<DateTime<Utc>>,
}

impl StatusAnswer {
    fn new(serial: &Serial, status: &CertStatus) -> StatusAnswer {
        match status {
            CertStatus::Good => StatusAnswer {
                serial: serial.to_hex(),
                status: "good",
                reason: None,
                revoked_at: None,
            },
            CertStatus::Revoked { at, reason, .. } => StatusAnswer {
                serial: serial.to_hex(),
                status: if *reason == CrlReason::CertificateHold {
                    "on_hold"
                } else {
                    "revoked"
                },
                reason: Some(reason_name(*reason)),
                revoked_at: Some(*at),
            },
        }
    }
}

impl Answer for StatusAnswer {
    fn lines(&self) -> Vec<Line> {
        let status = match self.status {
            "good" => "有効 / good".to_owned(),
            "on_hold" => format!("一時保留 / on hold ({})", self.reason.unwrap_or_default()),
            _ => format!("失効 / revoked ({})", self.reason.unwrap_or_default()),
        };
        let mut lines = vec![line(L_SERIAL, &self.serial), line(L_STATUS, status)];
        if let Some(at) = self.revoked_at {
            lines.push(line(Phrase::new("失効日時", "Revoked at"), at.to_rfc3339()));
        }
        lines
    }
}

fn serial(text: &str) -> Result<Serial, Failure> {
    Serial::from_hex(text).map_err(|e| Failure::usage("serial", format!("--serial {text}: {e}")))
}

fn revoke(a: &RevokeArgs) -> Result<StatusAnswer, Failure> {
    let serial = serial(&a.serial)?;
    let ca = open(&a.keys)?;
    let status = ca.revoke(&serial, a.reason, now()).map_err(pki)?;
    Ok(StatusAnswer::new(&serial, &status))
}

fn release(a: &SerialArgs) -> Result<StatusAnswer, Failure> {
    let serial = serial(&a.serial)?;
    let ca = open(&a.keys)?;
    let status = ca.change_status(&serial, &StatusChange::ReleaseHold).map_err(pki)?;
    Ok(StatusAnswer::new(&serial, &status))
}

fn status(a: &SerialArgs) -> Result<StatusAnswer, Failure> {
    let serial = serial(&a.serial)?;
    let record = CaRepository::certificate(repository(&a.keys.dir)?.as_ref(), &serial)
        .map_err(pki)?
        .ok_or_else(|| pki(PkiError::UnknownSerial(serial.to_hex())))?;
    Ok(StatusAnswer::new(&serial, &record.status))
}

#[derive(Serialize)]
struct CrlAnswer {
    ca: &'static str,
    entries: u64,
    bytes: u64,
    out: String,
}

impl Answer for CrlAnswer {
    fn lines(&self) -> Vec<Line> {
        vec![
            line(Phrase::new("認証局", "CA"), self.ca),
            line(L_ENTRIES, self.entries),
            line(L_BYTES, self.bytes),
            line(L_FILE, &self.out),
        ]
    }
}

fn crl(a: &CrlArgs) -> Result<CrlAnswer, Failure> {
    let ca = open(&a.keys)?;
    let now = now();
    let next = now + chrono::TimeDelta::hours(i64::from(a.next_update_hours));
    let mut bytes = Vec::new();
    let stats = ca.write_crl(a.hierarchy, now, next, &mut bytes).map_err(pki)?;
    write_atomically(&a.out, &bytes, false).map_err(pki)?;
    Ok(CrlAnswer {
        ca: a.hierarchy.short(),
        entries: stats.entries,
        bytes: stats.bytes,
        out: a.out.display().to_string(),
    })
}

#[derive(Serialize)]
struct RootsAnswer {
    files: Vec<String>,
}

impl Answer for RootsAnswer {
    fn lines(&self) -> Vec<Line> {
        self.files.iter().map(|f| line(L_FILE, f)).collect()
    }
}

fn roots(a: &RootsArgs) -> Result<RootsAnswer, Failure> {
    let config = CertificateAuthority::read_config(&a.keys.dir).map_err(pki)?;
    std::fs::create_dir_all(&a.out_dir).map_err(|e| pki(PkiError::io(&a.out_dir, e)))?;
    let mut files = Vec::new();
    for hierarchy in Hierarchy::ALL {
        // The current (newest) generation; older ones stay in DIR/certs.
        let Some(g) = config
            .generations
            .iter()
            .filter(|g| g.hierarchy == hierarchy)
            .max_by_key(|g| g.generation)
        else {
            continue;
        };
        for (source, name) in [(&g.root_certificate, "root"), (&g.ocsp_certificate, "ocsp")] {
            let target = a.out_dir.join(format!("{}-{name}.pem", hierarchy.short()));
            let bytes =
                std::fs::read(a.keys.dir.join(source)).map_err(|e| pki(PkiError::io(&a.keys.dir.join(source), e)))?;
            write_atomically(&target, &bytes, false).map_err(pki)?;
            files.push(target.display().to_string());
        }
    }
    Ok(RootsAnswer { files })
}
