"""IIIF out as a product of the site: site/iiif/ (the collection and a manifest an item), a navigation link to
the collection, and on each compare page (templates/compare.html) a link to the item's manifest.

IIIF ids must be absolute URIs, and a static site does not know where it will be served: without the site's
public address (`[site] url`) no IIIF collection is written (a IIIF source's build says so), rather than one
whose ids no viewer can resolve."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from builder.collect.collection import Item
from builder.iiif.presentation import COLLECTION_PATH, FALLBACK_SIDE, MANIFEST_PATH, Size, collections, manifest
from builder.pagekit.item import PageItem
from builder.pagekit.product import NavEntry, PageKit

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class IiifPage:
    """What the other pages know of the IIIF collection: where it and each item's manifest lie."""

    base: str  # the site's public address, ending in '/'
    collection: str = COLLECTION_PATH

    def manifest_of(self, item_id: str) -> str:
        """The item's manifest, from the site's root."""
        return MANIFEST_PATH.format(id=item_id)


@dataclass
class IiifProduct:
    page: IiifPage
    sizes: dict[str, Size]  # by item id: its image's size in pixels, for canvases without a source's size
    name: str = "iiif"
    nav: NavEntry | None = NavEntry("iiif", COLLECTION_PATH, "IIIF")
    templates: Path | None = TEMPLATES
    placed: dict[str, str] = field(default_factory=dict)

    def page_count(self) -> int:
        return 0  # JSON only

    def files(self, kit: PageKit) -> dict[str, str | bytes]:
        label = kit.render("iiif-label.txt", COLLECTION_PATH, "iiif").strip()  # the site's title
        base, fallback = self.page.base, Size(FALLBACK_SIDE, FALLBACK_SIDE)
        docs = {self.page.manifest_of(i.id): manifest(i, self.sizes.get(i.id, fallback), base) for i in kit.items}
        docs.update(collections(kit.items, label, base))
        return {rel: json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n" for rel, doc in docs.items()}

    def fingerprint(self) -> object:
        """The address and the sizes; the items (with their sources) and the title are the site's own."""
        return {"base": self.page.base, "sizes": sorted((k, v.width, v.height) for k, v in self.sizes.items())}


def iiif_product(items: list[Item], pages: list[PageItem], url: str | None,
                 warn: Callable[[str], None] | None = None) -> IiifProduct | None:  # fmt: skip
    """site/iiif/ where the site's address is known (url); None otherwise, said through `warn` where given (a
    build from a IIIF source, whose visitors would look for it). pages: the items as the pages show them."""
    if not url:
        if warn is not None:
            warn("site/iiif/ not written: IIIF ids are absolute URLs; set the site's address ([site] url, --site-url)")
        return None
    base = url if url.endswith("/") else url + "/"
    sizes = {p.id: Size(*i.pixels) for i, p in zip(items, pages, strict=True) if i.pixels[0] and i.pixels[1]}
    return IiifProduct(IiifPage(base), sizes)
