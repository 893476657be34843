/* manyi reports: submit filters on change, poll a running scoring run and a PDF being
   prepared. Charts are inline SVG drawn by the server: nothing to draw here. No inline
   scripts anywhere (the CSP forbids them): pages put their data in data-* attributes. */
(function () {
  "use strict";

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

  function init() { autoSubmit(); pollRun(); pollPdf(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else { init(); }
})();
