//! Atomicity under failure: an operation that fails at any point leaves
//! nothing half-done, and its retry with the same idempotency key acts
//! once — with failures injected at every point of the operation run, and
//! with a real process killed (SIGKILL) at random moments of production.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use mynacard_authority::issuance::NewApplication;
use mynacard_authority::{Actor, Fault};
use mynacard_pki::status::CertStatus;
use mynacard_pki::Serial;
use mynacard_store::registry::{self, ApplicationChannel, ApplicationKind, ApplicationStatus, CardStatus};
use mynacard_store::{audit, StoreError};
use serde_json::Value;

fn application(w: &World, resident: i64) -> i64 {
    w.authority
        .apply(
            &w.clerk(CHIYODA),
            &w.key(),
            &NewApplication {
                resident_id: resident,
                kind: ApplicationKind::New,
                channel: ApplicationChannel::Window,
                face_recognition: false,
                signature_wanted: true,
                jlis_received_on: None,
            },
        )
        .expect("apply")
}

/// Every end-entity certificate the CA still holds good.
fn ca_good(w: &World) -> Vec<String> {
    let now = w.authority.clock().now();
    w.authority
        .ca()
        .repository()
        .good_issued_between(now - chrono::TimeDelta::days(30), now + chrono::TimeDelta::days(1))
        .expect("CA")
        .iter()
        .map(|r| r.serial.to_hex())
        .collect()
}

fn cards_of(w: &World, resident: i64) -> Vec<registry::Card> {
    w.db()
        .read(|tx| registry::list_cards_for_resident(tx, resident))
        .expect("cards")
}

#[test]
fn a_production_that_fails_before_its_commit_leaves_nothing_and_its_retry_acts_once() {
    on_both("fault-produce", date(2026, 11, 2), |w| {
        let resident = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let app = application(w, resident);
        for point in [Fault::BeforeRecord, Fault::InRecord] {
            w.authority.inject_fault(point);
            let err = w
                .authority
                .produce(&Actor::producer(), "produce-1", app)
                .expect_err("injected");
            assert!(err.to_string().contains("injected"), "{err}");
            // Not done at all: no card, the application open, every
            // certificate made for it revoked, no image left.
            assert!(cards_of(w, resident).is_empty(), "{point:?}: no card recorded");
            let status = w
                .db()
                .read(|tx| registry::get_application(tx, app))
                .expect("read")
                .expect("application")
                .status;
            assert_eq!(status, ApplicationStatus::Received, "{point:?}");
            assert!(
                ca_good(w).is_empty(),
                "{point:?}: the CA holds no good certificate for it"
            );
            assert!(
                w.authority.cards().producing().is_empty(),
                "{point:?}: no card image left"
            );
        }
        let produced = w
            .authority
            .produce(&Actor::producer(), "produce-1", app)
            .expect("retry");
        let cards = cards_of(w, resident);
        assert_eq!(cards.len(), 1);
        assert_eq!(cards[0].serial, produced.card_serial);
        assert_eq!(
            ca_good(w).len(),
            2,
            "the auth and signature certificates of the one card"
        );
        assert!(w.authority.cards().path(&produced.card_serial).exists());
        assert!(audit::verify(w.db()).expect("verify").is_intact());
    });
}

#[test]
fn a_production_that_fails_after_its_commit_is_done_and_its_retry_finishes_it() {
    on_both("fault-after", date(2026, 11, 2), |w| {
        let resident = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let app = application(w, resident);
        w.authority.inject_fault(Fault::AfterRecord);
        w.authority
            .produce(&Actor::producer(), "produce-1", app)
            .expect_err("injected after the commit");
        let cards = cards_of(w, resident);
        assert_eq!(cards.len(), 1, "recorded: fully done");
        assert_eq!(cards[0].status, CardStatus::Produced);
        assert!(
            !w.authority.cards().path(&cards[0].serial).exists(),
            "the image not yet in place"
        );
        let produced = w
            .authority
            .produce(&Actor::producer(), "produce-1", app)
            .expect("retry");
        assert_eq!(
            produced.card_serial, cards[0].serial,
            "the retry answers the recorded card"
        );
        assert!(
            w.authority.cards().path(&produced.card_serial).exists(),
            "and puts its image in place"
        );
        assert_eq!(cards_of(w, resident).len(), 1);
        assert_eq!(ca_good(w).len(), 2);
        // Delivery works on it.
        w.authority
            .deliver(&w.clerk(CHIYODA), "deliver-1", &produced.card_serial, &pins())
            .expect("deliver");
    });
}

