//! Reads on someone's behalf, on both registries: every read leaves one
//! disclosure in the same transaction, the My Number only for a purpose
//! that needs it, the holder sees their log, other municipalities are
//! refused and leave nothing, and no error carries a My Number.

mod common;

use common::*;
use mynacard_authority::{Actor, AuthorityError};
use mynacard_store::disclosure;
use mynacard_store::registry::ApplicationKind;

const NUMBER: &str = "123456789018";

fn disclosures(w: &World, id: i64) -> Vec<disclosure::Disclosure> {
    w.db()
        .read(|tx| disclosure::list_for_resident(tx, id))
        .expect("read")
        .into_iter()
        .map(|d| d.record)
        .collect()
}

fn assert_no_number(text: &str) {
    assert!(!text.contains(NUMBER), "a My Number leaked: {text}");
}

#[test]
fn every_read_records_one_disclosure() {
    on_both("records_read", date(2026, 11, 2), |w| {
        let id = w.resident(NUMBER, "番号　花子", date(1985, 4, 1));
        let clerk = w.clerk(CHIYODA);

        let view = w.authority.resident_record(&clerk, id, "identity_check").expect("read");
        assert_eq!(view.resident_id, id);
        assert_eq!(view.name, "番号　花子");
        assert!(view.my_number.is_none(), "not for an identity check");
        assert_no_number(&serde_json::to_string(&view).expect("json"));
        let log = disclosures(w, id);
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].actor, clerk.id);
        assert_eq!(log[0].purpose, "identity_check");
        assert!(!log[0].fields.iter().any(|f| f == "my_number"));
        assert!(log[0].fields.iter().any(|f| f == "address"));

        let view = w.authority.resident_record(&clerk, id, "tax").expect("read");
        assert_eq!(view.my_number.as_ref().map(|n| n.expose()), Some(NUMBER));
        assert_no_number(&format!("{view:?}"));
        let log = disclosures(w, id);
        assert_eq!(log.len(), 2);
        assert_eq!(log[1].purpose, "tax");
        assert!(log[1].fields.iter().any(|f| f == "my_number"));
        assert_eq!(view.disclosure_id, {
            let ids: Vec<i64> = w
                .db()
                .read(|tx| disclosure::list_for_resident(tx, id))
                .expect("read")
                .iter()
                .map(|d| d.id)
                .collect();
            ids[1]
        });

        // A lookup by number ties the number to the person: recorded with
        // my_number even when the view does not show it.
        let found = w
            .authority
            .find_resident_by_my_number(&clerk, NUMBER, "identity_check")
            .expect("found");
        assert_eq!(found.resident_id, id);
        assert!(found.my_number.is_none());
        let log = disclosures(w, id);
        assert_eq!(log.len(), 3);
        assert!(log[2].fields.iter().any(|f| f == "my_number"));

        // An unknown purpose reads nothing and records nothing.
        let err = w
            .authority
            .resident_record(&clerk, id, "curiosity")
            .expect_err("refused");
        assert!(matches!(err, AuthorityError::BadRequest(_)), "{err}");
        assert_eq!(disclosures(w, id).len(), 3);
    });
}

#[test]
fn the_holder_sees_their_disclosures() {
    on_both("records_holder", date(2026, 11, 2), |w| {
        let id = w.resident(NUMBER, "番号　花子", date(1985, 4, 1));
        let other = w.resident("234567890121", "番号　太郎", date(1980, 1, 1));
        let clerk = w.clerk(CHIYODA);
        w.authority.resident_record(&clerk, id, "card_service").expect("read");
        w.authority
            .resident_record(&clerk, id, "social_security")
            .expect("read");

        let holder = Actor::resident(id);
        let seen = w.authority.disclosures_for(&holder, id).expect("own log");
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].actor, clerk.id);
        assert_eq!(seen[0].purpose, "card_service");
        assert_eq!(seen[1].purpose, "social_security");
        // The holder reading their own log is not a disclosure.
        assert_eq!(disclosures(w, id).len(), 2);

        // The holder's own record, with their number; no other purpose.
        let own = w.authority.resident_record(&holder, id, "self").expect("own record");
        assert_eq!(own.my_number.as_ref().map(|n| n.expose()), Some(NUMBER));
        assert_eq!(disclosures(w, id).len(), 3);
        let err = w.authority.resident_record(&holder, id, "tax").expect_err("refused");
        assert!(matches!(err, AuthorityError::Forbidden(_)), "{err}");
        let err = w.authority.resident_record(&clerk, id, "self").expect_err("refused");
        assert!(matches!(err, AuthorityError::Forbidden(_)), "{err}");

        // Someone else's log or record: refused, nothing recorded.
        let err = w.authority.disclosures_for(&holder, other).expect_err("refused");
        assert!(matches!(err, AuthorityError::Forbidden(_)), "{err}");
        let err = w
            .authority
            .resident_record(&holder, other, "self")
            .expect_err("refused");
        assert!(matches!(err, AuthorityError::Forbidden(_)), "{err}");
        assert!(disclosures(w, other).is_empty());

        // Staff of the municipality may read the log; that is recorded.
        let by_staff = w.authority.disclosures_for(&clerk, id).expect("staff");
        assert_eq!(by_staff.len(), 3);
        let log = disclosures(w, id);
        assert_eq!(log.len(), 4);
        assert_eq!(log[3].purpose, "disclosure_review");
    });
}

