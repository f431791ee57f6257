//! `mynacard staff …` and `mynacard api-key …` as an operator runs them on
//! a fresh data directory: an account whose password (given or generated)
//! logs in, refusals with their codes and exit statuses, a disabled
//! account that no longer logs in, a key that opens the server until
//! revoked — every change in an intact audit log.

mod support;

use std::process::Command;

use mynacard_store::Database;
use serde_json::Value;
use support::{p, TempDir};

const SCRATCH: &str = "staff-cli";
const PASSWORD: &str = "a long enough password";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], password: Option<&str>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mynacard"));
    command
        .args(args)
        .env_remove("MYNACARD_TODAY")
        .env_remove("MYNACARD_PASSWORD")
        .env("USER", "tester");
    if let Some(password) = password {
        command.env("MYNACARD_PASSWORD", password);
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
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", run.stdout, run.stderr))
}

fn registry(dir: &TempDir) -> Database {
    Database::open(&format!("sqlite:{}", dir.join("registry.db").display())).expect("registry")
}

#[test]
fn staff_accounts_and_api_keys_from_the_shell() {
    let dir = TempDir::new("accounts");
    let data = p(dir.path());

    // A generated password, printed once in the text answer.
    let r = run(
        &[
            "staff",
            "add",
            "--login",
            "ops1",
            "--name",
            "運用 一郎",
            "--role",
            "hotline",
            "--data",
            data,
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let generated = r
        .stdout
        .lines()
        .find(|l| l.contains("Password (shown once)"))
        .and_then(|l| l.rsplit(": ").next())
        .expect("the password line")
        .to_owned();
    assert!(generated.len() >= 12, "{generated}");
    for l in r.stdout.lines() {
        let (label, _) = l.split_once(": ").expect("label");
        assert!(label.contains(" / ") && !label.is_ascii(), "bilingual: {l}");
    }
    // A given password (MYNACARD_PASSWORD) is not printed.
    let r = run(
        &[
            "staff",
            "add",
            "--login",
            "root",
            "--name",
            "管理者",
            "--role",
            "admin",
            "--data",
            data,
            "--json",
        ],
        Some(PASSWORD),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let added = json(&r);
    assert_eq!(added["account"]["login"], "root");
    assert_eq!(added["account"]["role"], "admin");
    assert!(added.get("password").is_none());
    assert!(!r.stdout.contains(PASSWORD));

    // Both log in to the server with their passwords.
    let db = registry(&dir);
    assert!(mynacard_server::access::login(&db, "ops1", &generated).is_ok());
    assert!(mynacard_server::access::login(&db, "root", PASSWORD).is_ok());

    // Refusals: one line on stderr, the code in JSON, exit 2 for bad input, 1 otherwise.
    for (args, password, exit, code) in [
        (
            vec!["--login", "root", "--name", "x", "--role", "admin"],
            Some(PASSWORD),
            1,
            "login_taken",
        ),
        (
            vec!["--login", "clerk", "--name", "x", "--role", "window"],
            Some(PASSWORD),
            2,
            "invalid_field",
        ),
        // A valid code the registry does not know yet.
        (
            vec![
                "--login",
                "clerk",
                "--name",
                "x",
                "--role",
                "window",
                "--municipality",
                "131016",
            ],
            Some(PASSWORD),
            2,
            "invalid_field",
        ),
        (
            vec!["--login", "Bad Login", "--name", "x", "--role", "hotline"],
            Some(PASSWORD),
            2,
            "invalid_field",
        ),
        (
            vec!["--login", "short", "--name", "x", "--role", "hotline"],
            Some("short"),
            2,
            "invalid_field",
        ),
    ] {
        let mut full = vec!["staff", "add"];
        full.extend(args.iter().copied());
        full.extend(["--data", data, "--json"]);
        let r = run(&full, password);
        assert_eq!(r.code, exit, "{full:?}: {}{}", r.stdout, r.stderr);
        assert_eq!(json(&r)["error"]["code"], code, "{full:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(!r.stderr.contains("short\""), "no password in messages");
    }
    let r = run(
        &[
            "staff", "add", "--login", "x1", "--name", "x", "--role", "clerk", "--data", data,
        ],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);

    let r = run(&["staff", "list", "--data", data, "--json"], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let logins: Vec<String> = json(&r)["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter_map(|a| a["login"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(logins, ["ops1", "root"]);
    assert!(!r.stdout.contains("argon2"));

    // Disabled: no more logins, and its sessions are gone.
    let opened = mynacard_server::access::login(&db, "ops1", &generated).expect("login");
    let r = run(&["staff", "disable", "ops1", "--data", data, "--json"], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let changed = json(&r);
    assert_eq!(changed["account"]["disabled"], true);
    assert_eq!(changed["sessions_ended"], 2);
    assert!(mynacard_server::access::session_principal(&db, &opened.token).is_none());
    assert!(mynacard_server::access::login(&db, "ops1", &generated).is_err());
    let r = run(&["staff", "disable", "nobody", "--data", data, "--json"], None);
    assert_eq!(r.code, 1);
    assert_eq!(json(&r)["error"]["code"], "not_found");
    let r = run(&["staff", "enable", "ops1", "--data", data], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(mynacard_server::access::login(&db, "ops1", &generated).is_ok());

    // An API key: printed once, opens the server until revoked.
    let r = run(
        &[
            "api-key",
            "create",
            "--name",
            "etax",
            "--kind",
            "relying-party",
            "--data",
            data,
            "--json",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let created = json(&r);
    let key = created["key"].as_str().expect("key").to_owned();
    assert!(key.starts_with("mnk_"));
    assert_eq!(created["api_key"]["kind"], "relying_party");
    let found = mynacard_server::access::api_key(&db, &key).expect("the key opens");
    assert_eq!(found.name, "etax");
    let r = run(
        &[
            "api-key", "create", "--name", "etax", "--kind", "kiosk", "--data", data, "--json",
        ],
        None,
    );
    assert_eq!(r.code, 1);
    assert_eq!(json(&r)["error"]["code"], "name_taken");
    let r = run(&["api-key", "list", "--data", data], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("etax") && !r.stdout.contains(&key));
    let r = run(&["api-key", "revoke", "etax", "--data", data, "--json"], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(json(&r)["api_key"]["revoked_at"].is_string());
    assert!(mynacard_server::access::api_key(&db, &key).is_none());
    let r = run(&["api-key", "revoke", "nothing", "--data", data], None);
    assert_eq!(r.code, 1);

    // Every change audited as the operator, the chain intact, no secrets.
    let entries = db.read(|tx| mynacard_store::audit::list(tx, 0, 1000)).expect("audit");
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "staff.create",
            "staff.create",
            "staff.disable",
            "staff.enable",
            "api_key.create",
            "api_key.revoke"
        ]
    );
    assert!(entries.iter().all(|e| e.actor == "cli:tester"));
    assert!(entries
        .iter()
        .all(|e| !e.details.contains(&key) && !e.details.contains(&generated) && !e.details.contains("argon2")));
    let r = run(&["audit", "verify", "--data", data], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
