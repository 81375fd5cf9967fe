/* The host's cockpit (templates/debates/console.html): tabs over its panels, the keys N, O and C,
 * and the prompt when the rooms' time is up.
 *
 * Without this script every panel is on the page, one after another, and the links above them
 * jump there. With it, one panel shows at a time: the current phase's (data-panel-phases), unless
 * the address names another; a phase change (the host's own, or another host's over the socket)
 * brings its panel forward. Keys never fire while someone types in a field, nor with a
 * modifier, nor while a confirmation is open; a key whose button is not on the page now says so.
 */
(function () {
  "use strict";

  var root = document.querySelector(".cockpit[data-live]");
  if (!root) return;
  var nav = root.querySelector("[data-cockpit-tabs]");
  var panels = all("[data-panel]", root);
  var tabs = [];
  var KEYS = ["n", "o", "c"];

  function all(selector, scope) { return Array.prototype.slice.call((scope || document).querySelectorAll(selector)); }

  // ------------------------------------------------------------------ tabs

  function buildTabs() {
    var list = document.createElement("div");
    list.setAttribute("role", "tablist");
    list.setAttribute("aria-label", nav.getAttribute("aria-label") || "");
    panels.forEach(function (panel) {
      var tab = document.createElement("button");
      tab.type = "button";
      tab.id = "tab-" + panel.id;
      tab.className = "tab";
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-controls", panel.id);
      tab.textContent = panel.getAttribute("data-panel-label");
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", tab.id);
      tab.addEventListener("click", function () { select(panel, false); });
      tab.addEventListener("keydown", onTabKey);
      list.appendChild(tab);
      tabs.push(tab);
    });
    nav.textContent = "";
    nav.appendChild(list);
    root.classList.add("tabbed");
  }

  function select(panel, focusTab) {
    if (!panel) return;
    panels.forEach(function (p, i) {
      var on = p === panel;
      p.hidden = !on;
      tabs[i].setAttribute("aria-selected", on ? "true" : "false");
      tabs[i].tabIndex = on ? 0 : -1;
      if (on && focusTab) tabs[i].focus();
    });
  }

  function onTabKey(event) {
    var at = tabs.indexOf(event.currentTarget), to = null;
    if (event.key === "ArrowRight") to = (at + 1) % tabs.length;
    else if (event.key === "ArrowLeft") to = (at - 1 + tabs.length) % tabs.length;
    else if (event.key === "Home") to = 0;
    else if (event.key === "End") to = tabs.length - 1;
    if (to === null) return;
    event.preventDefault();
    select(panels[to], true);
  }

  function panelForPhase(phase) {
    return panels.filter(function (p) {
      return (p.getAttribute("data-panel-phases") || "").split(/\s+/).indexOf(phase) >= 0;
    })[0];
  }

  function currentPhase() {
    var holder = root.querySelector("#phase [data-phase]");
    return holder ? holder.getAttribute("data-phase") : "";
  }

  function panelHolding(id) {
    var el = id && document.getElementById(id);
    return el ? el.closest("[data-panel]") : null;
  }

  // ------------------------------------------------------------------ keys

  function typing(el) {
    return !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function say(text) {
    var status = root.querySelector("[data-shortcut-status]");
    if (status) status.textContent = text;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    if (typing(event.target) || document.querySelector("dialog[open]")) return;
    var key = (event.key || "").toLowerCase();
    if (KEYS.indexOf(key) < 0) return;
    event.preventDefault();
    var target = root.querySelector('[data-shortcut="' + key + '"]');
    var status = root.querySelector("[data-shortcut-status]");
    if (!target) { say(status ? status.getAttribute("data-nothing") : ""); return; }
    say("");
    var panel = target.closest("[data-panel]");
    if (panel && panel.hidden) select(panel, false);
    target.click();
  });

  // ------------------------------------------------------------------ time is up

  function checkTimeUp() {
    all("[data-time-up]", root).forEach(function (box) {
      var end = Date.parse(box.getAttribute("data-ends-at"));
      if (!isNaN(end) && box.hidden && Date.now() >= end) box.hidden = false;
    });
  }
  setInterval(checkTimeUp, 1000);

  // ------------------------------------------------------------------ following the event

  // Only a new phase moves the console to its panel. The event's state is re-sent in the same
  // phase too (a round started or ended, the event's details edited, the recap published):
  // that used to take the host off the tab they had just chosen.
  var followedPhase = currentPhase();
  function followPhase(phase) {
    if (!tabs.length || !phase || phase === followedPhase) return;
    followedPhase = phase;
    select(panelForPhase(phase) || null, false);
  }

  root.addEventListener("live:message", function (event) {
    var message = event.detail;
    if (message.type === "phase.changed") followPhase(message.phase);
    if (message.type === "timer.changed") {
      all("[data-time-up]", root).forEach(function (box) {
        box.setAttribute("data-ends-at", message.ends_at);
        box.hidden = Date.parse(message.ends_at) > Date.now();
      });
    }
    if (message.type === "tally.updated") {
      all('[data-live-votes="' + message.poll + '"]', root).forEach(function (el) { el.textContent = message.total; });
    }
  });

  function phaseSwapped(event) {
    if (event.detail.target && event.detail.target.id === "phase") followPhase(currentPhase());
    checkTimeUp();
  }
  document.body.addEventListener("htmx:afterSwap", phaseSwapped);
  document.body.addEventListener("htmx:oobAfterSwap", phaseSwapped);

  if (nav && panels.length) {
    buildTabs();
    var wanted = panelHolding(location.hash.slice(1));
    select(wanted || panelForPhase(currentPhase()) || panels[0], false);
  }
  checkTimeUp();
})();
