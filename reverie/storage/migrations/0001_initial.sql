-- The first schema of reverie's case store.
-- Columns named text, doc and payload hold clinical text; they are BLOBs written only through
-- _seal()/_open() in sqlite.py so that encryption at rest can be added without a new schema.
-- Datetimes are ISO-8601 text in UTC.

CREATE TABLE cases (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    clinician   TEXT NOT NULL,
    locale      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    number      INTEGER NOT NULL CHECK (number >= 1),
    kind        TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    ended_at    TEXT,
    UNIQUE (case_id, number)
);

-- case_id and session_number repeat the session's, so that reading a whole case in spoken
-- order is one index range scan with no join.
CREATE TABLE utterances (
    id              INTEGER PRIMARY KEY,
    case_id         INTEGER NOT NULL REFERENCES cases (id),
    session_id      INTEGER NOT NULL REFERENCES sessions (id),
    session_number  INTEGER NOT NULL,
    ordinal         INTEGER NOT NULL CHECK (ordinal >= 1),
    speaker         TEXT NOT NULL,
    text            BLOB NOT NULL,
    at              TEXT NOT NULL,
    UNIQUE (session_id, ordinal)
);
CREATE INDEX utterances_by_case ON utterances (case_id, session_number, ordinal);

-- One row per utterance and layer: doc is the JSON list of that layer's annotations
-- (Annotation.to_json). Saving a layer again replaces its row.
CREATE TABLE annotations (
    id            INTEGER PRIMARY KEY,
    utterance_id  INTEGER NOT NULL REFERENCES utterances (id),
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    layer         TEXT NOT NULL,
    doc           BLOB NOT NULL,
    UNIQUE (utterance_id, layer)
);
CREATE INDEX annotations_by_case_layer ON annotations (case_id, layer);

CREATE TABLE agreements (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    version     INTEGER NOT NULL CHECK (version >= 1),
    doc         BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (case_id, version)
);

CREATE TABLE crisis_plans (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    version     INTEGER NOT NULL CHECK (version >= 1),
    doc         BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (case_id, version)
);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    session_id  INTEGER REFERENCES sessions (id),
    kind        TEXT NOT NULL,
    payload     BLOB NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX events_by_case ON events (case_id, kind);
CREATE INDEX events_by_session ON events (session_id);

CREATE TABLE engine_state (
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    key         TEXT NOT NULL,
    doc         BLOB NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (case_id, key)
);

-- Embedding vectors: raw float32 bytes, one row per utterance and model. (A rowid table:
-- WITHOUT ROWID suits small rows only, and a 384-dimension vector is 1.5 KB.)
CREATE TABLE vectors (
    id            INTEGER PRIMARY KEY,
    utterance_id  INTEGER NOT NULL REFERENCES utterances (id),
    model         TEXT NOT NULL,
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    data          BLOB NOT NULL,
    UNIQUE (utterance_id, model)
);
CREATE INDEX vectors_by_case_model ON vectors (case_id, model);
