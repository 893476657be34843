"""Charts of the report: Plotly figure specs (plain dicts), each with a table alternative.

A chart is ``{"id", "title", "figure": {"data": [...], "layout": {...}}, "table":
{"columns": [...], "rows": [[...]]}}``. The figure is what ``Plotly.newPlot`` takes; the
page puts it in a ``<script type="application/json">`` block that ``reports.js`` reads
(no inline script, so the CSP stays strict), and the same table is rendered under the
chart for screen readers and for anyone who prefers numbers. Plotly's JavaScript is the
copy bundled with the ``plotly`` Python package (:data:`PLOTLY_JS`), served from this app
or inlined in the downloadable report -- never a CDN.

For the PDF (no JavaScript), :func:`waterfall_svg` draws the waterfall as inline SVG.
"""

from __future__ import annotations

import html
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "PLOTLY_JS",
    "plotly_css",
    "all_charts",
    "five_gap_charts",
    "plotly_js_path",
    "waterfall_svg",
]

COLORS = {
    "up": "#2e7d32",
    "down": "#c62828",
    "total": "#1565c0",
    "promotion": "#6a1b9a",
    "e": "#757575",
    "p": "#1565c0",
}


def plotly_js_path() -> Path:
    """The ``plotly.min.js`` bundled with the installed ``plotly`` package."""
    import plotly  # lazy: only the pages that draw charts need plotly (a large package)

    path = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    if not path.is_file():  # pragma: no cover - a broken plotly install
        msg = f"plotly's bundled JavaScript is missing at {path}; reinstall plotly (pip)."
        raise FileNotFoundError(msg)
    return path


PLOTLY_JS = "plotly.min.js"


def _js_string(text: str, i: int) -> tuple[str, int]:
    """The JavaScript string literal starting at ``text[i]`` and the index after it."""
    quote = text[i]
    out = []
    i += 1
    while text[i] != quote:
        if text[i] == "\\":
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out), i + 1


@lru_cache(maxsize=1)
def plotly_css() -> str:
    """Plotly's own stylesheet, as a file.

    plotly.js injects its CSS rules (modebar, hover labels, the absolutely positioned
    SVG layers) into a ``<style>`` element at run time, which a CSP without
    ``'unsafe-inline'`` styles blocks. The rules are one object literal in the bundled
    script (``src/css/plotcss.js``); this reads them from the installed copy and writes
    them with plotly's own selector substitution (``X`` -> ``.js-plotly-plot .plotly``,
    ``Y`` -> ``.plotly-notifier``), so the page links them as a same-origin stylesheet
    that always matches the script's version.
    """
    text = plotly_js_path().read_text(encoding="utf-8")
    start = text.find('"X,X div"')
    if start < 0:  # pragma: no cover - a plotly.js that ships its CSS differently
        return ""
    rules = []
    i = start
    while text[i] in "'\"":
        key, i = _js_string(text, i)
        if text[i] != ":":  # pragma: no cover - unexpected shape
            break
        value, i = _js_string(text, i + 1)
        selector = key.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        rules.append(f"{selector}{{{value}}}")
        if text[i] != ",":
            break
        i += 1
    return "\n".join(rules) + "\n"


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 15}},
        "margin": {"l": 60, "r": 20, "t": 50, "b": 90},
        "font": {"family": "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"},
        "showlegend": False,
        "autosize": True,
        "height": 380,
    }
    base.update(extra)
    return base


