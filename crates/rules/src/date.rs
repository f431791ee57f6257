//! Civil dates, birthdays and ages (rules.md §1).
//!
//! Every rule of the card counts in whole civil days in Japan (Asia/Tokyo);
//! there are no time zones inside the rules. Two different questions are
//! asked of a birth date and they must not be confused:
//!
//! - *which day is the holder's birthday in year Y* — used for expiries
//!   ("the 10th birthday after issuance"); for a 29 February birth in a
//!   common year this is a matter of policy ([`Feb29Policy`]);
//! - *how old is the holder on day D* — fixed by statute (年齢計算ニ関スル法律
//!   and Civil 143), no policy: the age increases at the end of the day
//!   before the anniversary, and for a 29 February birth in a common year at
//!   the end of 28 February.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::RuleError;

/// The birthday of a person born on 29 February in a common year
/// (rules.md §1, policy `feb29`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feb29Policy {
    /// 28 February (default): the day on which the legal age increases at its end.
    #[default]
    Feb28,
    /// 1 March.
    Mar1,
}

/// Builds a date the caller knows to exist.
///
/// Only for literals and for days 1–28 of a month, which exist in every year
/// chrono can represent.
pub(crate) fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    // Invariant: callers pass a literal date or a day ≤ 28 of a valid month.
    NaiveDate::from_ymd_opt(year, month, day).expect("a date that exists in every year")
}

/// The holder's birthday (誕生日) in `year`, with `policy` for 29 February.
pub fn birthday_in(birth: NaiveDate, year: i32, policy: Feb29Policy) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, birth.month(), birth.day()).unwrap_or_else(|| match policy {
        Feb29Policy::Feb28 => ymd(year, 2, 28),
        Feb29Policy::Mar1 => ymd(year, 3, 1),
    })
}

/// The `n`th birthday strictly after `date` (発行の日後のN回目の誕生日):
/// a birthday falling on `date` itself does not count.
///
/// `n` must be at least 1; `date` must not be before `birth`.
pub fn nth_birthday_after(birth: NaiveDate, date: NaiveDate, n: u32, policy: Feb29Policy) -> NaiveDate {
    debug_assert!(n >= 1, "the 0th birthday after a date is not defined");
    debug_assert!(date >= birth, "a date before birth has no birthdays before it");
    let this_year = birthday_in(birth, date.year(), policy);
    let first_year = if this_year > date { date.year() } else { date.year() + 1 };
    // n ≤ 10 in every rule; the year stays far inside chrono's range.
    birthday_in(birth, first_year + n.saturating_sub(1) as i32, policy)
}

/// The day in `year` on which the holder is one year older (the legal
/// anniversary): for a 29 February birth in a common year, 1 March, because
/// the age increases at the end of 28 February (Civil 143).
fn age_anniversary_in(birth: NaiveDate, year: i32) -> NaiveDate {
    birthday_in(birth, year, Feb29Policy::Mar1)
}

/// The holder's age (年齢) on `on`, by 年齢計算ニ関スル法律: a person is N on
/// the Nth birthday (and a 29 February child is N on 1 March of a common year).
///
/// Errors if `on` is before the birth.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> Result<u32, RuleError> {
    if on < birth {
        return Err(RuleError::BeforeBirth { birth, date: on });
    }
    let mut age = on.year() - birth.year();
    if on < age_anniversary_in(birth, on.year()) {
        age -= 1;
    }
    // on ≥ birth, so age ≥ 0.
    Ok(age.max(0) as u32)
}

/// The day `months` months before `date`, clamped to the last day of the
/// month when that month is shorter (2026-05-31 − 3 months = 2026-02-28).
pub fn months_before_clamped(date: NaiveDate, months: u32) -> NaiveDate {
    // chrono clamps to the month's last day; it fails only below its year range.
    date.checked_sub_months(Months::new(months)).unwrap_or(NaiveDate::MIN)
}

/// The day `months` months before `date`; when that month lacks the day,
/// the first day of the following month (2026-05-31 − 3 months = 2026-03-01).
pub fn months_before_rolled_forward(date: NaiveDate, months: u32) -> NaiveDate {
    let clamped = months_before_clamped(date, months);
    if clamped.day() == date.day() {
        clamped
    } else {
        clamped.succ_opt().unwrap_or(clamped)
    }
}

/// The day after `date` (saturating at the end of chrono's range).
pub fn next_day(date: NaiveDate) -> NaiveDate {
    date.succ_opt().unwrap_or(date)
}

/// `date` plus `days` days (saturating).
pub fn add_days(date: NaiveDate, days: u32) -> NaiveDate {
    date.checked_add_days(chrono::Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MAX)
}

