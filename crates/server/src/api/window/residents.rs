//! Residents at the window: the work list (業務一覧), the search (住民検索),
//! registration (住民登録), the record (住民票の記載事項, its reading recorded
//! in the disclosure log), the lookup by My Number (a `POST`, so that the
//! number is never in a URL), and the resident's disclosure log (開示記録)
//! and audit trail.
//!
//! The lists show what a window's list shows (no My Number) and record no
//! disclosure; opening a record does, with the purpose (利用目的) it was
//! opened for.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use mynacard_authority::issuance::NewResident;
use mynacard_authority::records::{AuditTrailEntry, DisclosureEntry, ResidentView};
use mynacard_authority::worklist::{
    ApplicationItem, CardBrief, LapseWatchItem, LapsedItem, RenewalItem, ResidentQuery, ResidentSummary, Worklist,
};
use mynacard_rules::card::Residence;
use mynacard_rules::numbers::MyNumber;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    date, optional_text, query, resident_id, text, CommandHeaders, CommandProblems, CsrfHeader, LookupProblems,
    ReadProblems, SearchProblems, WorklistProblems, MAX_ADDRESS, MAX_NAME, MAX_REFERENCE,
};
use crate::access::WindowClerk;
use crate::api::ApiJson;
use crate::idempotency::IdempotencyKey;
use crate::problem::Problem;
use crate::state::AppState;

// ------------------------------------------------------------------- inputs

/// 住民検索: part of a name and/or a birth date (at least one). Documents
/// the parameters; they are read by [`SearchParams::parse`].
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Part of the 氏名 or of its 振り仮名; spaces are ignored, hiragana finds katakana.
    #[param(max_length = 100, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub name: Option<String>,
    /// 生年月日 (`YYYY-MM-DD`).
    #[param(format = Date, pattern = "^(18|19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub birth_date: Option<String>,
    /// Also former residents (moved out, deceased, abroad).
    pub include_former: Option<bool>,
    /// At most this many results (default and most: 200).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// Why a record is opened at the window (利用目的). The My Number is shown
/// only for the purposes the My Number Act allows (`card_issuance`,
/// `social_security`, `tax`, `disaster_response`).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = window::Purpose)]
pub enum WindowPurpose {
    /// 個人番号カードの交付・更新・再交付の事務 (the My Number shown).
    CardIssuance,
    /// 社会保障の事務 (the My Number shown).
    SocialSecurity,
    /// 税の事務 (the My Number shown).
    Tax,
    /// 災害対策の事務 (the My Number shown).
    DisasterResponse,
    /// 窓口での本人確認.
    IdentityCheck,
    /// 住民基本台帳の事務 (転入・転出・記載事項の変更).
    ResidentRegistry,
    /// カードの手続 (紛失・一時停止・暗証番号・電子証明書): the default.
    CardService,
    /// 相談・問い合わせへの対応.
    Inquiry,
}

impl WindowPurpose {
    /// Every purpose a window may read for.
    pub const ALL: [WindowPurpose; 8] = [
        WindowPurpose::CardIssuance,
        WindowPurpose::SocialSecurity,
        WindowPurpose::Tax,
        WindowPurpose::DisasterResponse,
        WindowPurpose::IdentityCheck,
        WindowPurpose::ResidentRegistry,
        WindowPurpose::CardService,
        WindowPurpose::Inquiry,
    ];

    /// The authority's name of the purpose.
    pub fn name(self) -> &'static str {
        match self {
            WindowPurpose::CardIssuance => "card_issuance",
            WindowPurpose::SocialSecurity => "social_security",
            WindowPurpose::Tax => "tax",
            WindowPurpose::DisasterResponse => "disaster_response",
            WindowPurpose::IdentityCheck => "identity_check",
            WindowPurpose::ResidentRegistry => "resident_registry",
            WindowPurpose::CardService => "card_service",
            WindowPurpose::Inquiry => "inquiry",
        }
    }
}

/// The purpose a record is opened for (documents the parameter; read by
/// [`WindowPurpose::from_query`]).
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordParams {
    /// 利用目的 (default `card_service`).
    #[param(inline)]
    pub purpose: Option<WindowPurpose>,
}

