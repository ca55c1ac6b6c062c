"""The map as a product of the site: map.html, its data files, the overview's still picture and the atlases."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from builder.cache import stored_name
from builder.collect.facets import Facets
from builder.map.atlas import NetworkAtlases, atlas_files
from builder.map.data import map_files
from builder.map.model import MapPage, map_page
from builder.map.picture import map_picture
from builder.map.stage import NetworkLayout
from builder.pagekit.item import PageItem
from builder.pagekit.product import NavEntry, PageKit


@dataclass
class MapProduct:
    page: MapPage
    placed: dict[str, str] = field(default_factory=dict)  # the atlases: site path -> cache location
    name: str = "map"
    nav: NavEntry | None = NavEntry("map", "map.html", "Map")
    templates: Path | None = None

    def page_count(self) -> int:
        return 1

    def files(self, kit: PageKit) -> dict[str, str | bytes]:
        out: dict[str, str | bytes] = dict(map_files(self.page, kit.items))
        out["map.html"] = kit.render("map.html", "map.html", "map", map=self.page)
        out["map.png"] = map_picture(self.page)
        return out

    def fingerprint(self) -> object:
        """The map with its coarse atlases, which are published inside its data files, named as the cache names
        them (stored_name); the atlases themselves are placed files, which the site's fingerprint names."""
        if self.page.atlas is None:
            return self.page
        coarse = [(network, [stored_name(s) for s in sheets]) for network, sheets in self.page.atlas.coarse]
        return {**vars(self.page), "atlas": {**vars(self.page.atlas), "coarse": coarse}}


def map_product(items: list[PageItem], layouts: list[NetworkLayout], atlases: list[NetworkAtlases],
                suffix: str, facets: Facets | None = None) -> MapProduct | None:  # fmt: skip
    """None where no layout was made (the map is switched off). suffix: the thumbnails' (and atlases').
    facets: the items' (their colourings and years)."""
    page = map_page(items, layouts, atlases, suffix, facets=facets)
    return None if page is None else MapProduct(page, atlas_files(atlases, suffix))
