"""Assessment statistics of a PLS path model, on stacks of covariance matrices.

Every function here takes arrays with a leading resample axis ``B`` (the full sample is
a stack of one), so that :func:`scoring.pls.fit_pls` computes each statistic for the
full sample and for all bootstrap resamples with the same code. Inputs are plain arrays
and block slices; the model specification stays in :mod:`scoring.pls`.

Conventions (each function's docstring gives its formula and reference):

- ``R``: item correlation matrices ``(B, p, p)``.
- ``C``: latent correlation matrices ``(B, L, L)`` (the matrix the paths are estimated
  from: composite correlations for PLS, disattenuated ones for PLSc).
- ``preds[k]``: indices of the predecessors of latent ``k`` (empty for exogenous).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scoring.errors import SingularMatrixError

Array = NDArray[Any]

__all__ = [
    "distances",
    "effect_sizes",
    "htmt",
    "implied_construct_cor",
    "implied_indicator_cor",
    "inner_vif",
    "item_vif",
]


def _r2(C: Array, k: int, P: Sequence[int]) -> Array:
    """R² of latent ``k`` regressed on latents ``P`` (``r' R_PP⁻¹ r``), per stack entry."""
    if not P:
        return np.zeros(C.shape[0])
    idx = list(P)
    r = C[:, idx, k]
    try:
        beta = np.linalg.solve(C[:, idx][:, :, idx], r[..., None])[..., 0]
    except np.linalg.LinAlgError:
        msg = "latent correlation matrix of a regression is singular (collinear latents)."
        raise SingularMatrixError(msg) from None
    out: Array = (beta * r).sum(axis=1)
    return out


def effect_sizes(C: Array, preds: Sequence[Sequence[int]]) -> Array:
    """Cohen's f² of every path, from the latent correlations.

    ``f²_{j→k} = (R²_k − R²_{k(−j)}) / (1 − R²_k)``, where ``R²_{k(−j)}`` is the R² of
    latent ``k`` regressed on its predecessors without ``j``, both from the same latent
    correlation matrix (the scores of the full model are kept; cSEM's and SmartPLS's
    convention). For an equation with a single predictor ``R²_{k(−j)} = 0`` and
    ``f² = R²/(1 − R²)``.

    Returns an array ``(B, L, L)`` with ``f2[b, k, j]`` for each path ``j → k``; NaN
    where there is no path.

    References
    ----------
    Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences* (2nd ed.).
    Hillsdale, NJ: Erlbaum, eq. 9.2.2. Hair, J. F., Hult, G. T. M., Ringle, C. M., &
    Sarstedt, M. (2022). *A Primer on PLS-SEM* (3rd ed.), ch. 6.
    """
    B, L, _ = C.shape
    out = np.full((B, L, L), np.nan)
    for k, P in enumerate(preds):
        if not P:
            continue
        full = _r2(C, k, P)
        for j in P:
            rest = [i for i in P if i != j]
            with np.errstate(divide="ignore", invalid="ignore"):
                out[:, k, j] = (full - _r2(C, k, rest)) / (1 - full)
    return out


def inner_vif(C: Array, preds: Sequence[Sequence[int]]) -> Array:
    """Variance inflation factor of each predictor in each structural equation.

    ``VIF_j = [R_PP⁻¹]_jj = 1 / (1 − R²_j)`` with ``R_PP`` the correlation matrix of the
    predictors ``P`` of the equation and ``R²_j`` that of predictor ``j`` on the other
    predictors; a single predictor has VIF 1. Returns ``(B, L, L)`` with
    ``vif[b, k, j]`` for each path ``j → k``, NaN elsewhere.

    References
    ----------
    Hair, J. F., Hult, G. T. M., Ringle, C. M., & Sarstedt, M. (2022). *A Primer on
    PLS-SEM* (3rd ed.), ch. 6 (VIF ≥ 5 signals critical collinearity, ≥ 3 possible).
    """
    B, L, _ = C.shape
    out = np.full((B, L, L), np.nan)
    for k, P in enumerate(preds):
        if not P:
            continue
        idx = list(P)
        try:
            inv = np.linalg.inv(C[:, idx][:, :, idx])
        except np.linalg.LinAlgError:
            msg = "predictors of a structural equation are perfectly collinear; no VIF."
            raise SingularMatrixError(msg) from None
        out[:, k, idx] = np.einsum("bii->bi", inv)
    return out


def item_vif(R: Array, slices: Sequence[slice]) -> Array:
    """Variance inflation factor of each item on the other items of its block.

    ``VIF_i = [R_bb⁻¹]_ii`` with ``R_bb`` the block's item correlation matrix; an item
    alone in its block has VIF 1. Essential for mode-B (formative) blocks, whose weights
    are regression coefficients; reported for mode A too. Returns ``(B, p)``; the items
    of a block whose correlation matrix is singular (perfectly collinear items, which
    mode A tolerates) get ``inf``.

    References
    ----------
    Hair, J. F., Hult, G. T. M., Ringle, C. M., & Sarstedt, M. (2022). *A Primer on
    PLS-SEM* (3rd ed.), ch. 5.
    """
    B, p, _ = R.shape
    out = np.ones((B, p))
    for sl in slices:
        if sl.stop - sl.start < 2:
            continue
        for b in range(B):
            try:
                out[b, sl] = np.diag(np.linalg.inv(R[b, sl, sl]))
            except np.linalg.LinAlgError:
                out[b, sl] = np.inf
    return out


def htmt(R: Array, odm: Array, *, absolute: bool = True) -> Array:
    """Heterotrait–monotrait ratio of correlations between every pair of blocks.

    ``HTMT_ij = mean(r_heterotrait) / sqrt(mean(r_monotrait,i) · mean(r_monotrait,j))``:
    the mean correlation between the items of blocks ``i`` and ``j`` over the geometric
    mean of the mean correlations among each block's own items (off-diagonal). With
    ``absolute`` (default; seminr's, SmartPLS's and cSEM's convention) every
    correlation enters as its absolute value, so a negatively keyed item does not
    cancel others; ``absolute=False`` uses the signed correlations of Henseler et al.'s
    definition. A single-item block's monotrait mean is taken as 1 (seminr's rule:
    the item is its construct). Returns ``(B, L, L)`` with NaN on the diagonal.

    References
    ----------
    Henseler, J., Ringle, C. M., & Sarstedt, M. (2015). A new criterion for assessing
    discriminant validity in variance-based structural equation modeling. *Journal of
    the Academy of Marketing Science*, 43(1), 115-135.
    """
    A = np.abs(R) if absolute else R
    k = odm.sum(axis=0)  # items per block
    sums = odm.T @ A @ odm  # (B, L, L) block sums
    mono_n = k * (k - 1)
    diag = np.einsum("bjj->bj", sums)
    with np.errstate(divide="ignore", invalid="ignore"):
        mono = np.where(mono_n > 0, (diag - k) / np.where(mono_n > 0, mono_n, 1), 1.0)
        hetero = sums / np.outer(k, k)
        out: Array = hetero / np.sqrt(mono[:, :, None] * mono[:, None, :])
    idx = np.arange(len(k))
    out[:, idx, idx] = np.nan
    return out


def implied_construct_cor(C: Array, path: Array, preds: Sequence[Sequence[int]]) -> Array:
    """Latent correlation matrix implied by the structural model ("estimated model").

    With ``B`` the path matrix (``path[b, k, j] = β_kj``), exogenous latents keep their
    correlations ``C`` and every endogenous latent ``k`` has a disturbance ``ζ_k``,
    uncorrelated with the exogenous latents and the other disturbances, of variance
    ``ψ_k = 1 − R²_k = 1 − Σ_j β_kj C_kj``:

    ``Φ = (I − B)⁻¹ Ψ (I − B)⁻ᵀ``, then ``diag Φ = 1``.

    This is the recursive-model formula of Dijkstra & Henseler (2015) with cSEM's
    convention for ``ψ`` (``fit()``, ``.saturated = FALSE``): when the structural model
    is not saturated, the implied variance of an endogenous latent can differ from 1
    and its diagonal is set to 1, the off-diagonal entries kept.
    """
    B, L, _ = C.shape
    endo = np.array([bool(P) for P in preds])
    Psi = np.where(~endo[:, None] & ~endo[None, :], C, 0.0)
    r2 = (path * C).sum(axis=2)
    Psi[:, endo, endo] = 1.0 - r2[:, endo]
    inv = np.linalg.inv(np.eye(L) - path)
    Phi: Array = inv @ Psi @ np.swapaxes(inv, 1, 2)
    Phi[:, np.arange(L), np.arange(L)] = 1.0
    return Phi


def implied_indicator_cor(
    R: Array, composite_loadings: Array, loadings: Array, Phi: Array, odm: Array, common: Array
) -> Array:
    """Model-implied item correlation matrix of a composite / common-factor model.

    ``Σ_ij = λ_i Φ_ij λ_jᵀ`` between blocks ``i ≠ j``; within a block, ``Σ_jj = R_jj``
    (the observed item correlations) for a composite and ``λ_j λ_jᵀ`` with unit
    diagonal for a common factor (``common[j]``: mode-A blocks of a PLSc fit). ``λ`` is
    a composite's loading vector (``R_jj w_j``: the items' correlations with their
    composite) or a common factor's consistent loadings. This is the composite model of
    Dijkstra (2017) and the common-factor model of Dijkstra & Henseler (2015), mixed as
    cSEM does.
    """
    mask = odm.astype(bool)
    lam = np.zeros((R.shape[0], *odm.shape))
    item_common = (odm @ common.astype(float)) > 0
    chosen = np.where(item_common[None], loadings, composite_loadings)
    lam[:, mask] = chosen
    Sigma: Array = lam @ Phi @ np.swapaxes(lam, 1, 2)
    for j in range(odm.shape[1]):
        sl = np.flatnonzero(odm[:, j])
        if not common[j]:
            Sigma[:, sl[:, None], sl[None, :]] = R[:, sl[:, None], sl[None, :]]
    idx = np.arange(R.shape[1])
    Sigma[:, idx, idx] = 1.0
    return Sigma


def distances(R: Array, Sigma: Array) -> tuple[Array, Array, Array]:
    """SRMR, d_ULS and d_G between observed and model-implied item correlations.

    - ``SRMR = sqrt(Σ_{i≤j} (r_ij − σ_ij)² / (p(p+1)/2))`` (Hu & Bentler 1998; on
      correlation matrices the diagonal residuals are 0);
    - ``d_ULS = ½ tr((R − Σ)²)``, the squared Euclidean distance;
    - ``d_G = ½ Σ_k (ln φ_k)²`` with ``φ_k`` the eigenvalues of ``R⁻¹Σ``, the
      geodesic distance (Dijkstra & Henseler 2015). NaN when ``Σ`` is not positive
      definite (an inadmissible implied matrix).

    References
    ----------
    Dijkstra, T. K., & Henseler, J. (2015). Consistent and asymptotically normal PLS
    estimators for linear structural equations. *Computational Statistics & Data
    Analysis*, 81, 10-23. Henseler, J., et al. (2014). Common beliefs and reality about
    PLS. *Organizational Research Methods*, 17(2), 182-209.
    """
    D = R - Sigma
    p = R.shape[1]
    d_uls = 0.5 * (D * D).sum(axis=(1, 2))
    srmr = np.sqrt(d_uls / (p * (p + 1) / 2))
    d_g = np.full(R.shape[0], np.nan)
    try:  # all entries at once; a resample with a singular R falls back to one by one
        rows = np.arange(R.shape[0])
        Lc = np.linalg.cholesky(R)
    except np.linalg.LinAlgError:
        good = []
        for b in range(R.shape[0]):
            try:
                np.linalg.cholesky(R[b])
                good.append(b)
            except np.linalg.LinAlgError:
                continue
        rows = np.array(good, dtype=int)
        Lc = np.linalg.cholesky(R[rows]) if good else np.zeros((0, p, p))
    if rows.size:
        Li = np.linalg.inv(Lc)
        ev = np.linalg.eigvalsh(Li @ Sigma[rows] @ np.swapaxes(Li, 1, 2))  # of R⁻¹Σ
        with np.errstate(divide="ignore", invalid="ignore"):
            d_g[rows] = np.where(ev[:, 0] > 0, 0.5 * (np.log(ev) ** 2).sum(axis=1), np.nan)
    return srmr, d_uls, d_g