#[test]
fn a_delivery_that_fails_leaves_the_card_produced_and_its_retry_delivers_once() {
    on_both("fault-deliver", date(2026, 11, 2), |w| {
        let resident = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let app = application(w, resident);
        let produced = w.authority.produce(&Actor::producer(), "p", app).expect("produce");
        for point in [Fault::BeforeRecord, Fault::InRecord] {
            w.authority.inject_fault(point);
            w.authority
                .deliver(&w.clerk(CHIYODA), "deliver-1", &produced.card_serial, &pins())
                .expect_err("injected");
            let card = w
                .db()
                .read(|tx| registry::get_card(tx, &produced.card_serial))
                .expect("read")
                .expect("card");
            assert_eq!(card.status, CardStatus::Produced, "{point:?}: not delivered");
        }
        let delivered = w
            .authority
            .deliver(&w.clerk(CHIYODA), "deliver-1", &produced.card_serial, &pins())
            .expect("retry");
        let again = w
            .authority
            .deliver(&w.clerk(CHIYODA), "deliver-1", &produced.card_serial, &pins())
            .expect("replayed");
        assert_eq!(delivered, again);
        let entries = w
            .db()
            .read(|tx| audit::list(tx, 0, 1000).map(|all| all.iter().filter(|e| e.action == "card.deliver").count()))
            .expect("audit");
        assert_eq!(entries, 1, "one delivery recorded");
    });
}

