"""Benchmark: scoring.pls.fit_pls against seminr (PyPI port of R's seminr).

Run:  python bench/bench_pls.py [--quick]

Model: the ECSI-style satisfaction model of ../shared/reference/pls (250 rows, 27 items, 6
latents, 10 paths), path weighting scheme, mode A, standardized items -- seminr's
defaults -- fitted by both packages. Steps:

1. agreement: path coefficients, loadings and R² of both fits on the 250 rows;
2. fit time on the rows replicated to 25,000 and to 1,000,000 (tiling keeps the
   estimates identical, so the work grows but the answer does not);
3. 1,000 bootstrap resamples of the 250-row model.

Every timing is the best of a few repeats (``time.perf_counter``); peak memory is measured
in a separate pass under ``tracemalloc`` (numpy reports its buffers to it). Each line also
prints the ratio to a floor measured in the same run: one pass computing the item
covariance matrix ``X'X/n`` of the same data (blocked over rows, as fit_pls does), the
least work any estimator must do. The load average is printed: the machine is shared.

seminr is a dev dependency (pyproject.toml `[dev]`), used by the tests and this benchmark.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scoring.csi import ECSI  # noqa: E402
from scoring.pls import (  # noqa: E402
    _bootstrap_counts,
    _centred_cross_product,
    _resample_cov,
    fit_pls,
)

REF = Path(os.environ.get("MANYI_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))
# The reference model is ECSI without its complaints latent (plspm's satisfaction example).
SIZES = {"IMAG": 5, "EXPE": 5, "QUAL": 5, "VAL": 4, "SAT": 4, "LOY": 4}
BLOCKS = {lv: [f"{lv.lower()}{i}" for i in range(1, k + 1)] for lv, k in SIZES.items()}
PATHS = [p for p in ECSI.paths if "COMP" not in p]
ITEMS = [c for cols in BLOCKS.values() for c in cols]


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def peak_mb(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def ours(data: pd.DataFrame, bootstrap: int = 0, **options: Any) -> Any:
    return fit_pls(
        data,
        blocks=BLOCKS,
        paths=PATHS,
        scheme="path",
        scaled=True,
        tol=1e-7,
        bootstrap=bootstrap,
        seed=1,
        **options,
    )


def seminr_fit(data: pd.DataFrame) -> Any:
    import seminr

    mm = seminr.constructs(*[seminr.composite(k, v) for k, v in BLOCKS.items()])
    sm = seminr.relationships(*[seminr.paths(a, b) for a, b in PATHS])
    return seminr.estimate_pls(data, mm, sm)


def seminr_boot(model: Any, nboot: int) -> Any:
    import seminr

    return seminr.bootstrap_model(model, nboot=nboot, seed=1)


def assess_ours(data: pd.DataFrame, nboot: int, folds: int, repeats: int) -> Any:
    """Everything seminr's assessment gives: f² (re-estimated, as seminr), VIFs, HTMT,
    reliabilities, bootstrap (paths, loadings, weights, HTMT, total effects and more),
    PLSpredict with the linear benchmark."""
    return ours(data, nboot, f_squared="reestimate", predict_folds=folds, predict_repeats=repeats)


def assess_seminr(data: pd.DataFrame, nboot: int, folds: int, repeats: int) -> Any:
    import seminr
    from seminr.predict.metrics import item_metrics

    model = seminr_fit(data)
    summary = seminr.summarize(model)  # f², item and antecedent VIFs, HTMT, reliability
    boot = seminr.bootstrap_model(model, nboot=nboot, seed=1)
    metrics = [
        item_metrics(seminr.predict_pls(model, no_folds=folds, seed=r)) for r in range(repeats)
    ]
    return model, summary, boot, metrics


def assessment_agreement(data: pd.DataFrame) -> dict[str, float]:
    import seminr

    res = assess_ours(data, 0, 10, 1)
    summ = seminr.summarize(seminr_fit(data))
    f2 = _named(summ.f_square)
    out = {"f_squared": max(abs(res.f_squared.loc[a, b] - f2.loc[a, b]) for a, b in PATHS)}
    ht = _named(summ.validity.htmt)
    out["htmt"] = float(
        max(
            abs(res.htmt.loc[a, b] - ht.loc[a, b])
            for i, a in enumerate(ht.index)
            for b in ht.index[:i]
        )
    )
    out["item_vif"] = max(
        abs(res.item_vif.loc[i, "vif"] - v)
        for by in summ.validity.vif_items.values()
        for i, v in by.items()
    )
    return out


def floor(data: pd.DataFrame) -> Any:
    x = data.to_numpy(dtype=np.float64)
    return _centred_cross_product(x, x.mean(axis=0)) / len(x)


def boot_floor(data: pd.DataFrame, nboot: int) -> Any:
    """All resampled covariance matrices at once: the least work of a bootstrap."""
    x = data.to_numpy(dtype=np.float64)
    counts = _bootstrap_counts(len(x), nboot, np.random.default_rng(1))
    return _resample_cov(x - x.mean(axis=0), counts, True)


def _named(m: Any) -> pd.DataFrame:
    return pd.DataFrame(m.values, index=list(m.rows), columns=list(m.cols))


def agreement(data: pd.DataFrame, sem: Any) -> dict[str, float]:
    res = ours(data)
    path = _named(sem.path_coef)
    mine = np.array([res.path_matrix.loc[b, a] for a, b in PATHS])
    theirs = np.array([path.loc[a, b] for a, b in PATHS])
    loads = _named(sem.outer_loadings)
    their_l = np.array([loads.loc[i, res.outer_model.loc[i, "block"]] for i in ITEMS])
    r2 = _named(sem.r_squared) if hasattr(sem.r_squared, "rows") else None
    out = {
        "paths": float(np.abs(mine - theirs).max()),
        "loadings": float(np.abs(res.outer_model.loc[ITEMS, "loading"] - their_l).max()),
    }
    if r2 is not None:
        lv = [k for k in BLOCKS if res.inner_summary.loc[k, "type"] == "Endogenous"]
        out["r_squared"] = float(
            np.abs(res.inner_summary.loc[lv, "r_squared"] - r2.loc["Rsq", lv]).max()
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the 1,000,000-row seminr fit")
    args = parser.parse_args()
    base = pd.read_csv(REF / "pls" / "satisfaction.csv", index_col=0)[ITEMS].astype(float)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, pandas {pd.__version__}")
    print(f"cpus {os.cpu_count()}, load average at start {os.getloadavg()[0]:.2f}")
    try:
        import seminr

        have_seminr = True
        print(f"seminr {getattr(seminr, '__version__', '?')}")
    except ImportError as exc:  # pragma: no cover - depends on the machine
        have_seminr = False
        print(f"seminr unavailable ({exc}); comparing against the covariance floor only")

    if have_seminr:
        sem = seminr_fit(base)
        print("agreement with seminr (max |difference|):", agreement(base, sem))

    print(
        f"\n{'task':<28}{'ours s':>10}{'seminr s':>10}{'x faster':>9}{'floor s':>10}"
        f"{'ours/floor':>11}{'ours MB':>9}{'seminr MB':>10}"
    )
    for n in (25_000, 1_000_000):
        data = pd.concat([base] * (n // len(base)), ignore_index=True)
        reps = 5 if n <= 25_000 else 3
        t_floor, _ = best_of(lambda d=data: floor(d), reps)
        t_ours, _ = best_of(lambda d=data: ours(d), reps)
        m_ours = peak_mb(lambda d=data: ours(d))
        t_sem = m_sem = float("nan")
        if have_seminr and not (args.quick and n > 25_000):
            t_sem, _ = best_of(lambda d=data: seminr_fit(d), 1 if n > 25_000 else 3)
            m_sem = peak_mb(lambda d=data: seminr_fit(d))
        print(
            f"{f'fit, {n:,} rows':<28}{t_ours:>10.3f}{t_sem:>10.3f}{t_sem / t_ours:>9.1f}"
            f"{t_floor:>10.3f}{t_ours / t_floor:>11.1f}{m_ours:>9.1f}{m_sem:>10.1f}"
        )

    nboot = 1000
    t_floor, _ = best_of(lambda: boot_floor(base, nboot), 3)
    t_ours, _ = best_of(lambda: ours(base, bootstrap=nboot), 3)
    m_ours = peak_mb(lambda: ours(base, bootstrap=nboot))
    t_sem = m_sem = float("nan")
    if have_seminr:
        sem = seminr_fit(base)
        t_sem, _ = best_of(lambda: seminr_boot(sem, nboot), 1)
        m_sem = peak_mb(lambda: seminr_boot(sem, nboot))
    print(
        f"{'bootstrap 1,000 x 250 rows':<28}{t_ours:>10.3f}{t_sem:>10.3f}"
        f"{t_sem / t_ours:>9.1f}{t_floor:>10.3f}{t_ours / t_floor:>11.1f}{m_ours:>9.1f}"
        f"{m_sem:>10.1f}"
    )
    if have_seminr:
        print("assessment agreement with seminr (max |difference|):", assessment_agreement(base))
    for n, nboot_a, repeats in ((250, 1000, 10), (25_000, 1000, 10), (25_000, 50, 1)):
        data = base if n == 250 else pd.concat([base] * (n // len(base)), ignore_index=True)
        t_ours, _ = best_of(lambda d=data, b=nboot_a, r=repeats: assess_ours(d, b, 10, r), 1)
        t_sem = float("nan")
        heavy = n > 250 and nboot_a > 100  # seminr would take many minutes: ours only
        if have_seminr and not heavy:
            t_sem, _ = best_of(lambda d=data, b=nboot_a, r=repeats: assess_seminr(d, b, 10, r), 1)
        label = f"assess {n:,}: {nboot_a} boot, 10x{repeats}"
        print(f"{label:<28}{t_ours:>10.3f}{t_sem:>10.3f}{t_sem / t_ours:>9.1f}")
    print("floor: one covariance pass over the same rows (bootstrap: the 1,000 resampled")
    print("       covariance matrices computed together)")
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
