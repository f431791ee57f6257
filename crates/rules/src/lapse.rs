//! Lapse of the card (失効), rules.md §7.
//!
//! Given the card and what happened to its holder so far, on which day does
//! the card stop being valid, and why? Day counting follows Civil 140 (the
//! first day is not counted: "within 14 days after moving in on 04-01" ends
//! on 04-15), and the lapse date is the **first day on which the card is no
//! longer valid**. Clocks that are still running are reported as deadlines:
//! if nothing more happens, the card lapses the day after the earliest one.
//! Where several rules apply, the earliest lapse date wins.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::date::{add_days, next_day};
use crate::timeline::LawChange;
use crate::RuleError;

/// Days after the actual move-in within which the move-in must be notified (14).
pub const MOVE_IN_NOTICE_DAYS: u32 = 14;
/// Days after the planned move-out within which the move-in must be notified (30).
pub const MOVE_OUT_TO_MOVE_IN_DAYS: u32 = 30;
/// Days after the move-in notification within which the card must be updated (90).
pub const CARD_UPDATE_DAYS: u32 = 90;

/// The card, as far as lapse is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardFacts {
    /// The card's expiry (有効期限), the last valid day.
    pub expiry: NaiveDate,
    /// The holder is a foreign national (外国人住民).
    pub foreign_national: bool,
    /// The expiry is the end of the holder's period of stay (在留期間満了日).
    pub bounded_by_stay: bool,
}

/// Why a record was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalCause {
    /// 死亡.
    Death,
    /// 職権消除: removed ex officio.
    ExOfficio,
}

/// Something that happened to the holder or the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CardEvent {
    /// 転出届 (domestic): filed on `notified`, planned move-out date (転出予定日) `planned`.
    MoveOut { notified: NaiveDate, planned: NaiveDate },
    /// 転入届: actually moved in on `moved_in`, notified on `notified`.
    MoveIn { moved_in: NaiveDate, notified: NaiveDate },
    /// The card updated at the window (継続利用 / 追記欄 entry) on `on`.
    CardUpdated { on: NaiveDate },
    /// The resident record was removed on `on`.
    RecordRemoved { on: NaiveDate, cause: RemovalCause },
    /// Departure abroad (国外転出) on `departed`, with or without the
    /// continued-use procedure (国外継続利用).
    DepartedAbroad { departed: NaiveDate, continued_use: bool },
    /// 有効期間変更: a foreign resident's card validity extended to `new_expiry`.
    ValidityChanged { on: NaiveDate, new_expiry: NaiveDate },
    /// 返納: the card was returned voluntarily.
    Returned { on: NaiveDate },
}

impl CardEvent {
    /// The day the event takes effect on the card.
    pub fn date(&self) -> NaiveDate {
        match *self {
            CardEvent::MoveOut { notified, .. } | CardEvent::MoveIn { notified, .. } => notified,
            CardEvent::CardUpdated { on }
            | CardEvent::RecordRemoved { on, .. }
            | CardEvent::ValidityChanged { on, .. }
            | CardEvent::Returned { on } => on,
            CardEvent::DepartedAbroad { departed, .. } => departed,
        }
    }

    /// Order of events on the same day, given whether a card update is due:
    /// a move-out is notified before the move-in, and a move-in before the
    /// card update made at the same visit; but an update that is due is
    /// made before a move-out on the same day (a card cannot be updated
    /// after moving out, so that is the only consistent order).
    fn same_day_rank(&self, update_due: bool) -> u8 {
        match self {
            CardEvent::CardUpdated { .. } if update_due => 0,
            CardEvent::MoveOut { .. } => 1,
            CardEvent::MoveIn { .. } => 2,
            CardEvent::CardUpdated { .. } => 3,
            CardEvent::ValidityChanged { .. } => 4,
            CardEvent::DepartedAbroad { .. } => 5,
            CardEvent::RecordRemoved { .. } => 6,
            CardEvent::Returned { .. } => 7,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            CardEvent::MoveOut { .. } => "the move-out notification",
            CardEvent::MoveIn { .. } => "the move-in notification",
            CardEvent::CardUpdated { .. } => "the card update",
            CardEvent::RecordRemoved { .. } => "the removal of the record",
            CardEvent::DepartedAbroad { .. } => "the departure abroad",
            CardEvent::ValidityChanged { .. } => "the validity change",
            CardEvent::Returned { .. } => "the return of the card",
        }
    }
}

