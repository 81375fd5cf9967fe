// "Add a speaker / theme / resource": copies the formset's empty row, numbered like Django expects.
(function () {
  "use strict";
  document.querySelectorAll("[data-formset]").forEach(function (set) {
    var prefix = set.dataset.formset;
    var total = set.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]');
    var template = set.querySelector("template[data-formset-empty]");
    var rows = set.querySelector("[data-formset-rows]");
    var button = set.querySelector("[data-formset-add]");
    if (!total || !template || !rows || !button) return;
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var first = rows.lastElementChild && rows.lastElementChild.querySelector("input, select, textarea");
      if (first) first.focus();
    });
  });
  document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
})();
