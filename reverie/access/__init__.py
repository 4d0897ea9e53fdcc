"""Who may read and write what: accounts, roles, sessions of use, consent, audited case access."""
