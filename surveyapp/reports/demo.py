"""A demo gap study for the reports: linked customer, manager, staff and audit surveys.

:func:`seed_gap_study` stores simulated responses (:func:`questionnaires.simulate.simulate`,
one seed for all audiences so they describe one world) as ordinary ``Response`` and
``Answer`` rows (``source="simulated"``), so the dashboards read them through the same
export path as real answers. Customers answer in two waves, the other audiences in the
latest one. Simulated straight-liners carry the app's ``too_fast`` flag, and a handful of
responses the ``honeypot`` flag, so the data-quality panel has something to show.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

import questionnaires as qn
from questionnaires.simulate import simulate
from surveyapp import models as m
from surveyapp.reports.build import AUDIENCE_INSTRUMENT

__all__ = ["seed_gap_study", "store_frame"]

DEMO_WAVES = ("2026-Q1", "2026-Q2")
DEMO_SIZES = {"customer": 600, "manager": 40, "staff": 120, "audit": 60}


def _stamp(value: Any) -> datetime:
    ts = pd.Timestamp(value)
    ts = ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)
    return ts.to_pydatetime()  # type: ignore[no-any-return]


def store_frame(
    s: Session,
    survey: m.Survey,
    frame: pd.DataFrame,
    *,
    flags: dict[str, dict[str, bool]] | None = None,
) -> int:
    """Store the rows of a tidy frame (the export format of ``survey``'s instrument) as
    completed responses with ``source="simulated"``; returns the number stored."""
    q = survey.questionnaire()
    kinds: dict[str, str] = {}
    for item in q.items:
        for col in item.columns():
            kinds[col] = "text" if item.type in ("single_choice", "text") else "num"
    flags = flags or {}
    responses = []
    for row in frame[list(qn.META_COLUMNS)].itertuples(index=False):
        rid = str(row.response_id)
        suspect = dict(flags.get(rid, {}))
        if bool(row.suspect) and not suspect:
            suspect = {"too_fast": True}
        responses.append(
            {
                "response_id": rid,
                "survey_id": survey.id,
                "status": "complete",
                "language": str(row.language),
                "started_at": _stamp(row.started_at),
                "updated_at": _stamp(row.submitted_at),
                "submitted_at": _stamp(row.submitted_at),
                "page_reached": len(q.pages),
                "segments": {},
                "suspect": suspect,
                "quarantined": False,
                "source": "simulated",
            }
        )
    s.execute(insert(m.Response), responses)
    pks = dict(
        s.execute(
            select(m.Response.response_id, m.Response.id).where(m.Response.survey_id == survey.id)
        ).all()
    )
    answers = []
    ids = frame["response_id"].astype(str).to_numpy()
    for col, kind in kinds.items():
        if col not in frame.columns:
            continue
        values = frame[col]
        present = values.notna().to_numpy(bool)
        if kind == "num":
            nums = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            for rid, v in zip(ids[present], nums[present], strict=True):
                answers.append({"response_pk": pks[rid], "column": col, "num": float(v)})
        else:
            texts = values.astype(object).to_numpy()
            for rid, v in zip(ids[present], texts[present], strict=True):
                answers.append({"response_pk": pks[rid], "column": col, "text": str(v)})
    for start in range(0, len(answers), 20_000):
        s.execute(insert(m.Answer), answers[start : start + 20_000])
    return len(responses)


def seed_gap_study(
    s: Session,
    *,
    seed: int = 7,
    sizes: dict[str, int] | None = None,
    waves: tuple[str, ...] = DEMO_WAVES,
    slug: str = "demo-gap",
) -> m.Study:
    """Create the study ``slug`` with linked surveys and simulated answers (in ``s``'s
    transaction); an existing study of that slug is returned unchanged."""
    from surveyapp.survey import create_survey

    found = s.scalar(select(m.Study).where(m.Study.slug == slug))
    if found is not None:
        return found  # type: ignore[no-any-return]
    sizes = {**DEMO_SIZES, **(sizes or {})}
    study = m.Study(
        slug=slug,
        name="演示：服务质量差距研究 / Demo: service-quality gap study",
        description="Simulated customers, managers, staff and a service audit (manyi demo).",
    )
    s.add(study)
    s.flush()
    for k, wave in enumerate(waves):
        latest = k == len(waves) - 1
        for audience, instrument in AUDIENCE_INSTRUMENT.items():
            if audience != "customer" and not latest:
                continue
            q = qn.builtin(instrument)
            survey = create_survey(
                s,
                q,
                slug=f"{slug}-{audience}-{wave}".lower(),
                wave=wave,
                study=study,
                status="closed",
            )
            # a later wave improves a little: another seed, a stronger perception
            sim = simulate(q, sizes[audience], seed=seed + k, survey=survey.slug, wave=wave)
            frame = sim.data
            flags: dict[str, dict[str, bool]] = {}
            if audience == "customer":
                n_honey = max(1, math.ceil(len(frame) * 0.005))
                for rid in frame["response_id"].iloc[:n_honey].astype(str):
                    flags[rid] = {"honeypot": True}
            store_frame(s, survey, frame, flags=flags)
    return study
