//! Staff accounts, login sessions and API keys, and the constraints the
//! database keeps on them, on both backends.

mod common;

use chrono::Duration;
use common::{at, chiyoda, sapporo, Fixture};
use mynacard_store::access::*;
use mynacard_store::db::truncate_to_micros;
use mynacard_store::{StoreError, Value};

fn code(e: Result<impl std::fmt::Debug, StoreError>) -> &'static str {
    match e {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code(),
    }
}

/// A 64-character lowercase hex "SHA-256".
fn hash(n: u64) -> String {
    format!("{n:064x}")
}

fn staff(login: &str, role: StaffRole) -> NewStaffAccount {
    NewStaffAccount {
        login: login.into(),
        display_name: format!("職員 {login}"),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${login}"),
        role,
        municipality: (role == StaffRole::Window).then(|| chiyoda().code),
    }
}

fn session(token: u64, account_id: i64) -> StaffSession {
    let created = at(2026, 4, 1, 9, 0);
    StaffSession {
        token_hash: hash(token),
        account_id,
        csrf_token: format!("csrf-{token}"),
        created_at: created,
        expires_at: created + Duration::minutes(30),
        last_seen_at: created,
    }
}

fn api_key(name: &str, prefix: &str, kind: ApiKeyKind) -> NewApiKey {
    NewApiKey {
        name: name.into(),
        kind,
        prefix: prefix.into(),
        key_hash: hash(prefix.len() as u64 * 7919),
        municipality: None,
    }
}

fn insert(f: &Fixture, new: &NewStaffAccount) -> StaffAccount {
    f.db.transaction(|tx| insert_staff_account(tx, new, at(2026, 4, 1, 0, 0)))
        .expect("insert staff account")
}

fn staff_accounts_round_trip(f: &Fixture) {
    let db = &f.db;
    let now = at(2026, 4, 1, 0, 0);
    let window = insert(f, &staff("tanaka.window", StaffRole::Window));
    let hotline = insert(f, &staff("hotline_01", StaffRole::Hotline));
    let admin = insert(f, &staff("admin-root", StaffRole::Admin));
    assert_eq!(window.municipality, Some(chiyoda().code));
    assert_eq!(window.created_at, truncate_to_micros(now));
    assert_ne!(
        window.created_at, now,
        "the fixture's instant has sub-microsecond noise"
    );
    assert!(!window.disabled);
    assert_eq!(window.failed_logins, 0);
    assert_eq!(window.locked_until, None);
    assert!(window.id != hotline.id && hotline.id != admin.id);

    let by_login = db
        .read(|tx| staff_account_by_login(tx, "tanaka.window"))
        .expect("by login");
    assert_eq!(by_login.as_ref(), Some(&window));
    assert_eq!(
        db.read(|tx| staff_account(tx, hotline.id)).expect("by id"),
        Some(hotline.clone())
    );
    assert_eq!(
        db.read(|tx| staff_account_by_login(tx, "TANAKA.WINDOW"))
            .expect("by login"),
        None
    );
    assert_eq!(db.read(|tx| staff_account(tx, admin.id + 100)).expect("by id"), None);
    // By login: admin-root < hotline_01 < tanaka.window.
    assert_eq!(
        db.read(list_staff_accounts).expect("list"),
        vec![admin.clone(), hotline.clone(), window.clone()]
    );

    // Disable and enable again; an unknown account answers false.
    assert_eq!(db.transaction(|tx| set_staff_disabled(tx, hotline.id, true)), Ok(true));
    let got = db
        .read(|tx| staff_account(tx, hotline.id))
        .expect("get")
        .expect("there");
    assert!(got.disabled);
    assert_eq!(db.transaction(|tx| set_staff_disabled(tx, hotline.id, false)), Ok(true));
    let got = db
        .read(|tx| staff_account(tx, hotline.id))
        .expect("get")
        .expect("there");
    assert!(!got.disabled);
    assert_eq!(
        db.transaction(|tx| set_staff_disabled(tx, admin.id + 100, true)),
        Ok(false)
    );

    // A new password; the other accounts keep theirs.
    let new_hash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3$changed";
    assert_eq!(
        db.transaction(|tx| set_staff_password(tx, admin.id, new_hash)),
        Ok(true)
    );
    let got = db.read(|tx| staff_account(tx, admin.id)).expect("get").expect("there");
    assert_eq!(got.password_hash, new_hash);
    assert_eq!(
        db.read(|tx| staff_account(tx, window.id)).expect("get"),
        Some(window.clone())
    );
    assert_eq!(
        db.transaction(|tx| set_staff_password(tx, admin.id + 100, new_hash)),
        Ok(false)
    );
    assert_eq!(
        code(db.transaction(|tx| set_staff_password(tx, admin.id, ""))),
        "constraint"
    );

    // Debug does not show the password hash.
    assert!(!format!("{got:?}").contains("changed"), "Debug shows the password hash");
    assert!(!format!("{:?}", staff("x-y-z", StaffRole::Admin)).contains("argon2id"));
}

