//! Card production (カード製造) and delivery: what the card producer's line
//! does to a blank chip, through the management protocol of [`admin`] only —
//! keys generated **on the card**, the public keys certified by the CA, the
//! certificates, My Number, the basic 4 and the surface written, the PINs
//! set at delivery.
//!
//! The [`Producer`] holds the two secrets of the producer: the master key
//! from which every card's management key is diversified, and the producer
//! key (RSA-2048) that signs the input-support data and the surface entries
//! so that a reader can check they are genuine. Its certificate (EF 0004) is
//! issued once by an issuer key (J-LIS in the real system) that is thrown
//! away after signing; only its public key is kept, to verify with.
//!
//! On disk ([`Producer::load_or_create`]), a producer directory holds
//! `master.key` (32 bytes), `producer.key` (PKCS#8 encrypted under a key
//! derived from the master key), `producer-certificate.bin` (EF 0004) and
//! `issuer.spki` (DER), the secrets with mode 0600. In production these
//! belong in an HSM; the files are for demonstrations and tests.
//!
//! [`admin`]: crate::admin

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use mynacard_pki::signer::write_atomically;
use mynacard_pki::{Signer, SoftwareKey};
use mynacard_rules::numbers::MyNumber;
use zeroize::Zeroizing;

use crate::admin::{AdminError, ManagementSession, Transmit};
use crate::crypto::{hmac_sha256, Entropy, RsaPublic, SystemEntropy};
use crate::image::CardSerial;
use crate::input_support::{self, BasicFour, ContentError};
use crate::layout::{input_support as kenhojo, jpki, resident_registry, surface as kenkaku, Application};
use crate::surface::{self, SurfaceEntries};
use crate::ManagementKey;

/// Which JPKI key a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JpkiKey {
    /// 利用者証明用電子証明書: the user-authentication key (EF 0017, PIN 0018).
    Auth,
    /// 署名用電子証明書: the signature key (EF 001A, PIN 001B).
    Sign,
}

impl JpkiKey {
    /// The key EF.
    pub fn key_fid(self) -> u16 {
        match self {
            JpkiKey::Auth => jpki::AUTH_KEY,
            JpkiKey::Sign => jpki::SIGN_KEY,
        }
    }

    /// The certificate EF.
    pub fn certificate_fid(self) -> u16 {
        match self {
            JpkiKey::Auth => jpki::AUTH_CERT,
            JpkiKey::Sign => jpki::SIGN_CERT,
        }
    }

    /// The issuing CA's certificate EF.
    pub fn ca_certificate_fid(self) -> u16 {
        match self {
            JpkiKey::Auth => jpki::AUTH_CA_CERT,
            JpkiKey::Sign => jpki::SIGN_CA_CERT,
        }
    }

    /// The PIN EF that guards the key.
    pub fn pin_fid(self) -> u16 {
        match self {
            JpkiKey::Auth => jpki::AUTH_PIN,
            JpkiKey::Sign => jpki::SIGN_PIN,
        }
    }
}

/// A certificate the CA issued for a key made on the card, with its issuer's.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    /// The end-entity certificate (DER).
    pub certificate: Vec<u8>,
    /// The issuing CA's certificate (DER), written beside it.
    pub ca_certificate: Vec<u8>,
}

/// The CA as the production line sees it: certifies a public key made on
/// the card. Any `FnMut(JpkiKey, &[u8]) -> Result<IssuedCertificate, String>`
/// is one.
pub trait CertificateIssuer {
    /// Issues the certificate for `key`, whose public key is `spki` (DER).
    fn certify(&mut self, key: JpkiKey, spki: &[u8]) -> Result<IssuedCertificate, String>;
}

impl<F: FnMut(JpkiKey, &[u8]) -> Result<IssuedCertificate, String>> CertificateIssuer for F {
    fn certify(&mut self, key: JpkiKey, spki: &[u8]) -> Result<IssuedCertificate, String> {
        self(key, spki)
    }
}

/// The PINs the holder chooses at delivery (交付時の暗証番号設定). `None`
/// leaves a PIN unset (a minor's signature password, a face card's PINs).
#[derive(Default)]
pub struct DeliveryPins {
    /// 利用者証明用電子証明書 暗証番号: 4 digits.
    pub auth: Option<Zeroizing<String>>,
    /// 署名用電子証明書 暗証番号: 6–16 of A–Z 0–9.
    pub sign: Option<Zeroizing<String>>,
    /// 券面事項入力補助用 暗証番号: 4 digits.
    pub input_support: Option<Zeroizing<String>>,
    /// 住民基本台帳用 暗証番号: 4 digits.
    pub registry: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for DeliveryPins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |p: &Option<Zeroizing<String>>| if p.is_some() { "set" } else { "unset" };
        f.debug_struct("DeliveryPins")
            .field("auth", &set(&self.auth))
            .field("sign", &set(&self.sign))
            .field("input_support", &set(&self.input_support))
            .field("registry", &set(&self.registry))
            .finish()
    }
}

