"""Rendering: page models (model.py, filled in by pages.py) -> Jinja2 templates -> a folder of files.

Every number is computed in Python before rendering; templates only lay it out and the explorer's
script only shows the data the builder wrote. `render` writes into an empty folder; publish.py swaps that
folder in as the site.

No file of the site shares its bytes with the cache: thumbnails are copied, not hard-linked, since an image
optimiser that rewrites a published thumbnail in place would otherwise rewrite the cache entry, and every
later site would publish the edited bytes. Nor are the published site's bytes trusted: a compare page is
reused from it only when its bytes are still those the previous build wrote (`Reuse`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from builder.cache import with_filename
from builder.pagekit import formats
from builder.pagekit.item import PageItem, list_pages
from builder.pagekit.product import Product
from builder.resources import static_dir, templates_dir
from builder.site import scripts
from builder.site.explorer_data import explorer_files
from builder.site.model import PageNeighbour, PageNetwork, PageTag, SiteModel
from builder.site.scripts import write_static


def _seal(digest: str, data: bytes) -> str:
    """What the memo remembers of a compare page: what it was rendered from (`digest`) sealed with the bytes
    written, so that a page edited in the published site no longer matches and is rendered again."""
    return hashlib.sha256(digest.encode() + data).hexdigest()


def _reused(reuse: Reuse, page: str, digest: str, target: str) -> bool:
    """Hard-link a page of the previous site into the new one (its folder made already) when it was rendered
    from `digest` and its bytes are still those written then; False where it is not (then it is rendered).
    The link is checked to be the file read, and the previous site is removed once the new one is in
    place, so the new site shares no file with anything after the build."""
    remembered = reuse.digests.get(page)
    if remembered is None:
        return False
    try:
        with open(os.path.join(reuse.site, page), "rb") as fh:
            seal, inode = _seal(digest, fh.read()), os.fstat(fh.fileno()).st_ino
            if seal != remembered:
                return False
            os.link(os.path.join(reuse.site, page), target)
    except OSError:  # the page is gone, or the file system has no hard links
        return False
    if os.stat(target).st_ino != inode:  # replaced between the reading and the linking
        os.unlink(target)
        return False
    reuse.fresh[page] = seal
    return True


def _place(source: str, target: str) -> None:
    """A thumbnail from the cache into the site: copied (in the kernel: shutil.copyfile sends the bytes
    with sendfile), never hard-linked (see the module's docstring). The price: 5,000 thumbnails of 12 KB
    took 4.5-5.0 s to copy against 0.1 s to link on a virtual disk's ext4, 0.45 s against 0.06 s on tmpfs
    (copy_file_range, which may reflink, measured the same)."""
    shutil.copyfile(source, target)


# what an attribute value may hold unquoted (HTML's rule is looser: no space, quote, '=', '<', '>' or '`')
_BARE = re.compile(r"[A-Za-z0-9._/~:#%+,-]+")


def attribute_value(value: object) -> Markup:
    """An attribute's value as written after '=': bare where it is an id or a relative path (a compare page
    holds 60 of them: the quotes are 2% of a museum's site), quoted and escaped otherwise."""
    text = str(value)
    return Markup(text) if _BARE.fullmatch(text) else Markup('"%s"') % escape(text)


def _environment(products: list[Product]) -> Environment:
    """The templates of the site, and of each product that brings its own (their names must not clash)."""
    folders = [templates_dir(), *(p.templates for p in products if p.templates is not None)]
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(folder)) for folder in folders]),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        pct=formats.pct, score=formats.score, probability=formats.probability, pm=formats.pm, ci=formats.ci,
        pct_ci=formats.pct_ci, difference=formats.difference,
    )  # fmt: skip
    env.filters["attribute"] = attribute_value
    return env


@dataclass(frozen=True)
class CompareRow:
    """One network's part of a compare page: item n's neighbours, each with how many of the networks found
    it, and the classes the network recognised in item n."""

    network: PageNetwork
    neighbours: list[tuple[PageNeighbour, int]]
    tags: list[PageTag]


def compare_rows(networks: list[PageNetwork], n: int) -> list[CompareRow]:
    found = Counter(nb.item.id for net in networks for nb in net.neighbours[n])
    return [
        CompareRow(net, [(nb, found[nb.item.id]) for nb in net.neighbours[n]], net.tags[n] if net.tags else [])
        for net in networks
    ]


def page_count(model: SiteModel) -> int:
    """How many pages `render` writes: for the progress bar's total."""
    extra = sum(p.page_count() for p in model.products)
    return 2 + len(list_pages(len(model.items))) + len(model.items) + extra


@dataclass
class Reuse:
    """Compare pages of the site already published, to reuse where a page's content would not change:
    `site` holds them, `digests` says what each was rendered from, sealed with its bytes (`_seal`); `fresh`
    collects the seals of this render. A museum that adds 1% of images changes the pages of those images
    and of the images that gain one of them as a neighbour, not the others: those are linked from the
    previous site instead of rendered again, unless their bytes there were changed."""

    site: Path
    digests: dict[str, str]
    fresh: dict[str, str] = field(default_factory=dict)
    reused: int = 0