/// The example `lifecycle_worker`, which `cargo test` builds beside the
/// test binaries (target/…/examples/).
fn worker(args: &[&str], data: &Path) -> Command {
    let exe = std::env::current_exe().expect("test binary");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir
        .join("examples")
        .join(format!("lifecycle_worker{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: cargo test builds the examples",
        path.display()
    );
    let mut command = Command::new(path);
    command
        .args(args)
        .arg("--data")
        .arg(data)
        .args(["--today", "2026-11-02"]);
    command
}

fn json_of(mut command: Command) -> Value {
    let out = command.output().expect("run the worker");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// xorshift64*: deterministic delays for a given seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

#[test]
fn production_killed_at_random_moments_is_done_once_or_not_at_all() {
    let seed = 0x4D59_4E41_4341_5244;
    eprintln!("seed {seed:#x}");
    let mut rng = Rng(seed);
    let root = std::env::temp_dir().join(format!("mynacard-kill-{}", std::process::id()));
    let mut killed_before_answer = 0;
    for round in 0..8 {
        let data = root.join(format!("round-{round}"));
        let _ = std::fs::remove_dir_all(&data);
        let setup = json_of(worker(&["setup"], &data));
        let app = setup["application"].as_i64().expect("application").to_string();
        let resident = setup["resident"].as_i64().expect("resident").to_string();
        // Production, killed somewhere between start-up and the end.
        let mut child = worker(&["produce", "--application", &app, "--key", "produce-1"], &data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(150 + rng.below(700)));
        if child.try_wait().expect("wait").is_none() {
            killed_before_answer += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        // The retry with the same key completes; a second retry answers the same.
        let first = json_of(worker(&["produce", "--application", &app, "--key", "produce-1"], &data));
        let second = json_of(worker(&["produce", "--application", &app, "--key", "produce-1"], &data));
        assert_eq!(first, second, "round {round}: the same key answers the same card");
        let check = json_of(worker(&["check", "--resident", &resident], &data));
        let cards = check["cards"].as_array().expect("cards");
        assert_eq!(cards.len(), 1, "round {round}: one card: {check}");
        assert_eq!(cards[0], first["card_serial"], "round {round}");
        assert_eq!(check["images"], check["cards"], "round {round}: its image in place");
        assert_eq!(
            check["producing"].as_array().map(Vec::len),
            Some(0),
            "round {round}: {check}"
        );
        let mut registry_good: Vec<_> = check["registry_good"].as_array().expect("good").clone();
        let mut ca_good: Vec<_> = check["ca_good"].as_array().expect("good").clone();
        registry_good.sort_by_key(|v| v.to_string());
        ca_good.sort_by_key(|v| v.to_string());
        assert_eq!(registry_good.len(), 2, "round {round}: {check}");
        assert_eq!(
            ca_good, registry_good,
            "round {round}: the CA holds good exactly what the registry does"
        );
        assert_eq!(check["audit_intact"], Value::Bool(true), "round {round}");
        let _ = std::fs::remove_dir_all(&data);
    }
    eprintln!("{killed_before_answer} of 8 productions killed before they answered");
    assert!(killed_before_answer >= 3, "the kills must land inside production");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_certificate_status_the_ca_missed_is_pushed_by_reconciliation() {
    on_both("fault-push", date(2026, 11, 2), |w| {
        let resident = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let card = w.issue_card(resident, ApplicationKind::New);
        // The registry revokes; the process "dies" before telling the CA.
        let serial = w
            .db()
            .transaction(|tx| {
                let certs = registry::list_certificates_for_card(tx, &card)?;
                let sign = certs
                    .iter()
                    .find(|c| c.kind == registry::CertKind::Sign)
                    .expect("sign")
                    .clone();
                registry::set_certificate_status(
                    tx,
                    &sign.serial,
                    sign.status,
                    registry::CertificateStatus::Revoked,
                    w.authority.clock().now(),
                    Some(mynacard_pki::status::CrlReason::AffiliationChanged),
                )?;
                Ok::<_, StoreError>(sign.serial)
            })
            .expect("revoke in the registry");
        let at_ca = |w: &World| {
            w.authority
                .ca()
                .repository()
                .certificate(&Serial::from_hex(&serial).expect("serial"))
                .expect("CA")
                .expect("known")
                .status
        };
        assert_eq!(at_ca(w), CertStatus::Good);
        let done = w.authority.reconcile().expect("reconcile");
        assert_eq!(done.statuses_pushed, vec![serial.clone()]);
        assert!(matches!(at_ca(w), CertStatus::Revoked { .. }));
        assert!(
            w.authority.reconcile().expect("again").statuses_pushed.is_empty(),
            "idempotent"
        );
    });
}

mod move_in_and_reissue {
    use super::*;
    use mynacard_authority::loss::{LossReport, LostCard, Reissue, ReissueEvidenceGiven};
    use mynacard_authority::moves::{Destination, MoveIn, MoveOut};
    use mynacard_rules::fee::FeeCause;
    use mynacard_store::registry::{CertKind, ResidentStatus};
    use mynacard_store::registry::{LossCause, LossChannel};
    use zeroize::Zeroizing;

    const SAPPORO_ADDRESS: &str = "北海道札幌市中央区北１条西２丁目";

    fn count_actions(w: &World, action: &str) -> usize {
        w.db()
            .read(|tx| audit::list(tx, 0, 10_000).map(|all| all.iter().filter(|e| e.action == action).count()))
            .expect("audit")
    }

    fn moved_out(w: &World) -> (i64, String) {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let serial = w.issue_card(id, ApplicationKind::New);
        w.authority
            .move_out(
                &w.clerk(CHIYODA),
                &w.key(),
                &MoveOut {
                    resident_id: id,
                    planned_move_out_on: date(2026, 4, 1),
                    destination: Destination::Municipality(SAPPORO.into()),
                    abroad_with_continued_use: false,
                },
            )
            .expect("move-out");
        w.set_today(date(2026, 4, 3));
        (id, serial)
    }

    fn move_in_request(id: i64) -> MoveIn {
        MoveIn {
            resident_id: id,
            municipality: SAPPORO.into(),
            moved_in_on: date(2026, 4, 2),
            new_address: SAPPORO_ADDRESS.into(),
            continued_use: true,
            registry_pin: Zeroizing::new("2468".into()),
            new_signature_certificate: true,
        }
    }

    #[test]
    fn a_move_in_that_fails_before_its_commit_changes_nothing_and_its_retry_acts_once() {
        on_both("fault-move-in", date(2026, 3, 25), |w| {
            let (id, serial) = moved_out(w);
            let good_before = ca_good(w);
            for point in [Fault::BeforeRecord, Fault::InRecord] {
                w.authority.inject_fault(point);
                w.authority
                    .move_in(&w.clerk(SAPPORO), "move-in-1", &move_in_request(id))
                    .expect_err("injected");
                let r = w
                    .db()
                    .read(|tx| registry::get_resident(tx, id))
                    .expect("read")
                    .expect("resident");
                assert_eq!(r.status, ResidentStatus::MovedOut, "{point:?}: not moved in");
                assert!(!r.address.starts_with("北海道"), "{point:?}: the old address");
                let entries = w
                    .db()
                    .read(|tx| registry::list_surface_entries(tx, &serial))
                    .expect("entries");
                assert!(
                    entries.iter().all(|e| !e.text.contains("札幌")),
                    "{point:?}: no surface entry"
                );
                assert_eq!(
                    ca_good(w),
                    good_before,
                    "{point:?}: the signature certificate made for it is revoked"
                );
            }
            let moved = w
                .authority
                .move_in(&w.clerk(SAPPORO), "move-in-1", &move_in_request(id))
                .expect("retry");
            let again = w
                .authority
                .move_in(&w.clerk(SAPPORO), "move-in-1", &move_in_request(id))
                .expect("replayed");
            assert_eq!(format!("{moved:?}"), format!("{again:?}"));
            assert_eq!(count_actions(w, "resident.move_in"), 1, "one move-in recorded");
            let valid_sign = w
                .db()
                .read(|tx| registry::valid_certificate(tx, id, CertKind::Sign))
                .expect("read");
            let sign = valid_sign.expect("a new signature certificate");
            assert!(ca_good(w).contains(&sign.serial));
            assert!(audit::verify(w.db()).expect("verify").is_intact());
        });
    }

    fn lost(w: &World) -> (i64, String) {
        let id = w.resident("123456789018", "番号　花子", date(1985, 4, 1));
        let serial = w.issue_card(id, ApplicationKind::New);
        w.authority
            .suspend_lost_card(
                &Actor::hotline("hotline:001"),
                &w.key(),
                &LossReport {
                    card: LostCard::Serial(serial.clone()),
                    cause: LossCause::Loss,
                    reported_at: None,
                    channel: LossChannel::Hotline,
                    note: None,
                },
            )
            .expect("suspend");
        (id, serial)
    }

    fn reissue_request(id: i64) -> Reissue {
        Reissue {
            resident_id: id,
            cause: FeeCause::Loss,
            evidence: ReissueEvidenceGiven {
                police_receipt_number: Some("R-2026-000123".into()),
                ..ReissueEvidenceGiven::default()
            },
            not_holders_fault: None,
            with_certificates: true,
        }
    }

    #[test]
    fn a_reissue_that_fails_before_its_commit_charges_nothing_and_its_retry_charges_once() {
        on_both("fault-reissue", date(2026, 11, 2), |w| {
            let (id, serial) = lost(w);
            for point in [Fault::BeforeRecord, Fault::InRecord] {
                w.authority.inject_fault(point);
                w.authority
                    .reissue(&w.clerk(CHIYODA), "reissue-1", &reissue_request(id))
                    .expect_err("injected");
                let fees = w.db().read(|tx| registry::list_fees(tx, id)).expect("fees");
                assert!(fees.is_empty(), "{point:?}: no fee charged");
                let card = w
                    .db()
                    .read(|tx| registry::get_card(tx, &serial))
                    .expect("read")
                    .expect("card");
                assert_eq!(card.status, CardStatus::Suspended, "{point:?}: the old card as it was");
            }
            let done = w
                .authority
                .reissue(&w.clerk(CHIYODA), "reissue-1", &reissue_request(id))
                .expect("retry");
            let again = w
                .authority
                .reissue(&w.clerk(CHIYODA), "reissue-1", &reissue_request(id))
                .expect("replayed");
            assert_eq!(format!("{done:?}"), format!("{again:?}"));
            let fees = w.db().read(|tx| registry::list_fees(tx, id)).expect("fees");
            assert_eq!(fees.len(), 1, "charged once");
            assert_eq!(fees[0].amount_yen, 1000);
        });
    }

    #[test]
    fn a_reissue_that_fails_after_its_commit_reaches_the_ca_through_reconciliation() {
        on_both("fault-reissue-after", date(2026, 11, 2), |w| {
            let (id, serial) = lost(w);
            let held: Vec<String> = w
                .db()
                .read(|tx| registry::list_certificates_for_card(tx, &serial))
                .expect("certs")
                .iter()
                .map(|c| c.serial.clone())
                .collect();
            w.authority.inject_fault(Fault::AfterRecord);
            w.authority
                .reissue(&w.clerk(CHIYODA), "reissue-1", &reissue_request(id))
                .expect_err("injected after the commit");
            // Recorded: the registry revoked the held certificates; the CA
            // has them on hold still, until reconciliation.
            let at_ca = |serial: &str| {
                w.authority
                    .ca()
                    .repository()
                    .certificate(&Serial::from_hex(serial).expect("serial"))
                    .expect("CA")
                    .expect("known")
                    .status
            };
            let pushed = w.authority.reconcile().expect("reconcile").statuses_pushed;
            for serial in &held {
                assert!(pushed.contains(serial), "{serial} pushed");
                assert!(
                    matches!(at_ca(serial), CertStatus::Revoked { reason, .. } if reason != mynacard_pki::status::CrlReason::CertificateHold),
                    "{serial} revoked for good at the CA"
                );
            }
            let fees = w.db().read(|tx| registry::list_fees(tx, id)).expect("fees");
            assert_eq!(fees.len(), 1);
        });
    }
}