/// 性別.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = window::Sex)]
pub enum Sex {
    /// 男.
    Male,
    /// 女.
    Female,
}

/// 住民登録: a resident entered at the window, in the clerk's municipality.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::NewResident)]
pub struct RegisterResident {
    /// 個人番号: 12 digits with a valid check digit.
    #[schema(pattern = "^[0-9]{12}$")]
    pub my_number: String,
    /// 氏名 (family and given name separated by a full-width space).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name: String,
    /// 氏名の振り仮名 (katakana).
    #[schema(max_length = 100, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub name_kana: String,
    /// 住所, from the prefecture.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub address: String,
    /// 生年月日 (not after today).
    #[schema(format = Date, pattern = "^(18|19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub birth_date: String,
    /// 性別.
    pub sex: Sex,
    /// 国籍: ISO 3166-1 alpha-2, `JP` for Japanese nationals.
    #[schema(pattern = "^[A-Z]{2}$")]
    pub nationality: String,
    /// A foreign resident's 在留期間満了日 (not for `JP`; not with `permanent_resident`).
    #[serde(default)]
    #[schema(format = Date, pattern = "^(18|19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub stay_until: Option<String>,
    /// A foreign resident without a period of stay that bounds the card (永住者 …).
    #[serde(default)]
    pub permanent_resident: bool,
    /// 印鑑登録.
    #[serde(default)]
    pub seal_registered: bool,
    /// 本籍: required for Japanese nationals, refused for others.
    #[serde(default)]
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub honseki: Option<String>,
    /// 世帯.
    #[serde(default)]
    #[schema(max_length = 64, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub household_id: Option<String>,
    /// 成年被後見人.
    #[serde(default)]
    pub adult_ward: bool,
}

/// A lookup by My Number (in the body: never in a URL).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = window::Lookup)]
pub struct Lookup {
    /// 個人番号: 12 digits with a valid check digit.
    #[schema(pattern = "^[0-9]{12}$")]
    pub my_number: String,
    /// 利用目的 (default `card_issuance`).
    #[serde(default)]
    pub purpose: Option<WindowPurpose>,
}

// ------------------------------------------------------------------ outputs

/// A card as a list shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::CardBrief)]
pub struct CardBriefView {
    /// The serial.
    pub serial: String,
    /// `produced`, `active`, `suspended`, `lapsed`, `expired`, `returned`, `invalid`.
    pub status: String,
    /// 有効期限.
    pub expires_on: NaiveDate,
    /// 顔認証マイナンバーカード.
    pub face_recognition: bool,
}

impl From<CardBrief> for CardBriefView {
    fn from(c: CardBrief) -> Self {
        CardBriefView {
            serial: c.serial,
            status: c.status,
            expires_on: c.expires_on,
            face_recognition: c.face_recognition,
        }
    }
}

/// A resident found by the search (no My Number).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::ResidentSummary)]
pub struct ResidentSummaryView {
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
    /// `resident`, `moved_out`, `deceased`, `abroad`.
    pub status: String,
    /// The card in use; else the one waiting for delivery; else the latest.
    pub card: Option<CardBriefView>,
}

impl From<ResidentSummary> for ResidentSummaryView {
    fn from(r: ResidentSummary) -> Self {
        ResidentSummaryView {
            resident_id: r.resident_id,
            name: r.name,
            name_kana: r.name_kana,
            birth_date: r.birth_date,
            address: r.address,
            municipality: r.municipality,
            status: r.status,
            card: r.card.map(Into::into),
        }
    }
}

/// The search's results, by 振り仮名 (五十音順).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::ResidentList)]
pub struct ResidentList {
    /// The residents found (at most `limit`; a full page may mean more).
    pub residents: Vec<ResidentSummaryView>,
}

/// The id of a resident just registered.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::Registered)]
pub struct Registered {
    /// The registry's id.
    pub resident_id: i64,
}

/// Japanese, permanent foreign resident, or with a period of stay.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = window::ResidenceKind)]
pub enum ResidenceKind {
    /// 日本国籍.
    Japanese,
    /// 永住者 and others without a period of stay that bounds the card.
    ForeignPermanent,
    /// 在留期間のある外国人住民.
    ForeignWithStay,
}

