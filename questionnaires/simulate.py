"""Synthetic responses with a known ground truth, for demos, tests and benchmarks.

:func:`simulate` draws ``n`` responses to a questionnaire in exactly the tidy export
format (:data:`~questionnaires.META_COLUMNS`, then ``q.columns(meta=False)``) together
with the truth the data were generated from, so that a scoring method can be checked by
recovering it.

The model
---------
Every rating is a latent normal variable thresholded to the scale: the answer is
``clip(round(X), min, max)`` with

    X = mid + R * (mu + o_item + s_seg + sigma_g * g + sigma_e * e)

where ``mid`` and ``R`` are the midpoint and range (max - min) of the item's scale, so
all effects are fractions of the scale range and mean the same on a 7- and a 10-point
scale:

- ``mu`` is the latent mean of the item's dimension in its role. Per dimension (drawn
  from the seed and the dimension id, so that the customer, management, staff and audit
  instruments simulated with one seed describe one world): expectation
  E = 0.30 + N(0, 0.03); manager estimate M = E + u1; standard S = M + u2; delivered
  D = S + u3; perception P = D + u4, with u1..u4 ~ -U(0.01, 0.05); promised
  C = D + U(0.02, 0.06); desired = E + 0.03; adequate = E - 0.15. So the customer gap
  P - E is negative and dimension-specific, and each of the five gaps (understanding
  M - E, procedure S - M, behaviour D - S, promotion D - C, perception P - D) is
  non-trivial (Parasuraman, Zeithaml & Berry, 1985). A rating without roles has
  mu = 0.10 + N(0, 0.08) in a dimension (gap-cause scales), 0.15 outside one (overall
  satisfaction, recommendation).
- ``o_item`` ~ N(0, 0.02) is an item offset (by item id: shared across audiences).
- ``s_seg`` is the sum of the shifts of the respondent's segment answers (a segment
  code's shift ~ N(0, segments_effect), centred to a share-weighted mean of 0). It moves
  perception, delivered and role-less ratings (the service as it is experienced); it
  leaves expectations and the management levels alone.
- ``g`` is the respondent's general level and ``e`` item noise, sigma_g = sigma_e = 0.12.
  Between the roles of one respondent both are equicorrelated with ``ep_correlation``,
  so the latent E and P of an item correlate exactly ``ep_correlation``.
- Reverse-coded items are answered reversed (``min + max - answer``); the truth is on
  the scored (re-reversed) scale.

Instruments with ``scoring.csi`` generate their block items from the structural model
instead: exogenous latents are standard normal (plus the centred segment shift), every
endogenous latent is ``sum(beta * predictor) + zeta`` with the residual variance chosen
so that every latent has variance 1, hence the recorded ``beta`` are the standardized
path coefficients; paths are drawn from U(0.2, 0.5) and scaled down when R² would
exceed 0.75; paths into or out of a complaints latent (one whose English label says
"complaints", as ACSI's CC) are negative. Indicators
are ``lambda * eta + sqrt(1 - lambda^2) * eps`` with loadings U(0.75, 0.9), put on the
scale as ``mid + R * (0.15 + 0.18 * x)``.

Data quality
------------
- Straight-liners (share ``straightliner_rate``) give one answer position to every
  rating (the same relative position on every scale), finish fast and are flagged
  ``suspect``; their ids are in the truth.
- A rating answer is missing with probability ``missing_rate`` (item non-response,
  independent of the value). Optional items of every type are also skipped with
  probability 0.1; free text is mostly empty (a short comment, in the respondent's
  language, from about 12 %). Required non-rating items are never missing.
- Allocations are whole numbers (in steps of 5 when the total allows) summing exactly to
  the total, drawn from a Dirichlet around the true importance shares.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from questionnaires.model import META_COLUMNS, Item, Questionnaire

SIGMA_G = 0.12
SIGMA_E = 0.12
CSI_SD = 0.18
CSI_LEVEL = 0.15
OPTIONAL_SKIP = 0.10
COMMENT_RATE = 0.12
ZH_SHARE = 0.7
#: Roles whose level the segments move (the service as experienced or delivered).
SHIFTED_ROLES = frozenset({"perception", "delivered"})

_COMMENTS = {
    "zh-Hans": (
        "服务很好，谢谢。",
        "等候时间太长。",
        "工作人员很耐心。",
        "希望营业时间更长一些。",
        "手机应用经常出错。",
        "整体满意。",
    ),
    "en": (
        "Great service, thank you.",
        "The wait was too long.",
        "Staff were very patient.",
        "Please open longer hours.",
        "The app often fails.",
        "Satisfied overall.",
    ),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationTruth:
    """The parameters the data were generated from (see the module docstring).

    Attributes
    ----------
    seed, n, missing_rate, straightliner_rate, ep_correlation
        The arguments of :func:`simulate`.
    straightliners
        ``response_id`` of every straight-liner.
    latent
        dimension -> role -> latent mean ``mu`` (fraction of the scale range above the
        midpoint); the role of a rating without roles is ``"rating"``.
    expected
        dimension -> role -> expected mean answer in scale points (after reverse
        scoring), over the population the sample is drawn from, straight-liners
        included; exact for ratings outside CSI blocks (normal thresholding), a normal
        approximation inside them.
    gaps
        dimension -> expected mean P - E (scale points), for dimensions rated in both.
    segment_shares, segment_effects
        segment item -> code -> share of respondents / latent shift (fraction of range).
    importance
        allocation item -> option -> mean share of the total.
    paths, loadings, r2
        CSI instruments: ``"A->B"`` -> standardized path coefficient; column -> outer
        loading; endogenous latent -> R². They describe the responses that are not
        ``suspect``: straight-liners add a common variance to every item, as they do in
        real data.
    """

    seed: int
    n: int
    missing_rate: float
    straightliner_rate: float
    ep_correlation: float
    straightliners: tuple[str, ...]
    latent: Mapping[str, Mapping[str, float]]
    expected: Mapping[str, Mapping[str, float]]
    gaps: Mapping[str, float]
    segment_shares: Mapping[str, Mapping[str, float]]
    segment_effects: Mapping[str, Mapping[str, float]]
    importance: Mapping[str, Mapping[str, float]]
    paths: Mapping[str, float]
    loadings: Mapping[str, float]
    r2: Mapping[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe plain data."""
        out = asdict(self)
        out["straightliners"] = list(self.straightliners)
        return out


