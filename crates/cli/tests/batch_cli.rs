//! `mynacard batch daily` and `mynacard audit verify` as an operator runs
//! them: a fresh data directory is set up by the first run, the report in
//! text and JSON, a rerun that does nothing, and a tampered audit log that
//! `audit verify` names by its seq.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], today: Option<&str>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mynacard"));
    command.args(args).env_remove("MYNACARD_TODAY");
    if let Some(day) = today {
        command.env("MYNACARD_TODAY", day);
    }
    let output = command.output().expect("run mynacard");
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

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.stdout))
}

/// A data directory removed when dropped.
struct DataDir(PathBuf);

impl DataDir {
    fn new(name: &str) -> DataDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        DataDir(std::env::temp_dir().join(format!("mynacard-cli-{name}-{}-{nanos}", std::process::id())))
    }

    fn arg(&self) -> &str {
        self.0.to_str().expect("UTF-8 path")
    }

    fn registry(&self) -> PathBuf {
        self.0.join("registry.db")
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn assert_bilingual(text: &str) {
    assert!(!text.is_empty());
    for l in text.lines() {
        let (label, _) = l.split_once(": ").unwrap_or_else(|| panic!("no label in {l:?}"));
        assert!(label.contains(" / "), "label not bilingual: {l:?}");
        assert!(!label.is_ascii(), "no Japanese in the label: {l:?}");
    }
}

#[test]
fn the_daily_batch_sets_up_a_fresh_system_and_reports() {
    let data = DataDir::new("daily");
    let r = run(&["batch", "daily", "--data", data.arg(), "--date", "2026-11-02"], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.is_empty(),
        "no progress bar when stderr is no terminal: {}",
        r.stderr
    );
    assert_bilingual(&r.stdout);
    assert!(r.stdout.contains("処理日 / Batch date: 2026-11-02"), "{}", r.stdout);
    assert!(
        r.stdout.contains("有効期限通知書（カード） / Card renewal notices: 0"),
        "{}",
        r.stdout
    );
    assert!(data.registry().exists(), "the registry was set up");
    assert!(data.0.join("ca").is_dir(), "the CA was set up");

    // The same day again: every step already done.
    let r = run(
        &["batch", "daily", "--data", data.arg(), "--date", "2026-11-02", "--json"],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = json(&r);
    assert_eq!(report["date"], "2026-11-02");
    let steps = report["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 7);
    assert!(
        steps.iter().all(|s| s["outcome"] == "already_done" && s["count"] == 0),
        "{report}"
    );
    for key in [
        "reconciled",
        "lapsed",
        "cards_expired",
        "certificates_expired",
        "card_notices",
    ] {
        assert_eq!(report[key], 0, "{key}");
    }

    // The day from the clock: MYNACARD_TODAY.
    let r = run(&["batch", "daily", "--data", data.arg(), "--json"], Some("2026-11-03"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = json(&r);
    assert_eq!(report["date"], "2026-11-03");
    assert!(report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .all(|s| s["outcome"] == "ran"));

    // Bad input: one line, exit 2.
    let r = run(&["batch", "daily", "--data", data.arg(), "--date", "2026-02-30"], None);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    let r = run(&["batch", "daily", "--data", data.arg()], Some("tomorrow"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("MYNACARD_TODAY"), "{}", r.stderr);
}

fn tamper(registry: &Path, seq: i64) {
    let conn = rusqlite::Connection::open(registry).expect("open the registry");
    // The append-only trigger (migrations/sqlite/0002_audit_log.sql) first:
    // what someone with the file in hand could do.
    conn.execute_batch("DROP TRIGGER audit_log_no_update")
        .expect("drop the trigger");
    let changed = conn
        .execute("UPDATE audit_log SET details = '{\"count\":999}' WHERE seq = ?1", [seq])
        .expect("alter a row");
    assert_eq!(changed, 1);
}

#[test]
fn audit_verify_names_the_first_broken_entry() {
    let data = DataDir::new("verify");
    let r = run(&["audit", "verify", "--data", data.arg()], None);
    assert_eq!(r.code, 2, "no registry yet: {}", r.stderr);

    for day in ["2026-11-02", "2026-11-03"] {
        let r = run(&["batch", "daily", "--data", data.arg(), "--date", day], None);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let r = run(&["audit", "verify", "--data", data.arg()], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_bilingual(&r.stdout);
    assert!(r.stdout.contains("検証件数 / Entries verified: 14"), "{}", r.stdout);
    let r = run(&["audit", "verify", "--data", data.arg(), "--json"], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = json(&r);
    assert_eq!(report["intact"], true);
    assert_eq!(report["checked"], 14);
    assert_eq!(report["last_seq"], 14);

    tamper(&data.registry(), 5);
    let r = run(&["audit", "verify", "--data", data.arg()], None);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("seq 5"), "{}", r.stderr);
    assert!(r.stderr.contains("altered"), "{}", r.stderr);
    let r = run(&["audit", "verify", "--data", data.arg(), "--json"], None);
    assert_eq!(r.code, 1);
    let error = json(&r);
    assert_eq!(error["error"]["code"], "audit_chain_broken");
    assert!(
        error["error"]["message"].as_str().expect("message").contains("seq 5"),
        "{error}"
    );
}
