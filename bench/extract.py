"""Extraction speed per network x backend x precision, and whether the faster ways find what torch fp32 finds.

    python bench/extract.py                                         # the bundled sample
    python bench/extract.py --openclipart 2000 --networks efficientnet_lite0,resnet152,vgg16

Images are decoded and preprocessed once, up front, so the figures are inference alone. Each network x
mode (backend:precision) runs in its own process (so its peak memory is its own): one warm-up batch, then
every image in batches of --batch-size, pass after pass for at least --min-seconds (10: a fast mode covers the
sample's 150 images in 2 s, which one hiccup of a shared machine would skew), its speed that of the mean pass
and its features those of the first; int8 is first calibrated on the first 64 inputs, as a build does
(its quantization and check against fp32 are reported apart, as load/export, with the check's verdict: a
build would use fp32 where it fails). Every row records the CPU's features. Reported against the first
mode (torch:fp32) measured in the same run: speed-up, the largest and mean cosine distance between the two
features of an image, and recall@10, the share of each image's exact 10 nearest neighbours by torch fp32 that the other
way also finds. Writes bench/results/extract.json.
Torchvision networks without cached ImageNet weights run with random weights (timing and equivalence
only; see common.ensure_weights).

A mode `BACKEND:auto` is what `--precision auto --backend BACKEND` runs ('auto:auto': any backend): the
worker makes its choice as a build does (auto_precision.choose: each candidate made, checked and timed on the
calibration inputs; its time is reported as load/export), then times the chosen mode like any other.

Every row also gives its roofline share: images/s x the network's GFLOP per image (counted by
torch.utils.flop_counter) over this CPU's measured peak in the precision it ran in (bench/roofline.py: the
fastest large matrix product on every core, fp32, bf16 or int8).

A mode may end in `:spinning`: the runtime's own thread defaults (ONNX Runtime's pool splitting each batch's
operators and spinning, OpenMP's active wait, torch's own thread count), as builds ran before
features/runtime/threads.py, for comparison (ONNX Runtime and torch).
--contended runs every mode a second time while another process keeps one core busy (a Python busy loop,
started before the mode's process and ended after it) and reports each mode's share of its quiet speed.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import REPO, bench_collection, cpu, ensure_weights, save_results
from roofline import gflop_per_image, measured_peaks


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started: VmHWM, which (unlike getrusage's ru_maxrss,
    kept across exec) does not include what the parent process held before starting it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(args: argparse.Namespace) -> None:
    """In a child process: time one network x backend over the saved inputs."""
    from builder.features.extract import l2_normalise
    from builder.features.networks import get
    from builder.features.runtime.backends import load_extractor, plan_precision
    from builder.features.runtime.quantize import CALIBRATION_INPUTS

    spec = get(args.network)
    inputs = np.load(args.inputs, mmap_mode="r")
    backend, precision, *variant = args.mode.split(":")
    if variant == ["spinning"]:  # the runtimes' own defaults, as before threads.py
        import onnxruntime as ort

        from builder.features.runtime import backends, torch_runtime

        def spinning() -> object:
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            return options

        backends.onnx_session_options = spinning  # type: ignore[assignment]
        backends.Streams = lambda run, streams=None: None  # type: ignore[assignment,misc]  # the batch whole
        torch_runtime.inference_threads = lambda: torch_runtime.torch.get_num_threads()  # type: ignore[attr-defined]
    else:
        from builder.features.runtime.threads import yield_when_idle

        yield_when_idle()
    start = time.perf_counter()
    calibration = np.ascontiguousarray(inputs[:CALIBRATION_INPUTS])
    chosen = ""
    if precision == "auto":  # as a build decides: each candidate made, checked and timed, the choice kept
        from builder.features.runtime.auto_precision import choose

        choice = choose(spec, None, Path(args.cache), calibration, args.batch_size, backend)
        backend, precision, chosen = choice.chosen.backend, choice.chosen.precision, choice.reason()
    extractor = load_extractor(spec, None, "cpu", backend, Path(args.cache), precision, calibration)
    load_s = time.perf_counter() - start
    check = ""
    if precision == "int8":  # the verdict a build would act on (here every int8 model is measured anyway)
        plan = plan_precision(spec, None, "int8", "cpu", Path(args.cache), backend=backend)
        check = "no check" if plan.pending else plan.reason or "passed"
    extractor(np.ascontiguousarray(inputs[: args.batch_size]))  # warm-up
    features: list[np.ndarray] = []
    passes, start = 0, time.perf_counter()
    while passes == 0 or time.perf_counter() - start < args.min_seconds:  # whole passes; the first's features
        for i in range(0, len(inputs), args.batch_size):
            out = extractor(np.ascontiguousarray(inputs[i : i + args.batch_size]))
            if passes == 0:
                features.append(out[0] if isinstance(out, tuple) else out)  # a tagging network's tags aside
        passes += 1
    seconds = (time.perf_counter() - start) / passes  # one pass
    np.save(args.features, l2_normalise(np.concatenate(features)))
    peak_mb = peak_rss_mb()
    ran = {"backend": backend, "precision": precision, "auto": chosen}
    measured = {"seconds": seconds, "passes": passes, "load_seconds": load_s, "peak_rss_mb": peak_mb}
    print(json.dumps({**measured, "int8_check": check, **ran}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openclipart", type=int, default=0)
    parser.add_argument("--networks", default="efficientnet_lite0")
    parser.add_argument(
        "--modes",
        default="torch:fp32,onnx:fp32,torch:bf16,onnx:int8",
        help="backend:precision, comma-separated; the first is the reference",
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--min-seconds", type=float, default=10.0, help="each mode timed over whole passes for at least this long"
    )
    parser.add_argument("--contended", action="store_true", help="each mode again with one core kept busy")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "extract.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--network", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--inputs", help=argparse.SUPPRESS)
    parser.add_argument("--features", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    from builder.collect.collection import scan
    from builder.features.networks import get
    from builder.inputs.images import ImageError, decode
    from builder.search.neighbours import exact_neighbours, recall_against

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    peaks = measured_peaks()
    print(f"CPU {cpu()}; measured peaks: " + ", ".join(f"{p} {g:.0f} G/s" for p, g in peaks.items()), flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="vsis-bench-") as tmp:
        tmp_path = Path(tmp)
        root, _, label = bench_collection(args.openclipart, tmp_path)
        images = []
        for item in scan(root, follow_external_links=True).items:  # the drawings are linked in
            try:
                images.append(decode(item.path))
            except ImageError:
                pass
        for name in [n.strip() for n in args.networks.split(",") if n.strip()]:
            weights = ensure_weights(name, tmp_path / "torch_home")
            spec = get(name)
            gflop = gflop_per_image(spec)
            inputs = tmp_path / f"{name}-inputs.npy"
            np.save(inputs, np.stack([spec.preprocess(im) for im in images]).astype(np.float32))
            results, contended = {}, {}
            for mode, busy in [(m, False) for m in modes] + ([(m, True) for m in modes] if args.contended else []):
                features = tmp_path / f"{name}-{mode.replace(':', '-')}.npy"
                spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
                done = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--worker",
                        "--network",
                        name,
                        "--mode",
                        mode,
                        "--inputs",
                        str(inputs),
                        "--features",
                        str(features),
                        "--cache",
                        str(tmp_path / "cache"),
                        "--batch-size",
                        str(args.batch_size),
                        "--min-seconds",
                        str(args.min_seconds),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                if spinner is not None:
                    spinner.kill()
                    spinner.wait()
                measured = json.loads(done.stdout.strip().splitlines()[-1])
                if busy:
                    contended[mode] = measured
                    continue
                results[mode] = (measured, np.load(features))
            reference_measured, reference = results[modes[0]]
            reference_top = exact_neighbours(reference, 10)
            for mode, (measured, feats) in results.items():
                recall = recall_against(exact_neighbours(feats, 10), reference_top)
                distance = 1.0 - np.sum(reference * feats, axis=1)
                backend, precision, variant = measured["backend"], measured["precision"], mode.split(":")[2:]
                row = {
                    "network": name,
                    "mode": mode,
                    "backend": backend,
                    "precision": precision,
                    "threads": "runtime defaults (spinning)" if variant else "threads.py (yielding)",
                    "weights": weights,
                    "images": len(images),
                    "passes": measured["passes"],
                    "images_per_s": round(len(images) / measured["seconds"], 2),
                    "speedup": round(reference_measured["seconds"] / measured["seconds"], 2),
                    "max_cosine_distance": float(np.max(distance)),
                    "mean_cosine_distance": float(np.mean(distance)),
                    "recall_at_10": round(float(recall), 4),
                    "peak_rss_mb": round(measured["peak_rss_mb"]),
                    "load_s": round(measured["load_seconds"], 1),
                    "gflop_per_image": round(gflop, 2),
                    "peak_gflop_per_s": round(peaks[precision], 1),
                    "roofline_share": round(len(images) / measured["seconds"] * gflop / peaks[precision], 3),
                }
                if measured["auto"]:
                    row["auto_choice"] = measured["auto"]
                if precision == "int8":
                    row["int8_check"] = measured["int8_check"]
                if mode in contended:
                    row["contended_images_per_s"] = round(len(images) / contended[mode]["seconds"], 2)
                    row["contended_share"] = round(measured["seconds"] / contended[mode]["seconds"], 3)
                rows.append(row)
                print(
                    f"{label}: {name:<18} {mode:<20} {f'{precision} on {backend}':<18} "
                    f"{row['images_per_s']:7.1f} img/s  "
                    f"roofline {row['roofline_share']:.0%}  "
                    f"x{row['speedup']:.2f}  cos dist max {row['max_cosine_distance']:.1e} "
                    f"mean {row['mean_cosine_distance']:.1e}  recall@10 {row['recall_at_10']:.3f}  "
                    f"peak {row['peak_rss_mb']} MB  (load/export {row['load_s']} s; weights: {weights})"
                    + (f"  int8 check: {row['int8_check']}" if "int8_check" in row else "")
                    + (f"  auto: {row['auto_choice']}" if "auto_choice" in row else "")
                    + (
                        f"  one core busy: {row['contended_images_per_s']:.1f} img/s ({row['contended_share']:.0%})"
                        if "contended_share" in row
                        else ""
                    ),
                    flush=True,
                )
    save_results(args.out, label, rows)


if __name__ == "__main__":
    main()
