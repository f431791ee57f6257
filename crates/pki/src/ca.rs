//! The certificate authority: set-up, issuance, revocation and CRLs over a
//! directory of keys and certificates and a repository of records.
//!
//! The CA only signs what it is asked to and records everything it signs:
//! the serial and the to-be-signed bytes are recorded *before* the
//! signature is made, so a crash can never leave a certificate that exists
//! but cannot be revoked (the habit of Boulder). A pending record found on
//! opening is signed again — RSA PKCS#1 v1.5 is deterministic, so the
//! result is the very certificate that may have escaped.
//!
//! Layout of a CA directory:
//!
//! ```text
//! DIR/ca.json                     configuration: test flag, options, key backend, generations
//! DIR/certs/{sign,auth}-root-NN.pem, {sign,auth}-ocsp-NN.pem
//! DIR/keys/{sign,auth}-{root,ocsp}-NN.key   software keys, encrypted (absent with PKCS#11)
//! DIR/ca.db                       the repository (SQLite, owned by mynacard-store)
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use der::{Decode, Encode};
use mynacard_rules::certificate::{certificate_validity, CertificateIssuance, SignCertRefusal};
use mynacard_rules::Policies;
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;

use crate::crl::{write_crl, CrlIssuer, CrlParams, CrlStats};
use crate::name::Hierarchy;
use crate::pkcs11::{Pkcs11Config, Pkcs11Signer};
use crate::profile::{self, EndEntity, Holder, IssuanceOptions, Issuer, Profile};
use crate::signer::{sha256, write_atomically, Signer, SoftwareKey};
use crate::status::{apply, CertStatus, CrlReason, RevokedEntry, StatusChange};
use crate::time::{end_of_day_jst, jst_date};
use crate::{PkiError, Serial};

/// A certificate the CA has recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    /// Its serial (unique across the CA).
    pub serial: Serial,
    /// The issuing hierarchy.
    pub hierarchy: Hierarchy,
    /// The issuing root's generation.
    pub generation: u32,
    /// The profile (`sign`, `auth`, `smartphone-sign`, `smartphone-auth`, or
    /// `ocsp` for a responder certificate).
    pub profile: String,
    /// notBefore.
    pub not_before: DateTime<Utc>,
    /// notAfter.
    pub not_after: DateTime<Utc>,
    /// The to-be-signed bytes, recorded before signing.
    pub tbs: Vec<u8>,
    /// The certificate, once signed.
    pub der: Option<Vec<u8>>,
    /// Its status.
    pub status: CertStatus,
}

/// The `profile` of end-entity certificates in [`CertificateRecord`].
pub const END_ENTITY_PROFILES: [&str; 4] = ["sign", "auth", "smartphone-sign", "smartphone-auth"];

/// A status change as the responders poll for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    /// Monotonic sequence number.
    pub seq: u64,
    /// Whose status changed.
    pub serial: Serial,
    /// In which hierarchy.
    pub hierarchy: Hierarchy,
}

/// Where the CA keeps its records. Implemented by the store (SQLite,
/// PostgreSQL); every method is one transaction.
pub trait CaRepository: Send + Sync {
    /// Records a certificate about to be signed (status good, no DER yet).
    /// Fails if the serial exists.
    fn record_pending(&self, record: &CertificateRecord) -> Result<(), PkiError>;
    /// Records the signed certificate of a pending record. Recording the
    /// same bytes again is not an error (a CA opened by another process may
    /// have signed the pending record too; the signature is deterministic).
    fn record_issued(&self, serial: &Serial, der: &[u8]) -> Result<(), PkiError>;
    /// The record of `serial`.
    fn certificate(&self, serial: &Serial) -> Result<Option<CertificateRecord>, PkiError>;
    /// Pending records (recorded, never signed).
    fn pending(&self) -> Result<Vec<CertificateRecord>, PkiError>;
    /// End-entity certificates ([`END_ENTITY_PROFILES`]) still good whose
    /// notBefore is in `[from, to)`, in notBefore order: what a lifecycle
    /// authority checks against its registry to find certificates issued
    /// for an operation that never completed.
    fn good_issued_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<CertificateRecord>, PkiError>;
    /// Replaces the status of `serial` if it is still `expected`; returns
    /// whether it did (compare-and-set), and logs a status event.
    fn set_status(&self, serial: &Serial, expected: &CertStatus, new: &CertStatus) -> Result<bool, PkiError>;
    /// Visits the revoked (and held) certificates of one root generation, in serial order.
    fn revoked(
        &self,
        hierarchy: Hierarchy,
        generation: u32,
        visit: &mut dyn FnMut(RevokedEntry) -> Result<(), PkiError>,
    ) -> Result<(), PkiError>;
    /// The next CRL number of one root generation (1, 2, …), durably counted.
    fn next_crl_number(&self, hierarchy: Hierarchy, generation: u32) -> Result<u64, PkiError>;
    /// Status events after `seq`, oldest first.
    fn status_events_since(&self, seq: u64) -> Result<Vec<StatusEvent>, PkiError>;
    /// How many end-entity certificates the hierarchy has issued.
    fn issued_count(&self, hierarchy: Hierarchy) -> Result<u64, PkiError>;
    /// The next issuance sequence number of the hierarchy (1, 2, …), durably
    /// counted; it goes into the signature certificate's CN.
    fn next_sequence(&self, hierarchy: Hierarchy) -> Result<u64, PkiError>;
}

