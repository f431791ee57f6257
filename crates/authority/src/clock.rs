//! The clock, injected everywhere: nothing in the authority reads the
//! system time directly, so the whole system can run at any date (tests,
//! the simulation, demos). `MYNACARD_TODAY=YYYY-MM-DD` fixes it.

use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    /// The instant.
    fn now(&self) -> DateTime<Utc>;

    /// Today in Japan (UTC+9): the day every rule is asked about.
    fn today(&self) -> NaiveDate {
        mynacard_pki::time::jst_date(self.now())
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved: tests, simulation, demos.
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    /// Stands at `at`.
    pub fn at(at: DateTime<Utc>) -> FixedClock {
        FixedClock(Mutex::new(at))
    }

    /// Stands at 10:00 in Japan on `day` (01:00 UTC): office hours.
    pub fn on(day: NaiveDate) -> FixedClock {
        FixedClock::at(office_hours(day))
    }

    /// Moves to 10:00 in Japan on `day`.
    pub fn set_day(&self, day: NaiveDate) {
        self.set(office_hours(day));
    }

    /// Moves to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    /// Moves on by `by`.
    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// 10:00 JST on `day`.
pub fn office_hours(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(1, 0, 0).unwrap_or_default().and_utc()
}

/// The clock the environment asks for: `MYNACARD_TODAY=YYYY-MM-DD` fixes
/// it at 10:00 JST that day; otherwise the system clock.
pub fn from_env() -> Result<Box<dyn Clock>, mynacard_rules::RuleError> {
    match std::env::var("MYNACARD_TODAY") {
        Ok(text) if !text.is_empty() => Ok(Box::new(FixedClock::on(mynacard_rules::date::parse_date(&text)?))),
        _ => Ok(Box::new(SystemClock)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_is_in_japan_office_hours() {
        let day = NaiveDate::from_ymd_opt(2026, 4, 1).expect("date");
        let clock = FixedClock::on(day);
        assert_eq!(clock.today(), day);
        clock.advance(TimeDelta::hours(14));
        assert_eq!(clock.today(), day.succ_opt().expect("next"));
    }
}
