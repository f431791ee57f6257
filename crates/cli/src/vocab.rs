//! The words a window clerk sees: bilingual labels, and a bilingual phrase
//! for every reason, cause and kind the rules engine names. The JSON side
//! uses the engine's own snake_case codes; this is the text side only.

use mynacard_rules::card::{AgeRegime, ExpiryBasis};
use mynacard_rules::certificate::SignCertRefusal;
use mynacard_rules::face_card::{CardUse, FaceCardRefusal};
use mynacard_rules::fee::{FeeCause, FeeReason};
use mynacard_rules::kiosk::KioskClosure;
use mynacard_rules::lapse::LapseReason;
use mynacard_rules::numbers::NumberError;
use mynacard_rules::one_stop::OneStopRefusal;
use mynacard_rules::pin::{PinFormatError, PinKind};
use mynacard_rules::smartphone::Platform;
use mynacard_rules::LawChange;

use crate::output::Phrase;

/// Something with a bilingual name.
pub trait Bilingual {
    fn phrase(&self) -> Phrase;
}

pub const YES: Phrase = Phrase::new("はい", "yes");
pub const NO: Phrase = Phrase::new("いいえ", "no");

pub fn yes_no(b: bool) -> Phrase {
    if b {
        YES
    } else {
        NO
    }
}

/// Labels, in the terms staff use.
pub mod label {
    use crate::output::Phrase;

    pub const CARD_EXPIRY: Phrase = Phrase::new("カードの有効期限", "Card expiry");
    pub const EXPIRY: Phrase = Phrase::new("有効期限", "Expiry");
    pub const BASIS: Phrase = Phrase::new("有効期限の根拠", "Basis");
    pub const REGIME: Phrase = Phrase::new("成年年齢の区分", "Age-of-majority regime");
    pub const AGE_AT_ISSUANCE: Phrase = Phrase::new("発行日時点の年齢", "Age at issuance");
    pub const AGE_AT_TEST: Phrase = Phrase::new("年齢判定日の年齢", "Age on the age-test day");
    pub const RENEWAL_WINDOW_START: Phrase = Phrase::new("更新可能期間の開始", "Renewal window opens");
    pub const RENEWAL_WINDOW_END: Phrase = Phrase::new("更新可能期間の終了", "Renewal window closes");
    pub const IN_RENEWAL_WINDOW: Phrase = Phrase::new("更新可能期間内", "In the renewal window");
    pub const NOTICE_DATE: Phrase = Phrase::new("有効期限通知書の送付日", "Renewal notice sent");
    pub const SIGN_CERT_EXPIRY: Phrase = Phrase::new("署名用電子証明書の有効期限", "Signature certificate expiry");
    pub const AUTH_CERT_EXPIRY: Phrase = Phrase::new(
        "利用者証明用電子証明書の有効期限",
        "User-authentication certificate expiry",
    );
    pub const RENEWAL_BONUS: Phrase =
        Phrase::new("更新期間内の更新（6回目の誕生日まで）", "Renewal bonus (6th birthday)");
    pub const AS_OF: Phrase = Phrase::new("判定日", "As of");
    pub const LAPSED_ON: Phrase = Phrase::new("失効日", "Lapsed on");
    pub const LAPSES_ON: Phrase = Phrase::new("失効日（このままの場合）", "Lapses on (if nothing more happens)");
    pub const LAPSE_REASON: Phrase = Phrase::new("失効理由", "Reason for lapse");
    pub const LAPSED: Phrase = Phrase::new("失効済み", "Lapsed");
    pub const DEADLINE: Phrase = Phrase::new("手続の期限", "Deadline");
    pub const CAUSE: Phrase = Phrase::new("交付事由", "Cause");
    pub const FEE: Phrase = Phrase::new("手数料", "Fee");
    pub const REASON: Phrase = Phrase::new("理由", "Reason");
    pub const MY_NUMBER: Phrase = Phrase::new("個人番号", "My Number");
    pub const CHECK_DIGIT: Phrase = Phrase::new("検査用数字", "Check digit");
    pub const MUNICIPALITY_CODE: Phrase = Phrase::new("地方公共団体コード", "Municipality code");
    pub const PREFECTURE: Phrase = Phrase::new("都道府県", "Prefecture");
    pub const PIN: Phrase = Phrase::new("暗証番号", "PIN");
    pub const PIN_FORMAT: Phrase = Phrase::new("暗証番号の形式", "PIN format");
    pub const REQUIRED_FORMAT: Phrase = Phrase::new("求められる形式", "Required format");
    pub const RETRY_LIMIT: Phrase = Phrase::new("連続誤入力でロックされる回数", "Wrong tries before lock");
    pub const ONE_STOP: Phrase = Phrase::new("引越しワンストップサービス", "Moving one-stop");
    pub const REFUSAL: Phrase = Phrase::new("利用できない理由", "Refused because");
    pub const FILING_WINDOW: Phrase = Phrase::new("転出届の申請可能期間", "Filing window");
    pub const VISIT_DEADLINE: Phrase = Phrase::new(
        "転入手続の期限（異動日に転入した場合）",
        "Visit deadline (moving in on the move date)",
    );
    pub const AT: Phrase = Phrase::new("日時", "At");
    pub const KIOSK_SERVICE: Phrase = Phrase::new("コンビニ交付サービス", "Convenience-store issuance");
    pub const SERVICE_HOURS: Phrase = Phrase::new("サービス提供時間", "Service hours");
    pub const ON: Phrase = Phrase::new("基準日", "On");
    pub const SMARTPHONE_PLATFORMS: Phrase =
        Phrase::new("スマホ用電子証明書の対応機種", "Smartphone certificate platforms");
    pub const USE: Phrase = Phrase::new("用途", "Use");
    pub const FACE_CARD: Phrase = Phrase::new("顔認証マイナンバーカードでの利用", "With a face-recognition card");
    pub const IN_FORCE: Phrase = Phrase::new("施行済み", "In force");
    pub const POLICY: Phrase = Phrase::new("運用方針", "Policy");
}

