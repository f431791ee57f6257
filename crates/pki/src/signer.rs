//! Signers: where the CA's private keys live.
//!
//! JPKI signs with RSA-2048 and sha256WithRSAEncryption only, so a signer
//! has one operation: PKCS#1 v1.5 over a SHA-256 digest. Taking the digest
//! (not the message) lets a CRL of a million entries be hashed as it is
//! written, and lets a PKCS#11 token sign without seeing the data.
//!
//! The software signer uses aws-lc-rs: its RSA signing is constant-time
//! (AWS-LC's BoringSSL lineage, blinded), and its RSA-2048 key generation
//! is several times faster than the system OpenSSL 3.0 (see
//! docs/PERFORMANCE.md). Keys are stored encrypted at rest: PKCS#8 under
//! AES-256-GCM with a key derived by PBKDF2-HMAC-SHA256 from a passphrase.

use std::path::Path;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::digest::{self, Digest, SHA256};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::PkiError;

/// A key that signs with RSA-2048 PKCS#1 v1.5 SHA-256.
pub trait Signer: Send + Sync {
    /// The public key as a DER SubjectPublicKeyInfo.
    fn public_key_der(&self) -> &[u8];

    /// The signature over a SHA-256 digest.
    fn sign_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, PkiError>;

    /// The signature over `message` (hashed with SHA-256 first).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        self.sign_digest(&sha256(message))
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-1 of `data` (OCSP CertIDs and key identifiers only).
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let d = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let mut out = [0u8; 20];
    out.copy_from_slice(d.as_ref());
    out
}

/// A software RSA-2048 key (aws-lc-rs).
pub struct SoftwareKey {
    pair: KeyPair,
    public_der: Vec<u8>,
}

impl std::fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SoftwareKey(<private>)")
    }
}

impl SoftwareKey {
    /// Generates a new RSA-2048 key (e = 65537).
    pub fn generate() -> Result<SoftwareKey, PkiError> {
        let pair = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| PkiError::Signer("RSA-2048 key generation failed".into()))?;
        SoftwareKey::from_pair(pair)
    }

    /// From an unencrypted PKCS#8 DER private key.
    pub fn from_pkcs8(der: &[u8]) -> Result<SoftwareKey, PkiError> {
        let pair = KeyPair::from_pkcs8(der).map_err(|e| PkiError::UnsupportedKey(e.to_string()))?;
        if pair.public_modulus_len() != 256 {
            return Err(PkiError::UnsupportedKey(format!(
                "RSA-{} given; JPKI keys are RSA-2048",
                pair.public_modulus_len() * 8
            )));
        }
        SoftwareKey::from_pair(pair)
    }

    fn from_pair(pair: KeyPair) -> Result<SoftwareKey, PkiError> {
        let public: PublicKeyX509Der<'static> = pair
            .public_key()
            .as_der()
            .map_err(|_| PkiError::Signer("cannot encode the public key".into()))?;
        let public_der = public.as_ref().to_vec();
        Ok(SoftwareKey { pair, public_der })
    }

    /// The private key as unencrypted PKCS#8 DER (to be encrypted before storing).
    fn pkcs8(&self) -> Result<Vec<u8>, PkiError> {
        let der: Pkcs8V1Der<'static> = self
            .pair
            .as_der()
            .map_err(|_| PkiError::Signer("cannot encode the private key".into()))?;
        Ok(der.as_ref().to_vec())
    }

    /// Encrypts the key under `passphrase` and writes it to `path`
    /// (atomically: a temporary file, fsync, rename; mode 0600).
    pub fn save_encrypted(&self, path: &Path, passphrase: &[u8]) -> Result<(), PkiError> {
        let file = EncryptedKeyFile::seal(&self.pkcs8()?, passphrase)?;
        let text = serde_json::to_vec_pretty(&file).map_err(|e| PkiError::Signer(e.to_string()))?;
        write_atomically(path, &text, true)
    }

    /// Reads and decrypts a key written by [`SoftwareKey::save_encrypted`].
    pub fn load_encrypted(path: &Path, passphrase: &[u8]) -> Result<SoftwareKey, PkiError> {
        let text = std::fs::read(path).map_err(|e| PkiError::io(path, e))?;
        let file: EncryptedKeyFile = serde_json::from_slice(&text).map_err(|e| PkiError::Malformed {
            what: "encrypted key file",
            why: e.to_string(),
        })?;
        let pkcs8 = file
            .open(passphrase)
            .ok_or_else(|| PkiError::KeyDecryption(path.display().to_string()))?;
        SoftwareKey::from_pkcs8(&pkcs8)
    }
}

impl Signer for SoftwareKey {
    fn public_key_der(&self) -> &[u8] {
        &self.public_der
    }

