//! Every worked example of rules.md, plus the rows a municipal clerk would
//! check, written as tables: one row per case, with a name that says which
//! paragraph of rules.md (or which clerk's question) it pins.
//!
//! Dates in the tables are literals computed by hand from the rule book, never
//! by calling the engine, so that a row can fail.

use mynacard_rules::card::{card_validity, AgeRegime, CardIssuance, ExpiryBasis, Residence};
use mynacard_rules::card::{validity_change, Applicant, ValidityChangeTarget};
use mynacard_rules::certificate::{certificate_validity, CertificateIssuance, SignCertRefusal};
use mynacard_rules::date::{age_on, nth_birthday_after, parse_date};
use mynacard_rules::face_card::{face_card_use, CardUse, FaceCardRefusal};
use mynacard_rules::fee::{fee, FeeCase, FeeCause, FeeReason, ReissueEvidence};
use mynacard_rules::lapse::{assess_lapse, CardEvent, CardFacts, LapseReason};
use mynacard_rules::numbers::{municipality_check_digit, my_number_check_digit};
use mynacard_rules::numbers::{MunicipalityCode, MyNumber};
use mynacard_rules::renewal::{notice_date, renewal_window};
use mynacard_rules::smartphone::{platforms_on, Platform};
use mynacard_rules::{Feb29Policy, NaiveDate, Policies, RuleError};

fn d(text: &str) -> NaiveDate {
    parse_date(text).unwrap_or_else(|e| panic!("the table date {text:?} is not a date: {e}"))
}

/// The default policies with `assignments` (`name=value`, as on the command line) applied.
fn policies(assignments: &[&str]) -> Policies {
    let mut p = Policies::default();
    for a in assignments {
        p.set(a)
            .unwrap_or_else(|e| panic!("the table policy {a:?} is not a policy: {e}"));
    }
    p
}

// ---------------------------------------------------------------------------
// §1 Dates, ages and birthdays
// ---------------------------------------------------------------------------

struct NthBirthdayCase {
    name: &'static str,
    born: &'static str,
    after: &'static str,
    n: u32,
    feb29: Feb29Policy,
    expected: &'static str,
}

const NTH_BIRTHDAY_CASES: &[NthBirthdayCase] = &[
    NthBirthdayCase {
        name: "§1 birthday 10-10, issued 2020-05-15: 5th birthday after",
        born: "1990-10-10",
        after: "2020-05-15",
        n: 5,
        feb29: Feb29Policy::Feb28,
        expected: "2024-10-10",
    },
    NthBirthdayCase {
        name: "§1 birthday 10-10, issued 2020-05-15: 10th birthday after",
        born: "1990-10-10",
        after: "2020-05-15",
        n: 10,
        feb29: Feb29Policy::Feb28,
        expected: "2029-10-10",
    },
    NthBirthdayCase {
        name: "§1 a birthday on the issuance date itself does not count",
        born: "1990-10-10",
        after: "2020-10-10",
        n: 5,
        feb29: Feb29Policy::Feb28,
        expected: "2025-10-10",
    },
    NthBirthdayCase {
        name: "§1 the day before the birthday: that birthday is the first",
        born: "1990-10-10",
        after: "2020-10-09",
        n: 5,
        feb29: Feb29Policy::Feb28,
        expected: "2024-10-10",
    },
    NthBirthdayCase {
        name: "§1 feb29 (default feb28): born 2004-02-29, issued 2025-04-01, 10th birthday after",
        born: "2004-02-29",
        after: "2025-04-01",
        n: 10,
        feb29: Feb29Policy::Feb28,
        expected: "2035-02-28",
    },
    NthBirthdayCase {
        name: "§1 feb29=mar1: born 2004-02-29, issued 2025-04-01, 10th birthday after",
        born: "2004-02-29",
        after: "2025-04-01",
        n: 10,
        feb29: Feb29Policy::Mar1,
        expected: "2035-03-01",
    },
    NthBirthdayCase {
        name: "§1 feb29: in a leap year the birthday is 29 February under either policy",
        born: "2004-02-29",
        after: "2026-04-01",
        n: 10,
        feb29: Feb29Policy::Mar1,
        expected: "2036-02-29",
    },
    NthBirthdayCase {
        name: "§1 feb29 (default feb28): issued on 28 Feb of a common year, that birthday does not count",
        born: "2004-02-29",
        after: "2025-02-28",
        n: 1,
        feb29: Feb29Policy::Feb28,
        expected: "2026-02-28",
    },
    NthBirthdayCase {
        name: "§1 feb29=mar1: issued on 28 Feb of a common year, the birthday is the next day",
        born: "2004-02-29",
        after: "2025-02-28",
        n: 1,
        feb29: Feb29Policy::Mar1,
        expected: "2025-03-01",
    },
];

#[test]
fn nth_birthday_after_matches_the_worked_examples_of_section_1() {
    for case in NTH_BIRTHDAY_CASES {
        let got = nth_birthday_after(d(case.born), d(case.after), case.n, case.feb29);
        assert_eq!(got, d(case.expected), "{}", case.name);
    }
}

struct AgeCase {
    name: &'static str,
    born: &'static str,
    on: &'static str,
    age: u32,
}

const AGE_CASES: &[AgeCase] = &[
    AgeCase {
        name: "§1 the day before the 18th birthday: still 17",
        born: "2008-05-01",
        on: "2026-04-30",
        age: 17,
    },
    AgeCase {
        name: "§1 a person is N on the Nth birthday",
        born: "2008-05-01",
        on: "2026-05-01",
        age: 18,
    },
    AgeCase {
        name: "§1 born 29 Feb: still 20 on 28 Feb of a common year",
        born: "2004-02-29",
        on: "2025-02-28",
        age: 20,
    },
    AgeCase {
        name: "§1 born 29 Feb: 21 on 1 March of a common year",
        born: "2004-02-29",
        on: "2025-03-01",
        age: 21,
    },
    AgeCase {
        name: "§1 born 29 Feb: 19 on 28 Feb of a leap year",
        born: "2004-02-29",
        on: "2024-02-28",
        age: 19,
    },
    AgeCase {
        name: "§1 born 29 Feb: 20 on 29 Feb of a leap year",
        born: "2004-02-29",
        on: "2024-02-29",
        age: 20,
    },
    AgeCase {
        name: "§1 the day of birth: age 0",
        born: "2004-02-29",
        on: "2004-02-29",
        age: 0,
    },
];

#[test]
fn ages_match_the_statute_as_restated_in_section_1() {
    for case in AGE_CASES {
        let got = age_on(d(case.born), d(case.on))
            .unwrap_or_else(|e| panic!("{}: the date is after the birth: {e}", case.name));
        assert_eq!(got, case.age, "{}", case.name);
    }
}

#[test]
fn age_before_birth_is_refused() {
    let err = age_on(d("2004-02-29"), d("2004-02-28")).expect_err("a date before birth has no age");
    assert_eq!(err.code(), "before_birth");
}

// ---------------------------------------------------------------------------
// §2 Validity of the card
// ---------------------------------------------------------------------------

