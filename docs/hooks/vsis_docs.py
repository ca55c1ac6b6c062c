"""MkDocs hook: the parts of the documentation that are generated, never copied by hand.

Markers in a page's Markdown are replaced before it is rendered:

- `<!-- bench: KIND option=value ... -->`: a table built from `bench/results/*.json` (what the scripts in
  bench/ write), followed by the machines those figures were measured on, as the JSON records them. KIND is
  one of BENCH_TABLES' names; `file=a.json,b.json` names the results files (each kind has a default),
  `record=TEXT` keeps the records whose label contains TEXT, `network=NAME` the rows of that network.
- `<!-- reference: configuration -->`: `builder.config.reference_markdown()`, the settings' reference
  generated from the settings schema.
- `<!-- reference: cli -->`: every command of the Typer app (`builder.cli.app`), with its arguments and
  options, read from the click command Typer makes of it.

An unknown marker, kind or option, or a results file that is missing, fails the build.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results"
MARKER = re.compile(r"<!--\s*(bench|reference):\s*([^>]*?)\s*-->")

Record = dict[str, Any]
Row = dict[str, Any]


class DocsError(Exception):
    """A marker that cannot be rendered: the build stops (MkDocs reports it as a plugin error)."""


# ---------------------------------------------------------------------------------------------- numbers


def num(x: float | None, digits: int = 1) -> str:
    """A figure with thousands separators: 1,097.5."""
    return "–" if x is None else f"{x:,.{digits}f}"


def seconds(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.2f} s" if x < 1 else f"{x:,.1f} s"


def ms(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f} ms"


def mb(n: float | None) -> str:
    """Bytes as megabytes (10^6, as GitHub Pages counts them)."""
    if n is None:
        return "–"
    value = n / 1e6
    return f"{value:,.2f} MB" if value < 10 else f"{value:,.1f} MB"


def share(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.1f}%"


def sci(x: float | None) -> str:
    return "–" if x is None else f"{x:.1e}"


def interval(f: dict[str, float] | None) -> str:
    """A mean with its 95% interval, as bench/quality.py prints it."""
    return "–" if not f else f"{f['mean']:.3f} [{f['low']:.3f}, {f['high']:.3f}]"


def cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: Iterable[list[object]], right: Iterable[int] = ()) -> str:
    """A Markdown table; the columns numbered in `right` are aligned right (figures)."""
    aligned = set(right)
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("| " + " | ".join("---:" if i in aligned else "---" for i in range(len(header))) + " |")
    for row in rows:
        if len(row) != len(header):
            raise DocsError(f"a row of {len(row)} cells under {len(header)} columns")
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- the records


def load(name: str) -> dict[str, Any]:
    path = RESULTS / name
    if not path.is_file():
        raise DocsError(f"bench/results/{name} does not exist")
    return json.loads(path.read_text(encoding="utf-8"))


def records(files: list[str], record: str | None = None) -> list[tuple[str, str, Record]]:
    """(file, label, record) of every record with rows in the files, in the files' order; `record` keeps the
    labels that contain it."""
    found = []
    for name in files:
        for label, value in load(name).items():
            if isinstance(value, dict) and "rows" in value and (record is None or record in label):
                found.append((name, label, value))
    if not found:
        raise DocsError(f"no record{' matching ' + repr(record) if record else ''} in {', '.join(files)}")
    return found


def cpu_of(rec: Record) -> str:
    cpu = rec.get("cpu") or next((r["cpu"] for r in rec.get("rows", []) if r.get("cpu")), None)
    return cpu or "CPU features not recorded"


def machines(found: list[tuple[str, str, Record]]) -> str:
    """Where each record was measured, as its JSON says: the lines under a table."""
    lines = []
    for name, _label, rec in found:
        parts = [rec.get("machine", "machine not recorded"), cpu_of(rec)]
        if rec.get("cpu_flags"):
            parts.append("flags " + " ".join(rec["cpu_flags"]))
        if rec.get("python"):
            parts.append(f"Python {rec['python']}")
        lines.append(f"- `{name}`, {rec.get('collection', _label)}: {'; '.join(parts)}")
        if rec.get("note"):
            lines.append(f"  ({rec['note']})")
    return "Measured on:\n\n" + "\n".join(lines)


def short_cpu(rec: Record) -> str:
    """The CPU as a table cell: which of the vector extensions the machine had."""
    cpu = cpu_of(rec)
    if "AMX yes" in cpu:
        return "AVX-512 and AMX"
    if "AVX-512 yes" in cpu:
        return "AVX-512"
    if "AVX2 yes" in cpu:
        return "AVX2 only"
    return "not recorded"


# ---------------------------------------------------------------------------------------------- tables


def quality_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    """bench/quality.py's table (its --table), one row per network and retrieval setting."""
    rows = []
    for _name, _label, rec in found:
        for r in rec["rows"]:
            if network and r["network"] != network:
                continue
            setting = r["setting"] + (f" (same features as {r['same_features_as']})" if r["same_features_as"] else "")
            rows.append(
                [rec["collection"], r["network"], setting, interval(r["p@1"]), interval(r["p@10"]),
                 interval(r["map@10"]), f"{r['chance_p']:.3f} / {r['chance_map@10']:.3f}",
                 interval(r["near_dup_recall@5"]), "cached" if r["ms_per_image"] is None else num(r["ms_per_image"])]
            )  # fmt: skip
    header = ["collection", "network", "setting", "P@1", "P@10", "mAP@10", "chance P / mAP@10",
              "near-dup recall@5", "ms / image"]  # fmt: skip
    samples = []
    for name, _label, rec in found:
        s = rec["sample"]
        samples.append(
            f"`{name}`: {s['images']:,} images in {len(s['labels'])} labels ({s['scanned']:,} files, "
            f"{s['distinct']:,} distinct, {s['multi_labelled']} under more than one label; seed {s['seed']})."
        )
    return table(header, rows, right=[8]) + "\n\n" + "\n".join(samples)


