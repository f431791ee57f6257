//! Read models of a municipal window (市区町村窓口) and of J-LIS's
//! production line: residents found by name or birth date, the window's
//! work list (applications in production and waiting for delivery, cards
//! and certificates due for renewal, move-outs whose card may lapse, cards
//! recently lapsed or expired), and the applications still to produce.
//!
//! Every query is bounded by the caller's `limit` and ordered so that the
//! rows kept are the ones that matter first. None of them reads a My
//! Number. Scoping by municipality is the residents' municipality of record
//! (`residents.municipality_code`), as for the authority's scope checks.
//!
//! The dates given are compared as they are (no date arithmetic in SQL, so
//! that the same statement means the same thing on both backends).

use chrono::NaiveDate;
use mynacard_rules::lapse::LapseReason;
use mynacard_rules::numbers::MunicipalityCode;

use super::{enum_column, opt_from_serde_name, ApplicationKind, CardStatus, CertKind, ResidentStatus};
use crate::db::{Row, Tx, Value};
use crate::error::{Result, StoreError};

// ------------------------------------------------------------ resident search

/// A name to look for: matches a resident whose 氏名 contains `name` or
/// whose 振り仮名 contains `kana`.
///
/// Both sides are compared without their spaces (half-width ` ` and
/// full-width `　`; the needles' own whitespace is removed here), ASCII
/// letters regardless of case; `%`, `_` and `\` in a needle are plain
/// characters. An empty needle (after removing its whitespace) matches
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameNeedle {
    /// Looked for in 氏名.
    pub name: String,
    /// Looked for in 氏名の振り仮名 (the caller folds hiragana to katakana).
    pub kana: String,
}

/// What [`search_residents`] looks for. At least one of `name` and
/// `birth_date` should be given (without either, every resident in scope
/// matches, up to `limit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentSearch {
    /// Residents of this municipality only; `None`: of any.
    pub municipality: Option<MunicipalityCode>,
    /// A name to look for.
    pub name: Option<NameNeedle>,
    /// 生年月日.
    pub birth_date: Option<NaiveDate>,
    /// Also residents moved out, deceased or abroad (otherwise status
    /// `resident` only).
    pub include_former: bool,
    /// At most this many rows.
    pub limit: i64,
}

/// A card as a search result shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardHit {
    /// The serial.
    pub serial: String,
    /// Where it stands.
    pub status: CardStatus,
    /// 有効期限.
    pub expires_on: NaiveDate,
    /// 顔認証マイナンバーカード.
    pub face_recognition: bool,
}

/// A resident found by [`search_residents`] (never the My Number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentHit {
    /// The registry's id.
    pub resident_id: i64,
    /// The municipality of record.
    pub municipality: MunicipalityCode,
    /// 氏名.
    pub name: String,
    /// 氏名の振り仮名.
    pub name_kana: String,
    /// 住所.
    pub address: String,
    /// 生年月日.
    pub birth_date: NaiveDate,
    /// Where the record stands.
    pub status: ResidentStatus,
    /// The card in use (active or suspended); else the card in production
    /// (produced, not delivered); else the latest card; none if the
    /// resident never had one.
    pub card: Option<CardHit>,
}

/// A column compared without its half- and full-width spaces, lower-cased.
fn spaceless(column: &str) -> String {
    format!("LOWER(REPLACE(REPLACE({column}, ' ', ''), '\u{3000}', ''))")
}

/// The `LIKE` pattern of "contains `needle`" (escape character `\`), its
/// whitespace removed and ASCII letters lower-cased; `None` if nothing is
/// left.
fn contains_pattern(needle: &str) -> Option<String> {
    let mut pattern = String::from("%");
    let mut any = false;
    for c in needle.chars().filter(|c| !c.is_whitespace()) {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c.to_ascii_lowercase());
        any = true;
    }
    pattern.push('%');
    any.then_some(pattern)
}

/// Binds `value` as the next parameter; answers its placeholder.
fn param(value: Value, params: &mut Vec<Value>) -> String {
    params.push(value);
    format!("?{}", params.len())
}

/// The card a search result shows: in use, else in production, else the
/// latest.
const CHOSEN_CARD: &str = "SELECT c2.serial FROM cards c2 WHERE c2.resident_id = r.id \
     ORDER BY CASE WHEN c2.status IN ('active', 'suspended') THEN 0 WHEN c2.status = 'produced' THEN 1 ELSE 2 END, \
     c2.issued_on DESC, c2.serial DESC LIMIT 1";

