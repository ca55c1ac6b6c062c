"""The page models: what every page shows, as plain data, computed before any template runs.

pages.py fills them from the pipeline's results; render.py lays them out with the templates; explorer_data.py
writes the explorer's data files from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from builder.experiment.stats import Estimate
from builder.features.browser import BrowserNetwork
from builder.inputs.perturb import Profile
from builder.search.compact import CompactVectors
from builder.search.retrieval import Refinement
from builder.site.charts import LineChart

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


@dataclass(slots=True)
class PageNeighbour:
    """One neighbour as a page shows it. With slots: a museum's site model holds millions (100,000 images
    x k x networks), made on every build."""

    item: PageItem
    index: int  # position of `item` in its dataset's items
    score: float


@dataclass
class PageNetwork:
    name: str
    dim: int
    layer: str
    description: str
    weights: str
    search_recall: float
    neighbours: list[list[PageNeighbour]]  # row per item, in the order of SiteModel.items
    precision: str = "fp32"  # what it ran in
    precision_note: str = ""  # why that is not the precision asked for
    recall_note: str = ""  # how search_recall was measured


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


@dataclass(frozen=True)
class PageComparison:
    """Network a against network b, paired over the originals: the difference mean(a - b) with its
    interval, and the verdict it supports."""

    a: str
    b: str
    metric: str
    difference: Estimate
    verdict: str  # "better", "worse" or "no clear difference"
    css: str  # the verdict's class: "better", "worse" or "unclear"


@dataclass
class RecoveryRow:
    network: str
    k: int
    precision: Estimate
    recall: Estimate
    f1: Estimate
    versus_baseline: PageComparison | None  # F1 against the baseline; None for the baseline / no baseline
    note: str = ""  # shown where there is no comparison: "baseline" on the baseline's own rows


@dataclass
class ProfileRow:
    """One network's recovery of one profile's copies: found in the top k (per k), and 1 / its rank."""

    network: str
    profile: str
    label: str
    found: list[Estimate]  # share of originals whose copy is in the top k, in ExperimentPage.ks order
    rank: Estimate  # mean of 1 / rank of the copy (0 when not listed): the AP of that one copy


@dataclass
class ExperimentPage:
    originals: int
    indexed: int
    profiles: list[Profile]
    ks: list[int]
    examples: list[tuple[PageItem, list[tuple[str, str]]]]  # original, [(profile label, thumb path)]
    recovery: list[RecoveryRow]
    ideal: list[tuple[int, float, float, float]]  # (k, best possible precision, recall, f1)
    average_precision: list[tuple[str, Estimate]]  # (network, mAP)
    depth: int  # neighbours listed per original: what AP is computed within
    per_profile: list[ProfileRow]
    category: list[tuple[str, list[str]]]  # (network, category precision per k, written out: "–" where none)
    category_chance: float | None  # its chance level: the mean share of a query's category among the others
    category_map: list[tuple[str, list[str]]]  # (network, category mAP@k per k, written out: "–" where none)
    category_map_chance: list[str]  # its chance level per k (a random ranking's mean AP@k), written out
    category_map_queries: int  # the items mAP@k is averaged over: those with another image of their category
    category_comparisons: list[PageComparison]  # every pair of networks on category P@k and mAP@k, paired
    agreement: list[tuple[str, str, Estimate]]
    agreement_k: int
    comparisons: list[PageComparison]  # every pair of networks, F1 at each k and mAP
    charts: list[LineChart]  # precision, recall and F1 at the asked k
    recall_chart: LineChart  # recall@k from 1 to 10, with the ideal bound
    profile_charts: list[LineChart]  # the same per profile
    baseline: str
    bootstrap: str  # how the intervals were made, in words
    level: str  # the intervals' confidence level, e.g. "95%"
    metrics: dict[str, object]  # what experiments/metrics.json holds


@dataclass(frozen=True)
class MapCategory:
    """One entry of the map's legend: what its points are, their colour and how many there are."""

    label: str
    colour: str  # "#rrggbb"
    count: int


@dataclass
class MapHotspot:
    """One cluster of a network's layout, as the map's list of places to jump to shows it."""

    label: str  # its members' most common category (or other value), e.g. "flowers (12 of 15)"
    count: int  # its members
    item: int  # its representative: the member nearest its centre
    x: int  # its members' middle on the 16-bit grid: the middle of their extent
    y: int
    extent: int  # the larger side of its members' bounding box, on the grid: how far to zoom


@dataclass(frozen=True)
class MapAtlas:
    """The thumbnail atlases (site/atlas.py): per network, item i's cell is cell x cell pixels, number
    slots[network][i] in the network's atlases, per_atlas cells an atlas."""

    count: int  # atlases a network
    cell: int  # pixels
    per_row: int  # cells
    per_atlas: int
    path: str  # "atlases/{network}/{n}.webp"
    coarse_cell: int  # pixels: a cell of the coarse atlases (the same numbering, reduced)
    mime: str  # the atlases' format, "image/webp"
    slots: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (network, (n,) uint32 cell numbers)
    coarse: list[tuple[str, list[str]]] = field(default_factory=list)  # (network, its coarse atlases' files)


@dataclass
class MapPage:
    """What map.html draws: every item of the collection at its place in each network's layout, coloured by
    its legend entry."""

    layouts: list[tuple[str, np.ndarray]]  # (network, (n, 2) uint16 points on the 16-bit grid)
    legend: list[MapCategory]
    codes: np.ndarray  # (n,) uint8: each item's legend entry
    hotspots: list[tuple[str, list[MapHotspot]]] = field(default_factory=list)  # per network; none: no clusters
    atlas: MapAtlas | None = None  # None: no atlases


@dataclass
class QueryNetwork:
    """A network that query.html runs in the visitor's browser: how (its preprocessing, and its model but for
    the pixel baseline, whose preprocessed image is the feature) and the collection's compact vectors."""

    network: BrowserNetwork
    vectors: CompactVectors
    refinement: Refinement = field(default_factory=Refinement)  # applied to the visitor's feature too


@dataclass
class QueryPage:
    """query.html: search the collection with the visitor's own image, computed in their browser."""

    networks: list[QueryNetwork]
    refused: list[str]  # the built networks not offered, each with why
    shown: int  # results shown per search

    @property
    def runs_models(self) -> bool:
        """Whether a network of the page runs a model: only then does the site carry the network runtime."""
        return any(n.network.model is not None for n in self.networks)


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
    experiment: ExperimentPage | None = None
    thumb_suffix: str = ".webp"  # of every thumbnail's file (THUMB_PATH)
    map: MapPage | None = None  # None: no map built
    query: QueryPage | None = None  # None: no search by image
