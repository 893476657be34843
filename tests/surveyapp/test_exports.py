"""The tidy frame from the database and the CSV / XLSX / SPSS writers."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest
from sqlalchemy import insert, select, text, update

import questionnaires as qn
from questionnaires.simulate import simulate
from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp.reports.demo import seed_gap_study
from surveyapp.services import exports
from surveyapp.services.responses import PageSave, import_frame, store_page
from surveyapp.services.surveys import create_survey
from tests.surveyapp.conftest import DATA
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


# -- response.values_json: the answers again, one row per response --------------------------
def _values_and_answers(app):
    """Per response pk: (decoded values_json or None, its Answer rows as a dict)."""
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        answers: dict[int, dict] = {}
        rows = s.execute(select(m.Answer.response_pk, m.Answer.column, m.Answer.num, m.Answer.text))
        for pk, col, num, text in rows:
            answers.setdefault(pk, {})[col] = text if text is not None else num
        snapshots = s.execute(select(m.Response.id, m.Response.values_json)).all()
    return {
        pk: (None if vj is None else json.loads(vj), answers.get(pk, {})) for pk, vj in snapshots
    }


def assert_values_match_answers(app, *, expected: int):
    pairs = _values_and_answers(app)
    assert len(pairs) == expected
    for pk, (values, answers) in pairs.items():
        assert values is not None, f"response {pk} has no values_json"
        assert values == answers, f"response {pk}"
        # a number stays a number and a text a text (4 == 4.0, but "4" != 4)
        assert {c: isinstance(v, str) for c, v in values.items()} == {
            c: isinstance(v, str) for c, v in answers.items()
        }


def _export_both_ways(app, survey_ids):
    """(CSV, frame) read through values_json, then the same read from the Answer rows."""
    kw = {"include_partial": True, "include_quarantined": True}
    db = app.extensions["manyi_db"]
    out = []
    for _ in range(2):
        with app.app_context(), db.sessions() as s:
            csv = b"".join(exports.iter_csv(s, survey_ids, chunk_size=3, **kw))
            frame = exports.responses_frame(s, survey_ids, **kw)
        out.append((csv, frame))
        with app.app_context(), db.write() as s:  # the second round: no values_json
            s.execute(update(m.Response).values(values_json=None))
    return out


def _save(app, survey_id, rid, values, *, final=False):
    with app.app_context():
        db = app.extensions["manyi_db"]
        with db.sessions() as s:
            survey = s.get(m.Survey, survey_id)
            survey.questionnaire()
        save = PageSave(rid, 0, values, final, "zh-Hans", m.utcnow() - timedelta(minutes=3))
        return store_page(db, survey, None, save).kind


def test_store_page_writes_values_json_with_the_answers(any_app, minimal):
    with any_app.app_context(), any_app.extensions["manyi_db"].write() as s:
        sid = create_survey(s, minimal, slug="vj").id
    rid = str(uuid.uuid4())
    first = {"tan1_e": 6.0, "tan1_p": 5.0, "comment": "=1+1", "imp_tan": 0.1 + 0.2}
    assert _save(any_app, sid, rid, first) == "saved"
    assert_values_match_answers(any_app, expected=1)
    # a second save changes one answer, clears two (None deletes) and adds the rest
    second = {**ANSWERS, "tan1_p": 3.0, "comment": None, "channel_web": None}
    assert _save(any_app, sid, rid, second) == "saved"
    assert_values_match_answers(any_app, expected=1)
    ((values, _),) = _values_and_answers(any_app).values()
    assert "comment" not in values
    assert values["tan1_p"] == 3
    assert _save(any_app, sid, rid, {**second, "sat": 5.0}, final=True) == "completed"
    assert _save(any_app, sid, rid, {**second, "sat": 1.0}, final=True) == "already_complete"
    assert_values_match_answers(any_app, expected=1)
    ((values, _),) = _values_and_answers(any_app).values()
    assert values["sat"] == 5
    # a second respondent's first save is also their final one
    assert _save(any_app, sid, str(uuid.uuid4()), ANSWERS, final=True) == "completed"
    assert_values_match_answers(any_app, expected=2)
    (csv, frame), (csv_rows, frame_rows) = _export_both_ways(any_app, [sid])
    assert csv == csv_rows
    pd.testing.assert_frame_equal(frame, frame_rows)
    assert frame["sat"].tolist() == [5.0, 4.0]


def test_import_frame_writes_values_json_and_the_export_reads_it(any_app, minimal):
    with any_app.app_context(), any_app.extensions["manyi_db"].write() as s:
        sid = create_survey(s, minimal, slug="imported").id
        survey = s.get(m.Survey, sid)
    data = simulate(minimal, 40, seed=3).data
    data.loc[0, "comment"] = EVIL
    assert import_frame(any_app.extensions["manyi_db"], survey, data) == 40
    assert_values_match_answers(any_app, expected=40)
    (csv, frame), (csv_rows, frame_rows) = _export_both_ways(any_app, [sid])
    assert csv == csv_rows
    pd.testing.assert_frame_equal(frame, frame_rows)
    assert frame["comment"].isna().any()  # optional texts left empty stay missing
    text = csv.decode("utf-8-sig")
    assert text.startswith("response_id,")
    assert "'" + EVIL.replace('"', '""') in text
    expected = data["sat"].astype("float64").to_numpy()
    assert np.array_equal(frame["sat"].to_numpy(), expected, equal_nan=True)


def test_demo_gap_study_writes_values_json(app):
    db = app.extensions["manyi_db"]
    with app.app_context():
        seed_gap_study(db, sizes={"customer": 12, "manager": 5, "staff": 6, "audit": 4})
    assert_values_match_answers(app, expected=2 * 12 + 5 + 6 + 4)


def test_quarantine_and_restore_keep_values_json(app, client_as, minimal):
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        sid = create_survey(s, minimal, slug="q").id
    _save(app, sid, str(uuid.uuid4()), ANSWERS, final=True)
    (pk,) = _values_and_answers(app)
    c = client_as("researcher")
    assert c.post(f"/research/responses/{pk}/quarantine", data={"reason": "x"}).status_code == 303
    assert c.post(f"/research/responses/{pk}/restore").status_code == 303
    assert_values_match_answers(app, expected=1)


def test_an_answer_written_through_the_orm_voids_values_json(app, minimal):
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        sid = create_survey(s, minimal, slug="orm").id
    _save(app, sid, str(uuid.uuid4()), ANSWERS, final=True)
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        s.scalar(select(m.Answer).where(m.Answer.column == "sat")).num = 1.0
    ((values, answers),) = _values_and_answers(app).values()
    assert values is None
    assert answers["sat"] == 1.0
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        assert exports.responses_frame(s, [sid])["sat"].tolist() == [1.0]


def test_a_column_that_is_a_number_in_one_instrument_and_a_code_in_another(app, minimal):
    source = (DATA / "minimal.yaml").read_text(encoding="utf-8")
    source = source.replace("id: minimal", "id: minimal_codes").replace("  overall: sat\n", "")
    source = source.replace(
        "type: rating\n        scale: sat5",
        "type: single_choice\n        choices:\n"
        '          - {code: "4", label: {zh-Hans: 好, en: Good}}\n'
        '          - {code: "2", label: {zh-Hans: 差, en: Bad}}',
    )
    other = qn.loads(source)
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        first = create_survey(s, minimal, slug="numbers").id
        second = create_survey(s, other, slug="codes").id
    _save(app, first, str(uuid.uuid4()), ANSWERS, final=True)
    _save(app, second, str(uuid.uuid4()), {**ANSWERS, "sat": "4"}, final=True)
    (csv, frame), (csv_rows, frame_rows) = _export_both_ways(app, [first, second])
    assert csv == csv_rows
    pd.testing.assert_frame_equal(frame, frame_rows)
    # the layout follows the first survey: "sat" is a number column; the code is not a number
    assert frame["sat"].tolist()[0] == 4.0
    assert np.isnan(frame["sat"].tolist()[1])


def test_migration_0002_backfills_values_json(tmp_path):
    database = dbm.Database(f"sqlite:///{tmp_path / 'old.sqlite'}")
    dbm.upgrade(database, "0001")
    response, answer = m.Response.__table__, m.Answer.__table__
    old_columns = [c for c in response.c if c.name != "values_json"]
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO questionnaire_snapshot (content_hash, questionnaire_id, version, "
                "audience, content, created_at) VALUES ('h', 'q', '1', 'customer', '{}', "
                "'2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO survey (slug, snapshot_id, audience, languages, status, access, "
                "created_at) VALUES ('s', 1, 'customer', '[]', 'open', 'anonymous', "
                "'2026-01-01 00:00:00')"
            )
        )
        for i in range(3):
            conn.execute(
                insert(response).values(
                    {c.name: v for c, v in zip(old_columns, _old_response(i), strict=False)}
                )
            )
        conn.execute(
            insert(answer),
            [
                {"response_pk": 1, "column": "sat", "num": 4.0, "text": None},
                {"response_pk": 1, "column": "w", "num": 0.1 + 0.2, "text": None},
                {"response_pk": 1, "column": "comment", "num": None, "text": "好"},
                {"response_pk": 2, "column": "sat", "num": 2.0, "text": None},
            ],
        )
    dbm.upgrade(database)
    with database.engine.connect() as conn:
        got = dict(conn.execute(text("SELECT id, values_json FROM response ORDER BY id")).all())
    database.dispose()
    assert got == {1: '{"comment":"好","sat":4,"w":0.30000000000000004}', 2: '{"sat":2}', 3: "{}"}


def _old_response(i: int) -> list:
    now = m.utcnow()
    return [i + 1, str(uuid.UUID(int=i + 1)), 1, None, None, "complete", "en", now, now, now,
            1, None, {}, {}, False, "web"]  # fmt: skip
