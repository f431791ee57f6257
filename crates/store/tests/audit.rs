//! The audit chain, the disclosure log and idempotency records on both
//! backends, with concurrent writers.

mod common;

use std::sync::{Arc, Barrier};

use common::{at, seed, Fixture};
use mynacard_store::audit::{self, AuditEntry, ChainBreak, GENESIS};
use mynacard_store::db::Backend;
use mynacard_store::disclosure::{self, Disclosure};
use mynacard_store::idempotency;
use mynacard_store::{Database, StoreError, Tx, Value};

fn entry(i: i64) -> AuditEntry {
    AuditEntry {
        at: at(2026, 6, 1, 9, 0) + chrono::Duration::seconds(i),
        actor: format!("staff:{}", i % 3),
        action: "card.suspend".into(),
        subject: format!("card:{i:016X}"),
        details: serde_json::json!({"channel": "hotline", "n": i, "note": "紛失の届出"}),
    }
}

fn append_n(db: &Database, n: i64) {
    for i in 1..=n {
        let seq = db.transaction(|tx| audit::append(tx, &entry(i))).expect("append");
        assert_eq!(seq, i);
    }
}

/// Runs raw SQL with the audit log's append-only triggers out of the way,
/// as an attacker with the database's keys could.
fn tamper(db: &Database, sql: &str) {
    db.transaction(|tx: &mut Tx<'_>| {
        match tx.backend() {
            Backend::Sqlite => tx.execute_batch(
                "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete",
            )?,
            Backend::Postgres => tx.execute_batch("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")?,
        }
        tx.execute_batch(sql)
    })
    .expect("tamper");
}

fn the_chain_verifies(f: &Fixture) {
    let db = &f.db;
    let empty = audit::verify(db).expect("verify");
    assert!(empty.is_intact());
    assert_eq!((empty.checked, empty.last_seq, empty.last_hash), (0, 0, GENESIS));
    append_n(db, 5);
    let report = audit::verify(db).expect("verify");
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.checked, report.last_seq), (5, 5));
    let rows = db.read(|tx| audit::list(tx, 0, 100)).expect("list");
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0].prev_hash, GENESIS);
    for pair in rows.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    // What was hashed is what was stored: the timestamp to the microsecond
    // and the details' JSON text.
    let first = &rows[0];
    assert_eq!(first.at, mynacard_store::db::truncate_to_micros(entry(1).at));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&first.details).expect("json"),
        entry(1).details
    );
    assert_eq!(
        first.hash,
        audit::entry_hash(
            &GENESIS,
            1,
            &first.at,
            &first.actor,
            &first.action,
            &first.subject,
            &first.details
        )
    );
    assert_eq!(db.read(audit::head), Ok((5, rows[4].hash)));
    // Paging.
    let page = db.read(|tx| audit::list(tx, 3, 1)).expect("page");
    assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![4]);
}

fn the_log_is_append_only(f: &Fixture) {
    let db = &f.db;
    append_n(db, 3);
    for sql in [
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 3",
        "DELETE FROM audit_head",
        "UPDATE audit_head SET seq = 1",
    ] {
        let result = db.transaction(|tx| tx.execute(sql, &[]));
        assert_eq!(result.map_err(|e| e.code()), Err("refused"), "{sql}");
    }
    // A row that does not extend the head is refused too.
    let forged = db.transaction(|tx| {
        tx.execute(
            "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) \
             VALUES (?1, ?2, 'mallory', 'x', 'y', '{}', ?3, ?4)",
            &[
                Value::Int(4),
                Value::Timestamp(at(2026, 1, 1, 0, 0)),
                Value::Bytes(vec![0; 32]),
                Value::Bytes(vec![1; 32]),
            ],
        )
    });
    assert_eq!(forged.map_err(|e| e.code()), Err("refused"));
    if db.backend() == Backend::Postgres {
        let truncate = db.transaction(|tx| tx.execute_batch("TRUNCATE audit_log"));
        assert_eq!(truncate.map_err(|e| e.code()), Err("refused"));
    }
    assert!(audit::verify(db).expect("verify").is_intact());
}

