//! The window's read models: resident search (住民検索), the work list
//! (業務一覧: 製造中, 交付待ち, 更新対象, 失効注意, 失効) and J-LIS's
//! production queue — scoped to the window's municipality, on both
//! registries, writing no disclosure entries.

mod common;

use chrono::{Days, NaiveDate};
use common::*;
use mynacard_authority::issuance::{NewApplication, NewResident};
use mynacard_authority::moves::{Destination, MoveIn, MoveOut};
use mynacard_authority::worklist::{ApplicationItem, LapsedItem, ResidentQuery, ResidentSummary, Worklist};
use mynacard_authority::{Actor, AuthorityError};
use mynacard_rules::date::add_days;
use mynacard_rules::lapse::MOVE_OUT_TO_MOVE_IN_DAYS;
use mynacard_rules::numbers::MyNumber;
use mynacard_rules::renewal::renewal_window;
use mynacard_store::registry::{self, ApplicationChannel, ApplicationKind, CertKind};
use mynacard_store::{disclosure, StoreError};
use zeroize::Zeroizing;

/// Registers a resident of `municipality` (a valid My Number from `n`).
fn register(w: &World, municipality: &str, n: u64, name: &str, kana: &str, born: NaiveDate) -> i64 {
    let foreign = name.is_ascii();
    w.authority
        .register_resident(
            &w.clerk(municipality),
            &w.key(),
            &NewResident {
                municipality: municipality.into(),
                my_number: MyNumber::complete(&format!("{:011}", 30_000_000_000u64 + n))
                    .expect("number")
                    .expose(),
                name: name.into(),
                name_kana: kana.into(),
                address: if municipality == CHIYODA {
                    "東京都千代田区霞が関２－１－２".into()
                } else {
                    "北海道札幌市中央区北１条西２丁目".into()
                },
                birth_date: born,
                sex: "female".into(),
                nationality: if foreign { "US".into() } else { "JP".into() },
                stay_until: None,
                permanent_resident: foreign,
                seal_registered: false,
                honseki: (!foreign).then(|| "東京都千代田区千代田１番".into()),
                household_id: None,
                adult_ward: false,
            },
        )
        .expect("register")
}

fn by_name(name: &str) -> ResidentQuery {
    ResidentQuery {
        name: Some(name.into()),
        ..ResidentQuery::default()
    }
}

fn born(day: NaiveDate) -> ResidentQuery {
    ResidentQuery {
        birth_date: Some(day),
        ..ResidentQuery::default()
    }
}

/// The ids found, sorted (the order of 振り仮名 is the database's collation).
fn found(w: &World, actor: &Actor, q: &ResidentQuery) -> Vec<i64> {
    let mut ids: Vec<i64> = w
        .authority
        .search_residents(actor, q)
        .expect("search")
        .iter()
        .map(|r| r.resident_id)
        .collect();
    ids.sort_unstable();
    ids
}

fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

fn worklist(w: &World, municipality: &str) -> Worklist {
    w.authority.window_worklist(&w.clerk(municipality)).expect("work list")
}

fn apply(w: &World, resident_id: i64) -> i64 {
    w.authority
        .apply(
            &w.clerk(CHIYODA),
            &w.key(),
            &NewApplication {
                resident_id,
                kind: ApplicationKind::New,
                channel: ApplicationChannel::Window,
                face_recognition: false,
                signature_wanted: true,
                jlis_received_on: None,
            },
        )
        .expect("apply")
}

fn move_out(w: &World, resident_id: i64, planned: NaiveDate) {
    w.authority
        .move_out(
            &w.clerk(CHIYODA),
            &w.key(),
            &MoveOut {
                resident_id,
                planned_move_out_on: planned,
                destination: Destination::Municipality(SAPPORO.into()),
                abroad_with_continued_use: false,
            },
        )
        .expect("move-out");
}

fn forbidden<T: std::fmt::Debug>(result: Result<T, AuthorityError>) {
    assert!(matches!(result, Err(AuthorityError::Forbidden(_))), "{result:?}");
}