MODES = [("torch", "fp32"), ("onnx", "fp32"), ("torch", "bf16"), ("onnx", "int8")]
MODE_NAMES = {"torch": "torch", "onnx": "ONNX"}


def _modes(rows: list[Row]) -> list[tuple[str, str]]:
    present = {(r["backend"], r["precision"]) for r in rows}
    return [m for m in MODES if m in present]


def _network_label(r: Row) -> str:
    return r["network"] + (" (random weights)" if str(r.get("weights", "")).startswith("random") else "")


def extract_speed_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    """Inference speed per network (rows) and backend x precision (columns), with the speed-up against eager
    PyTorch fp32 in the same run; the int8 check's verdict where the run recorded it."""
    out = []
    for _name, _label, rec in found:
        rows = [r for r in rec["rows"] if not network or r["network"] == network]
        modes = _modes(rows)
        checks = any("int8_check" in r for r in rows)
        header = [f"network ({rec['collection']}, {rows[0]['images']:,} images)"]
        header += [f"{MODE_NAMES[b]} {p}" for b, p in modes] + (["int8 check"] if checks else [])
        body = []
        for net in dict.fromkeys(r["network"] for r in rows):
            by_mode = {(r["backend"], r["precision"]): r for r in rows if r["network"] == net}
            first = next(iter(by_mode.values()))
            line: list[object] = [_network_label(first)]
            for mode in modes:
                r = by_mode.get(mode)
                if r is None:
                    line.append("not run")
                elif r["speedup"] == 1.0:
                    line.append(f"{num(r['images_per_s'])} img/s")
                else:
                    line.append(f"{num(r['images_per_s'])} img/s ({r['speedup']:.2f}x)")
            if checks:
                check = by_mode.get(("onnx", "int8"), {}).get("int8_check")
                line.append("–" if check is None else check)
            body.append(line)
        out.append(table(header, body, right=range(1, 1 + len(modes))))
    return "\n\n".join(out)


def extract_fidelity_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    """How far each mode moves the features from eager PyTorch fp32's: recall@10 of the fp32 neighbours
    (the mean cosine distance between an image's two features)."""
    out = []
    for _name, _label, rec in found:
        rows = [r for r in rec["rows"] if not network or r["network"] == network]
        modes = [m for m in _modes(rows) if m != ("torch", "fp32")]
        header = [f"network ({rec['collection']}, {rows[0]['images']:,} images)"]
        header += [f"{MODE_NAMES[b]} {p}" for b, p in modes]
        body = []
        for net in dict.fromkeys(r["network"] for r in rows):
            by_mode = {(r["backend"], r["precision"]): r for r in rows if r["network"] == net}
            line: list[object] = [_network_label(next(iter(by_mode.values())))]
            for mode in modes:
                r = by_mode.get(mode)
                line.append(
                    "not run" if r is None else f"{r['recall_at_10']:.3f} ({sci(abs(r['mean_cosine_distance']))})"
                )
            body.append(line)
        out.append(table(header, body, right=range(1, 1 + len(modes))))
    return "\n\n".join(out)


def builds_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    """bench/build_time.py's whole builds as commands: cold, peak memory, no-change rebuild, images added."""
    body = []
    for _name, _label, rec in found:
        for r in rec["rows"]:
            if network and r["network"] != network:
                continue
            added = "–" if not r.get("added") else f"{r['added_extracted']:,} of {r['added']:,} extracted"
            body.append(
                [f"{rec['collection']} ({r['items']:,} usable)", _network_label(r), r["precision"],
                 seconds(r["cold_build_command_s"]), f"{r['peak_rss_mb_cold_build']:,} MB",
                 f"{seconds(r['rebuild_s'])} ({share(r['rebuild_share'])}) / "
                 f"{seconds(r['rebuild_command_s'])} ({share(r['rebuild_command_share'])})",
                 added]
            )  # fmt: skip
    header = ["collection", "network", "precision", "cold build", "peak memory",
              "no-change rebuild (in-process / as a command)", "images added"]  # fmt: skip
    return table(header, body, right=[3, 4, 5])