/// The residence status, as far as it bears on the card.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::Residence)]
pub struct ResidenceView {
    /// Which.
    pub kind: ResidenceKind,
    /// 在留期間満了日 (a foreign resident with a period of stay).
    pub stay_until: Option<NaiveDate>,
}

impl From<Residence> for ResidenceView {
    fn from(r: Residence) -> Self {
        match r {
            Residence::Japanese => ResidenceView {
                kind: ResidenceKind::Japanese,
                stay_until: None,
            },
            Residence::ForeignPermanent => ResidenceView {
                kind: ResidenceKind::ForeignPermanent,
                stay_until: None,
            },
            Residence::ForeignWithStay { stay_until } => ResidenceView {
                kind: ResidenceKind::ForeignWithStay,
                stay_until: Some(stay_until),
            },
        }
    }
}

/// A card in a resident's record.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::RecordCard)]
pub struct RecordCard {
    /// The serial.
    pub serial: String,
    /// `produced`, `active`, `suspended`, `lapsed`, `expired`, `returned`, `invalid`.
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

/// A certificate in a resident's record.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::RecordCertificate)]
pub struct RecordCertificate {
    /// The serial (hex).
    pub serial: String,
    /// `auth`, `sign`, `smartphone_auth`, `smartphone_sign`.
    pub kind: String,
    /// `good`, `hold`, `revoked`, `expired`.
    pub status: String,
    /// The last valid day.
    pub not_after: NaiveDate,
}

/// A resident's record as disclosed for one purpose; the read is in the
/// disclosure log (`disclosure_id`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::ResidentRecord)]
pub struct ResidentRecord {
    /// The registry's id.
    pub resident_id: i64,
    /// 個人番号: only for a purpose that needs it, else null.
    pub my_number: Option<String>,
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
    /// `male` or `female`.
    pub sex: String,
    /// 国籍.
    pub nationality: String,
    /// The residence status.
    pub residence: ResidenceView,
    /// `resident`, `moved_out`, `deceased`, `abroad`.
    pub status: String,
    /// The cards, oldest first.
    pub cards: Vec<RecordCard>,
    /// The certificates, oldest first.
    pub certificates: Vec<RecordCertificate>,
    /// The purpose it was read for.
    pub purpose: String,
    /// The disclosure-log entry that records this read.
    pub disclosure_id: i64,
}

impl From<ResidentView> for ResidentRecord {
    fn from(v: ResidentView) -> Self {
        ResidentRecord {
            resident_id: v.resident_id,
            my_number: v.my_number.map(|n| n.expose().to_owned()),
            municipality: v.municipality,
            name: v.name,
            name_kana: v.name_kana,
            address: v.address,
            birth_date: v.birth_date,
            sex: v.sex,
            nationality: v.nationality,
            residence: v.residence.into(),
            status: v.status,
            cards: v
                .cards
                .into_iter()
                .map(|c| RecordCard {
                    serial: c.serial,
                    status: c.status,
                    face_recognition: c.face_recognition,
                    expires_on: c.expires_on,
                    delivered_on: c.delivered_on,
                    lapsed_on: c.lapsed_on,
                })
                .collect(),
            certificates: v
                .certificates
                .into_iter()
                .map(|c| RecordCertificate {
                    serial: c.serial,
                    kind: c.kind,
                    status: c.status,
                    not_after: c.not_after,
                })
                .collect(),
            purpose: v.purpose,
            disclosure_id: v.disclosure_id,
        }
    }
}

/// One entry of a resident's disclosure log (開示記録).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::Disclosure)]
pub struct DisclosureView {
    /// The entry's id.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who read.
    pub actor: String,
    /// Why (利用目的).
    pub purpose: String,
    /// What was shown.
    pub fields: Vec<String>,
}

impl From<DisclosureEntry> for DisclosureView {
    fn from(d: DisclosureEntry) -> Self {
        DisclosureView {
            id: d.id,
            at: d.at,
            actor: d.actor,
            purpose: d.purpose,
            fields: d.fields,
        }
    }
}

/// A resident's disclosure log, oldest first (this reading is recorded
/// after it, as `disclosure_review`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::DisclosureLog)]
pub struct DisclosureLog {
    /// The entries.
    pub disclosures: Vec<DisclosureView>,
}

/// One audit-log entry concerning a resident.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::AuditEntry)]
pub struct AuditEntryView {
    /// The position in the chain.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What (`card.deliver`, `resident.move_out`, …).
    pub action: String,
    /// On what (`resident:42`, `card:…`).
    pub subject: String,
    /// The entry's details (never a My Number or a PIN).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<AuditTrailEntry> for AuditEntryView {
    fn from(e: AuditTrailEntry) -> Self {
        AuditEntryView {
            seq: e.seq,
            at: e.at,
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            details: e.details,
        }
    }
}

/// A resident's audit trail, in chain order (this reading is recorded in
/// the disclosure log, as `audit_review`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::AuditTrail)]
pub struct AuditTrail {
    /// The entries.
    pub entries: Vec<AuditEntryView>,
}

/// An application on the work list.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::WorklistApplication)]
pub struct WorklistApplication {
    /// The application (交付申請).
    pub application_id: i64,
    /// The applicant.
    pub resident_id: i64,
    /// The applicant's 氏名.
    pub name: String,
    /// `new` (新規), `renewal` (更新), `reissue` (再交付).
    pub kind: String,
    /// 受付日.
    pub received_on: NaiveDate,
    /// The card produced and waiting (交付待ち only).
    pub card_serial: Option<String>,
}

impl From<ApplicationItem> for WorklistApplication {
    fn from(a: ApplicationItem) -> Self {
        WorklistApplication {
            application_id: a.application_id,
            resident_id: a.resident_id,
            name: a.name,
            kind: a.kind,
            received_on: a.received_on,
            card_serial: a.card_serial,
        }
    }
}

/// A card or certificate in its renewal window (更新期間).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::WorklistRenewal)]
pub struct WorklistRenewal {
    /// The holder.
    pub resident_id: i64,
    /// 氏名.
    pub name: String,
    /// `card`, `auth_certificate` or `sign_certificate`.
    pub what: String,
    /// The card's 有効期限 or the certificate's last valid day.
    pub expires_on: NaiveDate,
    /// The card (for a certificate, the card it is on).
    pub card_serial: String,
}

impl From<RenewalItem> for WorklistRenewal {
    fn from(r: RenewalItem) -> Self {
        WorklistRenewal {
            resident_id: r.resident_id,
            name: r.name,
            what: r.what,
            expires_on: r.expires_on,
            card_serial: r.card_serial,
        }
    }
}

/// A moved-out holder whose card lapses unless the move-in is made with it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::WorklistLapseWatch)]
pub struct WorklistLapseWatch {
    /// The resident.
    pub resident_id: i64,
    /// 氏名.
    pub name: String,
    /// 転出予定日.
    pub moved_out_on: NaiveDate,
    /// The last day of the move-in with the card.
    pub deadline: NaiveDate,
    /// The card in use.
    pub card_serial: Option<String>,
}

impl From<LapseWatchItem> for WorklistLapseWatch {
    fn from(l: LapseWatchItem) -> Self {
        WorklistLapseWatch {
            resident_id: l.resident_id,
            name: l.name,
            moved_out_on: l.moved_out_on,
            deadline: l.deadline,
            card_serial: l.card_serial,
        }
    }
}

/// A card that lapsed (失効) or expired.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::WorklistLapsed)]
pub struct WorklistLapsed {
    /// The holder.
    pub resident_id: i64,
    /// 氏名.
    pub name: String,
    /// The card.
    pub card_serial: String,
    /// `lapsed` or `expired`.
    pub status: String,
    /// The first day it was no longer valid.
    pub on: NaiveDate,
    /// Why it lapsed; null for an expiry.
    pub reason: Option<String>,
}

impl From<LapsedItem> for WorklistLapsed {
    fn from(l: LapsedItem) -> Self {
        WorklistLapsed {
            resident_id: l.resident_id,
            name: l.name,
            card_serial: l.card_serial,
            status: l.status,
            on: l.on,
            reason: l.reason,
        }
    }
}

/// The window's work list (業務一覧) on the system's today; each list at
/// most 200 items.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = window::Worklist)]
pub struct WorklistView {
    /// 全国地方公共団体コード of the window.
    pub municipality: String,
    /// The day.
    pub today: NaiveDate,
    /// 製造中: applications not produced yet; oldest first.
    pub in_production: Vec<WorklistApplication>,
    /// 交付待ち: cards produced and waiting for delivery; oldest first.
    pub awaiting_delivery: Vec<WorklistApplication>,
    /// 更新対象: cards and certificates in their renewal window; soonest first.
    pub renewals_due: Vec<WorklistRenewal>,
    /// 失効注意: moved-out holders and the last day of their move-in.
    pub lapse_watch: Vec<WorklistLapseWatch>,
    /// 失効: cards lapsed or expired in the last 90 days; latest first.
    pub recently_lapsed: Vec<WorklistLapsed>,
}

impl From<Worklist> for WorklistView {
    fn from(w: Worklist) -> Self {
        WorklistView {
            municipality: w.municipality,
            today: w.today,
            in_production: w.in_production.into_iter().map(Into::into).collect(),
            awaiting_delivery: w.awaiting_delivery.into_iter().map(Into::into).collect(),
            renewals_due: w.renewals_due.into_iter().map(Into::into).collect(),
            lapse_watch: w.lapse_watch.into_iter().map(Into::into).collect(),
            recently_lapsed: w.recently_lapsed.into_iter().map(Into::into).collect(),
        }
    }
}

// ------------------------------------------------------------------ parsing

/// The My Number of a request (never quoted back).
fn my_number(value: &str) -> Result<String, Problem> {
    MyNumber::parse(value)
        .map(|n| n.expose())
        .map_err(|_| Problem::invalid_field("my_number", "12 digits with a valid check digit"))
}

impl RegisterResident {
    /// The authority's request, every field checked.
    fn parse(self, municipality: String, today: NaiveDate) -> Result<NewResident, Problem> {
        let birth_date = date("birth_date", &self.birth_date)?;
        if birth_date > today {
            return Err(Problem::invalid_field("birth_date", "not after today"));
        }
        let nationality = self.nationality;
        if nationality.len() != 2 || !nationality.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Problem::invalid_field(
                "nationality",
                "ISO 3166-1 alpha-2 in capitals (JP, US, …)",
            ));
        }
        let stay_until = self.stay_until.as_deref().map(|d| date("stay_until", d)).transpose()?;
        let honseki = optional_text("honseki", self.honseki.as_deref(), MAX_ADDRESS)?;
        if nationality == "JP" {
            if stay_until.is_some() || self.permanent_resident {
                return Err(Problem::invalid_field(
                    "nationality",
                    "a Japanese national has no period of stay and is not a permanent (foreign) resident",
                ));
            }
            if honseki.is_none() {
                return Err(Problem::invalid_field("honseki", "required for a Japanese national"));
            }
        } else {
            if honseki.is_some() {
                return Err(Problem::invalid_field("honseki", "only Japanese nationals have a 本籍"));
            }
            match (stay_until, self.permanent_resident) {
                (Some(_), true) => {
                    return Err(Problem::invalid_field(
                        "stay_until",
                        "a permanent resident has no period of stay",
                    ))
                }
                (None, false) => {
                    return Err(Problem::invalid_field(
                        "stay_until",
                        "a foreign resident has a period of stay, or is a permanent resident",
                    ))
                }
                _ => {}
            }
        }
        Ok(NewResident {
            municipality,
            my_number: my_number(&self.my_number)?,
            name: text("name", &self.name, MAX_NAME, false)?,
            name_kana: text("name_kana", &self.name_kana, MAX_NAME, true)?,
            address: text("address", &self.address, MAX_ADDRESS, false)?,
            birth_date,
            sex: match self.sex {
                Sex::Male => "male".into(),
                Sex::Female => "female".into(),
            },
            nationality,
            stay_until,
            permanent_resident: self.permanent_resident,
            seal_registered: self.seal_registered,
            honseki,
            household_id: optional_text("household_id", self.household_id.as_deref(), MAX_REFERENCE)?,
            adult_ward: self.adult_ward,
        })
    }
}

