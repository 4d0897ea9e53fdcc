"""The one place that reads the environment.

``Settings()`` reads ``REVERIE_*`` variables once; the object is passed down from the CLI or
the web app factory. Nothing in reverie reads ``os.environ`` anywhere else, and importing this
module reads nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from reverie.errors import ConfigurationError


def default_data_dir() -> Path:
    """The user's data folder (XDG on Linux, the usual places elsewhere)."""
    base = os.environ.get("XDG_DATA_HOME")
    if base:
        return Path(base) / "reverie"
    return Path.home() / ".local" / "share" / "reverie"


UNNAMED_CLINICIAN = "not yet named (until one is, use reverie only to try it out, not for care)"


class Settings(BaseSettings):
    """Every knob of reverie, with safe defaults for one person on a laptop."""

    model_config = SettingsConfigDict(env_prefix="REVERIE_", extra="forbid", frozen=True)

    data_dir: Path = Field(default_factory=default_data_dir)
    db: str | None = Field(
        default=None,
        description="SQLite file path or postgresql:// URL; default: reverie.db in data_dir.",
    )
    locale: str = "en-US"
    jung_wat_file: Path | None = Field(
        default=None,
        description="Jung's 100 stimulus words (TSV); default: shared/data/jung_wat beside the checkout.",
    )
    clinician: str = Field(
        default=UNNAMED_CLINICIAN,
        description="The licensed clinician responsible for new cases.",
    )
    embedder: Literal["minilm", "hashing"] = Field(
        default="minilm",
        description="Case-memory embeddings: the embedded MiniLM ONNX model, or a fast hashing "
        "embedder (tests, or machines without the model).",
    )
    sqlite_synchronous: Literal["FULL", "EXTRA"] = "FULL"
    session_minutes: int = Field(default=50, ge=10, le=180)
    max_message_chars: int = Field(default=20_000, ge=100, le=1_000_000)
    disclosure_absence_days: int = Field(default=7, ge=1)
    disclosure_every_minutes: int = Field(default=180, ge=10)
    idle_minutes: int = Field(
        default=15,
        ge=5,
        le=60,
        description="Minutes without use after which a clinician, supervisor or admin sign-in ends.",
    )
    lockout_failures: int = Field(
        default=10,
        ge=3,
        le=100,
        description="Failed sign-ins in a row (wrong password or code) after which an account "
        "refuses sign-in for lockout_minutes.",
    )
    lockout_minutes: int = Field(
        default=15,
        ge=1,
        le=1440,
        description="Minutes an account refuses sign-in after lockout_failures failed sign-ins in a row.",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="Base64 of the 32-byte master key that wraps every case's data keys; "
        "when unset, the key file is used.",
    )
    master_key_file: Path | None = Field(
        default=None,
        description="File holding the master key (base64); default: master.key in data_dir, "
        "created (mode 0600) only for a new database.",
    )

    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _refuse_unsafe_sync(cls, value: object) -> object:
        if isinstance(value, str) and value.upper() in {"OFF", "NORMAL", "0", "1"}:
            raise ConfigurationError(
                "REVERIE_SQLITE_SYNCHRONOUS must be FULL or EXTRA: with OFF or NORMAL an "
                "acknowledged client message can be lost in a crash."
            )
        return value.upper() if isinstance(value, str) else value

    def database(self) -> str:
        """The database to open: the configured one, or ``data_dir/reverie.db``."""
        return self.db or str(self.data_dir / "reverie.db")