def build_time_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    """The earliest build times (eager PyTorch, before the ONNX default): bench/results/build_time.json."""
    body = []
    for _name, _label, rec in found:
        for r in rec["rows"]:
            if network and r["network"] != network:
                continue
            body.append(
                [rec["collection"], _network_label(r), f"{r['items']:,}", seconds(r["cold_build_s"]),
                 f"{num(r['extract_images_per_s'])} img/s", seconds(r["rebuild_s"]),
                 f"{r['annoy_recall_at_10']:.3f}"]
            )  # fmt: skip
    header = ["collection", "network", "images", "cold build", "extraction", "rebuild", "Annoy recall@10"]
    return table(header, body, right=[2, 3, 4, 5, 6])


def draft_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    body = []
    for _name, _label, rec in found:
        for r in rec["rows"]:
            body.append(
                [rec["collection"], r["network"], f"{r['decoded_smaller']:,} of {r['images']:,}",
                 f"{num(r['full_ms_per_image'])} ms", f"{num(r['draft_ms_per_image'])} ms",
                 f"{r['decode_speedup']:.2f}x", f"{r['recall_at_10']:.3f}", sci(r["mean_cosine_distance"])]
            )  # fmt: skip
    header = ["collection", "network", "decoded at reduced scale", "full decode", "draft decode", "speed-up",
              "recall@10 against full decoding", "mean cosine distance"]  # fmt: skip
    return table(header, body, right=[3, 4, 5, 6, 7])


def explorer_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    body = []
    for _name, _label, rec in found:
        for r in rec["rows"]:
            body.append(
                [rec["collection"], f"{r['items']:,}", r["networks"], f"{ms(r['ready_ms_median'])} ({r['runs']} loads)",
                 mb(r["data_bytes_before_ready"]), mb(r["all_bytes_before_ready"]), r["requests_before_ready"]]
            )  # fmt: skip
    header = ["collection", "items", "networks", "interactive after (median)", "data loaded before",
              "all loaded before", "requests"]  # fmt: skip
    return table(header, body, right=[1, 2, 3, 4, 5, 6])


def experiment_table(files: list[str]) -> tuple[str, list[tuple[str, str, Record]]]:
    """bench/experiment.py's recovery table: precision, recall and F1 at each k, mean ± std over originals."""
    body = []
    notes = []
    for name in files:
        d = load(name)
        m = d["metrics"]
        for r in m["recovery"]:
            body.append(
                [r["network"], r["k"], f"{r['precision_mean']:.3f} ± {r['precision_std']:.3f}",
                 f"{r['recall_mean']:.3f} ± {r['recall_std']:.3f}", f"{r['f1_mean']:.3f} ± {r['f1_std']:.3f}"]
            )  # fmt: skip
        categories = ", ".join(f"{c['network']} {c['value']:.3f}" for c in m["category_precision"] if c["k"] == 1)
        notes.append(
            f"`{name}`: {m['originals']:,} originals, {m['indexed']:,} images indexed per network, "
            f"profiles {', '.join(p['name'] for p in m['profiles'])}; the build took {num(d['build_seconds'])} s; "
            f"category precision@1: {categories}."
        )
    header = ["network", "k", "precision", "recall", "F1"]
    text = table(header, body, right=[1, 2, 3, 4]) + "\n\n" + "\n".join(notes)
    found = [(name, "experiment", {**load(name), "collection": "OpenClipart originals"}) for name in files]
    return text, found


_CELLS = re.compile(r"(\d+) of ([\d,]+) cells")
_INTERVAL = re.compile(r"95% interval (\S+) on")


def _neighbours_note(networks: list[dict[str, Any]]) -> tuple[str, str]:
    searched, recalls = [], []
    for n in networks:
        note = n.get("note", "")
        cells = _CELLS.search(note)
        bounds = _INTERVAL.search(note)
        prefix = f"{n['name']}: " if len(networks) > 1 else ""
        searched.append(prefix + (f"cells: {cells.group(1)} of {cells.group(2)}" if cells else "exact"))
        recalls.append(prefix + f"{n['recall']:.3f}" + (f" ({bounds.group(1)})" if bounds else ""))
    return "; ".join(searched), "; ".join(recalls)