#[test]
fn residents_are_found_by_name_and_birth_date_in_the_windows_own_municipality() {
    on_both("search", date(2026, 4, 1), |w| {
        let chiyoda = w.clerk(CHIYODA);
        let sapporo = w.clerk(SAPPORO);
        let hanako = register(w, CHIYODA, 1, "番号　花子", "バンゴウ　ハナコ", date(1985, 4, 1));
        let taro = register(w, CHIYODA, 2, "山田　太郎", "ヤマダ　タロウ", date(1990, 1, 2));
        let smith = register(w, CHIYODA, 3, "SMITH JOHN", "スミス　ジョン", date(1985, 4, 1));
        let ichiro = register(w, SAPPORO, 4, "番号　一郎", "バンゴウ　イチロウ", date(1985, 4, 1));
        let card = w.issue_card(hanako, ApplicationKind::New);

        // By name: spaces (half- or full-width) ignored, kana in hiragana
        // or katakana, ASCII regardless of case, wildcards plain.
        assert_eq!(found(w, &chiyoda, &by_name("番号花子")), vec![hanako]);
        assert_eq!(found(w, &chiyoda, &by_name("号 花")), vec![hanako]);
        assert_eq!(found(w, &chiyoda, &by_name("　番号　　花子 ")), vec![hanako]);
        assert_eq!(found(w, &chiyoda, &by_name("バンゴウハナコ")), vec![hanako]);
        assert_eq!(found(w, &chiyoda, &by_name("ばんごう")), vec![hanako]);
        assert_eq!(found(w, &chiyoda, &by_name("たろう")), vec![taro]);
        assert_eq!(found(w, &chiyoda, &by_name("smith")), vec![smith]);
        assert_eq!(found(w, &chiyoda, &by_name("%")), Vec::<i64>::new());
        assert_eq!(found(w, &chiyoda, &by_name("_")), Vec::<i64>::new());
        assert_eq!(found(w, &chiyoda, &by_name("佐藤")), Vec::<i64>::new());

        // By birth date, and both.
        assert_eq!(found(w, &chiyoda, &born(date(1985, 4, 1))), sorted(vec![hanako, smith]));
        let both = ResidentQuery {
            name: Some("バンゴウ".into()),
            birth_date: Some(date(1985, 4, 1)),
            ..ResidentQuery::default()
        };
        assert_eq!(found(w, &chiyoda, &both), vec![hanako]);
        let limited = ResidentQuery {
            limit: 1,
            ..born(date(1985, 4, 1))
        };
        assert_eq!(found(w, &chiyoda, &limited).len(), 1);

        // What a result shows: no My Number, the card in use.
        let hit: ResidentSummary = w
            .authority
            .search_residents(&chiyoda, &by_name("番号花子"))
            .expect("search")
            .remove(0);
        assert_eq!(hit.name, "番号　花子");
        assert_eq!(hit.name_kana, "バンゴウ　ハナコ");
        assert_eq!(hit.birth_date, date(1985, 4, 1));
        assert_eq!(hit.municipality, CHIYODA);
        assert_eq!(hit.status, "resident");
        let brief = hit.card.as_ref().expect("card");
        assert_eq!(
            (brief.serial.as_str(), brief.status.as_str()),
            (card.as_str(), "active")
        );
        assert_eq!(brief.expires_on, date(2036, 4, 1));
        assert!(!brief.face_recognition);
        let json = serde_json::to_string(&hit).expect("json");
        assert!(!json.contains("my_number") && !json.contains("30000000001"), "{json}");
        let taro_hit = w
            .authority
            .search_residents(&chiyoda, &by_name("山田"))
            .expect("search");
        assert_eq!(taro_hit[0].card, None);

        // Scope: each window its own residents; J-LIS and the system all.
        assert_eq!(found(w, &sapporo, &by_name("番号")), vec![ichiro]);
        assert_eq!(found(w, &sapporo, &born(date(1985, 4, 1))), vec![ichiro]);
        assert_eq!(found(w, &sapporo, &by_name("花子")), Vec::<i64>::new());
        assert_eq!(found(w, &chiyoda, &by_name("一郎")), Vec::<i64>::new());
        assert_eq!(
            found(w, &Actor::producer(), &by_name("番号")),
            sorted(vec![hanako, ichiro])
        );
        assert_eq!(
            found(w, &Actor::system("test"), &born(date(1985, 4, 1))),
            sorted(vec![hanako, smith, ichiro])
        );
        forbidden(
            w.authority
                .search_residents(&Actor::hotline("hotline:001"), &by_name("番号")),
        );
        forbidden(w.authority.search_residents(&Actor::resident(hanako), &by_name("番号")));

        // A query must say something.
        for empty in [
            ResidentQuery::default(),
            by_name(""),
            by_name(" \u{3000} "),
            ResidentQuery {
                include_former: true,
                limit: 10,
                ..ResidentQuery::default()
            },
        ] {
            let result = w.authority.search_residents(&chiyoda, &empty);
            assert!(
                matches!(result, Err(AuthorityError::BadRequest(_))),
                "{empty:?}: {result:?}"
            );
        }

        // Former residents only when asked for; a resident who moved in
        // elsewhere belongs to the new municipality's window.
        move_out(w, hanako, date(2026, 4, 10));
        assert_eq!(found(w, &chiyoda, &by_name("番号花子")), Vec::<i64>::new());
        let former = ResidentQuery {
            include_former: true,
            ..by_name("番号花子")
        };
        let hits = w.authority.search_residents(&chiyoda, &former).expect("search");
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].resident_id, hits[0].status.as_str()), (hanako, "moved_out"));
        w.set_today(date(2026, 4, 12));
        w.authority
            .move_in(
                &sapporo,
                &w.key(),
                &MoveIn {
                    resident_id: hanako,
                    municipality: SAPPORO.into(),
                    moved_in_on: date(2026, 4, 11),
                    new_address: "北海道札幌市中央区北１条西２丁目".into(),
                    continued_use: false,
                    registry_pin: Zeroizing::new(String::new()),
                    new_signature_certificate: false,
                },
            )
            .expect("move-in");
        assert_eq!(found(w, &chiyoda, &former), Vec::<i64>::new());
        assert_eq!(found(w, &sapporo, &by_name("番号花子")), vec![hanako]);

        // None of this was a disclosure.
        let logged = w
            .db()
            .read(|tx| {
                let mut n = 0;
                for id in [hanako, taro, smith, ichiro] {
                    n += disclosure::list_for_resident(tx, id)?.len();
                }
                Ok::<_, StoreError>(n)
            })
            .expect("read");
        assert_eq!(logged, 0, "searches write no disclosure entries");
    });
}

