//! 仮想カードリーダー (`/demo/reader`, demo mode only): the card wallet,
//! and a reader to "insert" a card into.
//!
//! The reader talks to the card exactly as a real reader would: the card
//! image is opened through the card store, put in a
//! [`VirtualReader`](mynacard_reader::VirtualReader), and read by the
//! resident's client ([`JpkiClient`]) with the card's public APDUs only —
//! SELECT, READ BINARY, and the empty VERIFY that tells a PIN's tries left
//! without spending one. A card image is held by one user at a time, so
//! each request opens it, uses it and closes it on the blocking pool.
//!
//! The wallet is the holder's, not the staff's: no login is needed (a
//! logged-in staff member may use it too). Its forms carry a CSRF token
//! like every form ([`ReaderForm`]): the session's when there is one,
//! otherwise a double-submit token from the reader's own cookie, scoped to
//! `/demo/reader` (HttpOnly, SameSite=Strict).

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::NaiveDate;
use maud::{html, Markup};
use mynacard_authority::{Authority, AuthorityError, Clock};
use mynacard_card::apdu::Sw;
use mynacard_card::tlv;
use mynacard_card::JpkiKey;
use mynacard_pki::status::{CertStatus, CrlReason};
use mynacard_pki::Serial;
use mynacard_reader::client::ClientError;
use mynacard_reader::{JpkiClient, PinRef, VirtualReader};
use mynacard_store::registry::{self, CardStatus};
use serde::Deserialize;

use super::demo::{scenario_tag, DemoOnly};
use super::forms::token_fields;
use super::{html_response, page, Banner, Lang, PageContext};
use crate::access::{self, random_token, MaybeStaff};
use crate::demo::{DemoPins, Scenario, Wallet};
use crate::problem::Problem;
use crate::state::AppState;

/// Where the pre-session CSRF cookie of the reader's forms applies.
const COOKIE_PATH: &str = "/demo/reader";
/// The reader's pre-session CSRF cookie.
pub const READER_CSRF_COOKIE: &str = "mynacard_reader_csrf";

/// A form posted from a reader page: its `_csrf` must be the session's
/// token or, without a session, the token of the reader's own cookie
/// (double submit: another site can neither read nor set it). `T` is the
/// rest of the form.
#[derive(Debug)]
pub struct ReaderForm<T>(pub T);

impl<T> FromRequest<Arc<AppState>> for ReaderForm<T>
where
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let staff = match MaybeStaff::from_request_parts(&mut parts, state).await {
            Ok(MaybeStaff(staff)) => staff,
            Err(never) => match never {},
        };
        let expected = match staff {
            Some(s) => s.csrf_token,
            None => access::cookie(&parts, READER_CSRF_COOKIE).unwrap_or("").to_owned(),
        };
        let Ok(bytes) = axum::body::to_bytes(body, super::MAX_FORM_BYTES).await else {
            return Err(super::problem_page(&Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the form is too large",
            )));
        };
        let sent = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let matches = aws_lc_rs::constant_time::verify_slices_are_equal(sent.as_bytes(), expected.as_bytes()).is_ok();
        if expected.is_empty() || !matches {
            return Err(super::problem_page(&Problem::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "the form is stale or did not come from this site; reload the page and try again",
            )));
        }
        serde_html_form::from_bytes::<T>(&bytes)
            .map(ReaderForm)
            .map_err(|e| super::problem_page(&Problem::bad_request(format!("the form: {e}"))))
    }
}

/// The routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/demo/reader", get(wallet_page))
        .route("/demo/reader/insert", post(insert))
        .route("/demo/reader/cards/{serial}", get(card_page))
        .route("/demo/reader/cards/{serial}/verify", post(verify))
}

