"""Wiring: builds the store, the analysis pipeline, the embedder and the session engine from
``Settings``. Only the entry points (``cli``, ``web``, ``bench``) import this module."""

from __future__ import annotations

from dataclasses import dataclass

from reverie.analysis.pipeline import Pipeline
from reverie.analysis.registry import DEFAULT_ANNOTATORS, build_pipeline
from reverie.dialogue.engine import Clock, SessionEngine, utc_now
from reverie.memory import Embedder, HashingEmbedder, MiniLMEmbedder
from reverie.settings import Settings
from reverie.storage import Keyring, open_store
from reverie.storage.base import Store


def listening_pipeline() -> Pipeline:
    """Every annotator but the crisis gate, which the engine runs first on its own."""
    return build_pipeline([name for name in DEFAULT_ANNOTATORS if name != "risk"])


def make_embedder(settings: Settings) -> Embedder:
    return MiniLMEmbedder() if settings.embedder == "minilm" else HashingEmbedder()


@dataclass
class Runtime:
    settings: Settings
    store: Store
    pipeline: Pipeline
    embedder: Embedder

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        store = open_store(
            settings.database(),
            keyring=Keyring.from_settings(settings),
            synchronous=settings.sqlite_synchronous,
        )
        return cls(settings, store, listening_pipeline(), make_embedder(settings))

    def engine(self, clock: Clock = utc_now, *, consent_actor: str | None = None) -> SessionEngine:
        """A session engine; ``consent_actor`` records first consent when a case is opened
        (the terminal only: the web app records consent through the client's account)."""
        return SessionEngine(
            self.store,
            settings=self.settings,
            pipeline=self.pipeline,
            embedder=self.embedder,
            clock=clock,
            consent_actor=consent_actor,
        )

    def close(self) -> None:
        self.store.close()