/// The holder's residence status, with the period of stay as a literal.
#[derive(Clone, Copy)]
enum Res {
    Japanese,
    Permanent,
    StayUntil(&'static str),
}

impl Res {
    fn residence(self) -> Residence {
        match self {
            Res::Japanese => Residence::Japanese,
            Res::Permanent => Residence::ForeignPermanent,
            Res::StayUntil(until) => Residence::ForeignWithStay { stay_until: d(until) },
        }
    }
}

struct CardCase {
    name: &'static str,
    born: &'static str,
    received: Option<&'static str>,
    issued: &'static str,
    residence: Res,
    policies: &'static [&'static str],
    expiry: &'static str,
    basis: ExpiryBasis,
    regime: AgeRegime,
    age_at_test: u32,
    window_opens: &'static str,
    notice: Option<&'static str>,
}

const CARD_CASES: &[CardCase] = &[
    CardCase {
        name: "§2 edge: born 2008-05-01, received 2026-04-10 (17), issued 2026-05-10 (18), default policy",
        born: "2008-05-01",
        received: Some("2026-04-10"),
        issued: "2026-05-10",
        residence: Res::Japanese,
        policies: &[],
        expiry: "2036-05-01",
        basis: ExpiryBasis::TenthBirthday,
        regime: AgeRegime::Eighteen,
        age_at_test: 18,
        window_opens: "2036-02-02",
        notice: Some("2036-02-02"),
    },
    CardCase {
        name: "§2 edge under age_test_date=application_received: 17 on receipt, so 5 years",
        born: "2008-05-01",
        received: Some("2026-04-10"),
        issued: "2026-05-10",
        residence: Res::Japanese,
        policies: &["age_test_date=application_received"],
        expiry: "2031-05-01",
        basis: ExpiryBasis::FifthBirthday,
        regime: AgeRegime::Eighteen,
        age_at_test: 17,
        window_opens: "2031-02-02",
        notice: Some("2031-02-02"),
    },
    CardCase {
        name: "§1 feb29 on a card: born 2004-02-29, issued 2025-04-01 → 2035-02-28",
        born: "2004-02-29",
        received: None,
        issued: "2025-04-01",
        residence: Res::Japanese,
        policies: &[],
        expiry: "2035-02-28",
        basis: ExpiryBasis::TenthBirthday,
        regime: AgeRegime::Eighteen,
        age_at_test: 21,
        window_opens: "2034-11-29",
        notice: Some("2034-11-29"),
    },
    CardCase {
        name: "§1 feb29=mar1 on a card: born 2004-02-29, issued 2025-04-01 → 2035-03-01",
        born: "2004-02-29",
        received: None,
        issued: "2025-04-01",
        residence: Res::Japanese,
        policies: &["feb29=mar1"],
        expiry: "2035-03-01",
        basis: ExpiryBasis::TenthBirthday,
        regime: AgeRegime::Eighteen,
        age_at_test: 21,
        window_opens: "2034-12-02",
        notice: Some("2034-12-02"),
    },
    CardCase {
        name: "regime switch: a 19-year-old whose application arrived 2022-03-31 is a minor (20 regime)",
        born: "2002-10-10",
        received: Some("2022-03-31"),
        issued: "2022-03-31",
        residence: Res::Japanese,
        policies: &[],
        expiry: "2026-10-10",
        basis: ExpiryBasis::FifthBirthday,
        regime: AgeRegime::Twenty,
        age_at_test: 19,
        window_opens: "2026-07-11",
        notice: Some("2026-07-11"),
    },
    CardCase {
        name: "regime switch: the same 19-year-old with the application on 2022-04-01 is an adult (18 regime)",
        born: "2002-10-10",
        received: Some("2022-04-01"),
        issued: "2022-04-01",
        residence: Res::Japanese,
        policies: &[],
        expiry: "2031-10-10",
        basis: ExpiryBasis::TenthBirthday,
        regime: AgeRegime::Eighteen,
        age_at_test: 19,
        window_opens: "2031-07-11",
        notice: Some("2031-07-11"),
    },
    CardCase {
        name: "regime follows receipt, not issuance: received 2022-03-31, issued 2022-04-20 at 18 → 5 years",
        born: "2003-06-01",
        received: Some("2022-03-31"),
        issued: "2022-04-20",
        residence: Res::Japanese,
        policies: &[],
        expiry: "2026-06-01",
        basis: ExpiryBasis::FifthBirthday,
        regime: AgeRegime::Twenty,
        age_at_test: 18,
        window_opens: "2026-03-02",
        notice: Some("2026-03-02"),
    },
    CardCase {
        name: "regime follows receipt: received 2022-04-01, issued 2022-04-20 at 18 → 10 years",
        born: "2003-06-01",
        received: Some("2022-04-01"),
        issued: "2022-04-20",
        residence: Res::Japanese,
        policies: &[],
        expiry: "2031-06-01",
        basis: ExpiryBasis::TenthBirthday,
        regime: AgeRegime::Eighteen,
        age_at_test: 18,
        window_opens: "2031-03-02",
        notice: Some("2031-03-02"),
    },
    CardCase {
        name: "20 regime: a 20-year-old is an adult, 10 years",
        born: "2001-12-01",
        received: Some("2022-03-31"),
        issued: "2022-04-15",
        residence: Res::Japanese,
        policies: &[],
        expiry: "2031-12-01",
        basis: ExpiryBasis::TenthBirthday,
        regime: AgeRegime::Twenty,
        age_at_test: 20,
        window_opens: "2031-09-02",
        notice: Some("2031-09-02"),
    },
    CardCase {
        name: "§2 foreign resident, period of stay to 2028-03-31, earlier than the 10th birthday: stay end, no notice",
        born: "1990-07-07",
        received: None,
        issued: "2026-01-15",
        residence: Res::StayUntil("2028-03-31"),
        policies: &[],
        expiry: "2028-03-31",
        basis: ExpiryBasis::EndOfStay,
        regime: AgeRegime::Eighteen,
        age_at_test: 35,
        window_opens: "2028-01-01",
        notice: None,
    },
    CardCase {
        name: "§2 foreign child, period of stay to 2027-09-30, earlier than the 5th birthday: stay end",
        born: "2015-03-03",
        received: None,
        issued: "2026-01-15",
        residence: Res::StayUntil("2027-09-30"),
        policies: &[],
        expiry: "2027-09-30",
        basis: ExpiryBasis::EndOfStay,
        regime: AgeRegime::Eighteen,
        age_at_test: 10,
        window_opens: "2027-07-01",
        notice: None,
    },
    CardCase {
        name: "§2 foreign resident, stay to 2040-01-01, after the 10th birthday: birthday rule, still no notice (§5)",
        born: "1990-07-07",
        received: None,
        issued: "2026-01-15",
        residence: Res::StayUntil("2040-01-01"),
        policies: &[],
        expiry: "2035-07-07",
        basis: ExpiryBasis::TenthBirthday,
        regime: AgeRegime::Eighteen,
        age_at_test: 35,
        window_opens: "2035-04-08",
        notice: None,
    },
    CardCase {
        name: "§2 permanent resident (永住者): birthday rule and a renewal notice",
        born: "1980-07-07",
        received: None,
        issued: "2026-01-15",
        residence: Res::Permanent,
        policies: &[],
        expiry: "2035-07-07",
        basis: ExpiryBasis::TenthBirthday,
        regime: AgeRegime::Eighteen,
        age_at_test: 45,
        window_opens: "2035-04-08",
        notice: Some("2035-04-08"),
    },
    CardCase {
        name: "§2 permanent resident aged 10: 5th birthday",
        born: "2015-03-03",
        received: None,
        issued: "2026-01-15",
        residence: Res::Permanent,
        policies: &[],
        expiry: "2030-03-03",
        basis: ExpiryBasis::FifthBirthday,
        regime: AgeRegime::Eighteen,
        age_at_test: 10,
        window_opens: "2029-12-04",
        notice: Some("2029-12-04"),
    },
    CardCase {
        name: "§5 on a card: birthday 05-31 → expiry 2035-05-31, window opens 2035-02-28 + 1",
        born: "1990-05-31",
        received: None,
        issued: "2026-01-10",
        residence: Res::Japanese,
        policies: &[],
        expiry: "2035-05-31",
        basis: ExpiryBasis::TenthBirthday,
        regime: AgeRegime::Eighteen,
        age_at_test: 35,
        window_opens: "2035-03-01",
        notice: Some("2035-03-01"),
    },
];

