// The composer's rich text (Quill 2, served from npm without a bundler): bold, italic, lists,
// links, quotes; pasted or dropped images become part of the message (the server turns them
// into cid: parts). The editor's HTML goes in the form's "html" field, sanitised by the server,
// which also derives the plain-text alternative. "Formatting: on/off" switches between it and
// the plain textarea (which is all there is without JavaScript); it is on unless the person
// turned it off (remembered in this browser).
(function () {
  "use strict";

  const REMEMBER = "trupeo-composer-rich";
  let quill = null;

  function parts() {
    return {
      form: document.getElementById("composer-form"),
      body: document.getElementById("composer-body"),
      html: document.getElementById("composer-html"),
      rich: document.getElementById("composer-rich"),
      editor: document.getElementById("composer-editor"),
      toggle: document.getElementById("composer-rich-toggle"),
    };
  }

  function sync() {
    const p = parts();
    if (!quill || !p.html) return;
    const written = quill.getText().trim() !== "" || quill.root.querySelector("img") !== null;
    // Quill 2.0 writes every space as &nbsp; in its semantic HTML: plain spaces read and wrap better.
    p.html.value = written ? quill.getSemanticHTML().replace(/&nbsp;/g, " ") : "";
    p.body.value = quill.getText().replace(/\n$/, "");
    // The autosave listens for input on the form's fields.
    p.html.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function setToggle(p, on) {
    p.toggle.setAttribute("aria-pressed", on ? "true" : "false");
    p.toggle.textContent = on ? p.toggle.dataset.on : p.toggle.dataset.off;
  }

  function turnOn(p, focus) {
    if (!window.Quill || quill) return;
    p.rich.hidden = false;
    p.body.hidden = true;
    p.html.disabled = false;
    quill = new window.Quill(p.editor, {
      theme: "snow",
      placeholder: p.editor.dataset.placeholder || "",
      modules: { toolbar: "#composer-toolbar" },
    });
    const root = quill.root;
    root.setAttribute("role", "textbox");
    root.setAttribute("aria-multiline", "true");
    root.setAttribute("aria-labelledby", "composer-body-label");
    root.id = "composer-rich-body";
    if (p.html.value.trim()) {
      // Sanitised by the server (inbox/mail/rich_text.py) before it was stored.
      quill.clipboard.dangerouslyPasteHTML(p.html.value, "silent");
    } else if (p.body.value) {
      quill.setText(p.body.value + "\n", "silent");
    }
    quill.keyboard.addBinding({ key: "k", shortKey: true }, function () {
      quill.getModule("toolbar").handlers.link.call(quill.getModule("toolbar"), true);
    });
    quill.on("text-change", sync);
    setToggle(p, true);
    if (focus) quill.focus();
  }

  function turnOff(p) {
    if (!quill) return;
    p.body.value = quill.getText().replace(/\n$/, "");
    p.html.value = "";  // posted once empty: the draft goes back to plain text
    quill = null;
    p.rich.hidden = true;
    p.body.hidden = false;
    // Quill leaves its toolbar and container classes: start afresh next time.
    p.editor.replaceWith(p.editor.cloneNode(false));
    const toolbar = document.getElementById("composer-toolbar");
    if (toolbar) toolbar.classList.remove("ql-toolbar", "ql-snow");
    setToggle(p, false);
    p.body.dispatchEvent(new Event("input", { bubbles: true }));
    p.body.focus();
  }

  function setUp(focus) {
    const p = parts();
    if (!p.form || !p.toggle || p.form.dataset.richReady) return;
    p.form.dataset.richReady = "1";
    quill = null;
    p.toggle.hidden = false;
    let remembered = false;
    try {
      // On unless this person turned it off (the plain textarea is one click away).
      remembered = window.localStorage.getItem(REMEMBER) !== "0";
    } catch (error) {
      remembered = true;
    }
    if (p.html.value.trim() || remembered) turnOn(p, focus);
  }

  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("#composer-rich-toggle")) return;
    const p = parts();
    const on = !quill;
    if (on) turnOn(p, true);
    else turnOff(p);
    try {
      window.localStorage.setItem(REMEMBER, on ? "1" : "0");
    } catch (error) {
      // Private browsing: not remembered, nothing else changes.
    }
  });

  // A composer opened or swapped in by htmx, or on its own page.
  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    if (target && (target.id === "composer-slot" || target.id === "composer-form")) {
      // The keyboard goes to the editor when a reply button opened it, not on page load.
      const opened = event.detail.requestConfig && event.detail.requestConfig.elt;
      setUp(Boolean(opened && opened.closest && opened.closest(".composer-actions")));
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    setUp(false);
  });

  // Saved replies (static/js/composer.js) go where the cursor is in the editor.
  window.TrupeoRich = {
    active: function () {
      return quill !== null && document.body.contains(quill.root);
    },
    insert: function (text) {
      const range = quill.getSelection(true);
      const at = range ? range.index : quill.getLength() - 1;
      quill.insertText(at, text, "user");
      quill.setSelection(at + text.length, 0, "user");
    },
    cursor: function () {
      const range = quill.getSelection();
      return range ? range.index : quill.getLength() - 1;
    },
    textBefore: function () {
      return quill.getText(0, this.cursor());
    },
    removeChar: function (index, character) {
      if (quill.getText(index, 1) === character) quill.deleteText(index, 1, "user");
      quill.setSelection(index, 0, "user");
    },
    focusAt: function (index) {
      quill.focus();
      if (index !== null) quill.setSelection(index, 0, "user");
    },
  };
})();
