// The export page (templates/annotate/importing/export.html).
// The API takes the label subset as one comma-separated parameter; empty
// inputs are left out so the URL carries only the filters that were set.
(function () {
  "use strict";
  const exportForm = document.querySelector(".export-form");
  if (!exportForm) return;
  exportForm.addEventListener("submit", (event) => {
    const form = event.target;
    const ticked = [...form.querySelectorAll("input[name=label]:checked")].map((box) => box.value);
    form.querySelector("#labels").value = ticked.join(",");
    // Left out of the URL for this submit only; fields disabled by the page stay so.
    const leftOut = [...form.querySelectorAll("input, select")].filter(
      (field) => !field.disabled && (field.name === "label" || field.value === ""));
    leftOut.forEach((field) => { field.disabled = true; });
    setTimeout(() => leftOut.forEach((field) => { field.disabled = false; }), 0);
  });
})();
