//! The card's cryptography: RSA-2048 keys that sign with PKCS#1 v1.5
//! type-1 padding over whatever the host sends, and the injected sources of
//! randomness and keys that keep the engine deterministic in tests.
//!
//! The real card pads the data it is given and does the RSA private
//! operation (card-interface.md §5). Hosts send a DigestInfo (OpenSC's
//! `SHA*-RSA-PKCS`: SHA-1 … SHA-512; jpki-rs: SHA-1; myna: SHA-1/SHA-256)
//! or raw data (OpenSC's `CKM_RSA_PKCS`, MYNA-GO `cms signuser`, MBE).
//! aws-lc-rs signs only a SHA-256/384/512 digest and has no raw RSA, so
//! those three DigestInfos go to aws-lc-rs (the constant-time path the
//! project chose for its CA) and everything else goes to RustCrypto's `rsa`
//! 0.10 (crypto-bigint, blinded; the Marvin advisory concerned 0.9), with
//! `Pkcs1v15Sign::new_unprefixed`. Both produce the same bytes for the same
//! input: PKCS#1 v1.5 signing is deterministic, and a test checks it.

use std::sync::OnceLock;

use aws_lc_rs::digest::{Digest, SHA256, SHA384, SHA512};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{
    KeyPair as _, RsaPublicKeyComponents, RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512,
};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::Pkcs1v15Sign;
use zeroize::Zeroizing;

use crate::layout::MAX_SIGN_INPUT;

/// A cryptographic operation of the card failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The random source failed.
    #[error("the random source failed")]
    Random,
    /// Key generation failed.
    #[error("key generation failed")]
    KeyGeneration,
    /// A key is not an RSA-2048 PKCS#8 private key.
    #[error("not an RSA-2048 PKCS#8 private key")]
    BadKey,
    /// Not an RSA public key.
    #[error("not an RSA SubjectPublicKeyInfo")]
    BadPublicKey,
    /// Signing failed (input too long, internal error).
    #[error("signing failed")]
    Signing,
}

/// Where the card's randomness comes from (challenges). Injected so that
/// the engine is deterministic under test.
pub trait Entropy: Send {
    /// Fills `out` with random bytes.
    fn fill(&mut self, out: &mut [u8]) -> Result<(), CryptoError>;
}

/// The system's random source (AWS-LC's DRBG).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemEntropy;

impl Entropy for SystemEntropy {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), CryptoError> {
        SystemRandom::new().fill(out).map_err(|_| CryptoError::Random)
    }
}

/// Where the card's key pairs come from: generated on the card, and only
/// the public key ever leaves it.
pub trait KeyGenerator: Send {
    /// A new RSA-2048 key (e = 65537) as unencrypted PKCS#8 DER.
    fn generate_rsa_2048(&mut self) -> Result<Zeroizing<Vec<u8>>, CryptoError>;
}

/// RSA-2048 key generation in AWS-LC.
#[derive(Debug, Default, Clone, Copy)]
pub struct AwsLcKeyGenerator;

impl KeyGenerator for AwsLcKeyGenerator {
    fn generate_rsa_2048(&mut self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| CryptoError::KeyGeneration)?;
        let der: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| CryptoError::KeyGeneration)?;
        Ok(Zeroizing::new(der.as_ref().to_vec()))
    }
}

/// The DER prefixes of PKCS#1 DigestInfo (RFC 8017 §9.2 note 1).
pub mod digest_info {
    /// SHA-1.
    pub const SHA1: [u8; 15] = [
        0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
    ];
    /// SHA-224.
    pub const SHA224: [u8; 19] = [
        0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04,
        0x1c,
    ];
    /// SHA-256.
    pub const SHA256: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20,
    ];
    /// SHA-384.
    pub const SHA384: [u8; 19] = [
        0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04,
        0x30,
    ];
    /// SHA-512.
    pub const SHA512: [u8; 19] = [
        0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04,
        0x40,
    ];

    /// `prefix || digest`.
    pub fn wrap(prefix: &[u8], digest: &[u8]) -> Vec<u8> {
        let mut out = prefix.to_vec();
        out.extend_from_slice(digest);
        out
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    mynacard_pki::signer::sha256(data)
}

