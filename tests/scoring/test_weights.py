"""Tests of scoring.weights: given, AHP, entropy and 100-point allocation weights."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from scoring.errors import DataError, InsufficientDataError, SpecificationError
from scoring.weights import (
    SAATY_RANDOM_INDEX,
    ahp_weights,
    allocation_weights,
    as_weights,
    entropy_weights,
    given_weights,
)

# ------------------------------------------------------------------------- given weights


def test_given_weights_mapping_in_names_order():
    w = given_weights({"b": 0.25, "a": 0.75}, names=["a", "b"])
    assert w.index.tolist() == ["a", "b"]
    assert w.tolist() == [0.75, 0.25]


def test_given_weights_normalise_and_result_object():
    assert given_weights([1, 1, 2], normalise=True).tolist() == [0.25, 0.25, 0.5]
    ahp = ahp_weights([[1, 3], [1 / 3, 1]], names=["x", "y"])
    assert_allclose(given_weights(ahp).to_numpy(), [0.75, 0.25])


def test_as_weights_equal_by_default():
    assert as_weights(None, ["a", "b", "c", "d"]).tolist() == [0.25] * 4


@pytest.mark.parametrize(
    ("weights", "names", "match"),
    [
        ([0.5, 0.6], None, r"must sum to 1; they sum to 1\.1.*normalise=True"),
        ([0.5, -0.5, 1.0], None, r"non-negative; 1 has -0\.5"),
        ({"a": 1.0}, ["a", "b"], r"missing: \['b'\]"),
        ([1.0], ["a", "b"], "has 1 value"),
        ("heavy", None, "mapping or a sequence"),
        ([0, 0], None, None),
    ],
)
def test_given_weights_bad(weights, names, match):
    if match is None:  # all-zero weights cannot even be normalised
        with pytest.raises(SpecificationError, match="sum to 0"):
            given_weights(weights, normalise=True)
        return
    with pytest.raises(SpecificationError, match=match):
        given_weights(weights, names=names)


# ----------------------------------------------------------------------------------- AHP


def _consistent(w):
    w = np.asarray(w, dtype=float)
    return w[:, None] / w[None, :]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.05, 20.0), min_size=1, max_size=12))
def test_ahp_consistent_matrix_gives_cr_zero_and_generating_weights(raw):
    w = np.asarray(raw) / np.sum(raw)
    res = ahp_weights(_consistent(w))
    assert_allclose(res.weights.to_numpy(), w, rtol=1e-9, atol=1e-12)
    assert res.lambda_max == pytest.approx(len(w), rel=1e-9)
    assert res.cr == pytest.approx(0.0, abs=1e-9)
    assert res.consistent


def test_ahp_matches_power_iteration_and_saaty_definitions():
    # A mildly inconsistent 4x4 judgment matrix; independent check by power iteration.
    a = np.array([[1, 3, 5, 7], [1 / 3, 1, 3, 5], [1 / 5, 1 / 3, 1, 2], [1 / 7, 1 / 5, 1 / 2, 1]])
    v = np.ones(4)
    for _ in range(200):
        v = a @ v
        v /= v.sum()
    lam = float((a @ v / v).mean())
    res = ahp_weights(pd.DataFrame(a, index=list("pqrs"), columns=list("pqrs")))
    assert res.weights.index.tolist() == list("pqrs")
    assert_allclose(res.weights.to_numpy(), v, rtol=1e-10)
    assert res.lambda_max == pytest.approx(lam, rel=1e-10)
    assert res.ci == pytest.approx((lam - 4) / 3)
    assert res.ri == 0.90  # Saaty's RI for n = 4
    assert res.cr == pytest.approx(res.ci / 0.90)
    assert res.cr < 0.1
    assert set(res.summary().columns) >= {"indicator", "weight", "cr"}


def test_ahp_inconsistent_refused_unless_allowed():
    # a prefers b, b prefers c, but c strongly preferred to a: intransitive.
    a = [[1, 5, 1 / 5], [1 / 5, 1, 5], [5, 1 / 5, 1]]
    with pytest.raises(SpecificationError, match=r"CR = \d\.\d{4} >= 0\.1"):
        ahp_weights(a)
    res = ahp_weights(a, allow_inconsistent=True)
    assert not res.consistent
    assert res.cr > 0.1


def test_ahp_random_index_table_and_override():
    assert SAATY_RANDOM_INDEX[2:5] == (0.58, 0.90, 1.12)
    w = np.arange(1, 17, dtype=float)
    with pytest.raises(SpecificationError, match="random_index="):
        ahp_weights(_consistent(w))
    assert ahp_weights(_consistent(w), random_index=1.6).cr == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize(
    ("matrix", "match"),
    [
        ([[1, 2, 3], [0.5, 1, 2]], r"square .* got shape \(2, 3\)"),
        ([[1, 2], [0, 1]], r"matrix\[1, 0\] must be a positive number; got 0"),
        ([[1, -2], [-0.5, 1]], r"matrix\[0, 1\] must be a positive number"),
        ([[1, 2, 4], [0.5, 1, 2], [0.25, 0.4, 1]], r"not reciprocal at \[1, 2\] = 2\.0"),
        ([[2, 1], [1, 1]], r"matrix\[0, 0\] must be 1"),
    ],
)
def test_ahp_bad_matrix(matrix, match):
    with pytest.raises(SpecificationError, match=match):
        ahp_weights(matrix)


def test_ahp_accepts_rounded_reciprocals():
    res = ahp_weights([[1, 3], [0.33, 1]])
    assert_allclose(res.weights.sum(), 1.0)


# ------------------------------------------------------------------------------- entropy


def test_entropy_weights_by_hand():
    # a: min-max -> (0, 1/3, 2/3, 1), p = (0, 1/6, 1/3, 1/2); b: p = (0, 0, 0, 1), e_b = 0.
    df = pd.DataFrame({"a": [1, 2, 3, 4], "b": [1, 1, 1, 4]})
    e_a = -(1 / 6 * math.log(1 / 6) + 1 / 3 * math.log(1 / 3) + 0.5 * math.log(0.5)) / math.log(4)
    d = np.array([1 - e_a, 1.0])
    res = entropy_weights(df)
    assert_allclose(res.entropy.to_numpy(), [e_a, 0.0], atol=1e-15)
    assert_allclose(res.weights.to_numpy(), d / d.sum())
    assert res.summary().columns.tolist() == ["indicator", "entropy", "divergence", "weight"]


def test_entropy_share_and_negative():
    df = pd.DataFrame({"a": [1.0, 1.0, 1.0], "b": [1.0, 2.0, 3.0], "c": [3.0, 2.0, 1.0]})
    share = entropy_weights(df, standardise="share")
    assert share.weights["a"] == pytest.approx(0.0, abs=1e-12)  # uniform: no information
    # A cost indicator mirrored is as informative as its benefit twin.
    mm = entropy_weights(df[["b", "c"]], negative=["c"])
    assert_allclose(mm.weights.to_numpy(), [0.5, 0.5])


@pytest.mark.parametrize(
    ("frame", "kwargs", "error", "match"),
    [
        ({"a": [1, 2, 3], "k": [2, 2, 2]}, {}, DataError, r"column 'k' is constant"),
        ({"a": [1, 2, 3], "z": [0, 0, 0]}, {"standardise": "share"}, DataError, "sum to zero"),
        ({"a": [1, -2, 3]}, {"standardise": "share"}, DataError, "negative value -2"),
        ({"a": [1, None, 3]}, {}, DataError, r"'a' has a missing value in row 1"),
        ({"a": [1.0]}, {}, InsufficientDataError, "at least 2"),
        ({"a": [1, 2]}, {"negative": ["q"]}, SpecificationError, r"\['q'\]"),
    ],
)
def test_entropy_bad(frame, kwargs, error, match):
    with pytest.raises(error, match=match):
        entropy_weights(pd.DataFrame(frame), **kwargs)


# ---------------------------------------------------------------------------- allocation


def test_allocation_mean_share_and_missing_rule():
    df = pd.DataFrame(
        {"t": [20, 10, None, None], "r": [50, 30, 100, None], "e": [30, 60, None, None]}
    )
    res = allocation_weights(df, columns=["t", "r", "e"])
    # Row 2 answered only r (blanks are 0 points); row 3 answered nothing (dropped).
    assert_allclose(res.weights.to_numpy(), [(0.2 + 0.1) / 3, (0.5 + 0.3 + 1) / 3, 0.3])
    assert (res.n, res.n_dropped, res.n_rescaled) == (3, 1, 0)


def test_allocation_bad_total():
    df = pd.DataFrame({"t": [20, 10], "r": [50, 30], "e": [30, 70]})
    with pytest.raises(DataError, match=r"row 1 allocates 110 points.*on_bad_total"):
        allocation_weights(df, columns=["t", "r", "e"])
    res = allocation_weights(df, columns=["t", "r", "e"], on_bad_total="rescale")
    assert_allclose(
        res.weights.to_numpy(), [(0.2 + 10 / 110) / 2, (0.5 + 30 / 110) / 2, (0.3 + 70 / 110) / 2]
    )
    assert res.n_rescaled == 1
    res = allocation_weights(df, columns=["t", "r", "e"], on_bad_total="drop")
    assert_allclose(res.weights.to_numpy(), [0.2, 0.5, 0.3])
    assert res.n_dropped == 1


def test_allocation_negative_points():
    df = pd.DataFrame({"t": [120], "r": [-20]})
    with pytest.raises(DataError, match=r"'r' row 0 allocates -20 points"):
        allocation_weights(df, columns=["t", "r"])