def waterfall(dim: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """The E -> M -> S -> D -> P waterfall of one dimension (or item), promotion beside."""
    steps = dim["waterfall"]
    x = [s["label"] for s in steps]
    measure = [s["kind"] for s in steps]
    y = [s["value"] if s["kind"] != "total" else 0 for s in steps]
    text = [_fmt(s["value"]) for s in steps]
    data: list[dict[str, Any]] = [
        {
            "type": "waterfall",
            "x": x,
            "y": y,
            "measure": measure,
            "text": text,
            "textposition": "outside",
            "increasing": {"marker": {"color": COLORS["up"]}},
            "decreasing": {"marker": {"color": COLORS["down"]}},
            "totals": {"marker": {"color": COLORS["total"]}},
            "connector": {"line": {"color": "#9e9e9e"}},
            "hovertemplate": "%{x}: %{text}<extra></extra>",
        }
    ]
    promo = dim["gaps"].get("promotion")
    rows = [[s["label"], _fmt(s["value"]), _fmt(s["total"])] for s in steps]
    if promo is not None:
        data.append(
            {
                "type": "bar",
                "x": [promo["label"] + " (D − C)"],
                "y": [promo["value"]],
                "marker": {"color": COLORS["promotion"]},
                "text": [_fmt(promo["value"])],
                "textposition": "outside",
                "hovertemplate": "%{x}: %{text}<extra></extra>",
            }
        )
        rows.append([promo["label"] + " (D − C)", _fmt(promo["value"]), ""])
    values = [s["total"] for s in steps] or [0.0]
    lo, hi = min(values), max(values)
    pad = max(hi - lo, 0.5) * 0.6
    layout = _layout(
        dim.get("label") or dim.get("item", ""),
        yaxis={
            "range": [max(lo - pad, 0), hi + pad],
            "zeroline": False,
            "title": {"text": labels["level_axis"]},
        },
        yaxis2={"overlaying": "y", "visible": False},
    )
    if promo is not None:
        # the promotion gap is a difference, drawn on its own axis around zero
        data[1]["yaxis"] = "y2"
        span = max(abs(promo["value"]) * 3, 0.5)
        layout["margin"] = {"l": 50, "r": 50, "t": 50, "b": 90}
        layout["yaxis2"] = {
            "overlaying": "y",
            "side": "right",
            "range": [-span, span],
            "zeroline": True,
            "showgrid": False,
            "title": {"text": labels["promotion_axis"], "font": {"color": COLORS["promotion"]}},
            "tickfont": {"color": COLORS["promotion"]},
        }
    return {
        "id": f"waterfall-{dim.get('dimension') or dim.get('item')}",
        "title": dim.get("label") or dim.get("text", ""),
        "figure": {"data": data, "layout": layout},
        "table": {"columns": [labels["step"], labels["value"], labels["running"]], "rows": rows},
    }


def contributors_chart(fg: dict[str, Any], labels: dict[str, str], top: int = 10) -> dict[str, Any]:
    rows = fg["contributors"][:top]
    names = [f"{r['dimension_label']} · {r['gap_label']}" for r in rows]
    return {
        "id": "contributors",
        "title": labels["contributors"],
        "figure": {
            "data": [
                {
                    "type": "bar",
                    "orientation": "h",
                    "y": names[::-1],
                    "x": [r["value"] for r in rows][::-1],
                    "marker": {
                        "color": [COLORS["down"] if r["value"] < 0 else COLORS["up"] for r in rows][
                            ::-1
                        ]
                    },
                    "error_x": {
                        "type": "data",
                        "symmetric": False,
                        "array": [_nz(r["ci_high"], r["value"]) for r in rows][::-1],
                        "arrayminus": [_nz(r["value"], r["ci_low"]) for r in rows][::-1],
                    },
                    "hovertemplate": "%{y}: %{x:.2f}<extra></extra>",
                }
            ],
            "layout": _layout(labels["contributors"], margin={"l": 200, "r": 20, "t": 50, "b": 40}),
        },
        "table": {
            "columns": [
                labels["rank"],
                labels["dimension"],
                labels["gap"],
                labels["value"],
                labels["ci"],
            ],
            "rows": [
                [
                    r["rank"],
                    r["dimension_label"],
                    r["gap_label"],
                    _fmt(r["value"]) + r["mark"],
                    f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]",
                ]
                for r in rows
            ],
        },
    }


def _nz(a: Any, b: Any) -> float:
    if a is None or b is None:
        return 0.0
    return float(a) - float(b)


def servqual_chart(view: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    dims = view["dimensions"]
    x = [d["label"] for d in dims]
    data = []
    for role, key in (("e", "expectation"), ("p", "perception")):
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": labels[key],
                "x": x,
                "y": [d[key] for d in dims],
                "marker": {"size": 11, "color": COLORS[role]},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [_nz(d.get(f"{key}_ci_high"), d[key]) for d in dims],
                    "arrayminus": [_nz(d[key], d.get(f"{key}_ci_low")) for d in dims],
                },
            }
        )
    layout = _layout(
        labels["servqual_title"], showlegend=True, legend={"orientation": "h", "y": -0.25}
    )
    return {
        "id": "servqual-ep",
        "title": labels["servqual_title"],
        "figure": {"data": data, "layout": layout},
        "table": {
            "columns": [
                labels["dimension"],
                labels["expectation"],
                labels["perception"],
                labels["gap"],
                labels["ci"],
            ],
            "rows": [
                [
                    d["label"],
                    _fmt(d["expectation"]),
                    _fmt(d["perception"]),
                    _fmt(d["gap"]),
                    f"[{_fmt(d['ci_low'])}, {_fmt(d['ci_high'])}]",
                ]
                for d in dims
            ],
        },
    }


#: quadrant of the importance-performance map -> its corner (paper coordinates)
QUADRANTS = (
    ("concentrate here", 0.01, 0.99),
    ("keep up the good work", 0.99, 0.99),
    ("low priority", 0.01, 0.01),
    ("possible overkill", 0.99, 0.01),
)


