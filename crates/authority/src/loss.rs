//! Loss (紛失): the hotline's suspension at any hour, the window's loss
//! report, found (suspension lifted, held certificates replaced), reissue
//! with evidence and the fee, voluntary return.
//!
//! - **一時停止** ([`Authority::suspend_lost_card`]): the hotline (any hour,
//!   any holder) or the window of the holder's municipality suspends the
//!   card and puts its valid certificates on hold (certificateHold). The
//!   registry records first — card, certificates, the loss report (紛失届)
//!   in one transaction — and the CA learns of the holds right after the
//!   commit (and from [`Authority::reconcile`] if the process dies in
//!   between). The holder's smartphone certificates stay as they are:
//!   a hold on the lost card leaves the smartphone's own keys alone
//!   ([`RevocationCause::revokes_smartphone_certificates`]).
//! - **発見** ([`Authority::card_found`]): at the window of the municipality
//!   of residence the suspension is lifted. A card certificate's hold is
//!   never released (一時保留の解除は行わない, rules.md §9): the held
//!   certificates are revoked (superseded) and new key pairs and
//!   certificates are made on the card.
//! - **再交付** ([`Authority::reissue`]): the evidence the rules ask for
//!   (遺失届の受理番号, 罹災証明書, the damaged card), the fee of rules.md §10
//!   and its receipt, the old card invalidated (廃止) and its certificates
//!   revoked, and an application of kind reissue that production and
//!   delivery ([`Authority::produce`], [`Authority::deliver`]) take on.
//! - **返納** ([`Authority::return_card`]): the card returned, its
//!   certificates (and the smartphone's) revoked.

use chrono::{DateTime, NaiveDate, Utc};
use mynacard_card::JpkiKey;
use mynacard_pki::status::CrlReason;
use mynacard_rules::fee::{fee, FeeCase, FeeCause, FeeReason, ReissueEvidence};
use mynacard_rules::lapse::LapseReason;
use mynacard_rules::revocation::RevocationCause;
use mynacard_store::registry::{
    self, Application, ApplicationChannel, ApplicationKind, ApplicationStatus, Card, CardStatus, CertKind,
    CertificateRecord, CertificateStatus, Fee, LossCause, LossChannel, LossReportStatus, ResidentStatus, Stored,
    StoredResident,
};
use mynacard_store::{disclosure, Tx};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::actor::{Actor, Role};
use crate::certify::{CertifyRequest, NewCertificate};
use crate::error::AuthorityError;
use crate::issuance::{holder, resident};
use crate::operation::{Audit, Recorded};
use crate::Authority;

/// Which card was lost: its serial, or the holder as the caller describes
/// them (the hotline rarely has the serial at hand).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LostCard {
    /// The card's serial.
    Serial(String),
    /// The holder: the card in use of the one resident who matches.
    Holder(HolderLookup),
}

/// The holder as the hotline asks for them: 氏名, 生年月日, and the start of
/// the 住所 (prefecture, municipality, …) to tell namesakes apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderLookup {
    /// 氏名 (spaces, full-width or not, are ignored).
    pub name: String,
    /// 生年月日.
    pub birth_date: NaiveDate,
    /// The beginning of the address, if given.
    #[serde(default)]
    pub address_prefix: Option<String>,
}

/// A loss or theft reported (紛失・盗難の届出).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossReport {
    /// The card.
    pub card: LostCard,
    /// Loss, theft or fire (焼失).
    pub cause: LossCause,
    /// When the holder reported it (default: now). Never in the future.
    #[serde(default)]
    pub reported_at: Option<DateTime<Utc>>,
    /// Hotline, window, or a report forwarded by the police (the hotline
    /// takes only hotline reports).
    pub channel: LossChannel,
    /// The operator's note (kept in the audit log; never a My Number).
    #[serde(default)]
    pub note: Option<String>,
}

/// What a suspension did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspended {
    /// The card suspended (一時停止).
    pub card_serial: String,
    /// The loss report recorded.
    pub loss_report_id: i64,
    /// The certificates put on hold (certificateHold).
    pub held: Vec<String>,
    /// When.
    pub suspended_at: DateTime<Utc>,
}