impl SearchParams {
    /// The authority's query from the query string, every parameter checked.
    fn parse(raw: Option<&str>) -> Result<ResidentQuery, Problem> {
        let params = query(raw, &["name", "birth_date", "include_former", "limit"])?;
        let name = optional_text("name", params.get("name").map(String::as_str), MAX_NAME)?;
        let birth_date = params.get("birth_date").map(|d| date("birth_date", d)).transpose()?;
        if name.is_none() && birth_date.is_none() {
            return Err(Problem::invalid_field("name", "a search needs a name or a birth date"));
        }
        let include_former = match params.get("include_former").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(Problem::invalid_field("include_former", "true or false")),
        };
        let limit = match params.get("limit").map(|l| l.parse::<u32>()) {
            None => 0,
            Some(Ok(n @ 1..=200)) => n,
            Some(_) => return Err(Problem::invalid_field("limit", "1 to 200")),
        };
        Ok(ResidentQuery {
            name,
            birth_date,
            include_former,
            limit,
        })
    }
}

impl WindowPurpose {
    /// The purpose named by the query string (default `card_service`).
    fn from_query(raw: Option<&str>) -> Result<WindowPurpose, Problem> {
        let params = query(raw, &["purpose"])?;
        let Some(name) = params.get("purpose") else {
            return Ok(WindowPurpose::CardService);
        };
        WindowPurpose::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                Problem::invalid_field(
                    "purpose",
                    format!("one of {}", WindowPurpose::ALL.map(WindowPurpose::name).join(", ")),
                )
            })
    }
}

