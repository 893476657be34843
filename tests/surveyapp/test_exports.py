"""The tidy frame from the database and the CSV / XLSX / SPSS writers."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest

import questionnaires as qn
from surveyapp import exports
from surveyapp.survey import create_survey
from tests.surveyapp.research_helpers import ANSWERS, add_response

EVIL = '=HYPERLINK("http://evil")'


@pytest.fixture
def session(app):
    with app.app_context():
        s = app.extensions["manyi_db"].sessions()
        yield s
        s.close()


def test_frame_columns_follow_the_documented_format(session, survey_with_data, minimal):
    frame = exports.responses_frame(session, [survey_with_data["id"]])
    expected = [*qn.META_COLUMNS, *minimal.columns(meta=False), "seg_region"]
    assert list(frame.columns) == expected


def test_frame_holds_complete_unquarantined_responses_only(session, survey_with_data):
    frame = exports.responses_frame(session, [survey_with_data["id"]])
    assert len(frame) == 2
    assert set(frame["status"]) == {"complete"}
    assert list(frame["suspect"]) == ["", "too_fast"]
    assert list(frame["seg_region"]) == ["N", "N"]
    assert list(frame["sat"]) == [4.0, 2.0]
    assert frame["tan1_e"].dtype == np.float64
    assert list(frame["branch"]) == ["sh", "sh"]
    assert frame.loc[1, "comment"] == EVIL  # the frame keeps the data as given
    assert list(frame["wave"]) == ["2026-Q1", "2026-Q1"]
    assert list(frame["survey"]) == ["wave1", "wave1"]
    assert frame["duration_s"].round().tolist() == [120.0, 120.0]
    assert str(frame["started_at"].dt.tz) == "UTC"


def test_partial_and_quarantined_on_request(session, survey_with_data):
    frame = exports.responses_frame(
        session, [survey_with_data["id"]], include_partial=True, include_quarantined=True
    )
    assert len(frame) == 4
    assert sorted(frame["status"]) == ["complete", "complete", "complete", "partial"]
    assert "honeypot;quarantined" in set(frame["suspect"])
    partial = frame[frame["status"] == "partial"].iloc[0]
    assert partial["tan1_e"] == 3.0
    assert np.isnan(partial["tan1_p"])
    assert pd.isna(partial["submitted_at"])


def test_several_waves_in_one_frame(app, session, survey_with_data, minimal):
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        second = create_survey(s, minimal, slug="wave2", wave="2026-Q2").id
    add_response(app, second, {**ANSWERS, "sat": 5.0})
    frame = exports.responses_frame(session, [survey_with_data["id"], second])
    assert list(frame["wave"]) == ["2026-Q1", "2026-Q1", "2026-Q2"]
    assert pd.isna(frame.loc[2, "seg_region"])


def test_empty_survey_gives_empty_frame_with_columns(app, session, minimal):
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        sid = create_survey(s, minimal, slug="empty").id
    frame = exports.responses_frame(session, [sid])
    assert frame.empty
    assert list(frame.columns) == list(minimal.columns())


@pytest.mark.parametrize(("ids", "match"), [([], "at least one"), ([999], "do not exist")])
def test_bad_survey_ids(session, ids, match):
    with pytest.raises(ValueError, match=match):
        exports.responses_frame(session, ids)


def test_chunking_does_not_change_the_csv(session, survey_with_data):
    ids = [survey_with_data["id"]]
    kw = {"include_partial": True, "include_quarantined": True}
    whole = b"".join(exports.iter_csv(session, ids, **kw))
    parts = list(exports.iter_csv(session, ids, chunk_size=1, **kw))
    assert len(parts) == 5  # header + one part per response
    assert b"".join(parts) == whole


def test_csv_has_bom_crlf_and_neutralised_formulas(session, survey_with_data):
    data = b"".join(exports.iter_csv(session, [survey_with_data["id"]]))
    assert data.startswith(b"\xef\xbb\xbfresponse_id,survey,")
    assert b"\r\n" in data
    text = data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype={"seg_region": str})
    assert back["comment"].tolist() == ["很好", "'" + EVIL]
    assert back["sat"].tolist() == [4, 2]
    assert back["channel_web"].tolist() == [1, 1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("ok", "ok"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(value, expected):
    assert exports.neutralise(value) == expected


def test_numbers_are_never_neutralised():
    out = exports._format_numbers(np.array([[-3.0, 2.5, np.nan, 7.0]]))
    assert out.tolist() == [["-3", "2.5", "", "7"]]


def test_segment_formula_is_neutralised(app, session, minimal):
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        sid = create_survey(s, minimal, slug="seg").id
    add_response(app, sid, segments={"branch_name": "=cmd|' /C calc'!A0"})
    text = b"".join(exports.iter_csv(session, [sid])).decode("utf-8-sig")
    assert "seg_branch_name" in text.splitlines()[0]
    assert "'=cmd" in text


def test_xlsx_round_trip(tmp_path, session, survey_with_data):
    path = tmp_path / "out.xlsx"
    n = exports.write_export(session, [survey_with_data["id"]], "xlsx", path, language="en")
    assert n == 2
    wb = openpyxl.load_workbook(path)
    ws = wb["responses"]
    rows = list(ws.values)
    header = list(rows[0])
    assert header[:3] == ["response_id", "survey", "wave"]
    comment = header.index("comment")
    assert rows[2][comment] == "'" + EVIL
    assert ws.cell(row=3, column=comment + 1).data_type == "s"  # text, not a formula
    assert rows[1][header.index("sat")] == 4
    codebook = {r[0]: r[1:] for r in wb["columns"].values}
    assert codebook["branch"][0] == "Branch"
    assert "sh = Shanghai" in codebook["branch"][1]
    assert codebook["tan1_e"][0] == "Modern equipment: Expectation"
    back = pd.read_excel(path, sheet_name="responses")
    assert back["sat"].tolist() == [4, 2]


def test_xlsx_refuses_more_rows_than_excel_holds(tmp_path, session, survey_with_data, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 1)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ValueError, match="at most 1"):
        exports.write_export(session, [survey_with_data["id"]], "xlsx", out / "x.xlsx")
    assert list(out.iterdir()) == []


def test_sav_labels_and_codes(tmp_path, session, survey_with_data):
    path = tmp_path / "out.sav"
    assert exports.write_export(session, [survey_with_data["id"]], "sav", path) == 2
    frame, meta = pyreadstat.read_sav(str(path))
    assert frame["branch"].tolist() == [2.0, 2.0]  # 'sh' is the second choice
    assert meta.variable_value_labels["branch"] == {1.0: "北京", 2.0: "上海"}
    assert meta.variable_value_labels["tan1_e"] == {1.0: "非常不同意", 7.0: "非常同意"}
    assert meta.variable_value_labels["channel_web"] == {0.0: "未选", 1.0: "已选"}
    labels = meta.column_names_to_labels
    assert labels["tan1_p"] == "设备现代化：感知"
    assert labels["seg_region"] == "region"
    assert frame["comment"].tolist() == ["很好", EVIL]  # SPSS does not run formulas
    assert frame["sat"].tolist() == [4.0, 2.0]
    assert frame["seg_region"].tolist() == ["N", "N"]


def test_sav_english_labels(tmp_path, session, survey_with_data):
    path = tmp_path / "out.sav"
    exports.write_export(session, [survey_with_data["id"]], "sav", path, language="en")
    _, meta = pyreadstat.read_sav(str(path), metadataonly=True)
    assert meta.variable_value_labels["branch"] == {1.0: "Beijing", 2.0: "Shanghai"}


def test_numeric_choice_codes_are_kept(minimal):
    data = minimal.to_dict()
    branch = next(i for i in data["pages"][0]["items"] if i["id"] == "branch")
    branch["choices"] = [
        {"code": "10", "label": {"zh-Hans": "十", "en": "Ten"}},
        {"code": "20", "label": {"zh-Hans": "二十", "en": "Twenty"}},
    ]
    q = qn.from_dict(data)
    col = next(c for c in exports.item_columns(q, "en") if c.name == "branch")
    assert col.numeric_codes == {"10": 10, "20": 20}


def test_failed_export_leaves_no_file(tmp_path, session, survey_with_data, monkeypatch):
    def boom(*args, **kwargs):
        yield from ()
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "iter_chunks", boom)
    out = tmp_path / "out"
    out.mkdir()
    for fmt in exports.FORMATS:
        with pytest.raises(RuntimeError, match="disk full"):
            exports.write_export(session, [survey_with_data["id"]], fmt, out / f"x.{fmt}")
    assert list(out.iterdir()) == []


def test_unknown_format(tmp_path, session, survey_with_data):
    with pytest.raises(ValueError, match="format must be one of csv, xlsx, sav"):
        exports.write_export(session, [survey_with_data["id"]], "pdf", tmp_path / "x.pdf")


def test_export_filename_is_header_safe():
    assert exports.export_filename('a"b\r\nc', "csv").startswith("a_b__c-responses-")
