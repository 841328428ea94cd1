// The guideline editor (templates/annotate/guidelines/edit.html).
(function () {
  "use strict";
  // With htmx running the preview follows the typing, so the no-JS preview button is not needed.
  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) document.querySelectorAll(".no-htmx").forEach(function (el) { el.hidden = true; });
  });
  // Warn before leaving the editor with unsaved typing; submitting the form is not leaving.
  const form = document.getElementById("guideline-editor");
  if (!form) return;
  const fields = form.querySelectorAll("#guideline-text, #changelog");
  const saved = Array.prototype.map.call(fields, function (f) { return f.value; });
  // After a refused save the text on the page is not saved anywhere yet.
  const dirtyOnLoad = form.hasAttribute("data-dirty");
  let submitting = false;
  form.addEventListener("submit", function () { submitting = true; });
  window.addEventListener("beforeunload", function (event) {
    if (submitting) return;
    const changed = dirtyOnLoad || Array.prototype.some.call(fields, function (f, i) { return f.value !== saved[i]; });
    if (changed) { event.preventDefault(); event.returnValue = ""; }
  });
})();