/// Residents matching `search`, by 振り仮名 then id (五十音順), at most
/// `search.limit`.
pub fn search_residents(tx: &mut Tx<'_>, search: &ResidentSearch) -> Result<Vec<ResidentHit>> {
    let mut conditions: Vec<String> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    if let Some(m) = search.municipality {
        let p = param(Value::Text(m.to_string()), &mut params);
        conditions.push(format!("r.municipality_code = {p}"));
    }
    if !search.include_former {
        conditions.push("r.status = 'resident'".into());
    }
    if let Some(born) = search.birth_date {
        let p = param(Value::Date(born), &mut params);
        conditions.push(format!("r.birth_date = {p}"));
    }
    if let Some(needle) = &search.name {
        let mut alternatives: Vec<String> = Vec::new();
        for (column, text) in [("r.name", &needle.name), ("r.name_kana", &needle.kana)] {
            if let Some(pattern) = contains_pattern(text) {
                let p = param(Value::Text(pattern), &mut params);
                alternatives.push(format!("{} LIKE {p} ESCAPE '\\'", spaceless(column)));
            }
        }
        if alternatives.is_empty() {
            return Ok(Vec::new());
        }
        conditions.push(format!("({})", alternatives.join(" OR ")));
    }
    let limit = param(Value::Int(search.limit.max(0)), &mut params);
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT r.id, r.municipality_code, r.name, r.name_kana, r.address, r.birth_date, r.status, \
         c.serial, c.status, c.expires_on, c.face_recognition \
         FROM residents r LEFT JOIN cards c ON c.serial = ({CHOSEN_CARD}) \
         {filter} ORDER BY r.name_kana, r.id LIMIT {limit}"
    );
    tx.query(&sql, &params)?.iter().map(resident_hit).collect()
}

fn resident_hit(row: &Row) -> Result<ResidentHit> {
    let municipality = row.text(1)?;
    let card = match row.opt_text(7)? {
        None => None,
        Some(serial) => Some(CardHit {
            serial,
            status: enum_column(row, 8, CardStatus::parse)?,
            expires_on: row.date(9)?,
            face_recognition: row.bool(10)?,
        }),
    };
    Ok(ResidentHit {
        resident_id: row.i64(0)?,
        municipality: MunicipalityCode::parse(&municipality)
            .map_err(|e| StoreError::Corrupt(format!("residents.municipality_code: {e}")))?,
        name: row.text(2)?,
        name_kana: row.text(3)?,
        address: row.text(4)?,
        birth_date: row.date(5)?,
        status: enum_column(row, 6, ResidentStatus::parse)?,
        card,
    })
}

// ---------------------------------------------------------------- applications

/// An application on a window's work list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRow {
    /// The application.
    pub application_id: i64,
    /// The applicant.
    pub resident_id: i64,
    /// The applicant's 氏名.
    pub name: String,
    /// New, renewal or reissue.
    pub kind: ApplicationKind,
    /// The day the municipality received it.
    pub received_on: NaiveDate,
    /// The card produced for it and waiting for delivery (awaiting delivery
    /// only).
    pub card_serial: Option<String>,
}

fn application_row(row: &Row) -> Result<ApplicationRow> {
    Ok(ApplicationRow {
        application_id: row.i64(0)?,
        resident_id: row.i64(1)?,
        name: row.text(2)?,
        kind: enum_column(row, 3, ApplicationKind::parse)?,
        received_on: row.date(4)?,
        card_serial: row.opt_text(5)?,
    })
}

/// 製造中: applications of the municipality's residents received (or in
/// production) whose card is not produced yet, oldest first, at most `limit`.
pub fn window_applications_in_production(
    tx: &mut Tx<'_>,
    municipality: MunicipalityCode,
    limit: i64,
) -> Result<Vec<ApplicationRow>> {
    tx.query(
        "SELECT a.id, a.resident_id, r.name, a.kind, a.received_on, NULL \
         FROM applications a JOIN residents r ON r.id = a.resident_id \
         WHERE r.municipality_code = ?1 AND a.status IN ('received', 'in_production') \
         ORDER BY a.received_on, a.id LIMIT ?2",
        &[Value::Text(municipality.to_string()), Value::Int(limit.max(0))],
    )?
    .iter()
    .map(application_row)
    .collect()
}

/// 交付待ち: applications of the municipality's residents whose card is
/// produced and waits at the window (application `produced`, card
/// `produced`), oldest application first, at most `limit`.
pub fn window_applications_awaiting_delivery(
    tx: &mut Tx<'_>,
    municipality: MunicipalityCode,
    limit: i64,
) -> Result<Vec<ApplicationRow>> {
    tx.query(
        "SELECT a.id, a.resident_id, r.name, a.kind, a.received_on, c.serial \
         FROM applications a JOIN residents r ON r.id = a.resident_id \
         JOIN cards c ON c.application_id = a.id AND c.status = 'produced' \
         WHERE r.municipality_code = ?1 AND a.status = 'produced' \
         ORDER BY a.received_on, a.id LIMIT ?2",
        &[Value::Text(municipality.to_string()), Value::Int(limit.max(0))],
    )?
    .iter()
    .map(application_row)
    .collect()
}

