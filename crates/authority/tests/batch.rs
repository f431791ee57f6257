//! The nightly batch on both registries: expiries (registry only, the CA
//! unchanged), renewal notices queued once, reruns that change nothing,
//! paging, and resumption after a crash mid-step.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::*;
use mynacard_authority::batch::{BatchOptions, BatchProgress, BatchReport, BatchStep, StepOutcome};
use mynacard_authority::issuance::NewResident;
use mynacard_authority::Clock;
use mynacard_pki::status::CertStatus;
use mynacard_rules::numbers::MyNumber;
use mynacard_store::registry::{self, ApplicationKind, BatchStatus, CardStatus, CertificateStatus, NoticeKind};
use mynacard_store::{audit, StoreError};

fn my_number(base: &str) -> String {
    MyNumber::complete(base).expect("base").expose()
}

fn run(w: &World, day: chrono::NaiveDate, page_size: u32) -> BatchReport {
    w.set_today(day);
    w.authority
        .run_daily_batch_with(
            day,
            &BatchOptions {
                page_size,
                ..BatchOptions::default()
            },
            &mut |_| {},
        )
        .expect("batch")
}

fn card_status(w: &World, serial: &str) -> CardStatus {
    w.db()
        .read(|tx| registry::get_card(tx, serial))
        .expect("read")
        .expect("card")
        .status
}

fn certificates(w: &World, serial: &str) -> Vec<registry::CertificateRecord> {
    w.db()
        .read(|tx| registry::list_certificates_for_card(tx, serial))
        .expect("read")
}

fn notices(w: &World, resident: i64) -> Vec<registry::Notice> {
    w.db()
        .read(|tx| registry::list_notices_for_resident(tx, resident))
        .expect("read")
        .into_iter()
        .map(|n| n.record)
        .collect()
}

fn batch_audit(w: &World) -> Vec<audit::AuditRecord> {
    w.db()
        .read(|tx| audit::list(tx, 0, 100_000))
        .expect("audit")
        .into_iter()
        .filter(|r| r.action.starts_with("batch."))
        .collect()
}

fn assert_chain_intact(w: &World) -> i64 {
    let report = audit::verify(w.db()).expect("verify");
    assert!(report.is_intact(), "{report:?}");
    report.last_seq
}

/// Born 2010-04-01, card issued 2026-11-02 at 16: the card and both
/// certificates expire on the 5th birthday after, 2031-04-01; the notice
/// goes out on 2031-01-02.
fn teenager_with_card(w: &World, base: &str) -> (i64, String) {
    let id = w.resident(&my_number(base), "番号　次郎", date(2010, 4, 1));
    let serial = w.issue_card(id, ApplicationKind::New);
    (id, serial)
}

#[test]
fn a_card_and_its_certificates_expire_the_day_after_expiry() {
    on_both("batch_expiry", date(2026, 11, 2), |w| {
        let (_, serial) = teenager_with_card(w, "10000000001");
        let certs = certificates(w, &serial);
        assert_eq!(certs.len(), 2, "auth and sign");
        for c in &certs {
            assert_eq!(c.not_after, date(2031, 4, 1));
        }

        // On the expiry day itself the card is still valid.
        let report = run(w, date(2031, 4, 1), 500);
        assert_eq!((report.cards_expired, report.certificates_expired), (0, 0));
        assert_eq!(card_status(w, &serial), CardStatus::Active);

        // The day after: expired, in the registry only.
        let report = run(w, date(2031, 4, 2), 500);
        assert_eq!(report.date, date(2031, 4, 2));
        assert_eq!(report.cards_expired, 1, "{report:?}");
        assert_eq!(report.certificates_expired, 2, "{report:?}");
        assert_eq!(card_status(w, &serial), CardStatus::Expired);
        for c in certificates(w, &serial) {
            assert_eq!(c.status, CertificateStatus::Expired);
            assert_eq!(c.reason, None, "expiry is not revocation");
            assert_eq!(ca_status(w, &c.serial), CertStatus::Good, "the CA does not change");
        }
        assert_eq!(
            report.steps.iter().map(|s| s.step).collect::<Vec<_>>(),
            BatchStep::ALL.to_vec()
        );
        assert!(report.steps.iter().all(|s| s.outcome == StepOutcome::Ran));

        // One summary entry per step in the audit log, with the count.
        let entries: Vec<_> = batch_audit(w)
            .into_iter()
            .filter(|r| r.subject == "batch:2031-04-02")
            .collect();
        assert_eq!(entries.len(), BatchStep::ALL.len(), "{entries:?}");
        let expiries = entries
            .iter()
            .find(|r| r.action == "batch.card_expiries")
            .expect("card expiries entry");
        let details: serde_json::Value = serde_json::from_str(&expiries.details).expect("json");
        assert_eq!(details["count"], 1);
        assert_eq!(expiries.actor, "system:batch");
        assert_chain_intact(w);
    });
}