    fn sign_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, PkiError> {
        let d = Digest::import_less_safe(digest, &SHA256)
            .map_err(|_| PkiError::Signer("cannot import the digest".into()))?;
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign_digest(&RSA_PKCS1_SHA256, &d, &mut signature)
            .map_err(|_| PkiError::Signer("RSA signing failed".into()))?;
        Ok(signature)
    }
}

/// PBKDF2 iterations for key files (OWASP 2023 guidance for HMAC-SHA256).
const PBKDF2_ITERATIONS: u32 = 600_000;

/// An encrypted private key on disk.
#[derive(Debug, Serialize, Deserialize)]
struct EncryptedKeyFile {
    format: String,
    kdf: String,
    iterations: u32,
    salt: String,
    nonce: String,
    ciphertext: String,
}

impl EncryptedKeyFile {
    const FORMAT: &'static str = "mynacard-key-v1 (PKCS#8 in AES-256-GCM, key by PBKDF2-HMAC-SHA256)";

    fn derive(passphrase: &[u8], salt: &[u8], iterations: u32) -> Option<LessSafeKey> {
        let mut key = [0u8; 32];
        let iterations = std::num::NonZeroU32::new(iterations)?;
        aws_lc_rs::pbkdf2::derive(
            aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            salt,
            passphrase,
            &mut key,
        );
        UnboundKey::new(&AES_256_GCM, &key).ok().map(LessSafeKey::new)
    }

    fn seal(plaintext: &[u8], passphrase: &[u8]) -> Result<EncryptedKeyFile, PkiError> {
        let rng = SystemRandom::new();
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut salt)
            .and_then(|_| rng.fill(&mut nonce))
            .map_err(|_| PkiError::Signer("rng".into()))?;
        let key = EncryptedKeyFile::derive(passphrase, &salt, PBKDF2_ITERATIONS)
            .ok_or_else(|| PkiError::Signer("key derivation failed".into()))?;
        let mut in_out = plaintext.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(Self::FORMAT),
            &mut in_out,
        )
        .map_err(|_| PkiError::Signer("encryption failed".into()))?;
        Ok(EncryptedKeyFile {
            format: Self::FORMAT.to_owned(),
            kdf: "pbkdf2-hmac-sha256".to_owned(),
            iterations: PBKDF2_ITERATIONS,
            salt: B64.encode(salt),
            nonce: B64.encode(nonce),
            ciphertext: B64.encode(in_out),
        })
    }

    fn open(&self, passphrase: &[u8]) -> Option<Vec<u8>> {
        if self.format != Self::FORMAT || self.kdf != "pbkdf2-hmac-sha256" {
            return None;
        }
        let salt = B64.decode(&self.salt).ok()?;
        let nonce: [u8; NONCE_LEN] = B64.decode(&self.nonce).ok()?.try_into().ok()?;
        let mut in_out = B64.decode(&self.ciphertext).ok()?;
        let key = EncryptedKeyFile::derive(passphrase, &salt, self.iterations)?;
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::FORMAT),
                &mut in_out,
            )
            .ok()?;
        Some(plain.to_vec())
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync,
/// rename, fsync of the directory. With `private`, the file is mode 0600.
pub fn write_atomically(path: &Path, bytes: &[u8], private: bool) -> Result<(), PkiError> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            // Directory fsync makes the rename durable; not all filesystems allow it.
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e: std::io::Error| {
        let _ = std::fs::remove_file(&tmp);
        PkiError::io(path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};

    /// The raw RSAPublicKey inside a SubjectPublicKeyInfo (aws-lc-rs verifies with it).
    fn rsa_public_key(spki: &[u8]) -> Vec<u8> {
        use der::Decode;
        let info = spki::SubjectPublicKeyInfoRef::from_der(spki).expect("spki");
        info.subject_public_key.raw_bytes().to_vec()
    }

    #[test]
    fn signs_digests_that_verify() {
        let key = SoftwareKey::generate().expect("keygen");
        let sig = key.sign(b"hello").expect("sign");
        assert_eq!(sig.len(), 256);
        let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, rsa_public_key(key.public_key_der()));
        public.verify(b"hello", &sig).expect("verifies");
        assert!(public.verify(b"hellp", &sig).is_err());
    }

    #[test]
    fn encrypted_key_round_trip_and_wrong_passphrase() {
        let dir = std::env::temp_dir().join(format!("mynacard-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("k.key");
        let key = SoftwareKey::generate().expect("keygen");
        key.save_encrypted(&path, b"correct horse").expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("PRIVATE KEY"));
        let back = SoftwareKey::load_encrypted(&path, b"correct horse").expect("load");
        assert_eq!(back.public_key_der(), key.public_key_der());
        let err = SoftwareKey::load_encrypted(&path, b"wrong").expect_err("wrong passphrase");
        assert_eq!(err.code(), "key_decryption");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
