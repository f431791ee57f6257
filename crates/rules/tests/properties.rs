//! Properties of the rules engine over many generated cases (proptest), and
//! exhaustive counts of the single-digit errors that the check digits miss.
//!
//! The expected values are computed by small reference implementations in
//! this file, written from rules.md, never by the engine's own helpers.

use chrono::{Datelike, TimeDelta};
use mynacard_rules::card::{card_validity, AgeRegime, CardIssuance, ExpiryBasis, Residence};
use mynacard_rules::certificate::{certificate_validity, CertificateIssuance};
use mynacard_rules::date::{age_on, months_before_clamped};
use mynacard_rules::lapse::{assess_lapse, CardEvent, CardFacts, LapseAssessment, LapseReason, RemovalCause};
use mynacard_rules::numbers::{municipality_check_digit, my_number_check_digit};
use mynacard_rules::numbers::{MunicipalityCode, MyNumber};
use mynacard_rules::renewal::renewal_window;
use mynacard_rules::{AgeTestDate, Feb29Policy, NaiveDate, Policies};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Reference helpers (from rules.md, independent of the engine)
// ---------------------------------------------------------------------------

fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day)
        .unwrap_or_else(|| panic!("{year}-{month}-{day} is a date the test means to exist"))
}

fn plus(date: NaiveDate, days: i64) -> NaiveDate {
    date.checked_add_signed(TimeDelta::days(days))
        .unwrap_or_else(|| panic!("{date} + {days} days stays inside chrono's range"))
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

fn born_on_leap_day(birth: NaiveDate) -> bool {
    (birth.month(), birth.day()) == (2, 29)
}

/// The birthday in `year` (§1, policy `feb29`).
fn ref_birthday(birth: NaiveDate, year: i32, feb29: Feb29Policy) -> NaiveDate {
    if born_on_leap_day(birth) && !is_leap(year) {
        match feb29 {
            Feb29Policy::Feb28 => day(year, 2, 28),
            Feb29Policy::Mar1 => day(year, 3, 1),
        }
    } else {
        day(year, birth.month(), birth.day())
    }
}

/// The `n`th birthday strictly after `date`, by walking the years.
fn ref_nth_birthday_after(birth: NaiveDate, date: NaiveDate, n: u32, feb29: Feb29Policy) -> NaiveDate {
    let mut seen = 0;
    let mut year = date.year();
    loop {
        let b = ref_birthday(birth, year, feb29);
        if b > date {
            seen += 1;
            if seen == n {
                return b;
            }
        }
        year += 1;
    }
}

/// Whether the holder becomes one year older on `on` (年齢計算ニ関スル法律:
/// at the end of the previous day; for a 29 Feb birth in a common year, on 1 March).
fn is_legal_anniversary(birth: NaiveDate, on: NaiveDate) -> bool {
    if on.year() <= birth.year() {
        return false;
    }
    if born_on_leap_day(birth) && !is_leap(on.year()) {
        (on.month(), on.day()) == (3, 1)
    } else {
        (on.month(), on.day()) == (birth.month(), birth.day())
    }
}

fn ref_age(birth: NaiveDate, on: NaiveDate) -> u32 {
    let anniversary = if born_on_leap_day(birth) && !is_leap(on.year()) {
        (3, 1)
    } else {
        (birth.month(), birth.day())
    };
    let before_anniversary = (on.month(), on.day()) < anniversary;
    u32::try_from(on.year() - birth.year() - i32::from(before_anniversary))
        .unwrap_or_else(|_| panic!("{on} is not before the birth {birth}"))
}

/// `date` minus 3 months, clamped to the last day of a shorter month (§5).
fn ref_three_months_before(date: NaiveDate) -> NaiveDate {
    let months = date.year() * 12 + date.month0() as i32 - 3;
    let (year, month) = (months.div_euclid(12), months.rem_euclid(12) as u32 + 1);
    day(year, month, date.day().min(days_in_month(year, month)))
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Birth dates over 400 years; one in four is 29 February of a leap year.
fn any_birth() -> impl Strategy<Value = NaiveDate> {
    let first = day(1826, 1, 1);
    let span = (day(2225, 12, 31) - first).num_days();
    let uniform = (0..=span).prop_map(move |n| plus(first, n));
    let leap_day = (457i32..=556).prop_filter_map("a leap year", |q| NaiveDate::from_ymd_opt(q * 4, 2, 29));
    prop_oneof![3 => uniform, 1 => leap_day]
}

/// Issuance dates on or after 2016-01-01 and the birth: within 3 days of a
/// birthday (often one near the age of majority, 18 or 20), or within 2 days
/// of a month end.
fn issuance_for(birth: NaiveDate) -> impl Strategy<Value = NaiveDate> {
    let first_year = birth.year().max(2016);
    let years = first_year..=first_year + 60;
    let near_birthday =
        (years.clone(), -3i64..=3).prop_map(move |(y, off)| plus(ref_birthday(birth, y, Feb29Policy::Feb28), off));
    let near_majority = (17i32..=21, -3i64..=3)
        .prop_map(move |(age, off)| plus(ref_birthday(birth, birth.year() + age, Feb29Policy::Feb28), off));
    let near_month_end =
        (years, 1u32..=12, -2i64..=2).prop_map(|(y, m, off)| plus(day(y, m, days_in_month(y, m)), off));
    prop_oneof![2 => near_birthday, 1 => near_majority, 2 => near_month_end]
        .prop_map(move |issued| issued.max(birth).max(day(2016, 1, 1)))
}

#[derive(Debug, Clone)]
struct CardScenario {
    facts: CardIssuance,
    policies: Policies,
}

fn card_scenario() -> impl Strategy<Value = CardScenario> {
    any_birth()
        .prop_flat_map(|birth| {
            (
                Just(birth),
                issuance_for(birth),
                prop::option::of(0i64..=400),
                0u8..4,
                // The end of stay: often on or just after the issuance day.
                prop_oneof![0i64..=3, 0i64..=5000],
                any::<bool>(),
                any::<bool>(),
            )
        })
        .prop_map(
            |(born, issued, received_before, residence, stay_days, mar1, on_receipt)| {
                // An application received before birth is an impossible fact.
                let application_received = received_before.map(|k| plus(issued, -k).max(born));
                let residence = match residence {
                    0 | 1 => Residence::Japanese,
                    2 => Residence::ForeignPermanent,
                    _ => Residence::ForeignWithStay {
                        stay_until: plus(issued, stay_days),
                    },
                };
                let policies = Policies {
                    feb29: if mar1 { Feb29Policy::Mar1 } else { Feb29Policy::Feb28 },
                    age_test_date: if on_receipt {
                        AgeTestDate::ApplicationReceived
                    } else {
                        AgeTestDate::Issuance
                    },
                    ..Policies::default()
                };
                CardScenario {
                    facts: CardIssuance {
                        born,
                        issued,
                        application_received,
                        residence,
                    },
                    policies,
                }
            },
        )
}

// ---------------------------------------------------------------------------
// Card, certificates, renewal
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn card_expiry_is_the_right_birthday_after_issuance_or_the_end_of_stay(s in card_scenario()) {
        let CardIssuance { born, issued, application_received, residence } = s.facts;
        let p = s.policies;
        let v = card_validity(&s.facts, &p).expect("generated facts are possible");
        let received = application_received.unwrap_or(issued);
        let test_day = match p.age_test_date {
            AgeTestDate::Issuance => issued,
            AgeTestDate::ApplicationReceived => received,
        };

        prop_assert_eq!(v.age_at_issuance, ref_age(born, issued));
        prop_assert_eq!(v.age_at_test, ref_age(born, test_day));
        let expected_regime = if received >= day(2022, 4, 1) { AgeRegime::Eighteen } else { AgeRegime::Twenty };
        prop_assert_eq!(v.regime, expected_regime);

        let adult = v.age_at_test >= v.regime.adult_age();
        let birthday_rule = ref_nth_birthday_after(born, issued, if adult { 10 } else { 5 }, p.feb29);
        match residence {
            Residence::ForeignWithStay { stay_until } => {
                prop_assert!(v.expiry >= issued, "a card bounded by a stay ending on the issuance day");
                prop_assert_eq!(v.expiry, stay_until.min(birthday_rule));
                // On a tie the end of stay is reported (docs/RULES.md).
                prop_assert_eq!(v.basis == ExpiryBasis::EndOfStay, stay_until <= birthday_rule);
            }
            Residence::Japanese | Residence::ForeignPermanent => {
                prop_assert!(v.expiry > issued, "expiry {} not after issuance {}", v.expiry, issued);
                prop_assert_eq!(v.expiry, birthday_rule);
                prop_assert_ne!(v.basis, ExpiryBasis::EndOfStay);
            }
        }
        if v.basis != ExpiryBasis::EndOfStay {
            // TenthBirthday ⇔ the holder was an adult of the regime on the test day.
            prop_assert_eq!(v.basis == ExpiryBasis::TenthBirthday, adult);
            // The expiry falls on the birthday's month and day.
            let md = (v.expiry.month(), v.expiry.day());
            if born_on_leap_day(born) && !is_leap(v.expiry.year()) {
                let expected = match p.feb29 { Feb29Policy::Feb28 => (2, 28), Feb29Policy::Mar1 => (3, 1) };
                prop_assert_eq!(md, expected);
            } else {
                prop_assert_eq!(md, (born.month(), born.day()));
            }
        }
    }

    #[test]
    fn renewal_window_opens_within_92_days_before_expiry_on_the_day_after_three_months_before(
        s in card_scenario(),
    ) {
        let v = card_validity(&s.facts, &s.policies).expect("generated facts are possible");
        let w = v.renewal_window;
        prop_assert_eq!(w.closes, v.expiry);
        prop_assert!(w.opens <= v.expiry);
        // At most 92 days; in fact 88 (2 Feb → 1 May of a common year) to 91.
        let lead = (v.expiry - w.opens).num_days();
        prop_assert!((88..=91).contains(&lead), "window of {} days before {}", lead, v.expiry);
        prop_assert!(w.opens > months_before_clamped(v.expiry, 3));
        // Default renewal_month_end: the day after the clamped date.
        prop_assert_eq!(w.opens, plus(ref_three_months_before(v.expiry), 1));
        prop_assert!(w.contains(w.opens) && w.contains(v.expiry));
        prop_assert!(!w.contains(plus(w.opens, -1)) && !w.contains(plus(v.expiry, 1)));
        match s.facts.residence {
            // §5: no notice to foreign residents with a period of stay.
            Residence::ForeignWithStay { .. } => prop_assert_eq!(v.notice_date, None),
            // Default notice_lead of 3 months: the notice goes out the day the window opens.
            _ => prop_assert_eq!(v.notice_date, Some(w.opens)),
        }
    }

    #[test]
    fn certificates_never_outlive_the_card_and_signature_never_outlives_auth(
        s in card_scenario(),
        cert_offset in any::<u32>(),
        previous in prop::option::of(-200i64..=200),
        kept_auth in prop::option::of(any::<u32>()),
        adult_ward in any::<bool>(),
    ) {
        let card = card_validity(&s.facts, &s.policies).expect("generated facts are possible");
        let span = (card.expiry - s.facts.issued).num_days();
        let issued = plus(s.facts.issued, i64::from(cert_offset) % (span + 1));
        let left = (card.expiry - issued).num_days();
        let existing_auth_expiry = kept_auth.map(|k| plus(issued, i64::from(k) % (left + 1)));
        let previous_expiry = previous.map(|k| plus(issued, k));
        let facts = CertificateIssuance {
            born: s.facts.born,
            issued,
            card_expiry: card.expiry,
            existing_auth_expiry,
            previous_expiry,
            adult_ward,
        };
        let p = s.policies;
        let v = certificate_validity(&facts, &p).expect("issued during the card's validity");

        prop_assert!(v.auth_expiry <= card.expiry, "auth {} outlives the card {}", v.auth_expiry, card.expiry);
        prop_assert!(v.auth_expiry >= issued);
        let bonus = previous_expiry.is_some_and(|e| renewal_window(e, &p).contains(issued));
        prop_assert_eq!(v.renewal_bonus, bonus);
        let own = ref_nth_birthday_after(s.facts.born, issued, if bonus { 6 } else { 5 }, p.feb29).min(card.expiry);
        prop_assert_eq!(v.auth_expiry, existing_auth_expiry.unwrap_or(own));
        let refused = ref_age(s.facts.born, issued) < 15 || adult_ward;
        prop_assert_eq!(v.sign_expiry.is_none(), refused);
        if let Some(sign) = v.sign_expiry {
            prop_assert!(sign <= card.expiry, "signature {} outlives the card {}", sign, card.expiry);
            prop_assert!(sign <= v.auth_expiry, "signature {} outlives auth {}", sign, v.auth_expiry);
            prop_assert!(sign >= issued);
            prop_assert_eq!(sign, own.min(v.auth_expiry));
        }
    }
}

// ---------------------------------------------------------------------------
// Ages
// ---------------------------------------------------------------------------

/// A birth and a day on or after it: anywhere in 150 years, or within 2 days
/// of a legal anniversary.
fn birth_and_day() -> impl Strategy<Value = (NaiveDate, NaiveDate)> {
    any_birth().prop_flat_map(|birth| {
        let anywhere = (0i64..=150 * 366).prop_map(move |k| plus(birth, k));
        let near_anniversary = (0i32..=150, -2i64..=2)
            .prop_map(move |(n, off)| plus(ref_birthday(birth, birth.year() + n, Feb29Policy::Mar1), off).max(birth));
        (Just(birth), prop_oneof![anywhere, near_anniversary])
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn age_never_decreases_and_increases_exactly_on_the_legal_anniversary((birth, on) in birth_and_day()) {
        let today = age_on(birth, on).expect("on or after the birth");
        let tomorrow = age_on(birth, plus(on, 1)).expect("after the birth");
        prop_assert_eq!(today, ref_age(birth, on));
        prop_assert!(tomorrow >= today);
        prop_assert!(tomorrow - today <= 1);
        prop_assert_eq!(tomorrow == today + 1, is_legal_anniversary(birth, plus(on, 1)));
        prop_assert!(age_on(birth, plus(birth, -1)).is_err());
    }
}

// ---------------------------------------------------------------------------
// Lapse
// ---------------------------------------------------------------------------

/// One move: an optional move-out (always present after the first move),
/// the move-in, and an optional card update.
#[derive(Debug, Clone)]
struct Move {
    gap: i64,
    move_out: bool,
    planned_offset: i64,
    moved_in_after: i64,
    notified_after: i64,
    updated_after: Option<i64>,
}

fn a_move() -> impl Strategy<Value = Move> {
    (
        1i64..=150,
        any::<bool>(),
        -10i64..=20,
        0i64..=20,
        // Up to 20 days: some move-ins are late (> 14 days).
        0i64..=20,
        prop::option::of(0i64..=110),
    )
        .prop_map(
            |(gap, move_out, planned_offset, moved_in_after, notified_after, updated_after)| Move {
                gap,
                move_out,
                planned_offset,
                moved_in_after,
                notified_after,
                updated_after,
            },
        )
}

#[derive(Debug, Clone)]
struct History {
    card: CardFacts,
    events: Vec<CardEvent>,
    today: NaiveDate,
}

/// Consistent histories of domestic moves: each move-out is followed by its
/// move-in (except perhaps the last), each move-in perhaps by an update.
fn history() -> impl Strategy<Value = History> {
    (
        0i64..=365,
        0i64..=4000,
        prop::collection::vec(a_move(), 1..=4),
        any::<bool>(),
        0i64..=200,
    )
        .prop_map(|(start, expiry, moves, last_without_move_in, after_last)| {
            let mut t = plus(day(2026, 1, 1), start);
            let mut events = Vec::new();
            let count = moves.len();
            for (i, m) in moves.into_iter().enumerate() {
                t = plus(t, m.gap);
                let mut arrival = t;
                if i > 0 || m.move_out {
                    let planned = plus(t, m.planned_offset);
                    events.push(CardEvent::MoveOut { notified: t, planned });
                    arrival = arrival.max(planned);
                }
                if i + 1 == count && last_without_move_in && !events.is_empty() {
                    break;
                }
                let moved_in = plus(arrival, m.moved_in_after);
                let notified = plus(moved_in, m.notified_after);
                events.push(CardEvent::MoveIn { moved_in, notified });
                t = notified;
                if let Some(u) = m.updated_after {
                    t = plus(notified, u);
                    events.push(CardEvent::CardUpdated { on: t });
                }
            }
            History {
                card: CardFacts {
                    expiry: plus(day(2026, 1, 1), expiry),
                    foreign_national: false,
                    bounded_by_stay: false,
                },
                events,
                today: plus(t, after_last),
            }
        })
}

fn assess(card: &CardFacts, events: &[CardEvent], today: NaiveDate) -> LapseAssessment {
    assess_lapse(card, events, today)
        .unwrap_or_else(|e| panic!("a generated consistent history {events:?} on {today} was refused: {e}"))
}

/// An event that can only shorten the card's life: a move-out, a removal of
/// the record, a return, or a departure abroad without the continued-use procedure.
fn burden_event() -> impl Strategy<Value = (u8, i64)> {
    (0u8..5, 0i64..=30)
}

fn make_burden(kind: u8, on: NaiveDate, k: i64) -> CardEvent {
    match kind {
        0 => CardEvent::MoveOut {
            notified: on,
            planned: plus(on, k - 10),
        },
        1 => CardEvent::RecordRemoved {
            on,
            cause: RemovalCause::Death,
        },
        2 => CardEvent::RecordRemoved {
            on,
            cause: RemovalCause::ExOfficio,
        },
        3 => CardEvent::Returned { on },
        _ => CardEvent::DepartedAbroad {
            departed: on,
            continued_use: false,
        },
    }
}

/// Any event, remedies included.
fn make_any(kind: u8, on: NaiveDate, k: i64) -> CardEvent {
    match kind {
        0..=4 => make_burden(kind, on, k),
        5 => CardEvent::MoveIn {
            moved_in: plus(on, -(k % 15)),
            notified: on,
        },
        6 => CardEvent::CardUpdated { on },
        _ => CardEvent::DepartedAbroad {
            departed: on,
            continued_use: true,
        },
    }
}

fn first_date(events: &[CardEvent]) -> NaiveDate {
    events.iter().map(CardEvent::date).min().unwrap_or(day(2026, 1, 1))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn lapse_date_is_at_most_the_day_after_expiry_and_lapsed_means_on_or_before_today(
        h in history(),
        later in 0i64..=400,
    ) {
        let a = assess(&h.card, &h.events, h.today);
        prop_assert!(a.lapse_date <= plus(h.card.expiry, 1));
        prop_assert_eq!(a.lapsed, a.lapse_date <= h.today);
        if a.lapsed {
            prop_assert!(a.deadlines.is_empty());
        }
        for deadline in &a.deadlines {
            prop_assert!(deadline.last_day >= h.today);
            prop_assert!(a.lapse_date <= plus(deadline.last_day, 1));
        }
        // The facts decide the lapse date; the day of asking does not.
        let asked_later = assess(&h.card, &h.events, plus(h.today, later));
        prop_assert_eq!((asked_later.lapse_date, asked_later.reason), (a.lapse_date, a.reason));
    }

    /// The monotonicity of lapse: an event that can only burden the card
    /// (move-out, removal, return, departure without continued use), added
    /// anywhere in a history, never makes the lapse date later.
    #[test]
    fn adding_a_burden_event_never_makes_the_lapse_date_later(
        h in history(),
        (kind, k) in burden_event(),
        at in any::<u32>(),
    ) {
        let before = assess(&h.card, &h.events, h.today);
        let first = plus(first_date(&h.events), -30);
        let on = plus(first, i64::from(at) % ((h.today - first).num_days() + 1));
        let mut events = h.events.clone();
        events.push(make_burden(kind, on, k));
        match assess_lapse(&h.card, &events, h.today) {
            Ok(after) => prop_assert!(
                after.lapse_date <= before.lapse_date,
                "adding {:?} moved the lapse from {} to {}", events.last(), before.lapse_date, after.lapse_date
            ),
            // A move-out while another awaits its move-in, and the like.
            Err(e) => prop_assert_eq!(e.code(), "inconsistent_events"),
        }
    }

    /// Nothing done on or after the day a card lapsed revives it — with the
    /// one same-day exception the rules make on purpose: an update made on
    /// the day of a second move-out is taken before it, so the card did not
    /// lapse by moving again (boundaries.rs
    /// `card_updated_and_moved_out_again_on_the_same_day_counts_as_updated`).
    #[test]
    fn no_event_on_or_after_the_lapse_date_changes_it(
        h in history(),
        kind in 0u8..8,
        k in 0i64..=30,
        after_lapse in 0i64..=100,
    ) {
        let before = assess(&h.card, &h.events, h.today);
        let on = plus(before.lapse_date, after_lapse);
        let mut events = h.events.clone();
        events.push(make_any(kind, on, k));
        prop_assume!(!(
            before.reason == LapseReason::MovedAgainBeforeUpdate
                && on == before.lapse_date
                && matches!(events.last(), Some(CardEvent::CardUpdated { .. }))
        ));
        match assess_lapse(&h.card, &events, h.today.max(on)) {
            Ok(after) => prop_assert_eq!(
                (after.lapse_date, after.reason), (before.lapse_date, before.reason),
                "adding {:?} on or after the lapse changed it", events.last()
            ),
            Err(e) => prop_assert_eq!(e.code(), "inconsistent_events"),
        }
    }

    /// The other side of monotonicity: a card update never brings the lapse forward.
    #[test]
    fn adding_a_card_update_never_makes_the_lapse_date_earlier(h in history(), at in any::<u32>()) {
        let before = assess(&h.card, &h.events, h.today);
        let first = first_date(&h.events);
        let on = plus(first, i64::from(at) % ((h.today - first).num_days() + 1));
        let mut events = h.events.clone();
        events.push(CardEvent::CardUpdated { on });
        match assess_lapse(&h.card, &events, h.today) {
            Ok(after) => prop_assert!(after.lapse_date >= before.lapse_date),
            // An update between a move-out and its move-in.
            Err(e) => prop_assert_eq!(e.code(), "inconsistent_events"),
        }
    }
}

// ---------------------------------------------------------------------------
// Check digits
// ---------------------------------------------------------------------------

/// My Number weights, for the base digits from the left (rules.md §15 gives
/// them from the right: 2,3,4,5,6,7,2,3,4,5,6).
const MY_NUMBER_WEIGHTS: [u32; 11] = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
const MUNICIPALITY_WEIGHTS: [u32; 5] = [6, 5, 4, 3, 2];

fn weighted_remainder(digits: &[u8], weights: &[u32]) -> u32 {
    digits.iter().zip(weights).map(|(d, w)| u32::from(*d) * w).sum::<u32>() % 11
}

/// §15: 11 − remainder, or 0 if the remainder is 0 or 1.
fn ref_my_number_check(base: &[u8; 11]) -> u8 {
    match weighted_remainder(base, &MY_NUMBER_WEIGHTS) {
        0 | 1 => 0,
        r => (11 - r) as u8,
    }
}

/// §16: the last digit of 11 − remainder (11 → 1, 10 → 0).
fn ref_municipality_check(base: &[u8; 5]) -> u8 {
    match weighted_remainder(base, &MUNICIPALITY_WEIGHTS) {
        0 => 1,
        1 => 0,
        r => (11 - r) as u8,
    }
}

fn text(digits: &[u8]) -> String {
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

/// Moves the remainder of a My Number base into the collision class {0, 1}
/// by choosing its last digit (weight 2; 2 × 6 ≡ 1 mod 11).
fn into_my_number_collision_class(mut base: [u8; 11]) -> [u8; 11] {
    base[10] = 0;
    let rest = weighted_remainder(&base, &MY_NUMBER_WEIGHTS);
    for target in [0u32, 1] {
        let digit = ((target + 11 - rest) * 6) % 11;
        if digit <= 9 {
            base[10] = digit as u8;
            return base;
        }
    }
    unreachable!("the two targets need digits 6 apart mod 11: one is at most 9")
}

/// Moves the remainder of a municipality base into the class {0, 10}.
fn into_municipality_collision_class(mut base: [u8; 5]) -> [u8; 5] {
    base[4] = 0;
    let rest = weighted_remainder(&base, &MUNICIPALITY_WEIGHTS);
    for target in [0u32, 10] {
        let digit = ((target + 11 - rest) * 6) % 11;
        if digit <= 9 {
            base[4] = digit as u8;
            return base;
        }
    }
    unreachable!("the two targets need digits 5 apart mod 11: one is at most 9")
}

fn my_number_base() -> impl Strategy<Value = [u8; 11]> {
    let any_base = prop::array::uniform11(0u8..10);
    prop_oneof![any_base.clone(), any_base.prop_map(into_my_number_collision_class),]
}

fn municipality_base() -> impl Strategy<Value = [u8; 5]> {
    let any_base = (1u8..=47, prop::array::uniform3(0u8..10))
        .prop_map(|(pref, rest)| [pref / 10, pref % 10, rest[0], rest[1], rest[2]]);
    prop_oneof![any_base.clone(), any_base.prop_map(into_municipality_collision_class),]
}

fn prefecture_ok(digits: &[u8]) -> bool {
    (1..=47).contains(&(digits[0] * 10 + digits[1]))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn my_number_complete_then_parse_round_trips(base in prop::array::uniform11(0u8..10)) {
        let n = MyNumber::complete(&text(&base)).expect("11 digits");
        let shown = n.expose();
        prop_assert_eq!(&shown[..11], text(&base));
        prop_assert_eq!(shown.as_bytes()[11] - b'0', ref_my_number_check(&base));
        prop_assert_eq!(MyNumber::parse(&shown), Ok(n));
    }

    #[test]
    fn municipality_code_complete_then_parse_round_trips(base in municipality_base()) {
        let code = MunicipalityCode::complete(&text(&base)).expect("a base with prefecture 01–47");
        let shown = code.to_string();
        prop_assert_eq!(&shown[..5], text(&base));
        prop_assert_eq!(shown.as_bytes()[5] - b'0', ref_municipality_check(&base));
        prop_assert_eq!(code.prefecture(), base[0] * 10 + base[1]);
        prop_assert_eq!(MunicipalityCode::parse(&shown), Ok(code));
    }

    /// Every single-digit substitution is caught except those that move the
    /// weighted remainder between 0 and 1, which share the check digit 0.
    #[test]
    fn my_number_misses_exactly_the_substitutions_between_remainders_0_and_1(base in my_number_base()) {
        let mut full = [0u8; 12];
        full[..11].copy_from_slice(&base);
        full[11] = ref_my_number_check(&base);
        let r = weighted_remainder(&base, &MY_NUMBER_WEIGHTS);
        for pos in 0..12 {
            for digit in (0..10u8).filter(|v| *v != full[pos]) {
                let mut mutated = full;
                mutated[pos] = digit;
                let accepted = MyNumber::parse(&text(&mutated)).is_ok();
                if pos == 11 {
                    prop_assert!(!accepted, "a changed check digit {} was accepted", text(&mutated));
                    continue;
                }
                let r2 = weighted_remainder(&mutated[..11], &MY_NUMBER_WEIGHTS);
                prop_assert_ne!(r, r2, "every weight is invertible mod 11");
                let collision = r <= 1 && r2 <= 1;
                prop_assert_eq!(
                    accepted, collision,
                    "{} → {} (remainders {} → {})", text(&full), text(&mutated), r, r2
                );
            }
        }
    }

    /// Every single-digit substitution is caught except those that move the
    /// remainder between 0 and 10, which share the check digit 1, and lead
    /// to a prefecture code 01–47.
    #[test]
    fn municipality_code_misses_exactly_the_substitutions_between_remainders_0_and_10(base in municipality_base()) {
        let mut full = [0u8; 6];
        full[..5].copy_from_slice(&base);
        full[5] = ref_municipality_check(&base);
        let r = weighted_remainder(&base, &MUNICIPALITY_WEIGHTS);
        for pos in 0..6 {
            for digit in (0..10u8).filter(|v| *v != full[pos]) {
                let mut mutated = full;
                mutated[pos] = digit;
                let accepted = MunicipalityCode::parse(&text(&mutated)).is_ok();
                if pos == 5 {
                    prop_assert!(!accepted, "a changed check digit {} was accepted", text(&mutated));
                    continue;
                }
                let r2 = weighted_remainder(&mutated[..5], &MUNICIPALITY_WEIGHTS);
                prop_assert_ne!(r, r2, "every weight is invertible mod 11");
                let collision = (r == 0 && r2 == 10) || (r == 10 && r2 == 0);
                prop_assert_eq!(
                    accepted,
                    collision && prefecture_ok(&mutated),
                    "{} → {} (remainders {} → {})", text(&full), text(&mutated), r, r2
                );
            }
        }
    }
}

/// All 100,000 five-digit bases × 5 positions × 9 substitutions: how many
/// single-digit substitutions of the base leave the check digit unchanged.
#[test]
fn municipality_check_digit_misses_81_820_of_4_500_000_single_digit_substitutions() {
    let mut check = [0u8; 100_000];
    for (n, c) in check.iter_mut().enumerate() {
        let base = five_digits(n);
        *c = ref_municipality_check(&base);
        assert_eq!(municipality_check_digit(&base), *c, "check digit of {}", text(&base));
    }
    let mut undetected = 0u64;
    let mut total = 0u64;
    let place = [10_000, 1_000, 100, 10, 1];
    for (n, c) in check.iter().enumerate() {
        let base = five_digits(n);
        for (pos, p) in place.iter().enumerate() {
            for digit in (0..10u8).filter(|v| *v != base[pos]) {
                let mutated = n - usize::from(base[pos]) * p + usize::from(digit) * p;
                total += 1;
                if check[mutated] == *c {
                    undetected += 1;
                }
            }
        }
    }
    let fraction = undetected as f64 / total as f64;
    println!(
        "municipality codes: {undetected} of {total} single-digit substitutions of the 5-digit base \
         go undetected ({:.4}%, about 1 in {:.1})",
        fraction * 100.0,
        1.0 / fraction
    );
    assert_eq!(total, 4_500_000);
    assert_eq!(undetected, 81_820);
}

/// The same among real codes: bases with prefecture 01–47, all 6 positions
/// (check digit included), as `MunicipalityCode::parse` judges them.
#[test]
fn municipality_code_parse_accepts_35_258_of_2_538_000_single_digit_substitutions_of_valid_codes() {
    let mut accepted = 0u64;
    let mut total = 0u64;
    for n in 1_000..48_000 {
        let base = five_digits(n);
        let mut full = [0u8; 6];
        full[..5].copy_from_slice(&base);
        full[5] = ref_municipality_check(&base);
        let r = weighted_remainder(&base, &MUNICIPALITY_WEIGHTS);
        for pos in 0..6 {
            for digit in (0..10u8).filter(|v| *v != full[pos]) {
                let mut mutated = full;
                mutated[pos] = digit;
                total += 1;
                let ok = MunicipalityCode::parse(&text(&mutated)).is_ok();
                let r2 = weighted_remainder(&mutated[..5], &MUNICIPALITY_WEIGHTS);
                let expected = pos < 5 && prefecture_ok(&mutated) && r.max(r2) == 10 && r.min(r2) == 0;
                assert_eq!(ok, expected, "{} → {}", text(&full), text(&mutated));
                accepted += u64::from(ok);
            }
        }
    }
    let fraction = accepted as f64 / total as f64;
    println!(
        "municipality codes 01xxxx–47xxxx: {accepted} of {total} single-digit substitutions \
         yield another valid code ({:.4}%)",
        fraction * 100.0
    );
    assert_eq!(total, 2_538_000);
    assert_eq!(accepted, 35_258);
}

fn five_digits(n: usize) -> [u8; 5] {
    let mut out = [0u8; 5];
    let mut rest = n;
    for slot in out.iter_mut().rev() {
        *slot = (rest % 10) as u8;
        rest /= 10;
    }
    out
}

/// Over all 10^11 My Number bases × 11 positions × 9 substitutions, counted
/// exactly: for each position, the number of bases whose other ten digits
/// give each weighted remainder, by dynamic programming.
fn my_number_undetected_exact() -> (u128, u128) {
    let mut undetected = 0u128;
    for (pos, &w) in MY_NUMBER_WEIGHTS.iter().enumerate() {
        // counts[r]: how many choices of the other ten digits give weighted sum ≡ r.
        let mut counts = [0u128; 11];
        counts[0] = 1;
        for (i, other) in MY_NUMBER_WEIGHTS.iter().enumerate() {
            if i == pos {
                continue;
            }
            let mut next = [0u128; 11];
            for (r, c) in counts.iter().enumerate() {
                for digit in 0..10u32 {
                    next[(r + (digit * other) as usize) % 11] += c;
                }
            }
            counts = next;
        }
        for from in 0..10u32 {
            for to in (0..10u32).filter(|t| *t != from) {
                for (rest, c) in counts.iter().enumerate() {
                    let r1 = (rest as u32 + from * w) % 11;
                    let r2 = (rest as u32 + to * w) % 11;
                    if r1 <= 1 && r2 <= 1 && r1 != r2 {
                        undetected += c;
                    }
                }
            }
        }
    }
    (undetected, 10u128.pow(11) * 11 * 9)
}

#[test]
fn my_number_check_digit_misses_about_1_in_55_single_digit_substitutions() {
    let (undetected, total) = my_number_undetected_exact();
    let fraction = undetected as f64 / total as f64;
    println!(
        "My Number, exact over all 10^11 bases: {undetected} of {total} single-digit substitutions \
         of the 11-digit base go undetected ({:.4}%, about 1 in {:.1})",
        fraction * 100.0,
        1.0 / fraction
    );
    assert_eq!(total, 9_900_000_000_000);
    assert_eq!(undetected, 180_000_000_004);

    // Exhaustive over every substitution of 3,000 bases from a fixed seed,
    // judged by MyNumber::parse and checked against the reference.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut sampled_undetected, mut sampled_total) = (0u64, 0u64);
    for _ in 0..3_000 {
        let mut base = [0u8; 11];
        for digit in base.iter_mut() {
            *digit = (next() % 10) as u8;
        }
        let check = ref_my_number_check(&base);
        assert_eq!(my_number_check_digit(&base), check, "check digit of {}", text(&base));
        let r = weighted_remainder(&base, &MY_NUMBER_WEIGHTS);
        for pos in 0..11 {
            for digit in (0..10u8).filter(|v| *v != base[pos]) {
                let mut mutated = base;
                mutated[pos] = digit;
                let r2 = weighted_remainder(&mutated, &MY_NUMBER_WEIGHTS);
                let mut full = text(&mutated);
                full.push(char::from(b'0' + check));
                let accepted = MyNumber::parse(&full).is_ok();
                assert_eq!(accepted, r <= 1 && r2 <= 1, "{} → {full}", text(&base));
                sampled_total += 1;
                sampled_undetected += u64::from(accepted);
            }
        }
    }
    let sampled = sampled_undetected as f64 / sampled_total as f64;
    println!(
        "My Number, 3,000 seeded bases: {sampled_undetected} of {sampled_total} substitutions \
         undetected ({:.4}%)",
        sampled * 100.0
    );
    assert_eq!(sampled_total, 297_000);
    assert!(
        (sampled - fraction).abs() < 0.005,
        "sample {sampled} far from exact {fraction}"
    );
}

#[test]
fn known_undetected_substitutions_are_accepted_by_parse() {
    // My Number: remainder 1 (123456789000) and 0 (143456789000), one digit apart.
    for pair in [("123456789000", "143456789000"), ("123456789000", "123456789700")] {
        assert!(MyNumber::parse(pair.0).is_ok(), "{}", pair.0);
        assert!(
            MyNumber::parse(pair.1).is_ok(),
            "{} differs from {} in one digit",
            pair.1,
            pair.0
        );
    }
    // Municipality code: remainder 0 (010031) and 10 (018031).
    assert!(MunicipalityCode::parse("010031").is_ok());
    assert!(MunicipalityCode::parse("018031").is_ok());
}
