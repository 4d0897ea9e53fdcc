-- Access on PostgreSQL: the same tables as SQLite's 0003. No clinical text lives here;
-- secrets are hashes only. Case ids are not foreign keys, so that audit rows outlive an
-- erased case. This script runs inside the migration transaction.

CREATE TABLE accounts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username        text NOT NULL UNIQUE,
    role            text NOT NULL,
    display_name    text NOT NULL,
    case_id         bigint,
    password_hash   text NOT NULL,
    totp_secret     text,
    totp_enabled    boolean NOT NULL DEFAULT false,
    totp_last_step  bigint,
    disabled        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL
);

CREATE TABLE sign_ins (
    token_hash  text PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts (id),
    created_at  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);

CREATE TABLE invitations (
    code_hash   text PRIMARY KEY,
    case_id     bigint NOT NULL,
    created_by  bigint NOT NULL REFERENCES accounts (id),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);

CREATE TABLE case_assignments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts (id),
    case_id     bigint NOT NULL,
    relation    text NOT NULL,
    UNIQUE (account_id, case_id, relation)
);

CREATE TABLE break_glass (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts (id),
    case_id     bigint NOT NULL,
    reason      text NOT NULL,
    granted_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);

CREATE TABLE consents (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id     bigint NOT NULL,
    kind        text NOT NULL,
    granted     boolean NOT NULL,
    actor       text NOT NULL,
    at          timestamptz NOT NULL
);

CREATE INDEX consents_by_case ON consents (case_id, id);

-- id is assigned by reverie (previous + 1, under an advisory lock): it is part of the hash.
CREATE TABLE audit_log (
    id          bigint PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    case_id     bigint,
    purpose     text NOT NULL,
    detail      text NOT NULL,
    prev_hash   text NOT NULL,
    hash        text NOT NULL
);

CREATE INDEX audit_log_by_case ON audit_log (case_id, id);

CREATE FUNCTION audit_log_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: rows cannot be changed';
END;
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_update();

-- Every DELETE is refused, row by row. TRUNCATE does not fire row triggers: the table's owner
-- (like anyone who can drop these triggers) can still empty the log. ``reverie audit verify
-- --expect-head HASH`` detects that against a head kept outside the database.
CREATE FUNCTION audit_log_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: rows cannot be deleted';
END;
$$;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_delete();
