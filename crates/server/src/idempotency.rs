//! `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header): required
//! on every mutating API call, so that a client that lost an answer can
//! send the same request again and the operation acts once.
//!
//! The authority keeps the responses by key (one transaction with the
//! operation); here the client's key is checked and scoped by who sent it
//! (`staff:12:KEY`, `kiosk:3:KEY`), so that two clients choosing the same
//! key never see each other's answers. Forms in the web UI carry a key
//! generated when the page was drawn: a double click or a reload of the
//! POST acts once.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;

use crate::problem::Problem;

/// The header.
pub const HEADER: &str = "idempotency-key";
/// Longest key accepted (the registry's keys are at most 200 characters,
/// with room for the scope).
pub const MAX_LEN: usize = 100;

/// A checked idempotency key, not yet scoped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks a key: 1–100 of `A–Z a–z 0–9 - _ . :`.
    pub fn parse(text: &str) -> Result<IdempotencyKey, Problem> {
        let ok = !text.is_empty()
            && text.len() <= MAX_LEN
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        if ok {
            Ok(IdempotencyKey(text.to_owned()))
        } else {
            Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                format!("Idempotency-Key: 1 to {MAX_LEN} characters of A-Z a-z 0-9 - _ . :"),
            ))
        }
    }

    /// The key the authority stores: the client's, under `scope`.
    pub fn scoped(&self, scope: &str) -> String {
        format!("{scope}:{}", self.0)
    }

    /// The client's key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get(HEADER) {
            None => Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_required",
                "this call changes records: send an Idempotency-Key header (a new random value per operation, the same value when retrying)",
            )),
            Some(value) => IdempotencyKey::parse(value.to_str().unwrap_or("\u{fffd}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_and_scoped() {
        let key = IdempotencyKey::parse("3f2a-01.b:c_d").expect("valid");
        assert_eq!(key.scoped("staff:7"), "staff:7:3f2a-01.b:c_d");
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("a b").is_err());
        assert!(IdempotencyKey::parse("鍵").is_err());
        assert!(IdempotencyKey::parse(&"a".repeat(MAX_LEN + 1)).is_err());
        assert!(IdempotencyKey::parse(&"a".repeat(MAX_LEN)).is_ok());
    }
}
