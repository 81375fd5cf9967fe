/* productbreaks live page: one socket, snapshots with versions, votes over the socket.
 *
 * The server is the source of truth. Every message is a snapshot: this script keeps the
 * highest version per poll (tally.updated) and the highest seq of the event state
 * (phase.changed), ignores anything older, and re-applies what it knows after any swap.
 * Votes go over the open socket (answered after commit); without a socket, or without an
 * answer in time, the same form goes through htmx, and without JavaScript it is a plain POST.
 * See debates/live.py for the server side and the team's protocol notes for the messages.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-live]");
  if (!root || !("WebSocket" in window)) return;

  var labelsNode = document.getElementById("live-labels");
  var L = labelsNode ? JSON.parse(labelsNode.textContent) : {};
  var SIDES = ["for", "against", "undecided"];
  var BACKOFF_MIN = 500, BACKOFF_MAX = 5000, ACK_TIMEOUT = 4000, ANNOUNCE_EVERY = 15000;
  // Closed for sending too many frames (debates/live.py, CLOSE_TOO_MANY_FRAMES): wait 60-120 s,
  // jittered, so a page stuck in a loop cannot hammer the server, nor a crowd of them at once.
  var CLOSE_TOO_MANY = 4429, FLOOD_BACKOFF_MIN = 60000;

  var socket = null, attempts = 0, reconnectTimer = null, pingTimer = null, stopped = false;
  var throttled = false; // closed with CLOSE_TOO_MANY: no early reconnect on wake-up or online
  var tallies = {};      // poll id -> last tally.updated applied
  var eventSeq = 0;      // highest phase.changed seq applied
  var myVotes = {};      // poll id -> side (committed, from the server)
  var pending = {};      // ref -> {poll, side, form, timer}
  var announced = {};    // poll id -> {at, state}
  var refCounter = 0;

  // Python's %-format, which gettext leaves unapplied: %(name)s, and %% for a percent sign.
  function fmt(template, values) {
    return String(template || "").replace(/%\((\w+)\)s|%%/g, function (match, key) {
      if (match === "%%") return "%";
      return values[key] === undefined ? "" : values[key];
    });
  }
  function votesText(n) { return fmt(n === 1 ? L.votes_one : L.votes_other, { n: n }); }
  function all(selector, scope) { return Array.prototype.slice.call((scope || document).querySelectorAll(selector)); }

  // Versions the server rendered into the page count as "seen".
  all("[data-tally]").forEach(function (el) {
    var id = el.getAttribute("data-tally"), v = parseInt(el.getAttribute("data-version"), 10) || 0;
    if (!tallies[id] || tallies[id].version < v) tallies[id] = { poll: id, version: v, rendered: true };
  });
  readMyVotesFromPage(document);

  // ------------------------------------------------------------------ connection

  function setConnection(state) {
    all("[data-connection]").forEach(function (el) {
      el.setAttribute("data-state", state);
      el.textContent = state === "online" ? L.live : state === "offline" ? L.offline
        : state === "throttled" ? L.too_fast : L.connecting;
    });
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    setConnection(attempts ? "offline" : "connecting");
    socket = new WebSocket(scheme + location.host + root.getAttribute("data-live"));
    socket.onopen = function () {
      attempts = 0;
      throttled = false;
      setConnection("online");
      clearInterval(pingTimer);
      pingTimer = setInterval(function () { send({ type: "ping" }); }, 25000);
    };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      var handler = handlers[message.type];
      if (handler) handler(message);
      // Other scripts of the page (console.js, breakout.js) follow the same socket.
      root.dispatchEvent(new CustomEvent("live:message", { detail: message }));
    };
    socket.onclose = function (event) {
      clearInterval(pingTimer);
      socket = null;
      if (event.code === CLOSE_TOO_MANY) { backOff(); return; }
      failPending();
      if (event.code === 4404) { stopped = true; setConnection("offline"); return; }
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (stopped || reconnectTimer) return;
    setConnection("offline");
    // Capped exponential backoff with jitter, so a restarted server is not hit all at once.
    var delay = Math.min(BACKOFF_MAX, BACKOFF_MIN * Math.pow(2, attempts));
    delay = delay / 2 + Math.random() * delay / 2;
    attempts += 1;
    reconnectTimer = setTimeout(function () { reconnectTimer = null; connect(); }, delay);
  }

  function backOff() {
    // Votes waiting for an answer are not sent again over HTTP (that would be more of the same);
    // the person is told, and a vote tapped now goes through htmx, as with no socket at all.
    Object.keys(pending).forEach(function (ref) {
      var p = settle(ref);
      if (p && p.form) p.form.removeAttribute("aria-busy");
      if (p) status(p.poll, L.too_fast, true);
    });
    throttled = true;
    setConnection("throttled");
    var region = root.querySelector("[data-announcer]");  // the indicator is aria-hidden
    if (region) region.textContent = L.too_fast;
    if (stopped || reconnectTimer) return;
    var delay = FLOOD_BACKOFF_MIN + Math.random() * FLOOD_BACKOFF_MIN;
    reconnectTimer = setTimeout(function () { reconnectTimer = null; connect(); }, delay);
  }

  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  // A phone that wakes up should not wait out a backoff.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !socket && reconnectTimer && !throttled) {
      clearTimeout(reconnectTimer);
      reconnectTimer = null;
      connect();
    }
  });
  window.addEventListener("online", function () {
    if (!socket && reconnectTimer && !throttled) { clearTimeout(reconnectTimer); reconnectTimer = null; connect(); }
  });

  // ------------------------------------------------------------------ messages

  var handlers = {
    "tally.updated": function (message) {
      var known = tallies[message.poll];
      if (known && message.version < known.version) return;  // older than what we show
      if (known && message.version === known.version && !known.rendered) return;
      tallies[message.poll] = message;
      renderTally(message);
      announce(message);
    },
    "phase.changed": function (message) {
      if (message.seq <= eventSeq) return;
      eventSeq = message.seq;
      // The page's own language, when the event is run in another (the message carries both).
      var own = (message.i18n || {})[document.documentElement.lang] || message;
      all("[data-phase-label]").forEach(function (el) { el.textContent = own.label; });
      var stage = document.querySelector("[data-stage]");
      if (stage && typeof own.html === "string") swapStage(stage, own.html);
    },
    "you.synced": function (message) {
      if (message.attendee) root.setAttribute("data-attendee", "");
      else if (!root.hasAttribute("data-host")) root.removeAttribute("data-attendee");
      myVotes = {};
      Object.keys(message.votes || {}).forEach(function (poll) { myVotes[poll] = message.votes[poll]; });
      renderMyVotes();
    },
    "vote.acknowledged": function (message) {
      var p = settle(message.ref);
      myVotes[message.poll] = message.side;
      renderMyVotes();
      status(message.poll, L.saved);
      if (p && p.form) p.form.removeAttribute("aria-busy");
    },
    "vote.replaced": function (message) {
      // A newer vote of ours took this one's place before it was written: that one is answered.
      var p = settle(message.ref);
      if (p && p.form) {
        var newer = Object.keys(pending).some(function (ref) { return pending[ref].poll === p.poll; });
        if (!newer) { p.form.removeAttribute("aria-busy"); status(message.poll, L.replaced); }
      }
    },
    "vote.refused": function (message) {
      var p = settle(message.ref);
      status(message.poll, message.reason, true);
      if (p && p.form) p.form.removeAttribute("aria-busy");
    },
    "host.revoked": function () {
      // Host rights ended (the host link was changed, or the account's rights). The server
      // already treats this socket as audience; a console would reconnect into 403s, so it
      // says why and stops. Other pages carry on with the public view.
      if (!root.hasAttribute("data-host")) return;
      stopped = true;
      // Nor does it fetch its panels any more (the presence and door polls, the questions'
      // load, a refresh): each would only be refused with a 403.
      document.body.addEventListener("htmx:beforeRequest", function (event) {
        if (root.contains(event.target)) event.preventDefault();
      });
      if (reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; }
      all("[data-connection]").forEach(function (el) { el.hidden = true; });
      var note = document.createElement("p");
      note.className = "error";
      note.setAttribute("role", "alert");
      note.setAttribute("data-host-revoked", "");
      note.textContent = L.host_revoked;
      root.insertBefore(note, root.firstChild);
      if (socket) socket.close(1000);
    },
    "pong": function () {}
  };

  // ------------------------------------------------------------------ rendering

  function renderTally(message) {
    all('[data-tally="' + message.poll + '"]').forEach(function (el) {
      el.setAttribute("data-version", message.version);
      var rows = el.querySelector("[data-tally-rows]"), note = el.querySelector("[data-tally-hidden]");
      if (message.visible && message.counts) {
        if (rows) rows.hidden = false;
        if (note) note.hidden = true;
        SIDES.forEach(function (side) {
          var fill = el.querySelector('[data-fill="' + side + '"]'), figure = el.querySelector('[data-figure="' + side + '"]');
          var pct = message.percent[side] || 0;
          if (fill) { fill.className = "tally-fill " + side; fill.style.width = pct + "%"; }
          if (figure) figure.textContent = pct + "% · " + (message.counts[side] || 0);
        });
      } else {
        if (rows) rows.hidden = true;
        if (note) note.hidden = false;
      }
      var total = el.querySelector("[data-tally-total]");
      if (total) total.textContent = votesText(message.total);
    });
    all('[data-turnout="' + message.poll + '"]').forEach(function (el) {
      if (message.attendees !== undefined) el.textContent = fmt(L.turnout, { total: message.total, joined: message.attendees });
    });
    all('[data-poll-state="' + message.poll + '"]').forEach(function (el) {
      el.textContent = message.state === "open" ? L.live : L.closed;
    });
  }

  function renderMyVotes() {
    all("[data-vote-form]").forEach(function (form) {
      var poll = form.getAttribute("data-vote-form"), mine = myVotes[poll];
      all("button[name=side]", form).forEach(function (button) {
        button.setAttribute("aria-pressed", button.value === mine ? "true" : "false");
      });
    });
    all("[data-your-vote]").forEach(function (el) {
      var poll = el.getAttribute("data-your-vote"), mine = myVotes[poll];
      var card = el.closest("[data-poll-card]"), open = card && card.getAttribute("data-state") === "open";
      el.textContent = "";
      if (mine) {
        el.appendChild(document.createTextNode(L.your_vote + " "));
        var strong = document.createElement("strong");
        strong.textContent = L[mine] || mine;
        el.appendChild(strong);
        if (open) {
          var hint = document.createElement("span");
          hint.className = "muted small";
          hint.textContent = " " + L.can_change;
          el.appendChild(hint);
        }
      } else if (open) {
        el.textContent = L.no_vote;
      }
    });
  }

  function readMyVotesFromPage(scope) {
    all("[data-vote-form]", scope).forEach(function (form) {
      var pressed = form.querySelector('button[name=side][aria-pressed="true"]');
      if (pressed) myVotes[form.getAttribute("data-vote-form")] = pressed.value;
    });
  }

  function swapStage(stage, html) {
    // Keep the keyboard user's place: refocus the same button after the swap.
    var active = document.activeElement, focus = null;
    if (active && stage.contains(active) && active.name === "side") {
      var form = active.closest("[data-vote-form]");
      if (form) focus = '[data-vote-form="' + form.getAttribute("data-vote-form") + '"] button[value="' + active.value + '"]';
    }
    stage.innerHTML = html;
    if (window.htmx) window.htmx.process(stage);
    refreshStage(stage);
    if (focus) { var el = stage.querySelector(focus); if (el) el.focus(); }
  }

  function refreshStage(scope) {
    // Pushed HTML may be older than the snapshots we hold: re-apply the newest of each.
    all("[data-tally]", scope).forEach(function (el) {
      var known = tallies[el.getAttribute("data-tally")];
      var v = parseInt(el.getAttribute("data-version"), 10) || 0;
      if (known && known.type && known.version >= v) renderTally(known);
    });
    renderMyVotes();
  }

  function status(poll, text, isError) {
    all('[data-vote-status="' + poll + '"]').forEach(function (el) {
      el.textContent = text || "";
      el.classList.toggle("error", !!isError);
    });
  }

  function announce(message) {
    var region = root.querySelector("[data-announcer]");
    if (!region) return;
    var card = document.getElementById("poll-" + message.poll);
    // The card's heading (h3 on phones and the console, h2 on the projector) without its badge.
    var heading = card && card.querySelector("h2, h3");
    var title = heading && heading.firstChild ? heading.firstChild.textContent.trim() : "";
    var last = announced[message.poll], now = Date.now();
    var stateChanged = !last || last.state !== message.state;
    // Polite and rare: on open/close at once, otherwise at most every ANNOUNCE_EVERY ms.
    if (!stateChanged && now - last.at < ANNOUNCE_EVERY) return;
    announced[message.poll] = { at: now, state: message.state };
    var text = message.visible && message.percent
      ? fmt(L.tally, { poll: title, for: message.percent.for, against: message.percent.against, undecided: message.percent.undecided, votes: votesText(message.total) })
      : fmt(L.hidden_tally, { poll: title, votes: votesText(message.total) });
    if (message.state === "closed") text = L.closed + " " + text;
    region.textContent = text;
  }

  // ------------------------------------------------------------------ voting

  function settle(ref) {
    var p = pending[ref];
    if (!p) return null;
    clearTimeout(p.timer);
    delete pending[ref];
    return p;
  }

  function failPending() {
    Object.keys(pending).forEach(function (ref) { var p = settle(ref); if (p) fallback(p); });
  }

  function fallback(p) {
    // No answer over the socket: the same vote through htmx (or a plain POST). Voting the
    // same side twice is harmless, so a late socket answer does no damage.
    if (p.form) p.form.removeAttribute("aria-busy");
    if (!p.form || !document.contains(p.form)) return;
    if (window.htmx) {
      window.htmx.ajax("POST", p.form.getAttribute("action"), {
        source: p.form, target: "#poll-" + p.poll, swap: "outerHTML", values: { side: p.side }
      });
    } else {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = "side"; input.value = p.side;
      p.form.appendChild(input);
      p.form.submit();
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("[data-vote-form]");
    if (!form) return;
    var button = event.submitter;
    if (!button || button.name !== "side") return;
    var poll = parseInt(form.getAttribute("data-vote-form"), 10), side = button.value;
    var ref = "v" + (++refCounter) + "-" + Date.now().toString(36);
    if (!send({ type: "vote.cast", poll: poll, side: side, ref: ref })) return;  // htmx takes it
    event.preventDefault();
    event.stopPropagation();  // capture phase: htmx's own handler on the form never sees it
    form.setAttribute("aria-busy", "true");
    status(poll, L.sending);
    var entry = { poll: poll, side: side, form: form };
    entry.timer = setTimeout(function () { if (settle(ref)) fallback(entry); }, ACK_TIMEOUT);
    pending[ref] = entry;
  }, true);

  document.body.addEventListener("htmx:afterSwap", function (event) {
    readMyVotesFromPage(event.target.parentNode || document);
    refreshStage(document);
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    var form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("[data-vote-form]");
    var text = event.detail.xhr ? event.detail.xhr.responseText : "";
    if (form) status(form.getAttribute("data-vote-form"), text, true);
    else {
      var region = root.querySelector("[data-announcer]");
      if (region) region.textContent = text;
    }
  });

  window.productbreaksLive = { send: send };
  connect();
})();
