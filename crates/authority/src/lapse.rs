//! Lapses (失効) of cards by the rules of rules.md §7, found from the
//! registry's facts.
//!
//! The registry keeps no event log of the holder; the facts the rules
//! engine needs ([`assess_lapse`]) are read from the resident record and the
//! card:
//!
//! | fact | from |
//! |---|---|
//! | move-out (転出届) | status `moved_out`: notified on `status_changed_on`, planned `planned_move_out_on` |
//! | move-in (転入届) | `moved_in_on`, `move_in_notified_on`, when notified after the card was issued (a card produced on or after the move-in carries the new address) |
//! | card updated (継続利用) | the first address entry of the card's 追記欄 on or after the move-in notification |
//! | death (死亡) | status `deceased` since `status_changed_on` (the day of death) |
//! | departure abroad (国外転出) | status `abroad`, departed on `planned_move_out_on`; continued use (国外継続利用) when the 追記欄 carries [`ABROAD_CONTINUED_USE`] |
//! | end of stay (在留期間満了日) | the card's expiry, bounded by the period of stay |
//!
//! Facts dated after the day asked about are not facts yet and are left out.
//! The operations of `moves.rs` lapse a card in their own transaction when
//! what they record lapses it at once (a death, a departure abroad, a late
//! move-in, a second move before the card was updated); the nightly batch
//! ([`Authority::lapse_due`]) lapses the cards whose clocks ran out.
//!
//! A card whose only lapse is its expiry is left to the batch's expiry step
//! (card status `expired`), not lapsed here.

use chrono::{DateTime, NaiveDate, Utc};
use mynacard_rules::card::{card_validity, CardIssuance, Residence};
use mynacard_rules::lapse::{assess_lapse, CardEvent, CardFacts, LapseAssessment, LapseReason, RemovalCause};
use mynacard_rules::revocation::{CrlReason, RevocationCause};
use mynacard_rules::Policies;
use mynacard_store::registry::{
    self, Card, CardStatus, CertKind, CertificateRecord, CertificateStatus, Resident, ResidentStatus, SurfaceEntry,
    SurfaceEntryKind,
};
use mynacard_store::Tx;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::actor::Actor;
use crate::error::AuthorityError;
use crate::operation::{Audit, Recorded};
use crate::Authority;

/// A card that lapsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LapseDone {
    /// The card.
    pub card_serial: String,
    /// The first day it was no longer valid.
    pub lapsed_on: NaiveDate,
    /// Why (the rules' reason, snake_case).
    pub reason: String,
}

/// What a run of [`Authority::lapse_due_report`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LapseRun {
    /// The cards lapsed by this run.
    pub lapsed: Vec<LapseDone>,
    /// Cards whose facts the rules engine refused (serial, why): left as
    /// they are, for a person to look at.
    pub unassessable: Vec<(String, String)>,
}

/// The 追記欄 text written when a holder leaves Japan keeping the card
/// (国外継続利用); the departure's date precedes it.
pub const ABROAD_CONTINUED_USE: &str = "国外転出（国外継続利用）";

/// How many candidate cards [`Authority::lapse_due`] reads at a time.
const PAGE: i64 = 500;

/// The rules' name of a lapse reason (`late_move_in`, …).
pub fn reason_name(reason: LapseReason) -> String {
    match serde_json::to_value(reason) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{reason:?}"),
    }
}

/// The refusal code of an operation refused because the card lapses.
pub(crate) fn reason_code(reason: LapseReason) -> &'static str {
    match reason {
        LapseReason::Expired => "card_expired",
        LapseReason::StayEnded => "stay_ended",
        LapseReason::LateMoveIn => "late_move_in",
        LapseReason::NoMoveInAfterMoveOut => "no_move_in_after_move_out",
        LapseReason::CardNotUpdatedAfterMoveIn => "card_not_updated_after_move_in",
        LapseReason::MovedAgainBeforeUpdate => "moved_again_before_update",
        LapseReason::Death => "deceased",
        LapseReason::RecordRemoved => "record_removed",
        LapseReason::DepartedAbroad => "departed_abroad",
        LapseReason::Returned => "card_returned",
    }
}

