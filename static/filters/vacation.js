// The vacation reply's rich text: a contenteditable editor whose HTML goes in the
// hidden "html" field (sanitized again by the server); the text part is its text.
(function () {
  "use strict";

  function init() {
    var form = document.querySelector("form.vacation-form");
    var toggle = document.getElementById("vacation-rich");
    var editor = document.getElementById("vacation-editor");
    if (!form || !toggle || !editor) return;
    var wrap = form.querySelector("[data-vacation-rich]");
    var textarea = form.querySelector("textarea[name=text]");
    var html = form.querySelector("input[name=html]");
    var textRow = textarea.closest("p");

    function fromText() {
      editor.textContent = "";
      textarea.value.split("\n").forEach(function (line) {
        var div = document.createElement("div");
        if (line) div.textContent = line; else div.appendChild(document.createElement("br"));
        editor.appendChild(div);
      });
    }

    if (toggle.checked && html.value) {
      editor.innerHTML = html.value; // sanitized by the server before it was put in the page
      textRow.hidden = true;
    }

    toggle.addEventListener("change", function () {
      if (toggle.checked) {
        fromText();
        wrap.hidden = false; textRow.hidden = true; editor.focus();
      } else {
        textarea.value = editor.innerText; html.value = "";
        wrap.hidden = true; textRow.hidden = false;
      }
    });

    wrap.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-command]");
      if (!button) return;
      var value = null;
      if (button.dataset.prompt) {
        value = window.prompt(button.dataset.prompt, "https://");
        if (!value) return;
      }
      document.execCommand(button.dataset.command, false, value);
      editor.focus();
    });

    form.addEventListener("submit", function () {
      if (!toggle.checked) return;
      html.value = editor.innerHTML;
      textarea.value = editor.innerText;
    }, true);
  }
  if (document.readyState !== "loading") init();
  else document.addEventListener("DOMContentLoaded", init);
})();
