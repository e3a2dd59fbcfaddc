// Organising mail: selection, bulk actions, drag and drop, keyboard shortcuts,
// and opening conversations. Every change is a normal form POST (boosted by
// htmx), so all of it also works without this file; this only makes it
// quicker. No inline handlers (CSP).
(function () {
  "use strict";

  // The row j/k moved to, by its data-row id (unique, unlike UIDs: a
  // conversation row and its newest message share one), kept across refreshes.
  var cursorRow = null;
  var cursorIndex = -1; // where the cursor was: after a delete the row below takes its place
  var openAfterRefresh = null; // the row to open once the list is redrawn (after archiving the open message)
  var expanded = {}; // "folder\0conversation key" -> true, kept across list refreshes

  function form() { return document.getElementById("bulk-form"); }
  function visible(el) { return !el.closest("tr[hidden]"); }
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#bulk-form tr.msg")).filter(visible);
  }
  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll("#bulk-form input[name=uid]")).filter(visible);
  }
  function checked() { return boxes().filter(function (b) { return b.checked; }); }
  function folder() {
    var input = document.querySelector("#bulk-form input[name=folder]");
    return input ? input.value : "";
  }

  function syncRowState() {
    document.querySelectorAll("#bulk-form tr.msg").forEach(function (r) { r.draggable = true; });
    boxes().forEach(function (b) {
      var tr = b.closest("tr");
      if (tr) tr.classList.toggle("checked", b.checked);
    });
    var all = document.querySelector("[data-select-all]");
    var n = boxes().length, c = checked().length;
    if (all) { all.checked = n > 0 && c === n; all.indeterminate = c > 0 && c < n; }
    var scope = document.querySelector("[data-scope-all]");
    if (scope) {
      scope.hidden = !(n > 0 && c === n);
      if (scope.hidden) scope.querySelector("input").checked = false;
    }
    // The head shows what can be done once something is ticked, and how many are.
    var head = document.querySelector("#bulk-form .list-head");
    if (head) head.classList.toggle("has-selection", c > 0);
    var count = document.querySelector("#bulk-form .selected-count");
    if (count) count.textContent = c === 1 ? count.dataset.one : count.dataset.many.replace("#", c);
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el.matches) return;
    if (el.matches("[data-select-all]")) {
      boxes().forEach(function (b) { b.checked = el.checked; });
      syncRowState();
    } else if (el.matches("#bulk-form input[name=uid]")) {
      syncRowState();
    }
  });

  // Submit the bulk form for the given box values through the toolbar button of the action.
  // A value is one UID, or a conversation's compact UID set ("3:5,9").
  function act(action, values, target) {
    var f = form();
    if (!f || !values.length) return false;
    var button = null;
    if (target) {
      var field = action === "copy" ? "copy_to" : "move_to";
      button = Array.prototype.find.call(f.querySelectorAll('button[name="' + field + '"]'), function (b) { return b.value === target; });
    } else {
      button = f.querySelector('button[data-action="' + action + '"]');
    }
    if (!button) return false;
    document.querySelectorAll("#bulk-form input[name=uid]").forEach(function (b) {
      b.checked = visible(b) && values.indexOf(b.value) !== -1;
    });
    // A real click, not requestSubmit(button): htmx takes the submitter's
    // name/value from the button last clicked.
    button.click();
    return true;
  }

  function rowFor(id) {
    var r = id && document.querySelector('#bulk-form tr.msg[data-row="' + id + '"]');
    return r && visible(r) ? r : null;
  }
  function boxOf(row) { return row && row.querySelector("input[name=uid]"); }

  // What a shortcut applies to: the ticked rows, else the cursor row, else the open message.
  function targetRows() {
    var c = checked().map(function (b) { return b.closest("tr"); });
    if (c.length) return c;
    var r = rowFor(cursorRow);
    return r ? [r] : [];
  }
  function targets() {
    var r = targetRows();
    if (r.length) return r.map(function (row) { return boxOf(row).value; });
    var open = document.querySelector("#reading-pane article.message");
    return open ? [open.dataset.uid] : [];
  }

  function moveCursor(step) {
    var all = rows();
    if (!all.length) return;
    var current = all.indexOf(rowFor(cursorRow));
    var next = current === -1 ? 0 : Math.min(all.length - 1, Math.max(0, current + step));
    setCursor(all[next].dataset.row);
  }

  function setCursor(id) {
    document.querySelectorAll("tr.msg.cursor").forEach(function (r) { r.classList.remove("cursor"); });
    cursorRow = id;
    var r = rowFor(id);
    if (r) {
      r.classList.add("cursor");
      r.scrollIntoView({ block: "nearest" });
      cursorIndex = rows().indexOf(r);
    }
  }

  // Is a message open (in the pane, or in the list's place)? Then j/k open the next one.
  function reading() { return !!document.querySelector("#reading-pane article.message, #reading-pane .conversation"); }
  function openRow(row) { var a = row && row.querySelector("a.open"); if (a) a.click(); }

  function clickIn(selector) {
    var el = document.querySelector(selector);
    if (el) { el.click(); return true; }
    return false;
  }

  function toggleHelp() {
    var dialog = document.getElementById("shortcut-help");
    if (!dialog) return;
    if (dialog.open) dialog.close(); else dialog.showModal();
  }

  function toggleFor(key) { return document.querySelector('[data-thread-toggle="' + key + '"]'); }

  // Fetch a conversation's rows and put them under its row. Our own fetch, not
  // htmx.ajax: those share one queue (a third quick click dropped the second)
  // and would paste an error page into the table.
  function loadThread(key, button) {
    button.dataset.loaded = "loading";
    fetch(button.dataset.threadUrl, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.text(); })
      .then(function (html) {
        var current = toggleFor(key); // a refresh may have redrawn the list meanwhile
        if (!current || current.dataset.loaded === "1") return; // gone, or loaded by a twin request
        var template = document.createElement("template");
        template.innerHTML = html;
        var after = current.closest("tr");
        template.content.querySelectorAll("tr.thread-child").forEach(function (row) {
          after.after(row);
          after = row;
          if (window.htmx) window.htmx.process(row);
        });
        current.dataset.loaded = "1";
        showThread(key, true);
      })
      .catch(function () {
        var current = toggleFor(key);
        if (current) delete current.dataset.loaded; // the next click tries again
      });
  }

  // Open or close a conversation; its rows are fetched the first time.
  function showThread(key, open) {
    var button = toggleFor(key);
    if (!button || button.dataset.loaded === "loading") return;
    if (open && !button.dataset.loaded) {
      loadThread(key, button);
      return;
    }
    button.setAttribute("aria-expanded", open ? "true" : "false");
    document.querySelectorAll('#bulk-form tr[data-thread-of="' + key + '"]').forEach(function (r) {
      r.hidden = !open;
      var box = boxOf(r);
      if (!open && box) box.checked = false; // nothing acts on rows out of sight
    });
    var id = folder() + "\0" + key;
    if (open) expanded[id] = true; else delete expanded[id];
    if (!open && cursorRow && !rowFor(cursorRow)) setCursor("c" + key);
    syncRowState();
  }

  // Delete or archive: the open message (then the next one opens), else the ticked rows or the cursor's.
  function onOpenOrTargets(action) {
    var button = !checked().length && document.querySelector('#reading-pane [data-reader-action="' + action + '"]');
    if (button) button.click();
    else act(action, targets());
  }

  var KEYS = {
    j: function () { var open = reading(); moveCursor(1); if (open) openRow(rowFor(cursorRow)); },
    k: function () { var open = reading(); moveCursor(-1); if (open) openRow(rowFor(cursorRow)); },
    o: function () { var r = rowFor(cursorRow); if (r) r.querySelector("a.open").click(); },
    "#": function () { onOpenOrTargets("delete"); },
    Delete: function () { onOpenOrTargets("delete"); },
    e: function () { onOpenOrTargets("archive"); },
    s: function () {
      var r = targetRows()[0];
      act(r && r.classList.contains("flagged") ? "unflag" : "flag", targets());
    },
    u: function () { act("unread", targets()); },
    r: function () { clickIn("#reading-pane a.reply"); },
    a: function () { clickIn("#reading-pane a.reply-all"); },
    f: function () { clickIn("#reading-pane a.forward"); },
    c: function () { clickIn("a.compose-button"); },
    x: function () {
      var r = rowFor(cursorRow);
      if (!r) return;
      if (r.dataset.threadOf) { showThread(r.dataset.threadOf, false); return; } // inside: close it
      var t = r.querySelector("[data-thread-toggle]");
      if (t) showThread(t.dataset.threadToggle, t.getAttribute("aria-expanded") !== "true");
    },
    "/": function () { var box = document.querySelector("[data-search-box]"); if (box) box.focus(); },
    "?": toggleHelp,
  };
  KEYS.Enter = KEYS.o;

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    var t = event.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(t.tagName))) {
      // Escape leaves the search box so shortcuts work again.
      if (event.key === "Escape" && t.blur) t.blur();
      return;
    }
    if (!document.getElementById("message-list")) return; // only on the mailbox page
    var handler = KEYS[event.key];
    if (!handler) return;
    if (event.key === "Enter" && !cursorRow) return;
    event.preventDefault();
    handler();
  });

  // Drag rows (all ticked ones if the dragged row is ticked) onto the folder tree.
  document.addEventListener("dragstart", function (event) {
    var tr = event.target.closest && event.target.closest("#bulk-form tr.msg");
    if (!tr) return;
    var box = boxOf(tr);
    var values = box && box.checked ? checked().map(function (b) { return b.value; }) : [box ? box.value : tr.dataset.uid];
    // Box values, ";"-joined: a conversation's value is itself a UID set with commas.
    event.dataTransfer.setData("application/x-webmail-uids", values.join(";"));
    event.dataTransfer.setData("text/plain", values.join(","));
    event.dataTransfer.effectAllowed = "move";
  });

  function dropTarget(event) {
    return event.target.closest && event.target.closest("#folder-pane li[data-folder]");
  }

  document.addEventListener("dragover", function (event) {
    var li = dropTarget(event);
    if (!li || li.classList.contains("active")) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    li.classList.add("drop-target");
  });
  document.addEventListener("dragleave", function (event) {
    var li = dropTarget(event);
    if (li) li.classList.remove("drop-target");
  });
  document.addEventListener("drop", function (event) {
    var li = dropTarget(event);
    if (!li) return;
    event.preventDefault();
    li.classList.remove("drop-target");
    var raw = event.dataTransfer.getData("application/x-webmail-uids");
    if (raw) act("move", raw.split(";"), li.dataset.folder);
  });

  // Periodic refresh (#sync polls every 45 s): skip it while the user is
  // selecting or typing, so a refresh never throws their selection away.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.id !== "sync") return;
    var typing = document.activeElement && /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    if (checked().length || typing || document.hidden) event.preventDefault();
  });

  if (document.readyState !== "loading") syncRowState();
  else document.addEventListener("DOMContentLoaded", syncRowState);

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail && event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("#reading-pane")) return;
    var prefix = folder() + "\0";
    Object.keys(expanded).forEach(function (id) {
      if (id.indexOf(prefix) === 0) showThread(id.slice(prefix.length), true);
    });
    if (cursorRow && rowFor(cursorRow)) setCursor(cursorRow);
    else if (cursorRow && cursorIndex >= 0) {
      // The cursor's row left (deleted, archived, moved): the list keeps its place.
      var all = rows();
      if (all.length) setCursor(all[Math.min(cursorIndex, all.length - 1)].dataset.row);
    }
    if (openAfterRefresh) {
      var next = rowFor(openAfterRefresh);
      openAfterRefresh = null;
      if (next) { setCursor(next.dataset.row); openRow(next); }
      else clearReader();
    }
    syncRowState();
  });

  function clearReader() {
    var pane = document.getElementById("reading-pane");
    if (window.webmail.closeReader) window.webmail.closeReader();
    if (pane && pane.dataset.emptyHtml) pane.innerHTML = pane.dataset.emptyHtml;
  }

  // The star of a row: flag or unflag at once, then tell the server (the button itself is a
  // submit of the list's form, for pages without script).
  document.addEventListener("click", function (event) {
    var star = event.target.closest && event.target.closest("button.star[data-star]");
    if (!star) return;
    event.preventDefault();
    var f = form();
    var on = star.getAttribute("aria-pressed") !== "true";
    function show(state) {
      star.setAttribute("aria-pressed", state ? "true" : "false");
      star.title = state ? f.dataset.flaggedText : f.dataset.unflaggedText;
      star.value = (state ? "unflag " : "flag ") + star.dataset.star;
      var row = star.closest("tr");
      if (row) row.classList.toggle("flagged", state);
    }
    show(on);
    var data = new FormData();
    data.append("folder", folder());
    data.append("uid", star.dataset.star);
    data.append("on", on ? "1" : "0");
    fetch(f.dataset.starUrl, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-CSRFToken": f.querySelector("input[name=csrfmiddlewaretoken]").value, "HX-Request": "true" },
    }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
    }).catch(function () {
      show(!on);
      if (window.webmail.toast) window.webmail.toast(f.dataset.starFailedText, "error");
    });
  });

  // The reading pane's Archive, Delete and Spam act through the list, then open the next message.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("#reading-pane [data-reader-action]");
    if (!button || !form()) return;
    var shown = button.closest(".conversation, article.message"); // the bar's message, or conversation
    var row = shown && document.querySelector('#bulk-form tr.msg[data-uid="' + shown.dataset.uid + '"]');
    if (!row || !visible(row)) return; // not on this page of the list: the form goes as it is
    event.preventDefault();
    var all = rows(), at = all.indexOf(row);
    var next = all[at + 1] || all[at - 1] || null;
    openAfterRefresh = next ? next.dataset.row : "";
    if (next) setCursor(next.dataset.row);
    if (!act(button.dataset.readerAction, [boxOf(row).value])) openAfterRefresh = null;
  });

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-thread-toggle]");
    if (toggle) {
      showThread(toggle.dataset.threadToggle, toggle.getAttribute("aria-expanded") !== "true");
      // After a mouse click, give the keys back to the shortcuts (a focused
      // button swallows them); keyboard users keep their focus.
      if (event.detail > 0) toggle.blur();
      return;
    }
    // Clicking a row's link moves the cursor there too.
    var a = event.target.closest && event.target.closest("#bulk-form tr.msg a.open");
    if (a) setCursor(a.closest("tr").dataset.row);
  });
})();