fn an_altered_row_is_found(f: &Fixture) {
    let db = &f.db;
    append_n(db, 6);
    tamper(db, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3");
    let report = audit::verify(db).expect("verify");
    assert_eq!(report.first_break, Some(ChainBreak::Altered { seq: 3 }));
    assert_eq!((report.checked, report.last_seq), (2, 2));
}

fn an_altered_and_rehashed_row_breaks_the_next_link(f: &Fixture) {
    let db = &f.db;
    append_n(db, 4);
    // Rewrite row 2's details and give it a valid hash of its own: row 3's
    // link to it no longer holds.
    let row2 = db.read(|tx| audit::list(tx, 1, 1)).expect("row 2").remove(0);
    let details = r#"{"channel":"window"}"#;
    let hash = audit::entry_hash(
        &row2.prev_hash,
        2,
        &row2.at,
        &row2.actor,
        &row2.action,
        &row2.subject,
        details,
    );
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    let literal = match db.backend() {
        Backend::Sqlite => format!("x'{hex}'"),
        Backend::Postgres => format!("'\\x{hex}'::bytea"),
    };
    tamper(
        db,
        &format!("UPDATE audit_log SET details = '{details}', hash = {literal} WHERE seq = 2"),
    );
    let report = audit::verify(db).expect("verify");
    assert_eq!(report.first_break, Some(ChainBreak::Relinked { seq: 3 }));
}

fn a_deleted_row_is_found(f: &Fixture) {
    let db = &f.db;
    append_n(db, 5);
    tamper(db, "DELETE FROM audit_log WHERE seq = 3");
    let report = audit::verify(db).expect("verify");
    assert_eq!(report.first_break, Some(ChainBreak::Missing { seq: 3 }));
    assert_eq!(report.first_break.map(|b| b.seq()), Some(3));
    // Rows cut off the end are found through the head.
    tamper(db, "DELETE FROM audit_log WHERE seq >= 3");
    let report = audit::verify(db).expect("verify");
    assert_eq!(
        report.first_break,
        Some(ChainBreak::HeadMismatch {
            head_seq: 5,
            last_seq: 2
        })
    );
    assert_eq!(report.first_break.map(|b| b.seq()), Some(3));
}

fn reordered_rows_are_found(f: &Fixture) {
    let db = &f.db;
    append_n(db, 4);
    // Swap rows 2 and 3 (their seq numbers).
    tamper(
        db,
        "UPDATE audit_log SET seq = 100 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3; \
         UPDATE audit_log SET seq = 3 WHERE seq = 100",
    );
    let report = audit::verify(db).expect("verify");
    assert_eq!(report.first_break, Some(ChainBreak::Relinked { seq: 2 }));
}

fn appends_roll_back_with_their_transaction(f: &Fixture) {
    let db = &f.db;
    append_n(db, 2);
    let failed: Result<i64, StoreError> = db.transaction(|tx| {
        audit::append(tx, &entry(3))?;
        Err(StoreError::Refused("the operation failed after auditing".into()))
    });
    assert!(failed.is_err());
    assert_eq!(db.read(audit::head).map(|h| h.0), Ok(2));
    append_n_from(db, 3, 3);
    let report = audit::verify(db).expect("verify");
    assert!(report.is_intact());
    assert_eq!(report.last_seq, 3);
}

fn append_n_from(db: &Database, from: i64, to: i64) {
    for i in from..=to {
        assert_eq!(db.transaction(|tx| audit::append(tx, &entry(i))), Ok(i));
    }
}

fn concurrent_appends_keep_one_chain(f: &Fixture) {
    const THREADS: usize = 4;
    const EACH: i64 = 25;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            // Each thread its own connection: really concurrent transactions.
            let db = f.open_again();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..EACH {
                    let e = entry(t as i64 * 1000 + i);
                    db.transaction(|tx| {
                        // Some work before the append, as an operation would.
                        tx.query_one("SELECT COUNT(*) FROM audit_log", &[])?;
                        audit::append(tx, &e)
                    })
                    .expect("append");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    let report = audit::verify(&f.db).expect("verify");
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.last_seq, THREADS as i64 * EACH);
    let rows = f.db.read(|tx| audit::list(tx, 0, 1000)).expect("list");
    let mut subjects: Vec<_> = rows.iter().map(|r| r.subject.clone()).collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), THREADS * EACH as usize, "every append is there once");
}

