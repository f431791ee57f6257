//! The card's file system, fixed at manufacture: applications (DFs by AID),
//! their EFs by FID, what each EF is and who may read it
//! (card-interface.md §1–§2). The card image holds only the contents; it
//! cannot invent a file, and every PIN and key has its place here.

use mynacard_rules::pin::PinKind;

/// The default ATR: what OpenSC's jpki driver and the MBE extension match
/// (card-interface.md §8; T=1, TCK checks out).
pub const DEFAULT_ATR: [u8; 9] = [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14];

/// The JPKI token EF's content, padded with spaces to 32 bytes (card-interface.md §2.1).
pub const JPKI_TOKEN: &[u8; 32] = b"JPKIAPICCTOKEN2                 ";

/// The largest content a binary EF may hold: the short READ BINARY offset has 15 bits.
pub const MAX_EF_SIZE: usize = 0x8000;

/// The largest data COMPUTE DIGITAL SIGNATURE takes: RSA-2048 minus 11 bytes of padding.
pub const MAX_SIGN_INPUT: usize = 245;

/// An application (DF) of the chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Application {
    /// 公的個人認証AP (JPKI): the certificates, keys and their PINs.
    Jpki,
    /// 券面事項入力補助AP (card-info input support, "kenhojo"): My Number and the basic 4.
    InputSupport,
    /// 券面事項確認AP (card surface, "kenkaku"): the surface entries and the face image.
    Surface,
    /// 住基AP (resident registry): its PIN.
    ResidentRegistry,
}

impl Application {
    /// All four.
    pub const ALL: [Application; 4] = [
        Application::Jpki,
        Application::InputSupport,
        Application::Surface,
        Application::ResidentRegistry,
    ];

    /// The AID (DF name) selected with `00 A4 04 0C 0A <AID>`.
    pub fn aid(self) -> &'static [u8; 10] {
        match self {
            Application::Jpki => &[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01],
            Application::InputSupport => &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08],
            Application::Surface => &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02],
            Application::ResidentRegistry => &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x01, 0x00],
        }
    }

    /// The application whose AID this is (exact match only).
    pub fn from_aid(aid: &[u8]) -> Option<Application> {
        Application::ALL.into_iter().find(|a| a.aid()[..] == *aid)
    }

    /// The number that names the application in management commands (P1) and card images.
    pub fn code(self) -> u8 {
        match self {
            Application::Jpki => 1,
            Application::InputSupport => 2,
            Application::Surface => 3,
            Application::ResidentRegistry => 4,
        }
    }

    /// The application of a [`code`](Application::code).
    pub fn from_code(code: u8) -> Option<Application> {
        Application::ALL.into_iter().find(|a| a.code() == code)
    }
}

/// FIDs of the JPKI AP.
pub mod jpki {
    /// Digital-signature certificate (readable after the signature PIN).
    pub const SIGN_CERT: u16 = 0x0001;
    /// Signature CA certificate.
    pub const SIGN_CA_CERT: u16 = 0x0002;
    /// Token information `JPKIAPICCTOKEN2`.
    pub const TOKEN: u16 = 0x0006;
    /// User-authentication certificate.
    pub const AUTH_CERT: u16 = 0x000A;
    /// Authentication CA certificate.
    pub const AUTH_CA_CERT: u16 = 0x000B;
    /// User-authentication private key.
    pub const AUTH_KEY: u16 = 0x0017;
    /// User-authentication PIN (4 digits, 3 tries).
    pub const AUTH_PIN: u16 = 0x0018;
    /// Digital-signature private key.
    pub const SIGN_KEY: u16 = 0x001A;
    /// Signature password (6–16 of A–Z 0–9, 5 tries).
    pub const SIGN_PIN: u16 = 0x001B;
}

/// FIDs of the card-info input support AP (券面事項入力補助AP).
pub mod input_support {
    /// My Number `FF 10 0C <12 digits> FF FF`.
    pub const MY_NUMBER: u16 = 0x0001;
    /// The basic 4 information `FF 20 …`.
    pub const BASIC_FOUR: u16 = 0x0002;
    /// The producer's signature over the hashes of 0001 and 0002 (`FF 30 …`).
    pub const SIGNATURE: u16 = 0x0003;
    /// The producer's (J-LIS intermediate) certificate, `7F 21 …`.
    pub const PRODUCER_CERT: u16 = 0x0004;
    /// AP basic information `FF 40 …`.
    pub const AP_INFO: u16 = 0x0005;
    /// A key of unknown use (JSAPDU); present, never readable.
    pub const KEY_06: u16 = 0x0006;
    /// The card-authentication key (JSAPDU); present, never readable.
    pub const CARD_AUTH_KEY: u16 = 0x0007;
    /// 券面事項入力補助用暗証番号 (4 digits, 3 tries).
    pub const PIN: u16 = 0x0011;
    /// 照合番号A: the My Number.
    pub const PIN_A: u16 = 0x0014;
    /// 照合番号B: birth YYMMDD + expiry year + security code (14 digits).
    pub const PIN_B: u16 = 0x0015;
}

