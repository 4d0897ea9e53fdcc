"""Export one case: render the record in a format, audit the export, write the file atomically.

``export_case`` is what ``reverie export`` and the web app call. The order is fixed: the record
is rendered (and a FHIR Bundle validated) first, then the export is written to the audit log,
then the file is written with ``write_atomic``. So nothing leaves without an audit entry, and a
reader never sees half a file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reverie.domain import Case
from reverie.errors import InputError, StorageError
from reverie.exchange.fhir import fhir_bundle
from reverie.exchange.fhir_validate import validate_bundle
from reverie.exchange.markdown import record_markdown
from reverie.exchange.record import client_record
from reverie.storage import Store
from reverie.storage.atomic import write_atomic

__all__ = ["FORMATS", "Export", "default_path", "export_case", "render"]

FORMATS = ("fhir", "json", "md")
_SUFFIX = {"fhir": ".fhir.json", "json": ".json", "md": ".md"}


@dataclass(frozen=True, slots=True)
class Export:
    """What was exported: the file, its format and size."""

    path: Path
    format: str
    size: int


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InputError(f"Unknown export format {fmt!r}. Use one of: {', '.join(FORMATS)}.")
    return fmt


def render(store: Store, case: Case, fmt: str, *, exported_at: datetime) -> bytes:
    """The export of ``case`` in ``fmt`` ("fhir", "json" or "md") as UTF-8 bytes. A FHIR Bundle
    names the client by the store's pseudonym of the case (``Store.case_pseudonym``); one that
    fails validation raises ``InputError`` listing the issues (a bug: please report it)."""
    record = client_record(store, case, exported_at=exported_at)
    if _check_format(fmt) == "md":
        return record_markdown(record).encode("utf-8")
    document: dict[str, Any] = record
    if fmt == "fhir":
        document = fhir_bundle(record, store.case_pseudonym(case.id))
        issues = validate_bundle(document)
        if issues:
            raise InputError(
                "The FHIR export did not validate and was not written: "
                + "; ".join(str(i) for i in issues[:10])
                + ". Please report this as a bug in reverie; the JSON export still works."
            )
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def default_path(case: Case, fmt: str) -> Path:
    """``<case name><suffix>`` in the current folder (``.fhir.json``, ``.json`` or ``.md``)."""
    return Path(f"{case.name}{_SUFFIX[_check_format(fmt)]}")


def export_case(
    store: Store,
    case: Case,
    fmt: str,
    *,
    actor: str,
    purpose: str,
    out: str | Path | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Export:
    """Render, audit (``append_audit(actor, "export", case_id=..., purpose=..., detail={"format":
    fmt})``) and write atomically to ``out`` (default ``default_path``; a new file of mode 0600).
    ``InputError`` for an unknown format or an empty actor or purpose; ``StorageError`` if the
    store keeps no audit log or the file cannot be written (then nothing was written)."""
    _check_format(fmt)
    if not actor.strip() or not purpose.strip():
        raise InputError("Say who is exporting (actor) and why (purpose): both are written to the audit log.")
    data = render(store, case, fmt, exported_at=now())
    target = Path(out) if out is not None else default_path(case, fmt)
    append_audit = getattr(store, "append_audit", None)
    if append_audit is None:
        raise StorageError(
            f"This store ({type(store).__name__}) keeps no audit log, so the export was not written. "
            "Use a store with an audit log (SQLite or PostgreSQL)."
        )
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():  # refused before it is audited: nothing was exported
        raise StorageError(
            f"The folder {folder} does not exist, so the export was not written. Create it or choose another --out."
        )
    append_audit(
        actor, "export", case_id=case.id, purpose=purpose, detail={"format": fmt, "file": target.name}
    )
    write_atomic(target, data)
    return Export(target, fmt, len(data))
