//! Time in certificates: JPKI validity ends at 23:59:59 Japan time on the
//! last valid day (notAfter = 14:59:59Z), and RFC 5280 encodes years before
//! 2050 as UTCTime and from 2050 as GeneralizedTime.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use der::asn1::{GeneralizedTime, UtcTime};
use x509_cert::time::Time;

use crate::PkiError;

/// Japan's offset from UTC, in hours (no daylight saving time).
pub const JST_OFFSET_HOURS: i64 = 9;

/// 00:00:00 Japan time on `day`, in UTC.
pub fn start_of_day_jst(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN)) - chrono::TimeDelta::hours(JST_OFFSET_HOURS)
}

/// 23:59:59 Japan time on `day`, in UTC: the notAfter of something whose
/// last valid day is `day`.
pub fn end_of_day_jst(day: NaiveDate) -> DateTime<Utc> {
    start_of_day_jst(day) + chrono::TimeDelta::seconds(86_399)
}

/// The wall-clock time in Japan of an instant.
pub fn jst_datetime(at: DateTime<Utc>) -> chrono::NaiveDateTime {
    (at + chrono::TimeDelta::hours(JST_OFFSET_HOURS)).naive_utc()
}

/// The civil date in Japan of an instant.
pub fn jst_date(at: DateTime<Utc>) -> NaiveDate {
    jst_datetime(at).date()
}

/// An X.509 `Time`: UTCTime before 2050, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
pub fn x509_time(at: DateTime<Utc>) -> Result<Time, PkiError> {
    let secs = u64::try_from(at.timestamp()).map_err(|_| PkiError::Malformed {
        what: "time",
        why: "before 1970".into(),
    })?;
    let duration = std::time::Duration::from_secs(secs);
    let bad = |e: der::Error| PkiError::der("time", e);
    if at.year() < 2050 {
        Ok(Time::UtcTime(UtcTime::from_unix_duration(duration).map_err(bad)?))
    } else {
        Ok(Time::GeneralTime(
            GeneralizedTime::from_unix_duration(duration).map_err(bad)?,
        ))
    }
}

/// A GeneralizedTime (OCSP and CRL entry extensions always use it).
pub fn generalized_time(at: DateTime<Utc>) -> Result<GeneralizedTime, PkiError> {
    let secs = u64::try_from(at.timestamp()).map_err(|_| PkiError::Malformed {
        what: "time",
        why: "before 1970".into(),
    })?;
    GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs)).map_err(|e| PkiError::der("time", e))
}

/// The instant of an X.509 `Time`.
pub fn from_x509_time(time: &Time) -> DateTime<Utc> {
    let secs = time.to_unix_duration().as_secs();
    Utc.timestamp_opt(i64::try_from(secs).unwrap_or(i64::MAX), 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_valid_day_ends_at_1459_utc() {
        let day = NaiveDate::from_ymd_opt(2030, 2, 17).expect("date");
        assert_eq!(end_of_day_jst(day).to_rfc3339(), "2030-02-17T14:59:59+00:00");
        assert_eq!(start_of_day_jst(day).to_rfc3339(), "2030-02-16T15:00:00+00:00");
        assert_eq!(jst_date(end_of_day_jst(day)), day);
        assert_eq!(jst_date(start_of_day_jst(day)), day);
    }

    #[test]
    fn utc_time_before_2050_generalized_after() {
        let before = end_of_day_jst(NaiveDate::from_ymd_opt(2049, 12, 31).expect("date"));
        assert!(matches!(x509_time(before), Ok(Time::UtcTime(_))));
        let after = end_of_day_jst(NaiveDate::from_ymd_opt(2050, 1, 1).expect("date"));
        assert!(matches!(x509_time(after), Ok(Time::GeneralTime(_))));
        let t = x509_time(before).expect("time");
        assert_eq!(from_x509_time(&t), before);
    }
}
