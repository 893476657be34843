/* manyi reports: draw the charts from their JSON blocks, submit filters on change, poll a
   running scoring run and a PDF being prepared. No inline scripts anywhere (the CSP forbids
   them): every page puts its data in <script type="application/json"> blocks or data-*
   attributes that this file reads. */
(function () {
  "use strict";

  function drawCharts() {
    if (typeof window.Plotly === "undefined") { return; }
    var blocks = document.querySelectorAll("script.chart-data");
    Array.prototype.forEach.call(blocks, function (block) {
      var target = document.querySelector('[data-chart="' + block.id + '"]');
      if (!target || target.getAttribute("data-drawn")) { return; }
      var fig;
      try { fig = JSON.parse(block.textContent); } catch (e) { return; }
      var narrow = window.matchMedia && window.matchMedia("(max-width: 600px)").matches;
      if (narrow && fig.layout) {
        fig.layout.height = Math.min(fig.layout.height || 380, 320);
        // a labelled right axis (the waterfall's promotion gap) keeps room for its ticks
        var right = fig.layout.yaxis2 && fig.layout.yaxis2.side === "right" ? 56 : 10;
        fig.layout.margin = { l: 52, r: right, t: 40, b: 90 };
        if (fig.layout.margin && fig.data[0] && fig.data[0].orientation === "h") {
          fig.layout.margin.l = 140;
        }
      }
      // no mode bar: its per-chart colours are inline styles, which the CSP refuses;
      // Plotly's own rules come from the linked plotly.css (id plotly.js-style-global)
      window.Plotly.newPlot(target, fig.data, fig.layout, {
        responsive: true, displaylogo: false, displayModeBar: false
      });
      target.setAttribute("data-drawn", "1");
    });
  }

  function autoSubmit() {
    var fields = document.querySelectorAll("[data-autosubmit]");
    Array.prototype.forEach.call(fields, function (field) {
      field.addEventListener("change", function () { if (field.form) { field.form.submit(); } });
    });
  }

  function pollRun() {
    var box = document.querySelector("[data-run-progress]");
    if (!box) { return; }
    var url = box.getAttribute("data-run-progress");
    var bar = box.querySelector("progress");
    var text = box.querySelector("[data-progress-text]");
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (d) {
          if (bar) { bar.value = d.progress; }
          if (text) { text.textContent = Math.round(d.progress * 100) + " %"; }
          if (d.status === "done" || d.status === "failed") { window.location.reload(); }
          else { window.setTimeout(tick, 1000); }
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    }
    window.setTimeout(tick, 1000);
  }

  function pollPdf() {
    var box = document.querySelector("[data-pdf-job]");
    if (!box) { return; }
    var url = box.getAttribute("data-pdf-job");
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (d) {
          // once: the download leaves this page in place, and a job is fetched once
          if (d.ready) { window.location.assign(box.getAttribute("data-pdf-url")); }
          else { window.setTimeout(tick, 1000); }
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    }
    window.setTimeout(tick, 1000);
  }

  function init() { drawCharts(); autoSubmit(); pollRun(); pollPdf(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else { init(); }
})();