#[test]
fn renewal_notices_are_queued_once() {
    on_both("batch_notices", date(2026, 11, 2), |w| {
        let (id, serial) = teenager_with_card(w, "10000000002");

        // The day before the notice date: nothing yet.
        let report = run(w, date(2031, 1, 1), 500);
        assert_eq!((report.card_notices, report.certificate_notices), (0, 0));
        assert!(notices(w, id).is_empty());

        // The notice date: one for the card, one per certificate.
        let report = run(w, date(2031, 1, 2), 500);
        assert_eq!(report.card_notices, 1, "{report:?}");
        assert_eq!(report.certificate_notices, 2, "{report:?}");
        let queued = notices(w, id);
        assert_eq!(queued.len(), 3);
        let card_notice = queued
            .iter()
            .find(|n| n.kind == NoticeKind::CardExpiry)
            .expect("card notice");
        assert_eq!(card_notice.subject, registry::NoticeSubject::Card(serial.clone()));
        assert_eq!(card_notice.due_on, date(2031, 4, 1));
        assert_eq!(card_notice.created_on, date(2031, 1, 2));

        // The next days (still in the window): no duplicates.
        let report = run(w, date(2031, 1, 3), 500);
        assert_eq!((report.card_notices, report.certificate_notices), (0, 0));
        let report = run(w, date(2031, 3, 1), 500);
        assert_eq!((report.card_notices, report.certificate_notices), (0, 0));
        assert_eq!(notices(w, id).len(), 3);
        assert_chain_intact(w);
    });
}

#[test]
fn a_night_without_a_batch_is_caught_up_the_next_night() {
    on_both("batch_catch_up", date(2026, 11, 2), |w| {
        let (id, _) = teenager_with_card(w, "10000000004");
        // The batch ran the day before the notice date, then missed the
        // notice date itself (2031-01-02).
        let report = run(w, date(2031, 1, 1), 500);
        assert_eq!(report.card_notices, 0);
        let report = run(w, date(2031, 1, 3), 500);
        assert_eq!((report.card_notices, report.certificate_notices), (1, 2), "{report:?}");
        assert_eq!(notices(w, id).len(), 3);
        assert_chain_intact(w);
    });
}

#[test]
fn foreign_residents_with_a_period_of_stay_get_no_notice() {
    on_both("batch_foreign", date(2026, 11, 2), |w| {
        let id = w
            .authority
            .register_resident(
                &w.clerk(CHIYODA),
                &w.key(),
                &NewResident {
                    municipality: CHIYODA.into(),
                    my_number: my_number("10000000003"),
                    name: "SMITH JOHN".into(),
                    name_kana: "スミス　ジョン".into(),
                    address: "東京都千代田区霞が関２－１－２".into(),
                    birth_date: date(1990, 6, 15),
                    sex: "male".into(),
                    nationality: "US".into(),
                    stay_until: Some(date(2029, 3, 31)),
                    permanent_resident: false,
                    seal_registered: false,
                    honseki: None,
                    household_id: None,
                    adult_ward: false,
                },
            )
            .expect("register");
        let serial = w.issue_card(id, ApplicationKind::New);
        let card = w
            .db()
            .read(|tx| registry::get_card(tx, &serial))
            .expect("read")
            .expect("card");
        assert_eq!(card.expires_on, date(2029, 3, 31), "bounded by the period of stay");
        // Well inside the window: nothing for this holder.
        let report = run(w, date(2029, 2, 1), 500);
        assert_eq!((report.card_notices, report.certificate_notices), (0, 0));
        assert!(notices(w, id).is_empty());
    });
}

