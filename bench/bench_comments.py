"""Benchmark: the comments of a study's waves (issue 17), segmented once.

Data: ``questionnaires.simulate`` of servqual22, ``--waves`` waves of ``--rows`` responses
each (its ``comment`` item: about one response in five comments, Chinese and English),
each comment made distinct (``bench_report_pages.distinct_comments``: real comments are
nearly all different, the simulated ones a dozen texts).
Compared in the same run, interleaved (``bench_fuzzy_pca.interleaved``), each the best of
``--repeat``, plus the median of the paired ratios:

- *one wave*: the comments section as it was before it covered the study -- one wave's
  comments, summarised for the item and again for each segment level and wave, each
  subset segmented anew (``read`` of ``tokenized``, no memory);
- *study*: ``build.comments_view`` over every wave (each comment segmented once,
  ``scoring.text.read_texts``, then counted per subset).

The study starts from an empty memory of texts read (``read_text.cache_clear()``): the
cost of a process that has not read these comments before (a later build reads only the new
ones; that is measured by ``bench_report_pages.py``).

    python bench/bench_comments.py [--rows 25000] [--waves 4] [--repeat 3]

Goal: the study's comments (``--waves`` times the data) within 1.5 x one wave's before.
"""

from __future__ import annotations

import argparse

import pandas as pd
from bench_fuzzy_pca import interleaved, machine  # the script directory is on sys.path
from bench_report_pages import distinct_comments

import questionnaires as qn
from questionnaires.simulate import simulate
from scoring.text import read, read_text, readings_summary, tokenized
from surveyapp.reports import build


def anew(texts: pd.Series, top: int) -> None:
    """A summary of ``texts`` segmented anew (no memory of texts read)."""
    readings_summary([read(c) for c in tokenized(texts)], top=top)


def one_wave_before(q: qn.Questionnaire, data: pd.DataFrame) -> None:
    """The work of the section before: every subset segmented anew."""
    texts = data["comment"].astype("string")
    anew(texts, top=build.TOP_TERMS)
    for seg in q.segments:
        for c in seg.choices:
            anew(texts.loc[data[seg.id].astype("string").eq(c.code).fillna(False)], top=5)
    anew(texts, top=5)  # its one wave


def study_now(q: qn.Questionnaire, study: pd.DataFrame) -> None:
    """The section now, in a process that has read none of these comments."""
    read_text.cache_clear()
    build.comments_view(q, study, language="zh-Hans")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=25_000)
    ap.add_argument("--waves", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    q = qn.builtin("servqual22")
    frames = [
        distinct_comments(
            simulate(q, args.rows, seed=k, survey=f"w{k}", wave=f"2026-Q{k + 1}").data, f"w{k}"
        )
        for k in range(args.waves)
    ]
    study = pd.concat(frames, ignore_index=True)
    one = frames[-1]
    n_comments = int(study["comment"].notna().sum())
    print(machine())
    print(f"{args.waves} waves x {args.rows:,} responses, {n_comments:,} comments in all")
    best_study, best_one, ratio = interleaved(
        lambda: study_now(q, study),
        lambda: one_wave_before(q, one),
        args.repeat,
    )
    print(f"one wave (before): {best_one:.2f} s   study (now): {best_study:.2f} s")
    print(f"median ratio study / one wave: {ratio:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
