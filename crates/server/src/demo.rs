//! Demo mode (`mynacard serve --demo`): municipalities, staff accounts and
//! residents at every interesting point of a card's life, with their
//! virtual cards in a card wallet.
//!
//! Everything is seeded through the lifecycle authority's own operations
//! (registration, application, production, delivery, renewal, move-out,
//! hotline suspension, the nightly batch) and the holder's own client (the
//! locked PIN is three wrong VERIFYs through a [`VirtualReader`]), with the
//! clock moved back to when each life began and forward again: the records,
//! certificates, audit chain and card images are those the running system
//! would have made. Nothing is written with SQL.
//!
//! The oldest card was issued about ten years ago, and a certificate must
//! not predate its root: the CA is made on that day, so a fresh data
//! directory is seeded *before* the server's state is opened
//! ([`open_demo_state`]); about a year ago the CA rolls its roots over (a
//! new generation), so that the certificates issued since chain to a root
//! and an OCSP responder that are still valid for years. [`prepare`] seeds
//! a data directory already opened (its CA made today) as well as it can.
//!
//! What the demo leaves in `DATA/demo/` (the directory 0700, the files
//! 0600 — the passwords and PINs are in clear, demo only):
//! - `accounts.json`: the staff accounts and their random passwords;
//! - `wallet.json`: the card wallet (see [`Wallet`]): each seeded card, its
//!   holder, what it shows, and the PINs its holder "knows";
//! - `seeded`: the marker of a finished seeding (its date); `seeding` while
//!   it runs (left behind by an interrupted start, which is refused).

use std::cell::Cell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, Months, NaiveDate, TimeDelta};
use mynacard_authority::issuance::{NewApplication, NewResident, PinPad, Produced};
use mynacard_authority::loss::{LossReport, LostCard};
use mynacard_authority::moves::{Destination, MoveOut};
use mynacard_authority::{Actor, Authority, AuthorityConfig, Clock};
use mynacard_pki::ca::{default_passphrase, CertificateAuthority, KeyAccess};
use mynacard_pki::name::Hierarchy;
use mynacard_reader::client::ClientError;
use mynacard_reader::{JpkiClient, PinRef, VirtualReader};
use mynacard_rules::numbers::{MunicipalityCode, MyNumber};
use mynacard_store::access::StaffRole;
use mynacard_store::registry::{ApplicationChannel, ApplicationKind, LossCause, LossChannel};
use mynacard_store::SqliteCaRepository;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::app::ServeConfig;
use crate::clock::ServerClock;
use crate::state::AppState;
use crate::web::Lang;

/// 千代田区: the demo's main window.
pub const CHIYODA: &str = "131016";
/// 札幌市: the window a resident moves to.
pub const SAPPORO: &str = "011002";
/// 大阪市 (the code list has the designated city, not its wards).
pub const OSAKA: &str = "271004";

/// The subdirectory of the data directory that holds the demo's files.
pub const DEMO_DIR: &str = "demo";
const ACCOUNTS_FILE: &str = "accounts.json";
const WALLET_FILE: &str = "wallet.json";
const SEEDED: &str = "seeded";
const SEEDING: &str = "seeding";

/// A demo staff account, printed at start and shown on the login page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoAccount {
    /// The login.
    pub login: String,
    /// The password (demo only: kept in `DATA/demo/accounts.json`).
    pub password: String,
    /// `window`, `hotline` or `admin`.
    pub role: String,
    /// The municipality's name, for window staff.
    pub municipality: Option<String>,
}

impl DemoAccount {
    /// What the account is for.
    pub fn description(&self, lang: Lang) -> String {
        match (self.role.as_str(), &self.municipality) {
            ("window", Some(m)) => format!("{}（{m}）", lang.t("窓口", "Window")),
            ("hotline", _) => lang.t("コールセンター", "Hotline").to_owned(),
            ("admin", _) => lang.t("管理者", "Administrator").to_owned(),
            (other, _) => other.to_owned(),
        }
    }
}

/// The point of a card's life a demo resident stands at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// A card issued about ten years ago, in its renewal window, its
    /// certificates expiring with it.
    RenewalDue,
    /// The auth PIN locked by three wrong tries.
    PinLocked,
    /// Suspended by the hotline (reported lost).
    Suspended,
    /// A foreign resident whose period of stay (and card) ends in about a month.
    StayEnding,
    /// A face-recognition card (顔認証マイナンバーカード).
    FaceCard,
    /// Registered, no card yet.
    NoCard,
    /// A card produced and waiting at the window.
    AwaitingDelivery,
    /// Moved out of Chiyoda to Sapporo, not yet moved in (lapse watch).
    MovedOut,
    /// A valid card, nothing special.
    Ordinary,
}

