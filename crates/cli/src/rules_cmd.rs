//! `mynacard rules …`: the rules engine as a window clerk's calculator.
//!
//! Each subcommand turns its flags into the engine's domain types at the
//! edge (dates through `parse_date`, so a bad date says what is wrong), asks
//! one engine function, and emits one answer. The engine has no clock: where
//! a day is optional, this is the place that reads it (today in Japan, UTC+9).

use std::io::{self, BufRead};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Utc};
use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use serde::Serialize;

use mynacard_rules::card::{card_validity, AgeRegime, CardIssuance, ExpiryBasis, Residence};
use mynacard_rules::certificate::{certificate_validity, CertificateIssuance, SignCertRefusal};
use mynacard_rules::date::parse_date;
use mynacard_rules::face_card::{face_card_use, CardUse, FaceCardRefusal};
use mynacard_rules::fee::{fee, FeeCase, FeeCause, FeeReason};
use mynacard_rules::kiosk::{closes_at, kiosk_service_status, opens_at, KioskClosure, MaintenanceWindow};
use mynacard_rules::lapse::{assess_lapse, CardEvent, CardFacts, LapseReason, RemovalCause};
use mynacard_rules::numbers::{MunicipalityCode, MyNumber, NumberError};
use mynacard_rules::one_stop::{
    filing_window, one_stop_refusals, visit_deadline, OneStopFiling, OneStopRefusal, MIN_AGE_AT_CARD_ISSUANCE,
};
use mynacard_rules::pin::{PinFormatError, PinKind};
use mynacard_rules::policy::POLICY_NAMES;
use mynacard_rules::renewal::{notice_date, renewal_window};
use mynacard_rules::smartphone::{platforms_on, Platform};
use mynacard_rules::{LawChange, Policies, RuleError};

use crate::output::{emit, line, yen, Answer, Failure, InputError, Line, Phrase};
use crate::vocab::{self, label, yes_no, Bilingual};

const AFTER_HELP: &str = "\
Output: bilingual text, one fact a line (`日本語 / English: value`), or with --json
a single JSON object: dates as \"YYYY-MM-DD\", reasons as snake_case codes.

Errors: exactly one line on stderr, `mynacard: what is wrong`. With --json an
error object {\"error\":{\"code\":…,\"message\":…}} is also printed on stdout.

Exit status: 0 answered (an invalid My Number, municipality code or PIN is an
answer: valid=false); 2 bad input (usage, a date or number that does not
parse, an unknown policy); 1 facts that the rules refuse (a move-in before
the move-out, an application received after issuance, …).

--today and --at default to now in Japan (UTC+9); so does --on for smartphone
and face-card (for renewal and timeline, --on only adds to the answer).";

/// `mynacard rules`: global options and the subcommand.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct RulesArgs {
    /// Print one JSON object instead of bilingual text
    #[arg(long, global = true)]
    pub json: bool,
    /// Set a policy of rules.md, NAME=VALUE (repeatable; list: `mynacard rules policies`)
    #[arg(long = "policy", value_name = "NAME=VALUE", global = true, value_parser = policy_assignment)]
    pub policies: Vec<String>,
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Card expiry (有効期限), renewal window and notice date (rules.md §2, §5)
    CardExpiry(CardExpiryArgs),
    /// Expiry of the signature and user-authentication certificates (§3)
    CertExpiry(CertExpiryArgs),
    /// Renewal window and renewal notice for an expiry date (§5)
    Renewal(RenewalArgs),
    /// Whether and when the card lapses (失効), and the deadlines still running (§7)
    Lapse(LapseArgs),
    /// The fee (手数料) for issuing or reissuing a card (§10)
    Fee(FeeArgs),
    /// Check a My Number (個人番号), or complete an 11-digit base (§15)
    MyNumber(MyNumberArgs),
    /// Check a municipality code (地方公共団体コード), or complete a 5-digit base (§16)
    MunicipalityCode(MunicipalityCodeArgs),
    /// Check the format of a PIN (暗証番号) without ever showing it (§4)
    Pin(PinArgs),
    /// Whether the moving one-stop service accepts a filing (§14)
    OneStop(OneStopArgs),
    /// Whether convenience-store issuance is in service at a given time (§13)
    Kiosk(KioskArgs),
    /// Platforms that get smartphone certificates on a day (§12)
    Smartphone(SmartphoneArgs),
    /// Whether a face-recognition card may be used so (§11)
    FaceCard(FaceCardArgs),
    /// Changes of the law and the service, with their effective dates
    Timeline(TimelineArgs),
    /// The policies of rules.md: names, values in effect, defaults
    Policies,
}

/// Runs `mynacard rules …` and gives the exit status.
pub fn run(args: RulesArgs) -> std::process::ExitCode {
    let json = args.json;
    match dispatch(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => failure.report(json),
    }
}

fn dispatch(args: RulesArgs) -> Result<(), Failure> {
    let json = args.json;
    let policies = policies(&args.policies)?;
    match args.command {
        RulesCommand::CardExpiry(a) => emit(&card_expiry(&a, &policies)?, json),
        RulesCommand::CertExpiry(a) => emit(&cert_expiry(&a, &policies)?, json),
        RulesCommand::Renewal(a) => emit(&renewal(&a, &policies), json),
        RulesCommand::Lapse(a) => emit(&lapse(&a)?, json),
        RulesCommand::Fee(a) => emit(&fee_answer(&a, &policies)?, json),
        RulesCommand::MyNumber(a) => emit(&my_number(&a), json),
        RulesCommand::MunicipalityCode(a) => emit(&municipality_code(&a), json),
        RulesCommand::Pin(a) => emit(&pin(&a)?, json),
        RulesCommand::OneStop(a) => emit(&one_stop(&a), json),
        RulesCommand::Kiosk(a) => emit(&kiosk(&a), json),
        RulesCommand::Smartphone(a) => emit(&smartphone(&a), json),
        RulesCommand::FaceCard(a) => emit(&face_card(&a), json),
        RulesCommand::Timeline(a) => emit(&timeline(&a), json),
        RulesCommand::Policies => emit(&policy_list(&policies), json),
    }
}

