"""The CSI model's assessment and the reliability table in the report (issue 19's
"report's CSI section"; issue 18 item 9): every number equals the direct scoring call,
the pages show them in both languages, the JSON carries them."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import questionnaires as qn
from questionnaires.simulate import simulate
from scoring.instrument import reliability_kwargs, score
from scoring.pls_assess import htmt
from surveyapp.reports import build as b
from surveyapp.reports import render, runs
from tests.surveyapp.reports_helpers import store

TOL = 1e-12


@pytest.fixture(scope="module")
def acsi() -> tuple[qn.Questionnaire, pd.DataFrame]:
    q = qn.builtin("acsi")
    data = simulate(q, 300, seed=2).data
    # a yes/no complaints column as the ACSI asks it (complaint rating 6+ = complained)
    data[b.COMPLAINTS_COLUMN] = (data["comp1"] > 5).astype("Int64")
    return q, data


def _direct(q: qn.Questionnaire, data: pd.DataFrame) -> Any:
    return score(q, "csi", data, **b.csi_params(data))


def _close(got: Any, want: Any) -> None:
    if want is None or (isinstance(want, float) and math.isnan(want)):
        assert got is None
    else:
        assert_allclose(got, want, rtol=TOL, atol=TOL)


def test_csi_view_equals_the_scoring_call(acsi) -> None:
    q, data = acsi
    view = b.csi_view(q, _direct(q, data), language="en")
    pls = _direct(q, data).pls
    rel = pls.reliability_validity()
    for r in view["reliability"]:
        row = rel.loc[r["key"]]
        for mine, theirs in (("alpha", "cronbach_alpha"), ("rho_a", "rho_a"), ("cr", "rho_c")):
            _close(r[mine], row[theirs])
        _close(r["ave"], row["ave"])
        _close(r["htmt_max"], pls.htmt.loc[r["key"]].drop(r["key"]).max())
    assessed = pls.path_assessment()
    assert [p["estimate"] for p in view["paths"]] == pytest.approx(
        assessed["estimate"].tolist(), rel=TOL
    )
    assert [p["p"] for p in view["paths"]] == pytest.approx(assessed["p_value"].tolist(), rel=TOL)
    # f² and inner VIF: predictor x dependent, a value exactly where there is a path
    tos = list(dict.fromkeys(pls.paths["to"]))
    for name, table in (("f_squared", pls.f_squared), ("inner_vif", pls.inner_vif)):
        for row in view[name]["rows"]:
            for to, cell in zip(tos, row["cells"], strict=True):
                has_path = ((pls.paths["from"] == row["key"]) & (pls.paths["to"] == to)).any()
                assert (cell is not None) == has_path
                if has_path:
                    _close(cell, table.loc[row["key"], to])
    for r in view["item_vif"]:
        _close(r["vif"], pls.item_vif.loc[r["item"], "vif"])
    for r in view["model_fit"]:
        _close(r["saturated"], pls.model_fit.loc[r["statistic"], "saturated"])
        _close(r["estimated"], pls.model_fit.loc[r["statistic"], "estimated"])
    assert view["prediction"]["folds"] == b.PREDICT_FOLDS
    for r in view["prediction"]["items"]:
        for k in ("rmse_pls", "rmse_lm", "mae_pls", "mae_lm", "q2_predict"):
            _close(r[k], pls.prediction.items.loc[r["item"], k])
    share = _direct(q, data).complaint_share.loc["all"]
    _close(view["complaints"][0]["share"], share["share"])
    assert view["complaints"][0]["complained"] == int(share["complained"])
    assert view["ipma"] == "unstandardized"


def test_ipma_is_smartpls_convention_and_labelled_so(acsi) -> None:
    q, data = acsi
    res = _direct(q, data)
    ipa = b.importance_performance_view(q, csi=res, language="en")
    assert ipa["convention"] == "unstandardized"
    want = res.indices.set_index(res.indices.index)["total_effect_unstandardized"]
    for r in ipa["rows"]:
        _close(r["importance"], want[r["driver"]])
    lab = render.labels(lambda s: s)
    from surveyapp.reports.charts import ipa_chart  # only for this check

    chart = ipa_chart(ipa, lab)
    assert chart["figure"]["layout"]["yaxis"]["title"]["text"] == lab["importance_unstandardized"]


def test_reliability_view_equals_the_scoring_call(acsi) -> None:
    q, data = acsi
    rel = score(q, "reliability", data)
    view = b.reliability_view(q, rel, language="zh-Hans")
    dims = rel.dimensions.set_index("dimension")
    for r in view["rows"]:
        _close(r["alpha"], dims.loc[r["key"], "alpha"])
        _close(r["cr"], dims.loc[r["key"], "composite_reliability"])
        _close(r["ave"], dims.loc[r["key"], "ave"])
        _close(r["htmt_max"], rel.htmt.loc[r["key"]].drop(r["key"]).max())
    # the reliability's HTMT is scoring.pls_assess.htmt of the items' correlations
    blocks = dict(reliability_kwargs(q)["dimensions"])
    cols = [c for v in blocks.values() for c in v]
    odm = np.zeros((len(cols), len(blocks)))
    start = 0
    for j, v in enumerate(blocks.values()):
        odm[start : start + len(v), j] = 1
        start += len(v)
    R = data[cols].astype(float).corr().to_numpy()
    assert_allclose(rel.htmt.to_numpy(), htmt(R[None], odm)[0], rtol=TOL)


def test_reliability_flags_name_each_threshold() -> None:
    assert b._reliability_flags(0.6, 0.65, 0.4, 0.95) == ["alpha", "cr", "ave", "htmt90"]
    assert b._reliability_flags(0.8, 0.8, 0.6, 0.87) == ["htmt85"]
    assert b._reliability_flags(0.8, 0.8, 0.6, None) == []


def test_full_report_json_has_the_csi_section_and_reliability(acsi) -> None:
    q, data = acsi
    rep = json.loads(render.report_json(b.full_report(q, data, language="en")))
    csi = rep["csi"]
    assert {"reliability", "htmt", "f_squared", "inner_vif", "item_vif", "model_fit"} <= set(csi)
    assert csi["prediction"]["items"]
    assert csi["complaints"][0]["group"] == "all"
    assert rep["methods"]["reliability"]["rows"]
    # the driver model, when the questionnaire has one, draws the map (no IPMA convention)
    ipa = rep["importance_performance"]
    assert (ipa["source"], ipa["convention"]) == ("drivers", None)


def test_small_sample_says_so_and_servqual_has_no_csi_section() -> None:
    q = qn.builtin("acsi")
    rep = b.full_report(q, simulate(q, 12, seed=3).data)
    assert "csi" in rep["unavailable"]
    assert rep["unavailable"]["csi"]["needs"] == b.responses_needed(q)["csi"]
    sq = qn.builtin("servqual22")
    rep = b.full_report(sq, simulate(sq, 40, seed=3).data)
    assert "csi" not in rep
    assert "csi" not in rep["unavailable"]
    assert "csi" not in b.responses_needed(sq)


def test_stored_bootstrap_run_keeps_the_pls_assessment(acsi) -> None:
    q, data = acsi
    res = score(q, "csi", data, bootstrap=40, seed=1)
    out = runs.compact(res)
    assert "pls" not in out  # the per-respondent scores stay out
    paths = out["pls_paths"]
    assert {"f_squared", "vif", "p_value", "lower", "upper"} <= set(paths["columns"])
    k = paths["columns"].index("p_value")
    want = res.pls.bootstrap.paths["p_value"].tolist()
    assert [row[k] for row in paths["data"]] == pytest.approx(want, rel=TOL)
    assert "p_below_0.85" in out["pls_htmt"]["columns"]


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ("Satisfaction index model (PLS)", "Effect size f²", "Model fit", "PLSpredict")),
        ("zh-Hans", ("满意度指数模型（PLS）", "效应量 f²", "模型拟合", "预测能力")),
    ],
)
def test_csi_page_in_both_languages(app, client_as, lang, words) -> None:
    sid = store(app, qn.builtin("acsi"), "acsi-page", 300, 4, wave="2026-Q1")
    c = client_as("viewer")
    r = c.get(f"/research/reports/surveys/{sid}/sections/csi-model?lang={lang}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for w in words:
        assert w in html
    assert "None" not in html
    assert "nan" not in html.lower().replace("nano", "")
    assert "d_uls" not in html
    assert "rmse_pls" not in html
    methods = c.get(f"/research/reports/surveys/{sid}/sections/methods?lang={lang}")
    page = methods.get_data(as_text=True)
    assert 'class="reliability-table"' in page
    assert "None" not in page
    if lang == "zh-Hans":
        assert "组合信度" in page
        assert "Composite reliability" not in page
