//! The registry's typed records and the invariants the database keeps, on
//! both backends.

mod common;

use common::{at, chiyoda, date, resident, sapporo, seed, Fixture};
use mynacard_rules::card::Residence;
use mynacard_rules::fee::FeeCause;
use mynacard_rules::lapse::LapseReason;
use mynacard_rules::numbers::{MunicipalityCode, MyNumber};
use mynacard_rules::pin::PinKind;
use mynacard_rules::revocation::CrlReason;
use mynacard_rules::smartphone::Platform;
use mynacard_store::db::truncate_to_micros;
use mynacard_store::registry::*;
use mynacard_store::{Database, StoreError, Value};

fn code(e: Result<impl std::fmt::Debug, StoreError>) -> &'static str {
    match e {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code(),
    }
}

fn card(serial: &str, resident_id: i64, status: CardStatus) -> Card {
    let delivered = matches!(status, CardStatus::Active | CardStatus::Suspended);
    Card {
        serial: serial.into(),
        resident_id,
        application_id: None,
        status,
        face_recognition: false,
        issued_on: date(2026, 4, 10),
        expires_on: date(2036, 6, 15),
        delivered_on: delivered.then(|| date(2026, 5, 1)),
        lapsed_on: None,
        lapse_reason: None,
        image_location: Some(format!("cards/{serial}.card")),
        status_changed_at: at(2026, 5, 1, 1, 0),
    }
}

fn certificate(serial: &str, card: Option<&str>, resident_id: i64, kind: CertKind) -> CertificateRecord {
    CertificateRecord {
        serial: serial.into(),
        card_serial: card.map(str::to_owned),
        resident_id,
        kind,
        platform: kind.is_smartphone().then_some(Platform::Android),
        status: CertificateStatus::Good,
        issued_on: date(2026, 4, 10),
        not_after: date(2031, 6, 15),
        revoked_at: None,
        reason: None,
    }
}

fn municipalities_round_trip(f: &Fixture) {
    let db = &f.db;
    db.transaction(|tx| {
        insert_municipality(tx, &chiyoda())?;
        insert_municipality(tx, &sapporo())
    })
    .expect("insert");
    let got = db.read(|tx| get_municipality(tx, chiyoda().code)).expect("get");
    assert_eq!(got, Some(chiyoda()));
    let mut changed = chiyoda();
    changed.settings = serde_json::json!({"kiosk": {"documents": {}}, "window_hours": "08:30-17:15"});
    db.transaction(|tx| update_municipality(tx, &changed)).expect("update");
    let all = db.read(list_municipalities).expect("list");
    assert_eq!(all, vec![sapporo(), changed]);
    assert_eq!(
        code(db.transaction(|tx| insert_municipality(tx, &sapporo()))),
        "conflict"
    );
    let unknown = MunicipalityCode::parse("472018").expect("code");
    let mut missing = sapporo();
    missing.code = unknown;
    assert_eq!(
        code(db.transaction(|tx| update_municipality(tx, &missing))),
        "not_found"
    );
    // The database checks the check digit and the prefecture itself.
    for bad in [("131017", 13), ("480002", 48), ("13101a", 13), ("131016", 14)] {
        let result = db.transaction(|tx| {
            tx.execute(
                "INSERT INTO municipalities (code, prefecture_code, name_ja, name_en) VALUES (?1, ?2, 'x', 'x')",
                &[Value::from(bad.0), Value::Int(bad.1)],
            )
        });
        assert_eq!(code(result), "constraint", "{bad:?}");
    }
}

fn residents_round_trip_with_optimistic_locking(f: &Fixture) {
    let db = &f.db;
    let stored = seed(db);
    assert_eq!(stored.version, 1);
    let got = db.read(|tx| get_resident(tx, stored.id)).expect("get").expect("there");
    assert_eq!(got, stored);
    let by_number = db
        .read(|tx| find_resident_by_my_number(tx, &stored.my_number))
        .expect("find")
        .expect("there");
    assert_eq!(by_number.id, stored.id);
    assert!(
        !format!("{got:?}").contains(&stored.my_number.expose()),
        "Debug shows the My Number"
    );

    // A foreign resident with a period of stay: no 本籍, a stay_until.
    let mut foreign = resident(222);
    foreign.nationality = "VN".into();
    foreign.residence = Residence::ForeignWithStay {
        stay_until: date(2028, 3, 31),
    };
    foreign.honseki = None;
    foreign.sex = Sex::Female;
    foreign.household_id = stored.household_id.clone();
    let foreign = db
        .transaction(|tx| insert_resident(tx, &foreign, at(2026, 4, 2, 0, 0)))
        .expect("foreign");
    let back = db.read(|tx| get_resident(tx, foreign.id)).expect("get").expect("there");
    assert_eq!(back, foreign);

    // Move-out filed: an update at version 1 makes version 2.
    let mut moving = got.clone();
    moving.resident.status = ResidentStatus::MovedOut;
    moving.resident.planned_move_out_on = Some(date(2026, 5, 1));
    moving.resident.status_changed_on = Some(date(2026, 4, 20));
    let updated = db
        .transaction(|tx| update_resident(tx, &moving, at(2026, 4, 20, 3, 0)))
        .expect("update");
    assert_eq!(updated.version, 2);
    assert_eq!(
        db.read(|tx| get_resident(tx, stored.id)).expect("get"),
        Some(updated.clone())
    );
    // Writing the stale version 1 again is refused.
    assert_eq!(
        code(db.transaction(|tx| update_resident(tx, &moving, at(2026, 4, 21, 0, 0)))),
        "stale_version"
    );
    let mut ghost = updated.clone();
    ghost.id = 9999;
    assert_eq!(
        code(db.transaction(|tx| update_resident(tx, &ghost, at(2026, 4, 21, 0, 0)))),
        "not_found"
    );

    let listed = db.read(|tx| list_residents(tx, chiyoda().code, 0, 10)).expect("list");
    assert_eq!(
        listed.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![stored.id, foreign.id]
    );
    let page = db
        .read(|tx| list_residents(tx, chiyoda().code, stored.id, 10))
        .expect("page");
    assert_eq!(page.len(), 1);
    let household = db
        .read(|tx| list_household(tx, stored.household_id.as_deref().unwrap_or_default()))
        .expect("household");
    assert_eq!(household.len(), 2);
}

