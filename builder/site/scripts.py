"""The page scripts as a site publishes them: each page with a script loads one file of static/, joined at build
time from the parts in the repository's static/ that the page needs, in the order they run.

The parts are plain classic scripts, each defining one global object (`vsisShards`, `vsisReader`...): no
modules, which Chromium refuses from file://, and no build tool. Kept apart they stay small and about one
thing, and the explorer, the map and the query page share the readers instead of repeating them; published
apart, each part would be a request of its own, so a page's first view would load more files than one
script. `SCRIPTS` says which parts make which published script; `write_static` writes a site's static/.

The parts' comments are their documentation, for the reader of the repository: a published script leaves
out every line that is only a comment (`uncommented`), so that the three pages' first views load fewer
bytes than when each part repeated the readers (bench/first_view.py). Nothing else of a line is changed,
nor the lines' order: a published script reads as its parts do, less their comment lines, and a line that
names each part (`// ---- static/reader.js`) leads the way back to the source.

The templates' <script> tags name the published scripts only (static/explore.js, static/map.js,
static/query.js). A part's own name may be a published script's (static/explore.js is the explorer's own
part and the published explorer script): the site has the published one.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from builder.resources import static_dir

# what every page script reads: the data files' loader and the one base64 decoder (shards.js), the DOM
# helpers (dom.js), the explorer's data format and the pages' paths (reader.js)
SHARED = ("shards.js", "dom.js", "reader.js")

SCRIPTS: dict[str, tuple[str, ...]] = {
    # url-state.js: the view in the URL's fragment
    "explore.js": (*SHARED, "url-state.js", "explore.js"),
    # the facets' data and filter, and the filter panel: loaded by the explorer when the panel is first opened
    # (or a link names a filter), so that a first view does not carry them (LATER)
    "facets.js": ("facets.js", "facet-panel.js"),
    "map.js": (
        *SHARED,
        "url-state.js",
        "facets.js",  # the facets' data and filter, shared with the explorer
        "map-points.js",  # the points' renderers
        "map-data.js",  # the map's data
        "map-view.js",  # the view and the input
        "map-draw.js",  # the frames
        "map-panel.js",  # the panel, the matches, the hotspots, the tip
        "map-facets.js",  # the colourings, their legend, the filter
        "map.js",  # what they share, the view in the URL, what each view loads
    ),
    # query-preprocess.js: decode and preprocess as the builder does; ort-loader.js: onnxruntime-web
    "query.js": (*SHARED, "query-preprocess.js", "ort-loader.js", "query.js"),
    # open_clip's tokenizer (its tables: builder/query/clip_tokenizer.py), for a CLIP text tower in the query page:
    # loaded when a visitor first searches by words there
    "clip-tokenizer.js": ("clip-tokenizer.js",),
}

# Published scripts that no page's <script> tag names: a page's own script loads them when first needed
# (vsisShards.script), after it has run, so they use its shared parts rather than carrying their own
LATER = frozenset({"facets.js", "clip-tokenizer.js"})

VENDOR = "vendor"  # static/vendor/ is not copied: the runtime it holds is written where a page runs it


def parts() -> set[str]:
    """Every file of static/ that is published inside a script rather than on its own."""
    return {part for names in SCRIPTS.values() for part in names}


def uncommented(text: str, name: str = "a script") -> str:
    """The script without its lines that hold only a comment (`//` after nothing but spaces), each other line
    as it is. Outside a string such a line is a comment, and no string of a classic script spans lines but a
    template literal, or one continued by a backslash: a line that may open either (an odd count of backticks,
    a backslash at its end) is refused rather than risked."""
    kept = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("//"):
            continue
        if line.count("`") % 2 or line.endswith("\\"):
            raise ValueError(f"{name}, line {number}: a string that may span lines (template literal or \\)")
        kept.append(line + "\n")
    return "".join(kept)


def join(names: Sequence[str], folder: Path | None = None) -> str:
    """Parts of static/ as one script: each uncommented, in order, after a line naming it (every part is a
    whole statement ending with a newline, so joining them changes what none of them does)."""
    folder = folder or static_dir()
    return "".join(
        f"// ---- static/{part}\n" + uncommented((folder / part).read_text(encoding="utf-8"), f"static/{part}")
        for part in names
    )


def joined(name: str, folder: Path | None = None) -> str:
    """The published script `name` (a key of SCRIPTS): its parts joined."""
    return join(SCRIPTS[name], folder)


def write_static(dest: Path, folder: Path | None = None) -> None:
    """A site's static/ at dest: the published scripts (SCRIPTS), and every other file of static/ as it is
    (the style sheet, the icon), but static/vendor/."""
    folder = folder or static_dir()
    published, joined_parts = set(SCRIPTS), parts()
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(folder.iterdir()):
        if path.name == VENDOR or path.name in published or path.name in joined_parts:
            continue
        if path.is_dir():
            shutil.copytree(path, dest / path.name)
        else:
            shutil.copy2(path, dest / path.name)
    for name in sorted(published):
        (dest / name).write_bytes(joined(name, folder).encode("utf-8"))