fn duplicate_login_refused_and_nothing_written(f: &Fixture) {
    let db = &f.db;
    let first = insert(f, &staff("tanaka", StaffRole::Hotline));
    let mut again = staff("tanaka", StaffRole::Admin);
    again.display_name = "別の田中".into();
    let result = db.transaction(|tx| {
        insert_staff_account(tx, &staff("suzuki", StaffRole::Admin), at(2026, 4, 2, 0, 0))?;
        insert_staff_account(tx, &again, at(2026, 4, 2, 0, 0))
    });
    assert_eq!(code(result), "conflict");
    assert_eq!(db.read(list_staff_accounts).expect("list"), vec![first]);
    assert_eq!(
        db.read(|tx| staff_account_by_login(tx, "suzuki")).expect("lookup"),
        None
    );

    // Logins: 3–64 of a-z 0-9 . _ -
    for bad in [
        "ab",
        "Tanaka",
        "tanaka yuki",
        "tanaka@city",
        "田中",
        &"a".repeat(65),
        "",
    ] {
        let result = db.transaction(|tx| insert_staff_account(tx, &staff(bad, StaffRole::Admin), at(2026, 4, 2, 0, 0)));
        assert_eq!(code(result), "constraint", "{bad:?}");
    }
    let longest = "a".repeat(64);
    for good in ["abc", "a.b_c-d9", longest.as_str()] {
        insert(f, &staff(good, StaffRole::Admin));
    }
    let mut nameless = staff("nameless", StaffRole::Admin);
    nameless.display_name.clear();
    assert_eq!(
        code(db.transaction(|tx| insert_staff_account(tx, &nameless, at(2026, 4, 2, 0, 0)))),
        "constraint"
    );
    assert_eq!(db.read(list_staff_accounts).expect("list").len(), 4);
}

fn role_and_municipality_checked(f: &Fixture) {
    let db = &f.db;
    let now = at(2026, 4, 1, 0, 0);
    let mut window = staff("window-nowhere", StaffRole::Window);
    window.municipality = None;
    assert_eq!(
        code(db.transaction(|tx| insert_staff_account(tx, &window, now))),
        "constraint"
    );
    for role in [StaffRole::Hotline, StaffRole::Admin] {
        let mut scoped = staff("scoped", role);
        scoped.municipality = Some(sapporo().code);
        assert_eq!(
            code(db.transaction(|tx| insert_staff_account(tx, &scoped, now))),
            "constraint",
            "{role}"
        );
    }
    assert_eq!(db.read(list_staff_accounts).expect("list"), vec![]);

    // What the typed API cannot send, the database refuses too: a role it
    // does not know, a municipality that is not 6 digits.
    for (role, municipality) in [("clerk", None), ("window", Some("13101")), ("window", Some("13101a"))] {
        let result = db.transaction(|tx| {
            tx.execute(
                "INSERT INTO staff_accounts (login, display_name, password_hash, role, municipality, created_at) \
                 VALUES ('raw', 'raw', '$x', ?1, ?2, ?3)",
                &[Value::from(role), Value::from(municipality), Value::Timestamp(now)],
            )
        });
        assert_eq!(code(result), "constraint", "{role} {municipality:?}");
    }
    let window = insert(f, &staff("window-chiyoda", StaffRole::Window));
    assert_eq!(
        db.read(|tx| staff_account(tx, window.id))
            .expect("get")
            .map(|a| a.municipality),
        Some(Some(chiyoda().code))
    );
    for role in StaffRole::ALL {
        assert_eq!(StaffRole::parse(role.as_str()), Some(*role));
    }
    assert_eq!(StaffRole::parse("Window"), None);
}