fn resident_invariants_are_kept_by_the_database(f: &Fixture) {
    let db = &f.db;
    let stored = seed(db);
    // One My Number, one record.
    let mut twin = resident(12345678901);
    twin.name = "別人".into();
    assert_eq!(
        code(db.transaction(|tx| insert_resident(tx, &twin, at(2026, 4, 2, 0, 0)))),
        "conflict"
    );
    // Check digit enforced by the database (bypassing MyNumber's parser).
    let raw_insert = |db: &Database, number: &str| {
        db.transaction(|tx| {
            tx.execute(
                "INSERT INTO residents (municipality_code, my_number, name, name_kana, address, birth_date, sex, \
                 nationality, residence_kind, status, honseki, created_at, updated_at) \
                 VALUES ('131016', ?1, 'x', 'x', 'x', ?2, 'male', 'JP', 'japanese', 'resident', 'x', ?3, ?3)",
                &[
                    Value::from(number),
                    Value::Date(date(2000, 1, 1)),
                    Value::Timestamp(at(2026, 1, 1, 0, 0)),
                ],
            )
        })
    };
    assert_eq!(code(raw_insert(db, "123456789017")), "constraint");
    assert_eq!(code(raw_insert(db, "12345678901")), "constraint");
    assert_eq!(code(raw_insert(db, "12345678901x")), "constraint");
    let valid = MyNumber::complete("98765432109").expect("number").expose();
    assert_eq!(raw_insert(db, &valid), Ok(1));
    // A Japanese national has a 本籍; a foreigner none; a period of stay
    // goes with its date.
    let mut no_honseki = resident(3);
    no_honseki.honseki = None;
    assert_eq!(
        code(db.transaction(|tx| insert_resident(tx, &no_honseki, at(2026, 4, 2, 0, 0)))),
        "constraint"
    );
    let mut japanese_foreigner = resident(4);
    japanese_foreigner.residence = Residence::ForeignPermanent;
    assert_eq!(
        code(db.transaction(|tx| insert_resident(tx, &japanese_foreigner, at(2026, 4, 2, 0, 0)))),
        "constraint"
    );
    // A move-out needs its planned date.
    let mut moved = stored.clone();
    moved.resident.status = ResidentStatus::MovedOut;
    assert_eq!(
        code(db.transaction(|tx| update_resident(tx, &moved, at(2026, 4, 2, 0, 0)))),
        "constraint"
    );
}

fn applications_round_trip(f: &Fixture) {
    let db = &f.db;
    let r = seed(db);
    let application = Application {
        resident_id: r.id,
        municipality: chiyoda().code,
        kind: ApplicationKind::Reissue,
        channel: ApplicationChannel::Window,
        received_on: date(2026, 4, 1),
        jlis_received_on: Some(date(2026, 4, 3)),
        face_recognition: false,
        signature_wanted: true,
        status: ApplicationStatus::Received,
        reissue_cause: Some(FeeCause::Loss),
        photo_ref: Some("photos/1.jpg".into()),
    };
    let mut stored = db
        .transaction(|tx| insert_application(tx, &application))
        .expect("insert");
    assert_eq!(
        db.read(|tx| get_application(tx, stored.id)).expect("get"),
        Some(stored.clone())
    );
    stored.record.status = ApplicationStatus::InProduction;
    db.transaction(|tx| update_application(tx, &stored)).expect("update");
    assert_eq!(
        db.read(|tx| list_applications(tx, r.id)).expect("list"),
        vec![stored.clone()]
    );
    // Every reissue cause the schema admits round-trips.
    for cause in [
        FeeCause::Loss,
        FeeCause::Theft,
        FeeCause::Fire,
        FeeCause::Damage,
        FeeCause::Malfunction,
        FeeCause::FullEntries,
        FeeCause::StayExpired,
    ] {
        let mut a = application.clone();
        a.reissue_cause = Some(cause);
        let s = db.transaction(|tx| insert_application(tx, &a)).expect("cause");
        assert_eq!(
            db.read(|tx| get_application(tx, s.id)).expect("get").map(|s| s.record),
            Some(a)
        );
    }
    // A face-recognition card has no signature certificate; a reissue has
    // its cause and nothing else does.
    let mut face = application.clone();
    face.face_recognition = true;
    assert_eq!(code(db.transaction(|tx| insert_application(tx, &face))), "constraint");
    let mut new_with_cause = application.clone();
    new_with_cause.kind = ApplicationKind::New;
    assert_eq!(
        code(db.transaction(|tx| insert_application(tx, &new_with_cause))),
        "constraint"
    );
}