// ---------------------------------------------------------------------------
// Parsing at the edge

fn date(text: &str) -> Result<NaiveDate, RuleError> {
    parse_date(text)
}

fn policy_assignment(text: &str) -> Result<String, RuleError> {
    Policies::default().set(text)?;
    Ok(text.to_owned())
}

fn my_number_base(text: &str) -> Result<MyNumber, RuleError> {
    Ok(MyNumber::complete(text)?)
}

fn municipality_base(text: &str) -> Result<MunicipalityCode, RuleError> {
    Ok(MunicipalityCode::complete(text)?)
}

/// A time in Japan written `YYYY-MM-DDTHH:MM` (a space instead of `T`, and
/// seconds, are accepted too).
fn japan_time(text: &str) -> Result<NaiveDateTime, InputError> {
    let bad = |code: &'static str, why: &str| InputError {
        code,
        message: why.to_owned(),
    };
    let shape = "not a time: expected YYYY-MM-DDTHH:MM";
    let (Some(day), Some(sep), Some(time)) = (text.get(..10), text.get(10..11), text.get(11..)) else {
        return Err(bad("bad_time", shape));
    };
    if sep != "T" && sep != " " {
        return Err(bad("bad_time", shape));
    }
    let day = parse_date(day).map_err(|e| match e {
        RuleError::BadDate { why, .. } => bad("bad_date", &format!("not a date: {why}")),
        other => bad(other.code(), &other.to_string()),
    })?;
    let time = NaiveTime::parse_from_str(time, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M:%S"))
        .map_err(|_| bad("bad_time", "not a time: expected HH:MM, 00:00 to 23:59"))?;
    Ok(day.and_time(time))
}

/// An announced maintenance window written `FROM/UNTIL`, both times in
/// Japan as [`japan_time`] reads them; UNTIL (excluded) after FROM.
fn maintenance_window(text: &str) -> Result<MaintenanceWindow, InputError> {
    let Some((from, until)) = text.split_once('/') else {
        return Err(InputError {
            code: "bad_maintenance",
            message: "not a maintenance window: expected FROM/UNTIL, each YYYY-MM-DDTHH:MM".to_owned(),
        });
    };
    let part = |name: &str, text: &str| {
        japan_time(text).map_err(|e| InputError {
            code: e.code,
            message: format!("{name} {text}: {}", e.message),
        })
    };
    let window = MaintenanceWindow {
        from: part("FROM", from)?,
        until: part("UNTIL", until)?,
    };
    if window.until <= window.from {
        return Err(InputError {
            code: "bad_maintenance",
            message: "UNTIL must be after FROM".to_owned(),
        });
    }
    Ok(window)
}

fn policies(assignments: &[String]) -> Result<Policies, Failure> {
    let mut policies = Policies::default();
    for assignment in assignments {
        policies
            .set(assignment)
            .map_err(|e| Failure::rule(&e).context(&format!("--policy {assignment}")))?;
    }
    Ok(policies)
}

/// Now in Japan (UTC+9, no daylight saving time).
pub fn now_in_japan() -> NaiveDateTime {
    mynacard_pki::time::jst_datetime(Utc::now())
}

/// Today's civil date in Japan.
pub fn today_in_japan() -> NaiveDate {
    now_in_japan().date()
}

// ---------------------------------------------------------------------------
// card-expiry

#[derive(Debug, Args)]
pub struct CardExpiryArgs {
    /// Date of birth
    #[arg(long, value_name = "DATE", value_parser = date)]
    born: NaiveDate,
    /// Issuance date (発行日): the day J-LIS produced the card
    #[arg(long, value_name = "DATE", value_parser = date)]
    issued: NaiveDate,
    /// The day J-LIS received the application (default: the issuance date); chooses the 18/20 regime
    #[arg(long, value_name = "DATE", value_parser = date)]
    application_received: Option<NaiveDate>,
    /// A foreign resident's end of the period of stay (在留期間満了日)
    #[arg(long, value_name = "DATE", value_parser = date)]
    stay_until: Option<NaiveDate>,
    /// A foreign resident without a bounding period of stay (永住者, 特別永住者, 高度専門職2号)
    #[arg(long)]
    permanent_resident: bool,
}

#[derive(Debug, Serialize)]
struct CardExpiryAnswer {
    card_expiry: NaiveDate,
    basis: ExpiryBasis,
    regime: AgeRegime,
    age_at_issuance: u32,
    age_at_test: u32,
    renewal_window_start: NaiveDate,
    notice_date: Option<NaiveDate>,
    residence: Residence,
}

impl Answer for CardExpiryAnswer {
    fn lines(&self) -> Vec<Line> {
        let mut lines = vec![
            line(label::CARD_EXPIRY, self.card_expiry),
            line(label::BASIS, self.basis.phrase()),
            line(label::REGIME, self.regime.phrase()),
            line(label::AGE_AT_ISSUANCE, self.age_at_issuance),
        ];
        if self.age_at_test != self.age_at_issuance {
            lines.push(line(label::AGE_AT_TEST, self.age_at_test));
        }
        lines.push(line(label::RENEWAL_WINDOW_START, self.renewal_window_start));
        lines.push(match self.notice_date {
            Some(day) => line(label::NOTICE_DATE, day),
            None => line(label::NOTICE_DATE, vocab::NO_NOTICE),
        });
        lines
    }
}

fn card_expiry(a: &CardExpiryArgs, policies: &Policies) -> Result<CardExpiryAnswer, Failure> {
    let residence = match (a.stay_until, a.permanent_resident) {
        (Some(_), true) => {
            return Err(
                Failure::rule(&RuleError::PermanentResidentWithStay).context("--stay-until with --permanent-resident")
            )
        }
        (Some(stay_until), false) => Residence::ForeignWithStay { stay_until },
        (None, true) => Residence::ForeignPermanent,
        (None, false) => Residence::Japanese,
    };
    let facts = CardIssuance {
        born: a.born,
        issued: a.issued,
        application_received: a.application_received,
        residence,
    };
    let v = card_validity(&facts, policies).map_err(|e| Failure::rule(&e))?;
    Ok(CardExpiryAnswer {
        card_expiry: v.expiry,
        basis: v.basis,
        regime: v.regime,
        age_at_issuance: v.age_at_issuance,
        age_at_test: v.age_at_test,
        renewal_window_start: v.renewal_window.opens,
        notice_date: v.notice_date,
        residence,
    })
}

