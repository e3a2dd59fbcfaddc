// Rich text for a form (a message, a vacation reply): a contenteditable editor whose
// HTML goes in the hidden "html" field (sanitized again by the server) and whose text
// goes in the textarea, which is shown instead while rich text is off.
(function () {
  "use strict";

  function fromText(editor, textarea) {
    editor.textContent = "";
    textarea.value.split("\n").forEach(function (line) {
      var div = document.createElement("div");
      if (line) div.textContent = line; else div.appendChild(document.createElement("br"));
      editor.appendChild(div);
    });
  }

  // parts: form, toggle (checkbox), editor, wrap (holds the editor and its toolbar),
  // textarea, html (hidden input), onToggle (optional, called with the new state).
  window.webmailRichText = function (parts) {
    var form = parts.form, toggle = parts.toggle, editor = parts.editor, wrap = parts.wrap;
    var textarea = parts.textarea, html = parts.html;
    var textRow = textarea.closest("p");

    toggle.addEventListener("change", function () {
      if (parts.onToggle) parts.onToggle(toggle.checked);
      if (toggle.checked) {
        fromText(editor, textarea);
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
    function sync() {
      if (!toggle.checked) return;
      html.value = editor.innerHTML;
      textarea.value = editor.innerText;
    }
    form.addEventListener("submit", sync, true);
    form.addEventListener("formdata", sync);
    editor.addEventListener("input", sync);
  };
})();