impl Scenario {
    /// The situation in a few words.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Scenario::RenewalDue => lang.t("更新期間中（有効期限まもなく）", "In its renewal window (expires soon)"),
            Scenario::PinLocked => lang.t("利用者証明用暗証番号がロック", "Auth PIN locked"),
            Scenario::Suspended => lang.t("一時利用停止中（紛失の届出）", "Suspended (reported lost)"),
            Scenario::StayEnding => lang.t("在留期間の満了まで約1か月", "Period of stay ends in about a month"),
            Scenario::FaceCard => lang.t("顔認証マイナンバーカード", "Face-recognition card"),
            Scenario::NoCard => lang.t("カード未取得", "No card yet"),
            Scenario::AwaitingDelivery => lang.t("製造済み・交付待ち", "Produced, awaiting delivery"),
            Scenario::MovedOut => lang.t(
                "札幌市へ転出、転入届はまだ（失効注意）",
                "Moved out to Sapporo, not yet moved in (lapse watch)",
            ),
            Scenario::Ordinary => lang.t("有効なカード", "A valid card"),
        }
    }

    /// What to try with this resident.
    pub fn what_to_try(self, lang: Lang) -> &'static str {
        match self {
            Scenario::RenewalDue => lang.t(
                "千代田区の窓口で更新の申請（業務一覧の更新対象に表示）。",
                "At the Chiyoda window: apply for the renewal (listed under renewals due).",
            ),
            Scenario::PinLocked => lang.t(
                "仮想カードリーダーで残り回数0を確認し、千代田区の窓口で暗証番号を初期化。",
                "See 0 tries left in the virtual reader, then reset the PIN at the Chiyoda window.",
            ),
            Scenario::Suspended => lang.t(
                "千代田区の窓口で発見の届出（一時停止の解除）または再交付の申請。",
                "At the Chiyoda window: report the card found (lifts the suspension) or apply for a reissue.",
            ),
            Scenario::StayEnding => lang.t(
                "在留期間の更新後、千代田区の窓口でカードの有効期間を変更。",
                "After the stay is extended, change the card's validity at the Chiyoda window.",
            ),
            Scenario::FaceCard => lang.t(
                "暗証番号は使えません。千代田区の窓口で暗証番号付きのカードに戻す。",
                "No PIN can be used; convert it back to a PIN card at the Chiyoda window.",
            ),
            Scenario::NoCard => lang.t(
                "千代田区の窓口で交付申請を受け付ける。",
                "At the Chiyoda window: take an application for a card.",
            ),
            Scenario::AwaitingDelivery => lang.t(
                "千代田区の窓口で交付（本人がPINパッドで暗証番号を設定）。",
                "At the Chiyoda window: deliver the card (the holder sets the PINs on the PIN pad).",
            ),
            Scenario::MovedOut => lang.t(
                "札幌市の窓口でカードを添えて転入届（継続利用）。",
                "At the Sapporo window: the move-in with the card (continued use).",
            ),
            Scenario::Ordinary => lang.t(
                "コールセンターで一時停止、窓口で住所や氏名の変更など。",
                "Suspend it at the hotline; change the address or name at the window.",
            ),
        }
    }

    /// The situation in English, for `wallet.json`'s readers.
    fn shows(self) -> &'static str {
        self.label(Lang::En)
    }
}

/// The PINs a demo holder chose (and "knows").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoPins {
    /// 利用者証明用 (4 digits).
    pub auth: String,
    /// 署名用 (6–16 of A–Z 0–9).
    pub sign: String,
    /// 券面事項入力補助用 (4 digits).
    pub input_support: String,
    /// 住民基本台帳用 (4 digits).
    pub registry: String,
}

impl DemoPins {
    /// The PINs every demo holder chose at delivery.
    pub fn standard() -> DemoPins {
        DemoPins {
            auth: "1234".into(),
            sign: "ABCD1234".into(),
            input_support: "5678".into(),
            registry: "2468".into(),
        }
    }

    /// The PIN for `pin`.
    pub fn get(&self, pin: PinRef) -> &str {
        match pin {
            PinRef::Auth => &self.auth,
            PinRef::Sign => &self.sign,
            PinRef::InputSupport => &self.input_support,
            PinRef::Registry => &self.registry,
        }
    }

    fn pin_pad(&self) -> PinPad {
        PinPad {
            auth: Some(Zeroizing::new(self.auth.clone())),
            sign: Some(Zeroizing::new(self.sign.clone())),
            input_support: Some(Zeroizing::new(self.input_support.clone())),
            registry: Some(Zeroizing::new(self.registry.clone())),
        }
    }
}