// ---------------------------------------------------------------------------
// cert-expiry

#[derive(Debug, Args)]
pub struct CertExpiryArgs {
    /// Date of birth
    #[arg(long, value_name = "DATE", value_parser = date)]
    born: NaiveDate,
    /// The day the certificates are issued
    #[arg(long, value_name = "DATE", value_parser = date)]
    issued: NaiveDate,
    /// The card's expiry (有効期限)
    #[arg(long, value_name = "DATE", value_parser = date)]
    card_expiry: NaiveDate,
    /// Expiry of the auth certificate the holder keeps, when only a signature certificate is issued
    #[arg(long, value_name = "DATE", value_parser = date)]
    auth_expiry: Option<NaiveDate>,
    /// Expiry of the certificate being replaced (renewal in its window runs to the 6th birthday)
    #[arg(long, value_name = "DATE", value_parser = date)]
    previous_expiry: Option<NaiveDate>,
    /// The holder is an adult ward (成年被後見人)
    #[arg(long)]
    adult_ward: bool,
}

#[derive(Debug, Serialize)]
struct CertExpiryAnswer {
    sign_cert_expiry: Option<NaiveDate>,
    sign_cert_refusal: Option<SignCertRefusal>,
    auth_cert_expiry: NaiveDate,
    auth_cert_kept: bool,
    renewal_bonus: bool,
    age_at_issuance: u32,
    sign_cert_min_age: u32,
}

impl Answer for CertExpiryAnswer {
    fn lines(&self) -> Vec<Line> {
        let mut lines = Vec::new();
        match (self.sign_cert_expiry, self.sign_cert_refusal) {
            (Some(day), _) => lines.push(line(label::SIGN_CERT_EXPIRY, day)),
            (None, refusal) => {
                lines.push(line(label::SIGN_CERT_EXPIRY, vocab::NOT_ISSUED));
                let why = match refusal {
                    Some(SignCertRefusal::UnderMinimumAge) => {
                        format!("{n}歳未満 / under {n}", n = self.sign_cert_min_age)
                    }
                    Some(other) => other.phrase().to_string(),
                    None => vocab::NONE.to_string(),
                };
                lines.push(line(label::REASON, why));
            }
        }
        lines.push(line(label::AUTH_CERT_EXPIRY, self.auth_cert_expiry));
        lines.push(line(label::RENEWAL_BONUS, yes_no(self.renewal_bonus)));
        lines.push(line(label::AGE_AT_ISSUANCE, self.age_at_issuance));
        lines
    }
}

fn cert_expiry(a: &CertExpiryArgs, policies: &Policies) -> Result<CertExpiryAnswer, Failure> {
    let facts = CertificateIssuance {
        born: a.born,
        issued: a.issued,
        card_expiry: a.card_expiry,
        existing_auth_expiry: a.auth_expiry,
        previous_expiry: a.previous_expiry,
        adult_ward: a.adult_ward,
    };
    let v = certificate_validity(&facts, policies).map_err(|e| {
        let failure = Failure::rule(&e);
        match e {
            RuleError::AuthOutlivesCard { .. } => failure.context("--auth-expiry"),
            _ => failure,
        }
    })?;
    Ok(CertExpiryAnswer {
        sign_cert_expiry: v.sign_expiry,
        sign_cert_refusal: v.sign_refusal,
        auth_cert_expiry: v.auth_expiry,
        auth_cert_kept: a.auth_expiry.is_some(),
        renewal_bonus: v.renewal_bonus,
        age_at_issuance: v.age_at_issuance,
        sign_cert_min_age: policies.sign_cert_min_age,
    })
}

// ---------------------------------------------------------------------------
// renewal

#[derive(Debug, Args)]
pub struct RenewalArgs {
    /// The expiry of the card or certificate
    #[arg(long, value_name = "DATE", value_parser = date)]
    expiry: NaiveDate,
    /// Also say whether this day is inside the renewal window
    #[arg(long, value_name = "DATE", value_parser = date)]
    on: Option<NaiveDate>,
}

#[derive(Debug, Serialize)]
struct RenewalAnswer {
    expiry: NaiveDate,
    renewal_window_start: NaiveDate,
    renewal_window_end: NaiveDate,
    notice_date: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_window: Option<bool>,
}

impl Answer for RenewalAnswer {
    fn lines(&self) -> Vec<Line> {
        let mut lines = vec![
            line(label::EXPIRY, self.expiry),
            line(label::RENEWAL_WINDOW_START, self.renewal_window_start),
            line(label::RENEWAL_WINDOW_END, self.renewal_window_end),
            line(label::NOTICE_DATE, self.notice_date),
        ];
        if let (Some(on), Some(inside)) = (self.on, self.in_window) {
            lines.push(line(label::IN_RENEWAL_WINDOW, format!("{} ({on})", yes_no(inside))));
        }
        lines
    }
}

fn renewal(a: &RenewalArgs, policies: &Policies) -> RenewalAnswer {
    let window = renewal_window(a.expiry, policies);
    RenewalAnswer {
        expiry: a.expiry,
        renewal_window_start: window.opens,
        renewal_window_end: window.closes,
        notice_date: notice_date(a.expiry, policies),
        on: a.on,
        in_window: a.on.map(|on| window.contains(on)),
    }
}

// ---------------------------------------------------------------------------
// lapse

