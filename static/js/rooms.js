/* Breakout rooms, the console's panels and the projector's extras, kept live.
 *
 * Declarative: an element with data-refresh-on="type type ..." and data-refresh-url is
 * re-read (htmx GET, innerHTML) when the page's socket (live.js) brings one of those message
 * types. Refreshes are coalesced, and wait while someone is typing inside the element or has
 * a confirmation open in it, so a half-written point or message is never wiped; a choice made and not yet sent (a theme, a side)
 * is put back after the refresh. Countdowns tick from their datetime; the
 * timer and the host's message are applied straight from the socket message.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-live]");
  if (!root) return;
  var labelsNode = document.getElementById("rooms-labels");
  var L = (labelsNode && JSON.parse(labelsNode.textContent)) || {};
  var pending = new Map();  // element -> timer
  var deferred = new Set(); // elements to refresh once the user leaves them

  function all(selector, scope) { return Array.prototype.slice.call((scope || document).querySelectorAll(selector)); }

  function typingIn(el) {
    var active = document.activeElement;
    return active && el.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName) && active.type !== "submit";
  }

  // A confirmation the host has open (end the event, close a vote) would be closed under their
  // pointer by a refresh of its panel: the refresh waits until the dialog is closed.
  function busy(el) { return typingIn(el) || !!el.querySelector("dialog[open]"); }

  function refresh(el) {
    if (!document.contains(el) || !window.htmx) return;
    if (busy(el)) {
      deferred.add(el);
      // Said on the element, for whoever waits on it (tests/browser/test_cockpit.py).
      el.dispatchEvent(new CustomEvent("refresh:deferred", { bubbles: true }));
      return;
    }
    refreshing.add(el);
    // The element is the request's source, so htmx queues its refreshes per element: with the
    // page's body as the source (the default), one panel's refresh replaced another's queued
    // one, and that panel stayed stale. data-refresh-select takes part of the answer.
    window.htmx.ajax("GET", el.getAttribute("data-refresh-url"), {
      source: el,
      target: el,
      swap: "innerHTML",
      select: el.getAttribute("data-refresh-select") || undefined,
    });
  }

  // A field someone changed and has not sent yet (a theme picked, a side ticked) keeps that
  // choice through a refresh: focus has often left it by then, so typingIn cannot tell.
  var touched = new WeakSet();
  var refreshing = new Set();
  var kept = new Map();  // element being refreshed -> its touched fields' values
  function touch(event) { if (event.target.form) touched.add(event.target); }
  document.addEventListener("change", touch);
  document.addEventListener("input", touch);
  document.addEventListener("reset", function (event) {
    all("input, select, textarea", event.target).forEach(function (field) { touched.delete(field); });
  }, true);

  function fieldKey(field) {
    var holder = field.form.closest("[id]");
    return [holder ? holder.id : "", field.form.getAttribute("action"), field.name].join("|");
  }
  function keep(el) {
    return all("input, select, textarea", el).filter(function (field) {
      return touched.has(field) && field.form && (field.type !== "radio" || field.checked);
    }).map(function (field) { return { key: fieldKey(field), value: field.value }; });
  }
  function restore(el, fields) {
    fields.forEach(function (saved) {
      all("input, select, textarea", el).forEach(function (field) {
        if (!field.form || fieldKey(field) !== saved.key) return;
        if (field.type === "radio") {
          if (field.value === saved.value) field.checked = true;
        } else if (field.tagName === "SELECT") {
          var offered = Array.prototype.some.call(field.options, function (o) { return o.value === saved.value; });
          if (offered) field.value = saved.value;
        } else if (field.type !== "hidden") {
          field.value = saved.value;
        }
        touched.add(field);
      });
    });
  }
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (refreshing.has(target)) kept.set(target, keep(target));
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (!event.detail.successful) refreshing.delete(event.detail.target);
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!refreshing.delete(target)) return;
    restore(target, kept.get(target) || []);
    kept.delete(target);
  });

  function schedule(el, delay) {
    if (pending.has(el)) return;
    pending.set(el, setTimeout(function () { pending.delete(el); refresh(el); }, delay));
  }

  function refreshDeferred() {
    setTimeout(function () {
      deferred.forEach(function (el) { if (!busy(el)) { deferred.delete(el); refresh(el); } });
    }, 0);
  }
  document.addEventListener("focusout", refreshDeferred);
  document.addEventListener("close", refreshDeferred, true);  // a dialog's close does not bubble

  function wants(el, message) {
    var types = (el.getAttribute("data-refresh-on") || "").split(/\s+/);
    if (types.indexOf(message.type) < 0) return false;
    var room = el.getAttribute("data-refresh-room");
    if (room && message.room !== undefined && String(message.room) !== room) return false;
    // The phase the element was rendered for (on it, or on the partial inside it).
    var holder = el.hasAttribute("data-phase") ? el : el.querySelector("[data-phase]");
    var phase = holder && holder.getAttribute("data-phase");
    if (message.type === "phase.changed" && phase && phase === message.phase) {
      // The same phase: only what links to the recap re-reads itself, once publication flips.
      var recap = holder.getAttribute("data-recap");
      if (recap === null || message.recap === undefined || recap === (message.recap ? "1" : "0")) return false;
    }
    return true;
  }

  // ------------------------------------------------------------------ countdowns

  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    all("time[data-countdown]").forEach(function (el) {
      var end = Date.parse(el.getAttribute("datetime"));
      if (isNaN(end)) return;
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      el.textContent = left > 0 ? Math.floor(left / 60) + ":" + pad(left % 60) : (L.time_up || "0:00");
      el.closest("[data-countdown-box]") && el.closest("[data-countdown-box]").setAttribute("data-state", left > 60 ? "running" : left > 0 ? "ending" : "over");
    });
  }
  setInterval(tick, 1000);
  tick();

  // ------------------------------------------------------------------ socket messages

  function me() {
    var el = document.querySelector("[data-me]");
    return el ? el.getAttribute("data-me") : "";
  }

  function roomSync(spread) {
    // Spread over a moment: a round start must not make every phone ask at the same instant.
    var send = window.productbreaksLive && window.productbreaksLive.send;
    if (!send) return;
    setTimeout(function () { send({ type: "room.sync" }); }, Math.random() * spread);
  }

  function announce(text) {
    var region = root.querySelector("[data-announcer]");
    if (region) region.textContent = text;
  }

  root.addEventListener("live:message", function (event) {
    var message = event.detail;
    switch (message.type) {
      case "timer.changed":
        all('time[data-countdown][data-round="' + message.round + '"]').forEach(function (el) {
          el.setAttribute("datetime", message.ends_at);
        });
        tick();
        break;
      case "message.broadcast":
        all('[data-round-message]').forEach(function (el) {
          el.textContent = message.text;
          el.hidden = false;
        });
        announce(message.text);
        break;
      case "round.started":
        if (me() && message.assignments && message.assignments[me()] !== undefined) roomSync(1500);
        break;
      case "room.assigned":
        if (me() && String(message.attendee) === me()) roomSync(0);
        break;
      case "round.ended":
        all("time[data-countdown]").forEach(function (el) { el.setAttribute("datetime", new Date().toISOString()); });
        tick();
        if (me()) roomSync(1500);
        if (L.back) announce(L.back);
        break;
    }
    all("[data-refresh-on]").forEach(function (el) {
      if (wants(el, message)) schedule(el, 150 + Math.random() * 350);
    });
  });

  // ------------------------------------------------------------------ htmx niceties

  // Forms for entries typed one after another (data-reset-on-success: a takeaway, a message to
  // every room). Each entry is sent with what was typed when it was sent, and the form is
  // cleared at once for the next: clearing it when the answer came wiped the next entry, half
  // typed or already submitted. htmx queues a submission made while the last is on its way
  // (data-hx-sync="this:queue all") and reads the form only when it sends it, so the values
  // kept at submit go instead. A refused entry is put back, unless the next is being typed.
  var sentValues = new WeakMap();  // submit event -> the form's values at that moment
  function entryForm(form) { return form && form.matches && form.matches("form[data-reset-on-success]"); }
  document.addEventListener("submit", function (event) {
    if (entryForm(event.target)) sentValues.set(event, new FormData(event.target));
  }, true);
  document.addEventListener("submit", function (event) {
    // After htmx's own handler (on the form) has read the values of a request it sends now.
    if (entryForm(event.target) && event.defaultPrevented) event.target.reset();
  });
  document.body.addEventListener("htmx:configRequest", function (event) {
    var kept = event.detail.triggeringEvent && sentValues.get(event.detail.triggeringEvent);
    if (!kept) return;
    event.detail.parameters = kept;
    event.detail.errors = [];  // the browser checked the entry when it was submitted
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) all("[data-command-error]").forEach(function (el) { el.hidden = true; });
    var config = event.detail.requestConfig;
    var kept = config && config.triggeringEvent && sentValues.get(config.triggeringEvent);
    var form = event.detail.elt;
    if (!kept || event.detail.successful || !entryForm(form) || !document.contains(form)) return;
    var fields = all("input:not([type=hidden]), textarea", form);
    if (fields.some(function (field) { return field.value; })) return;
    fields.forEach(function (field) { if (kept.has(field.name)) field.value = kept.get(field.name); });
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    var text = event.detail.xhr ? event.detail.xhr.responseText : "";
    var form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("form");
    var box = (form && form.querySelector("[data-command-error]")) || document.querySelector("[data-command-error]");
    if (box && text) { box.textContent = text; box.hidden = false; }
  });
  document.body.addEventListener("htmx:afterSwap", tick);
  function countChars(field) {
    var out = document.getElementById(field.getAttribute("data-count-chars"));
    if (out) out.textContent = field.value.length + " / " + field.getAttribute("maxlength");
  }
  document.body.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-count-chars]")) countChars(event.target);
  });
  // A form sent and reset (data-reset-on-success) starts its counters again from zero: "reset"
  // fires before the fields are emptied, so count once they are.
  document.addEventListener("reset", function (event) {
    var form = event.target;
    setTimeout(function () { all("[data-count-chars]", form).forEach(countChars); }, 0);
  }, true);
})();
