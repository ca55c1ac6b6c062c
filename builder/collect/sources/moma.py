"""The Museum of Modern Art's open collection data: `Artworks.json` or `Artworks.csv`, as published.

One record per artwork with ObjectID, Title, Artist (a list in the JSON, comma-joined text in the CSV),
Date, Medium, Dimensions, Classification, Department, Nationality (one per artist: a list in the JSON, as
`["American", "French"]` or, in older releases, `["(American)", "(French)"]`; `(American) (French)` in the
CSV), DateAcquired, URL (the artwork's page) and the thumbnail's address: `ThumbnailURL` in the release the
original study used, `ImageURL` in later ones; both are accepted. `sample` picks n artworks that have one,
reproducibly; `write_metadata` writes what the builder reads, with the columns museums browse by
(department, classification, nationality, date) ready to be facets.
"""

from __future__ import annotations

import csv
import io
import random
import re
from dataclasses import dataclass
from pathlib import Path

from builder.errors import MetadataError
from builder.textfiles import parse_json, read_text

# How the builder reads MoMA's records when given them directly (`--metadata Artworks.json`): each is joined
# on its ObjectID (the image <ObjectID>.jpg), and its Classification is the category where none is given.
JOIN_ALIASES = ("objectid",)
CATEGORY_ALIASES = ("classification",)

# An ObjectID is taken as ASCII digits, at most 18 of them (MoMA's have up to 6): str.isdigit also takes
# "²" and other digits int() refuses, and int() refuses more than 4,300 digits.
MAX_OBJECT_ID_DIGITS = 18

# Classification is written under its own name, so that a facet can name it; the builder takes it as the
# category all the same (CATEGORY_ALIASES). Nationality names several values a cell, joined by LIST_SEPARATOR.
METADATA_FIELDS = (
    "file", "object_id", "title", "artist", "date", "medium", "dimensions", "classification", "department",
    "nationality", "date_acquired", "url",
)  # fmt: skip
LIST_SEPARATOR = "; "  # the facet reader splits a cell on ";" into its values

_BRACKETED = re.compile(r"\(([^()]*)\)")  # "(American) (French)", the CSV's one value per artist


@dataclass(frozen=True)
class Artwork:
    object_id: str
    title: str
    artists: tuple[str, ...]
    date: str
    medium: str
    dimensions: str
    classification: str
    department: str
    nationalities: tuple[str, ...]  # each once, in the order of the artists; none where none is known
    date_acquired: str
    url: str  # the artwork's page on moma.org
    thumbnail: str  # ThumbnailURL or ImageURL; "" when it has none

    @property
    def file_name(self) -> str:
        return f"{self.object_id}.jpg"


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _artists(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(_text(v) for v in value if _text(v))
    text = _text(value)
    return (text,) if text else ()


def _nationalities(value: object) -> tuple[str, ...]:
    """The artists' nationalities, each once: from the JSON's list (bracketed or not) or the CSV's
    "(American) (French)" (or comma-joined text). The empty "()" MoMA writes for an artist without one is
    dropped, and a ";" inside a name becomes "," so that the cell reader does not split it in two."""
    if isinstance(value, list):
        parts = [_text(v) for v in value]
    else:
        text = _text(value)
        parts = _BRACKETED.findall(text) if "(" in text else text.split(",")
    names = (p.strip().removeprefix("(").removesuffix(")").replace(";", ",").strip() for p in parts)
    return tuple(dict.fromkeys(n for n in names if n))


def _artwork(record: dict[str, object], where: str) -> Artwork | None:
    object_id = _text(record.get("ObjectID"))
    if not object_id:
        return None
    if not (object_id.isascii() and object_id.isdigit() and len(object_id) <= MAX_OBJECT_ID_DIGITS):
        quoted = repr(object_id[:30]) + ("…" if len(object_id) > 30 else "")
        raise MetadataError(
            f"{where}: ObjectID {quoted} is not a number of at most {MAX_OBJECT_ID_DIGITS} digits (0-9)"
        )
    return Artwork(
        object_id=object_id,
        title=_text(record.get("Title")),
        artists=_artists(record.get("Artist")),
        date=_text(record.get("Date")),
        medium=_text(record.get("Medium")),
        dimensions=_text(record.get("Dimensions")),
        classification=_text(record.get("Classification")),
        department=_text(record.get("Department")),
        nationalities=_nationalities(record.get("Nationality")),
        date_acquired=_text(record.get("DateAcquired")),
        url=_text(record.get("URL")),
        thumbnail=_text(record.get("ThumbnailURL") or record.get("ImageURL")),
    )


def read_artworks(path: Path) -> list[Artwork]:
    """Every record with an ObjectID, in file order. A malformed file is an error naming the line."""
    text = read_text(path)
    artworks: list[Artwork] = []
    if path.suffix.lower() == ".json":
        try:
            data = parse_json(text, path)
        except ValueError:  # parse_json names every other problem; this is an integer past int()'s digit limit
            raise MetadataError(f"{path}: a number in it has more digits than can be read") from None
        if not isinstance(data, list):
            raise MetadataError(f"{path}: expected a list of artwork records, as in MoMA's Artworks.json")
        for n, record in enumerate(data, 1):
            if not isinstance(record, dict):
                raise MetadataError(f"{path}: record {n} is not an object")
            found = _artwork(record, f"{path}: record {n}")
            if found:
                artworks.append(found)
    elif path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text), strict=True)
        try:
            for record in reader:
                found = _artwork(record, f"{path}: line {reader.line_num}")
                if found:
                    artworks.append(found)
        except csv.Error as exc:
            raise MetadataError(f"{path}: malformed CSV at line {reader.line_num}: {exc}") from None
        if reader.fieldnames is None or "ObjectID" not in reader.fieldnames:
            raise MetadataError(f"{path}: no ObjectID column; is this MoMA's Artworks.csv?")
    else:
        raise MetadataError(f"{path}: expected Artworks.json or Artworks.csv")
    return artworks


def sample(artworks: list[Artwork], n: int, seed: int) -> list[Artwork]:
    """n artworks that have a thumbnail (all of them when fewer), a fixed-seed sample, by ObjectID order."""
    with_thumbnail = sorted({a.object_id: a for a in artworks if a.thumbnail}.values(), key=lambda a: int(a.object_id))
    if len(with_thumbnail) <= n:
        return with_thumbnail
    return sorted(random.Random(seed).sample(with_thumbnail, n), key=lambda a: int(a.object_id))


def write_metadata(artworks: list[Artwork], path: Path) -> None:
    """The builder's metadata file: one row per artwork, joined on its file name; several nationalities are
    joined by "; ", which the facet reader splits into one value each."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(METADATA_FIELDS)
    for a in artworks:
        writer.writerow(
            [
                a.file_name,
                a.object_id,
                a.title,
                ", ".join(a.artists),
                a.date,
                a.medium,
                a.dimensions,
                a.classification,
                a.department,
                LIST_SEPARATOR.join(a.nationalities),
                a.date_acquired,
                a.url,
            ]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")
