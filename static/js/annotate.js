// Keys of the annotate page; docs/annotating.md lists them. The form works
// without this file: these are shortcuts for its radios, selects and buttons.
(function () {
  "use strict";
  const $ = (selector, root) => (root || document).querySelector(selector);
  let last = null; // the label row touched last: c, u and Backspace act on it
  let shownAt = performance.now(); // when the item appeared, for the time spent
  // The annotator chose to submit despite rule warnings (or the server showed them already).
  let confirmed = Boolean($(".rule-warnings:not(.js-rule-warnings)"));
  // When the rule warnings appeared. Submits in the next moment are the rest of a
  // double click or a double Enter, not a decision to submit anyway: they are dropped.
  const WARNING_GRACE_MS = 400;
  let warnedAt = confirmed ? performance.now() : -Infinity;
  const justWarned = () => performance.now() - warnedAt < WARNING_GRACE_MS;

  const rows = () => Array.from(document.querySelectorAll("#item-form .label-row"));
  const rowById = (id) => $(`#item-form .label-row[data-label="${id}"]`);
  const stateOf = (row) => ($("input[type=radio]:checked", row) || {}).value || "";
  // The physical keys of a label's key: a digit also on the numeric keypad.
  const codesOf = (key) => (/^[0-9]$/.test(key) ? ["Digit" + key, "Numpad" + key] : ["Key" + key.toUpperCase()]);
  const announce = (text) => { const live = $("#annotate-live"); if (live) live.textContent = text; };

  function touch(row) {
    if (last) last.classList.remove("last");
    last = row;
    row.classList.add("last");
  }

  function setState(row, value, bulk) {
    $(`input[type=radio][value="${value}"]`, row).checked = true;
    row.classList.toggle("bulk-no", Boolean(bulk));
    touch(row);
    announce(`${row.dataset.name}: ${value || "not answered"}`);
  }

  function cycleConfidence(row) {
    const select = $("select.confidence", row);
    select.selectedIndex = (select.selectedIndex + 1) % select.options.length;
    touch(row);
    announce(`${row.dataset.name}: confidence ${select.options[select.selectedIndex].text}`);
  }

  function markRemainingNo() {
    const open = rows().filter((row) => stateOf(row) === "");
    open.forEach((row) => setState(row, "no", true));
    announce(`Marked ${open.length} remaining labels no`);
  }

  // The same rules the server checks (annotate.annotating.check_label_rules).
  function ruleWarnings() {
    const yes = new Set(rows().filter((row) => stateOf(row) === "yes").map((row) => row.dataset.label));
    const warnings = [];
    const seen = new Set();
    rows().forEach((row) => {
      if (!yes.has(row.dataset.label)) return;
      row.dataset.implies.split(" ").filter(Boolean).forEach((id) => {
        const other = rowById(id);
        if (other && !yes.has(id)) {
          warnings.push({ text: `${row.dataset.name} implies ${other.dataset.name}: mark ${other.dataset.name} yes?`, fix: id });
        }
      });
      row.dataset.excludes.split(" ").filter(Boolean).forEach((id) => {
        const pair = [row.dataset.label, id].sort().join("-");
        const other = rowById(id);
        if (other && yes.has(id) && !seen.has(pair)) {
          seen.add(pair);
          warnings.push({ text: `${row.dataset.name} excludes ${other.dataset.name}: both are marked yes.` });
        }
      });
    });
    return warnings;
  }

  function showWarnings(box, warnings) {
    box.replaceChildren();
    const intro = document.createElement("p");
    intro.innerHTML = "<strong>Check the label rules before you submit</strong> (Enter submits anyway):";
    const list = document.createElement("ul");
    warnings.forEach((warning) => {
      const item = document.createElement("li");
      item.textContent = warning.text + " ";
      if (warning.fix) {
        const fix = document.createElement("button");
        fix.type = "button";
        fix.className = "small";
        fix.dataset.fix = warning.fix;
        fix.textContent = `Mark ${rowById(warning.fix).dataset.name} yes`;
        item.append(fix);
      }
      list.append(item);
    });
    const anyway = document.createElement("button");
    anyway.type = "button";
    anyway.dataset.action = "submit-anyway";
    anyway.textContent = "Submit anyway";
    box.append(intro, list, anyway);
    box.hidden = false;
    warnedAt = performance.now();
  }

  // The server renders "Submit anyway" as a submit button, for pages without
  // JavaScript. Here it becomes a plain button that the click handler below
  // acts on, so that a stray Enter or the second click of a double click never
  // counts as "submit anyway".
  function disarmSubmitAnyway() {
    document.querySelectorAll("#item-form button[data-action=submit-anyway]").forEach((button) => {
      button.type = "button";
      button.removeAttribute("name");
    });
  }
  disarmSubmitAnyway();

  // The CSRF token of the session in force: after a login in another tab the
  // token in the form is stale, and the retry of a refused submit would fail again.
  function freshCsrfToken(form) {
    const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
    const input = $("input[name=csrfmiddlewaretoken]", form);
    if (cookie && input) input.value = decodeURIComponent(cookie.slice("csrftoken=".length));
  }

  // A request that failed without an answer to swap in: say so next to the answers, which stay.
  function showRequestError(form, status, xhr) {
    const box = $("#annotate-work .js-request-error");
    const again = form && form.closest("#skip") ? "skip again" : "submit again";
    const deactivated = status === 401 && xhr && xhr.getResponseHeader("X-Account-Deactivated") === "1";
    let text;
    if (deactivated) {
      // Logging in again cannot help: the account may no longer log in.
      text = "Not saved: your account has been deactivated, so you can no longer log in; ask a project manager. Your answers are still here.";
    } else if (status === 401) {
      text = `Your session has ended: log in again in another tab, then ${again}; your answers are still here.`;
    } else if (status === 403) {
      text = `The server refused the request: this page may be stale or your cookies were cleared. Log in again in another tab, then ${again}; your answers are still here.`;
    } else if (status === 404) {
      // The project was deleted or the annotator removed from it (annotate/access.py answers 404 to non-members):
      // a retry cannot help, so say what happened instead of "try again".
      text = "Not saved: this project is no longer open to you (it was deleted, or you were removed from it). Your answers are still here.";
    } else if (status === 503) {
      text = `Not saved: the database is unavailable; nothing you saved is lost. Your answers are still here; ${again} in a moment.`;
    } else if (status) {
      text = `Not saved: the server answered with an error (${status}). Your answers are still here; try again in a moment.`;
    } else {
      text = "Not saved: the server could not be reached. Your answers are still here; try again when you are back online.";
    }
    announce(text);
    if (!box) return;
    box.textContent = text;
    if ((status === 401 && !deactivated) || status === 403) {
      const link = document.createElement("a");
      link.href = box.dataset.loginUrl;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = "Log in (new tab)";
      box.append(" ", link);
    }
    if (status === 404) {
      const link = document.createElement("a");
      link.href = box.dataset.homeUrl;
      link.textContent = "Your projects";
      box.append(" ", link);
    }
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  // Runs before htmx sees the submit (capture phase), for the Enter key and the buttons alike.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    const elapsed = String(Math.round(performance.now() - shownAt));
    form.querySelectorAll("input[name=duration_ms]").forEach((input) => { input.value = elapsed; });
    freshCsrfToken(form);
    if (form.id !== "item-form") return;
    const confirm = $("input[name=confirm_rules]", form);
    if (justWarned()) {
      event.preventDefault();
      event.stopPropagation();
      return;
    }
    if (event.submitter && event.submitter.name === "confirm_rules") confirmed = true;
    const warnings = confirmed ? [] : ruleWarnings();
    if (warnings.length) {
      event.preventDefault();
      event.stopPropagation();
      showWarnings($(".js-rule-warnings", form), warnings);
      confirmed = true; // the next Enter or submit goes through
      return;
    }
    confirm.value = confirmed ? "1" : "";
  }, true);

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-fix], button[data-action]");
    if (!button || !$("#item-form")) return;
    if (button.dataset.fix) {
      const row = rowById(button.dataset.fix);
      setState(row, "yes");
      // Once the rules hold, the warning goes and a new break would warn again.
      const box = $("#item-form .js-rule-warnings");
      if (!ruleWarnings().length) { box.hidden = true; confirmed = false; warnedAt = -Infinity; }
      $("input[type=radio]:checked", row).focus();
    }
    if (button.dataset.action === "all-no") markRemainingNo();
    if (button.dataset.action === "submit-anyway" && !justWarned()) {
      confirmed = true;
      $("#item-form").requestSubmit();
    }
  });

  document.addEventListener("change", (event) => {
    const row = event.target.closest(".label-row");
    if (!row) return;
    if (event.target.type === "radio") row.classList.remove("bulk-no");
    touch(row);
  });

  document.addEventListener("keydown", (event) => {
    const help = $("#help");
    const form = $("#item-form");
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || !form) return;
    const skip = $("#skip");
    if (event.key === "Escape" && skip && skip.open && !help.open) {
      // Close the skip panel and give the keys back to the labels.
      event.preventDefault();
      skip.open = false;
      const text = $("#item-form .item-text .text");
      if (text) text.focus();
      return;
    }
    if (target.matches("input[type=text], textarea")) return; // typing a skip reason
    if (event.key === "?") {
      event.preventDefault();
      if (help.open) help.close(); else help.showModal();
      return;
    }
    // The skip and flag panels are forms of their own: their keys (Enter, arrows) stay theirs.
    if (help.open || target.closest("#skip, #flag-panel")) return;
    if (event.key === "Enter") {
      if (target.matches("button, a, summary")) return; // Enter keeps its own meaning there
      event.preventDefault();
      // The item was answered already (another tab): Enter goes on to the next one.
      const next = $("#item-form [data-next-item]");
      if (next) window.location.assign(next.href);
      else form.requestSubmit();
      return;
    }
    const labelRow = rows().find((row) => row.dataset.key && codesOf(row.dataset.key).includes(event.code));
    if (labelRow) {
      event.preventDefault();
      const wanted = event.shiftKey ? "no" : "yes";
      setState(labelRow, stateOf(labelRow) === wanted ? "" : wanted);
    } else if (event.code === "KeyC" && last) {
      event.preventDefault();
      cycleConfidence(last);
    } else if ((event.code === "KeyU" || event.key === "Backspace") && last) {
      event.preventDefault();
      setState(last, "");
    } else if (event.code === "KeyN") {
      event.preventDefault();
      markRemainingNo();
    } else if (event.code === "KeyS" && $("#skip")) {
      event.preventDefault();
      $("#skip").open = true;
      $("#skip input[type=radio]").focus();
    }
  });

  // A new item arrived (submit and next, or skip): start its clock and reset the state.
  document.addEventListener("htmx:afterSwap", (event) => {
    // A flag changes nothing on the item: its clock and answers carry on.
    if (event.detail.target && event.detail.target.id === "flag-panel") {
      const note = $("#flag-panel [role=alert], #flag-panel [role=status]");
      if (note) announce(note.textContent.trim());
      return;
    }
    // The agreement figures, loaded when opened: not a new item either.
    if (!event.detail.target || event.detail.target.id !== "annotate-work") return;
    shownAt = performance.now();
    last = null;
    disarmSubmitAnyway();
    // Warnings the server already showed need no second confirmation, but a
    // second Enter or click right after they appear is not one either.
    confirmed = Boolean($("#annotate-work .rule-warnings:not(.js-rule-warnings)"));
    warnedAt = confirmed ? performance.now() : -Infinity;
    const error = $("#annotate-work [role=alert]:not([hidden])");
    // Only a 200 means the server stored the answers (a refusal is a 422).
    const stored = event.detail.xhr && event.detail.xhr.status === 200;
    if (stored && !error) announce("Saved. " + ($("#item-heading") ? $("#item-heading").textContent.trim().replace(/\s+/g, " ") : "No items left."));
    const next = $("#annotate-work [data-next-item]");
    const text = $("#annotate-work .item-text .text");
    if (next) next.focus();
    else if (text) text.focus({ preventScroll: false });
  });
  // htmx wires a swapped-in form only when the swap settles (a moment later).
  // Until then the new item's form would post as a plain form and reload
  // the whole page, so an Enter or a click in that moment is ignored.
  let settling = false;
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "annotate-work" && event.detail.shouldSwap !== false) settling = true;
  });
  document.addEventListener("htmx:afterSettle", () => { settling = false; });
  document.addEventListener("submit", (event) => {
    if (settling && event.target.closest("#annotate-work")) event.preventDefault();
  }, true);

  // A refused flag (400) comes back as the flag panel with the message beside the field: show it.
  // So does a skip with a reason the project no longer offers: the work area, with the reasons as they are now.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const xhr = event.detail.xhr;
    const target = event.detail.target;
    if (!xhr || xhr.status !== 400 || !target) return;
    const work = target.id === "annotate-work" && xhr.responseText.includes('id="annotate-work"');
    if (target.id === "flag-panel" || work) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Enter on a skip reason skips with it. Focus alone does not choose a radio (Space or an arrow
  // does), so after `s` the first reason had focus but the form still asked for one and Enter did nothing.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.ctrlKey || event.metaKey || event.altKey || event.shiftKey) return;
    const radio = event.target;
    if (!radio.matches || !radio.matches("#skip input[type=radio]")) return;
    event.preventDefault();
    radio.checked = true;
    const ownWords = $("input[name=reason_other]", radio.form);
    // "Other" needs the annotator's words first: Enter goes to the box, and Enter there skips.
    if (radio.value === "other" && ownWords && !ownWords.value.trim()) ownWords.focus();
    else radio.form.requestSubmit();
  });
  // Typing your own reason chooses "Other", so Enter in the box skips with those words.
  document.addEventListener("input", (event) => {
    if (!event.target.matches || !event.target.matches("#skip input[name=reason_other]")) return;
    const other = $("#skip input[type=radio][value=other]");
    if (other && event.target.value.trim()) other.checked = true;
  });
  const failedForm = (event) => (event.detail.elt && event.detail.elt.closest ? event.detail.elt.closest("form") : null);
  document.addEventListener("htmx:responseError", (event) => showRequestError(failedForm(event), event.detail.xhr.status, event.detail.xhr));
  document.addEventListener("htmx:sendError", (event) => showRequestError(failedForm(event), 0));
})();
