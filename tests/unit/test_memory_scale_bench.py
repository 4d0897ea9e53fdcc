"""The clinic-scale case-memory bench (``reverie bench --scale``): its synthetic data, and a
tiny run on the real PostgreSQL that must leave no database behind."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

from reverie.scale_bench import (
    DEFAULT_URL,
    PlantedEmbedder,
    recall_at,
    run_scale_bench,
    scratch_database,
    topic_vectors,
    unit_rows,
)


def postgres_url() -> str:
    """The test server (as tests/storage/conftest.py), or skip (fail where it is required)."""
    url = os.environ.get("REVERIE_TEST_POSTGRES_URL") or DEFAULT_URL
    try:
        import psycopg

        psycopg.connect(url, autocommit=True, connect_timeout=3).close()
    except Exception as exc:  # no driver, or no server
        if os.environ.get("REVERIE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"REVERIE_REQUIRE_POSTGRES=1 but PostgreSQL is not reachable: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL is not reachable at {url}: {exc}")
    return url


def scratch_databases(url: str) -> set[str]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        rows = db.execute("SELECT datname FROM pg_database WHERE datname LIKE 'reverie_scale_%'").fetchall()
    return {name for (name,) in rows}


def test_topic_vectors_are_unit_and_near_their_centres() -> None:
    rng = np.random.default_rng(1)
    centres = unit_rows(rng, 3, 384)
    vectors = topic_vectors(rng, centres, 600)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    nearest = (vectors @ centres.T).max(axis=1)
    assert 0.6 < float(nearest.mean()) < 0.8  # ~1/sqrt(2) for noise of norm 1
    assert float(np.abs(centres @ centres.T - np.eye(3)).max()) < 0.3  # topics ~orthogonal


def test_planted_embedder_gives_planted_vectors_and_a_fixed_one_otherwise() -> None:
    embedder = PlantedEmbedder(dim=16)
    vector = unit_rows(np.random.default_rng(2), 1, 16)
    embedder.plant(["a query"], vector)
    np.testing.assert_array_equal(embedder.embed(["a query"])[0], vector[0])
    other = embedder.embed(["never planted", "never planted"])
    np.testing.assert_array_equal(other[0], other[1])
    assert float(np.linalg.norm(other[0])) == pytest.approx(1.0)


def test_recall_at_counts_the_share_of_the_true_neighbours_found() -> None:
    assert recall_at([{1, 2, 3}, {4, 9}], [{1, 2, 5}, {4, 5}]) == pytest.approx(3 / 5)
    assert recall_at([], []) == 1.0


def test_a_scratch_database_is_dropped_even_when_the_run_fails() -> None:
    url = postgres_url()
    before = scratch_databases(url)
    with pytest.raises(RuntimeError, match="midway"), scratch_database(url) as scratch:
        assert (set(scratch_databases(url)) - before) == {scratch.split("dbname=")[1].split()[0]}
        raise RuntimeError("midway")
    assert scratch_databases(url) == before


def test_a_tiny_run_measures_every_figure_and_leaves_nothing_behind() -> None:
    url = postgres_url()
    before = scratch_databases(url)
    result: dict[str, Any] = run_scale_bench(
        url,
        cases=2,
        per_case=300,
        per_session=100,
        large_case=1200,
        sample=2,
        queries=20,
        sizes=[1500],
        annotate=False,
        topics=20,
        approximate_above=1000,
    )
    assert scratch_databases(url) == before
    assert result["fill"]["utterances"] == 600 and result["fill"]["database_mb"] > 0
    assert [c["utterances"] for c in result["cases"]] == [300, 300]
    for case in [*result["cases"], result["large"]]:
        figures = case["exact_ms"]
        assert 0 < figures["p50"] <= figures["p95"] <= figures["p99"]
        assert set(case["read_s"]) == {"utterances", "vectors", "annotations"}
    assert "approximate_ms" not in result["cases"][0]  # 300 is below the threshold
    large = result["large"]
    assert large["utterances"] == 1200 and large["index_build_s"] >= 0
    assert 0.5 <= large["recall_at_10"] <= 1.0
    assert result["sizes"][0]["utterances"] == 1500 and 0.5 <= result["sizes"][0]["recall_at_10"] <= 1.0
    assert [t["name"] for t in result["targets"]] == [
        "search p95, sampled cases (worst)",
        "search p95, one case of 1,200",
    ]
