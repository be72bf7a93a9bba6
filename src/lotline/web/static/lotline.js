// lotline's own small script: scanner-friendly focus, back links. No framework, no CDN.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // A scan field takes focus so a hand scanner can fire straight away (its Enter submits).
    var scan = document.querySelector("[data-scan]");
    if (scan && !document.querySelector("[autofocus]")) {
      scan.focus();
      scan.select();
    }
    document.querySelectorAll("[data-back]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (window.history.length > 1) {
          event.preventDefault();
          window.history.back();
        }
      });
    });
    // Submitting twice (a double tap, a bouncing scanner) must not send the form twice.
    document.querySelectorAll("form[method=post]").forEach(function (form) {
      form.addEventListener("submit", function () {
        form.querySelectorAll("button[type=submit]").forEach(function (button) {
          window.setTimeout(function () { button.disabled = true; }, 0);
        });
      });
    });
  });
})();
