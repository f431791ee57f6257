//! The window's card services: PIN reset (初期化), face-recognition
//! conversion and back, certificate renewal on the same card.
//!
//! Each changes the card through its management key (step 2 of the
//! operation, before the record). The card's changes are idempotent — a
//! PIN set again, a mode set again, new key pairs made again — so an
//! operation whose record fails can simply be retried and converges;
//! certificates made for a record that failed are revoked
//! (cessationOfOperation), and the registry's revocations reach the CA
//! right after the commit.

use chrono::NaiveDate;
use mynacard_card::JpkiKey;
use mynacard_rules::certificate::{certificate_validity, renewal_bonus_applies, CertificateIssuance};
use mynacard_rules::face_card::{face_card_available, SURFACE_ENTRY};
use mynacard_rules::pin::PinKind;
use mynacard_rules::renewal::renewal_window;
use mynacard_rules::revocation::RevocationCause;
use mynacard_store::registry::{self, CardStatus, CertKind, CertificateRecord, CertificateStatus, SurfaceEntryKind};
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

use crate::actor::Actor;
use crate::certify::{CertifyRequest, NewCertificate};
use crate::error::AuthorityError;
use crate::issuance::{holder, PinPad};
use crate::loss::{card_and_holder, move_certificates, state_changed, window_only};
use crate::operation::{Audit, Recorded};
use crate::Authority;

/// What the surface records when a face-recognition card becomes a PIN
/// card again (rules.md §11 is silent; the entry mirrors 「顔認証」).
pub const SURFACE_ENTRY_PIN_CARD: &str = "顔認証解除";

/// A PIN reset at the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinReset {
    /// The card.
    pub card_serial: String,
    /// The PIN set.
    pub pin: PinKind,
    /// Its tries, restored.
    pub tries: u8,
}

/// A card made a face-recognition card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceConverted {
    /// The card.
    pub card_serial: String,
    /// The signature certificate (and smartphone certificates) revoked.
    pub revoked: Vec<String>,
    /// The 追記欄 entry's number.
    pub surface_entry: i64,
}

/// A face-recognition card made a PIN card again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinCardRestored {
    /// The card.
    pub card_serial: String,
    /// The new signature certificate, when one was asked for: serial (hex)
    /// and last valid day.
    pub sign_certificate: Option<(String, NaiveDate)>,
    /// The 追記欄 entry's number.
    pub surface_entry: i64,
}

/// Certificates renewed on the same card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewedCertificates {
    /// The card.
    pub card_serial: String,
    /// The new certificates: serial (hex), kind, last valid day.
    pub new_certificates: Vec<(String, CertKind, NaiveDate)>,
    /// The old ones revoked (superseded).
    pub superseded: Vec<String>,
    /// Whether the renewal bonus (the 6th birthday) applied.
    pub renewal_bonus: bool,
}

fn card_error(e: impl std::fmt::Display) -> AuthorityError {
    AuthorityError::Card(e.to_string())
}

fn kind_of(key: JpkiKey) -> CertKind {
    match key {
        JpkiKey::Auth => CertKind::Auth,
        JpkiKey::Sign => CertKind::Sign,
    }
}

fn listed(made: &[NewCertificate]) -> Vec<(String, CertKind, NaiveDate)> {
    made.iter()
        .map(|c| (c.serial.to_hex(), kind_of(c.key), c.last_valid_day))
        .collect()
}

fn pin_name(kind: PinKind) -> &'static str {
    match kind {
        PinKind::Signature => "sign",
        PinKind::UserAuthentication => "auth",
        PinKind::InputSupport => "input_support",
        PinKind::ResidentRegistry => "registry",
    }
}

/// The card must be in the holder's hands and usable.
fn active(card: &registry::Card, today: NaiveDate) -> Result<(), AuthorityError> {
    if card.status != CardStatus::Active {
        return Err(AuthorityError::refused(
            "card_not_active",
            format!("the card is {}", card.status.as_str()),
        ));
    }
    if today > card.expires_on {
        return Err(AuthorityError::refused("card_expired", "the card has expired"));
    }
    Ok(())
}

