"""An image as every page shows it (`PageItem`), made from the collection's item, and where its pages lie."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from builder.collect.collection import Item
from builder.collect.facets import label_of
from builder.collect.sources.iiif import SOURCE_KEYS, SourceRef, source_ref

# Where an item's pages lie in the site: the one place these patterns are written (the explorer reads them
# from data/index.js).
PAGE_PATH = "compare/{id}.html"
IMAGES_PAGE = "images.html"  # the list of all images: its first page; then images-2.html, ...
IMAGES_PER_PAGE = 1000  # 100 KB a page: a museum's list stays quick to open
# An item's thumbnail lies beside its page, so that a compare page names each of its 31 thumbnails by file
# name alone ("x.webp", not "../thumbs/x.webp": 310 bytes a page, 31 MB of a museum's 100,000 pages).
THUMB_PATH = "compare/{id}{suffix}"  # suffix: the thumbnail format's
assert PAGE_PATH.rsplit("/", 1)[0] == THUMB_PATH.rsplit("/", 1)[0], "thumb_from_page needs them in one folder"


@dataclass
class PageItem:
    """One image as the pages show it."""

    id: str
    title: str
    artist: str
    date: str
    medium: str
    dimensions: str
    url: str  # empty unless http(s): nothing else is ever made a link
    category: str
    relpath: str
    extra: list[tuple[str, str]]
    thumb: str  # path relative to the site root
    page_id: str = ""  # whose compare page this item links to: itself, or a copy's original
    source: SourceRef | None = None  # where a IIIF source's item came from: its manifest, its full-resolution image

    @property
    def page(self) -> str:
        return PAGE_PATH.format(id=self.page_id or self.id)

    @property
    def page_from_page(self) -> str:
        """The compare page as linked from another compare page (the same folder): the file name alone."""
        return self.page.rsplit("/", 1)[-1]

    @property
    def thumb_from_page(self) -> str:
        """The thumbnail as a compare page shows it (the same folder): the file name alone."""
        return self.thumb.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ListPage:
    """One page of the list of all images: its number (from 1), its file, and its slice of the items."""

    number: int
    path: str
    first: int  # index of its first item in SiteModel.items
    last: int  # one past its last


def list_pages(n_items: int, per_page: int = IMAGES_PER_PAGE) -> list[ListPage]:
    """The list of all images cut into pages of `per_page` (at least one page, even when empty)."""
    count = max(1, -(-n_items // per_page))
    return [
        ListPage(
            p + 1,
            IMAGES_PAGE if p == 0 else IMAGES_PAGE.replace(".html", f"-{p + 1}.html"),
            p * per_page,
            min(n_items, (p + 1) * per_page),
        )  # fmt: skip
        for p in range(count)
    ]


def safe_url(url: str) -> str:
    """The URL if it is http(s) with a host; otherwise empty, so `javascript:` and friends never become links."""
    if not url:
        return ""  # most items have none: no parse
    parsed = urlparse(url.strip())
    return url.strip() if parsed.scheme in ("http", "https") and parsed.netloc else ""


def page_item(item: Item, suffix: str, item_id: str | None = None, title: str | None = None) -> PageItem:
    """suffix: the thumbnails' file suffix ('.webp', '.jpg')."""
    item_id = item_id or item.id
    return PageItem(
        id=item_id,
        title=title or item.title,
        artist=item.artist,
        date=item.date,
        medium=item.medium,
        dimensions=item.dimensions,
        url=safe_url(item.url),
        category=item.category or "",
        relpath=item.relpath,
        # shown as a heading: the column's name as the metadata normalised it ("date_acquired": "Date acquired")
        extra=sorted((label_of(k), v) for k, v in item.extra.items() if k not in SOURCE_KEYS),
        thumb=THUMB_PATH.format(id=item_id, suffix=suffix),
        page_id=item.id,
        source=source_ref(item.extra),
    )
