// Ask before a destructive action. A button or form with data-confirm="..."
// shows that question; cancelling stops the submit. It lives in a file, not
// in onclick/onsubmit attributes, because the Content-Security-Policy runs no
// inline script (docs/security.md). Without JavaScript the action simply runs.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-confirm], input[type=submit][data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });
})();
