-- Account lifecycle (docs/access.md): consecutive failed sign-ins and the time until which the
-- account refuses sign-in (throttling kept in the database, so it survives restarts and holds
-- across processes), and whether the account must choose a new password at its next sign-in
-- (after an administrator reset it).
ALTER TABLE accounts ADD COLUMN failed_sign_ins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN locked_until TEXT;
ALTER TABLE accounts ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
