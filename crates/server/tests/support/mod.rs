//! The whole server in-process for one test: its own data directory and
//! registry (SQLite, or its own PostgreSQL schema), a fixed clock, the
//! router driven without a socket. Removed when dropped.
#![allow(dead_code)]

pub mod web;

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use chrono::NaiveDate;
use http_body_util::BodyExt;
use mynacard_authority::issuance::{NewApplication, NewResident, PinPad};
use mynacard_authority::{Actor, Clock};
use mynacard_rules::numbers::MunicipalityCode;
use mynacard_server::access::hash_password;
use mynacard_server::app::{open_state, router, ServeConfig};
use mynacard_server::bootstrap::{insert_api_key, TxProblem};
use mynacard_server::state::AppState;
use mynacard_store::access::{insert_staff_account, ApiKeyKind, NewStaffAccount, StaffRole};
use mynacard_store::registry::{ApplicationChannel, ApplicationKind, Municipality};
use serde_json::Value;
use tower::ServiceExt;
use zeroize::Zeroizing;

pub const POSTGRES: &str = "postgresql://postgres@127.0.0.1:5432/test";
pub const CHIYODA: &str = "131016";
pub const SAPPORO: &str = "011002";
/// Every demo/test staff password.
pub const PASSWORD: &str = "correct horse battery";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

/// Runs blocking registry work from a test: inside a multi-threaded
/// runtime through `block_in_place` (the synchronous PostgreSQL client
/// starts a runtime of its own, which tokio forbids on a worker thread).
///
/// A PostgreSQL `TestApp` must still be created and dropped outside the
/// runtime (a `#[test]` that builds its own runtime for the calls): the
/// registry's client closes its connection with a runtime of its own when
/// the app is dropped.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn unique(name: &str) -> String {
    let name = name.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let mut noise = [0u8; 4];
    aws_lc_rs::rand::fill(&mut noise).expect("random");
    format!(
        "{name}_{}_{}",
        std::process::id(),
        noise.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// A response: status, headers, body as JSON (Null when not JSON) and text.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub json: Value,
    pub text: String,
}

/// A response read whole.
pub async fn answer(response: Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        json,
        text,
    }
}

impl Answer {
    /// The problem document's code.
    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or("")
    }

    /// Panics with the body unless the status is `status`.
    #[track_caller]
    pub fn expect(self, status: StatusCode) -> Answer {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        self
    }
}

/// Who sends a request.
#[derive(Debug, Clone, Default)]
pub struct As {
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl As {
    pub fn nobody() -> As {
        As::default()
    }
}

pub struct TestApp {
    pub state: Arc<AppState>,
    pub router: Router,
    pub dir: PathBuf,
    schema: Option<String>,
    keys: std::cell::Cell<u64>,
}

impl TestApp {
    pub fn new(name: &str, today: NaiveDate) -> TestApp {
        TestApp::on(Backend::Sqlite, name, today)
    }

    pub fn on(backend: Backend, name: &str, today: NaiveDate) -> TestApp {
        let dir = std::env::temp_dir().join(format!("mynacard-server-{}", unique(name)));
        let schema = (backend == Backend::Postgres).then(|| format!("s_{}", unique(name)).to_ascii_lowercase());
        let database = schema.as_ref().map(|s| {
            let base = std::env::var("MYNACARD_TEST_POSTGRES").unwrap_or_else(|_| POSTGRES.to_owned());
            format!("{base}?schema={s}")
        });
        let config = ServeConfig {
            data_dir: dir.clone(),
            database,
            listen: "127.0.0.1:0".parse().expect("address"),
            demo: false,
            today: Some(today),
            secure_cookies: false,
        };
        let state = blocking(|| open_state(&config)).unwrap_or_else(|e| panic!("the server does not open: {e}"));
        let router = router(state.clone(), None);
        let app = TestApp {
            state,
            router,
            dir,
            schema,
            keys: std::cell::Cell::new(0),
        };
        let system = Actor::system("test");
        for (code, ja, en) in [(CHIYODA, "千代田区", "Chiyoda-ku"), (SAPPORO, "札幌市", "Sapporo-shi")] {
            let m = Municipality {
                code: MunicipalityCode::parse(code).expect("code"),
                name_ja: ja.into(),
                name_en: en.into(),
                settings: serde_json::json!({}),
            };
            blocking(|| {
                app.state
                    .authority
                    .add_municipality(&system, &format!("muni:{code}"), &m)
            })
            .expect("municipality");
        }
        app
    }

    pub fn today(&self) -> NaiveDate {
        self.state.clock.today()
    }

    /// A fresh idempotency key.
    pub fn key(&self) -> String {
        let n = self.keys.get() + 1;
        self.keys.set(n);
        format!("test-{n}")
    }

    /// Creates a staff account (password [`PASSWORD`]).
    pub fn staff(&self, login: &str, role: StaffRole, municipality: Option<&str>) {
        let new = NewStaffAccount {
            login: login.into(),
            display_name: format!("{login} さん"),
            password_hash: hash_password(PASSWORD).expect("hash"),
            role,
            municipality: municipality.map(|m| MunicipalityCode::parse(m).expect("code")),
        };
        blocking(|| {
            self.state
                .authority
                .db()
                .transaction(|tx| insert_staff_account(tx, &new, chrono::Utc::now()))
        })
        .expect("staff account");
    }

