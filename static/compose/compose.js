// Address completion in To/Cc/Bcc: suggestions for the address being typed
// (the last one in the field), offered through the field's <datalist>.
(function () {
  "use strict";
  var timer = null;

  function lastToken(value) {
    var cut = Math.max(value.lastIndexOf(","), value.lastIndexOf(";"));
    return { head: cut >= 0 ? value.slice(0, cut + 1) + " " : "", token: value.slice(cut + 1).trim() };
  }

  function fill(list, head, suggestions) {
    while (list.firstChild) list.removeChild(list.firstChild);
    suggestions.forEach(function (s) {
      var option = document.createElement("option");
      option.value = head + s + ", ";
      list.appendChild(option);
    });
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    var form = input.closest && input.closest("form[data-suggest-url]");
    if (!form || input.getAttribute("list") !== "address-suggestions") return;
    var parts = lastToken(input.value);
    clearTimeout(timer);
    if (parts.token.length < 2) return;
    timer = setTimeout(function () {
      var url = form.dataset.suggestUrl + "?q=" + encodeURIComponent(parts.token);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (data) { fill(document.getElementById("address-suggestions"), parts.head, data.suggestions || []); })
        .catch(function () {});
    }, 150);
  });
})();

// Drafts save themselves every 30 seconds while the text or the attachments change
// (the attachments are already on the server: only their tokens travel).
(function () {
  "use strict";
  var INTERVAL = 30000;

  function snapshot(form) {
    var data = new FormData(form);
    data.delete("attachments");
    return Array.from(data.entries()).map(function (kv) { return kv[0] + "=" + kv[1]; }).join("&");
  }

  function start(form) {
    var last = snapshot(form);
    setInterval(function () {
      var now = snapshot(form);
      if (now === last) return;
      var data = new FormData(form);
      data.delete("attachments");
      data.set("action", "save");
      fetch(form.getAttribute("action"), {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-Autosave": "1", Accept: "application/json" },
      })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (reply) {
          if (!reply || !reply.saved) return;
          last = now;
          var uid = form.querySelector("input[name=draft_uid]");
          if (uid && reply.draft_uid) uid.value = reply.draft_uid;
          var status = document.getElementById("autosave-status");
          if (status) status.textContent = status.dataset.savedText + " " + new Date().toLocaleTimeString();
        })
        .catch(function () {});
    }, INTERVAL);
  }

  function init() {
    var form = document.querySelector("form.compose-form");
    if (form) start(form);
  }
  if (document.readyState !== "loading") init();
  else document.addEventListener("DOMContentLoaded", init);
})();

// (form.action would be the submit buttons named "action": read the attribute.)
// Attachments are uploaded when chosen and kept server-side (webmail/compose/staging.py):
// the form carries their tokens, so a form sent back with an error keeps every file.
// The limits are known here, so a file over them is refused at once, before any upload.
(function () {
  "use strict";

  function human(size) {
    if (size < 1024) return size + " B";
    if (size < 1048576) return (size / 1024).toFixed(0) + " KB";
    return (size / 1048576).toFixed(1) + " MB";
  }

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, key) { return values[key]; });
  }

  function init() {
    var form = document.querySelector("form.compose-form");
    var input = form && form.querySelector("input[name=attachments]");
    var list = document.getElementById("attachment-list");
    var bar = document.getElementById("upload-progress");
    var errorBox = document.getElementById("attachment-error");
    if (!form || !input || !list || !input.dataset.uploadUrl) return;
    var maxBytes = function () { return Number(input.dataset.maxBytes); };
    var maxCount = function () { return Number(input.dataset.maxCount); };
    var buttons = form.querySelectorAll("button[name=action]");
    var pending = 0;
    var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

    function say(text) { errorBox.textContent = text; errorBox.hidden = !text; }
    function busy(delta) {
      pending += delta;
      buttons.forEach(function (b) { b.disabled = pending > 0; });
      if (bar) bar.hidden = pending === 0;
    }
    function items() { return Array.from(list.querySelectorAll("li")); }
    function total() { return items().reduce(function (sum, li) { return sum + Number(li.dataset.size || 0); }, 0); }

    function row(name, size) {
      var li = document.createElement("li");
      li.dataset.size = size;
      var label = document.createElement("span");
      label.className = "attachment-name";
      label.textContent = name;
      li.appendChild(label);
      li.appendChild(document.createTextNode(" (" + human(size) + ") "));
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link remove-attachment";
      remove.textContent = list.dataset.removeText || "×";
      li.appendChild(remove);
      return li;
    }

    function upload(file) {
      var li = row(file.name, file.size);
      li.classList.add("uploading");
      list.appendChild(li);
      var data = new FormData();
      data.append("csrfmiddlewaretoken", csrf);
      form.querySelectorAll("input[name=staged]").forEach(function (s) { data.append("staged", s.value); });
      data.append("attachments", file);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", input.dataset.uploadUrl);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && bar) bar.value = e.loaded / e.total;
      });
      xhr.addEventListener("loadend", function () {
        busy(-1);
        var reply = null;
        try { reply = JSON.parse(xhr.responseText); } catch (e) { reply = null; }
        if (xhr.status === 200 && reply && reply.token && !li.isConnected) {
          discard(reply.token);  // removed while it was uploading
        } else if (xhr.status === 200 && reply && reply.token) {
          var hidden = document.createElement("input");
          hidden.type = "hidden"; hidden.name = "staged"; hidden.value = reply.token;
          li.insertBefore(hidden, li.firstChild);
          li.dataset.token = reply.token;
          li.classList.remove("uploading");
        } else {
          li.remove();
          say((reply && reply.error) || input.dataset.failedText);
        }
      });
      busy(1);
      xhr.send(data);
    }

    input.addEventListener("change", function () {
      say("");
      var refused = [];
      Array.from(input.files).forEach(function (file) {
        var values = { name: file.name, size: human(file.size), limit: maxBytes() / 1048576, count: maxCount() };
        if (items().length >= maxCount()) refused.push(fill(input.dataset.tooManyText, values));
        else if (total() + file.size > maxBytes()) refused.push(fill(input.dataset.tooBigText, values));
        else upload(file);
      });
      if (refused.length) say(refused.join(" "));
      input.value = "";  // uploaded already: the form itself carries only the tokens
    });

    list.addEventListener("click", function (event) {
      var button = event.target.closest("button.remove-attachment");
      if (!button) return;
      var li = button.closest("li");
      li.remove();
      if (li.dataset.token) discard(li.dataset.token);
    });

    function discard(token) {
      var data = new FormData();
      data.append("csrfmiddlewaretoken", csrf);
      data.append("token", token);
      fetch(input.dataset.discardUrl, { method: "POST", body: data, credentials: "same-origin" }).catch(function () {});
    }
  }
  if (document.readyState !== "loading") init();
  else document.addEventListener("DOMContentLoaded", init);
})();