/// What a card found again came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    /// The card, active again.
    pub card_serial: String,
    /// The held certificates, revoked (superseded).
    pub revoked: Vec<String>,
    /// The new certificates on the card: serial (hex), kind, last valid day.
    pub new_certificates: Vec<(String, CertKind, NaiveDate)>,
    /// The loss reports closed as found.
    pub loss_reports: Vec<i64>,
}

/// A card found by the hotline's search (never a My Number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSummary {
    /// The card's serial.
    pub card_serial: String,
    /// Active or suspended.
    pub status: CardStatus,
    /// 顔認証マイナンバーカード.
    pub face_recognition: bool,
    /// 有効期限.
    pub expires_on: NaiveDate,
    /// The holder's registry id.
    pub resident_id: i64,
    /// The municipality of residence (全国地方公共団体コード).
    pub municipality: String,
}

/// Why there is no fault of the holder's (rules.md §10: the reissue is free).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoFaultGround {
    /// A natural disaster: needs the 罹災証明書.
    NaturalDisaster,
    /// An error of the municipality or J-LIS.
    AdministrativeError,
    /// Another cause not the holder's, as the window found.
    Other,
}

/// The evidence brought to the window (rules.md §9).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReissueEvidenceGiven {
    /// 遺失届の受理番号 (loss, theft).
    #[serde(default)]
    pub police_receipt_number: Option<String>,
    /// 罹災証明書 (fire, natural disaster): its number.
    #[serde(default)]
    pub disaster_certificate: Option<String>,
    /// The damaged or malfunctioning card, handed in.
    #[serde(default)]
    pub damaged_card_returned: bool,
    /// The old card, handed in (full 追記欄, a lapsed foreign resident's card).
    #[serde(default)]
    pub old_card_returned: bool,
}

/// A reissue (再交付) applied for at the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reissue {
    /// The holder.
    pub resident_id: i64,
    /// Why: loss, theft, fire, damage, malfunction, full_entries, stay_expired.
    pub cause: FeeCause,
    /// What the holder brought.
    #[serde(default)]
    pub evidence: ReissueEvidenceGiven,
    /// Not the holder's fault (free), and why.
    #[serde(default)]
    pub not_holders_fault: Option<NoFaultGround>,
    /// New electronic certificates with the card (the signature certificate
    /// wanted): 1,000 yen instead of 800 when a fee is due.
    pub with_certificates: bool,
}

/// What a reissue recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reissued {
    /// The application of kind reissue, for production.
    pub application_id: i64,
    /// The fee in yen (0 when free).
    pub fee_yen: u32,
    /// Why that fee.
    pub fee_reason: FeeReason,
    /// The fee's registry id.
    pub fee_id: i64,
    /// The receipt of the fee paid at the window (none when free).
    pub receipt_number: Option<String>,
    /// The old card, invalidated (廃止).
    pub invalidated_card: Option<String>,
    /// Its certificates, revoked.
    pub revoked: Vec<String>,
    /// The loss report the reissue closes (loss, theft, fire).
    pub loss_report_id: Option<i64>,
}

/// What a return (返納) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Returned {
    /// The card returned.
    pub card_serial: String,
    /// Its certificates and the smartphone's, revoked.
    pub revoked: Vec<String>,
    /// The day of the return (the card's lapse date).
    pub returned_on: NaiveDate,
}

/// Window staff of the resident's municipality, or the system; nobody else.
pub(crate) fn window_only(
    actor: &Actor,
    municipality: mynacard_rules::numbers::MunicipalityCode,
    what: &str,
) -> Result<(), AuthorityError> {
    match &actor.role {
        Role::Window { municipality: own } if *own == municipality => Ok(()),
        Role::Window { .. } => Err(AuthorityError::Forbidden(format!(
            "{what}: the resident is registered in another municipality"
        ))),
        Role::System => Ok(()),
        Role::Hotline | Role::Producer | Role::Resident { .. } => Err(AuthorityError::Forbidden(format!(
            "{what}: only at the window of the municipality of residence"
        ))),
    }
}

/// The card and its holder.
pub(crate) fn card_and_holder(tx: &mut Tx<'_>, card_serial: &str) -> Result<(Card, StoredResident), AuthorityError> {
    let card =
        registry::get_card(tx, card_serial)?.ok_or_else(|| AuthorityError::NotFound(format!("card {card_serial}")))?;
    let r = resident(tx, card.resident_id)?;
    Ok((card, r))
}

