//! Changes of address and of the record (券面記載事項の変更): move-out,
//! move-in with continued use, moves within the municipality, marriage and
//! name changes, death, departure abroad, foreign residents' validity change
//! (rules.md §6–§8, services.md "Change of address or name").
//!
//! Every operation runs as the crate documentation says: the rules engine
//! decides from the registry, effects outside the registry (a PIN verified
//! on the card, a new signature certificate) come next, and one
//! transaction records the rest with the idempotency record and the audit
//! entry. Revocations are recorded in that transaction and applied to the
//! CA right after the commit.
//!
//! - **転出届** ([`Authority::move_out`], the old municipality): the
//!   signature certificate is revoked (`affiliationChanged`), the planned
//!   move-out date starts the 30-day clock. Abroad (国外転出) both
//!   certificates are revoked (the auth certificate survives only a domestic
//!   move); the card lapses on the departure day unless the holder keeps it
//!   (国外継続利用, Japanese nationals, since 2024-05-27), which the 追記欄
//!   records.
//! - **転入届** ([`Authority::move_in`], the new municipality; also back
//!   from abroad): with the card (継続利用) it is refused past the rules'
//!   deadlines (14 days after moving in, 30 days after the planned
//!   move-out), the resident-registry PIN is verified on the card, the new
//!   address goes in the 追記欄 and the 90-day clock is satisfied at once;
//!   without the card the move-in is recorded, the card lapses if the
//!   notification was late, and the 90-day clock runs until
//!   [`Authority::continue_card_use`].
//! - **転居** ([`Authority::move_within`]) and **氏名の変更**
//!   ([`Authority::change_name`]): the 追記欄 entry, the signature
//!   certificate revoked, the auth certificate kept.
//! - **死亡** ([`Authority::record_death`]): the card lapses, every
//!   certificate is revoked.
//! - **有効期間変更** ([`Authority::change_validity`]): a foreign resident's
//!   card follows the extended period of stay.
//!
//! A new signature certificate may be asked for with the move-in, the card
//! update, the move within the municipality and the change of name: a new
//! key pair on the card, certified by the CA
//! ([`Authority::certify_on_card`]); revoked again if the operation is not
//! recorded.

use chrono::{Datelike, NaiveDate};
use mynacard_card::JpkiKey;
use mynacard_reader::{ClientError, JpkiClient, PinRef, VirtualReader};
use mynacard_rules::card::{validity_change, Applicant, CardIssuance, ExpiryBasis, Residence, ValidityChangeTarget};
use mynacard_rules::certificate::{certificate_validity, CertificateIssuance, SignCertRefusal};
use mynacard_rules::lapse::{assess_lapse, CardEvent, LapseAssessment, LapseReason};
use mynacard_rules::numbers::MunicipalityCode;
use mynacard_rules::pin::PinKind;
use mynacard_rules::revocation::{
    auth_certificate_survives_move, signature_revocation_for, RecordChange, RevocationCause,
};
use mynacard_store::registry::{
    self, ApplicationStatus, Card, CardStatus, CertKind, CertificateRecord, Municipality, ResidentStatus,
    StoredResident, SurfaceEntryKind,
};
use mynacard_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

use crate::actor::{Actor, Role};
use crate::certify::{CertifyRequest, NewCertificate};
use crate::error::AuthorityError;
use crate::issuance::{holder, resident};
use crate::lapse::{self, LapseDone, ABROAD_CONTINUED_USE};
use crate::operation::{Audit, Recorded};
use crate::Authority;

// ---------------------------------------------------------------- requests

/// Where a holder moves to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// Another municipality in Japan (全国地方公共団体コード). The move-in
    /// may still be made elsewhere: the destination is recorded in the
    /// audit entry, not checked at the move-in.
    Municipality(String),
    /// 国外転出: abroad.
    Abroad,
}

/// 転出届: a move-out, at the window of the municipality of residence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveOut {
    /// The resident.
    pub resident_id: i64,
    /// 転出予定日 (for a departure abroad: the departure day).
    pub planned_move_out_on: NaiveDate,
    /// Where to.
    pub destination: Destination,
    /// Abroad only: the holder keeps the card (国外転出者による継続利用,
    /// rules.md §7; Japanese nationals, departures from 2024-05-27).
    #[serde(default)]
    pub abroad_with_continued_use: bool,
}

/// 転入届: a move-in, at the window of the new municipality: from another
/// municipality (after a 転出届), or back from abroad.
#[derive(Clone, Serialize, Deserialize)]
pub struct MoveIn {
    /// The resident (moved out of their previous municipality, or abroad).
    pub resident_id: i64,
    /// The new municipality (全国地方公共団体コード): the actor's.
    pub municipality: String,
    /// The day the resident actually moved in (住所を定めた日).
    pub moved_in_on: NaiveDate,
    /// 住所 in the new municipality, from the prefecture.
    pub new_address: String,
    /// The card is presented for its continued use (継続利用): the 14- and
    /// 30-day deadlines apply, the resident-registry PIN is verified on the
    /// card, and the new address is written in the 追記欄. Without it the
    /// move-in is recorded and the 90-day clock runs
    /// ([`Authority::continue_card_use`]).
    pub continued_use: bool,
    /// The resident-registry PIN (住民基本台帳用), typed by the holder on the
    /// PIN pad (not for a face-recognition card). Never serialised, never
    /// hashed into the idempotency record.
    #[serde(skip)]
    pub registry_pin: Zeroizing<String>,
    /// A new signature certificate on the card (with continued use only).
    #[serde(default)]
    pub new_signature_certificate: bool,
}

impl std::fmt::Debug for MoveIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MoveIn")
            .field("resident_id", &self.resident_id)
            .field("municipality", &self.municipality)
            .field("moved_in_on", &self.moved_in_on)
            .field("continued_use", &self.continued_use)
            .field("new_signature_certificate", &self.new_signature_certificate)
            .finish_non_exhaustive()
    }
}

