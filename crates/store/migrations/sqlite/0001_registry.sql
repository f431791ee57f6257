-- The resident registry (SQLite). Dates are 'YYYY-MM-DD' text, instants
-- 'YYYY-MM-DDTHH:MM:SS.ffffffZ' text (UTC, fixed width: text order is time
-- order), booleans 0/1. The PostgreSQL twin is migrations/postgres/0001.

-- 市区町村: the municipalities, by 全国地方公共団体コード (5 digits and a check
-- digit, rules.md §16). settings: the municipality's JSON object (kiosk
-- documents and fees, …), interpreted by the layers above.
CREATE TABLE municipalities (
    code            TEXT PRIMARY KEY CHECK (
        length(code) = 6 AND code NOT GLOB '*[^0-9]*'
        AND CAST(substr(code, 6, 1) AS INTEGER) = (11 - (
              6 * CAST(substr(code, 1, 1) AS INTEGER) + 5 * CAST(substr(code, 2, 1) AS INTEGER)
            + 4 * CAST(substr(code, 3, 1) AS INTEGER) + 3 * CAST(substr(code, 4, 1) AS INTEGER)
            + 2 * CAST(substr(code, 5, 1) AS INTEGER)) % 11) % 10),
    prefecture_code INTEGER NOT NULL CHECK (
        prefecture_code BETWEEN 1 AND 47 AND prefecture_code = CAST(substr(code, 1, 2) AS INTEGER)),
    name_ja         TEXT NOT NULL CHECK (length(name_ja) > 0),
    name_en         TEXT NOT NULL CHECK (length(name_en) > 0),
    settings        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings) AND json_type(settings) = 'object')
);

-- 住民票: the resident records. my_number is the 個人番号 (12 digits, the
-- last a check digit, rules.md §15), unique. version: optimistic locking.
CREATE TABLE residents (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    municipality_code   TEXT NOT NULL REFERENCES municipalities (code),
    my_number           TEXT NOT NULL UNIQUE CHECK (
        length(my_number) = 12 AND my_number NOT GLOB '*[^0-9]*'
        -- check = (11 − Σ mod 11) mod 11 mod 10: 0 when Σ mod 11 ≤ 1.
        AND CAST(substr(my_number, 12, 1) AS INTEGER) = (11 - (
              6 * CAST(substr(my_number, 1, 1) AS INTEGER) + 5 * CAST(substr(my_number, 2, 1) AS INTEGER)
            + 4 * CAST(substr(my_number, 3, 1) AS INTEGER) + 3 * CAST(substr(my_number, 4, 1) AS INTEGER)
            + 2 * CAST(substr(my_number, 5, 1) AS INTEGER) + 7 * CAST(substr(my_number, 6, 1) AS INTEGER)
            + 6 * CAST(substr(my_number, 7, 1) AS INTEGER) + 5 * CAST(substr(my_number, 8, 1) AS INTEGER)
            + 4 * CAST(substr(my_number, 9, 1) AS INTEGER) + 3 * CAST(substr(my_number, 10, 1) AS INTEGER)
            + 2 * CAST(substr(my_number, 11, 1) AS INTEGER)) % 11) % 11 % 10),
    name                TEXT NOT NULL CHECK (length(name) > 0),
    name_kana           TEXT NOT NULL,
    address             TEXT NOT NULL CHECK (length(address) > 0),
    birth_date          TEXT NOT NULL CHECK (date(birth_date, '+0 days') IS birth_date),
    sex                 TEXT NOT NULL CHECK (sex IN ('male', 'female')),
    nationality         TEXT NOT NULL CHECK (nationality GLOB '[A-Z][A-Z]'),
    residence_kind      TEXT NOT NULL CHECK (residence_kind IN ('japanese', 'foreign_permanent', 'foreign_with_stay')),
    stay_until          TEXT CHECK (stay_until IS NULL OR date(stay_until, '+0 days') IS stay_until),
    status              TEXT NOT NULL CHECK (status IN ('resident', 'moved_out', 'deceased', 'abroad')),
    status_changed_on   TEXT CHECK (status_changed_on IS NULL OR date(status_changed_on, '+0 days') IS status_changed_on),
    seal_registered     INTEGER NOT NULL DEFAULT 0 CHECK (seal_registered IN (0, 1)),
    honseki             TEXT,
    household_id        TEXT,
    support_measure     INTEGER NOT NULL DEFAULT 0 CHECK (support_measure IN (0, 1)),
    adult_ward          INTEGER NOT NULL DEFAULT 0 CHECK (adult_ward IN (0, 1)),
    moved_in_on         TEXT CHECK (moved_in_on IS NULL OR date(moved_in_on, '+0 days') IS moved_in_on),
    move_in_notified_on TEXT CHECK (move_in_notified_on IS NULL OR date(move_in_notified_on, '+0 days') IS move_in_notified_on),
    planned_move_out_on TEXT CHECK (planned_move_out_on IS NULL OR date(planned_move_out_on, '+0 days') IS planned_move_out_on),
    moved_out_on        TEXT CHECK (moved_out_on IS NULL OR date(moved_out_on, '+0 days') IS moved_out_on),
    version             INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL CHECK (updated_at >= created_at),
    -- 在留期間満了日 exactly for foreign residents with a period of stay.
    CHECK ((residence_kind = 'foreign_with_stay') = (stay_until IS NOT NULL)),
    -- Japanese nationals and only they are 'JP' and have a 本籍.
    CHECK ((residence_kind = 'japanese') = (nationality = 'JP')),
    CHECK ((residence_kind = 'japanese') = (honseki IS NOT NULL)),
    -- A move-out (転出) is filed with its planned date.
    CHECK (status <> 'moved_out' OR planned_move_out_on IS NOT NULL),
    CHECK (move_in_notified_on IS NULL OR moved_in_on IS NULL OR move_in_notified_on >= moved_in_on)
);
CREATE INDEX residents_municipality ON residents (municipality_code, status);
CREATE INDEX residents_household ON residents (household_id) WHERE household_id IS NOT NULL;

