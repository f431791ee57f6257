//! Each side of every day count and every cut-over of rules.md, on several
//! base dates (month ends, leap years, the turn of the year). Expected dates
//! are literals worked out by hand, never computed with the engine.

use mynacard_rules::card::{card_validity, CardIssuance, ExpiryBasis, Residence};
use mynacard_rules::certificate::{certificate_validity, CertificateIssuance, SignCertRefusal};
use mynacard_rules::date::parse_date;
use mynacard_rules::fee::{fee, FeeCase, FeeCause};
use mynacard_rules::kiosk::{kiosk_refusals, kiosk_service_open, KioskDocument, KioskRefusal, KioskRequest};
use mynacard_rules::lapse::{assess_lapse, CardEvent, CardFacts, Deadline, LapseReason};
use mynacard_rules::one_stop::{one_stop_refusals, visit_deadline, OneStopFiling, OneStopRefusal};
use mynacard_rules::pin::{kiosk_booking_valid, kiosk_reset_refusals, KioskResetRefusal};
use mynacard_rules::pin::{KioskResetRequest, PinKind};
use mynacard_rules::renewal::renewal_window;
use mynacard_rules::revocation::auth_certificate_survives_move;
use mynacard_rules::smartphone::{issuance_refusals, Channel, Platform, SmartphoneRefusal};
use mynacard_rules::{NaiveDate, NaiveDateTime, Policies, RuleError};

fn d(text: &str) -> NaiveDate {
    parse_date(text).unwrap_or_else(|e| panic!("the literal date {text:?} is not a date: {e}"))
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("the literal time {text:?} is not YYYY-MM-DD HH:MM:SS: {e}"))
}

/// A Japanese national's card expiring on 2035-12-31, far from every clock below.
fn card() -> CardFacts {
    CardFacts {
        expiry: d("2035-12-31"),
        foreign_national: false,
        bounded_by_stay: false,
    }
}

/// The lapse date when nothing but the card's expiry applies.
const AFTER_EXPIRY: &str = "2036-01-01";

fn lapse(events: &[CardEvent], today: &str) -> (NaiveDate, LapseReason, bool) {
    let a = assess_lapse(&card(), events, d(today))
        .unwrap_or_else(|e| panic!("{events:?} on {today} is a consistent history: {e}"));
    (a.lapse_date, a.reason, a.lapsed)
}

fn move_in(moved_in: &str, notified: &str) -> CardEvent {
    CardEvent::MoveIn {
        moved_in: d(moved_in),
        notified: d(notified),
    }
}

fn move_out(notified: &str, planned: &str) -> CardEvent {
    CardEvent::MoveOut {
        notified: d(notified),
        planned: d(planned),
    }
}

fn updated(on: &str) -> CardEvent {
    CardEvent::CardUpdated { on: d(on) }
}

// ---------------------------------------------------------------------------
// §7 move-in within 14 days of moving in
// ---------------------------------------------------------------------------

/// A base date and the days 13, 14 and 15 after it (Civil 140: day 1 is the next day).
struct Days13To15 {
    base: &'static str,
    day13: &'static str,
    day14: &'static str,
    day15: &'static str,
}

const MOVED_IN: &[Days13To15] = &[
    Days13To15 {
        base: "2026-04-01",
        day13: "2026-04-14",
        day14: "2026-04-15",
        day15: "2026-04-16",
    },
    Days13To15 {
        base: "2028-02-20",
        day13: "2028-03-04",
        day14: "2028-03-05",
        day15: "2028-03-06",
    },
    Days13To15 {
        base: "2027-02-20",
        day13: "2027-03-05",
        day14: "2027-03-06",
        day15: "2027-03-07",
    },
    Days13To15 {
        base: "2024-02-15",
        day13: "2024-02-28",
        day14: "2024-02-29",
        day15: "2024-03-01",
    },
    Days13To15 {
        base: "2026-12-25",
        day13: "2027-01-07",
        day14: "2027-01-08",
        day15: "2027-01-09",
    },
    Days13To15 {
        base: "2026-01-31",
        day13: "2026-02-13",
        day14: "2026-02-14",
        day15: "2026-02-15",
    },
];

#[test]
fn move_in_notified_on_day_13_or_14_after_moving_in_is_in_time() {
    for case in MOVED_IN {
        for day in [case.day13, case.day14] {
            let events = [move_in(case.base, day), updated(day)];
            assert_eq!(
                lapse(&events, day),
                (d(AFTER_EXPIRY), LapseReason::Expired, false),
                "moved in {}, notified {day}",
                case.base
            );
        }
    }
}

#[test]
fn move_in_notified_on_day_15_lapses_the_card_that_day() {
    for case in MOVED_IN {
        let events = [move_in(case.base, case.day15)];
        assert_eq!(
            lapse(&events, case.day15),
            (d(case.day15), LapseReason::LateMoveIn, true),
            "moved in {}, notified {}",
            case.base,
            case.day15
        );
    }
}

#[test]
fn one_stop_visit_deadline_is_day_14_after_moving_in_when_that_comes_first() {
    for case in MOVED_IN {
        // Planned move-out on the move-in day: the 30-day clock ends later.
        assert_eq!(
            visit_deadline(d(case.base), d(case.base)),
            d(case.day14),
            "moved in {}",
            case.base
        );
    }
}

