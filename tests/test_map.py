"""The map: the layout stage (deterministic, cached, its shape), its data files, and map.html in headless
Chromium over http (from a sub-path) and file://, checked against the published layout."""

from __future__ import annotations

import math
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from builder.build import build
from builder.config import make_config
from builder.map import atlas, embed, stage
from builder.map.data import decode_points, encode_points
from builder.map.embed import GRID, LayoutSettings, graph_edges, identical_rows, layout, to_grid
from builder.map.model import NONE, OTHER, PALETTE, legend_codes
from builder.map.stage import LayoutCache, layout_key
from builder.search.neighbours import exact_neighbours, features_digest

from .browser import Watched
from .conftest import write_collection
from .sitecheck import broken_or_outside, explorer_data, map_data, words_find


def clusters(n: int = 300, dim: int = 32, groups: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around `groups` random centres, and each one's group."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((groups, dim)) * 3
    group = np.arange(n) % groups
    x = (centres[group] + rng.standard_normal((n, dim))).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True), group


# ---- the layout ----


def test_a_layout_is_one_grid_point_per_item_and_the_same_every_time() -> None:
    x, _ = clusters()
    indices = exact_neighbours(x, 10).indices
    first = layout(x, indices, LayoutSettings(epochs=60))
    again = layout(x.copy(), indices.copy(), LayoutSettings(epochs=60))
    assert first.dtype == np.uint16 and first.shape == (300, 2)
    assert first.tobytes() == again.tobytes()
    # the layout fills the grid along its longer side, centred along the other
    assert first.min() == 0 and first.max() == GRID
    assert layout(x, indices, LayoutSettings(epochs=60, seed=5)).tobytes() != first.tobytes()


