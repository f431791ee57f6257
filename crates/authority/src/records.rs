//! Reading the registry on someone's behalf: every access to a My Number or
//! a resident record is written to the disclosure log (開示記録: who, whose,
//! why, which fields), in the same transaction as the read, so that no read
//! happens unrecorded and no record claims a read that did not happen.
//!
//! ## Purposes and the My Number
//!
//! A read names its purpose (利用目的), one of [`PURPOSES`]; anything else is
//! refused before anything is read. The My Number (個人番号) may be used
//! only for the affairs the My Number Act lists (番号法 第9条・別表:
//! social security, tax, disaster response) and for the card's own
//! issuance (the card carries the number); the holder may always see their
//! own. So the view carries the My Number only for those purposes
//! ([`Purpose::my_number`]), and the disclosure records the field
//! `my_number` exactly when it was shown — or, for
//! [`Authority::find_resident_by_my_number`], always: that lookup ties the
//! number to the person whatever the view shows.
//!
//! ## Who may read
//!
//! - Window staff (市区町村窓口): residents registered in their municipality.
//! - J-LIS and the system: anyone (as for operations).
//! - The holder (authenticated by the card): their own record, with the
//!   purpose `self`, and their own disclosure log.
//! - The hotline: not the record (it suspends cards, see `loss`).
//!
//! A refused read records nothing. The audit trail of a resident
//! ([`Authority::audit_trail_for`]) is for window staff only. Staff reading
//! someone's disclosure log or audit trail is itself a disclosure and is
//! recorded (purposes `disclosure_review`, `audit_review`); the holder
//! reading their own disclosure log is not.
//!
//! No error or log line carries a My Number: lookups by number answer "no
//! resident with this My Number" and the registry refers to residents by id.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use mynacard_rules::card::Residence;
use mynacard_rules::numbers::MyNumber;
use mynacard_store::disclosure::{self, Disclosure};
use mynacard_store::registry::{self, StoredResident};
use mynacard_store::{audit, Tx};
use serde::Serialize;

use crate::actor::{Actor, Role};
use crate::error::AuthorityError;
use crate::Authority;

/// Why a record is read (利用目的).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Purpose {
    /// The name callers give (`tax`, `identity_check`, …).
    pub name: &'static str,
    /// What it is, in Japanese.
    pub ja: &'static str,
    /// Whether the My Number is shown for it.
    pub my_number: bool,
    /// Only the holder may read for it (and the holder only for it).
    pub holder_only: bool,
}

/// The purposes a record may be read for.
pub const PURPOSES: [Purpose; 9] = [
    Purpose {
        name: "self",
        ja: "本人による確認（マイナポータル）",
        my_number: true,
        holder_only: true,
    },
    Purpose {
        name: "card_issuance",
        ja: "個人番号カードの交付・更新・再交付の事務",
        my_number: true,
        holder_only: false,
    },
    Purpose {
        name: "social_security",
        ja: "社会保障の事務（番号法別表）",
        my_number: true,
        holder_only: false,
    },
    Purpose {
        name: "tax",
        ja: "税の事務（番号法別表）",
        my_number: true,
        holder_only: false,
    },
    Purpose {
        name: "disaster_response",
        ja: "災害対策の事務（番号法別表）",
        my_number: true,
        holder_only: false,
    },
    Purpose {
        name: "identity_check",
        ja: "窓口での本人確認",
        my_number: false,
        holder_only: false,
    },
    Purpose {
        name: "resident_registry",
        ja: "住民基本台帳の事務（転入・転出・記載事項の変更）",
        my_number: false,
        holder_only: false,
    },
    Purpose {
        name: "card_service",
        ja: "カードの手続（紛失・一時停止・暗証番号・電子証明書）",
        my_number: false,
        holder_only: false,
    },
    Purpose {
        name: "inquiry",
        ja: "相談・問い合わせへの対応",
        my_number: false,
        holder_only: false,
    },
];

/// The purpose named `name`.
pub fn purpose(name: &str) -> Result<&'static Purpose, AuthorityError> {
    PURPOSES.iter().find(|p| p.name == name).ok_or_else(|| {
        AuthorityError::BadRequest(format!(
            "purpose {name:?}: one of {}",
            PURPOSES.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
        ))
    })
}

/// The purpose recorded when staff read someone's disclosure log.
pub const DISCLOSURE_REVIEW: &str = "disclosure_review";
/// The purpose recorded when staff read someone's audit trail.
pub const AUDIT_REVIEW: &str = "audit_review";