-- 交付申請: applications for a card. jlis_received_on (J-LIS受付日) chooses
-- the age regime of the card's validity (rules.md §2).
CREATE TABLE applications (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    resident_id       INTEGER NOT NULL REFERENCES residents (id),
    municipality_code TEXT NOT NULL REFERENCES municipalities (code),
    kind              TEXT NOT NULL CHECK (kind IN ('new', 'renewal', 'reissue')),
    channel           TEXT NOT NULL CHECK (channel IN ('window', 'online', 'mail')),
    received_on       TEXT NOT NULL CHECK (date(received_on, '+0 days') IS received_on),
    jlis_received_on  TEXT CHECK (jlis_received_on IS NULL OR date(jlis_received_on, '+0 days') IS jlis_received_on),
    face_recognition  INTEGER NOT NULL CHECK (face_recognition IN (0, 1)),
    signature_wanted  INTEGER NOT NULL CHECK (signature_wanted IN (0, 1)),
    status            TEXT NOT NULL CHECK (status IN ('received', 'in_production', 'produced', 'delivered', 'cancelled', 'refused')),
    reissue_cause     TEXT CHECK (reissue_cause IS NULL
        OR reissue_cause IN ('loss', 'theft', 'fire', 'damage', 'malfunction', 'full_entries', 'stay_expired')),
    photo_ref         TEXT,
    CHECK ((kind = 'reissue') = (reissue_cause IS NOT NULL)),
    -- A face-recognition card carries no signature certificate (rules.md §11).
    CHECK (NOT (face_recognition = 1 AND signature_wanted = 1)),
    CHECK (jlis_received_on IS NULL OR jlis_received_on >= received_on)
);
CREATE INDEX applications_resident ON applications (resident_id);

