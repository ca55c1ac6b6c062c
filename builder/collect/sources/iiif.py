"""IIIF documents: Presentation API 2.1 and 3.0 manifests and collections read into the images they paint, and
the Image API's URL forms.

Only reading is here (iiif_fetch.py fetches); nothing here touches the network or the disk. A collection is
read into the manifests and collections it names (embedded ones read in place); a manifest into one `Picture`
per canvas that paints an image, with the canvas's or manifest's label, summary, metadata pairs, rights and
homepage as text, and where its image comes from: the Image API service (fetched at the size the pipeline needs)
and the annotation's own image URL (the fall-back where there is no service, or the service refuses).

Text comes as the IIIF versions write it: v3 language maps (`{"en": ["..."], "none": ["..."]}`), v2 strings,
`{"@value", "@language"}` objects or lists of them. One language is chosen (the preferred one, else values
without a language, else English, else the first given), its values joined with "; ". A label is plain text
(v3 says so); a value that is HTML (v3: it starts with '<' and ends with '>'; v2 allows some HTML in any value)
is reduced to its text. Control characters are dropped and runs of white space made one space, so that every
string here is a line of text: the pages escape it as any metadata.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import NamedTuple
from urllib.parse import urlsplit

# The metadata keys a fetched picture's record carries besides its text, and each item keeps (the collection
# keeps every column it does not know as an extra): where it came from, so that its page links back to the
# source and the site's IIIF collection can point at the source's image service.
SOURCE_KEYS = ("iiif_manifest", "iiif_canvas", "iiif_service", "iiif_service_version", "iiif_image",
               "iiif_width", "iiif_height")  # fmt: skip
MAX_ID_SLUG = 48  # characters of an item id taken from its canvas's (or manifest's) URI, before its hash


class IiifError(ValueError):
    """A document that is not a IIIF manifest or collection vsis can read (the message says why)."""


@dataclass(frozen=True)
class Service:
    """An Image API service: its base URI (no trailing slash) and the API's major version (2 or 3)."""

    id: str
    version: int


def image_url(service: Service, size: int | None) -> str:
    """The Image API URL of the whole image, scaled to fit in size x size (the same `!w,h` form in 2 and 3),
    or at full resolution (size None: `max` in 3, `full` in 2, which 2.1 servers all take)."""
    if size is None:
        return f"{service.id}/full/{'max' if service.version >= 3 else 'full'}/0/default.jpg"
    return f"{service.id}/full/!{size},{size}/0/default.jpg"


class SourceRef(NamedTuple):
    """Where an item came from, as its pages link to it (a tuple: the pages' digests write items as JSON)."""

    manifest: str  # the manifest's URI ("" where it is not an http(s) URL)
    canvas: str
    service: str  # the Image API service's URI, "" where there is none
    version: int  # its API version, 0 where there is no service
    image: str  # the annotation's own image URL
    width: int  # the canvas's size, 0 where not given
    height: int

    @property
    def full_image(self) -> str:
        """The image at full resolution: through the service where there is one, else the annotation's image."""
        return image_url(Service(self.service, self.version), None) if self.service else self.image


def source_ref(extra: Mapping[str, str]) -> SourceRef | None:
    """The source of an item whose metadata carries SOURCE_KEYS (a fetched IIIF picture), else None. Only
    http(s) URLs are kept: these become links."""
    if not extra.get("iiif_canvas") and not extra.get("iiif_manifest"):
        return None
    version = extra.get("iiif_service_version", "")
    service = web_url(extra.get("iiif_service", ""))
    return SourceRef(
        manifest=web_url(extra.get("iiif_manifest", "")),
        canvas=extra.get("iiif_canvas", ""),
        service=service,
        version=int(version) if service and version in ("2", "3") else 0,
        image=web_url(extra.get("iiif_image", "")),
        width=_whole(extra.get("iiif_width")),
        height=_whole(extra.get("iiif_height")),
    )


def web_url(url: object) -> str:
    """The URL if it is http(s) with a host, else "": only such URLs are ever fetched or made links."""
    if not isinstance(url, str):
        return ""
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else ""