/// The card, as far as lapse is concerned: its expiry, and whether that
/// expiry is the end of the holder's period of stay (rather than the
/// birthday rule of its issuance, which a validity change cannot pass).
pub(crate) fn card_facts(r: &Resident, card: &Card, received: Option<NaiveDate>, policies: &Policies) -> CardFacts {
    let bounded_by_stay = match r.residence {
        Residence::ForeignWithStay { stay_until } => {
            card.expires_on == stay_until
                || card_validity(
                    &CardIssuance {
                        born: r.birth_date,
                        issued: card.issued_on,
                        application_received: received.filter(|d| *d <= card.issued_on),
                        residence: Residence::Japanese,
                    },
                    policies,
                )
                .is_ok_and(|birthday_rule| card.expires_on < birthday_rule.expiry)
        }
        _ => false,
    };
    CardFacts {
        expiry: card.expires_on,
        foreign_national: r.residence.is_foreign(),
        bounded_by_stay,
    }
}

/// The holder's events as the registry knows them on `today` (see the
/// module documentation).
pub(crate) fn card_events(r: &Resident, card: &Card, entries: &[SurfaceEntry], today: NaiveDate) -> Vec<CardEvent> {
    let mut events = Vec::new();
    let move_out_notified = match (r.status, r.planned_move_out_on) {
        (ResidentStatus::MovedOut, Some(planned)) => Some(r.status_changed_on.unwrap_or(planned).min(today)),
        _ => None,
    };
    if let Some(notified) = r.move_in_notified_on.filter(|n| *n > card.issued_on && *n <= today) {
        let moved_in = r.moved_in_on.map_or(notified, |m| m.min(notified));
        events.push(CardEvent::MoveIn { moved_in, notified });
        let until = move_out_notified.unwrap_or(today);
        if let Some(update) = entries
            .iter()
            .filter(|e| e.kind == SurfaceEntryKind::Address && e.entered_on >= notified && e.entered_on <= until)
            .map(|e| e.entered_on)
            .min()
        {
            events.push(CardEvent::CardUpdated { on: update });
        }
    }
    match r.status {
        ResidentStatus::Resident => {}
        ResidentStatus::MovedOut => {
            if let (Some(notified), Some(planned)) = (move_out_notified, r.planned_move_out_on) {
                events.push(CardEvent::MoveOut { notified, planned });
            }
        }
        ResidentStatus::Deceased => {
            if let Some(on) = r.status_changed_on.filter(|d| *d <= today) {
                events.push(CardEvent::RecordRemoved {
                    on,
                    cause: RemovalCause::Death,
                });
            }
        }
        ResidentStatus::Abroad => {
            if let Some(departed) = r.planned_move_out_on.or(r.status_changed_on).filter(|d| *d <= today) {
                let filed = r.status_changed_on.unwrap_or(departed);
                let continued_use = entries.iter().any(|e| {
                    e.kind == SurfaceEntryKind::Other && e.entered_on >= filed && e.text.contains(ABROAD_CONTINUED_USE)
                });
                events.push(CardEvent::DepartedAbroad {
                    departed,
                    continued_use,
                });
            }
        }
    }
    events
}

/// The day J-LIS received the application of `card`, if known.
fn application_received(tx: &mut Tx<'_>, card: &Card) -> Result<Option<NaiveDate>, AuthorityError> {
    match card.application_id {
        Some(id) => Ok(registry::get_application(tx, id)?.and_then(|a| a.jlis_received_on)),
        None => Ok(None),
    }
}

/// The rules' assessment of `card` on `today` from the registry's facts
/// about `r`, with `extra` events (what an operation is about to record).
pub(crate) fn assess_card(
    tx: &mut Tx<'_>,
    r: &Resident,
    card: &Card,
    extra: &[CardEvent],
    policies: &Policies,
    today: NaiveDate,
) -> Result<LapseAssessment, AuthorityError> {
    let entries = registry::list_surface_entries(tx, &card.serial)?;
    let received = if matches!(r.residence, Residence::ForeignWithStay { .. }) {
        application_received(tx, card)?
    } else {
        None
    };
    let facts = card_facts(r, card, received, policies);
    let mut events = card_events(r, card, &entries, today);
    events.extend_from_slice(extra);
    Ok(assess_lapse(&facts, &events, today)?)
}

/// Revokes `certificates` (those still good or on hold) with `reason` at
/// `at`; answers their serials.
pub(crate) fn revoke_all(
    tx: &mut Tx<'_>,
    certificates: &[CertificateRecord],
    reason: CrlReason,
    at: DateTime<Utc>,
) -> Result<Vec<String>, AuthorityError> {
    let mut revoked = Vec::new();
    for c in certificates.iter().filter(|c| c.status.is_valid()) {
        if !registry::set_certificate_status(tx, &c.serial, c.status, CertificateStatus::Revoked, at, Some(reason))? {
            return Err(state_changed());
        }
        revoked.push(c.serial.clone());
    }
    Ok(revoked)
}