/// A card serial as the card store names images: 16 hex digits.
fn valid_serial(serial: &str) -> bool {
    serial.len() == 16 && serial.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

/// The CSRF token of the page's forms: the session's, or the pre-session
/// cookie's (kept if the browser has one, so that several tabs work).
struct FormToken {
    token: String,
    set_cookie: bool,
}

fn form_token(headers: &axum::http::HeaderMap, staff: &Option<access::StaffPrincipal>) -> FormToken {
    if let Some(s) = staff {
        return FormToken {
            token: s.csrf_token.clone(),
            set_cookie: false,
        };
    }
    let existing = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| {
            *k == READER_CSRF_COOKIE
                && v.len() >= 16
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(|(_, v)| v.to_owned());
    FormToken {
        token: existing.unwrap_or_else(|| random_token(24)),
        set_cookie: true,
    }
}

/// The page, with the pre-session cookie when there is no session.
fn respond(markup: Markup, token: &FormToken, status: StatusCode) -> Response {
    let mut response = (status, html_response(markup)).into_response();
    if token.set_cookie {
        let cookie = format!(
            "{READER_CSRF_COOKIE}={}; Path={COOKIE_PATH}; HttpOnly; SameSite=Strict",
            token.token
        );
        if let Ok(v) = cookie.parse() {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

fn card_status_name(lang: Lang, status: CardStatus) -> (&'static str, &'static str) {
    match status {
        CardStatus::Produced => ("tag tag--blue", lang.t("交付前", "Not yet delivered")),
        CardStatus::Active => ("tag tag--green", lang.t("有効", "Active")),
        CardStatus::Suspended => ("tag tag--red", lang.t("一時停止中", "Suspended")),
        CardStatus::Lapsed => ("tag tag--grey", lang.t("失効", "Lapsed")),
        CardStatus::Expired => ("tag tag--grey", lang.t("有効期限切れ", "Expired")),
        CardStatus::Returned => ("tag tag--grey", lang.t("返納済み", "Returned")),
        CardStatus::Invalid => ("tag tag--grey", lang.t("廃止", "Invalidated")),
    }
}

fn card_status_tag(lang: Lang, status: Option<CardStatus>) -> Markup {
    match status {
        Some(s) => {
            let (class, text) = card_status_name(lang, s);
            html! { strong class=(class) { (text) } }
        }
        None => html! { strong.tag.tag--grey { (lang.t("登録なし", "Not in the registry")) } },
    }
}

fn pin_name(lang: Lang, pin: PinRef) -> &'static str {
    match pin {
        PinRef::Sign => lang.t("署名用電子証明書の暗証番号", "Signature certificate PIN"),
        PinRef::Auth => lang.t(
            "利用者証明用電子証明書の暗証番号",
            "User authentication certificate PIN",
        ),
        PinRef::Registry => lang.t("住民基本台帳用の暗証番号", "Resident registry PIN"),
        PinRef::InputSupport => lang.t("券面事項入力補助用の暗証番号", "Input support PIN"),
    }
}

// ------------------------------------------------------------ the wallet

/// A card of the wallet page: the registry's view of it.
struct WalletRow {
    serial: String,
    holder: String,
    birth_date: Option<NaiveDate>,
    status: Option<CardStatus>,
    expires_on: Option<NaiveDate>,
    scenario: Option<Scenario>,
    pins: Option<DemoPins>,
    face: bool,
}

/// The serials of every card image in the card store.
fn card_images(authority: &Authority) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(authority.cards().dir()) else {
        return Vec::new();
    };
    let mut serials: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".card"))
                .map(str::to_owned)
        })
        .filter(|s| valid_serial(s))
        .collect();
    serials.sort();
    serials
}

/// The wallet's cards first, then every other card image in the store
/// (delivered through the window during the demo), with the registry's
/// status and holder.
fn wallet_rows(authority: &Authority, wallet: &Wallet) -> Result<Vec<WalletRow>, AuthorityError> {
    let mut order: Vec<String> = wallet.cards.iter().map(|c| c.serial.clone()).collect();
    let seeded = order.len();
    for serial in card_images(authority) {
        if !order.contains(&serial) {
            order.push(serial);
        }
    }
    let lookups = authority.db().read(|tx| {
        let mut found = Vec::new();
        for serial in &order {
            let card = registry::get_card(tx, serial)?;
            let holder = match &card {
                Some(c) => registry::get_resident(tx, c.resident_id)?,
                None => None,
            };
            found.push((serial.clone(), card, holder));
        }
        Ok::<_, AuthorityError>(found)
    })?;
    let mut rows: Vec<WalletRow> = lookups
        .into_iter()
        .map(|(serial, card, holder)| {
            let entry = wallet.card(&serial);
            WalletRow {
                holder: holder
                    .as_ref()
                    .map(|h| h.resident.name.clone())
                    .or_else(|| entry.map(|e| e.holder.clone()))
                    .unwrap_or_default(),
                birth_date: holder.as_ref().map(|h| h.resident.birth_date),
                status: card.as_ref().map(|c| c.status),
                expires_on: card.as_ref().map(|c| c.expires_on),
                face: card.as_ref().is_some_and(|c| c.face_recognition),
                scenario: entry.map(|e| e.scenario),
                pins: entry.and_then(|e| e.pins.clone()),
                serial,
            }
        })
        .collect();
    // The cards made during the demo after the seeded ones, by holder.
    let seeded = seeded.min(rows.len());
    rows[seeded..].sort_by(|a, b| a.holder.cmp(&b.holder).then(a.serial.cmp(&b.serial)));
    Ok(rows)
}

