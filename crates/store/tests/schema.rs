//! The database layer on both backends: migrations, transactions, errors.

mod common;

use common::{at, chiyoda, resident, sapporo, seed, Fixture};
use mynacard_store::db::{migrations, translate_placeholders, Backend};
use mynacard_store::registry;
use mynacard_store::{StoreError, Value};

fn migrations_are_idempotent(f: &Fixture) {
    let db = &f.db;
    // The fixture migrated already: nothing left to apply, on this
    // connection or another.
    assert_eq!(db.migrate(), Ok(vec![]));
    assert_eq!(f.open_again().migrate(), Ok(vec![]));
    let applied = db
        .read(|tx| {
            tx.query(
                "SELECT version, name, applied_at FROM schema_migrations ORDER BY version",
                &[],
            )
        })
        .expect("schema_migrations");
    let known = migrations(db.backend());
    assert_eq!(applied.len(), known.len());
    for (row, migration) in applied.iter().zip(known) {
        assert_eq!(row.i64(0), Ok(migration.version));
        assert_eq!(row.text(1).as_deref(), Ok(migration.name));
        assert!(row.timestamp(2).is_ok(), "applied_at reads as a timestamp");
    }
    // A migration edited after it was applied is refused.
    db.transaction(|tx| {
        tx.execute(
            "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1",
            &[],
        )
    })
    .expect("edit the checksum");
    assert_eq!(db.migrate().map_err(|e| e.code()), Err("schema_mismatch"));
    // So is a database migrated by a newer program.
    db.transaction(|tx| {
        tx.execute("DELETE FROM schema_migrations WHERE version = 1", &[])?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (?1, 'future', 'x')",
            &[Value::Int(99)],
        )
    })
    .expect("pretend a newer version");
    assert_eq!(db.migrate().map_err(|e| e.code()), Err("schema_mismatch"));
}