#[derive(Debug, Args)]
pub struct LapseArgs {
    /// The card's expiry (有効期限)
    #[arg(long, value_name = "DATE", value_parser = date)]
    card_expiry: NaiveDate,
    /// Move-out notification (転出届) filed on this day; with --planned-move-out
    #[arg(long, value_name = "DATE", value_parser = date, requires = "planned_move_out")]
    move_out_notified: Option<NaiveDate>,
    /// The planned move-out date (転出予定日); with --move-out-notified
    #[arg(long, value_name = "DATE", value_parser = date, requires = "move_out_notified")]
    planned_move_out: Option<NaiveDate>,
    /// The day the holder actually moved in; with --move-in-notified
    #[arg(long, value_name = "DATE", value_parser = date, requires = "move_in_notified")]
    moved_in: Option<NaiveDate>,
    /// Move-in notification (転入届) filed on this day; with --moved-in
    #[arg(long, value_name = "DATE", value_parser = date, requires = "moved_in")]
    move_in_notified: Option<NaiveDate>,
    /// The card was updated at the window (継続利用) on this day
    #[arg(long, value_name = "DATE", value_parser = date)]
    card_updated: Option<NaiveDate>,
    /// A second move-out notified on this day; with --second-planned-move-out
    #[arg(long, value_name = "DATE", value_parser = date, requires = "second_planned_move_out")]
    second_move_out_notified: Option<NaiveDate>,
    /// The second move's planned move-out date; with --second-move-out-notified
    #[arg(long, value_name = "DATE", value_parser = date, requires = "second_move_out_notified")]
    second_planned_move_out: Option<NaiveDate>,
    /// The holder died (死亡) on this day: the record is removed
    #[arg(long, value_name = "DATE", value_parser = date)]
    died: Option<NaiveDate>,
    /// The resident record was removed ex officio (職権消除) on this day
    #[arg(long, value_name = "DATE", value_parser = date)]
    record_removed: Option<NaiveDate>,
    /// Departed abroad (国外転出) on this day
    #[arg(long, value_name = "DATE", value_parser = date)]
    departed_abroad: Option<NaiveDate>,
    /// With --departed-abroad: the continued-use procedure (国外継続利用) was done
    #[arg(long, requires = "departed_abroad")]
    continued_use_abroad: bool,
    /// The holder is a foreign national (外国人住民)
    #[arg(long)]
    foreign_national: bool,
    /// The card's expiry is the end of the period of stay (implies --foreign-national)
    #[arg(long)]
    bounded_by_stay: bool,
    /// Validity change (有効期間変更) made on this day; with --new-expiry
    #[arg(long, value_name = "DATE", value_parser = date, requires = "new_expiry")]
    validity_changed: Option<NaiveDate>,
    /// The card's new expiry after the validity change; with --validity-changed
    #[arg(long, value_name = "DATE", value_parser = date, requires = "validity_changed")]
    new_expiry: Option<NaiveDate>,
    /// The card was returned (返納) on this day
    #[arg(long, value_name = "DATE", value_parser = date)]
    returned: Option<NaiveDate>,
    /// The day of the assessment (default: today in Japan)
    #[arg(long, value_name = "DATE", value_parser = date)]
    today: Option<NaiveDate>,
}

#[derive(Debug, Serialize)]
struct DeadlineOut {
    last_day: NaiveDate,
    reason: LapseReason,
    step: &'static str,
}

#[derive(Debug, Serialize)]
struct LapseAnswer {
    today: NaiveDate,
    card_expiry: NaiveDate,
    lapse_date: NaiveDate,
    reason: LapseReason,
    lapsed: bool,
    deadlines: Vec<DeadlineOut>,
}

impl Answer for LapseAnswer {
    fn lines(&self) -> Vec<Line> {
        let date_label = if self.lapsed {
            label::LAPSED_ON
        } else {
            label::LAPSES_ON
        };
        let mut lines = vec![
            line(label::AS_OF, self.today),
            line(label::LAPSED, yes_no(self.lapsed)),
            line(date_label, self.lapse_date),
            line(label::LAPSE_REASON, self.reason.phrase()),
        ];
        for d in &self.deadlines {
            let (_, step) = vocab::deadline_step(d.reason);
            lines.push(line(label::DEADLINE, format!("{} — {step}", d.last_day)));
        }
        lines
    }
}

fn lapse(a: &LapseArgs) -> Result<LapseAnswer, Failure> {
    let mut events = Vec::new();
    if let (Some(notified), Some(planned)) = (a.move_out_notified, a.planned_move_out) {
        events.push(CardEvent::MoveOut { notified, planned });
    }
    if let (Some(moved_in), Some(notified)) = (a.moved_in, a.move_in_notified) {
        events.push(CardEvent::MoveIn { moved_in, notified });
    }
    if let Some(on) = a.card_updated {
        events.push(CardEvent::CardUpdated { on });
    }
    if let (Some(notified), Some(planned)) = (a.second_move_out_notified, a.second_planned_move_out) {
        events.push(CardEvent::MoveOut { notified, planned });
    }
    if let Some(on) = a.died {
        events.push(CardEvent::RecordRemoved {
            on,
            cause: RemovalCause::Death,
        });
    }
    if let Some(on) = a.record_removed {
        events.push(CardEvent::RecordRemoved {
            on,
            cause: RemovalCause::ExOfficio,
        });
    }
    if let Some(departed) = a.departed_abroad {
        events.push(CardEvent::DepartedAbroad {
            departed,
            continued_use: a.continued_use_abroad,
        });
    }
    if let (Some(on), Some(new_expiry)) = (a.validity_changed, a.new_expiry) {
        events.push(CardEvent::ValidityChanged { on, new_expiry });
    }
    if let Some(on) = a.returned {
        events.push(CardEvent::Returned { on });
    }
    let card = CardFacts {
        expiry: a.card_expiry,
        foreign_national: a.foreign_national || a.bounded_by_stay,
        bounded_by_stay: a.bounded_by_stay,
    };
    let today = a.today.unwrap_or_else(today_in_japan);
    let assessment = assess_lapse(&card, &events, today).map_err(|e| Failure::rule(&e))?;
    Ok(LapseAnswer {
        today,
        card_expiry: a.card_expiry,
        lapse_date: assessment.lapse_date,
        reason: assessment.reason,
        lapsed: assessment.lapsed,
        deadlines: assessment
            .deadlines
            .iter()
            .map(|d| DeadlineOut {
                last_day: d.last_day,
                reason: d.reason,
                step: vocab::deadline_step(d.reason).0,
            })
            .collect(),
    })
}

// ---------------------------------------------------------------------------
// fee

/// Why the card is being (re)issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FeeCauseArg {
    Loss,
    Fire,
    Damage,
    Malfunction,
    Theft,
    FullEntries,
    Renewal,
    StayExpired,
    FirstIssuance,
}

