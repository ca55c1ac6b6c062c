"""onnxruntime-web in the published site, in the form a page can load from file:// as well as from http.

The vendored runtime (static/vendor/onnxruntime-web/, written and checked by scripts/vendor_onnxruntime.py)
is npm's files as they are: the classic-script build `ort.wasm.min.js`, the Emscripten module
`ort-wasm-simd-threaded.mjs` it imports, and the `ort-wasm-simd-threaded.wasm` that module compiles. A page
opened from file:// has an opaque origin, and Chromium refuses it both the runtime's `import()` of the .mjs
and its `fetch()` of the .wasm. Classic <script> tags still load from file://, so the site carries the two
inside classic scripts, which static/ort-loader.js hands to the runtime (`env.wasm.wasmPaths.mjs` as a data:
URL, `env.wasm.wasmBinary` as bytes):

- `vendor/onnxruntime-web/ort.wasm.min.js`: as vendored; defines the global `ort`.
- `vendor/onnxruntime-web/ort-wasm-simd-threaded.mjs.js`: `window.VSIS_ORT_MJS`, the module's source as a
  string (24 KB).
- `vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm.js`: `window.VSIS_ORT_WASM_GZ`, base64 of the gzipped
  .wasm: 4.9 MB where plain base64 would be 19 MB (the .wasm is 14 MB); the page inflates it with the
  browser's DecompressionStream in about 0.1 s.
- `vendor/onnxruntime-web/LICENSE`: the runtime's MIT licence.

The same files serve http, so a site has one way of loading the runtime, tested from both.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from pathlib import Path

from builder.errors import VsisError
from builder.resources import static_dir

SITE_DIR = "vendor/onnxruntime-web"  # where the runtime lies in a site; static/ort-loader.js expects it there
RUNTIME = "ort.wasm.min.js"
MODULE = "ort-wasm-simd-threaded.mjs"
WASM = "ort-wasm-simd-threaded.wasm"
LICENSE = "LICENSE"
VENDORED = (RUNTIME, MODULE, WASM, LICENSE)  # the files taken from the package (and its licence)
CHECKSUMS = "CHECKSUMS.sha256"
NOTE = "README.md"  # package, version, licence and source, written by the vendoring script


def vendor_dir() -> Path:
    """The vendored runtime: static/vendor/onnxruntime-web at the repository top or inside the wheel."""
    return static_dir() / "vendor" / "onnxruntime-web"


def read_checksums(folder: Path) -> dict[str, str]:
    """CHECKSUMS.sha256 of `folder` (sha256sum's format, so `sha256sum -c` checks it too): name -> hex."""
    sums: dict[str, str] = {}
    for line in (folder / CHECKSUMS).read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


def check_vendored(folder: Path) -> list[str]:
    """What is wrong with the vendored runtime in `folder` (nothing: []): a file missing, different from its
    checksum, or not listed (a runtime variant nobody checked), or a vendored file left out of the list."""
    if not (folder / CHECKSUMS).is_file():
        return [f"{folder / CHECKSUMS}: missing"]
    sums = read_checksums(folder)
    problems = [f"{name}: not in {CHECKSUMS}" for name in (*VENDORED, NOTE) if name not in sums]
    for name, digest in sorted(sums.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{name}: sha256 differs from {CHECKSUMS}")
    listed = {*sums, CHECKSUMS}
    problems += [f"{p.name}: not in {CHECKSUMS}" for p in sorted(folder.iterdir()) if p.name not in listed]
    return problems


def _script(name: str, value: str) -> bytes:
    """A classic script that sets window.<name> to the string `value` (JSON's ASCII string is valid JS)."""
    return f"window.{name} = {json.dumps(value)};\n".encode("ascii")


def runtime_files(folder: Path | None = None) -> dict[str, bytes]:
    """Site path -> bytes of every file of the runtime, from the vendored runtime in `folder` (default: the
    installed one), which must match its checksums: a site never ships a runtime other than the pinned one."""
    folder = folder or vendor_dir()
    problems = check_vendored(folder)
    if problems:
        raise VsisError(f"the vendored onnxruntime-web in {folder} is not the pinned one: {'; '.join(problems)}")
    wasm = (folder / WASM).read_bytes()
    # mtime=0: the same bytes every build, so an unchanged site stays unchanged
    packed = base64.b64encode(gzip.compress(wasm, compresslevel=6, mtime=0)).decode("ascii")
    return {
        f"{SITE_DIR}/{RUNTIME}": (folder / RUNTIME).read_bytes(),
        f"{SITE_DIR}/{MODULE}.js": _script("VSIS_ORT_MJS", (folder / MODULE).read_text(encoding="utf-8")),
        f"{SITE_DIR}/{WASM}.js": _script("VSIS_ORT_WASM_GZ", packed),
        f"{SITE_DIR}/{LICENSE}": (folder / LICENSE).read_bytes(),
    }


def write_runtime(root: Path, folder: Path | None = None) -> dict[str, int]:
    """Write runtime_files() under the site's folder `root`; return site path -> bytes written."""
    sizes: dict[str, int] = {}
    for rel, data in runtime_files(folder).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        sizes[rel] = len(data)
    return sizes
