// manyi respondent pages: progressive enhancement only (the server checks everything).
// Live totals of constant-sum (allocation) items.
(function () {
  "use strict";
  function update(fieldset) {
    var total = parseInt(fieldset.getAttribute("data-total"), 10) || 100;
    var inputs = fieldset.querySelectorAll(".allocation__input");
    var sum = 0, any = false, bad = false;
    inputs.forEach(function (el) {
      var v = el.value.trim();
      if (v === "") { return; }
      any = true;
      if (!/^\d+$/.test(v)) { bad = true; return; }
      sum += parseInt(v, 10);
    });
    var out = fieldset.querySelector(".allocation__sum");
    var line = fieldset.querySelector(".allocation__total");
    if (!out || !line) { return; }
    out.textContent = bad ? "?" : String(sum);
    line.classList.toggle("is-ok", any && !bad && sum === total);
    line.classList.toggle("is-off", any && (bad || sum !== total));
  }
  function init() {
    document.querySelectorAll("fieldset.item--allocation").forEach(function (fs) {
      fs.addEventListener("input", function () { update(fs); });
      update(fs);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
