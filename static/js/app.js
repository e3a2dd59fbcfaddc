// Our own script: no inline handlers anywhere, so the CSP can forbid them.
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // Selects marked data-autosubmit submit their form on change.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el && el.matches && el.matches("select[data-autosubmit]") && el.form) {
      if (el.form.requestSubmit) el.form.requestSubmit();
      else el.form.submit();
    }
  });

  // Phone layout: the folder pane slides in over the list.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-toggle-folders]");
    if (!button) return;
    var open = document.body.classList.toggle("show-folders");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });

  onReady(function () {
    document.body.classList.remove("show-folders");
  });
})();
