//! The My Number (個人番号, rules.md §15) and municipality codes
//! (全国地方公共団体コード, §16): parsed once, with their check digits.
//!
//! Neither check digit catches every single-digit error: the My Number maps
//! the remainders 0 and 1 to the same check digit 0, and the municipality
//! code maps 0 and 10 to the same check digit 1. A substitution that moves
//! the weighted sum between those two remainders goes unnoticed. The tests
//! count these cases exhaustively; docs/RULES.md gives the figures.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::RuleError;

/// Why text is not a My Number or a municipality code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NumberError {
    /// Not exactly the right number of ASCII digits.
    #[error("{what} must be exactly {digits} digits 0–9")]
    WrongFormat { what: &'static str, digits: u8 },
    /// The check digit does not match the others.
    #[error("the check digit should be {expected}, not {found}")]
    CheckDigitMismatch { expected: u8, found: u8 },
    /// A municipality code whose first two digits are no prefecture (01–47).
    #[error("the first two digits must be a prefecture code 01–47")]
    NoSuchPrefecture,
}

impl NumberError {
    /// A stable code for machines.
    pub fn code(&self) -> &'static str {
        match self {
            NumberError::WrongFormat { .. } => "wrong_format",
            NumberError::CheckDigitMismatch { .. } => "check_digit_mismatch",
            NumberError::NoSuchPrefecture => "no_such_prefecture",
        }
    }
}

impl From<NumberError> for RuleError {
    fn from(e: NumberError) -> RuleError {
        RuleError::BadNumber(e)
    }
}

fn digits_of<const N: usize>(text: &str, what: &'static str) -> Result<[u8; N], NumberError> {
    let bytes = text.as_bytes();
    if bytes.len() != N || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(NumberError::WrongFormat { what, digits: N as u8 });
    }
    let mut out = [0u8; N];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = b - b'0';
    }
    Ok(out)
}

/// The My Number check digit over an 11-digit base: weights 2,3,4,5,6,7,2,3,4,5,6
/// from the right; 11 − (Σ mod 11), or 0 when Σ mod 11 ≤ 1.
pub fn my_number_check_digit(base: &[u8; 11]) -> u8 {
    let sum: u32 = base
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let n = i as u32 + 1;
            let weight = if n <= 6 { n + 1 } else { n - 5 };
            u32::from(*d) * weight
        })
        .sum();
    let r = sum % 11;
    if r <= 1 {
        0
    } else {
        (11 - r) as u8
    }
}

/// A My Number (個人番号): 12 digits with a valid check digit.
///
/// `Debug` masks it: the number must never appear in a log. Use
/// [`MyNumber::expose`] where it legally must be shown, and record the disclosure.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MyNumber([u8; 12]);

impl MyNumber {
    /// Parses 12 digits and checks the check digit.
    pub fn parse(text: &str) -> Result<MyNumber, NumberError> {
        let digits: [u8; 12] = digits_of(text, "a My Number")?;
        let mut base = [0u8; 11];
        base.copy_from_slice(&digits[..11]);
        let expected = my_number_check_digit(&base);
        if digits[11] != expected {
            return Err(NumberError::CheckDigitMismatch {
                expected,
                found: digits[11],
            });
        }
        Ok(MyNumber(digits))
    }

    /// Completes an 11-digit base with its check digit.
    pub fn complete(base: &str) -> Result<MyNumber, NumberError> {
        let base: [u8; 11] = digits_of(base, "the base of a My Number")?;
        let mut digits = [0u8; 12];
        digits[..11].copy_from_slice(&base);
        digits[11] = my_number_check_digit(&base);
        Ok(MyNumber(digits))
    }

    /// The 12 digits, for the places that legally need them.
    pub fn expose(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }
}

impl fmt::Debug for MyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MyNumber(<redacted>)")
    }
}

