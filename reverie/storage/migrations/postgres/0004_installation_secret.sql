-- The installation secret (docs/encryption.md): 32 random bytes of this database, sealed under
-- the master key. The same column as SQLite's 0004.
ALTER TABLE keyring ADD COLUMN installation_secret bytea;