fn cards_round_trip_and_one_card_in_use(f: &Fixture) {
    let db = &f.db;
    let r = seed(db);
    let first = card("0123456789ABCDEF", r.id, CardStatus::Active);
    db.transaction(|tx| insert_card(tx, &first)).expect("insert");
    let mut expected = first.clone();
    expected.status_changed_at = truncate_to_micros(expected.status_changed_at);
    assert_eq!(
        db.read(|tx| get_card(tx, &first.serial)).expect("get"),
        Some(expected.clone())
    );
    assert_eq!(
        db.read(|tx| card_in_use(tx, r.id)).expect("in use"),
        Some(expected.clone())
    );

    // A second card in use for the same person: refused by the database.
    assert_eq!(
        code(db.transaction(|tx| insert_card(tx, &card("1111111111111111", r.id, CardStatus::Active)))),
        "conflict"
    );
    assert_eq!(
        code(db.transaction(|tx| insert_card(tx, &card("1111111111111111", r.id, CardStatus::Suspended)))),
        "conflict"
    );
    // A renewal's card in production alongside: allowed, but only one.
    db.transaction(|tx| insert_card(tx, &card("2222222222222222", r.id, CardStatus::Produced)))
        .expect("one in production");
    assert_eq!(
        code(db.transaction(|tx| insert_card(tx, &card("3333333333333333", r.id, CardStatus::Produced)))),
        "conflict"
    );
    // Delivery: the old card returned and the new one active, one transaction.
    db.transaction(|tx| {
        assert!(set_card_status(
            tx,
            &first.serial,
            CardStatus::Active,
            CardStatus::Returned,
            at(2026, 6, 1, 0, 0)
        )?);
        let mut new = get_card(tx, "2222222222222222")?.ok_or(StoreError::NotFound("new".into()))?;
        new.status = CardStatus::Active;
        new.delivered_on = Some(date(2026, 6, 1));
        new.status_changed_at = at(2026, 6, 1, 0, 0);
        update_card(tx, &new)
    })
    .expect("delivery");
    assert_eq!(
        db.read(|tx| card_in_use(tx, r.id)).expect("in use").map(|c| c.serial),
        Some("2222222222222222".to_owned())
    );
    // A card out of use never comes back.
    assert_eq!(
        code(db.transaction(|tx| set_card_status(
            tx,
            &first.serial,
            CardStatus::Returned,
            CardStatus::Active,
            at(2026, 6, 2, 0, 0)
        ))),
        "refused"
    );
    // The wrong expected status changes nothing; an unknown card is not found.
    assert_eq!(
        db.transaction(|tx| set_card_status(
            tx,
            &first.serial,
            CardStatus::Active,
            CardStatus::Lapsed,
            at(2026, 6, 2, 0, 0)
        )),
        Ok(false)
    );
    assert_eq!(
        code(db.transaction(|tx| set_card_status(
            tx,
            "FFFFFFFFFFFFFFFF",
            CardStatus::Active,
            CardStatus::Lapsed,
            at(2026, 6, 2, 0, 0)
        ))),
        "not_found"
    );
    // A lapsed card carries its date and reason.
    db.transaction(|tx| {
        let mut c = get_card(tx, "2222222222222222")?.ok_or(StoreError::NotFound("card".into()))?;
        c.status = CardStatus::Lapsed;
        c.lapsed_on = Some(date(2026, 7, 10));
        c.lapse_reason = Some(LapseReason::CardNotUpdatedAfterMoveIn);
        update_card(tx, &c)
    })
    .expect("lapse");
    let lapsed = db
        .read(|tx| get_card(tx, "2222222222222222"))
        .expect("get")
        .expect("there");
    assert_eq!(lapsed.lapse_reason, Some(LapseReason::CardNotUpdatedAfterMoveIn));
    let mut no_reason = lapsed.clone();
    no_reason.lapse_reason = None;
    assert_eq!(code(db.transaction(|tx| update_card(tx, &no_reason))), "constraint");
    assert_eq!(db.read(|tx| list_cards_for_resident(tx, r.id)).map(|c| c.len()), Ok(2));
    // Serials are 16 upper-case hex digits.
    assert_eq!(
        code(db.transaction(|tx| insert_card(tx, &card("0123456789abcdef", r.id, CardStatus::Produced)))),
        "constraint"
    );
}