/// Why the card lapses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LapseReason {
    /// The day after the expiry date.
    Expired,
    /// A foreign resident's card, bounded by the period of stay, was not
    /// extended (有効期間変更) before its expiry.
    StayEnded,
    /// The move-in was notified more than 14 days after moving in.
    LateMoveIn,
    /// No move-in notified within 30 days after the planned move-out date.
    NoMoveInAfterMoveOut,
    /// The card was not updated within 90 days after the move-in notification.
    CardNotUpdatedAfterMoveIn,
    /// The holder moved out again within those 90 days without updating the card.
    MovedAgainBeforeUpdate,
    /// The holder died.
    Death,
    /// The record was removed ex officio.
    RecordRemoved,
    /// The holder left Japan without the continued-use procedure (or is a
    /// foreign national, whose card always lapses on departure).
    DepartedAbroad,
    /// The card was returned.
    Returned,
}

/// A clock that is still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// The last day on which the step is in time.
    pub last_day: NaiveDate,
    /// What lapses the card if the step is not taken by then.
    pub reason: LapseReason,
}

/// The answer: when the card lapses given the facts so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LapseAssessment {
    /// The first day on which the card is no longer valid (at the latest
    /// the day after its expiry).
    pub lapse_date: NaiveDate,
    /// Why.
    pub reason: LapseReason,
    /// Whether the lapse date is on or before `today`.
    pub lapsed: bool,
    /// Clocks still running on `today` (empty once the card has lapsed).
    pub deadlines: Vec<Deadline>,
}

