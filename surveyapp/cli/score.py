"""``manyi score METHOD DATA --questionnaire ID_OR_FILE``: score a data file from the shell.

DATA is CSV, XLSX or SPSS .sav in the tidy export format (columns named by the export
column rule, matched ignoring letter case). The mappings (dimensions, blocks, paths,
factor hierarchy, weights) come from the questionnaire through :mod:`scoring.instrument`.
Output: ``table`` (the result's summary, for reading), ``json`` (``to_dict()``, for
programs) or ``csv`` (``to_frame()``, for spreadsheets), to stdout or ``--out FILE``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pandas as pd

from surveyapp.cli._common import (
    UsageProblem,
    echo_err,
    encoding_option,
    out_folder_exists,
    user_errors,
)

FORMATS = ("table", "json", "csv")


# where --include-suspect leaves its value for :func:`screened` (every command has it)
INCLUDE_SUSPECT = "manyi.include_suspect"


def _remember_include_suspect(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    ctx.meta[INCLUDE_SUSPECT] = value


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    func = encoding_option(func)
    func = click.option(
        "--include-suspect",
        is_flag=True,
        expose_value=False,
        callback=_remember_include_suspect,
        help="Keep the responses screening flags as suspect (left out by default). "
        "Quarantined responses are always left out.",
    )(func)
    func = click.option(
        "--out",
        "-o",
        type=click.Path(dir_okay=False, writable=True),
        callback=out_folder_exists,
        help="Write to this file instead of stdout.",
    )(func)
    func = click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table: readable summary; json: every output; csv: the main table.",
    )(func)
    return func


def _questionnaire_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--questionnaire",
        "-q",
        "questionnaire",
        required=True,
        metavar="ID_OR_FILE",
        help="Built-in instrument id (see `manyi questionnaires list`) or a YAML/XLSForm file.",
    )(func)


def _load(data: str, questionnaire: str, encoding: str | None) -> tuple[Any, pd.DataFrame]:
    # lazy: the instrument loader and data readers load only for the command that runs
    import questionnaires as qn
    from surveyapp.datafiles import read_responses

    q = qn.resolve(questionnaire)
    return q, screened(q, read_responses(data, q, encoding=encoding), source=data)


def screened(q: Any, frame: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """``frame`` without its quarantined responses, and without the responses screening
    flags as suspect unless ``--include-suspect``; says on stderr how many it left out
    and why (one count per reason)."""
    # lazy: scoring loads scipy and statsmodels (seconds); `manyi --help` never needs them
    from scoring import instrument
    from scoring.screening import quarantined  # lazy: as above

    keep_suspect = bool(click.get_current_context().meta.get(INCLUDE_SUSPECT))
    dropped = quarantined(frame)
    parts = [f"{int(dropped.sum())} quarantined"] if dropped.any() else []
    flags = instrument.screen(q, frame[~dropped])
    suspect = flags["suspect"]
    if suspect.any():
        reasons = ", ".join(
            f"{name} {int(flags[name].sum())}"
            for name in flags.columns
            if name != "suspect" and flags[name].any()
        )
        if keep_suspect:
            echo_err(
                f"{source}: kept {int(suspect.sum())} suspect response(s) ({reasons}) "
                "as --include-suspect asks."
            )
        else:
            dropped = dropped | suspect.reindex(frame.index, fill_value=False)
            parts.append(f"{int(suspect.sum())} suspect ({reasons})")
    if parts:
        hint = "" if keep_suspect or not suspect.any() else "; --include-suspect keeps the suspect"
        echo_err(
            f"{source}: left out {int(dropped.sum())} of {len(frame)} response(s): "
            f"{'; '.join(parts)}{hint}."
        )
    return frame[~dropped]


def _score_and_emit(
    data: str,
    questionnaire: str,
    method: str,
    fmt: str,
    out: str | None,
    encoding: str | None,
    **params: Any,
) -> None:
    """Load DATA for the questionnaire, score it by ``method`` and print the result."""
    with user_errors():
        # lazy: scoring loads scipy and statsmodels (seconds); `manyi --help` never needs them
        from scoring import instrument

        q, frame = _load(data, questionnaire, encoding)
        result = instrument.score(q, method, frame, **params)
    emit(result, fmt, out)


def emit(result: Any, fmt: str, out: str | None, extras: dict[str, Any] | None = None) -> None:
    """Print or write a scoring result in the chosen format, as ONE document.

    ``extras`` are further results of the same command (the NPS beside the index, the
    ordinal model beside the drivers); a ``--segment`` breakdown (the result's
    ``segments`` and ``segment_tests`` tables) is one too. In JSON they are keys of the
    one document (the breakdown is in the result's own), in the table they follow under
    their name, in CSV each goes to a sibling file of ``--out`` (``r.nps.csv``,
    ``r.segments.csv``); CSV to stdout holds the main table only and says so.
    """
    extras = extras or {}
    if fmt == "json":
        document = _document(result)
        document.update({name: _document(extra) for name, extra in extras.items()})
        _write(json.dumps(document, ensure_ascii=False, indent=2), fmt, out)
        return
    extras = {**_breakdowns(result), **extras}
    if fmt == "csv":
        _write(_csv(result), fmt, out)
        for name, extra in extras.items():
            if out:
                _write(_csv(extra), fmt, _sibling(out, name))
            else:
                echo_err(f"{name}: not in CSV on stdout; use --out FILE or --format json.")
    else:
        sections = [_table(result)]
        if footer := _footer(result):
            sections.append(footer)
        sections += [f"\n== {name} ==\n{_table(extra)}" for name, extra in extras.items()]
        _write("\n".join(sections), fmt, out)


def _breakdowns(result: Any) -> dict[str, pd.DataFrame]:
    """The further tables of a result that has them: the ``--segment`` breakdown (per
    segment level, and the tests of the differences between levels) and PCA's adequacy
    checks (KMO, Bartlett)."""
    out = {}
    for name in ("segments", "segment_tests"):
        frame = getattr(result, name, None)
        if isinstance(frame, pd.DataFrame) and not frame.empty:
            out[name] = frame
    if callable(getattr(result, "adequacy", None)):
        out["adequacy"] = result.adequacy()
    return out


def _footer(result: Any) -> str:
    """The lines under a result's table: its verdict, respondents used, rows dropped."""
    lines = []
    if isinstance(getattr(result, "verdict", None), str):
        lines.append(result.verdict)
    counts = []
    if isinstance(getattr(result, "n_used", None), int):
        counts.append(f"n used: {result.n_used}")
    if isinstance(getattr(result, "n_dropped", None), int):
        counts.append(f"rows dropped (missing answers): {result.n_dropped}")
    if counts:
        lines.append("; ".join(counts))
    return "\n".join(lines)


def _document(result: Any) -> dict[str, Any]:
    """A result (or a table) as JSON-ready data; tables in pandas' "split" layout, as
    the results' own ``to_dict()`` writes theirs."""
    if isinstance(result, pd.DataFrame):
        return dict(json.loads(result.to_json(orient="split", index=False, double_precision=15)))
    return dict(result.to_dict())


def _csv(result: Any) -> str:
    if isinstance(result, pd.DataFrame):
        return str(result.to_csv(index=False))
    return str(result.to_frame().to_csv())


def _table(result: Any) -> str:
    frame = result if isinstance(result, pd.DataFrame) else result.summary()
    with pd.option_context(
        "display.max_rows", 500, "display.max_columns", 50, "display.width", 160
    ):
        return str(frame.to_string(float_format=lambda v: f"{v:.4g}"))


def _write(text: str, fmt: str, out: str | None) -> None:
    if out:
        encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
        Path(out).write_text(text + ("" if text.endswith("\n") else "\n"), encoding=encoding)
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text)


