"""The built-in instruments: every file loads, is fully bilingual, and says what it claims.

Instrument-specific checks follow the literature each file cites: the 22 SERVQUAL items in
the RATER ranges (Parasuraman, Zeithaml & Berry, 1988; 1991), the gap-cause scales of
Zeithaml, Berry & Parasuraman (1988, J. Marketing 52(2)), the CSI path models (Fornell et
al., 1996, J. Marketing 60(4); ECSI as in Tenenhaus et al., 2005) and a fuzzy hierarchy
whose weights sum to 1 at every node with a consistent AHP matrix (Saaty, 1980).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import questionnaires
from questionnaires.loader import builtin, builtin_ids, from_dict, load
from questionnaires.model import ROLE_CODES, FuzzyFactor, Questionnaire, Text

INSTRUMENTS = resources.files("questionnaires").joinpath("instruments")

EXPECTED_IDS = {
    "acsi",
    "ccsi",
    "ecsi_mobile",
    "service_short",
    "servqual22",
    "servqual22_audit",
    "servqual22_manager",
    "servqual22_staff",
    "staff_satisfaction",
}

# RATER ranges of the 22 items (1-based positions): Parasuraman et al. (1988; 1991).
RATER = {"tan": range(1, 5), "rel": range(5, 10), "res": range(10, 14), "ass": range(14, 18)}
RATER["emp"] = range(18, 23)

GAP_AUDIENCES = {
    "servqual22": ("customer", ("expectation", "perception")),
    "servqual22_manager": ("manager", ("manager_estimate", "standard")),
    "servqual22_staff": ("staff", ("delivered", "promised")),
    "servqual22_audit": ("audit", ("delivered", "promised")),
}

# Gap-cause constructs of Zeithaml, Berry & Parasuraman (1988), by English label.
CAUSES = {
    "servqual22_manager": {
        "Marketing-research orientation": "understanding",
        "Upward communication": "understanding",
        "Levels of management": "understanding",
        "Management commitment to service quality": "procedure",
        "Goal-setting": "procedure",
        "Task standardisation": "procedure",
        "Perception of feasibility": "procedure",
    },
    "servqual22_staff": {
        "Teamwork": "behaviour",
        "Employee–job fit": "behaviour",
        "Technology–job fit": "behaviour",
        "Perceived control": "behaviour",
        "Supervisory control systems": "behaviour",
        "Role conflict": "behaviour",
        "Role ambiguity": "behaviour",
        "Horizontal communication": "promotion",
        "Propensity to overpromise": "promotion",
    },
    "servqual22_audit": {},
}
# Constructs that are negative by name: their scales must contain reverse-coded items.
NEGATIVE = {"Levels of management", "Role conflict", "Propensity to overpromise"}

CSI = {
    "acsi": (
        "acsi",
        [
            ("CE", "PQ"),
            ("CE", "PV"),
            ("CE", "SAT"),
            ("PQ", "PV"),
            ("PQ", "SAT"),
            ("PV", "SAT"),
            ("SAT", "CC"),
            ("SAT", "CL"),
            ("CC", "CL"),
        ],
    ),
    "ccsi": (
        "ccsi",
        [
            ("IMG", "EQ"),
            ("IMG", "PQ"),
            ("IMG", "PV"),
            ("IMG", "SAT"),
            ("EQ", "PQ"),
            ("EQ", "PV"),
            ("EQ", "SAT"),
            ("PQ", "PV"),
            ("PQ", "SAT"),
            ("PV", "SAT"),
            ("SAT", "LOY"),
        ],
    ),
    "ecsi_mobile": (
        "ecsi",
        [
            ("IMAG", "CUEX"),
            ("IMAG", "CUSA"),
            ("IMAG", "CUSL"),
            ("CUEX", "PERQ"),
            ("CUEX", "PERV"),
            ("CUEX", "CUSA"),
            ("PERQ", "PERV"),
            ("PERQ", "CUSA"),
            ("PERV", "CUSA"),
            ("CUSA", "CUSCO"),
            ("CUSA", "CUSL"),
            ("CUSCO", "CUSL"),
        ],
    ),
}

CJK = re.compile(r"[\u4e00-\u9fff]")
LETTERS = re.compile(r"[A-Za-z]")
YEAR_CITED = re.compile(r"\((19|20)\d\d\)")


# -- helpers --------------------------------------------------------------------------------
def texts(q: Questionnaire) -> Iterator[tuple[str, Text]]:
    """Every text a respondent or researcher reads, with where it is."""
    yield "title", q.title
    if q.description is not None:
        yield "description", q.description
    for sid, scale in q.scales.items():
        for v, label in scale.labels.items():
            yield f"scales.{sid}.labels.{v}", label
    for role, heading in q.roles.items():
        yield f"roles.{role}", heading
    for d in q.dimensions:
        yield f"dimensions.{d.id}.label", d.label
        if d.description is not None:
            yield f"dimensions.{d.id}.description", d.description
    for page in q.pages:
        yield f"pages.{page.id}.title", page.title
        if page.intro is not None:
            yield f"pages.{page.id}.intro", page.intro
        for item in page.items:
            yield f"items.{item.id}.text", item.text
            if item.help is not None:
                yield f"items.{item.id}.help", item.help
            for c in item.choices:
                yield f"items.{item.id}.choices.{c.code}", c.label
    if q.scoring.csi is not None:
        for latent, label in q.scoring.csi.labels.items():
            yield f"scoring.csi.labels.{latent}", label
    if q.scoring.fuzzy is not None:
        for g in q.scoring.fuzzy.grades:
            yield f"scoring.fuzzy.grades.{g.value}", g.label
        for node in fuzzy_nodes(q.scoring.fuzzy.root):
            yield f"scoring.fuzzy.{node.id}.label", node.label


def untranslated(q: Questionnaire) -> list[str]:
    """Places whose Chinese is empty, holds no Chinese, or merely repeats the English."""
    bad = []
    for where, text in texts(q):
        zh, en = text.zh_hans.strip(), text.en.strip()
        if not zh or not en:
            bad.append(f"{where}: empty")
        elif LETTERS.search(en) and (zh == en or not CJK.search(zh)):
            # codes and numbers may be the same in both languages; words may not
            bad.append(f"{where}: Chinese text {zh!r} is not a translation of {en!r}")
    return bad


def fuzzy_nodes(node: FuzzyFactor) -> Iterator[FuzzyFactor]:
    yield node
    for child in node.factors:
        yield from fuzzy_nodes(child)


def ahp_consistency(matrix: tuple[tuple[float, ...], ...]) -> tuple[np.ndarray, float]:
    """Principal-eigenvector weights and Saaty's consistency ratio, computed here."""
    a = np.asarray(matrix, dtype=float)
    n = a.shape[0]
    values, vectors = np.linalg.eig(a)
    k = int(np.argmax(values.real))
    w = np.abs(vectors[:, k].real)
    ri = {3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45}[n]
    ci = (values[k].real - n) / (n - 1)
    return w / w.sum(), ci / ri