impl From<FeeCauseArg> for FeeCause {
    fn from(cause: FeeCauseArg) -> FeeCause {
        match cause {
            FeeCauseArg::Loss => FeeCause::Loss,
            FeeCauseArg::Fire => FeeCause::Fire,
            FeeCauseArg::Damage => FeeCause::Damage,
            FeeCauseArg::Malfunction => FeeCause::Malfunction,
            FeeCauseArg::Theft => FeeCause::Theft,
            FeeCauseArg::FullEntries => FeeCause::FullEntries,
            FeeCauseArg::Renewal => FeeCause::Renewal,
            FeeCauseArg::StayExpired => FeeCause::StayExpired,
            FeeCauseArg::FirstIssuance => FeeCause::FirstIssuance,
        }
    }
}

#[derive(Debug, Args)]
pub struct FeeArgs {
    /// Why the card is issued
    #[arg(long, value_enum)]
    cause: FeeCauseArg,
    /// New electronic certificates are issued with the card
    #[arg(long)]
    with_certs: bool,
    /// Loss, theft, fire, damage or malfunction not caused by the holder (municipality or J-LIS error, disaster, …)
    #[arg(long)]
    not_holders_fault: bool,
    /// For --cause renewal: the current card's expiry, to check that the renewal window is open
    #[arg(long, value_name = "DATE", value_parser = date)]
    expiry: Option<NaiveDate>,
    /// With --expiry: the day of the renewal (default: today in Japan)
    #[arg(long, value_name = "DATE", value_parser = date, requires = "expiry")]
    today: Option<NaiveDate>,
}

#[derive(Debug, Serialize)]
struct FeeAnswer {
    cause: FeeCause,
    with_certificates: bool,
    fee_yen: u32,
    reason: FeeReason,
}

impl Answer for FeeAnswer {
    fn lines(&self) -> Vec<Line> {
        let amount = if self.fee_yen == 0 {
            vocab::FREE.to_string()
        } else {
            format!("{y}円 / {y} yen", y = yen(self.fee_yen))
        };
        vec![
            line(label::CAUSE, self.cause.phrase()),
            line(label::FEE, amount),
            line(label::REASON, self.reason.phrase()),
        ]
    }
}

fn fee_answer(a: &FeeArgs, policies: &Policies) -> Result<FeeAnswer, Failure> {
    let cause = FeeCause::from(a.cause);
    if a.expiry.is_some() && cause != FeeCause::Renewal {
        return Err(Failure::usage("usage", "--expiry applies only to --cause renewal"));
    }
    let case = FeeCase {
        cause,
        with_certificates: a.with_certs,
        not_holders_fault: a.not_holders_fault,
        renewal_timing: a.expiry.map(|expiry| (expiry, a.today.unwrap_or_else(today_in_japan))),
    };
    let f = fee(&case, policies).map_err(|e| {
        let failure = Failure::rule(&e);
        match (e, case.renewal_timing) {
            (RuleError::FeeNotApplicable(_), _) => failure.context("--not-holders-fault"),
            (RuleError::RenewalWindowNotOpen { .. }, Some((_, on))) => failure.context(&format!("--today {on}")),
            _ => failure,
        }
    })?;
    Ok(FeeAnswer {
        cause,
        with_certificates: a.with_certs,
        fee_yen: f.yen,
        reason: f.reason,
    })
}

// ---------------------------------------------------------------------------
// my-number

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["number", "complete"])))]
pub struct MyNumberArgs {
    /// A 12-digit My Number to check (it is not repeated in the answer)
    #[arg(value_name = "NUMBER")]
    number: Option<String>,
    /// Complete an 11-digit base with its check digit (検査用数字)
    #[arg(long, value_name = "BASE", value_parser = my_number_base)]
    complete: Option<MyNumber>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum MyNumberAnswer {
    Check {
        valid: bool,
        #[serde(serialize_with = "number_error_code")]
        reason: Option<NumberError>,
        message: Option<String>,
    },
    Complete {
        my_number: String,
        check_digit: u32,
    },
}

impl Answer for MyNumberAnswer {
    fn lines(&self) -> Vec<Line> {
        match self {
            MyNumberAnswer::Check { valid: true, .. } => vec![line(label::MY_NUMBER, vocab::VALID)],
            MyNumberAnswer::Check {
                valid: false,
                reason,
                message,
            } => {
                let why = reason.map_or(vocab::NONE, |r| r.phrase());
                let detail = message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default();
                vec![
                    line(label::MY_NUMBER, vocab::INVALID),
                    line(label::REASON, format!("{why}{detail}")),
                ]
            }
            MyNumberAnswer::Complete { my_number, check_digit } => {
                vec![line(label::MY_NUMBER, my_number), line(label::CHECK_DIGIT, check_digit)]
            }
        }
    }
}

fn my_number(a: &MyNumberArgs) -> MyNumberAnswer {
    if let Some(number) = a.complete {
        let my_number = number.expose();
        let check_digit = my_number
            .chars()
            .last()
            .and_then(|c| c.to_digit(10))
            .unwrap_or_default();
        return MyNumberAnswer::Complete { my_number, check_digit };
    }
    let text = a.number.as_deref().unwrap_or_default();
    match MyNumber::parse(text) {
        Ok(_) => MyNumberAnswer::Check {
            valid: true,
            reason: None,
            message: None,
        },
        Err(e) => MyNumberAnswer::Check {
            valid: false,
            reason: Some(e),
            message: Some(e.to_string()),
        },
    }
}

/// A number's `reason` in JSON: the engine's code (`wrong_format`,
/// `check_digit_mismatch`, `no_such_prefecture`), or null.
fn number_error_code<S: serde::Serializer>(reason: &Option<NumberError>, s: S) -> Result<S::Ok, S::Error> {
    reason.map(|e| e.code()).serialize(s)
}

// ---------------------------------------------------------------------------
// municipality-code

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["code", "complete"])))]
pub struct MunicipalityCodeArgs {
    /// A 6-digit municipality code to check
    #[arg(value_name = "CODE")]
    code: Option<String>,
    /// Complete a 5-digit base with its check digit
    #[arg(long, value_name = "BASE", value_parser = municipality_base)]
    complete: Option<MunicipalityCode>,
}