fn fresh_database_migrates_from_nothing(f: &Fixture) {
    // Another schema (PostgreSQL) or file (SQLite) next to the fixture's.
    let url = match f.db.backend() {
        Backend::Sqlite => format!("{}-second", f.url),
        Backend::Postgres => format!("{}_b", f.url),
    };
    let db = mynacard_store::Database::open(&url).expect("open");
    let all: Vec<i64> = migrations(db.backend()).iter().map(|m| m.version).collect();
    assert_eq!(db.migrate(), Ok(all));
    assert_eq!(db.migrate(), Ok(vec![]));
    let schema = db.schema().map(str::to_owned);
    drop(db);
    match schema {
        Some(schema) => {
            let mut client = ::postgres::Client::connect(&common::postgres_base(), ::postgres::NoTls).expect("connect");
            client
                .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .expect("drop");
        }
        None => {
            let path = url.trim_start_matches("sqlite:");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
    }
}

fn rollback_on_error_leaves_nothing(f: &Fixture) {
    let db = &f.db;
    let result: Result<(), StoreError> = db.transaction(|tx| {
        registry::insert_municipality(tx, &chiyoda())?;
        registry::insert_resident(tx, &resident(1), at(2026, 4, 1, 9, 0))?;
        Err(StoreError::Refused("the caller changed its mind".into()))
    });
    assert_eq!(result.map_err(|e| e.code()), Err("refused"));
    // A failing statement rolls back what came before it.
    let result = db.transaction(|tx| {
        registry::insert_municipality(tx, &sapporo())?;
        registry::insert_municipality(tx, &sapporo())
    });
    assert_eq!(result.map_err(|e| e.code()), Err("conflict"));
    let counts = db
        .read(|tx| {
            tx.query_one(
                "SELECT (SELECT COUNT(*) FROM municipalities), (SELECT COUNT(*) FROM residents)",
                &[],
            )
        })
        .expect("count");
    assert_eq!((counts.i64(0), counts.i64(1)), (Ok(0), Ok(0)));
}

fn rollback_on_panic_and_database_still_usable(f: &Fixture) {
    let db = f.db.clone();
    let panicked = std::thread::spawn(move || {
        let _: Result<(), StoreError> = db.transaction(|tx| {
            registry::insert_municipality(tx, &chiyoda())?;
            panic!("a bug in the middle of an operation");
        });
    })
    .join();
    assert!(panicked.is_err());
    let db = &f.db;
    assert_eq!(db.read(registry::list_municipalities).map(|m| m.len()), Ok(0));
    db.transaction(|tx| registry::insert_municipality(tx, &chiyoda()))
        .expect("the connection still works");
    assert_eq!(db.read(registry::list_municipalities).map(|m| m.len()), Ok(1));
}

fn errors_are_classified(f: &Fixture) {
    let db = &f.db;
    let stored = seed(db);
    // Unique violation.
    let again = db.transaction(|tx| registry::insert_resident(tx, &resident(12345678901), at(2026, 4, 2, 0, 0)));
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    // Foreign key.
    let orphan = db.transaction(|tx| {
        let mut r = resident(2);
        r.municipality = sapporo().code;
        registry::insert_resident(tx, &r, at(2026, 4, 2, 0, 0))
    });
    assert!(matches!(orphan, Err(StoreError::Constraint(_))), "{orphan:?}");
    // NotFound from query_one; errors never quote the row's values.
    let none = db.read(|tx| tx.query_one("SELECT id FROM residents WHERE id = ?1", &[Value::Int(-1)]));
    assert_eq!(none.map_err(|e| e.code()), Err("not_found"));
    if let Err(e) = again {
        assert!(!e.to_string().contains(&stored.my_number.expose()), "{e}");
    }
    // Reads are read-only on PostgreSQL; on SQLite a deferred transaction.
    let n = db
        .read(|tx| tx.query_one("SELECT COUNT(*) FROM residents", &[]))
        .and_then(|r| r.i64(0));
    assert_eq!(n, Ok(1));
}

fn values_round_trip(f: &Fixture) {
    let db = &f.db;
    let when = at(2026, 4, 1, 9, 30);
    let row = db
        .read(|tx| {
            tx.query_one(
                // A parameter with no context is text on PostgreSQL: cast it.
                "SELECT CAST(?1 AS BIGINT), ?2, ?3, CAST(?4 AS BIGINT) FROM (SELECT 1) AS one",
                &[
                    Value::Int(i64::MAX),
                    Value::Text("氏名 'quoted' ?1".into()),
                    Value::Null,
                    Value::Int(-7),
                ],
            )
        })
        .expect("select");
    assert_eq!(row.i64(0), Ok(i64::MAX));
    assert_eq!(row.text(1).as_deref(), Ok("氏名 'quoted' ?1"));
    assert_eq!(row.opt_text(2), Ok(None));
    assert_eq!(row.i64(3), Ok(-7));
    // Timestamps keep microseconds on both backends.
    let stored = seed(db);
    let back = db
        .read(|tx| registry::get_resident(tx, stored.id))
        .expect("get")
        .expect("there");
    assert_eq!(
        back.created_at,
        mynacard_store::db::truncate_to_micros(at(2026, 4, 1, 0, 0))
    );
    assert_ne!(back.created_at, when);
}

both_backends!(
    migrations_are_idempotent,
    fresh_database_migrates_from_nothing,
    rollback_on_error_leaves_nothing,
    rollback_on_panic_and_database_still_usable,
    errors_are_classified,
    values_round_trip,
);

#[test]
fn the_translator_rewrites_only_placeholders() {
    assert_eq!(
        translate_placeholders("UPDATE t SET a = ?2, b = 'x?1' WHERE id = ?1 -- ?3"),
        "UPDATE t SET a = $2, b = 'x?1' WHERE id = $1 -- ?3"
    );
    assert_eq!(translate_placeholders("SELECT \"?1\", ?12"), "SELECT \"?1\", $12");
}

#[test]
fn migration_lists_match_the_files_and_each_other() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for (backend, sub) in [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
        let mut files: Vec<String> = std::fs::read_dir(dir.join(sub))
            .expect("migrations directory")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<String> = migrations(backend)
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(files, listed, "{sub}");
        for (i, m) in migrations(backend).iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
        }
    }
    let names = |b| migrations(b).iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
    assert_eq!(names(Backend::Sqlite), names(Backend::Postgres));
}

#[test]
fn bad_addresses_are_refused() {
    for url in [
        "",
        "sqlite:",
        "postgres://postgres@127.0.0.1/test?schema=1bad",
        "postgres://x@h/d?schema=a;drop",
    ] {
        assert_eq!(
            mynacard_store::Database::open(url).map(|_| ()).map_err(|e| e.code()),
            Err("config"),
            "{url}"
        );
    }
}

#[test]
fn in_memory_sqlite_works() {
    let db = mynacard_store::Database::open("sqlite::memory:").expect("open");
    assert_eq!(db.migrate().map(|v| v.len()), Ok(migrations(Backend::Sqlite).len()));
    let stored = seed(&db);
    assert_eq!(stored.id, 1);
}

#[test]
fn postgres_search_path_option_creates_its_schema() {
    let schema = format!("t_opt_{}", std::process::id());
    let url = format!("{}?options=-csearch_path%3D{schema}", common::postgres_base());
    let db = common::open_postgres(&url);
    assert_eq!(db.schema(), Some(schema.as_str()));
    assert!(db.migrate().is_ok());
    drop(db);
    let mut client = ::postgres::Client::connect(&common::postgres_base(), ::postgres::NoTls).expect("connect");
    client
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .expect("drop");
}
