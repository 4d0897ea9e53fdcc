"""Relationship episodes as case memory indexes them, for the past-present linker.

Each stored ``episodes.v1`` annotation of a client utterance is one entry: the row of its
utterance, where it was said, its responses (response of other, response of self) and who the
other was as small integer codes, whether it is set in the past, whether the utterance is
about childhood. ``PastPresentLinker`` asks two questions every turn, and both stay fast in a
case of 100k utterances (a few milliseconds, no Python loop over episodes):

* ``closest``: which earlier past or childhood episodes share most responses with this
  turn's: a few comparisons over the columns;
* ``counts``: how often a combination of responses recurs, in how many utterances and
  sessions: kept up to date as utterances are indexed, so it is a look-up. The quotes and the
  people of a pattern (``recurrence``) are worked out only for the pattern shown.

Categories are given as a mapping of field to value, fields from ``EPISODE_FIELDS``. Rows
are ``CaseMemory``'s; every method takes its lock, which it shares.
"""

from __future__ import annotations

import functools
import operator
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from reverie.memory.recollections import EPISODE_FIELDS, EpisodeFacts, EpisodeRecord

Rows = npt.NDArray[np.int64]
_Key = tuple[tuple[str, str], ...]  # ((field, value), ...) in EPISODE_FIELDS order
_NONE = -1  # the code of a missing category
_NO_ROWS: Rows = np.zeros(0, dtype=np.int64)
_OTHER = "other"


@dataclass(frozen=True, slots=True)
class Recurrence:
    """Where a combination of episode categories recurs."""

    utterances: int  # client utterances with an episode of those categories
    sessions: int  # in how many sessions
    examples: list[EpisodeRecord]  # the first ever, then the latest per session; spoken order
    others: tuple[str, ...]  # with whom, in order of first mention


class _Tally:
    """How many utterances show one combination, and in which sessions."""

    __slots__ = ("by_session", "utterances")

    def __init__(self) -> None:
        self.utterances = 0
        self.by_session: dict[int, int] = {}  # session number -> utterances


_categories_of = operator.attrgetter(*EPISODE_FIELDS)  # a tuple: there are two fields


def _keys(episodes: Iterable[EpisodeFacts]) -> set[_Key]:
    """The combinations an utterance shows: every category alone, and all of an episode's
    categories together when it has more than one."""
    keys: set[_Key] = set()
    for facts in episodes:
        keys.update(_combinations(_categories_of(facts)))
    return keys


@functools.lru_cache(maxsize=4096)
def _combinations(values: tuple[str | None, ...]) -> tuple[_Key, ...]:
    named = tuple((f, v) for f, v in zip(EPISODE_FIELDS, values, strict=True) if v is not None)
    return ((named,) if len(named) > 1 else ()) + tuple((item,) for item in named)


def _key(categories: Mapping[str, str]) -> _Key:
    return tuple((f, categories[f]) for f in EPISODE_FIELDS if f in categories)


