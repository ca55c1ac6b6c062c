"""The documentation stays true to the code: its TOML examples load, its benchmark tables carry the figures of
bench/results/, and the README stays a short page that points into docs/."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

from builder.config import load_toml

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
TOML_BLOCK = re.compile(r"^```toml[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def hook() -> ModuleType:
    """docs/hooks/vsis_docs.py, which MkDocs loads by its path (it is not a package)."""
    spec = importlib.util.spec_from_file_location("vsis_docs", REPO / "docs" / "hooks" / "vsis_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def toml_blocks() -> list[tuple[str, int, str]]:
    blocks = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in TOML_BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            blocks.append((page.relative_to(REPO).as_posix(), line, match.group(1)))
    return blocks


BLOCKS = toml_blocks()


def test_the_documentation_has_toml_examples() -> None:
    assert len(BLOCKS) >= 5, [f"{page}:{line}" for page, line, _ in BLOCKS]


@pytest.mark.parametrize("page, line, text", BLOCKS, ids=[f"{p}:{n}" for p, n, _ in BLOCKS])
def test_every_toml_example_loads(page: str, line: int, text: str, tmp_path: Path) -> None:
    """Each ```toml block is a vsis.toml the loader accepts, so documented settings cannot drift from it."""
    config = tmp_path / "vsis.toml"
    config.write_text(text, encoding="utf-8")
    values = load_toml(config)
    assert values, f"{page}:{line}: the example sets nothing"


def interval(f: dict[str, float]) -> str:
    return f"{f['mean']:.3f} [{f['low']:.3f}, {f['high']:.3f}]"


def test_the_quality_table_holds_the_figures_of_its_json() -> None:
    records = json.loads((REPO / "bench" / "results" / "quality.json").read_text(encoding="utf-8"))
    text = hook().bench_markdown("quality", file="quality.json")
    lines = text.splitlines()
    for record in records.values():
        assert record["cpu"] in text and record["machine"] in text  # the machine beside the table
        for r in record["rows"]:
            row = next(
                (x for x in lines if f"| {r['network']} | {r['setting']}" in x),
                None,
            )
            assert row is not None, (r["network"], r["setting"])
            for key in ("p@1", "p@10", "map@10", "near_dup_recall@5"):
                assert interval(r[key]) in row, (r["network"], r["setting"], key)
            assert f"{r['chance_p']:.3f} / {r['chance_map@10']:.3f}" in row
            assert f"{r['ms_per_image']:.1f}" in row


def test_the_layout_table_holds_the_figures_of_its_json() -> None:
    records = json.loads((REPO / "bench" / "results" / "layout.json").read_text(encoding="utf-8"))
    lines = hook().bench_markdown("layout").splitlines()
    for record in records.values():
        for r in record["rows"]:
            figures = [f"{r['items']:,}", r["method"], f"{r['preservation']:.3f}", f"{r['trustworthiness']:.4f}"]
            assert any(all(f in line for f in figures) for line in lines), figures


def test_the_contended_table_holds_each_modes_quiet_and_busy_speed_on_its_cpu() -> None:
    records = json.loads((REPO / "bench" / "results" / "extract_threads.json").read_text(encoding="utf-8"))
    for record in records.values():
        text = hook().bench_markdown("extract-contended", record=record["cpu"])
        lines = text.splitlines()
        for where in text.split("Measured on:")[1].strip().splitlines():  # only this CPU's records
            assert record["cpu"] in where
        for r in record["rows"]:
            figures = [r["network"], f"{r['precision']} on {r['backend']}", f"{r['contended_share']:.0%}"]
            figures += [f"{r['images_per_s']:,.1f}", f"{r['contended_images_per_s']:,.1f}"]
            assert any(all(f in line for f in figures) for line in lines), figures


def test_the_study_projection_sums_ten_thousand_images_over_each_networks_speed() -> None:
    """By hand: 10,000 images at 10, 20 and 40 images/s are 1,000 + 500 + 250 s = 0.49 h; at 100 each, 0.08 h."""
    modes = (("onnx:fp32", "fp32", "onnx"), ("auto:auto", "bf16", "openvino"))
    speeds = {"vgg16": (10, 100), "resnet152": (20, 100), "densenet201": (40, 100)}
    rows = [{"network": n, "mode": m, "precision": p, "backend": b, "images_per_s": v[i]}
            for n, v in speeds.items() for i, (m, p, b) in enumerate(modes)]  # fmt: skip
    record = {"cpu": "x86_64: AVX2 yes, AVX-512 yes, VNNI yes, BF16 yes, AMX yes", "rows": rows}
    text = hook().study_projection_table([("f.json", "label", record)])
    row = text.splitlines()[2]
    assert row.startswith("| AVX-512 and AMX | vgg16 10.0 (fp32 on onnx), resnet152 20.0")
    assert "vgg16 100.0 (bf16 on openvino)" in row and row.endswith("| 0.49 h | 0.08 h |")


def test_every_benchmark_marker_in_the_docs_renders() -> None:
    """What `mkdocs build --strict` would stop on, found without MkDocs: every bench marker has its JSON."""
    docs = hook()
    markers = 0
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in docs.MARKER.finditer(text):
            if match.group(1) == "bench":
                markers += 1
                kind, options = docs.parse_options(match.group(2))
                table = docs.bench_markdown(kind, **options)
                assert table.startswith("|") and "Measured on:" in table, (page.name, match.group(0))
    assert markers >= 15


def test_an_unknown_benchmark_table_is_refused() -> None:
    docs = hook()
    with pytest.raises(docs.DocsError):
        docs.render_markers("<!-- bench: no-such-table -->")
    with pytest.raises(docs.DocsError):
        docs.render_markers("<!-- bench: quality file=no-such-file.json -->")


def test_the_readme_is_short_and_names_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    assert "make site" in readme and "make test" in readme


def test_the_first_view_table_holds_each_pages_requests_and_bytes() -> None:
    data = json.loads((REPO / "bench" / "results" / "first_view.json").read_text(encoding="utf-8"))
    text = hook().bench_markdown("first-view")
    for label, schemes in data["results"].items():
        for scheme, pages in schemes.items():
            for page, got in pages.items():
                assert f"{got['bytes_median']:,}" in text and page in text and scheme in text, (label, page)


def test_the_map_facets_table_holds_each_steps_median_and_range() -> None:
    data = json.loads((REPO / "bench" / "results" / "facets_map.json").read_text(encoding="utf-8"))
    text = hook().bench_markdown("facets-map")
    timings = data["timings"]
    for key in ("colour_first_ms", "colour_again_ms", "filter_first_ms", "time_layout_ms"):
        runs = [float(r[key]) for r in timings["all"]]
        assert f"| {timings[key]:.0f} | {min(runs):.0f} to {max(runs):.0f} |" in text, key
    assert data["cpu_flags"] in text and f"{data['items']:,}" in text


def test_the_facets_table_holds_the_first_views_and_each_filter_step() -> None:
    data = json.loads((REPO / "bench" / "results" / "facets.json").read_text(encoding="utf-8"))
    text = hook().bench_markdown("facets")
    assert f"{data['facets']['first_view']['bytes']:,.0f}" in text
    assert f"{data['before']['first_view']['bytes']:,.0f}" in text
    assert f"{100 * data['first_view_growth']:+.1f}%" in text
    filters = data["facets"]["filters"]
    for step in ("first_value", "second_facet", "third_facet", "year_range"):
        assert f"applied {filters[step + '_applied_ms']:.0f} ms, drawn {filters[step + '_drawn_ms']:.0f} ms" in text
    assert data["cpu_flags"] in text