def scale_tables(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    """bench/scale.py: each stage of a cold build, the no-change rebuild and an addition; then the site."""
    stages: list[str] = []
    for _name, _label, rec in found:
        for r in rec["rows"]:
            for stage in r["cold"]["stages_s"]:
                if stage not in stages:
                    stages.append(stage)
    time_rows, site_rows = [], []
    for _name, _label, rec in found:
        for r in rec["rows"]:
            cold = r["cold"]
            label = f"{r['images']:,}"
            run = f"{', '.join(r['networks'])}{', experiment' if r.get('experiment') else ''}; {short_cpu(rec)}"
            line: list[object] = [label, run, seconds(cold["command_s"])]
            for stage in stages:
                value = cold["stages_s"].get(stage)
                cell_text = seconds(value)
                if stage == "indexing" and value is not None:
                    cell_text += f" ({share(r['indexing_share'])})"
                line.append(cell_text)
            added = r.get("added")
            extracted = ", ".join(f"{n['extracted']:,}" for n in added["networks"]) + " extracted" if added else ""
            line += [
                seconds(cold["other_s"]),
                f"{cold['peak_mb']:,.0f} MB",
                f"{seconds(r['rebuild_command_s'])} ({share(r['rebuild_share'])})",
                f"{seconds(added['command_s'])}, {added['images']:,} added, {extracted}" if added else "–",
            ]
            time_rows.append(line)
            searched, recalls = _neighbours_note(cold["networks"])
            explorer = r["explorer"]
            site_rows.append(
                [label, run, searched, recalls, mb(r["site_bytes"]), f"{r['bytes_per_image']:,} B",
                 f"{r['site_files']:,}", f"{r['largest_file'].rsplit('/', 1)[-1]} {mb(r['largest_file_bytes'])}",
                 f"{ms(explorer['ready_ms_median'])}, {mb(explorer['bytes_before_ready'])}"]
            )  # fmt: skip
    times = table(
        ["images", "run", "cold build", *stages, "other", "peak memory", "no-change rebuild", "adding images"],
        time_rows,
        right=range(2, 6 + len(stages)),
    )
    site = table(
        ["images", "run", "neighbours (cells searched per image)", "recall@10 (95% interval)", "site",
         "per image", "files", "largest file", "explorer's first view"],
        site_rows,
        right=[4, 5, 6],
    )  # fmt: skip
    return times + "\n\n" + site


def _per_network(values: dict[str, float] | None) -> str:
    if not values:
        return "–"
    return "; ".join(f"{net} {seconds(v)}" for net, v in values.items())


def map_points_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    """bench/map.py: the layouts' time, and map.html in headless Chromium until every point is drawn."""
    body = []
    for _name, _label, rec in found:
        for r in rec["rows"]:
            body.append(
                [rec["collection"], short_cpu(rec), f"{r['items']:,}", _per_network(r.get("layout_seconds")),
                 ms(r["first_draw_ms_median"]),
                 f"{mb(r['bytes_before_first_draw'])}, {r['requests_before_first_draw']} requests",
                 num(r["pan_zoom_fps_median"])]
            )  # fmt: skip
    header = ["run", "CPU", "items", "layout a network", "every point drawn after", "loaded before it",
              "frames/s dragging and zooming"]  # fmt: skip
    return table(header, body, right=[2, 4, 5, 6])


def map_atlases_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    """bench/map.py: the atlases, the middle zoom (at most 4,000 points in view, each drawn as its atlas
    cell) and the clusters' k-means on the layout and on the features."""
    body = []
    for _name, _label, rec in found:
        for r in rec["rows"]:
            zoom = r.get("middle_zoom")
            if not zoom or not r.get("atlases"):
                continue
            kmeans = "; ".join(
                f"{net} {c['layout_seconds']:.2f} / {c['features_seconds']:.2f} s" for net, c in r["clusters"].items()
            )
            body.append(
                [rec["collection"], short_cpu(rec), f"{r['items']:,}",
                 f"{r['atlases']} in {seconds(r['atlas_seconds'])}", mb(r["atlas_bytes"]), f"{zoom['in_view']:,}",
                 ms(zoom["all_cells_ms"]), f"{mb(zoom['atlas_bytes'])}, {zoom['atlases_loaded']} atlases",
                 f"{num(zoom['pan_fps'])} ({zoom['cells_per_frame']:,})", kmeans]
            )  # fmt: skip
    header = ["run", "CPU", "items", "atlases made", "atlas bytes", "middle zoom: in view", "each a cell after",
              "atlas bytes loaded", "frames/s dragging (cells a frame)", "k-means, layout / features"]  # fmt: skip
    return table(header, body, right=[2, 3, 4, 5, 6, 7, 8])


def map_renderers_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    """bench/map.py: the renderer the page chose (and why), against WebGL forced, dragging the whole map."""
    body = []
    for _name, _label, rec in found:
        for r in rec["rows"]:
            if not r.get("renderer"):
                continue
            for run, chosen in ((r, True), (r.get("webgl_forced"), False)):
                if not run:
                    continue
                renderer = run["renderer"]
                how = f"{renderer['name']} ({'chosen: ' if chosen else 'forced: '}{renderer['why']})"
                body.append(
                    [rec["collection"], f"{r['items']:,}", how, ms(run["first_draw_ms_median"]),
                     f"{mb(run['bytes_before_first_draw'])}, {run['requests_before_first_draw']} requests",
                     num(run.get("drag_whole_map_fps")), num(run["pan_zoom_fps_median"]),
                     f"{mb(run.get('tab_rss_bytes'))} resident, {mb(run.get('js_heap_bytes'))} JS heap"]
                )  # fmt: skip
    header = ["run", "items", "renderer", "every point drawn after", "loaded before it",
              "frames/s dragging the whole map", "dragging and zooming", "the tab's memory"]  # fmt: skip
    return table(header, body, right=[1, 3, 4, 5, 6])


def layout_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    """bench/layout.py: neighbourhood preservation and trustworthiness at 10, against umap-learn and openTSNE."""
    body = []
    for _name, _label, rec in found:
        for r in sorted(rec["rows"], key=lambda r: r["items"]):
            loaded = f" ({seconds(r['layout_s_loaded'])} beside the test suite)" if r.get("layout_s_loaded") else ""
            body.append(
                [rec["collection"], f"{r['items']:,}", r["features"], r["method"], f"{r['preservation']:.3f}",
                 f"{r['trustworthiness']:.4f}", seconds(r["layout_s"]) + loaded]
            )  # fmt: skip
    header = ["run", "items", "features", "layout", "preservation@10", "trustworthiness@10", "time"]
    return table(header, body, right=[1, 4, 5, 6])


def query_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    """bench/query.py: query.html's first and later searches in headless Chromium."""
    body = []
    for _name, _label, rec in found:
        for r in rec["rows"]:
            if network and r["network"] != network:
                continue
            first, second = r["first"], r["second"]
            loaded = first["bytes"]
            parts = ", ".join(
                f"{k} {v / 1e6:.1f}" for k, v in loaded.items() if v and k in ("runtime", "model", "vectors")
            )
            first_text = ms(first["ms"]) + (f" (file:// {ms(r['file_first_ms'])})" if r.get("file_first_ms") else "")
            vectors = "real build" if r["vectors"] == "real build" else "generated"
            body.append(
                [f"{r['items']:,}", r["network"], vectors, r["dims"], first_text, ms(first["feature_and_vectors_ms"]),
                 ms(first["rank_ms"]), ms(second["ms"]), f"{mb(sum(loaded.values()))}: {parts}"]
            )  # fmt: skip
    header = ["images", "network", "vectors", "axes", "first search", "of which feature and vectors", "rank",
              "later searches", "loaded by the first search"]  # fmt: skip
    return table(header, body, right=[0, 3, 4, 5, 6, 7])


def engine_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    """bench/engine.py: the same cold build with local extraction and with Ray."""
    body = []
    for _name, _label, rec in found:
        for r in rec["rows"]:
            extracted = ", ".join(f"{n} {c:,}" for n, c in r["extracted"].items())
            body.append(
                [r["engine"], f"{seconds(r['build_s'])} ({seconds(r['command_s'])} as a command)",
                 f"{r['overhead_vs_local']:.2f}x", f"{r['peak_mb']:,.0f} MB", extracted,
                 "–" if r["engine"] == "local" else f"largest difference {r['largest_feature_difference']}"]
            )  # fmt: skip
    header = ["engine", "build", "against local", "driver's peak memory", "extracted per network",
              "features against local"]  # fmt: skip
    return table(header, body, right=[1, 2, 3])


def extract_modes_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    """bench/extract.py run with the modes a build may choose between and auto's choice: per network and mode,
    what ran, its speed against the first mode, its roofline share and its fidelity to the first mode."""
    body = []
    for _name, _label, rec in found:
        for r in rec["rows"]:
            if network and r["network"] != network:
                continue
            mode = r.get("mode", f"{r['backend']}:{r['precision']}")
            ran = f"{r['precision']} on {r['backend']}"
            if r.get("int8_check", "passed") not in ("passed", ""):
                ran += " (failed its check: a build runs fp32)"
            body.append(
                [_network_label(r), "auto: " + ran if mode.endswith(":auto") else ran,
                 f"{num(r['images_per_s'])} img/s ({r['speedup']:.2f}x)",
                 f"{r['roofline_share']:.0%} of {num(r['peak_gflop_per_s'], 0)} G/s",
                 f"{r['recall_at_10']:.3f} ({sci(abs(r['mean_cosine_distance']))})"]
            )  # fmt: skip
    header = ["network", "mode", "speed", "roofline share", "recall@10 (mean cosine distance)"]
    return table(header, body, right=[2, 3, 4])


def extract_contended_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    """bench/extract.py --contended: per network and mode, its speed quiet and with one core kept busy by
    another process, and the share of the quiet speed it kept."""
    body = []
    for _name, _label, rec in found:
        for r in rec["rows"]:
            if "contended_share" not in r or (network and r["network"] != network):
                continue
            threads = "its own threading (spinning)" if "spinning" in r["threads"] else "streams (yielding)"
            body.append(
                [_network_label(r), f"{r['precision']} on {r['backend']}, {threads}", num(r["images_per_s"]),
                 num(r["contended_images_per_s"]), f"{r['contended_share']:.0%}", f"{r['recall_at_10']:.3f}"]
            )  # fmt: skip
    header = ["network", "mode", "quiet, images/s", "one core busy", "share kept", "recall@10 of the first mode's"]
    return table(header, body, right=[2, 3, 4, 5])


def study_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    """bench/study.py: the study's three networks built on the bundled sample per precision, and the study's
    10,000 images per network projected from those builds' extraction speeds."""
    body = []
    for _name, _label, rec in found:
        for r in rec["rows"]:
            speeds = "; ".join(f"{n} {v['ran_in']} {num(v['images_per_s'])} img/s" for n, v in r["networks"].items())
            body.append([short_cpu(rec), r["precision"], seconds(r["sample_build_s"]), f"{r['peak_rss_mb']:,} MB",
                         speeds, f"{r['study_extraction_projected_h']:.2f} h"])  # fmt: skip
    header = ["CPU", "--precision", "sample build (3 networks)", "peak memory", "extraction in that build",
              "study projected (10,000 images x 3)"]  # fmt: skip
    return table(header, body, right=[2, 3, 5])


STUDY_NETWORKS = ("vgg16", "resnet152", "densenet201")
STUDY_IMAGES = 10_000  # per network: 5,000 collection images and 1,000 originals x 5 copies (bench/study.py)


def _study_hours(rows: dict[str, Row], nets: list[str]) -> str:
    return f"{sum(STUDY_IMAGES / rows[n]['images_per_s'] for n in nets) / 3600:.2f} h"


def _study_speeds(rows: dict[str, Row], nets: list[str]) -> str:
    shown = [f"{n} {num(rows[n]['images_per_s'])} ({rows[n]['precision']} on {rows[n]['backend']})" for n in nets]
    return ", ".join(shown)


def study_projection_table(found: list[tuple[str, str, Record]], network: str | None = None) -> str:
    """The study's extraction projected from bench/extract.py's inference speeds per CPU: 10,000 images per
    network through the study's networks, in the default mode (ONNX Runtime fp32) and in auto's choice."""
    body = []
    for _name, _label, rec in found:
        default = {r["network"]: r for r in rec["rows"] if r.get("mode") == "onnx:fp32"}
        chosen = {r["network"]: r for r in rec["rows"] if r.get("mode") == "auto:auto"}
        nets = [n for n in STUDY_NETWORKS if n in default and n in chosen]
        if nets:
            body.append([short_cpu(rec), _study_speeds(default, nets), _study_speeds(chosen, nets),
                         _study_hours(default, nets), _study_hours(chosen, nets)])  # fmt: skip
    header = ["CPU", "default, images/s", "auto's choice, images/s", "study's extraction, default", "with auto"]
    return table(header, body, right=[3, 4])


Renderer = Callable[..., str]

# the rows some tables are made of (the others take every row): the machines listed are those records'
ROWS_SHOWN: dict[str, Callable[[Row], bool]] = {
    "map-atlases": lambda r: bool(r.get("middle_zoom") and r.get("atlases")),
    "map-renderers": lambda r: bool(r.get("renderer")),
}

# kind -> (renderer, default results files)
BENCH_TABLES: dict[str, tuple[Renderer, list[str]]] = {
    "quality": (quality_table, ["quality.json"]),
    "extract-speed": (extract_speed_table, ["extract.json"]),
    "extract-fidelity": (extract_fidelity_table, ["extract.json"]),
    "builds": (builds_table, ["rebuild.json", "vgg16_build.json", "sample_build.json"]),
    "build-time": (build_time_table, ["build_time.json"]),
    "draft": (draft_table, ["draft.json"]),
    "explorer": (explorer_table, ["explorer.json"]),
    "scale": (scale_tables, ["scale.json"]),
    "map-points": (map_points_table, ["map.json"]),
    "map-atlases": (map_atlases_table, ["map.json"]),
    "map-renderers": (map_renderers_table, ["map.json"]),
    "layout": (layout_table, ["layout.json"]),
    "query": (query_table, ["query.json"]),
    "engine": (engine_table, ["engine.json"]),
    "extract-modes": (extract_modes_table, ["extract_auto.json"]),
    "extract-contended": (extract_contended_table, ["extract_threads.json"]),
    "study": (study_table, ["study.json"]),
    "study-projection": (study_projection_table, ["extract_auto.json"]),
}
OPTIONS = {"file", "record", "network"}


def parse_options(text: str) -> tuple[str, dict[str, str]]:
    """'quality file=a.json network=pixels' -> ('quality', {...}); a value may be quoted: record="t-SNE a = 2"."""
    words = re.findall(r'(\w[\w-]*)=(?:"([^"]*)"|(\S+))|(\S+)', text)
    kind, options = "", {}
    for key, quoted, plain, bare in words:
        if bare:
            if kind:
                raise DocsError(f"unexpected {bare!r} in marker {text!r}")
            kind = bare
        else:
            if key not in OPTIONS:
                raise DocsError(f"unknown option {key!r} in marker {text!r} (known: {', '.join(sorted(OPTIONS))})")
            options[key] = quoted or plain
    return kind, options


def first_view_table(name: str) -> str:
    """Each page's first view, before and after (bench/first_view.py): requests and bytes over http and file://,
    and the machine and browser it was measured with."""
    data = load(name)
    labels = list(data["results"])
    pages = list(next(iter(next(iter(data["results"].values())).values())))
    body = []
    for page in pages:
        for scheme in data["results"][labels[0]]:
            row: list[object] = [page, scheme]
            for label in labels:
                got = data["results"][label][scheme][page]
                row += [got["requests_median"], f"{got['bytes_median']:,}"]
            body.append(row)
    header = ["page", "scheme", *(f"{label} {what}" for label in labels for what in ("requests", "bytes"))]
    cpu = data.get("cpu", {})
    flags = [f for f in cpu.get("flags", []) if f.startswith(("avx", "amx", "fma"))]
    where = (
        f"Measured on: `{name}`: {data.get('machine', 'machine not recorded')}, {cpu.get('model', 'CPU not recorded')} "
        f"(flags {' '.join(flags) or 'not recorded'}); {data.get('chromium', 'browser not recorded')}, "
        f"{data.get('runs', '?')} fresh loads a page (medians)"
    )
    return table(header, body, right=range(2, len(header))) + "\n\n" + where


FILTER_STEPS = (
    ("first_value", "a first value (Department 0, about a third of the items)"),
    ("second_facet", "a second facet (Nation 1)"),
    ("third_facet", "a third facet (Classification 2)"),
    ("year_range", "a year range, first set"),
)


def facets_table(name: str) -> str:
    """The explorer's filters at scale (bench/facets.py): the first view against the checkout before the facets,
    and each step of a filter: applied (the number of images and every count shown) and drawn (the page of
    results with its neighbours)."""
    data = load(name)
    now, before = data["facets"], data.get("before")
    rows: list[list[object]] = []
    if before:
        was, got = before["first_view"], now["first_view"]
        growth = f"{100 * data['first_view_growth']:+.1f}%"
        rows.append(["first view: bytes (requests)", f"{was['bytes']:,.0f} ({was['requests']:.0f})",
                     f"{got['bytes']:,.0f} ({got['requests']:.0f}), {growth}"])  # fmt: skip
    filters = now["filters"]
    rows.append(["filter panel opened (summary loaded and drawn)", "", f"{filters['panel_open_ms']:.0f} ms"])
    for key, label in FILTER_STEPS:
        rows.append(
            [label, "", f"applied {filters[key + '_applied_ms']:.0f} ms, drawn {filters[key + '_drawn_ms']:.0f} ms"]
        )
    rows.append(["JS heap after filtering", "", f"{filters['heap_mb']:.1f} MB"])
    facet_bytes = now["data_bytes"].get("facets", 0)
    where = (
        f"Measured on: `{name}`: {data['items']:,} generated items, five facets ({facet_bytes / 1e6:.2f} MB of facet "
        f"files, none loaded by the first view); {data.get('machine', 'machine not recorded')}, CPU flags "
        f"{data.get('cpu_flags', 'not recorded')}; {data.get('chromium', 'headless Chromium')}; medians of "
        f"{data.get('runs', '?')} fresh pages over http on 127.0.0.1"
    )
    return table(["", "before the facets", "with five facets"], rows) + "\n\n" + where


MAP_FACET_STEPS = (
    ("colour_first_ms", "coloured by a facet for the first time (its members file loaded and decoded)"),
    ("colour_second_facet_ms", "by a second facet, first time"),
    ("colour_again_ms", "by a facet used before (its values kept): the recolouring alone"),
    ("colour_category_ms", "back to the category"),
    ("filter_first_ms", "a legend entry chosen: the first filter (every facet's file loaded, for the counts)"),
    ("filter_second_ms", "a second entry"),
    ("time_layout_ms", "the time layout chosen (its points loaded, then 0.6 s of motion)"),
)


def facets_map_table(name: str) -> str:
    """The map by facets at scale (bench/facets_map.py): each step's median and range over the fresh pages."""
    data = load(name)
    timings = data["timings"]
    rows: list[list[object]] = []
    for key, label in MAP_FACET_STEPS:
        runs = [float(r[key]) for r in timings["all"]]
        rows.append([label, f"{timings[key]:.0f}", f"{min(runs):.0f} to {max(runs):.0f}"])
    sizes = data["map_data_bytes"]
    where = (
        f"Measured on: `{name}`: {data['items']:,} generated items, five facets (the time layout's points "
        f"{sizes['time']:,} bytes); {data.get('machine', 'machine not recorded')}, CPU flags "
        f"{data.get('cpu_flags', 'not recorded')}; headless Chromium, the {timings['renderer']} renderer; medians "
        f"of {data.get('runs', '?')} fresh pages over http on 127.0.0.1, from the action until the view is drawn"
    )
    return table(["step", "ms (median)", "range"], rows, right=(1, 2)) + "\n\n" + where


def bench_markdown(kind: str, file: str | None = None, record: str | None = None, network: str | None = None) -> str:
    """The table of KIND from its results files, and beneath it the machines they were measured on."""
    if kind == "first-view":
        return first_view_table(file or "first_view.json")
    if kind == "facets":
        return facets_table(file or "facets.json")
    if kind == "facets-map":
        return facets_map_table(file or "facets_map.json")
    if kind == "experiment":
        text, found = experiment_table(file.split(",") if file else ["experiment.json"])
        return text + "\n\n" + machines(found)
    if kind not in BENCH_TABLES:
        raise DocsError(
            f"unknown benchmark table {kind!r} "
            f"(known: {', '.join([*BENCH_TABLES, 'experiment', 'first-view', 'facets', 'facets-map'])})"
        )
    renderer, defaults = BENCH_TABLES[kind]
    found = records(file.split(",") if file else defaults, record)
    if kind in ROWS_SHOWN:
        found = [f for f in found if any(ROWS_SHOWN[kind](r) for r in f[2]["rows"])]
    return renderer(found, network=network) + "\n\n" + machines(found)


# ------------------------------------------------------------------------------------------ references


def configuration_markdown() -> str:
    from builder.config import reference_markdown

    return reference_markdown()


_DEFAULT_IN_HELP = re.compile(r"\s*\[default: ([^\]]*)\]\.?")


def _type_name(param: Any, ctx: Any) -> str:
    if getattr(param, "secondary_opts", None) or getattr(param, "is_flag", False):
        return "flag"
    kind = getattr(param, "type", None)  # click's parameters
    if kind is not None:
        return str(getattr(kind, "name", kind)).lower()
    display = getattr(param, "display_type", None)  # Typer's own click parameters
    if display is not None:
        return str(display(ctx)).strip("<>").lower()
    return ""


def _default(param: Any, help_text: str) -> tuple[str, str]:
    """(default, help without it): a default given by the parameter, else one the help states."""
    stated = _DEFAULT_IN_HELP.search(help_text)
    if stated:
        help_text = (help_text[: stated.start()] + help_text[stated.end() :]).strip()
        if help_text and not help_text.endswith("."):
            help_text += "."
    if getattr(param, "required", False):
        return "required", help_text
    value = param.default
    if value is not None and not callable(value) and value not in ([], ()):
        if isinstance(value, bool):
            return ("on" if value else "off"), help_text
        return f"`{value}`", help_text
    return (stated.group(1) if stated else ""), help_text


def _usage(path: str, command: Any) -> str:
    pieces = [path]
    params = [p for p in command.params if not getattr(p, "hidden", False)]
    if any(getattr(p, "param_type_name", "") == "option" for p in params):
        pieces.append("[OPTIONS]")
    for p in params:
        if getattr(p, "param_type_name", "") == "argument":
            name = p.name.upper()
            pieces.append(name if p.required else f"[{name}]")
    if getattr(command, "commands", None):
        pieces.append("COMMAND [ARGS]...")
    return " ".join(pieces)


def _command_markdown(path: str, command: Any, level: int) -> list[str]:
    ctx_class = getattr(command, "context_class", None)
    ctx = ctx_class(command, info_name=path.rsplit(" ", 1)[-1]) if ctx_class else None
    out = [f"{'#' * level} `{path}`", ""]
    if command.help:
        out += [" ".join(command.help.split()), ""]
    out += ["```text", _usage(path, command), "```", ""]
    params = [p for p in command.params if not getattr(p, "hidden", False)]
    if params:
        rows = []
        for p in params:
            if getattr(p, "param_type_name", "") == "argument":
                names = p.name.upper()
            else:
                names = ", ".join(f"`{o}`" for o in [*p.opts, *getattr(p, "secondary_opts", [])])
            default, help_text = _default(p, " ".join((getattr(p, "help", None) or "").split()))
            rows.append([names, _type_name(p, ctx), default, help_text])
        out += [table(["argument or option", "type", "default", "meaning"], rows), ""]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not getattr(sub, "hidden", False):
            out += _command_markdown(f"{path} {name}", sub, level + 1)
    return out


def cli_markdown() -> str:
    """Every command of `vsis`, as Typer builds it into a click group: help, usage, arguments and options."""
    import typer

    from builder.cli import app

    group = typer.main.get_command(app)
    out: list[str] = []
    for name, command in sorted(group.commands.items()):
        if not getattr(command, "hidden", False):
            out += _command_markdown(f"vsis {name}", command, 2)
    return "\n".join(out).rstrip() + "\n"


REFERENCES: dict[str, Callable[[], str]] = {"configuration": configuration_markdown, "cli": cli_markdown}


# --------------------------------------------------------------------------------------------- the hook


def render_markers(markdown: str) -> str:
    """Every marker of a page replaced by what it names."""

    def replace(match: re.Match[str]) -> str:
        what, text = match.group(1), match.group(2)
        if what == "reference":
            if text not in REFERENCES:
                raise DocsError(f"unknown reference {text!r} (known: {', '.join(REFERENCES)})")
            return REFERENCES[text]()
        kind, options = parse_options(text)
        return bench_markdown(kind, **options)

    return MARKER.sub(replace, markdown)


def on_startup(command: str, dirty: bool) -> None:
    """The references import the builder from this checkout, not from wherever else it is installed."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    from mkdocs.exceptions import PluginError

    try:
        return render_markers(markdown)
    except DocsError as exc:
        raise PluginError(f"{page.file.src_uri}: {exc}") from None