/// Moves certificates to `to` (hold or revoked with `reason`) from the
/// status they were read in; refuses if one changed meanwhile. Answers
/// their serials.
pub(crate) fn move_certificates(
    tx: &mut Tx<'_>,
    certificates: &[CertificateRecord],
    to: CertificateStatus,
    reason: Option<CrlReason>,
    at: DateTime<Utc>,
) -> Result<Vec<String>, AuthorityError> {
    let mut moved = Vec::new();
    for c in certificates {
        if !registry::set_certificate_status(tx, &c.serial, c.status, to, at, reason)? {
            return Err(state_changed());
        }
        moved.push(c.serial.clone());
    }
    Ok(moved)
}

pub(crate) fn state_changed() -> AuthorityError {
    AuthorityError::refused(
        "state_changed",
        "the card or its certificates changed meanwhile; try again",
    )
}

/// The certificates a revocation for `cause` takes: the card's valid ones,
/// and the holder's valid smartphone certificates where the rules say so.
fn taken_by(
    tx: &mut Tx<'_>,
    card: &Card,
    cause: RevocationCause,
    statuses: &[CertificateStatus],
) -> Result<Vec<CertificateRecord>, AuthorityError> {
    let mut out: Vec<CertificateRecord> = registry::list_certificates_for_card(tx, &card.serial)?
        .into_iter()
        .filter(|c| statuses.contains(&c.status))
        .collect();
    if cause.revokes_smartphone_certificates() {
        out.extend(
            registry::list_certificates_for_resident(tx, card.resident_id)?
                .into_iter()
                .filter(|c| c.kind.is_smartphone() && statuses.contains(&c.status)),
        );
    }
    Ok(out)
}