/// The holder's valid smartphone certificates.
pub(crate) fn smartphone_certificates(
    tx: &mut Tx<'_>,
    resident_id: i64,
) -> Result<Vec<CertificateRecord>, AuthorityError> {
    let mut out = Vec::new();
    for kind in [CertKind::SmartphoneAuth, CertKind::SmartphoneSign] {
        if let Some(c) = registry::valid_certificate(tx, resident_id, kind)? {
            out.push(c);
        }
    }
    Ok(out)
}

/// Lapses `card` (read in this transaction) on `lapsed_on` for `reason`:
/// the card's certificates and the holder's smartphone certificates are
/// revoked (rules.md §7, §12). Answers the revoked serials.
pub(crate) fn lapse_card(
    tx: &mut Tx<'_>,
    card: &Card,
    lapsed_on: NaiveDate,
    reason: LapseReason,
    at: DateTime<Utc>,
) -> Result<Vec<String>, AuthorityError> {
    if !card.status.is_in_use() {
        return Err(state_changed());
    }
    let mut lapsed = card.clone();
    lapsed.status = CardStatus::Lapsed;
    lapsed.lapsed_on = Some(lapsed_on);
    lapsed.lapse_reason = Some(reason);
    lapsed.status_changed_at = at;
    registry::update_card(tx, &lapsed)?;
    let cause = match reason {
        LapseReason::Returned => RevocationCause::CardReturned,
        _ => RevocationCause::CardLapsed,
    };
    let mut certificates: Vec<CertificateRecord> = registry::list_certificates_for_card(tx, &card.serial)?;
    if cause.revokes_smartphone_certificates() {
        certificates.extend(smartphone_certificates(tx, card.resident_id)?);
    }
    revoke_all(tx, &certificates, cause.crl_reason(), at)
}

/// Lapses `card` if `assessment` says it has lapsed by a rule of §7 other
/// than its plain expiry. Answers the lapse and the revoked serials.
pub(crate) fn lapse_if_due(
    tx: &mut Tx<'_>,
    card: &Card,
    assessment: &LapseAssessment,
    at: DateTime<Utc>,
) -> Result<(Option<LapseDone>, Vec<String>), AuthorityError> {
    if !assessment.lapsed || assessment.reason == LapseReason::Expired || !card.status.is_in_use() {
        return Ok((None, Vec::new()));
    }
    let revoked = lapse_card(tx, card, assessment.lapse_date, assessment.reason, at)?;
    Ok((
        Some(LapseDone {
            card_serial: card.serial.clone(),
            lapsed_on: assessment.lapse_date,
            reason: reason_name(assessment.reason),
        }),
        revoked,
    ))
}

pub(crate) fn state_changed() -> AuthorityError {
    AuthorityError::refused("state_changed", "the record changed meanwhile; try again")
}

fn count_candidates(tx: &mut Tx<'_>, today: NaiveDate) -> Result<u64, AuthorityError> {
    Ok(registry::count_lapse_candidates(tx, today)?)
}

fn candidates(tx: &mut Tx<'_>, today: NaiveDate, after: &str, limit: i64) -> Result<Vec<String>, AuthorityError> {
    Ok(registry::lapse_candidates(tx, today, after, limit)?)
}

/// The assessment of one card on `today`, if it is in use.
fn assess_serial(
    tx: &mut Tx<'_>,
    serial: &str,
    policies: &Policies,
    today: NaiveDate,
) -> Result<Option<(Card, LapseAssessment)>, AuthorityError> {
    let Some(card) = registry::get_card(tx, serial)? else {
        return Ok(None);
    };
    if !card.status.is_in_use() {
        return Ok(None);
    }
    let r = crate::issuance::resident(tx, card.resident_id)?;
    let assessment = assess_card(tx, &r, &card, &[], policies, today)?;
    Ok(Some((card, assessment)))
}