/// FIDs of the card surface AP (券面事項確認AP).
pub mod surface {
    /// Date of birth.
    pub const BIRTH: u16 = 0x0001;
    /// The surface entries `FF 20 {DF21 … DF2A}`, face image included.
    pub const ENTRIES: u16 = 0x0002;
    /// AP information.
    pub const INFO: u16 = 0x0003;
    /// Certificate.
    pub const CERTIFICATE: u16 = 0x0004;
    /// The My Number side (image).
    pub const MY_NUMBER: u16 = 0x0005;
    /// The birth-date PIN (YYMMDD).
    pub const BIRTH_PIN: u16 = 0x0011;
    /// 照合番号B (14 digits).
    pub const PIN_B: u16 = 0x0012;
    /// 照合番号A (the My Number).
    pub const PIN_A: u16 = 0x0013;
}

/// FIDs of the resident-registry AP (住基AP).
pub mod resident_registry {
    /// 住民基本台帳用暗証番号 (4 digits, 3 tries).
    pub const PIN: u16 = 0x001C;
}

/// Who may read a binary EF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Free,
    /// After any one of these PINs of the same application is verified.
    AfterAnyOf(&'static [u16]),
}

/// What a binary EF holds; management writes are checked against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// An X.509 certificate whose header is `30 82 HH LL` (OpenSC requires it).
    Certificate,
    /// `FF 10 0C <My Number> FF FF`.
    MyNumber,
    /// The basic 4 layout of card-interface.md §2.2.
    BasicFour,
    /// Anything.
    Opaque,
}

/// The format a PIN value must have when it is set or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinFormat {
    /// Exactly 4 digits (auth, input support, resident registry).
    FourDigits,
    /// 6–16 of A–Z and 0–9 with a letter and a digit (signature).
    SignPassword,
    /// A My Number with its check digit (照合番号A).
    MyNumber,
    /// Exactly this many digits.
    Digits(u8),
}

impl PinFormat {
    /// Whether `value` has this format (the rules crate decides for the four 暗証番号).
    pub fn accepts(self, value: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(value) else {
            return false;
        };
        match self {
            PinFormat::FourDigits => mynacard_rules::pin::FourDigitPin::parse(text).is_ok(),
            PinFormat::SignPassword => mynacard_rules::pin::SignPin::parse(text).is_ok(),
            PinFormat::MyNumber => mynacard_rules::numbers::MyNumber::parse(text).is_ok(),
            PinFormat::Digits(n) => value.len() == usize::from(n) && value.iter().all(u8::is_ascii_digit),
        }
    }
}

/// A PIN object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinSpec {
    /// The format of its value.
    pub format: PinFormat,
    /// Consecutive wrong entries before it locks.
    pub limit: u8,
    /// Which of the four 暗証番号 of rules.md §4 it is; these are the PINs a
    /// face-recognition card locks. `None` for the 照合番号 and the birth PIN.
    pub kind: Option<PinKind>,
}

/// A private-key object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// The PIN EF that must be verified before the key signs.
    pub pin: u16,
    /// The certificate EF of this key (cleared when a new key is generated).
    pub certificate: u16,
    /// Whether a face-recognition card keeps this key (the auth key) or loses it (the signature key).
    pub kept_on_face_card: bool,
}

/// What an EF is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EfKind {
    /// A transparent EF, read with READ BINARY.
    Binary {
        /// Its read condition.
        read: Access,
        /// What management may write into it.
        content: Content,
    },
    /// A PIN object (VERIFY, CHANGE REFERENCE DATA).
    Pin(PinSpec),
    /// An RSA-2048 private key (COMPUTE DIGITAL SIGNATURE).
    Key(KeySpec),
    /// A file the real card has whose use is unknown: selectable, never readable.
    Reserved,
}

/// An EF of the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EfSpec {
    /// Its application.
    pub app: Application,
    /// Its FID.
    pub fid: u16,
    /// A short name for documentation and errors.
    pub name: &'static str,
    /// What it is.
    pub kind: EfKind,
}

const fn binary(app: Application, fid: u16, name: &'static str, read: Access, content: Content) -> EfSpec {
    EfSpec {
        app,
        fid,
        name,
        kind: EfKind::Binary { read, content },
    }
}