    /// Creates a staff account and logs it in through the API.
    pub async fn login_as(&self, login: &str, role: StaffRole, municipality: Option<&str>) -> As {
        self.staff(login, role, municipality);
        self.login(login, PASSWORD).await
    }

    /// Logs in through `POST /api/v1/session`.
    pub async fn login(&self, login: &str, password: &str) -> As {
        let answer = self
            .call(
                Method::POST,
                "/api/v1/session",
                &As::nobody(),
                None,
                Some(serde_json::json!({"login": login, "password": password})),
            )
            .await
            .expect(StatusCode::OK);
        let cookie = answer
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(mynacard_server::access::SESSION_COOKIE))
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_owned();
        As {
            cookie: Some(cookie),
            csrf: answer.json["csrf_token"].as_str().map(str::to_owned),
            bearer: None,
        }
    }

    /// An API key of `kind`.
    pub fn api_key(&self, name: &str, kind: ApiKeyKind) -> As {
        let (key, _) = blocking(|| {
            self.state
                .authority
                .db()
                .transaction(|tx| insert_api_key(tx, "admin:test", name, kind, None, chrono::Utc::now()))
                .map_err(|TxProblem(p)| p)
        })
        .expect("api key");
        As {
            bearer: Some(key),
            ..As::default()
        }
    }

    /// Sends a request.
    pub async fn call(&self, method: Method, path: &str, who: &As, key: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(c) = &who.cookie {
            request = request.header(header::COOKIE, c);
        }
        if let Some(c) = &who.csrf {
            request = request.header("x-csrf-token", c);
        }
        if let Some(b) = &who.bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {b}"));
        }
        if let Some(k) = key {
            request = request.header("idempotency-key", k);
        }
        let request = match body {
            Some(json) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(&json).expect("json"))),
            None => request.body(Body::empty()),
        }
        .expect("request");
        self.send(request).await
    }

    /// Sends a prepared request.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        answer(response).await
    }

    pub async fn get(&self, path: &str, who: &As) -> Answer {
        self.call(Method::GET, path, who, None, None).await
    }

    /// POST with a fresh idempotency key.
    pub async fn post(&self, path: &str, who: &As, body: Value) -> Answer {
        let key = self.key();
        self.call(Method::POST, path, who, Some(&key), Some(body)).await
    }

    // ---- Registry set-up straight through the authority (not under test) ----

    /// Registers a resident of `municipality` born on `birth`.
    pub fn resident(&self, municipality: &str, name: &str, my_number: &str, birth: NaiveDate) -> i64 {
        let new = NewResident {
            municipality: municipality.into(),
            my_number: my_number.into(),
            name: name.into(),
            name_kana: "テスト　タロウ".into(),
            address: if municipality == CHIYODA {
                "東京都千代田区千代田1-1".into()
            } else {
                "北海道札幌市中央区北1条西2丁目".into()
            },
            birth_date: birth,
            sex: "male".into(),
            nationality: "JP".into(),
            stay_until: None,
            permanent_resident: false,
            seal_registered: true,
            honseki: Some("東京都千代田区千代田1".into()),
            household_id: None,
            adult_ward: false,
        };
        let actor = Actor::window("staff:setup", MunicipalityCode::parse(municipality).expect("code"));
        blocking(|| self.state.authority.register_resident(&actor, &self.key(), &new)).expect("register")
    }

    /// Applies for, produces and delivers a card (PINs 1234 / ABC123);
    /// answers the card's serial.
    pub fn issue_card(&self, municipality: &str, resident_id: i64) -> String {
        blocking(|| self.issue_card_now(municipality, resident_id))
    }

    fn issue_card_now(&self, municipality: &str, resident_id: i64) -> String {
        let actor = Actor::window("staff:setup", MunicipalityCode::parse(municipality).expect("code"));
        let authority = &self.state.authority;
        let application = authority
            .apply(
                &actor,
                &self.key(),
                &NewApplication {
                    resident_id,
                    kind: ApplicationKind::New,
                    channel: ApplicationChannel::Window,
                    face_recognition: false,
                    signature_wanted: true,
                    jlis_received_on: None,
                },
            )
            .expect("apply");
        let produced = authority
            .produce(&Actor::producer(), &self.key(), application)
            .expect("produce");
        let pins = PinPad {
            auth: Some(Zeroizing::new("1234".into())),
            sign: Some(Zeroizing::new("ABC123".into())),
            input_support: Some(Zeroizing::new("1234".into())),
            registry: Some(Zeroizing::new("1234".into())),
        };
        authority
            .deliver(&actor, &self.key(), &produced.card_serial, &pins)
            .expect("deliver");
        produced.card_serial
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let schema = self.schema.clone();
        blocking(move || drop_schema(schema));
    }
}

fn drop_schema(schema: Option<String>) {
    {
        if let Some(schema) = &schema {
            let base = std::env::var("MYNACARD_TEST_POSTGRES").unwrap_or_else(|_| POSTGRES.to_owned());
            if let Ok(mut client) = postgres::Client::connect(&base, postgres::NoTls) {
                let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"));
            }
        }
    }
}