/// Compares in time independent of the contents (not of the lengths).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
    for part in parts {
        ctx.update(part);
    }
    let tag = ctx.sign();
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// An RSA-2048 private key loaded on the card.
pub struct CardKey {
    pair: KeyPair,
    pkcs8: Zeroizing<Vec<u8>>,
    public_der: Vec<u8>,
    raw: OnceLock<Option<rsa::PrivateKey>>,
}

impl std::fmt::Debug for CardKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardKey(<private>)")
    }
}

impl CardKey {
    /// Loads an RSA-2048 key from unencrypted PKCS#8 DER.
    pub fn from_pkcs8(der: &[u8]) -> Result<CardKey, CryptoError> {
        let pair = KeyPair::from_pkcs8(der).map_err(|_| CryptoError::BadKey)?;
        if pair.public_modulus_len() != 256 {
            return Err(CryptoError::BadKey);
        }
        let public: PublicKeyX509Der<'static> = pair.public_key().as_der().map_err(|_| CryptoError::BadKey)?;
        Ok(CardKey {
            pair,
            pkcs8: Zeroizing::new(der.to_vec()),
            public_der: public.as_ref().to_vec(),
            raw: OnceLock::new(),
        })
    }

    /// The public key as a DER SubjectPublicKeyInfo.
    pub fn public_key_der(&self) -> &[u8] {
        &self.public_der
    }

    /// PKCS#1 v1.5 type-1 padding over `data` (1–245 bytes), then the RSA
    /// private operation: what `80 2A 00 80` does.
    pub fn sign_padded(&self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if data.is_empty() || data.len() > MAX_SIGN_INPUT {
            return Err(CryptoError::Signing);
        }
        let sha2 = [
            (&digest_info::SHA256[..], &SHA256, &RSA_PKCS1_SHA256),
            (&digest_info::SHA384[..], &SHA384, &RSA_PKCS1_SHA384),
            (&digest_info::SHA512[..], &SHA512, &RSA_PKCS1_SHA512),
        ];
        for (prefix, algorithm, encoding) in sha2 {
            if let Some(digest) = data.strip_prefix(prefix) {
                if digest.len() == algorithm.output_len() {
                    let digest = Digest::import_less_safe(digest, algorithm).map_err(|_| CryptoError::Signing)?;
                    let mut signature = vec![0u8; self.pair.public_modulus_len()];
                    self.pair
                        .sign_digest(encoding, &digest, &mut signature)
                        .map_err(|_| CryptoError::Signing)?;
                    return Ok(signature);
                }
            }
        }
        let raw = self
            .raw
            .get_or_init(|| rsa::PrivateKey::from_pkcs8_der(&self.pkcs8).ok())
            .as_ref()
            .ok_or(CryptoError::BadKey)?;
        // `sign` blinds with the system RNG (the `getrandom` feature).
        raw.sign(Pkcs1v15Sign::new_unprefixed(), data)
            .map_err(|_| CryptoError::Signing)
    }
}

/// An RSA public key, for verifying what the card and the producer sign.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublic {
    /// The modulus, big-endian without leading zeros.
    pub n: Vec<u8>,
    /// The public exponent, big-endian without leading zeros.
    pub e: Vec<u8>,
}

impl std::fmt::Debug for RsaPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RsaPublic({} bits)", self.n.len() * 8)
    }
}

fn without_leading_zeros(bytes: &[u8]) -> Vec<u8> {
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    bytes[skip..].to_vec()
}

