"""The report's JSON equals ``manyi score gaps`` on the exported files (issue 14, item 2).

``manyi report SURVEY --out FILE.json`` and ``GET /api/v1/surveys/<id>/report.json`` carry
the dashboard's numbers; every five-gap value, interval and level in them must be what
``manyi score gaps`` computes from the surveys written by ``manyi export``: on the demo
study and on a simulated study with 15 % of the answers blanked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import questionnaires as qn
from questionnaires.simulate import simulate
from surveyapp import models as m
from surveyapp.cli import main
from surveyapp.reports.build import AUDIENCE_INSTRUMENT
from surveyapp.reports.demo import seed_gap_study
from surveyapp.services.responses import import_frame
from surveyapp.services.surveys import create_survey
from tests.surveyapp.conftest import make_app
from tests.surveyapp.research_helpers import add_token, add_user, migrated_database

TOL = 1e-12


def _run(*args: str) -> str:
    r = CliRunner().invoke(main, list(args))
    assert r.exit_code == 0, r.output
    return r.output


def _report(slug: str, tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / f"{slug}{''.join(extra)}.json"
    _run("report", slug, "--out", str(out), "--language", "en", *extra)
    return json.loads(out.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _exported(slugs: dict[str, str], tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for audience, slug in slugs.items():
        paths[audience] = tmp_path / f"{slug}.csv"
        _run("export", slug, "--out", str(paths[audience]))
    return paths


def _score_gaps(paths: dict[str, Path], tmp_path: Path, *extra: str) -> dict[str, pd.DataFrame]:
    """``manyi score gaps AUDIENCE=FILE... --format json``: its tables as frames. Like the
    report JSON (and the pages) it leaves flagged suspects out unless asked to keep them
    (``extra``: ``--include-suspect``); both leave quarantined rows out."""
    out = tmp_path / ("gaps-" + "-".join(paths) + "".join(extra) + ".json")
    args = [f"{audience}={path}" for audience, path in paths.items()]
    _run("score", "gaps", *args, *extra, "--format", "json", "--out", str(out))
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["type"] == "GapsResult"
    tables = {}
    for name in ("items", "dimensions", "levels", "causes"):
        split = result[name]
        tables[name] = pd.DataFrame(split["data"], columns=split["columns"])
    return tables


def _same(got: Any, want: Any, what: str) -> None:
    if want is None:
        assert got is None, what
    else:
        assert got == pytest.approx(want, rel=TOL, abs=TOL), what


def _compare_gaps(five: dict[str, Any], cli: dict[str, pd.DataFrame]) -> int:
    """Assert every gap, customer gap and level of the report equals the CLI's; count them."""
    checked = 0
    levels = cli["levels"].set_index(["letter", "level", "name"])
    for kind, key in (("dimensions", "dimension"), ("items", "item")):
        table = cli[kind].set_index(["gap", key])
        level = kind.removesuffix("s")
        for entry in five[kind]:
            name = entry[key]
            for gap, shown in [*entry["gaps"].items(), ("customer", entry["customer_gap"])]:
                if shown is None:
                    assert (gap, name) not in table.index, (gap, name)
                    continue
                row = table.loc[(gap, name)]
                for ours, theirs in (("value", "estimate"), ("ci_low", "ci_low")):
                    _same(shown[ours], row[theirs], f"{kind} {name} {gap} {ours}")
                _same(shown["ci_high"], row["ci_high"], f"{kind} {name} {gap} ci_high")
                if gap != "customer":
                    assert shown["test"] == row["method"]
                    _same(shown["p_raw"], row["p"], f"{kind} {name} {gap} p")
                    _same(shown["p_holm"], row["p_holm"], f"{kind} {name} {gap} p_holm")
                checked += 1
            for code, shown in entry["levels"].items():
                if shown is None:
                    assert (code, level, name) not in levels.index, (code, name)
                    continue
                row = levels.loc[(code, level, name)]
                assert shown["n"] == row["n"]
                for stat in ("mean", "ci_low", "ci_high"):
                    _same(shown[stat], row[stat], f"level {code} {name} {stat}")
                checked += 1
    return checked


def _compare_causes(five: dict[str, Any], cli: dict[str, pd.DataFrame], gaps: set[str]) -> int:
    table = cli["causes"].set_index(["gap", "scale"])
    checked = 0
    for gap in gaps:
        for shown in five["causes"][gap]:
            row = table.loc[(gap, shown["scale"])]
            assert shown["n"] == row["n"]
            for stat in ("mean", "ci_low", "ci_high", "alpha"):
                _same(shown[stat], row[stat], f"cause {gap} {shown['scale']} {stat}")
            checked += 1
    return checked