// ---------------------------------------------------------------------------
// §7 move-in within 30 days after the planned move-out
// ---------------------------------------------------------------------------

struct Days29To31 {
    planned: &'static str,
    day29: &'static str,
    day30: &'static str,
    day31: &'static str,
}

const PLANNED_MOVE_OUT: &[Days29To31] = &[
    Days29To31 {
        planned: "2026-04-01",
        day29: "2026-04-30",
        day30: "2026-05-01",
        day31: "2026-05-02",
    },
    Days29To31 {
        planned: "2027-01-31",
        day29: "2027-03-01",
        day30: "2027-03-02",
        day31: "2027-03-03",
    },
    Days29To31 {
        planned: "2028-01-31",
        day29: "2028-02-29",
        day30: "2028-03-01",
        day31: "2028-03-02",
    },
    Days29To31 {
        planned: "2024-01-30",
        day29: "2024-02-28",
        day30: "2024-02-29",
        day31: "2024-03-01",
    },
    Days29To31 {
        planned: "2026-12-15",
        day29: "2027-01-13",
        day30: "2027-01-14",
        day31: "2027-01-15",
    },
];

#[test]
fn move_in_notified_on_day_29_or_30_after_the_planned_move_out_is_in_time() {
    for case in PLANNED_MOVE_OUT {
        for day in [case.day29, case.day30] {
            // Moved in and notified the same day, so the 14-day rule is met.
            let events = [move_out(case.planned, case.planned), move_in(day, day), updated(day)];
            assert_eq!(
                lapse(&events, day),
                (d(AFTER_EXPIRY), LapseReason::Expired, false),
                "planned move-out {}, move-in notified {day}",
                case.planned
            );
        }
    }
}

#[test]
fn move_in_notified_on_day_31_after_the_planned_move_out_finds_the_card_lapsed_that_day() {
    for case in PLANNED_MOVE_OUT {
        let events = [move_out(case.planned, case.planned), move_in(case.day31, case.day31)];
        assert_eq!(
            lapse(&events, case.day31),
            (d(case.day31), LapseReason::NoMoveInAfterMoveOut, true),
            "planned move-out {}",
            case.planned
        );
    }
}

#[test]
fn without_a_move_in_the_card_is_valid_on_day_30_and_lapses_on_day_31() {
    for case in PLANNED_MOVE_OUT {
        let events = [move_out(case.planned, case.planned)];
        let on_day_30 = assess_lapse(&card(), &events, d(case.day30))
            .unwrap_or_else(|e| panic!("planned move-out {}: consistent: {e}", case.planned));
        assert_eq!(
            (on_day_30.lapse_date, on_day_30.reason, on_day_30.lapsed),
            (d(case.day31), LapseReason::NoMoveInAfterMoveOut, false),
            "planned move-out {}, on day 30",
            case.planned
        );
        assert_eq!(
            on_day_30.deadlines,
            [Deadline {
                last_day: d(case.day30),
                reason: LapseReason::NoMoveInAfterMoveOut
            }],
            "planned move-out {}: the running clock ends on day 30",
            case.planned
        );
        assert_eq!(
            lapse(&events, case.day31),
            (d(case.day31), LapseReason::NoMoveInAfterMoveOut, true),
            "planned move-out {}, on day 31",
            case.planned
        );
    }
}

#[test]
fn auth_certificate_survives_a_move_in_on_day_30_but_not_on_day_31() {
    for case in PLANNED_MOVE_OUT {
        let planned = d(case.planned);
        assert!(
            auth_certificate_survives_move(planned, d(case.day29)),
            "{} day 29",
            case.planned
        );
        assert!(
            auth_certificate_survives_move(planned, d(case.day30)),
            "{} day 30",
            case.planned
        );
        assert!(
            !auth_certificate_survives_move(planned, d(case.day31)),
            "{} day 31",
            case.planned
        );
    }
}

#[test]
fn one_stop_visit_deadline_is_day_30_after_the_planned_move_out_when_that_comes_first() {
    for case in PLANNED_MOVE_OUT {
        // Moved in on day 29: the 14-day clock would run to day 43.
        assert_eq!(
            visit_deadline(d(case.day29), d(case.planned)),
            d(case.day30),
            "planned move-out {}",
            case.planned
        );
    }
}

// ---------------------------------------------------------------------------
// §7 card update within 90 days after the move-in notification
// ---------------------------------------------------------------------------

struct Days89To91 {
    notified: &'static str,
    day89: &'static str,
    day90: &'static str,
    day91: &'static str,
}

const MOVE_IN_NOTIFIED: &[Days89To91] = &[
    Days89To91 {
        notified: "2026-04-10",
        day89: "2026-07-08",
        day90: "2026-07-09",
        day91: "2026-07-10",
    },
    Days89To91 {
        notified: "2028-02-20",
        day89: "2028-05-19",
        day90: "2028-05-20",
        day91: "2028-05-21",
    },
    Days89To91 {
        notified: "2027-11-30",
        day89: "2028-02-27",
        day90: "2028-02-28",
        day91: "2028-02-29",
    },
    Days89To91 {
        notified: "2026-12-01",
        day89: "2027-02-28",
        day90: "2027-03-01",
        day91: "2027-03-02",
    },
    Days89To91 {
        notified: "2024-01-31",
        day89: "2024-04-29",
        day90: "2024-04-30",
        day91: "2024-05-01",
    },
];

