//! Values bound to statements and rows read back, the same on both backends.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SubsecRound, Utc};

use crate::error::{Result, StoreError};

/// A value bound to a `?N` placeholder or read from a column.
///
/// On SQLite a [`Value::Date`] is stored as `YYYY-MM-DD` text, a
/// [`Value::Timestamp`] as [`format_timestamp`] text (fixed width, so text
/// order is time order) and a [`Value::Bool`] as 0 or 1; on PostgreSQL they
/// bind to `DATE`, `TIMESTAMPTZ` and `BOOLEAN` (and text binds to `JSONB`,
/// `DATE` and `TIMESTAMPTZ` parameters too). Timestamps keep microseconds,
/// PostgreSQL's precision, on both.
#[derive(Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A 64-bit integer.
    Int(i64),
    /// UTF-8 text (JSON columns are read as their text).
    Text(String),
    /// Bytes (`BLOB`, `BYTEA`).
    Bytes(Vec<u8>),
    /// A boolean.
    Bool(bool),
    /// A civil date.
    Date(NaiveDate),
    /// An instant, in UTC.
    Timestamp(DateTime<Utc>),
}

impl Value {
    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Int(_) => "integer",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::Bool(_) => "boolean",
            Value::Date(_) => "date",
            Value::Timestamp(_) => "timestamp",
        }
    }
}

/// `Debug` never shows a text of exactly twelve digits: it may be a
/// My Number (個人番号) on its way into the registry.
impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Text(s) if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) => {
                f.write_str("Text(<12 digits redacted>)")
            }
            Value::Text(s) => write!(f, "Text({s:?})"),
            Value::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Date(d) => write!(f, "Date({d})"),
            Value::Timestamp(t) => write!(f, "Timestamp({})", format_timestamp(t)),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

impl From<NaiveDate> for Value {
    fn from(v: NaiveDate) -> Value {
        Value::Date(v)
    }
}

impl From<DateTime<Utc>> for Value {
    fn from(v: DateTime<Utc>) -> Value {
        Value::Timestamp(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Bytes(v)
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Value {
        Value::Bytes(v.to_vec())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// An instant cut to whole microseconds: what both backends keep.
pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// The one text form of an instant: RFC 3339 in UTC with exactly six
/// fractional digits and `Z`, e.g. `2026-04-01T00:30:00.000000Z` (27
/// characters). SQLite stores timestamps so; the audit hash encodes them so.
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Parses an instant written by [`format_timestamp`], any RFC 3339 text,
/// or SQLite's `YYYY-MM-DD HH:MM:SS[.fff]` (taken as UTC).
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// One row of a query's result: the values in select-list order.
///
/// The getters accept either backend's representation of a type (SQLite's
/// text dates and 0/1 booleans, PostgreSQL's `DATE` and `BOOLEAN`) and answer
/// [`StoreError::Corrupt`] when a column holds something else.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    pub(crate) fn new(columns: Arc<[String]>, values: Vec<Value>) -> Row {
        Row { columns, values }
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The index of the column called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The raw value of column `i`.
    pub fn value(&self, i: usize) -> Result<&Value> {
        self.values
            .get(i)
            .ok_or_else(|| StoreError::Corrupt(format!("the row has no column {i}")))
    }

    fn wrong(&self, i: usize, expected: &str, found: &Value) -> StoreError {
        let name = self.columns.get(i).map(String::as_str).unwrap_or("?");
        StoreError::Corrupt(format!(
            "column {i} ({name}): expected {expected}, found {}",
            found.kind()
        ))
    }

    /// Whether column `i` is NULL.
    pub fn is_null(&self, i: usize) -> Result<bool> {
        Ok(matches!(self.value(i)?, Value::Null))
    }

    /// An integer (a boolean reads as 0 or 1).
    pub fn i64(&self, i: usize) -> Result<i64> {
        self.opt_i64(i)?.ok_or_else(|| self.wrong(i, "integer", &Value::Null))
    }

    /// An integer or NULL.
    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        match self.value(i)? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(*v)),
            Value::Bool(b) => Ok(Some(i64::from(*b))),
            other => Err(self.wrong(i, "integer", other)),
        }
    }

    /// Text (a JSON column reads as its text).
    pub fn text(&self, i: usize) -> Result<String> {
        self.opt_text(i)?.ok_or_else(|| self.wrong(i, "text", &Value::Null))
    }

