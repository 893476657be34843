"""``manyi score loyalty`` and ``manyi score chain``: survey scores linked to what customers
did (an outcome file) and, across units, to staff satisfaction.

Outcomes stay in the researcher's files: the outcome file is read and joined to the
responses at scoring time on a customer key (``--key``, e.g. ``customer_id`` carried by
the invitation as a segment column, or ``response_id``), so no key is ever stored in the
survey tables. Unmatched keys are reported on stderr (and in the JSON), never dropped
silently; a key that occurs twice is an error naming the file and rows.

The commands join the ``score`` group from here (``surveyapp.cli`` imports every module of
the package), which keeps this feature's code in one module.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pandas as pd

from surveyapp.cli._common import UsageProblem, echo_err, user_errors
from surveyapp.cli.score import _common, emit, score_group

PREDICT = ("dimensions", "overall")


def _key_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--key`` and ``--outcome-key``: how the outcome file links to the responses."""
    func = click.option(
        "--outcome-key", help="Key column in the outcome file, if named differently."
    )(func)
    return click.option(
        "--key",
        default="customer_id",
        show_default=True,
        help="Customer key column in the (customer) responses and, unless --outcome-key, "
        "in the outcome file.",
    )(func)


def _read_outcomes(path: str, encoding: str | None) -> pd.DataFrame:
    """The outcome file with row labels = file row numbers (header = row 1)."""
    # lazy: the data readers load pandas' Excel/SPSS engines only for the command that runs
    from surveyapp.datafiles import DataFileError, read_table

    frame = read_table(path, encoding=encoding)
    if frame.empty:
        msg = f"{Path(path).name}: holds no outcome rows (only a header or nothing)."
        raise DataFileError(msg)
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    return frame


def _join(
    responses: pd.DataFrame,
    data: str,
    outcomes: pd.DataFrame,
    outcome_file: str,
    key: str,
    okey: str | None,
    **checks: list[str],
) -> Any:
    """Responses joined to the outcomes (read by :func:`_read_outcomes`), unmatched keys
    reported on stderr; ``checks`` (binary, nonnegative) name outcome-file rows."""
    # lazy: scoring loads scipy and statsmodels (seconds); `manyi --help` never needs them
    from scoring.loyalty import join_outcomes

    joined = join_outcomes(
        responses,
        outcomes,
        key=key,
        outcome_key=okey,
        names=(Path(data).name, Path(outcome_file).name),
        **checks,
    )
    for line in joined.warnings():
        echo_err(f"Warning: {line}")
    return joined