#[test]
fn card_update_on_day_89_or_90_after_the_move_in_notification_is_in_time() {
    for case in MOVE_IN_NOTIFIED {
        for day in [case.day89, case.day90] {
            let events = [move_in(case.notified, case.notified), updated(day)];
            assert_eq!(
                lapse(&events, day),
                (d(AFTER_EXPIRY), LapseReason::Expired, false),
                "move-in notified {}, updated {day}",
                case.notified
            );
        }
    }
}

#[test]
fn card_update_on_day_91_is_too_late_the_card_lapsed_that_day() {
    for case in MOVE_IN_NOTIFIED {
        let events = [move_in(case.notified, case.notified), updated(case.day91)];
        assert_eq!(
            lapse(&events, case.day91),
            (d(case.day91), LapseReason::CardNotUpdatedAfterMoveIn, true),
            "move-in notified {}",
            case.notified
        );
    }
}

#[test]
fn without_an_update_the_card_is_valid_on_day_90_and_lapses_on_day_91() {
    for case in MOVE_IN_NOTIFIED {
        let events = [move_in(case.notified, case.notified)];
        let on_day_90 = assess_lapse(&card(), &events, d(case.day90))
            .unwrap_or_else(|e| panic!("move-in notified {}: consistent: {e}", case.notified));
        assert_eq!(
            (on_day_90.lapse_date, on_day_90.reason, on_day_90.lapsed),
            (d(case.day91), LapseReason::CardNotUpdatedAfterMoveIn, false),
            "move-in notified {}, on day 90",
            case.notified
        );
        assert_eq!(
            on_day_90.deadlines,
            [Deadline {
                last_day: d(case.day90),
                reason: LapseReason::CardNotUpdatedAfterMoveIn
            }],
            "move-in notified {}",
            case.notified
        );
        assert_eq!(
            lapse(&events, case.day91),
            (d(case.day91), LapseReason::CardNotUpdatedAfterMoveIn, true),
            "move-in notified {}, on day 91",
            case.notified
        );
    }
}

#[test]
fn moving_out_again_on_day_90_without_an_update_lapses_the_card_on_that_move() {
    for case in MOVE_IN_NOTIFIED {
        let events = [move_in(case.notified, case.notified), move_out(case.day90, case.day90)];
        assert_eq!(
            lapse(&events, case.day90),
            (d(case.day90), LapseReason::MovedAgainBeforeUpdate, true),
            "move-in notified {}",
            case.notified
        );
    }
}

#[test]
fn moving_out_again_on_day_91_finds_the_card_already_lapsed_by_the_90_day_rule() {
    for case in MOVE_IN_NOTIFIED {
        let events = [move_in(case.notified, case.notified), move_out(case.day91, case.day91)];
        assert_eq!(
            lapse(&events, case.day91),
            (d(case.day91), LapseReason::CardNotUpdatedAfterMoveIn, true),
            "move-in notified {}",
            case.notified
        );
    }
}

/// rules.md §7 lapses the card on a second move "within those 90 days" only
/// when the card was not updated. A card updated at the window and a
/// move-out filed later the same day (in the portal, say) is updated: the
/// only consistent order of the two is update first, since the engine itself
/// refuses an update after a move-out and before the move-in.
#[test]
fn card_updated_and_moved_out_again_on_the_same_day_counts_as_updated() {
    let events = [
        move_in("2026-04-05", "2026-04-10"),
        updated("2026-05-01"),
        move_out("2026-05-01", "2026-05-10"),
    ];
    // Updated: the second move only starts the 30-day clock (last day 2026-06-09).
    assert_eq!(
        lapse(&events, "2026-05-02"),
        (d("2026-06-10"), LapseReason::NoMoveInAfterMoveOut, false)
    );
}

// ---------------------------------------------------------------------------
// §7 expiry and the 2024-05-27 continued use abroad
// ---------------------------------------------------------------------------

#[test]
fn card_is_valid_on_its_expiry_date_and_lapses_the_next_day() {
    for (expiry, next) in [
        ("2028-02-29", "2028-03-01"),
        ("2027-02-28", "2027-03-01"),
        ("2027-12-31", "2028-01-01"),
        ("2030-04-30", "2030-05-01"),
    ] {
        let c = CardFacts {
            expiry: d(expiry),
            foreign_national: false,
            bounded_by_stay: false,
        };
        let on_expiry = assess_lapse(&c, &[], d(expiry)).expect("no events: consistent");
        assert_eq!(
            (on_expiry.lapse_date, on_expiry.lapsed),
            (d(next), false),
            "expiry {expiry}"
        );
        let next_day = assess_lapse(&c, &[], d(next)).expect("no events: consistent");
        assert_eq!(
            (next_day.lapse_date, next_day.reason, next_day.lapsed),
            (d(next), LapseReason::Expired, true),
            "expiry {expiry}"
        );
    }
}

