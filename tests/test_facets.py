"""Facets: which columns are facets, their counts against a plain recount, the years, and the membership
files the pages read (decoded back as the page decodes them)."""

from __future__ import annotations

import base64
import random
from pathlib import Path

import numpy as np
import pytest

from builder.collect.collection import Item
from builder.collect.facets import NO_YEAR, OTHER, cell_values, facet_problems, facets_of, value_facet
from builder.pagekit.datafiles import read_shard
from builder.site.facet_data import decode_members, encode_members, facet_files, varints


def _item(n: int, date: str = "", category: str | None = None, **extra: str) -> Item:
    return Item(id=f"i{n:05d}", path=Path(f"{n}.png"), relpath=f"{n}.png", category=category, content_hash=str(n),
                title=f"title {n}", date=date, extra=extra)  # fmt: skip


def _collection(n: int, seed: int = 3) -> list[Item]:
    rng = random.Random(seed)
    departments = ["Drawings & Prints", "Photography", "Painting", "Film"]
    nations = ["American", "French", "German", "Japanese", "Mexican", "Nigerian"]
    out = []
    for i in range(n):
        nationality = "; ".join(rng.sample(nations, rng.choice([0, 1, 1, 1, 2, 3])))
        out.append(_item(i, date=rng.choice(["1920", "c. 1965", "n.d.", "", "1930-35", "nonsense"]),
                         category=rng.choice(["a", "b"]), department=rng.choice(departments),
                         nationality=nationality, accession=f"{i}.1970"))  # fmt: skip
    return out


def test_counts_equal_a_plain_recount_and_members_are_who_has_the_value() -> None:
    items = _collection(500)
    facets = facets_of(items, ("department", "nationality", "date"))
    assert [f.key for f in facets.facets] == ["department", "nationality"]
    for facet in facets.facets:
        for value, members, count in zip(facet.values, facet.members, facet.counts, strict=True):
            expected = [n for n, item in enumerate(items) if value in cell_values(item.extra.get(facet.key, ""))]
            assert members.tolist() == expected and count == len(expected)
        counts = list(facet.counts)
        assert counts == sorted(counts, reverse=True)  # most common first
    nationality = facets.facets[1]
    several = [n for n, i in enumerate(items) if ";" in i.extra["nationality"]]
    assert several and sum(nationality.counts) > sum(1 for i in items if i.extra["nationality"])


def test_columns_taken_when_none_are_named_are_the_few_valued_and_the_date() -> None:
    facets = facets_of(_collection(300), (), most=10)
    keys = [f.key for f in facets.facets]
    assert "category" in keys and "department" in keys and "nationality" in keys
    assert "accession" not in keys  # 300 values: an inventory number, not a facet
    assert facets.years is not None


def test_a_facet_past_its_most_values_counts_the_rest_as_other() -> None:
    items = [_item(n, kind=f"k{n % 7}") for n in range(70)]
    facet = value_facet(items, "kind", most=4)
    assert facet.values[-1] == OTHER and len(facet.values) == 4
    assert sum(facet.counts) == 70 and facet.counts[-1] == 40


def test_codes_give_each_item_its_most_common_value() -> None:
    items = [_item(0, tag="x; y"), _item(1, tag="y"), _item(2, tag="y"), _item(3)]
    facet = value_facet(items, "tag")
    assert facet.values == ("y", "x")
    assert facet.codes(4).tolist() == [0, 0, 0, -1]


def test_years_read_undated_and_unreadable_apart() -> None:
    items = [_item(0, "1920-25"), _item(1, "n.d."), _item(2, "sometime"), _item(3, "")]
    years = facets_of(items, ("date",)).years
    assert years is not None
    assert years.first.tolist() == [1920, NO_YEAR, NO_YEAR, NO_YEAR] and years.last[0] == 1925
    assert years.unreadable == (("i00002", "sometime"),) and years.undated == 2
    problems = facet_problems(facets_of(items, ("date", "missing")), ("date", "missing"))
    assert any("'missing'" in p for p in problems) and any("'sometime'" in p and "1 date" in p for p in problems)


@pytest.mark.parametrize("size", [1, 8, 9, 1000, 100_003])
def test_members_round_trip_in_either_form(size: int) -> None:
    rng = np.random.default_rng(size)
    for share in (0.0, 0.001, 0.05, 0.5, 1.0):
        members = np.flatnonzero(rng.random(size) < share)
        text = encode_members(members, size)
        assert decode_members(text, size).tolist() == members.tolist()
        assert len(text) <= 1 + 4 * (-(-((size + 7) // 8) // 3)) + 4  # never more than the bitset
    if size >= 16:  # everyone: a bit each is smaller than a byte each
        assert encode_members(np.arange(size), size)[0] == "b"


def test_varints_are_leb128_gaps() -> None:
    assert varints(np.array([0, 1, 130, 130 + 16384])) == bytes([0, 1, 0x81, 0x01, 0x80, 0x80, 0x01])


def _written(files: dict[str, str], site: Path) -> Path:
    for rel, text in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text, encoding="utf-8")
    return site


def test_facet_files_hold_the_summary_members_and_years(tmp_path: Path) -> None:
    items = _collection(450)
    facets = facets_of(items, ("department", "date"))
    files, summary_path = facet_files("collection", facets, len(items))
    site = _written(files, tmp_path)
    summary: dict = read_shard(site, summary_path)  # type: ignore[assignment]
    assert summary["size"] == 450
    department = summary["facets"][0]
    assert department["values"] == list(facets.facets[0].values)
    assert department["counts"] == list(facets.facets[0].counts)
    stored = read_shard(site, department["file"])["m"]  # type: ignore[index]
    assert [decode_members(t, 450).tolist() for t in stored] == [m.tolist() for m in facets.facets[0].members]
    years = summary["years"]
    assert years["dated"] + years["undated"] + years["unreadable"] == 450
    assert sum(years["counts"]) == years["dated"] and years["span"] == [1920, 1965]
    first = np.frombuffer(base64.b64decode(read_shard(site, years["file"])["first"]), "<i2")  # type: ignore[index]
    assert first.tolist() == facets.years.first.tolist()  # type: ignore[union-attr]


def test_hostile_values_stay_data(tmp_path: Path) -> None:
    items = [_item(0, kind="</script><img src=x onerror=alert(1)>"), _item(1, kind="plain")]
    files, summary_path = facet_files("collection", facets_of(items, ("kind",)), 2)
    assert "</script>" not in files[summary_path]
    summary: dict = read_shard(_written(files, tmp_path), summary_path)  # type: ignore[assignment]
    assert summary["facets"][0]["values"][0].startswith("</script>")
