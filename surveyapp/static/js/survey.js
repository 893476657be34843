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

  // -- display conditions: the language of questionnaires/conditions.py, same rules ------
  var TOKEN = /\s*(?:(\$\{([A-Za-z_][A-Za-z0-9_]*)\})|(-?\d+(?:\.\d+)?)|('[^'\\]*'|"[^"\\]*")|(<=|>=|!=|=|<|>)|([(),])|([A-Za-z_]+))/y;
  var FUNCTIONS = ["selected", "answered", "unanswered", "param"];

  function tokens(text) {
    var out = [], pos = 0;
    while (pos < text.length) {
      if (text.slice(pos).trim() === "") { break; }
      TOKEN.lastIndex = pos;
      var m = TOKEN.exec(text);
      if (!m) { throw new Error("unexpected text at " + pos); }
      if (m[1]) { out.push(["ref", m[2]]); }
      else if (m[3]) { out.push(["num", parseFloat(m[3])]); }
      else if (m[4]) { out.push(["str", m[4].slice(1, -1)]); }
      else if (m[5]) { out.push(["op", m[5]]); }
      else if (m[6]) { out.push([m[6], m[6]]); }
      else { out.push(["word", m[7]]); }
      pos = TOKEN.lastIndex;
    }
    out.push(["end", null]);
    return out;
  }

  function parse(text) {
    var toks = tokens(text), i = 0;
    function peek() { return toks[i]; }
    function take(kind) {
      if (toks[i][0] !== kind) { throw new Error("expected " + kind); }
      return toks[i++];
    }
    function word(w) {
      if (toks[i][0] === "word" && toks[i][1] === w) { i++; return true; }
      return false;
    }
    function expr() {
      var left = conj();
      while (word("or")) { left = ["or", left, conj()]; }
      return left;
    }
    function conj() {
      var left = neg();
      while (word("and")) { left = ["and", left, neg()]; }
      return left;
    }
    function neg() { return word("not") ? ["not", neg()] : comparison(); }
    function comparison() {
      var left = operand();
      if (peek()[0] === "op") { var op = take("op")[1]; return ["cmp", op, left, operand()]; }
      return left;
    }
    function operand() {
      var t = peek();
      if (t[0] === "num" || t[0] === "str" || t[0] === "ref") { i++; return [t[0], t[1]]; }
      if (t[0] === "(") { i++; var inner = expr(); take(")"); return inner; }
      if (t[0] === "word" && FUNCTIONS.indexOf(t[1]) >= 0) {
        i++; take("(");
        var node;
        if (t[1] === "param") { node = ["param", take("str")[1]]; }
        else {
          var ref = ["ref", take("ref")[1]];
          if (t[1] === "selected") { take(","); node = ["selected", ref, take("str")[1]]; }
          else { node = [t[1], ref]; }
        }
        take(")");
        return node;
      }
      throw new Error("expected an operand");
    }
    var tree = expr();
    take("end");
    return tree;
  }

  function has(obj, k) {
    return Object.prototype.hasOwnProperty.call(obj, k) && obj[k] !== null && obj[k] !== undefined;
  }
  function truth(v) {
    if (v === null || v === undefined) { return false; }
    if (typeof v === "boolean") { return v; }
    if (typeof v === "string") { return v !== ""; }
    return v !== 0;
  }
  function value(node, answers, params) {
    if (node[0] === "num" || node[0] === "str") { return node[1]; }
    if (node[0] === "ref") { return has(answers, node[1]) ? answers[node[1]] : null; }
    if (node[0] === "param") { return has(params, node[1]) ? String(params[node[1]]) : null; }
    return truth(evaluate(node, answers, params)) ? 1 : 0;
  }
  function compare(op, a, b) {
    if (a === null || b === null || (typeof a === "string") !== (typeof b === "string")) {
      return false;
    }
    if (typeof a === "string") {
      return op === "=" ? a === b : op === "!=" ? a !== b : false;
    }
    switch (op) {
      case "=": return a === b;
      case "!=": return a !== b;
      case "<": return a < b;
      case "<=": return a <= b;
      case ">": return a > b;
      default: return a >= b;
    }
  }
  function evaluate(node, answers, params) {
    switch (node[0]) {
      case "or": return truth(evaluate(node[1], answers, params)) || truth(evaluate(node[2], answers, params));
      case "and": return truth(evaluate(node[1], answers, params)) && truth(evaluate(node[2], answers, params));
      case "not": return !truth(evaluate(node[1], answers, params));
      case "cmp": return compare(node[1], value(node[2], answers, params), value(node[3], answers, params));
      case "answered": return has(answers, node[1][1]);
      case "unanswered": return !has(answers, node[1][1]);
      case "selected":
        var single = has(answers, node[1][1]) ? answers[node[1][1]] : null;
        if (typeof single === "string") { return single === node[2]; }
        var key = node[1][1] + "_" + node[2];
        return has(answers, key) && typeof answers[key] !== "string" && answers[key] === 1;
      default: return value(node, answers, params);
    }
  }
  window.manyiConditions = {
    holds: function (text, answers, params) { return truth(evaluate(parse(text), answers, params || {})); }
  };

  function itemValues(item) {
    // column -> value of an item's fields, as the server would store them
    var out = {};
    item.querySelectorAll("input, textarea").forEach(function (el) {
      if (!el.name || el.name.indexOf("a-") !== 0) { return; }
      var col = el.name.slice(2);
      if (el.type === "radio") {
        if (el.checked) { out[col] = el.closest(".points") ? parseFloat(el.value) : el.value; }
      } else if (el.type === "checkbox") {
        out[col] = el.checked ? 1 : 0;
      } else if (el.tagName === "TEXTAREA") {
        if (el.value.trim()) { out[col] = el.value.trim(); }
      } else if (el.value.trim() && isFinite(Number(el.value.trim()))) {
        out[col] = Number(el.value.trim());
      }
    });
    return out;
  }

  function applyConditions(form) {
    if (!form.dataset.answers) { return; }
    var answers = JSON.parse(form.dataset.answers);
    var params = JSON.parse(form.dataset.params || "{}");
    form.querySelectorAll(".item").forEach(function (item) {
      var text = item.getAttribute("data-relevant");
      var shown = !text || window.manyiConditions.holds(text, answers, params);
      item.hidden = !shown;
      item.querySelectorAll("input, textarea").forEach(function (el) { el.disabled = !shown; });
      if (shown) {
        var vals = itemValues(item);
        Object.keys(vals).forEach(function (k) { answers[k] = vals[k]; });
      }
    });
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
      form.addEventListener("change", function () { applyConditions(form); });
      form.addEventListener("input", function () { applyConditions(form); });
      applyConditions(form);
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