def _p(p: Any) -> str:
    """A p-value as printed in the report: ``< 0.001`` or three decimals."""
    if p is None or (isinstance(p, float) and not math.isfinite(p)):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def ipa_chart(ipa: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    rows = ipa["rows"]
    cuts = ipa["cuts"]
    data = [
        {
            "type": "scatter",
            "mode": "markers+text",
            "x": [r["performance"] for r in rows],
            "y": [r["importance"] for r in rows],
            "text": [r["label"] for r in rows],
            "textposition": "top center",
            "marker": {"size": 12, "color": COLORS["total"]},
            "hovertemplate": "%{text}: %{x:.1f}, %{y:.3f}<extra></extra>",
        }
    ]
    layout = _layout(
        labels["ipa_title"],
        xaxis={"title": {"text": labels["performance"]}},
        yaxis={"title": {"text": labels["importance"]}},
        shapes=[
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": cuts["performance"],
                "x1": cuts["performance"],
                "y0": 0,
                "y1": 1,
                "line": {"dash": "dot", "color": "#999"},
            },
            {
                "type": "line",
                "xref": "paper",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": cuts["importance"],
                "y1": cuts["importance"],
                "line": {"dash": "dot", "color": "#999"},
            },
        ],
        annotations=[
            {
                "xref": "paper",
                "yref": "paper",
                "x": x,
                "y": y,
                "xanchor": "left" if x < 0.5 else "right",
                "yanchor": "top" if y > 0.5 else "bottom",
                "text": labels["q:" + name],
                "showarrow": False,
                "font": {"size": 11, "color": "#555"},
            }
            for name, x, y in QUADRANTS
        ],
    )
    return {
        "id": "ipa",
        "title": labels["ipa_title"],
        "figure": {"data": data, "layout": layout},
        "table": {
            "columns": [
                labels["priority"],
                labels["driver"],
                labels["importance"],
                labels["performance"],
                labels["quadrant"],
            ],
            "rows": [
                [
                    r["priority"],
                    r["label"],
                    _fmt(r["importance"], 3),
                    _fmt(r["performance"], 1),
                    labels.get("q:" + r["quadrant"], r["quadrant"]),
                ]
                for r in rows
            ],
        },
    }


def waves_chart(waves: dict[str, Any], labels: dict[str, str], measure: str) -> dict[str, Any]:
    series = waves["all"]["waves"]
    name = waves["measures"].get(measure, measure)
    ok = [w for w in series if measure in w["measures"]]
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": [w["wave"] for w in ok],
            "y": [w["measures"][measure]["mean"] for w in ok],
            "error_y": {
                "type": "data",
                "symmetric": False,
                "array": [
                    _nz(w["measures"][measure]["ci_high"], w["measures"][measure]["mean"])
                    for w in ok
                ],
                "arrayminus": [
                    _nz(w["measures"][measure]["mean"], w["measures"][measure]["ci_low"])
                    for w in ok
                ],
            },
            "marker": {"size": 10, "color": COLORS["total"]},
        }
    ]
    rows = []
    for w in ok:
        st = w["measures"][measure]
        ch = (w.get("change") or {}).get(measure)
        rows.append(
            [
                w["wave"],
                st["n"],
                _fmt(st["mean"]),
                f"[{_fmt(st['ci_low'])}, {_fmt(st['ci_high'])}]",
                (_fmt(ch["diff"]) + ch["mark"]) if ch else "—",
                _p(ch["p"]) if ch else "—",
            ]
        )
    return {
        "id": f"waves-{measure}",
        "title": name,
        "figure": {"data": data, "layout": _layout(name, xaxis={"type": "category"})},
        "table": {
            "columns": [labels["wave"], "n", labels["value"], labels["ci"], labels["change"], "p"],
            "rows": rows,
        },
    }


def methods_chart(
    view: dict[str, Any], labels: dict[str, str], names: dict[str, str]
) -> dict[str, Any]:
    data = []
    for method in view["methods"]:
        rows = [r for r in view["table"] if method in r]
        data.append(
            {
                "type": "bar",
                "name": names.get(method, method),
                "x": [r["label"] for r in rows],
                "y": [r[method]["rank"] for r in rows],
            }
        )
    layout = _layout(
        labels["methods_title"],
        barmode="group",
        showlegend=True,
        legend={"orientation": "h", "y": -0.25},
        yaxis={"autorange": "reversed", "dtick": 1, "title": {"text": labels["rank"]}},
    )
    cols = [labels["dimension"], *[names.get(m, m) for m in view["methods"]]]
    rows_t = [
        [
            r["label"],
            *[
                f"{r[m]['rank']} ({_fmt(r[m]['score'])})" if m in r else "—"
                for m in view["methods"]
            ],
        ]
        for r in view["table"]
    ]
    return {
        "id": "methods",
        "title": labels["methods_title"],
        "figure": {"data": data, "layout": layout},
        "table": {"columns": cols, "rows": rows_t},
    }