/// The certificate of `kind` a renewal replaces: the card's good one, or,
/// past its expiry, the last one that expired.
fn renewable(on_card: &[CertificateRecord], kind: CertKind) -> Option<&CertificateRecord> {
    on_card
        .iter()
        .filter(|c| c.kind == kind && matches!(c.status, CertificateStatus::Good | CertificateStatus::Expired))
        .max_by_key(|c| (c.status == CertificateStatus::Good, c.not_after))
}

impl Authority {
    /// Sets the card's mode through its management key (SET CARD MODE: 01 a
    /// face-recognition card, 00 a PIN card).
    fn set_card_mode(&self, card_serial: &str, face: bool) -> Result<(), AuthorityError> {
        let mut chip = self.cards.open_card(card_serial)?;
        chip.power_on();
        let mut session = self.producer.open_session(&mut chip).map_err(card_error)?;
        session.set_face_recognition(&mut chip, face).map_err(card_error)
    }

    /// 暗証番号の初期化: after the identity check at the window, the holder
    /// types a new PIN on the pad; it is set through the card's management
    /// key with its full count of tries (a locked PIN too). The new PIN is
    /// not part of the hashed request and never recorded.
    pub fn reset_pin(
        &self,
        actor: &Actor,
        key: &str,
        card_serial: &str,
        which: PinKind,
        new: Zeroizing<String>,
    ) -> Result<PinReset, AuthorityError> {
        let op = self.operation(actor, "pin.reset", key, &(card_serial, which))?;
        if let Some(done) = self.replay(&op)? {
            return Ok(done);
        }
        let today = self.clock.today();
        let (card, r) = self.db.read(|tx| card_and_holder(tx, card_serial))?;
        window_only(actor, r.municipality, "a PIN reset")?;
        active(&card, today)?;
        if card.face_recognition {
            return Err(AuthorityError::refused(
                "face_card_no_pin",
                "顔認証マイナンバーカードには暗証番号がありません / a face-recognition card has no PIN",
            ));
        }
        which
            .check_format(&new)
            .map_err(|e| AuthorityError::BadRequest(format!("{} PIN: {e}", pin_name(which))))?;
        if which == PinKind::Signature {
            let on_card = self
                .db
                .read(|tx| registry::list_certificates_for_card(tx, card_serial))?;
            if !on_card.iter().any(|c| c.kind == CertKind::Sign) {
                return Err(AuthorityError::refused(
                    "sign_pin_not_set",
                    "the card was delivered without a signature certificate and has no signature PIN",
                ));
            }
        }
        // 2. Effect: the PIN and its tries, on the card.
        self.set_pins(card_serial, &[(which, pin_name(which), &new)])?;
        drop(new);
        // 3. Record.
        let recorded = self.record(&op, |tx| {
            let (card, _) = card_and_holder(tx, card_serial)?;
            if card.status != CardStatus::Active || card.face_recognition {
                return Err(state_changed());
            }
            let done = PinReset {
                card_serial: card_serial.to_owned(),
                pin: which,
                tries: which.retry_limit(),
            };
            Ok((
                done.clone(),
                Audit::new(
                    format!("card:{card_serial}"),
                    json!({"resident": r.id, "pin": which, "tries": done.tries}),
                ),
            ))
        })?;
        Ok(match recorded {
            Recorded::Done(d) | Recorded::Replayed(d) => d,
        })
    }