pub const VALID: Phrase = Phrase::new("有効", "valid");
pub const INVALID: Phrase = Phrase::new("無効", "invalid");
pub const NONE: Phrase = Phrase::new("なし", "none");
pub const NOT_ISSUED: Phrase = Phrase::new("発行しない", "not issued");
pub const NO_NOTICE: Phrase = Phrase::new(
    "送付なし（在留期間のある外国人住民）",
    "none (foreign resident with a period of stay)",
);
pub const FREE: Phrase = Phrase::new("無料", "free");
pub const ELIGIBLE: Phrase = Phrase::new("利用可", "eligible");
pub const NOT_ELIGIBLE: Phrase = Phrase::new("利用不可", "not eligible");
pub const OPEN: Phrase = Phrase::new("提供中", "open");
pub const CLOSED: Phrase = Phrase::new("提供時間外", "closed");
pub const ALLOWED: Phrase = Phrase::new("利用可", "allowed");
pub const REFUSED: Phrase = Phrase::new("利用不可", "refused");
pub const OUTSIDE_SERVICE_HOURS: Phrase = Phrase::new("提供時間外（06:30〜23:00）", "outside 06:30–23:00");
pub const YEAR_END_CLOSURE: Phrase = Phrase::new(
    "年末年始の休止（12月29日〜1月3日）",
    "year-end closure (29 Dec – 3 Jan)",
);
pub const MAINTENANCE: Phrase = Phrase::new("メンテナンス中", "maintenance");
pub const NOT_12_DIGITS: Phrase = Phrase::new("12桁の数字ではない", "not 12 digits 0–9");
pub const NOT_6_DIGITS: Phrase = Phrase::new("6桁の数字ではない", "not 6 digits 0–9");
pub const WRONG_NUMBER_OF_DIGITS: Phrase = Phrase::new("桁数が正しくない", "wrong number of digits 0–9");
pub const CHECK_DIGIT_MISMATCH: Phrase = Phrase::new("検査用数字の不一致", "check digit does not match");
pub const NO_SUCH_PREFECTURE: Phrase = Phrase::new(
    "都道府県コードが01〜47ではない",
    "first two digits are not a prefecture code 01–47",
);
pub const SIGN_PIN_FORMAT: Phrase = Phrase::new(
    "英大文字と数字で6〜16文字（英字・数字を各1文字以上）",
    "6–16 characters of A–Z and 0–9, at least one letter and one digit",
);
pub const FOUR_DIGIT_PIN_FORMAT: Phrase = Phrase::new("数字4桁", "exactly 4 digits");

