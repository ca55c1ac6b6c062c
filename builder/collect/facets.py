"""Facets: the metadata columns a visitor filters and colours the collection by, with each value's members.

Museums browse by what their records say (department, classification, nationality, date) as much as by how
images look. A facet is a column whose values are few (or that names several values a cell, split on ';',
like several nationalities); its members are kept per value as sorted item indices, from which the site
writes compact membership files (site/facet_data.py) and the pages count and filter. The date is not a facet
of values but a year range per item (collect/dates.py), read once here, with what could not be read listed
for the build report: never guessed.

Everything is counted here, at build time, so that the pages show numbers they are given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from builder.collect.collection import CATEGORY_ALIASES, Item
from builder.collect.dates import is_undated, read_date
from builder.collect.sources.iiif import SOURCE_KEYS

DATE = "date"  # the column read as years, not values
MOST_VALUES = 200  # values a facet shows at most: beyond them, the rest are counted under OTHER
OTHER = "(other)"
NO_YEAR = -32768  # an item's year where it has none (int16's least, as the site writes years)
# Columns never taken as facets when none are named: they say which file or page, not what the work is
NOT_FACETS = frozenset({"title", "url", "dimensions", "file", "filename", "file_name", "path", "image", "id",
                        "object_id", "objectid"})  # fmt: skip
SEPARATOR = ";"  # between the values of a cell that names several


@dataclass(frozen=True)
class Facet:
    """One column as a visitor filters by it: its values (most common first) and, per value, the indices of
    the items that have it (sorted). An item can have several values of a facet, or none."""

    key: str  # the column, as the metadata names it after normalising ("department")
    label: str  # as the pages show it ("Department")
    values: tuple[str, ...]
    members: tuple[np.ndarray, ...]  # per value, sorted int32 item indices

    @property
    def counts(self) -> tuple[int, ...]:
        return tuple(len(m) for m in self.members)

    def codes(self, n: int) -> np.ndarray:
        """Per item, the index of its first value (the one a map colours it by); -1 for none."""
        out = np.full(n, -1, dtype=np.int32)
        for v in range(len(self.values) - 1, -1, -1):  # the most common value wins where an item has several
            out[self.members[v]] = v
        return out


@dataclass(frozen=True)
class Years:
    """Each item's date as a year range, NO_YEAR where it has none; what could not be read, by item id."""

    first: np.ndarray  # int16 per item
    last: np.ndarray
    unreadable: tuple[tuple[str, str], ...]  # (item id, the date as written)
    undated: int  # items whose date is missing or says it is unknown ("n.d.")

    @property
    def dated(self) -> int:
        return int((self.first != NO_YEAR).sum())

    def span(self) -> tuple[int, int] | None:
        """The earliest first and the latest last year of any item; None where none is dated."""
        dated = self.first != NO_YEAR
        if not dated.any():
            return None
        return int(self.first[dated].min()), int(self.last[dated].max())


@dataclass(frozen=True)
class Facets:
    """The collection's facets in the order they are shown, and its items' years (None: no date facet)."""

    facets: tuple[Facet, ...]
    years: Years | None

    def __bool__(self) -> bool:
        return bool(self.facets) or self.years is not None


def label_of(key: str) -> str:
    """'date_acquired' -> 'Date acquired'."""
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def cell_values(text: str) -> list[str]:
    """A cell's values: split on ';', blanks dropped, each once, in order."""
    seen: dict[str, None] = {}
    for part in text.split(SEPARATOR):
        value = part.strip()
        if value:
            seen.setdefault(value, None)
    return list(seen)


def _column(items: Sequence[Item], key: str) -> list[str]:
    """Each item's cell of a column; a column taken as the category (MoMA's `classification`) is the category."""
    if key == "category" or (key in CATEGORY_ALIASES and not any(key in i.extra for i in items)):
        return [i.category or "" for i in items]
    if key in ("artist", "date", "medium"):
        return [getattr(i, key) for i in items]
    return [i.extra.get(key, "") for i in items]