def quality_chart(dq: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    counts = dq["counts"]
    return {
        "id": "quality",
        "title": labels["quality_title"],
        "figure": {
            "data": [
                {
                    "type": "bar",
                    "x": [c["label"] for c in counts],
                    "y": [c["n"] for c in counts],
                    "marker": {"color": COLORS["down"]},
                }
            ],
            "layout": _layout(labels["quality_title"]),
        },
        "table": {
            "columns": [labels["reason"], "n"],
            "rows": [[c["label"], c["n"]] for c in counts],
        },
    }


def five_gap_charts(fg: dict[str, Any], labels: dict[str, str]) -> list[dict[str, Any]]:
    out = [waterfall(d, labels) for d in fg["dimensions"] if d["waterfall"]]
    if fg["contributors"]:
        out.append(contributors_chart(fg, labels))
    return out


def all_charts(
    report: dict[str, Any], labels: dict[str, str], names: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """Section -> charts of a full report (:func:`surveyapp.reports.build.full_report`)."""
    out: dict[str, list[dict[str, Any]]] = {}
    if report.get("five_gaps"):
        out["five_gaps"] = five_gap_charts(report["five_gaps"], labels)
    if report.get("servqual"):
        out["servqual"] = [servqual_chart(report["servqual"], labels)]
    if report.get("importance_performance"):
        out["ipa"] = [ipa_chart(report["importance_performance"], labels)]
    if report.get("waves"):
        w = report["waves"]
        out["waves"] = [
            waves_chart(w, labels, m)
            for m in ("index", "servqual")
            if any(m in x["measures"] for x in w["all"]["waves"])
        ]
    if report.get("methods") and report["methods"]["methods"]:
        out["methods"] = [methods_chart(report["methods"], labels, names)]
    if report.get("data_quality"):
        out["quality"] = [quality_chart(report["data_quality"], labels)]
    return out


def waterfall_svg(dim: dict[str, Any], *, width: int = 640, height: int = 240) -> str:
    """The waterfall as inline SVG (for the PDF, which runs no JavaScript)."""
    steps = list(dim["waterfall"])
    promo = dim["gaps"].get("promotion")
    if not steps:
        return ""
    totals: list[float] = [s["total"] for s in steps]
    starts = [0.0] + totals[:-1]
    lo = min(min(totals), min(starts[1:] or totals)) - 0.3
    hi = max(totals) + 0.3
    n = len(steps) + (1 if promo else 0)
    bw = width / max(n, 1)
    top, bottom = 20, height - 60

    def ypos(v: float) -> float:
        return top + (hi - v) / (hi - lo) * (bottom - top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
    ]
    for k, s in enumerate(steps):
        if s["kind"] in ("absolute", "total"):
            y0, y1, color = ypos(s["total"]), ypos(lo), COLORS["total"]
        else:
            a, b = starts[k], s["total"]
            y0, y1 = ypos(max(a, b)), ypos(min(a, b))
            color = COLORS["up"] if b >= a else COLORS["down"]
        x = k * bw + bw * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{y0:.1f}" width="{bw * 0.7:.1f}" '
            f'height="{max(y1 - y0, 1):.1f}" fill="{color}"/>'
        )
        parts.append(
            f'<text x="{x + bw * 0.35:.1f}" y="{y0 - 4:.1f}" font-size="10" '
            f'text-anchor="middle">{html.escape(_fmt(s["value"]))}</text>'
        )
        parts.append(
            f'<text x="{x + bw * 0.35:.1f}" y="{bottom + 14:.1f}" font-size="9" '
            f'text-anchor="middle">{html.escape(s["label"][:14])}</text>'
        )
    if promo:
        x = len(steps) * bw + bw * 0.15
        mid = (top + bottom) / 2
        h = min(abs(promo["value"]) / max(hi - lo, 1e-9) * (bottom - top), (bottom - top) / 2)
        y0 = mid - h if promo["value"] >= 0 else mid
        parts.append(
            f'<rect x="{x:.1f}" y="{y0:.1f}" width="{bw * 0.7:.1f}" '
            f'height="{max(h, 1):.1f}" fill="{COLORS["promotion"]}"/>'
        )
        parts.append(
            f'<text x="{x + bw * 0.35:.1f}" y="{bottom + 14:.1f}" font-size="9" '
            f'text-anchor="middle">{html.escape(promo["label"][:14])}</text>'
        )
        parts.append(
            f'<text x="{x + bw * 0.35:.1f}" y="{y0 - 4:.1f}" font-size="10" '
            f'text-anchor="middle">{html.escape(_fmt(promo["value"]))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
