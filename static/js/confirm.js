/* Confirmation steps for big effects: closing a poll, ending the event, publishing the recap.
 *
 * A link <a data-confirm="name" href="?confirm=name#..."> and a <dialog data-confirm-dialog="name">
 * holding the real form. With this script the link opens the dialog as a modal, its first
 * button (the confirmation) focused, so a keyboard user confirms with Enter and backs out with
 * Escape. Without it the link reloads the page with ?confirm=name and the server renders the
 * same dialog open; its "Cancel" is a <form method="dialog">, which needs no script either.
 */
(function () {
  "use strict";

  function dialogFor(name) {
    var found = null;
    Array.prototype.forEach.call(document.querySelectorAll("dialog[data-confirm-dialog]"), function (dialog) {
      if (dialog.getAttribute("data-confirm-dialog") === name) found = dialog;
    });
    return found;
  }

  function open(link) {
    var dialog = dialogFor(link.getAttribute("data-confirm"));
    if (!dialog || typeof dialog.showModal !== "function") return false;
    if (dialog.open) dialog.close();
    dialog.showModal();
    var first = dialog.querySelector("button");
    if (first) first.focus();
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-confirm]");
    if (link && open(link)) event.preventDefault();
  });
  // A link that plays a button answers Space as a button does.
  document.addEventListener("keydown", function (event) {
    var link = event.target;
    if (event.key === " " && link.matches && link.matches("a[data-confirm][role=button]")) {
      event.preventDefault();
      if (!open(link)) link.click();
    }
  });
  // Once confirmed, the dialog closes (an htmx swap usually takes it away anyway).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var dialog = form.closest && form.closest("dialog[data-confirm-dialog]");
    if (!dialog || (form.getAttribute("method") || "").toLowerCase() === "dialog") return;
    setTimeout(function () { if (dialog.open) dialog.close(); }, 0);
  });
})();