#[test]
fn an_application_moves_from_production_to_delivery_and_off_the_list() {
    on_both("worklist-apps", date(2026, 4, 1), |w| {
        let hanako = register(w, CHIYODA, 1, "番号　花子", "バンゴウ　ハナコ", date(1985, 4, 1));
        let empty = worklist(w, CHIYODA);
        assert_eq!(empty.municipality, CHIYODA);
        assert_eq!(empty.today, date(2026, 4, 1));
        assert!(empty.in_production.is_empty() && empty.awaiting_delivery.is_empty());

        let application = apply(w, hanako);
        let list = worklist(w, CHIYODA);
        assert_eq!(
            list.in_production,
            vec![ApplicationItem {
                application_id: application,
                resident_id: hanako,
                name: "番号　花子".into(),
                kind: "new".into(),
                received_on: date(2026, 4, 1),
                card_serial: None,
            }]
        );
        assert!(list.awaiting_delivery.is_empty());
        let sapporo = worklist(w, SAPPORO);
        assert_eq!(sapporo.municipality, SAPPORO);
        assert!(sapporo.in_production.is_empty(), "another municipality's application");

        w.advance_days(7);
        let produced = w
            .authority
            .produce(&Actor::producer(), &w.key(), application)
            .expect("produce");
        let list = worklist(w, CHIYODA);
        assert!(list.in_production.is_empty());
        assert_eq!(list.awaiting_delivery.len(), 1);
        let waiting = &list.awaiting_delivery[0];
        assert_eq!((waiting.application_id, waiting.resident_id), (application, hanako));
        assert_eq!(waiting.received_on, date(2026, 4, 1));
        assert_eq!(waiting.card_serial.as_deref(), Some(produced.card_serial.as_str()));
        assert!(worklist(w, SAPPORO).awaiting_delivery.is_empty());

        w.authority
            .deliver(&w.clerk(CHIYODA), &w.key(), &produced.card_serial, &pins())
            .expect("deliver");
        let list = worklist(w, CHIYODA);
        assert!(list.in_production.is_empty() && list.awaiting_delivery.is_empty());
        assert!(list.renewals_due.is_empty() && list.lapse_watch.is_empty() && list.recently_lapsed.is_empty());

        // The work list is a window's.
        forbidden(w.authority.window_worklist(&Actor::hotline("hotline:001")));
        forbidden(w.authority.window_worklist(&Actor::resident(hanako)));
        forbidden(w.authority.window_worklist(&Actor::producer()));
    });
}