/// The 47 prefectures (都道府県) in JIS X 0401 order: code 01 is the first.
pub const PREFECTURES: [(&str, &str); 47] = [
    ("北海道", "Hokkaido"),
    ("青森県", "Aomori"),
    ("岩手県", "Iwate"),
    ("宮城県", "Miyagi"),
    ("秋田県", "Akita"),
    ("山形県", "Yamagata"),
    ("福島県", "Fukushima"),
    ("茨城県", "Ibaraki"),
    ("栃木県", "Tochigi"),
    ("群馬県", "Gunma"),
    ("埼玉県", "Saitama"),
    ("千葉県", "Chiba"),
    ("東京都", "Tokyo"),
    ("神奈川県", "Kanagawa"),
    ("新潟県", "Niigata"),
    ("富山県", "Toyama"),
    ("石川県", "Ishikawa"),
    ("福井県", "Fukui"),
    ("山梨県", "Yamanashi"),
    ("長野県", "Nagano"),
    ("岐阜県", "Gifu"),
    ("静岡県", "Shizuoka"),
    ("愛知県", "Aichi"),
    ("三重県", "Mie"),
    ("滋賀県", "Shiga"),
    ("京都府", "Kyoto"),
    ("大阪府", "Osaka"),
    ("兵庫県", "Hyogo"),
    ("奈良県", "Nara"),
    ("和歌山県", "Wakayama"),
    ("鳥取県", "Tottori"),
    ("島根県", "Shimane"),
    ("岡山県", "Okayama"),
    ("広島県", "Hiroshima"),
    ("山口県", "Yamaguchi"),
    ("徳島県", "Tokushima"),
    ("香川県", "Kagawa"),
    ("愛媛県", "Ehime"),
    ("高知県", "Kochi"),
    ("福岡県", "Fukuoka"),
    ("佐賀県", "Saga"),
    ("長崎県", "Nagasaki"),
    ("熊本県", "Kumamoto"),
    ("大分県", "Oita"),
    ("宮崎県", "Miyazaki"),
    ("鹿児島県", "Kagoshima"),
    ("沖縄県", "Okinawa"),
];

/// The municipality-code check digit over 5 digits: the last digit of
/// 11 − (Σ of the digits weighted 6,5,4,3,2 mod 11).
pub fn municipality_check_digit(base: &[u8; 5]) -> u8 {
    let sum: u32 = base
        .iter()
        .zip([6u32, 5, 4, 3, 2])
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    ((11 - sum % 11) % 10) as u8
}

/// A municipality code (全国地方公共団体コード): 6 digits, the last a check digit.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MunicipalityCode([u8; 6]);

impl MunicipalityCode {
    /// Parses 6 digits and checks the check digit.
    pub fn parse(text: &str) -> Result<MunicipalityCode, NumberError> {
        let digits: [u8; 6] = digits_of(text, "a municipality code")?;
        let mut base = [0u8; 5];
        base.copy_from_slice(&digits[..5]);
        let expected = municipality_check_digit(&base);
        if digits[5] != expected {
            return Err(NumberError::CheckDigitMismatch {
                expected,
                found: digits[5],
            });
        }
        if base[..2] == [0, 0] || base[0] * 10 + base[1] > 47 {
            return Err(NumberError::NoSuchPrefecture);
        }
        Ok(MunicipalityCode(digits))
    }

    /// Completes a 5-digit code with its check digit.
    pub fn complete(base: &str) -> Result<MunicipalityCode, NumberError> {
        let base: [u8; 5] = digits_of(base, "the base of a municipality code")?;
        let mut digits = [0u8; 6];
        digits[..5].copy_from_slice(&base);
        digits[5] = municipality_check_digit(&base);
        MunicipalityCode::parse(&digits.iter().map(|d| char::from(b'0' + d)).collect::<String>())
    }

    /// The prefecture code (都道府県コード), 1–47.
    pub fn prefecture(&self) -> u8 {
        self.0[0] * 10 + self.0[1]
    }

    /// The prefecture's name, Japanese and English.
    pub fn prefecture_name(&self) -> (&'static str, &'static str) {
        // parse guarantees 1 ≤ prefecture ≤ 47.
        PREFECTURES[usize::from(self.prefecture()).saturating_sub(1).min(46)]
    }
}

impl fmt::Display for MunicipalityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.0 {
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for MunicipalityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MunicipalityCode({self})")
    }
}

