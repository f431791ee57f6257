//! The window's pages driven as a browser drives them: GET the form, take
//! its `_csrf` and `_key`, POST it urlencoded with the session cookie,
//! follow the redirect, and look at what the clerk sees.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use mynacard_rules::numbers::MyNumber;
use mynacard_store::access::StaffRole;
use support::web::*;
use support::*;

/// A logged-in browser: the session cookie (and the language cookie).
struct Browser<'a> {
    app: &'a TestApp,
    cookie: String,
    /// Every page seen, to check that no PIN ever comes back.
    seen: std::cell::RefCell<Vec<String>>,
}

impl<'a> Browser<'a> {
    async fn clerk(app: &'a TestApp, login: &str, municipality: &str) -> Browser<'a> {
        let who = app.login_as(login, StaffRole::Window, Some(municipality)).await;
        Browser {
            app,
            cookie: who.cookie.expect("a session cookie"),
            seen: Default::default(),
        }
    }

    fn english(mut self) -> Self {
        self.cookie = format!("{}; mynacard_lang=en", self.cookie);
        self
    }

    async fn send(&self, request: Request<Body>) -> Answer {
        let answer = self.app.send(request).await;
        self.seen.borrow_mut().push(answer.text.clone());
        answer
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(get_request(path, &self.cookie)).await
    }

    /// POSTs `fields` urlencoded, as a form does.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        self.send(form_request(path, &self.cookie, fields)).await
    }

    /// Follows a 303 to the page it names.
    async fn follow(&self, answer: Answer) -> Answer {
        assert_eq!(
            answer.status,
            StatusCode::SEE_OTHER,
            "expected a redirect; body: {}",
            answer.text
        );
        let to = location(&answer);
        self.get(&to).await
    }

