//! A [`Signer`] whose RSA-2048 key lives on a PKCS#11 token: a real HSM in
//! production, SoftHSM2 in tests.
//!
//! The key is generated on the token ([`Pkcs11Signer::generate`]: sensitive,
//! never extractable, signing only) or found there by label
//! ([`Pkcs11Signer::open`]). Signing sends the DER DigestInfo of the SHA-256
//! digest to the token under `CKM_RSA_PKCS`, so the token pads and signs and
//! the message never leaves the process.
//!
//! ## Modules
//!
//! A PKCS#11 module may be initialised once per process and its login state
//! is per application and token, shared by every session. Each module is
//! therefore loaded and `C_Initialize`d once, kept in a process-wide table
//! and never finalised, and all signers on one token share its login. Because
//! a second `C_Login` on a token that is already logged in answers
//! `CKR_USER_ALREADY_LOGGED_IN` whatever the PIN, the table remembers a hash
//! of the PIN that logged each token in, so a signer configured with another
//! PIN is refused instead of silently riding on the first one's login.
//!
//! ## Sessions
//!
//! A signer keeps a small pool of open, logged-in sessions: a signature takes
//! an idle session (or opens one), signs and puts it back, so signatures from
//! several threads run in parallel on tokens that can (SoftHSM2 with two
//! cores: ~780/s with a session per thread against ~570/s through one shared
//! session) and no signature pays for `C_OpenSession` once the pool is warm
//! (a network round trip on a network HSM). A session that has lost its
//! login (`CKR_USER_NOT_LOGGED_IN`), died (token removed, HSM restarted) or
//! whose key handle went stale is discarded; the signer then finds the
//! token and the key again by label, logs in again with the PIN, checks that
//! the key is still the same one (same modulus) and retries once.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use der::asn1::{BitString, UintRef};
use der::{Any, Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::signer::{sha1, sha256, Signer};
use crate::PkiError;

/// The DER prefix of a DigestInfo for SHA-256 (RFC 8017 §9.2, note 1): the
/// 32-byte digest follows it.
pub const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
];

/// The DER DigestInfo of a SHA-256 digest: what `CKM_RSA_PKCS` signs.
pub fn sha256_digest_info(digest: &[u8; 32]) -> [u8; 51] {
    let mut out = [0u8; 51];
    out[..19].copy_from_slice(&SHA256_DIGEST_INFO_PREFIX);
    out[19..].copy_from_slice(digest);
    out
}

/// Idle sessions kept per signer; more are opened under load and closed after.
const MAX_IDLE_SESSIONS: usize = 8;

/// The public exponent JPKI keys use.
const F4: [u8; 3] = [0x01, 0x00, 0x01];

/// Where a PKCS#11 key is and how to log in to it.
///
/// `Debug` never prints the PIN, and dropping the configuration overwrites it.
#[derive(Clone)]
pub struct Pkcs11Config {
    /// The PKCS#11 module (shared library), e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The label of the token (`CKA_LABEL` of the token, as in `C_GetTokenInfo`).
    pub token_label: String,
    /// The user PIN of the token.
    pub pin: String,
    /// The `CKA_LABEL` of the key pair.
    pub key_label: String,
}

impl fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("pin", &"<redacted>")
            .field("key_label", &self.key_label)
            .finish()
    }
}

impl Drop for Pkcs11Config {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.pin).into_bytes();
        bytes.fill(0);
        // Keeps the compiler from eliding the overwrite of a buffer about to be freed.
        std::hint::black_box(&bytes);
    }
}

/// An RSA-2048 key pair on a PKCS#11 token.
pub struct Pkcs11Signer {
    module: Arc<Module>,
    token_label: String,
    key_label: String,
    pin: AuthPin,
    pin_hash: [u8; 32],
    /// The modulus, to check after a reconnection that the label still names this key.
    modulus: Vec<u8>,
    key_id: Vec<u8>,
    public_der: Vec<u8>,
    state: Mutex<State>,
}

/// The token and key as last found, and the idle sessions on it.
struct State {
    target: Option<Target>,
    idle: Vec<Session>,
}

