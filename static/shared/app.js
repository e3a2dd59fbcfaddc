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

  // A folder chosen from the slid-in pane swaps the whole page (hx-boost): close the pane.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === document.body) document.body.classList.remove("show-folders");
  });
})();

// Reading pane behaviour, kept outside the IIFE above for clarity.
(function () {
  "use strict";
  var PHONE = window.matchMedia("(max-width: 760px)");

  function row(uid) {
    return document.querySelector('tr.msg[data-uid="' + uid + '"]');
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var el = event.detail.elt;
    // On a phone the reading pane is hidden: open the message as a full page.
    if (PHONE.matches && el.matches && el.matches("a.open")) {
      event.preventDefault();
      window.location.href = el.getAttribute("href");
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "reading-pane") return;
    var msg = event.detail.target.querySelector("article.message");
    if (!msg) return;
    document.querySelectorAll("tr.msg.selected").forEach(function (r) { r.classList.remove("selected"); });
    var r = row(msg.dataset.uid);
    if (r) { r.classList.remove("unread"); r.classList.add("selected"); }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form.matches || !form.matches("form.mark-unread-form") || !event.detail.successful) return;
    var msg = form.closest("article.message");
    var r = msg && row(msg.dataset.uid);
    if (r) r.classList.add("unread");
  });
})();