#[test]
fn a_rerun_of_the_same_date_changes_nothing() {
    on_both("batch_rerun", date(2026, 11, 2), |w| {
        let (id, serial) = teenager_with_card(w, "10000000004");
        // The notice date, then the day after expiry: each run twice.
        for (day, expired) in [
            (date(2031, 1, 2), CardStatus::Active),
            (date(2031, 4, 2), CardStatus::Expired),
        ] {
            let first = run(w, day, 500);
            assert!(first.total() > 0, "{first:?}");
            let head = assert_chain_intact(w);
            let batch_entries = batch_audit(w).len();

            let again = run(w, day, 500);
            assert_eq!(again.total(), 0, "{again:?}");
            assert!(again.steps.iter().all(|s| s.outcome == StepOutcome::AlreadyDone));
            assert_eq!(
                (
                    again.reconciled,
                    again.lapsed,
                    again.cards_expired,
                    again.certificates_expired,
                    again.card_notices,
                    again.certificate_notices,
                    again.idempotency_purged
                ),
                (0, 0, 0, 0, 0, 0, 0)
            );
            assert_eq!(assert_chain_intact(w), head, "nothing appended to the audit log");
            assert_eq!(batch_audit(w).len(), batch_entries);
            assert_eq!(card_status(w, &serial), expired);
            assert_eq!(notices(w, id).len(), 3);
            let runs = w.db().read(|tx| registry::list_batch_runs(tx, day)).expect("runs");
            assert_eq!(runs.len(), BatchStep::ALL.len());
            assert!(runs.iter().all(|r| r.status == BatchStatus::Done), "{runs:?}");
        }
    });
}