impl Authority {
    /// Lapses every card whose lapse date has come by `today` (status
    /// lapsed, its certificates revoked); idempotent. `progress(done, total)`
    /// is called as it goes.
    pub fn lapse_due(
        &self,
        today: NaiveDate,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Vec<LapseDone>, AuthorityError> {
        Ok(self.lapse_due_report(today, progress)?.lapsed)
    }

    /// [`Authority::lapse_due`], also naming the cards whose facts the rules
    /// engine refused (inconsistent histories), which it leaves alone.
    ///
    /// Reads the candidates a page at a time by serial; lapses each card in
    /// its own transaction (card lapsed, certificates revoked, audit entry
    /// of `system:batch`, under the idempotency key `batch:lapse:SERIAL`),
    /// then applies the revocations to the CA.
    pub fn lapse_due_report(
        &self,
        today: NaiveDate,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<LapseRun, AuthorityError> {
        let actor = Actor::system("batch");
        let total = self.db.read(|tx| count_candidates(tx, today))?;
        let mut run = LapseRun::default();
        let mut done: u64 = 0;
        let mut cursor = String::new();
        progress(0, total);
        loop {
            let page = self.db.read(|tx| candidates(tx, today, &cursor, PAGE))?;
            let Some(last) = page.last() else { break };
            cursor = last.clone();
            for serial in &page {
                match self.lapse_one(&actor, serial, today) {
                    Ok(Some(lapse)) => run.lapsed.push(lapse),
                    Ok(None) => {}
                    Err(AuthorityError::Rule(e)) => run.unassessable.push((serial.clone(), e.to_string())),
                    Err(e) => return Err(e),
                }
                done += 1;
                progress(done, total.max(done));
            }
        }
        Ok(run)
    }

    /// Lapses one card if its time has come.
    fn lapse_one(&self, actor: &Actor, serial: &str, today: NaiveDate) -> Result<Option<LapseDone>, AuthorityError> {
        let Some((_, assessment)) = self.db.read(|tx| assess_serial(tx, serial, &self.policies, today))? else {
            return Ok(None);
        };
        if !assessment.lapsed || assessment.reason == LapseReason::Expired {
            return Ok(None);
        }
        let lapse = LapseDone {
            card_serial: serial.to_owned(),
            lapsed_on: assessment.lapse_date,
            reason: reason_name(assessment.reason),
        };
        let key = format!("batch:lapse:{serial}");
        let op = self.operation(actor, "card.lapse", &key, &lapse)?;
        if self.replay::<LapseDone>(&op)?.is_some() {
            return Ok(None);
        }
        let mut revoked: Vec<String> = Vec::new();
        let recorded = self.record(&op, |tx| {
            let Some((card, now)) = assess_serial(tx, serial, &self.policies, today)? else {
                return Err(state_changed());
            };
            if now != assessment {
                return Err(state_changed());
            }
            let (_, serials) = lapse_if_due(tx, &card, &now, op.at)?;
            revoked = serials;
            Ok((
                lapse.clone(),
                Audit::new(
                    format!("card:{serial}"),
                    json!({
                        "resident": card.resident_id,
                        "lapsed_on": lapse.lapsed_on,
                        "reason": lapse.reason,
                        "revoked": revoked,
                    }),
                ),
            ))
        });
        match recorded {
            Ok(Recorded::Done(lapse)) => {
                self.after_record()?;
                self.push_statuses(&revoked)?;
                Ok(Some(lapse))
            }
            Ok(Recorded::Replayed(_)) => Ok(None),
            Err(AuthorityError::Refused {
                code: "state_changed", ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use mynacard_rules::numbers::{MunicipalityCode, MyNumber};
    use mynacard_store::registry::{Municipality, Sex};
    use mynacard_store::Database;

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    /// Residents and cards straight into the registry: `moved_out` of them
    /// moved out, the rest did nothing.
    fn registry(cards: usize, moved_out: usize) -> Database {
        let db = Database::open("sqlite::memory:").expect("open");
        db.migrate().expect("migrate");
        let at = Utc.with_ymd_and_hms(2026, 4, 1, 1, 0, 0).single().expect("instant");
        let code = MunicipalityCode::parse("131016").expect("code");
        db.transaction(|tx| {
            registry::insert_municipality(
                tx,
                &Municipality {
                    code,
                    name_ja: "千代田区".into(),
                    name_en: "Chiyoda-ku".into(),
                    settings: json!({}),
                },
            )?;
            for i in 0..cards {
                let moves = i < moved_out;
                let r = registry::insert_resident(
                    tx,
                    &Resident {
                        municipality: code,
                        my_number: MyNumber::complete(&format!("{:011}", 20_000_000_000u64 + i as u64))
                            .expect("number"),
                        name: "番号　花子".into(),
                        name_kana: "バンゴウ　ハナコ".into(),
                        address: "東京都千代田区霞が関２－１－２".into(),
                        birth_date: d(1985, 4, 1),
                        sex: Sex::Female,
                        nationality: "JP".into(),
                        residence: Residence::Japanese,
                        status: if moves {
                            ResidentStatus::MovedOut
                        } else {
                            ResidentStatus::Resident
                        },
                        status_changed_on: moves.then(|| d(2026, 3, 1)),
                        seal_registered: false,
                        honseki: Some("東京都千代田区千代田１番".into()),
                        household_id: None,
                        support_measure: false,
                        adult_ward: false,
                        moved_in_on: Some(d(2026, 1, 5)),
                        move_in_notified_on: Some(d(2026, 1, 5)),
                        planned_move_out_on: moves.then(|| d(2026, 3, 1)),
                        moved_out_on: None,
                    },
                    at,
                )?;
                registry::insert_card(
                    tx,
                    &Card {
                        serial: format!("4D4E{:012X}", i * 7919 % 1000),
                        resident_id: r.id,
                        application_id: None,
                        status: CardStatus::Active,
                        face_recognition: false,
                        issued_on: d(2026, 1, 5),
                        expires_on: d(2036, 4, 1),
                        delivered_on: Some(d(2026, 1, 5)),
                        lapsed_on: None,
                        lapse_reason: None,
                        image_location: None,
                        status_changed_at: at,
                    },
                )?;
            }
            Ok::<_, AuthorityError>(())
        })
        .expect("fill");
        db
    }

    #[test]
    fn candidates_are_paged_by_serial_and_only_those_whose_facts_may_lapse_them() {
        let db = registry(30, 23);
        let today = d(2026, 4, 1);
        assert_eq!(db.read(|tx| count_candidates(tx, today)).expect("count"), 23);
        let mut seen: Vec<String> = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = db.read(|tx| candidates(tx, today, &cursor, 5)).expect("page");
            assert!(page.len() <= 5);
            let Some(last) = page.last() else { break };
            cursor = last.clone();
            seen.extend(page);
        }
        assert_eq!(seen.len(), 23);
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, seen, "in serial order, each once");
        // Planned move-out 03-01: in time through 03-31, lapsed on 04-01.
        let (card, assessment) = db
            .read(|tx| assess_serial(tx, &seen[0], &Policies::default(), today))
            .expect("assess")
            .expect("in use");
        assert_eq!(card.serial, seen[0]);
        assert!(assessment.lapsed);
        assert_eq!(
            (assessment.lapse_date, assessment.reason),
            (d(2026, 4, 1), LapseReason::NoMoveInAfterMoveOut)
        );
    }

    #[test]
    fn a_card_made_after_the_move_in_needs_no_update() {
        let r = Resident {
            municipality: MunicipalityCode::parse("131016").expect("code"),
            my_number: MyNumber::complete("12345678901").expect("number"),
            name: "番号　花子".into(),
            name_kana: String::new(),
            address: "東京都".into(),
            birth_date: d(1985, 4, 1),
            sex: Sex::Female,
            nationality: "JP".into(),
            residence: Residence::Japanese,
            status: ResidentStatus::Resident,
            status_changed_on: None,
            seal_registered: false,
            honseki: Some("東京都".into()),
            household_id: None,
            support_measure: false,
            adult_ward: false,
            moved_in_on: Some(d(2026, 4, 5)),
            move_in_notified_on: Some(d(2026, 4, 10)),
            planned_move_out_on: None,
            moved_out_on: None,
        };
        let card = |issued| Card {
            serial: "4D4E000000000001".into(),
            resident_id: 1,
            application_id: None,
            status: CardStatus::Active,
            face_recognition: false,
            issued_on: issued,
            expires_on: d(2036, 4, 1),
            delivered_on: Some(issued),
            lapsed_on: None,
            lapse_reason: None,
            image_location: None,
            status_changed_at: Utc.with_ymd_and_hms(2026, 4, 1, 1, 0, 0).single().expect("instant"),
        };
        let today = d(2026, 12, 1);
        assert!(card_events(&r, &card(d(2026, 4, 10)), &[], today).is_empty());
        assert_eq!(
            card_events(&r, &card(d(2026, 4, 9)), &[], today),
            vec![CardEvent::MoveIn {
                moved_in: d(2026, 4, 5),
                notified: d(2026, 4, 10)
            }]
        );
        // Facts of the future are not facts yet.
        assert!(card_events(&r, &card(d(2026, 4, 9)), &[], d(2026, 4, 9)).is_empty());
    }
}
