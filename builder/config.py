"""The build configuration: one schema, validated in one place, from which the rest is made.

Each table of `vsis.toml` is one frozen dataclass below (the top-level keys are BuildConfig's own fields); each
of its fields is declared once with `setting()`: its default, what it means, its kind, its bounds or choices,
its `vsis build` flag. From that one declaration come the TOML loader (`load_toml`), the flags of `vsis build`
(cli.py builds its options from `flags()`), the build manifest (`manifest_settings`) and the configuration
reference of the documentation (`reference_markdown`). Each table checks its own values (`check`), with its
own messages.

Values come from three layers, later ones winning: defaults, `vsis.toml`, command-line flags. Paths in
`vsis.toml` are relative to the file itself, so a config can be run from anywhere. Outside the TOML file, a
setting has one flat name: a top-level key as it is (`k`), a table's key after its table (`map_epochs`), as
`make_config(**overrides)` and `BuildConfig.updated` take them.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from builder.collect.sources.iiif_fetch import ITEM_RULES as IIIF_ITEMS
from builder.errors import ConfigError
from builder.experiment.run import BASELINE
from builder.inputs.images import THUMB_FORMATS
from builder.inputs.perturb import DEFAULT_PROFILES, get_profile
from builder.terminal import is_printable

DEFAULT_NETWORKS = ("efficientnet_lite0", "pixels")
ENGINES = ("local", "ray")
NEIGHBOUR_METHODS = ("auto", "cells", "annoy", "exact")
MAX_CLUSTERS = 100  # the map's hotspots are a list of buttons: more would be a second index, not a shortcut
SEED_LIMIT = 2**31 - 1  # Annoy takes a signed 32-bit seed (numpy any)
MAX_TITLE = 500  # characters: the site's title heads every page
KINDS = ("path", "text", "int", "number", "bool", "names", "ints")  # what a setting's value is (`_typed`)


@dataclass(frozen=True)
class Setting:
    """One setting as the schema declares it (the metadata of its dataclass field)."""

    doc: str  # what it means, for the flag's help and the reference
    kind: str  # one of KINDS
    bounds: tuple[float, float] | None = None  # least and most, for numbers: what any collection could use
    choices: tuple[str, ...] = ()  # the values allowed, for text
    flag: str | None = None  # its `vsis build` option ("--k"); None: set in vsis.toml only
    optional: bool = False  # None is a value (not given: a default worked out later)
    manifest: bool = True  # written into the build manifest (paths are not: they are the builder's machine's)


def setting(default: Any, doc: str, kind: str, **how: Any) -> Any:
    """A field of a settings table: its default and its `Setting`. Bounds are what any collection could use,
    not what one can afford: each effort setting (trees, epochs, queries) is bounded so that no value
    accepted can make a build of a few images run for hours or exhaust memory (`[annoy] trees = 1e9` grew to
    21.7 GB before the kernel killed it)."""
    assert kind in KINDS, kind
    meta = {"setting": Setting(doc, kind, **{"manifest": kind != "path", **how})}
    if isinstance(default, (tuple, dict)) and not default:
        return field(default_factory=type(default), metadata=meta)
    return field(default=default, metadata=meta)


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


class Table:
    """A table of vsis.toml (the top level is BuildConfig's own). `check` tests each value against its
    setting's kind, bounds and choices; a table with rules across its values adds them in `check_more`."""

    TABLE: ClassVar[str] = ""  # its name in vsis.toml ("" for the top level)

    @classmethod
    def settings(cls) -> Iterator[tuple[str, Setting, Any]]:
        """(key, setting, default) of each of its settings, in the order declared."""
        for f in fields(cls):  # type: ignore[arg-type]
            if "setting" in f.metadata:
                default = f.default_factory() if f.default is MISSING else f.default  # type: ignore[operator]
                yield f.name, f.metadata["setting"], default

    @classmethod
    def label(cls, key: str) -> str:
        """How messages and the reference name a setting: 'k', 'annoy trees'."""
        return f"{cls.TABLE} {key}" if cls.TABLE else key

    @classmethod
    def flat(cls, key: str) -> str:
        """Its one name outside the TOML file: 'k', 'annoy_trees'."""
        return f"{cls.TABLE}_{key}" if cls.TABLE else key

    def check(self) -> None:
        for key, s, _default in self.settings():
            value, label = getattr(self, key), self.label(key)
            if value is None and s.optional:
                continue
            if s.bounds is not None:
                least, most = s.bounds
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ConfigError(f"{label} must be a number, got {value!r}")
                if not least <= value <= most:  # nan is refused too
                    raise ConfigError(f"{label} must be {_number(least)} ... {_number(most)}, got {value!r}")
            if s.choices and value not in s.choices:
                raise ConfigError(f"{label} must be one of {', '.join(s.choices)}, got {value!r}")
            if s.kind == "text" and value is not None and not is_printable(value):
                raise ConfigError(f"{label} must be text without control characters or undecodable bytes: {value!r}")
            if s.kind == "path" and value is not None and "\x00" in str(value):
                raise ConfigError(f"{label}: a path cannot hold a NUL character: {str(value)!r}")
            if s.kind == "names" and len(set(value)) != len(value):
                raise ConfigError(f"{label}: a name is listed twice: {', '.join(value)}")
        self.check_more()

    def check_more(self) -> None:
        """Rules across this table's values, beyond each value's own."""


@dataclass(frozen=True)
class AnnoyTable(Table):
    """[annoy]: Annoy's index, where `[neighbours] method` is annoy (or auto picks it)."""

    TABLE: ClassVar[str] = "annoy"
    trees: int = setting(
        50,
        "Trees of the index (Annoy's authors use 10-100; each costs an index's size again).",
        "int",
        bounds=(1, 1000),
        flag="--trees",
    )
    search_k: int | None = setting(
        None,
        "Nodes searched per query; not set: 20 x trees x (k + 1); -1: Annoy's own "
        "default. The recall target raises it where needed.",
        "int",
        optional=True,
    )
    seed: int = setting(71, "Seed of the index.", "int", bounds=(0, SEED_LIMIT))

    def check_more(self) -> None:
        if self.search_k is not None and not (self.search_k == -1 or 1 <= self.search_k <= 10**9):
            raise ConfigError(f"annoy search_k must be -1 (Annoy's default) or 1 ... 1e9, got {self.search_k}")


@dataclass(frozen=True)
class NeighboursTable(Table):
    """[neighbours]: how each image's nearest neighbours are found (search/)."""

    TABLE: ClassVar[str] = "neighbours"
    method: str = setting(
        "auto",
        "cells (k-means cells), annoy, exact, or auto: cells, exact where cheaper.",
        "text",
        choices=NEIGHBOUR_METHODS,
    )
    recall_target: float = setting(
        0.98,
        "The search effort (cells or Annoy) is raised until the sampled recall@k reaches this: in (0, 1].",
        "number",
    )
    recall_queries: int = setting(
        1000, "Items sampled to measure the recall (all of a smaller collection).", "int", bounds=(1, 100_000)
    )
    expansion: int = setting(
        0,
        "Database-side augmentation and query expansion over this many neighbours; 0: off "
        "(beyond a few it blurs every list).",
        "int",
        bounds=(0, 50),
    )

    def check_more(self) -> None:
        _share("neighbours recall_target", self.recall_target)


def _share(label: str, value: float) -> None:
    """A target that is a share: above 0, at most 1."""
    if not 0 < value <= 1:
        raise ConfigError(f"{label} must be in (0, 1], got {value}")


@dataclass(frozen=True)
class FeaturesTable(Table):
    """[features]: how features are made for retrieval (features/networks/registry.py FRAMINGS, POOLING_CHOICES).
    The defaults are what bench/quality.py measured best on 2,000 labelled OpenClipart drawings with
    efficientnet_lite0: mAP@10 0.545 -> 0.604, near-duplicate recall@5 0.847 -> 0.848."""

    TABLE: ClassVar[str] = "features"
    framing: str = setting("pad", "crop (the centre square, as ImageNet) or pad (the whole image on a square).", "text")
    pooling: str = setting(
        "auto",
        "avg, or stages (pooled from several stages, where the network declares them); "
        "auto: stages where declared, else avg.",
        "text",
    )
    centre: bool = setting(
        True, "Features centred on the collection's mean (then unit length) before comparing.", "bool"
    )

    def check_more(self) -> None:
        from builder.features.networks.registry import FRAMINGS, POOLING_CHOICES  # local: the registry pulls in torch

        if self.framing not in FRAMINGS:
            raise ConfigError(f"features framing must be one of {', '.join(FRAMINGS)}, got {self.framing!r}")
        if self.pooling not in POOLING_CHOICES:
            raise ConfigError(f"features pooling must be one of {', '.join(POOLING_CHOICES)}, got {self.pooling!r}")


@dataclass(frozen=True)
class SiteTable(Table):
    """[site]: the published site."""

    TABLE: ClassVar[str] = "site"
    budget_mb: float = setting(
        1000.0,
        "The published site's size limit in MB (GitHub Pages': 1 GB), checked every build.",
        "number",
        bounds=(0.001, 1e9),
    )
    url: str | None = setting(
        None,
        "The site's public address (https://example.org/vsis/): the absolute ids of its IIIF collection "
        "(site/iiif/); not set: none is written.",
        "text",
        optional=True,
        flag="--site-url",
    )

    def check_more(self) -> None:
        if self.url is not None and not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", self.url):
            raise ConfigError(f"site url must be an http(s) address without query or fragment, got {self.url!r}")


@dataclass(frozen=True)
class IiifTable(Table):
    """[iiif]: a IIIF manifest or collection as the collection (collect/sources/iiif_fetch.py). A top-level
    `iiif = "URL"` is short for `[iiif] source = "URL"`."""

    TABLE: ClassVar[str] = "iiif"
    source: str | None = setting(
        None,
        "A IIIF Presentation 2.1 or 3.0 manifest or collection, by http(s) URL or file path: its images, "
        "fetched into the cache, are the collection (the collection folder is not read).",
        "text",
        optional=True,
        flag="--iiif",
    )
    item: str = setting(
        "canvas",
        "An item per canvas, or per manifest (its first image).",
        "text",
        choices=IIIF_ITEMS,
        flag="--iiif-item",
    )
    size: int = setting(
        512,
        "Longer side in pixels asked of an Image API service (the networks read 224-256, JPEG draft decoding 512).",
        "int",
        bounds=(64, 4096),
        flag="--iiif-size",
    )
    language: str = setting("en", "Language preferred for labels and values given in several.", "text")
    connections: int = setting(4, "Downloads at a time.", "int", bounds=(1, 64))
    timeout: float = setting(
        30.0, "Seconds per attempt, from connecting to the last byte.", "number", bounds=(0.1, 3600)
    )
    retries: int = setting(2, "Further attempts after a timeout or a server error.", "int", bounds=(0, 10))
    refresh: bool = setting(
        False,
        "Fetch the manifests and collections again (images already fetched are kept).",
        "bool",
        flag="--iiif-refresh",
    )


@dataclass(frozen=True)
class RayTable(Table):
    """[ray]: extraction on a Ray cluster, where `engine = "ray"` (features/ray_engine.py)."""

    TABLE: ClassVar[str] = "ray"
    address: str | None = setting(
        None,
        "The cluster to join, e.g. ray://head:10001; not set: RAY_ADDRESS, else a new local instance.",
        "text",
        optional=True,
        flag="--ray-address",
        manifest=False,
    )
    actors: int = setting(
        0, "Extraction actors; 0: the cluster's CPUs less one.", "int", bounds=(0, 100_000), flag="--ray-actors"
    )
    gpus_per_actor: float = setting(0.0, "GPUs per actor.", "number", bounds=(0, 64), flag="--ray-gpus")


@dataclass(frozen=True)
class MapTable(Table):
    """[map]: a 2-D layout per network (map/embed.py) and map.html."""

    TABLE: ClassVar[str] = "map"
    enabled: bool = setting(True, "Build the map.", "bool")
    epochs: int = setting(
        350, "Steps of the layout (350 lay out 100,000 images in about 26 s).", "int", bounds=(0, 5000)
    )
    seed: int = setting(71, "Seed of the layout.", "int", bounds=(0, SEED_LIMIT))
    clusters: int = setting(
        12, "Hotspots per network: k-means on its layout (map/clusters.py); 0: none.", "int", bounds=(0, MAX_CLUSTERS)
    )


@dataclass(frozen=True)
class QueryTable(Table):
    """[query]: search by the visitor's own image or words (query.html): the network runs in the page."""

    TABLE: ClassVar[str] = "query"
    enabled: bool = setting(True, "Offer search by image (and by words, with a CLIP network).", "bool")
    networks: tuple[str, ...] = setting(
        (), "The networks offered; empty: every built network that can run in a browser.", "names"
    )
    max_model_mb: float = setting(
        35.0, "A bigger exported model is not offered (it would pass 50 MB as base64).", "number", bounds=(0.001, 1e6)
    )
    max_text_model_mb: float = setting(
        70.0,
        "Search by words (CLIP-family networks): a bigger int8 text tower is not offered; 0: no search by words "
        "(ViT-B/32's is 65 MB, 86 MB as base64, loaded on a visitor's first search by words).",
        "number",
        bounds=(0, 1e6),
    )
    recall_target: float = setting(
        0.95, "Of the exact top 10, the share the compact vectors keep (query/compact.py): in (0, 1].", "number"
    )

    def check_more(self) -> None:
        _share("query recall_target", self.recall_target)


@dataclass(frozen=True)
class ExperimentTable(Table):
    """[experiment]: the perturbation-recovery experiment."""

    TABLE: ClassVar[str] = "experiment"
    enabled: bool = setting(True, "Run the perturbation-recovery experiment.", "bool", flag="--experiment")
    originals: int = setting(1000, "At most this many originals.", "int", bounds=(1, 1_000_000), flag="--originals")
    seed: int = setting(71, "Seed of the originals' choice and the intervals.", "int", bounds=(0, SEED_LIMIT))
    profiles: tuple[str, ...] = setting(
        DEFAULT_PROFILES, "The perturbation profiles (inputs/perturb.py).", "names", flag="--profiles"
    )
    k: tuple[int, ...] = setting((1, 3, 5), "The k of precision, recall and F1 at k.", "ints", flag="--experiment-k")

    def check_more(self) -> None:
        if not self.enabled:
            return
        if not self.profiles:
            raise ConfigError("the experiment needs at least one perturbation profile")
        if not self.k or not 1 <= min(self.k) <= max(self.k) <= 1000:
            raise ConfigError(f"experiment k values must be 1 ... 1,000, got {list(self.k)}")
        for name in self.profiles:
            get_profile(name)  # raises ConfigError naming the unknown profile


@dataclass(frozen=True)
class MetadataTable(Table):
    """[metadata]: the records joined onto the images, and the columns a visitor filters by (facets). A
    top-level `metadata = "file.csv"` is short for `[metadata] file = "file.csv"`."""

    TABLE: ClassVar[str] = "metadata"
    file: Path | None = setting(
        None, "CSV, TSV or JSON metadata joined onto the images.", "path", optional=True, flag="--metadata"
    )
    key: str | None = setting(
        None, "Metadata column naming each record's file.", "text", optional=True, flag="--metadata-key"
    )
    facets: tuple[str, ...] = setting(
        (),
        "Columns a visitor filters and colours by (snake_case, as `date`, `department`); empty: every "
        "column with at most `facet_values` values or with several values a cell (split on ';'), and the date.",
        "names",
        flag="--facets",
    )
    facet_values: int = setting(
        40,
        "Most distinct values a column may have to be taken as a facet when none are named (a named facet "
        "shows its most common values up to 200, the rest counted as other).",
        "int",
        bounds=(2, 200),
    )


@dataclass(frozen=True)
class BuildConfig(Table):
    """Everything `vsis build` needs to know: the top-level keys of vsis.toml, then one field per table."""

    collection: Path = setting(Path("images"), "Folder of images (searched recursively).", "path")
    networks: tuple[str, ...] = setting(
        DEFAULT_NETWORKS, "The networks built (see `vsis networks`).", "names", flag="--networks"
    )
    k: int = setting(10, "Neighbours per image.", "int", bounds=(1, 1000), flag="--k")
    out: Path = setting(Path("site"), "Output folder.", "path", flag="--out")
    cache_dir: Path = setting(Path(".vsis-cache"), "Cache folder.", "path", flag="--cache-dir")
    title: str = setting("", "Site title; empty: made from the collection's folder name.", "text", flag="--title")
    thumb_size: int = setting(
        224,
        "Thumbnails' longer side in pixels (the compare pages' tiles: 217 CSS pixels "
        "wide in a 72rem page of 5 columns).",
        "int",
        bounds=(16, 1024),
    )
    thumb_format: str = setting(
        "webp", "webp or jpeg: WebP is about half the bytes (inputs/images.py).", "text", choices=tuple(THUMB_FORMATS)
    )
    batch_size: int = setting(16, "Images per inference batch.", "int", bounds=(1, 4096), flag="--batch-size")
    backend: str = setting(
        "auto",
        "auto, torch, onnx (ONNX Runtime) or openvino (vsis[openvino]); auto: onnx on the CPU, torch on a GPU "
        "(features/runtime/backends.py).",
        "text",
        flag="--backend",
    )
    precision: str = setting(
        "fp32",
        "fp32, bf16 (torch or openvino), int8 (onnx or openvino, calibrated on the collection) or auto (the fastest "
        "of them measured here, once per class of CPU): less fidelity for speed, used only where checked faithful.",
        "text",
        flag="--precision",
    )
    workers: int = setting(
        2, "Threads decoding and preprocessing ahead of inference; 0: none.", "int", bounds=(0, 256), flag="--workers"
    )
    engine: str = setting(
        "local",
        "Where features are extracted: local, or ray (a Ray cluster; pip install 'vsis[ray]').",
        "text",
        choices=ENGINES,
        flag="--engine",
    )
    max_pixels: int = setting(
        64_000_000, "Largest image decoded, in pixels (a gigapixel is 3 GB decoded).", "int", bounds=(1, 1_000_000_000)
    )
    jpeg_draft: bool = setting(
        True, "Decode large JPEGs at a reduced scale (inputs/images.py).", "bool", flag="--jpeg-draft"
    )
    max_aspect: float = setting(
        50.0,
        "Longer side / shorter side above which an image is refused (preprocessing "
        "scales the shorter side to 256: 1,000 keeps a derived image under 66 megapixels).",
        "number",
        bounds=(1, 1000),
    )
    follow_external_links: bool = setting(
        False,
        "Take images that symbolic links in the collection lead to outside it (otherwise reported and left out).",
        "bool",
        flag="--follow-external-links",
    )
    weights: Mapping[str, Path] = field(default_factory=dict)  # [weights]: network = local checkpoint file
    metadata: MetadataTable = field(default_factory=MetadataTable)
    annoy: AnnoyTable = field(default_factory=AnnoyTable)
    neighbours: NeighboursTable = field(default_factory=NeighboursTable)
    features: FeaturesTable = field(default_factory=FeaturesTable)
    site: SiteTable = field(default_factory=SiteTable)
    iiif: IiifTable = field(default_factory=IiifTable)
    ray: RayTable = field(default_factory=RayTable)
    map: MapTable = field(default_factory=MapTable)
    query: QueryTable = field(default_factory=QueryTable)
    experiment: ExperimentTable = field(default_factory=ExperimentTable)

    @property
    def built_networks(self) -> tuple[str, ...]:
        """The networks whose features are extracted: the experiment always runs the pixel baseline
        beside the networks, so that the site can show whether they beat it."""
        if self.experiment.enabled and BASELINE not in self.networks:
            return (*self.networks, BASELINE)
        return self.networks

    def updated(self, **flat: Any) -> BuildConfig:
        """This configuration with settings changed by their flat names (`k=2`, `map_epochs=20`), checked."""
        return _with(self, flat).validate()

    def validate(self) -> BuildConfig:
        """Check every table's values, then the rules across tables; return self so calls chain."""
        for table in (*(getattr(self, name) for name in TABLES), self):  # the tables' own rules first
            table.check()
        return self

    def check_more(self) -> None:
        if len(self.title) > MAX_TITLE:
            raise ConfigError(f"title must be at most {MAX_TITLE} characters, got {len(self.title):,}")
        for name, path in self.weights.items():
            if "\x00" in str(path):
                raise ConfigError(f"weights.{name}: a path cannot hold a NUL character: {str(path)!r}")
        if not self.networks:
            raise ConfigError("no networks selected")
        from builder.features.runtime.backends import (  # local import: backends pull in the network registry
            BACKENDS,
            check_precision,
        )

        if self.backend not in BACKENDS:
            raise ConfigError(f"unknown backend '{self.backend}' (known: {', '.join(BACKENDS)})")
        check_precision(self.backend, self.precision)
        unknown = [n for n in self.query.networks if n not in self.built_networks]
        if unknown:
            built = ", ".join(self.built_networks)
            raise ConfigError(f"query networks {', '.join(unknown)} are not built (built: {built})")
        from builder.features.networks import registry  # local import: the registry pulls in torch

        for name in self.networks:
            registry.get(name)  # raises ConfigError naming the unknown network
            registry.configured(name, self.features.framing, self.features.pooling)  # a pooling it does not offer
        for name in self.weights:
            if name not in self.networks:
                raise ConfigError(f"weights given for '{name}', which is not among the networks built")


# The tables of vsis.toml, by name: BuildConfig's field of each
TABLES: dict[str, type[Table]] = {
    t.TABLE: t
    for t in (
        MetadataTable,
        AnnoyTable,
        NeighboursTable,
        FeaturesTable,
        SiteTable,
        IiifTable,
        RayTable,
        MapTable,
        QueryTable,
        ExperimentTable,
    )
}


def every_setting() -> Iterator[tuple[type[Table], str, Setting, Any]]:
    """(table, key, setting, default) of every setting: the top level's, then each table's."""
    tables: list[type[Table]] = [BuildConfig, *TABLES.values()]
    for table in tables:
        for key, s, default in table.settings():
            yield table, key, s, default


def _with(config: BuildConfig, flat: Mapping[str, Any]) -> BuildConfig:
    """`config` with settings replaced by their flat names (unchecked)."""
    where = {table.flat(key): (table, key) for table, key, _s, _d in every_setting()}
    top: dict[str, Any] = {}
    tables: dict[str, dict[str, Any]] = {}
    for name, value in flat.items():
        if name == "weights":
            top["weights"] = value
            continue
        if name not in where:
            raise ConfigError(f"unknown setting '{name}'")
        table, key = where[name]
        (tables.setdefault(table.TABLE, {}) if table.TABLE else top)[key] = value
    for name, values in tables.items():
        top[name] = replace(getattr(config, name), **values)
    return replace(config, **top)


def names(text: str) -> tuple[str, ...]:
    """A comma-separated list ('a, b,c') as names, blanks dropped: the one reader of such lists."""
    return tuple(n.strip() for n in text.split(",") if n.strip())


def _typed(key: str, value: Any, s: Setting, base: Path) -> Any:
    """A value of vsis.toml as its setting's kind, or a ConfigError naming the key."""
    kind = s.kind
    if kind == "path":
        if not isinstance(value, str):
            raise ConfigError(f"'{key}' must be a path string, got {value!r}")
        return (base / value) if not Path(value).is_absolute() else Path(value)
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"'{key}' must be an integer, got {value!r}")
        return value
    if kind == "number":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(f"'{key}' must be a number, got {value!r}")
        return float(value)
    if kind == "text":
        if not isinstance(value, str):
            raise ConfigError(f"'{key}' must be a string, got {value!r}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"'{key}' must be true or false, got {value!r}")
        return value
    if kind == "ints":
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ConfigError(f"'{key}' must be a list of integers, got {value!r}")
        return tuple(sorted(set(value)))
    if kind == "names":
        if isinstance(value, str):
            value = list(names(value))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"'{key}' must be a list of names, got {value!r}")
        return tuple(value)
    raise AssertionError(kind)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a folder, not a config file") from None
    try:  # a byte-order mark, which some Windows editors write, is not TOML's but harms nothing
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}), as TOML must be") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return raw


