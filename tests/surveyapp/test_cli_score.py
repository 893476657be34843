"""`manyi score METHOD DATA --questionnaire ...`."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

import questionnaires as qn
from questionnaires.simulate import simulate
from scoring import instrument as si
from surveyapp.cli import main
from tests.scoring.test_instrument import servqual22_reversed_tangibles


@pytest.fixture(scope="module")
def servqual_csv(tmp_path_factory):
    q = qn.builtin("servqual22")
    data = simulate(q, 300, seed=5).data
    path = tmp_path_factory.mktemp("data") / "servqual.csv"
    data.to_csv(path, index=False, encoding="utf-8-sig")
    return path


@pytest.fixture
def cli():
    return CliRunner()


def test_servqual_json_matches_library(cli, servqual_csv):
    res = cli.invoke(
        main, ["score", "servqual", str(servqual_csv), "-q", "servqual22", "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    q = qn.builtin("servqual22")
    frame = pd.read_csv(servqual_csv, encoding="utf-8-sig")
    frame.index = frame.index + 2  # the CLI labels rows as the file's line numbers
    frame = frame[~si.screen(q, frame)["suspect"]]  # the CLI leaves out the suspects
    direct = si.score(q, "servqual", frame)
    assert got == json.loads(json.dumps(direct.to_dict()))


def test_servqual_and_gaps_recode_reverse_coded_items(cli, tmp_path):
    instrument = tmp_path / "servqual22_reversed.yaml"
    instrument.write_text(servqual22_reversed_tangibles(), encoding="utf-8")
    sim = simulate(qn.load(instrument), 3000, seed=3)
    data = tmp_path / "reversed.csv"
    sim.data.to_csv(data, index=False)
    for args, table, value in (
        (["servqual", str(data), "-q", str(instrument)], "dimensions", "gap"),
        (["gaps", f"customer={data}", "-q", f"customer={instrument}"], "dimensions", "estimate"),
    ):
        res = cli.invoke(main, ["score", *args, "--format", "json"])
        assert res.exit_code == 0, res.output
        split = json.loads(res.stdout)[table]
        rows = pd.DataFrame(split["data"], columns=split["columns"]).set_index("dimension")
        for dim, gap in sim.truth.gaps.items():
            # within four standard errors of the simulator's expected P - E
            assert abs(rows.loc[dim, value] - gap) < 4 * rows.loc[dim, "se"], (args[0], dim)


def test_pca_refuses_an_item_keyed_against_the_rest(cli, servqual_csv, tmp_path):
    frame = pd.read_csv(servqual_csv, encoding="utf-8-sig")
    frame["rel2_p"] = 8 - frame["rel2_p"]  # answered reversed, not declared reverse-coded
    bad = tmp_path / "keyed.csv"
    frame.to_csv(bad, index=False)
    res = cli.invoke(main, ["score", "pca", str(bad), "-q", "servqual22"])
    assert res.exit_code == 2
    assert "block 'rel' gives item(s) 'rel2_p'" in res.output
    assert "declare it reverse-coded" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_servqual_other_formats(cli, servqual_csv, fmt, tmp_path):
    out = tmp_path / f"r.{fmt}"
    args = ["score", "servqual", str(servqual_csv), "-q", "servqual22", "--format", fmt]
    res = cli.invoke(main, [*args, "-o", str(out), "--segment", "branch"])
    assert res.exit_code == 0, res.output
    text = out.read_text("utf-8-sig")
    assert "rel" in text
    assert "gap" in text


def test_xlsx_and_sav_inputs(cli, servqual_csv, tmp_path):
    import pyreadstat

    frame = pd.read_csv(servqual_csv, encoding="utf-8-sig")
    item_cols = [c for c in frame.columns if c not in qn.META_COLUMNS]
    xlsx = tmp_path / "d.xlsx"
    frame.to_excel(xlsx, index=False)
    sav = tmp_path / "d.sav"
    numeric = frame[[c for c in item_cols if pd.api.types.is_numeric_dtype(frame[c])]]
    pyreadstat.write_sav(numeric, str(sav))
    for path in (xlsx, sav):
        res = cli.invoke(main, ["score", "reliability", str(path), "-q", "servqual22"])
        assert res.exit_code == 0, res.output
        assert "tan" in res.output


def test_out_of_range_names_column_and_file_row(cli, servqual_csv, tmp_path):
    frame = pd.read_csv(servqual_csv, encoding="utf-8-sig")
    frame.loc[6, "rel2_p"] = 9  # file row 8: header is row 1
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    res = cli.invoke(main, ["score", "servqual", str(bad), "-q", "servqual22"])
    assert res.exit_code == 2
    assert "'rel2_p'" in res.output
    assert "row 8" in res.output
    assert "Traceback" not in res.output


def test_missing_file_and_bad_weights(cli, servqual_csv, tmp_path):
    res = cli.invoke(main, ["score", "servqual", str(tmp_path / "no.csv"), "-q", "servqual22"])
    assert res.exit_code == 2
    assert "no such data file" in res.output
    res = cli.invoke(
        main, ["score", "servqual", str(servqual_csv), "-q", "servqual22", "--weights", "tan"]
    )
    assert res.exit_code == 2
    assert "--weights must look like" in res.output


def test_csi_on_the_public_mobile_data_with_uppercase_columns(cli, reference_dir):
    mobi = reference_dir / "extra" / "mobi.csv"
    res = cli.invoke(main, ["score", "csi", str(mobi), "-q", "ecsi_mobile", "--format", "json"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert got["type"] == "CsiResult"


@pytest.mark.parametrize(
    ("ident", "method"), [("service_short", "fuzzy"), ("service_short", "pca"), ("acsi", "drivers")]
)
def test_other_methods_run(cli, tmp_path, ident, method):
    q = qn.builtin(ident)
    path = tmp_path / "d.csv"
    simulate(q, 250, seed=1).data.to_csv(path, index=False)
    res = cli.invoke(main, ["score", method, str(path), "-q", ident])
    assert res.exit_code == 0, res.output


def test_index_prints_index_and_nps(cli, servqual_csv):
    res = cli.invoke(main, ["score", "index", str(servqual_csv), "-q", "servqual22"])
    assert res.exit_code == 0, res.output
    assert "index" in res.output
    assert "nps" in res.output


@pytest.fixture(scope="module")
def gap_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gaps")
    out = {}
    for audience, ident, n in [
        ("customer", "servqual22", 200),
        ("manager", "servqual22_manager", 30),
        ("staff", "servqual22_staff", 60),
    ]:
        q = qn.builtin(ident)
        path = folder / f"{audience}.csv"
        simulate(q, n, seed=7).data.to_csv(path, index=False)
        out[audience] = path
    return out


def test_gaps_from_three_audiences(cli, gap_files):
    args = ["score", "gaps", f"customer={gap_files['customer']}", str(gap_files["manager"])]
    args += [f"staff={gap_files['staff']}", "--format", "json", "--include-suspect"]
    res = cli.invoke(main, args)
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert got["type"] == "GapsResult"
    from scoring.gaps import service_gaps

    sources = {}
    for audience, ident in [
        ("customers", "servqual22"),
        ("managers", "servqual22_manager"),
        ("staff", "servqual22_staff"),
    ]:
        q = qn.builtin(ident)
        frame = pd.read_csv(gap_files[audience.rstrip("s") if audience != "staff" else "staff"])
        frame.index = frame.index + 2
        sources[audience] = (q, frame)
    direct = service_gaps(**si.gaps_inputs(**sources))
    assert got == json.loads(json.dumps(direct.to_dict()))


def test_gaps_bad_audience_and_duplicates(cli, gap_files):
    res = cli.invoke(main, ["score", "gaps", f"boss={gap_files['manager']}"])
    assert res.exit_code == 2
    assert "audience must be one of" in res.output
    dup = [f"staff={gap_files['staff']}", f"audit={gap_files['staff']}"]
    res = cli.invoke(main, ["score", "gaps", *dup])
    assert res.exit_code == 2
    assert "not both" in res.output


def test_csi_consistent_flag_fits_plsc(cli, tmp_path):
    q = qn.builtin("ccsi")
    data = simulate(q, 400, seed=2).data
    path = tmp_path / "ccsi.csv"
    data.to_csv(path, index=False)
    args = ["score", "csi", str(path), "-q", "ccsi", "--format", "json", "--include-suspect"]
    res = cli.invoke(main, [*args, "--consistent", "--bootstrap", "50", "--seed", "3"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert got["pls"]["estimator"] == "plsc"
    frame = pd.read_csv(path)
    frame.index = frame.index + 2  # the CLI labels rows as the file's line numbers
    direct = si.score(q, "csi", frame, bootstrap=50, seed=3, consistent=True)
    assert direct.pls.estimator == "plsc"
    assert got == json.loads(json.dumps(direct.to_dict()))
    plain = cli.invoke(main, args)
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.stdout)["pls"]["estimator"] == "pls"


def test_csi_reports_the_pls_assessment(cli, reference_dir, tmp_path):
    """JSON carries f², VIF, HTMT, fit, its test and PLSpredict; table and CSV show them."""
    mobi = reference_dir / "extra" / "mobi.csv"
    base = ["score", "csi", str(mobi), "-q", "ecsi_mobile", "--bootstrap", "40", "--seed", "2"]
    base.append("--include-suspect")  # the same rows as the direct call below
    extra = ["--fit-test", "--predict-folds", "5"]
    res = cli.invoke(main, [*base, *extra, "--format", "json"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    frame = pd.read_csv(mobi).rename(columns=str.lower)  # the CLI matches case-insensitively
    frame.index = frame.index + 2  # the CLI labels rows as the file's line numbers
    direct = si.score(
        qn.builtin("ecsi_mobile"),
        "csi",
        frame,
        bootstrap=40,
        seed=2,
        fit_test=True,
        predict_folds=5,
    )
    assert got == json.loads(json.dumps(direct.to_dict()))
    pls = got["pls"]
    for key in ("f_squared", "inner_vif", "item_vif", "model_fit", "prediction"):
        assert pls[key] is not None
    assert pls["bootstrap"]["fit_test"]["index"] == ["srmr", "d_uls", "d_g"]
    assert got["ipma"] == "unstandardized"

    table = cli.invoke(main, [*base, *extra])
    assert table.exit_code == 0, table.output
    for section in ("== paths ==", "f_squared", "== model_fit ==", "== predict ==", "q2_predict"):
        assert section in table.output
    assert "Traceback" not in table.output

    out = tmp_path / "csi.csv"
    written = cli.invoke(main, [*base, "--format", "csv", "--out", str(out)])
    assert written.exit_code == 0, written.output
    paths = pd.read_csv(tmp_path / "csi.paths.csv", encoding="utf-8-sig")
    assert {"f_squared", "vif", "p_value"} <= set(paths.columns)

    bad = cli.invoke(main, ["score", "csi", str(mobi), "-q", "ecsi_mobile", "--fit-test"])
    assert bad.exit_code == 2
    assert "--fit-test needs --bootstrap" in bad.output
    folds = cli.invoke(main, [*base, "--predict-folds", "1"])
    assert folds.exit_code == 2
    assert "Traceback" not in folds.output
