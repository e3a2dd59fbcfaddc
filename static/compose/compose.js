// Writing mail: the compose form, on its own page or in a panel over the mailbox.
//
// - Recipients (To, Cc, Bcc) become chips, with suggestions as one types; the real field
//   keeps the addresses, comma-separated, so the form sends what it always sent.
// - Attachments are uploaded as soon as they are chosen, dropped or pasted, each with its
//   progress bar; a file over the limits is refused before any upload
//   (webmail/compose/staging.py keeps them server-side, the form carries their tokens).
// - Drafts save themselves every 30 s while something changes; Ctrl+Enter sends.
// - On the mailbox page (not on a phone) "Write", "Reply"... open the panel, so the list
//   stays where it was; the form is sent with fetch and the panel closes with a notice.
(function () {
  "use strict";
  var webmail = (window.webmail = window.webmail || {});
  var PHONE = window.matchMedia("(max-width: 760px)");
  var AUTOSAVE_MS = 30000;

  function csrf(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function icon(name) { return webmail.icon ? webmail.icon(name) : document.createTextNode(""); }

  // --- Addresses: "Name <a@b>, c@d; \"Last, First\" <e@f>" -> one string per address.
  function splitAddresses(text) {
    var out = [], current = "", quoted = false, angle = false;
    for (var i = 0; i < text.length; i++) {
      var ch = text[i];
      if (ch === '"' && text[i - 1] !== "\\") quoted = !quoted;
      else if (ch === "<" && !quoted) angle = true;
      else if (ch === ">" && !quoted) angle = false;
      if ((ch === "," || ch === ";") && !quoted && !angle) {
        if (current.trim()) out.push(current.trim());
        current = "";
      } else {
        current += ch;
      }
    }
    if (current.trim()) out.push(current.trim());
    return out;
  }
  function labelOf(address) {
    var m = /^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$/.exec(address);
    if (m && m[1].trim()) return m[1].trim();
    return m ? m[2] : address;
  }
  function looksValid(address) {
    var m = /<([^>]*)>\s*$/.exec(address);
    return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test((m ? m[1] : address).trim());
  }

  // --- Chips for one recipients field.
  var chipCount = 0;
  function chipField(source, form) {
    chipCount += 1;
    var field = source.closest(".field");
    var box = document.createElement("div");
    box.className = "chips";
    box.dataset.chipsFor = source.id;
    var list = document.createElement("span");
    list.className = "chip-list";
    var input = document.createElement("input");
    input.type = "text";
    input.className = "chip-input";
    input.autocomplete = "off";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    var suggestions = document.createElement("ul");
    suggestions.className = "suggestions";
    suggestions.id = "suggest-" + chipCount;
    suggestions.setAttribute("role", "listbox");
    suggestions.hidden = true;
    input.setAttribute("aria-controls", suggestions.id);
    // The label now names the visible input; the real field is hidden, still in the form.
    var id = source.id;
    source.id = id + "-value";
    input.id = id;
    source.hidden = true;
    box.appendChild(list);
    box.appendChild(input);
    source.insertAdjacentElement("afterend", box);
    box.insertAdjacentElement("afterend", suggestions);

    function values() { return Array.prototype.map.call(list.children, function (c) { return c.dataset.value; }); }
    function sync() {
      var all = values();
      if (input.value.trim()) all.push(input.value.trim());
      source.value = all.join(", ");
      source.dispatchEvent(new Event("input", { bubbles: true }));
    }
    function addChip(value) {
      var chip = document.createElement("span");
      chip.className = "chip" + (looksValid(value) ? "" : " invalid");
      chip.dataset.value = value;
      chip.title = value;
      var text = document.createElement("span");
      text.className = "chip-label";
      text.textContent = labelOf(value);
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "chip-remove";
      remove.setAttribute("aria-label", (form.dataset.removeChipText || "Remove") + " " + value);
      remove.appendChild(icon("x"));
      chip.appendChild(text);
      chip.appendChild(remove);
      list.appendChild(chip);
    }
    function commit() {
      var typed = input.value;
      if (!typed.trim()) return false;
      splitAddresses(typed).forEach(addChip);
      input.value = "";
      hideSuggestions();
      sync();
      return true;
    }
    splitAddresses(source.value).forEach(addChip);

    // Suggestions for the address being typed.
    var timer = null, active = -1;
    function options() { return Array.prototype.slice.call(suggestions.querySelectorAll("[role=option]")); }
    function hideSuggestions() {
      suggestions.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function highlight(index) {
      var opts = options();
      if (!opts.length) return;
      active = (index + opts.length) % opts.length;
      opts.forEach(function (o, i) { o.setAttribute("aria-selected", i === active ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", opts[active].id);
    }
    function pick(value) {
      input.value = "";
      addChip(value);
      hideSuggestions();
      sync();
      input.focus();
    }
    function show(found) {
      suggestions.textContent = "";
      found.forEach(function (value, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.id = suggestions.id + "-" + i;
        li.dataset.value = value;
        li.textContent = value;
        suggestions.appendChild(li);
      });
      suggestions.hidden = !found.length;
      input.setAttribute("aria-expanded", found.length ? "true" : "false");
      active = -1;
    }
    input.addEventListener("input", function () {
      // A typed or pasted separator ends an address.
      if (/[,;]\s*$/.test(input.value) || splitAddresses(input.value).length > 1) commit();
      sync();
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { hideSuggestions(); return; }
      timer = setTimeout(function () {
        fetch(form.dataset.suggestUrl + "?q=" + encodeURIComponent(q), {
          credentials: "same-origin", headers: { Accept: "application/json", "X-Quiet": "1" },
        })
          .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
          .then(function (data) { if (input.value.trim() === q) show(data.suggestions || []); })
          .catch(function () {});
      }, 150);
    });
    input.addEventListener("keydown", function (event) {
      var open = !suggestions.hidden;
      if (event.key === "ArrowDown" && open) { highlight(active + 1); event.preventDefault(); }
      else if (event.key === "ArrowUp" && open) { highlight(active - 1); event.preventDefault(); }
      else if (event.key === "Escape" && open) { hideSuggestions(); event.stopPropagation(); event.preventDefault(); }
      else if ((event.key === "Enter" || event.key === "Tab") && open && options().length && !(event.ctrlKey || event.metaKey)) {
        pick(options()[Math.max(active, 0)].dataset.value); // Enter takes the first suggestion
        event.preventDefault();
      } else if (event.key === "Enter" && !(event.ctrlKey || event.metaKey)) {
        if (commit()) event.preventDefault();
        else if (input.value === "") event.preventDefault(); // Enter never sends the form from here
      } else if (event.key === "Backspace" && input.value === "" && list.lastElementChild) {
        // Back into the last chip, to correct it.
        input.value = list.lastElementChild.dataset.value;
        list.lastElementChild.remove();
        sync();
        event.preventDefault();
      }
    });
    input.addEventListener("blur", function () { setTimeout(function () { commit(); hideSuggestions(); }, 150); });
    suggestions.addEventListener("mousedown", function (event) { event.preventDefault(); });
    suggestions.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (option) pick(option.dataset.value);
    });
    box.addEventListener("click", function (event) {
      var remove = event.target.closest(".chip-remove");
      if (remove) {
        remove.closest(".chip").remove();
        sync();
        input.focus();
        return;
      }
      if (event.target === box || event.target === list) input.focus();
    });
    return { commit: commit };
  }

  // --- Attachments: uploaded when chosen, dropped or pasted; each with its progress.
  function human(size) {
    if (size < 1024) return size + " B";
    if (size < 1048576) return (size / 1024).toFixed(0) + " KB";
    return (size / 1048576).toFixed(1) + " MB";
  }
  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, key) { return values[key]; });
  }
  function attachments(form) {
    var input = form.querySelector("input[name=attachments]");
    var list = form.querySelector("#attachment-list");
    var errorBox = form.querySelector("#attachment-error");
    if (!input || !list || !input.dataset.uploadUrl) return { pending: function () { return 0; } };
    var buttons = form.querySelectorAll("button[name=action]");
    var pending = 0;

    function say(text) { errorBox.textContent = text; errorBox.hidden = !text; }
    function busy(delta) {
      pending += delta;
      buttons.forEach(function (b) { b.disabled = pending > 0; });
    }
    function items() { return Array.from(list.querySelectorAll("li")); }
    function total() { return items().reduce(function (sum, li) { return sum + Number(li.dataset.size || 0); }, 0); }

    function row(name, size) {
      var li = document.createElement("li");
      li.dataset.size = size;
      li.appendChild(icon("paperclip"));
      var label = document.createElement("span");
      label.className = "attachment-name";
      label.textContent = name;
      li.appendChild(label);
      var meta = document.createElement("span");
      meta.className = "attachment-size";
      meta.textContent = human(size);
      li.appendChild(meta);
      var bar = document.createElement("progress");
      bar.max = 1;
      bar.value = 0;
      bar.setAttribute("aria-label", name);
      li.appendChild(bar);
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "icon-btn remove-attachment";
      remove.title = list.dataset.removeText || "×";
      remove.setAttribute("aria-label", remove.title + " " + name);
      remove.appendChild(icon("x"));
      li.appendChild(remove);
      return li;
    }

    function upload(file) {
      var li = row(file.name, file.size);
      li.classList.add("uploading");
      list.appendChild(li);
      var bar = li.querySelector("progress");
      var data = new FormData();
      data.append("csrfmiddlewaretoken", csrf(form));
      form.querySelectorAll("input[name=staged]").forEach(function (s) { data.append("staged", s.value); });
      data.append("attachments", file);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", input.dataset.uploadUrl);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) bar.value = e.loaded / e.total;
      });
      xhr.addEventListener("loadend", function () {
        busy(-1);
        var reply = null;
        try { reply = JSON.parse(xhr.responseText); } catch (e) { reply = null; }
        if (xhr.status === 200 && reply && reply.token && !li.isConnected) {
          discard(reply.token); // removed while it was uploading
        } else if (xhr.status === 200 && reply && reply.token) {
          var hidden = document.createElement("input");
          hidden.type = "hidden"; hidden.name = "staged"; hidden.value = reply.token;
          li.insertBefore(hidden, li.firstChild);
          li.dataset.token = reply.token;
          li.classList.remove("uploading");
          bar.remove();
          form.dispatchEvent(new Event("input", { bubbles: true }));
        } else {
          li.remove();
          say((reply && reply.error) || input.dataset.failedText);
        }
      });
      busy(1);
      xhr.send(data);
    }

    function add(files) {
      say("");
      var refused = [];
      Array.from(files).forEach(function (file) {
        var values = { name: file.name, size: human(file.size), limit: Number(input.dataset.maxBytes) / 1048576, count: input.dataset.maxCount };
        if (items().length >= Number(input.dataset.maxCount)) refused.push(fill(input.dataset.tooManyText, values));
        else if (total() + file.size > Number(input.dataset.maxBytes)) refused.push(fill(input.dataset.tooBigText, values));
        else upload(file);
      });
      if (refused.length) say(refused.join(" "));
    }

    input.addEventListener("change", function () {
      add(input.files);
      input.value = ""; // uploaded already: the form itself carries only the tokens
    });
    list.addEventListener("click", function (event) {
      var button = event.target.closest("button.remove-attachment");
      if (!button) return;
      var li = button.closest("li");
      li.remove();
      if (li.dataset.token) discard(li.dataset.token);
      form.dispatchEvent(new Event("input", { bubbles: true }));
    });
    // Files dragged onto the form, or pasted into it, are attached too.
    var depth = 0;
    function hasFiles(event) { return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") !== -1; }
    form.addEventListener("dragenter", function (event) { if (hasFiles(event)) { depth += 1; form.classList.add("dropping"); } });
    form.addEventListener("dragleave", function () { depth = Math.max(0, depth - 1); if (!depth) form.classList.remove("dropping"); });
    form.addEventListener("dragover", function (event) { if (hasFiles(event)) { event.preventDefault(); event.dataTransfer.dropEffect = "copy"; } });
    form.addEventListener("drop", function (event) {
      depth = 0;
      form.classList.remove("dropping");
      if (!hasFiles(event)) return;
      event.preventDefault();
      add(event.dataTransfer.files);
    });
    form.addEventListener("paste", function (event) {
      var files = event.clipboardData && event.clipboardData.files;
      if (!files || !files.length) return;
      event.preventDefault();
      add(files);
    });

    function discard(token) {
      var data = new FormData();
      data.append("csrfmiddlewaretoken", csrf(form));
      data.append("token", token);
      fetch(input.dataset.discardUrl, { method: "POST", body: data, credentials: "same-origin", headers: { "X-Quiet": "1" } }).catch(function () {});
    }
    return {
      pending: function () { return pending; },
      discardAll: function () {
        form.querySelectorAll("input[name=staged]").forEach(function (s) { discard(s.value); });
      },
    };
  }

  // --- Rich text: a contenteditable editor whose HTML goes in the hidden "html" field.
  function richText(form) {
    var toggle = form.querySelector("#rich-mode");
    var editor = form.querySelector("#rich-editor");
    if (!toggle || !editor) return;
    window.webmailRichText({
      form: form,
      toggle: toggle,
      editor: editor,
      wrap: editor.closest(".rich-wrap"),
      textarea: form.querySelector("textarea[name=text]"),
      html: form.querySelector("input[name=html]"),
      onToggle: function (on) { toggle.closest("label").classList.toggle("on", on); },
    });
  }

  // --- Changing the From swaps the signature block ("-- " and what follows) in the text.
  function signatures(form) {
    var data = form.querySelector("#identity-signatures");
    var select = form.querySelector("select[name=identity]");
    var text = form.querySelector("textarea[name=text]");
    if (!data || !select || !text) return;
    var all = JSON.parse(data.textContent);
    var current = select.value;
    function block(value) { var sig = (all[value] || "").replace(/\r\n?/g, "\n"); return sig ? "\n\n-- \n" + sig : ""; }
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
  }

  // --- What the form would send (without files): to know whether anything changed.
  function snapshot(form) {
    var data = new FormData(form);
    data.delete("attachments");
    data.delete("csrfmiddlewaretoken");
    return Array.from(data.entries()).map(function (kv) { return kv[0] + "=" + kv[1]; }).join("&");
  }

  // Save as a draft through the autosave path (JSON answer; the form stays as it is).
  function saveDraft(form) {
    var data = new FormData(form);
    data.delete("attachments");
    data.set("action", "save");
    return fetch(form.getAttribute("action"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Autosave": "1", Accept: "application/json", "X-Quiet": "1" },
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (reply) {
        if (!reply || !reply.saved) {
          form._lastSaveError = (reply && reply.error) || "";
          return false;
        }
        var uid = form.querySelector("input[name=draft_uid]");
        if (uid && reply.draft_uid) uid.value = reply.draft_uid;
        return true;
      });
  }

  // --- One compose form: everything above, wired once.
  function initCompose(form) {
    if (form.dataset.ready) return form._compose;
    form.dataset.ready = "1";
    var chips = [];
    ["to", "cc", "bcc"].forEach(function (name) {
      var source = form.querySelector("input[name=" + name + "]");
      if (source) chips.push(chipField(source, form));
    });
    var files = attachments(form);
    richText(form);
    signatures(form);

    // Cc and Bcc stay folded until asked for (or filled).
    form.addEventListener("click", function (event) {
      var show = event.target.closest("[data-show-field]");
      if (!show) return;
      var field = form.querySelector(".field-" + show.dataset.showField);
      if (field) {
        field.classList.remove("collapsed");
        var input = field.querySelector(".chip-input");
        if (input) input.focus();
      }
      show.hidden = true;
    });

    form.addEventListener("submit", function () { chips.forEach(function (c) { c.commit(); }); }, true);
    form.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        chips.forEach(function (c) { c.commit(); });
        var send = form.querySelector("button[value=send]");
        if (send && !send.disabled) send.click();
      }
    });

    // Drafts save themselves while the text or the attachments change.
    var last = snapshot(form);
    var timer = setInterval(function () {
      if (!form.isConnected) { clearInterval(timer); return; }
      var now = snapshot(form);
      if (now === last || files.pending()) return;
      saveDraft(form).then(function (saved) {
        if (!saved) return;
        last = now;
        var status = form.querySelector("#autosave-status");
        if (status) status.textContent = status.dataset.savedText + " " + new Date().toLocaleTimeString();
      }).catch(function () {});
    }, AUTOSAVE_MS);
    var initial = last;

    // Where the cursor starts: in the text for a reply, on "To" otherwise.
    var text = form.querySelector("textarea[name=text]");
    var to = form.querySelector(".field-to .chip-input");
    var mode = form.dataset.mode || "new";
    if (mode === "reply" || mode === "reply-all" || (mode === "draft" && to && form.querySelector(".field-to .chip"))) {
      if (text) { text.focus(); text.setSelectionRange(0, 0); text.scrollTop = 0; }
    } else if (to) {
      to.focus();
    }

    form._compose = {
      changed: function () { return snapshot(form) !== initial; },
      pending: files.pending,
      discardAll: files.discardAll,
      stop: function () { clearInterval(timer); },
    };
    return form._compose;
  }
  webmail.initCompose = initCompose;

  // --- The panel over the mailbox.
  var panel = null;
  function panelForm() { return panel && panel.querySelector("form.compose-form"); }
  function canUsePanel() { return !PHONE.matches && document.getElementById("message-list") && document.getElementById("compose-panel"); }

  // Close the panel; what was written is saved as a draft first. When it cannot be saved
  // (a half-typed address), the panel stays open and says why: nothing typed is lost.
  function closePanel(save) {
    var form = panelForm();
    var saving = Promise.resolve(true);
    if (form && form._compose && save && form._compose.changed()) {
      saving = saveDraft(form).then(function (saved) {
        if (saved) {
          form._compose.discardAll(); // the draft holds the files now
          if (webmail.toast) webmail.toast(form.dataset.savedText, "success");
        } else if (webmail.toast) {
          webmail.toast(form._lastSaveError || panel.dataset.failedText, "error");
        }
        return saved;
      }, function () {
        if (webmail.toast) webmail.toast(panel.dataset.failedText, "error");
        return false;
      });
    }
    return saving.then(function (closed) {
      if (!closed) {
        panel.classList.remove("minimized");
        return false;
      }
      if (form && form._compose) form._compose.stop();
      panel.hidden = true;
      panel.classList.remove("minimized", "maximized");
      panel.querySelector(".compose-panel-body").textContent = "";
      var back = panel._opener;
      if (back && back.isConnected) back.focus();
      return true;
    });
  }

  function fillPanel(html) {
    var body = panel.querySelector(".compose-panel-body");
    body.innerHTML = html;
    var form = body.querySelector("form.compose-form");
    if (!form) return;
    if (webmail.collectNotices) webmail.collectNotices(body);
    initCompose(form);
    var subject = form.querySelector("input[name=subject]");
    var title = panel.querySelector(".compose-panel-title");
    function retitle() { title.textContent = (subject && subject.value.trim()) || panel.dataset.newText; }
    if (subject) subject.addEventListener("input", retitle);
    retitle();
  }

  function openPanel(url, opener) {
    var form = panelForm();
    var before = form && form._compose && form._compose.changed() ? closePanel(true) : Promise.resolve(true);
    before.then(function (closed) {
      if (!closed) return null;
      panel.hidden = false;
      panel.classList.remove("minimized");
      panel._opener = opener;
      panel.querySelector(".compose-panel-body").textContent = "";
      return fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } });
    }).then(function (response) {
      if (!response) return null;
      return response.text().then(function (html) {
        if (!response.ok && html.indexOf("compose-form") === -1) throw new Error(response.status);
        fillPanel(html);
      });
    }).catch(function () {
      // The panel could not be filled: the page itself says what went wrong.
      window.location.href = url;
    });
  }

  function sendFromPanel(form, submitter) {
    var data = new FormData(form);
    data.delete("attachments");
    if (submitter && submitter.name) data.set(submitter.name, submitter.value);
    form.querySelectorAll("button[name=action]").forEach(function (b) { b.disabled = true; });
    fetch(form.getAttribute("action"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": csrf(form) },
    }).then(function (response) {
      if (response.status === 204) {
        var trigger = response.headers.get("HX-Trigger");
        var notice = null;
        try { notice = JSON.parse(trigger)["webmail:notice"]; } catch (e) { notice = null; }
        form._compose.stop();
        panel.hidden = true;
        panel.querySelector(".compose-panel-body").textContent = "";
        if (notice && webmail.toast) webmail.toast(notice.text, notice.level);
        document.body.dispatchEvent(new Event("mail-refresh"));
        return;
      }
      return response.text().then(function (html) {
        if (html.indexOf("compose-form") === -1) throw new Error(response.status);
        form._compose.stop();
        fillPanel(html);
      });
    }).catch(function () {
      form.querySelectorAll("button[name=action]").forEach(function (b) { b.disabled = false; });
      if (webmail.toast) webmail.toast(panel.dataset.failedText, "error");
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-compose]");
    if (!link || !canUsePanel() || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    openPanel(link.getAttribute("href"), link);
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!panel || !form.matches || !form.matches("#compose-panel form.compose-form")) return;
    event.preventDefault();
    sendFromPanel(form, event.submitter);
  });

  function init() {
    panel = document.getElementById("compose-panel");
    if (panel) {
      panel.addEventListener("click", function (event) {
        if (event.target.closest("[data-compose-close]")) closePanel(true);
        else if (event.target.closest("[data-compose-minimize]")) panel.classList.toggle("minimized");
        else if (event.target.closest("[data-compose-maximize]")) panel.classList.toggle("maximized");
      });
      panel.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && !event.defaultPrevented) { event.preventDefault(); closePanel(true); }
      });
    }
    // The compose page: the same form, sent the ordinary way.
    var form = document.querySelector("main form.compose-form");
    if (form) initCompose(form);
  }
  if (document.readyState !== "loading") init();
  else document.addEventListener("DOMContentLoaded", init);
})();
