"""Charts of the report: figure specs (plain dicts), each with a table alternative, drawn
as inline SVG on the server.

A chart is ``{"id", "title", "figure": {"data": [...], "layout": {...}}, "table":
{"columns": [...], "rows": [[...]]}, "svg", "svg_narrow"}``. The figure is the one
specification of the chart, written in Plotly's figure vocabulary (traces with ``x``,
``y``, ``error_y``, ``measure``; a layout with axes, ``shapes`` and ``annotations``) though
no Plotly is involved: :func:`figure_svg` draws it, twice -- :data:`SVG_WIDTH` wide for
desktops, the downloadable report and the PDF, and :data:`NARROW_WIDTH` wide for phones
(``reports.css`` shows the one that fits). Both scale to their box (``viewBox``, width
100 %), carry ``role="img"`` with the chart's title and a description, and the same
table is rendered under the chart for screen readers and anyone who prefers numbers.
No JavaScript draws anything, so every page keeps its strict CSP.
"""

from __future__ import annotations

import html
import math
from typing import Any

__all__ = ["all_charts", "figure_svg", "five_gap_charts"]

COLORS = {
    "up": "#2e7d32",
    "down": "#c62828",
    "total": "#1565c0",
    "promotion": "#6a1b9a",
    "e": "#757575",
    "p": "#1565c0",
}


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
    # the CSI model's map in SmartPLS's convention: points of satisfaction per point
    if ipa.get("convention") == "unstandardized":
        labels = {**labels, "importance": labels["importance_unstandardized"]}
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
    # a waterfall of E alone (customers only) shows nothing: the cards give P - E
    out = [waterfall(d, labels) for d in fg["dimensions"] if len(d["waterfall"]) > 1]
    if fg["contributors"]:
        out.append(contributors_chart(fg, labels))
    return out


def all_charts(
    report: dict[str, Any], labels: dict[str, str], names: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """Section -> charts of a full report (:func:`surveyapp.reports.build.full_report`),
    each drawn as SVG for a wide page (``"svg"``) and for a phone (``"svg_narrow"``)."""
    out = _charts(report, labels, names)
    for section in out.values():
        for c in section:
            draw(c)
    return out


def draw(chart: dict[str, Any]) -> dict[str, Any]:
    """``chart`` with its two drawings (wide and phone-wide) added; returns it."""
    desc = "; ".join(", ".join(str(cell) for cell in row) for row in chart["table"]["rows"])
    chart["svg"] = figure_svg(chart["figure"], desc=desc)
    chart["svg_narrow"] = figure_svg(
        chart["figure"], width=NARROW_WIDTH, height=NARROW_HEIGHT, desc=desc
    )
    return chart


def _charts(
    report: dict[str, Any], labels: dict[str, str], names: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
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


# ---------------------------------------------------------------------------- static SVG
#: colours of traces that name none (Plotly's first ones)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
#: size of a chart for a wide page, the downloadable report and the PDF
SVG_WIDTH, SVG_HEIGHT = 640, 300
#: size of a chart for a phone (reports.css shows it below 600 px); a drawing narrower
#: than NARROW_BELOW is a phone's
NARROW_WIDTH, NARROW_HEIGHT, NARROW_BELOW = 360, 380, 480
FONTS = "Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif"


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else [0.0]
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + k * step, 10) for k in range(int((hi - first) / step + 1e-9) + 1)]


def _esc(v: Any) -> str:
    return html.escape(str(v))


def _errors(trace: dict[str, Any], axis: str, k: int) -> tuple[float, float]:
    err = trace.get(f"error_{axis}") or {}
    up = (err.get("array") or [0.0] * (k + 1))[k] or 0.0
    down = (err.get("arrayminus") or err.get("array") or [0.0] * (k + 1))[k] or 0.0
    return float(up), float(down)


