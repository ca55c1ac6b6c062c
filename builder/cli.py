"""The `vsis` command line. Thin: parse flags, build a config, call the pipeline, report."""

from __future__ import annotations

import errno
import functools
import inspect
import signal
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from builder.errors import VsisError
from builder.features.runtime.threads import yield_when_idle
from builder.terminal import printable

yield_when_idle()  # before any runtime starts its threads (threads.py)

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


_OPTION_TYPES = {"path": Path, "text": str, "int": int, "number": float, "bool": bool, "names": str, "ints": str}


def _build_options() -> list[inspect.Parameter]:
    """The options of `vsis build`, one per setting that declares a flag (config.py's schema): its help is the
    setting's meaning and default, a switch for a bool (`--x/--no-x`), comma-separated text for a list."""
    from builder.config import flags

    options = []
    for name, s, default in flags():
        assert s.flag is not None
        decls = [f"{s.flag}/--no-{s.flag[2:]}"] if s.kind == "bool" else [s.flag]
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        if isinstance(shown, bool):
            shown = "on" if shown else "off"
        help_text = ("Comma-separated. " if s.kind in ("names", "ints") else "") + s.doc.replace(
            "[", "\\["
        )  # not Rich markup
        show: bool | str = False if default is None or shown == "" else str(shown)
        option = typer.Option(None, *decls, help=help_text, show_default=show)
        kind = _OPTION_TYPES[s.kind]
        options.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind | None))
    return options


def _from_flags(given: dict[str, object]) -> dict[str, object]:
    """The options given, as make_config takes them: whole numbers from their comma-separated text, with the
    flag named where one is not a number (lists of names make_config reads from their text itself)."""
    from builder.config import flags, names

    kinds = {name: s for name, s, _default in flags()}
    out: dict[str, object] = {}
    for name, value in given.items():
        if isinstance(value, str) and kinds[name].kind == "ints":
            try:
                value = tuple(int(n) for n in names(value))
            except ValueError:
                raise VsisError(f"{kinds[name].flag} takes comma-separated whole numbers, got {value!r}") from None
        out[name] = value
    return out


def build(
    collection: Path | None = typer.Argument(None, help="Folder of images (searched recursively)."),
    config: Path | None = typer.Option(None, "--config", "-c", help="vsis.toml; flags override it."),
    weights: list[str] = typer.Option([], help="Local checkpoint: NETWORK=FILE (or FILE with one network)."),
    **settings: object,
) -> None:
    """Build the site: scan, extract features, find neighbours, render."""
    from builder.build import build as run_build
    from builder.config import make_config, parse_weights
    from builder.progress import RichReporter

    if config is None and collection is None and Path("vsis.toml").is_file():
        config = Path("vsis.toml")
    cfg = make_config(config, collection=collection, **_from_flags(settings))
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
            f"  {net.name} ({net.precision.shown()}): {net.extracted} extracted, {net.cached} from cache, "
            f"{net.images_per_second:.1f} images/s, recall@{cfg.k} {net.search_recall:.3f} ({net.recall_note})",
        )
        if net.precision.requested == "auto" and net.precision.reason:
            _say(console, f"    {net.precision.reason}")
        if net.precision.check:
            _say(console, f"    {net.precision.used} checked against fp32: {net.precision.check}")
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


def _register_build() -> None:
    """`vsis build` with its fixed parameters and one option per setting with a flag."""
    fixed = list(inspect.signature(build).parameters.values())[:3]
    command = _fail_cleanly(build)
    command.__signature__ = inspect.Signature([*fixed, *_build_options()])  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in command.__signature__.parameters.values()}  # type: ignore[attr-defined]
    app.command(name="build")(command)


_register_build()


@app.command()
@_fail_cleanly
def networks(
    config: Path | None = typer.Option(None, help="Config file whose cache holds auto's choices (default: vsis.toml)."),
) -> None:
    """List every network, its feature dimension and whether its weights are available now; then this
    CPU's features, what each precision will be here, and what --precision auto chose for each network on
    this class of CPU (kept in the configured cache)."""
    from builder.config import make_config
    from builder.errors import ConfigError
    from builder.features.networks import all_specs
    from builder.features.runtime.auto_precision import auto_outlook, plan_auto
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
    if config is None and Path("vsis.toml").is_file():
        config = Path("vsis.toml")
    cfg = make_config(config)
    typer.echo(f"  auto: {auto_outlook(cfg.backend)}")
    waiting = []
    for spec in specs:
        if spec.direct is not None:
            continue
        try:
            net = spec.configured(cfg.features.framing, cfg.features.pooling)
        except ConfigError:  # a pooling this network does not offer: no build of it with this config
            continue
        plan = plan_auto(net, cfg.weights.get(spec.name), "cpu", cfg.cache_dir, cfg.backend)
        if plan.pending:
            waiting.append(spec.name)
        else:
            typer.echo(f"    {spec.name}: {plan.shown()}, {plan.reason}")
    if waiting:
        typer.echo(f"    not measured yet here (by the first build with --precision auto): {', '.join(waiting)}")


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
