// Keyboard shortcuts: j/k move, o or Enter opens, e closes, a takes it, r replies, z undoes a
// send still in its undo window, n writes a note, / searches, ? shows the list. Buttons and
// links do the work; this only presses them — except e and a on the list's focused row, which
// post the same triage the conversation's buttons do.
(function () {
  "use strict";

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]");
  }

  function rows() {
    return Array.from(document.querySelectorAll(".conv-row"));
  }

  function move(step) {
    const list = rows();
    if (!list.length) return;
    const index = list.indexOf(document.activeElement);
    const next = index === -1 ? 0 : Math.min(Math.max(index + step, 0), list.length - 1);
    list[next].focus();
  }

  function press(selector) {
    const element = document.querySelector(selector);
    if (element) element.click();
  }

  function focusedRow() {
    const element = document.activeElement;
    return element && element.classList && element.classList.contains("conv-row") ? element : null;
  }

  // After a triage from the list, the list refreshes (the answer triggers "inbox-changed"):
  // the focus goes back to the same place, on the row that took the handled one's position.
  let refocus = null;

  function say(text) {
    const region = document.querySelector(".toasts");
    if (!region || !text) return;
    const toast = document.createElement("p");
    toast.className = "toast toast-success";
    toast.textContent = text;
    region.appendChild(toast);
    window.setTimeout(function () { toast.classList.add("toast-hide"); }, 4000);
  }

  function triageRow(row, values, said) {
    const section = document.querySelector("[data-triage-url]");
    if (!section || !window.htmx || !row.dataset.id) return;
    refocus = rows().indexOf(row);
    const url = section.dataset.triageUrl.replace("/0/", "/" + row.dataset.id + "/");
    window.htmx.ajax("POST", url, { source: row, values: values, swap: "none" }).then(function () {
      say(section.dataset[said]);
    });
  }

  document.addEventListener("htmx:afterSettle", function () {
    if (refocus === null || focusedRow()) return;
    const list = rows();
    if (list.length) list[Math.min(refocus, list.length - 1)].focus();
    refocus = null;
  });

  const actions = {
    j: function () { move(1); },
    k: function () { move(-1); },
    o: function () {
      if (rows().includes(document.activeElement)) document.activeElement.click();
    },
    e: function () {
      const row = focusedRow();
      if (row) triageRow(row, { action: "status", status: "closed" }, "saidClosed");
      else press("[data-shortcut='close']");
    },
    a: function () {
      const row = focusedRow();
      if (row) triageRow(row, { action: "assign", assignee: "me" }, "saidTaken");
      else press("[data-shortcut='take']");
    },
    r: function () {
      // The rich editor when it is the one shown (composer-rich.js), else the plain text.
      const rich = document.getElementById("composer-rich-body");
      const body = rich && rich.offsetParent !== null ? rich : document.getElementById("composer-body");
      if (body && body.offsetParent !== null) body.focus();
      else press("[data-shortcut='reply']");
    },
    z: function () { press("[data-shortcut='undo']"); },
    n: function () {
      const note = document.getElementById("note-body");
      if (note) note.focus();
    },
    "/": function () {
      const search = document.getElementById("search-q");
      if (search) search.focus();
    },
    "?": function () {
      const help = document.getElementById("shortcuts-help");
      if (help && !help.open) help.showModal();
    },
  };

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
})();
