-- Account lifecycle: the same columns as SQLite's 0005 (failed sign-ins in a row, locked
-- until, a password change due at the next sign-in). Runs inside the migration transaction.
ALTER TABLE accounts ADD COLUMN failed_sign_ins integer NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN locked_until timestamptz;
ALTER TABLE accounts ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;
