"""Reports for quality teams: stored scoring runs, dashboards and shareable reports.

- :mod:`surveyapp.reports.build` -- pure functions from frames and results to report data;
- :mod:`surveyapp.reports.runs` -- stored, reproducible scoring runs (``ScoringRun``);
- :mod:`surveyapp.reports.charts` -- chart specs drawn as inline SVG, each with a table;
- :mod:`surveyapp.reports.render` -- self-contained HTML and PDF;
- :mod:`surveyapp.reports.views` -- the ``reports`` blueprint.
"""