const fn pin(
    app: Application,
    fid: u16,
    name: &'static str,
    format: PinFormat,
    limit: u8,
    kind: Option<PinKind>,
) -> EfSpec {
    EfSpec {
        app,
        fid,
        name,
        kind: EfKind::Pin(PinSpec { format, limit, kind }),
    }
}

/// Tries of the 照合番号 A/B and the surface birth PIN: unknown on the real
/// card (card-interface.md §3); a choice.
pub const SURFACE_PIN_LIMIT: u8 = 10;

use Access::{AfterAnyOf, Free};
use Application::{InputSupport, Jpki, ResidentRegistry, Surface};

/// Every EF of the card.
pub static FILES: &[EfSpec] = &[
    // JPKI AP (card-interface.md §2.1).
    binary(Jpki, jpki::TOKEN, "JPKI token", Free, Content::Opaque),
    binary(Jpki, jpki::AUTH_CERT, "auth certificate", Free, Content::Certificate),
    binary(
        Jpki,
        jpki::AUTH_CA_CERT,
        "auth CA certificate",
        Free,
        Content::Certificate,
    ),
    binary(
        Jpki,
        jpki::SIGN_CERT,
        "signature certificate",
        AfterAnyOf(&[jpki::SIGN_PIN]),
        Content::Certificate,
    ),
    binary(
        Jpki,
        jpki::SIGN_CA_CERT,
        "signature CA certificate",
        Free,
        Content::Certificate,
    ),
    EfSpec {
        app: Jpki,
        fid: jpki::AUTH_KEY,
        name: "auth private key",
        kind: EfKind::Key(KeySpec {
            pin: jpki::AUTH_PIN,
            certificate: jpki::AUTH_CERT,
            kept_on_face_card: true,
        }),
    },
    pin(
        Jpki,
        jpki::AUTH_PIN,
        "auth PIN",
        PinFormat::FourDigits,
        3,
        Some(PinKind::UserAuthentication),
    ),
    EfSpec {
        app: Jpki,
        fid: jpki::SIGN_KEY,
        name: "signature private key",
        kind: EfKind::Key(KeySpec {
            pin: jpki::SIGN_PIN,
            certificate: jpki::SIGN_CERT,
            kept_on_face_card: false,
        }),
    },
    pin(
        Jpki,
        jpki::SIGN_PIN,
        "signature PIN",
        PinFormat::SignPassword,
        5,
        Some(PinKind::Signature),
    ),
    // 券面事項入力補助AP (card-interface.md §2.2).
    binary(
        InputSupport,
        input_support::MY_NUMBER,
        "My Number",
        AfterAnyOf(&[input_support::PIN]),
        Content::MyNumber,
    ),
    binary(
        InputSupport,
        input_support::BASIC_FOUR,
        "basic 4 information",
        AfterAnyOf(&[input_support::PIN]),
        Content::BasicFour,
    ),
    binary(
        InputSupport,
        input_support::SIGNATURE,
        "input-support signature",
        AfterAnyOf(&[input_support::PIN]),
        Content::Opaque,
    ),
    binary(
        InputSupport,
        input_support::PRODUCER_CERT,
        "producer certificate",
        Free,
        Content::Opaque,
    ),
    binary(
        InputSupport,
        input_support::AP_INFO,
        "AP basic information",
        Free,
        Content::Opaque,
    ),
    EfSpec {
        app: InputSupport,
        fid: input_support::KEY_06,
        name: "key 0006",
        kind: EfKind::Reserved,
    },
    EfSpec {
        app: InputSupport,
        fid: input_support::CARD_AUTH_KEY,
        name: "card-authentication key",
        kind: EfKind::Reserved,
    },
    pin(
        InputSupport,
        input_support::PIN,
        "input-support PIN",
        PinFormat::FourDigits,
        3,
        Some(PinKind::InputSupport),
    ),
    pin(
        InputSupport,
        input_support::PIN_A,
        "input-support PIN A",
        PinFormat::MyNumber,
        SURFACE_PIN_LIMIT,
        None,
    ),
    pin(
        InputSupport,
        input_support::PIN_B,
        "input-support PIN B",
        PinFormat::Digits(14),
        SURFACE_PIN_LIMIT,
        None,
    ),
    // 券面事項確認AP (card-interface.md §2.3; read conditions are choices).
    binary(
        Surface,
        surface::BIRTH,
        "surface birth",
        AfterAnyOf(&[surface::BIRTH_PIN, surface::PIN_A, surface::PIN_B]),
        Content::Opaque,
    ),
    binary(
        Surface,
        surface::ENTRIES,
        "surface entries",
        AfterAnyOf(&[surface::PIN_A, surface::PIN_B]),
        Content::Opaque,
    ),
    binary(Surface, surface::INFO, "surface AP information", Free, Content::Opaque),
    binary(
        Surface,
        surface::CERTIFICATE,
        "surface certificate",
        Free,
        Content::Opaque,
    ),
    binary(
        Surface,
        surface::MY_NUMBER,
        "surface My Number",
        AfterAnyOf(&[surface::PIN_A]),
        Content::Opaque,
    ),
    pin(
        Surface,
        surface::BIRTH_PIN,
        "surface birth PIN",
        PinFormat::Digits(6),
        SURFACE_PIN_LIMIT,
        None,
    ),
    pin(
        Surface,
        surface::PIN_B,
        "surface PIN B",
        PinFormat::Digits(14),
        SURFACE_PIN_LIMIT,
        None,
    ),
    pin(
        Surface,
        surface::PIN_A,
        "surface PIN A",
        PinFormat::MyNumber,
        SURFACE_PIN_LIMIT,
        None,
    ),
    // 住基AP.
    pin(
        ResidentRegistry,
        resident_registry::PIN,
        "resident-registry PIN",
        PinFormat::FourDigits,
        3,
        Some(PinKind::ResidentRegistry),
    ),
];

