"""The cache kit (issue 28): one layout names every path in the cache (CacheLayout), one versioned store of
keyed entries (EntryStore) that writes atomically and vets what it reads, and one message for a damaged entry
(damaged_entry), said by every store."""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import builder
from builder import cache as cachemod
from builder.cache import (
    BadEntry,
    BlobStore,
    CacheLayout,
    EntryStore,
    FeatureStore,
    FileFacts,
    HashCache,
    damaged_entry,
    versioned_key,
)

BUILDER = Path(builder.__file__).parent
ALLOWED = {"cache.py", "ownership.py"}  # the layout itself; the cache's tag and lock files, which say whose it is


def _cache_named(node: ast.expr) -> str | None:
    """The name of `node` where it is a name or attribute named like a cache folder (cache, cache_dir, ...)."""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
    return name if name is not None and "cache" in name.lower() else None


def _literal(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def cache_paths_composed(source: str) -> list[str]:
    """Each expression of `source` that composes a path in a cache folder from a literal: `cache_dir / "x"`,
    `config.cache_dir / f"..."`, `cache.joinpath("x")`, `os.path.join(cache_dir, "x")`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            if _cache_named(node.left) and _literal(node.right):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if func.attr == "joinpath" and _cache_named(func.value) and any(_literal(a) for a in node.args):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
            elif func.attr == "join" and node.args and _cache_named(node.args[0]) and any(map(_literal, node.args[1:])):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_scan_finds_a_cache_path_composed_in_any_of_its_forms() -> None:
    source = (
        'a = cache_dir / "models"\n'
        'b = config.cache_dir / "thumbs" / f"{size}"\n'
        'c = os.path.join(cache_dir, "x")\n'
        'd = self.cache.joinpath("y")\n'
        'e = root / "not a cache"\n'
        "f = cache_dir / name\n"
    )
    assert sorted(line.split(":")[0] for line in cache_paths_composed(source)) == [f"line {n}" for n in (1, 2, 3, 4)]


def test_no_module_but_cache_py_composes_a_path_in_the_cache() -> None:
    """CacheLayout is the one place a cache path is composed (ownership.py's tag and lock files aside)."""
    offenders = {
        str(path.relative_to(BUILDER.parent)): found
        for path in sorted(BUILDER.rglob("*.py"))
        if path.relative_to(BUILDER).as_posix() not in ALLOWED
        and (found := cache_paths_composed(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, f"compose cache paths in builder/cache.py's CacheLayout instead: {offenders}"


def test_the_layout_keeps_the_cache_as_it_was_on_disk(tmp_path: Path) -> None:
    """Existing caches stay valid: the layout names the same folders and files as before it."""
    layout = CacheLayout(tmp_path)
    assert layout.features("net-key") == tmp_path / "features" / "net-key"
    assert layout.all_features == tmp_path / "features"
    assert layout.model("m-opset17.onnx") == tmp_path / "models" / "m-opset17.onnx"
    assert layout.thumbs("224-q80-key") == tmp_path / "thumbs" / "224-q80-key"
    assert layout.atlases("128-16-webp-q") == tmp_path / "atlases" / "128-16-webp-q"
    assert (layout.neighbours, layout.layouts, layout.compact) == tuple(
        tmp_path / name for name in ("neighbours", "layouts", "compact")
    )
    assert layout.hashes == tmp_path / "hashes.json"
    out = tmp_path / "site"
    digest = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
    assert layout.page_memo(out) == tmp_path / "site-pages" / f"{digest}.json"
    assert FeatureStore(tmp_path, "net").root == layout.features("net")


def test_keys_are_made_as_before_so_remembered_entries_are_found_again() -> None:
    from builder.search.neighbours import SEARCH_VERSION, NeighbourSearch, features_digest

    assert versioned_key("4", "a", "b") == hashlib.sha256(b"4|a|b").hexdigest()
    assert versioned_key("4", "a", data=b"xy") == hashlib.sha256(b"4|axy").hexdigest()
    x = np.eye(3, dtype=np.float32)
    before = hashlib.sha256(f"{SEARCH_VERSION}|{features_digest(x)}|{('exact', 2)!r}".encode()).hexdigest()
    assert NeighbourSearch()._key(x, "exact", 2) == before


def test_every_folder_a_build_leaves_in_the_cache_is_one_the_layout_names(tmp_path: Path) -> None:
    from builder.build import build
    from builder.config import make_config
    from builder.ownership import CACHE_TAG

    from .conftest import write_collection

    write_collection(tmp_path / "images", {"": 6})
    cache = tmp_path / "cache"
    build(make_config(collection=tmp_path / "images", networks=("pixels",), k=2, out=tmp_path / "site",
                      cache_dir=cache))  # fmt: skip
    layout = CacheLayout(cache)
    named = {layout.all_features, layout.all_tags, layout.models, layout.all_thumbs, layout.atlases("x").parent,
             layout.neighbours, layout.layouts, layout.compact, layout.hashes,
             layout.page_memo(tmp_path / "site").parent}  # fmt: skip
    left = {p for p in cache.iterdir() if p.name not in (CACHE_TAG, "lock")}
    assert left <= named and {layout.hashes, layout.neighbours, layout.page_memo(tmp_path / "site").parent} <= left
    assert layout.page_memo(tmp_path / "site").is_file()


# ---- the store ----


def _said(store: EntryStore) -> list[str]:
    said: list[str] = []
    store.on_bad = said.append
    return said


def _one_damaged(said: list[str], path: Path) -> None:
    assert len(said) == 1, said
    assert said[0].startswith(f"{path}: damaged cache entry (") and said[0].endswith("); computed again")


def test_a_truncated_entry_is_said_once_and_computed_again(tmp_path: Path) -> None:
    store = EntryStore(tmp_path, version="1")
    said = _said(store)
    computed: list[int] = []

    def compute() -> np.ndarray:
        computed.append(1)
        return np.arange(6.0)

    def remembered() -> np.ndarray:
        return store.remembered("k" * 8, compute, lambda a: a["v"], lambda v: {"v": v})

    assert remembered().tolist() == list(range(6)) and computed == [1] and said == []
    assert remembered().tolist() == list(range(6)) and computed == [1]  # remembered: not computed again
    path = store.path("k" * 8)
    assert path == tmp_path / "kk" / "kkkkkkkk.npz"
    path.write_bytes(path.read_bytes()[:40])
    assert remembered().tolist() == list(range(6)) and computed == [1, 1]
    _one_damaged(said, path)
    assert remembered().tolist() == list(range(6)) and computed == [1, 1] and len(said) == 1  # written anew


def test_bad_json_is_said_once_and_computed_again(tmp_path: Path) -> None:
    store = EntryStore(tmp_path, suffix=".recall.json")
    said = _said(store)
    store.put_json("ab12", {"value": 0.5})
    assert store.read_json("ab12", lambda v: v["value"]) == 0.5
    store.path("ab12").write_bytes(b'{"value": 0.')
    assert store.read_json("ab12", lambda v: v["value"]) is None
    _one_damaged(said, store.path("ab12"))
    store.put_json("ab12", {"value": 0.5})
    assert store.read_json("ab12", lambda v: v["value"]) == 0.5 and len(said) == 1
    store.put_json("cd34", [1, 2])  # sound JSON, but not what the reader takes
    assert store.read_json("cd34", lambda v: v["value"]) is None and "TypeError" in said[-1] and len(said) == 2


def test_an_entry_the_check_refuses_is_said_once_and_counts_as_missing(tmp_path: Path) -> None:
    store = EntryStore(tmp_path)
    said = _said(store)
    store.put("ab12", array=np.zeros((3, 2), dtype=np.uint16))

    def shaped(n: int):
        def check(arrays: dict[str, np.ndarray]) -> None:
            if arrays["array"].shape != (n, 2):
                raise BadEntry(f"shape {arrays['array'].shape}, expected ({n}, 2)")

        return check

    assert store.get("ab12", shaped(3)) is not None and said == []
    assert store.get("ab12", shaped(4)) is None
    _one_damaged(said, store.path("ab12"))
    assert "BadEntry: shape (3, 2), expected (4, 2)" in said[0]
    assert store.get("ab12", lambda arrays: arrays["missing"]) is None and "KeyError" in said[-1]


def test_a_write_killed_midway_leaves_no_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = EntryStore(tmp_path)
    said = _said(store)

    def killed(fh, **arrays) -> None:
        fh.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # as a kill would, inside atomic_path's block

    monkeypatch.setattr(cachemod.np, "savez", killed)
    with pytest.raises(KeyboardInterrupt):
        store.put("ab12", v=np.arange(3))
    assert not store.has("ab12") and store.get("ab12") is None and said == []
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # not even the temporary file
    with pytest.raises(TypeError):
        store.with_suffix(".json").put_json("ab12", {"not json": object()})
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [] and said == []


def test_the_version_separates_entries(tmp_path: Path) -> None:
    old, new = EntryStore(tmp_path, version="1"), EntryStore(tmp_path, version="2")
    assert old.key("features", "k=10") != new.key("features", "k=10")
    assert old.key("features", "k=10") == EntryStore(tmp_path / "elsewhere", version="1").key("features", "k=10")
    old.put(old.key("features", "k=10"), v=np.array([1]))
    assert new.get(new.key("features", "k=10")) is None  # another version's entry is never read
    new.put(new.key("features", "k=10"), v=np.array([2]))
    found_old, found_new = old.get(old.key("features", "k=10")), new.get(new.key("features", "k=10"))
    assert found_old is not None and found_new is not None
    assert (found_old["v"].tolist(), found_new["v"].tolist()) == ([1], [2])


def test_a_store_without_a_folder_remembers_nothing() -> None:
    store = EntryStore(None)
    calls: list[int] = []
    for _ in range(2):
        store.remembered("ab", lambda: calls.append(1) or 3, lambda a: int(a["v"]), lambda v: {"v": np.array(v)})
    store.put_json("ab", 1)
    assert calls == [1, 1] and not store.has("ab") and store.read_json("ab", int) is None
    assert store.sub("cells").root is None


def test_kinds_of_entry_lie_beside_each_other_and_a_sub_folder_lies_flat(tmp_path: Path) -> None:
    lists = EntryStore(tmp_path, version="4")
    assert lists.with_suffix(".cells.npz").path("abcd") == tmp_path / "ab" / "abcd.cells.npz"
    assert lists.with_suffix(".recall.json").path("abcd") == tmp_path / "ab" / "abcd.recall.json"
    assert lists.sub("cells").path("0123456789abcdef") == tmp_path / "cells" / "0123456789abcdef.npz"


def test_every_store_says_a_damaged_entry_in_the_same_words(tmp_path: Path) -> None:
    said: list[str] = []
    blobs = BlobStore(tmp_path / "b", ".bin", lambda data: "" if data == b"ok" else "not ok", said.append)
    blobs.put("k1", b"no")
    assert not blobs.has("k1") and said == [damaged_entry(blobs.path("k1"), "not ok")]
    features = FeatureStore(tmp_path, "net", dim=2, on_bad=said.append)
    features.put("ab" * 32, np.array([3.0, 0.0], dtype=np.float32))  # not of unit length
    assert not features.valid("ab" * 32)
    assert said[-1] == damaged_entry(features._path("ab" * 32), "length 3.0000, expected 1")
    hashes = CacheLayout(tmp_path).hashes
    hashes.write_text('{"version": 2, "files": ')  # truncated

    def identify(path: Path) -> FileFacts:
        return FileFacts("f" * 64, 1, 1)

    image = tmp_path / "a.png"
    image.write_bytes(b"x")
    remembered = HashCache(hashes, identify, said.append)
    assert remembered(image) == FileFacts("f" * 64, 1, 1)  # read anew
    assert len(said) == 3 and said[-1].startswith(f"{hashes}: damaged cache entry (JSONDecodeError")
    remembered.save()
    assert json.loads(hashes.read_text())["version"] == HashCache.VERSION
    HashCache(hashes, identify, said.append)
    (tmp_path / "gone.json").unlink(missing_ok=True)
    HashCache(tmp_path / "gone.json", identify, said.append)  # no cache yet: nothing to say
    assert len(said) == 3


def test_the_search_memo_says_a_damaged_recall_once_and_finds_the_same_lists(tmp_path: Path) -> None:
    from builder.search.neighbours import NeighbourSearch

    x = np.random.default_rng(2).standard_normal((80, 6)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    said: list[str] = []
    search = NeighbourSearch(root=tmp_path, on_bad=said.append)
    found, recall = search.tuned(x, 4, 0.9, 50, place="pixels")
    (recall_file,) = tmp_path.rglob("*.recall.json")
    recall_file.write_bytes(b"[")
    again, same = search.tuned(x, 4, 0.9, 50, place="pixels")
    untimed = {"search_ms": 0.0, "exact_ms": 0.0}  # measured anew: the times differ
    assert replace(same, **untimed) == replace(recall, **untimed) and (again.indices == found.indices).all()
    assert len(said) == 1 and said[0].startswith(f"{recall_file}: damaged cache entry (")
    (lists,) = [p for p in tmp_path.rglob("*.npz") if p.name.count(".") == 1 and p.parent.name != "cells"]
    lists.write_bytes(b"garbage")
    assert (search.tuned(x, 4, 0.9, 50, place="pixels")[0].indices == found.indices).all() and len(said) == 2
