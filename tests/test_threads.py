"""Inference on shared cores (features/runtime/threads.py): a batch cut into streams and joined again in order,
sessions of one thread that never spin, OpenMP told to wait passively unless the user said otherwise."""

from __future__ import annotations

import threading

import numpy as np

from builder.features.runtime import threads


def test_a_batch_is_cut_into_streams_run_on_threads_and_joined_in_order() -> None:
    seen: list[tuple[int, str]] = []

    def run(part: np.ndarray) -> list[np.ndarray]:
        seen.append((len(part), threading.current_thread().name))
        return [part * 2, part.sum(axis=1)]

    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    out = threads.Streams(run, 4)(x)
    np.testing.assert_array_equal(out[0], x * 2)
    np.testing.assert_array_equal(out[1], x.sum(axis=1))
    assert sorted(n for n, _ in seen) == [2, 2, 3, 3]
    assert all(name.startswith("vsis-stream") for _, name in seen)
    seen.clear()
    one = threads.Streams(run, 4)(x[:1])  # fewer images than streams: one part each
    np.testing.assert_array_equal(one[0], x[:1] * 2)
    assert [n for n, _ in seen] == [1]


def test_sessions_run_one_thread_each_and_never_spin() -> None:
    options = threads.onnx_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (1, 1)
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    assert threads.inference_streams() == threads.STREAMS_PER_CORE * threads.inference_threads() >= 2


def test_openmp_waits_passively_unless_the_user_chose(monkeypatch) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    threads.yield_when_idle()
    assert threads.os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    threads.yield_when_idle()
    assert threads.os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_inference_counts_the_cores_it_may_run_on_or_fewer_where_omp_num_threads_says(monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cores = threads.inference_threads()
    assert cores >= 1
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # as Ray sets it for an actor of one CPU
    assert threads.inference_threads() == 1 and threads.inference_streams() == threads.STREAMS_PER_CORE
    monkeypatch.setenv("OMP_NUM_THREADS", str(cores + 7))  # more than there are: the cores
    assert threads.inference_threads() == cores
    for unusable in ("0", "", "four", "-2"):
        monkeypatch.setenv("OMP_NUM_THREADS", unusable)
        assert threads.inference_threads() == cores