/// The ids of the applications J-LIS can produce now — received, of a
/// resident whose record is `resident` — oldest first (by the day received,
/// then id), at most `limit`. Applications of residents who moved out, died
/// or left meanwhile are left out: production would refuse them.
pub fn applications_to_produce(tx: &mut Tx<'_>, limit: i64) -> Result<Vec<i64>> {
    tx.query(
        "SELECT a.id FROM applications a JOIN residents r ON r.id = a.resident_id \
         WHERE a.status = 'received' AND r.status = 'resident' ORDER BY a.received_on, a.id LIMIT ?1",
        &[Value::Int(limit.max(0))],
    )?
    .iter()
    .map(|row| row.i64(0))
    .collect()
}

// -------------------------------------------------------------------- renewals

/// A card in use, or a certificate on one, expiring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringRow {
    /// The holder.
    pub resident_id: i64,
    /// The holder's 氏名.
    pub name: String,
    /// The card (the certificate's card, for a certificate).
    pub card_serial: String,
    /// The certificate's serial and kind; `None` for the card itself.
    pub certificate: Option<(String, CertKind)>,
    /// The card's 有効期限, or the certificate's last valid day.
    pub expires_on: NaiveDate,
}

/// Cards in use (active or suspended) of the municipality's residents whose
/// 有効期限 falls in `from..=through`, soonest first (then by serial), at
/// most `limit`.
pub fn window_cards_expiring(
    tx: &mut Tx<'_>,
    municipality: MunicipalityCode,
    from: NaiveDate,
    through: NaiveDate,
    limit: i64,
) -> Result<Vec<ExpiringRow>> {
    tx.query(
        "SELECT r.id, r.name, c.serial, c.expires_on FROM cards c JOIN residents r ON r.id = c.resident_id \
         WHERE r.municipality_code = ?1 AND c.status IN ('active', 'suspended') \
         AND c.expires_on >= ?2 AND c.expires_on <= ?3 ORDER BY c.expires_on, c.serial LIMIT ?4",
        &[
            Value::Text(municipality.to_string()),
            Value::Date(from),
            Value::Date(through),
            Value::Int(limit.max(0)),
        ],
    )?
    .iter()
    .map(|row| {
        Ok(ExpiringRow {
            resident_id: row.i64(0)?,
            name: row.text(1)?,
            card_serial: row.text(2)?,
            certificate: None,
            expires_on: row.date(3)?,
        })
    })
    .collect()
}

/// Card certificates (auth, sign; good or held) on cards in use of the
/// municipality's residents whose last valid day falls in `from..=through`,
/// soonest first (then by serial), at most `limit` — except those that
/// expire with the card or after it (not before the card's 有効期限): they
/// are renewed with the card, not on it.
pub fn window_certificates_expiring(
    tx: &mut Tx<'_>,
    municipality: MunicipalityCode,
    from: NaiveDate,
    through: NaiveDate,
    limit: i64,
) -> Result<Vec<ExpiringRow>> {
    tx.query(
        "SELECT r.id, r.name, c.serial, x.serial, x.kind, x.not_after \
         FROM certificates x JOIN cards c ON c.serial = x.card_serial JOIN residents r ON r.id = c.resident_id \
         WHERE r.municipality_code = ?1 AND c.status IN ('active', 'suspended') \
         AND x.status IN ('good', 'hold') AND x.kind IN ('auth', 'sign') AND x.not_after < c.expires_on \
         AND x.not_after >= ?2 AND x.not_after <= ?3 ORDER BY x.not_after, x.serial LIMIT ?4",
        &[
            Value::Text(municipality.to_string()),
            Value::Date(from),
            Value::Date(through),
            Value::Int(limit.max(0)),
        ],
    )?
    .iter()
    .map(|row| {
        Ok(ExpiringRow {
            resident_id: row.i64(0)?,
            name: row.text(1)?,
            card_serial: row.text(2)?,
            certificate: Some((row.text(3)?, enum_column(row, 4, CertKind::parse)?)),
            expires_on: row.date(5)?,
        })
    })
    .collect()
}

// ---------------------------------------------------------------------- lapses

