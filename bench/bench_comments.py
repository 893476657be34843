"""Benchmark: the comments of a study's waves (issue 17), segmented once.

Data: ``questionnaires.simulate`` of servqual22, ``--waves`` waves of ``--rows`` responses
each (its ``comment`` item: about one response in five comments, Chinese and English).
Compared in the same run, interleaved (``bench_fuzzy_pca.interleaved``), each the best of
``--repeat``, plus the median of the paired ratios:

- *one wave*: the comments section as it was before it covered the study -- one wave's
  comments, ``scoring.text.text_summary`` for the item and again for each segment level
  and wave (each subset segmented anew);
- *study*: ``build.comments_view`` over every wave (segmented once with
  ``scoring.text.tokenized``, then counted per subset).

    python bench/bench_comments.py [--rows 25000] [--waves 4] [--repeat 3]

Goal: the study's comments (``--waves`` times the data) within 1.5 x one wave's before.
"""

from __future__ import annotations

import argparse

import pandas as pd
from bench_fuzzy_pca import interleaved, machine  # the script directory is on sys.path

import questionnaires as qn
from questionnaires.simulate import simulate
from scoring.text import text_summary
from surveyapp.reports import build


def one_wave_before(q: qn.Questionnaire, data: pd.DataFrame) -> None:
    """The work of the section before: every subset segmented anew."""
    texts = data["comment"].astype("string")
    text_summary(texts, top=build.TOP_TERMS)
    for seg in q.segments:
        for c in seg.choices:
            text_summary(texts.loc[data[seg.id].astype("string").eq(c.code).fillna(False)], top=5)
    text_summary(texts, top=5)  # its one wave


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=25_000)
    ap.add_argument("--waves", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    q = qn.builtin("servqual22")
    frames = [
        simulate(q, args.rows, seed=k, survey=f"w{k}", wave=f"2026-Q{k + 1}").data
        for k in range(args.waves)
    ]
    study = pd.concat(frames, ignore_index=True)
    one = frames[-1]
    n_comments = int(study["comment"].notna().sum())
    print(machine())
    print(f"{args.waves} waves x {args.rows:,} responses, {n_comments:,} comments in all")
    best_study, best_one, ratio = interleaved(
        lambda: build.comments_view(q, study, language="zh-Hans"),
        lambda: one_wave_before(q, one),
        args.repeat,
    )
    print(f"one wave (before): {best_one:.2f} s   study (now): {best_study:.2f} s")
    print(f"median ratio study / one wave: {ratio:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