/// 継続利用 after a move-in made without the card: the card presented
/// within 90 days after the move-in notification.
#[derive(Clone, Serialize, Deserialize)]
pub struct ContinuedUse {
    /// The resident.
    pub resident_id: i64,
    /// The resident-registry PIN (see [`MoveIn::registry_pin`]).
    #[serde(skip)]
    pub registry_pin: Zeroizing<String>,
    /// A new signature certificate on the card.
    #[serde(default)]
    pub new_signature_certificate: bool,
}

impl std::fmt::Debug for ContinuedUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContinuedUse")
            .field("resident_id", &self.resident_id)
            .field("new_signature_certificate", &self.new_signature_certificate)
            .finish_non_exhaustive()
    }
}

/// 転居: a move within the municipality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveWithin {
    /// The resident.
    pub resident_id: i64,
    /// The new 住所.
    pub new_address: String,
    /// The day of the move.
    pub moved_on: NaiveDate,
    /// A new signature certificate on the card.
    #[serde(default)]
    pub new_signature_certificate: bool,
}

/// Why a name changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameChangeReason {
    /// 婚姻.
    Marriage,
    /// 離婚.
    Divorce,
    /// 養子縁組 (or its dissolution).
    Adoption,
    /// Anything else (家庭裁判所の許可, …).
    Other,
}

impl NameChangeReason {
    fn ja(self) -> &'static str {
        match self {
            NameChangeReason::Marriage => "婚姻",
            NameChangeReason::Divorce => "離婚",
            NameChangeReason::Adoption => "養子縁組",
            NameChangeReason::Other => "氏名変更",
        }
    }
}

/// 氏名の変更.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameChange {
    /// The resident.
    pub resident_id: i64,
    /// The new 氏名.
    pub new_name: String,
    /// The new 振り仮名.
    pub new_name_kana: String,
    /// The day it took effect.
    pub changed_on: NaiveDate,
    /// Why.
    pub reason: NameChangeReason,
    /// A new signature certificate on the card.
    #[serde(default)]
    pub new_signature_certificate: bool,
}

/// 死亡届: the death of a resident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Death {
    /// The resident.
    pub resident_id: i64,
    /// The day of death.
    pub died_on: NaiveDate,
}

/// 有効期間変更: a foreign resident's card after the period of stay was
/// extended (在留期間更新).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidityChange {
    /// The resident.
    pub resident_id: i64,
    /// The new 在留期間満了日.
    pub new_stay_until: NaiveDate,
    /// Who applies (default: the holder); a household member may.
    #[serde(default)]
    pub applicant: Option<Applicant>,
}

// --------------------------------------------------------------- responses

/// What a move-out did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedOut {
    /// The resident.
    pub resident_id: i64,
    /// The record's status now (`moved_out` or `abroad`).
    pub status: ResidentStatus,
    /// 転出予定日.
    pub planned_move_out_on: NaiveDate,
    /// The card in use, if any.
    pub card_serial: Option<String>,
    /// Certificates revoked.
    pub revoked: Vec<String>,
    /// The last day the move-in may be notified with the card (30 days
    /// after the planned move-out).
    pub move_in_due: Option<NaiveDate>,
    /// The card's lapse, if the move-out lapsed it.
    pub lapse: Option<LapseDone>,
}

/// What a move-in did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedIn {
    /// The resident.
    pub resident_id: i64,
    /// The new municipality.
    pub municipality: String,
    /// The card in use, if any.
    pub card_serial: Option<String>,
    /// Whether the card's continued use was done with the move-in.
    pub continued_use: bool,
    /// The 追記欄 entry's number.
    pub surface_entry: Option<i64>,
    /// The last day the card may be updated (継続利用), if still to do.
    pub card_update_due: Option<NaiveDate>,
    /// The new signature certificate (serial, last valid day).
    pub new_sign_certificate: Option<(String, NaiveDate)>,
    /// Certificates revoked.
    pub revoked: Vec<String>,
    /// The card's lapse, if the move-in lapsed it (a late notification).
    pub lapse: Option<LapseDone>,
}

/// What a change of the record on the card did (転居, 氏名の変更, 継続利用).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordChanged {
    /// The resident.
    pub resident_id: i64,
    /// The card in use, if any.
    pub card_serial: Option<String>,
    /// The 追記欄 entry's number (none if no card was presented).
    pub surface_entry: Option<i64>,
    /// Certificates revoked.
    pub revoked: Vec<String>,
    /// The new signature certificate (serial, last valid day).
    pub new_sign_certificate: Option<(String, NaiveDate)>,
}

/// What recording a death did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeathRecorded {
    /// The resident.
    pub resident_id: i64,
    /// The day of death.
    pub died_on: NaiveDate,
    /// The card's lapse.
    pub lapse: Option<LapseDone>,
    /// Cards in production, invalidated (廃止).
    pub cards_invalidated: Vec<String>,
    /// Certificates revoked.
    pub revoked: Vec<String>,
}

/// What a validity change did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidityChanged {
    /// The resident.
    pub resident_id: i64,
    /// The card.
    pub card_serial: String,
    /// The expiry before.
    pub previous_expiry: NaiveDate,
    /// 有効期限 now.
    pub expires_on: NaiveDate,
    /// What decided it (the end of stay, or the birthday rule of the issuance).
    pub basis: ExpiryBasis,
    /// The 追記欄 entry's number.
    pub surface_entry: i64,
    /// The card's certificates, unchanged (serial, last valid day): they
    /// keep their expiry and are renewed at the window.
    pub certificates: Vec<(String, NaiveDate)>,
}

// ----------------------------------------------------------------- helpers

/// Window staff of `municipality`, or the system.
fn at_window(actor: &Actor, municipality: MunicipalityCode, what: &str) -> Result<(), AuthorityError> {
    match &actor.role {
        Role::Window { municipality: own } if *own == municipality => Ok(()),
        Role::Window { .. } => Err(AuthorityError::Forbidden(format!(
            "{what}: for the window of {municipality}"
        ))),
        Role::System => Ok(()),
        Role::Hotline | Role::Producer | Role::Resident { .. } => Err(AuthorityError::Forbidden(format!(
            "{what}: at the municipal window only"
        ))),
    }
}

