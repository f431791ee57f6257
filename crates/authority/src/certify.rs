//! New certificates on a card the holder already has: after a move or a
//! change of name (a signature certificate on request), when a lost card
//! is found (the held certificates replaced), at certificate renewal in the
//! window. A new key pair is generated **on the card** for each (through
//! the management key), the CA certifies it, the certificate and its CA's
//! are written to the card.
//!
//! This is step 2 of an operation (an effect outside the registry): the
//! caller records the certificates in its transaction and, if that fails or
//! is replayed, calls [`Authority::revoke_unrecorded`] on what this made.

use chrono::NaiveDate;
use mynacard_card::admin::ManagementSession;
use mynacard_card::layout::Application;
use mynacard_card::JpkiKey;
use mynacard_pki::ca::IssueRequest;
use mynacard_pki::profile::{Holder, Profile};
use mynacard_pki::status::CrlReason;
use mynacard_pki::Serial;
use mynacard_store::registry::{CertKind, CertificateRecord, CertificateStatus};

use crate::error::AuthorityError;
use crate::Authority;

/// A certificate made for a card by [`Authority::certify_on_card`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCertificate {
    /// Which key.
    pub key: JpkiKey,
    /// Its serial.
    pub serial: Serial,
    /// Its last valid day.
    pub last_valid_day: NaiveDate,
}

impl NewCertificate {
    /// The registry record of this certificate, good from `issued_on`.
    pub fn record(&self, card_serial: &str, resident_id: i64, issued_on: NaiveDate) -> CertificateRecord {
        CertificateRecord {
            serial: self.serial.to_hex(),
            card_serial: Some(card_serial.to_owned()),
            resident_id,
            kind: match self.key {
                JpkiKey::Auth => CertKind::Auth,
                JpkiKey::Sign => CertKind::Sign,
            },
            platform: None,
            status: CertificateStatus::Good,
            issued_on,
            not_after: self.last_valid_day,
            revoked_at: None,
            reason: None,
        }
    }
}

/// What to certify on the card.
#[derive(Debug, Clone)]
pub struct CertifyRequest<'a> {
    /// The card.
    pub card_serial: &'a str,
    /// The keys to replace: a new key pair each, then a certificate.
    pub keys: &'a [JpkiKey],
    /// The holder as the signature certificate names them (current record).
    pub holder: &'a Holder,
    /// The issuance day.
    pub issued: NaiveDate,
    /// The card's expiry: no certificate outlives it.
    pub card_expiry: NaiveDate,
    /// The expiry of the auth certificate being renewed (renewal bonus).
    pub previous_auth_expiry: Option<NaiveDate>,
    /// The expiry of the signature certificate being renewed.
    pub previous_sign_expiry: Option<NaiveDate>,
    /// 成年被後見人.
    pub adult_ward: bool,
}

impl Authority {
    /// Generates new key pairs on the card and certifies them (see the
    /// module documentation). On an error, what was certified is revoked.
    pub fn certify_on_card(&self, request: &CertifyRequest<'_>) -> Result<Vec<NewCertificate>, AuthorityError> {
        let mut made: Vec<NewCertificate> = Vec::new();
        let result = self.certify_inner(request, &mut made);
        if let Err(e) = result {
            self.revoke_unrecorded(&made);
            return Err(e);
        }
        Ok(made)
    }

    fn certify_inner(
        &self,
        request: &CertifyRequest<'_>,
        made: &mut Vec<NewCertificate>,
    ) -> Result<(), AuthorityError> {
        let card_error = |e: &dyn std::fmt::Display| AuthorityError::Card(e.to_string());
        let mut chip = self.cards.open_card(request.card_serial)?;
        chip.power_on();
        let mut session: ManagementSession = self.producer.open_session(&mut chip).map_err(|e| card_error(&e))?;
        for &key in request.keys {
            let spki = session
                .generate_key_pair(&mut chip, Application::Jpki, key.key_fid())
                .map_err(|e| card_error(&e))?;
            let profile = match key {
                JpkiKey::Auth => Profile::UserAuthentication,
                JpkiKey::Sign => Profile::Signature,
            };
            let issued = self.ca.issue(
                &IssueRequest {
                    profile,
                    public_key_der: spki,
                    holder: request.holder.clone(),
                    issued: request.issued,
                    not_after_cap: Some(request.card_expiry),
                    previous_expiry: match key {
                        JpkiKey::Auth => request.previous_auth_expiry,
                        JpkiKey::Sign => request.previous_sign_expiry,
                    },
                    adult_ward: request.adult_ward,
                    counter_code: "A01".into(),
                },
                self.clock.now(),
            )?;
            made.push(NewCertificate {
                key,
                serial: issued.serial.clone(),
                last_valid_day: issued.last_valid_day,
            });
            let ca_der = self.ca.issuer_of(&issued.der)?.root_der.clone();
            session
                .write_file(&mut chip, Application::Jpki, key.certificate_fid(), &issued.der)
                .map_err(|e| card_error(&e))?;
            session
                .write_file(&mut chip, Application::Jpki, key.ca_certificate_fid(), &ca_der)
                .map_err(|e| card_error(&e))?;
        }
        Ok(())
    }

    /// Revokes certificates made for an operation that was not recorded
    /// (cessationOfOperation). Best effort: what fails here, reconciliation
    /// finds later.
    pub fn revoke_unrecorded(&self, made: &[NewCertificate]) {
        for c in made {
            let _ = self
                .ca
                .revoke(&c.serial, CrlReason::CessationOfOperation, self.clock.now());
        }
    }
}