impl Bilingual for KioskClosure {
    fn phrase(&self) -> Phrase {
        match self {
            KioskClosure::YearEndClosure => YEAR_END_CLOSURE,
            KioskClosure::OutsideServiceHours => OUTSIDE_SERVICE_HOURS,
            KioskClosure::Maintenance => MAINTENANCE,
        }
    }
}

impl Bilingual for NumberError {
    fn phrase(&self) -> Phrase {
        match self {
            NumberError::WrongFormat { digits: 12, .. } => NOT_12_DIGITS,
            NumberError::WrongFormat { digits: 6, .. } => NOT_6_DIGITS,
            NumberError::WrongFormat { .. } => WRONG_NUMBER_OF_DIGITS,
            NumberError::CheckDigitMismatch { .. } => CHECK_DIGIT_MISMATCH,
            NumberError::NoSuchPrefecture => NO_SUCH_PREFECTURE,
        }
    }
}

impl Bilingual for ExpiryBasis {
    fn phrase(&self) -> Phrase {
        match self {
            ExpiryBasis::TenthBirthday => Phrase::new("発行の日後10回目の誕生日", "10th birthday after issuance"),
            ExpiryBasis::FifthBirthday => Phrase::new("発行の日後5回目の誕生日", "5th birthday after issuance"),
            ExpiryBasis::EndOfStay => Phrase::new("在留期間満了日", "end of the period of stay"),
        }
    }
}

impl Bilingual for AgeRegime {
    fn phrase(&self) -> Phrase {
        match self {
            AgeRegime::Eighteen => Phrase::new(
                "18歳（2022年4月1日以降の申請）",
                "18 (applications received from 2022-04-01)",
            ),
            AgeRegime::Twenty => Phrase::new(
                "20歳（2022年3月31日以前の申請）",
                "20 (applications received before 2022-04-01)",
            ),
        }
    }
}

impl Bilingual for SignCertRefusal {
    fn phrase(&self) -> Phrase {
        match self {
            SignCertRefusal::UnderMinimumAge => Phrase::new("発行可能年齢未満", "under the minimum age"),
            SignCertRefusal::AdultWard => Phrase::new("成年被後見人", "adult ward"),
        }
    }
}

impl Bilingual for LapseReason {
    fn phrase(&self) -> Phrase {
        match self {
            LapseReason::Expired => Phrase::new("有効期限の経過", "expired"),
            LapseReason::StayEnded => Phrase::new(
                "在留期間の満了（有効期間変更なし）",
                "end of the period of stay without a validity change",
            ),
            LapseReason::LateMoveIn => Phrase::new("転入届の遅延", "move-in notified late"),
            LapseReason::NoMoveInAfterMoveOut => Phrase::new(
                "転出予定日から30日以内の転入届なし",
                "no move-in within 30 days after the planned move-out",
            ),
            LapseReason::CardNotUpdatedAfterMoveIn => Phrase::new(
                "転入届から90日以内の継続利用手続なし",
                "card not updated within 90 days after the move-in",
            ),
            LapseReason::MovedAgainBeforeUpdate => {
                Phrase::new("継続利用手続前の再度の転出", "moved again before the card was updated")
            }
            LapseReason::Death => Phrase::new("死亡", "death"),
            LapseReason::RecordRemoved => Phrase::new("住民票の職権消除", "resident record removed ex officio"),
            LapseReason::DepartedAbroad => {
                Phrase::new("国外転出（国外継続利用なし）", "departed abroad without continued use")
            }
            LapseReason::Returned => Phrase::new("返納", "returned"),
        }
    }
}

