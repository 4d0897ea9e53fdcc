-- Encryption at rest (docs/encryption.md): the master key's check value, each case's wrapped
-- data keys, psychotherapy notes in their own table, and the tombstone of an erased case.
-- The same tables as SQLite's 0002.

CREATE TABLE keyring (
    id           integer PRIMARY KEY CHECK (id = 1),
    check_value  bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    rotated_at   timestamptz
);

CREATE TABLE data_keys (
    case_id     bigint NOT NULL REFERENCES cases (id),
    purpose     text NOT NULL,
    version     integer NOT NULL CHECK (version >= 1),
    wrapped     bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (case_id, purpose, version)
);

CREATE TABLE psychotherapy_notes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases (id),
    author      text NOT NULL,
    kind        text NOT NULL,
    text        bytea NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX psychotherapy_notes_by_case ON psychotherapy_notes (case_id, id);

ALTER TABLE cases ADD COLUMN erased_at timestamptz;