def _segments(segment: tuple[str, ...]) -> Any:
    if not segment:
        return None
    return segment[0] if len(segment) == 1 else list(segment)


def _one_segment(segment: tuple[str, ...]) -> str | None:
    if len(segment) > 1:
        msg = "this method breaks results down by one --segment column at a time."
        raise UsageProblem(msg)
    return segment[0] if segment else None


@click.group("score")
def score_group() -> None:
    """Score a response data file (CSV, XLSX or SPSS .sav) by one method."""


@score_group.command("servqual")
@click.argument("data", type=click.Path(dir_okay=False))
@_questionnaire_option
@click.option("--segment", "-s", multiple=True, help="Break down by this column (repeatable).")
@click.option(
    "--weights",
    default="allocation",
    show_default=True,
    help="'allocation' (each respondent's 100 points, when the instrument has them), "
    "'none', or fixed weights 'tan=20,rel=30,...'.",
)
@click.option("--normalise-weights", is_flag=True, help="Rescale allocations not summing to 100.")
@click.option("--model", type=click.Choice(["auto", "servqual", "servperf"]), default="auto")
@click.option(
    "--missing", type=click.Choice(["pairwise", "listwise", "item_mean"]), default="pairwise"
)
@_common
def servqual_cmd(
    data: str,
    questionnaire: str,
    segment: tuple[str, ...],
    weights: str,
    normalise_weights: bool,
    model: str,
    missing: str,
    fmt: str,
    out: str | None,
    encoding: str | None,
) -> None:
    """SERVQUAL gap scores (P - E) per item, dimension and overall."""
    with user_errors():
        # lazy: scoring loads scipy and statsmodels (seconds); `manyi --help` never needs them
        from scoring import instrument

        q, frame = _load(data, questionnaire, encoding)
        params: dict[str, Any] = {}
        if weights == "none":
            params["weights"] = None
        elif weights != "allocation":
            params["weights"] = _parse_weights(weights)
        result = instrument.score(
            q,
            "servqual",
            frame,
            **params,
            segment=_segments(segment),
            normalise_weights=normalise_weights,
            model=model,
            missing=missing,
        )
    emit(result, fmt, out)