fn not_after_today(day: NaiveDate, today: NaiveDate, what: &str) -> Result<(), AuthorityError> {
    if day > today {
        return Err(AuthorityError::BadRequest(format!(
            "{what} ({day}) is after today ({today})"
        )));
    }
    Ok(())
}

fn must_be_resident(r: &StoredResident) -> Result<(), AuthorityError> {
    if r.status != ResidentStatus::Resident {
        return Err(AuthorityError::refused(
            "not_a_resident",
            format!("the resident's record is {}", r.status.as_str()),
        ));
    }
    Ok(())
}

fn non_empty(text: &str, what: &str) -> Result<(), AuthorityError> {
    if text.trim().is_empty() {
        return Err(AuthorityError::BadRequest(format!("{what} is empty")));
    }
    Ok(())
}

/// A date as the 追記欄 writes it: 2026年4月10日.
fn ja_date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// The resident's record written over, unless it changed since it was read.
fn write_resident(
    tx: &mut Tx<'_>,
    r: &StoredResident,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), AuthorityError> {
    match registry::update_resident(tx, r, at) {
        Ok(_) => Ok(()),
        Err(StoreError::Stale(_)) => Err(lapse::state_changed()),
        Err(e) => Err(e.into()),
    }
}

/// The card as it is now in this transaction, if it is still as read.
fn same_card(tx: &mut Tx<'_>, card: &Card) -> Result<Card, AuthorityError> {
    let now = registry::get_card(tx, &card.serial)?.ok_or_else(lapse::state_changed)?;
    if now.status != card.status || now.expires_on != card.expires_on {
        return Err(lapse::state_changed());
    }
    Ok(now)
}

