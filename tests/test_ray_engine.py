"""`--engine ray`: extraction on a local Ray instance gives what in-process extraction gives.

Skipped only where Ray is not installed (`pip install 'vsis[ray]'`; `make test` installs it, so CI runs these).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from builder.build import build
from builder.config import make_config
from builder.features import ray_engine
from builder.progress import QuietReporter

from .conftest import write_collection

ray = pytest.importorskip("ray")

NETWORKS = ("efficientnet_lite0", "pixels")
VSIS = shutil.which("vsis", path=str(Path(sys.executable).parent)) or "vsis"


@pytest.fixture(scope="module")
def local_ray():
    """One small local instance for the module: 2 CPUs (one for the actor, one for Ray Data's reads)."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 1024 * 1024, log_to_driver=False)
    yield ray
    ray.shutdown()


def config_for(root: Path, name: str, engine: str, **overrides):
    values = dict(collection=root / "images", networks=NETWORKS, k=3, out=root / f"site-{name}",
                  cache_dir=root / f"cache-{name}", experiment_enabled=True, experiment_originals=4,
                  title="Ray", engine=engine, ray_actors=1)  # fmt: skip
    values.update(overrides)
    return make_config(**values)


def vectors(cache: Path, kind: str = "features") -> dict[str, bytes]:
    return {p.relative_to(cache).as_posix(): p for p in sorted((cache / kind).rglob("*.npy"))}


def test_ray_extraction_gives_the_same_keys_vectors_and_site_as_in_process(local_ray, tmp_path: Path) -> None:
    write_collection(tmp_path / "images", {"red": 5, "blue": 5})
    (tmp_path / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")  # read, not decodable
    here = build(config_for(tmp_path, "local", "local"), QuietReporter())
    there = build(config_for(tmp_path, "ray", "ray"), QuietReporter())
    assert [r.extracted for r in there.networks] == [r.extracted for r in here.networks]
    assert there.networks[0].extracted == 10 + 4 * 5  # every image and the copies of 4 originals, once each
    assert there.skipped == here.skipped and [rel for rel, _ in there.skipped] == ["broken.png"]
    assert "not an image" in there.skipped[0][1]
    local, remote = vectors(tmp_path / "cache-local"), vectors(tmp_path / "cache-ray")
    # each network's vectors packed in the images' order, named by a digest of their cache keys
    assert list(local) == list(remote) and len(local) == 2
    for rel in local:
        np.testing.assert_allclose(np.load(local[rel]), np.load(remote[rel]), atol=1e-6)
        assert np.load(local[rel]).shape[0] == 30
    # and a tagging network's top classes (features/tags.py): the same classes, the same probabilities
    local_tags, remote_tags = vectors(tmp_path / "cache-local", "tags"), vectors(tmp_path / "cache-ray", "tags")
    assert list(local_tags) == list(remote_tags) and len(local_tags) == 1
    for rel in local_tags:
        mine, theirs = np.load(local_tags[rel]), np.load(remote_tags[rel])
        assert mine.shape == theirs.shape == (30, 20)
        for m, t in zip(mine, theirs, strict=True):
            here_p, there_p = dict(zip(m[10:], m[:10], strict=True)), dict(zip(t[10:], t[:10], strict=True))
            clear = [c for c, p in here_p.items() if p > m[9] + 1e-5]  # not tied with the last one kept
            assert clear and all(abs(here_p[c] - there_p[c]) <= 1e-6 for c in clear)
    for a, b in zip(here.networks, there.networks, strict=True):
        assert (a.neighbours.indices == b.neighbours.indices).all()
    pages = sorted(p.relative_to(tmp_path / "site-local") for p in (tmp_path / "site-local").rglob("*.html"))
    assert pages == sorted(p.relative_to(tmp_path / "site-ray") for p in (tmp_path / "site-ray").rglob("*.html"))
    for rel in pages:
        if rel.parts[0] == "compare":  # the neighbours, scores and thumbnails each page shows
            assert (tmp_path / "site-local" / rel).read_text() == (tmp_path / "site-ray" / rel).read_text()
    thumbs = sorted((tmp_path / "site-ray" / "compare").glob("*.webp"))
    assert [t.read_bytes() for t in thumbs] == [
        (tmp_path / "site-local" / "compare" / t.name).read_bytes() for t in thumbs
    ]


def test_a_second_ray_run_sends_nothing(local_ray, tmp_path: Path, monkeypatch) -> None:
    write_collection(tmp_path / "images", {"": 6})
    first = build(config_for(tmp_path, "a", "ray", experiment_enabled=False), QuietReporter())
    assert [r.extracted for r in first.networks] == [6, 6]
    sent: list[int] = []
    original = ray_engine.extract_on_ray

    def counting(tasks, *args, **kwargs):
        sent.append(len(tasks))
        return original(tasks, *args, **kwargs)

    monkeypatch.setattr("builder.features.stage.extract_on_ray", counting)
    again = build(config_for(tmp_path, "a", "ray", experiment_enabled=False, out=tmp_path / "site-b"), QuietReporter())
    assert [r.extracted for r in again.networks] == [0, 0] and sent == []
    write_collection(tmp_path / "images", {"": 1}, start_seed=50)
    grown = build(config_for(tmp_path, "a", "ray", experiment_enabled=False), QuietReporter())
    assert [r.extracted for r in grown.networks] == [1, 1] and sent == [1]


def test_a_file_a_worker_cannot_read_is_a_skipped_file_not_a_crash(local_ray, tmp_path: Path, monkeypatch) -> None:
    """The driver hashes the files, then one disappears before a worker reads it (as on a node without it)."""
    write_collection(tmp_path / "images", {"": 5})
    gone = tmp_path / "images" / "img_002.png"

    def vanish_then_send(tasks, *args, **kwargs):
        gone.unlink()
        return ray_engine.extract_on_ray(tasks, *args, **kwargs)

    monkeypatch.setattr("builder.features.stage.extract_on_ray", vanish_then_send)
    result = build(config_for(tmp_path, "v", "ray", experiment_enabled=False), QuietReporter())
    assert [rel for rel, _ in result.skipped] == ["img_002.png"]
    assert "cannot read" in result.skipped[0][1] and "same path" in result.skipped[0][1]
    assert len(result.items) == 4 and [r.extracted for r in result.networks] == [4, 4]


def test_an_actor_runs_as_many_streams_as_its_cpus_and_waits_passively(local_ray, tmp_path: Path, monkeypatch) -> None:
    """A network that reports, as its features, what the actor it runs in sees: its inference threads (Ray's
    OMP_NUM_THREADS for an actor of one CPU, not the machine's cores) and OpenMP's wait policy."""
    from dataclasses import replace

    import builder.build
    from builder.features.networks import configured

    def probe(batch: np.ndarray) -> np.ndarray:
        from builder.features.runtime.threads import inference_threads

        passive = float(os.environ.get("OMP_WAIT_POLICY") == "PASSIVE")
        return np.tile(np.array([inference_threads(), passive, 1.0], np.float32), (len(batch), 1))

    spec = replace(configured("pixels", "crop", "avg"), dim=3, direct=probe, version="probe")
    monkeypatch.setattr(builder.build, "configured", lambda name, framing, pooling: spec)
    write_collection(tmp_path / "images", {"": 3})
    build(config_for(tmp_path, "p", "ray", networks=("pixels",), experiment_enabled=False, map_enabled=False,
                     query_enabled=False), QuietReporter())  # fmt: skip
    (features,) = vectors(tmp_path / "cache-p").values()
    rows = np.load(features)
    assert rows.shape == (3, 3)
    threads, passive = rows[:, 0] / rows[:, 2], rows[:, 1] / rows[:, 2]  # the features are unit length
    np.testing.assert_allclose(threads, 1.0, atol=1e-5)
    np.testing.assert_allclose(passive, 1.0, atol=1e-5)


def test_an_unreachable_ray_address_is_a_clear_error(tmp_path: Path) -> None:
    write_collection(tmp_path / "images", {"": 3})
    done = subprocess.run(
        [VSIS, "build", str(tmp_path / "images"), "--networks",
         "pixels", "--no-experiment", "--out", str(tmp_path / "site"), "--cache-dir", str(tmp_path / "cache"),
         "--engine", "ray", "--ray-address", "127.0.0.1:1"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
    )  # fmt: skip
    assert done.returncode == 1
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "site").exists()


def test_the_local_engine_never_imports_ray(tmp_path: Path) -> None:
    write_collection(tmp_path / "images", {"": 3})
    script = (
        "import sys\nfrom pathlib import Path\nfrom builder.build import build\n"
        "from builder.config import make_config\n"
        f"build(make_config(collection=Path({str(tmp_path / 'images')!r}), networks=('pixels',), k=2, "
        f"out=Path({str(tmp_path / 'site')!r}), cache_dir=Path({str(tmp_path / 'cache')!r}), "
        "experiment_enabled=False))\n"
        "print('ray' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "False"