/// A resident who moved out (転出, not yet moved in anywhere) holding a card
/// still in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedOutHolder {
    /// The resident.
    pub resident_id: i64,
    /// The card in use.
    pub card_serial: String,
}

/// Residents of the municipality (of record) with status `moved_out` whose
/// card is still in use (active or suspended), by planned move-out date
/// (転出予定日) then id, at most `limit`.
pub fn window_moved_out_holders(
    tx: &mut Tx<'_>,
    municipality: MunicipalityCode,
    limit: i64,
) -> Result<Vec<MovedOutHolder>> {
    tx.query(
        "SELECT r.id, c.serial FROM residents r \
         JOIN cards c ON c.resident_id = r.id AND c.status IN ('active', 'suspended') \
         WHERE r.municipality_code = ?1 AND r.status = 'moved_out' \
         ORDER BY r.planned_move_out_on, r.id LIMIT ?2",
        &[Value::Text(municipality.to_string()), Value::Int(limit.max(0))],
    )?
    .iter()
    .map(|row| {
        Ok(MovedOutHolder {
            resident_id: row.i64(0)?,
            card_serial: row.text(1)?,
        })
    })
    .collect()
}

/// A card out of use: lapsed or expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedCard {
    /// The holder.
    pub resident_id: i64,
    /// The holder's 氏名.
    pub name: String,
    /// The card.
    pub card_serial: String,
    /// `lapsed` or `expired`.
    pub status: CardStatus,
    /// 有効期限.
    pub expires_on: NaiveDate,
    /// 失効日 (lapsed cards).
    pub lapsed_on: Option<NaiveDate>,
    /// Why it lapsed (lapsed cards).
    pub lapse_reason: Option<LapseReason>,
}

const ENDED_COLUMNS: &str = "r.id, r.name, c.serial, c.status, c.expires_on, c.lapsed_on, c.lapse_reason";

fn ended_card(row: &Row) -> Result<EndedCard> {
    Ok(EndedCard {
        resident_id: row.i64(0)?,
        name: row.text(1)?,
        card_serial: row.text(2)?,
        status: enum_column(row, 3, CardStatus::parse)?,
        expires_on: row.date(4)?,
        lapsed_on: row.opt_date(5)?,
        lapse_reason: opt_from_serde_name(row, 6)?,
    })
}

/// Cards of the municipality's residents lapsed (失効) with a 失効日 in
/// `from..=through`, latest first (then by serial), at most `limit`.
pub fn window_cards_lapsed(
    tx: &mut Tx<'_>,
    municipality: MunicipalityCode,
    from: NaiveDate,
    through: NaiveDate,
    limit: i64,
) -> Result<Vec<EndedCard>> {
    tx.query(
        &format!(
            "SELECT {ENDED_COLUMNS} FROM cards c JOIN residents r ON r.id = c.resident_id \
             WHERE r.municipality_code = ?1 AND c.status = 'lapsed' \
             AND c.lapsed_on >= ?2 AND c.lapsed_on <= ?3 ORDER BY c.lapsed_on DESC, c.serial LIMIT ?4"
        ),
        &[
            Value::Text(municipality.to_string()),
            Value::Date(from),
            Value::Date(through),
            Value::Int(limit.max(0)),
        ],
    )?
    .iter()
    .map(ended_card)
    .collect()
}

/// Cards of the municipality's residents expired (status `expired`) with a
/// 有効期限 in `from..=through`, latest first (then by serial), at most
/// `limit`.
pub fn window_cards_expired(
    tx: &mut Tx<'_>,
    municipality: MunicipalityCode,
    from: NaiveDate,
    through: NaiveDate,
    limit: i64,
) -> Result<Vec<EndedCard>> {
    tx.query(
        &format!(
            "SELECT {ENDED_COLUMNS} FROM cards c JOIN residents r ON r.id = c.resident_id \
             WHERE r.municipality_code = ?1 AND c.status = 'expired' \
             AND c.expires_on >= ?2 AND c.expires_on <= ?3 ORDER BY c.expires_on DESC, c.serial LIMIT ?4"
        ),
        &[
            Value::Text(municipality.to_string()),
            Value::Date(from),
            Value::Date(through),
            Value::Int(limit.max(0)),
        ],
    )?
    .iter()
    .map(ended_card)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn patterns_escape_wildcards_and_drop_whitespace() {
        assert_eq!(contains_pattern("番号　花子").as_deref(), Some("%番号花子%"));
        assert_eq!(contains_pattern(" Smith ").as_deref(), Some("%smith%"));
        assert_eq!(contains_pattern("50%_a\\b").as_deref(), Some("%50\\%\\_a\\\\b%"));
        assert_eq!(contains_pattern(" \u{3000} "), None);
    }
}