#[derive(Debug, Serialize)]
struct MunicipalityCodeAnswer {
    code: String,
    valid: bool,
    #[serde(serialize_with = "number_error_code")]
    reason: Option<NumberError>,
    message: Option<String>,
    prefecture: Option<String>,
    prefecture_name: Option<Phrase>,
}

impl Answer for MunicipalityCodeAnswer {
    fn lines(&self) -> Vec<Line> {
        let verdict = if self.valid { vocab::VALID } else { vocab::INVALID };
        let mut lines = vec![line(label::MUNICIPALITY_CODE, format!("{} — {verdict}", self.code))];
        if let Some(reason) = self.reason {
            let why = reason.phrase();
            let detail = self.message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default();
            lines.push(line(label::REASON, format!("{why}{detail}")));
        }
        if let Some(code) = &self.prefecture {
            let name = self.prefecture_name.map(|n| format!(" {n}")).unwrap_or_default();
            lines.push(line(label::PREFECTURE, format!("{code}{name}")));
        }
        lines
    }
}

fn municipality_answer(code: MunicipalityCode) -> MunicipalityCodeAnswer {
    let (ja, en) = code.prefecture_name();
    MunicipalityCodeAnswer {
        code: code.to_string(),
        valid: true,
        reason: None,
        message: None,
        prefecture: Some(format!("{:02}", code.prefecture())),
        prefecture_name: Some(Phrase::new(ja, en)),
    }
}

fn municipality_code(a: &MunicipalityCodeArgs) -> MunicipalityCodeAnswer {
    if let Some(code) = a.complete {
        return municipality_answer(code);
    }
    let text = a.code.as_deref().unwrap_or_default();
    match MunicipalityCode::parse(text) {
        Ok(code) => municipality_answer(code),
        Err(e) => MunicipalityCodeAnswer {
            code: text.to_owned(),
            valid: false,
            reason: Some(e),
            message: Some(e.to_string()),
            prefecture: None,
            prefecture_name: None,
        },
    }
}

// ---------------------------------------------------------------------------
// pin

/// The four PINs of the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PinKindArg {
    /// 署名用電子証明書: 6–16 of A–Z and 0–9
    Sign,
    /// 利用者証明用電子証明書: 4 digits
    Auth,
    /// 住民基本台帳用: 4 digits
    Registry,
    /// 券面事項入力補助用: 4 digits
    InputSupport,
}

impl From<PinKindArg> for PinKind {
    fn from(kind: PinKindArg) -> PinKind {
        match kind {
            PinKindArg::Sign => PinKind::Signature,
            PinKindArg::Auth => PinKind::UserAuthentication,
            PinKindArg::Registry => PinKind::ResidentRegistry,
            PinKindArg::InputSupport => PinKind::InputSupport,
        }
    }
}

#[derive(Debug, Args)]
pub struct PinArgs {
    /// Which PIN
    #[arg(long, value_enum)]
    kind: PinKindArg,
    /// The PIN; omit it to read one line from stdin (keeps it out of shell history). Never shown.
    #[arg(value_name = "PIN", allow_hyphen_values = true)]
    value: Option<String>,
}

#[derive(Debug, Serialize)]
struct PinAnswer {
    kind: PinKind,
    valid: bool,
    reason: Option<PinFormatError>,
    message: Option<String>,
    retry_limit: u8,
    format: Phrase,
}

impl Answer for PinAnswer {
    fn lines(&self) -> Vec<Line> {
        let mut lines = vec![
            line(label::PIN, self.kind.phrase()),
            line(
                label::PIN_FORMAT,
                if self.valid { vocab::VALID } else { vocab::INVALID },
            ),
        ];
        if let Some(reason) = self.reason {
            lines.push(line(label::REASON, reason.phrase()));
        }
        lines.push(line(label::REQUIRED_FORMAT, self.format));
        lines.push(line(label::RETRY_LIMIT, self.retry_limit));
        lines
    }
}

fn pin(a: &PinArgs) -> Result<PinAnswer, Failure> {
    let kind = PinKind::from(a.kind);
    let value = match &a.value {
        Some(value) => value.clone(),
        None => {
            let mut text = String::new();
            let read = io::stdin()
                .lock()
                .read_line(&mut text)
                .map_err(|e| Failure::usage("usage", format!("cannot read the PIN from stdin: {e}")))?;
            if read == 0 {
                return Err(Failure::usage(
                    "usage",
                    "no PIN given: pass it as an argument or on stdin",
                ));
            }
            text.trim_end_matches(['\n', '\r']).to_owned()
        }
    };
    let reason = kind.check_format(&value).err();
    let format = match kind {
        PinKind::Signature => vocab::SIGN_PIN_FORMAT,
        _ => vocab::FOUR_DIGIT_PIN_FORMAT,
    };
    Ok(PinAnswer {
        kind,
        valid: reason.is_none(),
        reason,
        message: reason.map(|r| r.to_string()),
        retry_limit: kind.retry_limit(),
        format,
    })
}

// ---------------------------------------------------------------------------
// one-stop

#[derive(Debug, Args)]
pub struct OneStopArgs {
    /// The day the resident files the move-out and the move-in reservation in the portal
    #[arg(long, value_name = "DATE", value_parser = date)]
    filed: NaiveDate,
    /// The (planned) move date
    #[arg(long, value_name = "DATE", value_parser = date)]
    move_date: NaiveDate,
    /// The move is to another country
    #[arg(long)]
    abroad: bool,
    /// The holder's age when the card was issued (default: assumed 15 or older)
    #[arg(long, value_name = "N")]
    age_at_card_issuance: Option<u32>,
    /// The card has no valid signature certificate
    #[arg(long)]
    no_signature_certificate: bool,
    /// The card is a face-recognition card (no PINs)
    #[arg(long)]
    face_card: bool,
}

#[derive(Debug, Serialize)]
struct OneStopAnswer {
    eligible: bool,
    refusals: Vec<OneStopRefusal>,
    filing_window_start: NaiveDate,
    filing_window_end: NaiveDate,
    visit_deadline: NaiveDate,
}

