// The contact form asks which right only for a GDPR request (the server checks it anyway).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var subject = document.getElementById("id_subject");
    var right = document.getElementById("id_gdpr_right");
    if (!subject || !right) return;
    var field = right.closest(".field");
    function sync() { field.hidden = subject.value !== "gdpr"; }
    subject.addEventListener("change", sync);
    sync();
  });
})();
