// The practice exam of course/exam.md: questions from the bank the site's hooks write
// (assets/generated/exam-bank.json, from graders/exam), asked as multiple choice or DOMC, scored per domain,
// then a review of each question missed. The rules are graders/exam/session.py's; the tests drive this page.
(function () {
  "use strict";

  function escapeHtml(text) {
    return text.replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  // The bank's text is markdown-light: ```fenced``` blocks and `code`, nothing else.
  function render(text) {
    return text.split(/```[a-z]*\n?/).map(function (part, i) {
      if (i % 2 === 1) {
        return "<pre><code>" + escapeHtml(part.replace(/\n$/, "")) + "</code></pre>";
      }
      return escapeHtml(part).replace(/`([^`]+)`/g, "<code>$1</code>").replace(/\n/g, "<br>");
    }).join("");
  }

  function shuffled(items) {
    var copy = items.slice();
    for (var i = copy.length - 1; i > 0; i--) {
      var j = Math.floor(Math.random() * (i + 1));
      var t = copy[i]; copy[i] = copy[j]; copy[j] = t;
    }
    return copy;
  }

  function el(tag, attrs, html) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (html !== undefined) { node.innerHTML = html; }
    return node;
  }

  function Exam(root, bank) {
    this.root = root;
    this.bank = bank;
    this.titles = {};
    var self = this;
    bank.domains.forEach(function (d) { self.titles[d.id] = d.title; });
    this.menu();
  }

  Exam.prototype.menu = function () {
    var self = this;
    this.stopTimer();
    this.root.innerHTML = "";
    var form = el("form", {"class": "mastery-exam-menu"});
    var domains = "<option value=''>Every domain</option>" + this.bank.domains.map(function (d) {
      return "<option value='" + d.id + "'>" + escapeHtml(d.title) + " (" + d.weight + "%)</option>";
    }).join("");
    form.innerHTML =
      "<p><label>Domain <select name='domain'>" + domains + "</select></label> " +
      "<label>Questions <input name='count' type='number' min='1' max='100' value='10'></label> " +
      "<label>Mode <select name='mode'><option value='domc'>DOMC</option><option value='mc'>Multiple choice</option></select></label></p>" +
      "<p><button type='submit' class='md-button md-button--primary' data-action='practice'>Practise</button> " +
      "<button type='button' class='md-button' data-action='mock'>Mock exam: " + this.bank.mock.questions +
      " questions, " + this.bank.mock.minutes + " minutes</button></p>" +
      "<p>" + this.bank.questions.length + " questions in the bank.</p>";
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var pool = self.bank.questions.filter(function (q) { return !form.domain.value || q.domain === form.domain.value; });
      var count = Math.max(1, Math.min(parseInt(form.count.value, 10) || 10, pool.length));
      self.start(shuffled(pool).slice(0, count).map(function (q) { return {q: q, mode: form.mode.value}; }), null);
    });
    form.querySelector("[data-action=mock]").addEventListener("click", function () { self.start(self.mockDraw(), self.bank.mock.minutes); });
    this.root.appendChild(form);
  };

  Exam.prototype.mockDraw = function () {
    var self = this, drawn = [];
    Object.keys(this.bank.mock.counts).forEach(function (domain) {
      var pool = self.bank.questions.filter(function (q) { return q.domain === domain; });
      drawn = drawn.concat(shuffled(pool).slice(0, self.bank.mock.counts[domain]));
    });
    drawn = shuffled(drawn);
    var asMc = shuffled(drawn.map(function (_, i) { return i; })).slice(0, this.bank.mock.mc);
    return drawn.map(function (q, i) { return {q: q, mode: asMc.indexOf(i) >= 0 ? "mc" : "domc"}; });
  };

  Exam.prototype.start = function (items, minutes) {
    this.items = items.map(function (item) {
      return {q: item.q, mode: item.mode, order: shuffled(item.q.options.map(function (_, i) { return i; })),
              said: [], choice: null, result: "unanswered"};
    });
    this.index = 0;
    this.deadline = minutes ? Date.now() + minutes * 60000 : null;
    this.timedOut = false;
    this.startTimer();
    this.show();
  };

  Exam.prototype.startTimer = function () {
    var self = this;
    this.stopTimer();
    if (!this.deadline) { return; }
    this.timer = setInterval(function () {
      var left = Math.max(0, self.deadline - Date.now());
      var clock = self.root.querySelector(".mastery-exam-clock");
      if (clock) { clock.textContent = Math.floor(left / 60000) + ":" + ("0" + Math.floor(left / 1000) % 60).slice(-2) + " left"; }
      if (left === 0) { self.timedOut = true; self.finish(); }
    }, 1000);
  };

  Exam.prototype.stopTimer = function () {
    if (this.timer) { clearInterval(this.timer); this.timer = null; }
  };

  Exam.prototype.show = function () {
    if (this.index >= this.items.length) { this.finish(); return; }
    var self = this, item = this.items[this.index], q = item.q;
    this.root.innerHTML = "";
    var box = el("div", {"class": "mastery-exam-question", "data-question": q.id, "data-mode": item.mode});
    box.appendChild(el("p", {"class": "mastery-exam-progress"}, "Question " + (this.index + 1) + " of " +
      this.items.length + " &middot; " + escapeHtml(this.titles[q.domain]) + " &middot; " +
      (item.mode === "mc" ? "multiple choice" : "DOMC") + (this.deadline ? " &middot; <span class='mastery-exam-clock'></span>" : "")));
    box.appendChild(el("div", {"class": "mastery-exam-stem"}, render(q.question)));
    if (item.mode === "mc") {
      item.order.forEach(function (optionIndex) {
        var button = el("button", {"type": "button", "class": "md-button mastery-exam-option", "data-option": String(optionIndex)},
                        render(q.options[optionIndex].answer));
        button.addEventListener("click", function () { self.answerMc(optionIndex); });
        box.appendChild(el("p")).appendChild(button);
      });
    } else {
      var optionIndex = item.order[item.said.length];
      box.appendChild(el("div", {"class": "mastery-exam-option", "data-option": String(optionIndex)}, render(q.options[optionIndex].answer)));
      var row = el("p");
      [["yes", "Yes, this is correct"], ["no", "No"]].forEach(function (pair) {
        var button = el("button", {"type": "button", "class": "md-button", "data-answer": pair[0]}, pair[1]);
        button.addEventListener("click", function () { self.answerDomc(pair[0] === "yes"); });
        row.appendChild(button);
        row.appendChild(document.createTextNode(" "));
      });
      box.appendChild(row);
    }
    this.root.appendChild(box);
  };

  Exam.prototype.answerMc = function (optionIndex) {
    var item = this.items[this.index];
    item.choice = optionIndex;
    item.result = item.q.options[optionIndex].correct ? "right" : "wrong";
    this.index += 1;
    this.show();
  };

  Exam.prototype.answerDomc = function (yes) {
    var item = this.items[this.index];
    var correct = item.q.options[item.order[item.said.length]].correct;
    item.said.push(yes);
    if (yes !== correct) { item.result = "wrong"; } else if (yes) { item.result = "right"; }
    if (item.result !== "unanswered") { this.index += 1; }
    this.show();
  };

  Exam.prototype.finish = function () {
    var self = this;
    this.stopTimer();
    var right = this.items.filter(function (i) { return i.result === "right"; }).length;
    var total = this.items.length;
    this.root.innerHTML = "";
    var result = el("div", {"class": "mastery-exam-result"});
    result.appendChild(el("p", {"class": "mastery-exam-score"}, "<strong>Score: " + right + " of " + total + " right, " +
      Math.round(100 * right / total) + "%</strong>" + (this.timedOut ? " (time ran out: unanswered questions count as not right)" : "")));
    var rows = this.bank.domains.map(function (d) {
      var mine = self.items.filter(function (i) { return i.q.domain === d.id; });
      if (!mine.length) { return ""; }
      var ok = mine.filter(function (i) { return i.result === "right"; }).length;
      return "<tr data-domain='" + d.id + "'><td>" + escapeHtml(d.title) + "</td><td>" + ok + " / " + mine.length +
        "</td><td>" + Math.round(100 * ok / mine.length) + "%</td></tr>";
    }).join("");
    result.appendChild(el("table", {"class": "mastery-exam-domains"}, "<thead><tr><th>Domain</th><th>Right</th><th>Score</th></tr></thead><tbody>" + rows + "</tbody>"));
    var missed = this.items.filter(function (i) { return i.result !== "right"; });
    if (missed.length) {
      result.appendChild(el("h2", {}, "Review: " + missed.length + " question(s) to read again"));
      missed.forEach(function (item) {
        var q = item.q, rightOption = q.options.filter(function (o) { return o.correct; })[0];
        var said = item.mode === "mc"
          ? (item.choice === null ? [] : [q.options[item.choice]])
          : item.said.map(function (yes, k) { return {answer: (yes ? "yes: " : "no: ") + q.options[item.order[k]].answer, why: "", correct: true}; });
        var wrongTaken = item.mode === "mc" ? (item.choice !== null && !q.options[item.choice].correct ? q.options[item.choice] : null)
          : (item.said.length && item.said[item.said.length - 1] && !q.options[item.order[item.said.length - 1]].correct
            ? q.options[item.order[item.said.length - 1]] : null);
        var html = "<div class='mastery-exam-stem'>" + render(q.question) + "</div>" +
          "<p>" + (said.length ? "You said: " + said.map(function (o) { return render(o.answer); }).join(" | ") : "Not answered.") + "</p>" +
          (wrongTaken ? "<p>Why not: " + render(wrongTaken.why) + "</p>" : "") +
          "<p><strong>Right answer:</strong> " + render(rightOption.answer) + "</p>" +
          "<p>Why: " + render(rightOption.why) + "</p>" +
          "<p><a href='" + escapeHtml(q.lesson) + "'>Read the lesson section</a></p>";
        result.appendChild(el("div", {"class": "mastery-exam-review admonition", "data-question": q.id}, html));
      });
    }
    var again = el("button", {"type": "button", "class": "md-button md-button--primary"}, "Another round");
    again.addEventListener("click", function () { self.menu(); });
    result.appendChild(el("p")).appendChild(again);
    this.root.appendChild(result);
  };

  function boot() {
    var root = document.getElementById("mastery-exam");
    if (!root || root.getAttribute("data-started")) { return; }
    root.setAttribute("data-started", "1");
    fetch(root.getAttribute("data-bank")).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(function (bank) { new Exam(root, bank); }).catch(function (error) {
      root.innerHTML = "<p>The questions could not be loaded (" + escapeHtml(String(error)) +
        "). Opened from a file? Serve the site instead: <code>make course</code> or <code>mkdocs serve</code>.</p>";
    });
  }

  // Material's instant navigation replaces the page without a load event: document$ announces each page.
  if (window.document$ && window.document$.subscribe) { window.document$.subscribe(boot); }
  else { document.addEventListener("DOMContentLoaded", boot); }
})();
