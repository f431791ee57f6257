//! The demo (`mynacard serve --demo`): the seeding puts every resident at
//! the point of the card's life the demo promises, through the authority's
//! own operations and the card's own APDUs; a second start changes
//! nothing; the staff accounts log in; the virtual reader lists the wallet
//! and reads a card's PIN tries through the reader; the clock page moves
//! the date on and runs the nightly batch; none of it exists outside demo
//! mode.
//!
//! The seeding runs once (on SQLite, into a template data directory); each
//! test that changes something works on its own copy.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::{NaiveDate, TimeDelta};
use mynacard_authority::worklist::{ResidentQuery, ResidentSummary};
use mynacard_authority::{Actor, Clock};
use mynacard_reader::{JpkiClient, PinRef, VirtualReader};
use mynacard_rules::numbers::MunicipalityCode;
use mynacard_rules::renewal::renewal_window;
use mynacard_server::app::{open_state, router, ServeConfig};
use mynacard_server::demo::{self, DemoAccount, Scenario, Wallet};
use mynacard_server::state::AppState;
use mynacard_store::registry::{self, BatchStatus, CertKind, CertificateStatus};
use support::web::{form_request, get_request, hidden, location};
use support::{answer, date, Answer};
use tower::ServiceExt;

/// The day every test's demo opens on.
fn today() -> NaiveDate {
    date(2026, 11, 29)
}

fn scratch(name: &str) -> PathBuf {
    let mut noise = [0u8; 4];
    aws_lc_rs::rand::fill(&mut noise).expect("random");
    let noise: String = noise.iter().map(|b| format!("{b:02x}")).collect();
    std::env::temp_dir().join(format!("mynacard-demo-{name}-{}-{noise}", std::process::id()))
}

fn config(dir: &Path, demo: bool) -> ServeConfig {
    ServeConfig {
        data_dir: dir.to_owned(),
        database: None,
        listen: "127.0.0.1:0".parse().expect("address"),
        demo,
        today: Some(today()),
        secure_cookies: false,
    }
}

/// A data directory seeded once for the whole file (closed again).
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        remove_stale_templates();
        let dir = scratch("template");
        let started = std::time::Instant::now();
        let state = demo::open_demo_state(&config(&dir, true)).expect("the demo opens");
        let accounts = demo::prepare(&state).expect("prepare");
        assert_eq!(accounts.len(), 4);
        eprintln!("demo seeding took {:.1} s", started.elapsed().as_secs_f64());
        drop(state);
        dir
    })
}

/// Templates of earlier runs (a static is never dropped) older than an hour.
fn remove_stale_templates() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(3600));
        if old
            && entry
                .file_name()
                .to_string_lossy()
                .starts_with("mynacard-demo-template-")
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A demo of its own: a copy of the template, opened.
struct Demo {
    state: Arc<AppState>,
    router: Router,
    dir: PathBuf,
}

impl Demo {
    fn open(name: &str) -> Demo {
        let dir = scratch(name);
        copy_dir(template(), &dir);
        let state = demo::open_demo_state(&config(&dir, true)).expect("the demo opens");
        demo::prepare(&state).expect("prepare");
        let router = router(state.clone(), None);
        Demo { state, router, dir }
    }

    fn wallet(&self) -> Wallet {
        demo::wallet(&self.dir)
    }

    fn accounts(&self) -> Vec<DemoAccount> {
        demo::accounts(&self.dir)
    }

    fn browser(&self) -> Browser {
        Browser {
            router: self.router.clone(),
            cookies: HashMap::new(),
        }
    }