/// Revokes the holder's valid certificates of `kinds` for `cause` (with
/// `reason`), and the smartphone certificates that go with them where the
/// rules say so (rules.md §12).
fn revoke_kinds(
    tx: &mut Tx<'_>,
    resident_id: i64,
    kinds: &[CertKind],
    cause: RevocationCause,
    reason: mynacard_rules::revocation::CrlReason,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<String>, AuthorityError> {
    let mut certificates: Vec<CertificateRecord> = Vec::new();
    for &kind in kinds {
        if let Some(c) = registry::valid_certificate(tx, resident_id, kind)? {
            certificates.push(c);
        }
        if cause.revokes_smartphone_certificates() {
            let phone = match kind {
                CertKind::Auth => Some(CertKind::SmartphoneAuth),
                CertKind::Sign => Some(CertKind::SmartphoneSign),
                _ => None,
            };
            if let Some(c) = phone
                .map(|k| registry::valid_certificate(tx, resident_id, k))
                .transpose()?
                .flatten()
            {
                certificates.push(c);
            }
        }
    }
    lapse::revoke_all(tx, &certificates, reason, at)
}

/// The signature certificate revoked for a change of the record (rules.md
/// §6), if the change revokes it.
fn revoke_signature_for(
    tx: &mut Tx<'_>,
    resident_id: i64,
    change: RecordChange,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<String>, AuthorityError> {
    match signature_revocation_for(change) {
        Some(reason) => revoke_kinds(
            tx,
            resident_id,
            &[CertKind::Sign],
            RevocationCause::PersonalDataChanged,
            reason,
            at,
        ),
        None => Ok(Vec::new()),
    }
}

/// The first deadline still running for `reason`.
fn deadline(assessment: &LapseAssessment, reason: LapseReason) -> Option<NaiveDate> {
    assessment
        .deadlines
        .iter()
        .find(|d| d.reason == reason)
        .map(|d| d.last_day)
}

/// Refuses an operation that needs the card when the rules say it has lapsed.
fn refuse_if_lapsed(assessment: &LapseAssessment) -> Result<(), AuthorityError> {
    if assessment.lapsed {
        return Err(AuthorityError::refused(
            lapse::reason_code(assessment.reason),
            format!(
                "the card lapsed on {} ({}): its continued use is refused",
                assessment.lapse_date,
                lapse::reason_name(assessment.reason)
            ),
        ));
    }
    Ok(())
}

/// The card presented at the window: in use and not suspended.
fn presented(card: Option<&Card>) -> Result<&Card, AuthorityError> {
    match card {
        None => Err(AuthorityError::refused("no_card", "the resident holds no card in use")),
        Some(c) if c.status == CardStatus::Suspended => Err(AuthorityError::refused(
            "card_suspended",
            "the card is suspended (一時停止): lift the suspension first",
        )),
        Some(c) => Ok(c),
    }
}

/// What a new signature certificate needs, decided before the effect.
struct SignPlan {
    holder: mynacard_pki::profile::Holder,
    cap: NaiveDate,
    adult_ward: bool,
}

impl Authority {
    /// Decides whether the card may carry a new signature certificate for
    /// the holder `after` (the record as it will be).
    fn plan_signature(
        &self,
        tx: &mut Tx<'_>,
        after: &StoredResident,
        municipality: &Municipality,
        card: &Card,
        today: NaiveDate,
    ) -> Result<SignPlan, AuthorityError> {
        if card.face_recognition {
            return Err(AuthorityError::refused(
                "face_card_no_signature",
                "顔認証マイナンバーカードには署名用電子証明書を搭載できません / a face-recognition card carries no signature certificate",
            ));
        }
        let on_card = registry::list_certificates_for_card(tx, &card.serial)?;
        if !on_card.iter().any(|c| c.kind == CertKind::Sign) {
            return Err(AuthorityError::refused(
                "sign_pin_not_set",
                "the card was delivered without a signature certificate and has no signature PIN",
            ));
        }
        let auth = on_card
            .iter()
            .find(|c| c.kind == CertKind::Auth && c.status.is_valid())
            .map(|c| c.not_after);
        // A new card produced and not yet delivered holds the holder's valid
        // signature certificate: a second one cannot coexist.
        let waiting_sign = registry::valid_certificate(tx, after.id, CertKind::Sign)?
            .and_then(|c| c.card_serial)
            .filter(|serial| serial != &card.serial);
        let validity = certificate_validity(
            &CertificateIssuance {
                born: after.birth_date,
                issued: today,
                card_expiry: card.expires_on,
                existing_auth_expiry: auth,
                previous_expiry: None,
                adult_ward: after.adult_ward,
            },
            &self.policies,
        )?;
        if let Some(existing) = &waiting_sign {
            return Err(AuthorityError::refused(
                "new_card_waiting",
                format!(
                    "the new card {existing} waiting for delivery carries the signature certificate; deliver it instead"
                ),
            ));
        }
        if let Some(refusal) = validity.sign_refusal {
            return Err(AuthorityError::refused(
                "signature_not_allowed",
                match refusal {
                    SignCertRefusal::UnderMinimumAge => format!(
                        "no signature certificate under {} (rules.md §3)",
                        self.policies.sign_cert_min_age
                    ),
                    SignCertRefusal::AdultWard => "no signature certificate for an adult ward (rules.md §3)".into(),
                },
            ));
        }
        Ok(SignPlan {
            holder: holder(&after.resident, municipality)?,
            cap: auth.map_or(card.expires_on, |a| a.min(card.expires_on)),
            adult_ward: after.adult_ward,
        })
    }

    /// A new signature key pair on the card, certified (step 2).
    fn make_signature(
        &self,
        card: &Card,
        plan: &SignPlan,
        today: NaiveDate,
    ) -> Result<Vec<NewCertificate>, AuthorityError> {
        self.certify_on_card(&CertifyRequest {
            card_serial: &card.serial,
            keys: &[JpkiKey::Sign],
            holder: &plan.holder,
            issued: today,
            card_expiry: plan.cap,
            previous_auth_expiry: None,
            previous_sign_expiry: None,
            adult_ward: plan.adult_ward,
        })
    }

    /// VERIFY of the resident-registry PIN on the card, through a reader. A
    /// wrong PIN costs a try on the card. A face-recognition card has no
    /// PIN: the window confirms the holder's identity by the face instead.
    fn verify_registry_pin(&self, card: &Card, pin: &str) -> Result<(), AuthorityError> {
        if card.face_recognition {
            return Ok(());
        }
        PinKind::ResidentRegistry
            .check_format(pin)
            .map_err(|e| AuthorityError::BadRequest(format!("registry PIN: {e}")))?;
        let chip = self.cards.open_card(&card.serial)?;
        let mut reader = VirtualReader::new(card.serial.clone(), chip);
        let mut client = JpkiClient::new(&mut reader);
        match client.verify(PinRef::Registry, pin) {
            Ok(()) => Ok(()),
            Err(ClientError::WrongPin { remaining }) => Err(AuthorityError::refused(
                "wrong_pin",
                format!("住民基本台帳用暗証番号が違います / wrong resident-registry PIN: {remaining} tries left"),
            )),
            Err(ClientError::Locked) => Err(AuthorityError::refused(
                "pin_locked",
                "the resident-registry PIN is locked: reset it at the window (初期化)",
            )),
            Err(ClientError::NotSet) => Err(AuthorityError::refused(
                "pin_not_set",
                "the resident-registry PIN is not set on this card",
            )),
            Err(e) => Err(AuthorityError::Card(e.to_string())),
        }
    }

    /// After the record: the revocations to the CA; or, when it was not
    /// recorded, the certificates made for it revoked.
    fn finish<R>(
        &self,
        recorded: Result<Recorded<R>, AuthorityError>,
        made: &[NewCertificate],
        revoked: &[String],
    ) -> Result<R, AuthorityError> {
        match recorded {
            Ok(Recorded::Done(response)) => {
                self.after_record()?;
                self.push_statuses(revoked)?;
                Ok(response)
            }
            Ok(Recorded::Replayed(earlier)) => {
                self.revoke_unrecorded(made);
                Ok(earlier)
            }
            Err(e) => {
                self.revoke_unrecorded(made);
                Err(e)
            }
        }
    }

    /// 転出届: the resident moves out of the municipality (or abroad). The
    /// signature certificate is revoked; abroad the auth certificate too,
    /// and the card lapses on the departure day unless kept (国外継続利用).
    pub fn move_out(&self, actor: &Actor, key: &str, request: &MoveOut) -> Result<MovedOut, AuthorityError> {
        let op = self.operation(actor, "resident.move_out", key, request)?;
        if let Some(done) = self.replay(&op)? {
            return Ok(done);
        }
        let today = self.clock.today();
        let (r, card) = self.db.read(|tx| {
            let r = resident(tx, request.resident_id)?;
            let card = registry::card_in_use(tx, r.id)?;
            Ok::<_, AuthorityError>((r, card))
        })?;
        at_window(actor, r.municipality, "a move-out")?;
        must_be_resident(&r)?;
        // 転出届 is taken from 30 days before the planned move-out (the
        // window's practice and the one-stop service's bound, rules §14).
        if request.planned_move_out_on > today + chrono::Days::new(30) {
            return Err(AuthorityError::BadRequest(format!(
                "the planned move-out ({}) is more than 30 days after today ({today})",
                request.planned_move_out_on
            )));
        }
        let abroad = match &request.destination {
            Destination::Municipality(code) => {
                let code = MunicipalityCode::parse(code)?;
                if code == r.municipality {
                    return Err(AuthorityError::BadRequest(
                        "a move within the municipality is a 転居 (move_within), not a move-out".into(),
                    ));
                }
                if request.abroad_with_continued_use {
                    return Err(AuthorityError::BadRequest(
                        "continued use abroad is for a departure abroad".into(),
                    ));
                }
                false
            }
            Destination::Abroad => true,
        };
        let continued_use = abroad && request.abroad_with_continued_use;
        if continued_use {
            let card = presented(card.as_ref())?;
            // The rules decide whether the card may be kept on that departure.
            let facts = lapse::card_facts(&r, card, None, &self.policies);
            let departed = request.planned_move_out_on;
            let kept = assess_lapse(
                &facts,
                &[CardEvent::DepartedAbroad {
                    departed,
                    continued_use: true,
                }],
                departed,
            )?;
            if kept.lapsed && kept.reason == LapseReason::DepartedAbroad {
                return Err(AuthorityError::refused(
                    "continued_use_not_available",
                    "国外継続利用 is for Japanese nationals departing from 2024-05-27",
                ));
            }
        }
        let mut after = r.clone();
        after.resident.status = if abroad {
            ResidentStatus::Abroad
        } else {
            ResidentStatus::MovedOut
        };
        after.resident.status_changed_on = Some(today);
        after.resident.planned_move_out_on = Some(request.planned_move_out_on);
        after.resident.moved_out_on = None;

        let mut revoked: Vec<String> = Vec::new();
        let recorded = self.record(&op, |tx| {
            write_resident(tx, &after, op.at)?;
            revoked = if abroad {
                // The auth certificate survives a domestic move only.
                revoke_kinds(
                    tx,
                    r.id,
                    &[CertKind::Sign, CertKind::Auth],
                    RevocationCause::PersonalDataChanged,
                    RevocationCause::PersonalDataChanged.crl_reason(),
                    op.at,
                )?
            } else {
                revoke_signature_for(tx, r.id, RecordChange::MoveOut, op.at)?
            };
            let mut response = MovedOut {
                resident_id: r.id,
                status: after.status,
                planned_move_out_on: request.planned_move_out_on,
                card_serial: card.as_ref().map(|c| c.serial.clone()),
                revoked: Vec::new(),
                move_in_due: None,
                lapse: None,
            };
            if let Some(card) = &card {
                let card = same_card(tx, card)?;
                if continued_use {
                    registry::add_surface_entry(
                        tx,
                        &card.serial,
                        today,
                        SurfaceEntryKind::Other,
                        &format!("{} {ABROAD_CONTINUED_USE}", ja_date(request.planned_move_out_on)),
                    )?;
                }
                let assessment = lapse::assess_card(tx, &after, &card, &[], &self.policies, today)?;
                let (lapsed, more) = lapse::lapse_if_due(tx, &card, &assessment, op.at)?;
                revoked.extend(more);
                response.move_in_due = deadline(&assessment, LapseReason::NoMoveInAfterMoveOut);
                response.lapse = lapsed;
            }
            response.revoked = revoked.clone();
            Ok((
                response.clone(),
                Audit::new(
                    format!("resident:{}", r.id),
                    json!({
                        "from": r.municipality.to_string(),
                        "destination": request.destination,
                        "planned_move_out_on": request.planned_move_out_on,
                        "continued_use_abroad": continued_use,
                        "revoked": response.revoked,
                        "lapse": response.lapse,
                    }),
                ),
            ))
        });
        self.finish(recorded, &[], &revoked)
    }

    /// 転入届: the resident moves in from another municipality. With the
    /// card (`continued_use`), refused past the rules' deadlines, the
    /// resident-registry PIN verified on the card, the new address in the
    /// 追記欄. See the module documentation.
    pub fn move_in(&self, actor: &Actor, key: &str, request: &MoveIn) -> Result<MovedIn, AuthorityError> {
        // The PIN is not part of the hashed request (see MoveIn).
        let op = self.operation(actor, "resident.move_in", key, request)?;
        if let Some(done) = self.replay(&op)? {
            return Ok(done);
        }
        let code = MunicipalityCode::parse(&request.municipality)?;
        at_window(actor, code, "a move-in")?;
        non_empty(&request.new_address, "the new address")?;
        let today = self.clock.today();
        not_after_today(request.moved_in_on, today, "the move-in")?;
        if request.new_signature_certificate && !request.continued_use {
            return Err(AuthorityError::BadRequest(
                "a new signature certificate needs the card presented (continued_use)".into(),
            ));
        }
        let (r, municipality, card) = self.db.read(|tx| {
            let r = resident(tx, request.resident_id)?;
            let municipality = registry::get_municipality(tx, code)?
                .ok_or_else(|| AuthorityError::NotFound(format!("municipality {code}")))?;
            let card = registry::card_in_use(tx, r.id)?;
            Ok::<_, AuthorityError>((r, municipality, card))
        })?;
        // From another municipality (転出届 filed), or back from abroad.
        let domestic = match r.status {
            ResidentStatus::MovedOut => true,
            ResidentStatus::Abroad => false,
            ResidentStatus::Resident | ResidentStatus::Deceased => {
                return Err(AuthorityError::refused(
                    "no_move_out",
                    format!(
                        "a move-in follows a move-out (転出届) or a departure abroad; the resident's record is {}",
                        r.status.as_str()
                    ),
                ))
            }
        };
        if domestic && r.municipality == code {
            return Err(AuthorityError::refused(
                "same_municipality",
                "the move-in is made at the new municipality, not at the one moved out of",
            ));
        }
        let move_in = CardEvent::MoveIn {
            moved_in: request.moved_in_on,
            notified: today,
        };
        // 1. The rules: the deadlines of the move-in.
        let before = match &card {
            Some(card) => Some(
                self.db
                    .read(|tx| lapse::assess_card(tx, &r, card, &[move_in], &self.policies, today))?,
            ),
            None => None,
        };
        let mut after = r.clone();
        after.resident.municipality = code;
        after.resident.address = request.new_address.clone();
        after.resident.moved_in_on = Some(request.moved_in_on);
        after.resident.move_in_notified_on = Some(today);
        after.resident.status = ResidentStatus::Resident;
        after.resident.status_changed_on = Some(today);

        // 2. Effects: the PIN on the card, a new signature certificate.
        let mut plan = None;
        if request.continued_use {
            let card = presented(card.as_ref())?;
            if let Some(before) = &before {
                refuse_if_lapsed(before)?;
            }
            if request.new_signature_certificate {
                plan = Some(
                    self.db
                        .read(|tx| self.plan_signature(tx, &after, &municipality, card, today))?,
                );
            }
            self.verify_registry_pin(card, &request.registry_pin)?;
        }
        let made = match (&plan, &card) {
            (Some(plan), Some(card)) => self.make_signature(card, plan, today)?,
            _ => Vec::new(),
        };

        // 3. Record.
        let mut revoked: Vec<String> = Vec::new();
        let recorded = self.record(&op, |tx| {
            write_resident(tx, &after, op.at)?;
            revoked = Vec::new();
            let mut response = MovedIn {
                resident_id: r.id,
                municipality: code.to_string(),
                card_serial: card.as_ref().map(|c| c.serial.clone()),
                continued_use: request.continued_use,
                surface_entry: None,
                card_update_due: None,
                new_sign_certificate: None,
                revoked: Vec::new(),
                lapse: None,
            };
            if let Some(card) = &card {
                let card = same_card(tx, card)?;
                let mut events = vec![move_in];
                if request.continued_use {
                    let entry = registry::add_surface_entry(
                        tx,
                        &card.serial,
                        today,
                        SurfaceEntryKind::Address,
                        &format!("{} 転入 {}", ja_date(request.moved_in_on), request.new_address),
                    )?;
                    response.surface_entry = Some(entry.seq);
                    events.push(CardEvent::CardUpdated { on: today });
                }
                for c in &made {
                    registry::insert_certificate(tx, &c.record(&card.serial, r.id, today))?;
                    response.new_sign_certificate = Some((c.serial.to_hex(), c.last_valid_day));
                }
                // The facts as they were, with this move-in: a late one lapses the card.
                let assessment = lapse::assess_card(tx, &r, &card, &events, &self.policies, today)?;
                let (lapsed, more) = lapse::lapse_if_due(tx, &card, &assessment, op.at)?;
                revoked.extend(more);
                response.lapse = lapsed;
                response.card_update_due = deadline(&assessment, LapseReason::CardNotUpdatedAfterMoveIn);
            }
            // The auth certificate survives a domestic move only if the
            // move-in came within 30 days after the planned move-out.
            if let Some(planned) = r.planned_move_out_on.filter(|_| domestic) {
                if !auth_certificate_survives_move(planned, today) {
                    revoked.extend(revoke_kinds(
                        tx,
                        r.id,
                        &[CertKind::Auth],
                        RevocationCause::PersonalDataChanged,
                        RevocationCause::PersonalDataChanged.crl_reason(),
                        op.at,
                    )?);
                }
            }
            response.revoked = revoked.clone();
            Ok((
                response.clone(),
                Audit::new(
                    format!("resident:{}", r.id),
                    json!({
                        "from": r.municipality.to_string(),
                        "to": code.to_string(),
                        "moved_in_on": request.moved_in_on,
                        "continued_use": request.continued_use,
                        "surface_entry": response.surface_entry,
                        "card_update_due": response.card_update_due,
                        "new_sign_certificate": response.new_sign_certificate,
                        "revoked": response.revoked,
                        "lapse": response.lapse,
                    }),
                ),
            ))
        });
        self.finish(recorded, &made, &revoked)
    }

    /// 継続利用 after a move-in made without the card: within 90 days after
    /// the move-in notification, the resident-registry PIN verified on the
    /// card, the address in the 追記欄.
    pub fn continue_card_use(
        &self,
        actor: &Actor,
        key: &str,
        request: &ContinuedUse,
    ) -> Result<RecordChanged, AuthorityError> {
        let op = self.operation(actor, "card.continue_use", key, request)?;
        if let Some(done) = self.replay(&op)? {
            return Ok(done);
        }
        let today = self.clock.today();
        let (r, municipality, card, assessment) = self.db.read(|tx| {
            let r = resident(tx, request.resident_id)?;
            let municipality = registry::get_municipality(tx, r.municipality)?
                .ok_or_else(|| AuthorityError::NotFound(format!("municipality {}", r.municipality)))?;
            let card = registry::card_in_use(tx, r.id)?;
            let assessment = match &card {
                Some(card) => Some(lapse::assess_card(tx, &r, card, &[], &self.policies, today)?),
                None => None,
            };
            Ok::<_, AuthorityError>((r, municipality, card, assessment))
        })?;
        at_window(actor, r.municipality, "the card's continued use")?;
        must_be_resident(&r)?;
        let card = presented(card.as_ref())?;
        let assessment = assessment.ok_or_else(lapse::state_changed)?;
        refuse_if_lapsed(&assessment)?;
        if deadline(&assessment, LapseReason::CardNotUpdatedAfterMoveIn).is_none() {
            return Err(AuthorityError::refused(
                "no_update_due",
                "the card already carries the current address",
            ));
        }
        let plan = if request.new_signature_certificate {
            Some(
                self.db
                    .read(|tx| self.plan_signature(tx, &r, &municipality, card, today))?,
            )
        } else {
            None
        };
        self.verify_registry_pin(card, &request.registry_pin)?;
        let made = match &plan {
            Some(plan) => self.make_signature(card, plan, today)?,
            None => Vec::new(),
        };
        let moved_in = r.moved_in_on.unwrap_or(today);
        let recorded = self.record(&op, |tx| {
            let now = resident(tx, r.id)?;
            if now.version != r.version {
                return Err(lapse::state_changed());
            }
            let card = same_card(tx, card)?;
            let entry = registry::add_surface_entry(
                tx,
                &card.serial,
                today,
                SurfaceEntryKind::Address,
                &format!("{} 転入 {}", ja_date(moved_in), r.address),
            )?;
            let mut response = RecordChanged {
                resident_id: r.id,
                card_serial: Some(card.serial.clone()),
                surface_entry: Some(entry.seq),
                revoked: Vec::new(),
                new_sign_certificate: None,
            };
            for c in &made {
                registry::insert_certificate(tx, &c.record(&card.serial, r.id, today))?;
                response.new_sign_certificate = Some((c.serial.to_hex(), c.last_valid_day));
            }
            Ok((
                response.clone(),
                Audit::new(
                    format!("resident:{}", r.id),
                    json!({
                        "card": card.serial,
                        "surface_entry": entry.seq,
                        "new_sign_certificate": response.new_sign_certificate,
                    }),
                ),
            ))
        });
        self.finish(recorded, &made, &[])
    }

    /// 転居: a move within the municipality. The 追記欄 entry on the card
    /// (if one is in the holder's hands), the signature certificate revoked.
    pub fn move_within(&self, actor: &Actor, key: &str, request: &MoveWithin) -> Result<RecordChanged, AuthorityError> {
        let op = self.operation(actor, "resident.move_within", key, request)?;
        if let Some(done) = self.replay(&op)? {
            return Ok(done);
        }
        non_empty(&request.new_address, "the new address")?;
        let today = self.clock.today();
        not_after_today(request.moved_on, today, "the move")?;
        let (r, municipality, card) = self.read_holder(request.resident_id)?;
        at_window(actor, r.municipality, "a move within the municipality")?;
        must_be_resident(&r)?;
        let mut after = r.clone();
        after.resident.address = request.new_address.clone();
        let text = format!("{} 転居 {}", ja_date(request.moved_on), request.new_address);
        self.change_record(
            &op,
            (&r, &after, &municipality, card.as_ref()),
            RecordChange::Address,
            SurfaceEntryKind::Address,
            &text,
            request.new_signature_certificate,
            json!({"moved_on": request.moved_on}),
        )
    }

    /// 氏名の変更 (marriage, …): the 追記欄 entry, the signature certificate
    /// revoked, the auth certificate kept.
    pub fn change_name(&self, actor: &Actor, key: &str, request: &NameChange) -> Result<RecordChanged, AuthorityError> {
        let op = self.operation(actor, "resident.change_name", key, request)?;
        if let Some(done) = self.replay(&op)? {
            return Ok(done);
        }
        non_empty(&request.new_name, "the new name")?;
        let today = self.clock.today();
        not_after_today(request.changed_on, today, "the change of name")?;
        let (r, municipality, card) = self.read_holder(request.resident_id)?;
        at_window(actor, r.municipality, "a change of name")?;
        must_be_resident(&r)?;
        let mut after = r.clone();
        after.resident.name = request.new_name.clone();
        after.resident.name_kana = request.new_name_kana.clone();
        let text = format!(
            "{} 氏名変更（{}） {}",
            ja_date(request.changed_on),
            request.reason.ja(),
            request.new_name
        );
        self.change_record(
            &op,
            (&r, &after, &municipality, card.as_ref()),
            RecordChange::Name,
            SurfaceEntryKind::Name,
            &text,
            request.new_signature_certificate,
            json!({"changed_on": request.changed_on, "reason": request.reason}),
        )
    }

    fn read_holder(&self, resident_id: i64) -> Result<(StoredResident, Municipality, Option<Card>), AuthorityError> {
        self.db.read(|tx| {
            let r = resident(tx, resident_id)?;
            let municipality = registry::get_municipality(tx, r.municipality)?
                .ok_or_else(|| AuthorityError::NotFound(format!("municipality {}", r.municipality)))?;
            let card = registry::card_in_use(tx, r.id)?;
            Ok((r, municipality, card))
        })
    }

    /// A change of the record written on the card: the record, the 追記欄
    /// entry (on a card in the holder's hands), the signature certificate
    /// revoked as the rules say, a new one on request.
    #[allow(clippy::too_many_arguments)]
    fn change_record(
        &self,
        op: &crate::operation::Operation<'_>,
        (r, after, municipality, card): (&StoredResident, &StoredResident, &Municipality, Option<&Card>),
        change: RecordChange,
        entry_kind: SurfaceEntryKind,
        entry_text: &str,
        new_signature: bool,
        details: serde_json::Value,
    ) -> Result<RecordChanged, AuthorityError> {
        let today = self.clock.today();
        let shown = card.filter(|c| c.status == CardStatus::Active);
        let made = if new_signature {
            let card = presented(card)?;
            let plan = self
                .db
                .read(|tx| self.plan_signature(tx, after, municipality, card, today))?;
            self.make_signature(card, &plan, today)?
        } else {
            Vec::new()
        };
        let mut revoked: Vec<String> = Vec::new();
        let recorded = self.record(op, |tx| {
            write_resident(tx, after, op.at)?;
            revoked = revoke_signature_for(tx, r.id, change, op.at)?;
            let mut response = RecordChanged {
                resident_id: r.id,
                card_serial: card.map(|c| c.serial.clone()),
                surface_entry: None,
                revoked: revoked.clone(),
                new_sign_certificate: None,
            };
            if let Some(card) = shown {
                let card = same_card(tx, card)?;
                let entry = registry::add_surface_entry(tx, &card.serial, today, entry_kind, entry_text)?;
                response.surface_entry = Some(entry.seq);
                for c in &made {
                    registry::insert_certificate(tx, &c.record(&card.serial, r.id, today))?;
                    response.new_sign_certificate = Some((c.serial.to_hex(), c.last_valid_day));
                }
            }
            let mut details = details.clone();
            if let Some(map) = details.as_object_mut() {
                map.insert("surface_entry".into(), json!(response.surface_entry));
                map.insert("revoked".into(), json!(response.revoked));
                map.insert("new_sign_certificate".into(), json!(response.new_sign_certificate));
            }
            Ok((response.clone(), Audit::new(format!("resident:{}", r.id), details)))
        });
        self.finish(recorded, &made, &revoked)
    }

    /// 死亡: the record removed; the card lapses, cards in production are
    /// invalidated, every certificate of the person is revoked.
    pub fn record_death(&self, actor: &Actor, key: &str, request: &Death) -> Result<DeathRecorded, AuthorityError> {
        let op = self.operation(actor, "resident.death", key, request)?;
        if let Some(done) = self.replay(&op)? {
            return Ok(done);
        }
        let today = self.clock.today();
        not_after_today(request.died_on, today, "the death")?;
        let r = self.db.read(|tx| resident(tx, request.resident_id))?;
        at_window(actor, r.municipality, "recording a death")?;
        if request.died_on < r.birth_date {
            return Err(AuthorityError::BadRequest(format!(
                "the death ({}) is before the birth ({})",
                request.died_on, r.birth_date
            )));
        }
        if r.status == ResidentStatus::Deceased {
            return Err(AuthorityError::refused("deceased", "the death is recorded already"));
        }
        let mut after = r.clone();
        after.resident.status = ResidentStatus::Deceased;
        after.resident.status_changed_on = Some(request.died_on);

        let mut revoked: Vec<String> = Vec::new();
        let recorded = self.record(&op, |tx| {
            write_resident(tx, &after, op.at)?;
            revoked = Vec::new();
            let mut lapsed = None;
            if let Some(card) = registry::card_in_use(tx, r.id)? {
                let assessment = lapse::assess_card(tx, &after, &card, &[], &self.policies, today)?;
                let (l, more) = lapse::lapse_if_due(tx, &card, &assessment, op.at)?;
                lapsed = l;
                revoked.extend(more);
            }
            // Applications still open die with the resident: nothing is
            // produced for them any more.
            for mut app in registry::list_applications(tx, r.id)? {
                if matches!(
                    app.status,
                    ApplicationStatus::Received | ApplicationStatus::InProduction | ApplicationStatus::Produced
                ) {
                    app.record.status = ApplicationStatus::Cancelled;
                    registry::update_application(tx, &app)?;
                }
            }
            let mut invalidated = Vec::new();
            for card in registry::list_cards_for_resident(tx, r.id)? {
                if card.status == CardStatus::Produced
                    && registry::set_card_status(tx, &card.serial, CardStatus::Produced, CardStatus::Invalid, op.at)?
                {
                    invalidated.push(card.serial);
                }
            }
            // Whatever is still valid (a card in production's, a card that
            // only expired, the smartphone's).
            let rest: Vec<CertificateRecord> = registry::list_certificates_for_resident(tx, r.id)?
                .into_iter()
                .filter(|c| c.status.is_valid())
                .collect();
            revoked.extend(lapse::revoke_all(
                tx,
                &rest,
                RevocationCause::PersonalDataChanged.crl_reason(),
                op.at,
            )?);
            let response = DeathRecorded {
                resident_id: r.id,
                died_on: request.died_on,
                lapse: lapsed,
                cards_invalidated: invalidated,
                revoked: revoked.clone(),
            };
            Ok((
                response.clone(),
                Audit::new(
                    format!("resident:{}", r.id),
                    json!({
                        "died_on": request.died_on,
                        "lapse": response.lapse,
                        "cards_invalidated": response.cards_invalidated,
                        "revoked": response.revoked,
                    }),
                ),
            ))
        });
        self.finish(recorded, &[], &revoked)
    }

    /// 有効期間変更: a foreign resident's card after the period of stay was
    /// extended — the card's expiry follows the new end of stay within the
    /// birthday rule of its issuance (rules.md §8), free, before the card
    /// expires. The certificates keep their expiry.
    pub fn change_validity(
        &self,
        actor: &Actor,
        key: &str,
        request: &ValidityChange,
    ) -> Result<ValidityChanged, AuthorityError> {
        let op = self.operation(actor, "card.change_validity", key, request)?;
        if let Some(done) = self.replay(&op)? {
            return Ok(done);
        }
        let today = self.clock.today();
        let (r, card, received) = self.db.read(|tx| {
            let r = resident(tx, request.resident_id)?;
            let card = registry::card_in_use(tx, r.id)?;
            let received = match card.as_ref().and_then(|c| c.application_id) {
                Some(id) => registry::get_application(tx, id)?.and_then(|a| a.jlis_received_on),
                None => None,
            };
            Ok::<_, AuthorityError>((r, card, received))
        })?;
        at_window(actor, r.municipality, "a validity change")?;
        must_be_resident(&r)?;
        let card = presented(card.as_ref())?;
        if !matches!(r.residence, Residence::ForeignWithStay { .. }) {
            return Err(AuthorityError::refused(
                "no_period_of_stay",
                "a validity change (有効期間変更) is for a foreign resident with a period of stay",
            ));
        }
        let validity = validity_change(
            &CardIssuance {
                born: r.birth_date,
                issued: card.issued_on,
                application_received: received.filter(|d| *d <= card.issued_on),
                residence: r.residence,
            },
            card.expires_on,
            request.new_stay_until,
            today,
            request.applicant.unwrap_or(Applicant::Holder),
            ValidityChangeTarget::Card,
            &self.policies,
        )?;
        let mut after = r.clone();
        after.resident.residence = Residence::ForeignWithStay {
            stay_until: request.new_stay_until,
        };
        let recorded = self.record(&op, |tx| {
            write_resident(tx, &after, op.at)?;
            let mut changed = same_card(tx, card)?;
            changed.expires_on = validity.expiry;
            registry::update_card(tx, &changed)?;
            let entry = registry::add_surface_entry(
                tx,
                &card.serial,
                today,
                SurfaceEntryKind::ValidityChange,
                &format!("{} 有効期間変更 {}まで", ja_date(today), ja_date(validity.expiry)),
            )?;
            let certificates = registry::list_certificates_for_card(tx, &card.serial)?
                .into_iter()
                .filter(|c| c.status.is_valid())
                .map(|c| (c.serial, c.not_after))
                .collect();
            let response = ValidityChanged {
                resident_id: r.id,
                card_serial: card.serial.clone(),
                previous_expiry: card.expires_on,
                expires_on: validity.expiry,
                basis: validity.basis,
                surface_entry: entry.seq,
                certificates,
            };
            Ok((
                response.clone(),
                Audit::new(
                    format!("card:{}", card.serial),
                    json!({
                        "resident": r.id,
                        "previous_expiry": card.expires_on,
                        "expires_on": validity.expiry,
                        "stay_until": request.new_stay_until,
                        "applicant": request.applicant.unwrap_or(Applicant::Holder),
                    }),
                ),
            ))
        });
        self.finish(recorded, &[], &[])
    }
}
