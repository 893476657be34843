"""Benchmark: fuzzy comprehensive evaluation and the PCA index on simulated respondents.

Simulates N respondents x 22 five-point items (SERVQUAL's 22 items in five dimensions,
one common satisfaction factor plus a dimension factor, about 1 % of answers missing)
with a seeded numpy generator, then times, in the same run:

- the floor: ``frame[items].mean()`` (the column means of the frame);
- ``fuzzy_evaluate`` over the five-dimension hierarchy, without and with 8 segments;
- ``pca_index`` (Kaiser retention, listwise deletion), without and with 8 segments.

Each timing is the best of ``--repeat`` runs, interleaved with the floor; ``median x`` is
the median ratio of each run to the floor run just before it (how reliably the goal is
met under the machine's load). Peak memory is measured separately with
tracemalloc (numpy reports its buffers to it) and given next to the frame's own size.

Run:  python bench/bench_fuzzy_pca.py [--n 1000000] [--seed 0] [--repeat 7]
Goals: fuzzy <= 5x the floor, PCA <= 10x the floor.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from scoring.fuzzy import fuzzy_evaluate
from scoring.pca import pca_index

DIMENSIONS = {
    "tangibles": range(1, 5),
    "reliability": range(5, 10),
    "responsiveness": range(10, 14),
    "assurance": range(14, 18),
    "empathy": range(18, 23),
}


def simulate(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(n, 1))
    cols = {}
    for d, items in DIMENSIONS.items():
        dim = rng.normal(scale=0.6, size=(n, 1))
        latent = 3.6 + 0.8 * common + dim + 0.7 * rng.normal(size=(n, len(items)))
        answers = np.clip(np.rint(latent), 1, 5)
        answers[rng.random(answers.shape) < 0.01] = np.nan
        for j, i in enumerate(items):
            cols[f"q{i}"] = answers[:, j]
        del d
    frame = pd.DataFrame(cols)
    frame["segment"] = rng.choice([f"branch_{k}" for k in range(8)], size=n)
    return frame


def interleaved(
    fn: Callable[[], Any], floor: Callable[[], Any], repeat: int
) -> tuple[float, float, float]:
    """Best time of ``fn``, best time of ``floor`` and the median of the paired ratios.

    The two run alternately (floor, fn, floor, fn, ...) so both see the same machine
    load; the median ratio of each fn run to the floor run just before it shows how
    reliably the goal is met, the best times what the code can do.
    """
    t_fn, t_floor = [], []
    for _ in range(repeat):
        for f, out in ((floor, t_floor), (fn, t_fn)):
            gc.collect()
            t0 = time.perf_counter()
            f()
            out.append(time.perf_counter() - t0)
    ratios = np.array(t_fn) / np.array(t_floor)
    return min(t_fn), min(t_floor), float(np.median(ratios))


def machine() -> str:
    """Load average and BLAS threads, to print next to the figures."""
    from threadpoolctl import threadpool_info

    blas = [f"{i['internal_api']} {i['num_threads']} thread(s)" for i in threadpool_info()]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load {load}; {'; '.join(blas) or 'no BLAS found'}"


def peak_mib(fn: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    frame = simulate(args.n, args.seed)
    items = [f"q{i}" for i in range(1, 23)]
    factors = {d: [f"q{i}" for i in r] for d, r in DIMENSIONS.items()}
    grades = {
        5: "very_satisfied",
        4: "satisfied",
        3: "neutral",
        2: "dissatisfied",
        1: "very_dissatisfied",
    }
    fuzzy_kw: dict[str, Any] = {
        "factors": factors,
        "grades": grades,
        "grade_scores": [100, 80, 60, 40, 20],
        "weights": [0.11, 0.32, 0.22, 0.19, 0.16],
    }

    def floor() -> Any:
        return frame[items].mean()

    cases: dict[str, Callable[[], Any]] = {
        "fuzzy_evaluate": lambda: fuzzy_evaluate(frame, **fuzzy_kw),
        "fuzzy_evaluate, 8 segments": lambda: fuzzy_evaluate(frame, segment="segment", **fuzzy_kw),
        "pca_index": lambda: pca_index(frame, items=items),
        "pca_index, 8 segments": lambda: pca_index(frame, items=items, segment="segment"),
    }
    frame_mib = frame[items].memory_usage(index=False).sum() / 2**20
    print(
        f"{args.n:,} respondents x {len(items)} items (float64 frame {frame_mib:.0f} MiB), "
        f"seed {args.seed}, best of {args.repeat}, each case interleaved with the floor"
    )
    print(machine())
    print(
        f"{'case':28} {'seconds':>8} {'floor s':>8} {'x floor':>8} {'median x':>8} {'peak MiB':>9}"
    )
    floor()
    print(f"{'floor: frame[items].mean()':28} {'':35} {peak_mib(floor):9.0f}")
    for name, fn in cases.items():
        fn()  # warm-up: first touches of fresh memory are not what we measure
        t, t_floor, median = interleaved(fn, floor, args.repeat)
        figures = f"{t:8.3f} {t_floor:8.3f} {t / t_floor:8.1f} {median:8.1f}"
        print(f"{name:28} {figures} {peak_mib(fn):9.0f}")
    res = fuzzy_evaluate(frame, **fuzzy_kw)
    pca = pca_index(frame, items=items)
    print(
        f"check: fuzzy B = {np.round(res.B.to_numpy(), 4)}, S = {res.score:.2f}; "
        f"PCA kept {pca.n_components}, n = {pca.n:,}, KMO = {pca.kmo.overall:.3f}"
    )


if __name__ == "__main__":
    main()