#[derive(Clone, Copy)]
struct Target {
    slot: Slot,
    key: ObjectHandle,
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("module", &self.module.path)
            .field("token_label", &self.token_label)
            .field("key_label", &self.key_label)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    /// Generates an RSA-2048 key pair (e = 65537) on the token, labelled
    /// `config.key_label`: token objects, the private key private, sensitive,
    /// never extractable and for signing only. Its `CKA_ID` is the SHA-1 of
    /// the RSAPublicKey, which is the subjectKeyIdentifier of its
    /// certificates (RFC 5280 §4.2.1.2, method 1).
    ///
    /// Fails if a key with this label already exists on the token.
    pub fn generate(config: &Pkcs11Config) -> Result<Pkcs11Signer, PkiError> {
        let mut signer = Pkcs11Signer::unconnected(config)?;
        let slot = signer.find_slot()?;
        let session = signer.open_session(slot, true)?;
        signer.login(&session, true)?;
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            let found = session
                .find_objects(&[
                    Attribute::Class(class),
                    Attribute::Label(signer.key_label.as_bytes().to_vec()),
                ])
                .map_err(|e| signer.error("C_FindObjects", &e))?;
            if !found.is_empty() {
                return Err(PkiError::Signer(format!(
                    "a key labelled {:?} already exists on token {:?}; open it or choose another label",
                    signer.key_label, signer.token_label
                )));
            }
        }
        // A placeholder ID, replaced by the key identifier once the modulus is known.
        let mut placeholder = sha256(signer.key_label.as_bytes()).to_vec();
        placeholder.truncate(20);
        let label = signer.key_label.as_bytes().to_vec();
        let public_template = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Label(label.clone()),
            Attribute::Id(placeholder.clone()),
            Attribute::ModulusBits(2048.into()),
            Attribute::PublicExponent(F4.to_vec()),
            Attribute::Verify(true),
            Attribute::Encrypt(false),
            Attribute::Wrap(false),
        ];
        let private_template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Label(label),
            Attribute::Id(placeholder),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Decrypt(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
        ];
        let (public, private) = session
            .generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &public_template, &private_template)
            .map_err(|e| signer.error("RSA-2048 key generation (C_GenerateKeyPair)", &e))?;
        let modulus = session
            .get_attributes(public, &[AttributeType::Modulus])
            .map_err(|e| signer.error("reading the new public key", &e))?
            .into_iter()
            .find_map(|a| match a {
                Attribute::Modulus(m) => Some(m),
                _ => None,
            })
            .ok_or_else(|| PkiError::Signer("the token did not return the modulus of the new key".into()))?;
        let id = sha1(&rsa_public_key_der(&modulus, &F4)?).to_vec();
        for object in [public, private] {
            // Best effort: a token that does not let CKA_ID change keeps the placeholder,
            // which is unique enough (keys are found by label).
            let _ = session.update_attributes(object, &[Attribute::Id(id.clone())]);
        }
        signer.attach(slot, session)?;
        Ok(signer)
    }

    /// Opens the existing key pair labelled `config.key_label`: logs in,
    /// finds the private key and reads its public half.
    pub fn open(config: &Pkcs11Config) -> Result<Pkcs11Signer, PkiError> {
        let mut signer = Pkcs11Signer::unconnected(config)?;
        let slot = signer.find_slot()?;
        let session = signer.open_session(slot, false)?;
        signer.login(&session, true)?;
        signer.attach(slot, session)?;
        Ok(signer)
    }

    /// The label of the key pair.
    pub fn key_label(&self) -> &str {
        &self.key_label
    }

    /// The label of the token.
    pub fn token_label(&self) -> &str {
        &self.token_label
    }

    /// The `CKA_ID` of the private key.
    pub fn key_id(&self) -> &[u8] {
        &self.key_id
    }

    fn unconnected(config: &Pkcs11Config) -> Result<Pkcs11Signer, PkiError> {
        let module = Module::get(&config.module)?;
        Ok(Pkcs11Signer {
            module,
            token_label: config.token_label.clone(),
            key_label: config.key_label.clone(),
            pin: AuthPin::from(config.pin.as_str()),
            pin_hash: sha256(config.pin.as_bytes()),
            modulus: Vec::new(),
            key_id: Vec::new(),
            public_der: Vec::new(),
            state: Mutex::new(State {
                target: None,
                idle: Vec::new(),
            }),
        })
    }

    /// Completes a new signer from its first logged-in session: reads the key,
    /// builds the public key and keeps the session for signing.
    fn attach(&mut self, slot: Slot, session: Session) -> Result<(), PkiError> {
        let key = self.find_key(&session)?;
        let (modulus, id) = self.read_public(&session, key)?;
        self.public_der = rsa_spki_der(&modulus, &F4)?;
        self.modulus = modulus;
        self.key_id = id;
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        state.target = Some(Target { slot, key });
        state.idle.push(session);
        Ok(())
    }

    fn error(&self, what: &str, e: &CkError) -> PkiError {
        PkiError::Signer(format!("token {:?}: {what} failed: {}", self.token_label, describe(e)))
    }

    /// The slot holding the token labelled `token_label`.
    fn find_slot(&self) -> Result<Slot, PkiError> {
        let ctx = &self.module.ctx;
        let module = self.module.path.display();
        let slots = ctx.get_slots_with_token().map_err(|e| {
            PkiError::Signer(format!(
                "PKCS#11 module {module}: C_GetSlotList failed: {}",
                describe(&e)
            ))
        })?;
        let mut labels = Vec::new();
        let mut matching = Vec::new();
        for slot in slots {
            let Ok(info) = ctx.get_token_info(slot) else { continue };
            if info.label() == self.token_label {
                matching.push(slot);
            }
            labels.push(format!("{:?}", info.label()));
        }
        match matching.as_slice() {
            [slot] => Ok(*slot),
            [] => Err(PkiError::Signer(format!(
                "no token labelled {:?} in PKCS#11 module {module} (tokens present: {})",
                self.token_label,
                if labels.is_empty() {
                    "none".to_owned()
                } else {
                    labels.join(", ")
                }
            ))),
            many => Err(PkiError::Signer(format!(
                "{} tokens labelled {:?} in PKCS#11 module {module}; token labels must be unique",
                many.len(),
                self.token_label
            ))),
        }
    }

    fn open_session(&self, slot: Slot, read_write: bool) -> Result<Session, PkiError> {
        let ctx = &self.module.ctx;
        let session = if read_write {
            ctx.open_rw_session(slot)
        } else {
            ctx.open_ro_session(slot)
        };
        session.map_err(|e| self.error("C_OpenSession", &e))
    }

    /// Logs the token in with the PIN unless it already is. With `verify`,
    /// a token that is already logged in (by another signer of this process)
    /// must have been logged in with this same PIN.
    fn login(&self, session: &Session, verify: bool) -> Result<(), PkiError> {
        let state = session
            .get_session_info()
            .map_err(|e| self.error("C_GetSessionInfo", &e))?
            .session_state();
        let logged_in = matches!(state, SessionState::RoUser | SessionState::RwUser);
        let mut logins = lock(&self.module.logins);
        if logged_in {
            match logins.get(&self.token_label) {
                Some(hash) if *hash == self.pin_hash => return Ok(()),
                _ if !verify => return Ok(()),
                Some(_) => return Err(self.wrong_pin()),
                // Logged in by someone else in this process: log in again to check the PIN.
                None => {
                    let _ = session.logout();
                }
            }
        }
        match session.login(UserType::User, Some(&self.pin)) {
            Ok(()) => {
                logins.insert(self.token_label.clone(), self.pin_hash);
                Ok(())
            }
            Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) if !verify => Ok(()),
            Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => match logins.get(&self.token_label) {
                Some(hash) if *hash == self.pin_hash => Ok(()),
                _ => Err(self.wrong_pin()),
            },
            Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => Err(self.wrong_pin()),
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(PkiError::Signer(format!(
                "the user PIN of token {:?} is locked; the security officer must unblock it",
                self.token_label
            ))),
            Err(CkError::Pkcs11(RvError::PinExpired, _)) => Err(PkiError::Signer(format!(
                "the user PIN of token {:?} has expired and must be changed",
                self.token_label
            ))),
            Err(e) => Err(self.error("C_Login", &e)),
        }
    }

    fn wrong_pin(&self) -> PkiError {
        PkiError::Signer(format!("wrong PIN for token {:?}", self.token_label))
    }

    /// The private key labelled `key_label` (needs a logged-in session).
    fn find_key(&self, session: &Session) -> Result<ObjectHandle, PkiError> {
        let found = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(self.key_label.as_bytes().to_vec()),
            ])
            .map_err(|e| self.error("C_FindObjects", &e))?;
        match found.as_slice() {
            [key] => Ok(*key),
            [] => Err(PkiError::Signer(format!(
                "no private key labelled {:?} on token {:?}",
                self.key_label, self.token_label
            ))),
            many => Err(PkiError::Signer(format!(
                "{} private keys labelled {:?} on token {:?}; key labels must be unique",
                many.len(),
                self.key_label,
                self.token_label
            ))),
        }
    }

    /// Modulus (without leading zeros) and CKA_ID of the private key, after
    /// checking that it is an RSA-2048 signing key with e = 65537 whose value
    /// cannot leave the token.
    fn read_public(&self, session: &Session, key: ObjectHandle) -> Result<(Vec<u8>, Vec<u8>), PkiError> {
        let wanted = [
            AttributeType::KeyType,
            AttributeType::Modulus,
            AttributeType::PublicExponent,
            AttributeType::Id,
            AttributeType::Sign,
            AttributeType::Sensitive,
            AttributeType::AlwaysAuthenticate,
        ];
        let attributes = session
            .get_attributes(key, &wanted)
            .map_err(|e| self.error("C_GetAttributeValue", &e))?;
        let (mut key_type, mut modulus, mut exponent, mut id) = (None, None, None, Vec::new());
        let (mut sign, mut sensitive, mut always_authenticate) = (false, false, false);
        for attribute in attributes {
            match attribute {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::Modulus(m) => modulus = Some(m),
                Attribute::PublicExponent(e) => exponent = Some(e),
                Attribute::Id(i) => id = i,
                Attribute::Sign(b) => sign = b,
                Attribute::Sensitive(b) => sensitive = b,
                Attribute::AlwaysAuthenticate(b) => always_authenticate = b,
                _ => {}
            }
        }
        let what = format!("the key labelled {:?} on token {:?}", self.key_label, self.token_label);
        if key_type != Some(KeyType::RSA) {
            return Err(PkiError::UnsupportedKey(format!("{what} is not an RSA key")));
        }
        if !sign {
            return Err(PkiError::Signer(format!(
                "{what} is not allowed to sign (CKA_SIGN is false)"
            )));
        }
        if !sensitive {
            return Err(PkiError::Signer(format!(
                "{what} is not sensitive (CKA_SENSITIVE is false): its value can be read off the token"
            )));
        }
        if always_authenticate {
            return Err(PkiError::Signer(format!(
                "{what} needs the PIN for every signature (CKA_ALWAYS_AUTHENTICATE), which is not supported"
            )));
        }
        let modulus =
            modulus.ok_or_else(|| PkiError::Signer(format!("the token does not reveal the modulus of {what}")))?;
        let exponent = match exponent {
            Some(e) => e,
            // Some tokens keep the exponent on the public key object only.
            None => self
                .public_exponent(session, &modulus)
                .ok_or_else(|| PkiError::Signer(format!("the token does not reveal the public exponent of {what}")))?,
        };
        let modulus = strip_leading_zeros(&modulus).to_vec();
        if modulus.len() != 256 || modulus[0] & 0x80 == 0 {
            return Err(PkiError::UnsupportedKey(format!(
                "{what} is not RSA-2048; JPKI keys are RSA-2048"
            )));
        }
        if strip_leading_zeros(&exponent) != F4 {
            return Err(PkiError::UnsupportedKey(format!(
                "{what} has a public exponent other than 65537"
            )));
        }
        Ok((modulus, id))
    }

    /// The public exponent from the public key object with our label and `modulus`.
    fn public_exponent(&self, session: &Session, modulus: &[u8]) -> Option<Vec<u8>> {
        let template = [
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::Label(self.key_label.as_bytes().to_vec()),
            Attribute::Modulus(modulus.to_vec()),
        ];
        let object = *session.find_objects(&template).ok()?.first()?;
        session
            .get_attributes(object, &[AttributeType::PublicExponent])
            .ok()?
            .into_iter()
            .find_map(|a| match a {
                Attribute::PublicExponent(e) => Some(e),
                _ => None,
            })
    }

    /// An idle session (or a new one) and the key handle, reconnecting if the
    /// token was lost.
    fn checkout(&self) -> Result<(Session, ObjectHandle), PkiError> {
        let mut state = lock(&self.state);
        if let Some(target) = state.target {
            if let Some(session) = state.idle.pop() {
                return Ok((session, target.key));
            }
            drop(state);
            let session = self.open_session(target.slot, false)?;
            self.login(&session, false)?;
            return Ok((session, target.key));
        }
        // Reconnect (under the lock, so that concurrent signers reconnect once).
        let slot = self.find_slot()?;
        let session = self.open_session(slot, false)?;
        self.login(&session, false)?;
        let key = self.find_key(&session)?;
        let (modulus, _) = self.read_public(&session, key)?;
        if modulus != self.modulus {
            return Err(PkiError::Signer(format!(
                "the key labelled {:?} on token {:?} is no longer the key this signer was opened with",
                self.key_label, self.token_label
            )));
        }
        state.target = Some(Target { slot, key });
        Ok((session, key))
    }

    fn checkin(&self, session: Session) {
        let mut state = lock(&self.state);
        if state.target.is_some() && state.idle.len() < MAX_IDLE_SESSIONS {
            state.idle.push(session);
        }
    }

    /// Forgets the token after `e`: the next signature finds it again.
    fn reset(&self, session: Session, e: &CkError) {
        let dead = matches!(
            e,
            CkError::Pkcs11(
                RvError::SessionHandleInvalid
                    | RvError::SessionClosed
                    | RvError::DeviceRemoved
                    | RvError::TokenNotPresent
                    | RvError::CryptokiNotInitialized,
                _
            )
        );
        let mut state = lock(&self.state);
        state.target = None;
        let idle = std::mem::take(&mut state.idle);
        drop(state);
        if dead {
            // Closing a dead session is useless at best, and at worst closes another
            // session that was given the same handle since: forget them instead.
            std::mem::forget(session);
            idle.into_iter().for_each(std::mem::forget);
            if matches!(e, CkError::Pkcs11(RvError::CryptokiNotInitialized, _)) {
                let _ = self.module.initialize();
            }
        }
    }
}

