"""Demo data for the reports: linked manager, staff and audit surveys of a gap study.

The five-gap dashboard needs more than the customer survey: managers (M, S and the causes
of the understanding and procedure gaps), contact staff (D, C and the causes of the
behaviour and promotion gaps) and a service audit (D, C). :func:`add_linked_audiences`
adds those surveys to a customer survey's study and wave, with responses simulated by
:func:`questionnaires.simulate.simulate` with the *same seed* as the customer data, so
all audiences describe one world (the simulation draws each dimension's levels from the
seed and the dimension id). ``manyi demo`` calls it for its demo survey.
:func:`seed_gap_study` builds a complete study (two customer waves plus the linked
audiences) for tests and benchmarks. Responses are stored through
:func:`surveyapp.services.responses.import_frame`, i.e. validated like web posts, one
transaction per survey; a few customer responses get the ``honeypot`` flag so the
data-quality panel has every kind of suspect to show.
"""

from __future__ import annotations

from sqlalchemy import select, update

import questionnaires as qn
from questionnaires.simulate import simulate
from surveyapp import models as m
from surveyapp.db import Database
from surveyapp.reports.build import AUDIENCE_INSTRUMENT
from surveyapp.services.responses import import_frame
from surveyapp.services.surveys import create_survey

__all__ = ["add_linked_audiences", "seed_gap_study"]

DEMO_WAVES = ("2026-Q1", "2026-Q2")
DEMO_SIZES = {"customer": 600, "manager": 40, "staff": 120, "audit": 60}
HONEYPOT_SHARE = 0.005


def _import(db: Database, survey_id: int, n: int, seed: int) -> list[str]:
    """Simulate ``n`` responses to the survey's instrument and store them; their ids."""
    with db.sessions() as s:
        survey = s.get(m.Survey, survey_id)
        assert survey is not None  # created by the caller
        q = survey.questionnaire()  # loads the snapshot while the session is open
    data = simulate(q, n, seed=seed, survey=survey.slug, wave=survey.wave or "demo").data
    import_frame(db, survey, data, source="simulated")
    return [str(r) for r in data["response_id"]]


def _mark_honeypots(db: Database, response_ids: list[str]) -> None:
    k = max(1, round(len(response_ids) * HONEYPOT_SHARE))
    with db.write() as s:
        s.execute(
            update(m.Response)
            .where(m.Response.response_id.in_(response_ids[:k]))
            .values(suspect={"honeypot": True})
        )


def add_linked_audiences(
    db: Database,
    customer_survey_id: int,
    *,
    seed: int,
    sizes: dict[str, int] | None = None,
) -> list[int]:
    """Add manager, staff and audit surveys with simulated answers to the study and wave of
    a customer survey (those already there are kept); returns the new surveys' ids."""
    sizes = {**DEMO_SIZES, **(sizes or {})}
    created: list[tuple[int, str]] = []
    with db.write() as s:
        customer = s.get(m.Survey, customer_survey_id)
        if customer is None or customer.study_id is None:
            msg = f"survey {customer_survey_id} is not part of a study; link it to one first."
            raise ValueError(msg)
        have = set(
            s.scalars(
                select(m.Survey.audience).where(
                    m.Survey.study_id == customer.study_id, m.Survey.wave == customer.wave
                )
            )
        )
        for audience, instrument in AUDIENCE_INSTRUMENT.items():
            if audience in have:
                continue
            sv = create_survey(
                s,
                qn.builtin(instrument),
                slug=f"{customer.slug}-{audience}"[:64],
                wave=customer.wave,
                study=customer.study,
                status="closed",
            )
            created.append((sv.id, audience))
    for survey_id, audience in created:
        _import(db, survey_id, sizes[audience], seed)
    return [i for i, _ in created]


def seed_gap_study(
    db: Database,
    *,
    seed: int = 7,
    sizes: dict[str, int] | None = None,
    waves: tuple[str, ...] = DEMO_WAVES,
    slug: str = "demo-gap",
) -> int:
    """A study ``slug`` with a customer survey per wave (the later one with another seed)
    and the linked audiences in the latest wave; returns the study id (created once)."""
    sizes = {**DEMO_SIZES, **(sizes or {})}
    with db.write() as s:
        found = s.scalar(select(m.Study).where(m.Study.slug == slug))
        if found is not None:
            return int(found.id)
        study = m.Study(
            slug=slug,
            name="演示：服务质量差距研究 / Demo: service-quality gap study",
            description="Simulated customers, managers, staff and a service audit.",
        )
        s.add(study)
        s.flush()
        q = qn.builtin(AUDIENCE_INSTRUMENT["customer"])
        ids = [
            create_survey(s, q, slug=f"{slug}-{w}".lower(), wave=w, study=study, status="closed").id
            for w in waves
        ]
        study_id = int(study.id)
    for k, survey_id in enumerate(ids):
        rids = _import(db, survey_id, sizes["customer"], seed + k)
        _mark_honeypots(db, rids)
    add_linked_audiences(db, ids[-1], seed=seed + len(ids) - 1, sizes=sizes)
    return study_id