/// A seeded card in the wallet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WalletCard {
    /// The card's serial (16 hex digits).
    pub serial: String,
    /// The holder's registry id.
    pub resident_id: i64,
    /// 氏名.
    pub holder: String,
    /// 生年月日 (what the hotline asks for).
    pub birth_date: NaiveDate,
    /// The municipality of record (全国地方公共団体コード).
    pub municipality: String,
    /// Its name.
    pub municipality_name: String,
    /// What the card shows.
    pub scenario: Scenario,
    /// The same in English words.
    pub shows: String,
    /// 有効期限 when seeded.
    pub expires_on: NaiveDate,
    /// The PINs the holder set (for a card awaiting delivery: the PINs to
    /// type on the PIN pad); none on a face-recognition card.
    pub pins: Option<DemoPins>,
}

/// A seeded resident (with a card or not).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoResident {
    /// The registry id.
    pub resident_id: i64,
    /// 氏名.
    pub name: String,
    /// 氏名の振り仮名.
    pub name_kana: String,
    /// 生年月日.
    pub birth_date: NaiveDate,
    /// The municipality of record (全国地方公共団体コード).
    pub municipality: String,
    /// Its name.
    pub municipality_name: String,
    /// Where the resident stands.
    pub scenario: Scenario,
    /// The same in English words.
    pub shows: String,
    /// The seeded card, if any.
    pub card_serial: Option<String>,
}

/// The card wallet (`DATA/demo/wallet.json`): the seeded cards and residents.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Wallet {
    /// The format (1).
    pub version: u32,
    /// The day the demo was seeded for.
    pub seeded_for: Option<NaiveDate>,
    /// The cards, in the order seeded.
    pub cards: Vec<WalletCard>,
    /// Every seeded resident.
    pub residents: Vec<DemoResident>,
}

impl Wallet {
    /// The wallet's entry for `serial`.
    pub fn card(&self, serial: &str) -> Option<&WalletCard> {
        self.cards.iter().find(|c| c.serial == serial)
    }
}

fn demo_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(DEMO_DIR)
}