# Top-level keys read as a table's (the form of earlier versions, and shorter where nothing else is set)
SHORTHANDS = {"metadata": "metadata.file", "metadata_key": "metadata.key", "iiif": "iiif.source"}


def load_toml(path: Path) -> dict[str, Any]:
    """Read vsis.toml into flat setting values; unknown keys are errors that name the key."""
    raw = _read_toml(path)
    base = path.parent
    top = {key: s for key, s, _d in BuildConfig.settings()}
    values: dict[str, Any] = {}
    for short, long in SHORTHANDS.items():  # `metadata = "file.csv"` for `[metadata] file = "file.csv"`
        if short in raw and not isinstance(raw[short], dict):
            name, _, sub = long.partition(".")
            given = raw.pop(short)
            existing = raw.get(name, {})
            if not isinstance(existing, dict):
                continue  # `metadata` given as text and a table at once cannot be TOML; the table check names it
            if sub in existing:
                raise ConfigError(f"{path}: '{short}' and '{long}' both given; keep one")
            raw[name] = {**existing, sub: given}
    for key, value in raw.items():
        if key in top:
            values[key] = _typed(key, value, top[key], base)
        elif key in TABLES:
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [{key}] must be a table")
            table = TABLES[key]
            known = {sub: s for sub, s, _d in table.settings()}
            for sub, sub_value in value.items():
                if sub not in known:
                    raise ConfigError(f"{path}: unknown key '{key}.{sub}' (known: {', '.join(known)})")
                values[table.flat(sub)] = _typed(f"{key}.{sub}", sub_value, known[sub], base)
        elif key == "weights":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [weights] must be a table of network = file")
            values["weights"] = {n: _typed(f"weights.{n}", v, Setting("", "path"), base) for n, v in value.items()}
        else:
            known_keys = ", ".join([*top, *TABLES, "weights"])
            raise ConfigError(f"{path}: unknown key '{key}' (known: {known_keys})")
    return values