def _text_width(text: str, size: float) -> float:
    """Estimated width in px of ``text`` at font size ``size`` (CJK characters are full
    width, others about 0.6 of the size)."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


def _clip(text: str, room: float, size: float) -> str:
    """``text``, shortened with an ellipsis when it is wider than ``room`` px."""
    if _text_width(text, size) <= room:
        return text
    out = ""
    for ch in text:
        if _text_width(out + ch + "…", size) > room:
            break
        out += ch
    return out + "…"


def _fit(text: str, room: float, size: float, smallest: float = 8.0) -> str:
    """The ``font-size`` attribute that fits ``text`` in ``room`` px (down to ``smallest``,
    then :func:`_clip` shortens it)."""
    fitted = min(size, room / max(_text_width(text, 1.0), 1e-9))
    return f'font-size="{max(fitted, smallest):.1f}"'


def _open(width: int, height: int, title: str, desc: str) -> list[str]:
    """The start of a chart's SVG: an image with its accessible name (the title) and
    description (the values, as the table under it gives them), the title drawn on top."""
    variant = "narrow" if width < NARROW_BELOW else "wide"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{_esc(title)}" '
        f'class="chart-svg chart-svg--{variant}" font-family="{FONTS}">',
        f"<title>{_esc(title)}</title>",
    ]
    if desc:
        out.append(f"<desc>{_esc(desc)}</desc>")
    out.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>')
    if title:
        size = min(13.0, (width - 12) / max(_text_width(title, 1.0), 1.0))
        out.append(
            f'<text x="{width / 2:.0f}" y="18" font-size="{size:.1f}" text-anchor="middle" '
            f'font-weight="600">{_esc(title)}</text>'
        )
    return out


def _transposed(fig: dict[str, Any]) -> dict[str, Any]:
    """``fig`` with its category axis turned upright (categories down the left side, in
    reading order): how a phone-wide chart keeps long category names readable."""
    data = []
    for t in fig.get("data", []):
        u = {k: v for k, v in t.items() if k not in ("x", "y", "error_x", "error_y")}
        u["y"], u["x"] = list(t.get("x", []))[::-1], list(t.get("y", []))[::-1]
        if t.get("error_y"):
            err = dict(t["error_y"])
            for key in ("array", "arrayminus"):
                if err.get(key) is not None:
                    err[key] = list(err[key])[::-1]
            u["error_x"] = err
        u["orientation"] = "h"  # bars and markers alike: figure_svg's horizontal layout
        if isinstance((t.get("marker") or {}).get("color"), list):
            u["marker"] = {**t["marker"], "color": t["marker"]["color"][::-1]}
        if isinstance(t.get("text"), list):
            u["text"] = t["text"][::-1]
        data.append(u)
    layout = dict(fig.get("layout", {}))
    layout["xaxis"], layout["yaxis"] = layout.get("yaxis") or {}, layout.get("xaxis") or {}
    return {"data": data, "layout": layout}


def figure_svg(
    fig: dict[str, Any], *, width: int = SVG_WIDTH, height: int = SVG_HEIGHT, desc: str = ""
) -> str:
    """A chart's figure spec drawn as static SVG (no script): bars (vertical, horizontal,
    grouped), markers and lines with error bars and text, waterfalls (with the
    promotion gap on its own labelled axis), dotted reference lines (``shapes``), corner
    notes (``annotations``), a legend of named traces.

    Every page, the downloadable report and the PDF draw their charts with this, from
    the specs above. Below :data:`NARROW_BELOW` px a chart whose category names would
    not fit under it is drawn with its categories down the left side instead.
    """
    if any(t.get("type") == "waterfall" for t in fig.get("data", [])):
        return _waterfall_svg(fig, width, height, desc)
    data = [t for t in fig.get("data", []) if t.get("type") in ("bar", "scatter")]
    horizontal = any(t.get("orientation") == "h" for t in data)
    numeric_x = not horizontal and all(
        all(isinstance(v, int | float) for v in t.get("x", [])) for t in data
    )
    if width < NARROW_BELOW and not horizontal and not numeric_x:
        names = {str(c) for t in data for c in t.get("x", [])}
        if max((_text_width(c, 10) for c in names), default=0) > 48:
            fig = _transposed(fig)
            return figure_svg(fig, width=width, height=height, desc=desc)
    layout = fig.get("layout", {})
    cat_key, val_key = ("y", "x") if horizontal else ("x", "y")
    cats: list[str] = []
    if not numeric_x:
        for t in data:
            for c in t.get(cat_key, []):
                if str(c) not in cats:
                    cats.append(str(c))
    values: list[float] = []
    for t in data:
        for k, v in enumerate(t.get(val_key, [])):
            if v is None:
                continue
            up, down = _errors(t, val_key, k)
            values += [float(v) + up, float(v) - down]
    if any(t.get("type") == "bar" for t in data):
        values.append(0.0)
    if not values:
        return ""
    lo, hi = min(values), max(values)
    # corner notes (the map's quadrant names) get a band of their own above and below
    pad = (hi - lo) * (0.2 if layout.get("annotations") else 0.08) or 0.5
    lo, hi = lo - (pad if lo < 0 or lo != 0 else 0), hi + pad
    axis = layout.get("xaxis" if horizontal else "yaxis") or {}
    if isinstance(axis.get("range"), list):
        lo, hi = axis["range"]
    reverse = axis.get("autorange") == "reversed"
    named = [t for t in data if t.get("name")]
    # the legend: named traces, in rows that fit the width
    legend: list[tuple[float, int, dict[str, Any]]] = []
    lx, row = 8.0, 0
    for t in named:
        w = 18 + _text_width(str(t["name"]), 10)
        if lx + w > width - 8 and lx > 8:
            lx, row = 8.0, row + 1
        legend.append((lx, row, t))
        lx += w + 10
    legend_h = 16 * (row + 1) if named else 0
    longest = max((_text_width(c, 10) for c in cats), default=0)
    if horizontal:
        left = int(min(16 + longest, width * 0.42 if width < NARROW_BELOW else 220))
        bottom = 30
    else:
        left = 56
        bottom = 40 if numeric_x else int(min(24 + 0.55 * longest, height * 0.35))
    bottom += legend_h + (16 if (layout.get("xaxis") or {}).get("title") else 0)
    top, right = 30, 16
    pw, ph = width - left - right, height - top - bottom

    def vpos(v: float) -> float:  # value -> pixel along the value axis
        frac = (v - lo) / (hi - lo) if hi != lo else 0.5
        if reverse:
            frac = 1 - frac
        return left + frac * pw if horizontal else top + (1 - frac) * ph

    xs = [float(v) for t in data for v in t.get("x", []) if v is not None] if numeric_x else []
    x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    x_pad = (x_hi - x_lo) * 0.1 or 1.0
    x_lo, x_hi = x_lo - x_pad, x_hi + x_pad

    def xpos_num(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * pw

    band = (ph if horizontal else pw) / max(len(cats), 1)

    def cpos(c: str) -> float:  # category -> pixel centre (upright: the first at the bottom)
        k = cats.index(c)
        return (top + ph - (k + 0.5) * band) if horizontal else (left + (k + 0.5) * band)

    title = (layout.get("title") or {}).get("text", "")
    out = _open(width, height, title, desc)
    for tick in _nice_ticks(min(lo, hi), max(lo, hi)):
        p = vpos(tick)
        if horizontal:
            out.append(
                f'<line x1="{p:.1f}" y1="{top}" x2="{p:.1f}" y2="{top + ph}" stroke="#eee"/>'
            )
            out.append(
                f'<text x="{p:.1f}" y="{top + ph + 14}" font-size="10" '
                f'text-anchor="middle">{tick:g}</text>'
            )
        else:
            out.append(
                f'<line x1="{left}" y1="{p:.1f}" x2="{left + pw}" y2="{p:.1f}" stroke="#eee"/>'
            )
            out.append(
                f'<text x="{left - 6}" y="{p + 3:.1f}" font-size="10" '
                f'text-anchor="end">{tick:g}</text>'
            )
    if lo < 0 < hi:
        z = vpos(0.0)
        out.append(
            f'<line x1="{z:.1f}" y1="{top}" x2="{z:.1f}" y2="{top + ph}" stroke="#777"/>'
            if horizontal
            else f'<line x1="{left}" y1="{z:.1f}" x2="{left + pw}" y2="{z:.1f}" stroke="#777"/>'
        )
    if numeric_x:
        for tick in _nice_ticks(x_lo, x_hi):
            p = xpos_num(tick)
            out.append(
                f'<text x="{p:.1f}" y="{top + ph + 14}" font-size="10" '
                f'text-anchor="middle">{tick:g}</text>'
            )
    else:
        for c in cats:
            p = cpos(c)
            if horizontal:
                label = _esc(_clip(c, left - 10, 10))
                out.append(
                    f'<text x="{left - 6}" y="{p + 3:.1f}" font-size="10" '
                    f'text-anchor="end">{label}</text>'
                )
            else:
                # rotated 30 degrees: the room is what the bottom margin and the left edge give
                room = min((bottom - legend_h - 20) / 0.5, (p - 4) / 0.87)
                label = _esc(_clip(c, room, 10))
                out.append(
                    f'<text x="{p:.1f}" y="{top + ph + 12}" font-size="10" text-anchor="end" '
                    f'transform="rotate(-30 {p:.1f} {top + ph + 12})">{label}</text>'
                )
    for name in ("xaxis", "yaxis"):
        text = ((layout.get(name) or {}).get("title") or {}).get("text")
        if not text:
            continue
        if name == "xaxis":
            out.append(
                f'<text x="{left + pw / 2:.0f}" y="{height - 4 - legend_h}" '
                f'font-size="11" text-anchor="middle">{_esc(_clip(text, pw, 11))}</text>'
            )
        elif not horizontal:
            out.append(
                f'<text x="12" y="{top + ph / 2:.0f}" font-size="11" text-anchor="middle" '
                f'transform="rotate(-90 12 {top + ph / 2:.0f})">{_esc(_clip(text, ph, 11))}</text>'
            )
    bars = [t for t in data if t.get("type") == "bar"]
    for n_t, t in enumerate(data):
        color = (t.get("marker") or {}).get("color", PALETTE[n_t % len(PALETTE)])
        colors = color if isinstance(color, list) else None
        line_color = colors[0] if colors else color
        texts = t.get("text") or []
        points = []
        for k, (c, v) in enumerate(zip(t.get(cat_key, []), t.get(val_key, []), strict=False)):
            if v is None:
                continue
            fill = colors[k] if colors else color
            if t["type"] == "bar":
                slot = bars.index(t)
                width_b = band * 0.7 / len(bars)
                start = cpos(str(c)) - band * 0.35 + slot * width_b
                a, b = vpos(0.0 if lo <= 0 <= hi else lo), vpos(float(v))
                if horizontal:
                    out.append(
                        f'<rect x="{min(a, b):.1f}" y="{start:.1f}" width="{abs(b - a):.1f}" '
                        f'height="{width_b:.1f}" fill="{fill}"/>'
                    )
                else:
                    out.append(
                        f'<rect x="{start:.1f}" y="{min(a, b):.1f}" width="{width_b:.1f}" '
                        f'height="{abs(b - a):.1f}" fill="{fill}"/>'
                    )
                mid_c, end_v = start + width_b / 2, b
            else:
                mid_c = xpos_num(float(c)) if numeric_x else cpos(str(c))
                end_v = vpos(float(v))
                cx, cy = (end_v, mid_c) if horizontal else (mid_c, end_v)
                points.append((cx, cy))
                out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4.5" fill="{fill}"/>')
            up, down = _errors(t, val_key, k)
            if up or down:
                p1, p2 = vpos(float(v) + up), vpos(float(v) - down)
                out.append(
                    f'<line x1="{p1:.1f}" y1="{mid_c:.1f}" x2="{p2:.1f}" y2="{mid_c:.1f}" '
                    'stroke="#333"/>'
                    if horizontal
                    else f'<line x1="{mid_c:.1f}" y1="{p1:.1f}" x2="{mid_c:.1f}" y2="{p2:.1f}" '
                    'stroke="#333"/>'
                )
            if k < len(texts) and texts[k] not in (None, ""):
                tx, ty = (end_v + 6, mid_c + 3) if horizontal else (mid_c, end_v - 7)
                anchor = "start" if horizontal else "middle"
                out.append(
                    f'<text x="{tx:.1f}" y="{ty:.1f}" font-size="10" '
                    f'text-anchor="{anchor}">{_esc(texts[k])}</text>'
                )
        if t["type"] == "scatter" and "lines" in t.get("mode", "") and len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{line_color}" stroke-width="2"/>'
            )
    for shape in layout.get("shapes", []):
        if shape.get("xref") == "x" and numeric_x:
            p = xpos_num(float(shape["x0"]))
            out.append(
                f'<line x1="{p:.1f}" y1="{top}" x2="{p:.1f}" y2="{top + ph}" '
                'stroke="#999" stroke-dasharray="3 3"/>'
            )
        elif shape.get("yref") == "y":
            p = vpos(float(shape["y0"]))
            out.append(
                f'<line x1="{left}" y1="{p:.1f}" x2="{left + pw}" y2="{p:.1f}" '
                'stroke="#999" stroke-dasharray="3 3"/>'
            )
    for note in layout.get("annotations", []):
        x = left + 4 + float(note["x"]) * (pw - 8)
        y = top + (1 - float(note["y"])) * ph + (12 if float(note["y"]) > 0.5 else -4)
        anchor = "start" if note.get("xanchor") == "left" else "end"
        out.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="10" fill="#555" font-style="italic" '
            f'text-anchor="{anchor}">{_esc(_clip(note["text"], pw / 2 - 8, 10))}</text>'
        )
    for lx, row, t in legend:
        color = (t.get("marker") or {}).get("color", PALETTE[data.index(t) % len(PALETTE)])
        color = color[0] if isinstance(color, list) else color
        ly = height - legend_h + 16 * row
        out.append(f'<rect x="{lx:.0f}" y="{ly + 2}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{lx + 14:.0f}" y="{ly + 11}" font-size="10">{_esc(t["name"])}</text>')
    out.append("</svg>")
    return "".join(out)


def _waterfall_svg(fig: dict[str, Any], width: int, height: int, desc: str) -> str:
    """The waterfall spec (:func:`waterfall`) drawn: E as a bar, each gap a step up or down
    from the running level, P as the total, on the left axis (mean rating); the
    promotion gap beside them on its own axis around zero, drawn on the right in its
    colour and named by its title."""
    layout = fig.get("layout", {})
    steps = next(t for t in fig["data"] if t.get("type") == "waterfall")
    promo = next((t for t in fig["data"] if t.get("yaxis") == "y2"), None)
    names = [str(x) for x in steps.get("x", [])]
    rows = []  # (start, end, text); start None: a bar from the axis (E, P)
    level = 0.0
    for y, kind, text in zip(
        steps.get("y", []), steps.get("measure", []), steps.get("text", []), strict=False
    ):
        if kind == "absolute":
            start, level = None, float(y or 0.0)
        elif kind == "total":
            start = None
        else:
            start = level
            level += float(y or 0.0)
        rows.append((start, level, text))
    if not rows:
        return ""
    y_axis = layout.get("yaxis") or {}
    lo, hi = y_axis.get("range") or (0.0, max(r[1] for r in rows) * 1.2 or 1.0)
    y2 = layout.get("yaxis2") or {}
    p_lo, p_hi = y2.get("range") or (-1.0, 1.0)
    labels = names + ([str(promo["x"][0])] if promo else [])
    longest = max(_text_width(s, 10) for s in labels)
    right = 56 if promo else 16
    first = _text_width(labels[0], 10) * 0.87 - (width - 56 - right) / len(labels) / 2
    left = int(max(56.0, min(first + 8, width * 0.2)))
    top, bottom = 30, int(min(24 + 0.55 * longest, height * 0.35))
    pw, ph = width - left - right, height - top - bottom
    band = pw / len(labels)

    def ypos(v: float) -> float:
        return top + (hi - v) / (hi - lo) * ph if hi != lo else top + ph / 2

    def y2pos(v: float) -> float:
        return top + (p_hi - v) / (p_hi - p_lo) * ph if p_hi != p_lo else top + ph / 2

    title = (layout.get("title") or {}).get("text", "")
    out = _open(width, height, title, desc)
    for tick in _nice_ticks(lo, hi):
        p = ypos(tick)
        out.append(f'<line x1="{left}" y1="{p:.1f}" x2="{left + pw}" y2="{p:.1f}" stroke="#eee"/>')
        out.append(
            f'<text x="{left - 6}" y="{p + 3:.1f}" font-size="10" text-anchor="end">{tick:g}</text>'
        )
    axis_title = (y_axis.get("title") or {}).get("text")
    if axis_title:
        mid = f"{top + ph / 2:.0f}"
        out.append(
            f'<text x="12" y="{mid}" {_fit(axis_title, ph, 11)} text-anchor="middle" '
            f'transform="rotate(-90 12 {mid})">{_esc(_clip(axis_title, ph, 8))}</text>'
        )
    for k, (start, end, text) in enumerate(rows):
        if start is None:
            a, b, color = lo, end, COLORS["total"]
        else:
            a, b = start, end
            color = COLORS["up"] if end >= start else COLORS["down"]
        x = left + k * band + band * 0.15
        y0, y1 = ypos(max(a, b)), ypos(min(a, b))
        out.append(
            f'<rect x="{x:.1f}" y="{y0:.1f}" width="{band * 0.7:.1f}" '
            f'height="{max(y1 - y0, 1):.1f}" fill="{color}"/>'
        )
        if k + 1 < len(rows):  # the connector to the next step
            out.append(
                f'<line x1="{x + band * 0.7:.1f}" y1="{ypos(end):.1f}" x2="{x + band:.1f}" '
                f'y2="{ypos(end):.1f}" stroke="#9e9e9e"/>'
            )
        out.append(
            f'<text x="{x + band * 0.35:.1f}" y="{y0 - 4:.1f}" font-size="10" '
            f'text-anchor="middle">{_esc(text)}</text>'
        )
    if promo:
        x0 = left + len(rows) * band
        color = COLORS["promotion"]
        out.append(
            f'<line x1="{x0:.1f}" y1="{top}" x2="{x0:.1f}" y2="{top + ph}" stroke="#bbb" '
            'stroke-dasharray="4 3"/>'
        )
        z = y2pos(0.0)
        out.append(
            f'<line x1="{x0:.1f}" y1="{z:.1f}" x2="{left + pw}" y2="{z:.1f}" stroke="{color}"/>'
        )
        v = float(promo["y"][0] or 0.0)
        b = y2pos(v)
        x = x0 + band * 0.15
        out.append(
            f'<rect x="{x:.1f}" y="{min(z, b):.1f}" width="{band * 0.7:.1f}" '
            f'height="{max(abs(b - z), 1):.1f}" fill="{color}"/>'
        )
        text = (promo.get("text") or [""])[0]
        ty = min(z, b) - 4 if v >= 0 else max(z, b) + 12
        out.append(
            f'<text x="{x + band * 0.35:.1f}" y="{ty:.1f}" font-size="10" '
            f'text-anchor="middle" fill="{color}">{_esc(text)}</text>'
        )
        for tick in _nice_ticks(p_lo, p_hi, 4):
            p = y2pos(tick)
            out.append(
                f'<text x="{left + pw + 4}" y="{p + 3:.1f}" font-size="10" '
                f'fill="{color}">{tick:g}</text>'
            )
        title2 = (y2.get("title") or {}).get("text")
        if title2:
            cx = width - 8
            mid = f"{top + ph / 2:.0f}"
            out.append(
                f'<text x="{cx}" y="{mid}" {_fit(title2, ph, 11)} text-anchor="middle" '
                f'fill="{color}" transform="rotate(90 {cx} {mid})">'
                f"{_esc(_clip(title2, ph, 8))}</text>"
            )
    for k, name in enumerate(labels):
        p = left + (k + 0.5) * band
        room = min((bottom - 20) / 0.5, (p - 4) / 0.87)
        out.append(
            f'<text x="{p:.1f}" y="{top + ph + 12}" font-size="10" text-anchor="end" '
            f'transform="rotate(-30 {p:.1f} {top + ph + 12})">{_esc(_clip(name, room, 10))}</text>'
        )
    out.append("</svg>")
    return "".join(out)
