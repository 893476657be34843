"""Benchmark: the full report (all methods, no bootstrap) for 100,000 responses.

Data: ``questionnaires.simulate`` of servqual22 (100,000 customers) with linked manager
(400), staff (1,000) and audit (400) frames drawn with the same seed. Compared in the same
run, interleaved (scoring, report, scoring, report, ...; ``bench_fuzzy_pca.interleaved``),
each the best of ``--repeat``, plus the median of the paired ratios (each report run over
the scoring run just before it) -- the robust figure on a busy machine:

- *scoring*: every applicable method run once on the customer frame
  (``surveyapp.reports.build.run_methods``: SERVQUAL, questionnaire index, PCA, drivers,
  reliability);
- *report*: ``build.full_report`` (which runs the same methods and then builds the five
  gaps, the SERVQUAL view, fix-first, waves, methods side by side, data quality) plus
  rendering the self-contained HTML file (``render.render_html``).

Peak memory: the process's maximum resident set size at the end.

    python bench/bench_report.py [--rows 100000] [--seed 0] [--repeat 9] [--pdf]

Goal: report <= 1.5 x scoring (the report adds at most 50 %), as the median ratio.
"""

from __future__ import annotations

import argparse
import resource
import time

from bench_fuzzy_pca import interleaved, machine  # the script directory is on sys.path

import questionnaires as qn
from questionnaires.simulate import simulate
from surveyapp.reports import build, render


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--pdf", action="store_true", help="also time the PDF (not in the goal)")
    args = ap.parse_args()

    qs = {a: qn.builtin(i) for a, i in build.AUDIENCE_INSTRUMENT.items()}
    sizes = {"customer": args.rows, "manager": 400, "staff": 1000, "audit": 400}
    t0 = time.perf_counter()
    frames = {a: simulate(q, sizes[a], seed=args.seed).data for a, q in qs.items()}
    print(
        f"simulated {args.rows:,} customers (+ linked audiences) in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    print(machine())
    q, data = qs["customer"], frames["customer"]
    sources = build.GapSources(
        customer=(q, data), **{a: (qs[a], frames[a]) for a in ("manager", "staff", "audit")}
    )

    def scoring() -> object:
        return build.run_methods(q, data)

    def report() -> str:
        rep = build.full_report(
            q, data, gap_sources=sources, language="zh-Hans", wave_segment="branch"
        )
        return render.render_html(rep, language="zh-Hans")

    size = len(report())  # warm-up of both: first touches of fresh memory are not measured
    scoring()
    t_report, t_scoring, median = interleaved(report, scoring, args.repeat)
    ratio = t_report / t_scoring
    verdict = "met" if median <= 1.5 else "NOT met"
    print(f"best of {args.repeat}, interleaved (scoring, report, ...)")
    print(f"scoring alone (5 methods)      {t_scoring:8.3f} s")
    print(f"full report + HTML ({size / 1e6:.1f} MB) {t_report:8.3f} s")
    print(f"ratio of the best times        {ratio:8.2f}")
    print(f"median paired ratio            {median:8.2f}   (goal <= 1.50: {verdict})")
    if args.pdf:
        rep = build.full_report(q, data, gap_sources=sources, language="zh-Hans")
        start = time.perf_counter()
        pdf = render.render_pdf(rep, language="zh-Hans")
        print(
            f"PDF rendering alone            {time.perf_counter() - start:8.2f} s "
            f"({len(pdf) / 1e6:.1f} MB)"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS                       {peak:8.0f} MB")


if __name__ == "__main__":
    main()