impl Signer for Pkcs11Signer {
    fn public_key_der(&self) -> &[u8] {
        &self.public_der
    }

    fn sign_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, PkiError> {
        let digest_info = sha256_digest_info(digest);
        let mut retried = false;
        loop {
            let (session, key) = self.checkout()?;
            match session.sign(&Mechanism::RsaPkcs, key, &digest_info) {
                Ok(signature) => {
                    self.checkin(session);
                    return Ok(signature);
                }
                Err(e) if !retried && recoverable(&e) => {
                    self.reset(session, &e);
                    retried = true;
                }
                Err(e) => {
                    let error = self.error(
                        &format!("signing with the key labelled {:?} (C_Sign)", self.key_label),
                        &e,
                    );
                    if recoverable(&e) {
                        self.reset(session, &e);
                    } else {
                        self.checkin(session);
                    }
                    return Err(error);
                }
            }
        }
    }
}

/// Errors after which finding the token and key again and logging in may help.
fn recoverable(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::UserNotLoggedIn
                | RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid
                | RvError::CryptokiNotInitialized,
            _
        )
    )
}

/// A short, one-line description of a cryptoki error.
fn describe(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, function) => format!("C_{function:?} returned {rv:?}"),
        other => other.to_string().replace('\n', " "),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent across a panic (pushes and pops only).
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A loaded, initialised PKCS#11 module, shared by the whole process.
struct Module {
    path: PathBuf,
    ctx: Pkcs11,
    /// SHA-256 of the PIN that logged in each token (by label).
    logins: Mutex<HashMap<String, [u8; 32]>>,
}

