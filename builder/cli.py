"""The `vsis` command line. Thin: parse flags, build a config, call the pipeline, report."""

from __future__ import annotations

import errno
import functools
import signal
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from builder.errors import VsisError
from builder.terminal import printable

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Visually Similar Image Search: build a static site of visually similar images.",
)
console = Console()
err_console = Console(stderr=True)


# OS errors a user can meet and act on (a full disk, a folder they may not write, a name too long for their
# file system, a port in use): a one-line reason, not a traceback. Any other OSError is a bug and keeps it.
_EXPECTED_OS_ERRORS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENAMETOOLONG,
    errno.EADDRINUSE,
    errno.EMFILE,
    errno.ENFILE,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ENOENT,
}


def _fail_cleanly(fn: Callable) -> Callable:
    """A VsisError, or an expected OSError, ends the command with a one-line reason and exit code 1.
    SIGTERM is turned into an exception (exit 143), so that what is half-made is cleaned up on the way
    out (staging folders, temporary files, the child process that makes models)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        signal.signal(signal.SIGTERM, _terminated)
        try:
            return fn(*args, **kwargs)
        except VsisError as exc:
            _error(str(exc))
        except OSError as exc:
            if exc.errno not in _EXPECTED_OS_ERRORS:
                raise
            _error(f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc.strerror or exc))

    return wrapper


def _error(message: str) -> None:
    err_console.print(Text("error: ", style="red") + Text(printable(message)), soft_wrap=True)
    raise typer.Exit(1) from None


def _say(to: Console, line: str) -> None:
    """A line that quotes the user's paths or data: plain text (never read as Rich markup), made safe for a
    terminal."""
    to.print(Text(printable(line)), soft_wrap=True)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _names(text: str | None) -> tuple[str, ...] | None:
    from builder.config import names

    return names(text) if text else None


def _numbers(text: str | None, flag: str) -> tuple[int, ...] | None:
    names = _names(text)
    try:
        return tuple(int(n) for n in names) if names else None
    except ValueError:
        raise VsisError(f"{flag} takes comma-separated whole numbers, got {text!r}") from None


@app.command()
@_fail_cleanly
def build(
    collection: Path | None = typer.Argument(None, help="Folder of images (searched recursively)."),
    config: Path | None = typer.Option(None, "--config", "-c", help="vsis.toml; flags override it."),
    metadata: Path | None = typer.Option(None, help="CSV or JSON metadata joined onto the images."),
    metadata_key: str | None = typer.Option(None, help="Metadata column naming each record's file."),
    networks: str | None = typer.Option(None, help="Comma-separated networks (see `vsis networks`)."),
    weights: list[str] = typer.Option([], help="Local checkpoint: NETWORK=FILE (or FILE with one network)."),
    k: int | None = typer.Option(None, help="Neighbours per image [default: 10]."),
    trees: int | None = typer.Option(None, help="Annoy trees [default: 50]."),
    out: Path | None = typer.Option(None, help="Output folder [default: site]."),
    cache_dir: Path | None = typer.Option(None, help="Cache folder [default: .vsis-cache]."),
    title: str | None = typer.Option(None, help="Site title."),
    batch_size: int | None = typer.Option(None, help="Images per inference batch [default: 16]."),
    backend: str | None = typer.Option(
        None, help="auto, torch or onnx (ONNX Runtime) [default: auto: onnx on the CPU]."
    ),
    precision: str | None = typer.Option(
        None, help="fp32, bf16 (torch) or int8 (onnx, calibrated on the collection) [default: fp32]."
    ),
    workers: int | None = typer.Option(None, help="Threads decoding ahead of inference; 0: none [default: 2]."),
    engine: str | None = typer.Option(
        None,
        help="Where features are extracted: local, or ray (a Ray cluster; pip install 'vsis[ray]') [default: local].",
    ),
    ray_address: str | None = typer.Option(
        None, help="Ray cluster to join, e.g. ray://head:10001 [default: RAY_ADDRESS, else a new local instance]."
    ),
    ray_actors: int | None = typer.Option(None, help="Ray: extraction actors [default: the cluster's CPUs less one]."),
    ray_gpus: float | None = typer.Option(None, help="Ray: GPUs per actor [default: 0]."),
    jpeg_draft: bool | None = typer.Option(
        None, "--jpeg-draft/--no-jpeg-draft", help="Decode large JPEGs at reduced scale [default: on]."
    ),
    follow_external_links: bool | None = typer.Option(
        None,
        "--follow-external-links/--no-follow-external-links",
        help="Take images that symbolic links in the collection lead to outside it [default: off: reported, left out].",
    ),
    experiment: bool | None = typer.Option(
        None, "--experiment/--no-experiment", help="Run the perturbation-recovery experiment [default: on]."
    ),
    originals: int | None = typer.Option(None, help="Experiment: at most this many originals [default: 1000]."),
    profiles: str | None = typer.Option(None, help="Experiment: comma-separated profiles [default: m1,...,m5]."),
    experiment_k: str | None = typer.Option(None, help="Experiment: comma-separated k values [default: 1,3,5]."),
) -> None:
    """Build the site: scan, extract features, find neighbours, render."""
    from builder.build import build as run_build
    from builder.config import make_config, parse_weights
    from builder.progress import RichReporter

    if config is None and collection is None and Path("vsis.toml").is_file():
        config = Path("vsis.toml")
    cfg = make_config(
        config,
        collection=collection,
        metadata=metadata,
        metadata_key=metadata_key,
        networks=_names(networks),
        k=k,
        annoy_trees=trees,
        out=out,
        cache_dir=cache_dir,
        title=title,
        batch_size=batch_size,
        backend=backend,
        precision=precision,
        workers=workers,
        engine=engine,
        ray_address=ray_address,
        ray_actors=ray_actors,
        ray_gpus_per_actor=ray_gpus,
        jpeg_draft=jpeg_draft,
        follow_external_links=follow_external_links,
        experiment=experiment,
        experiment_originals=originals,
        profiles=_names(profiles),
        experiment_ks=_numbers(experiment_k, "--experiment-k"),
    )
    if weights:
        cfg = replace(cfg, weights={**cfg.weights, **parse_weights(weights, cfg.networks)}).validate()
    with RichReporter(err_console) as reporter:
        result = run_build(cfg, reporter)
    _say(
        console,
        f"Built {len(result.items)} items x {len(result.networks)} networks "
        f"({', '.join(n.name for n in result.networks)}) in {result.seconds:.1f}s: "
        f"{result.pages} pages in {result.out}/ (open {result.out / 'index.html'})",
    )
    for net in result.networks:
        _say(
            console,
            f"  {net.name} ({net.precision.used}): {net.extracted} extracted, {net.cached} from cache, "
            f"{net.images_per_second:.1f} images/s, recall@{cfg.k} {net.search_recall:.3f} ({net.recall_note})",
        )
    if result.experiment is not None:
        ex = result.experiment
        _say(
            console,
            f"  experiment: {ex.layout.m} originals x {len(ex.layout.profiles)} profiles; "
            f"`vsis evaluate {result.out}` prints the tables",
        )
    if result.size is not None:
        _say(console, f"  site: {result.size.describe()}")
    if result.skipped:
        _say(console, f"  {len(result.skipped)} file(s) skipped; see the build report on the index page")


@app.command()
@_fail_cleanly
def networks() -> None:
    """List every network, its feature dimension and whether its weights are available now; then this
    CPU's features and what each precision will be here."""
    from builder.features.networks import all_specs
    from builder.features.runtime.backends import precision_outlook
    from builder.features.runtime.cpu import cpu_features

    specs = all_specs()
    width = max(len(s.name) for s in specs)
    for spec in specs:
        ok, how = spec.weights.available()
        typer.echo(f"{spec.name:<{width}}  {spec.dim:>5}-d  {'available' if ok else 'missing  '}  {printable(how)}")
    typer.echo(f"\nCPU {cpu_features().summary()}")
    for precision, outlook in precision_outlook():
        typer.echo(f"  {precision}: {outlook}")