// Simple rich text: a contenteditable editor whose HTML goes in the hidden
// "html" field; the plain-text part is the editor's text.
(function () {
  "use strict";

  function init() {
    var form = document.querySelector("form.compose-form");
    var toggle = document.getElementById("rich-mode");
    var editor = document.getElementById("rich-editor");
    if (!form || !toggle || !editor) return;
    var wrap = editor.closest(".rich-wrap");
    var textarea = form.querySelector("textarea[name=text]");
    var html = form.querySelector("input[name=html]");
    var textRow = textarea.closest("p");

    toggle.addEventListener("change", function () {
      if (toggle.checked) {
        editor.textContent = "";
        textarea.value.split("\n").forEach(function (line) {
          var div = document.createElement("div");
          if (line) div.textContent = line; else div.appendChild(document.createElement("br"));
          editor.appendChild(div);
        });
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

    // Runs before the upload handler (registered later), so both paths send the HTML.
    form.addEventListener("submit", sync, true);
    form.addEventListener("formdata", sync);
    function sync() {
      if (!toggle.checked) return;
      html.value = editor.innerHTML;
      textarea.value = editor.innerText;
    }
  }
  if (document.readyState !== "loading") init();
  else document.addEventListener("DOMContentLoaded", init);
})();

// Changing the From swaps the signature block ("-- " line and what follows it,
// as the server inserted it) for the new identity's, in the plain-text body.
(function () {
  "use strict";
  var data = document.getElementById("identity-signatures");
  var select = document.querySelector("form.compose-form select[name=identity]");
  var text = document.querySelector("form.compose-form textarea[name=text]");
  if (!data || !select || !text) return;
  var signatures = JSON.parse(data.textContent);
  var current = select.value;
  // Textareas hold "\n" line ends; a signature saved from a form has "\r\n".
  function block(value) { var sig = (signatures[value] || "").replace(/\r\n?/g, "\n"); return sig ? "\n\n-- \n" + sig : ""; }
  // The quoted original (reply, forward) the page started with: a signature goes above it.
  var quoted = text.value;
  if (block(current) && quoted.indexOf(block(current)) === 0) quoted = quoted.slice(block(current).length);
  select.addEventListener("change", function () {
    var before = block(current), after = block(select.value);
    current = select.value;
    if (before === after) return;
    var body = text.value;
    var at = before ? body.indexOf(before) : -1;
    if (at !== -1) {
      text.value = body.slice(0, at) + after + body.slice(at + before.length);
    } else if (after) {
      var cut = quoted.trim() && body.slice(-quoted.length) === quoted ? body.length - quoted.length : body.length;
      text.value = body.slice(0, cut).replace(/\s+$/, "") + after + body.slice(cut);
    }
  });
})();