impl Module {
    fn get(path: &Path) -> Result<Arc<Module>, PkiError> {
        static MODULES: OnceLock<Mutex<HashMap<PathBuf, Arc<Module>>>> = OnceLock::new();
        if !path.exists() {
            return Err(PkiError::Signer(format!(
                "PKCS#11 module {} does not exist",
                path.display()
            )));
        }
        if !path.is_file() {
            return Err(PkiError::Signer(format!(
                "PKCS#11 module {} is not a file",
                path.display()
            )));
        }
        let key = path.canonicalize().map_err(|e| PkiError::io(path, e))?;
        let mut modules = lock(MODULES.get_or_init(Default::default));
        if let Some(module) = modules.get(&key) {
            return Ok(module.clone());
        }
        let ctx = Pkcs11::new(&key).map_err(|e| {
            PkiError::Signer(format!(
                "cannot load the PKCS#11 module {}: {}",
                path.display(),
                describe(&e)
            ))
        })?;
        let module = Arc::new(Module {
            path: path.to_path_buf(),
            ctx,
            logins: Mutex::default(),
        });
        module.initialize()?;
        modules.insert(key, module.clone());
        Ok(module)
    }

    fn initialize(&self) -> Result<(), PkiError> {
        match self
            .ctx
            .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(()),
            Err(e) => Err(PkiError::Signer(format!(
                "cannot initialise the PKCS#11 module {}: {}",
                self.path.display(),
                describe(&e)
            ))),
        }
    }
}