fn every_lapse_reason_round_trips(f: &Fixture) {
    let db = &f.db;
    let r = seed(db);
    let reasons = [
        LapseReason::Expired,
        LapseReason::StayEnded,
        LapseReason::LateMoveIn,
        LapseReason::NoMoveInAfterMoveOut,
        LapseReason::CardNotUpdatedAfterMoveIn,
        LapseReason::MovedAgainBeforeUpdate,
        LapseReason::Death,
        LapseReason::RecordRemoved,
        LapseReason::DepartedAbroad,
        LapseReason::Returned,
    ];
    for (i, reason) in reasons.into_iter().enumerate() {
        let mut c = card(&format!("{:016X}", i + 1), r.id, CardStatus::Lapsed);
        c.delivered_on = Some(date(2026, 5, 1));
        c.lapsed_on = Some(date(2027, 1, 1));
        c.lapse_reason = Some(reason);
        db.transaction(|tx| insert_card(tx, &c)).expect("insert");
        let back = db.read(|tx| get_card(tx, &c.serial)).expect("get").expect("there");
        assert_eq!(back.lapse_reason, Some(reason));
    }
    for status in CardStatus::ALL {
        assert_eq!(CardStatus::parse(status.as_str()), Some(*status));
    }
}

fn surface_entries_are_numbered(f: &Fixture) {
    let db = &f.db;
    let r = seed(db);
    let c = card("0123456789ABCDEF", r.id, CardStatus::Active);
    db.transaction(|tx| insert_card(tx, &c)).expect("card");
    let entries = db
        .transaction(|tx| {
            Ok::<_, StoreError>(vec![
                add_surface_entry(
                    tx,
                    &c.serial,
                    date(2026, 6, 1),
                    SurfaceEntryKind::Address,
                    "新住所 札幌市中央区北1条西2丁目",
                )?,
                add_surface_entry(
                    tx,
                    &c.serial,
                    date(2026, 7, 1),
                    SurfaceEntryKind::FaceRecognition,
                    "顔認証",
                )?,
            ])
        })
        .expect("entries");
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
    let third = db
        .transaction(|tx| {
            add_surface_entry(
                tx,
                &c.serial,
                date(2026, 8, 1),
                SurfaceEntryKind::Name,
                "新氏名 鈴木 太郎",
            )
        })
        .expect("third");
    assert_eq!(third.seq, 3);
    assert_eq!(
        db.read(|tx| get_surface_entry(tx, &c.serial, 3)).expect("get"),
        Some(third.clone())
    );
    assert_eq!(db.read(|tx| get_surface_entry(tx, &c.serial, 4)).expect("get"), None);
    let listed = db.read(|tx| list_surface_entries(tx, &c.serial)).expect("list");
    assert_eq!(listed, [entries, vec![third]].concat());
    assert_eq!(
        code(db.transaction(|tx| add_surface_entry(
            tx,
            "FFFFFFFFFFFFFFFF",
            date(2026, 8, 1),
            SurfaceEntryKind::Other,
            "x"
        ))),
        "constraint"
    );
}