def raw_file(ident: str) -> str:
    return INSTRUMENTS.joinpath(f"{ident}.yaml").read_text("utf-8")


def is_acyclic(nodes: set[str], edges: list[tuple[str, str]]) -> bool:
    indegree = dict.fromkeys(nodes, 0)
    for _, b in edges:
        indegree[b] += 1
    ready = [n for n, d in indegree.items() if d == 0]
    seen = 0
    while ready:
        n = ready.pop()
        seen += 1
        for a, b in edges:
            if a == n:
                indegree[b] -= 1
                if indegree[b] == 0:
                    ready.append(b)
    return seen == len(nodes)


def is_connected(nodes: set[str], edges: list[tuple[str, str]]) -> bool:
    reach = {next(iter(nodes))}
    grew = True
    while grew:
        grew = False
        for a, b in edges:
            if (a in reach) != (b in reach):
                reach |= {a, b}
                grew = True
    return reach == nodes


# -- every instrument ---------------------------------------------------------------------
def test_the_expected_instruments_ship() -> None:
    assert set(builtin_ids()) == EXPECTED_IDS


@pytest.mark.parametrize("ident", builtin_ids())
def test_builtin_loads_from_package_and_from_path(ident: str) -> None:
    q = builtin(ident)
    assert q.id == ident
    with resources.as_file(INSTRUMENTS.joinpath(f"{ident}.yaml")) as path:
        again = load(Path(path))
    assert again.content_hash == q.content_hash
    assert questionnaires.builtin(ident) is q