def _binary_columns(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """The columns whose answered cells are all 0 or 1 (the outcomes a curve can show)."""
    out = []
    for c in columns:
        values = pd.to_numeric(frame[c], errors="coerce")
        if values.notna().any() and values.dropna().isin((0, 1)).all():
            out.append(c)
    return out


def _customer_scores(q: Any, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Per-respondent scores from scoring: SERVQUAL's dimension gaps (P - E) where the
    instrument has them, else dimension means; plus the overall item. Returns the scores
    (index of ``frame``) and the names of the dimension scores."""
    # lazy: scoring loads scipy and statsmodels (seconds); `manyi --help` never needs them
    from scoring import instrument
    from scoring.loyalty import respondent_scores

    prepared = instrument.recode_reversed(q, frame)
    if "servqual" in q.scoring.methods:
        gaps = instrument.score(q, "servqual", frame).scores
        dims = [c for c in gaps.columns if c not in ("overall", "weighted")]
        scores = gaps[dims].add_prefix("gap_").reindex(frame.index)
        names = [f"gap_{d}" for d in dims]
    else:
        dimensions = instrument.dimension_columns(q)
        scores = respondent_scores(prepared, dimensions=dimensions, scale=_scales(q))
        scores = scores[list(dimensions)]
        names = list(dimensions)
    if q.scoring.overall is not None:
        scores[q.scoring.overall] = _overall(q, prepared)
    return scores, names


def _scales(q: Any) -> dict[str, tuple[float, float]]:
    """Rating column -> its item's scale (min, max), for scoring's range checks."""
    out = {}
    for item in q.iter_items(type="rating"):
        for column in item.columns():
            out[column] = (float(item.scale.min), float(item.scale.max))
    return out


def _overall(q: Any, prepared: pd.DataFrame) -> pd.Series:
    """The instrument's overall item, checked against its scale by scoring."""
    # lazy: scoring loads scipy and statsmodels (seconds); `manyi --help` never needs them
    from scoring.loyalty import respondent_scores

    column = q.scoring.overall
    checked: pd.DataFrame = respondent_scores(
        prepared, dimensions={column: [column]}, scale=_scales(q)
    )
    out: pd.Series = checked[column]
    return out


@score_group.command("loyalty")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--outcomes",
    "outcomes",
    required=True,
    type=click.Path(dir_okay=False),
    help="Behaviour file (CSV/XLSX/SAV): one row per customer.",
)
@click.option(
    "--questionnaire",
    "-q",
    "questionnaire",
    required=True,
    metavar="ID_OR_FILE",
    help="Instrument of DATA (built-in id or YAML/XLSForm file).",
)
@_key_options
@click.option(
    "--loyal",
    "loyal",
    multiple=True,
    metavar="COLUMN",
    help="0/1 outcome to draw the curve of (repeatable; default: every 0/1 column "
    "of the outcome file but --churn).",
)
@click.option(
    "--churn",
    default=None,
    metavar="COLUMN",
    help="0/1 churn column (default: 'churned', else 'retained' read as 0 = lost).",
)
@click.option(
    "--predict",
    type=click.Choice(PREDICT),
    default="dimensions",
    show_default=True,
    help="Churn model on the dimension scores (gaps) or the overall item.",
)
@click.option(
    "--control",
    "controls",
    multiple=True,
    metavar="COLUMN",
    help="Control of the churn model (repeatable): numeric as is, text as dummies.",
)
@click.option(
    "--value",
    default=None,
    metavar="COLUMN",
    help="Customer value column for value weighting (default: 'revenue' if present).",
)
@click.option(
    "--tier",
    default=None,
    metavar="COLUMN",
    help="Value tiers from this column instead of the pyramid (top 20 %, next 30 %, rest).",
)
@click.option(
    "--bin-width",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Level width of fractional scores (gaps) on the curve.",
)
@click.option("--folds", type=click.IntRange(2, 100), default=5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@_common
def loyalty_cmd(
    data: str,
    outcomes: str,
    questionnaire: str,
    key: str,
    outcome_key: str | None,
    loyal: tuple[str, ...],
    churn: str | None,
    predict: str,
    controls: tuple[str, ...],
    value: str | None,
    tier: str | None,
    bin_width: float,
    folds: int,
    seed: int,
    fmt: str,
    out: str | None,
    encoding: str | None,
) -> None:
    """Satisfaction linked to what customers did: loyalty curve, churn model, value tiers.

    DATA holds the responses, --outcomes one row per customer (retained/churned,
    repurchased, referred, revenue, tier ...), joined on --key.
    """
    with user_errors():
        # lazy: scoring loads scipy and statsmodels (seconds); `manyi --help` never needs them
        import questionnaires as qn
        from scoring.loyalty import churn_model, loyalty_curve, value_weighted
        from surveyapp.datafiles import read_responses

        q = qn.resolve(questionnaire)
        responses = read_responses(data, q, encoding=encoding)
        scores, dims = _customer_scores(q, responses)
        base = responses.drop(columns=[c for c in scores.columns if c in responses.columns])
        table = _read_outcomes(outcomes, encoding)
        added = [c for c in map(str, table.columns) if c != (outcome_key or key)]
        churn_col, event = _churn_column(churn, added, outcomes)
        loyal_cols = list(loyal) or [c for c in _binary_columns(table, added) if c != churn_col]
        if not loyal_cols:
            msg = (
                f"{Path(outcomes).name}: no 0/1 outcome column to draw the curve of; name "
                "one with --loyal COLUMN."
            )
            raise UsageProblem(msg)
        value_col = value or ("revenue" if "revenue" in added else None)
        joined = _join(
            base.join(scores),
            data,
            table,
            outcomes,
            key,
            outcome_key,
            binary=loyal_cols + ([churn_col] if churn_col else []),
            nonnegative=[value_col] if value_col else [],
            required=[tier] if tier else [],
        )
        frame = joined.data
        drivers = ([q.scoring.overall] if q.scoring.overall else []) + dims
        curve = loyalty_curve(frame, drivers=drivers, outcomes=loyal_cols, bin_width=bin_width)
        extras: dict[str, Any] = {"join": joined}
        if churn_col is not None:
            predictors = (
                dims if predict == "dimensions" or not q.scoring.overall else [q.scoring.overall]
            )
            extras["churn"] = churn_model(
                frame,
                outcome=churn_col,
                predictors=predictors,
                controls=list(controls),
                event=event,
                folds=folds,
                seed=seed,
            )
        if value_col is not None:
            extras["value"] = value_weighted(frame, scores=drivers, value=value_col, tier=tier)
        if fmt == "table":  # JSON has these inside the results already
            extras = {"zones": curve.zones, **extras}
            if "churn" in extras:
                extras["churn fit"] = extras["churn"].fit_statistics()
                extras["calibration"] = extras["churn"].calibration
            if "value" in extras:
                extras["value tiers"] = extras["value"].tiers
    emit(curve, fmt, out, extras)


def _churn_column(churn: str | None, added: list[str], outcomes: str) -> tuple[str | None, int]:
    if churn is not None:
        if churn not in added:
            msg = f"{Path(outcomes).name}: has no column {churn!r} (--churn); it has {added}."
            raise UsageProblem(msg)
        return churn, 1
    if "churned" in added:
        return "churned", 1
    if "retained" in added:
        return "retained", 0
    return None, 1


@score_group.command("chain")
@click.argument("data", nargs=-1, required=True, metavar="customer=FILE staff=FILE")
@click.option(
    "--outcomes",
    type=click.Path(dir_okay=False),
    help="Customer outcome file (retention per unit), joined on --key.",
)
@click.option(
    "--unit",
    default="branch",
    show_default=True,
    help="Unit column in both surveys (branch, store).",
)
@click.option(
    "--questionnaire",
    "-q",
    "questionnaires_",
    multiple=True,
    metavar="AUDIENCE=ID_OR_FILE",
    help="Instrument per survey (default: customer=service_short, staff=staff_satisfaction).",
)
@_key_options
@_common
def chain_cmd(
    data: tuple[str, ...],
    outcomes: str | None,
    unit: str,
    questionnaires_: tuple[str, ...],
    key: str,
    outcome_key: str | None,
    fmt: str,
    out: str | None,
    encoding: str | None,
) -> None:
    """The service-profit chain across units: staff vs customer satisfaction vs retention.

    Give the surveys as customer=FILE staff=FILE. Customer and staff satisfaction are the
    overall items of the instruments; intent to stay is the staff instrument's 'stay'
    dimension where it has one.
    """
    with user_errors():
        # lazy: scoring loads scipy and statsmodels (seconds); `manyi --help` never needs them
        import questionnaires as qn
        from scoring.chain import service_profit_chain
        from scoring.loyalty import respondent_scores
        from surveyapp.datafiles import read_responses

        chosen = {"customer": "service_short", "staff": "staff_satisfaction"}
        for spec in questionnaires_:
            audience, sep, ident = spec.partition("=")
            if not sep or audience not in chosen:
                msg = f"-q must look like customer=ID or staff=ID; got {spec!r}."
                raise UsageProblem(msg)
            chosen[audience] = ident
        files: dict[str, str] = {}
        for spec in data:
            audience, sep, path = spec.partition("=")
            if not sep or audience not in chosen:
                msg = f"give the surveys as customer=FILE staff=FILE; got {spec!r}."
                raise UsageProblem(msg)
            files[audience] = path
        missing = [a for a in chosen if a not in files]
        if missing:
            msg = f"no {missing[0]}=FILE given; the chain needs customer=FILE and staff=FILE."
            raise UsageProblem(msg)
        qs = {a: qn.resolve(ident) for a, ident in chosen.items()}
        frames = {a: read_responses(files[a], qs[a], encoding=encoding) for a in files}
        overall = {}
        for a, q in qs.items():
            if q.scoring.overall is None:
                msg = f"{q.id}: names no overall satisfaction item (scoring.overall)."
                raise UsageProblem(msg)
            overall[a] = q.scoring.overall
        from scoring import instrument  # lazy: as above

        staff = instrument.recode_reversed(qs["staff"], frames["staff"])
        staff[overall["staff"]] = _overall(qs["staff"], staff)
        intent = None
        if "stay" in instrument.dimension_columns(qs["staff"]):
            stay = respondent_scores(
                staff,
                dimensions=instrument.dimension_columns(qs["staff"]),
                scale=_scales(qs["staff"]),
            )
            staff = staff.assign(intent_to_stay=stay["stay"])
            intent = "intent_to_stay"
        customers = instrument.recode_reversed(qs["customer"], frames["customer"])
        customers[overall["customer"]] = _overall(qs["customer"], customers)
        extras: dict[str, Any] = {}
        retention = churned = None
        if outcomes:
            table = _read_outcomes(outcomes, encoding)
            retention = "retained" if "retained" in table.columns else None
            churned = "churned" if retention is None and "churned" in table.columns else None
            if retention is None and churned is None:
                msg = (
                    f"{Path(outcomes).name}: needs a 0/1 column 'retained' or 'churned' for "
                    "the retention per unit."
                )
                raise UsageProblem(msg)
            joined = _join(
                customers,
                files["customer"],
                table,
                outcomes,
                key,
                outcome_key,
                binary=[retention or churned or ""],
            )
            extras["join"] = joined
            customers = joined.data
        result = service_profit_chain(
            customers,
            staff,
            unit=unit,
            customer_score=overall["customer"],
            staff_score=overall["staff"],
            intent_to_stay=intent,
            retention=retention,
            churned=churned,
        )
        if fmt == "table":  # JSON has these inside the result already
            shares = pd.DataFrame(
                {"value": [result.between_unit_share, result.explained_by_staff]},
                index=["between_unit_share", "explained_by_staff"],
            )
            extras |= {
                "associations": result.associations,
                "multilevel model": result.model,
                "variance": shares,
            }
    emit(result, fmt, out, extras)
