//! Read models for the municipal window's screens (窓口業務) and J-LIS's
//! production worker: resident search (住民検索), the window's work list
//! (業務一覧), and the applications waiting for production.
//!
//! ## Who may read
//!
//! - Window staff (市区町村窓口): residents of their own municipality only
//!   (of record: a resident who moved out stays on the list of the
//!   municipality they left until they move in elsewhere).
//! - J-LIS and the system: resident search across municipalities, and the
//!   applications waiting for production (which window staff may not list).
//!   The work list is a window's: it is for window staff only.
//! - The hotline and the holder: none of these.
//!
//! ## No disclosure entries
//!
//! None of these reads returns a My Number (個人番号), nor the record a
//! [`crate::records::ResidentView`] discloses: they show what a window's
//! list shows (氏名, 振り仮名, 生年月日, 住所, the card's serial and status),
//! so they write no disclosure-log entries (開示記録). Opening a resident's
//! record from a list goes through [`Authority::resident_record`], which
//! does.
//!
//! ## Bounds
//!
//! Every list is bounded: at most [`MAX_ROWS`] (200) rows each, the ones
//! that matter first (the order is given with each list). A full list
//! means there may be more.

use chrono::{Days, NaiveDate};
use mynacard_rules::date::add_days;
use mynacard_rules::lapse::{LapseReason, MOVE_OUT_TO_MOVE_IN_DAYS};
use mynacard_rules::numbers::MunicipalityCode;
use mynacard_rules::renewal::renewal_window;
use mynacard_store::registry::{self, CertKind, ExpiringRow, NameNeedle, ResidentSearch};
use mynacard_store::Tx;
use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Role};
use crate::error::AuthorityError;
use crate::Authority;

/// The most rows any list here answers.
pub const MAX_ROWS: u32 = 200;

/// How many days back [`Worklist::recently_lapsed`] looks (today included).
pub const RECENTLY_LAPSED_DAYS: u64 = 90;

/// A resident search (住民検索). At least a name or a birth date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResidentQuery {
    /// Part of the 氏名 or of its 振り仮名. Spaces (half- and full-width)
    /// are ignored on both sides, so `番号花子` finds `番号　花子`; hiragana
    /// finds the katakana of the 振り仮名 (`ばんごう` finds `バンゴウ`);
    /// ASCII letters match regardless of case.
    pub name: Option<String>,
    /// 生年月日.
    pub birth_date: Option<NaiveDate>,
    /// Also former residents: moved out (転出), deceased (死亡), abroad
    /// (国外転出). Otherwise residents (住民) only.
    pub include_former: bool,
    /// At most this many results; 0 or more than [`MAX_ROWS`] means
    /// [`MAX_ROWS`].
    pub limit: u32,
}

/// A card as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardBrief {
    /// The serial.
    pub serial: String,
    /// `produced`, `active`, `suspended`, `lapsed`, `expired`, `returned`, `invalid`.
    pub status: String,
    /// 有効期限.
    pub expires_on: NaiveDate,
    /// 顔認証マイナンバーカード.
    pub face_recognition: bool,
}

/// A resident found by [`Authority::search_residents`] (no My Number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentSummary {
    /// The registry's id.
    pub resident_id: i64,
    /// 氏名.
    pub name: String,
    /// 氏名の振り仮名.
    pub name_kana: String,
    /// 生年月日.
    pub birth_date: NaiveDate,
    /// 住所.
    pub address: String,
    /// 全国地方公共団体コード of the municipality of record.
    pub municipality: String,
    /// The record's status: `resident`, `moved_out`, `deceased`, `abroad`.
    pub status: String,
    /// The card in use (active or suspended); else the one produced and
    /// waiting for delivery; else the latest; none if never one.
    pub card: Option<CardBrief>,
}

/// An application on the work list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationItem {
    /// The application (交付申請).
    pub application_id: i64,
    /// The applicant.
    pub resident_id: i64,
    /// The applicant's 氏名.
    pub name: String,
    /// `new` (新規), `renewal` (更新), `reissue` (再交付).
    pub kind: String,
    /// The day the municipality received it (受付日).
    pub received_on: NaiveDate,
    /// The card produced and waiting (交付待ち only).
    pub card_serial: Option<String>,
}