#[test]
fn pages_and_a_crash_mid_step_resume_without_duplicates() {
    on_both("batch_resume", date(2026, 11, 2), |w| {
        let holders: Vec<(i64, String)> = ["10000000005", "10000000006", "10000000007"]
            .iter()
            .map(|base| teenager_with_card(w, base))
            .collect();
        let day = date(2031, 1, 2);
        w.set_today(day);
        let options = BatchOptions {
            page_size: 1,
            ..BatchOptions::default()
        };

        // Crash after the first page of the card notices has committed.
        let mut seen: Vec<BatchProgress> = Vec::new();
        let crashed = catch_unwind(AssertUnwindSafe(|| {
            w.authority.run_daily_batch_with(day, &options, &mut |p| {
                seen.push(p);
                if p.step == BatchStep::CardNotices && p.done == 1 {
                    panic!("simulated crash");
                }
            })
        }));
        assert!(crashed.is_err(), "the batch was to crash");
        let steps: Vec<BatchStep> = seen.iter().map(|p| p.step).collect();
        assert_eq!(
            steps.first(),
            Some(&BatchStep::Reconcile),
            "progress from the first step"
        );
        assert!(seen
            .iter()
            .any(|p| p.step == BatchStep::CardExpiries && p.total == Some(p.done)));
        let left = w
            .db()
            .read(|tx| registry::get_batch_run(tx, day, "card_notices"))
            .expect("read")
            .expect("the step was started");
        assert_eq!(left.status, BatchStatus::Running, "left running by the crash");
        assert_eq!(left.processed, 1);
        let mut serials: Vec<&str> = holders.iter().map(|(_, s)| s.as_str()).collect();
        serials.sort();
        let cursor = left.cursor.clone().expect("a cursor");
        assert!(
            cursor.starts_with("2031-04-01/") && cursor.ends_with(&format!("/{}", serials[0])),
            "the cursor: the expiry day, the window's width, the last serial done: {cursor}"
        );
        let queued: usize = holders.iter().map(|(id, _)| notices(w, *id).len()).sum();
        assert_eq!(queued, 1, "one page committed");

        // The next run resumes after the cursor, one card per page.
        let mut pages = 0;
        let report = w
            .authority
            .run_daily_batch_with(day, &options, &mut |p| {
                if p.step == BatchStep::CardNotices && p.done > 0 {
                    pages += 1;
                }
            })
            .expect("resumed batch");
        let step = |s: BatchStep| report.steps.iter().find(|r| r.step == s).expect("step").outcome;
        assert_eq!(step(BatchStep::Reconcile), StepOutcome::AlreadyDone);
        assert_eq!(step(BatchStep::CardNotices), StepOutcome::Resumed);
        assert_eq!(step(BatchStep::CertificateNotices), StepOutcome::Ran);
        assert_eq!(report.card_notices, 2, "{report:?}");
        assert_eq!(report.certificate_notices, 6, "{report:?}");
        assert!(pages >= 2, "paged one card at a time ({pages} pages)");
        for (id, _) in &holders {
            let mine = notices(w, *id);
            assert_eq!(mine.len(), 3, "one card and two certificate notices each: {mine:?}");
        }
        // The step's audit summary counts the whole step, both runs.
        let summary = batch_audit(w)
            .into_iter()
            .find(|r| r.action == "batch.card_notices")
            .expect("summary");
        let details: serde_json::Value = serde_json::from_str(&summary.details).expect("json");
        assert_eq!(details["count"], 3);
        assert_chain_intact(w);

        // Expiries in pages of two, with the step left failed-and-resumed
        // by hand: a failed step is resumed like a crashed one.
        let after = date(2031, 4, 2);
        w.set_today(after);
        w.db()
            .transaction(|tx| {
                registry::start_batch_step(tx, after, "card_expiries", w.clock.now())?;
                registry::finish_batch_step(tx, after, "card_expiries", BatchStatus::Failed, w.clock.now())
            })
            .expect("a failed step");
        let report = run(w, after, 2);
        assert_eq!(report.cards_expired, 3);
        assert_eq!(report.certificates_expired, 6);
        let step = report
            .steps
            .iter()
            .find(|r| r.step == BatchStep::CardExpiries)
            .expect("step");
        assert_eq!(step.outcome, StepOutcome::Resumed);
        for (_, serial) in &holders {
            assert_eq!(card_status(w, serial), CardStatus::Expired);
        }
        assert_chain_intact(w);
    });
}

#[test]
fn old_idempotency_records_are_purged() {
    on_both("batch_purge", date(2026, 11, 2), |w| {
        teenager_with_card(w, "10000000008");
        let count = |w: &World| {
            w.db()
                .read(|tx| -> Result<i64, StoreError> { tx.query_one("SELECT COUNT(*) FROM idempotency", &[])?.i64(0) })
                .expect("count")
        };
        let before = count(w);
        assert!(before >= 3, "register, apply, produce, deliver (+ municipalities)");
        // Six days on: kept.
        let report = run(w, date(2026, 11, 8), 500);
        assert_eq!(report.idempotency_purged, 0);
        // Eight days on: purged, in slices of an hour.
        let report = run(w, date(2026, 11, 10), 2);
        assert_eq!(report.idempotency_purged, u64::try_from(before).expect("count"));
        assert_eq!(count(w), 0);
        assert_chain_intact(w);
    });
}

#[test]
fn a_page_size_of_zero_is_refused() {
    on_both("batch_zero", date(2026, 11, 2), |w| {
        let err = w
            .authority
            .run_daily_batch_with(
                date(2026, 11, 2),
                &BatchOptions {
                    page_size: 0,
                    ..BatchOptions::default()
                },
                &mut |_| {},
            )
            .expect_err("refused");
        assert_eq!(err.code(), "bad_request");
    });
}

