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

  // Selects that submit their form on change (the button stays for keyboard users without JS).
  document.addEventListener("change", function (event) {
    const select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) {
      select.form.requestSubmit();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    // Toasts fade after a while; errors stay until dismissed.
    document.querySelectorAll(".toast:not(.toast-error)").forEach(function (toast) {
      window.setTimeout(function () { toast.classList.add("toast-hide"); }, 6000);
    });
  });
})();