/// RSAPublicKey (RFC 8017 A.1.1).
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// The DER RSAPublicKey of a big-endian modulus and exponent.
fn rsa_public_key_der(modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>, PkiError> {
    let key = RsaPublicKey {
        modulus: UintRef::new(modulus).map_err(|e| PkiError::der("RSA modulus", e))?,
        public_exponent: UintRef::new(exponent).map_err(|e| PkiError::der("RSA exponent", e))?,
    };
    key.to_der().map_err(|e| PkiError::der("RSAPublicKey", e))
}

/// The DER SubjectPublicKeyInfo (rsaEncryption, NULL parameters) of an RSA key.
pub fn rsa_spki_der(modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>, PkiError> {
    let spki = SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: crate::oid::RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        },
        subject_public_key: BitString::from_bytes(&rsa_public_key_der(modulus, exponent)?)
            .map_err(|e| PkiError::der("subjectPublicKey", e))?,
    };
    spki.to_der().map_err(|e| PkiError::der("SubjectPublicKeyInfo", e))
}

/// Modulus and exponent of an RSA SubjectPublicKeyInfo.
pub fn rsa_spki_parts(spki_der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), PkiError> {
    let spki =
        spki::SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| PkiError::der("SubjectPublicKeyInfo", e))?;
    let raw = spki.subject_public_key.as_bytes().ok_or_else(|| PkiError::Malformed {
        what: "subjectPublicKey",
        why: "unused bits in the BIT STRING".into(),
    })?;
    let key = RsaPublicKey::from_der(raw).map_err(|e| PkiError::der("RSAPublicKey", e))?;
    Ok((key.modulus.as_bytes().to_vec(), key.public_exponent.as_bytes().to_vec()))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SoftwareKey;

    #[test]
    fn digest_info_is_the_der_of_sha256_digest_info() {
        let digest = sha256(b"abc");
        let info = sha256_digest_info(&digest);
        assert_eq!(info.len(), 51);
        // SEQUENCE { SEQUENCE { OID sha-256, NULL }, OCTET STRING digest }
        let any = der::asn1::AnyRef::from_der(&info).expect("DER");
        assert_eq!(der::Tagged::tag(&any), der::Tag::Sequence);
        assert!(info
            .windows(11)
            .any(|w| w == [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01]));
        assert_eq!(&info[19..], &digest);
    }

    #[test]
    fn spki_matches_aws_lc_rs_byte_for_byte() {
        let key = SoftwareKey::generate().expect("keygen");
        let (modulus, exponent) = rsa_spki_parts(key.public_key_der()).expect("parts");
        assert_eq!(modulus.len(), 256);
        assert_eq!(exponent, F4);
        assert_eq!(rsa_spki_der(&modulus, &exponent).expect("spki"), key.public_key_der());
        // A modulus with a leading zero byte (as some tokens return it) encodes the same.
        let mut padded = vec![0];
        padded.extend_from_slice(&modulus);
        assert_eq!(
            rsa_spki_der(&padded, &[0, 1, 0, 1]).expect("spki"),
            key.public_key_der()
        );
    }

    #[test]
    fn config_debug_hides_the_pin() {
        let config = Pkcs11Config {
            module: "/nonexistent/libpkcs11.so".into(),
            token_label: "t".into(),
            pin: "s3cret-pin".into(),
            key_label: "k".into(),
        };
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret-pin"), "{debug}");
        assert!(debug.contains("<redacted>"));
    }

    #[test]
    fn missing_module_is_named() {
        let config = Pkcs11Config {
            module: "/nonexistent/libpkcs11.so".into(),
            token_label: "t".into(),
            pin: "s3cret-pin".into(),
            key_label: "k".into(),
        };
        let err = Pkcs11Signer::open(&config).expect_err("no module");
        let text = err.to_string();
        assert_eq!(err.code(), "signer");
        assert!(
            text.contains("/nonexistent/libpkcs11.so") && text.contains("does not exist"),
            "{text}"
        );
        assert!(!text.contains("s3cret-pin"));
    }
}