    /// Text or NULL.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>> {
        match self.value(i)? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s.clone())),
            other => Err(self.wrong(i, "text", other)),
        }
    }

    /// A date (`DATE`, or `YYYY-MM-DD` text).
    pub fn date(&self, i: usize) -> Result<NaiveDate> {
        self.opt_date(i)?.ok_or_else(|| self.wrong(i, "date", &Value::Null))
    }

    /// A date or NULL.
    pub fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>> {
        match self.value(i)? {
            Value::Null => Ok(None),
            Value::Date(d) => Ok(Some(*d)),
            Value::Text(s) => parse_date(s)
                .map(Some)
                .ok_or_else(|| self.wrong(i, "a YYYY-MM-DD date", &Value::Text(String::new()))),
            other => Err(self.wrong(i, "date", other)),
        }
    }

    /// An instant (`TIMESTAMPTZ`, or RFC 3339 text).
    pub fn timestamp(&self, i: usize) -> Result<DateTime<Utc>> {
        self.opt_timestamp(i)?
            .ok_or_else(|| self.wrong(i, "timestamp", &Value::Null))
    }

    /// An instant or NULL.
    pub fn opt_timestamp(&self, i: usize) -> Result<Option<DateTime<Utc>>> {
        match self.value(i)? {
            Value::Null => Ok(None),
            Value::Timestamp(t) => Ok(Some(*t)),
            Value::Text(s) => parse_timestamp(s)
                .map(Some)
                .ok_or_else(|| self.wrong(i, "an RFC 3339 timestamp", &Value::Text(String::new()))),
            other => Err(self.wrong(i, "timestamp", other)),
        }
    }

    /// A boolean (`BOOLEAN`, or the integers 0 and 1).
    pub fn bool(&self, i: usize) -> Result<bool> {
        match self.value(i)? {
            Value::Bool(b) => Ok(*b),
            Value::Int(0) => Ok(false),
            Value::Int(1) => Ok(true),
            other => Err(self.wrong(i, "boolean", other)),
        }
    }

    /// Bytes.
    pub fn bytes(&self, i: usize) -> Result<Vec<u8>> {
        self.opt_bytes(i)?.ok_or_else(|| self.wrong(i, "bytes", &Value::Null))
    }

    /// Bytes or NULL.
    pub fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>> {
        match self.value(i)? {
            Value::Null => Ok(None),
            Value::Bytes(b) => Ok(Some(b.clone())),
            other => Err(self.wrong(i, "bytes", other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: Vec<Value>) -> Row {
        let columns: Arc<[String]> = (0..values.len()).map(|i| format!("c{i}")).collect();
        Row::new(columns, values)
    }

    #[test]
    fn getters_accept_both_representations() {
        let d = NaiveDate::from_ymd_opt(2026, 4, 1).expect("date");
        let t = DateTime::parse_from_rfc3339("2026-04-01T00:30:00.123456Z")
            .expect("time")
            .with_timezone(&Utc);
        let r = row(vec![
            Value::Text("2026-04-01".into()),
            Value::Date(d),
            Value::Text("2026-04-01T00:30:00.123456Z".into()),
            Value::Timestamp(t),
            Value::Int(1),
            Value::Bool(false),
            Value::Null,
        ]);
        assert_eq!(r.date(0), Ok(d));
        assert_eq!(r.date(1), Ok(d));
        assert_eq!(r.timestamp(2), Ok(t));
        assert_eq!(r.timestamp(3), Ok(t));
        assert_eq!(r.bool(4), Ok(true));
        assert_eq!(r.bool(5), Ok(false));
        assert_eq!(r.opt_date(6), Ok(None));
        assert_eq!(r.text(4).map_err(|e| e.code()), Err("corrupt"));
        assert_eq!(r.i64(6).map_err(|e| e.code()), Err("corrupt"));
        assert_eq!(r.value(7).map_err(|e| e.code()), Err("corrupt"));
    }

    #[test]
    fn timestamps_have_one_fixed_width_form() {
        let t = DateTime::parse_from_rfc3339("2026-04-01T09:30:00.5+09:00")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(format_timestamp(&t), "2026-04-01T00:30:00.500000Z");
        assert_eq!(parse_timestamp("2026-04-01 00:30:00.5"), Some(t));
        let precise = DateTime::from_timestamp(1_775_000_000, 123_456_789).expect("time");
        assert_eq!(truncate_to_micros(precise).timestamp_subsec_nanos(), 123_456_000);
    }

    #[test]
    fn debug_hides_twelve_digits() {
        assert_eq!(
            format!("{:?}", Value::Text("123456789018".into())),
            "Text(<12 digits redacted>)"
        );
        assert_eq!(format!("{:?}", Value::Text("abc".into())), "Text(\"abc\")");
    }
}
