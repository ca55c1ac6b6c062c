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
    assert cfg.metadata == tmp_path / "proj" / "meta.csv"
    assert cfg.out == Path("/abs/site")
    assert (cfg.networks, cfg.k, cfg.annoy_trees, cfg.annoy_seed) == (("pixels",), 4, 7, 3)


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
        ("[query]\nnetworks = ['pixels', 'pixels']\n", "a query network is listed twice"),
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
