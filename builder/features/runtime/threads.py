"""How inference uses the cores: streams of one thread each, which yield when they wait.

A runtime's thread pool normally splits each operator across its threads and spins (busy-waits) between
operators, so that the next one starts a few microseconds sooner on an idle machine. On a shared one (a laptop
in use, a CI runner, a server, or this build's own decoding threads: inputs/prepare.py) the threads then wait
for the slowest at every operator, and a spinning thread holds a core someone else needs: measured on a 2-core
Intel Xeon with one core kept busy by another process, efficientnet_lite0 fell from 208 to 42 images/s in ONNX
Runtime and from 42 to 4.1 in eager PyTorch (issue 31); on a 2-core AMD EPYC, ONNX Runtime kept 37-48%.

So a batch is cut into STREAMS_PER_CORE parts per core this process may run on (its CPU affinity, which a
container's or taskset's limit sets), and each part runs on its own thread through a session of one thread: no
operator waits for another thread, the operating system shares the cores among the streams and whatever else
runs, and nothing spins (ONNX Runtime's spinning is off, OpenMP's wait policy passive). Measured on the 2-core
EPYC with efficientnet_lite0, batches of 16: 2 threads splitting each operator kept 55-59% of their quiet speed
with a core busy, 4 streams of one thread 71-77%, at the same quiet speed; on a 2-core Xeon with AMX, 44% and
71% (bench/extract.py --contended has the figures per network). Eager PyTorch keeps its own pool (as many
threads as cores, passive OpenMP). A Ray actor counts the CPUs Ray gave it, not the machine's
(`inference_threads`), and gets the same wait policy.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Read by the OpenMP runtime when it starts (PyTorch's): set before it is imported. A value the user set is kept.
OPENMP_ENVIRONMENT = {"OMP_WAIT_POLICY": "PASSIVE"}
STREAMS_PER_CORE = 2


def yield_when_idle() -> None:
    """Have OpenMP's threads sleep rather than spin when they wait; called before torch is imported."""
    for key, value in OPENMP_ENVIRONMENT.items():
        os.environ.setdefault(key, value)


def inference_threads() -> int:
    """The cores this process may run on, or fewer where OMP_NUM_THREADS says so: Ray sets it to an actor's
    CPUs (one per extraction actor: ray_engine.py), and a user who sets it means it."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        cores = max(1, os.cpu_count() or 1)
    asked = os.environ.get("OMP_NUM_THREADS", "").strip()
    return min(cores, int(asked)) if asked.isdigit() and int(asked) > 0 else cores


def inference_streams() -> int:
    """How many parts a batch is cut into, each run on a thread of its own."""
    return STREAMS_PER_CORE * inference_threads()


def onnx_session_options() -> object:
    """ONNX Runtime session options for one stream: full graph optimisation, one thread, no spinning."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


class Streams:
    """A batch cut into parts, each run by `run` on a thread of its own (the runtime releases the GIL), and
    the parts' outputs joined again in order: `run` returns a list of arrays, one per output of the model."""

    def __init__(self, run: Callable[[np.ndarray], Sequence[np.ndarray]], streams: int | None = None) -> None:
        self.run = run
        self.streams = streams or inference_streams()
        self.pool = ThreadPoolExecutor(self.streams, thread_name_prefix="vsis-stream")

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        parts = np.array_split(batch, min(self.streams, len(batch))) if len(batch) else [batch]
        outs = list(self.pool.map(self.run, parts))
        return [np.concatenate([out[i] for out in outs]) for i in range(len(outs[0]))]