fn failure_counter_and_lock(f: &Fixture) {
    let db = &f.db;
    let account = insert(f, &staff("guessed", StaffRole::Hotline));
    let other = insert(f, &staff("bystander", StaffRole::Hotline));
    let lock = at(2026, 4, 1, 9, 15);
    assert_eq!(db.transaction(|tx| record_login_failure(tx, account.id, None)), Ok(1));
    assert_eq!(db.transaction(|tx| record_login_failure(tx, account.id, None)), Ok(2));
    let got = db
        .read(|tx| staff_account(tx, account.id))
        .expect("get")
        .expect("there");
    assert_eq!((got.failed_logins, got.locked_until), (2, None));

    assert_eq!(
        db.transaction(|tx| record_login_failure(tx, account.id, Some(lock))),
        Ok(3)
    );
    let got = db
        .read(|tx| staff_account(tx, account.id))
        .expect("get")
        .expect("there");
    assert_eq!(
        (got.failed_logins, got.locked_until),
        (3, Some(truncate_to_micros(lock)))
    );
    // A failure without a new lock leaves the lock as it is.
    assert_eq!(db.transaction(|tx| record_login_failure(tx, account.id, None)), Ok(4));
    let got = db
        .read(|tx| staff_account(tx, account.id))
        .expect("get")
        .expect("there");
    assert_eq!(
        (got.failed_logins, got.locked_until),
        (4, Some(truncate_to_micros(lock)))
    );
    // A later lock replaces it.
    let later = lock + Duration::hours(1);
    assert_eq!(
        db.transaction(|tx| record_login_failure(tx, account.id, Some(later))),
        Ok(5)
    );
    let got = db
        .read(|tx| staff_account(tx, account.id))
        .expect("get")
        .expect("there");
    assert_eq!(got.locked_until, Some(truncate_to_micros(later)));
    // The other account is untouched.
    assert_eq!(
        db.read(|tx| staff_account(tx, other.id)).expect("get"),
        Some(other.clone())
    );

    db.transaction(|tx| record_login_success(tx, account.id))
        .expect("success");
    let got = db
        .read(|tx| staff_account(tx, account.id))
        .expect("get")
        .expect("there");
    assert_eq!((got.failed_logins, got.locked_until), (0, None));
    assert_eq!(db.transaction(|tx| record_login_failure(tx, account.id, None)), Ok(1));

    let unknown = account.id.max(other.id) + 100;
    assert_eq!(
        code(db.transaction(|tx| record_login_failure(tx, unknown, None))),
        "not_found"
    );
    assert_eq!(
        code(db.transaction(|tx| record_login_success(tx, unknown))),
        "not_found"
    );
}

