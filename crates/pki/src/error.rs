//! One error type for the PKI crate, each variant with a stable code.

/// What went wrong in the CA, a signer, a parser or a verifier.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A signer failed (key unusable, token error).
    #[error("signer: {0}")]
    Signer(String),
    /// A key file could not be decrypted (wrong passphrase or damaged file).
    #[error("the key file {0} cannot be decrypted: wrong passphrase or damaged file")]
    KeyDecryption(String),
    /// Bytes that are not the DER structure they claim to be.
    #[error("malformed {what}: {why}")]
    Malformed { what: &'static str, why: String },
    /// A public key that is not RSA-2048 with e = 65537.
    #[error("unsupported public key: {0}")]
    UnsupportedKey(String),
    /// The rules engine refused the issuance.
    #[error("{0}")]
    Rules(#[from] mynacard_rules::RuleError),
    /// The rules refuse this certificate to this holder.
    #[error("refused: {0}")]
    Refused(String),
    /// The holder's data cannot go into a certificate.
    #[error("holder data: {0}")]
    Holder(String),
    /// No certificate with this serial.
    #[error("no certificate with serial {0}")]
    UnknownSerial(String),
    /// A status change the rules do not allow (revoked to good, a second revocation, …).
    #[error("{0}")]
    StatusChange(String),
    /// The repository failed.
    #[error("repository: {0}")]
    Repository(String),
    /// Verification failed.
    #[error("verification failed: {0}")]
    Verification(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

impl PkiError {
    /// A stable code for machines.
    pub fn code(&self) -> &'static str {
        match self {
            PkiError::Signer(_) => "signer",
            PkiError::KeyDecryption(_) => "key_decryption",
            PkiError::Malformed { .. } => "malformed",
            PkiError::UnsupportedKey(_) => "unsupported_key",
            PkiError::Rules(e) => e.code(),
            PkiError::Refused(_) => "refused",
            PkiError::Holder(_) => "holder",
            PkiError::UnknownSerial(_) => "unknown_serial",
            PkiError::StatusChange(_) => "status_change",
            PkiError::Repository(_) => "repository",
            PkiError::Verification(_) => "verification",
            PkiError::Io { .. } => "io",
        }
    }

    /// A `Malformed` error from a DER error.
    pub fn der(what: &'static str, e: der::Error) -> PkiError {
        PkiError::Malformed {
            what,
            why: e.to_string(),
        }
    }

    /// An `Io` error naming the path.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> PkiError {
        PkiError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