/// Where a CA key lives.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "backend", rename_all = "snake_case")]
pub enum KeyRef {
    /// An encrypted key file, relative to the CA directory.
    Software { file: String },
    /// A key on the PKCS#11 token, by label.
    Pkcs11 { label: String },
}

/// One generation of a hierarchy: a root and its OCSP responder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Generation {
    /// Signature or user authentication.
    pub hierarchy: Hierarchy,
    /// 1, 2, … (JPKI numbers its roots 01, 02, 03).
    pub generation: u32,
    /// The root certificate, PEM, relative to the CA directory.
    pub root_certificate: String,
    /// The root key.
    pub root_key: KeyRef,
    /// The delegated OCSP responder's certificate.
    pub ocsp_certificate: String,
    /// Its key.
    pub ocsp_key: KeyRef,
}

/// The PKCS#11 token holding the keys, if not software.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenConfig {
    /// The module (e.g. /usr/lib/softhsm/libsofthsm2.so).
    pub module: PathBuf,
    /// The token label.
    pub token_label: String,
}

/// `ca.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CaConfig {
    /// Format version.
    pub version: u32,
    /// The JPKI test hierarchy (O=JPKI-TEST, test policies).
    pub test: bool,
    /// Options for end-entity certificates.
    #[serde(default)]
    pub options: IssuanceOptionsConfig,
    /// The PKCS#11 token, when keys are not software.
    #[serde(default)]
    pub token: Option<TokenConfig>,
    /// Every generation, oldest first; the last of each hierarchy issues.
    pub generations: Vec<Generation>,
}

/// [`IssuanceOptions`] as stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IssuanceOptionsConfig {
    /// AIA OCSP URL for end-entity certificates.
    pub ocsp_url: Option<String>,
    /// CPS URI.
    pub cps_uri: Option<String>,
}

/// How the CA reaches its keys.
#[derive(Clone)]
pub enum KeyAccess {
    /// Software keys encrypted under this passphrase.
    Passphrase(Vec<u8>),
    /// A PKCS#11 token with this user PIN.
    Pkcs11 {
        module: PathBuf,
        token_label: String,
        pin: String,
    },
}

impl std::fmt::Debug for KeyAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyAccess::Passphrase(_) => f.write_str("KeyAccess::Passphrase(<redacted>)"),
            KeyAccess::Pkcs11 {
                module, token_label, ..
            } => {
                write!(
                    f,
                    "KeyAccess::Pkcs11 {{ module: {}, token: {token_label}, pin: <redacted> }}",
                    module.display()
                )
            }
        }
    }
}

/// Validity of a root (10 years, as JPKI's) and of a responder certificate.
const ROOT_YEARS: u32 = 10;
const RESPONDER_DAYS: i64 = 2 * 365;

/// A loaded generation: certificates parsed, signers ready.
pub struct LoadedGeneration {
    /// Its configuration.
    pub config: Generation,
    /// The root certificate, DER.
    pub root_der: Vec<u8>,
    /// The root, parsed.
    pub root: Certificate,
    /// The issuer view of the root.
    pub issuer: Issuer,
    /// The root's key.
    pub root_signer: Arc<dyn Signer>,
    /// The OCSP responder's certificate, DER.
    pub ocsp_der: Vec<u8>,
    /// The OCSP responder's key.
    pub ocsp_signer: Arc<dyn Signer>,
}

/// What [`CertificateAuthority::issue`] is asked.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// Which certificate.
    pub profile: Profile,
    /// The subject's public key, DER SubjectPublicKeyInfo.
    pub public_key_der: Vec<u8>,
    /// The holder (birth date for every profile; the basic 4 for signature ones).
    pub holder: Holder,
    /// The day of issuance (Japan).
    pub issued: NaiveDate,
    /// The card's expiry, capping the certificate (`--not-after`); for a
    /// smartphone certificate, the expiry of the corresponding card certificate.
    pub not_after_cap: Option<NaiveDate>,
    /// The expiry of the certificate being renewed, for the renewal bonus.
    pub previous_expiry: Option<NaiveDate>,
    /// The holder is an adult ward (成年被後見人).
    pub adult_ward: bool,
    /// The counter (受付窓口) code in the signature certificate's CN.
    pub counter_code: String,
}