#[test]
fn continued_use_abroad_keeps_the_card_from_2024_05_27_only() {
    let departed = |on: &str, continued_use: bool| CardEvent::DepartedAbroad {
        departed: d(on),
        continued_use,
    };
    assert_eq!(
        lapse(&[departed("2024-05-26", true)], "2026-01-01"),
        (d("2024-05-26"), LapseReason::DepartedAbroad, true),
        "the day before the procedure existed"
    );
    assert_eq!(
        lapse(&[departed("2024-05-27", true)], "2026-01-01"),
        (d(AFTER_EXPIRY), LapseReason::Expired, false),
        "the first day of the procedure"
    );
    assert_eq!(
        lapse(&[departed("2024-05-27", false)], "2026-01-01"),
        (d("2024-05-27"), LapseReason::DepartedAbroad, true),
        "without the procedure"
    );
    let foreign = CardFacts {
        foreign_national: true,
        ..card()
    };
    let a = assess_lapse(&foreign, &[departed("2024-05-27", true)], d("2026-01-01")).expect("consistent");
    assert_eq!(
        (a.lapse_date, a.reason),
        (d("2024-05-27"), LapseReason::DepartedAbroad),
        "a foreign national's card always lapses on departure"
    );
}

// ---------------------------------------------------------------------------
// §14 moving one-stop: filed from 30 days before to 10 days after the move
// ---------------------------------------------------------------------------

struct FilingDays {
    move_date: &'static str,
    minus31: &'static str,
    minus30: &'static str,
    plus10: &'static str,
    plus11: &'static str,
}

const MOVE_DATES: &[FilingDays] = &[
    FilingDays {
        move_date: "2026-04-01",
        minus31: "2026-03-01",
        minus30: "2026-03-02",
        plus10: "2026-04-11",
        plus11: "2026-04-12",
    },
    FilingDays {
        move_date: "2027-03-01",
        minus31: "2027-01-29",
        minus30: "2027-01-30",
        plus10: "2027-03-11",
        plus11: "2027-03-12",
    },
    FilingDays {
        move_date: "2028-03-01",
        minus31: "2028-01-30",
        minus30: "2028-01-31",
        plus10: "2028-03-11",
        plus11: "2028-03-12",
    },
    FilingDays {
        move_date: "2026-12-31",
        minus31: "2026-11-30",
        minus30: "2026-12-01",
        plus10: "2027-01-10",
        plus11: "2027-01-11",
    },
    FilingDays {
        move_date: "2028-01-05",
        minus31: "2027-12-05",
        minus30: "2027-12-06",
        plus10: "2028-01-15",
        plus11: "2028-01-16",
    },
];

fn filing(filed_on: &str, move_date: &str) -> OneStopFiling {
    OneStopFiling {
        filed_on: d(filed_on),
        move_date: d(move_date),
        abroad: false,
        age_at_card_issuance: 30,
        valid_signature_certificate: true,
        face_recognition_card: false,
    }
}

#[test]
fn one_stop_filing_31_days_before_the_move_is_too_early_30_days_is_accepted() {
    for case in MOVE_DATES {
        assert_eq!(
            one_stop_refusals(&filing(case.minus31, case.move_date)),
            [OneStopRefusal::TooEarly],
            "move {}",
            case.move_date
        );
        assert!(
            one_stop_refusals(&filing(case.minus30, case.move_date)).is_empty(),
            "move {}",
            case.move_date
        );
    }
}

#[test]
fn one_stop_filing_10_days_after_the_move_is_accepted_11_days_is_too_late() {
    for case in MOVE_DATES {
        assert!(
            one_stop_refusals(&filing(case.plus10, case.move_date)).is_empty(),
            "move {}",
            case.move_date
        );
        assert_eq!(
            one_stop_refusals(&filing(case.plus11, case.move_date)),
            [OneStopRefusal::TooLate],
            "move {}",
            case.move_date
        );
    }
}

#[test]
fn one_stop_service_starts_on_2023_02_06() {
    assert_eq!(
        one_stop_refusals(&filing("2023-02-05", "2023-02-10")),
        [OneStopRefusal::NotYetAvailable]
    );
    assert!(one_stop_refusals(&filing("2023-02-06", "2023-02-10")).is_empty());
}

#[test]
fn one_stop_is_closed_to_a_card_issued_at_14_and_open_at_15() {
    let mut f = filing("2026-03-20", "2026-04-01");
    f.age_at_card_issuance = 14;
    assert_eq!(one_stop_refusals(&f), [OneStopRefusal::CardIssuedUnder15]);
    f.age_at_card_issuance = 15;
    assert!(one_stop_refusals(&f).is_empty());
}

// ---------------------------------------------------------------------------
// §13 convenience-store service hours and year-end closure
// ---------------------------------------------------------------------------

#[test]
fn kiosk_opens_at_06_30_and_closes_at_23_00() {
    for day in ["2026-06-01", "2028-02-29", "2027-12-28", "2027-01-04", "2026-05-05"] {
        for (time, open) in [
            ("00:00:00", false),
            ("06:29:59", false),
            ("06:30:00", true),
            ("12:00:00", true),
            ("22:59:59", true),
            ("23:00:00", false),
            ("23:59:59", false),
        ] {
            let when = format!("{day} {time}");
            assert_eq!(kiosk_service_open(at(&when), &[]), open, "{when}");
        }
    }
}