def _page_digest(common: str, item: bytes, rows: list[CompareRow], digest_of: Callable[[PageItem], bytes]) -> str:
    """What one compare page is rendered from, beside what every page shares (`common`): the item (`item`, its
    digest), and each network's tags and neighbours with their items, scores and how many networks found them.
    Items are hashed once each, not once per page that shows them: a museum's 100,000 pages show 3,000,000
    neighbours, and digesting them must cost far less than rendering the few pages that changed."""
    h = hashlib.sha256(common.encode())
    h.update(item)
    for row in rows:
        h.update(row.network.name.encode() + b"\0")
        for tag in row.tags:
            h.update(tag.name.encode() + b"\0" + struct.pack("<d", tag.probability))
        for nb, found in row.neighbours:
            h.update(digest_of(nb.item) + struct.pack("<dq", nb.score, found))
    return h.hexdigest()


def _item_digests() -> Callable[[PageItem], bytes]:
    """An item's digest (everything a page shows of it), computed once per item and remembered."""
    known: dict[int, tuple[PageItem, bytes]] = {}  # by id(): the items outlive the render; kept to pin them

    def digest_of(item: PageItem) -> bytes:
        if id(item) not in known:
            text = json.dumps(vars(item), separators=(",", ":"), ensure_ascii=False)
            known[id(item)] = (item, hashlib.sha256(text.encode()).digest())
        return known[id(item)][1]

    return digest_of


def _shared_digest(model: SiteModel) -> str:
    """Everything a compare page shows that is not its own: the site's title, k, navigation (with or without
    the experiment's and the map's links), footer and the networks' descriptions, and the templates and
    stylesheet (through the version and templates' bytes)."""
    nets = [(n.name, n.dim, n.layer, n.description) for n in model.networks]
    nav = [vars(entry) for entry in model.nav]
    head = [model.title, model.k, model.manifest.get("vsis"), nav, nets, theme_digest()]
    return hashlib.sha256(json.dumps(head, default=str).encode()).hexdigest()


def theme_digest() -> str:
    """A digest of the templates and static files, whose bytes every page depends on, and of the rule that joins
    the page scripts from their parts (scripts.py)."""
    h = hashlib.sha256()
    for folder in (templates_dir(), static_dir()):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    h.update(Path(scripts.__file__).read_bytes())
    return h.hexdigest()


@dataclass
class _Kit:
    """What a product renders its pages with (pagekit/product.py's PageKit)."""

    env: Environment
    site: SiteModel

    @property
    def items(self) -> list[PageItem]:
        return self.site.items

    def render(self, template: str, rel: str, page: str, **values: object) -> str:
        root = "../" * rel.count("/")
        return self.env.get_template(template).render(site=self.site, root=root, page=page, **values)


def render(model: SiteModel, root: Path, on_page: Callable[[], None] | None = None, reuse: Reuse | None = None) -> int:
    """Write every page and asset of the site under `root` (an empty folder); return the page count.
    With `reuse`, a compare page whose digest and bytes are unchanged is hard-linked from the previous site."""
    env = _environment(model.products)
    pages = 0

    def write(rel: str, text: str | bytes) -> bytes:
        nonlocal pages
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8") if isinstance(text, str) else text
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise with_filename(exc, path) from None
        if rel.endswith(".html"):
            pages += 1
            if on_page:
                on_page()
        return data

    common = {"site": model, "root": ""}
    write("index.html", env.get_template("index.html").render(**common, page="index"))
    write("explore.html", env.get_template("explore.html").render(**common, page="explore"))
    kit = _Kit(env, model)
    for product in model.products:
        for rel, content in sorted(product.files(kit).items()):
            write(rel, content)
    images = env.get_template("images.html")
    listing = list_pages(len(model.items))
    for part in listing:
        items = model.items[part.first : part.last]
        write(part.path, images.render(**common, page="images", part=part, pages=listing, items=items))
    compare = env.get_template("compare.html")
    shared = _shared_digest(model) if reuse is not None else ""
    digest_of = _item_digests()
    # the folders of the pages and of the thumbnails beside them, made once (not once a file)
    for folder in sorted({os.path.dirname(rel) for rel in [*(i.page for i in model.items), *model.extra_files]}):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for n, item in enumerate(model.items):
        rows = compare_rows(model.networks, n)
        digest = _page_digest(shared, digest_of(item), rows, digest_of) if reuse is not None else ""
        if reuse is not None and _reused(reuse, item.page, digest, os.path.join(root, item.page)):
            reuse.reused += 1
            pages += 1
            if on_page:
                on_page()
            continue
        data = write(item.page, compare.render(site=model, root="../", page="compare", item=item, rows=rows))
        if reuse is not None:
            reuse.fresh[item.page] = _seal(digest, data)

    for rel, text in sorted(explorer_files(model).items()):
        write(rel, text)
    write("data/manifest.json", json.dumps(model.manifest, indent=2, sort_keys=True) + "\n")
    write_static(root / "static")  # the page scripts joined from their parts (scripts.py)
    for rel, source in sorted(model.extra_files.items()):
        _place(source, os.path.join(root, rel))  # a string: a museum's site places 100,000 thumbnails
    (root / ".nojekyll").write_text("")
    return pages