/// Parses a civil date written `YYYY-MM-DD`, with a message that says what
/// is wrong ("2026-02-30: February 2026 has 28 days").
pub fn parse_date(text: &str) -> Result<NaiveDate, RuleError> {
    let bad = |why: &str| RuleError::BadDate {
        input: text.to_owned(),
        why: why.to_owned(),
    };
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shape_ok {
        return Err(bad("expected a date written YYYY-MM-DD"));
    }
    let number =
        |range: std::ops::Range<usize>| -> u32 { text[range].bytes().fold(0, |acc, b| acc * 10 + u32::from(b - b'0')) };
    let (year, month, day) = (number(0..4) as i32, number(5..7), number(8..10));
    if year < 1800 {
        return Err(bad("years before 1800 are not supported"));
    }
    if !(1..=12).contains(&month) {
        return Err(bad("the month must be 01 to 12"));
    }
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| {
        let last = days_in_month(year, month);
        bad(&format!("{year}-{month:02} has {last} days"))
    })
}

/// Number of days in a month of the proleptic Gregorian calendar.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    let first = ymd(year, month, 1);
    let next = first.checked_add_months(Months::new(1)).unwrap_or(NaiveDate::MAX);
    (next - first).num_days() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).expect("test date")
    }

    #[test]
    fn nth_birthday_counts_strictly_after_the_date() {
        // rules.md §1: birthday 10-10, issued 2020-05-15.
        let birth = d("1990-10-10");
        assert_eq!(
            nth_birthday_after(birth, d("2020-05-15"), 5, Feb29Policy::Feb28),
            d("2024-10-10")
        );
        assert_eq!(
            nth_birthday_after(birth, d("2020-05-15"), 10, Feb29Policy::Feb28),
            d("2029-10-10")
        );
        // A birthday on the date itself does not count.
        assert_eq!(
            nth_birthday_after(birth, d("2020-10-10"), 1, Feb29Policy::Feb28),
            d("2021-10-10")
        );
        assert_eq!(
            nth_birthday_after(birth, d("2020-10-09"), 1, Feb29Policy::Feb28),
            d("2020-10-10")
        );
    }

    #[test]
    fn feb29_policy_moves_the_birthday_in_common_years_only() {
        // rules.md §1: born 2004-02-29, issued 2025-04-01 → 10th birthday after = 2035-02-28.
        let birth = d("2004-02-29");
        assert_eq!(
            nth_birthday_after(birth, d("2025-04-01"), 10, Feb29Policy::Feb28),
            d("2035-02-28")
        );
        assert_eq!(
            nth_birthday_after(birth, d("2025-04-01"), 10, Feb29Policy::Mar1),
            d("2035-03-01")
        );
        // 2036 is a leap year: the real birthday.
        assert_eq!(
            nth_birthday_after(birth, d("2026-04-01"), 10, Feb29Policy::Feb28),
            d("2036-02-29")
        );
        // Issued on 28 Feb of a common year: under feb28 that day is the birthday and does not count.
        assert_eq!(
            nth_birthday_after(birth, d("2025-02-28"), 1, Feb29Policy::Feb28),
            d("2026-02-28")
        );
        assert_eq!(
            nth_birthday_after(birth, d("2025-02-28"), 1, Feb29Policy::Mar1),
            d("2025-03-01")
        );
    }

    #[test]
    fn age_increases_on_the_birthday_and_on_1_march_for_leap_day_births() {
        let birth = d("2008-05-01");
        assert_eq!(age_on(birth, d("2026-04-30")).ok(), Some(17));
        assert_eq!(age_on(birth, d("2026-05-01")).ok(), Some(18));
        let leap = d("2004-02-29");
        assert_eq!(age_on(leap, d("2022-02-28")).ok(), Some(17));
        assert_eq!(age_on(leap, d("2022-03-01")).ok(), Some(18));
        assert_eq!(age_on(leap, d("2024-02-28")).ok(), Some(19));
        assert_eq!(age_on(leap, d("2024-02-29")).ok(), Some(20));
        assert_eq!(age_on(leap, leap).ok(), Some(0));
        assert!(age_on(leap, d("2004-02-28")).is_err());
    }

    #[test]
    fn three_months_before_a_month_end() {
        assert_eq!(months_before_clamped(d("2026-05-31"), 3), d("2026-02-28"));
        assert_eq!(months_before_rolled_forward(d("2026-05-31"), 3), d("2026-03-01"));
        assert_eq!(months_before_clamped(d("2028-05-31"), 3), d("2028-02-29"));
        assert_eq!(months_before_rolled_forward(d("2026-06-15"), 3), d("2026-03-15"));
    }

    #[test]
    fn parse_date_says_what_is_wrong() {
        assert_eq!(d("2024-02-29"), ymd(2024, 2, 29));
        let msg = parse_date("2026-02-30").expect_err("no such day").to_string();
        assert!(msg.contains("2026-02 has 28 days"), "{msg}");
        assert!(parse_date("2026-13-01")
            .expect_err("month")
            .to_string()
            .contains("month"));
        assert!(parse_date("2026-1-01").is_err());
        assert!(parse_date("26-01-01").is_err());
        assert!(parse_date("２０２６-01-01").is_err());
        assert!(parse_date("").is_err());
        assert!(parse_date("1799-12-31").is_err());
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
    }
}