-- マイナンバーカード: the cards. serial: 16 hex digits (the chip's serial).
-- issued_on: 発行日 (J-LIS produced it); expires_on: 有効期限, the last valid
-- day; lapsed_on: 失効日, the first day no longer valid.
CREATE TABLE cards (
    serial            TEXT PRIMARY KEY CHECK (length(serial) = 16 AND serial NOT GLOB '*[^0-9A-F]*'),
    resident_id       INTEGER NOT NULL REFERENCES residents (id),
    application_id    INTEGER REFERENCES applications (id),
    status            TEXT NOT NULL CHECK (status IN ('produced', 'active', 'suspended', 'lapsed', 'expired', 'returned', 'invalid')),
    face_recognition  INTEGER NOT NULL CHECK (face_recognition IN (0, 1)),
    issued_on         TEXT NOT NULL CHECK (date(issued_on, '+0 days') IS issued_on),
    expires_on        TEXT NOT NULL CHECK (date(expires_on, '+0 days') IS expires_on),
    delivered_on      TEXT CHECK (delivered_on IS NULL OR date(delivered_on, '+0 days') IS delivered_on),
    lapsed_on         TEXT CHECK (lapsed_on IS NULL OR date(lapsed_on, '+0 days') IS lapsed_on),
    lapse_reason      TEXT CHECK (lapse_reason IS NULL OR lapse_reason IN ('expired', 'stay_ended', 'late_move_in',
        'no_move_in_after_move_out', 'card_not_updated_after_move_in', 'moved_again_before_update', 'death',
        'record_removed', 'departed_abroad', 'returned')),
    image_location    TEXT,
    status_changed_at TEXT NOT NULL CHECK (length(status_changed_at) = 27 AND status_changed_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CHECK (expires_on >= issued_on),
    CHECK (delivered_on IS NULL OR delivered_on >= issued_on),
    CHECK ((lapsed_on IS NULL) = (lapse_reason IS NULL)),
    CHECK (status <> 'lapsed' OR lapsed_on IS NOT NULL),
    CHECK (status NOT IN ('active', 'suspended') OR delivered_on IS NOT NULL)
);
-- At most one card in use (active or suspended) and at most one in
-- production per resident: a renewal's or reissue's new card is produced
-- while the old one is still in the holder's hands, and replaces it at
-- delivery in one transaction.
CREATE UNIQUE INDEX cards_one_in_use ON cards (resident_id) WHERE status IN ('active', 'suspended');
CREATE UNIQUE INDEX cards_one_in_production ON cards (resident_id) WHERE status = 'produced';
CREATE INDEX cards_expiry ON cards (expires_on) WHERE status IN ('active', 'suspended');
-- A card that left use (lapsed, expired, returned, invalid) never comes
-- back, and nothing goes back into production.
CREATE TRIGGER cards_status_forward BEFORE UPDATE OF status ON cards
WHEN NEW.status <> OLD.status AND (
    (OLD.status IN ('lapsed', 'expired', 'returned', 'invalid') AND NEW.status IN ('produced', 'active', 'suspended'))
    OR NEW.status = 'produced')
BEGIN
    SELECT RAISE(ABORT, 'card status may not go back to produced, active or suspended');
END;

-- 追記欄: the additional entries written on a card's surface, numbered 1, 2, …
CREATE TABLE surface_entries (
    card_serial TEXT NOT NULL REFERENCES cards (serial),
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    entered_on  TEXT NOT NULL CHECK (date(entered_on, '+0 days') IS entered_on),
    kind        TEXT NOT NULL CHECK (kind IN ('address', 'name', 'face_recognition', 'validity_change', 'other')),
    text        TEXT NOT NULL CHECK (length(text) > 0),
    PRIMARY KEY (card_serial, seq)
);

-- 電子証明書: the registry's view of the certificates (the CA keeps the DER).
-- serial: upper-case hex. not_after: the last valid day. revoked_at and
-- reason (RFC 5280 CRLReason code) record when and why the status left
-- good; a hold is reason 6 (certificateHold).
CREATE TABLE certificates (
    serial      TEXT PRIMARY KEY CHECK (
        length(serial) BETWEEN 2 AND 40 AND length(serial) % 2 = 0 AND serial NOT GLOB '*[^0-9A-F]*'),
    card_serial TEXT REFERENCES cards (serial),
    resident_id INTEGER NOT NULL REFERENCES residents (id),
    kind        TEXT NOT NULL CHECK (kind IN ('auth', 'sign', 'smartphone_auth', 'smartphone_sign')),
    platform    TEXT CHECK (platform IS NULL OR platform IN ('android', 'iphone')),
    status      TEXT NOT NULL CHECK (status IN ('good', 'hold', 'revoked', 'expired')),
    issued_on   TEXT NOT NULL CHECK (date(issued_on, '+0 days') IS issued_on),
    not_after   TEXT NOT NULL CHECK (date(not_after, '+0 days') IS not_after),
    revoked_at  TEXT CHECK (revoked_at IS NULL OR (length(revoked_at) = 27 AND revoked_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')),
    reason      INTEGER CHECK (reason IS NULL OR reason BETWEEN 0 AND 6),
    CHECK (not_after >= issued_on),
    -- Card certificates live on a card; smartphone ones on a platform.
    CHECK (kind IN ('smartphone_auth', 'smartphone_sign') OR card_serial IS NOT NULL),
    CHECK ((kind IN ('smartphone_auth', 'smartphone_sign')) = (platform IS NOT NULL)),
    CHECK ((revoked_at IS NULL) = (reason IS NULL)),
    CHECK (status <> 'good' OR revoked_at IS NULL),
    CHECK (status <> 'hold' OR reason = 6),
    CHECK (status <> 'revoked' OR (reason IS NOT NULL AND reason <> 6))
);
-- 二重発行禁止: two valid certificates of the same kind for one person
-- never coexist (a held certificate still counts).
CREATE UNIQUE INDEX certificates_one_valid_per_kind ON certificates (resident_id, kind) WHERE status IN ('good', 'hold');
CREATE INDEX certificates_card ON certificates (card_serial);
CREATE INDEX certificates_expiry ON certificates (not_after) WHERE status IN ('good', 'hold');
-- A revoked or expired certificate's record is final; a hold is released
-- only for the smartphone auth certificate (rules.md §9); who, what and
-- when it was issued never change; no certificate is ever deleted.
CREATE TRIGGER certificates_final BEFORE UPDATE ON certificates
WHEN OLD.status IN ('revoked', 'expired')
BEGIN
    SELECT RAISE(ABORT, 'a revoked or expired certificate never changes status');
END;
CREATE TRIGGER certificates_hold_kept BEFORE UPDATE ON certificates
WHEN OLD.status = 'hold' AND NEW.status = 'good' AND OLD.kind <> 'smartphone_auth'
BEGIN
    SELECT RAISE(ABORT, 'a card certificate''s hold is never released');
END;
CREATE TRIGGER certificates_identity_fixed BEFORE UPDATE ON certificates
WHEN NEW.serial IS NOT OLD.serial OR NEW.kind IS NOT OLD.kind OR NEW.resident_id IS NOT OLD.resident_id
    OR NEW.card_serial IS NOT OLD.card_serial OR NEW.issued_on IS NOT OLD.issued_on
BEGIN
    SELECT RAISE(ABORT, 'a certificate''s serial, kind, holder, card and issuance date never change');
END;
CREATE TRIGGER certificates_never_deleted BEFORE DELETE ON certificates
BEGIN
    SELECT RAISE(ABORT, 'certificates are never deleted');
END;

-- 紛失届: loss reports (hotline, window, police), with the evidence a
-- reissue needs (遺失届の受理番号, 罹災証明書).
CREATE TABLE loss_reports (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    resident_id           INTEGER NOT NULL REFERENCES residents (id),
    card_serial           TEXT REFERENCES cards (serial),
    channel               TEXT NOT NULL CHECK (channel IN ('hotline', 'window', 'police')),
    cause                 TEXT NOT NULL CHECK (cause IN ('loss', 'theft', 'fire')),
    reported_at           TEXT NOT NULL CHECK (length(reported_at) = 27 AND reported_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    reported_by           TEXT NOT NULL CHECK (length(reported_by) > 0),
    police_receipt_number TEXT,
    disaster_certificate  TEXT,
    found_at              TEXT CHECK (found_at IS NULL OR (length(found_at) = 27 AND found_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')),
    status                TEXT NOT NULL CHECK (status IN ('open', 'found', 'reissued', 'closed')),
    CHECK (status <> 'found' OR found_at IS NOT NULL),
    CHECK (found_at IS NULL OR found_at >= reported_at)
);
CREATE INDEX loss_reports_resident ON loss_reports (resident_id, reported_at);

-- Kiosk PIN reset bookings (rules.md §4): valid for 24 hours, used once.
CREATE TABLE pin_reset_bookings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    card_serial TEXT NOT NULL REFERENCES cards (serial),
    pin_kind    TEXT NOT NULL CHECK (pin_kind IN ('signature', 'user_authentication')),
    booked_at   TEXT NOT NULL CHECK (length(booked_at) = 27),
    expires_at  TEXT NOT NULL CHECK (length(expires_at) = 27),
    used_at     TEXT CHECK (used_at IS NULL OR length(used_at) = 27),
    CHECK (expires_at > booked_at),
    CHECK (used_at IS NULL OR (used_at >= booked_at AND used_at <= expires_at))
);
CREATE INDEX pin_reset_bookings_card ON pin_reset_bookings (card_serial, pin_kind, booked_at);

-- 手数料: fees charged (rules.md §10); a paid fee has its receipt.
CREATE TABLE fees (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    resident_id       INTEGER NOT NULL REFERENCES residents (id),
    municipality_code TEXT NOT NULL REFERENCES municipalities (code),
    application_id    INTEGER REFERENCES applications (id),
    cause             TEXT NOT NULL CHECK (cause IN ('first_issuance', 'loss', 'theft', 'fire', 'damage', 'malfunction',
        'full_entries', 'renewal', 'stay_expired')),
    amount_yen        INTEGER NOT NULL CHECK (amount_yen >= 0),
    receipt_number    TEXT UNIQUE,
    paid_on           TEXT CHECK (paid_on IS NULL OR date(paid_on, '+0 days') IS paid_on),
    CHECK ((paid_on IS NULL) = (receipt_number IS NULL)),
    CHECK (amount_yen > 0 OR receipt_number IS NULL)
);
CREATE INDEX fees_resident ON fees (resident_id);

-- 通知書: notices queued by the nightly batch (有効期限通知書, …), about
-- a card or a certificate; queued once per (subject, kind, due date).
CREATE TABLE notices (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    resident_id        INTEGER NOT NULL REFERENCES residents (id),
    card_serial        TEXT REFERENCES cards (serial),
    certificate_serial TEXT REFERENCES certificates (serial),
    kind               TEXT NOT NULL CHECK (kind IN ('card_expiry', 'certificate_expiry', 'lapse')),
    due_on             TEXT NOT NULL CHECK (date(due_on, '+0 days') IS due_on),
    created_on         TEXT NOT NULL CHECK (date(created_on, '+0 days') IS created_on),
    sent_on            TEXT CHECK (sent_on IS NULL OR date(sent_on, '+0 days') IS sent_on),
    CHECK ((card_serial IS NULL) <> (certificate_serial IS NULL))
);
CREATE UNIQUE INDEX notices_card_once ON notices (card_serial, kind, due_on) WHERE card_serial IS NOT NULL;
CREATE UNIQUE INDEX notices_certificate_once ON notices (certificate_serial, kind, due_on) WHERE certificate_serial IS NOT NULL;
CREATE INDEX notices_unsent ON notices (created_on) WHERE sent_on IS NULL;
CREATE INDEX notices_resident ON notices (resident_id);

-- 資格情報: health-insurance eligibility for オンライン資格確認.
-- insurer_number: 保険者番号 (6 or 8 digits); symbol/number/branch: 記号・番号・枝番.
CREATE TABLE insurance_eligibility (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    resident_id    INTEGER NOT NULL REFERENCES residents (id),
    insurer_number TEXT NOT NULL CHECK (length(insurer_number) IN (6, 8) AND insurer_number NOT GLOB '*[^0-9]*'),
    symbol         TEXT NOT NULL,
    number         TEXT NOT NULL CHECK (length(number) > 0),
    branch         TEXT,
    valid_from     TEXT NOT NULL CHECK (date(valid_from, '+0 days') IS valid_from),
    valid_to       TEXT CHECK (valid_to IS NULL OR date(valid_to, '+0 days') IS valid_to),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX insurance_eligibility_resident ON insurance_eligibility (resident_id, valid_from);

-- The nightly batch's progress, per run date and step, so that a run
-- interrupted by a crash resumes after its cursor.
CREATE TABLE batch_runs (
    run_date   TEXT NOT NULL CHECK (date(run_date, '+0 days') IS run_date),
    step       TEXT NOT NULL CHECK (length(step) > 0),
    cursor     TEXT,
    processed  INTEGER NOT NULL DEFAULT 0 CHECK (processed >= 0),
    status     TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    started_at TEXT NOT NULL CHECK (length(started_at) = 27),
    updated_at TEXT NOT NULL CHECK (length(updated_at) = 27 AND updated_at >= started_at),
    PRIMARY KEY (run_date, step)
);