impl Answer for OneStopAnswer {
    fn lines(&self) -> Vec<Line> {
        let verdict = if self.eligible {
            vocab::ELIGIBLE
        } else {
            vocab::NOT_ELIGIBLE
        };
        let mut lines = vec![line(label::ONE_STOP, verdict)];
        lines.extend(self.refusals.iter().map(|r| line(label::REFUSAL, r.phrase())));
        lines.push(line(
            label::FILING_WINDOW,
            format!("{} – {}", self.filing_window_start, self.filing_window_end),
        ));
        lines.push(line(label::VISIT_DEADLINE, self.visit_deadline));
        lines
    }
}

fn one_stop(a: &OneStopArgs) -> OneStopAnswer {
    let filing = OneStopFiling {
        filed_on: a.filed,
        move_date: a.move_date,
        abroad: a.abroad,
        age_at_card_issuance: a.age_at_card_issuance.unwrap_or(MIN_AGE_AT_CARD_ISSUANCE),
        valid_signature_certificate: !a.no_signature_certificate,
        face_recognition_card: a.face_card,
    };
    let refusals = one_stop_refusals(&filing);
    let (filing_window_start, filing_window_end) = filing_window(a.move_date);
    OneStopAnswer {
        eligible: refusals.is_empty(),
        refusals,
        filing_window_start,
        filing_window_end,
        visit_deadline: visit_deadline(a.move_date, a.move_date),
    }
}

// ---------------------------------------------------------------------------
// kiosk

#[derive(Debug, Args)]
pub struct KioskArgs {
    /// Time in Japan, YYYY-MM-DDTHH:MM (default: now)
    #[arg(long, value_name = "YYYY-MM-DDTHH:MM", value_parser = japan_time)]
    at: Option<NaiveDateTime>,
    /// An announced maintenance window, FROM/UNTIL in Japan time, UNTIL excluded (repeatable)
    #[arg(long = "maintenance", value_name = "FROM/UNTIL", value_parser = maintenance_window)]
    maintenance: Vec<MaintenanceWindow>,
}

#[derive(Debug, Serialize)]
struct KioskAnswer {
    at: String,
    open: bool,
    reason: Option<KioskClosure>,
    service_hours: String,
}

impl Answer for KioskAnswer {
    fn lines(&self) -> Vec<Line> {
        let mut lines = vec![
            line(label::AT, self.at.replace('T', " ")),
            line(
                label::KIOSK_SERVICE,
                if self.open { vocab::OPEN } else { vocab::CLOSED },
            ),
        ];
        if let Some(reason) = self.reason {
            lines.push(line(label::REASON, reason.phrase()));
        }
        lines.push(line(label::SERVICE_HOURS, &self.service_hours));
        lines
    }
}

fn kiosk(a: &KioskArgs) -> KioskAnswer {
    let at = a.at.unwrap_or_else(now_in_japan);
    let reason = kiosk_service_status(at, &a.maintenance).err();
    KioskAnswer {
        at: at.format("%Y-%m-%dT%H:%M").to_string(),
        open: reason.is_none(),
        reason,
        service_hours: format!("{}–{}", opens_at().format("%H:%M"), closes_at().format("%H:%M")),
    }
}

// ---------------------------------------------------------------------------
// smartphone

#[derive(Debug, Args)]
pub struct SmartphoneArgs {
    /// The day asked about (default: today in Japan)
    #[arg(long, value_name = "DATE", value_parser = date)]
    on: Option<NaiveDate>,
}

#[derive(Debug, Serialize)]
struct PlatformStart {
    platform: Platform,
    available_from: NaiveDate,
}

#[derive(Debug, Serialize)]
struct SmartphoneAnswer {
    on: NaiveDate,
    platforms: Vec<Platform>,
    schedule: Vec<PlatformStart>,
}

