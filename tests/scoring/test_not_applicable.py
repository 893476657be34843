"""Not-applicable answers through every scoring method (issue 15, DOMAIN.md).

An item hidden by a display condition is *not applicable*: its cell is empty and the
tidy frame's ``not_applicable`` column names it. No method may count it as missing or
impute it: descriptive and gap statistics use the respondents the item applied to,
``listwise`` keeps their rows, ``item_mean`` never fills the cell, and methods that need
complete rows leave the row out and count it apart (``apply_missing_rule``).

Each test marks one item not applicable for the first ``K`` respondents of complete
simulated data and checks a number that differs when the cells are treated as missing
(listwise drops the rows) or imputed (``item_mean`` fills them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import questionnaires as qn
from questionnaires.simulate import simulate
from scoring import NOT_APPLICABLE
from scoring._validation import apply_missing_rule, not_applicable_mask
from scoring.gaps import service_gaps
from scoring.instrument import score

N, K = 120, 30


def _complete(name: str) -> tuple[qn.Questionnaire, pd.DataFrame]:
    """Simulated data of built-in ``name`` with every answer given."""
    q = qn.builtin(name)
    data = simulate(q, N, seed=3).data
    cols = q.columns(meta=False)
    numeric = [c for c in cols if pd.api.types.is_numeric_dtype(data[c])]
    for c in numeric:
        data[c] = data[c].astype("float64")
        data[c] = data[c].fillna(data[c].median()).round()
    data[NOT_APPLICABLE] = ""
    return q, data


def _hide(data: pd.DataFrame, columns: list[str], rows: int = K) -> pd.DataFrame:
    """``columns`` not applicable to the first ``rows`` respondents."""
    out = data.copy()
    out.loc[out.index[:rows], columns] = np.nan
    out.loc[out.index[:rows], NOT_APPLICABLE] = ";".join(columns)
    return out


def _as_missing(data: pd.DataFrame) -> pd.DataFrame:
    return data.assign(**{NOT_APPLICABLE: ""})


# -- the rule itself -------------------------------------------------------------------------
def test_rule_keeps_not_applicable_rows_and_never_fills_them():
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0, np.nan], "b": [1.0, 2.0, np.nan, 4.0]})
    df[NOT_APPLICABLE] = ["", "a", "", ""]
    na = not_applicable_mask(df, ["a", "b"])
    values = df[["a", "b"]]
    # listwise drops row 2 (b missing) and row 3 (a missing), never row 1 (a n/a)
    assert apply_missing_rule(values, "listwise", not_applicable=na).index.tolist() == [0, 1]
    filled = apply_missing_rule(values, "item_mean", not_applicable=na)
    assert np.isnan(filled.loc[1, "a"])  # not applicable: not imputed
    assert filled.loc[3, "a"] == 2.0  # missing: the item mean
    complete = apply_missing_rule(values, "item_mean", not_applicable=na, complete=True)
    assert complete.index.tolist() == [0, 2, 3]


def test_mask_reads_only_the_named_columns():
    df = pd.DataFrame({"a": [np.nan, 1.0], NOT_APPLICABLE: ["a;zz", None]})
    assert not_applicable_mask(df, ["a"]).tolist() == [[True], [False]]
    assert not_applicable_mask(df, ["zz_other"]) is None
    assert not_applicable_mask(df.drop(columns=NOT_APPLICABLE), ["a"]) is None


# -- descriptive and gap methods: the respondents the item applied to ---------------------
def test_servqual():
    q, data = _complete("servqual22")
    hidden = _hide(data, ["tan1_e", "tan1_p"])
    res = score(q, "servqual", hidden, missing="listwise")
    assert res.n_used == N  # as missing, listwise would keep N - K
    assert score(q, "servqual", _as_missing(hidden), missing="listwise").n_used == N - K
    items = res.items.set_index("item")
    assert items.loc["tan1", "n"] == N - K
    gap = data["tan1_p"] - data["tan1_e"]
    assert items.loc["tan1", "gap"] == pytest.approx(gap.iloc[K:].mean())
    # item_mean leaves the cells empty: the item's n stays N - K (imputed: N)
    imputed = score(q, "servqual", hidden, missing="item_mean").items.set_index("item")
    assert imputed.loc["tan1", "n"] == N - K
    assert imputed.loc["tan2", "n"] == N


def test_index():
    q, data = _complete("servqual22")
    hidden = _hide(data, ["tan1_p"])
    res = score(q, "index", hidden, missing="listwise")
    items = res.items.set_index("item")
    assert items.loc["tan2_p", "n"] == N  # as missing, listwise would drop the K rows
    assert items.loc["tan1_p", "n"] == N - K
    assert items.loc["tan1_p", "mean"] == pytest.approx(data["tan1_p"].iloc[K:].mean())
    imputed = score(q, "index", hidden, missing="item_mean").items.set_index("item")
    assert imputed.loc["tan1_p", "n"] == N - K


def test_fuzzy():
    q, data = _complete("service_short")
    hidden = _hide(data, ["env1"])
    res = score(q, "fuzzy", hidden, missing="listwise")
    as_missing = score(q, "fuzzy", _as_missing(hidden), missing="listwise")
    full = score(q, "fuzzy", data, missing="listwise")
    # env2's memberships use every respondent (as missing: only the N - K complete rows)
    r_na, r_full = res.membership.loc["env2"], full.membership.loc["env2"]
    assert_allclose(r_na.to_numpy(float), r_full.to_numpy(float))
    assert not np.allclose(
        as_missing.membership.loc["env2"].to_numpy(float), r_full.to_numpy(float)
    )


def test_gaps():
    rng = np.random.default_rng(1985)
    cust = pd.DataFrame(
        {f"{i}_{r}": rng.integers(2, 7, size=N).astype(float) for i in ("t1", "t2") for r in "ep"}
    )
    hidden = cust.copy()
    hidden.loc[: K - 1, ["t1_e", "t1_p"]] = np.nan
    hidden[NOT_APPLICABLE] = [("t1_e;t1_p" if i < K else "") for i in range(N)]
    dims = {"tan": ["t1", "t2"]}
    res = service_gaps(dimensions=dims, customers=hidden, missing="listwise")
    row = res.items.set_index(["gap", "item"]).loc[("customer", "t2")]
    assert row["n_a"] == N  # as missing, listwise keeps N - K
    as_missing = service_gaps(
        dimensions=dims, customers=hidden.drop(columns=NOT_APPLICABLE), missing="listwise"
    )
    assert as_missing.items.set_index(["gap", "item"]).loc[("customer", "t2"), "n_a"] == N - K
    imputed = service_gaps(dimensions=dims, customers=hidden, missing="item_mean")
    assert imputed.items.set_index(["gap", "item"]).loc[("customer", "t1"), "n_a"] == N - K


# -- methods that need complete rows: the rows are left out, not imputed -------------------
def test_pca():
    q, data = _complete("servqual22")
    hidden = _hide(data, ["tan1_p"])
    res = score(q, "pca", hidden, missing="item_mean")
    assert res.n_used == N - K  # imputed, all N rows would be used
    assert res.n_not_applicable == K
    ref = score(q, "pca", data.iloc[K:], missing="item_mean")
    assert_allclose(res.weights["weight"], ref.weights["weight"])


def test_drivers():
    q, data = _complete("servqual22")
    hidden = _hide(data, ["tan1_p"])
    res = score(q, "drivers", hidden, missing="item_mean")
    assert res.n_obs == N - K  # imputed: N
    assert res.n_not_applicable == K
    ref = score(q, "drivers", data.iloc[K:], missing="item_mean")
    assert_allclose(res.coefficients["estimate"], ref.coefficients["estimate"])


def test_csi():
    q, data = _complete("acsi")
    hidden = _hide(data, ["pq1"])
    res = score(q, "csi", hidden, missing="item_mean")
    assert res.n_used == N - K  # imputed: N
    assert res.n_not_applicable == K
    ref = score(q, "csi", data.iloc[K:], missing="item_mean")
    assert_allclose(res.indices["index"], ref.indices["index"])


def test_reliability():
    q, data = _complete("servqual22")
    hidden = _hide(data, ["tan1_p"])
    res = score(q, "reliability", hidden, missing="item_mean").dimensions.set_index("dimension")
    ref = score(q, "reliability", data.iloc[K:], missing="item_mean").dimensions
    ref = ref.set_index("dimension")
    assert res.loc["tan", "n"] == N - K  # imputed: N
    assert res.loc["tan", "n_not_applicable"] == K
    assert res.loc["tan", "alpha"] == pytest.approx(ref.loc["tan", "alpha"])
    assert res.loc["rel", "n"] == N  # the other dimensions keep every respondent