#[test]
fn card_validity_matches_the_worked_examples_of_section_2() {
    for case in CARD_CASES {
        let facts = CardIssuance {
            born: d(case.born),
            issued: d(case.issued),
            application_received: case.received.map(d),
            residence: case.residence.residence(),
        };
        let v = card_validity(&facts, &policies(case.policies))
            .unwrap_or_else(|e| panic!("{}: the facts are valid: {e}", case.name));
        assert_eq!(v.expiry, d(case.expiry), "{}: expiry", case.name);
        assert_eq!(v.basis, case.basis, "{}: basis", case.name);
        assert_eq!(v.regime, case.regime, "{}: regime", case.name);
        assert_eq!(v.age_at_test, case.age_at_test, "{}: age at the test", case.name);
        assert_eq!(
            v.renewal_window.opens,
            d(case.window_opens),
            "{}: window opens",
            case.name
        );
        assert_eq!(v.renewal_window.closes, d(case.expiry), "{}: window closes", case.name);
        assert_eq!(v.notice_date, case.notice.map(d), "{}: notice date", case.name);
    }
}

// ---------------------------------------------------------------------------
// §3 Validity of the electronic certificates
// ---------------------------------------------------------------------------

struct CertCase {
    name: &'static str,
    born: &'static str,
    issued: &'static str,
    card_expiry: &'static str,
    previous_expiry: Option<&'static str>,
    existing_auth_expiry: Option<&'static str>,
    adult_ward: bool,
    policies: &'static [&'static str],
    sign_expiry: Option<&'static str>,
    sign_refusal: Option<SignCertRefusal>,
    auth_expiry: &'static str,
    renewal_bonus: bool,
}

const CERT_CASES: &[CertCase] = &[
    CertCase {
        name: "§3 renewed 2026-04-01, in the window: 6th birthday 2031-06-15 (= the card cap)",
        born: "1980-06-15",
        issued: "2026-04-01",
        card_expiry: "2031-06-15",
        previous_expiry: Some("2026-06-15"),
        existing_auth_expiry: None,
        adult_ward: false,
        policies: &[],
        sign_expiry: Some("2031-06-15"),
        sign_refusal: None,
        auth_expiry: "2031-06-15",
        renewal_bonus: true,
    },
    CertCase {
        name: "§3 renewed after expiry on 2026-07-01: new issuance, 5th birthday 2031-06-15",
        born: "1980-06-15",
        issued: "2026-07-01",
        card_expiry: "2031-06-15",
        previous_expiry: Some("2026-06-15"),
        existing_auth_expiry: None,
        adult_ward: false,
        policies: &[],
        sign_expiry: Some("2031-06-15"),
        sign_refusal: None,
        auth_expiry: "2031-06-15",
        renewal_bonus: false,
    },
    CertCase {
        name: "§3 the bonus without the card cap: renewed 2026-04-01, card to 2040 → 2031-06-15",
        born: "1980-06-15",
        issued: "2026-04-01",
        card_expiry: "2040-06-15",
        previous_expiry: Some("2026-06-15"),
        existing_auth_expiry: None,
        adult_ward: false,
        policies: &[],
        sign_expiry: Some("2031-06-15"),
        sign_refusal: None,
        auth_expiry: "2031-06-15",
        renewal_bonus: true,
    },
    CertCase {
        name: "§3 renewed 2026-03-15, the day before the window: no bonus, 5th birthday 2030-06-15",
        born: "1980-06-15",
        issued: "2026-03-15",
        card_expiry: "2040-06-15",
        previous_expiry: Some("2026-06-15"),
        existing_auth_expiry: None,
        adult_ward: false,
        policies: &[],
        sign_expiry: Some("2030-06-15"),
        sign_refusal: None,
        auth_expiry: "2030-06-15",
        renewal_bonus: false,
    },
    CertCase {
        name: "§3 the bonus is still capped by the card: card to 2029-12-31",
        born: "1980-06-15",
        issued: "2026-04-01",
        card_expiry: "2029-12-31",
        previous_expiry: Some("2026-06-15"),
        existing_auth_expiry: None,
        adult_ward: false,
        policies: &[],
        sign_expiry: Some("2029-12-31"),
        sign_refusal: None,
        auth_expiry: "2029-12-31",
        renewal_bonus: true,
    },
    CertCase {
        name: "§3 a signature certificate never outlives the auth certificate the holder keeps",
        born: "1980-06-15",
        issued: "2026-08-01",
        card_expiry: "2035-06-15",
        previous_expiry: None,
        existing_auth_expiry: Some("2028-06-15"),
        adult_ward: false,
        policies: &[],
        sign_expiry: Some("2028-06-15"),
        sign_refusal: None,
        auth_expiry: "2028-06-15",
        renewal_bonus: false,
    },
    CertCase {
        name: "§3 under 15: no signature certificate, the auth certificate runs to the card cap",
        born: "2012-01-01",
        issued: "2026-12-31",
        card_expiry: "2031-01-01",
        previous_expiry: None,
        existing_auth_expiry: None,
        adult_ward: false,
        policies: &[],
        sign_expiry: None,
        sign_refusal: Some(SignCertRefusal::UnderMinimumAge),
        auth_expiry: "2031-01-01",
        renewal_bonus: false,
    },
    CertCase {
        name: "§3 adult ward (成年被後見人): no signature certificate by default",
        born: "1950-01-01",
        issued: "2026-01-02",
        card_expiry: "2035-01-01",
        previous_expiry: None,
        existing_auth_expiry: None,
        adult_ward: true,
        policies: &[],
        sign_expiry: None,
        sign_refusal: Some(SignCertRefusal::AdultWard),
        auth_expiry: "2031-01-01",
        renewal_bonus: false,
    },
    CertCase {
        name: "§3 adult ward with the override sign_cert_for_adult_wards=true",
        born: "1950-01-01",
        issued: "2026-01-02",
        card_expiry: "2035-01-01",
        previous_expiry: None,
        existing_auth_expiry: None,
        adult_ward: true,
        policies: &["sign_cert_for_adult_wards=true"],
        sign_expiry: Some("2031-01-01"),
        sign_refusal: None,
        auth_expiry: "2031-01-01",
        renewal_bonus: false,
    },
];