#[test]
fn kiosk_is_closed_from_29_december_through_3_january() {
    for (year, next) in [("2026", "2027"), ("2027", "2028"), ("2028", "2029")] {
        for (when, open) in [
            (format!("{year}-12-28 06:30:00"), true),
            (format!("{year}-12-28 22:59:59"), true),
            (format!("{year}-12-29 06:30:00"), false),
            (format!("{year}-12-31 12:00:00"), false),
            (format!("{next}-01-01 12:00:00"), false),
            (format!("{next}-01-03 22:59:59"), false),
            (format!("{next}-01-04 06:29:59"), false),
            (format!("{next}-01-04 06:30:00"), true),
        ] {
            assert_eq!(kiosk_service_open(at(&when), &[]), open, "{when}");
        }
    }
}

fn kiosk_request(when: &str, born: &str) -> KioskRequest<'static> {
    KioskRequest {
        at: at(when),
        maintenance: &[],
        born: d(born),
        face_recognition_card: false,
        valid_auth_certificate: true,
        auth_pin_locked: false,
        move_out_filed: false,
        protection_measures: false,
        deceased: false,
        document: KioskDocument::ResidenceRecord,
        document_offered: true,
        honseki_elsewhere: false,
        honseki_registered: false,
    }
}

#[test]
fn kiosk_refuses_outside_service_hours_only() {
    let p = Policies::default();
    for (when, refusals) in [
        ("2026-12-28 22:59:59", vec![]),
        ("2026-12-28 23:00:00", vec![KioskRefusal::OutsideServiceHours]),
        ("2026-12-29 06:30:00", vec![KioskRefusal::OutsideServiceHours]),
        ("2027-01-03 12:00:00", vec![KioskRefusal::OutsideServiceHours]),
        ("2027-01-04 06:29:59", vec![KioskRefusal::OutsideServiceHours]),
        ("2027-01-04 06:30:00", vec![]),
    ] {
        assert_eq!(
            kiosk_refusals(&kiosk_request(when, "1990-01-01"), &p),
            refusals,
            "{when}"
        );
    }
}

// ---------------------------------------------------------------------------
// §4 kiosk PIN reset: the booking is valid for 24 hours
// ---------------------------------------------------------------------------

#[test]
fn kiosk_reset_booking_is_valid_for_exactly_24_hours() {
    for (booked, exactly_24h, plus_1s, plus_1min) in [
        (
            "2026-06-01 10:00:00",
            "2026-06-02 10:00:00",
            "2026-06-02 10:00:01",
            "2026-06-02 10:01:00",
        ),
        (
            "2028-02-28 22:00:00",
            "2028-02-29 22:00:00",
            "2028-02-29 22:00:01",
            "2028-02-29 22:01:00",
        ),
        (
            "2027-02-28 22:00:00",
            "2027-03-01 22:00:00",
            "2027-03-01 22:00:01",
            "2027-03-01 22:01:00",
        ),
        (
            "2026-12-31 23:30:00",
            "2027-01-01 23:30:00",
            "2027-01-01 23:30:01",
            "2027-01-01 23:31:00",
        ),
    ] {
        let b = at(booked);
        assert!(kiosk_booking_valid(b, b), "{booked}: at the booking itself");
        assert!(kiosk_booking_valid(b, at(exactly_24h)), "{booked}: 24 h exactly");
        assert!(!kiosk_booking_valid(b, at(plus_1s)), "{booked}: 24 h + 1 s");
        assert!(!kiosk_booking_valid(b, at(plus_1min)), "{booked}: 24 h + 1 min");
    }
    assert!(
        !kiosk_booking_valid(at("2026-06-01 10:00:00"), at("2026-06-01 09:59:59")),
        "before the booking"
    );
}

#[test]
fn kiosk_reset_is_refused_one_minute_after_the_24_hours() {
    let request = |when: &str, booked: &str| KioskResetRequest {
        target: PinKind::Signature,
        chain_resets_auth_pin: false,
        booked_at: Some(at(booked)),
        other_pin_locked: false,
        at: at(when),
        maintenance: &[],
    };
    assert!(kiosk_reset_refusals(&request("2026-06-02 22:30:00", "2026-06-01 22:30:00")).is_empty());
    assert_eq!(
        kiosk_reset_refusals(&request("2026-06-02 22:31:00", "2026-06-01 22:30:00")),
        [KioskResetRefusal::BookingExpired]
    );
    // A valid booking does not open a closed kiosk.
    assert_eq!(
        kiosk_reset_refusals(&request("2026-12-29 10:00:00", "2026-12-28 10:00:00")),
        [KioskResetRefusal::OutsideServiceHours]
    );
    assert_eq!(
        kiosk_reset_refusals(&request("2026-06-02 06:29:59", "2026-06-01 22:30:00")),
        [KioskResetRefusal::OutsideServiceHours]
    );
}

// ---------------------------------------------------------------------------
// §5 renewal window and §3 renewal bonus
// ---------------------------------------------------------------------------

struct WindowEdge {
    expiry: &'static str,
    day_before: &'static str,
    opens: &'static str,
    day_after_expiry: &'static str,
}