fn sessions_lifecycle(f: &Fixture) {
    let db = &f.db;
    let alice = insert(f, &staff("alice", StaffRole::Admin));
    let bob = insert(f, &staff("bob", StaffRole::Hotline));
    let short = session(1, alice.id);
    let mut long = session(2, alice.id);
    long.expires_at = long.created_at + Duration::hours(8);
    let bobs = session(3, bob.id);
    db.transaction(|tx| {
        insert_staff_session(tx, &short)?;
        insert_staff_session(tx, &long)?;
        insert_staff_session(tx, &bobs)
    })
    .expect("insert sessions");

    let stored = |s: &StaffSession| StaffSession {
        created_at: truncate_to_micros(s.created_at),
        expires_at: truncate_to_micros(s.expires_at),
        last_seen_at: truncate_to_micros(s.last_seen_at),
        ..s.clone()
    };
    assert_eq!(
        db.read(|tx| staff_session(tx, &hash(1))).expect("get"),
        Some(stored(&short))
    );
    assert_eq!(
        db.read(|tx| staff_session(tx, &hash(3))).expect("get"),
        Some(stored(&bobs))
    );
    assert_eq!(db.read(|tx| staff_session(tx, &hash(9))).expect("get"), None);
    assert!(!format!("{short:?}").contains("csrf-1"), "Debug shows the CSRF token");

    // A session per token; one of a known account only; a proper hash.
    assert_eq!(
        code(db.transaction(|tx| insert_staff_session(tx, &session(1, bob.id)))),
        "conflict"
    );
    let unknown = alice.id.max(bob.id) + 100;
    assert_eq!(
        code(db.transaction(|tx| insert_staff_session(tx, &session(4, unknown)))),
        "constraint"
    );
    for bad in [
        hash(0xabcdef).to_uppercase(),
        hash(5)[1..].to_owned(),
        format!("{}g", &hash(5)[1..]),
    ] {
        let mut s = session(5, bob.id);
        s.token_hash = bad.clone();
        assert_eq!(
            code(db.transaction(|tx| insert_staff_session(tx, &s))),
            "constraint",
            "{bad}"
        );
    }
    let mut backwards = session(6, bob.id);
    backwards.expires_at = backwards.created_at - Duration::minutes(1);
    assert_eq!(
        code(db.transaction(|tx| insert_staff_session(tx, &backwards))),
        "constraint"
    );

    // Touch: the last request and a new expiry.
    let seen = at(2026, 4, 1, 9, 20);
    let until = seen + Duration::minutes(30);
    assert_eq!(
        db.transaction(|tx| touch_staff_session(tx, &hash(1), seen, until)),
        Ok(true)
    );
    let got = db.read(|tx| staff_session(tx, &hash(1))).expect("get").expect("there");
    assert_eq!(got.last_seen_at, truncate_to_micros(seen));
    assert_eq!(got.expires_at, truncate_to_micros(until));
    assert_eq!(got.created_at, truncate_to_micros(short.created_at));
    assert_eq!(
        db.transaction(|tx| touch_staff_session(tx, &hash(9), seen, until)),
        Ok(false)
    );

    // Expiry: at 09:45 Bob's (09:30) is out, Alice's touched one (09:50)
    // and her eight-hour one are not; at exactly 09:50 the touched one is.
    let removed = db
        .transaction(|tx| delete_expired_staff_sessions(tx, at(2026, 4, 1, 9, 45)))
        .expect("expire");
    assert_eq!(removed, 1);
    assert_eq!(db.read(|tx| staff_session(tx, &hash(3))).expect("get"), None);
    assert!(db.read(|tx| staff_session(tx, &hash(1))).expect("get").is_some());
    let removed = db
        .transaction(|tx| delete_expired_staff_sessions(tx, until))
        .expect("expire");
    assert_eq!(removed, 1);
    assert_eq!(db.read(|tx| staff_session(tx, &hash(1))).expect("get"), None);
    assert!(db.read(|tx| staff_session(tx, &hash(2))).expect("get").is_some());

    // Logout, and the end of all of an account's sessions.
    db.transaction(|tx| {
        insert_staff_session(tx, &session(7, alice.id))?;
        insert_staff_session(tx, &session(8, bob.id))
    })
    .expect("more sessions");
    assert_eq!(db.transaction(|tx| delete_staff_session(tx, &hash(7))), Ok(true));
    assert_eq!(db.transaction(|tx| delete_staff_session(tx, &hash(7))), Ok(false));
    db.transaction(|tx| insert_staff_session(tx, &session(10, alice.id)))
        .expect("another");
    assert_eq!(db.transaction(|tx| delete_sessions_of(tx, alice.id)), Ok(2));
    assert_eq!(db.transaction(|tx| delete_sessions_of(tx, alice.id)), Ok(0));
    assert_eq!(db.read(|tx| staff_session(tx, &hash(2))).expect("get"), None);
    assert_eq!(
        db.read(|tx| staff_session(tx, &hash(8))).expect("get"),
        Some(stored(&session(8, bob.id)))
    );
}