    /// Makes the card a face-recognition card (顔認証マイナンバーカード,
    /// rules.md §11): SET CARD MODE 01 (the PINs cleared and locked, the
    /// signature key and certificate erased), the signature certificate and
    /// the holder's smartphone certificates revoked (cessationOfOperation),
    /// 「顔認証」 written in the 追記欄.
    pub fn convert_to_face_card(
        &self,
        actor: &Actor,
        key: &str,
        card_serial: &str,
    ) -> Result<FaceConverted, AuthorityError> {
        let op = self.operation(actor, "card.to_face_card", key, &card_serial)?;
        if let Some(done) = self.replay(&op)? {
            return Ok(done);
        }
        let today = self.clock.today();
        let (card, r) = self.db.read(|tx| card_and_holder(tx, card_serial))?;
        window_only(actor, r.municipality, "a face-recognition conversion")?;
        active(&card, today)?;
        if !face_card_available(today) {
            return Err(AuthorityError::refused(
                "face_card_not_available",
                "face-recognition cards exist from 2023-12-15",
            ));
        }
        if card.face_recognition {
            return Err(AuthorityError::refused(
                "face_card_already",
                "the card is a face-recognition card already",
            ));
        }
        // 2. Effect: the card's mode.
        self.set_card_mode(card_serial, true)?;
        // 3. Record.
        let cause = RevocationCause::FaceRecognitionConversion;
        let recorded = self.record(&op, |tx| {
            let (mut card, r) = card_and_holder(tx, card_serial)?;
            if card.status != CardStatus::Active || card.face_recognition {
                return Err(state_changed());
            }
            let mut taken: Vec<CertificateRecord> = registry::list_certificates_for_card(tx, card_serial)?
                .into_iter()
                .filter(|c| c.kind == CertKind::Sign && c.status.is_valid())
                .collect();
            if cause.revokes_smartphone_certificates() {
                taken.extend(
                    registry::list_certificates_for_resident(tx, r.id)?
                        .into_iter()
                        .filter(|c| c.kind.is_smartphone() && c.status.is_valid()),
                );
            }
            let revoked = move_certificates(tx, &taken, CertificateStatus::Revoked, Some(cause.crl_reason()), op.at)?;
            card.face_recognition = true;
            registry::update_card(tx, &card)?;
            let entry =
                registry::add_surface_entry(tx, card_serial, today, SurfaceEntryKind::FaceRecognition, SURFACE_ENTRY)?;
            let done = FaceConverted {
                card_serial: card_serial.to_owned(),
                revoked,
                surface_entry: entry.seq,
            };
            Ok((
                done.clone(),
                Audit::new(
                    format!("card:{card_serial}"),
                    json!({"resident": r.id, "revoked": done.revoked, "surface_entry": entry.seq}),
                ),
            ))
        })?;
        match recorded {
            Recorded::Done(done) => {
                self.after_record()?;
                self.push_statuses(&done.revoked)?;
                Ok(done)
            }
            Recorded::Replayed(done) => Ok(done),
        }
    }

