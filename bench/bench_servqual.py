"""Benchmark: SERVQUAL on 1,000,000 simulated responses (run on demand, not in the tests).

Frame: 22 items x (E, P) on a 7-point scale with 1 % missing answers, 5 allocation columns
(100 points per respondent) and a 4-level segment column, generated with a seeded numpy
Generator. Scored with every output of ``scoring.servqual.servqual`` (item, dimension and
overall gaps with intervals, paired t and Wilcoxon tests with Holm, weighted SERVQUAL,
segment breakdown with Welch ANOVA and Kruskal-Wallis); no bootstrap.

Floor, measured in the same run: ``frame[numeric columns].mean()`` in pandas, run
**interleaved** with the case (floor, case, floor, case, ...) and both taken as best of
``--repeat``, so the two see the same machine load; the median of the paired ratios
shows how reliably the goal is met.
Peak memory: tracemalloc peak during the call (numpy and pandas report their buffers to
tracemalloc) and the process's maximum resident set size.

    python bench/bench_servqual.py [--rows 1000000] [--seed 0] [--repeat 7]

Goal: servqual <= 5x the floor, peak < 1.5 GB.
"""

from __future__ import annotations

import argparse
import gc
import resource
import tracemalloc

import numpy as np
import pandas as pd
from bench_fuzzy_pca import interleaved, machine  # the script directory is on sys.path

from scoring.servqual import servqual

DIMENSIONS = {
    "tangibles": [f"tan{i}" for i in range(1, 5)],
    "reliability": [f"rel{i}" for i in range(1, 6)],
    "responsiveness": [f"res{i}" for i in range(1, 5)],
    "assurance": [f"ass{i}" for i in range(1, 5)],
    "empathy": [f"emp{i}" for i in range(1, 6)],
}


def simulate(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    items = [i for its in DIMENSIONS.values() for i in its]
    e = rng.integers(4, 8, size=(rows, len(items))).astype("float64")
    p = np.clip(e - rng.integers(-1, 3, size=e.shape), 1, 7).astype("float64")
    e[rng.random(e.shape) < 0.01] = np.nan
    p[rng.random(p.shape) < 0.01] = np.nan
    alloc = rng.multinomial(100, [0.2] * 5, size=rows).astype("float64")
    values = np.hstack([e, p, alloc])
    cols = [f"{i}_e" for i in items] + [f"{i}_p" for i in items]
    cols += [f"imp_{d}" for d in DIMENSIONS]
    df = pd.DataFrame(values, columns=cols)  # one consolidated float block, as read_csv gives
    df["region"] = rng.choice(np.array(["north", "south", "east", "west"]), size=rows)
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    df = simulate(args.rows, args.seed)
    numeric = df.columns[:-1]
    weights = {d: f"imp_{d}" for d in DIMENSIONS}

    def floor() -> None:
        df[numeric].mean()

    def run() -> None:
        servqual(df, dimensions=DIMENSIONS, weights=weights, segment="region")

    floor()
    run()  # warm-up: first touches of fresh memory are not what we measure
    run_s, floor_s, median = interleaved(run, floor, args.repeat)
    gc.collect()
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    frame_mb = df.memory_usage(deep=True).sum() / 2**20
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print(f"rows={args.rows:,} columns={df.shape[1]} frame={frame_mb:.0f} MiB")
    print(machine())
    print(f"best of {args.repeat}, interleaved with the floor")
    print(f"floor (pandas column means): {floor_s:.3f} s")
    print(f"servqual (all outputs):      {run_s:.3f} s  ratio {run_s / floor_s:.1f}x floor")
    print(f"median of the paired ratios (each run / the floor run before it): {median:.1f}x")
    print(f"peak traced memory during servqual: {peak / 2**20:.0f} MiB")
    print(f"max RSS of the process (frame included): {rss_mb:.0f} MiB")


if __name__ == "__main__":
    main()
