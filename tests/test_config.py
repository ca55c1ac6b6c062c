from __future__ import annotations

from pathlib import Path

import pytest

from builder.config import BuildConfig, make_config, parse_weights
from builder.errors import ConfigError


def test_toml_values_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    cfg_file = tmp_path / "proj" / "vsis.toml"
    cfg_file.parent.mkdir()
    cfg_file.write_text(
        'collection = "imgs"\nmetadata = "meta.csv"\nnetworks = ["pixels"]\nk = 4\nout = "/abs/site"\n'
        "[annoy]\ntrees = 7\nseed = 3\n",
        encoding="utf-8",
    )
    cfg = make_config(cfg_file)
    assert cfg.collection == tmp_path / "proj" / "imgs"
    assert cfg.metadata.file == tmp_path / "proj" / "meta.csv"
    assert cfg.out == Path("/abs/site")
    assert (cfg.networks, cfg.k, cfg.annoy.trees, cfg.annoy.seed) == (("pixels",), 4, 7, 3)


def test_flags_override_the_file(tmp_path: Path) -> None:
    cfg_file = tmp_path / "vsis.toml"
    cfg_file.write_text('networks = ["pixels"]\nk = 4\n', encoding="utf-8")
    cfg = make_config(cfg_file, k=2, networks=("efficientnet_lite0", "pixels"), out=None)
    assert cfg.k == 2
    assert cfg.networks == ("efficientnet_lite0", "pixels")
    assert cfg.out == BuildConfig().out  # None means "not given"


@pytest.mark.parametrize(
    "text, message",
    [
        ("colection = 'x'\n", "unknown key 'colection'"),
        ("[annoy]\ntree = 3\n", "unknown key 'annoy.tree'"),
        ("[experiment]\nprofile = ['m1']\n", "unknown key 'experiment.profile'"),
        ("[experiment]\nprofiles = ['m9']\n", "unknown perturbation profile 'm9'"),
        ("[experiment]\nk = [0, 3]\n", r"experiment k values must be 1 \.\.\. 1,000"),
        ("annoy = 3\n", r"\[annoy\] must be a table"),
        ("k = 'ten'\n", "'k' must be an integer"),
        ("k = 0\n", r"k must be 1 \.\.\. 1,000, got 0"),
        ("networks = ['vgg17']\n", "unknown network 'vgg17'"),
        ("k = \n", "invalid TOML"),
        ("[query]\nmax_model_mb = inf\n", r"query max_model_mb must be 0.001 \.\.\. 1,000,000, got inf"),
        ("[query]\nnetworks = ['pixels', 'pixels']\n", "query networks: a name is listed twice"),
        ("[query]\nnetworks = ['vgg16']\n", "query networks vgg16 are not built"),
        ("[query]\nrecall_target = 0\n", r"query recall_target must be in \(0, 1\]"),
        ("[query]\nenable = true\n", "unknown key 'query.enable'"),
        ("[features]\nframing = 'square'\n", "features framing must be one of crop, pad"),
        ('title = "a \\u001b]0;owned\\u0007"\n', "title must be text without control characters"),
        ('title = "one\\nline"\n', "title must be text without control characters"),
        ('title = "\\u202eevil"\n', "title must be text without control characters"),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    cfg_file = tmp_path / "vsis.toml"
    cfg_file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        make_config(cfg_file)


def test_a_title_in_any_script_and_with_a_tab_is_accepted() -> None:
    title = "Musée\tد\u200fار 美術館"
    assert BuildConfig(title=title).validate().title == title
    with pytest.raises(ConfigError, match="undecodable bytes"):
        BuildConfig(title="caf\udce9").validate()


def test_weights_flag_forms() -> None:
    assert parse_weights(["w.pth"], ("vgg16",)) == {"vgg16": Path("w.pth")}
    assert parse_weights(["vgg16=a.pth", "resnet152=b.pth"], ("vgg16", "resnet152")) == {
        "vgg16": Path("a.pth"),
        "resnet152": Path("b.pth"),
    }
    with pytest.raises(ConfigError, match="say which one"):
        parse_weights(["w.pth"], ("vgg16", "pixels"))
    with pytest.raises(ConfigError, match="not among the networks"):
        make_config(networks=("pixels",), weights={"vgg16": Path("w.pth")})


# The schema is the one description: the loader, the flags, the manifest and the reference come from it.


def test_every_setting_of_the_schema_round_trips_through_a_toml_file(tmp_path: Path) -> None:
    from builder.config import TABLES, BuildConfig

    def toml(value: object) -> str:
        if isinstance(value, tuple):
            return "[" + ", ".join(toml(v) for v in value) + "]"
        if isinstance(value, bool):
            return "true" if value else "false"
        return f'"{value}"' if isinstance(value, (str, Path)) else repr(value)

    lines = [f"{key} = {toml(d)}" for key, s, d in BuildConfig.settings() if d is not None and s.kind != "path"]
    for name, table in TABLES.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {toml(d)}" for key, _s, d in table.settings() if d is not None]
    (tmp_path / "vsis.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert make_config(tmp_path / "vsis.toml") == BuildConfig()  # every key known, every default what it says


def test_the_configuration_reference_lists_exactly_the_schema() -> None:
    import re

    from builder.config import every_setting, reference_markdown

    table, listed = "", set()
    for line in reference_markdown().splitlines():
        heading = re.fullmatch(r"## \[(\w+)\]|## Top-level keys", line)
        if heading:
            table = heading.group(1) or ""
        row = re.match(r"\| `(\w+)` \| `([^`]*)` \|", line)
        if row:
            listed.add((table, row.group(1)))
    declared = {(t.TABLE, key) for t, key, _s, _d in every_setting()}
    assert listed == declared and len(declared) > 40


def test_the_build_command_takes_one_flag_per_flagged_setting() -> None:
    import typer.main

    from builder.cli import app
    from builder.config import flags

    build = typer.main.get_command(app).commands["build"]  # type: ignore[attr-defined]
    options = {p.name: p for p in build.params}
    for name, s, _default in flags():
        assert s.flag in options[name].opts, name
    assert set(options) == {name for name, _s, _d in flags()} | {"collection", "config", "weights"}


def test_the_manifest_records_every_setting_but_the_paths() -> None:
    from builder.config import every_setting, manifest_settings

    written = manifest_settings(make_config(k=3, map_epochs=20))
    assert (written["k"], written["map_epochs"], written["experiment_k"]) == (3, 20, "1, 3, 5")
    paths = {t.flat(key) for t, key, s, _d in every_setting() if s.kind == "path"}
    assert paths == {"collection", "metadata_file", "out", "cache_dir"} and paths.isdisjoint(written)
    assert "ray_address" not in written  # may name a host


@pytest.mark.parametrize("key", ["neighbours_recall_target", "query_recall_target"])
@pytest.mark.parametrize("value", [0.0, -0.5, 1.5, float("nan")])
def test_a_recall_target_is_a_share(key: str, value: float) -> None:
    with pytest.raises(ConfigError, match=r"recall_target must be in \(0, 1\]"):
        make_config(**{key: value})
    assert make_config(**{key: 1.0}).validate()
