"""The first view of the explorer, the map and the query page: how many files (requests) and bytes each loads.

    python bench/first_view.py --site before=/tmp/site-before --site after=/tmp/site-after [--runs 3]

Each site is opened read-only, over http (`python -m http.server` in its folder, on 127.0.0.1) and from
file://, in headless Chromium (the system binary, driven by Playwright). Each page is opened in a fresh
browser context (empty cache) at 1280x900 with no interaction, and watched until the network is idle:
Playwright's networkidle, then until no response has arrived for SETTLE_S seconds. Every response is counted,
the HTML, the style sheet, the scripts, the data files (data/*.js shards) and the thumbnails or atlases the
view draws; its bytes are the response body's. Prints a table and writes bench/results/first_view.json with
the CPU's flags (/proc/cpuinfo) and Chromium's version.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.browser import CHROMIUM_ARGS, chromium_path  # noqa: E402

PAGES = ("explore.html", "map.html", "query.html")
SETTLE_S = 1.5
VIEWPORT = {"width": 1280, "height": 900}
RESULTS = REPO / "bench" / "results" / "first_view.json"


def cpuinfo() -> dict[str, object]:
    """The CPU's model name and its flags, as /proc/cpuinfo lists them for the first processor."""
    model, flags = "", list[str]()
    try:
        for line in open("/proc/cpuinfo"):
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not model:
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = value.split()
    except OSError:
        pass
    return {"model": model, "flags": flags}


def chromium_version(path: str) -> str:
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60).stdout
    return out.strip()


@contextmanager
def http_server(folder: Path) -> Iterator[str]:
    """folder served read-only by `python -m http.server` on a free port of 127.0.0.1; yields the base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"the http server for {folder} did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(timeout=30)


def kind_of(path: str) -> str:
    if path.startswith("static/"):
        return "static"
    if path.startswith("data/"):
        return "data"
    if path.endswith(".html"):
        return "html"
    return "images" if path.rsplit(".", 1)[-1] in ("jpg", "jpeg", "png", "webp", "svg", "avif") else "other"


def first_view(browser, base: str, page_name: str) -> dict[str, Any]:
    """One fresh load of base + page_name: every response until the network is idle."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    responses: list = []
    failed: list[str] = []
    page.on("response", lambda r: responses.append(r))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(base + page_name, wait_until="networkidle", timeout=120_000)
    seen, quiet_since = len(responses), time.monotonic()
    while time.monotonic() - quiet_since < SETTLE_S:
        page.wait_for_timeout(250)
        if len(responses) != seen:
            seen, quiet_since = len(responses), time.monotonic()
    files: list[dict[str, Any]] = []
    for r in responses:
        try:
            size = len(r.body())
        except Exception:  # a response without a body (a redirect): counted, with no bytes
            size = 0
        path = r.url[len(base) :] if r.url.startswith(base) else r.url
        files.append({"path": path, "bytes": size, "status": r.status})
    context.close()
    by_kind: dict[str, dict[str, int]] = {}
    for f in files:
        k = by_kind.setdefault(kind_of(f["path"]), {"requests": 0, "bytes": 0})
        k["requests"] += 1
        k["bytes"] += f["bytes"]
    return {
        "requests": len(files),
        "bytes": sum(f["bytes"] for f in files),
        "failed": failed,
        "by_kind": by_kind,
        "scripts": sorted(f["path"] for f in files if f["path"].startswith("static/")),
        # each file but the thumbnails and atlases (counted in by_kind: 150 of them on the sample's map)
        "files": sorted((f for f in files if kind_of(f["path"]) != "images"), key=lambda f: f["path"]),
    }


def measure(browser, label: str, folder: Path, runs: int) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    with http_server(folder) as http_base:
        for scheme, base in (("http", http_base), ("file", folder.resolve().as_uri() + "/")):
            for page_name in PAGES:
                loads = [first_view(browser, base, page_name) for _ in range(runs)]
                row = dict(loads[0])
                row["runs"] = [{"requests": v["requests"], "bytes": v["bytes"]} for v in loads]
                row["requests_median"] = statistics.median(v["requests"] for v in loads)
                row["bytes_median"] = statistics.median(v["bytes"] for v in loads)
                out.setdefault(scheme, {})[page_name] = row
                print(
                    f"  {label:>8} {scheme:>4} {page_name:<13} {row['requests_median']:>4} requests "
                    f"{row['bytes_median']:>10,} bytes  (runs: "
                    + ", ".join(f"{v['requests']}/{v['bytes']:,}" for v in loads)
                    + ")",
                    flush=True,
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", action="append", required=True, help="label=folder of a built site")
    parser.add_argument("--runs", type=int, default=3, help="fresh loads of each page (the median is reported)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        raise SystemExit("no chromium on PATH (apt-get install chromium)")
    sites = [(s.split("=", 1)[0], Path(s.split("=", 1)[1])) for s in args.site]
    results: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            for label, folder in sites:
                results[label] = measure(browser, label, folder, args.runs)
        finally:
            browser.close()

    print(
        f"\n{'page':<13} {'scheme':<6}" + "".join(f" {label + ' req':>11} {label + ' bytes':>14}" for label, _ in sites)
    )
    for page_name in PAGES:
        for scheme in ("http", "file"):
            line = f"{page_name:<13} {scheme:<6}"
            for label, _ in sites:
                row = results[label][scheme][page_name]
                line += f" {row['requests_median']:>11} {row['bytes_median']:>14,}"
            print(line)

    record = {
        "what": "first view of each page: every response until the network is idle, no interaction",
        "viewport": VIEWPORT,
        "runs": args.runs,
        "sites": {label: str(folder) for label, folder in sites},
        "chromium": chromium_version(path),
        "chromium_args": CHROMIUM_ARGS,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "cpu": cpuinfo(),
        "python": platform.python_version(),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