#[test]
fn certificate_validity_matches_the_worked_examples_of_section_3() {
    for case in CERT_CASES {
        let facts = CertificateIssuance {
            born: d(case.born),
            issued: d(case.issued),
            card_expiry: d(case.card_expiry),
            existing_auth_expiry: case.existing_auth_expiry.map(d),
            previous_expiry: case.previous_expiry.map(d),
            adult_ward: case.adult_ward,
        };
        let v = certificate_validity(&facts, &policies(case.policies))
            .unwrap_or_else(|e| panic!("{}: the facts are valid: {e}", case.name));
        assert_eq!(v.sign_expiry, case.sign_expiry.map(d), "{}: signature", case.name);
        assert_eq!(v.sign_refusal, case.sign_refusal, "{}: refusal", case.name);
        assert_eq!(v.auth_expiry, d(case.auth_expiry), "{}: auth", case.name);
        assert_eq!(v.renewal_bonus, case.renewal_bonus, "{}: renewal bonus", case.name);
    }
}

// ---------------------------------------------------------------------------
// §5 Renewal
// ---------------------------------------------------------------------------

struct RenewalCase {
    name: &'static str,
    expiry: &'static str,
    policies: &'static [&'static str],
    opens: &'static str,
    notice: &'static str,
}

const RENEWAL_CASES: &[RenewalCase] = &[
    RenewalCase {
        name: "§5 expiry 2026-06-15 → opens 2026-03-16",
        expiry: "2026-06-15",
        policies: &[],
        opens: "2026-03-16",
        notice: "2026-03-16",
    },
    RenewalCase {
        name: "§5 month end: expiry 2026-05-31 → 2026-02-28 + 1 = 2026-03-01",
        expiry: "2026-05-31",
        policies: &[],
        opens: "2026-03-01",
        notice: "2026-03-01",
    },
    RenewalCase {
        name: "§5 month end in a leap year: expiry 2028-05-31 → 2028-02-29 + 1 = 2028-03-01",
        expiry: "2028-05-31",
        policies: &[],
        opens: "2028-03-01",
        notice: "2028-03-01",
    },
    RenewalCase {
        name: "§5 month end: expiry 2027-05-29 → clamped to 2027-02-28 → 2027-03-01",
        expiry: "2027-05-29",
        policies: &[],
        opens: "2027-03-01",
        notice: "2027-03-01",
    },
    RenewalCase {
        name: "§5 across the year: expiry 2026-03-31 → 2025-12-31 + 1 = 2026-01-01",
        expiry: "2026-03-31",
        policies: &[],
        opens: "2026-01-01",
        notice: "2026-01-01",
    },
    RenewalCase {
        name: "§5 30-day month: expiry 2026-12-31 → 2026-09-30 + 1 = 2026-10-01",
        expiry: "2026-12-31",
        policies: &[],
        opens: "2026-10-01",
        notice: "2026-10-01",
    },
    RenewalCase {
        name: "§5 renewal_month_end=roll_forward_then_next_day: expiry 2026-05-31 → 2026-03-02",
        expiry: "2026-05-31",
        policies: &["renewal_month_end=roll_forward_then_next_day"],
        opens: "2026-03-02",
        notice: "2026-03-02",
    },
    RenewalCase {
        name: "§5 roll forward changes nothing when the day exists: 2026-06-15 → 2026-03-16",
        expiry: "2026-06-15",
        policies: &["renewal_month_end=roll_forward_then_next_day"],
        opens: "2026-03-16",
        notice: "2026-03-16",
    },
    RenewalCase {
        name: "§5 notice_lead=2: the notice goes out 2 months before, the window still opens at 3",
        expiry: "2026-06-15",
        policies: &["notice_lead=2"],
        opens: "2026-03-16",
        notice: "2026-04-16",
    },
    RenewalCase {
        name: "§5 notice_lead=2 at a month end: 2026-04-30 → 2026-02-28 + 1",
        expiry: "2026-04-30",
        policies: &["notice_lead=2"],
        opens: "2026-01-31",
        notice: "2026-03-01",
    },
];

#[test]
fn renewal_window_and_notice_match_the_worked_examples_of_section_5() {
    for case in RENEWAL_CASES {
        let p = policies(case.policies);
        let w = renewal_window(d(case.expiry), &p);
        assert_eq!(w.opens, d(case.opens), "{}: opens", case.name);
        assert_eq!(w.closes, d(case.expiry), "{}: closes", case.name);
        assert_eq!(notice_date(d(case.expiry), &p), d(case.notice), "{}: notice", case.name);
    }
}

// ---------------------------------------------------------------------------
// §7 Lapse of the card
// ---------------------------------------------------------------------------

