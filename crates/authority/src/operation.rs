//! The run of one operation: replay check, effects, record (see the crate
//! documentation). Every public operation of the authority goes through
//! [`Operation`].

use chrono::{DateTime, Utc};
use mynacard_store::{audit, idempotency, Tx};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::actor::Actor;
use crate::error::AuthorityError;
use crate::Authority;

/// Longest idempotency key accepted.
pub const MAX_KEY_LEN: usize = 200;

/// One request to the authority: who, what, under which key.
pub(crate) struct Operation<'a> {
    pub actor: &'a Actor,
    pub name: &'static str,
    pub key: &'a str,
    pub hash: [u8; 32],
    pub at: DateTime<Utc>,
}

/// What recording an operation came to.
pub(crate) enum Recorded<R> {
    /// Recorded now.
    Done(R),
    /// Another request with the same key was recorded first: its response.
    Replayed(R),
}

impl Authority {
    /// Starts an operation: checks the key, hashes the request.
    pub(crate) fn operation<'a>(
        &self,
        actor: &'a Actor,
        name: &'static str,
        key: &'a str,
        request: &impl Serialize,
    ) -> Result<Operation<'a>, AuthorityError> {
        if key.is_empty() || key.len() > MAX_KEY_LEN || key.chars().any(char::is_control) {
            return Err(AuthorityError::BadRequest(format!(
                "an idempotency key is 1 to {MAX_KEY_LEN} printable characters"
            )));
        }
        let body = serde_json::to_vec(request).map_err(|e| AuthorityError::BadRequest(e.to_string()))?;
        Ok(Operation {
            actor,
            name,
            key,
            hash: idempotency::request_hash(name, &body),
            at: self.clock.now(),
        })
    }

    /// The stored response of an operation already recorded under its key.
    pub(crate) fn replay<R: DeserializeOwned>(&self, op: &Operation<'_>) -> Result<Option<R>, AuthorityError> {
        let stored = self
            .db
            .read(|tx| idempotency::lookup(tx, op.key, op.name, &op.hash).map_err(AuthorityError::from))?;
        stored.map(|text| decode(&text)).transpose()
    }

    /// Records an operation in one transaction: `body` writes the registry
    /// rows and answers the response and the audit entry's subject and
    /// details; the idempotency record and the audit entry commit with them.
    pub(crate) fn record<R, F>(&self, op: &Operation<'_>, mut body: F) -> Result<Recorded<R>, AuthorityError>
    where
        R: Serialize + DeserializeOwned,
        F: FnMut(&mut Tx<'_>) -> Result<(R, Audit), AuthorityError>,
    {
        self.fault_point(crate::Fault::BeforeRecord)?;
        let recorded: Recorded<R> = self.db.transaction(|tx| -> Result<Recorded<R>, AuthorityError> {
            if let Some(text) = idempotency::lookup(tx, op.key, op.name, &op.hash)? {
                return Ok(Recorded::Replayed(decode(&text)?));
            }
            let (response, audit_entry) = body(tx)?;
            self.fault_point(crate::Fault::InRecord)?;
            let text = serde_json::to_string(&response).map_err(|e| AuthorityError::BadRequest(e.to_string()))?;
            idempotency::store(tx, op.key, op.name, &op.hash, &text, op.at)?;
            audit::append(
                tx,
                &audit::AuditEntry {
                    at: op.at,
                    actor: op.actor.id.clone(),
                    action: op.name.to_owned(),
                    subject: audit_entry.subject,
                    details: audit_entry.details,
                },
            )?;
            Ok(Recorded::Done(response))
        })?;
        Ok(recorded)
    }

    /// To be called by an operation right after its record committed and
    /// before the effects that follow the commit: an injected failure here
    /// is like a crash after the commit. Such an error must not be
    /// compensated (the operation is done); the caller's retry (same key)
    /// finds the record and re-runs the following effects, which are
    /// idempotent.
    pub(crate) fn after_record(&self) -> Result<(), AuthorityError> {
        self.fault_point(crate::Fault::AfterRecord)
    }
}

/// The audit entry of an operation: on what, and anything worth keeping
/// (never a My Number, never a PIN).
pub(crate) struct Audit {
    pub subject: String,
    pub details: serde_json::Value,
}

impl Audit {
    pub fn new(subject: impl Into<String>, details: serde_json::Value) -> Audit {
        Audit {
            subject: subject.into(),
            details,
        }
    }
}

fn decode<R: DeserializeOwned>(text: &str) -> Result<R, AuthorityError> {
    serde_json::from_str(text)
        .map_err(|e| AuthorityError::Store(mynacard_store::StoreError::Corrupt(format!("stored response: {e}"))))
}
