//! Verification for relying parties: signatures, chains to the JPKI roots,
//! key usage, policy, validity at a time, and status from a CRL or OCSP.

use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use der::Decode;
use spki::SubjectPublicKeyInfoRef;

/// Whether `signature` is a valid RSA PKCS#1 v1.5 SHA-256 signature of
/// `message` under the public key `spki_der`.
pub fn rsa_sha256_verifies(spki_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok(spki) = SubjectPublicKeyInfoRef::from_der(spki_der) else {
        return false;
    };
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki.subject_public_key.raw_bytes())
        .verify(message, signature)
        .is_ok()
}