    /// Opens the form at `page`, fills in `fields` and sends it to
    /// `action` with the form's own `_csrf` and `_key`.
    async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Answer {
        let form = self.get(page).await.expect(StatusCode::OK);
        let csrf = hidden(&form.text, "_csrf");
        let key = hidden(&form.text, "_key");
        let mut all: Vec<(&str, &str)> = vec![("_csrf", &csrf), ("_key", &key)];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    /// Whether any page seen so far showed `pin`: as an attribute value
    /// (`value="1234"`) or as the text of an element (`>1234<`). (A bare
    /// substring search would find 4 digits inside a serial number.)
    fn ever_showed(&self, pin: &str) -> bool {
        let quoted = format!("\"{pin}\"");
        let text = format!(">{pin}<");
        self.seen
            .borrow()
            .iter()
            .any(|page| page.contains(&quoted) || page.contains(&text))
    }
}

fn my_number(base: &str) -> String {
    MyNumber::complete(base).expect("my number").expose()
}

/// The resident id of a `/window/residents/{id}?…` location.
fn resident_id_of(location: &str) -> i64 {
    between(&format!("{location}?"), "/window/residents/", "?")
        .split('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no resident id in {location}"))
}

const PIN_AUTH: &str = "4821";
const PIN_SIGN: &str = "MYNA2026";
const PIN_INPUT: &str = "5930";
const PIN_REGISTRY: &str = "7164";

#[tokio::test(flavor = "multi_thread")]
async fn register_apply_produce_and_deliver_with_the_holders_pins() {
    let app = TestApp::new("web_window_journey", date(2026, 11, 29));
    let browser = Browser::clerk(&app, "chiyoda1", CHIYODA).await;

    // 住民登録.
    let number = my_number("12345678901");
    let form = browser.get("/window/residents/new").await.expect(StatusCode::OK);
    assert!(form.text.contains("type=\"date\""));
    let (csrf, key) = (hidden(&form.text, "_csrf"), hidden(&form.text, "_key"));
    let fields = [
        ("_csrf", csrf.as_str()),
        ("_key", key.as_str()),
        ("my_number", &number),
        ("name", "番号　花子"),
        ("name_kana", "バンゴウ　ハナコ"),
        ("address", "東京都千代田区千代田1-1"),
        ("birth_date", "1990-05-05"),
        ("sex", "female"),
        ("nationality", "JP"),
        ("honseki", "東京都千代田区千代田1"),
        ("seal_registered", "on"),
    ];
    let registered = browser.post("/window/residents/new", &fields).await;
    // The same form sent twice (a double click, a reload) registers once.
    let again = browser.post("/window/residents/new", &fields).await;
    assert_eq!(location(&again), location(&registered));
    let id = resident_id_of(&location(&registered));
    let page = browser.follow(registered).await.expect(StatusCode::OK);
    assert!(page.text.contains("住民を登録しました"), "{}", page.text);
    assert!(page.text.contains("番号　花子"));
    // The default purpose (card services) does not disclose the My Number.
    assert!(
        !page.text.contains(&number),
        "the My Number shown without a purpose for it"
    );

    // The search finds her.
    let found = browser
        .get(&format!(
            "/window/residents?name={}",
            form_urlencoded::byte_serialize("ばんごう".as_bytes()).collect::<String>()
        ))
        .await
        .expect(StatusCode::OK);
    assert!(
        found.text.contains(&format!("/window/residents/{id}")),
        "{}",
        found.text
    );

    // 交付申請.
    let resident = format!("/window/residents/{id}");
    let applied = browser
        .submit(
            &format!("{resident}/application"),
            &format!("{resident}/application"),
            &[("kind", "new"), ("channel", "window"), ("signature_wanted", "on")],
        )
        .await;
    assert_eq!(location(&applied), format!("{resident}?done=applied"));
    let page = browser.follow(applied).await.expect(StatusCode::OK);
    assert!(page.text.contains("製造中"), "{}", page.text);
    let top = browser.get("/window").await.expect(StatusCode::OK);
    assert!(
        between(&top.text, "id=\"in-production\"", "</section>").contains("番号　花子"),
        "{}",
        top.text
    );

    // J-LIS produces the card; the work list shows it awaiting delivery.
    let made = mynacard_server::production::produce_waiting(&app.state.authority, &mut Default::default())
        .expect("production");
    assert_eq!(made, 1);
    let top = browser.get("/window").await.expect(StatusCode::OK);
    let awaiting = between(&top.text, "id=\"awaiting-delivery\"", "</section>");
    assert!(
        awaiting.contains("番号　花子") && awaiting.contains("交付する"),
        "{awaiting}"
    );
    let serial = between(awaiting, "href=\"/window/cards/", "/delivery\"").to_owned();

    // 交付: the pad asks for the four PINs as password fields.
    let delivery = format!("/window/cards/{serial}/delivery");
    let form = browser.get(&delivery).await.expect(StatusCode::OK);
    for name in ["pin_auth", "pin_sign", "pin_input_support", "pin_registry"] {
        assert!(
            form.text.contains(&format!("id=\"{name}\"")),
            "no {name}: {}",
            form.text
        );
        assert!(form.text.contains(&format!("id=\"{name}_confirm\"")));
    }
    assert!(form.text.contains("type=\"password\""));
    assert!(form.text.contains("inputmode=\"numeric\""));
    assert!(form.text.contains("職員は画面"));

    // A mismatched confirmation is refused before the card is touched.
    let mismatch = browser
        .submit(
            &delivery,
            &delivery,
            &[
                ("identity_checked", "on"),
                ("pin_auth", PIN_AUTH),
                ("pin_auth_confirm", "9999"),
                ("pin_sign", PIN_SIGN),
                ("pin_sign_confirm", PIN_SIGN),
                ("pin_input_support", PIN_INPUT),
                ("pin_input_support_confirm", PIN_INPUT),
                ("pin_registry", PIN_REGISTRY),
                ("pin_registry_confirm", PIN_REGISTRY),
            ],
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert!(mismatch.text.contains("error-summary"), "{}", mismatch.text);
    assert!(
        mismatch.text.contains("href=\"#pin_auth_confirm\""),
        "{}",
        mismatch.text
    );
    // A malformed signature PIN is refused by its format.
    let malformed = browser
        .submit(
            &delivery,
            &delivery,
            &[
                ("identity_checked", "on"),
                ("pin_auth", PIN_AUTH),
                ("pin_auth_confirm", PIN_AUTH),
                ("pin_sign", "abc"),
                ("pin_sign_confirm", "abc"),
                ("pin_input_support", PIN_INPUT),
                ("pin_input_support_confirm", PIN_INPUT),
                ("pin_registry", PIN_REGISTRY),
                ("pin_registry_confirm", PIN_REGISTRY),
            ],
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert!(malformed.text.contains("href=\"#pin_sign\""), "{}", malformed.text);

    let delivered = browser
        .submit(
            &delivery,
            &delivery,
            &[
                ("identity_checked", "on"),
                ("pin_auth", PIN_AUTH),
                ("pin_auth_confirm", PIN_AUTH),
                ("pin_sign", PIN_SIGN),
                ("pin_sign_confirm", PIN_SIGN),
                ("pin_input_support", PIN_INPUT),
                ("pin_input_support_confirm", PIN_INPUT),
                ("pin_registry", PIN_REGISTRY),
                ("pin_registry_confirm", PIN_REGISTRY),
            ],
        )
        .await;
    assert_eq!(location(&delivered), format!("{resident}?done=delivered"));
    let page = browser.follow(delivered).await.expect(StatusCode::OK);
    assert!(page.text.contains("カードを交付しました"), "{}", page.text);
    let cards = between(&page.text, "id=\"cards-title\"", "</section>");
    assert!(
        cards.contains(&serial) && cards.contains(">有効<") && cards.contains("交付済"),
        "{cards}"
    );
    assert!(!page.text.contains("製造中"));

    // The PINs set are the holder's: the card accepts them.
    let chip = app.state.authority.cards().open_card(&serial).expect("card");
    let mut reader = mynacard_reader::VirtualReader::new(serial.clone(), chip);
    let mut client = mynacard_reader::JpkiClient::new(&mut reader);
    client
        .verify(mynacard_reader::PinRef::Registry, PIN_REGISTRY)
        .expect("the registry PIN the holder typed");

    // The history shows the delivery and the reads.
    let history = browser.get(&format!("{resident}/history")).await.expect(StatusCode::OK);
    assert!(history.text.contains("card.deliver"), "{}", history.text);
    assert!(history.text.contains("開示記録"));

    // No page ever showed a PIN.
    for pin in [PIN_AUTH, PIN_SIGN, PIN_INPUT, PIN_REGISTRY, "9999"] {
        assert!(!browser.ever_showed(pin), "a page showed the PIN {pin}");
    }
    assert!(
        !browser.seen.borrow().iter().any(|page| page.contains(PIN_SIGN)),
        "a page carried the signature PIN"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_shows_the_error_summary_and_keeps_what_was_typed() {
    let app = TestApp::new("web_window_refusal", date(2026, 11, 29));
    let browser = Browser::clerk(&app, "chiyoda1", CHIYODA).await;

    // A My Number with a wrong check digit: refused at the field.
    let mut wrong = my_number("23456789012");
    let last = wrong.pop().and_then(|c| c.to_digit(10)).expect("digit");
    wrong.push(char::from_digit((last + 1) % 10, 10).expect("digit"));
    let refused = browser
        .submit(
            "/window/residents/new",
            "/window/residents/new",
            &[
                ("my_number", &wrong),
                ("name", "番号　太郎"),
                ("name_kana", "バンゴウ　タロウ"),
                ("address", "東京都千代田区千代田2-2"),
                ("birth_date", "1985-01-31"),
                ("sex", "male"),
                ("nationality", "JP"),
            ],
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert!(refused.text.contains("class=\"error-summary\""), "{}", refused.text);
    assert!(refused.text.contains("role=\"alert\""));
    assert!(refused.text.contains("href=\"#my_number\""));
    assert!(refused.text.contains("<title>エラー："), "{}", refused.text);
    assert!(refused.text.contains("value=\"番号　太郎\""), "the name was not kept");
    assert!(
        refused.text.contains("value=\"1985-01-31\""),
        "the birth date was not kept"
    );
    assert!(refused.text.contains("field field--error"));

    // A missing date and no sex: each at its field.
    let refused = browser
        .submit(
            "/window/residents/new",
            "/window/residents/new",
            &[("my_number", &my_number("23456789012")), ("name", "番号　太郎")],
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
    for field in ["name_kana", "address", "birth_date", "sex"] {
        assert!(
            refused.text.contains(&format!("href=\"#{field}\"")),
            "{field}: {}",
            refused.text
        );
    }

    // The authority's refusal: a renewal without a card (409), the choice kept.
    let id = app.resident(CHIYODA, "番号　次郎", &my_number("34567890123"), date(1970, 3, 3));
    let application = format!("/window/residents/{id}/application");
    let refused = browser
        .submit(&application, &application, &[("kind", "renewal"), ("channel", "mail")])
        .await
        .expect(StatusCode::CONFLICT);
    assert!(refused.text.contains("class=\"error-summary\""), "{}", refused.text);
    assert!(refused.text.contains("href=\"#kind\""), "{}", refused.text);
    assert!(
        refused.text.contains("there is no card to renew"),
        "the detail: {}",
        refused.text
    );
    assert!(
        refused.text.contains("value=\"renewal\" checked") && refused.text.contains("value=\"mail\" checked"),
        "{}",
        refused.text
    );

    // A wrong resident-registry PIN at the move-in: 409 at the pad, never echoed.
    let holder = app.resident(CHIYODA, "番号　四郎", &my_number("45678901234"), date(1980, 4, 4));
    app.issue_card(CHIYODA, holder);
    let out = format!("/window/residents/{holder}/move-out");
    let moved_out = browser
        .submit(
            &out,
            &out,
            &[
                ("destination_kind", "domestic"),
                ("destination", SAPPORO),
                ("planned_move_out_on", "2026-11-29"),
            ],
        )
        .await;
    assert_eq!(
        location(&moved_out),
        format!("/window/residents/{holder}?done=moved_out")
    );
    let sapporo = Browser::clerk(&app, "sapporo1", SAPPORO).await;
    let move_in = format!("/window/residents/{holder}/move-in");
    let refused = sapporo
        .submit(
            &move_in,
            &move_in,
            &[
                ("identity_checked", "on"),
                ("moved_in_on", "2026-11-29"),
                ("new_address", "北海道札幌市中央区北1条西2丁目"),
                ("continued_use", "on"),
                ("registry_pin", "8642"),
            ],
        )
        .await
        .expect(StatusCode::CONFLICT);
    assert!(refused.text.contains("href=\"#registry_pin\""), "{}", refused.text);
    assert!(refused.text.contains("value=\"北海道札幌市中央区北1条西2丁目\""));
    assert!(!sapporo.ever_showed("8642"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_without_its_csrf_token_is_refused() {
    let app = TestApp::new("web_window_csrf", date(2026, 11, 29));
    let browser = Browser::clerk(&app, "chiyoda1", CHIYODA).await;
    let fields = [("_key", "k1"), ("my_number", "123456789018"), ("name", "番号　花子")];
    let refused = browser.post("/window/residents/new", &fields).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let mut forged = vec![("_csrf", "forged")];
    forged.extend_from_slice(&fields);
    let refused = browser.post("/window/residents/new", &forged).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Nobody was registered.
    let found = app
        .state
        .authority
        .search_residents(
            &mynacard_authority::Actor::system("test"),
            &mynacard_authority::worklist::ResidentQuery {
                name: Some("番号".into()),
                ..Default::default()
            },
        )
        .expect("search");
    assert!(found.is_empty());
    // Without a session the window sends the browser to the login page.
    let anonymous = app.get("/window", &As::nobody()).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert!(location(&anonymous).starts_with("/login?next="));
}

#[tokio::test(flavor = "multi_thread")]
async fn another_municipalitys_resident_gets_the_forbidden_page() {
    let app = TestApp::new("web_window_scope", date(2026, 11, 29));
    let browser = Browser::clerk(&app, "chiyoda1", CHIYODA).await;
    let id = app.resident(SAPPORO, "札幌　太郎", &my_number("56789012345"), date(1975, 6, 6));
    let page = browser.get(&format!("/window/residents/{id}")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.text.contains("この操作は許可されていません"), "{}", page.text);
    assert!(!page.text.contains("札幌　太郎"), "the name leaked");
    // Nor may the clerk act on them (the form's own token from a page they may open).
    let form = browser.get("/window/residents/new").await.expect(StatusCode::OK);
    let refused = browser
        .post(
            &format!("/window/residents/{id}/application"),
            &[
                ("_csrf", &hidden(&form.text, "_csrf")),
                ("_key", &hidden(&form.text, "_key")),
                ("kind", "new"),
                ("channel", "window"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert!(!refused.text.contains("札幌　太郎"));
    // A card of theirs too.
    let serial = app.issue_card(SAPPORO, id);
    let page = browser.get(&format!("/window/cards/{serial}/pin-reset")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // And nothing unknown is shown.
    let missing = browser.get("/window/residents/999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reissue_shows_its_fee_and_a_printable_receipt() {
    let app = TestApp::new("web_window_reissue", date(2026, 11, 29));
    let browser = Browser::clerk(&app, "chiyoda1", CHIYODA).await;
    let id = app.resident(CHIYODA, "番号　花子", &my_number("67890123456"), date(1990, 5, 5));
    let old = app.issue_card(CHIYODA, id);
    let reissue = format!("/window/residents/{id}/reissue");

    // Loss without the police receipt number: the evidence is missing.
    let refused = browser
        .submit(
            &reissue,
            &reissue,
            &[
                ("cause", "loss"),
                ("not_holders_fault", "none"),
                ("with_certificates", "on"),
            ],
        )
        .await
        .expect(StatusCode::CONFLICT);
    assert!(
        refused.text.contains("href=\"#police_receipt_number\""),
        "{}",
        refused.text
    );
    assert!(refused.text.contains("value=\"loss\" checked"));

    let done = browser
        .submit(
            &reissue,
            &reissue,
            &[
                ("cause", "loss"),
                ("police_receipt_number", "警-2026-0042"),
                ("not_holders_fault", "none"),
                ("with_certificates", "on"),
            ],
        )
        .await;
    let to = location(&done);
    assert!(
        to.starts_with(&format!("/window/residents/{id}/receipts/")) && to.ends_with("?done=reissued"),
        "{to}"
    );
    let receipt = browser.follow(done).await.expect(StatusCode::OK);
    assert!(receipt.text.contains("class=\"receipt\""), "{}", receipt.text);
    assert!(receipt.text.contains("<h1>領収書</h1>"), "{}", receipt.text);
    assert!(receipt.text.contains("1,000円"), "{}", receipt.text);
    assert!(receipt.text.contains("千代田区長"));
    assert!(receipt.text.contains("紛失"));
    assert!(
        receipt.text.contains(&format!("{CHIYODA}-20261129-")),
        "the receipt number: {}",
        receipt.text
    );
    assert!(receipt.text.contains("再交付の申請を受け付けました"));
    assert!(receipt.text.contains("印刷"));
    assert!(!receipt.text.contains("<script"));

    // The resident's page lists the fee with its receipt, the old card invalidated.
    let page = browser
        .get(&format!("/window/residents/{id}"))
        .await
        .expect(StatusCode::OK);
    let fees = between(&page.text, "id=\"fees-title\"", "</section>");
    assert!(fees.contains("1,000円") && fees.contains("/receipts/"), "{fees}");
    let cards = between(&page.text, "id=\"cards-title\"", "</section>");
    assert!(cards.contains(&old) && cards.contains("廃止"), "{cards}");

    // Another resident's receipt id is not found under this resident.
    let other = app.resident(CHIYODA, "番号　三郎", &my_number("78901234567"), date(1991, 7, 7));
    let receipt_path = to.split('?').next().expect("path").to_owned();
    let fee_id = receipt_path.rsplit('/').next().expect("fee id");
    let wrong = browser
        .get(&format!("/window/residents/{other}/receipts/{fee_id}"))
        .await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_english_switch_gives_english_pages() {
    let app = TestApp::new("web_window_english", date(2026, 11, 29));
    let browser = Browser::clerk(&app, "chiyoda1", CHIYODA).await.english();
    let top = browser.get("/window").await.expect(StatusCode::OK);
    assert!(top.text.contains("<html lang=\"en\">"), "{}", top.text);
    assert!(top.text.contains("<h1>Window</h1>"), "{}", top.text);
    assert!(top.text.contains("Awaiting delivery"));
    assert!(!top.text.contains("交付待ち"));
    let id = app.resident(CHIYODA, "番号　花子", &my_number("89012345678"), date(1990, 5, 5));
    let page = browser
        .get(&format!("/window/residents/{id}"))
        .await
        .expect(StatusCode::OK);
    assert!(page.text.contains("Resident record"), "{}", page.text);
    assert!(page.text.contains("Apply for a card"));
    let form = browser.get("/window/residents/new").await.expect(StatusCode::OK);
    assert!(form.text.contains("<h1>Register a resident</h1>"), "{}", form.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_out_and_the_move_in_at_the_new_window_with_the_card() {
    let app = TestApp::new("web_window_moves", date(2026, 11, 29));
    let chiyoda = Browser::clerk(&app, "chiyoda1", CHIYODA).await;
    let sapporo = Browser::clerk(&app, "sapporo1", SAPPORO).await;
    let id = app.resident(CHIYODA, "番号　花子", &my_number("90123456789"), date(1990, 5, 5));
    let serial = app.issue_card(CHIYODA, id);

    // 転出届 at Chiyoda: a wrong destination code first.
    let out = format!("/window/residents/{id}/move-out");
    let refused = chiyoda
        .submit(
            &out,
            &out,
            &[
                ("destination_kind", "domestic"),
                ("destination", "011003"),
                ("planned_move_out_on", "2026-11-29"),
            ],
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert!(refused.text.contains("href=\"#destination\""), "{}", refused.text);
    let moved = chiyoda
        .submit(
            &out,
            &out,
            &[
                ("destination_kind", "domestic"),
                ("destination", SAPPORO),
                ("planned_move_out_on", "2026-11-29"),
            ],
        )
        .await;
    let page = chiyoda.follow(moved).await.expect(StatusCode::OK);
    assert!(page.text.contains("転出届を受け付けました"), "{}", page.text);
    assert!(page.text.contains(">転出<"));
    assert!(page.text.contains(&format!("登録番号 {id}")), "{}", page.text);
    let top = chiyoda.get("/window").await.expect(StatusCode::OK);
    assert!(between(&top.text, "id=\"lapse-watch\"", "</section>").contains("番号　花子"));

    // 転入届 at Sapporo, found by the registry number from the move-out.
    let start = sapporo.get("/window/move-in").await.expect(StatusCode::OK);
    assert!(start.text.contains("<h1>転入届</h1>"));
    let found = sapporo.get(&format!("/window/move-in?number={id}")).await;
    let move_in = location(&found);
    assert_eq!(move_in, format!("/window/residents/{id}/move-in"));
    let form = sapporo.follow(found).await.expect(StatusCode::OK);
    assert!(form.text.contains("転出元の市区町村の記録は"), "{}", form.text);
    assert!(form.text.contains("id=\"registry_pin\""));
    let done = sapporo
        .submit(
            &move_in,
            &move_in,
            &[
                ("identity_checked", "on"),
                ("moved_in_on", "2026-11-29"),
                ("new_address", "北海道札幌市中央区北1条西2丁目"),
                ("continued_use", "on"),
                ("registry_pin", "1234"),
            ],
        )
        .await;
    assert_eq!(location(&done), format!("/window/residents/{id}?done=moved_in"));
    let page = sapporo.follow(done).await.expect(StatusCode::OK);
    assert!(page.text.contains("転入届を受け付けました"), "{}", page.text);
    assert!(page.text.contains("北海道札幌市中央区北1条西2丁目"));
    let cards = between(&page.text, "id=\"cards-title\"", "</section>");
    assert!(cards.contains(&serial) && cards.contains(">有効<"), "{cards}");
    // The record is Sapporo's now: Chiyoda may no longer open it.
    let gone = chiyoda.get(&format!("/window/residents/{id}")).await;
    assert_eq!(gone.status, StatusCode::FORBIDDEN);

    // 転居 and 氏名の変更 at Sapporo.
    let within = format!("/window/residents/{id}/move-within");
    let done = sapporo
        .submit(
            &within,
            &within,
            &[
                ("new_address", "北海道札幌市中央区南1条西1丁目"),
                ("moved_on", "2026-11-29"),
            ],
        )
        .await;
    let page = sapporo.follow(done).await.expect(StatusCode::OK);
    assert!(page.text.contains("転居届を受け付けました"));
    let name = format!("/window/residents/{id}/name-change");
    let done = sapporo
        .submit(
            &name,
            &name,
            &[
                ("new_name", "札幌　花子"),
                ("new_name_kana", "サッポロ　ハナコ"),
                ("changed_on", "2026-11-29"),
                ("reason", "marriage"),
            ],
        )
        .await;
    let page = sapporo.follow(done).await.expect(StatusCode::OK);
    assert!(page.text.contains("氏名の変更を記録しました"));
    assert!(page.text.contains("<h1>札幌　花子"), "{}", page.text);
    assert!(!sapporo.ever_showed("1234"), "the registry PIN came back");
}

#[tokio::test(flavor = "multi_thread")]
async fn pin_reset_face_recognition_and_back_and_the_history() {
    let app = TestApp::new("web_window_card_services", date(2026, 11, 29));
    let browser = Browser::clerk(&app, "chiyoda1", CHIYODA).await;
    let id = app.resident(CHIYODA, "番号　花子", &my_number("11223344556"), date(1990, 5, 5));
    let serial = app.issue_card(CHIYODA, id);

    // 暗証番号の再設定: which PIN first, then the pad.
    let reset = format!("/window/cards/{serial}/pin-reset");
    let choose = browser.get(&reset).await.expect(StatusCode::OK);
    assert!(choose.text.contains("name=\"pin\""), "{}", choose.text);
    let done = browser
        .submit(
            &format!("{reset}?pin=auth"),
            &reset,
            &[
                ("pin", "auth"),
                ("identity_checked", "on"),
                ("new_pin", "2468"),
                ("new_pin_confirm", "2468"),
            ],
        )
        .await;
    let page = browser.follow(done).await.expect(StatusCode::OK);
    assert!(page.text.contains("暗証番号を再設定しました"), "{}", page.text);
    // Without the identity check: refused at the checkbox.
    let refused = browser
        .submit(
            &format!("{reset}?pin=sign"),
            &reset,
            &[("pin", "sign"), ("new_pin", "ABC999"), ("new_pin_confirm", "ABC999")],
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert!(refused.text.contains("href=\"#identity_checked\""), "{}", refused.text);

    // 顔認証マイナンバーカードへの切替, and back with new PINs.
    let face = format!("/window/cards/{serial}/face-recognition");
    let done = browser.submit(&face, &face, &[("identity_checked", "on")]).await;
    let page = browser.follow(done).await.expect(StatusCode::OK);
    assert!(
        page.text.contains("顔認証マイナンバーカードに切り替えました"),
        "{}",
        page.text
    );
    assert!(between(&page.text, "id=\"cards-title\"", "</section>").contains("顔認証マイナンバーカード"));
    let back = browser.get(&face).await.expect(StatusCode::OK);
    assert!(back.text.contains("暗証番号を使うカードに戻す"), "{}", back.text);
    let done = browser
        .submit(
            &face,
            &face,
            &[
                ("identity_checked", "on"),
                ("pin_auth", "1357"),
                ("pin_auth_confirm", "1357"),
                ("pin_input_support", "1357"),
                ("pin_input_support_confirm", "1357"),
                ("pin_registry", "1357"),
                ("pin_registry_confirm", "1357"),
            ],
        )
        .await;
    let page = browser.follow(done).await.expect(StatusCode::OK);
    assert!(page.text.contains("暗証番号を使うカードに戻しました"), "{}", page.text);

    // 紛失届 and 発見.
    let loss = format!("/window/cards/{serial}/loss-report");
    let done = browser
        .submit(&loss, &loss, &[("cause", "loss"), ("channel", "window")])
        .await;
    let page = browser.follow(done).await.expect(StatusCode::OK);
    assert!(page.text.contains(">一時停止<"), "{}", page.text);
    let found = format!("/window/cards/{serial}/found");
    let done = browser.submit(&found, &found, &[("identity_checked", "on")]).await;
    let page = browser.follow(done).await.expect(StatusCode::OK);
    assert!(page.text.contains("一時停止を解除し"), "{}", page.text);

    // The history: the audit trail and the disclosure log.
    let history = browser
        .get(&format!("/window/residents/{id}/history"))
        .await
        .expect(StatusCode::OK);
    for action in [
        "pin.reset",
        "card.to_face_card",
        "card.to_pin_card",
        "card.suspend",
        "card.found",
    ] {
        assert!(history.text.contains(action), "{action}: {}", history.text);
    }
    assert!(history.text.contains("staff:chiyoda1"));
    assert!(between(&history.text, "id=\"disclosure-title\"", "</section>").contains("staff:chiyoda1"));
    for pin in ["2468", "1357", "ABC999"] {
        assert!(!browser.ever_showed(pin), "a page showed {pin}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_face_recognition_card_is_delivered_without_pins_and_a_death_lapses_it() {
    let app = TestApp::new("web_window_face_card", date(2026, 11, 29));
    let browser = Browser::clerk(&app, "chiyoda1", CHIYODA).await;
    let id = app.resident(CHIYODA, "顔認　花子", &my_number("99887766554"), date(1950, 1, 1));
    let application = format!("/window/residents/{id}/application");
    // A face-recognition card with a signature certificate: refused, the choices kept.
    let refused = browser
        .submit(
            &application,
            &application,
            &[
                ("kind", "new"),
                ("channel", "window"),
                ("face_recognition", "on"),
                ("signature_wanted", "on"),
            ],
        )
        .await
        .expect(StatusCode::CONFLICT);
    assert!(refused.text.contains("href=\"#face_recognition\""), "{}", refused.text);
    assert!(refused
        .text
        .contains("id=\"face_recognition\" name=\"face_recognition\" value=\"on\" checked"));
    let applied = browser
        .submit(
            &application,
            &application,
            &[("kind", "new"), ("channel", "window"), ("face_recognition", "on")],
        )
        .await;
    assert_eq!(location(&applied), format!("/window/residents/{id}?done=applied"));
    mynacard_server::production::produce_waiting(&app.state.authority, &mut Default::default()).expect("production");
    let page = browser
        .get(&format!("/window/residents/{id}"))
        .await
        .expect(StatusCode::OK);
    let serial = between(&page.text, "href=\"/window/cards/", "/delivery\"").to_owned();
    let delivery = format!("/window/cards/{serial}/delivery");
    let form = browser.get(&delivery).await.expect(StatusCode::OK);
    assert!(
        !form.text.contains("type=\"password\""),
        "a face card has no PINs: {}",
        form.text
    );
    // The identity check is required.
    let refused = browser
        .submit(&delivery, &delivery, &[])
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert!(refused.text.contains("href=\"#identity_checked\""));
    let delivered = browser
        .submit(&delivery, &delivery, &[("identity_checked", "on")])
        .await;
    let page = browser.follow(delivered).await.expect(StatusCode::OK);
    let cards = between(&page.text, "id=\"cards-title\"", "</section>");
    assert!(
        cards.contains(">有効<") && cards.contains("顔認証マイナンバーカード"),
        "{cards}"
    );

    // 死亡届: the confirmation first, then the card lapses.
    let death = format!("/window/residents/{id}/death");
    let refused = browser
        .submit(&death, &death, &[("died_on", "2026-11-28")])
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert!(refused.text.contains("href=\"#confirmed\""));
    assert!(refused.text.contains("value=\"2026-11-28\""));
    let done = browser
        .submit(&death, &death, &[("died_on", "2026-11-28"), ("confirmed", "on")])
        .await;
    let page = browser.follow(done).await.expect(StatusCode::OK);
    assert!(page.text.contains("死亡を記録しました"), "{}", page.text);
    assert!(page.text.contains(">死亡<"));
    assert!(between(&page.text, "id=\"cards-title\"", "</section>").contains(">失効<"));
    let top = browser.get("/window").await.expect(StatusCode::OK);
    assert!(between(&top.text, "id=\"recently-lapsed\"", "</section>").contains("顔認　花子"));
}