fn pins_markup(lang: Lang, row: &WalletRow) -> Markup {
    match (&row.pins, row.face, row.scenario) {
        (_, true, _) => html! { (lang.t("なし（顔認証カード）", "None (face-recognition card)")) },
        (Some(p), false, Some(Scenario::AwaitingDelivery)) => html! {
            span.hint { (lang.t("交付時にPINパッドで設定する番号:", "To set on the PIN pad at delivery:")) }
            (pins_list(lang, p))
        },
        (Some(p), false, _) => pins_list(lang, p),
        (None, false, _) => html! {
            (lang.t("交付時に本人が設定（デモでは不明）", "Set by the holder at delivery (unknown to the demo)"))
        },
    }
}

fn pins_list(lang: Lang, p: &DemoPins) -> Markup {
    html! {
        ul {
            li { (lang.t("署名用: ", "Signature: ")) code { (p.sign) } }
            li { (lang.t("利用者証明用: ", "Authentication: ")) code { (p.auth) } }
            li { (lang.t("住民基本台帳用: ", "Resident registry: ")) code { (p.registry) } }
            li { (lang.t("券面事項入力補助用: ", "Input support: ")) code { (p.input_support) } }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct WalletQuery {
    error: Option<String>,
}

async fn wallet_page(
    _: DemoOnly,
    State(state): State<Arc<AppState>>,
    lang: Lang,
    MaybeStaff(staff): MaybeStaff,
    headers: axum::http::HeaderMap,
    Query(q): Query<WalletQuery>,
) -> Response {
    let token = form_token(&headers, &staff);
    let wallet = crate::demo::wallet(&state.settings.data_dir);
    let rows = match state.run(move |authority| wallet_rows(authority, &wallet)).await {
        Ok(rows) => rows,
        Err(problem) => return super::problem_page(&problem),
    };
    let ctx = PageContext::new(&state, lang, staff, "/demo/reader");
    let title = lang.t("仮想カードリーダー", "Virtual card reader");
    let banner = q.error.as_deref().map(|_| {
        Banner::Error(
            lang.t(
                "そのカードは見つかりません。一覧から選んでください。",
                "No such card; choose one from the list.",
            )
            .to_owned(),
        )
    });
    let body = html! {
        h1 { (title) }
        p.lead { (lang.t(
            "カードウォレットからカードを選んで「挿入する」を押すと、実際のカードリーダーと同じAPDUでカードと通信し、カードの状態と暗証番号の残り回数を表示します。残り回数を調べても回数は減りません。",
            "Choose a card from the wallet and press “Insert”: the reader talks to the card with the same APDUs as a real reader and shows the card's state and each PIN's tries left. Asking for the tries left uses none."
        )) }
        p { (lang.t(
            "デモの住民と暗証番号は架空のものです。ここに表示される暗証番号は、本人だけが知っているはずの番号です。",
            "The residents and PINs are fictional. The PINs shown here are those only the holder would know."
        )) }
        @if rows.is_empty() {
            p { (lang.t("カードはまだありません。", "There is no card yet.")) }
        } @else {
            table.table {
                caption { (lang.t("カードウォレット", "Card wallet")) }
                thead { tr {
                    th scope="col" { (lang.t("所有者", "Holder")) }
                    th scope="col" { (lang.t("カード", "Card")) }
                    th scope="col" { (lang.t("場面", "Situation")) }
                    th scope="col" { (lang.t("本人が知っている暗証番号", "PINs the holder knows")) }
                    th scope="col" { span.visually-hidden { (lang.t("操作", "Action")) } }
                } }
                tbody {
                    @for row in &rows {
                        tr {
                            th scope="row" {
                                (row.holder)
                                @if let Some(b) = row.birth_date { br; span.hint { (lang.t("生年月日 ", "Born ")) (lang.date(b)) } }
                            }
                            td {
                                code { (row.serial) } br;
                                (card_status_tag(lang, row.status))
                                @if row.face { " " strong.tag.tag--blue { (lang.t("顔認証", "Face recognition")) } }
                                @if let Some(e) = row.expires_on { br; span.hint { (lang.t("有効期限 ", "Expires ")) (lang.date(e)) } }
                            }
                            td {
                                @match row.scenario {
                                    Some(s) => { strong class=(scenario_tag(s)) { (s.label(lang)) } br; span.hint { (s.what_to_try(lang)) } }
                                    None => { (lang.t("デモ中に窓口で交付されたカード", "Delivered at the window during the demo")) }
                                }
                            }
                            td { (pins_markup(lang, row)) }
                            td {
                                form method="post" action="/demo/reader/insert" {
                                    (token_fields(&token.token))
                                    input type="hidden" name="serial" value=(row.serial);
                                    button.button type="submit" aria-label=(format!("{} {}", lang.t("挿入する", "Insert"), row.holder)) {
                                        (lang.t("挿入する", "Insert"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    respond(page(&ctx, title, banner, body), &token, StatusCode::OK)
}

#[derive(Debug, Deserialize)]
struct InsertForm {
    serial: String,
}

async fn insert(_: DemoOnly, State(state): State<Arc<AppState>>, ReaderForm(form): ReaderForm<InsertForm>) -> Response {
    let serial = form.serial.trim().to_ascii_uppercase();
    let exists = valid_serial(&serial) && state.authority.cards().path(&serial).exists();
    if !exists {
        return Redirect::to("/demo/reader?error=no_card").into_response();
    }
    Redirect::to(&format!("/demo/reader/cards/{serial}")).into_response()
}

// -------------------------------------------------------- the card inserted

/// A PIN's state as the card tells it.
#[derive(Debug, Clone)]
enum PinState {
    /// Tries left of the limit.
    Tries { remaining: u8, limit: u8 },
    /// The card did not answer the question.
    Failed(String),
}

/// A certificate read from the card.
#[derive(Debug, Clone)]
struct CertificateFacts {
    subject: String,
    issuer: String,
    serial_hex: String,
    last_valid_day: Option<NaiveDate>,
    /// The CA's record of it: its status now.
    ca_status: Option<CertStatus>,
}

/// What the reader got from the card.
#[derive(Debug, Clone)]
struct CardReading {
    /// The JPKI application answered with its token.
    jpki: Result<(), String>,
    pins: Vec<(PinRef, PinState)>,
    auth_certificate: Result<CertificateFacts, String>,
    sign_ca: Result<CertificateFacts, String>,
}

/// Inserts the card, reads it with the resident's client, removes it.
fn read_card(authority: &Authority, serial: &str) -> Result<CardReading, AuthorityError> {
    let card = authority.cards().open_card(serial)?;
    let mut reader = VirtualReader::new(serial, card);
    let mut client = JpkiClient::new(&mut reader);
    let jpki = client.check_card().map_err(|e| e.to_string());
    let pins = PinRef::ALL
        .into_iter()
        .map(|pin| {
            let state = match client.pin_status(pin) {
                Ok(s) => PinState::Tries {
                    remaining: s.remaining,
                    limit: s.limit,
                },
                Err(e) => PinState::Failed(e.to_string()),
            };
            (pin, state)
        })
        .collect();
    let facts = |der: Result<Vec<u8>, ClientError>| -> Result<CertificateFacts, String> {
        let der = der.map_err(|e| e.to_string())?;
        let mut facts = certificate_facts(&der).ok_or_else(|| "the certificate cannot be read".to_owned())?;
        if let Ok(serial) = Serial::from_hex(&facts.serial_hex) {
            facts.ca_status = authority
                .ca()
                .repository()
                .certificate(&serial)
                .ok()
                .flatten()
                .map(|r| r.status);
        }
        Ok(facts)
    };
    let auth_certificate = facts(client.read_certificate(JpkiKey::Auth, None));
    let sign_ca = facts(client.read_ca_certificate(JpkiKey::Sign));
    drop(reader.into_card());
    Ok(CardReading {
        jpki,
        pins,
        auth_certificate,
        sign_ca,
    })
}

/// The subject, issuer, serial and last valid day (Japan) of a DER certificate.
fn certificate_facts(der: &[u8]) -> Option<CertificateFacts> {
    let certificate = tlv::read(der, 0).filter(|t| t.tag == 0x30)?;
    let tbs = tlv::read(certificate.value, 0).filter(|t| t.tag == 0x30)?;
    let fields = tlv::read_all(tbs.value)?;
    let start = usize::from(fields.first()?.tag == 0xA0);
    let serial = fields.get(start).filter(|t| t.tag == 0x02)?;
    let issuer = fields.get(start + 2).filter(|t| t.tag == 0x30)?;
    let validity = fields.get(start + 3).filter(|t| t.tag == 0x30)?;
    let subject = fields.get(start + 4).filter(|t| t.tag == 0x30)?;
    let times = tlv::read_all(validity.value)?;
    let serial_hex = Serial::from_der_content(serial.value).ok()?.to_hex();
    Some(CertificateFacts {
        subject: name_text(subject.value),
        issuer: name_text(issuer.value),
        serial_hex,
        last_valid_day: times
            .get(1)
            .and_then(|t| der_time(t.tag, t.value))
            .map(mynacard_pki::time::jst_date),
        ca_status: None,
    })
}

/// A distinguished name as `C=JP, O=…, CN=…` (in encoded order).
fn name_text(rdns: &[u8]) -> String {
    let mut parts = Vec::new();
    for set in tlv::read_all(rdns).unwrap_or_default() {
        for attribute in tlv::read_all(set.value).unwrap_or_default() {
            let Some(items) = tlv::read_all(attribute.value) else {
                continue;
            };
            let (Some(oid), Some(value)) = (items.first(), items.get(1)) else {
                continue;
            };
            let key = match oid.value {
                [0x55, 0x04, 0x03] => "CN",
                [0x55, 0x04, 0x06] => "C",
                [0x55, 0x04, 0x07] => "L",
                [0x55, 0x04, 0x08] => "ST",
                [0x55, 0x04, 0x0A] => "O",
                [0x55, 0x04, 0x0B] => "OU",
                _ => "?",
            };
            let text = match value.tag {
                0x1E => String::from_utf16_lossy(
                    &value
                        .value
                        .chunks(2)
                        .map(|c| u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
                        .collect::<Vec<u16>>(),
                ),
                _ => String::from_utf8_lossy(value.value).into_owned(),
            };
            parts.push(format!("{key}={text}"));
        }
    }
    parts.join(", ")
}

/// A UTCTime or GeneralizedTime (`…Z`).
fn der_time(tag: u32, value: &[u8]) -> Option<chrono::DateTime<chrono::Utc>> {
    let text = std::str::from_utf8(value).ok()?.strip_suffix('Z')?;
    let full = match tag {
        0x17 => {
            let yy: u32 = text.get(..2)?.parse().ok()?;
            format!("{}{text}", if yy >= 50 { "19" } else { "20" })
        }
        0x18 => text.to_owned(),
        _ => return None,
    };
    chrono::NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S")
        .ok()
        .map(|t| t.and_utc())
}

#[derive(Debug, Default, Deserialize)]
struct CardQuery {
    pin: Option<String>,
    result: Option<String>,
    left: Option<u8>,
}

impl CardQuery {
    fn banner(&self, lang: Lang) -> Option<Banner> {
        let pin = PinRef::from_short(self.pin.as_deref()?)?;
        let name = pin_name(lang, pin);
        Some(match self.result.as_deref()? {
            "ok" => Banner::Success(match lang {
                Lang::Ja => format!("{name}は正しいです。残り回数は元に戻りました。"),
                Lang::En => format!("The {name} is right; its tries are restored."),
            }),
            "wrong" => Banner::Error(match lang {
                Lang::Ja => format!("{name}が違います。残り{}回です。", self.left.unwrap_or(0)),
                Lang::En => format!("Wrong {name}: {} tries left.", self.left.unwrap_or(0)),
            }),
            "locked" => Banner::Error(match lang {
                Lang::Ja => format!("{name}はロックされているか、このカードでは使えません。窓口で初期化できます。"),
                Lang::En => format!("The {name} is locked or unusable on this card; the window can reset it."),
            }),
            "not_set" => Banner::Info(match lang {
                Lang::Ja => format!("{name}はまだ設定されていません（交付前のカード）。"),
                Lang::En => format!("The {name} is not set yet (the card is not delivered)."),
            }),
            "format" => Banner::Error(
                lang.t(
                    "暗証番号の形式が違います（4桁の数字、署名用は英大文字と数字6〜16文字）。",
                    "That is not a PIN's format (4 digits; the signature PIN 6–16 of A–Z and 0–9).",
                )
                .to_owned(),
            ),
            _ => Banner::Error(
                lang.t("カードが応答しませんでした。", "The card did not answer.")
                    .to_owned(),
            ),
        })
    }
}

/// The registry's view of a card for the reader page.
struct CardRecord {
    holder: Option<String>,
    status: Option<CardStatus>,
    expires_on: Option<NaiveDate>,
    face: bool,
}

fn card_record(authority: &Authority, serial: &str) -> Result<CardRecord, AuthorityError> {
    authority.db().read(|tx| {
        let card = registry::get_card(tx, serial)?;
        let holder = match &card {
            Some(c) => registry::get_resident(tx, c.resident_id)?.map(|r| r.resident.name),
            None => None,
        };
        Ok::<_, AuthorityError>(CardRecord {
            holder,
            status: card.as_ref().map(|c| c.status),
            expires_on: card.as_ref().map(|c| c.expires_on),
            face: card.as_ref().is_some_and(|c| c.face_recognition),
        })
    })
}

fn tries_markup(lang: Lang, state: &PinState, face: bool, delivered: bool) -> Markup {
    match state {
        PinState::Tries { remaining, limit } => {
            let (class, text) = match (*remaining, face) {
                (_, false) if !delivered => ("tag tag--grey", lang.t("未設定（交付前）", "Not set (not delivered)")),
                (0, true) => (
                    "tag tag--grey",
                    lang.t("顔認証カードのため使用不可", "Unusable on a face-recognition card"),
                ),
                (0, false) => ("tag tag--red", lang.t("ロック中", "Locked")),
                (r, _) if r < *limit => ("tag tag--yellow", lang.t("誤りあり", "Wrong tries made")),
                _ => ("tag tag--green", lang.t("使用可能", "Usable")),
            };
            html! {
                span.count { (remaining) } " / " (limit) " "
                strong class=(class) { (text) }
            }
        }
        PinState::Failed(e) => html! { strong.tag.tag--grey { (lang.t("読み取れません", "Cannot be read")) } " " (e) },
    }
}

fn certificate_markup(lang: Lang, facts: &Result<CertificateFacts, String>, today: NaiveDate) -> Markup {
    match facts {
        Err(e) => html! { p { (lang.t("読み取れません: ", "Cannot be read: ")) (e) } },
        Ok(c) => {
            let (class, text) = match (&c.ca_status, c.last_valid_day) {
                (_, Some(d)) if d < today => ("tag tag--grey", lang.t("有効期限切れ", "Expired")),
                (Some(CertStatus::Good), _) => ("tag tag--green", lang.t("有効", "Valid")),
                (
                    Some(CertStatus::Revoked {
                        reason: CrlReason::CertificateHold,
                        ..
                    }),
                    _,
                ) => ("tag tag--yellow", lang.t("一時停止中", "On hold")),
                (Some(CertStatus::Revoked { .. }), _) => ("tag tag--red", lang.t("失効", "Revoked")),
                (None, _) => ("tag tag--grey", lang.t("CAの記録なし", "Unknown to the CA")),
            };
            html! {
                dl.summary {
                    dt { (lang.t("主体者", "Subject")) } dd { code { (c.subject) } }
                    dt { (lang.t("発行者", "Issuer")) } dd { code { (c.issuer) } }
                    dt { (lang.t("シリアル番号", "Serial")) } dd { code { (c.serial_hex) } }
                    dt { (lang.t("有効期限", "Valid until")) } dd { (c.last_valid_day.map(|d| lang.date(d)).unwrap_or_default()) }
                    dt { (lang.t("CAでの状態", "Status at the CA")) } dd { strong class=(class) { (text) } }
                }
            }
        }
    }
}

async fn card_page(
    _: DemoOnly,
    State(state): State<Arc<AppState>>,
    lang: Lang,
    MaybeStaff(staff): MaybeStaff,
    headers: axum::http::HeaderMap,
    Path(serial): Path<String>,
    Query(q): Query<CardQuery>,
) -> Response {
    if !valid_serial(&serial) || !state.authority.cards().path(&serial).exists() {
        return super::problem_page(&Problem::not_found(format!("no card {serial} in the card store")));
    }
    let token = form_token(&headers, &staff);
    let path = format!("/demo/reader/cards/{serial}");
    let s = serial.clone();
    let read = state
        .run(move |authority| {
            let record = card_record(authority, &s)?;
            let reading = read_card(authority, &s);
            Ok((record, reading))
        })
        .await;
    let (record, reading) = match read {
        Ok(r) => r,
        Err(problem) => return super::problem_page(&problem),
    };
    let wallet = crate::demo::wallet(&state.settings.data_dir);
    let entry = wallet.card(&serial);
    let today = state.clock.today();
    let ctx = PageContext::new(&state, lang, staff, &path);
    let holder = record
        .holder
        .clone()
        .or_else(|| entry.map(|e| e.holder.clone()))
        .unwrap_or_default();
    let title = lang.t("挿入中のカード", "Card in the reader");
    let mut banner = q.banner(lang);
    let body = match &reading {
        Err(e) => {
            banner = Some(Banner::Error(match lang {
                Lang::Ja => format!("カードを読み取れませんでした（別の処理で使用中の可能性があります）: {e}"),
                Lang::En => format!("The card could not be read (it may be in use elsewhere): {e}"),
            }));
            html! {
                p.caption { (lang.t("仮想カードリーダー", "Virtual card reader")) }
                h1 { (title) }
                p { a href=(path) { (lang.t("もう一度読み取る", "Read it again")) } " · " a href="/demo/reader" { (lang.t("カードを取り出す", "Remove the card")) } }
            }
        }
        Ok(r) => html! {
            p.caption { (lang.t("仮想カードリーダー", "Virtual card reader")) }
            h1 { (title) ": " (holder) }
            dl.summary {
                dt { (lang.t("カード番号", "Card serial")) } dd { code { (serial) } }
                dt { (lang.t("登録上の状態", "Status in the registry")) } dd {
                    (card_status_tag(lang, record.status))
                    @if record.face { " " strong.tag.tag--blue { (lang.t("顔認証マイナンバーカード", "Face-recognition card")) } }
                }
                dt { (lang.t("有効期限", "Expires")) } dd { (record.expires_on.map(|d| lang.date(d)).unwrap_or_default()) }
                dt { (lang.t("公的個人認証AP", "JPKI application")) } dd {
                    @match &r.jpki {
                        Ok(()) => { strong.tag.tag--green { (lang.t("応答あり", "Answers")) } " " code { "JPKIAPICCTOKEN" } }
                        Err(e) => { strong.tag.tag--red { (lang.t("応答なし", "No answer")) } " " (e) }
                    }
                }
                @if let Some(e) = entry {
                    dt { (lang.t("場面", "Situation")) } dd { strong class=(scenario_tag(e.scenario)) { (e.scenario.label(lang)) } }
                }
            }
            table.table {
                caption { (lang.t("暗証番号の残り回数", "PIN tries left")) }
                thead { tr {
                    th scope="col" { (lang.t("暗証番号", "PIN")) }
                    th scope="col" { (lang.t("残り回数 / 上限", "Tries left / limit")) }
                } }
                tbody {
                    @for (pin, pin_state) in &r.pins {
                        tr id=(format!("pin-{}", pin.short())) {
                            th scope="row" { (pin_name(lang, *pin)) }
                            td { (tries_markup(lang, pin_state, record.face, record.status != Some(CardStatus::Produced))) }
                        }
                    }
                }
            }
            @if record.status == Some(CardStatus::Produced) {
                p { (lang.t("交付前のカードです。暗証番号は交付時に本人が設定します。", "The card is not delivered yet: the holder sets the PINs at delivery.")) }
            }
            h2 { (lang.t("利用者証明用電子証明書", "User authentication certificate")) }
            p.hint { (lang.t("暗証番号なしで読み取れます。", "Read without a PIN.")) }
            (certificate_markup(lang, &r.auth_certificate, today))
            h2 { (lang.t("署名用電子証明書", "Signature certificate")) }
            @if record.face {
                p { (lang.t(
                    "顔認証マイナンバーカードには署名用電子証明書がありません。",
                    "A face-recognition card carries no signature certificate."
                )) }
            } @else {
                p { (lang.t(
                    "署名用電子証明書の読み出しには署名用の暗証番号が必要なため、ここでは発行者（署名用認証局）の証明書だけを表示します。",
                    "Reading the signature certificate needs the signature PIN; here only its issuer's (the signature CA's) certificate is shown."
                )) }
                (certificate_markup(lang, &r.sign_ca, today))
            }
            @if record.face {
                h2 { (lang.t("暗証番号の照合", "Verifying a PIN")) }
                p { (lang.t(
                    "顔認証マイナンバーカードでは暗証番号を使えません（本人確認は顔認証で行います）。",
                    "No PIN can be used on a face-recognition card (the holder is identified by the face)."
                )) }
            } @else {
            h2 #verify-title { (lang.t("暗証番号を照合する", "Verify a PIN")) }
            p { strong { (lang.t("間違えると残り回数が1回減ります。", "A wrong PIN uses one try.")) } " "
                (lang.t("正しければ残り回数は上限に戻ります。", "A right one restores the tries.")) }
            form method="post" action=(format!("{path}/verify")) aria-labelledby="verify-title" {
                (token_fields(&token.token))
                fieldset {
                    legend { (lang.t("照合する暗証番号", "Which PIN")) }
                    div.radios {
                        @for (i, pin) in PinRef::ALL.into_iter().enumerate() {
                            div.choice {
                                input type="radio" name="pin" id=(format!("verify-{}", pin.short())) value=(pin.short()) checked[i == 1];
                                label for=(format!("verify-{}", pin.short())) { (pin_name(lang, pin)) }
                            }
                        }
                    }
                }
                div.field {
                    label.label for="pin-value" { (lang.t("暗証番号", "PIN")) }
                    input.input.input--pin #pin-value name="value" type="password" autocomplete="off" required maxlength="16";
                }
                button.button.button--warning type="submit" { (lang.t("照合する", "Verify")) }
            }
            }
            p { a.button.button--secondary href="/demo/reader" { (lang.t("カードを取り出す", "Remove the card")) } }
        },
    };
    respond(page(&ctx, title, banner, body), &token, StatusCode::OK)
}

#[derive(Debug, Deserialize)]
struct VerifyForm {
    pin: String,
    value: String,
}

async fn verify(
    _: DemoOnly,
    State(state): State<Arc<AppState>>,
    Path(serial): Path<String>,
    ReaderForm(form): ReaderForm<VerifyForm>,
) -> Response {
    if !valid_serial(&serial) || !state.authority.cards().path(&serial).exists() {
        return super::problem_page(&Problem::not_found(format!("no card {serial} in the card store")));
    }
    let Some(pin) = PinRef::from_short(&form.pin) else {
        return super::problem_page(&Problem::bad_request("pin: sign, auth, registry or input"));
    };
    let back = format!("/demo/reader/cards/{serial}?pin={}", pin.short());
    // The signature PIN is upper case on the card; the holder may type it either way.
    let typed = form.value.trim();
    let value = zeroize::Zeroizing::new(if pin == PinRef::Sign {
        typed.to_ascii_uppercase()
    } else {
        typed.to_owned()
    });
    if pin.kind().check_format(&value).is_err() {
        return Redirect::to(&format!("{back}&result=format")).into_response();
    }
    let s = serial.clone();
    let outcome = state
        .run(move |authority| {
            let card = authority.cards().open_card(&s)?;
            let mut reader = VirtualReader::new(s.as_str(), card);
            let result = JpkiClient::new(&mut reader).verify(pin, &value);
            drop(reader.into_card());
            Ok(result)
        })
        .await;
    let result = match outcome {
        Ok(Ok(())) => "result=ok".to_owned(),
        Ok(Err(ClientError::WrongPin { remaining })) => format!("result=wrong&left={remaining}"),
        Ok(Err(ClientError::Locked)) => "result=locked".to_owned(),
        Ok(Err(ClientError::NotSet)) => "result=not_set".to_owned(),
        Ok(Err(ClientError::Refused { sw, .. })) if sw == Sw::REFERENCE_DATA_UNUSABLE => "result=not_set".to_owned(),
        Ok(Err(e)) => {
            tracing::warn!(card = %serial, error = %e, "demo reader: VERIFY failed");
            "result=error".to_owned()
        }
        Err(problem) => {
            tracing::warn!(card = %serial, detail = ?problem.detail, "demo reader: the card could not be opened");
            "result=error".to_owned()
        }
    };
    tracing::info!(card = %serial, pin = pin.short(), "demo reader: VERIFY");
    Redirect::to(&format!("{back}&{result}")).into_response()
}