/// A card or certificate in its renewal window (更新期間).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalItem {
    /// The holder.
    pub resident_id: i64,
    /// The holder's 氏名.
    pub name: String,
    /// `card` (カードの更新), `auth_certificate` (利用者証明用電子証明書),
    /// `sign_certificate` (署名用電子証明書).
    pub what: String,
    /// The card's 有効期限 or the certificate's last valid day.
    pub expires_on: NaiveDate,
    /// The card (for a certificate, the card it is on: what
    /// [`Authority::renew_certificates`] takes).
    pub card_serial: String,
}

/// A resident who moved out (転出) and has not moved in anywhere yet,
/// holding a card still in use: the card lapses unless the move-in (転入届)
/// is made with it by `deadline`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LapseWatchItem {
    /// The resident.
    pub resident_id: i64,
    /// 氏名.
    pub name: String,
    /// 転出予定日: the planned move-out date the rules count from.
    pub moved_out_on: NaiveDate,
    /// The last day of the move-in (rules.md §7: 30 days after the planned
    /// move-out); the card lapses the day after. May be past when the
    /// nightly batch has not lapsed the card yet.
    pub deadline: NaiveDate,
    /// The card in use (always given today: a resident without a card has
    /// nothing to lapse and is not listed).
    pub card_serial: Option<String>,
}

/// A card that lapsed (失効) or expired (有効期限切れ).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LapsedItem {
    /// The holder.
    pub resident_id: i64,
    /// 氏名.
    pub name: String,
    /// The card.
    pub card_serial: String,
    /// `lapsed` or `expired`.
    pub status: String,
    /// The first day it was no longer valid: its 失効日, or the day after
    /// its 有効期限.
    pub on: NaiveDate,
    /// Why it lapsed (the rules' reason, `no_move_in_after_move_out`, …);
    /// none for an expiry.
    pub reason: Option<String>,
}

/// A window's work list (業務一覧) on `today`. Each list holds at most
/// [`MAX_ROWS`] items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worklist {
    /// 全国地方公共団体コード of the window.
    pub municipality: String,
    /// The day (the authority's clock).
    pub today: NaiveDate,
    /// 製造中: applications received, card not produced yet; oldest first.
    pub in_production: Vec<ApplicationItem>,
    /// 交付待ち: cards produced and waiting at the window for delivery;
    /// oldest application first.
    pub awaiting_delivery: Vec<ApplicationItem>,
    /// 更新対象: cards in use, and the auth and signature certificates on
    /// them, in their renewal window on `today` (rules.md §5, from 3 months
    /// before expiry through the expiry); soonest expiry first. Certificates
    /// expiring with the card (or after it) are renewed with the card and
    /// listed only as the card.
    pub renewals_due: Vec<RenewalItem>,
    /// 失効注意: residents who moved out and have not moved in, with a card
    /// still in use, and the last day of the move-in; soonest deadline first.
    pub lapse_watch: Vec<LapseWatchItem>,
    /// 失効: cards of this municipality's residents that lapsed or expired
    /// in the last [`RECENTLY_LAPSED_DAYS`] days (today included); latest
    /// first.
    pub recently_lapsed: Vec<LapsedItem>,
}

/// The row cap of a caller's `limit` (0: the maximum).
fn cap(limit: u32) -> u32 {
    if limit == 0 {
        MAX_ROWS
    } else {
        limit.min(MAX_ROWS)
    }
}

/// Whose residents `actor` may list: `Some(own)` for window staff, `None`
/// (any) for J-LIS and the system; the hotline and the holder may not.
fn search_scope(actor: &Actor, what: &str) -> Result<Option<MunicipalityCode>, AuthorityError> {
    match &actor.role {
        Role::Window { municipality } => Ok(Some(*municipality)),
        Role::Producer | Role::System => Ok(None),
        Role::Hotline | Role::Resident { .. } => Err(AuthorityError::Forbidden(format!("{what}: not for this role"))),
    }
}

