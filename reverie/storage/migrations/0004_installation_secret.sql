-- The installation secret (docs/encryption.md): 32 random bytes of this database, sealed under
-- the master key like an account's TOTP secret. Keys for uses that belong to no case, such as
-- the pseudonym of a case in exports, are derived from it with HKDF. NULL only until a store
-- of this version first opens the database, which fills it in.
ALTER TABLE keyring ADD COLUMN installation_secret BLOB;
