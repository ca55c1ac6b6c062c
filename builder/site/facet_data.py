"""The facets as the explorer and the map read them: a small summary, then each facet's members on first use.

A visitor filters by a museum's columns (collect/facets.py) without the first view growing with the
collection: data/index.js names only the summary's file, which holds each facet's values and counts and the
years' histogram (as many entries as values, not items) and is loaded when the filter panel is opened. Who
has which value is in one file per facet, loaded when a filter is first applied, and the years of every
item in one more, loaded when the year range is first set:

- `data/<dataset>/facets.js`: `{size, facets: [{key, label, values, counts, file}], years}`; `years` is null
  or `{span: [first, last], bin, start, counts, dated, undated, unreadable, file}`: the histogram counts each
  dated item in the bin of its first year (bins of `bin` years from `start`).
- `data/<dataset>/facets/<n>.js`: `{m: [...]}`, per value of facet n its members (sorted item indices) in
  whichever form is smaller: "b" and base64 of a bitset over the dataset's items (item i is bit i % 8 of byte
  i / 8), or "d" and base64 of the gaps between members as unsigned LEB128 varints (the first member's
  index, then each next minus the one before). At 100,000 items a value held by 1% is 1.4 KB, by half 16.7 KB.
- `data/<dataset>/facets/years.js`: `{first, last}`, base64 of little-endian int16 per item; -32768: none.
"""

from __future__ import annotations

import base64

import numpy as np

from builder.collect.facets import NO_YEAR, Facets, Years
from builder.pagekit.datafiles import shard_script

FACET_FILES = {
    "summary": "data/{dataset}/facets.js",
    "members": "data/{dataset}/facets/{n}.js",
    "years": "data/{dataset}/facets/years.js",
}
MOST_BINS = 240  # the year histogram's bars at most: one a year up to 240 years, else wider


def bitset(members: np.ndarray, size: int) -> bytes:
    """Item i is bit i % 8 (least significant first) of byte i // 8."""
    bits = np.zeros(size, dtype=bool)
    bits[members] = True
    return np.packbits(bits, bitorder="little").tobytes()


def varints(members: np.ndarray) -> bytes:
    """The gaps between sorted members (the first member itself first) as unsigned LEB128."""
    gaps = np.diff(np.asarray(members, dtype=np.int64), prepend=0)
    out = bytearray()
    for gap in gaps.tolist():
        while gap >= 0x80:
            out.append((gap & 0x7F) | 0x80)
            gap >>= 7
        out.append(gap)
    return bytes(out)


def encode_members(members: np.ndarray, size: int) -> str:
    """A value's members in the smaller of the two forms, as the page reads them."""
    gaps = varints(members)
    if len(gaps) < (size + 7) // 8:
        return "d" + base64.b64encode(gaps).decode("ascii")
    return "b" + base64.b64encode(bitset(members, size)).decode("ascii")


def decode_members(text: str, size: int) -> np.ndarray:
    """encode_members undone: for tests and benchmarks reading a site back."""
    raw = base64.b64decode(text[1:])
    if text[0] == "b":
        return np.flatnonzero(np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")[:size])
    values, gap, shift = [], 0, 0
    for byte in raw:
        gap |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            values.append(gap)
            gap, shift = 0, 0
    return np.cumsum(np.asarray(values, dtype=np.int64))


def _int16(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype="<i2").tobytes()).decode("ascii")


def _histogram(years: Years) -> dict[str, object] | None:
    span = years.span()
    if span is None:
        return None
    first, last = span
    bin_years = max(1, -(-(last - first + 1) // MOST_BINS))
    start = first - first % bin_years
    dated = years.first[years.first != NO_YEAR].astype(np.int64)
    counts = np.bincount((dated - start) // bin_years, minlength=(last - start) // bin_years + 1)
    return {"span": [first, last], "bin": bin_years, "start": start, "counts": counts.tolist()}


def facet_files(dataset: str, facets: Facets, size: int) -> tuple[dict[str, str], str]:
    """Site path -> text of every facet file of a dataset of `size` items, and the summary's path (what
    data/index.js names)."""
    path = {kind: pattern.replace("{dataset}", dataset) for kind, pattern in FACET_FILES.items()}
    files: dict[str, str] = {}
    entries = []
    for n, facet in enumerate(facets.facets):
        name = path["members"].format(n=n)
        files[name] = shard_script(name, {"m": [encode_members(m, size) for m in facet.members]})
        entries.append({"key": facet.key, "label": facet.label, "values": list(facet.values),
                        "counts": list(facet.counts), "file": name})  # fmt: skip
    years: dict[str, object] | None = None
    if facets.years is not None:
        y = facets.years
        files[path["years"]] = shard_script(path["years"], {"first": _int16(y.first), "last": _int16(y.last)})
        years = {**(_histogram(y) or {"span": None, "bin": 1, "start": 0, "counts": []}), "dated": y.dated,
                 "undated": y.undated, "unreadable": len(y.unreadable), "file": path["years"]}  # fmt: skip
    files[path["summary"]] = shard_script(path["summary"], {"size": size, "facets": entries, "years": years})
    return files, path["summary"]