/// What the holder must do before a running deadline, and its JSON code.
pub fn deadline_step(reason: LapseReason) -> (&'static str, Phrase) {
    match reason {
        LapseReason::NoMoveInAfterMoveOut => ("notify_move_in", Phrase::new("転入届", "notify the move-in")),
        LapseReason::CardNotUpdatedAfterMoveIn => (
            "update_card",
            Phrase::new("カードの継続利用手続", "update the card (continued use)"),
        ),
        // assess_lapse reports only the two clocks above as deadlines.
        other => ("avoid_lapse", other.phrase()),
    }
}

impl Bilingual for FeeCause {
    fn phrase(&self) -> Phrase {
        match self {
            FeeCause::FirstIssuance => Phrase::new("初回交付", "first issuance"),
            FeeCause::Loss => Phrase::new("紛失", "loss"),
            FeeCause::Theft => Phrase::new("盗難", "theft"),
            FeeCause::Fire => Phrase::new("焼失", "fire"),
            FeeCause::Damage => Phrase::new("著しい損傷", "damage"),
            FeeCause::Malfunction => Phrase::new("機能の喪失", "malfunction"),
            FeeCause::FullEntries => Phrase::new("追記欄の余白なし", "additional-entries field full"),
            FeeCause::Renewal => Phrase::new("更新", "renewal"),
            FeeCause::StayExpired => Phrase::new("在留期間満了による失効", "lapsed at the end of the period of stay"),
        }
    }
}

impl Bilingual for FeeReason {
    fn phrase(&self) -> Phrase {
        match self {
            FeeReason::FirstIssuanceFree => Phrase::new("初回交付は無料", "first issuance is free"),
            FeeReason::RenewalFree => Phrase::new("更新は無料", "renewal is free"),
            FeeReason::FullEntriesFree => Phrase::new(
                "追記欄の余白不足による再交付は無料",
                "reissue for a full additional-entries field is free",
            ),
            FeeReason::NotHoldersFaultFree => Phrase::new(
                "本人の責めに帰さない再交付は無料",
                "reissue not caused by the holder is free",
            ),
            FeeReason::ReissueCardOnly => Phrase::new("カードのみの再交付", "reissue of the card only"),
            FeeReason::ReissueWithCertificates => Phrase::new(
                "電子証明書を含む再交付",
                "reissue of the card with new electronic certificates",
            ),
        }
    }
}

impl Bilingual for PinKind {
    fn phrase(&self) -> Phrase {
        match self {
            PinKind::Signature => Phrase::new("署名用電子証明書の暗証番号", "signature certificate PIN"),
            PinKind::UserAuthentication => Phrase::new(
                "利用者証明用電子証明書の暗証番号",
                "user-authentication certificate PIN",
            ),
            PinKind::ResidentRegistry => Phrase::new("住民基本台帳用の暗証番号", "resident registry PIN"),
            PinKind::InputSupport => Phrase::new("券面事項入力補助用の暗証番号", "card-info input support PIN"),
        }
    }
}

impl Bilingual for PinFormatError {
    fn phrase(&self) -> Phrase {
        match self {
            PinFormatError::NotFourDigits => Phrase::new("4桁ではない", "not exactly 4 digits"),
            PinFormatError::NotDigits => Phrase::new("数字以外の文字を含む", "contains something other than 0–9"),
            PinFormatError::TooShort => Phrase::new("6文字未満", "shorter than 6 characters"),
            PinFormatError::TooLong => Phrase::new("16文字超", "longer than 16 characters"),
            PinFormatError::Lowercase => Phrase::new("英小文字を含む（大文字のみ可）", "lowercase letters (use A–Z)"),
            PinFormatError::BadCharacter => {
                Phrase::new("英大文字・数字以外の文字を含む", "characters other than A–Z and 0–9")
            }
            PinFormatError::NoLetter => Phrase::new("英字を含まない", "no letter A–Z"),
            PinFormatError::NoDigit => Phrase::new("数字を含まない", "no digit 0–9"),
        }
    }
}

