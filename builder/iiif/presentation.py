"""The site's items as IIIF Presentation 3.0 documents: a manifest per item, and a collection of them.

IIIF ids are absolute URIs, so every id here is made from the site's public address (`base`, ending in '/').
An item's manifest has one canvas, painted with the item's image: through the source's Image API service where
the item came from a IIIF source with one (a viewer can then zoom into the full resolution), the source's own
image where it had no service, else the site's thumbnail (the one image of it the site publishes). A canvas has
the source canvas's size, else the image's own in pixels.

Text is written as IIIF reads it: labels as language maps of plain text ("none": the language is not known);
metadata values that would read as HTML (v3: a value that starts with '<' and ends with '>' is HTML) are
written as HTML that shows the text itself, so a title like "<script>" stays text in any viewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from builder.collect.sources.iiif import Service, SourceRef, image_url
from builder.pagekit.item import PageItem

CONTEXT = "http://iiif.io/api/presentation/3/context.json"
COLLECTION_PATH = "iiif/collection.json"
PART_PATH = "iiif/collection-{n}.json"  # a part of a large collection
MANIFEST_PATH = "iiif/manifests/{id}.json"
PER_PART = 1000  # manifests a collection lists: beyond, the collection lists parts of this many
FORMATS = {".webp": "image/webp", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
           ".gif": "image/gif", ".tif": "image/tiff", ".tiff": "image/tiff"}  # fmt: skip
FALLBACK_SIDE = 1000  # a canvas's side where no size is known (a header that could not be read)
# Rights a v3 manifest may name (its `rights`): Creative Commons and RightsStatements.org URIs only
RIGHTS_HOSTS = ("creativecommons.org/", "rightsstatements.org/")


@dataclass(frozen=True)
class Size:
    width: int
    height: int


def text(value: str) -> dict[str, list[str]]:
    """A plain-text label as a language map."""
    return {"none": [value]}


def value(text_value: str) -> dict[str, list[str]]:
    """A metadata value as a language map that reads as the same text in a viewer: one that looks like HTML
    to IIIF (it starts with '<' and ends with '>') is written as HTML showing it escaped."""
    stripped = text_value.strip()
    if stripped.startswith("<") and stripped.endswith(">"):
        return {"none": [f"<span>{escape(text_value)}</span>"]}
    return {"none": [text_value]}


def _format(url: str) -> str:
    path = url.split("?", 1)[0].lower()
    return next((mime for suffix, mime in FORMATS.items() if path.endswith(suffix)), "image/jpeg")


def _service(source: SourceRef) -> dict[str, str]:
    """The source's Image API service as a v3 manifest names it (level 0: vsis does not know its level, and
    every server offers at least that)."""
    if source.version >= 3:
        return {"id": source.service, "type": "ImageService3", "profile": "level0"}
    return {"@id": source.service, "@type": "ImageService2", "profile": "http://iiif.io/api/image/2/level0.json"}


def _body(item: PageItem, base: str) -> dict[str, object]:
    source = item.source
    if source is not None and source.service:
        full = image_url(Service(source.service, source.version), None)
        return {"id": full, "type": "Image", "format": "image/jpeg", "service": [_service(source)]}
    if source is not None and source.image:
        return {"id": source.image, "type": "Image", "format": _format(source.image)}
    return {"id": base + item.thumb, "type": "Image", "format": _format(item.thumb)}


def _metadata(item: PageItem) -> list[dict[str, object]]:
    pairs = [("Artist", item.artist), ("Date", item.date), ("Medium", item.medium),
             ("Dimensions", item.dimensions), ("Category", item.category), *item.extra]  # fmt: skip
    return [{"label": text(label), "value": value(v)} for label, v in pairs if v]


def manifest_id(base: str, item_id: str) -> str:
    return base + MANIFEST_PATH.format(id=item_id)


def manifest(item: PageItem, size: Size, base: str) -> dict[str, object]:
    """The item's manifest (see the module's docstring)."""
    own = manifest_id(base, item.id)
    root = f"{base}iiif/{item.id}"  # ids of its canvas, page and annotation (no fragments: v3 forbids them)
    source = item.source
    width, height = (source.width, source.height) if source and source.width and source.height else (0, 0)
    width, height = (width, height) if width else (size.width, size.height)
    canvas = f"{root}/canvas/1"
    doc: dict[str, object] = {
        "@context": CONTEXT,
        "id": own,
        "type": "Manifest",
        "label": text(item.title),
        "metadata": _metadata(item),
        "homepage": [{"id": base + item.page, "type": "Text", "label": text(item.title), "format": "text/html"}],
        "thumbnail": [{"id": base + item.thumb, "type": "Image", "format": _format(item.thumb)}],
        "partOf": [{"id": base + COLLECTION_PATH, "type": "Collection"}],
        "items": [{
            "id": canvas, "type": "Canvas", "width": width, "height": height,
            "items": [{
                "id": f"{root}/page/1", "type": "AnnotationPage",
                "items": [{"id": f"{root}/annotation/1", "type": "Annotation", "motivation": "painting",
                           "body": _body(item, base), "target": canvas}],
            }],
        }],
    }  # fmt: skip
    if source is not None and source.manifest:
        doc["seeAlso"] = [{"id": source.manifest, "type": "Dataset", "format": "application/ld+json",
                           "label": text("The source's IIIF manifest")}]  # fmt: skip
    rights = next((v for k, v in item.extra if k == "rights"), "")
    if any(f"//{host}" in rights or f"//www.{host}" in rights for host in RIGHTS_HOSTS) and " " not in rights:
        doc["rights"] = rights
    return doc


def _reference(item: PageItem, base: str) -> dict[str, object]:
    return {"id": manifest_id(base, item.id), "type": "Manifest", "label": text(item.title),
            "thumbnail": [{"id": base + item.thumb, "type": "Image", "format": _format(item.thumb)}]}  # fmt: skip


def collections(items: list[PageItem], label: str, base: str) -> dict[str, dict[str, object]]:
    """Site path -> document of the collection of every item: one, or where there are more than PER_PART items,
    one that lists parts of PER_PART (so that a viewer opens it without reading every item's entry)."""

    def collection(rel: str, title: str, entries: list[dict[str, object]]) -> dict[str, object]:
        return {"@context": CONTEXT, "id": base + rel, "type": "Collection", "label": text(title), "items": entries}

    if len(items) <= PER_PART:
        return {COLLECTION_PATH: collection(COLLECTION_PATH, label, [_reference(i, base) for i in items])}
    out: dict[str, dict[str, object]] = {}
    parts: list[dict[str, object]] = []
    for n, start in enumerate(range(0, len(items), PER_PART), 1):
        rel, chunk = PART_PATH.format(n=n), items[start : start + PER_PART]
        title = f"{label}: {start + 1:,}-{start + len(chunk):,}"
        out[rel] = collection(rel, title, [_reference(i, base) for i in chunk])
        parts.append({"id": base + rel, "type": "Collection", "label": text(title)})
    out[COLLECTION_PATH] = collection(COLLECTION_PATH, label, parts)
    return out