/// A card event with literal dates.
#[derive(Clone, Copy)]
enum Ev {
    MoveOut {
        notified: &'static str,
        planned: &'static str,
    },
    MoveIn {
        moved_in: &'static str,
        notified: &'static str,
    },
    Updated(&'static str),
}

impl Ev {
    fn event(self) -> CardEvent {
        match self {
            Ev::MoveOut { notified, planned } => CardEvent::MoveOut {
                notified: d(notified),
                planned: d(planned),
            },
            Ev::MoveIn { moved_in, notified } => CardEvent::MoveIn {
                moved_in: d(moved_in),
                notified: d(notified),
            },
            Ev::Updated(on) => CardEvent::CardUpdated { on: d(on) },
        }
    }
}

struct LapseCase {
    name: &'static str,
    expiry: &'static str,
    events: &'static [Ev],
    today: &'static str,
    lapse_date: &'static str,
    reason: LapseReason,
    lapsed: bool,
}

const LAPSE_CASES: &[LapseCase] = &[
    LapseCase {
        name: "§7 moved in 2026-04-01, move-in notified 2026-04-15: in time",
        expiry: "2035-01-01",
        events: &[
            Ev::MoveIn {
                moved_in: "2026-04-01",
                notified: "2026-04-15",
            },
            Ev::Updated("2026-04-15"),
        ],
        today: "2026-04-15",
        lapse_date: "2035-01-02",
        reason: LapseReason::Expired,
        lapsed: false,
    },
    LapseCase {
        name: "§7 moved in 2026-04-01, move-in notified 2026-04-16: late, the card lapses 2026-04-16",
        expiry: "2035-01-01",
        events: &[Ev::MoveIn {
            moved_in: "2026-04-01",
            notified: "2026-04-16",
        }],
        today: "2026-04-16",
        lapse_date: "2026-04-16",
        reason: LapseReason::LateMoveIn,
        lapsed: true,
    },
    LapseCase {
        name: "§7 planned move-out 2026-04-01, move-in notified 2026-05-01: in time",
        expiry: "2035-01-01",
        events: &[
            Ev::MoveOut {
                notified: "2026-03-25",
                planned: "2026-04-01",
            },
            Ev::MoveIn {
                moved_in: "2026-04-25",
                notified: "2026-05-01",
            },
            Ev::Updated("2026-05-01"),
        ],
        today: "2026-05-01",
        lapse_date: "2035-01-02",
        reason: LapseReason::Expired,
        lapsed: false,
    },
    LapseCase {
        name: "§7 planned move-out 2026-04-01, no move-in: still valid on 2026-05-01",
        expiry: "2035-01-01",
        events: &[Ev::MoveOut {
            notified: "2026-03-25",
            planned: "2026-04-01",
        }],
        today: "2026-05-01",
        lapse_date: "2026-05-02",
        reason: LapseReason::NoMoveInAfterMoveOut,
        lapsed: false,
    },
    LapseCase {
        name: "§7 planned move-out 2026-04-01, no move-in: the card lapses 2026-05-02",
        expiry: "2035-01-01",
        events: &[Ev::MoveOut {
            notified: "2026-03-25",
            planned: "2026-04-01",
        }],
        today: "2026-05-02",
        lapse_date: "2026-05-02",
        reason: LapseReason::NoMoveInAfterMoveOut,
        lapsed: true,
    },
    LapseCase {
        name: "§7 planned move-out 2026-04-01, move-in notified 2026-05-02: too late, lapsed that day",
        expiry: "2035-01-01",
        events: &[
            Ev::MoveOut {
                notified: "2026-03-25",
                planned: "2026-04-01",
            },
            Ev::MoveIn {
                moved_in: "2026-04-25",
                notified: "2026-05-02",
            },
        ],
        today: "2026-05-02",
        lapse_date: "2026-05-02",
        reason: LapseReason::NoMoveInAfterMoveOut,
        lapsed: true,
    },
    LapseCase {
        name: "§7 move-in notified 2026-04-10, card updated 2026-07-09: in time",
        expiry: "2035-01-01",
        events: &[
            Ev::MoveIn {
                moved_in: "2026-04-05",
                notified: "2026-04-10",
            },
            Ev::Updated("2026-07-09"),
        ],
        today: "2026-07-09",
        lapse_date: "2035-01-02",
        reason: LapseReason::Expired,
        lapsed: false,
    },
    LapseCase {
        name: "§7 move-in notified 2026-04-10, card not updated: lapses 2026-07-10",
        expiry: "2035-01-01",
        events: &[Ev::MoveIn {
            moved_in: "2026-04-05",
            notified: "2026-04-10",
        }],
        today: "2026-07-10",
        lapse_date: "2026-07-10",
        reason: LapseReason::CardNotUpdatedAfterMoveIn,
        lapsed: true,
    },
    LapseCase {
        name: "§7 move-in notified 2026-04-10, card updated 2026-07-10: too late",
        expiry: "2035-01-01",
        events: &[
            Ev::MoveIn {
                moved_in: "2026-04-05",
                notified: "2026-04-10",
            },
            Ev::Updated("2026-07-10"),
        ],
        today: "2026-07-10",
        lapse_date: "2026-07-10",
        reason: LapseReason::CardNotUpdatedAfterMoveIn,
        lapsed: true,
    },
    LapseCase {
        name: "§7 the card is valid through its expiry date",
        expiry: "2030-01-31",
        events: &[],
        today: "2030-01-31",
        lapse_date: "2030-02-01",
        reason: LapseReason::Expired,
        lapsed: false,
    },
    LapseCase {
        name: "§7 the card lapses the day after its expiry date",
        expiry: "2030-01-31",
        events: &[],
        today: "2030-02-01",
        lapse_date: "2030-02-01",
        reason: LapseReason::Expired,
        lapsed: true,
    },
    LapseCase {
        name: "§7 the earliest rule wins: expiry before the end of the 90-day update clock",
        expiry: "2026-05-31",
        events: &[Ev::MoveIn {
            moved_in: "2026-04-05",
            notified: "2026-04-10",
        }],
        today: "2026-04-20",
        lapse_date: "2026-06-01",
        reason: LapseReason::Expired,
        lapsed: false,
    },
    LapseCase {
        name: "§7 moving again within the 90 days without an update: lapses on the second move",
        expiry: "2035-01-01",
        events: &[
            Ev::MoveIn {
                moved_in: "2026-04-05",
                notified: "2026-04-10",
            },
            Ev::MoveOut {
                notified: "2026-06-01",
                planned: "2026-06-10",
            },
        ],
        today: "2026-06-02",
        lapse_date: "2026-06-01",
        reason: LapseReason::MovedAgainBeforeUpdate,
        lapsed: true,
    },
];

#[test]
fn lapse_matches_the_worked_examples_of_section_7() {
    for case in LAPSE_CASES {
        let card = CardFacts {
            expiry: d(case.expiry),
            foreign_national: false,
            bounded_by_stay: false,
        };
        let events: Vec<CardEvent> = case.events.iter().map(|e| e.event()).collect();
        let a = assess_lapse(&card, &events, d(case.today))
            .unwrap_or_else(|e| panic!("{}: the history is consistent: {e}", case.name));
        assert_eq!(a.lapse_date, d(case.lapse_date), "{}: lapse date", case.name);
        assert_eq!(a.reason, case.reason, "{}: reason", case.name);
        assert_eq!(a.lapsed, case.lapsed, "{}: lapsed", case.name);
    }
}

// ---------------------------------------------------------------------------
// §8 Foreign residents: the card validity change (有効期間変更)
// ---------------------------------------------------------------------------

/// `Ok((expiry, basis))` or `Err(error code)`.
type ChangeOutcome = Result<(&'static str, ExpiryBasis), &'static str>;

struct ValidityChangeCase {
    name: &'static str,
    new_stay_until: &'static str,
    requested_on: &'static str,
    applicant: Applicant,
    target: ValidityChangeTarget,
    expected: ChangeOutcome,
}

/// Every row: born 1990-07-07, card issued 2026-01-15 to a foreign resident
/// whose stay ended 2027-03-31, so the card expires 2027-03-31.
const VALIDITY_CHANGE_CASES: &[ValidityChangeCase] = &[
    ValidityChangeCase {
        name: "§8 stay extended to 2030-03-31: the card follows it",
        new_stay_until: "2030-03-31",
        requested_on: "2027-03-01",
        applicant: Applicant::Holder,
        target: ValidityChangeTarget::Card,
        expected: Ok(("2030-03-31", ExpiryBasis::EndOfStay)),
    },
    ValidityChangeCase {
        name: "§8 a household member may apply for the card",
        new_stay_until: "2030-03-31",
        requested_on: "2027-03-01",
        applicant: Applicant::HouseholdMember,
        target: ValidityChangeTarget::Card,
        expected: Ok(("2030-03-31", ExpiryBasis::EndOfStay)),
    },
    ValidityChangeCase {
        name: "§8 a household member may not apply for the signature certificate",
        new_stay_until: "2030-03-31",
        requested_on: "2027-03-01",
        applicant: Applicant::HouseholdMember,
        target: ValidityChangeTarget::SignatureCertificate,
        expected: Err("applicant_not_allowed"),
    },
    ValidityChangeCase {
        name: "§8 the holder may apply for the signature certificate",
        new_stay_until: "2030-03-31",
        requested_on: "2027-03-01",
        applicant: Applicant::Holder,
        target: ValidityChangeTarget::SignatureCertificate,
        expected: Ok(("2030-03-31", ExpiryBasis::EndOfStay)),
    },
    ValidityChangeCase {
        name: "§8 a stay beyond the 10th birthday after issuance is capped by it",
        new_stay_until: "2040-03-31",
        requested_on: "2027-03-01",
        applicant: Applicant::Holder,
        target: ValidityChangeTarget::Card,
        expected: Ok(("2035-07-07", ExpiryBasis::TenthBirthday)),
    },
    ValidityChangeCase {
        name: "§8 requested on the expiry date: still before the card lapses",
        new_stay_until: "2030-03-31",
        requested_on: "2027-03-31",
        applicant: Applicant::Holder,
        target: ValidityChangeTarget::Card,
        expected: Ok(("2030-03-31", ExpiryBasis::EndOfStay)),
    },
    ValidityChangeCase {
        name: "§8 requested the day after expiry: the card lapsed, reissue for a fee",
        new_stay_until: "2030-03-31",
        requested_on: "2027-04-01",
        applicant: Applicant::Holder,
        target: ValidityChangeTarget::Card,
        expected: Err("validity_change_after_expiry"),
    },
    ValidityChangeCase {
        name: "§8 a new stay ending on the current expiry extends nothing",
        new_stay_until: "2027-03-31",
        requested_on: "2027-03-01",
        applicant: Applicant::Holder,
        target: ValidityChangeTarget::Card,
        expected: Err("validity_change_does_not_extend"),
    },
];

#[test]
fn validity_change_of_section_8_follows_the_new_stay_within_the_birthday_rule() {
    let original = CardIssuance {
        born: d("1990-07-07"),
        issued: d("2026-01-15"),
        application_received: None,
        residence: Residence::ForeignWithStay {
            stay_until: d("2027-03-31"),
        },
    };
    let p = Policies::default();
    let current = card_validity(&original, &p).expect("a possible card");
    assert_eq!(current.expiry, d("2027-03-31"), "the card before the change");
    for case in VALIDITY_CHANGE_CASES {
        let got = validity_change(
            &original,
            current.expiry,
            d(case.new_stay_until),
            d(case.requested_on),
            case.applicant,
            case.target,
            &p,
        )
        .map(|v| (v.expiry, v.basis, v.notice_date))
        .map_err(|e| e.code());
        let expected = case.expected.map(|(expiry, basis)| (d(expiry), basis, None));
        assert_eq!(got, expected, "{}", case.name);
    }
}

// ---------------------------------------------------------------------------
// §9 Reissue evidence
// ---------------------------------------------------------------------------

const EVIDENCE_CASES: &[(&str, FeeCause, Option<ReissueEvidence>)] = &[
    ("§9 first issuance: nothing", FeeCause::FirstIssuance, None),
    (
        "§9 loss: the police receipt number",
        FeeCause::Loss,
        Some(ReissueEvidence::PoliceReceiptNumber),
    ),
    (
        "§9 theft: the police receipt number",
        FeeCause::Theft,
        Some(ReissueEvidence::PoliceReceiptNumber),
    ),
    (
        "§9 fire: a disaster certificate",
        FeeCause::Fire,
        Some(ReissueEvidence::DisasterCertificate),
    ),
    (
        "§9 damage: the damaged card",
        FeeCause::Damage,
        Some(ReissueEvidence::DamagedCard),
    ),
    (
        "§9 malfunction: the card",
        FeeCause::Malfunction,
        Some(ReissueEvidence::DamagedCard),
    ),
    (
        "追記欄 full: the old card (engine; §9 names no evidence)",
        FeeCause::FullEntries,
        Some(ReissueEvidence::OldCard),
    ),
    (
        "renewal: the old card (engine; §9 names no evidence)",
        FeeCause::Renewal,
        Some(ReissueEvidence::OldCard),
    ),
    (
        "end of stay: the old card (engine; §9 names no evidence)",
        FeeCause::StayExpired,
        Some(ReissueEvidence::OldCard),
    ),
];

#[test]
fn reissue_evidence_of_section_9_for_every_cause() {
    for (name, cause, evidence) in EVIDENCE_CASES {
        assert_eq!(cause.required_evidence(), *evidence, "{name}");
    }
    for cause in all_fee_causes() {
        assert!(
            EVIDENCE_CASES.iter().any(|(_, c, _)| *c == cause),
            "no evidence row for {cause:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// §10 Fees: every cause × with/without certificates × fault
// ---------------------------------------------------------------------------

/// Every fee cause. The `match` makes this fail to compile when a cause is
/// added, so that the fee table below must grow with it.
fn all_fee_causes() -> [FeeCause; 9] {
    let all = [
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
    for cause in all {
        match cause {
            FeeCause::FirstIssuance
            | FeeCause::Loss
            | FeeCause::Theft
            | FeeCause::Fire
            | FeeCause::Damage
            | FeeCause::Malfunction
            | FeeCause::FullEntries
            | FeeCause::Renewal
            | FeeCause::StayExpired => {}
        }
    }
    all
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charge {
    Yen(u32, FeeReason),
    /// The no-fault exemption does not exist for this cause.
    NotApplicable,
}

struct FeeRow {
    name: &'static str,
    cause: FeeCause,
    with_certificates: bool,
    not_holders_fault: bool,
    expected: Charge,
}

const fn row(
    name: &'static str,
    cause: FeeCause,
    with_certificates: bool,
    not_holders_fault: bool,
    expected: Charge,
) -> FeeRow {
    FeeRow {
        name,
        cause,
        with_certificates,
        not_holders_fault,
        expected,
    }
}

use Charge::{NotApplicable, Yen};
use FeeCause as C;
use FeeReason as R;

const FEE_TABLE: &[FeeRow] = &[
    row(
        "first issuance, card only",
        C::FirstIssuance,
        false,
        false,
        Yen(0, R::FirstIssuanceFree),
    ),
    row(
        "first issuance, with certificates",
        C::FirstIssuance,
        true,
        false,
        Yen(0, R::FirstIssuanceFree),
    ),
    row(
        "first issuance, card only, 'not at fault'",
        C::FirstIssuance,
        false,
        true,
        NotApplicable,
    ),
    row(
        "first issuance, with certificates, 'not at fault'",
        C::FirstIssuance,
        true,
        true,
        NotApplicable,
    ),
    row("loss, card only", C::Loss, false, false, Yen(800, R::ReissueCardOnly)),
    row(
        "loss, with certificates",
        C::Loss,
        true,
        false,
        Yen(1_000, R::ReissueWithCertificates),
    ),
    row(
        "loss, card only, not at fault",
        C::Loss,
        false,
        true,
        Yen(0, R::NotHoldersFaultFree),
    ),
    row(
        "loss, with certificates, not at fault",
        C::Loss,
        true,
        true,
        Yen(0, R::NotHoldersFaultFree),
    ),
    row("theft, card only", C::Theft, false, false, Yen(800, R::ReissueCardOnly)),
    row(
        "theft, with certificates",
        C::Theft,
        true,
        false,
        Yen(1_000, R::ReissueWithCertificates),
    ),
    row(
        "theft, card only, not at fault",
        C::Theft,
        false,
        true,
        Yen(0, R::NotHoldersFaultFree),
    ),
    row(
        "theft, with certificates, not at fault",
        C::Theft,
        true,
        true,
        Yen(0, R::NotHoldersFaultFree),
    ),
    row("fire, card only", C::Fire, false, false, Yen(800, R::ReissueCardOnly)),
    row(
        "fire, with certificates",
        C::Fire,
        true,
        false,
        Yen(1_000, R::ReissueWithCertificates),
    ),
    row(
        "fire, card only, natural disaster",
        C::Fire,
        false,
        true,
        Yen(0, R::NotHoldersFaultFree),
    ),
    row(
        "fire, with certificates, natural disaster",
        C::Fire,
        true,
        true,
        Yen(0, R::NotHoldersFaultFree),
    ),
    row(
        "damage, card only",
        C::Damage,
        false,
        false,
        Yen(800, R::ReissueCardOnly),
    ),
    row(
        "damage, with certificates",
        C::Damage,
        true,
        false,
        Yen(1_000, R::ReissueWithCertificates),
    ),
    row(
        "damage, card only, municipality's error",
        C::Damage,
        false,
        true,
        Yen(0, R::NotHoldersFaultFree),
    ),
    row(
        "damage, with certificates, municipality's error",
        C::Damage,
        true,
        true,
        Yen(0, R::NotHoldersFaultFree),
    ),
    row(
        "malfunction, card only",
        C::Malfunction,
        false,
        false,
        Yen(800, R::ReissueCardOnly),
    ),
    row(
        "malfunction, with certificates",
        C::Malfunction,
        true,
        false,
        Yen(1_000, R::ReissueWithCertificates),
    ),
    row(
        "malfunction, card only, J-LIS error",
        C::Malfunction,
        false,
        true,
        Yen(0, R::NotHoldersFaultFree),
    ),
    row(
        "malfunction, with certificates, J-LIS error",
        C::Malfunction,
        true,
        true,
        Yen(0, R::NotHoldersFaultFree),
    ),
    row(
        "追記欄 full, card only",
        C::FullEntries,
        false,
        false,
        Yen(0, R::FullEntriesFree),
    ),
    row(
        "追記欄 full, with certificates",
        C::FullEntries,
        true,
        false,
        Yen(0, R::FullEntriesFree),
    ),
    row(
        "追記欄 full, card only, 'not at fault'",
        C::FullEntries,
        false,
        true,
        NotApplicable,
    ),
    row(
        "追記欄 full, with certificates, 'not at fault'",
        C::FullEntries,
        true,
        true,
        NotApplicable,
    ),
    row("renewal, card only", C::Renewal, false, false, Yen(0, R::RenewalFree)),
    row(
        "renewal, with certificates",
        C::Renewal,
        true,
        false,
        Yen(0, R::RenewalFree),
    ),
    row(
        "renewal, card only, 'not at fault'",
        C::Renewal,
        false,
        true,
        NotApplicable,
    ),
    row(
        "renewal, with certificates, 'not at fault'",
        C::Renewal,
        true,
        true,
        NotApplicable,
    ),
    row(
        "end of stay, card only",
        C::StayExpired,
        false,
        false,
        Yen(800, R::ReissueCardOnly),
    ),
    row(
        "end of stay, with certificates",
        C::StayExpired,
        true,
        false,
        Yen(1_000, R::ReissueWithCertificates),
    ),
    row(
        "end of stay, card only, 'not at fault'",
        C::StayExpired,
        false,
        true,
        NotApplicable,
    ),
    row(
        "end of stay, with certificates, 'not at fault'",
        C::StayExpired,
        true,
        true,
        NotApplicable,
    ),
];

#[test]
fn fee_table_of_section_10_for_every_cause_certificates_and_fault() {
    let p = Policies::default();
    for r in FEE_TABLE {
        let case = FeeCase {
            cause: r.cause,
            with_certificates: r.with_certificates,
            not_holders_fault: r.not_holders_fault,
            renewal_timing: None,
        };
        let got = match fee(&case, &p) {
            Ok(f) => Yen(f.yen, f.reason),
            Err(RuleError::FeeNotApplicable(_)) => NotApplicable,
            Err(other) => panic!("{}: unexpected error {other:?}", r.name),
        };
        assert_eq!(got, r.expected, "{}", r.name);
    }
}

#[test]
fn fee_table_covers_every_cause_certificates_and_fault_exactly_once() {
    let mut seen = Vec::new();
    for r in FEE_TABLE {
        let key = (r.cause, r.with_certificates, r.not_holders_fault);
        assert!(!seen.contains(&key), "{}: row given twice", r.name);
        seen.push(key);
    }
    for cause in all_fee_causes() {
        for with_certificates in [false, true] {
            for fault in [false, true] {
                assert!(
                    seen.contains(&(cause, with_certificates, fault)),
                    "no fee row for {cause:?}, certificates {with_certificates}, not at fault {fault}"
                );
            }
        }
    }
    assert_eq!(seen.len(), 36);
}

struct RenewalFeeCase {
    name: &'static str,
    expiry: &'static str,
    on: &'static str,
    /// `Ok(yen)` or `Err(window opening day)`.
    expected: Result<u32, &'static str>,
}

const RENEWAL_FEE_CASES: &[RenewalFeeCase] = &[
    RenewalFeeCase {
        name: "§10 renewal the day before the window is not a renewal",
        expiry: "2026-06-15",
        on: "2026-03-15",
        expected: Err("2026-03-16"),
    },
    RenewalFeeCase {
        name: "§10 renewal on the window's first day is free",
        expiry: "2026-06-15",
        on: "2026-03-16",
        expected: Ok(0),
    },
    RenewalFeeCase {
        name: "§10 renewal on the expiry date is free",
        expiry: "2026-06-15",
        on: "2026-06-15",
        expected: Ok(0),
    },
    RenewalFeeCase {
        name: "§10 renewal of an expired card is free",
        expiry: "2026-06-15",
        on: "2027-01-01",
        expected: Ok(0),
    },
    RenewalFeeCase {
        name: "§10 month end: expiry 2026-05-31, renewal on 2026-02-28 is too early",
        expiry: "2026-05-31",
        on: "2026-02-28",
        expected: Err("2026-03-01"),
    },
];

#[test]
fn renewal_is_free_from_the_window_on_and_refused_before_it() {
    let p = Policies::default();
    for case in RENEWAL_FEE_CASES {
        let fc = FeeCase {
            cause: FeeCause::Renewal,
            with_certificates: true,
            not_holders_fault: false,
            renewal_timing: Some((d(case.expiry), d(case.on))),
        };
        let got = fee(&fc, &p).map(|f| f.yen);
        let expected = case
            .expected
            .map_err(|opens| RuleError::RenewalWindowNotOpen { opens: d(opens) });
        assert_eq!(got, expected, "{}", case.name);
    }
}

// ---------------------------------------------------------------------------
// §11 Face-recognition card
// ---------------------------------------------------------------------------

struct FaceCase {
    name: &'static str,
    card_use: CardUse,
    on: &'static str,
    expected: Result<(), FaceCardRefusal>,
}

const FACE_CASES: &[FaceCase] = &[
    FaceCase {
        name: "§11 allowed: medical/pharmacy eligibility",
        card_use: CardUse::MedicalEligibility,
        on: "2026-01-01",
        expected: Ok(()),
    },
    FaceCase {
        name: "§11 allowed: identity check by the card face",
        card_use: CardUse::IdentityCheckByCardFace,
        on: "2026-01-01",
        expected: Ok(()),
    },
    FaceCase {
        name: "§11 refused: Myna Portal",
        card_use: CardUse::MynaPortal,
        on: "2026-01-01",
        expected: Err(FaceCardRefusal::NeedsPin),
    },
    FaceCase {
        name: "§11 refused: convenience-store issuance",
        card_use: CardUse::ConvenienceStoreIssuance,
        on: "2026-01-01",
        expected: Err(FaceCardRefusal::NeedsPin),
    },
    FaceCase {
        name: "§11 refused: e-filing",
        card_use: CardUse::EFiling,
        on: "2026-01-01",
        expected: Err(FaceCardRefusal::NeedsPin),
    },
    FaceCase {
        name: "§11 refused: smartphone certificate",
        card_use: CardUse::SmartphoneCertificate,
        on: "2026-01-01",
        expected: Err(FaceCardRefusal::NeedsPin),
    },
    FaceCase {
        name: "§11 refused: moving one-stop",
        card_use: CardUse::MovingOneStop,
        on: "2026-01-01",
        expected: Err(FaceCardRefusal::NeedsPin),
    },
    FaceCase {
        name: "§11 refused: anything needing a PIN",
        card_use: CardUse::AnythingNeedingPin,
        on: "2026-01-01",
        expected: Err(FaceCardRefusal::NeedsPin),
    },
    FaceCase {
        name: "§11 face cards do not exist on 2023-12-14",
        card_use: CardUse::MedicalEligibility,
        on: "2023-12-14",
        expected: Err(FaceCardRefusal::NotYetAvailable),
    },
    FaceCase {
        name: "§11 face cards exist from 2023-12-15",
        card_use: CardUse::MedicalEligibility,
        on: "2023-12-15",
        expected: Ok(()),
    },
    FaceCase {
        name: "§11 from 2023-12-15 a PIN use is refused for the PIN, not the date",
        card_use: CardUse::MynaPortal,
        on: "2023-12-15",
        expected: Err(FaceCardRefusal::NeedsPin),
    },
];

#[test]
fn face_recognition_card_uses_match_section_11() {
    for case in FACE_CASES {
        assert_eq!(face_card_use(case.card_use, d(case.on)), case.expected, "{}", case.name);
    }
}

#[test]
fn face_card_table_names_every_use() {
    for card_use in CardUse::ALL {
        assert!(
            FACE_CASES
                .iter()
                .any(|c| c.card_use == card_use && c.on == "2026-01-01"),
            "no face-card row for {card_use:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// §12 Smartphone certificates
// ---------------------------------------------------------------------------

struct PlatformCase {
    name: &'static str,
    on: &'static str,
    platforms: &'static [Platform],
}

const PLATFORM_CASES: &[PlatformCase] = &[
    PlatformCase {
        name: "§12 2023-05-10: no platform yet",
        on: "2023-05-10",
        platforms: &[],
    },
    PlatformCase {
        name: "§12 2023-05-11: Android",
        on: "2023-05-11",
        platforms: &[Platform::Android],
    },
    PlatformCase {
        name: "§12 2025-06-23: still Android only",
        on: "2025-06-23",
        platforms: &[Platform::Android],
    },
    PlatformCase {
        name: "§12 2025-06-24: Android and iPhone",
        on: "2025-06-24",
        platforms: &[Platform::Android, Platform::Iphone],
    },
];

#[test]
fn smartphone_platforms_by_date_match_section_12() {
    for case in PLATFORM_CASES {
        assert_eq!(platforms_on(d(case.on)), case.platforms, "{}", case.name);
    }
}

// ---------------------------------------------------------------------------
// §15 My Number, §16 municipality codes
// ---------------------------------------------------------------------------

struct MyNumberCase {
    name: &'static str,
    base: &'static str,
    full: &'static str,
}

const MY_NUMBER_CASES: &[MyNumberCase] = &[
    MyNumberCase {
        name: "§15 base 12345678901 → Σ 212, mod 11 = 3 → check 8",
        base: "12345678901",
        full: "123456789018",
    },
    MyNumberCase {
        name: "§15 Σ 210, mod 11 = 1 → check 0",
        base: "12345678900",
        full: "123456789000",
    },
    MyNumberCase {
        name: "§15 Σ 220, mod 11 = 0 → check 0 (the same as for remainder 1)",
        base: "14345678900",
        full: "143456789000",
    },
    MyNumberCase {
        name: "§15 all zeros: Σ 0 → check 0",
        base: "00000000000",
        full: "000000000000",
    },
];

fn digits<const N: usize>(text: &str) -> [u8; N] {
    let bytes: [u8; N] = text
        .as_bytes()
        .try_into()
        .unwrap_or_else(|_| panic!("{text:?} has {N} digits"));
    bytes.map(|b| b - b'0')
}

#[test]
fn my_numbers_match_the_worked_example_of_section_15() {
    for case in MY_NUMBER_CASES {
        let completed =
            MyNumber::complete(case.base).unwrap_or_else(|e| panic!("{}: 11 digits complete: {e}", case.name));
        assert_eq!(completed.expose(), case.full, "{}: complete", case.name);
        let parsed =
            MyNumber::parse(case.full).unwrap_or_else(|e| panic!("{}: the full number parses: {e}", case.name));
        assert_eq!(parsed, completed, "{}: parse", case.name);
        let check = case.full.as_bytes()[11] - b'0';
        assert_eq!(
            my_number_check_digit(&digits(case.base)),
            check,
            "{}: check digit",
            case.name
        );
        // Every other check digit is refused.
        for wrong in (0..10u8).filter(|c| *c != check) {
            let text = format!("{}{wrong}", case.base);
            assert!(MyNumber::parse(&text).is_err(), "{}: {text} must be refused", case.name);
        }
    }
}

struct MunicipalityCase {
    name: &'static str,
    code: &'static str,
    prefecture: u8,
}

const MUNICIPALITY_CASES: &[MunicipalityCase] = &[
    MunicipalityCase {
        name: "§16 011002 Sapporo",
        code: "011002",
        prefecture: 1,
    },
    MunicipalityCase {
        name: "§16 131016 Chiyoda, Tokyo",
        code: "131016",
        prefecture: 13,
    },
    MunicipalityCase {
        name: "§16 Σ 11, mod 11 = 0 → 11 → check 1",
        code: "010031",
        prefecture: 1,
    },
    MunicipalityCase {
        name: "§16 Σ 43, mod 11 = 10 → 1 → check 1 (the same as for remainder 0)",
        code: "018031",
        prefecture: 1,
    },
];

#[test]
fn municipality_codes_match_the_worked_examples_of_section_16() {
    for case in MUNICIPALITY_CASES {
        let parsed =
            MunicipalityCode::parse(case.code).unwrap_or_else(|e| panic!("{}: the code parses: {e}", case.name));
        assert_eq!(parsed.to_string(), case.code, "{}: display", case.name);
        assert_eq!(parsed.prefecture(), case.prefecture, "{}: prefecture", case.name);
        let completed = MunicipalityCode::complete(&case.code[..5])
            .unwrap_or_else(|e| panic!("{}: the base completes: {e}", case.name));
        assert_eq!(completed, parsed, "{}: complete", case.name);
        let check = case.code.as_bytes()[5] - b'0';
        assert_eq!(
            municipality_check_digit(&digits(&case.code[..5])),
            check,
            "{}: check digit",
            case.name
        );
        for wrong in (0..10u8).filter(|c| *c != check) {
            let text = format!("{}{wrong}", &case.code[..5]);
            assert!(
                MunicipalityCode::parse(&text).is_err(),
                "{}: {text} must be refused",
                case.name
            );
        }
    }
}
