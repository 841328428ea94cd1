// Keys of the review page: j/k (or arrows) move between entries, y and n
// resolve the focused entry, e focuses its note, Escape leaves the note.
// Review by item adds 1-9 (go to the item's nth label) and a (accept the
// majority for the item).
// The page works without this file: every decision is a plain form button.
(function () {
  "use strict";
  const entries = () => Array.from(document.querySelectorAll("[data-entry]"));
  const live = document.getElementById("review-live");
  let pending = null; // the id of the entry whose decision is on its way

  // Press a decision's button. A form swapped in a moment ago (out of band,
  // after the previous decision) gets its hx-post bound only when htmx
  // settles it; a key pressed before then would post the plain form and
  // reload the page. Processing it first is harmless if htmx already has.
  function press(button) {
    const form = button.closest("form");
    if (form && window.htmx) window.htmx.process(form);
    button.click();
  }

  function focusEntry(entry) {
    if (!entry) return;
    entry.focus();
    entry.scrollIntoView({ block: "nearest" });
  }

  function move(from, step) {
    const list = entries();
    focusEntry(list[list.indexOf(from) + step]);
  }

  // After a decision, go on to the next entry that still needs one.
  function nextOpen(after) {
    const list = entries();
    const start = after ? list.indexOf(after) + 1 : 0;
    return list.slice(start).find((entry) => !entry.classList.contains("resolved")) || null;
  }

  // The majority form lists the item's open entries with the decision each
  // showed. Entries decided one by one since the page loaded were swapped in
  // place: list what the page shows now, so they are not reported as decided
  // by someone else.
  function listOpenEntries(item) {
    const form = item && item.querySelector("form.majority");
    if (!form) return 0;
    form.querySelectorAll("input[name=label], input[name^=seen-]").forEach((input) => input.remove());
    const open = item.querySelectorAll("[data-entry]:not(.resolved)");
    open.forEach((entry) => {
      const label = entry.querySelector(".resolve input[name=label]").value;
      const seen = entry.querySelector(".resolve input[name=seen]").value;
      for (const [name, value] of [["label", label], ["seen-" + label, seen]]) {
        const input = document.createElement("input");
        Object.assign(input, { type: "hidden", name, value });
        form.append(input);
      }
    });
    return open.length;
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const field = event.target.closest("input, textarea, select");
    const entry = event.target.closest("[data-entry]");
    if (field) {
      if (event.key === "Escape" && entry) focusEntry(entry);
      // Enter in a note does not guess a value; y or n on the entry decides.
      if (event.key === "Enter" && entry) { event.preventDefault(); focusEntry(entry); }
      return;
    }
    const item = event.target.closest("[data-item]");
    if (item && /^[1-9]$/.test(event.key)) {
      event.preventDefault();
      focusEntry(item.querySelectorAll("[data-entry]")[Number(event.key) - 1]);
      return;
    }
    if (item && event.key === "a") {
      const accept = item.querySelector(".accept-majority");
      if (!accept) return;
      event.preventDefault();
      const first = item.querySelector("[data-entry]:not(.resolved)");
      pending = first ? first.id : null;
      press(accept);
      return;
    }
    if (!entry) {
      if (["j", "ArrowDown"].includes(event.key)) { event.preventDefault(); focusEntry(nextOpen(null) || entries()[0]); }
      return;
    }
    const decide = (selector) => { event.preventDefault(); pending = entry.id; press(entry.querySelector(selector)); };
    switch (event.key) {
      case "y": decide(".resolve-yes"); break;
      case "n": decide(".resolve-no"); break;
      case "e": event.preventDefault(); entry.querySelector(".note-input").focus(); break;
      case "j": case "ArrowDown": event.preventDefault(); move(entry, 1); break;
      case "k": case "ArrowUp": event.preventDefault(); move(entry, -1); break;
    }
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest(".resolve button, .unresolve button");
    if (button) pending = button.closest("[data-entry]").id;
    const accept = event.target.closest(".accept-majority");
    if (accept && !listOpenEntries(accept.closest("[data-item]"))) { event.preventDefault(); return; }
    if (accept && !pending) {
      const first = accept.closest("[data-item]").querySelector("[data-entry]:not(.resolved)");
      pending = first ? first.id : null;
    }
  });

  // A 409 means the entry was decided since the page loaded: the answer is
  // the entry as it is now with a message, so swap it in like a success.
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.xhr.status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.body.addEventListener("htmx:afterSettle", () => {
    if (!pending) return;
    const swapped = document.getElementById(pending);
    pending = null;
    if (!swapped) return;
    const conflict = swapped.dataset.conflict;
    if (live) live.textContent = conflict || swapped.getAttribute("aria-label");
    // After a conflict or an undo, stay on the entry: it needs a (new) decision.
    const stay = conflict || !swapped.classList.contains("resolved");
    focusEntry(stay ? swapped : nextOpen(swapped) || swapped);
  });

  // A decision that was not stored (the database or the server is away) says so on its
  // entry, which stays as it was, so pressing again later is all it takes.
  function showNotSaved(event) {
    const entry = event.detail.elt && event.detail.elt.closest ? event.detail.elt.closest("[data-entry]") : null;
    const status = event.detail.xhr ? event.detail.xhr.status : 0;
    let text = "Not saved: the server could not be reached. Press again when you are back online.";
    if (status === 503) text = "Not saved: the database is unavailable; nothing you saved is lost. Press again in a moment.";
    // Deleted, or removed from the project (annotate/access.py answers 404 to non-members): pressing again cannot help.
    else if (status === 404) text = "Not saved: this project is no longer open to you (it was deleted, or you were removed from it).";
    // A refused input (a note with a character it may not hold, say) answers 400 with the reason as plain text.
    else if (status === 400 && event.detail.xhr.responseText.length < 500) text = `Not saved: ${event.detail.xhr.responseText}`;
    else if (status) text = `Not saved: the server answered with an error (${status}). Press again in a moment.`;
    pending = null;
    if (live) live.textContent = text;
    if (!entry) return;
    let box = entry.querySelector(".js-request-error");
    if (!box) {
      box = document.createElement("p");
      box.className = "conflict js-request-error";
      box.setAttribute("role", "alert");
      entry.prepend(box);
    }
    box.textContent = text;
  }
  document.body.addEventListener("htmx:responseError", showNotSaved);
  document.body.addEventListener("htmx:sendError", showNotSaved);

  // The Resolved tab has no open entry: focus its first one, so y and n work at once.
  focusEntry(nextOpen(null) || entries()[0]);
})();