/// Volume: `MYNACARD_BATCH_SCALE` cards (default 100,000) written straight
/// into a SQLite registry, half of them past expiry, a quarter in the
/// notice window; the batch in pages of 500. Ignored by default (minutes):
/// `cargo test -p mynacard-authority --release --test batch -- --ignored`.
#[test]
#[ignore]
fn the_batch_pages_through_a_large_registry() {
    use mynacard_rules::card::Residence;
    use mynacard_rules::numbers::MunicipalityCode;
    use mynacard_store::registry::{CertKind, Resident, ResidentStatus, Sex};

    let n: u64 = std::env::var("MYNACARD_BATCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let w = World::new(Backend::Sqlite, "batch_scale", date(2026, 11, 2));
    let now = w.clock.now();
    let started = std::time::Instant::now();
    let mut i = 0u64;
    while i < n {
        let end = (i + 10_000).min(n);
        w.db()
            .transaction(|tx| -> Result<(), StoreError> {
                for k in i..end {
                    let r = registry::insert_resident(
                        tx,
                        &Resident {
                            municipality: MunicipalityCode::parse(CHIYODA).expect("code"),
                            my_number: MyNumber::complete(&format!("{:011}", 20_000_000_000 + k)).expect("number"),
                            name: "番号　花子".into(),
                            name_kana: "バンゴウ　ハナコ".into(),
                            address: "東京都千代田区".into(),
                            birth_date: date(1980, 1, 1),
                            sex: Sex::Female,
                            nationality: "JP".into(),
                            residence: Residence::Japanese,
                            status: ResidentStatus::Resident,
                            status_changed_on: None,
                            seal_registered: false,
                            honseki: Some("東京都".into()),
                            household_id: None,
                            support_measure: false,
                            adult_ward: false,
                            moved_in_on: None,
                            move_in_notified_on: None,
                            planned_move_out_on: None,
                            moved_out_on: None,
                        },
                        now,
                    )?;
                    let expires = date(2031, 1, 1) + chrono::TimeDelta::days((k % 365) as i64);
                    let serial = format!("{:016X}", 0xA000_0000_0000_0000u64 + k);
                    registry::insert_card(
                        tx,
                        &registry::Card {
                            serial: serial.clone(),
                            resident_id: r.id,
                            application_id: None,
                            status: CardStatus::Active,
                            face_recognition: false,
                            issued_on: date(2021, 1, 1),
                            expires_on: expires,
                            delivered_on: Some(date(2021, 1, 1)),
                            lapsed_on: None,
                            lapse_reason: None,
                            image_location: None,
                            status_changed_at: now,
                        },
                    )?;
                    registry::insert_certificate(
                        tx,
                        &registry::CertificateRecord {
                            serial: format!("{:032X}", 0xB000_0000u64 + k),
                            card_serial: Some(serial),
                            resident_id: r.id,
                            kind: CertKind::Auth,
                            platform: None,
                            status: CertificateStatus::Good,
                            issued_on: date(2021, 1, 1),
                            not_after: expires,
                            revoked_at: None,
                            reason: None,
                        },
                    )?;
                }
                Ok(())
            })
            .expect("load");
        i = end;
    }
    eprintln!("loaded {n} residents, cards, certificates in {:?}", started.elapsed());
    let day = date(2031, 7, 2);
    w.set_today(day);
    let started = std::time::Instant::now();
    let mut current: Option<(BatchStep, std::time::Instant)> = None;
    let report = w
        .authority
        .run_daily_batch(day, &mut |p| {
            if current.is_none_or(|(step, _)| step != p.step) {
                if let Some((step, since)) = current {
                    eprintln!("  {step}: {:?}", since.elapsed());
                }
                current = Some((p.step, std::time::Instant::now()));
            }
        })
        .expect("batch");
    if let Some((step, since)) = current {
        eprintln!("  {step}: {:?}", since.elapsed());
    }
    eprintln!("batch in {:?}: {report:?}", started.elapsed());
    assert!(report.cards_expired > n / 3, "{report:?}");
    assert_eq!(report.cards_expired, report.certificates_expired);
    assert!(report.card_notices > 0);
    let started = std::time::Instant::now();
    let again = w.authority.run_daily_batch(day, &mut |_| {}).expect("rerun");
    assert_eq!(again.total(), 0);
    eprintln!("rerun in {:?}", started.elapsed());
    assert_chain_intact(&w);
}