impl RsaPublic {
    /// From a DER SubjectPublicKeyInfo.
    pub fn from_spki(der: &[u8]) -> Result<RsaPublic, CryptoError> {
        let key = rsa::PublicKey::from_public_key_der(der).map_err(|_| CryptoError::BadPublicKey)?;
        Ok(RsaPublic {
            n: without_leading_zeros(&key.n().to_be_bytes()),
            e: without_leading_zeros(&key.e().to_be_bytes()),
        })
    }

    /// Checks a PKCS#1 v1.5 signature over `data` padded as the card pads it
    /// (type 1, no DigestInfo added).
    pub fn verify_padded(&self, data: &[u8], signature: &[u8]) -> bool {
        let n = rsa::BoxedUint::from_be_slice_vartime(&self.n);
        let e = rsa::BoxedUint::from_be_slice_vartime(&self.e);
        match rsa::PublicKey::new(n, e) {
            Ok(key) => key.verify(Pkcs1v15Sign::new_unprefixed(), data, signature).is_ok(),
            Err(_) => false,
        }
    }

    /// Checks an RSA PKCS#1 v1.5 SHA-256 signature over `message`.
    pub fn verify_sha256(&self, message: &[u8], signature: &[u8]) -> bool {
        RsaPublicKeyComponents {
            n: &self.n[..],
            e: &self.e[..],
        }
        .verify(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256, message, signature)
        .is_ok()
    }
}

#[cfg(test)]
pub(crate) mod test_keys {
    /// The fixed test key handed out first (the JPKI auth key in the tests).
    pub const AUTH: &[u8] = include_bytes!("../tests/fixtures/keys/auth.pk8");
    /// The second (the JPKI signature key).
    pub const SIGN: &[u8] = include_bytes!("../tests/fixtures/keys/sign.pk8");
    /// The card producer's key.
    pub const PRODUCER: &[u8] = include_bytes!("../tests/fixtures/keys/producer.pk8");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_paths_pad_the_same_way() {
        let key = CardKey::from_pkcs8(test_keys::AUTH).expect("key");
        let public = RsaPublic::from_spki(key.public_key_der()).expect("public");
        let digest = sha256(b"hello");
        let info = digest_info::wrap(&digest_info::SHA256, &digest);
        // aws-lc-rs path.
        let fast = key.sign_padded(&info).expect("sign");
        // The rsa crate path on the very same DigestInfo.
        let raw = rsa::PrivateKey::from_pkcs8_der(test_keys::AUTH).expect("rsa key");
        let slow = raw.sign(Pkcs1v15Sign::new_unprefixed(), &info).expect("raw sign");
        assert_eq!(fast, slow);
        assert!(public.verify_sha256(b"hello", &fast));
        assert!(public.verify_padded(&info, &fast));
        assert!(!public.verify_sha256(b"hellp", &fast));
    }

    #[test]
    fn signs_sha1_digest_info_and_raw_data() {
        let key = CardKey::from_pkcs8(test_keys::SIGN).expect("key");
        let public = RsaPublic::from_spki(key.public_key_der()).expect("public");
        let sha1 = digest_info::wrap(&digest_info::SHA1, &[0x11; 20]);
        let sig = key.sign_padded(&sha1).expect("sha1");
        assert!(public.verify_padded(&sha1, &sig));
        let raw = [0x42; 245];
        let sig = key.sign_padded(&raw).expect("raw");
        assert!(public.verify_padded(&raw, &sig));
        assert_eq!(key.sign_padded(&[0; 246]), Err(CryptoError::Signing));
        assert_eq!(key.sign_padded(&[]), Err(CryptoError::Signing));
        // A SHA-256 prefix with a short digest is raw data, not a DigestInfo.
        let odd = digest_info::wrap(&digest_info::SHA256, &[1; 31]);
        let sig = key.sign_padded(&odd).expect("odd");
        assert!(public.verify_padded(&odd, &sig));
    }

    #[test]
    fn rejects_non_2048_keys() {
        assert_eq!(CardKey::from_pkcs8(&[0x30, 0x00]).err(), Some(CryptoError::BadKey));
    }
}