fn api_keys_lifecycle(f: &Fixture) {
    let db = &f.db;
    let now = at(2026, 4, 1, 0, 0);
    let mut kiosk = api_key("lawson-chiyoda-01", "mk_kiosk1", ApiKeyKind::Kiosk);
    kiosk.municipality = Some(chiyoda().code);
    let bank = api_key("bank-of-example", "mk_rp_0001abcd", ApiKeyKind::RelyingParty);
    let (kiosk_key, bank_key) = db
        .transaction(|tx| Ok::<_, StoreError>((insert_api_key(tx, &kiosk, now)?, insert_api_key(tx, &bank, now)?)))
        .expect("insert keys");
    assert_eq!(kiosk_key.municipality, Some(chiyoda().code));
    assert_eq!(kiosk_key.created_at, truncate_to_micros(now));
    assert_eq!(kiosk_key.revoked_at, None);
    assert_eq!(bank_key.kind, ApiKeyKind::RelyingParty);
    assert_eq!(
        db.read(|tx| api_key_by_prefix(tx, "mk_kiosk1")).expect("get"),
        Some(kiosk_key.clone())
    );
    assert_eq!(
        db.read(|tx| api_key_by_prefix(tx, "mk_rp_0001abcd")).expect("get"),
        Some(bank_key.clone())
    );
    assert_eq!(db.read(|tx| api_key_by_prefix(tx, "mk_kiosk")).expect("get"), None);
    // By name: bank-of-example < lawson-chiyoda-01.
    assert_eq!(
        db.read(list_api_keys).expect("list"),
        vec![bank_key.clone(), kiosk_key.clone()]
    );

    // Revoke once; the first revocation stays.
    let revoked_at = at(2026, 5, 1, 12, 0);
    assert_eq!(
        db.transaction(|tx| revoke_api_key(tx, kiosk_key.id, revoked_at)),
        Ok(true)
    );
    assert_eq!(
        db.transaction(|tx| revoke_api_key(tx, kiosk_key.id, revoked_at + Duration::days(1))),
        Ok(false)
    );
    assert_eq!(
        db.transaction(|tx| revoke_api_key(tx, kiosk_key.id.max(bank_key.id) + 100, revoked_at)),
        Ok(false)
    );
    let got = db
        .read(|tx| api_key_by_prefix(tx, "mk_kiosk1"))
        .expect("get")
        .expect("there");
    assert_eq!(got.revoked_at, Some(truncate_to_micros(revoked_at)));
    let listed = db.read(list_api_keys).expect("list");
    assert_eq!(listed, vec![bank_key.clone(), got]);

    // Duplicate prefix or name: refused, nothing written.
    let result = db.transaction(|tx| {
        insert_api_key(tx, &api_key("fresh", "mk_fresh01", ApiKeyKind::Kiosk), now)?;
        insert_api_key(tx, &api_key("another", "mk_kiosk1", ApiKeyKind::Kiosk), now)
    });
    assert_eq!(code(result), "conflict");
    assert_eq!(
        code(db.transaction(|tx| insert_api_key(
            tx,
            &api_key("bank-of-example", "mk_other01", ApiKeyKind::Kiosk),
            now
        ))),
        "conflict"
    );
    assert_eq!(db.read(|tx| api_key_by_prefix(tx, "mk_fresh01")).expect("get"), None);
    assert_eq!(db.read(list_api_keys).expect("list"), listed);

    // Formats: prefix 8–16 characters, a hex SHA-256, a name.
    let mut bad_hash = api_key("bad-hash", "mk_badhash", ApiKeyKind::Kiosk);
    bad_hash.key_hash = hash(0xabcdef).to_uppercase();
    let mut nameless = api_key("", "mk_nameless", ApiKeyKind::Kiosk);
    nameless.name.clear();
    for bad in [
        api_key("short", "mk_1234", ApiKeyKind::Kiosk),
        api_key("long", "mk_12345678901234", ApiKeyKind::Kiosk),
        bad_hash,
        nameless,
    ] {
        assert_eq!(
            code(db.transaction(|tx| insert_api_key(tx, &bad, now))),
            "constraint",
            "{bad:?}"
        );
    }
    for kind in ApiKeyKind::ALL {
        assert_eq!(ApiKeyKind::parse(kind.as_str()), Some(*kind));
    }
    assert_eq!(ApiKeyKind::RelyingParty.as_str(), "relying_party");
}

both_backends!(
    staff_accounts_round_trip,
    duplicate_login_refused_and_nothing_written,
    role_and_municipality_checked,
    failure_counter_and_lock,
    sessions_lifecycle,
    api_keys_lifecycle,
);