fn without_spaces(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The residents matching a hotline lookup (name without spaces, birth
/// date, address prefix).
fn matching_residents(tx: &mut Tx<'_>, lookup: &HolderLookup) -> Result<Vec<StoredResident>, AuthorityError> {
    // Residents born that day, then name and address compared here.
    let ids = registry::residents_born_on(tx, lookup.birth_date)?;
    let name = without_spaces(&lookup.name);
    let mut out = Vec::new();
    for id in ids {
        let r = resident(tx, id)?;
        let address_ok = lookup
            .address_prefix
            .as_deref()
            .is_none_or(|p| without_spaces(&r.address).starts_with(&without_spaces(p)));
        if without_spaces(&r.name) == name && address_ok {
            out.push(r);
        }
    }
    Ok(out)
}

fn loss_cause_of(cause: FeeCause) -> Option<LossCause> {
    match cause {
        FeeCause::Loss => Some(LossCause::Loss),
        FeeCause::Theft => Some(LossCause::Theft),
        FeeCause::Fire => Some(LossCause::Fire),
        _ => None,
    }
}

/// The CRLReason of the old card's certificates on a reissue: a lost or
/// stolen card's key left the holder's control (keyCompromise); otherwise
/// the new card's certificates replace them (superseded).
fn reissue_revocation(cause: FeeCause) -> RevocationCause {
    match cause {
        FeeCause::Loss | FeeCause::Theft => RevocationCause::KeyCompromise,
        _ => RevocationCause::Renewed,
    }
}

fn present(text: &Option<String>) -> bool {
    text.as_deref().is_some_and(|t| !t.trim().is_empty())
}

/// Checks the evidence of a reissue (rules.md §9, §10).
fn check_evidence(request: &Reissue) -> Result<(), AuthorityError> {
    let e = &request.evidence;
    let disaster = request.not_holders_fault == Some(NoFaultGround::NaturalDisaster);
    if disaster && !present(&e.disaster_certificate) {
        return Err(AuthorityError::refused(
            "evidence_missing",
            "罹災証明書が必要です / a natural disaster is shown by the disaster certificate",
        ));
    }
    let Some(needed) = request.cause.required_evidence() else {
        return Err(AuthorityError::BadRequest(
            "a first issuance is an application, not a reissue".into(),
        ));
    };
    let ok = match needed {
        // In a disaster the 罹災証明書 stands for the police report too.
        ReissueEvidence::PoliceReceiptNumber => present(&e.police_receipt_number) || disaster,
        ReissueEvidence::DisasterCertificate => present(&e.disaster_certificate),
        ReissueEvidence::DamagedCard => e.damaged_card_returned || disaster,
        ReissueEvidence::OldCard => e.old_card_returned,
    };
    if ok {
        Ok(())
    } else {
        Err(AuthorityError::refused(
            "evidence_missing",
            match needed {
                ReissueEvidence::PoliceReceiptNumber => {
                    "遺失届の受理番号が必要です / the police lost-property report receipt number is needed"
                }
                ReissueEvidence::DisasterCertificate => "罹災証明書が必要です / the disaster certificate is needed",
                ReissueEvidence::DamagedCard => "損傷したカードの返納が必要です / the damaged card is needed",
                ReissueEvidence::OldCard => "旧カードの返納が必要です / the old card is needed",
            },
        ))
    }
}

impl Authority {
    /// The cards in use of the residents matching the hotline's lookup.
    /// Each resident found is written to the disclosure log (the hotline
    /// saw that they hold a card). Hotline operators search everyone;
    /// window staff their own municipality.
    pub fn find_cards_for_hotline(
        &self,
        actor: &Actor,
        name: &str,
        birth_date: NaiveDate,
        address_prefix: Option<&str>,
    ) -> Result<Vec<CardSummary>, AuthorityError> {
        let own = match &actor.role {
            Role::Hotline | Role::System => None,
            Role::Window { municipality } => Some(*municipality),
            Role::Producer | Role::Resident { .. } => {
                return Err(AuthorityError::Forbidden("searching holders: not for this role".into()))
            }
        };
        let lookup = HolderLookup {
            name: name.to_owned(),
            birth_date,
            address_prefix: address_prefix.map(str::to_owned),
        };
        let at = self.clock.now();
        self.db.transaction(|tx| {
            let mut out = Vec::new();
            for r in matching_residents(tx, &lookup)? {
                if own.is_some_and(|m| m != r.municipality) {
                    continue;
                }
                let Some(card) = registry::card_in_use(tx, r.id)? else {
                    continue;
                };
                disclosure::record(
                    tx,
                    &disclosure::Disclosure {
                        at,
                        actor: actor.id.clone(),
                        resident_id: r.id,
                        purpose: "紛失・盗難の届出によるカードの特定 (identifying a lost card)".into(),
                        fields: vec!["card_serial".into(), "card_status".into(), "municipality".into()],
                    },
                )?;
                out.push(CardSummary {
                    card_serial: card.serial,
                    status: card.status,
                    face_recognition: card.face_recognition,
                    expires_on: card.expires_on,
                    resident_id: r.id,
                    municipality: r.municipality.to_string(),
                });
            }
            Ok::<_, AuthorityError>(out)
        })
    }

    /// 一時停止: suspends a lost or stolen card at any hour, puts its valid
    /// certificates on hold (registry, then the CA after the commit) and
    /// records the loss report. The hotline acts for anyone; the window
    /// for residents of its municipality.
    pub fn suspend_lost_card(
        &self,
        actor: &Actor,
        key: &str,
        report: &LossReport,
    ) -> Result<Suspended, AuthorityError> {
        let op = self.operation(actor, "card.suspend", key, report)?;
        if let Some(done) = self.replay(&op)? {
            return Ok(done);
        }
        match (&actor.role, report.channel) {
            (Role::Hotline, LossChannel::Hotline) | (Role::System, _) => {}
            (Role::Hotline, _) => return Err(AuthorityError::BadRequest("the hotline takes hotline reports".into())),
            (Role::Window { .. }, LossChannel::Window | LossChannel::Police) => {}
            (Role::Window { .. }, LossChannel::Hotline) => {
                return Err(AuthorityError::BadRequest(
                    "a report at the window is a window (or police) report".into(),
                ))
            }
            (Role::Producer | Role::Resident { .. }, _) => {
                return Err(AuthorityError::Forbidden("suspending a card: not for this role".into()))
            }
        }
        let reported_at = report.reported_at.unwrap_or(op.at);
        if reported_at > op.at {
            return Err(AuthorityError::BadRequest("the report's time is in the future".into()));
        }
        if let Some(note) = &report.note {
            // The note is kept in the audit log: bounded, and never a My Number.
            if note.chars().count() > 2000 || note.chars().any(|c| c.is_control() && c != '\n') {
                return Err(AuthorityError::BadRequest(
                    "note: at most 2000 characters, no control characters".into(),
                ));
            }
            if mynacard_rules::numbers::contains_my_number(note) {
                return Err(AuthorityError::BadRequest(
                    "note: must not hold a My Number (個人番号は記録できません)".into(),
                ));
            }
        }
        let recorded = self.record(&op, |tx| {
            let card = match &report.card {
                LostCard::Serial(serial) => {
                    registry::get_card(tx, serial)?.ok_or_else(|| AuthorityError::NotFound(format!("card {serial}")))?
                }
                LostCard::Holder(lookup) => {
                    let mut cards = Vec::new();
                    for r in matching_residents(tx, lookup)? {
                        if let Some(card) = registry::card_in_use(tx, r.id)? {
                            cards.push(card);
                        }
                    }
                    match cards.len() {
                        0 => return Err(AuthorityError::NotFound("no card in use for that holder".into())),
                        1 => cards.remove(0),
                        _ => {
                            return Err(AuthorityError::refused(
                                "holder_ambiguous",
                                "several holders match: ask for the address or the card's serial",
                            ))
                        }
                    }
                }
            };
            let r = resident(tx, card.resident_id)?;
            if let Role::Window { .. } = actor.role {
                window_only(actor, r.municipality, "suspending a card")?;
            }
            match card.status {
                CardStatus::Active => {}
                CardStatus::Suspended => {
                    return Err(AuthorityError::refused(
                        "card_suspended",
                        "the card is suspended already",
                    ))
                }
                other => {
                    return Err(AuthorityError::refused(
                        "card_not_in_use",
                        format!("the card is {}", other.as_str()),
                    ))
                }
            }
            if !registry::set_card_status(tx, &card.serial, CardStatus::Active, CardStatus::Suspended, op.at)? {
                return Err(state_changed());
            }
            let cause = RevocationCause::CardLost;
            let certificates = taken_by(tx, &card, cause, &[CertificateStatus::Good])?;
            let held = move_certificates(tx, &certificates, CertificateStatus::Hold, None, op.at)?;
            let stored = registry::insert_loss_report(
                tx,
                &registry::LossReport {
                    resident_id: r.id,
                    card_serial: Some(card.serial.clone()),
                    channel: report.channel,
                    cause: report.cause,
                    reported_at,
                    reported_by: actor.id.clone(),
                    police_receipt_number: None,
                    disaster_certificate: None,
                    found_at: None,
                    status: LossReportStatus::Open,
                },
            )?;
            let done = Suspended {
                card_serial: card.serial.clone(),
                loss_report_id: stored.id,
                held,
                suspended_at: op.at,
            };
            Ok((
                done.clone(),
                Audit::new(
                    format!("card:{}", card.serial),
                    json!({
                        "resident": r.id,
                        "loss_report": stored.id,
                        "cause": report.cause.as_str(),
                        "channel": report.channel.as_str(),
                        "held": done.held,
                        "note": report.note,
                    }),
                ),
            ))
        })?;
        match recorded {
            Recorded::Done(done) => {
                self.after_record()?;
                self.push_statuses(&done.held)?;
                Ok(done)
            }
            Recorded::Replayed(done) => Ok(done),
        }
    }

    /// The suspended card was found (発見): the suspension is lifted at the
    /// window of the municipality of residence, the held card certificates
    /// are revoked (superseded) and new ones made on the card, the loss
    /// reports closed as found.
    pub fn card_found(&self, actor: &Actor, key: &str, card_serial: &str) -> Result<Found, AuthorityError> {
        let op = self.operation(actor, "card.found", key, &card_serial)?;
        if let Some(done) = self.replay(&op)? {
            return Ok(done);
        }
        let today = self.clock.today();
        // 1. Decide.
        let (card, r, municipality, held, kept_auth) = self.db.read(|tx| {
            let (card, r) = card_and_holder(tx, card_serial)?;
            let municipality = registry::get_municipality(tx, r.municipality)?
                .ok_or_else(|| AuthorityError::NotFound(format!("municipality {}", r.municipality)))?;
            let on_card = registry::list_certificates_for_card(tx, card_serial)?;
            let held: Vec<CertificateRecord> = on_card
                .iter()
                .filter(|c| c.status == CertificateStatus::Hold)
                .cloned()
                .collect();
            let kept_auth = on_card
                .iter()
                .find(|c| c.kind == CertKind::Auth && c.status == CertificateStatus::Good)
                .map(|c| c.not_after);
            Ok::<_, AuthorityError>((card, r, municipality, held, kept_auth))
        })?;
        window_only(actor, r.municipality, "lifting a suspension")?;
        if card.status != CardStatus::Suspended {
            return Err(AuthorityError::refused(
                "card_not_suspended",
                format!("the card is {}", card.status.as_str()),
            ));
        }
        if today > card.expires_on {
            return Err(AuthorityError::refused("card_expired", "the card has expired"));
        }
        // 2. Effects: new key pairs and certificates for the held ones.
        let previous = |kind: CertKind| held.iter().find(|c| c.kind == kind).map(|c| c.not_after);
        let auth_replaced = previous(CertKind::Auth).is_some();
        let sign_replaced = previous(CertKind::Sign).is_some();
        let holder = holder(&r, &municipality)?;
        let mut made: Vec<NewCertificate> = Vec::new();
        let certify = |keys: &[JpkiKey], cap: NaiveDate| {
            self.certify_on_card(&CertifyRequest {
                card_serial,
                keys,
                holder: &holder,
                issued: today,
                card_expiry: cap,
                // Replacing a held certificate inside its renewal window
                // keeps the renewal bonus (rules.md §3).
                previous_auth_expiry: previous(CertKind::Auth),
                previous_sign_expiry: previous(CertKind::Sign),
                adult_ward: r.adult_ward,
            })
        };
        if auth_replaced {
            made.extend(certify(&[JpkiKey::Auth], card.expires_on)?);
        }
        if sign_replaced {
            // The signature certificate never outlives the auth one.
            let auth_expiry = made
                .iter()
                .find(|c| c.key == JpkiKey::Auth)
                .map(|c| c.last_valid_day)
                .or(kept_auth)
                .unwrap_or(card.expires_on);
            match certify(&[JpkiKey::Sign], auth_expiry.min(card.expires_on)) {
                Ok(sign) => made.extend(sign),
                Err(e) => {
                    self.revoke_unrecorded(&made);
                    return Err(e);
                }
            }
        }
        // 3. Record.
        let recorded = self.record(&op, |tx| {
            if !registry::set_card_status(tx, card_serial, CardStatus::Suspended, CardStatus::Active, op.at)? {
                return Err(state_changed());
            }
            let revoked = move_certificates(
                tx,
                &held,
                CertificateStatus::Revoked,
                Some(RevocationCause::Renewed.crl_reason()),
                op.at,
            )?;
            for c in &made {
                registry::insert_certificate(tx, &c.record(card_serial, r.id, today))?;
            }
            let mut closed = Vec::new();
            for mut report in registry::list_loss_reports(tx, r.id)? {
                if report.status == LossReportStatus::Open && report.card_serial.as_deref() == Some(card_serial) {
                    report.record.status = LossReportStatus::Found;
                    report.record.found_at = Some(op.at.max(report.reported_at));
                    registry::update_loss_report(tx, &report)?;
                    closed.push(report.id);
                }
            }
            let done = Found {
                card_serial: card_serial.to_owned(),
                revoked,
                new_certificates: made
                    .iter()
                    .map(|c| {
                        let kind = match c.key {
                            JpkiKey::Auth => CertKind::Auth,
                            JpkiKey::Sign => CertKind::Sign,
                        };
                        (c.serial.to_hex(), kind, c.last_valid_day)
                    })
                    .collect(),
                loss_reports: closed,
            };
            Ok((
                done.clone(),
                Audit::new(
                    format!("card:{card_serial}"),
                    json!({
                        "resident": r.id,
                        "revoked": done.revoked,
                        "certificates": done.new_certificates.iter().map(|c| &c.0).collect::<Vec<_>>(),
                        "loss_reports": done.loss_reports,
                    }),
                ),
            ))
        });
        match recorded {
            Ok(Recorded::Done(done)) => {
                self.after_record()?;
                self.push_statuses(&done.revoked)?;
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

    /// 再交付: a new card applied for at the window with the evidence the
    /// rules ask for and the fee of rules.md §10 (paid at the window, with
    /// its receipt); the old card is invalidated and its certificates
    /// revoked (registry, then the CA after the commit). Production and
    /// delivery follow as for any application.
    pub fn reissue(&self, actor: &Actor, key: &str, request: &Reissue) -> Result<Reissued, AuthorityError> {
        let op = self.operation(actor, "card.reissue", key, request)?;
        if let Some(done) = self.replay(&op)? {
            return Ok(done);
        }
        if matches!(request.cause, FeeCause::FirstIssuance | FeeCause::Renewal) {
            return Err(AuthorityError::BadRequest(format!(
                "{:?} is not a reissue: apply for a new card or a renewal",
                request.cause
            )));
        }
        check_evidence(request)?;
        let charged = fee(
            &FeeCase {
                cause: request.cause,
                with_certificates: request.with_certificates,
                not_holders_fault: request.not_holders_fault.is_some(),
                renewal_timing: None,
            },
            &self.policies,
        )?;
        let today = self.clock.today();
        let recorded = self.record(&op, |tx| {
            let r = resident(tx, request.resident_id)?;
            window_only(actor, r.municipality, "a reissue")?;
            if r.status != ResidentStatus::Resident {
                return Err(AuthorityError::refused(
                    "not_a_resident",
                    format!("the resident's record is {}", r.status.as_str()),
                ));
            }
            let pending = registry::list_applications(tx, r.id)?.into_iter().any(|a| {
                matches!(
                    a.status,
                    ApplicationStatus::Received | ApplicationStatus::InProduction | ApplicationStatus::Produced
                )
            });
            if pending {
                return Err(AuthorityError::refused(
                    "application_pending",
                    "an application of this resident is already being processed",
                ));
            }
            let old = registry::card_in_use(tx, r.id)?;
            if old.is_none() && request.cause != FeeCause::StayExpired {
                return Err(AuthorityError::refused(
                    "no_card",
                    "the resident holds no card to reissue: apply for a new card",
                ));
            }
            // The old card: invalidated, its certificates revoked.
            let mut revoked = Vec::new();
            let face_recognition = old.as_ref().is_some_and(|c| c.face_recognition);
            if let Some(card) = &old {
                if !registry::set_card_status(tx, &card.serial, card.status, CardStatus::Invalid, op.at)? {
                    return Err(state_changed());
                }
                let cause = reissue_revocation(request.cause);
                let certificates = taken_by(tx, card, cause, &[CertificateStatus::Good, CertificateStatus::Hold])?;
                revoked = move_certificates(
                    tx,
                    &certificates,
                    CertificateStatus::Revoked,
                    Some(cause.crl_reason()),
                    op.at,
                )?;
            }
            // The loss report: evidence added, closed as reissued.
            let mut loss_report_id = None;
            if let Some(loss_cause) = loss_cause_of(request.cause) {
                let open = registry::list_loss_reports(tx, r.id)?.into_iter().rev().find(|l| {
                    l.status == LossReportStatus::Open
                        && (l.card_serial.is_none() || l.card_serial == old.as_ref().map(|c| c.serial.clone()))
                });
                let evidence = &request.evidence;
                let stored = match open {
                    Some(mut report) => {
                        report.record.police_receipt_number = evidence.police_receipt_number.clone();
                        report.record.disaster_certificate = evidence.disaster_certificate.clone();
                        report.record.status = LossReportStatus::Reissued;
                        registry::update_loss_report(tx, &report)?;
                        report
                    }
                    None => registry::insert_loss_report(
                        tx,
                        &registry::LossReport {
                            resident_id: r.id,
                            card_serial: old.as_ref().map(|c| c.serial.clone()),
                            channel: LossChannel::Window,
                            cause: loss_cause,
                            reported_at: op.at,
                            reported_by: actor.id.clone(),
                            police_receipt_number: evidence.police_receipt_number.clone(),
                            disaster_certificate: evidence.disaster_certificate.clone(),
                            found_at: None,
                            status: LossReportStatus::Reissued,
                        },
                    )?,
                };
                loss_report_id = Some(stored.id);
            }
            let application = registry::insert_application(
                tx,
                &Application {
                    resident_id: r.id,
                    municipality: r.municipality,
                    kind: ApplicationKind::Reissue,
                    channel: ApplicationChannel::Window,
                    received_on: today,
                    jlis_received_on: Some(today),
                    face_recognition,
                    signature_wanted: request.with_certificates && !face_recognition,
                    status: ApplicationStatus::Received,
                    reissue_cause: Some(request.cause),
                    photo_ref: None,
                },
            )?;
            let stored_fee: Stored<Fee> = registry::insert_fee(
                tx,
                &Fee {
                    resident_id: r.id,
                    municipality: r.municipality,
                    application_id: Some(application.id),
                    cause: request.cause,
                    amount_yen: i64::from(charged.yen),
                    receipt_number: None,
                    paid_on: None,
                },
            )?;
            // A fee is paid at the window when the application is taken; a
            // free reissue has no receipt.
            let receipt_number = if charged.yen > 0 {
                let number = format!("{}-{}-{:08}", r.municipality, today.format("%Y%m%d"), stored_fee.id);
                if !registry::record_fee_payment(tx, stored_fee.id, &number, today)? {
                    return Err(state_changed());
                }
                Some(number)
            } else {
                None
            };
            let done = Reissued {
                application_id: application.id,
                fee_yen: charged.yen,
                fee_reason: charged.reason,
                fee_id: stored_fee.id,
                receipt_number,
                invalidated_card: old.as_ref().map(|c| c.serial.clone()),
                revoked,
                loss_report_id,
            };
            Ok((
                done.clone(),
                Audit::new(
                    format!("resident:{}", r.id),
                    json!({
                        "application": done.application_id,
                        "cause": request.cause,
                        "not_holders_fault": request.not_holders_fault,
                        "fee_yen": done.fee_yen,
                        "fee_reason": done.fee_reason,
                        "receipt_number": done.receipt_number,
                        "police_receipt_number": request.evidence.police_receipt_number,
                        "disaster_certificate": request.evidence.disaster_certificate,
                        "invalidated_card": done.invalidated_card,
                        "revoked": done.revoked,
                        "loss_report": done.loss_report_id,
                    }),
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

    /// 返納: the holder returns the card at the window; it lapses that day,
    /// its certificates and the holder's smartphone certificates are revoked
    /// (cessationOfOperation), an open loss report is closed.
    pub fn return_card(&self, actor: &Actor, key: &str, card_serial: &str) -> Result<Returned, AuthorityError> {
        let op = self.operation(actor, "card.return", key, &card_serial)?;
        if let Some(done) = self.replay(&op)? {
            return Ok(done);
        }
        let today = self.clock.today();
        let recorded = self.record(&op, |tx| {
            let (mut card, r) = card_and_holder(tx, card_serial)?;
            window_only(actor, r.municipality, "a return")?;
            if !card.status.is_in_use() {
                return Err(AuthorityError::refused(
                    "card_not_in_use",
                    format!("the card is {}", card.status.as_str()),
                ));
            }
            let cause = RevocationCause::CardReturned;
            let certificates = taken_by(tx, &card, cause, &[CertificateStatus::Good, CertificateStatus::Hold])?;
            let revoked = move_certificates(
                tx,
                &certificates,
                CertificateStatus::Revoked,
                Some(cause.crl_reason()),
                op.at,
            )?;
            card.status = CardStatus::Returned;
            card.lapsed_on = Some(today);
            card.lapse_reason = Some(LapseReason::Returned);
            card.status_changed_at = op.at;
            registry::update_card(tx, &card)?;
            for mut report in registry::list_loss_reports(tx, r.id)? {
                if report.status == LossReportStatus::Open && report.card_serial.as_deref() == Some(card_serial) {
                    report.record.status = LossReportStatus::Closed;
                    registry::update_loss_report(tx, &report)?;
                }
            }
            let done = Returned {
                card_serial: card_serial.to_owned(),
                revoked,
                returned_on: today,
            };
            Ok((
                done.clone(),
                Audit::new(
                    format!("card:{card_serial}"),
                    json!({"resident": r.id, "revoked": done.revoked}),
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
}
