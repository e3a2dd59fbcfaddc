// Reading: a message opened from the list goes in the reading pane; when the pane is off or
// the screen is a phone's, it takes the list's place and Back (the button, the browser's, or
// Escape) returns to the list where it was. Quoted text is folded behind a "…" button.
// The HTML body's frame sizes itself (CSS frame-sizing): it needs nothing from here but a
// reload when its width changes, so its height is measured again.
(function () {
  "use strict";
  var PHONE = window.matchMedia("(max-width: 760px)");
  var webmail = (window.webmail = window.webmail || {});
  var pushed = false;

  function main() { return document.getElementById("main"); }
  function onePane() {
    var m = main();
    return !!m && (PHONE.matches || m.classList.contains("pane-off"));
  }
  function row(uid) { return document.querySelector('#bulk-form tr.msg[data-uid="' + uid + '"]'); }

  function openReader() {
    var m = main();
    if (!m) return;
    m.classList.add("reading");
    document.body.classList.add("reading");
    if (!pushed) {
      history.pushState({ webmailReader: true }, "");
      pushed = true;
    }
  }

  function closeReader(fromHistory) {
    var m = main();
    if (!m || !m.classList.contains("reading")) return;
    m.classList.remove("reading");
    document.body.classList.remove("reading");
    if (pushed && !fromHistory) history.back();
    pushed = false;
    var current = document.querySelector("#bulk-form tr.msg.cursor a.open, #bulk-form tr.msg.selected a.open");
    if (current) current.focus({ preventScroll: false });
  }
  webmail.closeReader = function () { closeReader(false); };

  document.addEventListener("click", function (event) {
    var back = event.target.closest && event.target.closest("[data-close-reader]");
    if (!back || !main()) return;
    event.preventDefault();
    closeReader(false);
  });
  window.addEventListener("popstate", function () { closeReader(true); });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    var t = event.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    if (document.querySelector(":popover-open, dialog[open]")) return;
    if (main() && main().classList.contains("reading")) closeReader(false);
  });
  // Another folder drawn (a boosted move): the reader is closed with the old page.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "app-body") {
      document.body.classList.remove("reading");
      pushed = false;
    }
  });
  // Switching the pane off, or back on, from the display menu.
  document.addEventListener("webmail:device", function (event) {
    if (event.detail.name === "pane" && !onePane()) closeReader(false);
  });

  // --- Quoted text: a reply's trailing quote is folded behind "…".
  function meaningfulAfter(node) {
    for (var n = node.nextSibling; n; n = n.nextSibling) {
      if (n.nodeType === 3 && n.textContent.trim()) return true;
      if (n.nodeType === 1 && !n.matches("blockquote.quote, br") && n.textContent.trim()) return true;
    }
    return false;
  }
  function foldQuotes(scope) {
    var pane = document.getElementById("reading-pane");
    var label = (pane && pane.dataset.quoteLabel) || "…";
    scope.querySelectorAll(".plain > blockquote.quote").forEach(function (quote) {
      if (quote.dataset.folding || meaningfulAfter(quote)) return;
      quote.dataset.folding = "1";
      quote.classList.add("folded");
      var id = "quote-" + Math.random().toString(36).slice(2, 9);
      quote.id = id;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "quote-toggle";
      button.textContent = "…";
      button.title = label;
      button.setAttribute("aria-label", label);
      button.setAttribute("aria-expanded", "false");
      button.setAttribute("aria-controls", id);
      quote.parentNode.insertBefore(button, quote);
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.quote-toggle");
    if (!button) return;
    var quote = document.getElementById(button.getAttribute("aria-controls"));
    if (!quote) return;
    var open = quote.classList.toggle("folded") === false;
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // --- The body frame: measured again (reloaded) when its width is no longer the one its
  // content was laid out at (the pane moved, the window narrowed, or the pane was still
  // settling when the frame loaded).
  var laidOut = new WeakMap();
  var resizer = window.ResizeObserver && window.CSS && CSS.supports && CSS.supports("frame-sizing", "content-height")
    ? new ResizeObserver(function (entries) {
      entries.forEach(function (entry) {
        var frame = entry.target;
        var width = frame.clientWidth;
        var at = laidOut.get(frame);
        if (at === undefined) laidOut.set(frame, width);  // loaded before it was watched
        if (at === undefined || Math.abs(at - width) < 2) return;
        clearTimeout(frame._reloadTimer);
        frame._reloadTimer = setTimeout(function () { frame.src = frame.getAttribute("src"); }, 250);
      });
    })
    : null;
  function watchFrames(scope) {
    if (!resizer) return;
    scope.querySelectorAll("iframe.mail-html").forEach(function (frame) {
      if (frame.dataset.watched) return;
      frame.dataset.watched = "1";
      frame.addEventListener("load", function () { laidOut.set(frame, frame.clientWidth); });
      resizer.observe(frame);
    });
  }

  function prepare(scope) {
    foldQuotes(scope);
    watchFrames(scope);
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target.closest || !target.closest("#reading-pane")) return;
    var pane = document.getElementById("reading-pane");
    prepare(pane);
    if (target !== pane) return;
    var msg = pane.querySelector("article.message, .conversation");
    if (!msg) return;
    document.querySelectorAll("tr.msg.selected").forEach(function (r) { r.classList.remove("selected"); });
    var r = row(msg.dataset.uid);
    if (r) {
      r.classList.add("selected");
      if (!msg.querySelector(".conv-fold.unread")) r.classList.remove("unread");
    }
    if (onePane()) openReader();
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form.matches || !form.matches("form.mark-unread-form") || !event.detail.successful) return;
    var msg = form.closest("article.message");
    var r = msg && row(msg.dataset.uid);
    if (r) r.classList.add("unread");
    if (onePane()) closeReader(false);
  });

  function init() {
    var pane = document.getElementById("reading-pane");
    if (!pane) return;
    if (pane.querySelector(".reader-empty")) pane.dataset.emptyHtml = pane.innerHTML;
    prepare(pane);
  }
  if (document.readyState !== "loading") init();
  else document.addEventListener("DOMContentLoaded", init);
})();