// ----------------------------------------------------------------- handlers

/// 業務一覧: the window's work list.
///
/// Applications in production and awaiting delivery, renewals due,
/// moved-out holders whose card may lapse, cards lapsed lately, in the
/// clerk's municipality. No My Number; no disclosure recorded.
#[utoipa::path(get, path = "/api/v1/window/worklist", tag = "window", operation_id = "window_worklist", security(("session" = [])),
    responses(
        (status = 200, description = "The work list of the clerk's municipality", body = WorklistView),
        WorklistProblems,
    ))]
pub async fn worklist(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
) -> Result<Json<WorklistView>, Problem> {
    let actor = clerk.actor();
    let list = state.run(move |a| a.window_worklist(&actor)).await?;
    Ok(Json(list.into()))
}

/// 住民検索: search residents.
///
/// Residents of the clerk's municipality by part of the name and/or the
/// birth date. No My Number; no disclosure recorded.
#[utoipa::path(get, path = "/api/v1/window/residents", tag = "window", operation_id = "window_search", security(("session" = [])),
    params(SearchParams),
    responses(
        (status = 200, description = "The residents found, by 振り仮名", body = ResidentList),
        SearchProblems,
    ))]
pub async fn search(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    RawQuery(raw): RawQuery,
) -> Result<Json<ResidentList>, Problem> {
    let q = SearchParams::parse(raw.as_deref())?;
    let actor = clerk.actor();
    let found = state.run(move |a| a.search_residents(&actor, &q)).await?;
    Ok(Json(ResidentList {
        residents: found.into_iter().map(Into::into).collect(),
    }))
}