@pytest.mark.parametrize("ident", builtin_ids())
def test_builtin_cites_its_sources_in_header_and_field(ident: str) -> None:
    q = builtin(ident)
    header = []
    for line in raw_file(ident).splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    assert len(header) >= 5, "the file must open with a comment block"
    assert YEAR_CITED.search("\n".join(header)), "the header comment cites no source"
    assert q.citation is not None
    assert YEAR_CITED.search(q.citation), q.citation


@pytest.mark.parametrize("ident", builtin_ids())
def test_builtin_is_translated_everywhere(ident: str) -> None:
    assert untranslated(builtin(ident)) == []


def test_translation_check_catches_a_copied_text() -> None:
    data = yaml.safe_load(raw_file("service_short"))
    item = data["pages"][0]["items"][0]
    item["text"]["zh-Hans"] = item["text"]["en"]
    q = from_dict(data, source="copied.yaml")
    assert untranslated(q) == [
        f"items.{item['id']}.text: Chinese text {item['text']['en']!r} is not a translation "
        f"of {item['text']['en']!r}"
    ]


@pytest.mark.parametrize("ident", builtin_ids())
def test_builtin_scales_label_both_ends_and_ratings_are_consistent(ident: str) -> None:
    q = builtin(ident)
    for item in q.iter_items(type="rating"):
        assert item.scale is not None
        assert {item.scale.min, item.scale.max} <= set(item.scale.labels), item.id
    if ident != "ecsi_mobile":  # its columns are exactly those of the public data set
        assert q.segments, "segments (branch, channel, ...) are missing"


# -- SERVQUAL and the five gaps ----------------------------------------------------------
def servqual_items(q: Questionnaire) -> list[str]:
    return [i.id for i in q.iter_items(type="rating") if i.roles]


def test_servqual22_has_22_ep_items_in_rater_ranges() -> None:
    q = builtin("servqual22")
    items = [i for i in q.iter_items(type="rating") if i.roles]
    assert len(items) == 22
    for position, item in enumerate(items, start=1):
        assert item.roles == ("expectation", "perception")
        assert item.scale is not None
        assert (item.scale.min, item.scale.max) == (1, 7)
        assert set(item.scale.labels) == set(range(1, 8)), "label all 7 points"
        (dim,) = [d for d, r in RATER.items() if position in r]
        assert item.dimension == dim, f"item {position} ({item.id}) belongs to {dim}"
        assert item.id == f"{dim}{position - RATER[dim].start + 1}"
    assert q.item("tan1").columns() == ("tan1_e", "tan1_p")
    # one page per dimension, in RATER order, before the other pages
    assert [p.id for p in q.pages][:5] == list(RATER)


def test_servqual22_scoring_section() -> None:
    q = builtin("servqual22")
    s = q.scoring
    assert set(s.methods) >= {"servqual", "index", "reliability", "gaps", "pca", "drivers"}
    imp = q.item(s.importance or "")
    assert imp.type == "allocation"
    assert imp.total == 100
    assert [c.code for c in imp.choices] == list(RATER)
    nps = q.item(s.recommend or "")
    assert nps.scale is not None
    assert (nps.scale.min, nps.scale.max, nps.scale.n_points) == (0, 10, 11)
    sat = q.item(s.overall or "")
    assert sat.type == "rating"
    assert not sat.roles
    segments = {i.id: [c.code for c in i.choices] for i in q.segments}
    assert segments["channel"] == ["counter", "phone", "app", "web"]
    assert segments["customer_type"] == ["individual", "business"]
    assert 4 <= len(segments["branch"]) <= 5
    comment = q.item("comment")
    assert comment.type == "text"
    assert not comment.required


@pytest.mark.parametrize("ident", sorted(GAP_AUDIENCES))
def test_gap_instruments_share_the_22_items(ident: str) -> None:
    audience, roles = GAP_AUDIENCES[ident]
    customer = builtin("servqual22")
    q = builtin(ident)
    assert q.audience == audience
    assert servqual_items(q) == servqual_items(customer)
    for item_id in servqual_items(q):
        item = q.item(item_id)
        assert item.roles == roles
        assert item.dimension == customer.item(item_id).dimension
        assert item.scale is not None
        assert (item.scale.min, item.scale.max) == (1, 7)
    assert set(q.roles) == set(roles)
    assert "gaps" in q.scoring.methods