def parse_weights(specs: list[str], networks: tuple[str, ...]) -> dict[str, Path]:
    """`--weights NET=FILE` (repeatable), or a bare `--weights FILE` when exactly one network is built."""
    out: dict[str, Path] = {}
    for spec in specs:
        name, sep, file = spec.partition("=")
        if not sep:
            if len(networks) != 1:
                raise ConfigError(
                    f"--weights {spec}: several networks are built ({', '.join(networks)}); "
                    "say which one with --weights NETWORK=FILE"
                )
            name, file = networks[0], spec
        out[name.strip()] = Path(file)
    return out


def make_config(config_file: Path | None = None, **overrides: Any) -> BuildConfig:
    """Defaults, then the config file, then every override (by flat name) that is not None."""
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(load_toml(config_file))
    values.update({key: value for key, value in overrides.items() if value is not None})
    kinds = {table.flat(key): s.kind for table, key, s, _d in every_setting()}
    for key, value in values.items():  # lists given as text or lists, in code as on the command line
        if kinds.get(key) == "names" and isinstance(value, (str, list)):
            values[key] = _typed(key, value, Setting("", "names"), Path("."))
        elif kinds.get(key) == "ints":
            values[key] = tuple(sorted(set(value)))
    return _with(BuildConfig(), values).validate()