impl TryFrom<String> for MunicipalityCode {
    type Error = NumberError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        MunicipalityCode::parse(&value)
    }
}

impl From<MunicipalityCode> for String {
    fn from(code: MunicipalityCode) -> String {
        code.to_string()
    }
}

/// Whether free text holds a My Number: a run of 12 digits (ASCII or
/// full-width, spaces and hyphens between them ignored) with a valid check
/// digit. Notes kept in logs and audit entries must not (番号法: the My
/// Number is disclosed only where recorded).
///
/// Digits separated by anything else (年, 月, 時, a letter) are separate
/// runs, so dates and telephone numbers in a note do not count.
pub fn contains_my_number(text: &str) -> bool {
    let mut run = String::new();
    let mut found = false;
    let mut flush = |run: &mut String| {
        if run.len() == 12 && MyNumber::parse(run).is_ok() {
            found = true;
        }
        run.clear();
    };
    for c in text.chars() {
        match c {
            '0'..='9' => run.push(c),
            '０'..='９' => run.extend(char::from_u32(u32::from(c) - u32::from('０') + u32::from('0'))),
            ' ' | '\u{3000}' | '-' | '－' | '‐' => {}
            _ => flush(&mut run),
        }
    }
    flush(&mut run);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples() {
        // rules.md §15: base 12345678901 → Σ = 212 → check 8.
        assert_eq!(
            MyNumber::complete("12345678901").map(|n| n.expose()),
            Ok("123456789018".to_owned())
        );
        assert!(MyNumber::parse("123456789018").is_ok());
        assert!(MyNumber::parse("123456789017").is_err());
        // rules.md §16.
        assert!(MunicipalityCode::parse("011002").is_ok());
        assert!(MunicipalityCode::parse("131016").is_ok());
        assert!(MunicipalityCode::parse("131017").is_err());
        assert_eq!(
            MunicipalityCode::complete("13101").map(|c| c.to_string()),
            Ok("131016".to_owned())
        );
        assert_eq!(MunicipalityCode::parse("131016").map(|c| c.prefecture()), Ok(13));
        assert_eq!(
            MunicipalityCode::parse("011002").map(|c| c.prefecture_name()),
            Ok(("北海道", "Hokkaido"))
        );
        assert_eq!(
            MunicipalityCode::parse("472018").map(|c| c.prefecture_name().0),
            Ok("沖縄県")
        );
        assert_eq!(
            MunicipalityCode::parse("131017").map_err(|e| e.code()),
            Err("check_digit_mismatch")
        );
        assert_eq!(MyNumber::parse("12345").map_err(|e| e.code()), Err("wrong_format"));
    }

    #[test]
    fn malformed_numbers_are_refused() {
        for bad in [
            "",
            "12345678901",
            "1234567890188",
            "12345678901a",
            "１２３４５６７８９０１８",
            " 123456789018",
        ] {
            assert!(MyNumber::parse(bad).is_err(), "{bad:?}");
        }
        assert!(MunicipalityCode::parse("00000").is_err());
        // 480002 has the right check digit, but there is no prefecture 48.
        assert_eq!(municipality_check_digit(&[4, 8, 0, 0, 0]), 2);
        assert!(MunicipalityCode::parse("480002").is_err());
        assert!(MunicipalityCode::complete("48000").is_err());
        assert_eq!(
            format!("{:?}", MyNumber::parse("123456789018")),
            "Ok(MyNumber(<redacted>))"
        );
    }

    #[test]
    fn a_my_number_is_found_in_free_text_and_dates_and_phone_numbers_are_not() {
        assert!(contains_my_number("番号 123456789018 を控え"));
        assert!(contains_my_number("1234 5678 9018"));
        assert!(contains_my_number("番号１２３４５６７８９０１８"));
        assert!(!contains_my_number("123456789019"), "a wrong check digit");
        assert!(!contains_my_number(
            "2026年11月28日 午前10時ごろ 新宿駅 連絡先 03-1234-5678"
        ));
        assert!(!contains_my_number("財布ごと紛失"));
    }
}