/// Decides whether and on which day the card lapses, and why.
///
/// Events may come in any order; they are taken by date, and events of the
/// same day in the one order that makes sense (see `same_day_rank`).
/// Events dated after `today` are refused: they are not facts yet.
pub fn assess_lapse(card: &CardFacts, events: &[CardEvent], today: NaiveDate) -> Result<LapseAssessment, RuleError> {
    let inconsistent = |msg: String| Err(RuleError::InconsistentEvents(msg));
    let mut pending: Vec<CardEvent> = events.to_vec();

    let mut expiry = card.expiry;
    let expiry_reason = if card.bounded_by_stay {
        LapseReason::StayEnded
    } else {
        LapseReason::Expired
    };
    let mut planned_move_out: Option<NaiveDate> = None;
    let mut move_in_due: Option<Deadline> = None;
    let mut update_due: Option<Deadline> = None;
    let mut fixed: Vec<(NaiveDate, LapseReason)> = Vec::new();

    // Take the next event by date, and within a day by the rank that the
    // current state gives it.
    while let Some(index) =
        (0..pending.len()).min_by_key(|&i| (pending[i].date(), pending[i].same_day_rank(update_due.is_some())))
    {
        let event = pending.swap_remove(index);
        let at = event.date();
        if at > today {
            return inconsistent(format!("{} on {at} is after today ({today})", event.name()));
        }
        // A clock that ran out before this event has already lapsed the card.
        if at > expiry {
            fixed.push((next_day(expiry), expiry_reason));
        }
        for due in [move_in_due, update_due].into_iter().flatten() {
            if at > due.last_day {
                fixed.push((next_day(due.last_day), due.reason));
            }
        }
        if !fixed.is_empty() {
            break;
        }
        match event {
            CardEvent::MoveOut { notified, planned } => {
                if planned_move_out.is_some() {
                    return inconsistent(format!("a second move-out notified on {notified} before any move-in"));
                }
                if update_due.is_some() {
                    // Moved again within the 90 days without updating the card.
                    fixed.push((notified, LapseReason::MovedAgainBeforeUpdate));
                    break;
                }
                planned_move_out = Some(planned);
                move_in_due = Some(Deadline {
                    last_day: add_days(planned, MOVE_OUT_TO_MOVE_IN_DAYS),
                    reason: LapseReason::NoMoveInAfterMoveOut,
                });
            }
            CardEvent::MoveIn { moved_in, notified } => {
                if moved_in > notified {
                    return inconsistent(format!(
                        "the move-in notified on {notified} is before the move-in itself on {moved_in}"
                    ));
                }
                if let Some(planned) = planned_move_out {
                    if moved_in < planned {
                        return inconsistent(format!(
                            "the move-in on {moved_in} is before the planned move-out on {planned}; correct the planned move-out date (転出予定日) first"
                        ));
                    }
                }
                if update_due.is_some() {
                    return inconsistent(format!(
                        "a second move-in notified on {notified} without a move-out in between"
                    ));
                }
                if notified > add_days(moved_in, MOVE_IN_NOTICE_DAYS) {
                    fixed.push((notified, LapseReason::LateMoveIn));
                    break;
                }
                planned_move_out = None;
                move_in_due = None;
                update_due = Some(Deadline {
                    last_day: add_days(notified, CARD_UPDATE_DAYS),
                    reason: LapseReason::CardNotUpdatedAfterMoveIn,
                });
            }
            CardEvent::CardUpdated { on } => {
                if planned_move_out.is_some() {
                    return inconsistent(format!(
                        "the card updated on {on} after a move-out and before the move-in: the update is made at the new municipality"
                    ));
                }
                update_due = None;
            }
            CardEvent::RecordRemoved { on, cause } => {
                let reason = match cause {
                    RemovalCause::Death => LapseReason::Death,
                    RemovalCause::ExOfficio => LapseReason::RecordRemoved,
                };
                fixed.push((on, reason));
                break;
            }
            CardEvent::DepartedAbroad {
                departed,
                continued_use,
            } => {
                if planned_move_out.is_some() {
                    return inconsistent(format!(
                        "a departure abroad on {departed} while a domestic move-out awaits its move-in"
                    ));
                }
                let keeps_card =
                    continued_use && !card.foreign_national && LawChange::ContinuedUseAbroad.in_force_on(departed);
                if !keeps_card {
                    fixed.push((departed, LapseReason::DepartedAbroad));
                    break;
                }
            }
            CardEvent::ValidityChanged { on, new_expiry } => {
                if !card.bounded_by_stay {
                    return inconsistent(
                        "a validity change (有効期間変更) applies only to a card bounded by a period of stay"
                            .to_owned(),
                    );
                }
                if new_expiry < expiry {
                    return inconsistent(format!(
                        "the validity change on {on} shortens the card from {expiry} to {new_expiry}"
                    ));
                }
                expiry = new_expiry;
            }
            CardEvent::Returned { on } => {
                fixed.push((on, LapseReason::Returned));
                break;
            }
        }
    }

    let open: Vec<Deadline> = [move_in_due, update_due].into_iter().flatten().collect();
    let candidates = fixed
        .iter()
        .copied()
        .chain(std::iter::once((next_day(expiry), expiry_reason)))
        .chain(open.iter().map(|d| (next_day(d.last_day), d.reason)));
    // The expiry candidate is always present, so the minimum exists.
    let (lapse_date, reason) = candidates
        .min_by_key(|(date, _)| *date)
        .unwrap_or((next_day(expiry), expiry_reason));
    let lapsed = lapse_date <= today;
    let deadlines = if lapsed || !fixed.is_empty() {
        Vec::new()
    } else {
        open.into_iter().filter(|d| d.last_day >= today).collect()
    };
    Ok(LapseAssessment {
        lapse_date,
        reason,
        lapsed,
        deadlines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::parse_date;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).expect("test date")
    }

    fn card(expiry: &str) -> CardFacts {
        CardFacts {
            expiry: d(expiry),
            foreign_national: false,
            bounded_by_stay: false,
        }
    }

    #[test]
    fn no_events_lapses_the_day_after_expiry() {
        let a = assess_lapse(&card("2030-01-31"), &[], d("2026-01-01")).expect("ok");
        assert_eq!(
            (a.lapse_date, a.reason, a.lapsed),
            (d("2030-02-01"), LapseReason::Expired, false)
        );
        let a = assess_lapse(&card("2030-01-31"), &[], d("2030-02-01")).expect("ok");
        assert!(a.lapsed);
        let a = assess_lapse(&card("2030-01-31"), &[], d("2030-01-31")).expect("ok");
        assert!(!a.lapsed);
    }

    #[test]
    fn the_earliest_rule_wins() {
        // Card expires before the 90-day update clock runs out.
        let events = [CardEvent::MoveIn {
            moved_in: d("2026-04-05"),
            notified: d("2026-04-10"),
        }];
        let a = assess_lapse(&card("2026-05-31"), &events, d("2026-04-20")).expect("ok");
        assert_eq!((a.lapse_date, a.reason), (d("2026-06-01"), LapseReason::Expired));
        assert_eq!(a.deadlines.len(), 1);
    }

    #[test]
    fn moving_again_within_90_days_lapses_on_the_second_move() {
        let events = [
            CardEvent::MoveIn {
                moved_in: d("2026-04-05"),
                notified: d("2026-04-10"),
            },
            CardEvent::MoveOut {
                notified: d("2026-06-01"),
                planned: d("2026-06-10"),
            },
        ];
        let a = assess_lapse(&card("2035-01-01"), &events, d("2026-06-02")).expect("ok");
        assert_eq!(
            (a.lapse_date, a.reason, a.lapsed),
            (d("2026-06-01"), LapseReason::MovedAgainBeforeUpdate, true)
        );
        // Updated first: the second move starts a fresh 30-day clock instead.
        let events = [
            CardEvent::MoveIn {
                moved_in: d("2026-04-05"),
                notified: d("2026-04-10"),
            },
            CardEvent::CardUpdated { on: d("2026-04-10") },
            CardEvent::MoveOut {
                notified: d("2026-06-01"),
                planned: d("2026-06-10"),
            },
        ];
        let a = assess_lapse(&card("2035-01-01"), &events, d("2026-06-02")).expect("ok");
        assert_eq!(
            (a.lapse_date, a.reason),
            (d("2026-07-11"), LapseReason::NoMoveInAfterMoveOut)
        );
    }

    #[test]
    fn same_day_update_counts_whatever_the_order_given() {
        let events = [
            CardEvent::CardUpdated { on: d("2026-04-10") },
            CardEvent::MoveIn {
                moved_in: d("2026-04-05"),
                notified: d("2026-04-10"),
            },
        ];
        let a = assess_lapse(&card("2035-01-01"), &events, d("2026-12-01")).expect("ok");
        assert_eq!(a.reason, LapseReason::Expired);
        assert!(a.deadlines.is_empty());
    }

    #[test]
    fn death_return_and_departure() {
        let c = card("2035-01-01");
        let died = [CardEvent::RecordRemoved {
            on: d("2027-03-03"),
            cause: RemovalCause::Death,
        }];
        assert_eq!(
            assess_lapse(&c, &died, d("2027-03-03")).expect("ok").reason,
            LapseReason::Death
        );
        let back = [CardEvent::Returned { on: d("2027-03-03") }];
        assert_eq!(
            assess_lapse(&c, &back, d("2027-03-03")).expect("ok").lapse_date,
            d("2027-03-03")
        );
        // Continued use abroad exists from 2024-05-27, and never for foreign nationals.
        let kept = [CardEvent::DepartedAbroad {
            departed: d("2024-05-27"),
            continued_use: true,
        }];
        assert_eq!(
            assess_lapse(&c, &kept, d("2026-01-01")).expect("ok").reason,
            LapseReason::Expired
        );
        let early = [CardEvent::DepartedAbroad {
            departed: d("2024-05-26"),
            continued_use: true,
        }];
        let a = assess_lapse(&c, &early, d("2026-01-01")).expect("ok");
        assert_eq!((a.lapse_date, a.reason), (d("2024-05-26"), LapseReason::DepartedAbroad));
        let foreign = CardFacts {
            foreign_national: true,
            ..c
        };
        assert_eq!(
            assess_lapse(&foreign, &kept, d("2026-01-01")).expect("ok").reason,
            LapseReason::DepartedAbroad
        );
    }

    #[test]
    fn foreign_resident_card_lapses_at_end_of_stay_unless_extended() {
        let c = CardFacts {
            expiry: d("2027-03-31"),
            foreign_national: true,
            bounded_by_stay: true,
        };
        let a = assess_lapse(&c, &[], d("2027-04-01")).expect("ok");
        assert_eq!(
            (a.lapse_date, a.reason, a.lapsed),
            (d("2027-04-01"), LapseReason::StayEnded, true)
        );
        let extended = [CardEvent::ValidityChanged {
            on: d("2027-03-20"),
            new_expiry: d("2030-03-31"),
        }];
        let a = assess_lapse(&c, &extended, d("2027-04-01")).expect("ok");
        assert_eq!((a.lapse_date, a.lapsed), (d("2030-04-01"), false));
        // Too late: the card had already lapsed.
        let late = [CardEvent::ValidityChanged {
            on: d("2027-04-01"),
            new_expiry: d("2030-03-31"),
        }];
        let a = assess_lapse(&c, &late, d("2027-04-02")).expect("ok");
        assert_eq!(a.lapse_date, d("2027-04-01"));
    }

    #[test]
    fn impossible_histories_are_refused() {
        let c = card("2035-01-01");
        let cases: [&[CardEvent]; 5] = [
            &[CardEvent::MoveIn {
                moved_in: d("2026-04-10"),
                notified: d("2026-04-05"),
            }],
            &[
                CardEvent::MoveOut {
                    notified: d("2026-03-20"),
                    planned: d("2026-04-01"),
                },
                CardEvent::MoveIn {
                    moved_in: d("2026-03-25"),
                    notified: d("2026-03-26"),
                },
            ],
            &[
                CardEvent::MoveOut {
                    notified: d("2026-03-20"),
                    planned: d("2026-04-01"),
                },
                CardEvent::MoveOut {
                    notified: d("2026-03-21"),
                    planned: d("2026-04-02"),
                },
            ],
            &[
                CardEvent::MoveOut {
                    notified: d("2026-03-20"),
                    planned: d("2026-04-01"),
                },
                CardEvent::CardUpdated { on: d("2026-03-25") },
            ],
            &[CardEvent::Returned { on: d("2027-01-01") }],
        ];
        for events in cases {
            let err = assess_lapse(&c, events, d("2026-12-31")).expect_err("inconsistent");
            assert_eq!(err.code(), "inconsistent_events", "{events:?}");
        }
    }
}
