/* The stage, live: the speakers' clock and the reveal (debates/realtime_stage.py).
 *
 * The server never ticks: clock.updated carries the turn, its length, the seconds spoken before
 * it last started running and when that was, and the server's time at the read. Every screen
 * counts down by itself, overtime past zero. reveal.updated carries the result panel whole.
 * Both carry `seq`; the highest one seen wins. Messages come from live.js ("live:message").
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-live]");
  if (!root) return;
  var seq = { clock: 0, reveal: 0 };
  var offset = 0;  // server time minus this device's time, in ms

  function all(selector, scope) { return Array.prototype.slice.call((scope || document).querySelectorAll(selector)); }
  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function readOffset(iso) {
    var server = Date.parse(iso);
    if (!isNaN(server)) offset = server - Date.now();
  }
  var first = document.querySelector("[data-clock][data-now]");
  if (first) readOffset(first.getAttribute("data-now"));

  function remaining(el) {
    var length = parseFloat(el.getAttribute("data-length")) || 0;
    var spoken = parseFloat(el.getAttribute("data-spoken")) || 0;
    var since = Date.parse(el.getAttribute("data-running-since") || "");
    if (!isNaN(since)) spoken += Math.max(0, (Date.now() + offset - since) / 1000);
    return length - spoken;
  }

  function tick() {
    all("[data-clock]").forEach(function (el) {
      var left = Math.round(remaining(el)), over = left < 0, abs = Math.abs(left);
      var text = (over ? "+" : "") + Math.floor(abs / 60) + ":" + pad(abs % 60);
      var face = el.querySelector("[data-clock-time]");
      if (face && face.textContent !== text) face.textContent = text;
      el.classList.toggle("overtime", over && el.getAttribute("data-state") !== "idle");
      el.classList.toggle("ending", !over && left <= 30 && el.getAttribute("data-state") === "running");
    });
  }

  function applyClock(message) {
    if (message.seq <= seq.clock) return;
    seq.clock = message.seq;
    readOffset(message.now);
    var turn = message.turn || {};
    all("[data-clock]").forEach(function (el) {
      el.setAttribute("data-state", message.state);
      el.setAttribute("data-length", message.length);
      el.setAttribute("data-spoken", message.spoken);
      el.setAttribute("data-running-since", message.running_since || "");
      el.hidden = message.state === "idle";
      var label = el.querySelector("[data-clock-label]");
      if (label) label.textContent = turn.label || "";
      var number = el.querySelector("[data-clock-number]");
      if (number) number.textContent = turn.number ? turn.number + "/" + turn.count : "";
      var side = el.querySelector("[data-clock-side]");
      if (side) { side.className = "clock-side " + (turn.side || ""); side.setAttribute("data-clock-side", turn.side || ""); }
    });
    tick();
  }

  function applyReveal(message) {
    if (message.seq <= seq.reveal) return;
    seq.reveal = message.seq;
    var html = message.html;  // rendered and escaped by the server (recaps/reveal.py)
    all("[data-reveal]").forEach(function (el) {
      if (el.innerHTML !== html) el.innerHTML = html;
      el.hidden = !message.revealed;
    });
    var region = root.querySelector("[data-announcer]");
    var winner = document.querySelector("[data-reveal]:not([hidden]) .reveal-winner");
    if (region && message.revealed && winner) region.textContent = winner.textContent.replace(/\s+/g, " ").trim();
  }

  root.addEventListener("live:message", function (event) {
    var message = event.detail;
    if (message.type === "clock.updated") applyClock(message);
    else if (message.type === "reveal.updated") applyReveal(message);
  });
  // A console panel swapped in by htmx brings a clock rendered from an older read: re-tick.
  document.body.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 250);
  tick();
})();