/// Hiragana folded to katakana (振り仮名 are recorded in katakana).
fn katakana(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{3041}'..='\u{3096}' | '\u{309D}' | '\u{309E}' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// The last expiry date whose renewal window (rules.md §5) has opened by
/// `today`: the window opens later for a later expiry, so the expiries in
/// their window on `today` are `today..=` this day.
fn last_expiry_in_window(today: NaiveDate, policies: &mynacard_rules::Policies) -> NaiveDate {
    let mut expiry = today;
    // The window is months long; a few years bound the walk.
    for _ in 0..2000 {
        let Some(next) = expiry.succ_opt() else { break };
        if renewal_window(next, policies).opens > today {
            break;
        }
        expiry = next;
    }
    expiry
}

fn renewal_item(row: ExpiringRow) -> RenewalItem {
    let what = match row.certificate.as_ref().map(|(_, kind)| *kind) {
        None => "card",
        Some(CertKind::Sign | CertKind::SmartphoneSign) => "sign_certificate",
        Some(CertKind::Auth | CertKind::SmartphoneAuth) => "auth_certificate",
    };
    RenewalItem {
        resident_id: row.resident_id,
        name: row.name,
        what: what.to_owned(),
        expires_on: row.expires_on,
        card_serial: row.card_serial,
    }
}

impl Authority {
    /// 住民検索: residents by part of the name (氏名 or 振り仮名) and/or
    /// birth date, by 振り仮名 (五十音順), at most `q.limit` (capped at
    /// [`MAX_ROWS`]).
    ///
    /// Window staff find residents of their own municipality only; J-LIS
    /// and the system any; the hotline and the holder are refused
    /// ([`AuthorityError::Forbidden`]). A query with neither a name (after
    /// removing spaces) nor a birth date is refused
    /// ([`AuthorityError::BadRequest`]). Returns no My Number and writes no
    /// disclosure entry (see the module documentation).
    pub fn search_residents(&self, actor: &Actor, q: &ResidentQuery) -> Result<Vec<ResidentSummary>, AuthorityError> {
        let municipality = search_scope(actor, "searching residents")?;
        let name: Option<String> = q
            .name
            .as_deref()
            .map(|n| n.chars().filter(|c| !c.is_whitespace()).collect::<String>())
            .filter(|n| !n.is_empty());
        if name.is_none() && q.birth_date.is_none() {
            return Err(AuthorityError::BadRequest(
                "a resident search needs a name or a birth date".into(),
            ));
        }
        let search = ResidentSearch {
            municipality,
            name: name.map(|name| NameNeedle {
                kana: katakana(&name),
                name,
            }),
            birth_date: q.birth_date,
            include_former: q.include_former,
            limit: i64::from(cap(q.limit)),
        };
        let hits = self.db.read(|tx| registry::search_residents(tx, &search))?;
        Ok(hits
            .into_iter()
            .map(|h| ResidentSummary {
                resident_id: h.resident_id,
                name: h.name,
                name_kana: h.name_kana,
                birth_date: h.birth_date,
                address: h.address,
                municipality: h.municipality.to_string(),
                status: h.status.as_str().to_owned(),
                card: h.card.map(|c| CardBrief {
                    serial: c.serial,
                    status: c.status.as_str().to_owned(),
                    expires_on: c.expires_on,
                    face_recognition: c.face_recognition,
                }),
            })
            .collect())
    }

    /// The window's work list (業務一覧) on the authority's today, for window
    /// staff of their own municipality (every other role:
    /// [`AuthorityError::Forbidden`]): 製造中, 交付待ち, 更新対象, 失効注意
    /// and 失効 (see [`Worklist`]), each at most [`MAX_ROWS`] items, read in
    /// one snapshot. Renewal windows and move-in deadlines are the rules
    /// engine's. Returns no My Number and writes no disclosure entry.
    pub fn window_worklist(&self, actor: &Actor) -> Result<Worklist, AuthorityError> {
        let Role::Window { municipality } = &actor.role else {
            return Err(AuthorityError::Forbidden(
                "the work list is a municipal window's: not for this role".into(),
            ));
        };
        let municipality = *municipality;
        let today = self.clock.today();
        let limit = i64::from(MAX_ROWS);
        self.db.read(|tx| {
            let application = |row: registry::ApplicationRow| ApplicationItem {
                application_id: row.application_id,
                resident_id: row.resident_id,
                name: row.name,
                kind: row.kind.as_str().to_owned(),
                received_on: row.received_on,
                card_serial: row.card_serial,
            };
            let in_production = registry::window_applications_in_production(tx, municipality, limit)?
                .into_iter()
                .map(application)
                .collect();
            let awaiting_delivery = registry::window_applications_awaiting_delivery(tx, municipality, limit)?
                .into_iter()
                .map(application)
                .collect();
            Ok(Worklist {
                municipality: municipality.to_string(),
                today,
                in_production,
                awaiting_delivery,
                renewals_due: self.renewals_due(tx, municipality, today)?,
                lapse_watch: self.lapse_watch(tx, municipality, today)?,
                recently_lapsed: recently_lapsed(tx, municipality, today)?,
            })
        })
    }

    /// The applications J-LIS can produce now (交付申請 received, card not
    /// produced), oldest first, at most `limit` (0 or more than
    /// [`MAX_ROWS`]: [`MAX_ROWS`]): for the production worker, which
    /// produces them and asks again. Applications of residents who have
    /// moved out, died or left since applying are left out (production
    /// would refuse them). J-LIS and the system only (window staff, the
    /// hotline and the holder: [`AuthorityError::Forbidden`]). Returns no My
    /// Number and writes no disclosure entry.
    pub fn applications_awaiting_production(&self, actor: &Actor, limit: u32) -> Result<Vec<i64>, AuthorityError> {
        if !matches!(actor.role, Role::Producer | Role::System) {
            return Err(AuthorityError::Forbidden(
                "the production queue is J-LIS's: not for this role".into(),
            ));
        }
        let limit = i64::from(cap(limit));
        Ok(self.db.read(|tx| registry::applications_to_produce(tx, limit))?)
    }

    /// 更新対象 on `today`: cards and certificates in their renewal window.
    fn renewals_due(
        &self,
        tx: &mut Tx<'_>,
        municipality: MunicipalityCode,
        today: NaiveDate,
    ) -> Result<Vec<RenewalItem>, AuthorityError> {
        let through = last_expiry_in_window(today, &self.policies);
        let limit = i64::from(MAX_ROWS);
        let mut rows = registry::window_cards_expiring(tx, municipality, today, through, limit)?;
        rows.extend(registry::window_certificates_expiring(
            tx,
            municipality,
            today,
            through,
            limit,
        )?);
        rows.retain(|r| renewal_window(r.expires_on, &self.policies).contains(today));
        let key = |r: &ExpiringRow| {
            (
                r.expires_on,
                r.card_serial.clone(),
                r.certificate.clone().map(|(s, _)| s),
            )
        };
        rows.sort_by_key(key);
        rows.truncate(MAX_ROWS as usize);
        Ok(rows.into_iter().map(renewal_item).collect())
    }

    /// 失効注意 on `today`: moved-out holders and the last day of their
    /// move-in, from the rules' assessment of the card.
    fn lapse_watch(
        &self,
        tx: &mut Tx<'_>,
        municipality: MunicipalityCode,
        today: NaiveDate,
    ) -> Result<Vec<LapseWatchItem>, AuthorityError> {
        let mut items = Vec::new();
        for holder in registry::window_moved_out_holders(tx, municipality, i64::from(MAX_ROWS))? {
            let Some(r) = registry::get_resident(tx, holder.resident_id)? else {
                continue;
            };
            let Some(card) = registry::get_card(tx, &holder.card_serial)? else {
                continue;
            };
            let Some(planned) = r.planned_move_out_on.or(r.status_changed_on) else {
                continue;
            };
            // The rules' clock on these facts; the rule itself if the facts
            // do not assess (the nightly batch reports those).
            let by_rule = add_days(planned, MOVE_OUT_TO_MOVE_IN_DAYS);
            let deadline = match crate::lapse::assess_card(tx, &r, &card, &[], &self.policies, today) {
                Ok(a) => a
                    .deadlines
                    .iter()
                    .find(|d| d.reason == LapseReason::NoMoveInAfterMoveOut)
                    .map(|d| d.last_day)
                    .or_else(|| {
                        (a.lapsed && a.reason == LapseReason::NoMoveInAfterMoveOut)
                            .then(|| a.lapse_date.pred_opt())
                            .flatten()
                    })
                    .unwrap_or(by_rule),
                Err(AuthorityError::Rule(_)) => by_rule,
                Err(e) => return Err(e),
            };
            items.push(LapseWatchItem {
                resident_id: r.id,
                name: r.name.clone(),
                moved_out_on: planned,
                deadline,
                card_serial: Some(card.serial),
            });
        }
        items.sort_by_key(|i| (i.deadline, i.resident_id));
        Ok(items)
    }
}

/// 失効 on `today`: cards lapsed or expired in the last
/// [`RECENTLY_LAPSED_DAYS`] days, latest first.
fn recently_lapsed(
    tx: &mut Tx<'_>,
    municipality: MunicipalityCode,
    today: NaiveDate,
) -> Result<Vec<LapsedItem>, AuthorityError> {
    let limit = i64::from(MAX_ROWS);
    let since = today
        .checked_sub_days(Days::new(RECENTLY_LAPSED_DAYS - 1))
        .unwrap_or(NaiveDate::MIN);
    let day_before = |d: NaiveDate| d.pred_opt().unwrap_or(d);
    let mut items: Vec<LapsedItem> = Vec::new();
    for card in registry::window_cards_lapsed(tx, municipality, since, today, limit)? {
        items.push(LapsedItem {
            resident_id: card.resident_id,
            name: card.name,
            card_serial: card.card_serial,
            status: card.status.as_str().to_owned(),
            on: card.lapsed_on.unwrap_or(card.expires_on),
            reason: card.lapse_reason.map(crate::lapse::reason_name),
        });
    }
    // Expired on `on` = the day after the 有効期限.
    for card in registry::window_cards_expired(tx, municipality, day_before(since), day_before(today), limit)? {
        items.push(LapsedItem {
            resident_id: card.resident_id,
            name: card.name,
            card_serial: card.card_serial,
            status: card.status.as_str().to_owned(),
            on: card.expires_on.succ_opt().unwrap_or(card.expires_on),
            reason: None,
        });
    }
    items.sort_by(|a, b| b.on.cmp(&a.on).then_with(|| a.card_serial.cmp(&b.card_serial)));
    items.truncate(MAX_ROWS as usize);
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn hiragana_folds_to_katakana() {
        assert_eq!(katakana("ばんごう　はなこ"), "バンゴウ　ハナコ");
        assert_eq!(katakana("番号ゝゞ"), "番号ヽヾ");
        assert_eq!(katakana("バンゴウ abc"), "バンゴウ abc");
    }

    #[test]
    fn the_renewal_bound_is_the_last_expiry_whose_window_opened() {
        let p = mynacard_rules::Policies::default();
        for today in [d(2026, 3, 16), d(2026, 3, 1), d(2028, 2, 29), d(2026, 12, 31)] {
            let last = last_expiry_in_window(today, &p);
            assert!(renewal_window(last, &p).contains(today), "{today}: {last}");
            assert!(
                renewal_window(last.succ_opt().expect("day"), &p).opens > today,
                "{today}: {last}"
            );
        }
        // rules.md §5: expiry 2026-06-15 opens 2026-03-16.
        assert_eq!(last_expiry_in_window(d(2026, 3, 16), &p), d(2026, 6, 15));
    }

    #[test]
    fn limits_are_capped() {
        assert_eq!(cap(0), MAX_ROWS);
        assert_eq!(cap(5), 5);
        assert_eq!(cap(10_000), MAX_ROWS);
    }
}
