// Keyboard shortcuts: j/k move, o or Enter opens, e closes, a takes it, r replies, z undoes a
// send still in its undo window, n writes a note,
// / searches, ? shows the list. Buttons and links do the work; this only presses them.
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

  const actions = {
    j: function () { move(1); },
    k: function () { move(-1); },
    o: function () {
      if (rows().includes(document.activeElement)) document.activeElement.click();
    },
    e: function () { press("[data-shortcut='close']"); },
    a: function () { press("[data-shortcut='take']"); },
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