/// What one card is made with.
#[derive(Debug)]
pub struct CardOrder {
    /// The holder's My Number (個人番号).
    pub my_number: MyNumber,
    /// 基本4情報 as printed on the card.
    pub basic_four: BasicFour,
    /// The card's last valid day (有効期限).
    pub expiry: NaiveDate,
    /// The face photograph (bytes of an image file).
    pub face_image: Vec<u8>,
    /// Whether a signature certificate is made (not for under-15s, adult
    /// wards, or face-recognition cards).
    pub signature: bool,
    /// 顔認証マイナンバーカード: the four PINs locked, no signature key.
    pub face_recognition: bool,
    /// The PINs set at delivery.
    pub pins: DeliveryPins,
}

/// What production made, for the registry.
#[derive(Debug, Clone)]
pub struct ProducedCard {
    /// The card's serial.
    pub serial: CardSerial,
    /// The auth certificate and its CA's.
    pub auth: IssuedCertificate,
    /// The signature certificate and its CA's, when one was made.
    pub sign: Option<IssuedCertificate>,
    /// The 4-digit security code (セキュリティコード) printed on the card, part of
    /// 照合番号B.
    pub security_code: String,
}

/// Why a card could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ProductionError {
    /// The card refused a management command, or the transport failed.
    #[error("card: {0}")]
    Card(#[from] AdminError),
    /// The data does not fit the card's layout.
    #[error("card content: {0}")]
    Content(#[from] ContentError),
    /// The CA refused to certify a key.
    #[error("certificate authority: {0}")]
    Issuer(String),
    /// The producer's files.
    #[error("producer: {0}")]
    Producer(String),
}

/// 照合番号B: birth YYMMDD, the expiry year, the security code (14 digits).
pub fn collation_number_b(birth: NaiveDate, expiry: NaiveDate, security_code: &str) -> String {
    format!("{}{:04}{security_code}", birth.format("%y%m%d"), expiry.year())
}

/// The card producer's keys.
pub struct Producer {
    master: Zeroizing<[u8; 32]>,
    key: SoftwareKey,
    certificate_ef: Vec<u8>,
    issuer_spki: Vec<u8>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Producer(<secret>)")
    }
}

const MASTER_FILE: &str = "master.key";
const KEY_FILE: &str = "producer.key";
const CERTIFICATE_FILE: &str = "producer-certificate.bin";
const ISSUER_FILE: &str = "issuer.spki";

impl Producer {
    /// A new producer: a random master key, a new producer key, its
    /// certificate from a one-time issuer key.
    pub fn generate() -> Result<Producer, ProductionError> {
        let mut master = Zeroizing::new([0u8; 32]);
        SystemEntropy
            .fill(&mut master[..])
            .map_err(|e| ProductionError::Producer(e.to_string()))?;
        let key = SoftwareKey::generate().map_err(|e| ProductionError::Producer(e.to_string()))?;
        let issuer = SoftwareKey::generate().map_err(|e| ProductionError::Producer(e.to_string()))?;
        Producer::from_parts(master, key, &issuer)
    }

    /// A producer from given keys (tests: fixed keys make fixed cards).
    pub fn from_parts(
        master: Zeroizing<[u8; 32]>,
        key: SoftwareKey,
        issuer: &dyn Signer,
    ) -> Result<Producer, ProductionError> {
        let issuer_id = id16(issuer.public_key_der());
        let subject_id = id16(key.public_key_der());
        let certificate_ef =
            input_support::producer_certificate_ef(issuer_id, subject_id, key.public_key_der(), issuer)?;
        Ok(Producer {
            master,
            key,
            certificate_ef,
            issuer_spki: issuer.public_key_der().to_vec(),
        })
    }

