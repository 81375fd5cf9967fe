// The join queue (debates/door_views.py): a join over its network's budget is answered 503 with
// Retry-After, and this page sends the same form again by itself, with a little jitter so a
// whole venue's retries do not land in the same instant. No user-facing text lives here.
(function () {
  "use strict";
  var notice = document.querySelector("[data-retry-after]");
  var form = document.querySelector("[data-retry-form]");
  if (!notice || !form) return;
  var seconds = parseInt(notice.getAttribute("data-retry-after"), 10);
  if (!(seconds > 0)) seconds = 5;
  var delay = (seconds + Math.random() * Math.min(5, seconds)) * 1000;
  window.setTimeout(function () { form.submit(); }, delay);
})();