    /// Makes a face-recognition card a PIN card again (rules.md §11): SET
    /// CARD MODE 00, the PINs the holder types on the pad set on the card
    /// (auth, input support, registry; the signature PIN only with a
    /// signature certificate), and a new signature key pair and certificate
    /// when the pad carries a signature PIN (the holder asked for one).
    pub fn convert_to_pin_card(
        &self,
        actor: &Actor,
        key: &str,
        card_serial: &str,
        pins: &PinPad,
    ) -> Result<PinCardRestored, AuthorityError> {
        // The PINs are not hashed; whether a signature certificate is wanted is.
        let signature_wanted = pins.sign.is_some();
        let op = self.operation(actor, "card.to_pin_card", key, &(card_serial, signature_wanted))?;
        if let Some(done) = self.replay(&op)? {
            return Ok(done);
        }
        let today = self.clock.today();
        let (card, r, municipality, auth) = self.db.read(|tx| {
            let (card, r) = card_and_holder(tx, card_serial)?;
            let municipality = registry::get_municipality(tx, r.municipality)?
                .ok_or_else(|| AuthorityError::NotFound(format!("municipality {}", r.municipality)))?;
            let auth = registry::list_certificates_for_card(tx, card_serial)?
                .into_iter()
                .find(|c| c.kind == CertKind::Auth && c.status == CertificateStatus::Good);
            Ok::<_, AuthorityError>((card, r, municipality, auth))
        })?;
        window_only(actor, r.municipality, "a conversion to a PIN card")?;
        active(&card, today)?;
        if !card.face_recognition {
            return Err(AuthorityError::refused(
                "not_a_face_card",
                "the card is a PIN card already",
            ));
        }
        // The pad: every PIN the card will use, checked before the card is touched.
        let mut chosen: Vec<(PinKind, &str, &Zeroizing<String>)> = Vec::new();
        for (kind, value, needed) in [
            (PinKind::UserAuthentication, &pins.auth, true),
            (PinKind::Signature, &pins.sign, signature_wanted),
            (PinKind::InputSupport, &pins.input_support, true),
            (PinKind::ResidentRegistry, &pins.registry, true),
        ] {
            match (value, needed) {
                (Some(v), true) => {
                    kind.check_format(v)
                        .map_err(|e| AuthorityError::BadRequest(format!("{} PIN: {e}", pin_name(kind))))?;
                    chosen.push((kind, pin_name(kind), v));
                }
                (None, true) => {
                    return Err(AuthorityError::BadRequest(format!(
                        "the {} PIN is needed",
                        pin_name(kind)
                    )))
                }
                (_, false) => {}
            }
        }
        // A signature certificate: the rules first (age, adult ward, the
        // auth certificate it may not outlive).
        let sign_cap = if signature_wanted {
            let auth = auth.as_ref().ok_or_else(|| {
                AuthorityError::refused(
                    "no_auth_certificate",
                    "the card has no valid auth certificate for the signature certificate to go with",
                )
            })?;
            let validity = certificate_validity(
                &CertificateIssuance {
                    born: r.birth_date,
                    issued: today,
                    card_expiry: card.expires_on,
                    existing_auth_expiry: Some(auth.not_after),
                    previous_expiry: None,
                    adult_ward: r.adult_ward,
                },
                &self.policies,
            )?;
            if let Some(refusal) = validity.sign_refusal {
                return Err(AuthorityError::refused(
                    "no_signature_certificate",
                    format!("no signature certificate for this holder ({refusal:?}, rules.md §3)"),
                ));
            }
            Some(auth.not_after.min(card.expires_on))
        } else {
            None
        };
        // 2. Effects: the mode, the PINs, the signature key and certificate.
        self.set_card_mode(card_serial, false)?;
        self.set_pins(card_serial, &chosen)?;
        let made: Vec<NewCertificate> = match sign_cap {
            Some(cap) => self.certify_on_card(&CertifyRequest {
                card_serial,
                keys: &[JpkiKey::Sign],
                holder: &holder(&r, &municipality)?,
                issued: today,
                card_expiry: cap,
                previous_auth_expiry: None,
                previous_sign_expiry: None,
                adult_ward: r.adult_ward,
            })?,
            None => Vec::new(),
        };
        // 3. Record.
        let recorded = self.record(&op, |tx| {
            let (mut card, r) = card_and_holder(tx, card_serial)?;
            if card.status != CardStatus::Active || !card.face_recognition {
                return Err(state_changed());
            }
            card.face_recognition = false;
            registry::update_card(tx, &card)?;
            for c in &made {
                registry::insert_certificate(tx, &c.record(card_serial, r.id, today))?;
            }
            let entry = registry::add_surface_entry(
                tx,
                card_serial,
                today,
                SurfaceEntryKind::FaceRecognition,
                SURFACE_ENTRY_PIN_CARD,
            )?;
            let done = PinCardRestored {
                card_serial: card_serial.to_owned(),
                sign_certificate: made.first().map(|c| (c.serial.to_hex(), c.last_valid_day)),
                surface_entry: entry.seq,
            };
            Ok((
                done.clone(),
                Audit::new(
                    format!("card:{card_serial}"),
                    json!({
                        "resident": r.id,
                        "sign_certificate": done.sign_certificate.as_ref().map(|c| &c.0),
                        "surface_entry": entry.seq,
                    }),
                ),
            ))
        });
        match recorded {
            Ok(Recorded::Done(done)) => Ok(done),
            Ok(Recorded::Replayed(earlier)) => {
                self.revoke_unrecorded(&made);
                Ok(earlier)
            }
            Err(e) => {
                self.revoke_unrecorded(&made);
                Err(e)
            }
        }
    }