/// The EF `fid` of `app`.
pub fn ef(app: Application, fid: u16) -> Option<&'static EfSpec> {
    FILES.iter().find(|f| f.app == app && f.fid == fid)
}

/// The PIN object `fid` of `app`.
pub fn pin_spec(app: Application, fid: u16) -> Option<PinSpec> {
    match ef(app, fid)?.kind {
        EfKind::Pin(spec) => Some(spec),
        _ => None,
    }
}

/// The key object `fid` of `app`.
pub fn key_spec(app: Application, fid: u16) -> Option<KeySpec> {
    match ef(app, fid)?.kind {
        EfKind::Key(spec) => Some(spec),
        _ => None,
    }
}

/// Every PIN object, as (application, FID, spec).
pub fn pins() -> impl Iterator<Item = (Application, u16, PinSpec)> {
    FILES.iter().filter_map(|f| match f.kind {
        EfKind::Pin(spec) => Some((f.app, f.fid, spec)),
        _ => None,
    })
}

/// Every key object, as (application, FID, spec).
pub fn keys() -> impl Iterator<Item = (Application, u16, KeySpec)> {
    FILES.iter().filter_map(|f| match f.kind {
        EfKind::Key(spec) => Some((f.app, f.fid, spec)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fids_are_unique_and_short_ef_addressable() {
        for (i, a) in FILES.iter().enumerate() {
            for b in &FILES[i + 1..] {
                assert!(a.app != b.app || a.fid != b.fid, "{} and {}", a.name, b.name);
            }
            // Short-EF forms (READ BINARY P1 = 80|SFI, VERIFY P2 = 80|SFI) reach every EF.
            assert!((1..=0x1E).contains(&a.fid), "{}", a.name);
        }
    }

    #[test]
    fn pins_follow_the_rules() {
        for (_, _, spec) in pins() {
            if let Some(kind) = spec.kind {
                assert_eq!(spec.limit, kind.retry_limit());
            }
        }
        assert_eq!(pin_spec(Jpki, jpki::AUTH_PIN).map(|s| s.limit), Some(3));
        assert_eq!(pin_spec(Jpki, jpki::SIGN_PIN).map(|s| s.limit), Some(5));
        assert!(PinFormat::SignPassword.accepts(b"ABC123"));
        assert!(!PinFormat::SignPassword.accepts(b"abc123"));
        assert!(PinFormat::FourDigits.accepts(b"0000"));
        assert!(!PinFormat::FourDigits.accepts(b"00000"));
        assert!(!PinFormat::FourDigits.accepts(&[0xFF, 0xFE, 0x30, 0x30]));
        assert!(PinFormat::Digits(14).accepts(b"80010120341234"));
        assert!(PinFormat::MyNumber.accepts(b"123456789018"));
        assert!(!PinFormat::MyNumber.accepts(b"123456789012"));
    }

    #[test]
    fn aids_round_trip() {
        for app in Application::ALL {
            assert_eq!(Application::from_aid(app.aid()), Some(app));
            assert_eq!(Application::from_code(app.code()), Some(app));
        }
        assert_eq!(Application::from_aid(&[0xA0, 0x00, 0x00, 0x03, 0x08]), None);
    }
}