/// A My Number shown in a view: serialised as its 12 digits (it was
/// disclosed, and recorded), but never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisclosedMyNumber(String);

impl DisclosedMyNumber {
    /// The 12 digits.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DisclosedMyNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DisclosedMyNumber(<redacted>)")
    }
}

/// A card, as a resident view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardSummary {
    /// The serial.
    pub serial: String,
    /// `active`, `suspended`, `lapsed`, …
    pub status: String,
    /// 顔認証マイナンバーカード.
    pub face_recognition: bool,
    /// 有効期限.
    pub expires_on: NaiveDate,
    /// 交付日.
    pub delivered_on: Option<NaiveDate>,
    /// 失効日.
    pub lapsed_on: Option<NaiveDate>,
}

/// A certificate, as a resident view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateSummary {
    /// The serial (hex).
    pub serial: String,
    /// `auth`, `sign`, `smartphone_auth`, `smartphone_sign`.
    pub kind: String,
    /// `good`, `hold`, `revoked`, `expired`.
    pub status: String,
    /// The last valid day.
    pub not_after: NaiveDate,
}

/// A resident's record as disclosed for one purpose.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResidentView {
    /// The registry's id.
    pub resident_id: i64,
    /// 個人番号: only for a purpose that needs it ([`Purpose::my_number`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub my_number: Option<DisclosedMyNumber>,
    /// 全国地方公共団体コード of the municipality of record.
    pub municipality: String,
    /// 氏名.
    pub name: String,
    /// 氏名の振り仮名.
    pub name_kana: String,
    /// 住所.
    pub address: String,
    /// 生年月日.
    pub birth_date: NaiveDate,
    /// 性別.
    pub sex: String,
    /// 国籍.
    pub nationality: String,
    /// Japanese, permanent foreign resident, or with a period of stay.
    pub residence: Residence,
    /// `resident`, `moved_out`, `deceased`, `abroad`.
    pub status: String,
    /// The cards, oldest first.
    pub cards: Vec<CardSummary>,
    /// The certificates, oldest first.
    pub certificates: Vec<CertificateSummary>,
    /// The purpose it was read for.
    pub purpose: String,
    /// The disclosure-log entry that records this read.
    pub disclosure_id: i64,
}

/// The fields of a [`ResidentView`] other than the My Number, as the
/// disclosure log names them.
pub const VIEW_FIELDS: [&str; 11] = [
    "name",
    "name_kana",
    "address",
    "birth_date",
    "sex",
    "nationality",
    "residence",
    "status",
    "municipality",
    "cards",
    "certificates",
];

/// One entry of a resident's disclosure log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisclosureEntry {
    /// The entry's id.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who read.
    pub actor: String,
    /// Why.
    pub purpose: String,
    /// What was shown.
    pub fields: Vec<String>,
}

/// One audit-log entry concerning a resident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditTrailEntry {
    /// The position in the chain.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What (`card.deliver`, `batch.lapses`, …).
    pub action: String,
    /// On what (`resident:42`, `card:…`).
    pub subject: String,
    /// The entry's details.
    pub details: serde_json::Value,
}

/// Whether `actor`'s role may read records for `purpose` at all.
fn role_may_read(actor: &Actor, purpose: &Purpose) -> Result<(), AuthorityError> {
    match (&actor.role, purpose.holder_only) {
        (Role::Resident { .. }, true) => Ok(()),
        (Role::Resident { .. }, false) => Err(AuthorityError::Forbidden(format!(
            "a holder reads their record with the purpose {:?}",
            PURPOSES[0].name
        ))),
        (_, true) => Err(AuthorityError::Forbidden(format!(
            "the purpose {:?} is the holder's own",
            purpose.name
        ))),
        (Role::Hotline, false) => Err(AuthorityError::Forbidden("reading a record: not for this role".into())),
        (Role::Window { .. } | Role::Producer | Role::System, false) => Ok(()),
    }
}

/// Whether `r` is within `actor`'s scope (the role having been checked).
fn in_scope(actor: &Actor, r: &StoredResident) -> Result<(), AuthorityError> {
    match &actor.role {
        Role::Resident { resident_id } if *resident_id == r.id => Ok(()),
        Role::Resident { .. } => Err(AuthorityError::Forbidden("a holder reads only their own record".into())),
        Role::Window { municipality } if *municipality == r.municipality => Ok(()),
        Role::Window { .. } => Err(AuthorityError::Forbidden(
            "reading a record: the resident is registered in another municipality".into(),
        )),
        Role::Producer | Role::System => Ok(()),
        Role::Hotline => Err(AuthorityError::Forbidden("reading a record: not for this role".into())),
    }
}