    /// 電子証明書の更新 at the window, on the same card: new key pairs and
    /// certificates (the signature one where the card has one), with the
    /// renewal bonus of rules.md §3 inside the renewal window; the old ones
    /// revoked (superseded) in the transaction that records the new ones,
    /// the CA told after the commit. Refused before the window opens
    /// (rules.md §5); after expiry it is a new issuance (no bonus).
    pub fn renew_certificates(
        &self,
        actor: &Actor,
        key: &str,
        card_serial: &str,
    ) -> Result<RenewedCertificates, AuthorityError> {
        let op = self.operation(actor, "certificates.renew", key, &card_serial)?;
        if let Some(done) = self.replay(&op)? {
            return Ok(done);
        }
        let today = self.clock.today();
        let (card, r, municipality, on_card) = self.db.read(|tx| {
            let (card, r) = card_and_holder(tx, card_serial)?;
            let municipality = registry::get_municipality(tx, r.municipality)?
                .ok_or_else(|| AuthorityError::NotFound(format!("municipality {}", r.municipality)))?;
            let on_card = registry::list_certificates_for_card(tx, card_serial)?;
            Ok::<_, AuthorityError>((card, r, municipality, on_card))
        })?;
        window_only(actor, r.municipality, "a certificate renewal")?;
        active(&card, today)?;
        let auth = renewable(&on_card, CertKind::Auth)
            .cloned()
            .ok_or_else(|| AuthorityError::refused("no_certificate", "the card has no certificate to renew"))?;
        let sign = if card.face_recognition {
            None
        } else {
            renewable(&on_card, CertKind::Sign).cloned()
        };
        // The auth certificate decides: the signature one never outlives it.
        let window = renewal_window(auth.not_after, &self.policies);
        if today < window.opens {
            return Err(AuthorityError::refused(
                "renewal_window_not_open",
                format!(
                    "更新は{}から / the renewal window opens on {} (3 months before the expiry {})",
                    window.opens, window.opens, auth.not_after
                ),
            ));
        }
        let validity = certificate_validity(
            &CertificateIssuance {
                born: r.birth_date,
                issued: today,
                card_expiry: card.expires_on,
                existing_auth_expiry: None,
                previous_expiry: Some(auth.not_after),
                adult_ward: r.adult_ward,
            },
            &self.policies,
        )?;
        // A holder who may no longer have one keeps the old signature
        // certificate to its end, not renewed.
        let sign = sign.filter(|_| validity.sign_refusal.is_none());
        let renewal_bonus = renewal_bonus_applies(Some(auth.not_after), today, &self.policies);
        let holder = holder(&r, &municipality)?;
        // 2. Effects: new key pairs and certificates on the card.
        let request = |keys: &'static [JpkiKey], cap: NaiveDate| CertifyRequest {
            card_serial,
            keys,
            holder: &holder,
            issued: today,
            card_expiry: cap,
            previous_auth_expiry: Some(auth.not_after),
            previous_sign_expiry: sign.as_ref().map(|s| s.not_after),
            adult_ward: r.adult_ward,
        };
        let mut made = self.certify_on_card(&request(&[JpkiKey::Auth], card.expires_on))?;
        if sign.is_some() {
            let cap = made[0].last_valid_day.min(card.expires_on);
            match self.certify_on_card(&request(&[JpkiKey::Sign], cap)) {
                Ok(more) => made.extend(more),
                Err(e) => {
                    self.revoke_unrecorded(&made);
                    return Err(e);
                }
            }
        }
        // 3. Record.
        let old: Vec<CertificateRecord> = [Some(auth.clone()), sign.clone()]
            .into_iter()
            .flatten()
            .filter(|c| c.status == CertificateStatus::Good)
            .collect();
        let recorded = self.record(&op, |tx| {
            let (card, r) = card_and_holder(tx, card_serial)?;
            if card.status != CardStatus::Active {
                return Err(state_changed());
            }
            let superseded = move_certificates(
                tx,
                &old,
                CertificateStatus::Revoked,
                Some(RevocationCause::Renewed.crl_reason()),
                op.at,
            )?;
            for c in &made {
                registry::insert_certificate(tx, &c.record(card_serial, r.id, today))?;
            }
            let done = RenewedCertificates {
                card_serial: card_serial.to_owned(),
                new_certificates: listed(&made),
                superseded,
                renewal_bonus,
            };
            Ok((
                done.clone(),
                Audit::new(
                    format!("card:{card_serial}"),
                    json!({
                        "resident": r.id,
                        "certificates": done.new_certificates.iter().map(|c| &c.0).collect::<Vec<_>>(),
                        "superseded": done.superseded,
                        "renewal_bonus": renewal_bonus,
                    }),
                ),
            ))
        });
        match recorded {
            Ok(Recorded::Done(done)) => {
                self.after_record()?;
                self.push_statuses(&done.superseded)?;
                Ok(done)
            }
            Ok(Recorded::Replayed(earlier)) => {
                self.revoke_unrecorded(&made);
                Ok(earlier)
            }
            Err(e) => {
                self.revoke_unrecorded(&made);
                Err(e)
            }
        }
    }
}