def test_the_five_gaps_have_both_sides_across_audiences() -> None:
    roles = {r for ident in GAP_AUDIENCES for r in builtin(ident).roles_used}
    # understanding M-E, procedure S-M, behaviour D-S, promotion D-C, perception P-D
    for a, b in [("m", "e"), ("s", "m"), ("d", "s"), ("d", "c"), ("p", "d")]:
        codes = {ROLE_CODES[r] for r in roles}
        assert {a, b} <= codes


@pytest.mark.parametrize("ident", sorted(CAUSES))
def test_cause_scales_cover_the_causes_of_their_gaps(ident: str) -> None:
    q = builtin(ident)
    causes = {d.label.en: d.explains for d in q.dimensions if d.explains is not None}
    assert causes == CAUSES[ident]
    for dim in (d for d in q.dimensions if d.explains is not None):
        items = [i for i in q.iter_items(type="rating") if i.dimension == dim.id]
        assert 2 <= len(items) <= 4, dim.id
        for item in items:
            assert not item.roles, "cause-scale items are single ratings"
            assert item.scale is not None
            assert item.scale.n_points == 7
        if dim.label.en in NEGATIVE:
            assert any(i.reverse for i in items), f"{dim.id} needs reverse-coded items"
    # the RATER dimensions explain nothing; allocation over dimensions would skip causes
    assert {d.id for d in q.dimensions if d.explains is None} == set(RATER)


# -- CSI models -------------------------------------------------------------------------
@pytest.mark.parametrize("ident", sorted(CSI))
def test_csi_model_is_acyclic_connected_and_as_published(ident: str) -> None:
    model, paths = CSI[ident]
    q = builtin(ident)
    csi = q.scoring.csi
    assert csi is not None
    assert csi.model == model
    assert "csi" in q.scoring.methods
    assert list(csi.paths) == paths
    nodes = set(csi.blocks)
    assert {n for p in csi.paths for n in p} == nodes, "every block is on a path"
    assert is_acyclic(nodes, list(csi.paths))
    assert is_connected(nodes, list(csi.paths))
    assert any(b == csi.satisfaction for _, b in csi.paths), "satisfaction is endogenous"
    for latent, cols in csi.blocks.items():
        for col in cols:
            item = q.item(col)
            assert item.scale is not None
            assert (item.scale.min, item.scale.max) == (1, 10), col
            assert not item.roles
            assert not item.reverse
        dims = {q.item(c).dimension for c in cols}
        assert len(dims) == 1, f"block {latent} maps onto one dimension"
    in_blocks = {c for cols in csi.blocks.values() for c in cols}
    assert in_blocks == {i.id for i in q.iter_items(type="rating") if i.dimension}
    assert q.scoring.overall in csi.blocks[csi.satisfaction]


def test_acsi_blocks_have_the_planned_indicators() -> None:
    csi = builtin("acsi").scoring.csi
    assert csi is not None
    sizes = {k: len(v) for k, v in csi.blocks.items()}
    assert sizes == {"CE": 3, "PQ": 3, "PV": 2, "SAT": 3, "CC": 1, "CL": 2}


def test_ecsi_mobile_matches_the_public_data_set(reference_dir: Path) -> None:
    q = builtin("ecsi_mobile")
    data = pd.read_csv(reference_dir / "extra" / "mobi.csv")
    columns = q.columns(meta=False)
    assert all(c == c.lower() for c in columns)
    # the CLI matches the CSV's upper-case names case-insensitively
    assert sorted(c.upper() for c in columns) == sorted(data.columns)
    csi = q.scoring.csi
    assert csi is not None
    for latent, cols in csi.blocks.items():
        assert all(c.upper().startswith(latent) for c in cols), latent
    assert data.min().min() >= 1
    assert data.max().max() <= 10