def test_demo_report_equals_manyi_score_gaps(tmp_path, monkeypatch) -> None:
    _url, database = migrated_database(tmp_path, monkeypatch)
    seed_gap_study(database)  # the demo's study: two customer waves, four audiences
    database.dispose()
    slug = "demo-gap-2026-q2"
    report = _report(slug, tmp_path)
    assert report["exclude_suspects"] is True  # by default, as the pages and manyi score
    assert report["suspects_left_out"] > 0  # the demo has honeypot responses
    five = report["five_gaps"]
    assert five["missing"] == []
    assert five["level_sources"]["D"] == "audit"  # the dashboard prefers the audit
    files = _exported(
        {a: slug if a == "customer" else f"{slug}-{a}" for a in AUDIENCE_INSTRUMENT}, tmp_path
    )
    # manyi score gaps takes staff or audit: D and C from the audit, as on the page
    with_audit = _score_gaps({a: files[a] for a in ("customer", "manager", "audit")}, tmp_path)
    assert _compare_gaps(five, with_audit) == 5 * (6 + 6) + 22 * (6 + 6)
    assert _compare_causes(five, with_audit, {"understanding", "procedure"}) == 7
    # the staff's cause scales come from the staff file
    with_staff = _score_gaps({a: files[a] for a in ("customer", "manager", "staff")}, tmp_path)
    assert _compare_causes(five, with_staff, {"behaviour", "promotion"}) == 9
    # the switch keeps them, in both: --include-suspect
    kept = _report(slug, tmp_path, "--include-suspect")
    assert kept["exclude_suspects"] is False
    assert kept["suspects_left_out"] == 0
    assert kept["n"] == report["n"] + report["suspects_left_out"]
    paths = {a: files[a] for a in ("customer", "manager", "audit")}
    everyone = _score_gaps(paths, tmp_path, "--include-suspect")
    assert _compare_gaps(kept["five_gaps"], everyone) == 5 * (6 + 6) + 22 * (6 + 6)


def _holes(data: pd.DataFrame, q: qn.Questionnaire, rng: np.random.Generator) -> pd.DataFrame:
    """``data`` with 15 % of the rating answers blanked."""
    cols = [c for i in q.iter_items(type="rating") for c in i.columns() if c in data.columns]
    blank = rng.random((len(data), len(cols))) < 0.15
    out = data.copy()
    out[cols] = out[cols].mask(blank)
    return out


def test_fifteen_percent_missing_report_and_api_equal_manyi_score_gaps(
    tmp_path, monkeypatch
) -> None:
    url, database = migrated_database(tmp_path, monkeypatch)
    database.dispose()
    app = make_app({"DATABASE_URL": url, "CREATE_TABLES": False, "INSTANCE_PATH": tmp_path})
    db = app.extensions["manyi_db"]
    sizes = {"customer": 400, "manager": 40, "staff": 90}
    slugs = {a: f"holes-{a}" for a in sizes}
    rng = np.random.default_rng(14)
    with db.write() as s:
        study = m.Study(slug="holes", name="Holes", description="15 % missing")
        s.add(study)
        s.flush()
        surveys = {
            a: create_survey(
                s,
                qn.builtin(AUDIENCE_INSTRUMENT[a]),
                slug=slugs[a],
                wave="w1",
                study=study,
                status="closed",
            ).id
            for a in sizes
        }
    blanked = 0
    for audience, n in sizes.items():
        q = qn.builtin(AUDIENCE_INSTRUMENT[audience])
        data = simulate(q, n, seed=11, missing_rate=0.0, survey=slugs[audience], wave="w1").data
        data = _holes(data, q, rng)
        blanked += int(data.isna().sum().sum())
        with db.sessions() as s:
            sv = s.get(m.Survey, surveys[audience])
            sv.questionnaire()  # load the snapshot while the session is open
        import_frame(db, sv, data, source="simulated")
    assert blanked > 0
    report = _report(slugs["customer"], tmp_path)
    five = report["five_gaps"]
    assert five["missing"] == []
    files = _exported(slugs, tmp_path)
    exported = pd.read_csv(files["customer"])
    share = exported.filter(regex=r"_[ep]$").isna().to_numpy().mean()
    assert 0.13 < share < 0.17  # the blanks survived storage and export
    cli = _score_gaps(files, tmp_path)
    assert _compare_gaps(five, cli) == 5 * (6 + 6) + 22 * (6 + 6)
    causes = {"understanding", "procedure", "behaviour", "promotion"}
    assert _compare_causes(five, cli, causes) == 16
    # the API returns the same JSON (permission view)
    add_user(app, "viewer@example.org", "viewer")
    with app.app_context(), db.write() as s:
        token = add_token(s, s.query(m.User).filter_by(email="viewer@example.org").one())
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    r = client.get(f"/api/v1/surveys/{surveys['customer']}/report.json?lang=en", headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert r.json["five_gaps"] == five
    assert {"servqual", "methods", "data_quality"} <= set(r.json)
    # the same switch as the pages: ?suspects=include keeps the flagged responses, as
    # manyi report --include-suspect does; anything else is refused with the choices
    assert r.json["exclude_suspects"] is True
    kept = client.get(
        f"/api/v1/surveys/{surveys['customer']}/report.json?lang=en&suspects=include",
        headers=headers,
    )
    assert kept.status_code == 200
    assert kept.json["exclude_suspects"] is False
    assert (
        kept.json["five_gaps"]
        == _report(slugs["customer"], tmp_path, "--include-suspect")["five_gaps"]
    )
    odd = client.get(
        f"/api/v1/surveys/{surveys['customer']}/report.json?suspects=maybe", headers=headers
    )
    assert odd.status_code == 400
    assert "suspects must be one of exclude, include; got 'maybe'" in odd.json["error"]
    bad = client.get(
        f"/api/v1/surveys/{surveys['customer']}/report.json?segment=branch=mars", headers=headers
    )
    assert bad.status_code == 400
    assert "segment must be one of branch=" in bad.json["error"]
    assert client.get(f"/api/v1/surveys/{surveys['customer']}/report.json").status_code == 401
    db.dispose()