const WINDOW_EDGES: &[WindowEdge] = &[
    WindowEdge {
        expiry: "2026-06-15",
        day_before: "2026-03-15",
        opens: "2026-03-16",
        day_after_expiry: "2026-06-16",
    },
    WindowEdge {
        expiry: "2026-05-31",
        day_before: "2026-02-28",
        opens: "2026-03-01",
        day_after_expiry: "2026-06-01",
    },
    WindowEdge {
        expiry: "2028-05-31",
        day_before: "2028-02-29",
        opens: "2028-03-01",
        day_after_expiry: "2028-06-01",
    },
    WindowEdge {
        expiry: "2026-03-31",
        day_before: "2025-12-31",
        opens: "2026-01-01",
        day_after_expiry: "2026-04-01",
    },
    WindowEdge {
        expiry: "2027-11-30",
        day_before: "2027-08-30",
        opens: "2027-08-31",
        day_after_expiry: "2027-12-01",
    },
    WindowEdge {
        expiry: "2028-02-29",
        day_before: "2027-11-29",
        opens: "2027-11-30",
        day_after_expiry: "2028-03-01",
    },
    WindowEdge {
        expiry: "2027-02-28",
        day_before: "2026-11-28",
        opens: "2026-11-29",
        day_after_expiry: "2027-03-01",
    },
];

#[test]
fn renewal_window_opens_the_day_after_three_months_before_expiry_and_closes_on_expiry() {
    let p = Policies::default();
    for case in WINDOW_EDGES {
        let w = renewal_window(d(case.expiry), &p);
        assert_eq!(w.opens, d(case.opens), "expiry {}", case.expiry);
        assert!(
            !w.contains(d(case.day_before)),
            "expiry {}: the day before",
            case.expiry
        );
        assert!(w.contains(d(case.opens)), "expiry {}: the first day", case.expiry);
        assert!(w.contains(d(case.expiry)), "expiry {}: the expiry date", case.expiry);
        assert!(
            !w.contains(d(case.day_after_expiry)),
            "expiry {}: the day after expiry",
            case.expiry
        );
    }
}

#[test]
fn renewal_fee_is_refused_the_day_before_the_window_and_free_from_its_first_day() {
    let p = Policies::default();
    for case in WINDOW_EDGES {
        let on = |day: &str| FeeCase {
            cause: FeeCause::Renewal,
            with_certificates: true,
            not_holders_fault: false,
            renewal_timing: Some((d(case.expiry), d(day))),
        };
        assert_eq!(
            fee(&on(case.day_before), &p).map(|f| f.yen),
            Err(RuleError::RenewalWindowNotOpen { opens: d(case.opens) }),
            "expiry {}",
            case.expiry
        );
        assert_eq!(fee(&on(case.opens), &p).map(|f| f.yen), Ok(0), "expiry {}", case.expiry);
        assert_eq!(
            fee(&on(case.day_after_expiry), &p).map(|f| f.yen),
            Ok(0),
            "expiry {}",
            case.expiry
        );
    }
}

struct BonusCase {
    name: &'static str,
    born: &'static str,
    previous_expiry: &'static str,
    issued: &'static str,
    bonus: bool,
    expiry: &'static str,
}

const BONUS_CASES: &[BonusCase] = &[
    BonusCase {
        name: "the day before the window: 5th birthday",
        born: "1980-06-15",
        previous_expiry: "2026-06-15",
        issued: "2026-03-15",
        bonus: false,
        expiry: "2030-06-15",
    },
    BonusCase {
        name: "the window's first day: 6th birthday",
        born: "1980-06-15",
        previous_expiry: "2026-06-15",
        issued: "2026-03-16",
        bonus: true,
        expiry: "2031-06-15",
    },
    BonusCase {
        name: "the expiry date, which is the birthday and does not count: 6th birthday after it",
        born: "1980-06-15",
        previous_expiry: "2026-06-15",
        issued: "2026-06-15",
        bonus: true,
        expiry: "2032-06-15",
    },
    BonusCase {
        name: "the day after expiry: new issuance, 5th birthday",
        born: "1980-06-15",
        previous_expiry: "2026-06-15",
        issued: "2026-06-16",
        bonus: false,
        expiry: "2031-06-15",
    },
    BonusCase {
        name: "month end, the day before the window (28 Feb): 5th birthday",
        born: "1985-05-31",
        previous_expiry: "2026-05-31",
        issued: "2026-02-28",
        bonus: false,
        expiry: "2030-05-31",
    },
    BonusCase {
        name: "month end, the window's first day (1 Mar): 6th birthday",
        born: "1985-05-31",
        previous_expiry: "2026-05-31",
        issued: "2026-03-01",
        bonus: true,
        expiry: "2031-05-31",
    },
    BonusCase {
        name: "month end, the day after expiry: 5th birthday",
        born: "1985-05-31",
        previous_expiry: "2026-05-31",
        issued: "2026-06-01",
        bonus: false,
        expiry: "2031-05-31",
    },
    BonusCase {
        name: "born 29 Feb, expiry 2027-02-28: the day before the window (2026-11-28)",
        born: "1988-02-29",
        previous_expiry: "2027-02-28",
        issued: "2026-11-28",
        bonus: false,
        expiry: "2031-02-28",
    },
    BonusCase {
        name: "born 29 Feb, expiry 2027-02-28: the window's first day (2026-11-29)",
        born: "1988-02-29",
        previous_expiry: "2027-02-28",
        issued: "2026-11-29",
        bonus: true,
        expiry: "2032-02-29",
    },
];