/// Builds the view of `r` and records its disclosure, in `tx`.
fn view_and_record(
    tx: &mut Tx<'_>,
    actor: &Actor,
    r: &StoredResident,
    purpose: &Purpose,
    at: DateTime<Utc>,
    number_disclosed: bool,
) -> Result<ResidentView, AuthorityError> {
    let cards = registry::list_cards_for_resident(tx, r.id)?
        .into_iter()
        .map(|c| CardSummary {
            serial: c.serial,
            status: c.status.as_str().to_owned(),
            face_recognition: c.face_recognition,
            expires_on: c.expires_on,
            delivered_on: c.delivered_on,
            lapsed_on: c.lapsed_on,
        })
        .collect();
    let certificates = registry::list_certificates_for_resident(tx, r.id)?
        .into_iter()
        .map(|c| CertificateSummary {
            serial: c.serial,
            kind: c.kind.as_str().to_owned(),
            status: c.status.as_str().to_owned(),
            not_after: c.not_after,
        })
        .collect();
    let mut fields: Vec<String> = Vec::new();
    if purpose.my_number || number_disclosed {
        fields.push("my_number".into());
    }
    fields.extend(VIEW_FIELDS.iter().map(|f| (*f).to_owned()));
    let disclosure_id = disclosure::record(
        tx,
        &Disclosure {
            at,
            actor: actor.id.clone(),
            resident_id: r.id,
            purpose: purpose.name.to_owned(),
            fields,
        },
    )?;
    Ok(ResidentView {
        resident_id: r.id,
        my_number: purpose.my_number.then(|| DisclosedMyNumber(r.my_number.expose())),
        municipality: r.municipality.to_string(),
        name: r.name.clone(),
        name_kana: r.name_kana.clone(),
        address: r.address.clone(),
        birth_date: r.birth_date,
        sex: r.sex.as_str().to_owned(),
        nationality: r.nationality.clone(),
        residence: r.residence,
        status: r.status.as_str().to_owned(),
        cards,
        certificates,
        purpose: purpose.name.to_owned(),
        disclosure_id,
    })
}

fn resident_or_not_found(tx: &mut Tx<'_>, id: i64) -> Result<StoredResident, AuthorityError> {
    registry::get_resident(tx, id)?.ok_or_else(|| AuthorityError::NotFound(format!("resident {id}")))
}

/// Window staff of the resident's municipality, or the holder themself
/// (`holder_ok`).
fn staff_or_holder(actor: &Actor, r: &StoredResident, holder_ok: bool, what: &str) -> Result<(), AuthorityError> {
    match &actor.role {
        Role::Resident { resident_id } if holder_ok && *resident_id == r.id => Ok(()),
        Role::Window { municipality } if *municipality == r.municipality => Ok(()),
        Role::Window { .. } => Err(AuthorityError::Forbidden(format!(
            "{what}: the resident is registered in another municipality"
        ))),
        _ => Err(AuthorityError::Forbidden(format!("{what}: not for this role"))),
    }
}

impl Authority {
    /// The record of `resident_id` for `purpose`, its disclosure recorded in
    /// the same transaction (see the module documentation).
    pub fn resident_record(
        &self,
        actor: &Actor,
        resident_id: i64,
        purpose: &str,
    ) -> Result<ResidentView, AuthorityError> {
        let purpose = self::purpose(purpose)?;
        role_may_read(actor, purpose)?;
        let at = self.clock.now();
        self.db.transaction(|tx| {
            let r = resident_or_not_found(tx, resident_id)?;
            in_scope(actor, &r)?;
            view_and_record(tx, actor, &r, purpose, at, false)
        })
    }

    /// The resident whose My Number is `my_number`, for `purpose`; the
    /// disclosure (always naming `my_number`) recorded in the same
    /// transaction. A number outside the actor's scope is answered like an
    /// unknown one, so that the lookup tells nothing about residents of other
    /// municipalities.
    pub fn find_resident_by_my_number(
        &self,
        actor: &Actor,
        my_number: &str,
        purpose: &str,
    ) -> Result<ResidentView, AuthorityError> {
        let purpose = self::purpose(purpose)?;
        role_may_read(actor, purpose)?;
        let number = MyNumber::parse(my_number)
            .map_err(|e| AuthorityError::BadRequest(format!("the My Number given is not valid: {e}")))?;
        let at = self.clock.now();
        let not_found = || AuthorityError::NotFound("no resident with this My Number".into());
        self.db.transaction(|tx| {
            let r = registry::find_resident_by_my_number(tx, &number)?.ok_or_else(not_found)?;
            in_scope(actor, &r).map_err(|_| not_found())?;
            view_and_record(tx, actor, &r, purpose, at, true)
        })
    }

