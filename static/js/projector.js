/* The projector's theme: light for a bright room, dark for a dim one.
 *
 * The links of the theme switch work without this script (?theme=light reloads in that theme).
 * With it the switch needs no reload, and the choice is kept in this browser, so the projector
 * link opened tomorrow on the same laptop comes up as it was left. No choice: the system's
 * preference (prefers-color-scheme, in app.css).
 */
(function () {
  "use strict";

  var body = document.body;
  if (!body.classList.contains("projector")) return;
  var KEY = "productbreaks:projector-theme";
  var THEMES = ["light", "dark"];

  function store(theme) { try { localStorage.setItem(KEY, theme); } catch (e) { /* private mode */ } }
  function stored() { try { return localStorage.getItem(KEY); } catch (e) { return null; } }

  function apply(theme) {
    THEMES.forEach(function (name) { body.classList.toggle("theme-" + name, name === theme); });
    Array.prototype.forEach.call(document.querySelectorAll("[data-theme-switch] [data-theme]"), function (link) {
      if (link.getAttribute("data-theme") === theme) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    });
  }

  var asked = new URLSearchParams(location.search).get("theme");
  if (THEMES.indexOf(asked) >= 0) store(asked);
  else if (THEMES.indexOf(stored()) >= 0) apply(stored());

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-theme-switch] [data-theme]");
    if (!link) return;
    event.preventDefault();
    var theme = link.getAttribute("data-theme");
    apply(theme);
    store(theme);
    var url = new URL(location.href);
    url.searchParams.set("theme", theme);
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  });
})();
