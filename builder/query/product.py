"""Search by the visitor's own image or words as a product of the site: query.html, its data files and the
runtime."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path

import numpy as np

from builder.pagekit.formats import megabytes
from builder.pagekit.product import NavEntry, PageKit
from builder.query.data import FirstSearch, first_search_bytes, query_files
from builder.query.model import QueryPage
from builder.query.runtime import runtime_files


@dataclass
class QueryProduct:
    page: QueryPage
    name: str = "query"
    nav: NavEntry | None = NavEntry("query", "query.html", "Search by image")
    templates: Path | None = None
    placed: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.nav is not None:
            self.nav = replace(self.nav, label=self.page.title)

    def page_count(self) -> int:
        return 1

    def files(self, kit: PageKit) -> dict[str, str | bytes]:
        # the network runtime, only where a page runs a network (the pixel baseline needs none)
        out: dict[str, str | bytes] = dict(runtime_files()) if self.page.runs_models else {}
        runtime_bytes = sum(len(data) for rel, data in out.items() if rel.endswith(".js"))
        files = query_files(self.page, len(kit.items), runtime_bytes)
        loads = {name: _said(load) for name, load in first_search_bytes(self.page, files, runtime_bytes).items()}
        out.update(files)
        out["query.html"] = kit.render("query.html", "query.html", "query", query=self.page, loads=loads)
        return out

    def fingerprint(self) -> object:
        """The query page with each network's arrays as a digest of their bytes (a museum's codes are 25
        million numbers, too many to write out as JSON) and its model by its file name, which the model's cache
        key makes (model_files.onnx_path), not by where the cache lies."""
        networks = []
        for q in self.page.networks:
            h = hashlib.sha256()
            for array in (q.vectors.axes, q.vectors.levels, q.vectors.codes):
                h.update(f"{array.dtype}{array.shape}".encode() + np.ascontiguousarray(array).tobytes())
            if q.refinement.mean is not None:
                h.update(b"mean" + np.ascontiguousarray(q.refinement.mean, dtype="<f4").tobytes())
            network = {**vars(q.network), "model": q.network.model.name if q.network.model else None,
                       "text_model": q.network.text_model.name if q.network.text_model else None}  # fmt: skip
            vectors = {"arrays": h.hexdigest(), "recall": q.vectors.recall, "k": q.vectors.k,
                       "queries": q.vectors.queries}  # fmt: skip
            networks.append({"network": network, "vectors": vectors, "expansion": q.refinement.expansion})
        # the tokenizer's tables are read from these libraries (clip_tokenizer.py): another version, another page
        libraries = {name: version(name) for name in ("open_clip_torch", "ftfy")} if self.page.words else {}
        return {**vars(self.page), "networks": networks, "tokenizer": libraries}


def _said(load: FirstSearch) -> str:
    """A network's first-search download as the page states it: "13.4 MB", or by images and by words."""
    if load.image and load.words:
        return f"{megabytes(load.image)} (images), {megabytes(load.words)} (words)"
    return megabytes(load.image or load.words)
