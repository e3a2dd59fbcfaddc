// The vacation reply's rich text (static/compose/richtext.js): its HTML goes in the
// hidden "html" field (sanitized again by the server); the text part is its text.
(function () {
  "use strict";

  function init() {
    var form = document.querySelector("form.vacation-form");
    var toggle = document.getElementById("vacation-rich");
    var editor = document.getElementById("vacation-editor");
    if (!form || !toggle || !editor) return;
    var textarea = form.querySelector("textarea[name=text]");
    var html = form.querySelector("input[name=html]");
    if (toggle.checked && html.value) {
      editor.innerHTML = html.value; // sanitized by the server before it was put in the page
      textarea.closest("p").hidden = true;
    }
    window.webmailRichText({
      form: form,
      toggle: toggle,
      editor: editor,
      wrap: form.querySelector("[data-vacation-rich]"),
      textarea: textarea,
      html: html,
    });
  }
  if (document.readyState !== "loading") init();
  else document.addEventListener("DOMContentLoaded", init);
})();