#[test]
fn the_production_queue_lists_exactly_the_unproduced_applications() {
    on_both("production-queue", date(2026, 4, 1), |w| {
        let ids: Vec<i64> = (1..=4)
            .map(|n| {
                register(
                    w,
                    CHIYODA,
                    n,
                    &format!("番号　花子{n}"),
                    "バンゴウ　ハナコ",
                    date(1985, 4, 1),
                )
            })
            .collect();
        let mut applications = Vec::new();
        for id in &ids {
            applications.push(apply(w, *id));
            w.advance_days(1);
        }
        let producer = Actor::producer();
        let queue = |actor: &Actor, limit: u32| w.authority.applications_awaiting_production(actor, limit);
        assert_eq!(queue(&producer, 0).expect("queue"), applications, "oldest first");

        w.authority
            .produce(&producer, &w.key(), applications[1])
            .expect("produce");
        // A resident who moved out since applying cannot be produced for.
        move_out(w, ids[3], date(2026, 4, 20));
        let expected = vec![applications[0], applications[2]];
        assert_eq!(queue(&producer, 0).expect("queue"), expected);
        assert_eq!(queue(&Actor::system("worker"), 100).expect("queue"), expected);
        assert_eq!(queue(&producer, 1).expect("queue"), vec![applications[0]]);
        assert_eq!(
            worklist(w, CHIYODA).in_production.len(),
            3,
            "the window still sees the moved-out one"
        );

        forbidden(queue(&w.clerk(CHIYODA), 0));
        forbidden(queue(&Actor::hotline("hotline:001"), 0));
        forbidden(queue(&Actor::resident(ids[0]), 0));
    });
}

#[test]
fn cards_and_certificates_show_for_renewal_inside_their_window_only() {
    on_both("worklist-renewals", date(2026, 11, 2), |w| {
        let hanako = register(w, CHIYODA, 1, "番号　花子", "バンゴウ　ハナコ", date(1985, 4, 1));
        let serial = w.issue_card(hanako, ApplicationKind::New);
        let (card, certificates) = w
            .db()
            .read(|tx| {
                Ok::<_, StoreError>((
                    registry::get_card(tx, &serial)?.expect("card"),
                    registry::list_certificates_for_card(tx, &serial)?,
                ))
            })
            .expect("read");
        let policies = w.authority.policies();
        assert!(worklist(w, CHIYODA).renewals_due.is_empty());

        // The certificates (5 years) first.
        let not_after = certificates[0].not_after;
        assert!(certificates.iter().all(|c| c.not_after == not_after) && not_after < card.expires_on);
        let opens = renewal_window(not_after, policies).opens;
        w.set_today(opens.pred_opt().expect("day"));
        assert!(
            worklist(w, CHIYODA).renewals_due.is_empty(),
            "the day before the window"
        );
        for day in [opens, not_after] {
            w.set_today(day);
            let due = worklist(w, CHIYODA).renewals_due;
            let mut what: Vec<&str> = due.iter().map(|r| r.what.as_str()).collect();
            what.sort_unstable();
            assert_eq!(what, vec!["auth_certificate", "sign_certificate"], "{day}");
            for item in &due {
                assert_eq!(
                    (
                        item.resident_id,
                        item.name.as_str(),
                        item.expires_on,
                        item.card_serial.as_str()
                    ),
                    (hanako, "番号　花子", not_after, serial.as_str())
                );
            }
            assert!(worklist(w, SAPPORO).renewals_due.is_empty());
        }
        w.set_today(not_after.succ_opt().expect("day"));
        assert!(
            worklist(w, CHIYODA).renewals_due.is_empty(),
            "past its expiry: a new issuance"
        );

        // Then the card (10 years).
        let opens = renewal_window(card.expires_on, policies).opens;
        w.set_today(opens.pred_opt().expect("day"));
        assert!(
            worklist(w, CHIYODA).renewals_due.is_empty(),
            "the day before the card's window"
        );
        w.set_today(opens);
        let due = worklist(w, CHIYODA).renewals_due;
        assert_eq!(due.len(), 1, "{due:?}");
        assert_eq!(
            (due[0].what.as_str(), due[0].expires_on, due[0].card_serial.as_str()),
            ("card", card.expires_on, serial.as_str())
        );
        assert!(worklist(w, SAPPORO).renewals_due.is_empty());

        // Expired by the nightly batch: off the renewals, on the lapsed list.
        let after = card.expires_on.succ_opt().expect("day");
        w.set_today(after);
        w.authority.run_daily_batch(after, &mut |_| {}).expect("batch");
        let list = worklist(w, CHIYODA);
        assert!(list.renewals_due.is_empty());
        assert_eq!(
            list.recently_lapsed,
            vec![LapsedItem {
                resident_id: hanako,
                name: "番号　花子".into(),
                card_serial: serial.clone(),
                status: "expired".into(),
                on: after,
                reason: None,
            }]
        );
        assert!(worklist(w, SAPPORO).recently_lapsed.is_empty());
        let certificate_kinds: Vec<CertKind> = certificates.iter().map(|c| c.kind).collect();
        assert!(certificate_kinds.contains(&CertKind::Sign));
    });
}

