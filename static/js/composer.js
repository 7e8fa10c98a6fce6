// The composer: saved replies inserted at the cursor, files checked against the size limit
// before they are sent, the body focused when a reply opens, and the presence heartbeat told
// whether this person is replying. The server does the work; every form works without this.
(function () {
  "use strict";

  function composer() {
    return document.getElementById("composer-form");
  }

  // The heartbeat says "replying" while a composer is open on the page.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "presence") {
      event.detail.parameters.activity = composer() ? "replying" : "viewing";
    }
  });

  // The same people as before: no swap, so screen readers do not hear it again every 5 s.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    if (target && target.id === "presence" && event.detail.xhr) {
      const incoming = document.createElement("div");
      incoming.innerHTML = event.detail.xhr.responseText;
      if (incoming.textContent.trim() === target.textContent.trim()) event.detail.shouldSwap = false;
    }
  });

  function heartbeatNow() {
    if (window.htmx && document.getElementById("presence")) {
      window.htmx.trigger(document.body, "presence-now");
    }
  }

  // A reply that opens gets the keyboard, and teammates hear about it at once.
  document.addEventListener("htmx:afterSwap", function (event) {
    const opened = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (event.detail.target && event.detail.target.id === "composer-slot" && composer()) {
      heartbeatNow();
      if (opened && opened.closest && opened.closest(".composer-actions")) {
        const body = document.getElementById("composer-body");
        if (body) {
          body.focus();
          body.setSelectionRange(0, 0);
        }
      }
    }
  });

  let announced = false;
  document.addEventListener("input", function (event) {
    if (!announced && event.target.closest && event.target.closest("#composer-form")) {
      announced = true;
      heartbeatNow();
    }
  });

  function insertAtCursor(field, text) {
    if (window.TrupeoRich && window.TrupeoRich.active()) {
      window.TrupeoRich.insert(text);  // the rich editor (composer-rich.js) is the one shown
      return;
    }
    const start = field.selectionStart;
    const end = field.selectionEnd;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.selectionStart = field.selectionEnd = start + text.length;
    field.focus();
    // The autosave listens for input.
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // "#" typed at the start of a word in the message opens the saved replies with a filter;
  // Enter inserts the first one shown (in place of the "#"), Escape goes back keeping it.
  let hashAt = -1;

  function visibleReplies() {
    return Array.from(document.querySelectorAll("#composer-saved-list li")).filter(function (li) {
      return !li.hidden;
    });
  }

  function filterReplies(text) {
    const wanted = text.trim().toLowerCase();
    document.querySelectorAll("#composer-saved-list li").forEach(function (li) {
      li.hidden = wanted !== "" && !li.textContent.toLowerCase().includes(wanted);
    });
  }

  function rich() {
    return window.TrupeoRich && window.TrupeoRich.active() ? window.TrupeoRich : null;
  }

  function backToBody(keepHash) {
    const body = document.getElementById("composer-body");
    const picker = document.querySelector(".composer-saved");
    if (picker) picker.open = false;
    if (rich()) {
      rich().focusAt(keepHash && hashAt >= 0 ? hashAt + 1 : null);
    } else if (body) {
      body.focus();
      if (keepHash && hashAt >= 0) body.selectionStart = body.selectionEnd = hashAt + 1;
    }
    hashAt = -1;
  }

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    const inRich = target.id === "composer-rich-body" && rich();
    if ((target.id === "composer-body" || inRich) && event.key === "#" && !event.ctrlKey && !event.metaKey && !event.altKey) {
      const before = inRich ? rich().textBefore() : target.value.slice(0, target.selectionStart);
      const picker = document.querySelector(".composer-saved");
      const filter = document.getElementById("composer-saved-filter");
      if ((before && !/\s$/.test(before)) || !picker || !filter) return;
      hashAt = inRich ? rich().cursor() : target.selectionStart;  // the "#" is typed as usual
      window.setTimeout(function () {
        picker.open = true;
        filter.value = "";
        filterReplies("");
        filter.focus();
      }, 0);
    } else if (target.id === "composer-saved-filter") {
      if (event.key === "Enter") {
        event.preventDefault();
        const first = visibleReplies()[0];
        if (first) first.querySelector("[data-insert]").click();
      } else if (event.key === "Escape") {
        event.preventDefault();
        backToBody(true);
      }
    }
  });
  document.addEventListener("input", function (event) {
    if (event.target.id === "composer-saved-filter") filterReplies(event.target.value);
  });

  // Ctrl+Enter (⌘+Enter) sends, as in most mail clients; the checks before sending still apply.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    if (!event.target.closest || !event.target.closest("#composer-form")) return;
    const send = document.getElementById("composer-send");
    if (send) {
      event.preventDefault();
      send.click();
    }
  });

  // Saved replies: fetched with their variables filled in, inserted where the cursor is.
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-insert]");
    if (!button) return;
    event.preventDefault();
    const body = document.getElementById("composer-body");
    const warnings = document.getElementById("composer-insert-warnings");
    if (rich() && hashAt >= 0) {
      rich().removeChar(hashAt, "#");
    } else if (body && hashAt >= 0 && body.value.charAt(hashAt) === "#") {
      // Picked after typing "#": the reply takes the place of the "#".
      body.value = body.value.slice(0, hashAt) + body.value.slice(hashAt + 1);
      body.selectionStart = body.selectionEnd = hashAt;
    }
    hashAt = -1;
    fetch(button.dataset.insert, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        if (body) insertAtCursor(body, data.text);
        if (warnings) warnings.textContent = data.warnings.join(" ");
        const details = button.closest("details");
        if (details) details.open = false;
      })
      .catch(function () {
        if (warnings) warnings.textContent = button.dataset.failed || "";
      });
  });

  // Files over the limit are refused here at once (the server refuses them too).
  document.addEventListener("htmx:confirm", function (event) {
    const input = event.detail.elt;
    if (!input || input.id !== "composer-file" || !input.files) return;
    const limit = Number(input.dataset.maxBytes || 0);
    let total = 0;
    for (const file of input.files) total += file.size;
    if (limit && total > limit) {
      event.preventDefault();
      input.value = "";
      const box = document.getElementById("composer-attachments");
      if (box) {
        const error = document.createElement("p");
        error.className = "field-errors";
        error.setAttribute("role", "alert");
        error.textContent = input.dataset.tooLarge || "";
        box.appendChild(error);
      }
    }
  });
  // Leaving the page says so at once, rather than lingering until the entry expires.
  window.addEventListener("pagehide", function () {
    const presence = document.getElementById("presence");
    if (!presence || !navigator.sendBeacon) return;
    const data = new FormData();
    data.append("activity", "leave");
    try {
      const headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      data.append("csrfmiddlewaretoken", headers["X-CSRFToken"] || "");
    } catch (error) {
      return;
    }
    navigator.sendBeacon(presence.getAttribute("hx-post"), data);
  });

  // A file sent once is cleared from the picker, so that saving does not send it again.
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "composer-file") event.detail.elt.value = "";
  });
})();