#[test]
fn renewal_bonus_applies_from_the_window_first_day_through_the_expiry_date_only() {
    let p = Policies::default();
    for case in BONUS_CASES {
        let facts = CertificateIssuance {
            born: d(case.born),
            issued: d(case.issued),
            card_expiry: d("2045-12-31"),
            existing_auth_expiry: None,
            previous_expiry: Some(d(case.previous_expiry)),
            adult_ward: false,
        };
        let v = certificate_validity(&facts, &p).unwrap_or_else(|e| panic!("{}: valid facts: {e}", case.name));
        assert_eq!(v.renewal_bonus, case.bonus, "{}: bonus", case.name);
        assert_eq!(v.auth_expiry, d(case.expiry), "{}: auth expiry", case.name);
        assert_eq!(v.sign_expiry, Some(d(case.expiry)), "{}: signature expiry", case.name);
    }
}

// ---------------------------------------------------------------------------
// Ages: 15 for the signature certificate and the kiosk, 18/20 for the card
// ---------------------------------------------------------------------------

/// A birth date, the day before the 15th birthday and the day the holder is 15.
const AGE_15: &[(&str, &str, &str)] = &[
    ("2011-06-01", "2026-05-31", "2026-06-01"),
    // Born 29 Feb: 15 at the end of 28 Feb 2027, so on 1 March.
    ("2012-02-29", "2027-02-28", "2027-03-01"),
    ("2013-10-31", "2028-10-30", "2028-10-31"),
    ("2012-03-01", "2027-02-28", "2027-03-01"),
];

#[test]
fn signature_certificate_is_refused_the_day_before_the_15th_birthday_and_issued_on_it() {
    let p = Policies::default();
    for (born, day_before, fifteen) in AGE_15 {
        let facts = |issued: &str| CertificateIssuance {
            born: d(born),
            issued: d(issued),
            card_expiry: d("2045-12-31"),
            existing_auth_expiry: None,
            previous_expiry: None,
            adult_ward: false,
        };
        let before = certificate_validity(&facts(day_before), &p).expect("valid facts");
        assert_eq!(
            (before.sign_refusal, before.sign_expiry, before.age_at_issuance),
            (Some(SignCertRefusal::UnderMinimumAge), None, 14),
            "born {born}, on {day_before}"
        );
        let on = certificate_validity(&facts(fifteen), &p).expect("valid facts");
        assert_eq!(
            (on.sign_refusal, on.age_at_issuance),
            (None, 15),
            "born {born}, on {fifteen}"
        );
        assert!(on.sign_expiry.is_some(), "born {born}, on {fifteen}");
    }
}

#[test]
fn sign_cert_min_age_policy_moves_the_boundary() {
    let mut p = Policies::default();
    p.set("sign_cert_min_age=16").expect("a policy of rules.md");
    let facts = |issued: &str| CertificateIssuance {
        born: d("2011-06-01"),
        issued: d(issued),
        card_expiry: d("2045-12-31"),
        existing_auth_expiry: None,
        previous_expiry: None,
        adult_ward: false,
    };
    let at_15 = certificate_validity(&facts("2026-06-01"), &p).expect("valid facts");
    assert_eq!(at_15.sign_refusal, Some(SignCertRefusal::UnderMinimumAge));
    let at_16 = certificate_validity(&facts("2027-06-01"), &p).expect("valid facts");
    assert_eq!(at_16.sign_refusal, None);
}

#[test]
fn kiosk_refuses_the_day_before_the_15th_birthday_and_serves_on_it() {
    let p = Policies::default();
    for (born, day_before, fifteen) in AGE_15 {
        assert_eq!(
            kiosk_refusals(&kiosk_request(&format!("{day_before} 12:00:00"), born), &p),
            [KioskRefusal::UnderMinimumAge],
            "born {born}, on {day_before}"
        );
        assert!(
            kiosk_refusals(&kiosk_request(&format!("{fifteen} 12:00:00"), born), &p).is_empty(),
            "born {born}, on {fifteen}"
        );
    }
}

struct AdultEdge {
    name: &'static str,
    born: &'static str,
    received: &'static str,
    issued: &'static str,
    basis: ExpiryBasis,
    expiry: &'static str,
}