    fn serial_of(&self, scenario: Scenario) -> String {
        self.wallet()
            .cards
            .iter()
            .find(|c| c.scenario == scenario)
            .map(|c| c.serial.clone())
            .expect("a card of the scenario")
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A browser: cookies kept by name (the tests keep to one path each).
struct Browser {
    router: Router,
    cookies: HashMap<String, String>,
}

impl Browser {
    /// The `Cookie` header of the jar ("" when it is empty).
    fn cookie(&self) -> String {
        let pairs: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.join("; ")
    }

    /// Sends a request, keeping the cookies the answer sets.
    async fn send(&mut self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        for set in response.headers().get_all(header::SET_COOKIE) {
            let text = set.to_str().expect("cookie");
            let pair = text.split(';').next().expect("pair");
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        answer(response).await
    }

    async fn get(&mut self, path: &str) -> Answer {
        let cookie = self.cookie();
        self.send(get_request(path, &cookie)).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let cookie = self.cookie();
        self.send(form_request(path, &cookie, fields)).await
    }

    /// Logs in through the login form.
    async fn log_in(&mut self, login: &str, password: &str) {
        let form = self.get("/login").await.expect(StatusCode::OK);
        let token = hidden(&form.text, "_csrf");
        let done = self
            .post("/login", &[("_csrf", &token), ("login", login), ("password", password)])
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "login of {login}: {}", done.text);
        assert!(self.cookies.contains_key(mynacard_server::access::SESSION_COOKIE));
    }
}

fn system() -> Actor {
    Actor::system("test")
}

fn chiyoda() -> Actor {
    Actor::window("staff:test", MunicipalityCode::parse(demo::CHIYODA).expect("code"))
}

/// The one resident whose name contains `name`.
fn resident(state: &AppState, name: &str) -> ResidentSummary {
    let found = state
        .authority
        .search_residents(
            &system(),
            &ResidentQuery {
                name: Some(name.into()),
                include_former: true,
                ..ResidentQuery::default()
            },
        )
        .expect("search");
    assert_eq!(found.len(), 1, "residents named {name}: {found:?}");
    found.into_iter().next().expect("one")
}

fn card_status(r: &ResidentSummary) -> String {
    r.card.as_ref().map(|c| c.status.clone()).unwrap_or_default()
}

fn tries(state: &AppState, serial: &str, pin: PinRef) -> u8 {
    let card = state.authority.cards().open_card(serial).expect("card");
    let mut reader = VirtualReader::new(serial, card);
    JpkiClient::new(&mut reader).pin_status(pin).expect("status").remaining
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

#[test]
fn the_seeding_puts_every_resident_where_the_demo_needs_them() {
    let demo = Demo::open("seeded");
    let state = &demo.state;
    let t = today();
    assert_eq!(state.clock.today(), t, "the clock is back on the target day");

    // 山田: a card of about ten years, in its renewal window, its
    // certificates renewed half-way and expiring with it, from the CA's
    // first generation, which was made on the card's day.
    let yamada = resident(state, "山田");
    let card = yamada.card.clone().expect("a card");
    assert_eq!(card.status, "active");
    assert!(renewal_window(card.expires_on, &Default::default()).contains(t));
    assert!(card.expires_on > t);
    let (record, certificates) = state
        .authority
        .db()
        .read(|tx| {
            let record = registry::get_card(tx, &card.serial)?.expect("card");
            let certificates = registry::list_certificates_for_card(tx, &card.serial)?;
            Ok::<_, mynacard_store::StoreError>((record, certificates))
        })
        .expect("read");
    assert!(record.issued_on <= t - TimeDelta::days(9 * 365), "{}", record.issued_on);
    let good: Vec<_> = certificates
        .iter()
        .filter(|c| c.status == CertificateStatus::Good)
        .collect();
    assert_eq!(good.len(), 2, "{certificates:?}");
    assert!(good.iter().all(|c| c.not_after == card.expires_on), "{good:?}");
    assert_eq!(certificates.len(), 4, "the first pair renewed: {certificates:?}");
    let worklist = state.authority.window_worklist(&chiyoda()).expect("work list");
    assert!(
        worklist
            .renewals_due
            .iter()
            .any(|r| r.card_serial == card.serial && r.what == "card"),
        "{:?}",
        worklist.renewals_due
    );

    // The CA: two generations per hierarchy; every certificate issued
    // within its root's validity.
    let generations = state.authority.ca().generations();
    assert_eq!(generations.len(), 4);
    let wallet = demo.wallet();
    for c in &wallet.cards {
        let certificates = state
            .authority
            .db()
            .read(|tx| registry::list_certificates_for_card(tx, &c.serial))
            .expect("read");
        for cert in certificates {
            let ca = state
                .authority
                .ca()
                .repository()
                .certificate(&mynacard_pki::Serial::from_hex(&cert.serial).expect("serial"))
                .expect("CA")
                .expect("known to the CA");
            let g = generations
                .iter()
                .find(|g| g.config.hierarchy == ca.hierarchy && g.config.generation == ca.generation)
                .expect("generation");
            let root_from = mynacard_pki::time::from_x509_time(&g.root.tbs_certificate().validity().not_before);
            assert!(ca.not_before >= root_from, "{} predates its root", cert.serial);
            let newest = if c.scenario == Scenario::RenewalDue { 1 } else { 2 };
            assert_eq!(ca.generation, newest, "{:?} {}", c.scenario, cert.serial);
        }
    }

    // 佐藤: the auth PIN locked by three wrong tries; the others untouched.
    let sato = demo.serial_of(Scenario::PinLocked);
    assert_eq!(card_status(&resident(state, "佐藤")), "active");
    assert_eq!(tries(state, &sato, PinRef::Auth), 0);
    assert_eq!(tries(state, &sato, PinRef::Sign), 5);
    assert_eq!(tries(state, &sato, PinRef::InputSupport), 3);

    // 鈴木: suspended by the hotline, the certificates on hold.
    let suzuki = resident(state, "鈴木");
    assert_eq!(card_status(&suzuki), "suspended");
    let held = state
        .authority
        .db()
        .read(|tx| registry::list_certificates_for_card(tx, &demo.serial_of(Scenario::Suspended)))
        .expect("read");
    assert!(held.iter().all(|c| c.status == CertificateStatus::Hold), "{held:?}");

    // NGUYEN: the card ends with the stay, in about a month.
    let nguyen = resident(state, "NGUYEN");
    let card = nguyen.card.expect("a card");
    assert_eq!(card.status, "active");
    assert_eq!(card.expires_on, t + TimeDelta::days(30));

    // 田中: a face-recognition card, no signature certificate, no PIN usable.
    let tanaka = resident(state, "田中");
    let card = tanaka.card.expect("a card");
    assert!(card.face_recognition && card.status == "active");
    let certificates = state
        .authority
        .db()
        .read(|tx| registry::list_certificates_for_card(tx, &card.serial))
        .expect("read");
    assert!(
        certificates.iter().all(|c| c.kind == CertKind::Auth),
        "{certificates:?}"
    );
    assert_eq!(tries(state, &card.serial, PinRef::Auth), 0);

    // 高橋: registered, no card.
    assert!(resident(state, "高橋").card.is_none());

    // 伊藤: produced, awaiting delivery at the Chiyoda window.
    let ito = resident(state, "伊藤");
    assert_eq!(card_status(&ito), "produced");
    assert!(
        worklist
            .awaiting_delivery
            .iter()
            .any(|a| a.resident_id == ito.resident_id && a.card_serial == ito.card.as_ref().map(|c| c.serial.clone())),
        "{:?}",
        worklist.awaiting_delivery
    );

    // 渡辺: moved out to Sapporo, not moved in: on Chiyoda's lapse watch.
    let watanabe = resident(state, "渡辺");
    assert_eq!(watanabe.status, "moved_out");
    assert_eq!(card_status(&watanabe), "active");
    let watch = worklist
        .lapse_watch
        .iter()
        .find(|w| w.resident_id == watanabe.resident_id)
        .expect("on the lapse watch");
    assert_eq!(watch.deadline, t + TimeDelta::days(20));

    // Ordinary holders in each municipality.
    for name in ["小林", "中村", "松本"] {
        assert_eq!(card_status(&resident(state, name)), "active", "{name}");
    }

    // Today's nightly batch ran.
    let runs = state
        .authority
        .db()
        .read(|tx| registry::list_batch_runs(tx, t))
        .expect("read");
    assert_eq!(runs.len(), 7);
    assert!(runs.iter().all(|r| r.status == BatchStatus::Done), "{runs:?}");

    // The wallet and the accounts, readable by their owner only.
    assert_eq!(wallet.cards.len(), 10);
    assert_eq!(wallet.residents.len(), 11);
    assert_eq!(wallet.seeded_for, Some(t));
    let awaiting = wallet
        .cards
        .iter()
        .find(|c| c.scenario == Scenario::AwaitingDelivery)
        .expect("the card awaiting delivery");
    assert!(awaiting.pins.is_some());
    assert!(wallet
        .cards
        .iter()
        .find(|c| c.scenario == Scenario::FaceCard)
        .is_some_and(|c| c.pins.is_none()));
    #[cfg(unix)]
    for file in ["wallet.json", "accounts.json"] {
        assert_eq!(mode(&demo.dir.join("demo").join(file)), 0o600, "{file}");
    }
    let accounts = demo.accounts();
    let roles: Vec<&str> = accounts.iter().map(|a| a.role.as_str()).collect();
    assert_eq!(roles, ["window", "window", "hotline", "admin"]);
    assert!(accounts.iter().all(|a| a.password.len() >= 16));
}

#[test]
fn a_second_start_reuses_everything() {
    let demo = Demo::open("restart");
    let before = demo.wallet();
    let accounts = demo.accounts();
    // prepare() again on the open state: nothing new.
    let again = demo::prepare(&demo.state).expect("prepare");
    assert_eq!(
        again.iter().map(|a| &a.password).collect::<Vec<_>>(),
        accounts.iter().map(|a| &a.password).collect::<Vec<_>>()
    );
    assert_eq!(
        resident(&demo.state, "山田").resident_id,
        before.residents[0].resident_id
    );
    // A whole new start on the same directory: the same data.
    let state = demo::open_demo_state(&config(&demo.dir, true)).expect("reopen");
    let accounts_again = demo::prepare(&state).expect("prepare");
    assert_eq!(accounts_again.len(), accounts.len());
    let after = demo::wallet(&demo.dir);
    assert_eq!(
        after.cards.iter().map(|c| &c.serial).collect::<Vec<_>>(),
        before.cards.iter().map(|c| &c.serial).collect::<Vec<_>>()
    );
    for name in ["山田", "佐藤", "高橋", "NGUYEN"] {
        resident(&state, name);
    }
    // An interrupted seeding is refused rather than half-repeated.
    let broken = scratch("broken");
    std::fs::create_dir_all(broken.join("demo")).expect("mkdir");
    std::fs::write(broken.join("demo").join("seeding"), b"").expect("marker");
    let refused = demo::open_demo_state(&config(&broken, true)).expect_err("refused");
    assert!(refused.contains("interrupted"), "{refused}");
    let _ = std::fs::remove_dir_all(&broken);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_accounts_log_in() {
    let demo = Demo::open("accounts");
    for account in demo.accounts() {
        let mut browser = demo.browser();
        browser.log_in(&account.login, &account.password).await;
    }
    // The login page lists them.
    let mut browser = demo.browser();
    let login = browser.get("/login").await.expect(StatusCode::OK);
    for account in demo.accounts() {
        assert!(login.text.contains(&account.password), "{}", account.login);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_virtual_reader_lists_the_wallet_and_reads_the_tries_left() {
    let demo = Demo::open("reader");
    let mut browser = demo.browser();
    // No login needed: the wallet, with a pre-session CSRF cookie.
    let wallet = browser.get("/demo/reader").await.expect(StatusCode::OK);
    for card in demo.wallet().cards {
        assert!(wallet.text.contains(&card.serial), "{}", card.serial);
        assert!(wallet.text.contains(&card.holder), "{}", card.holder);
    }
    assert!(wallet.text.contains("挿入する"));
    assert!(wallet.text.contains("ABCD1234"), "the demo PINs are shown");
    let set_cookie = wallet
        .headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        set_cookie.contains("Path=/demo/reader") && set_cookie.contains("HttpOnly"),
        "{set_cookie}"
    );
    let token = hidden(&wallet.text, "_csrf");

    // Insert 佐藤's card: POST → redirect → the card read through the reader.
    let sato = demo.serial_of(Scenario::PinLocked);
    let inserted = browser
        .post("/demo/reader/insert", &[("_csrf", &token), ("serial", &sato)])
        .await
        .expect(StatusCode::SEE_OTHER);
    assert_eq!(location(&inserted), format!("/demo/reader/cards/{sato}"));
    let card = browser.get(&location(&inserted)).await.expect(StatusCode::OK);
    let row = |page: &Answer, pin: &str| -> String {
        let at = page.text.find(&format!("id=\"pin-{pin}\"")).expect("the PIN's row");
        page.text[at..].split("</tr>").next().expect("row").to_owned()
    };
    assert!(row(&card, "auth").contains(">0</span> / 3"), "{}", row(&card, "auth"));
    assert!(row(&card, "auth").contains("ロック中"));
    assert!(row(&card, "sign").contains(">5</span> / 5"));
    assert!(row(&card, "registry").contains(">3</span> / 3"));
    assert!(row(&card, "input").contains(">3</span> / 3"));
    assert!(card.text.contains("JPKIAPICCTOKEN"));

    // 山田's card: a wrong auth PIN uses a try, the right one restores them.
    let yamada = demo.serial_of(Scenario::RenewalDue);
    let path = format!("/demo/reader/cards/{yamada}");
    let page = browser.get(&path).await.expect(StatusCode::OK);
    assert!(row(&page, "auth").contains(">3</span> / 3"));
    assert!(page.text.contains("有効"), "the auth certificate is valid");
    let wrong = browser
        .post(
            &format!("{path}/verify"),
            &[
                ("_csrf", &hidden(&page.text, "_csrf")),
                ("pin", "auth"),
                ("value", "0000"),
            ],
        )
        .await
        .expect(StatusCode::SEE_OTHER);
    assert!(location(&wrong).contains("result=wrong&left=2"), "{}", location(&wrong));
    let page = browser.get(&location(&wrong)).await.expect(StatusCode::OK);
    assert!(page.text.contains("残り2回"));
    assert!(row(&page, "auth").contains(">2</span> / 3"));
    assert_eq!(tries(&demo.state, &yamada, PinRef::Auth), 2);
    let right = browser
        .post(
            &format!("{path}/verify"),
            &[
                ("_csrf", &hidden(&page.text, "_csrf")),
                ("pin", "auth"),
                ("value", "1234"),
            ],
        )
        .await
        .expect(StatusCode::SEE_OTHER);
    assert!(location(&right).contains("result=ok"));
    assert_eq!(tries(&demo.state, &yamada, PinRef::Auth), 3);

    // The face-recognition card: no PIN usable.
    let face = demo.serial_of(Scenario::FaceCard);
    let page = browser
        .get(&format!("/demo/reader/cards/{face}"))
        .await
        .expect(StatusCode::OK);
    assert!(row(&page, "auth").contains("顔認証カードのため使用不可"));

    // A form without the token is refused; an unknown card is not found.
    browser
        .post("/demo/reader/insert", &[("_csrf", "forged"), ("serial", &sato)])
        .await
        .expect(StatusCode::FORBIDDEN);
    let unknown = browser
        .post(
            "/demo/reader/insert",
            &[("_csrf", &token), ("serial", "4D4E000000000000")],
        )
        .await
        .expect(StatusCode::SEE_OTHER);
    assert_eq!(location(&unknown), "/demo/reader?error=no_card");
    browser
        .get("/demo/reader/cards/4D4E000000000000")
        .await
        .expect(StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_clock_page_moves_the_date_on_and_runs_the_batch() {
    let demo = Demo::open("clock");
    let t = today();
    let mut nobody = demo.browser();
    let refused = nobody.get("/demo").await.expect(StatusCode::SEE_OTHER);
    assert!(location(&refused).starts_with("/login"), "{}", location(&refused));

    let clerk = demo
        .accounts()
        .into_iter()
        .find(|a| a.login == "chiyoda.clerk")
        .expect("the Chiyoda clerk");
    let mut browser = demo.browser();
    browser.log_in(&clerk.login, &clerk.password).await;
    let page = browser.get("/demo").await.expect(StatusCode::OK);
    assert!(page.text.contains("2026年11月29日"), "today is shown");
    assert!(page.text.contains("渡辺　翔"), "the demo residents are listed");

    // A day on, with the batch.
    let moved = browser
        .post(
            "/demo/clock/advance",
            &[("_csrf", &hidden(&page.text, "_csrf")), ("days", "1"), ("batch", "yes")],
        )
        .await
        .expect(StatusCode::SEE_OTHER);
    assert!(
        location(&moved).starts_with("/demo?done=advanced&days=1&changed="),
        "{}",
        location(&moved)
    );
    assert_eq!(demo.state.clock.today(), t + TimeDelta::days(1));
    let page = browser.get(&location(&moved)).await.expect(StatusCode::OK);
    assert!(page.text.contains("日付を1日進めました"));

    // A date in the past is refused; the clock stays.
    let back = browser
        .post(
            "/demo/clock/date",
            &[("_csrf", &hidden(&page.text, "_csrf")), ("date", "2026-11-01")],
        )
        .await
        .expect(StatusCode::SEE_OTHER);
    assert_eq!(location(&back), "/demo?error=date");
    assert_eq!(demo.state.clock.today(), t + TimeDelta::days(1));

    // To a day past the foreign resident's stay and the move-in deadline:
    // the batch lapses or expires both cards.
    let to = (t + TimeDelta::days(35)).format("%Y-%m-%d").to_string();
    let moved = browser
        .post(
            "/demo/clock/date",
            &[("_csrf", &hidden(&page.text, "_csrf")), ("date", &to), ("batch", "yes")],
        )
        .await
        .expect(StatusCode::SEE_OTHER);
    assert!(
        location(&moved).contains("done=advanced&days=34&changed="),
        "{}",
        location(&moved)
    );
    assert_eq!(demo.state.clock.today(), t + TimeDelta::days(35));
    for name in ["NGUYEN", "渡辺"] {
        let status = card_status(&resident(&demo.state, name));
        assert!(status == "lapsed" || status == "expired", "{name}: {status}");
    }

    // The batch again the same day: nothing more to do.
    let page = browser.get("/demo").await.expect(StatusCode::OK);
    let again = browser
        .post("/demo/batch", &[("_csrf", &hidden(&page.text, "_csrf"))])
        .await
        .expect(StatusCode::SEE_OTHER);
    assert_eq!(location(&again), "/demo?done=batch&changed=0");
    let page = browser.get(&location(&again)).await.expect(StatusCode::OK);
    assert!(page.text.contains("夜間処理を実行し、0件を処理しました"));
    let runs = demo
        .state
        .authority
        .db()
        .read(|tx| registry::list_batch_runs(tx, t + TimeDelta::days(35)))
        .expect("read");
    assert!(runs.len() == 7 && runs.iter().all(|r| r.status == BatchStatus::Done));
    // Logged in, the reader's forms carry the session's token.
    let wallet = browser.get("/demo/reader").await.expect(StatusCode::OK);
    let yamada = demo.serial_of(Scenario::RenewalDue);
    browser
        .post(
            "/demo/reader/insert",
            &[("_csrf", &hidden(&wallet.text, "_csrf")), ("serial", &yamada)],
        )
        .await
        .expect(StatusCode::SEE_OTHER);
    // Without the CSRF token: refused, and the clock stays.
    browser
        .post("/demo/clock/advance", &[("days", "1")])
        .await
        .expect(StatusCode::FORBIDDEN);
    assert_eq!(demo.state.clock.today(), t + TimeDelta::days(35));
}

#[tokio::test(flavor = "multi_thread")]
async fn outside_demo_mode_the_demo_routes_do_not_exist() {
    let dir = scratch("plain");
    let state = open_state(&config(&dir, false)).expect("open");
    let mut browser = Browser {
        router: router(state.clone(), None),
        cookies: HashMap::new(),
    };
    for path in ["/demo", "/demo/reader", "/demo/reader/cards/4D4E000000000000"] {
        browser.get(path).await.expect(StatusCode::NOT_FOUND);
    }
    for path in [
        "/demo/clock/advance",
        "/demo/clock/date",
        "/demo/batch",
        "/demo/reader/insert",
        "/demo/reader/cards/4D4E000000000000/verify",
    ] {
        browser.post(path, &[("days", "1")]).await.expect(StatusCode::NOT_FOUND);
    }
    assert!(demo::accounts(&dir).is_empty());
    drop(state);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A data directory opened the plain way (its CA made today) is seeded in
/// place by `prepare`, and the fixed clock comes back to its day.
#[test]
fn prepare_seeds_a_directory_opened_without_the_demo_opener() {
    let dir = scratch("in-place");
    let state = open_state(&config(&dir, true)).expect("open");
    let accounts = demo::prepare(&state).expect("prepare");
    assert_eq!(accounts.len(), 4);
    assert_eq!(state.clock.today(), today());
    assert!(state.clock.is_fixed());
    let wallet = demo::wallet(&dir);
    assert_eq!(wallet.cards.len(), 10);
    let sato = wallet
        .cards
        .iter()
        .find(|c| c.scenario == Scenario::PinLocked)
        .expect("佐藤");
    assert_eq!(tries(&state, &sato.serial, PinRef::Auth), 0);
    assert_eq!(card_status(&resident(&state, "鈴木")), "suspended");
    // Once seeded, prepare is a no-op.
    let again = demo::prepare(&state).expect("prepare");
    assert_eq!(again.len(), 4);
    assert_eq!(demo::wallet(&dir).cards.len(), 10);
    drop(state);
    let _ = std::fs::remove_dir_all(&dir);
}