@dataclass(frozen=True, slots=True)
class Simulation:
    """Result of :func:`simulate`: the response frame and its ground truth."""

    data: pd.DataFrame
    truth: SimulationTruth


def _sub_rng(seed: int, *names: str) -> np.random.Generator:
    """A generator for one named part of the world, independent of the instrument."""
    return np.random.default_rng([seed, *(zlib.crc32(s.encode("utf-8")) for s in names)])


def _dimension_levels(seed: int, dim_id: str) -> dict[str, float]:
    r = _sub_rng(seed, "dimension", dim_id)
    e = 0.30 + r.normal(0.0, 0.03)
    und, proc, beh, perc = -r.uniform(0.01, 0.05, size=4)
    promo = r.uniform(0.02, 0.06)
    m = e + und
    s = m + proc
    d = s + beh
    return {
        "expectation": e,
        "manager_estimate": m,
        "standard": s,
        "delivered": d,
        "perception": d + perc,
        "promised": d + promo,
        "desired": e + 0.03,
        "adequate": e - 0.15,
        "rating": 0.10 + r.normal(0.0, 0.08),
    }


def _expected_answer(mean: np.ndarray, sd: float, lo: int, hi: int) -> np.ndarray:
    """E[clip(round(X), lo, hi)] for X ~ N(mean, sd²) (elementwise in ``mean``)."""
    from scipy.special import ndtr

    k = np.arange(lo + 1, hi + 1)
    tail: np.ndarray = 1.0 - ndtr((k[None, :] - 0.5 - mean[:, None]) / sd)
    out: np.ndarray = lo + tail.sum(axis=1)
    return out