impl Bilingual for OneStopRefusal {
    fn phrase(&self) -> Phrase {
        match self {
            OneStopRefusal::NotYetAvailable => Phrase::new(
                "サービス開始（2023年2月6日）前",
                "before the service started (2023-02-06)",
            ),
            OneStopRefusal::TooEarly => Phrase::new("異動日の30日前より前", "more than 30 days before the move"),
            OneStopRefusal::TooLate => Phrase::new("異動日から10日を経過", "more than 10 days after the move"),
            OneStopRefusal::Abroad => Phrase::new("国外転出は対象外", "moves abroad are not covered"),
            OneStopRefusal::CardIssuedUnder15 => {
                Phrase::new("15歳未満で交付されたカード", "card issued to someone under 15")
            }
            OneStopRefusal::NoValidSignatureCertificate => {
                Phrase::new("有効な署名用電子証明書なし", "no valid signature certificate")
            }
            OneStopRefusal::FaceRecognitionCard => Phrase::new(
                "顔認証マイナンバーカード（暗証番号なし）",
                "face-recognition card (no PINs)",
            ),
        }
    }
}

impl Bilingual for FaceCardRefusal {
    fn phrase(&self) -> Phrase {
        match self {
            FaceCardRefusal::NotYetAvailable => Phrase::new(
                "顔認証マイナンバーカード導入（2023年12月15日）前",
                "before face-recognition cards existed (2023-12-15)",
            ),
            FaceCardRefusal::NeedsPin => Phrase::new("暗証番号が必要な用途", "the use needs a PIN"),
        }
    }
}

impl Bilingual for CardUse {
    fn phrase(&self) -> Phrase {
        match self {
            CardUse::MedicalEligibility => {
                Phrase::new("医療機関・薬局での資格確認", "medical and pharmacy eligibility check")
            }
            CardUse::IdentityCheckByCardFace => Phrase::new("券面による本人確認", "identity check by the card face"),
            CardUse::MynaPortal => Phrase::new("マイナポータル", "Myna Portal"),
            CardUse::ConvenienceStoreIssuance => Phrase::new("コンビニ交付", "convenience-store issuance"),
            CardUse::EFiling => Phrase::new("電子申請（e-Tax等）", "e-filing (e-Tax and others)"),
            CardUse::SmartphoneCertificate => Phrase::new("スマホ用電子証明書", "smartphone certificate"),
            CardUse::MovingOneStop => Phrase::new("引越しワンストップサービス", "moving one-stop"),
            CardUse::AnythingNeedingPin => Phrase::new("暗証番号が必要な手続", "anything needing a PIN"),
        }
    }
}

impl Bilingual for LawChange {
    fn phrase(&self) -> Phrase {
        match self {
            LawChange::CardIssuance => Phrase::new("マイナンバーカードの交付開始", "Card issuance begins"),
            LawChange::AgeOfMajority18 => Phrase::new("成年年齢の18歳への引下げ", "Age of majority lowered to 18"),
            LawChange::MovingOneStop => Phrase::new("引越しワンストップサービス開始", "Moving one-stop service begins"),
            LawChange::SmartphoneAndroid => {
                Phrase::new("スマホ用電子証明書（Android）", "Smartphone certificates on Android")
            }
            LawChange::FaceRecognitionCard => Phrase::new("顔認証マイナンバーカード", "Face-recognition card"),
            LawChange::ContinuedUseAbroad => Phrase::new("国外継続利用", "Continued use abroad"),
            LawChange::SmartphoneIphone => {
                Phrase::new("スマホ用電子証明書（iPhone）", "Smartphone certificates on iPhone")
            }
        }
    }
}

impl Bilingual for Platform {
    fn phrase(&self) -> Phrase {
        match self {
            Platform::Android => Phrase::new("Android", "Android"),
            Platform::Iphone => Phrase::new("iPhone", "iPhone"),
        }
    }
}