def _whole(value: object) -> int:
    """A size as IIIF gives it (an integer; some write "1200"), 0 where it is not one."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return 0


# --- text -----------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def clean(text: str) -> str:
    """One line of text: control characters (and line separators) as spaces, runs of white space as one."""
    return " ".join(_CONTROL.sub(" ", text).split())


class _TextOf(HTMLParser):
    """The text of an HTML fragment: tags dropped, entities read, script and style content left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag in ("br", "p", "div", "li"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_text(value: str) -> str:
    """A value that IIIF lets be HTML (it starts with '<' and ends with '>') as its text; any other as it is."""
    stripped = value.strip()
    if not (stripped.startswith("<") and stripped.endswith(">")):
        return value
    parser = _TextOf()
    parser.feed(stripped)
    parser.close()
    return "".join(parser.parts)


def text_of(value: object, language: str, html: bool = False) -> str:
    """The text of a IIIF label or value in any version's form, in `language` where it is given (see the module's
    docstring); html: the value may be HTML (metadata values, summaries), reduced to its text."""
    values = _in_language(value, language)
    return clean("; ".join(html_text(v) if html else v for v in values if isinstance(v, str)))


def _in_language(value: object, language: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, dict) and "@value" in value:  # v2: {"@value": ..., "@language": ...}
        return [str(value["@value"])] if isinstance(value["@value"], (str, int, float)) else []
    if isinstance(value, dict):  # v3: a language map
        maps = {k: v if isinstance(v, list) else [v] for k, v in value.items() if isinstance(k, str)}
        for choice in (language, "none", "en", *maps):
            if choice in maps:
                return [str(v) for v in maps[choice] if isinstance(v, (str, int, float))]
        return []
    if isinstance(value, list):  # v2: several strings or language-tagged values
        tagged = [v for v in value if isinstance(v, dict) and "@value" in v]
        if tagged:  # the values in one language, chosen as a v3 map's are; untagged strings kept
            by_language: dict[str, list[object]] = {}
            for v in tagged:
                by_language.setdefault(str(v.get("@language", "none")), []).append(v)
            choice = next(c for c in (language, "none", "en", *by_language) if c in by_language)
            value = [v for v in value if not isinstance(v, dict)] + by_language[choice]
        return [s for v in value for s in _in_language(v, language)]
    return []


# --- documents ------------------------------------------------------------------------------------------


def _first(value: object) -> object:
    """A property that may be one object or a list of them (services, bodies, homepages): the first."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _id(obj: object) -> str:
    """An object's URI, as v3 (`id`) or v2 (`@id`) writes it; a bare string is a URI itself."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, dict):
        found = obj.get("id", obj.get("@id"))
        return found if isinstance(found, str) else ""
    return ""


def _type(obj: Mapping[str, object]) -> str:
    """The object's type without a v2 prefix: 'Manifest' for "sc:Manifest" and "Manifest" alike."""
    kind = obj.get("type", obj.get("@type"))
    kind = _first(kind)
    return kind.rpartition(":")[2] if isinstance(kind, str) else ""


def _version(doc: Mapping[str, object]) -> int:
    """The Presentation API version of a document, by its @context (3 where it names /presentation/3/, 2 where
    /presentation/2/), else by how it names its id (`id`: 3; `@id`: 2)."""
    contexts = doc.get("@context")
    for context in contexts if isinstance(contexts, list) else [contexts]:
        if isinstance(context, str) and "/presentation/3" in context:
            return 3
        if isinstance(context, str) and "/presentation/2" in context:
            return 2
    return 3 if "id" in doc else 2


@dataclass(frozen=True)
class Member:
    """A manifest or collection a collection names, to be fetched unless embedded whole."""

    id: str
    kind: str  # "Manifest" or "Collection"
    label: str
    embedded: Mapping[str, object] | None = None  # the document itself, where the collection holds it whole


@dataclass
class Picture:
    """One image to fetch: a canvas's painting (or, one item a manifest, its first canvas's)."""

    canvas: str
    manifest: str
    service: Service | None
    image: str  # the annotation's image URL ("" where it has none that is http(s))
    width: int
    height: int
    record: dict[str, str] = field(default_factory=dict)  # title, summary, metadata pairs, rights, url

    @property
    def item_id(self) -> str:
        return item_id(self.canvas or self.manifest)

    def urls(self, size: int) -> list[str]:
        """What to fetch, in order: the service at `size` (full resolution where the canvas is no larger), then
        the annotation's image."""
        urls = []
        if self.service is not None:
            small = 0 < max(self.width, self.height) <= size
            urls.append(image_url(self.service, None if small else size))
        if self.image and self.image not in urls:
            urls.append(self.image)
        return urls


@dataclass
class Document:
    """A manifest or collection as read: its members (a collection's) or pictures (a manifest's), and the
    canvases that paint no image it could fetch, with why."""

    id: str
    kind: str  # "Manifest" or "Collection"
    label: str
    members: list[Member] = field(default_factory=list)
    pictures: list[Picture] = field(default_factory=list)
    without_image: list[tuple[str, str]] = field(default_factory=list)  # (canvas URI, why)


def item_id(uri: str) -> str:
    """The id of the item a canvas (or manifest) becomes: readable words from the end of its URI and a hash of
    the whole URI, so that it is the same from build to build and never another's. In id form already
    ([a-z0-9] words joined by '-'), so that the collection's scan keeps it as it is."""
    parts = urlsplit(uri)
    tail = [p for p in parts.path.split("/") if p][-3:]
    words = unicodedata.normalize("NFKD", "-".join(tail)).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", words.lower().removesuffix(".json")).strip("-")[:MAX_ID_SLUG].strip("-")
    digest = hashlib.sha1(uri.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{slug}-{digest}" if slug else f"iiif-{digest}"


def read_document(doc: object, where: str, language: str) -> Document:
    """A manifest or collection of either version. where: the URL or file it came from, for the messages."""
    if not isinstance(doc, dict):
        raise IiifError(f"{where}: not a IIIF document (a JSON object was expected)")
    kind = _type(doc)
    if kind not in ("Manifest", "Collection"):
        raise IiifError(f"{where}: not a IIIF manifest or collection (type {kind or 'not given'!r})")
    version = _version(doc)
    found = Document(_id(doc) or where, kind, text_of(doc.get("label"), language))
    if kind == "Collection":
        found.members = list(_members(doc, language))
    else:
        _read_manifest(doc, version, found, language)
    return found


def _members(doc: Mapping[str, object], language: str) -> Iterator[Member]:
    """A collection's manifests and collections: v3 `items`, v2 `collections`, `manifests` and `members`."""
    for key in ("items", "collections", "manifests", "members"):
        listed = doc.get(key)
        for entry in listed if isinstance(listed, list) else []:
            if not isinstance(entry, dict):
                continue
            kind = _type(entry)
            if kind not in ("Manifest", "Collection"):
                continue
            whole = "items" in entry or "sequences" in entry or "manifests" in entry or "collections" in entry
            yield Member(_id(entry), kind, text_of(entry.get("label"), language), entry if whole else None)


def _record(obj: Mapping[str, object], version: int, language: str) -> dict[str, str]:
    """A manifest's or canvas's descriptive properties as metadata: label (the title), summary (v2's
    description), every metadata pair by its label, the required statement (v2's attribution), the rights
    (v2's license) and the homepage (v2's related) as the link."""
    record: dict[str, str] = {}
    pairs = obj.get("metadata")
    for pair in pairs if isinstance(pairs, list) else []:
        if not isinstance(pair, dict):
            continue
        label, value = text_of(pair.get("label"), language), text_of(pair.get("value"), language, html=True)
        if label and value:
            record[label] = f"{record[label]}; {value}" if label in record else value
    title = text_of(obj.get("label"), language)
    if title:
        record["title"] = title
    summary = text_of(obj.get("summary", obj.get("description")), language, html=True)
    if summary:
        record["summary"] = summary
    statement = obj.get("requiredStatement")
    if isinstance(statement, dict):
        label = text_of(statement.get("label"), language) or "Attribution"
        value = text_of(statement.get("value"), language, html=True)
        if value:
            record[label] = value
    elif obj.get("attribution"):
        record["attribution"] = text_of(obj.get("attribution"), language, html=True)
    rights = obj.get("rights", obj.get("license"))
    rights = "; ".join(filter(None, map(_id, rights if isinstance(rights, list) else [rights])))
    if rights:
        record["rights"] = clean(rights)
    for home in _homepages(obj, version):
        url = web_url(_id(home))
        if url:
            record["url"] = url
            break
    return record


def _homepages(obj: Mapping[str, object], version: int) -> list[object]:
    """The pages about the object: v3's homepage, v2's related (each one or a list)."""
    value = obj.get("homepage") if version == 3 else obj.get("related")
    return value if isinstance(value, list) else [value]


def _read_manifest(doc: Mapping[str, object], version: int, found: Document, language: str) -> None:
    """The pictures of a manifest: one per canvas that paints an image; the others listed with why."""
    base = _record(doc, version, language)
    canvases = _canvases(doc, version)
    several = len(canvases) > 1
    for n, canvas in enumerate(canvases, 1):
        canvas_id = _id(canvas) or f"{found.id}#canvas-{n}"
        body = _painting(canvas, version)
        if body is None:
            found.without_image.append((canvas_id, "paints no image"))
            continue
        service, image = _service(body), web_url(_id(body))
        if service is None and not image:
            found.without_image.append((canvas_id, f"its image has no http(s) URL ({_id(body) or 'none given'!r})"))
            continue
        own = _record(canvas, version, language)
        record = {**base, **{k: v for k, v in own.items() if k != "title"}}
        canvas_label = own.get("title", "")
        if several:
            record["title"] = f"{base.get('title', '')}: {canvas_label or f'canvas {n}'}".lstrip(": ")
        elif not base.get("title") and canvas_label:
            record["title"] = canvas_label
        found.pictures.append(
            Picture(
                canvas_id, found.id, service, image, _whole(canvas.get("width")), _whole(canvas.get("height")), record
            )  # fmt: skip
        )


def _canvases(doc: Mapping[str, object], version: int) -> list[Mapping[str, object]]:
    if version == 3:
        items = doc.get("items")
        return [c for c in items if isinstance(c, dict) and _type(c) == "Canvas"] if isinstance(items, list) else []
    sequences = doc.get("sequences")
    first = _first(sequences) if isinstance(sequences, list) else None
    canvases = first.get("canvases") if isinstance(first, dict) else None
    return [c for c in canvases if isinstance(c, dict)] if isinstance(canvases, list) else []


def _painting(canvas: Mapping[str, object], version: int) -> Mapping[str, object] | None:
    """The image a canvas paints (the first painting annotation's body, a choice's first or default option, a
    specific resource's source): None where it paints none."""
    if version == 3:
        pages = canvas.get("items")
        annotations = [a for p in pages if isinstance(p, dict) for a in p.get("items") or [] if isinstance(a, dict)] \
            if isinstance(pages, list) else []  # fmt: skip
        bodies = [a.get("body") for a in annotations if a.get("motivation") in ("painting", None)]
    else:
        images = canvas.get("images")
        bodies = [a.get("resource") for a in images if isinstance(a, dict)] if isinstance(images, list) else []
    for body in bodies:
        image = _image(_first(body))
        if image is not None:
            return image
    return None


def _image(body: object, depth: int = 0) -> Mapping[str, object] | None:
    if not isinstance(body, dict) or depth > 4:
        return None
    kind = _type(body)
    if kind == "Choice":
        options = body.get("items", [body.get("default"), *(body.get("item") or [])])
        for option in options if isinstance(options, list) else []:
            found = _image(option, depth + 1)
            if found is not None:
                return found
        return None
    if kind == "SpecificResource":
        return _image(body.get("source", body.get("full")), depth + 1)
    return body if kind in ("Image", "") or "service" in body else None


def _service(body: Mapping[str, object]) -> Service | None:
    """The image's Image API service: its version from its type (ImageService2/3), @context or profile."""
    services = body.get("service")
    for service in services if isinstance(services, list) else [services]:
        if not isinstance(service, dict):
            continue
        uri = web_url(_id(service)).rstrip("/")
        if not uri:
            continue
        kind = str(service.get("type", service.get("@type", "")))
        context, profile = str(service.get("@context", "")), str(_first(service.get("profile")) or "")
        if (
            kind.startswith("ImageService")
            or "/image/" in context
            or "/image/" in profile
            or profile.startswith("level")
        ):
            v2 = kind in ("ImageService2", "iiif:ImageService") or "/image/2" in context or "/image/2" in profile
            v2 = v2 or (kind == "" and "/image/3" not in context and "@id" in service)
            return Service(uri, 2 if v2 else 3)
    return None
