//! The hotline's pages driven like a browser: an operator finds a card by
//! what the caller says about the holder, suspends it through the check
//! page, and gets the report; the card and its certificates are then
//! suspended in the registry and at the CA.

mod support;

use axum::http::StatusCode;
use mynacard_authority::Actor;
use mynacard_pki::status::{CertStatus, CrlReason};
use mynacard_pki::Serial;
use mynacard_rules::numbers::{MunicipalityCode, MyNumber};
use mynacard_store::access::StaffRole;
use support::web::*;
use support::*;

// ------------------------------------------------------------------ tests

const CARD_HOLDER: &str = "山田 太郎";

fn my_number() -> String {
    MyNumber::complete("12345678901").expect("a My Number").expose()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_finds_a_card_by_its_holder_and_suspends_it() {
    let app = TestApp::new("web_hotline", date(2026, 11, 29));
    let resident = app.resident(CHIYODA, CARD_HOLDER, &my_number(), date(1980, 4, 1));
    let serial = app.issue_card(CHIYODA, resident);
    let operator = app.login_as("hotline1", StaffRole::Hotline, None).await;
    let cookie = cookies(&operator, false);

    // The search form.
    let form = get_page(&app, "/hotline", &cookie).await.expect(StatusCode::OK);
    assert_eq!(h1(&form.text), "紛失・盗難によるカードの一時利用停止");
    assert!(form.text.contains("<label class=\"label\" for=\"birth_date\">"));
    assert_eq!(form.headers["cache-control"], "no-store");

    // Missing answers: the error summary, the fields marked.
    let refused = post_form(
        &app,
        "/hotline",
        &cookie,
        &filled(&form.text, "/hotline", &[("name", ""), ("birth_date", "4月1日")]),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text.contains("class=\"error-summary\""), "{}", refused.text);
    assert!(refused.text.contains("href=\"#name\""));
    assert!(refused.text.contains("aria-invalid=\"true\""));
    assert!(refused.text.contains("value=\"4月1日\""), "the answer is kept");

    // Found by name (spaces ignored), an era date and the address's start.
    let found = post_form(
        &app,
        "/hotline",
        &cookie,
        &filled(
            &form.text,
            "/hotline",
            &[
                ("name", "山田太郎"),
                ("birth_date", "昭和55年4月1日"),
                ("address", "東京都千代田区"),
            ],
        ),
    )
    .await
    .expect(StatusCode::OK);
    assert!(found.text.contains(&serial), "{}", found.text);
    assert!(found.text.contains("利用中"));
    assert!(found.text.contains("千代田区"));
    assert!(!found.text.contains(&my_number()), "never a My Number");
    let suspend = format!("/hotline/cards/{serial}/suspend");
    assert!(found.text.contains(&format!("href=\"{suspend}\"")));
    // Another address: nobody.
    let elsewhere = post_form(
        &app,
        "/hotline",
        &cookie,
        &filled(
            &form.text,
            "/hotline",
            &[
                ("name", "山田太郎"),
                ("birth_date", "1980-04-01"),
                ("address", "北海道"),
            ],
        ),
    )
    .await
    .expect(StatusCode::OK);
    assert!(elsewhere.text.contains("該当するカードは見つかりませんでした"));

    // The suspension form, then the check page.
    let page = get_page(&app, &suspend, &cookie).await.expect(StatusCode::OK);
    assert_eq!(h1(&page.text), "カードの一時利用停止");
    let incomplete = post_form(&app, &suspend, &cookie, &filled(&page.text, &suspend, &[]))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(incomplete.text.contains("href=\"#cause\""));
    assert!(incomplete.text.contains("href=\"#relation\""));
    let answers = [
        ("cause", "loss"),
        ("relation", "family"),
        ("lost_when", "11月28日の夕方"),
        ("lost_where", "新宿駅"),
        ("police", "not_yet"),
        ("memo", "娘さんからの連絡"),
    ];
    let with_number = post_form(
        &app,
        &suspend,
        &cookie,
        &filled(
            &page.text,
            &suspend,
            &[
                ("cause", "loss"),
                ("relation", "holder"),
                ("police", "not_yet"),
                ("memo", &my_number()),
            ],
        ),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        with_number.text.contains("href=\"#memo\""),
        "a My Number is refused in the note"
    );
    assert!(!with_number.text.contains(&my_number()), "and not drawn again");
    let review = post_form(&app, &suspend, &cookie, &filled(&page.text, &suspend, &answers))
        .await
        .expect(StatusCode::OK);
    assert_eq!(h1(&review.text), "一時利用停止の確認");
    assert!(review.text.contains("一時保留"), "says what suspension does");
    assert!(review.text.contains("新宿駅"));
    // Change the answers: back to the form, answers kept.
    let edit = post_form(
        &app,
        &suspend,
        &cookie,
        &filled(&review.text, &suspend, &[("step", "edit")]),
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(h1(&edit.text), "カードの一時利用停止");
    assert!(edit.text.contains("value=\"新宿駅\""));

    // Confirm: the report.
    let confirm = filled(&review.text, &suspend, &[("step", "confirm")]);
    let report = post_form(&app, &suspend, &cookie, &confirm)
        .await
        .expect(StatusCode::OK);
    assert_eq!(h1(&report.text), "一時利用停止を受け付けました");
    assert!(report.text.contains("受付番号"));
    assert!(report.text.contains("警察に遺失届"));
    assert!(report.text.contains("再交付"));
    let number_at =
        report.text.find("id=\"report-number\">").expect("the report number") + "id=\"report-number\">".len();
    let report_id: String = report.text[number_at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(!report_id.is_empty());

    // The registry: the card suspended, its certificates on hold.
    let window = Actor::window("staff:check", MunicipalityCode::parse(CHIYODA).expect("code"));
    let record = app
        .state
        .authority
        .resident_record(&window, resident, "card_service")
        .expect("record");
    let card = record.cards.iter().find(|c| c.serial == serial).expect("the card");
    assert_eq!(card.status, "suspended");
    let on_card: Vec<_> = record
        .certificates
        .iter()
        .filter(|c| !c.kind.starts_with("smartphone"))
        .collect();
    assert!(!on_card.is_empty());
    for c in &on_card {
        assert_eq!(c.status, "hold", "{c:?}");
        // The CA: no longer good (certificateHold).
        let ca = app
            .state
            .authority
            .ca()
            .repository()
            .certificate(&Serial::from_hex(&c.serial).expect("serial"))
            .expect("the CA")
            .expect("known to the CA");
        assert!(
            matches!(
                ca.status,
                CertStatus::Revoked {
                    reason: CrlReason::CertificateHold,
                    ..
                }
            ),
            "{:?}",
            ca.status
        );
        assert!(
            report.text.contains(&c.serial),
            "the report lists the held certificates"
        );
    }

    // A reload sends the same idempotency key: the same report, nothing more.
    let again = post_form(&app, &suspend, &cookie, &confirm)
        .await
        .expect(StatusCode::OK);
    assert!(again.text.contains(&format!("id=\"report-number\">{report_id}<")));

    // A second suspension is refused with an error summary.
    let page = get_page(&app, &suspend, &cookie).await.expect(StatusCode::OK);
    let review = post_form(&app, &suspend, &cookie, &filled(&page.text, &suspend, &answers))
        .await
        .expect(StatusCode::OK);
    let refused = post_form(
        &app,
        &suspend,
        &cookie,
        &filled(&review.text, &suspend, &[("step", "confirm")]),
    )
    .await
    .expect(StatusCode::CONFLICT);
    assert!(refused.text.contains("class=\"error-summary\""));
    assert!(refused.text.contains("既に一時停止されています"));

    // The search shows it suspended, with no action.
    let found = post_form(
        &app,
        "/hotline",
        &cookie,
        &filled(
            &form.text,
            "/hotline",
            &[("name", "山田 太郎"), ("birth_date", "1980/4/1")],
        ),
    )
    .await
    .expect(StatusCode::OK);
    assert!(found.text.contains("一時停止中"));
    assert!(!found.text.contains(&format!("href=\"{suspend}\"")));

    // An unknown card: refused the same way.
    let unknown = "/hotline/cards/0000000000000000/suspend";
    let page = get_page(&app, unknown, &cookie).await.expect(StatusCode::OK);
    let review = post_form(&app, unknown, &cookie, &filled(&page.text, unknown, &answers))
        .await
        .expect(StatusCode::OK);
    let missing = post_form(
        &app,
        unknown,
        &cookie,
        &filled(&review.text, unknown, &[("step", "confirm")]),
    )
    .await
    .expect(StatusCode::NOT_FOUND);
    assert!(missing.text.contains("class=\"error-summary\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn only_hotline_operators_with_the_form_token_get_in() {
    let app = TestApp::new("web_hotline_access", date(2026, 11, 29));
    let clerk = app.login_as("chiyoda1", StaffRole::Window, Some(CHIYODA)).await;
    let operator = app.login_as("hotline1", StaffRole::Hotline, None).await;

    // A window clerk: 403 page.
    let refused = get_page(&app, "/hotline", &cookies(&clerk, false))
        .await
        .expect(StatusCode::FORBIDDEN);
    assert!(refused.text.contains("この操作は許可されていません"));
    // Nobody: to the login page.
    let anonymous = app.get("/hotline", &As::nobody()).await.expect(StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers["location"], "/login?next=%2Fhotline");
    // No CSRF token: 403.
    let fields = vec![
        ("name".to_owned(), "山田太郎".to_owned()),
        ("birth_date".to_owned(), "1980-04-01".to_owned()),
    ];
    post_form(&app, "/hotline", &cookies(&operator, false), &fields)
        .await
        .expect(StatusCode::FORBIDDEN);
    let mut wrong = fields.clone();
    wrong.push(("_csrf".into(), "not-the-token".into()));
    post_form(&app, "/hotline", &cookies(&operator, false), &wrong)
        .await
        .expect(StatusCode::FORBIDDEN);

    // In English.
    let english = get_page(&app, "/hotline", &cookies(&operator, true))
        .await
        .expect(StatusCode::OK);
    assert_eq!(h1(&english.text), "Suspend a lost or stolen card");
    assert!(english.text.contains("<html lang=\"en\">"));
    assert!(english.text.contains(">Date of birth<"));
    let page = get_page(
        &app,
        "/hotline/cards/0123456789ABCDEF/suspend",
        &cookies(&operator, true),
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(h1(&page.text), "Suspend a card");
    assert!(page.text.contains("Who is calling?"));
}