#[test]
fn a_move_out_is_watched_until_the_card_lapses_then_listed_as_lapsed() {
    on_both("worklist-lapses", date(2026, 4, 1), |w| {
        let hanako = register(w, CHIYODA, 1, "番号　花子", "バンゴウ　ハナコ", date(1985, 4, 1));
        let taro = register(w, CHIYODA, 2, "山田　太郎", "ヤマダ　タロウ", date(1990, 1, 2));
        let stays = register(w, CHIYODA, 3, "佐藤　次郎", "サトウ　ジロウ", date(1970, 5, 5));
        let hanako_card = w.issue_card(hanako, ApplicationKind::New);
        let taro_card = w.issue_card(taro, ApplicationKind::New);
        w.issue_card(stays, ApplicationKind::New);

        w.set_today(date(2026, 4, 10));
        move_out(w, hanako, date(2026, 4, 20));
        move_out(w, taro, date(2026, 4, 15));
        let hanako_deadline = add_days(date(2026, 4, 20), MOVE_OUT_TO_MOVE_IN_DAYS);
        let taro_deadline = add_days(date(2026, 4, 15), MOVE_OUT_TO_MOVE_IN_DAYS);
        assert_eq!(hanako_deadline, date(2026, 5, 20));

        let watch = worklist(w, CHIYODA).lapse_watch;
        let seen: Vec<(i64, NaiveDate, NaiveDate, Option<&str>)> = watch
            .iter()
            .map(|i| (i.resident_id, i.moved_out_on, i.deadline, i.card_serial.as_deref()))
            .collect();
        assert_eq!(
            seen,
            vec![
                (taro, date(2026, 4, 15), taro_deadline, Some(taro_card.as_str())),
                (hanako, date(2026, 4, 20), hanako_deadline, Some(hanako_card.as_str())),
            ],
            "soonest deadline first"
        );
        assert_eq!(watch[1].name, "番号　花子");
        assert!(
            worklist(w, SAPPORO).lapse_watch.is_empty(),
            "not Sapporo's until the move-in"
        );

        // Past the deadline, before the batch: still watched, deadline past.
        let lapse_day = hanako_deadline.succ_opt().expect("day");
        w.set_today(lapse_day);
        let list = worklist(w, CHIYODA);
        assert_eq!(list.lapse_watch.len(), 2);
        assert!(list.recently_lapsed.is_empty());

        w.authority.lapse_due(lapse_day, &mut |_, _| {}).expect("lapse run");
        let list = worklist(w, CHIYODA);
        assert!(list.lapse_watch.is_empty(), "{:?}", list.lapse_watch);
        let lapsed: Vec<(i64, &str, &str, NaiveDate, Option<&str>)> = list
            .recently_lapsed
            .iter()
            .map(|i| {
                (
                    i.resident_id,
                    i.card_serial.as_str(),
                    i.status.as_str(),
                    i.on,
                    i.reason.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            lapsed,
            vec![
                (
                    hanako,
                    hanako_card.as_str(),
                    "lapsed",
                    lapse_day,
                    Some("no_move_in_after_move_out")
                ),
                (
                    taro,
                    taro_card.as_str(),
                    "lapsed",
                    taro_deadline.succ_opt().expect("day"),
                    Some("no_move_in_after_move_out")
                ),
            ],
            "latest first"
        );
        assert!(worklist(w, SAPPORO).recently_lapsed.is_empty());

        // For 90 days, today included.
        w.set_today(lapse_day.checked_add_days(Days::new(89)).expect("day"));
        assert!(worklist(w, CHIYODA)
            .recently_lapsed
            .iter()
            .any(|i| i.resident_id == hanako));
        w.set_today(lapse_day.checked_add_days(Days::new(90)).expect("day"));
        assert!(!worklist(w, CHIYODA)
            .recently_lapsed
            .iter()
            .any(|i| i.resident_id == hanako));
    });
}
