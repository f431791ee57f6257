//! The server's clock: the system clock, or a clock fixed at a date
//! (`--today`), and in demo mode one that a page can move forward.
//!
//! The authority takes any [`Clock`]; this one adds the moves a demo needs
//! without letting production code move time: only the demo routes call
//! [`ServerClock::advance_days`], and they exist only with `--demo`.

use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use mynacard_authority::clock::office_hours;
use mynacard_authority::Clock;

/// The system clock shifted by an offset, or a fixed instant.
#[derive(Debug)]
pub struct ServerClock {
    mode: Mutex<Mode>,
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// The system time plus an offset (zero unless a demo moved it).
    Running(TimeDelta),
    /// Stands at an instant.
    Fixed(DateTime<Utc>),
}

impl ServerClock {
    /// The system clock.
    pub fn system() -> ServerClock {
        ServerClock {
            mode: Mutex::new(Mode::Running(TimeDelta::zero())),
        }
    }

    /// Fixed at 10:00 JST on `day`.
    pub fn fixed_on(day: NaiveDate) -> ServerClock {
        ServerClock {
            mode: Mutex::new(Mode::Fixed(office_hours(day))),
        }
    }

    /// Whether the clock stands still.
    pub fn is_fixed(&self) -> bool {
        matches!(*self.lock(), Mode::Fixed(_))
    }

    /// Whether the clock differs from the system clock (fixed or moved).
    pub fn is_simulated(&self) -> bool {
        !matches!(*self.lock(), Mode::Running(offset) if offset.is_zero())
    }

    /// Moves to 10:00 JST on `day` (a fixed clock stays fixed; a running
    /// one keeps running from there).
    pub fn set_day(&self, day: NaiveDate) {
        let mut mode = self.lock();
        *mode = match *mode {
            Mode::Fixed(_) => Mode::Fixed(office_hours(day)),
            Mode::Running(_) => Mode::Running(office_hours(day) - Utc::now()),
        };
    }

    /// Moves on by `days` (demo).
    pub fn advance_days(&self, days: i64) {
        let by = TimeDelta::days(days);
        let mut mode = self.lock();
        *mode = match *mode {
            Mode::Fixed(at) => Mode::Fixed(at + by),
            Mode::Running(offset) => Mode::Running(offset + by),
        };
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Mode> {
        self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ServerClock {
    fn now(&self) -> DateTime<Utc> {
        match *self.lock() {
            Mode::Running(offset) => Utc::now() + offset,
            Mode::Fixed(at) => at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 29).expect("date");
        let clock = ServerClock::fixed_on(day);
        assert_eq!(clock.today(), day);
        assert!(clock.is_fixed() && clock.is_simulated());
        clock.advance_days(3);
        assert_eq!(clock.today(), NaiveDate::from_ymd_opt(2026, 12, 2).expect("date"));
    }

    #[test]
    fn a_running_clock_can_be_set_to_another_day_and_keeps_running() {
        let clock = ServerClock::system();
        assert!(!clock.is_simulated());
        let day = NaiveDate::from_ymd_opt(2017, 1, 10).expect("date");
        clock.set_day(day);
        assert_eq!(clock.today(), day);
        assert!(!clock.is_fixed() && clock.is_simulated());
        let before = clock.now();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(clock.now() > before);
    }
}
