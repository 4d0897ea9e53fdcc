-- Encryption at rest (docs/encryption.md): the master key's check value, each case's wrapped
-- data keys, psychotherapy notes in their own table, and the tombstone of an erased case.

-- One row: the key-check value of the master key (never the key itself), so that opening
-- with a wrong key is refused instead of reading garbage.
CREATE TABLE keyring (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    check_value  BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    rotated_at   TEXT
);

-- Data keys, wrapped (AES-256-GCM) by the master key; purpose 'record' or 'notes'. Deleting a
-- case's rows here is what makes its ciphertexts unreadable (crypto shredding).
CREATE TABLE data_keys (
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    purpose     TEXT NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    wrapped     BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (case_id, purpose, version)
);

-- Psychotherapy notes (45 CFR 164.501): kept apart from the record, sealed with the case's
-- 'notes' key, never part of utterances, events or exports.
CREATE TABLE psychotherapy_notes (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    author      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    text        BLOB NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX psychotherapy_notes_by_case ON psychotherapy_notes (case_id, id);

-- Set when a case is erased: its row stays (named erased-<id>) so references stay valid.
ALTER TABLE cases ADD COLUMN erased_at TEXT;