fn certificates_one_valid_per_kind_and_never_revived(f: &Fixture) {
    let db = &f.db;
    let r = seed(db);
    let c = card("0123456789ABCDEF", r.id, CardStatus::Active);
    db.transaction(|tx| insert_card(tx, &c)).expect("card");
    let auth = certificate("0A1B", Some(&c.serial), r.id, CertKind::Auth);
    let sign = certificate("0A1C", Some(&c.serial), r.id, CertKind::Sign);
    db.transaction(|tx| {
        insert_certificate(tx, &auth)?;
        insert_certificate(tx, &sign)
    })
    .expect("issue");
    assert_eq!(
        db.read(|tx| get_certificate(tx, "0A1B")).expect("get"),
        Some(auth.clone())
    );
    assert_eq!(
        db.read(|tx| valid_certificate(tx, r.id, CertKind::Sign))
            .expect("valid"),
        Some(sign.clone())
    );

    // 二重発行禁止: a second good auth certificate is refused…
    let second_auth = certificate("0B00", Some(&c.serial), r.id, CertKind::Auth);
    assert_eq!(
        code(db.transaction(|tx| insert_certificate(tx, &second_auth))),
        "conflict"
    );
    // …also while the first is on hold.
    let held_at = at(2026, 6, 1, 2, 0);
    assert_eq!(
        db.transaction(|tx| set_certificate_status(
            tx,
            "0A1B",
            CertificateStatus::Good,
            CertificateStatus::Hold,
            held_at,
            None
        )),
        Ok(true)
    );
    let held = db.read(|tx| get_certificate(tx, "0A1B")).expect("get").expect("there");
    assert_eq!(held.status, CertificateStatus::Hold);
    assert_eq!(held.reason, Some(CrlReason::CertificateHold));
    assert_eq!(held.revoked_at, Some(truncate_to_micros(held_at)));
    assert_eq!(
        code(db.transaction(|tx| insert_certificate(tx, &second_auth))),
        "conflict"
    );
    // A card certificate's hold is never released.
    assert_eq!(
        code(db.transaction(|tx| set_certificate_status(
            tx,
            "0A1B",
            CertificateStatus::Hold,
            CertificateStatus::Good,
            held_at,
            None
        ))),
        "refused"
    );
    assert_eq!(
        code(db.transaction(|tx| tx.execute(
            "UPDATE certificates SET status = 'good', revoked_at = NULL, reason = NULL WHERE serial = '0A1B'",
            &[]
        ))),
        "refused"
    );
    // Revoked, then replaced in the same transaction.
    db.transaction(|tx| {
        assert!(set_certificate_status(
            tx,
            "0A1B",
            CertificateStatus::Hold,
            CertificateStatus::Revoked,
            at(2026, 6, 2, 0, 0),
            Some(CrlReason::KeyCompromise)
        )?);
        insert_certificate(tx, &second_auth)
    })
    .expect("replace");
    let revoked = db.read(|tx| get_certificate(tx, "0A1B")).expect("get").expect("there");
    assert_eq!(
        (revoked.status, revoked.reason),
        (CertificateStatus::Revoked, Some(CrlReason::KeyCompromise))
    );

    // Revoked never goes back to good: refused by the store and, around
    // it, by the database's trigger.
    assert_eq!(
        code(db.transaction(|tx| set_certificate_status(
            tx,
            "0A1B",
            CertificateStatus::Revoked,
            CertificateStatus::Good,
            at(2026, 6, 3, 0, 0),
            None
        ))),
        "refused"
    );
    for sql in [
        "UPDATE certificates SET status = 'good', revoked_at = NULL, reason = NULL WHERE serial = '0A1B'",
        "UPDATE certificates SET status = 'hold', reason = 6 WHERE serial = '0A1B'",
        "UPDATE certificates SET reason = 5 WHERE serial = '0A1B'",
        "DELETE FROM certificates WHERE serial = '0A1B'",
    ] {
        assert_eq!(code(db.transaction(|tx| tx.execute(sql, &[]))), "refused", "{sql}");
    }
    // Who, what and when never change.
    assert_eq!(
        code(db.transaction(|tx| tx.execute("UPDATE certificates SET kind = 'sign' WHERE serial = '0B00'", &[]))),
        "refused"
    );
    // A revocation needs a reason that is not a hold.
    assert_eq!(
        code(db.transaction(|tx| set_certificate_status(
            tx,
            "0A1C",
            CertificateStatus::Good,
            CertificateStatus::Revoked,
            at(2026, 6, 3, 0, 0),
            None
        ))),
        "constraint"
    );
    // The wrong expected status changes nothing.
    assert_eq!(
        db.transaction(|tx| set_certificate_status(
            tx,
            "0A1C",
            CertificateStatus::Hold,
            CertificateStatus::Revoked,
            at(2026, 6, 3, 0, 0),
            Some(CrlReason::Superseded)
        )),
        Ok(false)
    );

    // The smartphone auth certificate's hold may be released.
    let phone = certificate("0C00", None, r.id, CertKind::SmartphoneAuth);
    db.transaction(|tx| insert_certificate(tx, &phone)).expect("phone");
    db.transaction(|tx| {
        assert!(set_certificate_status(
            tx,
            "0C00",
            CertificateStatus::Good,
            CertificateStatus::Hold,
            at(2026, 6, 4, 0, 0),
            None
        )?);
        assert!(set_certificate_status(
            tx,
            "0C00",
            CertificateStatus::Hold,
            CertificateStatus::Good,
            at(2026, 6, 5, 0, 0),
            None
        )?);
        Ok::<_, StoreError>(())
    })
    .expect("release");
    assert_eq!(db.read(|tx| get_certificate(tx, "0C00")).expect("get"), Some(phone));
    // A card certificate needs its card; a smartphone one its platform.
    let mut cardless = certificate("0D00", None, r.id, CertKind::Sign);
    cardless.status = CertificateStatus::Revoked;
    cardless.revoked_at = Some(at(2026, 1, 1, 0, 0));
    cardless.reason = Some(CrlReason::Superseded);
    assert_eq!(
        code(db.transaction(|tx| insert_certificate(tx, &cardless))),
        "constraint"
    );

    let all = db.read(|tx| list_certificates_for_resident(tx, r.id)).expect("list");
    assert_eq!(all.len(), 4);
    let on_card = db.read(|tx| list_certificates_for_card(tx, &c.serial)).expect("list");
    assert_eq!(on_card.len(), 3);
    let expiring = db
        .read(|tx| certificates_expiring(tx, date(2031, 6, 1), date(2031, 6, 30), "", 10))
        .expect("expiring");
    assert_eq!(
        expiring.iter().map(|c| c.serial.as_str()).collect::<Vec<_>>(),
        vec!["0A1C", "0B00", "0C00"]
    );
    let after = db
        .read(|tx| certificates_expiring(tx, date(2031, 6, 1), date(2031, 6, 30), "0B00", 10))
        .expect("page");
    assert_eq!(after.len(), 1);
}