    /// Reads the producer in `dir`, or creates it there (and `dir`) if
    /// there is none.
    pub fn load_or_create(dir: &Path) -> Result<Producer, ProductionError> {
        let io = |what: &str, e: &dyn std::fmt::Display| ProductionError::Producer(format!("{what}: {e}"));
        std::fs::create_dir_all(dir).map_err(|e| io(&dir.display().to_string(), &e))?;
        // Two production runs starting together on a fresh directory must
        // not each make a producer: the check and the creation are one step
        // under this lock (released when the file closes).
        let lock_path = dir.join(".lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io(&lock_path.display().to_string(), &e))?;
        lock.lock().map_err(|e| io(&lock_path.display().to_string(), &e))?;
        let master_path = dir.join(MASTER_FILE);
        if !master_path.exists() {
            let producer = Producer::generate()?;
            let write = |name: &str, bytes: &[u8], private: bool| {
                write_atomically(&dir.join(name), bytes, private).map_err(|e| io(name, &e))
            };
            producer
                .key
                .save_encrypted(&dir.join(KEY_FILE), &producer.file_passphrase()[..])
                .map_err(|e| io(KEY_FILE, &e))?;
            write(CERTIFICATE_FILE, &producer.certificate_ef, false)?;
            write(ISSUER_FILE, &producer.issuer_spki, false)?;
            // The master key last: its presence says the directory is complete.
            write(MASTER_FILE, &producer.master[..], true)?;
            return Ok(producer);
        }
        let read =
            |name: &str| std::fs::read(dir.join(name)).map_err(|e| io(&dir.join(name).display().to_string(), &e));
        let bytes = Zeroizing::new(read(MASTER_FILE)?);
        let master: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| ProductionError::Producer(format!("{MASTER_FILE} must hold exactly 32 bytes")))?;
        let mut producer = Producer {
            master: Zeroizing::new(master),
            key: SoftwareKey::generate().map_err(|e| ProductionError::Producer(e.to_string()))?,
            certificate_ef: read(CERTIFICATE_FILE)?,
            issuer_spki: read(ISSUER_FILE)?,
        };
        producer.key = SoftwareKey::load_encrypted(&dir.join(KEY_FILE), &producer.file_passphrase()[..])
            .map_err(|e| io(KEY_FILE, &e))?;
        RsaPublic::from_spki(&producer.issuer_spki).map_err(|e| io(ISSUER_FILE, &e))?;
        let key_tlvs = input_support::public_key_tlvs(producer.key.public_key_der())?;
        if !producer
            .certificate_ef
            .windows(key_tlvs.len())
            .any(|w| w == key_tlvs.as_slice())
        {
            return Err(ProductionError::Producer(format!(
                "{CERTIFICATE_FILE} is not the issuer's certificate of the producer key"
            )));
        }
        Ok(producer)
    }

    fn file_passphrase(&self) -> Zeroizing<Vec<u8>> {
        let key = hmac_sha256(&self.master[..], &[b"mynacard producer key file v1"]);
        Zeroizing::new(key.iter().map(|b| format!("{b:02x}")).collect::<String>().into_bytes())
    }

    /// The management key of the card with `serial` (カード管理鍵).
    pub fn management_key(&self, serial: CardSerial) -> ManagementKey {
        ManagementKey::derive(&self.master[..], serial)
    }

    /// Opens a management session on `card` with its diversified key.
    pub fn open_session(&self, card: &mut dyn Transmit) -> Result<ManagementSession, AdminError> {
        ManagementSession::open_with_master(card, &self.master[..])
    }

    /// The producer's public key (SubjectPublicKeyInfo, DER): what checks
    /// the input-support signature EF and the surface entries.
    pub fn public_key_der(&self) -> &[u8] {
        self.key.public_key_der()
    }

    /// The issuer's public key, which checks EF 0004.
    pub fn issuer_public_key_der(&self) -> &[u8] {
        &self.issuer_spki
    }