class EpisodeIndex:
    """The episodes of one case in columns, with running counts per combination of
    categories. Not to be built by callers: ``CaseMemory.episodes`` hands it out."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._n = 0
        self._row: Rows = np.zeros(0, dtype=np.int64)
        self._session: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._ordinal: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._past = np.zeros(0, dtype=bool)
        self._childhood = np.zeros(0, dtype=bool)
        self._live = np.zeros(0, dtype=bool)  # False once its utterance was indexed again
        self._code: dict[str, npt.NDArray[np.int32]] = {
            f: np.zeros(0, dtype=np.int32) for f in (*EPISODE_FIELDS, _OTHER)
        }
        self._vocab: dict[str, dict[str, int]] = {f: {} for f in self._code}
        self._names: dict[str, list[str]] = {f: [] for f in self._code}
        self._facts: list[EpisodeFacts] = []
        self._of_row: dict[int, list[int]] = {}
        self._last = (-1, -1, -1)  # row, session, ordinal of the latest entry
        self._tallies: dict[_Key, _Tally] = {}
        # Entries appended by row and in spoken order, as load and new turns do: then row
        # order is spoken order and rows never need sorting. Re-indexing a turn, or a late turn
        # of an earlier session, ends it until the next load.
        self._ordered = True

    def __len__(self) -> int:
        return self._n

    # -- filling (by CaseMemory only) ------------------------------------------------------
    def add(
        self, row: int, session: int, ordinal: int, episodes: Sequence[EpisodeFacts], childhood: bool
    ) -> None:
        """Index the episodes of one utterance (once: ``remove`` it before adding it again)."""
        with self._lock:
            if not episodes:
                return
            last_row, last_session, last_ordinal = self._last
            if row < last_row or (session, ordinal) < (last_session, last_ordinal):
                self._ordered = False
            self._last = (row, session, ordinal)
            if self._n + len(episodes) > len(self._row):
                self._grow(max(self._n + len(episodes), 2 * len(self._row), 64))
            entries = self._of_row.setdefault(row, [])
            for facts in episodes:
                i = self._n
                self._row[i], self._session[i], self._ordinal[i] = row, session, ordinal
                self._past[i], self._childhood[i], self._live[i] = facts.past, childhood, True
                for field, value in zip(EPISODE_FIELDS, _categories_of(facts), strict=True):
                    self._code[field][i] = self._encode(field, value)
                self._code[_OTHER][i] = self._encode(_OTHER, facts.other)
                self._facts.append(facts)
                entries.append(i)
                self._n += 1
            for key in _keys(episodes):
                tally = self._tallies.get(key)
                if tally is None:
                    self._tallies[key] = tally = _Tally()
                tally.utterances += 1
                tally.by_session[session] = tally.by_session.get(session, 0) + 1

    def remove(self, row: int) -> None:
        """Forget the episodes of one utterance."""
        with self._lock:
            entries = self._of_row.pop(row, [])
            if not entries:
                return
            self._live[entries] = False
            session = int(self._session[entries[0]])
            for key in _keys(self._facts[i] for i in entries):
                tally = self._tallies[key]
                tally.utterances -= 1
                tally.by_session[session] -= 1
                if not tally.by_session[session]:
                    del tally.by_session[session]
                if not tally.utterances:
                    del self._tallies[key]

    def _encode(self, field: str, value: str | None) -> int:
        if value is None:
            return _NONE
        vocab = self._vocab[field]
        code = vocab.get(value)
        if code is None:
            vocab[value] = code = len(vocab)
            self._names[field].append(value)
        return code

    def _grow(self, capacity: int) -> None:
        def grown(array: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
            bigger = np.zeros(capacity, dtype=array.dtype)
            bigger[: self._n] = array[: self._n]
            return bigger

        self._row = grown(self._row)  # type: ignore[assignment]
        self._session = grown(self._session)  # type: ignore[assignment]
        self._ordinal = grown(self._ordinal)  # type: ignore[assignment]
        self._past = grown(self._past)
        self._childhood = grown(self._childhood)
        self._live = grown(self._live)
        self._code = {f: grown(c) for f, c in self._code.items()}  # type: ignore[misc]

    # -- what the linker asks ---------------------------------------------------------------
    def closest(self, present: Sequence[EpisodeFacts], *, before_session: int) -> tuple[int, Rows]:
        """Earlier past episodes that repeat a present one: how many responses the best of
        them share with one of ``present`` (0: none), and the rows of every utterance that
        holds such a best one, ascending. Only episodes set in the past (or said in an
        utterance about childhood) from sessions before ``before_session`` count."""
        with self._lock:
            n = self._n
            best = np.zeros(n, dtype=np.int8)
            for facts in present:
                shared = np.zeros(n, dtype=np.int8)
                for field in EPISODE_FIELDS:
                    value = facts.category(field)
                    code = self._vocab[field].get(value) if value is not None else None
                    if code is not None:
                        shared += self._code[field][:n] == code
                np.maximum(best, shared, out=best)
            then = (
                self._live[:n] & (self._past[:n] | self._childhood[:n]) & (self._session[:n] < before_session)
            )
            best[~then] = 0
            top = int(best.max()) if n else 0
            if top == 0:
                return 0, _NO_ROWS
            return top, self._rows(np.flatnonzero(best == top))[0]

    def at_row(self, row: int) -> list[EpisodeRecord]:
        """The episodes of one utterance, in the order they were annotated."""
        with self._lock:
            return [self._record(i) for i in self._of_row.get(row, ())]

    def counts(self, categories: Mapping[str, str]) -> tuple[int, int]:
        """(utterances, sessions) showing an episode with all of ``categories``."""
        with self._lock:
            tally = self._tallies.get(_key(categories))
            return (tally.utterances, len(tally.by_session)) if tally else (0, 0)

    def recurrence(self, categories: Mapping[str, str], *, examples: int) -> Recurrence:
        """Where ``categories`` recur: counts, up to ``examples`` episodes to quote (the first
        ever, then the latest of each session from the latest session back, then the most
        recent of the rest; in spoken order; one per utterance, its first matching episode)
        and the others of all of them."""
        with self._lock:
            utterances, sessions = self.counts(categories)
            _, first = self._rows(self._matching(categories))
            codes = self._code[_OTHER][first]
            codes = codes[codes != _NONE]
            seen, at = np.unique(codes, return_index=True)
            others = tuple(self._names[_OTHER][int(c)] for c in seen[np.argsort(at)])
            return Recurrence(utterances, sessions, self._spread(first, examples), others)

    def combinations(self) -> list[dict[str, str]]:
        """Every combination of categories some utterance shows (see ``counts``)."""
        with self._lock:
            return [dict(key) for key in self._tallies]

    def records(self, field: str, value: str, *, before_session: int | None = None) -> list[EpisodeRecord]:
        """Episodes whose ``field`` is ``value``, by row then annotation order, optionally
        only from sessions before ``before_session``."""
        with self._lock:
            chosen = self._matching({field: value})
            if before_session is not None:
                chosen = chosen[self._session[chosen] < before_session]
            chosen = chosen[np.argsort(self._row[chosen], kind="stable")]
            return [self._record(int(i)) for i in chosen]

    def values(self, field: str) -> list[str]:
        """The categories of ``field`` some utterance shows, sorted."""
        with self._lock:
            return sorted(key[0][1] for key in self._tallies if len(key) == 1 and key[0][0] == field)

    # -- helpers ----------------------------------------------------------------------------
    def _matching(self, categories: Mapping[str, str]) -> Rows:
        """Live entries with all of ``categories``, ascending."""
        n = self._n
        mask = self._live[:n].copy()
        for field, value in categories.items():
            code = self._vocab[field].get(value)
            if code is None:
                return _NO_ROWS
            mask &= self._code[field][:n] == code
        return np.flatnonzero(mask)

    def _rows(self, entries: Rows) -> tuple[Rows, Rows]:
        """The distinct rows of ``entries`` (ascending) and each row's first entry."""
        rows = self._row[entries]
        if not self._ordered:
            order = np.argsort(rows, kind="stable")
            entries, rows = entries[order], rows[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = rows[1:] != rows[:-1]
        return rows[first], entries[first]

    def _spread(self, entries: Rows, limit: int) -> list[EpisodeRecord]:
        """Up to ``limit`` of ``entries`` (one per row, in row order) to quote."""
        if limit <= 0 or not len(entries):
            return []
        if not self._ordered:
            entries = entries[np.lexsort((self._ordinal[entries], self._session[entries]))]
        sessions = self._session[entries]
        chosen = [0]  # the first ever
        taken = {int(sessions[0])}
        # The last entry of each session, the latest sessions first.
        ends = np.flatnonzero(np.append(sessions[1:] != sessions[:-1], True))
        for i in ends[::-1]:
            if len(chosen) >= limit:
                break
            if int(sessions[i]) not in taken:
                taken.add(int(sessions[i]))
                chosen.append(int(i))
        i = len(entries) - 1
        while len(chosen) < limit and i > 0:  # then the most recent of the rest
            if i not in chosen:
                chosen.append(i)
            i -= 1
        return [self._record(int(entries[i])) for i in sorted(chosen)]

    def _record(self, i: int) -> EpisodeRecord:
        row, session, ordinal = int(self._row[i]), int(self._session[i]), int(self._ordinal[i])
        return EpisodeRecord(row, session, ordinal, self._facts[i], bool(self._childhood[i]))