/// 住民登録: register a resident.
///
/// The resident is registered in the clerk's municipality.
#[utoipa::path(post, path = "/api/v1/window/residents", tag = "window", operation_id = "window_register", security(("session" = [])),
    params(CommandHeaders),
    request_body = RegisterResident,
    responses(
        (status = 201, description = "Registered", body = Registered),
        CommandProblems,
    ))]
pub async fn register(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<RegisterResident>,
) -> Result<(StatusCode, Json<Registered>), Problem> {
    let Some(municipality) = clerk.municipality else {
        return Err(Problem::forbidden("the account has no municipality"));
    };
    let new = body.parse(municipality.to_string(), state.authority.clock().today())?;
    let actor = clerk.actor();
    let key = key.scoped(&clerk.key_scope());
    let resident_id = state.run(move |a| a.register_resident(&actor, &key, &new)).await?;
    Ok((StatusCode::CREATED, Json(Registered { resident_id })))
}

/// 個人番号による検索: find a resident by My Number.
///
/// The number is in the body, never in a URL; the purpose defaults to
/// `card_issuance`. Recorded in the disclosure log as a use of the My
/// Number. A number registered in another municipality is answered like an
/// unknown one. No Idempotency-Key: a lookup changes no record, and each
/// one is its own disclosure.
#[utoipa::path(post, path = "/api/v1/window/residents/lookup", tag = "window", operation_id = "window_lookup", security(("session" = [])),
    params(CsrfHeader),
    request_body = Lookup,
    responses(
        (status = 200, description = "The resident's record, as disclosed for the purpose", body = ResidentRecord),
        LookupProblems,
    ))]