fn loss_reports_round_trip(f: &Fixture) {
    let db = &f.db;
    let r = seed(db);
    let c = card("0123456789ABCDEF", r.id, CardStatus::Suspended);
    db.transaction(|tx| insert_card(tx, &c)).expect("card");
    let report = LossReport {
        resident_id: r.id,
        card_serial: Some(c.serial.clone()),
        channel: LossChannel::Hotline,
        cause: LossCause::Loss,
        reported_at: at(2026, 6, 1, 14, 30),
        reported_by: "operator:7".into(),
        police_receipt_number: None,
        disaster_certificate: None,
        found_at: None,
        status: LossReportStatus::Open,
    };
    let mut stored = db.transaction(|tx| insert_loss_report(tx, &report)).expect("insert");
    assert_eq!(
        db.read(|tx| get_loss_report(tx, stored.id)).expect("get"),
        Some(stored.clone())
    );
    stored.record.police_receipt_number = Some("R-2026-0601-123".into());
    stored.record.status = LossReportStatus::Found;
    stored.record.found_at = Some(truncate_to_micros(at(2026, 6, 3, 10, 0)));
    db.transaction(|tx| update_loss_report(tx, &stored)).expect("update");
    assert_eq!(
        db.read(|tx| list_loss_reports(tx, r.id)).expect("list"),
        vec![stored.clone()]
    );
    let mut early = stored.clone();
    early.record.found_at = Some(at(2026, 5, 1, 0, 0));
    assert_eq!(code(db.transaction(|tx| update_loss_report(tx, &early))), "constraint");
    let mut no_date = stored.clone();
    no_date.record.found_at = None;
    assert_eq!(
        code(db.transaction(|tx| update_loss_report(tx, &no_date))),
        "constraint"
    );
}

fn pin_reset_bookings_are_used_once_within_a_day(f: &Fixture) {
    let db = &f.db;
    let r = seed(db);
    let c = card("0123456789ABCDEF", r.id, CardStatus::Active);
    db.transaction(|tx| insert_card(tx, &c)).expect("card");
    let booked = at(2026, 6, 1, 9, 0);
    let booking = PinResetBooking {
        card_serial: c.serial.clone(),
        pin_kind: PinKind::Signature,
        booked_at: booked,
        expires_at: booked + chrono::Duration::hours(24),
        used_at: None,
    };
    let stored = db
        .transaction(|tx| insert_pin_reset_booking(tx, &booking))
        .expect("book");
    let listed = db.read(|tx| list_pin_reset_bookings(tx, &c.serial)).expect("list");
    assert_eq!(listed, vec![stored.clone()]);
    // Too late, then in time, then used already.
    assert_eq!(
        db.transaction(|tx| use_pin_reset_booking(tx, stored.id, booked + chrono::Duration::hours(25))),
        Ok(false)
    );
    assert_eq!(
        db.transaction(|tx| use_pin_reset_booking(tx, stored.id, booked + chrono::Duration::hours(3))),
        Ok(true)
    );
    assert_eq!(
        db.transaction(|tx| use_pin_reset_booking(tx, stored.id, booked + chrono::Duration::hours(4))),
        Ok(false)
    );
    let used = db.read(|tx| list_pin_reset_bookings(tx, &c.serial)).expect("list");
    assert_eq!(
        used[0].used_at,
        Some(truncate_to_micros(booked + chrono::Duration::hours(3)))
    );
    // Only the two certificate PINs are reset at a kiosk.
    let mut registry_pin = booking.clone();
    registry_pin.pin_kind = PinKind::ResidentRegistry;
    assert_eq!(
        code(db.transaction(|tx| insert_pin_reset_booking(tx, &registry_pin))),
        "constraint"
    );
    let mut auth = booking;
    auth.pin_kind = PinKind::UserAuthentication;
    assert!(db.transaction(|tx| insert_pin_reset_booking(tx, &auth)).is_ok());
}