/// The demo accounts of the data directory (none outside demo mode).
pub fn accounts(data_dir: &Path) -> Vec<DemoAccount> {
    std::fs::read(demo_dir(data_dir).join(ACCOUNTS_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// The card wallet of the data directory (empty outside demo mode).
pub fn wallet(data_dir: &Path) -> Wallet {
    std::fs::read(demo_dir(data_dir).join(WALLET_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Whether the data directory holds a finished demo seeding.
pub fn is_seeded(data_dir: &Path) -> bool {
    demo_dir(data_dir).join(SEEDED).exists()
}

/// Opens the state for `mynacard serve --demo`: a fresh data directory is
/// seeded first, on a clock of its own that starts about ten years back
/// (the CA is made then, so that no certificate predates its root), and
/// the state is then opened as [`crate::app::open_state`] opens it, on the
/// configured clock (`--today`, or the system's) untouched by the seeding.
/// A data directory already seeded is opened as it is; one that holds
/// other data is opened and then seeded in place by [`prepare`].
pub fn open_demo_state(config: &ServeConfig) -> Result<Arc<AppState>, String> {
    let dir = &config.data_dir;
    let fresh = !dir.join("ca").join("ca.json").exists();
    if config.demo && fresh && !is_seeded(dir) {
        refuse_half_seeded(dir)?;
        let target = config.today.unwrap_or_else(|| ServerClock::system().today());
        seed_fresh(config, target)?;
    }
    crate::app::open_state(config)
}

/// Seeds the demo on first use (idempotent: a seeded data directory is
/// left as it is) and answers the demo accounts.
///
/// A data directory seeded by [`open_demo_state`] is already done. One
/// opened otherwise is seeded here, in place: the server's clock is moved
/// into the past and back to the day it stood at (a fixed clock exactly;
/// a running one resumes from 10:00 that day), and the certificates issued
/// before the CA was made predate their root (a warning says so).
pub fn prepare(state: &AppState) -> Result<Vec<DemoAccount>, String> {
    let dir = &state.settings.data_dir;
    if !is_seeded(dir) {
        refuse_half_seeded(dir)?;
        seed_in_place(state)?;
    }
    Ok(accounts(dir))
}

fn refuse_half_seeded(dir: &Path) -> Result<(), String> {
    if demo_dir(dir).join(SEEDING).exists() {
        return Err(format!(
            "{} holds demo data whose seeding was interrupted; remove the directory and start again",
            dir.display()
        ));
    }
    Ok(())
}

/// `.ctx("what")`: an error as text with what was being done.
trait Context<T> {
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

// ------------------------------------------------------------------ plan

/// The first day a card could be issued (rules: 2016-01-01), with a margin.
fn first_card_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2016, 1, 5).unwrap_or_default()
}

/// The days of the seeded lives, from the target day.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// The day the demo opens on.
    today: NaiveDate,
    /// The expiry of the card in its renewal window (in about 45 days).
    renewal_expiry: NaiveDate,
    /// Its holder's birth date.
    renewal_born: NaiveDate,
    /// Its issuance: the earliest day of the demo, when the CA is made.
    earliest: NaiveDate,
    /// The renewal of its certificates half-way (adults' 10-year cards).
    certificate_renewal: Option<NaiveDate>,
    /// The CA's root rollover (about a year ago).
    rollover: NaiveDate,
}

fn years_before(day: NaiveDate, years: u32) -> Option<NaiveDate> {
    day.checked_sub_months(Months::new(12 * years))
}

impl Plan {
    fn new(today: NaiveDate) -> Result<Plan, String> {
        let mut expiry = today + TimeDelta::days(45);
        if expiry.month() == 2 && expiry.day() == 29 {
            expiry += TimeDelta::days(1);
        }
        let too_early = || format!("the demo needs a day after 2021 (the clock says {today})");
        // An adult's card runs to the 10th birthday after issuance: issued
        // just after the birthday ten years before the expiry, with its
        // certificates (5th birthday) renewed inside their window.
        let adult_issued = years_before(expiry, 10).map(|d| d + TimeDelta::days(10));
        let (earliest, born, certificate_renewal) = match adult_issued {
            Some(issued) if issued > first_card_day() => (
                issued,
                years_before(expiry, 52).ok_or_else(too_early)?,
                years_before(expiry, 5).map(|d| d - TimeDelta::days(30)),
            ),
            // Too early for a 10-year card: a 17-year-old's 5-year card.
            _ => {
                let issued = years_before(expiry, 5)
                    .map(|d| d + TimeDelta::days(10))
                    .filter(|d| *d > first_card_day())
                    .ok_or_else(too_early)?;
                (issued, years_before(expiry, 22).ok_or_else(too_early)?, None)
            }
        };
        Ok(Plan {
            today,
            renewal_expiry: expiry,
            renewal_born: born,
            earliest,
            certificate_renewal,
            rollover: today - TimeDelta::days(400),
        })
    }

    /// `days` before today.
    fn ago(&self, days: i64) -> NaiveDate {
        self.today - TimeDelta::days(days)
    }
}

// ---------------------------------------------------------------- people

/// A demo resident's facts.
struct Person {
    scenario: Scenario,
    name: &'static str,
    kana: &'static str,
    born: NaiveDate,
    sex: &'static str,
    nationality: &'static str,
    stay_until: Option<NaiveDate>,
    municipality: &'static str,
    address: &'static str,
    my_number_base: &'static str,
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

const CHIYODA_ADDRESS: &str = "東京都千代田区";

impl Person {
    /// A Japanese national (no period of stay), ordinary until told.
    fn japanese(
        name: &'static str,
        kana: &'static str,
        born: NaiveDate,
        sex: &'static str,
        municipality: &'static str,
        address: &'static str,
        my_number_base: &'static str,
    ) -> Person {
        Person {
            scenario: Scenario::Ordinary,
            name,
            kana,
            born,
            sex,
            nationality: "JP",
            stay_until: None,
            municipality,
            address,
            my_number_base,
        }
    }

    fn at(self, scenario: Scenario) -> Person {
        Person { scenario, ..self }
    }

    fn new_resident(&self) -> Result<NewResident, String> {
        let my_number = MyNumber::complete(self.my_number_base).ctx("a demo My Number")?;
        let japanese = self.nationality == "JP";
        Ok(NewResident {
            municipality: self.municipality.into(),
            my_number: my_number.expose(),
            name: self.name.into(),
            name_kana: self.kana.into(),
            address: self.address.into(),
            birth_date: self.born,
            sex: self.sex.into(),
            nationality: self.nationality.into(),
            stay_until: self.stay_until,
            permanent_resident: false,
            seal_registered: japanese,
            honseki: japanese.then(|| format!("{CHIYODA_ADDRESS}千代田１番")),
            household_id: None,
            adult_ward: false,
        })
    }
}

fn municipality_name(code: &str) -> &'static str {
    match code {
        CHIYODA => "千代田区",
        SAPPORO => "札幌市",
        OSAKA => "大阪市",
        _ => "",
    }
}

// --------------------------------------------------------------- seeding

/// One seeding run: the clock it moves, its idempotency keys, the wallet
/// it fills.
struct Seeding {
    clock: Arc<ServerClock>,
    run: String,
    next: Cell<u32>,
    wallet: Wallet,
    pins: DemoPins,
}

impl Seeding {
    fn new(clock: Arc<ServerClock>, today: NaiveDate) -> Seeding {
        Seeding {
            clock,
            run: crate::access::random_token(6),
            next: Cell::new(0),
            wallet: Wallet {
                version: 1,
                seeded_for: Some(today),
                ..Wallet::default()
            },
            pins: DemoPins::standard(),
        }
    }

    fn key(&self, what: &str) -> String {
        let n = self.next.get() + 1;
        self.next.set(n);
        format!("demo:{}:{n}:{what}", self.run)
    }

    fn on(&self, day: NaiveDate) {
        self.clock.set_day(day);
    }

    fn clerk(municipality: &str) -> Result<Actor, String> {
        let code = MunicipalityCode::parse(municipality).ctx("a demo municipality")?;
        Ok(Actor::window(format!("staff:demo-{municipality}"), code))
    }

    fn register(&mut self, a: &Authority, p: &Person) -> Result<i64, String> {
        let id = a
            .register_resident(
                &Seeding::clerk(p.municipality)?,
                &self.key("register"),
                &p.new_resident()?,
            )
            .ctx(&format!("registering {}", p.name))?;
        self.wallet.residents.push(DemoResident {
            resident_id: id,
            name: p.name.into(),
            name_kana: p.kana.into(),
            birth_date: p.born,
            municipality: p.municipality.into(),
            municipality_name: municipality_name(p.municipality).into(),
            scenario: p.scenario,
            shows: p.scenario.shows().into(),
            card_serial: None,
        });
        Ok(id)
    }

    /// The application (at the window) and the production (J-LIS).
    fn apply_and_produce(&self, a: &Authority, p: &Person, resident_id: i64, face: bool) -> Result<Produced, String> {
        let application = self.apply(a, p, resident_id, face)?;
        self.produce(a, p, application)
    }

    fn apply(&self, a: &Authority, p: &Person, resident_id: i64, face: bool) -> Result<i64, String> {
        a.apply(
            &Seeding::clerk(p.municipality)?,
            &self.key("apply"),
            &NewApplication {
                resident_id,
                kind: ApplicationKind::New,
                channel: ApplicationChannel::Window,
                face_recognition: face,
                signature_wanted: !face,
                jlis_received_on: None,
            },
        )
        .ctx(&format!("the application of {}", p.name))
    }

    fn produce(&self, a: &Authority, p: &Person, application: i64) -> Result<Produced, String> {
        a.produce(&Actor::producer(), &self.key("produce"), application)
            .ctx(&format!("producing the card of {}", p.name))
    }

    /// Application, production and delivery (the holder sets the demo PINs).
    fn issue(&mut self, a: &Authority, p: &Person, resident_id: i64, face: bool) -> Result<String, String> {
        let produced = self.apply_and_produce(a, p, resident_id, face)?;
        let pins = if face { PinPad::default() } else { self.pins.pin_pad() };
        a.deliver(
            &Seeding::clerk(p.municipality)?,
            &self.key("deliver"),
            &produced.card_serial,
            &pins,
        )
        .ctx(&format!("delivering the card of {}", p.name))?;
        self.add_card(p, resident_id, &produced, !face);
        Ok(produced.card_serial)
    }

    fn add_card(&mut self, p: &Person, resident_id: i64, produced: &Produced, pins: bool) {
        if let Some(r) = self.wallet.residents.iter_mut().find(|r| r.resident_id == resident_id) {
            r.card_serial = Some(produced.card_serial.clone());
        }
        self.wallet.cards.push(WalletCard {
            serial: produced.card_serial.clone(),
            resident_id,
            holder: p.name.into(),
            birth_date: p.born,
            municipality: p.municipality.into(),
            municipality_name: municipality_name(p.municipality).into(),
            scenario: p.scenario,
            shows: p.scenario.shows().into(),
            expires_on: produced.expires_on,
            pins: pins.then(|| self.pins.clone()),
        });
    }

    /// The past before the CA's rollover: the municipalities, and the card
    /// issued about ten years ago (its certificates renewed half-way).
    fn past(&mut self, a: &Authority, plan: &Plan) -> Result<(), String> {
        self.on(plan.earliest);
        a.seed_municipalities(&Actor::system("demo"), &self.key("municipalities"))
            .ctx("the list of municipalities")?;
        let yamada = Person::japanese(
            "山田　太郎",
            "ヤマダ　タロウ",
            plan.renewal_born,
            "male",
            CHIYODA,
            "東京都千代田区千代田1-1",
            "20240000001",
        )
        .at(Scenario::RenewalDue);
        let id = self.register(a, &yamada)?;
        let serial = self.issue(a, &yamada, id, false)?;
        if let Some(day) = plan.certificate_renewal {
            self.on(day);
            a.renew_certificates(&Seeding::clerk(CHIYODA)?, &self.key("renew"), &serial)
                .ctx("renewing the certificates of 山田　太郎")?;
        }
        Ok(())
    }

    /// The last year: every other life, up to the day before the target.
    fn recent(&mut self, a: &Authority, plan: &Plan) -> Result<(), String> {
        let sato = Person::japanese(
            "佐藤　花子",
            "サトウ　ハナコ",
            ymd(1988, 4, 12),
            "female",
            CHIYODA,
            "東京都千代田区神田神保町2-3",
            "20240000002",
        )
        .at(Scenario::PinLocked);
        let kobayashi = Person::japanese(
            "小林　由美",
            "コバヤシ　ユミ",
            ymd(1961, 9, 3),
            "female",
            CHIYODA,
            "東京都千代田区麹町4-5",
            "20240000003",
        )
        .at(Scenario::Ordinary);
        let nguyen = Person {
            scenario: Scenario::StayEnding,
            name: "NGUYEN VAN AN",
            kana: "グエン　ヴァン　アン",
            born: ymd(1996, 2, 14),
            sex: "male",
            nationality: "VN",
            stay_until: Some(plan.today + TimeDelta::days(30)),
            municipality: CHIYODA,
            address: "東京都千代田区外神田3-7",
            my_number_base: "20240000004",
        };
        let watanabe = Person::japanese(
            "渡辺　翔",
            "ワタナベ　ショウ",
            ymd(1985, 11, 30),
            "male",
            CHIYODA,
            "東京都千代田区飯田橋1-9",
            "20240000005",
        )
        .at(Scenario::MovedOut);
        let suzuki = Person::japanese(
            "鈴木　一郎",
            "スズキ　イチロウ",
            ymd(1975, 7, 7),
            "male",
            CHIYODA,
            "東京都千代田区丸の内1-2",
            "20240000006",
        )
        .at(Scenario::Suspended);
        let nakamura = Person::japanese(
            "中村　大輔",
            "ナカムラ　ダイスケ",
            ymd(1979, 3, 21),
            "male",
            SAPPORO,
            "北海道札幌市中央区北1条西2丁目",
            "20240000007",
        )
        .at(Scenario::Ordinary);
        let tanaka = Person::japanese(
            "田中　美咲",
            "タナカ　ミサキ",
            ymd(1942, 5, 18),
            "female",
            CHIYODA,
            "東京都千代田区九段南1-6",
            "20240000008",
        )
        .at(Scenario::FaceCard);
        let matsumoto = Person::japanese(
            "松本　陽子",
            "マツモト　ヨウコ",
            ymd(1990, 12, 1),
            "female",
            OSAKA,
            "大阪府大阪市北区梅田1-1",
            "20240000009",
        )
        .at(Scenario::Ordinary);
        let takahashi = Person::japanese(
            "高橋　健太",
            "タカハシ　ケンタ",
            ymd(2001, 6, 25),
            "male",
            CHIYODA,
            "東京都千代田区一番町8",
            "20240000010",
        )
        .at(Scenario::NoCard);
        let ito = Person::japanese(
            "伊藤　さくら",
            "イトウ　サクラ",
            ymd(1993, 4, 1),
            "female",
            CHIYODA,
            "東京都千代田区富士見2-4",
            "20240000011",
        )
        .at(Scenario::AwaitingDelivery);

        self.on(plan.ago(380));
        let sato_id = self.register(a, &sato)?;
        let sato_card = self.issue(a, &sato, sato_id, false)?;
        let kobayashi_id = self.register(a, &kobayashi)?;
        self.issue(a, &kobayashi, kobayashi_id, false)?;

        self.on(plan.ago(335));
        let nguyen_id = self.register(a, &nguyen)?;
        self.on(plan.ago(300));
        self.issue(a, &nguyen, nguyen_id, false)?;

        self.on(plan.ago(250));
        let watanabe_id = self.register(a, &watanabe)?;
        self.issue(a, &watanabe, watanabe_id, false)?;

        self.on(plan.ago(200));
        let suzuki_id = self.register(a, &suzuki)?;
        let suzuki_card = self.issue(a, &suzuki, suzuki_id, false)?;

        self.on(plan.ago(150));
        let nakamura_id = self.register(a, &nakamura)?;
        self.issue(a, &nakamura, nakamura_id, false)?;

        self.on(plan.ago(120));
        let tanaka_id = self.register(a, &tanaka)?;
        self.issue(a, &tanaka, tanaka_id, true)?;

        self.on(plan.ago(90));
        let matsumoto_id = self.register(a, &matsumoto)?;
        self.issue(a, &matsumoto, matsumoto_id, false)?;

        self.on(plan.ago(60));
        self.register(a, &takahashi)?;

        self.on(plan.ago(21));
        let ito_id = self.register(a, &ito)?;
        let ito_application = self.apply(a, &ito, ito_id, false)?;
        self.on(plan.ago(14));
        let produced = self.produce(a, &ito, ito_application)?;
        self.add_card(&ito, ito_id, &produced, true);

        self.on(plan.ago(12));
        a.move_out(
            &Seeding::clerk(CHIYODA)?,
            &self.key("move-out"),
            &MoveOut {
                resident_id: watanabe_id,
                planned_move_out_on: plan.ago(10),
                destination: Destination::Municipality(SAPPORO.into()),
                abroad_with_continued_use: false,
            },
        )
        .ctx("the move-out of 渡辺　翔")?;

        self.on(plan.ago(3));
        lock_pin(a, &sato_card, PinRef::Auth, &self.pins)?;

        self.on(plan.ago(1));
        a.suspend_lost_card(
            &Actor::hotline("hotline:demo"),
            &self.key("suspend"),
            &LossReport {
                card: LostCard::Serial(suzuki_card),
                cause: LossCause::Loss,
                reported_at: None,
                channel: LossChannel::Hotline,
                note: Some("デモ: 電車内で紛失 / demo: lost on a train".into()),
            },
        )
        .ctx("the suspension of 鈴木　一郎's card")?;
        Ok(())
    }

    /// The target day: the nightly batch, the staff accounts, the files.
    fn finish(&mut self, a: &Authority, data_dir: &Path, plan: &Plan) -> Result<Vec<DemoAccount>, String> {
        self.on(plan.today);
        let report = a.run_daily_batch(plan.today, &mut |_| {}).ctx("the nightly batch")?;
        tracing::info!(date = %plan.today, changed = report.total(), "demo: nightly batch");
        let accounts = create_accounts(a)?;
        let dir = demo_dir(data_dir);
        write_private(
            &dir.join(WALLET_FILE),
            &serde_json::to_vec_pretty(&self.wallet).ctx("the wallet")?,
        )?;
        write_private(
            &dir.join(ACCOUNTS_FILE),
            &serde_json::to_vec_pretty(&accounts).ctx("the accounts")?,
        )?;
        write_private(&dir.join(SEEDED), format!("{}\n", plan.today).as_bytes())?;
        let _ = std::fs::remove_file(dir.join(SEEDING));
        Ok(accounts)
    }
}

/// Three wrong VERIFYs of `pin` through the holder's client: the PIN locks.
fn lock_pin(a: &Authority, serial: &str, pin: PinRef, known: &DemoPins) -> Result<(), String> {
    let wrong = if known.get(pin) == "0000" { "9999" } else { "0000" };
    let card = a.cards().open_card(serial).ctx("the card to lock")?;
    let mut reader = VirtualReader::new(serial, card);
    let mut client = JpkiClient::new(&mut reader);
    for _ in 0..pin.kind().retry_limit() {
        match client.verify(pin, wrong) {
            Err(ClientError::WrongPin { .. } | ClientError::Locked) => {}
            Ok(()) => return Err("locking a PIN: the wrong PIN was accepted".into()),
            Err(e) => return Err(format!("locking a PIN: {e}")),
        }
    }
    let left = client.pin_status(pin).ctx("the PIN's tries")?.remaining;
    if left != 0 {
        return Err(format!("locking a PIN: {left} tries left"));
    }
    Ok(())
}

/// A random password of four groups of four readable characters.
fn random_password() -> Result<String, String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut raw = [0u8; 16];
    aws_lc_rs::rand::fill(&mut raw).map_err(|_| "the random generator failed".to_owned())?;
    let chars: Vec<char> = raw
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    Ok(chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

/// The demo's staff: window clerks of Chiyoda and Sapporo, a hotline
/// operator, an administrator.
fn create_accounts(a: &Authority) -> Result<Vec<DemoAccount>, String> {
    let wanted = [
        (
            "chiyoda.clerk",
            "千代田区 窓口（デモ）",
            StaffRole::Window,
            Some(CHIYODA),
        ),
        ("sapporo.clerk", "札幌市 窓口（デモ）", StaffRole::Window, Some(SAPPORO)),
        ("hotline.operator", "コールセンター（デモ）", StaffRole::Hotline, None),
        ("admin", "管理者（デモ）", StaffRole::Admin, None),
    ];
    let mut out = Vec::new();
    for (login, display_name, role, municipality) in wanted {
        let password = random_password()?;
        let request = crate::bootstrap::AccountRequest {
            login: login.into(),
            display_name: display_name.into(),
            role,
            municipality: municipality
                .map(MunicipalityCode::parse)
                .transpose()
                .ctx("a demo municipality")?,
        };
        let hash = crate::access::hash_password(&password)
            .map_err(|p| format!("hashing a password: {}", p.detail.unwrap_or_default()))?;
        // Through the administration's own path: checked and audited.
        a.db()
            .transaction(|tx| crate::bootstrap::insert_account(tx, "system:demo", &request, &hash, chrono::Utc::now()))
            .map_err(|crate::bootstrap::TxProblem(p)| {
                format!("the staff account {login}: {}", p.detail.unwrap_or_default())
            })?;
        out.push(DemoAccount {
            login: login.into(),
            password,
            role: role.as_str().into(),
            municipality: municipality.map(|m| municipality_name(m).to_owned()),
        });
    }
    Ok(out)
}

/// Writes a file readable by its owner only (0600), atomically.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let what = path.display().to_string();
    let mut file = options.open(&tmp).ctx(&what)?;
    file.write_all(bytes).ctx(&what)?;
    file.sync_all().ctx(&what)?;
    std::fs::rename(&tmp, path).ctx(&what)
}

/// Creates `DATA/demo` (0700) and the marker of a seeding under way.
fn begin(data_dir: &Path) -> Result<(), String> {
    let dir = demo_dir(data_dir);
    std::fs::create_dir_all(&dir).ctx(&dir.display().to_string())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).ctx(&dir.display().to_string())?;
    }
    write_private(&dir.join(SEEDING), b"")
}

/// A new root generation for both hierarchies at `day`, on the CA of the
/// data directory (no authority holding it).
fn roll_over_ca(data_dir: &Path, clock: &ServerClock) -> Result<(), String> {
    let dir = data_dir.join("ca");
    let repository = Arc::new(SqliteCaRepository::open(&dir.join("ca.db")).ctx("the CA's repository")?);
    let access = KeyAccess::Passphrase(default_passphrase(&dir, false).ctx("the CA's passphrase")?);
    let mut ca = CertificateAuthority::open(&dir, &access, repository).ctx("the CA")?;
    for hierarchy in [Hierarchy::Signature, Hierarchy::UserAuthentication] {
        ca.add_generation(hierarchy, &access, clock.now())
            .ctx("the CA's root rollover")?;
    }
    Ok(())
}

/// Seeds a fresh data directory on a clock of its own: the past with the CA
/// made on the earliest day, the rollover, the last year, the target day.
fn seed_fresh(config: &ServeConfig, target: NaiveDate) -> Result<(), String> {
    let plan = Plan::new(target)?;
    let started = std::time::Instant::now();
    tracing::info!(
        today = %target,
        since = %plan.earliest,
        renewal_due = %plan.renewal_expiry,
        "demo: seeding a fresh data directory"
    );
    begin(&config.data_dir)?;
    let clock = Arc::new(ServerClock::fixed_on(plan.earliest));
    let mut authority_config = AuthorityConfig::new(&config.data_dir);
    authority_config.database = config.database.clone();
    let mut seeding = Seeding::new(clock.clone(), target);
    {
        let authority = Authority::open(&authority_config, clock.clone()).ctx("opening the data directory")?;
        seeding.past(&authority, &plan)?;
    }
    clock.set_day(plan.rollover);
    roll_over_ca(&config.data_dir, &clock)?;
    let authority = Authority::open(&authority_config, clock.clone()).ctx("opening the data directory")?;
    seeding.recent(&authority, &plan)?;
    seeding.finish(&authority, &config.data_dir, &plan)?;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "demo: seeded");
    Ok(())
}

/// Seeds the data directory of an opened state, moving its clock.
fn seed_in_place(state: &AppState) -> Result<(), String> {
    let target = state.clock.today();
    let plan = Plan::new(target)?;
    let oldest_root = state
        .authority
        .ca()
        .generations()
        .iter()
        .map(|g| mynacard_pki::time::from_x509_time(&g.root.tbs_certificate().validity().not_before))
        .min();
    if oldest_root.is_some_and(|at| mynacard_pki::time::jst_date(at) > plan.earliest) {
        tracing::warn!(
            since = %plan.earliest,
            "demo: the CA is younger than the demo's oldest card, whose certificates will predate their root; \
             seed a fresh data directory through demo::open_demo_state instead"
        );
    }
    begin(&state.settings.data_dir)?;
    let mut seeding = Seeding::new(state.clock.clone(), target);
    let result = seeding
        .past(&state.authority, &plan)
        .and_then(|()| seeding.recent(&state.authority, &plan))
        .and_then(|()| seeding.finish(&state.authority, &state.settings.data_dir, &plan));
    state.clock.set_day(target);
    result.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_puts_the_old_card_in_its_renewal_window() {
        let plan = Plan::new(ymd(2026, 11, 29)).expect("plan");
        assert_eq!(plan.renewal_expiry, ymd(2027, 1, 13));
        assert_eq!(plan.earliest, ymd(2017, 1, 23));
        assert_eq!(plan.renewal_born, ymd(1975, 1, 13));
        assert_eq!(plan.certificate_renewal, Some(ymd(2021, 12, 14)));
        assert!(plan.rollover > plan.certificate_renewal.expect("renewal"));
        // Too early for a 10-year card: a 5-year one.
        let plan = Plan::new(ymd(2023, 3, 1)).expect("plan");
        assert!(plan.certificate_renewal.is_none());
        assert!(plan.earliest > first_card_day());
        assert!(Plan::new(ymd(2020, 1, 1)).is_err());
    }

    #[test]
    fn passwords_are_long_enough_and_differ() {
        let a = random_password().expect("password");
        let b = random_password().expect("password");
        assert_eq!(a.chars().count(), 19);
        assert!(crate::access::check_new_password(&a).is_ok());
        assert_ne!(a, b);
    }
}
