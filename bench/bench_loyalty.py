"""Benchmark: loyalty curve and churn model on 1,000,000 customers with outcomes (run on
demand, not in the tests).

Frame: per customer an overall satisfaction 1-5, five dimension gaps (float, two
decimals), tenure (0-19), a 3-level segment, churned/retained (0/1, from a logit of the
overall score and one gap) and revenue, generated with a seeded numpy Generator.

Case: ``loyalty_curve`` (retention per level of the overall score and of each of the
five gaps, Wilson intervals, zones) plus ``churn_model`` on the five gaps with tenure and
segment as controls (odds ratios, average marginal effects, in-sample AUC, 5-fold
cross-validated AUC, calibration table with Hosmer-Lemeshow).

Floor, measured in the same run and interleaved with the case (floor, case, ...; best of
``--repeat``): statsmodels ``Logit(y, X).fit()`` alone on the same design matrix (constant,
five gaps, tenure, two segment dummies), the matrix built beforehand.
Peak memory: tracemalloc peak during the case, against the frame's own size.

    python bench/bench_loyalty.py [--rows 1000000] [--seed 0] [--repeat 3] [--folds 5]

Goal: curve + churn model <= 3x the floor, peak memory <= 2x the frame.
"""

from __future__ import annotations

import argparse
import resource

import numpy as np
import pandas as pd
import statsmodels.api as sm
from bench_fuzzy_pca import interleaved, machine, peak_mib  # the script folder is on sys.path

from scoring.loyalty import churn_model, loyalty_curve

GAPS = [f"gap_{d}" for d in ("tan", "rel", "res", "ass", "emp")]


def simulate(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sat = rng.integers(1, 6, size=rows).astype("float64")
    gaps = np.round(rng.normal(-0.4, 1.0, size=(rows, len(GAPS))), 2)
    df = pd.DataFrame(gaps, columns=GAPS)
    df.insert(0, "sat", sat)
    df["tenure"] = rng.integers(0, 20, size=rows).astype("float64")
    df["segment"] = rng.choice(np.array(["business", "individual", "vip"]), size=rows)
    eta = -1.6 - 0.5 * (sat - 3) - 0.4 * gaps[:, 1] - 0.02 * df["tenure"].to_numpy()
    churned = (rng.random(rows) < 1 / (1 + np.exp(-eta))).astype("float64")
    df["churned"] = churned
    df["retained"] = 1.0 - churned
    df["revenue"] = np.round(rng.lognormal(5.0, 1.0, size=rows), 2)
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    args = ap.parse_args()

    df = simulate(args.rows, args.seed)
    design = sm.add_constant(df[[*GAPS, "tenure"]]).assign(
        individual=(df["segment"] == "individual").astype("float64"),
        vip=(df["segment"] == "vip").astype("float64"),
    )
    x, y = design.to_numpy(), df["churned"].to_numpy()

    def floor() -> None:
        sm.Logit(y, x).fit(disp=0)

    def run() -> None:
        loyalty_curve(df, drivers=["sat", *GAPS], outcomes=["retained"])
        churn_model(
            df,
            outcome="churned",
            predictors=GAPS,
            controls=["tenure", "segment"],
            folds=args.folds,
        )

    floor()
    run()  # warm-up: first touches of fresh memory are not what we measure
    run_s, floor_s, median = interleaved(run, floor, args.repeat)
    peak = peak_mib(run)
    frame_mb = df.memory_usage(deep=True).sum() / 2**20
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print(f"rows={args.rows:,} columns={df.shape[1]} frame={frame_mb:.0f} MiB")
    print(machine())
    print(f"best of {args.repeat}, interleaved with the floor; {args.folds}-fold CV")
    print(f"floor (statsmodels Logit alone, same design): {floor_s:.3f} s")
    print(f"loyalty curve + churn model:               {run_s:.3f} s  ratio {run_s / floor_s:.2f}x")
    print(f"median of the paired ratios: {median:.2f}x")
    print(f"peak traced memory during the case: {peak:.0f} MiB ({peak / frame_mb:.2f}x frame)")
    print(f"max RSS of the process (frame included): {rss_mb:.0f} MiB")


if __name__ == "__main__":
    main()