#[test]
fn staff_of_another_municipality_are_refused_and_nothing_is_recorded() {
    on_both("records_scope", date(2026, 11, 2), |w| {
        let id = w.resident(NUMBER, "番号　花子", date(1985, 4, 1));
        let sapporo = w.clerk(SAPPORO);

        let err = w.authority.resident_record(&sapporo, id, "tax").expect_err("refused");
        assert!(matches!(err, AuthorityError::Forbidden(_)), "{err}");
        assert_no_number(&format!("{err} {err:?}"));

        // By number: answered like an unknown number (no oracle).
        let err = w
            .authority
            .find_resident_by_my_number(&sapporo, NUMBER, "tax")
            .expect_err("refused");
        assert!(matches!(err, AuthorityError::NotFound(_)), "{err}");
        assert_no_number(&format!("{err} {err:?}"));
        let err = w
            .authority
            .find_resident_by_my_number(&w.clerk(CHIYODA), "234567890121", "tax")
            .expect_err("unknown");
        assert!(matches!(err, AuthorityError::NotFound(_)), "{err}");
        assert!(!format!("{err} {err:?}").contains("234567890121"));
        let err = w
            .authority
            .find_resident_by_my_number(&w.clerk(CHIYODA), "123456789019", "tax")
            .expect_err("bad check digit");
        assert!(matches!(err, AuthorityError::BadRequest(_)), "{err}");
        assert!(!format!("{err} {err:?}").contains("123456789019"));

        let err = w.authority.disclosures_for(&sapporo, id).expect_err("refused");
        assert!(matches!(err, AuthorityError::Forbidden(_)), "{err}");
        let err = w.authority.audit_trail_for(&sapporo, id).expect_err("refused");
        assert!(matches!(err, AuthorityError::Forbidden(_)), "{err}");
        let err = w
            .authority
            .resident_record(&Actor::hotline("hotline:042"), id, "card_service")
            .expect_err("refused");
        assert!(matches!(err, AuthorityError::Forbidden(_)), "{err}");

        assert!(disclosures(w, id).is_empty(), "refused reads leave nothing");
    });
}

#[test]
fn the_audit_trail_of_a_resident() {
    on_both("records_audit", date(2026, 11, 2), |w| {
        let id = w.resident(NUMBER, "番号　花子", date(1985, 4, 1));
        let other = w.resident("234567890121", "番号　太郎", date(1980, 1, 1));
        let serial = w.issue_card(id, ApplicationKind::New);
        let clerk = w.clerk(CHIYODA);

        let trail = w.authority.audit_trail_for(&clerk, id).expect("trail");
        let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["resident.register", "application.take", "card.produce", "card.deliver"],
            "{trail:?}"
        );
        assert!(trail.windows(2).all(|p| p[0].seq < p[1].seq));
        assert!(trail.iter().any(|e| e.subject == format!("card:{serial}")));
        let text = serde_json::to_string(&trail).expect("json");
        assert_no_number(&text);
        // The other resident's registration is not in it.
        assert!(!trail.iter().any(|e| e.subject == format!("resident:{other}")));

        let log = disclosures(w, id);
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].purpose, "audit_review");

        // Window staff only.
        let err = w
            .authority
            .audit_trail_for(&Actor::resident(id), id)
            .expect_err("refused");
        assert!(matches!(err, AuthorityError::Forbidden(_)), "{err}");
        assert_eq!(disclosures(w, id).len(), 1);
    });
}