impl Answer for SmartphoneAnswer {
    fn lines(&self) -> Vec<Line> {
        let platforms = if self.platforms.is_empty() {
            vocab::NONE.to_string()
        } else {
            self.platforms
                .iter()
                .map(|p| p.phrase().en)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut lines = vec![line(label::ON, self.on), line(label::SMARTPHONE_PLATFORMS, platforms)];
        for start in &self.schedule {
            let name = start.platform.phrase().en;
            lines.push(line(
                Phrase::new("提供開始日", "Available from"),
                format!("{name}: {}", start.available_from),
            ));
        }
        lines
    }
}

fn smartphone(a: &SmartphoneArgs) -> SmartphoneAnswer {
    let on = a.on.unwrap_or_else(today_in_japan);
    SmartphoneAnswer {
        on,
        platforms: platforms_on(on),
        schedule: [Platform::Android, Platform::Iphone]
            .into_iter()
            .map(|platform| PlatformStart {
                platform,
                available_from: platform.available_from(),
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// face-card

/// A use of the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CardUseArg {
    /// オンライン資格確認 at a medical institution or pharmacy
    MedicalEligibility,
    /// 本人確認書類: identity check by the card face
    #[value(alias = "identity-check")]
    IdentityCheckByCardFace,
    /// マイナポータル
    MynaPortal,
    /// コンビニ交付
    #[value(alias = "kiosk")]
    ConvenienceStoreIssuance,
    /// e-Tax and other signed filings
    EFiling,
    /// スマホ用電子証明書
    SmartphoneCertificate,
    /// 引越しワンストップサービス
    MovingOneStop,
    /// Changing a PIN or anything else that needs one
    #[value(alias = "pin")]
    AnythingNeedingPin,
}

impl From<CardUseArg> for CardUse {
    fn from(use_: CardUseArg) -> CardUse {
        match use_ {
            CardUseArg::MedicalEligibility => CardUse::MedicalEligibility,
            CardUseArg::IdentityCheckByCardFace => CardUse::IdentityCheckByCardFace,
            CardUseArg::MynaPortal => CardUse::MynaPortal,
            CardUseArg::ConvenienceStoreIssuance => CardUse::ConvenienceStoreIssuance,
            CardUseArg::EFiling => CardUse::EFiling,
            CardUseArg::SmartphoneCertificate => CardUse::SmartphoneCertificate,
            CardUseArg::MovingOneStop => CardUse::MovingOneStop,
            CardUseArg::AnythingNeedingPin => CardUse::AnythingNeedingPin,
        }
    }
}

#[derive(Debug, Args)]
pub struct FaceCardArgs {
    /// What the holder wants to do
    #[arg(long = "use", value_name = "USE", value_enum)]
    card_use: CardUseArg,
    /// The day asked about (default: today in Japan)
    #[arg(long, value_name = "DATE", value_parser = date)]
    on: Option<NaiveDate>,
}

#[derive(Debug, Serialize)]
struct FaceCardAnswer {
    #[serde(rename = "use")]
    card_use: CardUse,
    on: NaiveDate,
    allowed: bool,
    reason: Option<FaceCardRefusal>,
}

impl Answer for FaceCardAnswer {
    fn lines(&self) -> Vec<Line> {
        let mut lines = vec![
            line(label::USE, self.card_use.phrase()),
            line(label::ON, self.on),
            line(
                label::FACE_CARD,
                if self.allowed { vocab::ALLOWED } else { vocab::REFUSED },
            ),
        ];
        if let Some(reason) = self.reason {
            lines.push(line(label::REASON, reason.phrase()));
        }
        lines
    }
}

fn face_card(a: &FaceCardArgs) -> FaceCardAnswer {
    let on = a.on.unwrap_or_else(today_in_japan);
    let card_use = CardUse::from(a.card_use);
    let reason = face_card_use(card_use, on).err();
    FaceCardAnswer {
        card_use,
        on,
        allowed: reason.is_none(),
        reason,
    }
}

// ---------------------------------------------------------------------------
// timeline

#[derive(Debug, Args)]
pub struct TimelineArgs {
    /// Also say which changes are in force on this day
    #[arg(long, value_name = "DATE", value_parser = date)]
    on: Option<NaiveDate>,
}

#[derive(Debug, Serialize)]
struct ChangeOut {
    change: LawChange,
    effective: NaiveDate,
    name: Phrase,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_force: Option<bool>,
}

#[derive(Debug, Serialize)]
struct TimelineAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    on: Option<NaiveDate>,
    changes: Vec<ChangeOut>,
}

impl Answer for TimelineAnswer {
    fn lines(&self) -> Vec<Line> {
        let mut lines = Vec::new();
        if let Some(on) = self.on {
            lines.push(line(label::ON, on));
        }
        for c in &self.changes {
            let value = match c.in_force {
                Some(in_force) => format!("{} ({}: {})", c.effective, label::IN_FORCE, yes_no(in_force)),
                None => c.effective.to_string(),
            };
            lines.push(line(c.name, value));
        }
        lines
    }
}

fn timeline(a: &TimelineArgs) -> TimelineAnswer {
    TimelineAnswer {
        on: a.on,
        changes: LawChange::ALL
            .into_iter()
            .map(|change| ChangeOut {
                change,
                effective: change.effective(),
                name: change.phrase(),
                in_force: a.on.map(|on| change.in_force_on(on)),
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// policies

#[derive(Debug, Serialize)]
struct PolicyOut {
    name: &'static str,
    value: String,
    default: String,
    allowed: &'static str,
}

#[derive(Debug, Serialize)]
struct PolicyAnswer {
    policies: Vec<PolicyOut>,
}

impl Answer for PolicyAnswer {
    fn lines(&self) -> Vec<Line> {
        self.policies
            .iter()
            .map(|p| {
                line(
                    label::POLICY,
                    format!("{} = {} (default {}; {})", p.name, p.value, p.default, p.allowed),
                )
            })
            .collect()
    }
}

fn policy_list(policies: &Policies) -> PolicyAnswer {
    let defaults = Policies::default();
    PolicyAnswer {
        policies: POLICY_NAMES
            .iter()
            .map(|(name, allowed)| PolicyOut {
                name,
                value: policies.get(name).unwrap_or_else(|| "?".to_owned()),
                default: defaults.get(name).unwrap_or_else(|| "?".to_owned()),
                allowed,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japan_time_accepts_t_or_space_and_says_what_is_wrong() {
        let at = japan_time("2026-06-01T22:00").expect("time");
        assert_eq!(at.format("%Y-%m-%d %H:%M").to_string(), "2026-06-01 22:00");
        assert!(japan_time("2026-06-01 06:30:15").is_ok());
        for bad in [
            "2026-06-01",
            "2026-06-01T25:00",
            "2026-02-30T10:00",
            "2026-06-01X10:00",
            "２０２６-06-01T10:00",
        ] {
            assert!(japan_time(bad).is_err(), "{bad}");
        }
        let msg = japan_time("2026-02-30T10:00").expect_err("no such day").to_string();
        assert!(msg.contains("2026-02 has 28 days"), "{msg}");
    }

    #[test]
    fn maintenance_window_is_from_slash_until() {
        let w = maintenance_window("2026-06-01T09:00/2026-06-01 11:30").expect("window");
        assert_eq!(w.from, japan_time("2026-06-01T09:00").expect("from"));
        assert_eq!(w.until, japan_time("2026-06-01T11:30").expect("until"));
        for bad in [
            "2026-06-01T09:00",
            "2026-06-01T09:00/",
            "/2026-06-01T09:00",
            "2026-06-01T09:00/2026-06-01T09:00",
            "2026-06-01T09:00/2026-05-31T23:00",
            "2026-06-01T09:00/2026-06-01T24:00",
        ] {
            assert!(maintenance_window(bad).is_err(), "{bad}");
        }
        let e = maintenance_window("2026-06-01T10:00/2026-06-01T09:00").expect_err("order");
        assert_eq!(
            (e.code, e.message.as_str()),
            ("bad_maintenance", "UNTIL must be after FROM")
        );
    }

    #[test]
    fn every_policy_name_has_a_value() {
        let listed = policy_list(&Policies::default()).policies;
        assert_eq!(listed.len(), POLICY_NAMES.len());
        for p in listed {
            assert_ne!(p.value, "?", "{}", p.name);
            assert_ne!(p.default, "?", "{}", p.name);
        }
    }
}
