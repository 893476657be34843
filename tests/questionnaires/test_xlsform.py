"""XLSForm import/export: round trip, pyxform validity, third-party forms, hostile files."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from pyxform.xls2xform import convert

import questionnaires as qn
from questionnaires import xlsform
from questionnaires.xlsform import canonical, read_xlsform, write_xlsform

DATA = Path(__file__).parent / "data"
# pyxform only knows primary language subtags; "zh-Hans" is valid BCP 47 nonetheless.
ZH_WARNING = "do not contain valid machine-readable codes: Chinese (zh-Hans)"


INSTRUMENTS = ["minimal", *qn.builtin_ids()]


def _get(ident: str) -> qn.Questionnaire:
    return qn.load(DATA / "minimal.yaml") if ident == "minimal" else qn.builtin(ident)


@pytest.mark.parametrize("ident", INSTRUMENTS)
def test_round_trip_keeps_the_instrument(ident: str, tmp_path: Path) -> None:
    q = _get(ident)
    path = tmp_path / f"{ident}.xlsx"
    write_xlsform(q, path)
    q2 = read_xlsform(path)
    assert canonical(q2.to_dict()) == canonical(q.to_dict())
    # the dataclasses agree too: same columns, texts, scales, roles, dimensions, scoring
    assert q2.columns() == q.columns()
    assert q2.items == q.items
    assert q2.dimensions == q.dimensions
    assert dict(q2.roles) == dict(q.roles)
    assert q2.scoring == q.scoring


@pytest.mark.parametrize("ident", INSTRUMENTS)
def test_export_is_valid_for_pyxform(ident: str, tmp_path: Path) -> None:
    q = _get(ident)
    path = tmp_path / f"{ident}.xlsx"
    write_xlsform(q, path)
    warnings: list[str] = []
    result = convert(path, warnings=warnings)
    assert [w for w in warnings if ZH_WARNING not in w] == []
    for item in q.items:
        if item.type == "allocation":
            continue
        for col in item.columns() if item.type != "multiple_choice" else (item.id,):
            assert f'/{col}"' in result.xform or f"/{col}'" in result.xform, col


def test_two_role_item_becomes_two_select_one_rows(tmp_path: Path) -> None:
    q = qn.load(DATA / "minimal.yaml")
    path = tmp_path / "m.xlsx"
    write_xlsform(q, path)
    ws = openpyxl.load_workbook(path)["survey"]
    headers = [c.value for c in ws[1]]
    rows = [dict(zip(headers, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=2)]
    rel = [r for r in rows if r["manyi::item"] == "rel1"]
    assert [(r["type"], r["name"], r["manyi::role"]) for r in rel] == [
        ("select_one agree7", "rel1_e", "expectation"),
        ("select_one agree7", "rel1_p", "perception"),
    ]
    assert rel[0]["label::English (en)"] == "Expectation: Does what it promises"
    imp = [r for r in rows if r["manyi::item"] == "imp"]
    assert [(r["type"], r["name"]) for r in imp] == [
        ("note", "imp"),
        ("integer", "imp_tan"),
        ("integer", "imp_rel"),
    ]
    assert imp[2]["constraint"] == ". >= 0 and . <= 100 and ${imp_tan} + . = 100"


def test_loader_dispatches_xlsx(tmp_path: Path) -> None:
    q = qn.load(DATA / "minimal.yaml")
    write_xlsform(q, tmp_path / "m.xlsx")
    assert qn.load(tmp_path / "m.xlsx").columns() == q.columns()


def test_text_starting_with_equals_stays_text(tmp_path: Path) -> None:
    data = json.loads(json.dumps(qn.load(DATA / "minimal.yaml").to_dict()))
    data["pages"][0]["items"][0]["text"]["en"] = "=SUM(A1:A2) is not a formula"
    q = qn.from_dict(data)
    write_xlsform(q, tmp_path / "eq.xlsx")
    assert read_xlsform(tmp_path / "eq.xlsx").item("tan1").text.en.startswith("=SUM")


# -- third-party workbooks -----------------------------------------------------------------
def _workbook(
    path: Path, survey: list[list[object]], choices: list[list[object]], **extra: list[list[object]]
) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    for r in survey:
        ws.append(r)
    wc = wb.create_sheet("choices")
    for r in choices:
        wc.append(r)
    for name, rows in extra.items():
        sheet = wb.create_sheet(name)
        for r in rows:
            sheet.append(r)
    wb.save(path)
    return path


THIRD_PARTY_SURVEY = [
    [
        "type",
        "name",
        "label::English (en)",
        "label::中文 (zh-Hans)",
        "hint::en",
        "hint::zh",
        "required",
    ],
    ["start", "start", None, None, None, None, None],
    ["select_one yn", "visited", "Visited before?", "以前来过吗？", None, None, "yes"],
    ["begin group", "service", "Service", "服务", None, None, None],
    ["note", "intro", "Please rate", "请评分", None, None, None],
    ["select_one sat", "staff", "Staff were friendly", "员工友好", "1 = worst", "1 = 最差", "yes"],
    ["select_one sat", "speed", "Service was quick", "服务迅速", None, None, "no"],
    ["select_multiple ch", "channels", "Channels", "渠道", None, None, None],
    ["end group", None, None, None, None, None, None],
    ["integer", "age", "Age", "年龄", None, None, None],
    ["text", "comment", "Comments", "意见", None, None, None],
]
THIRD_PARTY_CHOICES = [
    ["list_name", "name", "label::English (en)", "label::中文 (zh-Hans)"],
    ["yn", "yes", "Yes", "是"],
    ["yn", "no", "No", "否"],
    ["sat", 1, "Very poor", "很差"],
    ["sat", 2, "2", "2"],
    ["sat", 3, "3", "3"],
    ["sat", 4, "4", "4"],
    ["sat", 5, "Very good", "很好"],
    ["ch", "app", "App", "应用"],
    ["ch", "web", "Web", "网站"],
]


def test_third_party_xlsform_loads(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "shop.xlsx",
        THIRD_PARTY_SURVEY,
        THIRD_PARTY_CHOICES,
        settings=[["form_title", "form_id", "version"], ["Shop survey", "shop", 3]],
    )
    q = read_xlsform(path)
    assert q.id == "shop"
    assert q.version == "3"
    assert [p.id for p in q.pages] == ["page1", "service", "page2"]
    assert [(i.id, i.type) for i in q.items] == [
        ("visited", "single_choice"),
        ("staff", "rating"),
        ("speed", "rating"),
        ("channels", "multiple_choice"),
        ("age", "number"),
        ("comment", "text"),
    ]
    staff = q.item("staff")
    assert staff.scale is not None
    assert (staff.scale.min, staff.scale.max) == (1, 5)
    assert sorted(staff.scale.labels) == [1, 5]  # points labelled "2" are unlabelled
    assert staff.scale.labels[5].zh_hans == "很好"
    assert staff.help is not None
    assert staff.help.en == "1 = worst"
    assert staff.required
    assert not q.item("speed").required
    assert not q.item("age").required  # XLSForm questions are optional by default
    assert [c.code for c in q.item("channels").choices] == ["app", "web"]
    assert q.title.en == "Shop survey"
    assert q.columns(meta=False) == (
        "visited",
        "staff",
        "speed",
        "channels_app",
        "channels_web",
        "age",
        "comment",
    )


def test_missing_chinese_labels_are_listed_at_once(tmp_path: Path) -> None:
    survey = [list(r) for r in THIRD_PARTY_SURVEY]
    survey[2][3] = None  # visited: survey!D3
    survey[5][3] = None  # staff: survey!D6
    choices = [list(r) for r in THIRD_PARTY_CHOICES]
    choices[8][3] = None  # ch/app: choices!D9
    path = _workbook(tmp_path / "shop.xlsx", survey, choices)
    with pytest.raises(qn.QuestionnaireError) as info:
        read_xlsform(path)
    text = str(info.value)
    for cell in ("survey!D3", "survey!D6", "choices!D9"):
        assert f"{cell} (label::中文 (zh-Hans))" in text
    assert "missing Chinese (zh-Hans) translation" in text
    assert "fill in the Chinese (zh-Hans) text in that cell" in text
    assert len(info.value.problems) == 3
    assert all(m.startswith("shop.xlsx: ") for m in info.value.messages)


def test_absent_language_column_is_named_with_the_fix(tmp_path: Path) -> None:
    survey = [r[:3] + r[6:] for r in THIRD_PARTY_SURVEY]
    choices = [r[:3] for r in THIRD_PARTY_CHOICES]
    path = _workbook(tmp_path / "en.xlsx", survey, choices)
    with pytest.raises(qn.QuestionnaireError) as info:
        read_xlsform(path)
    msgs = info.value.messages
    assert any(
        "survey!row 3, column 'label::Chinese (zh-Hans)' (absent)" in m
        and "add a column headed 'label::Chinese (zh-Hans)' to the survey sheet" in m
        for m in msgs
    )
    # every item and choice label is reported, not only the first
    assert sum("missing Chinese" in m for m in msgs) >= 6 + 2 + 2 + 2


def test_unsupported_type_and_bad_required_are_reported(tmp_path: Path) -> None:
    survey = [list(r) for r in THIRD_PARTY_SURVEY]
    survey.append(["date", "when", "When", "何时", None, None, None])
    survey[2][6] = "maybe"
    path = _workbook(tmp_path / "bad.xlsx", survey, THIRD_PARTY_CHOICES)
    with pytest.raises(qn.QuestionnaireError) as info:
        read_xlsform(path)
    text = str(info.value)
    assert "survey!A12 (type): type 'date' has no manyi equivalent" in text
    assert "survey!G3 (required): 'maybe' is not yes or no" in text


def test_invalid_names_point_at_their_cells(tmp_path: Path) -> None:
    survey = [list(r) for r in THIRD_PARTY_SURVEY]
    survey[2][1] = "Visited-Before"
    choices = [list(r) for r in THIRD_PARTY_CHOICES]
    choices[1][1] = "Yes!"
    path = _workbook(tmp_path / "names.xlsx", survey, choices)
    with pytest.raises(qn.QuestionnaireError) as info:
        read_xlsform(path)
    text = str(info.value)
    assert "survey!B3 (name)" in text
    assert "choices!B2 (name)" in text


# -- hostile workbooks ----------------------------------------------------------------------
def test_formulas_are_refused(tmp_path: Path) -> None:
    survey = [list(r) for r in THIRD_PARTY_SURVEY]
    survey[2][2] = '=CONCAT("Visited", "?")'
    path = _workbook(tmp_path / "f.xlsx", survey, THIRD_PARTY_CHOICES)
    with pytest.raises(qn.QuestionnaireError, match=r"formulas in 1 cell\(s\): survey!C3"):
        read_xlsform(path)


def test_too_many_rows_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsform, "MAX_ROWS", 5)
    path = _workbook(tmp_path / "big.xlsx", THIRD_PARTY_SURVEY, THIRD_PARTY_CHOICES)
    with pytest.raises(qn.QuestionnaireError, match=r"declares \d+ rows .* limits are 6 rows"):
        read_xlsform(path)


def test_oversize_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsform, "MAX_XLSX_BYTES", 1000)
    path = _workbook(tmp_path / "big.xlsx", THIRD_PARTY_SURVEY, THIRD_PARTY_CHOICES)
    with pytest.raises(qn.QuestionnaireError, match="the limit for an XLSForm workbook is 1000"):
        read_xlsform(path)


def test_zip_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsform, "MAX_UNZIPPED_BYTES", 2000)
    path = _workbook(tmp_path / "big.xlsx", THIRD_PARTY_SURVEY, THIRD_PARTY_CHOICES)
    with pytest.raises(qn.QuestionnaireError, match="unpacks to"):
        read_xlsform(path)


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("x.xlsx", b"not a zip at all", "is not an .xlsx workbook"),
        ("x.xls", b"\xd0\xcf\x11\xe0old", "old binary .xls"),
    ],
)
def test_non_workbooks_are_refused(tmp_path: Path, name: str, content: bytes, match: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(qn.QuestionnaireError, match=match):
        qn.load(path)


def test_missing_survey_sheet(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "other"
    wb.save(tmp_path / "e.xlsx")
    with pytest.raises(qn.QuestionnaireError, match="has no 'survey' sheet"):
        read_xlsform(tmp_path / "e.xlsx")


def test_write_failure_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    q = qn.load(DATA / "minimal.yaml")

    def broken_save(self: openpyxl.Workbook, filename: str) -> None:
        Path(filename).write_bytes(b"half a workbook")
        raise OSError("disk full")

    monkeypatch.setattr(openpyxl.Workbook, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        write_xlsform(q, tmp_path / "m.xlsx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("tag", "lang"),
    [
        ("English (en)", "en"),
        ("en", "en"),
        ("en-GB", "en"),
        ("Chinese (zh-Hans)", "zh-Hans"),
        ("zh-Hans", "zh-Hans"),
        ("中文 (zh-Hans)", "zh-Hans"),
        ("zh_CN", "zh-Hans"),
        ("French (fr)", None),
        ("Chinese (zh-Hant)", None),
    ],
)
def test_language_tags(tag: str, lang: str | None) -> None:
    assert xlsform._language_of(tag) == lang


def _with_column(header: str, values: dict[str, object]) -> list[list[object]]:
    """THIRD_PARTY_SURVEY with one more column, filled in the rows named in ``values``."""
    rows = [[*THIRD_PARTY_SURVEY[0], header]]
    rows += [[*r, values.get(str(r[1]))] for r in THIRD_PARTY_SURVEY[1:]]
    return rows


def test_relevant_and_constraints_are_mapped(tmp_path: Path) -> None:
    survey = _with_column("relevant", {"speed": "${staff} <= 2", "service": "${visited} = 'yes'"})
    constraints = ["constraint", *[None] * 8, ". >= 16 and . <= 99", None]  # on "age"
    survey = [[*r, c] for r, c in zip(survey, constraints, strict=True)]
    q = read_xlsform(_workbook(tmp_path / "rel.xlsx", survey, THIRD_PARTY_CHOICES))
    assert q.item("speed").relevant == "${staff} <= 2"
    assert q.pages[1].relevant == "${visited} = 'yes'"
    assert (q.item("age").minimum, q.item("age").maximum) == (16.0, 99.0)


def test_conditions_survive_a_round_trip(tmp_path: Path) -> None:
    data = qn.builtin("servqual22").to_dict()
    data["pages"][1]["relevant"] = "${tan1_p} <= 3 or not answered(${tan2_p})"
    data["pages"][0]["items"][2]["relevant"] = "${tan1_e} > 4"
    data["pages"][2]["randomize"] = True
    q = qn.from_dict(data)
    path = tmp_path / "cond.xlsx"
    write_xlsform(q, path)
    back = read_xlsform(path)
    assert back.pages[1].relevant == q.pages[1].relevant
    assert back.pages[0].items[2].relevant == "${tan1_e} > 4"
    assert back.pages[2].randomize
    assert not back.pages[1].randomize


@pytest.mark.parametrize(
    ("header", "cell", "values", "message"),
    [
        ("parameters", "H6", {"staff": "randomize=true"}, "parameters 'randomize=true' cannot"),
        ("parameters", "H4", {"service": "seed=3"}, "parameter 'seed=3' cannot be honoured"),
        ("appearance", "H8", {"channels": "minimal"}, "'appearance' has no manyi"),
        ("relevant", "H6", {"staff": "${visited} == 'yes'"}, "not a condition manyi can"),
        ("relevant", "H6", {"staff": "${visited} = ''"}, "compares with an empty text"),
        ("relevant", "H6", {"staff": "${comment} = 'x'"}, "asked at or after this point"),
        ("relevant", "H6", {"staff": "${nobody} = 'x'"}, "no item or answer column"),
        ("constraint", "H11", {"comment": "regex(., '^[a-z]+$')"}, "cannot be honoured"),
    ],
)
def test_what_cannot_be_honoured_is_refused_at_its_cell(
    tmp_path: Path, header: str, cell: str, values: dict[str, object], message: str
) -> None:
    path = _workbook(tmp_path / "x.xlsx", _with_column(header, values), THIRD_PARTY_CHOICES)
    with pytest.raises(qn.QuestionnaireError) as err:
        read_xlsform(path)
    text = str(err.value)
    assert message in text
    assert f"survey!{cell}" in text


def test_the_per_dimension_order_survives_a_round_trip(tmp_path: Path) -> None:
    data = qn.builtin("servqual22").to_dict()
    data["pages"][1]["randomize"] = "dimension"
    data["pages"][2]["randomize"] = True
    path = tmp_path / "dim.xlsx"
    write_xlsform(qn.from_dict(data), path)
    back = read_xlsform(path)
    assert [p.randomize for p in back.pages[:3]] == [None, "dimension", "items"]


def test_an_unknown_manyi_randomize_is_refused_at_its_cell(tmp_path: Path) -> None:
    survey = _with_column("manyi::randomize", {"service": "blocks"})
    path = _workbook(tmp_path / "r.xlsx", survey, THIRD_PARTY_CHOICES)
    with pytest.raises(qn.QuestionnaireError) as err:
        read_xlsform(path)
    assert "manyi::randomize 'blocks' cannot be honoured" in str(err.value)
    assert "survey!H4" in str(err.value)
