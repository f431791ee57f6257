//! The `mynacard` binary as a clerk uses it: the worked examples of
//! rules.md through `mynacard rules … --json`, the bilingual text, and bad
//! input that must end in one line on stderr and a non-zero status.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn finish(output: Output) -> Run {
    let run = Run {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    };
    assert!(
        !run.stdout.contains("panicked") && !run.stderr.contains("panicked"),
        "panic: {}{}",
        run.stdout,
        run.stderr
    );
    run
}

fn run(args: &[&str]) -> Run {
    finish(
        Command::new(env!("CARGO_BIN_EXE_mynacard"))
            .args(args)
            .output()
            .expect("run mynacard"),
    )
}

fn run_with_stdin(args: &[&str], input: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mynacard"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mynacard");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    finish(child.wait_with_output().expect("wait mynacard"))
}

/// `mynacard rules <args> --json`: must succeed with one JSON object.
fn json(args: &[&str]) -> Value {
    let mut all = vec!["rules"];
    all.extend_from_slice(args);
    all.push("--json");
    let r = run(&all);
    assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    assert!(r.stderr.is_empty(), "{args:?}: {}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).expect("one JSON document");
    assert!(v.is_object(), "{v}");
    v
}

/// `mynacard rules <args>` in text mode: must succeed; every line bilingual.
fn text(args: &[&str]) -> String {
    let mut all = vec!["rules"];
    all.extend_from_slice(args);
    let r = run(&all);
    assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    assert!(!r.stdout.is_empty());
    for l in r.stdout.lines() {
        let (label, _) = l.split_once(": ").unwrap_or_else(|| panic!("no label in {l:?}"));
        assert!(label.contains(" / "), "label not bilingual: {l:?}");
        assert!(!label.is_ascii(), "no Japanese in the label: {l:?}");
    }
    r.stdout
}

/// A failure: the exit status, one line on stderr, nothing on stdout.
fn fails(args: &[&str], code: i32) -> String {
    let r = run(args);
    assert_eq!(r.code, code, "{args:?}: stdout {} stderr {}", r.stdout, r.stderr);
    assert!(r.stdout.is_empty(), "{args:?}: stdout in text mode: {}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "{args:?}: not one line: {:?}", r.stderr);
    assert!(r.stderr.starts_with("mynacard: "), "{args:?}: {}", r.stderr);
    assert!(r.stderr.ends_with('\n'));
    r.stderr
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

// ---------------------------------------------------------------------------
// card-expiry (rules.md §2, §5)

#[test]
fn card_expiry_worked_example_of_rules_md() {
    let v = json(&[
        "card-expiry",
        "--born",
        "2008-05-01",
        "--issued",
        "2026-05-10",
        "--application-received",
        "2026-04-10",
    ]);
    assert_eq!(s(&v, "card_expiry"), "2036-05-01");
    assert_eq!(s(&v, "regime"), "18");
    assert_eq!(v["age_at_issuance"], 18);
    assert_eq!(s(&v, "basis"), "tenth_birthday");
    assert_eq!(s(&v, "renewal_window_start"), "2036-02-02");
    assert_eq!(s(&v, "notice_date"), "2036-02-02");
}

#[test]
fn card_expiry_policies_regimes_and_residence() {
    let base = [
        "card-expiry",
        "--born",
        "2008-05-01",
        "--issued",
        "2026-05-10",
        "--application-received",
        "2026-04-10",
    ];
    // Age test on the application day: 17, so the 5-year card.
    let mut args = base.to_vec();
    args.extend(["--policy", "age_test_date=application_received"]);
    let v = json(&args);
    assert_eq!((s(&v, "card_expiry"), s(&v, "basis")), ("2031-05-01", "fifth_birthday"));
    assert_eq!(v["age_at_test"], 17);
    // rules.md §1: born 29 February.
    let leap = ["card-expiry", "--born", "2004-02-29", "--issued", "2025-04-01"];
    assert_eq!(s(&json(&leap), "card_expiry"), "2035-02-28");
    let mut args = leap.to_vec();
    args.extend(["--policy", "feb29=mar1"]);
    assert_eq!(s(&json(&args), "card_expiry"), "2035-03-01");
    // Application received before 2022-04-01: the 20 regime.
    let v = json(&[
        "card-expiry",
        "--born",
        "2003-01-10",
        "--issued",
        "2022-04-20",
        "--application-received",
        "2022-03-31",
    ]);
    assert_eq!((s(&v, "card_expiry"), s(&v, "regime")), ("2027-01-10", "20"));
    // A period of stay bounds the card, and no notice is sent.
    let v = json(&[
        "card-expiry",
        "--born",
        "1990-01-01",
        "--issued",
        "2026-01-15",
        "--stay-until",
        "2028-03-31",
    ]);
    assert_eq!((s(&v, "card_expiry"), s(&v, "basis")), ("2028-03-31", "end_of_stay"));
    assert!(v["notice_date"].is_null());
    let v = json(&[
        "card-expiry",
        "--born",
        "1980-07-07",
        "--issued",
        "2026-01-15",
        "--permanent-resident",
    ]);
    assert_eq!(s(&v, "card_expiry"), "2035-07-07");
    assert!(v["notice_date"].is_string());
}

#[test]
fn card_expiry_text_is_bilingual() {
    let out = text(&[
        "card-expiry",
        "--born",
        "2008-05-01",
        "--issued",
        "2026-05-10",
        "--application-received",
        "2026-04-10",
    ]);
    assert!(out.contains("カードの有効期限 / Card expiry: 2036-05-01\n"), "{out}");
    assert!(out.contains("成年年齢の区分 / Age-of-majority regime: 18歳"), "{out}");
    assert!(out.contains("発行日時点の年齢 / Age at issuance: 18\n"), "{out}");
    assert!(
        out.contains("更新可能期間の開始 / Renewal window opens: 2036-02-02\n"),
        "{out}"
    );
    assert!(
        out.contains("有効期限通知書の送付日 / Renewal notice sent: 2036-02-02\n"),
        "{out}"
    );
    let out = text(&[
        "card-expiry",
        "--born",
        "1990-01-01",
        "--issued",
        "2026-01-15",
        "--stay-until",
        "2028-03-31",
    ]);
    assert!(
        out.contains("有効期限通知書の送付日 / Renewal notice sent: 送付なし"),
        "{out}"
    );
}

#[test]
fn card_expiry_refused_facts() {
    let err = fails(
        &[
            "rules",
            "card-expiry",
            "--born",
            "2000-01-01",
            "--issued",
            "2026-01-01",
            "--stay-until",
            "2030-01-01",
            "--permanent-resident",
        ],
        1,
    );
    assert!(
        err.contains("--stay-until") && err.contains("--permanent-resident"),
        "{err}"
    );
    let err = fails(
        &[
            "rules",
            "card-expiry",
            "--born",
            "2000-01-01",
            "--issued",
            "2026-01-01",
            "--application-received",
            "2026-01-02",
        ],
        1,
    );
    assert!(err.contains("2026-01-02"), "{err}");
    let err = fails(
        &["rules", "card-expiry", "--born", "2027-01-01", "--issued", "2026-01-01"],
        1,
    );
    assert!(err.contains("2027-01-01"), "{err}");
    let err = fails(
        &["rules", "card-expiry", "--born", "2000-01-01", "--issued", "2015-12-31"],
        1,
    );
    assert!(err.contains("2015-12-31"), "{err}");
}

#[test]
fn card_expiry_application_received_before_birth() {
    let args = [
        "rules",
        "card-expiry",
        "--born",
        "2026-03-01",
        "--issued",
        "2026-05-01",
        "--application-received",
        "2026-02-01",
    ];
    let err = fails(&args, 1);
    assert!(
        err.contains("2026-02-01") && err.contains("birth") && err.contains("2026-03-01"),
        "{err}"
    );
    let mut args = args.to_vec();
    args.push("--json");
    let r = run(&args);
    assert_eq!(r.code, 1);
    let v: Value = serde_json::from_str(&r.stdout).expect("JSON error");
    assert_eq!(v["error"]["code"], "before_birth");
}

// ---------------------------------------------------------------------------
// cert-expiry (§3)

#[test]
fn cert_expiry_worked_examples_of_rules_md() {
    // Renewed in the window: the 6th birthday, which is the card's cap.
    let v = json(&[
        "cert-expiry",
        "--born",
        "1980-06-15",
        "--issued",
        "2026-04-01",
        "--card-expiry",
        "2031-06-15",
        "--previous-expiry",
        "2026-06-15",
    ]);
    assert_eq!(s(&v, "sign_cert_expiry"), "2031-06-15");
    assert_eq!(s(&v, "auth_cert_expiry"), "2031-06-15");
    assert_eq!(v["renewal_bonus"], true);
    assert!(v["sign_cert_refusal"].is_null());
    // Renewed after expiry: a new issuance, the 5th birthday.
    let v = json(&[
        "cert-expiry",
        "--born",
        "1980-06-15",
        "--issued",
        "2026-07-01",
        "--card-expiry",
        "2031-06-15",
        "--previous-expiry",
        "2026-06-15",
    ]);
    assert_eq!(
        (s(&v, "sign_cert_expiry"), v["renewal_bonus"].as_bool()),
        ("2031-06-15", Some(false))
    );
    // The bonus where the card does not cap it.
    let v = json(&[
        "cert-expiry",
        "--born",
        "1980-06-15",
        "--issued",
        "2026-03-16",
        "--card-expiry",
        "2040-06-15",
        "--previous-expiry",
        "2026-06-15",
    ]);
    assert_eq!(s(&v, "auth_cert_expiry"), "2031-06-15");
    // A kept auth certificate caps the signature certificate.
    let v = json(&[
        "cert-expiry",
        "--born",
        "1980-06-15",
        "--issued",
        "2026-08-01",
        "--card-expiry",
        "2035-06-15",
        "--auth-expiry",
        "2028-06-15",
    ]);
    assert_eq!(
        (s(&v, "sign_cert_expiry"), s(&v, "auth_cert_expiry")),
        ("2028-06-15", "2028-06-15")
    );
}

#[test]
fn cert_expiry_refusals_and_policies() {
    let young = [
        "cert-expiry",
        "--born",
        "2012-01-01",
        "--issued",
        "2026-12-31",
        "--card-expiry",
        "2031-01-01",
    ];
    let v = json(&young);
    assert!(v["sign_cert_expiry"].is_null());
    assert_eq!(s(&v, "sign_cert_refusal"), "under_minimum_age");
    assert_eq!(s(&v, "auth_cert_expiry"), "2031-01-01");
    let mut args = young.to_vec();
    args.extend(["--policy", "sign_cert_min_age=14"]);
    assert_eq!(s(&json(&args), "sign_cert_expiry"), "2031-01-01");
    let out = text(&young);
    assert!(
        out.contains("署名用電子証明書の有効期限 / Signature certificate expiry: 発行しない / not issued"),
        "{out}"
    );
    assert!(out.contains("15歳未満 / under 15"), "{out}");
    assert!(out.contains("利用者証明用電子証明書の有効期限"), "{out}");

    let ward = [
        "cert-expiry",
        "--born",
        "1950-01-01",
        "--issued",
        "2026-01-01",
        "--card-expiry",
        "2035-01-01",
        "--adult-ward",
    ];
    assert_eq!(s(&json(&ward), "sign_cert_refusal"), "adult_ward");
    let mut args = ward.to_vec();
    args.extend(["--policy", "sign_cert_for_adult_wards=true"]);
    assert!(json(&args)["sign_cert_expiry"].is_string());

    let err = fails(
        &[
            "rules",
            "cert-expiry",
            "--born",
            "1980-01-01",
            "--issued",
            "2026-01-02",
            "--card-expiry",
            "2026-01-01",
        ],
        1,
    );
    assert!(err.contains("2026-01-01"), "{err}");
}

#[test]
fn cert_expiry_kept_auth_certificate_cannot_outlive_the_card() {
    let args = [
        "rules",
        "cert-expiry",
        "--born",
        "1980-06-15",
        "--issued",
        "2026-08-01",
        "--card-expiry",
        "2030-06-15",
        "--auth-expiry",
        "2031-06-15",
    ];
    let err = fails(&args, 1);
    assert!(
        err.contains("--auth-expiry") && err.contains("2031-06-15") && err.contains("2030-06-15"),
        "{err}"
    );
    let mut args = args.to_vec();
    args.push("--json");
    let r = run(&args);
    assert_eq!(r.code, 1);
    let v: Value = serde_json::from_str(&r.stdout).expect("JSON error");
    assert_eq!(v["error"]["code"], "auth_outlives_card");
    // On the card's expiry itself it is allowed.
    let v = json(&[
        "cert-expiry",
        "--born",
        "1980-06-15",
        "--issued",
        "2026-08-01",
        "--card-expiry",
        "2030-06-15",
        "--auth-expiry",
        "2030-06-15",
    ]);
    assert_eq!(s(&v, "auth_cert_expiry"), "2030-06-15");
}

// ---------------------------------------------------------------------------
// renewal (§5)

#[test]
fn renewal_windows_of_rules_md() {
    let v = json(&["renewal", "--expiry", "2026-06-15"]);
    assert_eq!(
        (s(&v, "renewal_window_start"), s(&v, "notice_date")),
        ("2026-03-16", "2026-03-16")
    );
    assert_eq!(s(&v, "renewal_window_end"), "2026-06-15");
    assert_eq!(
        s(&json(&["renewal", "--expiry", "2026-05-31"]), "renewal_window_start"),
        "2026-03-01"
    );
    let v = json(&[
        "renewal",
        "--expiry",
        "2026-05-31",
        "--policy",
        "renewal_month_end=roll_forward_then_next_day",
    ]);
    assert_eq!(s(&v, "renewal_window_start"), "2026-03-02");
    let v = json(&["--policy", "notice_lead=2", "renewal", "--expiry", "2026-06-15"]);
    assert_eq!(s(&v, "notice_date"), "2026-04-16");
    assert_eq!(
        json(&["renewal", "--expiry", "2026-06-15", "--on", "2026-03-15"])["in_window"],
        false
    );
    assert_eq!(
        json(&["renewal", "--expiry", "2026-06-15", "--on", "2026-03-16"])["in_window"],
        true
    );
    let out = text(&["renewal", "--expiry", "2026-06-15"]);
    assert!(
        out.contains("更新可能期間の開始 / Renewal window opens: 2026-03-16\n"),
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// lapse (§7)

fn lapse(args: &[&str]) -> Value {
    let mut all = vec!["lapse", "--card-expiry", "2035-01-01"];
    all.extend_from_slice(args);
    json(&all)
}

fn lapse_summary(v: &Value) -> (String, String, bool) {
    (
        s(v, "lapse_date").to_owned(),
        s(v, "reason").to_owned(),
        v["lapsed"].as_bool().expect("lapsed"),
    )
}

#[test]
fn lapse_move_in_within_14_days() {
    // Moved in on 2026-04-01: notified on 04-15 is in time, on 04-16 late.
    let v = lapse(&[
        "--moved-in",
        "2026-04-01",
        "--move-in-notified",
        "2026-04-16",
        "--today",
        "2026-04-20",
    ]);
    assert_eq!(lapse_summary(&v), ("2026-04-16".into(), "late_move_in".into(), true));
    assert_eq!(v["deadlines"], serde_json::json!([]));
    let v = lapse(&[
        "--moved-in",
        "2026-04-01",
        "--move-in-notified",
        "2026-04-15",
        "--today",
        "2026-04-20",
    ]);
    assert_eq!(
        lapse_summary(&v),
        ("2026-07-15".into(), "card_not_updated_after_move_in".into(), false)
    );
    assert_eq!(
        v["deadlines"],
        serde_json::json!([{"last_day": "2026-07-14", "reason": "card_not_updated_after_move_in", "step": "update_card"}])
    );
}

#[test]
fn lapse_move_in_within_30_days_of_the_planned_move_out() {
    let out = ["--move-out-notified", "2026-03-20", "--planned-move-out", "2026-04-01"];
    let mut args = out.to_vec();
    args.extend(["--today", "2026-05-02"]);
    assert_eq!(
        lapse_summary(&lapse(&args)),
        ("2026-05-02".into(), "no_move_in_after_move_out".into(), true)
    );
    let mut args = out.to_vec();
    args.extend(["--today", "2026-04-20"]);
    let v = lapse(&args);
    assert_eq!(
        lapse_summary(&v),
        ("2026-05-02".into(), "no_move_in_after_move_out".into(), false)
    );
    assert_eq!(v["deadlines"][0]["last_day"], "2026-05-01");
    assert_eq!(v["deadlines"][0]["reason"], "no_move_in_after_move_out");
    // A move-in notified on 2026-05-01 is in time.
    let mut args = out.to_vec();
    args.extend([
        "--moved-in",
        "2026-04-30",
        "--move-in-notified",
        "2026-05-01",
        "--today",
        "2026-05-02",
    ]);
    let v = lapse(&args);
    assert_eq!(v["lapsed"], false);
    assert_eq!(s(&v, "reason"), "card_not_updated_after_move_in");
}

#[test]
fn lapse_card_update_within_90_days() {
    let moved = ["--moved-in", "2026-04-05", "--move-in-notified", "2026-04-10"];
    let mut args = moved.to_vec();
    args.extend(["--today", "2026-07-10"]);
    assert_eq!(
        lapse_summary(&lapse(&args)),
        ("2026-07-10".into(), "card_not_updated_after_move_in".into(), true)
    );
    let mut args = moved.to_vec();
    args.extend(["--card-updated", "2026-07-09", "--today", "2026-07-10"]);
    let v = lapse(&args);
    assert_eq!(lapse_summary(&v), ("2035-01-02".into(), "expired".into(), false));
    assert_eq!(v["deadlines"], serde_json::json!([]));
    // Moving again within the 90 days lapses the card on the second move.
    let mut args = moved.to_vec();
    args.extend([
        "--second-move-out-notified",
        "2026-06-01",
        "--second-planned-move-out",
        "2026-06-10",
        "--today",
        "2026-06-02",
    ]);
    assert_eq!(
        lapse_summary(&lapse(&args)),
        ("2026-06-01".into(), "moved_again_before_update".into(), true)
    );
}

#[test]
fn lapse_other_causes() {
    let v = json(&["lapse", "--card-expiry", "2030-01-31", "--today", "2030-02-01"]);
    assert_eq!(lapse_summary(&v), ("2030-02-01".into(), "expired".into(), true));
    let v = json(&["lapse", "--card-expiry", "2030-01-31", "--today", "2030-01-31"]);
    assert_eq!(v["lapsed"], false);
    assert_eq!(
        s(&lapse(&["--died", "2027-03-03", "--today", "2027-03-03"]), "reason"),
        "death"
    );
    assert_eq!(
        s(
            &lapse(&["--record-removed", "2027-03-03", "--today", "2027-04-01"]),
            "reason"
        ),
        "record_removed"
    );
    let v = lapse(&["--returned", "2027-03-03", "--today", "2027-03-03"]);
    assert_eq!(lapse_summary(&v), ("2027-03-03".into(), "returned".into(), true));
    // Continued use abroad from 2024-05-27, never for foreign nationals.
    let v = lapse(&[
        "--departed-abroad",
        "2024-05-27",
        "--continued-use-abroad",
        "--today",
        "2026-01-01",
    ]);
    assert_eq!(s(&v, "reason"), "expired");
    let v = lapse(&[
        "--departed-abroad",
        "2024-05-26",
        "--continued-use-abroad",
        "--today",
        "2026-01-01",
    ]);
    assert_eq!(lapse_summary(&v), ("2024-05-26".into(), "departed_abroad".into(), true));
    let v = lapse(&[
        "--departed-abroad",
        "2024-06-01",
        "--continued-use-abroad",
        "--foreign-national",
        "--today",
        "2026-01-01",
    ]);
    assert_eq!(s(&v, "reason"), "departed_abroad");
    // A foreign resident's card bounded by the period of stay.
    let stay = ["lapse", "--card-expiry", "2027-03-31", "--bounded-by-stay"];
    let mut args = stay.to_vec();
    args.extend(["--today", "2027-04-01"]);
    assert_eq!(
        lapse_summary(&json(&args)),
        ("2027-04-01".into(), "stay_ended".into(), true)
    );
    let mut args = stay.to_vec();
    args.extend([
        "--validity-changed",
        "2027-03-20",
        "--new-expiry",
        "2030-03-31",
        "--today",
        "2027-04-01",
    ]);
    assert_eq!(
        lapse_summary(&json(&args)),
        ("2030-04-01".into(), "stay_ended".into(), false)
    );
}

#[test]
fn lapse_text_is_bilingual() {
    let out = text(&[
        "lapse",
        "--card-expiry",
        "2035-01-01",
        "--moved-in",
        "2026-04-01",
        "--move-in-notified",
        "2026-04-16",
        "--today",
        "2026-04-20",
    ]);
    assert!(out.contains("失効日 / Lapsed on: 2026-04-16\n"), "{out}");
    assert!(
        out.contains("失効理由 / Reason for lapse: 転入届の遅延 / move-in notified late\n"),
        "{out}"
    );
    let out = text(&[
        "lapse",
        "--card-expiry",
        "2035-01-01",
        "--moved-in",
        "2026-04-01",
        "--move-in-notified",
        "2026-04-15",
        "--today",
        "2026-04-20",
    ]);
    assert!(out.contains("手続の期限 / Deadline: 2026-07-14"), "{out}");
}

#[test]
fn lapse_today_defaults_to_the_date_in_japan() {
    let japan = || {
        (chrono::Utc::now() + chrono::TimeDelta::hours(9))
            .date_naive()
            .to_string()
    };
    let before = japan();
    let v = lapse(&[]);
    let after = japan();
    let today = s(&v, "today");
    assert!(today == before || today == after, "{today} not {before} or {after}");
}

#[test]
fn lapse_bad_histories() {
    // A move-in before the planned move-out.
    let err = fails(
        &[
            "rules",
            "lapse",
            "--card-expiry",
            "2035-01-01",
            "--move-out-notified",
            "2026-03-20",
            "--planned-move-out",
            "2026-04-01",
            "--moved-in",
            "2026-03-25",
            "--move-in-notified",
            "2026-03-26",
            "--today",
            "2026-05-01",
        ],
        1,
    );
    assert!(err.contains("2026-03-25") && err.contains("2026-04-01"), "{err}");
    // Notified before moving in.
    fails(
        &[
            "rules",
            "lapse",
            "--card-expiry",
            "2035-01-01",
            "--moved-in",
            "2026-04-10",
            "--move-in-notified",
            "2026-04-05",
            "--today",
            "2026-05-01",
        ],
        1,
    );
    // An event after today is not a fact yet.
    let err = fails(
        &[
            "rules",
            "lapse",
            "--card-expiry",
            "2035-01-01",
            "--returned",
            "2027-01-01",
            "--today",
            "2026-12-31",
        ],
        1,
    );
    assert!(err.contains("2027-01-01"), "{err}");
    // Paired flags must come together.
    for (given, missing) in [
        ("--move-out-notified", "--planned-move-out"),
        ("--planned-move-out", "--move-out-notified"),
        ("--moved-in", "--move-in-notified"),
        ("--move-in-notified", "--moved-in"),
        ("--second-move-out-notified", "--second-planned-move-out"),
        ("--validity-changed", "--new-expiry"),
        ("--new-expiry", "--validity-changed"),
    ] {
        let err = fails(
            &["rules", "lapse", "--card-expiry", "2035-01-01", given, "2026-03-01"],
            2,
        );
        assert!(err.contains(missing), "{given}: {err}");
    }
    let err = fails(
        &[
            "rules",
            "lapse",
            "--card-expiry",
            "2035-01-01",
            "--continued-use-abroad",
        ],
        2,
    );
    assert!(err.contains("--departed-abroad"), "{err}");
}

// ---------------------------------------------------------------------------
// fee (§10)

fn fee(args: &[&str]) -> (u64, String) {
    let mut all = vec!["fee"];
    all.extend_from_slice(args);
    let v = json(&all);
    (v["fee_yen"].as_u64().expect("fee_yen"), s(&v, "reason").to_owned())
}

#[test]
fn fee_table_of_rules_md() {
    assert_eq!(fee(&["--cause", "first-issuance"]), (0, "first_issuance_free".into()));
    assert_eq!(fee(&["--cause", "renewal", "--with-certs"]), (0, "renewal_free".into()));
    assert_eq!(fee(&["--cause", "loss"]), (800, "reissue_card_only".into()));
    assert_eq!(
        fee(&["--cause", "loss", "--with-certs"]),
        (1000, "reissue_with_certificates".into())
    );
    for cause in ["loss", "theft", "fire", "damage", "malfunction"] {
        assert_eq!(fee(&["--cause", cause, "--with-certs"]).0, 1000, "{cause}");
        assert_eq!(
            fee(&["--cause", cause, "--with-certs", "--not-holders-fault"]),
            (0, "not_holders_fault_free".into())
        );
    }
    assert_eq!(
        fee(&["--cause", "full-entries", "--with-certs"]),
        (0, "full_entries_free".into())
    );
    assert_eq!(fee(&["--cause", "stay-expired"]), (800, "reissue_card_only".into()));
    assert_eq!(
        fee(&["--cause", "stay-expired", "--with-certs"]),
        (1000, "reissue_with_certificates".into())
    );
    // The renewal window: opens on 2026-03-16 for an expiry on 2026-06-15.
    assert_eq!(
        fee(&["--cause", "renewal", "--expiry", "2026-06-15", "--today", "2026-03-16"]).0,
        0
    );
    assert_eq!(
        fee(&["--cause", "renewal", "--expiry", "2026-06-15", "--today", "2027-01-01"]).0,
        0
    );
    let err = fails(
        &[
            "rules",
            "fee",
            "--cause",
            "renewal",
            "--expiry",
            "2026-06-15",
            "--today",
            "2026-03-15",
        ],
        1,
    );
    assert!(err.contains("2026-03-16"), "{err}");
}

#[test]
fn fee_text_and_misuse() {
    let out = text(&["fee", "--cause", "loss", "--with-certs"]);
    assert!(out.contains("手数料 / Fee: 1,000円 / 1,000 yen\n"), "{out}");
    assert!(out.contains("交付事由 / Cause: 紛失 / loss\n"), "{out}");
    let out = text(&["fee", "--cause", "first-issuance"]);
    assert!(out.contains("手数料 / Fee: 無料 / free\n"), "{out}");
    let err = fails(&["rules", "fee", "--cause", "stay-expired", "--not-holders-fault"], 1);
    assert!(err.contains("--not-holders-fault"), "{err}");
    let err = fails(&["rules", "fee", "--cause", "loss", "--expiry", "2026-06-15"], 2);
    assert!(err.contains("--expiry"), "{err}");
    let err = fails(&["rules", "fee", "--cause", "renewal", "--today", "2026-06-15"], 2);
    assert!(err.contains("--expiry"), "{err}");
    let err = fails(&["rules", "fee", "--cause", "lost"], 2);
    assert!(err.contains("lost") && err.contains("loss"), "{err}");
}

// ---------------------------------------------------------------------------
// my-number (§15) and municipality-code (§16)

#[test]
fn my_number_check_and_completion() {
    let v = json(&["my-number", "123456789018"]);
    assert_eq!(v["valid"], true);
    assert!(v["reason"].is_null());
    let v = json(&["my-number", "123456789017"]);
    assert_eq!(
        (v["valid"].as_bool(), s(&v, "reason")),
        (Some(false), "check_digit_mismatch")
    );
    let v = json(&["my-number", "12345"]);
    assert_eq!((v["valid"].as_bool(), s(&v, "reason")), (Some(false), "wrong_format"));
    let v = json(&["my-number", "--complete", "12345678901"]);
    assert_eq!(s(&v, "my_number"), "123456789018");
    assert_eq!(v["check_digit"], 8);

    // A checked number is not repeated back.
    let out = text(&["my-number", "123456789018"]);
    assert!(out.contains("個人番号 / My Number: 有効 / valid"), "{out}");
    assert!(!out.contains("123456789018"), "{out}");
    let out = text(&["my-number", "123456789017"]);
    assert!(out.contains("無効 / invalid") && out.contains("検査用数字"), "{out}");
    let out = text(&["my-number", "12345"]);
    assert!(out.contains("12桁の数字ではない / not 12 digits"), "{out}");

    let err = fails(&["rules", "my-number", "--complete", "1234"], 2);
    assert!(err.contains("--complete") && err.contains("1234"), "{err}");
    fails(&["rules", "my-number"], 2);
    fails(&["rules", "my-number", "123456789018", "--complete", "12345678901"], 2);
}

#[test]
fn municipality_codes() {
    let v = json(&["municipality-code", "131016"]);
    assert_eq!(v["valid"], true);
    assert_eq!(s(&v, "prefecture"), "13");
    assert_eq!(v["prefecture_name"]["en"], "Tokyo");
    let v = json(&["municipality-code", "011002"]);
    assert_eq!(
        (s(&v, "prefecture"), v["prefecture_name"]["ja"].as_str()),
        ("01", Some("北海道"))
    );
    assert_eq!(
        s(&json(&["municipality-code", "131017"]), "reason"),
        "check_digit_mismatch"
    );
    assert_eq!(
        s(&json(&["municipality-code", "480002"]), "reason"),
        "no_such_prefecture"
    );
    let v = json(&["municipality-code", "13101"]);
    assert_eq!((v["valid"].as_bool(), s(&v, "reason")), (Some(false), "wrong_format"));
    assert!(v["prefecture"].is_null());
    assert_eq!(
        s(&json(&["municipality-code", "--complete", "13101"]), "code"),
        "131016"
    );
    let v = json(&["municipality-code", "472018"]);
    assert_eq!(
        (s(&v, "prefecture"), v["prefecture_name"]["ja"].as_str()),
        ("47", Some("沖縄県"))
    );
    let out = text(&["municipality-code", "131016"]);
    assert!(out.contains("地方公共団体コード / Municipality code: 131016"), "{out}");
    assert!(out.contains("東京都 / Tokyo"), "{out}");
    let out = text(&["municipality-code", "13101"]);
    assert!(out.contains("6桁の数字ではない / not 6 digits"), "{out}");
    let out = text(&["municipality-code", "480002"]);
    assert!(out.contains("都道府県コードが01〜47ではない"), "{out}");
    let out = text(&["municipality-code", "131017"]);
    assert!(out.contains("検査用数字の不一致"), "{out}");
    let err = fails(&["rules", "municipality-code", "--complete", "48000"], 2);
    assert!(err.contains("--complete"), "{err}");
}

// ---------------------------------------------------------------------------
// pin (§4)

#[test]
fn pin_formats_and_retry_limits() {
    let v = json(&["pin", "--kind", "sign", "ZX81QP"]);
    assert_eq!((v["valid"].as_bool(), v["retry_limit"].as_u64()), (Some(true), Some(5)));
    assert!(v["reason"].is_null());
    assert_eq!(s(&v, "kind"), "signature");
    for (kind, pin, reason) in [
        ("sign", "zx81qp", "lowercase"),
        ("sign", "ZX81Q", "too_short"),
        ("sign", "ZXCVBNMASDFGHJKL1", "too_long"),
        ("sign", "ZXCVBN", "no_digit"),
        ("sign", "918273", "no_letter"),
        ("sign", "ZX-81QP", "bad_character"),
        ("auth", "917", "not_four_digits"),
        ("registry", "91a7", "not_digits"),
        ("input-support", "91735", "not_four_digits"),
    ] {
        let v = json(&["pin", "--kind", kind, pin]);
        assert_eq!(
            (v["valid"].as_bool(), s(&v, "reason")),
            (Some(false), reason),
            "{kind} {pin}"
        );
    }
    for kind in ["auth", "registry", "input-support"] {
        let v = json(&["pin", "--kind", kind, "9173"]);
        assert_eq!(
            (v["valid"].as_bool(), v["retry_limit"].as_u64()),
            (Some(true), Some(3)),
            "{kind}"
        );
    }
}

#[test]
fn pin_is_never_shown() {
    for args in [
        vec!["rules", "pin", "--kind", "auth", "9173"],
        vec!["rules", "pin", "--kind", "auth", "9173", "--json"],
        vec!["rules", "pin", "--kind", "sign", "ZX81QP"],
        vec!["rules", "pin", "--kind", "sign", "ZX81QP", "--json"],
        vec!["rules", "pin", "--kind", "sign", "zx81qp"],
        vec!["rules", "pin", "--kind", "auth", "-9173"],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        for secret in ["9173", "ZX81QP", "zx81qp"] {
            assert!(
                !r.stdout.contains(secret) && !r.stderr.contains(secret),
                "{args:?} shows the PIN: {}",
                r.stdout
            );
        }
    }
    // Errors do not repeat it either.
    for args in [
        vec!["rules", "pin", "--kind", "auth", "9173", "5528"],
        vec!["rules", "pin", "--kind", "auth", "9173", "5528", "--json"],
        vec!["rules", "pin", "--kind", "bogus", "9173"],
        vec!["rules", "pin", "9173"],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        for secret in ["9173", "5528"] {
            assert!(
                !r.stdout.contains(secret) && !r.stderr.contains(secret),
                "{args:?}: {}{}",
                r.stdout,
                r.stderr
            );
        }
    }
    let out = text(&["pin", "--kind", "sign", "zx81qp"]);
    assert!(out.contains("暗証番号 / PIN: 署名用電子証明書の暗証番号"), "{out}");
    assert!(out.contains("英小文字"), "{out}");
}

#[test]
fn pin_from_stdin() {
    let r = run_with_stdin(&["rules", "pin", "--kind", "auth", "--json"], "9173\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(v["valid"], true);
    assert!(!r.stdout.contains("9173"));
    let r = run_with_stdin(&["rules", "pin", "--kind", "sign"], "");
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.lines().count(), 1);
}

// ---------------------------------------------------------------------------
// one-stop (§14), kiosk (§13), smartphone (§12), face-card (§11), timeline

#[test]
fn one_stop_window_and_refusals() {
    let refusals = |filed: &str| {
        let v = json(&["one-stop", "--filed", filed, "--move-date", "2026-04-01"]);
        assert_eq!(
            v["eligible"].as_bool(),
            Some(v["refusals"].as_array().is_some_and(Vec::is_empty))
        );
        v["refusals"].clone()
    };
    assert_eq!(refusals("2026-03-01"), serde_json::json!(["too_early"]));
    assert_eq!(refusals("2026-03-02"), serde_json::json!([]));
    assert_eq!(refusals("2026-04-11"), serde_json::json!([]));
    assert_eq!(refusals("2026-04-12"), serde_json::json!(["too_late"]));
    let v = json(&["one-stop", "--filed", "2023-02-05", "--move-date", "2023-02-10"]);
    assert_eq!(v["refusals"], serde_json::json!(["not_yet_available"]));
    let v = json(&[
        "one-stop",
        "--filed",
        "2026-03-20",
        "--move-date",
        "2026-04-01",
        "--abroad",
        "--age-at-card-issuance",
        "14",
        "--no-signature-certificate",
        "--face-card",
    ]);
    assert_eq!(
        v["refusals"],
        serde_json::json!([
            "abroad",
            "card_issued_under_15",
            "no_valid_signature_certificate",
            "face_recognition_card"
        ])
    );
    assert_eq!(v["eligible"], false);
    let v = json(&["one-stop", "--filed", "2026-03-20", "--move-date", "2026-04-01"]);
    assert_eq!(
        (s(&v, "filing_window_start"), s(&v, "filing_window_end")),
        ("2026-03-02", "2026-04-11")
    );
    assert_eq!(s(&v, "visit_deadline"), "2026-04-15");
    let out = text(&["one-stop", "--filed", "2026-03-01", "--move-date", "2026-04-01"]);
    assert!(
        out.contains("引越しワンストップサービス / Moving one-stop: 利用不可 / not eligible"),
        "{out}"
    );
}

#[test]
fn kiosk_service_hours() {
    let open = |at: &str| json(&["kiosk", "--at", at])["open"].as_bool().expect("open");
    assert!(!open("2026-06-01T06:29"));
    assert!(open("2026-06-01T06:30"));
    assert!(open("2026-06-01T22:59"));
    assert!(!open("2026-06-01T23:00"));
    assert!(open("2026-06-01 12:00"));
    let v = json(&["kiosk", "--at", "2026-12-29T12:00"]);
    assert_eq!(
        (v["open"].as_bool(), s(&v, "reason")),
        (Some(false), "year_end_closure")
    );
    assert_eq!(
        s(&json(&["kiosk", "--at", "2026-06-01T05:00"]), "reason"),
        "outside_service_hours"
    );
    assert!(json(&["kiosk"])["open"].is_boolean());
    let out = text(&["kiosk", "--at", "2026-06-01T22:00"]);
    assert!(
        out.contains("コンビニ交付サービス / Convenience-store issuance: 提供中 / open"),
        "{out}"
    );
    let err = fails(&["rules", "kiosk", "--at", "2026-06-01T25:00"], 2);
    assert!(err.contains("--at 2026-06-01T25:00"), "{err}");
    let err = fails(&["rules", "kiosk", "--at", "2026-02-30T10:00"], 2);
    assert!(err.contains("28 days"), "{err}");
}

#[test]
fn kiosk_maintenance_windows() {
    let window = "2026-06-01T09:00/2026-06-01T11:00";
    let at = |at: &str| json(&["kiosk", "--at", at, "--maintenance", window]);
    assert_eq!(at("2026-06-01T08:59")["open"], true);
    let v = at("2026-06-01T09:00");
    assert_eq!((v["open"].as_bool(), s(&v, "reason")), (Some(false), "maintenance"));
    assert_eq!(s(&at("2026-06-01T10:59"), "reason"), "maintenance");
    // The end is excluded.
    let v = at("2026-06-01T11:00");
    assert_eq!(v["open"], true);
    assert!(v["reason"].is_null());
    // Repeatable: each window closes the service.
    let two = |at: &str| {
        json(&[
            "kiosk",
            "--at",
            at,
            "--maintenance",
            window,
            "--maintenance",
            "2026-06-02 20:00/2026-06-03 07:00",
        ])
    };
    assert_eq!(s(&two("2026-06-01T10:00"), "reason"), "maintenance");
    assert_eq!(s(&two("2026-06-02T21:00"), "reason"), "maintenance");
    assert_eq!(s(&two("2026-06-03T06:45"), "reason"), "maintenance");
    assert_eq!(two("2026-06-03T07:00")["open"], true);
    // Outside the service hours the hours are the reason, not the window.
    assert_eq!(s(&two("2026-06-03T05:00"), "reason"), "outside_service_hours");
    let out = text(&["kiosk", "--at", "2026-06-01T10:00", "--maintenance", window]);
    assert!(out.contains("理由 / Reason: メンテナンス中 / maintenance\n"), "{out}");
    assert!(out.contains("提供時間外 / closed"), "{out}");
    // UNTIL must come after FROM; both must be times.
    for (bad, says) in [
        ("2026-06-01T11:00/2026-06-01T11:00", "UNTIL must be after FROM"),
        ("2026-06-01T11:00/2026-06-01T09:00", "UNTIL must be after FROM"),
        ("2026-06-01T11:00", "FROM/UNTIL"),
        ("2026-06-01T11:00/2026-06-01T25:00", "UNTIL 2026-06-01T25:00"),
        ("2026-02-30T11:00/2026-06-01T12:00", "28 days"),
    ] {
        let err = fails(&["rules", "kiosk", "--maintenance", bad], 2);
        assert!(
            err.contains(&format!("--maintenance {bad}")) && err.contains(says),
            "{bad}: {err}"
        );
    }
    let r = run(&[
        "rules",
        "kiosk",
        "--json",
        "--maintenance",
        "2026-06-01T11:00/2026-06-01T09:00",
    ]);
    assert_eq!(r.code, 2);
    let v: Value = serde_json::from_str(&r.stdout).expect("JSON error");
    assert_eq!(v["error"]["code"], "bad_maintenance");
}

#[test]
fn smartphone_platforms_by_date() {
    assert_eq!(
        json(&["smartphone", "--on", "2023-05-10"])["platforms"],
        serde_json::json!([])
    );
    assert_eq!(
        json(&["smartphone", "--on", "2023-05-11"])["platforms"],
        serde_json::json!(["android"])
    );
    assert_eq!(
        json(&["smartphone", "--on", "2025-06-23"])["platforms"],
        serde_json::json!(["android"])
    );
    assert_eq!(
        json(&["smartphone", "--on", "2025-06-24"])["platforms"],
        serde_json::json!(["android", "iphone"])
    );
    let out = text(&["smartphone", "--on", "2025-06-24"]);
    assert!(
        out.contains("スマホ用電子証明書の対応機種 / Smartphone certificate platforms: Android, iPhone"),
        "{out}"
    );
}

#[test]
fn face_card_uses() {
    let v = json(&["face-card", "--use", "medical-eligibility", "--on", "2026-01-01"]);
    assert_eq!(v["allowed"], true);
    assert!(v["reason"].is_null());
    assert_eq!(
        json(&["face-card", "--use", "identity-check", "--on", "2026-01-01"])["allowed"],
        true
    );
    for use_ in [
        "myna-portal",
        "convenience-store-issuance",
        "e-filing",
        "smartphone-certificate",
        "moving-one-stop",
        "pin",
    ] {
        let v = json(&["face-card", "--use", use_, "--on", "2026-01-01"]);
        assert_eq!(
            (v["allowed"].as_bool(), s(&v, "reason")),
            (Some(false), "needs_pin"),
            "{use_}"
        );
    }
    let v = json(&["face-card", "--use", "medical-eligibility", "--on", "2023-12-14"]);
    assert_eq!(s(&v, "reason"), "not_yet_available");
    assert_eq!(
        json(&["face-card", "--use", "medical-eligibility", "--on", "2023-12-15"])["allowed"],
        true
    );
    fails(&["rules", "face-card", "--use", "karaoke"], 2);
}

#[test]
fn timeline_and_policies() {
    let v = json(&["timeline"]);
    let days: Vec<&str> = v["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| s(c, "effective"))
        .collect();
    assert_eq!(
        days,
        [
            "2016-01-01",
            "2022-04-01",
            "2023-02-06",
            "2023-05-11",
            "2023-12-15",
            "2024-05-27",
            "2025-06-24"
        ]
    );
    assert_eq!(s(&v["changes"][1], "change"), "age_of_majority_18");
    let v = json(&["timeline", "--on", "2024-05-27"]);
    let in_force: Vec<bool> = v["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["in_force"].as_bool().expect("bool"))
        .collect();
    assert_eq!(in_force, [true, true, true, true, true, true, false]);
    let out = text(&["timeline"]);
    assert!(
        out.contains("成年年齢の18歳への引下げ / Age of majority lowered to 18: 2022-04-01"),
        "{out}"
    );

    let v = json(&["policies", "--policy", "notice_lead=2", "--policy", "feb29=mar1"]);
    let policies = v["policies"].as_array().expect("policies");
    assert_eq!(policies.len(), 7);
    let get = |name: &str| policies.iter().find(|p| p["name"] == name).cloned().expect(name);
    assert_eq!(
        (s(&get("notice_lead"), "value"), s(&get("notice_lead"), "default")),
        ("2", "3")
    );
    assert_eq!(s(&get("feb29"), "value"), "mar1");
    assert_eq!(s(&get("age_test_date"), "value"), "issuance");
}

// ---------------------------------------------------------------------------
// Bad input, help and version

#[test]
fn impossible_date_is_one_line_naming_the_flag() {
    let r = run(&["rules", "card-expiry", "--born", "2026-02-30", "--issued", "2026-05-10"]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());
    assert_eq!(
        r.stderr,
        "mynacard: --born 2026-02-30: not a date: 2026-02 has 28 days\n"
    );
    let err = fails(&["rules", "renewal", "--expiry", "2026-13-01"], 2);
    assert!(err.contains("--expiry 2026-13-01") && err.contains("month"), "{err}");
    let err = fails(
        &["rules", "lapse", "--card-expiry", "2035-01-01", "--today", "26-01-01"],
        2,
    );
    assert!(err.contains("--today 26-01-01"), "{err}");
}

#[test]
fn json_errors_are_one_line_on_stderr_and_an_object_on_stdout() {
    let r = run(&[
        "rules",
        "--json",
        "card-expiry",
        "--born",
        "2026-02-30",
        "--issued",
        "2026-05-10",
    ]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.lines().count(), 1);
    let v: Value = serde_json::from_str(&r.stdout).expect("JSON error");
    assert_eq!(v["error"]["code"], "bad_date");
    assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains("--born")));
    let r = run(&[
        "rules",
        "lapse",
        "--card-expiry",
        "2035-01-01",
        "--returned",
        "2027-01-01",
        "--today",
        "2026-12-31",
        "--json",
    ]);
    assert_eq!(r.code, 1);
    let v: Value = serde_json::from_str(&r.stdout).expect("JSON error");
    assert_eq!(v["error"]["code"], "inconsistent_events");
    let r = run(&[
        "rules",
        "lapse",
        "--json",
        "--card-expiry",
        "2035-01-01",
        "--moved-in",
        "2026-01-01",
    ]);
    assert_eq!(r.code, 2);
    let v: Value = serde_json::from_str(&r.stdout).expect("JSON error");
    assert_eq!(v["error"]["code"], "usage");
}

#[test]
fn usage_errors_are_one_line() {
    let err = fails(
        &["rules", "renewal", "--expiry", "2026-06-15", "--policy", "colour=blue"],
        2,
    );
    assert!(
        err.contains("--policy colour=blue") && err.contains("no such policy"),
        "{err}"
    );
    let err = fails(
        &[
            "rules",
            "--policy",
            "notice_lead=4",
            "renewal",
            "--expiry",
            "2026-06-15",
        ],
        2,
    );
    assert!(err.contains("notice_lead=4"), "{err}");
    let err = fails(&["rules"], 2);
    assert!(err.contains("card-expiry") && err.contains("lapse"), "{err}");
    let err = fails(&[], 2);
    assert!(err.contains("rules"), "{err}");
    let err = fails(&["rules", "card-expiry", "--bron", "2000-01-01"], 2);
    assert!(err.contains("--bron"), "{err}");
    let err = fails(&["rules", "card-expiry", "--born", "2000-01-01"], 2);
    assert!(err.contains("--issued"), "{err}");
    let err = fails(&["rules", "no-such-thing"], 2);
    assert!(err.contains("no-such-thing"), "{err}");
    let err = fails(&["no-such-command"], 2);
    assert!(err.contains("no-such-command"), "{err}");
    // `serve` runs until stopped: only its usage errors are tried here.
    let err = fails(&["serve", "--listen", "nowhere"], 2);
    assert!(err.contains("--listen"), "{err}");
}

#[test]
fn help_and_version_still_work() {
    for args in [
        vec!["--help"],
        vec!["rules", "--help"],
        vec!["rules", "lapse", "--help"],
        vec!["help", "rules"],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 0, "{args:?}");
        assert!(r.stdout.contains("Usage:"), "{args:?}: {}", r.stdout);
    }
    let r = run(&["rules", "--help"]);
    assert!(
        r.stdout.contains("--json") && r.stdout.contains("Exit status"),
        "{}",
        r.stdout
    );
    let r = run(&["--version"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("mynacard "), "{}", r.stdout);
}