const ADULT_EDGES: &[AdultEdge] = &[
    AdultEdge {
        name: "issued the day before the 18th birthday: 5th birthday",
        born: "2008-05-01",
        received: "2026-04-01",
        issued: "2026-04-30",
        basis: ExpiryBasis::FifthBirthday,
        expiry: "2030-05-01",
    },
    AdultEdge {
        name: "issued on the 18th birthday (which does not count): 10th birthday",
        born: "2008-05-01",
        received: "2026-04-01",
        issued: "2026-05-01",
        basis: ExpiryBasis::TenthBirthday,
        expiry: "2036-05-01",
    },
    AdultEdge {
        name: "born 29 Feb, issued 28 Feb of a common year at 17: 5th birthday, on 28 Feb",
        born: "2008-02-29",
        received: "2026-02-01",
        issued: "2026-02-28",
        basis: ExpiryBasis::FifthBirthday,
        expiry: "2031-02-28",
    },
    AdultEdge {
        name: "born 29 Feb, issued 1 Mar of a common year at 18: 10th birthday, a leap day",
        born: "2008-02-29",
        received: "2026-02-01",
        issued: "2026-03-01",
        basis: ExpiryBasis::TenthBirthday,
        expiry: "2036-02-29",
    },
    AdultEdge {
        name: "20 regime: issued the day before the 20th birthday: 5th birthday",
        born: "2002-04-20",
        received: "2022-03-31",
        issued: "2022-04-19",
        basis: ExpiryBasis::FifthBirthday,
        expiry: "2026-04-20",
    },
    AdultEdge {
        name: "20 regime: issued on the 20th birthday: 10th birthday",
        born: "2002-04-20",
        received: "2022-03-31",
        issued: "2022-04-20",
        basis: ExpiryBasis::TenthBirthday,
        expiry: "2032-04-20",
    },
];

#[test]
fn card_for_an_adult_starts_on_the_18th_or_20th_birthday_itself() {
    let p = Policies::default();
    for case in ADULT_EDGES {
        let facts = CardIssuance {
            born: d(case.born),
            issued: d(case.issued),
            application_received: Some(d(case.received)),
            residence: Residence::Japanese,
        };
        let v = card_validity(&facts, &p).unwrap_or_else(|e| panic!("{}: valid facts: {e}", case.name));
        assert_eq!((v.basis, v.expiry), (case.basis, d(case.expiry)), "{}", case.name);
    }
}

#[test]
fn foreign_residents_card_expires_with_the_stay_even_when_it_ends_on_the_issuance_day() {
    let p = Policies::default();
    let card = |stay_until: &str| {
        card_validity(
            &CardIssuance {
                born: d("1990-07-07"),
                issued: d("2026-01-15"),
                application_received: None,
                residence: Residence::ForeignWithStay {
                    stay_until: d(stay_until),
                },
            },
            &p,
        )
    };
    let v = card("2026-01-15").expect("a stay ending on the issuance day");
    assert_eq!(
        (v.expiry, v.basis, v.notice_date),
        (d("2026-01-15"), ExpiryBasis::EndOfStay, None)
    );
    let v = card("2026-01-16").expect("a stay ending the next day");
    assert_eq!((v.expiry, v.basis), (d("2026-01-16"), ExpiryBasis::EndOfStay));
    assert!(matches!(
        card("2026-01-14"),
        Err(RuleError::StayEndedBeforeIssuance { .. })
    ));
    // Ending on the 10th birthday after issuance, or the day before or after it.
    for (stay_until, expiry) in [
        ("2035-07-06", "2035-07-06"),
        ("2035-07-07", "2035-07-07"),
        ("2035-07-08", "2035-07-07"),
    ] {
        let v = card(stay_until).expect("a possible card");
        assert_eq!((v.expiry, v.notice_date), (d(expiry), None), "stay until {stay_until}");
    }
}

/// An application received before the holder's birth is impossible, whichever
/// day the age test is made on.
#[test]
fn application_received_before_birth_is_refused_under_every_age_test_policy() {
    let facts = CardIssuance {
        born: d("2026-05-01"),
        issued: d("2026-05-10"),
        application_received: Some(d("2026-04-20")),
        residence: Residence::Japanese,
    };
    for policy in ["age_test_date=application_received", "age_test_date=issuance"] {
        let mut p = Policies::default();
        p.set(policy).expect("a policy of rules.md");
        let got = card_validity(&facts, &p).map(|v| v.expiry);
        assert!(
            matches!(got, Err(RuleError::BeforeBirth { .. })),
            "{policy}: got {got:?}"
        );
    }
}

/// rules.md §3: the auth certificate expires on the earlier of its 5th
/// birthday and the card's expiry, so a kept auth certificate that outlives
/// the card is an impossible fact, and the engine refuses it.
#[test]
fn kept_auth_certificate_expiring_after_the_card_is_refused() {
    let facts = CertificateIssuance {
        born: d("1980-06-15"),
        issued: d("2026-08-01"),
        card_expiry: d("2030-06-15"),
        existing_auth_expiry: Some(d("2031-06-15")),
        previous_expiry: None,
        adult_ward: false,
    };
    let err = certificate_validity(&facts, &Policies::default()).expect_err("impossible facts");
    assert_eq!(err.code(), "auth_outlives_card");
}

// ---------------------------------------------------------------------------
// §12 smartphone platforms: the day before and the first day
// ---------------------------------------------------------------------------

#[test]
fn smartphone_certificates_start_on_2023_05_11_for_android_and_2025_06_24_for_iphone() {
    for (platform, day_before, first_day) in [
        (Platform::Android, "2023-05-10", "2023-05-11"),
        (Platform::Iphone, "2025-06-23", "2025-06-24"),
    ] {
        assert_eq!(
            issuance_refusals(platform, d(day_before), Channel::Portal, true),
            [SmartphoneRefusal::PlatformNotYetSupported],
            "{platform:?} on {day_before}"
        );
        assert!(
            issuance_refusals(platform, d(first_day), Channel::Portal, true).is_empty(),
            "{platform:?} on {first_day}"
        );
    }
}
