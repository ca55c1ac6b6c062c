"""The page models: what every page shows, as plain data, computed before any template runs.

pages.py fills them from the pipeline's results; render.py lays them out with the templates; explorer_data.py
writes the explorer's data files from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from builder.collect.facets import Facets
from builder.features.tags import Tag
from builder.pagekit.item import PageItem
from builder.pagekit.product import NavEntry, Product

# The site's own pages in every page's navigation, before the products' (pagekit/product.py)
OWN_NAV = (NavEntry("index", "index.html", "Overview"), NavEntry("explore", "explore.html", "Explore"))


@dataclass(slots=True)
class PageNeighbour:
    """One neighbour as a page shows it. With slots: a museum's site model holds millions (100,000 images
    x k x networks), made on every build."""

    item: PageItem
    index: int  # position of `item` in its dataset's items
    score: float


@dataclass(frozen=True)
class PageTag:
    """A class the network recognised in an image, as its compare page shows it ("alp 0.62")."""

    name: str
    probability: float


@dataclass
class PageNetwork:
    name: str
    dim: int
    layer: str
    description: str
    weights: str
    search_recall: float
    neighbours: list[list[PageNeighbour]]  # row per item, in the order of SiteModel.items
    precision: str = "fp32"  # what it ran in (backends.PrecisionPlan.shown)
    precision_note: str = ""  # why that is not the precision asked for, or auto's choice; a check's figures
    recall_note: str = ""  # how search_recall was measured
    # per item (SiteModel.items' order), the classes the network recognised in it above the threshold
    # (features/tags.py), most probable first; empty where the network does not tag
    tags: list[list[PageTag]] = field(default_factory=list)


@dataclass
class Dataset:
    """A set of images the explorer can show: every item may appear as a neighbour; the items listed in
    `queries` (all, when None) have neighbour rows, aligned with `queries`."""

    name: str
    label: str
    items: list[PageItem]
    networks: list[tuple[str, list[list[PageNeighbour]]]]
    queries: list[int] | None = None
    profile_of: dict[int, str] = field(default_factory=dict)  # item index -> profile label (copies)
    owner_of: dict[int, int] = field(default_factory=dict)  # item index -> its original's index
    facets: Facets | None = None  # what a visitor filters its items by (collect/facets.py)
    # per tagging network, per item, the classes recognised in it (features/tags.py): what words find
    tags: list[tuple[str, list[list[Tag]]]] = field(default_factory=list)


@dataclass
class SiteModel:
    title: str
    items: list[PageItem]
    networks: list[PageNetwork]
    k: int
    categories: list[str]
    skipped: list[tuple[str, str]]
    manifest: dict[str, object]
    unmatched_metadata: int = 0  # metadata records that matched no image
    extra_files: dict[str, str] = field(default_factory=dict)  # site path -> source file (thumbnails)
    datasets: list[Dataset] = field(default_factory=list)
    thumb_suffix: str = ".webp"  # of every thumbnail's file (THUMB_PATH)
    products: list[Product] = field(default_factory=list)  # the map, search by image, the experiment's page, ...

    @property
    def tagged(self) -> bool:
        """Whether a network tagged the images, so that words find what they show (word_data.py)."""
        return any(ds.tags for ds in self.datasets)

    @property
    def nav(self) -> list[NavEntry]:
        """Every page's navigation: the site's own pages, then each product's, in the order given."""
        return [*OWN_NAV, *(p.nav for p in self.products if p.nav is not None)]

    def page_of(self, name: str) -> object | None:
        """The page model of the product called `name`; None where the site has none (the overview asks)."""
        return next((p.page for p in self.products if p.name == name), None)