pub async fn lookup(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    ApiJson(body): ApiJson<Lookup>,
) -> Result<Json<ResidentRecord>, Problem> {
    let number = my_number(&body.my_number)?;
    let purpose = body.purpose.unwrap_or(WindowPurpose::CardIssuance).name();
    let actor = clerk.actor();
    let view = state
        .run(move |a| a.find_resident_by_my_number(&actor, &number, purpose))
        .await?;
    Ok(Json(view.into()))
}

/// 住民票の記載事項: read a resident's record.
///
/// The record, cards and certificates, for a purpose (default
/// `card_service`); the reading is recorded in the disclosure log. The My
/// Number is shown only for the purposes the My Number Act allows.
#[utoipa::path(get, path = "/api/v1/window/residents/{id}", tag = "window", operation_id = "window_record", security(("session" = [])),
    params(("id" = i64, Path, description = "The resident's registry id", minimum = 1), RecordParams),
    responses(
        (status = 200, description = "The resident's record, as disclosed for the purpose", body = ResidentRecord),
        ReadProblems,
    ))]
pub async fn record(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ResidentRecord>, Problem> {
    let id = resident_id(&id)?;
    let purpose = WindowPurpose::from_query(raw.as_deref())?.name();
    let actor = clerk.actor();
    let view = state.run(move |a| a.resident_record(&actor, id, purpose)).await?;
    Ok(Json(view.into()))
}

/// 開示記録: the resident's disclosure log.
///
/// Who read the resident's record, when and why (this reading is recorded
/// too).
#[utoipa::path(get, path = "/api/v1/window/residents/{id}/disclosures", tag = "window", operation_id = "window_disclosures", security(("session" = [])),
    params(("id" = i64, Path, description = "The resident's registry id", minimum = 1)),
    responses(
        (status = 200, description = "The disclosure log, oldest first", body = DisclosureLog),
        ReadProblems,
    ))]
pub async fn disclosures(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    Path(id): Path<String>,
) -> Result<Json<DisclosureLog>, Problem> {
    let id = resident_id(&id)?;
    let actor = clerk.actor();
    let entries = state.run(move |a| a.disclosures_for(&actor, id)).await?;
    Ok(Json(DisclosureLog {
        disclosures: entries.into_iter().map(Into::into).collect(),
    }))
}

/// 監査記録: the resident's audit trail.
///
/// Every operation on the resident, their cards, certificates and
/// applications (this reading is recorded in the disclosure log).
#[utoipa::path(get, path = "/api/v1/window/residents/{id}/audit", tag = "window", operation_id = "window_audit", security(("session" = [])),
    params(("id" = i64, Path, description = "The resident's registry id", minimum = 1)),
    responses(
        (status = 200, description = "The audit entries, in chain order", body = AuditTrail),
        ReadProblems,
    ))]
pub async fn audit(
    State(state): State<Arc<AppState>>,
    WindowClerk(clerk): WindowClerk,
    Path(id): Path<String>,
) -> Result<Json<AuditTrail>, Problem> {
    let id = resident_id(&id)?;
    let actor = clerk.actor();
    let entries = state.run(move |a| a.audit_trail_for(&actor, id)).await?;
    Ok(Json(AuditTrail {
        entries: entries.into_iter().map(Into::into).collect(),
    }))
}