def test_a_layout_keeps_neighbours_together_and_groups_apart() -> None:
    x, group = clusters()
    y = layout(x, exact_neighbours(x, 10).indices, LayoutSettings()).astype(np.float64)
    d = ((y[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nearest = d.argmin(axis=1)
    assert (group[nearest] == group).mean() > 0.95  # each point's nearest point on the map is of its group


def preservation(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """The share of each row's k nearest in x (cosine) that are among its k nearest in y (Euclidean)."""
    similar = x @ x.T
    d = ((y[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(similar, -np.inf)
    np.fill_diagonal(d, np.inf)
    near_x, near_y = np.argsort(-similar, axis=1)[:, :k], np.argsort(d, axis=1)[:, :k]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(near_x, near_y, strict=True)]))


def test_a_layout_keeps_each_items_nearest_beside_it() -> None:
    """40 tight groups of 10 around random centres: an item's 9 nearest are its group, and the map keeps
    nearly all of them nearest; the same points shuffled among the items keep almost none."""
    x, _ = clusters(400, groups=40, seed=3)
    y = layout(x, exact_neighbours(x, 10).indices, LayoutSettings()).astype(np.float64)
    assert preservation(x, y, 9) > 0.9
    assert preservation(x, y[np.random.default_rng(0).permutation(400)], 9) < 0.1


@pytest.mark.parametrize(
    "scale, spacing, z_error, push_error",
    [(1.0, 0.5, 0.01, 0.06), (40.0, 0.5, 0.002, 0.03), (400.0, 2.5, 0.6, 0.03)],
)
def test_the_mesh_repulsion_approximates_the_sum_over_every_pair(scale, spacing, z_error, push_error) -> None:
    """The particle-mesh sums against the n^2 loop of t-SNE's repulsion, on points spread as a map is (a
    dense clump, a sparse field, two far outliers): Z within z_error, the median point's push within
    push_error of its length (the kernel of ALPHA = 2). On a small map the clump's structure is finer than the
    grid (0.0081, 0.042 measured; 0.0003, 0.018 on a map 40 times as wide); on a map too wide for MESH_NODES
    nodes 0.5 apart, the grid is spaced 2.5 apart, wider than the kernel (whose w falls as d^-4), so Z, there
    a sum of tiny values, is rough (0.49 too high) while the pushes are close (0.025)."""
    rng = np.random.default_rng(9)
    y = np.concatenate([rng.normal(0, 0.3, (200, 2)), rng.uniform(-1, 1, (300, 2)), [[-1.2, 1.3], [1.1, -1.0]]])
    y *= scale
    assert embed.Mesh.geometry(float(np.ptp(y, axis=0).max()))[1] == pytest.approx(spacing, abs=0.01)
    push_x, push_y, z = embed.Mesh().repulsion(y[:, 0], y[:, 1])
    d = y[:, None, :] - y[None, :, :]
    w = embed.kernel((d**2).sum(-1))
    np.fill_diagonal(w, 0)
    exact = ((w ** (1 + 1 / embed.ALPHA))[:, :, None] * d).sum(axis=1)
    assert abs(z / w.sum() - 1) < z_error
    assert np.median(np.hypot(push_x - exact[:, 0], push_y - exact[:, 1]) / np.hypot(*exact.T)) < push_error


def test_identical_images_are_not_laid_on_one_point() -> None:
    x, _ = clusters(60)
    x[1] = x[0]
    y = layout(x, exact_neighbours(x, 5).indices, LayoutSettings(epochs=50))
    assert tuple(y[0]) != tuple(y[1])


@pytest.mark.parametrize("n", [14, 60])
def test_identical_images_lie_together(n: int) -> None:
    """Five copies of one image among others lie within 1% of the map of each other, each a point of its
    own. They were pushed apart by the repulsion, 4 to 6% of the map here and a third of it in a build of
    14 drawings."""
    x, _ = clusters(n)
    copies = [1, 4, 6, 9, 13]
    x[copies] = x[1]
    y = layout(x, exact_neighbours(x, 5).indices, LayoutSettings()).astype(np.float64)[copies]
    assert np.sqrt(((y[:, None] - y[None]) ** 2).sum(-1)).max() < 0.01 * GRID
    assert len({tuple(p) for p in y}) == 5


def test_identical_rows_are_found_bit_for_bit() -> None:
    x, _ = clusters(50)
    x[[7, 30]] = x[3]
    x[31] = x[3]
    x[31, 0] = np.nextafter(x[31, 0], np.float32(2))  # one bit apart: not identical
    expected = np.arange(50)
    expected[[7, 30]] = 3
    assert identical_rows(x).tolist() == expected.tolist()
    assert identical_rows(x.astype(np.float64)).tolist() == expected.tolist()
    assert identical_rows(x, block=8).tolist() == expected.tolist()  # a copy in another block than its first


def test_the_neighbour_graph_is_undirected_with_each_edge_once() -> None:
    heads, tails = graph_edges(np.array([[1, 2], [0, 2], [0, 1], [0, 3]]))  # 3 lists itself: dropped
    assert sorted(zip(heads.tolist(), tails.tolist(), strict=True)) == [(0, 1), (0, 2), (0, 3), (1, 2)]
    # rows 0 and 1 identical: one point, whose lists are both of theirs; each other is no edge
    heads, tails = graph_edges(np.array([[1, 2], [0, 3], [0, 1], [2, 1]]), np.array([0, 0, 1, 2]))
    assert sorted(zip(heads.tolist(), tails.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 2)]


def test_the_grid_keeps_the_aspect_and_centres_the_short_side() -> None:
    grid = to_grid(np.array([[0.0, 0.0], [2.0, 1.0], [1.0, 0.5]]))
    assert grid.tolist() == [[0, 16384], [65535, 49151], [32768, 32768]]
    assert to_grid(np.zeros((3, 2))).tolist() == [[32768, 32768]] * 3  # one place: in the middle, no division by 0


def test_the_cache_key_follows_features_lists_and_settings(tmp_path: Path) -> None:
    x, _ = clusters(50)
    indices = exact_neighbours(x, 5).indices
    key = layout_key(features_digest(x), indices, LayoutSettings())
    assert key == layout_key(features_digest(x.copy()), indices.copy(), LayoutSettings())
    other = x.copy()
    other[0, 0] += 1e-3
    assert layout_key(features_digest(other), indices, LayoutSettings()) != key
    assert layout_key(features_digest(x), indices[:, :4], LayoutSettings()) != key
    assert layout_key(features_digest(x), indices, LayoutSettings(epochs=10)) != key
    warned: list[str] = []
    cache = LayoutCache(tmp_path, warned.append)
    assert cache.get(key, 50) is None
    points = np.arange(100, dtype=np.uint16).reshape(50, 2)
    cache.put(key, points)
    assert cache.get(key, 50).tolist() == points.tolist()
    assert cache.get(key, 49) is None and "damaged" in warned[-1]  # another collection's size
    next(tmp_path.rglob("*.npz")).write_bytes(b"garbage")
    assert cache.get(key, 50) is None and len(warned) == 2
    from builder.map.clusters import NONE

    labels = np.array([1, NONE, 0, 0, 1], dtype=np.int32)  # image 1 in no cluster
    cache.put("c" * 64, labels)
    assert cache.get_labels("c" * 64, 5).tolist() == labels.tolist()
    cache.put("d" * 64, labels - 1)  # -2: damaged
    assert cache.get_labels("d" * 64, 5) is None and len(warned) == 3


def map_files(site: Path) -> list[Path]:
    return [*(site / "data" / "map").rglob("*.js"), site / "map.png", *(site / "atlases").rglob("*.webp")]


def small_config(tmp_path: Path, **overrides: object):
    if not (tmp_path / "images").exists():
        write_collection(tmp_path / "images", {"a": 8, "b": 8})
    settings = {"collection": tmp_path / "images", "networks": ("pixels",), "k": 3, "experiment_enabled": False,
                "out": tmp_path / "site", "cache_dir": tmp_path / "cache"}  # fmt: skip
    return make_config(**{**settings, **overrides})


def test_a_no_change_rebuild_lays_nothing_out_and_publishes_the_same_bytes(tmp_path: Path, monkeypatch) -> None:
    calls: list[int] = []
    real = stage.layout
    monkeypatch.setattr(stage, "layout", lambda x, i, s: calls.append(len(x)) or real(x, i, s))
    clustered: list[int] = []
    real_clusters = stage.find_clusters
    monkeypatch.setattr(stage, "find_clusters", lambda p, k, s: clustered.append(k) or real_clusters(p, k, s))
    sheets: list[int] = []
    real_atlas = atlas.make_atlas
    monkeypatch.setattr(atlas, "make_atlas", lambda src, *a: sheets.append(len(src)) or real_atlas(src, *a))
    config = small_config(tmp_path, map_clusters=3)
    build(config)
    first = {p.relative_to(config.out): p.read_bytes() for p in map_files(config.out)}
    assert Path("atlases/pixels/0.webp") in first
    assert calls == [16] and clustered == [3] and sheets == [16]
    read: list[int] = []
    real_load = stage.searched_vectors
    monkeypatch.setattr(stage, "searched_vectors", lambda *a: read.append(1) or real_load(*a))
    build(config)
    assert calls == [16] and read == []  # remembered, found by the search's digest: the features not even read
    assert clustered == [3] and sheets == [16]  # no k-means, no atlas: remembered too
    build(config.updated(cache_dir=tmp_path / "fresh-cache", out=tmp_path / "site2"))
    assert calls == [16, 16] and clustered == [3, 3] and sheets == [16, 16]  # from nothing: the same bytes
    site2 = tmp_path / "site2"
    again = {p.relative_to(site2): p.read_bytes() for p in map_files(site2)}
    assert again == first
    build(config.updated(map_epochs=20))
    assert calls == [16, 16, 16]  # another setting, another layout
    assert clustered == [3, 3, 3]  # its own clusters
    assert sheets == [16, 16, 16]  # and its own atlas: the same thumbnails in its map's order


def test_the_map_can_be_switched_off(tmp_path: Path) -> None:
    config = small_config(tmp_path, map_enabled=False)
    build(config)
    assert not (config.out / "map.html").exists() and not (config.out / "data" / "map").exists()
    assert "map.html" not in (config.out / "index.html").read_text()
    build(config.updated(map_enabled=True))
    assert (config.out / "map.html").is_file()
    page = next((config.out / "compare").glob("*.html")).read_text()
    assert "href=../map.html" in page or 'href="../map.html"' in page  # the compare pages link to it now
    assert broken_or_outside(config.out) == []


def test_map_settings_come_from_vsis_toml(tmp_path: Path) -> None:
    (tmp_path / "vsis.toml").write_text("[map]\nenabled = false\nepochs = 50\nseed = 3\n")
    config = make_config(tmp_path / "vsis.toml")
    assert (config.map.enabled, config.map.epochs, config.map.seed) == (False, 50, 3)
    from builder.errors import ConfigError

    with pytest.raises(ConfigError, match="epochs"):
        make_config(map_epochs=-1)


# ---- the data files ----


def test_points_are_published_as_little_endian_16_bit_pairs() -> None:
    points = np.array([[0, 65535], [258, 1]], dtype=np.uint16)
    text = encode_points(points)
    assert text == "AAD//wIBAQA="  # 00 00 ff ff 02 01 01 00
    assert decode_points(text).tolist() == points.tolist()


def test_the_legend_names_the_commonest_categories_and_gathers_the_rest() -> None:
    cats = ["b", "a", "a", "", "b", "c"]
    legend, codes = legend_codes(cats)
    assert [(c.label, c.count) for c in legend] == [("a", 2), ("b", 2), ("c", 1), (NONE[0], 1)]
    assert codes.tolist() == [1, 0, 0, 3, 1, 2]
    many = [f"c{i:02d}" for i in range(len(PALETTE) + 3)]
    legend, codes = legend_codes(many)
    assert legend[-1].label == OTHER[0] and legend[-1].count == 3 and len(legend) == len(PALETTE) + 1
    assert codes.max() == len(PALETTE)
    legend, codes = legend_codes(["", ""])
    assert len(legend) == 1 and legend[0].count == 2 and codes.tolist() == [0, 0]


@pytest.mark.parametrize(("most", "shard", "shards"), [(32, 5, 4), (3, 6, 3)])
def test_the_data_files_hold_every_items_place_colour_and_id_in_shards(
    tmp_path: Path, monkeypatch, most: int, shard: int, shards: int
) -> None:
    """16 items in shards of 5, or, where that would be more than `most` files, in as few larger ones."""
    from builder.map import data as files

    monkeypatch.setattr(files, "MAP_SHARD", 5)
    monkeypatch.setattr(files, "MAP_FILES_MOST", most)
    config = small_config(tmp_path)
    result = build(config)
    data = map_data(config.out)
    assert (data["index"]["shard"], data["index"]["shards"], data["index"]["size"]) == (shard, shards, 16)
    assert len(list((config.out / "data" / "map" / "layout" / "pixels").glob("*.js"))) == shards
    assert data["ids"] == [i.id for i in result.items]
    items = explorer_data(config.out)["datasets"][0]["items"]
    legend = [c["label"] for c in data["index"]["legend"]]
    assert [legend[c] for c in data["codes"]] == [i["category"] for i in items]  # a and b: the folders
    xy = data["layouts"]["pixels"]
    assert xy.shape == (16, 2) and xy.min() == 0.0 and xy.max() == 1.0


# ---- the page, in headless Chromium ----


@pytest.fixture(scope="module")
def published(sample_site: Path) -> dict:
    return map_data(sample_site)


def open_map(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("html[data-ready]")


def shown(page, text: str) -> None:
    """Wait until the view drawn (data-shown: its address) includes text and no points are moving."""
    page.wait_for_function(
        f"() => (document.documentElement.dataset.shown || '').includes({text!r})"
        " && !document.documentElement.dataset.moving"
    )


def view(page) -> dict:
    return page.evaluate("VSIS_MAP_STATE.view()")


def screen(v: dict, point: np.ndarray) -> tuple[float, float]:
    """Where a point of the published layout lies on the page, by the view the page reports."""
    return (
        v["left"] + (point[0] - v["x"]) * v["scale"] + v["width"] / 2,
        v["top"] + (point[1] - v["y"]) * v["scale"] + v["height"] / 2,
    )


def state(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).fragment).items()}


def isolated(xy: np.ndarray, count: int) -> list[int]:
    """Items whose nearest other point is furthest: a click on them can only mean them."""
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return [int(i) for i in np.argsort(-d.min(axis=1))[:count]]


def test_the_map_draws_every_point(site, published) -> None:
    watched, base = site
    page = watched.page
    open_map(page, base + "map.html")
    assert page.evaluate("window.VSIS_MAP_DRAWN") == published["index"]["size"] == 150
    assert page.evaluate("VSIS_MAP_STATE.network()") == "efficientnet_lite0"
    legend = page.eval_on_selector_all(".map-legend li", "els => els.map(e => e.textContent)")
    assert len(legend) == len(published["index"]["legend"]) == 10  # the sample's 10 categories
    # the places the page holds are the published ones
    for i in (0, 77, 149):
        assert page.evaluate(f"VSIS_MAP_STATE.world({i})") == pytest.approx(
            published["layouts"]["efficientnet_lite0"][i].tolist(), abs=1e-6
        )


def test_clicking_a_point_selects_the_image_there(site, sample_site: Path, published) -> None:
    watched, base = site
    page = watched.page
    open_map(page, base + "map.html")
    xy = published["layouts"]["efficientnet_lite0"]
    data = explorer_data(sample_site)["datasets"][0]
    for i in isolated(xy, 2):
        x, y = screen(view(page), xy[i])
        page.mouse.click(x, y)
        item_id = published["ids"][i]
        page.wait_for_function(f"() => document.getElementById('panel').dataset.id === {item_id!r}")
        shown(page, f"item={item_id}")
        assert state(page)["item"] == item_id
        assert page.inner_text("#panel-title") == data["items"][i]["title"]
        listed = page.eval_on_selector_all("#panel .map-neighbours li", "els => els.map(e => e.dataset.id)")
        rows = data["networks"][0]["neighbours"][i]
        assert listed == [data["items"][j]["id"] for j, _ in rows]
        links = page.eval_on_selector_all("#panel a", "els => els.map(e => e.getAttribute('href'))")
        assert links[0] == f"compare/{item_id}.html" and links[1].startswith("explore.html#")
        assert f"item={item_id}" in links[1]


def test_hovering_a_point_shows_its_title(site, sample_site: Path, published) -> None:
    watched, base = site
    page = watched.page
    open_map(page, base + "map.html")
    i = isolated(published["layouts"]["efficientnet_lite0"], 1)[0]
    page.mouse.move(*screen(view(page), published["layouts"]["efficientnet_lite0"][i]))
    page.wait_for_selector("#tip:not([hidden])")
    title = explorer_data(sample_site)["datasets"][0]["items"][i]["title"]
    assert page.inner_text("#tip").startswith(title)


def test_switching_network_moves_the_points_to_that_layout(site, published) -> None:
    watched, base = site
    page = watched.page
    open_map(page, base + "map.html")
    page.select_option("#network", "pixels")
    page.wait_for_function("() => document.documentElement.dataset.moving === '1'")  # animated
    shown(page, "network=pixels")
    moved = 0
    for i in range(0, 150, 10):
        now = page.evaluate(f"VSIS_MAP_STATE.world({i})")
        assert now == pytest.approx(published["layouts"]["pixels"][i].tolist(), abs=1e-6)
        moved += not np.allclose(now, published["layouts"]["efficientnet_lite0"][i], atol=1e-3)
    assert moved >= 10
    assert page.evaluate("window.VSIS_MAP_DRAWN") == 150


def test_search_highlights_the_matching_items(site, sample_site: Path) -> None:
    watched, base = site
    page = watched.page
    open_map(page, base + "map.html")
    page.fill("#query", "flower")
    shown(page, "q=flower")
    items = explorer_data(sample_site)["datasets"][0]["items"]
    # titles and artists containing it, then the images the network tagged with a flower (word_data.py)
    expected = words_find(sample_site, "collection", "efficientnet_lite0", "flower")
    titled = [n for n, it in enumerate(items) if "flower" in (it["title"] + "\n" + it["artist"]).lower()]
    assert titled and expected[: len(titled)] == titled
    assert page.evaluate("VSIS_MAP_STATE.matches()") == expected
    listed = page.eval_on_selector_all("#matches li", "els => els.map(e => e.dataset.id)")
    assert listed == [items[n]["id"] for n in expected][: len(listed)]
    assert f"{len(expected)} match" in page.inner_text("#status")
    page.click("#matches li:first-child button")  # a match chosen from the list: selected and in view
    page.wait_for_function(f"() => document.getElementById('panel').dataset.id === {items[expected[0]]['id']!r}")


def points_image(page, width: int, height: int) -> np.ndarray:
    """The map's points as its renderer drew them (no cells, thumbnails or rings): height x width x RGBA."""
    import base64

    data = base64.b64decode(page.evaluate("VSIS_MAP_STATE.pointsImage()"))
    return np.frombuffer(data, dtype=np.uint8).reshape(height, width, 4)


def test_webgl_and_the_canvas_draw_the_same_points(site, published) -> None:
    """map.html?renderer=webgl and ?renderer=canvas, at the whole map and zoomed in with a search's matches
    outlined: the same pixels, but where WebGL's single-precision arithmetic rounds a point to the next
    pixel or drops one whose centre is off the canvas (at most 1 in 200 of the points' pixels)."""
    watched, base = site
    side = (640, 480)
    views = ["network=efficientnet_lite0&zoom=1.000&x=0.50000&y=0.50000",
             "network=pixels&zoom=3.000&x=0.45000&y=0.55000&q=a"]  # fmt: skip
    images: dict[str, list[np.ndarray]] = {}
    for renderer in ("webgl", "canvas"):
        page = watched.page
        open_map(page, f"{base}map.html?renderer={renderer}#{views[0]}")
        chosen = page.evaluate("VSIS_MAP_STATE.renderer()")
        assert chosen["name"] == renderer and chosen["why"] == "asked for"
        size = f"width:{side[0]}px;height:{side[1]}px;flex:none"
        page.evaluate(f"document.querySelector('.map-frame').style.cssText = {size!r}")
        page.wait_for_function(f"() => document.getElementById('map').width === {side[0]}")
        images[renderer] = []
        for v in views:
            page.evaluate(f"location.hash = {v!r}")
            shown(page, v.split("&q=")[0])
            images[renderer].append(points_image(page, *side))
    white = np.array([255, 255, 255, 255], dtype=np.uint8)
    outline = np.array([0x1D, 0x1D, 0x1F, 255], dtype=np.uint8)
    for gl, canvas in zip(images["webgl"], images["canvas"], strict=True):
        painted = (canvas != white).any(axis=-1)
        assert painted.sum() >= 150 * 2  # every point is at least 2 x 2 pixels; most are apart
        differ = (gl != canvas).any(axis=-1)
        assert differ.sum() <= 0.005 * painted.sum()
    # the search's matches are outlined, the rest faded, in both
    for renderer in images:
        assert ((images[renderer][1] == outline).all(axis=-1)).sum() > 0


def test_by_default_the_map_draws_with_webgl_only_on_a_graphics_processor(site) -> None:
    """Headless Chromium without a GPU draws WebGL in software (SwiftShader), slower than the canvas for
    many points: the map then chooses the canvas, and says why."""
    watched, base = site
    page = watched.page
    open_map(page, f"{base}map.html?renderer=webgl")
    device = page.evaluate("VSIS_MAP_STATE.renderer()")["device"]
    open_map(page, f"{base}map.html")
    chosen = page.evaluate("VSIS_MAP_STATE.renderer()")
    software = any(word in device.lower() for word in ("swiftshader", "llvmpipe", "software"))
    assert chosen["name"] == ("canvas" if software else "webgl")
    assert (device in chosen["why"]) == software
    assert page.evaluate("document.getElementById('map-points').hidden") == software


def test_a_search_of_only_spaces_or_a_newline_in_the_address_is_no_search(site, sample_site: Path) -> None:
    """The map and the explorer read q as the search box takes what is typed, trimmed: q=%0A, a newline
    (which joins each title to its artist in the text searched), highlighted every image as a match."""
    watched, base = site
    page = watched.page
    for blank in ("%0A", "%20%20", "%09%0A%20"):
        open_map(page, f"{base}map.html#network=pixels&q={blank}")
        assert page.evaluate("VSIS_MAP_STATE.matches()") == [] and page.input_value("#query") == ""
        assert page.inner_text("#status") == "150 images laid out by pixels" and "q" not in state(page)
        assert page.eval_on_selector_all("#matches li", "els => els.length") == 0
        open_map(page, f"{base}explore.html#q={blank}")
        assert page.inner_text("#status") == "150 of 150 images" and "q" not in state(page)
    items = explorer_data(sample_site)["datasets"][0]["items"]
    expected = [n for n, it in enumerate(items) if "flower" in (it["title"] + "\n" + it["artist"]).lower()]
    open_map(page, f"{base}map.html#network=pixels&q=%20flower%0A")  # padded: the word alone
    assert page.evaluate("VSIS_MAP_STATE.matches()") == expected and state(page)["q"] == "flower"


def test_a_shared_url_restores_the_view_and_back_returns(site, published) -> None:
    watched, base = site
    page = watched.page
    item_id = published["ids"][42]
    open_map(page, f"{base}map.html#network=pixels&zoom=3.000&x=0.40000&y=0.60000&item={item_id}&q=a")
    v = view(page)
    assert (v["zoom"], v["x"], v["y"]) == (3.0, 0.4, 0.6)
    assert page.input_value("#network") == "pixels" and page.input_value("#query") == "a"
    assert page.get_attribute("#panel", "data-id") == item_id
    assert page.evaluate("VSIS_MAP_STATE.world(42)") == pytest.approx(published["layouts"]["pixels"][42].tolist())
    # another image chosen; Back returns to the first
    other = published["ids"][7]
    page.evaluate(f"location.hash = location.hash.replace(/item=[^&]*/, 'item=' + {other!r})")
    page.wait_for_function(f"() => document.getElementById('panel').dataset.id === {other!r}")
    page.go_back()
    page.wait_for_function(f"() => document.getElementById('panel').dataset.id === {item_id!r}")


def aim(page, point: np.ndarray, fraction: float) -> dict:
    """Centre the view so that `point` lies `fraction` of a pixel right of and below a whole pixel (a few
    pixels from where it was, so that the address changes); the view then."""
    v = view(page)
    x, y = (math.floor(c) + 3 + fraction for c in screen(v, point))
    cx = float(point[0] - (x - v["left"] - v["width"] / 2) / v["scale"])
    cy = float(point[1] - (y - v["top"] - v["height"] / 2) / v["scale"])
    page.evaluate(f"location.hash = 'network=efficientnet_lite0&zoom=1&x={cx!r}&y={cy!r}'")
    page.wait_for_function(f"() => VSIS_MAP_STATE.view().x === {cx!r} && VSIS_MAP_STATE.view().y === {cy!r}")
    return view(page)


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 0.75])
def test_zooming_in_on_a_point_keeps_it_under_the_pointer_with_its_thumbnail(site, published, fraction) -> None:
    """The wheel zooms about the pointer: the place under it stays under it. The pointer is on a whole pixel
    and the point aimed at `fraction` of a pixel right of and below it, so the zoom (3.3x) moves that point
    `fraction` x 3.3 pixels away, and no more: the test holds wherever a machine's layout puts the point."""
    watched, base = site
    page = watched.page
    open_map(page, base + "map.html")
    xy = published["layouts"]["efficientnet_lite0"]
    i = int(np.argsort(((xy - np.median(xy, axis=0)) ** 2).sum(1))[0])  # a point amid the others
    before = aim(page, xy[i], fraction)
    page.evaluate("window.wheels = []; document.getElementById('map').addEventListener('wheel',"
                  " e => wheels.push([e.clientX, e.clientY]))")  # fmt: skip
    x, y = (math.floor(c) for c in screen(before, xy[i]))
    page.mouse.move(x, y)
    page.mouse.wheel(0, -300)
    page.mouse.wheel(0, -300)
    page.wait_for_function("() => new URLSearchParams(location.hash.slice(1)).get('zoom') > 3")
    assert page.evaluate("wheels") == [[x, y], [x, y]]  # where the page saw the pointer
    under = (
        before["x"] + (x - before["left"] - before["width"] / 2) / before["scale"],
        before["y"] + (y - before["top"] - before["height"] / 2) / before["scale"],
    )
    after = view(page)
    assert screen(after, np.array(under)) == pytest.approx((x, y), abs=1e-6)
    grown = fraction * after["zoom"] / before["zoom"]
    assert screen(after, xy[i]) == pytest.approx((x + grown, y + grown), abs=1e-6)
    assert page.evaluate("window.VSIS_MAP_DRAWN") < 150  # the rest are out of view
    # a collection this small is drawn as thumbnails (from the site's own files) once loaded
    page.wait_for_function("() => VSIS_MAP_STATE.thumbs() > 0")


def test_keyboard_alone_moves_zooms_and_chooses(site) -> None:
    watched, base = site
    page = watched.page
    open_map(page, base + "map.html")
    page.focus("#reset")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "map"
    outline = page.evaluate("getComputedStyle(document.getElementById('map')).outlineStyle")
    assert outline != "none"
    page.keyboard.press("+")
    page.keyboard.press("+")
    assert view(page)["zoom"] == pytest.approx(2.25)
    page.keyboard.press("ArrowRight")
    assert view(page)["x"] > 0.5
    page.wait_for_function("() => new URLSearchParams(location.hash.slice(1)).get('zoom') === '2.250'")
    page.keyboard.press("Enter")
    page.wait_for_selector("#panel:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "panel-title"  # focus follows the choice
    chosen = page.get_attribute("#panel", "data-id")
    assert state(page)["item"] == chosen
    # the panel's links and buttons are next in the tab order; Close returns to the map
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "A"
    page.focus("#panel .close")
    page.keyboard.press("Enter")
    page.wait_for_selector("#panel[hidden]", state="attached")
    assert page.evaluate("document.activeElement.id") == "map"
    page.keyboard.press("0")
    assert view(page)["zoom"] == 1


def test_the_map_fits_a_phone_and_pans_by_touch(sample_site: Path, browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    watched = Watched(page, sample_site.as_uri() + "/")
    open_map(page, sample_site.as_uri() + "/map.html")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.evaluate("window.VSIS_MAP_DRAWN") == 150
    v = view(page)
    # a one-finger drag, as touch pointer events
    page.evaluate(
        """([x, y]) => {
        const c = document.getElementById('map');
        const fire = (type, dx) => c.dispatchEvent(new PointerEvent(type, {pointerId: 7, pointerType: 'touch',
          clientX: x + dx, clientY: y, bubbles: true, isPrimary: true}));
        fire('pointerdown', 0); fire('pointermove', 30); fire('pointermove', 60); fire('pointerup', 60);
    }""",
        [v["left"] + v["width"] / 2, v["top"] + v["height"] / 2],
    )
    assert math.isclose(view(page)["x"], v["x"] - 60 / v["scale"], rel_tol=1e-6)
    assert watched.errors == [] and watched.outside == []
    context.close()


def test_the_overview_and_explorer_link_to_the_map(sample_site: Path) -> None:
    for page in ("index.html", "explore.html", "images.html"):
        assert (
            'href="map.html"' in (sample_site / page).read_text() or "href=map.html" in (sample_site / page).read_text()
        )
    assert broken_or_outside(sample_site) == []


def test_the_layout_module_needs_only_numpy() -> None:
    import ast

    tree = ast.parse(Path(embed.__file__).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"numpy", "__future__", "dataclasses"}


def test_the_overviews_picture_shows_each_point_in_its_colour() -> None:
    import io

    from PIL import Image

    from builder.map.model import MapCategory, MapPage
    from builder.map.picture import SIDE, map_picture

    points = np.array([[0, 0], [GRID, GRID], [GRID // 2, 0]], dtype=np.uint16)
    legend = [MapCategory("a", "#ff0000", 2), MapCategory("b", "#0000ff", 1)]
    picture = Image.open(io.BytesIO(map_picture(MapPage([("n", points)], legend, np.array([0, 1, 0], np.uint8)))))
    assert picture.size == (SIDE, SIDE) and picture.format == "PNG"
    assert picture.getpixel((1, 1)) == (255, 0, 0) and picture.getpixel((SIDE - 2, SIDE - 2)) == (0, 0, 255)
    assert picture.getpixel((SIDE // 2, SIDE // 2)) == (255, 255, 255)


def test_before_its_first_draw_a_large_map_loads_its_points_and_nothing_else(
    tmp_path: Path, browser, monkeypatch
) -> None:
    """320 images (more than are ever drawn as thumbnails) in map shards of 100: the page loads the points'
    and colours' shards and the two indexes, no ids, items or search; the cells' numbers in the atlases too,
    since all 320 are drawn as cells (asked for after the first draw, as the atlases are: drawCells); zoomed
    in, the ids come for the thumbnails."""
    from builder.map import data as files

    monkeypatch.setattr(files, "MAP_SHARD", 100)
    write_collection(tmp_path / "images", {"": 320})
    config = make_config(collection=tmp_path / "images", networks=("pixels",), k=3, experiment_enabled=False,
                         out=tmp_path / "site", cache_dir=tmp_path / "cache")  # fmt: skip
    build(config)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watched = Watched(page, config.out.as_uri() + "/")
    open_map(page, config.out.as_uri() + "/map.html")
    assert page.evaluate("window.VSIS_MAP_DRAWN") == 320 and page.evaluate("VSIS_MAP_STATE.thumbs()") == 0
    loaded = "() => [...document.scripts].map(e => e.src.split('/data/')[1]).filter(Boolean)"
    page.wait_for_function("() => VSIS_MAP_STATE.cells() === 320")
    shards = [f"map/{kind}/{n}.js" for kind in ("codes", "layout/pixels") for n in range(4)]
    slots = [f"map/slots/pixels/{n}.js" for n in range(4)]
    assert sorted(page.evaluate(loaded)) == sorted(["index.js", "map/index.js", *shards, *slots])
    x, y = map_data(config.out)["layouts"]["pixels"][0]
    page.evaluate(f"location.hash = 'network=pixels&zoom=30&x={x}&y={y}'")  # close up on image 0
    page.wait_for_function("() => VSIS_MAP_STATE.thumbs() > 0")
    assert any(name.startswith("map/ids/") for name in page.evaluate(loaded))
    assert watched.errors == [] and watched.outside == []
    page.close()


# ---- clusters: the hotspots ----


def blobs(sizes: tuple[int, ...] = (40, 30, 20), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Grid points in tight, far-apart groups of these sizes (shuffled), and each point's group."""
    rng = np.random.default_rng(seed)
    centres = np.array([[8000, 8000], [56000, 12000], [30000, 58000], [60000, 60000]])[: len(sizes)]
    group = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    points = centres[group] + rng.integers(-1500, 1500, (len(group), 2))
    return points.astype(np.uint16), group


def test_k_means_finds_well_separated_groups_exactly_numbered_by_size() -> None:
    from builder.map.clusters import NONE, find_clusters

    points, group = blobs()
    found = find_clusters(points, 3, seed=71)
    assert found.labels.tolist() == group.tolist()  # group 0 is the largest: cluster 0
    for c in range(3):  # each representative: the member nearest its group's mean, worked out here by hand
        members = np.flatnonzero(group == c)
        mean = points[members].astype(float).mean(axis=0)
        nearest = members[np.argmin(((points[members] - mean) ** 2).sum(axis=1))]
        assert found.representatives[c] == nearest
    again = find_clusters(points.copy(), 3, seed=71)
    assert again.labels.tobytes() == found.labels.tobytes()  # seeded: the same every time
    assert find_clusters(points[:2], 3, seed=71).labels.tolist() == [NONE, NONE]  # too few items for any


def test_a_collection_gets_a_cluster_per_five_images_at_most_and_no_cluster_of_one() -> None:
    """With fewer images than clusters asked for, each image was a "(1 of 1)" cluster of its own."""
    from builder.map.clusters import NONE, cluster_count, find_clusters

    assert [cluster_count(n, 12) for n in (0, 9, 10, 14, 23, 59, 60, 1000)] == [0, 0, 2, 2, 4, 11, 12, 12]
    assert cluster_count(1000, 1) == 0 and cluster_count(1000, 0) == 0  # one cluster of everything: none
    points, _ = blobs((4, 3, 2))
    none = find_clusters(points, 12, seed=71)
    assert none.labels.tolist() == [NONE] * 9 and none.representatives.tolist() == []
    points, group = blobs((8, 6, 1))  # 15 images: 3 clusters, one of them the lone image far from the rest
    found = find_clusters(points, 12, seed=71)
    assert found.labels.tolist() == np.where(group == 2, NONE, group).tolist()
    assert len(found.representatives) == 2


def test_a_cluster_is_named_by_its_members_commonest_value() -> None:
    from builder.map.clusters import Clusters
    from builder.map.model import cluster_label, hotspots

    assert cluster_label(["flowers"] * 12 + ["trees"] * 2 + [""]) == "flowers (12 of 15)"
    assert cluster_label(["b", "a", "b", "a"]) == "a (2 of 4)"  # a tie: the first in order
    assert cluster_label(["", ""]) == ""
    points, group = blobs((3, 2))
    values = ["rose", "rose", "tulip", "", ""]
    order = np.argsort(group, kind="stable")  # items 0-2 are group 0, 3-4 group 1
    clusters = Clusters(np.array([0, 0, 0, 1, 1], dtype=np.int32), np.array([1, 3]))
    spots = hotspots(points[order], clusters, values, ["t0", "t1", "t2", "t3", "t4"])
    assert [(h.label, h.count, h.item) for h in spots] == [("rose (2 of 3)", 3, 1), ("t3 (2)", 2, 3)]
    box = points[order][:3]
    assert spots[0].extent == int((box.max(axis=0).astype(int) - box.min(axis=0)).max())
    assert (spots[0].x, spots[0].y) == tuple((box.min(axis=0).astype(int) + box.max(axis=0)) // 2)


def test_clusters_and_their_settings_come_from_vsis_toml(tmp_path: Path) -> None:
    from builder.errors import ConfigError

    (tmp_path / "vsis.toml").write_text("[map]\nclusters = 5\n")
    assert make_config(tmp_path / "vsis.toml").map.clusters == 5
    for bad in (-1, 101):
        with pytest.raises(ConfigError, match="clusters"):
            make_config(map_clusters=bad)


def test_the_hotspots_are_published_per_network_with_their_representatives(tmp_path: Path) -> None:
    config = small_config(tmp_path, map_clusters=2, networks=("pixels", "efficientnet_lite0"))
    build(config)
    data = map_data(config.out)
    hotspots = data["index"]["hotspots"]
    assert sorted(hotspots) == ["efficientnet_lite0", "pixels"]
    for network, spots in hotspots.items():
        assert sum(h["count"] for h in spots) == 16 and len(spots) == 2
        for h in spots:
            assert data["ids"][h["item"]] == h["id"]
            assert h["label"].startswith(("a (", "b (")) and h["label"].endswith(f" of {h['count']})")
            x, y = data["layouts"][network][h["item"]] * data["index"]["grid"]
            assert abs(x - h["x"]) <= h["extent"] / 2 + 1 and abs(y - h["y"]) <= h["extent"] / 2 + 1
    build(config.updated(map_clusters=12))  # 16 images: 3 clusters at most, none of a single image
    for spots in map_data(config.out)["index"]["hotspots"].values():
        assert 2 <= len(spots) <= 3 and min(h["count"] for h in spots) >= 2
    build(config.updated(map_clusters=0))
    assert map_data(config.out)["index"]["hotspots"] == {}
    assert "hotspots" not in (config.out / "map.html").read_text()


# ---- the atlases ----


def cell_of(thumbnail: Path, side: int) -> np.ndarray:
    """What an atlas cell should hold: the thumbnail fitted into side x side, centred on white (as float)."""
    from PIL import Image

    with Image.open(thumbnail) as im:
        im = im.convert("RGB")
        im.thumbnail((side, side), Image.Resampling.LANCZOS)
        out = Image.new("RGB", (side, side), (255, 255, 255))
        out.paste(im, ((side - im.width) // 2, (side - im.height) // 2))
    return np.asarray(out, dtype=np.float64)


def test_each_items_cell_in_the_atlases_holds_its_thumbnail(tmp_path: Path, monkeypatch) -> None:
    from PIL import Image

    monkeypatch.setattr(atlas, "SIDE", 128)  # 4 x 4 cells an atlas: 19 images fill one and 3 cells of another
    write_collection(tmp_path / "images", {"a": 10, "b": 9})
    config = small_config(tmp_path, networks=("pixels", "efficientnet_lite0"))
    build(config)
    data = map_data(config.out)
    index, ids = data["index"], data["ids"]
    geometry = {"count": 2, "cell": 32, "perRow": 4, "perAtlas": 16, "coarseCell": 8, "mime": "image/webp"}
    assert index["atlas"] == geometry
    assert index["files"]["atlas"] == "atlases/{network}/{n}.webp"
    assert index["files"]["coarse"] == "data/map/coarse/{network}/{n}.js"
    expected = [cell_of(config.out / "compare" / f"{i}.webp", 32) for i in ids]
    for network in ("pixels", "efficientnet_lite0"):
        sheets = [Image.open(config.out / "atlases" / network / f"{n}.webp") for n in range(2)]
        assert [s.size for s in sheets] == [(128, 128), (128, 32)]  # the last one only as tall as its rows
        coarse = data["coarse"][network]
        assert [(s.size, s.format) for s in coarse] == [((32, 32), "WEBP"), ((32, 8), "WEBP")]
        assert all(s.format == "WEBP" for s in sheets)
        slots = data["slots"][network]
        # the cells follow the network's map: along the Hilbert curve through the items' places
        points = np.rint(data["layouts"][network] * index["grid"]).astype(np.int64)
        assert np.all(np.diff(atlas.hilbert_index(points)[np.argsort(slots)]) >= 0)
        for i in range(len(ids)):
            n, x, y = atlas.AtlasGrid(32, 128).place(int(slots[i]))
            assert (n, x, y) == (slots[i] // 16, (slots[i] % 16) % 4 * 32, (slots[i] % 16) // 4 * 32)
            got = np.asarray(sheets[n].convert("RGB").crop((x, y, x + 32, y + 32)), dtype=np.float64)
            errors = [np.abs(got - e).mean() for e in expected]
            # lossy WebP of sharp-edged drawings: 4 to 10 levels of 255 from its own thumbnail on average, and
            # nearer it than to any other image's (28 and more)
            assert errors[i] < 12 and errors[i] < sorted(errors)[1] / 2
            # its coarse cell: the same place of the coarse sheet, 8 x 8, near its thumbnail's 4 x 4 blocks' means
            # (12 to 25 levels off on average: WebP halves the colours' resolution, and a cell is 8 pixels) and
            # nearer them than any other image's (26 and more)
            small = np.asarray(coarse[n].convert("RGB").crop((x // 4, y // 4, x // 4 + 8, y // 4 + 8)), dtype=float)
            errors = [np.abs(small - e.reshape(8, 4, 8, 4, 3).mean(axis=(1, 3))).mean() for e in expected]
            assert errors[i] < 28 and errors[i] < 0.8 * sorted(errors)[1]
        assert min(sheets[1].convert("RGB").getpixel((112, 16))) >= 250  # beyond the last cell: white
    assert data["slots"]["pixels"].tolist() != data["slots"]["efficientnet_lite0"].tolist()  # two maps, two orders


def test_the_hilbert_curve_visits_each_grid_point_once_stepping_to_a_neighbour() -> None:
    """On grids of 2 x 2 (hand-checked: up, right, down), 4 x 4 and 256 x 256: a bijection onto 0 ... side^2 - 1
    whose consecutive points are one step apart."""
    assert atlas.hilbert_index(np.array([[0, 0], [0, 1], [1, 1], [1, 0]]), 1).tolist() == [0, 1, 2, 3]
    for bits in (2, 8):
        side = 1 << bits
        points = np.array([(x, y) for y in range(side) for x in range(side)])
        d = atlas.hilbert_index(points, bits)
        assert sorted(d.tolist()) == list(range(side * side))
        assert np.abs(np.diff(points[np.argsort(d)], axis=0)).sum(axis=1).max() == 1


def test_a_views_images_lie_in_few_atlases_in_map_order() -> None:
    """64,000 points spread as a map's (clusters of many sizes), atlases of 4,096 cells: the square views of
    the grid holding 1,000 to 4,000 points draw from 2 atlases on average in map order, never more than 5
    (measured on these 145 views: 1.9, 4 or 5 atlases in 3 views, where a stretch of the curve leaves and
    re-enters the view), where the collection's order spreads every view over all 16."""
    rng = np.random.default_rng(5)
    centres = rng.uniform(5000, 60000, (40, 2))
    spread = rng.normal(0, 1, (64000, 2)) * rng.uniform(300, 4000, (64000, 1))
    points = np.clip(centres[rng.integers(0, 40, 64000)] + spread, 0, GRID).astype(np.int64)
    slots = atlas.slots_of(atlas.map_order(points))
    counts, collection = [], []
    for side in (2048, 4096, 8192):
        for x0 in range(0, GRID, side // 2):
            for y0 in range(0, GRID, side // 2):
                inside = np.flatnonzero((points[:, 0] >= x0) & (points[:, 0] < x0 + side) & (points[:, 1] >= y0)
                                        & (points[:, 1] < y0 + side))  # fmt: skip
                if 1000 <= len(inside) <= 4000:
                    counts.append(len(set((slots[inside] // 4096).tolist())))
                    collection.append(len(set((inside // 4096).tolist())))
    assert len(counts) > 50
    assert np.mean(counts) <= 2.2 and max(counts) <= 5 and min(collection) == 16


def test_the_atlases_count_in_the_sites_size(tmp_path: Path) -> None:
    from builder.site.size import measure

    config = small_config(tmp_path)
    result = build(config)
    atlases = sum(p.stat().st_size for p in (config.out / "atlases").rglob("*.webp"))
    assert atlases > 0 and result.size is not None
    assert result.size.bytes == measure(config.out).bytes
    for p in (config.out / "atlases").rglob("*.webp"):
        p.unlink()
    assert result.size.bytes - measure(config.out).bytes == atlases


def test_switching_the_map_off_publishes_no_atlases(tmp_path: Path) -> None:
    config = small_config(tmp_path, map_enabled=False)
    build(config)
    assert not (config.out / "atlases").exists()


@pytest.fixture(scope="module")
def middle_site(tmp_path_factory) -> Path:
    """320 images (more than are drawn as thumbnails, few enough to be drawn as cells at once) in atlases of
    64 cells: five of them."""
    tmp = tmp_path_factory.mktemp("middle")
    write_collection(tmp / "www" / "images", {"": 320})
    config = make_config(collection=tmp / "www" / "images", networks=("pixels",), k=3, experiment_enabled=False,
                         out=tmp / "www" / "site", cache_dir=tmp / "cache")  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(atlas, "SIDE", 256)
        build(config)
    return config.out


@pytest.mark.parametrize("scheme", ["http", "file"])
def test_a_middle_zoom_draws_each_image_as_its_atlas_cell_after_the_points(middle_site: Path, browser, scheme) -> None:
    from .browser import served

    with served(middle_site.parent) as root:
        base = root + "site/" if scheme == "http" else middle_site.as_uri() + "/"
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        watched = Watched(page, base)
        open_map(page, base + "map.html")
        page.wait_for_function("() => VSIS_MAP_STATE.cells() === 320", timeout=20_000)
        assert page.evaluate("VSIS_MAP_STATE.thumbs()") == 0 and page.evaluate("window.VSIS_MAP_DRAWN") == 320
        assert sorted(page.evaluate("VSIS_MAP_STATE.atlases()")) == [0, 1, 2, 3, 4]
        first, asked = page.evaluate("[window.VSIS_MAP_FIRST_DRAW_MS, VSIS_MAP_STATE.atlasesAsked()]")
        assert sorted(asked) == [f"pixels/{n}" for n in range(5)]
        assert min(asked.values()) >= first  # the first paint never waits on them: asked for only after it
        if scheme == "http":  # the browser fetched each once, as an image
            fetched = page.evaluate(
                "() => performance.getEntriesByType('resource').filter(e => e.name.includes('/atlases/'))"
                ".map(e => [e.name.split('/atlases/')[1], e.initiatorType])"
            )
            assert sorted(fetched) == [[f"pixels/{n}.webp", "img"] for n in range(5)]
        # zoomed in on a few points: those are thumbnails; zoomed out again, cells
        x, y = map_data(middle_site)["layouts"]["pixels"][0]
        page.evaluate(f"location.hash = 'network=pixels&zoom=30&x={x}&y={y}'")
        page.wait_for_function("() => VSIS_MAP_STATE.thumbs() > 0 && VSIS_MAP_STATE.cells() === 0")
        page.evaluate("location.hash = 'network=pixels&zoom=1&x=0.5&y=0.5'")
        page.wait_for_function("() => VSIS_MAP_STATE.cells() === 320")
        page.close()
        assert watched.errors == [] and watched.outside == []


@pytest.mark.parametrize("renderer", ["canvas", "webgl"])
def test_zoomed_out_past_the_cells_each_image_is_its_coarse_cell(middle_site: Path, browser, renderer) -> None:
    """More points in view than are drawn as cells (here lowered to 100 of the 320), yet 8 pixels apart or
    more: each is its 8-pixel cell of the coarse sheets. The canvas stamps the cells into its own pixels:
    an isolated image's pixels there are its cell's."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script("window.VSIS_MAP_TUNING = {cellsAt: 100}")
    watched = Watched(page, middle_site.as_uri() + "/")
    open_map(page, middle_site.as_uri() + f"/map.html?renderer={renderer}")
    page.wait_for_function("() => VSIS_MAP_STATE.coarse() === 320", timeout=20_000)
    assert page.evaluate("VSIS_MAP_STATE.cells()") == 0 and page.evaluate("VSIS_MAP_STATE.atlases()") == []
    assert sorted(page.evaluate("VSIS_MAP_STATE.coarseSheets()")) == [0, 1, 2, 3, 4]
    if renderer == "canvas":
        data = map_data(middle_site)
        xy, slots = data["layouts"]["pixels"], data["slots"]["pixels"]
        v = view(page)
        width, height = int(v["width"]), int(v["height"])
        image = points_image(page, width, height)
        for i in isolated(xy, 3):
            left = math.floor((xy[i, 0] - v["x"]) * v["scale"] + width / 2 - 4)
            top = math.floor((xy[i, 1] - v["y"]) * v["scale"] + height / 2 - 4)
            n, j = divmod(int(slots[i]), 64)  # the middle site's sheets: 8 x 8 cells of 8 pixels
            sheet = data["coarse"]["pixels"][n]
            cell = np.asarray(sheet.convert("RGB"))[j // 8 * 8 : j // 8 * 8 + 8, j % 8 * 8 : j % 8 * 8 + 8]
            drawn = image[top : top + 8, left : left + 8, :3].astype(int)
            assert np.abs(drawn - cell.astype(int)).max() <= 2  # the browser's WebP decoder and Pillow's
    page.close()
    assert watched.errors == [] and watched.outside == []


def test_a_hotspot_moves_the_view_to_its_cluster_and_selects_its_representative(site, published) -> None:
    watched, base = site
    page = watched.page
    open_map(page, base + "map.html")
    spots = published["index"]["hotspots"]["efficientnet_lite0"]
    assert len(spots) == 12  # vsis.toml: the default, 12 a network
    buttons = page.eval_on_selector_all("#hotspots li", "els => els.map(e => [e.dataset.id, e.textContent])")
    assert buttons == [[h["id"], h["label"]] for h in spots]
    h = spots[3]
    page.click("#hotspots li:nth-child(4) button")
    page.wait_for_function(f"() => document.getElementById('panel').dataset.id === {h['id']!r}")
    shown(page, f"item={h['id']}")
    v, grid = view(page), published["index"]["grid"]
    assert (v["x"], v["y"]) == pytest.approx((h["x"] / grid, h["y"] / grid))
    assert v["zoom"] == pytest.approx(max(1, 0.8 / (0.95 * h["extent"] / grid)))
    assert page.evaluate("document.activeElement.id") == "panel-title"
    x, y = screen(v, published["layouts"]["efficientnet_lite0"][h["item"]])  # the representative is in view
    assert v["left"] <= x <= v["left"] + v["width"] and v["top"] <= y <= v["top"] + v["height"]
    # the address holds the view: opened again, it shows the same
    address = page.url
    open_map(page, base + "map.html")
    open_map(page, address)
    again = view(page)
    assert (again["x"], again["y"], again["zoom"]) == pytest.approx((v["x"], v["y"], v["zoom"]), abs=1e-3)
    # the item's panel follows once its shard has loaded (on a busy machine, after the view is drawn)
    page.wait_for_function(f"() => document.getElementById('panel').dataset.id === {h['id']!r}")
    # the other network has its own hotspots; a keyboard reaches them
    page.select_option("#network", "pixels")
    shown(page, "network=pixels")
    other = published["index"]["hotspots"]["pixels"][0]
    assert page.get_attribute("#hotspots li:first-child", "data-id") == other["id"]
    page.focus("#hotspots li:first-child button")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.getElementById('panel').dataset.id === {other['id']!r}")