fn fees_round_trip_with_unique_receipts(f: &Fixture) {
    let db = &f.db;
    let r = seed(db);
    let fee = Fee {
        resident_id: r.id,
        municipality: chiyoda().code,
        application_id: None,
        cause: FeeCause::Loss,
        amount_yen: 1000,
        receipt_number: None,
        paid_on: None,
    };
    let stored = db.transaction(|tx| insert_fee(tx, &fee)).expect("insert");
    assert_eq!(db.read(|tx| get_fee(tx, stored.id)).expect("get"), Some(stored.clone()));
    assert_eq!(
        db.transaction(|tx| record_fee_payment(tx, stored.id, "R-0001", date(2026, 6, 1))),
        Ok(true)
    );
    assert_eq!(
        db.transaction(|tx| record_fee_payment(tx, stored.id, "R-0002", date(2026, 6, 2))),
        Ok(false)
    );
    let second = db.transaction(|tx| insert_fee(tx, &fee)).expect("second");
    assert_eq!(
        code(db.transaction(|tx| record_fee_payment(tx, second.id, "R-0001", date(2026, 6, 2)))),
        "conflict"
    );
    assert_eq!(
        code(db.transaction(|tx| record_fee_payment(tx, 9999, "R-0003", date(2026, 6, 2)))),
        "not_found"
    );
    let causes = [
        FeeCause::FirstIssuance,
        FeeCause::Loss,
        FeeCause::Theft,
        FeeCause::Fire,
        FeeCause::Damage,
        FeeCause::Malfunction,
        FeeCause::FullEntries,
        FeeCause::Renewal,
        FeeCause::StayExpired,
    ];
    for cause in causes {
        let free = Fee {
            cause,
            amount_yen: 0,
            ..fee.clone()
        };
        let s = db.transaction(|tx| insert_fee(tx, &free)).expect("cause");
        assert_eq!(
            db.read(|tx| get_fee(tx, s.id)).expect("get").map(|f| f.cause),
            Some(cause)
        );
    }
    let fees = db.read(|tx| list_fees(tx, r.id)).expect("list");
    assert_eq!(fees.len(), 2 + causes.len());
    assert_eq!(fees[0].receipt_number.as_deref(), Some("R-0001"));
    // A free case has no receipt; a negative amount none at all.
    let bad = Fee {
        amount_yen: -1,
        ..fee.clone()
    };
    assert_eq!(code(db.transaction(|tx| insert_fee(tx, &bad))), "constraint");
    let free_receipt = Fee {
        amount_yen: 0,
        receipt_number: Some("R-9".into()),
        paid_on: Some(date(2026, 1, 1)),
        ..fee
    };
    assert_eq!(code(db.transaction(|tx| insert_fee(tx, &free_receipt))), "constraint");
}

fn notices_are_queued_once(f: &Fixture) {
    let db = &f.db;
    let r = seed(db);
    let c = card("0123456789ABCDEF", r.id, CardStatus::Active);
    let cert = certificate("0A1B", Some(&c.serial), r.id, CertKind::Auth);
    db.transaction(|tx| {
        insert_card(tx, &c)?;
        insert_certificate(tx, &cert)
    })
    .expect("card");
    let notice = Notice {
        resident_id: r.id,
        subject: NoticeSubject::Card(c.serial.clone()),
        kind: NoticeKind::CardExpiry,
        due_on: date(2036, 6, 15),
        created_on: date(2036, 3, 16),
        sent_on: None,
    };
    let id = db
        .transaction(|tx| queue_notice(tx, &notice))
        .expect("queue")
        .expect("new");
    // The nightly batch runs the day again: nothing new.
    assert_eq!(db.transaction(|tx| queue_notice(tx, &notice)), Ok(None));
    let cert_notice = Notice {
        subject: NoticeSubject::Certificate(cert.serial.clone()),
        kind: NoticeKind::CertificateExpiry,
        due_on: date(2031, 6, 15),
        ..notice.clone()
    };
    let cert_id = db
        .transaction(|tx| queue_notice(tx, &cert_notice))
        .expect("queue")
        .expect("new");
    assert_eq!(db.transaction(|tx| queue_notice(tx, &cert_notice)), Ok(None));
    assert_eq!(
        db.read(|tx| get_notice(tx, id)).expect("get"),
        Some(Stored {
            id,
            record: notice.clone()
        })
    );
    assert_eq!(db.read(|tx| list_unsent_notices(tx, 10)).map(|n| n.len()), Ok(2));
    assert_eq!(
        db.transaction(|tx| mark_notice_sent(tx, id, date(2036, 3, 17))),
        Ok(true)
    );
    assert_eq!(
        db.transaction(|tx| mark_notice_sent(tx, id, date(2036, 3, 18))),
        Ok(false)
    );
    let unsent = db.read(|tx| list_unsent_notices(tx, 10)).expect("unsent");
    assert_eq!(unsent.iter().map(|n| n.id).collect::<Vec<_>>(), vec![cert_id]);
    let all = db.read(|tx| list_notices_for_resident(tx, r.id)).expect("all");
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].sent_on, Some(date(2036, 3, 17)));
    assert_eq!(
        code(db.transaction(|tx| mark_notice_sent(tx, 9999, date(2036, 3, 18)))),
        "not_found"
    );
}