# -- fuzzy evaluation ---------------------------------------------------------------------
def test_service_short_fuzzy_hierarchy() -> None:
    q = builtin("service_short")
    fuzzy = q.scoring.fuzzy
    assert fuzzy is not None
    assert fuzzy.operator == "weighted_average"
    assert [(g.value, g.label.zh_hans, g.score) for g in fuzzy.grades] == [
        (5, "很满意", 100),
        (4, "满意", 80),
        (3, "一般", 60),
        (2, "不满意", 40),
        (1, "很不满意", 20),
    ]
    root = fuzzy.root
    assert root.factors, "the root has first-level factors"
    assert all(f.items and not f.factors for f in root.factors), "two levels: factors -> items"
    used_ahp = 0
    for node in fuzzy_nodes(root):
        n = len(node.items) or len(node.factors)
        if node.ahp is not None:
            used_ahp += 1
            a = np.asarray(node.ahp)
            assert a.shape == (n, n)
            np.testing.assert_allclose(a * a.T, np.ones((n, n)), rtol=1e-5)
            weights, cr = ahp_consistency(node.ahp)
            assert cr < 0.1
            assert weights.sum() == pytest.approx(1)
        else:
            assert node.weights is not None, f"{node.id} needs weights or ahp"
            assert len(node.weights) == n
            assert sum(node.weights) == pytest.approx(1, abs=1e-9), node.id
    assert used_ahp == 1
    leaves = [i for f in root.factors for i in f.items]
    assert len(leaves) == len(set(leaves))
    reversed_items = {i.id for i in q.iter_items(type="rating") if i.reverse}
    assert 1 <= len(reversed_items) <= 2
    assert not reversed_items & set(leaves), "reverse-coded items stay out of the grades"
    graded = {i.id for i in q.iter_items(type="rating") if i.dimension and not i.reverse}
    assert set(leaves) == graded
    # each first-level factor is a dimension with the same items (less reversed ones)
    for factor in root.factors:
        dim_items = set(q.dimension_items()[factor.id])
        assert set(factor.items) == dim_items - reversed_items


def test_service_short_ratings_and_scoring() -> None:
    q = builtin("service_short")
    ratings = [i for i in q.iter_items(type="rating") if i.dimension]
    assert 11 <= len(ratings) <= 14
    assert 3 <= len(q.dimensions) <= 4
    sat5 = q.scales["sat5"]
    assert [sat5.labels[v].zh_hans for v in range(1, 6)] == [
        "很不满意",
        "不满意",
        "一般",
        "满意",
        "很满意",
    ]
    assert set(q.scoring.methods) == {"index", "reliability", "fuzzy", "pca", "drivers"}
    nps = q.item(q.scoring.recommend or "")
    assert nps.scale is not None
    assert nps.scale.n_points == 11
    assert q.scoring.overall == "sat"
    assert q.segments


@pytest.mark.parametrize(
    ("edges", "acyclic", "connected"),
    [
        ([("A", "B"), ("B", "C")], True, True),
        ([("A", "B"), ("B", "C"), ("C", "A")], False, True),
        ([("A", "B"), ("C", "D")], True, False),
    ],
)
def test_graph_checks_can_fail(
    edges: list[tuple[str, str]], acyclic: bool, connected: bool
) -> None:
    nodes = {n for e in edges for n in e}
    assert is_acyclic(nodes, edges) is acyclic
    assert is_connected(nodes, edges) is connected


def test_ahp_consistency_matches_saaty_for_a_consistent_matrix() -> None:
    w = np.array([0.5, 0.3, 0.2])
    weights, cr = ahp_consistency(tuple(tuple(x / w) for x in w))  # a_ij = w_i / w_j
    np.testing.assert_allclose(weights, w)
    assert abs(cr) < 1e-12


# -- staff satisfaction (the service-profit chain) ---------------------------------------
def test_staff_satisfaction_has_job_satisfaction_intent_to_stay_and_the_branches() -> None:
    q = builtin("staff_satisfaction")
    assert q.audience == "staff"
    dims = q.dimension_items()
    assert set(dims) == {"job", "stay"}
    # five facets of the Job Descriptive Index plus the means to serve customers
    assert 5 <= len(dims["job"]) <= 7
    assert 2 <= len(dims["stay"]) <= 4
    assert any(q.item(i).reverse for i in dims["stay"]), "a quitting item, reverse-coded"
    overall = q.item(q.scoring.overall or "")
    assert overall.dimension is None
    assert overall.scale is not None
    assert overall.scale.n_points == 7
    # the branch codes link the staff survey to every customer instrument by unit
    codes = [c.code for c in q.item("branch").choices]
    for customer in ("servqual22", "service_short"):
        assert [c.code for c in builtin(customer).item("branch").choices] == codes