@app.command()
@_fail_cleanly
def evaluate(site_dir: Path = typer.Argument(Path("site"), help="A built site.")) -> None:
    """Print the perturbation-recovery tables of a finished build (from its experiments/metrics.json)."""
    from builder.experiment.report import load_metrics, metric_tables

    for table in metric_tables(load_metrics(site_dir)):
        console.print(table)


@app.command()
@_fail_cleanly
def serve(
    site_dir: Path = typer.Argument(Path("site"), help="A built site."),
    port: int = typer.Option(8000, help="Port on 127.0.0.1."),
) -> None:
    """Preview a built site on http://127.0.0.1:PORT/ (the site itself needs no server)."""
    from builder.serve import site_server

    if not (site_dir / "index.html").is_file():
        raise VsisError(f"{site_dir}: no index.html here; run `vsis build` first")
    try:
        server = site_server(site_dir, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise VsisError(f"port {port} on 127.0.0.1 is in use; choose another with --port") from None
        raise
    with server:
        _say(console, f"Serving {site_dir} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


moma_app = typer.Typer(no_args_is_help=True, help="The Museum of Modern Art's open collection data.")
app.add_typer(moma_app, name="moma")


@moma_app.command("sample")
@_fail_cleanly
def moma_sample(
    artworks: Path = typer.Option(..., help="MoMA's Artworks.json or Artworks.csv."),
    n: int = typer.Option(5000, help="How many artworks (with a thumbnail) to pick."),
    seed: int = typer.Option(71, help="Seed of the sample."),
    out: Path = typer.Option(Path("data/moma"), help="Folder for images/ and metadata.csv."),
    connections: int = typer.Option(8, help="Downloads at a time."),
    timeout: float = typer.Option(20.0, help="Seconds per attempt, from connecting to the last byte."),
    retries: int = typer.Option(3, help="Further attempts after a timeout or a server error."),
    backoff: float = typer.Option(1.0, help="Seconds before the first retry, doubled each time."),
    max_mb: float = typer.Option(50.0, help="Largest file accepted, in megabytes."),
) -> None:
    """Pick N artworks that have a thumbnail, download the thumbnails (resuming a stopped run) and write
    the metadata file `vsis build` reads: `vsis build OUT/images --metadata OUT/metadata.csv`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from builder.collect.sources.download import Download, Policy, download_all
    from builder.collect.sources.moma import read_artworks, sample, write_metadata

    if n < 1:
        raise VsisError(f"--n must be at least 1, got {n}")
    policy = Policy(connections, timeout, retries, backoff, max_mb)  # its bounds checked before any work
    chosen = sample(read_artworks(artworks), n, seed)
    if not chosen:
        raise VsisError(f"{artworks}: no artwork has a ThumbnailURL or ImageURL")
    jobs = [Download(a.thumbnail, out / "images" / a.file_name) for a in chosen]
    counts = {"downloaded": 0, "present": 0, "failed": 0}
    columns = (
        TextColumn("thumbnails"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[done]} done, {task.fields[failed]} failed, {task.fields[left]} remaining"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task("", total=len(jobs), done=0, failed=0, left=len(jobs))

        def advance(outcome) -> None:
            counts[outcome.status] += 1
            done = counts["downloaded"] + counts["present"]
            progress.update(
                task, advance=1, done=done, failed=counts["failed"], left=len(jobs) - done - counts["failed"]
            )

        outcomes = download_all(jobs, policy, advance)
    kept = [a for a, o in zip(chosen, outcomes, strict=False) if o.status != "failed"]
    write_metadata(kept, out / "metadata.csv")
    failures = [(a, o) for a, o in zip(chosen, outcomes, strict=False) if o.status == "failed"]
    for a, o in failures:
        _say(err_console, f"  failed: ObjectID {a.object_id} {o.download.url}: {o.reason}")
    _say(
        console,
        f"{len(chosen)} artworks: {counts['downloaded']} downloaded, {counts['present']} already present, "
        f"{len(failures)} failed. Metadata for {len(kept)} in {out / 'metadata.csv'}; "
        f"build with: vsis build {out / 'images'} --metadata {out / 'metadata.csv'}",
    )