fn insurance_eligibility_round_trip(f: &Fixture) {
    let db = &f.db;
    let r = seed(db);
    let first = InsuranceEligibility {
        resident_id: r.id,
        insurer_number: "06139999".into(),
        symbol: "記号1".into(),
        number: "12345".into(),
        branch: Some("01".into()),
        valid_from: date(2020, 4, 1),
        valid_to: Some(date(2026, 3, 31)),
    };
    let second = InsuranceEligibility {
        insurer_number: "131016".into(),
        branch: None,
        valid_from: date(2026, 4, 1),
        valid_to: None,
        ..first.clone()
    };
    let a = db
        .transaction(|tx| insert_insurance_eligibility(tx, &first))
        .expect("first");
    let b = db
        .transaction(|tx| insert_insurance_eligibility(tx, &second))
        .expect("second");
    assert_eq!(
        db.read(|tx| list_insurance_eligibility(tx, r.id)).expect("list"),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(
        db.read(|tx| eligibility_on(tx, r.id, date(2026, 3, 31))).expect("on"),
        vec![a]
    );
    assert_eq!(
        db.read(|tx| eligibility_on(tx, r.id, date(2030, 1, 1))).expect("on"),
        vec![b]
    );
    assert_eq!(
        db.read(|tx| eligibility_on(tx, r.id, date(2019, 1, 1)))
            .map(|v| v.len()),
        Ok(0)
    );
    let bad = InsuranceEligibility {
        insurer_number: "1234567".into(),
        ..first
    };
    assert_eq!(
        code(db.transaction(|tx| insert_insurance_eligibility(tx, &bad))),
        "constraint"
    );
}

fn batch_runs_resume_after_a_crash(f: &Fixture) {
    let db = &f.db;
    let day = date(2026, 6, 1);
    let run = db
        .transaction(|tx| start_batch_step(tx, day, "notices", at(2026, 6, 1, 15, 0)))
        .expect("start");
    assert_eq!(
        (run.status, run.cursor.clone(), run.processed),
        (BatchStatus::Running, None, 0)
    );
    db.transaction(|tx| save_batch_progress(tx, day, "notices", Some("0123456789ABCDEF"), 500, at(2026, 6, 1, 15, 5)))
        .expect("progress");
    // The process dies; the next start resumes from the cursor.
    let resumed = db
        .transaction(|tx| start_batch_step(tx, day, "notices", at(2026, 6, 1, 16, 0)))
        .expect("resume");
    assert_eq!(resumed.cursor.as_deref(), Some("0123456789ABCDEF"));
    assert_eq!(resumed.processed, 500);
    assert_eq!(resumed.started_at, truncate_to_micros(at(2026, 6, 1, 15, 0)));
    db.transaction(|tx| finish_batch_step(tx, day, "notices", BatchStatus::Done, at(2026, 6, 1, 16, 10)))
        .expect("finish");
    let done = db
        .transaction(|tx| start_batch_step(tx, day, "notices", at(2026, 6, 1, 17, 0)))
        .expect("again");
    assert_eq!(done.status, BatchStatus::Done);
    assert_eq!(
        code(db.transaction(|tx| save_batch_progress(tx, day, "notices", None, 1, at(2026, 6, 1, 17, 0)))),
        "not_found"
    );
    // A failed step runs again.
    db.transaction(|tx| {
        start_batch_step(tx, day, "lapses", at(2026, 6, 1, 15, 0))?;
        finish_batch_step(tx, day, "lapses", BatchStatus::Failed, at(2026, 6, 1, 15, 1))
    })
    .expect("fail");
    let retried = db
        .transaction(|tx| start_batch_step(tx, day, "lapses", at(2026, 6, 1, 18, 0)))
        .expect("retry");
    assert_eq!(retried.status, BatchStatus::Running);
    let runs = db.read(|tx| list_batch_runs(tx, day)).expect("list");
    assert_eq!(
        runs.iter().map(|r| r.step.as_str()).collect::<Vec<_>>(),
        vec!["lapses", "notices"]
    );
    assert_eq!(
        db.read(|tx| get_batch_run(tx, day, "notices")).expect("get"),
        Some(done)
    );
}

fn cards_expiring_pages_by_serial(f: &Fixture) {
    let db = &f.db;
    db.transaction(|tx| insert_municipality(tx, &chiyoda()))
        .expect("municipality");
    for i in 0..5u64 {
        let r = db
            .transaction(|tx| insert_resident(tx, &resident(1000 + i), at(2026, 1, 1, 0, 0)))
            .expect("resident");
        let mut c = card(&format!("{:016X}", 0xA0 + i), r.id, CardStatus::Active);
        c.expires_on = date(2026, 6, 10 + i as u32);
        db.transaction(|tx| insert_card(tx, &c)).expect("card");
    }
    let first = db
        .read(|tx| cards_expiring(tx, date(2026, 6, 11), date(2026, 6, 30), "", 2))
        .expect("page 1");
    assert_eq!(first.len(), 2);
    let last = first.last().map(|c| c.serial.clone()).unwrap_or_default();
    let second = db
        .read(|tx| cards_expiring(tx, date(2026, 6, 11), date(2026, 6, 30), &last, 2))
        .expect("page 2");
    assert_eq!(second.len(), 2);
    let third = db
        .read(|tx| cards_expiring(tx, date(2026, 6, 11), date(2026, 6, 30), &second[1].serial, 2))
        .expect("page 3");
    assert!(third.is_empty());
}

both_backends!(
    municipalities_round_trip,
    residents_round_trip_with_optimistic_locking,
    resident_invariants_are_kept_by_the_database,
    applications_round_trip,
    cards_round_trip_and_one_card_in_use,
    every_lapse_reason_round_trips,
    surface_entries_are_numbered,
    certificates_one_valid_per_kind_and_never_revived,
    loss_reports_round_trip,
    pin_reset_bookings_are_used_once_within_a_day,
    fees_round_trip_with_unique_receipts,
    notices_are_queued_once,
    insurance_eligibility_round_trip,
    batch_runs_resume_after_a_crash,
    cards_expiring_pages_by_serial,
);
