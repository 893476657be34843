// manyi respondent pages: progressive enhancement only (the server checks everything and
// stays the judge). Live totals of constant-sum (allocation) items with what remains;
// the required-answer and total checks before Next/Submit, with the same error summary
// the server renders; focus on the error summary; the copy button of a resume code.
(function () {
  "use strict";

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(values, k) ? String(values[k]) : m;
    });
  }

  // -- allocation totals ------------------------------------------------------------------
  function allocationState(fieldset) {
    var total = parseInt(fieldset.getAttribute("data-total"), 10) || 100;
    var sum = 0, any = false, bad = false;
    fieldset.querySelectorAll(".allocation__input").forEach(function (el) {
      var v = el.value.trim();
      if (v === "") { return; }
      any = true;
      if (!/^\d+$/.test(v)) { bad = true; return; }
      sum += parseInt(v, 10);
    });
    return { total: total, sum: sum, any: any, bad: bad };
  }

  function updateAllocation(fieldset) {
    var st = allocationState(fieldset);
    var out = fieldset.querySelector(".allocation__sum");
    var line = fieldset.querySelector(".allocation__total");
    var rest = fieldset.querySelector(".allocation__remaining");
    if (!out || !line) { return; }
    out.textContent = st.bad ? "?" : String(st.sum);
    line.classList.toggle("is-ok", st.any && !st.bad && st.sum === st.total);
    line.classList.toggle("is-off", st.any && (st.bad || st.sum !== st.total));
    if (rest) {
      var text = "";
      if (st.any && !st.bad) {
        if (st.sum < st.total) {
          text = fill(rest.getAttribute("data-left"), { n: st.total - st.sum });
        } else if (st.sum > st.total) {
          text = fill(rest.getAttribute("data-over"), { n: st.sum - st.total });
        } else {
          text = rest.getAttribute("data-done");
        }
      }
      rest.textContent = text ? "(" + text + ")" : "";
    }
  }

  // -- checks before Next / Submit ----------------------------------------------------------
  function groupsOf(item) {
    // each answer group of an item: a radio name, or the item's check boxes, or its fields
    var names = [];
    item.querySelectorAll("input[type=radio]").forEach(function (el) {
      if (names.indexOf(el.name) < 0) { names.push(el.name); }
    });
    return names;
  }

  function firstInput(item, name) {
    return item.querySelector(name ? 'input[name="' + name + '"]' : "input, textarea");
  }

  function itemLabel(item) {
    var legend = item.querySelector(".item__text");
    if (!legend) { return ""; }
    var copy = legend.cloneNode(true);
    copy.querySelectorAll(".item__number, .required, .sr-only").forEach(function (el) {
      el.remove();
    });
    var text = copy.textContent.trim();
    return text.length > 60 ? text.slice(0, 57) + "..." : text;
  }

  function roleLabel(text) {  // as the server names a role: no trailing colon or ellipsis
    return text.trim().replace(/[\s:：…]+$/, "");
  }

  function problemsOf(form, item) {
    var msgs = [];
    var required = item.getAttribute("data-required") === "true";
    if (item.classList.contains("item--allocation")) {
      var st = allocationState(item);
      if (!st.any) {
        if (required) { msgs.push([form.dataset.msgRequired, firstInput(item)]); }
      } else if (!st.bad && st.sum !== st.total) {
        msgs.push([fill(form.dataset.msgTotal, st), firstInput(item)]);
      }
      return msgs;
    }
    if (!required) { return msgs; }
    var boxes = item.querySelectorAll("input[type=checkbox]");
    if (boxes.length) {
      var ticked = Array.prototype.some.call(boxes, function (b) { return b.checked; });
      if (!ticked) { msgs.push([form.dataset.msgChoose, boxes[0]]); }
      return msgs;
    }
    var names = groupsOf(item);
    if (names.length) {
      names.forEach(function (name) {
        if (!item.querySelector('input[name="' + name + '"]:checked')) {
          var input = firstInput(item, name);
          var role = input.closest("fieldset.role");
          var roleName = role ? roleLabel(role.querySelector(".role__name").textContent) + ": " : "";
          msgs.push([roleName + form.dataset.msgRequired, input]);
        }
      });
      return msgs;
    }
    var field = item.querySelector("input[type=text], textarea");
    if (field && !field.value.trim()) { msgs.push([form.dataset.msgRequired, field]); }
    return msgs;
  }

  function showSummary(form, found) {
    var old = document.getElementById("error-summary");
    if (old) { old.remove(); }
    var box = document.createElement("div");
    box.className = "error-summary";
    box.id = "error-summary";
    box.setAttribute("role", "alert");
    box.setAttribute("tabindex", "-1");
    var h = document.createElement("h2");
    h.className = "error-summary__title";
    h.textContent = form.dataset.msgTitle;
    box.appendChild(h);
    var ul = document.createElement("ul");
    ul.className = "error-summary__list";
    found.forEach(function (f) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "#" + f.input.id;
      a.textContent = f.number + " " + f.label + " – " + f.message;
      li.appendChild(a);
      ul.appendChild(li);
      f.item.classList.add("item--error");
    });
    box.appendChild(ul);
    form.parentNode.insertBefore(box, form);
    box.focus();
  }

  function checkForm(form, event) {
    var action = event.submitter ? event.submitter.value : "next";
    if (action !== "next" && action !== "submit") { return; }
    var found = [];
    form.querySelectorAll(".item").forEach(function (item) {
      if (item.hidden) { return; }
      problemsOf(form, item).forEach(function (p) {
        var num = item.querySelector(".item__number");
        found.push({
          item: item, message: p[0], input: p[1],
          number: num ? num.textContent.trim() : "", label: itemLabel(item)
        });
      });
    });
    if (found.length) {
      event.preventDefault();
      showSummary(form, found);
    }
  }

  // -- links in the error summary: focus the field, not only scroll ------------------------
  function followSummaryLink(event) {
    var a = event.target.closest(".error-summary a");
    if (!a) { return; }
    var target = document.getElementById(a.getAttribute("href").slice(1));
    if (!target) { return; }
    event.preventDefault();
    var holder = target.closest(".item") || target;
    holder.scrollIntoView({ block: "start" });
    target.focus({ preventScroll: true });
  }

  function copyButton(btn) {
    var src = document.getElementById(btn.getAttribute("data-copy"));
    if (!src || !navigator.clipboard) { return; }
    btn.hidden = false;
    btn.addEventListener("click", function () {
      navigator.clipboard.writeText(src.textContent.trim()).then(function () {
        btn.textContent = btn.getAttribute("data-copied");
      });
    });
  }

  function init() {
    document.querySelectorAll("fieldset.item--allocation").forEach(function (fs) {
      fs.addEventListener("input", function () { updateAllocation(fs); });
      updateAllocation(fs);
    });
    var form = document.getElementById("page-form");
    if (form) {
      form.addEventListener("submit", function (event) { checkForm(form, event); });
    }
    document.addEventListener("click", followSummaryLink);
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
    document.querySelectorAll("[data-copy]").forEach(copyButton);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
