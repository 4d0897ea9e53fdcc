-- Access: accounts, sign-ins, invitations, case assignments, break-glass grants, consent and
-- the append-only, hash-chained audit log. No clinical text lives in these tables.
-- Secrets are hashes only (Argon2id for passwords, SHA-256 for tokens and invitation codes).
-- Case ids are not foreign keys, so that audit rows and grants outlive an erased case.

CREATE TABLE accounts (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    case_id         INTEGER,
    password_hash   TEXT NOT NULL,
    totp_secret     TEXT,
    totp_enabled    INTEGER NOT NULL DEFAULT 0,
    totp_last_step  INTEGER,
    disabled        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);

CREATE TABLE sign_ins (
    token_hash  TEXT PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    created_at  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

CREATE TABLE invitations (
    code_hash   TEXT PRIMARY KEY,
    case_id     INTEGER NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES accounts (id),
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);

CREATE TABLE case_assignments (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    case_id     INTEGER NOT NULL,
    relation    TEXT NOT NULL,
    UNIQUE (account_id, case_id, relation)
);

CREATE TABLE break_glass (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    case_id     INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    granted_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

CREATE TABLE consents (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    granted     INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    at          TEXT NOT NULL
);

CREATE INDEX consents_by_case ON consents (case_id, id);

-- id is assigned by reverie (previous + 1, under the write lock): it is part of the hash.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    case_id     INTEGER,
    purpose     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);

CREATE INDEX audit_log_by_case ON audit_log (case_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be changed');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be deleted');
END;