    /// Personalises the blank card behind `card`: keys made on the card,
    /// `issuer` certifies each public key, everything written, the PINs set.
    /// The card is usable only when this returns `Ok`; on an error it is to
    /// be discarded (a real line shreds it).
    pub fn personalise(
        &self,
        card: &mut dyn Transmit,
        order: &CardOrder,
        issuer: &mut dyn CertificateIssuer,
    ) -> Result<ProducedCard, ProductionError> {
        use Application::{InputSupport, Jpki, ResidentRegistry, Surface};
        let mut session = self.open_session(card)?;
        let serial = session.serial();

        let mut certify = |session: &mut ManagementSession, card: &mut dyn Transmit, which: JpkiKey| {
            let spki = session.generate_key_pair(card, Jpki, which.key_fid())?;
            let issued = issuer.certify(which, &spki).map_err(ProductionError::Issuer)?;
            session.write_file(card, Jpki, which.certificate_fid(), &issued.certificate)?;
            session.write_file(card, Jpki, which.ca_certificate_fid(), &issued.ca_certificate)?;
            Ok::<_, ProductionError>(issued)
        };
        let auth = certify(&mut session, card, JpkiKey::Auth)?;
        let sign = if order.signature && !order.face_recognition {
            Some(certify(&mut session, card, JpkiKey::Sign)?)
        } else {
            None
        };

        let my_number_ef = input_support::my_number_ef(&order.my_number);
        let basic_four_ef = input_support::basic_four_ef(&order.basic_four)?;
        let signature_ef = input_support::signature_ef(&my_number_ef, &basic_four_ef, &self.key)?;
        let ap_info = input_support::ap_info_ef([0x01, 0x00, 0x00, 0x01], id16(self.key.public_key_der()));
        for (fid, content) in [
            (kenhojo::MY_NUMBER, &my_number_ef),
            (kenhojo::BASIC_FOUR, &basic_four_ef),
            (kenhojo::SIGNATURE, &signature_ef),
            (kenhojo::PRODUCER_CERT, &self.certificate_ef),
            (kenhojo::AP_INFO, &ap_info),
        ] {
            session.write_file(card, InputSupport, fid, content)?;
        }

        let security_code = {
            let mut random = [0u8; 2];
            SystemEntropy
                .fill(&mut random)
                .map_err(|e| ProductionError::Producer(e.to_string()))?;
            format!("{:04}", u16::from_be_bytes(random) % 10_000)
        };
        let birth = order.basic_four.birth;
        let entries = SurfaceEntries {
            birth,
            sex: order.basic_four.sex,
            name_image: text_image(&order.basic_four.name),
            address_image: text_image(&order.basic_four.address),
            face_image: order.face_image.clone(),
            expiry: order.expiry,
            security_code_image: text_image(&security_code),
        };
        let entries_ef = surface::entries_ef(&entries, &self.key)?;
        let my_number_image = text_image(&order.my_number.expose());
        for (fid, content) in [
            (kenkaku::BIRTH, birth.format("%Y%m%d").to_string().into_bytes()),
            (kenkaku::ENTRIES, entries_ef),
            (kenkaku::INFO, vec![0xFF, 0x40, 0x02, 0xDF, 0x00]),
            (kenkaku::MY_NUMBER, my_number_image),
        ] {
            session.write_file(card, Surface, fid, &content)?;
        }

        let pin_a = Zeroizing::new(order.my_number.expose().into_bytes());
        let pin_b = Zeroizing::new(collation_number_b(birth, order.expiry, &security_code).into_bytes());
        let birth_pin = Zeroizing::new(birth.format("%y%m%d").to_string().into_bytes());
        let mut pins: Vec<(Application, u16, &[u8])> = vec![
            (InputSupport, kenhojo::PIN_A, &pin_a),
            (InputSupport, kenhojo::PIN_B, &pin_b),
            (Surface, kenkaku::BIRTH_PIN, &birth_pin),
            (Surface, kenkaku::PIN_A, &pin_a),
            (Surface, kenkaku::PIN_B, &pin_b),
        ];
        if !order.face_recognition {
            let chosen = [
                (Jpki, jpki::AUTH_PIN, &order.pins.auth),
                (
                    Jpki,
                    jpki::SIGN_PIN,
                    if sign.is_some() { &order.pins.sign } else { &None },
                ),
                (InputSupport, kenhojo::PIN, &order.pins.input_support),
                (ResidentRegistry, resident_registry::PIN, &order.pins.registry),
            ];
            for (app, fid, value) in chosen {
                if let Some(value) = value {
                    pins.push((app, fid, value.as_bytes()));
                }
            }
        }
        for (app, fid, value) in pins {
            session.set_pin(card, app, fid, value)?;
        }
        if order.face_recognition {
            session.set_face_recognition(card, true)?;
        }
        Ok(ProducedCard {
            serial,
            auth,
            sign,
            security_code,
        })
    }
}

/// The first 16 bytes of SHA-256 of a public key: the key identifiers of
/// EF 0004 and 0005.
fn id16(spki: &[u8]) -> [u8; 16] {
    let digest = crate::crypto::sha256(spki);
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id
}

/// Where the real card stores a picture of printed text (name, address,
/// security code, My Number), this one stores the text itself, UTF-8,
/// behind a marker: `mynacard-text:` ‖ text. Readers that display the
/// surface (the window, the medical reader) render it.
pub fn text_image(text: &str) -> Vec<u8> {
    [TEXT_IMAGE_MARKER, text.as_bytes()].concat()
}

/// A stand-in face photograph (an SVG silhouette with `label` under it) for
/// cards made without a photo: demos, tests, the simulation.
pub fn placeholder_photo(label: &str) -> Vec<u8> {
    let label: String = label
        .chars()
        .take(16)
        .map(|c| match c {
            '&' | '<' | '>' | '"' => ' ',
            c => c,
        })
        .collect();
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"240\" height=\"300\" viewBox=\"0 0 240 300\">\
<rect width=\"240\" height=\"300\" fill=\"#dfe6ee\"/><circle cx=\"120\" cy=\"115\" r=\"60\" fill=\"#9aa9b8\"/>\
<rect x=\"40\" y=\"190\" width=\"160\" height=\"110\" rx=\"70\" fill=\"#9aa9b8\"/>\
<text x=\"120\" y=\"290\" font-size=\"14\" text-anchor=\"middle\" fill=\"#1a1a1a\">{label}</text></svg>"
    )
    .into_bytes()
}

/// The marker of [`text_image`].
pub const TEXT_IMAGE_MARKER: &[u8] = b"mynacard-text:";