def flags() -> Iterator[tuple[str, Setting, Any]]:
    """(flat name, setting, default) of every setting that `vsis build` takes as a flag (cli.py)."""
    for table, key, s, default in every_setting():
        if s.flag:
            yield table.flat(key), s, default


def manifest_settings(config: BuildConfig) -> dict[str, object]:
    """The settings a site was built with, by flat name, as the manifest records them (lists as text)."""
    out: dict[str, object] = {}
    for table, key, s, _d in every_setting():
        if s.manifest:
            value = getattr(getattr(config, table.TABLE) if table.TABLE else config, key)
            out[table.flat(key)] = ", ".join(map(str, value)) if isinstance(value, tuple) else value
    return out


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, Path)):
        return f'"{value}"'
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return f"{value:.1f}"
    return "not set" if value is None else str(value)


def reference_markdown() -> str:
    """The configuration reference of the documentation (docs/reference/configuration.md), made from the schema:
    a table per TOML table, each setting with its default, what it accepts, its flag and what it means."""
    lines: list[str] = []
    tables: list[type[Table]] = [BuildConfig, *TABLES.values()]
    for table in tables:
        title = f"[{table.TABLE}]" if table.TABLE else "Top-level keys"
        doc = " ".join((table.__doc__ or "").split())
        lines += [f"## {title}", "", doc if table.TABLE else "Keys outside any table.", ""]
        lines += ["| key | default | accepts | flag | meaning |", "| --- | --- | --- | --- | --- |"]
        for key, s, default in table.settings():
            accepts = s.kind.replace("names", "list of names").replace("ints", "list of integers")
            if s.bounds:
                accepts += f" {_number(s.bounds[0])} ... {_number(s.bounds[1])}"
            if s.choices:
                accepts += ": " + ", ".join(s.choices)
            flag = f"`{s.flag}`" if s.flag else ""
            lines.append(f"| `{key}` | `{_shown(default)}` | {accepts} | {flag} | {s.doc} |")
        lines.append("")
    lines += [
        "## [weights]",
        "",
        '`network = "file"`: a local checkpoint for a network built (flag `--weights '
        "NETWORK=FILE`, or `--weights FILE` where one network is built).",
        "",
    ]
    return "\n".join(lines)
