// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Forms whose button asks for confirmation first.
  document.addEventListener("submit", function (event) {
    const button = event.submitter;
    const message = button && button.dataset.confirm;
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // Header menus (details/summary): Escape closes the open one and gives the focus back to its
  // summary; a click elsewhere, or opening another, closes it.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    const open = document.querySelector(".topbar details.menu[open]");
    if (open) {
      open.open = false;
      open.querySelector("summary").focus();
    }
  });
  document.addEventListener("click", function (event) {
    document.querySelectorAll(".topbar details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) {
        menu.open = false;
      }
    });
  });

  // Selects that submit their form on change (the button stays for keyboard users without JS).
  document.addEventListener("change", function (event) {
    const select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) {
      select.form.requestSubmit();
    }
  });

  // The list refreshes itself (htmx polling): not once the person has loaded more pages,
  // and keeping the keyboard focus on the same row.
  document.addEventListener("htmx:beforeRequest", function (event) {
    const results = document.getElementById("conv-results");
    // Nor while conversations are ticked for a bulk action.
    if (
      event.detail.elt === results &&
      results.querySelector(".conv-list[data-paged], .conv-tick:checked")
    ) {
      event.preventDefault();
    }
    // The open conversation is not refreshed under a menu someone is using.
    const live = document.getElementById("conv-live");
    if (event.detail.elt === live && live.querySelector("details[open]")) {
      event.preventDefault();
    }
  });

  // A form marked data-reset-after empties itself once htmx has posted it successfully.
  document.addEventListener("htmx:afterRequest", function (event) {
    const form = event.detail.elt;
    if (form.matches && form.matches("form[data-reset-after]") && event.detail.successful) {
      form.reset();
    }
  });
  document.addEventListener("click", function (event) {
    const more = event.target.closest("#more a");
    const list = more && more.closest(".conv-list");
    if (list) list.dataset.paged = "1";
  });
  let focused = null;
  document.addEventListener("htmx:beforeSwap", function () {
    const row = document.activeElement && document.activeElement.closest(".conv-row");
    focused = row ? row.getAttribute("href") : null;
  });
  document.addEventListener("htmx:afterSwap", function () {
    if (!focused) return;
    const row = document.querySelector('.conv-row[href="' + focused + '"]');
    if (row) row.focus();
  });

  // Bulk bar: shown once a conversation is ticked, with only the field its action needs.
  function updateBulk() {
    const bar = document.getElementById("bulk");
    if (!bar) return;
    bar.hidden = !document.querySelector(".conv-tick:checked");
    const action = bar.querySelector("[name=action]").value;
    bar.querySelectorAll("[data-bulk-for]").forEach(function (field) {
      const on = field.dataset.bulkFor === action;
      field.hidden = !on;
      field.disabled = !on;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches(".conv-tick, #bulk [name=action]")) updateBulk();
  });
  document.addEventListener("htmx:afterSwap", updateBulk);

  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    updateBulk();
    // Toasts fade after a while; errors stay until dismissed.
    document.querySelectorAll(".toast:not(.toast-error)").forEach(function (toast) {
      window.setTimeout(function () { toast.classList.add("toast-hide"); }, 6000);
    });
  });
})();
