"""PLSpredict: k-fold out-of-sample prediction of a PLS path model (Shmueli et al. 2016, 2019).

Used by :func:`scoring.pls.fit_pls` (``predict_folds``); the folds of one repetition are
fitted together as a stack of covariance matrices, like the bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from scoring._results import Result
from scoring.errors import InsufficientDataError, SingularMatrixError, SpecificationError

if TYPE_CHECKING:  # only for annotations: scoring.pls imports this module
    from scoring.pls import _Spec

Array = NDArray[Any]

__all__ = ["PlsPrediction", "fold_of_position"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlsPrediction(Result):
    """Out-of-sample predictions of the endogenous latents' items (PLSpredict).

    Attributes
    ----------
    folds, repeats : int
        k of the k-fold cross-validation and the number of repetitions (each with its
        own random partition).
    seed : int or None
        Seed of :func:`numpy.random.default_rng` whose successive ``permutation(n)``
        give the row order of each repetition.
    items : DataFrame
        One row per item of an endogenous latent: ``block``, ``rmse_pls``, ``mae_pls``
        (PLS predictions), ``rmse_lm``, ``mae_lm`` (linear-model benchmark),
        ``q2_predict`` and ``pls_better`` (``rmse_pls < rmse_lm``). Metrics are
        computed over all rows of a repetition and averaged over the repetitions.
    predictions : DataFrame
        Out-of-sample PLS prediction of every endogenous item per row (index as the
        rows used), averaged over the repetitions.
    lm_predictions : DataFrame
        The same for the linear-model benchmark.

    Notes
    -----
    Each repetition orders the rows by a random permutation and cuts the order into
    ``folds`` contiguous groups of (nearly) equal size, as R's
    ``cut(seq_len(n), breaks = folds)`` does (seminr's ``predict_pls``). For each fold
    the model is fitted on the other rows; the held-out rows' items are standardized
    with the training means and SDs, their latent scores computed with the training
    weights, each endogenous latent predicted from its direct antecedents' scores
    (``ŷ_k = Σ_j β_kj y_j``, the *direct antecedent* technique) and each of its items
    as ``x̂ = x̄ + s · λ · ŷ_k`` (training mean, SD and loading). The benchmark
    regresses each such item by OLS with an intercept on all items of the latent's
    direct antecedents (training rows). ``RMSE = sqrt(mean(e²))``, ``MAE = mean|e|``
    and ``Q²_predict = 1 − Σ(x − x̂)² / Σ(x − x̄_train)²`` (the naive benchmark is the
    training mean of each fold).

    References
    ----------
    Shmueli, G., Ray, S., Velasquez Estrada, J. M., & Chatla, S. B. (2016). The elephant
    in the room: Predictive performance of PLS models. *Journal of Business Research*,
    69(10), 4552-4564. Shmueli, G., Sarstedt, M., Hair, J. F., et al. (2019). Predictive
    model assessment in PLS-SEM: guidelines for using PLSpredict. *European Journal of
    Marketing*, 53(11), 2322-2347.
    """

    folds: int
    repeats: int
    seed: int | None
    items: pd.DataFrame
    predictions: pd.DataFrame = field(repr=False)
    lm_predictions: pd.DataFrame = field(repr=False)

    def summary(self) -> pd.DataFrame:
        """The per-item metrics."""
        return self.items.reset_index()


def fold_of_position(n: int, folds: int) -> Array:
    """Fold (0-based) of each position 1..n, as R's ``cut(seq_len(n), breaks=folds)``.

    ``folds`` equal-width intervals over [1, n], right-closed, the outer breaks widened
    by (n − 1)/1000.
    """
    breaks = 1 + np.arange(folds + 1) * (n - 1) / folds
    breaks[0] -= (n - 1) / 1000
    breaks[-1] += (n - 1) / 1000
    pos = np.arange(1, n + 1)
    out: Array = np.searchsorted(breaks, pos, side="left") - 1
    return out


def check_prediction(n: int, folds: int, repeats: int, spec: _Spec, need: int) -> None:
    """Refuse fold settings that cannot be computed, naming the limit."""
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        msg = f"predict_folds must be an integer of at least 2 (k-fold); got {folds!r}."
        raise SpecificationError(msg)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        msg = f"predict_repeats must be a positive integer; got {repeats!r}."
        raise SpecificationError(msg)
    if folds > n:
        msg = f"predict_folds={folds} exceeds the {n} usable rows; use at most {n} folds."
        raise InsufficientDataError(msg)
    lm_need = max(
        sum(spec.slices[j].stop - spec.slices[j].start for j in P) + 2 for P in spec.preds if P
    )
    train = n - int(np.ceil(n / folds))
    if train < max(need, lm_need):
        msg = (
            f"PLSpredict with {folds} folds trains on about {train} rows, fewer than the "
            f"{max(need, lm_need)} that the model and its linear benchmark need; use fewer "
            "folds or more data."
        )
        raise InsufficientDataError(msg)


def assemble(
    spec: _Spec,
    A: Array,
    index: pd.Index,
    folds: int,
    repeats: int,
    seed: int | None,
    reps: list[tuple[Array, Array, Array]],
) -> PlsPrediction:
    """Average the repetitions' (pls, lm, naive) predictions and metrics into a result."""
    cols = [i for k in spec.endogenous for i in range(spec.slices[k].start, spec.slices[k].stop)]
    names = [spec.items[i] for i in cols]
    block = [spec.latents[k] for k in spec.endogenous for _ in range(*_span(spec, k))]
    y = A[:, cols]
    metrics = []
    for pls, lm, naive in reps:
        e, b = y - pls, y - lm
        metrics.append(
            np.stack(
                [
                    np.sqrt((e**2).mean(axis=0)),
                    np.abs(e).mean(axis=0),
                    np.sqrt((b**2).mean(axis=0)),
                    np.abs(b).mean(axis=0),
                    1 - (e**2).sum(axis=0) / ((y - naive) ** 2).sum(axis=0),
                ]
            )
        )
    m = np.mean(metrics, axis=0)
    items = pd.DataFrame(
        {
            "block": block,
            "rmse_pls": m[0],
            "mae_pls": m[1],
            "rmse_lm": m[2],
            "mae_lm": m[3],
            "q2_predict": m[4],
            "pls_better": m[0] < m[2],
        },
        index=pd.Index(names, name="name"),
    )
    return PlsPrediction(
        folds=folds,
        repeats=repeats,
        seed=seed,
        items=items,
        predictions=pd.DataFrame(np.mean([r[0] for r in reps], axis=0), index=index, columns=names),
        lm_predictions=pd.DataFrame(
            np.mean([r[1] for r in reps], axis=0), index=index, columns=names
        ),
    )


def _span(spec: _Spec, k: int) -> tuple[int, int]:
    return spec.slices[k].start, spec.slices[k].stop


def predict_fold(
    spec: _Spec,
    Ae: Array,
    moments: tuple[Array, Array, Array],
    W: Array,
    path: Array,
    loadings: Array,
    scaled: bool,
) -> tuple[Array, Array, Array]:
    """PLS, linear-benchmark and naive predictions of the held-out rows ``Ae`` of one fold.

    ``moments`` are the training rows' means, population SDs and covariance matrix;
    ``W`` (p, L) the training fit's weights on the analysis scale, ``path`` (L, L) its
    paths ``[to, from]``, ``loadings`` (p,) its item–score correlations. The benchmark's
    OLS coefficients come from the training moments (``β = Σ_xx⁻¹ Σ_xy``, intercept
    ``ȳ − β'x̄``), the normal equations of ``lm()`` on the training rows.
    """
    mean, sd, cov = moments
    Z = (Ae - mean) / sd if scaled else Ae - mean
    scores = Z @ W  # unit-variance latent scores of the training metric
    pred = scores.copy()
    for k in spec.endogenous:
        pred[:, k] = scores[:, list(spec.preds[k])] @ path[k, list(spec.preds[k])]
    cols: list[int] = []
    pls: list[Array] = []
    lm: list[Array] = []
    for k in spec.endogenous:
        a, b = _span(spec, k)
        cols.extend(range(a, b))
        pls.append(mean[a:b] + sd[a:b] * loadings[a:b] * pred[:, [k]])
        xs = [i for j in spec.preds[k] for i in range(*_span(spec, j))]
        try:
            beta = np.linalg.solve(cov[np.ix_(xs, xs)], cov[xs, a:b])
        except np.linalg.LinAlgError:
            msg = (
                f"PLSpredict: the items of the predictors of {spec.latents[k]!r} are perfectly "
                "collinear in a training fold, so the linear benchmark is not defined; drop a "
                "redundant item or use fewer folds."
            )
            raise SingularMatrixError(msg) from None
        lm.append(mean[a:b] + (Ae[:, xs] - mean[xs]) @ beta)
    naive = np.broadcast_to(mean[cols], (len(Ae), len(cols)))
    return np.hstack(pls), np.hstack(lm), np.array(naive)