/// A certificate just issued.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Its serial.
    pub serial: Serial,
    /// DER.
    pub der: Vec<u8>,
    /// Its last valid day (Japan).
    pub last_valid_day: NaiveDate,
}

/// The CA.
pub struct CertificateAuthority {
    dir: PathBuf,
    config: CaConfig,
    repository: Arc<dyn CaRepository>,
    generations: Vec<LoadedGeneration>,
    policies: Policies,
}

fn file_name(hierarchy: Hierarchy, role: &str, generation: u32) -> String {
    format!("{}-{role}-{generation:02}", hierarchy.short())
}

fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    std::fs::read(path).map_err(|e| PkiError::io(path, e))
}

impl CertificateAuthority {
    /// Sets up a new CA in `dir`: for each hierarchy a self-signed root
    /// and a delegated OCSP responder, keys per `access`.
    pub fn init(
        dir: &Path,
        test: bool,
        access: &KeyAccess,
        options: IssuanceOptionsConfig,
        repository: Arc<dyn CaRepository>,
        now: DateTime<Utc>,
    ) -> Result<CertificateAuthority, PkiError> {
        if dir.join("ca.json").exists() {
            return Err(PkiError::Repository(format!(
                "{} already holds a CA (ca.json exists)",
                dir.display()
            )));
        }
        for sub in ["certs", "keys"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| PkiError::io(&dir.join(sub), e))?;
        }
        let token = match access {
            KeyAccess::Pkcs11 {
                module, token_label, ..
            } => Some(TokenConfig {
                module: module.clone(),
                token_label: token_label.clone(),
            }),
            KeyAccess::Passphrase(_) => None,
        };
        let mut config = CaConfig {
            version: 1,
            test,
            options,
            token,
            generations: Vec::new(),
        };
        let mut generations = Vec::new();
        for hierarchy in Hierarchy::ALL {
            let generation = Self::make_generation(dir, &config, hierarchy, 1, access, repository.as_ref(), now)?;
            config.generations.push(generation.config.clone());
            generations.push(generation);
        }
        Self::save_config(dir, &config)?;
        // The keys just made are in hand: no need to read them back.
        Ok(CertificateAuthority {
            dir: dir.to_path_buf(),
            config,
            repository,
            generations,
            policies: Policies::default(),
        })
    }

    /// Adds a new root generation to `hierarchy` (a root key rollover); the
    /// new generation issues from now on, the old ones keep answering for
    /// what they issued.
    pub fn add_generation(
        &mut self,
        hierarchy: Hierarchy,
        access: &KeyAccess,
        now: DateTime<Utc>,
    ) -> Result<u32, PkiError> {
        let next = self
            .config
            .generations
            .iter()
            .filter(|g| g.hierarchy == hierarchy)
            .map(|g| g.generation)
            .max()
            .unwrap_or(0)
            + 1;
        let generation = Self::make_generation(
            &self.dir,
            &self.config,
            hierarchy,
            next,
            access,
            self.repository.as_ref(),
            now,
        )?;
        let mut config = self.config.clone();
        config.generations.push(generation.config.clone());
        Self::save_config(&self.dir, &config)?;
        self.config = config;
        self.generations.push(generation);
        Ok(next)
    }

    fn save_config(dir: &Path, config: &CaConfig) -> Result<(), PkiError> {
        let json = serde_json::to_vec_pretty(config).map_err(|e| PkiError::Repository(e.to_string()))?;
        write_atomically(&dir.join("ca.json"), &json, false)
    }

    fn new_key(dir: &Path, access: &KeyAccess, name: &str) -> Result<(Arc<dyn Signer>, KeyRef), PkiError> {
        match access {
            KeyAccess::Passphrase(passphrase) => {
                let key = SoftwareKey::generate()?;
                let file = format!("keys/{name}.key");
                key.save_encrypted(&dir.join(&file), passphrase)?;
                Ok((Arc::new(key), KeyRef::Software { file }))
            }
            KeyAccess::Pkcs11 {
                module,
                token_label,
                pin,
            } => {
                let label = format!("mynacard-{name}");
                let signer = Pkcs11Signer::generate(&Pkcs11Config {
                    module: module.clone(),
                    token_label: token_label.clone(),
                    pin: pin.clone(),
                    key_label: label.clone(),
                })?;
                Ok((Arc::new(signer), KeyRef::Pkcs11 { label }))
            }
        }
    }

    fn load_key(dir: &Path, access: &KeyAccess, key: &KeyRef) -> Result<Arc<dyn Signer>, PkiError> {
        match (key, access) {
            (KeyRef::Software { file }, KeyAccess::Passphrase(passphrase)) => {
                Ok(Arc::new(SoftwareKey::load_encrypted(&dir.join(file), passphrase)?))
            }
            (
                KeyRef::Pkcs11 { label },
                KeyAccess::Pkcs11 {
                    module,
                    token_label,
                    pin,
                },
            ) => Ok(Arc::new(Pkcs11Signer::open(&Pkcs11Config {
                module: module.clone(),
                token_label: token_label.clone(),
                pin: pin.clone(),
                key_label: label.clone(),
            })?)),
            (KeyRef::Software { .. }, _) => Err(PkiError::Signer(
                "this CA keeps software keys: give its passphrase, not a PKCS#11 PIN".into(),
            )),
            (KeyRef::Pkcs11 { .. }, _) => Err(PkiError::Signer(
                "this CA keeps its keys on a PKCS#11 token: give the module and PIN".into(),
            )),
        }
    }

    fn make_generation(
        dir: &Path,
        config: &CaConfig,
        hierarchy: Hierarchy,
        generation: u32,
        access: &KeyAccess,
        repository: &dyn CaRepository,
        now: DateTime<Utc>,
    ) -> Result<LoadedGeneration, PkiError> {
        let root_name = file_name(hierarchy, "root", generation);
        let (root_signer, root_key) = Self::new_key(dir, access, &root_name)?;
        let not_before = crate::time::start_of_day_jst(jst_date(now));
        let last_day = jst_date(now)
            .checked_add_months(chrono::Months::new(12 * ROOT_YEARS))
            .and_then(|d| d.pred_opt())
            .unwrap_or(NaiveDate::MAX);
        let not_after = end_of_day_jst(last_day);
        let root_serial = Serial::random()?;
        let root_tbs = profile::root_tbs(
            hierarchy,
            config.test,
            &root_serial,
            root_signer.public_key_der(),
            not_before,
            not_after,
        )?;
        let root_record = CertificateRecord {
            serial: root_serial.clone(),
            hierarchy,
            generation,
            profile: "root".into(),
            not_before,
            not_after,
            tbs: root_tbs.clone(),
            der: None,
            status: CertStatus::Good,
        };
        repository.record_pending(&root_record)?;
        let root_der = profile::assemble(&root_tbs, &root_signer.sign(&root_tbs)?)?;
        repository.record_issued(&root_serial, &root_der)?;
        let root = Certificate::from_der(&root_der).map_err(|e| PkiError::der("root", e))?;
        let issuer = Issuer::from_certificate(hierarchy, config.test, &root)?;

        let ocsp_name = file_name(hierarchy, "ocsp", generation);
        let (ocsp_signer, ocsp_key) = Self::new_key(dir, access, &ocsp_name)?;
        let ocsp_serial = Serial::random()?;
        let ocsp_not_after = now + chrono::TimeDelta::days(RESPONDER_DAYS);
        let ocsp_tbs = profile::ocsp_responder_tbs(
            &issuer,
            generation,
            &ocsp_serial,
            ocsp_signer.public_key_der(),
            not_before,
            ocsp_not_after,
        )?;
        repository.record_pending(&CertificateRecord {
            serial: ocsp_serial.clone(),
            hierarchy,
            generation,
            profile: "ocsp".into(),
            not_before,
            not_after: ocsp_not_after,
            tbs: ocsp_tbs.clone(),
            der: None,
            status: CertStatus::Good,
        })?;
        let ocsp_der = profile::assemble(&ocsp_tbs, &root_signer.sign(&ocsp_tbs)?)?;
        repository.record_issued(&ocsp_serial, &ocsp_der)?;

        let root_certificate = format!("certs/{root_name}.pem");
        let ocsp_certificate = format!("certs/{ocsp_name}.pem");
        write_atomically(
            &dir.join(&root_certificate),
            profile::to_pem("CERTIFICATE", &root_der).as_bytes(),
            false,
        )?;
        write_atomically(
            &dir.join(&ocsp_certificate),
            profile::to_pem("CERTIFICATE", &ocsp_der).as_bytes(),
            false,
        )?;
        Ok(LoadedGeneration {
            config: Generation {
                hierarchy,
                generation,
                root_certificate,
                root_key,
                ocsp_certificate,
                ocsp_key,
            },
            root_der,
            root,
            issuer,
            root_signer,
            ocsp_der,
            ocsp_signer,
        })
    }

    /// Opens the CA in `dir`, and signs any certificate left pending by a crash.
    pub fn open(
        dir: &Path,
        access: &KeyAccess,
        repository: Arc<dyn CaRepository>,
    ) -> Result<CertificateAuthority, PkiError> {
        let path = dir.join("ca.json");
        let text = read(&path)?;
        let config: CaConfig = serde_json::from_slice(&text).map_err(|e| PkiError::Malformed {
            what: "ca.json",
            why: e.to_string(),
        })?;
        let ca = Self::open_with(dir, config, access, repository)?;
        ca.finish_pending()?;
        Ok(ca)
    }

    /// Reads the configuration of the CA in `dir` without loading keys.
    pub fn read_config(dir: &Path) -> Result<CaConfig, PkiError> {
        let path = dir.join("ca.json");
        serde_json::from_slice(&read(&path)?).map_err(|e| PkiError::Malformed {
            what: "ca.json",
            why: e.to_string(),
        })
    }

    fn open_with(
        dir: &Path,
        config: CaConfig,
        access: &KeyAccess,
        repository: Arc<dyn CaRepository>,
    ) -> Result<CertificateAuthority, PkiError> {
        let mut generations = Vec::new();
        for g in &config.generations {
            let root_der = profile::from_pem("CERTIFICATE", &read(&dir.join(&g.root_certificate))?)?;
            let root = Certificate::from_der(&root_der).map_err(|e| PkiError::der("root certificate", e))?;
            let issuer = Issuer::from_certificate(g.hierarchy, config.test, &root)?;
            let ocsp_der = profile::from_pem("CERTIFICATE", &read(&dir.join(&g.ocsp_certificate))?)?;
            let root_signer = Self::load_key(dir, access, &g.root_key)?;
            let ocsp_signer = Self::load_key(dir, access, &g.ocsp_key)?;
            let spki = root
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .map_err(|e| PkiError::der("spki", e))?;
            if spki != root_signer.public_key_der() {
                return Err(PkiError::Signer(format!(
                    "the key of {} does not match its certificate",
                    g.root_certificate
                )));
            }
            generations.push(LoadedGeneration {
                config: g.clone(),
                root_der,
                root,
                issuer,
                root_signer,
                ocsp_der,
                ocsp_signer,
            });
        }
        Ok(CertificateAuthority {
            dir: dir.to_path_buf(),
            config,
            repository,
            generations,
            policies: Policies::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CaConfig {
        &self.config
    }

    /// Every loaded generation.
    pub fn generations(&self) -> &[LoadedGeneration] {
        &self.generations
    }

    /// The generation that issues for `hierarchy` (the newest).
    pub fn current(&self, hierarchy: Hierarchy) -> Result<&LoadedGeneration, PkiError> {
        self.generations
            .iter()
            .filter(|g| g.config.hierarchy == hierarchy)
            .max_by_key(|g| g.config.generation)
            .ok_or_else(|| PkiError::Repository(format!("no {} root", hierarchy.short())))
    }

    /// The generation that issued `certificate_der`, found by verifying its
    /// signature against each root (generations share one name).
    pub fn issuer_of(&self, certificate_der: &[u8]) -> Result<&LoadedGeneration, PkiError> {
        let certificate = Certificate::from_der(certificate_der).map_err(|e| PkiError::der("certificate", e))?;
        let tbs = certificate
            .tbs_certificate()
            .to_der()
            .map_err(|e| PkiError::der("certificate", e))?;
        let signature = certificate.signature().raw_bytes();
        self.generations
            .iter()
            .find(|g| crate::verify::rsa_sha256_verifies(g.root_signer.public_key_der(), &tbs, signature))
            .ok_or_else(|| PkiError::Verification("no root of this CA signed the certificate".into()))
    }

    /// Issues an end-entity certificate, its validity from the rules engine.
    pub fn issue(&self, request: &IssueRequest, now: DateTime<Utc>) -> Result<Issued, PkiError> {
        let generation = self.current(request.profile.hierarchy())?;
        let last_valid_day = self.validity(request)?;
        let serial = Serial::random()?;
        let seq = self.repository.next_sequence(request.profile.hierarchy())?;
        let subject_cn = match request.profile.hierarchy() {
            Hierarchy::Signature => format!(
                "{}{:06}{}",
                crate::time::jst_datetime(now).format("%Y%m%d%H%M%S"),
                seq % 1_000_000,
                request.counter_code
            ),
            Hierarchy::UserAuthentication => opaque_cn(&serial),
        };
        let tbs = profile::end_entity_tbs(
            &generation.issuer,
            &EndEntity {
                profile: request.profile,
                serial: &serial,
                public_key_der: &request.public_key_der,
                holder: Some(&request.holder),
                subject_cn: &subject_cn,
                not_before: now,
                not_after: end_of_day_jst(last_valid_day),
            },
            &IssuanceOptions {
                ocsp_url: self.config.options.ocsp_url.clone(),
                cps_uri: self.config.options.cps_uri.clone(),
            },
        )?;
        self.repository.record_pending(&CertificateRecord {
            serial: serial.clone(),
            hierarchy: request.profile.hierarchy(),
            generation: generation.config.generation,
            profile: request.profile.short().into(),
            not_before: now,
            not_after: end_of_day_jst(last_valid_day),
            tbs: tbs.clone(),
            der: None,
            status: CertStatus::Good,
        })?;
        let der = profile::assemble(&tbs, &generation.root_signer.sign(&tbs)?)?;
        self.repository.record_issued(&serial, &der)?;
        Ok(Issued {
            serial,
            der,
            last_valid_day,
        })
    }

    /// The last valid day of the certificate `request` asks for (rules.md §3, §12).
    fn validity(&self, request: &IssueRequest) -> Result<NaiveDate, PkiError> {
        if request.profile.smartphone() {
            // Smartphone certificates expire with the corresponding card certificate.
            let cap = request.not_after_cap.ok_or_else(|| {
                PkiError::Holder("a smartphone certificate needs --not-after: the card certificate's expiry".into())
            })?;
            if cap < request.issued {
                return Err(PkiError::Refused(format!("the card certificate expired on {cap}")));
            }
            return Ok(mynacard_rules::smartphone::smartphone_certificate_expiry(cap));
        }
        let validity = certificate_validity(
            &CertificateIssuance {
                born: request.holder.birth_date,
                issued: request.issued,
                card_expiry: request.not_after_cap.unwrap_or(NaiveDate::MAX),
                existing_auth_expiry: None,
                previous_expiry: request.previous_expiry,
                adult_ward: request.adult_ward,
            },
            &self.policies,
        )?;
        match request.profile.hierarchy() {
            Hierarchy::UserAuthentication => Ok(validity.auth_expiry),
            Hierarchy::Signature => match (validity.sign_expiry, validity.sign_refusal) {
                (Some(day), _) => Ok(day),
                (None, Some(SignCertRefusal::UnderMinimumAge)) => Err(PkiError::Refused(format!(
                    "the holder is {} on {}: no signature certificate under {} (rules.md §3)",
                    validity.age_at_issuance, request.issued, self.policies.sign_cert_min_age
                ))),
                (None, _) => Err(PkiError::Refused(
                    "no signature certificate for an adult ward (成年被後見人) (rules.md §3)".into(),
                )),
            },
        }
    }

    /// Signs every pending record again (after a crash between recording and signing).
    pub fn finish_pending(&self) -> Result<usize, PkiError> {
        let pending = self.repository.pending()?;
        for record in &pending {
            let generation = self
                .generations
                .iter()
                .find(|g| g.config.hierarchy == record.hierarchy && g.config.generation == record.generation)
                .ok_or_else(|| PkiError::Repository(format!("no generation for pending {}", record.serial)))?;
            // Roots sign themselves; everything else is signed by its root too.
            let der = profile::assemble(&record.tbs, &generation.root_signer.sign(&record.tbs)?)?;
            self.repository.record_issued(&record.serial, &der)?;
        }
        Ok(pending.len())
    }

    /// Revokes (or holds, or releases) the certificate `serial`, under the
    /// rules of [`crate::status::apply`]; returns the new status.
    pub fn change_status(&self, serial: &Serial, change: &StatusChange) -> Result<CertStatus, PkiError> {
        for _ in 0..8 {
            let record = self
                .repository
                .certificate(serial)?
                .ok_or_else(|| PkiError::UnknownSerial(serial.to_hex()))?;
            if record.profile == "root" {
                return Err(PkiError::StatusChange(
                    "a root is not revoked through its own CRL".into(),
                ));
            }
            let release_allowed = record.profile == Profile::SmartphoneUserAuthentication.short();
            let new = apply(&record.status, change, release_allowed).map_err(PkiError::StatusChange)?;
            if self.repository.set_status(serial, &record.status, &new)? {
                return Ok(new);
            }
        }
        Err(PkiError::Repository(
            "the status kept changing under us; try again".into(),
        ))
    }

    /// Revokes `serial` with `reason` at `at`.
    pub fn revoke(&self, serial: &Serial, reason: CrlReason, at: DateTime<Utc>) -> Result<CertStatus, PkiError> {
        self.change_status(
            serial,
            &StatusChange::Revoke {
                at,
                reason,
                invalidity_date: None,
            },
        )
    }

    /// Writes the full CRL of the current generation of `hierarchy` (DER) to `out`.
    pub fn write_crl(
        &self,
        hierarchy: Hierarchy,
        now: DateTime<Utc>,
        next_update: DateTime<Utc>,
        out: &mut dyn std::io::Write,
    ) -> Result<CrlStats, PkiError> {
        let generation = self.current(hierarchy)?;
        self.write_generation_crl(generation, now, next_update, out)
    }

    /// Writes the CRL of one generation.
    pub fn write_generation_crl(
        &self,
        generation: &LoadedGeneration,
        now: DateTime<Utc>,
        next_update: DateTime<Utc>,
        out: &mut dyn std::io::Write,
    ) -> Result<CrlStats, PkiError> {
        let g = &generation.config;
        let number = self.repository.next_crl_number(g.hierarchy, g.generation)?;
        let issuer = CrlIssuer::new(&generation.root_der)?;
        // Entries stream from the repository into the encoder through a
        // bounded channel of batches, so neither side holds them all.
        const BATCH: usize = 1024;
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<Vec<RevokedEntry>, PkiError>>(8);
        let repository = self.repository.clone();
        let (hierarchy, number_of_generation) = (g.hierarchy, g.generation);
        let producer = std::thread::spawn(move || {
            let stopped = || PkiError::Repository("the CRL writer stopped".into());
            let mut batch = Vec::with_capacity(BATCH);
            let result = repository.revoked(hierarchy, number_of_generation, &mut |entry| {
                batch.push(entry);
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    sender.send(Ok(full)).map_err(|_| stopped())?;
                }
                Ok(())
            });
            let last = match result {
                Ok(()) => Ok(batch),
                Err(e) => Err(e),
            };
            let _ = sender.send(last);
        });
        let entries = receiver.into_iter().flat_map(|batch| {
            let (entries, error) = match batch {
                Ok(entries) => (entries, None),
                Err(e) => (Vec::new(), Some(e)),
            };
            entries.into_iter().map(Ok).chain(error.map(Err))
        });
        let params = CrlParams {
            this_update: now,
            next_update,
            crl_number: number,
        };
        let mut out = out;
        let stats = write_crl(&issuer, generation.root_signer.as_ref(), &params, entries, &mut out);
        producer
            .join()
            .map_err(|_| PkiError::Repository("the CRL reader panicked".into()))?;
        stats
    }

    /// The repository.
    pub fn repository(&self) -> &Arc<dyn CaRepository> {
        &self.repository
    }

    /// The CA directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The opaque 23-character CN of a user-authentication certificate
/// (e.g. `997794E9AGCIEG13221003A` on a test card): derived from the serial,
/// so it says nothing about the holder.
fn opaque_cn(serial: &Serial) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHIJKLMNOPQRSTUV";
    sha256(serial.as_bytes())
        .iter()
        .take(23)
        .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
        .collect()
}

/// The delegated OCSP responder of one generation, loaded without the root key.
pub struct ResponderKeys {
    /// Its generation.
    pub generation: Generation,
    /// The root certificate (the issuer), DER.
    pub root_der: Vec<u8>,
    /// The responder certificate, DER.
    pub ocsp_der: Vec<u8>,
    /// The responder key.
    pub signer: Arc<dyn Signer>,
}

/// Loads the OCSP responders of the CA in `dir` — every generation's — and
/// nothing else: a responder process never holds a root key.
pub fn load_responders(dir: &Path, access: &KeyAccess) -> Result<Vec<ResponderKeys>, PkiError> {
    let config = CertificateAuthority::read_config(dir)?;
    config
        .generations
        .iter()
        .map(|g| {
            Ok(ResponderKeys {
                generation: g.clone(),
                root_der: profile::from_pem("CERTIFICATE", &read(&dir.join(&g.root_certificate))?)?,
                ocsp_der: profile::from_pem("CERTIFICATE", &read(&dir.join(&g.ocsp_certificate))?)?,
                signer: CertificateAuthority::load_key(dir, access, &g.ocsp_key)?,
            })
        })
        .collect()
}

/// The passphrase of a software-key CA in `dir` when none is given
/// explicitly: `MYNACARD_CA_PASSPHRASE`, else the file `dir/passphrase`;
/// with `create`, a missing file is made (48 random hex digits, mode 0600)
/// — a convenience for demos and tests; production supplies its own.
pub fn default_passphrase(dir: &Path, create: bool) -> Result<Vec<u8>, PkiError> {
    if let Ok(p) = std::env::var("MYNACARD_CA_PASSPHRASE") {
        return Ok(p.into_bytes());
    }
    let path = dir.join("passphrase");
    if create && !path.exists() {
        let mut raw = [0u8; 24];
        aws_lc_rs::rand::fill(&mut raw).map_err(|_| PkiError::Signer("the random generator failed".into()))?;
        let text: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        write_atomically(&path, format!("{text}\n").as_bytes(), true)?;
        return Ok(text.into_bytes());
    }
    read_secret(&path)
}

/// Reads a passphrase file (trailing newline removed).
pub fn read_secret(path: &Path) -> Result<Vec<u8>, PkiError> {
    let mut bytes = read(path)?;
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_cn_is_23_alphanumerics() {
        let s = Serial::random().expect("rng");
        let cn = opaque_cn(&s);
        assert_eq!(cn.len(), 23);
        assert!(cn.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
        assert_eq!(cn, opaque_cn(&s));
    }
}

/// A repository in memory: for tests and simulations that need no
/// durability. Same semantics as the store's (compare-and-set, event log).
pub mod memory {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use chrono::{DateTime, Utc};

    use super::{CaRepository, CertificateRecord, StatusEvent, END_ENTITY_PROFILES};
    use crate::name::Hierarchy;
    use crate::status::{CertStatus, RevokedEntry};
    use crate::{PkiError, Serial};

    #[derive(Default)]
    struct Inner {
        records: BTreeMap<Serial, CertificateRecord>,
        crl_numbers: BTreeMap<(Hierarchy, u32), u64>,
        sequences: BTreeMap<Hierarchy, u64>,
        events: Vec<StatusEvent>,
    }

    /// The in-memory repository.
    #[derive(Default)]
    pub struct MemoryRepository {
        inner: Mutex<Inner>,
    }

    impl MemoryRepository {
        fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, PkiError> {
            self.inner.lock().map_err(|_| PkiError::Repository("poisoned".into()))
        }
    }

    impl CaRepository for MemoryRepository {
        fn record_pending(&self, record: &CertificateRecord) -> Result<(), PkiError> {
            let mut inner = self.lock()?;
            if inner.records.contains_key(&record.serial) {
                return Err(PkiError::Repository(format!("serial {} exists already", record.serial)));
            }
            inner.records.insert(
                record.serial.clone(),
                CertificateRecord {
                    der: None,
                    ..record.clone()
                },
            );
            Ok(())
        }

        fn record_issued(&self, serial: &Serial, der: &[u8]) -> Result<(), PkiError> {
            let mut inner = self.lock()?;
            match inner.records.get_mut(serial) {
                Some(record) if record.der.is_none() => {
                    record.der = Some(der.to_vec());
                    Ok(())
                }
                // Signed twice (deterministic signatures): the same certificate.
                Some(record) if record.der.as_deref() == Some(der) => Ok(()),
                _ => Err(PkiError::Repository(format!("no pending certificate {serial}"))),
            }
        }

        fn certificate(&self, serial: &Serial) -> Result<Option<CertificateRecord>, PkiError> {
            Ok(self.lock()?.records.get(serial).cloned())
        }

        fn pending(&self) -> Result<Vec<CertificateRecord>, PkiError> {
            Ok(self
                .lock()?
                .records
                .values()
                .filter(|r| r.der.is_none())
                .cloned()
                .collect())
        }

        fn good_issued_between(
            &self,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
        ) -> Result<Vec<CertificateRecord>, PkiError> {
            let mut found: Vec<CertificateRecord> = self
                .lock()?
                .records
                .values()
                .filter(|r| {
                    END_ENTITY_PROFILES.contains(&r.profile.as_str())
                        && r.status == CertStatus::Good
                        && r.not_before >= from
                        && r.not_before < to
                })
                .cloned()
                .collect();
            found.sort_by_key(|r| r.not_before);
            Ok(found)
        }

        fn set_status(&self, serial: &Serial, expected: &CertStatus, new: &CertStatus) -> Result<bool, PkiError> {
            let mut inner = self.lock()?;
            let record = inner
                .records
                .get_mut(serial)
                .ok_or_else(|| PkiError::UnknownSerial(serial.to_hex()))?;
            if record.status != *expected {
                return Ok(false);
            }
            record.status = *new;
            let hierarchy = record.hierarchy;
            let seq = inner.events.len() as u64 + 1;
            inner.events.push(StatusEvent {
                seq,
                serial: serial.clone(),
                hierarchy,
            });
            Ok(true)
        }

        fn revoked(
            &self,
            hierarchy: Hierarchy,
            generation: u32,
            visit: &mut dyn FnMut(RevokedEntry) -> Result<(), PkiError>,
        ) -> Result<(), PkiError> {
            let entries: Vec<RevokedEntry> = self
                .lock()?
                .records
                .values()
                .filter(|r| r.hierarchy == hierarchy && r.generation == generation)
                .filter_map(|r| match r.status {
                    CertStatus::Revoked {
                        at,
                        reason,
                        invalidity_date,
                    } => Some(RevokedEntry {
                        serial: r.serial.clone(),
                        revoked_at: at,
                        reason,
                        invalidity_date,
                    }),
                    CertStatus::Good => None,
                })
                .collect();
            entries.into_iter().try_for_each(visit)
        }

        fn next_crl_number(&self, hierarchy: Hierarchy, generation: u32) -> Result<u64, PkiError> {
            let mut inner = self.lock()?;
            let number = inner.crl_numbers.entry((hierarchy, generation)).or_insert(0);
            *number += 1;
            Ok(*number)
        }

        fn status_events_since(&self, seq: u64) -> Result<Vec<StatusEvent>, PkiError> {
            Ok(self.lock()?.events.iter().filter(|e| e.seq > seq).cloned().collect())
        }

        fn next_sequence(&self, hierarchy: Hierarchy) -> Result<u64, PkiError> {
            let mut inner = self.lock()?;
            let sequence = inner.sequences.entry(hierarchy).or_insert(0);
            *sequence += 1;
            Ok(*sequence)
        }

        fn issued_count(&self, hierarchy: Hierarchy) -> Result<u64, PkiError> {
            Ok(self
                .lock()?
                .records
                .values()
                .filter(|r| r.hierarchy == hierarchy && !matches!(r.profile.as_str(), "root" | "ocsp" | "imported"))
                .count() as u64)
        }
    }
}