    /// The disclosure log of `resident_id`, oldest first: for the holder
    /// (not recorded) and for window staff of the resident's municipality
    /// (recorded as a disclosure, purpose `disclosure_review`, after the
    /// entries read).
    pub fn disclosures_for(&self, actor: &Actor, resident_id: i64) -> Result<Vec<DisclosureEntry>, AuthorityError> {
        let at = self.clock.now();
        self.db.transaction(|tx| {
            let r = resident_or_not_found(tx, resident_id)?;
            staff_or_holder(actor, &r, true, "reading the disclosure log")?;
            let entries: Vec<DisclosureEntry> = disclosure::list_for_resident(tx, r.id)?
                .into_iter()
                .map(|d| DisclosureEntry {
                    id: d.id,
                    at: d.record.at,
                    actor: d.record.actor,
                    purpose: d.record.purpose,
                    fields: d.record.fields,
                })
                .collect();
            if !matches!(actor.role, Role::Resident { .. }) {
                disclosure::record(
                    tx,
                    &Disclosure {
                        at,
                        actor: actor.id.clone(),
                        resident_id: r.id,
                        purpose: DISCLOSURE_REVIEW.into(),
                        fields: vec!["disclosure_log".into()],
                    },
                )?;
            }
            Ok(entries)
        })
    }

    /// The audit entries concerning `resident_id`, in chain order: those on
    /// the resident, their cards, certificates and applications, and those
    /// whose details name the resident. Window staff of the resident's
    /// municipality only; recorded as a disclosure (purpose `audit_review`).
    ///
    /// The store has no lookup of the audit log by subject, so this reads
    /// through the log once, in pages (fine for a window's occasional look;
    /// a store query over an index on `audit_log (subject)` would make it a
    /// lookup).
    pub fn audit_trail_for(&self, actor: &Actor, resident_id: i64) -> Result<Vec<AuditTrailEntry>, AuthorityError> {
        let at = self.clock.now();
        self.db.transaction(|tx| {
            let r = resident_or_not_found(tx, resident_id)?;
            staff_or_holder(actor, &r, false, "reading the audit trail")?;
            let mut subjects = vec![format!("resident:{}", r.id)];
            subjects.extend(
                registry::list_cards_for_resident(tx, r.id)?
                    .into_iter()
                    .map(|c| format!("card:{}", c.serial)),
            );
            subjects.extend(
                registry::list_certificates_for_resident(tx, r.id)?
                    .into_iter()
                    .map(|c| format!("certificate:{}", c.serial)),
            );
            subjects.extend(
                registry::list_applications(tx, r.id)?
                    .into_iter()
                    .map(|a| format!("application:{}", a.id)),
            );
            let entries = audit_entries_about(tx, r.id, &subjects)?;
            disclosure::record(
                tx,
                &Disclosure {
                    at,
                    actor: actor.id.clone(),
                    resident_id: r.id,
                    purpose: AUDIT_REVIEW.into(),
                    fields: vec!["audit_trail".into()],
                },
            )?;
            Ok(entries)
        })
    }
}

/// The audit rows whose subject is one of `subjects` or whose details name
/// `resident_id` (`"resident": ID`), by seq: the log read through in pages.
fn audit_entries_about(
    tx: &mut Tx<'_>,
    resident_id: i64,
    subjects: &[String],
) -> Result<Vec<AuditTrailEntry>, AuthorityError> {
    const PAGE: i64 = 1000;
    let subjects: HashSet<&str> = subjects.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let rows = audit::list(tx, after, PAGE)?;
        let short = (rows.len() as i64) < PAGE;
        for row in rows {
            after = row.seq;
            let by_subject = subjects.contains(row.subject.as_str());
            // Cheap test first: most rows are about someone else.
            if !by_subject && !row.details.contains("\"resident\"") {
                continue;
            }
            let details: serde_json::Value = serde_json::from_str(&row.details).map_err(|e| {
                AuthorityError::Store(mynacard_store::StoreError::Corrupt(format!("audit_log.details: {e}")))
            })?;
            if by_subject || details.get("resident").and_then(serde_json::Value::as_i64) == Some(resident_id) {
                out.push(AuditTrailEntry {
                    seq: row.seq,
                    at: row.at,
                    actor: row.actor,
                    action: row.action,
                    subject: row.subject,
                    details,
                });
            }
        }
        if short {
            return Ok(out);
        }
    }
}
