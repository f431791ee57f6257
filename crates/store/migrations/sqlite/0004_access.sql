-- Access control of the web server (SQLite): staff accounts, their login
-- sessions, and the API keys of kiosks and relying parties. Secrets are
-- never stored: passwords as PHC strings (argon2id, …), session tokens and
-- API keys as the lowercase hex SHA-256 the server computes. The
-- PostgreSQL twin is migrations/postgres/0004.

-- 職員: staff accounts. A window clerk (窓口) belongs to one municipality;
-- hotline operators and administrators to none. failed_logins and
-- locked_until throttle password guessing; disabled accounts cannot log in.
CREATE TABLE staff_accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    login         TEXT NOT NULL UNIQUE CHECK (
        length(login) BETWEEN 3 AND 64 AND login NOT GLOB '*[^a-z0-9._-]*'),
    display_name  TEXT NOT NULL CHECK (length(display_name) > 0),
    password_hash TEXT NOT NULL CHECK (length(password_hash) > 0),
    role          TEXT NOT NULL CHECK (role IN ('window', 'hotline', 'admin')),
    municipality  TEXT CHECK (municipality IS NULL OR (
        length(municipality) = 6 AND municipality NOT GLOB '*[^0-9]*')),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    failed_logins INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until  TEXT CHECK (locked_until IS NULL OR length(locked_until) = 27),
    created_at    TEXT NOT NULL CHECK (length(created_at) = 27),
    CHECK ((role = 'window') = (municipality IS NOT NULL))
);

-- Login sessions, by the SHA-256 of the session cookie's token (a stolen
-- table does not log anyone in). csrf_token is the session's anti-CSRF
-- token, sent back by the browser's forms.
CREATE TABLE staff_sessions (
    token_hash   TEXT PRIMARY KEY CHECK (length(token_hash) = 64 AND token_hash NOT GLOB '*[^0-9a-f]*'),
    account_id   INTEGER NOT NULL REFERENCES staff_accounts (id),
    csrf_token   TEXT NOT NULL CHECK (length(csrf_token) > 0),
    created_at   TEXT NOT NULL CHECK (length(created_at) = 27),
    expires_at   TEXT NOT NULL CHECK (length(expires_at) = 27),
    last_seen_at TEXT NOT NULL CHECK (length(last_seen_at) = 27),
    CHECK (expires_at > created_at),
    CHECK (last_seen_at >= created_at)
);
CREATE INDEX staff_sessions_expires ON staff_sessions (expires_at);
CREATE INDEX staff_sessions_account ON staff_sessions (account_id);

-- API keys of kiosks (コンビニ交付端末) and relying parties. A key is
-- prefix + secret: the prefix finds the row, the SHA-256 of the whole key
-- must match key_hash. municipality, if set, limits the key to one
-- municipality. Revoked keys stay, for the audit trail.
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE CHECK (length(name) > 0),
    kind         TEXT NOT NULL CHECK (kind IN ('kiosk', 'relying_party')),
    prefix       TEXT NOT NULL UNIQUE CHECK (length(prefix) BETWEEN 8 AND 16),
    key_hash     TEXT NOT NULL CHECK (length(key_hash) = 64 AND key_hash NOT GLOB '*[^0-9a-f]*'),
    municipality TEXT CHECK (municipality IS NULL OR (
        length(municipality) = 6 AND municipality NOT GLOB '*[^0-9]*')),
    created_at   TEXT NOT NULL CHECK (length(created_at) = 27),
    revoked_at   TEXT CHECK (revoked_at IS NULL OR (length(revoked_at) = 27 AND revoked_at >= created_at))
);