def _uuid4(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random (version 4) UUID strings, built without a Python loop."""
    b = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    hexchars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    digits = np.empty((n, 32), dtype=np.uint8)
    digits[:, 0::2] = hexchars[b >> 4]
    digits[:, 1::2] = hexchars[b & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for src, dst in ((slice(0, 8), 0), (slice(8, 12), 9), (slice(12, 16), 14)):
        out[:, dst : dst + src.stop - src.start] = digits[:, src]
    out[:, 19:23] = digits[:, 16:20]
    out[:, 24:36] = digits[:, 20:32]
    return out.view("S36").ravel().astype(str)


def _check(
    n: int,
    missing_rate: float,
    straightliner_rate: float,
    ep_correlation: float,
    segments_effect: float | Mapping[str, Mapping[str, float]],
) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        msg = f"n must be a whole number; got {n!r}"
        raise TypeError(msg)
    if n < 1:
        msg = f"n must be at least 1; got {n}"
        raise ValueError(msg)
    for name, value, hi_open in (
        ("missing_rate", missing_rate, True),
        ("straightliner_rate", straightliner_rate, False),
        ("ep_correlation", ep_correlation, False),
    ):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not (0 <= value < 1 if hi_open else 0 <= value <= 1) or math.isnan(value):
            interval = "[0, 1)" if hi_open else "[0, 1]"
            msg = f"{name} must be a number in {interval}; got {value!r}"
            raise ValueError(msg)
    if not isinstance(segments_effect, Mapping) and (
        isinstance(segments_effect, bool)
        or not isinstance(segments_effect, int | float)
        or not 0 <= segments_effect <= 1
    ):
        msg = (
            "segments_effect must be a number in [0, 1] (the SD of the segment shifts as a "
            f"fraction of the scale range) or a mapping item -> code -> shift; got "
            f"{segments_effect!r}"
        )
        raise ValueError(msg)


class _Generator:
    def __init__(
        self,
        q: Questionnaire,
        n: int,
        seed: int,
        segments_effect: float | Mapping[str, Mapping[str, float]],
        missing_rate: float,
        straightliner_rate: float,
        rho: float,
    ) -> None:
        self.q, self.n, self.seed = q, n, seed
        self.segments_effect = segments_effect
        self.missing_rate = missing_rate
        self.straightliner_rate = straightliner_rate
        self.rho = rho
        self.rng = np.random.default_rng([seed, zlib.crc32(q.id.encode("utf-8"))])
        self.cols: dict[str, Any] = {}
        self.shares: dict[str, dict[str, float]] = {}
        self.effects: dict[str, dict[str, float]] = {}
        self.importance: dict[str, dict[str, float]] = {}
        self.shift = np.zeros(n)
        self.shift_dist: list[tuple[float, float]] = [(0.0, 1.0)]
        # item -> role -> (expected answer per item, dimension) for the truth
        self.item_expected: list[tuple[str | None, str, float]] = []

    # -- respondent-level draws --------------------------------------------------------------
    def respondents(self) -> None:
        n, rng = self.n, self.rng
        self.straight = rng.random(n) < self.straightliner_rate
        self.straight_pos = rng.random(n)
        self.common = rng.standard_normal(n)
        self.levels = {
            role: math.sqrt(self.rho) * self.common
            + math.sqrt(1 - self.rho) * rng.standard_normal(n)
            for role in self.q.roles_used
        }
        self.language = np.where(rng.random(n) < ZH_SHARE, "zh-Hans", "en")

    def choice_shares(self, item: Item) -> np.ndarray:
        r = _sub_rng(self.seed, "shares", item.id)
        return r.dirichlet(np.full(len(item.choices), 4.0))

    def segments(self) -> None:
        """Draw single-choice answers first: segment shifts feed the ratings."""
        self.choice_idx: dict[str, np.ndarray] = {}
        for item in self.q.iter_items(type="single_choice"):
            p = self.choice_shares(item)
            idx = np.searchsorted(np.cumsum(p), self.rng.random(self.n) * p.sum(), side="right")
            idx = np.minimum(idx, len(p) - 1)
            self.choice_idx[item.id] = idx
            if not item.segment:
                continue
            codes = [c.code for c in item.choices]
            if isinstance(self.segments_effect, Mapping):
                given = self.segments_effect.get(item.id, {})
                raw = np.array([float(given.get(c, 0.0)) for c in codes])
            else:
                raw = _sub_rng(self.seed, "segment", item.id).normal(
                    0.0, self.segments_effect, size=len(codes)
                )
                raw = raw - float(p @ raw)  # centred: the segments do not move the mean
            self.shares[item.id] = dict(zip(codes, map(float, p), strict=True))
            self.effects[item.id] = dict(zip(codes, map(float, raw), strict=True))
            self.shift += raw[idx]
            self.shift_dist = [
                (s + v, w * float(pv))
                for (s, w) in self.shift_dist
                for v, pv in zip(raw, p, strict=True)
            ]
            if len(self.shift_dist) > 512:  # keep the exact mixture small: merge by rounding
                merged: dict[float, float] = {}
                for s, w in self.shift_dist:
                    merged[round(s, 3)] = merged.get(round(s, 3), 0.0) + w
                self.shift_dist = list(merged.items())

    # -- CSI structural model ------------------------------------------------------------------
    def csi(self) -> None:
        spec = self.q.scoring.csi
        self.csi_cols: dict[str, np.ndarray] = {}
        self.paths: dict[str, float] = {}
        self.loadings: dict[str, float] = {}
        self.r2: dict[str, float] = {}
        if spec is None:
            return
        r = _sub_rng(self.seed, "csi", self.q.id)
        latents = list(spec.blocks)
        preds: dict[str, list[str]] = {lv: [] for lv in latents}
        for a, b in spec.paths:
            preds[b].append(a)
        order: list[str] = []
        while len(order) < len(latents):
            ready = [lv for lv in latents if lv not in order and all(p in order for p in preds[lv])]
            if not ready:  # pragma: no cover - the loader accepts only recursive models
                msg = "scoring.csi.paths form a cycle; the simulation needs a recursive model"
                raise ValueError(msg)
            order.extend(ready)
        idx = {lv: i for i, lv in enumerate(order)}
        complaints = {lv for lv, t in spec.labels.items() if "complain" in t.en.lower()}
        cov = np.eye(len(order))
        eta = np.empty((self.n, len(order)))
        shift_sd = max(float(np.std(self.shift)), 0.0) / CSI_SD
        for lv in order:
            i = idx[lv]
            ps = preds[lv]
            if not ps:
                # exogenous: the segment shift (in latent SD units) plus noise, variance 1
                s = self.shift / CSI_SD
                v = 1.0 - shift_sd**2
                eta[:, i] = s + math.sqrt(max(v, 0.05)) * self.rng.standard_normal(self.n)
                continue
            beta = r.uniform(0.2, 0.5, size=len(ps))
            beta *= np.array([-1.0 if complaints & {p, lv} else 1.0 for p in ps])
            j = [idx[p] for p in ps]
            sub = cov[np.ix_(j, j)]
            r2 = float(beta @ sub @ beta)
            if r2 > 0.75:
                beta *= math.sqrt(0.75 / r2)
                r2 = 0.75
            for p, bv in zip(ps, beta, strict=True):
                self.paths[f"{p}->{lv}"] = float(bv)
            self.r2[lv] = r2
            c = cov[:, j] @ beta  # covariances of the new latent with the earlier ones
            cov[i, :] = c
            cov[:, i] = c
            cov[i, i] = 1.0
            eta[:, i] = eta[:, j] @ beta + math.sqrt(1 - r2) * self.rng.standard_normal(self.n)
        for lv, cols in spec.blocks.items():
            for col in cols:
                lam = float(r.uniform(0.75, 0.9))
                self.loadings[col] = lam
                noise = self.rng.standard_normal(self.n)
                self.csi_cols[col] = lam * eta[:, idx[lv]] + math.sqrt(1 - lam**2) * noise

    # -- items -----------------------------------------------------------------------------------
    def rating(self, item: Item) -> None:
        assert item.scale is not None  # the loader guarantees a scale for ratings
        lo, hi = item.scale.min, item.scale.max
        rng_range = hi - lo
        mid = (lo + hi) / 2
        offset = _sub_rng(self.seed, "item", item.id).normal(0.0, 0.02)
        dim = item.dimension
        levels = _dimension_levels(self.seed, dim) if dim else None
        straight_value = np.rint(lo + self.straight_pos * rng_range)
        roles = item.roles or ("rating",)
        if item.roles:
            shared_noise = self.rng.standard_normal(self.n)
        for role in roles:
            col = item.column(role) if item.roles else item.id
            if col in self.csi_cols:
                x = mid + rng_range * (CSI_LEVEL + CSI_SD * self.csi_cols[col])
                self.record(
                    dim, role, np.array([mid + rng_range * CSI_LEVEL]), rng_range * CSI_SD, lo, hi
                )
            else:
                if levels is not None:
                    mu = levels[role]
                else:
                    mu = 0.15
                mu += offset
                shifted = role in SHIFTED_ROLES or not item.roles
                if item.roles:
                    g = self.levels[role]
                    e = math.sqrt(self.rho) * shared_noise + math.sqrt(1 - self.rho) * (
                        self.rng.standard_normal(self.n)
                    )
                else:
                    g = self.common
                    e = self.rng.standard_normal(self.n)
                x = mid + rng_range * (
                    mu + (self.shift if shifted else 0.0) + SIGMA_G * g + SIGMA_E * e
                )
                shifts = [(s, w) for s, w in self.shift_dist] if shifted else [(0.0, 1.0)]
                means = np.array([mid + rng_range * (mu + s) for s, _ in shifts])
                weights = np.array([w for _, w in shifts])
                sd = rng_range * math.hypot(SIGMA_G, SIGMA_E)
                self.record(dim, role, means, sd, lo, hi, weights)
            value = np.clip(np.rint(x), lo, hi)
            if item.reverse:
                value = lo + hi - value
            value = np.where(self.straight, straight_value, value)
            missing = self.rng.random(self.n) < self.missing_rate
            if not item.required:
                missing |= self.rng.random(self.n) < OPTIONAL_SKIP
            missing &= ~self.straight
            self.cols[col] = pd.array(np.where(missing, 0, value).astype(np.int16), dtype="Int16")
            self.cols[col][missing] = pd.NA

    def record(
        self,
        dim: str | None,
        role: str,
        means: np.ndarray,
        sd: float,
        lo: int,
        hi: int,
        weights: np.ndarray | None = None,
    ) -> None:
        w = np.ones(1) if weights is None else weights
        model = float(_expected_answer(means, sd, lo, hi) @ w / w.sum())
        s = self.straightliner_rate
        self.item_expected.append((dim, role, (1 - s) * model + s * (lo + hi) / 2))

    def allocation(self, item: Item) -> None:
        total = item.total or 100
        codes = [c.code for c in item.choices]
        r = _sub_rng(self.seed, "importance", *codes)
        mean = r.dirichlet(np.full(len(codes), 8.0))
        self.importance[item.id] = dict(zip(codes, map(float, mean), strict=True))
        step = 5 if total % 5 == 0 and total >= 5 * len(codes) else 1
        g = self.rng.gamma(20.0 * mean, size=(self.n, len(codes)))
        p = g / g.sum(axis=1, keepdims=True)
        counts = self.rng.multinomial(total // step, p) * step
        skip = self.skipped(item)
        for k, col in enumerate(item.columns()):
            arr = pd.array(counts[:, k].astype(np.int16), dtype="Int16")
            arr[skip] = pd.NA
            self.cols[col] = arr

    def skipped(self, item: Item) -> np.ndarray:
        if item.required:
            return np.zeros(self.n, dtype=bool)
        return self.rng.random(self.n) < OPTIONAL_SKIP

    def single_choice(self, item: Item) -> None:
        codes = np.array([c.code for c in item.choices], dtype=object)
        values = codes[self.choice_idx[item.id]]
        values[self.skipped(item)] = None
        self.cols[item.id] = pd.array(values, dtype="string")

    def multiple_choice(self, item: Item) -> None:
        skip = self.skipped(item)
        for c, col in zip(item.choices, item.columns(), strict=True):
            p = _sub_rng(self.seed, "chosen", item.id, c.code).uniform(0.15, 0.7)
            arr = pd.array((self.rng.random(self.n) < p).astype(np.int16), dtype="Int16")
            arr[skip] = pd.NA
            self.cols[col] = arr

    def text(self, item: Item) -> None:
        has = self.rng.random(self.n) < (1.0 if item.required else COMMENT_RATE)
        pick = self.rng.integers(0, len(_COMMENTS["en"]), size=self.n)
        zh = np.array(_COMMENTS["zh-Hans"], dtype=object)[pick]
        en = np.array(_COMMENTS["en"], dtype=object)[pick]
        values = np.where(self.language == "zh-Hans", zh, en)
        values[~has] = None
        self.cols[item.id] = pd.array(values, dtype="string")

    def number(self, item: Item) -> None:
        lo = item.minimum if item.minimum is not None else 0.0
        hi = item.maximum if item.maximum is not None else max(lo, 0.0) + 100.0
        x = np.clip(self.rng.normal((lo + hi) / 2, (hi - lo) / 6, size=self.n), lo, hi)
        skip = self.skipped(item)
        arr: Any
        if float(lo).is_integer() and float(hi).is_integer():
            arr = pd.array(np.rint(x).astype(np.int64), dtype="Int64")
        else:
            arr = pd.array(np.round(x, 1), dtype="Float64")
        arr[skip] = pd.NA
        self.cols[item.id] = arr

    # -- meta and assembly ---------------------------------------------------------------------
    def meta(self, survey: str, wave: str) -> dict[str, Any]:
        n, rng = self.n, self.rng
        ids = _uuid4(rng, n)
        start = np.datetime64("2025-01-06T08:00:00", "s") + rng.integers(
            0, 28 * 24 * 3600, size=n
        ).astype("timedelta64[s]")
        per_answer = 6.0 * max(len(self.q.columns(meta=False)), 1)
        duration = np.rint(rng.lognormal(math.log(per_answer), 0.35, size=n))
        duration = np.where(self.straight, np.rint(duration * 0.3), duration).astype(np.int64)
        duration = np.maximum(duration, 5)
        end = start + duration.astype("timedelta64[s]")
        self.ids = ids
        return {
            "response_id": pd.array(ids, dtype="string"),
            "survey": pd.array(np.full(n, survey, dtype=object), dtype="string"),
            "wave": pd.array(np.full(n, wave, dtype=object), dtype="string"),
            "audience": pd.array(np.full(n, self.q.audience, dtype=object), dtype="string"),
            "language": pd.array(self.language.astype(object), dtype="string"),
            "status": pd.array(np.full(n, "complete", dtype=object), dtype="string"),
            "suspect": self.straight.copy(),
            "started_at": pd.array(
                np.datetime_as_string(start, unit="s", timezone="UTC").astype(object),
                dtype="string",
            ),
            "submitted_at": pd.array(
                np.datetime_as_string(end, unit="s", timezone="UTC").astype(object),
                dtype="string",
            ),
            "duration_s": pd.array(duration, dtype="Int64"),
        }

    def truth(self) -> SimulationTruth:
        sums: dict[tuple[str, str], list[float]] = {}
        for dim, role, value in self.item_expected:
            if dim is not None:
                sums.setdefault((dim, role), []).append(value)
        expected: dict[str, dict[str, float]] = {}
        latent: dict[str, dict[str, float]] = {}
        for (dim, role), values in sums.items():
            expected.setdefault(dim, {})[role] = float(np.mean(values))
            latent.setdefault(dim, {})[role] = float(_dimension_levels(self.seed, dim)[role])
        gaps = {
            d: roles["perception"] - roles["expectation"]
            for d, roles in expected.items()
            if {"perception", "expectation"} <= roles.keys()
        }
        return SimulationTruth(
            seed=self.seed,
            n=self.n,
            missing_rate=self.missing_rate,
            straightliner_rate=self.straightliner_rate,
            ep_correlation=self.rho,
            straightliners=tuple(self.ids[self.straight].tolist()),
            latent=latent,
            expected=expected,
            gaps=gaps,
            segment_shares=self.shares,
            segment_effects=self.effects,
            importance=self.importance,
            paths=self.paths,
            loadings=self.loadings,
            r2=self.r2,
        )


def simulate(
    q: Questionnaire,
    n: int,
    *,
    seed: int = 0,
    segments_effect: float | Mapping[str, Mapping[str, float]] = 0.05,
    missing_rate: float = 0.02,
    straightliner_rate: float = 0.02,
    ep_correlation: float = 0.5,
    survey: str | None = None,
    wave: str | None = None,
) -> Simulation:
    """Simulate ``n`` responses to ``q`` with a known ground truth.

    Parameters
    ----------
    q
        The instrument.
    n
        Number of responses (at least 1).
    seed
        Seed of the generator: the same arguments give the same data.
    segments_effect
        SD of the segment codes' shifts as a fraction of the scale range, or an explicit
        mapping ``segment item -> code -> shift``.
    missing_rate
        Probability that a rating answer is missing, in [0, 1).
    straightliner_rate
        Share of straight-liners, in [0, 1].
    ep_correlation
        Latent correlation between the roles (E and P) of one item, in [0, 1].
    survey, wave
        Values of the ``survey`` and ``wave`` columns (default: the instrument id and
        ``"sim"``).

    Returns
    -------
    Simulation
        ``data`` in the export format and ``truth`` (:class:`SimulationTruth`).

    Raises
    ------
    ValueError
        When ``n`` is below 1 or a rate lies outside its interval.

    Examples
    --------
    >>> import questionnaires as qn
    >>> sim = simulate(qn.builtin("servqual22"), 200, seed=1)
    >>> list(sim.data.columns) == list(qn.builtin("servqual22").columns())
    True
    >>> bool(sim.data["imp_tan"].add(sim.data["imp_rel"]).le(100).all())
    True
    """
    _check(n, missing_rate, straightliner_rate, ep_correlation, segments_effect)
    n = int(n)
    gen = _Generator(
        q, n, int(seed), segments_effect, missing_rate, straightliner_rate, ep_correlation
    )
    gen.respondents()
    gen.segments()
    gen.csi()
    meta = gen.meta(survey if survey is not None else q.id, wave if wave is not None else "sim")
    handlers = {
        "rating": gen.rating,
        "allocation": gen.allocation,
        "single_choice": gen.single_choice,
        "multiple_choice": gen.multiple_choice,
        "text": gen.text,
        "number": gen.number,
    }
    for item in q.items:
        handlers[item.type](item)
    columns = {**meta, **gen.cols}
    data = pd.DataFrame({c: columns[c] for c in (*META_COLUMNS, *q.columns(meta=False))})
    return Simulation(data=data, truth=gen.truth())


# ---------------------------------------------------------------------------- chain

#: Column of the simulated customer key in the customer responses and the outcomes.
CUSTOMER_KEY = "customer_id"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainTruth:
    """The service-profit chain the linked data of :func:`simulate_chain` came from.

    Attributes
    ----------
    seed, unit, customer_overall, staff_overall
        Seed, the unit (segment) item, and the overall items of the two instruments.
    staff_shift, customer_shift
        unit code -> latent shift (fraction of the scale range) of the staff's and the
        customers' ratings; ``customer_shift = staff_effect * staff_shift + r_u``.
    staff_effect
        Customer shift per unit of staff shift (both fractions of their ranges).
    staff_mean, customer_mean
        unit code -> expected answer (scale points) to the overall item of each survey.
    staff_to_customer
        OLS slope of ``customer_mean`` on ``staff_mean`` over the units: the expected
        rise in a unit's customer satisfaction per point of its staff satisfaction.
    churn_intercept, churn_slope
        ``logit P(churned) = churn_intercept + churn_slope * (answer - midpoint)`` with
        ``answer`` the customer's overall answer (the midpoint where it is missing).
    non_respondents
        Outcome rows of customers who never answered.
    """

    seed: int
    unit: str
    customer_overall: str
    staff_overall: str
    staff_shift: Mapping[str, float]
    customer_shift: Mapping[str, float]
    staff_effect: float
    staff_mean: Mapping[str, float]
    customer_mean: Mapping[str, float]
    staff_to_customer: float
    churn_intercept: float
    churn_slope: float
    non_respondents: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe plain data."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ChainSimulation:
    """Result of :func:`simulate_chain`: customer responses (with ``customer_id``), staff
    responses, the customers' outcomes and the truth of each."""

    customers: Simulation
    staff: Simulation
    outcomes: pd.DataFrame
    truth: ChainTruth


def _overall_mean(q: Questionnaire, item_id: str, seed: int, shift: float) -> float:
    """Expected answer to a rating without dimension or roles at a latent ``shift``."""
    item = q.item(item_id)
    assert item.scale is not None  # the caller checked the overall item is a rating
    lo, hi = item.scale.min, item.scale.max
    r = hi - lo
    mu = 0.15 + _sub_rng(seed, "item", item.id).normal(0.0, 0.02)
    sd = r * math.hypot(SIGMA_G, SIGMA_E)
    value = float(_expected_answer(np.array([(lo + hi) / 2 + r * (mu + shift)]), sd, lo, hi)[0])
    return lo + hi - value if item.reverse else value


def simulate_chain(
    customer_q: Questionnaire,
    staff_q: Questionnaire,
    n_customers: int,
    n_staff: int,
    *,
    seed: int = 0,
    unit: str = "branch",
    staff_effect: float = 0.8,
    unit_sd: float = 0.08,
    unit_residual_sd: float = 0.03,
    churn_intercept: float = -1.5,
    churn_slope: float = -0.7,
    non_respondent_rate: float = 0.1,
    missing_rate: float = 0.02,
    wave: str | None = None,
) -> ChainSimulation:
    """Linked customer and staff surveys and customer outcomes from a known chain.

    Each unit (a code of the segment item ``unit``, present in both instruments with the
    same codes) gets a staff shift ``s_u ~ N(0, unit_sd)``; the staff ratings of the unit
    move by ``s_u`` and its customers' ratings by ``staff_effect * s_u + r_u`` with
    ``r_u ~ N(0, unit_residual_sd)``, what else differs between units (fractions of the
    scale range, see the module docstring). Each customer churns with
    ``logit p = churn_intercept + churn_slope * (overall answer - midpoint)``; revenue
    (lognormal, higher for satisfied customers) and tenure (0-19 years) complete the
    outcomes, and a share ``non_respondent_rate`` of extra outcome rows belongs to
    customers who never answered. Straight-liners are left out (rate 0), so the truth is
    exact.

    Examples
    --------
    >>> import questionnaires as qn
    >>> sim = simulate_chain(qn.builtin("service_short"), qn.builtin("staff_satisfaction"),
    ...                      200, 50, seed=1)
    >>> sorted(sim.outcomes.columns)
    ['churned', 'customer_id', 'retained', 'revenue', 'tenure']
    >>> len(sim.outcomes)
    220
    """
    _check(n_customers, missing_rate, 0.0, 0.5, 0.0)
    _check(n_staff, missing_rate, 0.0, 0.5, 0.0)
    codes: list[list[str]] = []
    overall: list[str] = []
    for q in (customer_q, staff_q):
        try:
            item = q.item(unit)
        except KeyError:
            item = None
        if item is None or item.type != "single_choice":
            msg = f"{q.id}: has no single-choice item {unit!r} to link the surveys by unit"
            raise ValueError(msg)
        codes.append([c.code for c in item.choices])
        ov = q.scoring.overall
        if ov is None or q.item(ov).type != "rating":
            msg = f"{q.id}: names no overall satisfaction rating (scoring.overall)"
            raise ValueError(msg)
        overall.append(ov)
    if codes[0] != codes[1]:
        msg = (
            f"the {unit!r} codes differ between {customer_q.id} {codes[0]} and "
            f"{staff_q.id} {codes[1]}; the surveys must share them"
        )
        raise ValueError(msg)
    r = _sub_rng(seed, "chain", unit)
    staff_shift = dict(
        zip(codes[0], map(float, r.normal(0.0, unit_sd, len(codes[0]))), strict=True)
    )
    residual = r.normal(0.0, unit_residual_sd, len(codes[0]))
    cust_shift = {
        u: staff_effect * v + float(e)
        for (u, v), e in zip(staff_shift.items(), residual, strict=True)
    }
    customers = simulate(
        customer_q,
        n_customers,
        seed=seed,
        segments_effect={unit: cust_shift},
        missing_rate=missing_rate,
        straightliner_rate=0.0,
        wave=wave,
    )
    staff = simulate(
        staff_q,
        n_staff,
        seed=seed,
        segments_effect={unit: staff_shift},
        missing_rate=missing_rate,
        straightliner_rate=0.0,
        wave=wave,
    )
    n_extra = int(round(non_respondent_rate * n_customers))
    ids = np.array([f"C{i + 1:07d}" for i in range(n_customers + n_extra)], dtype=object)
    order = r.permutation(ids.size)
    ids = ids[order]
    data = customers.data.copy()
    data.insert(0, CUSTOMER_KEY, pd.Series(ids[:n_customers], dtype="string"))
    item = customer_q.item(overall[0])
    assert item.scale is not None
    mid = (item.scale.min + item.scale.max) / 2
    answer = data[overall[0]].astype("Float64").fillna(mid).to_numpy(dtype="float64")
    answer = np.concatenate([answer, np.full(n_extra, mid)])
    eta = churn_intercept + churn_slope * (answer - mid)
    churned = (r.random(answer.size) < 1.0 / (1.0 + np.exp(-eta))).astype(np.int64)
    outcomes = pd.DataFrame(
        {
            CUSTOMER_KEY: ids,
            "churned": churned,
            "retained": 1 - churned,
            "tenure": r.integers(0, 20, size=answer.size),
            "revenue": np.round(r.lognormal(6.0 + 0.15 * (answer - mid), 1.0), 2),
        }
    ).sample(frac=1.0, random_state=np.random.RandomState(seed % 2**32))
    outcomes = outcomes.reset_index(drop=True)
    staff_mean = {u: _overall_mean(staff_q, overall[1], seed, v) for u, v in staff_shift.items()}
    cust_mean = {u: _overall_mean(customer_q, overall[0], seed, v) for u, v in cust_shift.items()}
    xs = np.array(list(staff_mean.values()))
    ys = np.array([cust_mean[u] for u in staff_mean])
    slope = float(np.polyfit(xs, ys, 1)[0])
    truth = ChainTruth(
        seed=seed,
        unit=unit,
        customer_overall=overall[0],
        staff_overall=overall[1],
        staff_shift=staff_shift,
        customer_shift=cust_shift,
        staff_effect=float(staff_effect),
        staff_mean=staff_mean,
        customer_mean=cust_mean,
        staff_to_customer=slope,
        churn_intercept=float(churn_intercept),
        churn_slope=float(churn_slope),
        non_respondents=n_extra,
    )
    return ChainSimulation(
        customers=Simulation(data=data, truth=customers.truth),
        staff=staff,
        outcomes=outcomes,
        truth=truth,
    )


__all__ = [
    "ChainSimulation",
    "ChainTruth",
    "Simulation",
    "SimulationTruth",
    "simulate",
    "simulate_chain",
]
