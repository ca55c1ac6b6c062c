"""How many threads inference runs on, and how they wait for work: never by spinning.

A runtime's thread pool normally spins (busy-waits) between operators, so that the next one starts a few
microseconds sooner on an idle machine. On a shared one (a laptop in use, a CI runner, a server) a spinning
thread holds a core that another process, or this build's own decoding threads (inputs/prepare.py), needs, and
the threads then wait for each other at every operator: measured on a 2-core CPU with one core kept busy by
another process, efficientnet_lite0 fell from 208 to 42 images/s in ONNX Runtime and from 42 to 4.1 in eager
PyTorch (issue 31). So every pool yields instead: ONNX Runtime's intra- and inter-op spinning is off, OpenMP's
wait policy is passive (for PyTorch's pool, and for OpenVINO's where it uses OpenMP), and each runtime gets as
many threads as this process may run on (its CPU affinity, which a container's or taskset's limit sets), no
more. What that costs a quiet machine and gains a busy one: bench/extract.py --contended.
"""

from __future__ import annotations

import os

# Read by the OpenMP runtime when it starts (PyTorch's, OpenVINO's): set before either is imported. A value the
# user set is kept.
OPENMP_ENVIRONMENT = {"OMP_WAIT_POLICY": "PASSIVE"}


def yield_when_idle() -> None:
    """Have OpenMP's threads sleep rather than spin when they wait; called before torch is imported."""
    for key, value in OPENMP_ENVIRONMENT.items():
        os.environ.setdefault(key, value)


def inference_threads() -> int:
    """The cores this process may run on: the threads an inference runtime uses."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def onnx_session_options() -> object:
    """ONNX Runtime session options: full graph optimisation, inference_threads() threads, no spinning."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = inference_threads()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options