def _parse_weights(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            msg = f"--weights must look like 'tan=20,rel=30'; cannot read {part!r}."
            raise UsageProblem(msg) from None
    return out


@score_group.command("index")
@click.argument("data", type=click.Path(dir_okay=False))
@_questionnaire_option
@click.option("--role", help="Role whose ratings to use (default: perception, else the first).")
@click.option("--top-box", type=click.IntRange(1, 5), default=2, show_default=True)
@click.option(
    "--missing", type=click.Choice(["pairwise", "listwise", "item_mean"]), default="pairwise"
)
@_common
def index_cmd(
    data: str,
    questionnaire: str,
    role: str | None,
    top_box: int,
    missing: str,
    fmt: str,
    out: str | None,
    encoding: str | None,
) -> None:
    """Questionnaire index: item and dimension means, top-box shares, 0-100 index, NPS."""
    with user_errors():
        # lazy: scoring loads scipy and statsmodels (seconds); `manyi --help` never needs them
        from scoring import instrument

        q, frame = _load(data, questionnaire, encoding)
        result = instrument.score(q, "index", frame, role=role, top_box=top_box, missing=missing)
        extras: dict[str, Any] = {}
        if q.scoring.recommend is not None:
            # lazy: scoring loads scipy and statsmodels (seconds); `manyi --help` never needs them
            from scoring.index import nps

            extras["nps"] = nps(frame[instrument.nps_column(q)])
    emit(result, fmt, out, extras)


@score_group.command("gaps")
@click.argument("data", nargs=-1, required=True, metavar="AUDIENCE=FILE...")
@click.option(
    "--questionnaire",
    "-q",
    "questionnaires_",
    multiple=True,
    metavar="[AUDIENCE=]ID_OR_FILE",
    help="Instrument per audience, e.g. -q servqual22 -q manager=servqual22_manager. "
    "Default for an audience without one: the built-in servqual22 family.",
)
@click.option(
    "--missing", type=click.Choice(["pairwise", "listwise", "item_mean"]), default="pairwise"
)
@_common
def gaps_cmd(
    data: tuple[str, ...],
    questionnaires_: tuple[str, ...],
    missing: str,
    fmt: str,
    out: str | None,
    encoding: str | None,
) -> None:
    """The five service-quality gaps from linked data sets, one file per audience.

    Give each file as AUDIENCE=FILE with AUDIENCE one of customer, manager, staff, audit
    (e.g. customer=c.csv manager=m.xlsx staff=s.sav); a file without the prefix takes its
    audience from its 'audience' column.
    """
    with user_errors():
        # lazy: scoring loads scipy and statsmodels (seconds); `manyi --help` never needs them
        import questionnaires as qn
        from scoring import instrument
        from scoring.gaps import service_gaps
        from surveyapp.datafiles import read_responses, read_table

        chosen: dict[str, Any] = {}
        for spec in questionnaires_:
            audience, sep, ident = spec.rpartition("=")
            q = qn.resolve(ident)
            chosen[audience if sep else q.audience] = q
        defaults = {
            "customer": "servqual22",
            "manager": "servqual22_manager",
            "staff": "servqual22_staff",
            "audit": "servqual22_audit",
        }
        sources: dict[str, Any] = {}
        for spec in data:
            audience, sep, path = spec.partition("=")
            if not sep:
                audience, path = _audience_of(spec, read_table(spec, encoding=encoding)), spec
            if audience not in defaults:
                msg = f"{spec}: audience must be one of {', '.join(defaults)}; got {audience!r}."
                raise UsageProblem(msg)
            if audience in sources:
                msg = f"two data files for the {audience} audience; give one per audience."
                raise UsageProblem(msg)
            q = chosen.get(audience) or qn.builtin(defaults[audience])
            frame = read_responses(path, q, encoding=encoding)
            instrument.check_gap_source(q, frame, name=path)
            sources[audience] = (q, screened(q, frame, source=path))
        if "staff" in sources and "audit" in sources:
            msg = (
                "give staff or audit data, not both: delivered (D) and promised (C) levels "
                "must come from one source."
            )
            raise UsageProblem(msg)
        kwargs = instrument.gaps_inputs(
            customers=sources.get("customer"),
            managers=sources.get("manager"),
            staff=sources.get("staff") or sources.get("audit"),
        )
        kwargs["missing"] = missing
        result = service_gaps(**kwargs)
    emit(result, fmt, out)


def _audience_of(path: str, frame: pd.DataFrame) -> str:
    values: list[Any] = (
        list(frame["audience"].dropna().unique()) if "audience" in frame.columns else []
    )
    if len(values) != 1:
        msg = (
            f"{path}: cannot tell its audience (no single value in an 'audience' column); "
            "write it as AUDIENCE=FILE."
        )
        raise UsageProblem(msg)
    return str(values[0])


@score_group.command("reliability")
@click.argument("data", type=click.Path(dir_okay=False))
@_questionnaire_option
@click.option("--role", help="Role whose ratings to use (default: perception, else the first).")
@click.option(
    "--missing", type=click.Choice(["pairwise", "listwise", "item_mean"]), default="pairwise"
)
@_common
def reliability_cmd(
    data: str,
    questionnaire: str,
    role: str | None,
    missing: str,
    fmt: str,
    out: str | None,
    encoding: str | None,
) -> None:
    """Cronbach's alpha, composite reliability and AVE per dimension."""
    _score_and_emit(
        data, questionnaire, "reliability", fmt, out, encoding, role=role, missing=missing
    )


@score_group.command("fuzzy")
@click.argument("data", type=click.Path(dir_okay=False))
@_questionnaire_option
@click.option(
    "--operator",
    type=click.Choice(["weighted_average", "min_max", "product_max", "min_bounded_sum"]),
    help="Composition operator (default: the instrument's, else weighted_average).",
)
@click.option("--segment", "-s", multiple=True, help="Evaluate each level of this column.")
@click.option("--language", type=click.Choice(["en", "zh-Hans"]), default="en")
@click.option(
    "--item-weights",
    type=click.Choice(["instrument", "entropy"]),
    default="instrument",
    show_default=True,
    help="Weights of each factor's items: as the questionnaire gives them, or by the "
    "entropy weight method from the answers (factors keep the questionnaire's weights).",
)
@_common
def fuzzy_cmd(
    data: str,
    questionnaire: str,
    operator: str | None,
    segment: tuple[str, ...],
    language: str,
    item_weights: str,
    fmt: str,
    out: str | None,
    encoding: str | None,
) -> None:
    """Fuzzy comprehensive evaluation over the instrument's factor hierarchy.

    The weights of a factor given by an AHP pairwise matrix are printed with their
    consistency ratio (CR; below 0.1 is consistent), one section per factor.
    """
    params: dict[str, Any] = {"language": language, "segment": _one_segment(segment)}
    if operator:
        params["operator"] = operator
    with user_errors():
        # lazy: scoring loads scipy and statsmodels (seconds); `manyi --help` never needs them
        from scoring import instrument

        q, frame = _load(data, questionnaire, encoding)
        result = instrument.score(q, "fuzzy", frame, item_weights=item_weights, **params)
        extras = {f"ahp_{node}": ahp for node, ahp in instrument.fuzzy_ahp(q).items()}
    emit(result, fmt, out, extras)


@score_group.command("pca")
@click.argument("data", type=click.Path(dir_okay=False))
@_questionnaire_option
@click.option(
    "--retain",
    type=click.Choice(["kaiser", "cumulative", "fixed"]),
    default="kaiser",
    show_default=True,
    help="Keep components with eigenvalue > 1, up to a cumulative share, or a fixed number.",
)
@click.option("--cumulative", type=float, default=0.85, show_default=True)
@click.option("--n-components", type=int)
@click.option("--role", help="Role whose ratings to use (default: perception, else the first).")
@click.option("--segment", "-s", multiple=True, help="Composite per level of this column.")
@_common
def pca_cmd(
    data: str,
    questionnaire: str,
    retain: str,
    cumulative: float,
    n_components: int | None,
    role: str | None,
    segment: tuple[str, ...],
    fmt: str,
    out: str | None,
    encoding: str | None,
) -> None:
    """Principal-component satisfaction index, with KMO and Bartlett's test."""
    _score_and_emit(
        data,
        questionnaire,
        "pca",
        fmt,
        out,
        encoding,
        role=role,
        retain=retain,
        cumulative=cumulative,
        n_components=n_components,
        segment=_one_segment(segment),
    )


@score_group.command("csi")
@click.argument("data", type=click.Path(dir_okay=False))
@_questionnaire_option
@click.option("--bootstrap", type=click.IntRange(0, 100_000), default=0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--scheme", type=click.Choice(["centroid", "factorial", "path"]), default="centroid")
@click.option("--segment", "-s", multiple=True, help="Indices per level of this column.")
@click.option("--language", type=click.Choice(["en", "zh-Hans"]), default="en")
@click.option(
    "--consistent",
    is_flag=True,
    help="Consistent PLS (PLSc): correct paths, R² and effects for measurement error "
    "(standard errors need --bootstrap).",
)
@click.option(
    "--fit-test",
    is_flag=True,
    help="Bootstrap test of exact model fit (SRMR, d_ULS, d_G; needs --bootstrap).",
)
@click.option(
    "--predict-folds",
    type=click.IntRange(0, 1000),
    default=0,
    show_default=True,
    help="PLSpredict with this many folds (0: none): RMSE, MAE, Q²_predict per item.",
)
@click.option("--predict-repeats", type=click.IntRange(1, 1000), default=1, show_default=True)
@click.option(
    "--ipma",
    type=click.Choice(["unstandardized", "standardized"]),
    default="unstandardized",
    show_default=True,
    help="Importance of the importance-performance map (SmartPLS: unstandardized).",
)
@click.option(
    "--complaints", help="Column of yes(1)/no(0) complaint answers: share who complained."
)
@_common
def csi_cmd(
    data: str,
    questionnaire: str,
    bootstrap: int,
    seed: int,
    scheme: str,
    segment: tuple[str, ...],
    language: str,
    consistent: bool,
    fit_test: bool,
    predict_folds: int,
    predict_repeats: int,
    ipma: str,
    complaints: str | None,
    fmt: str,
    out: str | None,
    encoding: str | None,
) -> None:
    """Customer satisfaction index (ACSI/ECSI/CCSI) by PLS path modelling, with the
    model assessment (f², VIF, reliability, HTMT, model fit, PLSpredict)."""
    if fit_test and not bootstrap:
        msg = "--fit-test needs --bootstrap N (the test resamples the data)."
        raise UsageProblem(msg)
    with user_errors():
        # lazy: scoring loads scipy and statsmodels (seconds); `manyi --help` never needs them
        from scoring import instrument

        q, frame = _load(data, questionnaire, encoding)
        result = instrument.score(
            q,
            "csi",
            frame,
            bootstrap=bootstrap,
            seed=seed,
            scheme=scheme,
            segment=_one_segment(segment),
            language=language,
            consistent=consistent,
            fit_test=fit_test,
            predict_folds=predict_folds,
            predict_repeats=predict_repeats,
            ipma=ipma,
            complaints=complaints,
        )
    # JSON carries every table in the result's own document (``pls`` holds the assessment)
    emit(result, fmt, out, {} if fmt == "json" else _csi_assessment(result))


def _csi_assessment(result: Any) -> dict[str, Any]:
    """The PLS assessment tables of a CSI result, for table and CSV output."""
    pls = result.pls
    tables = {
        "paths": pls.path_assessment(),
        "reliability": pls.reliability_validity(),
        "item_vif": pls.item_vif,
        "model_fit": pls.model_fit,
        "importance_performance": result.importance_performance,
    }
    if pls.bootstrap is not None:
        tables["htmt"] = pls.bootstrap.htmt
        if pls.bootstrap.fit_test is not None:
            tables["fit_test"] = pls.bootstrap.fit_test
    if pls.prediction is not None:
        tables["predict"] = pls.prediction.items
    if result.complaint_share is not None:
        tables["complaints"] = result.complaint_share
    return {name: frame.reset_index() for name, frame in tables.items()}


@score_group.command("rates")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--lost", required=True, metavar="COLUMN", help="0/1 column: 1 = customer lost (churned)."
)
@click.option("--referred", metavar="COLUMN", help="0/1 column: 1 = customer referred someone.")
@click.option(
    "--questionnaire",
    "-q",
    "questionnaire",
    metavar="ID_OR_FILE",
    help="The instrument of a survey export (its suspect responses are then left out too); "
    "without it DATA is any table with one row per customer.",
)
@click.option("--confidence", type=click.FloatRange(0.5, 0.999), default=0.95, show_default=True)
@_common
def rates_cmd(
    data: str,
    lost: str,
    referred: str | None,
    questionnaire: str | None,
    confidence: float,
    fmt: str,
    out: str | None,
    encoding: str | None,
) -> None:
    """Churn, retention and referral rates with Wilson intervals, one row per customer."""
    with user_errors():
        # lazy: scoring loads scipy and statsmodels (seconds); `manyi --help` never needs them
        from scoring.index import customer_rates_from
        from scoring.screening import quarantined  # lazy: as above
        from surveyapp.datafiles import read_table  # lazy: as above

        if questionnaire is not None:
            _q, frame = _load(data, questionnaire, encoding)
        else:
            frame = read_table(data, encoding=encoding)
            frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
            left = quarantined(frame)
            if left.any():
                echo_err(f"{data}: left out {int(left.sum())} quarantined response(s).")
            frame = frame[~left]
        result = customer_rates_from(frame, lost=lost, referred=referred, confidence=confidence)
    emit(result, fmt, out)


@score_group.command("drivers")
@click.argument("data", type=click.Path(dir_okay=False))
@_questionnaire_option
@click.option("--role", help="Role whose ratings to use (default: perception, else the first).")
@click.option(
    "--ordinal",
    type=click.Choice(["none", "logit", "probit"]),
    default="none",
    help="Also fit an ordered logit/probit of the overall item on the dimension scores.",
)
@_common
def drivers_cmd(
    data: str,
    questionnaire: str,
    role: str | None,
    ordinal: str,
    fmt: str,
    out: str | None,
    encoding: str | None,
) -> None:
    """Key-driver analysis: OLS with HC3 errors, relative importance, IPA quadrants."""
    with user_errors():
        # lazy: scoring loads scipy and statsmodels (seconds); `manyi --help` never needs them
        from scoring import instrument

        q, frame = _load(data, questionnaire, encoding)
        result = instrument.score(q, "drivers", frame, role=role)
        extras = {} if ordinal == "none" else {"ordinal": _ordinal(q, frame, role, ordinal)}
    emit(result, fmt, out, extras)


def _sibling(out: str, tag: str) -> str:
    p = Path(out)
    return str(p.with_name(f"{p.stem}.{tag}{p.suffix}"))


def _ordinal(q: Any, frame: pd.DataFrame, role: str | None, link: str) -> Any:
    """Ordered logit/probit of the overall item on the dimension scores (item means)."""
    # lazy: scoring loads scipy and statsmodels (seconds); `manyi --help` never needs them
    from scoring import instrument
    from scoring.drivers import ordinal_drivers

    kwargs = instrument.drivers_kwargs(q, role=role)
    prepared = instrument.recode_reversed(q, frame)
    outcome = kwargs["outcome"]
    dims: dict[str, list[str]] = kwargs["drivers"]
    scores = pd.DataFrame(
        {
            d: prepared[cols].apply(pd.to_numeric, errors="coerce").mean(axis=1)
            for d, cols in dims.items()
        }
    )
    scores[outcome] = prepared[outcome]
    return ordinal_drivers(
        scores, outcome=outcome, drivers=list(dims), link="probit" if link == "probit" else "logit"
    )


COMMANDS = [score_group]