def columns_of(items: Sequence[Item]) -> list[str]:
    """Every column the items' metadata has (and the category), in a stable order."""
    keys: dict[str, None] = {"category": None, "artist": None, "date": None, "medium": None}
    for item in items:
        for key in item.extra:
            keys.setdefault(key, None)
    return [k for k in keys if k not in NOT_FACETS and k not in SOURCE_KEYS]  # SOURCE_KEYS: a IIIF item's links


def value_facet(items: Sequence[Item], key: str, most: int = MOST_VALUES) -> Facet:
    """A column's values and members; beyond `most` values, the least common are put together as OTHER."""
    cells = [cell_values(t) for t in _column(items, key)]
    counts = Counter(v for values in cells for v in values)
    ranked = sorted(counts, key=lambda v: (-counts[v], v))
    kept = ranked if len(ranked) <= most else ranked[: most - 1]
    position = {v: p for p, v in enumerate(kept)}
    other = len(kept) if len(ranked) > len(kept) else None
    members: list[list[int]] = [[] for _ in range(len(kept) + (other is not None))]
    for n, values in enumerate(cells):
        slots = {position.get(v, other) for v in values}
        for slot in slots:
            if slot is not None:
                members[slot].append(n)
    names = (*kept, *([OTHER] if other is not None else []))
    return Facet(key, label_of(key), names, tuple(np.asarray(m, dtype=np.int32) for m in members))


def read_years(items: Sequence[Item]) -> Years:
    """Each item's date as years; the dates that say there is none counted apart from those not read."""
    first = np.full(len(items), NO_YEAR, dtype=np.int16)
    last = np.full(len(items), NO_YEAR, dtype=np.int16)
    unreadable: list[tuple[str, str]] = []
    undated = 0
    for n, item in enumerate(items):
        found = read_date(item.date)
        if found is not None:
            first[n], last[n] = found.first, found.last
        elif is_undated(item.date):
            undated += 1
        else:
            unreadable.append((item.id, item.date))
    return Years(first, last, tuple(unreadable), undated)


def _is_facet(items: Sequence[Item], key: str, most: int) -> bool:
    """Taken when none are named: a column with 2 ... most values, or whose cells name several (up to
    MOST_VALUES values): a column of titles or inventory numbers is not one."""
    cells = [cell_values(t) for t in _column(items, key)]
    distinct = {v for values in cells for v in values}
    several = any(len(values) > 1 for values in cells)
    return 2 <= len(distinct) <= (MOST_VALUES if several else most)


def facets_of(items: Sequence[Item], named: Sequence[str] = (), most: int = 40) -> Facets:
    """The facets of these items: the columns named (in that order), or, where none are, every column that
    qualifies (_is_facet) and the date where any is readable. A named column no item has is an empty facet
    (the build warns); `date` named or found is the years."""
    keys = list(named) if named else [k for k in columns_of(items) if k == DATE or _is_facet(items, k, most)]
    years = read_years(items) if DATE in keys else None
    if years is not None and not named and years.dated == 0:
        years = None  # found, not asked for: a date column with no year in it is not offered
    facets = tuple(value_facet(items, k) for k in keys if k != DATE)
    return Facets(facets, years)


def facet_problems(facets: Facets, named: Sequence[str], shown_most: int = 20) -> list[str]:
    """What the build report says: a named facet no item has, and the dates that could not be read (the
    first `shown_most` of them listed, the rest counted)."""
    problems = [
        f"facet '{f.key}': no item has a value for it" for f in facets.facets if f.key in named and not f.values
    ]
    if facets.years is not None and facets.years.unreadable:
        bad = facets.years.unreadable
        listed = "; ".join(f"{item_id}: {text!r}" for item_id, text in bad[:shown_most])
        more = f" and {len(bad) - shown_most:,} more" if len(bad) > shown_most else ""
        problems.append(f"{len(bad):,} date(s) could not be read as years, left undated: {listed}{more}")
    return problems
