"""The contract between the site and its page products (the map, search by image, the experiment's page, ...).

A product is made from the pipeline's results by its own package, and handed to the site as one entry of a
list (build.py); the site renders whatever it is given: each product's files, its navigation link, the files
it places from the cache. Nothing in the site names a product: adding one is its package, its template and
script, and the one line in build.py that makes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from builder.pagekit.item import PageItem


@dataclass(frozen=True)
class NavEntry:
    """A link of every page's navigation."""

    page: str  # the page's name, which templates compare with their own `page` to mark the current one
    href: str  # from the site's root, e.g. "map.html"
    label: str  # the link's text


class PageKit(Protocol):
    """What the site lends a product while rendering."""

    @property
    def items(self) -> list[PageItem]:
        """The collection's items, in the order of every data file."""
        ...

    def render(self, template: str, rel: str, page: str, **values: object) -> str:
        """The page `rel` (a path from the site's root) from `template`, which sees the site's model as `site`,
        the way back to the root as `root`, its own name as `page`, and `values`."""
        ...


class Product(Protocol):
    """A page product of the site."""

    @property
    def name(self) -> str:
        """How templates find its page model (`site.page_of(name)`)."""
        ...

    @property
    def nav(self) -> NavEntry | None:
        """Its link in the navigation (None: none)."""
        ...

    @property
    def page(self) -> object:
        """Its page model, which the overview page may show."""
        ...

    @property
    def templates(self) -> Path | None:
        """A folder of its own templates beside the site's (None: its templates are in templates/)."""
        ...

    @property
    def placed(self) -> Mapping[str, str]:
        """Site path -> a cached file copied into the site as it is (the map's atlases)."""
        ...

    def page_count(self) -> int:
        """How many HTML pages `files` writes: for the progress bar."""
        ...

    def files(self, kit: PageKit) -> dict[str, str | bytes]:
        """Site path -> the text or bytes of each of its files (pages and data)."""
        ...

    def fingerprint(self) -> object:
        """Everything its files depend on, as plain data for JSON (publish.py's fingerprint): what decides
        whether a site must be made again."""
        ...
