/* productbreaks: the audience's questions and reactions (issue 15), on live.js's socket.
 *
 * Snapshots, as everywhere: questions.updated carries the whole board with a version (this
 * script keeps the highest), reactions.updated the meter. On a phone the list is rebuilt from
 * the snapshot (text only, never HTML), sorted by votes or by time as the person chose; the
 * projector shows the pinned question and the meter. The console re-reads its own panel
 * (rooms.js, data-refresh-on). Asking, upvoting and tapping go over the socket when it is open
 * (question.ask, question.upvote, reaction.tap), else through htmx, else as plain forms.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-live]");
  if (!root) return;

  var ACK_TIMEOUT = 5000;
  var board = null, boardVersion = 0, meterVersion = 0;
  var upvoted = {}, sortBy = "votes", refCounter = 0;
  var pending = {};  // ref -> {form, kind, timer}

  function all(selector, scope) { return Array.prototype.slice.call((scope || document).querySelectorAll(selector)); }
  function live() { return window.productbreaksLive; }
  function send(message) { var l = live(); return !!(l && l.send(message)); }

  // ------------------------------------------------------------------ messages

  root.addEventListener("live:message", function (event) {
    var message = event.detail || {};
    var handler = handlers[message.type];
    if (handler) handler(message);
  });

  var handlers = {
    "questions.updated": function (message) {
      if (message.version < boardVersion) return;
      boardVersion = message.version;
      board = message;
      renderList();
      renderPinned();
    },
    "questions.synced": function (message) {
      upvoted = {};
      (message.upvoted || []).forEach(function (id) { upvoted[id] = true; });
      renderList();
    },
    "question.acknowledged": function (message) {
      var p = settle(message.ref);
      if (!p) return;
      if (p.kind === "ask") {
        p.form.reset();
        var list = document.querySelector("[data-question-list]");
        status(p.form, message.status === "pending" && list ? list.getAttribute("data-label-waiting") : p.form.getAttribute("data-label-sent") || "", false);
      } else {
        if (message.upvoted) upvoted[message.question] = true; else delete upvoted[message.question];
        renderList();
      }
    },
    "question.refused": function (message) {
      var p = settle(message.ref);
      if (p) status(p.form, message.reason, true);
    },
    "reactions.updated": function (message) {
      if (message.version < meterVersion) return;
      meterVersion = message.version;
      renderMeter(message);
    }
  };

  function settle(ref) {
    var p = pending[ref];
    if (!p) return null;
    clearTimeout(p.timer);
    delete pending[ref];
    if (p.form) p.form.removeAttribute("aria-busy");
    return p;
  }

  function status(form, text, isError) {
    var section = form.closest("#questions") || document;
    var el = section.querySelector("[data-question-status]");
    if (!el) return;
    el.textContent = text || "";
    el.classList.toggle("error", !!isError);
  }

  // ------------------------------------------------------------------ the phone's list

  function sorted(questions) {
    var copy = questions.slice();
    copy.sort(sortBy === "time"
      ? function (a, b) { return a.at < b.at ? 1 : a.at > b.at ? -1 : b.id - a.id; }
      : function (a, b) { return b.upvotes - a.upvotes || (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id - b.id); });
    return copy;
  }

  function csrfToken() {
    var input = document.querySelector("#questions input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function item(list, q, attendee) {
    var li = document.createElement("li");
    li.className = "question-item" + (q.answered ? " answered" : "") + (q.pinned ? " pinned" : "");
    li.id = "question-" + q.id;
    li.setAttribute("data-question", q.id);
    var text = document.createElement("p");
    text.className = "question-text";
    text.textContent = q.text;
    li.appendChild(text);
    var meta = document.createElement("p");
    meta.className = "muted small";
    meta.textContent = q.name || list.getAttribute("data-label-anonymous");
    [[q.answered, "data-label-answered"], [q.pinned, "data-label-pinned"]].forEach(function (flag) {
      if (!flag[0]) return;
      meta.appendChild(document.createTextNode(" · "));
      var strong = document.createElement("strong");
      strong.textContent = list.getAttribute(flag[1]);
      meta.appendChild(strong);
    });
    li.appendChild(meta);
    var count = document.createElement("span");
    count.setAttribute("data-upvote-count", "");
    count.textContent = q.upvotes;
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = " " + list.getAttribute("data-label-upvotes");
    if (!attendee) {
      var plain = document.createElement("p");
      plain.className = "small";
      plain.appendChild(document.createTextNode("▲ "));
      plain.appendChild(count);
      plain.appendChild(hidden);
      li.appendChild(plain);
      return li;
    }
    var url = list.getAttribute("data-upvote-url").replace(/\/0\/upvote\/$/, "/" + q.id + "/upvote/");
    var form = document.createElement("form");
    form.method = "post";
    form.action = url;
    form.className = "inline";
    form.setAttribute("data-upvote-form", q.id);
    form.setAttribute("data-hx-post", url);
    form.setAttribute("data-hx-target", "#questions");
    [["csrfmiddlewaretoken", csrfToken()], ["up", upvoted[q.id] ? "0" : "1"]].forEach(function (pair) {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = pair[0]; input.value = pair[1];
      form.appendChild(input);
    });
    var button = document.createElement("button");
    button.type = "submit";
    button.className = "secondary upvote";
    button.setAttribute("aria-pressed", upvoted[q.id] ? "true" : "false");
    button.appendChild(document.createTextNode("▲ "));
    button.appendChild(count);
    button.appendChild(hidden);
    form.appendChild(button);
    li.appendChild(form);
    return li;
  }

  function renderList() {
    var list = document.querySelector("#questions [data-question-list]");
    if (!list || !board) return;
    var attendee = !!document.querySelector("#questions [data-question-form]");
    var active = document.activeElement, refocus = null;
    if (active && list.contains(active)) {
      var holder = active.closest("[data-question]");
      if (holder) refocus = holder.getAttribute("data-question");
    }
    list.textContent = "";
    var shown = (board.questions || []).filter(function (q) { return !q.status || q.status === "visible"; });
    if (!shown.length) {
      var empty = document.createElement("li");
      empty.className = "muted";
      empty.setAttribute("data-question-empty", "");
      empty.textContent = list.getAttribute("data-label-empty");
      list.appendChild(empty);
    }
    sorted(shown).forEach(function (q) { list.appendChild(item(list, q, attendee)); });
    if (window.htmx) window.htmx.process(list);
    all("[data-question-sort]").forEach(function (el) { el.hidden = false; });
    if (refocus) {
      var again = list.querySelector('[data-question="' + refocus + '"] button');
      if (again) again.focus();
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-question-sort] [data-sort]");
    if (!button) return;
    sortBy = button.getAttribute("data-sort");
    all("[data-question-sort] [data-sort]").forEach(function (b) {
      b.setAttribute("aria-pressed", b === button ? "true" : "false");
    });
    renderList();
  });

  // A list htmx just swapped in (no socket, or the first load) is older than a snapshot held.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "questions" && board) renderList();
  });
  // A refused question (400, 403, 429) comes back as the section with the reason in it:
  // swap it in like a success, so the reason shows where the person is looking.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var target = event.detail.target;
    if (status >= 400 && status < 500 && target && target.id === "questions") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // ------------------------------------------------------------------ the projector

  function renderPinned() {
    var box = document.querySelector("[data-pinned-question]");
    if (!box || !board) return;
    var pinned = board.pinned;
    box.hidden = !pinned;
    if (!pinned) return;
    box.querySelector("[data-pinned-text]").textContent = pinned.text;
    var name = box.querySelector("[data-pinned-name]");
    name.textContent = pinned.name || name.getAttribute("data-label-anonymous");
  }

  function renderMeter(message) {
    var meter = document.querySelector("[data-reaction-meter]");
    if (!meter) return;
    var recent = message.recent || {}, totals = message.totals || {};
    var kinds = Object.keys(recent), most = 0, any = false;
    kinds.forEach(function (k) { most = Math.max(most, recent[k] || 0); if (totals[k]) any = true; });
    meter.hidden = !any;
    kinds.forEach(function (k) {
      var fill = meter.querySelector('[data-meter-fill="' + k + '"]');
      var figure = meter.querySelector('[data-meter-figure="' + k + '"]');
      var pct = most ? Math.round(100 * (recent[k] || 0) / most) : 0;
      if (fill) { fill.className = "tally-fill reaction-fill " + k; fill.style.width = pct + "%"; }
      if (figure) figure.textContent = recent[k] || 0;
    });
  }

  // ------------------------------------------------------------------ sending

  function track(ref, form, kind) {
    form.setAttribute("aria-busy", "true");
    pending[ref] = {
      form: form, kind: kind,
      timer: setTimeout(function () {
        // No answer: the socket is gone or slow. Say so; the person can send it again.
        if (settle(ref)) status(form, form.getAttribute("data-label-retry") || "…", true);
      }, ACK_TIMEOUT)
    };
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.closest) return;
    var ref = "q" + (++refCounter) + "-" + Date.now().toString(36), message = null, kind = "";
    if (form.hasAttribute("data-reaction-form")) {
      var button = event.submitter;
      if (!button || button.name !== "reaction") return;
      message = { type: "reaction.tap", reaction: button.value };
      // A tap is never answered: a short flash says it was sent.
      button.classList.add("tapped");
      setTimeout(function () { button.classList.remove("tapped"); }, 600);
    } else if (form.hasAttribute("data-question-form")) {
      var text = form.querySelector("[name=text]"), name = form.querySelector("[name=name]");
      message = { type: "question.ask", text: text ? text.value : "", name: name ? name.value : "", ref: ref };
      kind = "ask";
    } else if (form.hasAttribute("data-upvote-form")) {
      var up = form.querySelector("[name=up]");
      message = { type: "question.upvote", question: parseInt(form.getAttribute("data-upvote-form"), 10), up: !up || up.value !== "0", ref: ref };
      kind = "upvote";
    } else {
      return;
    }
    if (!send(message)) return;  // no socket: htmx (or the plain form) takes it
    event.preventDefault();
    event.stopPropagation();  // capture phase: htmx never sees it
    if (kind) track(ref, form, kind);
  }, true);
})();