fn idempotency_lookup_semantics(f: &Fixture) {
    let db = &f.db;
    let now = at(2026, 6, 1, 9, 0);
    let hash = idempotency::request_hash("card.suspend", br#"{"card":"0123456789ABCDEF"}"#);
    let other = idempotency::request_hash("card.suspend", br#"{"card":"FFFFFFFFFFFFFFFF"}"#);
    assert_ne!(hash, other);
    assert_ne!(
        hash,
        idempotency::request_hash("card.resume", br#"{"card":"0123456789ABCDEF"}"#)
    );
    assert_eq!(
        db.read(|tx| idempotency::lookup(tx, "k1", "card.suspend", &hash)),
        Ok(None)
    );
    let response = r#"{"status": "suspended",  "certificates": ["0A1B"]}"#;
    db.transaction(|tx| idempotency::store(tx, "k1", "card.suspend", &hash, response, now))
        .expect("store");
    // Same key, same request: the very bytes stored.
    assert_eq!(
        db.read(|tx| idempotency::lookup(tx, "k1", "card.suspend", &hash)),
        Ok(Some(response.to_owned()))
    );
    // Same key, another request or operation: refused.
    assert_eq!(
        db.read(|tx| idempotency::lookup(tx, "k1", "card.suspend", &other)),
        Err(StoreError::KeyReused { key: "k1".into() })
    );
    assert_eq!(
        db.read(|tx| idempotency::lookup(tx, "k1", "card.resume", &hash))
            .map_err(|e| e.code()),
        Err("idempotency_key_reused")
    );
    // Storing twice is a conflict; a response must be JSON.
    assert_eq!(
        db.transaction(|tx| idempotency::store(tx, "k1", "card.suspend", &hash, "{}", now))
            .map_err(|e| e.code()),
        Err("conflict")
    );
    assert_eq!(
        db.transaction(|tx| idempotency::store(tx, "k2", "card.suspend", &hash, "not json", now))
            .map_err(|e| e.code()),
        Err("constraint")
    );
    // Old records are purged.
    db.transaction(|tx| idempotency::store(tx, "k3", "x", &other, "{}", now + chrono::Duration::hours(30)))
        .expect("store");
    assert_eq!(
        db.transaction(|tx| idempotency::purge_before(tx, now + chrono::Duration::hours(24))),
        Ok(1)
    );
    assert_eq!(
        db.read(|tx| idempotency::lookup(tx, "k1", "card.suspend", &hash)),
        Ok(None)
    );
}

/// The operation as the authority will write it: look up, act, audit,
/// store — one transaction.
fn suspend_once(db: &Database, key: &str, request: &[u8]) -> Result<String, StoreError> {
    let hash = idempotency::request_hash("card.suspend", request);
    db.transaction(|tx| {
        if let Some(response) = idempotency::lookup(tx, key, "card.suspend", &hash)? {
            return Ok(response);
        }
        let seq = audit::append(tx, &entry(7))?;
        let response = format!(r#"{{"audit_seq":{seq}}}"#);
        idempotency::store(tx, key, "card.suspend", &hash, &response, at(2026, 6, 1, 9, 0))?;
        Ok(response)
    })
}

fn concurrent_retries_act_once(f: &Fixture) {
    const THREADS: usize = 4;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let db = f.open_again();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                suspend_once(&db, "retry-key", b"card=0123456789ABCDEF")
            })
        })
        .collect();
    let responses: Vec<String> = handles
        .into_iter()
        .map(|h| h.join().expect("thread").expect("suspend"))
        .collect();
    assert!(responses.iter().all(|r| r == &responses[0]), "{responses:?}");
    assert_eq!(f.db.read(audit::head).map(|h| h.0), Ok(1), "acted once");
    // A reused key with another request is refused.
    assert_eq!(
        suspend_once(&f.db, "retry-key", b"card=FFFFFFFFFFFFFFFF").map_err(|e| e.code()),
        Err("idempotency_key_reused")
    );
}

fn disclosures_are_recorded_and_listed(f: &Fixture) {
    let db = &f.db;
    let r = seed(db);
    let first = Disclosure {
        at: at(2026, 6, 1, 10, 0),
        actor: "staff:window:131016:12".into(),
        resident_id: r.id,
        purpose: "児童手当の認定請求".into(),
        fields: vec!["my_number".into(), "address".into()],
    };
    let second = Disclosure {
        at: at(2026, 6, 2, 11, 0),
        actor: "relying_party:e-tax".into(),
        fields: vec!["my_number".into()],
        purpose: "確定申告".into(),
        ..first.clone()
    };
    let ids = db
        .transaction(|tx| Ok::<_, StoreError>((disclosure::record(tx, &second)?, disclosure::record(tx, &first)?)))
        .expect("record");
    let listed = db.read(|tx| disclosure::list_for_resident(tx, r.id)).expect("list");
    assert_eq!(
        listed.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![ids.1, ids.0],
        "oldest first"
    );
    assert_eq!(listed[0].fields, first.fields);
    assert_eq!(listed[0].at, mynacard_store::db::truncate_to_micros(first.at));
    assert_eq!(listed[1].purpose, "確定申告");
    for sql in [
        "UPDATE disclosure_log SET actor = 'nobody'",
        "DELETE FROM disclosure_log",
    ] {
        assert_eq!(
            db.transaction(|tx| tx.execute(sql, &[])).map_err(|e| e.code()),
            Err("refused"),
            "{sql}"
        );
    }
    assert_eq!(
        db.read(|tx| disclosure::list_for_resident(tx, r.id + 1))
            .map(|l| l.len()),
        Ok(0)
    );
}

both_backends!(
    the_chain_verifies,
    the_log_is_append_only,
    an_altered_row_is_found,
    an_altered_and_rehashed_row_breaks_the_next_link,
    a_deleted_row_is_found,
    reordered_rows_are_found,
    appends_roll_back_with_their_transaction,
    concurrent_appends_keep_one_chain,
    idempotency_lookup_semantics,
    concurrent_retries_act_once,
    disclosures_are_recorded_and_listed,
);
